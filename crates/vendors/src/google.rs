//! Google's OAuth 2.0 token endpoint (service account with domain-wide delegation) and the Admin
//! SDK Directory API (users, mobile devices, ChromeOS devices).

use crate::server::{
    Admitted, Credentials, Refusal, Shared, json, ok_json, page_token, param, query_pairs,
    read_page_token, with_header,
};
use crate::tenant::{CUSTOMER_ID, Device, DeviceKind, DeviceStatus, Os, Tenant, User, numeric_id};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, errors::ErrorKind};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

type S = State<Arc<Shared>>;

const USER_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/cloud-platform",
];
const MOBILE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.mobile",
];
const CHROMEOS_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.chromeos",
];

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/token", post(token))
        .route("/admin/directory/v1/users", get(users))
        .route(
            "/admin/directory/v1/customer/{customer}/devices/mobile",
            get(mobile_devices),
        )
        .route(
            "/admin/directory/v1/customer/{customer}/devices/chromeos",
            get(chromeos_devices),
        )
        .fallback(not_found)
}

/// Checks the service account's public key at server start.
pub(crate) fn check_credentials(credentials: &Credentials) -> Result<(), String> {
    match credentials {
        Credentials::Google { public_key_pem, .. } => {
            DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
                .map(|_| ())
                .map_err(|e| format!("the Google stand-in's public key does not parse: {e}"))
        }
        _ => Ok(()),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

// ---------------------------------------------------------------------------------------------
// Errors

/// The Directory API's error body, `{"error":{"code","message","errors":[{"message","domain",
/// "reason"}],"status"}}`. Google Workspace Admin SDK, "Directory API: Limits and Quotas" (codes
/// and reasons), https://developers.google.com/workspace/admin/directory/v1/limits, and Google
/// Cloud, "Errors" (the JSON error format), https://cloud.google.com/apis/design/errors
fn google_error(
    status: StatusCode,
    message: &str,
    reason: &str,
    domain: &str,
    state: &str,
    detail: &str,
) -> Response {
    json(
        status,
        &json!({
            "error": {
                "code": status.as_u16(),
                "message": message,
                "errors": [{ "message": detail, "domain": domain, "reason": reason }],
                "status": state
            }
        }),
    )
}

fn bad_request(detail: &str) -> Response {
    google_error(
        StatusCode::BAD_REQUEST,
        detail,
        "invalid",
        "global",
        "INVALID_ARGUMENT",
        detail,
    )
}

fn forbidden() -> Response {
    let m = "Not Authorized to access this resource/api";
    google_error(
        StatusCode::FORBIDDEN,
        m,
        "forbidden",
        "global",
        "PERMISSION_DENIED",
        m,
    )
}

fn invalid_credentials() -> Response {
    with_header(
        json(
            StatusCode::UNAUTHORIZED,
            &json!({
                "error": {
                    "code": 401,
                    "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    "errors": [{
                        "message": "Invalid Credentials",
                        "domain": "global",
                        "reason": "authError",
                        "location": "Authorization",
                        "locationType": "header"
                    }],
                    "status": "UNAUTHENTICATED"
                }
            }),
        ),
        "www-authenticate",
        "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
    )
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Missing => json(
            StatusCode::UNAUTHORIZED,
            &json!({
                "error": {
                    "code": 401,
                    "message": "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    "errors": [{
                        "message": "Login Required.",
                        "domain": "global",
                        "reason": "required",
                        "location": "Authorization",
                        "locationType": "header"
                    }],
                    "status": "UNAUTHENTICATED"
                }
            }),
        ),
        Refusal::Unknown | Refusal::Expired => invalid_credentials(),
        Refusal::Forbidden(_) => forbidden(),
        // "429 rateLimitExceeded … Retry using exponential back-off" (Limits and Quotas); no
        // Retry-After is promised.
        Refusal::RateLimited => google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'admin.googleapis.com'.",
            "rateLimitExceeded",
            "usageLimits",
            "RESOURCE_EXHAUSTED",
            "Rate Limit Exceeded",
        ),
        Refusal::ServerError => google_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error encountered.",
            "backendError",
            "global",
            "INTERNAL",
            "Internal error encountered.",
        ),
    }
}

