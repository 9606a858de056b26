//! The connectors' HTTP client: JSON over HTTPS with a bearer token, and everything a long
//! listing meets on the way — throttling (429 with `Retry-After`, Google's `rateLimitExceeded`),
//! a token that expires mid-listing (renewed once and the request repeated), transient failures
//! (5xx, timeouts, a dropped connection: bounded exponential backoff with full jitter) and
//! answers that are not what was asked for (malformed JSON: the run fails, nothing is applied).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RETRY_AFTER};
use serde_json::Value as Json;

use crate::ConnectError;

/// How hard a request is tried before the run gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries for a transient failure (5xx, timeout, connection lost), the first included.
    pub attempts: u32,
    /// Throttled answers waited out before giving up.
    pub throttles: u32,
    /// The first backoff; each further one doubles, up to `max_wait`.
    pub base: Duration,
    /// The longest single wait, whatever `Retry-After` asks.
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 5,
            throttles: 20,
            base: Duration::from_millis(500),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// What authorises a request: a bearer token that can be renewed (OAuth) or one that cannot
/// (a personal access token).
pub trait Bearer {
    /// The token to send; `renew` asks for a fresh one because the last was refused.
    fn token(&mut self, http: &Http, renew: bool) -> Result<String, ConnectError>;
    /// Whether asking again can give a different token.
    fn renewable(&self) -> bool;
}

/// A token that never changes (Snipe-IT's personal access token).
pub struct Fixed(pub String);

impl Bearer for Fixed {
    fn token(&mut self, _: &Http, _: bool) -> Result<String, ConnectError> {
        Ok(self.0.clone())
    }
    fn renewable(&self) -> bool {
        false
    }
}

/// A JSON client for one connector's run.
pub struct Http {
    client: Client,
    retry: Retry,
    /// Requests sent, retries included, for the run's report.
    pub sent: std::cell::Cell<u64>,
}

