-- What apps show besides timelines: bookmarks, pinned posts, a post's earlier versions and
-- its source text, and the public timeline.

-- The text a local post was written as, for editing (`GET /api/v1/statuses/:id/source`).
ALTER TABLE posts ADD COLUMN source_text TEXT;

-- The public timeline reads public posts newest first, from this index alone.
CREATE INDEX posts_public ON posts (id) WHERE visibility = 'public' AND deleted_at IS NULL;

CREATE TABLE bookmarks (
    id INTEGER PRIMARY KEY NOT NULL,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX bookmarks_pair ON bookmarks (actor_id, post_id);
CREATE INDEX bookmarks_post ON bookmarks (post_id);

CREATE TABLE pins (
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (actor_id, post_id)
);
CREATE INDEX pins_post ON pins (post_id);

-- Earlier versions of edited posts, oldest first.
CREATE TABLE post_edits (
    id INTEGER PRIMARY KEY NOT NULL,
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    spoiler_text TEXT NOT NULL,
    sensitive BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX post_edits_post ON post_edits (post_id, id);
