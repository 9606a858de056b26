//! What a listing changes, decided without a database: matching, field ownership, missing and
//! back, conflicts, thresholds, the home country.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use steward_connect::plan::{Current, Link, Plan, plan};
use steward_connect::{
    Definition, Feed, Kind, Listing, SourceAccount, SourceDevice, SourcePerson, SourceSighting,
};
use steward_model::{Record, Register, Row, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .expect("time")
}

fn definition(kind: Kind, extra: &[(&str, &str)]) -> Definition {
    let mut settings: BTreeMap<String, String> = match kind {
        Kind::Microsoft365 => [("tenant", "t"), ("client_id", "c")]
            .into_iter()
            .collect::<Vec<_>>(),
        Kind::Csv => vec![(
            "profile",
            "name = \"p\"\ntarget = \"people\"\n[columns]\nemail = \"e\"\n",
        )],
        Kind::Jamf => vec![("base_url", "https://example.org"), ("client_id", "c")],
        _ => vec![("base_url", "https://example.org")],
    }
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        settings.insert((*k).to_owned(), (*v).to_owned());
    }
    Definition::new("src", kind, settings).expect("settings")
}

fn row(register: Register, cells: &[(&str, &str)]) -> Row {
    let fields = register.fields();
    let mut values = vec![Value::Null; fields.len()];
    for (name, text) in cells {
        let i = register
            .field_index(name)
            .unwrap_or_else(|| panic!("{name}"));
        values[i] = fields[i]
            .parse(text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    Row::new(register, values).expect("row")
}

fn person(id: &str, email: &str, extra: &[(&str, &str)]) -> Row {
    let mut cells = vec![
        ("id", id),
        ("name", id),
        ("email", email),
        ("staff_group", "fca"),
        ("status", "active"),
    ];
    cells.extend_from_slice(extra);
    row(Register::People, &cells)
}

fn asset(tag: &str, extra: &[(&str, &str)]) -> Row {
    let mut cells = vec![
        ("tag", tag),
        ("kind", "laptop"),
        ("ownership", "organisation"),
        ("status", "in_stock"),
    ];
    cells.extend_from_slice(extra);
    row(Register::Assets, &cells)
}

fn run(kind: Kind, extra: &[(&str, &str)], listing: &Listing, current: &Current) -> Plan {
    plan(
        &definition(kind, extra),
        listing,
        current,
        &[],
        false,
        now(),
    )
}

fn field_of(plan: &Plan, register: Register, id: &str, field: &str) -> Option<Value> {
    plan.rows
        .iter()
        .find(|r| r.register() == register && r.id() == id)
        .and_then(|r| r.get(field).cloned())
}

#[test]
fn people_are_matched_by_any_address_ignoring_case() {
    let current = Current {
        people: vec![person("P1", "ada@example.org", &[])],
        ..Current::default()
    };
    let listing = Listing {
        people: vec![SourcePerson {
            source_id: "u1".into(),
            email: Some("Ada.Lovelace@Example.org".into()),
            aliases: vec!["ADA@example.org".into()],
            name: Some("Ada Lovelace".into()),
            ..SourcePerson::default()
        }],
        complete: vec![Feed::People],
        ..Listing::default()
    };
    let plan = run(Kind::Microsoft365, &[], &listing, &current);
    assert_eq!(plan.counts.created, 0, "{}", plan.to_text());
    assert_eq!(
        plan.links,
        vec![("people".into(), "u1".into(), "P1".into())]
    );
    // The directory owns the name: it is overwritten.
    assert_eq!(
        field_of(&plan, Register::People, "P1", "name"),
        Some(Value::Text("Ada Lovelace".into()))
    );
}

#[test]
fn a_source_overwrites_what_it_owns_and_only_fills_the_rest() {
    let current = Current {
        people: vec![person("P1", "ada@example.org", &[])],
        assets: vec![asset(
            "L1",
            &[
                ("serial", "PF-3XK 2LM"),
                ("encrypted", "false"),
                ("model", "Typed by hand"),
            ],
        )],
        ..Current::default()
    };
    let device = SourceDevice {
        source_id: "d1".into(),
        serial: Some("pf3xk2lm".into()),
        encrypted: Some(true),
        model: Some("ThinkPad T14".into()),
        os_version: Some("10.0.22631".into()),
        holder_email: Some("ada@example.org".into()),
        ..SourceDevice::default()
    };
    let listing = Listing {
        devices: vec![device],
        complete: vec![Feed::Devices],
        ..Listing::default()
    };
    let plan = run(Kind::Microsoft365, &[], &listing, &current);
    assert_eq!(
        plan.counts.created,
        0,
        "matched by a normalised serial: {}",
        plan.to_text()
    );
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "encrypted"),
        Some(Value::Bool(true))
    );
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "model"),
        Some(Value::Text("Typed by hand".into())),
        "not owned, and not empty: kept"
    );
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "assigned_to"),
        Some(Value::Text("P1".into())),
        "nobody held it: given to its user"
    );
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "status"),
        Some(Value::Text("allocated".into()))
    );

    // The organisation says this connector owns the model and not the encryption.
    let plan = run(
        Kind::Microsoft365,
        &[("owns", "assets.model")],
        &listing,
        &current,
    );
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "model"),
        Some(Value::Text("ThinkPad T14".into()))
    );
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "encrypted"),
        Some(Value::Bool(false))
    );
}

