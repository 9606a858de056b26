//! The governance team's list of what falls due (records past their retention, recurring tasks,
//! access reviews, policy reviews) with its CSV, recording a task done or a record disposed of,
//! and importing one register from an uploaded or pasted CSV, all or nothing, with each
//! register's columns described and its template (the header line) to download.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Days, NaiveDate, Utc};
use steward_model::Register;
use steward_service::{Capacity, Due, ImportFile, ServiceError, Stamp};

use crate::pages::{Chrome, csv, csv_file, page_refusing, percent};
use crate::session::{Form, UploadForm};
use crate::{AppState, Signed, WebError, blocking};

/// How far ahead the list looks unless asked otherwise.
const DEFAULT_WITHIN: u64 = 30;
/// The furthest ahead it looks: a hundred years.
const MOST_WITHIN: u64 = 36_525;

/// The entities whose records have a page at `/register/{entity}/{id}`.
const LINKED: [&str; 3] = ["record", "task", "information_asset"];

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub(crate) struct DueFilter {
    pub within: String,
}

/// The days ahead a filter asks for: a whole number of days, 30 when empty.
fn within_days(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_WITHIN);
    }
    text.parse::<u64>()
        .ok()
        .filter(|n| *n <= MOST_WITHIN)
        .ok_or_else(|| format!("within: {text:?}: not a number of days (0 to {MOST_WITHIN})"))
}

/// One item due, as a row of the table and the CSV.
pub(crate) struct DueRow {
    pub kind: &'static str,
    pub register: &'static str,
    pub id: String,
    /// The item's record page, where one exists.
    pub href: Option<String>,
    pub what: String,
    pub due_on: String,
    pub overdue: bool,
    pub owner: String,
    pub action: String,
}

impl DueRow {
    fn of(due: Due, today: NaiveDate) -> DueRow {
        let href = (LINKED.contains(&due.register) && !due.id.contains('/'))
            .then(|| format!("/register/{}/{}", due.register, percent(&due.id)));
        DueRow {
            kind: due.kind.as_str(),
            register: due.register,
            overdue: due.overdue(today),
            href,
            due_on: due
                .due_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "never done".to_owned()),
            owner: due.owner.unwrap_or_default(),
            what: due.what,
            action: due.action,
            id: due.id,
        }
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.to_owned(),
            self.register.to_owned(),
            self.id.clone(),
            self.what.clone(),
            self.due_on.clone(),
            if self.overdue { "yes" } else { "no" }.to_owned(),
            self.owner.clone(),
            self.action.clone(),
        ]
    }
}

/// What falls due within `within` days of today (the organisation's date), overdue first.
async fn due_rows(
    state: &AppState,
    within: u64,
) -> Result<(NaiveDate, NaiveDate, Vec<DueRow>), WebError> {
    let (today, until, due) = blocking(state, move |s| {
        let today = s.local_date(Utc::now())?;
        let until = today
            .checked_add_days(Days::new(within))
            .unwrap_or(NaiveDate::MAX);
        Ok((today, until, s.due(until)?))
    })
    .await?;
    let mut rows: Vec<DueRow> = due.into_iter().map(|d| DueRow::of(d, today)).collect();
    // The service's order (never done, then by date) within each part; overdue first.
    rows.sort_by_key(|r| !r.overdue);
    Ok((today, until, rows))
}

