//! The audit log proves itself: each attack that once passed `audit verify` is performed here, on
//! every backend, and shown to be caught or refused.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use steward_model::audit::{Anchor, AuditRecord, ChainBreak};
use steward_model::{Person, PersonStatus, Record, Register, Value};
use steward_store::testing::{TestDatabase, databases};
use steward_store::{AuditQuery, Backend, DifferenceKind, Store, verify_audit_full};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, minute % 60, 0)
        .single()
        .unwrap_or_default()
}

fn person(id: &str, name: &str) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        email: Some(format!("{}@example.org", id.to_lowercase())),
        staff_group: "fca".into(),
        manager_id: None,
        budget_centre: None,
        status: PersonStatus::Active,
        start_date: NaiveDate::from_ymd_opt(2020, 4, 1),
        leave_date: None,
        clearance: None,
        clearance_expires: None,
        byod: Some(false),
        weekly_digest: None,
        job_title: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

fn open(db: &TestDatabase) -> Box<dyn Store> {
    steward_store::open(&db.url).unwrap_or_else(|e| panic!("{}: {e}", db.backend))
}

/// 60 people, one commit each: records 1..=60.
fn estate(store: &dyn Store) {
    for i in 1..=60 {
        store
            .commit(
                "cli:test",
                at(i),
                vec![person(&format!("P{i:03}"), &format!("Person {i}")).to_row()],
            )
            .unwrap();
    }
}

fn tamper(db: &TestDatabase, sql: &str) {
    db.execute(sql)
        .unwrap_or_else(|e| panic!("{}: {sql}: {e}", db.backend));
}

fn records(store: &dyn Store) -> Vec<AuditRecord> {
    let mut out = Vec::new();
    store
        .audit_records(&AuditQuery::default(), &mut |r| {
            out.push(r);
            Ok(())
        })
        .unwrap();
    out
}

fn anchor(store: &dyn Store) -> Anchor {
    let (seq, hash) = store.audit_head().unwrap();
    Anchor { seq, hash }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// (a) The last 50 records deleted and `audit_head` moved back to record 10.
#[test]
fn a_log_cut_short_with_its_head_moved_back_is_caught() {
    for db in databases("attack_cut") {
        let store = open(&db);
        estate(store.as_ref());
        let published = anchor(store.as_ref());
        let ten = records(store.as_ref())[9].clone();
        assert!(
            verify_audit_full(store.as_ref(), Some(published.clone()), 10)
                .unwrap()
                .is_ok()
        );

        tamper(
            &db,
            &format!(
                "DELETE FROM audit_payloads WHERE seq > 10; DELETE FROM audit_log WHERE seq > 10; \
                 UPDATE audit_head SET seq = 10, hash = {} WHERE id = 1",
                quote(&ten.hash)
            ),
        );
        let verdict = verify_audit_full(store.as_ref(), None, 100).unwrap();
        // The chain alone is consistent: this is what used to pass.
        assert_eq!(
            verdict.chain.as_ref().map(|h| h.seq),
            Ok(10),
            "{}",
            db.backend
        );
        // The registers hold 50 people no record created.
        assert_eq!(verdict.difference_count, 50, "{}", db.backend);
        assert!(
            verdict
                .differences
                .iter()
                .all(|d| d.kind == DifferenceKind::Unrecorded && d.register == "people")
        );
        assert!(verdict.differences.iter().any(|d| d.id == "P060"));
        // And the published anchor names a record that is gone.
        let verdict = verify_audit_full(store.as_ref(), Some(published), 10).unwrap();
        assert!(
            matches!(
                verdict.chain,
                Err(ChainBreak::AnchorMissing {
                    seq: 60,
                    last: 10,
                    ..
                })
            ),
            "{}: {:?}",
            db.backend,
            verdict.chain
        );
    }
}

/// (b) One record edited and every record after it re-chained, the head moved to the new end.
#[test]
fn an_edited_and_rechained_log_is_caught() {
    for db in databases("attack_rechain") {
        let store = open(&db);
        estate(store.as_ref());
        let published = anchor(store.as_ref());
        let all = records(store.as_ref());
        let mut prev = all[19].prev_hash.clone();
        let mut statements = String::new();
        for (i, original) in all[19..].iter().enumerate() {
            let mut r = original.clone();
            if i == 0 {
                // Record 20 now says P020 was created with another name.
                r.after = r.after.map(|a| a.replace("Person 20", "Someone Else"));
                r.after_hash = r.after.as_deref().map(steward_model::audit::payload_hash);
            }
            let r = r.seal(&prev);
            prev = r.hash.clone();
            statements.push_str(&format!(
                "UPDATE audit_log SET after_hash = {}, prev_hash = {}, hash = {} WHERE seq = {};
                 UPDATE audit_payloads SET after_json = {} WHERE seq = {};",
                quote(r.after_hash.as_deref().unwrap_or_default()),
                quote(&r.prev_hash),
                quote(&r.hash),
                r.seq,
                quote(r.after.as_deref().unwrap_or_default()),
                r.seq
            ));
        }
        statements.push_str(&format!(
            "UPDATE audit_head SET hash = {} WHERE id = 1",
            quote(&prev)
        ));
        tamper(&db, &statements);

        let verdict = verify_audit_full(store.as_ref(), None, 10).unwrap();
        assert!(verdict.chain.is_ok(), "{}: the forgery chains", db.backend);
        // The register was not edited to match: the replay names the row and field.
        assert_eq!(verdict.difference_count, 1, "{}", db.backend);
        let d = &verdict.differences[0];
        assert_eq!(
            (d.register.as_str(), d.id.as_str(), d.kind, d.fields.clone()),
            (
                "people",
                "P020",
                DifferenceKind::Differs,
                vec!["name".to_owned()]
            ),
            "{}",
            db.backend
        );
        // With the register edited to match too, only the anchor tells.
        tamper(
            &db,
            "UPDATE people SET name = 'Someone Else' WHERE id = 'P020'",
        );
        assert!(verify_audit_full(store.as_ref(), None, 10).unwrap().is_ok());
        let verdict = verify_audit_full(store.as_ref(), Some(published), 10).unwrap();
        assert!(
            matches!(
                verdict.chain,
                Err(ChainBreak::AnchorMismatch { seq: 60, .. })
            ),
            "{}: {:?}",
            db.backend,
            verdict.chain
        );
    }
}

/// (c) A register changed with no audit record at all; and a row removed, and one added.
#[test]
fn a_register_changed_behind_the_log_is_named() {
    for db in databases("attack_unaudited") {
        let store = open(&db);
        estate(store.as_ref());
        assert!(steward_store::verify_audit(store.as_ref()).unwrap().is_ok());
        tamper(
            &db,
            "UPDATE people SET name = 'Changed', byod = TRUE WHERE id = 'P003';
             DELETE FROM people WHERE id = 'P004';
             INSERT INTO people (id, name, staff_group, status) VALUES ('P999', 'Ghost', 'fca', 'active')",
        );
        let verdict = verify_audit_full(store.as_ref(), None, 10).unwrap();
        assert!(verdict.chain.is_ok());
        let mut found: Vec<(String, DifferenceKind, Vec<String>)> = verdict
            .differences
            .iter()
            .map(|d| (d.id.clone(), d.kind, d.fields.clone()))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            found,
            vec![
                (
                    "P003".to_owned(),
                    DifferenceKind::Differs,
                    vec!["byod".to_owned(), "name".to_owned()]
                ),
                ("P004".to_owned(), DifferenceKind::Missing, vec![]),
                ("P999".to_owned(), DifferenceKind::Unrecorded, vec![]),
            ],
            "{}",
            db.backend
        );
        // The one-result form the web shows fails too, naming the count.
        match steward_store::verify_audit(store.as_ref()).unwrap() {
            Err(ChainBreak::Registers { count: 3, first }) => {
                assert!(first.contains("people P00"), "{first}")
            }
            other => panic!("{}: {other:?}", db.backend),
        }
    }
}

