//! The run a change queues (`check_and_record_after_change`), on each backend: it evaluates only
//! the checks that read what changed since the last run, and leaves the findings exactly as a
//! run of every check would; where it cannot tell what a change reaches, it runs every check.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone as _, Utc};
use steward_model::{Register, StoredFinding};
use steward_policy::{Overrides, Pack};
use steward_service::{FindingQuery, ImportFile, RecordedRun, Stamp, Steward};
use steward_store::testing::databases;

/// Every run is at one moment, so that a run of every check and one of some compare exactly
/// (nothing moves with the clock between them).
fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn demo_files() -> Vec<ImportFile> {
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people: 120,
        seed: 3,
        today: at().date_naive(),
        usage_months: 1,
    });
    ImportFile::of_estate(&estate).unwrap_or_else(|e| panic!("{e}"))
}

/// The keys of the findings failing now.
fn failing(steward: &Steward) -> BTreeSet<String> {
    steward
        .findings(&FindingQuery::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|f| f.state.is_failing())
        .map(|f| f.finding.key())
        .collect()
}

/// What a run of every check would find failing now, without recording it.
fn expected(steward: &Steward, packs: &[&Pack]) -> BTreeSet<String> {
    steward
        .run_checks(packs, &Overrides::default(), at())
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(steward_model::Finding::key)
        .collect()
}

fn after_change(steward: &Steward, packs: &[&Pack]) -> RecordedRun {
    steward
        .check_and_record_after_change(
            &Stamp::at("system:checks", at()),
            packs,
            &Overrides::default(),
            &mut |_, _| true,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the run was not stopped"))
}

/// A failing finding about a device whose evidence says it is not encrypted, about another
/// device than `but`.
fn failing_unencrypted(steward: &Steward, but: Option<&str>) -> Option<StoredFinding> {
    steward
        .findings(&FindingQuery {
            subject_type: Some("asset".into()),
            ..FindingQuery::default()
        })
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|f| {
            f.state.is_failing()
                && Some(f.finding.subject.id.as_str()) != but
                && f.finding.evidence.get("asset.encrypted") == Some("false")
        })
}

/// Who holds the device `tag`, if anyone.
fn holder(steward: &Steward, tag: &str) -> Option<String> {
    let row = steward.store().get(Register::Assets, tag).ok()??;
    row.get("assigned_to")?.as_text().map(str::to_owned)
}

/// A run after a change evaluates some checks over the few subjects the change reaches through
/// the relations they follow (at most `most`, of a 120-person estate), and leaves the failing
/// findings as a run of every check would.
fn some_checks_over_the_subjects_reached(
    steward: &Steward,
    packs: &[&Pack],
    what: &str,
    most: usize,
) -> RecordedRun {
    let run = after_change(steward, packs);
    assert!(!run.whole && run.checks > 0, "{what}: {run:?}");
    assert!(
        run.subjects.is_some_and(|n| n > 0 && n <= most),
        "{what}: {run:?}"
    );
    assert_eq!(failing(steward), expected(steward, packs), "{what}");
    run
}

fn change(steward: &Steward, register: Register, id: &str, field: &str, value: &str) {
    steward
        .update_if(
            &Stamp::at("admin", at()),
            register,
            id,
            &[(field.to_owned(), value.to_owned())],
            None,
        )
        .unwrap_or_else(|e| panic!("{register:?} {id}: {field} = {value}: {e}"));
}

