//! A demo organisation as `steward serve --demo` fills it, for the tests that walk its pages.

use chrono::Utc;
use steward_model::{Person, PersonStatus, Role, RoleGrant};
use steward_policy::{Overrides, Pack};
use steward_service::{Capacity, ImportFile, Stamp, Steward};

/// A demo organisation of `people` as the register files `steward demo` writes, ready to import.
pub fn demo_files(people: usize) -> Vec<ImportFile> {
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people,
        seed: 1,
        today: Utc::now().date_naive(),
        usage_months: 3,
    });
    ImportFile::of_estate(&estate).unwrap_or_else(|e| panic!("{e}"))
}

/// The packs `serve --demo` runs.
pub fn packs() -> Vec<Pack> {
    ["cafcass-it-5.0", "cafcass-ia-4.3"]
        .iter()
        .map(|id| match steward_policy::builtin_pack(id) {
            Some(Ok(pack)) => pack,
            other => panic!("{id}: {:?}", other.map(|r| r.err())),
        })
        .collect()
}

/// A demo organisation as `steward serve --demo` fills it, and a sign-in per role: the role's
/// email and authenticator secret.
pub fn seed(steward: &Steward, packs: &[Pack]) -> Vec<(&'static str, String, String)> {
    seed_with(steward, packs, 150)
}

/// [`seed`] with a demo organisation of `people`.
pub fn seed_with(
    steward: &Steward,
    packs: &[Pack],
    people: usize,
) -> Vec<(&'static str, String, String)> {
    let files = demo_files(people);
    let stamp = Stamp::now("test");
    steward
        .import(&stamp, files)
        .unwrap_or_else(|e| panic!("import: {e}"));
    let refs: Vec<&Pack> = packs.iter().collect();
    // As a check job runs them: findings recorded, and where each policy stands.
    steward
        .check_and_record(&Stamp::now("test"), &refs, &Overrides::default())
        .unwrap_or_else(|e| panic!("checks: {e}"));

    let people: Vec<Person> = steward.list().unwrap_or_else(|e| panic!("{e}"));
    let roles: Vec<RoleGrant> = steward.list().unwrap_or_else(|e| panic!("{e}"));
    let active = |p: &&Person| p.status == PersonStatus::Active;
    let has_role = |id: &str| roles.iter().any(|g| g.person_id == id);
    let manages = |id: &str| {
        people
            .iter()
            .any(|p| p.manager_id.as_deref() == Some(id) && p.status != PersonStatus::Leaver)
    };
    let holder = |role: Role| {
        roles
            .iter()
            .filter(|g| g.role == role)
            .find_map(|g| people.iter().filter(active).find(|p| p.id == g.person_id))
    };
    let chosen: Vec<(&'static str, Option<&Person>, Vec<Capacity>)> = vec![
        (
            "staff",
            people
                .iter()
                .filter(active)
                .find(|p| !manages(&p.id) && !has_role(&p.id) && p.manager_id.is_some()),
            vec![],
        ),
        (
            "line_manager",
            people
                .iter()
                .filter(active)
                .find(|p| manages(&p.id) && !has_role(&p.id)),
            vec![],
        ),
        ("it", holder(Role::It), vec![]),
        ("governance", holder(Role::Governance), vec![]),
        ("iao", holder(Role::InformationAssetOwner), vec![]),
        ("auditor", None, vec![Capacity::Auditor]),
        ("administrator", None, vec![Capacity::Administrator]),
        // An account that is no one on the registers and holds no role: it may sign in and
        // must meet no link it cannot follow either.
        ("account_only", None, vec![]),
    ];
    let mut out = Vec::new();
    for (role, person, capacities) in chosen {
        assert!(
            person.is_some() || !capacities.is_empty() || role == "account_only",
            "the demo has no one in the role {role}"
        );
        let email = format!("{}@crawl.example.org", role.replace('_', "-"));
        steward
            .add_sign_in(
                &stamp,
                &email,
                &format!("Crawl {role}"),
                person.map(|p| p.id.as_str()),
                super::PASSWORD,
                &capacities,
            )
            .unwrap_or_else(|e| panic!("{role}: {e}"));
        let secret = steward
            .enrol_authenticator(&stamp, &email)
            .unwrap_or_else(|e| panic!("{role}: {e}"));
        out.push((role, email, secret));
    }
    out
}

/// A demo organisation on `db`, the real server over it, and a client signed in as `role` (one
/// of the roles [`seed`] makes), with the service for reading what the pages should show.
pub fn serve_as(
    db: &steward_store::testing::TestDatabase,
    role: &str,
) -> (super::Server, super::Client, Steward) {
    let b = db.backend;
    let packs = packs();
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
    let logins = seed(&steward, &packs);
    let server = super::Server::start(
        &db.url,
        steward_web::Options {
            packs,
            ..Default::default()
        },
    );
    let (_, email, secret) = logins
        .iter()
        .find(|(r, _, _)| *r == role)
        .unwrap_or_else(|| panic!("{b}: no {role} sign-in"));
    let mut client = server.client();
    let reply = client.sign_in(email, super::PASSWORD, secret);
    assert_eq!(reply.status, 303, "{b}: {role} signs in: {}", reply.body);
    (server, client, steward)
}