/// (d) The role Steward connects as cannot rewrite or remove audit records on PostgreSQL (the
/// owner can, which shows the statements themselves work).
#[test]
fn the_app_role_cannot_update_delete_or_truncate_the_log() {
    for db in databases("attack_role") {
        if db.backend != Backend::Postgres {
            continue;
        }
        let store = open(&db);
        estate(store.as_ref());
        for sql in [
            "UPDATE audit_log SET actor = 'nobody' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 60",
            "TRUNCATE audit_log",
            "TRUNCATE audit_payloads",
            "DELETE FROM audit_payloads WHERE seq = 60",
        ] {
            let refused = db.execute_as_app(sql).unwrap_err();
            assert!(refused.contains("permission denied"), "{sql}: {refused}");
        }
        assert!(steward_store::verify_audit(store.as_ref()).unwrap().is_ok());
        db.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2")
            .unwrap();
        assert!(matches!(
            steward_store::verify_audit(store.as_ref()).unwrap(),
            Err(ChainBreak::Altered { seq: 2, .. })
        ));
        // Granting again changes nothing and still refuses.
        steward_store::migrate(&db.owner_url, Some(&app_role(&db.url))).unwrap();
        assert!(db.execute_as_app("DELETE FROM audit_log").is_err());
    }
}

fn app_role(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split_once('@').map_or("", |(u, _)| u).to_owned()
}

