//! The registers of assets and accounts (people are in `pages`): search, filters, CSV, and a
//! page for any record with its history from the audit log; allocating, returning and changing
//! the state of equipment, and the state of accounts.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use steward_model::{Account, AccountStatus, Asset, AssetStatus, Register, Value};
use steward_service::{Capacity, Stamp};
use steward_store::{AssignmentsOf, AuditQuery};

use crate::forms::{self, Errors, Input, Refusal};
use crate::pages::{Chrome, csv, page, page_refusing, percent};
use crate::session::Form;
use crate::{AppState, Signed, WebError, blocking};

/// The most rows a list page shows; the CSV export has them all.
const PAGE_ROWS: usize = 500;

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Filter {
    pub q: String,
    pub status: String,
    pub kind: String,
    /// A column to order by, `-` before it for downwards; by id when empty.
    pub sort: String,
    /// The id of the last row of the page before.
    pub after: String,
}

impl Filter {
    /// The filter and its order as a query string: what a bookmark, the CSV link and the next
    /// page keep.
    pub(crate) fn to_query(&self) -> String {
        format!(
            "q={}&status={}&kind={}&sort={}",
            percent(&self.q),
            percent(&self.status),
            percent(&self.kind),
            percent(&self.sort)
        )
    }

    /// The order asked for: a text field of `register` and whether downwards.
    pub(crate) fn sort(&self, register: Register) -> Result<Option<(String, bool)>, WebError> {
        let text = self.sort.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let (field, desc) = match text.strip_prefix('-') {
            Some(field) => (field, true),
            None => (text, false),
        };
        if !steward_store::is_text_field(register, field) {
            return Err(WebError::BadRequest(format!(
                "sort: {text:?}: not a column this list can be ordered by"
            )));
        }
        Ok(Some((field.to_owned(), desc)))
    }
}

/// Where a list's pages and orders lead: the next page when there is one, the first when past
/// it, and each column's order (`None` for a column the list cannot be ordered by).
pub(crate) struct Paging {
    pub next: Option<String>,
    pub first: Option<String>,
    /// Each column, and the address that orders the list by it where it can be.
    pub headers: Vec<(String, Option<String>)>,
}

impl Paging {
    pub(crate) fn of(
        register: Register,
        path: &str,
        filter: &Filter,
        columns: &[&str],
        more: bool,
        last_id: Option<&str>,
    ) -> Paging {
        let (first, next) = crate::pages::page_links(
            &format!("{path}?{}", filter.to_query()),
            "after",
            !filter.after.trim().is_empty(),
            more,
            last_id,
        );
        let headers = columns
            .iter()
            .map(|c| {
                let href = steward_store::is_text_field(register, c).then(|| {
                    // The column's order, or its reverse when it is the order now.
                    let sort = if filter.sort == *c {
                        format!("-{c}")
                    } else {
                        (*c).to_owned()
                    };
                    let mut other = filter.clone();
                    other.sort = sort;
                    other.after = String::new();
                    format!("{path}?{}", other.to_query())
                });
                ((*c).to_owned(), href)
            })
            .collect();
        Paging {
            next,
            first,
            headers,
        }
    }
}

/// A register's list: its columns and rows, each row with a link to its record.
#[derive(Template)]
#[template(path = "register_list.html")]
struct ListPage {
    chrome: Chrome,
    title: &'static str,
    path: &'static str,
    filter: Filter,
    query: String,
    statuses: Vec<String>,
    kinds: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
    total: u64,
    paging: Paging,
}

fn asset_cells(a: &Asset) -> Vec<String> {
    vec![
        a.tag.clone(),
        a.kind.to_string(),
        a.model.clone().unwrap_or_default(),
        a.status.to_string(),
        a.assigned_to.clone().unwrap_or_default(),
        a.assigned_on.map(|d| d.to_string()).unwrap_or_default(),
    ]
}

const ASSET_COLUMNS: [&str; 6] = [
    "tag",
    "kind",
    "model",
    "status",
    "assigned_to",
    "assigned_on",
];

