//! Snipe-IT's API: the hardware (assets) list.
//!
//! Shapes are those of Snipe-IT's own code (snipe/snipe-it at 5aa5c480, 2025-05-23):
//! `app/Http/Transformers/AssetsTransformer.php` and `DatatablesTransformer.php` for the list,
//! `app/Http/Controllers/Api/AssetsController.php@index` for its parameters,
//! `app/Providers/SettingsServiceProvider.php` for `limit`/`offset`, and
//! `app/Exceptions/Handler.php` for the 401 and 429 answers. API reference:
//! <https://snipe-it.readme.io/reference/hardware-list>

use crate::server::{Admitted, Refusal, Shared, json, ok_json, param, query_pairs, with_header};
use crate::tenant::{Device, DeviceKind, DeviceStatus, Ownership, Tenant, User};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

type S = State<Arc<Shared>>;

/// `config('app.api_throttle_per_minute')`'s default.
const THROTTLE_PER_MINUTE: u32 = 120;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/hardware", get(hardware))
        .fallback(not_found)
}

/// `Helper::formatStandardApiResponse`: `{status, messages, payload}`.
fn standard(status: &str, messages: &str) -> Value {
    json!({ "status": status, "messages": messages, "payload": null })
}

async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &standard("error", "404 endpoint not found"),
    )
}

/// Whether Laravel's `expectsJson()` holds: an `Accept` naming JSON, or an XHR.
fn expects_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("/json")
        || accept.contains("+json")
        || headers
            .get("x-requested-with")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("XMLHttpRequest"))
}

fn refused(shared: &Shared, headers: &HeaderMap, refusal: Refusal) -> Response {
    match refusal {
        // Handler::unauthenticated: JSON for a client that expects it, else the login page.
        Refusal::Missing | Refusal::Unknown | Refusal::Expired => {
            if expects_json(headers) {
                json(
                    StatusCode::UNAUTHORIZED,
                    &json!({ "error": "Unauthorized or unauthenticated." }),
                )
            } else {
                let mut r = (StatusCode::FOUND, "").into_response();
                if let Ok(v) = format!("{}/login", shared.base_url).parse() {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            }
        }
        // An AuthorizationException, rendered by Laravel's default JSON handler.
        Refusal::Forbidden(_) => json(
            StatusCode::FORBIDDEN,
            &json!({ "message": "This action is unauthorized." }),
        ),
        // Handler::render, case '429', with the throttle middleware's headers.
        Refusal::RateLimited => {
            let r = json(
                StatusCode::TOO_MANY_REQUESTS,
                &standard("error", "Too many requests"),
            );
            let r = with_header(r, "retry-after", "1");
            let r = with_header(r, "x-ratelimit-limit", &THROTTLE_PER_MINUTE.to_string());
            with_header(r, "x-ratelimit-remaining", "0")
        }
        Refusal::ServerError => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "message": "Server Error" }),
        ),
    }
}

fn in_snipe(d: &Device) -> bool {
    d.owner == Ownership::Company && d.asset_tag.is_some()
}

/// A status label: (id, name, status_type).
fn status_label(d: &Device) -> (u32, &'static str, &'static str) {
    match d.status {
        DeviceStatus::InUse => (1, "Ready to Deploy", "deployable"),
        DeviceStatus::Repair => (4, "Out for Repair", "undeployable"),
        DeviceStatus::Lost => (7, "Lost/Stolen", "archived"),
        DeviceStatus::Retired => (3, "Archived", "archived"),
    }
}

fn assigned(d: &Device, holder: Option<&User>) -> Option<&'static str> {
    (holder.is_some() && d.status == DeviceStatus::InUse).then_some("deployed")
}

/// `Helper::getFormattedDateObject` with Snipe-IT's default display settings (`Y-m-d`,
/// `h:i A`).
fn datetime_object(t: DateTime<Utc>) -> Value {
    json!({
        "datetime": t.format("%Y-%m-%d %H:%M:%S").to_string(),
        "formatted": t.format("%Y-%m-%d %I:%M %p").to_string()
    })
}

