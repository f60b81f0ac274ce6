-- An account whose posts are shown as sensitive from now on (Mastodon's `sensitive` account
-- action), by a moderator; NULL when not.
ALTER TABLE users ADD COLUMN sensitized_at TIMESTAMP;

-- Instance settings set by admins (the crisis resources text, ...), one row per name.
CREATE TABLE instance_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
