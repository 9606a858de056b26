//! Microsoft identity platform (client credentials) and Microsoft Graph v1.0.
//!
//! Shapes follow Microsoft's documentation (microsoftgraph/microsoft-graph-docs-contrib and
//! MicrosoftDocs/entra-docs); each handler cites its page.

use crate::odata::{self, Clause, Literal, Op};
use crate::server::{
    Admitted, Credentials, Refusal, Shared, build_query, json, ok_json, page_token, param,
    query_pairs, read_page_token, with_header,
};
use crate::tenant::{Device, DeviceKind, Os, Ownership, SignIn, Tenant, User, midnight};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

type S = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/users", get(users))
        .route("/v1.0/users/delta", get(users_delta))
        .route("/v1.0/users/microsoft.graph.delta", get(users_delta))
        .route(
            "/v1.0/reports/authenticationMethods/userRegistrationDetails",
            get(registration_details),
        )
        .route("/v1.0/directoryRoles", get(directory_roles))
        .route("/v1.0/directoryRoles/{id}/members", get(role_members))
        .route(
            "/v1.0/deviceManagement/managedDevices",
            get(managed_devices),
        )
        .route("/v1.0/auditLogs/signIns", get(sign_ins))
        .fallback(not_found)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn time_or_null(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(time(t))).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Microsoft Graph's error body: `{"error":{"code","message","innerError":{…}}}`.
/// Microsoft Graph, "Microsoft Graph error responses and resource types",
/// https://learn.microsoft.com/en-us/graph/errors
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        &json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": "5a2a8f3e-0a8c-4a63-9b7e-6f2d1c0b9e41",
                    "client-request-id": "5a2a8f3e-0a8c-4a63-9b7e-6f2d1c0b9e41"
                }
            }
        }),
    )
}

fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

fn unsupported_query(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
}

fn premium_required() -> Response {
    // The licence error Graph answers for sign-in logs and signInActivity without Entra ID P1:
    // microsoftgraph/microsoft-graph-docs-contrib issues #3808 and #3033 quote the body.
    graph_error(
        StatusCode::FORBIDDEN,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license",
    )
}

fn refused(shared: &Shared, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Missing => unauthorized("Access token is empty."),
        Refusal::Unknown => unauthorized("Access token validation failure. Invalid audience."),
        Refusal::Expired => unauthorized("Lifetime validation failed, the token is expired."),
        Refusal::Forbidden(prefix) => {
            if is_premium_path(&prefix) {
                premium_required()
            } else {
                graph_error(
                    StatusCode::FORBIDDEN,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                )
            }
        }
        // Microsoft Graph, "Microsoft Graph throttling guidance", sample response:
        // https://learn.microsoft.com/en-us/graph/throttling
        Refusal::RateLimited => with_header(
            json(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({
                    "error": {
                        "code": "TooManyRequests",
                        "innerError": {
                            "code": "429",
                            "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                            "message": "Please retry after",
                            "request-id": "94fb3b52-452a-4535-a601-69e0a90e3aa2",
                            "status": "429"
                        },
                        "message": "Please retry again later."
                    }
                }),
            ),
            "retry-after",
            "1",
        ),
        // "serviceNotAvailable: The service is not available. Try the request again after a
        // delay." (errors page, code property).
        Refusal::ServerError => {
            let _ = shared;
            graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please try again later.",
            )
        }
    }
}

fn unauthorized(message: &str) -> Response {
    with_header(
        graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        ),
        "www-authenticate",
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
    )
}

/// Paths refused for want of Entra ID P1 rather than of a permission.
fn is_premium_path(prefix: &str) -> bool {
    prefix.starts_with("/v1.0/auditLogs") || prefix.starts_with("/v1.0/reports")
}

async fn not_found(uri: Uri) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource not found for the segment '{}'.", uri.path()),
    )
}

/// Runs a data handler behind the token check and the faults.
fn guarded(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    answer: impl FnOnce(&[(String, String)]) -> Result<Value, Response>,
) -> Response {
    let admitted: Admitted = match shared.admit(headers, uri.path()) {
        Ok(a) => a,
        Err(r) => return refused(shared, r),
    };
    let pairs = query_pairs(uri.query());
    match answer(&pairs) {
        Ok(value) => ok_json(&admitted, &value),
        Err(response) => response,
    }
}

// ---------------------------------------------------------------------------------------------
// Token

/// The Microsoft identity platform's token endpoint, client credentials with a shared secret.
/// Microsoft identity platform, "OAuth 2.0 client credentials flow", first case and its
/// successful and error responses:
/// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
async fn token(
    State(shared): S,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Credentials::Microsoft {
        tenant: our_tenant,
        client_id: our_id,
        client_secret: our_secret,
    } = &shared.credentials
    else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            "Unexpected.",
        );
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // "The Basic auth pattern of instead providing credentials in the Authorization header, per
    // RFC 6749, is also supported."
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let client_id = param(&form, "client_id")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let client_secret = param(&form, "client_secret")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|b| b.1.clone()));
    if !tenant.eq_ignore_ascii_case(our_tenant) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    match param(&form, "grant_type") {
        None => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            );
        }
        Some("client_credentials") => {}
        Some(other) => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            );
        }
    }
    let Some(client_id) = client_id else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    if client_id != *our_id {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    match client_secret {
        None => {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
        Some(secret) if secret != *our_secret => {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
        Some(_) => {}
    }
    let scope = param(&form, "scope").unwrap_or("");
    if scope != "https://graph.microsoft.com/.default" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    }
    let access_token = shared.issue("eyJ0eXAiOiJKV1QiLCJub25jZSI6Ik1pY3Jvc29mdCJ9.", Vec::new());
    json(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access_token
        }),
    )
}

