-- The last check run of each pack. A finding still failing as before is not written again on a
-- run: that it failed on the pack's last run is read from here (its `last_failing` is the later
-- of its own and this), so a run writes in proportion to what changed.

CREATE TABLE check_runs (
    pack TEXT PRIMARY KEY,
    last_run TIMESTAMPTZ NOT NULL
);

-- Every run so far moved its failing findings' `last_failing` and set its resolved ones'
-- `resolved_at`: the latest of either is the pack's last run.
INSERT INTO check_runs (pack, last_run)
SELECT pack, MAX(t) FROM (
    SELECT pack, last_failing AS t FROM findings
    UNION ALL
    SELECT pack, resolved_at AS t FROM findings WHERE resolved_at IS NOT NULL
) AS runs
GROUP BY pack;

-- A run is recorded control by control: each control's stored findings are read on their own,
-- and the controls still failing are listed without reading the findings.
CREATE INDEX findings_pack_control ON findings (pack, control, state);
