//! Single sign-on with the organisation's Microsoft (Entra ID) or Google account, by OpenID
//! Connect through the `openidconnect` crate: the authorisation code flow with PKCE (S256),
//! `state` and `nonce`; the ID token's signature checked against the provider's published keys
//! (fetched again once when a token names a key not yet seen, as keys rotate), its issuer,
//! audience, expiry and nonce checked; then the tenant restriction — Entra ID's `tid` must be
//! the organisation's directory, Google's `hd` its Workspace domain, and Google's address
//! verified.
//!
//! What comes out is an [`Identity`]: who the provider says this is. Whether that signs anyone
//! in to Steward (an account, a link, a leaver) is the service's to decide; keeping `state`,
//! `nonce` and the PKCE verifier between the two legs is the caller's. Nothing here logs or
//! returns a secret, a code or a token.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, Client,
    ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
};

/// How long discovered metadata and keys are used before they are read again.
const METADATA_FOR: Duration = Duration::from_secs(3600);
/// The shortest time between two readings of the keys prompted by an unknown key, so that
/// tokens naming made-up keys cannot make Steward hammer the provider.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(30);
/// How long a call to the provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The providers Steward signs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provider {
    Microsoft,
    Google,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Microsoft, Provider::Google];

    /// The word in routes (`/auth/microsoft`), settings and links.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Microsoft => "microsoft",
            Provider::Google => "google",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Microsoft => "Microsoft",
            Provider::Google => "Google",
        }
    }

    pub fn parse(word: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == word)
    }
}

/// The name people know it by, as messages name it.
impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Why single sign-on did not go on. Messages are lower case and never hold a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoError {
    #[error("{provider} sign-in is not set up right: {reason}")]
    Settings { provider: Provider, reason: String },
    #[error("cannot read {provider}'s sign-in settings: {reason}")]
    Discovery { provider: Provider, reason: String },
    #[error("{provider} did not exchange the sign-in code: {reason}")]
    Exchange { provider: Provider, reason: String },
    /// The ID token failed a check: its signature, issuer, audience, expiry or nonce.
    #[error("{provider}'s answer failed a check: {reason}")]
    Token { provider: Provider, reason: String },
    /// A good token from outside the organisation's tenant or domain.
    #[error("this {provider} account is not in the organisation's {what}")]
    Tenant {
        provider: Provider,
        what: &'static str,
    },
    #[error("{provider} did not give a verified email address for this account")]
    NoEmail { provider: Provider },
}

/// One provider as the organisation set it up.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    pub provider: Provider,
    /// The application (client) id the provider gave Steward's registration.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// Entra ID: the organisation's directory (tenant) id, a GUID. Required for Microsoft.
    pub tenant: Option<String>,
    /// Google: the organisation's Workspace domain (the `hd` claim). Required for Google.
    pub hosted_domain: Option<String>,
    /// The issuer, when not the provider's usual one (a sovereign cloud; a provider in tests).
    pub issuer: Option<String>,
    /// The provider's own second factor is trusted: Steward does not ask for its own code.
    pub trust_mfa: bool,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"…")
            .field("tenant", &self.tenant)
            .field("hosted_domain", &self.hosted_domain)
            .field("issuer", &self.issuer)
            .field("trust_mfa", &self.trust_mfa)
            .finish()
    }
}

impl ProviderSettings {
    fn refuse(&self, reason: impl Into<String>) -> SsoError {
        SsoError::Settings {
            provider: self.provider,
            reason: reason.into(),
        }
    }

    /// The issuer the provider's tokens must name.
    pub fn issuer(&self) -> Result<String, SsoError> {
        if let Some(issuer) = &self.issuer {
            return Ok(issuer.trim_end_matches('/').to_owned());
        }
        Ok(match self.provider {
            Provider::Microsoft => format!(
                "https://login.microsoftonline.com/{}/v2.0",
                self.tenant_id()?
            ),
            Provider::Google => "https://accounts.google.com".to_owned(),
        })
    }

    fn tenant_id(&self) -> Result<&str, SsoError> {
        let tenant = self.tenant.as_deref().map(str::trim).unwrap_or_default();
        let guid = tenant.len() == 36
            && tenant.chars().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if guid {
            Ok(tenant)
        } else {
            Err(self.refuse(
                "`tenant` must be the directory (tenant) id, a GUID such as \
                 11111111-2222-3333-4444-555555555555 (not `common`, `organizations` or a domain)",
            ))
        }
    }

