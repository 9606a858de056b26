//! Single sign-on end to end, on every test database: a real OpenID Connect provider on
//! loopback (tests/fixtures/oidc_provider.py, which the test tells whom to sign in and how to
//! misbehave), Steward's server on another port, and a client playing the browser between them.
//! A good sign-in with each provider, then every refusal: a wrong audience, an expired token, a
//! bad signature, an unsigned token, a wrong issuer or nonce, another tenant, a replayed `state`,
//! a `state` carried to another browser, a leaver, an unknown address, an unverified address, an
//! address already linked to someone else — and the organisation's rule for local passwords.

mod support;

use std::sync::Arc;

use serde_json::{Value as Json, json};
use steward_model::PersonStatus;
use steward_service::{
    LocalPasswords, Provider, ProviderSettings, SignInPolicy, Sso, Stamp, Steward,
};
use steward_store::testing::databases;
use support::{Client, PASSWORD, Reply, Server, account, code_now, person};

const CLIENT_ID: &str = "steward-test-client";
/// With characters that client_secret_basic must form-encode before Basic.
const CLIENT_SECRET: &str = "s3cret+with/odd:chars=";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";
/// Where the provider sends the browser back to: never reached by the provider itself, only by
/// the client, which takes its path.
const RETURN: &str = "http://steward.test";

/// The provider, killed when dropped.
struct Provider_ {
    fixture: support::Fixture,
}

impl Provider_ {
    fn start() -> Option<Provider_> {
        support::Fixture::start("oidc_provider.py", &[CLIENT_ID, CLIENT_SECRET])
            .map(|fixture| Provider_ { fixture })
    }

    fn client(&self) -> Client {
        Client::at(([127, 0, 0, 1], self.fixture.port).into())
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.fixture.port)
    }

    fn control(&self, what: &str, body: Json) {
        let reply = self.client().request(
            "POST",
            &format!("/_control/{what}"),
            &[],
            Some(("application/json", body.to_string().into_bytes())),
        );
        assert_eq!(reply.status, 204, "control {what}: {}", reply.body);
    }

    fn read(&self, what: &str) -> Json {
        let reply = self.client().get(&format!("/_control/{what}"));
        assert_eq!(reply.status, 200, "{what}: {}", reply.body);
        serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    fn settings(&self, provider: Provider, trust_mfa: bool) -> ProviderSettings {
        let prefix = match provider {
            Provider::Microsoft => format!("/{TENANT}/v2.0"),
            Provider::Google => "/google".to_owned(),
        };
        ProviderSettings {
            provider,
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            tenant: Some(TENANT.into()),
            hosted_domain: Some("example.org".into()),
            issuer: Some(format!("{}{prefix}", self.base())),
            trust_mfa,
        }
    }
}

/// The browser's journey: the sign-in page's button, the provider (which signs in `user`,
/// misbehaving as `mode` says), and back to Steward's callback. Returns the callback's reply and
/// the callback's path, for replaying it.
fn journey(
    web: &mut Client,
    idp: &Provider_,
    provider: &str,
    user: Json,
    mode: &str,
) -> (Reply, String) {
    idp.control("user", user);
    idp.control("misbehave", json!({ "mode": mode }));
    let callback = to_provider_and_back(web, idp, provider);
    (web.get(&callback), callback)
}

/// Presses the button and lets the provider answer: the callback path it sends the browser to.
fn to_provider_and_back(web: &mut Client, idp: &Provider_, provider: &str) -> String {
    let login = web.get("/login");
    assert_eq!(login.status, 200, "{}", login.body);
    let csrf = login.csrf();
    let sent = web.post(&format!("/auth/{provider}"), &[("csrf", &csrf)]);
    assert_eq!(sent.status, 303, "{provider} starts: {}", sent.body);
    let authorize = sent
        .location()
        .strip_prefix(&idp.base())
        .unwrap_or_else(|| panic!("sent to the provider: {}", sent.location()))
        .to_owned();
    let back = idp.client().get(&authorize);
    assert_eq!(back.status, 302, "the provider: {}", back.body);
    back.location()
        .strip_prefix(RETURN)
        .unwrap_or_else(|| panic!("sent back to Steward: {}", back.location()))
        .to_owned()
}

fn user(sub: &str, email: &str) -> Json {
    json!({
        "sub": sub,
        "email": email,
        "email_verified": true,
        "tid": TENANT,
        "hd": "example.org",
        "name": "Pat Example",
        "amr": ["pwd", "mfa"],
    })
}

