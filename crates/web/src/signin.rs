//! First-run set-up, sign-in, the second factor (enrolment with a QR code and recovery codes, or
//! a code), and signing out. Guesses are throttled per account at an address, per address, and
//! (slowed, never refused) per account; each is counted before it is checked.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use steward_auth::{GuessKey, Over};
use steward_service::{Guess, SecondFactor, ServiceError, SignInRefused, Stamp};
use steward_store::Session;

use crate::forms::{Errors, Input, Refusal};
use crate::pages::Chrome;
use crate::session::{
    client_addr, cookie, form_cookie, form_urlencoded_pairs, session_cookie, session_csrf,
    set_cookie,
};
use crate::{AppState, WebError, blocking};

/// The largest sign-in form read.
const FORM_LIMIT: usize = 16 * 1024;
/// What the pre-sign-in CSRF token is bound to, beside its cookie.
const FORM_PURPOSE: &str = "steward sign-in form";

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    chrome: Chrome,
    csrf: String,
    name: Input,
    email: Input,
    password: Input,
    errors: Errors,
}

impl SetupPage {
    /// The form, showing what was typed and, after a refusal, why beside each field. The
    /// administrator's name and address are a person's, and obey the people register's limits.
    fn new(
        chrome: Chrome,
        csrf: String,
        name: &str,
        email: &str,
        refusal: Option<Refusal>,
    ) -> Self {
        let london = chrono_tz::Europe::London;
        let person = |field: &str, id: &str, label: &str| {
            Input::field(steward_model::Register::People, field, london)
                .unwrap_or_else(|| Input::text("", field, ""))
                .id(id)
                .label(label)
                .hint("")
                .required(true)
        };
        let mut name = person("name", "name", "Your name").value(name);
        name.autocomplete = "name";
        let mut email = person("email", "email", "Email address").value(email);
        email.autocomplete = "username";
        let mut password = Input::new_password("password", "password", "Password")
            .hint("At least 12 characters; a few unrelated words make a good one.");
        let problems = refusal.map(|r| r.problems).unwrap_or_default();
        let errors = Errors::place(&problems, [&mut name, &mut email, &mut password]);
        SetupPage {
            chrome,
            csrf,
            name,
            email,
            password,
            errors,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    csrf: String,
    email: String,
    notice: Option<String>,
    error: Option<String>,
    /// The providers people may sign in with, as (route word, name).
    providers: Vec<(&'static str, &'static str)>,
}

fn providers(state: &AppState) -> Vec<(&'static str, &'static str)> {
    state
        .options
        .sso
        .iter()
        .map(|s| (s.provider().as_str(), s.provider().label()))
        .collect()
}

/// The sign-in page showing `error`, with a form token (and its cookie when the browser has
/// none yet).
pub(crate) fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: String,
) -> Result<Response, WebError> {
    let (csrf, fresh) = form_token(state, headers)?;
    let page = LoginPage {
        chrome: Chrome::public(state),
        csrf,
        email: String::new(),
        notice: None,
        error: Some(error),
        providers: providers(state),
    };
    Ok(with_form_cookie(state, html(status, &page)?, fresh))
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    chrome: Chrome,
    csrf: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    csrf: String,
    secret: String,
    qr_svg: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct RecoveryPage {
    chrome: Chrome,
    codes: Vec<String>,
}

fn html(status: StatusCode, page: &impl Template) -> Result<Response, WebError> {
    Ok((
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(page.render()?),
    )
        .into_response())
}

/// The form cookie's value (made now if the browser has none) and the token forms carry.
fn form_token(state: &AppState, headers: &HeaderMap) -> Result<(String, Option<String>), WebError> {
    match cookie(headers, form_cookie(state)) {
        Some(v) if v.len() >= 32 => {
            Ok((steward_auth::csrf_token(v.as_bytes(), FORM_PURPOSE), None))
        }
        _ => {
            let fresh = steward_auth::new_token()
                .map_err(|e| WebError::Service(ServiceError::Auth(e.to_string())))?;
            Ok((
                steward_auth::csrf_token(fresh.as_bytes(), FORM_PURPOSE),
                Some(fresh),
            ))
        }
    }
}

fn with_form_cookie(state: &AppState, mut response: Response, fresh: Option<String>) -> Response {
    if let Some(value) = fresh {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(state, form_cookie(state), Some(&value)),
        );
    }
    response
}

/// A posted sign-in form: its fields, after its CSRF token is checked against the form cookie.
pub(crate) struct Posted {
    pub(crate) headers: HeaderMap,
    fields: Vec<(String, String)>,
    addr: std::net::IpAddr,
}

impl Posted {
    fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

pub(crate) async fn read_form(request: Request) -> Result<Posted, WebError> {
    let addr = client_addr(request.extensions());
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| WebError::BadRequest("the form is too large".into()))?;
    Ok(Posted {
        headers: parts.headers,
        fields: form_urlencoded_pairs(&bytes),
        addr,
    })
}

/// Checks a pre-sign-in form's token against its cookie.
pub(crate) fn check_form_token(state: &AppState, posted: &Posted) -> Result<(), WebError> {
    let cookie = cookie(&posted.headers, form_cookie(state)).unwrap_or_default();
    if cookie.len() >= 32
        && steward_auth::csrf_ok(cookie.as_bytes(), FORM_PURPOSE, &posted.get("csrf"))
    {
        Ok(())
    } else {
        Err(WebError::BadCsrf)
    }
}

/// The keys a guess counts under: the account at the address, the address, the account.
fn throttle_keys(email: &str, addr: std::net::IpAddr, what: &str) -> Vec<GuessKey> {
    steward_auth::guess_keys(what, email, addr)
}

/// Reserves a guess before it is checked, or refuses it while its account at this address, or
/// the address, is throttled: first by this server's own count (cheap, and spares the database
/// under a flood), then by the count every server shares, which counts the guess in the same
/// step, so that guesses racing in parallel cannot all pass. A guess at an account past its
/// ceiling waits before it is checked.
async fn reserve(state: &AppState, keys: &[GuessKey]) -> Result<Guess, WebError> {
    let now = Utc::now();
    let refuse = |key: &str, wait: steward_auth::RetryAfter| {
        tracing::warn!(key = %key, "sign-in throttled");
        Err(WebError::TooManyAttempts(wait.seconds.max(1)))
    };
    {
        let throttle = state.throttle.lock().map_err(|_| WebError::Unavailable)?;
        for key in keys.iter().filter(|k| k.over == Over::Refuse) {
            if let Err(wait) = throttle.check_under(&key.key, key.limit, now) {
                return refuse(&key.key, wait);
            }
        }
    }
    let shared = keys.to_vec();
    match blocking(state, move |s| s.reserve_guess(&shared, now)).await? {
        Ok(guess) => {
            if guess.slow {
                let account = keys.last().map_or("", |k| k.key.as_str());
                tracing::warn!(key = %account, "sign-in slowed: many failures at this account");
                tokio::time::sleep(state.options.limits.slow_guess_delay).await;
            }
            Ok(guess)
        }
        Err(wait) => refuse(keys.first().map_or("", |k| k.key.as_str()), wait),
    }
}

/// Settles a guess once checked, here and in the database: a wrong one stays counted; a right
/// one is taken back, and clears its account at this address (only: a success from an address
/// does not excuse its guesses at other accounts).
async fn settle(
    state: &AppState,
    keys: &[GuessKey],
    guess: Guess,
    right: bool,
) -> Result<(), WebError> {
    let now = Utc::now();
    if let Ok(mut throttle) = state.throttle.lock() {
        if right {
            if let Some(pair) = keys.first() {
                throttle.record_success(&pair.key);
            }
        } else {
            for key in keys {
                throttle.record_failure(&key.key, now);
            }
        }
    }
    if !right {
        return Ok(());
    }
    if let Err(e) = blocking(state, move |s| s.settle_guess(&guess, true)).await {
        // The guess then stands as a failure: the safe way to be wrong.
        tracing::warn!("cannot take back a right guess: {e:?}");
    }
    Ok(())
}

/// Someone signing in acts on their own account only: no capacity yet.
fn stamp(email: &str) -> Stamp {
    Stamp {
        authority: steward_service::Authority::of([], None),
        ..Stamp::now(format!("web:{email}"))
    }
}

// --- first run ------------------------------------------------------------------------------

pub(crate) async fn setup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if !blocking(&state, |s| s.needs_first_administrator()).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let (csrf, fresh) = form_token(&state, &headers)?;
    let page = SetupPage::new(Chrome::public(&state), csrf, "", "", None);
    Ok(with_form_cookie(
        &state,
        html(StatusCode::OK, &page)?,
        fresh,
    ))
}