    /// Checks the settings hold together: ids present, the tenant restriction set, the issuer
    /// an `https` address (or plain `http` on loopback, for a provider run beside Steward).
    pub fn check(&self) -> Result<(), SsoError> {
        if self.client_id.trim().is_empty() {
            return Err(self.refuse("`client_id` is empty"));
        }
        if self.client_secret.trim().is_empty() {
            return Err(self.refuse("there is no client secret"));
        }
        match self.provider {
            Provider::Microsoft => {
                self.tenant_id()?;
            }
            Provider::Google => {
                let domain = self.hosted_domain.as_deref().unwrap_or_default().trim();
                if domain.is_empty() || !domain.contains('.') || domain.contains(['/', '@', ' ']) {
                    return Err(self.refuse(
                        "`hosted_domain` must be the organisation's Google Workspace domain, \
                         such as example.org",
                    ));
                }
            }
        }
        let issuer = self.issuer()?;
        let url = url::Url::parse(&issuer)
            .map_err(|e| self.refuse(format!("`issuer` {issuer:?} is not an address: {e}")))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(self.refuse(format!("`issuer` {issuer:?} must be an https address")));
        }
        Ok(())
    }
}

/// Claims beyond the standard ones that the tenant restriction reads.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct TenantClaims {
    /// Entra ID: the directory the account belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<String>,
    /// Google: the Workspace domain of the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hd: Option<String>,
}

impl AdditionalClaims for TenantClaims {}

type Fields = IdTokenFields<
    TenantClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<Fields, CoreTokenType>;
type OidcClient = Client<
    TenantClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A sign-in sent to the provider: the address to send the browser to, and what must be kept
/// until it comes back (never sent anywhere else).
#[derive(Clone, PartialEq, Eq)]
pub struct Start {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for Start {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Start { … }")
    }
}

/// What [`Sso::probe`] found of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// Signing keys it publishes.
    pub keys: usize,
    /// Where it must send people back to: the registration's redirect URI.
    pub redirect_url: String,
}

/// Who the provider says signed in, after every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub provider: Provider,
    /// The provider's immutable subject for this person (`sub`).
    pub subject: String,
    /// The email address (lower case): Google's verified `email`; Entra ID's `email`, or its
    /// `preferred_username` when that is an address. `None` when there is none.
    pub email: Option<String>,
    pub name: Option<String>,
    /// Whether the token's `amr` says a second factor was used; `None` when it has no `amr`.
    pub provider_mfa: Option<bool>,
}

/// One provider's client: its settings, where it sends people back to, and its metadata and
/// keys as last read.
pub struct Sso {
    settings: ProviderSettings,
    redirect_url: RedirectUrl,
    http: reqwest::blocking::Client,
    metadata: Mutex<Kept>,
}

