//! A connector's definition: its kind, its name and its settings — every key a kind takes, with
//! its default and what it means, in one table per kind, so that `connect add`, the Connectors
//! page and the documentation read the same list. The credential (client secret, private key,
//! API token) is not a setting: it is sealed apart and never shown again.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ConnectError;

/// The systems Steward connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Microsoft365,
    GoogleWorkspace,
    Jamf,
    SnipeIt,
    Csv,
}

/// One setting a kind takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub required: bool,
    /// The value when none is set; `{base_url}` and `{tenant}` are replaced by those settings.
    pub default: Option<&'static str>,
    pub about: &'static str,
}

const fn key(name: &'static str, default: Option<&'static str>, about: &'static str) -> Key {
    Key {
        name,
        required: false,
        default,
        about,
    }
}

const fn required(name: &'static str, about: &'static str) -> Key {
    Key {
        name,
        required: true,
        default: None,
        about,
    }
}

/// Settings every kind takes.
const COMMON: &[Key] = &[
    key(
        "schedule",
        Some("1h"),
        "how often the connector syncs on its own, such as 1h or 15m; off: only when asked",
    ),
    key(
        "leavers_threshold",
        Some("10"),
        "a sync that would turn more than this percentage of people into leavers stops at a preview",
    ),
    key(
        "missing_threshold",
        Some("50"),
        "a sync in which more than this percentage of the records it keeps would vanish stops at a preview",
    ),
    key(
        "staff_group",
        Some("staff"),
        "the staff group of a person the source creates, when no mapping names one",
    ),
    key(
        "departments",
        None,
        "department names mapped to staff groups: Finance=business-services;Family Court Advisers=fca",
    ),
    key(
        "tag_prefix",
        None,
        "the start of the asset tag given to a device the source creates (its serial number follows)",
    ),
    key(
        "owns",
        None,
        "the fields this connector keeps, instead of its kind's: register.field, comma-separated (people.staff_group,assets.encrypted); none: owns nothing, fills gaps only",
    ),
];

