//! Snipe-IT through its REST API with a personal access token: the hardware list (asset tag,
//! serial, model, category, status, who it is checked out to, purchase date and cost), walked by
//! `offset` and `limit` to `total` — all of it, or between full listings (`full_listing_every`)
//! only what changed, sorted by `updated_at` newest first.
//!
//! Shapes: Snipe-IT API reference, `GET /api/v1/hardware` (the assets transformer's JSON).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value as Json;
use steward_model::{AssetKind, Pence};

use crate::http::{Fixed, Http};
use crate::json::{date, lower, text};
use crate::settings::Definition;
use crate::{ConnectError, Cursor, Feed, Fetched, Listing, SourceDevice};

const PAGE: usize = 500;

pub struct SnipeIt<'a> {
    http: &'a Http,
    base: String,
    auth: Fixed,
}

impl<'a> SnipeIt<'a> {
    pub fn new(http: &'a Http, definition: &Definition, secret: &str) -> SnipeIt<'a> {
        SnipeIt {
            http,
            base: definition
                .get("base_url")
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            auth: Fixed(secret.trim().to_owned()),
        }
    }

    pub fn test(&mut self) -> Result<Vec<String>, ConnectError> {
        let url = format!("{}/api/v1/hardware?limit=1&offset=0", self.base);
        let answer = self.http.get_json(&url, &mut self.auth)?;
        refused(&answer, &url)?;
        Ok(vec![
            "the token is accepted and hardware can be read".into(),
        ])
    }

    /// Reads the hardware: all of it, or (`by_changes`, with `cursor` saying where the last
    /// run got to) only the assets changed since, newest `updated_at` first, stopping at the
    /// first one older. Such a round lists changes only: an asset it does not mention is left
    /// as it is, and only a full listing says what is missing.
    pub fn fetch(
        &mut self,
        feeds: &[Feed],
        mut cursor: Cursor,
        by_changes: bool,
        now: DateTime<Utc>,
    ) -> Result<Fetched, ConnectError> {
        let mut listing = Listing::default();
        if !feeds.contains(&Feed::Devices) {
            return Ok(Fetched {
                listing,
                cursor: None,
                tokens: 0,
                requests: self.http.sent.get(),
            });
        }
        // A round of changes reads from a while before the newest change it saw last time:
        // an asset saved while the last run was paging may carry an earlier time than one it
        // read later. Reading one twice changes nothing.
        let since = by_changes
            .then(|| cursor.devices_changed_to.as_deref().and_then(source_time))
            .flatten()
            .map(|t| t - chrono::Duration::minutes(CHANGE_MARGIN_MINUTES));
        let order = if since.is_some() {
            "sort=updated_at&order=desc"
        } else {
            "sort=id&order=asc"
        };
        let mut newest: Option<NaiveDateTime> =
            cursor.devices_changed_to.as_deref().and_then(source_time);
        let mut offset = 0usize;
        'pages: loop {
            let url = format!(
                "{}/api/v1/hardware?limit={PAGE}&offset={offset}&{order}",
                self.base
            );
            let answer = self.http.get_json(&url, &mut self.auth)?;
            refused(&answer, &url)?;
            let (Some(total), Some(rows)) = (
                answer.get("total").and_then(Json::as_u64),
                answer.get("rows").and_then(Json::as_array),
            ) else {
                return Err(ConnectError::Malformed {
                    url: crate::http::shown(&url),
                    reason: "no total and rows".into(),
                });
            };
            for row in rows {
                let updated = text(row, "/updated_at/datetime")
                    .as_deref()
                    .and_then(source_time);
                if let (Some(since), Some(updated)) = (since, updated)
                    && updated < since
                {
                    break 'pages;
                }
                if updated > newest {
                    newest = updated;
                }
                listing.devices.extend(read_asset(row));
            }
            offset += rows.len();
            if rows.is_empty() || offset as u64 >= total {
                break;
            }
        }
        if since.is_some() {
            listing.changes_only.push(Feed::Devices);
        } else {
            listing.complete.push(Feed::Devices);
            cursor.devices_listed_at = Some(now);
        }
        cursor.devices_changed_to = newest.map(|t| t.format(SOURCE_TIME).to_string());
        Ok(Fetched {
            listing,
            cursor: Some(cursor.to_text()),
            tokens: 0,
            requests: self.http.sent.get(),
        })
    }
}

/// How Snipe-IT writes a time (`updated_at.datetime`), in its server's own clock.
const SOURCE_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// How far before the newest change it saw a round of changes starts reading.
const CHANGE_MARGIN_MINUTES: i64 = 15;

fn source_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.trim(), SOURCE_TIME).ok()
}

/// Snipe-IT answers some refusals with 200 and `{"status":"error","messages":…}`.
fn refused(answer: &Json, url: &str) -> Result<(), ConnectError> {
    if answer.get("status").and_then(Json::as_str) == Some("error") {
        return Err(ConnectError::Refused {
            url: crate::http::shown(url),
            status: 200,
            reason: crate::http::vendor_message(&answer.to_string()),
        });
    }
    Ok(())
}

fn read_asset(a: &Json) -> Option<SourceDevice> {
    let id = text(a, "id")?;
    let category = text(a, "/category/name").unwrap_or_default().to_lowercase();
    let kind = if category.contains("phone") || category.contains("mobile") {
        Some(AssetKind::Smartphone)
    } else if category.contains("tablet") {
        Some(AssetKind::Tablet)
    } else if category.contains("laptop")
        || category.contains("desktop")
        || category.contains("computer")
    {
        Some(AssetKind::Laptop)
    } else if category.contains("usb") {
        Some(AssetKind::UsbStick)
    } else {
        None
    };
    let status = text(a, "/status_label/status_meta")
        .or_else(|| text(a, "/status_label/status_type"))
        .unwrap_or_default();
    let holder = a
        .get("assigned_to")
        .filter(|t| text(t, "type").is_none_or(|k| k == "user"));
    Some(SourceDevice {
        source_id: id,
        asset_tag: text(a, "asset_tag"),
        name: text(a, "name"),
        serial: text(a, "serial"),
        imei: text(a, "/custom_fields/IMEI/value"),
        model: text(a, "/model/name"),
        manufacturer: text(a, "/manufacturer/name"),
        kind,
        holder_email: holder
            .and_then(|h| lower(h, "email"))
            .filter(|e| e.contains('@')),
        purchase_date: date(a, "/purchase_date/date"),
        cost: text(a, "purchase_cost").and_then(|c| money(&c)),
        retired: Some(matches!(status.as_str(), "archived" | "undeployable")),
        ..SourceDevice::default()
    })
}

/// "1,249.00" (Snipe-IT formats costs with the server's separators) as pence.
fn money(text: &str) -> Option<Pence> {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let pounds: f64 = cleaned.parse().ok()?;
    Some(Pence((pounds * 100.0).round() as i64))
}
