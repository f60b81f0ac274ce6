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

-- Deliveries are now scheduled per server (the server's backoff, in queue order), and may be
-- meant for one kind of reader only: `activity` (FEP-1b12 readers of Announce{Create}) or
-- `object` (microblogs, which read a boost or the group's own copy). NULL: every server.
ALTER TABLE deliveries ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN form TEXT;
UPDATE deliveries SET host = lower(split_part(split_part(inbox, '://', 2), '/', 1));
INSERT INTO servers (host, next_attempt_at)
    SELECT host, MIN(next_attempt_at) FROM deliveries GROUP BY host;
DROP INDEX deliveries_due;
ALTER TABLE deliveries DROP COLUMN next_attempt_at;
CREATE INDEX deliveries_host ON deliveries (host, id);
