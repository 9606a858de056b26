//! The findings story: runs recorded one after another, on every backend `testing::databases`
//! returns, checking the lifecycle, the history, point-in-time queries and the audit chain.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use steward_model::audit::ChainBreak;
use steward_model::{Finding, FindingState, StoredFinding, Subject};
use steward_store::testing::{TestDatabase, databases};
use steward_store::{
    AuditQuery, ESCALATION_MAIL, ExceptionCover, FindingEventKind, FindingQuery, FindingsSummary,
    LadderStep, Ladders, MailSent, Store, StoreError,
};

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
}

fn finding(pack: &str, control: &str, clause: &str, kind: &str, id: &str) -> Finding {
    Finding {
        pack: pack.into(),
        version: "5.0".into(),
        clause: clause.into(),
        control: control.into(),
        subject: Subject {
            kind: kind.to_owned().into(),
            id: id.into(),
        },
        severity: "high".into(),
        message: format!("{id} fails {control}"),
        message_you: None,
        clause_text: format!("Clause {clause}, quoted.").into(),
        evidence: steward_model::Evidence::from([(format!("{kind}.id"), id.to_owned())]),
        who_acts: "it_team".into(),
        due: None,
        undecided: None,
    }
}

/// An unencrypted laptop (IT pack, high).
fn a() -> Finding {
    let mut f = finding("it", "encrypted", "2.6(v)", "asset", "LT1");
    f.evidence.insert("asset.encrypted".into(), "false".into());
    f
}

/// An unpatched laptop (IT pack, critical), due on the 6th.
fn b() -> Finding {
    let mut f = finding("it", "patched", "2.7", "asset", "LT2");
    f.severity = "critical".into();
    f.due = Some(day(6));
    f
}

/// Training not done (HR pack, medium), acted on by the line manager.
fn c() -> Finding {
    let mut f = finding("hr", "trained", "4.1", "person", "P1");
    f.severity = "medium".into();
    f.who_acts = "line_manager".into();
    f
}

fn packs(names: &[&str]) -> Vec<String> {
    names.iter().map(|p| (*p).to_owned()).collect()
}

fn open(db: &TestDatabase) -> Box<dyn Store> {
    steward_store::open(&db.url).unwrap_or_else(|e| panic!("{}: {e}", db.backend))
}

fn keys(found: &[StoredFinding]) -> Vec<String> {
    found.iter().map(|s| s.finding.key()).collect()
}

fn stored(store: &dyn Store, key: &str) -> StoredFinding {
    let all = store
        .findings(&FindingQuery {
            states: FindingState::ALL.to_vec(),
            ..FindingQuery::default()
        })
        .unwrap();
    all.into_iter()
        .find(|s| s.finding.key() == key)
        .unwrap_or_else(|| panic!("{key} is not stored"))
}

fn events(store: &dyn Store, key: &str) -> Vec<FindingEventKind> {
    store
        .finding_history(key)
        .unwrap()
        .iter()
        .map(|e| e.event)
        .collect()
}

/// The audit records of one finding, by sequence number.
fn audit_seqs(store: &dyn Store, key: &str) -> Vec<i64> {
    let mut seqs = Vec::new();
    let query = AuditQuery {
        entity: Some(("finding".into(), key.into())),
        limit: None,
        before: None,
    };
    store
        .audit_records(&query, &mut |r| {
            seqs.push(r.seq);
            Ok(())
        })
        .unwrap();
    seqs
}

