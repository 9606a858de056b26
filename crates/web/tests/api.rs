//! The JSON API as a program uses it, over a real socket, on every test database: its contract
//! readable without a token; a token bearing its person's authority, never more; rows listed a
//! page at a time, read with their version, created and changed only against the version read;
//! every refusal a problem document naming the field and the reason; writes audited as the
//! token; a token held to its rate.

mod support;

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use serde_json::{Value as Json, json};
use steward_model::Register;
use steward_service::{Capacity, NewToken, Stamp, Steward, TokenAccess};
use steward_store::testing::databases;
use support::{Client, Reply, Server};

fn json_of(reply: &Reply) -> Json {
    serde_json::from_str(&reply.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", reply.status, reply.body))
}

/// A person's own token, made as they would make it signed in.
fn own_token(
    steward: &Steward,
    email: &str,
    access: TokenAccess,
    registers: Vec<Register>,
) -> String {
    let viewer = steward
        .viewer(email)
        .unwrap_or_else(|e| panic!("{email}: {e}"));
    let (_, secret) = steward
        .create_token(
            &Stamp::of(&viewer),
            &NewToken {
                name: format!("{email}'s script"),
                service: None,
                access,
                registers,
                expires_at: Utc::now() + Duration::days(30),
            },
        )
        .unwrap_or_else(|e| panic!("{email}: {e}"));
    secret
}

struct Api<'a> {
    client: Client,
    token: &'a str,
}

impl Api<'_> {
    fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Json>,
    ) -> Reply {
        let bearer = format!("Bearer {}", self.token);
        let mut all = vec![("Authorization", bearer.as_str())];
        all.extend_from_slice(headers);
        self.client.request(
            method,
            path,
            &all,
            body.map(|b| ("application/json", b.to_string().into_bytes())),
        )
    }

    fn get(&mut self, path: &str) -> Reply {
        self.call("GET", path, &[], None)
    }
}

