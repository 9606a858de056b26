-- API tokens: personal ones, which act for a person with their capacities as they are at each
-- use, and service ones, which act with the capacities given them. Only the SHA-256 of a token's
-- secret is kept. Creation and revocation are audited (entity `api_token`, id the token's public
-- id), never with the hash; when it was last used is not.

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    holder TEXT NOT NULL,
    capacities TEXT,
    access TEXT NOT NULL CHECK (access IN ('read', 'read-write')),
    registers TEXT,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    revoked_by TEXT
);

CREATE INDEX api_tokens_holder ON api_tokens (holder);
