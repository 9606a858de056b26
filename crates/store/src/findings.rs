//! The findings write path, shared by both backends: reconcile one check run with the stored
//! findings of the packs it evaluated, keep each finding's lifecycle (`open`, `escalated`,
//! `resolved`, `excepted`), append one event per change to `finding_events`, and chain one audit
//! record per event through [`AuditChain`] — all in the caller's transaction.
//!
//! The lifecycle, per finding key, for one run at `at` over `packs`:
//!
//! - not stored, failing → stored `open` (or straight to `excepted`/`escalated`, below) with
//!   `first_failing = at`: event `opened` (or `excepted`/`escalated`);
//! - stored and failing, nothing changed → nothing is written: no event, no audit record, not even
//!   the row (its `last_failing` is read as the pack's last run, kept once per pack in
//!   `check_runs`), so running the same checks again is idempotent and writes in proportion to
//!   what changed;
//! - stored and failing with another message, evidence, severity, … → the row is updated: `updated`;
//! - stored and failing (`open`, `escalated`, `excepted`) but absent from the run → `resolved` with
//!   `resolved_at = at` (only for packs in `packs`; other packs' findings are left alone);
//! - `resolved` and failing again → `reopened` with a new `first_failing = at`; the earlier
//!   episode stays in the history;
//! - failing and covered by an unexpired exception (same pack, clause, subject type and id;
//!   expired once its `expires_on` is before `at`'s date) → `excepted`, naming the exception;
//! - `excepted` and no longer covered (the exception expired, or no longer matches) → back to
//!   `open`/`escalated` keeping its `first_failing`: `exception_expired`;
//! - failing, not excepted, and past the finding's `due` date (before `at`'s date) → `escalated`,
//!   the ladder's first step: whoever acts is told. Escalation is sticky while the finding keeps
//!   failing.
//! - escalated, and past its due date by more than a step of its control's ladder
//!   (`escalation = [{ after_days, to }]`, handed over with the run as [`LadderStep`]s) → another
//!   `escalated` event, `escalation_step` counting the steps reached. Each step happens once per
//!   episode: a step reached stays reached (through an exception too), and a reopened finding
//!   starts again at none. A run that comes late passes several steps in one event.
//!
//! Every `escalated` event's details say whom it tells (`to`: the words of whoever acts and of
//! each step newly reached) and the step (`step`); the mail crate e-mails each such event once
//! (`escalations_unmailed`, then `record_mail_sent`).
//!
//! Each finding gets at most one event per run: the most significant change (a reopened finding
//! that is also covered by an exception is `reopened`, in state `excepted`); the event's details
//! say the rest, including any `changed` fields.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, SubsecRound, Utc};
use serde_json::{Map, Value as Json, json};
use steward_model::audit::canonical_json;
use steward_model::{Evidence, Finding, FindingState, Shared, StoredFinding, Subject, iso_date};

use crate::commit::{AuditChain, AuditTx, WRITE_EVERY};
use crate::{Result, StoreError, sql};

/// The audit log's entity type for findings; the entity id is the finding's key.
pub const FINDING_ENTITY: &str = "finding";

/// Which stored findings to read. Every filter is optional; an empty `states` means every state
/// but `resolved`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingQuery {
    pub pack: Option<String>,
    /// Any of these packs; empty: any pack.
    pub packs: Vec<String>,
    pub clause: Option<String>,
    /// A section of the policy: the clause itself, and every clause numbered under it (`2` holds
    /// `2.6`, `2.6(w)` and `2-1`; `2.6` holds `2.6(w)` but not `2.60`).
    pub section: Option<String>,
    pub control: Option<String>,
    /// Exactly this severity.
    pub severity: Option<String>,
    /// Any of these states; empty: open, escalated and excepted.
    pub states: Vec<FindingState>,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    /// Any of these subjects (each its kind and id); empty: any subject. For one person's page
    /// (the person and what they hold) or a team's, in one read.
    pub subjects: Vec<steward_model::Subject>,
    pub who_acts: Option<String>,
    /// Where findings stood at this instant, from their history: the state filter applies to the
    /// state then, and `state`, `first_failing`, `resolved_at` and `exception` are as they were
    /// then. The finding's content and `last_failing` are as stored now. A finding first seen
    /// after the instant is not returned.
    pub as_of: Option<DateTime<Utc>>,
    /// Only findings failing since this instant or earlier (at least so old).
    pub failing_since_before: Option<DateTime<Utc>>,
    /// Only findings failing since this instant or later (at most so old).
    pub failing_since_after: Option<DateTime<Utc>>,
    /// At most this many, in `order`.
    pub limit: Option<u64>,
    /// How the findings are ordered (by default the most severe, then the oldest, first).
    pub order: FindingOrder,
    /// Only the findings after this one (its key) in `order`: the next page of a list, however
    /// the findings before it changed meanwhile (keyset pagination). Ignored with `as_of`, and
    /// by counts, which count the whole filter.
    pub after: Option<String>,
    /// Leave out each finding's clause text and evidence (read as empty): for lists that show
    /// neither, since they are most of a row's width.
    pub without_text: bool,
}

/// How a list of findings is ordered. Every order ends with the finding's key, so that the last
/// finding of a page says where the next begins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FindingOrder {
    /// The most severe first, then the longest failing.
    #[default]
    Severity,
    /// The longest failing first.
    Oldest,
    /// The most recently failing first.
    Newest,
    /// By policy and clause.
    Clause,
}

impl FindingOrder {
    pub const ALL: [FindingOrder; 4] = [
        FindingOrder::Severity,
        FindingOrder::Oldest,
        FindingOrder::Newest,
        FindingOrder::Clause,
    ];

    /// The word a list's address uses for the order.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingOrder::Severity => "severity",
            FindingOrder::Oldest => "oldest",
            FindingOrder::Newest => "newest",
            FindingOrder::Clause => "clause",
        }
    }

    pub fn parse(word: &str) -> Option<FindingOrder> {
        FindingOrder::ALL.into_iter().find(|o| o.as_str() == word)
    }
}

/// How many findings share a pack, clause, control, severity and state, began failing on one
/// day and (if resolved) were resolved on one day: enough to draw a dashboard without reading
/// every finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingTally {
    pub pack: String,
    pub clause: String,
    pub control: String,
    pub severity: String,
    pub state: FindingState,
    /// The UTC day the current episode began failing.
    pub first_failing_on: NaiveDate,
    /// The UTC day it was resolved, if it was.
    pub resolved_on: Option<NaiveDate>,
    pub count: u64,
}

impl FindingTally {
    /// A tally row as both backends read it: texts, the two days as `YYYY-MM-DD`, the count.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        pack: String,
        clause: String,
        control: String,
        severity: String,
        state: &str,
        first: &str,
        resolved: Option<&str>,
        count: i64,
    ) -> Result<FindingTally> {
        let corrupt = |column: &'static str, reason: String| StoreError::Corrupt {
            table: "findings",
            column,
            id: format!("{pack}/{control}"),
            reason,
        };
        let day = |column: &'static str, text: &str| {
            steward_model::read_date(text).map_err(|e| corrupt(column, format!("{text:?}: {e}")))
        };
        Ok(FindingTally {
            state: FindingState::parse(state)
                .ok_or_else(|| corrupt("state", format!("{state:?} is not a state")))?,
            first_failing_on: day("first_failing", first)?,
            resolved_on: resolved.map(|r| day("resolved_at", r)).transpose()?,
            count: u64::try_from(count).unwrap_or(0),
            pack,
            clause,
            control,
            severity,
        })
    }
}

impl FindingQuery {
    /// The states asked for, the default applied.
    pub fn states(&self) -> Vec<FindingState> {
        if self.states.is_empty() {
            FindingState::ALL
                .into_iter()
                .filter(|s| s.is_failing())
                .collect()
        } else {
            self.states.clone()
        }
    }
}

/// What recording one run did, one count per finding: the event it got, or `unchanged`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FindingsSummary {
    pub opened: usize,
    pub reopened: usize,
    pub unchanged: usize,
    pub updated: usize,
    pub resolved: usize,
    pub excepted: usize,
    pub exception_expired: usize,
    pub escalated: usize,
    /// The audit records written, first and last; `None` when nothing changed.
    pub audit_range: Option<(i64, i64)>,
}

impl FindingsSummary {
    /// How many findings the run changed (each one an event and an audit record).
    pub fn changes(&self) -> usize {
        self.opened
            + self.reopened
            + self.updated
            + self.resolved
            + self.excepted
            + self.exception_expired
            + self.escalated
    }

