-- Blocks and mutes between accounts, and reports to the moderators.

-- `actor_id` blocks `target_id`: a local person's block (sent as `Block` when the target is
-- remote), or a remote actor's block of a local person (received), so that `blocked_by` shows.
CREATE TABLE blocks (
    id BIGINT PRIMARY KEY NOT NULL,
    -- The Block activity's id: its Undo names it.
    ap_id TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX blocks_pair ON blocks (actor_id, target_id);
-- `blocked_by`, and the cascade when an actor goes.
CREATE INDEX blocks_target ON blocks (target_id, actor_id);
-- An `Undo` that names the Block by id only.
CREATE INDEX blocks_ap_id ON blocks (ap_id);

-- `actor_id` (a local person) mutes `target_id`, until `expires_at` (NULL: for good).
CREATE TABLE mutes (
    id BIGINT PRIMARY KEY NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- Whether the muted account's notifications are hidden too.
    notifications BOOLEAN NOT NULL,
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX mutes_pair ON mutes (actor_id, target_id);
CREATE INDEX mutes_target ON mutes (target_id);

-- Reports filed by local people about an account, for the moderators.
CREATE TABLE reports (
    id BIGINT PRIMARY KEY NOT NULL,
    reporter_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    comment TEXT NOT NULL,
    -- `other`, `spam`, `legal` or `violation` (Mastodon's categories).
    category TEXT NOT NULL,
    -- The numbers of the instance's rules cited (as `/api/v1/instance/rules` numbers them),
    -- space-separated; empty for none.
    rule_ids TEXT NOT NULL,
    -- Whether the reporter asked for it to go to the target's server (a remote target only).
    forward BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    action_taken_at TIMESTAMP
);
CREATE INDEX reports_target ON reports (target_id);
CREATE INDEX reports_reporter ON reports (reporter_id);

-- The posts a report points at.
CREATE TABLE report_posts (
    report_id BIGINT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (report_id, post_id)
);
CREATE INDEX report_posts_post ON report_posts (post_id);

-- An `admin.report` notification goes with its report.
ALTER TABLE notifications ADD COLUMN report_id BIGINT REFERENCES reports (id) ON DELETE CASCADE;
CREATE INDEX notifications_report ON notifications (report_id) WHERE report_id IS NOT NULL;
