-- The handles of deleted local accounts, as SHA-256 hashes, with the time until which nobody
-- may take them (so that nobody can pass for a person who left). Nothing else of them is kept.
CREATE TABLE retired_handles (
    handle_sha256 TEXT PRIMARY KEY NOT NULL,
    until TIMESTAMP NOT NULL
);
