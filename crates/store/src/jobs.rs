//! Jobs: heavy work done in the background (a check run, an import; later syncs, mail and
//! backups), claimed by one server at a time under a lease kept in the job's own row.
//!
//! A job is `queued` until a server claims it: on PostgreSQL the claim picks the oldest claimable
//! row `FOR UPDATE SKIP LOCKED`, so servers claiming at once take different jobs; on SQLite the
//! claim runs under the database's write lock (`BEGIN IMMEDIATE`), so it is one claimer at a time
//! anyway. Claiming sets `holder` and `lease_until`, as [`Store::take_lease`](crate::Store) does
//! for a named lease; the holder renews it while it works, and a running job whose lease lapsed
//! (its server died) is claimable again — up to [`MAX_ATTEMPTS`] claims, then it fails. Every
//! change to a running job (progress, the end, handing it back) is made only by its holder.
//!
//! The files a job works on (`job_files`, base64 text) are deleted as the job ends. Jobs are not
//! audited: the row records who asked and how it ended; what the job changes is audited by the
//! path that changes it (`commit`, `record_findings`).
//!
//! The SQL lives here; a backend gives it [`JobsSql`] inside a transaction.

use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::findings::{Cell, CellReader, Columns, Kind};
use crate::sql::Placeholder;
use crate::{Result, StoreError};

/// A job claimed this many times (its servers died or lost it each time) fails when its lease
/// lapses once more, rather than being tried for ever.
pub const MAX_ATTEMPTS: i64 = 3;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Done, failed or cancelled: nothing more happens to it.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a job has got: `done` of `total` steps (0 of 0: not known yet), and what it is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JobProgress {
    pub done: i64,
    pub total: i64,
    pub note: String,
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    pub id: i64,
    /// What it does (`check`, `import`): the service's word.
    pub kind: String,
    /// Its arguments, as JSON text.
    pub arguments: String,
    pub state: JobState,
    pub progress: JobProgress,
    /// The actor who asked (`web:…`, `cli:…`, `system:…`).
    pub requested_by: String,
    /// The person who asked, if a person did.
    pub requester_person: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The server holding it while it runs, and until when.
    pub holder: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// How many times it has been claimed.
    pub attempts: i64,
    pub error: Option<String>,
    /// What it produced, as JSON text (an import's summary, a check run's counts).
    pub result: Option<String>,
    pub cancel_requested: bool,
}

/// A job to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    pub arguments: String,
    pub requested_by: String,
    pub requester_person: Option<String>,
    pub dedupe: Option<Dedupe>,
    pub created_at: DateTime<Utc>,
    pub total: i64,
}

/// At most one job with this key: a scheduled run's slot (kept for good), or a kind of work of
/// which one waiting job is enough (`while_queued`: the key goes as the job is claimed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dedupe {
    pub key: String,
    pub while_queued: bool,
}

/// One file a job works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFile {
    /// How the job names it (the uploaded file's name).
    pub name: String,
    /// The register it belongs to, by name.
    pub register: String,
    pub bytes: Vec<u8>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// Only those this actor asked for.
    pub requested_by: Option<String>,
    /// At most this many, newest first.
    pub limit: u64,
}

/// Whether a holder still holds its job, after renewing its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobHold {
    /// Still theirs; someone asked for it to stop.
    Held { cancel_requested: bool },
    /// No longer theirs (its lease lapsed and another server took it, or it was ended).
    Lost,
}

/// How a running job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd {
    Done {
        result: String,
    },
    Failed {
        error: String,
        result: Option<String>,
    },
    Cancelled,
}

/// What a backend gives the job statements, inside one transaction.
pub(crate) trait JobsSql {
    fn placeholder(&self) -> Placeholder;
    /// Serialises enqueuing (numbering and de-duplication): an advisory lock on PostgreSQL;
    /// nothing on SQLite, whose write transaction is the lock.
    fn lock_queue(&mut self) -> Result<()>;
    fn execute(&mut self, statement: &str, params: &[Cell]) -> Result<u64>;
    fn query(
        &mut self,
        statement: &str,
        params: &[Cell],
        columns: Columns,
    ) -> Result<Vec<Vec<Cell>>>;
}

/// PostgreSQL: enqueuing jobs takes this advisory lock until its transaction ends.
pub(crate) const PG_QUEUE_LOCK: &str = "SELECT pg_advisory_xact_lock(5381, 1)";

