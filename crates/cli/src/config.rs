//! Settings from, in order of precedence: command-line flags and environment, the TOML
//! configuration file, and defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};

use steward_service::{SecretKey, SecretKeys};

use crate::{GlobalArgs, LogFormat};

/// The configuration file's contents. Unknown keys are refused so that a typo is not ignored.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    /// No longer used: the audit log names the operating system's user. Still accepted so that
    /// older files load.
    #[allow(dead_code)]
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
    /// The file holding the key TOTP secrets are sealed with. Default: `secret.key` beside an
    /// SQLite database, else in the data directory.
    secret_key_file: Option<PathBuf>,
    /// The most database connections a server holds (default 16).
    pool_size: Option<u32>,
    /// How long one statement may run before the database cancels it (default `"30s"`;
    /// `"0s"`: no limit).
    statement_timeout: Option<String>,
    /// Statements and transactions taking at least this long are logged (default `"500ms"`;
    /// `"0s"`: none).
    slow_query: Option<String>,
    /// How often `serve` re-runs every check (default `"15m"`); it also runs one at the start
    /// of each local day.
    check_interval: Option<String>,
    /// Where `serve` writes scheduled backups; none are taken without it.
    backup_dir: Option<PathBuf>,
    /// How often `serve` takes a backup (default `"24h"`).
    backup_every: Option<String>,
    /// How many scheduled backups are kept (default 7); older ones are removed.
    backup_keep: Option<u32>,
    /// The weekday the weekly digest of findings goes out (default `"monday"`), in the
    /// organisation's time zone.
    digest_day: Option<String>,
    /// Single sign-on with Microsoft or Google, and who keeps a password (`[sso]`).
    sso: Option<SsoFile>,
}

/// The `[sso]` table.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SsoFile {
    /// Who may still sign in with a password: `everyone` (the default), `administrators` or
    /// `break_glass` (only the accounts `break_glass` names).
    local_passwords: Option<steward_service::LocalPasswords>,
    /// Accounts that always keep their password, for when the provider cannot be reached.
    #[serde(default)]
    break_glass: Vec<String>,
    microsoft: Option<ProviderFile>,
    google: Option<ProviderFile>,
}

/// `[sso.microsoft]` or `[sso.google]`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    client_id: String,
    /// Better: `STEWARD_SSO_MICROSOFT_CLIENT_SECRET` / `STEWARD_SSO_GOOGLE_CLIENT_SECRET`, or a
    /// file.
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    /// Microsoft: the directory (tenant) id.
    tenant: Option<String>,
    /// Google: the Workspace domain.
    hosted_domain: Option<String>,
    /// Only for a provider at another address than the usual one.
    issuer: Option<String>,
    /// Trust the provider's own second factor: Steward asks for no code of its own.
    #[serde(default)]
    trust_mfa: bool,
}

/// Single sign-on as configured: each provider, and the rule for passwords.
#[derive(Debug, Clone, Default)]
pub struct SsoSettings {
    pub providers: Vec<steward_service::ProviderSettings>,
    pub policy: steward_service::SignInPolicy,
    /// Where providers send people back to: `{public_url}/auth/{provider}/callback`.
    pub public_url: Option<String>,
}

impl SsoSettings {
    /// Each provider's client, sending people back to this server.
    pub fn clients(&self) -> Result<Vec<std::sync::Arc<steward_service::Sso>>> {
        let Some(base) = &self.public_url else {
            return Ok(Vec::new());
        };
        self.providers
            .iter()
            .map(|p| {
                let back = format!(
                    "{}/auth/{}/callback",
                    base.trim_end_matches('/'),
                    p.provider.as_str()
                );
                steward_service::Sso::new(p.clone(), &back)
                    .map(std::sync::Arc::new)
                    .map_err(anyhow::Error::msg)
            })
            .collect()
    }
}

