//! Google Workspace through the Admin SDK Directory API, with a service account's domain-wide
//! delegation: users (people and their Google accounts: 2-Step Verification, admin, last
//! login), mobile devices and ChromeOS devices. Lists are walked through `nextPageToken`.
//!
//! Shapes: Admin SDK Directory API v1 reference — `users.list` (resource `User`),
//! `mobiledevices.list` (resource `MobileDevice`), `chromeosdevices.list` (resource
//! `ChromeOsDevice`).

use serde_json::Value as Json;
use steward_model::{AssetKind, Ownership};

use crate::auth::{ServiceAccount, ServiceAccountKey};
use crate::http::{Bearer, Http};
use crate::json::{flag, list, lower, text, time};
use crate::settings::Definition;
use crate::source::{readable, unless_refused};
use crate::{ConnectError, Feed, Fetched, Listing, SourceAccount, SourceDevice, SourcePerson};

/// The read-only scopes the service account is granted in the Admin console.
pub const SCOPES: [&str; 3] = [
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly",
];

pub struct Directory<'a> {
    http: &'a Http,
    base: String,
    customer: String,
    auth: ServiceAccount,
}

impl<'a> Directory<'a> {
    pub fn new(
        http: &'a Http,
        definition: &Definition,
        secret: &str,
    ) -> Result<Directory<'a>, ConnectError> {
        let key: ServiceAccountKey =
            serde_json::from_str(secret).map_err(|_| ConnectError::Setting {
                key: "secret".into(),
                reason: "not a service account's JSON key file (client_email and private_key)"
                    .into(),
            })?;
        let base = definition
            .get("base_url")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        let token_url = definition.get("token_url").unwrap_or_default();
        Ok(Directory {
            http,
            base,
            customer: definition
                .get("customer")
                .unwrap_or_else(|| "my_customer".into()),
            auth: ServiceAccount::new(
                key,
                definition.get("subject").unwrap_or_default(),
                SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                token_url,
            ),
        })
    }

    pub fn test(&mut self) -> Result<Vec<String>, ConnectError> {
        self.auth.token(self.http, false)?;
        let mut said = vec!["a token was issued for the service account".to_owned()];
        let url = format!(
            "{}/admin/directory/v1/users?customer={}&maxResults=1",
            self.base,
            enc(&self.customer)
        );
        self.http.get_json(&url, &mut self.auth)?;
        said.push("users can be read".into());
        for (what, kind) in [
            ("mobile devices", "mobile"),
            ("ChromeOS devices", "chromeos"),
        ] {
            let url = format!(
                "{}/admin/directory/v1/customer/{}/devices/{kind}?maxResults=1",
                self.base,
                enc(&self.customer)
            );
            said.push(readable(what, self.http.get_json(&url, &mut self.auth))?);
        }
        Ok(said)
    }

    /// Visits every item of a list (the page's `field`), following `nextPageToken`, a page let
    /// go before the next is read.
    fn each(
        &mut self,
        first: &str,
        field: &str,
        mut visit: impl FnMut(&Json),
    ) -> Result<(), ConnectError> {
        let mut token: Option<String> = None;
        loop {
            let url = match &token {
                Some(t) => format!("{first}&pageToken={}", enc(t)),
                None => first.to_owned(),
            };
            let page = self.http.get_json(&url, &mut self.auth)?;
            if !page.is_object() {
                return Err(ConnectError::Malformed {
                    url: crate::http::shown(&url),
                    reason: "not a JSON object".into(),
                });
            }
            // An empty list is left out of the answer altogether.
            list(&page, field).for_each(&mut visit);
            token = text(&page, "nextPageToken");
            if token.is_none() {
                return Ok(());
            }
        }
    }

    pub fn fetch(&mut self, feeds: &[Feed]) -> Result<Fetched, ConnectError> {
        let mut listing = Listing::default();
        if feeds.contains(&Feed::People) || feeds.contains(&Feed::Accounts) {
            let url = format!(
                "{}/admin/directory/v1/users?customer={}&projection=full&maxResults=500",
                self.base,
                enc(&self.customer)
            );
            let (mut people, mut accounts) = (Vec::new(), Vec::new());
            let read = self.each(&url, "users", |u| {
                read_user(u, feeds, &mut people, &mut accounts)
            });
            if unless_refused(read, Feed::People, &mut listing.skipped)?.is_some() {
                listing.people = people;
                listing.accounts = accounts;
                for feed in [Feed::People, Feed::Accounts] {
                    if feeds.contains(&feed) {
                        listing.complete.push(feed);
                    }
                }
            }
        }
        if feeds.contains(&Feed::Devices) {
            let mobile = format!(
                "{}/admin/directory/v1/customer/{}/devices/mobile?projection=FULL&maxResults=100",
                self.base,
                enc(&self.customer)
            );
            let chrome = format!(
                "{}/admin/directory/v1/customer/{}/devices/chromeos?projection=FULL&maxResults=200",
                self.base,
                enc(&self.customer)
            );
            let mut devices = Vec::new();
            let phones = self.each(&mobile, "mobiledevices", |d| devices.extend(read_mobile(d)));
            let phones = unless_refused(phones, Feed::Devices, &mut listing.skipped)?;
            let books = self.each(&chrome, "chromeosdevices", |d| {
                devices.extend(read_chromeos(d))
            });
            let books = unless_refused(books, Feed::Devices, &mut listing.skipped)?;
            listing.devices = devices;
            if phones.is_some() && books.is_some() {
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

fn enc(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn read_user(
    u: &Json,
    feeds: &[Feed],
    people: &mut Vec<SourcePerson>,
    accounts: &mut Vec<SourceAccount>,
) {
    let (Some(id), Some(email)) = (text(u, "id"), lower(u, "primaryEmail")) else {
        return;
    };
    let suspended = flag(u, "suspended").unwrap_or(false);
    let archived = flag(u, "archived").unwrap_or(false);
    let active = Some(!suspended && !archived);
    if feeds.contains(&Feed::People) {
        let mut aliases: Vec<String> = list(u, "aliases")
            .chain(list(u, "nonEditableAliases"))
            .filter_map(Json::as_str)
            .map(str::to_lowercase)
            .collect();
        aliases.extend(list(u, "emails").filter_map(|e| lower(e, "address")));
        aliases.sort();
        aliases.dedup();
        aliases.retain(|a| *a != email);
        let organisation = list(u, "organizations")
            .find(|o| flag(o, "primary") == Some(true))
            .or_else(|| list(u, "organizations").next());
        people.push(SourcePerson {
            source_id: id.clone(),
            email: Some(email.clone()),
            aliases,
            name: text(u, "/name/fullName").or_else(|| {
                match (text(u, "/name/givenName"), text(u, "/name/familyName")) {
                    (Some(g), Some(f)) => Some(format!("{g} {f}")),
                    (g, f) => g.or(f),
                }
            }),
            employee_id: list(u, "externalIds")
                .find(|x| text(x, "type").as_deref() == Some("organization"))
                .and_then(|x| text(x, "value")),
            department: organisation.and_then(|o| text(o, "department")),
            job_title: organisation.and_then(|o| text(o, "title")),
            manager_email: list(u, "relations")
                .find(|r| text(r, "type").as_deref() == Some("manager"))
                .and_then(|r| lower(r, "value")),
            // The directory lists every relation a user has: none of type manager is no manager.
            manager_stated: true,
            active,
            ..SourcePerson::default()
        });
    }
    if feeds.contains(&Feed::Accounts) {
        accounts.push(SourceAccount {
            source_id: id,
            login: email.clone(),
            person_email: Some(email),
            enabled: active,
            admin: Some(
                flag(u, "isAdmin").unwrap_or(false) || flag(u, "isDelegatedAdmin").unwrap_or(false),
            ),
            mfa: flag(u, "isEnrolledIn2Sv"),
            last_login: time(u, "lastLoginTime"),
            service: None,
        });
    }
}

fn read_mobile(d: &Json) -> Option<SourceDevice> {
    let id = text(d, "resourceId").or_else(|| text(d, "deviceId"))?;
    let os = text(d, "os");
    let model = text(d, "model");
    let kind = crate::microsoft::device_kind(
        os.as_deref().or(text(d, "type").as_deref()),
        model.as_deref(),
    );
    let encrypted = text(d, "encryptionStatus").map(|s| {
        let s = s.to_lowercase();
        s.contains("encrypted") && !s.contains("not") && !s.contains("unencrypted")
    });
    let status = text(d, "status").unwrap_or_default();
    Some(SourceDevice {
        source_id: id,
        name: list(d, "name")
            .next()
            .and_then(Json::as_str)
            .map(str::to_owned),
        serial: text(d, "serialNumber"),
        imei: text(d, "imei"),
        model,
        manufacturer: text(d, "manufacturer").or_else(|| text(d, "brand")),
        os_version: os
            .as_deref()
            .and_then(|o| o.rsplit(' ').next())
            .map(str::to_owned),
        os,
        kind,
        ownership: text(d, "deviceOwnership")
            .or_else(|| text(d, "ownership"))
            .map(|o| {
                if o.to_uppercase().contains("COMPANY") {
                    Ownership::Organisation
                } else {
                    Ownership::Personal
                }
            }),
        holder_email: list(d, "email")
            .next()
            .and_then(Json::as_str)
            .map(str::to_lowercase),
        encrypted,
        compliance_state: Some(status.to_lowercase()).filter(|s| !s.is_empty()),
        last_seen: time(d, "lastSync"),
        retired: Some(matches!(
            status.as_str(),
            "WIPED" | "BLOCKED" | "DEPROVISIONED"
        )),
        ..SourceDevice::default()
    })
}

fn read_chromeos(d: &Json) -> Option<SourceDevice> {
    let id = text(d, "deviceId")?;
    let status = text(d, "status").unwrap_or_default();
    Some(SourceDevice {
        source_id: id,
        asset_tag: text(d, "annotatedAssetId"),
        name: text(d, "annotatedAssetId"),
        serial: text(d, "serialNumber"),
        model: text(d, "model"),
        os: Some("ChromeOS".into()),
        os_version: text(d, "osVersion"),
        kind: Some(AssetKind::Laptop),
        ownership: Some(Ownership::Organisation),
        holder_email: lower(d, "annotatedUser")
            .filter(|u| u.contains('@'))
            .or_else(|| {
                list(d, "recentUsers")
                    .next()
                    .and_then(|u| lower(u, "email"))
            }),
        // ChromeOS encrypts user data always.
        encrypted: Some(true),
        compliance_state: Some(status.to_lowercase()).filter(|s| !s.is_empty()),
        last_seen: time(d, "lastSync"),
        retired: Some(matches!(status.as_str(), "DEPROVISIONED" | "DISABLED")),
        ..SourceDevice::default()
    })
}
