//! The JSON API (`/api/v1`): the registers read and written by programs, with an API token as
//! the bearer of its holder's authority — the same service calls, the same validation and the
//! same authorisation model as the pages, over JSON. Errors are RFC 9457 problem details
//! (`application/problem+json`) with the field and reason; a read carries the row's version as
//! its `ETag`, and a change must name it in `If-Match` (428 without, 412 when stale). Requests
//! are counted per token (429 with `Retry-After` past the limit). The contract is
//! [`crate::openapi`]'s document, made from the same route table and register fields.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::Utc;
use serde_json::{Value as Json, json};
use steward_model::Register;
use steward_service::{RowQuery, ServiceError, TokenBearer, row_version};

use crate::{AppState, WebError, blocking};

/// Where the API's routes begin.
pub(crate) const BASE: &str = "/api/v1";

/// The most rows one page of a list holds, and how many when the client does not say.
pub(crate) const MOST_ROWS: u64 = 1000;
pub(crate) const DEFAULT_ROWS: u64 = 100;

/// Requests one token may make in a minute unless the server's options say otherwise.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 600;

/// The media type of an error's body.
const PROBLEM: &str = "application/problem+json";

/// The registers the API reaches: every one but the organisation's own settings.
pub(crate) fn registers() -> impl Iterator<Item = Register> {
    Register::ALL
        .into_iter()
        .filter(|r| *r != Register::Organisation)
}

fn register_named(name: &str) -> Result<Register, Problem> {
    registers()
        .find(|r| r.name() == name)
        .ok_or(Problem(WebError::NotFound))
}

pub(crate) fn router(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route(&format!("{BASE}/registers"), get(list_registers))
        .route(
            &format!("{BASE}/registers/{{register}}"),
            get(list_rows).post(create_row),
        )
        .route(
            &format!("{BASE}/registers/{{register}}/{{id}}"),
            get(read_row).patch(update_row),
        )
        .route(&format!("{BASE}/checks"), axum::routing::post(run_checks))
        .route(
            &format!("{BASE}/imports/{{register}}"),
            axum::routing::post(import_rows).layer(axum::extract::DefaultBodyLimit::max(
                crate::session::UPLOAD_LIMIT,
            )),
        )
        .route(
            &format!("{BASE}/requests"),
            axum::routing::post(crate::api_processes::raise),
        )
        .route(
            &format!("{BASE}/requests/{{id}}"),
            get(crate::api_processes::read),
        )
        .route(
            &format!("{BASE}/requests/{{id}}/{{action}}"),
            axum::routing::post(crate::api_processes::step),
        )
        .route(
            &format!("{BASE}/incidents"),
            axum::routing::post(crate::api_processes::report_incident),
        )
        .route(
            &format!("{BASE}/incidents/{{id}}"),
            get(crate::api_processes::read_incident),
        )
        .route(
            &format!("{BASE}/incidents/{{id}}/{{action}}"),
            axum::routing::post(crate::api_processes::step_incident),
        )
        .route(
            &format!("{BASE}/webhooks"),
            get(list_webhooks).post(subscribe_webhook),
        )
        .route(
            &format!("{BASE}/webhooks/{{id}}/deliveries"),
            get(webhook_deliveries),
        )
        .route(
            &format!("{BASE}/webhooks/{{id}}/{{action}}"),
            axum::routing::post(switch_webhook),
        )
        .route(&format!("{BASE}/packs"), get(list_packs))
        .route(&format!("{BASE}/packs/{{id}}"), get(read_pack))
        .route(&format!("{BASE}/packs/{{id}}/coverage"), get(pack_coverage))
        .route(&format!("{BASE}/audit"), get(list_audit))
        .route(&format!("{BASE}/audit/verify"), get(verify_audit))
        .route(&format!("{BASE}/jobs"), get(list_jobs))
        .route(&format!("{BASE}/jobs/{{id}}"), get(read_job))
        .route(&format!("{BASE}/findings"), get(list_findings))
        .route(&format!("{BASE}/findings/{{*key}}"), get(read_finding))
        .route_layer(middleware::from_fn_with_state(state, bearer));
    Router::new()
        .route(&format!("{BASE}/openapi.json"), get(openapi))
        .route(&format!("{BASE}/reference"), get(reference))
        .merge(authenticated)
}

/// A failure as problem details: the status decided where every status is
/// ([`WebError::status`]), the detail what the client can act on, each field's problem listed.
#[derive(Debug)]
pub(crate) struct Problem(pub WebError);