/// Reads `[sso]`: every provider's settings checked, its secret from the environment, the file
/// or a file it names; `public_url` required with any provider; a rule narrowing passwords
/// required to name a break-glass account and to have a provider to sign in with instead.
fn sso_settings(
    file: Option<SsoFile>,
    public_url: Option<String>,
    beside_config: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<SsoSettings> {
    let Some(file) = file else {
        return Ok(SsoSettings::default());
    };
    use steward_service::{LocalPasswords, Provider, ProviderSettings};
    let mut providers = Vec::new();
    for (provider, given) in [
        (Provider::Microsoft, file.microsoft),
        (Provider::Google, file.google),
    ] {
        let Some(given) = given else { continue };
        let word = provider.as_str();
        let env_name = format!("STEWARD_SSO_{}_CLIENT_SECRET", word.to_uppercase());
        let secret = match (
            std::env::var(&env_name).ok().filter(|v| !v.is_empty()),
            given.client_secret,
            given.client_secret_file,
        ) {
            (Some(secret), _, _) | (None, Some(secret), _) => secret,
            (None, None, Some(path)) => {
                let path = beside_config(path);
                std::fs::read_to_string(&path)
                    .with_context(|| format!("sso.{word}.client_secret_file {}", path.display()))?
                    .trim()
                    .to_owned()
            }
            (None, None, None) => anyhow::bail!(
                "sso.{word}: no client secret: set {env_name}, client_secret or client_secret_file"
            ),
        };
        let settings = ProviderSettings {
            provider,
            client_id: given.client_id,
            client_secret: secret,
            tenant: given.tenant,
            hosted_domain: given.hosted_domain,
            issuer: given.issuer,
            trust_mfa: given.trust_mfa,
        };
        settings
            .check()
            .map_err(|e| anyhow::anyhow!("configuration [sso.{word}]: {e}"))?;
        providers.push(settings);
    }
    if !providers.is_empty() {
        match public_url.as_deref() {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {}
            Some(url) => {
                anyhow::bail!("public_url {url:?}: expected an http:// or https:// address")
            }
            None => anyhow::bail!(
                "single sign-on needs public_url (or STEWARD_PUBLIC_URL): the address people reach \
                 Steward at, to which the provider sends them back"
            ),
        }
    }
    let local_passwords = file.local_passwords.unwrap_or_default();
    let break_glass: Vec<String> = file
        .break_glass
        .iter()
        .map(|e| e.trim().to_lowercase())
        .collect();
    if let Some(bad) = break_glass.iter().find(|e| !e.contains('@')) {
        anyhow::bail!("sso.break_glass: {bad:?} is not an email address");
    }
    if local_passwords != LocalPasswords::Everyone {
        if providers.is_empty() {
            anyhow::bail!(
                "sso.local_passwords narrows who keeps a password, but no provider is set up \
                 ([sso.microsoft] or [sso.google]) to sign in with instead"
            );
        }
        if break_glass.is_empty() {
            anyhow::bail!(
                "sso.local_passwords narrows who keeps a password: name at least one \
                 administrator in sso.break_glass, who keeps one for when the provider cannot be reached"
            );
        }
    }
    Ok(SsoSettings {
        providers,
        policy: steward_service::SignInPolicy {
            local_passwords,
            break_glass,
        },
        public_url,
    })
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: SocketAddr,
    pub actor: String,
    pub log_format: LogFormat,
    /// Where Steward keeps its embedded database, configuration and the organisation's packs.
    pub data_dir: PathBuf,
    /// The `packs` key: the ids of the policy packs the organisation runs, when the
    /// configuration names them (it then decides, not the database).
    pub configured_packs: Option<Vec<String>>,
    /// The packs the organisation chose (`steward policy activate`, or the Policies page), read
    /// from the database when a command opens it.
    pub chosen_packs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The organisation's overrides of the packs' parameters and staff groups.
    pub overrides: OverridesFile,
    /// Cookies marked `Secure`: the `secure_cookies` key, or `STEWARD_SECURE_COOKIES=true`.
    pub secure_cookies: bool,
    /// Where notices are emailed through, when configured.
    pub mail: Option<MailSettings>,
    /// Where the key that seals TOTP secrets comes from.
    pub secret_key: SecretKeySource,
    /// How to sign in to the mail server and whom to trust: `smtp_username`, `smtp_password`,
    /// `smtp_oauth_token`, `smtp_oauth_token_file`, `smtp_ca_file` (or `STEWARD_SMTP_USERNAME`,
    /// `STEWARD_SMTP_PASSWORD`, `STEWARD_SMTP_OAUTH_TOKEN`, `STEWARD_SMTP_OAUTH_TOKEN_FILE`,
    /// `STEWARD_SMTP_CA_FILE`), also when `--smtp` names the server. Secrets print as `***`.
    pub smtp: steward_mail::RelayOptions,
    /// The database pool's size and statement limits: `pool_size`, `statement_timeout`,
    /// `slow_query`.
    pub store: steward_store::StoreOptions,
    /// How often `serve` re-runs every check: `check_interval`.
    pub check_interval: Duration,
    /// Scheduled backups, when `backup_dir` is set.
    pub backups: Option<BackupSettings>,
    /// The weekday the weekly digest goes out: `digest_day` or `STEWARD_DIGEST_DAY`.
    pub digest_day: chrono::Weekday,
    /// Single sign-on, and who keeps a password: `[sso]`.
    pub sso: SsoSettings,
}

/// `backup_dir`, `backup_every` and `backup_keep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: u32,
}

