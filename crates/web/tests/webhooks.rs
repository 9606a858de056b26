//! Webhooks end to end, over real sockets: an administrator subscribes a receiver on loopback
//! (allowed by the server's configuration, as only a test should) to events; an incident
//! reported by a member of staff reaches it, signed as the Standard Webhooks specification has
//! it (the receiver checks the signature with Python's own HMAC); every delivery is listed with
//! the answer; a receiver that keeps failing is retried with a growing wait and then turned off
//! with the reason; a private address is refused when the configuration does not allow it.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value as Json, json};
use steward_service::{NewToken, Stamp, Steward, TokenAccess};
use support::Server;

/// The Python receiver, killed when dropped.
struct Receiver {
    /// Kept for its life: the receiver runs while it is held.
    _fixture: support::Fixture,
    port: u16,
    out: std::path::PathBuf,
    secret: std::path::PathBuf,
}

impl Receiver {
    fn start(dir: &std::path::Path) -> Option<Receiver> {
        let out = dir.join("received.jsonl");
        let secret = dir.join("secret");
        let fixture = support::Fixture::start(
            "webhook_receiver.py",
            &[&out.to_string_lossy(), &secret.to_string_lossy()],
        )?;
        Some(Receiver {
            port: fixture.port,
            _fixture: fixture,
            out,
            secret,
        })
    }

