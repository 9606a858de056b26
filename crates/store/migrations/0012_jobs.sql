-- Jobs: heavy work (a check run, an import, later syncs, mail and backups) done in the
-- background by whichever server claims it, so that no web request waits for it. A job is held
-- under a lease (`holder`, `lease_until`) its server renews while it runs; a job whose server
-- died is claimed again once the lease lapses. Not audited: who asked and how it ended are in the
-- row itself, and what the job changed is audited by the path it changed it through.
--
-- `dedupe_key`: at most one job per key (a scheduled run's slot: one server runs it); when
-- `dedupe_while_queued`, the key is cleared as the job is claimed, so it only keeps a second job
-- of its kind from queueing behind one not yet started.
CREATE TABLE jobs (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    arguments TEXT NOT NULL,
    state TEXT NOT NULL,
    progress_done BIGINT NOT NULL,
    progress_total BIGINT NOT NULL,
    progress_note TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requester_person TEXT,
    dedupe_key TEXT UNIQUE,
    dedupe_while_queued BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    holder TEXT,
    lease_until TIMESTAMPTZ,
    attempts BIGINT NOT NULL,
    error TEXT,
    result TEXT,
    cancel_requested BOOLEAN NOT NULL
);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_requested_by ON jobs (requested_by, id);

-- The files a job works on (an uploaded CSV), kept until the job is done so that any server can
-- take the job over. `content` is base64 text: one column type both backends share.
CREATE TABLE job_files (
    job_id BIGINT NOT NULL REFERENCES jobs (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    register TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
);
