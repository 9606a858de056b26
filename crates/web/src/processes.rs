//! Requests and incidents: the queue with SLA countdowns, raising, approving, rejecting and
//! fulfilling; reporting an incident, its clocks and the people still to be told. Every step goes
//! through the service (which decides who may take it) and then re-runs the checks, so that a
//! finding the step settles clears.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use steward_model::{
    FieldType, Incident, IncidentType, Person, Record as _, Request as ServiceRequest,
    RequestState, RequestType,
};
use steward_service::{
    Among, Capacity, CheckRun, IncidentView, RequestView, Stamp, Steward, Viewer,
};
use steward_workflow::{Action, Details, Sla};

use crate::access::acts_for_anyone;
use crate::forms::{Errors, Input, Refusal, capitalised};
use crate::pages::{Chrome, csv, page, page_refusing};
use crate::pickers::{self, Found, search_text};
use crate::session::Form;
use crate::{AppState, Signed, WebError, blocking};

/// Those who see every request and incident.
const ALL_SEEING: [Capacity; 4] = [
    Capacity::It,
    Capacity::Governance,
    Capacity::Auditor,
    Capacity::Administrator,
];

fn sees_all(viewer: &Viewer) -> bool {
    ALL_SEEING.iter().any(|c| viewer.is(*c))
}

fn stamp(viewer: &Viewer) -> Stamp {
    Stamp::of(viewer)
}

/// The people whose requests and incidents a viewer may see: themselves and, for a line manager,
/// their reports. `None`: everyone.
pub(crate) fn visible_people(
    s: &Steward,
    viewer: &Viewer,
) -> Result<Option<Vec<String>>, steward_service::ServiceError> {
    if sees_all(viewer) {
        return Ok(None);
    }
    let Some(me) = &viewer.person_id else {
        return Ok(Some(Vec::new()));
    };
    let mut ids = vec![me.clone()];
    if viewer.is(Capacity::LineManager) {
        ids.extend(
            s.list_where::<Person>("manager_id", me)?
                .into_iter()
                .map(|p| p.id),
        );
    }
    Ok(Some(ids))
}

pub(crate) fn may_see(visible: &Option<Vec<String>>, person_id: &str) -> bool {
    visible
        .as_ref()
        .is_none_or(|ids| ids.iter().any(|i| i == person_id))
}

fn sla_text(sla: &Sla) -> String {
    match sla {
        Sla::None => String::new(),
        Sla::OnTrack { working_days_left } => format!("{working_days_left} working days left"),
        Sla::DueToday => "due today".into(),
        Sla::Overdue { working_days } => format!("overdue by {working_days} working days"),
    }
}

fn sla_class(sla: &Sla) -> &'static str {
    match sla {
        Sla::None => "",
        Sla::OnTrack { .. } => "on-track",
        Sla::DueToday => "due-today",
        Sla::Overdue { .. } => "overdue",
    }
}

/// Queues a check run after a change (one waiting run is enough: a change made while one waits
/// is checked by it), without waiting for the queue: the step's response goes out at once, and a
/// finding the step settles clears when the run is done.
pub(crate) fn recheck(state: &AppState) {
    let steward = state.steward.clone();
    let jobs = state.jobs.clone();
    let fixed = !state.options.packs.is_empty();
    tokio::task::spawn_blocking(move || {
        // With no pack in force there is nothing to check. The organisation's own packs are in
        // the database, so whether any runs is asked there, not of the server's options.
        match steward.active_pack_ids() {
            Ok(active) if active.is_empty() && !fixed => return,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the packs in force"),
        }
        match steward.enqueue_check(&Stamp::now("system:checks"), CheckRun::AfterStep) {
            Ok(_) => jobs.wake(),
            Err(e) => tracing::error!(error = %e, "cannot queue the checks"),
        }
    });
}

/// Queues a check run for the viewer ("check again now"), or finds the one already waiting: the
/// job to follow.
pub(crate) async fn recheck_now(state: &AppState, viewer: &Viewer) -> Result<i64, WebError> {
    let stamp = Stamp::of(viewer);
    let (id, _) = blocking(state, move |s| s.enqueue_check(&stamp, CheckRun::Asked)).await?;
    state.jobs.wake();
    Ok(id)
}

// --- requests -------------------------------------------------------------------------------

pub(crate) struct RequestRow {
    pub id: String,
    /// The type's word (in the CSV) and its name (on the page).
    pub kind: String,
    pub kind_name: String,
    pub person: String,
    pub state: String,
    pub due: String,
    pub sla: String,
    pub sla_class: &'static str,
}

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    chrome: Chrome,
    rows: Vec<RequestRow>,
    open_only: bool,
    /// How many the filter matches, and the next page's and the first page's addresses.
    total: usize,
    next: Option<String>,
    first: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct RequestFilter {
    pub all: String,
    /// Only requests standing so against their deadline: `overdue`, `due-today`, `on-track`
    /// or `none` (the dashboard's counts link here).
    pub deadline: String,
    /// The id of the last request of the page before.
    pub after: String,
}

/// How many rows a process list shows at once.
const PROCESS_ROWS: usize = 200;

