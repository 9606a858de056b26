//! Webhooks: an administrator subscribes a URL to events; each event is kept as a delivery per
//! subscriber and sent by the server's own job — signed as the Standard Webhooks specification
//! has it, retried with a growing wait, the receiver's answer recorded — and a webhook that keeps
//! failing is turned off with the reason, for an administrator to turn on again. Destinations on
//! this machine or a private network are refused unless the operator allows them.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use steward_model::Record as _;
use steward_store::{DeliveryRow, WebhookRow};

use crate::accounts::auth;
use crate::{Capacity, Result, ServiceError, Stamp, Steward};

/// The events a webhook may be subscribed to.
pub const EVENTS: [&str; 16] = [
    "finding.opened",
    "finding.resolved",
    "finding.escalated",
    "incident.reported",
    "incident.late",
    "incident.ico_deadline_near",
    "request.raised",
    "request.approved",
    "request.rejected",
    "request.fulfilled",
    "request.overdue",
    "import.finished",
    "import.failed",
    "sync.finished",
    "sync.failed",
    "webhook.test",
];

/// How long before an incident's ICO deadline, with no decision yet, `incident.ico_deadline_near`
/// is sent.
pub const ICO_DEADLINE_NEAR: TimeDelta = TimeDelta::hours(24);

/// The party Steward's notices about webhooks are to: whoever holds the administrator role.
const ADMINISTRATORS: &str = "administrators";

/// Failed attempts in a row before a webhook is turned off.
pub const MOST_FAILURES: i64 = 10;
/// Attempts at one message before it is given up.
const MOST_ATTEMPTS: i64 = 8;
/// Deliveries sent by one round of the job.
const ROUND: u64 = 200;

/// A subscription as administrators see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    /// Failed deliveries in a row.
    pub failures: i64,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

fn webhook_of(row: WebhookRow) -> Webhook {
    Webhook {
        id: row.id,
        url: row.url,
        events: row
            .events
            .split(';')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        enabled: row.enabled,
        failures: row.failures,
        disabled_reason: row.disabled_reason,
        created_at: row.created_at,
        created_by: row.created_by,
    }
}

/// What binds a webhook's sealed secret to it.
pub(crate) fn sealed_for(id: &str) -> String {
    format!("webhook:{id}")
}

/// The wait before attempt `n + 1` after `n` failed: a minute, doubling, at most a day.
fn backoff(attempts: i64) -> TimeDelta {
    let minutes = 1i64 << attempts.clamp(0, 11);
    TimeDelta::minutes(minutes.min(24 * 60))
}

fn invalid(problem: impl Into<String>) -> ServiceError {
    ServiceError::Webhook(problem.into())
}

