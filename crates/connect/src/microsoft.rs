//! Microsoft 365 through Microsoft Graph v1.0, with an app registration's client credentials:
//! Entra ID users (people and their accounts), the authentication-methods registration report
//! and directory roles (MFA and admin), Intune managed devices, and the sign-in logs (where each
//! account signed in from). Every list is walked through `@odata.nextLink` to its end; a feed the
//! tenant's licence or the app's permissions refuse (403) is skipped with the reason and the rest
//! goes on.
//!
//! Shapes: Microsoft Graph v1.0 reference — `user` (resources/user), `userRegistrationDetails`
//! (resources/userregistrationdetails), `directoryRole` and its members, `managedDevice`
//! (resources/intune-devices-manageddevice), `signIn` (resources/signin).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value as Json;
use steward_model::{AssetKind, Country, Ownership};

use crate::auth::ClientCredentials;
use crate::http::{Bearer, Http};
use crate::json::{date, flag, text, time};
use crate::settings::Definition;
use crate::source::{readable, unless_refused};
use crate::{
    ConnectError, Feed, Fetched, Listing, SkippedFeed, SourceAccount, SourceDevice, SourcePerson,
    SourceSighting,
};

const USER_FIELDS: &str = "id,userPrincipalName,mail,displayName,accountEnabled,employeeId,\
department,jobTitle,employeeHireDate,proxyAddresses,userType";

/// A tenant's Graph, as one run reads it.
pub struct Graph<'a> {
    http: &'a Http,
    base: String,
    auth: ClientCredentials,
}

