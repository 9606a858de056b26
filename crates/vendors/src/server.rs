//! One stand-in server: a listener on 127.0.0.1, its own tokio runtime on its own thread, the
//! tenant it renders, the credentials it accepts, the faults it injects and the log of what it was
//! asked.

use crate::tenant::Tenant;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Faults every stand-in can inject, counted, never random: "the Nth data request" counts every
/// request to a data endpoint (token endpoints are not data requests) from 1, in the order the
/// server receives them, whatever it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// The page size when the client asks for none, and the most a page holds whatever it asks.
    pub page_size: usize,
    /// Every Nth data request is throttled (429; Graph, Jamf and Snipe-IT with `Retry-After: 1`).
    pub rate_limit_every: Option<u32>,
    /// A token stops working after this many data requests made with it (401 as the vendor
    /// answers an expired token; a new token works again). Snipe-IT's personal access token,
    /// which cannot be renewed, stays refused once spent.
    pub token_lifetime: Option<u32>,
    /// The Nth data request fails once with the vendor's server error; the retry, being a later
    /// request, succeeds.
    pub fail_once_at: Option<u32>,
    /// The Nth data request answers 200 with its JSON cut off half way.
    pub malformed_at: Option<u32>,
    /// Path prefixes (`/v1.0/auditLogs/signIns`) refused with 403 as the vendor refuses a missing
    /// licence or permission.
    pub forbidden: Vec<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            page_size: 100,
            rate_limit_every: None,
            token_lifetime: None,
            fail_once_at: None,
            malformed_at: None,
            forbidden: Vec::new(),
        }
    }
}

/// What a server accepts as proof of identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Microsoft identity platform client credentials for one tenant (its id or domain, as it
    /// appears in the token URL).
    Microsoft {
        tenant: String,
        client_id: String,
        client_secret: String,
    },
    /// A Google service account with domain-wide delegation: its public key (PEM), its
    /// `client_email`, the admin it may act as (`sub`) and the scopes delegated to it.
    Google {
        public_key_pem: String,
        client_email: String,
        subject: String,
        scopes: Vec<String>,
    },
    /// A Jamf Pro API client.
    Jamf {
        client_id: String,
        client_secret: String,
    },
    /// A Snipe-IT personal access token.
    SnipeIt { token: String },
}

/// The read-only scopes the Google connector needs (users, mobile devices, ChromeOS devices).
pub const GOOGLE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly",
];

impl Credentials {
    pub fn microsoft(tenant: &str, client_id: &str, client_secret: &str) -> Credentials {
        Credentials::Microsoft {
            tenant: tenant.to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
        }
    }

