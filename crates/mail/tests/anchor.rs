//! The audit-head anchor: the verified head emailed to the governance team once a day (or when
//! asked), recorded and listed; not while another run holds its lease, not twice a day, not to
//! nobody, not for a log that does not verify — on every backend `testing::databases` returns,
//! through a real SMTP server on loopback.

use chrono::NaiveDate;
use steward_mail::anchor::{AnchorRun, current, send_anchor};
use steward_mail::testing::SmtpServer;
use steward_mail::{MailError, Mailbox, Relay, Sender};
use steward_model::{Organisation, Person, PersonStatus, Role, RoleGrant};
use steward_service::{Stamp, Steward};
use steward_store::testing::databases;

#[derive(Debug, serde::Deserialize)]
struct Received {
    to: Vec<String>,
    headers: std::collections::BTreeMap<String, String>,
    body: String,
    defects: Vec<String>,
}

fn person(id: &str, email: Option<&str>, status: PersonStatus) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: email.map(Into::into),
        staff_group: "fca".into(),
        manager_id: None,
        budget_centre: None,
        status,
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

fn sender() -> Sender {
    Sender {
        from: Mailbox::new(Some("Steward"), "steward@example.org")
            .unwrap_or_else(|e| panic!("{e}")),
        public_url: None,
        actor: "mail".into(),
    }
}

#[test]
fn the_head_goes_to_the_governance_team_once_a_day_and_is_listed() {
    let Some(sink) = SmtpServer::start() else {
        return;
    };
    for db in databases("mail_anchor") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let s = Stamp::now("test");
        let ok =
            |r: Result<_, steward_service::ServiceError>| r.unwrap_or_else(|e| panic!("{b}: {e}"));
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
        // Governance: G1 and G2 with addresses, G3 without, L1 has left; IT1 is not governance.
        for p in [
            person("G1", Some("gail@example.org"), PersonStatus::Active),
            person("G2", Some("gus@example.org"), PersonStatus::Active),
            person("G3", None, PersonStatus::Active),
            person("L1", Some("len@example.org"), PersonStatus::Leaver),
            person("IT1", Some("ian@example.org"), PersonStatus::Active),
        ] {
            ok(steward.create(&s, &p));
        }
        for (p, role) in [
            ("G1", Role::Governance),
            ("G2", Role::Governance),
            ("G3", Role::Governance),
            ("L1", Role::Governance),
            ("IT1", Role::It),
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
        let head = steward
            .verify_audit()
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let anchor = current(&steward).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            (anchor.seq, anchor.hash.as_str()),
            (head.seq, head.hash.as_str()),
            "{b}"
        );
        let to: Vec<&str> = anchor.to.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(to, ["gail@example.org", "gus@example.org"], "{b}");

        // Another server holds the lease: nothing.
        let store = steward.store();
        let now = chrono::Utc::now();
        assert_eq!(
            store
                .take_lease(
                    "audit-anchor",
                    "other",
                    now,
                    now + chrono::Duration::minutes(5)
                )
                .ok(),
            Some(true),
            "{b}"
        );
        let busy = send_anchor(&steward, &sink.relay, &sender(), true);
        assert!(matches!(busy, Ok(AnchorRun::Busy)), "{b}: {busy:?}");
        store
            .release_lease("audit-anchor", "other")
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        // The relay is down: an error, and nothing recorded.
        let down = send_anchor(&steward, &Relay::plain("127.0.0.1", 9), &sender(), false);
        assert!(
            matches!(down, Err(MailError::Connect { .. })),
            "{b}: {down:?}"
        );
        assert_eq!(
            steward.audit_anchors().map(|a| a.len()).ok(),
            Some(0),
            "{b}"
        );

        // The day's anchor: sent, received as written, recorded.
        let before = sink.received().len();
        let sent = match send_anchor(&steward, &sink.relay, &sender(), false) {
            Ok(AnchorRun::Sent(a)) => a,
            other => panic!("{b}: {other:?}"),
        };
        assert_eq!((sent.seq, &sent.hash), (head.seq, &head.hash), "{b}");
        assert_eq!(
            sent.recipients,
            ["gail@example.org", "gus@example.org"],
            "{b}"
        );
        let received: Vec<Received> = sink.received()[before..]
            .iter()
            .map(|t| serde_json::from_str(t).unwrap_or_else(|e| panic!("{b}: {e}: {t}")))
            .collect();
        assert_eq!(received.len(), 1, "{b}");
        let m = &received[0];
        assert!(m.defects.is_empty(), "{b}: {:?}", m.defects);
        assert_eq!(m.to, ["gail@example.org", "gus@example.org"], "{b}");
        assert!(
            m.headers
                .get("Subject")
                .is_some_and(|s| s.contains("audit log anchor")
                    && s.ends_with(&format!("record {}", head.seq))),
            "{b}: {:?}",
            m.headers
        );
        assert!(
            m.body.contains(&format!(
                "\n    steward audit verify --expect {}:{}\n",
                head.seq, head.hash
            )),
            "{b}: {}",
            m.body
        );
        assert!(
            m.body.contains(&format!("    hash   {}\n", head.hash)),
            "{b}: {}",
            m.body
        );
        assert_eq!(
            steward.audit_anchors().ok(),
            Some(vec![sent.clone()]),
            "{b}"
        );

        // Not twice a day, unless asked.
        let again = send_anchor(&steward, &sink.relay, &sender(), false);
        assert!(
            matches!(&again, Ok(AnchorRun::NotDue(last)) if *last == sent),
            "{b}: {again:?}"
        );
        assert_eq!(sink.received().len(), before + 1, "{b}");
        let asked = send_anchor(&steward, &sink.relay, &sender(), true);
        assert!(matches!(asked, Ok(AnchorRun::Sent(_))), "{b}: {asked:?}");
        assert_eq!(
            steward.audit_anchors().map(|a| a.len()).ok(),
            Some(2),
            "{b}"
        );

        // Nobody left to send to: nothing sent, nothing recorded.
        for id in ["G1", "G2"] {
            let mut gone = person(id, Some("x@example.org"), PersonStatus::Leaver);
            gone.email = steward
                .get::<Person>(id)
                .ok()
                .flatten()
                .and_then(|p| p.email);
            ok(steward.update(&s, &gone));
        }
        let nobody = send_anchor(&steward, &sink.relay, &sender(), true);
        assert!(
            matches!(&nobody, Ok(AnchorRun::Unaddressed(why)) if why.contains("governance")),
            "{b}: {nobody:?}"
        );
        assert_eq!(
            steward.audit_anchors().map(|a| a.len()).ok(),
            Some(2),
            "{b}"
        );
        assert_eq!(sink.received().len(), before + 2, "{b}");

        // A log altered behind Steward's back is not anchored.
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let broken = send_anchor(&steward, &sink.relay, &sender(), true);
        assert!(
            matches!(broken, Err(MailError::BrokenLog(_))),
            "{b}: {broken:?}"
        );
        assert!(
            matches!(current(&steward), Err(MailError::BrokenLog(_))),
            "{b}"
        );
        assert_eq!(
            steward.audit_anchors().map(|a| a.len()).ok(),
            Some(2),
            "{b}"
        );
    }
}