/// Everything a CSV export holds: as many as the database can count.
pub(crate) const ALL_ROWS: u64 = i64::MAX as u64;

impl Filter {
    /// The filter's exact matches, by field.
    fn equal(&self) -> Vec<(&'static str, String)> {
        [("status", &self.status), ("kind", &self.kind)]
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k, v.trim().to_owned()))
            .collect()
    }
}

/// A page (or, with [`ALL_ROWS`], the whole) of a register matching a filter, searched in
/// `fields`, and the count in all: filtered, ordered and limited by the database.
async fn matching<R: steward_model::Record + Send + 'static>(
    state: &AppState,
    filter: &Filter,
    fields: &'static [&'static str],
    limit: u64,
) -> Result<(Vec<R>, u64), WebError> {
    let equal = filter.equal();
    let q = filter.q.trim().to_owned();
    let sort = filter.sort(R::REGISTER)?;
    // A page begins after the last row of the one before; a download is the whole view.
    let after = (limit != ALL_ROWS && !filter.after.trim().is_empty())
        .then(|| filter.after.trim().to_owned());
    blocking(state, move |s| {
        let equal: Vec<(&str, &str)> = equal.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let search = (!q.is_empty()).then(|| (fields.to_vec(), q.as_str()));
        let sort = sort.as_ref().map(|(f, desc)| (f.as_str(), *desc));
        s.list_page::<R>(equal, search, limit, after.as_deref(), sort)
    })
    .await
}

const ASSET_SEARCH: &[&str] = &["tag", "model", "serial", "assigned_to"];

pub(crate) async fn assets(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<Filter>,
) -> Result<Response, WebError> {
    // One row past the page: whether there is a next page is known without counting.
    let (mut found, total) =
        matching::<Asset>(&state, &filter, ASSET_SEARCH, PAGE_ROWS as u64 + 1).await?;
    let more = found.len() > PAGE_ROWS;
    found.truncate(PAGE_ROWS);
    let paging = Paging::of(
        Register::Assets,
        "/assets",
        &filter,
        &ASSET_COLUMNS,
        more,
        found.last().map(|a| a.tag.as_str()),
    );
    page(&ListPage {
        paging,
        chrome: Chrome::signed(&state, &signed, "/assets"),
        title: "Equipment",
        path: "/assets",
        query: filter.to_query(),
        statuses: AssetStatus::ALL.iter().map(|s| (*s).to_owned()).collect(),
        kinds: steward_model::AssetKind::ALL
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        total,
        rows: found
            .iter()
            .map(|a| {
                (
                    format!("/register/asset/{}", percent(&a.tag)),
                    asset_cells(a),
                )
            })
            .collect(),
        filter,
    })
}

