//! Handing messages to the organisation's mail server, through lettre's SMTP client.
//!
//! Three ways to reach it, from `smtp_url`: `smtp://host[:port]` in plain SMTP to a relay (port
//! 25), `smtp://host:587` with STARTTLS (required whenever Steward signs in, or asked for with
//! `?tls=starttls`), and `smtps://host[:465]` in TLS from the first byte. Steward signs in with a
//! password (AUTH PLAIN or LOGIN, whichever the server offers) or with an OAuth 2.0 bearer token
//! (XOAUTH2, as Microsoft 365 wants once basic authentication is off).
//!
//! Credentials never cross the network in the clear: over plain SMTP (`?tls=none`) they are
//! refused unless the relay is on this machine. No secret is written to a log or an error, and
//! lettre's own command logging (its `tracing` feature) is left off, as it would log `AUTH` lines.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use lettre::Transport;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{PoolConfig, SmtpTransport};

use crate::{MailError, Result};

/// How long any one read, write or connection attempt may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A password or token: shown as `***` by `Debug`, so a settings dump cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP, to a relay that sends mail on.
    Plain,
    /// Plain SMTP upgraded with STARTTLS before anything else is said; a server that does not
    /// offer it is not used.
    StartTls,
    /// TLS from the first byte (`smtps://`, port 465).
    Tls,
}

/// Who Steward signs in as, and with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// AUTH PLAIN or LOGIN.
    Password {
        username: String,
        password: Secret,
        /// The setting the password came from, for errors.
        key: &'static str,
    },
    /// AUTH XOAUTH2 with a bearer token for the mailbox `username`.
    OAuth {
        username: String,
        token: Token,
        key: &'static str,
    },
}

/// Where the OAuth token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Given(Secret),
    /// Read afresh for every session, so that whatever renews the token (it lasts about an
    /// hour) can rewrite the file under a running server.
    File(PathBuf),
}

impl Token {
    fn read(&self) -> Result<Secret> {
        let text = match self {
            Token::Given(secret) => secret.0.clone(),
            Token::File(path) => std::fs::read_to_string(path)
                .map_err(|e| MailError::BadSetting {
                    key: "smtp_oauth_token_file",
                    reason: format!("cannot read {}: {e}", path.display()),
                })?
                .trim()
                .to_owned(),
        };
        if text.is_empty() || text.contains(char::is_whitespace) {
            return Err(MailError::BadSetting {
                key: match self {
                    Token::Given(_) => "smtp_oauth_token",
                    Token::File(_) => "smtp_oauth_token_file",
                },
                reason: "expected a bearer token: one word, not empty".into(),
            });
        }
        Ok(Secret(text))
    }
}

impl Login {
    fn key(&self) -> &'static str {
        match self {
            Login::Password { key, .. } | Login::OAuth { key, .. } => key,
        }
    }
}

/// The settings beside `smtp_url` that say how to sign in and whom to trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayOptions {
    /// `smtp_username`.
    pub username: Option<String>,
    /// `smtp_password` (or `STEWARD_SMTP_PASSWORD`).
    pub password: Option<Secret>,
    /// `smtp_oauth_token` (or `STEWARD_SMTP_OAUTH_TOKEN`).
    pub oauth_token: Option<Secret>,
    /// `smtp_oauth_token_file`: a file holding the token, read for every session.
    pub oauth_token_file: Option<PathBuf>,
    /// `smtp_ca_file`: PEM certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// Where, and how, mail is handed over.
#[derive(Clone)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub login: Option<Login>,
    /// Built once, with the extra certificates, for `StartTls` and `Tls`.
    tls: Option<TlsParameters>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("url", &self.to_string())
            .field("security", &self.security)
            .field("login", &self.login)
            .finish()
    }
}

impl Relay {
    /// A relay in plain SMTP, without signing in.
    pub fn plain(host: &str, port: u16) -> Relay {
        Relay {
            host: host.to_owned(),
            port,
            security: Security::Plain,
            login: None,
            tls: None,
        }
    }

    /// `smtp_url` alone.
    pub fn parse(url: &str) -> Result<Relay> {
        Relay::configure(url, &RelayOptions::default())
    }

