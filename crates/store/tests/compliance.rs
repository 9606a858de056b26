//! Where each policy stood, day by day: a run's tallies replace that pack's day (a section no
//! longer checked goes with them), leave other packs and days alone, read back from a day on in
//! pack, section and day order, and do not touch the audit log — on every backend.

use chrono::NaiveDate;
use steward_store::testing::databases;
use steward_store::{ComplianceDay, Store};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
}

fn row(pack: &str, section: &str, d: u32, checked: i64, failing: i64) -> ComplianceDay {
    ComplianceDay {
        pack: pack.into(),
        section: section.into(),
        day: day(d),
        checked,
        failing,
    }
}

#[test]
fn a_run_replaces_its_packs_day() {
    for db in databases("compliance") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        let head = store.audit_head().unwrap_or_else(|e| panic!("{b}: {e}"));
        let first = [
            row("pip-it", "", 2, 10, 4),
            row("pip-it", "2", 2, 6, 3),
            row("pip-it", "5", 2, 4, 1),
            row("ctcic-ict-6", "", 2, 8, 0),
            row("pip-it", "", 1, 9, 5),
        ];
        store
            .record_compliance(&first)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // A later run the same day: section 5 no longer checked, section 2 better.
        let again = [row("pip-it", "", 2, 10, 2), row("pip-it", "2", 2, 6, 1)];
        store
            .record_compliance(&again)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let read = store
            .compliance(day(2))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            read,
            [
                row("ctcic-ict-6", "", 2, 8, 0),
                row("pip-it", "", 2, 10, 2),
                row("pip-it", "2", 2, 6, 1),
            ],
            "{b}"
        );
        let all = store
            .compliance(day(1))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(all.len(), 4, "{b}: the day before kept: {all:?}");
        assert_eq!(all[1], row("pip-it", "", 1, 9, 5), "{b}");
        assert_eq!(read[1].percent(), Some(80), "{b}");
        assert_eq!(row("x", "", 1, 0, 0).percent(), None, "{b}");
        assert_eq!(
            row("x", "", 1, 3, 1).percent(),
            Some(66),
            "{b}: rounded down"
        );
        assert_eq!(
            store.audit_head().unwrap_or_else(|e| panic!("{b}: {e}")),
            head,
            "{b}: derived tallies are not audited"
        );
    }
}
