//! The working-day calendar (`steward calendar`): the bank holidays of a year, the date a number
//! of working days on, and loading gov.uk's `bank-holidays.json` for the IT team and
//! administrators. The calendar is what every SLA clock counts in.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use steward_calendar::{Calendar, ENGLAND_AND_WALES};
use steward_service::{Capacity, Stamp};

use crate::forms::{ErrorItem, Errors, Input, Problem};
use crate::pages::{Chrome, page_refusing};
use crate::session::UploadForm;
use crate::{AppState, Signed, WebError, blocking};

/// The divisions of gov.uk's file.
const DIVISIONS: [&str; 3] = [ENGLAND_AND_WALES, "scotland", "northern-ireland"];
/// The most working days the calculator counts: ten years of them.
const MOST_DAYS: u32 = 2_600;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Ask {
    pub year: String,
    pub from: String,
    pub days: String,
}

pub(crate) struct Holiday {
    pub date: String,
    pub title: String,
    pub notes: String,
}

/// The calculator's answer.
pub(crate) struct Sum {
    pub from: String,
    pub days: u32,
    pub due: String,
    /// The answer lies in a year with no bank holidays known: only weekends were skipped.
    pub unknown_year: bool,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    year: i32,
    holidays: Vec<Holiday>,
    /// The first and last years with bank holidays known.
    span: Option<(i32, i32)>,
    /// The years either side worth a link: those with holidays known, and the years around
    /// today (never past what the page accepts).
    previous: Option<i32>,
    next: Option<i32>,
    from: Input,
    days: Input,
    sum: Option<Sum>,
    may_import: bool,
    divisions: &'static [&'static str],
    division: String,
    notice: Option<String>,
    errors: Errors,
}

fn may_import(signed: &Signed) -> bool {
    signed.viewer.is(Capacity::It) || signed.viewer.is(Capacity::Administrator)
}

/// The page for `ask`, with `calendar` as it now is and `today` in the organisation's zone.
fn draw(
    state: &AppState,
    signed: &Signed,
    calendar: &Calendar,
    today: NaiveDate,
    ask: Ask,
) -> Result<CalendarPage, Problem> {
    let year = match ask.year.trim() {
        "" => today.year(),
        text => text
            .parse::<i32>()
            .ok()
            .filter(|y| (1900..=2200).contains(y))
            .ok_or_else(|| {
                Problem::at("year", format!("{text:?} is not a year from 1900 to 2200"))
            })?,
    };
    let years = || calendar.holidays().map(|h| h.date.year());
    let span = years().min().zip(years().max());
    let (first, last) = span.map_or((today.year(), today.year()), |(a, b)| {
        (a.min(today.year() - 1), b.max(today.year() + 1))
    });
    let previous = Some(year - 1).filter(|y| *y >= first.max(1900));
    let next = Some(year + 1).filter(|y| *y <= last.min(2200));
    let holidays = calendar
        .holidays()
        .filter(|h| h.date.year() == year)
        .map(|h| Holiday {
            date: h.date.format("%a %-d %b %Y").to_string(),
            title: h.title.clone(),
            notes: h.notes.clone(),
        })
        .collect();
    let sum = match (ask.from.trim(), ask.days.trim()) {
        ("", "") => None,
        (from, days) => {
            let start = if from.is_empty() {
                today
            } else {
                NaiveDate::parse_from_str(from, "%Y-%m-%d").map_err(|_| {
                    Problem::at("from", format!("{from:?} is not a date such as 2026-03-01"))
                })?
            };
            let n = days
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MOST_DAYS)
                .ok_or_else(|| {
                    Problem::at(
                        "days",
                        format!(
                            "{days:?} is not a whole number of working days from 0 to {MOST_DAYS}"
                        ),
                    )
                })?;
            let due = calendar.add_working_days(start, n);
            Some(Sum {
                from: start.format("%a %-d %b %Y").to_string(),
                days: n,
                due: due.format("%a %-d %b %Y").to_string(),
                unknown_year: !calendar.covers(due),
            })
        }
    };
    Ok(CalendarPage {
        chrome: Chrome::signed(state, signed, "/calendar"),
        year,
        holidays,
        span,
        previous,
        next,
        from: from_input(&ask.from),
        days: days_input(&ask.days),
        sum,
        may_import: may_import(signed),
        divisions: &DIVISIONS,
        division: ENGLAND_AND_WALES.to_owned(),
        notice: None,
        errors: Errors::default(),
    })
}