#[test]
fn a_manager_the_source_takes_away_is_cleared_where_it_keeps_managers() {
    let current = Current {
        people: vec![
            person("P1", "ada@example.org", &[("manager_id", "P2")]),
            person("P2", "grace@example.org", &[]),
        ],
        ..Current::default()
    };
    // (connector, says who the manager is, names one no one here has, manager afterwards, why)
    let cases: [(Kind, bool, bool, Option<&str>, &str); 5] = [
        (
            Kind::Csv,
            true,
            false,
            None,
            "the HR file's manager column is empty",
        ),
        (
            Kind::Csv,
            false,
            false,
            Some("P2"),
            "the file has no manager column",
        ),
        (
            Kind::Csv,
            true,
            true,
            Some("P2"),
            "a manager not yet known is not no manager",
        ),
        (
            Kind::Microsoft365,
            true,
            false,
            Some("P2"),
            "the directory does not keep managers here",
        ),
        (
            Kind::GoogleWorkspace,
            true,
            false,
            Some("P2"),
            "nor does Google",
        ),
    ];
    for (kind, stated, unknown, expected, why) in cases {
        let listing = Listing {
            people: vec![SourcePerson {
                source_id: "ada".into(),
                email: Some("ada@example.org".into()),
                manager_email: unknown.then(|| "nobody@example.org".into()),
                manager_stated: stated,
                ..SourcePerson::default()
            }],
            complete: vec![Feed::People],
            ..Listing::default()
        };
        let extra: &[(&str, &str)] = match kind {
            Kind::GoogleWorkspace => &[("customer", "c"), ("subject", "a@example.org")],
            _ => &[],
        };
        let plan = run(kind, extra, &listing, &current);
        let manager = field_of(&plan, Register::People, "P1", "manager_id")
            .or_else(|| current.people[0].get("manager_id").cloned())
            .filter(|v| !v.is_null());
        assert_eq!(
            manager,
            expected.map(|m| Value::Text(m.into())),
            "{why}: {}",
            plan.to_text()
        );
    }
    // A person may say the directory keeps managers after all.
    let listing = Listing {
        people: vec![SourcePerson {
            source_id: "ada".into(),
            email: Some("ada@example.org".into()),
            manager_stated: true,
            ..SourcePerson::default()
        }],
        complete: vec![Feed::People],
        ..Listing::default()
    };
    let plan = run(
        Kind::Microsoft365,
        &[("owns", "people.manager_id")],
        &listing,
        &current,
    );
    assert_eq!(
        field_of(&plan, Register::People, "P1", "manager_id"),
        Some(Value::Null),
        "{}",
        plan.to_text()
    );
}