fn problem(reply: &Reply, status: u16) -> Json {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{}",
        reply.body
    );
    let body = json_of(reply);
    assert_eq!(body["status"], json!(status), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

#[test]
fn a_program_reads_and_changes_the_registers_with_a_token() {
    for db in databases("web_api") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        support::it_staff_and_administrator(&steward, "example.org");
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut anyone = server.client();

        // The contract is public, and made from the registers themselves.
        let spec = anyone.get("/api/v1/openapi.json");
        assert_eq!(spec.status, 200, "{b}");
        let spec = json_of(&spec);
        assert_eq!(spec["openapi"], "3.1.0", "{b}");
        let paths = spec["paths"].as_object().expect("paths");
        for register in ["people", "assets", "systems"] {
            assert!(
                paths.contains_key(&format!("/api/v1/registers/{register}")),
                "{b}: {register}"
            );
        }
        assert!(!paths.keys().any(|p| p.contains("organisation")), "{b}");
        for (path, ops) in paths {
            for (method, op) in ops.as_object().expect("operations") {
                if path.ends_with("openapi.json") {
                    continue;
                }
                for status in ["401", "403", "429"] {
                    assert!(
                        op["responses"].get(status).is_some(),
                        "{b}: {method} {path} documents {status}"
                    );
                }
            }
        }
        // And readable as a page, drawn on the server: no script for the CSP to refuse.
        let page = anyone.get("/api/v1/reference");
        assert_eq!(page.status, 200, "{b}");
        assert!(
            page.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{b}"
        );
        for expected in [
            "id=\"list_systems\"",
            "id=\"schema-Systems\"",
            "href=\"#schema-SystemsNew\"",
            "<code>If-Match</code>",
        ] {
            assert!(page.body.contains(expected), "{b}: {expected}");
        }
        assert!(!page.body.contains("<script"), "{b}");
        let system = &spec["components"]["schemas"]["Systems"];
        assert_eq!(
            system["properties"]["supports_mfa"]["type"],
            json!(["boolean", "null"]),
            "{b}"
        );

        // No token, or one that is not live: 401, saying how to send one.
        let none = anyone.get("/api/v1/registers/systems");
        problem(&none, 401);
        assert!(
            none.header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer")),
            "{b}"
        );
        let mut forged = Api {
            client: server.client(),
            token: "stw_not-a-token",
        };
        problem(&forged.get("/api/v1/registers"), 401);

        let it_secret = own_token(
            &steward,
            "it@example.org",
            TokenAccess::ReadWrite,
            Vec::new(),
        );
        let mut it = Api {
            client: server.client(),
            token: &it_secret,
        };
        let listed = json_of(&it.get("/api/v1/registers"));
        let systems = listed["items"]
            .as_array()
            .and_then(|items| items.iter().find(|r| r["name"] == "systems"))
            .cloned()
            .unwrap_or_else(|| panic!("{b}: {listed}"));
        assert_eq!(
            (systems["read"].clone(), systems["create"].clone()),
            (json!(true), json!(true)),
            "{b}"
        );

        // Created: 201 with where it is and its version; refused field by field.
        let created = it.call(
            "POST",
            "/api/v1/registers/systems",
            &[],
            Some(json!({ "name": "crm", "supports_mfa": false })),
        );
        assert_eq!(created.status, 201, "{b}: {}", created.body);
        assert_eq!(
            created.header("location"),
            Some("/api/v1/registers/systems/crm"),
            "{b}"
        );
        let version = created.header("etag").unwrap_or_default().to_owned();
        assert!(
            version.starts_with('"') && version.len() > 10,
            "{b}: {version}"
        );
        let again = it.call(
            "POST",
            "/api/v1/registers/systems",
            &[],
            Some(json!({ "name": "crm" })),
        );
        problem(&again, 409);
        let wrong = it.call(
            "POST",
            "/api/v1/registers/systems",
            &[],
            Some(json!({ "name": "hr", "supports_mfa": "perhaps", "colour": "blue" })),
        );
        let wrong = problem(&wrong, 422);
        let fields: BTreeSet<String> = wrong["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|p| p["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            fields.contains("supports_mfa") && fields.contains("field"),
            "{b}: {wrong}"
        );
        let text = it.client.request(
            "POST",
            "/api/v1/registers/systems",
            &[("Authorization", &format!("Bearer {it_secret}"))],
            Some(("text/plain", b"name=hr".to_vec())),
        );
        problem(&text, 415);

        // Read with its version; unchanged is 304.
        let read = it.get("/api/v1/registers/systems/crm");
        assert_eq!(read.status, 200, "{b}");
        assert_eq!(read.header("etag"), Some(version.as_str()), "{b}");
        assert_eq!(json_of(&read)["supports_mfa"], json!(false), "{b}");
        let same = it.call(
            "GET",
            "/api/v1/registers/systems/crm",
            &[("If-None-Match", &version)],
            None,
        );
        assert_eq!(same.status, 304, "{b}");
        problem(&it.get("/api/v1/registers/systems/nothing"), 404);
        // What cannot be read is a problem document too, never a bare text answer.
        problem(&it.get("/api/v1/registers/systems/%FF%FE"), 400);
        let huge = json!({ "name": "x".repeat(3 * 1024 * 1024) });
        problem(
            &it.call("POST", "/api/v1/registers/systems", &[], Some(huge)),
            413,
        );
        problem(&it.get("/api/v1/registers/organisation"), 404);

        // Changed only against the version read.
        let change = json!({ "supports_mfa": true });
        problem(
            &it.call(
                "PATCH",
                "/api/v1/registers/systems/crm",
                &[],
                Some(change.clone()),
            ),
            428,
        );
        problem(
            &it.call(
                "PATCH",
                "/api/v1/registers/systems/crm",
                &[("If-Match", "\"0000\"")],
                Some(change.clone()),
            ),
            412,
        );
        let changed = it.call(
            "PATCH",
            "/api/v1/registers/systems/crm",
            &[("If-Match", &version)],
            Some(change.clone()),
        );
        assert_eq!(changed.status, 200, "{b}: {}", changed.body);
        assert_eq!(json_of(&changed)["supports_mfa"], json!(true), "{b}");
        let newer = changed.header("etag").unwrap_or_default().to_owned();
        assert_ne!(newer, version, "{b}");
        // The version read before is stale now: nobody overwrites a change they have not seen.
        problem(
            &it.call(
                "PATCH",
                "/api/v1/registers/systems/crm",
                &[("If-Match", &version)],
                Some(json!({ "supports_mfa": false })),
            ),
            412,
        );
        let renamed = it.call(
            "PATCH",
            "/api/v1/registers/systems/crm",
            &[("If-Match", &newer)],
            Some(json!({ "name": "erp" })),
        );
        problem(&renamed, 422);

        // Every write is audited as the token.
        let mut actors = Vec::new();
        steward
            .audit_log(&steward_store::AuditQuery::default(), &mut |r| {
                if r.entity_type == "system" {
                    actors.push(r.actor.clone());
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(actors.len(), 2, "{b}: {actors:?}");
        assert!(
            actors.iter().all(|a| a.starts_with("token:")),
            "{b}: {actors:?}"
        );

        // A page at a time, in the order asked, each page beginning after the last.
        for name in ["dms", "email", "finance"] {
            let made = it.call(
                "POST",
                "/api/v1/registers/systems",
                &[],
                Some(json!({ "name": name })),
            );
            assert_eq!(made.status, 201, "{b}: {}", made.body);
        }
        let first = json_of(&it.get("/api/v1/registers/systems?limit=3&sort=-name"));
        let names = |page: &Json| -> Vec<String> {
            page["items"]
                .as_array()
                .map(|i| {
                    i.iter()
                        .filter_map(|r| r["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(names(&first), ["finance", "email", "dms"], "{b}");
        let next = first["next"]
            .as_str()
            .unwrap_or_else(|| panic!("{b}: {first}"))
            .to_owned();
        let second = json_of(&it.get(&format!(
            "/api/v1/registers/systems?limit=3&sort=-name&after={next}"
        )));
        assert_eq!(names(&second), ["crm"], "{b}");
        assert_eq!(second["next"], Json::Null, "{b}");
        let found = json_of(&it.get("/api/v1/registers/systems?name=email"));
        assert_eq!(names(&found), ["email"], "{b}");
        let found = json_of(&it.get("/api/v1/registers/systems?q=INAN"));
        assert_eq!(names(&found), ["finance"], "{b}");
        problem(&it.get("/api/v1/registers/systems?colour=blue"), 422);
        problem(&it.get("/api/v1/registers/systems?supports_mfa=true"), 422);
        problem(&it.get("/api/v1/registers/systems?sort=supports_mfa"), 422);
        problem(&it.get("/api/v1/registers/systems?limit=0"), 400);

        // A read-only token reads and writes nothing; one for the people register reaches no
        // other; a member of staff's token carries a member of staff's authority.
        let read_secret = own_token(&steward, "it@example.org", TokenAccess::Read, Vec::new());
        let mut reader = Api {
            client: server.client(),
            token: &read_secret,
        };
        assert_eq!(
            reader.get("/api/v1/registers/systems/crm").status,
            200,
            "{b}"
        );
        problem(
            &reader.call(
                "POST",
                "/api/v1/registers/systems",
                &[],
                Some(json!({ "name": "x" })),
            ),
            403,
        );
        let people_secret = own_token(
            &steward,
            "it@example.org",
            TokenAccess::ReadWrite,
            vec![Register::People],
        );
        let mut people_only = Api {
            client: server.client(),
            token: &people_secret,
        };
        assert_eq!(
            people_only.get("/api/v1/registers/people").status,
            200,
            "{b}"
        );
        problem(&people_only.get("/api/v1/registers/systems"), 403);
        // Nor what spans every register: findings, the audit log, check runs, webhooks; and
        // of jobs, only those it queued (an IT person's own token would see every one).
        for path in [
            "/api/v1/findings",
            "/api/v1/findings/no-such-key",
            "/api/v1/audit",
            "/api/v1/audit/verify",
            "/api/v1/webhooks",
        ] {
            problem(&people_only.get(path), 403);
        }
        problem(&people_only.call("POST", "/api/v1/checks", &[], None), 403);
        steward
            .enqueue_check(&Stamp::now("test"), steward_service::CheckRun::Asked)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let everyone = json_of(&it.get("/api/v1/jobs"));
        let own = json_of(&people_only.get("/api/v1/jobs"));
        assert!(
            everyone["items"].as_array().is_some_and(|a| !a.is_empty()),
            "{b}: the IT person's own token sees the jobs: {everyone}"
        );
        assert_eq!(own["items"], json!([]), "{b}: {own}");
        let staff_secret = own_token(
            &steward,
            "staff@example.org",
            TokenAccess::ReadWrite,
            Vec::new(),
        );
        let mut staff = Api {
            client: server.client(),
            token: &staff_secret,
        };
        problem(
            &staff.call(
                "POST",
                "/api/v1/registers/systems",
                &[],
                Some(json!({ "name": "y" })),
            ),
            403,
        );
        assert_eq!(
            steward
                .list::<steward_model::System>()
                .map(|s| s.len())
                .unwrap_or(0),
            4,
            "{b}: nothing refused was kept"
        );

        // The audit log: for those who read it, a record's history, a page at a time, and its
        // chain verified.
        problem(&it.get("/api/v1/audit"), 403);
        let admin_secret = own_token(
            &steward,
            "administrator@example.org",
            TokenAccess::Read,
            Vec::new(),
        );
        let mut admin = Api {
            client: server.client(),
            token: &admin_secret,
        };
        let history = json_of(&admin.get("/api/v1/audit?entity_type=system&entity_id=crm"));
        let actions: Vec<&str> = history["items"]
            .as_array()
            .map(|i| i.iter().filter_map(|r| r["action"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            actions,
            ["update", "create"],
            "{b}: newest first: {history}"
        );
        assert_eq!(
            history["items"][0]["after"]["supports_mfa"],
            json!(true),
            "{b}"
        );
        let page = json_of(&admin.get("/api/v1/audit?limit=2"));
        let before = page["before"]
            .as_i64()
            .unwrap_or_else(|| panic!("{b}: {page}"));
        let earlier = json_of(&admin.get(&format!("/api/v1/audit?limit=2&before={before}")));
        assert!(
            earlier["items"][0]["seq"]
                .as_i64()
                .is_some_and(|s| s < before),
            "{b}: {earlier}"
        );
        problem(&admin.get("/api/v1/audit?entity_type=system"), 400);
        let verdict = json_of(&admin.get("/api/v1/audit/verify"));
        assert_eq!(verdict["holds"], json!(true), "{b}: {verdict}");

        // Revoked: 401 from then on.
        let viewer = steward
            .viewer("it@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let tokens = steward
            .tokens(&Stamp::of(&viewer))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        for t in &tokens {
            steward
                .revoke_token(&Stamp::of(&viewer), &t.id)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        problem(&it.get("/api/v1/registers"), 401);
        drop(server);
    }
}

/// A token past its rate gets 429 with when to come back; where several servers share a
/// PostgreSQL database, they share the count: a token cannot multiply its rate by spreading its
/// requests across them.
#[test]
fn a_token_is_held_to_its_rate() {
    for db in databases("web_api_rate") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        support::it_staff_and_administrator(&steward, "example.org");
        let (_, service) = steward
            .create_token(
                &Stamp::now("test"),
                &NewToken {
                    name: "inventory sync".into(),
                    service: Some(("inventory".into(), [Capacity::It].into())),
                    access: TokenAccess::Read,
                    registers: Vec::new(),
                    expires_at: Utc::now() + Duration::days(1),
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let options = || steward_web::Options {
            api_requests_per_minute: 3,
            ..Default::default()
        };
        // On PostgreSQL, two servers, the requests spread between them; on SQLite, one.
        let shared = b == steward_store::Backend::Postgres;
        let servers: Vec<Server> = (0..if shared { 2 } else { 1 })
            .map(|_| Server::start(&db.url, options()))
            .collect();
        let mut clients: Vec<Api> = servers
            .iter()
            .map(|server| Api {
                client: server.client(),
                token: &service,
            })
            .collect();
        // All within one minute: begun well before its end.
        let second = Utc::now().timestamp().rem_euclid(60);
        if second >= 50 {
            std::thread::sleep(std::time::Duration::from_secs(
                u64::try_from(61 - second).unwrap_or(11),
            ));
        }
        let mut statuses = Vec::new();
        let mut refused = None;
        for i in 0..8 {
            let n = clients.len();
            let reply = clients[i % n].get("/api/v1/registers/systems");
            statuses.push(reply.status);
            if reply.status == 429 {
                refused = Some(reply);
                break;
            }
        }
        // Three fit in the minute — not the six that two servers counting apart would let by.
        let refused = refused.unwrap_or_else(|| panic!("{b}: never limited: {statuses:?}"));
        problem(&refused, 429);
        let wait: u64 = refused
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!((1..=60).contains(&wait), "{b}: {wait}");
        assert_eq!(statuses, [200, 200, 200, 429], "{b}");
        drop(servers);
    }
}

/// Tokens on screen: a member of staff makes one (its secret shown on that answer alone),
/// uses it, sees it listed with its last use, and revokes it; only an administrator makes a
/// service's token.
#[test]
fn people_make_and_revoke_their_tokens_on_screen() {
    let db = steward_store::testing::sqlite("web_api_tokens_page");
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
    let secrets = support::it_staff_and_administrator(&steward, "example.org");
    let secret_of = |role: &str| {
        secrets
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("no {role}"))
    };
    let server = Server::start(&db.url, steward_web::Options::default());
    let mut staff = server.client();
    staff.sign_in("staff@example.org", support::PASSWORD, &secret_of("staff"));
    assert!(staff.get("/me").body.contains("id=\"api-tokens-link\""));
    let page = staff.get("/account/tokens");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"no-tokens\""), "{}", page.body);
    assert!(
        !page.body.contains("field-service"),
        "services are the administrator's"
    );

    let made = staff.submit(
        "/account/tokens",
        "/account/tokens",
        &[
            ("name", "my spreadsheet"),
            ("access", "read"),
            ("days", "30"),
        ],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let secret = made
        .body
        .split_once("id=\"token-secret\" readonly value=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(s, _)| s.to_owned())
        .unwrap_or_else(|| panic!("the secret is shown: {}", made.body));
    assert!(secret.starts_with("stw_"), "{secret}");
    let listed = staff.get("/account/tokens");
    assert!(!listed.body.contains(&secret), "shown once only");
    assert!(listed.body.contains("my spreadsheet") && listed.body.contains("never"));

    // It works as the person: a member of staff reads what staff read.
    let mut api = Api {
        client: server.client(),
        token: &secret,
    };
    let registers = json_of(&api.get("/api/v1/registers"));
    assert!(
        registers["items"].as_array().is_some_and(|i| !i.is_empty()),
        "{registers}"
    );
    let listed = staff.get("/account/tokens");
    assert!(
        !listed.body.contains(">never<"),
        "its last use is shown: {}",
        listed.body
    );

    // A service's token is refused to anyone but an administrator.
    let refused = staff.submit(
        "/account/tokens",
        "/account/tokens",
        &[
            ("name", "sync"),
            ("service", "inventory"),
            ("capacity", "it"),
        ],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"token-error\""),
        "{}",
        refused.body
    );
    let mut admin = server.client();
    admin.sign_in(
        "administrator@example.org",
        support::PASSWORD,
        &secret_of("administrator"),
    );
    let service = admin.submit(
        "/account/tokens",
        "/account/tokens",
        &[
            ("name", "sync"),
            ("service", "inventory"),
            ("capacity", "it"),
            ("access", "read-write"),
        ],
    );
    assert_eq!(service.status, 200, "{}", service.body);
    let every = admin.get("/account/tokens");
    assert!(
        every.body.contains("staff@example.org") && every.body.contains("service inventory (it)"),
        "an administrator sees every token: {}",
        every.body
    );

    // Revoked on screen: refused from then on.
    let id = steward
        .tokens(&Stamp::of(
            &steward
                .viewer("staff@example.org")
                .unwrap_or_else(|e| panic!("{e}")),
        ))
        .unwrap_or_else(|e| panic!("{e}"))
        .first()
        .map(|t| t.id.clone())
        .unwrap_or_else(|| panic!("the staff member's token"));
    let revoked = staff.submit("/account/tokens", "/account/tokens/revoke", &[("id", &id)]);
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    problem(&api.get("/api/v1/registers"), 401);
    assert!(staff.get("/account/tokens").body.contains("revoked"));
}

/// The findings through the API: listed a page at a time by those who see them all, filtered as
/// the findings page filters them; one read with its history by whoever may see it — a member
/// of staff their own, never another's.
#[test]
fn findings_are_listed_and_read_as_the_pages_show_them() {
    let db = steward_store::testing::sqlite("web_api_findings");
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
    let logins = support::demo::seed_with(&steward, &support::demo::packs(), 40);
    let email = |role: &str| {
        logins
            .iter()
            .find(|(r, _, _)| *r == role)
            .map(|(_, e, _)| e.clone())
            .unwrap_or_else(|| panic!("no {role}"))
    };
    let server = Server::start(&db.url, steward_web::Options::default());
    let it_secret = own_token(&steward, &email("it"), TokenAccess::Read, Vec::new());
    let mut it = Api {
        client: server.client(),
        token: &it_secret,
    };

    let all = steward
        .findings(&steward_service::FindingQuery::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(all.len() > 3, "the demo has findings: {}", all.len());
    // Every failing finding, three at a time, each once.
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page = json_of(&it.get(&format!("/api/v1/findings?limit=3&after={after}")));
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 3, "{page}");
        seen.extend(
            items
                .iter()
                .filter_map(|f| f["key"].as_str().map(str::to_owned)),
        );
        match page["next"].as_str() {
            Some(next) => after = next.replace('/', "%2F"),
            None => break,
        }
    }
    let mut expected: Vec<String> = all.iter().map(|f| f.finding.key()).collect();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every failing finding, once");

    let first = &all[0];
    let control = &first.finding.control;
    let filtered = json_of(&it.get(&format!("/api/v1/findings?control={control}&limit=1000")));
    let items = filtered["items"].as_array().cloned().unwrap_or_default();
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|f| f["finding"]["control"] == json!(control)),
        "{filtered}"
    );
    problem(&it.get("/api/v1/findings?state=unhappy"), 400);
    problem(&it.get("/api/v1/findings?colour=blue"), 400);
    let before_any = json_of(&it.get("/api/v1/findings?as_of=2000-01-01T00:00:00Z"));
    assert_eq!(
        before_any["items"],
        json!([]),
        "nothing had been found in 2000"
    );

    let key = first.finding.key();
    let read = json_of(&it.get(&format!("/api/v1/findings/{key}")));
    assert_eq!(read["key"], json!(key));
    let history = read["history"].as_array().cloned().unwrap_or_default();
    assert!(
        history.first().is_some_and(|e| e["event"] == "opened"),
        "its history begins when it opened: {read}"
    );
    problem(&it.get("/api/v1/findings/no/such/finding/here"), 404);

    // A member of staff lists nothing, reads their own and not another's.
    let staff_email = email("staff");
    let staff_person = steward
        .viewer(&staff_email)
        .ok()
        .and_then(|v| v.person_id)
        .unwrap_or_else(|| panic!("the staff member is a person"));
    let staff_secret = own_token(&steward, &staff_email, TokenAccess::Read, Vec::new());
    let mut staff = Api {
        client: server.client(),
        token: &staff_secret,
    };
    problem(&staff.get("/api/v1/findings"), 403);
    let own = steward
        .findings_about(&staff_person)
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mine) = own.first() {
        let reply = staff.get(&format!("/api/v1/findings/{}", mine.finding.key()));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let others = all
        .iter()
        .find(|f| !own.iter().any(|o| o.finding.key() == f.finding.key()))
        .unwrap_or_else(|| panic!("someone else has a finding"));
    problem(
        &staff.get(&format!("/api/v1/findings/{}", others.finding.key())),
        404,
    );
}

/// A register's file imported through the API as a job, followed to its end; a file with a
/// mistake fails whole, its problems in the job; checks run as a job; and a job queued with a
/// token runs with the token's holder as they are when it runs: a token revoked meanwhile
/// imports nothing.
#[test]
fn imports_and_checks_are_jobs_run_as_the_token() {
    for db in databases("web_api_jobs") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        support::it_staff_and_administrator(&steward, "example.org");
        // No worker in the server: the jobs are run here, one at a time, when the test says.
        let server = Server::start(
            &db.url,
            steward_web::Options {
                jobs: steward_service::WorkerSettings {
                    workers: 0,
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let run_jobs = || {
            let ctx = steward_service::JobContext::new(
                Vec::new(),
                steward_policy::Overrides::default(),
                std::time::Duration::from_secs(60),
            );
            while steward
                .run_one("test", &ctx)
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .is_some()
            {}
        };
        let secret = own_token(
            &steward,
            "it@example.org",
            TokenAccess::ReadWrite,
            Vec::new(),
        );
        let mut it = Api {
            client: server.client(),
            token: &secret,
        };
        let csv =
            |rows: &str| format!("name,key_system,supports_mfa,restricted\n{rows}").into_bytes();
        let bearer = format!("Bearer {secret}");
        let post_csv = |api: &mut Api, body: Vec<u8>| {
            api.client.request(
                "POST",
                "/api/v1/imports/systems",
                &[("Authorization", bearer.as_str())],
                Some(("text/csv", body)),
            )
        };

        let queued = post_csv(&mut it, csv("hr,,true,\npayroll,true,false,\n"));
        assert_eq!(queued.status, 202, "{b}: {}", queued.body);
        let href = json_of(&queued)["href"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(queued.header("location"), Some(href.as_str()), "{b}");
        assert_eq!(json_of(&it.get(&href))["state"], "queued", "{b}");
        run_jobs();
        let done = json_of(&it.get(&href));
        assert_eq!(done["state"], "done", "{b}: {done}");
        assert_eq!(done["result"]["created"], json!(2), "{b}: {done}");
        assert_eq!(
            it.get("/api/v1/registers/systems/payroll").status,
            200,
            "{b}"
        );

        let wrong = post_csv(&mut it, csv("crm,,perhaps,\n"));
        assert_eq!(wrong.status, 202, "{b}");
        run_jobs();
        let failed = json_of(&it.get(json_of(&wrong)["href"].as_str().unwrap_or_default()));
        assert_eq!(failed["state"], "failed", "{b}: {failed}");
        let problems = failed["result"]["problems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            problems
                .iter()
                .any(|p| p["column"] == "supports_mfa" && p["line"] == json!(2)),
            "{b}: the problem names its line and column: {failed}"
        );
        problem(&it.get("/api/v1/registers/systems/crm"), 404);
        let plain = it.client.request(
            "POST",
            "/api/v1/imports/systems",
            &[("Authorization", bearer.as_str())],
            Some(("application/json", b"{}".to_vec())),
        );
        problem(&plain, 415);

        let checks = it.call("POST", "/api/v1/checks", &[], None);
        assert_eq!(checks.status, 202, "{b}: {}", checks.body);
        let listed = json_of(&it.get("/api/v1/jobs"));
        assert!(
            listed["items"]
                .as_array()
                .is_some_and(|j| j.iter().any(|j| j["kind"] == "check")),
            "{b}: {listed}"
        );
        run_jobs();

        // Refused before anything is queued: a staff member's token, a read-only one.
        let staff_secret = own_token(
            &steward,
            "staff@example.org",
            TokenAccess::ReadWrite,
            Vec::new(),
        );
        let mut staff = Api {
            client: server.client(),
            token: &staff_secret,
        };
        let staff_bearer = format!("Bearer {staff_secret}");
        let refused = staff.client.request(
            "POST",
            "/api/v1/imports/systems",
            &[("Authorization", staff_bearer.as_str())],
            Some(("text/csv", csv("crm,,,\n"))),
        );
        problem(&refused, 403);
        problem(&staff.call("POST", "/api/v1/checks", &[], None), 403);
        let reader_secret = own_token(&steward, "it@example.org", TokenAccess::Read, Vec::new());
        let mut reader = Api {
            client: server.client(),
            token: &reader_secret,
        };
        problem(&reader.call("POST", "/api/v1/checks", &[], None), 403);

        // Queued, then the token revoked before the job runs: it runs as no one, and fails.
        let queued = post_csv(&mut it, csv("crm,,,\n"));
        assert_eq!(queued.status, 202, "{b}");
        let href = json_of(&queued)["href"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let viewer = steward
            .viewer("it@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let stamp = Stamp::of(&viewer);
        for t in steward
            .tokens(&stamp)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
        {
            steward
                .revoke_token(&stamp, &t.id)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        run_jobs();
        let job = steward
            .job(
                &Stamp::now("test"),
                href.rsplit('/')
                    .next()
                    .and_then(|id| id.parse().ok())
                    .unwrap_or(0),
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            job.job.state,
            steward_service::JobState::Failed,
            "{b}: {:?}",
            job.job
        );
        assert!(
            job.job
                .error
                .as_deref()
                .is_some_and(|e| e.contains("no longer")),
            "{b}: {:?}",
            job.job.error
        );
        assert!(
            steward
                .get::<steward_model::System>("crm")
                .unwrap_or(None)
                .is_none(),
            "{b}: nothing imported"
        );
        drop(server);
    }
}

/// The policies through the API: listed with which the organisation runs, one shown clause by
/// clause, and its coverage as `steward policy coverage` counts it.
#[test]
fn policies_are_read_as_the_policies_page_shows_them() {
    let db = steward_store::testing::sqlite("web_api_packs");
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
    support::it_staff_and_administrator(&steward, "example.org");
    let packs = support::demo::packs();
    steward
        .set_pack_active(&Stamp::now("test"), "cafcass-it-5.0", true, &packs)
        .unwrap_or_else(|e| panic!("{e}"));
    let server = Server::start(
        &db.url,
        steward_web::Options {
            available: packs.clone(),
            ..Default::default()
        },
    );
    let secret = own_token(&steward, "staff@example.org", TokenAccess::Read, Vec::new());
    let mut api = Api {
        client: server.client(),
        token: &secret,
    };
    let listed = json_of(&api.get("/api/v1/packs"));
    let active: Vec<(String, bool)> = listed["items"]
        .as_array()
        .map(|i| {
            i.iter()
                .map(|p| {
                    (
                        p["id"].as_str().unwrap_or_default().to_owned(),
                        p["active"] == json!(true),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        active,
        [
            ("cafcass-it-5.0".to_owned(), true),
            ("cafcass-ia-4.3".to_owned(), false)
        ],
        "{listed}"
    );
    let pack = &packs[0];
    let shown = json_of(&api.get("/api/v1/packs/cafcass-it-5.0"));
    assert_eq!(
        shown["clauses"].as_array().map(Vec::len),
        Some(pack.clauses.len()),
        "every clause"
    );
    assert!(
        shown["parameters"].as_array().is_some_and(|p| p
            .iter()
            .any(|p| p["name"] == "laptop_offline_days" && p["value"] == "14")),
        "{}",
        shown["parameters"]
    );
    let coverage = json_of(&api.get("/api/v1/packs/cafcass-it-5.0/coverage"));
    let summary = &coverage["summary"];
    let counted: u64 = [
        "checked",
        "workflow_only",
        "attested_only",
        "guidance_only",
        "unmapped",
    ]
    .iter()
    .filter_map(|k| summary[*k].as_u64())
    .sum();
    assert_eq!(
        counted,
        pack.clauses.len() as u64,
        "each clause counted once: {summary}"
    );
    assert!(
        summary["checked"].as_u64().is_some_and(|n| n > 0),
        "{summary}"
    );
    problem(&api.get("/api/v1/packs/no-such-pack"), 404);
}

/// Requests through the API: raised by a person for themselves (not for another), read by them
/// and by those who see every request; its steps taken under the workflow's own rules — nobody
/// decides a request they raised — and a service's token takes none.
#[test]
fn requests_are_raised_read_and_stepped_as_on_the_pages() {
    for db in databases("web_api_requests") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        support::it_staff_and_administrator(&steward, "example.org");
        let server = Server::start(&db.url, steward_web::Options::default());
        let staff_secret = own_token(
            &steward,
            "staff@example.org",
            TokenAccess::ReadWrite,
            Vec::new(),
        );
        let mut staff = Api {
            client: server.client(),
            token: &staff_secret,
        };
        let raised = staff.call(
            "POST",
            "/api/v1/requests",
            &[],
            Some(json!({ "type": "pac-code", "person_id": "S1" })),
        );
        assert_eq!(raised.status, 201, "{b}: {}", raised.body);
        let body = json_of(&raised);
        let id = body["request"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            raised.header("location"),
            Some(format!("/api/v1/requests/{id}").as_str()),
            "{b}"
        );
        assert_eq!(body["request"]["person_id"], "S1", "{b}: {body}");
        problem(
            &staff.call(
                "POST",
                "/api/v1/requests",
                &[],
                Some(json!({ "type": "pac-code", "person_id": "IT1" })),
            ),
            403,
        );
        problem(
            &staff.call(
                "POST",
                "/api/v1/requests",
                &[],
                Some(json!({ "type": "a-pony", "person_id": "S1" })),
            ),
            400,
        );
        assert_eq!(
            staff.get(&format!("/api/v1/requests/{id}")).status,
            200,
            "{b}"
        );

        // Nobody decides a request they raised.
        let own = staff.call("POST", &format!("/api/v1/requests/{id}/approve"), &[], None);
        assert!(
            matches!(own.status, 403 | 422),
            "{b}: {} {}",
            own.status,
            own.body
        );
        problem(&own, own.status);
        problem(
            &staff.call("POST", &format!("/api/v1/requests/{id}/dance"), &[], None),
            404,
        );

        // The IT team sees it; a service's token reads it but takes no step.
        let it_secret = own_token(
            &steward,
            "it@example.org",
            TokenAccess::ReadWrite,
            Vec::new(),
        );
        let mut it = Api {
            client: server.client(),
            token: &it_secret,
        };
        assert_eq!(it.get(&format!("/api/v1/requests/{id}")).status, 200, "{b}");
        let (_, service) = steward
            .create_token(
                &Stamp::now("test"),
                &NewToken {
                    name: "desk".into(),
                    service: Some(("desk".into(), [Capacity::It].into())),
                    access: TokenAccess::ReadWrite,
                    registers: Vec::new(),
                    expires_at: Utc::now() + Duration::days(1),
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let mut desk = Api {
            client: server.client(),
            token: &service,
        };
        assert_eq!(
            desk.get(&format!("/api/v1/requests/{id}")).status,
            200,
            "{b}"
        );
        problem(
            &desk.call("POST", &format!("/api/v1/requests/{id}/cancel"), &[], None),
            403,
        );

        // Its raiser may cancel it; the request says so, and the audit log says who.
        let cancelled = staff.call("POST", &format!("/api/v1/requests/{id}/cancel"), &[], None);
        assert_eq!(cancelled.status, 200, "{b}: {}", cancelled.body);
        assert_eq!(
            json_of(&cancelled)["request"]["state"],
            "cancelled",
            "{b}: {}",
            cancelled.body
        );
        let mut actors = Vec::new();
        steward
            .audit_log(&steward_store::AuditQuery::default(), &mut |r| {
                if r.entity_type == "request" {
                    actors.push(r.actor.clone());
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            !actors.is_empty() && actors.iter().all(|a| a.starts_with("token:")),
            "{b}: {actors:?}"
        );
        drop(server);
    }
}

/// Incidents through the API: reported as the token's person, read by them and by those who
/// handle incidents, handled under the workflow's rules: a data breach closes only with its
/// record.
#[test]
fn incidents_are_reported_handled_and_closed_as_on_the_pages() {
    for db in databases("web_api_incidents") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        support::it_staff_and_administrator(&steward, "example.org");
        let server = Server::start(&db.url, steward_web::Options::default());
        let staff_secret = own_token(
            &steward,
            "staff@example.org",
            TokenAccess::ReadWrite,
            Vec::new(),
        );
        let mut staff = Api {
            client: server.client(),
            token: &staff_secret,
        };
        let reported = staff.call(
            "POST",
            "/api/v1/incidents",
            &[],
            Some(
                json!({ "type": "data-breach", "facts": "A report emailed to the wrong address" }),
            ),
        );
        assert_eq!(reported.status, 201, "{b}: {}", reported.body);
        let body = json_of(&reported);
        let id = body["incident"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            reported.header("location"),
            Some(format!("/api/v1/incidents/{id}").as_str()),
            "{b}"
        );
        assert_eq!(body["incident"]["person_id"], "S1", "{b}: {body}");
        problem(
            &staff.call(
                "POST",
                "/api/v1/incidents",
                &[],
                Some(json!({ "type": "a-flood" })),
            ),
            400,
        );
        assert_eq!(
            staff.get(&format!("/api/v1/incidents/{id}")).status,
            200,
            "{b}"
        );
        let handled = staff.call(
            "POST",
            &format!("/api/v1/incidents/{id}/investigate"),
            &[],
            None,
        );
        assert!(
            matches!(handled.status, 403 | 422),
            "{b}: {} {}",
            handled.status,
            handled.body
        );

        let it_secret = own_token(
            &steward,
            "it@example.org",
            TokenAccess::ReadWrite,
            Vec::new(),
        );
        let mut it = Api {
            client: server.client(),
            token: &it_secret,
        };
        // Acknowledging a notice: a party's only by those who answer for it, and once.
        let told: Vec<String> =
            json_of(&it.get(&format!("/api/v1/incidents/{id}")))["notifications"]
                .as_array()
                .map(|ns| {
                    ns.iter()
                        .filter_map(|n| n["recipient"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
        assert!(
            told.iter().any(|r| r == "information-governance"),
            "{b}: {told:?}"
        );
        // The IT team answers for the governance team's parties.
        let party = json!({ "recipient": "information-governance" });
        let refused = staff.call(
            "POST",
            &format!("/api/v1/incidents/{id}/acknowledge"),
            &[],
            Some(party.clone()),
        );
        assert!(
            matches!(refused.status, 403 | 422),
            "{b}: staff answered for information governance: {} {}",
            refused.status,
            refused.body
        );
        let acknowledged = it.call(
            "POST",
            &format!("/api/v1/incidents/{id}/acknowledge"),
            &[],
            Some(party.clone()),
        );
        assert_eq!(acknowledged.status, 200, "{b}: {}", acknowledged.body);
        let notice = json_of(&acknowledged)["notifications"]
            .as_array()
            .and_then(|ns| {
                ns.iter()
                    .find(|n| n["recipient"] == "information-governance")
                    .cloned()
            })
            .unwrap_or_default();
        assert_eq!(notice["acknowledged_by"], "IT1", "{b}: {notice}");
        problem(
            &it.call(
                "POST",
                &format!("/api/v1/incidents/{id}/acknowledge"),
                &[],
                Some(party),
            ),
            422,
        );
        let early = it.call("POST", &format!("/api/v1/incidents/{id}/close"), &[], None);
        let early = problem(&early, 422);
        assert!(
            early["detail"]
                .as_str()
                .is_some_and(|d| d.contains("lacks effects")),
            "{b}: {early}"
        );
        let recorded = it.call(
            "POST",
            &format!("/api/v1/incidents/{id}/record"),
            &[],
            Some(json!({
                "effects": "One family's address disclosed",
                "remedial_action": "Recipient confirmed deletion",
                "ico_decision": "do-not-notify",
                "ico_reasons": "Unlikely to result in a risk to rights and freedoms",
            })),
        );
        assert_eq!(recorded.status, 200, "{b}: {}", recorded.body);
        let closed = it.call("POST", &format!("/api/v1/incidents/{id}/close"), &[], None);
        assert_eq!(closed.status, 200, "{b}: {}", closed.body);
        assert_eq!(
            json_of(&closed)["incident"]["state"],
            "closed",
            "{b}: {}",
            closed.body
        );
        problem(
            &it.call("POST", &format!("/api/v1/incidents/{id}/burn"), &[], None),
            404,
        );
        problem(&it.get("/api/v1/incidents/INC-999999"), 404);
        drop(server);
    }
}
