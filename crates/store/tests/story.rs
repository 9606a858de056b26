//! The storage story, told once and run on every backend `testing::databases` returns.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use steward_model::audit::ChainBreak;
use steward_model::{
    AccountKind, AccountStatus, Asset, AssetKind, AssetStatus, Ownership, Person, PersonStatus,
    Record, Register, System, Value,
};
use steward_store::testing::{TestDatabase, databases};
use steward_store::{AssignmentsOf, AuditQuery, Store, StoreError};

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn date(d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2026, 11, d)
}

fn person(id: &str, manager: Option<&str>) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: Some(format!("{}@example.org", id.to_lowercase())),
        staff_group: "fca".into(),
        manager_id: manager.map(Into::into),
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

fn laptop(tag: &str, holder: Option<&str>, on: Option<NaiveDate>) -> Asset {
    Asset {
        tag: tag.into(),
        kind: AssetKind::Laptop,
        model: Some("Surface Laptop 5".into()),
        serial: Some(format!("SN-{tag}")),
        ownership: Ownership::Organisation,
        status: if holder.is_some() {
            AssetStatus::Allocated
        } else {
            AssetStatus::InStock
        },
        assigned_to: holder.map(Into::into),
        assigned_on: on,
        budget_centre: None,
        cost_gbp: Some(steward_model::Pence(129_900)),
        encrypted: Some(true),
        pin_set: Some(true),
        hotspot_password_set: None,
        last_seen: Some(at(20)),
        last_shutdown: None,
        pending_patch_since: None,
        imei: None,
        os_version: None,
        compliance_state: None,
        azure_device_id: None,
        source_id: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

fn open(db: &TestDatabase) -> Box<dyn Store> {
    steward_store::open(&db.url).unwrap_or_else(|e| panic!("{}: {e}", db.backend))
}

/// Runs `story` on every backend, naming the backend when it fails.
fn on_every_backend(label: &str, story: impl Fn(&dyn Store, &TestDatabase)) {
    for db in databases(label) {
        let store = open(&db);
        story(store.as_ref(), &db);
    }
}

#[test]
fn registers_round_trip_and_unchanged_rows_are_not_audited() {
    on_every_backend("roundtrip", |store, db| {
        // Opening again re-runs no migration.
        drop(open(db));
        let rows = vec![
            person("P2", Some("P1")).to_row(), // names a manager listed after them
            person("P1", None).to_row(),
            System {
                name: "m365".into(),
                key_system: Some(true),
                supports_mfa: Some(true),
                restricted: None,
            }
            .to_row(),
            laptop("LT1", Some("P2"), date(2)).to_row(),
            steward_model::Account {
                forwards_externally: None,
                id: "A1".into(),
                person_id: Some("P2".into()),
                system: "m365".into(),
                kind: AccountKind::Standard,
                admin_rights: None,
                mfa: Some(true),
                status: AccountStatus::Active,
                last_login: Some(at(23)),
                login: None,
                source_id: None,
                source: None,
                source_seen: None,
                missing_since: None,
            }
            .to_row(),
        ];
        let summary = store.commit("test", at(1), rows.clone()).unwrap();
        assert_eq!(
            (summary.created, summary.updated, summary.unchanged),
            (5, 0, 0),
            "{}",
            db.backend
        );
        assert_eq!(summary.audit_range, Some((1, 5)));

        for row in &rows {
            assert_eq!(
                store.get(row.register(), row.id()).unwrap().as_ref(),
                Some(row),
                "{}",
                db.backend
            );
        }
        let people = store.list(Register::People).unwrap();
        assert_eq!(
            people.iter().map(|r| r.id()).collect::<Vec<_>>(),
            ["P1", "P2"]
        );
        assert_eq!(store.count(Register::Assets).unwrap(), 1);

        let again = store.commit("test", at(2), rows).unwrap();
        assert_eq!(
            (
                again.created,
                again.updated,
                again.unchanged,
                again.audit_range
            ),
            (0, 0, 5, None)
        );
        assert_eq!(store.audit_head().unwrap().0, 5);
        assert!(steward_store::verify_audit(store).unwrap().is_ok());
    });
}

/// A register read for some of its fields (what a check reads) gives those fields as `list`
/// does, each row's id and the fields a derived id is made of, and nothing else.
#[test]
fn a_register_read_for_some_fields_gives_those_and_the_keys() {
    on_every_backend("some_fields", |store, db| {
        let be = db.backend;
        let mut rows = vec![
            person("P1", None).to_row(),
            person("P2", Some("P1")).to_row(),
            laptop("LT1", Some("P2"), date(2)).to_row(),
        ];
        rows.extend(more_rows());
        store.commit("test", at(1), rows.clone()).unwrap();
        let registers: std::collections::BTreeSet<Register> =
            rows.iter().map(|r| r.register()).collect();
        let mut compared = 0;
        for register in registers {
            let whole = store.list(register).unwrap();
            let n = register.fields().len();
            // Nothing asked for; then each field alone.
            let masks = std::iter::once(vec![false; n])
                .chain((0..n).map(|i| (0..n).map(|j| i == j).collect::<Vec<bool>>()));
            for wanted in masks {
                let some = store.list_fields(register, &wanted).unwrap();
                // The same rows handed over one at a time (in any order), values and all.
                let mut each: Vec<Vec<Value>> = Vec::new();
                let count = store
                    .each_fields(register, &wanted, &mut |values| {
                        each.push(std::mem::take(values))
                    })
                    .unwrap();
                each.sort_by(|a, b| a[0].to_text().as_bytes().cmp(b[0].to_text().as_bytes()));
                let listed: Vec<Vec<Value>> = some.iter().map(|r| r.values().to_vec()).collect();
                assert_eq!((count, &each), (listed.len(), &listed), "{be}: {register}");
                assert_eq!(some.len(), whole.len(), "{be}: {register}");
                for (some, whole) in some.iter().zip(&whole) {
                    assert_eq!(some.id(), whole.id(), "{be}: {register}");
                    for (i, (a, b)) in some.values().iter().zip(whole.values()).enumerate() {
                        let kept = wanted[i] || i == 0 || register.key_indices().contains(&i);
                        if kept {
                            assert_eq!(a, b, "{be}: {register} {} field {i}", whole.id());
                            compared += usize::from(!b.is_null());
                        } else {
                            assert!(a.is_null(), "{be}: {register} field {i} was read");
                        }
                    }
                }
            }
        }
        assert!(compared > 50, "{be}: only {compared} values compared");

        // A register's size as the estate read orders its reads: its count, whether the
        // database has estimated the table's size yet (PostgreSQL, after ANALYZE) or not.
        let sizes = |store: &dyn steward_store::Store| {
            [
                Register::People,
                Register::Assets,
                Register::Usage,
                Register::Incidents,
            ]
            .map(|r| (store.size_hint(r).unwrap(), store.count(r).unwrap()))
        };
        let before = sizes(store);
        db.execute("ANALYZE").unwrap();
        for (hint, count) in before.into_iter().chain(sizes(store)) {
            assert_eq!(hint, count, "{be}");
        }
        assert_eq!(before[0].1, 2, "{be}");

        // A value stored corrupt is refused by either reading, naming its table, column and
        // row. (SQLite alone lets text into a date column.)
        if be == steward_store::Backend::Sqlite {
            db.execute("UPDATE assets SET assigned_on = 'soon' WHERE tag = 'LT1'")
                .unwrap();
            let wanted = vec![true; Register::Assets.fields().len()];
            let corrupt = |r: Result<(), StoreError>| match r {
                Err(StoreError::Corrupt {
                    table, column, id, ..
                }) => (table, column, id),
                other => panic!("{be}: {other:?}"),
            };
            let expected = ("assets", "assigned_on", "LT1".to_owned());
            assert_eq!(
                corrupt(store.list_fields(Register::Assets, &wanted).map(drop)),
                expected
            );
            assert_eq!(
                corrupt(
                    store
                        .each_fields(Register::Assets, &wanted, &mut |_| {})
                        .map(drop)
                ),
                expected
            );
        }
    });
}

/// One row of each of the registers added with composite keys, whole numbers and countries.
fn more_rows() -> Vec<steward_model::Row> {
    use steward_model::{
        Acceptance, Adjustment, AdjustmentSource, Country, Exception, Questionnaire, Sighting,
        SubjectType, Training, Travel, TravelStatus, Usage,
    };
    let day = |d: u32| date(d).unwrap();
    vec![
        Usage {
            month: "2026-10".parse().unwrap(),
            asset_tag: "LT1".into(),
            data_mb: 5_000_000_000,
            roaming_mb: Some(0),
            voice_minutes: None,
            texts: Some(3),
            private_cost_gbp: Some(steward_model::Pence(1250)),
        }
        .to_row(),
        Sighting {
            asset_tag: Some("LT1".into()),
            seen_at: at(20),
            country: "fr".parse::<Country>().unwrap(),
            account_id: None,
        }
        .to_row(),
        Travel {
            id: "T1".into(),
            person_id: "P2".into(),
            countries: "AE;IN".parse().unwrap(),
            depart_on: day(18),
            return_on: day(25),
            status: TravelStatus::Approved,
            approved_by: Some("P1".into()),
        }
        .to_row(),
        Training {
            person_id: "P2".into(),
            course: "data-protection".into(),
            completed_on: day(3),
            expires_on: None,
        }
        .to_row(),
        Acceptance {
            person_id: "P2".into(),
            pack: "cafcass-it-5.0".into(),
            version: "5.0".into(),
            accepted_on: day(3),
        }
        .to_row(),
        Questionnaire {
            person_id: "P2".into(),
            completed_on: day(3),
            passed: false,
        }
        .to_row(),
        Adjustment {
            person_id: "P2".into(),
            source: AdjustmentSource::AccessToWork,
            device_kind: AssetKind::Laptop,
            approved_on: day(1),
            expires_on: Some(day(30)),
        }
        .to_row(),
        Exception {
            id: "EX1".into(),
            pack: "cafcass-it-5.0".into(),
            clause: "2.6(v)".into(),
            subject_type: SubjectType::Usage,
            subject_id: "2026-10/LT1".into(),
            reason: "Video calls from a hospital ward".into(),
            granted_by: "P1".into(),
            granted_on: day(5),
            expires_on: None,
        }
        .to_row(),
    ]
}

#[test]
fn registers_keyed_on_several_fields_are_stored_and_audited_by_their_key() {
    on_every_backend("keyed", |store, db| {
        let mut rows = vec![
            person("P1", None).to_row(),
            person("P2", Some("P1")).to_row(),
            laptop("LT1", Some("P2"), date(2)).to_row(),
        ];
        rows.extend(more_rows());
        let summary = store.commit("test", at(1), rows.clone()).unwrap();
        assert_eq!(summary.created, rows.len(), "{}", db.backend);
        for row in &rows {
            assert_eq!(
                store.get(row.register(), row.id()).unwrap().as_ref(),
                Some(row),
                "{} {} on {}",
                row.register(),
                row.id(),
                db.backend
            );
        }
        assert_eq!(
            store.ids(Register::Usage).unwrap(),
            ["2026-10/LT1"],
            "{}",
            db.backend
        );
        let usage = store.list(Register::Usage).unwrap();
        assert_eq!(usage[0].get("data_mb"), Some(&Value::Int(5_000_000_000)));
        assert_eq!(usage[0].get("voice_minutes"), Some(&Value::Null));
        let sighting = store.list(Register::Sightings).unwrap();
        assert_eq!(sighting[0].id(), "LT1/2026-11-20T09:00:00Z");
        assert_eq!(sighting[0].get("country"), Some(&Value::Text("FR".into())));

        // The audit log names a keyed row by its key.
        let mut seen = Vec::new();
        let query = AuditQuery {
            entity: Some(("sighting".into(), "LT1/2026-11-20T09:00:00Z".into())),
            limit: None,
            before: None,
        };
        store
            .audit_records(&query, &mut |r| {
                seen.push(r.after.unwrap_or_default());
                Ok(())
            })
            .unwrap();
        assert_eq!(seen.len(), 1, "{}", db.backend);
        assert!(
            seen[0].contains("\"key\":\"LT1/2026-11-20T09:00:00Z\""),
            "{}",
            seen[0]
        );

        // An update by key changes the row in place; the same rows again change nothing.
        let mut changed = usage[0].clone();
        assert!(changed.set("roaming_mb", Value::Int(12)));
        let summary = store.commit("test", at(2), vec![changed.clone()]).unwrap();
        assert_eq!((summary.created, summary.updated), (0, 1));
        assert_eq!(store.count(Register::Usage).unwrap(), 1);
        let again = store.commit("test", at(3), more_rows()).unwrap();
        assert_eq!(again.updated, 1, "only the usage row differs");
        assert!(steward_store::verify_audit(store).unwrap().is_ok());

        // A key edited behind steward's back no longer matches its fields: refused on reading.
        tamper(db, "UPDATE usage SET month = '2026-09'");
        let err = store.list(Register::Usage).unwrap_err();
        assert!(
            err.to_string()
                .contains("the key's fields give \"2026-09/LT1\""),
            "{err}"
        );
    });
}

#[test]
fn assignment_history_is_appended_never_overwritten() {
    on_every_backend("assignments", |store, db| {
        let people = vec![person("P1", None).to_row(), person("P2", None).to_row()];
        store.commit("test", at(1), people).unwrap();
        store
            .commit(
                "it",
                at(2),
                vec![laptop("LT1", Some("P1"), date(2)).to_row()],
            )
            .unwrap();
        store
            .commit(
                "it",
                at(10),
                vec![laptop("LT1", Some("P2"), date(10)).to_row()],
            )
            .unwrap();
        store
            .commit("it", at(15), vec![laptop("LT1", None, None).to_row()])
            .unwrap();

        let spans = store.assignments(AssignmentsOf::Asset("LT1")).unwrap();
        let seen: Vec<_> = spans
            .iter()
            .map(|a| (a.person_id.as_str(), a.from, a.until))
            .collect();
        assert_eq!(
            seen,
            [
                ("P1", date(2).unwrap(), date(10)),
                ("P2", date(10).unwrap(), date(15))
            ],
            "{}",
            db.backend
        );
        assert_eq!(
            store
                .assignments(AssignmentsOf::Person("P2"))
                .unwrap()
                .len(),
            1
        );

        let mut history = Vec::new();
        let query = AuditQuery {
            entity: Some(("asset".into(), "LT1".into())),
            limit: None,
            before: None,
        };
        store
            .audit_records(&query, &mut |r| {
                history.push((r.action, r.actor));
                Ok(())
            })
            .unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history[0], ("create".to_owned(), "it".to_owned()));
        assert_eq!(history[2].0, "update");
    });
}

#[test]
fn a_failed_commit_changes_nothing() {
    on_every_backend("rollback", |store, db| {
        store
            .commit("test", at(1), vec![person("P1", None).to_row()])
            .unwrap();
        let head = store.audit_head().unwrap();
        let mut changed = person("P1", None);
        changed.name = "Renamed".into();
        // The laptop names a person who does not exist: the whole commit must fail.
        let result = store.commit(
            "test",
            at(2),
            vec![
                changed.to_row(),
                laptop("LT9", Some("P404"), date(2)).to_row(),
            ],
        );
        assert!(result.is_err(), "{}", db.backend);
        assert_eq!(store.audit_head().unwrap(), head);
        assert_eq!(store.count(Register::Assets).unwrap(), 0);
        let stored = store.get(Register::People, "P1").unwrap().unwrap();
        assert_eq!(stored.get("name"), Some(&Value::Text("Person P1".into())));
    });
}

/// Runs a statement straight against the database, behind steward's back.
fn tamper(db: &TestDatabase, sql: &str) {
    db.execute(sql)
        .unwrap_or_else(|e| panic!("{}: {sql}: {e}", db.backend));
}

#[test]
fn audit_verify_names_the_first_tampered_record() {
    type Check = fn(&ChainBreak) -> bool;
    let cases: &[(&str, &str, Check)] = &[
        (
            "altered",
            "UPDATE audit_payloads SET after_json = REPLACE(after_json, 'Person P3', 'Someone else') WHERE seq = 3",
            |b| matches!(b, ChainBreak::PayloadAltered { seq: 3, .. }),
        ),
        (
            "payload_hash",
            "UPDATE audit_log SET after_hash = before_hash WHERE seq = 3",
            |b| matches!(b, ChainBreak::Altered { seq: 3, .. }),
        ),
        (
            "erased_without_erasure",
            "UPDATE audit_payloads SET after_json = '{}', erased_by = 99 WHERE seq = 3",
            |b| {
                matches!(
                    b,
                    ChainBreak::Erasure {
                        seq: 3,
                        erased_by: 99,
                        ..
                    }
                )
            },
        ),
        (
            "actor",
            "UPDATE audit_log SET actor = 'nobody' WHERE seq = 2",
            |b| matches!(b, ChainBreak::Altered { seq: 2, .. }),
        ),
        ("removed", "DELETE FROM audit_log WHERE seq = 4", |b| {
            matches!(
                b,
                ChainBreak::Gap {
                    expected: 4,
                    found: 5
                }
            )
        }),
        (
            "swapped",
            "UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; \
             UPDATE audit_log SET seq = 3 WHERE seq = -1",
            |b| {
                matches!(
                    b,
                    ChainBreak::Link { seq: 2, .. } | ChainBreak::Altered { seq: 2, .. }
                )
            },
        ),
        ("truncated", "DELETE FROM audit_log WHERE seq = 6", |b| {
            matches!(
                b,
                ChainBreak::Truncated {
                    expected: 6,
                    found: 5
                }
            )
        }),
    ];
    for (name, sql, check) in cases {
        for db in databases(name) {
            let store = open(&db);
            for i in 1..=6 {
                store
                    .commit("test", at(i), vec![person(&format!("P{i}"), None).to_row()])
                    .unwrap();
            }
            assert!(steward_store::verify_audit(store.as_ref()).unwrap().is_ok());
            tamper(&db, sql);
            let verdict = steward_store::verify_audit(store.as_ref()).unwrap();
            match verdict {
                Err(b) => assert!(check(&b), "{name} on {}: wrong break {b}", db.backend),
                Ok(head) => panic!(
                    "{name} on {}: tampering not detected (head {head:?})",
                    db.backend
                ),
            }
        }
    }
}

#[test]
fn a_database_from_a_newer_steward_is_refused() {
    for db in databases("toonew") {
        drop(open(&db));
        tamper(
            &db,
            "INSERT INTO steward_migrations (version, name, applied_at) VALUES (999, 'future', 'x')",
        );
        match steward_store::open(&db.url) {
            Err(e) => assert!(e.to_string().contains("schema version 999"), "{e}"),
            Ok(_) => panic!("{}: opened a database from the future", db.backend),
        }
    }
}

#[test]
fn rows_are_looked_up_by_a_field() {
    on_every_backend("list_where", |store, db| {
        let b = db.backend;
        let rows = vec![
            person("M1", None).to_row(),
            person("P2", Some("M1")).to_row(),
            person("P1", Some("M1")).to_row(),
            person("P3", None).to_row(),
            laptop("LT1", Some("P1"), date(2)).to_row(),
        ];
        store
            .commit("test", at(1), rows)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let ids = |register, field: &str, value: &str| -> Vec<String> {
            store
                .list_where(register, field, value)
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .iter()
                .map(|r| r.id().to_owned())
                .collect()
        };
        // Each table row: register, field, value, the ids found (ordered by id).
        let table: &[(Register, &str, &str, &[&str])] = &[
            (Register::People, "manager_id", "M1", &["P1", "P2"]),
            (Register::People, "manager_id", "P3", &[]),
            (Register::People, "id", "P3", &["P3"]),
            (Register::Assets, "assigned_to", "P1", &["LT1"]),
            (Register::Assets, "assigned_to", "P2", &[]),
        ];
        let any_ids = |register, field: &str, values: &[String]| -> Vec<String> {
            store
                .list_where_any(register, field, values)
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .iter()
                .map(|r| r.id().to_owned())
                .collect()
        };
        for (register, field, value, want) in table {
            assert_eq!(
                ids(*register, field, value),
                *want,
                "{b}: {register} {field}={value}"
            );
            assert_eq!(
                any_ids(*register, field, &[(*value).to_owned()]),
                *want,
                "{b}: {register} {field} any of {value}"
            );
        }
        // Several values at once, repeats and misses among them, in one order; past the most one
        // statement holds, read in chunks and put back in order.
        let values = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let many: Vec<String> = (0..1_100)
            .map(|n| format!("X{n:04}"))
            .chain(values(&["P3", "M1"]))
            .collect();
        let any_table: &[(Register, &str, Vec<String>, &[&str])] = &[
            (
                Register::People,
                "id",
                values(&["P3", "P1", "P3", "nobody"]),
                &["P1", "P3"],
            ),
            (
                Register::People,
                "manager_id",
                values(&["M1", "P3"]),
                &["P1", "P2"],
            ),
            (Register::People, "id", many.clone(), &["M1", "P3"]),
            (
                Register::Assets,
                "assigned_to",
                values(&["P2", "P1", "M1"]),
                &["LT1"],
            ),
            (Register::People, "id", Vec::new(), &[]),
        ];
        for (register, field, values, want) in any_table {
            assert_eq!(
                any_ids(*register, field, values),
                *want,
                "{b}: {register} {field} any of {} values",
                values.len()
            );
        }
        // Only a text field of the register: never a name from elsewhere in a statement.
        for field in ["no_such_field", "start_date", "id; DROP TABLE people"] {
            assert!(
                matches!(
                    store.list_where(Register::People, field, "x"),
                    Err(steward_store::StoreError::UnknownField { .. })
                ),
                "{b}: {field}"
            );
            assert!(
                matches!(
                    store.list_where_any(Register::People, field, &values(&["x"])),
                    Err(steward_store::StoreError::UnknownField { .. })
                ),
                "{b}: {field}"
            );
        }
    });
}

/// A list page's filters, search and limit, then the ids it finds and its count.
type Case = (
    Vec<(&'static str, &'static str)>,
    Option<&'static str>,
    u64,
    &'static [&'static str],
    u64,
);

