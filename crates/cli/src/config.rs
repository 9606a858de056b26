//! Settings from, in order of precedence: command-line flags and environment, the TOML
//! configuration file, and defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::{GlobalArgs, LogFormat};

/// The configuration file's contents. Unknown keys are refused so that a typo is not ignored.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    actor: Option<String>,
    log_format: Option<LogFormat>,
    /// Mark cookies `Secure`: set when Steward is served over TLS (behind a proxy that
    /// terminates it).
    secure_cookies: Option<bool>,
    /// The policy packs the organisation runs, by id.
    packs: Option<Vec<String>>,
    /// The organisation's overrides of the packs' parameters and staff groups.
    overrides: Option<PathBuf>,
    /// The mail server notices are handed to: `smtp://host[:port]` (STARTTLS with
    /// `?tls=starttls`, and whenever Steward signs in) or `smtps://host[:port]`; no mail is sent
    /// without it.
    smtp_url: Option<String>,
    /// Who Steward signs in to the mail server as.
    smtp_username: Option<String>,
    /// The password it signs in with (better: `STEWARD_SMTP_PASSWORD`).
    smtp_password: Option<String>,
    /// An OAuth 2.0 bearer token for XOAUTH2 instead (better: `STEWARD_SMTP_OAUTH_TOKEN`).
    smtp_oauth_token: Option<String>,
    /// Or a file holding that token, read for every session (renewed by the operator's job).
    smtp_oauth_token_file: Option<PathBuf>,
    /// PEM certificates to trust for the mail server's TLS besides the system's.
    smtp_ca_file: Option<PathBuf>,
    /// The address mail comes from.
    mail_from: Option<String>,
    /// The address people reach Steward's web pages at, for links in mail.
    public_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: SocketAddr,
    pub actor: String,
    pub log_format: LogFormat,
    /// Where Steward keeps its embedded database, configuration and the organisation's packs.
    pub data_dir: PathBuf,
    /// The ids of the policy packs the organisation runs: the `packs` key, by default every
    /// built-in pack.
    pub active_packs: Vec<String>,
    /// The organisation's overrides of the packs' parameters and staff groups.
    pub overrides: OverridesFile,
    /// Cookies marked `Secure`: the `secure_cookies` key, or `STEWARD_SECURE_COOKIES=true`.
    pub secure_cookies: bool,
    /// Where notices are emailed through, when configured.
    pub mail: Option<MailSettings>,
    /// How to sign in to the mail server and whom to trust: `smtp_username`, `smtp_password`,
    /// `smtp_oauth_token`, `smtp_oauth_token_file`, `smtp_ca_file` (or `STEWARD_SMTP_USERNAME`,
    /// `STEWARD_SMTP_PASSWORD`, `STEWARD_SMTP_OAUTH_TOKEN`, `STEWARD_SMTP_OAUTH_TOKEN_FILE`,
    /// `STEWARD_SMTP_CA_FILE`), also when `--smtp` names the server. Secrets print as `***`.
    pub smtp: steward_mail::RelayOptions,
}

/// The `smtp_url`, `mail_from` and `public_url` keys, or `STEWARD_SMTP_URL`, `STEWARD_MAIL_FROM`
/// and `STEWARD_PUBLIC_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub smtp_url: String,
    pub from: String,
    pub public_url: Option<String>,
}

/// Where the organisation's pack overrides are read from (the policy crate's `Overrides` format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverridesFile {
    pub path: PathBuf,
    /// Whether the configuration names the file, so that a missing file is an error; the
    /// default `<data-dir>/overrides.toml` need not exist.
    pub configured: bool,
}

pub const DEFAULT_DATA_DIR: &str = "steward-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The packs an organisation runs when its configuration names none.
pub const DEFAULT_PACKS: &[&str] = &["cafcass-it-5.0", "cafcass-ia-4.3"];

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> Result<Settings> {
        let flag_dir = args.data_dir.clone();
        let default_config = flag_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
            .join("steward.toml");
        let (file, config_path) = match &args.config {
            Some(path) => (read(path)?, Some(path.clone())),
            None if default_config.is_file() => (read(&default_config)?, Some(default_config)),
            None => (File::default(), None),
        };
        let data_dir = flag_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = args
            .database_url
            .clone()
            .filter(|u| !u.is_empty())
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("steward.db").display()));
        let listen = match file.listen {
            Some(l) => l,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let actor = args.actor.clone().or(file.actor).unwrap_or_else(|| {
            let user = std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into());
            format!("cli:{user}")
        });
        let log_format = args
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text);
        // Until an organisation says which packs it runs, it runs the current Cafcass policies
        // (the demo organisation's): one version of each document, never two at once.
        let active_packs = file.packs.unwrap_or_else(|| {
            DEFAULT_PACKS
                .iter()
                .filter(|id| steward_policy::BUILTIN.iter().any(|b| b.id == **id))
                .map(|id| (*id).to_owned())
                .collect()
        });
        // A relative `overrides` path is relative to the configuration file that names it.
        let overrides = match file.overrides {
            Some(path) => OverridesFile {
                path: match config_path.as_deref().and_then(Path::parent) {
                    Some(dir) if path.is_relative() => dir.join(path),
                    _ => path,
                },
                configured: true,
            },
            None => OverridesFile {
                path: data_dir.join("overrides.toml"),
                configured: false,
            },
        };
        let secure_cookies = match std::env::var("STEWARD_SECURE_COOKIES").ok().as_deref() {
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                anyhow::bail!("STEWARD_SECURE_COOKIES={other:?}: expected true or false")
            }
            None => file.secure_cookies.unwrap_or(false),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let public_url = env("STEWARD_PUBLIC_URL").or(file.public_url);
        // A relative path in the file is relative to the file.
        let beside_config = |path: PathBuf| match config_path.as_deref().and_then(Path::parent) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        };
        let smtp = steward_mail::RelayOptions {
            username: env("STEWARD_SMTP_USERNAME").or(file.smtp_username),
            password: env("STEWARD_SMTP_PASSWORD")
                .or(file.smtp_password)
                .map(steward_mail::Secret::new),
            oauth_token: env("STEWARD_SMTP_OAUTH_TOKEN")
                .or(file.smtp_oauth_token)
                .map(steward_mail::Secret::new),
            oauth_token_file: env("STEWARD_SMTP_OAUTH_TOKEN_FILE")
                .map(PathBuf::from)
                .or_else(|| file.smtp_oauth_token_file.map(beside_config)),
            ca_file: env("STEWARD_SMTP_CA_FILE")
                .map(PathBuf::from)
                .or_else(|| file.smtp_ca_file.map(beside_config)),
        };
        let mail = match (
            env("STEWARD_SMTP_URL").or(file.smtp_url),
            env("STEWARD_MAIL_FROM").or(file.mail_from),
        ) {
            (Some(smtp_url), Some(from)) => Some(MailSettings {
                smtp_url,
                from,
                public_url,
            }),
            (Some(_), None) => {
                anyhow::bail!(
                    "smtp_url is set but mail_from is not: say which address Steward's mail comes from"
                )
            }
            (None, _) => None,
        };
        Ok(Settings {
            database_url,
            listen,
            actor,
            log_format,
            data_dir,
            active_packs,
            overrides,
            secure_cookies,
            mail,
            smtp,
        })
    }
}

fn read(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("configuration {}", path.display()))
}