impl<'a> Graph<'a> {
    pub fn new(
        http: &'a Http,
        definition: &Definition,
        secret: &str,
    ) -> Result<Graph<'a>, ConnectError> {
        let base = definition
            .get("base_url")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        let token_url = definition.get("token_url").unwrap_or_default();
        let client_id = definition.get("client_id").unwrap_or_default();
        // The token's audience is Graph itself, wherever `base_url` points (a proxy, a test).
        let scope = "https://graph.microsoft.com/.default".to_owned();
        Ok(Graph {
            http,
            base,
            auth: ClientCredentials::new(token_url, client_id, secret.to_owned(), vec![scope]),
        })
    }

    /// Gets a token and reads one user: what `connect test` reports.
    pub fn test(&mut self) -> Result<Vec<String>, ConnectError> {
        self.auth.token(self.http, false)?;
        let mut said = vec!["a token was issued for the app registration".to_owned()];
        let url = format!("{}/v1.0/users?$select=id&$top=1", self.base);
        self.http.get_json(&url, &mut self.auth)?;
        said.push("users can be read".to_owned());
        for (what, path) in [
            (
                "MFA registration",
                "/v1.0/reports/authenticationMethods/userRegistrationDetails",
            ),
            (
                "Intune devices",
                "/v1.0/deviceManagement/managedDevices?$top=1",
            ),
            ("sign-in logs", "/v1.0/auditLogs/signIns?$top=1"),
            ("directory roles", "/v1.0/directoryRoles?$select=id"),
        ] {
            let url = format!("{}{path}", self.base);
            said.push(readable(what, self.http.get_json(&url, &mut self.auth))?);
        }
        Ok(said)
    }

    /// Visits every item of a collection, page by page: a page is let go before the next is
    /// read, so a tenant's whole listing is never held as JSON.
    fn each(&mut self, first: String, mut visit: impl FnMut(&Json)) -> Result<(), ConnectError> {
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page = self.http.get_json(&url, &mut self.auth)?;
            let Some(values) = page.get("value").and_then(Json::as_array) else {
                return Err(ConnectError::Malformed {
                    url: crate::http::shown(&url),
                    reason: "no \"value\" list in the page".into(),
                });
            };
            values.iter().for_each(&mut visit);
            next = page
                .get("@odata.nextLink")
                .and_then(Json::as_str)
                .map(str::to_owned);
            if let Some(n) = &next
                && !n.starts_with(&self.base)
            {
                // A next link elsewhere would carry our token to another host.
                return Err(ConnectError::Malformed {
                    url: crate::http::shown(&url),
                    reason: "the next page is on another host".into(),
                });
            }
        }
        Ok(())
    }

    /// A feed visited item by item; `false` (with the reason noted) when the tenant refused it.
    fn feed_each(
        &mut self,
        feed: Feed,
        first: String,
        skipped: &mut Vec<SkippedFeed>,
        visit: impl FnMut(&Json),
    ) -> Result<bool, ConnectError> {
        Ok(unless_refused(self.each(first, visit), feed, skipped)?.is_some())
    }

    /// Reads the feeds asked for. `since` is where the sign-in logs were read to last time.
    pub fn fetch(
        &mut self,
        feeds: &[Feed],
        since: Option<DateTime<Utc>>,
        sign_in_days: i64,
        now: DateTime<Utc>,
    ) -> Result<Fetched, ConnectError> {
        let mut listing = Listing::default();
        let wants = |f: Feed| feeds.contains(&f);
        if wants(Feed::People) || wants(Feed::Accounts) {
            // What each account has registered, and who is in a directory role, first: small,
            // and needed as each user is read.
            let mut registered: HashMap<String, Registration> = HashMap::new();
            let mut admins = None;
            if wants(Feed::Accounts) {
                let url = format!(
                    "{}/v1.0/reports/authenticationMethods/userRegistrationDetails",
                    self.base
                );
                self.feed_each(Feed::Accounts, url, &mut listing.skipped, |r| {
                    if let Some(id) = text(r, "id") {
                        registered.insert(
                            id,
                            Registration {
                                mfa: flag(r, "isMfaRegistered"),
                                admin: flag(r, "isAdmin"),
                            },
                        );
                    }
                })?;
                admins = self.role_members(&mut listing.skipped)?;
            }
            // signInActivity needs Entra ID P1 and AuditLog.Read.All: asked for, and dropped
            // (with a note) when the tenant refuses it, so the users themselves still sync.
            // employeeLeaveDateTime needs User-LifeCycleInfo.Read.All as well: asked for with
            // the sign-in activity, and dropped with it.
            let with_activity = format!(
                "{}/v1.0/users?$select={USER_FIELDS},employeeLeaveDateTime,signInActivity&$expand=manager($select=id,userPrincipalName)&$top=999",
                self.base
            );
            let (people, accounts) = (listing.people.len(), listing.accounts.len());
            let read = match self.each(with_activity, |u| {
                read_user(u, &registered, admins.as_ref(), &mut listing, feeds)
            }) {
                Ok(()) => true,
                Err(ConnectError::Forbidden { reason, .. }) => {
                    listing.people.truncate(people);
                    listing.accounts.truncate(accounts);
                    listing.skipped.push(SkippedFeed {
                        feed: Feed::Accounts,
                        reason: format!("last sign-in times and leave dates not read: {reason}"),
                    });
                    let plain = format!(
                        "{}/v1.0/users?$select={USER_FIELDS}&$expand=manager($select=id,userPrincipalName)&$top=999",
                        self.base
                    );
                    let mut skipped = Vec::new();
                    let read = self.feed_each(Feed::People, plain, &mut skipped, |u| {
                        read_user(u, &registered, admins.as_ref(), &mut listing, feeds)
                    })?;
                    listing.skipped.extend(skipped);
                    read
                }
                Err(e) => return Err(e),
            };
            if read {
                for feed in [Feed::People, Feed::Accounts] {
                    if wants(feed) {
                        listing.complete.push(feed);
                    }
                }
            }
        }
        if wants(Feed::Devices) {
            let url = format!(
                "{}/v1.0/deviceManagement/managedDevices?$top=1000",
                self.base
            );
            let mut devices = Vec::new();
            if self.feed_each(Feed::Devices, url, &mut listing.skipped, |d| {
                devices.extend(read_device(d));
            })? {
                listing.devices = devices;
                listing.complete.push(Feed::Devices);
            }
        }
        let mut cursor = None;
        if wants(Feed::Sightings) {
            let from = since.unwrap_or(now - Duration::days(sign_in_days));
            let url = format!(
                "{}/v1.0/auditLogs/signIns?$filter=createdDateTime%20ge%20{}&$top=1000",
                self.base,
                from.format("%Y-%m-%dT%H:%M:%SZ")
            );
            let mut latest = from;
            let mut sightings = Vec::new();
            if self.feed_each(Feed::Sightings, url, &mut listing.skipped, |s| {
                if let Some(seen) = read_sign_in(s) {
                    latest = latest.max(seen.seen_at);
                    sightings.push(seen);
                }
            })? {
                listing.sightings = sightings;
                cursor = Some(
                    crate::Cursor {
                        sign_ins_to: Some(latest),
                        sign_ins_read_at: Some(now),
                    }
                    .to_text(),
                );
            }
        }
        Ok(Fetched {
            listing,
            cursor,
            tokens: self.auth.issued,
            requests: self.http.sent.get(),
        })
    }

    /// The ids of users in any directory role: admins, whatever the report says.
    fn role_members(
        &mut self,
        skipped: &mut Vec<SkippedFeed>,
    ) -> Result<Option<std::collections::HashSet<String>>, ConnectError> {
        let url = format!("{}/v1.0/directoryRoles?$select=id,displayName", self.base);
        let mut roles = Vec::new();
        if !self.feed_each(Feed::Accounts, url, skipped, |role| {
            roles.extend(text(role, "id"))
        })? {
            return Ok(None);
        }
        let mut members = std::collections::HashSet::new();
        for role in roles {
            let url = format!(
                "{}/v1.0/directoryRoles/{}/members?$select=id",
                self.base,
                percent_encoding::utf8_percent_encode(&role, percent_encoding::NON_ALPHANUMERIC)
            );
            self.each(url, |m| members.extend(text(m, "id")))?;
        }
        Ok(Some(members))
    }
}

