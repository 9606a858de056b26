//! The HTTP server: sign-in with a second factor, sessions, the pages each kind of user works in,
//! and CSV export, over the service layer.
//!
//! This crate is the only one that knows HTTP. It owns the mapping of service errors to status
//! codes (in one place, [`WebError`]), who may use which route ([`access`], enforced by one
//! middleware), cookies and CSRF tokens, throttling of sign-in guesses, the security headers every
//! response carries, HTML rendering (askama templates, escaped by default), and the connections
//! themselves ([`serve`]: header and body read timeouts, a cap on connections, graceful
//! shutdown).
//!
//! It must never hold SQL or business rules: every read and write goes through
//! [`steward_service::Steward`], which is blocking, so handlers call it on the blocking pool.

pub mod access;
pub mod api;
mod api_processes;
mod audit;
mod calendar;
mod connectors;
mod derived;
mod diff;
mod finding;
mod forms;
mod frameworks;
mod governance;
mod jobs;
mod mapping;
mod names;
mod openapi;
mod pages;
mod pickers;
mod policy_import;
mod policy_map;
mod processes;
mod registers;
mod session;
mod signin;
mod sso;
mod standing;
mod tokens;
mod webhooks;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use askama::Template;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use steward_auth::Throttle;
use steward_policy::Pack;
use steward_service::{ServiceError, SignInRefused, Steward};

pub use session::Signed;

/// The API's OpenAPI document (`/api/v1/openapi.json`, `steward api spec`).
pub fn openapi_document() -> serde_json::Value {
    openapi::document()
}

/// How the server is run: what the operator decided at start-up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Cookies marked `Secure` (and `__Host-` prefixed): set when served over TLS.
    pub secure_cookies: bool,
    /// A demonstration organisation: every page says so.
    pub demo: bool,
    /// The active policy packs, as the living policy page shows them.
    pub packs: Vec<Pack>,
    /// Every pack the organisation could run (built-in and its own), for comparing versions.
    pub available: Vec<Pack>,
    /// What the packs say of each process: lead times, reporting windows, bundles.
    pub terms: steward_service::ProcessTerms,
    /// The organisation's overrides of the packs' parameters, for re-running the checks after a
    /// step changes the registers (with no packs, findings change only when `steward check` runs).
    pub overrides: steward_policy::Overrides,
    /// How long clients may take, and how many may be connected at once.
    pub limits: Limits,
    /// How this server runs jobs (imports, check runs) in the background, and how often it
    /// re-runs every check.
    pub jobs: steward_service::WorkerSettings,
    /// Requests one API token may make in a minute (0: [`api::DEFAULT_REQUESTS_PER_MINUTE`]).
    pub api_requests_per_minute: u32,
    /// The providers people may sign in with (single sign-on), as set up.
    pub sso: Vec<Arc<steward_service::Sso>>,
}

/// What a client may hold of the server: so that half-sent requests cannot pile up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's line and headers must arrive within this, counted from the connection opening
    /// or the previous response (so an idle kept-alive connection ends too).
    pub header_read_timeout: Duration,
    /// A request's body must arrive, all of it, within this of its headers.
    pub body_read_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// How long a guess at an account past its ceiling of failures waits before it is checked.
    pub slow_guess_delay: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            // Time for the largest upload (32 MiB) at about 5 Mbit/s.
            body_read_timeout: Duration::from_secs(60),
            max_connections: 1024,
            slow_guess_delay: Duration::from_secs(2),
        }
    }
}

/// What the server shares between requests.
#[derive(Clone)]
pub struct AppState {
    pub steward: Arc<Steward>,
    pub options: Arc<Options>,
    /// Failed sign-in guesses per account and per address.
    pub throttle: Arc<Mutex<Throttle>>,
    /// Wakes this server's job workers when a request queues a job.
    pub(crate) jobs: steward_service::JobWaker,
    /// What pages derive from the data, as of an audit head ([`derived`]).
    pub(crate) derived: Arc<Mutex<derived::Derived>>,
    /// Word of changes committed by any server (PostgreSQL), for what is kept between requests.
    pub(crate) changes: Option<steward_store::ChangeFeed>,
    /// Sessions as last read, while `changes` vouches nothing changed ([`derived::Sessions`]).
    pub(crate) sessions: Arc<Mutex<derived::Sessions>>,
    /// API requests counted per token, for its rate limit.
    pub(crate) api_requests: Arc<api::RequestCounts>,
}