#[derive(Template)]
#[template(path = "governance.html")]
struct GovernancePage {
    chrome: Chrome,
    within: String,
    today: String,
    until: String,
    rows: Vec<DueRow>,
    overdue: usize,
    /// The IT and governance teams record tasks done and records disposed of.
    may_act: bool,
    may_import: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn governance_page(
    state: &AppState,
    signed: &Signed,
    within: &str,
    error: Option<String>,
) -> Result<Response, WebError> {
    let (shown, error) = match within_days(within) {
        Ok(n) => (n, error),
        Err(e) => (DEFAULT_WITHIN, Some(error.unwrap_or(e))),
    };
    let (today, until, rows) = due_rows(state, shown).await?;
    let v = &signed.viewer;
    let refused = error.is_some();
    page_refusing(
        refused,
        &GovernancePage {
            chrome: Chrome::signed(state, signed, "/governance"),
            within: shown.to_string(),
            today: today.to_string(),
            until: until.to_string(),
            overdue: rows.iter().filter(|r| r.overdue).count(),
            rows,
            may_act: v.is(Capacity::It) || v.is(Capacity::Governance),
            may_import: v.is(Capacity::It) || v.is(Capacity::Administrator),
            notice: None,
            error,
        },
    )
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<DueFilter>,
) -> Result<Response, WebError> {
    governance_page(&state, &signed, &filter.within, None).await
}

pub(crate) async fn due_csv(
    State(state): State<AppState>,
    Query(filter): Query<DueFilter>,
) -> Result<Response, WebError> {
    let within = within_days(&filter.within).map_err(WebError::BadRequest)?;
    let (_, _, rows) = due_rows(&state, within).await?;
    csv(
        "governance.csv",
        &[
            "kind", "register", "id", "what", "due_on", "overdue", "owner", "action",
        ],
        rows.iter().map(DueRow::cells).collect(),
    )
}

/// The day a form names (`YYYY-MM-DD`), today when empty.
fn day(form: &Form, today: NaiveDate) -> Result<NaiveDate, String> {
    let text = form.get("on");
    if text.is_empty() {
        return Ok(today);
    }
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| format!("on: {text:?}: not a date (YYYY-MM-DD)"))
}