async fn not_found() -> Response {
    google_error(
        StatusCode::NOT_FOUND,
        "Not Found",
        "notFound",
        "global",
        "NOT_FOUND",
        "Not Found",
    )
}

/// Runs a data handler behind the token, its scopes and the faults.
fn guarded(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    scopes: &[&str],
    answer: impl FnOnce(&[(String, String)]) -> Result<Value, Response>,
) -> Response {
    let admitted: Admitted = match shared.admit(headers, uri.path()) {
        Ok(a) => a,
        Err(r) => return refused(r),
    };
    if admitted.scopes.is_empty() {
        // A token for the service account itself (no `sub`): it administers nothing.
        return forbidden();
    }
    if !admitted.scopes.iter().any(|s| scopes.contains(&s.as_str())) {
        return google_error(
            StatusCode::FORBIDDEN,
            "Request had insufficient authentication scopes.",
            "insufficientPermissions",
            "global",
            "PERMISSION_DENIED",
            "Insufficient Permission",
        );
    }
    let pairs = query_pairs(uri.query());
    match answer(&pairs) {
        Ok(value) => ok_json(&admitted, &value),
        Err(response) => response,
    }
}

// ---------------------------------------------------------------------------------------------
// Token

#[derive(Debug, serde::Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    scope: Option<String>,
    aud: Option<Value>,
    exp: Option<i64>,
    iat: Option<i64>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

/// The token endpoint for a service account's signed JWT. Google Identity, "Using OAuth 2.0 for
/// Server to Server Applications", HTTP/REST: the JWT claim set (`iss`, `scope`, `aud`, `exp` at
/// most an hour after `iat`, `iat`, and `sub` for domain-wide delegation), the
/// `urn:ietf:params:oauth:grant-type:jwt-bearer` request, and the `{access_token, expires_in,
/// token_type}` response: https://developers.google.com/identity/protocols/oauth2/service-account
/// The refusals' texts are Google's as reported publicly (googleapis/google-cloud-python #10004,
/// hlavki/g-suite-identity-sync #7).
async fn token(State(shared): S, body: Bytes) -> Response {
    let Credentials::Google {
        public_key_pem,
        client_email,
        subject,
        scopes: delegated,
    } = &shared.credentials
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Unexpected.");
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    match param(&form, "grant_type") {
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {}
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Invalid grant_type: {}", other.unwrap_or("")),
            );
        }
    }
    let Some(assertion) = param(&form, "assertion") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    let Ok(key) = DecodingKey::from_rsa_pem(public_key_pem.as_bytes()) else {
        // Checked when the server started.
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_failure", "key");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    let claims = match decode::<Claims>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            let description = match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => {
                    "Invalid JWT Signature."
                }
                _ => "Invalid JWT: the assertion could not be parsed.",
            };
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
        }
    };
    if claims.iss.as_deref() != Some(client_email.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid grant: account not found",
        );
    }
    let audience = format!("{}/token", shared.base_url);
    let aud_ok = match &claims.aud {
        Some(Value::String(a)) => *a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience.as_str())),
        _ => false,
    };
    if !aud_ok {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            &format!("Invalid JWT: Failed audience check. The expected audience is {audience}."),
        );
    }
    let now = Utc::now().timestamp();
    let timely = match (claims.iat, claims.exp) {
        (Some(iat), Some(exp)) => iat <= now + 60 && exp > now && exp > iat && exp - iat <= 3600,
        _ => false,
    };
    if !timely {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    let requested: Vec<String> = claims
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if requested.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    }
    let granted = match claims.sub.as_deref() {
        // The service account acting as itself: a token, but no administrator's powers.
        None => Vec::new(),
        Some(sub) if sub.eq_ignore_ascii_case(subject) => {
            if requested.iter().any(|s| !delegated.contains(s)) {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized_client",
                    "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
                );
            }
            requested
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Invalid email or User ID",
            );
        }
    };
    let access_token = shared.issue("ya29.c.", granted);
    json(
        StatusCode::OK,
        &json!({ "access_token": access_token, "expires_in": 3599, "token_type": "Bearer" }),
    )
}

