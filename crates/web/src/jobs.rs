//! Jobs: the list of recent ones and one job's page — its state, a progress bar, how long it
//! took, its error and what it produced (an import's counts or the problems in its files, grouped
//! by kind, with every one as CSV; a check run's findings) — refreshing itself while the job
//! runs. Who sees which job, and who may cancel one, the service decides.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use steward_interchange::{CsvError, ERROR_COLUMNS, ErrorGroup, group_errors};
use steward_service::{JobResult, JobState, JobView, Stamp};

use crate::pages::{Chrome, csv, page};
use crate::session::Form;
use crate::{AppState, Signed, WebError, blocking};

/// How many jobs the list shows.
const LISTED: u64 = 100;

/// How often a running job's page reloads itself, in seconds.
const REFRESH: u32 = 2;

/// How many lines of each kind of problem a job's page shows; the CSV has every one.
const EXAMPLES: usize = 5;

/// How many kinds of problem a job's page lists, so that a file with a different mistake on
/// every line cannot make a page of megabytes either.
const GROUPS_SHOWN: usize = 50;

pub(crate) struct JobRow {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub progress: String,
    pub requested_by: String,
    pub started: String,
    pub duration: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    chrome: Chrome,
    rows: Vec<JobRow>,
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    chrome: Chrome,
    id: i64,
    kind: String,
    state: String,
    running: bool,
    refresh: u32,
    done: i64,
    total: i64,
    note: String,
    requested_by: String,
    created: String,
    started: String,
    finished: String,
    duration: String,
    attempts: i64,
    error: Option<String>,
    /// What it produced, in sentences.
    outcome: Vec<String>,
    /// An import's problems, grouped by file, column and reason.
    problems: Problems,
    /// Where to see the result.
    link: Option<(String, String)>,
    can_cancel: bool,
    cancel_requested: bool,
}

/// An import's problems as its job's page shows them: a few lines of each kind, every one in
/// the CSV.
#[derive(Default)]
struct Problems {
    /// Every problem.
    count: usize,
    /// Kinds of problem, in the order the first of each appears.
    kinds: usize,
    shown: Vec<ErrorGroup>,
    /// Kinds not shown, and the problems they hold.
    hidden_kinds: usize,
    hidden: usize,
    examples: usize,
}

impl Problems {
    fn of(problems: &[CsvError]) -> Problems {
        let mut shown = group_errors(problems, EXAMPLES);
        let kinds = shown.len();
        let rest = shown.split_off(kinds.min(GROUPS_SHOWN));
        Problems {
            count: problems.len(),
            kinds,
            shown,
            hidden_kinds: rest.len(),
            hidden: rest.iter().map(|g| g.count).sum(),
            examples: EXAMPLES,
        }
    }
}

fn when(t: Option<DateTime<Utc>>, zone: chrono_tz::Tz) -> String {
    t.as_ref()
        .map(|t| crate::processes::local_text(t, zone))
        .unwrap_or_default()
}