    fn count(&mut self, kind: FindingEventKind) {
        let n = match kind {
            FindingEventKind::Opened => &mut self.opened,
            FindingEventKind::Reopened => &mut self.reopened,
            FindingEventKind::Escalated => &mut self.escalated,
            FindingEventKind::Resolved => &mut self.resolved,
            FindingEventKind::Excepted => &mut self.excepted,
            FindingEventKind::ExceptionExpired => &mut self.exception_expired,
            FindingEventKind::Updated => &mut self.updated,
        };
        *n += 1;
    }
}

/// An exception as the findings path needs it: what it covers and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionCover {
    pub id: String,
    pub pack: String,
    pub clause: String,
    pub subject_type: String,
    pub subject_id: String,
    /// The last day it covers; `None`: until withdrawn.
    pub expires_on: Option<NaiveDate>,
}

impl ExceptionCover {
    /// Expired on `day` once `day` is past its last day.
    pub fn expired_on(&self, day: NaiveDate) -> bool {
        self.expires_on.is_some_and(|last| last < day)
    }

    pub fn matches(&self, finding: &Finding) -> bool {
        *self.pack == *finding.pack
            && *self.clause == *finding.clause
            && self.subject_type == finding.subject.kind
            && self.subject_id == finding.subject.id
    }
}

impl From<&steward_model::Exception> for ExceptionCover {
    fn from(e: &steward_model::Exception) -> ExceptionCover {
        ExceptionCover {
            id: e.id.clone(),
            pack: e.pack.clone(),
            clause: e.clause.clone(),
            subject_type: e.subject_type.as_str().to_owned(),
            subject_id: e.subject_id.clone(),
            expires_on: e.expires_on,
        }
    }
}

/// What happened to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingEventKind {
    Opened,
    Reopened,
    Escalated,
    Resolved,
    Excepted,
    ExceptionExpired,
    Updated,
}

impl FindingEventKind {
    pub const ALL: [FindingEventKind; 7] = [
        FindingEventKind::Opened,
        FindingEventKind::Reopened,
        FindingEventKind::Escalated,
        FindingEventKind::Resolved,
        FindingEventKind::Excepted,
        FindingEventKind::ExceptionExpired,
        FindingEventKind::Updated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingEventKind::Opened => "opened",
            FindingEventKind::Reopened => "reopened",
            FindingEventKind::Escalated => "escalated",
            FindingEventKind::Resolved => "resolved",
            FindingEventKind::Excepted => "excepted",
            FindingEventKind::ExceptionExpired => "exception_expired",
            FindingEventKind::Updated => "updated",
        }
    }

    pub fn parse(s: &str) -> Option<FindingEventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the event starts an episode of failing (`opened`, `reopened`).
    pub fn starts_episode(self) -> bool {
        matches!(self, FindingEventKind::Opened | FindingEventKind::Reopened)
    }
}

impl std::fmt::Display for FindingEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of one finding, as `finding_events` holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FindingEvent {
    /// The sequence number of the audit record written with it.
    pub seq: i64,
    pub key: String,
    pub at: DateTime<Utc>,
    pub event: FindingEventKind,
    /// The state after the event.
    pub state: FindingState,
    /// When the episode the event belongs to began.
    pub first_failing: DateTime<Utc>,
    /// The exception covering it after the event.
    pub exception: Option<String>,
    /// What else there is to know, by event: `changed` (field → `before`/`after`) whenever the
    /// finding's content changed; `previous` (`first_failing`, `resolved_at`) on `reopened`;
    /// `exception` and `expires_on` on `excepted` and `exception_expired` (`withdrawn` when the
    /// exception no longer covers it at all); `due` on `escalated`; `severity` and `message` when
    /// opened or reopened.
    pub details: Json,
}

// --- columns ----------------------------------------------------------------------------------

/// How a column is typed on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Int,
    Bool,
    Date,
    Time,
}

/// One value read from or written to a column; `None` is SQL NULL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Date(Option<NaiveDate>),
    Time(Option<DateTime<Utc>>),
}

pub(crate) type Columns = &'static [(&'static str, Kind)];

/// The `findings` table's columns, in the order rows are read and written.
pub(crate) const FINDING_COLUMNS: Columns = &[
    ("key", Kind::Text),
    ("pack", Kind::Text),
    ("version", Kind::Text),
    ("clause", Kind::Text),
    ("control", Kind::Text),
    ("subject_type", Kind::Text),
    ("subject_id", Kind::Text),
    ("severity", Kind::Text),
    ("message", Kind::Text),
    ("clause_text", Kind::Text),
    ("evidence", Kind::Text),
    ("who_acts", Kind::Text),
    ("due", Kind::Date),
    ("undecided", Kind::Text),
    ("state", Kind::Text),
    ("first_failing", Kind::Time),
    ("last_failing", Kind::Time),
    ("resolved_at", Kind::Time),
    ("exception", Kind::Text),
    // Last: columns added after the table was made, in the order `ALTER TABLE` put them.
    ("message_you", Kind::Text),
    ("escalation_step", Kind::Int),
    ("content_hash", Kind::Text),
];

/// What a run reads of each stored finding first: [`Prior`].
pub(crate) const PRIOR_COLUMNS: Columns = &[
    ("key", Kind::Text),
    ("state", Kind::Text),
    ("due", Kind::Date),
    ("exception", Kind::Text),
    ("escalation_step", Kind::Int),
    ("content_hash", Kind::Text),
];

/// The `finding_events` table's columns, in the order rows are read and written.
pub(crate) const EVENT_COLUMNS: Columns = &[
    ("seq", Kind::Int),
    ("key", Kind::Text),
    ("at", Kind::Time),
    ("event", Kind::Text),
    ("state", Kind::Text),
    ("first_failing", Kind::Time),
    ("exception", Kind::Text),
    ("details", Kind::Text),
];

pub(crate) fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn evidence_json(evidence: &Evidence) -> Json {
    Json::Object(
        evidence
            .iter()
            .map(|(k, v)| (k.to_string(), Json::String(v.to_owned())))
            .collect(),
    )
}

pub(crate) fn finding_cells(s: &StoredFinding) -> Vec<Cell> {
    let f = &s.finding;
    let text = |t: &str| Cell::Text(Some(t.to_owned()));
    vec![
        Cell::Text(Some(f.key())),
        text(&f.pack),
        text(&f.version),
        text(&f.clause),
        text(&f.control),
        text(&f.subject.kind),
        text(&f.subject.id),
        text(&f.severity),
        text(&f.message),
        text(&f.clause_text),
        Cell::Text(Some(canonical_json(&evidence_json(&f.evidence)))),
        text(&f.who_acts),
        Cell::Date(f.due),
        Cell::Text(f.undecided.clone()),
        text(s.state.as_str()),
        Cell::Time(Some(s.first_failing)),
        Cell::Time(Some(s.last_failing)),
        Cell::Time(s.resolved_at),
        Cell::Text(s.exception.clone()),
        Cell::Text(f.message_you.clone()),
        Cell::Int(Some(i64::from(s.escalation_step))),
        Cell::Text(Some(content_hash(f))),
    ]
}

pub(crate) fn event_cells(e: &FindingEvent) -> Vec<Cell> {
    vec![
        Cell::Int(Some(e.seq)),
        Cell::Text(Some(e.key.clone())),
        Cell::Time(Some(e.at)),
        Cell::Text(Some(e.event.as_str().to_owned())),
        Cell::Text(Some(e.state.as_str().to_owned())),
        Cell::Time(Some(e.first_failing)),
        Cell::Text(e.exception.clone()),
        Cell::Text(Some(canonical_json(&e.details))),
    ]
}

/// How a row is named in errors: its first column, except a session, whose key (the hash of a
/// cookie token) is shortened to what `Session`'s `Debug` shows.
pub(crate) fn row_label(table: &str, id: String) -> String {
    if table == "sessions" {
        crate::sign_ins::short_hash(&id)
    } else {
        id
    }
}

/// Takes the cells of one stored row in column order, naming the table, column and row in any
/// error.
pub(crate) struct CellReader {
    table: &'static str,
    columns: Columns,
    cells: std::vec::IntoIter<Cell>,
    next: usize,
    id: String,
}

impl CellReader {
    pub(crate) fn new(table: &'static str, columns: Columns, cells: Vec<Cell>) -> CellReader {
        let id = match cells.first() {
            Some(Cell::Text(Some(s))) => s.clone(),
            Some(Cell::Int(Some(n))) => n.to_string(),
            _ => String::new(),
        };
        CellReader {
            table,
            columns,
            cells: cells.into_iter(),
            next: 0,
            id: row_label(table, id),
        }
    }

