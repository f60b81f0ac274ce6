-- OAuth 2: apps registered by clients, short-lived authorization codes, and access tokens
-- that belong to an app (and, but for an app's own client-credentials token, to a person).

CREATE TABLE oauth_apps (
    id INTEGER PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    -- Only a SHA-256 of the secret is kept, as for tokens.
    client_secret_sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    website TEXT,
    -- One URI per line.
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE oauth_codes (
    code_sha256 TEXT PRIMARY KEY NOT NULL,
    app_id INTEGER NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (actor_id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    -- PKCE: the S256 challenge the token request's verifier must match.
    code_challenge TEXT,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX oauth_codes_app ON oauth_codes (app_id);
CREATE INDEX oauth_codes_user ON oauth_codes (user_id);

-- SQLite cannot drop NOT NULL from user_id: the table is rebuilt, its rows kept.
CREATE TABLE access_tokens_new (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER REFERENCES users (actor_id) ON DELETE CASCADE,
    token_sha256 TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    app_id INTEGER REFERENCES oauth_apps (id) ON DELETE CASCADE,
    refresh_sha256 TEXT UNIQUE,
    -- 'cli' (hearth token create), 'app' (OAuth) or 'session' (a browser's sign-in cookie).
    kind TEXT NOT NULL DEFAULT 'cli',
    expires_at TIMESTAMP
);
INSERT INTO access_tokens_new (id, user_id, token_sha256, scopes, created_at, last_used_at)
    SELECT id, user_id, token_sha256, scopes, created_at, last_used_at FROM access_tokens;
DROP TABLE access_tokens;
ALTER TABLE access_tokens_new RENAME TO access_tokens;
CREATE INDEX access_tokens_user ON access_tokens (user_id);
CREATE INDEX access_tokens_app ON access_tokens (app_id);