#[test]
fn findings_keep_their_lifecycle_history_and_audit_trail() {
    for db in databases("findings") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;
        let (ka, kb, kc) = (a().key(), b().key(), c().key());
        assert_eq!(ka, "it/encrypted/asset/LT1");
        let both = packs(&["it", "hr"]);
        let it = packs(&["it"]);

        // 1. The first run opens every finding, failing from now.
        let s = store
            .record_findings(
                "check",
                at(1),
                &both,
                vec![a(), b(), c()],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!(
            s,
            FindingsSummary {
                opened: 3,
                audit_range: Some((1, 3)),
                ..FindingsSummary::default()
            },
            "{backend}"
        );
        let open_now = store.findings(&FindingQuery::default()).unwrap();
        // Most severe first: critical, high, medium.
        assert_eq!(
            keys(&open_now),
            [kb.as_str(), ka.as_str(), kc.as_str()],
            "{backend}"
        );
        assert_eq!(open_now[1].finding, a(), "{backend}: stored whole");
        assert_eq!(open_now[1].state, FindingState::Open);
        assert_eq!(open_now[1].first_failing, at(1));
        assert_eq!(open_now[1].last_failing, at(1));
        assert_eq!(open_now[1].resolved_at, None);

        // 2. The same run again keeps first_failing, moves last_failing and writes nothing else.
        let s = store
            .record_findings(
                "check",
                at(2),
                &both,
                vec![c(), b(), a()],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!(
            s,
            FindingsSummary {
                unchanged: 3,
                ..FindingsSummary::default()
            },
            "{backend}"
        );
        assert_eq!(store.audit_head().unwrap().0, 3, "{backend}");
        let sa = stored(store, ka.as_str());
        assert_eq!((sa.first_failing, sa.last_failing), (at(1), at(2)));
        assert_eq!(events(store, ka.as_str()), [FindingEventKind::Opened]);

        // 3. A changed message updates the row, with an `updated` event saying what changed.
        let mut a3 = a();
        a3.message = "LT1 is still not encrypted".into();
        let s = store
            .record_findings(
                "check",
                at(3),
                &both,
                vec![a3.clone(), b(), c()],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!((s.updated, s.unchanged, s.opened), (1, 2, 0), "{backend}");
        let sa = stored(store, ka.as_str());
        assert_eq!(sa.finding.message, "LT1 is still not encrypted");
        assert_eq!(
            sa.first_failing,
            at(1),
            "{backend}: an update is no new failure"
        );
        let history = store.finding_history(ka.as_str()).unwrap();
        assert_eq!(
            history.iter().map(|e| e.event).collect::<Vec<_>>(),
            [FindingEventKind::Opened, FindingEventKind::Updated]
        );
        assert_eq!(
            history[1].details["changed"]["message"]["before"],
            "LT1 fails encrypted"
        );
        assert_eq!(
            history[1].details["changed"]["message"]["after"],
            "LT1 is still not encrypted"
        );
        assert_eq!(history[1].at, at(3));

        // 4. Only the IT pack is evaluated and A is no longer reported: A resolves, the HR
        //    pack's finding is left exactly as it was.
        let before_c = stored(store, kc.as_str());
        let s = store
            .record_findings("check", at(4), &it, vec![b()], &[], &Default::default())
            .unwrap();
        assert_eq!((s.resolved, s.unchanged), (1, 1), "{backend}");
        assert_eq!(s.opened + s.updated + s.reopened, 0);
        let sa = stored(store, ka.as_str());
        assert_eq!(sa.state, FindingState::Resolved, "{backend}");
        assert_eq!(sa.resolved_at, Some(at(4)));
        assert_eq!(sa.last_failing, at(3));
        assert_eq!(
            stored(store, kc.as_str()),
            before_c,
            "{backend}: other pack untouched"
        );
        assert_eq!(stored(store, kc.as_str()).last_failing, at(3));
        assert_eq!(events(store, kc.as_str()), [FindingEventKind::Opened]);
        assert_eq!(
            keys(&store.findings(&FindingQuery::default()).unwrap()),
            [kb.as_str(), kc.as_str()],
            "{backend}: resolved ones are not listed by default"
        );
        let resolved = store
            .findings(&FindingQuery {
                states: vec![FindingState::Resolved],
                ..FindingQuery::default()
            })
            .unwrap();
        assert_eq!(keys(&resolved), [ka.as_str()]);

        // 5. A fails again: reopened, failing from now; the history keeps both episodes.
        let s = store
            .record_findings(
                "check",
                at(5),
                &it,
                vec![a3.clone(), b()],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!((s.reopened, s.unchanged), (1, 1), "{backend}");
        let sa = stored(store, ka.as_str());
        assert_eq!(sa.state, FindingState::Open);
        assert_eq!((sa.first_failing, sa.resolved_at), (at(5), None));
        let history = store.finding_history(ka.as_str()).unwrap();
        let episodes: Vec<_> = history
            .iter()
            .filter(|e| e.event.starts_episode())
            .map(|e| e.first_failing)
            .collect();
        assert_eq!(episodes, [at(1), at(5)], "{backend}");
        assert_eq!(
            history[3].details["previous"]["first_failing"],
            "2026-11-01T09:00:00.000000Z"
        );
        assert_eq!(
            history[3].details["previous"]["resolved_at"],
            "2026-11-04T09:00:00.000000Z"
        );

        // 6. An exception for A's clause and subject covers it; one for another clause covers
        //    nothing.
        let ex1 = ExceptionCover {
            id: "EX1".into(),
            pack: "it".into(),
            clause: "2.6(v)".into(),
            subject_type: "asset".into(),
            subject_id: "LT1".into(),
            expires_on: Some(day(7)),
        };
        let elsewhere = ExceptionCover {
            id: "EX2".into(),
            clause: "2.8".into(),
            subject_id: "LT2".into(),
            ..ex1.clone()
        };
        let exceptions = [ex1.clone(), elsewhere];
        let s = store
            .record_findings(
                "check",
                at(6),
                &it,
                vec![a3.clone(), b()],
                &exceptions,
                &Default::default(),
            )
            .unwrap();
        assert_eq!((s.excepted, s.unchanged), (1, 1), "{backend}");
        let sa = stored(store, ka.as_str());
        assert_eq!(sa.state, FindingState::Excepted, "{backend}");
        assert_eq!(sa.exception.as_deref(), Some("EX1"));
        assert_eq!(
            sa.first_failing,
            at(5),
            "{backend}: excepted, still failing"
        );
        assert_eq!(stored(store, kb.as_str()).state, FindingState::Open);

        // 7. Two days later EX1 has expired: A is open again, failing since the 5th. B is past
        //    its due date (the 6th) and still failing: escalated.
        let s = store
            .record_findings(
                "check",
                at(8),
                &it,
                vec![a3.clone(), b()],
                &exceptions,
                &Default::default(),
            )
            .unwrap();
        assert_eq!(
            (s.exception_expired, s.escalated, s.unchanged),
            (1, 1, 0),
            "{backend}"
        );
        let sa = stored(store, ka.as_str());
        assert_eq!((sa.state, sa.exception), (FindingState::Open, None));
        assert_eq!(sa.first_failing, at(5));
        let history = store.finding_history(ka.as_str()).unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.event, FindingEventKind::ExceptionExpired);
        assert_eq!(last.details["exception"], "EX1");
        assert_eq!(last.details["expires_on"], "2026-11-07");
        let escalated = store
            .findings(&FindingQuery {
                states: vec![FindingState::Escalated],
                ..FindingQuery::default()
            })
            .unwrap();
        assert_eq!(keys(&escalated), [kb.as_str()], "{backend}");
        assert_eq!(
            events(store, kb.as_str()),
            [FindingEventKind::Opened, FindingEventKind::Escalated]
        );
        assert_eq!(
            events(store, ka.as_str()),
            [
                FindingEventKind::Opened,
                FindingEventKind::Updated,
                FindingEventKind::Resolved,
                FindingEventKind::Reopened,
                FindingEventKind::Excepted,
                FindingEventKind::ExceptionExpired,
            ],
            "{backend}"
        );

        // Filters.
        let by = |q: FindingQuery| keys(&store.findings(&q).unwrap());
        assert_eq!(
            by(FindingQuery {
                pack: Some("hr".into()),
                ..FindingQuery::default()
            }),
            [kc.as_str()]
        );
        assert_eq!(
            by(FindingQuery {
                severity: Some("high".into()),
                ..FindingQuery::default()
            }),
            [ka.as_str()]
        );
        assert_eq!(
            by(FindingQuery {
                subject_type: Some("asset".into()),
                subject_id: Some("LT2".into()),
                ..FindingQuery::default()
            }),
            [kb.as_str()]
        );
        // A section: the clause itself and those numbered under it, its text taken literally.
        for (section, expected) in [
            ("2", vec![ka.as_str(), kb.as_str()]),
            ("2.6", vec![ka.as_str()]),
            ("2.6(v)", vec![ka.as_str()]),
            ("2.7", vec![kb.as_str()]),
            ("4", vec![kc.as_str()]),
            ("2.", vec![]),
            ("2.60", vec![]),
            ("%", vec![]),
            ("_", vec![]),
        ] {
            let mut found = by(FindingQuery {
                section: Some(section.into()),
                ..FindingQuery::default()
            });
            found.sort();
            let mut expected = expected;
            expected.sort();
            assert_eq!(found, expected, "{backend}: section {section}");
        }
        // Any of several packs; failing since at least or at most some instant.
        for (packs, expected) in [
            (vec!["hr"], vec![kc.as_str()]),
            (
                vec!["hr", "it"],
                vec![ka.as_str(), kb.as_str(), kc.as_str()],
            ),
            (vec!["nothing"], vec![]),
        ] {
            let mut found = by(FindingQuery {
                packs: packs.iter().map(|p| (*p).to_owned()).collect(),
                ..FindingQuery::default()
            });
            found.sort();
            let mut expected = expected;
            expected.sort();
            assert_eq!(found, expected, "{backend}: packs {packs:?}");
        }
        let everyone = by(FindingQuery::default()).len();
        let since = |after: Option<DateTime<Utc>>, before: Option<DateTime<Utc>>| {
            by(FindingQuery {
                failing_since_after: after,
                failing_since_before: before,
                ..FindingQuery::default()
            })
            .len()
        };
        let (long_ago, far_ahead) = (at(1) - Duration::days(400), at(1) + Duration::days(400));
        assert_eq!(since(Some(long_ago), None), everyone, "{backend}");
        assert_eq!(since(Some(far_ahead), None), 0, "{backend}");
        assert_eq!(
            since(Some(long_ago), Some(far_ahead)),
            everyone,
            "{backend}: both bounds"
        );
        assert_eq!(
            since(Some(far_ahead), Some(long_ago)),
            0,
            "{backend}: none between"
        );
        // Any of several subjects: one statement, padded to a power of two by repeating one.
        let subject = |kind: &str, id: &str| steward_model::Subject {
            kind: kind.to_owned().into(),
            id: id.into(),
        };
        for (subjects, expected) in [
            (vec![subject("asset", "LT2")], vec![kb.as_str()]),
            (
                vec![
                    subject("asset", "LT2"),
                    subject("person", "LT1"),
                    subject("asset", "LT9"),
                ],
                vec![kb.as_str()],
            ),
            (
                vec![
                    subject("asset", "LT1"),
                    subject("asset", "LT2"),
                    subject("asset", "LT1"),
                ],
                {
                    let mut both = vec![ka.as_str(), kb.as_str()];
                    both.sort();
                    both
                },
            ),
        ] {
            let mut found = by(FindingQuery {
                subjects: subjects.clone(),
                ..FindingQuery::default()
            });
            found.sort();
            assert_eq!(found, expected, "{backend}: {subjects:?}");
        }
        assert_eq!(
            by(FindingQuery {
                who_acts: Some("line_manager".into()),
                ..FindingQuery::default()
            }),
            [kc.as_str()]
        );
        assert_eq!(
            by(FindingQuery {
                pack: Some("it".into()),
                clause: Some("2.6(v)".into()),
                control: Some("encrypted".into()),
                ..FindingQuery::default()
            }),
            [ka.as_str()]
        );
        assert!(
            by(FindingQuery {
                clause: Some("9.9".into()),
                ..FindingQuery::default()
            })
            .is_empty()
        );

        // Point in time: what was failing at an earlier instant, and how it stood then.
        let as_of = |t: DateTime<Utc>, states: Vec<FindingState>| {
            store
                .findings(&FindingQuery {
                    as_of: Some(t),
                    states,
                    ..FindingQuery::default()
                })
                .unwrap()
        };
        assert!(as_of(at(1) - Duration::hours(1), vec![]).is_empty());
        let then = as_of(at(3) + Duration::hours(1), vec![]);
        assert_eq!(
            keys(&then),
            [kb.as_str(), ka.as_str(), kc.as_str()],
            "{backend}"
        );
        assert_eq!(then[1].state, FindingState::Open);
        assert_eq!(then[1].first_failing, at(1));
        let then = as_of(at(4) + Duration::hours(1), vec![]);
        assert_eq!(
            keys(&then),
            [kb.as_str(), kc.as_str()],
            "{backend}: A was resolved then"
        );
        let then = as_of(at(4), vec![FindingState::Resolved]);
        assert_eq!(
            keys(&then),
            [ka.as_str()],
            "{backend}: an event counts from its instant"
        );
        assert_eq!(then[0].resolved_at, Some(at(4)));
        let then = as_of(at(6) + Duration::hours(1), vec![]);
        assert_eq!(
            keys(&then),
            [kb.as_str(), ka.as_str(), kc.as_str()],
            "{backend}"
        );
        assert_eq!(then[0].state, FindingState::Open, "B was not yet escalated");
        assert_eq!(then[1].state, FindingState::Excepted);
        assert_eq!(then[1].exception.as_deref(), Some("EX1"));
        assert_eq!(then[1].first_failing, at(5));
        let now = as_of(at(9), vec![]);
        assert_eq!(now, store.findings(&FindingQuery::default()).unwrap());

        // Without their text: the same findings in the same order, clause text and evidence empty.
        for query in [
            FindingQuery::default(),
            FindingQuery {
                limit: Some(2),
                ..FindingQuery::default()
            },
            FindingQuery {
                as_of: Some(at(6) + Duration::hours(1)),
                ..FindingQuery::default()
            },
        ] {
            let whole = store.findings(&query).unwrap();
            let narrow = store
                .findings(&FindingQuery {
                    without_text: true,
                    ..query.clone()
                })
                .unwrap();
            assert!(
                whole
                    .iter()
                    .any(|f| !f.finding.clause_text.is_empty() && !f.finding.evidence.is_empty()),
                "{backend}: the story's findings carry text"
            );
            let emptied: Vec<_> = whole
                .into_iter()
                .map(|mut f| {
                    f.finding.clause_text = "".into();
                    f.finding.evidence.clear();
                    f
                })
                .collect();
            assert_eq!(narrow, emptied, "{backend}: {query:?}");
        }

        // A run older than one recorded, a finding of a pack not evaluated and a key reported
        // twice are refused, and change nothing.
        let head = store.audit_head().unwrap();
        let err = store
            .record_findings("check", at(7), &it, vec![], &[], &Default::default())
            .unwrap_err();
        assert!(
            matches!(err, StoreError::StaleRun { .. }),
            "{backend}: {err}"
        );
        let err = store
            .record_findings(
                "check",
                at(9),
                &it,
                vec![a3.clone(), c()],
                &[],
                &Default::default(),
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("its pack \"hr\" is not among those evaluated"),
            "{err}"
        );
        let err = store
            .record_findings(
                "check",
                at(9),
                &it,
                vec![b(), b()],
                &[],
                &Default::default(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("reported twice"), "{err}");
        assert_eq!(store.audit_head().unwrap(), head);
        assert_eq!(stored(store, ka.as_str()).state, FindingState::Open);

        // Every event has its audit record, sharing its sequence number, and the chain holds.
        let event_seqs: Vec<i64> = store
            .finding_history(ka.as_str())
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(event_seqs, audit_seqs(store, ka.as_str()), "{backend}");
        assert_eq!(store.audit_head().unwrap().0, 9, "{backend}");
        assert!(
            steward_store::verify_audit(store).unwrap().is_ok(),
            "{backend}"
        );
        let mut first = None;
        store
            .audit_records(
                &AuditQuery {
                    entity: Some(("finding".into(), ka.clone())),
                    limit: None,
                    before: None,
                },
                &mut |r| {
                    first.get_or_insert(r);
                    Ok(())
                },
            )
            .unwrap();
        let first = first.unwrap();
        assert_eq!((first.action.as_str(), first.before), ("create", None));
        assert!(
            first
                .after
                .as_deref()
                .unwrap()
                .contains(r#""state":"open""#)
        );

        // Rewriting a finding's audit record behind steward's back is detected.
        db.execute(&format!(
            "UPDATE audit_payloads SET after_json = REPLACE(after_json, '\"state\":\"open\"', '\"state\":\"excepted\"') WHERE seq = {}",
            first.seq
        ))
        .unwrap();
        match steward_store::verify_audit(store).unwrap() {
            Err(ChainBreak::PayloadAltered { seq, .. }) => assert_eq!(seq, first.seq, "{backend}"),
            other => panic!("{backend}: tampering not detected: {other:?}"),
        }

        // And a finding whose key no longer matches its parts is refused on reading.
        db.execute(&format!(
            "UPDATE findings SET subject_id = 'LT9' WHERE key = '{ka}'"
        ))
        .unwrap();
        let err = store.findings(&FindingQuery::default()).unwrap_err();
        assert!(err.to_string().contains("its parts give"), "{err}");
    }
}

#[test]
fn a_new_failure_can_start_excepted_or_escalated_and_an_exception_can_be_withdrawn() {
    for db in databases("findings_start") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;
        let it = packs(&["it"]);
        let cover = ExceptionCover {
            id: "EX1".into(),
            pack: "it".into(),
            clause: "2.6(v)".into(),
            subject_type: "asset".into(),
            subject_id: "LT1".into(),
            expires_on: None,
        };
        let s = store
            .record_findings(
                "check",
                at(10),
                &it,
                vec![a(), b()],
                std::slice::from_ref(&cover),
                &Default::default(),
            )
            .unwrap();
        assert_eq!((s.excepted, s.escalated, s.opened), (1, 1, 0), "{backend}");
        assert_eq!(stored(store, &a().key()).state, FindingState::Excepted);
        assert_eq!(stored(store, &b().key()).state, FindingState::Escalated);
        let history = store.finding_history(&b().key()).unwrap();
        assert_eq!(history[0].details["due"], "2026-11-06");

        // The exception leaves the register: A is open again, its episode unbroken.
        let s = store
            .record_findings(
                "check",
                at(11),
                &it,
                vec![a(), b()],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!((s.exception_expired, s.unchanged), (1, 1), "{backend}");
        let sa = stored(store, &a().key());
        assert_eq!((sa.state, sa.first_failing), (FindingState::Open, at(10)));
        let last = store.finding_history(&a().key()).unwrap().pop().unwrap();
        assert_eq!(last.details["withdrawn"], true, "{backend}");

        // An excepted finding that stops failing is resolved, its exception dropped.
        store
            .record_findings(
                "check",
                at(12),
                &it,
                vec![a(), b()],
                &[cover],
                &Default::default(),
            )
            .unwrap();
        let s = store
            .record_findings("check", at(13), &it, vec![], &[], &Default::default())
            .unwrap();
        assert_eq!(s.resolved, 2, "{backend}");
        let sa = stored(store, &a().key());
        assert_eq!((sa.state, sa.exception), (FindingState::Resolved, None));
        assert!(store.findings(&FindingQuery::default()).unwrap().is_empty());
        // Still not failing: resolved stays resolved, from when it was resolved.
        let s = store
            .record_findings("check", at(14), &it, vec![], &[], &Default::default())
            .unwrap();
        assert_eq!(s, FindingsSummary::default(), "{backend}");
        assert_eq!(stored(store, &a().key()).resolved_at, Some(at(13)));
        assert!(store.finding_history("it/none/asset/X").unwrap().is_empty());
        assert!(steward_store::verify_audit(store).unwrap().is_ok());
    }
}

#[test]
fn a_large_run_is_recorded_in_bulk() {
    for db in databases("findings_bulk") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;
        let it = packs(&["it"]);
        let many = |n: usize| -> Vec<Finding> {
            (0..n)
                .map(|i| {
                    let mut f = finding("it", "encrypted", "2.6(v)", "asset", &format!("LT{i:03}"));
                    f.message = format!("tab\there, line\nbreak, back\\slash {i}");
                    f.severity = Finding::SEVERITIES[i % 5].into();
                    f
                })
                .collect()
        };
        let s = store
            .record_findings("check", at(1), &it, many(100), &[], &Default::default())
            .unwrap();
        assert_eq!(
            (s.opened, s.audit_range),
            (100, Some((1, 100))),
            "{backend}"
        );
        let s = store
            .record_findings("check", at(2), &it, many(60), &[], &Default::default())
            .unwrap();
        assert_eq!((s.unchanged, s.resolved), (60, 40), "{backend}");
        let s = store
            .record_findings("check", at(3), &it, many(100), &[], &Default::default())
            .unwrap();
        assert_eq!((s.unchanged, s.reopened), (60, 40), "{backend}");

        let all = store.findings(&FindingQuery::default()).unwrap();
        assert_eq!(all.len(), 100, "{backend}");
        assert_eq!(&*all[0].finding.severity, "critical");
        assert_eq!(&*all[99].finding.severity, "info");
        let ranks: Vec<u8> = all
            .iter()
            .map(|s| Finding::severity_rank(&s.finding.severity))
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{backend}");
        let lt007 = all
            .iter()
            .find(|s| s.finding.subject.id == "LT007")
            .unwrap();
        assert_eq!(lt007.finding, many(100)[7], "{backend}: text survives COPY");
        assert_eq!((lt007.first_failing, lt007.last_failing), (at(1), at(3)));
        let lt070 = all
            .iter()
            .find(|s| s.finding.subject.id == "LT070")
            .unwrap();
        assert_eq!(lt070.first_failing, at(3), "{backend}");
        assert_eq!(
            store.finding_history(&lt070.finding.key()).unwrap().len(),
            3
        );
        assert!(steward_store::verify_audit(store).unwrap().is_ok());
    }
}

/// A control failing for more subjects than one write holds (20,000) is written in several
/// parts of the same transaction: every finding, its event and its audit record, in one chain.
#[test]
fn a_control_failing_for_tens_of_thousands_is_written_in_parts_of_one_run() {
    for db in databases("findings_parts") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;
        let it = packs(&["it"]);
        let many = |n: usize| -> Vec<Finding> {
            (0..n)
                .map(|i| finding("it", "encrypted", "2.6(v)", "asset", &format!("LT{i:05}")))
                .collect()
        };
        let s = store
            .record_findings("check", at(1), &it, many(45_000), &[], &Default::default())
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(
            (s.opened, s.audit_range),
            (45_000, Some((1, 45_000))),
            "{backend}"
        );
        let s = store
            .record_findings("check", at(2), &it, many(30_000), &[], &Default::default())
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!((s.unchanged, s.resolved), (30_000, 15_000), "{backend}");
        assert_eq!(s.audit_range, Some((45_001, 60_000)), "{backend}");
        // Open, escalated or excepted: the failing ones.
        let failing = FindingQuery::default();
        assert_eq!(
            store.count_findings(&failing).ok(),
            Some(30_000),
            "{backend}"
        );
        for (i, expected) in [(0, 1), (19_999, 1), (20_000, 1), (44_999, 2)] {
            let key = many(i + 1)[i].key();
            assert_eq!(
                store.finding_history(&key).map(|h| h.len()).ok(),
                Some(expected),
                "{backend}: {key}"
            );
        }
        assert!(
            steward_store::verify_audit(store)
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
                .is_ok(),
            "{backend}"
        );
    }
}

#[test]
fn findings_are_counted_limited_and_tallied_by_the_database() {
    for db in databases("finding_tallies") {
        let backend = db.backend;
        let store = open(&db);
        let both = packs(&["it", "hr"]);
        // Day 1: a and c fail; day 3: b fails too; day 5: a is resolved.
        store
            .record_findings(
                "check",
                at(1),
                &both,
                vec![a(), c()],
                &[],
                &Default::default(),
            )
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        store
            .record_findings(
                "check",
                at(3),
                &both,
                vec![a(), b(), c()],
                &[],
                &Default::default(),
            )
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        store
            .record_findings(
                "check",
                at(5),
                &both,
                vec![b(), c()],
                &[],
                &Default::default(),
            )
            .unwrap_or_else(|e| panic!("{backend}: {e}"));

        // Most severe first, then the oldest; a limit keeps the count.
        let failing = FindingQuery::default();
        let first = store
            .findings(&FindingQuery {
                limit: Some(1),
                ..failing.clone()
            })
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(keys(&first), ["it/patched/asset/LT2"], "{backend}");
        assert_eq!(store.count_findings(&failing).ok(), Some(2), "{backend}");
        let old = FindingQuery {
            failing_since_before: Some(at(2)),
            ..failing.clone()
        };
        assert_eq!(
            keys(&store.findings(&old).unwrap_or_default()),
            ["hr/trained/person/P1"],
            "{backend}"
        );
        assert_eq!(store.count_findings(&old).ok(), Some(1), "{backend}");

        // Tallied by control, state and the days each began and was resolved.
        let mut tallies: Vec<(String, FindingState, NaiveDate, Option<NaiveDate>, u64)> = store
            .finding_tallies()
            .unwrap_or_else(|e| panic!("{backend}: {e}"))
            .into_iter()
            .map(|t| {
                (
                    t.control,
                    t.state,
                    t.first_failing_on,
                    t.resolved_on,
                    t.count,
                )
            })
            .collect();
        tallies.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            tallies,
            [
                (
                    "encrypted".into(),
                    FindingState::Resolved,
                    day(1),
                    Some(day(5)),
                    1
                ),
                ("patched".into(), FindingState::Open, day(3), None, 1),
                ("trained".into(), FindingState::Open, day(1), None, 1),
            ],
            "{backend}"
        );
    }
}

/// A run handed over control by control ends where the same run handed over whole does, and a
/// run abandoned half-way — after some controls were already written in its transaction — leaves
/// nothing behind.
#[test]
fn a_run_recorded_control_by_control_matches_the_whole_run_and_abandons_cleanly() {
    use steward_store::FindingBatch;
    for db in databases("findings_batched") {
        let be = db.backend;
        let whole = open(&db);
        let other = databases("findings_batched_twin")
            .into_iter()
            .find(|d| d.backend == be)
            .unwrap_or_else(|| panic!("{be}: a second database"));
        let batched = open(&other);
        let it = packs(&["it"]);
        let batch = |control: &str, findings: Vec<Finding>| FindingBatch {
            pack: "it".into(),
            control: control.into(),
            findings,
            ladder: Vec::new(),
            subjects: None,
        };
        // Day 1: both laptops fail. Day 2: LT2 is patched, LT1 still unencrypted, and a new
        // laptop fails encryption. Day 3: nothing fails; the batched run names no control at
        // all, so every stored failure resolves at the end.
        let mut lt3 = a();
        lt3.subject.id = "LT3".into();
        type Day<'a> = (u32, Vec<(&'a str, Vec<Finding>)>);
        let days: Vec<Day> = vec![
            (1, vec![("encrypted", vec![a()]), ("patched", vec![b()])]),
            (
                2,
                vec![("encrypted", vec![a(), lt3.clone()]), ("patched", vec![])],
            ),
            (3, vec![]),
        ];
        for (d, controls) in days {
            let all: Vec<Finding> = controls.iter().flat_map(|(_, f)| f.clone()).collect();
            let want = whole
                .record_findings("checks", at(d), &it, all, &[], &Default::default())
                .unwrap_or_else(|e| panic!("{be}: day {d} whole: {e}"));
            let mut queue = controls
                .into_iter()
                .map(|(c, f)| batch(c, f))
                .collect::<Vec<_>>()
                .into_iter();
            let got = batched
                .record_findings_batched("checks", at(d), &it, &[], &mut || Ok(queue.next()))
                .unwrap_or_else(|e| panic!("{be}: day {d} batched: {e}"));
            assert_eq!(
                (got.opened, got.resolved, got.unchanged, got.updated),
                (want.opened, want.resolved, want.unchanged, want.updated),
                "{be}: day {d}"
            );
            let everything = FindingQuery {
                states: FindingState::ALL.to_vec(),
                ..FindingQuery::default()
            };
            let (w, g) = (
                whole.findings(&everything).unwrap_or_default(),
                batched.findings(&everything).unwrap_or_default(),
            );
            assert_eq!(w, g, "{be}: day {d}: the stored findings differ");
            assert!(!g.is_empty(), "{be}: day {d}: nothing stored");
        }

        // Day 4: the first control is written, then the caller gives up.
        let head = batched.audit_head().unwrap_or_else(|e| panic!("{be}: {e}"));
        let before = batched
            .findings(&FindingQuery::default())
            .unwrap_or_default();
        let mut step = 0;
        let abandoned = batched.record_findings_batched("checks", at(4), &it, &[], &mut || {
            step += 1;
            match step {
                1 => Ok(Some(batch("encrypted", vec![a()]))),
                _ => Err(StoreError::Abandoned),
            }
        });
        assert!(
            matches!(abandoned, Err(StoreError::Abandoned)),
            "{be}: {abandoned:?}"
        );
        assert_eq!(
            batched.audit_head().ok(),
            Some(head),
            "{be}: the audit log moved"
        );
        assert_eq!(
            batched
                .findings(&FindingQuery::default())
                .unwrap_or_default(),
            before,
            "{be}: an abandoned run left findings behind"
        );
        // A control handed over twice, or a finding under another control's name, is refused.
        let mut twice = vec![batch("encrypted", vec![a()]), batch("encrypted", vec![])].into_iter();
        let refused =
            batched.record_findings_batched("checks", at(5), &it, &[], &mut || Ok(twice.next()));
        assert!(
            matches!(refused, Err(StoreError::InvalidFinding { .. })),
            "{be}: {refused:?}"
        );
        let mut misfiled = vec![batch("patched", vec![a()])].into_iter();
        let refused =
            batched.record_findings_batched("checks", at(5), &it, &[], &mut || Ok(misfiled.next()));
        assert!(
            matches!(refused, Err(StoreError::InvalidFinding { .. })),
            "{be}: {refused:?}"
        );
    }
}