/// What the registration report says of one account.
struct Registration {
    mfa: Option<bool>,
    admin: Option<bool>,
}

/// One Entra user: a person (members only) and their account.
fn read_user(
    u: &Json,
    registered: &HashMap<String, Registration>,
    admins: Option<&std::collections::HashSet<String>>,
    listing: &mut Listing,
    feeds: &[Feed],
) {
    let Some(id) = text(u, "id") else { return };
    let Some(upn) = text(u, "userPrincipalName").map(|s| s.to_lowercase()) else {
        return;
    };
    let guest = text(u, "userType").is_some_and(|t| t.eq_ignore_ascii_case("guest"));
    let enabled = flag(u, "accountEnabled");
    let email = text(u, "mail")
        .map(|m| m.to_lowercase())
        .unwrap_or(upn.clone());
    let mut aliases: Vec<String> = u
        .get("proxyAddresses")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .filter_map(|a| {
            let (scheme, address) = a.split_once(':')?;
            scheme
                .eq_ignore_ascii_case("smtp")
                .then(|| address.to_lowercase())
        })
        .collect();
    aliases.push(upn.clone());
    aliases.sort();
    aliases.dedup();
    aliases.retain(|a| *a != email);
    let manager = u.get("manager");
    if !guest && feeds.contains(&Feed::People) {
        listing.people.push(SourcePerson {
            source_id: id.clone(),
            email: Some(email.clone()),
            aliases,
            name: text(u, "displayName"),
            employee_id: text(u, "employeeId"),
            department: text(u, "department"),
            job_title: text(u, "jobTitle"),
            manager_email: manager
                .and_then(|m| text(m, "userPrincipalName"))
                .map(|m| m.to_lowercase()),
            manager_source_id: manager.and_then(|m| text(m, "id")),
            start_date: date(u, "employeeHireDate"),
            leave_date: date(u, "employeeLeaveDateTime"),
            active: enabled,
            ..SourcePerson::default()
        });
    }
    if feeds.contains(&Feed::Accounts) {
        let report = registered.get(id.as_str());
        let activity = u.get("signInActivity");
        let last_login = activity.and_then(|a| {
            time(a, "lastSuccessfulSignInDateTime").or_else(|| time(a, "lastSignInDateTime"))
        });
        let admin = match (report.and_then(|r| r.admin), admins) {
            (Some(true), _) => Some(true),
            (_, Some(members)) if members.contains(&id) => Some(true),
            (found, members) => found.or(members.map(|_| false)),
        };
        listing.accounts.push(SourceAccount {
            source_id: id.clone(),
            login: upn.clone(),
            person_email: (!guest).then(|| email.clone()),
            enabled,
            admin,
            mfa: report.and_then(|r| r.mfa),
            last_login,
            service: None,
        });
    }
}