pub(crate) async fn setup(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, WebError> {
    let posted = read_form(request).await?;
    check_form_token(&state, &posted)?;
    let (name, email, password) = (
        posted.get("name"),
        posted.get("email"),
        posted.get("password"),
    );
    let (e, n, p) = (email.clone(), name.clone(), password);
    let result = blocking(&state, move |s| {
        s.create_first_administrator(&stamp(&e), &e, &n, &p)?;
        // The password was just chosen in this browser: it is proven, and enrolling the second
        // factor follows at once, without typing it again.
        let (token, _) = s.open_session(&e, Utc::now())?;
        Ok(token)
    })
    .await;
    match result {
        Ok(token) => {
            let mut response = Redirect::to("/mfa/enrol").into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, session_cookie(&state), Some(&token)),
            );
            Ok(response)
        }
        Err(WebError::Service(ServiceError::SignIn(SignInRefused::AlreadySetUp))) => {
            Ok(Redirect::to("/login").into_response())
        }
        Err(WebError::Service(e @ ServiceError::SignIn(_))) => {
            let (csrf, _) = form_token(&state, &posted.headers)?;
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SetupPage::new(Chrome::public(&state), csrf, &name, &email, Refusal::of(&e)),
            )
        }
        Err(e) => Err(e),
    }
}

