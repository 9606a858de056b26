//! What every front end is refused, said in plain words, on each backend: text past its field's
//! limit (the organisation's name, an account's name, any field set as `steward register set`
//! does) changes nothing; a blank required value, a duplicate account and a bad address say what
//! is wrong rather than how it is stored.

use steward_model::*;
use steward_service::{Capacity, ServiceError, SignInRefused, Stamp, Steward};
use steward_store::testing::databases;

const PASSWORD: &str = "a long and unusual passphrase";

fn person(id: &str) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: None,
        staff_group: "fca".into(),
        manager_id: None,
        budget_centre: None,
        status: PersonStatus::Active,
        start_date: None,
        leave_date: None,
        clearance: None,
        clearance_expires: None,
        byod: None,
        weekly_digest: None,
        job_title: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

#[test]
fn over_long_text_is_refused_and_changes_nothing() {
    let long = "x".repeat(20_000);
    for db in databases("limits_text") {
        let b = db.backend;
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let admin = Stamp::now("cli:test");
        s.create(&admin, &person("P1"))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let head = s
            .store()
            .audit_head()
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        let refused = s.set_organisation(
            &admin,
            Organisation {
                id: Organisation::ID.into(),
                name: long.clone(),
                time_zone: "Europe/London".into(),
                compliance_green: None,
                compliance_amber: None,
            },
        );
        match refused {
            Err(ServiceError::Invalid { problems, .. }) => {
                assert_eq!(problems.len(), 1, "{b}: {problems:?}");
                assert_eq!(problems[0].field, "name", "{b}");
                assert_eq!(
                    problems[0].reason, "too long (20000 characters; at most 200)",
                    "{b}"
                );
                // The value is cut short where it is shown, not repeated whole.
                assert!(problems[0].to_string().len() < 200, "{b}");
            }
            other => panic!("{b}: an over-long name: {other:?}"),
        }
        assert_eq!(
            s.organisation().unwrap_or_else(|e| panic!("{b}: {e}")).name,
            "My organisation",
            "{b}"
        );

        let set = s.set_fields(
            &admin,
            Register::People,
            "P1",
            &[("name".to_owned(), long.clone())],
        );
        assert!(
            matches!(&set, Err(ServiceError::Invalid { problems, .. })
                if problems[0].reason.starts_with("too long (20000 characters")),
            "{b}: {set:?}"
        );

        // An account's name becomes its person's name: the same limit, checked before anything
        // is saved, whether the account names a person or one is made for its roles.
        for (email, person_id, roles) in [
            ("p1@example.org", Some("P1"), &[][..]),
            ("it@example.org", None, &[Capacity::It][..]),
        ] {
            let added = s.add_sign_in(&admin, email, &long, person_id, PASSWORD, roles);
            match &added {
                Err(ServiceError::SignIn(SignInRefused::BadName(reason))) => assert_eq!(
                    reason, "too long (20000 characters; at most 200)",
                    "{b}: {email}"
                ),
                other => panic!("{b}: {email}: an over-long name: {other:?}"),
            }
            assert_eq!(
                added.map_err(|e| e.to_string()).unwrap_err(),
                "name: too long (20000 characters; at most 200)",
                "{b}"
            );
            assert!(
                s.store()
                    .sign_in(email)
                    .unwrap_or_else(|e| panic!("{b}: {e}"))
                    .is_none(),
                "{b}: {email} was saved"
            );
        }
        assert_eq!(
            s.store()
                .audit_head()
                .unwrap_or_else(|e| panic!("{b}: {e}")),
            head,
            "{b}: a refusal wrote to the audit log"
        );
        assert_eq!(
            s.store()
                .count(Register::People)
                .unwrap_or_else(|e| panic!("{b}: {e}")),
            1,
            "{b}: a person was made for a refused account"
        );
    }
}

#[test]
fn refusals_say_what_is_wrong_and_what_is_expected() {
    for db in databases("limits_words") {
        let b = db.backend;
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let admin = Stamp::now("cli:test");
        s.create(&admin, &person("P1"))
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        // A blank name is a missing one, not a value "not in its canonical form".
        let blank = s
            .set_organisation(
                &admin,
                Organisation {
                    id: Organisation::ID.into(),
                    name: String::new(),
                    time_zone: "Europe/London".into(),
                    compliance_green: None,
                    compliance_amber: None,
                },
            )
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            blank,
            Err("invalid organisation: name: a value is required".to_owned()),
            "{b}"
        );

        s.add_sign_in(&admin, "it@example.org", "IT", Some("P1"), PASSWORD, &[])
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let again = s
            .add_sign_in(&admin, "IT@example.org", "IT", None, PASSWORD, &[])
            .map_err(|e| e.to_string());
        assert_eq!(
            again,
            Err("there is already an account for it@example.org".to_owned()),
            "{b}"
        );
        let bad = s
            .add_sign_in(&admin, "not an address", "X", None, PASSWORD, &[])
            .map_err(|e| e.to_string());
        assert_eq!(
            bad,
            Err(
                "\"not an address\" is not an email address; write one such as name@example.org"
                    .to_owned()
            ),
            "{b}"
        );
    }
}
