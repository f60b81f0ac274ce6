-- Hashtags, direct conversations and idempotent posting (issue 12's remaining client API).

-- Hashtags, by their lower-cased name (`#T1D` and `#t1d` are one tag).
CREATE TABLE tags (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tags_name ON tags (name);

-- Which posts carry which tags. The tag timeline reads newest posts of a tag first.
CREATE TABLE post_tags (
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (tag_id, post_id)
);
CREATE INDEX post_tags_post ON post_tags (post_id);

-- A local person's direct conversations (Mastodon's `AccountConversation`): one per thread and
-- set of other participants, pointing at its latest post.
CREATE TABLE conversations (
    id BIGINT PRIMARY KEY NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    root_id BIGINT NOT NULL,
    -- The other participants' actor ids, ascending, comma-separated.
    participant_ids TEXT NOT NULL,
    last_post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    unread BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX conversations_thread ON conversations (actor_id, root_id, participant_ids);
CREATE INDEX conversations_recent ON conversations (actor_id, last_post_id);
CREATE INDEX conversations_last_post ON conversations (last_post_id);

-- `Idempotency-Key`s of `POST /api/v1/statuses` (their SHA-256), kept an hour: the same key
-- from the same person returns the first post instead of writing a second, whichever server
-- process gets the retry.
CREATE TABLE idempotency_keys (
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    key_sha256 TEXT NOT NULL,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (actor_id, key_sha256)
);
CREATE INDEX idempotency_keys_post ON idempotency_keys (post_id);
