//! Backups and restores on every backend `testing::databases` returns: a backup taken while
//! another connection imports is consistent and restores to a database whose audit verifies; a
//! restore from one backend into the other round-trips every register's export, the audit log,
//! the sign-ins and the findings exactly; a damaged, truncated, foreign or too new file is
//! refused, naming it, and the target is left as it was; a target holding anything is refused
//! unless it is to be replaced — on PostgreSQL only by the schema's owner.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use steward_model::audit::AuditRecord;
use steward_model::{Finding, FindingState, Register, StoredFinding, Subject, Value};
use steward_store::testing::{TempDir, TestDatabase, databases};
use steward_store::{
    AuditQuery, Backend, BackupError, FindingQuery, SignIn, Store, backup, restore, verify_audit,
};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + chrono::Duration::minutes(minute)
        + chrono::Duration::microseconds(123_457)
}

fn open(url: &str) -> Box<dyn Store> {
    steward_store::open(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A demo organisation of `people` people, a sign-in with a (pretend) sealed secret, and a
/// check run's findings: every kind of table and column type the schema has.
fn fill(store: &dyn Store, people: usize, seed: u64) {
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people,
        seed,
        today: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
        usage_months: 2,
    });
    let rows = Register::ALL
        .iter()
        .flat_map(|r| estate.rows(*r))
        .collect::<Vec<_>>();
    store
        .commit("cli:test", at(0), rows)
        .unwrap_or_else(|e| panic!("{}: {e}", store.backend()));
    let sign_in = SignIn {
        email: format!("admin{seed}@example.org"),
        person_id: None,
        display_name: "Administrator, \"the first\"\twith\\odd\ncharacters".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        totp_secret: Some("v1:0123abcd:bm90IGEgcmVhbCBzZWNyZXQ".into()),
        totp_last_step: Some(59_000_123),
        mfa_enrolled_at: Some(at(1)),
        recovery_codes: vec!["ab".repeat(32)],
        roles: Vec::new(),
        disabled: false,
        created_at: at(1),
        password_changed_at: at(1),
        must_change_password: true,
    };
    store
        .save_sign_in("cli:test", at(1), "create", &sign_in)
        .unwrap_or_else(|e| panic!("{}: {e}", store.backend()));
    let findings = ["P000001", "P000002", "P000003"]
        .iter()
        .enumerate()
        .map(|(i, id)| Finding {
            pack: "it".into(),
            version: "5.0".into(),
            clause: "2.6(v)".into(),
            control: "trained".into(),
            subject: Subject {
                kind: "person".into(),
                id: (*id).into(),
            },
            severity: "high".into(),
            message: format!("{id} is not trained"),
            message_you: None,
            clause_text: "Clause 2.6, quoted.".into(),
            evidence: steward_model::Evidence::from([("person.id".to_owned(), (*id).to_owned())]),
            who_acts: "it_team".into(),
            due: NaiveDate::from_ymd_opt(2026, 12, 1 + u32::try_from(i).unwrap_or_default()),
            undecided: None,
        })
        .collect::<Vec<_>>();
    store
        .record_findings(
            "cli:test",
            at(2),
            &["it".into()],
            findings,
            &[],
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", store.backend()));
    // A second run resolves one: events of several kinds.
    let again = store
        .findings(&FindingQuery::default())
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.finding.subject.id != "P000002")
        .map(|f| f.finding)
        .collect();
    store
        .record_findings(
            "cli:test",
            at(3),
            &["it".into()],
            again,
            &[],
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", store.backend()));
}

/// Everything a restore must carry, as comparable values: each register's CSV export, the
/// audit log, the sign-ins, the findings and their history.
#[derive(PartialEq)]
struct Contents {
    exports: Vec<(Register, Vec<u8>)>,
    audit: Vec<AuditRecord>,
    sign_ins: Vec<SignIn>,
    findings: Vec<StoredFinding>,
    history: Vec<String>,
}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: usize = self
            .exports
            .iter()
            .map(|(_, b)| b.iter().filter(|c| **c == b'\n').count())
            .sum();
        write!(
            f,
            "{rows} lines of CSV, {} audit records, {} sign-ins, {} findings",
            self.audit.len(),
            self.sign_ins.len(),
            self.findings.len()
        )
    }
}

