//! `steward backup` and `steward restore` end to end, on every test database: the backup file is
//! private whatever the umask and never overwrites; it restores into a fresh database whose
//! exports and audit log match; a restore without the secret key the MFA secrets were sealed
//! with says so; a non-empty target is refused unless replaced; a file that is no backup is
//! refused, naming it.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use steward_service::{SecretKey, SecretKeys, Stamp, Steward};
use steward_store::testing::{TempDir, databases};

/// `steward` under a umask that would leave everything open to everyone.
fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env_remove("STEWARD_CONFIG")
        .env_remove("STEWARD_DATABASE_URL")
        .env_remove("STEWARD_SECRET_KEY")
        .env_remove("STEWARD_DATA_DIR");
    for (k, v) in env {
        command.env(k, v);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("steward runs: {e}"))
}

fn ok(env: &[(&str, &str)], args: &[&str]) -> String {
    let out = run(env, args);
    assert!(
        out.status.success(),
        "steward {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs, demands failure, and returns standard error.
fn fails(env: &[(&str, &str)], args: &[&str]) -> String {
    let out = run(env, args);
    assert!(
        !out.status.success(),
        "steward {args:?} succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/estate")
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn exports(env: &[(&str, &str)], dir: &Path) -> Vec<(String, String)> {
    ok(env, &["export", "all", "--out", &text(dir)]);
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_backup_restores_with_its_key_and_says_so_without_it() {
    for db in databases("cli_backup") {
        let b = db.backend;
        let tmp = TempDir::new("cli_backup").unwrap_or_else(|e| panic!("{e}"));
        let data = tmp.path().join("data");
        let env = [
            ("STEWARD_DATABASE_URL", db.url.as_str()),
            ("STEWARD_DATA_DIR", &text(&data)),
            ("STEWARD_NEW_PASSWORD", "a long enough passphrase for tests"),
        ];
        ok(&env, &["import", &text(&fixtures())]);
        ok(&env, &["account", "add", "a@example.org", "--name", "A"]);
        // Enrolled as the web would, under the key file's key (beside an SQLite database, else in
        // the data folder).
        let key_file = match db.url.strip_prefix("sqlite://") {
            Some(path) => Path::new(path)
                .parent()
                .map(|d| d.join("secret.key"))
                .unwrap_or_default(),
            None => data.join("secret.key"),
        };
        let key = SecretKey::load(&key_file)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: no key file"));
        Steward::open(&db.url)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .with_secret_keys(SecretKeys::new(key.clone()))
            .enrol_authenticator(&Stamp::now("test"), "a@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let want = exports(&env, &tmp.path().join("before"));
        let head = ok(&env, &["audit", "head"]);

        let file = tmp.path().join("backup.db");
        let said = ok(&env, &["backup", &text(&file)]);
        assert!(said.contains("verified"), "{b}: {said}");
        assert!(said.contains(head.trim()), "{b}: {said}\n{head}");
        let mode = std::fs::metadata(&file).map_or(0, |m| m.permissions().mode() & 0o777);
        assert_eq!(mode, 0o600, "{b}: the backup file");
        let again = fails(&env, &["backup", &text(&file)]);
        assert!(again.contains("already exists"), "{b}: {again}");

        // Into a fresh database on another machine that has no key: restored, but refused with
        // what to do, and no key made.
        let bare = tmp.path().join("bare");
        let bare_url = format!("sqlite://{}", bare.join("steward.db").display());
        let bare_env = [
            ("STEWARD_DATABASE_URL", bare_url.as_str()),
            ("STEWARD_DATA_DIR", &text(&bare)),
        ];
        let err = fails(&bare_env, &["restore", &text(&file)]);
        assert!(
            err.contains("sealed with another secret key")
                && err.contains("STEWARD_SECRET_KEY")
                && err.contains("a@example.org"),
            "{b}: {err}"
        );
        assert!(!bare.join("secret.key").exists(), "{b}: a key was made");

        // With the key, everything is as it was.
        let fresh = tmp.path().join("fresh");
        let fresh_url = format!("sqlite://{}", fresh.join("steward.db").display());
        let key_text = key.to_base64();
        let fresh_env = [
            ("STEWARD_DATABASE_URL", fresh_url.as_str()),
            ("STEWARD_DATA_DIR", &text(&fresh)),
            ("STEWARD_SECRET_KEY", key_text.as_str()),
        ];
        let said = ok(&fresh_env, &["restore", &text(&file)]);
        assert!(said.contains("the audit log verifies"), "{b}: {said}");
        assert_eq!(
            exports(&fresh_env, &tmp.path().join("after")),
            want,
            "{b}: the exports differ after a restore"
        );
        assert_eq!(ok(&fresh_env, &["audit", "head"]), head, "{b}");
        ok(&fresh_env, &["audit", "verify"]);

        // Again into the same database: refused, unless replaced.
        let err = fails(&fresh_env, &["restore", &text(&file)]);
        assert!(
            err.contains("nothing was restored") && err.contains("not empty"),
            "{b}: {err}"
        );
        let said = ok(&fresh_env, &["restore", "--replace", &text(&file)]);
        assert!(said.contains("replacing what it held"), "{b}: {said}");

        // A file that is no backup.
        let notes = tmp.path().join("notes.txt");
        std::fs::write(&notes, "not a backup\n").unwrap_or_else(|e| panic!("{e}"));
        let err = fails(&fresh_env, &["restore", "--replace", &text(&notes)]);
        assert!(
            err.contains(&text(&notes)) && err.contains("not an SQLite database"),
            "{b}: {err}"
        );
        assert_eq!(ok(&fresh_env, &["audit", "head"]), head, "{b}");
    }
}