// --- password -------------------------------------------------------------------------------

pub(crate) async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, WebError> {
    if blocking(&state, |s| s.needs_first_administrator()).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let (csrf, fresh) = form_token(&state, &headers)?;
    let notice = query
        .filter(|q| q.contains("set_up=1"))
        .map(|_| "The administrator is set up: sign in to enrol an authenticator.".to_owned());
    let page = LoginPage {
        chrome: Chrome::public(&state),
        csrf,
        email: String::new(),
        notice,
        error: None,
        providers: providers(&state),
    };
    Ok(with_form_cookie(
        &state,
        html(StatusCode::OK, &page)?,
        fresh,
    ))
}

pub(crate) async fn login(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, WebError> {
    let posted = read_form(request).await?;
    check_form_token(&state, &posted)?;
    let email = posted.get("email").trim().to_lowercase();
    let password = posted.get("password");
    let keys = throttle_keys(&email, posted.addr, "password");
    let guess = reserve(&state, &keys).await?;
    let e = email.clone();
    let result = blocking(&state, move |s| {
        let next = s.check_password(&e, &password)?;
        let (token, _) = s.open_session(&e, Utc::now())?;
        Ok((next, token))
    })
    .await;
    match result {
        Ok((next, token)) => {
            settle(&state, &keys, guess, true).await?;
            let to = match next {
                SecondFactor::Code => "/mfa",
                SecondFactor::Enrol => "/mfa/enrol",
            };
            let mut response = Redirect::to(to).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, session_cookie(&state), Some(&token)),
            );
            Ok(response)
        }
        Err(WebError::Service(ServiceError::SignIn(refused))) => {
            settle(&state, &keys, guess, false).await?;
            tracing::info!(email = %email, reason = %refused, "sign-in refused");
            let (csrf, _) = form_token(&state, &posted.headers)?;
            html(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    chrome: Chrome::public(&state),
                    csrf,
                    email,
                    notice: None,
                    error: Some(refused.to_string()),
                    providers: providers(&state),
                },
            )
        }
        Err(e) => Err(e),
    }
}

// --- second factor --------------------------------------------------------------------------

/// The session between password and second factor, from its cookie.
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Session)>, WebError> {
    let Some(token) = cookie(headers, session_cookie(state)) else {
        return Ok(None);
    };
    let t = token.clone();
    let session = blocking(state, move |s| s.live_session(&t, Utc::now())).await?;
    Ok(session.map(|s| (token, s)))
}

pub(crate) async fn mfa_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((_, session)) = pending(&state, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    if session.mfa_passed {
        return Ok(Redirect::to("/").into_response());
    }
    html(
        StatusCode::OK,
        &MfaPage {
            chrome: Chrome::public(&state),
            csrf: session_csrf(&session.csrf_secret, &session.token_hash),
            error: None,
        },
    )
}

fn check_session_form(session: &Session, posted: &Posted) -> Result<(), WebError> {
    if steward_auth::csrf_ok(
        session.csrf_secret.as_bytes(),
        &session.token_hash,
        &posted.get("csrf"),
    ) {
        Ok(())
    } else {
        Err(WebError::BadCsrf)
    }
}

fn signed_in(state: &AppState, to: &str, token: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, session_cookie(state), Some(token)),
    );
    response
}

/// A code posted from the session between password and second factor.
struct CodeAttempt {
    token: String,
    session: Session,
    /// The throttle's keys for this guess, and the guess reserved under them.
    keys: Vec<GuessKey>,
    guess: Guess,
    code: String,
}