/// The identity platform's error body (same page, "Error response").
fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let now = Utc::now();
    let stamp = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
    let trace = "255d1aef-8c98-452f-ac51-23d051240864";
    let correlation = "fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7";
    json(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {stamp}"
            ),
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}")
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Query helpers

/// `$select`, checked against the properties a resource has here.
fn select(
    pairs: &[(String, String)],
    known: &[&str],
    kind: &str,
) -> Result<Option<Vec<String>>, Response> {
    let Some(list) = param(pairs, "$select") else {
        return Ok(None);
    };
    let mut names = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !known.contains(&name) {
            return Err(bad_request(&format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.{kind}'."
            )));
        }
        names.push(name.to_string());
    }
    Ok(Some(names))
}

/// Keeps the selected properties (and `id`, always returned), or the default set.
fn project(
    full: Map<String, Value>,
    selected: Option<&[String]>,
    default: &[&str],
) -> Map<String, Value> {
    let keep = |k: &str| -> bool {
        k == "id"
            || k.starts_with('@')
            || match selected {
                Some(s) => s.iter().any(|n| n == k),
                None => default.contains(&k),
            }
    };
    full.into_iter().filter(|(k, _)| keep(k)).collect()
}

fn top(pairs: &[(String, String)], max: usize) -> Result<Option<usize>, Response> {
    match param(pairs, "$top") {
        None => Ok(None),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad_request(&format!(
                "Invalid page size specified: '{t}'. Must be between 1 and {max} inclusive."
            ))),
        },
    }
}

fn skip(pairs: &[(String, String)], tag: &str) -> Result<usize, Response> {
    match param(pairs, "$skiptoken") {
        None => Ok(0),
        Some(t) => read_page_token(tag, t).ok_or_else(|| bad_request("Invalid $skiptoken.")),
    }
}

/// A page of a collection with `@odata.context` and, when more remain, `@odata.nextLink` — the
/// request's own query with a new `$skiptoken`. Microsoft Graph, "Paging Microsoft Graph data in
/// your app", https://learn.microsoft.com/en-us/graph/paging
/// Where a collection lives: its path, its `$metadata` fragment, its page tokens' tag.
struct Collection<'a> {
    path: &'a str,
    context: &'a str,
    tag: &'a str,
}

fn page(
    shared: &Shared,
    collection: Collection<'_>,
    pairs: &[(String, String)],
    items: Vec<Value>,
    offset: usize,
    total: usize,
) -> Value {
    let Collection { path, context, tag } = collection;
    let mut out = Map::new();
    out.insert(
        "@odata.context".to_string(),
        Value::String(format!("{}/v1.0/$metadata#{context}", shared.base_url)),
    );
    let next = offset + items.len();
    if next < total {
        let mut query: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "$skiptoken")
            .cloned()
            .collect();
        query.push(("$skiptoken".to_string(), page_token(tag, next)));
        out.insert(
            "@odata.nextLink".to_string(),
            Value::String(format!("{}{path}?{}", shared.base_url, build_query(&query))),
        );
    }
    out.insert("value".to_string(), Value::Array(items));
    Value::Object(out)
}

fn filter(pairs: &[(String, String)]) -> Result<Option<Vec<Clause>>, Response> {
    match param(pairs, "$filter") {
        None => Ok(None),
        Some(f) => odata::parse(f)
            .map(Some)
            .ok_or_else(|| bad_request(&format!("Invalid filter clause: '{f}'."))),
    }
}

