//! An estate laid out with only the fields a pack's checks read gives exactly the findings of
//! the whole estate, for every built-in pack; and a change is said to touch exactly the checks
//! that read what it changed.

use chrono::{NaiveDate, TimeZone as _, Utc};
use std::collections::{BTreeMap, BTreeSet};
use steward_engine::{At, Engine};

use steward_model::{Finding, Register, Row, Value};
use steward_rules::{Data, Find, Kind, Neighbourhood, Reads, Touched};

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
        // Nor every relation: those it follows are the only ones resolved.
        assert!(
            reads.relations_followed() < Reads::every().relations_followed(),
            "{} follows every relation",
            pack.id
        );
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

/// Finds objects among rows held in memory, as the store does among its tables.
struct Held<'a>(&'a BTreeMap<Register, Vec<Row>>);

impl Find for Held<'_> {
    type Error = std::convert::Infallible;

    fn find(
        &mut self,
        kind: Kind,
        field: &'static str,
        values: &BTreeSet<String>,
    ) -> Result<Vec<Row>, Self::Error> {
        Ok(self
            .0
            .get(&kind.register())
            .into_iter()
            .flatten()
            .filter(|r| {
                r.get(field)
                    .and_then(Value::as_text)
                    .is_some_and(|v| values.contains(v))
            })
            .cloned()
            .collect())
    }
}

/// The text of a row's fields, as the audit log's payload gives them to a run after a change.
fn texts(row: &Row) -> Vec<(String, String)> {
    row.register()
        .fields()
        .iter()
        .zip(row.values())
        .filter_map(|(f, v)| v.as_text().map(|t| (f.name.to_owned(), t.to_owned())))
        .collect()
}

/// `estate` changed as people change records: of each kind, a few objects take every field
/// (their links to others among them: a device passed on, a person given another manager)
/// from another object of the kind, and one object is deleted. The registers after, what was
/// touched (with its fields before and after) and the fields changed.
fn changed(estate: &steward_model::Estate) -> (BTreeMap<Register, Vec<Row>>, Vec<Touched>, Reads) {
    let mut after = BTreeMap::new();
    let mut touched = Vec::new();
    let mut fields = Reads::default();
    for kind in Kind::ALL {
        let register = kind.register();
        let mut rows = estate.rows(register);
        let n = rows.len();
        if n >= 4 {
            for i in [1, n / 2] {
                let before = rows[i].clone();
                let donor = rows[(i + n / 3) % n].clone();
                for (f, field) in register.fields().iter().enumerate() {
                    let keyed = f == 0 || register.key_indices().contains(&f);
                    if !keyed && before.values()[f] != donor.values()[f] {
                        rows[i].set(field.name, donor.values()[f].clone());
                        fields.insert_named(kind, field.name);
                    }
                }
                let mut values = texts(&before);
                values.extend(texts(&rows[i]));
                touched.push(Touched {
                    kind,
                    id: before.id().to_owned(),
                    values,
                });
            }
            let gone = rows.remove(n - 2);
            fields.insert_kind(kind);
            touched.push(Touched {
                kind,
                id: gone.id().to_owned(),
                values: texts(&gone),
            });
        }
        after.insert(register, rows);
    }
    (after, touched, fields)
}

/// The first subject whose findings differ between `a` and `b`, and how.
fn first_difference(
    a: &[Finding],
    b: &[Finding],
) -> Option<(String, Option<Finding>, Option<Finding>)> {
    let by_subject = |fs: &[Finding]| -> BTreeMap<String, Finding> {
        fs.iter()
            .map(|f| (f.subject.id.clone(), f.clone()))
            .collect()
    };
    let (a, b) = (by_subject(a), by_subject(b));
    a.keys()
        .chain(b.keys())
        .find(|id| a.get(*id) != b.get(*id))
        .map(|id| (id.clone(), a.get(id).cloned(), b.get(id).cloned()))
}

