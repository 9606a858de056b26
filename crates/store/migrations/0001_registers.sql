-- The first registers and the audit log. One file serves SQLite and PostgreSQL: only types both
-- understand (SQLite keeps DATE and TIMESTAMPTZ as ISO text; PostgreSQL as real dates and instants).
-- References are deferred to commit so that a file may name a manager before listing them.

CREATE TABLE organisation (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL
);

CREATE TABLE budget_centres (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE systems (
    name TEXT PRIMARY KEY,
    key_system BOOLEAN,
    supports_mfa BOOLEAN
);

CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    staff_group TEXT NOT NULL,
    manager_id TEXT REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    budget_centre TEXT REFERENCES budget_centres (code) DEFERRABLE INITIALLY DEFERRED,
    status TEXT NOT NULL,
    start_date DATE,
    leave_date DATE,
    clearance TEXT,
    clearance_expires DATE,
    byod BOOLEAN
);
CREATE INDEX people_manager ON people (manager_id);
CREATE INDEX people_budget_centre ON people (budget_centre);

CREATE TABLE assets (
    tag TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    model TEXT,
    serial TEXT,
    ownership TEXT NOT NULL,
    status TEXT NOT NULL,
    assigned_to TEXT REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    assigned_on DATE,
    budget_centre TEXT REFERENCES budget_centres (code) DEFERRABLE INITIALLY DEFERRED,
    cost_gbp BIGINT,
    encrypted BOOLEAN,
    pin_set BOOLEAN,
    hotspot_password_set BOOLEAN,
    last_seen TIMESTAMPTZ,
    last_shutdown TIMESTAMPTZ,
    pending_patch_since DATE
);
CREATE INDEX assets_assigned_to ON assets (assigned_to);
CREATE INDEX assets_budget_centre ON assets (budget_centre);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    person_id TEXT REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    system TEXT NOT NULL REFERENCES systems (name) DEFERRABLE INITIALLY DEFERRED,
    kind TEXT NOT NULL,
    admin_rights BOOLEAN,
    mfa BOOLEAN,
    status TEXT NOT NULL,
    last_login TIMESTAMPTZ
);
CREATE INDEX accounts_person ON accounts (person_id);
CREATE INDEX accounts_system ON accounts (system);

-- Who held what, from when to when. Rows are appended and closed, never rewritten.
CREATE TABLE asset_assignments (
    asset_tag TEXT NOT NULL REFERENCES assets (tag) DEFERRABLE INITIALLY DEFERRED,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    from_date DATE NOT NULL,
    until_date DATE,
    opened_by BIGINT NOT NULL,
    closed_by BIGINT,
    PRIMARY KEY (asset_tag, opened_by)
);
CREATE INDEX asset_assignments_person ON asset_assignments (person_id);

-- The hash-chained audit log. Texts, not JSON types, so the hashed bytes are the stored bytes.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);

-- The chain's head, updated in the same transaction as every append: it serialises writers (a row
-- lock on PostgreSQL) and lets verify notice records cut from the end.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