// ---------------------------------------------------------------------------------------------
// Paging helpers

fn max_results(pairs: &[(String, String)], max: usize) -> Result<Option<usize>, Response> {
    match param(pairs, "maxResults") {
        None => Ok(None),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad_request(&format!(
                "Invalid value '{v}'. Values must be within the range: [1, {max}]"
            ))),
        },
    }
}

fn offset(pairs: &[(String, String)], tag: &str) -> Result<usize, Response> {
    match param(pairs, "pageToken") {
        None | Some("") => Ok(0),
        Some(t) => read_page_token(tag, t).ok_or_else(|| bad_request("Invalid Input: pageToken")),
    }
}

fn etag(seed: &str) -> String {
    format!("\"{}\"", &numeric_id(seed)[1..13])
}

/// A list answer: `kind`, `etag`, the items under `field` (left out when there are none, as the
/// API does), `nextPageToken` while more remain.
fn listing(kind: &str, field: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("kind".to_string(), Value::String(kind.to_string()));
    out.insert(
        "etag".to_string(),
        Value::String(etag(&format!("{kind}{}", items.len()))),
    );
    if !items.is_empty() {
        out.insert(field.to_string(), Value::Array(items));
    }
    if let Some(next) = next {
        out.insert("nextPageToken".to_string(), Value::String(next));
    }
    Value::Object(out)
}

fn sort_order(pairs: &[(String, String)]) -> Result<bool, Response> {
    match param(pairs, "sortOrder")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("ASCENDING") => Ok(false),
        Some("DESCENDING") => Ok(true),
        Some(other) => Err(bad_request(&format!(
            "Invalid value for sortOrder: {other}"
        ))),
    }
}

fn customer_ok(customer: &str) -> bool {
    customer == "my_customer" || customer == CUSTOMER_ID
}

// ---------------------------------------------------------------------------------------------
// Users

/// A user. Admin SDK Directory API, "REST Resource: users" (the User resource),
/// https://developers.google.com/workspace/admin/directory/reference/rest/v1/users
fn user_json(u: &User, index: &HashMap<&str, &User>, deleted: Option<DateTime<Utc>>) -> Value {
    let mut emails = vec![json!({ "address": u.email, "primary": true })];
    emails.extend(u.aliases.iter().map(|a| json!({ "address": a })));
    let manager = u
        .manager_id
        .as_deref()
        .and_then(|id| index.get(id))
        .map(|m| vec![json!({ "value": m.email, "type": "manager" })])
        .unwrap_or_default();
    let mut user = json!({
        "kind": "admin#directory#user",
        "id": numeric_id(&u.id),
        "etag": etag(&format!("{}{}", u.id, u.last_modified.timestamp_micros())),
        "primaryEmail": u.email,
        "name": {
            "givenName": u.given_name,
            "familyName": u.family_name,
            "fullName": u.display_name
        },
        "isAdmin": u.admin,
        "isDelegatedAdmin": false,
        // "The last time the user logged into the user's account … 1970-01-01T00:00:00.000Z"
        // for never.
        "lastLoginTime": u.last_sign_in.map(time).unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string()),
        "creationTime": time(u.created),
        "agreedToTerms": u.last_sign_in.is_some(),
        "suspended": !u.enabled,
        "archived": u.archived,
        "changePasswordAtNextLogin": false,
        "ipWhitelisted": false,
        "emails": emails,
        "aliases": u.aliases,
        "externalIds": u.employee_id.as_ref().map(|e| vec![json!({ "value": e, "type": "organization" })]).unwrap_or_default(),
        "relations": manager,
        "organizations": [{
            "title": u.job_title,
            "primary": true,
            "customType": "",
            "department": u.department,
        }],
        "customerId": CUSTOMER_ID,
        "orgUnitPath": u.org_unit_path,
        "isMailboxSetup": true,
        "isEnrolledIn2Sv": u.mfa_registered,
        "isEnforcedIn2Sv": u.admin,
        "includeInGlobalAddressList": true
    });
    if !u.enabled {
        user["suspensionReason"] = json!("ADMIN");
    }
    if u.aliases.is_empty()
        && let Some(map) = user.as_object_mut()
    {
        map.remove("aliases");
    }
    if let Some(at) = deleted {
        user["deletionTime"] = json!(time(at));
    }
    user
}

