//! Connectors synced against local servers speaking each vendor's documented API (the
//! `steward-vendors` stand-ins), over real HTTP, on both backends: paging, throttling, a token
//! expiring mid-sync, a server error then success, a feed refused for its licence, malformed
//! answers; the preview that holds a first sync, provenance, missing-from-source, sealed
//! credentials and the audit trail.

use std::collections::BTreeMap;

use steward_connect::{Definition, Kind};
use steward_model::{Account, Asset, Person, Register, Sighting};
use steward_service::{Round, ServiceError, Stamp, Steward, SyncOutcome};
use steward_store::AuditQuery;
use steward_store::testing::databases;
use steward_vendors::{Credentials, DeletedUser, Faults, Logged, Server, Tenant};

const TENANT: &str = "contoso.onmicrosoft.com";

fn graph(tenant: Tenant, faults: Faults) -> Server {
    Server::microsoft_graph(
        tenant,
        faults,
        Credentials::microsoft(TENANT, "app-id", "s3cret-value"),
    )
    .expect("a port on loopback")
}

fn add_m365(steward: &Steward, stamp: &Stamp, server: &Server, secret: &str) {
    let base = server.base_url();
    let settings: BTreeMap<String, String> = [
        ("tenant", TENANT.to_owned()),
        ("client_id", "app-id".to_owned()),
        ("base_url", base.clone()),
        ("token_url", format!("{base}/{TENANT}/oauth2/v2.0/token")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let definition = Definition::new("m365", Kind::Microsoft365, settings).expect("settings");
    steward
        .save_connector(stamp, &definition, Some(secret))
        .expect("connector saved");
}

fn counts(steward: &Steward) -> (usize, usize, usize, usize) {
    (
        steward.list::<Person>().expect("people").len(),
        steward.list::<Account>().expect("accounts").len(),
        steward.list::<Asset>().expect("assets").len(),
        steward.list::<Sighting>().expect("sightings").len(),
    )
}

#[test]
fn microsoft_365_keeps_people_accounts_devices_and_sign_ins_current() {
    for db in databases("connect-m365") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let tenant = Tenant::generate(40, 60, 3);
        let now = tenant.now;
        // Intune manages every device but ChromeOS ones, until retired.
        let managed: Vec<&steward_vendors::Device> =
            tenant.devices.iter().filter(|d| d.in_intune()).collect();
        assert!(managed.len() < tenant.devices.len() && !managed.is_empty());
        let stamp = Stamp::at("it-lead", now);
        // Small pages, throttling, a token that dies after a few requests and a server error:
        // the sync must walk through all of them.
        let server = graph(
            tenant.clone(),
            Faults {
                page_size: 7,
                rate_limit_every: Some(9),
                token_lifetime: Some(6),
                fail_once_at: Some(4),
                ..Faults::default()
            },
        );
        add_m365(&steward, &stamp, &server, "s3cret-value");

        // The first sync stops at a preview and changes nothing.
        let held = steward
            .sync_connector(&stamp, "m365", None, false)
            .expect("first sync");
        let SyncOutcome::Held(plan) = held else {
            panic!("a first sync must wait for a preview on {}", db.backend)
        };
        assert!(
            plan.hold.iter().any(|h| h.contains("first sync")),
            "{:?}",
            plan.hold
        );
        assert_eq!(
            plan.counts.created,
            40 + 40 + managed.len() + 1,
            "people, accounts, devices, the system: {:?}",
            plan.unmatched
        );
        assert_eq!(counts(&steward), (0, 0, 0, 0), "a preview writes nothing");
        let views = steward.connectors(&stamp).expect("connectors");
        assert!(
            views[0].pending.is_some(),
            "the preview is kept for a person"
        );

        // Applied.
        let applied = steward
            .sync_connector(&stamp, "m365", None, true)
            .expect("applied sync");
        assert!(matches!(applied, SyncOutcome::Applied(_)));
        let (people, accounts, assets, sightings) = counts(&steward);
        assert_eq!(
            (people, accounts, assets),
            (40, 40, managed.len()),
            "on {}",
            db.backend
        );
        let abroad = tenant
            .sign_ins
            .iter()
            .filter(|s| {
                s.error_code == 0
                    && s.country != "GB"
                    && s.created >= now - chrono::Duration::days(7)
            })
            .count();
        assert!(
            abroad > 0,
            "the generated tenant has recent sign-ins abroad"
        );
        assert_eq!(
            sightings, abroad,
            "every successful sign-in abroad is a sighting"
        );
        let home = tenant
            .sign_ins
            .iter()
            .filter(|s| {
                s.error_code == 0
                    && s.country == "GB"
                    && s.created >= now - chrono::Duration::days(7)
            })
            .count();
        assert!(home > 0, "and some at home, which are not kept");
        let requests = server.requests();
        assert!(
            requests.iter().any(|r| r.status == 429),
            "throttled at least once"
        );
        assert!(
            requests.iter().any(|r| r.status == 401),
            "a token expired mid-sync"
        );
        assert!(
            requests.iter().any(|r| r.status >= 500),
            "a server error was retried"
        );

        // Each fact where it belongs.
        let stored_accounts = steward.list::<Account>().expect("accounts");
        for user in &tenant.users {
            let account = stored_accounts
                .iter()
                .find(|a| a.login.as_deref() == Some(user.email.to_lowercase().as_str()))
                .unwrap_or_else(|| panic!("an account for {}", user.email));
            assert_eq!(account.mfa, Some(user.mfa_registered), "{}", user.email);
            assert_eq!(account.source.as_deref(), Some("m365"));
            assert!(
                account.person_id.is_some(),
                "{} is linked to its person",
                user.email
            );
        }
        let stored_assets = steward.list::<Asset>().expect("assets");
        for device in &managed {
            let asset = stored_assets
                .iter()
                .find(|a| a.serial.as_deref() == Some(device.serial.as_str()))
                .unwrap_or_else(|| panic!("an asset for serial {}", device.serial));
            assert_eq!(asset.encrypted, Some(device.encrypted), "{}", device.serial);
            assert_eq!(
                asset.os_version.as_deref(),
                Some(device.os_version.as_str())
            );
            assert_eq!(asset.source_id.as_deref(), Some(device.id.as_str()));
        }
        let first = &stored_assets[0];
        let provenance = steward
            .provenance(Register::Assets, &first.tag)
            .expect("provenance");
        assert!(
            provenance
                .iter()
                .any(|p| p.field == "encrypted" && p.source == "m365"),
            "{provenance:?}"
        );

        // Every change is audited as the connector; the credential is in no audit record.
        let mut by_connector = 0;
        let mut leaked = false;
        steward
            .audit_log(&AuditQuery::default(), &mut |r| {
                if r.actor == "connector:m365" {
                    by_connector += 1;
                }
                leaked |= r
                    .after
                    .as_deref()
                    .is_some_and(|a| a.contains("s3cret-value"));
                Ok(())
            })
            .expect("audit log");
        assert!(
            by_connector >= 140,
            "{by_connector} records by the connector"
        );
        assert!(!leaked, "the credential never reaches the audit log");

        // An unchanged tenant: the next sync writes nothing.
        let again = steward
            .sync_connector(&stamp, "m365", None, false)
            .expect("second sync");
        assert_eq!(again.plan().counts.created, 0);
        assert_eq!(again.plan().counts.updated, 0, "{}", again.plan().to_text());

        // A user loses MFA, a device vanishes from Intune.
        let (lost_mfa, gone_serial) = {
            let t = server.tenant();
            let mut t = t.lock().expect("tenant");
            let user = t
                .users
                .iter_mut()
                .find(|u| u.mfa_registered)
                .expect("a user with MFA");
            user.mfa_registered = false;
            let email = user.email.to_lowercase();
            let at = t
                .devices
                .iter()
                .position(|d| d.in_intune())
                .expect("a managed device");
            let gone = t.devices.remove(at);
            (email, gone.serial)
        };
        let later = Stamp::at("it-lead", now + chrono::Duration::hours(1));
        steward
            .sync_connector(&later, "m365", None, false)
            .expect("sync after changes");
        let account = steward
            .list::<Account>()
            .expect("accounts")
            .into_iter()
            .find(|a| a.login.as_deref() == Some(lost_mfa.as_str()))
            .expect("the account");
        assert_eq!(account.mfa, Some(false), "lost MFA is synced");
        let asset = steward
            .list::<Asset>()
            .expect("assets")
            .into_iter()
            .find(|a| a.serial.as_deref() == Some(gone_serial.as_str()))
            .expect("the device is kept, never deleted");
        assert_eq!(
            asset.missing_since,
            Some(later.at),
            "marked missing from its source"
        );
        drop(db);
    }
}

/// Adds the Snipe-IT connector `snipe` reading from `server` with the token `pat-123`.
fn add_snipe_it(steward: &Steward, stamp: &Stamp, server: &Server) {
    let definition = Definition::new(
        "snipe",
        Kind::SnipeIt,
        [("base_url".to_owned(), server.base_url())].into(),
    )
    .expect("settings");
    steward
        .save_connector(stamp, &definition, Some("pat-123"))
        .expect("saved");
}

/// The connector's stored cursor.
fn cursor(steward: &Steward) -> steward_connect::Cursor {
    let rows = steward.store().connectors().expect("connectors");
    steward_connect::Cursor::parse(rows[0].run.cursor.as_deref())
}

/// The stored cursor of the connector `name`.
fn cursor_of(steward: &Steward, name: &str) -> steward_connect::Cursor {
    let rows = steward.store().connectors().expect("connectors");
    let row = rows
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no connector {name}"));
    steward_connect::Cursor::parse(row.run.cursor.as_deref())
}

/// The requests a stand-in answered after the first `from`.
fn since(server: &Server, from: usize) -> Vec<Logged> {
    server.requests().into_iter().skip(from).collect()
}

fn is_delta(r: &Logged) -> bool {
    r.path.starts_with("/v1.0/users/delta")
}

fn is_user_listing(r: &Logged) -> bool {
    r.path.starts_with("/v1.0/users?")
}

#[test]
fn microsoft_365_users_sync_by_their_changes_between_full_listings() {
    for db in databases("connect-delta") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let tenant = Tenant::generate(40, 20, 13);
        let t0 = tenant.now;
        let stamp = Stamp::at("it-lead", t0);
        // Pages of five: a round of changes runs to more than one page.
        let server = graph(
            tenant,
            Faults {
                page_size: 5,
                ..Faults::default()
            },
        );
        add_m365(&steward, &stamp, &server, "s3cret-value");
        let b = db.backend;

        // The first sync lists every user, and keeps a delta link taken just before.
        steward
            .sync_connector(&stamp, "m365", None, true)
            .expect("first sync");
        let first = server.requests();
        assert!(
            first
                .iter()
                .any(|r| is_delta(r) && r.path.contains("deltatoken=latest") && r.status == 200),
            "{b}: a delta link from now on"
        );
        assert!(first.iter().any(is_user_listing), "{b}: users listed");
        let kept = cursor(&steward);
        assert!(
            kept.users_delta
                .as_deref()
                .is_some_and(|l| l.starts_with(&server.base_url())),
            "{b}: {kept:?}"
        );
        assert_eq!(kept.users_listed_at, Some(t0), "{b}");

        // An hour of changes: the tenant's own (MFA lost, departments, leavers, a deletion, a
        // joiner), a rename, and an account that loses MFA while its user is untouched (the
        // registration report is no part of the user, so Graph's delta does not name it).
        let (renamed, quiet, deleted, changed, managed) = {
            let t = server.tenant();
            let mut t = t.lock().expect("tenant");
            t.change(0.1, 4);
            let at = t.tick();
            let gone = t.users.remove(7);
            t.deleted_users.push(DeletedUser {
                user: gone.clone(),
                deleted: at,
            });
            let user = &mut t.users[3];
            user.display_name = "Renamed Person".into();
            user.last_modified = at;
            let renamed = user.email.clone();
            let quiet = t
                .users
                .iter_mut()
                .find(|u| u.last_modified <= t0 && u.mfa_registered)
                .expect("an unchanged user with MFA");
            quiet.mfa_registered = false;
            let quiet = quiet.email.clone();
            let deleted: Vec<String> = t
                .deleted_users
                .iter()
                .filter(|d| d.deleted > t0)
                .map(|d| d.user.email.clone())
                .collect();
            let changed = t.users.iter().filter(|u| u.last_modified > t0).count();
            let managed = t.devices.iter().filter(|d| d.in_intune()).count();
            (renamed, quiet, deleted, changed, managed)
        };
        assert!(
            changed + deleted.len() > 5 && changed < 40,
            "{b}: more than a page of changes, fewer than every user: {changed}"
        );

        // The schedule's round reads the users by their changes.
        let mark = server.requests().len();
        let later = Stamp::at("system:schedule", t0 + chrono::Duration::hours(1));
        let outcome = steward
            .sync_feeds(&later, "m365", None, false, Round::Scheduled)
            .expect("scheduled sync");
        let SyncOutcome::Applied(plan) = outcome else {
            panic!("{b}: held: {:?}", outcome.plan().hold)
        };
        let asked = since(&server, mark);
        let deltas: Vec<&Logged> = asked.iter().filter(|r| is_delta(r)).collect();
        assert!(
            deltas.len() >= 2 && deltas.iter().all(|r| r.status == 200),
            "{b}: the kept delta link, then its pages: {deltas:?}"
        );
        assert!(!asked.iter().any(is_user_listing), "{b}: no full listing");
        assert_eq!(plan.changes_only, vec!["people", "accounts"], "{b}");
        // Each changed user as a person and an account, and every managed device.
        assert_eq!(plan.counts.listed, 2 * changed + managed, "{b}");
        assert_eq!(kept.users_listed_at, cursor(&steward).users_listed_at);
        assert_ne!(kept.users_delta, cursor(&steward).users_delta, "{b}");

        let people = steward.list::<Person>().expect("people");
        let accounts = steward.list::<Account>().expect("accounts");
        let person_of = |email: &str| {
            people
                .iter()
                .find(|p| p.email.as_deref() == Some(email))
                .unwrap_or_else(|| panic!("{b}: a person for {email}"))
        };
        let account_of = |email: &str| {
            accounts
                .iter()
                .find(|a| a.login.as_deref() == Some(email))
                .unwrap_or_else(|| panic!("{b}: an account for {email}"))
        };
        assert_eq!(person_of(&renamed).name, "Renamed Person", "{b}");
        assert_eq!(account_of(&quiet).mfa, Some(false), "{b}: {quiet}");
        assert!(!deleted.is_empty());
        for email in &deleted {
            assert_eq!(person_of(email).missing_since, Some(later.at), "{b}");
            assert_eq!(account_of(email).missing_since, Some(later.at), "{b}");
        }
        let tenant = server.tenant().lock().expect("tenant").clone();
        for user in &tenant.users {
            let account = account_of(&user.email);
            assert_eq!(
                account.mfa,
                Some(user.mfa_registered),
                "{b}: {}",
                user.email
            );
            assert_eq!(
                account.status.as_str(),
                if user.enabled { "active" } else { "disabled" },
                "{b}: {}",
                user.email
            );
            // Named or not in the round, nobody still there is missing.
            assert_eq!(account.missing_since, None, "{b}: {}", user.email);
            assert_eq!(person_of(&user.email).missing_since, None, "{b}");
        }

        // Microsoft forgets the delta link (410 Gone): the round lists every user instead.
        server.reset_change_tracking();
        let other = {
            let t = server.tenant();
            let mut t = t.lock().expect("tenant");
            let at = t.tick();
            let user = &mut t.users[5];
            user.display_name = "Renamed Again".into();
            user.last_modified = at;
            user.email.clone()
        };
        let mark = server.requests().len();
        let again = Stamp::at("system:schedule", t0 + chrono::Duration::hours(2));
        let outcome = steward
            .sync_feeds(&again, "m365", None, false, Round::Scheduled)
            .expect("a scheduled sync after the link expired");
        assert!(matches!(outcome, SyncOutcome::Applied(_)), "{b}");
        let asked = since(&server, mark);
        assert!(
            asked.iter().any(|r| is_delta(r) && r.status == 410),
            "{b}: {asked:?}"
        );
        assert!(asked.iter().any(is_user_listing), "{b}: listed in full");
        assert!(outcome.plan().changes_only.is_empty(), "{b}");
        assert_eq!(
            outcome.plan().counts.listed,
            2 * tenant.users.len() + managed,
            "{b}"
        );
        let person = steward
            .list::<Person>()
            .expect("people")
            .into_iter()
            .find(|p| p.email.as_deref() == Some(other.as_str()))
            .expect("the person");
        assert_eq!(person.name, "Renamed Again", "{b}");
        let fresh = cursor(&steward);
        assert_eq!(fresh.users_listed_at, Some(again.at), "{b}");
        assert!(fresh.users_delta.is_some(), "{b}: a new delta link");

        // A person's sync lists everything, fresh link or not; so does the schedule's round once
        // a full listing is due (a day after the last).
        for (round, at) in [
            (Round::Full, t0 + chrono::Duration::hours(3)),
            (Round::Scheduled, t0 + chrono::Duration::hours(27)),
        ] {
            let mark = server.requests().len();
            steward
                .sync_feeds(&Stamp::at("it-lead", at), "m365", None, false, round)
                .expect("sync");
            let asked = since(&server, mark);
            assert!(asked.iter().any(is_user_listing), "{b}: {round:?}");
            assert!(
                !asked
                    .iter()
                    .any(|r| is_delta(r) && !r.path.contains("deltatoken=latest")),
                "{b}: {round:?}"
            );
        }
        assert_eq!(
            cursor(&steward).users_listed_at,
            Some(t0 + chrono::Duration::hours(27))
        );
        drop(db);
    }
}

