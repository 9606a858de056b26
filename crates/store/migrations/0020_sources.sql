-- Connectors: the registers kept current from the organisation's own systems. Every synced record
-- says which connector keeps it, when that source last listed it and, once a complete listing
-- lacks it, since when it has been missing there. New columns are optional, so existing files and
-- estates import unchanged.

ALTER TABLE people ADD COLUMN source TEXT;
ALTER TABLE people ADD COLUMN source_seen TIMESTAMPTZ;
ALTER TABLE people ADD COLUMN missing_since TIMESTAMPTZ;

ALTER TABLE assets ADD COLUMN imei TEXT;
ALTER TABLE assets ADD COLUMN os_version TEXT;
ALTER TABLE assets ADD COLUMN compliance_state TEXT;
ALTER TABLE assets ADD COLUMN azure_device_id TEXT;
ALTER TABLE assets ADD COLUMN source_id TEXT;
ALTER TABLE assets ADD COLUMN source TEXT;
ALTER TABLE assets ADD COLUMN source_seen TIMESTAMPTZ;
ALTER TABLE assets ADD COLUMN missing_since TIMESTAMPTZ;

ALTER TABLE accounts ADD COLUMN login TEXT;
ALTER TABLE accounts ADD COLUMN source_id TEXT;
ALTER TABLE accounts ADD COLUMN source TEXT;
ALTER TABLE accounts ADD COLUMN source_seen TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN missing_since TIMESTAMPTZ;

-- A sighting is of a device or of an account (a sign-in), or both: the table is rebuilt because
-- SQLite cannot drop a NOT NULL. Keys stay as they were (an empty last key part is left out).
CREATE TABLE sightings_kept (
    key TEXT PRIMARY KEY,
    asset_tag TEXT REFERENCES assets (tag) DEFERRABLE INITIALLY DEFERRED,
    seen_at TIMESTAMPTZ NOT NULL,
    country TEXT NOT NULL,
    account_id TEXT REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED
);
INSERT INTO sightings_kept (key, asset_tag, seen_at, country)
    SELECT key, asset_tag, seen_at, country FROM sightings;
DROP TABLE sightings;
ALTER TABLE sightings_kept RENAME TO sightings;
CREATE INDEX sightings_asset ON sightings (asset_tag);
CREATE INDEX sightings_account ON sightings (account_id);

-- Each connector: its kind, settings (no secret among them) and the sealed credential.
CREATE TABLE connectors (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL,
    secret TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    -- Incremental state the source hands back (a delta link, a last-modified time).
    cursor TEXT,
    last_run_at TIMESTAMPTZ,
    last_outcome TEXT,
    -- A preview waiting for a person: the plan as JSON, and when it was made.
    pending_plan TEXT,
    pending_at TIMESTAMPTZ,
    -- The last applied sync's counts, skipped feeds and records left to resolve, as JSON.
    last_plan TEXT
);

-- Which register record each source's record is, as matched or as a person decided; `record_id`
-- empty with `ignored` set: a record a person chose to ignore (a test account).
CREATE TABLE source_links (
    connector TEXT NOT NULL,
    feed TEXT NOT NULL,
    source_id TEXT NOT NULL,
    record_id TEXT,
    ignored BOOLEAN NOT NULL DEFAULT FALSE,
    decided_by TEXT,
    decided_at TIMESTAMPTZ,
    PRIMARY KEY (connector, feed, source_id)
);

-- Where each synced field's value came from: the source and the sync that set it.
CREATE TABLE provenance (
    register TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    source TEXT NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (register, record_id, field)
);