    /// `smtp_url` with the settings beside it. Refused, naming the setting, when they disagree or
    /// would send credentials in the clear to another machine.
    pub fn configure(url: &str, options: &RelayOptions) -> Result<Relay> {
        let parsed = parse_url(url)?;
        let bad = |key: &'static str, reason: &str| MailError::BadSetting {
            key,
            reason: reason.to_owned(),
        };
        if parsed.username.is_some() && options.username.is_some() {
            return Err(bad(
                "smtp_username",
                "smtp_url names a user too; give the credentials in one place",
            ));
        }
        let username = parsed.username.clone().or_else(|| options.username.clone());
        let password = match (&parsed.password, &options.password) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "smtp_password",
                    "smtp_url holds a password too; give it in one place",
                ));
            }
            (Some(p), None) => Some((p.clone(), "smtp_url")),
            (None, Some(p)) => Some((p.clone(), "smtp_password")),
            (None, None) => None,
        };
        let token = match (&options.oauth_token, &options.oauth_token_file) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "smtp_oauth_token_file",
                    "give smtp_oauth_token or smtp_oauth_token_file, not both",
                ));
            }
            (Some(t), None) => Some((Token::Given(t.clone()), "smtp_oauth_token")),
            (None, Some(f)) => Some((Token::File(f.clone()), "smtp_oauth_token_file")),
            (None, None) => None,
        };
        let login = match (username, password, token) {
            (None, None, None) => None,
            (_, Some(_), Some(_)) => {
                return Err(bad(
                    "smtp_oauth_token",
                    "give a password or an OAuth token, not both",
                ));
            }
            (Some(username), Some((password, key)), None) => Some(Login::Password {
                username,
                password,
                key,
            }),
            (Some(username), None, Some((token, key))) => Some(Login::OAuth {
                username,
                token,
                key,
            }),
            (None, Some((_, key)), None) => {
                return Err(bad(
                    if key == "smtp_url" {
                        "smtp_url"
                    } else {
                        "smtp_password"
                    },
                    "a password needs smtp_username (or user@ in smtp_url)",
                ));
            }
            (None, None, Some((_, key))) => {
                return Err(bad(
                    key,
                    "an OAuth token needs smtp_username: the mailbox the token is for",
                ));
            }
            (Some(_), None, None) => {
                return Err(bad(
                    "smtp_username",
                    "a user needs smtp_password, smtp_oauth_token or smtp_oauth_token_file",
                ));
            }
        };
        if login
            .as_ref()
            .is_some_and(|l| matches!(l, Login::Password { password, .. } if password.0.is_empty()))
        {
            return Err(bad(
                login.as_ref().map_or("smtp_password", Login::key),
                "the password is empty",
            ));
        }
        if let Some(Login::OAuth {
            token: token @ Token::Given(_),
            ..
        }) = &login
        {
            token.read()?;
        }
        let security = match (parsed.scheme_tls, parsed.tls) {
            (true, None | Some(Security::Tls)) => Security::Tls,
            (true, Some(_)) => {
                return Err(MailError::BadRelay {
                    relay: parsed.shown,
                    reason: "smtps:// is TLS from the start; leave out ?tls=".into(),
                });
            }
            (false, Some(Security::Tls)) => {
                return Err(MailError::BadRelay {
                    relay: parsed.shown,
                    reason: "for TLS from the start write smtps://".into(),
                });
            }
            (false, Some(s)) => s,
            // Signing in means STARTTLS, unless plain SMTP was asked for by name.
            (false, None) if login.is_some() => Security::StartTls,
            (false, None) => Security::Plain,
        };
        if security == Security::Plain
            && let Some(login) = &login
            && !is_loopback(&parsed.host)
        {
            return Err(bad(
                login.key(),
                &format!(
                    "Steward will not send credentials without TLS to {}, which is not on this machine: \
                     drop ?tls=none from smtp_url so STARTTLS protects them, or use smtps://",
                    parsed.host
                ),
            ));
        }
        let tls = match security {
            Security::Plain => {
                if options.ca_file.is_some() {
                    return Err(bad(
                        "smtp_ca_file",
                        "trusted certificates need a TLS connection: smtps:// or ?tls=starttls",
                    ));
                }
                None
            }
            Security::StartTls | Security::Tls => {
                Some(tls_parameters(&parsed.host, options.ca_file.as_deref())?)
            }
        };
        Ok(Relay {
            host: parsed.host,
            port: parsed.port,
            security,
            login,
            tls,
        })
    }

    /// Opens a session: connects, reads the greeting, introduces itself, starts TLS and signs in
    /// as configured. Errors say which of these failed, never with a secret.
    pub fn connect(&self) -> Result<Session> {
        if self.security == Security::Plain && !is_loopback(&self.host) {
            tracing::warn!(relay = %self, "the mail relay is not on this machine; mail to it travels without TLS");
        }
        let transport = self.transport()?;
        match transport.test_connection() {
            Ok(true) => Ok(Session {
                transport,
                relay: self.to_string(),
            }),
            Ok(false) => {
                transport.shutdown();
                Err(MailError::Connect {
                    relay: self.to_string(),
                    reason: "the session ended as soon as it began".into(),
                })
            }
            Err(e) => {
                transport.shutdown();
                Err(self.opening_error(&e))
            }
        }
    }

    fn opening_error(&self, e: &lettre::transport::smtp::Error) -> MailError {
        let code = e.status().map(|c| c.to_string());
        // 530: authentication required; 534, 535, 538: credentials refused or too weak.
        let refused_login = matches!(code.as_deref(), Some("530" | "534" | "535" | "538"))
            || (e.is_client() && e.to_string().contains("authentication mechanism"));
        match &self.login {
            Some(login) if refused_login => MailError::SignIn {
                relay: self.to_string(),
                key: login.key(),
                reason: e.to_string(),
            },
            _ if e.is_permanent() || e.is_transient() => MailError::Refused {
                command: format!("opening a session with {self}"),
                reply: e.to_string(),
            },
            _ => MailError::Connect {
                relay: self.to_string(),
                reason: e.to_string(),
            },
        }
    }

    fn transport(&self) -> Result<SmtpTransport> {
        let tls = match (&self.security, &self.tls) {
            (Security::StartTls, Some(p)) => Tls::Required(p.clone()),
            (Security::Tls, Some(p)) => Tls::Wrapper(p.clone()),
            _ => Tls::None,
        };
        let mut builder = SmtpTransport::builder_dangerous(self.host.as_str())
            .port(self.port)
            .tls(tls)
            .timeout(Some(TIMEOUT))
            .hello_name(self.hello_name())
            // One session carries a run's messages; a refused message closes it, and the next
            // message opens another.
            .pool_config(PoolConfig::new().max_size(1));
        match &self.login {
            Some(Login::Password {
                username, password, ..
            }) => {
                builder = builder
                    .credentials(Credentials::new(username.clone(), password.0.clone()))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
            Some(Login::OAuth {
                username, token, ..
            }) => {
                builder = builder
                    .credentials(Credentials::new(username.clone(), token.read()?.0))
                    .authentication(vec![Mechanism::Xoauth2]);
            }
            None => {}
        }
        Ok(builder.build())
    }

    /// An address literal for `EHLO`: the address this machine reaches the relay from (found
    /// without sending anything), so the machine's host name need not be trusted.
    fn hello_name(&self) -> ClientId {
        let local = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .and_then(|peer| {
                let any: IpAddr = if peer.is_ipv4() {
                    Ipv4Addr::UNSPECIFIED.into()
                } else {
                    std::net::Ipv6Addr::UNSPECIFIED.into()
                };
                let socket = UdpSocket::bind((any, 0)).ok()?;
                socket.connect(peer).ok()?;
                socket.local_addr().ok()
            });
        match local.map(|a| a.ip()) {
            Some(IpAddr::V4(ip)) => ClientId::Ipv4(ip),
            Some(IpAddr::V6(ip)) => ClientId::Ipv6(ip),
            None => ClientId::Ipv4(Ipv4Addr::LOCALHOST),
        }
    }
}

