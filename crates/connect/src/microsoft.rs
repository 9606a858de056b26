//! Microsoft 365 through Microsoft Graph v1.0, with an app registration's client credentials:
//! Entra ID users (people and their accounts), the authentication-methods registration report
//! and directory roles (MFA and admin), Intune managed devices, and the sign-in logs (where each
//! account signed in from). Every list is walked through `@odata.nextLink` to its end; a feed the
//! tenant's licence or the app's permissions refuse (403) is skipped with the reason and the rest
//! goes on.
//!
//! Users are listed in full (`/users`, with `signInActivity` and `$expand=manager`, which the
//! delta query cannot give) when a full listing is due, and a delta link is taken just before
//! (`$deltatoken=latest`, "sync from now"); a scheduled round in between reads only the users
//! changed since, from that link. The registration report and directory roles have no delta and
//! are read whole every time, so an account that lost MFA is found on the next round whether or
//! not its user changed. Microsoft Graph, "Use delta query to track changes in Microsoft Graph
//! data" (concepts/delta-query-overview) and "user: delta" (api/user-delta).
//!
//! Shapes: Microsoft Graph v1.0 reference — `user` (resources/user), `userRegistrationDetails`
//! (resources/userregistrationdetails), `directoryRole` and its members, `managedDevice`
//! (resources/intune-devices-manageddevice), `signIn` (resources/signin).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value as Json;
use steward_model::{AssetKind, Country, Ownership};

use crate::auth::ClientCredentials;
use crate::http::{Bearer, Http};
use crate::json::{date, flag, text, time};
use crate::settings::Definition;
use crate::source::{readable, unless_refused};
use crate::{
    ConnectError, Cursor, Feed, Fetched, Listing, SkippedFeed, SourceAccount, SourceDevice,
    SourcePerson, SourceSighting,
};

const USER_FIELDS: &str = "id,userPrincipalName,mail,displayName,accountEnabled,employeeId,\
department,jobTitle,employeeHireDate,proxyAddresses,userType";