#[test]
fn a_failed_or_refused_run_changes_nothing() {
    for db in databases("connect-fail") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let tenant = Tenant::generate(12, 10, 5);
        let stamp = Stamp::at("it-lead", tenant.now);
        // A truncated answer in the middle of the listing.
        let broken = graph(
            tenant.clone(),
            Faults {
                page_size: 5,
                malformed_at: Some(3),
                ..Faults::default()
            },
        );
        add_m365(&steward, &stamp, &broken, "s3cret-value");
        let err = steward
            .sync_connector(&stamp, "m365", None, true)
            .expect_err("a malformed page fails the run");
        assert!(matches!(err, ServiceError::Connector { .. }), "{err}");
        assert_eq!(counts(&steward), (0, 0, 0, 0), "on {}", db.backend);
        let view = &steward.connectors(&stamp).expect("connectors")[0];
        assert!(
            view.last_outcome
                .as_deref()
                .is_some_and(|o| o.starts_with("failed")),
            "{:?}",
            view.last_outcome
        );

        // A wrong secret: refused at the token endpoint, and the error does not repeat it.
        let server = graph(tenant.clone(), Faults::default());
        add_m365(&steward, &stamp, &server, "not-the-secret");
        let err = steward
            .sync_connector(&stamp, "m365", None, true)
            .expect_err("a wrong secret is refused");
        assert!(!err.to_string().contains("not-the-secret"), "{err}");
        assert!(err.to_string().contains("token"), "{err}");
        assert_eq!(counts(&steward), (0, 0, 0, 0));

        // Without the licence for sign-in logs and the registration report, the rest syncs.
        let unlicensed = graph(
            tenant,
            Faults {
                forbidden: vec!["/v1.0/auditLogs".into(), "/v1.0/reports".into()],
                ..Faults::default()
            },
        );
        add_m365(&steward, &stamp, &unlicensed, "s3cret-value");
        let outcome = steward
            .sync_connector(&stamp, "m365", None, true)
            .expect("sync without the licence");
        let skipped: Vec<&str> = outcome
            .plan()
            .skipped
            .iter()
            .map(|(f, _)| f.as_str())
            .collect();
        assert!(skipped.contains(&"sightings"), "{skipped:?}");
        let (people, accounts, assets, sightings) = counts(&steward);
        let managed = Tenant::generate(12, 10, 5)
            .devices
            .iter()
            .filter(|d| d.in_intune())
            .count();
        assert_eq!((people, accounts, assets, sightings), (12, 12, managed, 0));
        drop(db);
    }
}

