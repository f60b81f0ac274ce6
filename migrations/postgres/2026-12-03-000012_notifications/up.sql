-- Notifications of local people: who did what (kind) to them, about which post. Ids are
-- time-ordered (db/id.rs), so a page is one range of `notifications_page`, however many
-- notifications the instance holds. What a notification is about takes it along when it goes:
-- the recipient, the other account, the post; the like (unliked) or the follow (withdrawn,
-- rejected) it announces.
CREATE TABLE notifications (
    id BIGINT PRIMARY KEY NOT NULL,
    recipient_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- mention, follow, follow_request, favourite, reblog (service/notifications.rs).
    kind TEXT NOT NULL,
    from_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id BIGINT REFERENCES posts (id) ON DELETE CASCADE,
    follow_id BIGINT REFERENCES follows (id) ON DELETE CASCADE,
    like_id BIGINT REFERENCES likes (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_page ON notifications (recipient_id, id);
-- For the cascades: without them each deleted actor, post, like or follow would read every
-- notification.
CREATE INDEX notifications_from ON notifications (from_id);
CREATE INDEX notifications_post ON notifications (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX notifications_follow ON notifications (follow_id) WHERE follow_id IS NOT NULL;
CREATE INDEX notifications_like ON notifications (like_id) WHERE like_id IS NOT NULL;

-- Where a person stopped reading a timeline (`home` or `notifications`), kept for their apps.
CREATE TABLE markers (
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    timeline TEXT NOT NULL,
    last_read_id BIGINT NOT NULL,
    -- Raised by each save (Mastodon's lock_version).
    version BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (actor_id, timeline)
);
