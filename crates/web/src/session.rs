//! Cookies, sessions and the guard every route passes: who is signed in, whether the route in
//! [`crate::access::ROUTES`] lets them in, and whether a form carries its CSRF token.
//!
//! A url-encoded form's token is checked here, in the guard. A form that uploads a file
//! (`multipart/form-data`, only on [`access::takes_files`] routes) carries its token inside a
//! body the handler streams through axum's `Multipart`: the guard marks such a request
//! [`PendingUpload`] instead of [`Signed`], and only [`UploadForm`] turns it into a signed form,
//! after checking the token with the same function. A handler that asked for `Signed` on such a
//! request would find none and refuse.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::multipart::MultipartError;
use axum::extract::{ConnectInfo, FromRequest, MatchedPath, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
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
/// 100,000-person organisation as CSV. The router sets it as those routes' `DefaultBodyLimit`,
/// which axum's `Multipart` enforces.
pub(crate) const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;
/// The most parts one uploaded form may have: an upload form has a handful; a mapped CSV
/// connector's mapping form (`mapping`) one or two for each field of its target, the 20 of a
/// device's most.
const MOST_PARTS: usize = 64;

/// A signed-in request: who, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct Signed {
    pub viewer: Viewer,
    pub csrf: String,
    /// The audit log's head as the request began: pages that keep what they derive from the
    /// data between requests keep it for this head.
    pub audit_seq: i64,
    /// The organisation's time zone, in which every time is shown.
    pub zone: chrono_tz::Tz,
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

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte, bytes that
/// are not UTF-8 replaced), in order.
pub(crate) fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
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

/// Whether a request's body is `multipart/form-data`: a form that uploads a file.
fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("multipart/form-data"))
}

fn too_large(limit: usize) -> WebError {
    WebError::BadRequest(format!(
        "the form is too large (at most {} KiB here)",
        limit / 1024
    ))
}

/// Reads a body, refusing more than `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, WebError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(limit))
}

/// Why a multipart body could not be read, in the words of a form's errors.
fn unreadable(e: MultipartError) -> WebError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(UPLOAD_LIMIT);
    }
    let reason = e.body_text();
    let mut chars = reason.chars();
    let reason = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => reason,
    };
    WebError::BadRequest(format!("the form could not be read: {reason}"))
}

impl Form {
    /// Reads a url-encoded body. A form that uploads a file is read by [`UploadForm`].
    pub(crate) async fn read(request: Request) -> Result<Form, WebError> {
        if is_multipart(request.headers()) {
            return Err(WebError::BadRequest("this form does not take files".into()));
        }
        let bytes = read_body(request.into_body(), FORM_LIMIT).await?;
        Ok(Form {
            fields: form_urlencoded_pairs(&bytes),
            files: Vec::new(),
        })
    }

