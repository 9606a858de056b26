-- Web sign-in accounts and their sessions. As in 0001: only types both backends understand
-- (SQLite keeps TIMESTAMPTZ as ISO text to the microsecond and BOOLEAN as 0/1).
--
-- `email` is stored lower-case. `password_hash` is an Argon2id PHC string; `totp_secret` base32,
-- NULL until MFA is enrolled; `totp_last_step` the last TOTP step accepted, which only moves
-- forward (replay protection). `recovery_codes` is a JSON array of the SHA-256 hex of each unused
-- recovery code; `roles` a JSON array of the role words the account itself holds. `person_id`
-- names a row of the people register, unenforced: an account may outlive or precede its person.
-- Changes of an account are audited (entity `sign_in`) without any of its secrets.

CREATE TABLE sign_ins (
    email TEXT PRIMARY KEY,
    person_id TEXT,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    totp_last_step BIGINT,
    mfa_enrolled_at TIMESTAMPTZ,
    recovery_codes TEXT NOT NULL DEFAULT '[]',
    roles TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    password_changed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_ins_person ON sign_ins (person_id);

-- One row per signed-in browser, keyed by the SHA-256 hex of its cookie token (the token itself is
-- never stored). Not audited; old rows are deleted by housekeeping.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    email TEXT NOT NULL REFERENCES sign_ins (email),
    created_at TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    mfa_passed BOOLEAN NOT NULL,
    csrf_secret TEXT NOT NULL
);
CREATE INDEX sessions_email ON sessions (email);
CREATE INDEX sessions_last_seen ON sessions (last_seen);
