//! Sign-in end to end over a real socket, on every test database: first-run set-up, password,
//! enrolment with recovery codes, the code, throttling, CSRF, sessions and signing out.

mod support;

use steward_model::Organisation;
use steward_service::{Stamp, Steward};
use steward_store::testing::databases;
use support::{Client, PASSWORD, Server, account, code_now, person};

const ADMIN: &str = "admin@example.org";
const ADMIN_PASSWORD: &str = "a long and unrelated passphrase";

fn security_headers(reply: &support::Reply, what: &str) {
    let csp = reply.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        reply.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
}

#[test]
fn first_run_enrolment_and_signing_in_and_out() {
    for db in databases("web_first_run") {
        let b = db.backend;
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut web = server.client();

        // Nobody yet: everything leads to set-up.
        let home = web.get("/");
        assert_eq!((home.status, home.location()), (303, "/login"), "{b}");
        let login = web.get("/login");
        assert_eq!((login.status, login.location()), (303, "/setup"), "{b}");
        let setup = web.get("/setup");
        assert_eq!(setup.status, 200, "{b}");
        security_headers(&setup, "setup");

        // A form without its token, and a weak password, change nothing.
        let forged = web.post(
            "/setup",
            &[
                ("name", "Ada"),
                ("email", ADMIN),
                ("password", ADMIN_PASSWORD),
            ],
        );
        assert_eq!(forged.status, 403, "{b}: {}", forged.body);
        let weak = web.submit(
            "/setup",
            "/setup",
            &[
                ("name", "Ada"),
                ("email", ADMIN),
                ("password", "password123"),
            ],
        );
        assert_eq!(weak.status, 422, "{b}");
        assert!(weak.body.contains("role=\"alert\""), "{b}: {}", weak.body);
        let done = web.submit(
            "/setup",
            "/setup",
            &[
                ("name", "Ada <Admin>"),
                ("email", ADMIN),
                ("password", ADMIN_PASSWORD),
            ],
        );
        assert_eq!(
            (done.status, done.location()),
            (303, "/login?set_up=1"),
            "{b}"
        );
        // Set-up happens once.
        let again = web.get("/setup");
        assert_eq!((again.status, again.location()), (303, "/login"), "{b}");

        // A wrong password reads like an unknown address.
        let wrong = web.submit(
            "/login",
            "/login",
            &[("email", ADMIN), ("password", "not the password at all")],
        );
        let unknown = web.submit(
            "/login",
            "/login",
            &[
                ("email", "nobody@example.org"),
                ("password", ADMIN_PASSWORD),
            ],
        );
        assert_eq!((wrong.status, unknown.status), (401, 401), "{b}");
        assert_eq!(
            wrong.text_of("main"),
            unknown.text_of("main").replace("nobody@example.org", ADMIN),
            "{b}"
        );

        // The password leads to enrolment; the half-signed-in session opens no page.
        let password = web.submit(
            "/login",
            "/login",
            &[("email", ADMIN), ("password", ADMIN_PASSWORD)],
        );
        assert_eq!(
            (password.status, password.location()),
            (303, "/mfa/enrol"),
            "{b}"
        );
        let early = web.get("/dashboard");
        assert_eq!((early.status, early.location()), (303, "/login"), "{b}");
        let enrol = web.get("/mfa/enrol");
        assert_eq!(enrol.status, 200, "{b}");
        assert!(enrol.body.contains("<svg"), "{b}: no QR code");
        let secret = enrol.text_of("totp-secret");
        assert_eq!(secret.len(), 32, "{b}: {secret:?}");
        // Reloading offers the same key, so a scan already made still works.
        assert_eq!(web.get("/mfa/enrol").text_of("totp-secret"), secret, "{b}");
        let before = web.cookies.get("steward_session").cloned();
        let bad = web.submit("/mfa/enrol", "/mfa/enrol", &[("code", "000000")]);
        assert_eq!(bad.status, 401, "{b}");
        let enrolled = web.submit("/mfa/enrol", "/mfa/enrol", &[("code", &code_now(&secret))]);
        assert_eq!(enrolled.status, 200, "{b}: {}", enrolled.body);
        let codes: Vec<String> = enrolled
            .body
            .split("<li><code>")
            .skip(1)
            .filter_map(|c| c.split_once("</code>").map(|(c, _)| c.to_owned()))
            .collect();
        assert_eq!(codes.len(), 10, "{b}: {}", enrolled.body);
        // A new session token after the second factor: the one seen before is worth nothing.
        let after = web.cookies.get("steward_session").cloned();
        assert!(after.is_some() && after != before, "{b}");
        let mut stale = server.client();
        if let Some(old) = before {
            stale.cookies.insert("steward_session".into(), old);
        }
        assert_eq!(stale.get("/dashboard").status, 303, "{b}");

        let home = web.get("/");
        assert_eq!((home.status, home.location()), (303, "/dashboard"), "{b}");
        let dashboard = web.get("/dashboard");
        assert_eq!(dashboard.status, 200, "{b}");
        security_headers(&dashboard, "dashboard");
        assert!(
            dashboard.body.contains("Ada &#60;Admin&#62;") && !dashboard.body.contains("<Admin>"),
            "{b}: name not escaped: {}",
            dashboard.body
        );
        assert_eq!(dashboard.header("cache-control"), Some("no-store"), "{b}");

        // Signing out needs the form's token; then the session is gone.
        let forged = web.post("/logout", &[("csrf", "forged")]);
        assert_eq!(forged.status, 403, "{b}");
        assert_eq!(web.get("/dashboard").status, 200, "{b}: still signed in");
        let out = web.submit("/dashboard", "/logout", &[]);
        assert_eq!((out.status, out.location()), (303, "/login"), "{b}");
        assert_eq!(web.get("/dashboard").status, 303, "{b}");

        // A recovery code signs in once.
        let mut phone_lost = server.client();
        let password = phone_lost.submit(
            "/login",
            "/login",
            &[("email", ADMIN), ("password", ADMIN_PASSWORD)],
        );
        assert_eq!(password.location(), "/mfa", "{b}");
        let recovered = phone_lost.submit("/mfa", "/mfa", &[("code", &codes[3].to_uppercase())]);
        assert_eq!((recovered.status, recovered.location()), (303, "/"), "{b}");
        let mut again = server.client();
        again.submit(
            "/login",
            "/login",
            &[("email", ADMIN), ("password", ADMIN_PASSWORD)],
        );
        let reused = again.submit("/mfa", "/mfa", &[("code", &codes[3])]);
        assert_eq!(reused.status, 401, "{b}: a recovery code worked twice");

        // A TOTP code works once in its step (the next step's, as the current one was spent
        // at enrolment; one step of clock drift is allowed).
        let mut first = server.client();
        let code = support::code_next(&secret);
        first.submit(
            "/login",
            "/login",
            &[("email", ADMIN), ("password", ADMIN_PASSWORD)],
        );
        let ok = first.submit("/mfa", "/mfa", &[("code", &code)]);
        let mut second = server.client();
        second.submit(
            "/login",
            "/login",
            &[("email", ADMIN), ("password", ADMIN_PASSWORD)],
        );
        let replay = second.submit("/mfa", "/mfa", &[("code", &code)]);
        assert_eq!((ok.status, replay.status), (303, 401), "{b}: replayed code");

        // Signing out everywhere ends every session of the account.
        let everywhere = first.submit("/dashboard", "/logout/everywhere", &[]);
        assert_eq!(everywhere.location(), "/login", "{b}");
        assert_eq!(
            phone_lost.get("/dashboard").status,
            303,
            "{b}: other session survived"
        );

        // Every step that changed the account is in the audit log, which still verifies.
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let chain = steward.verify_audit().unwrap_or_else(|e| panic!("{e}"));
        assert!(chain.is_ok(), "{b}: {chain:?}");
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn guesses_are_throttled_per_account_and_address() {
    for db in databases("web_throttle") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(&Stamp::now("test"), &person("P1", "Pat", None))
            .unwrap_or_else(|e| panic!("{e}"));
        let secret = account(&steward, "pat@example.org", Some("P1"), &[]);
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut web = server.client();
        for attempt in 1..=10 {
            let reply = web.submit(
                "/login",
                "/login",
                &[
                    ("email", "pat@example.org"),
                    ("password", "wrong wrong wrong"),
                ],
            );
            assert_eq!(reply.status, 401, "{b}: attempt {attempt}");
        }
        let blocked = web.submit(
            "/login",
            "/login",
            &[("email", "pat@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(blocked.status, 429, "{b}: {}", blocked.body);
        let wait: u64 = blocked
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!((1..=300).contains(&wait), "{b}: retry-after {wait}");
        assert!(blocked.body.contains("too many attempts"), "{b}");
        security_headers(&blocked, "429");
        // The second factor's guesses count too: another client, right password, wrong codes.
        let mut other = server.client();
        let _ = secret;
        let reply = other.submit(
            "/login",
            "/login",
            &[("email", "pat@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(reply.status, 429, "{b}: the account is still throttled");
    }
}

#[test]
fn servers_sharing_a_database_count_the_same_guesses() {
    for db in databases("web_throttle_shared") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(&Stamp::now("test"), &person("P1", "Pat", None))
            .unwrap_or_else(|e| panic!("{e}"));
        account(&steward, "pat@example.org", Some("P1"), &[]);
        let first = Server::start(&db.url, steward_web::Options::default());
        let second = Server::start(&db.url, steward_web::Options::default());
        // Five wrong guesses at each server: ten in all, though neither saw more than five.
        for (n, server) in [&first, &second].into_iter().enumerate() {
            let mut web = server.client();
            for attempt in 1..=5 {
                let reply = web.submit(
                    "/login",
                    "/login",
                    &[
                        ("email", "pat@example.org"),
                        ("password", "wrong wrong wrong"),
                    ],
                );
                assert_eq!(reply.status, 401, "{b}: server {n}, attempt {attempt}");
            }
        }
        let blocked = first.client().submit(
            "/login",
            "/login",
            &[("email", "pat@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(blocked.status, 429, "{b}: {}", blocked.body);
        // Kept in the database, where a third server started now sees them too.
        let third = Server::start(&db.url, steward_web::Options::default());
        let reply = third.client().submit(
            "/login",
            "/login",
            &[("email", "pat@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(reply.status, 429, "{b}: {}", reply.body);
        for server in [first, second, third] {
            server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
        }
    }
}

#[test]
fn sessions_expire_when_idle_and_when_old() {
    for db in databases("web_sessions") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(&Stamp::now("test"), &person("P1", "Pat", None))
            .unwrap_or_else(|e| panic!("{e}"));
        account(&steward, "pat@example.org", Some("P1"), &[]);
        let start = chrono::Utc::now();
        let minutes = |m: i64| start + chrono::TimeDelta::minutes(m);

        let (token, _) = steward
            .open_session("pat@example.org", start)
            .unwrap_or_else(|e| panic!("{e}"));
        let live = |t: &str, at| {
            steward
                .live_session(t, at)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert!(live(&token, minutes(29)).is_some(), "{b}");
        // Used at 29 minutes, so alive at 58; idle from 58 to 89 ends it.
        assert!(live(&token, minutes(58)).is_some(), "{b}");
        assert!(
            live(&token, minutes(89)).is_none(),
            "{b}: idle session lived"
        );
        // Once ended it stays ended.
        assert!(live(&token, minutes(90)).is_none(), "{b}");

        // Kept busy, a session still ends after twelve hours.
        let (busy, _) = steward
            .open_session("pat@example.org", start)
            .unwrap_or_else(|e| panic!("{e}"));
        for m in (20..=700).step_by(20) {
            assert!(
                live(&busy, minutes(m)).is_some(),
                "{b}: busy session ended at {m}"
            );
        }
        assert!(
            live(&busy, minutes(721)).is_none(),
            "{b}: session outlived 12 hours"
        );
    }
}

#[test]
fn the_server_answers_health_and_unknown_pages_and_stops_cleanly() {
    for db in databases("web_health") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        steward
            .set_organisation(
                &Stamp::now("test"),
                Organisation {
                    id: Organisation::ID.into(),
                    name: "Charity".into(),
                    time_zone: "Europe/London".into(),
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let server = Server::start(
            &db.url,
            steward_web::Options {
                demo: true,
                ..steward_web::Options::default()
            },
        );
        let mut web: Client = server.client();
        let health = web.get("/healthz");
        assert_eq!(health.status, 200, "{b}");
        assert!(
            health.body.contains(&format!("\"backend\":\"{b}\"")),
            "{b}: {}",
            health.body
        );
        security_headers(&health, "health");
        let missing = web.get("/no-such-page");
        assert_eq!(missing.status, 404, "{b}");
        security_headers(&missing, "404");
        // The demo says so on every page, including sign-in.
        assert!(web.get("/setup").body.contains("class=\"demo\""), "{b}");
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn an_administrator_adds_resets_and_disables_sign_ins() {
    for db in databases("web_admin") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = Stamp::now("test");
        for id in ["P1", "P2"] {
            steward
                .create(&stamp, &person(id, &format!("Person {id}"), None))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let admin = account(
            &steward,
            "admin@example.org",
            None,
            &[steward_service::Capacity::Administrator],
        );
        let _enrolled = account(&steward, "p2@example.org", Some("P2"), &[]);
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut web = server.client();
        assert_eq!(
            web.sign_in("admin@example.org", PASSWORD, &admin).status,
            303,
            "{b}"
        );

        // The organisation's settings: a bad time zone is refused, a good one kept.
        let bad_tz = web.submit(
            "/admin/organisation",
            "/admin/organisation",
            &[("name", "Our charity"), ("time_zone", "Mars/Olympus")],
        );
        assert_eq!(bad_tz.status, 422, "{b}: {}", bad_tz.body);
        let saved = web.submit(
            "/admin/organisation",
            "/admin/organisation",
            &[("name", "Our charity"), ("time_zone", "Europe/London")],
        );
        assert!(saved.body.contains("Saved."), "{b}: {}", saved.body);

        let weak = web.submit(
            "/admin/sign-ins",
            "/admin/sign-ins",
            &[
                ("act", "add"),
                ("email", "p1@example.org"),
                ("name", "Person P1"),
                ("person_id", "P1"),
                ("password", "short"),
            ],
        );
        assert_eq!(weak.status, 422, "{b}: {}", weak.body);
        let added = web.submit(
            "/admin/sign-ins",
            "/admin/sign-ins",
            &[
                ("act", "add"),
                ("email", "p1@example.org"),
                ("name", "Person P1"),
                ("person_id", "P1"),
                ("password", "first password for p one"),
                ("role", "governance"),
            ],
        );
        assert_eq!(added.status, 200, "{b}: {}", added.body);
        assert!(added.body.contains("p1@example.org: done"), "{b}");
        // The new sign-in enrols an authenticator at first sign-in.
        let mut p1 = server.client();
        let first = p1.submit(
            "/login",
            "/login",
            &[
                ("email", "p1@example.org"),
                ("password", "first password for p one"),
            ],
        );
        assert_eq!(first.location(), "/mfa/enrol", "{b}");

        // A reset authenticator is enrolled afresh; a disabled account cannot sign in.
        web.submit(
            "/admin/sign-ins",
            "/admin/sign-ins",
            &[("act", "reset"), ("email", "p2@example.org")],
        );
        let mut p2 = server.client();
        let reset = p2.submit(
            "/login",
            "/login",
            &[("email", "p2@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(reset.location(), "/mfa/enrol", "{b}");
        web.submit(
            "/admin/sign-ins",
            "/admin/sign-ins",
            &[("act", "disable"), ("email", "p2@example.org")],
        );
        assert_eq!(
            p2.get("/mfa/enrol").location(),
            "/login",
            "{b}: session survived"
        );
        let disabled = server.client().submit(
            "/login",
            "/login",
            &[("email", "p2@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(disabled.status, 401, "{b}");
        assert!(disabled.body.contains("disabled"), "{b}: {}", disabled.body);
    }
}