    /// A service account with this public key and `client_email`, delegated [`GOOGLE_SCOPES`]
    /// and allowed to act as `subject`.
    pub fn google(public_key_pem: &str, client_email: &str, subject: &str) -> Credentials {
        Credentials::Google {
            public_key_pem: public_key_pem.to_string(),
            client_email: client_email.to_string(),
            subject: subject.to_string(),
            scopes: GOOGLE_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The service account of [`crate::TEST_SERVICE_ACCOUNT_JSON`], delegated [`GOOGLE_SCOPES`]
    /// and acting as `subject`.
    pub fn google_test(subject: &str) -> Credentials {
        Credentials::google(
            crate::TEST_PUBLIC_KEY_PEM,
            crate::TEST_CLIENT_EMAIL,
            subject,
        )
    }

    pub fn jamf(client_id: &str, client_secret: &str) -> Credentials {
        Credentials::Jamf {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
        }
    }

    pub fn snipe_it(token: &str) -> Credentials {
        Credentials::SnipeIt {
            token: token.to_string(),
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    /// The path and query as sent (`/v1.0/users?$top=5`).
    pub path: String,
    pub status: u16,
    /// Whether an `Authorization` header came with it.
    pub authorization: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vendor {
    Microsoft,
    Google,
    Jamf,
    SnipeIt,
}

/// An access token the server issued (or, for Snipe-IT, was given).
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub uses: u32,
    pub scopes: Vec<String>,
}

/// Why a data request is refused before it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token this server never issued.
    Unknown,
    /// A token past its `token_lifetime`.
    Expired,
    /// A path under one of `forbidden`'s prefixes (the prefix).
    Forbidden(String),
    RateLimited,
    ServerError,
}

/// A data request let through: the token's scopes, and whether to spoil the answer.
#[derive(Debug, Clone)]
pub(crate) struct Admitted {
    pub scopes: Vec<String>,
    pub malformed: bool,
}

pub(crate) struct Shared {
    pub base_url: String,
    pub tenant: Arc<Mutex<Tenant>>,
    pub faults: Faults,
    pub credentials: Credentials,
    log: Mutex<Vec<Logged>>,
    data_requests: AtomicU32,
    tokens: Mutex<HashMap<String, Issued>>,
    issued: AtomicU32,
    /// Change tracking's generation: a delta token of an earlier one holds no state.
    delta_generation: AtomicU32,
}

/// Locks a mutex, carrying on with the data if a panicking handler poisoned it (the stand-in's
/// state is plain data and stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn tenant(&self) -> MutexGuard<'_, Tenant> {
        lock(&self.tenant)
    }

    /// Issues a new access token carrying `scopes`.
    pub(crate) fn issue(&self, prefix: &str, scopes: Vec<String>) -> String {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) as u64 + 1;
        let mut rng = crate::tenant::Rng::new(n.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let token = format!("{prefix}{:016x}{:016x}", rng.next_u64(), n);
        lock(&self.tokens).insert(token.clone(), Issued { uses: 0, scopes });
        token
    }

    /// Registers a token the server did not issue itself (Snipe-IT's personal access token).
    pub(crate) fn accept_token(&self, token: &str) {
        lock(&self.tokens).insert(
            token.to_string(),
            Issued {
                uses: 0,
                scopes: Vec::new(),
            },
        );
    }

    /// Counts a data request and decides whether it is answered, in this order: the token
    /// (missing, unknown, past its lifetime), a forbidden path, throttling, a one-off server
    /// error; and whether a successful answer is to be cut short.
    pub(crate) fn admit(&self, headers: &HeaderMap, path: &str) -> Result<Admitted, Refusal> {
        let n = self.data_requests.fetch_add(1, Ordering::SeqCst) + 1;
        let token = bearer(headers).ok_or(Refusal::Missing)?;
        let scopes = {
            let mut tokens = lock(&self.tokens);
            let issued = tokens.get_mut(token).ok_or(Refusal::Unknown)?;
            issued.uses += 1;
            if self.faults.token_lifetime.is_some_and(|l| issued.uses > l) {
                return Err(Refusal::Expired);
            }
            issued.scopes.clone()
        };
        if let Some(prefix) = self
            .faults
            .forbidden
            .iter()
            .find(|p| path.starts_with(p.as_str()))
        {
            return Err(Refusal::Forbidden(prefix.clone()));
        }
        if self
            .faults
            .rate_limit_every
            .is_some_and(|every| every > 0 && n.is_multiple_of(every))
        {
            return Err(Refusal::RateLimited);
        }
        if self.faults.fail_once_at == Some(n) {
            return Err(Refusal::ServerError);
        }
        Ok(Admitted {
            scopes,
            malformed: self.faults.malformed_at == Some(n),
        })
    }

    /// The change-tracking generation delta tokens are issued in now.
    pub(crate) fn delta_generation(&self) -> u32 {
        self.delta_generation.load(Ordering::SeqCst)
    }

    /// The page size for a request that asked for `asked` (capped by the vendor's own `max`).
    pub(crate) fn page_size(&self, asked: Option<usize>, max: usize) -> usize {
        let cap = self.faults.page_size.clamp(1, max.max(1));
        asked.unwrap_or(cap).clamp(1, cap)
    }
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A successful JSON answer, or the same cut off half way when the request was picked to be
/// malformed.
pub(crate) fn ok_json(admitted: &Admitted, value: &serde_json::Value) -> Response {
    if !admitted.malformed {
        return json(StatusCode::OK, value);
    }
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut cut = text.len() / 2;
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text[..cut].to_string(),
    )
        .into_response()
}

/// Adds a header to an answer.
pub(crate) fn with_header(mut response: Response, name: &'static str, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
    response
}

/// The query string's pairs, decoded, in order (repeated keys kept).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Builds a query string from pairs, keys as given (`$skiptoken` stays readable), values
/// percent-encoded.
pub(crate) fn build_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let value: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
            format!("{k}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An opaque page token holding an offset (and a short tag so tokens of one list are not taken
/// for another's).
pub(crate) fn page_token(tag: &str, offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{tag}:{offset}"))
}

pub(crate) fn read_page_token(tag: &str, token: &str) -> Option<usize> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (t, offset) = text.split_once(':')?;
    (t == tag).then(|| offset.parse().ok()).flatten()
}

async fn record(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let authorization = request.headers().contains_key(header::AUTHORIZATION);
    let response = next.run(request).await;
    lock(&shared.log).push(Logged {
        method,
        path,
        status: response.status().as_u16(),
        authorization,
    });
    response
}

/// A running stand-in. It listens on `127.0.0.1` on a port of its own, serves from its own thread
/// (so plain `#[test]`s can use it), and stops when dropped.
pub struct Server {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Microsoft identity platform and Microsoft Graph v1.0.
    pub fn microsoft_graph(
        tenant: Tenant,
        faults: Faults,
        credentials: Credentials,
    ) -> std::io::Result<Server> {
        Server::start(Vendor::Microsoft, tenant, faults, credentials)
    }

