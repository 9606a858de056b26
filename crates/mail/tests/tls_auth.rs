//! Mail to a server that wants TLS and a sign-in: a real aiosmtpd on loopback (from
//! `steward_mail::testing`) with a self-signed certificate made for the test, trusted through
//! `smtp_ca_file`. STARTTLS with AUTH PLAIN and LOGIN, TLS from the first byte with XOAUTH2; a
//! wrong password, an untrusted certificate and a server that does not offer STARTTLS all stop
//! the run with nothing sent and nothing marked, on every backend `testing::databases` returns.

use chrono::{DateTime, Utc};
use steward_mail::testing::{SinkOptions, SmtpServer};
use steward_mail::{MailError, Mailbox, Relay, RelayOptions, Secret, Sender, deliver};
use steward_model::{Notification, Organisation, Person, PersonStatus};
use steward_service::{Stamp, Steward};
use steward_store::testing::databases;

const USER: &str = "steward@example.org";
const PASSWORD: &str = "correct horse battery";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOi.test-token";

#[derive(Debug, serde::Deserialize)]
struct Received {
    to: Vec<String>,
    tls: bool,
    auth: Option<String>,
}

fn received(server: &SmtpServer) -> Vec<Received> {
    server
        .received()
        .iter()
        .map(|text| serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}")))
        .collect()
}

fn sender() -> Sender {
    Sender {
        from: Mailbox::new(Some("Steward"), USER).unwrap_or_else(|e| panic!("{e}")),
        public_url: None,
        actor: "mail".into(),
    }
}

fn relay(server: &SmtpServer, url: &str, options: RelayOptions) -> Relay {
    let url = url.replace("PORT", &server.port.to_string());
    let options = RelayOptions {
        ca_file: server.certificate.clone(),
        ..options
    };
    Relay::configure(&url, &options).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn password(p: &str) -> RelayOptions {
    RelayOptions {
        username: Some(USER.into()),
        password: Some(Secret::new(p)),
        ..RelayOptions::default()
    }
}

fn seed(steward: &Steward, b: &str) {
    let at: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap_or_default();
    let s = Stamp::at("test", at);
    steward
        .set_organisation(
            &s,
            Organisation {
                id: Organisation::ID.into(),
                name: "Test Trust".into(),
                time_zone: "Europe/London".into(),
                compliance_green: None,
                compliance_amber: None,
            },
        )
        .unwrap_or_else(|e| panic!("{b}: {e}"));
    steward
        .create(
            &s,
            &Person {
                id: "P1".into(),
                name: "Ada Person".into(),
                email: Some("ada@example.org".into()),
                staff_group: "fca".into(),
                manager_id: None,
                budget_centre: None,
                status: PersonStatus::Active,
                start_date: None,
                leave_date: None,
                clearance: None,
                clearance_expires: None,
                byod: None,
                weekly_digest: None,
                job_title: None,
                source: None,
                source_seen: None,
                missing_since: None,
            },
        )
        .unwrap_or_else(|e| panic!("{b}: {e}"));
    steward
        .create(
            &s,
            &Notification {
                about: "REQ-000001".into(),
                recipient: "P1".into(),
                reason: "your mailbox was opened".into(),
                due_at: None,
                acknowledged_at: None,
                acknowledged_by: None,
                emailed_at: None,
            },
        )
        .unwrap_or_else(|e| panic!("{b}: {e}"));
}

#[test]
fn starttls_and_a_password_carry_mail_and_anything_less_sends_nothing() {
    let Some(server) = SmtpServer::start_with(&SinkOptions {
        starttls: true,
        user: Some(USER.into()),
        password: Some(PASSWORD.into()),
        ..SinkOptions::default()
    }) else {
        return;
    };
    // A server that does not offer STARTTLS but takes the password in the clear: one between
    // Steward and its mail server that strips the offer to read the password.
    let Some(stripped) = SmtpServer::start_with(&SinkOptions {
        user: Some(USER.into()),
        password: Some(PASSWORD.into()),
        auth_without_tls: true,
        ..SinkOptions::default()
    }) else {
        return;
    };
    for db in databases("mail_tls") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        seed(&steward, &b.to_string());
        let waiting = || steward.mail_due().map(|d| d.len()).ok();
        assert_eq!(waiting(), Some(1), "{b}");
        let before = server.received().len();

        // A wrong password: refused by the server, said so, and the notice still waits.
        let wrong = relay(&server, "smtp://127.0.0.1:PORT", password("wrong horse"));
        let refused = deliver(&steward, &wrong, &sender());
        match &refused {
            Err(e @ MailError::SignIn { key, .. }) => {
                assert_eq!(*key, "smtp_password", "{b}");
                let text = e.to_string();
                assert!(text.contains("535"), "{b}: {text}");
                assert!(!text.contains("wrong horse"), "{b}: {text}");
            }
            other => panic!("{b}: {other:?}"),
        }
        // A certificate nobody said to trust: refused before a password is sent.
        let untrusted = Relay::configure(
            &format!("smtp://127.0.0.1:{}", server.port),
            &password(PASSWORD),
        )
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        let refused = deliver(&steward, &untrusted, &sender());
        assert!(
            matches!(&refused, Err(MailError::Connect { reason, .. }) if reason.contains("certificate")),
            "{b}: {refused:?}"
        );
        // No STARTTLS on offer: Steward does not go on in the clear.
        let downgraded = relay(&stripped, "smtp://127.0.0.1:PORT", password(PASSWORD));
        let downgraded = deliver(&steward, &downgraded, &sender());
        assert!(
            matches!(&downgraded, Err(MailError::Connect { reason, .. }) if reason.contains("STARTTLS")),
            "{b}: {downgraded:?}"
        );
        assert!(stripped.received().is_empty(), "{b}");
        assert_eq!(server.received().len(), before, "{b}");
        assert_eq!(waiting(), Some(1), "{b}: nothing was marked emailed");

        // The right password: sent over TLS, signed in, marked.
        let right = relay(&server, "smtp://127.0.0.1:PORT", password(PASSWORD));
        let delivery = deliver(&steward, &right, &sender()).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(delivery.sent.len(), 1, "{b}: {delivery:?}");
        assert_eq!(waiting(), Some(0), "{b}");
        let last = received(&server).pop();
        let last = last.unwrap_or_else(|| panic!("{b}: nothing received"));
        assert_eq!(last.to, ["ada@example.org"], "{b}");
        assert!(last.tls, "{b}: sent without TLS");
        assert_eq!(
            last.auth.as_deref(),
            Some("PLAIN:steward@example.org"),
            "{b}"
        );
    }
}

