//! Requests and incidents through the JSON API: one read with its approvals or record and who
//! has been told; raised or reported; and every step taken (approve, reject, fulfil, cancel;
//! investigate, record, close; and for both, acknowledging a notice) — the same service calls and the same rules
//! of who sees and who acts as the Requests and Incidents pages. A step is taken as a person: a
//! token acting for a service reads but takes no step.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as Json, json};
use steward_model::{IncidentType, Person, Record, Register, RequestType};
use steward_service::{IncidentView, RequestView};
use steward_workflow::{Action, Details};

use crate::api::{ApiBody, ApiPath, Bearing, Problem, created, fields_of, json_response};
use crate::processes::{may_see, visible_people};

/// Whether `viewer` may see a request or incident of `person_id`'s: the pages' own rule.
fn sees(
    s: &steward_service::Steward,
    viewer: &steward_service::Viewer,
    person_id: &str,
) -> Result<bool, steward_service::ServiceError> {
    Ok(may_see(&visible_people(s, viewer)?, person_id))
}
use crate::{AppState, WebError, blocking};

/// A request as the API returns it.
fn request_json(view: &RequestView) -> Json {
    json!({
        "request": view.request.to_row().to_json(),
        "approvals": view.approvals.iter().map(|a| a.to_row().to_json()).collect::<Vec<_>>(),
        "waiting_for": view.waiting_for.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "notifications": view.notifications.iter().map(|n| n.to_row().to_json()).collect::<Vec<_>>(),
        "sla": view.sla.to_string(),
        "notes": view.notes,
    })
}

/// A step needs a person: whoever the token acts for, if it acts for one.
fn actor(bearing: &Bearing) -> Result<String, Problem> {
    bearing.person().ok_or_else(|| {
        Problem(WebError::Service(steward_service::ServiceError::Refused(
            steward_service::Refusal::Step(
                "only someone on the people register raises, reports or takes a step".into(),
            ),
        )))
    })
}

pub(crate) async fn read(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    bearing.reaches(Register::Requests)?;
    let viewer = bearing.viewer().clone();
    let view = blocking(&state, move |s| {
        let view = s.request(&id)?;
        Ok(sees(s, &viewer, &view.request.person_id)?.then_some(view))
    })
    .await?
    // Another's request is not said to exist.
    .ok_or(Problem(WebError::NotFound))?;
    Ok(json_response(StatusCode::OK, &request_json(&view)))
}

