//! Provenance: which source set which field of a record, and when — written for records named
//! more than once in one call (their fields merged, each field once), over more rows than one
//! statement holds, and moved on by a later sync — on every backend `testing::databases`
//! returns.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_model::{Register, SourcedFields};
use steward_store::Store;
use steward_store::testing::databases;

fn t(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::hours(hours)
}

fn sourced(register: Register, id: &str, fields: &[&'static str]) -> SourcedFields {
    SourcedFields {
        register,
        record_id: id.to_owned(),
        fields: fields.to_vec(),
    }
}

/// (field, source, synced at) of one record, as stored.
fn of(store: &dyn Store, register: Register, id: &str) -> Vec<(String, String, DateTime<Utc>)> {
    store
        .provenance(register, id)
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .into_iter()
        .map(|p| (p.field, p.source, p.synced_at))
        .collect()
}

#[test]
fn provenance_is_one_row_per_field_whoever_names_it_twice() {
    for db in databases("provenance") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        // A record named twice with overlapping fields, a field twice within one, and another
        // register's record of the same id kept apart.
        let records = [
            sourced(Register::Assets, "LT-1", &["serial", "encrypted"]),
            sourced(Register::People, "LT-1", &["email"]),
            sourced(
                Register::Assets,
                "LT-1",
                &["encrypted", "os_version", "os_version"],
            ),
        ];
        store
            .record_provenance("m365", t(0), &records)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let field = |f: &str, s: &str, at| (f.to_owned(), s.to_owned(), at);
        assert_eq!(
            of(store.as_ref(), Register::Assets, "LT-1"),
            vec![
                field("encrypted", "m365", t(0)),
                field("os_version", "m365", t(0)),
                field("serial", "m365", t(0)),
            ],
            "{b}"
        );
        assert_eq!(
            of(store.as_ref(), Register::People, "LT-1"),
            vec![field("email", "m365", t(0))],
            "{b}"
        );

        // A later sync by another source takes over the fields it set, and only those.
        store
            .record_provenance(
                "jamf",
                t(1),
                &[sourced(Register::Assets, "LT-1", &["encrypted"])],
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            of(store.as_ref(), Register::Assets, "LT-1"),
            vec![
                field("encrypted", "jamf", t(1)),
                field("os_version", "m365", t(0)),
                field("serial", "m365", t(0)),
            ],
            "{b}"
        );

        // More rows than one statement writes: every one lands.
        let many: Vec<SourcedFields> = (0..700)
            .map(|i| sourced(Register::Assets, &format!("D-{i:04}"), &["serial", "model"]))
            .collect();
        store
            .record_provenance("intune", t(2), &many)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        for id in ["D-0000", "D-0499", "D-0500", "D-0699"] {
            assert_eq!(
                of(store.as_ref(), Register::Assets, id),
                vec![
                    field("model", "intune", t(2)),
                    field("serial", "intune", t(2))
                ],
                "{b}: {id}"
            );
        }
    }
}
