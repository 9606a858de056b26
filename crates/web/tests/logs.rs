//! Nothing secret reaches the server's log: signing in, changing a password and signing out with
//! every level of logging on, the log holds no password, hash, TOTP secret, code or session token.

mod support;

use std::sync::{Arc, Mutex};

use steward_service::{Stamp, Steward};
use steward_store::testing::databases;
use support::{PASSWORD, Server, account, code_next, person};

/// The log, kept in memory as the server writes it.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut log) = self.0.lock() {
            log.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|log| String::from_utf8_lossy(&log).into_owned())
            .unwrap_or_default()
    }
}

#[test]
fn no_secret_reaches_the_servers_log() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    for db in databases("web_logs") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(&Stamp::now("test"), &person("P1", "Person P1", None))
            .unwrap_or_else(|e| panic!("{e}"));
        let secret = account(&steward, "p1@example.org", Some("P1"), &[]);
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut me = server.client();
        let wrong = me.submit(
            "/login",
            "/login",
            &[
                ("email", "p1@example.org"),
                ("password", "a wrong guess at it"),
            ],
        );
        assert_eq!(wrong.status, 401, "{b}");
        assert_eq!(
            me.sign_in("p1@example.org", PASSWORD, &secret).status,
            303,
            "{b}"
        );
        let tokens: Vec<String> = me.cookies.values().cloned().collect();
        let code = code_next(&secret);
        let new = "a new and unusual passphrase for p1";
        let changed = me.submit(
            "/account/password",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("code", &code),
                ("new", new),
                ("confirm", new),
            ],
        );
        assert_eq!(changed.location(), "/login", "{b}: {}", changed.body);
        server.stop().unwrap_or_else(|e| panic!("{e}"));

        let account = steward
            .store()
            .sign_in("p1@example.org")
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{b}: no account"));
        let text = log.text();
        assert!(
            text.contains("/account/password") && text.contains("/login"),
            "{b}: the requests were not logged: {text}"
        );
        let mut secrets = vec![
            ("the password", PASSWORD.to_owned()),
            ("the wrong guess", "a wrong guess at it".to_owned()),
            ("the new password", new.to_owned()),
            ("the password hash", account.password_hash.clone()),
            ("the TOTP secret", secret.clone()),
            ("the second-factor code", code.clone()),
        ];
        secrets.extend(account.totp_secret.map(|s| ("the stored TOTP secret", s)));
        for token in tokens.into_iter().filter(|t| t.len() > 16) {
            secrets.push(("the session token", steward_auth::token_hash(&token)));
            secrets.push(("the session token", token));
        }
        for (what, value) in secrets {
            assert!(!text.contains(&value), "{b}: {what} is in the log");
        }
    }
}