#[test]
fn a_serial_and_an_imei_naming_two_assets_are_left_for_a_person() {
    let current = Current {
        assets: vec![
            asset("A", &[("serial", "S1")]),
            asset("B", &[("imei", "356938035643809")]),
        ],
        ..Current::default()
    };
    let listing = Listing {
        devices: vec![SourceDevice {
            source_id: "d1".into(),
            serial: Some("S1".into()),
            imei: Some("356938035643809".into()),
            ..SourceDevice::default()
        }],
        ..Listing::default()
    };
    let plan = run(Kind::Microsoft365, &[], &listing, &current);
    assert!(plan.rows.is_empty(), "{}", plan.to_text());
    assert_eq!(plan.unmatched.len(), 1);
    assert!(plan.unmatched[0].reason.contains("IMEI"));
}

#[test]
fn records_gone_from_a_complete_listing_are_missing_and_come_back() {
    let kept = asset("L1", &[("serial", "S1"), ("source", "src")]);
    let current = Current {
        assets: vec![
            kept.clone(),
            asset("L2", &[("serial", "S2"), ("source", "src")]),
        ],
        ..Current::default()
    };
    let listing = Listing {
        devices: vec![SourceDevice {
            source_id: "d2".into(),
            serial: Some("S2".into()),
            ..SourceDevice::default()
        }],
        complete: vec![Feed::Devices],
        ..Listing::default()
    };
    let plan = run(Kind::Jamf, &[], &listing, &current);
    assert_eq!(plan.counts.missing, 1);
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "missing_since"),
        Some(Value::Timestamp(now()))
    );
    // Half of what it keeps vanishing crosses the default threshold of 50%? One of two does not.
    assert!(plan.hold.is_empty(), "{:?}", plan.hold);

    // Not a complete listing: nothing goes missing.
    let partial = Listing {
        complete: Vec::new(),
        ..listing.clone()
    };
    assert_eq!(run(Kind::Jamf, &[], &partial, &current).counts.missing, 0);

    // Listed again: back.
    let mut gone = kept;
    gone.set("missing_since", Value::Timestamp(now()));
    let current = Current {
        assets: vec![gone],
        ..Current::default()
    };
    let listing = Listing {
        devices: vec![SourceDevice {
            source_id: "d1".into(),
            serial: Some("S1".into()),
            ..SourceDevice::default()
        }],
        complete: vec![Feed::Devices],
        ..Listing::default()
    };
    let plan = run(Kind::Jamf, &[], &listing, &current);
    assert_eq!(plan.counts.back, 1, "{}", plan.to_text());
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "missing_since"),
        Some(Value::Null)
    );
}

fn account(id: &str, login: &str, extra: &[(&str, &str)]) -> Row {
    let mut cells = vec![
        ("id", id),
        ("system", "microsoft-365"),
        ("kind", "standard"),
        ("status", "active"),
        ("login", login),
        ("source", "src"),
    ];
    cells.extend_from_slice(extra);
    row(Register::Accounts, &cells)
}

fn link(feed: &str, source_id: &str, record_id: &str) -> Link {
    Link {
        feed: feed.into(),
        source_id: source_id.into(),
        record_id: Some(record_id.into()),
        ignored: false,
    }
}