    pub(crate) fn corrupt(&self, column: &'static str, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            column,
            id: self.id.clone(),
            reason: reason.into(),
        }
    }

    fn take(&mut self) -> Result<(&'static str, Cell)> {
        let column = self.columns.get(self.next).map_or("", |(name, _)| *name);
        self.next += 1;
        match self.cells.next() {
            Some(cell) => Ok((column, cell)),
            None => Err(self.corrupt(column, "missing column")),
        }
    }

    pub(crate) fn opt_text(&mut self) -> Result<(&'static str, Option<String>)> {
        match self.take()? {
            (column, Cell::Text(v)) => Ok((column, v)),
            (column, other) => Err(self.corrupt(column, format!("expected text, found {other:?}"))),
        }
    }

    pub(crate) fn text(&mut self) -> Result<String> {
        match self.opt_text()? {
            (_, Some(v)) => Ok(v),
            (column, None) => Err(self.corrupt(column, "unexpected NULL")),
        }
    }

    pub(crate) fn int(&mut self) -> Result<i64> {
        match self.take()? {
            (_, Cell::Int(Some(n))) => Ok(n),
            (column, other) => {
                Err(self.corrupt(column, format!("expected a number, found {other:?}")))
            }
        }
    }

    pub(crate) fn opt_int(&mut self) -> Result<Option<i64>> {
        match self.take()? {
            (_, Cell::Int(n)) => Ok(n),
            (column, other) => {
                Err(self.corrupt(column, format!("expected a number, found {other:?}")))
            }
        }
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.take()? {
            (_, Cell::Bool(Some(b))) => Ok(b),
            (column, Cell::Bool(None)) => Err(self.corrupt(column, "unexpected NULL")),
            (column, other) => {
                Err(self.corrupt(column, format!("expected a boolean, found {other:?}")))
            }
        }
    }

    pub(crate) fn opt_bool(&mut self) -> Result<Option<bool>> {
        match self.take()? {
            (_, Cell::Bool(b)) => Ok(b),
            (column, other) => {
                Err(self.corrupt(column, format!("expected a boolean, found {other:?}")))
            }
        }
    }

    pub(crate) fn opt_date(&mut self) -> Result<Option<NaiveDate>> {
        match self.take()? {
            (_, Cell::Date(d)) => Ok(d),
            (column, other) => {
                Err(self.corrupt(column, format!("expected a date, found {other:?}")))
            }
        }
    }

    pub(crate) fn date(&mut self) -> Result<NaiveDate> {
        match self.take()? {
            (_, Cell::Date(Some(d))) => Ok(d),
            (column, other) => {
                Err(self.corrupt(column, format!("expected a date, found {other:?}")))
            }
        }
    }

    pub(crate) fn opt_time(&mut self) -> Result<(&'static str, Option<DateTime<Utc>>)> {
        match self.take()? {
            (column, Cell::Time(t)) => Ok((column, t)),
            (column, other) => {
                Err(self.corrupt(column, format!("expected an instant, found {other:?}")))
            }
        }
    }

    pub(crate) fn time(&mut self) -> Result<DateTime<Utc>> {
        match self.opt_time()? {
            (_, Some(t)) => Ok(t),
            (column, None) => Err(self.corrupt(column, "unexpected NULL")),
        }
    }

    fn state(&mut self) -> Result<FindingState> {
        let (column, text) = self.opt_text()?;
        let text = text.unwrap_or_default();
        FindingState::parse(&text).ok_or_else(|| self.corrupt(column, format!("no state {text:?}")))
    }
}

/// A stored finding from its cells, refusing a key that disagrees with its parts (a row whose
/// key was changed behind steward's back would otherwise be reconciled under another key).
pub(crate) fn finding_from_cells(cells: Vec<Cell>) -> Result<StoredFinding> {
    let mut r = CellReader::new("findings", FINDING_COLUMNS, cells);
    let key = r.text()?;
    let pack = r.text()?;
    let version = r.text()?;
    let clause = r.text()?;
    let control = r.text()?;
    let kind = r.text()?;
    let id = r.text()?;
    let severity = r.text()?;
    let message = r.text()?;
    let clause_text = r.text()?;
    let evidence_text = r.text()?;
    let evidence: Evidence = serde_json::from_str::<BTreeMap<String, String>>(&evidence_text)
        .map_err(|e| r.corrupt("evidence", format!("{evidence_text:?}: {e}")))?
        .into_iter()
        .collect();
    let who_acts = r.text()?;
    let due = r.opt_date()?;
    let (_, undecided) = r.opt_text()?;
    let state = r.state()?;
    let first_failing = r.time()?;
    let last_failing = r.time()?;
    let (_, resolved_at) = r.opt_time()?;
    let (_, exception) = r.opt_text()?;
    let (_, message_you) = r.opt_text()?;
    let step = r.int()?;
    let escalation_step =
        u32::try_from(step).map_err(|_| r.corrupt("escalation_step", format!("{step}")))?;
    // Derived from the rest: a run reads it without the rest (`FindingsTx::load_control_priors`).
    let _content_hash = r.opt_text()?;
    let stored = StoredFinding {
        finding: Finding {
            pack: pack.into(),
            version: version.into(),
            clause: clause.into(),
            control: control.into(),
            subject: Subject {
                kind: kind.into(),
                id,
            },
            severity: severity.into(),
            message,
            message_you,
            clause_text: clause_text.into(),
            evidence,
            who_acts: who_acts.into(),
            due,
            undecided,
        },
        state,
        first_failing,
        last_failing,
        resolved_at,
        exception,
        escalation_step,
    };
    let derived = stored.finding.key();
    if derived != key {
        return Err(r.corrupt("key", format!("its parts give {derived:?}")));
    }
    Ok(stored)
}

pub(crate) fn prior_from_cells(cells: Vec<Cell>) -> Result<Prior> {
    let mut r = CellReader::new("findings", PRIOR_COLUMNS, cells);
    let key = r.text()?;
    let state = r.state()?;
    let due = r.opt_date()?;
    let (_, exception) = r.opt_text()?;
    let step = r.int()?;
    let escalation_step =
        u32::try_from(step).map_err(|_| r.corrupt("escalation_step", format!("{step}")))?;
    let (_, content_hash) = r.opt_text()?;
    Ok(Prior {
        key,
        lifecycle: Lifecycle {
            state,
            due,
            exception,
            escalation_step,
        },
        content_hash,
    })
}

pub(crate) fn event_from_cells(cells: Vec<Cell>) -> Result<FindingEvent> {
    let mut r = CellReader::new("finding_events", EVENT_COLUMNS, cells);
    let seq = r.int()?;
    let key = r.text()?;
    let at = r.time()?;
    let (column, event) = r.opt_text()?;
    let event = event.unwrap_or_default();
    let event = FindingEventKind::parse(&event)
        .ok_or_else(|| r.corrupt(column, format!("no event {event:?}")))?;
    let state = r.state()?;
    let first_failing = r.time()?;
    let (_, exception) = r.opt_text()?;
    let details_text = r.text()?;
    let details = serde_json::from_str(&details_text)
        .map_err(|e| r.corrupt("details", format!("{details_text:?}: {e}")))?;
    Ok(FindingEvent {
        seq,
        key,
        at,
        event,
        state,
        first_failing,
        exception,
        details,
    })
}

// --- the write path ---------------------------------------------------------------------------

/// What a backend offers inside one transaction to record a run.
pub(crate) trait FindingsTx: AuditTx {
    /// How this backend writes a statement's parameters.
    fn placeholder(&self) -> sql::Placeholder;
    /// The rows `statement` (every parameter text) reads of `table`, each as the cells of
    /// `columns`.
    fn query_cells(
        &mut self,
        statement: &str,
        params: &[String],
        table: &'static str,
        columns: Columns,
    ) -> Result<Vec<Vec<Cell>>>;
    /// Every stored finding of one control of one pack, or of these keys of it, in any state,
    /// `last_failing` as `sql::findings_of_control` reads it.
    fn load_control_findings(
        &mut self,
        of: (&str, &str),
        keys: Option<&[String]>,
    ) -> Result<Vec<StoredFinding>> {
        of_control(
            self,
            sql::findings_of_control,
            of,
            keys,
            FINDING_COLUMNS,
            finding_from_cells,
        )
    }
    /// The state and content hash of every stored finding of one control of one pack, or of
    /// these keys of it.
    fn load_control_priors(
        &mut self,
        of: (&str, &str),
        keys: Option<&[String]>,
    ) -> Result<Vec<Prior>> {
        of_control(
            self,
            sql::finding_priors_of_control,
            of,
            keys,
            PRIOR_COLUMNS,
            prior_from_cells,
        )
    }
    /// Writes the content hashes of findings that stay as they are (by key): derived, not audited.
    fn set_content_hashes(&mut self, hashes: &[(String, String)]) -> Result<()>;
    /// The controls of these packs with at least one finding still failing.
    fn failing_controls(&mut self, packs: &[String]) -> Result<Vec<(String, String)>>;
    fn insert_findings(&mut self, rows: &[StoredFinding]) -> Result<()>;
    /// Rewrites every column of these findings, by key.
    fn update_findings(&mut self, rows: &[StoredFinding]) -> Result<()>;
    /// The last run of every pack that has had one.
    fn check_runs(&mut self) -> Result<HashMap<String, DateTime<Utc>>>;
    /// Records `at` as the last run of these packs.
    /// Sets the packs' last run, and the audit log's head when it began reading (`None`: not
    /// known).
    fn set_check_runs(
        &mut self,
        packs: &[String],
        at: DateTime<Utc>,
        audit_seq: Option<i64>,
    ) -> Result<()>;
    fn append_finding_events(&mut self, events: &[FindingEvent]) -> Result<()>;
}