const JOB_COLUMNS: Columns = &[
    ("id", Kind::Int),
    ("kind", Kind::Text),
    ("arguments", Kind::Text),
    ("state", Kind::Text),
    ("progress_done", Kind::Int),
    ("progress_total", Kind::Int),
    ("progress_note", Kind::Text),
    ("requested_by", Kind::Text),
    ("requester_person", Kind::Text),
    ("dedupe_key", Kind::Text),
    ("created_at", Kind::Time),
    ("started_at", Kind::Time),
    ("finished_at", Kind::Time),
    ("holder", Kind::Text),
    ("lease_until", Kind::Time),
    ("attempts", Kind::Int),
    ("error", Kind::Text),
    ("result", Kind::Text),
    ("cancel_requested", Kind::Bool),
];

const ID: Columns = &[("id", Kind::Int)];
const FILE_COLUMNS: Columns = &[
    ("name", Kind::Text),
    ("register", Kind::Text),
    ("content", Kind::Text),
];
const FLAG: Columns = &[("cancel_requested", Kind::Bool)];

fn select() -> String {
    let columns: Vec<&str> = JOB_COLUMNS.iter().map(|(n, _)| *n).collect();
    format!("SELECT {} FROM jobs", columns.join(", "))
}

fn job_from_cells(cells: Vec<Cell>) -> Result<Job> {
    let mut r = CellReader::new("jobs", JOB_COLUMNS, cells);
    let id = r.int()?;
    let kind = r.text()?;
    let arguments = r.text()?;
    let state_text = r.text()?;
    let state = JobState::parse(&state_text)
        .ok_or_else(|| r.corrupt("state", format!("no state {state_text:?}")))?;
    Ok(Job {
        id,
        kind,
        arguments,
        state,
        progress: JobProgress {
            done: r.int()?,
            total: r.int()?,
            note: r.text()?,
        },
        requested_by: r.text()?,
        requester_person: r.opt_text()?.1,
        dedupe_key: r.opt_text()?.1,
        created_at: r.time()?,
        started_at: r.opt_time()?.1,
        finished_at: r.opt_time()?.1,
        holder: r.opt_text()?.1,
        lease_until: r.opt_time()?.1,
        attempts: r.int()?,
        error: r.opt_text()?.1,
        result: r.opt_text()?.1,
        cancel_requested: r.bool()?,
    })
}

fn text(s: &str) -> Cell {
    Cell::Text(Some(s.to_owned()))
}

fn opt_text(s: Option<&str>) -> Cell {
    Cell::Text(s.map(str::to_owned))
}

fn time(t: DateTime<Utc>) -> Cell {
    Cell::Time(Some(t))
}

fn load(sql: &mut dyn JobsSql, id: i64) -> Result<Option<Job>> {
    let p = sql.placeholder();
    let statement = format!("{} WHERE id = {}", select(), p.nth(1));
    sql.query(&statement, &[Cell::Int(Some(id))], JOB_COLUMNS)?
        .into_iter()
        .next()
        .map(job_from_cells)
        .transpose()
}

fn one_id(rows: Vec<Vec<Cell>>) -> Option<i64> {
    match rows.into_iter().next()?.into_iter().next()? {
        Cell::Int(n) => n,
        _ => None,
    }
}

/// The files of every job that has ended go with it.
fn delete_finished_files(sql: &mut dyn JobsSql) -> Result<()> {
    sql.execute(
        "DELETE FROM job_files WHERE job_id IN \
         (SELECT id FROM jobs WHERE state IN ('done', 'failed', 'cancelled'))",
        &[],
    )?;
    Ok(())
}

