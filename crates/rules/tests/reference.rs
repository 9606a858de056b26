//! The compiled closures against the `cel` crate's interpreter, the reference: random estates and
//! random rules from the supported grammar must give the same outcome — pass, fail, or cannot be
//! decided — for every subject.
//!
//! `has()` is left out: on the interpreter's maps it tests that a key exists, which every schema
//! field always does; in Steward it tests that the value is known.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use steward_model::*;
use steward_rules::{Data, Kind, compile};

const NOW: i64 = 1_795_510_800; // 2026-11-24T09:00:00Z

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).single().unwrap_or_default()
}

// ---- random estates -------------------------------------------------------------------------

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop_oneof![1 => Just(None), 3 => s.prop_map(Some)].boxed()
}

fn people(n: usize) -> impl Strategy<Value = Vec<Person>> {
    let statuses = prop_oneof![
        Just(PersonStatus::Active),
        Just(PersonStatus::Leaver),
        Just(PersonStatus::Absent)
    ];
    let left = opt((0u32..60).prop_map(|d| {
        NaiveDate::from_ymd_opt(2026, 10, 1).map(|day| day + chrono::Days::new(u64::from(d)))
    }));
    proptest::collection::vec((statuses, opt(any::<bool>()), left), n).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (status, byod, leave_date))| Person {
                id: format!("P{i}"),
                name: format!("Person {i}"),
                email: None,
                staff_group: "fca".into(),
                manager_id: (i > 0).then(|| "P0".to_owned()),
                budget_centre: None,
                status,
                start_date: NaiveDate::from_ymd_opt(2020, 1, 1),
                leave_date: leave_date.flatten(),
                clearance: None,
                clearance_expires: None,
                byod,
                weekly_digest: None,
                job_title: None,
                source: None,
                source_seen: None,
                missing_since: None,
            })
            .collect()
    })
}

fn assets(n: usize, holders: usize) -> impl Strategy<Value = Vec<Asset>> {
    let kinds = prop_oneof![
        Just(AssetKind::Laptop),
        Just(AssetKind::Smartphone),
        Just(AssetKind::UsbStick)
    ];
    let row = (
        kinds,
        opt(0..holders.max(1)),
        opt(any::<bool>()),
        opt(0i64..40),
        opt(0i64..200_000),
    );
    proptest::collection::vec(row, n).prop_map(move |rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (kind, holder, encrypted, days_ago, pence))| Asset {
                tag: format!("T{i}"),
                kind,
                model: None,
                serial: None,
                ownership: Ownership::Organisation,
                status: AssetStatus::Allocated,
                assigned_to: holder.filter(|_| holders > 0).map(|h| format!("P{h}")),
                assigned_on: None,
                budget_centre: None,
                cost_gbp: pence.map(Pence),
                encrypted,
                pin_set: None,
                hotspot_password_set: None,
                last_seen: days_ago.map(|d| now() - Duration::days(d) - Duration::hours(1)),
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
            })
            .collect()
    })
}

fn estate() -> impl Strategy<Value = Estate> {
    (0usize..4, 0usize..6).prop_flat_map(|(p, a)| {
        (people(p), assets(a, p)).prop_map(|(people, assets)| Estate {
            people,
            assets,
            ..Estate::default()
        })
    })
}

// ---- random rules ---------------------------------------------------------------------------

fn atom(x: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        prop_oneof![Just("laptop"), Just("smartphone"), Just("usb_stick")].prop_flat_map(
            move |k| prop_oneof![
                Just(format!("{x}.kind == \"{k}\"")),
                Just(format!("{x}.kind != \"{k}\""))
            ]
        ),
        prop_oneof![Just("true"), Just("false"), Just("null")].prop_flat_map(move |v| prop_oneof![
            Just(format!("{x}.encrypted == {v}")),
            Just(format!("{x}.encrypted != {v}"))
        ]),
        Just(format!("{x}.encrypted")),
        (1i64..30).prop_map(move |n| format!("now - {x}.last_seen <= days({n})")),
        Just(format!("{x}.last_seen != null")),
        (0i64..2000).prop_map(move |n| format!("{x}.cost_gbp < {n}.0")),
        Just(format!("{x}.tag.startsWith(\"T1\")")),
        // The same comparisons written the other way round, and lists of words.
        (1i64..30).prop_map(move |n| format!("days({n}) > now - {x}.last_seen")),
        Just(format!("now >= {x}.last_seen")),
        (0i64..2000).prop_map(move |n| format!("{n}.0 <= {x}.cost_gbp")),
        Just(format!("{x}.kind in [\"laptop\", \"usb_stick\"]")),
        Just(format!("null != {x}.last_seen")),
        // Functions of one field of few words (null among them), decided once per word.
        Just(format!("{x}.kind.endsWith(\"stick\")")),
        Just(format!("{x}.assigned_to.startsWith(\"P1\")")),
        Just(format!("size({x}.kind) > 8")),
    ]
    .boxed()
}

