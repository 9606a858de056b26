//! The pages people work in, and their CSV exports. Each handler gathers what it shows through
//! the service on the blocking pool and renders one template.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use steward_model::{Asset, Finding, Person, PersonStatus, Request, StoredFinding, Subject};
use steward_policy::Pack;
use steward_service::{Capacity, FindingOrder, FindingQuery, Viewer};

use crate::access;
use crate::forms::{Errors, Input, Refusal};
use crate::{AppState, Signed, WebError, blocking};

/// The most rows a list page shows; the CSV export has them all.
const PAGE_ROWS: usize = 500;

/// The findings a page shows: each row is wide (message, clause, subject), and the most severe
/// and oldest come first, so a screenful or two is what anyone reads; the CSV has them all.
const FINDING_ROWS: usize = 200;

/// What every page's frame shows: who is signed in, where they can go, the demo banner.
pub(crate) struct Chrome {
    pub viewer: Option<String>,
    pub links: Vec<(&'static str, &'static str)>,
    pub here: &'static str,
    pub csrf: String,
    pub demo: bool,
    /// Every page (a route as the router spells it) the viewer may open: a link is shown only
    /// where [`Chrome::may`] says it can be followed.
    pub may_open: Vec<&'static str>,
}

/// The main navigation, each link shown only to those the access table lets in.
const LINKS: &[(&str, &str)] = &[
    ("/me", "My page"),
    ("/team", "My team"),
    ("/dashboard", "Dashboard"),
    ("/findings", "Findings"),
    ("/requests", "Requests"),
    ("/incidents", "Incidents"),
    ("/people", "People"),
    ("/assets", "Equipment"),
    ("/accounts", "Accounts"),
    ("/registers", "Registers"),
    ("/governance", "Governance"),
    ("/policy", "Policies"),
    ("/calendar", "Calendar"),
    ("/import", "Import"),
    ("/connectors", "Connectors"),
    ("/jobs", "Jobs"),
    ("/audit", "Audit log"),
    ("/admin/sign-ins", "Sign-ins"),
    ("/admin/webhooks", "Webhooks"),
    ("/admin/organisation", "Organisation"),
];

impl Chrome {
    /// For error pages drawn without the request's state.
    pub(crate) fn bare() -> Chrome {
        Chrome {
            viewer: None,
            links: Vec::new(),
            here: "",
            csrf: String::new(),
            demo: false,
            may_open: Vec::new(),
        }
    }

    /// Whether the viewer may open the page at `route` (as the router spells it).
    pub(crate) fn may(&self, route: &str) -> bool {
        self.may_open.contains(&route)
    }

    /// For the pages before sign-in.
    pub(crate) fn public(state: &AppState) -> Chrome {
        Chrome {
            demo: state.options.demo,
            ..Chrome::bare()
        }
    }