impl std::fmt::Display for Relay {
    /// `scheme://host:port`, never with credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.security {
            Security::Tls => "smtps",
            _ => "smtp",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)?;
        }
        if self.security == Security::StartTls {
            f.write_str("?tls=starttls")?;
        }
        Ok(())
    }
}

/// One conversation with the server, over which several messages may be sent.
pub struct Session {
    transport: SmtpTransport,
    relay: String,
}

impl Session {
    /// Sends one message to every address in `to`. A refusal of the message (any recipient
    /// refused, or the content) is [`MailError::Refused`] and the next message may still go; any
    /// other failure means the server is lost for this run.
    pub fn send(&mut self, from: &str, to: &[String], message: &[u8]) -> Result<()> {
        if to.is_empty() {
            return Err(MailError::BadAddress {
                address: String::new(),
                reason: "a message needs at least one recipient".into(),
            });
        }
        let from = address(from)?;
        let to = to
            .iter()
            .map(|a| address(a))
            .collect::<Result<Vec<Address>>>()?;
        let envelope = Envelope::new(Some(from), to).map_err(|e| MailError::BadAddress {
            address: String::new(),
            reason: e.to_string(),
        })?;
        match self.transport.send_raw(&envelope, message) {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() || e.is_transient() => Err(MailError::Refused {
                command: "the message".into(),
                reply: e.to_string(),
            }),
            Err(e) => Err(MailError::Lost {
                relay: self.relay.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// Says goodbye.
    pub fn quit(self) {}
}

impl Drop for Session {
    fn drop(&mut self) {
        // QUIT on the open connection, and the pool's housekeeping thread ends.
        self.transport.shutdown();
    }
}

fn address(text: &str) -> Result<Address> {
    check_address(text)?;
    let (user, domain) = text.split_once('@').unwrap_or((text, ""));
    Address::new(user, domain).map_err(|e| MailError::BadAddress {
        address: text.to_owned(),
        reason: e.to_string(),
    })
}

/// The trust for TLS: the system's roots, and the certificates of `smtp_ca_file`.
fn tls_parameters(host: &str, ca_file: Option<&std::path::Path>) -> Result<TlsParameters> {
    let bad = |reason: String| MailError::BadSetting {
        key: "smtp_ca_file",
        reason,
    };
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_file {
        let pem =
            std::fs::read(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            return Err(bad(format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )));
        }
        let certificate =
            Certificate::from_pem(&pem).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build().map_err(|e| MailError::BadSetting {
        key: if ca_file.is_some() {
            "smtp_ca_file"
        } else {
            "smtp_url"
        },
        reason: format!("cannot set up TLS for {host}: {e}"),
    })
}

/// Whether `host` names this machine: `localhost`, or a loopback address.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback())
}

/// What `smtp_url` says.
struct ParsedUrl {
    /// The url without its password, for errors.
    shown: String,
    scheme_tls: bool,
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<Secret>,
    tls: Option<Security>,
}

fn parse_url(text: &str) -> Result<ParsedUrl> {
    let shown = redact(text);
    let bad = |reason: &str| MailError::BadRelay {
        relay: shown.clone(),
        reason: reason.to_owned(),
    };
    let scheme_tls = if text.starts_with("smtps://") {
        true
    } else if text.starts_with("smtp://") {
        false
    } else {
        return Err(bad(
            "expected smtp://host[:port] (STARTTLS with ?tls=starttls) or smtps://host[:port]",
        ));
    };
    if text.contains(char::is_whitespace) || text.contains('#') {
        return Err(bad("expected a url without spaces or #"));
    }
    let url = url::Url::parse(text).map_err(|e| bad(&format!("not a url: {e}")))?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        _ => return Err(bad("the host is missing")),
    };
    if !matches!(url.path(), "" | "/") {
        return Err(bad("expected nothing after host[:port] but ?tls="));
    }
    let port = match url.port() {
        Some(0) => return Err(bad("the port must be a number from 1 to 65535")),
        Some(p) => p,
        None if scheme_tls => 465,
        None => 25,
    };
    let decode = |part: &str, what: &str| -> Result<String> {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| bad(&format!("the {what} is not UTF-8 once percent-decoded")))
    };
    let username = match url.username() {
        "" => None,
        u => Some(decode(u, "user")?),
    };
    let password = match url.password() {
        None => None,
        Some(p) => Some(Secret(decode(p, "password")?)),
    };
    if password.is_some() && username.is_none() {
        return Err(bad("a password needs a user: smtp://user:password@host"));
    }
    let mut tls = None;
    for (key, value) in url.query_pairs() {
        match (key.as_ref(), value.as_ref()) {
            ("tls", "starttls") if tls.is_none() => tls = Some(Security::StartTls),
            ("tls", "none") if tls.is_none() => tls = Some(Security::Plain),
            ("tls", "tls") if tls.is_none() => tls = Some(Security::Tls),
            ("tls", _) => return Err(bad("expected ?tls=starttls or ?tls=none, once")),
            _ => return Err(bad("the only option is ?tls=starttls or ?tls=none")),
        }
    }
    Ok(ParsedUrl {
        shown,
        scheme_tls,
        host,
        port,
        username,
        password,
        tls,
    })
}

/// The url with any password replaced, for errors and logs.
fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => text.to_owned(),
    }
}

