-- Group settings beyond the foundation's defaults.
ALTER TABLE support_groups ADD COLUMN owner_id INTEGER REFERENCES actors (id);
ALTER TABLE support_groups ADD COLUMN rules TEXT NOT NULL DEFAULT '[]';

-- Follows: people following people, and members joining groups (FEP-1b12: joining is
-- following). `ap_id` is the Follow activity's id, kept to embed or undo it later.
CREATE TABLE follows (
    id INTEGER PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    follower_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    accepted BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX follows_pair ON follows (follower_id, target_id);
CREATE INDEX follows_target ON follows (target_id, accepted);

-- Group moderators (local people) and banned actors.
CREATE TABLE group_moderators (
    group_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, actor_id)
);
CREATE TABLE group_bans (
    group_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, actor_id)
);

-- Posts written here or delivered here. `group_id` is the group a post belongs to
-- (its `audience`); `visibility` is public, unlisted, private (followers), direct, or
-- members (a members-only group's post).
CREATE TABLE posts (
    id INTEGER PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    group_id INTEGER REFERENCES actors (id) ON DELETE SET NULL,
    in_reply_to_ap_id TEXT,
    in_reply_to_id INTEGER REFERENCES posts (id) ON DELETE SET NULL,
    name TEXT,
    content TEXT NOT NULL,
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL DEFAULT 0,
    visibility TEXT NOT NULL,
    url TEXT,
    local BOOLEAN NOT NULL,
    published_at TIMESTAMP NOT NULL,
    edited_at TIMESTAMP,
    deleted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX posts_author ON posts (author_id, id);
CREATE INDEX posts_group ON posts (group_id, id);
CREATE INDEX posts_reply ON posts (in_reply_to_id);

-- People a post mentions or is addressed to directly.
CREATE TABLE post_mentions (
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, actor_id)
);

CREATE TABLE likes (
    id INTEGER PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX likes_pair ON likes (actor_id, post_id);

-- Activities received, by id: a redelivered activity takes effect once.
CREATE TABLE received_activities (
    ap_id TEXT PRIMARY KEY NOT NULL,
    received_at TIMESTAMP NOT NULL
);

-- The outbox: one row per activity and destination inbox, written in the same transaction
-- as the change that caused it, delivered (and retried) by the delivery worker.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY NOT NULL,
    activity_ap_id TEXT NOT NULL,
    signer_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at);