/// The page of `rows` (already in the list's order) after the row whose key is `after` — from
/// the start when `after` is empty or no longer listed — and whether more follow.
pub(crate) fn page_after<T>(rows: Vec<T>, key: impl Fn(&T) -> &str, after: &str) -> (Vec<T>, bool) {
    let after = after.trim();
    let start = if after.is_empty() {
        0
    } else {
        rows.iter()
            .position(|r| key(r) == after)
            .map_or(0, |i| i + 1)
    };
    let more = rows.len() > start + PROCESS_ROWS;
    (
        rows.into_iter().skip(start).take(PROCESS_ROWS).collect(),
        more,
    )
}

async fn request_rows(
    state: &AppState,
    viewer: &Viewer,
    open_only: bool,
) -> Result<Vec<RequestRow>, WebError> {
    let viewer = viewer.clone();
    blocking(state, move |s| {
        let visible = visible_people(s, &viewer)?;
        let today = s.local_date(Utc::now())?;
        let mut rows: Vec<(ServiceRequest, Sla)> = s
            .requests(today)?
            .into_iter()
            .filter(|(r, _)| may_see(&visible, &r.person_id))
            .filter(|(r, _)| {
                !open_only || matches!(r.state, RequestState::Open | RequestState::Approved)
            })
            .collect();
        // Overdue first, then soonest due, then newest.
        rows.sort_by(|a, b| {
            a.0.due_on
                .is_none()
                .cmp(&b.0.due_on.is_none())
                .then(a.0.due_on.cmp(&b.0.due_on))
                .then(b.0.opened_at.cmp(&a.0.opened_at))
        });
        Ok(rows
            .into_iter()
            .map(|(r, sla)| RequestRow {
                id: r.id,
                kind: r.kind.to_string(),
                kind_name: crate::names::request_type(r.kind.as_str()),
                person: r.person_id,
                state: r.state.to_string(),
                due: r.due_on.map(|d| d.to_string()).unwrap_or_default(),
                sla: sla_text(&sla),
                sla_class: sla_class(&sla),
            })
            .collect())
    })
    .await
}

pub(crate) async fn requests(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<RequestFilter>,
) -> Result<Response, WebError> {
    let open_only = filter.all.is_empty();
    let mut rows = request_rows(&state, &signed.viewer, open_only).await?;
    match filter.deadline.trim() {
        "" => {}
        "none" => rows.retain(|r| r.sla_class.is_empty()),
        class @ ("overdue" | "due-today" | "on-track") => rows.retain(|r| r.sla_class == class),
        other => {
            return Err(WebError::BadRequest(format!(
                "deadline: {other:?}: expected overdue, due-today, on-track or none"
            )));
        }
    }
    let total = rows.len();
    let (rows, more) = page_after(rows, |r| r.id.as_str(), &filter.after);
    let list = format!(
        "/requests?all={}&deadline={}",
        crate::pages::percent(&filter.all),
        crate::pages::percent(&filter.deadline)
    );
    let (first, next) = crate::pages::page_links(
        &list,
        "after",
        !filter.after.trim().is_empty(),
        more,
        rows.last().map(|r| r.id.as_str()),
    );
    page(&RequestsPage {
        chrome: Chrome::signed(&state, &signed, "/requests"),
        next,
        first,
        total,
        rows,
        open_only,
    })
}

pub(crate) async fn requests_csv(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let rows = request_rows(&state, &signed.viewer, false).await?;
    csv(
        "requests.csv",
        &["id", "type", "person", "state", "due", "sla"],
        rows.into_iter()
            .map(|r| vec![r.id, r.kind, r.person, r.state, r.due, r.sla])
            .collect(),
    )
}

/// The input for one of a request type's details, typed as the workflow reads it and no longer
/// than a detail may be.
fn detail_input(name: &'static str, hint: &str, ty: FieldType, zone: chrono_tz::Tz) -> Input {
    let field = steward_model::Field {
        name,
        ty,
        required: true,
        refers_to: None,
        csv: true,
        max_chars: match ty {
            FieldType::Text => steward_workflow::DETAIL_CHARS,
            _ => ty.max_chars().min(steward_workflow::DETAIL_CHARS),
        },
    };
    let mut input = Input::of(&field, &steward_model::Value::Null, zone)
        .id(format!("f-{name}"))
        .hint(capitalised(hint));
    // A detail is a few words; the note alone is written at length.
    input.wide = name == "note";
    input
}