/// One control's stored findings (or those of `keys`) read with `select` as `columns`, each
/// made by `from`.
fn of_control<T, X: FindingsTx + ?Sized>(
    tx: &mut X,
    select: fn(sql::Placeholder, usize) -> String,
    of: (&str, &str),
    keys: Option<&[String]>,
    columns: Columns,
    from: fn(Vec<Cell>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for (statement, params) in sql::of_control(select, of, keys, tx.placeholder()) {
        for cells in tx.query_cells(&statement, &params, "findings", columns)? {
            out.push(from(cells)?);
        }
    }
    Ok(out)
}

/// The finding's own fields as JSON: what `updated` compares and the audit log records.
fn finding_json(f: &Finding) -> Map<String, Json> {
    let text = |s: &str| Json::String(s.to_owned());
    let mut m = Map::new();
    m.insert("key".into(), Json::String(f.key()));
    m.insert("pack".into(), text(&f.pack));
    m.insert("version".into(), text(&f.version));
    m.insert("clause".into(), text(&f.clause));
    m.insert("control".into(), text(&f.control));
    m.insert("subject_type".into(), text(&f.subject.kind));
    m.insert("subject_id".into(), text(&f.subject.id));
    m.insert("severity".into(), text(&f.severity));
    m.insert("message".into(), text(&f.message));
    // Only where there is one, so that records written before the key existed replay the same.
    if let Some(you) = &f.message_you {
        m.insert("message_you".into(), text(you));
    }
    m.insert("clause_text".into(), text(&f.clause_text));
    m.insert("evidence".into(), evidence_json(&f.evidence));
    m.insert("who_acts".into(), text(&f.who_acts));
    m.insert(
        "due".into(),
        f.due.map_or(Json::Null, |d| text(&iso_date(d))),
    );
    m.insert(
        "undecided".into(),
        f.undecided.as_deref().map_or(Json::Null, text),
    );
    m
}

/// The audit log's view of a stored finding: its content and lifecycle, canonical JSON. Leaves
/// out `last_failing`, which every run moves without an event.
pub(crate) fn audit_json(s: &StoredFinding) -> String {
    let time = |t: Option<DateTime<Utc>>| t.map_or(Json::Null, |t| Json::String(time_text(&t)));
    let mut m = finding_json(&s.finding);
    m.insert("state".into(), Json::String(s.state.as_str().to_owned()));
    m.insert("first_failing".into(), time(Some(s.first_failing)));
    m.insert("resolved_at".into(), time(s.resolved_at));
    m.insert(
        "exception".into(),
        s.exception.clone().map_or(Json::Null, Json::String),
    );
    // Only once a step is reached: records written before the ladder existed stay as they were.
    if s.escalation_step > 0 {
        m.insert("escalation_step".into(), json!(s.escalation_step));
    }
    canonical_json(&Json::Object(m))
}

/// The fields whose values differ, each with its `before` and `after`.
fn changed(before: &Finding, after: &Finding) -> Map<String, Json> {
    if before == after {
        return Map::new();
    }
    let b = finding_json(before);
    let a = finding_json(after);
    // A key only one side has (an optional one such as `message_you`) counts as null on the other.
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| a.get(*name) != b.get(*name))
        .map(|name| {
            let was = b.get(name).cloned().unwrap_or(Json::Null);
            let now = a.get(name).cloned().unwrap_or(Json::Null);
            (name.clone(), json!({ "before": was, "after": now }))
        })
        .collect()
}

/// The exceptions that match a finding, by what they match on.
struct Covers<'a> {
    by_subject: HashMap<(&'a str, &'a str, &'a str, &'a str), Vec<&'a ExceptionCover>>,
    by_id: HashMap<&'a str, &'a ExceptionCover>,
}

impl<'a> Covers<'a> {
    fn new(exceptions: &'a [ExceptionCover]) -> Covers<'a> {
        let mut by_subject: HashMap<_, Vec<_>> = HashMap::new();
        let mut by_id = HashMap::new();
        for e in exceptions {
            by_subject
                .entry((
                    e.pack.as_str(),
                    e.clause.as_str(),
                    e.subject_type.as_str(),
                    e.subject_id.as_str(),
                ))
                .or_default()
                .push(e);
            by_id.insert(e.id.as_str(), e);
        }
        Covers { by_subject, by_id }
    }

    /// The unexpired exception covering `finding` on `day`: the one it is excepted under already
    /// if that still covers it, else the one lasting longest (then the least id).
    fn active(
        &self,
        finding: &Finding,
        current: Option<&str>,
        day: NaiveDate,
    ) -> Option<&'a ExceptionCover> {
        let key = (
            &*finding.pack,
            &*finding.clause,
            &*finding.subject.kind,
            finding.subject.id.as_str(),
        );
        let candidates = self.by_subject.get(&key)?;
        let live = candidates.iter().copied().filter(|e| !e.expired_on(day));
        if let Some(id) = current
            && let Some(e) = live.clone().find(|e| e.id == id)
        {
            return Some(e);
        }
        // `None` (no expiry) lasts longest.
        live.max_by(|a, b| {
            let last = |e: &ExceptionCover| e.expires_on.map_or(NaiveDate::MAX, |d| d);
            last(a).cmp(&last(b)).then_with(|| b.id.cmp(&a.id))
        })
    }

    /// Why the exception `id` no longer covers a finding, for `exception_expired`'s details.
    fn lapse(&self, id: &str, finding: &Finding, day: NaiveDate) -> Json {
        match self.by_id.get(id) {
            Some(e) if e.matches(finding) && e.expired_on(day) => json!({
                "exception": id,
                "expires_on": e.expires_on.map(iso_date),
            }),
            _ => json!({ "exception": id, "withdrawn": true }),
        }
    }
}

/// What one finding becomes in this run.
struct Step {
    after: StoredFinding,
    event: FindingEventKind,
    details: Map<String, Json>,
}

/// What a run needs of a stored finding to decide whether it changes: its lifecycle, not its
/// content (of which [`content_hash`] stands for the rest).
#[derive(Debug, Clone)]
pub(crate) struct Lifecycle {
    pub state: FindingState,
    pub due: Option<NaiveDate>,
    pub exception: Option<String>,
    pub escalation_step: u32,
}

impl Lifecycle {
    fn of(stored: &StoredFinding) -> Lifecycle {
        Lifecycle {
            state: stored.state,
            due: stored.finding.due,
            exception: stored.exception.clone(),
            escalation_step: stored.escalation_step,
        }
    }
}

/// A stored finding's lifecycle and content hash, as a run reads them first
/// ([`FindingsTx::load_control_priors`]).
#[derive(Debug, Clone)]
pub(crate) struct Prior {
    pub key: String,
    pub lifecycle: Lifecycle,
    /// `None` for a finding stored before content hashes were kept.
    pub content_hash: Option<String>,
}

/// A hash of everything a finding says but its deadline (which a failing finding keeps from when
/// it began): two findings of one key with equal hashes say the same. SHA-256 over each field,
/// length first, so no two different findings encode alike.
pub(crate) fn content_hash(f: &Finding) -> String {
    ContentHash::of(f).as_str().to_owned()
}

/// A finding's content hash ([`content_hash`]) as its 32 hex digits, held without an
/// allocation: a run compares one for every finding it reports with the one stored.
struct ContentHash([u8; 32]);