/// Raises a request: `type`, `person_id` (oneself or, for a line manager, a report; anyone
/// for the IT team and administrators) and its particulars as the request's form names them.
pub(crate) async fn raise(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    headers: axum::http::HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, Problem> {
    let stamp = bearing.stamp_for(Register::Requests)?;
    let raiser = actor(&bearing)?;
    let (fields, pairs) = particulars(&body, &headers, &["type", "person_id"])?;
    let kind: RequestType = named(&fields, "type")
        .parse()
        .map_err(|e: String| WebError::BadRequest(format!("type: {e}")))?;
    let person = named(&fields, "person_id");
    let details = Details::from_pairs(&pairs).map_err(steward_service::ServiceError::Workflow)?;
    let terms = state.options.terms.clone();
    let view = blocking(&state, move |s| {
        let mut details = details;
        if kind == RequestType::NewStarter
            && details.get("bundle").is_none()
            && let Some(p) = s.get::<Person>(&person)?
            && let Some(bundle) = terms.bundle(&p.staff_group)
        {
            details.set("bundle", bundle)?;
        }
        s.open_request(
            &stamp,
            kind,
            &person,
            Some(&raiser),
            details,
            terms.request(kind),
        )
    })
    .await?;
    crate::processes::recheck(&state);
    Ok(created(
        &format!("{}/requests/{}", crate::api::BASE, view.request.id),
        &request_json(&view),
    ))
}

/// Takes a step: `approve`, `reject` (with a `note` saying why), `fulfil` (with what was
/// issued) or `cancel`, as the token's person, if they may see the request and their part lets
/// them take it.
pub(crate) async fn step(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath((id, action)): ApiPath<(String, String)>,
    headers: axum::http::HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, Problem> {
    if action == "acknowledge" {
        return acknowledge(&state, &bearing, Register::Requests, id, &headers, &body).await;
    }
    let action = Action::parse(&action).ok_or(Problem(WebError::NotFound))?;
    let stamp = bearing.stamp_for(Register::Requests)?;
    let acting = actor(&bearing)?;
    let (_, pairs) = particulars(&body, &headers, &[])?;
    let extra = Details::from_pairs(&pairs).map_err(steward_service::ServiceError::Workflow)?;
    let viewer = bearing.viewer().clone();
    let view = blocking(&state, move |s| {
        let view = s.request(&id)?;
        if !sees(s, &viewer, &view.request.person_id)? {
            return Ok(None);
        }
        s.act_on_request(&stamp, &id, action, &acting, extra)
            .map(Some)
    })
    .await?
    .ok_or(Problem(WebError::NotFound))?;
    crate::processes::recheck(&state);
    Ok(json_response(StatusCode::OK, &request_json(&view)))
}

/// An incident as the API returns it: its record and who must be told, and whether they have.
fn incident_json(view: &IncidentView) -> Json {
    json!({
        "incident": view.incident.to_row().to_json(),
        "notifications": view.notifications.iter().map(|n| n.to_row().to_json()).collect::<Vec<_>>(),
        "notes": view.notes,
    })
}

/// A body's fields by name, in the order sent.
type Fields = Vec<(String, String)>;

/// The fields of a JSON body, and the same trimmed, empty ones left out, less `own`.
fn particulars(
    body: &axum::body::Bytes,
    headers: &axum::http::HeaderMap,
    own: &[&str],
) -> Result<(Fields, Fields), Problem> {
    let fields = if body.is_empty() {
        Vec::new()
    } else {
        fields_of(body, headers)?
    };
    let rest = fields
        .iter()
        .filter(|(k, v)| !own.contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect();
    Ok((fields, rest))
}

fn named(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

pub(crate) async fn read_incident(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    bearing.reaches(Register::Incidents)?;
    let viewer = bearing.viewer().clone();
    let view = blocking(&state, move |s| {
        let view = s.incident(&id)?;
        Ok(sees(s, &viewer, &view.incident.person_id)?.then_some(view))
    })
    .await?
    .ok_or(Problem(WebError::NotFound))?;
    Ok(json_response(StatusCode::OK, &incident_json(&view)))
}

/// Reports an incident as the token's person: `type`, and what the form asks (`asset_tag`,
/// `facts`, `occurred_at` and `discovered_at` as RFC 3339 instants, …).
pub(crate) async fn report_incident(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    headers: axum::http::HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, Problem> {
    let stamp = bearing.stamp_for(Register::Incidents)?;
    let person = actor(&bearing)?;
    let (fields, rest) = particulars(&body, &headers, &["type"])?;
    let kind: IncidentType = named(&fields, "type")
        .parse()
        .map_err(|e: String| WebError::BadRequest(format!("type: {e}")))?;
    let details = Details::from_pairs(&rest).map_err(steward_service::ServiceError::Workflow)?;
    let reporting = state.options.terms.reporting(kind);
    let view = blocking(&state, move |s| {
        s.report_incident(&stamp, kind, &person, details, reporting)
    })
    .await?;
    crate::processes::recheck(&state);
    Ok(created(
        &format!("{}/incidents/{}", crate::api::BASE, view.incident.id),
        &incident_json(&view),
    ))
}

/// Handles an incident: `investigate`, `record` (its record's fields) or `close`.
pub(crate) async fn step_incident(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath((id, action)): ApiPath<(String, String)>,
    headers: axum::http::HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, Problem> {
    if action == "acknowledge" {
        return acknowledge(&state, &bearing, Register::Incidents, id, &headers, &body).await;
    }
    if !["investigate", "record", "close"].contains(&action.as_str()) {
        return Err(Problem(WebError::NotFound));
    }
    let stamp = bearing.stamp_for(Register::Incidents)?;
    let acting = actor(&bearing)?;
    let (_, rest) = particulars(&body, &headers, &[])?;
    let details = Details::from_pairs(&rest).map_err(steward_service::ServiceError::Workflow)?;
    let viewer = bearing.viewer().clone();
    let view = blocking(&state, move |s| {
        let view = s.incident(&id)?;
        if !sees(s, &viewer, &view.incident.person_id)? {
            return Ok(None);
        }
        s.update_incident(&stamp, &id, &action, &acting, details)
            .map(Some)
    })
    .await?
    .ok_or(Problem(WebError::NotFound))?;
    crate::processes::recheck(&state);
    Ok(json_response(StatusCode::OK, &incident_json(&view)))
}

/// Acknowledges a notice about a request or an incident: that `recipient` (the token's person
/// when the body names none; a party such as `it-service-desk` for those who answer for it) has
/// been told. Only on something the token's holder may see; the workflow decides who may answer
/// for whom, and a notice is acknowledged once.
async fn acknowledge(
    state: &AppState,
    bearing: &Bearing,
    register: Register,
    id: String,
    headers: &axum::http::HeaderMap,
    body: &axum::body::Bytes,
) -> Result<Response, Problem> {
    let stamp = bearing.stamp_for(register)?;
    let acting = actor(bearing)?;
    let (fields, _) = particulars(body, headers, &[])?;
    let recipient = match named(&fields, "recipient") {
        r if r.is_empty() => acting.clone(),
        r => r,
    };
    let viewer = bearing.viewer().clone();
    let answer = blocking(state, move |s| {
        let whose = match register {
            Register::Requests => s.request(&id)?.request.person_id,
            _ => s.incident(&id)?.incident.person_id,
        };
        if !sees(s, &viewer, &whose)? {
            return Ok(None);
        }
        s.acknowledge(&stamp, &id, &recipient, &acting)?;
        Ok(Some(match register {
            Register::Requests => request_json(&s.request(&id)?),
            _ => incident_json(&s.incident(&id)?),
        }))
    })
    .await?
    .ok_or(Problem(WebError::NotFound))?;
    Ok(json_response(StatusCode::OK, &answer))
}