impl<E: Into<WebError>> From<E> for Problem {
    fn from(e: E) -> Problem {
        Problem(e.into())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let Problem(error) = self;
        let status = error.status();
        if status.is_server_error() {
            tracing::error!(error = %error, "api request failed");
        }
        let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "something went wrong on the server; it has been logged".to_owned()
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            "the database is not answering just now; try again in a moment".to_owned()
        } else {
            error.to_string()
        };
        let errors: Vec<Json> = match &error {
            WebError::Service(ServiceError::Invalid { problems, .. }) => problems
                .iter()
                .map(|p| json!({ "field": p.field, "value": p.value, "reason": p.reason }))
                .collect(),
            _ => Vec::new(),
        };
        let mut body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        });
        if !errors.is_empty()
            && let Some(map) = body.as_object_mut()
        {
            map.insert("errors".into(), Json::Array(errors));
        }
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM));
        match error {
            WebError::Unauthenticated => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"steward\""),
                );
            }
            WebError::TooManyAttempts(seconds) => {
                if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        response
    }
}

/// Requests counted per token in the current minute.
#[derive(Debug, Default)]
pub(crate) struct RequestCounts(Mutex<HashMap<String, (i64, u32)>>);

impl RequestCounts {
    /// Counts a request of `token` at `now` (seconds): `Err(seconds to wait)` past `limit`.
    fn admit(&self, token: &str, now: i64, limit: u32) -> Result<(), u64> {
        let minute = now.div_euclid(60);
        let Ok(mut counts) = self.0.lock() else {
            return Ok(());
        };
        // Last minute's counts are of no more use.
        if counts.len() > 10_000 {
            counts.retain(|_, (m, _)| *m == minute);
        }
        let entry = counts.entry(token.to_owned()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= limit {
            let wait = (minute + 1) * 60 - now;
            return Err(u64::try_from(wait.max(1)).unwrap_or(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Admits a request that bears a live token, within its rate, with its holder's authority as
/// the request's; anything else is refused here, before any handler runs.
async fn bearer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let secret = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_owned())
        })
        .filter(|s| !s.is_empty());
    let Some(secret) = secret else {
        return Problem(WebError::Unauthenticated).into_response();
    };
    let now = Utc::now();
    // The token, and its request counted where every server counts it, if they share one count.
    let found = blocking(&state, move |s| match s.token_bearer(&secret, now)? {
        Some(bearer) => {
            let counted = s.count_token_request(&bearer.token.id, now)?;
            Ok(Some((bearer, counted)))
        }
        None => Ok(None),
    })
    .await;
    let (bearer, counted) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return Problem(WebError::Unauthenticated).into_response(),
        Err(e) => return Problem(e).into_response(),
    };
    let limit = match state.options.api_requests_per_minute {
        0 => DEFAULT_REQUESTS_PER_MINUTE,
        n => n,
    };
    let admitted = match counted {
        Some(n) if n > u64::from(limit) => {
            let wait = (now.timestamp().div_euclid(60) + 1) * 60 - now.timestamp();
            Err(u64::try_from(wait.max(1)).unwrap_or(1))
        }
        Some(_) => Ok(()),
        None => state
            .api_requests
            .admit(&bearer.token.id, now.timestamp(), limit),
    };
    if let Err(wait) = admitted {
        return Problem(WebError::TooManyAttempts(wait)).into_response();
    }
    let write = !matches!(*request.method(), Method::GET | Method::HEAD);
    request.extensions_mut().insert(Bearing {
        bearer: std::sync::Arc::new(bearer),
        write,
    });
    next.run(request).await
}

/// The token a request bears, and whether the request writes.
#[derive(Clone)]
pub(crate) struct Bearing {
    bearer: std::sync::Arc<TokenBearer>,
    write: bool,
}

impl Bearing {
    /// Refused unless the token reaches `register` for this request.
    pub(crate) fn reaches(&self, register: Register) -> Result<(), Problem> {
        if self.bearer.token.allows(register, self.write) {
            Ok(())
        } else {
            Err(Problem(WebError::Forbidden))
        }
    }

    /// Refused for a token limited to named registers: what spans every register (findings,
    /// the audit log, check runs, webhooks) is beyond it.
    pub(crate) fn whole(&self) -> Result<(), Problem> {
        if self.bearer.token.registers.is_empty() {
            Ok(())
        } else {
            Err(Problem(WebError::Forbidden))
        }
    }