/// One message of `event` for every enabled webhook of `hooks` that wants it, due at `at`.
fn deliveries(
    hooks: &[WebhookRow],
    event: &str,
    data: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<Vec<DeliveryRow>> {
    let payload = serde_json::json!({
        "type": event,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    })
    .to_string();
    hooks
        .iter()
        .filter(|h| h.enabled && h.events.split(';').any(|e| e == event))
        .map(|hook| {
            Ok(DeliveryRow {
                id: new_id("msg_")?,
                webhook_id: hook.id.clone(),
                event: event.to_owned(),
                payload: payload.clone(),
                created_at: at,
                state: "pending".into(),
                attempts: 0,
                next_attempt_at: Some(at),
                last_attempt_at: None,
                last_status: None,
                last_response: None,
            })
        })
        .collect()
}

/// A random id with a prefix.
fn new_id(prefix: &str) -> Result<String> {
    let random: String = steward_auth::new_token()
        .map_err(auth)?
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect();
    Ok(format!("{prefix}{random}"))
}

impl Steward {
    /// Subscribes `url` to `events` (an administrator's to do); the secret to verify its
    /// messages with, shown once. `allow_private`: the operator lets webhooks reach this
    /// machine and private networks.
    pub fn subscribe_webhook(
        &self,
        stamp: &Stamp,
        url: &str,
        events: &[String],
        allow_private: bool,
    ) -> Result<(Webhook, String)> {
        stamp.require(&[Capacity::Administrator], "subscribing a webhook")?;
        steward_connect::webhook::destination(url, allow_private)
            .map_err(|e| invalid(e.to_string()))?;
        if events.is_empty() {
            return Err(invalid("name at least one event"));
        }
        if let Some(unknown) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(invalid(format!(
                "{unknown:?} is not an event; the events are {}",
                EVENTS.join(", ")
            )));
        }
        let mut events: Vec<String> = events.to_vec();
        events.sort();
        events.dedup();
        let id = new_id("whk_")?;
        let secret = steward_auth::new_webhook_secret().map_err(auth)?;
        let row = WebhookRow {
            id: id.clone(),
            url: url.to_owned(),
            events: events.join(";"),
            secret: self.seal_secret(&sealed_for(&id), &secret)?,
            enabled: true,
            failures: 0,
            disabled_reason: None,
            created_at: stamp.at.trunc_subsecs(6),
            created_by: stamp.actor.clone(),
        };
        self.store()
            .create_webhook(&stamp.actor, row.created_at, &row)?;
        Ok((webhook_of(row), secret))
    }

    /// Every webhook, for administrators.
    pub fn webhooks(&self, stamp: &Stamp) -> Result<Vec<Webhook>> {
        stamp.require(&[Capacity::Administrator], "listing webhooks")?;
        Ok(self
            .store()
            .webhooks()?
            .into_iter()
            .map(webhook_of)
            .collect())
    }

    /// Turns a webhook on (its failures forgotten, and the administrators' notice that it was
    /// turned off acknowledged) or off.
    pub fn set_webhook_enabled(&self, stamp: &Stamp, id: &str, enabled: bool) -> Result<Webhook> {
        stamp.require(&[Capacity::Administrator], "turning a webhook on or off")?;
        let reason = (!enabled).then(|| format!("turned off by {}", stamp.actor));
        let hook = self
            .store()
            .set_webhook_enabled(
                &stamp.actor,
                stamp.at.trunc_subsecs(6),
                id,
                enabled,
                reason.as_deref(),
            )?
            .map(webhook_of)
            .ok_or_else(|| ServiceError::NoWebhook(id.to_owned()))?;
        if enabled {
            let key = steward_model::join_key(&[
                steward_model::Value::Text(id.to_owned()),
                steward_model::Value::Text(ADMINISTRATORS.to_owned()),
            ]);
            if let Some(mut notice) = self.get::<steward_model::Notification>(&key)?
                && notice.acknowledged_at.is_none()
            {
                notice.acknowledged_at = Some(stamp.at.trunc_subsecs(6));
                notice.acknowledged_by = stamp.authority.person_id.clone();
                self.write_all(stamp, vec![notice.to_row()])?;
            }
        }
        Ok(hook)
    }

    /// Leaves the administrators a notice that webhook `hook` was turned off (emailed as every
    /// notice is; acknowledged on turning it on again): a notification about the webhook to the
    /// `administrators` party, afresh each time it is turned off.
    fn tell_administrators_off(
        &self,
        hook: &WebhookRow,
        last: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let last: String = last.chars().take(200).collect();
        let notice = steward_model::Notification {
            about: hook.id.clone(),
            recipient: ADMINISTRATORS.to_owned(),
            reason: format!(
                "The webhook to {} was turned off after {MOST_FAILURES} failed deliveries in a \
                 row; the last said: {last}. Its messages wait for nobody: mend the receiver, \
                 then turn the webhook on again on the Webhooks page.",
                hook.url
            ),
            due_at: None,
            acknowledged_at: None,
            acknowledged_by: None,
            emailed_at: None,
        };
        let stamp = Stamp {
            at: now,
            ..Stamp::now("system:webhooks")
        };
        self.write_all(&stamp, vec![notice.to_row()])?;
        Ok(())
    }

    /// A webhook's latest deliveries, newest first, with what the receiver answered.
    pub fn webhook_deliveries(
        &self,
        stamp: &Stamp,
        id: &str,
        limit: u64,
    ) -> Result<Vec<DeliveryRow>> {
        stamp.require(&[Capacity::Administrator], "reading webhook deliveries")?;
        if !self.store().webhooks()?.iter().any(|w| w.id == id) {
            return Err(ServiceError::NoWebhook(id.to_owned()));
        }
        Ok(self.store().deliveries_of(id, limit)?)
    }

    /// Keeps `event` (with `data`) for every enabled webhook subscribed to it, to be sent by the
    /// next round; how many deliveries were queued. An event nobody wants costs one read.
    pub fn emit(&self, event: &str, data: serde_json::Value, at: DateTime<Utc>) -> Result<usize> {
        self.emit_all(vec![(event, data)], at)
    }

    /// [`Steward::emit`] for several events at once: the webhooks read once, every delivery
    /// queued in one transaction, one round of sending queued.
    fn emit_all(&self, events: Vec<(&str, serde_json::Value)>, at: DateTime<Utc>) -> Result<usize> {
        let at = at.trunc_subsecs(6);
        let hooks = self.store().webhooks()?;
        let mut rows = Vec::new();
        for (event, data) in events {
            rows.extend(deliveries(&hooks, event, &data, at)?);
        }
        if rows.is_empty() {
            return Ok(0);
        }
        self.store().queue_deliveries(&rows)?;
        self.enqueue_delivery()?;
        Ok(rows.len())
    }

    /// The events found by looking rather than by a step, each sent once: a request overdue
    /// (once per due date), an incident's ICO deadline within [`ICO_DEADLINE_NEAR`] with no
    /// decision yet (once per deadline). Looked for only when a webhook wants them; how many
    /// were new.
    pub(crate) fn emit_deadline_events(&self, now: DateTime<Utc>) -> Result<usize> {
        let at = now.trunc_subsecs(6);
        let hooks = self.store().webhooks()?;
        let wants = |event: &str| {
            hooks
                .iter()
                .any(|h| h.enabled && h.events.split(';').any(|e| e == event))
        };
        let mut moments = Vec::new();
        if wants("request.overdue") {
            for (request, sla) in self.requests(self.local_date(now)?)? {
                let (steward_workflow::Sla::Overdue { working_days }, Some(due)) =
                    (sla, request.due_on)
                else {
                    continue;
                };
                let data = serde_json::json!({
                    "request": request.to_row().to_json(),
                    "overdue_working_days": working_days,
                });
                moments.push((
                    format!("request.overdue:{}:{due}", request.id),
                    deliveries(&hooks, "request.overdue", &data, at)?,
                ));
            }
        }
        if wants("incident.ico_deadline_near") {
            for incident in self.list::<steward_model::Incident>()? {
                let Some(by) = incident.ico_notify_by else {
                    continue;
                };
                let open = incident.ico_decision.is_none() && incident.closed_at.is_none();
                if !open || now < by - ICO_DEADLINE_NEAR {
                    continue;
                }
                let data = serde_json::json!({
                    "incident": incident.to_row().to_json(),
                    "ico_notify_by": by.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "hours_left": (by - now).num_hours(),
                });
                moments.push((
                    format!(
                        "incident.ico_deadline_near:{}:{}",
                        incident.id,
                        by.timestamp()
                    ),
                    deliveries(&hooks, "incident.ico_deadline_near", &data, at)?,
                ));
            }
        }
        if moments.is_empty() {
            return Ok(0);
        }
        let new = self.store().queue_deliveries_once(&moments, at)?;
        if new > 0 {
            self.enqueue_delivery()?;
        }
        Ok(new)
    }

    /// [`Steward::emit`], for a step whose webhooks are no reason to fail it: a failure to
    /// queue them is said in the log.
    pub(crate) fn tell_webhooks(&self, event: &str, data: serde_json::Value, at: DateTime<Utc>) {
        if let Err(e) = self.emit(event, data, at) {
            tracing::warn!(%event, error = %e, "cannot queue the webhooks' messages");
        }
    }

    /// Whether any enabled webhook wants an event whose name begins with `prefix`.
    fn anyone_wants(&self, prefix: &str) -> Result<bool> {
        Ok(self
            .store()
            .webhooks()?
            .iter()
            .any(|h| h.enabled && h.events.split(';').any(|e| e.starts_with(prefix))))
    }

    /// The findings a check run opened, reopened, resolved or escalated, each an event, read
    /// from the audit records the run wrote — when a webhook wants them.
    pub(crate) fn emit_finding_events(
        &self,
        summary: &steward_store::FindingsSummary,
        at: DateTime<Utc>,
    ) -> Result<usize> {
        let Some((first, last)) = summary.audit_range else {
            return Ok(0);
        };
        if !self.anyone_wants("finding.")? {
            return Ok(0);
        }
        let query = steward_store::AuditQuery {
            entity: None,
            limit: u64::try_from(last - first + 1).ok(),
            before: Some(last + 1),
        };
        let mut events = Vec::new();
        let state = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                .and_then(|v| v.get("state").and_then(|s| s.as_str()).map(str::to_owned))
        };
        self.audit_log(&query, &mut |r| {
            if r.entity_type != steward_store::FINDING_ENTITY {
                return Ok(());
            }
            // What the step was, from the state before and after it.
            let (before, after) = (state(&r.before), state(&r.after));
            let failing = |s: &Option<String>| matches!(s.as_deref(), Some("open" | "escalated"));
            let event = if failing(&after)
                && !failing(&before)
                && before.as_deref() != Some("excepted")
            {
                "finding.opened"
            } else if after.as_deref() == Some("resolved") && before.as_deref() != Some("resolved")
            {
                "finding.resolved"
            } else if after.as_deref() == Some("escalated") && before.as_deref() == Some("open") {
                "finding.escalated"
            } else {
                return Ok(());
            };
            events.push((event, r.entity_id.clone(), r.after.clone()));
            Ok(())
        })?;
        let events = events
            .into_iter()
            .map(|(event, key, after)| {
                let finding = after
                    .as_deref()
                    .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
                    .unwrap_or(serde_json::Value::Null);
                (event, serde_json::json!({ "key": key, "finding": finding }))
            })
            .collect();
        self.emit_all(events, at)
    }

    /// Sends every delivery due at `now`: signed, its answer recorded; a failure waits longer
    /// each time, a message is given up after its last attempt, and a webhook failing
    /// [`MOST_FAILURES`] times in a row is turned off with the reason. How many were delivered.
    pub fn deliver_due(&self, now: DateTime<Utc>, allow_private: bool) -> Result<usize> {
        let due = self.store().due_deliveries(now, ROUND)?;
        if due.is_empty() {
            return Ok(0);
        }
        let hooks = self.store().webhooks()?;
        let mut delivered = 0;
        for d in due {
            let Some(hook) = hooks.iter().find(|h| h.id == d.webhook_id) else {
                continue;
            };
            let secret = self.open_secret(&sealed_for(&hook.id), &hook.secret)?;
            let timestamp = now.timestamp();
            let body = d.payload.clone().into_bytes();
            let Some(signature) = steward_auth::webhook_signature(&secret, &d.id, timestamp, &body)
            else {
                return Err(invalid(format!(
                    "webhook {}: its secret is unreadable",
                    hook.id
                )));
            };
            let headers = [
                ("webhook-id", d.id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
            ];
            let sent = steward_connect::webhook::send(&hook.url, allow_private, &headers, body);
            let (status, response, ok) = match sent {
                Ok((status, text)) => (Some(i64::from(status)), text, (200..300).contains(&status)),
                Err(e) => (None, e.to_string(), false),
            };
            let attempts = d.attempts + 1;
            let give_up = !ok && attempts >= MOST_ATTEMPTS;
            let next = (!ok && !give_up).then(|| now + backoff(attempts));
            self.store().record_delivery_attempt(
                &d.id,
                now.trunc_subsecs(6),
                status,
                Some(&response),
                ok,
                next.map(|t| t.trunc_subsecs(6)),
                give_up,
            )?;
            if ok {
                delivered += 1;
            } else if hook.failures + 1 >= MOST_FAILURES {
                let reason = format!(
                    "turned off after {MOST_FAILURES} failed deliveries in a row; the last: {}",
                    response.chars().take(200).collect::<String>()
                );
                tracing::warn!(webhook = %hook.id, url = %hook.url, %reason, "webhook turned off");
                self.store().set_webhook_enabled(
                    "system:webhooks",
                    now.trunc_subsecs(6),
                    &hook.id,
                    false,
                    Some(&reason),
                )?;
                self.tell_administrators_off(hook, &response, now)?;
            }
        }
        Ok(delivered)
    }
}
