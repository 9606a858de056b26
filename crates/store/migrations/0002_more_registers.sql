-- Eight more registers: monthly usage, sightings, travel, training, policy acceptances, BYOD
-- questionnaires, reasonable adjustments and exceptions. As in 0001: only types both backends
-- understand, references deferred to commit, an index on every reference column.
--
-- A register identified by several of its fields has a first column `key`, derived from them by
-- the model (`2026-10/MOB000123`): the primary key, and the entity id in the audit log.

CREATE TABLE usage (
    key TEXT PRIMARY KEY,
    month TEXT NOT NULL,
    asset_tag TEXT NOT NULL REFERENCES assets (tag) DEFERRABLE INITIALLY DEFERRED,
    data_mb BIGINT NOT NULL,
    roaming_mb BIGINT,
    voice_minutes BIGINT,
    texts BIGINT,
    private_cost_gbp BIGINT
);
CREATE INDEX usage_asset ON usage (asset_tag);

CREATE TABLE sightings (
    key TEXT PRIMARY KEY,
    asset_tag TEXT NOT NULL REFERENCES assets (tag) DEFERRABLE INITIALLY DEFERRED,
    seen_at TIMESTAMPTZ NOT NULL,
    country TEXT NOT NULL
);
CREATE INDEX sightings_asset ON sightings (asset_tag);

CREATE TABLE travel (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    countries TEXT NOT NULL,
    depart_on DATE NOT NULL,
    return_on DATE NOT NULL,
    status TEXT NOT NULL,
    approved_by TEXT REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX travel_person ON travel (person_id);
CREATE INDEX travel_approved_by ON travel (approved_by);

CREATE TABLE training (
    key TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    course TEXT NOT NULL,
    completed_on DATE NOT NULL,
    expires_on DATE
);
CREATE INDEX training_person ON training (person_id);

CREATE TABLE acceptances (
    key TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    pack TEXT NOT NULL,
    version TEXT NOT NULL,
    accepted_on DATE NOT NULL
);
CREATE INDEX acceptances_person ON acceptances (person_id);

CREATE TABLE questionnaires (
    key TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    completed_on DATE NOT NULL,
    passed BOOLEAN NOT NULL
);
CREATE INDEX questionnaires_person ON questionnaires (person_id);

CREATE TABLE adjustments (
    key TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    source TEXT NOT NULL,
    device_kind TEXT NOT NULL,
    approved_on DATE NOT NULL,
    expires_on DATE
);
CREATE INDEX adjustments_person ON adjustments (person_id);

CREATE TABLE exceptions (
    id TEXT PRIMARY KEY,
    pack TEXT NOT NULL,
    clause TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    granted_by TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    granted_on DATE NOT NULL,
    expires_on DATE
);
CREATE INDEX exceptions_granted_by ON exceptions (granted_by);
CREATE INDEX exceptions_subject ON exceptions (subject_type, subject_id);