fn contents(store: &dyn Store) -> Contents {
    let b = store.backend();
    let exports = Register::ALL
        .iter()
        .map(|r| {
            let rows = store.list(*r).unwrap_or_else(|e| panic!("{b}: {r}: {e}"));
            let mut bytes = Vec::new();
            steward_interchange::write(*r, &rows, &mut bytes)
                .unwrap_or_else(|e| panic!("{b}: {r}: {e}"));
            (*r, bytes)
        })
        .collect();
    let mut audit = Vec::new();
    store
        .audit_records(&AuditQuery::default(), &mut |r| {
            audit.push(r);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{b}: {e}"));
    let findings = store
        .findings(&FindingQuery {
            states: FindingState::ALL.to_vec(),
            ..FindingQuery::default()
        })
        .unwrap_or_else(|e| panic!("{b}: {e}"));
    let history = findings
        .iter()
        .flat_map(|f| {
            store
                .finding_history(&f.finding.key())
                .unwrap_or_else(|e| panic!("{b}: {e}"))
        })
        .map(|e| format!("{e:?}"))
        .collect();
    Contents {
        exports,
        audit,
        sign_ins: store.sign_ins().unwrap_or_else(|e| panic!("{b}: {e}")),
        findings,
        history,
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn verifies(store: &dyn Store) -> (i64, String) {
    let head = verify_audit(store)
        .unwrap_or_else(|e| panic!("{}: {e}", store.backend()))
        .unwrap_or_else(|e| panic!("{}: {e}", store.backend()));
    (head.seq, head.hash)
}

#[test]
fn a_backup_taken_during_a_heavy_import_is_consistent_and_restores() {
    for db in databases("backup_busy") {
        let b = db.backend;
        let store = open(&db.url);
        fill(store.as_ref(), 50, 1);
        let (start, _) = verifies(store.as_ref());
        let tmp = TempDir::new("backup_busy").unwrap_or_else(|e| panic!("{e}"));
        let done = AtomicBool::new(false);
        let files: Vec<PathBuf> = (0..3)
            .map(|i| tmp.path().join(format!("busy-{i}.db")))
            .collect();
        let summaries = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let store = open(&db.url);
                let people = store.list(Register::People).unwrap_or_default();
                let mut commits: i64 = 0;
                while commits < 3 || (!done.load(Ordering::SeqCst) && commits < 400) {
                    let rows = people
                        .iter()
                        .map(|p| {
                            let mut p = p.clone();
                            let name = p.get("name").map(Value::to_text).unwrap_or_default();
                            p.set("name", Value::Text(format!("{name} ({commits})")));
                            p
                        })
                        .collect();
                    store
                        .commit("cli:import", at(10 + commits), rows)
                        .unwrap_or_else(|e| panic!("{b}: commit {commits}: {e}"));
                    commits += 1;
                }
                commits
            });
            // Once the import is under way, back up while it goes on.
            while store.audit_head().map(|h| h.0).unwrap_or_default() == start {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let summaries: Vec<_> = files
                .iter()
                .map(|f| backup(&db.url, f).unwrap_or_else(|e| panic!("{b}: {e}")))
                .collect();
            done.store(true, Ordering::SeqCst);
            let commits = writer.join().unwrap_or_else(|_| panic!("{b}: writer"));
            assert!(commits >= 3, "{b}: {commits}");
            summaries
        });
        let (end, _) = verifies(store.as_ref());
        for (file, summary) in files.iter().zip(&summaries) {
            assert_eq!(summary.source, b);
            assert_eq!(mode(file), 0o600, "{b}: {}", file.display());
            assert_eq!(
                summary.bytes,
                std::fs::metadata(file).map_or(0, |m| m.len())
            );
            assert!(
                summary.audit_head.seq > start && summary.audit_head.seq <= end,
                "{b}: the backup's head {} is not between {start} and {end}",
                summary.audit_head.seq
            );
            let counted: BTreeMap<_, _> = summary.tables.iter().cloned().collect();
            assert_eq!(counted.get("people"), Some(&50), "{b}: {counted:?}");
            assert!(!counted.contains_key("sessions"), "{b}: {counted:?}");
            // Nothing beside it: no write-ahead log, no partial file.
            let names: Vec<String> = std::fs::read_dir(tmp.path())
                .map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            assert!(
                names
                    .iter()
                    .all(|n| n.starts_with("busy-") && n.ends_with(".db")),
                "{b}: {names:?}"
            );
            // The file is a Steward database that verifies as it stands.
            let copy = open(&sqlite_url(file));
            assert_eq!(
                verifies(copy.as_ref()),
                (summary.audit_head.seq, summary.audit_head.hash.clone())
            );
            drop(copy);
        }
        // And restores into an empty database of either backend, which verifies.
        for target in databases("backup_busy_target") {
            let last = &summaries[summaries.len() - 1];
            let restored = restore(&files[files.len() - 1], &target.url, false)
                .unwrap_or_else(|e| panic!("{b} → {}: {e}", target.backend));
            assert_eq!(restored.audit_head, last.audit_head);
            assert!(!restored.replaced);
            let store = open(&target.url);
            assert_eq!(
                verifies(store.as_ref()),
                (last.audit_head.seq, last.audit_head.hash.clone())
            );
            assert_eq!(store.count(Register::People).unwrap_or_default(), 50);
        }
        // A backup never overwrites a file, and says so when its folder is not there.
        let err = backup(&db.url, &files[0]).err();
        assert!(matches!(err, Some(BackupError::Exists(_))), "{b}: {err:?}");
        let nowhere = tmp.path().join("missing").join("b.db");
        let err = backup(&db.url, &nowhere)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("there is no folder"), "{b}: {err}");
        assert!(!tmp.path().join("missing").exists(), "{b}");
    }
}

