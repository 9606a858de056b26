//! Per-record cost of one four-term rule three ways — hand-written Rust, the compiled closures, the
//! `cel` interpreter — in one run so the ratios hold on a noisy machine; and a whole estate checked
//! against a set of representative rules at 1k, 10k and 100k people.
//!
//! `cargo bench -p steward-rules` (figures in BENCHMARKS.md).

use std::hint::black_box;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use steward_model::{AssetKind, AssetStatus, Estate, Record};
use steward_rules::{Data, Kind, ParamValue, compile};

const RULE: &str = r#"asset.kind == "laptop" && asset.status == "allocated" && asset.encrypted == true && now - asset.last_seen <= days(14)"#;

fn estate(people: usize) -> Estate {
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
    steward_demo::generate(&steward_demo::DemoOptions {
        people,
        seed: 1,
        usage_months: 12,
        today,
    })
}

fn per_record(c: &mut Criterion) {
    let estate = estate(10_000);
    let data = Data::from_estate(&estate);
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .unwrap_or_default();
    let now_micros = now.timestamp_micros();
    let n = estate.assets.len();
    let mut group = c.benchmark_group("one rule, per asset");
    group.throughput(Throughput::Elements(n as u64));

    group.bench_function("hand-written Rust", |b| {
        b.iter(|| {
            let limit = Duration::days(14);
            estate
                .assets
                .iter()
                .filter(|a| {
                    a.kind == AssetKind::Laptop
                        && a.status == AssetStatus::Allocated
                        && a.encrypted == Some(true)
                        && a.last_seen.is_some_and(|seen| now - seen <= limit)
                })
                .count()
        })
    });

    let program = compile(RULE, Kind::Asset, &[]).expect("the rule compiles");
    // As `steward check` runs a rule: over every subject of its kind at once.
    group.bench_function("compiled", |b| {
        b.iter(|| {
            let mut passing = 0usize;
            program.evaluate_each(&data, 0..n as u32, now_micros, now_micros, |_, r| {
                passing += usize::from(r == Ok(true));
            });
            passing
        })
    });
    // One subject at a time, as a single request would.
    group.bench_function("compiled, one subject per call", |b| {
        b.iter(|| {
            (0..n as u32)
                .filter(|&i| program.evaluate(&data, i, now_micros, now_micros) == Ok(true))
                .count()
        })
    });

    // The interpreter reads maps; building them is left out of the timing.
    let maps: Vec<cel::Value> = estate
        .assets
        .iter()
        .map(|a| {
            let row = a.to_row();
            let map: std::collections::HashMap<String, cel::Value> = row
                .register()
                .fields()
                .iter()
                .zip(row.values())
                .map(|(f, v)| {
                    let value = match v {
                        steward_model::Value::Null => cel::Value::Null,
                        steward_model::Value::Text(s) => cel::Value::String(s.clone().into()),
                        steward_model::Value::Bool(b) => cel::Value::Bool(*b),
                        steward_model::Value::Timestamp(t) => {
                            cel::Value::Timestamp(t.fixed_offset())
                        }
                        other => cel::Value::String(other.to_text().into()),
                    };
                    (f.name.to_owned(), value)
                })
                .collect();
            cel::Value::from(map)
        })
        .collect();
    let interpreted = cel::Program::compile(RULE).expect("the rule parses");
    group.bench_function("cel interpreter", |b| {
        b.iter(|| {
            maps.iter()
                .filter(|asset| {
                    let mut context = cel::Context::default();
                    context.add_variable_from_value("asset", (*asset).clone());
                    context
                        .add_variable_from_value("now", cel::Value::Timestamp(now.fixed_offset()));
                    let _ = context.add_function("days", |n: i64| Duration::days(n));
                    matches!(interpreted.execute(&context), Ok(cel::Value::Bool(true)))
                })
                .count()
        })
    });
    group.finish();
}

/// Representative rules of a pack, over every subject of their kind.
const ESTATE_RULES: &[(&str, &str)] = &[
    (
        "asset",
        r#"asset.kind != "laptop" || asset.status != "allocated" || (asset.last_seen != null && now - asset.last_seen <= days(params.offline_days))"#,
    ),
    (
        "asset",
        r#"asset.kind != "laptop" || asset.ownership != "organisation" || (asset.encrypted == true && asset.pin_set == true)"#,
    ),
    (
        "asset",
        r#"asset.ownership != "personal" || asset.pending_patch_since == null || now - asset.pending_patch_since <= days(14)"#,
    ),
    (
        "asset",
        r#"asset.status != "allocated" || (asset.holder != null && asset.holder.status != "leaver")"#,
    ),
    (
        "account",
        r#"account.kind != "standard" || account.admin_rights != true"#,
    ),
    (
        "account",
        r#"account.system.supports_mfa != true || account.mfa == true"#,
    ),
    (
        "account",
        r#"account.person == null || account.person.status != "leaver" || account.status != "active""#,
    ),
    (
        "person",
        r#"person.assets.filter(a, a.kind == "laptop" && a.ownership == "organisation").size() <= 1"#,
    ),
    (
        "person",
        r#"person.status != "leaver" || person.assets.all(a, a.ownership == "personal")"#,
    ),
    (
        "person",
        r#"person.accounts.filter(a, a.admin_rights == true).all(a, a.kind == "admin")"#,
    ),
];

fn whole_estate(c: &mut Criterion) {
    let params = vec![("offline_days".to_owned(), ParamValue::Int(14))];
    let programs: Vec<_> = ESTATE_RULES
        .iter()
        .map(|(kind, rule)| {
            compile(rule, Kind::parse(kind).expect("kind"), &params).expect("compiles")
        })
        .collect();
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .unwrap_or_default()
        .timestamp_micros();
    let mut group = c.benchmark_group("ten rules, whole estate");
    group.sample_size(10);
    for people in [1_000, 10_000, 100_000] {
        let data = Data::from_estate(&estate(people));
        group.bench_with_input(BenchmarkId::from_parameter(people), &data, |b, data| {
            b.iter(|| {
                let mut failing = 0usize;
                for p in &programs {
                    let all = 0..data.count(p.subject()) as u32;
                    p.evaluate_each(data, all, now, now, |_, r| {
                        failing += usize::from(r != Ok(true));
                    });
                }
                black_box(failing)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, per_record, whole_estate);
criterion_main!(benches);