    /// The stamp a token's reading of jobs is judged by: its holder's, but a token limited to
    /// named registers sees only the jobs it queued itself.
    fn job_stamp(&self) -> steward_service::Stamp {
        let mut stamp = self.bearer.stamp.clone();
        if !self.bearer.token.registers.is_empty() {
            let person = stamp.authority.person_id.clone();
            stamp.authority = steward_service::Authority::of([], person.as_deref());
        }
        stamp
    }

    /// Whom the token acts as now.
    pub(crate) fn viewer(&self) -> &steward_service::Viewer {
        &self.bearer.viewer
    }

    /// The person the token acts for, if it acts for one.
    pub(crate) fn person(&self) -> Option<String> {
        self.bearer.viewer.person_id.clone()
    }

    /// The stamp to act with on `register`, if the token reaches it for this request.
    pub(crate) fn stamp_for(&self, register: Register) -> Result<steward_service::Stamp, Problem> {
        if !self.bearer.token.allows(register, self.write) {
            return Err(Problem(WebError::Forbidden));
        }
        let mut stamp = self.bearer.stamp.clone();
        stamp.at = Utc::now();
        Ok(stamp)
    }
}

/// The path's parameters, or a problem document saying why they could not be read.
pub(crate) struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Problem> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| ApiPath(t))
            .map_err(|e| Problem(WebError::BadRequest(e.body_text())))
    }
}

/// The query's pairs in order, or a problem document saying why they could not be read.
pub(crate) struct ApiQuery(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Problem> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| ApiQuery(pairs))
            .map_err(|e| Problem(WebError::BadRequest(e.body_text())))
    }
}

/// The body, or a problem document: too large (413), or not read whole.
pub(crate) struct ApiBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBody {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        Bytes::from_request(request, state)
            .await
            .map(ApiBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Problem(WebError::TooLarge)
                } else {
                    Problem(WebError::BadRequest(e.body_text()))
                }
            })
    }
}

/// A page's size as a query gives it: 1 to [`MOST_ROWS`].
fn page_size(value: &str) -> Result<u64, Problem> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=MOST_ROWS).contains(n))
        .ok_or_else(|| {
            Problem(WebError::BadRequest(format!(
                "limit: {value:?} is not a whole number from 1 to {MOST_ROWS}"
            )))
        })
}

/// `201 Created` with the row or record made, and where it is now.
pub(crate) fn created(location: &str, body: &Json) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Json) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// The version as an `ETag`: a strong tag, quoted.
fn etag(row: &steward_model::Row) -> String {
    format!("\"{}\"", row_version(row))
}

/// A row as the API returns it: its fields, and its version in `ETag`.
fn row_response(status: StatusCode, row: &steward_model::Row) -> Response {
    let mut response = json_response(status, &row.to_json());
    if let Ok(v) = HeaderValue::from_str(&etag(row)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

#[derive(askama::Template)]
#[template(path = "api_reference.html")]
struct ReferencePage {
    chrome: crate::pages::Chrome,
    operations: Vec<crate::openapi::OperationView>,
    schemas: Vec<crate::openapi::SchemaView>,
}

/// The document as a page to read, drawn on the server: no script, as the CSP wants.
async fn reference() -> Result<Response, WebError> {
    let (operations, schemas) = crate::openapi::reference();
    crate::pages::page(&ReferencePage {
        chrome: crate::pages::Chrome::bare(),
        operations,
        schemas,
    })
}

async fn openapi() -> Response {
    json_response(StatusCode::OK, &crate::openapi::document())
}

/// The registers this token reaches, and what it may do with each.
async fn list_registers(Extension(bearing): Extension<Bearing>) -> Result<Response, Problem> {
    let authority = &bearing.bearer.stamp.authority;
    let items: Vec<Json> = registers()
        .filter(|r| bearing.bearer.token.allows(*r, false))
        .map(|r| {
            let may = |op| authority.may(r, op);
            let write = bearing.bearer.token.allows(r, true);
            json!({
                "name": r.name(),
                "entity": r.entity(),
                "read": may(steward_service::Operation::Read),
                "create": write && may(steward_service::Operation::Create),
                "update": write && may(steward_service::Operation::Update),
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

/// A page of a register's rows: `limit`, `after` (the last id of the page before), `sort`
/// (a field, `-field` downwards), `q` (text to find) and any field by name for exact matches.
async fn list_rows(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(pairs): ApiQuery,
) -> Result<Response, Problem> {
    let register = register_named(&name)?;
    let stamp = bearing.stamp_for(register)?;
    let mut query = RowQuery {
        limit: DEFAULT_ROWS,
        ..RowQuery::default()
    };
    for (key, value) in pairs {
        match key.as_str() {
            "limit" => query.limit = page_size(&value)?,
            "after" if !value.is_empty() => query.after = Some(value),
            "sort" if !value.is_empty() => {
                query.sort = Some(match value.strip_prefix('-') {
                    Some(field) => (field.to_owned(), true),
                    None => (value, false),
                });
            }
            "q" if !value.trim().is_empty() => query.search = Some(value.trim().to_owned()),
            "after" | "sort" | "q" => {}
            _ => query.equal.push((key, value)),
        }
    }
    let page = query.limit;
    // One row past the page: whether there is a next page is known without counting.
    query.limit = page + 1;
    let mut rows = blocking(&state, move |s| s.list_rows(&stamp, register, &query)).await?;
    let more = rows.len() as u64 > page;
    rows.truncate(usize::try_from(page).unwrap_or(usize::MAX));
    let next = more
        .then(|| rows.last().map(|r| r.id().to_owned()))
        .flatten();
    let items: Vec<Json> = rows.iter().map(steward_model::Row::to_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "items": items, "next": next }),
    ))
}

async fn read_row(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath((name, id)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let register = register_named(&name)?;
    let stamp = bearing.stamp_for(register)?;
    let row = blocking(&state, move |s| s.read_row(&stamp, register, &id))
        .await?
        .ok_or(Problem(WebError::NotFound))?;
    let tag = etag(&row);
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == tag
        });
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&tag) {
            response.headers_mut().insert(header::ETAG, v);
        }
        return Ok(response);
    }
    Ok(row_response(StatusCode::OK, &row))
}

/// Whether a request says its body is JSON.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            let t = t.trim();
            t.eq_ignore_ascii_case("application/json")
                || t.eq_ignore_ascii_case("application/merge-patch+json")
        })
}