/// What one run of the reader starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// Where the incremental feeds got to last time.
    pub cursor: Cursor,
    /// Read users by their changes since `cursor.users_delta` rather than list them in full.
    pub by_delta: bool,
    /// How many days of sign-in logs a first read takes.
    pub sign_in_days: i64,
    pub now: DateTime<Utc>,
}

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
    /// read, so a tenant's whole listing is never held as JSON. The last page's delta link, for
    /// a delta query.
    fn each(
        &mut self,
        first: String,
        mut visit: impl FnMut(&Json),
    ) -> Result<Option<String>, ConnectError> {
        let mut next = Some(first);
        let mut delta = None;
        while let Some(url) = next.take() {
            let page = self.http.get_json(&url, &mut self.auth)?;
            let Some(values) = page.get("value").and_then(Json::as_array) else {
                return Err(ConnectError::Malformed {
                    url: crate::http::shown(&url),
                    reason: "no \"value\" list in the page".into(),
                });
            };
            values.iter().for_each(&mut visit);
            next = self.link(&page, "@odata.nextLink", &url)?;
            delta = self.link(&page, "@odata.deltaLink", &url)?;
        }
        Ok(delta)
    }

    /// A page's link to follow, only on Graph's own host: a link elsewhere would carry our token
    /// to another.
    fn link(&self, page: &Json, key: &str, url: &str) -> Result<Option<String>, ConnectError> {
        match page.get(key).and_then(Json::as_str) {
            Some(link) if !link.starts_with(&self.base) => Err(ConnectError::Malformed {
                url: crate::http::shown(url),
                reason: format!("its {key} is on another host"),
            }),
            link => Ok(link.map(str::to_owned)),
        }
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

    /// A delta link for users from now on, without listing them ("sync from now":
    /// `$deltatoken=latest`), selecting what a round of changes reads. Taken before the full
    /// listing, so a change made while it runs comes in the next round (at worst twice) rather
    /// than never. `None` when Graph will not give one: the next scheduled sync lists users in
    /// full again.
    fn latest_delta(&mut self) -> Result<Option<String>, ConnectError> {
        // The leave date needs User-LifeCycleInfo.Read.All as well: asked for, and dropped when
        // refused, as the full listing does.
        for select in [
            format!("{USER_FIELDS},employeeLeaveDateTime,manager"),
            format!("{USER_FIELDS},manager"),
        ] {
            let url = format!(
                "{}/v1.0/users/delta?$select={select}&$deltatoken=latest",
                self.base
            );
            match self.http.get_json(&url, &mut self.auth) {
                Ok(page) => return self.link(&page, "@odata.deltaLink", &url),
                Err(ConnectError::Forbidden { .. }) => continue,
                Err(e @ (ConnectError::Refused { .. } | ConnectError::Resync { .. })) => {
                    tracing::warn!(error = %e, "no delta link for users: each sync lists them in full");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// The users changed since `link`: each changed one read as a whole user, each removed one
    /// (`@removed`, deleted or moved out of reach) noted; the delta link for the next round.
    fn changed_users(
        &mut self,
        link: String,
        reports: &Reports,
        listing: &mut Listing,
        feeds: &[Feed],
    ) -> Result<(String, HashSet<String>), ConnectError> {
        let mut changed = HashSet::new();
        let mut removed = HashSet::new();
        let next = self.each(link.clone(), |u| {
            let Some(id) = text(u, "id") else { return };
            // The same user may come more than once in a round: the last word stands.
            if u.get("@removed").is_some() {
                changed.remove(&id);
                removed.insert(id);
            } else {
                removed.remove(&id);
                changed.insert(id);
                read_user(u, reports, listing, feeds, true);
            }
        })?;
        let Some(next) = next else {
            return Err(ConnectError::Malformed {
                url: crate::http::shown(&link),
                reason: "the last page of changes has no delta link".into(),
            });
        };
        listing.people.retain(|p| !removed.contains(&p.source_id));
        listing.accounts.retain(|a| !removed.contains(&a.source_id));
        for feed in [Feed::People, Feed::Accounts] {
            if feeds.contains(&feed) {
                listing.changes_only.push(feed);
                listing
                    .removed
                    .extend(removed.iter().map(|id| (feed, id.clone())));
            }
        }
        changed.extend(removed);
        Ok((next, changed))
    }

    /// Every user, listed in full. `false` when the tenant refused the listing.
    fn all_users(
        &mut self,
        reports: &Reports,
        listing: &mut Listing,
        feeds: &[Feed],
    ) -> Result<bool, ConnectError> {
        // signInActivity needs Entra ID P1 and AuditLog.Read.All: asked for, and dropped (with a
        // note) when the tenant refuses it, so the users themselves still sync.
        // employeeLeaveDateTime needs User-LifeCycleInfo.Read.All as well: asked for with the
        // sign-in activity, and dropped with it.
        let with_activity = format!(
            "{}/v1.0/users?$select={USER_FIELDS},employeeLeaveDateTime,signInActivity&$expand=manager($select=id,userPrincipalName)&$top=999",
            self.base
        );
        let (people, accounts) = (listing.people.len(), listing.accounts.len());
        match self.each(with_activity, |u| {
            read_user(u, reports, listing, feeds, false)
        }) {
            Ok(_) => Ok(true),
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
                    read_user(u, reports, listing, feeds, false)
                })?;
                listing.skipped.extend(skipped);
                Ok(read)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads the feeds asked for, from where `round.cursor` says the incremental ones got to.
    pub fn fetch(&mut self, feeds: &[Feed], round: Round) -> Result<Fetched, ConnectError> {
        let Round {
            mut cursor,
            by_delta,
            sign_in_days,
            now,
        } = round;
        let mut listing = Listing::default();
        let wants = |f: Feed| feeds.contains(&f);
        if wants(Feed::People) || wants(Feed::Accounts) {
            // What each account has registered, and who is in a directory role, first: small,
            // needed as each user is read, and read whole (neither has a delta).
            let mut reports = Reports::default();
            if wants(Feed::Accounts) {
                let url = format!(
                    "{}/v1.0/reports/authenticationMethods/userRegistrationDetails",
                    self.base
                );
                let registered = &mut reports.registered;
                self.feed_each(Feed::Accounts, url, &mut listing.skipped, |r| {
                    if let Some(id) = text(r, "id") {
                        registered.insert(
                            id,
                            Registration {
                                login: text(r, "userPrincipalName").map(|u| u.to_lowercase()),
                                mfa: flag(r, "isMfaRegistered"),
                                admin: flag(r, "isAdmin"),
                            },
                        );
                    }
                })?;
                reports.admins = self.role_members(&mut listing.skipped)?;
            }
            // Users by their changes, when the round may and a delta link is kept (one on
            // another host, after `base_url` changed, is not followed).
            let link = cursor
                .users_delta
                .clone()
                .filter(|l| by_delta && l.starts_with(&self.base));
            let mut by_changes = false;
            if let Some(link) = link {
                let (people, accounts) = (listing.people.len(), listing.accounts.len());
                match self.changed_users(link, &reports, &mut listing, feeds) {
                    Ok((next, named)) => {
                        cursor.users_delta = Some(next);
                        by_changes = true;
                        if wants(Feed::Accounts) {
                            listing.account_facts = reports.facts_except(&named);
                        }
                    }
                    Err(
                        ConnectError::Resync { reason, .. }
                        | ConnectError::Forbidden { reason, .. },
                    ) => {
                        // Expired or reset by Microsoft (or refused, which the full listing notes
                        // as it does for itself): this round lists every user instead.
                        tracing::info!(%reason, "the users' delta link is not honoured: listing them in full");
                        listing.people.truncate(people);
                        listing.accounts.truncate(accounts);
                        listing.changes_only.clear();
                        listing.removed.clear();
                    }
                    Err(e) => return Err(e),
                }
            }
            if !by_changes {
                let delta = self.latest_delta()?;
                if self.all_users(&reports, &mut listing, feeds)? {
                    for feed in [Feed::People, Feed::Accounts] {
                        if wants(feed) {
                            listing.complete.push(feed);
                        }
                    }
                    cursor.users_delta = delta;
                    cursor.users_listed_at = Some(now);
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
        if wants(Feed::Sightings) {
            let from = cursor
                .sign_ins_to
                .unwrap_or(now - Duration::days(sign_in_days));
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
                cursor.sign_ins_to = Some(latest);
                cursor.sign_ins_read_at = Some(now);
            }
        }
        Ok(Fetched {
            listing,
            cursor: Some(cursor.to_text()),
            tokens: self.auth.issued,
            requests: self.http.sent.get(),
        })
    }

    /// The ids of users in any directory role: admins, whatever the report says.
    fn role_members(
        &mut self,
        skipped: &mut Vec<SkippedFeed>,
    ) -> Result<Option<HashSet<String>>, ConnectError> {
        let url = format!("{}/v1.0/directoryRoles?$select=id,displayName", self.base);
        let mut roles = Vec::new();
        if !self.feed_each(Feed::Accounts, url, skipped, |role| {
            roles.extend(text(role, "id"))
        })? {
            return Ok(None);
        }
        let mut members = HashSet::new();
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
    login: Option<String>,
    mfa: Option<bool>,
    admin: Option<bool>,
}

/// The reports read whole each run: the registration report by user id, and the members of any
/// directory role (`None` when the roles could not be read).
#[derive(Default)]
struct Reports {
    registered: HashMap<String, Registration>,
    admins: Option<HashSet<String>>,
}

impl Reports {
    /// Whether user `id` has admin rights: the report's word, or a directory role; unknown when
    /// neither was read.
    fn admin(&self, id: &str) -> Option<bool> {
        let report = self.registered.get(id).and_then(|r| r.admin);
        match (report, &self.admins) {
            (Some(true), _) => Some(true),
            (_, Some(members)) if members.contains(id) => Some(true),
            (found, members) => found.or(members.as_ref().map(|_| false)),
        }
    }

    /// MFA and admin rights of every account the reports name but `named` does not (the users a
    /// round of changes read whole).
    fn facts_except(&self, named: &HashSet<String>) -> Vec<SourceAccount> {
        let role_only = self
            .admins
            .iter()
            .flatten()
            .filter(|id| !self.registered.contains_key(*id));
        self.registered
            .keys()
            .chain(role_only)
            .filter(|id| !named.contains(*id))
            .map(|id| SourceAccount {
                source_id: id.clone(),
                login: self
                    .registered
                    .get(id)
                    .and_then(|r| r.login.clone())
                    .unwrap_or_default(),
                admin: self.admin(id),
                mfa: self.registered.get(id).and_then(|r| r.mfa),
                ..SourceAccount::default()
            })
            .collect()
    }
}

/// One Entra user: a person (members only) and their account.
/// One user, from a full listing or (`of_changes`) a round of changes.
fn read_user(u: &Json, reports: &Reports, listing: &mut Listing, feeds: &[Feed], of_changes: bool) {
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
    // A round of changes names the manager by id alone, in `manager@delta` (an entry with
    // `@removed` is a manager taken away).
    let manager_by_delta = u
        .get("manager@delta")
        .and_then(Json::as_array)
        .and_then(|ms| {
            ms.iter()
                .filter(|m| m.get("@removed").is_none())
                .filter_map(|m| text(m, "id"))
                .next_back()
        });
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
            manager_source_id: manager.and_then(|m| text(m, "id")).or(manager_by_delta),
            // A full listing expands every user's manager; a round of changes mentions
            // `manager@delta` only when the manager changed.
            manager_stated: !of_changes || u.get("manager@delta").is_some(),
            start_date: date(u, "employeeHireDate"),
            leave_date: date(u, "employeeLeaveDateTime"),
            active: enabled,
            ..SourcePerson::default()
        });
    }
    if feeds.contains(&Feed::Accounts) {
        let activity = u.get("signInActivity");
        let last_login = activity.and_then(|a| {
            time(a, "lastSuccessfulSignInDateTime").or_else(|| time(a, "lastSignInDateTime"))
        });
        listing.accounts.push(SourceAccount {
            admin: reports.admin(&id),
            mfa: reports.registered.get(id.as_str()).and_then(|r| r.mfa),
            source_id: id.clone(),
            login: upn.clone(),
            person_email: (!guest).then(|| email.clone()),
            enabled,
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