#[test]
fn a_run_after_a_change_evaluates_the_checks_it_touched_and_finds_what_a_whole_run_would() {
    let packs: Vec<Pack> = ["cafcass-it-5.0", "cafcass-ia-4.3"]
        .iter()
        .filter_map(|id| steward_policy::builtin_pack(id)?.ok())
        .collect();
    let packs: Vec<&Pack> = packs.iter().collect();
    let reads = steward_service::compile_checks(&packs, &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .reads();
    for db in databases("service_after_change") {
        let be = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{be}: {e}"));
        steward
            .import(&Stamp::at("test", at()), demo_files())
            .unwrap_or_else(|e| panic!("{be}: import: {e}"));

        // Until this process has recorded a run of every check, a run after a change is one.
        let first = after_change(&steward, &packs);
        assert!(first.whole, "{be}: the first run");
        assert_eq!(first.checks, first.of, "{be}");
        assert_eq!(failing(&steward), expected(&steward, &packs), "{be}");

        // A laptop failing for want of encryption is marked encrypted.
        let unencrypted = failing_unencrypted(&steward, None)
            .unwrap_or_else(|| panic!("{be}: no unencrypted device fails"));
        let tag = unencrypted.finding.subject.id.clone();
        change(&steward, Register::Assets, &tag, "encrypted", "true");
        let run = after_change(&steward, &packs);
        assert!(!run.whole, "{be}: {run:?}");
        assert!(
            run.checks > 0 && run.checks * 4 < run.of,
            "{be}: {} of {} checks",
            run.checks,
            run.of
        );
        assert!(run.summary.resolved >= 1, "{be}: {:?}", run.summary);
        // Those checks decide each device from the device alone: only it was evaluated.
        assert_eq!(run.subjects, Some(1), "{be}: {run:?}");
        let now = failing(&steward);
        assert!(!now.contains(&unencrypted.finding.key()), "{be}");
        assert_eq!(
            now,
            expected(&steward, &packs),
            "{be}: after {tag} was encrypted"
        );

        // Nothing changed since: no check to run, nothing written.
        let idle = after_change(&steward, &packs);
        assert!(!idle.whole, "{be}");
        assert_eq!(idle.checks, 0, "{be}");
        assert_eq!(idle.summary, Default::default(), "{be}");

        // A field no check reads: none is touched.
        let unread = Register::Assets
            .fields()
            .iter()
            .enumerate()
            .find(|(i, f)| {
                !reads.reads(steward_rules::Kind::Asset, *i)
                    && f.ty == steward_model::FieldType::Text
            })
            .map(|(_, f)| f.name)
            .unwrap_or_else(|| panic!("{be}: a text field of assets no check reads"));
        change(&steward, Register::Assets, &tag, unread, "noted");
        assert_eq!(after_change(&steward, &packs).checks, 0, "{be}: {unread}");

        // Two devices at once: the first unencrypted again, a second failing one encrypted.
        let other = failing_unencrypted(&steward, Some(&tag))
            .unwrap_or_else(|| panic!("{be}: a second unencrypted device fails"));
        change(&steward, Register::Assets, &tag, "encrypted", "false");
        change(
            &steward,
            Register::Assets,
            &other.finding.subject.id,
            "encrypted",
            "true",
        );
        let run = after_change(&steward, &packs);
        assert_eq!(run.subjects, Some(2), "{be}: {run:?}");
        assert!(
            run.summary.reopened >= 1 && run.summary.resolved >= 1,
            "{be}: {run:?}"
        );
        let now = failing(&steward);
        assert!(
            now.contains(&unencrypted.finding.key()),
            "{be}: {tag} again"
        );
        assert!(!now.contains(&other.finding.key()), "{be}");
        assert_eq!(now, expected(&steward, &packs), "{be}: two devices changed");

        // A device's holder: the checks of people that read their devices are touched too, and
        // evaluated over the device's holder before and after (one's laptop gone, the other's
        // come), not over everyone.
        let held_by = holder(&steward, &other.finding.subject.id);
        let someone_else = steward
            .store()
            .list(Register::People)
            .unwrap_or_else(|e| panic!("{be}: {e}"))
            .into_iter()
            .map(|row| row.id().to_owned())
            .find(|id| Some(id) != held_by.as_ref())
            .unwrap_or_else(|| panic!("{be}: another person"));
        change(
            &steward,
            Register::Assets,
            &other.finding.subject.id,
            "assigned_to",
            &someone_else,
        );
        let run = some_checks_over_the_subjects_reached(
            &steward,
            &packs,
            &format!("{be}: passed on"),
            10,
        );
        assert!(
            run.subjects >= Some(3),
            "{be}: the device and both holders: {run:?}"
        );

        // A person leaving: the checks that read people's status and leaving dates (their
        // accounts, their equipment) find what a whole run finds.
        let person = unencrypted
            .finding
            .evidence
            .get("asset.holder.id")
            .map(str::to_owned)
            .or_else(|| holder(&steward, &tag))
            .unwrap_or_else(|| panic!("{be}: {tag} has a holder"));
        change(&steward, Register::People, &person, "status", "leaver");
        change(
            &steward,
            Register::People,
            &person,
            "leave_date",
            "2026-10-01",
        );
        // Checks of accounts and devices read their people's leaving: their accounts' and
        // devices' findings move with them, and their reports' (whose manager left).
        let run = some_checks_over_the_subjects_reached(
            &steward,
            &packs,
            &format!("{be}: {person} left"),
            60,
        );
        assert!(
            run.subjects >= Some(2),
            "{be}: the leaver and their device: {run:?}"
        );

        // Their personal data erased: the log's payloads are rewritten, so what their records
        // were linked to cannot be read back from it, and every check runs.
        steward
            .erase_person(&Stamp::at("admin", at()), &person, "left the organisation")
            .unwrap_or_else(|e| panic!("{be}: erase {person}: {e}"));
        let run = after_change(&steward, &packs);
        assert!(run.whole, "{be}: after an erasure: {run:?}");
        assert_eq!(failing(&steward), expected(&steward, &packs), "{be}");

        // The organisation's settings may move every check ("today" is in its time zone).
        change(
            &steward,
            Register::Organisation,
            "organisation",
            "name",
            "Another name",
        );
        let run = after_change(&steward, &packs);
        assert!(run.whole, "{be}: after the organisation changed");
        assert_eq!(failing(&steward), expected(&steward, &packs), "{be}");

        // Another process (another binary, other packs built in) runs every check first.
        let again = Steward::open(&db.url).unwrap_or_else(|e| panic!("{be}: {e}"));
        change(&again, Register::Assets, &tag, "encrypted", "false");
        assert!(after_change(&again, &packs).whole, "{be}: a new process");
        assert!(failing(&again).contains(&unencrypted.finding.key()), "{be}");
    }
}

/// A run after a change asks the store for objects by their ids and by the fields relations
/// join on: each backend can look every one of them up.
#[test]
fn every_field_a_walk_looks_objects_up_by_can_be_looked_up() {
    let fields = steward_rules::fields_found_by();
    assert!(fields.len() > 30, "{fields:?}");
    for db in databases("service_walk_fields") {
        let be = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{be}: {e}"));
        for (kind, field) in &fields {
            let found = steward.store().list_where_any(
                kind.register(),
                field,
                &["nothing-has-this".to_owned()],
            );
            assert!(
                found.as_ref().is_ok_and(Vec::is_empty),
                "{be}: {} by {field}: {found:?}",
                kind.name()
            );
        }
    }
}
