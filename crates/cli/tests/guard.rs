//! `steward export` guards formulas and `import` takes the guard off (byte-identical round
//! trips, `--no-guard` for neither); over-long text is refused with its length; and after
//! enrolment and sign-in, neither the audit log nor any register's export holds a secret.

use std::path::Path;
use std::process::{Command, Output};

use steward_service::{SecretKey, SecretKeys, Stamp, Steward};
use steward_store::testing::{TempDir, TestDatabase, databases};

/// A fixed key for these tests, handed to the binary as `STEWARD_SECRET_KEY`.
fn key() -> SecretKey {
    SecretKey::from_bytes([42; 32])
}

fn run(db: &TestDatabase, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_DATABASE_URL", &db.url)
        .env("STEWARD_DATA_DIR", dir)
        .env("STEWARD_ACTOR", "cli:test")
        .env("STEWARD_SECRET_KEY", key().to_base64())
        .env_remove("STEWARD_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("steward runs: {e}"))
}

fn ok(db: &TestDatabase, dir: &Path, args: &[&str]) -> String {
    let out = run(db, dir, args);
    assert!(
        out.status.success(),
        "steward {args:?} on {} failed:\n{}",
        db.backend,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PEOPLE: &str = "id,name,email,staff_group,manager_id,budget_centre,status,start_date,leave_date,clearance,clearance_expires,byod,weekly_digest,source,source_seen,missing_since,job_title\n\
P001,\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Click\"\")\",,fca,,,active,,,,,,,,,,\n\
P002,'-2+3,,fca,,,active,,,,,,,,,,\n\
P003,'just a quote,,fca,,,active,,,,,,,,,,\n\
P004,''@two,,fca,,,active,,,,,,,,,,\n";

#[test]
fn exports_guard_formulas_and_imports_take_the_guard_off() {
    for db in databases("cli_guard") {
        let b = db.backend;
        let tmp = TempDir::new("cli_guard").unwrap_or_else(|e| panic!("{e}"));
        let file = tmp.path().join("people.csv");
        std::fs::write(&file, PEOPLE).unwrap_or_else(|e| panic!("{e}"));
        let path = file.to_string_lossy().into_owned();
        ok(&db, tmp.path(), &["import", "people", &path]);

        // The guard came off on the way in: the register holds the formula as text.
        let shown = ok(&db, tmp.path(), &["register", "show", "person", "P001"]);
        assert!(
            shown.contains("name                   =HYPERLINK("),
            "{b}: {shown}"
        );

        // And goes back on on the way out: byte for byte the file imported.
        let exported = ok(&db, tmp.path(), &["export", "people"]);
        assert_eq!(exported, PEOPLE, "{b}");
        assert!(exported.contains("\"'=HYPERLINK("), "{b}");

        // Without the guard, cells are written as they are.
        let raw = ok(&db, tmp.path(), &["export", "people", "--no-guard"]);
        assert!(raw.contains("P001,\"=HYPERLINK("), "{b}: {raw}");
        assert!(raw.contains("P002,-2+3,"), "{b}: {raw}");

        // Imported without taking the guard off, the quote stays part of the name.
        ok(&db, tmp.path(), &["import", "people", &path, "--no-guard"]);
        let shown = ok(&db, tmp.path(), &["register", "show", "person", "P002"]);
        assert!(
            shown.contains("name                   '-2+3"),
            "{b}: {shown}"
        );
    }
}

#[test]
fn over_long_text_is_refused_with_its_length_and_changes_nothing() {
    for db in databases("cli_limits") {
        let b = db.backend;
        let tmp = TempDir::new("cli_limits").unwrap_or_else(|e| panic!("{e}"));
        let long = "x".repeat(20_000);
        let out = run(&db, tmp.path(), &["org", "set", "--name", &long]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{b}: a 20,000-character name accepted"
        );
        assert!(
            err.contains("name: ") && err.contains("too long (20000 characters; at most 200)"),
            "{b}: {err}"
        );
        assert!(err.len() < 1_000, "{b}: the value is not echoed whole");
        assert!(
            ok(&db, tmp.path(), &["org", "show"]).contains("My organisation"),
            "{b}"
        );

        // A megabyte name in a file: refused, nothing imported.
        let file = tmp.path().join("people.csv");
        let huge = "y".repeat(1 << 20);
        std::fs::write(
            &file,
            format!("id,name,staff_group,status\nP001,{huge},fca,active\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let out = run(
            &db,
            tmp.path(),
            &["import", "people", &file.to_string_lossy()],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{b}");
        assert!(
            err.contains("name: ") && err.contains("too long (1048576 characters; at most 200)"),
            "{b}: {}",
            &err[..err.len().min(400)]
        );
        assert_eq!(
            ok(&db, tmp.path(), &["export", "people"]).lines().count(),
            1
        );

        // `register set` goes through the same parse.
        std::fs::write(&file, "id,name,staff_group,status\nP001,Ada,fca,active\n")
            .unwrap_or_else(|e| panic!("{e}"));
        ok(
            &db,
            tmp.path(),
            &["import", "people", &file.to_string_lossy()],
        );
        let change = format!("name={}", "z".repeat(201));
        let out = run(
            &db,
            tmp.path(),
            &["register", "set", "person", "P001", &change],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{b}");
        assert!(
            err.contains("too long (201 characters; at most 200)"),
            "{b}: {err}"
        );
    }
}

#[test]
fn no_secret_reaches_the_audit_log_or_an_export() {
    for db in databases("cli_no_secrets") {
        let b = db.backend;
        let tmp = TempDir::new("cli_no_secrets").unwrap_or_else(|e| panic!("{e}"));
        let password = "correct horse battery staple for tests";
        // Opened as the server opens it: with the same key.
        ok(&db, tmp.path(), &["org", "show"]);
        let steward = Steward::open(&db.url)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .with_secret_keys(SecretKeys::new(key()));
        let now = Stamp::now("test");
        steward
            .create_first_administrator(&now, "admin@example.org", "Admin", password)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let (secret, _, _) = steward
            .begin_enrolment(&now, "admin@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let unix = u64::try_from(now.at.timestamp()).unwrap_or(0);
        let code = steward_auth::Totp::from_base32(&secret)
            .map(|t| t.code_at(unix))
            .unwrap_or_default();
        let recovery = steward
            .confirm_enrolment(&now, "admin@example.org", &code)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        steward
            .check_password("admin@example.org", password)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let (first_token, _) = steward
            .open_session("admin@example.org", now.at)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        steward
            .check_second_factor(&now, "admin@example.org", &recovery[0])
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let token = steward
            .complete_session(&first_token, now.at)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let hash = steward
            .store()
            .sign_in("admin@example.org")
            .ok()
            .flatten()
            .map(|a| a.password_hash)
            .unwrap_or_default();
        let stored_secret = steward
            .store()
            .sign_in("admin@example.org")
            .ok()
            .flatten()
            .and_then(|a| a.totp_secret)
            .unwrap_or_default();
        assert!(!hash.is_empty() && !stored_secret.is_empty(), "{b}");

        let mut written = ok(&db, tmp.path(), &["audit", "log", "--format", "json"]);
        written.push_str(&ok(&db, tmp.path(), &["audit", "log"]));
        written.push_str(&ok(&db, tmp.path(), &["account", "list"]));
        let out = tmp.path().join("export");
        ok(
            &db,
            tmp.path(),
            &["export", "all", "--out", &out.to_string_lossy()],
        );
        for entry in std::fs::read_dir(&out).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            written.push_str(&std::fs::read_to_string(path).unwrap_or_default());
        }
        assert!(written.contains("enrol_mfa"), "{b}: the audit log was read");
        let mut secrets = vec![
            ("the TOTP secret", secret.clone()),
            ("the sealed TOTP secret", stored_secret),
            ("the password", password.to_owned()),
            ("the password hash", hash),
            ("the session token", token.clone()),
            ("the first session token", first_token),
            ("the session token's hash", steward_auth::token_hash(&token)),
        ];
        for code in &recovery {
            secrets.push(("a recovery code", code.clone()));
        }
        for (what, value) in secrets {
            assert!(!written.contains(&value), "{b}: {what} was written out");
        }
    }
}