/// What the list should show after a step: back to it (keeping the filter), or the list again
/// with the reason the step was refused.
async fn after_step(
    state: &AppState,
    signed: &Signed,
    within: &str,
    result: Result<(), WebError>,
) -> Result<Response, WebError> {
    match result {
        Ok(()) => {
            crate::processes::recheck(state);
            let to = match within_days(within) {
                Ok(n) if n != DEFAULT_WITHIN => format!("/governance?within={n}"),
                _ => "/governance".to_owned(),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(WebError::BadRequest(reason)) => {
            governance_page(state, signed, within, Some(reason)).await
        }
        Err(WebError::Service(
            e @ (ServiceError::Invalid { .. } | ServiceError::NotFound { .. }),
        )) => governance_page(state, signed, within, Some(e.to_string())).await,
        Err(e) => Err(e),
    }
}

/// Who is recording the step: the viewer's person on the people register.
fn actor(signed: &Signed) -> Result<String, WebError> {
    signed.viewer.person_id.clone().ok_or_else(|| {
        WebError::BadRequest(
            "your sign-in is not linked to a person on the people register, so Steward cannot \
             record who did this; ask an administrator to link it"
                .into(),
        )
    })
}

/// Records a recurring task done, with what shows it was done.
pub(crate) async fn task_done(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let form = Form::read(request).await?;
    let within = form.get("within");
    let result = async {
        let by = actor(&signed)?;
        let task = form.get("task");
        if task.is_empty() {
            return Err(WebError::BadRequest("task: say which task was done".into()));
        }
        let evidence = form.get("evidence");
        let today = blocking(&state, |s| s.local_date(Utc::now())).await?;
        let on = day(&form, today).map_err(WebError::BadRequest)?;
        let stamp = Stamp::of(&signed.viewer);
        blocking(&state, move |s| {
            s.task_done(&stamp, &task, on, &by, &evidence).map(|_| ())
        })
        .await
    }
    .await;
    after_step(&state, &signed, &within, result).await
}

/// Records a body of records disposed of, and how.
pub(crate) async fn dispose(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let form = Form::read(request).await?;
    let within = form.get("within");
    let result = async {
        let by = actor(&signed)?;
        let record = form.get("record");
        if record.is_empty() {
            return Err(WebError::BadRequest(
                "record: say which record was disposed of".into(),
            ));
        }
        let method = form.get("method");
        let today = blocking(&state, |s| s.local_date(Utc::now())).await?;
        let on = day(&form, today).map_err(WebError::BadRequest)?;
        let stamp = Stamp::of(&signed.viewer);
        blocking(&state, move |s| {
            s.dispose_of_record(&stamp, &record, on, &by, &method)
                .map(|_| ())
        })
        .await
    }
    .await;
    after_step(&state, &signed, &within, result).await
}

// --- import -----------------------------------------------------------------------------------

/// Every register a CSV may be imported into: all but the organisation's own settings.
fn importable() -> impl Iterator<Item = Register> {
    Register::ALL
        .into_iter()
        .filter(|r| r.name() != "organisation")
}

/// The importable register of this name.
fn importable_named(name: &str) -> Option<Register> {
    importable().find(|r| r.name() == name)
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Chrome,
    registers: Vec<String>,
    register: String,
    csv: String,
    notice: Option<String>,
    error: Option<String>,
    /// The chosen register's file: its columns described, and where its template is.
    file: Option<FileHelp>,
}

/// What a register's file holds, for the person filling it in.
struct FileHelp {
    name: String,
    template: String,
    columns: Vec<steward_interchange::Column>,
}

impl FileHelp {
    fn of(register: Register) -> FileHelp {
        FileHelp {
            name: register.file_name(),
            template: format!("/import/template/{}", register.name()),
            columns: steward_interchange::columns(register),
        }
    }
}

fn import_page(
    state: &AppState,
    signed: &Signed,
    form: ImportPage,
    refused: bool,
) -> Result<Response, WebError> {
    page_refusing(
        refused,
        &ImportPage {
            chrome: Chrome::signed(state, signed, "/import"),
            ..form
        },
    )
}

fn blank(register: String, csv: String) -> ImportPage {
    ImportPage {
        chrome: Chrome::bare(),
        registers: importable().map(|r| r.name().to_owned()).collect(),
        file: importable_named(&register).map(FileHelp::of),
        register,
        csv,
        notice: None,
        error: None,
    }
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub(crate) struct ImportChoice {
    /// The register whose columns to describe, chosen in the form when it is shown.
    pub register: String,
}

pub(crate) async fn import_form(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(choice): Query<ImportChoice>,
) -> Result<Response, WebError> {
    // A register that cannot be imported is simply not chosen.
    let register = importable_named(&choice.register)
        .map(|r| r.name().to_owned())
        .unwrap_or_default();
    import_page(&state, &signed, blank(register, String::new()), false)
}

/// A register's template: a CSV file holding only the header line the importer takes, written
/// by the same writer as every export.
pub(crate) async fn import_template(Path(name): Path<String>) -> Result<Response, WebError> {
    let register = importable_named(&name).ok_or(WebError::NotFound)?;
    let mut out = Vec::new();
    steward_interchange::write(register, &[], &mut out)
        .map_err(|e| WebError::Service(ServiceError::Write(e.to_string())))?;
    Ok(csv_file(&register.file_name(), out))
}

/// Imports one register's rows from pasted CSV: every row applied in one transaction, or nothing
/// and every problem listed at its line and column.
pub(crate) async fn import(
    State(state): State<AppState>,
    UploadForm { signed, mut form }: UploadForm,
) -> Result<Response, WebError> {
    let name = form.get("register");
    let text = form.get("csv");
    let upload = form.take_file("file");
    // A chosen file wins over pasted rows; the pasted rows are shown again either way.
    let mut shown = blank(name.clone(), text.clone());
    let Some(register) = importable_named(&name) else {
        shown.error = Some("register: choose the register the rows belong to".into());
        return import_page(&state, &signed, shown, true);
    };
    let (label, bytes) = match upload {
        Some(file) => (file.filename, file.bytes),
        None if text.is_empty() => {
            shown.error =
                Some("file: choose a CSV file, or paste the rows with their header line".into());
            return import_page(&state, &signed, shown, true);
        }
        None => (register.file_name().to_owned(), text.into_bytes()),
    };
    let stamp = Stamp::of(&signed.viewer);
    let file = ImportFile {
        register,
        label,
        bytes,
    };
    // Kept in the database as a job, which any server runs; the page follows it to the end.
    match blocking(&state, move |s| s.enqueue_import(&stamp, vec![file])).await {
        Ok(id) => {
            state.jobs.wake();
            Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
        }
        Err(e) => Err(e),
    }
}