/// A case of a list page of the rows another refers to: what it shows, the search, the limit,
/// then the ids (by name) and the count.
type Referred = (
    &'static str,
    Option<&'static str>,
    u64,
    &'static [&'static str],
    u64,
);

#[test]
fn a_list_page_filters_searches_limits_and_counts() {
    on_every_backend("list_page", |store, db| {
        let b = db.backend;
        let mut rows = Vec::new();
        // P1 and P4 manage someone.
        for (id, name, manager) in [
            ("P1", "Ada Lovelace", None),
            ("P2", "ADA 100% Byron", Some("P1")),
            ("P3", "Grace Hopper", Some("P4")),
            ("P4", "Ada_Smith", None),
        ] {
            let mut p = person(id, manager);
            p.name = name.into();
            rows.push(p.to_row());
        }
        store
            .commit("test", at(1), rows)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let page = |equal: Vec<(&str, &str)>, search: Option<&str>, limit: u64| {
            let (rows, total) = store
                .list_page(&steward_store::ListPage {
                    register: Register::People,
                    equal,
                    search: search.map(|t| (vec!["name", "id"], t)),
                    limit,
                    after: None,
                    sort: None,
                    referenced_by: None,
                })
                .unwrap_or_else(|e| panic!("{b}: {e}"));
            let ids: Vec<String> = rows.iter().map(|r| r.id().to_owned()).collect();
            (ids, total)
        };
        // Each row: filters, search, limit, then the ids (ordered by id) and the count.
        let table: &[Case] = &[
            (vec![], None, 10, &["P1", "P2", "P3", "P4"], 4),
            (vec![], None, 2, &["P1", "P2"], 4),
            (vec![], Some("ada"), 10, &["P1", "P2", "P4"], 3),
            (vec![], Some("100%"), 10, &["P2"], 1),
            (vec![], Some("a_s"), 10, &["P4"], 1),
            (vec![], Some("p3"), 10, &["P3"], 1),
            (vec![("status", "active")], Some("ADA"), 1, &["P1"], 3),
            (vec![("status", "leaver")], None, 10, &[], 0),
        ];
        for (equal, search, limit, ids, total) in table {
            let want: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(
                page(equal.clone(), *search, *limit),
                (want, *total),
                "{b}: {equal:?} {search:?} {limit}"
            );
        }
        let bad = store.list_page(&steward_store::ListPage {
            register: Register::People,
            equal: vec![("name) OR (1=1", "x")],
            search: None,
            limit: 1,
            after: None,
            sort: None,
            referenced_by: None,
        });
        assert!(
            matches!(bad, Err(steward_store::StoreError::UnknownField { .. })),
            "{b}"
        );
        // Only the rows another refers to: the people who manage someone, searched and counted
        // as any list is.
        let referred = |by: (Register, &str), search: Option<&str>, limit: u64| {
            store
                .list_page(&steward_store::ListPage {
                    register: Register::People,
                    equal: Vec::new(),
                    search: search.map(|t| (vec!["name", "id", "email"], t)),
                    limit,
                    after: None,
                    sort: Some(("name", false)),
                    referenced_by: Some(by),
                })
                .map(|(rows, total)| {
                    let ids: Vec<String> = rows.iter().map(|r| r.id().to_owned()).collect();
                    (ids, total)
                })
        };
        let managers = (Register::People, "manager_id");
        let cases: &[Referred] = &[
            ("every manager, by name", None, 10, &["P1", "P4"], 2),
            ("a page of one", None, 1, &["P1"], 2),
            ("by part of a name", Some("ADA"), 10, &["P1", "P4"], 2),
            ("`_` is itself", Some("a_s"), 10, &["P4"], 1),
            ("`%` is itself", Some("%"), 10, &[], 0),
            ("by e-mail", Some("p4@"), 10, &["P4"], 1),
            ("managing nobody", Some("grace"), 10, &[], 0),
        ];
        for (what, search, limit, ids, total) in cases {
            let want: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(
                referred(managers, *search, *limit).unwrap_or_else(|e| panic!("{b}: {e}")),
                (want, *total),
                "{b}: {what}"
            );
        }
        // Another register refers too: nobody holds equipment here.
        assert_eq!(
            referred((Register::Assets, "assigned_to"), None, 10)
                .unwrap_or_else(|e| panic!("{b}: {e}")),
            (Vec::new(), 0),
            "{b}"
        );
        assert!(
            matches!(
                referred((Register::People, "manager_id = 1) OR (1"), None, 10),
                Err(steward_store::StoreError::UnknownField { .. })
            ),
            "{b}"
        );
        // Pages follow on, in every order, however small: page by page, the whole list once.
        for sort in [
            None,
            Some(("name", false)),
            Some(("name", true)),
            Some(("email", false)),
        ] {
            let whole = |after: Option<&str>, limit: u64| {
                store
                    .list_page(&steward_store::ListPage {
                        register: Register::People,
                        equal: Vec::new(),
                        search: None,
                        limit,
                        after,
                        sort,
                        referenced_by: None,
                    })
                    .unwrap_or_else(|e| panic!("{b}: {e}"))
            };
            let (all, total) = whole(None, 100);
            let all: Vec<String> = all.iter().map(|r| r.id().to_owned()).collect();
            assert_eq!(total, 4, "{b}");
            if let Some((field, desc)) = sort {
                let value = |id: &String| {
                    let p = steward_model::Person::from_row(
                        &store
                            .get(Register::People, id)
                            .unwrap_or_else(|e| panic!("{b}: {e}"))
                            .unwrap_or_else(|| panic!("{b}: {id}")),
                    )
                    .unwrap_or_else(|e| panic!("{b}: {e}"));
                    match field {
                        "name" => p.name.to_lowercase(),
                        _ => p.email.unwrap_or_default(),
                    }
                };
                for pair in all.windows(2) {
                    let (x, y) = (value(&pair[0]), value(&pair[1]));
                    assert!(
                        if desc { x >= y } else { x <= y } || x.is_empty() || y.is_empty(),
                        "{b}: {sort:?}: {x:?} then {y:?}"
                    );
                }
            }
            for size in [1, 2, 3] {
                let mut paged: Vec<String> = Vec::new();
                let mut after: Option<String> = None;
                loop {
                    let (rows, total) = whole(after.as_deref(), size);
                    assert_eq!(total, 4, "{b}: the count is the filter's, not the page's");
                    let Some(last) = rows.last() else { break };
                    after = Some(last.id().to_owned());
                    paged.extend(rows.iter().map(|r| r.id().to_owned()));
                    assert!(paged.len() <= 4, "{b}: pages never end");
                }
                assert_eq!(paged, all, "{b}: {sort:?} by {size}");
            }
        }
    });
}

