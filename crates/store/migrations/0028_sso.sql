-- Single sign-on (OpenID Connect). A link joins a provider's subject to the sign-in it signs in:
-- `provider` is `microsoft` or `google`; `subject` the provider's immutable id for the person;
-- `email` the sign-in's (`sign_ins.email`, lower case), unenforced like `person_id`: a link may
-- outlive its sign-in. `provider_mfa` is what the ID token's `amr` said at the last sign-in: that
-- the person passed MFA (true), that they did not (false), or nothing (NULL). A sign-in has at
-- most one link at each provider. Links are audited (entity `sso_link`, id `provider:subject`).
--
-- An attempt is a sign-in sent to a provider and not yet back: kept by the SHA-256 hex of the
-- `state` sent, with the nonce and PKCE verifier it needs when it returns and the SHA-256 hex of
-- a cookie set in the browser that began it. Attempts are taken once and are transient: never
-- audited or backed up.

CREATE TABLE sso_links (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    linked_at TIMESTAMPTZ NOT NULL,
    last_sign_in_at TIMESTAMPTZ NOT NULL,
    provider_mfa BOOLEAN,
    PRIMARY KEY (provider, subject)
);

CREATE UNIQUE INDEX sso_links_email ON sso_links (email, provider);

CREATE TABLE sso_attempts (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX sso_attempts_created ON sso_attempts (created_at);