impl AppState {
    pub fn new(steward: Steward, options: Options) -> AppState {
        let changes = steward.store().changes();
        AppState {
            changes,
            sessions: Arc::new(Mutex::new(derived::Sessions::default())),
            steward: Arc::new(steward),
            options: Arc::new(options),
            // Enough failures kept per key for the highest ceiling a key has.
            throttle: Arc::new(Mutex::new(Throttle::new(
                steward_auth::ADDRESS_LIMIT.max(steward_auth::ACCOUNT_LIMIT),
                steward_auth::DEFAULT_THROTTLE_WINDOW,
            ))),
            jobs: steward_service::JobWaker::default(),
            derived: Arc::new(Mutex::new(derived::Derived::default())),
            api_requests: Arc::new(api::RequestCounts::default()),
        }
    }
}

/// Every failure a handler can return, mapped to a status code here and nowhere else.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("the server is shutting down or overloaded")]
    Unavailable,
    #[error("you do not have access to this page")]
    Forbidden,
    #[error(
        "this form has expired or did not come from Steward; go back, reload the page and try again"
    )]
    BadCsrf,
    #[error("too many attempts: wait {0} seconds and try again")]
    TooManyAttempts(u64),
    #[error("{0}")]
    BadRequest(String),
    #[error("page not found")]
    NotFound,
    /// An API request without a live token.
    #[error("a live API token is needed: send it as `Authorization: Bearer TOKEN`")]
    Unauthenticated,
    /// An API change that does not say which version of the row it was made against.
    #[error("say which version of the row this changes: send its ETag as `If-Match`")]
    PreconditionRequired,
    #[error(
        "send the body as the operation's media type (application/json, or text/csv for an import)"
    )]
    UnsupportedMedia,
    #[error("the body is larger than this operation takes")]
    TooLarge,
    #[error("the page could not be drawn")]
    Render(#[from] askama::Error),
}