/// What lets a run after a change read and evaluate little: for every check of every built-in
/// pack, the subjects [`Reads::subjects_moved`] walks to from the objects changed are the only
/// ones whose findings can move, and the objects [`Reads::neighbourhood`] walks to from them
/// decide them exactly as the whole estate does.
#[test]
fn a_change_moves_only_the_subjects_walked_to_and_their_neighbourhood_decides_them() {
    let packs = steward_policy::builtin().expect("the built-in packs load");
    let estate = estate();
    let before = Data::from_estate(&estate);
    let (after_rows, touched, fields) = changed(&estate);
    let after = Data::from_registers_reading(
        after_rows
            .iter()
            .map(|(r, rows)| (*r, rows.clone()))
            .collect(),
        Reads::every(),
    );
    let (mut checks, mut moved_some, mut fewer, mut changed_findings) = (0, 0, 0, 0);
    for pack in &packs {
        let params: Vec<_> = pack
            .parameters
            .values()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        for (_, control, kind, reads) in engine(pack).checks() {
            let check = Engine::only(pack, control, params.clone()).expect("it compiles");
            let kinds = reads.kinds_meeting(&fields);
            let mine: Vec<&Touched> = touched.iter().filter(|t| kinds.contains(&t.kind)).collect();
            let Ok(Some(moved)) =
                reads.subjects_moved(kind, &mine, &mut Held(&after_rows), usize::MAX)
            else {
                panic!("{}: {control}: no limit was set", pack.id);
            };
            let was = check.evaluate(&before, at());
            let is = check.evaluate(&after, at());
            let outside = |findings: &[Finding]| -> Vec<Finding> {
                findings
                    .iter()
                    .filter(|f| !moved.contains(&f.subject.id))
                    .cloned()
                    .collect()
            };
            let unwalked = first_difference(&outside(&is), &outside(&was));
            assert!(
                unwalked.is_none(),
                "{}: {control} moved {unwalked:?}, not walked to",
                pack.id
            );
            let mut around = Neighbourhood::default();
            let Ok(whole) = reads.neighbourhood(
                kind,
                &moved,
                &mut Held(&after_rows),
                &mut around,
                usize::MAX,
            );
            assert!(whole, "{}: {control}: no limit was set", pack.id);
            let part = Data::from_registers_reading(around.into_registers(), Reads::every());
            let inside = |findings: Vec<Finding>| -> Vec<Finding> {
                findings
                    .into_iter()
                    .filter(|f| moved.contains(&f.subject.id))
                    .collect()
            };
            let otherwise =
                first_difference(&inside(check.evaluate(&part, at())), &inside(is.clone()));
            assert!(
                otherwise.is_none(),
                "{}: {control} decides {otherwise:?} otherwise over its neighbourhood",
                pack.id
            );
            checks += 1;
            moved_some += usize::from(!moved.is_empty());
            fewer += usize::from(moved.len() < after.count(kind) / 2);
            changed_findings += usize::from(inside(is) != inside(was));
        }
    }
    assert!(checks > 100, "only {checks} checks");
    assert!(moved_some > checks / 2, "only {moved_some} checks moved");
    assert!(fewer > checks / 2, "only {fewer} checks moved under half");
    assert!(
        changed_findings > 20,
        "the change moved the findings of only {changed_findings} checks"
    );
}

/// Counts what it is asked, finding nothing.
#[derive(Default)]
struct Asked(usize);

impl Find for Asked {
    type Error = std::convert::Infallible;

    fn find(
        &mut self,
        _: Kind,
        _: &'static str,
        _: &BTreeSet<String>,
    ) -> Result<Vec<Row>, Self::Error> {
        self.0 += 1;
        Ok(Vec::new())
    }
}

/// A change of more records than a run walks to (an import, a sync) is given up at once,
/// nothing asked of the store: the run reads the whole estate instead.
#[test]
fn a_change_of_more_subjects_than_the_limit_is_given_up_unasked() {
    let pack = steward_policy::builtin_pack("cafcass-it-5.0")
        .expect("a built-in pack")
        .expect("it loads");
    let engine = engine(&pack);
    let touched: Vec<Touched> = ["LT1", "LT2", "LT3"]
        .iter()
        .map(|id| Touched {
            kind: Kind::Asset,
            id: (*id).to_owned(),
            values: vec![("assigned_to".to_owned(), "P1".to_owned())],
        })
        .collect();
    let touched: Vec<&Touched> = touched.iter().collect();
    let (_, _, kind, reads) = engine
        .checks()
        .find(|(_, control, ..)| *control == "laptop-bitlocker-encrypted")
        .expect("the check");
    assert_eq!(kind, Kind::Asset);
    let mut asked = Asked::default();
    assert_eq!(
        reads.subjects_moved(kind, &touched, &mut asked, 2),
        Ok(None)
    );
    assert_eq!(asked.0, 0, "asked the store");
    let moved = reads.subjects_moved(kind, &touched, &mut asked, 10);
    assert_eq!(
        moved,
        Ok(Some(["LT1", "LT2", "LT3"].map(String::from).into()))
    );
}