#[test]
fn a_listing_of_changes_touches_only_what_it_names() {
    // Three people and their accounts, kept by this connector; Ada's user changed, Bob's was
    // deleted, Cy's is as it was but lost MFA, and the report names a stranger Steward never
    // met.
    let current = Current {
        people: vec![
            person("P1", "ada@example.org", &[("source", "src")]),
            person("P2", "bob@example.org", &[("source", "src")]),
            person("P3", "cy@example.org", &[("source", "src")]),
        ],
        accounts: vec![
            account("A1", "ada@example.org", &[("mfa", "true")]),
            account("A2", "bob@example.org", &[("mfa", "true")]),
            account("A3", "cy@example.org", &[("mfa", "true")]),
        ],
        systems: vec![row(
            Register::Systems,
            &[("name", "microsoft-365"), ("supports_mfa", "true")],
        )],
        ..Current::default()
    };
    let links = [
        link("people", "u1", "P1"),
        link("people", "u2", "P2"),
        link("people", "u3", "P3"),
        link("accounts", "u1", "A1"),
        link("accounts", "u2", "A2"),
        link("accounts", "u3", "A3"),
    ];
    let listing = Listing {
        people: vec![SourcePerson {
            source_id: "u1".into(),
            email: Some("ada@example.org".into()),
            name: Some("Ada King".into()),
            // Named by id alone, as a round of changes names a manager.
            manager_source_id: Some("u3".into()),
            ..SourcePerson::default()
        }],
        accounts: vec![SourceAccount {
            source_id: "u1".into(),
            login: "ada@example.org".into(),
            person_email: Some("ada@example.org".into()),
            enabled: Some(true),
            mfa: Some(true),
            ..SourceAccount::default()
        }],
        changes_only: vec![Feed::People, Feed::Accounts],
        removed: vec![(Feed::People, "u2".into()), (Feed::Accounts, "u2".into())],
        account_facts: vec![
            SourceAccount {
                source_id: "u3".into(),
                login: "cy@example.org".into(),
                mfa: Some(false),
                admin: Some(false),
                ..SourceAccount::default()
            },
            SourceAccount {
                source_id: "u9".into(),
                login: "stranger@example.org".into(),
                mfa: Some(false),
                ..SourceAccount::default()
            },
            // Named in the changes too: the listed account's own word stands.
            SourceAccount {
                source_id: "u1".into(),
                login: "ada@example.org".into(),
                mfa: Some(false),
                ..SourceAccount::default()
            },
        ],
        ..Listing::default()
    };
    let plan = plan(
        &definition(Kind::Microsoft365, &[]),
        &listing,
        &current,
        &links,
        false,
        now(),
    );
    assert_eq!(
        field_of(&plan, Register::People, "P1", "name"),
        Some(Value::Text("Ada King".into()))
    );
    assert_eq!(
        field_of(&plan, Register::People, "P1", "manager_id"),
        Some(Value::Text("P3".into())),
        "a manager known from an earlier sync"
    );
    // Removed: missing; unnamed: left as they were.
    assert_eq!(plan.counts.missing, 2, "{}", plan.to_text());
    for (register, id) in [(Register::People, "P2"), (Register::Accounts, "A2")] {
        assert_eq!(
            field_of(&plan, register, id, "missing_since"),
            Some(Value::Timestamp(now()))
        );
    }
    assert_eq!(
        field_of(&plan, Register::People, "P3", "missing_since"),
        None
    );
    // A fact reaches an account Steward knows, and creates none.
    assert_eq!(
        field_of(&plan, Register::Accounts, "A3", "mfa"),
        Some(Value::Bool(false))
    );
    assert_eq!(
        field_of(&plan, Register::Accounts, "A3", "missing_since"),
        Some(Value::Null)
    );
    assert_eq!(
        field_of(&plan, Register::Accounts, "A1", "mfa"),
        Some(Value::Bool(true))
    );
    assert_eq!(plan.counts.created, 0, "{}", plan.to_text());
    assert!(plan.unmatched.is_empty(), "{:?}", plan.unmatched);
    assert_eq!(plan.changes_only, vec!["people", "accounts"]);
    assert!(plan.to_text().contains("only the changes"));
}

#[test]
fn a_sync_that_would_make_many_leavers_waits_for_a_person() {
    let people: Vec<Row> = (0..10)
        .map(|i| person(&format!("P{i}"), &format!("p{i}@example.org"), &[]))
        .collect();
    let current = Current {
        people,
        ..Current::default()
    };
    let leaving = |i: usize| SourcePerson {
        source_id: format!("e{i}"),
        email: Some(format!("p{i}@example.org")),
        active: Some(false),
        ..SourcePerson::default()
    };
    let listing = Listing {
        people: (0..2).map(leaving).collect(),
        ..Listing::default()
    };
    let plan = run(Kind::Csv, &[], &listing, &current);
    assert_eq!(plan.hold.len(), 1, "2 of 10 is past 10%: {:?}", plan.hold);
    let plan = run(
        Kind::Csv,
        &[("leavers_threshold", "25")],
        &listing,
        &current,
    );
    assert!(plan.hold.is_empty(), "{:?}", plan.hold);
}