/// Queues a job (with its files) and returns its id and `true`; or, when a job with its dedupe
/// key exists, that job's id and `false`, queuing nothing.
pub(crate) fn enqueue(
    sql: &mut dyn JobsSql,
    job: &NewJob,
    files: &[JobFile],
) -> Result<(i64, bool)> {
    let p = sql.placeholder();
    sql.lock_queue()?;
    if let Some(dedupe) = &job.dedupe {
        let statement = format!("SELECT id FROM jobs WHERE dedupe_key = {}", p.nth(1));
        if let Some(id) = one_id(sql.query(&statement, &[text(&dedupe.key)], ID)?) {
            return Ok((id, false));
        }
    }
    let id = one_id(sql.query("SELECT COALESCE(MAX(id), 0) + 1 FROM jobs", &[], ID)?).unwrap_or(1);
    let placeholders: Vec<String> = (1..=12).map(|n| p.nth(n)).collect();
    let statement = format!(
        "INSERT INTO jobs (id, kind, arguments, state, progress_done, progress_total, \
         progress_note, requested_by, requester_person, dedupe_key, dedupe_while_queued, \
         created_at, attempts, cancel_requested) \
         VALUES ({0}, {1}, {2}, 'queued', 0, {3}, '', {4}, {5}, {6}, {7}, {8}, 0, {9}) \
         ON CONFLICT (dedupe_key) DO NOTHING",
        placeholders[0],
        placeholders[1],
        placeholders[2],
        placeholders[3],
        placeholders[4],
        placeholders[5],
        placeholders[6],
        placeholders[7],
        placeholders[8],
        placeholders[9],
    );
    let inserted = sql.execute(
        &statement,
        &[
            Cell::Int(Some(id)),
            text(&job.kind),
            text(&job.arguments),
            Cell::Int(Some(job.total.max(0))),
            text(&job.requested_by),
            opt_text(job.requester_person.as_deref()),
            opt_text(job.dedupe.as_ref().map(|d| d.key.as_str())),
            Cell::Bool(Some(job.dedupe.as_ref().is_some_and(|d| d.while_queued))),
            time(job.created_at),
            Cell::Bool(Some(false)),
        ],
    )?;
    if inserted == 0 {
        // Under the queue lock the key was free a moment ago; say so rather than guess.
        return Err(StoreError::Corrupt {
            table: "jobs",
            column: "dedupe_key",
            id: job
                .dedupe
                .as_ref()
                .map_or_else(String::new, |d| d.key.clone()),
            reason: "the key appeared while the queue was locked".into(),
        });
    }
    let statement = format!(
        "INSERT INTO job_files (job_id, position, name, register, content) \
         VALUES ({}, {}, {}, {}, {})",
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4),
        p.nth(5)
    );
    for (position, file) in files.iter().enumerate() {
        sql.execute(
            &statement,
            &[
                Cell::Int(Some(id)),
                Cell::Int(Some(i64::try_from(position).unwrap_or(i64::MAX))),
                text(&file.name),
                text(&file.register),
                text(&base64::engine::general_purpose::STANDARD.encode(&file.bytes)),
            ],
        )?;
    }
    Ok((id, true))
}

/// The condition a claimable job meets: queued, or running under a lease that lapsed before
/// the first parameter.
fn claimable(p: Placeholder, now: usize) -> String {
    format!(
        "(state = 'queued' OR (state = 'running' AND lease_until < {}))",
        p.nth(now)
    )
}

