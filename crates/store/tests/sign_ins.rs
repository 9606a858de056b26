//! The sign-in story: the first administrator, accounts saved through every action and read back
//! exactly, TOTP replay protection, sessions, and an audit trail that holds no secret — on every
//! backend `testing::databases` returns. And first runs racing on one database create one account.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value as Json;
use steward_store::testing::{TestDatabase, databases, race};
use steward_store::{AuditQuery, SIGN_IN_ENTITY, Session, SignIn, Store, StoreError, verify_audit};

/// Minute `n` of a day, with microseconds, which both backends must keep.
fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(n)
        + Duration::microseconds(123_457 + n)
}

const ADMIN_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$QURNSU5TQUxU$QWRtaW5IYXNoVmFsdWVYWVo";
const ADA_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$QURBU0FMVFNBTFQ$QWRhSGFzaE9uZVZhbHVl";
const ADA_HASH_2: &str = "$argon2id$v=19$m=19456,t=2,p=1$TkVXU0FMVE5FVw$QWRhSGFzaFR3b1ZhbHVl";
const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const TOTP_2: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
const CODES: [&str; 3] = [
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
    "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13",
];
const CSRF: &str = "csrf-7c1d0e5b2f9a4c63b8e1";

/// Every secret string the story stores: none may reach `Debug` or the audit log.
fn secrets() -> Vec<&'static str> {
    let mut all = vec![ADMIN_HASH, ADA_HASH, ADA_HASH_2, TOTP, TOTP_2, CSRF];
    all.extend(CODES);
    all
}

fn admin() -> SignIn {
    SignIn {
        email: "Admin@Example.ORG".into(),
        person_id: None,
        display_name: "First administrator".into(),
        password_hash: ADMIN_HASH.into(),
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        recovery_codes: Vec::new(),
        roles: vec!["administrator".into()],
        disabled: false,
        created_at: t(0),
        password_changed_at: t(0),
        must_change_password: false,
    }
}

fn ada() -> SignIn {
    SignIn {
        email: "Ada.Lovelace@Example.org".into(),
        person_id: Some("P000123".into()),
        display_name: "Ada Lovelace".into(),
        password_hash: ADA_HASH.into(),
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        recovery_codes: Vec::new(),
        roles: Vec::new(),
        disabled: false,
        created_at: t(1),
        password_changed_at: t(1),
        must_change_password: false,
    }
}

/// One save: the action audited, and what it changes.
struct Step {
    action: &'static str,
    at: i64,
    change: fn(&mut SignIn),
}

/// Ada's account through every action, in order.
fn steps() -> Vec<Step> {
    vec![
        Step {
            action: "create",
            at: 1,
            change: |_| {},
        },
        Step {
            action: "enrol_mfa",
            at: 2,
            change: |s| {
                s.totp_secret = Some(TOTP.into());
                s.totp_last_step = Some(59_000_000);
                s.mfa_enrolled_at = Some(t(2));
                s.recovery_codes = CODES.iter().map(|c| (*c).to_owned()).collect();
            },
        },
        Step {
            action: "use_recovery_code",
            at: 3,
            change: |s| {
                s.recovery_codes.remove(1);
            },
        },
        Step {
            action: "change_password",
            at: 4,
            change: |s| {
                s.password_hash = ADA_HASH_2.into();
                s.password_changed_at = t(4);
            },
        },
        Step {
            action: "set_roles",
            at: 5,
            change: |s| {
                s.roles = vec!["administrator".into(), "auditor".into()];
                s.person_id = None;
                s.display_name = "Ada King".into();
            },
        },
        Step {
            action: "disable",
            at: 6,
            change: |s| s.disabled = true,
        },
    ]
}

fn open(db: &TestDatabase) -> Box<dyn Store> {
    steward_store::open(&db.url).unwrap_or_else(|e| panic!("{}: {e}", db.backend))
}

/// The sign-in as the store keeps it: its address lower-case.
fn stored(mut s: SignIn) -> SignIn {
    s.email = s.email.to_lowercase();
    s
}