/// A control evaluated over only some of its subjects (a run after a change to them)
/// reconciles only their findings: a stored failure of another subject stands as it is, one of
/// theirs that no longer fails resolves, one failing again reopens; a finding about a subject
/// outside them is refused, writing nothing.
#[test]
fn a_control_evaluated_over_some_subjects_leaves_the_others_findings_standing() {
    use std::sync::Arc;
    use steward_store::{FindingBatch, RunCover, SubjectsEvaluated};
    for db in databases("findings_some_subjects") {
        let be = db.backend;
        let store = open(&db);
        let it = packs(&["it"]);
        let asset = |id: &str| {
            let mut f = a();
            f.subject.id = id.into();
            f.message = format!("{id} is not encrypted");
            f
        };
        let failing = |store: &dyn Store| -> Vec<String> {
            keys(&store.findings(&FindingQuery::default()).unwrap_or_default())
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let key = |id: &str| asset(id).key();
        let run = |store: &dyn Store, d: u32, ids: &[&str], findings: Vec<Finding>| {
            let mut queue = vec![FindingBatch {
                pack: "it".into(),
                control: "encrypted".into(),
                findings,
                ladder: Vec::new(),
                subjects: Some(Arc::new(SubjectsEvaluated {
                    kind: "asset".into(),
                    ids: ids.iter().map(|id| (*id).to_owned()).collect(),
                })),
            }]
            .into_iter();
            let cover = RunCover {
                some_controls: true,
                audit_seq: None,
            };
            store.record_findings_run("checks", at(d), &it, &[], cover, &mut || Ok(queue.next()))
        };

        // Day 1, every subject: LT1 and LT3 fail.
        store
            .record_findings(
                "checks",
                at(1),
                &it,
                vec![asset("LT1"), asset("LT3")],
                &[],
                &Default::default(),
            )
            .unwrap_or_else(|e| panic!("{be}: {e}"));
        // Day 2, LT1 alone, now encrypted: its finding resolves; LT3's stands.
        let day2 = run(&*store, 2, &["LT1"], vec![]).unwrap_or_else(|e| panic!("{be}: {e}"));
        assert_eq!((day2.resolved, day2.opened), (1, 0), "{be}: {day2:?}");
        assert_eq!(failing(&*store), vec![key("LT3")], "{be}: day 2");
        // Nothing LT3's finding reads changed: it stands, failing since day 1, no event.
        assert_eq!(stored(&*store, &key("LT3")).first_failing, at(1), "{be}");
        assert_eq!(events(&*store, &key("LT3")).len(), 1, "{be}: LT3's events");
        // Day 3, LT1 and a new LT4: LT1 fails again, LT4 fails; LT3 still stands.
        let day3 = run(
            &*store,
            3,
            &["LT1", "LT4"],
            vec![asset("LT1"), asset("LT4")],
        )
        .unwrap_or_else(|e| panic!("{be}: {e}"));
        assert_eq!(
            (day3.reopened, day3.opened, day3.resolved),
            (1, 1, 0),
            "{be}: {day3:?}"
        );
        assert_eq!(
            failing(&*store),
            vec![key("LT1"), key("LT3"), key("LT4")],
            "{be}: day 3"
        );
        // A finding about a subject the control was not evaluated over is refused.
        let head = store.audit_head().unwrap_or_else(|e| panic!("{be}: {e}"));
        let refused = run(&*store, 4, &["LT1"], vec![asset("LT1"), asset("LT3")]);
        assert!(
            matches!(refused, Err(StoreError::InvalidFinding { .. })),
            "{be}: {refused:?}"
        );
        assert_eq!(store.audit_head().ok(), Some(head), "{be}: the log moved");
    }
}

/// A list paged with `after` gives, page after page, exactly the whole list in its order — for
/// every order, with pages of several sizes, and with a filter.
#[test]
fn pages_of_findings_follow_on_in_every_order() {
    use steward_store::FindingOrder;
    for db in databases("findings_pages") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;
        let severities = ["low", "critical", "medium", "high", "info"];
        let clauses = ["2.6(v)", "1.4", "10.2", "2.6(b)"];
        // Eleven findings over four runs, so that they began failing on different days; the
        // later runs repeat the earlier findings so none resolves.
        let mut so_far: Vec<Finding> = Vec::new();
        for (run, ids) in [(1, 0..3), (2, 3..6), (3, 6..9), (4, 9..11)] {
            for n in ids {
                let mut f = finding(
                    "it",
                    &format!("control{}", n % 3),
                    clauses[n % clauses.len()],
                    "asset",
                    &format!("LT{n:02}"),
                );
                f.severity = severities[n % severities.len()].into();
                so_far.push(f);
            }
            store
                .record_findings(
                    "check",
                    at(run),
                    &packs(&["it"]),
                    so_far.clone(),
                    &[],
                    &Default::default(),
                )
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
        }
        // Each filter, and how many of the eleven it keeps: a severity (which the list reads as
        // a place in the severity order), one the model does not know, a section (clauses
        // numbered under it: not `10.2`), one policy, and who acts.
        let filters: [(&str, FindingQuery, usize); 7] = [
            ("none", FindingQuery::default(), 11),
            (
                "critical",
                FindingQuery {
                    severity: Some("critical".into()),
                    ..FindingQuery::default()
                },
                2,
            ),
            (
                "unknown severity",
                FindingQuery {
                    severity: Some("urgent".into()),
                    ..FindingQuery::default()
                },
                0,
            ),
            (
                "section 2",
                FindingQuery {
                    section: Some("2".into()),
                    ..FindingQuery::default()
                },
                5,
            ),
            (
                // A small section of one policy: read from the clause index, not in order.
                "one policy's section 2",
                FindingQuery {
                    pack: Some("it".into()),
                    section: Some("2".into()),
                    ..FindingQuery::default()
                },
                5,
            ),
            (
                "one policy",
                FindingQuery {
                    pack: Some("it".into()),
                    packs: vec!["it".into(), "ia".into()],
                    ..FindingQuery::default()
                },
                11,
            ),
            (
                "who acts",
                FindingQuery {
                    who_acts: Some("it_team".into()),
                    ..FindingQuery::default()
                },
                11,
            ),
        ];
        for order in FindingOrder::ALL {
            for (filter, base, expected) in &filters {
                let query = FindingQuery {
                    order,
                    without_text: true,
                    ..base.clone()
                };
                let whole = keys(&store.findings(&query).unwrap());
                assert_eq!(whole.len(), *expected, "{backend}: {filter}");
                assert_eq!(
                    store.count_findings(&query).unwrap(),
                    *expected as u64,
                    "{backend}: {filter}"
                );
                // A cursor no finding has begins no page.
                assert!(
                    store
                        .findings(&FindingQuery {
                            after: Some("it/none/asset/LT99".into()),
                            ..query.clone()
                        })
                        .unwrap()
                        .is_empty(),
                    "{backend}"
                );
                // The whole list is in the order asked for.
                let found = store.findings(&query).unwrap();
                for pair in found.windows(2) {
                    let (a, b) = (&pair[0], &pair[1]);
                    let rank = |f: &steward_model::StoredFinding| {
                        Finding::severity_rank(&f.finding.severity)
                    };
                    let in_order = match order {
                        FindingOrder::Severity => {
                            (rank(b), a.first_failing) <= (rank(a), b.first_failing)
                        }
                        FindingOrder::Oldest => a.first_failing <= b.first_failing,
                        FindingOrder::Newest => a.first_failing >= b.first_failing,
                        FindingOrder::Clause => {
                            (&a.finding.pack, &a.finding.clause)
                                <= (&b.finding.pack, &b.finding.clause)
                        }
                    };
                    assert!(
                        in_order,
                        "{backend}: {order:?}: {} then {}",
                        a.finding.key(),
                        b.finding.key()
                    );
                }
                for size in [1, 2, 3, 5, 50] {
                    let mut paged: Vec<String> = Vec::new();
                    let mut after: Option<String> = None;
                    loop {
                        let page = keys(
                            &store
                                .findings(&FindingQuery {
                                    limit: Some(size),
                                    after: after.clone(),
                                    ..query.clone()
                                })
                                .unwrap(),
                        );
                        // The count is the whole filter's, whatever the page.
                        assert_eq!(
                            store
                                .count_findings(&FindingQuery {
                                    after: after.clone(),
                                    ..query.clone()
                                })
                                .unwrap(),
                            whole.len() as u64,
                            "{backend}"
                        );
                        let Some(last) = page.last().cloned() else {
                            break;
                        };
                        paged.extend(page);
                        after = Some(last);
                        assert!(paged.len() <= whole.len(), "{backend}: pages never end");
                    }
                    assert_eq!(paged, whole, "{backend}: {order:?} {filter} by {size}");
                }
            }
        }
    }
}