/// How long a job ran (or has run so far): `4 s`, `2 min 5 s`, `1 h 3 min`.
fn duration(view: &JobView) -> String {
    let Some(start) = view.job.started_at else {
        return String::new();
    };
    let end = view.job.finished_at.unwrap_or_else(Utc::now);
    let secs = (end - start).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn progress_text(view: &JobView) -> String {
    let p = &view.job.progress;
    match (view.job.state, p.total) {
        (JobState::Done, _) => "complete".into(),
        (_, 0) => p.note.clone(),
        _ if p.note.is_empty() => format!("{} of {}", p.done, p.total),
        _ => format!("{} of {}: {}", p.done, p.total, p.note),
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let stamp = Stamp::of(&signed.viewer);
    let views = blocking(&state, move |s| s.jobs(&stamp, LISTED)).await?;
    let rows = views
        .iter()
        .map(|v| JobRow {
            id: v.job.id,
            kind: v.job.kind.clone(),
            state: v.job.state.to_string(),
            progress: progress_text(v),
            requested_by: v.job.requested_by.clone(),
            started: when(v.job.started_at, signed.zone),
            duration: duration(v),
            error: v.job.error.clone().unwrap_or_default(),
        })
        .collect();
    page(&JobsPage {
        chrome: Chrome::signed(&state, &signed, "/jobs"),
        rows,
    })
}

fn job_id(text: &str) -> Result<i64, WebError> {
    text.parse().map_err(|_| WebError::NotFound)
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = job_id(&id)?;
    let stamp = Stamp::of(&signed.viewer);
    let view = blocking(&state, move |s| s.job(&stamp, id)).await?;
    let job = &view.job;
    let mut outcome = Vec::new();
    let mut problems = Problems::default();
    let mut link = None;
    match &view.result {
        Some(JobResult::Import {
            files,
            registers,
            created,
            updated,
            unchanged,
            created_budget_centres,
            problems: found,
        }) => {
            for (file, rows) in files {
                outcome.push(format!("{file}: {rows} rows."));
            }
            if job.state == JobState::Done {
                outcome.push(format!(
                    "Imported into {}: {created} created, {updated} updated, {unchanged} unchanged.",
                    registers.join(", ")
                ));
                if let Some(first) = registers.first() {
                    link = Some((
                        format!("/registers/{first}"),
                        format!("See the {first} register"),
                    ));
                }
            }
            if !created_budget_centres.is_empty() {
                outcome.push(format!(
                    "Budget centres created with their code as name: {}.",
                    created_budget_centres.join(", ")
                ));
            }
            problems = Problems::of(found);
        }
        Some(JobResult::Check {
            packs,
            findings,
            opened,
            reopened,
            updated,
            resolved,
            unchanged,
            note,
        }) => {
            if !note.is_empty() {
                outcome.push(format!("{note}."));
            }
            if !packs.is_empty() {
                outcome.push(format!(
                    "{findings} findings from {}: {opened} opened, {reopened} reopened, {updated} updated, {resolved} resolved, {unchanged} unchanged.",
                    packs.join(", ")
                ));
                link = Some(("/findings".into(), "See the findings".into()));
            }
        }
        Some(JobResult::Backup { written }) => {
            outcome.push(format!("Backup written: {written}."));
        }
        Some(JobResult::Sync {
            connector,
            applied,
            listed,
            created,
            updated,
            missing,
            back,
            sightings,
            unmatched,
            hold,
            skipped,
        }) => {
            if *applied {
                outcome.push(format!(
                    "Synced {connector}: {listed} listed, {created} created, {updated} updated, {missing} missing from the source, {back} back, {sightings} new sightings, {unmatched} to resolve."
                ));
            } else {
                outcome.push(format!(
                    "{connector} was read but not applied: {}. Read the preview on the connector's page and apply it there.",
                    hold.join("; ")
                ));
            }
            for s in skipped {
                outcome.push(format!("Skipped {s}."));
            }
            link = Some((
                format!("/connectors/{connector}"),
                format!("See the connector {connector}"),
            ));
        }
        Some(JobResult::Deliver { delivered }) => {
            outcome.push(format!("{delivered} webhook messages delivered."));
        }
        Some(JobResult::Preview { control, findings }) => {
            outcome.push(format!(
                "{control} would raise {findings} finding{} on today's estate.",
                if *findings == 1 { "" } else { "s" }
            ));
            if let Ok(preview) =
                serde_json::from_str::<steward_service::MappingPreview>(&job.arguments)
            {
                link = Some((
                    crate::policy_map::preview_path(&preview, job.id),
                    "Back to the mapping".into(),
                ));
            }
        }
        None => {}
    }
    if job.state == JobState::Failed && view.kind == Some(steward_service::JobKind::Import) {
        // Back to the form with the register chosen, beside what its columns take.
        let register = match &view.result {
            Some(JobResult::Import { registers, .. }) if registers.len() == 1 => {
                registers.first().map(|r| format!("?register={r}"))
            }
            _ => None,
        };
        link = Some((
            format!("/import{}", register.unwrap_or_default()),
            "Import again".into(),
        ));
    }
    let running = !job.state.is_finished();
    let mine = job.requested_by == Stamp::of(&signed.viewer).actor;
    page(&JobPage {
        chrome: Chrome::signed(&state, &signed, "/jobs"),
        id: job.id,
        kind: job.kind.clone(),
        state: job.state.to_string(),
        running,
        refresh: REFRESH,
        done: if job.state == JobState::Done {
            job.progress.total.max(1)
        } else {
            job.progress.done
        },
        total: job.progress.total.max(1),
        note: progress_text(&view),
        requested_by: job.requested_by.clone(),
        created: when(Some(job.created_at), signed.zone),
        started: when(job.started_at, signed.zone),
        finished: when(job.finished_at, signed.zone),
        duration: duration(&view),
        attempts: job.attempts,
        error: job.error.clone(),
        outcome,
        problems,
        link,
        can_cancel: running
            && !job.cancel_requested
            && (mine || signed.viewer.is(steward_service::Capacity::Administrator)),
        cancel_requested: job.cancel_requested,
    })
}

/// Every problem an import's job found, as CSV (`file,line,column,value,reason`), to whoever
/// may see the job; a job that found none gives the header alone.
pub(crate) async fn errors_csv(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = job_id(&id)?;
    let stamp = Stamp::of(&signed.viewer);
    let view = blocking(&state, move |s| s.job(&stamp, id)).await?;
    let rows = match &view.result {
        Some(JobResult::Import { problems, .. }) => problems.iter().map(CsvError::cells).collect(),
        _ => Vec::new(),
    };
    csv(&format!("job-{id}-errors.csv"), &ERROR_COLUMNS, rows)
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    let _ = Form::read(request).await?;
    let id = job_id(&id)?;
    let stamp = Stamp::of(&signed.viewer);
    blocking(&state, move |s| s.cancel_job(&stamp, id)).await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}
