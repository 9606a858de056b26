//! API tokens on screen (`/account/tokens`): one's own listed with their last use, made (the
//! secret shown once, on the answer to the form, never again) and revoked; an administrator
//! sees every token and makes them for services. What a token may be, the service decides.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use steward_model::Register;
use steward_service::{ApiToken, Capacity, NewToken, Stamp, TokenAccess, TokenHolder};

use crate::pages::{Chrome, page};
use crate::{AppState, Signed, WebError, blocking};

/// How long a new token lives when the form does not say, and the choices it offers.
const DEFAULT_DAYS: i64 = 90;
const DAYS: [i64; 5] = [7, 30, 90, 180, 365];

struct TokenRow {
    id: String,
    name: String,
    holder: String,
    access: &'static str,
    registers: String,
    expires: String,
    last_used: String,
    state: &'static str,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    rows: Vec<TokenRow>,
    /// A token just made: its id and secret, shown this once.
    made: Option<(String, String)>,
    error: Option<String>,
    administrator: bool,
    registers: Vec<&'static str>,
    capacities: Vec<&'static str>,
    days: Vec<i64>,
    default_days: i64,
}

fn row(token: &ApiToken, zone: chrono_tz::Tz) -> TokenRow {
    let now = Utc::now();
    let when =
        |t: chrono::DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    TokenRow {
        id: token.id.clone(),
        name: token.name.clone(),
        holder: match &token.holder {
            TokenHolder::Person { email } => email.clone(),
            TokenHolder::Service { name, capacities } => format!(
                "service {name} ({})",
                capacities
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        access: token.access.as_str(),
        registers: if token.registers.is_empty() {
            "every register".to_owned()
        } else {
            token
                .registers
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        },
        expires: when(token.expires_at),
        last_used: token
            .last_used_at
            .map(when)
            .unwrap_or_else(|| "never".into()),
        state: if token.revoked_at.is_some() {
            "revoked"
        } else if token.expires_at <= now {
            "expired"
        } else {
            "live"
        },
        revocable: token.revoked_at.is_none() && token.expires_at > now,
    }
}

/// The page; with `error`, answered with the status `error` has (its form shown again).
async fn render(
    state: &AppState,
    signed: &Signed,
    made: Option<(String, String)>,
    error: Option<WebError>,
) -> Result<Response, WebError> {
    let status = error.as_ref().map(WebError::status);
    let error = error.map(|e| e.to_string());
    let stamp = Stamp::of(&signed.viewer);
    let tokens = blocking(state, move |s| s.tokens(&stamp)).await?;
    let zone = signed.zone;
    let mut response = page(&TokensPage {
        chrome: Chrome::signed(state, signed, "/account/tokens"),
        rows: tokens.iter().map(|t| row(t, zone)).collect(),
        made,
        error,
        administrator: signed.viewer.is(Capacity::Administrator),
        registers: crate::api::registers().map(Register::name).collect(),
        capacities: Capacity::ALL.iter().map(|c| c.as_str()).collect(),
        days: DAYS.to_vec(),
        default_days: DEFAULT_DAYS,
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
    render(&state, &signed, None, None).await
}

/// Makes a token: one's own, or (an administrator's, naming a service) a service's.
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let access = TokenAccess::parse(&form.get("access")).unwrap_or(TokenAccess::Read);
    let mut registers = Vec::new();
    for name in form.all("register") {
        match crate::api::registers().find(|r| r.name() == name) {
            Some(r) => registers.push(r),
            None => {
                let error = WebError::BadRequest(format!("register: {name:?} is not a register"));
                return render(&state, &signed, None, Some(error)).await;
            }
        }
    }
    let days = form
        .get("days")
        .parse::<i64>()
        .ok()
        .filter(|d| DAYS.contains(d))
        .unwrap_or(DEFAULT_DAYS);
    let service_name = form.get("service");
    let service = if service_name.trim().is_empty() {
        None
    } else {
        let mut capacities = std::collections::BTreeSet::new();
        for word in form.all("capacity") {
            match Capacity::ALL.into_iter().find(|c| c.as_str() == word) {
                Some(c) => {
                    capacities.insert(c);
                }
                None => {
                    let error =
                        WebError::BadRequest(format!("capacity: {word:?} is not a capacity"));
                    return render(&state, &signed, None, Some(error)).await;
                }
            }
        }
        Some((service_name.trim().to_owned(), capacities))
    };
    let new = NewToken {
        name: form.get("name").trim().to_owned(),
        service,
        access,
        registers,
        expires_at: Utc::now() + Duration::days(days),
    };
    let stamp = Stamp::of(&signed.viewer);
    match blocking(&state, move |s| s.create_token(&stamp, &new)).await {
        Ok((token, secret)) => render(&state, &signed, Some((token.id, secret)), None).await,
        // Refused or invalid: said on the page, beside the form, with the status it has.
        Err(e) if e.status().is_client_error() => render(&state, &signed, None, Some(e)).await,
        Err(e) => Err(e),
    }
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let id = form.get("id");
    let stamp = Stamp::of(&signed.viewer);
    blocking(&state, move |s| s.revoke_token(&stamp, &id)).await?;
    Ok(Redirect::to("/account/tokens").into_response())
}