impl WebError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            WebError::Service(
                ServiceError::NotFound { .. }
                | ServiceError::NoJob(_)
                | ServiceError::NoToken(_)
                | ServiceError::NoWebhook(_)
                | ServiceError::NoConnector(_),
            )
            | WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Service(ServiceError::AlreadyExists { .. }) => StatusCode::CONFLICT,
            WebError::Service(ServiceError::Stale { .. }) => StatusCode::PRECONDITION_FAILED,
            WebError::Unauthenticated => StatusCode::UNAUTHORIZED,
            WebError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            WebError::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Service(
                ServiceError::Invalid { .. }
                | ServiceError::Import(_)
                | ServiceError::Workflow(_)
                | ServiceError::UnknownPack { .. }
                | ServiceError::Parameter { .. }
                | ServiceError::InvalidToken(_)
                | ServiceError::Webhook(_)
                | ServiceError::PolicyImport(_),
            ) => StatusCode::UNPROCESSABLE_ENTITY,
            // A connector's source refusing or failing is the source's doing, not ours.
            WebError::Service(ServiceError::Connector { .. }) => StatusCode::BAD_GATEWAY,
            WebError::Service(ServiceError::SignIn(
                SignInRefused::BadCredentials | SignInRefused::BadCode,
            )) => StatusCode::UNAUTHORIZED,
            WebError::Service(ServiceError::SignIn(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Forbidden
            | WebError::BadCsrf
            | WebError::Service(ServiceError::Refused(_)) => StatusCode::FORBIDDEN,
            WebError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Service(ServiceError::Store(e)) if e.is_unavailable() => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            WebError::Service(_) | WebError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        // Internal details stay in the log; the page says only what the user can act on.
        let text = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "Something went wrong on the server; it has been logged.".to_owned()
        } else if matches!(self, WebError::Service(_)) && status == StatusCode::SERVICE_UNAVAILABLE
        {
            "The database is not answering just now; try again in a moment.".to_owned()
        } else {
            self.to_string()
        };
        let heading = status.canonical_reason().unwrap_or("Error").to_owned();
        let page = pages::Message {
            chrome: pages::Chrome::bare(),
            heading,
            text,
            link: Some(("/".to_owned(), "Go to the start".to_owned())),
        };
        let body = page.render().unwrap_or_else(|_| escape(&page.text));
        let mut response = (status, Html(body)).into_response();
        if let WebError::TooManyAttempts(seconds) = self
            && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Runs a blocking service call off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Steward) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, WebError> {
    let steward = state.steward.clone();
    tokio::task::spawn_blocking(move || f(&steward))
        .await
        .map_err(|_| WebError::Unavailable)?
        .map_err(WebError::from)
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/healthz/detail", get(health_detail))
        .route("/static/steward.css", get(stylesheet))
        .route("/setup", get(signin::setup_form).post(signin::setup))
        .route("/login", get(signin::login_form).post(signin::login))
        .route("/mfa", get(signin::mfa_form).post(signin::mfa))
        .route("/mfa/enrol", get(signin::enrol_form).post(signin::enrol))
        .route("/auth/{provider}", post(sso::start))
        .route("/auth/{provider}/callback", get(sso::callback))
        .route("/logout", post(signin::logout))
        .route("/logout/everywhere", post(signin::logout_everywhere))
        .route("/", get(pages::home))
        .route("/me", get(pages::me))
        .route(
            "/account/password",
            get(pages::password_form).post(pages::change_password),
        )
        .route("/account/tokens", get(tokens::list).post(tokens::create))
        .route("/account/tokens/revoke", post(tokens::revoke))
        .route(
            "/admin/webhooks",
            get(webhooks::list).post(webhooks::change),
        )
        .route("/admin/webhooks/{id}", get(webhooks::show))
        .route("/me/accept", post(pages::accept))
        .route("/me/exception", post(finding::ask_for_exception))
        .route("/me/acknowledge", post(pages::acknowledge))
        .route("/me/digest", post(pages::set_weekly_digest))
        .route("/team", get(pages::team))
        .route("/team.csv", get(pages::team_csv))
        .route("/team/{id}", get(pages::team_member))
        .route("/dashboard", get(pages::dashboard))
        .route("/findings", get(pages::findings))
        .route("/findings.csv", get(pages::findings_csv))
        .route("/finding/{*key}", get(finding::show))
        .route("/exceptions", post(finding::grant_exception))
        .route("/checks", post(finding::check_now))
        .route(
            "/requests",
            get(processes::requests).post(processes::raise_request),
        )
        .route("/requests.csv", get(processes::requests_csv))
        .route("/requests/new", get(processes::new_request))
        .route("/requests/{id}", get(processes::show_request))
        .route("/requests/{id}/{action}", post(processes::act_on_request))
        .route(
            "/incidents",
            get(processes::incidents).post(processes::report_incident),
        )
        .route("/incidents.csv", get(processes::incidents_csv))
        .route("/incidents/new", get(processes::new_incident))
        .route("/incidents/{id}", get(processes::show_incident))
        .route("/incidents/{id}/acknowledge", post(processes::acknowledge))
        .route("/incidents/{id}/handle", post(processes::handle_incident))
        .route("/assets", get(registers::assets))
        .route("/assets.csv", get(registers::assets_csv))
        .route("/accounts", get(registers::accounts))
        .route("/accounts.csv", get(registers::accounts_csv))
        .route("/registers", get(registers::registers))
        .route("/registers/{name}", get(registers::register_rows))
        .route("/register/{entity}/{id}", get(registers::record))
        .route("/register/{entity}/{id}/{what}", post(registers::change))
        .route("/governance", get(governance::show))
        .route("/governance.csv", get(governance::due_csv))
        .route("/governance/task-done", post(governance::task_done))
        .route("/governance/dispose", post(governance::dispose))
        // The forms that upload a file (`access::takes_files`): axum's `Multipart` reads them,
        // up to this body limit.
        .route(
            "/import",
            get(governance::import_form)
                .post(governance::import)
                .layer(DefaultBodyLimit::max(session::UPLOAD_LIMIT)),
        )
        .route(
            "/import/template/{register}",
            get(governance::import_template),
        )
        .route(
            "/calendar",
            get(calendar::show)
                .post(calendar::import)
                .layer(DefaultBodyLimit::max(session::UPLOAD_LIMIT)),
        )
        .route(
            "/connectors",
            get(connectors::list)
                .post(connectors::save)
                .layer(DefaultBodyLimit::max(session::UPLOAD_LIMIT)),
        )
        .route("/connectors/{name}", get(connectors::show))
        .route("/connectors/{name}/test", post(connectors::test))
        .route("/connectors/{name}/sync", post(connectors::sync))
        .route("/connectors/{name}/apply", post(connectors::apply))
        .route(
            "/connectors/{name}/file",
            post(connectors::upload).layer(DefaultBodyLimit::max(session::UPLOAD_LIMIT)),
        )
        .route(
            "/connectors/{name}/mapping",
            post(mapping::start).layer(DefaultBodyLimit::max(session::UPLOAD_LIMIT)),
        )
        .route(
            "/connectors/{name}/mapping/preview",
            post(mapping::preview).layer(DefaultBodyLimit::max(session::UPLOAD_LIMIT)),
        )
        .route(
            "/connectors/{name}/mapping/save",
            post(mapping::save).layer(DefaultBodyLimit::max(session::UPLOAD_LIMIT)),
        )
        .route("/connectors/{name}/resolve", post(connectors::resolve))
        .route("/connectors/{name}/remove", post(connectors::remove))
        .route("/jobs", get(jobs::list))
        .route("/jobs/{id}", get(jobs::show))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/jobs/{id}/errors.csv", get(jobs::errors_csv))
        .route("/people", get(pages::people))
        .route("/people.csv", get(pages::people_csv))
        .route("/audit", get(audit::audit))
        .route(
            "/admin/organisation",
            get(pages::organisation).post(pages::set_organisation),
        )
        .route("/policy", get(pages::policy))
        .route("/policy/packs", post(pages::choose_pack))
        .route("/policy/parameters", post(pages::set_parameter))
        .route("/policy/staff-groups", post(pages::set_staff_group))
        .route("/policy/map", get(policy_map::form).post(policy_map::map))
        .route("/policy/frameworks", get(frameworks::show))
        .route("/policy/details", post(policy_import::details))
        .route("/policy/copy", post(policy_import::copy))
        .route(
            "/policy/import",
            get(policy_import::form)
                .post(policy_import::import)
                .layer(DefaultBodyLimit::max(session::UPLOAD_LIMIT)),
        )
        .route("/policy/diff", get(diff::policy_diff))
        .route(
            "/admin/sign-ins",
            get(pages::sign_ins).post(pages::change_sign_ins),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            session::guard,
        ))
        // Programs, with a token rather than a session: no cookie, no CSRF token, no pages.
        .merge(api::router(state.clone()))
        .fallback(|| async { WebError::NotFound })
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests in flight.
///
/// Each connection is HTTP/1.1 under `options.limits`: its headers must arrive within the header
/// timeout (hyper closes it otherwise), each request's body within the body timeout, and at most
/// so many connections are served at once.
pub async fn serve(
    steward: Steward,
    options: Options,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local: SocketAddr = listener.local_addr()?;
    tracing::info!(address = %local, backend = %steward.backend(), "steward is listening on http://{local}");
    let limits = options.limits;
    let settings = options.jobs.clone();
    let mut state = AppState::new(steward, options);
    // The jobs this server runs, on threads of their own; stopped (a running job handed back at
    // its next step) once the last connection has closed.
    let worker = if settings.workers > 0 {
        let worker = steward_service::Worker::start(
            state.steward.clone(),
            state.options.packs.clone(),
            state.options.available.clone(),
            state.options.overrides.clone(),
            &settings,
            &holder_name(local),
        )?;
        state.jobs = worker.waker();
        Some(worker)
    } else {
        None
    };
    let app = router(state);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    // Dropping `stop` tells every connection to finish; `done` closes when the last has.
    let (stop, stopping) = tokio::sync::watch::channel(());
    let (done, connections) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            app.clone(),
            stream,
            remote,
            limits,
            stopping.clone(),
            (connections.clone(), permit),
        ));
    }
    drop(listener);
    drop(stop);
    drop(connections);
    done.closed().await;
    if let Some(worker) = worker {
        tracing::info!("stopping the job workers");
        let _ = tokio::task::spawn_blocking(move || worker.stop()).await;
    }
    tracing::info!("steward stopped");
    Ok(())
}