fn from_input(value: &str) -> Input {
    let mut input = Input::text("from", "from", "From")
        .hint("Today if empty")
        .unmarked()
        .value(value);
    input.kind = "date";
    input
}

fn days_input(value: &str) -> Input {
    let mut input = Input::text("days", "days", "Working days")
        .required(true)
        .value(value);
    input.kind = "number";
    input.min = "0".into();
    input.max = MOST_DAYS.to_string();
    input.step = "1";
    input.inputmode = "numeric";
    input
}

async fn calendar_now(state: &AppState) -> Result<(Calendar, NaiveDate), WebError> {
    blocking(state, |s| Ok((s.calendar()?, s.local_date(Utc::now())?))).await
}

/// Shows the page again with a problem, the calendar as it is and the question as it was asked.
fn refused(
    state: &AppState,
    signed: &Signed,
    calendar: &Calendar,
    today: NaiveDate,
    (problem, asked): (Problem, Option<&Ask>),
    division: String,
) -> Result<Response, WebError> {
    let mut shown = draw(state, signed, calendar, today, Ask::default())
        .map_err(|p| WebError::BadRequest(p.reason))?;
    if let Some(ask) = asked {
        shown.from = from_input(&ask.from);
        shown.days = days_input(&ask.days);
    }
    shown.errors = match problem.field.as_deref() {
        // The upload's own inputs are drawn by hand: linked to, not beside.
        Some(target @ ("file" | "division")) => Errors {
            items: vec![ErrorItem {
                target: Some(target.to_owned()),
                text: problem.reason,
            }],
        },
        _ => Errors::place(&[problem], [&mut shown.from, &mut shown.days]),
    };
    shown.division = division;
    page_refusing(true, &shown)
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(ask): Query<Ask>,
) -> Result<Response, WebError> {
    let (calendar, today) = calendar_now(&state).await?;
    let asked = Ask {
        year: String::new(),
        from: ask.from.clone(),
        days: ask.days.clone(),
    };
    match draw(&state, &signed, &calendar, today, ask) {
        Ok(shown) => page_refusing(false, &shown),
        Err(problem) => refused(
            &state,
            &signed,
            &calendar,
            today,
            (problem, Some(&asked)),
            ENGLAND_AND_WALES.to_owned(),
        ),
    }
}

/// Loads an uploaded `bank-holidays.json` for one division: every holiday in it added or
/// updated in one audited transaction, or nothing and the reason.
pub(crate) async fn import(
    State(state): State<AppState>,
    UploadForm { signed, mut form }: UploadForm,
) -> Result<Response, WebError> {
    let division = form.get("division");
    let (calendar, today) = calendar_now(&state).await?;
    let refuse = |field: &str, reason: String| {
        let problem = Problem::at(field, reason);
        refused(
            &state,
            &signed,
            &calendar,
            today,
            (problem, None),
            division.clone(),
        )
    };
    if !DIVISIONS.contains(&division.as_str()) {
        return refuse(
            "division",
            format!(
                "Division: {division:?} is not one of {}",
                DIVISIONS.join(", ")
            ),
        );
    }
    let Some(file) = form.take_file("file") else {
        return refuse(
            "file",
            "The file: choose gov.uk's bank-holidays.json to load".into(),
        );
    };
    let Ok(text) = std::str::from_utf8(&file.bytes) else {
        return refuse(
            "file",
            format!("The file: {} is not UTF-8 text", file.filename),
        );
    };
    let loaded = match Calendar::from_govuk_json(text, &division) {
        Ok(loaded) => loaded,
        Err(e) => {
            return refuse(
                "file",
                format!("The file: {}: {e}; nothing was changed", file.filename),
            );
        }
    };
    let count = loaded.holidays().count();
    let stamp = Stamp::of(&signed.viewer);
    let summary = blocking(&state, move |s| s.import_calendar(&stamp, &loaded)).await?;
    let (calendar, today) = calendar_now(&state).await?;
    let mut shown = draw(&state, &signed, &calendar, today, Ask::default())
        .map_err(|p| WebError::BadRequest(p.reason))?;
    shown.division = division;
    shown.notice = Some(format!(
        "Loaded {count} bank holidays from {}: {} added, {} changed, {} unchanged.",
        file.filename, summary.created, summary.updated, summary.unchanged
    ));
    page_refusing(false, &shown)
}
