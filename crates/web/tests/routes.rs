//! Every route with every role: a table written here, independently of the server's own access
//! table, says who may use each; the test signs in as each role and walks every route.

mod support;

use steward_model::{Role, RoleGrant};
use steward_service::{Capacity, Stamp, Steward};
use steward_store::testing::databases;
use steward_web::access::{Access, ROUTES};
use support::{Server, account, person};

const ROLES: [&str; 7] = [
    "staff",
    "line_manager",
    "it",
    "governance",
    "iao",
    "auditor",
    "administrator",
];

/// Who may use each route, by role. Everyone with a person record is also staff.
fn expected(method: &str, path: &str) -> Option<&'static [&'static str]> {
    const ALL: &[&str] = &ROLES;
    // Everyone on the people register. The auditor's and administrator's accounts, made with a
    // role and no person, hold their role as a person of their own (roles live in the roles
    // register), so they are people too.
    const PEOPLE: &[&str] = &[
        "staff",
        "line_manager",
        "it",
        "governance",
        "iao",
        "auditor",
        "administrator",
    ];
    const ESTATE: &[&str] = &["it", "governance", "auditor", "administrator"];
    Some(match (method, path) {
        ("GET", "/" | "/policy" | "/calendar") => ALL,
        ("POST", "/calendar") => &["it", "administrator"],
        ("POST", "/logout") | ("POST", "/logout/everywhere") => ALL,
        ("GET", "/me")
        | ("POST", "/me/accept" | "/me/acknowledge" | "/me/digest" | "/me/exception") => PEOPLE,
        ("GET", "/team" | "/team.csv") => &["line_manager"],
        // S1's page, for M1, S1's manager.
        ("GET", "/team/{id}") => &["line_manager"],
        (
            "GET",
            "/dashboard"
            | "/findings"
            | "/findings.csv"
            | "/people"
            | "/people.csv"
            | "/assets"
            | "/assets.csv"
            | "/accounts"
            | "/accounts.csv"
            | "/register/{entity}/{id}"
            | "/registers"
            | "/registers/{name}"
            | "/policy/diff"
            | "/policy/frameworks",
        ) => ESTATE,
        ("POST", "/register/{entity}/{id}/{what}") => &["it", "administrator"],
        ("GET" | "POST", "/admin/sign-ins" | "/admin/organisation" | "/admin/webhooks")
        | ("GET", "/admin/webhooks/{id}") => &["administrator"],
        (
            "POST",
            "/policy/packs"
            | "/policy/parameters"
            | "/policy/staff-groups"
            | "/policy/details"
            | "/policy/copy",
        ) => &["governance", "administrator"],
        ("GET" | "POST", "/policy/import") => &["governance", "administrator"],
        ("GET" | "POST", "/policy/map") => &["it", "governance", "administrator"],
        ("GET", "/audit") => &["governance", "auditor", "administrator"],
        ("GET", "/healthz/detail") => &["it", "auditor", "administrator"],
        // Requests and incidents lists show each role its own share.
        ("GET", "/requests" | "/requests.csv" | "/incidents" | "/incidents.csv") => ALL,
        ("GET", "/requests/new") | ("POST", "/requests") => PEOPLE,
        ("GET" | "POST", "/account/password" | "/account/tokens")
        | ("POST", "/account/tokens/revoke") => ALL,
        // S1's request and incident: S1, their manager and the all-seeing roles; not the IAO.
        ("GET", "/requests/{id}" | "/incidents/{id}") => &[
            "staff",
            "line_manager",
            "it",
            "governance",
            "auditor",
            "administrator",
        ],
        ("POST", "/requests/{id}/{action}") => PEOPLE,
        // A finding about S1, likewise.
        ("GET", "/finding/{*key}") => &[
            "staff",
            "line_manager",
            "it",
            "governance",
            "auditor",
            "administrator",
        ],
        ("POST", "/exceptions" | "/incidents/{id}/handle") => &["it", "governance"],
        ("POST", "/checks") => &["it", "governance", "administrator"],
        ("GET", "/incidents/new") | ("POST", "/incidents" | "/incidents/{id}/acknowledge") => {
            PEOPLE
        }
        ("GET", "/governance" | "/governance.csv") => ESTATE,
        ("POST", "/governance/task-done") => &["it", "governance"],
        ("POST", "/governance/dispose") => &["it", "governance"],
        ("GET" | "POST", "/import") | ("GET", "/import/template/{register}") => {
            &["it", "administrator"]
        }
        // Connectors: the IT team and administrators, every page and form.
        ("GET" | "POST", "/connectors")
        | ("GET", "/connectors/{name}")
        | (
            "POST",
            "/connectors/{name}/test"
            | "/connectors/{name}/sync"
            | "/connectors/{name}/apply"
            | "/connectors/{name}/file"
            | "/connectors/{name}/mapping"
            | "/connectors/{name}/mapping/preview"
            | "/connectors/{name}/mapping/save"
            | "/connectors/{name}/resolve"
            | "/connectors/{name}/remove",
        ) => &["it", "administrator"],
        // Anyone signed in reaches the jobs pages; each sees only their own jobs.
        // The job here is the command line's: the IT team and administrators see every job;
        // only its requester or an administrator cancels it.
        ("GET", "/jobs") => ALL,
        ("GET", "/jobs/{id}" | "/jobs/{id}/errors.csv") => &["it", "administrator"],
        ("POST", "/jobs/{id}/cancel") => &["administrator"],
        _ => return None,
    })
}

