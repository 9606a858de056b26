//! The HTTP server: routes, pages and (later) the JSON API, over the service layer.
//!
//! This crate is the only one that knows HTTP. It owns the mapping of service errors to status
//! codes (in one place, [`WebError`]), the security headers every response carries, HTML
//! escaping, and graceful shutdown.
//!
//! It must never hold SQL or business rules: every read and write goes through
//! [`steward_service::Steward`], which is blocking, so handlers call it on the blocking pool.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use steward_service::{ServiceError, Steward};

/// What the server shares between requests.
#[derive(Clone)]
pub struct AppState {
    pub steward: Arc<Steward>,
}

/// Every failure a handler can return, mapped to a status code here and nowhere else.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("the server is shutting down or overloaded")]
    Unavailable,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::Service(ServiceError::NotFound { .. }) => StatusCode::NOT_FOUND,
            WebError::Service(ServiceError::AlreadyExists { .. }) => StatusCode::CONFLICT,
            WebError::Service(ServiceError::Invalid { .. } | ServiceError::Import(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Service(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        // Internal details stay in the log; the page says only what the user can act on.
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        (
            status,
            Html(page(
                "Error",
                &format!("<h1>{}</h1><p>{}</p>", status, escape(&message)),
            )),
        )
            .into_response()
    }
}

/// Runs a blocking service call off the async workers.
async fn blocking<T: Send + 'static>(
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
        .route("/", get(home))
        .route("/healthz", get(health))
        .route("/static/steward.css", get(stylesheet))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    steward: Steward,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local: SocketAddr = listener.local_addr()?;
    tracing::info!(address = %local, backend = %steward.backend(), "steward is listening on http://{local}");
    let app = router(AppState {
        steward: Arc::new(steward),
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("steward stopped");
    Ok(())
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

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    backend: String,
    audit_head: i64,
}

async fn health(State(state): State<AppState>) -> Result<Json<Health>, WebError> {
    let (backend, head) = blocking(&state, |s| {
        Ok((s.backend().to_string(), s.store().audit_head()?.0))
    })
    .await?;
    Ok(Json(Health {
        status: "ok",
        backend,
        audit_head: head,
    }))
}

async fn home(State(state): State<AppState>) -> Result<Html<String>, WebError> {
    let (org, counts) = blocking(&state, |s| Ok((s.organisation()?, s.counts()?))).await?;
    let rows: String = counts
        .iter()
        .filter(|(r, _)| *r != steward_model::Register::Organisation)
        .map(|(r, n)| {
            format!(
                "<tr><th scope=\"row\">{}</th><td>{n}</td></tr>",
                escape(&title_case(r.name()))
            )
        })
        .collect();
    let body = format!(
        "<h1>{}</h1><p>The registers Steward keeps for this organisation.</p>\
         <table><caption>Registers</caption><thead><tr><th scope=\"col\">Register</th><th scope=\"col\">Rows</th></tr></thead>\
         <tbody>{rows}</tbody></table>",
        escape(&org.name)
    );
    Ok(Html(page(&org.name, &body)))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/steward.css"),
    )
}

fn title_case(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Steward</title><link rel=\"stylesheet\" href=\"/static/steward.css\"></head>\
         <body><header><a href=\"/\">Steward</a></header><main>{body}</main></body></html>",
        escape(title)
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
