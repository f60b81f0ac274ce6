-- Forward-only: Hearth never rolls migrations back.
-- Images uploaded through the client API. Files live under `<data_dir>/media/`, named by
-- unguessable random tokens; an image is re-encoded before it is written, so no metadata
-- (EXIF, GPS, XMP, ICC, comments) reaches the disk. `post_id` is NULL until a post uses it;
-- until then only its owner may see it.
CREATE TABLE media_attachments (
    id INTEGER PRIMARY KEY NOT NULL,
    owner_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id INTEGER REFERENCES posts (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    thumbnail_file_name TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    thumbnail_width INTEGER NOT NULL,
    thumbnail_height INTEGER NOT NULL,
    blurhash TEXT NOT NULL,
    description TEXT,
    focus_x REAL NOT NULL DEFAULT 0,
    focus_y REAL NOT NULL DEFAULT 0,
    byte_size BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- `GET /media/{file}` finds its row by either name.
CREATE UNIQUE INDEX media_file ON media_attachments (file_name);
CREATE UNIQUE INDEX media_thumbnail_file ON media_attachments (thumbnail_file_name);
-- A status's attachments, rendered with every status.
CREATE INDEX media_post ON media_attachments (post_id, id);
-- Deleting an actor cascades here.
CREATE INDEX media_owner ON media_attachments (owner_id);