/// `STEWARD_SECRET_KEY` (one key, or several separated by commas: the first seals, the others
/// only open, during a rotation), or else a key file made on first use.
#[derive(Debug, Clone)]
pub enum SecretKeySource {
    Environment(SecretKeys),
    /// The configured `secret_key_file`, or `None` for the default beside the database.
    File(Option<PathBuf>),
}

/// The environment variable holding the secret key(s).
pub const SECRET_KEY_ENV: &str = "STEWARD_SECRET_KEY";

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

/// The packs `serve --demo` runs: the demo organisation's own policies.
pub const DEMO_PACKS: &[&str] = &["cafcass-it-5.0", "cafcass-ia-4.3"];

impl Settings {
    /// The ids of the packs the organisation runs: those the configuration names, else those
    /// chosen in the database (known once a command has opened it), else none.
    pub fn active_packs(&self) -> Vec<String> {
        match &self.configured_packs {
            Some(ids) => ids.clone(),
            None => self
                .chosen_packs
                .lock()
                .map(|chosen| chosen.clone())
                .unwrap_or_default(),
        }
    }

    /// Reads the packs the organisation chose from `steward`'s database, unless the
    /// configuration names them.
    pub fn read_chosen_packs(&self, steward: &steward_service::Steward) -> anyhow::Result<()> {
        if self.configured_packs.is_none() {
            let ids = steward.active_pack_ids()?;
            if let Ok(mut chosen) = self.chosen_packs.lock() {
                *chosen = ids;
            }
        }
        Ok(())
    }

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
        // Who the audit log names: the operating system's account running the process, never
        // a flag, a setting or an environment variable that anyone could fill with any name.
        let actor = format!("cli:{}", os_user());
        let log_format = args
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text);
        // The configuration may name the packs; otherwise the organisation chooses them, and the
        // choice is kept in the database (a fresh installation runs none until then).
        let configured_packs = file.packs;
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
        let beside_config = |path: PathBuf| match config_path.as_deref().and_then(Path::parent) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        };
        let sso = sso_settings(file.sso, public_url.clone(), &beside_config)?;
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
        let secret_key = match env(SECRET_KEY_ENV) {
            Some(text) => SecretKeySource::Environment(parse_keys(&text)?),
            None => SecretKeySource::File(file.secret_key_file.map(|path| {
                match config_path.as_deref().and_then(Path::parent) {
                    Some(dir) if path.is_relative() => dir.join(path),
                    _ => path,
                }
            })),
        };
        let duration = |key: &str, text: Option<String>, default: &str| -> Result<Duration> {
            let text = text.unwrap_or_else(|| default.to_owned());
            parse_duration(&text).with_context(|| format!("configuration key {key} = {text:?}"))
        };
        let nonzero = |d: Duration| (!d.is_zero()).then_some(d);
        let store = steward_store::StoreOptions {
            pool_size: match file.pool_size {
                Some(0) => anyhow::bail!("configuration key pool_size = 0: expected at least 1"),
                Some(n) => n,
                None => steward_store::StoreOptions::default().pool_size,
            },
            statement_timeout: nonzero(duration(
                "statement_timeout",
                file.statement_timeout,
                "30s",
            )?),
            slow_query: nonzero(duration("slow_query", file.slow_query, "500ms")?),
        };
        let check_interval = duration("check_interval", file.check_interval, "15m")?;
        if check_interval < Duration::from_secs(1) {
            anyhow::bail!("configuration key check_interval: expected at least \"1s\"");
        }
        let backups = match file.backup_dir {
            Some(dir) => Some(BackupSettings {
                dir: beside_config(dir),
                every: match duration("backup_every", file.backup_every, "24h")? {
                    d if d < Duration::from_secs(60) => {
                        anyhow::bail!("configuration key backup_every: expected at least \"1m\"")
                    }
                    d => d,
                },
                keep: match file.backup_keep {
                    Some(0) => {
                        anyhow::bail!("configuration key backup_keep = 0: expected at least 1")
                    }
                    Some(n) => n,
                    None => 7,
                },
            }),
            None => None,
        };
        let digest_day = match env("STEWARD_DIGEST_DAY").or(file.digest_day) {
            Some(day) => steward_service::parse_weekday(&day).with_context(|| {
                format!(
                    "configuration key digest_day = {day:?}: expected a weekday, such as \"monday\""
                )
            })?,
            None => chrono::Weekday::Mon,
        };
        Ok(Settings {
            sso,
            digest_day,
            store,
            check_interval,
            backups,
            database_url,
            listen,
            actor,
            log_format,
            data_dir,
            configured_packs,
            chosen_packs: Default::default(),
            overrides,
            secure_cookies,
            mail,
            secret_key,
            smtp,
        })
    }

    /// The key file: configured, or `secret.key` beside the SQLite database, or in the data
    /// directory when the database is elsewhere.
    pub fn secret_key_file(&self) -> PathBuf {
        if let SecretKeySource::File(Some(path)) = &self.secret_key {
            return path.clone();
        }
        let sqlite = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))
            .filter(|p| *p != ":memory:" && !p.starts_with("file:"));
        match sqlite.and_then(|p| Path::new(p).parent()) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join("secret.key"),
            Some(_) => PathBuf::from("secret.key"),
            None => self.data_dir.join("secret.key"),
        }
    }

    /// The keys TOTP secrets are sealed with: from the environment, or the key file (made with
    /// mode 0600, in a folder made 0700, on first use) together with a rotation's next key if
    /// one was left half done. A data directory others may read is narrowed to 0700.
    pub fn secret_keys(&self) -> Result<SecretKeys> {
        narrow_dir(&self.data_dir)?;
        let path = match &self.secret_key {
            SecretKeySource::Environment(keys) => return Ok(keys.clone()),
            SecretKeySource::File(_) => self.secret_key_file(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir)?;
        }
        let (current, _) = SecretKey::load_or_create(&path)?;
        let mut keys = SecretKeys::new(current);
        if let Some(next) = SecretKey::load(&next_key_file(&path))? {
            keys = keys.with_older(next);
        }
        Ok(keys)
    }
}

