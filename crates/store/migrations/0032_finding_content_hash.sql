-- A check run compares every finding it reports with the one stored. Reading each stored
-- finding whole to do so (its message, the clause quoted, its evidence) is most of a run's time
-- at a large estate, where nearly all are unchanged. `content_hash` is a SHA-256 of a finding's
-- content (every field but its deadline, which the stored finding keeps): a run reads each
-- finding's state and hash, and reads whole only the findings of a control where something
-- changes. Derived, not audited: NULL for findings written before it, which the next run that
-- reads their control whole fills in.

ALTER TABLE findings ADD COLUMN content_hash TEXT;