/// One `query` term this stand-in understands: `isSuspended=`, `isAdmin=`, `isEnrolledIn2Sv=`,
/// `isEnforcedIn2Sv=`, `isArchived=` (booleans), `orgUnitPath=` (quoted or not, the unit and its
/// children), `email:` (a prefix when ending in `*`). Admin SDK Directory API, "Search for users",
/// https://developers.google.com/workspace/admin/directory/v1/guides/search-users
fn matches_query(u: &User, query: &str) -> Result<bool, Response> {
    for term in query.split_whitespace() {
        let (field, value) = match term.split_once('=') {
            Some(fv) => fv,
            None => match term.split_once(':') {
                Some(fv) => fv,
                None => return Err(bad_request("Invalid Input")),
            },
        };
        let value = value.trim_matches('\'').trim_matches('"');
        let flag = |b: bool| -> Result<bool, Response> {
            match value {
                "true" => Ok(b),
                "false" => Ok(!b),
                _ => Err(bad_request("Invalid Input")),
            }
        };
        let ok = match field {
            "isSuspended" => flag(!u.enabled)?,
            "isAdmin" => flag(u.admin)?,
            "isEnrolledIn2Sv" => flag(u.mfa_registered)?,
            "isEnforcedIn2Sv" => flag(u.admin)?,
            "isArchived" => flag(u.archived)?,
            "orgUnitPath" => {
                u.org_unit_path == value
                    || u.org_unit_path
                        .starts_with(&format!("{}/", value.trim_end_matches('/')))
            }
            "email" => match value.strip_suffix('*') {
                Some(prefix) => u.email.starts_with(&prefix.to_ascii_lowercase()),
                None => u.email.eq_ignore_ascii_case(value),
            },
            _ => return Err(bad_request("Invalid Input")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// users.list. Admin SDK Directory API, "Method: users.list",
/// https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/list —
/// `customer` or `domain` (one is required), `maxResults` 1–500 (default 100), `pageToken`,
/// `projection`, `orderBy` (`email`, `familyName`, `givenName`), `sortOrder`, `query`,
/// `showDeleted`, `viewType`; the response `{kind: "admin#directory#users", etag, users,
/// nextPageToken}`. The method has no modified-since parameter, so none is offered here.
async fn users(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, USER_SCOPES, move |pairs| {
        let tenant: std::sync::MutexGuard<'_, Tenant> = s.tenant();
        match (param(pairs, "customer"), param(pairs, "domain")) {
            (None, None) => {
                return Err(google_error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request",
                    "badRequest",
                    "global",
                    "INVALID_ARGUMENT",
                    "Bad Request",
                ));
            }
            (Some(c), _) if !customer_ok(c) => {
                return Err(google_error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request",
                    "badRequest",
                    "global",
                    "INVALID_ARGUMENT",
                    "Bad Request",
                ));
            }
            (None, Some(d)) if !d.eq_ignore_ascii_case(&tenant.domain) => return Err(forbidden()),
            _ => {}
        }
        if param(pairs, "event").is_some() {
            return Err(bad_request("event is only for users.watch"));
        }
        match param(pairs, "projection")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("basic") | Some("full") => {}
            Some("custom") if param(pairs, "customFieldMask").is_some() => {}
            Some(_) => return Err(bad_request("Invalid Input: projection")),
        }
        let size = s.page_size(max_results(pairs, 500)?, 500);
        let start = offset(pairs, "gusers")?;
        let descending = sort_order(pairs)?;
        let query = param(pairs, "query").unwrap_or("");
        let index = tenant.user_index();
        let show_deleted = param(pairs, "showDeleted") == Some("true");
        let mut chosen: Vec<(&User, Option<DateTime<Utc>>)> = if show_deleted {
            tenant
                .deleted_users
                .iter()
                .map(|d| (&d.user, Some(d.deleted)))
                .collect()
        } else {
            let mut out = Vec::new();
            for u in &tenant.users {
                if matches_query(u, query)? {
                    out.push((u, None));
                }
            }
            out
        };
        match param(pairs, "orderBy") {
            None => {}
            Some("email") => chosen.sort_by(|a, b| a.0.email.cmp(&b.0.email)),
            Some("familyName") => chosen.sort_by(|a, b| {
                a.0.family_name
                    .cmp(&b.0.family_name)
                    .then(a.0.email.cmp(&b.0.email))
            }),
            Some("givenName") => chosen.sort_by(|a, b| {
                a.0.given_name
                    .cmp(&b.0.given_name)
                    .then(a.0.email.cmp(&b.0.email))
            }),
            Some(other) => return Err(bad_request(&format!("Invalid value for orderBy: {other}"))),
        }
        if descending {
            chosen.reverse();
        }
        let items: Vec<Value> = chosen
            .iter()
            .skip(start)
            .take(size)
            .map(|(u, deleted)| user_json(u, &index, *deleted))
            .collect();
        let next =
            (start + items.len() < chosen.len()).then(|| page_token("gusers", start + items.len()));
        Ok(listing("admin#directory#users", "users", items, next))
    })
}

