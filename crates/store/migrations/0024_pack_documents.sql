-- The organisation's own policy packs (imported from its documents, later mapped on screen):
-- the pack's two files as written, so that every server sharing the database runs the same
-- packs. Built-in packs are not stored; they are part of the binary. Each save is audited
-- (entity `pack_document`, with a digest of the files).

CREATE TABLE pack_documents (
    id TEXT PRIMARY KEY,
    pack_toml TEXT NOT NULL,
    clauses_toml TEXT NOT NULL,
    source_name TEXT,
    saved_at TIMESTAMPTZ NOT NULL,
    saved_by TEXT NOT NULL
);
