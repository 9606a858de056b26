//! The authorisation model: `docs/security.md`'s table against the code for every capacity ×
//! register × operation, each decision exercised through the service on every backend, and the
//! escalations once reproduced from outside, each refused.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use steward_model::*;
use steward_service::{
    Among, Authority, Capacity, ImportFile, Operation, ServiceError, Stamp, Steward, allowed,
};
use steward_store::testing::databases;
use steward_workflow::{Action, Details, Reporting};

/// One row of the documented table: the register's name and who may do each operation.
type DocumentedRow = (String, Vec<(Operation, BTreeSet<Capacity>)>);

/// The table in docs/security.md, row by row.
fn documented() -> Vec<DocumentedRow> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/security.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text
        .find("<!-- authority-table -->")
        .expect("the table's start marker");
    let end = text
        .find("<!-- /authority-table -->")
        .expect("the table's end marker");
    let mut lines = text[start..end].lines().filter(|l| l.starts_with('|'));
    let header: Vec<String> = cells(lines.next().expect("a header row"));
    assert_eq!(
        header,
        [
            "register", "read", "create", "update", "delete", "import", "export"
        ]
    );
    lines
        .filter(|l| !l.starts_with("| ---"))
        .map(|line| {
            let row = cells(line);
            let register = row[0].trim_matches('`').to_owned();
            let ops = Operation::ALL
                .iter()
                .zip(&row[1..])
                .map(|(op, cell)| {
                    assert_eq!(
                        header[1 + Operation::ALL.iter().position(|o| o == op).unwrap_or(0)],
                        op.as_str()
                    );
                    let who = if cell == "—" {
                        BTreeSet::new()
                    } else {
                        cell.split(',')
                            .map(|w| {
                                Capacity::parse(w.trim())
                                    .unwrap_or_else(|| panic!("{register}: unknown capacity {w:?}"))
                            })
                            .collect()
                    };
                    (*op, who)
                })
                .collect();
            (register, ops)
        })
        .collect()
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_owned())
        .collect()
}

