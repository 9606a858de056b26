//! Single sign-on's two legs in the browser: `POST /auth/{provider}` (from the sign-in page,
//! with its form token) sends the browser to the provider, with a cookie binding the attempt to
//! this browser; `GET /auth/{provider}/callback` comes back with `code` and `state`, and signs in
//! whom the service says it signs in. What is checked, and who signs in, is the service's.

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use steward_service::{SecondFactor, ServiceError, Sso};

use crate::session::{cookie, form_urlencoded_pairs, session_cookie, set_cookie};
use crate::signin::{check_form_token, login_page, read_form};
use crate::{AppState, WebError, blocking};

/// The cookie binding a sign-in sent to a provider to the browser that sent it.
fn binding_cookie(state: &AppState) -> &'static str {
    if state.options.secure_cookies {
        "__Host-steward_sso"
    } else {
        "steward_sso"
    }
}

fn provider(state: &AppState, word: &str) -> Result<std::sync::Arc<Sso>, WebError> {
    state
        .options
        .sso
        .iter()
        .find(|s| s.provider().as_str() == word)
        .cloned()
        .ok_or(WebError::NotFound)
}

/// Sends the browser to the provider.
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(word): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    let sso = provider(&state, &word)?;
    let posted = read_form(request).await?;
    check_form_token(&state, &posted)?;
    let label = sso.provider().label();
    let s = sso.clone();
    match blocking(&state, move |st| st.begin_sso(&s, Utc::now())).await {
        Ok(begun) => {
            let mut response = Redirect::to(&begun.url).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, binding_cookie(&state), Some(&begun.browser)),
            );
            Ok(response)
        }
        Err(WebError::Service(ServiceError::SignIn(refused))) => {
            tracing::warn!(provider = %sso.provider(), reason = %refused, "single sign-on cannot start");
            login_page(
                &state,
                &posted.headers,
                StatusCode::BAD_GATEWAY,
                format!(
                    "Sign-in with {label} is unavailable just now ({refused}); try again shortly."
                ),
            )
        }
        Err(e) => Err(e),
    }
}

/// The provider sends the browser back here.
pub(crate) async fn callback(
    State(state): State<AppState>,
    Path(word): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let sso = provider(&state, &word)?;
    let pairs = form_urlencoded_pairs(query.unwrap_or_default().as_bytes());
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let label = sso.provider().label();
    let browser = cookie(&headers, binding_cookie(&state));
    let state_value = get("state").unwrap_or_default();
    let outcome = match (get("error"), get("code")) {
        // The person cancelled, or the provider refused: the attempt is spent all the same.
        (Some(error), _) => {
            let s = state_value.clone();
            let spent = blocking(&state, move |st| st.abandon_sso(&s)).await;
            if let Err(e) = spent {
                tracing::warn!("cannot spend a refused sign-in: {e:?}");
            }
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            Err(format!("{label} did not sign you in ({error})."))
        }
        (None, Some(code)) => {
            let s = sso.clone();
            match blocking(&state, move |st| {
                st.finish_sso(&s, &state_value, &code, browser.as_deref(), Utc::now())
            })
            .await
            {
                Ok(signed) => Ok(signed),
                Err(WebError::Service(ServiceError::SignIn(refused))) => Err(refused.to_string()),
                Err(e) => return Err(e),
            }
        }
        (None, None) => Err(format!("{label} sent no sign-in code back.")),
    };
    let clear = set_cookie(&state, binding_cookie(&state), None);
    match outcome {
        Ok(signed) => {
            tracing::info!(provider = %sso.provider(), email = %signed.email, "signed in with single sign-on");
            let to = match signed.second_factor {
                None => "/",
                Some(SecondFactor::Code) => "/mfa",
                Some(SecondFactor::Enrol) => "/mfa/enrol",
            };
            let mut response = Redirect::to(to).into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, clear);
            headers.append(
                header::SET_COOKIE,
                set_cookie(&state, session_cookie(&state), Some(&signed.token)),
            );
            Ok(response)
        }
        Err(reason) => {
            tracing::info!(provider = %sso.provider(), reason = %reason, "single sign-on refused");
            let mut response = login_page(&state, &headers, StatusCode::UNAUTHORIZED, reason)?;
            response.headers_mut().append(header::SET_COOKIE, clear);
            Ok(response)
        }
    }
}