/// Signs a role in on a fresh client with `code`.
fn signed_in(server: &Server, role: &str, code: &str) -> support::Client {
    let mut client = server.client();
    let reply = client.sign_in_with_code(&format!("{role}@example.org"), support::PASSWORD, code);
    assert_eq!(reply.status, 303, "{role}: {}", reply.body);
    client
}

/// What a page lacks for people using assistive technology: a language, a title, exactly one
/// main heading, and a label for every visible form control (by `for` and `id`).
fn accessibility_problems(html: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !html.contains("<html lang=\"en-GB\">") {
        problems.push("no page language".to_owned());
    }
    if !html.contains("<title>") {
        problems.push("no title".to_owned());
    }
    let h1 = html.matches("<h1").count();
    if h1 != 1 {
        problems.push(format!("{h1} main headings"));
    }
    for tag in ["<input", "<select", "<textarea"] {
        for control in html.split(tag).skip(1) {
            let attributes = control.split('>').next().unwrap_or_default();
            if attributes.contains("type=\"hidden\"") {
                continue;
            }
            let id = attributes
                .split("id=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next());
            match id {
                Some(id) if html.contains(&format!("for=\"{id}\"")) => {}
                Some(id) => problems.push(format!("{tag}> #{id} has no label")),
                None => problems.push(format!("{tag}> without an id: {attributes}")),
            }
        }
    }
    problems
}

#[test]
fn every_route_with_every_role() {
    for db in databases("web_routes") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = Stamp::now("test");
        for (id, manager) in [
            ("M1", None),
            ("S1", Some("M1")),
            ("IT1", None),
            ("G1", None),
            ("I1", None),
        ] {
            steward
                .create(&stamp, &person(id, &format!("Person {id}"), manager))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        for (id, role) in [
            ("IT1", Role::It),
            ("G1", Role::Governance),
            ("I1", Role::InformationAssetOwner),
        ] {
            steward
                .create(
                    &stamp,
                    &RoleGrant {
                        person_id: id.into(),
                        role,
                        granted_on: None,
                    },
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // Something of S1's to look at: a travel request and a phishing report.
        let mut travel = steward_workflow::Details::default();
        for (k, v) in [
            ("countries", "FR"),
            ("depart_on", "2027-01-04"),
            ("return_on", "2027-01-08"),
        ] {
            travel.set(k, v).unwrap_or_else(|e| panic!("{e}"));
        }
        let request = steward
            .open_request(
                &stamp,
                steward_model::RequestType::InternationalTravel,
                "S1",
                Some("S1"),
                travel,
                0,
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .request
            .id;
        let incident = steward
            .report_incident(
                &stamp,
                steward_model::IncidentType::Phishing,
                "S1",
                steward_workflow::Details::default(),
                steward_workflow::Reporting { window_hours: 24 },
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .incident
            .id;
        let finding = steward_model::Finding {
            pack: "test-pack".into(),
            version: "1".into(),
            clause: "1.1".into(),
            control: "c1".into(),
            subject: steward_model::Subject {
                kind: "person".into(),
                id: "S1".into(),
            },
            severity: "low".into(),
            message: "S1 has not done the thing".into(),
            message_you: None,
            clause_text: "Everyone does the thing.".into(),
            evidence: Default::default(),
            who_acts: "person".into(),
            due: None,
            undecided: None,
        };
        steward
            .record_findings(
                &stamp,
                &["test-pack".into()],
                vec![finding],
                &Default::default(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let (job, _) = steward
            .enqueue_check(&stamp, steward_service::CheckRun::Asked)
            .unwrap_or_else(|e| panic!("{e}"));
        let job = job.to_string();
        // A connector to reach: a mapped HR file's, which needs no source running.
        let hr = steward_connect::Definition::new(
            "hr",
            steward_connect::Kind::Csv,
            [(
                "profile".to_owned(),
                "name = \"hr\"\ntarget = \"people\"\n\n[columns]\nemail = \"Work Email\"\n"
                    .to_owned(),
            )]
            .into(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        steward
            .save_connector(&stamp, &hr, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let (webhook, _) = steward
            .subscribe_webhook(
                &stamp,
                "http://127.0.0.1:9/in",
                &["webhook.test".to_owned()],
                true,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let concrete = |path: &str| {
            if path.starts_with("/admin/webhooks/") {
                return path.replace("{id}", &webhook.id);
            }
            if path.starts_with("/connectors/") {
                return path.replace("{name}", "hr");
            }
            if path.starts_with("/team/") {
                return path.replace("{id}", "S1");
            }
            if path.starts_with("/register/") {
                return path
                    .replace("{entity}", "person")
                    .replace("{id}", "S1")
                    .replace("{what}", "status");
            }
            let id = if path.starts_with("/incidents") {
                &incident
            } else if path.starts_with("/jobs") {
                &job
            } else {
                &request
            };
            path.replace("{id}", id)
                .replace("{action}", "approve")
                .replace("{*key}", "test-pack/c1/person/S1")
                .replace("{name}", "roles")
                .replace("{register}", "people")
        };
        let secrets: Vec<(&'static str, String)> = vec![
            (
                "staff",
                account(&steward, "staff@example.org", Some("S1"), &[]),
            ),
            (
                "line_manager",
                account(&steward, "line_manager@example.org", Some("M1"), &[]),
            ),
            ("it", account(&steward, "it@example.org", Some("IT1"), &[])),
            (
                "governance",
                account(&steward, "governance@example.org", Some("G1"), &[]),
            ),
            ("iao", account(&steward, "iao@example.org", Some("I1"), &[])),
            (
                "auditor",
                account(&steward, "auditor@example.org", None, &[Capacity::Auditor]),
            ),
            (
                "administrator",
                account(
                    &steward,
                    "administrator@example.org",
                    None,
                    &[Capacity::Administrator],
                ),
            ),
        ];
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut anonymous = server.client();
        let mut failures = Vec::new();

        // A TOTP code is good once, and one step of drift is allowed: each role signs in with
        // this step's code, and once more with the next step's after the route that signs out.
        let mut clients: Vec<(&str, support::Client)> = secrets
            .iter()
            .map(|(role, secret)| (*role, signed_in(&server, role, &support::code_now(secret))))
            .collect();
        let mut routes: Vec<_> = ROUTES
            .iter()
            .filter(|r| r.access != Access::Public)
            .collect();
        // Signing out last: everywhere after here.
        routes.sort_by_key(|r| {
            (
                r.path.starts_with("/logout"),
                r.path == "/logout/everywhere",
            )
        });
        // A manager's page of a report opens for their own reports only: not for themselves,
        // not for someone who does not exist.
        for (role, client) in clients.iter_mut() {
            if *role == "line_manager" {
                for other in ["/team/M1", "/team/NOBODY", "/team/IT1"] {
                    let reply = client.get(other);
                    if reply.status != 404 {
                        failures.push(format!("{other} as line_manager: {}", reply.status));
                    }
                }
            }
        }
        for route in routes {
            let Some(allowed) = expected(route.method, route.path) else {
                failures.push(format!(
                    "{} {}: not in this test's table; say who may use it",
                    route.method, route.path
                ));
                continue;
            };
            for (role, client) in clients.iter_mut() {
                let path = concrete(route.path);
                let reply = match route.method {
                    "GET" => client.get(&path),
                    _ => client.submit("/policy", &path, &[]),
                };
                let signs_out = route.path.starts_with("/logout");
                // 403 refuses a route; a page of a record that is not the viewer's answers 404,
                // as one that does not exist does.
                let let_in = reply.status != 403
                    && !(route.method == "GET" && reply.status == 404)
                    && !(reply.status == 303 && reply.location() == "/login" && !signs_out);
                let should = allowed.contains(role);
                if let_in != should {
                    failures.push(format!(
                        "{} {} as {role}: got {} {}, expected {}",
                        route.method,
                        route.path,
                        reply.status,
                        reply.location(),
                        if should { "allowed" } else { "denied" }
                    ));
                }
                if reply.status == 200
                    && reply
                        .header("content-type")
                        .is_some_and(|t| t.starts_with("text/html"))
                {
                    for problem in accessibility_problems(&reply.body) {
                        failures.push(format!("{} as {role}: {problem}", route.path));
                    }
                }
                if should && route.method == "GET" && ![200, 303].contains(&reply.status) {
                    failures.push(format!("{} as {role}: status {}", route.path, reply.status));
                }
                if signs_out && route.path == "/logout" {
                    let secret = secrets
                        .iter()
                        .find(|(r, _)| r == role)
                        .map(|(_, s)| s.as_str())
                        .unwrap_or_default();
                    *client = signed_in(&server, role, &support::code_next(secret));
                }
            }
            // Nobody signed in is sent to sign in (a form post without a session is refused
            // the same way, before its token is even read).
            let path = concrete(route.path);
            let reply = match route.method {
                "GET" => anonymous.get(&path),
                _ => anonymous.post(&path, &[("csrf", "x")]),
            };
            if (reply.status, reply.location()) != (303, "/login") {
                failures.push(format!(
                    "{} {} anonymous: got {} {}",
                    route.method,
                    route.path,
                    reply.status,
                    reply.location()
                ));
            }
        }
        assert!(failures.is_empty(), "{b}:\n{}", failures.join("\n"));
    }
}
