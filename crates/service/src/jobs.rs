//! Jobs: heavy work done in the background — a check run, an import; later connector syncs,
//! mail and backups — so that no web request waits for it, and any server sharing the database
//! can take a job over if the one running it dies.
//!
//! Queuing a job is authorised here as the work itself would be (an import as an import, a check
//! run as "check again now"), and the requester is recorded in the job. The work is done by
//! [`Steward::run_one`], which claims one job (see `steward_store`'s jobs: a lease in the job's
//! row, renewed while it runs by a heartbeat), runs it in steps, writing its progress, honouring
//! a cancel or the server stopping between steps, and ends it. An import runs again the
//! requester's authority as it is when the job runs: a person whose role was taken away
//! meanwhile has their import refused. [`Worker`] runs jobs on threads of their own, and queues
//! the scheduled check runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use steward_model::Register;
use steward_policy::{Overrides, Pack};
use steward_store::{
    Dedupe, Job, JobEnd, JobFile, JobHold, JobProgress, JobQuery, JobState, NewJob, StoreError,
};

use crate::{Authority, Capacity, ImportFile, Result, ServiceError, Stamp, Steward};

/// What a job does. Room is left for `Mail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// The active packs' checks run over the database and recorded.
    Check,
    /// Register files imported, as one transaction.
    Import,
    /// A scheduled backup of the whole database, written where the server's settings say.
    Backup,
    /// A connector synced: its source read whole, then applied (or held at a preview).
    Sync,
    /// What mapping a clause to a library control would find on today's estate, counted.
    Preview,
    /// The webhooks' messages due, sent.
    Deliver,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::Check,
        JobKind::Import,
        JobKind::Backup,
        JobKind::Sync,
        JobKind::Preview,
        JobKind::Deliver,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Check => "check",
            JobKind::Import => "import",
            JobKind::Backup => "backup",
            JobKind::Sync => "sync",
            JobKind::Preview => "preview",
            JobKind::Deliver => "deliver",
        }
    }

    pub fn parse(word: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// Why a sync is queued.
enum Queued {
    /// A person asked: every feed listed in full.
    Asked,
    /// The schedule's round.
    Scheduled,
    /// The schedule's run of these feeds alone (the sign-in logs between rounds).
    Only(Vec<steward_connect::Feed>),
}

/// Why a check run is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckRun {
    /// Someone asked ("check again now", `steward jobs`): one waiting run is enough.
    Asked,
    /// A step changed the registers: one waiting run is enough.
    AfterStep,
    /// A scheduled run, for its slot (`check:every:…`, `check:day:…`): one per slot, whichever
    /// server queues it first.
    Scheduled(String),
}

/// Why a run a step queued was queued, in its arguments.
const AFTER_CHANGE: &str = "after a change";

/// The key that keeps a second check run a step queues from waiting behind one not yet started.
const CHECK_QUEUED: &str = "check:queued";

/// The same for runs someone asked for: apart from those steps queue, since one asked for
/// evaluates every check, and one after a change only those the change touched.
const CHECK_ASKED: &str = "check:asked";

/// One problem in an import's files, as the job page lists it: the importer's own error, kept
/// in the job's result as JSON (`file`, `line`, `column`, `value`, `reason`).
pub type ImportProblem = steward_interchange::CsvError;

/// What a job produced, kept in its row as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobResult {
    Import {
        /// Each file and its rows.
        files: Vec<(String, usize)>,
        /// The registers the files were for, by name.
        registers: Vec<String>,
        created: usize,
        updated: usize,
        unchanged: usize,
        created_budget_centres: Vec<String>,
        /// Every problem found; when there are any, nothing was changed.
        problems: Vec<ImportProblem>,
    },
    Check {
        packs: Vec<String>,
        findings: usize,
        opened: usize,
        reopened: usize,
        updated: usize,
        resolved: usize,
        unchanged: usize,
        /// Something to say (no packs were active; a later run had already been recorded).
        note: String,
    },
    Backup {
        /// What was written: the file and what it holds.
        written: String,
    },
    Sync {
        connector: String,
        /// `false`: held at a preview, for the reasons in `hold`.
        applied: bool,
        listed: usize,
        created: usize,
        updated: usize,
        missing: usize,
        back: usize,
        sightings: usize,
        unmatched: usize,
        hold: Vec<String>,
        /// Feeds the source refused, with why.
        skipped: Vec<String>,
    },
    Preview {
        /// The id the check would have in the pack.
        control: String,
        /// How many findings it would raise on today's estate.
        findings: usize,
    },
    Deliver {
        /// Messages the receivers took.
        delivered: usize,
    },
}

/// A job as its requester and the teams that run the service see it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: Job,
    pub kind: Option<JobKind>,
    pub result: Option<JobResult>,
}

impl JobView {
    fn of(job: Job) -> JobView {
        let result = job
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok());
        JobView {
            kind: JobKind::parse(&job.kind),
            job,
            result,
        }
    }
}

/// Takes a scheduled backup for the slot beginning at the instant given, as the front end that
/// knows the database's url and the backup folder does it: what it wrote, or why it could not.
#[derive(Clone)]
pub struct BackupHook(
    pub Arc<dyn Fn(DateTime<Utc>) -> std::result::Result<String, String> + Send + Sync>,
);

impl std::fmt::Debug for BackupHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupHook")
    }
}

impl PartialEq for BackupHook {
    fn eq(&self, other: &BackupHook) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for BackupHook {}

/// Scheduled backups: one every `every`, queued as a job, taken by `take`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub every: Duration,
    pub take: BackupHook,
}

/// What a server hands the runner: the packs and overrides checks run with, how backups are
/// taken, how long a lease lasts, and whether the server is stopping.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The packs the server runs when its configuration names them; when empty, those of
    /// `available` the organisation has made active (read from the database at each run).
    pub packs: Vec<Pack>,
    /// Every pack the server knows, among which the organisation chooses.
    pub available: Vec<Pack>,
    pub overrides: Overrides,
    pub backup: Option<BackupHook>,
    pub lease: Duration,
    /// Set when the server stops: a running job is handed back at its next step.
    pub stop: Arc<AtomicBool>,
    /// Webhooks may be sent to this machine and private networks (the operator's choice).
    pub webhooks_allow_private: bool,
}