    /// Google's OAuth 2.0 token endpoint and the Admin SDK Directory API.
    pub fn google(
        tenant: Tenant,
        faults: Faults,
        credentials: Credentials,
    ) -> std::io::Result<Server> {
        Server::start(Vendor::Google, tenant, faults, credentials)
    }

    /// Jamf Pro's API (client credentials, computers and mobile devices inventory).
    pub fn jamf(
        tenant: Tenant,
        faults: Faults,
        credentials: Credentials,
    ) -> std::io::Result<Server> {
        Server::start(Vendor::Jamf, tenant, faults, credentials)
    }

    /// Snipe-IT's API (hardware).
    pub fn snipe_it(
        tenant: Tenant,
        faults: Faults,
        credentials: Credentials,
    ) -> std::io::Result<Server> {
        Server::start(Vendor::SnipeIt, tenant, faults, credentials)
    }

    fn start(
        vendor: Vendor,
        tenant: Tenant,
        faults: Faults,
        credentials: Credentials,
    ) -> std::io::Result<Server> {
        let fits = matches!(
            (vendor, &credentials),
            (Vendor::Microsoft, Credentials::Microsoft { .. })
                | (Vendor::Google, Credentials::Google { .. })
                | (Vendor::Jamf, Credentials::Jamf { .. })
                | (Vendor::SnipeIt, Credentials::SnipeIt { .. })
        );
        if !fits {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{vendor:?} stand-in given another vendor's credentials"),
            ));
        }
        crate::google::check_credentials(&credentials)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = StdListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            base_url,
            tenant: Arc::new(Mutex::new(tenant)),
            faults,
            credentials,
            log: Mutex::new(Vec::new()),
            data_requests: AtomicU32::new(0),
            tokens: Mutex::new(HashMap::new()),
            issued: AtomicU32::new(0),
            delta_generation: AtomicU32::new(0),
        });
        if let Credentials::SnipeIt { token } = &shared.credentials {
            shared.accept_token(token);
        }
        let routes = match vendor {
            Vendor::Microsoft => crate::graph::routes(),
            Vendor::Google => crate::google::routes(),
            Vendor::Jamf => crate::jamf::routes(),
            Vendor::SnipeIt => crate::snipe::routes(),
        };
        let app: Router = routes
            .layer(middleware::from_fn_with_state(shared.clone(), record))
            .with_state(shared.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name(format!("{vendor:?}-stand-in"))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => {
                            let _ = ready_tx.send(Ok(()));
                            l
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let serve = axum::serve(listener, app);
                    tokio::select! {
                        _ = serve => {}
                        _ = stopped => {}
                    }
                });
                // Connections still open are cut rather than waited for: a stand-in stops at once.
                runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(std::io::Error::other(
                    "stand-in thread ended before serving",
                ));
            }
        }
        Ok(Server {
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.shared.log).clone()
    }

    /// Forgets every change-tracking state handed out so far, as Graph does after maintenance
    /// or a migration of the tenant: each delta link issued before answers 410 Gone, and the
    /// client must list in full again.
    pub fn reset_change_tracking(&self) {
        self.shared.delta_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The data the server renders; change it between syncs (and release the lock before the
    /// next request: a handler waits for it).
    pub fn tenant(&self) -> Arc<Mutex<Tenant>> {
        self.shared.tenant.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