// ---------------------------------------------------------------------------------------------
// Mobile devices

fn in_google_mobile(d: &Device) -> bool {
    matches!(d.os, Os::Ios | Os::Android)
        && matches!(d.kind, DeviceKind::Phone | DeviceKind::Tablet)
}

/// A mobile device. Admin SDK Directory API, "REST Resource: mobiledevices",
/// https://developers.google.com/workspace/admin/directory/reference/rest/v1/mobiledevices, and
/// the example in "Directory API: Mobile Devices",
/// https://developers.google.com/workspace/admin/directory/v1/guides/manage-mobile-devices
fn mobile_json(d: &Device, holder: Option<&User>) -> Value {
    let status = match d.status {
        DeviceStatus::InUse | DeviceStatus::Repair => "APPROVED",
        DeviceStatus::Lost => "BLOCKED",
        DeviceStatus::Retired => "WIPED",
    };
    json!({
        "kind": "admin#directory#mobiledevice",
        "etag": etag(&format!("{}{}", d.id, d.last_modified.timestamp_micros())),
        "resourceId": d.id,
        "deviceId": d.directory_id,
        "name": holder.map(|u| vec![u.display_name.clone()]).unwrap_or_default(),
        "email": holder.map(|u| vec![u.email.clone()]).unwrap_or_default(),
        "model": d.model,
        "os": match d.os { Os::Ios => format!("iOS {}", d.os_version), _ => format!("Android {}", d.os_version) },
        "type": if d.os == Os::Ios { "IOS_SYNC" } else { "ANDROID" },
        "status": status,
        "hardwareId": d.serial,
        "serialNumber": d.serial,
        "imei": d.imei.clone().unwrap_or_default(),
        "meid": "",
        "firstSync": time(d.enrolled),
        "lastSync": d.last_sync.map(time).unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string()),
        "userAgent": if d.os == Os::Ios { "Google Device Policy iOS" } else { "Android Device Policy 17.42" },
        "manufacturer": d.manufacturer,
        "brand": d.manufacturer,
        "releaseVersion": d.os_version,
        "securityPatchLevel": if d.os == Os::Android { "1717200000000" } else { "0" },
        "encryptionStatus": if d.encrypted { "Encrypted" } else { "Not encrypted" },
        "devicePasswordStatus": if d.compliance == crate::tenant::Compliance::Noncompliant { "Off" } else { "On" },
        "deviceCompromisedStatus": "No compromise detected",
        "managedAccountIsOnOwnerProfile": d.owner == crate::tenant::Ownership::Company,
        "privilege": if d.owner == crate::tenant::Ownership::Company { "DEVICE_OWNER" } else { "PROFILE_OWNER" },
        "supportsWorkProfile": d.os == Os::Android,
        "networkOperator": if d.kind == DeviceKind::Phone { "EE" } else { "" }
    })
}

