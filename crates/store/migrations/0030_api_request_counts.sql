-- Requests made with each API token, per minute, counted where every server sharing the database
-- counts them, so that a token's rate limit holds across servers. PostgreSQL only: an SQLite
-- database has one server, which counts in memory. Operational: not audited, not backed up; rows
-- of minutes past are removed as new minutes begin.

CREATE TABLE api_request_counts (
    token_id TEXT NOT NULL,
    minute BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (token_id, minute)
);

CREATE INDEX api_request_counts_minute ON api_request_counts (minute);