#[test]
fn a_row_meant_to_be_new_is_refused_if_it_is_there_and_nothing_is_written() {
    on_every_backend("commit_creating", |store, db| {
        let b = db.backend;
        fn ok<T>(b: steward_store::Backend, r: steward_store::Result<T>) -> T {
            r.unwrap_or_else(|e| panic!("{b}: {e}"))
        }
        ok(
            b,
            store.commit("test", at(1), vec![person("P1", None).to_row()]),
        );
        let head = ok(b, store.audit_head());
        let mut renamed = person("P1", None);
        renamed.name = "Someone else".into();
        let refused = store.commit_creating(
            "test",
            at(2),
            vec![person("P2", None).to_row(), renamed.to_row()],
            &[(Register::People, "P2"), (Register::People, "P1")],
        );
        assert!(
            matches!(&refused, Err(StoreError::AlreadyExists { register: Register::People, id }) if id == "P1"),
            "{b}: {refused:?}"
        );
        assert_eq!(ok(b, store.audit_head()), head, "{b}: the audit log moved");
        assert!(
            ok(b, store.get(Register::People, "P2")).is_none(),
            "{b}: P2 was written"
        );
        // Meant to be new and new: written like any commit.
        let made = ok(
            b,
            store.commit_creating(
                "test",
                at(3),
                vec![person("P2", None).to_row()],
                &[(Register::People, "P2")],
            ),
        );
        assert_eq!(made.created, 1, "{b}");
    });
}