/// Claims the oldest claimable job for `holder` until `until`: running, its attempts counted.
/// Before that, running jobs whose lease lapsed end: cancelled if a cancel was asked for, failed
/// if they have been claimed [`MAX_ATTEMPTS`] times.
pub(crate) fn claim(
    sql: &mut dyn JobsSql,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<Job>> {
    let p = sql.placeholder();
    let lapsed = format!("state = 'running' AND lease_until < {}", p.nth(1));
    sql.execute(
        &format!(
            "UPDATE jobs SET state = 'cancelled', finished_at = {0}, holder = NULL, \
             lease_until = NULL WHERE {lapsed} AND cancel_requested",
            p.nth(1)
        ),
        &[time(now)],
    )?;
    sql.execute(
        &format!(
            "UPDATE jobs SET state = 'failed', finished_at = {}, holder = NULL, \
             lease_until = NULL, error = {} WHERE {lapsed} AND attempts >= {}",
            p.nth(1),
            p.nth(2),
            p.nth(3)
        ),
        &[
            time(now),
            text(&format!(
                "its server stopped answering {MAX_ATTEMPTS} times while running it; not tried again"
            )),
            Cell::Int(Some(MAX_ATTEMPTS)),
        ],
    )?;
    delete_finished_files(sql)?;
    let lock = match p {
        Placeholder::Dollar => " FOR UPDATE SKIP LOCKED",
        Placeholder::Question => "",
    };
    let pick = format!(
        "SELECT id FROM jobs WHERE {} ORDER BY id LIMIT 1{lock}",
        claimable(p, 1)
    );
    let Some(id) = one_id(sql.query(&pick, &[time(now)], ID)?) else {
        return Ok(None);
    };
    let taken = sql.execute(
        &format!(
            "UPDATE jobs SET state = 'running', holder = {1}, lease_until = {2}, \
             started_at = COALESCE(started_at, {0}), attempts = attempts + 1, \
             dedupe_key = CASE WHEN dedupe_while_queued THEN NULL ELSE dedupe_key END \
             WHERE id = {3} AND {4}",
            p.nth(1),
            p.nth(2),
            p.nth(3),
            p.nth(4),
            claimable(p, 1)
        ),
        &[time(now), text(holder), time(until), Cell::Int(Some(id))],
    )?;
    if taken == 0 {
        return Ok(None);
    }
    load(sql, id)
}

/// Renews `holder`'s lease on a running job until `until` and records its progress.
pub(crate) fn renew(
    sql: &mut dyn JobsSql,
    id: i64,
    holder: &str,
    until: DateTime<Utc>,
    progress: &JobProgress,
) -> Result<JobHold> {
    let p = sql.placeholder();
    let n = sql.execute(
        &format!(
            "UPDATE jobs SET lease_until = {}, progress_done = {}, progress_total = {}, \
             progress_note = {} WHERE id = {} AND holder = {} AND state = 'running'",
            p.nth(1),
            p.nth(2),
            p.nth(3),
            p.nth(4),
            p.nth(5),
            p.nth(6)
        ),
        &[
            time(until),
            Cell::Int(Some(progress.done)),
            Cell::Int(Some(progress.total)),
            text(&progress.note),
            Cell::Int(Some(id)),
            text(holder),
        ],
    )?;
    if n == 0 {
        return Ok(JobHold::Lost);
    }
    let rows = sql.query(
        &format!("SELECT cancel_requested FROM jobs WHERE id = {}", p.nth(1)),
        &[Cell::Int(Some(id))],
        FLAG,
    )?;
    let cancel_requested = matches!(
        rows.into_iter().next().and_then(|r| r.into_iter().next()),
        Some(Cell::Bool(Some(true)))
    );
    Ok(JobHold::Held { cancel_requested })
}

/// Ends `holder`'s running job; its files go. `false` if it is not theirs to end.
pub(crate) fn finish(
    sql: &mut dyn JobsSql,
    id: i64,
    holder: &str,
    now: DateTime<Utc>,
    end: &JobEnd,
) -> Result<bool> {
    let p = sql.placeholder();
    let (state, error, result) = match end {
        JobEnd::Done { result } => (JobState::Done, None, Some(result.as_str())),
        JobEnd::Failed { error, result } => {
            (JobState::Failed, Some(error.as_str()), result.as_deref())
        }
        JobEnd::Cancelled => (JobState::Cancelled, None, None),
    };
    let n = sql.execute(
        &format!(
            "UPDATE jobs SET state = {}, finished_at = {}, error = {}, result = {}, \
             holder = NULL, lease_until = NULL WHERE id = {} AND holder = {} AND state = 'running'",
            p.nth(1),
            p.nth(2),
            p.nth(3),
            p.nth(4),
            p.nth(5),
            p.nth(6)
        ),
        &[
            text(state.as_str()),
            time(now),
            opt_text(error),
            opt_text(result),
            Cell::Int(Some(id)),
            text(holder),
        ],
    )?;
    delete_finished_files(sql)?;
    Ok(n > 0)
}

/// Gives a running job back to the queue (its server is stopping): the claim is not counted.
pub(crate) fn hand_back(sql: &mut dyn JobsSql, id: i64, holder: &str) -> Result<bool> {
    let p = sql.placeholder();
    let n = sql.execute(
        &format!(
            "UPDATE jobs SET state = 'queued', holder = NULL, lease_until = NULL, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
             WHERE id = {} AND holder = {} AND state = 'running'",
            p.nth(1),
            p.nth(2)
        ),
        &[Cell::Int(Some(id)), text(holder)],
    )?;
    Ok(n > 0)
}

/// Asks a job to stop: a queued one is cancelled at once, a running one told (its holder ends it
/// between steps). The job as it then is; `None` if there is no such job.
pub(crate) fn cancel(sql: &mut dyn JobsSql, id: i64, now: DateTime<Utc>) -> Result<Option<Job>> {
    let p = sql.placeholder();
    sql.execute(
        &format!(
            "UPDATE jobs SET state = 'cancelled', finished_at = {}, dedupe_key = \
             CASE WHEN dedupe_while_queued THEN NULL ELSE dedupe_key END \
             WHERE id = {} AND state = 'queued'",
            p.nth(1),
            p.nth(2)
        ),
        &[time(now), Cell::Int(Some(id))],
    )?;
    sql.execute(
        &format!(
            "UPDATE jobs SET cancel_requested = {} WHERE id = {} AND state = 'running'",
            p.nth(1),
            p.nth(2)
        ),
        &[Cell::Bool(Some(true)), Cell::Int(Some(id))],
    )?;
    delete_finished_files(sql)?;
    load(sql, id)
}

pub(crate) fn get(sql: &mut dyn JobsSql, id: i64) -> Result<Option<Job>> {
    load(sql, id)
}

pub(crate) fn list(sql: &mut dyn JobsSql, query: &JobQuery) -> Result<Vec<Job>> {
    let p = sql.placeholder();
    let limit = Cell::Int(Some(i64::try_from(query.limit).unwrap_or(i64::MAX)));
    let rows = match &query.requested_by {
        Some(actor) => sql.query(
            &format!(
                "{} WHERE requested_by = {} ORDER BY id DESC LIMIT {}",
                select(),
                p.nth(1),
                p.nth(2)
            ),
            &[text(actor), limit],
            JOB_COLUMNS,
        )?,
        None => sql.query(
            &format!("{} ORDER BY id DESC LIMIT {}", select(), p.nth(1)),
            &[limit],
            JOB_COLUMNS,
        )?,
    };
    rows.into_iter().map(job_from_cells).collect()
}

pub(crate) fn files(sql: &mut dyn JobsSql, id: i64) -> Result<Vec<JobFile>> {
    let p = sql.placeholder();
    let rows = sql.query(
        &format!(
            "SELECT name, register, content FROM job_files WHERE job_id = {} ORDER BY position",
            p.nth(1)
        ),
        &[Cell::Int(Some(id))],
        FILE_COLUMNS,
    )?;
    rows.into_iter()
        .map(|cells| {
            let mut r = CellReader::new("job_files", FILE_COLUMNS, cells);
            let name = r.text()?;
            let register = r.text()?;
            let content = r.text()?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content.as_bytes())
                .map_err(|e| r.corrupt("content", e.to_string()))?;
            Ok(JobFile {
                name,
                register,
                bytes,
            })
        })
        .collect()
}

