-- The posts an urgent announcement was posted as, one in each local group: withdrawing it
-- unpins them.
CREATE TABLE announcement_posts (
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (announcement_id, post_id)
);
CREATE INDEX announcement_posts_by_post ON announcement_posts (post_id);

-- Every local person is notified of an announcement (`hearth:announcement`); withdrawing it
-- takes the notifications with it.
ALTER TABLE notifications ADD COLUMN announcement_id BIGINT REFERENCES announcements (id) ON DELETE CASCADE;
CREATE INDEX notifications_by_announcement ON notifications (announcement_id);