/// Reads a posted code: its session (none: sign in again), its form's token checked, and the
/// guess refused while the account or address is throttled.
async fn code_attempt(state: &AppState, request: Request) -> Result<Option<CodeAttempt>, WebError> {
    let posted = read_form(request).await?;
    let Some((token, session)) = pending(state, &posted.headers).await? else {
        return Ok(None);
    };
    check_session_form(&session, &posted)?;
    let keys = throttle_keys(&session.email, posted.addr, "code");
    let guess = reserve(state, &keys).await?;
    Ok(Some(CodeAttempt {
        token,
        session,
        keys,
        guess,
        code: posted.get("code"),
    }))
}

pub(crate) async fn mfa(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, WebError> {
    let Some(CodeAttempt {
        token,
        session,
        keys,
        guess,
        code,
    }) = code_attempt(&state, request).await?
    else {
        return Ok(Redirect::to("/login").into_response());
    };
    let email = session.email.clone();
    let result = blocking(&state, move |s| {
        s.check_second_factor(&stamp(&email), &email, &code)?;
        s.complete_session(&token, Utc::now())
    })
    .await;
    match result {
        Ok(new_token) => {
            settle(&state, &keys, guess, true).await?;
            Ok(signed_in(&state, "/", &new_token))
        }
        Err(WebError::Service(ServiceError::SignIn(refused))) => {
            settle(&state, &keys, guess, false).await?;
            html(
                StatusCode::UNAUTHORIZED,
                &MfaPage {
                    chrome: Chrome::public(&state),
                    csrf: session_csrf(&session.csrf_secret, &session.token_hash),
                    error: Some(refused.to_string()),
                },
            )
        }
        Err(e) => Err(e),
    }
}

async fn enrol_page(
    state: &AppState,
    session: &Session,
    error: Option<String>,
) -> Result<Response, WebError> {
    let email = session.email.clone();
    let offered = blocking(state, move |s| s.begin_enrolment(&stamp(&email), &email)).await;
    let (secret, _, qr_svg) = match offered {
        Ok(o) => o,
        // Already enrolled: ask for a code instead.
        Err(WebError::Service(ServiceError::SignIn(SignInRefused::BadCode))) => {
            return Ok(Redirect::to("/mfa").into_response());
        }
        Err(e) => return Err(e),
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    html(
        status,
        &EnrolPage {
            chrome: Chrome::public(state),
            csrf: session_csrf(&session.csrf_secret, &session.token_hash),
            secret,
            qr_svg,
            error,
        },
    )
}

pub(crate) async fn enrol_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((_, session)) = pending(&state, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    if session.mfa_passed {
        return Ok(Redirect::to("/").into_response());
    }
    enrol_page(&state, &session, None).await
}

pub(crate) async fn enrol(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, WebError> {
    let Some(CodeAttempt {
        token,
        session,
        keys,
        guess,
        code,
    }) = code_attempt(&state, request).await?
    else {
        return Ok(Redirect::to("/login").into_response());
    };
    let email = session.email.clone();
    let result = blocking(&state, move |s| {
        let codes = s.confirm_enrolment(&stamp(&email), &email, &code)?;
        let token = s.complete_session(&token, Utc::now())?;
        Ok((codes, token))
    })
    .await;
    match result {
        Ok((codes, new_token)) => {
            settle(&state, &keys, guess, true).await?;
            let mut response = html(
                StatusCode::OK,
                &RecoveryPage {
                    chrome: Chrome::public(&state),
                    codes,
                },
            )?;
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, session_cookie(&state), Some(&new_token)),
            );
            Ok(response)
        }
        Err(WebError::Service(ServiceError::SignIn(refused))) => {
            settle(&state, &keys, guess, false).await?;
            enrol_page(&state, &session, Some(refused.to_string())).await
        }
        Err(e) => Err(e),
    }
}

// --- signing out ----------------------------------------------------------------------------

fn signed_out(state: &AppState) -> Response {
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, session_cookie(state), None),
    );
    response
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if let Some(token) = cookie(&headers, session_cookie(&state)) {
        blocking(&state, move |s| s.close_session(&token)).await?;
    }
    Ok(signed_out(&state))
}

pub(crate) async fn logout_everywhere(
    State(state): State<AppState>,
    axum::Extension(signed): axum::Extension<crate::Signed>,
) -> Result<Response, WebError> {
    let email = signed.viewer.email.clone();
    blocking(&state, move |s| {
        s.close_all_sessions(&stamp(&email), &email)
    })
    .await?;
    Ok(signed_out(&state))
}