/// A field of the asset's holder or of the holder's manager against a constant.
fn holder_atom() -> BoxedStrategy<String> {
    let who = prop_oneof![Just("asset.holder"), Just("asset.holder.manager")];
    (who, 0usize..8, 1i64..90)
        .prop_map(|(x, n, days)| match n {
            0 => format!("{x}.status in [\"active\", \"absent\"]"),
            1 => format!("{x}.status != \"leaver\""),
            2 => format!("{x}.byod == true"),
            3 => format!("{x}.byod != null"),
            4 => format!("{x}.byod"),
            5 => format!("{x}.leave_date < now"),
            6 => format!("now - {x}.leave_date <= days({days})"),
            _ => format!("null == {x}.leave_date"),
        })
        .boxed()
}

fn asset_rule() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => atom("asset"),
        1 => Just("asset.holder == null".to_owned()),
        // A relation reached through another, either way round: undecided where the first
        // leads nowhere.
        1 => prop_oneof![Just("asset.holder.manager == null"), Just("null != asset.holder.manager")].prop_map(str::to_owned),
        1 => prop_oneof![Just("active"), Just("leaver")].prop_map(|s| format!("asset.holder.status == \"{s}\"")),
        // Fields reached through relations to one object: the holder's, the holder's manager's.
        1 => holder_atom(),
        1 => atom("a").prop_map(|p| format!("asset.holder.assets.exists(a, {p})")),
        1 => atom("a").prop_map(|p| format!("asset.holder.assets.all(a, {p})")),
        // Over a list of words, the variable standing for each word in turn.
        1 => (prop_oneof![Just("exists"), Just("all")], prop_oneof![Just("[]"), Just("[\"laptop\"]"), Just("[\"laptop\", \"usb_stick\"]")])
            .prop_map(|(m, list)| format!("{list}.{m}(k, asset.kind == k || asset.holder.assets.exists(a, a.kind == k && a.encrypted))")),
        // A predicate that speaks of the subject too, not of its variable alone.
        1 => atom("a").prop_map(|p| format!("asset.holder.assets.exists(a, {p} && a.tag != asset.tag)")),
        // …each way of joining it, for `exists` and for `all`.
        1 => (atom("a"), atom("a"), prop_oneof![Just("exists"), Just("all")], prop_oneof![Just("||"), Just("&&")])
            .prop_map(|(p, q, m, join)| format!("asset.holder.assets.{m}(a, {p} {join} a.tag == asset.tag {join} {q})")),
        1 => (atom("a"), 0i64..3).prop_map(|(p, n)| format!("asset.holder.assets.filter(a, {p}).size() == {n}")),
        // Counts compared with counts and sums, either way round, as the one-device-per-person
        // checks compare them.
        1 => (atom("a"), atom("b"), 0i64..2, prop_oneof![Just("<="), Just(">"), Just("!="), Just("<")])
            .prop_map(|(p, q, n, cmp)| format!("asset.holder.assets.filter(a, {p}).size() {cmp} {n} + size(asset.holder.assets.filter(b, {q}))")),
        1 => (atom("a"), 0i64..3).prop_map(|(p, n)| format!("{n} >= asset.holder.assets.filter(a, {p}).size()")),
        1 => (0i64..3).prop_map(|n| format!("asset.holder.assets.size() > {n}")),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) && ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) || ({b})")),
            inner.clone().prop_map(|a| format!("!({a})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("({c}) ? ({a}) : ({b})")),
        ]
    })
}

// ---- the reference --------------------------------------------------------------------------

fn cel_value(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Text(s) => cel::Value::String(s.clone().into()),
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Date(d) => d.and_hms_opt(0, 0, 0).map_or(cel::Value::Null, |t| {
            cel::Value::Timestamp(t.and_utc().fixed_offset())
        }),
        Value::Timestamp(t) => cel::Value::Timestamp(t.fixed_offset()),
        Value::Money(p) => cel::Value::Float(p.0 as f64 / 100.0),
        Value::Int(i) => cel::Value::Int(*i),
    }
}

fn fields(row: &Row) -> HashMap<String, cel::Value> {
    row.register()
        .fields()
        .iter()
        .zip(row.values())
        .map(|(f, v)| (f.name.to_owned(), cel_value(v)))
        .collect()
}