    /// Reads a `multipart/form-data` body through axum's `Multipart` (which holds it to the
    /// route's body limit), refusing it as soon as its `csrf` field is not the session's token,
    /// and at its end if it had none.
    async fn read_multipart(
        mut multipart: Multipart,
        pending: &PendingUpload,
    ) -> Result<Form, WebError> {
        let mut form = Form {
            fields: Vec::new(),
            files: Vec::new(),
        };
        let mut token_checked = false;
        let mut parts = 0;
        while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
            parts += 1;
            if parts > MOST_PARTS {
                return Err(WebError::BadRequest(format!(
                    "the form has more than {MOST_PARTS} parts"
                )));
            }
            let Some(name) = field.name().map(str::to_owned) else {
                return Err(WebError::BadRequest(
                    "a part of the form has no field name".into(),
                ));
            };
            let filename = field.file_name().map(str::to_owned);
            let body = field.bytes().await.map_err(unreadable)?;
            match filename {
                // A file input left empty still sends a part, with an empty file name.
                Some(filename) if filename.is_empty() && body.is_empty() => {}
                Some(filename) => form.files.push(Upload {
                    field: name,
                    // Some browsers send the whole path; only the name is the user's business.
                    filename: match filename.rsplit(['/', '\\']).next() {
                        Some(name) if !name.trim().is_empty() => name.to_owned(),
                        _ => "the uploaded file".to_owned(),
                    },
                    // Taken over without a copy when the body is its only owner.
                    bytes: Vec::from(body),
                }),
                None => {
                    let value = String::from_utf8(Vec::from(body))
                        .map_err(|_| WebError::BadRequest(format!("{name}: not UTF-8 text")))?;
                    // The first token decides, before anything after it is read.
                    if name == "csrf" && !token_checked {
                        if !pending.token_ok(&value) {
                            return Err(WebError::BadCsrf);
                        }
                        token_checked = true;
                    }
                    form.fields.push((name, value));
                }
            }
        }
        if !token_checked {
            return Err(WebError::BadCsrf);
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

/// A signed-in upload whose CSRF token is still inside its multipart body. The guard leaves
/// this in place of [`Signed`]; only [`UploadForm`] turns it into one.
#[derive(Clone)]
pub(crate) struct PendingUpload {
    signed: Signed,
    csrf_secret: String,
    token_hash: String,
}

impl PendingUpload {
    fn token_ok(&self, presented: &str) -> bool {
        steward_auth::csrf_ok(self.csrf_secret.as_bytes(), &self.token_hash, presented)
    }
}

/// A posted form on a route that takes files ([`access::takes_files`]) and who posted it, its
/// CSRF token checked: multipart bodies here, url-encoded ones in the guard. Handlers of those
/// routes take this instead of `Extension<Signed>` and the request.
pub(crate) struct UploadForm {
    pub signed: Signed,
    pub form: Form,
}

impl FromRequest<AppState> for UploadForm {
    type Rejection = WebError;

    async fn from_request(mut request: Request, state: &AppState) -> Result<Self, WebError> {
        let Some(pending) = request.extensions_mut().remove::<PendingUpload>() else {
            // A url-encoded form, whose token the guard has checked; never an unguarded one.
            let signed = request
                .extensions()
                .get::<Signed>()
                .cloned()
                .ok_or(WebError::BadCsrf)?;
            let form = Form::read(request).await?;
            return Ok(UploadForm { signed, form });
        };
        let multipart = Multipart::from_request(request, state).await.map_err(|e| {
            WebError::BadRequest(format!(
                "the form could not be read: {}",
                e.body_text().to_lowercase()
            ))
        })?;
        let form = Form::read_multipart(multipart, &pending).await?;
        Ok(UploadForm {
            signed: pending.signed,
            form,
        })
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
        Ok(Admitted::Go(request)) => {
            let write = is_write(request.method());
            let response = next.run(*request).await;
            // What this server kept may predate what the request changed: its next request
            // reads afresh, without waiting for the database's notice of the change.
            if write && let Some(changes) = &state.changes {
                changes.changed();
            }
            response
        }
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
    let token_hash = steward_auth::token_hash(&token);
    // Taken before anything is read, so that a change committed meanwhile moves it on and what
    // is read now is not kept as current.
    let generation = state.changes.as_ref().and_then(|c| c.generation());
    let kept = generation.and_then(|g| {
        state
            .sessions
            .lock()
            .ok()
            .and_then(|k| k.get(&token_hash, g, now))
    });
    let found = match kept {
        Some(signed) => Some(signed),
        None => {
            let found = blocking(state, move |s| {
                // The session, its account, its person's standing and the audit head: one
                // statement.
                let Some(signed) = s.signed_in(&token, now)? else {
                    return Ok(None);
                };
                if !signed.session.mfa_passed {
                    return Ok(None);
                }
                Ok(Some(signed))
            })
            .await?;
            if let (Some(g), Some(signed)) = (generation, &found)
                && let Ok(mut kept) = state.sessions.lock()
            {
                kept.keep(token_hash, g, signed.clone());
            }
            found
        }
    };
    let Some(steward_service::SignedIn {
        session,
        viewer,
        audit_seq,
    }) = found
    else {
        return Ok(Admitted::SignIn);
    };
    if viewer.must_change_password && !matches!(path.as_str(), "/account/password" | "/logout") {
        return Ok(Admitted::ChoosePassword);
    }
    if !access::allows(spec.access, method.as_str(), &viewer) {
        return Err(WebError::Forbidden);
    }
    let csrf = session_csrf(&session.csrf_secret, &session.token_hash);
    let zone =
        *crate::derived::derived(state, audit_seq, "time_zone".into(), |s| s.time_zone()).await?;
    let signed = Signed {
        viewer,
        csrf,
        audit_seq,
        zone,
    };
    let mut request = request;
    if is_write(&method) {
        if is_multipart(request.headers()) {
            if !access::takes_files(spec) {
                return Err(WebError::BadRequest("this form does not take files".into()));
            }
            // The token is inside the body, which the handler streams: `UploadForm` checks it.
            request.extensions_mut().insert(PendingUpload {
                signed,
                csrf_secret: session.csrf_secret,
                token_hash: session.token_hash,
            });
            return Ok(Admitted::Go(Box::new(request)));
        }
        let (parts, body) = request.into_parts();
        let bytes = read_body(body, FORM_LIMIT).await?;
        let presented = form_field(&bytes, "csrf").unwrap_or_default();
        if !steward_auth::csrf_ok(
            session.csrf_secret.as_bytes(),
            &session.token_hash,
            &presented,
        ) {
            return Err(WebError::BadCsrf);
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(signed);
    Ok(Admitted::Go(Box::new(request)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_pairs_decode_as_browsers_encode_them() {
        let pairs = form_urlencoded_pairs(b"a=1+2&b=%C3%A9%2B&&c&d=%zz%4&a=3&e=%FF");
        let expected = [
            ("a", "1 2"),
            ("b", "é+"),
            ("c", ""),
            ("d", "%zz%4"),
            ("a", "3"),
            ("e", "\u{fffd}"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(pairs, expected);
        assert_eq!(
            form_field(b"x=1&csrf=t%2Bk", "csrf").as_deref(),
            Some("t+k")
        );
        // And back: links percent-encode all but RFC 3986's unreserved characters.
        assert_eq!(crate::pages::percent("Az09-._~"), "Az09-._~");
        assert_eq!(crate::pages::percent("a b/é+&"), "a%20b%2F%C3%A9%2B%26");
    }

    #[test]
    fn only_form_data_is_an_upload() {
        let cases = [
            ("multipart/form-data; boundary=abc", true),
            ("Multipart/Form-Data ; boundary=\"a b\"", true),
            ("multipart/form-data", true),
            ("multipart/mixed; boundary=abc", false),
            ("application/x-www-form-urlencoded", false),
            ("text/plain", false),
        ];
        for (content_type, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).unwrap(),
            );
            assert_eq!(is_multipart(&headers), expected, "{content_type}");
        }
        assert!(!is_multipart(&HeaderMap::new()));
    }
}
