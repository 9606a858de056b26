//! The organisation's packs: none active on a fresh database; each choice kept, audited once,
//! and a repeated one writing nothing; the packs whose checks ran listed; and a choice changed
//! behind the log's back found by verification — on every backend.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_store::testing::databases;
use steward_store::{
    AuditQuery, PACK_DOCUMENT_ENTITY, PACK_ENTITY, PARAMETER_ENTITY, PackDocument,
    ParameterOverride, Store, verify_audit_full,
};

fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(n)
}

/// Each step: the pack, made active or not, whether that changed anything, and then the active
/// packs.
const STEPS: &[(&str, bool, bool, &[&str])] = &[
    ("cafcass-it-5.0", true, true, &["cafcass-it-5.0"]),
    ("cafcass-it-5.0", true, false, &["cafcass-it-5.0"]),
    ("pip-it", true, true, &["cafcass-it-5.0", "pip-it"]),
    ("cafcass-it-5.0", false, true, &["pip-it"]),
    ("cafcass-it-5.0", false, false, &["pip-it"]),
    ("never-seen", false, true, &["pip-it"]),
];

#[test]
fn pack_choices_are_kept_audited_and_verified() {
    for db in databases("packs") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        assert!(store.packs().unwrap().is_empty(), "{b}: a fresh database");
        assert!(store.packs_run().unwrap().is_empty(), "{b}");

        let mut audited = 0;
        for (i, (pack, active, changes, then)) in STEPS.iter().enumerate() {
            let changed = store
                .set_pack_active("test:admin", t(i as i64), pack, *active)
                .unwrap_or_else(|e| panic!("{b}: step {i}: {e}"));
            assert_eq!(changed, *changes, "{b}: step {i}");
            audited += usize::from(*changes);
            let active_now: Vec<String> = store
                .packs()
                .unwrap()
                .into_iter()
                .filter(|p| p.active)
                .map(|p| p.id)
                .collect();
            assert_eq!(active_now, *then, "{b}: step {i}");
        }
        let stored = store.packs().unwrap();
        let it = stored
            .iter()
            .find(|p| p.id == "cafcass-it-5.0")
            .unwrap_or_else(|| panic!("{b}"));
        assert_eq!(
            (it.changed_at, it.changed_by.as_str()),
            (t(3), "test:admin"),
            "{b}"
        );

        let mut records = Vec::new();
        store
            .audit_records(&AuditQuery::default(), &mut |r| {
                records.push(r);
                Ok(())
            })
            .unwrap();
        let packs: Vec<(String, String)> = records
            .iter()
            .filter(|r| r.entity_type == PACK_ENTITY)
            .map(|r| (r.action.clone(), r.entity_id.clone()))
            .collect();
        assert_eq!(packs.len(), audited, "{b}: {packs:?}");
        assert_eq!(
            packs[0],
            ("activate".into(), "cafcass-it-5.0".into()),
            "{b}"
        );
        assert_eq!(
            packs[2],
            ("deactivate".into(), "cafcass-it-5.0".into()),
            "{b}"
        );
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(verdict.is_ok(), "{b}: {verdict:?}");

        // A pack switched on in the table without the log knowing is found.
        db.execute("UPDATE packs SET active = TRUE WHERE id = 'never-seen'")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(
            verdict
                .differences
                .iter()
                .any(|d| d.register == "packs" && d.id == "never-seen"),
            "{b}: {verdict:?}"
        );
    }
}

