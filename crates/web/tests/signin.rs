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
        // Set-up goes straight on to enrolling the second factor, on a session the password
        // just chosen opened — and that session reaches nothing else until it is enrolled.
        assert_eq!((done.status, done.location()), (303, "/mfa/enrol"), "{b}");
        assert!(
            web.get("/mfa/enrol").body.contains("totp-secret"),
            "{b}: enrolment is offered"
        );
        let early = web.get("/dashboard");
        assert_eq!(
            (early.status, early.location()),
            (303, "/login"),
            "{b}: nothing before the second factor"
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
        assert_eq!(
            reply.status, 429,
            "{b}: the account is still throttled at this address"
        );
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

/// What a server keeps between requests (on PostgreSQL, the session it read and the pages it
/// derived, while no change is heard of) gives way to what another server commits: a person
/// renamed there shows here, and every session of an account disabled there is refused here.
#[test]
fn changes_made_through_another_server_reach_this_one() {
    for db in databases("web_changes_elsewhere") {
        let b = db.backend;
        let elsewhere = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = Stamp::now("test");
        elsewhere
            .create(&stamp, &person("P1", "Pat", None))
            .unwrap_or_else(|e| panic!("{e}"));
        let secret = account(&elsewhere, "pat@example.org", Some("P1"), &[]);
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut web = server.client();
        web.sign_in("pat@example.org", PASSWORD, &secret);
        let mut other = server.client();
        other.sign_in_with_code("pat@example.org", PASSWORD, &support::code_next(&secret));
        // Read twice, so that the second is what was kept.
        for _ in 0..2 {
            let me = web.get("/me");
            assert_eq!(me.status, 200, "{b}: {}", me.body);
            assert!(me.body.contains("Pat"), "{b}");
        }
        // Whatever waits for the word of a change waits at most this long.
        let eventually = |what: &str, ready: &mut dyn FnMut() -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while !ready() {
                assert!(std::time::Instant::now() < deadline, "{b}: never {what}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        };
        let mut renamed = person("P1", "Patricia", None);
        renamed.email = None;
        elsewhere
            .update(&stamp, &renamed)
            .unwrap_or_else(|e| panic!("{e}"));
        eventually("shows the new name", &mut || {
            web.get("/me").body.contains("Patricia")
        });
        // The account disabled elsewhere: each of its sessions refused here.
        elsewhere
            .set_sign_in_disabled(&stamp, "pat@example.org", true)
            .unwrap_or_else(|e| panic!("{e}"));
        eventually("refuses the disabled account", &mut || {
            let reply = web.get("/me");
            reply.status == 303 && reply.location() == "/login"
        });
        assert_ne!(other.get("/me").status, 200, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
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
                    compliance_green: None,
                    compliance_amber: None,
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
        assert_eq!((health.status, health.body.as_str()), (200, "ok"), "{b}");
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
        // Refused as a wrong password is: the password is not confirmed.
        assert_eq!(disabled.status, 401, "{b}");
        assert!(
            !disabled.body.contains("disabled"),
            "{b}: {}",
            disabled.body
        );
    }
}

/// Wrong passwords for `email`, all posted at once from `clients` (each with its form token
/// already fetched); returns how many were checked (401) and how many refused unchecked (429).
fn guess_at_once(clients: Vec<Client>, email: &str) -> (usize, usize) {
    let start = std::sync::Arc::new(std::sync::Barrier::new(clients.len()));
    let threads: Vec<_> = clients
        .into_iter()
        .map(|mut web| {
            let start = start.clone();
            let email = email.to_owned();
            std::thread::spawn(move || {
                let csrf = web.get("/login").csrf();
                start.wait();
                web.post(
                    "/login",
                    &[
                        ("csrf", &csrf),
                        ("email", &email),
                        ("password", "wrong wrong wrong"),
                    ],
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap_or(0)).collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, statuses.len(), "{statuses:?}");
    (checked, refused)
}

#[test]
fn parallel_guesses_are_counted_before_any_is_checked() {
    for db in databases("web_throttle_parallel") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(&Stamp::now("test"), &person("P1", "Pat", None))
            .unwrap_or_else(|e| panic!("{e}"));
        account(&steward, "pat@example.org", Some("P1"), &[]);
        // Two servers sharing the database, thirty guesses racing at each.
        let first = Server::start(&db.url, steward_web::Options::default());
        let second = Server::start(&db.url, steward_web::Options::default());
        let clients: Vec<Client> = (0..60)
            .map(|n| {
                if n % 2 == 0 {
                    first.client()
                } else {
                    second.client()
                }
            })
            .collect();
        let (checked, refused) = guess_at_once(clients, "pat@example.org");
        eprintln!("{b}: of 60 parallel guesses, {checked} checked and {refused} refused");
        assert!(
            (1..=10).contains(&checked),
            "{b}: {checked} guesses checked against a limit of 10 ({refused} refused)"
        );
        for server in [first, second] {
            server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
        }
    }
}

#[test]
fn one_address_cannot_lock_the_real_user_out() {
    for db in databases("web_throttle_lockout") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(&Stamp::now("test"), &person("P1", "Alice", None))
            .unwrap_or_else(|e| panic!("{e}"));
        let secret = account(&steward, "alice@example.org", Some("P1"), &[]);
        let server = Server::start(&db.url, steward_web::Options::default());
        let attacker_addr = std::net::IpAddr::from([127, 0, 0, 2]);
        let mut attacker = server.client_from(attacker_addr);
        for attempt in 1..=10 {
            let reply = attacker.submit(
                "/login",
                "/login",
                &[
                    ("email", "alice@example.org"),
                    ("password", "wrong wrong wrong"),
                ],
            );
            assert_eq!(reply.status, 401, "{b}: attempt {attempt}");
        }
        // The attacker's address is spent on alice: even the right password is not checked.
        let spent = attacker.submit(
            "/login",
            "/login",
            &[("email", "alice@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(spent.status, 429, "{b}: {}", spent.body);
        // Alice, from her own address, signs in.
        let mut alice = server.client();
        let signed = alice.sign_in("alice@example.org", PASSWORD, &secret);
        assert_eq!((signed.status, signed.location()), (303, "/"), "{b}");
        assert_eq!(alice.get("/me").status, 200, "{b}");
        // And the attacker's address is still refused after she has.
        let still = server.client_from(attacker_addr).submit(
            "/login",
            "/login",
            &[("email", "alice@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(still.status, 429, "{b}: {}", still.body);
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn unknown_wrong_and_disabled_accounts_get_the_same_answer() {
    for db in databases("web_same_answer") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = Stamp::now("test");
        for (id, name) in [("P1", "Pat"), ("P2", "Dee")] {
            steward
                .create(&stamp, &person(id, name, None))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        account(&steward, "pat@example.org", Some("P1"), &[]);
        account(&steward, "dee@example.org", Some("P2"), &[]);
        steward
            .set_sign_in_disabled(&stamp, "dee@example.org", true)
            .unwrap_or_else(|e| panic!("{e}"));
        let server = Server::start(&db.url, steward_web::Options::default());
        // One client, so that the form token (and so the page) is the same each time.
        let mut web = server.client();
        let answer = |web: &mut Client, email: &str, password: &str| {
            let reply = web.submit(
                "/login",
                "/login",
                &[("email", email), ("password", password)],
            );
            let mut headers: Vec<(String, String)> = reply
                .headers
                .iter()
                // The date moves; the length follows the address typed, shown back below.
                .filter(|(k, _)| {
                    !k.eq_ignore_ascii_case("date") && !k.eq_ignore_ascii_case("content-length")
                })
                .cloned()
                .collect();
            headers.sort();
            // The address typed is shown back in the form; everything else must be the same.
            (reply.status, headers, reply.body.replace(email, "EMAIL"))
        };
        let unknown = answer(&mut web, "nobody@example.org", PASSWORD);
        let wrong = answer(&mut web, "pat@example.org", "wrong wrong wrong");
        let disabled = answer(&mut web, "dee@example.org", PASSWORD);
        assert_eq!(unknown.0, 401, "{b}");
        assert_eq!(
            wrong, unknown,
            "{b}: a wrong password reads unlike an unknown address"
        );
        assert_eq!(
            disabled, unknown,
            "{b}: a disabled account's right password reads unlike an unknown address"
        );
        assert!(!disabled.2.contains("disabled"), "{b}");
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn health_tells_the_public_only_up_or_down() {
    for db in databases("web_health_detail") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(&Stamp::now("test"), &person("P1", "Pat", None))
            .unwrap_or_else(|e| panic!("{e}"));
        let admin = account(
            &steward,
            "admin@example.org",
            None,
            &[steward_service::Capacity::Administrator],
        );
        let auditor = account(
            &steward,
            "auditor@example.org",
            None,
            &[steward_service::Capacity::Auditor],
        );
        let staff = account(&steward, "pat@example.org", Some("P1"), &[]);
        let server = Server::start(&db.url, steward_web::Options::default());

        let public = server.client().get("/healthz");
        assert_eq!((public.status, public.body.as_str()), (200, "ok"), "{b}");
        let asked = server.client().get("/healthz?detail");
        assert_eq!((asked.status, asked.body.as_str()), (200, "ok"), "{b}");
        let detail = server.client().get("/healthz/detail");
        assert_eq!(
            (detail.status, detail.location()),
            (303, "/login"),
            "{b}: details without signing in: {}",
            detail.body
        );
        let mut pat = server.client();
        pat.sign_in("pat@example.org", PASSWORD, &staff);
        assert_eq!(pat.get("/healthz/detail").status, 403, "{b}");

        for (email, secret) in [
            ("admin@example.org", &admin),
            ("auditor@example.org", &auditor),
        ] {
            let mut web = server.client();
            assert_eq!(web.sign_in(email, PASSWORD, secret).status, 303, "{b}");
            let shown = web.get("/healthz/detail");
            assert_eq!(shown.status, 200, "{b}: {email}: {}", shown.body);
            let json: serde_json::Value =
                serde_json::from_str(&shown.body).unwrap_or_else(|e| panic!("{b}: {e}"));
            assert_eq!(json["status"], "ok", "{b}");
            assert_eq!(json["backend"], b.to_string(), "{b}");
            assert!(
                json["audit_head"].as_i64().is_some_and(|h| h > 0),
                "{b}: {json}"
            );
            assert_eq!(json["version"], env!("CARGO_PKG_VERSION"), "{b}");
            assert!(json["checks_running"].is_boolean(), "{b}: {json}");
        }
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

/// A password changed by its holder, and one an administrator asks to be chosen anew: until it
/// is, every page leads to choosing it; afterwards the old one no longer signs in.
#[test]
fn passwords_are_changed_by_their_holder_and_reset_by_an_administrator() {
    for db in databases("web_passwords") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = Stamp::now("test");
        steward
            .create(&stamp, &person("P1", "Person P1", None))
            .unwrap_or_else(|e| panic!("{e}"));
        let admin = account(
            &steward,
            "admin@example.org",
            None,
            &[steward_service::Capacity::Administrator],
        );
        let p1 = account(&steward, "p1@example.org", Some("P1"), &[]);
        // Each sign-in below takes a code of a step not used before: a fresh authenticator.
        let fresh_code = || {
            let secret = steward
                .enrol_authenticator(&stamp, "p1@example.org")
                .unwrap_or_else(|e| panic!("{e}"));
            code_now(&secret)
        };
        let server = Server::start(&db.url, steward_web::Options::default());
        let second = "a second quite unusual passphrase";
        let third = "a third and still unusual passphrase";

        // Its holder changes it: the current password and a code.
        let mut me = server.client();
        assert_eq!(
            me.sign_in("p1@example.org", PASSWORD, &p1).status,
            303,
            "{b}"
        );
        let wrong = me.submit(
            "/account/password",
            "/account/password",
            &[("current", "not it"), ("new", second), ("confirm", second)],
        );
        assert_eq!(wrong.status, 422, "{b}: {}", wrong.body);
        let code = support::code_next(&p1);
        let changed = me.submit(
            "/account/password",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("code", &code),
                ("new", second),
                ("confirm", second),
            ],
        );
        assert_eq!(changed.location(), "/login", "{b}: {}", changed.body);
        let old = server.client().submit(
            "/login",
            "/login",
            &[("email", "p1@example.org"), ("password", PASSWORD)],
        );
        assert_eq!(old.status, 401, "{b}: the old password still signs in");

        // An administrator asks for a new one: sessions end, and after signing in the holder
        // can do nothing but choose it.
        let mut web = server.client();
        assert_eq!(
            web.sign_in("admin@example.org", PASSWORD, &admin).status,
            303,
            "{b}"
        );
        let mut me = server.client();
        assert_eq!(
            me.sign_in_with_code("p1@example.org", second, &fresh_code())
                .status,
            303,
            "{b}"
        );
        web.submit(
            "/admin/sign-ins",
            "/admin/sign-ins",
            &[("act", "password"), ("email", "p1@example.org")],
        );
        assert_eq!(
            me.get("/me").location(),
            "/login",
            "{b}: the session survived"
        );
        let mut me = server.client();
        let signed = me.sign_in_with_code("p1@example.org", second, &fresh_code());
        assert_eq!(signed.status, 303, "{b}: {}", signed.body);
        assert_eq!(me.get("/me").location(), "/account/password", "{b}");
        let chosen = me.submit(
            "/account/password",
            "/account/password",
            &[("new", third), ("confirm", third)],
        );
        assert_eq!(chosen.location(), "/login", "{b}: {}", chosen.body);
        let mut me = server.client();
        assert_eq!(
            me.sign_in_with_code("p1@example.org", third, &fresh_code())
                .status,
            303,
            "{b}"
        );
        assert_eq!(me.get("/me").status, 200, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}
