//! Choosing the policies the organisation runs: none on a fresh installation; the governance team
//! runs one on the Policies page, the choice kept in the database and audited, and the dashboard,
//! the living policy and the checks follow it; a configuration that names the packs leaves
//! nothing to choose — on every test database.

mod support;

use steward_model::{Role, RoleGrant};
use steward_service::{Stamp, Steward};
use steward_store::testing::databases;
use support::{Server, account, person};

fn builtin(id: &str) -> steward_policy::Pack {
    match steward_policy::builtin_pack(id) {
        Some(Ok(pack)) => pack,
        other => panic!("{id}: {:?}", other.map(|r| r.err())),
    }
}

#[test]
fn the_organisation_chooses_its_policies_on_screen() {
    let available = vec![builtin("cafcass-it-5.0"), builtin("pip-it")];
    for db in databases("web_policies") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let stamp = Stamp::now("test");
        for (id, name) in [("G1", "Gita Governance"), ("S1", "Sam Staff")] {
            steward
                .create(&stamp, &person(id, name, None))
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        steward
            .create(
                &stamp,
                &RoleGrant {
                    person_id: "G1".into(),
                    role: Role::Governance,
                    granted_on: None,
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let governance = account(&steward, "g1@example.org", Some("G1"), &[]);
        let staff = account(&steward, "s1@example.org", Some("S1"), &[]);
        assert!(steward.active_pack_ids().unwrap().is_empty(), "{b}");
        let server = Server::start(
            &db.url,
            steward_web::Options {
                available: available.clone(),
                ..Default::default()
            },
        );

        let mut g = server.client();
        g.sign_in("g1@example.org", support::PASSWORD, &governance);
        let dashboard = g.get("/dashboard");
        assert!(
            dashboard.body.contains("id=\"no-policy\""),
            "{b}: a fresh installation runs nothing: {}",
            dashboard.body
        );
        let policies = g.get("/policy");
        for pack in &available {
            assert!(
                policies
                    .body
                    .contains(&format!("id=\"pack-{}-activate\"", pack.id)),
                "{b}: {} offered",
                pack.id
            );
        }
        // Staff see what is in force, and nothing to choose.
        let mut s = server.client();
        s.sign_in("s1@example.org", support::PASSWORD, &staff);
        assert!(!s.get("/policy").body.contains("pack-choice-"), "{b}");
        let refused = s.submit(
            "/policy",
            "/policy/packs",
            &[("pack", "cafcass-it-5.0"), ("active", "yes")],
        );
        assert_eq!(refused.status, 403, "{b}");

        // Governance runs one: kept, audited, and the pages follow.
        let chosen = g.submit(
            "/policy",
            "/policy/packs",
            &[("pack", "cafcass-it-5.0"), ("active", "yes")],
        );
        assert_eq!(chosen.status, 303, "{b}: {}", chosen.body);
        assert_eq!(
            steward.active_pack_ids().unwrap(),
            ["cafcass-it-5.0"],
            "{b}"
        );
        let policies = g.get("/policy");
        assert!(
            policies
                .body
                .contains("id=\"pack-cafcass-it-5.0-deactivate\"")
                && policies.body.contains("id=\"pack-pip-it-activate\""),
            "{b}"
        );
        assert!(
            !g.get("/dashboard").body.contains("id=\"no-policy\""),
            "{b}"
        );
        let mut actions = Vec::new();
        steward
            .audit_log(&steward_store::AuditQuery::default(), &mut |r| {
                if r.entity_type == steward_store::PACK_ENTITY {
                    actions.push((r.action.clone(), r.entity_id.clone(), r.actor.clone()));
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            actions,
            [(
                "activate".to_owned(),
                "cafcass-it-5.0".to_owned(),
                "web:g1@example.org".to_owned()
            )],
            "{b}"
        );
        // A pack the server does not know cannot be run; nothing changes.
        let unknown = g.submit(
            "/policy",
            "/policy/packs",
            &[("pack", "no-such-pack"), ("active", "yes")],
        );
        assert!(
            unknown.status >= 400 && unknown.status < 500,
            "{b}: {}",
            unknown.status
        );
        assert_eq!(
            steward.active_pack_ids().unwrap(),
            ["cafcass-it-5.0"],
            "{b}"
        );
        // Set aside again.
        let aside = g.submit(
            "/policy",
            "/policy/packs",
            &[("pack", "cafcass-it-5.0"), ("active", "no")],
        );
        assert_eq!(aside.status, 303, "{b}");
        assert!(steward.active_pack_ids().unwrap().is_empty(), "{b}");
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));

        // A configuration that names the packs: they run, and nobody chooses on screen.
        let server = Server::start(
            &db.url,
            steward_web::Options {
                packs: vec![builtin("cafcass-it-5.0")],
                available: available.clone(),
                ..Default::default()
            },
        );
        // The session lives in the database: the same cookie signs in to the new server (a
        // second sign-in in the same half minute would be a replayed code).
        let cookies = g.cookies.clone();
        let mut g = server.client();
        g.cookies = cookies;
        let policies = g.get("/policy");
        assert!(
            policies.body.contains("steward.toml"),
            "{b}: {}",
            policies.body
        );
        assert!(!policies.body.contains("-activate\""), "{b}");
        let refused = g.submit(
            "/policy",
            "/policy/packs",
            &[("pack", "pip-it"), ("active", "yes")],
        );
        assert_eq!(refused.status, 400, "{b}");
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// A policy document from the document crate's test set: a Word file whose numbers are all
/// automatic.
fn document(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../document/tests/documents")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_organisation_imports_its_own_policy_document_on_screen() {
    let available = vec![builtin("pip-it")];
    let docx = document("meadow.docx");
    for db in databases("web_policy_import") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let stamp = Stamp::now("test");
        for (id, name) in [("G1", "Gita Governance"), ("S1", "Sam Staff")] {
            steward
                .create(&stamp, &person(id, name, None))
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        steward
            .create(
                &stamp,
                &RoleGrant {
                    person_id: "G1".into(),
                    role: Role::Governance,
                    granted_on: None,
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let governance = account(&steward, "g1@example.org", Some("G1"), &[]);
        let staff = account(&steward, "s1@example.org", Some("S1"), &[]);
        let server = Server::start(
            &db.url,
            steward_web::Options {
                available: available.clone(),
                ..Default::default()
            },
        );
        let mut g = server.client();
        g.sign_in("g1@example.org", support::PASSWORD, &governance);
        assert!(
            g.get("/policy").body.contains("id=\"import-policy-link\""),
            "{b}"
        );

        // The document names no approver and no organisation: both are asked for, beside their
        // fields, and nothing is kept.
        let asked = g.upload(
            "/policy/import",
            "/policy/import",
            &[],
            &[("document", "Meadow device policy.docx", &docx)],
        );
        assert_eq!(asked.status, 422, "{b}: {}", asked.body);
        for field in ["approver", "organisation"] {
            assert!(
                asked.body.contains(&format!("id=\"field-{field}-error\"")),
                "{b}: {field}: {}",
                asked.body
            );
        }
        assert!(!asked.body.contains("id=\"field-version-error\""), "{b}");
        assert!(steward.own_packs().unwrap().is_empty(), "{b}");

        let imported = g.upload(
            "/policy/import",
            "/policy/import",
            &[
                ("approver", "Board of Trustees"),
                ("organisation", "Meadow Trust"),
            ],
            &[("document", "Meadow device policy.docx", &docx)],
        );
        assert_eq!(imported.status, 303, "{b}: {}", imported.body);
        assert_eq!(
            imported.location(),
            "/policy/import?pack=meadow-trust-device-policy-1.4#imported",
            "{b}"
        );
        let shown = g.get("/policy/import?pack=meadow-trust-device-policy-1.4");
        assert_eq!(shown.status, 200, "{b}");
        for expected in [
            "<td>1.2(b)</td>",
            "<td>Laptops and phones</td>",
            "Out of hours, use the emergency number on the intranet.",
            "id=\"pack-meadow-trust-device-policy-1.4-activate\"",
        ] {
            assert!(
                shown.body.contains(expected),
                "{b}: {expected}: {}",
                shown.body
            );
        }
        let own = steward.own_packs().unwrap();
        assert_eq!(own.len(), 1, "{b}");
        assert_eq!(own[0].approver, "Board of Trustees", "{b}");
        assert_eq!(own[0].clauses.len(), 7, "{b}");

        // The same document again takes an id already taken: refused beside the id.
        let again = g.upload(
            "/policy/import",
            "/policy/import",
            &[
                ("approver", "Board of Trustees"),
                ("organisation", "Meadow Trust"),
            ],
            &[("document", "Meadow device policy.docx", &docx)],
        );
        assert_eq!(again.status, 422, "{b}");
        assert!(
            again.body.contains("id=\"field-id-error\""),
            "{b}: {}",
            again.body
        );

        // Not a document Steward reads: refused beside the file, nothing kept.
        let refused = g.upload(
            "/policy/import",
            "/policy/import",
            &[("organisation", "Meadow Trust"), ("id", "scan-1")],
            &[("document", "scan.docx", b"not a word document")],
        );
        assert_eq!(refused.status, 422, "{b}");
        assert!(refused.body.contains("id=\"field-document-error\""), "{b}");
        assert_eq!(steward.own_packs().unwrap().len(), 1, "{b}");

        // Staff may neither see the form nor post it.
        let mut s = server.client();
        s.sign_in("s1@example.org", support::PASSWORD, &staff);
        assert_eq!(s.get("/policy/import").status, 403, "{b}");
        let csrf = s.get("/policy").csrf();
        let posted = s.post_multipart(
            "/policy/import",
            &[
                ("csrf", csrf.as_str()),
                ("organisation", "X"),
                ("approver", "Y"),
            ],
            &[("document", "p.docx", &docx)],
        );
        assert_eq!(posted.status, 403, "{b}");

        // Owner, approver and review date changed on screen; the review date is the governance
        // page's review task.
        let changed = g.submit(
            "/policy/import?pack=meadow-trust-device-policy-1.4",
            "/policy/details",
            &[
                ("pack", "meadow-trust-device-policy-1.4"),
                ("owner", "Head of Operations"),
                ("approver", "Board of Trustees"),
                ("approved_on", "2025-09-09"),
                ("next_review", "2026-01-31"),
            ],
        );
        assert_eq!(changed.status, 303, "{b}: {}", changed.body);
        let own = steward.own_packs().unwrap();
        assert_eq!(own[0].owner, "Head of Operations", "{b}");
        assert_eq!(
            own[0].next_review,
            chrono::NaiveDate::from_ymd_opt(2026, 1, 31),
            "{b}"
        );
        let governance = g.get("/governance");
        assert!(
            governance
                .body
                .contains("meadow-trust-device-policy-1.4 version 1.4"),
            "{b}: the review task: {}",
            governance.body
        );

        // An expert writes the rule: checked as the loader checks it, its errors beside it.
        let map = "/policy/map?pack=meadow-trust-device-policy-1.4&clause=1.2%28a%29&control=devices-encrypted";
        let form = g.get(map);
        assert!(
            form.body.contains("id=\"field-rule\""),
            "{b}: {}",
            form.body
        );
        let fields = |rule: &'static str| {
            vec![
                ("pack", "meadow-trust-device-policy-1.4"),
                ("clause", "1.2(a)"),
                ("control", "devices-encrypted"),
                ("severity", "high"),
                ("scope-asset_kinds", "laptop"),
                ("rule", rule),
                ("action", "save"),
            ]
        };
        let bad = g.submit(map, "/policy/map", &fields("asset.encrypted == "));
        assert_eq!(bad.status, 422, "{b}: {}", bad.body);
        assert!(
            bad.body.contains("id=\"field-rule-error\""),
            "{b}: {}",
            bad.body
        );
        let good = g.submit(
            map,
            "/policy/map",
            &fields("asset.encrypted == true && asset.pin_set == true"),
        );
        assert_eq!(good.status, 303, "{b}: {}", good.body);
        let own = steward.own_packs().unwrap();
        match &own[0].control("devices-encrypted").map(|c| &c.kind) {
            Some(steward_policy::ControlKind::Check(check)) => assert_eq!(
                check.rule.text, "asset.encrypted == true && asset.pin_set == true",
                "{b}"
            ),
            other => panic!("{b}: {other:?}"),
        }

        // A preview is counted by a job: the page says so, shows the choices it was asked
        // with, and reloads itself until the count is in — the count the service gives.
        let mut asked = fields("asset.encrypted == true");
        asked.retain(|(name, _)| *name != "action");
        asked.push(("action", "preview"));
        let queued = g.submit(map, "/policy/map", &asked);
        assert_eq!(queued.status, 303, "{b}: {}", queued.body);
        let waiting = queued.location();
        assert!(waiting.contains("&preview="), "{b}: {waiting}");
        let started = std::time::Instant::now();
        let counted = loop {
            let page = g.get(waiting);
            assert_eq!(page.status, 200, "{b}: {}", page.body);
            assert!(
                page.body.contains("asset.encrypted == true"),
                "{b}: the rule asked with"
            );
            if page.body.contains("id=\"map-preview\"") {
                break page.body;
            }
            assert!(
                page.body.contains("id=\"map-preview-counting\"")
                    && page.body.contains("http-equiv=\"refresh\""),
                "{b}: {}",
                page.body
            );
            assert!(
                started.elapsed().as_secs() < 60,
                "{b}: the preview never came"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        let choices = steward_policy::library::MapChoices {
            severity: Some("high".into()),
            scope: [("asset_kinds".to_owned(), vec!["laptop".to_owned()])].into(),
            rule: Some("asset.encrypted == true".into()),
            ..Default::default()
        };
        let expected = steward
            .map_clause(
                &Stamp::now("system:test"),
                "meadow-trust-device-policy-1.4",
                "1.2(a)",
                "devices-encrypted",
                &choices,
                false,
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .findings;
        assert!(
            counted.contains(&format!("raise <strong>{expected}</strong> finding")),
            "{b}: {expected}: {counted}"
        );
        assert!(
            !counted.contains("http-equiv=\"refresh\""),
            "{b}: done, no reload"
        );
        // The preview kept nothing: the rule saved before is still the rule.
        match &steward.own_packs().unwrap()[0]
            .control("devices-encrypted")
            .map(|c| &c.kind)
        {
            Some(steward_policy::ControlKind::Check(check)) => assert_eq!(
                check.rule.text, "asset.encrypted == true && asset.pin_set == true",
                "{b}"
            ),
            other => panic!("{b}: {other:?}"),
        }
        // Another mapping's page does not show this job; staff cannot see it at all.
        let elsewhere = waiting.replace("clause=1.2%28a%29", "clause=1.1");
        assert_eq!(g.get(&elsewhere).status, 404, "{b}: {elsewhere}");
        assert_eq!(s.get(waiting).status, 403, "{b}");

        // Run it: the living policy shows its clauses, and the import is in the audit log.
        let run = g.submit(
            "/policy/import?pack=meadow-trust-device-policy-1.4",
            "/policy/packs",
            &[
                ("pack", "meadow-trust-device-policy-1.4"),
                ("active", "yes"),
            ],
        );
        assert_eq!(run.status, 303, "{b}: {}", run.body);
        assert_eq!(
            steward.active_pack_ids().unwrap(),
            ["meadow-trust-device-policy-1.4"],
            "{b}"
        );
        let living = g.get("/policy");
        assert!(
            living.body.contains("Meadow Trust Device Policy")
                && living.body.contains("encrypt the disk of every laptop;"),
            "{b}"
        );
        let mut imports = Vec::new();
        steward
            .audit_log(&steward_store::AuditQuery::default(), &mut |r| {
                if r.entity_type == steward_store::PACK_DOCUMENT_ENTITY {
                    imports.push((r.action.clone(), r.entity_id.clone(), r.actor.clone()));
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            imports,
            [
                (
                    "import".to_owned(),
                    "meadow-trust-device-policy-1.4".to_owned(),
                    "web:g1@example.org".to_owned()
                ),
                (
                    "update".to_owned(),
                    "meadow-trust-device-policy-1.4".to_owned(),
                    "web:g1@example.org".to_owned()
                ),
                (
                    "update".to_owned(),
                    "meadow-trust-device-policy-1.4".to_owned(),
                    "web:g1@example.org".to_owned()
                )
            ],
            "{b}"
        );
    }
}

/// The demo organisation's policies against Cyber Essentials and ISO 27001: what its checks
/// evidence, what they find failing (linked to exactly those findings), and what nothing in the
/// registers speaks to — said as such, never as a pass.
#[test]
fn cyber_essentials_and_iso_27001_as_the_demo_stands() {
    let db = steward_store::testing::sqlite("web_frameworks");
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
    let packs = support::demo::packs();
    let logins = support::demo::seed(&steward, &packs);
    let server = Server::start(
        &db.url,
        steward_web::Options {
            packs,
            ..Default::default()
        },
    );
    let login = |role: &str| {
        logins
            .iter()
            .find(|(r, _, _)| *r == role)
            .cloned()
            .unwrap_or_else(|| panic!("no {role} in the demo"))
    };
    let (_, email, secret) = login("governance");
    let mut g = server.client();
    g.sign_in(&email, support::PASSWORD, &secret);
    let page = g.get("/policy/frameworks");
    assert_eq!(page.status, 200, "{}", page.body);
    let row = |id: &str| -> String {
        let start = page
            .body
            .find(&format!("id=\"requirement-{id}\""))
            .unwrap_or_else(|| panic!("no row {id}"));
        let end = page.body[start..]
            .find("</tr>")
            .map_or(page.body.len(), |e| start + e);
        page.body[start..end].to_owned()
    };
    // Nothing the registers hold speaks to firewalls or malware protection.
    for id in ["CE-firewalls", "CE-malware-protection", "A.8.7", "A.8.20"] {
        assert!(
            row(id).contains("standing-not-evidenced"),
            "{id}: {}",
            row(id)
        );
    }
    // The demo's MFA gaps fail user access control, linked to exactly those findings.
    let access = row("CE-user-access-control");
    assert!(access.contains("standing-failing"), "{access}");
    assert!(
        access.contains("href=\"/findings?pack=cafcass-it-5.0&#38;control=mfa-where-supported\""),
        "{access}"
    );
    let failing = steward
        .findings(&steward_service::FindingQuery {
            control: Some("mfa-where-supported".into()),
            ..steward_service::FindingQuery::default()
        })
        .unwrap_or_default()
        .len();
    assert!(
        access.contains(&format!(
            "cafcass-it-5.0/mfa-where-supported: {failing} failing"
        )),
        "{failing}: {access}"
    );
    assert!(
        page.body
            .contains("Steward cannot say this would pass today."),
        "{}",
        page.body
    );
    // Staff do not see it.
    let (_, email, secret) = login("staff");
    let mut s = server.client();
    s.sign_in(&email, support::PASSWORD, &secret);
    assert_eq!(s.get("/policy/frameworks").status, 403);
}

/// A parameter changed on the Policies page: the reason required, the value kept in the database
/// (audited) from the day chosen, shown beside the policy's own and in the history, and the
/// findings following once the checks have run again; set back to the policy's own value.
#[test]
fn the_governance_team_changes_a_parameter_on_screen_and_the_findings_follow() {
    const CONTROL: &str = "laptop-connected-within-14-days";
    let db = steward_store::testing::sqlite("web_parameters");
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
    let packs = support::demo::packs();
    let logins = support::demo::seed(&steward, &packs);
    let server = Server::start(
        &db.url,
        steward_web::Options {
            available: packs,
            ..Default::default()
        },
    );
    for id in ["cafcass-it-5.0", "cafcass-ia-4.3"] {
        steward
            .set_pack_active(&Stamp::now("test"), id, true, &support::demo::packs())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let failing = || {
        steward
            .findings(&steward_service::FindingQuery {
                control: Some(CONTROL.into()),
                ..steward_service::FindingQuery::default()
            })
            .map(|f| f.iter().filter(|f| f.state.is_failing()).count())
            .unwrap_or(usize::MAX)
    };
    let before = failing();
    assert!(
        before > 0,
        "the demo has laptops offline for more than 14 days"
    );
    let (_, email, secret) = logins
        .iter()
        .find(|(r, _, _)| *r == "governance")
        .cloned()
        .unwrap_or_else(|| panic!("no governance in the demo"));
    let mut g = server.client();
    g.sign_in(&email, support::PASSWORD, &secret);
    let page = g.get("/policy");
    assert!(
        page.body
            .contains("id=\"field-value-1-laptop_offline_days\""),
        "the parameter has its form"
    );
    // A reason is required; nothing changes without one.
    let refused = g.submit(
        "/policy",
        "/policy/parameters",
        &[
            ("name", "laptop_offline_days"),
            ("value", "60"),
            ("reason", ""),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(steward.parameter_history().unwrap().is_empty());
    let wrong = g.submit(
        "/policy",
        "/policy/parameters",
        &[
            ("name", "laptop_offline_days"),
            ("value", "two months"),
            ("reason", "x"),
        ],
    );
    assert_eq!(wrong.status, 422, "{}", wrong.body);

    let changed = g.submit(
        "/policy",
        "/policy/parameters",
        &[
            ("name", "laptop_offline_days"),
            ("value", "60"),
            ("reason", "staff work from home for weeks at a time"),
        ],
    );
    assert_eq!(changed.status, 303, "{}", changed.body);
    let history = steward.parameter_history().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].value.as_deref(), Some("60"));
    let page = g.get("/policy");
    assert!(
        page.body.contains(
            "60 days <span class=\"hint\">(set by the organisation; the policy says 14 days)"
        ),
        "both values side by side"
    );
    assert!(
        page.body
            .contains("staff work from home for weeks at a time"),
        "the history gives the reason"
    );
    // The checks run again as a job: the findings follow.
    let started = std::time::Instant::now();
    while failing() >= before && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let after = failing();
    assert!(
        after < before,
        "60 days finds fewer than 14: {after} < {before}"
    );
    let mut audited = Vec::new();
    steward
        .audit_log(&steward_store::AuditQuery::default(), &mut |r| {
            if r.entity_type == steward_store::PARAMETER_ENTITY {
                audited.push((r.action.clone(), r.actor.clone()));
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].0, "set");

    // A staff group changed on screen: every field as the form states it, checked against the
    // pack, kept with its reason beside the parameters, and set back.
    assert!(
        page.body.contains("id=\"field-group-devices-1-fca\""),
        "the group has its form"
    );
    let group = |devices: &'static str, hardware: &'static str| {
        vec![
            ("group", "fca"),
            ("name", "Family Court Advisers"),
            ("devices", devices),
            ("hardware", hardware),
            ("reason", "tablets for court visits"),
        ]
    };
    for (devices, hardware, says) in [
        ("laptop tablet", "yes", "separate devices with commas"),
        ("laptop, hovercraft", "yes", "hovercraft"),
        ("laptop", "no", "hardware"),
    ] {
        let refused = g.submit("/policy", "/policy/staff-groups", &group(devices, hardware));
        assert_eq!(refused.status, 422, "{devices}: {}", refused.body);
        assert!(
            refused.body.contains(says),
            "{devices}: {says}: {}",
            refused.body
        );
    }
    assert_eq!(
        steward.parameter_history().unwrap().len(),
        1,
        "nothing kept"
    );
    let changed = g.submit(
        "/policy",
        "/policy/staff-groups",
        &group("laptop, smartphone or voice_phone, 2 tablet", "yes"),
    );
    assert_eq!(changed.status, 303, "{}", changed.body);
    let page = g.get("/policy");
    assert!(
        page.body.contains(
            "<td>laptop, smartphone or voice_phone, 2 tablet</td><td>the organisation provides hardware</td>"
        ) && page.body.contains("(fca); set by the organisation"),
        "the group as the organisation runs it: {}",
        page.body
    );
    assert!(page.body.contains("staff_groups.fca"), "in the history");
    let today = steward.local_date(chrono::Utc::now()).unwrap();
    let in_force = steward
        .overrides_in_force(&steward_policy::Overrides::default(), today)
        .unwrap();
    assert_eq!(
        in_force.staff_groups["fca"].devices.as_ref().map(Vec::len),
        Some(3),
        "what the checks run with"
    );
    let reset = g.submit(
        "/policy",
        "/policy/staff-groups",
        &[("group", "fca"), ("reset", "yes"), ("reason", "trial over")],
    );
    assert_eq!(reset.status, 303, "{}", reset.body);
    let in_force = steward
        .overrides_in_force(&steward_policy::Overrides::default(), today)
        .unwrap();
    assert!(in_force.staff_groups.is_empty(), "back to the pack's group");
    assert!(
        g.get("/policy")
            .body
            .contains("<td>laptop, smartphone</td><td>the organisation provides hardware</td>"),
        "the pack's own devices again"
    );

    // Staff may not.
    let (_, email, secret) = logins
        .iter()
        .find(|(r, _, _)| *r == "staff")
        .cloned()
        .unwrap_or_else(|| panic!("no staff in the demo"));
    let mut s = server.client();
    s.sign_in(&email, support::PASSWORD, &secret);
    assert!(!s.get("/policy").body.contains("field-value-"));
    let refused = s.submit(
        "/policy",
        "/policy/parameters",
        &[
            ("name", "laptop_offline_days"),
            ("value", "1"),
            ("reason", "x"),
        ],
    );
    assert_eq!(refused.status, 403);
    let refused = s.submit(
        "/policy",
        "/policy/staff-groups",
        &[("group", "fca"), ("devices", "laptop"), ("reason", "x")],
    );
    assert_eq!(refused.status, 403);
    assert!(!s.get("/policy").body.contains("field-group-"));
}

/// A built-in policy copied on screen as the organisation's own, its clauses then mapped like an
/// imported one's; the copy keeps every clause and names itself in its rules.
#[test]
fn a_built_in_policy_is_copied_to_be_mapped_and_changed() {
    let db = steward_store::testing::sqlite("web_policy_copy");
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
    let stamp = Stamp::now("test");
    steward
        .create(&stamp, &person("G1", "Gita Governance", None))
        .unwrap_or_else(|e| panic!("{e}"));
    steward
        .create(
            &stamp,
            &RoleGrant {
                person_id: "G1".into(),
                role: Role::Governance,
                granted_on: None,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let governance = account(&steward, "g1@example.org", Some("G1"), &[]);
    let server = Server::start(
        &db.url,
        steward_web::Options {
            available: vec![builtin("pip-it")],
            ..Default::default()
        },
    );
    let mut g = server.client();
    g.sign_in("g1@example.org", support::PASSWORD, &governance);
    assert!(g.get("/policy").body.contains("id=\"copy-pip-it\""));
    let copied = g.submit("/policy", "/policy/copy", &[("pack", "pip-it")]);
    assert_eq!(copied.status, 303, "{}", copied.body);
    assert_eq!(copied.location(), "/policy/import?pack=pip-it-own#imported");
    let own = steward.own_packs().unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].id, "pip-it-own");
    assert_eq!(own[0].clauses.len(), builtin("pip-it").clauses.len());
    // A second copy takes the next free id; a pack that is not built in is refused.
    let again = g.submit("/policy", "/policy/copy", &[("pack", "pip-it")]);
    assert_eq!(
        again.location(),
        "/policy/import?pack=pip-it-own-2#imported"
    );
    let refused = g.submit("/policy", "/policy/copy", &[("pack", "pip-it-own")]);
    assert_eq!(refused.status, 400, "{}", refused.body);
    let page = g.get("/policy/map?pack=pip-it-own&clause=2.1");
    assert_eq!(page.status, 200, "{}", page.body);
}
