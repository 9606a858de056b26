//! Connectors: the estate kept current from the systems the organisation already runs — the
//! identity provider and device manager (Microsoft 365, Google Workspace), Jamf, Snipe-IT — and
//! from the files of those without an API (the portals' own exports, an HR spreadsheet, the mobile
//! network's bill, through a mapped CSV profile).
//!
//! It owns reading a source into a [`Listing`] of source records in one shape whatever the source
//! ([`source`]), the portal exports and mapped CSV files ([`exports`], [`mapped`]). It must never
//! hold SQL or write a register itself: what a listing changes is decided against the estate and
//! applied through `steward-service`, in audited transactions, with the connector as the actor. It
//! must never put a secret (client secret, private key, token) in an error, a log line or a
//! listing.

pub mod auth;
pub mod exports;
pub mod google;
pub mod http;
pub mod jamf;
pub mod json;
pub mod mapped;
pub mod microsoft;
pub mod plan;
pub mod settings;
pub mod snipeit;
pub mod source;
pub mod sso;
pub mod webhook;

pub use settings::{Definition, Kind};

pub use source::{
    Feed, Listing, SkippedFeed, SourceAccount, SourceDevice, SourcePerson, SourceSighting,
    SourceUsage,
};

/// Where a connector's incremental feeds got to, kept between runs: the sign-in logs are read
/// from the last sign-in seen, and on their own cadence between full syncs; Microsoft 365 users
/// from the delta link of the last round, between full listings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    /// The latest sign-in read.
    pub sign_ins_to: Option<chrono::DateTime<chrono::Utc>>,
    /// When the sign-in logs were last read.
    pub sign_ins_read_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Graph's `@odata.deltaLink` for users: the next round of changes starts there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_delta: Option<String>,
    /// When users were last listed in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_listed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The newest change to a device the source has reported, in the source's own clock and
    /// words (Snipe-IT's `updated_at`, `2026-11-24 09:00:00`): a round of changes reads from
    /// a little before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices_changed_to: Option<String>,
    /// When devices were last listed in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices_listed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Cursor {
    /// A stored cursor: JSON, or (as first kept) the latest sign-in's time alone.
    pub fn parse(text: Option<&str>) -> Cursor {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Cursor::default();
        };
        if let Ok(cursor) = serde_json::from_str(text) {
            return cursor;
        }
        Cursor {
            sign_ins_to: chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc)),
            ..Cursor::default()
        }
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// How much of its source a run reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reading {
    /// Every feed listed in full: a sync or preview a person asks for, and the first sync.
    #[default]
    Full,
    /// The schedule's round: where the source allows it and no full listing is due
    /// (`full_listing_every`), only what changed since the last run — Microsoft 365 users by
    /// Graph's delta query, Snipe-IT's hardware newest change first; every other feed in full.
    Changes,
}

/// What one run fetched from its source, before it is matched to the registers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    pub listing: Listing,
    /// Where the incremental feeds got to, kept for the next run ([`Cursor`] as text); `None`
    /// when this run read none.
    pub cursor: Option<String>,
    /// Tokens issued and requests sent, for the run's report.
    pub tokens: u32,
    pub requests: u64,
}