#[test]
fn a_change_made_against_a_row_since_changed_is_refused_and_nothing_is_written() {
    on_every_backend("commit_expecting", |store, db| {
        let b = db.backend;
        fn ok<T>(b: steward_store::Backend, r: steward_store::Result<T>) -> T {
            r.unwrap_or_else(|e| panic!("{b}: {e}"))
        }
        ok(
            b,
            store.commit("test", at(1), vec![person("P1", None).to_row()]),
        );
        let read = ok(b, store.get(Register::People, "P1")).unwrap_or_else(|| panic!("{b}"));
        // Another writer's change lands first.
        let mut theirs = person("P1", None);
        theirs.name = "Their name".into();
        ok(b, store.commit("other", at(2), vec![theirs.to_row()]));
        let head = ok(b, store.audit_head());
        let mut mine = person("P1", None);
        mine.name = "My name".into();
        let refused = store.commit_expecting(
            "test",
            at(3),
            vec![mine.to_row()],
            std::slice::from_ref(&read),
        );
        assert!(
            matches!(&refused, Err(StoreError::Stale { register: Register::People, id }) if id == "P1"),
            "{b}: {refused:?}"
        );
        assert_eq!(ok(b, store.audit_head()), head, "{b}: the audit log moved");
        let now = ok(b, store.get(Register::People, "P1")).unwrap_or_else(|| panic!("{b}"));
        assert_eq!(now, theirs.to_row(), "{b}: their change stands");
        // Made against the row as it now is: written.
        let made = ok(
            b,
            store.commit_expecting("test", at(4), vec![mine.to_row()], &[now]),
        );
        assert_eq!(made.updated, 1, "{b}");
    });
}