const MICROSOFT_365: &[Key] = &[
    required("tenant", "the directory (tenant) id or its primary domain"),
    required(
        "client_id",
        "the app registration's application (client) id",
    ),
    key(
        "base_url",
        Some("https://graph.microsoft.com"),
        "Microsoft Graph's address",
    ),
    key(
        "token_url",
        Some("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
        "the Microsoft identity platform's token endpoint",
    ),
    key(
        "system",
        Some("microsoft-365"),
        "the system, in Steward's systems register, that the accounts are on",
    ),
    key(
        "feeds",
        Some("people,accounts,devices,sightings"),
        "which facts to read: people, accounts (with MFA and admin), devices (Intune), sightings (sign-in logs)",
    ),
    key(
        "sign_in_days",
        Some("7"),
        "how many days of sign-in logs the first sync reads",
    ),
    key(
        "sign_in_schedule",
        Some("15m"),
        "how often the sign-in logs alone are read between full syncs; off: only with them",
    ),
    key(
        "full_listing_every",
        Some("24h"),
        "how often a scheduled sync lists every user in full; in between it reads only the users changed since (Graph's delta query); off: every sync lists them in full",
    ),
    key(
        "home_country",
        Some("GB"),
        "sign-ins from this country (ISO 3166-1) update last logins; only those from elsewhere are kept as sightings",
    ),
];

const GOOGLE_WORKSPACE: &[Key] = &[
    required(
        "subject",
        "the administrator the service account acts for (domain-wide delegation)",
    ),
    key(
        "customer",
        Some("my_customer"),
        "the Workspace customer id; my_customer is the administrator's own",
    ),
    key(
        "base_url",
        Some("https://admin.googleapis.com"),
        "the Admin SDK's address",
    ),
    key(
        "token_url",
        Some("https://oauth2.googleapis.com/token"),
        "Google's token endpoint",
    ),
    key(
        "system",
        Some("google-workspace"),
        "the system, in Steward's systems register, that the accounts are on",
    ),
    key(
        "feeds",
        Some("people,accounts,devices"),
        "which facts to read: people, accounts, devices (mobile and ChromeOS)",
    ),
];

const JAMF: &[Key] = &[
    required(
        "base_url",
        "the Jamf Pro server's address, such as https://example.jamfcloud.com",
    ),
    required("client_id", "the API client's id"),
    key(
        "token_url",
        Some("{base_url}/api/oauth/token"),
        "Jamf Pro's token endpoint",
    ),
    key(
        "feeds",
        Some("devices"),
        "which facts to read: devices (computers and mobile devices)",
    ),
];

const SNIPE_IT: &[Key] = &[
    required(
        "base_url",
        "the Snipe-IT server's address, such as https://assets.example.org",
    ),
    key(
        "feeds",
        Some("devices"),
        "which facts to read: devices (hardware)",
    ),
    key(
        "full_listing_every",
        Some("24h"),
        "how often a scheduled sync lists all hardware; in between it reads only the assets changed since (newest updated_at first); off: every sync lists it all",
    ),
];

const CSV: &[Key] = &[
    required(
        "profile",
        "the column map (a TOML profile: target, columns, transforms)",
    ),
    key(
        "system",
        None,
        "for accounts: the system, in Steward's systems register, they are on (default: the connector's name)",
    ),
];

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Microsoft365,
        Kind::GoogleWorkspace,
        Kind::Jamf,
        Kind::SnipeIt,
        Kind::Csv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Microsoft365 => "microsoft365",
            Kind::GoogleWorkspace => "google-workspace",
            Kind::Jamf => "jamf",
            Kind::SnipeIt => "snipe-it",
            Kind::Csv => "csv",
        }
    }

    /// The system as people call it: `Microsoft 365`, `Jamf Pro`; a `csv` connector's source is
    /// its mapped file.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Microsoft365 => "Microsoft 365",
            Kind::GoogleWorkspace => "Google Workspace",
            Kind::Jamf => "Jamf Pro",
            Kind::SnipeIt => "Snipe-IT",
            Kind::Csv => "the mapped CSV file",
        }
    }

    pub fn parse(word: &str) -> Result<Kind, ConnectError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == word)
            .ok_or_else(|| ConnectError::UnknownKind {
                kind: word.to_owned(),
                known: Kind::ALL.map(Kind::name).join(", "),
            })
    }

    /// Every setting this kind takes: its own, then those every kind takes.
    pub fn keys(self) -> impl Iterator<Item = &'static Key> {
        let own = match self {
            Kind::Microsoft365 => MICROSOFT_365,
            Kind::GoogleWorkspace => GOOGLE_WORKSPACE,
            Kind::Jamf => JAMF,
            Kind::SnipeIt => SNIPE_IT,
            Kind::Csv => CSV,
        };
        own.iter().chain(COMMON)
    }

    /// What the sealed credential is, or `None` when the kind needs none.
    pub fn secret(self) -> Option<&'static str> {
        match self {
            Kind::Microsoft365 => Some("the app registration's client secret"),
            Kind::GoogleWorkspace => Some("the service account's JSON key file"),
            Kind::Jamf => Some("the API client's secret"),
            Kind::SnipeIt => Some("a personal access token (API key)"),
            Kind::Csv => None,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A connector as the organisation set it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub kind: Kind,
    /// Only the settings given; defaults are read through [`Definition::get`].
    pub settings: BTreeMap<String, String>,
}

