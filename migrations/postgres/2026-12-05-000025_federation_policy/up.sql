-- The admin's federation policy (`service/policy.rs`): the mode, whether the list of blocked
-- domains is public, and a version every change bumps, so that every process sharing the
-- database sees a change within a second.
CREATE TABLE federation_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    mode TEXT NOT NULL DEFAULT 'open',
    public_list BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 0
);
INSERT INTO federation_policy (id) VALUES (1);

-- Domain blocks, as Mastodon has them: `severity` is `noop`, `silence` or `suspend`; a rule
-- covers the domain and its subdomains (only one port when the domain carries one).
CREATE TABLE domain_blocks (
    id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    severity TEXT NOT NULL,
    reject_media BOOLEAN NOT NULL DEFAULT FALSE,
    reject_reports BOOLEAN NOT NULL DEFAULT FALSE,
    private_comment TEXT,
    public_comment TEXT,
    obfuscate BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Domains federated with in allowlist mode.
CREATE TABLE domain_allows (
    id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
