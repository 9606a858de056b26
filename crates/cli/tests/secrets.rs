//! What `steward` leaves on disk is private, and what it writes out holds no secret: the data
//! folder 0700, the database and key files 0600 whatever the umask; TOTP secrets sealed under
//! the key file, rotated by `steward account rotate-key`; and after enrolment and sign-in, the
//! audit log and every register's export hold no secret, password, hash, code or token.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use steward_service::{SecretKey, SecretKeys, Stamp, Steward};
use steward_store::testing::{TempDir, databases};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `steward` under a umask that would leave everything open to everyone.
fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_ACTOR", "cli:test")
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

#[test]
fn a_fresh_data_folder_is_private_whatever_the_umask() {
    let tmp = TempDir::new("fresh_data").unwrap_or_else(|e| panic!("{e}"));
    let data = tmp.path().join("data");
    let dir = data.to_string_lossy().into_owned();
    ok(
        &[],
        &["--data-dir", &dir, "org", "set", "--name", "Private"],
    );
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("steward.db")), 0o600, "the database");
    assert_eq!(mode(&data.join("secret.key")), 0o600, "the key file");
    for side in ["steward.db-wal", "steward.db-shm"] {
        let path = data.join(side);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{side}");
        }
    }

    // Files made open by hand (or by an earlier version) are narrowed at the next start, and
    // the log says so.
    for (path, open) in [
        (data.clone(), 0o755),
        (data.join("steward.db"), 0o644),
        (data.join("secret.key"), 0o644),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(open))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = run(
        &[("STEWARD_LOG", "info")],
        &["--data-dir", &dir, "org", "show"],
    );
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(mode(&data), 0o700, "{log}");
    assert_eq!(mode(&data.join("steward.db")), 0o600, "{log}");
    assert_eq!(mode(&data.join("secret.key")), 0o600, "{log}");
    assert!(log.contains("its mode is now 600"), "{log}");
    assert!(log.contains("its mode is now 700"), "{log}");
}

#[test]
fn the_key_file_seals_secrets_and_rotates() {
    for db in databases("cli_rotate") {
        let b = db.backend;
        let tmp = TempDir::new("cli_rotate").unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path().to_string_lossy().into_owned();
        let env = [
            ("STEWARD_DATABASE_URL", db.url.as_str()),
            ("STEWARD_DATA_DIR", dir.as_str()),
            ("STEWARD_NEW_PASSWORD", "a long enough passphrase for tests"),
        ];
        ok(&env, &["account", "add", "a@example.org", "--name", "A"]);
        // Beside an SQLite database, else in the data folder.
        let key_file = match db.url.strip_prefix("sqlite://") {
            Some(path) => Path::new(path)
                .parent()
                .map(|d| d.join("secret.key"))
                .unwrap_or_default(),
            None => tmp.path().join("secret.key"),
        };
        let first = SecretKey::load(&key_file)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: no key file"));

        // Enrolled as the web would, under the key file's key.
        let steward = Steward::open(&db.url)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .with_secret_keys(SecretKeys::new(first.clone()));
        let secret = steward
            .enrol_authenticator(&Stamp::now("test"), "a@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let stored = |s: &Steward| {
            s.store()
                .sign_in("a@example.org")
                .ok()
                .flatten()
                .and_then(|a| a.totp_secret)
                .unwrap_or_default()
        };
        assert!(!stored(&steward).contains(&secret), "{b}");

        let said = ok(&env, &["account", "rotate-key"]);
        assert!(said.starts_with("1 secret(s) sealed afresh"), "{b}: {said}");
        let second = SecretKey::load(&key_file)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: no key file"));
        assert_ne!(first, second, "{b}: a new key");
        assert_eq!(mode(&key_file), 0o600, "{b}");
        assert!(
            stored(&steward).starts_with(&format!("v1:{}:", second.id())),
            "{b}"
        );
        let code = steward_auth::Totp::from_base32(&secret)
            .map(|t| t.code_at(u64::try_from(Utc::now().timestamp()).unwrap_or(0)))
            .unwrap_or_default();
        let after = Steward::open(&db.url)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .with_secret_keys(SecretKeys::new(second));
        after
            .check_second_factor(&Stamp::now("test"), "a@example.org", &code)
            .unwrap_or_else(|e| panic!("{b}: signing in after the rotation: {e}"));
        // The old key alone no longer reads it: the error says so instead of panicking.
        let err = steward
            .check_second_factor(&Stamp::now("test"), "a@example.org", &code)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("sealed under key"), "{b}: {err}");

        // A key in the environment that is not a key is refused, without echoing it.
        let out = run(
            &[("STEWARD_SECRET_KEY", "hunter2-not-a-key")],
            &["--data-dir", &dir, "org", "show"],
        );
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{b}");
        assert!(text.contains("STEWARD_SECRET_KEY"), "{b}: {text}");
        assert!(!text.contains("hunter2"), "{b}: {text}");
    }
}