/// A finding's second-person message is stored and read back; giving one to a finding stored
/// without (as a run after the upgrade does), changing it or taking it away is an `updated`
/// event naming it, and the audit log replays to what is stored.
#[test]
fn a_findings_second_person_message_is_kept_and_its_changes_audited() {
    for db in databases("findings_you") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;
        let it = packs(&["it"]);
        let key = a().key();
        let you = |text: Option<&str>| {
            let mut f = a();
            f.message_you = text.map(Into::into);
            f
        };
        store
            .record_findings(
                "check",
                at(1),
                &it,
                vec![you(None)],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!(stored(store, &key).finding.message_you, None, "{backend}");

        let said = "Your laptop LT1 is not encrypted.";
        let s = store
            .record_findings(
                "check",
                at(2),
                &it,
                vec![you(Some(said))],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!(s.updated, 1, "{backend}: {s:?}");
        assert_eq!(
            stored(store, &key).finding.message_you.as_deref(),
            Some(said),
            "{backend}"
        );
        // The same again changes nothing.
        let s = store
            .record_findings(
                "check",
                at(3),
                &it,
                vec![you(Some(said))],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!((s.updated, s.unchanged), (0, 1), "{backend}: {s:?}");

        store
            .record_findings(
                "check",
                at(4),
                &it,
                vec![you(None)],
                &[],
                &Default::default(),
            )
            .unwrap();
        assert_eq!(stored(store, &key).finding.message_you, None, "{backend}");

        let history = store.finding_history(&key).unwrap();
        let kinds: Vec<FindingEventKind> = history.iter().map(|e| e.event).collect();
        assert_eq!(
            kinds,
            [
                FindingEventKind::Opened,
                FindingEventKind::Updated,
                FindingEventKind::Updated
            ],
            "{backend}"
        );
        let change = |i: usize| history[i].details["changed"]["message_you"].clone();
        assert_eq!(change(1)["before"], serde_json::Value::Null, "{backend}");
        assert_eq!(change(1)["after"], said, "{backend}");
        assert_eq!(change(2)["before"], said, "{backend}");
        assert_eq!(change(2)["after"], serde_json::Value::Null, "{backend}");
        // Only what changed is named.
        assert!(
            history[1].details["changed"].get("message").is_none(),
            "{backend}: {}",
            history[1].details
        );
        assert!(
            steward_store::verify_audit(store).unwrap().is_ok(),
            "{backend}"
        );
    }
}

#[test]
fn a_failing_finding_climbs_its_ladder_a_step_at_a_time_and_each_step_is_mailed_once() {
    for db in databases("findings_ladder") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;
        let it = packs(&["it"]);
        // B is due on the 6th; its control tells the line manager 3 days after, then governance
        // 7 days after.
        let ladders: Ladders = BTreeMap::from([(
            ("it".to_owned(), "patched".to_owned()),
            vec![
                LadderStep {
                    after_days: 3,
                    to: "line_manager".into(),
                },
                LadderStep {
                    after_days: 7,
                    to: "governance_team".into(),
                },
            ],
        )]);
        let run = |day: u32, findings: Vec<Finding>| {
            store
                .record_findings("check", at(day), &it, findings, &[], &ladders)
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
        };
        let unmailed = || -> Vec<(String, serde_json::Value)> {
            store
                .escalations_unmailed()
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
                .into_iter()
                .map(|e| (e.key, e.details["to"].clone()))
                .collect()
        };
        let mark = |seq: i64| {
            store
                .record_mail_sent(&MailSent {
                    kind: ESCALATION_MAIL.into(),
                    key: seq.to_string(),
                    sent_at: at(1),
                    recipients: vec!["it@example.org".into()],
                })
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
        };
        let last_event = || {
            store
                .finding_history(&b().key())
                .unwrap()
                .pop()
                .unwrap_or_else(|| panic!("{backend}: no history"))
        };

        run(5, vec![b()]);
        assert!(unmailed().is_empty(), "{backend}");
        // Past due: the first step, to whoever acts.
        assert_eq!(run(7, vec![b()]).escalated, 1, "{backend}");
        let first = last_event();
        assert_eq!(first.details["to"], serde_json::json!(["it_team"]));
        assert_eq!(first.details["step"], 0, "{backend}");
        assert_eq!(
            unmailed(),
            vec![(b().key(), serde_json::json!(["it_team"]))]
        );
        assert!(mark(first.seq), "{backend}");
        assert!(!mark(first.seq), "{backend}: marked twice");
        assert!(unmailed().is_empty(), "{backend}");

        // The 9th is 3 days after the due date, not past them: nothing to do.
        assert_eq!(run(9, vec![b()]).unchanged, 1, "{backend}");
        // The 10th is past them: the line manager's step, once.
        assert_eq!(run(10, vec![b()]).escalated, 1, "{backend}");
        assert_eq!(stored(store, &b().key()).escalation_step, 1, "{backend}");
        assert_eq!(
            unmailed(),
            vec![(b().key(), serde_json::json!(["line_manager"]))]
        );
        assert_eq!(run(11, vec![b()]).unchanged, 1, "{backend}");
        let second = last_event();
        mark(second.seq);

        // A run that comes late tells every step it passed, in one event; a new failure long
        // overdue starts at whoever acts and climbs at once.
        let mut late = b();
        late.subject.id = "LT3".into();
        late.due = Some(day(1));
        assert_eq!(run(20, vec![b(), late.clone()]).escalated, 2, "{backend}");
        let mut told = unmailed();
        told.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            told,
            vec![
                (b().key(), serde_json::json!(["governance_team"])),
                (
                    late.key(),
                    serde_json::json!(["it_team", "line_manager", "governance_team"])
                ),
            ],
            "{backend}"
        );
        assert_eq!(stored(store, &late.key()).escalation_step, 2, "{backend}");
        assert!(
            steward_store::verify_audit(store).unwrap().is_ok(),
            "{backend}"
        );

        // Resolved, nothing is left to tell; failing again starts the ladder afresh.
        run(21, vec![]);
        assert!(unmailed().is_empty(), "{backend}");
        let mut fresh = b();
        fresh.due = Some(day(25));
        run(22, vec![fresh]);
        let again = stored(store, &b().key());
        assert_eq!(
            (again.state, again.escalation_step),
            (FindingState::Open, 0),
            "{backend}"
        );
        let sent = store.mail_sent(ESCALATION_MAIL, at(1)).unwrap();
        assert_eq!(sent.len(), 2, "{backend}");
        assert_eq!(sent[0].recipients, vec!["it@example.org".to_owned()]);
    }
}

