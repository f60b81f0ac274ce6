-- OAuth 2: apps registered by clients, short-lived authorization codes, and access tokens
-- that belong to an app (and, but for an app's own client-credentials token, to a person).

CREATE TABLE oauth_apps (
    id BIGINT PRIMARY KEY NOT NULL,
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
    app_id BIGINT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (actor_id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    -- PKCE: the S256 challenge the token request's verifier must match.
    code_challenge TEXT,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX oauth_codes_app ON oauth_codes (app_id);
CREATE INDEX oauth_codes_user ON oauth_codes (user_id);

ALTER TABLE access_tokens ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE access_tokens ADD COLUMN app_id BIGINT REFERENCES oauth_apps (id) ON DELETE CASCADE;
ALTER TABLE access_tokens ADD COLUMN refresh_sha256 TEXT UNIQUE;
-- 'cli' (hearth token create), 'app' (OAuth) or 'session' (a browser's sign-in cookie).
ALTER TABLE access_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'cli';
ALTER TABLE access_tokens ADD COLUMN expires_at TIMESTAMP;
CREATE INDEX access_tokens_app ON access_tokens (app_id);