impl ContentHash {
    fn as_str(&self) -> &str {
        // Hex digits are ASCII; the fallback is never taken.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn of(f: &Finding) -> ContentHash {
        use sha2::{Digest, Sha256};
        // Encoded whole, then hashed in one call: a call per field copied each small piece
        // into the hasher's block buffer, a third of the hash's time.
        let mut encoded: Vec<u8> = Vec::with_capacity(1024);
        let mut field = |text: Option<&str>| match text {
            None => encoded.push(0u8),
            Some(t) => {
                encoded.push(1u8);
                encoded.extend_from_slice(&(t.len() as u64).to_le_bytes());
                encoded.extend_from_slice(t.as_bytes());
            }
        };
        field(Some(&f.pack));
        field(Some(&f.version));
        field(Some(&f.clause));
        field(Some(&f.control));
        field(Some(&f.subject.kind));
        field(Some(&f.subject.id));
        field(Some(&f.severity));
        field(Some(&f.message));
        field(f.message_you.as_deref());
        field(Some(&f.clause_text));
        field(Some(&f.who_acts));
        field(f.undecided.as_deref());
        for (path, value) in &f.evidence {
            field(Some(path));
            field(Some(value));
        }
        field(None);
        // Half the hash is plenty to tell a finding from its own earlier self.
        let hash = Sha256::digest(&encoded);
        let mut digits = [0u8; 32];
        // 16 bytes always fit 32 digits; were they not to, the digits would be zeros and only
        // rewrite the stored hash.
        let _ = hex::encode_to_slice(hash.get(..16).unwrap_or(&hash), &mut digits);
        ContentHash(digits)
    }
}

/// How a failing finding's state moves in a run, decided from its stored state alone.
struct Move<'c> {
    state: FindingState,
    cover: Option<&'c ExceptionCover>,
    /// The escalation steps held before this run and reached by it.
    held: u32,
    reached: u32,
    /// The event this run records; `None` when nothing but `last_failing` changes (for a finding
    /// already stored, and only if its content is the same, `same_content`).
    event: Option<FindingEventKind>,
}

/// A stored, still-failing finding's deadline stays: later runs, which compute it afresh from
/// their own date, must not move it.
fn kept_due(prior: Option<&Lifecycle>, finding: &Finding) -> Option<NaiveDate> {
    match prior {
        Some(p) if p.state != FindingState::Resolved => p.due,
        _ => finding.due,
    }
}

/// Decides [`Move`] for a finding failing in this run, due on `due` (its [`kept_due`]).
fn decide<'c>(
    prior: Option<&Lifecycle>,
    finding: &Finding,
    due: Option<NaiveDate>,
    same_content: bool,
    today: NaiveDate,
    covers: &Covers<'c>,
    ladder: &[LadderStep],
) -> Move<'c> {
    let current = prior.and_then(|b| b.exception.as_deref());
    let cover = covers.active(finding, current, today);
    // The first escalation step: still failing the day after it was due.
    let overdue = due.is_some_and(|due| due < today);
    let was_escalated = prior.is_some_and(|b| b.state == FindingState::Escalated);
    let state = if cover.is_some() {
        FindingState::Excepted
    } else if overdue || was_escalated {
        FindingState::Escalated
    } else {
        FindingState::Open
    };
    let exception = cover.map(|e| e.id.as_str());
    // The ladder's steps reached: step k once its days have passed after the due date. A step
    // once reached stays reached for the episode, even through an exception.
    let held = prior
        .filter(|b| b.state != FindingState::Resolved)
        .map_or(0, |b| b.escalation_step);
    let reached = match due {
        Some(due) if state == FindingState::Escalated => ladder
            .iter()
            .filter(|s| {
                due.checked_add_days(chrono::Days::new(u64::from(s.after_days)))
                    .is_some_and(|d| d < today)
            })
            .count(),
        _ => 0,
    };
    let reached = u32::try_from(reached).unwrap_or(u32::MAX).max(held);
    let event = match prior {
        None => Some(match state {
            FindingState::Excepted => FindingEventKind::Excepted,
            FindingState::Escalated => FindingEventKind::Escalated,
            _ => FindingEventKind::Opened,
        }),
        Some(b) if b.state == FindingState::Resolved => Some(FindingEventKind::Reopened),
        Some(b) => {
            if state == FindingState::Excepted
                && (b.state != FindingState::Excepted || b.exception.as_deref() != exception)
            {
                Some(FindingEventKind::Excepted)
            } else if b.state == FindingState::Excepted && state != FindingState::Excepted {
                Some(FindingEventKind::ExceptionExpired)
            } else if state == FindingState::Escalated
                && (b.state != FindingState::Escalated || reached > held)
            {
                Some(FindingEventKind::Escalated)
            } else if !same_content {
                Some(FindingEventKind::Updated)
            } else {
                None
            }
        }
    };
    Move {
        state,
        cover,
        held,
        reached,
        event,
    }
}

/// The next state of a failing finding. `None` when nothing but `last_failing` changes.
fn failing(
    before: Option<&StoredFinding>,
    finding: Finding,
    at: DateTime<Utc>,
    covers: &Covers<'_>,
    ladder: &[LadderStep],
) -> Option<Step> {
    let today = at.date_naive();
    let prior = before.map(Lifecycle::of);
    let prior = prior.as_ref();
    let mut finding = finding;
    finding.due = kept_due(prior, &finding);
    let same_content = before.is_some_and(|b| b.finding == finding);
    let Move {
        state,
        cover,
        held,
        reached,
        event,
    } = decide(
        prior,
        &finding,
        finding.due,
        same_content,
        today,
        covers,
        ladder,
    );
    let event = event?;
    let current = prior.and_then(|b| b.exception.as_deref());
    let exception = cover.map(|e| e.id.clone());
    let mut details = Map::new();
    let cover_details = |details: &mut Map<String, Json>| {
        if let Some(e) = cover {
            details.insert("exception".into(), Json::String(e.id.clone()));
            details.insert(
                "expires_on".into(),
                e.expires_on
                    .map_or(Json::Null, |d| Json::String(iso_date(d))),
            );
        }
    };
    let opened = |details: &mut Map<String, Json>, f: &Finding| {
        details.insert("severity".into(), Json::String(f.severity.to_string()));
        details.insert("message".into(), Json::String(f.message.clone()));
    };

    let first_failing = match before {
        None => {
            opened(&mut details, &finding);
            cover_details(&mut details);
            at
        }
        Some(b) if b.state == FindingState::Resolved => {
            details.insert(
                "previous".into(),
                json!({
                    "first_failing": time_text(&b.first_failing),
                    "resolved_at": b.resolved_at.map(|t| time_text(&t)),
                }),
            );
            opened(&mut details, &finding);
            cover_details(&mut details);
            at
        }
        Some(b) => {
            match event {
                FindingEventKind::Excepted => cover_details(&mut details),
                FindingEventKind::ExceptionExpired => {
                    let lapse = covers.lapse(current.unwrap_or_default(), &b.finding, today);
                    if let Json::Object(lapse) = lapse {
                        details.extend(lapse);
                    }
                }
                _ => {}
            }
            b.first_failing
        }
    };
    if state == FindingState::Escalated {
        details.insert(
            "due".into(),
            finding
                .due
                .map_or(Json::Null, |d| Json::String(iso_date(d))),
        );
    }
    // Who is to be told of this escalation: whoever acts on first passing the due date, then
    // each step of the ladder newly reached (a run that comes late tells every step it passed).
    let escalation_step = if event == FindingEventKind::Escalated {
        let mut to = Vec::new();
        if !before.is_some_and(|b| b.state == FindingState::Escalated) {
            to.push(Json::String(finding.who_acts.to_string()));
        }
        let from = usize::try_from(held).unwrap_or(usize::MAX);
        let upto = usize::try_from(reached).unwrap_or(usize::MAX);
        to.extend(
            ladder
                .iter()
                .take(upto)
                .skip(from)
                .map(|s| Json::String(s.to.clone())),
        );
        details.insert("step".into(), json!(reached));
        details.insert("to".into(), Json::Array(to));
        reached
    } else {
        held
    };
    if let Some(b) = before {
        let changes = changed(&b.finding, &finding);
        if !changes.is_empty() {
            details.insert("changed".into(), Json::Object(changes));
        }
    }
    Some(Step {
        after: StoredFinding {
            finding,
            state,
            first_failing,
            last_failing: at,
            resolved_at: None,
            exception,
            escalation_step,
        },
        event,
        details,
    })
}

/// A stored failing finding that this run no longer reports.
fn resolve(before: &StoredFinding, at: DateTime<Utc>) -> Step {
    let mut details = Map::new();
    if let Some(id) = &before.exception {
        details.insert("exception".into(), Json::String(id.clone()));
    }
    Step {
        after: StoredFinding {
            state: FindingState::Resolved,
            resolved_at: Some(at),
            exception: None,
            ..before.clone()
        },
        event: FindingEventKind::Resolved,
        details,
    }
}

/// One check control's findings in a run: every subject failing it (none, if none fails).
#[derive(Debug, Clone)]
pub struct FindingBatch {
    pub pack: String,
    pub control: String,
    pub findings: Vec<Finding>,
    /// The control's escalation ladder, as its pack states it; empty: "past due" is the only step.
    pub ladder: Vec<LadderStep>,
    /// `None`: the control was evaluated over every subject of its kind. `Some`: only over these
    /// (a run after a change to them); the stored findings of its other subjects stand as they
    /// are, rather than resolving.
    pub subjects: Option<Arc<SubjectsEvaluated>>,
}

