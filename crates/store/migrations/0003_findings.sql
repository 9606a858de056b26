-- Findings: one subject failing one control of one policy pack, with where it stands, and the
-- append-only history of every change of state. As in 0001: only types both backends understand.
--
-- `key` is the model's `Finding::key()` (`pack/control/subject_type/subject_id`), checked against
-- its parts whenever a row is read. `evidence` is canonical JSON text (keys sorted, no spaces).
-- Rows are never deleted: a finding that stops failing is `resolved`, and fails again as the same
-- row with a new `first_failing`; earlier episodes live in `finding_events`.

CREATE TABLE findings (
    key TEXT PRIMARY KEY,
    pack TEXT NOT NULL,
    version TEXT NOT NULL,
    clause TEXT NOT NULL,
    control TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    clause_text TEXT NOT NULL,
    evidence TEXT NOT NULL,
    who_acts TEXT NOT NULL,
    due DATE,
    undecided TEXT,
    state TEXT NOT NULL CHECK (state IN ('open', 'escalated', 'resolved', 'excepted')),
    -- When it began failing this time, and the last run that saw it failing.
    first_failing TIMESTAMPTZ NOT NULL,
    last_failing TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    -- The exception (by id) covering it while excepted.
    exception TEXT
);
CREATE INDEX findings_pack ON findings (pack, state);
CREATE INDEX findings_clause ON findings (pack, clause);
CREATE INDEX findings_control ON findings (control);
CREATE INDEX findings_state ON findings (state, severity);
CREATE INDEX findings_subject ON findings (subject_type, subject_id);
CREATE INDEX findings_who_acts ON findings (who_acts, state);

-- Every change of a finding, appended in the transaction that made it and never rewritten. `seq`
-- is the sequence number of the audit record written with the event, so events are ordered as
-- the audit log is. `state`, `first_failing` and `exception` are as they stood after the event:
-- the last event of a finding at or before an instant says where it stood then.
CREATE TABLE finding_events (
    seq BIGINT PRIMARY KEY,
    key TEXT NOT NULL REFERENCES findings (key) DEFERRABLE INITIALLY DEFERRED,
    at TIMESTAMPTZ NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('opened', 'reopened', 'escalated', 'resolved', 'excepted', 'exception_expired', 'updated')),
    state TEXT NOT NULL CHECK (state IN ('open', 'escalated', 'resolved', 'excepted')),
    first_failing TIMESTAMPTZ NOT NULL,
    exception TEXT,
    details TEXT NOT NULL
);
CREATE INDEX finding_events_key ON finding_events (key, at, seq);