/// The organisation's own packs' files: saved with one audit record (`import`, then `update`),
/// a save of the same files writing nothing, listed by id, and a file changed behind the log's
/// back found by verification — on every backend.
#[test]
fn pack_documents_are_kept_audited_and_verified() {
    for db in databases("pack_documents") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        assert!(store.pack_documents().unwrap().is_empty(), "{b}");
        let document = |id: &str, clauses: &str, n: i64| PackDocument {
            id: id.to_owned(),
            pack_toml: format!("[pack]\nid = \"{id}\"\n"),
            clauses_toml: clauses.to_owned(),
            source_name: Some("Our IT policy.docx".to_owned()),
            saved_at: t(n),
            saved_by: "test:governance".to_owned(),
        };
        let first = document("riverside-it-2.1", "[[clause]]\nid = \"1.1\"\n", 0);
        assert!(store.save_pack_document(&first).unwrap(), "{b}");
        assert!(
            !store
                .save_pack_document(&PackDocument {
                    saved_at: t(1),
                    ..first.clone()
                })
                .unwrap(),
            "{b}: the same files again change nothing"
        );
        let mapped = document(
            "riverside-it-2.1",
            "[[clause]]\nid = \"1.1\"\n# mapped\n",
            2,
        );
        assert!(store.save_pack_document(&mapped).unwrap(), "{b}");
        assert!(
            store
                .save_pack_document(&document("abbey-ict-1", "", 3))
                .unwrap(),
            "{b}"
        );
        let stored = store.pack_documents().unwrap();
        assert_eq!(stored.len(), 2, "{b}");
        assert_eq!(stored[0].id, "abbey-ict-1", "{b}: ordered by id");
        assert_eq!(stored[1], mapped, "{b}");

        let mut actions = Vec::new();
        store
            .audit_records(&AuditQuery::default(), &mut |r| {
                if r.entity_type == PACK_DOCUMENT_ENTITY {
                    actions.push((r.action.clone(), r.entity_id.clone(), r.actor.clone()));
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(
            actions,
            vec![
                (
                    "import".to_owned(),
                    "riverside-it-2.1".to_owned(),
                    "test:governance".to_owned()
                ),
                (
                    "update".to_owned(),
                    "riverside-it-2.1".to_owned(),
                    "test:governance".to_owned()
                ),
                (
                    "import".to_owned(),
                    "abbey-ict-1".to_owned(),
                    "test:governance".to_owned()
                ),
            ],
            "{b}"
        );
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(verdict.is_ok(), "{b}: {verdict:?}");

        db.execute("UPDATE pack_documents SET clauses_toml = '' WHERE id = 'riverside-it-2.1'")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(
            verdict
                .differences
                .iter()
                .any(|d| d.register == "pack_documents" && d.id == "riverside-it-2.1"),
            "{b}: {verdict:?}"
        );
    }
}

/// The organisation's parameter values: each day's value kept with its reason, audited (`set`,
/// then `change`), the same again writing nothing, listed by name and day, and a value changed
/// behind the log's back found by verification — on every backend.
#[test]
fn parameter_values_are_kept_audited_and_verified() {
    for db in databases("parameter_overrides") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default();
        let value = |v: Option<&str>, from: u32, reason: &str, n: i64| ParameterOverride {
            name: "laptop_offline_days".into(),
            effective_from: day(from),
            value: v.map(str::to_owned),
            reason: reason.into(),
            changed_at: t(n),
            changed_by: "test:governance".into(),
        };
        assert!(
            store
                .set_parameter_override(&value(Some("10"), 1, "audit finding", 0))
                .unwrap(),
            "{b}"
        );
        assert!(
            !store
                .set_parameter_override(&value(Some("10"), 1, "audit finding", 1))
                .unwrap(),
            "{b}"
        );
        assert!(
            store
                .set_parameter_override(&value(Some("12"), 1, "board decision", 2))
                .unwrap(),
            "{b}"
        );
        assert!(
            store
                .set_parameter_override(&value(None, 20, "back to the policy", 3))
                .unwrap(),
            "{b}"
        );
        let kept = store.parameter_overrides().unwrap();
        assert_eq!(
            kept.iter()
                .map(|p| (p.effective_from, p.value.clone(), p.reason.as_str()))
                .collect::<Vec<_>>(),
            [
                (day(1), Some("12".to_owned()), "board decision"),
                (day(20), None, "back to the policy")
            ],
            "{b}"
        );
        let mut actions = Vec::new();
        store
            .audit_records(&AuditQuery::default(), &mut |r| {
                if r.entity_type == PARAMETER_ENTITY {
                    actions.push((r.action.clone(), r.entity_id.clone()));
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(
            actions,
            [
                (
                    "set".to_owned(),
                    "laptop_offline_days@2026-12-01".to_owned()
                ),
                (
                    "change".to_owned(),
                    "laptop_offline_days@2026-12-01".to_owned()
                ),
                (
                    "set".to_owned(),
                    "laptop_offline_days@2026-12-20".to_owned()
                ),
            ],
            "{b}"
        );
        // Several at once (a file imported): one transaction, counting what changed; a staff
        // group's change is kept under its `staff_groups.` name beside the parameters.
        let group = ParameterOverride {
            name: "staff_groups.fca".into(),
            value: Some("{ byod = true }".into()),
            ..value(None, 2, "imported", 4)
        };
        assert_eq!(
            store
                .set_parameter_overrides(&[
                    value(Some("12"), 1, "board decision", 4),
                    value(Some("30"), 2, "imported", 4),
                    group.clone(),
                ])
                .unwrap(),
            2,
            "{b}: the first stood so already"
        );
        assert!(
            store
                .parameter_overrides()
                .unwrap()
                .iter()
                .any(|p| p == &group),
            "{b}"
        );
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(verdict.is_ok(), "{b}: {verdict:?}");
        db.execute("UPDATE parameter_overrides SET value = '99' WHERE value = '12'")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(
            verdict
                .differences
                .iter()
                .any(|d| d.register == "parameter_overrides"),
            "{b}: {verdict:?}"
        );
    }
}