/// The addresses Steward sends to: `local@domain` in printable ASCII, nothing SMTP or a header
/// would read as syntax. Stricter than RFC 5321 allows, on purpose.
pub fn check_address(address: &str) -> Result<()> {
    let bad = |reason: &str| MailError::BadAddress {
        address: address.to_owned(),
        reason: reason.to_owned(),
    };
    if address.len() > 254 {
        return Err(bad("longer than 254 characters"));
    }
    let (local, domain) = address
        .split_once('@')
        .ok_or_else(|| bad("expected local@domain"))?;
    let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    if local.is_empty() || local.len() > 64 || !local.chars().all(atom) {
        return Err(bad(
            "the part before @ must be letters, digits and !#$%&'*+-/=?^_`{|}~.",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad("the part before @ has a misplaced dot"));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !domain.contains('.') || !domain.split('.').all(label_ok) {
        return Err(bad(
            "the domain must be dot-separated names of letters, digits and hyphens",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_parse_or_say_why_not() {
        type Want<'a> = Option<(&'a str, u16, Security)>;
        let cases: &[(&str, Want)] = &[
            (
                "smtp://127.0.0.1:2525",
                Some(("127.0.0.1", 2525, Security::Plain)),
            ),
            (
                "smtp://mail.example.org",
                Some(("mail.example.org", 25, Security::Plain)),
            ),
            (
                "smtp://mail.example.org/",
                Some(("mail.example.org", 25, Security::Plain)),
            ),
            ("smtp://[::1]:2525", Some(("::1", 2525, Security::Plain))),
            ("smtp://[::1]", Some(("::1", 25, Security::Plain))),
            (
                "smtp://mail.example.org:587?tls=starttls",
                Some(("mail.example.org", 587, Security::StartTls)),
            ),
            (
                "smtps://mail.example.org",
                Some(("mail.example.org", 465, Security::Tls)),
            ),
            (
                "smtps://mail.example.org:2465",
                Some(("mail.example.org", 2465, Security::Tls)),
            ),
            ("mail.example.org:25", None),
            ("http://mail.example.org", None),
            ("smtp://", None),
            ("smtp://:25", None),
            ("smtp://host:0", None),
            ("smtp://host:70000", None),
            ("smtp://host/path", None),
            ("smtp://[::1", None),
            ("smtp://host?tls=maybe", None),
            ("smtp://host?relay=other", None),
            ("smtps://host?tls=starttls", None),
            ("smtp://:secret@host", None),
        ];
        for (url, want) in cases {
            let got = Relay::parse(url);
            match want {
                Some((host, port, security)) => {
                    let relay = got.unwrap_or_else(|e| panic!("{url}: {e}"));
                    assert_eq!(
                        (relay.host.as_str(), relay.port, relay.security),
                        (*host, *port, *security),
                        "{url}"
                    );
                }
                None => assert!(
                    matches!(got, Err(MailError::BadRelay { .. })),
                    "{url} was taken: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn credentials_come_from_the_url_or_the_settings_and_mean_starttls() {
        let relay = Relay::parse("smtp://ada%40example.org:p%40ss%3Aword@mail.example.org:587")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(relay.security, Security::StartTls);
        assert_eq!(
            relay.login,
            Some(Login::Password {
                username: "ada@example.org".into(),
                password: Secret::new("p@ss:word"),
                key: "smtp_url",
            })
        );
        // Neither the url nor the relay as shown holds the password.
        assert_eq!(
            relay.to_string(),
            "smtp://mail.example.org:587?tls=starttls"
        );
        assert!(!format!("{relay:?}").contains("p@ss"), "{relay:?}");
        let err = Relay::parse("smtp://ada:s3cret@host:99999").map(|_| ());
        assert!(
            matches!(&err, Err(e) if !e.to_string().contains("s3cret")),
            "{err:?}"
        );

        let options = RelayOptions {
            username: Some("steward@example.org".into()),
            oauth_token: Some(Secret::new("eyJ0eXAi.token")),
            ..RelayOptions::default()
        };
        let relay = Relay::configure("smtp://smtp.office365.com:587", &options)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(relay.security, Security::StartTls);
        assert!(matches!(relay.login, Some(Login::OAuth { .. })));

        let refused =
            |url: &str, options: RelayOptions, key: &str| match Relay::configure(url, &options) {
                Err(MailError::BadSetting { key: k, reason }) => {
                    assert_eq!(k, key, "{url}: {reason}");
                    assert!(!reason.contains("hunter2"), "{reason}");
                }
                other => panic!("{url}: {other:?}"),
            };
        let password = || Some(Secret::new("hunter2"));
        // In the clear to another machine: refused, naming where the password came from.
        refused(
            "smtp://relay.example.org?tls=none",
            RelayOptions {
                username: Some("ada".into()),
                password: password(),
                ..RelayOptions::default()
            },
            "smtp_password",
        );
        refused(
            "smtp://ada:hunter2@192.0.2.1?tls=none",
            RelayOptions::default(),
            "smtp_url",
        );
        refused(
            "smtp://relay.example.org",
            RelayOptions {
                password: password(),
                ..RelayOptions::default()
            },
            "smtp_password",
        );
        refused(
            "smtp://relay.example.org",
            RelayOptions {
                username: Some("ada".into()),
                ..RelayOptions::default()
            },
            "smtp_username",
        );
        refused(
            "smtp://relay.example.org",
            RelayOptions {
                username: Some("ada".into()),
                password: password(),
                oauth_token: Some(Secret::new("t")),
                ..RelayOptions::default()
            },
            "smtp_oauth_token",
        );
        refused(
            "smtp://relay.example.org",
            RelayOptions {
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..RelayOptions::default()
            },
            "smtp_ca_file",
        );
        refused(
            "smtps://relay.example.org",
            RelayOptions {
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..RelayOptions::default()
            },
            "smtp_ca_file",
        );
        // To this machine, plain SMTP with credentials is the operator's choice.
        let local = Relay::configure(
            "smtp://127.0.0.1:2525?tls=none",
            &RelayOptions {
                username: Some("ada".into()),
                password: password(),
                ..RelayOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(local.security, Security::Plain);
    }

    #[test]
    fn only_plain_addresses_are_sent_to() {
        for good in ["ada@example.org", "a.b+c@mail.example.co.uk", "x_y@a-b.org"] {
            assert!(check_address(good).is_ok(), "{good}");
            assert!(address(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "nobody",
            "a@b",
            "a>@example.org",
            "a@example.org>",
            "<a@example.org",
            "a b@example.org",
            "a@exa mple.org",
            "a\r\nRCPT TO:<x@y.org>@example.org",
            "zoë@example.org",
            ".a@example.org",
            "a..b@example.org",
            "a@-example.org",
            "a@example..org",
            "\"quoted\"@example.org",
        ] {
            assert!(
                matches!(check_address(bad), Err(MailError::BadAddress { .. })),
                "{bad:?} was taken"
            );
        }
    }
}