#[test]
fn google_jamf_and_snipe_it_sync_their_devices() {
    for db in databases("connect-others") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let tenant = Tenant::generate(15, 24, 9);
        let stamp = Stamp::at("it-lead", tenant.now);
        let faults = Faults {
            page_size: 4,
            rate_limit_every: Some(5),
            token_lifetime: Some(4),
            ..Faults::default()
        };

        let google = Server::google(
            tenant.clone(),
            faults.clone(),
            Credentials::google_test("admin@example.org"),
        )
        .expect("google");
        let base = google.base_url();
        let definition = Definition::new(
            "workspace",
            Kind::GoogleWorkspace,
            [
                ("subject", "admin@example.org".to_owned()),
                ("base_url", base.clone()),
                ("token_url", format!("{base}/token")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        )
        .expect("settings");
        steward
            .save_connector(
                &stamp,
                &definition,
                Some(steward_vendors::TEST_SERVICE_ACCOUNT_JSON),
            )
            .expect("saved");
        steward
            .sync_connector(&stamp, "workspace", None, true)
            .unwrap_or_else(|e| panic!("google on {}: {e}", db.backend));
        let (people, accounts, google_devices, _) = counts(&steward);
        assert_eq!((people, accounts), (15, 15), "on {}", db.backend);
        assert!(google_devices > 0, "mobile or ChromeOS devices synced");

        let jamf = Server::jamf(
            tenant.clone(),
            faults.clone(),
            Credentials::jamf("jamf-id", "jamf-secret"),
        )
        .expect("jamf");
        let definition = Definition::new(
            "jamf",
            Kind::Jamf,
            [
                ("base_url", jamf.base_url()),
                ("client_id", "jamf-id".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        )
        .expect("settings");
        steward
            .save_connector(&stamp, &definition, Some("jamf-secret"))
            .expect("saved");
        let outcome = steward
            .sync_connector(&stamp, "jamf", None, true)
            .unwrap_or_else(|e| panic!("jamf on {}: {e}", db.backend));
        assert!(
            outcome.plan().counts.listed > 0,
            "{}",
            outcome.plan().to_text()
        );

        // A personal access token does not expire mid-sync: no token fault for Snipe-IT.
        let faults = Faults {
            token_lifetime: None,
            ..faults
        };
        let snipe = Server::snipe_it(tenant.clone(), faults, Credentials::snipe_it("pat-123"))
            .expect("snipe-it");
        add_snipe_it(&steward, &stamp, &snipe);
        let outcome = steward
            .sync_connector(&stamp, "snipe", None, true)
            .unwrap_or_else(|e| panic!("snipe-it on {}: {e}", db.backend));
        assert!(
            outcome.plan().counts.listed > 0,
            "{}",
            outcome.plan().to_text()
        );
        // Every device of the tenant is now one asset, matched across the three sources by
        // serial number rather than registered three times.
        let assets = steward.list::<Asset>().expect("assets");
        let mut serials: Vec<&str> = assets.iter().filter_map(|a| a.serial.as_deref()).collect();
        let before = serials.len();
        serials.sort_unstable();
        serials.dedup();
        assert_eq!(before, serials.len(), "no serial registered twice");
        drop(db);
    }
}

#[test]
fn snipe_it_hardware_syncs_by_its_changes_between_full_listings() {
    for db in databases("connect-snipe-changes") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let tenant = Tenant::generate(12, 40, 17);
        let t0 = tenant.now;
        let stamp = Stamp::at("it-lead", t0);
        let snipe = Server::snipe_it(
            tenant,
            Faults {
                page_size: 4,
                ..Faults::default()
            },
            Credentials::snipe_it("pat-123"),
        )
        .expect("snipe-it");
        add_snipe_it(&steward, &stamp, &snipe);

        // The first sync lists all the hardware and keeps the newest change it saw.
        let full = steward
            .sync_connector(&stamp, "snipe", None, true)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let listed_in_full = full.plan().counts.listed;
        let kept = cursor_of(&steward, "snipe");
        assert_eq!(kept.devices_listed_at, Some(t0), "{b}: {kept:?}");
        assert!(kept.devices_changed_to.is_some(), "{b}: {kept:?}");

        // An hour later: one asset's model changed in Snipe-IT (its updated_at moves), another's
        // changed behind the API's back (its updated_at does not), and a third deleted.
        let (moved, quiet, gone) = {
            let t = snipe.tenant();
            let mut t = t.lock().expect("tenant");
            t.now += chrono::Duration::hours(1);
            let at = t.tick();
            let mut company = t
                .devices
                .iter()
                .enumerate()
                .filter(|(_, d)| {
                    d.asset_tag.is_some()
                        && d.owner == steward_vendors::Ownership::Company
                        && d.status == steward_vendors::DeviceStatus::InUse
                })
                .map(|(i, _)| i);
            let (Some(m), Some(q), Some(g)) = (company.next(), company.next(), company.next())
            else {
                panic!("{b}: three company assets")
            };
            t.devices[m].model = "Model Changed In Snipe".into();
            t.devices[m].last_modified = at;
            t.devices[q].model = "Model Changed Quietly".into();
            let tag = |i: usize| t.devices[i].asset_tag.clone().unwrap_or_default();
            let (moved, quiet, gone) = (tag(m), tag(q), tag(g));
            t.devices.remove(g);
            (moved, quiet, gone)
        };
        let model_of = |tag: &str| {
            steward
                .list::<Asset>()
                .expect("assets")
                .into_iter()
                .find(|a| a.tag == tag)
                .unwrap_or_else(|| panic!("{b}: asset {tag}"))
        };

        // The schedule's round reads the changed assets only, newest first.
        let mark = snipe.requests().len();
        let later = Stamp::at("system:schedule", t0 + chrono::Duration::hours(1));
        let outcome = steward
            .sync_feeds(&later, "snipe", None, false, Round::Scheduled)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let SyncOutcome::Applied(plan) = outcome else {
            panic!("{b}: held: {:?}", outcome.plan().hold)
        };
        let asked = since(&snipe, mark);
        assert!(
            !asked.is_empty()
                && asked
                    .iter()
                    .all(|r| r.path.contains("sort=updated_at") && r.path.contains("order=desc")),
            "{b}: {asked:?}"
        );
        assert_eq!(plan.changes_only, vec!["devices"], "{b}");
        assert!(
            plan.counts.listed >= 1 && plan.counts.listed < listed_in_full,
            "{b}: {} listed of {listed_in_full}",
            plan.counts.listed
        );
        let model = |tag: &str| model_of(tag).model.unwrap_or_default();
        assert!(model(&moved).ends_with("Model Changed In Snipe"), "{b}");
        assert!(!model(&quiet).ends_with("Model Changed Quietly"), "{b}");
        assert_eq!(
            model_of(&gone).missing_since,
            None,
            "{b}: a round of changes marks nothing missing"
        );
        let after_round = cursor_of(&steward, "snipe");
        assert_eq!(after_round.devices_listed_at, Some(t0), "{b}");
        assert_ne!(
            after_round.devices_changed_to, kept.devices_changed_to,
            "{b}"
        );

        // A sync a person asks for lists everything again: the quiet change comes in and the
        // deleted asset is missing from the source.
        let asked_for = Stamp::at("it-lead", t0 + chrono::Duration::hours(2));
        steward
            .sync_connector(&asked_for, "snipe", None, true)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(model(&quiet).ends_with("Model Changed Quietly"), "{b}");
        assert_eq!(model_of(&gone).missing_since, Some(asked_for.at), "{b}");
        assert_eq!(
            cursor_of(&steward, "snipe").devices_listed_at,
            Some(asked_for.at),
            "{b}"
        );
        drop(db);
    }
}

#[test]
fn a_sync_runs_as_a_background_job_and_on_schedule() {
    for db in databases("connect-job") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let tenant = Tenant::generate(8, 6, 11);
        let stamp = Stamp::at("it-lead", tenant.now);
        let server = graph(tenant, Faults::default());
        add_m365(&steward, &stamp, &server, "s3cret-value");
        let ctx = steward_service::JobContext::new(
            Vec::new(),
            steward_policy::Overrides::default(),
            std::time::Duration::from_secs(30),
        );

        // Asked for twice while waiting: one job.
        let (id, new) = steward
            .enqueue_sync(&stamp, "m365", None, false)
            .expect("queued");
        assert!(new);
        let (again, new) = steward
            .enqueue_sync(&stamp, "m365", None, false)
            .expect("queued again");
        assert_eq!((again, new), (id, false), "one waiting sync per connector");
        let outcome = steward
            .run_one("test/0", &ctx)
            .expect("ran")
            .expect("a job");
        assert_eq!(
            outcome.state,
            steward_store::JobState::Done,
            "on {}",
            db.backend
        );
        let view = steward.job(&stamp, id).expect("the job");
        match view.result {
            Some(steward_service::JobResult::Sync { applied, hold, .. }) => {
                assert!(!applied, "a first sync is held for a preview");
                assert!(!hold.is_empty());
            }
            other => panic!("not a sync result: {other:?}"),
        }
        assert_eq!(counts(&steward).0, 0);

        // Applied from a job, as the preview's "apply" asks.
        let (id, _) = steward
            .enqueue_sync(&stamp, "m365", None, true)
            .expect("queued");
        steward
            .run_one("test/0", &ctx)
            .expect("ran")
            .expect("a job");
        let view = steward.job(&stamp, id).expect("the job");
        assert!(
            matches!(
                view.result,
                Some(steward_service::JobResult::Sync { applied: true, .. })
            ),
            "{:?}",
            view.result
        );
        assert_eq!(counts(&steward).0, 8);

        // Due on its schedule (hourly by default) an hour after its last run, not before; the
        // sign-in logs alone every 15 minutes in between.
        let last = steward.connectors(&stamp).expect("connectors")[0]
            .last_run_at
            .expect("ran");
        let due = |minutes: i64| {
            steward
                .connectors_due(last + chrono::Duration::minutes(minutes))
                .expect("due")
        };
        assert!(due(10).is_empty());
        assert_eq!(
            due(16),
            vec![(
                "m365".to_owned(),
                Some(vec![steward_connect::Feed::Sightings])
            )]
        );
        assert_eq!(due(61), vec![("m365".to_owned(), None)]);

        // A sign-in from abroad arrives; the sign-in run reads it, and moves neither the full
        // sync's schedule nor any record it did not list.
        let someone = {
            let t = server.tenant();
            let mut t = t.lock().expect("tenant");
            let user = t.users[0].clone();
            // Jobs run at the real time: the sign-in is a moment ago.
            let at = chrono::Utc::now() - chrono::Duration::minutes(1);
            let template = t.sign_ins[0].clone();
            t.sign_ins.push(steward_vendors::SignIn {
                id: "fresh".into(),
                created: at,
                user_id: user.id.clone(),
                user_principal_name: user.email.clone(),
                ..template
            });
            if let Some(s) = t.sign_ins.last_mut() {
                s.country = "NZ".into();
                s.error_code = 0;
                s.device_id = None;
            }
            user.email.to_lowercase()
        };
        let before = counts(&steward);
        assert_eq!(
            steward
                .enqueue_scheduled_syncs(last + chrono::Duration::minutes(16))
                .expect("queued"),
            1
        );
        steward
            .run_one("test/0", &ctx)
            .expect("ran")
            .expect("a job");
        let after = counts(&steward);
        assert_eq!((after.0, after.1, after.2), (before.0, before.1, before.2));
        let sightings = steward.list::<Sighting>().expect("sightings");
        let nz = sightings
            .iter()
            .find(|s| s.country.as_str() == "NZ")
            .unwrap_or_else(|| panic!("the sign-in from abroad, for {someone}: {sightings:?}"));
        assert!(nz.account_id.is_some());
        let view = &steward.connectors(&stamp).expect("connectors")[0];
        assert_eq!(
            view.last_run_at,
            Some(last),
            "the full sync's schedule is unmoved"
        );
        assert_eq!(due(61), vec![("m365".to_owned(), None)]);

        // The round the schedule queues reads users by their changes since the applied sync; a
        // person's sync asked for meanwhile is a job of its own, listing everything.
        assert_eq!(
            steward
                .enqueue_scheduled_syncs(last + chrono::Duration::minutes(61))
                .expect("queued"),
            1
        );
        let (asked, new) = steward
            .enqueue_sync(&stamp, "m365", None, false)
            .expect("queued");
        assert!(new, "not folded into the scheduled round");
        let mark = server.requests().len();
        steward
            .run_one("test/0", &ctx)
            .expect("ran")
            .expect("a job");
        let round = since(&server, mark);
        assert!(
            round.iter().any(|r| is_delta(r)
                && r.path.contains("deltatoken=")
                && !r.path.contains("latest")),
            "{}: {round:?}",
            db.backend
        );
        assert!(!round.iter().any(is_user_listing), "{}", db.backend);
        let mark = server.requests().len();
        steward
            .run_one("test/0", &ctx)
            .expect("ran")
            .expect("a job");
        assert!(
            matches!(
                steward.job(&stamp, asked).expect("the job").result,
                Some(steward_service::JobResult::Sync { applied: true, .. })
            ),
            "{}",
            db.backend
        );
        assert!(since(&server, mark).iter().any(is_user_listing));
        // Someone who does not run connectors cannot queue one.
        let staff = Stamp {
            authority: steward_service::Authority::of(
                [
                    steward_service::Capacity::Staff,
                    steward_service::Capacity::Governance,
                ],
                Some("P1"),
            ),
            ..Stamp::at("web:someone@example.org", stamp.at)
        };
        assert!(steward.enqueue_sync(&staff, "m365", None, true).is_err());
        drop(db);
    }
}

/// A sync that changes the registers queues a run of the checks, as a step on a page does, so
/// what it settles or raises shows without waiting for the schedule; one that changes nothing
/// queues none.
#[test]
fn an_applied_sync_that_changes_the_registers_queues_a_check_run() {
    let packs: Vec<steward_policy::Pack> = steward_policy::builtin_pack("cafcass-it-5.0")
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    for db in databases("connect-recheck") {
        let be = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let tenant = Tenant::generate(8, 6, 11);
        let stamp = Stamp::at("it-lead", tenant.now);
        let server = graph(tenant, Faults::default());
        add_m365(&steward, &stamp, &server, "s3cret-value");
        let ctx = steward_service::JobContext::new(
            packs.clone(),
            steward_policy::Overrides::default(),
            std::time::Duration::from_secs(30),
        );
        let kinds_run = |steward: &Steward| {
            let mut kinds = Vec::new();
            while let Some(outcome) = steward.run_one("test/0", &ctx).expect("ran") {
                assert_eq!(outcome.state, steward_store::JobState::Done, "{be}");
                kinds.push(outcome.kind);
            }
            kinds
        };
        steward
            .enqueue_sync(&stamp, "m365", None, true)
            .expect("queued");
        assert_eq!(kinds_run(&steward), ["sync", "check"], "{be}");
        assert_eq!(counts(&steward).0, 8, "{be}");
        // Again, nothing changed at the source: nothing to check again.
        steward
            .enqueue_sync(&stamp, "m365", None, true)
            .expect("queued");
        assert_eq!(kinds_run(&steward), ["sync"], "{be}");
    }
}

fn definition(name: &str, kind: Kind, settings: &[(&str, &str)]) -> Definition {
    Definition::new(
        name,
        kind,
        settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
    .expect("settings")
}

#[test]
fn files_sync_through_their_connectors() {
    for db in databases("connect-files") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let stamp = Stamp::at("it-lead", at);

        // The HR spreadsheet through a mapped profile: people, their groups and managers.
        let profile = include_str!("../../connect/tests/data/mapped/hr.profile.toml");
        steward
            .save_connector(
                &stamp,
                &definition("hr", Kind::Csv, &[("profile", profile)]),
                None,
            )
            .expect("hr connector");
        let hr = include_bytes!("../../connect/tests/data/mapped/hr.csv");
        let held = steward
            .sync_connector(&stamp, "hr", Some(("hr.csv", hr)), false)
            .expect("hr preview");
        assert!(
            matches!(held, SyncOutcome::Held(_)),
            "a first sync is previewed"
        );
        steward
            .sync_connector(&stamp, "hr", Some(("hr.csv", hr)), true)
            .expect("hr applied");
        let people = steward.list::<Person>().expect("people");
        assert_eq!(people.len(), 4, "on {}", db.backend);
        let by_email = |e: &str| {
            people
                .iter()
                .find(|p| p.email.as_deref() == Some(e))
                .unwrap_or_else(|| panic!("{e}"))
        };
        let amara = by_email("amara.okafor@example.org.uk");
        let ben = by_email("ben.hughes@example.org.uk");
        let dee = by_email("dee.patel@example.org.uk");
        assert_eq!(amara.staff_group, "fca");
        assert_eq!(amara.manager_id.as_deref(), Some(ben.id.as_str()));
        assert_eq!(dee.status, steward_model::PersonStatus::Leaver);
        assert_eq!(dee.name, "=SUM(1+1)", "a formula-like cell is kept as text");

        // The Intune portal's export through the Microsoft 365 connector (no credential needed
        // for a file); devices held by people the HR file registered.
        steward
            .save_connector(
                &stamp,
                &definition(
                    "m365",
                    Kind::Microsoft365,
                    &[("tenant", TENANT), ("client_id", "app-id")],
                ),
                None,
            )
            .expect("m365 connector");
        let intune = include_bytes!("../../connect/tests/data/exports/intune-devices.csv");
        steward
            .sync_connector(&stamp, "m365", Some(("devices.csv", intune)), true)
            .expect("intune export");
        let assets = steward.list::<Asset>().expect("assets");
        let phone = assets
            .iter()
            .find(|a| a.serial.as_deref() == Some("F2LX1234ABCD"))
            .expect("Ben's iPhone");
        assert_eq!(phone.assigned_to.as_deref(), Some(ben.id.as_str()));
        assert_eq!(phone.imei.as_deref(), Some("353915112345678"));

        // Another system's export is refused by this connector, changing nothing.
        let snipe = include_bytes!("../../connect/tests/data/exports/snipeit-custom-report.csv");
        let before = counts(&steward);
        let err = steward
            .sync_connector(&stamp, "m365", Some(("assets.csv", snipe)), true)
            .expect_err("a Snipe-IT report is not Microsoft 365's");
        assert!(err.to_string().contains("Snipe-IT"), "{err}");
        assert_eq!(counts(&steward), before);

        // The mobile network's bill, by IMEI, in GB: usage lines in MB.
        let bill_profile = "name = \"bill\"\ntarget = \"usage\"\nmonth = \"2026-11\"\n\
            [columns]\nimei = \"IMEI\"\ndata_mb = \"Data (GB)\"\n\
            [transforms]\ndata_mb = { scale = 1024 }\n";
        steward
            .save_connector(
                &stamp,
                &definition("bill", Kind::Csv, &[("profile", bill_profile)]),
                None,
            )
            .expect("bill connector");
        let bill = b"IMEI,Data (GB)\n353915112345678,1.5\n999999999999999,2\n";
        let outcome = steward
            .sync_connector(&stamp, "bill", Some(("bill.csv", bill)), true)
            .expect("bill");
        assert_eq!(outcome.plan().counts.usage, 1);
        assert_eq!(
            outcome.plan().unmatched.len(),
            1,
            "the unknown line is listed"
        );
        let usage = steward.list::<steward_model::Usage>().expect("usage");
        assert_eq!(usage.len(), 1);
        assert_eq!(usage[0].data_mb, 1536);
        assert_eq!(usage[0].asset_tag, phone.tag);
        drop(db);
    }
}

/// A person's hand edit of a field the connector keeping a record owns is refused, as a problem
/// with that field, whether through `set_fields` or `update`; a field it does not own saves; the
/// connector itself, a CSV import (the organisation's own file) and anyone once the connector is
/// removed change it.
#[test]
fn a_hand_edit_of_what_a_connector_keeps_is_refused_but_an_import_is_not() {
    for db in databases("connect-hand-edits") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = Stamp::now("it-lead");
        let profile = "name = \"hr\"\ntarget = \"people\"\n\n[columns]\nemail = \"Work Email\"\nname = \"Full Name\"\n";
        let definition = Definition::new(
            "hr",
            Kind::Csv,
            [("profile".to_owned(), profile.to_owned())].into(),
        )
        .expect("settings");
        steward
            .save_connector(&stamp, &definition, None)
            .expect("connector saved");
        let file = b"Work Email,Full Name\nada@charity.test,Ada Lovelace\n";
        steward
            .sync_connector(&stamp, "hr", Some(("staff.csv", file.as_slice())), true)
            .expect("synced");
        let ada = steward
            .list::<Person>()
            .expect("people")
            .into_iter()
            .find(|p| p.email.as_deref() == Some("ada@charity.test"))
            .expect("the file's person");
        assert_eq!(ada.source.as_deref(), Some("hr"), "{b}");
        let kept = steward
            .kept_by(
                &steward
                    .store()
                    .get(Register::People, &ada.id)
                    .expect("read")
                    .expect("row"),
            )
            .expect("kept by");
        assert!(
            kept.is_some_and(|k| k.connector == "hr" && k.fields.contains(&"name")),
            "{b}"
        );

        let rename = [("name".to_owned(), "Ada King".to_owned())];
        let refused = steward.set_fields(&stamp, Register::People, &ada.id, &rename);
        let Err(ServiceError::Invalid { problems, .. }) = refused else {
            panic!("{b}: a hand edit of the name went through: {refused:?}");
        };
        assert_eq!(problems.len(), 1, "{b}: {problems:?}");
        assert_eq!(problems[0].field, "name");
        assert_eq!(
            problems[0].reason,
            "name is kept by the connector hr; change it in the mapped CSV file or remove the connector"
        );
        let mut renamed = ada.clone();
        renamed.name = "Ada King".into();
        assert!(
            matches!(
                steward.update(&stamp, &renamed),
                Err(ServiceError::Invalid { .. })
            ),
            "{b}: update is refused the same way"
        );
        // A field the HR file does not own saves.
        steward
            .set_fields(
                &stamp,
                Register::People,
                &ada.id,
                &[("byod".to_owned(), "true".to_owned())],
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // The connector itself may.
        steward
            .set_fields(
                &Stamp::now("connector:hr"),
                Register::People,
                &ada.id,
                &rename,
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // So may an import: the organisation's own file.
        let mut row = steward
            .store()
            .get(Register::People, &ada.id)
            .expect("read")
            .expect("row");
        row.set("name", steward_model::Value::Text("Ada Byron".into()));
        let mut bytes = Vec::new();
        steward_interchange::write(Register::People, &[row], &mut bytes).expect("csv");
        steward
            .import(
                &stamp,
                vec![steward_service::ImportFile {
                    register: Register::People,
                    label: "people.csv".into(),
                    bytes,
                }],
            )
            .unwrap_or_else(|e| panic!("{b}: the import was refused: {e}"));
        let name = |s: &Steward| s.get::<Person>(&ada.id).expect("read").map(|p| p.name);
        assert_eq!(name(&steward).as_deref(), Some("Ada Byron"), "{b}");
        // Once the connector is removed, nobody keeps the record: edits go through.
        steward.remove_connector(&stamp, "hr").expect("removed");
        steward
            .set_fields(&stamp, Register::People, &ada.id, &rename)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(name(&steward).as_deref(), Some("Ada King"), "{b}");
        drop(db);
    }
}

#[test]
fn an_applied_sync_keeps_what_it_left_to_resolve_and_apply_is_never_a_plain_sync() {
    for db in databases("connect-left") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let tenant = Tenant::generate(6, 5, 21);
        let stamp = Stamp::at("it-lead", tenant.now);
        let server = graph(tenant, Faults::default());
        add_m365(&steward, &stamp, &server, "s3cret-value");
        // Queued plain, then asked to apply: two jobs, the second applying.
        let (plain, _) = steward
            .enqueue_sync(&stamp, "m365", None, false)
            .expect("queued");
        let (apply, new) = steward
            .enqueue_sync(&stamp, "m365", None, true)
            .expect("queued");
        assert!(
            new && apply != plain,
            "an apply is not folded into a waiting plain sync"
        );

        // Devices only: their users are no persons here, so each is applied and left to resolve.
        let base = server.base_url();
        let token_url = format!("{base}/{TENANT}/oauth2/v2.0/token");
        let devices_only = definition(
            "m365",
            Kind::Microsoft365,
            &[
                ("tenant", TENANT),
                ("client_id", "app-id"),
                ("base_url", &base),
                ("token_url", &token_url),
                ("feeds", "devices"),
            ],
        );
        steward
            .save_connector(&stamp, &devices_only, None)
            .expect("saved");
        let outcome = steward
            .sync_connector(&stamp, "m365", None, true)
            .expect("applied");
        assert!(matches!(outcome, SyncOutcome::Applied(_)));
        let view = &steward.connectors(&stamp).expect("connectors")[0];
        assert!(view.pending.is_none());
        let last = view.last.as_ref().expect("what the sync left");
        assert!(!last.unmatched.is_empty(), "{}", last.to_text());
        assert!(
            last.changes.is_empty(),
            "only what is left, not every change"
        );
        drop(db);
    }
}
