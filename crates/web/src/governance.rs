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

use crate::forms::{Errors, Input, Problem, Refusal};
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
    /// The last item of the page before (`KIND:ID`), for the next page.
    pub after: String,
}

/// Items on one page of the list.
const DUE_ROWS: usize = 200;

/// The days ahead a filter asks for: a whole number of days, 30 when empty.
fn within_days(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_WITHIN);
    }
    text.parse::<u64>()
        .ok()
        .filter(|n| *n <= MOST_WITHIN)
        .ok_or_else(|| format!("{text:?} is not a whole number of days from 0 to {MOST_WITHIN}"))
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
    /// The form recording it done (a task) or disposed of (a record), if the viewer may.
    pub inputs: Vec<Input>,
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
            inputs: Vec::new(),
        }
    }

    /// What a step on this item asks for, each input the field of the register it fills; `n`
    /// numbers the row, so that each row's inputs have ids of their own.
    fn form(&self, n: usize, today: NaiveDate, zone: chrono_tz::Tz) -> Vec<Input> {
        let field = |register: Register, name: &str| {
            Input::field(register, name, zone).unwrap_or_else(|| Input::text("", name, ""))
        };
        let on = |register: Register, name: &str, id: String, label: &str| {
            field(register, name)
                .id(id)
                .name("on")
                .label(label)
                .required(false)
                .unmarked()
                .value(today.to_string())
        };
        match self.kind {
            "task" => vec![
                field(Register::TaskCompletions, "evidence")
                    .id(format!("evidence-{n}"))
                    .label(&format!("What shows {} was done", self.id))
                    .hint(""),
                on(
                    Register::TaskCompletions,
                    "done_on",
                    format!("task-on-{n}"),
                    "Done on",
                ),
            ],
            "disposal" => vec![
                field(Register::Destructions, "method")
                    .id(format!("method-{n}"))
                    .label(&format!("How {} was disposed of", self.id))
                    .hint("Such as cross-cut shredding"),
                on(
                    Register::Destructions,
                    "destroyed_on",
                    format!("dispose-on-{n}"),
                    "Disposed of on",
                ),
            ],
            _ => Vec::new(),
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
    within: Input,
    /// `within` as the download link asks for it.
    within_days: String,
    today: String,
    until: String,
    rows: Vec<DueRow>,
    overdue: usize,
    /// How many are due in all; the page shows at most [`DUE_ROWS`], and the ways between pages.
    total: usize,
    first: Option<String>,
    next: Option<String>,
    /// The IT and governance teams record tasks done and records disposed of.
    may_act: bool,
    may_import: bool,
    notice: Option<String>,
    errors: Errors,
}

/// A refused step: the kind and id of the item it was on, and why.
struct Refused {
    kind: &'static str,
    item: String,
    refusal: Refusal,
}

async fn governance_page(
    state: &AppState,
    signed: &Signed,
    within: &str,
    after: &str,
    refused: Option<Refused>,
) -> Result<Response, WebError> {
    let mut problems = Vec::new();
    let shown = within_days(within).unwrap_or_else(|reason| {
        problems.push(Problem::at("within", reason));
        DEFAULT_WITHIN
    });
    let (today, until, rows) = due_rows(state, shown).await?;
    let v = &signed.viewer;
    let may_act = v.is(Capacity::It) || v.is(Capacity::Governance);
    let mut within_input = Input::text("within", "within", "Due within this many days")
        .hint("Overdue items are always shown")
        .unmarked()
        .value(if problems.is_empty() {
            shown.to_string()
        } else {
            within.to_owned()
        });
    within_input.kind = "number";
    within_input.min = "0".into();
    within_input.max = MOST_WITHIN.to_string();
    within_input.step = "1";
    within_input.inputmode = "numeric";
    within_input.suffix = "days";
    // A page of the list: after the item named, or — a step refused — the page holding the
    // item it was on, so its problems show beside its form.
    let key = |r: &DueRow| format!("{}:{}", r.kind, r.id);
    let total = rows.len();
    let overdue = rows.iter().filter(|r| r.overdue).count();
    let at = |wanted: &dyn Fn(&DueRow) -> bool| rows.iter().position(wanted);
    let start = match &refused {
        Some(r) => at(&|row: &DueRow| row.kind == r.kind && row.id == r.item)
            .map_or(0, |i| i - i % DUE_ROWS),
        None if after.trim().is_empty() => 0,
        None => at(&|row: &DueRow| key(row) == after.trim()).map_or(0, |i| i + 1),
    };
    let more = total > start + DUE_ROWS;
    let list = format!("/governance?within={shown}");
    let (first, next) = crate::pages::page_links(
        &list,
        "after",
        start > 0,
        more,
        rows.get((start + DUE_ROWS).min(total).saturating_sub(1))
            .map(key)
            .as_deref(),
    );
    let mut rows: Vec<DueRow> = rows.into_iter().skip(start).take(DUE_ROWS).collect();
    if may_act {
        for (n, row) in rows.iter_mut().enumerate() {
            row.inputs = row.form(start + n + 1, today, signed.zone);
        }
    }
    let mut errors = Errors::place(&problems, [&mut within_input]);
    if let Some(Refused {
        kind,
        item,
        refusal,
    }) = refused
    {
        // The problems go beside the form of the item the step was on, shown as it was typed.
        let row = rows.iter_mut().find(|r| r.kind == kind && r.id == item);
        let inputs: Vec<&mut Input> = match row {
            Some(row) => {
                row.inputs = std::mem::take(&mut row.inputs)
                    .into_iter()
                    .map(|i| i.posted(&refusal.posted))
                    .collect();
                row.inputs.iter_mut().collect()
            }
            None => Vec::new(),
        };
        errors
            .items
            .extend(Errors::place(&refusal.problems, inputs).items);
    }
    page_refusing(
        !errors.is_empty(),
        &GovernancePage {
            chrome: Chrome::signed(state, signed, "/governance"),
            within: within_input,
            within_days: shown.to_string(),
            today: today.to_string(),
            until: until.to_string(),
            overdue,
            total,
            first,
            next,
            rows,
            may_act,
            may_import: v.is(Capacity::It) || v.is(Capacity::Administrator),
            notice: None,
            errors,
        },
    )
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<DueFilter>,
) -> Result<Response, WebError> {
    governance_page(&state, &signed, &filter.within, &filter.after, None).await
}

pub(crate) async fn due_csv(
    State(state): State<AppState>,
    Query(filter): Query<DueFilter>,
) -> Result<Response, WebError> {
    let within =
        within_days(&filter.within).map_err(|e| WebError::BadRequest(format!("within: {e}")))?;
    let (_, _, rows) = due_rows(&state, within).await?;
    csv(
        "governance.csv",
        &[
            "kind", "register", "id", "what", "due_on", "overdue", "owner", "action",
        ],
        rows.iter().map(DueRow::cells).collect(),
    )
}

/// Why a step was not taken: a refusal the page shows beside the form, or an error it cannot
/// help with.
enum NotDone {
    Refused(Refusal),
    Failed(WebError),
}

impl From<WebError> for NotDone {
    fn from(e: WebError) -> NotDone {
        match e {
            WebError::BadRequest(reason) => NotDone::Refused(Refusal::general(reason)),
            WebError::Service(
                ref s @ (ServiceError::Invalid { .. } | ServiceError::NotFound { .. }),
            ) => match Refusal::of(s) {
                Some(refusal) => NotDone::Refused(refusal),
                None => NotDone::Failed(e),
            },
            other => NotDone::Failed(other),
        }
    }
}

/// The day a form names (`YYYY-MM-DD`), today when empty.
fn day(form: &Form, today: NaiveDate) -> Result<NaiveDate, NotDone> {
    let text = form.get("on");
    if text.is_empty() {
        return Ok(today);
    }
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
        NotDone::Refused(Refusal::at(
            "on",
            format!("{text:?} is not a date such as 2026-03-01"),
        ))
    })
}

