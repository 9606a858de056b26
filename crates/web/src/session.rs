//! Cookies, sessions and the guard every route passes: who is signed in, whether the route in
//! [`crate::access::ROUTES`] lets them in, and whether a form carries its CSRF token.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use steward_service::Viewer;

use crate::access::{self, Access};
use crate::{AppState, WebError, blocking};

/// The session cookie's name; `__Host-` prefixed when cookies are `Secure`, so that no other
/// host or path can set it.
pub(crate) fn session_cookie(state: &AppState) -> &'static str {
    if state.options.secure_cookies {
        "__Host-steward_session"
    } else {
        "steward_session"
    }
}

/// The cookie that carries the CSRF token of forms shown before sign-in (double submit).
pub(crate) fn form_cookie(state: &AppState) -> &'static str {
    if state.options.secure_cookies {
        "__Host-steward_form"
    } else {
        "steward_form"
    }
}

/// The largest form body read: sign-in and register forms are small.
const FORM_LIMIT: usize = 64 * 1024;
/// The largest body of a form that uploads a file ([`access::takes_files`]): a register of a
/// 100,000-person organisation as CSV.
const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;

/// A signed-in request: who, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct Signed {
    pub viewer: Viewer,
    pub csrf: String,
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax (so a link from an email still arrives signed
/// in, while forms carry CSRF tokens), Path=/, Secure when served over TLS. `None` clears it.
pub(crate) fn set_cookie(state: &AppState, name: &str, value: Option<&str>) -> HeaderValue {
    let secure = if state.options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let text = match value {
        Some(v) => format!("{name}={v}; Path=/; HttpOnly; SameSite=Lax{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The client's address, for throttling.
pub(crate) fn client_addr(request_extensions: &axum::http::Extensions) -> IpAddr {
    request_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The token a signed-in session's forms carry.
pub(crate) fn session_csrf(csrf_secret: &str, token_hash: &str) -> String {
    steward_auth::csrf_token(csrf_secret.as_bytes(), token_hash)
}

/// The `csrf` field of a url-encoded form body.
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded_pairs(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte).
pub(crate) fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(part: &[u8]) -> String {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < part.len() => {
                    let hex = std::str::from_utf8(&part[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let k = decode(it.next().unwrap_or_default());
            let v = decode(it.next().unwrap_or_default());
            (k, v)
        })
        .collect()
}

/// A posted form's fields, in order (a name may repeat, as checkboxes do), and its files.
pub(crate) struct Form {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

/// A file posted with a form.
pub(crate) struct Upload {
    /// The form field it came in.
    pub field: String,
    /// The name the browser gave it (no path).
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// How a request's body is encoded: url-encoded, or multipart with this boundary.
fn multipart_boundary(headers: &HeaderMap) -> Result<Option<String>, WebError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    crate::multipart::boundary(content_type)
        .transpose()
        .map_err(WebError::BadRequest)
}

/// Reads a body, refusing more than `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, WebError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        WebError::BadRequest(format!(
            "the form is too large (at most {} KiB here)",
            limit / 1024
        ))
    })
}

impl Form {
    /// Reads a url-encoded body, or — on a route that takes files — a multipart one.
    pub(crate) async fn read(request: Request) -> Result<Form, WebError> {
        let boundary = multipart_boundary(request.headers())?;
        let limit = if boundary.is_some() {
            UPLOAD_LIMIT
        } else {
            FORM_LIMIT
        };
        let bytes = read_body(request.into_body(), limit).await?;
        let Some(boundary) = boundary else {
            return Ok(Form {
                fields: form_urlencoded_pairs(&bytes),
                files: Vec::new(),
            });
        };
        let mut form = Form {
            fields: Vec::new(),
            files: Vec::new(),
        };
        for part in crate::multipart::parts(&boundary, &bytes).map_err(WebError::BadRequest)? {
            match part.filename {
                // A file input left empty still sends a part, with an empty file name.
                Some(filename) if filename.is_empty() && part.body.is_empty() => {}
                Some(filename) => form.files.push(Upload {
                    field: part.name,
                    // Some browsers send the whole path; only the name is the user's business.
                    filename: match filename.rsplit(['/', '\\']).next() {
                        Some(name) if !name.trim().is_empty() => name.to_owned(),
                        _ => "the uploaded file".to_owned(),
                    },
                    bytes: part.body.to_vec(),
                }),
                None => {
                    let value = String::from_utf8(part.body.to_vec()).map_err(|_| {
                        WebError::BadRequest(format!("{}: not UTF-8 text", part.name))
                    })?;
                    form.fields.push((part.name, value));
                }
            }
        }
        Ok(form)
    }

    /// The file posted in `field`, if one was chosen, taken out of the form.
    pub(crate) fn take_file(&mut self, field: &str) -> Option<Upload> {
        let i = self.files.iter().position(|f| f.field == field)?;
        Some(self.files.swap_remove(i))
    }

    /// A field's value, trimmed; empty when absent.
    pub(crate) fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// Every value of a repeated field.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD)
}

/// Every routed request passes here. Public routes go straight on; others need a live session
/// past its second factor, access under the route's rule, and on a write a CSRF token bound to
/// the session.
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match admit(&state, request).await {
        Ok(Admitted::Go(request)) => next.run(*request).await,
        Ok(Admitted::SignIn) => Redirect::to("/login").into_response(),
        Ok(Admitted::ChoosePassword) => Redirect::to("/account/password").into_response(),
        Err(e) => e.into_response(),
    }
}

enum Admitted {
    Go(Box<Request>),
    SignIn,
    /// An administrator asked for a new password: nothing else until it is chosen.
    ChoosePassword,
}

async fn admit(state: &AppState, request: Request) -> Result<Admitted, WebError> {
    let method = request.method().clone();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(spec) = access::route(method.as_str(), &path) else {
        return Err(WebError::NotFound);
    };
    if spec.access == Access::Public {
        return Ok(Admitted::Go(Box::new(request)));
    }
    let Some(token) = cookie(request.headers(), session_cookie(state)) else {
        return Ok(Admitted::SignIn);
    };
    let now = Utc::now();
    let found = blocking(state, move |s| {
        let Some(session) = s.live_session(&token, now)? else {
            return Ok(None);
        };
        if !session.mfa_passed {
            return Ok(None);
        }
        let viewer = s.viewer(&session.email)?;
        Ok(Some((session, viewer)))
    })
    .await?;
    let Some((session, viewer)) = found else {
        return Ok(Admitted::SignIn);
    };
    if viewer.must_change_password && !matches!(path.as_str(), "/account/password" | "/logout") {
        return Ok(Admitted::ChoosePassword);
    }
    if !access::allows(spec.access, method.as_str(), &viewer) {
        return Err(WebError::Forbidden);
    }
    let csrf = session_csrf(&session.csrf_secret, &session.token_hash);
    let mut request = request;
    if is_write(&method) {
        let (parts, body) = request.into_parts();
        let boundary = multipart_boundary(&parts.headers)?;
        if boundary.is_some() && !access::takes_files(spec) {
            return Err(WebError::BadRequest("this form does not take files".into()));
        }
        let limit = if boundary.is_some() {
            UPLOAD_LIMIT
        } else {
            FORM_LIMIT
        };
        let bytes = read_body(body, limit).await?;
        let presented = match &boundary {
            None => form_field(&bytes, "csrf"),
            Some(boundary) => crate::multipart::parts(boundary, &bytes)
                .map_err(WebError::BadRequest)?
                .into_iter()
                .find(|p| p.name == "csrf" && p.filename.is_none())
                .and_then(|p| String::from_utf8(p.body.to_vec()).ok()),
        }
        .unwrap_or_default();
        if !steward_auth::csrf_ok(
            session.csrf_secret.as_bytes(),
            &session.token_hash,
            &presented,
        ) {
            return Err(WebError::BadCsrf);
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(Signed { viewer, csrf });
    Ok(Admitted::Go(Box::new(request)))
}