/// The provider's metadata and keys as last read, and when the keys were last read again
/// because a token named a key not among them.
#[derive(Default)]
struct Kept {
    read: Option<(Instant, CoreProviderMetadata)>,
    refreshed: Option<Instant>,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Sso {
    /// A client for `settings`, sending people back to `redirect_url`
    /// (`{public_url}/auth/{provider}/callback`).
    pub fn new(settings: ProviderSettings, redirect_url: &str) -> Result<Sso, SsoError> {
        settings.check()?;
        let redirect_url = RedirectUrl::new(redirect_url.to_owned()).map_err(|e| {
            settings.refuse(format!(
                "the return address {redirect_url:?} is not an address: {e}"
            ))
        })?;
        let http = reqwest::blocking::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            // A redirect from the provider's endpoints is not followed: it could carry the
            // client secret or a code elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("steward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| settings.refuse(format!("cannot make an HTTP client: {e}")))?;
        Ok(Sso {
            settings,
            redirect_url,
            http,
            metadata: Mutex::new(Kept::default()),
        })
    }

    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    pub fn provider(&self) -> Provider {
        self.settings.provider
    }

    /// The provider's metadata and keys: as last read if recent enough, else read now. With
    /// `fresh` (a token named a key not among them) they are read again now, unless that was
    /// done moments ago.
    fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, SsoError> {
        let provider = self.settings.provider;
        let unreadable = || SsoError::Discovery {
            provider,
            reason: "the kept settings are unreadable".into(),
        };
        {
            let mut kept = self.metadata.lock().map_err(|_| unreadable())?;
            let recently = kept
                .refreshed
                .is_some_and(|at| at.elapsed() < REFRESH_AT_MOST_EVERY);
            match &kept.read {
                Some((at, metadata)) if at.elapsed() < METADATA_FOR && (!fresh || recently) => {
                    return Ok(metadata.clone());
                }
                _ => {}
            }
            if fresh {
                kept.refreshed = Some(Instant::now());
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer()?).map_err(|e| SsoError::Discovery {
            provider,
            reason: e.to_string(),
        })?;
        // Discovery checks that the document names this issuer, and reads the keys too.
        let metadata = CoreProviderMetadata::discover(&issuer, &self.http).map_err(|e| {
            SsoError::Discovery {
                provider,
                reason: chain(&e),
            }
        })?;
        if let Ok(mut kept) = self.metadata.lock() {
            kept.read = Some((Instant::now(), metadata.clone()));
        }
        Ok(metadata)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> OidcClient {
        OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect_url.clone())
    }

    /// Reads the provider's metadata and keys afresh, as a sign-in would: what an operator
    /// checks before turning passwords off.
    pub fn probe(&self) -> Result<Probe, SsoError> {
        let metadata = self.metadata(true)?;
        Ok(Probe {
            issuer: metadata.issuer().as_str().to_owned(),
            authorization_endpoint: metadata.authorization_endpoint().as_str().to_owned(),
            token_endpoint: metadata
                .token_endpoint()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            keys: metadata.jwks().keys().len(),
            redirect_url: self.redirect_url.as_str().to_owned(),
        })
    }

    /// Starts a sign-in: a fresh `state`, `nonce` and PKCE verifier, and the provider's address
    /// to send the browser to with them.
    pub fn start(&self) -> Result<Start, SsoError> {
        let client = self.client(self.metadata(false)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if let (Provider::Google, Some(domain)) =
            (self.settings.provider, &self.settings.hosted_domain)
        {
            // Google shows only the domain's accounts; the token's `hd` is still checked.
            request = request.add_extra_param("hd", domain.trim().to_owned());
        }
        let (url, state, nonce) = request.url();
        Ok(Start {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a sign-in: exchanges `code` (with the PKCE verifier kept from [`Sso::start`])
    /// and checks the ID token against `nonce`, the provider's keys and the tenant restriction.
    pub fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, SsoError> {
        let provider = self.settings.provider;
        let client = self.client(self.metadata(false)?);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::Exchange {
                provider,
                reason: e.to_string(),
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request(&self.http)
            .map_err(|e| SsoError::Exchange {
                provider,
                reason: exchange_reason(&e),
            })?;
        let id_token = response
            .extra_fields()
            .id_token()
            .ok_or_else(|| SsoError::Exchange {
                provider,
                reason: "the answer holds no ID token".into(),
            })?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // A key not yet seen: the provider may have rotated its keys since they were read.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let client = self.client(self.metadata(true)?);
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| token_refused(provider, &e))?
                    .clone()
            }
            Err(e) => return Err(token_refused(provider, &e)),
        };
        let extra = claims.additional_claims();
        match provider {
            Provider::Microsoft => {
                let tenant = self.settings.tenant_id()?;
                if !extra
                    .tid
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(tenant))
                {
                    return Err(SsoError::Tenant {
                        provider,
                        what: "directory",
                    });
                }
            }
            Provider::Google => {
                let domain = self.settings.hosted_domain.as_deref().unwrap_or_default();
                if !extra
                    .hd
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(domain.trim()))
                {
                    return Err(SsoError::Tenant {
                        provider,
                        what: "Workspace domain",
                    });
                }
            }
        }
        let email = match provider {
            // Google's address counts only if Google verified it.
            Provider::Google => claims
                .email()
                .filter(|_| claims.email_verified() == Some(true))
                .map(|e| e.as_str().to_owned()),
            // Entra ID's come from the organisation's own directory (the tenant is checked).
            Provider::Microsoft => claims.email().map(|e| e.as_str().to_owned()).or_else(|| {
                claims
                    .preferred_username()
                    .map(|u| u.as_str().to_owned())
                    .filter(|u| u.contains('@'))
            }),
        }
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().trim().to_owned())
            .filter(|n| !n.is_empty());
        let provider_mfa = claims
            .auth_method_refs()
            .map(|amr| amr.iter().any(|m| m.as_str() == "mfa"));
        Ok(Identity {
            provider,
            subject: claims.subject().as_str().to_owned(),
            email,
            name,
            provider_mfa,
        })
    }
}

fn token_refused(provider: Provider, e: &ClaimsVerificationError) -> SsoError {
    let reason = match e {
        ClaimsVerificationError::Expired(_) => "it has expired".to_owned(),
        ClaimsVerificationError::InvalidAudience(_) => "it is for another application".to_owned(),
        ClaimsVerificationError::InvalidIssuer(_) => "it is from another issuer".to_owned(),
        ClaimsVerificationError::InvalidNonce(_) => {
            "its nonce is not the one this sign-in sent".to_owned()
        }
        ClaimsVerificationError::SignatureVerification(s) => {
            format!(
                "its signature does not verify ({})",
                s.to_string().to_lowercase()
            )
        }
        other => other.to_string().to_lowercase(),
    };
    SsoError::Token { provider, reason }
}

/// What a failed exchange says, without the body of the answer (which could echo a secret).
fn exchange_reason<E: std::error::Error>(
    e: &oauth2::RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>,
) -> String {
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => format!("the provider said {}", r.error()),
        oauth2::RequestTokenError::Request(r) => format!("the request failed: {}", chain(r)),
        oauth2::RequestTokenError::Parse(_, _) => "the answer is not a token response".into(),
        oauth2::RequestTokenError::Other(o) => o.clone(),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(provider: Provider) -> ProviderSettings {
        ProviderSettings {
            provider,
            client_id: "client".into(),
            client_secret: "secret".into(),
            tenant: Some("11111111-2222-3333-4444-555555555555".into()),
            hosted_domain: Some("example.org".into()),
            issuer: None,
            trust_mfa: false,
        }
    }

    #[test]
    fn the_usual_issuers() {
        assert_eq!(
            settings(Provider::Microsoft).issuer().as_deref(),
            Ok("https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0")
        );
        assert_eq!(
            settings(Provider::Google).issuer().as_deref(),
            Ok("https://accounts.google.com")
        );
    }

    #[test]
    fn settings_that_do_not_hold_are_refused() {
        type Change = Box<dyn Fn(&mut ProviderSettings)>;
        let cases: Vec<(Provider, Change, &str)> = vec![
            (
                Provider::Microsoft,
                Box::new(|s| s.tenant = Some("common".into())),
                "tenant",
            ),
            (Provider::Microsoft, Box::new(|s| s.tenant = None), "tenant"),
            (
                Provider::Microsoft,
                Box::new(|s| s.tenant = Some("contoso.onmicrosoft.com".into())),
                "tenant",
            ),
            (
                Provider::Google,
                Box::new(|s| s.hosted_domain = None),
                "hosted_domain",
            ),
            (
                Provider::Google,
                Box::new(|s| s.hosted_domain = Some("gmail".into())),
                "hosted_domain",
            ),
            (
                Provider::Google,
                Box::new(|s| s.client_secret = " ".into()),
                "client secret",
            ),
            (
                Provider::Microsoft,
                Box::new(|s| s.client_id = String::new()),
                "client_id",
            ),
            (
                Provider::Google,
                Box::new(|s| s.issuer = Some("http://idp.example.org".into())),
                "https",
            ),
            (
                Provider::Google,
                Box::new(|s| s.issuer = Some("not an address".into())),
                "issuer",
            ),
        ];
        for (provider, change, word) in cases {
            let mut s = settings(provider);
            change(&mut s);
            let refused = s.check().expect_err("refused");
            assert!(refused.to_string().contains(word), "{refused}");
        }
        let mut local = settings(Provider::Google);
        local.issuer = Some("http://127.0.0.1:9000/google".into());
        assert_eq!(local.check(), Ok(()));
    }

    #[test]
    fn no_secret_in_debug() {
        let text = format!("{:?}", settings(Provider::Google));
        assert!(!text.contains("secret\""), "{text}");
        assert!(text.contains("client_secret: \"…\""), "{text}");
    }
}
