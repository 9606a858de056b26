//! Getting a bearer token: OAuth 2.0 client credentials (the Microsoft identity platform, Jamf
//! Pro) through the `oauth2` crate, and Google's service-account grant — an RS256 assertion
//! signed with the account's private key (`jsonwebtoken`) exchanged at the token endpoint. A
//! token is kept until shortly before it expires, or until the API refuses it.

use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde::Deserialize;

use crate::ConnectError;
use crate::http::{Bearer, Http, vendor_message};

/// A token and when to stop using it.
struct Held {
    token: String,
    until: Instant,
}

fn fresh(held: &Option<Held>) -> Option<String> {
    held.as_ref()
        .filter(|h| Instant::now() < h.until)
        .map(|h| h.token.clone())
}

/// Kept a minute less than the server says, so that a token does not expire in flight.
fn until(expires_in: Option<Duration>) -> Instant {
    let life = expires_in.unwrap_or(Duration::from_secs(3600));
    Instant::now()
        + life
            .saturating_sub(Duration::from_secs(60))
            .max(Duration::from_secs(5))
}

/// The OAuth 2.0 client credentials grant, the client's id and secret in the request body (as
/// both the Microsoft identity platform and Jamf Pro document it).
pub struct ClientCredentials {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    held: Option<Held>,
    /// Tokens obtained during the run, for its report.
    pub issued: u32,
}

impl ClientCredentials {
    pub fn new(
        token_url: String,
        client_id: String,
        client_secret: String,
        scopes: Vec<String>,
    ) -> ClientCredentials {
        ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scopes,
            held: None,
            issued: 0,
        }
    }
}

impl Bearer for ClientCredentials {
    fn token(&mut self, http: &Http, renew: bool) -> Result<String, ConnectError> {
        if !renew && let Some(token) = fresh(&self.held) {
            return Ok(token);
        }
        let token_url =
            TokenUrl::new(self.token_url.clone()).map_err(|e| ConnectError::Setting {
                key: "token_url".into(),
                reason: e.to_string(),
            })?;
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url);
        let mut request = client.exchange_client_credentials();
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let response = request.request(http.client()).map_err(|e| {
            let reason = match &e {
                oauth2::RequestTokenError::ServerResponse(r) => match r.error_description() {
                    Some(d) => format!("{}: {d}", r.error()),
                    None => r.error().to_string(),
                },
                oauth2::RequestTokenError::Request(_) => {
                    "could not reach the token endpoint".into()
                }
                oauth2::RequestTokenError::Parse(_, _) => {
                    "the token endpoint's answer is not a token".into()
                }
                oauth2::RequestTokenError::Other(o) => o.clone(),
            };
            ConnectError::Token {
                url: crate::http::shown(&self.token_url),
                reason: reason
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(300)
                    .collect(),
            }
        })?;
        self.issued += 1;
        let token = response.access_token().secret().clone();
        self.held = Some(Held {
            token: token.clone(),
            until: until(response.expires_in()),
        });
        Ok(token)
    }

    fn renewable(&self) -> bool {
        true
    }
}

/// A Google service account's key file, as the Cloud console downloads it (only what the grant
/// needs is read).
#[derive(Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

/// Google's service-account grant with domain-wide delegation: the assertion names the account
/// (`iss`), the administrator it acts for (`sub`), the scopes and the token endpoint (`aud`).
pub struct ServiceAccount {
    pub key: ServiceAccountKey,
    pub subject: String,
    pub scopes: Vec<String>,
    pub token_url: String,
    held: Option<Held>,
    pub issued: u32,
}

impl ServiceAccount {
    pub fn new(
        key: ServiceAccountKey,
        subject: String,
        scopes: Vec<String>,
        token_url: String,
    ) -> ServiceAccount {
        ServiceAccount {
            key,
            subject,
            scopes,
            token_url,
            held: None,
            issued: 0,
        }
    }
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: String,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct GoogleToken {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Bearer for ServiceAccount {
    fn token(&mut self, http: &Http, renew: bool) -> Result<String, ConnectError> {
        if !renew && let Some(token) = fresh(&self.held) {
            return Ok(token);
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: &self.key.client_email,
            sub: &self.subject,
            scope: self.scopes.join(" "),
            aud: &self.token_url,
            iat: now,
            exp: now + 3600,
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.key.private_key_id.clone();
        let signing = jsonwebtoken::EncodingKey::from_rsa_pem(self.key.private_key.as_bytes())
            .map_err(|_| ConnectError::Setting {
                key: "secret".into(),
                reason: "the service account's private_key is not an RSA key in PEM".into(),
            })?;
        let assertion = jsonwebtoken::encode(&header, &claims, &signing).map_err(|e| {
            ConnectError::Setting {
                key: "secret".into(),
                reason: format!("cannot sign the assertion: {e}"),
            }
        })?;
        let shown = crate::http::shown(&self.token_url);
        let response = http.send(|| {
            http.client().post(&self.token_url).form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
        })?;
        let status = response.status();
        let body = response.text().unwrap_or_default();
        if !status.is_success() {
            return Err(ConnectError::Token {
                url: shown,
                reason: vendor_message(&body),
            });
        }
        let token: GoogleToken = serde_json::from_str(&body).map_err(|_| ConnectError::Token {
            url: shown,
            reason: "the token endpoint's answer is not a token".into(),
        })?;
        self.issued += 1;
        self.held = Some(Held {
            token: token.access_token.clone(),
            until: until(token.expires_in.map(Duration::from_secs)),
        });
        Ok(token.access_token)
    }

    fn renewable(&self) -> bool {
        true
    }
}