fn date_object(d: NaiveDate) -> Value {
    json!({ "date": d.format("%Y-%m-%d").to_string(), "formatted": d.format("%Y-%m-%d").to_string() })
}

/// `Helper::formatCurrencyOutput`: `number_format($cost, 2, '.', ',')`.
fn currency(pence: i64) -> String {
    let pounds = (pence / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", pence % 100)
}

/// Carbon's `diffForHumans` in English, roughly.
fn age(purchase: NaiveDate, now: DateTime<Utc>) -> String {
    let days = (now.date_naive() - purchase).num_days().max(0);
    let (n, unit) = if days >= 365 {
        (days / 365, "year")
    } else if days >= 30 {
        (days / 30, "month")
    } else {
        (days, "day")
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

fn ids(names: BTreeSet<String>) -> HashMap<String, u32> {
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, i as u32 + 1))
        .collect()
}

fn category(kind: DeviceKind) -> (u32, &'static str) {
    match kind {
        DeviceKind::Laptop => (1, "Laptops"),
        DeviceKind::Desktop => (2, "Desktops"),
        DeviceKind::Phone => (3, "Mobile Phones"),
        DeviceKind::Tablet => (4, "Tablets"),
        DeviceKind::Chromebook => (5, "Chromebooks"),
    }
}

struct Lookups<'a> {
    users: HashMap<&'a str, &'a User>,
    models: HashMap<String, u32>,
    manufacturers: HashMap<String, u32>,
}

/// One asset as `AssetsTransformer::transformAsset` renders it.
fn asset_json(d: &Device, tenant: &Tenant, l: &Lookups) -> Value {
    let holder = d.user_id.as_deref().and_then(|id| l.users.get(id).copied());
    let (status_id, status_name, status_type) = status_label(d);
    let status_meta = assigned(d, holder).unwrap_or(status_type);
    let checked_out = status_meta == "deployed";
    let (category_id, category_name) = category(d.kind);
    let assigned_to = holder.filter(|_| checked_out).map(|u| {
        json!({
            "id": u.number,
            "username": u.email.split('@').next().unwrap_or(""),
            "name": u.display_name,
            "first_name": u.given_name,
            "last_name": u.family_name,
            "email": u.email,
            "employee_number": u.employee_id,
            "type": "user"
        })
    });
    let archived = status_type == "archived";
    json!({
        "id": d.number,
        "name": d.name,
        "asset_tag": d.asset_tag,
        "serial": d.serial,
        "model": { "id": l.models.get(&d.model).copied().unwrap_or(0), "name": d.model },
        "byod": false,
        "requestable": false,
        "model_number": d.model_identifier,
        "eol": null,
        "asset_eol_date": null,
        "status_label": {
            "id": status_id,
            "name": status_name,
            "status_type": status_type,
            "status_meta": status_meta
        },
        "category": { "id": category_id, "name": category_name },
        "manufacturer": { "id": l.manufacturers.get(&d.manufacturer).copied().unwrap_or(0), "name": d.manufacturer },
        "supplier": null,
        "notes": null,
        "order_number": null,
        "company": null,
        "location": null,
        "rtd_location": null,
        "image": null,
        "qr": null,
        "alt_barcode": null,
        "assigned_to": assigned_to,
        "warranty_months": null,
        "warranty_expires": null,
        "created_by": { "id": 1, "name": "Admin User" },
        "created_at": datetime_object(d.enrolled),
        "updated_at": datetime_object(d.last_modified),
        "last_audit_date": null,
        "next_audit_date": null,
        "deleted_at": null,
        "purchase_date": d.purchase_date.map(date_object),
        "age": d.purchase_date.map(|p| age(p, tenant.now)).unwrap_or_default(),
        "last_checkout": if checked_out { datetime_object(d.enrolled) } else { Value::Null },
        "last_checkin": null,
        "expected_checkin": null,
        "purchase_cost": d.purchase_cost_pence.map(currency),
        "checkin_counter": 0,
        "checkout_counter": if checked_out { 1 } else { 0 },
        "requests_counter": 0,
        "user_can_checkout": !checked_out && !archived,
        "book_value": d.purchase_cost_pence.map(currency),
        "custom_fields": {},
        "available_actions": {
            "checkout": true,
            "checkin": true,
            "clone": true,
            "restore": false,
            "update": true,
            "audit": true,
            "delete": !checked_out
        }
    })
}