#[test]
fn an_hr_file_keeps_starters_and_absences_while_employed() {
    let current = Current {
        people: vec![
            person("P1", "a@example.org", &[("status", "absent")]),
            person("P2", "b@example.org", &[("status", "starter")]),
            person("P3", "c@example.org", &[]),
        ],
        ..Current::default()
    };
    let employed = |email: &str, active: bool| SourcePerson {
        source_id: email.into(),
        email: Some(email.into()),
        active: Some(active),
        ..SourcePerson::default()
    };
    let listing = Listing {
        people: vec![
            employed("a@example.org", true),
            employed("b@example.org", true),
            employed("c@example.org", false),
        ],
        ..Listing::default()
    };
    let plan = run(
        Kind::Csv,
        &[("leavers_threshold", "50")],
        &listing,
        &current,
    );
    let status = |id: &str| field_of(&plan, Register::People, id, "status");
    assert_eq!(status("P1"), Some(Value::Text("absent".into())));
    assert_eq!(status("P2"), Some(Value::Text("starter".into())));
    assert_eq!(status("P3"), Some(Value::Text("leaver".into())));
}

#[test]
fn sign_ins_abroad_are_sightings_and_those_at_home_last_logins() {
    let account = steward_model::Account {
        forwards_externally: None,
        id: "A1".into(),
        person_id: None,
        system: "microsoft-365".into(),
        kind: steward_model::AccountKind::Standard,
        admin_rights: None,
        mfa: Some(true),
        status: steward_model::AccountStatus::Active,
        last_login: None,
        login: Some("ada@example.org".into()),
        source_id: None,
        source: None,
        source_seen: None,
        missing_since: None,
    };
    let current = Current {
        accounts: vec![account.to_row()],
        systems: vec![row(Register::Systems, &[("name", "microsoft-365")])],
        ..Current::default()
    };
    let at = |h: u32| {
        Utc.with_ymd_and_hms(2026, 11, 30, h, 0, 0)
            .single()
            .expect("time")
    };
    let sign_in = |h: u32, country: &str| SourceSighting {
        seen_at: at(h),
        country: country.parse().expect("country"),
        login: Some("ADA@example.org".into()),
        device_serial: None,
        device_source_id: None,
    };
    let listing = Listing {
        accounts: vec![SourceAccount {
            source_id: "u1".into(),
            login: "ada@example.org".into(),
            ..SourceAccount::default()
        }],
        sightings: vec![sign_in(8, "GB"), sign_in(9, "FR"), sign_in(10, "GB")],
        ..Listing::default()
    };
    let plan = run(Kind::Microsoft365, &[], &listing, &current);
    assert_eq!(plan.counts.sightings, 1, "{}", plan.to_text());
    assert_eq!(plan.counts.sightings_home, 2);
    assert_eq!(
        field_of(&plan, Register::Accounts, "A1", "last_login"),
        Some(Value::Timestamp(at(10)))
    );
    let sighting = plan
        .rows
        .iter()
        .find(|r| r.register() == Register::Sightings)
        .expect("a sighting");
    assert_eq!(sighting.get("account_id"), Some(&Value::Text("A1".into())));
    assert_eq!(sighting.get("asset_tag"), Some(&Value::Null));
    // Already registered: not again.
    let again = Current {
        sightings: [sighting.id().to_owned()].into_iter().collect(),
        ..current
    };
    assert_eq!(
        run(Kind::Microsoft365, &[], &listing, &again)
            .counts
            .sightings,
        0
    );
}