/// Everything that can stop a connector. None holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("no connector kind {kind:?}; the kinds are {known}")]
    UnknownKind { kind: String, known: String },
    #[error("setting {key}: {reason}")]
    Setting { key: String, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error("{url}: token refused: {reason}")]
    Token { url: String, reason: String },
    #[error("{url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url}: refused ({status}): {reason}")]
    Refused {
        url: String,
        status: u16,
        reason: String,
    },
    #[error("{url}: forbidden (a licence or permission is missing): {reason}")]
    Forbidden { url: String, reason: String },
    #[error("{url}: still throttled after waiting; try again later")]
    Throttled { url: String },
    #[error("{url}: the answer is not what the API documents: {reason}")]
    Malformed { url: String, reason: String },
    /// A change-tracking link the source no longer honours (expired, or reset by the vendor):
    /// the feed must be listed in full again.
    #[error("{url}: the source asks for a full listing again: {reason}")]
    Resync { url: String, reason: String },
    #[error(transparent)]
    Export(#[from] exports::ExportError),
    #[error(transparent)]
    Mapped(#[from] mapped::MappedError),
    #[error("{0}")]
    Other(String),
}

/// Reads what a connector's source holds now: its API, or a file a person gave it (a portal's
/// export, or a mapped CSV file through the connector's profile).
/// `reading` says whether a scheduled round may read only what changed since `cursor`.
pub fn fetch(
    definition: &Definition,
    secret: Option<&str>,
    cursor: Option<&str>,
    reading: Reading,
    file: Option<(&str, &[u8])>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Fetched, ConnectError> {
    if let Some((name, bytes)) = file {
        let listing = match definition.kind {
            Kind::Csv => {
                let profile =
                    mapped::Profile::from_toml(&definition.get("profile").unwrap_or_default())?;
                mapped::read(&profile, name, bytes)?
            }
            kind => match exports::detect_file(bytes) {
                Some(export) if exported_by(export) != kind => {
                    return Err(ConnectError::Other(format!(
                        "{name} is {}, which a {kind} connector does not read",
                        export.title()
                    )));
                }
                Some(export) => exports::read(export, name, bytes)?,
                // Not an export Steward knows: read_any says why, naming the file and line.
                None => exports::read_any(name, bytes)?,
            },
        };
        return Ok(Fetched {
            listing,
            ..Fetched::default()
        });
    }
    let feeds = definition.feeds()?;
    let http = http::Http::new(http::Retry::default(), std::time::Duration::from_secs(60))?;
    let secret = secret.ok_or_else(|| needs_secret(definition))?;
    match definition.kind {
        Kind::Microsoft365 => {
            let days = definition.number("sign_in_days")?.unwrap_or(7) as i64;
            // A delta round only while the last full listing is recent enough.
            let cursor = Cursor::parse(cursor);
            let by_delta = reads_changes(definition, reading, cursor.users_listed_at, now)?;
            microsoft::Graph::new(&http, definition, secret)?.fetch(
                &feeds,
                microsoft::Round {
                    cursor,
                    by_delta,
                    sign_in_days: days,
                    now,
                },
            )
        }
        Kind::GoogleWorkspace => google::Directory::new(&http, definition, secret)?.fetch(&feeds),
        Kind::Jamf => jamf::Jamf::new(&http, definition, secret).fetch(&feeds),
        Kind::SnipeIt => {
            let cursor = Cursor::parse(cursor);
            let by_changes = cursor.devices_changed_to.is_some()
                && reads_changes(definition, reading, cursor.devices_listed_at, now)?;
            snipeit::SnipeIt::new(&http, definition, secret).fetch(&feeds, cursor, by_changes, now)
        }
        Kind::Csv => Err(ConnectError::Other(
            "a csv connector reads a file: give one".into(),
        )),
    }
}

/// Whether a round may read a feed by its changes: the schedule's round (`Reading::Changes`),
/// while the feed's last full listing (`listed`) is more recent than `full_listing_every`.
fn reads_changes(
    definition: &Definition,
    reading: Reading,
    listed: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, ConnectError> {
    if reading != Reading::Changes {
        return Ok(false);
    }
    Ok(match (definition.full_listing_every()?, listed) {
        (Some(every), Some(listed)) => {
            chrono::Duration::from_std(every).is_ok_and(|every| now < listed + every)
        }
        _ => false,
    })
}

/// Checks that a connector can reach its source: a token, then one small read per feed.
pub fn test(definition: &Definition, secret: Option<&str>) -> Result<Vec<String>, ConnectError> {
    let http = http::Http::new(http::Retry::default(), std::time::Duration::from_secs(30))?;
    if definition.kind == Kind::Csv {
        let profile = mapped::Profile::from_toml(&definition.get("profile").unwrap_or_default())?;
        profile.check()?;
        return Ok(vec![format!("the profile {} is valid", profile.name)]);
    }
    let secret = secret.ok_or_else(|| needs_secret(definition))?;
    match definition.kind {
        Kind::Microsoft365 => microsoft::Graph::new(&http, definition, secret)?.test(),
        Kind::GoogleWorkspace => google::Directory::new(&http, definition, secret)?.test(),
        Kind::Jamf => jamf::Jamf::new(&http, definition, secret).test(),
        Kind::SnipeIt => snipeit::SnipeIt::new(&http, definition, secret).test(),
        Kind::Csv => Ok(Vec::new()),
    }
}

/// The kind of connector whose system writes `export`.
fn exported_by(export: exports::Export) -> Kind {
    match export {
        exports::Export::IntuneDevices | exports::Export::EntraUsers => Kind::Microsoft365,
        exports::Export::GoogleUsers => Kind::GoogleWorkspace,
        exports::Export::SnipeItAssets => Kind::SnipeIt,
    }
}

fn needs_secret(definition: &Definition) -> ConnectError {
    ConnectError::Setting {
        key: "secret".into(),
        reason: format!(
            "a {} connector needs {}",
            definition.kind,
            definition.kind.secret().unwrap_or("a credential")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn a_cursor_kept_before_delta_links_still_reads() {
        // As kept before users were read by their changes, and as first kept (a time alone).
        let kept = Cursor::parse(Some(
            r#"{"sign_ins_to":"2026-12-01T08:59:00Z","sign_ins_read_at":"2026-12-01T09:00:00Z"}"#,
        ));
        assert!(kept.sign_ins_to.is_some() && kept.sign_ins_read_at.is_some());
        assert_eq!((kept.users_delta, kept.users_listed_at), (None, None));
        let oldest = Cursor::parse(Some("2026-12-01T08:59:00Z"));
        assert_eq!(oldest.sign_ins_to, kept.sign_ins_to);
        // A cursor without a delta link is written as before, and one with it reads back whole.
        assert!(!Cursor::default().to_text().contains("users_delta"));
        let with = Cursor {
            users_delta: Some("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x".into()),
            users_listed_at: kept.sign_ins_read_at,
            ..kept
        };
        assert_eq!(Cursor::parse(Some(&with.to_text())), with);
    }
}
