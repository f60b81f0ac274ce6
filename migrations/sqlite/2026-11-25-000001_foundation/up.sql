-- Actors: local people and groups, the instance actor, and remote actors we have met.
CREATE TABLE actors (
    id INTEGER PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    username TEXT NOT NULL,
    domain TEXT NOT NULL,
    display_name TEXT,
    summary TEXT,
    profile_url TEXT,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    outbox TEXT,
    followers TEXT,
    following TEXT,
    avatar_url TEXT,
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT,
    manually_approves_followers BOOLEAN NOT NULL DEFAULT 0,
    discoverable BOOLEAN NOT NULL DEFAULT 0,
    local BOOLEAN NOT NULL,
    published_at TIMESTAMP NOT NULL,
    last_refreshed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- People and groups share one handle namespace per domain.
CREATE UNIQUE INDEX actors_handle ON actors (domain, username);

-- Local accounts (people who sign in).
CREATE TABLE users (
    actor_id INTEGER PRIMARY KEY NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Local support groups.
CREATE TABLE support_groups (
    actor_id INTEGER PRIMARY KEY NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    visibility TEXT NOT NULL DEFAULT 'public',
    join_policy TEXT NOT NULL DEFAULT 'open',
    created_at TIMESTAMP NOT NULL
);

-- Bearer tokens; only their SHA-256 is stored.
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (actor_id) ON DELETE CASCADE,
    token_sha256 TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX access_tokens_user ON access_tokens (user_id);