#[test]
fn a_last_login_only_moves_forward_and_an_unchanged_record_is_not_rewritten() {
    let at = |h: u32| {
        Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0)
            .single()
            .expect("time")
    };
    // Seen by this connector an hour ago, with a last login the sign-in logs gave at 08:00.
    let seen = |source_seen: DateTime<Utc>| {
        steward_model::Account {
            forwards_externally: None,
            id: "A1".into(),
            person_id: None,
            system: "microsoft-365".into(),
            kind: steward_model::AccountKind::Standard,
            admin_rights: Some(false),
            mfa: Some(true),
            status: steward_model::AccountStatus::Active,
            last_login: Some(at(8)),
            login: Some("ada@example.org".into()),
            source_id: Some("u1".into()),
            source: Some("src".into()),
            source_seen: Some(source_seen),
            missing_since: None,
        }
        .to_row()
    };
    let listing = |directory_says: u32| Listing {
        accounts: vec![SourceAccount {
            source_id: "u1".into(),
            login: "ada@example.org".into(),
            enabled: Some(true),
            admin: Some(false),
            mfa: Some(true),
            // Graph's signInActivity lags the logs.
            last_login: Some(at(directory_says)),
            ..SourceAccount::default()
        }],
        complete: vec![Feed::Accounts],
        ..Listing::default()
    };
    let current = |source_seen| Current {
        accounts: vec![seen(source_seen)],
        systems: vec![row(Register::Systems, &[("name", "microsoft-365")])],
        ..Current::default()
    };
    let link = [link("accounts", "u1", "A1")];
    let planned = |listing: &Listing, current: &Current| {
        plan(
            &definition(Kind::Microsoft365, &[]),
            listing,
            current,
            &link,
            false,
            now(),
        )
    };
    // An older last sign-in from the directory: nothing changes, nothing is written.
    let older = planned(&listing(7), &current(now() - chrono::Duration::hours(1)));
    assert_eq!(
        (
            older.counts.updated,
            older.counts.unchanged,
            older.rows.len()
        ),
        (0, 1, 0),
        "{}",
        older.to_text()
    );
    // A newer one moves it forward.
    let newer = planned(&listing(9), &current(now() - chrono::Duration::hours(1)));
    assert_eq!(
        field_of(&newer, Register::Accounts, "A1", "last_login"),
        Some(Value::Timestamp(at(9))),
        "{}",
        newer.to_text()
    );
    // Seen more than a day ago: the day's "last seen there" is written, and not shown.
    let stale = planned(&listing(7), &current(now() - chrono::Duration::days(2)));
    assert_eq!(
        (stale.counts.updated, stale.rows.len()),
        (0, 1),
        "{}",
        stale.to_text()
    );
    assert_eq!(
        field_of(&stale, Register::Accounts, "A1", "source_seen"),
        Some(Value::Timestamp(now()))
    );
}

#[test]
fn a_person_s_decision_about_a_record_stands() {
    let current = Current {
        people: vec![person("P1", "ada@example.org", &[])],
        assets: vec![asset(
            "L1",
            &[
                ("serial", "S1"),
                ("assigned_to", "P1"),
                ("status", "allocated"),
            ],
        )],
        ..Current::default()
    };
    let current = Current {
        people: [
            current.people.clone(),
            vec![person("P2", "bob@example.org", &[])],
        ]
        .concat(),
        ..current
    };
    let listing = Listing {
        devices: vec![SourceDevice {
            source_id: "d1".into(),
            serial: Some("S1".into()),
            holder_email: Some("someone.else@example.org".into()),
            ..SourceDevice::default()
        }],
        ..Listing::default()
    };
    let decided = [Link {
        feed: "device-holder".into(),
        source_id: "d1".into(),
        record_id: Some("P2".into()),
        ignored: false,
    }];
    let plan = plan(
        &definition(Kind::Microsoft365, &[]),
        &listing,
        &current,
        &decided,
        false,
        now(),
    );
    assert_eq!(
        field_of(&plan, Register::Assets, "L1", "assigned_to"),
        Some(Value::Text("P2".into()))
    );
    assert!(plan.unmatched.is_empty(), "decided: not asked again");

    let ignored = [Link {
        feed: "devices".into(),
        source_id: "d1".into(),
        record_id: None,
        ignored: true,
    }];
    let plan = steward_connect::plan::plan(
        &definition(Kind::Microsoft365, &[]),
        &listing,
        &current,
        &ignored,
        false,
        now(),
    );
    assert!(plan.rows.is_empty(), "{}", plan.to_text());
}

#[test]
fn a_plan_kept_for_a_page_holds_its_counts_and_a_sample_of_its_changes() {
    let listing = Listing {
        devices: (0..30)
            .map(|i| SourceDevice {
                source_id: format!("d{i}"),
                serial: Some(format!("S{i}")),
                ..SourceDevice::default()
            })
            .collect(),
        ..Listing::default()
    };
    let plan = run(Kind::Jamf, &[], &listing, &Current::default());
    assert_eq!(plan.counts.created, 30);
    let kept = plan.trimmed(5, 1);
    assert_eq!(kept.counts, plan.counts, "the counts are whole");
    assert_eq!(kept.changes.len(), 5);
    assert!(kept.rows.is_empty() && kept.links.is_empty());
    assert_eq!(plan.trimmed(100, 1).changes.len(), 30);
}