/// GET /api/v1/hardware: `limit` (0 < limit ≤ the maximum, else the maximum), `offset`,
/// `sort` (an allowed column, else `created_at`), `order` (`asc`, else `desc`), `status`,
/// `search`; the answer `{total, rows}`.
async fn hardware(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let admitted: Admitted = match shared.admit(&headers, uri.path()) {
        Ok(a) => a,
        Err(r) => return refused(&shared, &headers, r),
    };
    let pairs = query_pairs(uri.query());
    let tenant = shared.tenant();
    let lookups = Lookups {
        users: tenant.user_index(),
        models: ids(tenant.devices.iter().map(|d| d.model.clone()).collect()),
        manufacturers: ids(tenant
            .devices
            .iter()
            .map(|d| d.manufacturer.clone())
            .collect()),
    };
    let search = param(&pairs, "search").map(str::to_ascii_lowercase);
    let status = param(&pairs, "status");
    let mut chosen: Vec<&Device> = tenant
        .devices
        .iter()
        .filter(|d| in_snipe(d))
        .filter(|d| {
            let (_, _, kind) = status_label(d);
            let holder = d
                .user_id
                .as_deref()
                .and_then(|id| lookups.users.get(id).copied());
            match status {
                Some("Archived") => kind == "archived",
                Some("Deployed") => assigned(d, holder).is_some(),
                Some("RTD") => kind == "deployable" && assigned(d, holder).is_none(),
                Some("Undeployable") => kind == "undeployable",
                // Archived assets stay out of the default list (show_archived_in_list off).
                _ => kind != "archived",
            }
        })
        .filter(|d| {
            search.as_deref().is_none_or(|q| {
                d.name.to_ascii_lowercase().contains(q)
                    || d.serial.to_ascii_lowercase().contains(q)
                    || d.asset_tag
                        .as_deref()
                        .is_some_and(|t| t.to_ascii_lowercase().contains(q))
            })
        })
        .collect();
    let descending = param(&pairs, "order") != Some("asc");
    // An unknown column sorts by created_at, as AssetsController does (the match below).
    let column = param(&pairs, "sort").unwrap_or("created_at");
    chosen.sort_by(|a, b| {
        let o = match column {
            "id" => a.number.cmp(&b.number),
            "name" => a.name.cmp(&b.name),
            "asset_tag" => a.asset_tag.cmp(&b.asset_tag),
            "serial" => a.serial.cmp(&b.serial),
            "purchase_date" => a.purchase_date.cmp(&b.purchase_date),
            "purchase_cost" => a.purchase_cost_pence.cmp(&b.purchase_cost_pence),
            "updated_at" => a.last_modified.cmp(&b.last_modified),
            _ => a.enrolled.cmp(&b.enrolled),
        }
        .then(a.number.cmp(&b.number));
        if descending { o.reverse() } else { o }
    });
    let max = shared.faults.page_size.max(1);
    let limit = match param(&pairs, "limit").and_then(|l| l.parse::<i64>().ok()) {
        Some(l) if l.unsigned_abs() > 0 && l.unsigned_abs() as usize <= max => {
            l.unsigned_abs() as usize
        }
        _ => max,
    };
    let total = chosen.len();
    let offset = param(&pairs, "offset")
        .and_then(|o| o.parse::<i64>().ok())
        .map(|o| o.unsigned_abs() as usize)
        .unwrap_or(0)
        .min(total);
    let rows: Vec<Value> = chosen
        .iter()
        .skip(offset)
        .take(limit)
        .map(|d| asset_json(d, &tenant, &lookups))
        .collect();
    ok_json(&admitted, &json!({ "total": total, "rows": rows }))
}