#[test]
fn the_documented_table_is_the_one_the_code_enforces() {
    let table = documented();
    let names: Vec<&str> = table.iter().map(|(r, _)| r.as_str()).collect();
    let registers: Vec<&str> = Register::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(
        names, registers,
        "one row per register, in the model's order"
    );
    let mut differences = Vec::new();
    for ((name, ops), register) in table.iter().zip(Register::ALL) {
        for (op, who) in ops {
            for capacity in Capacity::ALL {
                let code = allowed(capacity, register, *op);
                if code != who.contains(&capacity) {
                    differences.push(format!(
                        "{name} {} {}: documented {}, code {code}",
                        op.as_str(),
                        capacity.as_str(),
                        who.contains(&capacity)
                    ));
                }
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // The auditor never writes, by any generic path.
    for register in Register::ALL {
        for op in [
            Operation::Create,
            Operation::Update,
            Operation::Delete,
            Operation::Import,
        ] {
            assert!(
                !allowed(Capacity::Auditor, register, op),
                "{register:?} {op:?}"
            );
        }
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

fn person(id: &str, manager: Option<&str>) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: Some(format!("{}@example.org", id.to_lowercase())),
        staff_group: "fca".into(),
        manager_id: manager.map(Into::into),
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

fn as_capacity(capacity: Capacity, person: &str) -> Stamp {
    Stamp {
        authority: Authority::of([capacity], Some(person)),
        ..Stamp::now(format!("web:{person}"))
    }
}

fn refused<T: std::fmt::Debug>(result: Result<T, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::Refused(_)))
}

/// Every capacity × register × operation, through the service's own entry points: refused
/// exactly where the table says no. An allowed call may still fail for another reason (the row
/// does not exist, the file is empty); what is checked is the decision.
#[test]
fn every_decision_is_made_by_the_service_on_every_backend() {
    for db in databases("authority_table") {
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let admin = Stamp::now("cli:test");
        s.create(&admin, &person("P1", None)).expect("a person");
        let mut wrong = Vec::new();
        for capacity in Capacity::ALL {
            let stamp = as_capacity(capacity, "P1");
            for register in Register::ALL {
                let mut check = |op: Operation, was_refused: bool| {
                    if was_refused == allowed(capacity, register, op) {
                        wrong.push(format!(
                            "{} {} {}: refused {was_refused}",
                            capacity.as_str(),
                            op.as_str(),
                            register.name()
                        ));
                    }
                };
                check(
                    Operation::Read,
                    refused(s.read_row(&stamp, register, "NO-SUCH-ID")),
                );
                // The person pickers read the people register as any reader does.
                if register == Register::People {
                    for among in [Among::Everyone, Among::Managers] {
                        check(
                            Operation::Read,
                            refused(s.find_people(&stamp, among, "p", 1)),
                        );
                    }
                }
                let nulls = vec![Value::Null; register.fields().len()];
                let row = Row::new(register, nulls).expect("a row of nulls");
                check(Operation::Create, refused(s.create_row(&stamp, row)));
                check(
                    Operation::Update,
                    refused(s.set_fields(&stamp, register, "NO-SUCH-ID", &[])),
                );
                let file = ImportFile {
                    register,
                    label: format!("{}.csv", register.name()),
                    bytes: Vec::new(),
                };
                check(Operation::Import, refused(s.import(&stamp, vec![file])));
                check(
                    Operation::Export,
                    refused(s.export(&stamp, register, Vec::new())),
                );
            }
        }
        assert!(wrong.is_empty(), "{}: {}", db.backend, wrong.join("\n"));
    }
}

/// A small organisation: P1 in IT, P2 a line manager, P3 their report holding a phone, P4 in
/// governance, P5 someone else.
fn organisation(s: &Steward) {
    let admin = Stamp::now("cli:test");
    for p in [
        person("P1", None),
        person("P2", None),
        person("P3", Some("P2")),
        person("P4", None),
        person("P5", None),
    ] {
        s.create(&admin, &p).expect("a person");
    }
    for (p, role) in [("P1", Role::It), ("P4", Role::Governance)] {
        s.create(
            &admin,
            &RoleGrant {
                person_id: p.into(),
                role,
                granted_on: None,
            },
        )
        .expect("a role");
    }
    s.create(
        &admin,
        &Asset {
            tag: "MOB1".into(),
            kind: AssetKind::Smartphone,
            model: None,
            serial: None,
            ownership: Ownership::Organisation,
            status: AssetStatus::Allocated,
            assigned_to: Some("P3".into()),
            assigned_on: Some(date("2025-01-06")),
            budget_centre: None,
            cost_gbp: None,
            encrypted: Some(true),
            pin_set: Some(true),
            hotspot_password_set: None,
            last_seen: None,
            last_shutdown: None,
            pending_patch_since: None,
            imei: None,
            os_version: None,
            compliance_state: None,
            azure_device_id: None,
            source_id: None,
            source: None,
            source_seen: None,
            missing_since: None,
        },
    )
    .expect("a phone");
}

fn it(person: &str) -> Stamp {
    as_capacity(Capacity::It, person)
}

fn staff(person: &str) -> Stamp {
    as_capacity(Capacity::Staff, person)
}

#[test]
fn escalations_once_reproduced_are_refused() {
    for db in databases("authority_escalations") {
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        organisation(&s);
        let b = db.backend;
        let head = |s: &Steward| s.verify_audit().expect("reads").map(|h| h.seq);

        // 1. IT grants itself administrator by importing the roles register.
        let before = head(&s);
        let grant = ImportFile {
            register: Register::Roles,
            label: "roles.csv".into(),
            bytes: b"person_id,role,granted_on\nP1,administrator,2026-12-01\n".to_vec(),
        };
        assert!(refused(s.import(&it("P1"), vec![grant.clone()])), "{b}");
        assert_eq!(head(&s), before, "{b}: nothing changed");
        // Nor may an administrator raise their own roles; another's they may.
        let admin_p2 = as_capacity(Capacity::Administrator, "P2");
        let own = ImportFile {
            bytes: b"person_id,role,granted_on\nP2,it,2026-12-01\n".to_vec(),
            ..grant.clone()
        };
        assert!(refused(s.import(&admin_p2, vec![own])), "{b}");
        assert!(s.import(&admin_p2, vec![grant]).is_ok(), "{b}");

        // 2. "Set any field" on the organisation and on a request's state.
        assert!(
            refused(s.set_fields(
                &it("P1"),
                Register::Organisation,
                Organisation::ID,
                &[("name".into(), "Taken".into())]
            )),
            "{b}"
        );
        let open = |stamp: &Stamp, person: &str| {
            let mut d = Details::default();
            d.set("device_kind", "laptop").expect("detail");
            d.set("reason", "a second screen").expect("detail");
            d.set("funding", "local").expect("detail");
            s.open_request(
                stamp,
                RequestType::AdditionalEquipment,
                person,
                stamp.authority.person_id.as_deref(),
                d,
                3,
            )
        };
        let request = open(&it("P1"), "P1").expect("IT raises for itself");
        let id = request.request.id.clone();
        assert!(
            refused(s.set_fields(
                &it("P1"),
                Register::Requests,
                &id,
                &[("state".into(), "approved".into())]
            )),
            "{b}"
        );

        // 3. Approving one's own request.
        let own = s.act_on_request(&it("P1"), &id, Action::Approve, "P1", Details::default());
        assert!(
            matches!(own, Err(ServiceError::Workflow(_))),
            "{b}: {own:?}"
        );
        assert_eq!(
            s.request(&id).expect("reads").request.state,
            RequestState::Open,
            "{b}"
        );
        // A staff member cannot act as someone else either.
        assert!(
            refused(s.act_on_request(&staff("P5"), &id, Action::Approve, "P1", Details::default())),
            "{b}"
        );
        // Nor raise for someone who is not their report; a manager may for theirs.
        assert!(refused(open(&staff("P5"), "P3")), "{b}");
        assert!(
            open(&as_capacity(Capacity::LineManager, "P2"), "P3").is_ok(),
            "{b}"
        );

        // 4. Anyone marking anyone's phone stolen.
        let mut d = Details::default();
        d.set("asset_tag", "MOB1").expect("detail");
        let reporting = Reporting { window_hours: 24 };
        let theft = s.report_incident(
            &staff("P5"),
            IncidentType::Theft,
            "P5",
            d.clone(),
            reporting,
        );
        assert!(refused(theft), "{b}");
        let phone: Asset = s.get("MOB1").expect("reads").expect("there");
        assert_eq!(phone.status, AssetStatus::Allocated, "{b}");
        // Reported found or seen: recorded, the phone left alone, its holder told.
        let mut seen = d.clone();
        seen.set("found", "yes").expect("detail");
        let view = s
            .report_incident(&staff("P5"), IncidentType::Theft, "P5", seen, reporting)
            .expect("a sighting is recorded");
        let phone: Asset = s.get("MOB1").expect("reads").expect("there");
        assert_eq!(phone.status, AssetStatus::Allocated, "{b}");
        assert!(
            view.notifications.iter().any(|n| n.recipient == "P3"),
            "{b}: the holder is told: {:?}",
            view.notifications
        );
        // The holder's line manager may say it was stolen, and the holder hears of it.
        let view = s
            .report_incident(
                &as_capacity(Capacity::LineManager, "P2"),
                IncidentType::Theft,
                "P2",
                d.clone(),
                reporting,
            )
            .expect("the manager reports");
        let phone: Asset = s.get("MOB1").expect("reads").expect("there");
        assert_eq!(phone.status, AssetStatus::Stolen, "{b}");
        assert!(
            view.notifications.iter().any(|n| n.recipient == "P3"),
            "{b}"
        );
        // Nobody reports as someone else.
        assert!(
            refused(s.report_incident(&staff("P5"), IncidentType::Loss, "P3", d, reporting)),
            "{b}"
        );

        // The accepting of the policy is one's own.
        let packs = [("cafcass-it-5.0".to_owned(), "5.0".to_owned())];
        assert!(
            refused(s.accept_policies(&staff("P5"), "P3", &packs, date("2026-12-01"))),
            "{b}"
        );
        s.accept_policies(&staff("P3"), "P3", &packs, date("2026-12-01"))
            .expect("one's own acceptance");

        // Sign-in administration is the administrator's.
        assert!(
            refused(s.add_sign_in(
                &it("P1"),
                "p5@example.org",
                "P5",
                Some("P5"),
                "a long and unusual passphrase",
                &[Capacity::Administrator]
            )),
            "{b}"
        );
        assert!(s.verify_audit().expect("reads").is_ok(), "{b}");
    }
}

#[test]
fn leavers_cannot_sign_in_and_their_sessions_end() {
    for db in databases("authority_leavers") {
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        organisation(&s);
        let b = db.backend;
        let admin = Stamp::now("cli:test");
        let password = "a long and unusual passphrase";
        s.add_sign_in(&admin, "p3@example.org", "P3", Some("P3"), password, &[])
            .expect("an account");
        s.check_password("p3@example.org", password)
            .expect("signs in");
        let (token, _) = s
            .open_session("p3@example.org", chrono::Utc::now())
            .expect("a session");
        assert!(
            s.live_session(&token, chrono::Utc::now())
                .expect("reads")
                .is_some()
        );
        // A leaving date that has passed is enough.
        s.set_fields(
            &admin,
            Register::People,
            "P3",
            &[("leave_date".into(), "2026-01-31".into())],
        )
        .expect("leaves");
        assert!(
            s.live_session(&token, chrono::Utc::now())
                .expect("reads")
                .is_none(),
            "{b}: the session ends"
        );
        assert!(
            matches!(
                s.check_password("p3@example.org", password),
                Err(ServiceError::SignIn(_))
            ),
            "{b}"
        );
        assert!(
            s.viewer("p3@example.org")
                .expect("reads")
                .capacities
                .is_empty(),
            "{b}"
        );
    }
}

#[test]
fn roles_come_from_the_roles_register_alone_and_change_on_the_next_request() {
    for db in databases("authority_roles") {
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        organisation(&s);
        let b = db.backend;
        let admin = Stamp::now("cli:test");
        let password = "a long and unusual passphrase";
        // An account given a role without a person gets a person, and the role is held there.
        s.add_sign_in(
            &admin,
            "auditor@example.org",
            "Auditor",
            None,
            password,
            &[Capacity::Auditor],
        )
        .expect("an account");
        let viewer = s.viewer("auditor@example.org").expect("reads");
        let person = viewer.person_id.clone().expect("a person");
        assert!(viewer.is(Capacity::Auditor), "{b}");
        assert!(
            s.roles_of(&person).expect("reads").contains(&Role::Auditor),
            "{b}"
        );
        // Granting P5 IT shows on their next request.
        s.add_sign_in(&admin, "p5@example.org", "P5", Some("P5"), password, &[])
            .expect("an account");
        assert!(
            !s.viewer("p5@example.org").expect("reads").is(Capacity::It),
            "{b}"
        );
        s.create(
            &admin,
            &RoleGrant {
                person_id: "P5".into(),
                role: Role::It,
                granted_on: None,
            },
        )
        .expect("granted");
        assert!(
            s.viewer("p5@example.org").expect("reads").is(Capacity::It),
            "{b}"
        );
    }
}

#[test]
fn a_password_is_changed_with_the_current_one_and_reset_by_an_administrator() {
    for db in databases("authority_passwords") {
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        organisation(&s);
        let b = db.backend;
        let admin = Stamp::now("cli:test");
        let first = "a long and unusual passphrase";
        let second = "another quite unusual passphrase";
        s.add_sign_in(&admin, "p3@example.org", "P3", Some("P3"), first, &[])
            .expect("an account");
        let me = staff("P3");
        // Without the current password: refused, and the old one still works.
        assert!(
            s.change_password(&me, "p3@example.org", "wrong", "", second)
                .is_err(),
            "{b}"
        );
        s.check_password("p3@example.org", first)
            .expect("unchanged");
        // A weak new one is refused.
        assert!(
            s.change_password(&me, "p3@example.org", first, "", "password123")
                .is_err(),
            "{b}"
        );
        s.change_password(&me, "p3@example.org", first, "", second)
            .expect("changed");
        assert!(s.check_password("p3@example.org", first).is_err(), "{b}");
        s.check_password("p3@example.org", second)
            .expect("the new one");
        // An administrator's reset: sessions end, a new password is asked for.
        let (token, _) = s
            .open_session("p3@example.org", chrono::Utc::now())
            .expect("a session");
        assert!(
            refused(s.require_new_password(&it("P1"), "p3@example.org")),
            "{b}"
        );
        s.require_new_password(&admin, "p3@example.org")
            .expect("reset");
        assert!(
            s.live_session(&token, chrono::Utc::now())
                .expect("reads")
                .is_none(),
            "{b}"
        );
        assert!(
            s.must_change_password("p3@example.org").expect("reads"),
            "{b}"
        );
        s.choose_new_password(&me, "p3@example.org", first)
            .expect("a new one chosen");
        assert!(
            !s.must_change_password("p3@example.org").expect("reads"),
            "{b}"
        );
    }
}

/// The first administrator, set up before anyone was on the people register, is linked to their
/// person once the people are imported: their roles follow, their page is their own, and the
/// link is refused where it would hand someone's roles to themselves, reach a leaver, or take
/// another account's person.
#[test]
fn an_administrator_is_linked_to_their_person_and_keeps_their_roles() {
    for db in databases("authority_link") {
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        organisation(&s);
        let b = db.backend;
        let cli = Stamp::now("cli:test");
        let password = "a long and unusual passphrase";
        s.create_first_administrator(&cli, "grace@example.org", "Grace", password)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let made_up = s
            .viewer("grace@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .person_id
            .unwrap_or_default();
        assert_ne!(made_up, "P5", "{b}");

        // By themselves, signed in: their own roles would move to a person they choose. Refused.
        let herself = Stamp {
            authority: steward_service::Authority::of([Capacity::Administrator], Some(&made_up)),
            ..Stamp::now("web:grace@example.org")
        };
        assert!(
            refused(s.link_sign_in_person(&herself, "grace@example.org", "P5")),
            "{b}: linking oneself with one's roles"
        );
        // Not by IT.
        assert!(
            refused(s.link_sign_in_person(&it("P1"), "grace@example.org", "P5")),
            "{b}"
        );
        // From the command line: linked, and the role follows to P5.
        s.link_sign_in_person(&cli, "grace@example.org", "P5")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let viewer = s
            .viewer("grace@example.org")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(viewer.person_id.as_deref(), Some("P5"), "{b}");
        assert!(
            viewer.is(Capacity::Administrator) && viewer.is(Capacity::Staff),
            "{b}"
        );
        // Another account cannot take P5 too.
        s.add_sign_in(&cli, "other@example.org", "Other", None, password, &[])
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            s.link_sign_in_person(&cli, "other@example.org", "P5")
                .is_err(),
            "{b}: one person, one account"
        );
        assert!(
            s.link_sign_in_person(&cli, "other@example.org", "NOBODY")
                .is_err(),
            "{b}: no such person"
        );
    }
}