/// A request's JSON object of fields, each value as a CSV cell writes it.
pub(crate) fn fields_of(
    body: &Bytes,
    headers: &HeaderMap,
) -> Result<Vec<(String, String)>, Problem> {
    if !is_json(headers) {
        return Err(Problem(WebError::UnsupportedMedia));
    }
    let object: serde_json::Map<String, Json> = serde_json::from_slice(body).map_err(|e| {
        WebError::BadRequest(format!("the body is not a JSON object of fields: {e}"))
    })?;
    let mut fields = Vec::with_capacity(object.len());
    let mut problems = Vec::new();
    for (name, value) in object {
        let text = match value {
            Json::Null => String::new(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.to_string(),
            Json::String(s) => s,
            Json::Array(_) | Json::Object(_) => {
                problems.push(name);
                continue;
            }
        };
        fields.push((name, text));
    }
    if let Some(name) = problems.first() {
        return Err(Problem(WebError::BadRequest(format!(
            "{name}: a field's value is text, a number, true or false, or null"
        ))));
    }
    Ok(fields)
}

async fn create_row(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, Problem> {
    let register = register_named(&name)?;
    let stamp = bearing.stamp_for(register)?;
    let fields = fields_of(&body, &headers)?;
    let row = blocking(&state, move |s| {
        s.create_from_fields(&stamp, register, &fields)
    })
    .await?;
    let location = format!(
        "{BASE}/registers/{}/{}",
        register.name(),
        percent_encoding::utf8_percent_encode(row.id(), percent_encoding::NON_ALPHANUMERIC)
    );
    let mut response = created(&location, &row.to_json());
    if let Ok(v) = HeaderValue::from_str(&etag(&row)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

async fn update_row(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath((name, id)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, Problem> {
    let register = register_named(&name)?;
    let stamp = bearing.stamp_for(register)?;
    // `*`: whatever version it has now; otherwise the strong tag the client read.
    let version = match headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        None => return Err(Problem(WebError::PreconditionRequired)),
        Some(v) if v.trim() == "*" => None,
        Some(v) => Some(v.trim().trim_matches('"').to_owned()),
    };
    let fields = fields_of(&body, &headers)?;
    let row = blocking(&state, move |s| {
        s.update_if(&stamp, register, &id, &fields, version.as_deref())
    })
    .await?;
    Ok(row_response(StatusCode::OK, &row))
}

/// Whether the token's holder may list the whole organisation's findings: as the pages decide
/// it, for `/findings`.
fn sees_every_finding(bearing: &Bearing) -> bool {
    crate::access::route("GET", "/findings")
        .is_some_and(|r| crate::access::allows(r.access, "GET", &bearing.bearer.viewer))
}

/// A stored finding as the API returns it: the finding, its key, and where it stands.
fn finding_json(stored: &steward_model::StoredFinding) -> Json {
    let mut value = serde_json::to_value(stored).unwrap_or(Json::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("key".into(), Json::String(stored.finding.key()));
    }
    value
}

/// A page of findings: by default every one still failing, the most severe first. Filters as
/// the findings page has them; `as_of` (RFC 3339) gives where findings stood at an instant.
async fn list_findings(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiQuery(pairs): ApiQuery,
) -> Result<Response, Problem> {
    bearing.whole()?;
    if !sees_every_finding(&bearing) {
        return Err(Problem(WebError::Forbidden));
    }
    let bad = |name: &str, value: &str, what: &str| {
        Problem(WebError::BadRequest(format!(
            "{name}: {value:?} is not {what}"
        )))
    };
    let mut query = steward_service::FindingQuery::default();
    let mut limit = DEFAULT_ROWS;
    for (key, value) in pairs {
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "pack" => query.pack = Some(value),
            "clause" => query.clause = Some(value),
            "section" => query.section = Some(value),
            "control" => query.control = Some(value),
            "severity" => query.severity = Some(value),
            "subject_type" => query.subject_type = Some(value),
            "subject_id" => query.subject_id = Some(value),
            "who_acts" => query.who_acts = Some(value),
            "after" => query.after = Some(value),
            "state" => query.states.push(
                steward_model::FindingState::parse(&value)
                    .ok_or_else(|| bad("state", &value, "a finding's state"))?,
            ),
            "order" => {
                query.order = steward_service::FindingOrder::parse(&value)
                    .ok_or_else(|| bad("order", &value, "severity, oldest, newest or clause"))?;
            }
            "as_of" => {
                query.as_of = Some(
                    chrono::DateTime::parse_from_rfc3339(&value)
                        .map_err(|_| {
                            bad("as_of", &value, "an instant such as 2026-12-01T09:00:00Z")
                        })?
                        .with_timezone(&Utc),
                );
            }
            "limit" => limit = page_size(&value)?,
            other => {
                return Err(Problem(WebError::BadRequest(format!(
                    "{other}: not a filter of the findings"
                ))));
            }
        }
    }
    // One past the page: whether there is another is known without counting.
    query.limit = Some(limit + 1);
    let paged = query.as_of.is_none();
    let mut found = blocking(&state, move |s| s.findings(&query)).await?;
    let more = paged && found.len() as u64 > limit;
    found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = more
        .then(|| found.last().map(|f| f.finding.key()))
        .flatten();
    let items: Vec<Json> = found.iter().map(finding_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "items": items, "next": next }),
    ))
}

/// One finding with its history, for whoever may see it: the whole organisation's for those who
/// list findings; otherwise one's own and, for a line manager, one's reports'.
async fn read_finding(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath(key): ApiPath<String>,
) -> Result<Response, Problem> {
    bearing.whole()?;
    let viewer = bearing.bearer.viewer.clone();
    let found = blocking(&state, move |s| {
        let Some(stored) = s.finding_by_key(&key)? else {
            return Ok(None);
        };
        let subject = &stored.finding.subject;
        if !crate::finding::may_see(s, &viewer, &subject.kind, &subject.id)? {
            return Ok(None);
        }
        let history = s.finding_history(&key)?;
        Ok(Some((stored, history)))
    })
    .await?;
    // Another's finding is not said to exist.
    let (stored, history) = found.ok_or(Problem(WebError::NotFound))?;
    let mut body = finding_json(&stored);
    let events: Vec<Json> = history
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "at": e.at,
                "event": e.event.as_str(),
                "state": e.state.as_str(),
                "first_failing": e.first_failing,
                "exception": e.exception,
                "details": e.details,
            })
        })
        .collect();
    if let Some(map) = body.as_object_mut() {
        map.insert("history".into(), Json::Array(events));
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// A job as the API returns it: what it is, where it stands, and what it produced.
fn job_json(view: &steward_service::JobView) -> Json {
    let job = &view.job;
    json!({
        "id": job.id,
        "kind": job.kind,
        "state": job.state.to_string(),
        "progress": { "done": job.progress.done, "total": job.progress.total, "note": job.progress.note },
        "requested_by": job.requested_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "result": view.result.as_ref().and_then(|r| serde_json::to_value(r).ok()),
    })
}

/// `202 Accepted` for a job queued: where to follow it.
fn accepted(id: i64) -> Response {
    let mut response = json_response(
        StatusCode::ACCEPTED,
        &json!({ "job": id, "href": format!("{BASE}/jobs/{id}") }),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{BASE}/jobs/{id}")) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Queues a run of the active packs' checks (or finds the one already waiting): a write, for a
/// read-write token of one who may run them.
async fn run_checks(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
) -> Result<Response, Problem> {
    bearing.whole()?;
    if bearing.bearer.token.access != steward_service::TokenAccess::ReadWrite {
        return Err(Problem(WebError::Forbidden));
    }
    let mut stamp = bearing.bearer.stamp.clone();
    stamp.at = Utc::now();
    let (id, _) = blocking(&state, move |s| {
        s.enqueue_check(&stamp, steward_service::CheckRun::Asked)
    })
    .await?;
    state.jobs.wake();
    Ok(accepted(id))
}

/// Queues an import of one register's CSV file (the body, `text/csv`): all or nothing when it
/// runs, its problems in the job's result.
async fn import_rows(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, Problem> {
    let register = register_named(&name)?;
    let stamp = bearing.stamp_for(register)?;
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"));
    if !csv {
        return Err(Problem(WebError::UnsupportedMedia));
    }
    let file = steward_service::ImportFile {
        register,
        label: register.file_name(),
        bytes: body.to_vec(),
    };
    let id = blocking(&state, move |s| s.enqueue_import(&stamp, vec![file])).await?;
    state.jobs.wake();
    Ok(accepted(id))
}

/// The recent jobs the token's holder may see: their own, or every one for the IT team and
/// administrators.
async fn list_jobs(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
) -> Result<Response, Problem> {
    let stamp = bearing.job_stamp();
    let jobs = blocking(&state, move |s| s.jobs(&stamp, DEFAULT_ROWS)).await?;
    let items: Vec<Json> = jobs.iter().map(job_json).collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

async fn read_job(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    let id: i64 = id.parse().map_err(|_| Problem(WebError::NotFound))?;
    let stamp = bearing.job_stamp();
    let view = blocking(&state, move |s| s.job(&stamp, id)).await?;
    Ok(json_response(StatusCode::OK, &job_json(&view)))
}

/// Whether the token's holder may read the audit log, as the pages decide it for `/audit`.
fn reads_the_audit_log(bearing: &Bearing) -> Result<(), Problem> {
    bearing.whole()?;
    let allowed = crate::access::route("GET", "/audit")
        .is_some_and(|r| crate::access::allows(r.access, "GET", &bearing.bearer.viewer));
    if allowed {
        Ok(())
    } else {
        Err(Problem(WebError::Forbidden))
    }
}

/// The audit log, newest first, a page at a time: `entity_type` with `entity_id` for one
/// record's history, `before` (a record's number) for the page before, `limit`.
async fn list_audit(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiQuery(pairs): ApiQuery,
) -> Result<Response, Problem> {
    reads_the_audit_log(&bearing)?;
    let (mut entity_type, mut entity_id, mut before, mut limit) = (None, None, None, DEFAULT_ROWS);
    for (key, value) in pairs {
        if value.is_empty() {
            continue;
        }
        let number = |what: &str| {
            Problem(WebError::BadRequest(format!(
                "{key}: {value:?} is not {what}"
            )))
        };
        match key.as_str() {
            "entity_type" => entity_type = Some(value),
            "entity_id" => entity_id = Some(value),
            "before" => {
                before = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| number("a record's number"))?,
                )
            }
            "limit" => limit = page_size(&value)?,
            _ => {
                return Err(Problem(WebError::BadRequest(format!(
                    "{key}: not a filter of the audit log"
                ))));
            }
        }
    }
    let entity = match (entity_type, entity_id) {
        (Some(t), Some(i)) => Some((t, i)),
        (None, None) => None,
        _ => {
            return Err(Problem(WebError::BadRequest(
                "entity_type and entity_id go together".into(),
            )));
        }
    };
    let query = steward_store::AuditQuery {
        entity,
        limit: Some(limit),
        before,
    };
    let records = blocking(&state, move |s| {
        let mut records = Vec::new();
        s.audit_log(&query, &mut |r| {
            records.push(r);
            Ok(())
        })?;
        Ok(records)
    })
    .await?;
    let payload = |text: &Option<String>| {
        text.as_deref()
            .map(|t| serde_json::from_str::<Json>(t).unwrap_or_else(|_| Json::String(t.to_owned())))
            .unwrap_or(Json::Null)
    };
    let items: Vec<Json> = records
        .iter()
        .rev()
        .map(|r| {
            json!({
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "entity_type": r.entity_type,
                "entity_id": r.entity_id,
                "before": payload(&r.before),
                "after": payload(&r.after),
                "hash": r.hash,
            })
        })
        .collect();
    let full = records.len() as u64 == limit;
    let next = records.first().filter(|_| full).map(|r| r.seq);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "items": items, "before": next }),
    ))
}

