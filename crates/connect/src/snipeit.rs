//! Snipe-IT through its REST API with a personal access token: the hardware list (asset tag,
//! serial, model, category, status, who it is checked out to, purchase date and cost), walked by
//! `offset` and `limit` to `total`.
//!
//! Shapes: Snipe-IT API reference, `GET /api/v1/hardware` (the assets transformer's JSON).

use serde_json::Value as Json;
use steward_model::{AssetKind, Pence};

use crate::http::{Fixed, Http};
use crate::json::{date, lower, text};
use crate::settings::Definition;
use crate::{ConnectError, Feed, Fetched, Listing, SourceDevice};

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

    pub fn fetch(&mut self, feeds: &[Feed]) -> Result<Fetched, ConnectError> {
        let mut listing = Listing::default();
        if feeds.contains(&Feed::Devices) {
            let mut offset = 0usize;
            loop {
                let url = format!(
                    "{}/api/v1/hardware?limit={PAGE}&offset={offset}&sort=id&order=asc",
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
                listing.devices.extend(rows.iter().filter_map(read_asset));
                offset += rows.len();
                if rows.is_empty() || offset as u64 >= total {
                    break;
                }
            }
            listing.complete.push(Feed::Devices);
        }
        Ok(Fetched {
            listing,
            cursor: None,
            tokens: 0,
            requests: self.http.sent.get(),
        })
    }
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
