//! `steward mail` through the binary, on every test database, against a real SMTP server on
//! loopback (`steward_mail::testing`).

use std::process::{Command, Output};

use steward_mail::testing::SmtpServer;

use steward_store::testing::{TempDir, databases};

fn received(sink: &SmtpServer) -> Vec<serde_json::Value> {
    sink.received()
        .iter()
        .map(|text| serde_json::from_str(text).expect("message JSON"))
        .collect()
}

#[test]
fn waiting_notices_are_listed_and_sent_from_the_command_line() {
    let Some(sink) = SmtpServer::start() else {
        return;
    };
    for db in databases("cli_mail") {
        let b = db.backend;
        let dir = TempDir::new("cli_mail").expect("temp dir");
        let steward = |args: &[&str], env: &[(&str, &str)]| -> Output {
            let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
            c.args(args)
                .env("STEWARD_DATABASE_URL", &db.url)
                .env("STEWARD_DATA_DIR", dir.path())
                .env("STEWARD_ACTOR", "cli:test")
                .env_remove("STEWARD_CONFIG")
                .env_remove("STEWARD_SMTP_URL")
                .env_remove("STEWARD_MAIL_FROM")
                .env_remove("STEWARD_PUBLIC_URL")
                .env_remove("STEWARD_SMTP_USERNAME")
                .env_remove("STEWARD_SMTP_PASSWORD")
                .env_remove("STEWARD_SMTP_OAUTH_TOKEN")
                .env_remove("STEWARD_SMTP_OAUTH_TOKEN_FILE")
                .env_remove("STEWARD_SMTP_CA_FILE");
            for (k, v) in env {
                c.env(k, v);
            }
            c.output().expect("the steward binary runs")
        };
        let ok = |args: &[&str], env: &[(&str, &str)]| -> String {
            let out = steward(args, env);
            assert!(
                out.status.success(),
                "{b}: steward {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let people = dir.path().join("people.csv");
        std::fs::write(
            &people,
            "id,name,email,staff_group,manager_id,budget_centre,status,start_date,leave_date,clearance,clearance_expires,byod\n\
             M1,Mo Manager,mo@example.org,fca,,,active,,,,,\n\
             P1,Pat Person,pat@example.org,fca,M1,,active,,,,,\n\
             G1,Gil Governance,,fca,,,active,,,,,\n",
        )
        .expect("write");
        let roles = dir.path().join("roles.csv");
        std::fs::write(&roles, "person_id,role,granted_on\nG1,governance,\n").expect("write");
        ok(
            &["import", "people", people.to_str().unwrap_or_default()],
            &[],
        );
        ok(
            &["import", "roles", roles.to_str().unwrap_or_default()],
            &[],
        );
        let incident: serde_json::Value = serde_json::from_str(&ok(
            &[
                "incident",
                "report",
                "policy-breach",
                "--person",
                "P1",
                "--format",
                "json",
            ],
            &[],
        ))
        .expect("JSON");
        let id = incident["id"].as_str().expect("an id").to_owned();

        // Two waiting: the manager, and governance, whose only member has no address.
        let pending: serde_json::Value =
            serde_json::from_str(&ok(&["mail", "pending", "--format", "json"], &[])).expect("JSON");
        let rows = pending.as_array().expect("a list");
        assert_eq!(rows.len(), 2, "{b}: {pending}");
        let manager = rows
            .iter()
            .find(|r| r["recipient"] == "M1")
            .expect("the manager's");
        assert_eq!(manager["to"], serde_json::json!(["mo@example.org"]), "{b}");
        assert!(
            rows.iter()
                .any(|r| r["recipient"] == "information-governance"
                    && r["unaddressed"]
                        .as_str()
                        .is_some_and(|w| w.contains("governance role"))),
            "{b}: {pending}"
        );

        // No relay configured, a malformed one, one that is down: clear errors, nothing marked.
        let refused = |args: &[&str], env: &[(&str, &str)], words: &str| {
            let out = steward(args, env);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{b}: steward {args:?} succeeded");
            assert!(stderr.contains(words), "{b}: steward {args:?}: {stderr}");
        };
        refused(&["mail", "send"], &[], "no relay: give --smtp");
        refused(
            &["mail", "send"],
            &[("STEWARD_SMTP_URL", "smtp://127.0.0.1:9")],
            "mail_from is not",
        );
        refused(
            &[
                "mail",
                "send",
                "--smtp",
                "imap://relay.example.org",
                "--from",
                "s@example.org",
            ],
            &[],
            "smtp_url",
        );
        // A password in the clear to another machine: refused before connecting, naming the
        // setting and not the password.
        let out = steward(
            &[
                "mail",
                "send",
                "--smtp",
                "smtp://relay.example.org:25?tls=none",
                "--from",
                "s@example.org",
            ],
            &[
                ("STEWARD_SMTP_USERNAME", "steward"),
                ("STEWARD_SMTP_PASSWORD", "hunter2"),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{b}: sent in the clear");
        assert!(
            stderr.contains("smtp_password") && stderr.contains("without TLS"),
            "{b}: {stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{b}: {stderr}");
        refused(
            &[
                "mail",
                "send",
                "--smtp",
                "smtp://127.0.0.1:9",
                "--from",
                "steward@example.org",
            ],
            &[],
            "cannot reach the mail relay smtp://127.0.0.1:9",
        );
        let still: serde_json::Value =
            serde_json::from_str(&ok(&["mail", "pending", "--format", "json"], &[])).expect("JSON");
        assert_eq!(still.as_array().map(Vec::len), Some(2), "{b}");

        // Configured by environment: the manager's notice goes, governance's waits for an address.
        let before = received(&sink).len();
        let relay = sink.relay.to_string();
        let sent = ok(
            &["mail", "send"],
            &[
                ("STEWARD_SMTP_URL", &relay),
                ("STEWARD_MAIL_FROM", "steward@example.org"),
                ("STEWARD_PUBLIC_URL", "https://steward.example.org"),
            ],
        );
        assert!(
            sent.contains(&format!("sent {id} to M1: mo@example.org")),
            "{b}: {sent}"
        );
        assert!(
            sent.contains(&format!("not sent {id} to information-governance")),
            "{b}: {sent}"
        );
        let messages = received(&sink);
        assert_eq!(messages.len(), before + 1, "{b}");
        let last = &messages[messages.len() - 1];
        assert_eq!(last["to"], serde_json::json!(["mo@example.org"]), "{b}");
        assert!(
            last["body"]
                .as_str()
                .is_some_and(|t| t.contains("https://steward.example.org/me")),
            "{b}: {last}"
        );
        let history = ok(
            &["audit", "log", "--entity", &format!("notification:{id}/M1")],
            &[],
        );
        assert!(history.contains("system:mail"), "{b}: {history}");
        let left: serde_json::Value =
            serde_json::from_str(&ok(&["mail", "pending", "--format", "json"], &[])).expect("JSON");
        assert_eq!(left.as_array().map(Vec::len), Some(1), "{b}: {left}");

        // `serve` with a relay configured sends what is waiting as it starts, and every minute.
        let second = ok(
            &[
                "incident",
                "report",
                "data-breach",
                "--person",
                "P1",
                "--set",
                "facts=a list sent to the wrong party",
                "--format",
                "json",
            ],
            &[],
        );
        let second: serde_json::Value = serde_json::from_str(&second).expect("JSON");
        let second = second["id"].as_str().expect("an id").to_owned();
        let count = received(&sink).len();
        let mut server = Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("STEWARD_DATABASE_URL", &db.url)
            .env("STEWARD_DATA_DIR", dir.path())
            .env("STEWARD_ACTOR", "cli:test")
            .env("STEWARD_SMTP_URL", &relay)
            .env("STEWARD_MAIL_FROM", "steward@example.org")
            .env_remove("STEWARD_CONFIG")
            .env_remove("STEWARD_PUBLIC_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the server starts");
        // Waits for the message, not for a time: the bound is only there so a failure ends.
        let mut arrived = Vec::new();
        for _ in 0..300 {
            arrived = received(&sink);
            if arrived.len() > count {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = server.kill();
        let _ = server.wait();
        assert_eq!(arrived.len(), count + 1, "{b}: serve sent nothing");
        let last = &arrived[arrived.len() - 1];
        assert_eq!(last["to"], serde_json::json!(["mo@example.org"]), "{b}");
        assert!(
            last["headers"]["Subject"]
                .as_str()
                .is_some_and(|s| s.contains(&second)),
            "{b}: {last}"
        );
    }
}

#[test]
fn the_audit_head_is_anchored_by_email_and_listed() {
    let Some(sink) = SmtpServer::start() else {
        return;
    };
    for db in databases("cli_anchor") {
        let b = db.backend;
        let dir = TempDir::new("cli_anchor").expect("temp dir");
        let relay = sink.relay.to_string();
        let command = || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
            c.env("STEWARD_DATABASE_URL", &db.url)
                .env("STEWARD_DATA_DIR", dir.path())
                .env("STEWARD_ACTOR", "cli:test")
                .env("STEWARD_SMTP_URL", &relay)
                .env("STEWARD_MAIL_FROM", "steward@example.org")
                .env_remove("STEWARD_CONFIG")
                .env_remove("STEWARD_PUBLIC_URL")
                .env_remove("STEWARD_SMTP_USERNAME")
                .env_remove("STEWARD_SMTP_PASSWORD")
                .env_remove("STEWARD_SMTP_OAUTH_TOKEN")
                .env_remove("STEWARD_SMTP_OAUTH_TOKEN_FILE")
                .env_remove("STEWARD_SMTP_CA_FILE");
            c
        };
        let ok = |args: &[&str]| -> String {
            let out = command()
                .args(args)
                .output()
                .expect("the steward binary runs");
            assert!(
                out.status.success(),
                "{b}: steward {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let json =
            |args: &[&str]| -> serde_json::Value { serde_json::from_str(&ok(args)).expect("JSON") };
        let people = dir.path().join("people.csv");
        std::fs::write(
            &people,
            "id,name,email,staff_group,manager_id,budget_centre,status,start_date,leave_date,clearance,clearance_expires,byod\n\
             G1,Gil Governance,gil@example.org,fca,,,active,,,,,\n",
        )
        .expect("write");
        let roles = dir.path().join("roles.csv");
        std::fs::write(&roles, "person_id,role,granted_on\nG1,governance,\n").expect("write");
        ok(&["import", "people", people.to_str().unwrap_or_default()]);
        ok(&["import", "roles", roles.to_str().unwrap_or_default()]);

        // What the anchor would carry: the verified head, to the governance team.
        let verified = json(&["audit", "verify", "--format", "json"]);
        let anchor = json(&["audit", "anchor", "--format", "json"]);
        assert_eq!(anchor["seq"], verified["records"], "{b}: {anchor}");
        assert_eq!(anchor["hash"], verified["head"], "{b}: {anchor}");
        assert_eq!(anchor["to"], serde_json::json!(["gil@example.org"]), "{b}");
        let text = ok(&["audit", "anchor"]);
        let expect = format!(
            "{}:{}",
            anchor["seq"],
            anchor["hash"].as_str().unwrap_or_default()
        );
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [expect.as_str(), "would be sent to gil@example.org"],
            "{b}"
        );
        assert_eq!(
            json(&["audit", "anchors", "--format", "json"]),
            serde_json::json!([]),
            "{b}"
        );

        // `serve` sends the day's anchor as it starts.
        let count = sink.received().len();
        let mut server = command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the server starts");
        let mut arrived = Vec::new();
        for _ in 0..300 {
            arrived = received(&sink);
            // Stopped only once the anchor is also recorded and its lease given back: a server
            // killed between the two would leave the lease held and nothing listed.
            if arrived.len() > count
                && json(&["audit", "anchors", "--format", "json"])
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = server.kill();
        let _ = server.wait();
        assert_eq!(arrived.len(), count + 1, "{b}: serve sent no anchor");
        let last = &arrived[arrived.len() - 1];
        assert_eq!(last["to"], serde_json::json!(["gil@example.org"]), "{b}");
        assert!(
            last["body"]
                .as_str()
                .is_some_and(|t| t.contains(&format!("steward audit verify --expect {expect}\n"))),
            "{b}: {last}"
        );
        let listed = json(&["audit", "anchors", "--format", "json"]);
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{b}: {listed}");
        assert_eq!(listed[0]["seq"], anchor["seq"], "{b}");
        assert_eq!(listed[0]["hash"], anchor["hash"], "{b}");
        assert_eq!(
            listed[0]["recipients"],
            serde_json::json!(["gil@example.org"]),
            "{b}"
        );

        // On demand, whatever went earlier today.
        let sent = ok(&["audit", "anchor", "--send"]);
        assert!(
            sent.contains(&format!("sent anchor {expect} to gil@example.org")),
            "{b}: {sent}"
        );
        assert_eq!(received(&sink).len(), count + 2, "{b}");
        let listed = ok(&["audit", "anchors"]);
        // One line per anchor, then how many.
        assert_eq!(listed.lines().count(), 3, "{b}: {listed}");
        assert_eq!(
            listed.lines().last(),
            Some("2 anchor(s) sent"),
            "{b}: {listed}"
        );
        assert!(
            listed.contains(&format!(" {expect} to gil@example.org")),
            "{b}: {listed}"
        );
    }
}
