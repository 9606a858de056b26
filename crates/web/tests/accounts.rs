//! The administrator links an account to its person on the sign-ins page: the account's roles
//! follow it to the person, and the person's own page is then theirs — on every test database.

mod support;

use steward_service::{Capacity, Stamp, Steward};
use steward_store::testing::databases;
use support::{Server, account, person};

#[test]
fn an_account_is_linked_to_its_person_on_the_sign_ins_page() {
    for db in databases("web_link_account") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let stamp = Stamp::now("test");
        steward
            .create(&stamp, &person("P1", "Priya Person", None))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let admin = account(
            &steward,
            "admin@example.org",
            None,
            &[Capacity::Administrator],
        );
        // An IT account made before the people were imported: a person of its own holds IT.
        account(&steward, "it@example.org", None, &[Capacity::It]);
        let before = steward
            .viewer("it@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_ne!(before.person_id.as_deref(), Some("P1"), "{b}");
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut a = server.client();
        a.sign_in("admin@example.org", support::PASSWORD, &admin);
        let linked = a.submit(
            "/admin/sign-ins",
            "/admin/sign-ins",
            &[
                ("email", "it@example.org"),
                ("act", "link"),
                ("person_id", "P1"),
            ],
        );
        assert_eq!(linked.status, 200, "{b}: {}", linked.body);
        let after = steward
            .viewer("it@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(after.person_id.as_deref(), Some("P1"), "{b}");
        assert!(
            after.is(Capacity::It) && after.is(Capacity::Staff),
            "{b}: {after:?}"
        );
        // Nobody else may take P1's account.
        let again = a.submit(
            "/admin/sign-ins",
            "/admin/sign-ins",
            &[
                ("email", "admin@example.org"),
                ("act", "link"),
                ("person_id", "P1"),
            ],
        );
        assert!(again.status >= 400, "{b}: {}", again.status);
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}