/// How many findings a control may have for them to be keyed while the control before is
/// recorded ([`record_batches`]); a larger control is keyed in its turn.
const KEYED_AHEAD_MOST: usize = 100_000;

/// What a [`FindingBatch`] says of its control, its findings apart.
struct Head {
    pack: String,
    control: String,
    ladder: Vec<LadderStep>,
    subjects: Option<Arc<SubjectsEvaluated>>,
}

/// A control's findings in this run by key, each with its content hash.
type Run = BTreeMap<String, (Finding, ContentHash)>;

/// A control's findings keyed and hashed: what recording the control needs before it reads
/// anything.
struct Keyed {
    run: Run,
    /// The control's stored states, where read already ([`SideReader`]).
    priors: Option<Vec<Prior>>,
}

/// Reads one whole control's stored states ([`FindingsTx::load_control_priors`]) on a
/// connection of its own, while the run's transaction records the control before.
pub(crate) type SideReader<'s> = &'s (dyn Fn((&str, &str)) -> Result<Vec<Prior>> + Sync);

impl Keyed {
    /// `batch`'s findings keyed, each checked to be about its control and (where the batch
    /// says) one of the subjects evaluated, none twice.
    fn of(batch: FindingBatch) -> (Head, Result<Keyed>) {
        let FindingBatch {
            pack,
            control,
            findings,
            ladder,
            subjects,
        } = batch;
        let keyed = Keyed::checked(&pack, &control, findings, subjects.as_deref());
        let head = Head {
            pack,
            control,
            ladder,
            subjects,
        };
        (head, keyed)
    }

    fn checked(
        pack: &str,
        control: &str,
        findings: Vec<Finding>,
        subjects: Option<&SubjectsEvaluated>,
    ) -> Result<Keyed> {
        let mut keyed: Vec<(String, Finding)> = Vec::with_capacity(findings.len());
        for finding in findings {
            let key = finding.key();
            if *finding.pack != *pack || *finding.control != *control {
                return Err(StoreError::InvalidFinding {
                    key,
                    reason: format!("handed over with the findings of {pack}/{control}"),
                });
            }
            if let Some(subjects) = subjects
                && !subjects.holds(&finding.subject)
            {
                return Err(StoreError::InvalidFinding {
                    key,
                    reason: "about a subject the control was not evaluated over".into(),
                });
            }
            keyed.push((key, finding));
        }
        // The engine hands a control's findings over in their subjects' order, so this sort
        // is one pass; then a key reported twice sits beside itself.
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(twice) = keyed.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(StoreError::InvalidFinding {
                key: twice[0].0.clone(),
                reason: "reported twice in one run".into(),
            });
        }
        // Built from sorted keys at once, not a key at a time.
        let run = keyed
            .into_iter()
            .map(|(key, finding)| {
                let hash = ContentHash::of(&finding);
                (key, (finding, hash))
            })
            .collect();
        Ok(Keyed { run, priors: None })
    }
}

/// The subjects a control was evaluated over, where not every one of its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectsEvaluated {
    /// Their kind, as findings name it (`asset`).
    pub kind: String,
    pub ids: BTreeSet<String>,
}

impl SubjectsEvaluated {
    /// Whether `subject` is one of these.
    pub fn holds(&self, subject: &Subject) -> bool {
        subject.kind == self.kind && self.ids.contains(&subject.id)
    }

    /// The keys of the findings of control `pack/control` about these subjects.
    fn keys(&self, pack: &str, control: &str) -> BTreeSet<String> {
        self.ids
            .iter()
            .map(|id| {
                Subject {
                    kind: self.kind.clone().into(),
                    id: id.clone(),
                }
                .key_in(pack, control)
            })
            .collect()
    }
}

/// One step of a control's escalation ladder: once `after_days` have passed after a failing
/// finding's due date, `to` is told (`line_manager`, `it_team`, `governance_team`, `iao`, …).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LadderStep {
    pub after_days: u32,
    pub to: String,
}

/// Every control's ladder, by pack and control; a control not here has none.
pub type Ladders = BTreeMap<(String, String), Vec<LadderStep>>;

/// Hands [`crate::Store::record_findings_batched`] the run's next control, or `None` when the
/// run is complete; an error abandons the whole run (nothing is written).
pub type NextBatch<'a> = dyn FnMut() -> Result<Option<FindingBatch>> + 'a;

/// A whole run's findings as batches, one per control, in the order of their keys.
pub(crate) fn batches(
    findings: Vec<Finding>,
    ladders: &Ladders,
) -> impl Iterator<Item = FindingBatch> + '_ {
    let mut groups: BTreeMap<(Shared, Shared), Vec<Finding>> = BTreeMap::new();
    for finding in findings {
        groups
            .entry((finding.pack.clone(), finding.control.clone()))
            .or_default()
            .push(finding);
    }
    groups.into_iter().map(|((pack, control), findings)| {
        let (pack, control) = (pack.to_string(), control.to_string());
        FindingBatch {
            ladder: ladders
                .get(&(pack.clone(), control.clone()))
                .cloned()
                .unwrap_or_default(),
            pack,
            control,
            findings,
            subjects: None,
        }
    })
}

/// Where the packs' last runs began: what a run after a change starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckMark {
    /// The audit log's head when the earliest of them began reading the estate.
    pub audit_seq: i64,
    /// The earliest of their times.
    pub at: DateTime<Utc>,
}

/// Each pack's last run: the audit log's head when it began (where kept) and its time.
pub(crate) type CheckMarks = HashMap<String, (Option<i64>, DateTime<Utc>)>;

/// The earliest of `packs`' marks (each pack's audit head and time), `None` where one has none.
pub(crate) fn earliest_mark(packs: &[String], marks: &CheckMarks) -> Option<CheckMark> {
    let each = packs
        .iter()
        .map(|p| {
            let (seq, at) = marks.get(p)?;
            Some((seq.as_ref().copied()?, *at))
        })
        .collect::<Option<Vec<(i64, DateTime<Utc>)>>>()?;
    Some(CheckMark {
        audit_seq: each.iter().map(|m| m.0).min()?,
        at: each.iter().map(|m| m.1).min()?,
    })
}

/// What a check run evaluated, as its findings are recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCover {
    /// Only some controls (those a change touched): the stored findings of the controls it did
    /// not hand over stand as they are, rather than resolving.
    pub some_controls: bool,
    /// The audit log's head when the run began reading the estate: a later run after a change
    /// need re-evaluate only what changed after it ([`crate::Store::check_mark`]).
    pub audit_seq: Option<i64>,
}

