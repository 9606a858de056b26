//! The rule language on a small estate: what passes, what fails, what cannot be decided, and what
//! does not compile — one table, one helper.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone, Utc};
use steward_model::*;
use steward_rules::{Data, Kind, ParamValue, compile};

fn ts(day: u32) -> Option<chrono::DateTime<Utc>> {
    Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0).single()
}

fn person(id: &str, manager: Option<&str>, status: PersonStatus) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: None,
        staff_group: "fca".into(),
        manager_id: manager.map(Into::into),
        budget_centre: None,
        status,
        start_date: NaiveDate::from_ymd_opt(2020, 1, 1),
        leave_date: None,
        clearance: None,
        clearance_expires: None,
        byod: None,
        weekly_digest: None,
        job_title: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

fn asset(
    tag: &str,
    kind: AssetKind,
    holder: Option<&str>,
    last_seen: Option<u32>,
    encrypted: Option<bool>,
) -> Asset {
    Asset {
        tag: tag.into(),
        kind,
        model: None,
        serial: None,
        ownership: Ownership::Organisation,
        status: if holder.is_some() {
            AssetStatus::Allocated
        } else {
            AssetStatus::InStock
        },
        assigned_to: holder.map(Into::into),
        assigned_on: None,
        budget_centre: None,
        cost_gbp: Some(Pence(89_900)),
        encrypted,
        pin_set: None,
        hotspot_password_set: None,
        last_seen: last_seen.and_then(ts),
        last_shutdown: None,
        pending_patch_since: None,
        imei: None,
        os_version: None,
        compliance_state: None,
        azure_device_id: None,
        source_id: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

fn account(
    id: &str,
    person: &str,
    system: &str,
    kind: AccountKind,
    admin: Option<bool>,
    mfa: Option<bool>,
) -> Account {
    Account {
        forwards_externally: None,
        id: id.into(),
        person_id: Some(person.into()),
        system: system.into(),
        kind,
        admin_rights: admin,
        mfa,
        status: AccountStatus::Active,
        last_login: None,
        login: None,
        source_id: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

fn estate() -> Estate {
    Estate {
        organisation: None,
        budget_centres: vec![],
        systems: vec![
            System {
                name: "legacy".into(),
                key_system: Some(false),
                supports_mfa: Some(false),
                restricted: None,
            },
            System {
                name: "m365".into(),
                key_system: Some(true),
                supports_mfa: Some(true),
                restricted: None,
            },
        ],
        people: vec![
            person("P1", None, PersonStatus::Active),
            person("P2", Some("P1"), PersonStatus::Active),
            person("P3", Some("P1"), PersonStatus::Leaver),
        ],
        assets: vec![
            asset("LT1", AssetKind::Laptop, Some("P2"), Some(23), Some(true)), // seen yesterday
            asset("LT2", AssetKind::Laptop, Some("P3"), Some(1), Some(false)), // 23 days ago
            asset("LT3", AssetKind::Laptop, None, None, None), // in stock, never seen
            asset("LT4", AssetKind::Laptop, Some("P2"), Some(20), None), // P2's second laptop
            asset(
                "MOB1",
                AssetKind::Smartphone,
                Some("P2"),
                Some(24),
                Some(true),
            ),
        ],
        accounts: vec![
            account(
                "A1",
                "P1",
                "m365",
                AccountKind::Standard,
                Some(false),
                Some(true),
            ),
            account(
                "A2",
                "P1",
                "m365",
                AccountKind::Admin,
                Some(true),
                Some(true),
            ),
            account(
                "A3",
                "P2",
                "m365",
                AccountKind::Standard,
                Some(true),
                Some(false),
            ),
            account("A4", "P2", "legacy", AccountKind::Standard, None, None),
        ],
        ..Estate::default()
    }
}

fn params() -> Vec<(String, ParamValue)> {
    vec![
        ("laptop_offline_days".into(), ParamValue::Int(14)),
        ("watch".into(), ParamValue::List(vec!["FR".into()])),
    ]
}

/// Each case: subject kind, rule, and per subject in id order `P` (passes), `F` (fails) or `E`
/// (cannot be decided).
const CASES: &[(&str, &str, &str)] = &[
    ("asset", r#"asset.kind == "laptop""#, "PPPPF"),
    ("asset", "asset.encrypted == true", "PFFFP"),
    ("asset", "asset.encrypted != false", "PFPPP"),
    (
        "asset",
        "now - asset.last_seen <= days(params.laptop_offline_days)",
        "PFEPP",
    ),
    (
        "asset",
        "asset.last_seen != null && now - asset.last_seen <= days(params.laptop_offline_days)",
        "PFFPP",
    ),
    // CEL's logic absorbs errors where the other side decides, in either order.
    (
        "asset",
        "now - asset.last_seen <= days(14) || asset.holder == null",
        "PFPPP",
    ),
    (
        "asset",
        "asset.holder == null || now - asset.last_seen <= days(14)",
        "PFPPP",
    ),
    (
        "asset",
        "now - asset.last_seen > days(14) && false",
        "FFFFF",
    ),
    ("asset", r#"asset.holder.status == "active""#, "PFEPP"),
    (
        "asset",
        r#"has(asset.holder) && asset.holder.manager.id == "P1""#,
        "PPFPP",
    ),
    ("asset", "asset.cost_gbp < 900.0", "PPPPP"),
    (
        "account",
        r#"account.kind != "standard" || account.admin_rights != true"#,
        "PPFP",
    ),
    (
        "account",
        "account.system.supports_mfa != true || account.mfa == true",
        "PPFP",
    ),
    ("account", r#"account.system_name.startsWith("m3")"#, "PPPF"),
    (
        "person",
        r#"person.assets.filter(a, a.kind == "laptop").size() <= 1"#,
        "PFP",
    ),
    (
        "person",
        r#"person.assets.exists(a, a.kind == "smartphone")"#,
        "FPF",
    ),
    ("person", "person.assets.all(a, a.encrypted == true)", "PFF"),
    (
        "person",
        r#"person.assets.exists_one(a, a.kind == "laptop")"#,
        "FFP",
    ),
    (
        "person",
        r#"person.reports.map(r, r.id) == ["P2", "P3"]"#,
        "PFF",
    ),
    (
        "person",
        r#"person.status != "leaver" || person.assets.size() == 0"#,
        "PPF",
    ),
    (
        "person",
        r#""FR" in params.watch && size(person.accounts) > 1"#,
        "PPF",
    ),
    (
        "person",
        "person.manager == null ? true : person.manager.reports.size() == 2",
        "PPP",
    ),
    (
        "system",
        r#"system.accounts.all(a, a.mfa == true) || system.supports_mfa == false"#,
        "PF",
    ),
];

#[test]
fn rules_decide_as_cel_does() {
    let data = Data::from_estate(&estate());
    let now = ts(24).map(|t| t.timestamp_micros()).unwrap_or_default();
    let today = now - 9 * 3_600_000_000;
    let mut failures = Vec::new();
    for (subject, rule, expected) in CASES {
        let kind = Kind::parse(subject).expect("known kind");
        let program = match compile(rule, kind, &params()) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{rule}: does not compile: {e}"));
                continue;
            }
        };
        let got: String = (0..data.count(kind) as u32)
            .map(|i| match program.evaluate(&data, i, now, today) {
                Ok(true) => 'P',
                Ok(false) => 'F',
                Err(_) => 'E',
            })
            .collect();
        if got != *expected {
            failures.push(format!("{rule}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Rule, subject, expected message fragment, expected (line, column) in the rule.
const BAD: &[(&str, &str, &str, (usize, usize))] = &[
    (
        "asset.colour == \"red\"",
        "asset",
        "asset has no field colour",
        (1, 6),
    ),
    (
        "asset.kind == 3",
        "asset",
        "cannot compare string with int",
        (1, 12),
    ),
    (
        "asset.last_seen < days(14)",
        "asset",
        "cannot order timestamp against duration",
        (1, 17),
    ),
    (
        "now - asset.last_seen <= days(params.offline)",
        "asset",
        "unknown parameter offline",
        (1, 37),
    ),
    (
        "person.kind == \"laptop\"",
        "asset",
        "unknown variable person: this control's subject is asset",
        (1, 1),
    ),
    ("asset.tag", "asset", "a rule must be true or false", (1, 6)),
    ("asset.kind ==", "asset", "syntax error", (1, 14)),
    (
        "person.assets.exists(a,\n  a.colour)",
        "person",
        "asset has no field colour",
        (2, 4),
    ),
    (
        "asset.holder.assets.size() > \"2\"",
        "asset",
        "cannot order int against string",
        (1, 28),
    ),
    (
        "{\"a\": 1}.size() == 1",
        "asset",
        "maps are not part of the rule language",
        (1, 1),
    ),
];

#[test]
fn bad_rules_are_refused_with_a_position() {
    let mut failures = Vec::new();
    for (rule, subject, message, position) in BAD {
        let kind = Kind::parse(subject).expect("known kind");
        match compile(rule, kind, &params()) {
            Ok(_) => failures.push(format!("{rule:?}: compiled")),
            Err(e) => {
                if !e.message.contains(message) {
                    failures.push(format!(
                        "{rule:?}: message {:?} lacks {message:?}",
                        e.message
                    ));
                }
                if e.line_column(rule) != *position {
                    failures.push(format!(
                        "{rule:?}: at {:?}, expected {position:?}",
                        e.line_column(rule)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_demo_estate_evaluates_without_errors_where_rules_guard_nulls() {
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people: 500,
        seed: 3,
        usage_months: 1,
        today: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default(),
    });
    let data = Data::from_estate(&estate);
    let program = compile(
        r#"asset.kind != "laptop" || asset.status != "allocated" || (asset.last_seen != null && now - asset.last_seen <= days(14))"#,
        Kind::Asset,
        &[],
    )
    .expect("compiles");
    let now = ts(24).map(|t| t.timestamp_micros()).unwrap_or_default();
    let results: Vec<_> = (0..data.count(Kind::Asset) as u32)
        .map(|i| program.evaluate(&data, i, now, now))
        .collect();
    assert!(results.iter().all(Result::is_ok));
    let failing = results.iter().filter(|r| matches!(r, Ok(false))).count();
    assert!(
        failing > 0 && failing < results.len() / 4,
        "{failing} of {}",
        results.len()
    );
}

/// Text columns with few distinct words are compared as numbers, others as text: both readings
/// must give what reading each asset on its own gives.
#[test]
fn words_compare_alike_in_columns_of_few_and_of_many_distinct_values() {
    let many: usize = 5_000;
    let estate = Estate {
        people: vec![person("P0", None, PersonStatus::Active)],
        assets: (0..many)
            .map(|i| {
                let kind = if i % 3 == 0 {
                    AssetKind::Laptop
                } else {
                    AssetKind::Smartphone
                };
                asset(
                    &format!("T{i}"),
                    kind,
                    (i % 2 == 0).then_some("P0"),
                    None,
                    None,
                )
            })
            .collect(),
        ..Estate::default()
    };
    let data = Data::from_estate(&estate);
    let now = ts(24).map(|t| t.timestamp_micros()).unwrap_or_default();
    for (rule, expected) in [
        (r#"asset.tag == "T42""#, 1),
        (r#"asset.tag != "T42""#, many - 1),
        (r#"asset.tag in ["T1", "T2", "nowhere"]"#, 2),
        (r#"asset.kind == "laptop""#, many.div_ceil(3)),
        (r#"asset.kind in ["laptop", "tablet"]"#, many.div_ceil(3)),
        (r#"asset.kind == "tablet""#, 0),
        (
            r#"asset.assigned_to == "P0" && asset.kind != "laptop""#,
            1_666,
        ),
    ] {
        let program = compile(rule, Kind::Asset, &[]).expect("compiles");
        let mut together = Vec::new();
        program.evaluate_each(&data, 0..many as u32, now, now, |_, r| together.push(r));
        let alone: Vec<_> = (0..many as u32)
            .map(|i| program.evaluate(&data, i, now, now))
            .collect();
        assert_eq!(together, alone, "{rule}");
        let passing = together.iter().filter(|r| **r == Ok(true)).count();
        assert_eq!(passing, expected, "{rule}");
    }
}

/// Calendar months and years: the rule, and whether it holds (`P`), fails (`F`) or cannot be
/// decided (`E`: out of range). The boundaries of a retention period — the day before, the day,
/// the day after — across month ends and leap years.
const CALENDAR: &[(&str, char)] = &[
    // 120 months from 25 November 2016 end on 25 November 2026, not 3,650 days later.
    (
        r#"timestamp("2016-11-25T00:00:00Z").addMonths(120) == timestamp("2026-11-25T00:00:00Z")"#,
        'P',
    ),
    (
        r#"timestamp("2016-11-25T00:00:00Z") + days(120 * 365 / 12) == timestamp("2026-11-25T00:00:00Z")"#,
        'F',
    ),
    (
        r#"timestamp("2016-11-25T00:00:00Z").addYears(10) == timestamp("2026-11-25T00:00:00Z")"#,
        'P',
    ),
    (
        r#"timestamp("2026-11-24T00:00:00Z") < timestamp("2016-11-25T00:00:00Z").addMonths(120)"#,
        'P',
    ),
    (
        r#"timestamp("2026-11-25T00:00:00Z") < timestamp("2016-11-25T00:00:00Z").addMonths(120)"#,
        'F',
    ),
    (
        r#"timestamp("2026-11-26T00:00:00Z") > timestamp("2016-11-25T00:00:00Z").addMonths(120)"#,
        'P',
    ),
    // The day is clamped to the month's last: 31 January + 1 month.
    (
        r#"timestamp("2026-01-31T00:00:00Z").addMonths(1) == timestamp("2026-02-28T00:00:00Z")"#,
        'P',
    ),
    (
        r#"timestamp("2028-01-31T00:00:00Z").addMonths(1) == timestamp("2028-02-29T00:00:00Z")"#,
        'P',
    ),
    (
        r#"timestamp("2024-02-29T00:00:00Z").addYears(1) == timestamp("2025-02-28T00:00:00Z")"#,
        'P',
    ),
    (
        r#"timestamp("2024-02-29T00:00:00Z").addYears(4) == timestamp("2028-02-29T00:00:00Z")"#,
        'P',
    ),
    (
        r#"timestamp("2026-08-31T00:00:00Z").addMonths(-6) == timestamp("2026-02-28T00:00:00Z")"#,
        'P',
    ),
    // The time of day is kept.
    (
        r#"timestamp("2026-03-31T09:30:00Z").addMonths(1) == timestamp("2026-04-30T09:30:00Z")"#,
        'P',
    ),
    (
        r#"timestamp("2026-01-15T00:00:00Z").addMonths(0) == timestamp("2026-01-15T00:00:00Z")"#,
        'P',
    ),
    // Out of range is an error, not a value.
    (
        r#"timestamp("9999-12-01T00:00:00Z").addMonths(1) > timestamp("2026-01-01T00:00:00Z")"#,
        'E',
    ),
    (
        r#"timestamp("2026-01-01T00:00:00Z").addYears(8000) > timestamp("2026-01-01T00:00:00Z")"#,
        'E',
    ),
    (
        r#"timestamp("2026-01-01T00:00:00Z").addMonths(-24400) < timestamp("2026-01-01T00:00:00Z")"#,
        'E',
    ),
    (
        r#"timestamp("2026-01-01T00:00:00Z").addYears(9223372036854775807) > timestamp("2026-01-01T00:00:00Z")"#,
        'E',
    ),
    // A null timestamp (an asset never seen) is an error its rule must guard.
    (r#"asset.last_seen.addMonths(1) > now"#, 'E'),
];

/// Working days: the rule, and whether it holds on an estate whose bank holidays register holds
/// Christmas and Boxing Day 2026 (a Friday and a Saturday, whose substitute day is Monday 28)
/// and New Year's Day 2027.
const WORKING_DAYS: &[(&str, char)] = &[
    // Friday plus one working day is Monday.
    (
        r#"timestamp("2026-11-20T09:30:00Z").addWorkingDays(1) == timestamp("2026-11-23T09:30:00Z")"#,
        'P',
    ),
    // Three working days from a Thursday: Friday, Monday, Tuesday.
    (
        r#"timestamp("2026-11-19T00:00:00Z").addWorkingDays(3) == timestamp("2026-11-24T00:00:00Z")"#,
        'P',
    ),
    // From a Saturday: Monday is the first.
    (
        r#"timestamp("2026-11-21T00:00:00Z").addWorkingDays(1) == timestamp("2026-11-23T00:00:00Z")"#,
        'P',
    ),
    // Over Christmas: Thursday 24 December plus one is Tuesday 29 (Friday 25 and Monday 28 are
    // holidays, the weekend between).
    (
        r#"timestamp("2026-12-24T00:00:00Z").addWorkingDays(1) == timestamp("2026-12-29T00:00:00Z")"#,
        'P',
    ),
    // Over New Year: Thursday 31 December plus one is Monday 4 January.
    (
        r#"timestamp("2026-12-31T00:00:00Z").addWorkingDays(1) == timestamp("2027-01-04T00:00:00Z")"#,
        'P',
    ),
    // Backwards: Tuesday 29 December minus one is Thursday 24.
    (
        r#"timestamp("2026-12-29T00:00:00Z").addWorkingDays(-1) == timestamp("2026-12-24T00:00:00Z")"#,
        'P',
    ),
    // None: the same instant.
    (
        r#"timestamp("2026-12-25T08:00:00Z").addWorkingDays(0) == timestamp("2026-12-25T08:00:00Z")"#,
        'P',
    ),
    // The day before, the day, the day after a three-working-day deadline.
    (
        r#"timestamp("2026-11-23T23:59:59Z") <= timestamp("2026-11-19T00:00:00Z").addWorkingDays(3)"#,
        'P',
    ),
    (
        r#"timestamp("2026-11-24T00:00:00Z") <= timestamp("2026-11-19T00:00:00Z").addWorkingDays(3)"#,
        'P',
    ),
    (
        r#"timestamp("2026-11-25T00:00:00Z") <= timestamp("2026-11-19T00:00:00Z").addWorkingDays(3)"#,
        'F',
    ),
    // Past the range of a timestamp, or further than any policy counts.
    (
        r#"timestamp("9999-12-31T00:00:00Z").addWorkingDays(1) > now"#,
        'E',
    ),
    (r#"now.addWorkingDays(1000000) > now"#, 'E'),
];

#[test]
fn working_days_skip_weekends_and_the_organisation_s_bank_holidays() {
    let mut with_holidays = estate();
    for (date, title) in [
        ("2026-12-25", "Christmas Day"),
        ("2026-12-28", "Boxing Day (substitute day)"),
        ("2027-01-01", "New Year's Day"),
    ] {
        with_holidays
            .bank_holidays
            .push(steward_model::BankHoliday {
                date: date.parse().expect("date"),
                title: title.into(),
                notes: None,
            });
    }
    let data = Data::from_estate(&with_holidays);
    let now = ts(24).map(|t| t.timestamp_micros()).unwrap_or_default();
    let kind = Kind::parse("asset").expect("known kind");
    let mut failures = decide_table(WORKING_DAYS, &data, 0);
    // Without the register's holidays (the test estate has none), Christmas is a working day
    // like any Friday.
    let plain = Data::from_estate(&estate());
    let christmas = compile(
        r#"timestamp("2026-12-24T00:00:00Z").addWorkingDays(1) == timestamp("2026-12-25T00:00:00Z")"#,
        kind,
        &params(),
    )
    .expect("compiles");
    if christmas.evaluate(&plain, 0, now, now) != Ok(true) {
        failures.push("without holidays, 24 December plus one is 25 December".into());
    }
    for bad in [
        "asset.tag.addWorkingDays(1) == asset.tag",
        r#"now.addWorkingDays("1") > now"#,
        "now.addWorkingDays(1.5) > now",
    ] {
        if compile(bad, kind, &params()).is_ok() {
            failures.push(format!("{bad}: compiles"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Each rule of `table` over asset `subject` of `data` on day 24: whether it holds (`P`), fails
/// (`F`) or cannot be decided (`E`), against what the table expects; the differences, in words.
fn decide_table(table: &[(&str, char)], data: &Data, subject: u32) -> Vec<String> {
    let now = ts(24).map(|t| t.timestamp_micros()).unwrap_or_default();
    let kind = Kind::parse("asset").expect("known kind");
    let mut failures = Vec::new();
    for (rule, expected) in table {
        let got = match compile(rule, kind, &params()) {
            Err(e) => format!("does not compile: {e}"),
            Ok(p) => match p.evaluate(data, subject, now, now) {
                Ok(true) => "P".into(),
                Ok(false) => "F".into(),
                Err(_) => "E".into(),
            },
        };
        if got != expected.to_string() {
            failures.push(format!("{rule}: expected {expected}, got {got}"));
        }
    }
    failures
}

#[test]
fn calendar_months_and_years_are_counted_on_the_calendar() {
    let data = Data::from_estate(&estate());
    let kind = Kind::parse("asset").expect("known kind");
    // Asset 2 (index 2) has never been seen: the last case reads it.
    let mut failures = decide_table(CALENDAR, &data, 2);
    // Only timestamps move by months, and only by a whole number of them.
    for bad in [
        "asset.tag.addMonths(1) == asset.tag",
        r#"now.addMonths("1") > now"#,
        "now.addYears(1.5) > now",
    ] {
        if compile(bad, kind, &params()).is_ok() {
            failures.push(format!("{bad}: compiles"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// An estate read kind by kind on a few threads (as from a database) is the estate laid out at
/// once: every field and every relation of every object shows the same, the objects in id order
/// however the rows came, and a kind that cannot be read fails the whole read.
#[test]
fn an_estate_read_side_by_side_is_the_estate_laid_out_at_once() {
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people: 300,
        seed: 5,
        usage_months: 1,
        today: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default(),
    });
    let whole = Data::from_estate(&estate);
    // Each kind's rows handed over in id order, or scrambled: the odd places first, backwards,
    // then the even ones.
    let read_in = |scrambled: bool| {
        Data::read_side_by_side(
            |kind| estate.rows(kind.register()).len(),
            |kind, _, each| {
                let mut rows = estate.rows(kind.register());
                rows.sort_by(|a, b| a.id().as_bytes().cmp(b.id().as_bytes()));
                if scrambled {
                    let places: Vec<usize> = (1..rows.len())
                        .step_by(2)
                        .rev()
                        .chain((0..rows.len()).step_by(2))
                        .collect();
                    let mut given: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
                    rows = places
                        .into_iter()
                        .filter_map(|i| given.get_mut(i).and_then(Option::take))
                        .collect();
                }
                for row in rows {
                    each(&mut row.into_values());
                }
                Ok::<_, String>(())
            },
            steward_rules::Reads::every(),
        )
        .expect("read")
    };
    let now = ts(24).map(|t| t.timestamp_micros()).unwrap_or_default();
    let mut shown = 0;
    for read in [read_in(false), read_in(true)] {
        for kind in Kind::ALL {
            assert_eq!(whole.count(kind), read.count(kind), "{kind:?}");
            let ids: Vec<&str> = (0..read.count(kind) as u32)
                .map(|i| read.id(kind, i))
                .collect();
            assert!(
                ids.windows(2).all(|w| w[0].as_bytes() <= w[1].as_bytes()),
                "{kind:?} out of id order"
            );
            let place: HashMap<&str, u32> = (0..whole.count(kind) as u32)
                .map(|i| (whole.id(kind, i), i))
                .collect();
            let paths = kind
                .fields()
                .into_iter()
                .chain(kind.relations())
                .map(|(name, _)| format!("{}.{name}", kind.name()));
            for path in paths {
                let program = steward_rules::compile_expression(&path, kind, &[])
                    .unwrap_or_else(|e| panic!("{path}: {e}"));
                for (i, id) in ids.iter().enumerate() {
                    let Some(&w) = place.get(id) else {
                        panic!("{kind:?} {id} read but not in the estate");
                    };
                    assert_eq!(
                        program.display(&whole, w, now, now),
                        program.display(&read, i as u32, now, now),
                        "{path} of {id}"
                    );
                    shown += 1;
                }
            }
        }
    }
    assert!(shown > 20_000, "only {shown} values compared");
    let failed = Data::read_side_by_side(
        |_| 1,
        |kind, _, each| match kind {
            Kind::Usage => Err(format!("{} cannot be read", kind.name())),
            _ => {
                estate
                    .rows(kind.register())
                    .into_iter()
                    .for_each(|row| each(&mut row.into_values()));
                Ok(())
            }
        },
        steward_rules::Reads::every(),
    );
    assert_eq!(failed.err().as_deref(), Some("usage cannot be read"));
}

/// `lowerAscii()` then `startsWith`, `endsWith` or `contains`, decided without lowering a copy:
/// what lowering the text and testing it says, over text with capitals, letters outside ASCII
/// (which `lowerAscii` leaves alone) and no text at all, against a constant and a field.
#[test]
fn tests_of_lowered_text_say_what_lowering_then_testing_says() {
    use proptest::prelude::*;
    let alphabet = prop::sample::select(vec!["a", "A", "é", "É", "ß", ".", "@", "x", "X"]);
    let text = proptest::collection::vec(alphabet, 0..6).prop_map(|cs| cs.concat());
    let models = proptest::collection::vec(proptest::option::of(text.clone()), 1..12);
    let mut runner = proptest::test_runner::TestRunner::default();
    let outcome = runner.run(&(models, text.clone(), text), |(models, x, serial)| {
        let estate = Estate {
            assets: models
                .iter()
                .enumerate()
                .map(|(i, model)| Asset {
                    model: model.clone(),
                    serial: Some(serial.clone()),
                    ..asset(&format!("T{i}"), AssetKind::Laptop, None, None, None)
                })
                .collect(),
            ..Estate::default()
        };
        let data = Data::from_estate(&estate);
        // The alphabet has no quote or backslash to escape.
        let quoted = format!("\"{x}\"");
        type Holds = fn(&str, &str) -> bool;
        let tests: [(&str, Holds); 3] = [
            ("startsWith", |s, x| s.starts_with(x)),
            ("endsWith", |s, x| s.ends_with(x)),
            ("contains", |s, x| s.contains(x)),
        ];
        for (function, holds) in tests {
            for (against, value) in [
                (quoted.as_str(), x.as_str()),
                ("asset.serial", serial.as_str()),
            ] {
                let rule = format!("asset.model.lowerAscii().{function}({against})");
                let program = compile(&rule, Kind::Asset, &[])
                    .map_err(|e| TestCaseError::fail(format!("{rule}: {e}")))?;
                let mut together = Vec::new();
                program.evaluate_each(&data, 0..models.len() as u32, 0, 0, |_, r| together.push(r));
                prop_assert_eq!(together.len(), models.len());
                for ((i, model), decided) in models.iter().enumerate().zip(together) {
                    let got = program.evaluate(&data, i as u32, 0, 0);
                    prop_assert_eq!(&decided, &got, "{}: together and alone", rule);
                    let expected = model
                        .as_ref()
                        .map(|m| holds(&m.to_ascii_lowercase(), value));
                    prop_assert_eq!(got.ok(), expected, "{} on {:?}", rule, model);
                }
            }
        }
        Ok(())
    });
    assert!(outcome.is_ok(), "{outcome:?}");
}
