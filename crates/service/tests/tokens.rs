//! API tokens through the service, on every backend: a person's token acts with the person's
//! capacities as they are now (and with none once their sign-in is disabled); a service token
//! is an administrator's to make and never has more than its creator; expired and revoked tokens
//! are refused; only the secret's hash is stored; and `allows` honours access and registers.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, Utc};
use steward_model::*;
use steward_service::{
    ApiToken, Capacity, NewToken, ServiceError, Stamp, Steward, TokenAccess, TokenHolder,
};
use steward_store::AuditQuery;
use steward_store::testing::databases;

const PASSWORD: &str = "a long and unusual passphrase";

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn person(id: &str) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: Some(format!("{}@example.org", id.to_lowercase())),
        staff_group: "fca".into(),
        manager_id: None,
        budget_centre: None,
        status: PersonStatus::Active,
        start_date: Some(date("2020-01-01")),
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

/// P1 in IT and P2 an administrator, each with a sign-in; P3 staff with one too.
fn organisation(s: &Steward) {
    let cli = Stamp::now("cli:test");
    for id in ["P1", "P2", "P3"] {
        s.create(&cli, &person(id)).expect("a person");
    }
    for (p, role) in [("P1", Role::It), ("P2", Role::Administrator)] {
        s.create(
            &cli,
            &RoleGrant {
                person_id: p.into(),
                role,
                granted_on: None,
            },
        )
        .expect("a role");
    }
    for id in ["P1", "P2", "P3"] {
        let email = format!("{}@example.org", id.to_lowercase());
        s.add_sign_in(&cli, &email, id, Some(id), PASSWORD, &[])
            .expect("a sign-in");
    }
}

/// The stamp of a person signed in on the web.
fn web(s: &Steward, email: &str) -> Stamp {
    Stamp::of(&s.viewer(email).expect("a viewer"))
}

fn new_token(name: &str, service: Option<(&str, &[Capacity])>) -> NewToken {
    NewToken {
        name: name.to_owned(),
        service: service.map(|(n, c)| (n.to_owned(), c.iter().copied().collect())),
        access: TokenAccess::ReadWrite,
        registers: Vec::new(),
        expires_at: Utc::now() + Duration::days(30),
    }
}

fn caps(list: &[Capacity]) -> BTreeSet<Capacity> {
    list.iter().copied().collect()
}

#[test]
fn a_persons_token_acts_with_their_capacities_as_they_are_now() {
    for db in databases("service_tokens_person") {
        let b = db.backend;
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        organisation(&s);
        let me = web(&s, "p1@example.org");
        let (token, secret) = s
            .create_token(&me, &new_token("my laptop script", None))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(secret.starts_with("stw_"), "{b}: {secret}");
        assert!(token.id.starts_with("tok_") && token.id.len() == 20, "{b}");
        assert_eq!(
            token.holder,
            TokenHolder::Person {
                email: "p1@example.org".into()
            },
            "{b}"
        );
        assert_eq!(token.created_by, "web:p1@example.org", "{b}");

        let now = Utc::now();
        let bearer = s
            .token_bearer(&secret, now)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: a live token"));
        assert_eq!(bearer.token.id, token.id, "{b}");
        assert_eq!(
            bearer.viewer.capacities,
            caps(&[Capacity::Staff, Capacity::It]),
            "{b}"
        );
        assert_eq!(bearer.stamp.actor, format!("token:{}", token.id), "{b}");
        assert_eq!(
            bearer.stamp.authority.capacities, bearer.viewer.capacities,
            "{b}"
        );
        assert_eq!(
            bearer.stamp.authority.person_id.as_deref(),
            Some("P1"),
            "{b}"
        );
        // Its use is recorded, at most once a minute.
        let used =
            |s: &Steward| s.tokens(&web(s, "p1@example.org")).expect("lists")[0].last_used_at;
        assert!(used(&s).is_some(), "{b}");
        let head = s.store().audit_head().expect("reads");
        let again = s
            .token_bearer(&secret, now + Duration::seconds(10))
            .expect("reads")
            .expect("live");
        assert_eq!(again.token.last_used_at, used(&s), "{b}: not touched again");
        assert_eq!(
            s.store().audit_head().expect("reads"),
            head,
            "{b}: not audited"
        );

        // A token works with whatever the person holds now: a grant shows at once.
        s.create(
            &Stamp::now("cli:test"),
            &RoleGrant {
                person_id: "P1".into(),
                role: Role::Auditor,
                granted_on: None,
            },
        )
        .expect("granted");
        let bearer = s
            .token_bearer(&secret, Utc::now())
            .expect("reads")
            .expect("live");
        assert!(bearer.viewer.is(Capacity::Auditor), "{b}");

        // Disabled: the token is refused; enabled again, it works again.
        let admin = web(&s, "p2@example.org");
        s.set_sign_in_disabled(&admin, "p1@example.org", true)
            .expect("disabled");
        assert!(
            s.token_bearer(&secret, Utc::now())
                .expect("reads")
                .is_none(),
            "{b}: a disabled sign-in's token"
        );
        s.set_sign_in_disabled(&admin, "p1@example.org", false)
            .expect("enabled");
        assert!(
            s.token_bearer(&secret, Utc::now())
                .expect("reads")
                .is_some(),
            "{b}"
        );
        // Their person leaving ends it too.
        s.set_fields(
            &Stamp::now("cli:test"),
            Register::People,
            "P1",
            &[(
                "leave_date".into(),
                (Utc::now() - Duration::days(2)).date_naive().to_string(),
            )],
        )
        .expect("leaves");
        assert!(
            s.token_bearer(&secret, Utc::now())
                .expect("reads")
                .is_none(),
            "{b}: a leaver's token"
        );

        // A personal token is made only by a person signed in: not by the command line.
        assert!(
            matches!(
                s.create_token(&Stamp::now("cli:test"), &new_token("x", None)),
                Err(ServiceError::Refused(_))
            ),
            "{b}"
        );
        // Names are text of 1 to 100 characters.
        let p3 = web(&s, "p3@example.org");
        for name in ["", "   ", &"n".repeat(101), "two\nlines"] {
            assert!(
                matches!(
                    s.create_token(&p3, &new_token(name, None)),
                    Err(ServiceError::InvalidToken(_))
                ),
                "{b}: {name:?}"
            );
        }
        assert!(
            s.create_token(&p3, &new_token(&"n".repeat(100), None))
                .is_ok(),
            "{b}"
        );
    }
}

