-- The organisation's policy packs: which of those the server knows are active, decided on screen
-- or on the command line and audited (entity `pack`). A fresh installation has none active until
-- someone chooses; an installation that has already run checks keeps running the packs it ran
-- (the service activates them, audited, when it first opens the database: `adopt_packs_run`).

CREATE TABLE packs (
    id TEXT PRIMARY KEY,
    active BOOLEAN NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    changed_by TEXT NOT NULL
);