/// The foreign keys of Steward's tables, as PostgreSQL's catalog holds them (asked as the owner);
/// empty on SQLite, whose references live in each table's own definition.
fn foreign_keys(db: &TestDatabase) -> Vec<String> {
    if db.backend != steward_store::Backend::Postgres {
        return Vec::new();
    }
    let mut owner =
        postgres::Client::connect(&db.owner_url, postgres::NoTls).expect("the owner connects");
    owner
        .query(
            "SELECT conrelid::regclass::text || ' ' || conname || ' ' || \
             pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' ORDER BY 1",
            &[],
        )
        .expect("the catalog")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A load of 25,000 people (more than one part of a commit's audit records) and their laptops
/// into empty registers; `broken` names a manager no one is, for one person, and a holder no one
/// is, for one laptop.
fn bulk_load(broken: Option<&str>) -> Vec<steward_model::Row> {
    let mut rows: Vec<steward_model::Row> = (0..25_000)
        .map(|i| {
            let manager = match (i, broken) {
                (0, _) => None,
                (21_007, Some(nobody)) => Some(nobody.to_owned()),
                _ => Some(format!("P{:05}", i / 10)),
            };
            person(&format!("P{i:05}"), manager.as_deref()).to_row()
        })
        .collect();
    rows.extend((0..50).map(|i| {
        let holder = match (i, broken) {
            (3, Some(nobody)) => nobody.to_owned(),
            _ => format!("P{:05}", i * 7),
        };
        laptop(&format!("L{i:03}"), Some(&holder), date(2)).to_row()
    }));
    rows
}

/// A large load into empty registers checks every reference once, after the rows are in (on
/// PostgreSQL, as the owner, the keys are set aside for the load and put back before the
/// commit); the app role checks them row by row. Either way a broken reference is refused with
/// nothing written, and afterwards every key is in place.
#[test]
fn a_bulk_load_into_empty_registers_checks_every_reference_and_keeps_every_key() {
    for db in databases("bulk") {
        let b = db.backend;
        let keys = foreign_keys(&db);
        assert!(
            b != steward_store::Backend::Postgres || keys.len() > 30,
            "{b}: {keys:?}"
        );
        for url in [&db.url, &db.owner_url] {
            let store = steward_store::open(url).unwrap_or_else(|e| panic!("{b}: {e}"));
            let head = store.audit_head().unwrap_or_else(|e| panic!("{b}: {e}"));
            for nobody in ["NOBODY", "P99999"] {
                let refused = store.commit("tester", at(2), bulk_load(Some(nobody)));
                let error = refused
                    .map(|_| ())
                    .expect_err("a broken reference is refused");
                assert!(
                    format!("{error:?}").to_lowercase().contains("foreign key"),
                    "{b}: {error:?}"
                );
                assert_eq!(store.count(Register::People).ok(), Some(0), "{b}");
                assert_eq!(store.count(Register::Assets).ok(), Some(0), "{b}");
                assert_eq!(store.audit_head().ok().as_ref(), Some(&head), "{b}");
                assert_eq!(foreign_keys(&db), keys, "{b}: the keys as they were");
            }
        }
        let store = steward_store::open(&db.owner_url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let summary = store
            .commit("tester", at(2), bulk_load(None))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(summary.created, 25_050, "{b}");
        assert_eq!(foreign_keys(&db), keys, "{b}: every key put back");
        let (seq, _) = store.audit_head().unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(seq, 25_050, "{b}: one audit record per row");
        let verdict =
            steward_store::verify_audit(store.as_ref()).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(verdict.is_ok(), "{b}: {verdict:?}");
        // The keys hold again: a later write naming no one is refused.
        let later = store.commit(
            "tester",
            at(3),
            vec![laptop("L999", Some("NOBODY"), date(3)).to_row()],
        );
        assert!(later.is_err(), "{b}: {later:?}");
        assert_eq!(store.count(Register::Assets).ok(), Some(50), "{b}");
    }
}