    fn received(&self) -> Vec<Json> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn token(steward: &Steward, email: &str) -> String {
    let viewer = steward
        .viewer(email)
        .unwrap_or_else(|e| panic!("{email}: {e}"));
    steward
        .create_token(
            &Stamp::of(&viewer),
            &NewToken {
                name: "webhooks".into(),
                service: None,
                access: TokenAccess::ReadWrite,
                registers: Vec::new(),
                expires_at: Utc::now() + Duration::days(1),
            },
        )
        .unwrap_or_else(|e| panic!("{email}: {e}"))
        .1
}

fn call(
    client: &mut support::Client,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Json>,
) -> support::Reply {
    let bearer = format!("Bearer {token}");
    client.request(
        method,
        path,
        &[("Authorization", bearer.as_str())],
        body.map(|b| ("application/json", b.to_string().into_bytes())),
    )
}

/// Waits until `ready` holds (asked every 50 ms) or `secs` seconds pass: what is waited for
/// comes from another thread or process, and the assertions after it say what was missing.
fn eventually(secs: u64, mut ready: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !ready() && started.elapsed() < std::time::Duration::from_secs(secs) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn json_of(reply: &support::Reply) -> Json {
    serde_json::from_str(&reply.body)
        .unwrap_or_else(|e| panic!("{e}: {} {}", reply.status, reply.body))
}

#[test]
fn events_reach_a_subscribed_receiver_signed_and_a_failing_one_is_turned_off() {
    let dir = steward_store::testing::TempDir::new("webhooks").unwrap_or_else(|e| panic!("{e}"));
    let Some(receiver) = Receiver::start(dir.path()) else {
        return;
    };
    for db in steward_store::testing::databases("web_webhooks") {
        let b = db.backend;
        let _ = std::fs::remove_file(&receiver.out);
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let secrets = support::it_staff_and_administrator(&steward, "example.org");
        let server = Server::start(
            &db.url,
            steward_web::Options {
                jobs: steward_service::WorkerSettings {
                    webhooks_allow_private: true,
                    poll: std::time::Duration::from_millis(100),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let admin = token(&steward, "administrator@example.org");
        let staff = token(&steward, "staff@example.org");
        let mut client = server.client();

        // Only an administrator subscribes; an unknown event is refused with the known ones.
        let refused = call(&mut client, &staff, "GET", "/api/v1/webhooks", None);
        assert_eq!(refused.status, 403, "{b}: {}", refused.body);
        let url = format!("http://127.0.0.1:{}/ok", receiver.port);
        let unknown = call(
            &mut client,
            &admin,
            "POST",
            "/api/v1/webhooks",
            Some(json!({ "url": url, "events": ["the.weather"] })),
        );
        assert_eq!(unknown.status, 422, "{b}: {}", unknown.body);
        assert!(
            unknown.body.contains("finding.opened"),
            "{b}: {}",
            unknown.body
        );
        let made = call(
            &mut client,
            &admin,
            "POST",
            "/api/v1/webhooks",
            Some(
                json!({ "url": url, "events": ["incident.reported", "finding.opened", "request.fulfilled"] }),
            ),
        );
        assert_eq!(made.status, 201, "{b}: {}", made.body);
        let made = json_of(&made);
        let secret = made["secret"].as_str().unwrap_or_default();
        assert!(secret.starts_with("whsec_"), "{b}: {made}");
        std::fs::write(&receiver.secret, secret).unwrap_or_else(|e| panic!("{e}"));
        let hook = made["id"].as_str().unwrap_or_default().to_owned();
        let listed = json_of(&call(&mut client, &admin, "GET", "/api/v1/webhooks", None));
        assert!(
            !listed.to_string().contains(secret),
            "{b}: the secret is shown once"
        );

        // An incident reported: the receiver has it, signed, within moments.
        let reported = call(
            &mut client,
            &staff,
            "POST",
            "/api/v1/incidents",
            Some(json!({ "type": "data-breach", "facts": "A report sent to the wrong address" })),
        );
        assert_eq!(reported.status, 201, "{b}: {}", reported.body);
        let incident = json_of(&reported)["incident"]["id"].clone();
        eventually(20, || !receiver.received().is_empty());
        let got = receiver.received();
        assert_eq!(got.len(), 1, "{b}: {got:?}");
        let message = &got[0];
        assert_eq!(
            message["verified"],
            json!(true),
            "{b}: the signature holds: {message}"
        );
        assert_eq!(message["body"]["type"], "incident.reported", "{b}");
        assert_eq!(message["body"]["data"]["incident"]["id"], incident, "{b}");
        // The receiver can have the message before the server has recorded its answer: wait
        // for the delivery to leave `pending`.
        let mut deliveries = Json::Null;
        eventually(20, || {
            deliveries = json_of(&call(
                &mut client,
                &admin,
                "GET",
                &format!("/api/v1/webhooks/{hook}/deliveries"),
                None,
            ));
            deliveries["items"][0]["state"] != json!("pending")
        });
        let first = &deliveries["items"][0];
        assert_eq!(
            (
                first["state"].clone(),
                first["last_status"].clone(),
                first["id"].clone()
            ),
            (json!("delivered"), json!(204), message["id"].clone()),
            "{b}: {deliveries}"
        );

        // A request fulfilled by the IT team: an event (its raising, not subscribed, none).
        let raised = call(
            &mut client,
            &staff,
            "POST",
            "/api/v1/requests",
            Some(json!({ "type": "pac-code", "person_id": "S1" })),
        );
        assert_eq!(raised.status, 201, "{b}: {}", raised.body);
        let request = json_of(&raised)["request"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let it = token(&steward, "it@example.org");
        let fulfilled = call(
            &mut client,
            &it,
            "POST",
            &format!("/api/v1/requests/{request}/fulfil"),
            None,
        );
        assert_eq!(fulfilled.status, 200, "{b}: {}", fulfilled.body);
        let of_type = |r: &Receiver, kind: &str| {
            r.received()
                .into_iter()
                .filter(|m| m["body"]["type"] == kind)
                .collect::<Vec<_>>()
        };
        eventually(20, || !of_type(&receiver, "request.fulfilled").is_empty());
        let done = of_type(&receiver, "request.fulfilled");
        assert_eq!(done.len(), 1, "{b}: {:?}", receiver.received());
        assert_eq!(
            done[0]["body"]["data"]["request"]["id"],
            json!(request),
            "{b}"
        );
        assert!(
            of_type(&receiver, "request.raised").is_empty(),
            "{b}: not subscribed"
        );

        // A check run's findings opened: each one an event, read from what the run recorded.
        let packs = support::demo::packs();
        let summary = steward
            .check_and_record(
                &Stamp::now("test"),
                &packs.iter().collect::<Vec<_>>(),
                &steward_policy::Overrides::default(),
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            summary.opened > 0,
            "{b}: the checks find something: {summary:?}"
        );
        let opened = |r: &Receiver| {
            r.received()
                .into_iter()
                .filter(|m| m["body"]["type"] == "finding.opened")
                .collect::<Vec<_>>()
        };
        eventually(30, || opened(&receiver).len() >= summary.opened);
        let findings = opened(&receiver);
        assert_eq!(
            findings.len(),
            summary.opened,
            "{b}: one message a finding opened"
        );
        assert!(
            findings.iter().all(|m| m["verified"] == json!(true)
                && m["body"]["data"]["finding"]["state"] == "open"
                && m["body"]["data"]["key"]
                    .as_str()
                    .is_some_and(|k| k.contains('/'))),
            "{b}: {:?}",
            findings.first()
        );

        // A receiver that keeps failing: retried later and later, then turned off with why.
        let failing = steward
            .subscribe_webhook(
                &Stamp::now("test"),
                &format!("http://127.0.0.1:{}/fail", receiver.port),
                &["request.raised".to_owned()],
                true,
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .0;
        for _ in 0..3 {
            let raised = call(
                &mut client,
                &staff,
                "POST",
                "/api/v1/requests",
                Some(json!({ "type": "pac-code", "person_id": "S1" })),
            );
            assert_eq!(raised.status, 201, "{b}: {}", raised.body);
        }
        let mut now = Utc::now();
        for _ in 0..40 {
            now += Duration::days(1);
            steward
                .deliver_due(now, true)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        let hooks = steward
            .webhooks(&Stamp::now("test"))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let off = hooks
            .iter()
            .find(|h| h.id == failing.id)
            .unwrap_or_else(|| panic!("{b}"));
        assert!(!off.enabled, "{b}: {off:?}");
        assert!(
            off.disabled_reason
                .as_deref()
                .is_some_and(|r| r.contains("failed deliveries")),
            "{b}: {off:?}"
        );
        let tried = steward
            .webhook_deliveries(&Stamp::now("test"), &failing.id, 10)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            tried
                .iter()
                .all(|d| d.last_status == Some(500) && d.attempts > 1),
            "{b}: each retried, each answer kept: {tried:?}"
        );
        let fails = receiver
            .received()
            .iter()
            .filter(|m| m["path"] == "/fail")
            .count();
        assert!(fails >= 10, "{b}: {fails}");
        // The administrators are left a notice, which the mail sends them as any other.
        let key = steward_model::join_key(&[
            steward_model::Value::Text(failing.id.clone()),
            steward_model::Value::Text("administrators".into()),
        ]);
        let notice: steward_model::Notification = steward
            .get(&key)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: no notice that {} was turned off", failing.id));
        assert!(
            notice.acknowledged_at.is_none() && notice.reason.contains("/fail"),
            "{b}: {notice:?}"
        );
        let due = steward.mail_due().unwrap_or_else(|e| panic!("{b}: {e}"));
        let mailed = due
            .iter()
            .find(|n| n.notification.about == failing.id)
            .unwrap_or_else(|| panic!("{b}: not due for mail"));
        assert_eq!(
            (mailed.concerns, mailed.team),
            (
                steward_service::Concerns::Webhook,
                Some(steward_model::Role::Administrator)
            ),
            "{b}"
        );

        // On screen, for administrators only: every webhook, one's deliveries with the answers.
        let mut page = support::signed_in_as(&server, &secrets, "administrator");
        let list = page.get("/admin/webhooks");
        assert_eq!(list.status, 200, "{b}");
        assert!(
            list.body.contains(&format!("id=\"enable-{}\"", failing.id))
                && list.body.contains(&format!("id=\"disable-{hook}\"")),
            "{b}: {}",
            list.body
        );
        let one = page.get(&format!("/admin/webhooks/{}", failing.id));
        assert_eq!(one.status, 200, "{b}");
        assert!(one.body.contains("<td>500</td>"), "{b}: {}", one.body);
        assert_eq!(page.get("/admin/webhooks/whk_none").status, 404, "{b}");
        let mut staff_page = support::signed_in_as(&server, &secrets, "staff");
        assert_eq!(staff_page.get("/admin/webhooks").status, 403, "{b}");
        let refused = page.submit(
            "/admin/webhooks",
            "/admin/webhooks",
            &[
                ("act", "add"),
                ("url", "ftp://example.org/x"),
                ("event", "incident.late"),
            ],
        );
        assert_eq!(refused.status, 422, "{b}: {}", refused.body);
        assert!(
            refused.body.contains("id=\"webhook-error\"")
                && refused.body.contains("value=\"ftp://example.org/x\"")
                && refused.body.contains("value=\"incident.late\" checked"),
            "{b}: the form as it was sent: {}",
            refused.body
        );
        let made = page.submit(
            "/admin/webhooks",
            "/admin/webhooks",
            &[
                ("act", "add"),
                ("url", &format!("http://127.0.0.1:{}/ok", receiver.port)),
                ("event", "request.overdue"),
            ],
        );
        assert_eq!(made.status, 200, "{b}: {}", made.body);
        let secret_shown = made
            .body
            .split("id=\"webhook-secret\" readonly value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_owned();
        assert!(secret_shown.starts_with("whsec_"), "{b}: {}", made.body);
        assert!(
            !page.get("/admin/webhooks").body.contains(&secret_shown),
            "{b}: the secret is shown once"
        );

        // Turned on again by an administrator: its failures forgotten.
        let on = call(
            &mut client,
            &admin,
            "POST",
            &format!("/api/v1/webhooks/{}/enable", failing.id),
            None,
        );
        assert_eq!(json_of(&on)["failures"], json!(0), "{b}: {}", on.body);
        let notice: steward_model::Notification = steward
            .get(&key)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}"));
        assert!(
            notice.acknowledged_at.is_some(),
            "{b}: turning it on acknowledges the notice: {notice:?}"
        );

        // Without the configuration's leave, no private destination.
        let private = steward.subscribe_webhook(
            &Stamp::now("test"),
            &format!("http://127.0.0.1:{}/ok", receiver.port),
            &["incident.reported".to_owned()],
            false,
        );
        assert!(
            private
                .as_ref()
                .is_err_and(|e| e.to_string().contains("private network")),
            "{b}: {private:?}"
        );
        drop(server);
    }
}

/// Events found by looking rather than by a step: a request past its due date, an incident
/// whose ICO deadline is within a day with no decision, and an incident reported after its
/// window. Each is sent once, however many check runs look.
#[test]
fn deadlines_are_told_once_each() {
    let dir =
        steward_store::testing::TempDir::new("webhook_deadlines").unwrap_or_else(|e| panic!("{e}"));
    let Some(receiver) = Receiver::start(dir.path()) else {
        return;
    };
    for db in steward_store::testing::databases("web_webhook_deadlines") {
        let b = db.backend;
        let _ = std::fs::remove_file(&receiver.out);
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        support::it_staff_and_administrator(&steward, "example.org");
        let server = Server::start(
            &db.url,
            steward_web::Options {
                jobs: steward_service::WorkerSettings {
                    webhooks_allow_private: true,
                    poll: std::time::Duration::from_millis(100),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let (_, secret) = steward
            .subscribe_webhook(
                &Stamp::now("test"),
                &format!("http://127.0.0.1:{}/ok", receiver.port),
                &[
                    "request.overdue".to_owned(),
                    "incident.ico_deadline_near".to_owned(),
                    "incident.late".to_owned(),
                ],
                true,
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        std::fs::write(&receiver.secret, &secret).unwrap_or_else(|e| panic!("{e}"));
        let staff = token(&steward, "staff@example.org");
        let mut client = server.client();

        // A request whose due date has passed.
        let raised = call(
            &mut client,
            &staff,
            "POST",
            "/api/v1/requests",
            Some(json!({ "type": "pac-code", "person_id": "S1" })),
        );
        assert_eq!(raised.status, 201, "{b}: {}", raised.body);
        let id = json_of(&raised)["request"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut request: steward_model::Request = steward
            .get(&id)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: {id}"));
        request.due_on = Some(Utc::now().date_naive() - Duration::days(10));
        steward
            .update(&Stamp::now("test"), &request)
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        // A breach found 50 hours ago, reported now: late for its window, and 22 hours left
        // to tell the ICO.
        let found = (Utc::now() - Duration::hours(50)).to_rfc3339();
        let reported = call(
            &mut client,
            &staff,
            "POST",
            "/api/v1/incidents",
            Some(
                json!({ "type": "data-breach", "facts": "A list left on a train", "discovered_at": found }),
            ),
        );
        assert_eq!(reported.status, 201, "{b}: {}", reported.body);
        let incident = json_of(&reported)["incident"]["id"].clone();

        // Two check runs look; each moment is sent once.
        let packs = support::demo::packs();
        for _ in 0..2 {
            steward
                .check_and_record(
                    &Stamp::now("test"),
                    &packs.iter().collect::<Vec<_>>(),
                    &steward_policy::Overrides::default(),
                )
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        let of_type = |kind: &str| {
            receiver
                .received()
                .into_iter()
                .filter(|m| m["body"]["type"] == kind)
                .collect::<Vec<_>>()
        };
        eventually(20, || {
            !of_type("request.overdue").is_empty()
                && !of_type("incident.ico_deadline_near").is_empty()
                && !of_type("incident.late").is_empty()
        });
        // Time for a second message, were one wrongly queued.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let overdue = of_type("request.overdue");
        assert_eq!(overdue.len(), 1, "{b}: {:?}", receiver.received());
        assert_eq!(
            overdue[0]["body"]["data"]["request"]["id"],
            json!(id),
            "{b}"
        );
        assert!(
            overdue[0]["body"]["data"]["overdue_working_days"]
                .as_i64()
                .is_some_and(|d| d >= 5),
            "{b}: {}",
            overdue[0]
        );
        let near = of_type("incident.ico_deadline_near");
        assert_eq!(near.len(), 1, "{b}: {:?}", receiver.received());
        assert_eq!(near[0]["body"]["data"]["incident"]["id"], incident, "{b}");
        assert!(
            near[0]["body"]["data"]["hours_left"]
                .as_i64()
                .is_some_and(|h| (20..=22).contains(&h)),
            "{b}: {}",
            near[0]
        );
        let late = of_type("incident.late");
        assert_eq!(late.len(), 1, "{b}");
        assert!(
            receiver
                .received()
                .iter()
                .all(|m| m["verified"] == json!(true)),
            "{b}: every message signed"
        );
        drop(server);
    }
}