/// A duration as the configuration writes it (`500ms`, `30s`, `15m`, `24h`, `7d`, `1h30m`): read
/// as connectors' schedules are, by `steward_connect::settings::parse_duration`.
pub fn parse_duration(text: &str) -> Result<Duration> {
    steward_connect::settings::parse_duration(text).map_err(anyhow::Error::msg)
}

/// Where `steward account rotate-key` keeps the new key until every secret is sealed under it.
pub fn next_key_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// `STEWARD_SECRET_KEY`'s keys, the first the current one. The value is never repeated in an
/// error.
fn parse_keys(text: &str) -> Result<SecretKeys> {
    let mut keys = text.split(',').map(str::trim).filter(|k| !k.is_empty());
    let first = keys
        .next()
        .with_context(|| format!("{SECRET_KEY_ENV} is set but holds no key"))?;
    let mut out = SecretKeys::new(
        SecretKey::parse(first).with_context(|| format!("{SECRET_KEY_ENV}: its first key"))?,
    );
    for (i, key) in keys.enumerate() {
        out = out.with_older(
            SecretKey::parse(key).with_context(|| format!("{SECRET_KEY_ENV}: key {}", i + 2))?,
        );
    }
    Ok(out)
}

/// Creates a folder (and its parents) readable by its owner only, whatever the umask.
pub fn private_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    set_mode(dir, 0o700)
}

/// Narrows Steward's own data directory to 0700 when group or others may use it, and says so.
fn narrow_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(dir) else {
            return Ok(());
        };
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() && mode & 0o077 != 0 {
            set_mode(dir, 0o700)?;
            tracing::info!(path = %dir.display(), was = format!("{mode:o}"), "data directory was open to others; its mode is now 700");
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

fn read(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("configuration {}", path.display()))
}

