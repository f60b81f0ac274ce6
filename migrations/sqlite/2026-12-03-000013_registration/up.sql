-- Registration: accounts people ask for themselves, approved by a moderator where the clinic
-- wants it, and invite codes.

-- Invite codes from `hearth invite create`; only a SHA-256 of each code is kept.
CREATE TABLE invites (
    id INTEGER PRIMARY KEY NOT NULL,
    code_sha256 TEXT NOT NULL UNIQUE,
    -- The staff member who made it; NULL when made on the command line.
    created_by INTEGER REFERENCES users (actor_id) ON DELETE SET NULL,
    -- NULL: any number of uses.
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);

-- Accounts made before this migration were made by staff: approved.
ALTER TABLE users ADD COLUMN approved BOOLEAN NOT NULL DEFAULT 1;
-- What the person told the moderators when asking for an account.
ALTER TABLE users ADD COLUMN sign_up_reason TEXT;
-- Optional: patients may have none. Never used to sign in.
ALTER TABLE users ADD COLUMN email TEXT;
-- When the person agreed to the rules and privacy notice (NULL: made by staff).
ALTER TABLE users ADD COLUMN agreed_at TIMESTAMP;
ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN invite_id INTEGER REFERENCES invites (id) ON DELETE SET NULL;
-- The accounts waiting for a moderator, listed for them.
CREATE INDEX users_pending ON users (created_at) WHERE approved = 0;