fn reject(pairs: &[(String, String)], names: &[&str], what: &str) -> Result<(), Response> {
    for name in names {
        if param(pairs, name).is_some() {
            return Err(unsupported_query(&format!(
                "The query parameter '{name}' is not supported on {what}."
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Users

/// The user properties rendered here. Microsoft Graph v1.0, "user resource type",
/// https://learn.microsoft.com/en-us/graph/api/resources/user
const USER_PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "accountEnabled",
    "employeeId",
    "department",
    "jobTitle",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "proxyAddresses",
    "otherMails",
    "businessPhones",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "usageLocation",
    "userType",
    "createdDateTime",
    "signInActivity",
];

/// "By default, only a limited set of properties are returned" (List users, optional query
/// parameters).
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

fn user_json(u: &User) -> Map<String, Value> {
    let mut proxies = vec![format!("SMTP:{}", u.email)];
    proxies.extend(u.aliases.iter().map(|a| format!("smtp:{a}")));
    let last_success = u.last_sign_in;
    let Value::Object(map) = json!({
        "id": u.id,
        "userPrincipalName": u.email,
        "mail": u.email,
        "displayName": u.display_name,
        "givenName": u.given_name,
        "surname": u.family_name,
        "accountEnabled": u.enabled,
        "employeeId": u.employee_id,
        "department": u.department,
        "jobTitle": u.job_title,
        "employeeHireDate": time_or_null(u.hire_date.map(midnight)),
        "employeeLeaveDateTime": time_or_null(u.leave_date.map(midnight)),
        "proxyAddresses": proxies,
        "otherMails": [],
        "businessPhones": [],
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": "en-GB",
        "usageLocation": "GB",
        "userType": "Member",
        "createdDateTime": time(u.created),
        // Microsoft Graph v1.0, "signInActivity resource type",
        // https://learn.microsoft.com/en-us/graph/api/resources/signinactivity
        "signInActivity": {
            "lastSignInDateTime": time_or_null(u.last_sign_in),
            "lastSignInRequestId": u.last_sign_in.map(|_| format!("{}-si", &u.id[..8])),
            "lastNonInteractiveSignInDateTime": time_or_null(u.last_sign_in),
            "lastNonInteractiveSignInRequestId": u.last_sign_in.map(|_| format!("{}-ni", &u.id[..8])),
            "lastSuccessfulSignInDateTime": time_or_null(last_success),
            "lastSuccessfulSignInRequestId": last_success.map(|_| format!("{}-ok", &u.id[..8]))
        }
    }) else {
        return Map::new();
    };
    map
}

/// `$expand=manager` or `$expand=manager($select=id,userPrincipalName)`: the manager's selected
/// properties, or `None` for no expansion.
fn manager_expansion(pairs: &[(String, String)]) -> Result<Option<Option<Vec<String>>>, Response> {
    let Some(expand) = param(pairs, "$expand") else {
        return Ok(None);
    };
    let expand = expand.trim();
    if expand == "manager" {
        return Ok(Some(None));
    }
    if let Some(inner) = expand
        .strip_prefix("manager(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let Some(list) = inner.trim().strip_prefix("$select=") else {
            return Err(bad_request(&format!("Invalid $expand: '{expand}'.")));
        };
        let names: Vec<String> = list
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        if let Some(bad) = names
            .iter()
            .find(|n| !USER_PROPERTIES.contains(&n.as_str()))
        {
            return Err(bad_request(&format!(
                "Could not find a property named '{bad}' on type 'microsoft.graph.user'."
            )));
        }
        return Ok(Some(Some(names)));
    }
    Err(bad_request(&format!(
        "Parsing OData Select and Expand failed: Could not find a property named '{expand}' on type 'microsoft.graph.user'."
    )))
}

/// List users. Microsoft Graph v1.0, "List users",
/// https://learn.microsoft.com/en-us/graph/api/user-list — `$select` (signInActivity only when
/// selected), `$top` up to 999, `$expand=manager`, paging by `@odata.nextLink`.
async fn users(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        reject(
            pairs,
            &["$filter", "$search", "$orderby"],
            "this stand-in's users",
        )?;
        let selected = select(pairs, USER_PROPERTIES, "user")?;
        if selected
            .as_ref()
            .is_some_and(|sel| sel.iter().any(|n| n == "signInActivity"))
            && s.faults.forbidden.iter().any(|p| is_premium_path(p))
        {
            // A tenant without Entra ID P1 refuses signInActivity as it refuses the sign-in log.
            return Err(premium_required());
        }
        let expansion = manager_expansion(pairs)?;
        let size = s.page_size(top(pairs, 999)?, 999);
        let offset = skip(pairs, "users")?;
        let tenant = s.tenant();
        let index = tenant.user_index();
        let total = tenant.users.len();
        let items: Vec<Value> = tenant
            .users
            .iter()
            .skip(offset)
            .take(size)
            .map(|u| {
                let mut item = project(user_json(u), selected.as_deref(), USER_DEFAULT);
                if let Some(manager_select) = &expansion
                    && let Some(m) = u.manager_id.as_deref().and_then(|id| index.get(id))
                {
                    let mut manager =
                        project(user_json(m), manager_select.as_deref(), USER_DEFAULT);
                    manager.insert(
                        "@odata.type".to_string(),
                        Value::String("#microsoft.graph.user".to_string()),
                    );
                    item.insert("manager".to_string(), Value::Object(manager));
                }
                Value::Object(item)
            })
            .collect();
        let context = match &selected {
            Some(sel) => format!("users({})", sel.join(",")),
            None => "users".to_string(),
        };
        Ok(page(
            &s,
            Collection {
                path: "/v1.0/users",
                context: &context,
                tag: "users",
            },
            pairs,
            items,
            offset,
            total,
        ))
    })
}

/// How long a delta link stays good: "For directory objects, the limit is seven days" (Microsoft
/// Graph, "Use delta query to track changes in Microsoft Graph data", token duration).
const DELTA_TOKEN_DAYS: i64 = 7;

/// The state a delta or skip token carries: the round's bounds (a version of the directory: its
/// latest change when the round began), where the page starts, the selection, when the token
/// was issued on the tenant's clock, and the change-tracking generation it belongs to.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct DeltaState {
    /// Changes after this instant (microseconds); `None` for the initial full round.
    since: Option<i64>,
    /// Changes up to this instant.
    upto: i64,
    offset: usize,
    select: Option<Vec<String>>,
    /// The tenant's clock when the token was issued (microseconds).
    issued: i64,
    /// The stand-in's change-tracking generation ([`crate::Server::reset_change_tracking`]).
    generation: u32,
}

fn encode_state(state: &DeltaState) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(state).unwrap_or_default())
}