fn read_device(d: &Json) -> Option<SourceDevice> {
    let id = text(d, "id")?;
    let os = text(d, "operatingSystem");
    let model = text(d, "model");
    let kind = device_kind(os.as_deref(), model.as_deref());
    let ownership = match text(d, "managedDeviceOwnerType").as_deref() {
        Some("company") => Some(Ownership::Organisation),
        Some("personal") => Some(Ownership::Personal),
        _ => None,
    };
    Some(SourceDevice {
        source_id: id,
        name: text(d, "deviceName"),
        serial: text(d, "serialNumber"),
        imei: text(d, "imei"),
        model,
        manufacturer: text(d, "manufacturer"),
        os,
        os_version: text(d, "osVersion"),
        kind,
        ownership,
        holder_email: text(d, "userPrincipalName")
            .or_else(|| text(d, "emailAddress"))
            .map(|e| e.to_lowercase()),
        encrypted: flag(d, "isEncrypted"),
        compliance_state: text(d, "complianceState"),
        last_seen: time(d, "lastSyncDateTime"),
        phone_number: text(d, "phoneNumber"),
        directory_id: text(d, "azureADDeviceId")
            .filter(|id| id != "00000000-0000-0000-0000-000000000000"),
        ..SourceDevice::default()
    })
}

/// What kind of device an operating system and model make.
pub fn device_kind(os: Option<&str>, model: Option<&str>) -> Option<AssetKind> {
    let os = os.unwrap_or_default().to_lowercase();
    let model = model.unwrap_or_default().to_lowercase();
    if os.contains("ipados") || model.contains("ipad") || model.contains("tablet") {
        Some(AssetKind::Tablet)
    } else if os.contains("ios") || os.contains("android") {
        Some(AssetKind::Smartphone)
    } else if os.contains("windows")
        || os.contains("mac")
        || os.contains("chrome")
        || os.contains("linux")
    {
        Some(AssetKind::Laptop)
    } else {
        None
    }
}

/// A successful sign-in with a country: where the account was used. A refused one is not a use.
fn read_sign_in(s: &Json) -> Option<SourceSighting> {
    let refused = s
        .pointer("/status/errorCode")
        .and_then(Json::as_i64)
        .is_some_and(|code| code != 0);
    if refused {
        return None;
    }
    let seen_at = time(s, "createdDateTime")?;
    let country = s
        .pointer("/location/countryOrRegion")
        .and_then(Json::as_str)
        .and_then(|c| c.trim().to_ascii_uppercase().parse::<Country>().ok())?;
    let device = s.get("deviceDetail");
    Some(SourceSighting {
        seen_at,
        country,
        login: text(s, "userPrincipalName").map(|u| u.to_lowercase()),
        device_serial: None,
        device_source_id: device
            .and_then(|d| text(d, "deviceId"))
            .filter(|id| !id.is_empty()),
    })
}
