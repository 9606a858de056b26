-- The findings list's orders, each an index, so that its first page, or the page after any
-- cursor, is read in order and cut at the page's end instead of sorting every open finding.
-- Two words are spelled per backend: `COLLATE_BYTES`, the collation the lists order keys by byte
-- by byte (`COLLATE "C"` on PostgreSQL, the default on SQLite), and `GENERATED_KIND`, how a
-- generated column is kept (`STORED` on PostgreSQL; `VIRTUAL` on SQLite, which can add no other).

-- A finding's place in the severity order: the most severe first, a word the model does not
-- know last. The expression is the store's `severity_place`, character for character (a test
-- holds them together).
ALTER TABLE findings ADD COLUMN severity_place BIGINT GENERATED ALWAYS AS (CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END) GENERATED_KIND;

-- Most severe first, then longest failing.
CREATE INDEX findings_list_severity ON findings (severity_place, first_failing, key COLLATE_BYTES);
-- Oldest first, or read backwards, newest first.
CREATE INDEX findings_list_age ON findings (first_failing, key COLLATE_BYTES);
-- By policy and clause, and a section's findings counted from the index alone (replacing the
-- index on pack and clause).
DROP INDEX findings_clause;
CREATE INDEX findings_clause ON findings (pack, clause COLLATE_BYTES, key COLLATE_BYTES, state);
-- One policy's findings, most severe first: a policy the dashboard links to is read in order too.
CREATE INDEX findings_pack_severity ON findings (pack, severity_place, first_failing, key COLLATE_BYTES);

-- What the list counts, read from the index alone: the states, policies, severities and who acts
-- a list filters by (replacing the indexes on state and severity, and on who acts and state).
DROP INDEX findings_state;
CREATE INDEX findings_state ON findings (state, pack, severity_place, who_acts, first_failing);
DROP INDEX findings_who_acts;
CREATE INDEX findings_who_acts ON findings (who_acts, state, pack);