/// An asset as the interpreter sees it: its fields, its holder with the holder's manager and
/// assets.
fn asset_map(estate: &Estate, asset: &Asset) -> cel::Value {
    let mut map = fields(&asset.to_row());
    let holder = asset
        .assigned_to
        .as_ref()
        .and_then(|id| estate.people.iter().find(|p| &p.id == id));
    let holder = match holder {
        Some(p) => {
            let mut person = fields(&p.to_row());
            let manager = p
                .manager_id
                .as_ref()
                .and_then(|id| estate.people.iter().find(|m| &m.id == id))
                .map_or(cel::Value::Null, |m| cel::Value::from(fields(&m.to_row())));
            person.insert("manager".into(), manager);
            let held: Vec<cel::Value> = estate
                .assets
                .iter()
                .filter(|a| a.assigned_to.as_deref() == Some(p.id.as_str()))
                .map(|a| cel::Value::from(fields(&a.to_row())))
                .collect();
            person.insert("assets".into(), cel::Value::List(held.into()));
            cel::Value::from(person)
        }
        None => cel::Value::Null,
    };
    map.insert("holder".into(), holder);
    cel::Value::from(map)
}

fn reference(rule: &str, estate: &Estate, asset: &Asset) -> char {
    let Ok(program) = cel::Program::compile(rule) else {
        return '!';
    };
    let mut context = cel::Context::default();
    context.add_variable_from_value("asset", asset_map(estate, asset));
    context.add_variable_from_value("now", cel::Value::Timestamp(now().fixed_offset()));
    if context
        .add_function("days", |n: i64| Duration::days(n))
        .is_err()
    {
        return '!';
    }
    match program.execute(&context) {
        Ok(cel::Value::Bool(true)) => 'P',
        Ok(cel::Value::Bool(false)) => 'F',
        _ => 'E',
    }
}

/// Every asset's outcome, decided together as `steward check` decides them; and each on its own,
/// which must agree.
fn ours(rule: &str, data: &Data, count: usize) -> String {
    let Ok(program) = compile(rule, Kind::Asset, &[]) else {
        return "!".repeat(count);
    };
    let letter = |r: Result<bool, _>| match r {
        Ok(true) => 'P',
        Ok(false) => 'F',
        Err(_) => 'E',
    };
    let mut together = String::new();
    let now = NOW * 1_000_000;
    program.evaluate_each(data, 0..count as u32, now, now, |_, r| {
        together.push(letter(r))
    });
    let alone: String = (0..count as u32)
        .map(|i| letter(program.evaluate(data, i, now, now)))
        .collect();
    assert_eq!(together, alone, "{rule}: together and one at a time");
    together
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_rules_agree_with_the_interpreter(estate in estate(), rule in asset_rule()) {
        let data = Data::from_estate(&estate);
        let got: Vec<char> = ours(&rule, &data, estate.assets.len()).chars().collect();
        for (asset, got) in estate.assets.iter().zip(got) {
            let expected = reference(&rule, &estate, asset);
            prop_assert_eq!(got, expected, "rule {} on asset {:?}", rule, asset);
            prop_assert_ne!(expected, '!', "reference could not run {}", rule);
        }
    }
}

#[test]
fn the_reference_harness_decides_all_three_ways() {
    let estate = Estate {
        people: vec![Person {
            id: "P0".into(),
            name: "A".into(),
            email: None,
            staff_group: "fca".into(),
            manager_id: None,
            budget_centre: None,
            status: PersonStatus::Active,
            start_date: None,
            leave_date: None,
            clearance: None,
            clearance_expires: None,
            byod: None,
            weekly_digest: None,
            job_title: None,
            source: None,
            source_seen: None,
            missing_since: None,
        }],
        assets: vec![],
        ..Estate::default()
    };
    let mut estate = estate;
    let base = Asset {
        tag: "T0".into(),
        kind: AssetKind::Laptop,
        model: None,
        serial: None,
        ownership: Ownership::Organisation,
        status: AssetStatus::Allocated,
        assigned_to: Some("P0".into()),
        assigned_on: None,
        budget_centre: None,
        cost_gbp: None,
        encrypted: Some(true),
        pin_set: None,
        hotspot_password_set: None,
        last_seen: Some(now() - Duration::days(3)),
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
    };
    estate.assets.push(base.clone());
    estate.assets.push(Asset {
        tag: "T1".into(),
        last_seen: Some(now() - Duration::days(20)),
        encrypted: None,
        ..base.clone()
    });
    estate.assets.push(Asset {
        tag: "T2".into(),
        last_seen: None,
        assigned_to: None,
        ..base
    });
    let data = Data::from_estate(&estate);
    for (rule, expected) in [
        ("now - asset.last_seen <= days(14)", "PFE"),
        (
            "asset.encrypted == true && asset.holder.assets.size() == 2",
            "PFE",
        ),
        ("asset.holder.status == \"active\"", "PPE"),
    ] {
        let theirs: String = estate
            .assets
            .iter()
            .map(|a| reference(rule, &estate, a))
            .collect();
        let mine = ours(rule, &data, 3);
        assert_eq!(theirs, expected, "reference on {rule}");
        assert_eq!(mine, expected, "compiled on {rule}");
    }
}