/// mobiledevices.list. Admin SDK Directory API, "Method: mobiledevices.list",
/// https://developers.google.com/workspace/admin/directory/reference/rest/v1/mobiledevices/list —
/// `maxResults` (default 100, at most 100), `pageToken`, `projection`, `orderBy`, `sortOrder`;
/// the response `{kind: "admin#directory#mobiledevices", etag, mobiledevices, nextPageToken}`.
async fn mobile_devices(
    State(shared): S,
    Path(customer): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, MOBILE_SCOPES, move |pairs| {
        if !customer_ok(&customer) {
            return Err(forbidden());
        }
        if param(pairs, "query").is_some_and(|q| !q.is_empty()) {
            return Err(bad_request(
                "Invalid Input: query is not supported by this stand-in",
            ));
        }
        let size = s.page_size(max_results(pairs, 100)?, 100);
        let start = offset(pairs, "gmobile")?;
        let descending = sort_order(pairs)?;
        let tenant = s.tenant();
        let index = tenant.user_index();
        let mut chosen: Vec<(&Device, Option<&User>)> = tenant
            .devices
            .iter()
            .filter(|d| in_google_mobile(d))
            .map(|d| {
                (
                    d,
                    d.user_id.as_deref().and_then(|id| index.get(id).copied()),
                )
            })
            .collect();
        let key = |(d, u): &(&Device, Option<&User>), field: &str| -> String {
            match field {
                "deviceId" => d.directory_id.clone(),
                "email" => u.map(|u| u.email.clone()).unwrap_or_default(),
                "lastSync" => d.last_sync.map(time).unwrap_or_default(),
                "model" => d.model.clone(),
                "name" => u.map(|u| u.display_name.clone()).unwrap_or_default(),
                "os" => format!("{}{}", d.os.name(), d.os_version),
                "status" => format!("{:?}", d.status),
                _ => {
                    if d.os == Os::Ios {
                        "IOS_SYNC".into()
                    } else {
                        "ANDROID".into()
                    }
                }
            }
        };
        if let Some(field) = param(pairs, "orderBy") {
            if ![
                "deviceId", "email", "lastSync", "model", "name", "os", "status", "type",
            ]
            .contains(&field)
            {
                return Err(bad_request(&format!("Invalid value for orderBy: {field}")));
            }
            chosen.sort_by_key(|x| key(x, field));
        }
        if descending {
            chosen.reverse();
        }
        let items: Vec<Value> = chosen
            .iter()
            .skip(start)
            .take(size)
            .map(|(d, u)| mobile_json(d, *u))
            .collect();
        let next = (start + items.len() < chosen.len())
            .then(|| page_token("gmobile", start + items.len()));
        Ok(listing(
            "admin#directory#mobiledevices",
            "mobiledevices",
            items,
            next,
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// ChromeOS devices

/// A ChromeOS device. Admin SDK Directory API, "REST Resource: chromeosdevices",
/// https://developers.google.com/workspace/admin/directory/reference/rest/v1/chromeosdevices
fn chromeos_json(d: &Device, holder: Option<&User>) -> Value {
    let status = match d.status {
        DeviceStatus::InUse | DeviceStatus::Repair => "ACTIVE",
        DeviceStatus::Lost => "DISABLED",
        DeviceStatus::Retired => "DEPROVISIONED",
    };
    json!({
        "kind": "admin#directory#chromeosdevice",
        "etag": etag(&format!("{}{}", d.id, d.last_modified.timestamp_micros())),
        "deviceId": d.id,
        "serialNumber": d.serial,
        "status": status,
        "lastSync": d.last_sync.map(time).unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string()),
        "lastEnrollmentTime": time(d.enrolled),
        "annotatedUser": holder.map(|u| u.email.as_str()).unwrap_or(""),
        "annotatedAssetId": d.asset_tag.clone().unwrap_or_default(),
        "annotatedLocation": "",
        "notes": "",
        "model": d.model,
        "osVersion": d.os_version,
        "platformVersion": "15886.44.0 (Official Build) stable-channel",
        "firmwareVersion": "Google_Zork.13434.780.0",
        "bootMode": "Verified",
        "orgUnitPath": "/Chromebooks",
        "recentUsers": holder.map(|u| vec![json!({ "type": "USER_TYPE_MANAGED", "email": u.email })]).unwrap_or_default(),
        "supportEndDate": "2032-06-01T00:00:00.000Z",
        "autoUpdateThrough": "2032-06-01T00:00:00.000Z",
        "deviceLicenseType": "enterpriseUpgradePerpetual"
    })
}

/// chromeosdevices.list. Admin SDK Directory API, "Method: chromeosdevices.list",
/// https://developers.google.com/workspace/admin/directory/reference/rest/v1/chromeosdevices/list —
/// `maxResults` (default 100), `pageToken`, `orderBy`, `sortOrder`, `orgUnitPath`, `projection`;
/// the response `{kind: "admin#directory#chromeosdevices", etag, chromeosdevices, nextPageToken}`.
async fn chromeos_devices(
    State(shared): S,
    Path(customer): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, CHROMEOS_SCOPES, move |pairs| {
        if !customer_ok(&customer) {
            return Err(forbidden());
        }
        if param(pairs, "query").is_some_and(|q| !q.is_empty()) {
            return Err(bad_request(
                "Invalid Input: query is not supported by this stand-in",
            ));
        }
        let size = s.page_size(max_results(pairs, 300)?, 300);
        let start = offset(pairs, "gchrome")?;
        let descending = sort_order(pairs)?;
        let unit = param(pairs, "orgUnitPath");
        let tenant = s.tenant();
        let index = tenant.user_index();
        let mut chosen: Vec<(&Device, Option<&User>)> = tenant
            .devices
            .iter()
            .filter(|d| d.os == Os::ChromeOs)
            .filter(|_| unit.is_none_or(|u| u == "/Chromebooks" || u == "/"))
            .map(|d| {
                (
                    d,
                    d.user_id.as_deref().and_then(|id| index.get(id).copied()),
                )
            })
            .collect();
        if let Some(field) = param(pairs, "orderBy") {
            let key = |(d, u): &(&Device, Option<&User>)| -> String {
                match field {
                    "annotatedUser" => u.map(|u| u.email.clone()).unwrap_or_default(),
                    "lastSync" => d.last_sync.map(time).unwrap_or_default(),
                    "serialNumber" => d.serial.clone(),
                    "status" => format!("{:?}", d.status),
                    _ => String::new(),
                }
            };
            if ![
                "annotatedLocation",
                "annotatedUser",
                "lastSync",
                "notes",
                "serialNumber",
                "status",
                "supportEndDate",
            ]
            .contains(&field)
            {
                return Err(bad_request(&format!("Invalid value for orderBy: {field}")));
            }
            chosen.sort_by_key(key);
        }
        if descending {
            chosen.reverse();
        }
        let items: Vec<Value> = chosen
            .iter()
            .skip(start)
            .take(size)
            .map(|(d, u)| chromeos_json(d, *u))
            .collect();
        let next = (start + items.len() < chosen.len())
            .then(|| page_token("gchrome", start + items.len()));
        Ok(listing(
            "admin#directory#chromeosdevices",
            "chromeosdevices",
            items,
            next,
        ))
    })
}