fn decode_state(token: &str) -> Option<DeltaState> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The delta round's records: users changed in `(since, upto]` (all users up to `upto` for the
/// initial round), then users deleted in that window.
///
/// Shapes, from "user: delta" and "Get incremental changes for users": a changed user carries the
/// selected properties, unchanged ones with their old values (the default, without `Prefer:
/// return=minimal`), never `signInActivity`; a selected `manager` comes as
/// `"manager@delta": [{"@odata.type": "#microsoft.graph.user", "id": …}]`; a deleted user is
/// `{"id": …, "@removed": {"reason": "changed"}}` ("changed": deleted but restorable from
/// deletedItems; "deleted": gone for good).
fn delta_items(tenant: &Tenant, state: &DeltaState) -> Vec<Value> {
    let upto = state.upto;
    let in_window = |t: DateTime<Utc>| -> bool {
        let t = t.timestamp_micros();
        t <= upto && state.since.is_none_or(|s| t > s)
    };
    let selected = state.select.as_deref();
    let mut items: Vec<Value> = tenant
        .users
        .iter()
        .filter(|u| in_window(u.last_modified))
        .map(|u| {
            let mut item = project(user_json(u), selected, USER_DEFAULT);
            item.remove("signInActivity");
            if selected.is_some_and(|s| s.iter().any(|n| n == "manager"))
                && let Some(m) = &u.manager_id
            {
                item.insert(
                    "manager@delta".to_string(),
                    json!([{ "@odata.type": "#microsoft.graph.user", "id": m }]),
                );
            }
            Value::Object(item)
        })
        .collect();
    if state.since.is_some() {
        items.extend(
            tenant
                .deleted_users
                .iter()
                .filter(|d| in_window(d.deleted))
                .map(|d| json!({ "id": d.user.id, "@removed": { "reason": "changed" } })),
        );
    }
    items
}

/// Graph's answer to a delta token it no longer holds state for ("Synchronization reset"): 410
/// Gone, with a `Location` header holding the initial query, "an indication that the application
/// must restart with a full synchronization". The code is the errors page's `resyncRequired`:
/// "The delta token is no longer valid, and the app must reset the sync state."
fn resync_required(shared: &Shared) -> Response {
    with_header(
        graph_error(
            StatusCode::GONE,
            "resyncRequired",
            "The delta token is no longer valid, and the app must reset the sync state.",
        ),
        "location",
        &format!("{}/v1.0/users/delta", shared.base_url),
    )
}

/// A delta token past its seven days: the error Microsoft announced for it ("Duration of change
/// tracking tokens for identity and education resources", Microsoft 365 Developer Blog, 2020-07-03:
/// a BadRequest with code `syncStateNotFound`).
fn sync_state_not_found() -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "syncStateNotFound",
        "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
    )
}

