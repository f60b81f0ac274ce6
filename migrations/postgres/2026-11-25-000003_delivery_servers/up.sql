-- Receiving servers, one row per `host[:port]` Hearth delivers to: what software they run
-- (groups share a post in the one form that software reads) and how delivering to them goes
-- (backoff, unreachable, and which process holds the server's queue).
CREATE TABLE servers (
    host TEXT PRIMARY KEY NOT NULL,
    software TEXT,
    software_checked_at TIMESTAMP,
    next_attempt_at TIMESTAMP NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    failing_since TIMESTAMP,
    unreachable_since TIMESTAMP,
    last_success_at TIMESTAMP,
    last_error TEXT,
    claimed_until TIMESTAMP
);

-- Activities waiting to be delivered, each stored once however many servers it goes to.
CREATE TABLE outbox (
    id BIGINT PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL,
    signer_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO outbox (id, ap_id, signer_id, body, created_at)
    SELECT id, activity_ap_id, signer_id, body, created_at FROM deliveries;
INSERT INTO servers (host, next_attempt_at)
    SELECT lower(split_part(split_part(inbox, '://', 2), '/', 1)), MIN(next_attempt_at) FROM deliveries GROUP BY lower(split_part(split_part(inbox, '://', 2), '/', 1));

-- One row per activity and receiving inbox, in the queue of the inbox's server. `form`: a
-- group's share meant for one kind of reader only: `activity` (FEP-1b12 readers of
-- Announce{Create}) or `object` (microblogs, which read a boost or the group's own copy);
-- NULL for every server.
CREATE TABLE queued_deliveries (
    id BIGINT PRIMARY KEY NOT NULL,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    host TEXT NOT NULL,
    form TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO queued_deliveries (id, outbox_id, inbox, host, attempts, last_error, created_at)
    SELECT id, id, inbox, lower(split_part(split_part(inbox, '://', 2), '/', 1)), attempts, last_error, created_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE queued_deliveries RENAME TO deliveries;
CREATE INDEX deliveries_host ON deliveries (host, id);
CREATE INDEX deliveries_outbox ON deliveries (outbox_id);
