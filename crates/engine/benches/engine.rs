//! The whole `cafcass-it-5.0` pack evaluated over demo organisations of 1k, 10k and 100k people
//! (twelve months of phone usage each), excluding loading: `cargo bench -p steward-engine`.

use std::hint::black_box;

use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use steward_engine::{At, Engine};
use steward_rules::Data;

fn whole_pack(c: &mut Criterion) {
    let pack = match steward_policy::builtin_pack("cafcass-it-5.0") {
        Some(Ok(pack)) => pack,
        _ => panic!("the built-in pack loads"),
    };
    let params = pack
        .parameters
        .values()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    let engine = Engine::new(&[(&pack, params)]).expect("the pack compiles");
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
    let at = At {
        now: Utc
            .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
            .single()
            .unwrap_or_default(),
        today,
    };
    let mut group = c.benchmark_group("cafcass-it-5.0, whole estate");
    group.sample_size(10);
    for people in [1_000, 10_000, 100_000] {
        let estate = steward_demo::generate(&steward_demo::DemoOptions {
            people,
            seed: 1,
            usage_months: 12,
            today,
        });
        eprintln!(
            "{people} people: {} assets, {} accounts, {} usage rows, {} sightings",
            estate.assets.len(),
            estate.accounts.len(),
            estate.usage.len(),
            estate.sightings.len()
        );
        let data = Data::from_estate(&estate);
        group.bench_with_input(BenchmarkId::from_parameter(people), &data, |b, data| {
            b.iter(|| black_box(engine.evaluate(data, at).len()))
        });
    }
    group.finish();
}

criterion_group!(benches, whole_pack);
criterion_main!(benches);
