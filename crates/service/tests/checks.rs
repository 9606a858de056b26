//! A check run recorded as it is evaluated (`check_and_record_with`, what the job worker runs), on
//! each backend: it records what evaluating the whole estate at once finds, an unchanged rerun
//! changes nothing, and a run stopped between controls writes nothing at all.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use steward_policy::{Overrides, Pack};
use steward_service::{FindingQuery, ImportFile, Stamp, Steward};
use steward_store::testing::databases;

/// The moment the runs are made at, fixed: a run a minute later must find nothing changed, which
/// the wall clock could not promise (a deadline in the demo may fall in that minute).
fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn demo_files(people: usize) -> Vec<ImportFile> {
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people,
        seed: 7,
        today: at().date_naive(),
        usage_months: 1,
    });
    ImportFile::of_estate(&estate).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_run_recorded_as_it_is_evaluated_records_the_whole_run_or_nothing() {
    let packs: Vec<Pack> = steward_policy::builtin().unwrap_or_else(|e| panic!("{e:?}"));
    let packs: Vec<&Pack> = packs.iter().collect();
    let overrides = Overrides::default();
    for db in databases("service_checks") {
        let be = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{be}: {e}"));
        steward
            .import(&Stamp::now("test"), demo_files(150))
            .unwrap_or_else(|e| panic!("{be}: import: {e}"));
        let at = at();
        let expected = steward
            .run_checks(&packs, &overrides, at)
            .unwrap_or_else(|e| panic!("{be}: {e}"));
        assert!(
            expected.len() > 50,
            "{be}: only {} findings",
            expected.len()
        );

        // Stopped before its fourth control: nothing is written, not even the first three.
        let head = steward
            .store()
            .audit_head()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut asked = Vec::new();
        let stopped = steward
            .check_and_record_with(
                &Stamp::at("checks", at),
                &packs,
                &overrides,
                &mut |done, total| {
                    asked.push((done, total));
                    done < 3
                },
            )
            .unwrap_or_else(|e| panic!("{be}: {e}"));
        assert!(stopped.is_none(), "{be}: a stopped run reports nothing");
        let total = asked.first().map_or(0, |(_, total)| *total);
        assert!(total > 3, "{be}: {total} controls");
        assert_eq!(
            asked,
            (0..4).map(|d| (d, total)).collect::<Vec<_>>(),
            "{be}: asked before each control, in turn"
        );
        assert_eq!(
            steward.store().audit_head().ok(),
            Some(head),
            "{be}: the audit log moved"
        );
        let everything = FindingQuery {
            states: steward_model::FindingState::ALL.to_vec(),
            ..FindingQuery::default()
        };
        assert!(
            steward.findings(&everything).unwrap_or_default().is_empty(),
            "{be}: a stopped run left findings"
        );

        // The whole run: every finding evaluating at once gives, recorded.
        let (summary, count) = steward
            .check_and_record_with(&Stamp::at("checks", at), &packs, &overrides, &mut |_, _| {
                true
            })
            .unwrap_or_else(|e| panic!("{be}: {e}"))
            .unwrap_or_else(|| panic!("{be}: the run was not recorded"));
        assert_eq!(count, expected.len(), "{be}");
        assert_eq!(
            summary.opened + summary.excepted + summary.escalated,
            expected.len(),
            "{be}"
        );
        let mut stored: Vec<String> = steward
            .findings(&FindingQuery::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|s| s.finding.key())
            .collect();
        let mut keys: Vec<String> = expected.iter().map(|f| f.key()).collect();
        stored.sort();
        keys.sort();
        assert_eq!(stored, keys, "{be}: the findings recorded");

        // The same estate a minute later: nothing changes.
        let later = Stamp::at("checks", at + Duration::minutes(1));
        let (again, _) = steward
            .check_and_record_with(&later, &packs, &overrides, &mut |_, _| true)
            .unwrap_or_else(|e| panic!("{be}: {e}"))
            .unwrap_or_else(|| panic!("{be}: the rerun was not recorded"));
        assert_eq!(
            (again.unchanged, again.changes()),
            (expected.len(), 0),
            "{be}: an unchanged rerun"
        );
    }
}