/// How this server names itself in the jobs it holds: host, address, process and start.
fn holder_name(local: SocketAddr) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "server".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{host}:{local}:{}:{started}", std::process::id())
}

/// Serves one connection until it closes or the server stops. `_held` (the server's count of
/// open connections and a permit) is released when it ends.
async fn connection(
    app: Router,
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    limits: Limits,
    mut stopping: tokio::sync::watch::Receiver<()>,
    _held: (
        tokio::sync::watch::Receiver<()>,
        tokio::sync::OwnedSemaphorePermit,
    ),
) {
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let mut request = request.map(|body| {
            axum::body::Body::new(TimedBody {
                inner: body,
                deadline: Box::pin(tokio::time::sleep(limits.body_read_timeout)),
            })
        });
        request.extensions_mut().insert(ConnectInfo(remote));
        let mut app = app.clone();
        tower_service::Service::call(&mut app, request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        _ = stopping.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(client = %remote, error = %e, "connection ended");
    }
}

/// A request body that must arrive by a deadline: a client trickling it is cut off.
struct TimedBody {
    inner: hyper::body::Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl hyper::body::Body for TimedBody {
    type Data = hyper::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

async fn security_headers(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    tracing::info!(%method, %path, status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    response
}

/// Up or down, for anyone (a load balancer, a monitor): nothing more, since the audit log's
/// head and the backend tell an outsider how busy the organisation is and what it runs on.
async fn health(State(state): State<AppState>) -> Response {
    let text = |status: StatusCode, body: &'static str| {
        (
            status,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    };
    match blocking(&state, |s| Ok(s.store().audit_head()?.0)).await {
        Ok(_) => text(StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health: the database does not answer");
            text(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    }
}

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    backend: String,
    audit_head: i64,
    /// Whether a check run is running, and whether another waits.
    checks_running: bool,
    checks_queued: bool,
    /// Jobs of any kind queued or running.
    jobs_waiting: usize,
    /// Notices waiting to be emailed.
    mail_waiting: usize,
}

/// The details behind `/healthz`, for those who run the service (`access.rs`).
async fn health_detail(State(state): State<AppState>) -> Result<Response, WebError> {
    let (backend, head, mail_waiting, jobs) = blocking(&state, |s| {
        Ok((
            s.backend().to_string(),
            s.store().audit_head()?.0,
            s.mail_due()?.len(),
            s.store().jobs(&steward_store::JobQuery {
                requested_by: None,
                limit: 200,
            })?,
        ))
    })
    .await?;
    let of = |kind: &str, st: steward_service::JobState| {
        jobs.iter().any(|j| j.kind == kind && j.state == st)
    };
    let checks_running = of("check", steward_service::JobState::Running);
    let checks_queued = of("check", steward_service::JobState::Queued);
    let jobs_waiting = jobs.iter().filter(|j| !j.state.is_finished()).count();
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(Health {
            status: "ok",
            version: env!("CARGO_PKG_VERSION"),
            backend,
            audit_head: head,
            checks_running,
            checks_queued,
            jobs_waiting,
            mail_waiting,
        }),
    )
        .into_response())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/steward.css"),
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