/// Records one run of `packs` handed over control by control, in the caller's transaction:
/// each control's findings are reconciled with the stored findings of that control and written
/// (rows, events, audit records) before the next is asked for, so memory holds one control's
/// findings, never the run's. Once every batch is in, the stored failing findings of controls
/// no batch named are resolved: a run resolves only what it evaluated in full.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_batches(
    tx: &mut dyn FindingsTx,
    actor: &str,
    at: DateTime<Utc>,
    packs: &[String],
    exceptions: &[ExceptionCover],
    cover: RunCover,
    next: &mut NextBatch<'_>,
    side: Option<SideReader<'_>>,
) -> Result<FindingsSummary> {
    // Both backends keep microseconds; comparing against what they give back needs the same.
    let at = at.trunc_subsecs(6);
    let evaluated: BTreeSet<&str> = packs.iter().map(String::as_str).collect();
    let packs: Vec<String> = evaluated.iter().map(|p| (*p).to_owned()).collect();

    // The head is locked before reading, so concurrent runs reconcile one after the other.
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let runs = tx.check_runs()?;
    if let Some(latest) = packs
        .iter()
        .filter_map(|p| runs.get(p).copied())
        .max()
        .filter(|latest| *latest > at)
    {
        return Err(StoreError::StaleRun { at, latest });
    }

    let covers = Covers::new(exceptions);
    let mut summary = FindingsSummary::default();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut total = 0usize;
    // Each control's findings are keyed and their contents hashed on a second thread while the
    // control before is recorded (reading its stored states waits on the database): one control
    // ahead, and none ahead that is large, so memory holds at most one large control.
    std::thread::scope(|scope| -> Result<()> {
        let (to_key, keying) = std::sync::mpsc::sync_channel::<FindingBatch>(0);
        // Room for one keyed control: the second thread keys the next while this one takes it.
        let (give_keyed, keyed) = std::sync::mpsc::sync_channel::<(Head, Result<Keyed>)>(1);
        scope.spawn(move || {
            for batch in keying {
                let (head, mut keyed) = Keyed::of(batch);
                // The stored states of a whole control, read beside the recording where the
                // backend can (after the head was locked above: what the run's own transaction
                // would read).
                if let (Ok(keyed), Some(side), None) = (&mut keyed, side, &head.subjects) {
                    keyed.priors = side((&head.pack, &head.control))
                        .inspect_err(|e| {
                            tracing::debug!(error = %e, "stored states read in the run instead")
                        })
                        .ok();
                }
                if give_keyed.send((head, keyed)).is_err() {
                    return;
                }
            }
        });
        let mut record = |batch: Head, done: Result<Keyed>| -> Result<()> {
            if !evaluated.contains(batch.pack.as_str()) {
                return Err(StoreError::InvalidFinding {
                    key: format!("{}/{}", batch.pack, batch.control),
                    reason: format!("its pack {:?} is not among those evaluated", batch.pack),
                });
            }
            if !seen.insert((batch.pack.clone(), batch.control.clone())) {
                return Err(StoreError::InvalidFinding {
                    key: format!("{}/{}", batch.pack, batch.control),
                    reason: "the control was reported twice in one run".into(),
                });
            }
            let Keyed { run, priors } = done?;
            total += run.len();
            reconcile_control(
                tx,
                &mut audit,
                &mut summary,
                at,
                &covers,
                (&batch.pack, &batch.control),
                &run,
                priors,
                &batch.ladder,
                batch.subjects.as_deref(),
            )?;
            // Freed beside the next control's recording, not before it.
            steward_model::side_by_side::let_go(run);
            Ok(())
        };
        let mut ahead = false;
        loop {
            // A small control is handed over before the one ahead is recorded, and keyed
            // meanwhile; a large one (or the end) waits here until it is.
            let (sent, here) = match next()? {
                Some(batch) if batch.findings.len() <= KEYED_AHEAD_MOST => {
                    let _ = to_key.send(batch);
                    (true, None)
                }
                other => (false, other),
            };
            if ahead {
                let (batch, done) = keyed.recv().map_err(|_| StoreError::Abandoned)?;
                record(batch, done)?;
            }
            ahead = sent;
            if sent {
                continue;
            }
            let Some(batch) = here else {
                return Ok(());
            };
            let (batch, done) = Keyed::of(batch);
            record(batch, done)?;
        }
    })?;
    // Controls that failed before and reported nothing this run: every finding of theirs
    // resolves — where the run evaluated every control. One of some controls leaves the others'.
    let unreported = if cover.some_controls {
        Vec::new()
    } else {
        tx.failing_controls(&packs)?
    };
    for (pack, control) in unreported {
        if seen.contains(&(pack.clone(), control.clone())) {
            continue;
        }
        let stored = tx.load_control_findings((&pack, &control), None)?;
        reconcile(
            tx,
            &mut audit,
            &mut summary,
            at,
            &covers,
            &Run::new(),
            Some(stored),
            &[],
            &[],
        )?;
    }
    tx.set_check_runs(&packs, at, cover.audit_seq)?;
    summary.audit_range = audit.finish(tx)?;
    tracing::debug!(packs = packs.len(), findings = total, "findings recorded");
    Ok(summary)
}

/// Reconciles one control's findings in this run with those stored, and writes the changes.
///
/// The stored findings' states and content hashes are read first: where each either is new or
/// stays as it is (the usual case, run after run), nothing more is read, and only the new ones
/// are written. Otherwise the control's findings are read whole, for the events' details and the
/// audit log's `before`. Where only some `subjects` were evaluated, the stored findings of the
/// others are left out: they stand as they are.
#[allow(clippy::too_many_arguments)]
fn reconcile_control(
    tx: &mut dyn FindingsTx,
    audit: &mut AuditChain,
    summary: &mut FindingsSummary,
    at: DateTime<Utc>,
    covers: &Covers,
    (pack, control): (&str, &str),
    run: &Run,
    priors: Option<Vec<Prior>>,
    ladder: &[LadderStep],
    subjects: Option<&SubjectsEvaluated>,
) -> Result<()> {
    let today = at.date_naive();
    // Over some subjects, only their findings are read: the others' stand as they are.
    let keys: Option<Vec<String>> = subjects.map(|s| s.keys(pack, control).into_iter().collect());
    let mut priors = match priors {
        Some(priors) => priors,
        None => tx.load_control_priors((pack, control), keys.as_deref())?,
    };
    // In key order already where read through `findings_priors`: then this is one pass.
    priors.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let (beside, resolves) = beside(run, &priors);
    let mut quiet = !resolves;
    for ((finding, hash), prior) in run.values().zip(&beside) {
        if !quiet {
            break;
        }
        let Some(prior) = prior else {
            continue;
        };
        let lifecycle = Some(&prior.lifecycle);
        let same = prior.content_hash.as_deref() == Some(hash.as_str());
        let due = kept_due(lifecycle, finding);
        quiet = same
            && decide(lifecycle, finding, due, same, today, covers, ladder)
                .event
                .is_none();
    }
    // Quiet: every stored finding stays as it is, and only the new ones are written.
    let stored = if quiet {
        None
    } else {
        Some(tx.load_control_findings((pack, control), keys.as_deref())?)
    };
    reconcile(tx, audit, summary, at, covers, run, stored, &beside, ladder)
}

/// Each finding of `run` (in its key order) beside its stored prior, if it has one, and whether
/// a stored finding still failing is missing from `run` (it resolves). `priors` in key order:
/// the two are walked side by side, with no map of either.
fn beside<'p, F>(run: &BTreeMap<String, F>, priors: &'p [Prior]) -> (Vec<Option<&'p Prior>>, bool) {
    let mut beside = Vec::with_capacity(run.len());
    let mut resolves = false;
    let mut rest = priors.iter().peekable();
    for key in run.keys() {
        while let Some(gone) = rest.next_if(|p| p.key < *key) {
            resolves |= gone.lifecycle.state.is_failing();
        }
        beside.push(rest.next_if(|p| p.key == *key));
    }
    resolves |= rest.any(|gone| gone.lifecycle.state.is_failing());
    (beside, resolves)
}

/// Reconciles one control's findings in this run with those stored, and writes the changes.
/// `stored`: the control's stored findings read whole; `None` where every one of them (each in
/// `priors`) is known to stay as it is. `priors`: each finding of `run`'s stored prior, in `run`'s
/// order ([`beside`]); they also give the content hashes stored: one missing or out of date for
/// a finding that stays as it is is written.
#[allow(clippy::too_many_arguments)]
fn reconcile(
    tx: &mut dyn FindingsTx,
    audit: &mut AuditChain,
    summary: &mut FindingsSummary,
    at: DateTime<Utc>,
    covers: &Covers,
    run: &Run,
    stored: Option<Vec<StoredFinding>>,
    priors: &[Option<&Prior>],
    ladder: &[LadderStep],
) -> Result<()> {
    let all_stay = stored.is_none();
    let stored: BTreeMap<String, StoredFinding> = stored
        .into_iter()
        .flatten()
        .map(|s| (s.finding.key(), s))
        .collect();
    let mut writes = Writes::default();
    let mut unchanged = 0;
    for (i, (key, (finding, hash))) in run.iter().enumerate() {
        // As long as `run` where given; were it shorter, a finding stored would be taken for
        // new, and its insert refused.
        let prior = priors.get(i).copied().flatten();
        if all_stay && prior.is_some() {
            unchanged += 1;
            continue;
        }
        let before = stored.get(key);
        match failing(before, finding.clone(), at, covers, ladder) {
            Some(step) => writes.apply(audit, summary, at, key.clone(), before, step),
            None => {
                unchanged += 1;
                let known = prior.and_then(|p| p.content_hash.as_deref());
                if known != Some(hash.as_str()) {
                    writes.hashes.push((key.clone(), hash.as_str().to_owned()));
                }
            }
        }
        if writes.len() >= WRITE_EVERY {
            writes.write(tx, audit)?;
        }
    }
    for (key, before) in &stored {
        if before.state.is_failing() && !run.contains_key(key) {
            writes.apply(
                audit,
                summary,
                at,
                key.clone(),
                Some(before),
                resolve(before, at),
            );
        }
    }
    summary.unchanged += unchanged;
    writes.write(tx, audit)
}

/// One control's changes not yet written.
#[derive(Default)]
struct Writes {
    inserts: Vec<StoredFinding>,
    updates: Vec<StoredFinding>,
    events: Vec<FindingEvent>,
    hashes: Vec<(String, String)>,
}

impl Writes {
    /// Chains the audit record of one finding's step and holds its row and event.
    fn apply(
        &mut self,
        audit: &mut AuditChain,
        summary: &mut FindingsSummary,
        at: DateTime<Utc>,
        key: String,
        before: Option<&StoredFinding>,
        step: Step,
    ) {
        let seq = audit.append(
            if before.is_some() { "update" } else { "create" },
            FINDING_ENTITY,
            &key,
            before.map(audit_json),
            Some(audit_json(&step.after)),
        );
        summary.count(step.event);
        self.events.push(FindingEvent {
            seq,
            key,
            at,
            event: step.event,
            state: step.after.state,
            first_failing: step.after.first_failing,
            exception: step.after.exception.clone(),
            details: Json::Object(step.details),
        });
        if before.is_some() {
            self.updates.push(step.after);
        } else {
            self.inserts.push(step.after);
        }
    }

