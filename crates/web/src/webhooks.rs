//! Webhooks on screen (`/admin/webhooks`, administrators): every subscription with whether it
//! is on and why not, a form to subscribe a URL to events (its signing secret shown once, on the
//! answer), turning one on or off, and one webhook's latest deliveries with what its receiver
//! answered. What may be subscribed, and where to, the service decides, as for the API.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use steward_service::{Stamp, WEBHOOK_EVENTS, Webhook};

use crate::pages::{Chrome, page};
use crate::{AppState, Signed, WebError, blocking};

/// Deliveries shown on a webhook's page.
const DELIVERIES_SHOWN: u64 = 100;

struct HookRow {
    id: String,
    url: String,
    events: String,
    on: bool,
    failures: i64,
    reason: String,
    created: String,
}

fn hook_row(hook: &Webhook, zone: chrono_tz::Tz) -> HookRow {
    HookRow {
        id: hook.id.clone(),
        url: hook.url.clone(),
        events: hook.events.join(", "),
        on: hook.enabled,
        failures: hook.failures,
        reason: hook.disabled_reason.clone().unwrap_or_default(),
        created: hook
            .created_at
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    rows: Vec<HookRow>,
    /// A webhook just made: its id and secret, shown this once.
    made: Option<(String, String)>,
    error: Option<String>,
    /// Every event, and whether it was ticked on a refused form.
    events: Vec<(&'static str, bool)>,
    url: String,
}

struct DeliveryView {
    id: String,
    event: String,
    created: String,
    state: String,
    attempts: i64,
    next: String,
    status: String,
    response: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    chrome: Chrome,
    hook: HookRow,
    deliveries: Vec<DeliveryView>,
}

/// The list; with `error`, answered with its status, the form as it was posted.
async fn render(
    state: &AppState,
    signed: &Signed,
    made: Option<(String, String)>,
    error: Option<WebError>,
    posted: (String, Vec<String>),
) -> Result<Response, WebError> {
    let status = error.as_ref().map(WebError::status);
    let error = error.map(|e| e.to_string());
    let stamp = Stamp::of(&signed.viewer);
    let hooks = blocking(state, move |s| s.webhooks(&stamp)).await?;
    let zone = signed.zone;
    let (url, ticked) = posted;
    let mut response = page(&WebhooksPage {
        chrome: Chrome::signed(state, signed, "/admin/webhooks"),
        rows: hooks.iter().map(|h| hook_row(h, zone)).collect(),
        made,
        error,
        events: WEBHOOK_EVENTS
            .iter()
            .map(|e| (*e, ticked.iter().any(|t| t == e)))
            .collect(),
        url,
    })?;
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    Ok(response)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    render(&state, &signed, None, None, Default::default()).await
}

/// Subscribes a URL (`act=add`, with `url` and each `event`), or turns one on or off
/// (`act=enable|disable`, with `id`).
pub(crate) async fn change(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let stamp = Stamp::of(&signed.viewer);
    match form.get("act").as_str() {
        "add" => {
            let url = form.get("url").trim().to_owned();
            let events: Vec<String> = form.all("event").map(str::to_owned).collect();
            let allow_private = state.options.jobs.webhooks_allow_private;
            let (u, e) = (url.clone(), events.clone());
            match blocking(&state, move |s| {
                s.subscribe_webhook(&stamp, &u, &e, allow_private)
            })
            .await
            {
                Ok((hook, secret)) => {
                    render(
                        &state,
                        &signed,
                        Some((hook.id, secret)),
                        None,
                        Default::default(),
                    )
                    .await
                }
                Err(e) if e.status().is_client_error() => {
                    render(&state, &signed, None, Some(e), (url, events)).await
                }
                Err(e) => Err(e),
            }
        }
        act @ ("enable" | "disable") => {
            let id = form.get("id");
            let on = act == "enable";
            blocking(&state, move |s| s.set_webhook_enabled(&stamp, &id, on)).await?;
            Ok(Redirect::to("/admin/webhooks").into_response())
        }
        other => Err(WebError::BadRequest(format!(
            "act: {other:?} is not add, enable or disable"
        ))),
    }
}

/// One webhook's latest deliveries, newest first.
pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let stamp = Stamp::of(&signed.viewer);
    let wanted = id.clone();
    let (hook, deliveries) = blocking(&state, move |s| {
        let deliveries = s.webhook_deliveries(&stamp, &wanted, DELIVERIES_SHOWN)?;
        let hook = s.webhooks(&stamp)?.into_iter().find(|h| h.id == wanted);
        Ok((hook, deliveries))
    })
    .await?;
    let hook = hook.ok_or(WebError::NotFound)?;
    let zone = signed.zone;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    page(&WebhookPage {
        chrome: Chrome::signed(&state, &signed, "/admin/webhooks"),
        hook: hook_row(&hook, zone),
        deliveries: deliveries
            .iter()
            .map(|d| DeliveryView {
                id: d.id.clone(),
                event: d.event.clone(),
                created: when(d.created_at),
                state: d.state.clone(),
                attempts: d.attempts,
                next: d.next_attempt_at.map(when).unwrap_or_default(),
                status: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                response: d
                    .last_response
                    .as_deref()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect(),
            })
            .collect(),
    })
}
