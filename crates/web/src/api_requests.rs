//! Requests through the JSON API: one read with its approvals, who it still waits for, who has
//! been told and its deadline; raised; and every step taken (approve, reject, fulfil, cancel) —
//! the same service calls and the same rules of who sees and who acts as the Requests pages.
//! A step is taken as a person: a token acting for a service reads requests but takes no step.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as Json, json};
use steward_model::{Person, Record, Register, RequestType};
use steward_service::RequestView;
use steward_workflow::{Action, Details};

use crate::api::{ApiBody, ApiPath, Bearing, Problem, fields_of, json_response};
use crate::processes::{may_see, visible_people};
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
                "only someone on the people register takes a request's steps".into(),
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
        let visible = visible_people(s, &viewer)?;
        Ok(may_see(&visible, &view.request.person_id).then_some(view))
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
    let fields = fields_of(&body, &headers)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let kind: RequestType = field("type")
        .parse()
        .map_err(|e: String| WebError::BadRequest(format!("type: {e}")))?;
    let person = field("person_id");
    let pairs: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, v)| k != "type" && k != "person_id" && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect();
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
    let mut response = json_response(StatusCode::CREATED, &request_json(&view));
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "{}/requests/{}",
        crate::api::BASE,
        view.request.id
    )) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, v);
    }
    Ok(response)
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
    let action = Action::parse(&action).ok_or(Problem(WebError::NotFound))?;
    let stamp = bearing.stamp_for(Register::Requests)?;
    let acting = actor(&bearing)?;
    let fields = if body.is_empty() {
        Vec::new()
    } else {
        fields_of(&body, &headers)?
    };
    let pairs: Vec<(String, String)> = fields
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect();
    let extra = Details::from_pairs(&pairs).map_err(steward_service::ServiceError::Workflow)?;
    let viewer = bearing.viewer().clone();
    let view = blocking(&state, move |s| {
        let view = s.request(&id)?;
        let visible = visible_people(s, &viewer)?;
        if !may_see(&visible, &view.request.person_id) {
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