impl Http {
    pub fn new(retry: Retry, timeout: Duration) -> Result<Http, ConnectError> {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            // A token endpoint or an API that redirects is not followed: a redirect could carry
            // the bearer token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("steward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectError::Client(e.to_string()))?;
        Ok(Http {
            client,
            retry,
            sent: std::cell::Cell::new(0),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `GET url` as JSON, through throttling, token renewal and transient failures.
    pub fn get_json(&self, url: &str, auth: &mut dyn Bearer) -> Result<Json, ConnectError> {
        let shown = shown(url);
        let mut failures = 0;
        let mut throttled = 0;
        let mut renewed = false;
        loop {
            let token = auth.token(self, false)?;
            let request = self
                .client
                .get(url)
                .header(ACCEPT, "application/json")
                .header(AUTHORIZATION, format!("Bearer {token}"));
            self.sent.set(self.sent.get() + 1);
            let response = match request.send() {
                Ok(r) => r,
                Err(e) => {
                    failures += 1;
                    if failures >= self.retry.attempts {
                        return Err(ConnectError::Unreachable {
                            url: shown,
                            reason: plain(&e),
                        });
                    }
                    self.back_off(failures, None);
                    continue;
                }
            };
            let status = response.status();
            if status.is_success() {
                let body = response.text().map_err(|e| ConnectError::Unreachable {
                    url: shown.clone(),
                    reason: plain(&e),
                })?;
                return serde_json::from_str(&body).map_err(|e| ConnectError::Malformed {
                    url: shown,
                    reason: e.to_string(),
                });
            }
            let retry_after = retry_after(response.headers());
            let body = response.text().unwrap_or_default();
            let reason = vendor_message(&body);
            match status {
                StatusCode::UNAUTHORIZED if !renewed && auth.renewable() => {
                    // An expired or revoked token: one fresh token, then the same request.
                    renewed = true;
                    auth.token(self, true)?;
                    continue;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(ConnectError::Refused {
                        url: shown,
                        status: status.as_u16(),
                        reason,
                    });
                }
                // A delta link gone stale: Graph's synchronization reset (410 Gone) or an
                // expired token (syncStateNotFound); the caller lists the feed in full instead.
                s if s == StatusCode::GONE || (s.is_client_error() && resync_asked(&body)) => {
                    return Err(ConnectError::Resync { url: shown, reason });
                }
                StatusCode::TOO_MANY_REQUESTS => {}
                StatusCode::FORBIDDEN if google_throttle(&body) => {}
                StatusCode::FORBIDDEN => {
                    return Err(ConnectError::Forbidden { url: shown, reason });
                }
                s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                    failures += 1;
                    if failures >= self.retry.attempts {
                        return Err(ConnectError::Refused {
                            url: shown,
                            status: status.as_u16(),
                            reason,
                        });
                    }
                    self.back_off(failures, retry_after);
                    continue;
                }
                _ => {
                    return Err(ConnectError::Refused {
                        url: shown,
                        status: status.as_u16(),
                        reason,
                    });
                }
            }
            // Throttled: wait as asked (or back off), a bounded number of times.
            throttled += 1;
            if throttled > self.retry.throttles {
                return Err(ConnectError::Throttled { url: shown });
            }
            self.back_off(throttled.min(6), retry_after);
        }
    }

    /// Waits before another try: what the server asked, or a random part of an exponentially
    /// growing window (full jitter), never more than `max_wait`.
    fn back_off(&self, tries: u32, asked: Option<Duration>) {
        let wait = match asked {
            Some(asked) => asked,
            None => {
                let window = self
                    .retry
                    .base
                    .saturating_mul(1u32 << tries.saturating_sub(1).min(16));
                let window = window.min(self.retry.max_wait);
                let mut bytes = [0u8; 8];
                let fraction = match getrandom::fill(&mut bytes) {
                    Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
                    Err(_) => 0.5,
                };
                window.mul_f64(fraction)
            }
        };
        std::thread::sleep(wait.min(self.retry.max_wait));
    }

    /// Sends a prepared request (a token request), with the transient-failure retries only.
    pub fn send(
        &self,
        request: impl Fn() -> reqwest::blocking::RequestBuilder,
    ) -> Result<Response, ConnectError> {
        let mut failures = 0;
        loop {
            self.sent.set(self.sent.get() + 1);
            match request().send() {
                Ok(r) if r.status().is_server_error() && failures + 1 < self.retry.attempts => {
                    failures += 1;
                    let asked = retry_after(r.headers());
                    self.back_off(failures, asked);
                }
                Ok(r) => return Ok(r),
                Err(e) => {
                    failures += 1;
                    if failures >= self.retry.attempts {
                        return Err(ConnectError::Unreachable {
                            url: e.url().map(|u| shown(u.as_str())).unwrap_or_default(),
                            reason: plain(&e),
                        });
                    }
                    self.back_off(failures, None);
                }
            }
        }
    }
}

/// `Retry-After` in seconds (an HTTP date is read as "a little while").
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => Some(Duration::from_secs(5)),
    }
}

/// Google answers a quota breach with 403 (or 429) and a reason word.
fn google_throttle(body: &str) -> bool {
    body.contains("rateLimitExceeded") || body.contains("userRateLimitExceeded")
}

/// Graph's error codes for a change-tracking token it no longer honours ("Microsoft Graph error
/// responses and resource types", code property).
fn resync_asked(body: &str) -> bool {
    serde_json::from_str::<Json>(body)
        .ok()
        .and_then(|j| j.pointer("/error/code")?.as_str().map(str::to_owned))
        .is_some_and(|code| {
            code.eq_ignore_ascii_case("syncStateNotFound")
                || code.eq_ignore_ascii_case("resyncRequired")
        })
}

/// The vendor's own words for a refusal: Graph's and Google's `error.message`, OAuth's
/// `error_description`, Snipe-IT's `messages`; otherwise the start of the body.
pub fn vendor_message(body: &str) -> String {
    let json: Option<Json> = serde_json::from_str(body).ok();
    let found = json.as_ref().and_then(|j| {
        j.pointer("/error/message")
            .or_else(|| j.get("error_description"))
            .or_else(|| j.get("messages"))
            .or_else(|| j.get("message"))
            .or_else(|| j.get("error"))
            .map(|m| match m {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
    });
    let text = found.unwrap_or_else(|| body.chars().take(200).collect());
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}

/// A url as errors show it: without its query, which may be long and is no one's business.
pub fn shown(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// A transport error in words, without the url (which `shown` gives).
fn plain(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        let mut text = e.to_string();
        if let Some(u) = e.url() {
            text = text.replace(u.as_str(), &shown(u.as_str()));
        }
        text
    }
}
