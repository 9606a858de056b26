//! `steward connect` as an IT lead uses it, against the Microsoft Graph stand-in on every test
//! database: add with a credential from a file, list (the credential never shown), test, a first
//! sync held at its preview (exit status 3), the preview as JSON, the sync applied, resolve, and
//! remove; bad settings refused with the setting named.

use std::process::{Command, Output};

use steward_model::Person;
use steward_service::Steward;
use steward_store::testing::{TempDir, databases};
use steward_vendors::{Credentials, Faults, Server, Tenant};

const TENANT: &str = "contoso.onmicrosoft.com";
const SECRET: &str = "cli-s3cret-value";

fn steward(url: &str, data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_DATABASE_URL", url)
        .env("STEWARD_DATA_DIR", data)
        .output()
        .unwrap_or_else(|e| panic!("steward {args:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn an_it_lead_connects_microsoft_365_from_the_command_line() {
    for db in databases("cli-connect") {
        let data = TempDir::new("cli-connect-data").expect("data dir");
        let tenant = Tenant::generate_at(10, 8, 4, chrono::Utc::now());
        let server = Server::microsoft_graph(
            tenant,
            Faults::default(),
            Credentials::microsoft(TENANT, "app-id", SECRET),
        )
        .expect("the Graph stand-in");
        let base = server.base_url();
        let secret = data.path().join("secret.txt");
        std::fs::write(&secret, format!("{SECRET}\n")).expect("secret file");
        let run = |args: &[&str]| steward(&db.url, data.path(), args);

        // A setting the kind does not take is refused, naming it.
        let out = run(&[
            "connect",
            "add",
            "microsoft365",
            "m365",
            "--set",
            "tenant=x",
            "--set",
            "client_id=y",
            "--set",
            "colour=blue",
        ]);
        assert!(!out.status.success());
        assert!(text(&out).contains("colour"), "{}", text(&out));
        // Plain http to another machine is refused.
        let out = run(&[
            "connect",
            "add",
            "microsoft365",
            "m365",
            "--set",
            "tenant=x",
            "--set",
            "client_id=y",
            "--set",
            "base_url=http://graph.example.org",
        ]);
        assert!(!out.status.success());
        assert!(text(&out).contains("base_url"), "{}", text(&out));

        let token_url = format!("token_url={base}/{TENANT}/oauth2/v2.0/token");
        let base_url = format!("base_url={base}");
        let secret_path = secret.display().to_string();
        let out = run(&[
            "connect",
            "add",
            "microsoft365",
            "m365",
            "--set",
            &format!("tenant={TENANT}"),
            "--set",
            "client_id=app-id",
            "--set",
            &base_url,
            "--set",
            &token_url,
            "--secret-file",
            &secret_path,
        ]);
        assert!(out.status.success(), "{}", text(&out));

        let out = run(&["connect", "list", "--format", "json"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            !text(&out).contains(SECRET),
            "the credential is never shown"
        );
        let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(listed[0]["credential"], true);

        let out = run(&["connect", "test", "m365"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("users can be read"), "{}", text(&out));

        // The first sync stops at its preview, saying so, with its own exit status.
        let out = run(&["connect", "sync", "m365"]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(text(&out).contains("first sync"), "{}", text(&out));
        let steward_db = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        assert!(steward_db.list::<Person>().expect("people").is_empty());

        let out = run(&["connect", "preview", "m365", "--format", "json"]);
        assert!(out.status.success(), "{}", text(&out));
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            plan["counts"]["created"].as_u64().map(|n| n >= 10),
            Some(true)
        );

        let out = run(&["connect", "sync", "m365", "--apply"]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(steward_db.list::<Person>().expect("people").len(), 10);

        // A decision about a record, then the connector removed; what it synced stays.
        let out = run(&["connect", "resolve", "m365", "accounts", "no-such-id"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("ignored"));
        let out = run(&["connect", "remove", "m365"]);
        assert!(out.status.success(), "{}", text(&out));
        let out = run(&["connect", "sync", "m365"]);
        assert!(!out.status.success());
        assert!(text(&out).contains("no connector"), "{}", text(&out));
        assert_eq!(steward_db.list::<Person>().expect("people").len(), 10);
        drop(db);
    }
}