#[derive(Template)]
#[template(path = "request_new.html")]
struct NewRequestPage {
    chrome: Chrome,
    /// Each type of request: its word, whether it is the one chosen, and its name.
    kinds: Vec<(String, bool, String)>,
    kind_name: String,
    kind: String,
    /// Whom it is for: typed (raising for anyone) or chosen (oneself and one's reports).
    person: Input,
    /// Raising for anyone: the person is found by a search first.
    may_find: bool,
    find: String,
    fields: Vec<Input>,
    errors: Errors,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct KindChoice {
    #[serde(rename = "type")]
    pub kind: String,
    /// Whom the request is for, when the form is opened for someone (a manager's report).
    pub person: String,
    /// Text to find the person by (name, id or e-mail), for those who raise for anyone.
    pub find: String,
}

async fn new_request_page(
    state: &AppState,
    signed: &Signed,
    kind: &str,
    person_for: &str,
    find: &str,
    refusal: Option<Refusal>,
) -> Result<Response, WebError> {
    let zone = signed.zone;
    let refusal = refusal.unwrap_or_default();
    let chosen: Option<RequestType> = kind.parse().ok();
    let mut fields: Vec<Input> = chosen
        .map(|k| {
            steward_workflow::required(k)
                .iter()
                .map(|(name, hint, ty)| detail_input(name, hint, *ty, zone))
                .chain(std::iter::once(
                    detail_input("note", "", FieldType::Text, zone)
                        .label("Anything else IT should know")
                        .required(false)
                        .hint(""),
                ))
                .map(|i| i.posted(&refusal.posted))
                .collect()
        })
        .unwrap_or_default();
    // The person the form was opened for (a manager's report, say), where the viewer may raise
    // for them; else the viewer.
    let mine = signed.viewer.person_id.clone().unwrap_or_default();
    let asked = person_for.trim();
    let anyone = acts_for_anyone(&signed.viewer);
    let find = search_text(find);
    let person = if anyone {
        let for_self = if asked.is_empty() {
            mine
        } else {
            asked.to_owned()
        };
        // A search names the people to choose from; without one, or with none found, the id is
        // typed.
        let found = if find.is_empty() {
            Found::default()
        } else {
            pickers::find_people(state, &signed.viewer, Among::Everyone, &find).await?
        };
        if found.choices.is_empty() {
            Input::field(steward_model::Register::Requests, "person_id", zone)
                .unwrap_or_else(|| Input::text("", "person_id", ""))
                .id("person_id")
                .label("For")
                .hint(if find.is_empty() {
                    "The person's id on the people register, or find them above".to_owned()
                } else {
                    format!("Nobody's name, id or e-mail holds {find:?}: type their id")
                })
                .value(for_self)
        } else {
            let first = found.choices.first().map(|(id, _)| id.clone());
            let value = if found.choices.iter().any(|(id, _)| *id == for_self) {
                for_self
            } else {
                first.unwrap_or_default()
            };
            let more = found.more_hint();
            Input::select("person_id", "person_id", "For", found.choices, &value)
                .required(true)
                .hint(more)
        }
    } else {
        let whom = pickers::own_people(state, &signed.viewer).await?;
        let for_self = if whom.iter().any(|(id, _)| id == asked) {
            asked.to_owned()
        } else {
            mine
        };
        Input::select("person_id", "person_id", "For", whom, &for_self).required(true)
    };
    let mut person = person.posted(&refusal.posted);
    // A request about a piece of equipment names one the person holds: chosen from what they
    // hold, not typed (typed still, when they hold nothing the register knows of).
    if let Some(at) = fields.iter().position(|f| f.name == "asset_tag") {
        let held = pickers::held_by(state, &person.value).await?;
        if !held.is_empty() {
            let typed = &fields[at];
            let chosen = Input::select(typed.id.clone(), "asset_tag", &typed.label, held, "")
                .hint("What they hold (choose the person first, then the type of request)")
                .required(true)
                .posted(&refusal.posted);
            fields[at] = chosen;
        }
    }
    let errors = Errors::place(
        &refusal.problems,
        std::iter::once(&mut person).chain(fields.iter_mut()),
    );
    page_refusing(
        !errors.is_empty(),
        &NewRequestPage {
            chrome: Chrome::signed(state, signed, "/requests"),
            kinds: RequestType::ALL
                .iter()
                .map(|w| ((*w).to_owned(), *w == kind, crate::names::request_type(w)))
                .collect(),
            kind_name: crate::names::request_type(kind),
            may_find: anyone,
            find,
            kind: kind.to_owned(),
            person,
            fields,
            errors,
        },
    )
}

pub(crate) async fn new_request(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(choice): Query<KindChoice>,
) -> Result<Response, WebError> {
    new_request_page(
        &state,
        &signed,
        &choice.kind,
        &choice.person,
        &choice.find,
        None,
    )
    .await
}

/// The form's details: every field but the form's own, empty ones left out.
fn details_of(fields: &[(String, String)], own: &[&str]) -> Vec<(String, String)> {
    fields
        .iter()
        .filter(|(k, v)| k != "csrf" && !own.contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect()
}

/// A step's refusal as the form shows it, or `None` for an error the page cannot help with.
fn refused(e: &WebError) -> Option<Refusal> {
    match e {
        WebError::Service(
            e @ (steward_service::ServiceError::Workflow(_)
            | steward_service::ServiceError::Invalid { .. }
            | steward_service::ServiceError::NotFound { .. }),
        ) => Refusal::of(e),
        _ => None,
    }
}

pub(crate) async fn raise_request(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let fields = Form::read(request).await?;
    let kind_text = fields.get("type");
    let kind: RequestType = kind_text
        .parse()
        .map_err(|e: String| WebError::BadRequest(format!("type: {e}")))?;
    let person = fields.get("person_id");
    if !acts_for_anyone(&signed.viewer) {
        let allowed = pickers::own_people(&state, &signed.viewer).await?;
        if !allowed.iter().any(|(id, _)| *id == person) {
            return Err(WebError::Forbidden);
        }
    }
    let details = match Details::from_pairs(&details_of(&fields.fields, &["type", "person_id"])) {
        Ok(d) => d,
        Err(e) => {
            let refusal = Refusal::of(&steward_service::ServiceError::Workflow(e))
                .unwrap_or_default()
                .with_posted(&fields.fields);
            return new_request_page(&state, &signed, &kind_text, "", "", Some(refusal)).await;
        }
    };
    let viewer = signed.viewer.clone();
    let terms = state.options.terms.clone();
    let opened = blocking(&state, move |s| {
        let mut details = details;
        if kind == RequestType::NewStarter
            && details.get("bundle").is_none()
            && let Some(p) = s.get::<Person>(&person)?
            && let Some(bundle) = terms.bundle(&p.staff_group)
        {
            details.set("bundle", bundle)?;
        }
        s.open_request(
            &stamp(&viewer),
            kind,
            &person,
            viewer.person_id.as_deref(),
            details,
            terms.request(kind),
        )
    })
    .await;
    match opened {
        Ok(view) => {
            crate::processes::recheck(&state);
            Ok(Redirect::to(&format!("/requests/{}", view.request.id)).into_response())
        }
        Err(e) => match refused(&e) {
            Some(refusal) => {
                let mut refusal = refusal.with_posted(&fields.fields);
                // The person it is for is the one the form names.
                if let WebError::Service(steward_service::ServiceError::NotFound {
                    register: steward_model::Register::People,
                    ..
                }) = e
                {
                    for p in &mut refusal.problems {
                        p.field = Some("person_id".into());
                    }
                }
                new_request_page(&state, &signed, &kind_text, "", "", Some(refusal)).await
            }
            None => Err(e),
        },
    }
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    chrome: Chrome,
    id: String,
    kind: String,
    person: String,
    state: String,
    opened: String,
    due: String,
    sla: String,
    details: Vec<(String, String)>,
    /// Whose agreement it still waits for, in words (empty once none).
    waiting_for: String,
    approvals: Vec<(String, String, String, String)>,
    /// Who, why, acknowledged when, emailed when.
    notified: Vec<(String, String, String, String)>,
    notes: Vec<String>,
    can_act: bool,
    /// Why it is rejected; the items issued on fulfilling it.
    note: Input,
    assets: Input,
    errors: Errors,
}

async fn request_page(
    state: &AppState,
    signed: &Signed,
    id: String,
    notes: Vec<String>,
    refusal: Option<Refusal>,
) -> Result<Response, WebError> {
    let zone = signed.zone;
    let viewer = signed.viewer.clone();
    let (view, person) = blocking(state, move |s| {
        let view = s.request(&id)?;
        let visible = visible_people(s, &viewer)?;
        if !may_see(&visible, &view.request.person_id) {
            return Ok(None);
        }
        let person = s.get::<Person>(&view.request.person_id)?;
        Ok(Some((view, person)))
    })
    .await?
    .ok_or(WebError::NotFound)?;
    let RequestView {
        request,
        approvals,
        waiting_for,
        notifications,
        sla,
        notes: _,
    } = view;
    let manager = person.as_ref().and_then(|p| p.manager_id.clone());
    let details = Details::parse(request.details.as_deref())
        .map(|d| {
            d.iter()
                .map(|(k, v)| (k.replace('_', " "), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let open = matches!(request.state, RequestState::Open | RequestState::Approved);
    let refusal = refusal.unwrap_or_default();
    let mut note = Input::field(steward_model::Register::Approvals, "note", signed.zone)
        .unwrap_or_else(|| Input::text("", "note", ""))
        .id("reject-note")
        .label("Reason for rejecting")
        .hint("")
        .posted(&refusal.posted);
    // The tags go into the request's details: as long as a detail may be.
    let mut assets = detail_input("assets", "", FieldType::Text, signed.zone)
        .id("fulfil-assets")
        .label("Items issued")
        .hint("Asset tags, separated by ;")
        .required(false)
        .posted(&refusal.posted);
    let errors = Errors::place(&refusal.problems, [&mut note, &mut assets]);
    page_refusing(
        !errors.is_empty(),
        &RequestPage {
            chrome: Chrome::signed(state, signed, "/requests"),
            id: request.id.clone(),
            kind: crate::names::request_type(request.kind.as_str()),
            person: person.map_or(request.person_id.clone(), |p| {
                format!("{} ({})", p.name, p.id)
            }),
            state: request.state.to_string(),
            opened: local_text(&request.opened_at, zone),
            due: request.due_on.map(|d| d.to_string()).unwrap_or_default(),
            sla: sla_text(&sla),
            details,
            waiting_for: crate::names::approvers(&waiting_for, manager.as_deref()),
            approvals: approvals
                .into_iter()
                .map(|a| {
                    (
                        a.role.to_string(),
                        a.person_id,
                        a.decision.to_string(),
                        local_text(&a.decided_at, zone),
                    )
                })
                .collect(),
            notified: notifications
                .into_iter()
                .map(|n| {
                    (
                        n.recipient,
                        n.reason,
                        n.acknowledged_at
                            .map(|t| local_text(&t, zone))
                            .unwrap_or_default(),
                        n.emailed_at
                            .map(|t| local_text(&t, zone))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            notes,
            // Anyone on the people register who sees it may try; the service decides by role.
            can_act: open && signed.viewer.person_id.is_some(),
            note,
            assets,
            errors,
        },
    )
}

/// An instant written as RFC 3339 text (the audit log's), shown as [`local_text`] does; text that
/// is not such an instant is shown as it is.
pub(crate) fn local_text_of(text: &str, zone: chrono_tz::Tz) -> String {
    DateTime::parse_from_rfc3339(text).map_or_else(
        |_| text.to_owned(),
        |t| local_text(&t.with_timezone(&Utc), zone),
    )
}

/// An instant as the organisation's clocks showed it, with the zone's abbreviation (GMT, BST).
pub(crate) fn local_text(t: &DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

pub(crate) async fn show_request(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    request_page(&state, &signed, id, Vec::new(), None).await
}

pub(crate) async fn act_on_request(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path((id, action)): Path<(String, String)>,
    request: Request,
) -> Result<Response, WebError> {
    let Some(action) = Action::parse(&action) else {
        return Err(WebError::NotFound);
    };
    let Some(actor) = signed.viewer.person_id.clone() else {
        return request_page(
            &state,
            &signed,
            id,
            Vec::new(),
            Some(Refusal::general(
                "only someone on the people register can act on a request",
            )),
        )
        .await;
    };
    let fields = Form::read(request).await?;
    let extra = match Details::from_pairs(&details_of(&fields.fields, &[])) {
        Ok(extra) => extra,
        Err(e) => {
            let refusal = Refusal::of(&steward_service::ServiceError::Workflow(e))
                .unwrap_or_default()
                .with_posted(&fields.fields);
            return request_page(&state, &signed, id, Vec::new(), Some(refusal)).await;
        }
    };
    let viewer = signed.viewer.clone();
    let request_id = id.clone();
    let result = blocking(&state, move |s| {
        // Only someone who may see the request may act on it; the service then decides whether
        // their role lets them take this step.
        let view = s.request(&request_id)?;
        let visible = visible_people(s, &viewer)?;
        if !may_see(&visible, &view.request.person_id) {
            return Ok(None);
        }
        s.act_on_request(&stamp(&viewer), &request_id, action, &actor, extra)
            .map(Some)
    })
    .await;
    match result {
        Ok(Some(view)) => {
            recheck(&state);
            request_page(&state, &signed, id, view.notes, None).await
        }
        Ok(None) => Err(WebError::NotFound),
        Err(e) => match refused(&e) {
            Some(refusal) => {
                let refusal = refusal.with_posted(&fields.fields);
                request_page(&state, &signed, id, Vec::new(), Some(refusal)).await
            }
            None => Err(e),
        },
    }
}

// --- incidents ------------------------------------------------------------------------------

pub(crate) struct IncidentRow {
    pub id: String,
    pub kind: String,
    pub person: String,
    pub state: String,
    pub reported: String,
    pub late: bool,
    pub ico_by: String,
    pub ico_left: String,
    pub to_tell: usize,
}

fn hours_left(until: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (until - now).num_minutes();
    if minutes < 0 {
        format!("{} h overdue", (-minutes) / 60)
    } else {
        format!("{} h {} min left", minutes / 60, minutes % 60)
    }
}

pub(crate) async fn incident_rows(
    state: &AppState,
    signed: &Signed,
    open_only: bool,
) -> Result<Vec<IncidentRow>, WebError> {
    let zone = signed.zone;
    // Every incident, newest first, and how many people each still has to be told, kept while
    // the audit log stands still; what the viewer may see of them is picked out per request.
    let all = crate::derived::derived(state, signed.audit_seq, "incidents".into(), |s| {
        let mut incidents: Vec<Incident> = s.list()?;
        incidents.sort_by_key(|i| std::cmp::Reverse(i.reported_at));
        let mut to_tell: HashMap<String, usize> = HashMap::new();
        for n in s.list::<steward_model::Notification>()? {
            if n.acknowledged_at.is_none() {
                *to_tell.entry(n.about).or_default() += 1;
            }
        }
        Ok((incidents, to_tell))
    })
    .await?;
    let viewer = signed.viewer.clone();
    let visible = if sees_all(&viewer) {
        None
    } else {
        blocking(state, move |s| visible_people(s, &viewer)).await?
    };
    let now = Utc::now();
    let (incidents, to_tell) = all.as_ref();
    Ok(incidents
        .iter()
        .filter(|i| may_see(&visible, &i.person_id))
        .filter(|i| !open_only || i.closed_at.is_none())
        .map(|i| {
            let awaiting_ico = i.ico_decision.is_none();
            IncidentRow {
                kind: i.kind.to_string(),
                person: i.person_id.clone(),
                state: i.state.to_string(),
                reported: local_text(&i.reported_at, zone),
                late: i.late == Some(true),
                ico_by: i
                    .ico_notify_by
                    .map(|t| local_text(&t, zone))
                    .unwrap_or_default(),
                ico_left: match i.ico_notify_by {
                    Some(t) if awaiting_ico && i.closed_at.is_none() => hours_left(t, now),
                    _ => String::new(),
                },
                to_tell: to_tell.get(&i.id).copied().unwrap_or(0),
                id: i.id.clone(),
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    chrome: Chrome,
    rows: Vec<IncidentRow>,
    total: usize,
    next: Option<String>,
    first: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct IncidentFilter {
    /// The id of the last incident of the page before.
    pub after: String,
}

pub(crate) async fn incidents(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<IncidentFilter>,
) -> Result<Response, WebError> {
    let rows = incident_rows(&state, &signed, false).await?;
    let total = rows.len();
    let (rows, more) = page_after(rows, |r| r.id.as_str(), &filter.after);
    let (first, next) = crate::pages::page_links(
        "/incidents",
        "after",
        !filter.after.trim().is_empty(),
        more,
        rows.last().map(|r| r.id.as_str()),
    );
    page(&IncidentsPage {
        chrome: Chrome::signed(&state, &signed, "/incidents"),
        next,
        first,
        total,
        rows,
    })
}

pub(crate) async fn incidents_csv(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let rows = incident_rows(&state, &signed, false).await?;
    csv(
        "incidents.csv",
        &[
            "id",
            "type",
            "person",
            "state",
            "reported",
            "late",
            "ico_notify_by",
            "still_to_tell",
        ],
        rows.into_iter()
            .map(|r| {
                vec![
                    r.id,
                    r.kind,
                    r.person,
                    r.state,
                    r.reported,
                    r.late.to_string(),
                    r.ico_by,
                    r.to_tell.to_string(),
                ]
            })
            .collect(),
    )
}

#[derive(Template)]
#[template(path = "incident_new.html")]
struct NewIncidentPage {
    chrome: Chrome,
    /// Acting for anyone: the person whose equipment it concerns is found by a search.
    may_find: bool,
    find: String,
    /// What the search found or did not, said under it.
    find_hint: String,
    /// Whose equipment the form lists, when there is a choice: among those found, or oneself
    /// and one's reports.
    whose: Option<Input>,
    /// Whose equipment it lists: posted with the report, so that a refused one lists it again.
    holder: String,
    inputs: Vec<Input>,
    errors: Errors,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct IncidentFor {
    /// Whose equipment the form lists: oneself, unless one may choose them.
    pub person: String,
    /// Text to find them by (name, id or e-mail), for those who act for anyone.
    pub find: String,
}

async fn new_incident_page(
    state: &AppState,
    signed: &Signed,
    asked: &IncidentFor,
    refusal: Option<Refusal>,
) -> Result<Response, WebError> {
    let zone = signed.zone;
    let refusal = refusal.unwrap_or_default();
    let mine = signed.viewer.person_id.clone().unwrap_or_default();
    let anyone = crate::access::reports_for_anyone(&signed.viewer);
    let find = search_text(&asked.find);
    let person = asked.person.trim();
    // Whom the viewer chooses among, whose equipment is listed (id, and name and id), and what
    // the search said.
    let (choices, holder, find_hint) = if anyone {
        let found = if find.is_empty() {
            Found::default()
        } else {
            pickers::find_people(state, &signed.viewer, Among::Everyone, &find).await?
        };
        let hint = if !find.is_empty() && found.choices.is_empty() {
            format!("Nobody's name, id or e-mail holds {find:?}")
        } else {
            String::new()
        };
        // The one asked for, if found (or, without a search, on the register at all); else the
        // first found; else oneself.
        let holder = match found.choices.iter().find(|(id, _)| id == person) {
            Some(chosen) => Some(chosen.clone()),
            None if find.is_empty() || found.choices.is_empty() => {
                pickers::named(state, person).await?
            }
            None => found.choices.first().cloned(),
        };
        let more = found.more_hint();
        let whose = (!found.choices.is_empty()).then_some((found.choices, more));
        (whose, holder, hint)
    } else {
        let own = pickers::own_people(state, &signed.viewer).await?;
        let holder = own.iter().find(|(id, _)| id == person).cloned();
        let whose = (own.len() > 1).then(|| (own, "Yourself or one of your reports".to_owned()));
        (whose, holder, String::new())
    };
    let (holder, holder_name) = match holder {
        Some((id, name)) if id != mine => (id, Some(name)),
        _ => (mine.clone(), None),
    };
    let whose = choices.map(|(choices, hint)| {
        Input::select("person", "person", "Whose equipment", choices, &holder)
            .required(true)
            .hint(hint)
    });
    let held = pickers::held_by(state, &holder).await?;
    // Each input is the incident register's field it fills, under the form's own ids.
    let field = |name: &str, id: &str, label: &str| {
        Input::field(steward_model::Register::Incidents, name, zone)
            .unwrap_or_else(|| Input::text("", name, ""))
            .id(id)
            .label(label)
    };
    let (which, not_theirs) = match &holder_name {
        None => (
            "Which of your equipment, if any".to_owned(),
            "Or the tag of equipment you found or saw that is not yours",
        ),
        Some(name) => (
            format!("Which of the equipment {name} holds, if any"),
            "Or the tag of equipment found or seen that is not theirs",
        ),
    };
    // What the person holds is chosen; typed only when they hold nothing the register knows of.
    let asset = if held.is_empty() {
        field("asset_tag", "asset_tag", &which).hint(match &holder_name {
            None => "You hold nothing the asset register knows of: its tag, if you know it",
            Some(_) => "They hold nothing the asset register knows of: its tag, if you know it",
        })
    } else {
        let asset = Input::select(
            "asset_tag",
            "asset_tag",
            &which,
            std::iter::once((String::new(), "none".to_owned())).chain(held),
            "",
        );
        match &holder_name {
            None => asset,
            Some(_) => asset.hint("Its holder is told"),
        }
    };
    let mut inputs: Vec<Input> = [
        field("kind", "type", "What happened").name("type"),
        asset,
        field("asset_tag", "found_tag", not_theirs)
            .name("found_tag")
            .hint(
                "Equipment found or seen, say, or not listed above: its holder is told, and \
                 its status is left to those who may change it",
            ),
        field(
            "occurred_at",
            "occurred_at",
            "When it happened, if you know",
        ),
        field("discovered_at", "discovered_at", "When you noticed")
            .required(false)
            .hint(format!(
                "Leave empty for now; in the organisation's time ({})",
                zone.name()
            )),
        field("facts", "facts", "What happened, in a few words"),
    ]
    .into_iter()
    .map(|i| i.posted(&refusal.posted))
    .collect();
    let errors = Errors::place(&refusal.problems, inputs.iter_mut());
    page_refusing(
        !errors.is_empty(),
        &NewIncidentPage {
            chrome: Chrome::signed(state, signed, "/incidents"),
            may_find: anyone,
            find,
            find_hint,
            whose,
            holder: if holder == mine {
                String::new()
            } else {
                holder
            },
            inputs,
            errors,
        },
    )
}

pub(crate) async fn new_incident(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(asked): Query<IncidentFor>,
) -> Result<Response, WebError> {
    new_incident_page(&state, &signed, &asked, None).await
}

/// A `datetime-local` value, read in the organisation's time zone, as RFC 3339 UTC.
fn instant(s: &Steward, text: &str) -> Result<Option<String>, steward_service::ServiceError> {
    if text.is_empty() {
        return Ok(None);
    }
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"));
    match parsed {
        Ok(local) => Ok(Some(s.local_instant(local)?.to_rfc3339())),
        // Not a wall-clock time: left as given, for the workflow to judge (RFC 3339 is fine).
        Err(_) => Ok(Some(text.to_owned())),
    }
}

pub(crate) async fn report_incident(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let Some(person) = signed.viewer.person_id.clone() else {
        return new_incident_page(
            &state,
            &signed,
            &IncidentFor::default(),
            Some(Refusal::general(
                "only someone on the people register can report an incident",
            )),
        )
        .await;
    };
    let fields = Form::read(request).await?;
    let kind: IncidentType = fields
        .get("type")
        .parse()
        .map_err(|e: String| WebError::BadRequest(format!("type: {e}")))?;
    let viewer = signed.viewer.clone();
    let reporting = state.options.terms.reporting(kind);
    let posted = fields.fields.clone();
    let found = !fields.get("found_tag").is_empty();
    // Whose equipment the form listed: only to list it again, since the report is the viewer's.
    let listed = IncidentFor {
        person: fields.get("person"),
        find: String::new(),
    };
    let result = blocking(&state, move |s| {
        let mut pairs = details_of(
            &fields.fields,
            &[
                "type",
                "occurred_at",
                "discovered_at",
                "found_tag",
                "person",
            ],
        );
        // Equipment found or seen that is not one's own: reported, its status left to those
        // entitled to change it, its holder told.
        let found = fields.get("found_tag");
        if !found.trim().is_empty() {
            pairs.retain(|(k, _)| k != "asset_tag");
            pairs.push(("asset_tag".into(), found.trim().to_owned()));
            pairs.push(("found".into(), "yes".into()));
        }
        for key in ["occurred_at", "discovered_at"] {
            if let Some(t) = instant(s, &fields.get(key))? {
                pairs.push((key.to_owned(), t));
            }
        }
        let details = Details::from_pairs(&pairs)?;
        s.report_incident(&stamp(&viewer), kind, &person, details, reporting)
    })
    .await;
    match result {
        Ok(view) => {
            recheck(&state);
            Ok(Redirect::to(&format!("/incidents/{}", view.incident.id)).into_response())
        }
        Err(e) => match refused(&e) {
            Some(mut refusal) => {
                // Equipment found is named in its own box.
                if found {
                    for p in &mut refusal.problems {
                        if p.field.as_deref() == Some("asset_tag") {
                            p.field = Some("found_tag".into());
                        }
                    }
                }
                let refusal = refusal.with_posted(&posted);
                new_incident_page(&state, &signed, &listed, Some(refusal)).await
            }
            None => Err(e),
        },
    }
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    chrome: Chrome,
    id: String,
    kind: String,
    person: String,
    asset: String,
    state: String,
    occurred: String,
    discovered: String,
    reported: String,
    report_by: String,
    late: bool,
    ico_by: String,
    ico_left: String,
    record: Vec<(&'static str, String)>,
    /// Who, why, acknowledged when, theirs to acknowledge, emailed when.
    notified: Vec<(String, String, String, bool, String)>,
    /// The IT and governance teams handle incidents: investigate, record, close.
    may_handle: bool,
    /// The record (UK GDPR Art. 33(5)): each field as it stands, to be added to.
    inputs: Vec<Input>,
    notes: Vec<String>,
    errors: Errors,
}

async fn incident_page(
    state: &AppState,
    signed: &Signed,
    id: String,
    notes: Vec<String>,
    refusal: Option<Refusal>,
) -> Result<Response, WebError> {
    let zone = signed.zone;
    let viewer = signed.viewer.clone();
    let view = blocking(state, move |s| {
        let view = s.incident(&id)?;
        let visible = visible_people(s, &viewer)?;
        Ok(may_see(&visible, &view.incident.person_id).then_some(view))
    })
    .await?
    .ok_or(WebError::NotFound)?;
    let IncidentView {
        incident: i,
        notifications,
        notes: _,
    } = view;
    let me = signed.viewer.person_id.clone().unwrap_or_default();
    let now = Utc::now();
    let may_handle = (signed.viewer.is(Capacity::It) || signed.viewer.is(Capacity::Governance))
        && signed.viewer.person_id.is_some()
        && i.closed_at.is_none();
    let refusal = refusal.unwrap_or_default();
    let row = i.to_row();
    let mut inputs: Vec<Input> = [
        ("facts", "r-facts", "Facts"),
        ("effects", "r-effects", "Effects"),
        ("remedial_action", "r-remedial", "Remedial action"),
        ("ico_decision", "r-decision", "Decision on telling the ICO"),
        ("ico_reasons", "r-reasons", "Reasons for the decision"),
        ("ico_notified_at", "r-told", "When the ICO was told"),
    ]
    .into_iter()
    .filter_map(|(name, id, label)| {
        let field = steward_model::Register::Incidents.field(name)?;
        let value = row.get(name).cloned().unwrap_or(steward_model::Value::Null);
        Some(
            Input::of(field, &value, zone)
                .id(id)
                .label(label)
                .posted(&refusal.posted),
        )
    })
    .collect();
    let errors = Errors::place(&refusal.problems, inputs.iter_mut());
    page_refusing(
        !errors.is_empty(),
        &IncidentPage {
            chrome: Chrome::signed(state, signed, "/incidents"),
            may_handle,
            inputs,
            notes,
            errors,
            kind: i.kind.to_string(),
            person: i.person_id.clone(),
            asset: i.asset_tag.clone().unwrap_or_default(),
            state: i.state.to_string(),
            occurred: i
                .occurred_at
                .map(|t| local_text(&t, zone))
                .unwrap_or_default(),
            discovered: local_text(&i.discovered_at, zone),
            reported: local_text(&i.reported_at, zone),
            report_by: i
                .report_by
                .map(|t| local_text(&t, zone))
                .unwrap_or_default(),
            late: i.late == Some(true),
            ico_by: i
                .ico_notify_by
                .map(|t| local_text(&t, zone))
                .unwrap_or_default(),
            ico_left: match i.ico_notify_by {
                Some(t) if i.ico_decision.is_none() && i.closed_at.is_none() => hours_left(t, now),
                _ => String::new(),
            },
            record: [
                ("Facts", i.facts.clone()),
                ("Effects", i.effects.clone()),
                ("Remedial action", i.remedial_action.clone()),
                (
                    "Decision on telling the ICO",
                    i.ico_decision.map(|d| d.to_string()),
                ),
                ("Reasons", i.ico_reasons.clone()),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
            notified: notifications
                .into_iter()
                .map(|n| {
                    let mine = n.recipient == me && n.acknowledged_at.is_none();
                    (
                        n.recipient,
                        n.reason,
                        n.acknowledged_at
                            .map(|t| local_text(&t, zone))
                            .unwrap_or_default(),
                        mine,
                        n.emailed_at
                            .map(|t| local_text(&t, zone))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            id: i.id,
        },
    )
}

pub(crate) async fn show_incident(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    incident_page(&state, &signed, id, Vec::new(), None).await
}

/// Investigates, records (the Art. 33(5) record for a data breach) or closes an incident: the IT
/// and governance teams' steps, which the service checks.
pub(crate) async fn handle_incident(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    let Some(actor) = signed.viewer.person_id.clone() else {
        return incident_page(
            &state,
            &signed,
            id,
            Vec::new(),
            Some(Refusal::general(
                "only someone on the people register can handle an incident",
            )),
        )
        .await;
    };
    let fields = Form::read(request).await?;
    let act = fields.get("act");
    let viewer = signed.viewer.clone();
    let incident_id = id.clone();
    let posted = fields.fields.clone();
    let result = blocking(&state, move |s| {
        let mut pairs = details_of(&fields.fields, &["act", "ico_notified_at"]);
        if let Some(t) = instant(s, &fields.get("ico_notified_at"))? {
            pairs.push(("ico_notified_at".to_owned(), t));
        }
        let details = Details::from_pairs(&pairs)?;
        s.update_incident(&stamp(&viewer), &incident_id, &act, &actor, details)
    })
    .await;
    match result {
        Ok(view) => {
            recheck(&state);
            incident_page(&state, &signed, id, view.notes, None).await
        }
        Err(e) => match refused(&e) {
            Some(refusal) => {
                let refusal = refusal.with_posted(&posted);
                incident_page(&state, &signed, id, Vec::new(), Some(refusal)).await
            }
            None => Err(e),
        },
    }
}

pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let Some(me) = signed.viewer.person_id.clone() else {
        return Err(WebError::Forbidden);
    };
    let viewer = signed.viewer.clone();
    let about = id.clone();
    blocking(&state, move |s| {
        s.acknowledge(&stamp(&viewer), &about, &me, &me)
    })
    .await?;
    Ok(Redirect::to(&format!("/incidents/{id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_lists_page_after_a_key() {
        let keys: Vec<String> = (0..(PROCESS_ROWS * 2 + 5))
            .map(|i| format!("R{i:04}"))
            .collect();
        #[allow(clippy::ptr_arg)] // the rows are Strings: the key reads one
        fn key(r: &String) -> &str {
            r.as_str()
        }
        let (first, more) = page_after(keys.clone(), key, "");
        assert_eq!((first.len(), more), (PROCESS_ROWS, true));
        let last = first.last().cloned().unwrap_or_default();
        let (second, more) = page_after(keys.clone(), key, &last);
        assert_eq!((second.first(), more), (keys.get(PROCESS_ROWS), true));
        let last = second.last().cloned().unwrap_or_default();
        let (third, more) = page_after(keys.clone(), key, &last);
        assert_eq!((third.len(), more), (5, false));
        // A key no longer listed begins again at the start rather than show nothing.
        let (again, _) = page_after(keys.clone(), key, "gone");
        assert_eq!(again.first(), keys.first());
    }
}