#[test]
fn a_service_token_is_an_administrators_and_never_exceeds_its_creator() {
    for db in databases("service_tokens_service") {
        let b = db.backend;
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        organisation(&s);
        let admin = web(&s, "p2@example.org");
        let it = web(&s, "p1@example.org");
        // Not an administrator: refused, whatever the capacities asked for.
        assert!(
            matches!(
                s.create_token(&it, &new_token("sync", Some(("sync", &[Capacity::It])))),
                Err(ServiceError::Refused(_))
            ),
            "{b}"
        );
        // An administrator may give any capacity a role grants (whatever those roles may do,
        // an administrator may), but never a person's own: staff and line manager come from the
        // people register, and a creator holding them cannot hand them on.
        let narrow = Stamp {
            authority: steward_service::Authority::of(
                [
                    Capacity::Administrator,
                    Capacity::Staff,
                    Capacity::LineManager,
                ],
                Some("P2"),
            ),
            ..admin.clone()
        };
        for asked in [Capacity::Staff, Capacity::LineManager] {
            assert!(
                matches!(
                    s.create_token(&narrow, &new_token("sync", Some(("sync", &[asked])))),
                    Err(ServiceError::InvalidToken(_))
                ),
                "{b}: {asked:?}"
            );
        }
        assert!(
            matches!(
                s.create_token(&admin, &new_token("sync", Some(("sync", &[])))),
                Err(ServiceError::InvalidToken(_))
            ),
            "{b}: no capacity"
        );
        assert!(
            matches!(
                s.create_token(
                    &admin,
                    &new_token("sync", Some(("a service", &[Capacity::It])))
                ),
                Err(ServiceError::InvalidToken(_))
            ),
            "{b}: a service's name"
        );
        let (token, secret) = s
            .create_token(
                &admin,
                &NewToken {
                    access: TokenAccess::Read,
                    registers: vec![Register::People, Register::Assets],
                    ..new_token(
                        "nightly export",
                        Some(("backup-sync", &[Capacity::It, Capacity::Auditor])),
                    )
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            token.holder,
            TokenHolder::Service {
                name: "backup-sync".into(),
                capacities: caps(&[Capacity::It, Capacity::Auditor]),
            },
            "{b}"
        );
        let bearer = s
            .token_bearer(&secret, Utc::now())
            .expect("reads")
            .expect("live");
        assert_eq!(
            bearer.stamp.authority.capacities,
            caps(&[Capacity::It, Capacity::Auditor]),
            "{b}"
        );
        assert_eq!(bearer.stamp.authority.person_id, None, "{b}");
        assert_eq!(bearer.viewer.email, "service:backup-sync", "{b}");
        assert!(bearer.token.allows(Register::People, false), "{b}");
        assert!(!bearer.token.allows(Register::People, true), "{b}");
        assert!(!bearer.token.allows(Register::Systems, false), "{b}");

        // The command line (administrator, no person) makes them too.
        let cli = Stamp::now("cli:test");
        let (by_cli, _) = s
            .create_token(
                &cli,
                &new_token("ci", Some(("ci", &[Capacity::Governance]))),
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(by_cli.created_by, "cli:test", "{b}");
        // Administrators see every token; a person only their own.
        let own = s
            .create_token(&it, &new_token("mine", None))
            .expect("a token")
            .0;
        assert_eq!(s.tokens(&admin).expect("lists").len(), 3, "{b}");
        let seen: Vec<String> = s
            .tokens(&it)
            .expect("lists")
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(seen, [own.id], "{b}");
        assert!(s.verify_audit().expect("reads").is_ok(), "{b}");
    }
}

#[test]
fn expired_and_revoked_tokens_are_refused_and_the_secret_is_not_stored() {
    for db in databases("service_tokens_refused") {
        let b = db.backend;
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        organisation(&s);
        let me = web(&s, "p3@example.org");
        let other = web(&s, "p1@example.org");
        let admin = web(&s, "p2@example.org");
        for expires_at in [me.at - Duration::seconds(1), me.at + Duration::days(367)] {
            assert!(
                matches!(
                    s.create_token(
                        &me,
                        &NewToken {
                            expires_at,
                            ..new_token("x", None)
                        }
                    ),
                    Err(ServiceError::InvalidToken(_))
                ),
                "{b}: {expires_at}"
            );
        }
        let (token, secret) = s
            .create_token(&me, &new_token("short", None))
            .expect("a token");
        assert!(
            s.token_bearer(&secret, Utc::now())
                .expect("reads")
                .is_some(),
            "{b}"
        );
        assert!(
            s.token_bearer(&secret, token.expires_at)
                .expect("reads")
                .is_none(),
            "{b}: expired"
        );
        assert!(
            s.token_bearer("stw_not-a-token", Utc::now())
                .expect("reads")
                .is_none(),
            "{b}"
        );
        assert!(
            s.token_bearer("", Utc::now()).expect("reads").is_none(),
            "{b}"
        );

        // Only the hash is stored, and neither it nor the secret is in the audit log.
        let rows = s.store().api_tokens().expect("reads");
        assert_eq!(rows.len(), 1, "{b}");
        assert_eq!(rows[0].token_hash, steward_auth::token_hash(&secret), "{b}");
        let stored = format!("{rows:?}");
        assert!(!stored.contains(&secret), "{b}");
        assert!(!stored.contains(&secret["stw_".len()..]), "{b}");

        // Someone else's token is not theirs to revoke (nor to see).
        assert!(
            matches!(
                s.revoke_token(&other, &token.id),
                Err(ServiceError::NoToken(_))
            ),
            "{b}"
        );
        let revoked = s.revoke_token(&me, &token.id).expect("revoked");
        assert!(revoked.revoked_at.is_some(), "{b}");
        assert!(
            s.token_bearer(&secret, Utc::now())
                .expect("reads")
                .is_none(),
            "{b}: revoked"
        );
        // Again: as it stands, nothing written.
        let head = s.store().audit_head().expect("reads");
        assert_eq!(
            s.revoke_token(&admin, &token.id).expect("reads"),
            revoked,
            "{b}"
        );
        assert_eq!(s.store().audit_head().expect("reads"), head, "{b}");
        assert!(
            matches!(
                s.revoke_token(&admin, "tok_nothing"),
                Err(ServiceError::NoToken(_))
            ),
            "{b}"
        );

        let mut log = String::new();
        s.store()
            .audit_records(&AuditQuery::default(), &mut |r| {
                log.push_str(&format!("{r:?}\n"));
                Ok(())
            })
            .expect("reads");
        assert!(log.contains(&token.id), "{b}");
        assert!(!log.contains(&secret["stw_".len()..]), "{b}");
        assert!(!log.contains(&rows[0].token_hash), "{b}");
        assert!(s.verify_audit().expect("reads").is_ok(), "{b}");
    }
}

#[test]
fn allows_honours_access_and_registers() {
    let at = Utc::now();
    let token = |access, registers| ApiToken {
        id: "tok_x".into(),
        name: "x".into(),
        holder: TokenHolder::Person {
            email: "x@example.org".into(),
        },
        access,
        registers,
        expires_at: at + Duration::days(1),
        created_at: at,
        created_by: "web:x@example.org".into(),
        last_used_at: None,
        revoked_at: None,
    };
    let read_people = token(TokenAccess::Read, vec![Register::People]);
    assert!(read_people.allows(Register::People, false));
    assert!(!read_people.allows(Register::People, true));
    assert!(!read_people.allows(Register::Assets, false));
    let everything = token(TokenAccess::ReadWrite, Vec::new());
    for register in Register::ALL {
        assert!(everything.allows(register, false) && everything.allows(register, true));
    }
    let write_assets = token(TokenAccess::ReadWrite, vec![Register::Assets]);
    assert!(write_assets.allows(Register::Assets, true));
    assert!(!write_assets.allows(Register::People, false));
    assert!(everything.is_live(at));
    assert!(!everything.is_live(at + Duration::days(1)));
    assert!(
        !ApiToken {
            revoked_at: Some(at),
            ..everything.clone()
        }
        .is_live(at)
    );
    assert_eq!(
        TokenAccess::parse("read-write"),
        Some(TokenAccess::ReadWrite)
    );
    assert_eq!(
        TokenAccess::parse(TokenAccess::Read.as_str()),
        Some(TokenAccess::Read)
    );
    assert_eq!(TokenAccess::parse("write"), None);
}