/// The [`Store`](crate::Store)'s job methods, for a backend with inherent `with_jobs(|sql| …)`
/// and `read_jobs(|sql| …)` that run their closure in one writing or one reading transaction.
macro_rules! job_methods {
    () => {
        fn enqueue_job(
            &self,
            job: &$crate::jobs::NewJob,
            files: &[$crate::jobs::JobFile],
        ) -> $crate::Result<(i64, bool)> {
            self.with_jobs(|sql| $crate::jobs::enqueue(sql, job, files))
        }

        fn claim_job(
            &self,
            holder: &str,
            now: chrono::DateTime<chrono::Utc>,
            until: chrono::DateTime<chrono::Utc>,
        ) -> $crate::Result<Option<$crate::jobs::Job>> {
            self.with_jobs(|sql| $crate::jobs::claim(sql, holder, now, until))
        }

        fn renew_job(
            &self,
            id: i64,
            holder: &str,
            until: chrono::DateTime<chrono::Utc>,
            progress: &$crate::jobs::JobProgress,
        ) -> $crate::Result<$crate::jobs::JobHold> {
            self.with_jobs(|sql| $crate::jobs::renew(sql, id, holder, until, progress))
        }

        fn finish_job(
            &self,
            id: i64,
            holder: &str,
            now: chrono::DateTime<chrono::Utc>,
            end: &$crate::jobs::JobEnd,
        ) -> $crate::Result<bool> {
            self.with_jobs(|sql| $crate::jobs::finish(sql, id, holder, now, end))
        }

        fn hand_back_job(&self, id: i64, holder: &str) -> $crate::Result<bool> {
            self.with_jobs(|sql| $crate::jobs::hand_back(sql, id, holder))
        }

        fn cancel_job(
            &self,
            id: i64,
            now: chrono::DateTime<chrono::Utc>,
        ) -> $crate::Result<Option<$crate::jobs::Job>> {
            self.with_jobs(|sql| $crate::jobs::cancel(sql, id, now))
        }

        fn job(&self, id: i64) -> $crate::Result<Option<$crate::jobs::Job>> {
            self.read_jobs(|sql| $crate::jobs::get(sql, id))
        }

        fn jobs(&self, query: &$crate::jobs::JobQuery) -> $crate::Result<Vec<$crate::jobs::Job>> {
            self.read_jobs(|sql| $crate::jobs::list(sql, query))
        }

        fn job_files(&self, id: i64) -> $crate::Result<Vec<$crate::jobs::JobFile>> {
            self.read_jobs(|sql| $crate::jobs::files(sql, id))
        }
    };
}
pub(crate) use job_methods;
