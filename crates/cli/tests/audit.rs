//! `steward audit head`, `audit verify --expect`, `erase person` and `migrate --app-role`, end to
//! end on every test database.

use std::path::Path;
use std::process::{Command, Output};

use steward_store::testing::{TempDir, databases};

fn steward(url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_DATABASE_URL", url)
        .env("STEWARD_DATA_DIR", dir)
        .env("STEWARD_ACTOR", "cli:test")
        .env_remove("STEWARD_CONFIG")
        .output()
        .expect("the steward binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_anchor_survives_erasure_and_catches_a_cut_log() {
    for db in databases("cli_anchor") {
        let dir = TempDir::new("cli_anchor").expect("temp dir");
        let run = |args: &[&str]| steward(&db.url, dir.path(), args);
        let estate = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/estate");
        assert!(
            run(&["import", estate.to_str().unwrap_or_default()])
                .status
                .success()
        );
        let out = run(&["audit", "head"]);
        let anchor = text(&out).0.trim().to_owned();
        let (seq, hash) = anchor.split_once(':').expect("SEQ:HASH");
        assert_eq!(hash.len(), 64, "{anchor}");
        let json: serde_json::Value =
            serde_json::from_str(&text(&run(&["audit", "head", "--format", "json"])).0)
                .expect("json");
        assert_eq!(json["seq"].to_string(), seq);

        // Someone still here cannot be erased; nothing is written.
        let out = run(&["erase", "person", "P002", "--reason", "asked"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out).1.contains("only someone who has left"),
            "{}",
            text(&out).1
        );
        assert_eq!(text(&run(&["audit", "head"])).0.trim(), anchor);

        assert!(
            run(&["register", "set", "person", "P002", "status=leaver"])
                .status
                .success()
        );
        let out = run(&[
            "erase",
            "person",
            "P002",
            "--reason",
            "left; retention passed",
        ]);
        assert!(out.status.success(), "{}", text(&out).1);
        let shown = text(&run(&["register", "show", "person", "P002"])).0;
        assert!(!shown.contains("Adebayo"), "{shown}");
        let log = text(&run(&["audit", "log", "--entity", "person:P002"])).0;
        assert!(!log.contains("Adebayo") && log.contains("erase"), "{log}");
        // The log still verifies, and still extends the anchor taken before the erasure.
        let out = run(&["audit", "verify", "--expect", &anchor]);
        assert!(out.status.success(), "{}", text(&out).1);
        assert!(text(&out).0.contains(&format!("extending {anchor}")));

        // Cut back to before the anchor, head moved back: caught.
        let keep = seq.parse::<i64>().expect("seq") - 5;
        db.execute(&format!(
            "DELETE FROM audit_payloads WHERE seq > {keep}; DELETE FROM audit_log WHERE seq > {keep};
             UPDATE audit_head SET seq = {keep}, hash = (SELECT hash FROM audit_log WHERE seq = {keep}) WHERE id = 1"
        ))
        .expect("tamper");
        let out = run(&["audit", "verify", "--expect", &anchor]);
        assert_eq!(out.status.code(), Some(1));
        let verdict = text(&out).0;
        assert!(verdict.contains("names a later record"), "{verdict}");
        assert!(
            verdict.contains("stored without an audit record"),
            "{verdict}"
        );
        let out = run(&["audit", "verify", "--expect", "12:nothex"]);
        assert_eq!(out.status.code(), Some(2), "a bad anchor is refused");

        // As the owner, migrate grants the app role again (idempotent); SQLite has no roles.
        let out = steward(
            &db.owner_url,
            dir.path(),
            &["migrate", "--app-role", "steward_app_x"],
        );
        match db.backend {
            steward_store::Backend::Postgres => {
                assert!(out.status.success(), "{}", text(&out).1);
                let _ = db.execute("DROP OWNED BY steward_app_x; DROP ROLE steward_app_x");
            }
            steward_store::Backend::Sqlite => {
                assert_eq!(out.status.code(), Some(1));
                assert!(text(&out).1.contains("only PostgreSQL has roles"));
            }
        }
    }
}
