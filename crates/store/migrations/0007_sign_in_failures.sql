-- Failed sign-in guesses per throttle key (`password:account:…`, `code:addr:…`), so that every
-- server sharing the database counts the same guesses against Cyber Essentials' ten in five
-- minutes. Not audited; rows older than the throttle's window are deleted as new ones come.
CREATE TABLE sign_in_failures (
    key TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_failures_key_at ON sign_in_failures (key, at);
CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
