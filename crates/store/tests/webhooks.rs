//! Webhooks on every backend: created with one audit record that never holds the secret, listed
//! oldest first, enabled and disabled (audited), their deliveries queued, found due only when due
//! and only for an enabled webhook, attempts recorded (unaudited) with the webhook's failures
//! counted, listed newest first; and a webhook changed behind the log's back found by
//! verification.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_store::testing::databases;
use steward_store::{
    AuditQuery, DeliveryRow, Store, WEBHOOK_ENTITY, WebhookRow, verify_audit_full,
};

fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(n)
}

const SECRET_A: &str = "sealed:v1:secret-of-webhook-a-0123456789";
const SECRET_B: &str = "sealed:v1:secret-of-webhook-b-9876543210";

fn webhook(id: &str, secret: &str, n: i64) -> WebhookRow {
    WebhookRow {
        id: id.to_owned(),
        url: format!("https://hooks.example.org/{id}"),
        events: "finding.opened;finding.resolved".to_owned(),
        secret: secret.to_owned(),
        enabled: true,
        failures: 0,
        disabled_reason: None,
        created_at: t(n),
        created_by: "test:admin".to_owned(),
    }
}

fn delivery(id: &str, webhook_id: &str, n: i64) -> DeliveryRow {
    DeliveryRow {
        id: id.to_owned(),
        webhook_id: webhook_id.to_owned(),
        event: "finding.opened".to_owned(),
        payload: format!(r#"{{"type":"finding.opened","n":{n}}}"#),
        created_at: t(n),
        state: "pending".to_owned(),
        attempts: 0,
        next_attempt_at: Some(t(n)),
        last_attempt_at: None,
        last_status: None,
        last_response: None,
    }
}

fn ids(rows: &[DeliveryRow]) -> Vec<&str> {
    rows.iter().map(|d| d.id.as_str()).collect()
}

#[test]
fn webhooks_are_kept_audited_without_their_secret_and_their_deliveries_tried() {
    for db in databases("webhooks") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        assert!(store.webhooks().unwrap().is_empty(), "{b}");

        let a = webhook("whk_a000000000000001", SECRET_A, 0);
        let c = webhook("whk_c000000000000002", SECRET_B, 1);
        store
            .create_webhook("test:admin", t(0), &a)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        store
            .create_webhook("test:admin", t(1), &c)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // The same id again is refused.
        assert!(store.create_webhook("test:admin", t(2), &a).is_err(), "{b}");
        assert_eq!(
            store.webhooks().unwrap(),
            vec![a.clone(), c.clone()],
            "{b}: oldest first"
        );

        // Queued unaudited, all or none.
        let head = store.audit_head().unwrap();
        let queued = [
            delivery("msg_a1", &a.id, 10),
            delivery("msg_a2", &a.id, 11),
            delivery("msg_a3", &a.id, 12),
            delivery("msg_c1", &c.id, 10),
        ];
        store
            .queue_deliveries(&queued)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            store
                .queue_deliveries(&[
                    delivery("msg_new", &a.id, 13),
                    delivery("msg_orphan", "whk_nosuchwebhook000", 13),
                ])
                .is_err(),
            "{b}: a delivery to no webhook"
        );
        assert_eq!(
            store.audit_head().unwrap(),
            head,
            "{b}: deliveries are not audited"
        );
        assert_eq!(
            store.deliveries_of(&a.id, 10).unwrap(),
            vec![queued[2].clone(), queued[1].clone(), queued[0].clone()],
            "{b}: newest first, none of the refused batch"
        );
        assert_eq!(
            ids(&store.deliveries_of(&a.id, 2).unwrap()),
            ["msg_a3", "msg_a2"],
            "{b}"
        );

        // Due: none before their time; the earliest first; only as many as asked.
        assert!(store.due_deliveries(t(9), 10).unwrap().is_empty(), "{b}");
        assert_eq!(
            ids(&store.due_deliveries(t(10), 10).unwrap()),
            ["msg_a1", "msg_c1"],
            "{b}"
        );
        assert_eq!(
            ids(&store.due_deliveries(t(11), 1).unwrap()),
            ["msg_a1"],
            "{b}"
        );

        // Disabled (audited, without the secret): its deliveries are not due.
        let disabled = store
            .set_webhook_enabled("test:other", t(20), &c.id, false, Some("answers 410"))
            .unwrap()
            .unwrap_or_else(|| panic!("{b}: disabled"));
        assert!(!disabled.enabled, "{b}");
        assert_eq!(
            disabled.disabled_reason.as_deref(),
            Some("answers 410"),
            "{b}"
        );
        assert_eq!(
            ids(&store.due_deliveries(t(30), 10).unwrap()),
            ["msg_a1", "msg_a2", "msg_a3"],
            "{b}"
        );
        assert_eq!(
            store
                .set_webhook_enabled("test:other", t(20), "whk_nosuchwebhook000", false, None)
                .unwrap(),
            None,
            "{b}"
        );

        // A failure: still pending, later; the webhook's failures counted, unaudited.
        let head = store.audit_head().unwrap();
        store
            .record_delivery_attempt(
                "msg_a1",
                t(31),
                Some(500),
                Some("oops"),
                false,
                Some(t(40)),
                false,
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let a1 = store.deliveries_of(&a.id, 10).unwrap().pop().unwrap();
        assert_eq!(a1.id, "msg_a1", "{b}");
        assert_eq!(a1.state, "pending", "{b}");
        assert_eq!(a1.attempts, 1, "{b}");
        assert_eq!(a1.next_attempt_at, Some(t(40)), "{b}");
        assert_eq!(a1.last_attempt_at, Some(t(31)), "{b}");
        assert_eq!(a1.last_status, Some(500), "{b}");
        assert_eq!(a1.last_response.as_deref(), Some("oops"), "{b}");
        assert_eq!(store.webhooks().unwrap()[0].failures, 1, "{b}");
        assert_eq!(
            ids(&store.due_deliveries(t(31), 10).unwrap()),
            ["msg_a2", "msg_a3"],
            "{b}"
        );
        assert_eq!(
            ids(&store.due_deliveries(t(40), 10).unwrap()),
            ["msg_a2", "msg_a3", "msg_a1"],
            "{b}: the earliest next attempt first"
        );

        // Delivered: the webhook's failures back to 0.
        store
            .record_delivery_attempt("msg_a2", t(32), Some(204), None, true, None, false)
            .unwrap();
        // Given up: failed, and one more failure.
        store
            .record_delivery_attempt(
                "msg_a3",
                t(33),
                None,
                Some("timed out"),
                false,
                Some(t(50)),
                true,
            )
            .unwrap();
        // Neither is tried again; recording one again changes nothing.
        store
            .record_delivery_attempt("msg_a2", t(34), Some(500), None, false, Some(t(50)), false)
            .unwrap();
        store
            .record_delivery_attempt("msg_nosuchdelivery", t(34), None, None, false, None, true)
            .unwrap();
        let of_a = store.deliveries_of(&a.id, 10).unwrap();
        assert_eq!(ids(&of_a), ["msg_a3", "msg_a2", "msg_a1"], "{b}");
        let (a3, a2) = (&of_a[0], &of_a[1]);
        assert_eq!(
            (
                a2.state.as_str(),
                a2.attempts,
                a2.next_attempt_at,
                a2.last_status
            ),
            ("delivered", 1, None, Some(204)),
            "{b}"
        );
        assert_eq!(
            (
                a3.state.as_str(),
                a3.attempts,
                a3.next_attempt_at,
                a3.last_status
            ),
            ("failed", 1, None, None),
            "{b}"
        );
        assert_eq!(a3.last_response.as_deref(), Some("timed out"), "{b}");
        assert_eq!(store.webhooks().unwrap()[0].failures, 1, "{b}");
        assert_eq!(
            ids(&store.due_deliveries(t(60), 10).unwrap()),
            ["msg_a1"],
            "{b}"
        );
        assert_eq!(
            store.audit_head().unwrap(),
            head,
            "{b}: attempts are not audited"
        );

        // Enabled again (audited): its failures back to 0, its reason cleared, its pending
        // deliveries due again.
        store
            .record_delivery_attempt("msg_c1", t(35), Some(410), None, false, Some(t(36)), false)
            .unwrap();
        assert_eq!(store.webhooks().unwrap()[1].failures, 1, "{b}");
        let enabled = store
            .set_webhook_enabled("test:admin", t(61), &c.id, true, None)
            .unwrap()
            .unwrap_or_else(|| panic!("{b}: enabled"));
        assert_eq!(enabled, c, "{b}");
        assert_eq!(store.webhooks().unwrap()[1], c, "{b}");
        assert_eq!(
            ids(&store.due_deliveries(t(61), 10).unwrap()),
            ["msg_c1", "msg_a1"],
            "{b}"
        );

        let mut records = Vec::new();
        store
            .audit_records(&AuditQuery::default(), &mut |r| {
                records.push(r);
                Ok(())
            })
            .unwrap();
        let hooks: Vec<_> = records
            .iter()
            .filter(|r| r.entity_type == WEBHOOK_ENTITY)
            .collect();
        let seen: Vec<(&str, &str, &str)> = hooks
            .iter()
            .map(|r| (r.action.as_str(), r.entity_id.as_str(), r.actor.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("create", a.id.as_str(), "test:admin"),
                ("create", c.id.as_str(), "test:admin"),
                ("disable", c.id.as_str(), "test:other"),
                ("enable", c.id.as_str(), "test:admin"),
            ],
            "{b}"
        );
        for r in &hooks {
            for state in [&r.before, &r.after].into_iter().flatten() {
                assert!(
                    !state.contains(SECRET_A) && !state.contains(SECRET_B),
                    "{b}: the secret is in the log: {state}"
                );
                assert!(!state.contains("failures"), "{b}: {state}");
            }
        }
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(verdict.is_ok(), "{b}: {verdict:?}");

        // A url changed behind the log's back is found; so is a secret swapped for one someone
        // knows.
        db.execute(&format!(
            "UPDATE webhooks SET url = 'https://evil.example.net/' WHERE id = '{}'",
            a.id
        ))
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        db.execute(&format!(
            "UPDATE webhooks SET secret = 'sealed:v1:known' WHERE id = '{}'",
            c.id
        ))
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        let verdict = verify_audit_full(store, None, 10).unwrap();
        let fields = |id: &str| {
            verdict
                .differences
                .iter()
                .find(|d| d.register == "webhooks" && d.id == id)
                .map(|d| d.fields.clone())
                .unwrap_or_default()
        };
        assert_eq!(fields(&a.id), ["url"], "{b}: {verdict:?}");
        assert_eq!(fields(&c.id), ["secret_sha256"], "{b}: {verdict:?}");
        assert_eq!(verdict.difference_count, 2, "{b}: {verdict:?}");
    }
}
