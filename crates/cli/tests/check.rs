//! `steward check` end to end: a CSV folder without a database, and the database on every test
//! backend, where runs are recorded and re-running changes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use steward_store::testing::{TempDir, databases};

fn estate() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/estate")
}

fn steward(db_url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_DATABASE_URL", db_url)
        .env("STEWARD_DATA_DIR", dir)
        .env("STEWARD_ACTOR", "cli:test")
        .env_remove("STEWARD_CONFIG")
        .output()
        .expect("the steward binary runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const AT: &str = "2026-11-24T09:00:00Z";

/// The packs these checks run when no database says which: the estate was written for them.
const PACKS: [&str; 4] = ["--pack", "cafcass-it-5.0", "--pack", "cafcass-ia-4.3"];

#[test]
fn a_csv_folder_is_checked_without_a_database() {
    let dir = TempDir::new("check-data").expect("temp dir");
    let data = estate();
    let out = steward(
        "sqlite:///nonexistent/never/opened.db",
        dir.path(),
        &[
            "check",
            "--data",
            data.to_str().unwrap_or_default(),
            "--at",
            AT,
            "--format",
            "json",
            PACKS[0],
            PACKS[1],
            PACKS[2],
            PACKS[3],
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(json["at"], AT);
    let findings = json["findings"].as_array().expect("findings");
    let find = |control: &str, id: &str| {
        findings
            .iter()
            .find(|f| f["control"] == control && f["subject"]["id"] == id)
            .cloned()
    };

    // The laptop recorded as unencrypted fires, citing its clause, with its evidence.
    let bitlocker = find("laptop-bitlocker-encrypted", "LT0002").expect("LT0002 is unencrypted");
    for key in [
        "pack", "version", "clause", "control", "subject", "severity", "message", "evidence",
        "who_acts", "due",
    ] {
        assert!(
            bitlocker.get(key).is_some(),
            "finding lacks {key}: {bitlocker}"
        );
    }
    assert_eq!(bitlocker["pack"], "cafcass-it-5.0");
    assert_eq!(bitlocker["version"], "5.0");
    assert_eq!(bitlocker["clause"], "2.11(a)");
    assert_eq!(bitlocker["subject"]["type"], "asset");
    assert!(
        bitlocker["clause_text"]
            .as_str()
            .unwrap_or("")
            .contains("BitLocker")
    );
    // The encrypted laptop does not.
    assert!(find("laptop-bitlocker-encrypted", "LT0001").is_none());
    // A leaver's active account fires; the same clause's exception machinery is exercised by the
    // pack's own cases.
    assert!(find("leaver-accounts-disabled", "A0004").is_some());
    // The month over the data allowance, by its usage key.
    assert!(find("monthly-data-within-allowance", "2026-10/MOB0001").is_some());

    // Nothing was written: the database url was never opened.
    assert!(!Path::new("/nonexistent/never/opened.db").exists());
}

#[test]
fn fail_on_sets_the_exit_code_and_formats_differ_only_in_shape() {
    let dir = TempDir::new("check-exit").expect("temp dir");
    let data = estate();
    let data = data.to_str().unwrap_or_default();
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--data", data, "--at", AT];
        if !extra.contains(&"--pack") {
            args.extend_from_slice(&PACKS);
        }
        args.extend_from_slice(extra);
        steward("sqlite::memory:", dir.path(), &args)
    };
    assert_eq!(
        run(&["--fail-on", "critical"]).status.code(),
        Some(1),
        "LT0002 is a critical finding"
    );
    assert_eq!(run(&["--fail-on", "high"]).status.code(), Some(1));
    let table = run(&[]);
    assert_eq!(table.status.code(), Some(0));
    let csv = stdout(&run(&["--format", "csv"]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("pack,version,clause,control,subject_type,subject_id,severity,who_acts,due,message")
    );
    let table_count = String::from_utf8_lossy(&table.stdout).lines().count() - 2;
    assert_eq!(
        lines.count(),
        table_count,
        "csv and table list the same findings"
    );

    let unknown = run(&["--pack", "no-such-pack"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no pack \"no-such-pack\""));
    assert_eq!(run(&["--fail-on", "dire"]).status.code(), Some(1));
}

#[test]
fn runs_against_the_database_are_recorded_once() {
    for db in databases("check-db") {
        let dir = TempDir::new("check-db").expect("temp dir");
        let data = estate();
        stdout(&steward(
            &db.url,
            dir.path(),
            &["import", data.to_str().unwrap_or_default()],
        ));
        // A fresh database runs no policy: checking says how to choose one, and records nothing.
        let none = steward(&db.url, dir.path(), &["check", "--at", AT]);
        assert_eq!(none.status.code(), Some(2), "on {}", db.backend);
        assert!(
            String::from_utf8_lossy(&none.stderr).contains("steward policy activate"),
            "on {}: {}",
            db.backend,
            String::from_utf8_lossy(&none.stderr)
        );
        for id in ["cafcass-it-5.0", "cafcass-ia-4.3"] {
            let out = stdout(&steward(&db.url, dir.path(), &["policy", "activate", id]));
            assert!(out.contains(&format!("{id} is now active")), "{out}");
        }
        let again = stdout(&steward(
            &db.url,
            dir.path(),
            &["policy", "activate", "cafcass-it-5.0"],
        ));
        assert!(again.contains("already active"), "{again}");
        let first = stdout(&steward(&db.url, dir.path(), &["check", "--at", AT]));
        // Written out as each control is recorded: the table, most severe first, and its count.
        assert!(
            first.contains("laptop-bitlocker-encrypted") && first.contains("asset LT0002"),
            "on {}: {first}",
            db.backend
        );
        let count: usize = first
            .lines()
            .last()
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert_eq!(
            count + 2,
            first.lines().count(),
            "on {}: {first}",
            db.backend
        );
        let log = |s: &str| {
            stdout(&steward(&db.url, dir.path(), &["audit", "log"]))
                .lines()
                .filter(|l| l.contains(s))
                .count()
        };
        let recorded = log(" finding:");
        assert!(
            recorded >= 10,
            "{} findings recorded on {}",
            recorded,
            db.backend
        );

        // The same estate an hour later: nothing changes, nothing is audited.
        let second = stdout(&steward(
            &db.url,
            dir.path(),
            &["check", "--at", "2026-11-24T10:00:00Z"],
        ));
        assert_eq!(log(" finding:"), recorded, "on {}", db.backend);
        let body = |s: &str| {
            s.lines()
                .filter(|l| !l.contains("finding(s) at"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(body(&first), body(&second));

        // Encrypting the laptop resolves its finding at the next run.
        stdout(&steward(
            &db.url,
            dir.path(),
            &["register", "set", "asset", "LT0002", "encrypted=true"],
        ));
        let third = stdout(&steward(
            &db.url,
            dir.path(),
            &["check", "--at", "2026-11-24T11:00:00Z"],
        ));
        assert!(!third.contains("laptop-bitlocker-encrypted"), "{third}");
        assert!(
            log("update finding:cafcass-it-5.0/laptop-bitlocker-encrypted/asset/LT0002") >= 1,
            "on {}",
            db.backend
        );
        assert!(
            stdout(&steward(&db.url, dir.path(), &["audit", "verify"]))
                .starts_with("audit log verified")
        );
    }
}

#[test]
fn a_bad_csv_folder_is_refused_as_an_import_would_be() {
    let dir = TempDir::new("check-bad").expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("folder");
    std::fs::write(
        data.join("people.csv"),
        "id,name,staff_group,status\nP1,Ann,fca,active\n",
    )
    .expect("write");
    std::fs::write(
        data.join("assets.csv"),
        "tag,kind,ownership,status,assigned_to\nL1,laptop,organisation,allocated,P9\n",
    )
    .expect("write");
    let out = steward(
        "sqlite::memory:",
        dir.path(),
        &[
            "check",
            "--data",
            data.to_str().unwrap_or_default(),
            PACKS[0],
            PACKS[1],
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "assets.csv:2: assigned_to: P9: no person with this id in the import or the database"
        ),
        "{stderr}"
    );
}
