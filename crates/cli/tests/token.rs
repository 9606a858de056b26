//! `steward token` end to end, on every test database: a service token created (its secret
//! printed once, only its hash stored), listed as text and JSON, refused when asked for what it
//! may not have, revoked, and every step audited without the secret.

use std::process::{Command, Output};

use steward_store::testing::{TempDir, TestDatabase, databases};

struct Run<'a> {
    db: &'a TestDatabase,
    dir: &'a TempDir,
}

impl Run<'_> {
    fn steward(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .env("STEWARD_DATABASE_URL", &self.db.url)
            .env("STEWARD_DATA_DIR", self.dir.path())
            .env("STEWARD_ACTOR", "cli:test")
            .env_remove("STEWARD_CONFIG")
            .output()
            .expect("the steward binary runs")
    }

    /// Runs and demands success, returning standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.steward(args);
        assert!(
            out.status.success(),
            "steward {args:?} on {} failed:\n{}",
            self.db.backend,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and demands failure, returning standard error.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.steward(args);
        assert!(
            !out.status.success(),
            "steward {args:?} on {} succeeded",
            self.db.backend
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// The word after `label` on the line that begins with it.
fn after<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label:?} in {out}"))
}

#[test]
fn service_tokens_from_the_command_line() {
    for db in databases("cli_tokens") {
        let dir = TempDir::new("cli_tokens").expect("temp dir");
        let run = Run { db: &db, dir: &dir };
        let b = db.backend;
        let created = run.ok(&[
            "token",
            "create",
            "--name",
            "nightly export",
            "--service",
            "hr-sync",
            "--capacity",
            "it",
            "--capacity",
            "auditor",
            "--access",
            "read",
            "--register",
            "people",
            "--register",
            "assets",
            "--expires-in",
            "30",
        ]);
        let id = after(&created, "token");
        let secret = after(&created, "secret:");
        assert!(id.starts_with("tok_"), "{b}: {created}");
        assert!(secret.starts_with("stw_"), "{b}: {created}");
        assert!(
            created.contains("will not be shown again"),
            "{b}: {created}"
        );

        let list = run.ok(&["token", "list"]);
        assert!(
            list.contains(id) && list.contains("nightly export"),
            "{b}: {list}"
        );
        assert!(
            list.contains("service:hr-sync (it, auditor)"),
            "{b}: {list}"
        );
        assert!(
            list.contains("people,assets") && list.contains("read"),
            "{b}: {list}"
        );
        assert!(!list.contains(secret), "{b}: {list}");
        let json: serde_json::Value =
            serde_json::from_str(&run.ok(&["token", "list", "--format", "json"]))
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(json[0]["id"], id, "{b}: {json}");
        assert_eq!(json[0]["holder"], "hr-sync", "{b}: {json}");
        assert_eq!(
            json[0]["capacities"],
            serde_json::json!(["it", "auditor"]),
            "{b}"
        );
        assert_eq!(json[0]["access"], "read", "{b}");
        assert_eq!(json[0]["revoked_at"], serde_json::Value::Null, "{b}");

        // Only the hash is stored.
        let steward = steward_service::Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let rows = steward
            .store()
            .api_tokens()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows[0].token_hash, steward_auth::token_hash(secret), "{b}");
        assert!(
            steward
                .token_bearer(secret, chrono::Utc::now())
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some(),
            "{b}"
        );

        // What a token may not have is refused, and nothing is made.
        let base = ["token", "create", "--name", "x", "--service", "x"];
        let err = run.refused(&[&base[..], &["--capacity", "staff"]].concat());
        assert!(err.contains("person's capacity"), "{b}: {err}");
        let err = run.refused(&[&base[..], &["--capacity", "wizard"]].concat());
        assert!(err.contains("unknown capacity"), "{b}: {err}");
        let err = run.refused(&[&base[..], &["--capacity", "it", "--expires-in", "400"]].concat());
        assert!(err.contains("366"), "{b}: {err}");
        let err = run.refused(&[&base[..], &["--capacity", "it", "--register", "nope"]].concat());
        assert!(err.contains("unknown register"), "{b}: {err}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(
                &run.ok(&["token", "list", "--format", "json"])
            )
            .map(|v| v.as_array().map(Vec::len))
            .unwrap_or_else(|e| panic!("{b}: {e}")),
            Some(1),
            "{b}"
        );

        let revoked = run.ok(&["token", "revoke", id]);
        assert!(revoked.contains("revoked"), "{b}: {revoked}");
        assert!(
            steward
                .token_bearer(secret, chrono::Utc::now())
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none(),
            "{b}"
        );
        let err = run.refused(&["token", "revoke", "tok_nosuchtoken"]);
        assert!(err.contains("no api token"), "{b}: {err}");

        // Audited, by the command line's actor, with neither the secret nor its hash.
        let log = run.ok(&["audit", "log", "--entity", &format!("api_token:{id}")]);
        assert!(
            log.contains("create") && log.contains("revoke"),
            "{b}: {log}"
        );
        assert!(!log.contains(&secret["stw_".len()..]), "{b}: {log}");
        assert!(!log.contains(&rows[0].token_hash), "{b}: {log}");
        run.ok(&["audit", "verify"]);
    }
}

/// `steward api spec` prints the document the server serves at `/api/v1/openapi.json`.
#[test]
fn the_api_spec_is_printed_as_the_server_serves_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["api", "spec"])
        .env_remove("STEWARD_CONFIG")
        .output()
        .expect("the steward binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the spec is JSON");
    assert_eq!(printed, steward_web::openapi_document());
    assert_eq!(printed["openapi"], "3.1.0");
}