/// The name of the operating system account this process runs as, from its user id (the owner
/// of `/proc/self`) and the password database; `uid-N` when the id has no name.
pub fn os_user() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".into();
    };
    let named = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut parts = line.split(':');
                let name = parts.next()?;
                let id = parts.nth(1)?;
                (id.parse::<u32>().ok() == Some(uid)).then(|| name.to_owned())
            })
        });
    named.unwrap_or_else(|| format!("uid-{uid}"))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    /// `[sso]` as written in a configuration file: what holds, and why what does not.
    #[test]
    fn single_sign_on_settings_are_checked_when_read() {
        const MS: &str = "[sso.microsoft]\nclient_id = \"app\"\nclient_secret = \"s\"\n\
                          tenant = \"11111111-2222-3333-4444-555555555555\"\n";
        const GOOGLE: &str = "[sso.google]\nclient_id = \"app\"\nclient_secret = \"s\"\n\
                              hosted_domain = \"example.org\"\ntrust_mfa = true\n";
        let url = Some("https://steward.example.org");
        let cases: &[(&str, Option<&str>, Result<usize, &str>)] = &[
            ("", url, Ok(0)),
            (MS, url, Ok(1)),
            (&*format!("{MS}{GOOGLE}"), url, Ok(2)),
            (MS, None, Err("needs public_url")),
            (
                MS,
                Some("steward.example.org"),
                Err("expected an http:// or https://"),
            ),
            (
                "[sso.microsoft]\nclient_id = \"app\"\nclient_secret = \"s\"\ntenant = \"common\"\n",
                url,
                Err("[sso.microsoft]: Microsoft sign-in is not set up right: `tenant` must be"),
            ),
            (
                "[sso.google]\nclient_id = \"app\"\nhosted_domain = \"example.org\"\n",
                url,
                Err("sso.google: no client secret: set STEWARD_SSO_GOOGLE_CLIENT_SECRET"),
            ),
            (
                "[sso.google]\nclient_id = \"app\"\nclient_secret = \"s\"\n",
                url,
                Err("`hosted_domain` must be"),
            ),
            (
                "[sso]\nlocal_passwords = \"break_glass\"\n",
                url,
                Err("no provider is set up"),
            ),
            (
                &*format!("[sso]\nlocal_passwords = \"break_glass\"\n{MS}"),
                url,
                Err("name at least one administrator in sso.break_glass"),
            ),
            (
                &*format!(
                    "[sso]\nlocal_passwords = \"administrators\"\nbreak_glass = [\"admin\"]\n{MS}"
                ),
                url,
                Err("sso.break_glass: \"admin\" is not an email address"),
            ),
            (
                &*format!(
                    "[sso]\nlocal_passwords = \"break_glass\"\nbreak_glass = [\"Admin@Example.org\"]\n{MS}"
                ),
                url,
                Ok(1),
            ),
            (
                "[sso]\nlocal_passwords = \"nobody\"\n",
                url,
                Err("unknown variant `nobody`"),
            ),
            (
                "[sso.okta]\nclient_id = \"x\"\n",
                url,
                Err("unknown field `okta`"),
            ),
        ];
        for (text, public_url, want) in cases {
            let got = toml::from_str::<super::File>(text)
                .map_err(anyhow::Error::from)
                .and_then(|file| {
                    super::sso_settings(file.sso, public_url.map(str::to_owned), &|p| p)
                });
            match (got, want) {
                (Ok(settings), Ok(n)) => {
                    assert_eq!(settings.providers.len(), *n, "{text}");
                    assert!(
                        settings
                            .policy
                            .break_glass
                            .iter()
                            .all(|e| e == &e.to_lowercase()),
                        "{text}"
                    );
                }
                (Err(e), Err(says)) => {
                    let e = format!("{e:#}");
                    assert!(e.contains(says), "{text}: wants {says:?} in {e}");
                }
                (got, want) => panic!(
                    "{text}: got {:?}, want {want:?}",
                    got.map(|s| s.providers.len())
                ),
            }
        }
    }

    #[test]
    fn durations_read_as_the_configuration_writes_them() {
        let ok = [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("15m", Duration::from_secs(900)),
            ("24h", Duration::from_secs(86_400)),
            ("7d", Duration::from_secs(7 * 86_400)),
            ("1h30m", Duration::from_secs(5_400)),
            (" 0s ", Duration::ZERO),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text).ok(), Some(want), "{text}");
        }
        for bad in [
            "",
            "15",
            "m",
            "1.5h",
            "10 minutes",
            "-1s",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