/// Whether the audit log's chain holds, record by record: its head, or its first break.
async fn verify_audit(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
) -> Result<Response, Problem> {
    reads_the_audit_log(&bearing)?;
    let verdict = blocking(&state, |s| s.verify_audit()).await?;
    let body = match verdict {
        Ok(head) => json!({ "holds": true, "records": head.seq, "head": head.hash, "break": null }),
        Err(broken) => {
            json!({ "holds": false, "records": null, "head": null, "break": broken.to_string() })
        }
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// Every pack the server knows — built in, configured, and the organisation's own — as the
/// Policies page lists them.
async fn known_packs(state: &AppState) -> Result<Vec<steward_policy::Pack>, Problem> {
    let available = state.options.available.clone();
    Ok(blocking(state, move |s| s.with_own_packs(&available)).await?)
}

fn pack_summary(pack: &steward_policy::Pack, active: bool) -> Json {
    json!({
        "id": pack.id,
        "title": pack.title,
        "organisation": pack.organisation,
        "version": pack.version,
        "owner": pack.owner,
        "approver": pack.approver,
        "approved_on": pack.approved_on,
        "next_review": pack.next_review,
        "active": active,
    })
}

/// Every pack the server knows, each with whether it runs: the organisation's choice, or the
/// server's configuration naming it.
async fn packs_running(state: &AppState) -> Result<Vec<(steward_policy::Pack, bool)>, Problem> {
    let packs = known_packs(state).await?;
    let active = blocking(state, |s| s.active_pack_ids()).await?;
    Ok(packs
        .into_iter()
        .map(|p| {
            let running =
                active.contains(&p.id) || state.options.packs.iter().any(|q| q.id == p.id);
            (p, running)
        })
        .collect())
}

async fn pack_named(state: &AppState, id: &str) -> Result<(steward_policy::Pack, bool), Problem> {
    packs_running(state)
        .await?
        .into_iter()
        .find(|(p, _)| p.id == id)
        .ok_or(Problem(WebError::NotFound))
}

/// The policies the server knows, and which the organisation runs: what everyone may read on
/// the Policies page.
async fn list_packs(
    State(state): State<AppState>,
    Extension(_bearing): Extension<Bearing>,
) -> Result<Response, Problem> {
    let items: Vec<Json> = packs_running(&state)
        .await?
        .iter()
        .map(|(p, running)| pack_summary(p, *running))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

/// One policy: its details, parameters and every clause with its controls.
async fn read_pack(
    State(state): State<AppState>,
    Extension(_bearing): Extension<Bearing>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    let (pack, active) = pack_named(&state, &id).await?;
    let mut body = pack_summary(&pack, active);
    let parameters: Vec<Json> = pack
        .parameters
        .values()
        .map(|p| {
            json!({
                "name": p.name,
                "type": p.ty.to_string(),
                "value": steward_policy::library::form_text(&p.value),
                "unit": p.unit,
                "description": p.description,
                "assumed": p.assumed,
            })
        })
        .collect();
    let clauses: Vec<Json> = pack
        .clauses
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "heading": c.heading,
                "text": c.text,
                "controls": c.controls.iter().map(|k| json!({ "id": k.id, "kind": k.kind.name().as_str() })).collect::<Vec<_>>(),
            })
        })
        .collect();
    if let Some(map) = body.as_object_mut() {
        map.insert("parameters".into(), Json::Array(parameters));
        map.insert("clauses".into(), Json::Array(clauses));
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// How far the registers decide a policy's clauses, as `steward policy coverage` says it.
async fn pack_coverage(
    State(state): State<AppState>,
    Extension(_bearing): Extension<Bearing>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    let (pack, _) = pack_named(&state, &id).await?;
    let coverage = steward_policy::own_coverage(&pack);
    let clauses: Vec<Json> = coverage
        .rows
        .iter()
        .map(|r| {
            json!({
                "clause": r.clause,
                "controls": r.controls.iter().map(|(id, kind)| json!({ "id": id, "kind": kind.as_str() })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let assumed: Vec<Json> = pack
        .parameters
        .values()
        .filter_map(|p| {
            p.assumed.as_ref().map(|why| {
                json!({ "name": p.name, "value": steward_policy::library::form_text(&p.value), "assumed": why })
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "pack": pack.id, "clauses": clauses, "summary": coverage.summary(), "assumed": assumed }),
    ))
}

fn webhook_json(hook: &steward_service::Webhook) -> Json {
    json!({
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "enabled": hook.enabled,
        "failures": hook.failures,
        "disabled_reason": hook.disabled_reason,
        "created_at": hook.created_at,
        "created_by": hook.created_by,
    })
}

/// The stamp for managing webhooks: a read-write token's for a change; the service decides
/// that only administrators may.
fn webhook_stamp(bearing: &Bearing) -> Result<steward_service::Stamp, Problem> {
    bearing.whole()?;
    if bearing.write && bearing.bearer.token.access != steward_service::TokenAccess::ReadWrite {
        return Err(Problem(WebError::Forbidden));
    }
    let mut stamp = bearing.bearer.stamp.clone();
    stamp.at = Utc::now();
    Ok(stamp)
}

/// Subscribes a URL to events: `{"url": …, "events": [...]}`; the answer holds the secret to
/// verify its messages with, this once.
async fn subscribe_webhook(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, Problem> {
    let stamp = webhook_stamp(&bearing)?;
    if !is_json(&headers) {
        return Err(Problem(WebError::UnsupportedMedia));
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Subscription {
        url: String,
        events: Vec<String>,
    }
    let wanted: Subscription = serde_json::from_slice(&body).map_err(|e| {
        WebError::BadRequest(format!(
            "the body is not {{\"url\": \"https://…\", \"events\": [\"finding.opened\", …]}}: {e}"
        ))
    })?;
    let allow_private = state.options.jobs.webhooks_allow_private;
    let (hook, secret) = blocking(&state, move |s| {
        s.subscribe_webhook(&stamp, &wanted.url, &wanted.events, allow_private)
    })
    .await?;
    let mut body = webhook_json(&hook);
    if let Some(map) = body.as_object_mut() {
        map.insert("secret".into(), Json::String(secret));
    }
    Ok(created(&format!("{BASE}/webhooks/{}", hook.id), &body))
}

async fn list_webhooks(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
) -> Result<Response, Problem> {
    let stamp = webhook_stamp(&bearing)?;
    let hooks = blocking(&state, move |s| s.webhooks(&stamp)).await?;
    let items: Vec<Json> = hooks.iter().map(webhook_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "items": items, "events": steward_service::WEBHOOK_EVENTS }),
    ))
}

/// A webhook's latest deliveries, newest first, with what its receiver answered.
async fn webhook_deliveries(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    let stamp = webhook_stamp(&bearing)?;
    let rows = blocking(&state, move |s| {
        s.webhook_deliveries(&stamp, &id, DEFAULT_ROWS)
    })
    .await?;
    let items: Vec<Json> = rows
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "event": d.event,
                "created_at": d.created_at,
                "state": d.state,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at,
                "last_attempt_at": d.last_attempt_at,
                "last_status": d.last_status,
                "last_response": d.last_response,
                "payload": serde_json::from_str::<Json>(&d.payload).unwrap_or(Json::Null),
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

/// Turns a webhook on (`enable`: its failures forgotten) or off (`disable`).
async fn switch_webhook(
    State(state): State<AppState>,
    Extension(bearing): Extension<Bearing>,
    ApiPath((id, action)): ApiPath<(String, String)>,
) -> Result<Response, Problem> {
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(Problem(WebError::NotFound)),
    };
    let stamp = webhook_stamp(&bearing)?;
    let hook = blocking(&state, move |s| s.set_webhook_enabled(&stamp, &id, enabled)).await?;
    Ok(json_response(StatusCode::OK, &webhook_json(&hook)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_held_to_its_rate_each_minute() {
        let counts = RequestCounts::default();
        for _ in 0..3 {
            assert_eq!(counts.admit("a", 120, 3), Ok(()));
        }
        assert_eq!(
            counts.admit("a", 130, 3),
            Err(50),
            "wait for the next minute"
        );
        assert_eq!(
            counts.admit("b", 130, 3),
            Ok(()),
            "another token has its own"
        );
        assert_eq!(counts.admit("a", 180, 3), Ok(()), "a new minute");
    }
}
