//! Notices reach people by email: incidents reported through the service on each backend
//! `testing::databases` returns, delivered to a real SMTP server on loopback (Python's, from
//! `steward_mail::testing`), and read back with Python's own email parser.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use steward_mail::testing::SmtpServer;
use steward_mail::{Mailbox, Relay, Sender, deliver};
use steward_model::*;
use steward_service::{Stamp, Steward};
use steward_store::AuditQuery;
use steward_store::testing::databases;
use steward_workflow::{Details, Reporting};

/// A message as the server received it and Python read it.
#[derive(Debug, serde::Deserialize)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
    headers: std::collections::BTreeMap<String, String>,
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

fn stamp(text: &str) -> Stamp {
    Stamp::at("test", at(text))
}

fn person(id: &str, name: &str, email: Option<&str>, manager: Option<&str>) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        email: email.map(Into::into),
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

fn details(pairs: &[(&str, &str)]) -> Details {
    Details::from_pairs(pairs).unwrap_or_default()
}

/// P1 works for Zoë (M1), P2 for a manager whose mail the relay refuses (R1), P3 for a manager
/// with no address (N1). IT1 and IT2 are the IT team (and L1, who has left); G1 is governance.
fn seed(steward: &Steward) {
    let s = stamp("2026-11-24T08:00:00Z");
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
    let mut leaver = person("L1", "Len Left", Some("len@example.org"), None);
    leaver.status = PersonStatus::Leaver;
    for p in [
        person("M1", "Zoë Manager", Some("zoe@example.org"), None),
        person("R1", "Rex Refused", Some("refused@example.org"), None),
        person("N1", "Nobody Noaddress", None, None),
        person("P1", "Ada Reporter", Some("ada@example.org"), Some("M1")),
        person("P2", "Bob Reporter", Some("bob@example.org"), Some("R1")),
        person("P3", "Cy Reporter", Some("cy@example.org"), Some("N1")),
        person("IT1", "Ian Desk", Some("ian@example.org"), None),
        person("IT2", "Ivy Desk", Some("ivy@example.org"), None),
        person("G1", "Gail \"Gov\" Ernance", Some("gail@example.org"), None),
        leaver,
    ] {
        ok(steward.create(&s, &p));
    }
    for (p, role) in [
        ("IT1", Role::It),
        ("IT2", Role::It),
        ("L1", Role::It),
        ("G1", Role::Governance),
    ] {
        ok(steward.create(
            &s,
            &RoleGrant {
                person_id: p.into(),
                role,
                granted_on: None,
            },
        ));
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

type Key = (String, String);

fn keys(outcomes: &[steward_mail::deliver::Outcome]) -> BTreeSet<Key> {
    outcomes
        .iter()
        .map(|o| (o.about.clone(), o.recipient.clone()))
        .collect()
}

fn key(about: &str, recipient: &str) -> Key {
    (about.to_owned(), recipient.to_owned())
}

#[test]
fn notices_are_emailed_once_to_whoever_is_to_be_told() {
    let Some(sink) = SmtpServer::start() else {
        return;
    };
    for db in databases("mail") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        seed(&steward);
        let report = |when: &str, kind, who: &str, pairs: &[(&str, &str)]| {
            steward
                .report_incident(
                    &stamp(when),
                    kind,
                    who,
                    details(pairs),
                    Reporting { window_hours: 24 },
                )
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .incident
                .id
        };

        // Nothing waits, so nothing connects: a relay nobody listens on is never tried.
        let nowhere = Relay::plain("127.0.0.1", 9);
        let quiet = deliver(&steward, &nowhere, &sender()).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            quiet.sent.is_empty() && quiet.failed.is_empty(),
            "{b}: {quiet:?}"
        );

        let breach = report(
            "2026-11-24T10:00:00Z",
            IncidentType::DataBreach,
            "P1",
            &[
                ("discovered_at", "2026-11-24T09:30:00Z"),
                ("facts", "a case file\r\n.\r\nsent to the wrong party"),
            ],
        );
        let phishing = report("2026-11-24T10:05:00Z", IncidentType::Phishing, "P2", &[]);
        let handled = report("2026-11-24T10:06:00Z", IncidentType::Phishing, "P1", &[]);
        let policy = report(
            "2026-11-24T10:10:00Z",
            IncidentType::PolicyBreach,
            "P2",
            &[],
        );
        let call = report(
            "2026-11-24T10:15:00Z",
            IncidentType::ThreateningCall,
            "P3",
            &[],
        );
        steward
            .acknowledge(
                &stamp("2026-11-24T10:20:00Z"),
                &handled,
                "it-service-desk",
                "IT1",
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // A notice made directly, about a request, in words beyond ASCII.
        steward
            .create(
                &stamp("2026-11-24T10:25:00Z"),
                &Notification {
                    about: "REQ-000999".into(),
                    recipient: "P1".into(),
                    reason: "your mailbox was opened — while you were away".into(),
                    due_at: Some(at("2026-12-01T17:00:00Z")),
                    acknowledged_at: None,
                    acknowledged_by: None,
                    emailed_at: None,
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // Someone away is told on their return: their notice waits until they are back.
        let mut away = person("A1", "Ana Away", Some("ana@example.org"), None);
        away.status = PersonStatus::Absent;
        steward
            .create(&stamp("2026-11-24T10:26:00Z"), &away)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        steward
            .create(
                &stamp("2026-11-24T10:27:00Z"),
                &Notification {
                    about: "REQ-000998".into(),
                    recipient: "A1".into(),
                    reason: "your mailbox was opened on senior authorisation".into(),
                    due_at: None,
                    acknowledged_at: None,
                    acknowledged_by: None,
                    emailed_at: None,
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let waiting = steward
            .mail_due()
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .len();
        assert_eq!(
            waiting, 9,
            "{b}: two for each incident but phishing, none once acknowledged, and two more"
        );

        // The relay is down: an error, and every notice still waits.
        let down = deliver(&steward, &nowhere, &sender());
        assert!(
            matches!(down, Err(steward_mail::MailError::Connect { .. })),
            "{b}: {down:?}"
        );
        assert_eq!(
            steward.mail_due().map(|d| d.len()).ok(),
            Some(waiting),
            "{b}"
        );

        // While another server holds the mail lease, a run does nothing.
        let store = steward.store();
        let later = Utc::now() + chrono::Duration::minutes(5);
        assert_eq!(
            store
                .take_lease("mail", "other-server", Utc::now(), later)
                .ok(),
            Some(true),
            "{b}"
        );
        let busy = deliver(&steward, &sink.relay, &sender()).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(busy.busy && busy.sent.is_empty(), "{b}: {busy:?}");
        assert_eq!(
            steward.mail_due().map(|d| d.len()).ok(),
            Some(waiting),
            "{b}"
        );
        store
            .release_lease("mail", "other-server")
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        let before = messages(&sink).len();
        let delivery =
            deliver(&steward, &sink.relay, &sender()).unwrap_or_else(|e| panic!("{b}: {e}"));
        let sent = keys(&delivery.sent);
        assert_eq!(
            sent,
            BTreeSet::from([
                key(&breach, "information-governance"),
                key(&breach, "M1"),
                key(&phishing, "it-service-desk"),
                key(&policy, "information-governance"),
                key(&call, "security"),
                key("REQ-000999", "P1"),
            ]),
            "{b}: {delivery:?}"
        );
        assert_eq!(
            keys(&delivery.failed),
            BTreeSet::from([key(&policy, "R1")]),
            "{b}"
        );
        assert!(
            delivery.failed[0].detail.contains("554"),
            "{b}: {:?}",
            delivery.failed
        );
        assert_eq!(
            keys(&delivery.unaddressed),
            BTreeSet::from([key(&call, "N1"), key("REQ-000998", "A1")]),
            "{b}"
        );
        let why = |recipient: &str| {
            delivery
                .unaddressed
                .iter()
                .find(|o| o.recipient == recipient)
                .map(|o| o.detail.clone())
                .unwrap_or_default()
        };
        assert!(
            why("N1").contains("N1 has no email address"),
            "{b}: {}",
            why("N1")
        );
        assert!(
            why("A1").contains("told on their return"),
            "{b}: {}",
            why("A1")
        );

        // What the relay received, as Python reads it.
        let received: Vec<Received> = messages(&sink).into_iter().skip(before).collect();
        assert_eq!(received.len(), sent.len(), "{b}");
        for m in &received {
            assert!(m.defects.is_empty(), "{b}: {:?}\n{}", m.defects, m.data);
            // Seven-bit on the wire: no relay has to be trusted with 8BITMIME.
            assert!(m.data.is_ascii(), "{b}: {}", m.data);
            assert_eq!(m.from, "steward@example.org", "{b}");
            assert_eq!(
                m.headers.get("Auto-Submitted").map(String::as_str),
                Some("auto-generated")
            );
        }
        let to = |envelope: &[&str]| -> &Received {
            let want: Vec<String> = envelope.iter().map(|s| (*s).to_owned()).collect();
            received
                .iter()
                .find(|m| m.to == want)
                .unwrap_or_else(|| panic!("{b}: nothing to {envelope:?} in {received:#?}"))
        };
        // The manager, by name (beyond ASCII, so encoded), pointed at their own page.
        let manager = to(&["zoe@example.org"]);
        assert_eq!(
            manager.headers.get("To").map(String::as_str),
            Some("Zoë Manager <zoe@example.org>"),
            "{b}"
        );
        let subject = manager.headers.get("Subject").cloned().unwrap_or_default();
        assert!(
            subject.starts_with(&format!("[Steward] incident {breach} (data-breach): ")),
            "{b}: {subject}"
        );
        assert!(
            manager.body.starts_with("Dear Zoë Manager,\n"),
            "{b}: {}",
            manager.body
        );
        assert!(
            manager.body.contains("https://steward.example.org/me\n"),
            "{b}: {}",
            manager.body
        );
        assert!(manager.body.contains("Test Trust"), "{b}: {}", manager.body);
        // The reason arrives whole, and the due time in the organisation's time zone.
        let ada = to(&["ada@example.org"]);
        assert!(
            ada.body
                .contains("\n    your mailbox was opened — while you were away\n")
                && ada
                    .body
                    .contains("This is due by Tue 1 Dec 2026 17:00 (Europe/London)."),
            "{b}: {}",
            ada.body
        );
        // The IT team: every current holder of the role, not the leaver; their link is the incident.
        let desk = to(&["ian@example.org", "ivy@example.org"]);
        assert!(
            desk.body.starts_with("To the IT service desk,\n"),
            "{b}: {}",
            desk.body
        );
        assert!(
            desk.body.contains(&format!(
                "https://steward.example.org/incidents/{phishing}\n"
            )),
            "{b}: {}",
            desk.body
        );
        assert!(
            received
                .iter()
                .all(|m| !m.to.iter().any(|t| t == "len@example.org")),
            "{b}"
        );
        // Governance: a quoted name with quotes in it; the reason and its due time in local time.
        let governance: Vec<&Received> = received
            .iter()
            .filter(|m| m.to == ["gail@example.org"])
            .collect();
        assert_eq!(governance.len(), 3, "{b}");
        assert!(
            governance
                .iter()
                .all(|m| m.headers.get("To").map(String::as_str)
                    == Some("\"Gail \\\"Gov\\\" Ernance\" <gail@example.org>")),
            "{b}: {governance:#?}"
        );
        assert!(
            governance.iter().any(|m| m
                .body
                .starts_with("To the information governance team (security are to be told),\n")),
            "{b}"
        );

        // Marked as emailed, audited under the sender's actor; the rest still wait.
        let notices: Vec<Notification> = steward.list().unwrap_or_else(|e| panic!("{b}: {e}"));
        for n in &notices {
            let k = key(&n.about, &n.recipient);
            assert_eq!(n.emailed_at.is_some(), sent.contains(&k), "{b}: {n:?}");
        }
        let mut marked = 0;
        steward
            .audit_log(&AuditQuery::default(), &mut |r| {
                if r.actor == "mail" {
                    assert_eq!(
                        (r.action.as_str(), r.entity_type.as_str()),
                        ("update", "notification")
                    );
                    marked += 1;
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(marked, sent.len(), "{b}");

        // Back from absence, they are written to.
        let mut back = away.clone();
        back.status = PersonStatus::Active;
        steward
            .update(&stamp("2026-11-30T09:00:00Z"), &back)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let returned =
            deliver(&steward, &sink.relay, &sender()).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            keys(&returned.sent),
            BTreeSet::from([key("REQ-000998", "A1")]),
            "{b}"
        );
        assert_eq!(
            messages(&sink).last().map(|m| m.to.clone()),
            Some(vec!["ana@example.org".to_owned()]),
            "{b}"
        );
        let before = before + 1;

        // A second run sends nothing again; the refused one is tried again and refused again.
        let again =
            deliver(&steward, &sink.relay, &sender()).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(again.sent.is_empty(), "{b}: {again:?}");
        assert_eq!(
            keys(&again.failed),
            BTreeSet::from([key(&policy, "R1")]),
            "{b}"
        );
        assert_eq!(messages(&sink).len(), before + sent.len(), "{b}");
    }
}
