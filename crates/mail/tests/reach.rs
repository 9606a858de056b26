//! Findings reach people: escalation steps and the weekly digest, recorded through the service on
//! each backend `testing::databases` returns, delivered to a real SMTP server on loopback and read
//! back with Python's own email parser.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use steward_mail::reach::{Remedies, deliver_escalations, send_digests};
use steward_mail::testing::SmtpServer;
use steward_mail::{Mailbox, Relay, Sender};
use steward_model::*;
use steward_service::{LadderStep, Ladders, Stamp, Steward};
use steward_store::AuditQuery;
use steward_store::testing::databases;

#[derive(Debug, serde::Deserialize)]
struct Received {
    to: Vec<String>,
    headers: BTreeMap<String, String>,
    body: String,
    defects: Vec<String>,
}

fn messages(server: &SmtpServer) -> Vec<Received> {
    server
        .received()
        .iter()
        .map(|text| serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}")))
        .collect()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn person(id: &str, name: &str, email: &str, manager: Option<&str>) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        email: Some(email.into()),
        staff_group: "fca".into(),
        manager_id: manager.map(Into::into),
        budget_centre: None,
        status: PersonStatus::Active,
        start_date: NaiveDate::from_ymd_opt(2020, 1, 1),
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

fn finding(control: &str, person: &str, message: &str, due: &str) -> Finding {
    Finding {
        pack: "it".into(),
        version: "1".into(),
        clause: "2.7".into(),
        control: control.into(),
        subject: Subject {
            kind: "person".into(),
            id: person.into(),
        },
        severity: "high".into(),
        message: message.into(),
        message_you: None,
        clause_text: "Keep devices up to date.".into(),
        evidence: Default::default(),
        who_acts: "person".into(),
        due: NaiveDate::parse_from_str(due, "%Y-%m-%d").ok(),
        undecided: None,
    }
}

fn sender() -> Sender {
    Sender {
        from: Mailbox::new(Some("Steward"), "steward@example.org")
            .unwrap_or_else(|e| panic!("{e}")),
        public_url: Some("https://steward.example.org/".into()),
        actor: "mail".into(),
    }
}

/// A hostile message: a line break and a header after it, which must not become a header.
const PATCH_MESSAGE: &str = "Ada's laptop is unpatched\r\nBcc: evil@example.org";

/// M1 manages P1 (Ada) and P2 (Bob, who has turned the digest off); IT1 is the IT team.
fn seed(steward: &Steward) {
    let s = Stamp::at("test", at("2026-11-01T08:00:00Z"));
    let ok = |r: Result<_, steward_service::ServiceError>| r.unwrap_or_else(|e| panic!("{e}"));
    ok(steward.set_organisation(
        &s,
        Organisation {
            id: Organisation::ID.into(),
            name: "Test Trust".into(),
            time_zone: "Europe/London".into(),
            compliance_green: None,
            compliance_amber: None,
        },
    ));
    for p in [
        person("M1", "Zoë Manager", "zoe@example.org", None),
        person("P1", "Ada Reporter", "ada@example.org", Some("M1")),
        person("P2", "Bob Reporter", "bob@example.org", Some("M1")),
        person("IT1", "Ian Desk", "ian@example.org", None),
    ] {
        ok(steward.create(&s, &p));
    }
    ok(steward.create(
        &s,
        &RoleGrant {
            person_id: "IT1".into(),
            role: Role::It,
            granted_on: None,
        },
    ));
}

#[test]
fn escalation_steps_and_the_weekly_digest_reach_whom_the_policy_names_once() {
    let Some(sink) = SmtpServer::start() else {
        return;
    };
    let relay = sink.relay.clone();
    let nowhere = Relay::plain("127.0.0.1", 9);
    let remedies: Remedies = BTreeMap::from([(
        ("it".to_owned(), "patched".to_owned()),
        "Install the pending update and restart.".to_owned(),
    )]);
    let ladders: Ladders = BTreeMap::from([(
        ("it".to_owned(), "patched".to_owned()),
        vec![
            LadderStep {
                after_days: 3,
                to: "line_manager".into(),
            },
            LadderStep {
                after_days: 7,
                to: "it_team".into(),
            },
        ],
    )]);
    let mut seen = 0;
    for db in databases("mail_reach") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        seed(&steward);
        let packs = vec!["it".to_owned()];
        let patch = finding("patched", "P1", PATCH_MESSAGE, "2026-11-06");
        let training = finding(
            "trained",
            "P2",
            "Bob has not done the training",
            "2026-12-31",
        );
        let record = |when: &str| {
            steward
                .record_findings(
                    &Stamp::at("check", at(when)),
                    &packs,
                    vec![patch.clone(), training.clone()],
                    &ladders,
                )
                .unwrap_or_else(|e| panic!("{b}: {e}"))
        };
        record("2026-11-05T09:00:00Z");
        // Within its grace: nothing to escalate, so nothing connects.
        let quiet = deliver_escalations(&steward, &nowhere, &sender(), &remedies)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            quiet.sent.is_empty() && quiet.failed.is_empty(),
            "{b}: {quiet:?}"
        );

        // A run long after the due date passes every step at once: the person, the line
        // manager and the IT team are told, in one message.
        assert_eq!(record("2026-11-20T09:00:00Z").escalated, 1, "{b}");
        let d = deliver_escalations(&steward, &relay, &sender(), &remedies)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(d.failed, vec![], "{b}");
        assert_eq!(d.sent.len(), 1, "{b}: {d:?}");
        let got = messages(&sink);
        let escalation = got
            .get(seen)
            .unwrap_or_else(|| panic!("{b}: nothing received"));
        seen = got.len();
        let to: BTreeSet<&str> = escalation.to.iter().map(String::as_str).collect();
        assert_eq!(
            to,
            BTreeSet::from(["ada@example.org", "ian@example.org", "zoe@example.org"]),
            "{b}"
        );
        assert!(
            escalation.defects.is_empty(),
            "{b}: {:?}",
            escalation.defects
        );
        assert!(
            !escalation.headers.contains_key("Bcc"),
            "{b}: {:?}",
            escalation.headers
        );
        let subject = escalation
            .headers
            .get("Subject")
            .cloned()
            .unwrap_or_default();
        assert!(
            subject.starts_with("[Steward] Escalated: Ada's laptop is unpatched"),
            "{b}: {subject}"
        );
        let body = &escalation.body;
        for expected in [
            "https://steward.example.org/finding/it/patched/person/P1",
            "Install the pending update and restart.",
            "Failing since:  Thu 5 Nov 2026",
            "Due:            Fri 6 Nov 2026",
            "the person concerned and their line manager and the IT team",
            "cannot be turned off",
        ] {
            assert!(body.contains(expected), "{b}: {expected:?} not in\n{body}");
        }
        // Each step once: the next run finds nothing to send and connects to nothing.
        let again = deliver_escalations(&steward, &nowhere, &sender(), &remedies)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            again.sent.is_empty() && again.failed.is_empty(),
            "{b}: {again:?}"
        );

        // Bob turns the digest off (audited); he is still someone's report.
        steward
            .set_weekly_digest(
                &Stamp::at("web:bob", at("2026-11-20T10:00:00Z")),
                "P2",
                false,
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let mut changed = 0;
        steward
            .audit_log(&AuditQuery::default(), &mut |r| {
                if r.actor == "web:bob" {
                    assert_eq!(
                        (r.entity_type.as_str(), r.entity_id.as_str()),
                        ("person", "P2")
                    );
                    changed += 1;
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(changed, 1, "{b}");

        let run = send_digests(
            &steward,
            &relay,
            &sender(),
            &remedies,
            chrono::Weekday::Mon,
            true,
        )
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(run.delivery.failed, vec![], "{b}");
        let got = messages(&sink);
        let digests = got.get(seen..).unwrap_or_default();
        seen = got.len();
        // Ada has her own item; Zoë her reports'; Bob asked for none; Ian has nothing.
        let by: BTreeMap<&str, &Received> = digests
            .iter()
            .map(|m| (m.to.first().map_or("", String::as_str), m))
            .collect();
        assert_eq!(
            by.keys().copied().collect::<Vec<_>>(),
            vec!["ada@example.org", "zoe@example.org"],
            "{b}"
        );
        let ada = &by["ada@example.org"].body;
        assert!(ada.contains("Ada's laptop is unpatched"), "{b}: {ada}");
        assert!(ada.contains("Fri 6 Nov 2026 (overdue)"), "{b}: {ada}");
        assert!(ada.contains("https://steward.example.org/me"), "{b}: {ada}");
        assert!(!ada.contains("For your reports"), "{b}: {ada}");
        let zoe = &by["zoe@example.org"].body;
        for expected in [
            "For your reports",
            "Ada Reporter (1 item)",
            "Bob Reporter (1 item)",
            "Bob has not done the training",
            "https://steward.example.org/team/P1",
            "https://steward.example.org/team/P2",
        ] {
            assert!(zoe.contains(expected), "{b}: {expected:?} not in\n{zoe}");
        }
        // Once a week: asked again, nobody is due one, so nothing connects.
        let twice = send_digests(
            &steward,
            &nowhere,
            &sender(),
            &remedies,
            chrono::Weekday::Mon,
            true,
        )
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            twice.delivery.sent.is_empty() && twice.delivery.failed.is_empty(),
            "{b}"
        );
        assert_eq!(messages(&sink).len(), seen, "{b}");
    }
}
