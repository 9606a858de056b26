//! Jamf Pro through its Pro API, with an API client's credentials: the computers inventory
//! (general, hardware, disk encryption, operating system, user and location) and mobile
//! devices, walked page by page (`page`, `page-size`, `totalCount`).
//!
//! Shapes: Jamf Pro API reference — `GET /api/v1/computers-inventory` (ComputerInventory),
//! `GET /api/v2/mobile-devices/detail` (MobileDeviceDetails), `POST /api/oauth/token`.

use serde_json::Value as Json;
use steward_model::{AssetKind, Ownership};

use crate::auth::ClientCredentials;
use crate::http::{Bearer, Http};
use crate::json::{flag, lower, text, time};
use crate::settings::Definition;
use crate::source::{readable, unless_refused};
use crate::{ConnectError, Feed, Fetched, Listing, SourceDevice};

const PAGE: usize = 200;

pub struct Jamf<'a> {
    http: &'a Http,
    base: String,
    auth: ClientCredentials,
}

impl<'a> Jamf<'a> {
    pub fn new(http: &'a Http, definition: &Definition, secret: &str) -> Jamf<'a> {
        let base = definition
            .get("base_url")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        Jamf {
            http,
            auth: ClientCredentials::new(
                definition.get("token_url").unwrap_or_default(),
                definition.get("client_id").unwrap_or_default(),
                secret.to_owned(),
                Vec::new(),
            ),
            base,
        }
    }

    pub fn test(&mut self) -> Result<Vec<String>, ConnectError> {
        self.auth.token(self.http, false)?;
        let url = format!(
            "{}/api/v1/computers-inventory?section=GENERAL&page=0&page-size=1",
            self.base
        );
        self.http.get_json(&url, &mut self.auth)?;
        let url = format!(
            "{}/api/v2/mobile-devices/detail?section=GENERAL&page=0&page-size=1",
            self.base
        );
        let mobiles = readable("mobile devices", self.http.get_json(&url, &mut self.auth))?;
        Ok(vec![
            "a token was issued for the API client".into(),
            "computers can be read".into(),
            mobiles,
        ])
    }

    /// Visits every result of a paged list, a page let go before the next is read.
    fn each(&mut self, first: &str, mut visit: impl FnMut(&Json)) -> Result<(), ConnectError> {
        let mut seen = 0u64;
        for page in 0.. {
            let url = format!("{first}&page={page}&page-size={PAGE}");
            let answer = self.http.get_json(&url, &mut self.auth)?;
            let (Some(total), Some(results)) = (
                answer.get("totalCount").and_then(Json::as_u64),
                answer.get("results").and_then(Json::as_array),
            ) else {
                return Err(ConnectError::Malformed {
                    url: crate::http::shown(&url),
                    reason: "no totalCount and results".into(),
                });
            };
            results.iter().for_each(&mut visit);
            seen += results.len() as u64;
            if results.is_empty() || seen >= total {
                break;
            }
        }
        Ok(())
    }

    pub fn fetch(&mut self, feeds: &[Feed]) -> Result<Fetched, ConnectError> {
        let mut listing = Listing::default();
        if feeds.contains(&Feed::Devices) {
            let computers = format!(
                "{}/api/v1/computers-inventory?section=GENERAL&section=HARDWARE&section=DISK_ENCRYPTION&section=OPERATING_SYSTEM&section=USER_AND_LOCATION&sort=id%3Aasc",
                self.base
            );
            let mobiles = format!(
                "{}/api/v2/mobile-devices/detail?section=GENERAL&section=HARDWARE&section=USER_AND_LOCATION&section=SECURITY&section=NETWORK&sort=mobileDeviceId%3Aasc",
                self.base
            );
            let mut complete = true;
            for (first, read) in [
                (
                    computers,
                    read_computer as fn(&Json) -> Option<SourceDevice>,
                ),
                (mobiles, read_mobile),
            ] {
                let mut devices = Vec::new();
                let listed = self.each(&first, |d| devices.extend(read(d)));
                match unless_refused(listed, Feed::Devices, &mut listing.skipped)? {
                    Some(()) => listing.devices.extend(devices),
                    None => complete = false,
                }
            }
            if complete {
                listing.complete.push(Feed::Devices);
            }
        }
        Ok(Fetched {
            listing,
            cursor: None,
            tokens: self.auth.issued,
            requests: self.http.sent.get(),
        })
    }
}

fn read_computer(c: &Json) -> Option<SourceDevice> {
    let id = text(c, "id")?;
    let vault = text(
        c,
        "/diskEncryption/bootPartitionEncryptionDetails/partitionFileVault2State",
    );
    let encrypted = match vault.as_deref() {
        Some("ENCRYPTED") => Some(true),
        Some(_) => Some(false),
        None => None,
    };
    let managed = flag(c, "/general/remoteManagement/managed");
    Some(SourceDevice {
        source_id: format!("computer/{id}"),
        asset_tag: text(c, "/general/assetTag"),
        name: text(c, "/general/name"),
        serial: text(c, "/hardware/serialNumber"),
        model: text(c, "/hardware/model"),
        manufacturer: text(c, "/hardware/make"),
        os: text(c, "/operatingSystem/name").or(Some("macOS".into())),
        os_version: text(c, "/operatingSystem/version"),
        kind: Some(AssetKind::Laptop),
        ownership: Some(Ownership::Organisation),
        holder_email: lower(c, "/userAndLocation/email"),
        encrypted,
        compliance_state: managed.map(|m| if m { "managed" } else { "unmanaged" }.to_owned()),
        last_seen: time(c, "/general/lastContactTime"),
        ..SourceDevice::default()
    })
}

fn read_mobile(m: &Json) -> Option<SourceDevice> {
    let id = text(m, "mobileDeviceId").or_else(|| text(m, "id"))?;
    let device_type = text(m, "deviceType").unwrap_or_default().to_lowercase();
    let model = text(m, "/hardware/model");
    let kind =
        if device_type.contains("ipad") || model.as_deref().is_some_and(|m| m.contains("iPad")) {
            AssetKind::Tablet
        } else {
            AssetKind::Smartphone
        };
    let ownership = text(m, "/general/deviceOwnershipType")
        .or_else(|| text(m, "/general/deviceOwnershipLevel"))
        .map(|o| {
            if o.to_lowercase().contains("personal") {
                Ownership::Personal
            } else {
                Ownership::Organisation
            }
        });
    Some(SourceDevice {
        source_id: format!("mobile/{id}"),
        asset_tag: text(m, "/general/assetTag"),
        name: text(m, "/general/displayName"),
        serial: text(m, "/hardware/serialNumber"),
        imei: text(m, "/network/imei").or_else(|| text(m, "/hardware/imei")),
        model,
        manufacturer: Some("Apple".into()),
        os: Some(
            if kind == AssetKind::Tablet {
                "iPadOS"
            } else {
                "iOS"
            }
            .into(),
        ),
        os_version: text(m, "/general/osVersion"),
        kind: Some(kind),
        ownership,
        holder_email: lower(m, "/userAndLocation/emailAddress"),
        encrypted: flag(m, "/security/dataProtected"),
        last_seen: time(m, "/general/lastInventoryUpdateDate")
            .or_else(|| time(m, "/general/lastInventoryUpdateTimestamp")),
        phone_number: text(m, "/network/phoneNumber"),
        ..SourceDevice::default()
    })
}