/// Fills `from`, backs it up, restores it into `to`, and checks that everything came across.
fn round_trip(from: &TestDatabase, to: &TestDatabase, tmp: &TempDir) {
    let (b, t) = (from.backend, to.backend);
    let source = open(&from.url);
    fill(source.as_ref(), 50, 7);
    let before = contents(source.as_ref());
    let head = verifies(source.as_ref());
    let file = tmp.path().join(format!("{b}-to-{t}.db"));
    let summary = backup(&from.url, &file).unwrap_or_else(|e| panic!("{b}: {e}"));
    assert_eq!(
        (summary.audit_head.seq, summary.audit_head.hash.clone()),
        head
    );
    let restored = restore(&file, &to.url, false).unwrap_or_else(|e| panic!("{b} → {t}: {e}"));
    assert_eq!(restored.target, t);
    let target = open(&to.url);
    assert_eq!(verifies(target.as_ref()), head, "{b} → {t}");
    let after = contents(target.as_ref());
    for ((r, want), (_, got)) in before.exports.iter().zip(&after.exports) {
        assert!(
            want == got,
            "{b} → {t}: the {r} export differs:\n{}\n---\n{}",
            String::from_utf8_lossy(want),
            String::from_utf8_lossy(got)
        );
    }
    assert_eq!(before.audit, after.audit, "{b} → {t}: the audit log");
    assert!(before.sign_ins == after.sign_ins, "{b} → {t}: the sign-ins");
    assert_eq!(before.findings, after.findings, "{b} → {t}: the findings");
    assert_eq!(
        before.history, after.history,
        "{b} → {t}: the findings' history"
    );
    // The restored database backs up into the same file, table for table.
    let again = tmp.path().join(format!("{b}-to-{t}-again.db"));
    let second = backup(&to.url, &again).unwrap_or_else(|e| panic!("{t}: {e}"));
    let without_migrations = |s: &steward_store::BackupSummary| {
        s.tables
            .iter()
            .filter(|(name, _)| name != "steward_migrations")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(without_migrations(&second), without_migrations(&summary));
    assert_eq!(second.audit_head, summary.audit_head);
}

#[test]
fn a_restore_across_backends_round_trips_everything() {
    let tmp = TempDir::new("backup_across").unwrap_or_else(|e| panic!("{e}"));
    let backends: Vec<Backend> = databases("backup_probe")
        .iter()
        .map(|d| d.backend)
        .collect();
    for from in &backends {
        for to in &backends {
            let pick = |label: &str, backend: Backend| {
                databases(label)
                    .into_iter()
                    .find(|d| d.backend == backend)
                    .unwrap_or_else(|| panic!("no {backend} database"))
            };
            let (source, target) = (pick("across_from", *from), pick("across_to", *to));
            round_trip(&source, &target, &tmp);
        }
    }
}

/// A file written in place of a backup, and what the refusal must say.
fn damaged_files(good: &Path, dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let bytes = std::fs::read(good).unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        path
    };
    // Random bytes (a fixed pseudo-random stream), a text file, and nothing at all.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..bytes.len())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    let mut out = vec![
        (write("noise.db", &noise), "not an SQLite database"),
        (
            write("notes.db", b"id,name\nP1,Ada\n"),
            "not an SQLite database",
        ),
        (write("empty.db", b""), "not an SQLite database"),
        (
            write("half.db", &bytes[..bytes.len() / 2]),
            "damaged or truncated",
        ),
    ];
    // Pages overwritten in the middle: the header intact, the tree not.
    let mut scribbled = bytes.clone();
    let middle = scribbled.len() / 2;
    for b in &mut scribbled[middle..middle + 8192] {
        *b = 0x5a;
    }
    out.push((write("scribbled.db", &scribbled), "damaged or truncated"));
    // An SQLite database of something else.
    let foreign = dir.join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .and_then(|c| c.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('x');"))
        .unwrap_or_else(|e| panic!("{e}"));
    out.push((foreign, "not a Steward backup"));
    // A backup from a newer schema.
    let newer = write("newer.db", &bytes);
    rusqlite::Connection::open(&newer)
        .and_then(|c| {
            c.execute_batch(
                "INSERT INTO steward_migrations (version, name, applied_at) VALUES (999, 'future', '2030-01-01T00:00:00Z');",
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
    out.push((newer, "newer than this build's"));
    // A backup whose register was changed behind the log's back.
    let tampered = write("tampered.db", &bytes);
    rusqlite::Connection::open(&tampered)
        .and_then(|c| c.execute_batch("UPDATE people SET name = 'Mallory' WHERE id = 'P000001';"))
        .unwrap_or_else(|e| panic!("{e}"));
    out.push((tampered, "does not verify"));
    out
}

#[test]
fn a_damaged_or_foreign_backup_is_refused_and_changes_nothing() {
    let tmp = TempDir::new("backup_damaged").unwrap_or_else(|e| panic!("{e}"));
    let source = tmp.path().join("source.db");
    let store = open(&sqlite_url(&source));
    fill(store.as_ref(), 50, 3);
    drop(store);
    let good = tmp.path().join("good.db");
    backup(&sqlite_url(&source), &good).unwrap_or_else(|e| panic!("{e}"));
    let files = damaged_files(&good, tmp.path());
    for db in databases("backup_damaged") {
        let b = db.backend;
        let store = open(&db.owner_url);
        fill(store.as_ref(), 5, 9);
        let before = contents(store.as_ref());
        for (file, says) in &files {
            for replace in [false, true] {
                let err = restore(file, &db.owner_url, replace)
                    .err()
                    .unwrap_or_else(|| panic!("{b}: {} was restored", file.display()));
                let message = err.to_string();
                assert!(
                    message.contains(says) && message.contains(&file.display().to_string()),
                    "{b}: {}: {message}",
                    file.display()
                );
                assert_eq!(
                    contents(store.as_ref()),
                    before,
                    "{b}: {} changed the target",
                    file.display()
                );
            }
        }
        // A file that is not there.
        let missing = tmp.path().join("missing.db");
        let err = restore(&missing, &db.url, false).err();
        assert!(matches!(err, Some(BackupError::Io { .. })), "{b}: {err:?}");
    }
}

#[test]
fn a_target_holding_anything_is_refused_unless_replaced() {
    let tmp = TempDir::new("backup_replace").unwrap_or_else(|e| panic!("{e}"));
    let source = tmp.path().join("source.db");
    let store = open(&sqlite_url(&source));
    fill(store.as_ref(), 20, 4);
    let want = contents(store.as_ref());
    drop(store);
    let file = tmp.path().join("backup.db");
    backup(&sqlite_url(&source), &file).unwrap_or_else(|e| panic!("{e}"));
    for db in databases("backup_replace") {
        let b = db.backend;
        let store = open(&db.url);
        fill(store.as_ref(), 5, 5);
        store
            .create_session(&steward_store::Session {
                token_hash: "ab".repeat(32),
                email: "admin5@example.org".into(),
                created_at: at(5),
                last_seen: at(5),
                mfa_passed: true,
                csrf_secret: "cd".repeat(16),
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let before = contents(store.as_ref());
        let err = restore(&file, &db.url, false).err();
        match &err {
            Some(BackupError::NotEmpty { table, rows }) => {
                assert!(*rows > 0, "{b}: {table}");
                let message = err.as_ref().map(ToString::to_string).unwrap_or_default();
                assert!(message.contains(table.as_str()), "{b}: {message}");
            }
            other => panic!("{b}: {other:?}"),
        }
        assert_eq!(contents(store.as_ref()), before, "{b}");
        if b == Backend::Postgres {
            // The role Steward connects as may not delete the audit log.
            let err = restore(&file, &db.url, true).err();
            assert!(
                matches!(err, Some(BackupError::ReplaceNeedsOwner)),
                "{b}: {err:?}"
            );
            assert!(
                err.map(|e| e.to_string())
                    .unwrap_or_default()
                    .contains("owner"),
                "{b}"
            );
            assert_eq!(contents(store.as_ref()), before, "{b}");
        }
        let summary = restore(&file, &db.owner_url, true).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(summary.replaced);
        assert_eq!(contents(store.as_ref()), want, "{b}");
        verifies(store.as_ref());
        assert!(
            store
                .session(&"ab".repeat(32))
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .is_none(),
            "{b}: a session outlived the replacement"
        );
    }
}