impl Definition {
    /// Checks a new or changed connector: its name, every key known to its kind, every
    /// required key given, every value of the right shape.
    pub fn new(
        name: &str,
        kind: Kind,
        settings: BTreeMap<String, String>,
    ) -> Result<Definition, ConnectError> {
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid_name {
            return Err(ConnectError::Setting {
                key: "name".into(),
                reason: format!(
                    "{name:?} is not a connector name: lower-case letters, digits, - and _, at most 64"
                ),
            });
        }
        for (k, v) in &settings {
            if !kind.keys().any(|known| known.name == k) {
                return Err(ConnectError::Setting {
                    key: k.clone(),
                    reason: format!(
                        "not a setting of a {kind} connector; it takes {}",
                        kind.keys().map(|k| k.name).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            if v.chars().any(char::is_control) && k != "profile" {
                return Err(ConnectError::Setting {
                    key: k.clone(),
                    reason: "contains a control character".into(),
                });
            }
        }
        let definition = Definition {
            name: name.to_owned(),
            kind,
            settings,
        };
        for k in kind.keys().filter(|k| k.required) {
            if definition.get(k.name).is_none_or(|v| v.trim().is_empty()) {
                return Err(ConnectError::Setting {
                    key: k.name.into(),
                    reason: format!("required: {}", k.about),
                });
            }
        }
        for url_key in ["base_url", "token_url"] {
            if let Some(u) = definition.get(url_key) {
                let parsed = url::Url::parse(&u).map_err(|e| ConnectError::Setting {
                    key: url_key.into(),
                    reason: format!("not an address: {e}"),
                })?;
                // Credentials and personal data never cross a network in clear text: plain
                // http is for a source on this machine only.
                let loopback = matches!(
                    parsed.host(),
                    Some(url::Host::Ipv4(ip)) if ip.is_loopback()
                ) || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
                    || parsed.host_str() == Some("localhost");
                let fine = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
                if !fine {
                    return Err(ConnectError::Setting {
                        key: url_key.into(),
                        reason: "must be an https address (plain http only to this machine)".into(),
                    });
                }
            }
        }
        definition.schedule()?;
        definition.sign_in_schedule()?;
        definition.full_listing_every()?;
        for k in ["leavers_threshold", "missing_threshold", "sign_in_days"] {
            definition.number(k)?;
        }
        definition.feeds()?;
        if let Some(owns) = definition.settings.get("owns") {
            for entry in owns
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty() && *e != "none")
            {
                let known = entry.split_once('.').is_some_and(|(r, f)| {
                    steward_model::Register::parse(r)
                        .and_then(|r| r.field(f))
                        .is_some_and(|f| f.csv)
                });
                if !known {
                    return Err(ConnectError::Setting {
                        key: "owns".into(),
                        reason: format!(
                            "{entry:?} is not a register's field, such as people.staff_group"
                        ),
                    });
                }
            }
        }
        if let Some(home) = definition.get("home_country")
            && home.parse::<steward_model::Country>().is_err()
        {
            return Err(ConnectError::Setting {
                key: "home_country".into(),
                reason: format!("{home:?} is not an ISO 3166-1 country code such as GB"),
            });
        }
        Ok(definition)
    }

    /// A setting's value: as set, or its default with `{base_url}` and `{tenant}` filled in.
    pub fn get(&self, key: &str) -> Option<String> {
        if let Some(v) = self.settings.get(key) {
            return Some(v.clone());
        }
        let default = self.kind.keys().find(|k| k.name == key)?.default?;
        let mut value = default.to_owned();
        for (word, setting) in [("{base_url}", "base_url"), ("{tenant}", "tenant")] {
            if value.contains(word) {
                let filled = self.settings.get(setting)?;
                value = value.replace(word, filled.trim_end_matches('/'));
            }
        }
        Some(value)
    }

    /// A setting that is a whole number.
    pub fn number(&self, key: &str) -> Result<Option<u64>, ConnectError> {
        self.get(key)
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| ConnectError::Setting {
                    key: key.into(),
                    reason: format!("{v:?} is not a whole number"),
                })
            })
            .transpose()
    }

    /// How often the connector syncs on its own; `None` when `off`.
    pub fn schedule(&self) -> Result<Option<Duration>, ConnectError> {
        self.cadence("schedule")
    }

    /// A setting that is a duration (`15m`, `1h`, `1h30m`) or `off`; a zero one is refused.
    fn cadence(&self, key: &str) -> Result<Option<Duration>, ConnectError> {
        let refused = |reason: String| ConnectError::Setting {
            key: key.into(),
            reason,
        };
        match self.get(key).as_deref().map(str::trim) {
            None | Some("off") => Ok(None),
            Some(text) => match parse_duration(text) {
                Ok(d) if d.is_zero() => Err(refused(format!("{text:?} is no time at all"))),
                Ok(d) => Ok(Some(d)),
                Err(reason) => Err(refused(format!("{reason}, or off"))),
            },
        }
    }