#[test]
fn auth_login_when_the_server_offers_only_login() {
    let Some(server) = SmtpServer::start_with(&SinkOptions {
        starttls: true,
        user: Some(USER.into()),
        password: Some(PASSWORD.into()),
        exclude: vec!["PLAIN".into()],
        ..SinkOptions::default()
    }) else {
        return;
    };
    let relay = relay(
        &server,
        "smtp://127.0.0.1:PORT?tls=starttls",
        password(PASSWORD),
    );
    let mut session = relay.connect().unwrap_or_else(|e| panic!("{e}"));
    session
        .send(
            USER,
            &["ada@example.org".into()],
            b"Subject: hi\r\n\r\nhello\r\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    session.quit();
    let got = received(&server);
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(got[0].auth.as_deref(), Some("LOGIN:steward@example.org"));
}

#[test]
fn xoauth2_over_implicit_tls() {
    let Some(server) = SmtpServer::start_with(&SinkOptions {
        smtps: true,
        user: Some(USER.into()),
        token: Some(TOKEN.into()),
        ..SinkOptions::default()
    }) else {
        return;
    };
    let token = |t: &str| RelayOptions {
        username: Some(USER.into()),
        oauth_token: Some(Secret::new(t)),
        ..RelayOptions::default()
    };
    // A token that is not the one: refused, naming the setting, without the token.
    let wrong = relay(&server, "smtps://127.0.0.1:PORT", token("expired.token"));
    match wrong.connect().map(|_| ()) {
        Err(e @ MailError::SignIn { key, .. }) => {
            assert_eq!(key, "smtp_oauth_token");
            assert!(!e.to_string().contains("expired.token"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let right = relay(&server, "smtps://127.0.0.1:PORT", token(TOKEN));
    assert_eq!(
        right.to_string(),
        format!("smtps://127.0.0.1:{}", server.port)
    );
    let mut session = right.connect().unwrap_or_else(|e| panic!("{e}"));
    session
        .send(
            USER,
            &["ada@example.org".into()],
            b"Subject: hi\r\n\r\nhello\r\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    session.quit();
    let got = received(&server);
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(got[0].auth.as_deref(), Some("XOAUTH2:steward@example.org"));

    // From a file, read for every session: what renews the token rewrites it under a running
    // server.
    let file = std::env::temp_dir().join(format!("steward-token-{}", std::process::id()));
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap_or_else(|e| panic!("{e}"));
    let from_file = relay(
        &server,
        "smtps://127.0.0.1:PORT",
        RelayOptions {
            username: Some(USER.into()),
            oauth_token_file: Some(file.clone()),
            ..RelayOptions::default()
        },
    );
    assert!(from_file.connect().is_ok());
    std::fs::write(&file, "stale.token").unwrap_or_else(|e| panic!("{e}"));
    let stale = from_file.connect().map(|_| ());
    let _ = std::fs::remove_file(&file);
    assert!(
        matches!(
            &stale,
            Err(MailError::SignIn {
                key: "smtp_oauth_token_file",
                ..
            })
        ),
        "{stale:?}"
    );
}