/// Erasure rewrites the person's payloads and row, appends one `erase` record, and the log still
/// verifies — chain and replay; a later change to an erased payload is caught.
#[test]
fn erasure_keeps_the_log_verifying() {
    for db in databases("erase") {
        let store = open(&db);
        estate(store.as_ref());
        let mut p = person("P007", "Person 7");
        p.name = "Person 7 Renamed".into();
        store.commit("cli:test", at(61), vec![p.to_row()]).unwrap();
        let seq = store
            .erase(
                "cli:admin",
                at(62),
                Register::People,
                "P007",
                &[
                    ("name", Value::Text("[erased]".into())),
                    ("email", Value::Null),
                ],
                "left in 2020; retention passed",
            )
            .unwrap();
        assert_eq!(seq, 62, "{}", db.backend);
        let verdict = verify_audit_full(store.as_ref(), None, 10).unwrap();
        assert!(
            verdict.is_ok(),
            "{}: {:?} {:?}",
            db.backend,
            verdict.chain,
            verdict.differences
        );
        let row = store.get(Register::People, "P007").unwrap().unwrap();
        assert_eq!(row.get("name"), Some(&Value::Text("[erased]".into())));
        assert_eq!(row.get("email"), Some(&Value::Null));
        let mut seen = Vec::new();
        store
            .audit_records(
                &AuditQuery {
                    entity: Some(("person".into(), "P007".into())),
                    limit: None,
                    before: None,
                },
                &mut |r| {
                    seen.push(r);
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(seen.len(), 3);
        for r in &seen {
            let text = format!("{:?}{:?}", r.before, r.after);
            assert!(!text.contains("Person 7"), "{text}");
            assert!(!text.contains("p007@example.org"), "{text}");
        }
        assert_eq!(seen[2].action, "erase");
        assert!(
            seen[2]
                .after
                .as_deref()
                .unwrap_or_default()
                .contains("retention passed")
        );
        // Putting the name back into an erased payload is tampering.
        tamper(
            &db,
            &format!(
                "UPDATE audit_payloads SET after_json = REPLACE(after_json, '[erased]', 'Person 7') WHERE seq = {}",
                seen[0].seq
            ),
        );
        let verdict = verify_audit_full(store.as_ref(), None, 10).unwrap();
        assert!(
            matches!(
                verdict.chain,
                Err(ChainBreak::Erasure { erased_by: 62, .. })
            ),
            "{}: {:?}",
            db.backend,
            verdict.chain
        );
        // Nothing to erase: refused, nothing written.
        let head = store.audit_head().unwrap();
        assert!(
            store
                .erase(
                    "cli:admin",
                    at(63),
                    Register::People,
                    "P404",
                    &[("name", Value::Null)],
                    "x"
                )
                .is_err()
        );
        assert!(
            store
                .erase(
                    "cli:admin",
                    at(63),
                    Register::People,
                    "P001",
                    &[("id", Value::Null)],
                    "x"
                )
                .is_err()
        );
        assert_eq!(store.audit_head().unwrap(), head);
    }
}

/// A database written before payload hashes (hash version 1) still verifies, and new records
/// continue its chain.
#[test]
fn version_1_records_still_verify() {
    for db in databases("v1") {
        let store = open(&db);
        estate(store.as_ref());
        // Rewrite records 1-3 as a version 1 build wrote them: payloads in the log itself.
        let all = records(store.as_ref());
        let mut prev = steward_model::audit::GENESIS.to_owned();
        let mut sql = String::new();
        for original in &all {
            let mut r = original.clone();
            if r.seq <= 3 {
                r.version = steward_model::audit::V1;
                r.before_hash = None;
                r.after_hash = None;
            }
            let r = r.seal(&prev);
            prev = r.hash.clone();
            if r.seq <= 3 {
                sql.push_str(&format!(
                    "UPDATE audit_log SET hash_version = 1, before_hash = NULL, after_hash = NULL, \
                     after_json = {}, prev_hash = {}, hash = {} WHERE seq = {}; \
                     DELETE FROM audit_payloads WHERE seq = {};",
                    quote(r.after.as_deref().unwrap_or_default()),
                    quote(&r.prev_hash),
                    quote(&r.hash),
                    r.seq,
                    r.seq
                ));
            } else {
                sql.push_str(&format!(
                    "UPDATE audit_log SET prev_hash = {}, hash = {} WHERE seq = {};",
                    quote(&r.prev_hash),
                    quote(&r.hash),
                    r.seq
                ));
            }
        }
        sql.push_str(&format!(
            "UPDATE audit_head SET hash = {} WHERE id = 1",
            quote(&prev)
        ));
        tamper(&db, &sql);
        let verdict = verify_audit_full(store.as_ref(), None, 10).unwrap();
        assert!(
            verdict.is_ok(),
            "{}: {:?} {:?}",
            db.backend,
            verdict.chain,
            verdict.differences
        );
        store
            .commit("cli:test", at(61), vec![person("P100", "New").to_row()])
            .unwrap();
        assert!(
            verify_audit_full(store.as_ref(), None, 10).unwrap().is_ok(),
            "{}",
            db.backend
        );
        tamper(
            &db,
            "UPDATE audit_log SET after_json = REPLACE(after_json, 'Person 2', 'X') WHERE seq = 2",
        );
        assert!(matches!(
            verify_audit_full(store.as_ref(), None, 10).unwrap().chain,
            Err(ChainBreak::Altered { seq: 2, .. })
        ));
    }
}