/// A run reads each stored finding's state and content hash, and reads the finding whole only
/// where something changes: every field a finding says, changed alone, is still seen as a
/// change (an `updated` event); a deadline recomputed later is not; and findings stored before
/// hashes were kept are compared whole, then given their hash.
#[test]
fn a_change_to_any_field_of_a_finding_is_seen_whether_or_not_its_hash_is_stored() {
    type Change = (&'static str, fn(&mut Finding));
    let changes: &[Change] = &[
        ("message", |f| f.message.push_str(" (again)")),
        ("severity", |f| f.severity = "critical".into()),
        ("version", |f| f.version = "5.1".into()),
        ("clause_text", |f| {
            f.clause_text = format!("{} Amended.", f.clause_text).into();
        }),
        ("who_acts", |f| f.who_acts = "line_manager".into()),
        ("evidence value", |f| {
            f.evidence
                .insert("asset.encrypted".into(), "unknown".into());
        }),
        ("evidence added", |f| {
            f.evidence.insert("asset.model".into(), "X1".into());
        }),
        ("message_you", |f| {
            f.message_you = Some("Your laptop is not encrypted.".into())
        }),
        ("undecided", |f| f.undecided = Some("unknown data".into())),
    ];
    for db in databases("findings_hashes") {
        let be = db.backend;
        let store = open(&db);
        let it = packs(&["it"]);
        // Every run on day 2, a minute after the last: b() stays within its deadline.
        let mut minute = 0;
        let mut run = |findings: Vec<Finding>| {
            minute += 1;
            store
                .record_findings(
                    "checks",
                    at(2) + Duration::minutes(minute),
                    &it,
                    findings,
                    &[],
                    &Default::default(),
                )
                .unwrap_or_else(|e| panic!("{be}: run {minute}: {e}"))
        };
        let summary = run(vec![a(), b()]);
        assert_eq!(summary.opened, 2, "{be}");
        for forget in [false, true] {
            for (what, change) in changes {
                // Back to a() (an update, where the last change is still stored).
                run(vec![a(), b()]);
                if forget {
                    // As rows written before content hashes were kept.
                    db.execute("UPDATE findings SET content_hash = NULL")
                        .unwrap_or_else(|e| panic!("{be}: {e}"));
                }
                // Unchanged: nothing but the run's time moves, hash or none.
                let quiet = run(vec![a(), b()]);
                assert_eq!(
                    (quiet.unchanged, quiet.changes()),
                    (2, 0),
                    "{be}: {what}, hashes forgotten: {forget}: an unchanged run"
                );
                let mut next = a();
                change(&mut next);
                let summary = run(vec![next.clone(), b()]);
                assert_eq!(
                    (summary.updated, summary.unchanged, summary.changes()),
                    (1, 1, 1),
                    "{be}: {what}, hashes forgotten: {forget}"
                );
                assert_eq!(
                    stored(&*store, &next.key()).finding,
                    next,
                    "{be}: {what}: the stored finding"
                );
                assert_eq!(
                    events(&*store, &next.key()).last(),
                    Some(&FindingEventKind::Updated),
                    "{be}: {what}"
                );
            }
        }
        // A later run computes a later deadline for a failing finding; the stored one stays, and
        // that is no change.
        run(vec![a(), b()]);
        let mut later = b();
        later.due = Some(self::day(20));
        let summary = run(vec![a(), later]);
        assert_eq!(summary.changes(), 0, "{be}: a recomputed deadline");
        assert_eq!(stored(&*store, &b().key()).finding.due, b().due, "{be}");
    }
}