    /// How often the sign-in logs alone are read between full syncs; `None` when off or when the
    /// connector reads no sign-ins.
    pub fn sign_in_schedule(&self) -> Result<Option<Duration>, ConnectError> {
        if !self.feeds()?.contains(&crate::Feed::Sightings) {
            return Ok(None);
        }
        self.cadence("sign_in_schedule")
    }

    /// How often a scheduled sync lists users in full rather than by their changes; `None` when
    /// off (every sync lists them in full) or when the kind has no delta to read.
    pub fn full_listing_every(&self) -> Result<Option<Duration>, ConnectError> {
        self.cadence("full_listing_every")
    }

    /// This connector reading only `only` of its feeds (a sign-in run between full syncs).
    pub fn restricted_to(&self, only: &[crate::Feed]) -> Result<Definition, ConnectError> {
        let feeds: Vec<&str> = self
            .feeds()?
            .into_iter()
            .filter(|f| only.contains(f))
            .map(crate::Feed::name)
            .collect();
        let mut settings = self.settings.clone();
        settings.insert("feeds".into(), feeds.join(","));
        Ok(Definition {
            name: self.name.clone(),
            kind: self.kind,
            settings,
        })
    }

    /// The feeds this connector reads.
    pub fn feeds(&self) -> Result<Vec<crate::Feed>, ConnectError> {
        let Some(list) = self.get("feeds") else {
            return Ok(match self.kind {
                Kind::Csv => Vec::new(),
                _ => vec![crate::Feed::Devices],
            });
        };
        let mut feeds = Vec::new();
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let feed = crate::Feed::ALL
                .into_iter()
                .find(|f| f.name() == word)
                .ok_or_else(|| ConnectError::Setting {
                    key: "feeds".into(),
                    reason: format!("{word:?} is not a feed"),
                })?;
            let offered = self
                .kind
                .keys()
                .find(|k| k.name == "feeds")
                .and_then(|k| k.default)
                .is_some_and(|d| d.split(',').any(|w| w == word));
            if !offered {
                return Err(ConnectError::Setting {
                    key: "feeds".into(),
                    reason: format!("a {} connector does not read {word}", self.kind),
                });
            }
            feeds.push(feed);
        }
        Ok(feeds)
    }

    /// Whether this connector keeps `field` of `register`: as its `owns` setting says, or else
    /// as its kind does by default ([`crate::plan::owned`]).
    pub fn owns(&self, register: steward_model::Register, field: &str) -> bool {
        match self.settings.get("owns") {
            Some(list) => list.split(',').map(str::trim).any(|entry| {
                entry
                    .split_once('.')
                    .is_some_and(|(r, f)| r == register.name() && f == field)
            }),
            None => crate::plan::owned(self.kind, register).contains(&field),
        }
    }

    /// Department names mapped to staff groups.
    pub fn departments(&self) -> BTreeMap<String, String> {
        self.get("departments")
            .unwrap_or_default()
            .split(';')
            .filter_map(|pair| {
                let (d, g) = pair.split_once('=')?;
                Some((d.trim().to_lowercase(), g.trim().to_owned()))
            })
            .collect()
    }
}

/// A duration as Steward's configuration writes it: a whole number and a unit, `500ms`, `30s`,
/// `15m`, `24h` or `7d`; several may follow one another (`1h30m`). The one reading of it, for the
/// server's configuration and connectors' schedules alike.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("expected a duration such as \"500ms\", \"30s\", \"15m\" or \"24h\"".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "{text:?}: expected a whole number before each unit"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ms: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => {
                return Err(format!(
                    "{text:?}: give a unit after {n} (ms, s, m, h or d)"
                ));
            }
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?} (expected ms, s, m, h or d)"
                ));
            }
        };
        rest = &rest[unit_len..];
        let ms = n
            .checked_mul(unit_ms)
            .ok_or_else(|| format!("{text:?}: too long"))?;
        total = total
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(|| format!("{text:?}: too long"))?;
    }
    Ok(total)
}