fn refused(reply: &Reply, says: &str, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    assert!(
        reply.body.contains(says),
        "{what}: wants {says:?} in {}",
        reply.body
    );
    assert!(
        reply
            .header("set-cookie")
            .is_none_or(|c| !c.contains("steward_session=") || c.contains("Max-Age=0")),
        "{what}: no session"
    );
}

/// The audit log's actions on one link, in order.
fn actions(steward: &Steward, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let query = steward_store::AuditQuery {
        entity: Some(("sso_link".into(), id.into())),
        ..steward_store::AuditQuery::default()
    };
    steward
        .audit_log(&query, &mut |r| {
            out.push(r.action.clone());
            Ok(())
        })
        .expect("audit log");
    out
}

fn session_cookie(web: &Client) -> Option<&String> {
    web.cookies.get("steward_session").filter(|v| !v.is_empty())
}

#[test]
fn single_sign_on_with_a_local_provider() {
    let Some(idp) = Provider_::start() else {
        return;
    };
    for db in databases("web_sso") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let stamp = Stamp::now("test");
        for (id, status) in [
            ("P1", PersonStatus::Active),
            ("P2", PersonStatus::Active),
            ("L1", PersonStatus::Leaver),
        ] {
            let mut p = person(id, &format!("Person {id}"), None);
            p.status = status;
            if status == PersonStatus::Leaver {
                p.leave_date = Some(chrono::NaiveDate::from_ymd_opt(2024, 1, 31).expect("day"));
            }
            steward.create(&stamp, &p).unwrap_or_else(|e| panic!("{e}"));
        }
        let p1 = account(&steward, "p1@example.org", Some("P1"), &[]);
        account(&steward, "p2@example.org", Some("P2"), &[]);
        account(&steward, "l1@example.org", Some("L1"), &[]);
        let admin = account(
            &steward,
            "admin@example.org",
            None,
            &[steward_service::Capacity::Administrator],
        );
        let steward = steward.with_sign_in_policy(SignInPolicy {
            local_passwords: LocalPasswords::BreakGlass,
            break_glass: vec!["admin@example.org".into()],
        });
        let sso = |provider: Provider, trust: bool| {
            let callback = format!("{RETURN}/auth/{}/callback", provider.as_str());
            Arc::new(Sso::new(idp.settings(provider, trust), &callback).expect("settings"))
        };
        let options = steward_web::Options {
            sso: vec![sso(Provider::Microsoft, false), sso(Provider::Google, true)],
            ..steward_web::Options::default()
        };
        let server = Server::start_with(steward, options);

        // The sign-in page offers both; an unknown provider is not there.
        let mut web = server.client();
        let login = web.get("/login");
        assert!(
            login.body.contains("id=\"sso-microsoft\""),
            "{b}: {}",
            login.body
        );
        assert!(login.body.contains("Sign in with Google"), "{b}");
        let csrf = login.csrf();
        assert_eq!(
            web.post("/auth/okta", &[("csrf", &csrf)]).status,
            404,
            "{b}"
        );
        assert_eq!(
            web.post("/auth/microsoft", &[]).status,
            403,
            "{b}: no form token"
        );

        // A good sign-in with Microsoft: the provider's MFA is not trusted, so Steward's own
        // code follows. The request carried PKCE (S256), state and nonce.
        let (back, replay) = journey(
            &mut web,
            &idp,
            "microsoft",
            user("ms-p1", "P1@Example.org"),
            "none",
        );
        assert_eq!(
            (back.status, back.location()),
            (303, "/mfa"),
            "{b}: {}",
            back.body
        );
        let asked = idp.read("last_authorize");
        assert_eq!(asked["code_challenge_method"], "S256", "{b}: {asked}");
        assert_eq!(
            asked["code_challenge"].as_str().map(str::len),
            Some(43),
            "{b}"
        );
        assert!(
            asked["nonce"].as_str().is_some_and(|n| n.len() >= 16),
            "{b}: {asked}"
        );
        assert!(
            asked["state"].as_str().is_some_and(|s| s.len() >= 16),
            "{b}: {asked}"
        );
        assert!(
            asked["scope"]
                .as_str()
                .is_some_and(|s| s.contains("openid")),
            "{b}"
        );
        let exchanges = idp.read("tokens");
        let last = exchanges
            .as_array()
            .and_then(|a| a.last())
            .cloned()
            .unwrap_or_default();
        assert_eq!(last["status"], 200, "{b}: {exchanges}");
        assert_eq!(last["auth_method"], "client_secret_basic", "{b}");
        assert!(session_cookie(&web).is_some(), "{b}");
        assert_eq!(web.get("/").status, 303, "{b}: nothing before the code");
        let csrf = web.get("/mfa").csrf();
        let done = web.post("/mfa", &[("csrf", &csrf), ("code", &code_now(&p1))]);
        assert_eq!(
            (done.status, done.location()),
            (303, "/"),
            "{b}: {}",
            done.body
        );
        let me = web.get("/me");
        assert_eq!(me.status, 200, "{b}");
        assert!(me.body.contains("Person P1"), "{b}");

        // The link is kept, audited, and records that the provider said MFA was used.
        let check = Steward::open(&db.url).expect("open");
        let links = check.sso_links_of("p1@example.org").expect("links");
        assert_eq!(links.len(), 1, "{b}");
        assert_eq!(
            (links[0].subject.as_str(), links[0].provider_mfa),
            ("ms-p1", Some(true)),
            "{b}"
        );
        assert_eq!(actions(&check, "microsoft:ms-p1"), ["link"], "{b}");

        // A replayed `state` (the same callback again) signs nobody in.
        let mut other = server.client();
        refused(
            &other.get(&replay),
            "expired or was already used",
            "replayed state",
        );

        // Once linked, the subject decides: a changed address at the provider still signs in
        // P1; a different subject with P1's address does not.
        let mut again = server.client();
        let mut changed = user("ms-p1", "renamed@example.org");
        changed["amr"] = json!(["pwd"]);
        let (back, _) = journey(&mut again, &idp, "microsoft", changed, "none");
        assert_eq!(
            (back.status, back.location()),
            (303, "/mfa"),
            "{b}: {}",
            back.body
        );
        let links = check.sso_links_of("p1@example.org").expect("links");
        assert_eq!(links[0].provider_mfa, Some(false), "{b}: amr without mfa");
        let (back, _) = journey(
            &mut server.client(),
            &idp,
            "microsoft",
            user("ms-intruder", "p1@example.org"),
            "none",
        );
        refused(
            &back,
            "linked to a different Microsoft account",
            "another subject, same address",
        );

        // Google, whose MFA the organisation trusts: signed in at once.
        let mut g = server.client();
        let (back, _) = journey(
            &mut g,
            &idp,
            "google",
            user("g-p2", "p2@example.org"),
            "none",
        );
        assert_eq!(
            (back.status, back.location()),
            (303, "/"),
            "{b}: {}",
            back.body
        );
        assert_eq!(g.get("/me").status, 200, "{b}: signed in");

        // Every way the token can be wrong.
        for (mode, says) in [
            ("wrong_audience", "another application"),
            ("expired", "expired"),
            ("bad_signature", "signature"),
            ("alg_none", "failed a check"),
            ("wrong_issuer", "another issuer"),
            ("wrong_nonce", "nonce"),
        ] {
            let mut web = server.client();
            let (back, _) = journey(
                &mut web,
                &idp,
                "microsoft",
                user("ms-p1", "p1@example.org"),
                mode,
            );
            refused(&back, says, mode);
            assert!(
                session_cookie(&web).is_none(),
                "{b}: {mode} opened a session"
            );
        }

        // Keys rotated at the provider since Steward read them: read again, and signed in.
        let (back, _) = journey(
            &mut server.client(),
            &idp,
            "microsoft",
            user("ms-p1", "p1@example.org"),
            "rotate_key",
        );
        assert_eq!(
            (back.status, back.location()),
            (303, "/mfa"),
            "{b}: rotated key: {}",
            back.body
        );

        // Who the token names must be someone: not another tenant or Workspace domain, not a
        // leaver, not an unknown or unverified address.
        let mut outsider = user("ms-x", "p2@example.org");
        outsider["tid"] = json!("99999999-2222-3333-4444-555555555555");
        let (back, _) = journey(&mut server.client(), &idp, "microsoft", outsider, "none");
        refused(
            &back,
            "this Microsoft account is not in the organisation",
            "another tenant",
        );
        let mut elsewhere = user("g-x", "p2@example.org");
        elsewhere["hd"] = json!("example.com");
        let (back, _) = journey(&mut server.client(), &idp, "google", elsewhere, "none");
        refused(&back, "Workspace domain", "another Workspace domain");
        let (back, _) = journey(
            &mut server.client(),
            &idp,
            "microsoft",
            user("ms-l1", "l1@example.org"),
            "none",
        );
        refused(&back, "disabled", "a leaver");
        let (back, _) = journey(
            &mut server.client(),
            &idp,
            "google",
            user("g-u", "nobody@example.org"),
            "none",
        );
        refused(
            &back,
            "no Steward account for nobody@example.org",
            "an unknown address",
        );
        let mut unverified = user("g-p1", "p1@example.org");
        unverified["email_verified"] = json!(false);
        let (back, _) = journey(&mut server.client(), &idp, "google", unverified, "none");
        refused(
            &back,
            "did not give an email address",
            "an unverified address",
        );

        // A sign-in begun in one browser and finished in another (login CSRF) is refused, and
        // spent: the browser that began it cannot finish it afterwards either.
        idp.control("user", user("ms-p1", "p1@example.org"));
        idp.control("misbehave", json!({ "mode": "none" }));
        let mut starter = server.client();
        let callback = to_provider_and_back(&mut starter, &idp, "microsoft");
        refused(
            &server.client().get(&callback),
            "expired or was already used",
            "another browser",
        );
        refused(
            &starter.get(&callback),
            "expired or was already used",
            "spent",
        );

        // The person turned the provider down.
        let mut cancelled = server.client();
        let callback = to_provider_and_back(&mut cancelled, &idp, "microsoft");
        let state = callback
            .split("state=")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let path = format!("/auth/microsoft/callback?error=access_denied&state={state}");
        refused(
            &cancelled.get(&path),
            "did not sign you in (access_denied)",
            "cancelled",
        );
        refused(
            &cancelled.get(&callback),
            "expired or was already used",
            "cancelled, then the code",
        );

        // Local passwords: only the break-glass administrator keeps one. Anyone else's right
        // password is told to use single sign-on; a wrong one reads as always.
        let mut pw = server.client();
        let csrf = pw.get("/login").csrf();
        let said = pw.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "p1@example.org"),
                ("password", PASSWORD),
            ],
        );
        refused(&said, "signs in with the organisation", "p1's password");
        let csrf = pw.get("/login").csrf();
        let wrong = pw.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "p1@example.org"),
                ("password", "not the password at all"),
            ],
        );
        refused(
            &wrong,
            "email address or password is not right",
            "a wrong password",
        );
        // Nor is a new password asked of someone who may not use one.
        let asked = check
            .with_sign_in_policy(SignInPolicy {
                local_passwords: LocalPasswords::BreakGlass,
                break_glass: vec!["admin@example.org".into()],
            })
            .require_new_password(&Stamp::now("test"), "p1@example.org");
        assert!(
            asked.is_err_and(|e| e.to_string().contains("signs in with the organisation")),
            "{b}"
        );
        let check = Steward::open(&db.url).expect("open");
        let mut glass = server.client();
        let signed = glass.sign_in("admin@example.org", PASSWORD, &admin);
        assert_eq!(
            (signed.status, signed.location()),
            (303, "/"),
            "{b}: break glass"
        );

        // Audit verification holds with the links made and used.
        assert_eq!(
            actions(&check, "microsoft:ms-p1"),
            ["link", "sign_in", "sign_in"],
            "{b}: the renamed sign-in and the rotated key's"
        );

        // An administrator sees the link, and removes it when the person's account at the
        // provider was replaced: the new account then links afresh by address.
        let page = glass.get("/admin/sign-ins");
        assert_eq!(page.status, 200, "{b}");
        assert!(
            page.body.contains("value=\"unlink_microsoft\""),
            "{b}: {}",
            page.body
        );
        let csrf = page.csrf();
        let done = glass.post(
            "/admin/sign-ins",
            &[
                ("csrf", &csrf),
                ("email", "p1@example.org"),
                ("act", "unlink_microsoft"),
            ],
        );
        assert_eq!(done.status, 200, "{b}: {}", done.body);
        assert!(
            check
                .sso_links_of("p1@example.org")
                .expect("links")
                .is_empty(),
            "{b}"
        );
        assert_eq!(
            actions(&check, "microsoft:ms-p1"),
            ["link", "sign_in", "sign_in", "unlink"],
            "{b}"
        );
        let (back, _) = journey(
            &mut server.client(),
            &idp,
            "microsoft",
            user("ms-p1-replaced", "p1@example.org"),
            "none",
        );
        assert_eq!(
            (back.status, back.location()),
            (303, "/mfa"),
            "{b}: {}",
            back.body
        );
        // A member of staff reaches no part of it.
        let mut staff = server.client();
        let (back, _) = journey(
            &mut staff,
            &idp,
            "google",
            user("g-p2", "p2@example.org"),
            "none",
        );
        assert_eq!(back.status, 303, "{b}");
        assert_eq!(staff.get("/admin/sign-ins").status, 403, "{b}");

        let verdict = check.verify_audit_against(None).expect("verify");
        assert!(verdict.chain.is_ok(), "{b}: {:?}", verdict.chain);
        assert!(
            verdict.differences.is_empty(),
            "{b}: {:?}",
            verdict.differences
        );
        drop(server);
    }
}