    pub(crate) fn signed(state: &AppState, signed: &Signed, here: &'static str) -> Chrome {
        let links = LINKS
            .iter()
            .filter(|(path, _)| {
                access::route("GET", path)
                    .is_some_and(|r| access::allows(r.access, "GET", &signed.viewer))
            })
            .copied()
            .collect();
        let may_open = access::ROUTES
            .iter()
            .filter(|r| r.method == "GET" && access::allows(r.access, "GET", &signed.viewer))
            .map(|r| r.path)
            .collect();
        Chrome {
            viewer: Some(signed.viewer.display_name.clone()),
            links,
            here,
            csrf: signed.csrf.clone(),
            demo: state.options.demo,
            may_open,
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct Message {
    pub chrome: Chrome,
    pub heading: String,
    pub text: String,
    pub link: Option<(String, String)>,
}

pub(crate) fn page(template: &impl Template) -> Result<Response, WebError> {
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Html(template.render()?),
    )
        .into_response())
}

/// A page drawn after a refused form: the same page, with `422 Unprocessable Entity` when
/// `refused`, so that the browser and tests can tell.
pub(crate) fn page_refusing(refused: bool, template: &impl Template) -> Result<Response, WebError> {
    let mut response = page(template)?;
    if refused {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// A CSV download. A cell that a spreadsheet would read as a formula (`= + - @`, tab, carriage
/// return) is prefixed with `'` by [`steward_interchange::guard`], as `steward export` does, so
/// an exported name cannot run in Excel.
pub(crate) fn csv(
    name: &str,
    header_row: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<Response, WebError> {
    fn cell(text: &str) -> String {
        // The same guard as every export (`steward export`), so a file from here imports back.
        let guarded = steward_interchange::guard(text);
        if guarded.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", guarded.replace('"', "\"\""))
        } else {
            guarded.into_owned()
        }
    }
    let mut out = String::new();
    for row in std::iter::once(
        header_row
            .iter()
            .map(|h| (*h).to_owned())
            .collect::<Vec<_>>(),
    )
    .chain(rows)
    {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    Ok(csv_file(name, out))
}

/// A CSV file already written, downloaded as `name`.
pub(crate) fn csv_file(name: &str, body: impl IntoResponse) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

// --- start ----------------------------------------------------------------------------------

pub(crate) async fn home(Extension(signed): Extension<Signed>) -> Response {
    let v = &signed.viewer;
    let to = if [
        Capacity::It,
        Capacity::Governance,
        Capacity::Auditor,
        Capacity::Administrator,
    ]
    .iter()
    .any(|c| v.is(*c))
    {
        "/dashboard"
    } else if v.is(Capacity::Staff) {
        "/me"
    } else {
        "/policy"
    };
    Redirect::to(to).into_response()
}

// --- findings -------------------------------------------------------------------------------

/// A finding as a row of a table.
#[derive(Clone)]
pub(crate) struct FindingRow {
    /// The finding's key: where the next page begins.
    pub key: String,
    pub href: String,
    pub severity: String,
    pub pack: String,
    pub clause: String,
    pub subject: String,
    pub message: String,
    pub who_acts: String,
    pub since: String,
    /// As the page shows them: the pack's title, the clause on the living policy, the subject
    /// by name with its record's page, and who acts in words. The CSV keeps the words above.
    pub pack_title: String,
    pub clause_href: String,
    pub about: String,
    pub about_href: Option<String>,
    pub acts: String,
}

impl FindingRow {
    fn of(
        f: &StoredFinding,
        names: &crate::names::Names,
        packs: &[steward_policy::Pack],
    ) -> FindingRow {
        let named = names.subject(&f.finding.subject, true);
        FindingRow {
            key: f.finding.key(),
            href: crate::finding::finding_href(&f.finding.key()),
            severity: f.finding.severity.to_string(),
            pack: f.finding.pack.to_string(),
            clause: f.finding.clause.to_string(),
            subject: format!("{} {}", f.finding.subject.kind, f.finding.subject.id),
            message: f.finding.message.clone(),
            who_acts: f.finding.who_acts.to_string(),
            since: f.first_failing.format("%Y-%m-%d").to_string(),
            pack_title: crate::names::pack_title(packs, &f.finding.pack),
            clause_href: format!(
                "/policy#{}",
                clause_anchor(&f.finding.pack, &f.finding.clause)
            ),
            acts: crate::names::who_acts(&f.finding.who_acts, &named),
            about: named.label,
            about_href: named.href,
        }
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.severity.clone(),
            self.pack.clone(),
            self.clause.clone(),
            self.subject.clone(),
            self.message.clone(),
            self.who_acts.clone(),
            self.since.clone(),
        ]
    }
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub(crate) struct FindingFilter {
    pub pack: String,
    pub clause: String,
    /// A section of the policy: the clause and every clause numbered under it.
    pub section: String,
    pub control: String,
    pub severity: String,
    pub who_acts: String,
    pub min_age: String,
    /// Younger than this many days (with `min_age`, a band of ages).
    pub max_age: String,
    /// Failing since this date or later (`YYYY-MM-DD`, a UTC day).
    pub since_from: String,
    /// Failing since this date or earlier.
    pub since_to: String,
    /// The order: `severity` (the default), `oldest`, `newest` or `clause`.
    pub sort: String,
    /// The key of the last finding of the page before: the next page begins after it.
    pub after: String,
    /// A line manager's person id: findings about their reports and what their reports hold.
    pub team: String,
    /// Text to find line managers by (name, id or e-mail), offered as the choices of `team`:
    /// no filter itself, and not carried to the list's other pages.
    pub team_find: String,
}

impl FindingFilter {
    fn query(&self) -> FindingQuery {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        FindingQuery {
            pack: some(&self.pack),
            clause: some(&self.clause),
            section: some(&self.section),
            control: some(&self.control),
            severity: some(&self.severity),
            who_acts: some(&self.who_acts),
            // The list and its CSV show neither the clause nor the evidence.
            without_text: true,
            ..FindingQuery::default()
        }
    }

    /// A number of days from the field `name`; 0 when empty.
    fn days(name: &str, text: &str) -> Result<i64, WebError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(0);
        }
        text.parse::<i64>()
            .ok()
            .filter(|n| (0..=36_500).contains(n))
            .ok_or_else(|| WebError::BadRequest(format!("{name}: {text:?}: not a number of days")))
    }

    /// The instants the age filters stand for, counted in whole UTC days as the dashboard
    /// counts them: a finding is `n` days old on the `n`th day after the day it began failing.
    /// (`failing_since_before`, `failing_since_after`.)
    fn age_bounds(&self, today: chrono::NaiveDate) -> Result<AgeBounds, WebError> {
        let min = Self::days("min_age", &self.min_age)?;
        let max = Self::days("max_age", &self.max_age)?;
        // The first instant of the day `n` days before tomorrow: at least `n` days old is
        // failing since before it, younger than `n` days is failing since it or later.
        let start_of = |n: i64| {
            (today + chrono::TimeDelta::days(1 - n))
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
        };
        let before = (min > 0)
            .then(|| start_of(min).map(|t| t - chrono::TimeDelta::microseconds(1)))
            .flatten();
        let after = (max > 0).then(|| start_of(max)).flatten();
        // A range of dates narrows the ages further: the tighter bound of each side holds.
        let date = |name: &str, text: &str| -> Result<Option<chrono::NaiveDate>, WebError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    WebError::BadRequest(format!("{name}: {text:?}: not a date such as 2026-11-30"))
                })
        };
        let midnight = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let from = date("since_from", &self.since_from)?.and_then(midnight);
        let to = date("since_to", &self.since_to)?
            .and_then(|d| d.succ_opt())
            .and_then(midnight)
            .map(|t| t - chrono::TimeDelta::microseconds(1));
        let tighter_after = match (after, from) {
            (Some(a), Some(f)) => Some(a.max(f)),
            (a, f) => a.or(f),
        };
        let tighter_before = match (before, to) {
            (Some(b), Some(t)) => Some(b.min(t)),
            (b, t) => b.or(t),
        };
        Ok((tighter_before, tighter_after))
    }

    /// The filter as a query string, for the CSV link.
    fn to_query(&self) -> String {
        [
            ("pack", &self.pack),
            ("clause", &self.clause),
            ("section", &self.section),
            ("control", &self.control),
            ("severity", &self.severity),
            ("who_acts", &self.who_acts),
            ("min_age", &self.min_age),
            ("max_age", &self.max_age),
            ("since_from", &self.since_from),
            ("since_to", &self.since_to),
            ("team", &self.team),
            ("sort", &self.sort),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Where a list shown a page at a time leads: its first page, when this one began past it, and
/// its next, from the key of this page's last row, when more follow. `list` is the list's
/// address with its filters; `cursor` the parameter that says where a page begins.
pub(crate) fn page_links(
    list: &str,
    cursor: &str,
    began_past_first: bool,
    more: bool,
    last_key: Option<&str>,
) -> (Option<String>, Option<String>) {
    let join = if list.contains('?') { '&' } else { '?' };
    let next = last_key
        .filter(|_| more)
        .map(|key| format!("{list}{join}{cursor}={}", percent(key)));
    (began_past_first.then(|| list.to_owned()), next)
}

/// Failing since at most and at least these instants (`None`: unbounded).
type AgeBounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Everything but RFC 3986's unreserved characters (`A–Z a–z 0–9 - . _ ~`).
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Text for a URL's path segment or query value: UTF-8, every byte but the unreserved ones
/// percent-encoded.
pub(crate) fn percent(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// A page of findings for a filter, kept while the audit log has not moved on.
async fn finding_page(
    state: &AppState,
    filter: &FindingFilter,
    head: i64,
) -> Result<Arc<(Vec<FindingRow>, u64)>, WebError> {
    // The hour too: an age filter counts from now, so a page is not kept past the hour it was read.
    let key = format!(
        "findings|{}|after={}|{}",
        filter.to_query(),
        filter.after,
        Utc::now().format("%Y-%m-%d %H")
    );
    let packs = crate::derived::running_packs(state, head).await?;
    let read = finding_reader(packs, filter, Some(FINDING_ROWS))?;
    crate::derived::derived(state, head, key, read).await
}

/// The findings a filter matches, most severe and oldest first — at most `limit` of them — and
/// how many there are in all. Without a team the database orders, limits and counts; a team's
/// findings are picked out here from the rest.
async fn finding_rows(
    state: &AppState,
    head: i64,
    filter: &FindingFilter,
    limit: Option<usize>,
) -> Result<(Vec<FindingRow>, u64), WebError> {
    let packs = crate::derived::running_packs(state, head).await?;
    blocking(state, finding_reader(packs, filter, limit)?).await
}

/// A page of finding rows and how many the filter matches in all.
type FindingRows = Result<(Vec<FindingRow>, u64), steward_service::ServiceError>;

/// What reads the findings `filter` matches (see [`finding_rows`]), its filter checked first.
fn finding_reader(
    packs: Arc<Vec<steward_policy::Pack>>,
    filter: &FindingFilter,
    limit: Option<usize>,
) -> Result<impl FnOnce(&steward_service::Steward) -> FindingRows + Send + 'static, WebError> {
    let mut query = filter.query();
    (query.failing_since_before, query.failing_since_after) =
        filter.age_bounds(Utc::now().date_naive())?;
    query.order = match filter.sort.trim() {
        "" => FindingOrder::default(),
        word => FindingOrder::parse(word).ok_or_else(|| {
            WebError::BadRequest(format!(
                "sort: {word:?}: expected one of {}",
                FindingOrder::ALL.map(FindingOrder::as_str).join(", ")
            ))
        })?,
    };
    // The next page, for a list shown a page at a time; a download is the whole filtered view.
    if limit.is_some() && !filter.after.trim().is_empty() {
        query.after = Some(filter.after.trim().to_owned());
    }
    // The policies in force: a pack set aside keeps its findings' history, not a place in lists.
    let none_running = packs.is_empty();
    if query.pack.is_none() {
        query.packs = packs.iter().map(|p| p.id.clone()).collect();
    }
    let team = filter.team.trim().to_owned();
    Ok(move |s: &steward_service::Steward| {
        if none_running {
            return Ok((Vec::new(), 0));
        }
        let rows =
            |found: &[StoredFinding]| -> Result<Vec<FindingRow>, steward_service::ServiceError> {
                let subjects: Vec<&steward_model::Subject> =
                    found.iter().map(|f| &f.finding.subject).collect();
                let names = crate::names::Names::read(s, &subjects)?;
                Ok(found
                    .iter()
                    .map(|f| FindingRow::of(f, &names, &packs))
                    .collect())
            };
        if team.is_empty() {
            let total = s.count_findings(&query)?;
            // One more than a page: whether there is a next page is known without counting.
            query.limit = limit.map(|n| n as u64 + 1);
            return Ok((rows(&s.findings(&query)?)?, total));
        }
        // The team's people, and the equipment they hold.
        let people: Vec<String> = s
            .list_where::<Person>("manager_id", &team)?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let held: std::collections::HashSet<String> = s
            .list_where_any::<Asset>("assigned_to", &people)?
            .into_iter()
            .map(|a| a.tag)
            .collect();
        let people: std::collections::HashSet<String> = people.into_iter().collect();
        let mut found: Vec<StoredFinding> = s
            .findings(&query)?
            .into_iter()
            .filter(|f| match f.finding.subject.kind.as_ref() {
                "person" => people.contains(&f.finding.subject.id),
                "asset" => held.contains(&f.finding.subject.id),
                _ => false,
            })
            .collect();
        let total = found.len() as u64;
        if let Some(n) = limit {
            found.truncate(n + 1);
        }
        Ok((rows(&found)?, total))
    })
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    chrome: Chrome,
    filter: FindingFilter,
    query: String,
    severities: Vec<String>,
    rows: Vec<FindingRow>,
    /// How many the filter matches; the page shows [`FINDING_ROWS`] at a time.
    total: u64,
    /// The next page's address, when there may be one; the first page's, past the first.
    next: Option<String>,
    first: Option<String>,
    /// Each order offered, its address, and whether it is the one shown.
    orders: Vec<(&'static str, String, bool)>,
    /// The policies in force (id, title) and the parties who act (word, in words), for the
    /// filter's selects.
    packs: Vec<(String, String)>,
    acts: Vec<(&'static str, String)>,
    /// The filter names a pack not in force (one set aside keeps its findings): offered too.
    pack_unlisted: bool,
    /// The teams to choose from: the one shown, by its manager's name, and the line managers the
    /// search found; the search as read, and what it did not find, said under it.
    team: Input,
    team_find: String,
    team_find_hint: String,
}

pub(crate) async fn findings(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<FindingFilter>,
) -> Result<Response, WebError> {
    let found = finding_page(&state, &filter, signed.audit_seq).await?;
    // The reader reads one row past the page: there is a next page when it found it.
    let more = found.0.len() > FINDING_ROWS;
    let (rows, total): (Vec<FindingRow>, u64) = (
        found.0.iter().take(FINDING_ROWS).cloned().collect(),
        found.1,
    );
    let query = filter.to_query();
    let list = if query.is_empty() {
        "/findings".to_owned()
    } else {
        format!("/findings?{query}")
    };
    let (first, next) = page_links(
        &list,
        "after",
        !filter.after.trim().is_empty(),
        more,
        rows.last().map(|r| r.key.as_str()),
    );
    let current = FindingOrder::parse(filter.sort.trim()).unwrap_or_default();
    let orders = FindingOrder::ALL
        .iter()
        .map(|o| {
            let mut other = filter.clone();
            other.sort = o.as_str().to_owned();
            other.after = String::new();
            (
                o.as_str(),
                format!("/findings?{}", other.to_query()),
                *o == current,
            )
        })
        .collect();
    let running = crate::derived::running_packs(&state, signed.audit_seq).await?;
    let nobody = crate::names::Named::default();
    let (team, team_find, team_find_hint) =
        team_picker(&state, &signed.viewer, signed.audit_seq, &filter).await?;
    page(&FindingsPage {
        team,
        team_find,
        team_find_hint,
        pack_unlisted: !filter.pack.is_empty() && !running.iter().any(|p| p.id == filter.pack),
        packs: running
            .iter()
            .map(|p| (p.id.clone(), p.title.clone()))
            .collect(),
        acts: steward_policy::WhoActs::ALL
            .iter()
            .map(|w| {
                (
                    *w,
                    crate::forms::capitalised(&crate::names::who_acts(w, &nobody)),
                )
            })
            .collect(),
        total,
        chrome: Chrome::signed(&state, &signed, "/findings"),
        query,
        next,
        first,
        orders,
        filter,
        severities: Finding::SEVERITIES
            .iter()
            .rev()
            .map(|s| (*s).to_owned())
            .collect(),
        rows,
    })
}

/// The findings filter's choice of team: "any team", the team shown (by its manager's name, or
/// by the id as given when it is nobody's) selected, then every line manager by name or those
/// `team_find` finds (at most [`crate::pickers::FOUND`]); the search as read; and what it did
/// not find.
async fn team_picker(
    state: &AppState,
    viewer: &Viewer,
    head: i64,
    filter: &FindingFilter,
) -> Result<(Input, String, String), WebError> {
    let find = crate::pickers::search_text(&filter.team_find);
    let shown = filter.team.trim().to_owned();
    // Kept per audit head, like the list it filters (the search is the viewer's: the service
    // decides whether they may search, so what is kept is theirs alone).
    let (viewer_for, text, id) = (viewer.clone(), find.clone(), shown.clone());
    let kept = crate::derived::derived(
        state,
        head,
        format!("team_picker|{}|{find}|{shown}", viewer.email),
        move |s| {
            let stamp = steward_service::Stamp::of(&viewer_for);
            let found = crate::pickers::found(s, &stamp, steward_service::Among::Managers, &text)?;
            let named = if id.is_empty() {
                None
            } else {
                s.get::<steward_model::Person>(&id)?
                    .as_ref()
                    .map(crate::pickers::person_choice)
            };
            Ok((found, named))
        },
    )
    .await?;
    let (found, named) = (*kept).clone();
    let shown = shown.as_str();
    let current = if shown.is_empty() {
        None
    } else {
        Some(
            named
                .map(|(_, name)| (filter.team.clone(), name))
                .unwrap_or_else(|| (filter.team.clone(), filter.team.clone())),
        )
    };
    let find_hint = if !find.is_empty() && found.choices.is_empty() {
        format!("Nobody who manages someone has {find:?} in their name, id or e-mail")
    } else {
        String::new()
    };
    let more = found.more_hint();
    let choices: Vec<(String, String)> = std::iter::once((String::new(), "any team".to_owned()))
        .chain(current)
        .chain(found.choices.into_iter().filter(|(id, _)| id != shown))
        .collect();
    let team = Input::select(
        "team",
        "team",
        "Team (its line manager)",
        choices,
        &filter.team,
    )
    .unmarked()
    .hint(more);
    Ok((team, find, find_hint))
}

pub(crate) async fn findings_csv(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<FindingFilter>,
) -> Result<Response, WebError> {
    let (rows, _) = finding_rows(&state, signed.audit_seq, &filter, None).await?;
    csv(
        "findings.csv",
        &[
            "severity",
            "pack",
            "clause",
            "subject",
            "message",
            "who_acts",
            "failing_since",
        ],
        rows.iter().map(FindingRow::cells).collect(),
    )
}

// --- dashboard ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    severities: Vec<&'static str>,
    /// Per pack (by title): counts per severity (most severe first) and the total, each with
    /// the list it counts.
    by_pack: Vec<(String, Vec<Count>, Count)>,
    by_age: Vec<(&'static str, Count)>,
    by_section: Vec<(String, String, Count)>,
    /// Setting up, while any step is left.
    tasks: Vec<Task>,
    no_policy: bool,
    no_data: bool,
    /// The ten most severe, longest-failing findings.
    top: Vec<FindingRow>,
    pack_chart: String,
    /// Open requests by where they stand against their deadline.
    by_sla: Vec<(&'static str, &'static str, usize)>,
    incidents: Vec<crate::processes::IncidentRow>,
    trend_chart: String,
    /// Where each running policy, and each of its sections, stands.
    pack_standing: Vec<crate::standing::Standing>,
    section_standing: Vec<crate::standing::Standing>,
    /// The organisation's (green, amber) thresholds, in percent.
    thresholds: (i64, i64),
}

/// Every finding tallied, read again only when the audit log has moved on (`head`, read as the
/// request began) since the last read.
pub(crate) async fn tallies(
    state: &AppState,
    head: i64,
) -> Result<Arc<Vec<steward_service::FindingTally>>, WebError> {
    crate::derived::derived(state, head, "tallies".into(), |s| s.finding_tallies()).await
}

/// A line of weekly points as inline SVG, with each point's value in its title.
fn line_chart(title: &str, points: &[(String, usize)]) -> String {
    let most = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let (width, height) = (640usize, 200usize);
    let step = if points.len() > 1 {
        (width - 80) / (points.len() - 1)
    } else {
        0
    };
    let xy = |i: usize, n: usize| (40 + i * step, 20 + (height - 60) * (most - n) / most);
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = xy(i, p.1);
            format!("{x},{y}")
        })
        .collect();
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\"><title>{t}</title><polyline fill=\"none\" stroke=\"#1d4f91\" stroke-width=\"3\" points=\"{}\"></polyline>",
        line.join(" "),
        t = crate::escape(title)
    );
    for (i, (label, n)) in points.iter().enumerate() {
        let (x, y) = xy(i, *n);
        svg.push_str(&format!(
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"4\" fill=\"#1d4f91\"><title>{}: {n}</title></circle>",
            crate::escape(label)
        ));
        if i % 2 == 0 || i + 1 == points.len() {
            svg.push_str(&format!(
                "<text x=\"{x}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#0b0c0c\">{}</text>",
                height - 20,
                crate::escape(label)
            ));
        }
    }
    svg.push_str(&format!(
        "<text x=\"0\" y=\"16\" font-size=\"12\" fill=\"#0b0c0c\">{most}</text></svg>"
    ));
    svg
}

/// Failing findings at the end of each of the last twelve weeks, from each finding's current
/// episode (the day it began failing, and the day it was resolved), by UTC day.
fn trend(
    tallies: &[&steward_service::FindingTally],
    today: chrono::NaiveDate,
) -> Vec<(String, usize)> {
    (0..12)
        .rev()
        .map(|weeks| {
            let day = today - chrono::Days::new(7 * weeks);
            let n: u64 = tallies
                .iter()
                .filter(|t| t.first_failing_on <= day && t.resolved_on.is_none_or(|r| r > day))
                .map(|t| t.count)
                .sum();
            (
                day.format("%d %b").to_string(),
                usize::try_from(n).unwrap_or(usize::MAX),
            )
        })
        .collect()
}

/// A horizontal bar chart as inline SVG: drawn on the server, no script, readable by a screen
/// reader through its title and the table beside it.
fn bar_chart(title: &str, bars: &[(String, usize)]) -> String {
    let most = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let height = 28 * bars.len() + 8;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 640 {height}\" width=\"640\" height=\"{height}\"><title>{}</title>",
        crate::escape(title),
        crate::escape(title)
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = 4 + i * 28;
        let width = 380 * n / most;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"14\" fill=\"#0b0c0c\">{}</text><rect x=\"200\" y=\"{y}\" width=\"{width}\" height=\"20\" fill=\"#1d4f91\"></rect><text x=\"{}\" y=\"{}\" font-size=\"14\" fill=\"#0b0c0c\">{n}</text>",
            y + 15,
            crate::escape(label),
            206 + width,
            y + 15
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Where setting up stands: what has been entered so far.
#[derive(Debug, Clone, Copy)]
struct Setup {
    people: u64,
    equipment: u64,
    sign_ins: u64,
    organisation_named: bool,
}

/// One step of setting up, done or not, and where to take it.
struct Task {
    label: &'static str,
    hint: &'static str,
    href: &'static str,
    done: bool,
}

/// A dashboard number and exactly the list it counts.
struct Count {
    n: usize,
    href: String,
}

pub(crate) async fn dashboard(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let head = signed.audit_seq;
    let running = crate::derived::running_packs(&state, head).await?;
    let setup = *crate::derived::derived(&state, head, "setup".into(), |s| {
        Ok(Setup {
            people: s.store().count(steward_model::Register::People)?,
            equipment: s.store().count(steward_model::Register::Assets)?
                + s.store().count(steward_model::Register::Accounts)?,
            sign_ins: s.store().sign_in_count()?,
            organisation_named: s
                .get::<steward_model::Organisation>(steward_model::Organisation::ID)?
                .is_some(),
        })
    })
    .await?;
    let chrome = Chrome::signed(&state, &signed, "/dashboard");
    let tasks: Vec<Task> = [
        Task {
            label: "Choose the policies you run",
            hint: "pick the built-in policy nearest your own, then adjust its parameters",
            href: "/policy#choose",
            done: !running.is_empty(),
        },
        Task {
            label: "Add your people",
            hint: "upload people.csv (a template is on the import page)",
            href: "/import",
            done: setup.people > 0,
        },
        Task {
            label: "Add equipment and accounts",
            hint: "upload assets.csv and accounts.csv",
            href: "/import",
            done: setup.equipment > 0,
        },
        Task {
            label: "Invite colleagues and give them roles",
            hint: "an account for each, with the roles they hold",
            href: "/admin/sign-ins",
            done: setup.sign_ins > 1,
        },
        Task {
            label: "Set the organisation's details",
            hint: "its name and time zone",
            href: "/admin/organisation",
            done: setup.organisation_named,
        },
    ]
    .into_iter()
    .filter(|t| chrome.may(t.href.split('#').next().unwrap_or_default()))
    .collect();
    let tasks = if tasks.iter().all(|t| t.done) {
        Vec::new()
    } else {
        tasks
    };
    let running_ids: Vec<&str> = running.iter().map(|p| p.id.as_str()).collect();
    let all_tallies = tallies(&state, head).await?;
    // Only the policies in force count: a pack set aside keeps its history, not its figures.
    let tallies: Vec<&steward_service::FindingTally> = all_tallies
        .iter()
        .filter(|t| running_ids.contains(&t.pack.as_str()))
        .collect();
    let today = Utc::now().date_naive();
    let trend_chart = line_chart("Failing findings, week by week", &trend(&tallies, today));
    let severities: Vec<&'static str> = Finding::SEVERITIES.iter().rev().copied().collect();
    let mut by_pack: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut by_section: HashMap<(String, String), usize> = HashMap::new();
    let mut by_age = [
        ("under a week", "max_age=7", 0usize),
        ("1 to 4 weeks", "min_age=7&max_age=28", 0),
        ("1 to 3 months", "min_age=28&max_age=91", 0),
        ("over 3 months", "min_age=91", 0),
    ];
    for t in tallies.iter().filter(|t| t.state.is_failing()) {
        let n = usize::try_from(t.count).unwrap_or(usize::MAX);
        let counts = by_pack
            .entry(t.pack.clone())
            .or_insert_with(|| vec![0; severities.len()]);
        if let Some(i) = severities.iter().position(|s| *s == t.severity) {
            counts[i] += n;
        }
        // A section is the clause's number before its first point or bracket: 2.6(w) is in 2.
        let section = steward_policy::section_of(&t.clause).to_owned();
        *by_section.entry((t.pack.clone(), section)).or_default() += n;
        *by_section
            .entry((t.pack.clone(), String::new()))
            .or_default() += n;
        let days = (today - t.first_failing_on).num_days();
        let bucket = match days {
            ..7 => 0,
            7..28 => 1,
            28..91 => 2,
            _ => 3,
        };
        by_age[bucket].2 += n;
    }
    let title = |id: &str| crate::names::pack_title(&running, id);
    let by_pack: Vec<(String, Vec<Count>, Count)> = by_pack
        .into_iter()
        .map(|(p, counts)| {
            let total = Count {
                n: counts.iter().sum(),
                href: format!("/findings?pack={}", percent(&p)),
            };
            let cells = counts
                .into_iter()
                .zip(&severities)
                .map(|(n, severity)| Count {
                    n,
                    href: format!("/findings?pack={}&severity={severity}", percent(&p)),
                })
                .collect();
            (title(&p), cells, total)
        })
        .collect();
    // Where each policy and section stands: kept per audit head and day, as a run on a new day
    // writes the day's standing.
    let since = today - chrono::Days::new(crate::standing::DAYS);
    let standing = crate::derived::derived(&state, head, format!("compliance|{today}"), move |s| {
        Ok((s.organisation()?.thresholds(), s.compliance(since)?))
    })
    .await?;
    let (pack_standing, section_standing) =
        crate::standing::standings(&running, &standing.1, &by_section, standing.0, today);
    let mut by_section: Vec<(String, String, usize)> = by_section
        .into_iter()
        .filter(|((_, s), _)| !s.is_empty())
        .map(|((p, s), n)| (p, s, n))
        .collect();
    by_section.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    by_section.truncate(10);
    let by_section: Vec<(String, String, Count)> = by_section
        .into_iter()
        .map(|(p, section, n)| {
            let href = format!(
                "/findings?pack={}&section={}",
                percent(&p),
                percent(&section)
            );
            let heading = running
                .iter()
                .find(|pack| pack.id == p)
                .and_then(|pack| pack.sections.get(&section))
                .map_or_else(|| section.clone(), |t| format!("{section}. {t}"));
            (title(&p), heading, Count { n, href })
        })
        .collect();
    let by_age: Vec<(&'static str, Count)> = by_age
        .into_iter()
        .map(|(label, query, n)| {
            (
                label,
                Count {
                    n,
                    href: format!("/findings?{query}"),
                },
            )
        })
        .collect();
    let bars: Vec<(String, usize)> = by_pack.iter().map(|(p, _, n)| (p.clone(), n.n)).collect();
    // The ten most severe, longest failing: the first of the findings list's own order.
    let read = finding_reader(running.clone(), &FindingFilter::default(), Some(10))?;
    let top = crate::derived::derived(&state, head, "top_risks".into(), read).await?;
    // Where a request stands against its deadline changes with the local day: kept per quarter
    // hour (every time zone's offset is a whole number of quarter hours).
    let now = Utc::now();
    let quarter = now.timestamp().div_euclid(15 * 60);
    let by_sla = crate::derived::derived(
        &state,
        signed.audit_seq,
        format!("deadlines|{quarter}"),
        move |s| {
            let today = s.local_date(now)?;
            let mut by_sla = [
                ("overdue", "overdue", 0usize),
                ("due today", "due-today", 0),
                ("on track", "on-track", 0),
                ("no deadline", "none", 0),
            ];
            for (request, sla) in s.requests(today)? {
                if !matches!(
                    request.state,
                    steward_model::RequestState::Open | steward_model::RequestState::Approved
                ) {
                    continue;
                }
                let i = match sla {
                    steward_workflow::Sla::Overdue { .. } => 0,
                    steward_workflow::Sla::DueToday => 1,
                    steward_workflow::Sla::OnTrack { .. } => 2,
                    steward_workflow::Sla::None => 3,
                };
                by_sla[i].2 += 1;
            }
            Ok(by_sla)
        },
    )
    .await?;
    let incidents = crate::processes::incident_rows(&state, &signed, true).await?;
    page(&DashboardPage {
        trend_chart,
        by_sla: by_sla.to_vec(),
        incidents,
        chrome,
        pack_chart: bar_chart("Open findings by policy", &bars),
        severities,
        by_pack,
        by_age,
        by_section,
        tasks,
        no_policy: running.is_empty(),
        no_data: setup.people == 0,
        top: top.0.iter().take(10).cloned().collect(),
        pack_standing,
        section_standing,
        thresholds: standing.0,
    })
}

// --- my page, my team -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    chrome: Chrome,
    name: String,
    /// The active policies this person has not accepted (or not since a material change).
    to_accept: Vec<(String, String)>,
    assets: Vec<(String, String, String, String)>,
    findings: Vec<MyItem>,
    requests: Vec<(String, String, String, String)>,
    /// What this person has been told and not yet acknowledged: about what, why, by when.
    told: Vec<(String, String, String)>,
    /// Whether they receive the weekly e-mail digest (they may turn it off).
    weekly_digest: bool,
}

/// One thing the policy asks of the person now: what, what to do about it and by when, where
/// the policy says so, and a way to do it.
struct MyItem {
    message: String,
    href: String,
    remedy: String,
    due: String,
    policy: String,
    clause_href: String,
    request: Option<&'static str>,
}

/// A finding as an item of someone's work: what, what to do and by when, why, and the request
/// that settles it where one does (offered when `may_raise`). Said to the person (`to_them`) in
/// the control's second-person message where it has one; to anyone else, in the third person.
fn my_item(packs: &[steward_policy::Pack], f: Finding, may_raise: bool, to_them: bool) -> MyItem {
    let remedy = packs
        .iter()
        .find(|p| *p.id == *f.pack)
        .and_then(|p| {
            p.clauses
                .iter()
                .flat_map(|c| &c.controls)
                .find(|k| *k.id == *f.control)
        })
        .map(|k| k.remediation.trim().to_owned())
        .unwrap_or_default();
    MyItem {
        href: crate::finding::finding_href(&f.key()),
        due: f
            .due
            .map(|d| d.format("%-d %B %Y").to_string())
            .unwrap_or_default(),
        policy: format!(
            "{}, clause {}",
            crate::names::pack_title(packs, &f.pack),
            f.clause
        ),
        clause_href: format!("/policy#{}", clause_anchor(&f.pack, &f.clause)),
        request: crate::finding::settling_request(&f.control).filter(|_| may_raise),
        remedy,
        message: match f.message_you {
            Some(you) if to_them => you,
            _ => f.message,
        },
    }
}

pub(crate) fn person_of(viewer: &Viewer) -> Result<String, WebError> {
    viewer.person_id.clone().ok_or(WebError::Forbidden)
}

pub(crate) async fn me(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let zone = signed.zone;
    let person_id = person_of(&signed.viewer)?;
    let running = crate::derived::running_packs(&state, signed.audit_seq).await?;
    let packs: Vec<(String, String, String)> = running
        .iter()
        .map(|p| (p.id.clone(), p.title.clone(), p.version.clone()))
        .collect();
    // Kept per audit head like the shared pages: a person's own rows change only with it.
    let kept = crate::derived::derived(
        &state,
        signed.audit_seq,
        format!("me|{person_id}"),
        move |s| {
            let person = s.get::<Person>(&person_id)?;
            let assets: Vec<Asset> = s.list_where("assigned_to", &person_id)?;
            // The person's own findings and those of what they hold, in one read.
            let findings = s.findings_of(&person_id, &assets)?;
            let requests: Vec<Request> = s.list_where("person_id", &person_id)?;
            let accepted: Vec<steward_model::Acceptance> = s.list_where("person_id", &person_id)?;
            // A leaver's manager, the person whose mailbox was opened, the people an incident
            // names: each is told here, and says they have read it.
            let told: Vec<steward_model::Notification> = s.list_where("recipient", &person_id)?;
            let to_accept = packs
                .into_iter()
                .filter(|(id, _, version)| {
                    !accepted
                        .iter()
                        .any(|a| &a.pack == id && &a.version == version)
                })
                .map(|(_, title, version)| (title, version))
                .collect();
            Ok((person, assets, findings, requests, to_accept, told))
        },
    )
    .await?;
    let (person, assets, findings, requests, to_accept, told) = (*kept).clone();
    let told = told
        .into_iter()
        .filter(|n| n.acknowledged_at.is_none())
        .map(|n| {
            let due = n
                .due_at
                .map(|t| format!("by {}", crate::processes::local_text(&t, zone)))
                .unwrap_or_default();
            (n.about, n.reason, due)
        })
        .collect();
    let chrome = Chrome::signed(&state, &signed, "/me");
    let signed_may_raise = chrome.may("/requests/new");
    let weekly_digest = person
        .as_ref()
        .is_none_or(|p| p.weekly_digest != Some(false));
    page(&MePage {
        chrome,
        weekly_digest,
        name: person
            .map(|p| p.name)
            .unwrap_or_else(|| signed.viewer.display_name.clone()),
        to_accept,
        told,
        assets: assets
            .into_iter()
            .map(|a| {
                (
                    a.tag,
                    a.kind.to_string(),
                    a.model.unwrap_or_default(),
                    a.assigned_on.map(|d| d.to_string()).unwrap_or_default(),
                )
            })
            .collect(),
        findings: findings
            .into_iter()
            .filter(|f| &*f.finding.who_acts == "person")
            .map(|f| my_item(&running, f.finding, signed_may_raise, true))
            .collect(),
        requests: requests
            .into_iter()
            .map(|r| {
                (
                    r.id,
                    crate::names::request_type(r.kind.as_str()),
                    r.state.to_string(),
                    r.due_on.map(|d| d.to_string()).unwrap_or_default(),
                )
            })
            .collect(),
    })
}

/// Turns the person's own weekly digest on or off (`weekly_digest`: `on` or `off`); audited as
/// a change to their record. Escalation notices are not theirs to turn off.
pub(crate) async fn set_weekly_digest(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let me = person_of(&signed.viewer)?;
    let on = match crate::session::Form::read(request)
        .await?
        .get("weekly_digest")
        .as_str()
    {
        "on" => true,
        "off" => false,
        _ => {
            return Err(WebError::BadRequest("weekly_digest: say on or off".into()));
        }
    };
    let stamp = steward_service::Stamp::of(&signed.viewer);
    blocking(&state, move |s| s.set_weekly_digest(&stamp, &me, on)).await?;
    Ok(Redirect::to("/me#email").into_response())
}

/// Records the person's acceptance of every active policy's current version, today.
/// Records that this person has read something they were told (`/me/acknowledge`): only a
/// notice addressed to them, once; the service refuses anything else.
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let me = person_of(&signed.viewer)?;
    let about = crate::session::Form::read(request).await?.get("about");
    if about.is_empty() {
        return Err(WebError::BadRequest(
            "about: say which notice you have read".into(),
        ));
    }
    let stamp = steward_service::Stamp::of(&signed.viewer);
    blocking(&state, move |s| s.acknowledge(&stamp, &about, &me, &me)).await?;
    Ok(Redirect::to("/me").into_response())
}

pub(crate) async fn accept(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let person_id = person_of(&signed.viewer)?;
    let running = crate::derived::running_packs(&state, signed.audit_seq).await?;
    let packs: Vec<(String, String)> = running
        .iter()
        .map(|p| (p.id.clone(), p.version.clone()))
        .collect();
    let stamp = steward_service::Stamp::of(&signed.viewer);
    blocking(&state, move |s| {
        let today = s.local_date(Utc::now())?;
        s.accept_policies(&stamp, &person_id, &packs, today)
    })
    .await?;
    crate::processes::recheck(&state);
    Ok(Redirect::to("/me").into_response())
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    people: Vec<TeamRow>,
}

/// One report on the manager's team: who, how they stand, what they hold and how many open
/// findings are about them or what they hold — the same findings their own page lists.
#[derive(Clone)]
struct TeamRow {
    id: String,
    label: String,
    status: String,
    held: usize,
    open: usize,
}

/// Kept per audit head, as the dashboard's figures are: every change to what a row counts (a
/// report, what they hold, a finding) moves the head.
async fn team_rows(state: &AppState, signed: &Signed) -> Result<Vec<TeamRow>, WebError> {
    let manager = person_of(&signed.viewer)?;
    let key = format!("team|{manager}");
    let kept = crate::derived::derived(state, signed.audit_seq, key, move |s| {
        let reports: Vec<Person> = s
            .list_where::<Person>("manager_id", &manager)?
            .into_iter()
            .filter(|p| p.status != PersonStatus::Leaver)
            .collect();
        // What the team holds and the findings about them: one read each, not one per person.
        let ids: Vec<String> = reports.iter().map(|p| p.id.clone()).collect();
        let team_held: Vec<Asset> = s.list_where_any::<Asset>("assigned_to", &ids)?;
        let mut held: HashMap<String, usize> = HashMap::new();
        for holder in team_held.iter().filter_map(|a| a.assigned_to.as_ref()) {
            *held.entry(holder.clone()).or_default() += 1;
        }
        let mut open: HashMap<String, usize> = HashMap::new();
        if !ids.is_empty() {
            let whose: HashMap<Subject, String> =
                s.subjects_of(&ids, &team_held)?.into_iter().collect();
            for f in s.findings(&FindingQuery {
                subjects: whose.keys().cloned().collect(),
                without_text: true,
                ..FindingQuery::default()
            })? {
                if let Some(who) = whose.get(&f.finding.subject) {
                    *open.entry(who.clone()).or_default() += 1;
                }
            }
        }
        Ok(reports
            .into_iter()
            .map(|p| TeamRow {
                held: held.get(&p.id).copied().unwrap_or(0),
                open: open.get(&p.id).copied().unwrap_or(0),
                label: format!("{} ({})", p.name, p.id),
                status: p.status.to_string(),
                id: p.id,
            })
            .collect::<Vec<TeamRow>>())
    })
    .await?;
    Ok(kept.as_ref().clone())
}

pub(crate) async fn team(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let people = team_rows(&state, &signed).await?;
    page(&TeamPage {
        chrome: Chrome::signed(&state, &signed, "/team"),
        people,
    })
}

#[derive(Template)]
#[template(path = "team_member.html")]
struct TeamMemberPage {
    chrome: Chrome,
    id: String,
    name: String,
    assets: Vec<(String, String, String)>,
    /// What the policy asks about them now; `true` where it is the manager's to act on.
    findings: Vec<(MyItem, String, bool)>,
    requests: Vec<(String, String, String)>,
}

/// One report's page for their line manager: their equipment, every open finding about them or
/// what they hold (the manager's own to act on marked), their requests, and a way to raise one
/// for them. Only the person's own line manager reaches it; anyone else is told it is not there.
pub(crate) async fn team_member(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, WebError> {
    let manager = person_of(&signed.viewer)?;
    let who = id.clone();
    let found = blocking(&state, move |s| {
        let Some(person) = s.get::<Person>(&who)? else {
            return Ok(None);
        };
        if person.manager_id.as_deref() != Some(manager.as_str()) {
            return Ok(None);
        }
        let assets: Vec<Asset> = s.list_where("assigned_to", &who)?;
        let findings = s.findings_of(&who, &assets)?;
        let subjects: Vec<&Subject> = findings.iter().map(|f| &f.finding.subject).collect();
        let names = crate::names::Names::read(s, &subjects)?;
        let requests: Vec<Request> = s.list_where("person_id", &who)?;
        Ok(Some((person, assets, findings, names, requests)))
    })
    .await?;
    let Some((person, assets, findings, names, requests)) = found else {
        return Err(WebError::NotFound);
    };
    let running = crate::derived::running_packs(&state, signed.audit_seq).await?;
    let chrome = Chrome::signed(&state, &signed, "/team");
    let may_raise = chrome.may("/requests/new");
    let findings = findings
        .into_iter()
        .map(|f| {
            let named = names.subject(&f.finding.subject, false);
            let acts = crate::names::who_acts(&f.finding.who_acts, &named);
            let mine = &*f.finding.who_acts == "line_manager";
            (my_item(&running, f.finding, may_raise, false), acts, mine)
        })
        .collect();
    page(&TeamMemberPage {
        chrome,
        name: person.name,
        assets: assets
            .into_iter()
            .map(|a| (a.tag, a.kind.to_string(), a.model.unwrap_or_default()))
            .collect(),
        findings,
        requests: requests
            .into_iter()
            .map(|r| {
                (
                    r.id,
                    crate::names::request_type(r.kind.as_str()),
                    r.state.to_string(),
                )
            })
            .collect(),
        id,
    })
}

pub(crate) async fn team_csv(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let people = team_rows(&state, &signed).await?;
    csv(
        "team.csv",
        &["person", "status", "equipment_held", "open_findings"],
        people
            .into_iter()
            .map(|p| vec![p.label, p.status, p.held.to_string(), p.open.to_string()])
            .collect(),
    )
}

// --- people -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    chrome: Chrome,
    filter: crate::registers::Filter,
    statuses: Vec<String>,
    query: String,
    rows: Vec<Person>,
    total: u64,
    paging: crate::registers::Paging,
}

/// People matching a filter, at most `limit` in its order (after the page before, for a page),
/// and how many in all: searched, ordered and limited by the database.
async fn people_rows(
    state: &AppState,
    filter: &crate::registers::Filter,
    limit: u64,
) -> Result<(Vec<Person>, u64), WebError> {
    let q = filter.q.trim().to_owned();
    let status = filter.status.trim().to_owned();
    let sort = filter.sort(steward_model::Register::People)?;
    let after = (limit != crate::registers::ALL_ROWS && !filter.after.trim().is_empty())
        .then(|| filter.after.trim().to_owned());
    blocking(state, move |s| {
        let equal: Vec<(&str, &str)> = if status.is_empty() {
            Vec::new()
        } else {
            vec![("status", status.as_str())]
        };
        let search = (!q.is_empty()).then(|| (vec!["id", "name", "email"], q.as_str()));
        let sort = sort.as_ref().map(|(f, desc)| (f.as_str(), *desc));
        s.list_page::<Person>(equal, search, limit, after.as_deref(), sort)
    })
    .await
}

const STATUSES: [&str; 4] = ["starter", "active", "absent", "leaver"];
const PEOPLE_COLUMNS: [&str; 5] = ["id", "name", "staff_group", "status", "manager_id"];

pub(crate) async fn people(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<crate::registers::Filter>,
) -> Result<Response, WebError> {
    // One row past the page: whether there is a next page is known without counting.
    let (mut rows, total) = people_rows(&state, &filter, PAGE_ROWS as u64 + 1).await?;
    let more = rows.len() > PAGE_ROWS;
    rows.truncate(PAGE_ROWS);
    let paging = crate::registers::Paging::of(
        steward_model::Register::People,
        "/people",
        &filter,
        &PEOPLE_COLUMNS,
        more,
        rows.last().map(|p| p.id.as_str()),
    );
    page(&PeoplePage {
        total,
        chrome: Chrome::signed(&state, &signed, "/people"),
        query: filter.to_query(),
        filter,
        statuses: STATUSES.iter().map(|s| (*s).to_owned()).collect(),
        rows,
        paging,
    })
}

pub(crate) async fn people_csv(
    State(state): State<AppState>,
    Query(filter): Query<crate::registers::Filter>,
) -> Result<Response, WebError> {
    let (rows, _) = people_rows(&state, &filter, crate::registers::ALL_ROWS).await?;
    csv(
        "people.csv",
        &["id", "name", "email", "staff_group", "status", "manager_id"],
        rows.into_iter()
            .map(|p| {
                vec![
                    p.id,
                    p.name,
                    p.email.unwrap_or_default(),
                    p.staff_group,
                    p.status.to_string(),
                    p.manager_id.unwrap_or_default(),
                ]
            })
            .collect(),
    )
}

// --- the living policy ------------------------------------------------------------------------

pub(crate) struct ClauseView {
    pub id: String,
    /// The clause's anchor on the page, for links to it.
    pub anchor: String,
    pub text: String,
    pub controls: Vec<ControlView>,
}

/// One control of a clause as the living policy shows it: how it is checked, and what fails it
/// now — linked to exactly the findings counted when the viewer may list them.
pub(crate) struct ControlView {
    pub id: String,
    /// How the control is carried out, in plain words.
    pub how: &'static str,
    /// "12 failing", "none failing", "2 about you", or empty where nothing is checked.
    pub standing: String,
    pub href: Option<String>,
}

/// The section a clause is in: its number before the first point, bracket or dash (`2.6(w)` is
/// in `2`), as the findings' `section` filter reads it.
/// A clause's anchor on the living policy: the pack and clause, with every character an URL
/// fragment or an id would need escaped turned into `-`.
pub(crate) fn clause_anchor(pack: &str, clause: &str) -> String {
    let safe = |t: &str| {
        t.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>()
    };
    format!("clause-{}-{}", safe(pack), safe(clause))
}

pub(crate) struct PackView {
    /// Its place on the page, from 1, for element ids.
    pub index: usize,
    pub title: String,
    pub version: String,
    pub owner: String,
    pub approved_on: String,
    /// The review date, or the document's words for it; empty when it gives neither.
    pub next_review: String,
    pub review_overdue: bool,
    pub parameters: Vec<ParameterView>,
    pub staff_groups: Vec<StaffGroupView>,
    pub clauses: Vec<ClauseView>,
    /// The contents: each section (the number before a clause's first point or bracket) and
    /// the anchor of its first clause shown.
    pub sections: Vec<(String, String)>,
}

/// A parameter as the organisation runs it (`steward policy show`).
pub(crate) struct ParameterView {
    pub name: String,
    pub value: String,
    pub description: String,
    /// The pack's own value, when the organisation's override differs from it.
    pub pack_value: Option<String>,
    /// Why the pack assumed the value (the document states none), until the organisation
    /// sets its own.
    pub assumed: Option<String>,
    /// The value in force as a form shows it (a list as `a, b`), and its unit.
    pub input: String,
    pub unit: String,
}

/// A staff group as the organisation runs it: its standard devices and what its members may do.
pub(crate) struct StaffGroupView {
    pub id: String,
    pub name: String,
    /// The devices as a form takes them (`laptop, smartphone or voice_phone`).
    pub devices: String,
    /// Each yes-or-no setting: its form field, what it means, and whether it holds.
    pub flags: Vec<(&'static str, &'static str, bool)>,
    /// The settings that hold, in words.
    pub settings: String,
    /// Whether the organisation has changed it from the pack's.
    pub changed: bool,
}

/// A value with its unit, as the policy would say it.
fn with_unit(value: &steward_policy::ParamValue, unit: Option<&str>) -> String {
    let text = match value {
        steward_policy::ParamValue::Duration(_) => steward_policy::library::form_text(value),
        other => other.to_string(),
    };
    match unit {
        Some(unit) if !unit.is_empty() => format!("{text} {unit}"),
        _ => text,
    }
}

/// The staff groups of `pack` with the organisation's changes (where they fit the pack).
fn staff_groups_of(pack: &Pack, overrides: &steward_policy::Overrides) -> Vec<StaffGroupView> {
    let effective = pack.effective(overrides).ok();
    let groups: Vec<(&steward_policy::StaffGroup, bool)> = match &effective {
        Some(e) => e
            .staff_groups
            .values()
            .map(|g| (&g.group, g.origin == steward_policy::Origin::Organisation))
            .collect(),
        None => pack.staff_groups.values().map(|g| (g, false)).collect(),
    };
    groups
        .into_iter()
        .map(|(g, changed)| {
            let flags = vec![
                ("hardware", "the organisation provides hardware", g.hardware),
                ("byod", "may use their own devices", g.byod),
                ("portal_only", "a portal only", g.portal_only),
                ("mfa_required", "MFA on every account", g.mfa_required),
                ("case_by_case", "decided case by case", g.case_by_case),
            ];
            let holding: Vec<&str> = flags.iter().filter(|f| f.2).map(|f| f.1).collect();
            StaffGroupView {
                id: g.id.clone(),
                name: g.name.clone(),
                devices: steward_policy::devices_text(&g.devices),
                settings: if holding.is_empty() {
                    "none".to_owned()
                } else {
                    holding.join("; ")
                },
                flags,
                changed,
            }
        })
        .collect()
}

fn parameters_of(pack: &Pack, overrides: &steward_policy::Overrides) -> Vec<ParameterView> {
    // Overrides that do not fit the pack are reported by the checks; here the pack's own
    // values are shown instead.
    let effective: HashMap<String, steward_policy::ParamValue> =
        steward_service::effective_params(pack, overrides)
            .map(|values| values.into_iter().collect())
            .unwrap_or_default();
    pack.parameters
        .values()
        .map(|p| {
            let unit = p.unit.as_deref();
            let value = effective.get(&p.name).unwrap_or(&p.value);
            ParameterView {
                name: p.name.clone(),
                value: with_unit(value, unit),
                description: p.description.clone(),
                pack_value: (*value != p.value).then(|| with_unit(&p.value, unit)),
                assumed: p.assumed.clone().filter(|_| *value == p.value),
                input: steward_policy::library::form_text(value),
                unit: unit.unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    chrome: Chrome,
    packs: Vec<PackView>,
    /// Whether the viewer may compare versions (the estate roles).
    may_compare: bool,
    /// The search, and how many clauses it found.
    q: String,
    found: usize,
    /// Whether the counts are the whole organisation's (else the viewer's own share).
    whole: bool,
    /// Every pack the server knows, for those who choose which run; empty for everyone else.
    choices: Vec<PackOption>,
    /// The server's configuration names the packs it runs: nobody chooses on screen.
    fixed: bool,
    /// Whether the viewer may import the organisation's own policy document.
    may_import: bool,
    /// Whether the viewer may change the parameters (and today, the day a change starts).
    may_set_parameters: bool,
    today: String,
    /// Every value the organisation has set for a parameter.
    history: Vec<steward_store::ParameterOverride>,
}

/// A pack the organisation may run, as the Policies page offers it.
pub(crate) struct PackOption {
    pub id: String,
    pub title: String,
    pub version: String,
    pub organisation: String,
    pub summary: String,
    pub clauses: usize,
    pub checks: usize,
    pub active: bool,
    /// A pack built into Steward, which the organisation copies to change.
    pub builtin: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct PolicySearch {
    pub q: String,
}

pub(crate) async fn policy(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(search): Query<PolicySearch>,
) -> Result<Response, WebError> {
    let today = blocking(&state, |s| s.local_date(Utc::now())).await?;
    // Those who may list the findings see the organisation's counts, each linked to exactly the
    // findings it counts; everyone else sees their own share, linked to their page.
    let whole = access::route("GET", "/findings")
        .is_some_and(|r| access::allows(r.access, "GET", &signed.viewer));
    let mut failing: HashMap<(String, String), usize> = HashMap::new();
    if whole {
        for t in tallies(&state, signed.audit_seq)
            .await?
            .iter()
            .filter(|t| t.state.is_failing())
        {
            *failing
                .entry((t.pack.clone(), t.control.clone()))
                .or_default() += usize::try_from(t.count).unwrap_or(usize::MAX);
        }
    } else if let Some(person_id) = signed.viewer.person_id.clone() {
        let own = blocking(&state, move |s| s.findings_about(&person_id)).await?;
        for f in own.iter().filter(|f| f.state.is_failing()) {
            *failing
                .entry((f.finding.pack.to_string(), f.finding.control.to_string()))
                .or_default() += 1;
        }
    }
    let q = search.q.trim().to_lowercase();
    let mut found = 0;
    let running = crate::derived::running_packs(&state, signed.audit_seq).await?;
    let overrides = crate::derived::overrides_in_force(&state, signed.audit_seq).await?;
    let history = blocking(&state, |s| s.parameter_history()).await?;
    let packs = running
        .iter()
        .map(|p| PackView {
            title: p.title.clone(),
            version: p.version.clone(),
            owner: p.owner.clone(),
            approved_on: p.approved_on.to_string(),
            next_review: p
                .next_review
                .map(|d| d.to_string())
                .or_else(|| p.next_review_note.clone())
                .unwrap_or_default(),
            review_overdue: p.next_review.is_some_and(|d| d < today),
            index: 0,
            parameters: parameters_of(p, &overrides),
            staff_groups: staff_groups_of(p, &overrides),
            sections: Vec::new(),
            clauses: p
                .clauses
                .iter()
                .filter(|c| {
                    q.is_empty()
                        || c.id.to_lowercase() == q
                        || c.text.to_lowercase().contains(&q)
                        || c.controls.iter().any(|k| k.id.to_lowercase().contains(&q))
                })
                .inspect(|_| found += 1)
                .map(|c| ClauseView {
                    id: c.id.clone(),
                    anchor: clause_anchor(&p.id, &c.id),
                    text: c.text.trim().to_owned(),
                    controls: c
                        .controls
                        .iter()
                        .map(|k| {
                            let n = failing
                                .get(&(p.id.clone(), k.id.clone()))
                                .copied()
                                .unwrap_or(0);
                            control_view(&p.id, k, n, whole)
                        })
                        .collect(),
                })
                .collect(),
        })
        .enumerate()
        .map(|(i, mut p): (usize, PackView)| {
            p.index = i + 1;
            for c in &p.clauses {
                let section = steward_policy::section_of(&c.id);
                if p.sections.last().is_none_or(|(s, _)| *s != section) {
                    p.sections.push((section.to_owned(), c.anchor.clone()));
                }
            }
            p
        })
        .collect();
    let may_compare = access::route("GET", "/policy/diff")
        .is_some_and(|r| access::allows(r.access, "GET", &signed.viewer));
    let chrome = Chrome::signed(&state, &signed, "/policy");
    let fixed = !state.options.packs.is_empty();
    let may_choose = access::route("POST", "/policy/packs")
        .is_some_and(|r| access::allows(r.access, "POST", &signed.viewer));
    let available = crate::derived::available_packs(&state, signed.audit_seq).await?;
    let choices = if may_choose {
        let offered = if fixed {
            &state.options.packs
        } else {
            available.as_ref()
        };
        offered
            .iter()
            .map(|p| PackOption {
                id: p.id.clone(),
                title: p.title.clone(),
                version: p.version.clone(),
                organisation: p.organisation.clone(),
                summary: p.summary.clone().unwrap_or_default(),
                clauses: p.clauses.len(),
                checks: p
                    .clauses
                    .iter()
                    .flat_map(|c| &c.controls)
                    .filter(|k| k.kind.name() == steward_policy::KindName::Check)
                    .count(),
                active: running.iter().any(|r| r.id == p.id),
                builtin: steward_policy::BUILTIN.iter().any(|b| b.id == p.id),
            })
            .collect()
    } else {
        Vec::new()
    };
    page(&PolicyPage {
        chrome,
        packs,
        may_compare,
        q: search.q.trim().to_owned(),
        found,
        whole,
        choices,
        fixed,
        may_import: may_choose && !fixed,
        may_set_parameters: may_choose,
        today: today.to_string(),
        history,
    })
}

/// Makes a pack active or sets it aside, then has the checks run again so that the dashboard
/// follows at once.
pub(crate) async fn choose_pack(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    if !state.options.packs.is_empty() {
        return Err(WebError::BadRequest(
            "the server's configuration names the policies it runs (`packs` in steward.toml): \
             change them there"
                .into(),
        ));
    }
    let id = form.get("pack");
    let active = match form.get("active").as_str() {
        "1" | "yes" | "true" => true,
        "0" | "no" | "false" => false,
        other => {
            return Err(WebError::BadRequest(format!(
                "active: {other:?}: expected yes or no"
            )));
        }
    };
    let stamp = steward_service::Stamp::of(&signed.viewer);
    let available = crate::derived::available_packs(&state, signed.audit_seq).await?;
    blocking(&state, move |s| {
        s.set_pack_active(&stamp, &id, active, &available)
    })
    .await?;
    crate::processes::recheck(&state);
    Ok(axum::response::Redirect::to("/policy#choose").into_response())
}

/// Sets the organisation's value of a parameter from a day (audited), then has the checks run
/// again so that the findings follow.
pub(crate) async fn set_parameter(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let name = form.get("name");
    let reset = form.get("reset") == "yes";
    let value = form.get("value");
    let reason = form.get("reason");
    let today = blocking(&state, |s| s.local_date(Utc::now())).await?;
    let effective_from = effective_from(&form, today)?;
    let stamp = steward_service::Stamp::of(&signed.viewer);
    let available = crate::derived::available_packs(&state, signed.audit_seq).await?;
    blocking(&state, move |s| {
        s.set_parameter(
            &stamp,
            &name,
            (!reset).then_some(value.as_str()),
            &reason,
            effective_from,
            &available,
        )
    })
    .await?;
    crate::processes::recheck(&state);
    Ok(axum::response::Redirect::to("/policy#parameter-history").into_response())
}

/// A staff group changed on the Policies page: every field as the form states it, or back to
/// the pack's own group.
pub(crate) async fn set_staff_group(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let id = form.get("group");
    let reason = form.get("reason");
    let today = blocking(&state, |s| s.local_date(Utc::now())).await?;
    let effective_from = effective_from(&form, today)?;
    let change = if form.get("reset") == "yes" {
        None
    } else {
        let devices = steward_policy::parse_devices(&form.get("devices")).map_err(|reason| {
            WebError::Service(steward_service::ServiceError::Parameter {
                name: format!("staff group {id}"),
                problem: format!("devices: {reason}"),
            })
        })?;
        let flag = |name: &str| Some(form.get(name) == "yes");
        Some(steward_policy::StaffGroupOverride {
            name: Some(form.get("name")).filter(|n| !n.trim().is_empty()),
            description: None,
            devices: Some(devices),
            hardware: flag("hardware"),
            byod: flag("byod"),
            portal_only: flag("portal_only"),
            mfa_required: flag("mfa_required"),
            case_by_case: flag("case_by_case"),
        })
    };
    let stamp = steward_service::Stamp::of(&signed.viewer);
    let available = crate::derived::available_packs(&state, signed.audit_seq).await?;
    blocking(&state, move |s| {
        s.set_staff_group(
            &stamp,
            &id,
            change.as_ref(),
            &reason,
            effective_from,
            &available,
        )
    })
    .await?;
    crate::processes::recheck(&state);
    Ok(axum::response::Redirect::to("/policy#parameter-history").into_response())
}

/// The day a change takes effect, as a form gives it (today when left empty).
fn effective_from(
    form: &crate::session::Form,
    today: chrono::NaiveDate,
) -> Result<chrono::NaiveDate, WebError> {
    match form.get("effective_from") {
        text if text.is_empty() => Ok(today),
        text => chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
            WebError::BadRequest(format!(
                "effective_from: {text:?} is not a date written YYYY-MM-DD"
            ))
        }),
    }
}

/// How a control is carried out, and what fails it now (`failing`: the organisation's count
/// when `whole`, else the viewer's own).
fn control_view(
    pack: &str,
    control: &steward_policy::Control,
    failing: usize,
    whole: bool,
) -> ControlView {
    use steward_policy::KindName;
    let kind = control.kind.name();
    let how = match kind {
        KindName::Check => "checked against the registers",
        KindName::Workflow => "a process that requests and incidents follow",
        KindName::RecurringTask => "a recurring task",
        KindName::Attestation => "acknowledged by each person; not checked automatically",
        KindName::Guidance => "guidance; not checked automatically",
    };
    let checked = !matches!(kind, KindName::Attestation | KindName::Guidance);
    let (standing, href) = match (failing, whole) {
        (0, _) if !checked => (String::new(), None),
        (0, true) => ("none failing".to_owned(), None),
        (0, false) => ("nothing about you".to_owned(), None),
        (n, true) => (
            format!("{n} failing"),
            Some(format!(
                "/findings?pack={}&control={}",
                percent(pack),
                percent(&control.id)
            )),
        ),
        (n, false) => (format!("{n} about you"), Some("/me".to_owned())),
    };
    ControlView {
        id: control.id.clone(),
        how,
        standing,
        href,
    }
}

// --- administration ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sign_ins.html")]
struct SignInsPage {
    chrome: Chrome,
    accounts: Vec<(String, String, String, &'static str, String, &'static str)>,
    /// Each account's single sign-on links, by the account's place in `accounts`: the
    /// providers' route words and names.
    links: Vec<Vec<(&'static str, &'static str)>>,
    /// The search (address or name), how many accounts match it, and the ways between pages.
    find: String,
    total: usize,
    first: Option<String>,
    next: Option<String>,
    /// Each role an account may hold, ticked again after a refused form.
    capacities: Vec<(&'static str, bool)>,
    /// Adding a sign-in: the address, the name, the person and the first password.
    email: Input,
    name: Input,
    person: Input,
    password: Input,
    notice: Option<String>,
    errors: Errors,
}

/// Which sign-ins the list shows: those whose address or name holds `find`, a page at a time
/// (`after` the last address of the page before).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct SignInsQuery {
    pub find: String,
    pub after: String,
}

async fn sign_ins_page(
    state: &AppState,
    signed: &Signed,
    query: SignInsQuery,
    notice: Option<String>,
    refusal: Option<Refusal>,
) -> Result<Response, WebError> {
    let stamp = steward_service::Stamp::of(&signed.viewer);
    let (mut accounts, all_links) = blocking(state, move |s| {
        Ok((s.store().sign_ins()?, s.sso_links(&stamp)?))
    })
    .await?;
    let find = query.find.trim().to_lowercase();
    if !find.is_empty() {
        accounts.retain(|a| {
            a.email.to_lowercase().contains(&find) || a.display_name.to_lowercase().contains(&find)
        });
    }
    accounts.sort_by(|a, b| a.email.cmp(&b.email));
    let total = accounts.len();
    let began_past_first = !query.after.trim().is_empty();
    let (accounts, more) =
        crate::processes::page_after(accounts, |a| a.email.as_str(), &query.after);
    let list = if find.is_empty() {
        "/admin/sign-ins".to_owned()
    } else {
        format!("/admin/sign-ins?find={}", percent(&find))
    };
    let (first, next) = page_links(
        &list,
        "after",
        began_past_first,
        more,
        accounts.last().map(|a| a.email.as_str()),
    );
    let zone = signed.zone;
    let refusal = refusal.unwrap_or_default();
    let posted = &refusal.posted;
    // An account's address and name are a person's, and obey the same limits.
    let person_field = |name: &str| {
        Input::field(steward_model::Register::People, name, zone)
            .unwrap_or_else(|| Input::text("", name, ""))
    };
    let mut email = person_field("email")
        .id("new-email")
        .label("Email address")
        .required(true)
        .posted(posted);
    let mut name = person_field("name")
        .id("new-name")
        .label("Name")
        .hint("")
        .required(true)
        .posted(posted);
    let mut person = person_field("id")
        .id("new-person")
        .name("person_id")
        .label("Person id on the people register")
        .hint("Leave empty for someone who is not staff")
        .required(false)
        .posted(posted);
    let mut password = Input::new_password("new-password", "password", "First password")
        .hint("They enrol an authenticator at first sign-in; at least 12 characters");
    let errors = Errors::place(
        &refusal.problems,
        [&mut email, &mut name, &mut person, &mut password],
    );
    let links = accounts
        .iter()
        .map(|a| {
            steward_service::Provider::ALL
                .into_iter()
                .filter(|p| {
                    all_links
                        .iter()
                        .any(|l| l.email == a.email && l.provider == p.as_str())
                })
                .map(|p| (p.as_str(), p.label()))
                .collect()
        })
        .collect();
    page_refusing(
        !errors.is_empty(),
        &SignInsPage {
            chrome: Chrome::signed(state, signed, "/admin/sign-ins"),
            links,
            find: query.find,
            total,
            first,
            next,
            accounts: accounts
                .into_iter()
                .map(|a| {
                    (
                        a.email,
                        a.display_name,
                        a.person_id.unwrap_or_default(),
                        if a.mfa_enrolled_at.is_some() {
                            "enrolled"
                        } else {
                            "not yet"
                        },
                        a.roles.join(", "),
                        if a.disabled { "yes" } else { "no" },
                    )
                })
                .collect(),
            capacities: Capacity::ALL
                .iter()
                .filter(|c| !matches!(c, Capacity::Staff | Capacity::LineManager))
                .map(|c| {
                    let ticked = posted.iter().any(|(k, v)| k == "role" && v == c.as_str());
                    (c.as_str(), ticked)
                })
                .collect(),
            email,
            name,
            person,
            password,
            notice,
            errors,
        },
    )
}

pub(crate) async fn sign_ins(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(query): Query<SignInsQuery>,
) -> Result<Response, WebError> {
    sign_ins_page(&state, &signed, query, None, None).await
}

/// An administrator's acts on accounts: add one, reset its authenticator, disable or enable it.
pub(crate) async fn change_sign_ins(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let get = |name: &str| form.get(name);
    let act = get("act");
    let email = get("email");
    let stamp = steward_service::Stamp::of(&signed.viewer);
    let (name, person, password) = (get("name"), get("person_id"), get("password"));
    let roles: Vec<Capacity> = form.all("role").filter_map(Capacity::parse).collect();
    let (e, adding) = (email.clone(), act == "add");
    let result = blocking(&state, move |s| {
        match act.as_str() {
            "add" => s.add_sign_in(
                &stamp,
                &e,
                &name,
                (!person.is_empty()).then_some(person.as_str()),
                &password,
                &roles,
            )?,
            "reset" => s.reset_second_factor(&stamp, &e)?,
            "password" => s.require_new_password(&stamp, &e)?,
            "disable" => s.set_sign_in_disabled(&stamp, &e, true)?,
            "enable" => s.set_sign_in_disabled(&stamp, &e, false)?,
            "link" => s.link_sign_in_person(&stamp, &e, person.trim())?,
            // The person's account at the provider was replaced: the next sign-in links afresh.
            unlink if unlink.starts_with("unlink_") => {
                let provider = steward_service::Provider::parse(&unlink["unlink_".len()..])
                    .ok_or_else(|| {
                        steward_service::ServiceError::Checks(format!("unknown act {unlink:?}"))
                    })?;
                s.unlink_sso(&stamp, &e, provider)?;
            }
            other => {
                return Err(steward_service::ServiceError::Checks(format!(
                    "unknown act {other:?}"
                )));
            }
        }
        Ok(())
    })
    .await;
    match result {
        Ok(()) => {
            sign_ins_page(
                &state,
                &signed,
                SignInsQuery::default(),
                Some(format!("{email}: done")),
                None,
            )
            .await
        }
        Err(WebError::Service(e)) if !matches!(e, steward_service::ServiceError::Store(_)) => {
            let mut refusal = Refusal::of(&e).unwrap_or_else(|| Refusal::general(e.to_string()));
            // The person named must be on the people register.
            for p in &mut refusal.problems {
                if adding
                    && p.field.is_none()
                    && matches!(e, steward_service::ServiceError::NotFound { .. })
                {
                    p.field = Some("person_id".into());
                }
            }
            // Only the form that adds a sign-in is shown again as it was typed.
            if adding {
                refusal = refusal.with_posted(&form.fields);
            }
            sign_ins_page(
                &state,
                &signed,
                SignInsQuery::default(),
                None,
                Some(refusal),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// --- the organisation -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "organisation.html")]
struct OrganisationPage {
    chrome: Chrome,
    name: Input,
    time_zone: Input,
    green: Input,
    amber: Input,
    notice: Option<String>,
    errors: Errors,
}

async fn organisation_page(
    state: &AppState,
    signed: &Signed,
    notice: Option<String>,
    refusal: Option<Refusal>,
) -> Result<Response, WebError> {
    let org = blocking(state, |s| s.organisation()).await?;
    let zone = signed.zone;
    let refusal = refusal.unwrap_or_default();
    let field = |name: &str| {
        Input::field(steward_model::Register::Organisation, name, zone)
            .unwrap_or_else(|| Input::text("", name, ""))
    };
    let mut name = field("name")
        .id("org-name")
        .value(org.name)
        .posted(&refusal.posted);
    let mut time_zone = field("time_zone")
        .id("org-tz")
        .hint("Working days and \"today\" are reckoned in it; such as Europe/London")
        .value(org.time_zone)
        .posted(&refusal.posted);
    let threshold = |name: &str, id: &str, label: &str, hint: String, value: Option<i64>| {
        let mut input = field(name)
            .id(id)
            .label(label)
            .hint(hint)
            .value(value.map(|n| n.to_string()).unwrap_or_default())
            .posted(&refusal.posted);
        input.suffix = "%";
        input.max = "100".into();
        input
    };
    let mut green = threshold(
        "compliance_green",
        "org-green",
        "Green from",
        format!(
            "A policy or section is green when at least this share of what its checks look at \
             is compliant; empty: {}",
            steward_model::Organisation::GREEN
        ),
        org.compliance_green,
    );
    let mut amber = threshold(
        "compliance_amber",
        "org-amber",
        "Amber from",
        format!(
            "Below green and at least this, amber; below it, red; empty: {}",
            steward_model::Organisation::AMBER
        ),
        org.compliance_amber,
    );
    let errors = Errors::place(
        &refusal.problems,
        [&mut name, &mut time_zone, &mut green, &mut amber],
    );
    page_refusing(
        !errors.is_empty(),
        &OrganisationPage {
            chrome: Chrome::signed(state, signed, "/admin/organisation"),
            name,
            time_zone,
            green,
            amber,
            notice,
            errors,
        },
    )
}

pub(crate) async fn organisation(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    organisation_page(&state, &signed, None, None).await
}

/// The organisation's name and time zone (in which working days and "today" are reckoned).
pub(crate) async fn set_organisation(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let (name, time_zone) = (form.get("name"), form.get("time_zone"));
    let (green, amber) = (form.get("compliance_green"), form.get("compliance_amber"));
    let stamp = steward_service::Stamp::of(&signed.viewer);
    let result = blocking(&state, move |s| {
        let mut problems = Vec::new();
        let mut threshold = |name: &'static str, text: &str| {
            let text = text.trim();
            let field = steward_model::Register::Organisation.field(name)?;
            if text.is_empty() {
                return None;
            }
            match field.parse(text) {
                Ok(steward_model::Value::Int(n)) => Some(n),
                Ok(_) => None,
                Err(reason) => {
                    problems.push(steward_service::FieldProblem {
                        field: field.name,
                        value: text.to_owned(),
                        reason,
                    });
                    None
                }
            }
        };
        let compliance_green = threshold("compliance_green", &green);
        let compliance_amber = threshold("compliance_amber", &amber);
        if !problems.is_empty() {
            return Err(steward_service::ServiceError::Invalid {
                register: steward_model::Register::Organisation,
                problems,
            });
        }
        s.set_organisation(
            &stamp,
            steward_model::Organisation {
                id: steward_model::Organisation::ID.into(),
                name,
                time_zone,
                compliance_green,
                compliance_amber,
            },
        )
    })
    .await;
    match result {
        Ok(_) => organisation_page(&state, &signed, Some("Saved.".into()), None).await,
        Err(WebError::Service(e @ steward_service::ServiceError::Invalid { .. })) => {
            let refusal = Refusal::of(&e)
                .unwrap_or_default()
                .with_posted(&form.fields);
            organisation_page(&state, &signed, None, Some(refusal)).await
        }
        Err(e) => Err(e),
    }
}

// --- one's own password ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    must_change: bool,
    error: Option<String>,
}

async fn password_page(
    state: &AppState,
    signed: &Signed,
    error: Option<String>,
) -> Result<Response, WebError> {
    page_refusing(
        error.is_some(),
        &PasswordPage {
            chrome: Chrome::signed(state, signed, "/account/password"),
            must_change: signed.viewer.must_change_password,
            error,
        },
    )
}

pub(crate) async fn password_form(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    password_page(&state, &signed, None).await
}

/// Changes one's own password (the current one and a code), or chooses a new one after an
/// administrator's reset. Every session of the account ends: sign in again with the new one.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let (current, code, new, confirm) = (
        form.get("current"),
        form.get("code"),
        form.get("new"),
        form.get("confirm"),
    );
    if new != confirm {
        return password_page(&state, &signed, Some("the two new passwords differ".into())).await;
    }
    let stamp = steward_service::Stamp::of(&signed.viewer);
    let (email, must_change) = (
        signed.viewer.email.clone(),
        signed.viewer.must_change_password,
    );
    let result = blocking(&state, move |s| {
        if must_change {
            s.choose_new_password(&stamp, &email, &new)
        } else {
            s.change_password(&stamp, &email, &current, &code, &new)
        }
    })
    .await;
    match result {
        Ok(()) => Ok(Redirect::to("/login").into_response()),
        Err(WebError::Service(e @ steward_service::ServiceError::SignIn(_))) => {
            password_page(&state, &signed, Some(e.to_string())).await
        }
        Err(e) => Err(e),
    }
}