impl JobContext {
    pub fn new(packs: Vec<Pack>, overrides: Overrides, lease: Duration) -> JobContext {
        JobContext {
            packs,
            available: Vec::new(),
            overrides,
            backup: None,
            lease,
            stop: Arc::new(AtomicBool::new(false)),
            webhooks_allow_private: false,
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The packs a check run runs now: those configured, or those the organisation chose.
    fn running(&self, steward: &Steward) -> Result<Vec<Pack>> {
        if !self.packs.is_empty() {
            return Ok(self.packs.clone());
        }
        Ok(crate::active_among(
            &steward.with_own_packs(&self.available)?,
            &steward.active_pack_ids()?,
        ))
    }
}

/// How a job claimed by [`Steward::run_one`] left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub id: i64,
    pub kind: String,
    /// Done, failed or cancelled; queued when handed back; running when another server took it.
    pub state: JobState,
}

/// What a step of a running job found.
enum Next {
    Go,
    Cancel,
    Stop,
    Lost,
}

/// How a job's work ended.
enum Ending {
    End(JobEnd),
    HandBack,
    Lost,
}

fn ending(next: Next) -> Option<Ending> {
    match next {
        Next::Go => None,
        Next::Cancel => Some(Ending::End(JobEnd::Cancelled)),
        Next::Stop => Some(Ending::HandBack),
        Next::Lost => Some(Ending::Lost),
    }
}

/// A running job: its progress, and what its heartbeat has learnt.
struct Running<'a> {
    steward: &'a Steward,
    id: i64,
    holder: &'a str,
    ctx: &'a JobContext,
    progress: Mutex<JobProgress>,
    cancel: AtomicBool,
    lost: AtomicBool,
    ended: AtomicBool,
}

impl Running<'_> {
    fn until(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.ctx.lease).unwrap_or(chrono::Duration::MAX)
    }

    /// Renews the lease with the progress so far, learning of a cancel or of the job lost.
    fn renew(&self) -> Result<()> {
        let progress = self.progress.lock().map(|p| p.clone()).unwrap_or_default();
        match self
            .steward
            .store()
            .renew_job(self.id, self.holder, self.until(), &progress)?
        {
            JobHold::Held { cancel_requested } => {
                if cancel_requested {
                    self.cancel.store(true, Ordering::SeqCst);
                }
            }
            JobHold::Lost => self.lost.store(true, Ordering::SeqCst),
        }
        Ok(())
    }

    /// Records that the job is at step `done` of `total`, doing `note`, and says whether to go on.
    fn step(&self, done: i64, total: i64, note: &str) -> Result<Next> {
        self.set_progress(done, total, note);
        self.renew()?;
        Ok(self.next())
    }

    /// Records progress without touching the database (inside the job's own transaction,
    /// where the heartbeat keeps the lease), and says whether to go on.
    fn mark(&self, done: i64, total: i64, note: &str) -> Next {
        self.set_progress(done, total, note);
        self.next()
    }

    fn set_progress(&self, done: i64, total: i64, note: &str) {
        if let Ok(mut p) = self.progress.lock() {
            *p = JobProgress {
                done,
                total,
                note: note.to_owned(),
            };
        }
    }

    fn next(&self) -> Next {
        if self.lost.load(Ordering::SeqCst) {
            Next::Lost
        } else if self.cancel.load(Ordering::SeqCst) {
            Next::Cancel
        } else if self.ctx.stopping() {
            Next::Stop
        } else {
            Next::Go
        }
    }

    /// Renews the lease every third of it until the job ends, so a long step keeps it.
    fn heartbeat(&self) {
        let every = (self.ctx.lease / 3).max(Duration::from_millis(50));
        let tick = Duration::from_millis(50).min(every);
        let mut waited = Duration::ZERO;
        while !self.ended.load(Ordering::SeqCst) {
            std::thread::sleep(tick);
            waited += tick;
            if waited >= every {
                waited = Duration::ZERO;
                if let Err(e) = self.renew() {
                    tracing::warn!(job = self.id, error = %e, "cannot renew the job's lease");
                }
            }
        }
    }
}

