-- Clinic announcements (crisis communication): what the clinic's admins publish to everyone
-- here, as Mastodon's announcements; `content` is HTML. An urgent one is also posted by the
-- instance into every local group and pinned there.
CREATE TABLE announcements (
    id BIGINT PRIMARY KEY NOT NULL,
    content TEXT NOT NULL,
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    all_day BOOLEAN NOT NULL DEFAULT FALSE,
    urgent BOOLEAN NOT NULL DEFAULT FALSE,
    published_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Who dismissed (read) which announcement.
CREATE TABLE announcement_reads (
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    PRIMARY KEY (announcement_id, actor_id)
);

-- Reactions (an emoji, by name) to announcements.
CREATE TABLE announcement_reactions (
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (announcement_id, actor_id, name)
);
CREATE INDEX announcement_reactions_by_actor ON announcement_reactions (actor_id);
CREATE INDEX announcement_reads_by_actor ON announcement_reads (actor_id);
