-- The audit log: every admin and moderator act, written in the act's own transaction, never
-- changed afterwards. Entries are numbered 1, 2, 3... without gaps; each holds the SHA-256 of
-- the previous entry's hash and its own fields (service/audit.rs says how), so an entry
-- changed, removed or moved is found by `hearth audit verify`.
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- The local person who acted; NULL for the operator at the command line. No foreign key:
    -- the record outlives the account.
    actor_id BIGINT,
    -- Their handle then (`console` for the command line), and their role then.
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    -- What was done (service::audit::Action, as text).
    action TEXT NOT NULL,
    -- What it was done to: a kind (`account`, `group`, `report`, `post`, `host`, `invite`...),
    -- its id, and a name for people (a handle then, a host).
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_name TEXT NOT NULL,
    -- What the act set (a role, a category), and the reason the person gave.
    detail TEXT NOT NULL,
    reason TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor_name ON audit_log (actor_name, id);

-- The end of the chain, one row: its last entry's number and hash. Appending locks this row,
-- so two processes never both append after the same entry, and a removed last entry is
-- noticed.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
