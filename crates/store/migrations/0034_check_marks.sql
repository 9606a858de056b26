-- A run queued by a change re-evaluates only the checks that read what changed since the last
-- run: `audit_seq` is the audit log's head when the pack's last run began reading the estate.
-- Every change after it is in the log after it. NULL (runs before this column): unknown, so the
-- next run re-evaluates every check and sets it.

ALTER TABLE check_runs ADD COLUMN audit_seq BIGINT;
