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