pub(crate) async fn assets_csv(
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Result<Response, WebError> {
    let (found, _) = matching::<Asset>(&state, &filter, ASSET_SEARCH, ALL_ROWS).await?;
    csv(
        "assets.csv",
        &ASSET_COLUMNS,
        found.iter().map(asset_cells).collect(),
    )
}

fn account_cells(a: &Account) -> Vec<String> {
    vec![
        a.id.clone(),
        a.person_id.clone().unwrap_or_default(),
        a.system.clone(),
        a.kind.to_string(),
        a.status.to_string(),
        a.mfa.map(|m| m.to_string()).unwrap_or_default(),
    ]
}

const ACCOUNT_COLUMNS: [&str; 6] = ["id", "person_id", "system", "kind", "status", "mfa"];

const ACCOUNT_SEARCH: &[&str] = &["id", "person_id", "system"];

pub(crate) async fn accounts(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<Filter>,
) -> Result<Response, WebError> {
    let (mut found, total) =
        matching::<Account>(&state, &filter, ACCOUNT_SEARCH, PAGE_ROWS as u64 + 1).await?;
    let more = found.len() > PAGE_ROWS;
    found.truncate(PAGE_ROWS);
    let paging = Paging::of(
        Register::Accounts,
        "/accounts",
        &filter,
        &ACCOUNT_COLUMNS,
        more,
        found.last().map(|a| a.id.as_str()),
    );
    page(&ListPage {
        paging,
        chrome: Chrome::signed(&state, &signed, "/accounts"),
        title: "Accounts",
        path: "/accounts",
        query: filter.to_query(),
        statuses: AccountStatus::ALL.iter().map(|s| (*s).to_owned()).collect(),
        kinds: steward_model::AccountKind::ALL
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        total,
        rows: found
            .iter()
            .map(|a| {
                (
                    format!("/register/account/{}", percent(&a.id)),
                    account_cells(a),
                )
            })
            .collect(),
        filter,
    })
}

pub(crate) async fn accounts_csv(
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Result<Response, WebError> {
    let (found, _) = matching::<Account>(&state, &filter, ACCOUNT_SEARCH, ALL_ROWS).await?;
    csv(
        "accounts.csv",
        &ACCOUNT_COLUMNS,
        found.iter().map(account_cells).collect(),
    )
}

// --- one record -----------------------------------------------------------------------------

/// Where a synced record comes from: the connector keeping it, when that source last listed it
/// and since when it has not.
struct KeptLine {
    connector: String,
    /// The connector's page, for those who may open it.
    href: Option<String>,
    /// The connector is still set up (not removed since).
    set_up: bool,
    seen: String,
    missing: String,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    chrome: Chrome,
    entity: String,
    id: String,
    /// Each field: its name, its value, and where a connector's sync set it (which, when).
    fields: Vec<(&'static str, String, String)>,
    /// Whether any field has a source: the table shows the column then.
    sourced: bool,
    kept: Option<KeptLine>,
    spans: Vec<(String, String, String)>,
    history: Vec<(String, String, String, String)>,
    /// What may be done here: `asset` or `account` forms, for the IT team and administrators.
    actions: &'static str,
    /// Whom to allocate an asset to.
    allocate: Option<Input>,
    /// The asset's or account's state, the current one chosen.
    status: Option<Input>,
    /// Every field that can be changed, with its value, for those who may change records.
    editable: Vec<Input>,
    /// The change form is shown open: it was refused, and its problems are beside its fields.
    editing: bool,
    errors: Errors,
}

/// Which of a record page's forms was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordForm {
    Allocate,
    Status,
    Set,
}

/// What changed between two canonical JSON objects, as `field: before → after`.
pub(crate) fn changes(before: Option<&str>, after: Option<&str>) -> String {
    let parse = |t: Option<&str>| -> serde_json::Map<String, serde_json::Value> {
        t.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    };
    let (b, a) = (parse(before), parse(after));
    let text = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "—".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| format!("{k}: {} → {}", text(b.get(k)), text(a.get(k))))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn record_page(
    state: &AppState,
    signed: &Signed,
    entity: String,
    id: String,
    refused: Option<(RecordForm, Refusal)>,
) -> Result<Response, WebError> {
    let zone = signed.zone;
    let register = Register::from_entity(&entity).ok_or(WebError::NotFound)?;
    let (e, i) = (entity.clone(), id.clone());
    let (row, spans, history, kept, provenance) = blocking(state, move |s| {
        let row = s.store().get(register, &i)?;
        let kept = match &row {
            Some(row) => s.kept_by(row)?,
            None => None,
        };
        let provenance = s.provenance(register, &i)?;
        let spans = match register {
            Register::Assets => s.assignments(AssignmentsOf::Asset(&i))?,
            Register::People => s.assignments(AssignmentsOf::Person(&i))?,
            _ => Vec::new(),
        };
        let mut history = Vec::new();
        s.audit_log(
            &AuditQuery {
                entity: Some((e, i)),
                limit: Some(200),
                before: None,
            },
            &mut |r| {
                history.push((
                    crate::processes::local_text_of(&r.at, zone),
                    r.actor.clone(),
                    r.action.clone(),
                    changes(r.before.as_deref(), r.after.as_deref()),
                ));
                Ok(())
            },
        )?;
        history.reverse();
        Ok((row, spans, history, kept, provenance))
    })
    .await?;
    let row = row.ok_or(WebError::NotFound)?;
    let text_of = |field: &str| row.get(field).map(Value::to_text).unwrap_or_default();
    let time_of = |field: &str| match row.get(field) {
        Some(Value::Timestamp(t)) => crate::processes::local_text(t, zone),
        _ => String::new(),
    };
    let chrome = Chrome::signed(state, signed, "/assets");
    let source = text_of("source");
    let kept_line = (!source.is_empty()).then(|| {
        let href = format!("/connectors/{}", percent(&source));
        KeptLine {
            href: (kept.is_some() && chrome.may("/connectors/{name}")).then_some(href),
            set_up: kept.is_some(),
            seen: time_of("source_seen"),
            missing: time_of("missing_since"),
            connector: source.clone(),
        }
    });
    let may_change = signed.viewer.is(Capacity::It) || signed.viewer.is(Capacity::Administrator);
    let actions: &'static str = match register {
        Register::Assets if may_change => "asset",
        Register::Accounts if may_change => "account",
        _ => "",
    };
    let (form, refusal) = match refused {
        Some((form, refusal)) => (Some(form), refusal),
        None => (None, Refusal::default()),
    };
    // What was typed into the refused form is shown again, to be put right; the other forms
    // show the record as it is.
    let posted = |which: RecordForm| -> &[(String, String)] {
        if form == Some(which) {
            &refusal.posted
        } else {
            &[]
        }
    };
    let mut allocate = (actions == "asset").then(|| {
        Input::field(Register::Assets, "assigned_to", zone)
            .unwrap_or_else(|| Input::text("", "", ""))
            .id("person_id")
            .name("person_id")
            .label("Allocate to")
            .required(true)
            .posted(posted(RecordForm::Allocate))
    });
    // The state it is in is the one chosen: changing another field does not move it.
    let mut status = match register.field("status") {
        Some(field) if !actions.is_empty() => Some(
            Input::of(field, row.get("status").unwrap_or(&Value::Null), zone)
                .id(format!("{actions}-status"))
                .label("State")
                .posted(posted(RecordForm::Status)),
        ),
        _ => None,
    };
    let mut editable: Vec<Input> = if may_change {
        register
            .fields()
            .iter()
            .zip(row.values())
            .filter(|(f, _)| f.csv && !register.key_fields().any(|k| k.name == f.name))
            .map(|(f, v)| {
                let input = Input::of(f, v, zone);
                // A field the connector keeping the record owns is changed in its source.
                let input = match &kept {
                    Some(k) if k.fields.contains(&f.name) => input.hint(format!(
                        "Kept by the connector {}: change it in {}",
                        k.connector,
                        k.kind.title()
                    )),
                    _ => input,
                };
                input.posted(posted(RecordForm::Set))
            })
            .collect()
    } else {
        Vec::new()
    };
    let errors = match form {
        Some(RecordForm::Allocate) => Errors::place(&refusal.problems, allocate.iter_mut()),
        Some(RecordForm::Status) => Errors::place(&refusal.problems, status.iter_mut()),
        Some(RecordForm::Set) => Errors::place(&refusal.problems, editable.iter_mut()),
        None => Errors::default(),
    };
    page_refusing(
        !errors.is_empty(),
        &RecordPage {
            chrome,
            editing: form == Some(RecordForm::Set),
            editable,
            allocate,
            status,
            errors,
            sourced: !provenance.is_empty(),
            kept: kept_line,
            fields: register
                .fields()
                .iter()
                .zip(row.values())
                .map(|(f, v)| {
                    let from = provenance
                        .iter()
                        .find(|p| p.field == f.name)
                        .map(|p| {
                            format!(
                                "{}, {}",
                                p.source,
                                crate::processes::local_text(&p.synced_at, zone)
                            )
                        })
                        .unwrap_or_default();
                    (f.name, v.to_text(), from)
                })
                .collect(),
            spans: spans
                .into_iter()
                .map(|s| {
                    (
                        if register == Register::Assets {
                            s.person_id
                        } else {
                            s.asset_tag
                        },
                        s.from.to_string(),
                        s.until.map(|d| d.to_string()).unwrap_or_default(),
                    )
                })
                .collect(),
            history,
            actions,
            entity,
            id,
        },
    )
}

pub(crate) async fn record(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path((entity, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    record_page(&state, &signed, entity, id, None).await
}

/// Allocates, returns or changes the state of an asset, or changes an account's state: each a
/// change of fields through the service, so checked and audited like any other.
pub(crate) async fn change(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path((entity, id, what)): Path<(String, String, String)>,
    request: Request,
) -> Result<Response, WebError> {
    let fields = Form::read(request).await?;
    let viewer = signed.viewer.clone();
    let zone = signed.zone;
    let (register, form, changes): (Register, RecordForm, Vec<(String, String)>) =
        match (entity.as_str(), what.as_str()) {
            ("asset", "allocate") => {
                let person = fields.get("person_id");
                let today = blocking(&state, |s| s.local_date(Utc::now())).await?;
                (
                    Register::Assets,
                    RecordForm::Allocate,
                    vec![
                        ("assigned_to".into(), person),
                        ("assigned_on".into(), today.to_string()),
                        ("status".into(), "allocated".into()),
                    ],
                )
            }
            ("asset", "return") => (
                Register::Assets,
                RecordForm::Status,
                vec![
                    ("assigned_to".into(), String::new()),
                    ("assigned_on".into(), String::new()),
                    ("status".into(), "in_stock".into()),
                ],
            ),
            ("asset", "status") => (
                Register::Assets,
                RecordForm::Status,
                vec![("status".into(), fields.get("status"))],
            ),
            ("account", "status") => (
                Register::Accounts,
                RecordForm::Status,
                vec![("status".into(), fields.get("status"))],
            ),
            // Any field of any register, as `steward register set` does: only what changed.
            (entity, "set") => {
                let register = Register::from_entity(entity).ok_or(WebError::NotFound)?;
                let i = id.clone();
                let posted = fields.fields.clone();
                let changes = blocking(&state, move |s| {
                    let Some(row) = s.store().get(register, &i)? else {
                        return Ok(None);
                    };
                    let mut changes = Vec::new();
                    for (f, v) in register.fields().iter().zip(row.values()) {
                        let Some((_, text)) = posted.iter().find(|(k, _)| k == f.name) else {
                            continue;
                        };
                        // Unchanged is what the form showed: an instant shown on the
                        // organisation's clock reads back as itself, not as a change.
                        if text.trim() == forms::shown_value(f.ty, v, zone) {
                            continue;
                        }
                        let text = forms::posted_value(f.ty, text, |wall| s.local_instant(wall))?;
                        changes.push((f.name.to_owned(), text));
                    }
                    Ok(Some(changes))
                })
                .await?
                .ok_or(WebError::NotFound)?;
                (register, RecordForm::Set, changes)
            }
            _ => return Err(WebError::NotFound),
        };
    let i = id.clone();
    let result = blocking(&state, move |s| {
        s.set_fields(&Stamp::of(&viewer), register, &i, &changes)
    })
    .await;
    match result {
        Ok(_) => {
            crate::processes::recheck(&state);
            Ok(Redirect::to(&format!("/register/{entity}/{}", percent(&id))).into_response())
        }
        Err(WebError::Service(e @ steward_service::ServiceError::Invalid { .. })) => {
            let mut refusal = Refusal::of(&e).unwrap_or_default();
            if form == RecordForm::Allocate {
                // The form names the person; the row, its holder.
                for p in &mut refusal.problems {
                    if p.field.as_deref() == Some("assigned_to") {
                        p.field = Some("person_id".into());
                    }
                }
            }
            let refusal = refusal.with_posted(&fields.fields);
            record_page(&state, &signed, entity, id, Some((form, refusal))).await
        }
        Err(e) => Err(e),
    }
}

// --- any register ---------------------------------------------------------------------------

/// The registers the browser lists: all but the organisation's settings (its own page).
fn browsable() -> impl Iterator<Item = Register> {
    Register::ALL
        .into_iter()
        .filter(|r| *r != Register::Organisation)
}

#[derive(Template)]
#[template(path = "registers.html")]
struct RegistersPage {
    chrome: Chrome,
    /// Each register's name and how many rows it holds.
    registers: Vec<(&'static str, u64)>,
}

/// Every register with its count of rows, as `steward register list` reaches them.
pub(crate) async fn registers(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let registers = blocking(&state, |s| {
        browsable()
            .map(|r| Ok((r.name(), s.store().count(r)?)))
            .collect::<Result<Vec<_>, steward_service::ServiceError>>()
    })
    .await?;
    page(&RegistersPage {
        chrome: Chrome::signed(&state, &signed, "/registers"),
        registers,
    })
}

#[derive(Template)]
#[template(path = "register_rows.html")]
struct RowsPage {
    chrome: Chrome,
    name: &'static str,
    q: String,
    sort: String,
    paging: Paging,
    /// Each row's record page, where its id can be a path segment, and its cells.
    rows: Vec<(Option<String>, Vec<String>)>,
    total: u64,
}

/// One register's rows matching a search (`/registers/{name}`), or every row matching it as CSV
/// (`/registers/{name}.csv`), filtered, ordered and limited by the database.
pub(crate) async fn register_rows(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(name): Path<String>,
    Query(search): Query<Filter>,
) -> Result<Response, WebError> {
    let (name, as_csv) = match name.strip_suffix(".csv") {
        Some(name) => (name.to_owned(), true),
        None => (name, false),
    };
    let register = browsable()
        .find(|r| r.name() == name)
        .ok_or(WebError::NotFound)?;
    let q = search.q.trim().to_owned();
    // One row past a page: whether there is a next page is known without counting.
    let limit = if as_csv {
        ALL_ROWS
    } else {
        PAGE_ROWS as u64 + 1
    };
    let sort = search.sort(register)?;
    let after =
        (!as_csv && !search.after.trim().is_empty()).then(|| search.after.trim().to_owned());
    let (mut rows, total) = blocking(&state, move |s| {
        let fields = steward_service::searchable_fields(register);
        let search = (!q.is_empty()).then_some((fields, q.as_str()));
        Ok(s.store().list_page(&steward_store::ListPage {
            register,
            equal: Vec::new(),
            search,
            limit,
            after: after.as_deref(),
            sort: sort.as_ref().map(|(f, desc)| (f.as_str(), *desc)),
            referenced_by: None,
        })?)
    })
    .await?;
    let more = !as_csv && rows.len() > PAGE_ROWS;
    if !as_csv {
        rows.truncate(PAGE_ROWS);
    }
    let shown: Vec<usize> = register
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.csv)
        .map(|(i, _)| i)
        .collect();
    let columns: Vec<&'static str> = shown.iter().map(|i| register.fields()[*i].name).collect();
    let cells = |row: &steward_model::Row| -> Vec<String> {
        shown
            .iter()
            .map(|i| {
                row.values()
                    .get(*i)
                    .map(|v| v.to_text())
                    .unwrap_or_default()
            })
            .collect()
    };
    if as_csv {
        return csv(
            &register.file_name(),
            &columns,
            rows.iter().map(cells).collect(),
        );
    }
    let path = format!("/registers/{}", register.name());
    let paging = Paging::of(
        register,
        &path,
        &search,
        &columns,
        more,
        rows.last().map(|r| r.id()),
    );
    page(&RowsPage {
        chrome: Chrome::signed(&state, &signed, "/registers"),
        name: register.name(),
        q: search.q.clone(),
        sort: search.sort.clone(),
        paging,
        rows: rows
            .iter()
            .map(|row| {
                let href = format!("/register/{}/{}", register.entity(), percent(row.id()));
                (Some(href), cells(row))
            })
            .collect(),
        total,
    })
}
