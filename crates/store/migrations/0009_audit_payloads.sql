-- Hash version 2: the chain commits to the SHA-256 of each record's payloads, and the payloads
-- move to their own table, which erasure may rewrite while `audit_log` stays append-only.
-- Records already written keep their payloads in `audit_log` (hash version 1 commits to them).
ALTER TABLE audit_log ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN before_hash TEXT;
ALTER TABLE audit_log ADD COLUMN after_hash TEXT;

-- A version 2 record's before/after as canonical JSON; `erased_by` is the `erase` record that
-- rewrote them, if one did. No foreign key: a missing payload is caught by its hash, as is any
-- other change.
CREATE TABLE audit_payloads (
    seq BIGINT PRIMARY KEY,
    before_json TEXT,
    after_json TEXT,
    erased_by BIGINT
);