/// users: delta. Microsoft Graph v1.0, "user: delta",
/// https://learn.microsoft.com/en-us/graph/api/user-delta, and "Get incremental changes for
/// users", https://learn.microsoft.com/en-us/graph/delta-query-users: pages linked by
/// `@odata.nextLink` (`$skiptoken`), the last with `@odata.deltaLink` (`$deltatoken`); a later
/// call of the delta link answers only the users changed since, and deleted ones as `@removed`
/// (shapes at [`delta_items`]). "Use delta query to track changes in Microsoft Graph data",
/// https://learn.microsoft.com/en-us/graph/delta-query-overview: `$select` (including `manager`,
/// tracked as `manager@delta`) is encoded in the tokens and cannot be combined with `$skiptoken`;
/// `$expand`, `$top` and `$orderby` are "not supported" for users; `$deltaToken=latest` answers a
/// delta link and no users ("sync from now"); a token from before a reset answers 410 Gone, one
/// older than seven days `syncStateNotFound`.
async fn users_delta(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        reject(pairs, &["$expand", "$top", "$orderby"], "users delta")?;
        let mut known: Vec<&str> = USER_PROPERTIES
            .iter()
            .copied()
            .filter(|p| *p != "signInActivity")
            .collect();
        known.push("manager");
        let selected = select(pairs, &known, "user")?;
        let tenant = s.tenant();
        let watermark = tenant.users_watermark().timestamp_micros();
        let issued = tenant.now.timestamp_micros();
        let generation = s.delta_generation();
        // A token this stand-in cannot read, or from before a reset, holds no state here.
        let held = |token: &str| -> Result<DeltaState, Response> {
            let state = decode_state(token)
                .filter(|state| state.generation == generation)
                .ok_or_else(|| resync_required(&s))?;
            let age = issued - state.issued;
            if age
                > chrono::Duration::days(DELTA_TOKEN_DAYS)
                    .num_microseconds()
                    .unwrap_or(i64::MAX)
            {
                return Err(sync_state_not_found());
            }
            Ok(state)
        };
        let state = match (param(pairs, "$skiptoken"), param(pairs, "$deltatoken")) {
            (Some(_), _) if selected.is_some() => {
                return Err(bad_request("$select cannot be combined with $skiptoken."));
            }
            (Some(t), _) => held(t)?,
            (None, Some(t)) if t.eq_ignore_ascii_case("latest") => {
                let link = encode_state(&DeltaState {
                    since: Some(watermark),
                    upto: watermark,
                    offset: 0,
                    select: selected,
                    issued,
                    generation,
                });
                return Ok(json!({
                    "@odata.context": format!("{}/v1.0/$metadata#users", s.base_url),
                    "@odata.deltaLink": format!("{}/v1.0/users/delta?$deltatoken={link}", s.base_url),
                    "value": []
                }));
            }
            (None, Some(t)) => {
                let previous = held(t)?;
                DeltaState {
                    since: previous.since,
                    upto: watermark,
                    offset: 0,
                    select: selected.or(previous.select),
                    issued,
                    generation,
                }
            }
            (None, None) => DeltaState {
                since: None,
                upto: watermark,
                offset: 0,
                select: selected,
                issued,
                generation,
            },
        };
        let items = delta_items(&tenant, &state);
        let size = s.page_size(None, 999);
        let end = (state.offset + size).min(items.len());
        let value: Vec<Value> = items
            .get(state.offset..end)
            .map(|x| x.to_vec())
            .unwrap_or_default();
        let mut out = Map::new();
        out.insert(
            "@odata.context".to_string(),
            Value::String(format!("{}/v1.0/$metadata#users", s.base_url)),
        );
        if end < items.len() {
            let next = encode_state(&DeltaState {
                offset: end,
                select: state.select.clone(),
                ..state
            });
            out.insert(
                "@odata.nextLink".to_string(),
                Value::String(format!("{}/v1.0/users/delta?$skiptoken={next}", s.base_url)),
            );
        } else {
            let delta = encode_state(&DeltaState {
                since: Some(state.upto),
                upto: state.upto,
                offset: 0,
                select: state.select.clone(),
                issued,
                generation,
            });
            out.insert(
                "@odata.deltaLink".to_string(),
                Value::String(format!(
                    "{}/v1.0/users/delta?$deltatoken={delta}",
                    s.base_url
                )),
            );
        }
        out.insert("value".to_string(), Value::Array(value));
        Ok(Value::Object(out))
    })
}

// ---------------------------------------------------------------------------------------------
// Authentication methods registration