    fn len(&self) -> usize {
        self.events.len() + self.hashes.len()
    }

    /// Writes what is held, with the audit records chained so far, and holds nothing after.
    fn write(&mut self, tx: &mut dyn FindingsTx, audit: &mut AuditChain) -> Result<()> {
        tx.insert_findings(&self.inserts)?;
        tx.update_findings(&self.updates)?;
        tx.set_content_hashes(&self.hashes)?;
        tx.append_finding_events(&self.events)?;
        audit.flush(tx)?;
        *self = Writes::default();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
    }

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 9, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn finding(due: Option<NaiveDate>) -> Finding {
        Finding {
            pack: "p".into(),
            version: "1".into(),
            clause: "2.1".into(),
            control: "c".into(),
            subject: Subject {
                kind: "asset".into(),
                id: "LT1".into(),
            },
            severity: "high".into(),
            message: "m".into(),
            message_you: None,
            clause_text: "t".into(),
            evidence: Default::default(),
            who_acts: "it_team".into(),
            due,
            undecided: None,
        }
    }

    /// A run's findings beside the stored ones, walked in key order: each finding with its own
    /// prior, and whether a stored finding still failing is not in the run.
    #[test]
    fn a_runs_findings_meet_their_priors_in_key_order() {
        let prior = |key: &str, state| Prior {
            key: key.into(),
            lifecycle: Lifecycle {
                state,
                due: None,
                exception: None,
                escalation_step: 0,
            },
            content_hash: None,
        };
        use FindingState::{Open, Resolved};
        /// The run's keys, the stored (key, state), each run key's prior's key, resolves.
        type Case<'a> = (
            &'a [&'a str],
            &'a [(&'a str, FindingState)],
            &'a [Option<&'a str>],
            bool,
        );
        let cases: &[Case] = &[
            (&[], &[], &[], false),
            (&["b"], &[], &[None], false),
            (&[], &[("a", Open)], &[], true),
            (&[], &[("a", Resolved)], &[], false),
            (
                &["a", "c"],
                &[("a", Open), ("c", Open)],
                &[Some("a"), Some("c")],
                false,
            ),
            // Stored before, between and after the run's keys.
            (
                &["b", "d"],
                &[
                    ("a", Resolved),
                    ("b", Open),
                    ("c", Resolved),
                    ("e", Resolved),
                ],
                &[Some("b"), None],
                false,
            ),
            (&["b"], &[("a", Open), ("b", Open)], &[Some("b")], true),
            (&["b"], &[("b", Open), ("c", Open)], &[Some("b")], true),
            (&["a", "b"], &[("ab", Open)], &[None, None], true),
            (&["ab"], &[("a", Resolved), ("b", Resolved)], &[None], false),
        ];
        for (keys, stored, expected, resolves) in cases {
            let run: BTreeMap<String, Finding> = keys
                .iter()
                .map(|k| ((*k).to_owned(), finding(None)))
                .collect();
            let priors: Vec<Prior> = stored.iter().map(|(k, s)| prior(k, *s)).collect();
            let (got, got_resolves) = beside(&run, &priors);
            let got: Vec<Option<&str>> = got.iter().map(|p| p.map(|p| p.key.as_str())).collect();
            assert_eq!(&got, expected, "{keys:?} beside {stored:?}");
            assert_eq!(got_resolves, *resolves, "{keys:?} beside {stored:?}");
        }
    }

    /// Stored hashes outlive the binary that wrote them: a change to how a finding is hashed
    /// would make every stored finding look changed, and the next run read and rewrite them all.
    #[test]
    fn a_findings_content_hash_stays_what_earlier_versions_stored() {
        let mut f = finding(Some(day(30)));
        f.message_you = Some("Your laptop".into());
        f.evidence
            .insert("asset.last_seen".into(), "2026-10-01".into());
        f.evidence.insert("asset.kind".into(), "laptop".into());
        assert_eq!(content_hash(&f), "918743db63478a6988820adbd3206892");
        // The deadline is not content; every other field is.
        f.due = None;
        assert_eq!(content_hash(&f), "918743db63478a6988820adbd3206892");
        f.undecided = Some("".into());
        assert_ne!(content_hash(&f), "918743db63478a6988820adbd3206892");
    }

    fn cover(id: &str, expires_on: Option<NaiveDate>) -> ExceptionCover {
        ExceptionCover {
            id: id.into(),
            pack: "p".into(),
            clause: "2.1".into(),
            subject_type: "asset".into(),
            subject_id: "LT1".into(),
            expires_on,
        }
    }

    #[test]
    fn an_exception_covers_through_its_last_day() {
        let e = cover("E1", Some(day(10)));
        assert!(!e.expired_on(day(10)));
        assert!(e.expired_on(day(11)));
        assert!(!cover("E2", None).expired_on(day(30)));
    }

    #[test]
    fn the_longest_lasting_live_exception_covers_unless_one_already_does() {
        let exceptions = [
            cover("E1", Some(day(5))),
            cover("E2", Some(day(20))),
            cover("E3", Some(day(15))),
        ];
        let covers = Covers::new(&exceptions);
        let f = finding(None);
        let id = |c: Option<&ExceptionCover>| c.map(|e| e.id.clone());
        assert_eq!(id(covers.active(&f, None, day(6))), Some("E2".into()));
        assert_eq!(id(covers.active(&f, Some("E3"), day(6))), Some("E3".into()));
        assert_eq!(id(covers.active(&f, Some("E1"), day(6))), Some("E2".into()));
        assert_eq!(covers.active(&f, None, day(21)), None);
        let mut other = f.clone();
        other.clause = "2.2".into();
        assert_eq!(covers.active(&other, None, day(1)), None);
    }

    #[test]
    fn an_overdue_failure_escalates_and_stays_escalated() {
        let none = Covers::new(&[]);
        let new = failing(None, finding(Some(day(3))), at(3), &none, &[]).unwrap();
        assert_eq!(
            (new.event, new.after.state),
            (FindingEventKind::Opened, FindingState::Open)
        );
        let late = failing(Some(&new.after), finding(Some(day(3))), at(4), &none, &[]).unwrap();
        assert_eq!(
            (late.event, late.after.state),
            (FindingEventKind::Escalated, FindingState::Escalated)
        );
        assert_eq!(late.after.first_failing, at(3));
        // Failing on unchanged: no event. A later run computes a later due date from its own day;
        // the deadline stays the one set when the finding started failing, so nothing changes.
        assert!(failing(Some(&late.after), finding(Some(day(3))), at(5), &none, &[]).is_none());
        assert!(failing(Some(&late.after), finding(Some(day(30))), at(5), &none, &[]).is_none());
        let resolved = resolve(&late.after, at(6));
        assert_eq!(resolved.after.state, FindingState::Resolved);
        assert_eq!(resolved.after.resolved_at, Some(at(6)));
    }

    #[test]
    fn the_audit_view_leaves_out_last_failing_only() {
        let step = failing(None, finding(None), at(1), &Covers::new(&[]), &[]).unwrap();
        let mut later = step.after.clone();
        later.last_failing = at(2);
        assert_eq!(audit_json(&step.after), audit_json(&later));
        later.state = FindingState::Escalated;
        assert_ne!(audit_json(&step.after), audit_json(&later));
        let json: Json = serde_json::from_str(&audit_json(&step.after)).unwrap();
        assert_eq!(json["key"], "p/c/asset/LT1");
        assert_eq!(json["first_failing"], "2026-11-01T09:00:00.000000Z");
    }

    #[test]
    fn cells_round_trip() {
        let mut f = finding(Some(day(9)));
        f.evidence
            .insert("asset.last_seen".into(), "2026-01-01".into());
        f.undecided = Some("no data".into());
        let stored = StoredFinding {
            finding: f,
            state: FindingState::Excepted,
            first_failing: at(1),
            last_failing: at(2),
            resolved_at: None,
            exception: Some("E1".into()),
            escalation_step: 2,
        };
        assert_eq!(finding_from_cells(finding_cells(&stored)).unwrap(), stored);
        let mut forged = finding_cells(&stored);
        forged[6] = Cell::Text(Some("LT2".into()));
        let err = finding_from_cells(forged).unwrap_err().to_string();
        assert!(err.contains("its parts give"), "{err}");
        assert_eq!(finding_cells(&stored).len(), FINDING_COLUMNS.len());
    }
}
