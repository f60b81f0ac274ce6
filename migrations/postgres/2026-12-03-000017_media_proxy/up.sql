-- Forward-only: Hearth never rolls migrations back.
-- Remote images are shown through this instance, so that people's apps never contact other
-- servers (issue 12); people set avatars and headers; unattached uploads are cleaned up.

-- The header image of an actor: its URL on its own server (remote actors), or the served
-- file here (local people). `avatar_url` is the same for avatars.
ALTER TABLE actors ADD COLUMN header_url TEXT;
-- Remote actors only: the token of the copy of their avatar and header served here
-- (`remote_media.token`, in `/media/proxy/<token>`).
ALTER TABLE actors ADD COLUMN avatar_proxy TEXT;
ALTER TABLE actors ADD COLUMN header_proxy TEXT;

-- `avatar` or `header` for an upload a local person uses as such (served to anyone, never
-- removed as unattached); NULL for post images.
ALTER TABLE media_attachments ADD COLUMN profile TEXT;
-- The timed clean-up finds uploads never attached to a post by age.
CREATE INDEX media_unattached ON media_attachments (created_at)
    WHERE post_id IS NULL AND profile IS NULL;

-- Images of other servers (avatars, headers, attachments of remote posts), each served here
-- under a random token. The original is fetched on first request, decoded and encoded again
-- like an upload, and kept; until then `file_name` is NULL. A row whose post and actor are
-- both gone (NULL) is removed, with its files, by the timed clean-up.
CREATE TABLE remote_media (
    id BIGINT PRIMARY KEY NOT NULL,
    token TEXT NOT NULL,
    remote_url TEXT NOT NULL,
    -- `avatar`, `header` or `attachment`.
    purpose TEXT NOT NULL,
    post_id BIGINT REFERENCES posts (id) ON DELETE SET NULL,
    actor_id BIGINT REFERENCES actors (id) ON DELETE SET NULL,
    -- As the remote server described it; width, height and blurhash are replaced by those
    -- of the stored copy once fetched.
    description TEXT,
    blurhash TEXT,
    width INTEGER,
    height INTEGER,
    focus_x DOUBLE PRECISION NOT NULL DEFAULT 0,
    focus_y DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- The stored copy.
    file_name TEXT,
    thumbnail_file_name TEXT,
    content_type TEXT,
    thumbnail_width INTEGER,
    thumbnail_height INTEGER,
    byte_size BIGINT,
    fetched_at TIMESTAMP,
    -- The last failed fetch: the next is tried only some minutes later.
    failed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX remote_media_token ON remote_media (token);
-- A status's remote attachments, rendered with every status.
CREATE INDEX remote_media_post ON remote_media (post_id, id);
CREATE INDEX remote_media_actor ON remote_media (actor_id);
CREATE INDEX remote_media_orphans ON remote_media (id) WHERE post_id IS NULL AND actor_id IS NULL;