/// List userRegistrationDetails. Microsoft Graph v1.0, "List userRegistrationDetails",
/// https://learn.microsoft.com/en-us/graph/api/authenticationmethodsroot-list-userregistrationdetails
/// — "supports only the `$filter` and `$orderBy` OData query parameters"; paged by nextLink.
async fn registration_details(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        reject(
            pairs,
            &["$top", "$select", "$expand", "$search"],
            "userRegistrationDetails",
        )?;
        let clauses = filter(pairs)?.unwrap_or_default();
        for c in &clauses {
            let ok = matches!(
                (c.field.as_str(), &c.value),
                (
                    "isMfaRegistered" | "isMfaCapable" | "isAdmin",
                    Literal::Bool(_)
                ) | ("userType" | "userPrincipalName", Literal::Text(_))
            ) && matches!(c.op, Op::Eq | Op::Ne);
            if !ok {
                return Err(unsupported_query(&format!(
                    "Unsupported filter on '{}' for userRegistrationDetails.",
                    c.field
                )));
            }
        }
        let tenant = s.tenant();
        let mut rows: Vec<Value> = tenant
            .users
            .iter()
            .map(|u| {
                // Microsoft Graph v1.0, "userRegistrationDetails resource type",
                // https://learn.microsoft.com/en-us/graph/api/resources/userregistrationdetails
                json!({
                    "id": u.id,
                    "userPrincipalName": u.email,
                    "userDisplayName": u.display_name,
                    "userType": "member",
                    "isAdmin": u.admin,
                    "isSsprRegistered": u.mfa_registered,
                    "isSsprEnabled": true,
                    "isSsprCapable": u.mfa_registered,
                    "isMfaRegistered": u.mfa_registered,
                    "isMfaCapable": u.mfa_registered,
                    "isPasswordlessCapable": u.methods_registered.iter().any(|m| m == "fido2" || m == "windowsHelloForBusiness"),
                    "lastUpdatedDateTime": time(u.last_modified),
                    "methodsRegistered": u.methods_registered,
                    "isSystemPreferredAuthenticationMethodEnabled": true,
                    "systemPreferredAuthenticationMethods": if u.mfa_registered { json!(["push"]) } else { json!([]) },
                    "userPreferredMethodForSecondaryAuthentication": if u.mfa_registered { "push" } else { "" }
                })
            })
            .filter(|row| {
                clauses.iter().all(|c| {
                    let field = &row[c.field.as_str()];
                    match &c.value {
                        Literal::Bool(b) => odata::compare(&field.as_bool(), c.op, &Some(*b)),
                        Literal::Text(t) => odata::compare(
                            &field.as_str().map(str::to_ascii_lowercase),
                            c.op,
                            &Some(t.to_ascii_lowercase()),
                        ),
                        Literal::Time(_) => false,
                    }
                })
            })
            .collect();
        if let Some(order) = param(pairs, "$orderby").or_else(|| param(pairs, "$orderBy")) {
            let (field, desc) = match order.split_once(' ') {
                Some((f, dir)) => (f, dir.eq_ignore_ascii_case("desc")),
                None => (order, false),
            };
            if ![
                "userPrincipalName",
                "userDisplayName",
                "lastUpdatedDateTime",
            ]
            .contains(&field)
            {
                return Err(unsupported_query(&format!(
                    "Unsupported $orderby on '{field}'."
                )));
            }
            rows.sort_by(|a, b| {
                let o = a[field].as_str().cmp(&b[field].as_str());
                if desc { o.reverse() } else { o }
            });
        }
        let size = s.page_size(None, 1000);
        let offset = skip(pairs, "urd")?;
        let total = rows.len();
        let items: Vec<Value> = rows.into_iter().skip(offset).take(size).collect();
        Ok(page(
            &s,
            Collection {
                path: "/v1.0/reports/authenticationMethods/userRegistrationDetails",
                context: "reports/authenticationMethods/userRegistrationDetails",
                tag: "urd",
            },
            pairs,
            items,
            offset,
            total,
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Directory roles

fn member_json(u: &User) -> Map<String, Value> {
    let mut m = user_json(u);
    m.insert(
        "@odata.type".to_string(),
        Value::String("#microsoft.graph.user".to_string()),
    );
    m
}

/// List directoryRoles, with `$expand=members`. Microsoft Graph v1.0, "List directoryRoles",
/// https://learn.microsoft.com/en-us/graph/api/directoryrole-list, and "directoryRole resource
/// type", https://learn.microsoft.com/en-us/graph/api/resources/directoryrole
async fn directory_roles(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        let expand = match param(pairs, "$expand") {
            None => false,
            Some("members") => true,
            Some(other) => {
                return Err(bad_request(&format!(
                    "Could not find a property named '{other}' on type 'microsoft.graph.directoryRole'."
                )));
            }
        };
        let tenant = s.tenant();
        let roles: Vec<Value> = tenant
            .roles
            .iter()
            .map(|r| {
                let mut role = json!({
                    "id": r.id,
                    "deletedDateTime": null,
                    "description": r.description,
                    "displayName": r.display_name,
                    "roleTemplateId": r.role_template_id
                });
                if expand {
                    role["members"] = Value::Array(
                        r.members
                            .iter()
                            .filter_map(|id| tenant.user(id))
                            .map(|u| Value::Object(project(member_json(u), None, USER_DEFAULT)))
                            .collect(),
                    );
                }
                role
            })
            .collect();
        Ok(json!({
            "@odata.context": format!("{}/v1.0/$metadata#directoryRoles", s.base_url),
            "value": roles
        }))
    })
}

/// List members of a directory role, by its id or `roleTemplateId={id}`. Microsoft Graph v1.0,
/// "List members of a directory role",
/// https://learn.microsoft.com/en-us/graph/api/directoryrole-list-members — directoryObjects,
/// here users with `@odata.type`.
async fn role_members(
    State(shared): S,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        let selected = select(pairs, USER_PROPERTIES, "user")?;
        let tenant = s.tenant();
        let role = match id.strip_prefix("roleTemplateId=") {
            Some(template) => tenant.roles.iter().find(|r| r.role_template_id == template),
            None => tenant.roles.iter().find(|r| r.id == id),
        };
        let Some(role) = role else {
            return Err(graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                &format!(
                    "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                ),
            ));
        };
        let members: Vec<&User> = role.members.iter().filter_map(|m| tenant.user(m)).collect();
        let size = s.page_size(top(pairs, 999)?, 999);
        let offset = skip(pairs, "members")?;
        let items: Vec<Value> = members
            .iter()
            .skip(offset)
            .take(size)
            .map(|u| Value::Object(project(member_json(u), selected.as_deref(), USER_DEFAULT)))
            .collect();
        Ok(page(
            &s,
            Collection {
                path: &format!("/v1.0/directoryRoles/{id}/members"),
                context: "directoryObjects",
                tag: "members",
            },
            pairs,
            items,
            offset,
            members.len(),
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Intune managed devices

/// Properties of managedDevice rendered here. Microsoft Graph v1.0, "managedDevice resource
/// type", https://learn.microsoft.com/en-us/graph/api/resources/intune-devices-manageddevice
const DEVICE_PROPERTIES: &[&str] = &[
    "id",
    "userId",
    "deviceName",
    "managedDeviceOwnerType",
    "enrolledDateTime",
    "lastSyncDateTime",
    "operatingSystem",
    "complianceState",
    "jailBroken",
    "managementAgent",
    "osVersion",
    "easActivated",
    "azureADRegistered",
    "deviceEnrollmentType",
    "emailAddress",
    "azureADDeviceId",
    "deviceRegistrationState",
    "isSupervised",
    "isEncrypted",
    "userPrincipalName",
    "model",
    "manufacturer",
    "imei",
    "complianceGracePeriodExpirationDateTime",
    "serialNumber",
    "phoneNumber",
    "androidSecurityPatchLevel",
    "userDisplayName",
    "wiFiMacAddress",
    "subscriberCarrier",
    "meid",
    "totalStorageSpaceInBytes",
    "freeStorageSpaceInBytes",
    "managedDeviceName",
    "partnerReportedThreatState",
];

fn device_json(d: &Device, holder: Option<&User>) -> Map<String, Value> {
    let enrollment = match (d.os, d.owner) {
        (Os::Windows, _) => "windowsAzureADJoin",
        (Os::MacOs | Os::Ios, Ownership::Company) => "appleBulkWithUser",
        (_, Ownership::Personal) => "userEnrollment",
        _ => "deviceEnrollmentManager",
    };
    let never = "0001-01-01T00:00:00Z";
    let Value::Object(map) = json!({
        "@odata.type": "#microsoft.graph.managedDevice",
        "id": d.id,
        "userId": holder.map(|u| u.id.as_str()).unwrap_or(""),
        "deviceName": d.name,
        "managedDeviceOwnerType": match d.owner { Ownership::Company => "company", Ownership::Personal => "personal" },
        "enrolledDateTime": time(d.enrolled),
        "lastSyncDateTime": d.last_sync.map(time).unwrap_or_else(|| never.to_string()),
        "operatingSystem": d.os.name(),
        "complianceState": d.compliance.name(),
        "jailBroken": if matches!(d.os, Os::Ios | Os::Android) { "False" } else { "Unknown" },
        "managementAgent": "mdm",
        "osVersion": d.os_version,
        "easActivated": false,
        "azureADRegistered": true,
        "deviceEnrollmentType": enrollment,
        "emailAddress": holder.map(|u| u.email.as_str()).unwrap_or(""),
        "azureADDeviceId": d.directory_id,
        "deviceRegistrationState": "registered",
        "isSupervised": d.owner == Ownership::Company && matches!(d.os, Os::Ios | Os::MacOs),
        "isEncrypted": d.encrypted,
        "userPrincipalName": holder.map(|u| u.email.as_str()).unwrap_or(""),
        "model": d.model,
        "manufacturer": d.manufacturer,
        "imei": d.imei.clone().unwrap_or_default(),
        "complianceGracePeriodExpirationDateTime": "9999-12-31T23:59:59Z",
        "serialNumber": d.serial,
        "phoneNumber": d.phone_number.clone().unwrap_or_default(),
        "androidSecurityPatchLevel": if d.os == Os::Android { "2024-06-01" } else { "" },
        "userDisplayName": holder.map(|u| u.display_name.as_str()).unwrap_or(""),
        "wiFiMacAddress": "",
        "subscriberCarrier": if d.kind == DeviceKind::Phone { "EE" } else { "" },
        "meid": "",
        "totalStorageSpaceInBytes": 256_000_000_000u64,
        "freeStorageSpaceInBytes": 128_000_000_000u64,
        "managedDeviceName": format!("{}_{}", holder.map(|u| u.email.split('@').next().unwrap_or("")).unwrap_or("Unassigned"), d.os.name()),
        "partnerReportedThreatState": "unknown"
    }) else {
        return Map::new();
    };
    map
}

/// List managedDevices. Microsoft Graph v1.0, "List managedDevices",
/// https://learn.microsoft.com/en-us/graph/api/intune-devices-manageddevice-list — with
/// `$select`, `$top`, `$filter` on `lastSyncDateTime` (`ge`, `gt`, `le`, `lt`) and
/// `operatingSystem eq`, paged by nextLink.
async fn managed_devices(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        let selected = select(pairs, DEVICE_PROPERTIES, "managedDevice")?;
        let clauses = filter(pairs)?.unwrap_or_default();
        for c in &clauses {
            let ok = matches!(
                (c.field.as_str(), &c.value, c.op),
                (
                    "lastSyncDateTime",
                    Literal::Time(_),
                    Op::Ge | Op::Gt | Op::Le | Op::Lt
                ) | ("operatingSystem", Literal::Text(_), Op::Eq | Op::Ne)
            );
            if !ok {
                return Err(bad_request(&format!(
                    "Invalid filter clause: unsupported filter on '{}'.",
                    c.field
                )));
            }
        }
        let size = s.page_size(top(pairs, 1000)?, 1000);
        let offset = skip(pairs, "devices")?;
        let tenant = s.tenant();
        let matching: Vec<&Device> = tenant
            .devices
            .iter()
            .filter(|d| d.in_intune())
            .filter(|d| {
                clauses.iter().all(|c| match &c.value {
                    Literal::Time(t) => {
                        odata::compare(&d.last_sync.unwrap_or(DateTime::<Utc>::MIN_UTC), c.op, t)
                    }
                    Literal::Text(os) => odata::compare(
                        &d.os.name().to_ascii_lowercase(),
                        c.op,
                        &os.to_ascii_lowercase(),
                    ),
                    Literal::Bool(_) => false,
                })
            })
            .collect();
        let users = tenant.user_index();
        let items: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(size)
            .map(|d| {
                let holder = d.user_id.as_deref().and_then(|id| users.get(id).copied());
                let full = device_json(d, holder);
                Value::Object(match &selected {
                    Some(sel) => project(full, Some(sel), DEVICE_PROPERTIES),
                    None => full,
                })
            })
            .collect();
        Ok(page(
            &s,
            Collection {
                path: "/v1.0/deviceManagement/managedDevices",
                context: "deviceManagement/managedDevices",
                tag: "devices",
            },
            pairs,
            items,
            offset,
            matching.len(),
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Sign-ins

fn sign_in_json(devices: &HashMap<&str, &Device>, e: &SignIn, index: usize) -> Value {
    let device = e.device_id.as_deref().and_then(|id| devices.get(id));
    // Microsoft Graph v1.0, "signIn resource type",
    // https://learn.microsoft.com/en-us/graph/api/resources/signin
    json!({
        "id": e.id,
        "createdDateTime": time(e.created),
        "userDisplayName": e.user_display_name,
        "userPrincipalName": e.user_principal_name,
        "userId": e.user_id,
        "appId": "00000002-0000-0ff1-ce00-000000000000",
        "appDisplayName": "Office 365 Exchange Online",
        "ipAddress": format!("203.0.113.{}", index % 250 + 1),
        "clientAppUsed": "Browser",
        "correlationId": e.id,
        "conditionalAccessStatus": "notApplied",
        "isInteractive": true,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": "Office 365 Exchange Online",
        "resourceId": "00000002-0000-0ff1-ce00-000000000000",
        "status": {
            "errorCode": e.error_code,
            "failureReason": if e.error_code == 0 { Value::Null } else { json!("Invalid username or password or Invalid on-premise username or password.") },
            "additionalDetails": null
        },
        "deviceDetail": {
            "deviceId": device.map(|d| d.directory_id.as_str()).unwrap_or(""),
            "displayName": device.map(|d| Value::String(d.name.clone())).unwrap_or(Value::Null),
            "operatingSystem": device.map(|d| d.os.name()).unwrap_or("Windows10"),
            "browser": "Edge 125.0.0",
            "isCompliant": device.map(|d| d.compliance == crate::tenant::Compliance::Compliant),
            "isManaged": device.is_some(),
            "trustType": device.map(|_| "Azure AD joined")
        },
        "location": {
            "city": e.city,
            "state": "",
            "countryOrRegion": e.country,
            "geoCoordinates": { "altitude": null, "latitude": null, "longitude": null }
        },
        "appliedConditionalAccessPolicies": []
    })
}

/// List signIns. Microsoft Graph v1.0, "List signIns",
/// https://learn.microsoft.com/en-us/graph/api/signin-list — newest first; "The maximum and
/// default page size is 1,000 objects"; `$top`, `$skiptoken` and `$filter` (here on
/// `createdDateTime`, and `userPrincipalName eq`).
async fn sign_ins(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        let clauses = filter(pairs)?.unwrap_or_default();
        for c in &clauses {
            let ok = matches!(
                (c.field.as_str(), &c.value, c.op),
                (
                    "createdDateTime",
                    Literal::Time(_),
                    Op::Ge | Op::Gt | Op::Le | Op::Lt
                ) | ("userPrincipalName", Literal::Text(_), Op::Eq)
            );
            if !ok {
                return Err(bad_request(&format!(
                    "Invalid filter clause: unsupported filter on '{}'.",
                    c.field
                )));
            }
        }
        let size = s.page_size(top(pairs, 1000)?, 1000);
        let offset = skip(pairs, "signins")?;
        let tenant = s.tenant();
        let matching: Vec<&SignIn> = tenant
            .sign_ins
            .iter()
            .filter(|e| {
                clauses.iter().all(|c| match &c.value {
                    Literal::Time(t) => odata::compare(&e.created, c.op, t),
                    Literal::Text(upn) => e.user_principal_name.eq_ignore_ascii_case(upn),
                    Literal::Bool(_) => false,
                })
            })
            .collect();
        let devices = tenant.device_index();
        let items: Vec<Value> = matching
            .iter()
            .enumerate()
            .skip(offset)
            .take(size)
            .map(|(i, e)| sign_in_json(&devices, e, i))
            .collect();
        Ok(page(
            &s,
            Collection {
                path: "/v1.0/auditLogs/signIns",
                context: "auditLogs/signIns",
                tag: "signins",
            },
            pairs,
            items,
            offset,
            matching.len(),
        ))
    })
}
