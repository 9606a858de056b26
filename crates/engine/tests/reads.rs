//! An estate laid out with only the fields a pack's checks read gives exactly the findings of
//! the whole estate, for every built-in pack; and a change is said to touch exactly the checks
//! that read what it changed.

use chrono::{NaiveDate, TimeZone as _, Utc};
use steward_engine::{At, Engine};
use steward_model::Register;
use steward_rules::{Data, Kind, Reads};

fn at() -> At {
    At {
        now: Utc
            .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
            .single()
            .expect("a time"),
        today: NaiveDate::from_ymd_opt(2026, 11, 24).expect("a date"),
    }
}

fn engine(pack: &steward_policy::Pack) -> Engine {
    let params = pack
        .parameters
        .values()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    Engine::new(&[(pack, params)]).expect("the pack compiles")
}

fn estate() -> steward_model::Estate {
    steward_demo::generate(&steward_demo::DemoOptions {
        people: 300,
        seed: 11,
        usage_months: 2,
        today: at().today,
    })
}

fn registers(estate: &steward_model::Estate) -> Vec<(Register, Vec<steward_model::Row>)> {
    Register::ALL
        .iter()
        .map(|r| (*r, estate.rows(*r)))
        .collect()
}

#[test]
fn the_fields_a_pack_reads_give_the_findings_of_the_whole_estate() {
    let packs = steward_policy::builtin().expect("the built-in packs load");
    assert!(packs.len() >= 5, "every built-in pack");
    let estate = estate();
    let whole = Data::from_estate(&estate);
    let mut compared = 0;
    for pack in &packs {
        let engine = engine(pack);
        let reads = engine.reads();
        // Not everything: otherwise this test would compare the whole with itself.
        let unread = Kind::ALL
            .iter()
            .map(|k| reads.of(*k).iter().filter(|r| !**r).count())
            .sum::<usize>();
        assert!(unread > 0, "{} reads every field of every kind", pack.id);
        let some = Data::from_registers_reading(registers(&estate), reads.clone());
        assert!(some.lays_out(&reads));
        assert!(!some.lays_out(&Reads::every()));
        let expected = engine.evaluate(&whole, at());
        let found = engine.evaluate(&some, at());
        assert!(!expected.is_empty(), "{} fails somewhere", pack.id);
        assert_eq!(found, expected, "{}", pack.id);
        compared += expected.len();
    }
    assert!(compared > 1_000, "only {compared} findings compared");
}

#[test]
fn a_change_touches_the_checks_that_read_what_it_changed() {
    let pack = steward_policy::builtin_pack("cafcass-it-5.0")
        .expect("a built-in pack")
        .expect("it loads");
    let engine = engine(&pack);
    let controls = |changed: &Reads| -> Vec<String> {
        engine
            .touched_by(changed)
            .controls()
            .map(str::to_owned)
            .collect()
    };
    let field = |kind: Kind, name: &str| {
        let mut r = Reads::default();
        r.insert_named(kind, name);
        r
    };
    assert!(controls(&Reads::default()).is_empty(), "nothing changed");
    assert_eq!(
        controls(&Reads::every()).len(),
        engine.len(),
        "everything changed"
    );

    // A laptop's encryption: the checks that read it, not those about accounts or training.
    let encrypted = controls(&field(Kind::Asset, "encrypted"));
    assert!(!encrypted.is_empty());
    assert!(encrypted.len() < engine.len() / 4, "{encrypted:?}");
    let whole = Data::from_estate(&estate());
    for run in engine
        .touched_by(&field(Kind::Asset, "encrypted"))
        .batches(&whole, at())
    {
        assert!(encrypted.contains(&run.control));
    }
    // A field no check reads touches none.
    let unread = Kind::Asset
        .register()
        .fields()
        .iter()
        .enumerate()
        .find(|(i, _)| !engine.reads().reads(Kind::Asset, *i))
        .map(|(_, f)| f.name)
        .expect("a field of assets no check reads");
    assert!(controls(&field(Kind::Asset, unread)).is_empty(), "{unread}");
    // A person's holding reaches the checks of people through their assets as well as those of
    // assets: a new asset touches every check of assets and more.
    let mut created = Reads::default();
    created.insert_kind(Kind::Asset);
    let of_assets = controls(&created);
    assert!(encrypted.iter().all(|c| of_assets.contains(c)));
    assert!(
        of_assets.len() > encrypted.len(),
        "{} against {}",
        of_assets.len(),
        encrypted.len()
    );
}

/// A check that decides each subject alone ([`Engine::decides_each_alone`]) finds over an estate
/// holding only some objects of its kind exactly what it finds about them over the whole estate:
/// what lets a run after a change read only the objects changed. Checks that reach other objects
/// of their own kind (a person's manager, their reports) are not said to, and some of them do
/// find otherwise.
#[test]
fn a_check_deciding_each_subject_alone_finds_the_same_over_some_of_its_subjects() {
    let packs = steward_policy::builtin().expect("the built-in packs load");
    let estate = estate();
    let whole = Data::from_estate(&estate);
    let (mut alone, mut not_alone, mut otherwise) = (0, 0, 0);
    for pack in &packs {
        let params: Vec<_> = pack
            .parameters
            .values()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        for control in engine(pack).controls() {
            let check = Engine::only(pack, control, params.clone()).expect("it compiles");
            let Some(kind) = check.batches(&whole, at()).next().map(|run| run.kind) else {
                continue;
            };
            // Every third object of its kind.
            let some: Vec<steward_model::Row> = estate
                .rows(kind.register())
                .into_iter()
                .step_by(3)
                .collect();
            let ids: std::collections::BTreeSet<String> =
                some.iter().map(|r| r.id().to_owned()).collect();
            let part = Data::from_register_rows(|register| {
                if register == kind.register() {
                    some.clone()
                } else {
                    estate.rows(register)
                }
            });
            let expected: Vec<_> = check
                .evaluate(&whole, at())
                .into_iter()
                .filter(|f| ids.contains(&f.subject.id))
                .collect();
            let found = check.evaluate(&part, at());
            if check.decides_each_alone(kind) {
                assert_eq!(found, expected, "{}: {control}", pack.id);
                alone += 1;
            } else {
                not_alone += 1;
                otherwise += usize::from(found != expected);
            }
        }
    }
    assert!(alone > 50, "only {alone} checks decide each subject alone");
    assert!(not_alone > 0, "every check decides each subject alone");
    assert!(
        otherwise > 0,
        "no check reaching its own kind finds otherwise over some"
    );
}
