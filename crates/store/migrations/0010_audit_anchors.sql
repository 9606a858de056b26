-- Anchors: the audit log's head (last sequence number and hash) as emailed to the information
-- governance team, once a day and on demand, so that a copy of it lives outside this database
-- and `steward audit verify --expect SEQ:HASH` can later prove the log still holds it.
-- `recipients`: the addresses it went to, comma-separated. Listed here, not audited: recording
-- an anchor in the chain would move the head it names.
CREATE TABLE audit_anchors (
    sent_at TIMESTAMPTZ PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    recipients TEXT NOT NULL
);