/// Writes a job's ending, trying again a few times over about three seconds if the database
/// refuses for a moment (a lost connection, a busy lock): a job left `running` under a holder
/// that has moved on waits out its lease before anyone else may end it.
fn settle<T, E: std::fmt::Display>(
    id: i64,
    what: &str,
    mut write: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let mut wait = Duration::from_millis(100);
    let mut tries = 1;
    loop {
        match write() {
            Ok(done) => return Ok(done),
            Err(e) if tries < SETTLE_TRIES => {
                tracing::warn!(job = id, error = %e, tries, "cannot {what} the job yet; trying again");
                std::thread::sleep(wait);
                wait *= 2;
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How many times a job's ending is tried before the lease is left to lapse.
const SETTLE_TRIES: u32 = 5;

fn to_json(result: &JobResult) -> String {
    serde_json::to_string(result).unwrap_or_else(|_| "{}".to_owned())
}

impl Steward {
    /// Queues an import of `files` (one transaction when it runs), refused now if the stamp may
    /// not import into one of their registers; checked again, with the requester's authority as
    /// it then is, when the job runs. The job's id.
    pub fn enqueue_import(&self, stamp: &Stamp, files: Vec<ImportFile>) -> Result<i64> {
        for file in &files {
            stamp.authorise(file.register, crate::Operation::Import)?;
        }
        let registers: Vec<&str> = files.iter().map(|f| f.register.name()).collect();
        let names: Vec<&str> = files.iter().map(|f| f.label.as_str()).collect();
        let arguments = serde_json::json!({ "registers": registers, "files": names }).to_string();
        let stored: Vec<JobFile> = files
            .into_iter()
            .map(|f| JobFile {
                name: f.label,
                register: f.register.name().to_owned(),
                bytes: f.bytes,
            })
            .collect();
        let (id, _) = self.store().enqueue_job(
            &NewJob {
                kind: JobKind::Import.as_str().to_owned(),
                arguments,
                requested_by: stamp.actor.clone(),
                requester_person: stamp.authority.person_id.clone(),
                dedupe: None,
                created_at: stamp.at,
                total: 2,
            },
            &stored,
        )?;
        tracing::info!(job = id, actor = %stamp.actor, "import queued");
        Ok(id)
    }

    /// Queues a sync of connector `name` (from `file`, a portal export or mapped CSV, when
    /// given), for those who run connectors. The job's id, and whether it is new (`false`: a
    /// sync of this connector already waits).
    pub fn enqueue_sync(
        &self,
        stamp: &Stamp,
        name: &str,
        file: Option<(String, Vec<u8>)>,
        apply: bool,
    ) -> Result<(i64, bool)> {
        self.enqueue_sync_of(stamp, name, file, apply, Queued::Asked)
    }

    fn enqueue_sync_of(
        &self,
        stamp: &Stamp,
        name: &str,
        file: Option<(String, Vec<u8>)>,
        apply: bool,
        queued: Queued,
    ) -> Result<(i64, bool)> {
        stamp.require(crate::authority::RUNS_CONNECTORS, "syncing a connector")?;
        if !self.store().connectors()?.iter().any(|c| c.name == name) {
            return Err(ServiceError::NoConnector(name.to_owned()));
        }
        let only = match &queued {
            Queued::Only(feeds) => Some(feeds.iter().map(|f| f.name()).collect::<Vec<_>>()),
            Queued::Asked | Queued::Scheduled => None,
        };
        let arguments = serde_json::json!({
            "connector": name,
            "apply": apply,
            "file": file.as_ref().map(|(n, _)| n.clone()),
            "feeds": only,
            "scheduled": matches!(queued, Queued::Scheduled),
        })
        .to_string();
        // One waiting sync per connector (and one of its sign-ins, one of the schedule's rounds)
        // is enough, unless it reads a file given to it.
        let dedupe = file.is_none().then(|| Dedupe {
            // An apply is its own: a person who presses Apply gets an applying sync, not the
            // plain one already waiting. A person's sync lists everything: it is not folded into
            // a scheduled round, which may read changes only.
            key: match (&queued, apply) {
                (Queued::Asked, false) => format!("sync:queued:{name}"),
                (Queued::Asked, true) => format!("sync:queued:{name}:apply"),
                (Queued::Scheduled, _) => format!("sync:queued:{name}:scheduled"),
                (Queued::Only(_), _) => format!("sync:queued:{name}:sign-ins"),
            },
            while_queued: true,
        });
        let stored: Vec<JobFile> = file
            .into_iter()
            .map(|(name, bytes)| JobFile {
                name,
                register: String::new(),
                bytes,
            })
            .collect();
        let (id, new) = self.store().enqueue_job(
            &NewJob {
                kind: JobKind::Sync.as_str().to_owned(),
                arguments,
                requested_by: stamp.actor.clone(),
                requester_person: stamp.authority.person_id.clone(),
                dedupe,
                created_at: stamp.at,
                total: 2,
            },
            &stored,
        )?;
        if new {
            tracing::info!(job = id, connector = %name, actor = %stamp.actor, "sync queued");
        }
        Ok((id, new))
    }

    /// Queues a sync of every connector its schedule says is due at `now`; how many were new.
    pub fn enqueue_scheduled_syncs(&self, now: DateTime<Utc>) -> Result<usize> {
        let stamp = Stamp::at("system:schedule", now);
        let mut queued = 0;
        for (name, only) in self.connectors_due(now)? {
            let round = match only {
                Some(feeds) => Queued::Only(feeds),
                None => Queued::Scheduled,
            };
            let (_, new) = self.enqueue_sync_of(&stamp, &name, None, false, round)?;
            queued += usize::from(new);
        }
        Ok(queued)
    }

    /// Queues a run of the active packs' checks, for those who may run them. The job's id, and
    /// whether it is new (`false`: one already waits, or the slot's run was queued already).
    pub fn enqueue_check(&self, stamp: &Stamp, why: CheckRun) -> Result<(i64, bool)> {
        stamp.require(crate::authority::IT_AND_GOVERNANCE, "running the checks")?;
        let (dedupe, why_text) = match &why {
            CheckRun::Asked => (
                Dedupe {
                    key: CHECK_ASKED.to_owned(),
                    while_queued: true,
                },
                "asked",
            ),
            CheckRun::AfterStep => (
                Dedupe {
                    key: CHECK_QUEUED.to_owned(),
                    while_queued: true,
                },
                AFTER_CHANGE,
            ),
            CheckRun::Scheduled(slot) => (
                Dedupe {
                    key: slot.clone(),
                    while_queued: false,
                },
                "scheduled",
            ),
        };
        let (id, new) = self.store().enqueue_job(
            &NewJob {
                kind: JobKind::Check.as_str().to_owned(),
                arguments: serde_json::json!({ "why": why_text }).to_string(),
                requested_by: stamp.actor.clone(),
                requester_person: stamp.authority.person_id.clone(),
                dedupe: Some(dedupe),
                created_at: stamp.at,
                total: 3,
            },
            &[],
        )?;
        Ok((id, new))
    }

    /// Queues a round of webhook deliveries (one waiting is enough); whether a new one was.
    pub(crate) fn enqueue_delivery(&self) -> Result<bool> {
        let (_, new) = self.store().enqueue_job(
            &NewJob {
                kind: JobKind::Deliver.as_str().to_owned(),
                arguments: "{}".into(),
                requested_by: "system:webhooks".into(),
                requester_person: None,
                dedupe: Some(Dedupe {
                    key: "deliver:queued".into(),
                    while_queued: true,
                }),
                created_at: Utc::now(),
                total: 1,
            },
            &[],
        )?;
        Ok(new)
    }

    /// Queues a round of webhook deliveries if any message is due at `now`.
    pub fn enqueue_due_deliveries(&self, now: DateTime<Utc>) -> Result<bool> {
        if self.store().due_deliveries(now, 1)?.is_empty() {
            return Ok(false);
        }
        self.enqueue_delivery()
    }

    /// Queues the scheduled check runs due at `now`: the slot of `every` it falls in, and — if
    /// the organisation's local day has begun since — the day's. Whichever server queues a slot
    /// first runs it. The key queued, if one was new.
    pub fn enqueue_scheduled_check(
        &self,
        now: DateTime<Utc>,
        every: Duration,
        seen: &mut ScheduleSeen,
    ) -> Result<Option<String>> {
        let secs = i64::try_from(every.as_secs()).unwrap_or(i64::MAX).max(1);
        let start = now.timestamp().div_euclid(secs) * secs;
        let slot = format!("check:every:{secs}s:{start}");
        let day = format!("check:day:{}", self.local_date(now)?);
        let key = if seen.day.as_deref() != Some(day.as_str()) {
            day.clone()
        } else if seen.slot.as_deref() != Some(slot.as_str()) {
            slot.clone()
        } else {
            return Ok(None);
        };
        let stamp = Stamp::at("system:schedule", now);
        let (id, new) = self.enqueue_check(&stamp, CheckRun::Scheduled(key.clone()))?;
        seen.day = Some(day);
        seen.slot = Some(slot);
        if new {
            tracing::info!(job = id, slot = %key, "scheduled check queued");
            Ok(Some(key))
        } else {
            Ok(None)
        }
    }

    /// Queues the scheduled backup due at `now`: the slot of `every` it falls in, once, whichever
    /// server queues it first. The key queued, if it was new.
    pub fn enqueue_scheduled_backup(
        &self,
        now: DateTime<Utc>,
        every: Duration,
    ) -> Result<Option<String>> {
        let secs = i64::try_from(every.as_secs()).unwrap_or(i64::MAX).max(1);
        let start = now.timestamp().div_euclid(secs) * secs;
        let key = format!("backup:every:{secs}s:{start}");
        let at = DateTime::<Utc>::from_timestamp(start, 0).unwrap_or(now);
        let (id, new) = self.store().enqueue_job(
            &NewJob {
                kind: JobKind::Backup.as_str().to_owned(),
                arguments: serde_json::json!({ "slot": at.to_rfc3339() }).to_string(),
                requested_by: "system:schedule".into(),
                requester_person: None,
                dedupe: Some(Dedupe {
                    key: key.clone(),
                    while_queued: false,
                }),
                created_at: now,
                total: 1,
            },
            &[],
        )?;
        if new {
            tracing::info!(job = id, slot = %key, "scheduled backup queued");
            Ok(Some(key))
        } else {
            Ok(None)
        }
    }

    /// Recent jobs the stamp may see, newest first: every job for the IT team and
    /// administrators, one's own for anyone else.
    pub fn jobs(&self, stamp: &Stamp, limit: u64) -> Result<Vec<JobView>> {
        let requested_by = if sees_every_job(&stamp.authority) {
            None
        } else {
            Some(stamp.actor.clone())
        };
        Ok(self
            .store()
            .jobs(&JobQuery {
                requested_by,
                limit,
            })?
            .into_iter()
            .map(JobView::of)
            .collect())
    }

    /// One job, if the stamp may see it ([`ServiceError::NoJob`] otherwise, as for no job).
    pub fn job(&self, stamp: &Stamp, id: i64) -> Result<JobView> {
        match self.store().job(id)? {
            Some(job) if sees_every_job(&stamp.authority) || job.requested_by == stamp.actor => {
                Ok(JobView::of(job))
            }
            _ => Err(ServiceError::NoJob(id)),
        }
    }

    /// Cancels a queued job or asks a running one to stop, for whoever asked for it or an
    /// administrator.
    pub fn cancel_job(&self, stamp: &Stamp, id: i64) -> Result<JobView> {
        let job = self.store().job(id)?.ok_or(ServiceError::NoJob(id))?;
        if job.requested_by != stamp.actor {
            stamp.require(&[Capacity::Administrator], "cancelling another's job")?;
        }
        let job = self
            .store()
            .cancel_job(id, stamp.at)?
            .ok_or(ServiceError::NoJob(id))?;
        tracing::info!(job = id, actor = %stamp.actor, state = %job.state, "job cancel asked");
        Ok(JobView::of(job))
    }

    /// Claims one job for `holder` and runs it to its end (or until the server stops, when it
    /// is handed back). `None` when there was nothing to do.
    pub fn run_one(&self, holder: &str, ctx: &JobContext) -> Result<Option<JobOutcome>> {
        if ctx.stopping() {
            return Ok(None);
        }
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(ctx.lease).unwrap_or(chrono::Duration::MAX);
        let Some(job) = self.store().claim_job(holder, now, until)? else {
            return Ok(None);
        };
        tracing::info!(job = job.id, kind = %job.kind, attempt = job.attempts, "job started");
        let running = Running {
            steward: self,
            id: job.id,
            holder,
            ctx,
            progress: Mutex::new(job.progress.clone()),
            cancel: AtomicBool::new(job.cancel_requested),
            lost: AtomicBool::new(false),
            ended: AtomicBool::new(false),
        };
        let worked = std::thread::scope(|scope| {
            scope.spawn(|| running.heartbeat());
            let worked = match JobKind::parse(&job.kind) {
                Some(JobKind::Check) => self.run_check(&running, &job),
                Some(JobKind::Import) => self.run_import(&running, &job),
                Some(JobKind::Backup) => Ok(run_backup(&running, &job)),
                Some(JobKind::Sync) => self.run_sync(&running, &job),
                Some(JobKind::Preview) => self.run_preview(&running, &job),
                Some(JobKind::Deliver) => Ok(Ending::End(
                    match self.deliver_due(Utc::now(), ctx.webhooks_allow_private) {
                        Ok(delivered) => JobEnd::Done {
                            result: to_json(&JobResult::Deliver { delivered }),
                        },
                        Err(e) => JobEnd::Failed {
                            error: e.to_string(),
                            result: None,
                        },
                    },
                )),
                None => Ok(Ending::End(JobEnd::Failed {
                    error: format!("this server does not run {:?} jobs", job.kind),
                    result: None,
                })),
            };
            running.ended.store(true, Ordering::SeqCst);
            worked
        });
        let ending = worked.unwrap_or_else(|e| {
            Ending::End(JobEnd::Failed {
                error: e.to_string(),
                result: None,
            })
        });
        let state = match ending {
            Ending::End(end) => {
                let state = match &end {
                    JobEnd::Done { .. } => JobState::Done,
                    JobEnd::Failed { .. } => JobState::Failed,
                    JobEnd::Cancelled => JobState::Cancelled,
                };
                if state == JobState::Done
                    && let Ok(mut p) = running.progress.lock()
                {
                    p.done = p.total.max(1);
                    p.total = p.done;
                }
                // The last progress, so the list shows how far the job came.
                if let Err(e) = running.renew() {
                    tracing::warn!(job = job.id, error = %e, "cannot record the job's last progress");
                }
                let finished_at = Utc::now();
                if settle(job.id, "end", || {
                    self.store().finish_job(job.id, holder, finished_at, &end)
                })? {
                    if let JobEnd::Failed { error, .. } = &end {
                        tracing::warn!(job = job.id, kind = %job.kind, %error, "job failed");
                    } else {
                        tracing::info!(job = job.id, kind = %job.kind, %state, "job ended");
                    }
                    state
                } else {
                    tracing::warn!(job = job.id, "job ended after another server took it");
                    JobState::Running
                }
            }
            Ending::HandBack => {
                settle(job.id, "hand back", || {
                    self.store().hand_back_job(job.id, holder)
                })?;
                tracing::info!(job = job.id, "job handed back: the server is stopping");
                JobState::Queued
            }
            Ending::Lost => {
                tracing::warn!(job = job.id, "job lost: another server took it over");
                JobState::Running
            }
        };
        Ok(Some(JobOutcome {
            id: job.id,
            kind: job.kind,
            state,
        }))
    }

    fn run_check(&self, run: &Running<'_>, job: &Job) -> Result<Ending> {
        let running = run.ctx.running(self)?;
        let packs: Vec<&Pack> = running.iter().collect();
        let ids: Vec<String> = packs.iter().map(|p| p.id.clone()).collect();
        if packs.is_empty() {
            return Ok(Ending::End(JobEnd::Done {
                result: to_json(&JobResult::Check {
                    packs: ids,
                    findings: 0,
                    opened: 0,
                    reopened: 0,
                    updated: 0,
                    resolved: 0,
                    unchanged: 0,
                    note: "no policy packs are active on the server that ran it".into(),
                }),
            }));
        }
        if let Some(end) = ending(run.step(0, 1, "loading the estate")?) {
            return Ok(end);
        }
        // Evaluated and recorded one control at a time; findings are resolved only once every
        // check has been evaluated, and a cancel or shutdown between controls writes nothing.
        let at = Utc::now();
        let stamp = Stamp::at("system:checks", at);
        let mut stopped = Next::Go;
        let mut keep_going = |done: usize, total: usize| {
            stopped = run.mark(
                i64::try_from(done).unwrap_or(i64::MAX),
                i64::try_from(total).unwrap_or(i64::MAX),
                &format!("evaluating and recording control {} of {total}", done + 1),
            );
            matches!(stopped, Next::Go)
        };
        // A run a step queued looks at what changed since the last run; any other, at everything.
        let after_change = serde_json::from_str::<serde_json::Value>(&job.arguments)
            .ok()
            .and_then(|a| a.get("why")?.as_str().map(|w| w == AFTER_CHANGE))
            .unwrap_or(false);
        let recorded = self.record_run(
            &stamp,
            &packs,
            &run.ctx.overrides,
            &mut keep_going,
            &mut |_| {},
            after_change,
        );
        let (summary, count, note) = match recorded {
            Ok(Some(run)) if !run.whole => (
                run.summary,
                run.findings,
                format!(
                    "{} of the {} checks, those that read what changed since the last run{}",
                    run.checks,
                    run.of,
                    match run.subjects {
                        Some(0) => ", over no record they check".to_owned(),
                        Some(1) => ", over the one record the change reaches".to_owned(),
                        Some(n) => format!(", over the {n} records the changes reach"),
                        None => String::new(),
                    }
                ),
            ),
            Ok(Some(run)) => (run.summary, run.findings, String::new()),
            Ok(None) => {
                return Ok(ending(stopped).unwrap_or(Ending::HandBack));
            }
            Err(ServiceError::Store(StoreError::StaleRun { latest, .. })) => (
                Default::default(),
                0,
                format!("a later run (at {latest}) had been recorded already; this one was not"),
            ),
            Err(e) => return Err(e),
        };
        if let Ok(mut p) = run.progress.lock() {
            *p = JobProgress {
                done: p.total.max(1),
                total: p.total.max(1),
                note: "recorded".into(),
            };
        }
        Ok(Ending::End(JobEnd::Done {
            result: to_json(&JobResult::Check {
                packs: ids,
                findings: count,
                opened: summary.opened,
                reopened: summary.reopened,
                updated: summary.updated,
                resolved: summary.resolved,
                unchanged: summary.unchanged,
                note,
            }),
        }))
    }

    fn run_sync(&self, run: &Running<'_>, job: &Job) -> Result<Ending> {
        let arguments: serde_json::Value =
            serde_json::from_str(&job.arguments).unwrap_or(serde_json::Value::Null);
        let Some(name) = arguments.get("connector").and_then(|v| v.as_str()) else {
            return Ok(Ending::End(JobEnd::Failed {
                error: "the job names no connector".into(),
                result: None,
            }));
        };
        let apply = arguments.get("apply").and_then(|v| v.as_bool()) == Some(true);
        let only: Option<Vec<steward_connect::Feed>> = arguments
            .get("feeds")
            .and_then(|f| f.as_array())
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str())
                    .filter_map(|n| {
                        steward_connect::Feed::ALL
                            .into_iter()
                            .find(|f| f.name() == n)
                    })
                    .collect()
            });
        let stamp = match self.stamp_of_requester(job) {
            Ok(stamp) => stamp,
            Err(e @ (ServiceError::Refused(_) | ServiceError::SignIn(_))) => {
                return Ok(Ending::End(JobEnd::Failed {
                    error: e.to_string(),
                    result: None,
                }));
            }
            Err(e) => return Err(e),
        };
        let file = if arguments.get("file").is_some_and(|f| !f.is_null()) {
            match self.store().job_files(job.id)?.into_iter().next() {
                Some(f) => Some((f.name, f.bytes)),
                None => {
                    return Ok(Ending::End(JobEnd::Failed {
                        error: "the job's file is gone".into(),
                        result: None,
                    }));
                }
            }
        } else {
            None
        };
        if let Some(end) = ending(run.step(0, 2, "reading the source")?) {
            return Ok(end);
        }
        let scheduled = arguments.get("scheduled").and_then(|v| v.as_bool()) == Some(true);
        let round = match (&only, scheduled) {
            (Some(feeds), _) => crate::Round::Only(feeds),
            (None, true) => crate::Round::Scheduled,
            (None, false) => crate::Round::Full,
        };
        let outcome = match self.sync_feeds(
            &stamp,
            name,
            file.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
            apply,
            round,
        ) {
            Ok(outcome) => outcome,
            Err(e @ (ServiceError::Connector { .. } | ServiceError::NoConnector(_))) => {
                self.tell_webhooks(
                    "sync.failed",
                    serde_json::json!({ "job": job.id, "connector": name, "error": e.to_string() }),
                    Utc::now(),
                );
                return Ok(Ending::End(JobEnd::Failed {
                    error: e.to_string(),
                    result: None,
                }));
            }
            Err(e) => return Err(e),
        };
        let plan = outcome.plan();
        let c = plan.counts;
        let changed = c.created + c.updated + c.missing + c.back + c.sightings > 0;
        if matches!(outcome, crate::SyncOutcome::Applied(_))
            && changed
            && !run.ctx.running(self)?.is_empty()
        {
            // As after any step: the findings the sync settles (or raises) follow at once, the
            // run evaluating only the checks that read what it changed.
            self.enqueue_check(&Stamp::now("system:checks"), CheckRun::AfterStep)?;
        }
        self.tell_webhooks(
            "sync.finished",
            serde_json::json!({
                "job": job.id,
                "connector": name,
                "applied": matches!(outcome, crate::SyncOutcome::Applied(_)),
                "listed": c.listed,
                "created": c.created,
                "updated": c.updated,
                "missing": c.missing,
            }),
            Utc::now(),
        );
        Ok(Ending::End(JobEnd::Done {
            result: to_json(&JobResult::Sync {
                connector: name.to_owned(),
                applied: matches!(outcome, crate::SyncOutcome::Applied(_)),
                listed: c.listed,
                created: c.created,
                updated: c.updated,
                missing: c.missing,
                back: c.back,
                sightings: c.sightings,
                unmatched: plan.unmatched.len(),
                hold: plan.hold.clone(),
                skipped: plan
                    .skipped
                    .iter()
                    .map(|(f, r)| format!("{f}: {r}"))
                    .collect(),
            }),
        }))
    }

    fn run_import(&self, run: &Running<'_>, job: &Job) -> Result<Ending> {
        if let Some(end) = ending(run.step(0, 2, "reading the files")?) {
            return Ok(end);
        }
        let stored = self.store().job_files(job.id)?;
        if stored.is_empty() {
            return Ok(Ending::End(JobEnd::Failed {
                error: "the job's files are gone".into(),
                result: None,
            }));
        }
        let mut files = Vec::with_capacity(stored.len());
        for f in stored {
            let Some(register) = Register::ALL.into_iter().find(|r| r.name() == f.register) else {
                return Ok(Ending::End(JobEnd::Failed {
                    error: format!("{}: no register {:?}", f.name, f.register),
                    result: None,
                }));
            };
            files.push(ImportFile {
                register,
                label: f.name,
                bytes: f.bytes,
            });
        }
        let registers: Vec<String> = files.iter().map(|f| f.register.name().to_owned()).collect();
        let stamp = match self.stamp_of_requester(job) {
            Ok(stamp) => stamp,
            Err(e @ (ServiceError::Refused(_) | ServiceError::SignIn(_))) => {
                return Ok(Ending::End(JobEnd::Failed {
                    error: e.to_string(),
                    result: None,
                }));
            }
            Err(e) => return Err(e),
        };
        if let Some(end) = ending(run.step(1, 2, "importing: all or nothing")?) {
            return Ok(end);
        }
        let failed = |error: String, problems: Vec<ImportProblem>| {
            Ok(Ending::End(JobEnd::Failed {
                error,
                result: Some(to_json(&JobResult::Import {
                    files: Vec::new(),
                    registers: registers.clone(),
                    created: 0,
                    updated: 0,
                    unchanged: 0,
                    created_budget_centres: Vec::new(),
                    problems,
                })),
            }))
        };
        match self.import(&stamp, files) {
            Ok(report) => {
                if let Ok(mut p) = run.progress.lock() {
                    *p = JobProgress {
                        done: 2,
                        total: 2,
                        note: "imported".into(),
                    };
                }
                if !run.ctx.running(self)?.is_empty() {
                    // As after any step: the findings the import settles clear.
                    self.enqueue_check(&Stamp::now("system:checks"), CheckRun::AfterStep)?;
                }
                self.tell_webhooks(
                    "import.finished",
                    serde_json::json!({
                        "job": job.id,
                        "registers": registers,
                        "created": report.summary.created,
                        "updated": report.summary.updated,
                        "unchanged": report.summary.unchanged,
                    }),
                    Utc::now(),
                );
                Ok(Ending::End(JobEnd::Done {
                    result: to_json(&JobResult::Import {
                        files: report.files,
                        registers,
                        created: report.summary.created,
                        updated: report.summary.updated,
                        unchanged: report.summary.unchanged,
                        created_budget_centres: report.created_budget_centres,
                        problems: Vec::new(),
                    }),
                }))
            }
            Err(ServiceError::Import(errors)) => {
                self.tell_webhooks(
                    "import.failed",
                    serde_json::json!({ "job": job.id, "registers": registers, "problems": errors.len() }),
                    Utc::now(),
                );
                failed(
                    format!(
                        "{} problem(s) in the import; nothing was changed",
                        errors.len()
                    ),
                    errors,
                )
            }
            Err(
                e @ (ServiceError::Invalid { .. }
                | ServiceError::NotFound { .. }
                | ServiceError::AlreadyExists { .. }
                | ServiceError::Refused(_)),
            ) => failed(format!("{e}; nothing was changed"), Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The stamp a job acts with: a person signed in on the web acts with their authority as it
    /// is now (refused if their account is gone, disabled or now someone else's); the command
    /// line and the server's own work as administrator, as they do in person.
    /// Counts what a mapping would find, as its requester may (the pack may have changed
    /// since it was queued: the mapping is made again over the pack as it now is).
    fn run_preview(&self, run: &Running<'_>, job: &Job) -> Result<Ending> {
        let failed = |error: String| {
            Ok(Ending::End(JobEnd::Failed {
                error,
                result: None,
            }))
        };
        let preview: crate::MappingPreview = match serde_json::from_str(&job.arguments) {
            Ok(preview) => preview,
            Err(e) => return failed(format!("the preview's arguments: {e}")),
        };
        if let Some(end) = ending(run.step(0, 2, "reading today's estate")?) {
            return Ok(end);
        }
        let stamp = match self.stamp_of_requester(job) {
            Ok(stamp) => stamp,
            Err(e @ (ServiceError::Refused(_) | ServiceError::SignIn(_))) => {
                return failed(e.to_string());
            }
            Err(e) => return Err(e),
        };
        match self.map_clause(
            &stamp,
            &preview.pack,
            &preview.clause,
            &preview.control,
            &preview.choices,
            false,
        ) {
            Ok(mapped) => Ok(Ending::End(JobEnd::Done {
                result: to_json(&JobResult::Preview {
                    control: mapped.control,
                    findings: mapped.findings,
                }),
            })),
            Err(e @ (ServiceError::PolicyImport(_) | ServiceError::Refused(_))) => {
                failed(e.to_string())
            }
            Err(e) => Err(e),
        }
    }

    fn stamp_of_requester(&self, job: &Job) -> Result<Stamp> {
        let now = Utc::now();
        // Queued through the API: the token's holder as they are now, while the token lives.
        if let Some(id) = job.requested_by.strip_prefix("token:") {
            return self.token_stamp(id, now)?.ok_or_else(|| {
                ServiceError::Refused(crate::Refusal::Step(format!(
                    "{} may no longer do this: the token is revoked or expired, or whom it acts for may no longer sign in",
                    job.requested_by
                )))
            });
        }
        let Some(email) = job.requested_by.strip_prefix("web:") else {
            return Ok(Stamp::at(job.requested_by.clone(), now));
        };
        let refused = |why: &str| {
            ServiceError::Refused(crate::Refusal::Step(format!(
                "{} may no longer do this: {why}",
                job.requested_by
            )))
        };
        let account = self
            .store()
            .sign_in(email)?
            .ok_or_else(|| refused("the account is gone"))?;
        if account.disabled {
            return Err(refused("the account is disabled"));
        }
        let viewer = self.viewer(email)?;
        if viewer.person_id != job.requester_person {
            return Err(refused("the account is now another person's"));
        }
        Ok(Stamp {
            actor: job.requested_by.clone(),
            at: now,
            authority: Authority::of(
                viewer.capacities.iter().copied(),
                viewer.person_id.as_deref(),
            ),
        })
    }
}

/// The IT team and administrators see every job; everyone else their own.
fn sees_every_job(authority: &Authority) -> bool {
    authority.is(Capacity::Administrator) || authority.is(Capacity::It)
}

/// Which scheduled slots a worker has queued (or seen queued).
#[derive(Debug, Clone, Default)]
pub struct ScheduleSeen {
    day: Option<String>,
    slot: Option<String>,
}

/// How a server runs jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Threads running jobs (0: this server runs none).
    pub workers: usize,
    /// How long a claim lasts unrenewed: how soon another server takes over a dead one's job.
    pub lease: Duration,
    /// How often an idle worker looks for work (it is woken at once by this server's own).
    pub poll: Duration,
    /// Every check re-run this often, and at the start of each local day.
    pub check_interval: Option<Duration>,
    /// Scheduled backups, when the server takes them.
    pub backups: Option<BackupSchedule>,
    /// Webhooks may be sent to this machine and private networks.
    pub webhooks_allow_private: bool,
}

/// What the first worker of a server queues on schedule.
struct Schedule {
    checks: Option<Duration>,
    backups: Option<Duration>,
}

impl Default for WorkerSettings {
    fn default() -> WorkerSettings {
        WorkerSettings {
            workers: 1,
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            check_interval: None,
            backups: None,
            webhooks_allow_private: false,
        }
    }
}

/// Wakes a server's workers when it queues a job.
#[derive(Debug, Clone, Default)]
pub struct JobWaker(Arc<(Mutex<u64>, Condvar)>);

impl JobWaker {
    pub fn wake(&self) {
        if let Ok(mut n) = self.0.0.lock() {
            *n = n.wrapping_add(1);
        }
        self.0.1.notify_all();
    }

    fn wait(&self, seen: &mut u64, timeout: Duration) {
        let Ok(guard) = self.0.0.lock() else {
            std::thread::sleep(timeout);
            return;
        };
        if *guard == *seen {
            let _ = self.0.1.wait_timeout(guard, timeout).map(|(g, _)| {
                *seen = *g;
            });
        } else {
            *seen = *guard;
        }
    }
}

/// Runs a scheduled backup through the server's hook, for the slot in its arguments.
fn run_backup(run: &Running<'_>, job: &Job) -> Ending {
    let Some(hook) = &run.ctx.backup else {
        return Ending::End(JobEnd::Failed {
            error: "the server that ran it takes no backups (no backup_dir)".into(),
            result: None,
        });
    };
    let slot = serde_json::from_str::<serde_json::Value>(&job.arguments)
        .ok()
        .and_then(|v| v.get("slot")?.as_str().map(str::to_owned))
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map_or(job.created_at, |t| t.with_timezone(&Utc));
    if let Some(end) = ending(run.mark(0, 1, "writing and verifying the backup")) {
        return end;
    }
    match (hook.0)(slot) {
        Ok(written) => Ending::End(JobEnd::Done {
            result: to_json(&JobResult::Backup { written }),
        }),
        Err(error) => Ending::End(JobEnd::Failed {
            error,
            result: None,
        }),
    }
}

/// A server's job threads: they claim and run jobs until stopped, and the first queues the
/// scheduled check runs and backups.
pub struct Worker {
    ctx: JobContext,
    waker: JobWaker,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts `settings.workers` threads over `steward`. `name` tells this server's threads
    /// from others' in the jobs' `holder`.
    pub fn start(
        steward: Arc<Steward>,
        packs: Vec<Pack>,
        available: Vec<Pack>,
        overrides: Overrides,
        settings: &WorkerSettings,
        name: &str,
    ) -> std::io::Result<Worker> {
        let mut ctx = JobContext::new(packs, overrides, settings.lease);
        ctx.available = available;
        ctx.backup = settings.backups.as_ref().map(|b| b.take.clone());
        ctx.webhooks_allow_private = settings.webhooks_allow_private;
        let waker = JobWaker::default();
        let mut threads = Vec::new();
        for n in 0..settings.workers {
            let holder = format!("{name}/{n}");
            let (steward, ctx, waker) = (steward.clone(), ctx.clone(), waker.clone());
            let schedule = (n == 0).then(|| Schedule {
                checks: settings.check_interval,
                backups: settings.backups.as_ref().map(|b| b.every),
            });
            let poll = settings.poll;
            threads.push(
                std::thread::Builder::new()
                    .name(format!("jobs-{n}"))
                    .spawn(move || work(&steward, &holder, &ctx, &waker, poll, schedule))?,
            );
        }
        Ok(Worker {
            ctx,
            waker,
            threads,
        })
    }

    pub fn waker(&self) -> JobWaker {
        self.waker.clone()
    }

    /// Stops claiming; a running job is handed back at its next step (or ends, if that comes
    /// first). Returns once every thread has.
    pub fn stop(self) {
        self.ctx.stop.store(true, Ordering::SeqCst);
        self.waker.wake();
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

fn work(
    steward: &Steward,
    holder: &str,
    ctx: &JobContext,
    waker: &JobWaker,
    poll: Duration,
    schedule: Option<Schedule>,
) {
    yield_to_requests();
    let mut seen = 0;
    let mut slots = ScheduleSeen::default();
    // Connectors' schedules are looked at twice a minute, not at every poll.
    let mut syncs_looked_at: Option<std::time::Instant> = None;
    while !ctx.stopping() {
        if schedule.is_some()
            && syncs_looked_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(30))
        {
            syncs_looked_at = Some(std::time::Instant::now());
            match steward.enqueue_scheduled_syncs(Utc::now()) {
                Ok(0) => {}
                Ok(_) => waker.wake(),
                Err(e) => tracing::warn!(error = %e, "cannot queue the scheduled syncs"),
            }
        }
        if let Some(every) = schedule.as_ref().and_then(|s| s.checks) {
            match steward.enqueue_scheduled_check(Utc::now(), every, &mut slots) {
                Ok(Some(_)) => waker.wake(),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot queue the scheduled check"),
            }
        }
        // Webhook messages waiting for their next attempt: one job sends what is due.
        if schedule.is_some() {
            match steward.enqueue_due_deliveries(Utc::now()) {
                Ok(true) => waker.wake(),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot queue the webhooks' deliveries"),
            }
        }
        if let Some(every) = schedule.as_ref().and_then(|s| s.backups) {
            match steward.enqueue_scheduled_backup(Utc::now(), every) {
                Ok(Some(_)) => waker.wake(),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot queue the scheduled backup"),
            }
        }
        match steward.run_one(holder, ctx) {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot run jobs"),
        }
        if !ctx.stopping() {
            waker.wait(&mut seen, poll);
        }
    }
}

/// Runs this job thread below the server's request threads in the operating system's eyes
/// (nice 10), so that an import or a check run using every core still leaves a request, and a
/// health check, its turn. Where it cannot (another system, or a limit), the job runs as it is.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    if let Err(e) =
        rustix::process::setpriority_process(Some(rustix::thread::gettid()), JOB_NICENESS)
    {
        tracing::debug!(error = %e, "job thread keeps its priority");
    }
}

/// How far below the request threads job threads run (nice values run from -20 to 19).
#[cfg(target_os = "linux")]
const JOB_NICENESS: i32 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    /// An import's result as jobs stored it before its problems were the importer's own errors:
    /// still read, and written the same way now.
    #[test]
    fn an_import_result_stored_earlier_still_reads() {
        let stored = r#"{"kind":"import","files":[],"registers":["people"],"created":0,"updated":0,"unchanged":0,"created_budget_centres":[],"problems":[{"file":"people.csv","line":3,"column":"status","value":"retired","reason":"expected one of starter|active|absent|leaver"}]}"#;
        let result: JobResult = serde_json::from_str(stored).unwrap_or_else(|e| panic!("{e}"));
        let JobResult::Import { problems, .. } = &result else {
            panic!("not an import: {result:?}");
        };
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["people.csv:3: status: retired: expected one of starter|active|absent|leaver"]
        );
        assert_eq!(to_json(&result), stored);
    }
}