fn audit(store: &dyn Store) -> Vec<steward_model::audit::AuditRecord> {
    let mut out = Vec::new();
    store
        .audit_records(&AuditQuery::default(), &mut |r| {
            out.push(r);
            Ok(())
        })
        .unwrap();
    out
}

fn json(text: Option<&str>) -> Json {
    serde_json::from_str(text.unwrap_or("null")).unwrap()
}

/// What the audit log must say of an account: its meaning, no secret.
fn audit_view(s: &SignIn) -> Json {
    serde_json::json!({
        "email": s.email.to_lowercase(),
        "person_id": s.person_id,
        "display_name": s.display_name,
        "mfa_enrolled": s.mfa_enrolled_at.is_some(),
        "recovery_codes_left": s.recovery_codes.len(),
        "roles": s.roles,
        "disabled": s.disabled,
        "password_changed_at": s.password_changed_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}

fn session(token_hash: &str, email: &str, at: i64) -> Session {
    Session {
        token_hash: token_hash.into(),
        email: email.into(),
        created_at: t(at),
        last_seen: t(at),
        mfa_passed: false,
        csrf_secret: CSRF.into(),
    }
}

#[test]
fn sign_ins_and_sessions_are_kept_and_audited_without_secrets() {
    for db in databases("sign_ins") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;

        // 1. First run: the first administrator is created once; a second attempt writes nothing.
        assert_eq!(store.sign_in_count().unwrap(), 0, "{backend}");
        assert!(store.sign_ins().unwrap().is_empty(), "{backend}");
        assert!(
            store.create_first_sign_in("setup", t(0), &admin()).unwrap(),
            "{backend}"
        );
        assert!(
            !store.create_first_sign_in("setup", t(0), &ada()).unwrap(),
            "{backend}: a second first account"
        );
        assert_eq!(store.sign_in_count().unwrap(), 1, "{backend}");
        assert_eq!(store.sign_in(&ada().email).unwrap(), None, "{backend}");
        assert_eq!(
            audit(store).len(),
            1,
            "{backend}: the refused attempt was audited"
        );

        // 2. Found by its address in any case; stored lower-case.
        let found = store.sign_in("ADMIN@example.org").unwrap();
        assert_eq!(found, Some(stored(admin())), "{backend}");
        assert_eq!(
            found.map(|s| s.email),
            Some("admin@example.org".into()),
            "{backend}"
        );

        // 3. Every action, read back field by field, audited as itself.
        let mut ada_now = ada();
        let mut expected_audit = vec![("create", "admin@example.org")];
        for step in steps() {
            let before = store.sign_in(&ada_now.email).unwrap();
            (step.change)(&mut ada_now);
            store
                .save_sign_in("P000001", t(step.at), step.action, &ada_now)
                .unwrap_or_else(|e| panic!("{backend}: {}: {e}", step.action));
            expected_audit.push((step.action, "ada.lovelace@example.org"));
            let back = store
                .sign_in("ada.lovelace@EXAMPLE.org")
                .unwrap()
                .unwrap_or_else(|| panic!("{backend}: {}: not stored", step.action));
            assert_eq!(back, stored(ada_now.clone()), "{backend}: {}", step.action);

            let records = audit(store);
            assert_eq!(records.len(), expected_audit.len(), "{backend}");
            let last = records.last().unwrap();
            assert_eq!(
                (last.action.as_str(), last.entity_type.as_str()),
                (step.action, SIGN_IN_ENTITY),
                "{backend}"
            );
            assert_eq!(last.entity_id, "ada.lovelace@example.org", "{backend}");
            assert_eq!(last.actor, "P000001", "{backend}");
            assert_eq!(
                json(last.before.as_deref()),
                before.as_ref().map_or(Json::Null, audit_view),
                "{backend}: {} before",
                step.action
            );
            assert_eq!(
                json(last.after.as_deref()),
                audit_view(&ada_now),
                "{backend}: {} after",
                step.action
            );
        }
        let all = store.sign_ins().unwrap();
        assert_eq!(
            all.iter().map(|s| s.email.as_str()).collect::<Vec<_>>(),
            ["ada.lovelace@example.org", "admin@example.org"],
            "{backend}"
        );
        assert_eq!(store.sign_in_count().unwrap(), 2, "{backend}");

        // 4. Debug shows no secret.
        for s in &all {
            let shown = format!("{s:?}");
            for secret in secrets() {
                assert!(!shown.contains(secret), "{backend}: {shown}");
            }
        }

        // 5. A TOTP step is accepted once and only moving forward.
        let ada_key = "ada.lovelace@example.org";
        for (step, accepted) in [
            (59_000_001, true),
            (59_000_001, false),
            (59_000_000, false),
            (58_999_999, false),
            (59_000_003, true),
            (59_000_002, false),
        ] {
            assert_eq!(
                store
                    .set_totp_step("Ada.Lovelace@example.ORG", step)
                    .unwrap(),
                accepted,
                "{backend}: step {step}"
            );
        }
        assert!(!store.set_totp_step("nobody@example.org", 1).unwrap());
        // The first step recorded for an account that had none.
        assert!(store.set_totp_step("admin@example.org", 7).unwrap());
        let step_now = |email: &str| store.sign_in(email).unwrap().and_then(|s| s.totp_last_step);
        assert_eq!(step_now(ada_key), Some(59_000_003), "{backend}");
        assert_eq!(step_now("admin@example.org"), Some(7), "{backend}");
        // A stale copy saved later does not move the step back under the same secret…
        ada_now.disabled = false;
        store
            .save_sign_in("P000001", t(7), "enable", &ada_now)
            .unwrap();
        expected_audit.push(("enable", ada_key));
        assert_eq!(step_now(ada_key), Some(59_000_003), "{backend}: stale save");
        // …but a new secret starts its own count.
        ada_now.totp_secret = Some(TOTP_2.into());
        ada_now.totp_last_step = None;
        ada_now.mfa_enrolled_at = Some(t(8));
        store
            .save_sign_in("P000001", t(8), "enrol_mfa", &ada_now)
            .unwrap();
        expected_audit.push(("enrol_mfa", ada_key));
        assert_eq!(
            store.sign_in(ada_key).unwrap(),
            Some(stored(ada_now.clone())),
            "{backend}: re-enrolled"
        );

        // 6. Sessions.
        let (s1, s2, s3, s4) = (
            session("a1".repeat(32).as_str(), "Ada.Lovelace@Example.org", 10),
            session("b2".repeat(32).as_str(), ada_key, 11),
            session("c3".repeat(32).as_str(), "admin@example.org", 12),
            session("d4".repeat(32).as_str(), "admin@example.org", 20),
        );
        for s in [&s1, &s2, &s3, &s4] {
            store.create_session(s).unwrap();
        }
        let mut s1_stored = s1.clone();
        s1_stored.email = ada_key.into();
        assert_eq!(
            store.session(&s1.token_hash).unwrap(),
            Some(s1_stored.clone()),
            "{backend}"
        );
        assert_eq!(store.session(&"ff".repeat(32)).unwrap(), None, "{backend}");
        assert!(
            store.create_session(&s1).is_err(),
            "{backend}: a token hash stored twice"
        );
        assert!(
            store
                .create_session(&session(&"e5".repeat(32), "nobody@example.org", 10))
                .is_err(),
            "{backend}: a session of no sign-in"
        );
        let shown = format!("{s1:?}");
        assert!(
            shown.contains("a1a1a1a1") && !shown.contains(&"a1".repeat(5)),
            "{backend}: {shown}"
        );
        assert!(!shown.contains(CSRF), "{backend}: {shown}");

        store.touch_session(&s1.token_hash, t(15), true).unwrap();
        s1_stored.last_seen = t(15);
        s1_stored.mfa_passed = true;
        assert_eq!(
            store.session(&s1.token_hash).unwrap(),
            Some(s1_stored),
            "{backend}"
        );
        store.touch_session(&"ff".repeat(32), t(15), true).unwrap();

        store.delete_session(&s2.token_hash).unwrap();
        assert_eq!(store.session(&s2.token_hash).unwrap(), None, "{backend}");
        store.delete_session(&s2.token_hash).unwrap();
        store.create_session(&s2).unwrap();
        assert_eq!(
            store
                .delete_sessions_of("ADA.LOVELACE@example.org")
                .unwrap(),
            2,
            "{backend}"
        );
        assert_eq!(store.delete_sessions_of(ada_key).unwrap(), 0, "{backend}");
        assert_eq!(store.session(&s1.token_hash).unwrap(), None, "{backend}");

        // Last seen strictly before the instant: s3 (minute 12) goes, s4 (minute 20) stays.
        assert_eq!(store.delete_sessions_before(t(12)).unwrap(), 0, "{backend}");
        assert_eq!(store.delete_sessions_before(t(13)).unwrap(), 1, "{backend}");
        assert_eq!(store.session(&s3.token_hash).unwrap(), None, "{backend}");
        assert_eq!(
            store.session(&s4.token_hash).unwrap(),
            Some(s4.clone()),
            "{backend}"
        );

        // 7. The audit log: one record per save, none for steps or sessions, no secret anywhere.
        let records = audit(store);
        assert_eq!(
            records
                .iter()
                .map(|r| (r.action.as_str(), r.entity_id.as_str()))
                .collect::<Vec<_>>(),
            expected_audit,
            "{backend}"
        );
        for r in &records {
            assert_eq!(r.entity_type, SIGN_IN_ENTITY, "{backend}");
            let whole = serde_json::to_string(r).unwrap();
            for secret in secrets() {
                assert!(!whole.contains(secret), "{backend}: {whole}");
            }
            for word in ["totp", "password_hash", "recovery_codes\""] {
                assert!(!whole.contains(word), "{backend}: {word} in {whole}");
            }
        }
        let head = verify_audit(store)
            .unwrap()
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(head.seq, i64::try_from(records.len()).unwrap(), "{backend}");

        // 8. A corrupt row is an error naming its table and column, never a panic.
        let mut corruptions = vec![
            (
                "roles",
                "UPDATE sign_ins SET roles = 'administrator' WHERE email = 'admin@example.org'",
            ),
            (
                "recovery_codes",
                "UPDATE sign_ins SET roles = '[]', recovery_codes = '[1, 2]' WHERE email = 'admin@example.org'",
            ),
        ];
        if backend == steward_store::Backend::Sqlite {
            corruptions.push((
                "created_at",
                "UPDATE sign_ins SET recovery_codes = '[]', created_at = 'yesterday' WHERE email = 'admin@example.org'",
            ));
            corruptions.push((
                "disabled",
                "UPDATE sign_ins SET created_at = '2026-11-02T09:00:00.000000Z', disabled = 'no' WHERE email = 'admin@example.org'",
            ));
        }
        for (column, sql) in corruptions {
            db.execute(sql)
                .unwrap_or_else(|e| panic!("{backend}: {sql}: {e}"));
            match store.sign_in("admin@example.org") {
                Err(StoreError::Corrupt {
                    table: "sign_ins",
                    column: c,
                    id,
                    ..
                }) => {
                    assert_eq!((c, id.as_str()), (column, "admin@example.org"), "{backend}")
                }
                other => panic!("{backend}: {column}: {other:?}"),
            }
            assert!(store.sign_ins().is_err(), "{backend}: {column}");
        }
    }
}

#[test]
fn first_runs_racing_create_exactly_one_account() {
    const RUNNERS: usize = 4;
    for db in databases("sign_ins_race") {
        let backend = db.backend;
        let stores: Vec<Box<dyn Store>> = (0..RUNNERS).map(|_| open(&db)).collect();
        let created = race(&stores, |i, store| {
            let mut account = admin();
            account.email = format!("admin{i}@example.org");
            store
                .create_first_sign_in("setup", t(0), &account)
                .unwrap_or_else(|e| panic!("{backend}: runner {i}: {e}"))
        });
        assert_eq!(
            created.iter().filter(|c| **c).count(),
            1,
            "{backend}: {created:?}"
        );
        let store = stores[0].as_ref();
        assert_eq!(store.sign_in_count().unwrap(), 1, "{backend}");
        let winner = created.iter().position(|c| *c).unwrap_or_default();
        assert_eq!(
            store.sign_ins().unwrap()[0].email,
            format!("admin{winner}@example.org"),
            "{backend}"
        );
        assert_eq!(audit(store).len(), 1, "{backend}");
        assert!(verify_audit(store).unwrap().is_ok(), "{backend}");
    }
}

#[test]
fn a_recovery_code_raced_by_several_requests_is_used_once() {
    const RUNNERS: usize = 4;
    for db in databases("recovery_race") {
        let backend = db.backend;
        let stores: Vec<Box<dyn Store>> = (0..RUNNERS).map(|_| open(&db)).collect();
        let account = SignIn {
            recovery_codes: (0..3).map(|i| format!("{i:064x}")).collect(),
            ..admin()
        };
        let code = account.recovery_codes[1].clone();
        stores[0]
            .save_sign_in("setup", t(0), "create", &account)
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let used = race(&stores, |i, store| {
            store
                .consume_recovery_code("web", t(1), &account.email, &code)
                .unwrap_or_else(|e| panic!("{backend}: runner {i}: {e}"))
        });
        assert_eq!(
            used.iter().filter(|u| **u).count(),
            1,
            "{backend}: {used:?}"
        );
        let stored = stores[0]
            .sign_in(&account.email)
            .unwrap_or_else(|e| panic!("{backend}: {e}"))
            .unwrap_or_else(|| panic!("{backend}: the account is gone"));
        assert_eq!(
            stored.recovery_codes.len(),
            account.recovery_codes.len() - 1,
            "{backend}"
        );
        assert!(!stored.recovery_codes.contains(&code), "{backend}");
        // One record of the use, after the creation; the chain holds.
        let actions: Vec<String> = audit(stores[0].as_ref())
            .into_iter()
            .map(|r| r.action)
            .collect();
        assert_eq!(actions, ["create", "use_recovery_code"], "{backend}");
        assert!(
            verify_audit(stores[0].as_ref())
                .unwrap_or_else(|e| panic!("{e}"))
                .is_ok(),
            "{backend}"
        );
        // An unknown code, or one already used, writes nothing.
        assert!(
            !stores[1]
                .consume_recovery_code("web", t(2), &account.email, &code)
                .unwrap_or_else(|e| panic!("{backend}: {e}")),
            "{backend}"
        );
    }
}

#[test]
fn failed_guesses_are_counted_newest_first_and_forgotten_once_old() {
    for db in databases("sign_in_failures") {
        let backend = db.backend;
        let store = open(&db);
        let keys = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let ok = |r: steward_store::Result<()>| r.unwrap_or_else(|e| panic!("{backend}: {e}"));
        let recent = |key: &str, since: i64, limit: u32| {
            store
                .sign_in_failures(key, t(since), limit)
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
        };
        for n in 0..4 {
            ok(store.record_sign_in_failure(&keys(&["account:a", "addr:x"]), t(n), t(-60)));
        }
        ok(store.record_sign_in_failure(&keys(&["account:b", "addr:x"]), t(4), t(-60)));
        assert_eq!(
            recent("account:a", 0, 10),
            vec![t(3), t(2), t(1), t(0)],
            "{backend}"
        );
        assert_eq!(recent("account:a", 0, 2), vec![t(3), t(2)], "{backend}");
        assert_eq!(recent("account:a", 2, 10), vec![t(3), t(2)], "{backend}");
        assert_eq!(recent("addr:x", 0, 10).len(), 5, "{backend}");
        // A success clears its key alone.
        ok(store.clear_sign_in_failures("account:a"));
        assert!(recent("account:a", 0, 10).is_empty(), "{backend}");
        assert_eq!(recent("addr:x", 0, 10).len(), 5, "{backend}");
        // Recording forgets what the window has passed, under every key.
        ok(store.record_sign_in_failure(&keys(&["account:c"]), t(10), t(4)));
        assert_eq!(recent("addr:x", -60, 10), vec![t(4)], "{backend}");
        assert_eq!(recent("account:b", -60, 10), vec![t(4)], "{backend}");
        assert_eq!(recent("account:c", -60, 10), vec![t(10)], "{backend}");
    }
}

#[test]
fn guesses_racing_to_reserve_are_counted_one_after_another() {
    for db in databases("sign_in_reserve") {
        let backend = db.backend;
        // Twelve stores, as twelve servers sharing the database, reserve at once under a limit of
        // five: reading the count and recording the guess are one step, so five get in.
        let stores: Vec<Box<dyn Store>> = (0..12).map(|_| open(&db)).collect();
        let keys = vec![("password:account:a+addr:x".to_owned(), 5)];
        let admitted = race(&stores, |i, store| {
            store
                .reserve_sign_in_guess(&keys, t(i as i64 % 3), t(-60), &mut |recent| {
                    recent[0].len() < 5
                })
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
        });
        assert_eq!(
            admitted.iter().filter(|a| **a).count(),
            5,
            "{backend}: {admitted:?}"
        );
        let recent = |key: &str| {
            stores[0]
                .sign_in_failures(key, t(-60), 100)
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
        };
        assert_eq!(recent(&keys[0].0).len(), 5, "{backend}");
    }
}

#[test]
fn a_reserved_guess_is_a_failure_until_it_is_released() {
    for db in databases("sign_in_release") {
        let backend = db.backend;
        let store = open(&db);
        let ok = |r: steward_store::Result<()>| r.unwrap_or_else(|e| panic!("{backend}: {e}"));
        let keys = |k: &[&str]| {
            k.iter()
                .map(|s| ((*s).to_owned(), 10))
                .collect::<Vec<(String, u32)>>()
        };
        let names = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let recent = |key: &str| {
            store
                .sign_in_failures(key, t(-60), 100)
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
        };
        let reserve = |k: &[&str], at: i64, seen: &mut Vec<Vec<DateTime<Utc>>>| {
            store
                .reserve_sign_in_guess(&keys(k), t(at), t(-60), &mut |recent| {
                    *seen = recent.to_vec();
                    true
                })
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
        };
        let mut seen = Vec::new();
        // Two guesses reserved at the same instant under the pair, one at another account.
        assert!(reserve(&["pair:a", "addr:x"], 1, &mut seen), "{backend}");
        assert!(reserve(&["pair:a", "addr:x"], 1, &mut seen), "{backend}");
        assert_eq!(seen, vec![vec![t(1)], vec![t(1)]], "{backend}");
        assert!(reserve(&["pair:b", "addr:x"], 2, &mut seen), "{backend}");
        assert_eq!(seen, vec![vec![], vec![t(1), t(1)]], "{backend}");
        // One of the two proves right: one is taken back, the other stands.
        ok(store.release_sign_in_guess(&names(&["addr:x"]), t(1), &[]));
        assert_eq!(recent("addr:x"), vec![t(2), t(1)], "{backend}");
        assert_eq!(recent("pair:a"), vec![t(1), t(1)], "{backend}");
        // Clearing forgets a key's failures, and only that key's.
        ok(store.release_sign_in_guess(&names(&["pair:b"]), t(2), &names(&["pair:a"])));
        assert!(recent("pair:a").is_empty(), "{backend}");
        assert!(recent("pair:b").is_empty(), "{backend}");
        assert_eq!(recent("addr:x"), vec![t(2), t(1)], "{backend}");
        // A guess not admitted records nothing; a reservation forgets what the window passed.
        assert!(
            !store
                .reserve_sign_in_guess(&keys(&["addr:x"]), t(3), t(2), &mut |_| false)
                .unwrap_or_else(|e| panic!("{backend}: {e}")),
            "{backend}"
        );
        assert_eq!(recent("addr:x"), vec![t(2)], "{backend}");
    }
}

fn person(
    id: &str,
    manager: Option<&str>,
    status: steward_model::PersonStatus,
    leave_date: Option<chrono::NaiveDate>,
) -> steward_model::Row {
    use steward_model::Record;
    steward_model::Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: None,
        staff_group: "staff".into(),
        manager_id: manager.map(str::to_owned),
        budget_centre: None,
        status,
        start_date: None,
        leave_date,
        clearance: None,
        clearance_expires: None,
        byod: None,
        weekly_digest: None,
        job_title: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
    .to_row()
}

/// A visit reads, in one statement, what the separate reads give: the session, its account,
/// the account's person's standing, whether anyone who has not left reports to them, their
/// granted roles and the audit head — and follows each as it changes.
#[test]
fn a_visit_reads_the_session_its_account_and_the_viewers_standing() {
    use steward_model::{PersonStatus, Record, Role, RoleGrant};
    for db in databases("visits") {
        let store = open(&db);
        let store = store.as_ref();
        let backend = db.backend;
        let left = chrono::NaiveDate::from_ymd_opt(2026, 10, 30);

        assert_eq!(store.visit("no-such-session").unwrap(), None, "{backend}");
        store
            .commit(
                "test",
                t(0),
                vec![
                    person("P000123", None, PersonStatus::Active, left),
                    person("P2", Some("P000123"), PersonStatus::Leaver, None),
                    RoleGrant {
                        person_id: "P000123".into(),
                        role: Role::It,
                        granted_on: None,
                    }
                    .to_row(),
                    RoleGrant {
                        person_id: "P000123".into(),
                        role: Role::Governance,
                        granted_on: None,
                    }
                    .to_row(),
                ],
            )
            .unwrap();
        assert!(store.create_first_sign_in("setup", t(1), &admin()).unwrap());
        store.save_sign_in("setup", t(2), "create", &ada()).unwrap();
        store
            .create_session(&session("ada-token", "ADA.lovelace@example.org", 3))
            .unwrap();
        store
            .create_session(&session("admin-token", "admin@example.org", 3))
            .unwrap();

        let visit = store.visit("ada-token").unwrap().unwrap();
        assert_eq!(
            Some(visit.session.clone()),
            store.session("ada-token").unwrap(),
            "{backend}"
        );
        assert_eq!(
            visit.sign_in,
            store.sign_in(&ada().email).unwrap(),
            "{backend}"
        );
        assert_eq!(visit.person_status.as_deref(), Some("active"), "{backend}");
        assert_eq!(visit.person_leave_date, left, "{backend}");
        assert!(!visit.manages, "{backend}: the one report has left");
        assert_eq!(visit.roles, ["governance", "it"], "{backend}");
        assert_eq!(visit.audit_seq, store.audit_head().unwrap().0, "{backend}");
        assert!(visit.audit_seq > 0, "{backend}");

        // An account without a person: no standing, and the head as it now is.
        let admin_visit = store.visit("admin-token").unwrap().unwrap();
        assert_eq!(
            admin_visit.sign_in.map(|s| s.email).as_deref(),
            Some("admin@example.org")
        );
        assert_eq!(
            (
                admin_visit.person_status,
                admin_visit.manages,
                admin_visit.roles.len()
            ),
            (None, false, 0),
            "{backend}"
        );

        // A report who has not left makes a manager; the head moves with the change.
        store
            .commit(
                "test",
                t(4),
                vec![person("P3", Some("P000123"), PersonStatus::Active, None)],
            )
            .unwrap();
        let again = store.visit("ada-token").unwrap().unwrap();
        assert!(again.manages, "{backend}");
        assert!(again.audit_seq > visit.audit_seq, "{backend}");
    }
}