/// What the list should show after a step on the item `kind` `item`: back to it (keeping the
/// filter), or the list again with the reasons the step was refused beside its form.
async fn after_step(
    state: &AppState,
    signed: &Signed,
    form: &Form,
    (kind, item): (&'static str, String),
    result: Result<(), NotDone>,
) -> Result<Response, WebError> {
    let within = form.get("within");
    match result {
        Ok(()) => {
            crate::processes::recheck(state);
            let to = match within_days(&within) {
                Ok(n) if n != DEFAULT_WITHIN => format!("/governance?within={n}"),
                _ => "/governance".to_owned(),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(NotDone::Refused(refusal)) => {
            let refused = Refused {
                kind,
                item,
                refusal: refusal.with_posted(&form.fields),
            };
            governance_page(state, signed, &within, "", Some(refused)).await
        }
        Err(NotDone::Failed(e)) => Err(e),
    }
}

/// Who is recording the step: the viewer's person on the people register.
fn actor(signed: &Signed) -> Result<String, NotDone> {
    signed.viewer.person_id.clone().ok_or_else(|| {
        NotDone::Refused(Refusal::general(
            "your sign-in is not linked to a person on the people register, so Steward cannot \
             record who did this; ask an administrator to link it",
        ))
    })
}

/// Records a recurring task done, with what shows it was done.
pub(crate) async fn task_done(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let form = Form::read(request).await?;
    let task = form.get("task");
    let result = async {
        let by = actor(&signed)?;
        if task.is_empty() {
            return Err(NotDone::Refused(Refusal::general(
                "say which task was done",
            )));
        }
        let evidence = form.get("evidence");
        let today = blocking(&state, |s| s.local_date(Utc::now())).await?;
        let on = day(&form, today)?;
        let stamp = Stamp::of(&signed.viewer);
        let task = task.clone();
        blocking(&state, move |s| {
            s.task_done(&stamp, &task, on, &by, &evidence).map(|_| ())
        })
        .await
        .map_err(NotDone::from)
    }
    .await;
    after_step(&state, &signed, &form, ("task", task), result).await
}

/// Records a body of records disposed of, and how.
pub(crate) async fn dispose(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let form = Form::read(request).await?;
    let record = form.get("record");
    let result = async {
        let by = actor(&signed)?;
        if record.is_empty() {
            return Err(NotDone::Refused(Refusal::general(
                "say which record was disposed of",
            )));
        }
        let method = form.get("method");
        let today = blocking(&state, |s| s.local_date(Utc::now())).await?;
        let on = day(&form, today)?;
        let stamp = Stamp::of(&signed.viewer);
        let record = record.clone();
        blocking(&state, move |s| {
            s.dispose_of_record(&stamp, &record, on, &by, &method)
                .map(|_| ())
        })
        .await
        .map_err(NotDone::from)
    }
    .await;
    after_step(&state, &signed, &form, ("disposal", record), result).await
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
