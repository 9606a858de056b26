-- The organisation's own values for the packs' parameters, set on screen (or imported from an
-- overrides.toml), each with the reason for it and the day it takes effect; a later row for
-- the same parameter takes over from its day, and a row without a value goes back to the pack's.
-- Every change is audited (entity `parameter`, id NAME@DAY).

CREATE TABLE parameter_overrides (
    name TEXT NOT NULL,
    effective_from DATE NOT NULL,
    value TEXT,
    reason TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    changed_by TEXT NOT NULL,
    PRIMARY KEY (name, effective_from)
);
