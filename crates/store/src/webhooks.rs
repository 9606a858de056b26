//! Webhooks (`webhooks`) and their deliveries (`webhook_deliveries`). A webhook is where Steward
//! posts its events: its url, the events it wants (separated by `;`), its signing secret — sealed
//! by the service, opaque text here — whether it is enabled (and why not), and how many of its
//! deliveries in a row have failed. Creating, enabling and disabling one are each one audit
//! record (entity [`WEBHOOK_ENTITY`], id the webhook's id), chained in the same transaction; the
//! audit record never holds the secret, only a digest of it, so that a secret swapped behind the
//! log's back is found by verification. Its count of failures is not audited (and not verified).
//!
//! A delivery is one event's message to one webhook (its id the Standard Webhooks message id):
//! queued `pending`, tried until `delivered`, or given up as `failed`. Deliveries are the
//! operational record of what was sent and how it went: not audited.
//!
//! The writes are written once here for both backends, over [`PlainTx`]; the reads are each
//! backend's, on its reading connections.

use chrono::{DateTime, Utc};
use serde_json::json;
use steward_model::audit::canonical_json;

use crate::Result;
use crate::commit::AuditChain;
use crate::findings::{Cell, CellReader, Columns, Kind};
use crate::sources::PlainTx;
use crate::sql::{Placeholder, column_list, insert_into};

/// The audit log's entity type for a webhook; the entity id is the webhook's id.
pub const WEBHOOK_ENTITY: &str = "webhook";

/// One webhook as stored. Deciding what it is sent, and when to give up on it, is the service's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// Its id (`whk_…`), shown in lists and audit records.
    pub id: String,
    pub url: String,
    /// The event names it is sent, separated by `;`.
    pub events: String,
    /// Its signing secret, sealed by the service: opaque text to the store.
    pub secret: String,
    pub enabled: bool,
    /// How many deliveries in a row have failed (not audited).
    pub failures: i64,
    /// Why it was disabled; `None` while enabled.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// One delivery of one event to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// The Standard Webhooks message id (`msg_…`).
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    /// The JSON body, as text.
    pub payload: String,
    pub created_at: DateTime<Utc>,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// When it is next tried, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt; `None` if none was had (or none made).
    pub last_status: Option<i64>,
    /// What the last attempt's answer (or failure) said.
    pub last_response: Option<String>,
}

/// The `webhooks` table's columns, in the order rows are read and written.
pub(crate) const WEBHOOK_COLUMNS: Columns = &[
    ("id", Kind::Text),
    ("url", Kind::Text),
    ("events", Kind::Text),
    ("secret", Kind::Text),
    ("enabled", Kind::Bool),
    ("failures", Kind::Int),
    ("disabled_reason", Kind::Text),
    ("created_at", Kind::Time),
    ("created_by", Kind::Text),
];

/// The `webhook_deliveries` table's columns, in the order rows are read and written.
pub(crate) const DELIVERY_COLUMNS: Columns = &[
    ("id", Kind::Text),
    ("webhook_id", Kind::Text),
    ("event", Kind::Text),
    ("payload", Kind::Text),
    ("created_at", Kind::Time),
    ("state", Kind::Text),
    ("attempts", Kind::Int),
    ("next_attempt_at", Kind::Time),
    ("last_attempt_at", Kind::Time),
    ("last_status", Kind::Int),
    ("last_response", Kind::Text),
];

pub(crate) fn webhook_cells(w: &WebhookRow) -> Vec<Cell> {
    vec![
        Cell::Text(Some(w.id.clone())),
        Cell::Text(Some(w.url.clone())),
        Cell::Text(Some(w.events.clone())),
        Cell::Text(Some(w.secret.clone())),
        Cell::Bool(Some(w.enabled)),
        Cell::Int(Some(w.failures)),
        Cell::Text(w.disabled_reason.clone()),
        Cell::Time(Some(w.created_at)),
        Cell::Text(Some(w.created_by.clone())),
    ]
}

pub(crate) fn webhook_from_cells(cells: Vec<Cell>) -> Result<WebhookRow> {
    let mut r = CellReader::new("webhooks", WEBHOOK_COLUMNS, cells);
    Ok(WebhookRow {
        id: r.text()?,
        url: r.text()?,
        events: r.text()?,
        secret: r.text()?,
        enabled: r.bool()?,
        failures: r.int()?,
        disabled_reason: r.opt_text()?.1,
        created_at: r.time()?,
        created_by: r.text()?,
    })
}

pub(crate) fn delivery_cells(d: &DeliveryRow) -> Vec<Cell> {
    vec![
        Cell::Text(Some(d.id.clone())),
        Cell::Text(Some(d.webhook_id.clone())),
        Cell::Text(Some(d.event.clone())),
        Cell::Text(Some(d.payload.clone())),
        Cell::Time(Some(d.created_at)),
        Cell::Text(Some(d.state.clone())),
        Cell::Int(Some(d.attempts)),
        Cell::Time(d.next_attempt_at),
        Cell::Time(d.last_attempt_at),
        Cell::Int(d.last_status),
        Cell::Text(d.last_response.clone()),
    ]
}

pub(crate) fn delivery_from_cells(cells: Vec<Cell>) -> Result<DeliveryRow> {
    let mut r = CellReader::new("webhook_deliveries", DELIVERY_COLUMNS, cells);
    Ok(DeliveryRow {
        id: r.text()?,
        webhook_id: r.text()?,
        event: r.text()?,
        payload: r.text()?,
        created_at: r.time()?,
        state: r.text()?,
        attempts: r.int()?,
        next_attempt_at: r.opt_time()?.1,
        last_attempt_at: r.opt_time()?.1,
        last_status: r.opt_int()?,
        last_response: r.opt_text()?.1,
    })
}

/// Which webhooks a statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WebhookSelect {
    /// Every webhook, oldest first.
    All,
    /// The webhook with id `$1`.
    ById,
}

/// The statement reading webhooks.
pub(crate) fn webhook_select(which: WebhookSelect, p: Placeholder) -> String {
    let columns = column_list(WEBHOOK_COLUMNS, "");
    match which {
        WebhookSelect::All => {
            format!("SELECT {columns} FROM webhooks ORDER BY created_at, id")
        }
        WebhookSelect::ById => format!("SELECT {columns} FROM webhooks WHERE id = {}", p.nth(1)),
    }
}

/// Which deliveries a statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliverySelect {
    /// The pending deliveries of enabled webhooks due at `$1` (a time), oldest
    /// `next_attempt_at` first, at most `$2`.
    Due,
    /// The deliveries of webhook `$1` (an id), newest first, at most `$2`.
    Of,
}

/// The statement reading deliveries.
pub(crate) fn delivery_select(which: DeliverySelect, p: Placeholder) -> String {
    let columns = column_list(DELIVERY_COLUMNS, "d.");
    match which {
        DeliverySelect::Due => format!(
            "SELECT {columns} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= {} AND w.enabled \
             ORDER BY d.next_attempt_at, d.id LIMIT {}",
            p.nth(1),
            p.nth(2)
        ),
        DeliverySelect::Of => format!(
            "SELECT {columns} FROM webhook_deliveries d WHERE d.webhook_id = {} \
             ORDER BY d.created_at DESC, d.id DESC LIMIT {}",
            p.nth(1),
            p.nth(2)
        ),
    }
}

/// The audit log's view of a webhook (and what verification compares the table with): its url,
/// events, whether it is enabled and why not, and only a digest of its secret; never the secret,
/// nor its count of failures, which changes unaudited.
pub(crate) fn audit_view(w: &WebhookRow) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(w.secret.as_bytes()));
    canonical_json(&json!({
        "url": w.url,
        "events": w.events,
        "enabled": w.enabled,
        "disabled_reason": w.disabled_reason,
        "secret_sha256": digest,
    }))
}

fn load(tx: &mut dyn PlainTx, id: &str) -> Result<Option<WebhookRow>> {
    let sql = webhook_select(WebhookSelect::ById, tx.placeholder());
    tx.rows(
        &sql,
        &[Cell::Text(Some(id.to_owned()))],
        "webhooks",
        WEBHOOK_COLUMNS,
    )?
    .into_iter()
    .next()
    .map(webhook_from_cells)
    .transpose()
}

/// Stores a new webhook with one audit record (`create`, by `actor` at `at`), in the caller's
/// transaction. An id already stored is the database's error.
pub(crate) fn create(
    tx: &mut dyn PlainTx,
    actor: &str,
    at: DateTime<Utc>,
    webhook: &WebhookRow,
) -> Result<()> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let sql = insert_into("webhooks", WEBHOOK_COLUMNS, tx.placeholder());
    tx.exec(&sql, &webhook_cells(webhook))?;
    audit.append(
        "create",
        WEBHOOK_ENTITY,
        &webhook.id,
        None,
        Some(audit_view(webhook)),
    );
    audit.finish(tx).map(drop)
}

/// Enables webhook `id` (its failures back to 0, its reason cleared) or disables it (with
/// `reason`), with one audit record (`enable` or `disable`), in the caller's transaction: the
/// webhook as it now stands, or `None` (nothing written) if there is none. When its audited
/// state does not change (enabling one enabled already), no record is written.
pub(crate) fn set_enabled(
    tx: &mut dyn PlainTx,
    actor: &str,
    at: DateTime<Utc>,
    id: &str,
    enabled: bool,
    reason: Option<&str>,
) -> Result<Option<WebhookRow>> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let Some(before) = load(tx, id)? else {
        return Ok(None);
    };
    let after = if enabled {
        WebhookRow {
            enabled: true,
            failures: 0,
            disabled_reason: None,
            ..before.clone()
        }
    } else {
        WebhookRow {
            enabled: false,
            disabled_reason: reason.map(str::to_owned),
            ..before.clone()
        }
    };
    let p = tx.placeholder();
    let sql = format!(
        "UPDATE webhooks SET enabled = {}, failures = {}, disabled_reason = {} WHERE id = {}",
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4)
    );
    tx.exec(
        &sql,
        &[
            Cell::Bool(Some(after.enabled)),
            Cell::Int(Some(after.failures)),
            Cell::Text(after.disabled_reason.clone()),
            Cell::Text(Some(id.to_owned())),
        ],
    )?;
    let (before_view, after_view) = (audit_view(&before), audit_view(&after));
    if before_view != after_view {
        audit.append(
            if enabled { "enable" } else { "disable" },
            WEBHOOK_ENTITY,
            id,
            Some(before_view),
            Some(after_view),
        );
    }
    audit.finish(tx)?;
    Ok(Some(after))
}

/// Replaces a webhook's sealed secret (a key rotation sealing it afresh), with one audit record
/// (action `reseal_secret`) whose view holds the new sealed text's digest, never the text.
/// `false`, nothing written, if there is no such webhook.
pub(crate) fn set_secret(
    tx: &mut dyn PlainTx,
    actor: &str,
    at: DateTime<Utc>,
    id: &str,
    secret: &str,
) -> Result<bool> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let Some(before) = load(tx, id)? else {
        return Ok(false);
    };
    let after = WebhookRow {
        secret: secret.to_owned(),
        ..before.clone()
    };
    let p = tx.placeholder();
    let sql = format!(
        "UPDATE webhooks SET secret = {} WHERE id = {}",
        p.nth(1),
        p.nth(2)
    );
    tx.exec(
        &sql,
        &[
            Cell::Text(Some(after.secret.clone())),
            Cell::Text(Some(id.to_owned())),
        ],
    )?;
    audit.append(
        "reseal_secret",
        WEBHOOK_ENTITY,
        id,
        Some(audit_view(&before)),
        Some(audit_view(&after)),
    );
    audit.finish(tx)?;
    Ok(true)
}

/// Queues deliveries, in the caller's transaction; not audited. An id already stored, or a
/// webhook that is not, is the database's error.
pub(crate) fn queue(tx: &mut dyn PlainTx, deliveries: &[DeliveryRow]) -> Result<()> {
    let sql = insert_into("webhook_deliveries", DELIVERY_COLUMNS, tx.placeholder());
    for delivery in deliveries {
        tx.exec(&sql, &delivery_cells(delivery))?;
    }
    Ok(())
}

/// Queues each moment's deliveries only if the moment was not seen before, marking it seen, in
/// the caller's transaction; how many moments were new.
pub(crate) fn queue_once(
    tx: &mut dyn PlainTx,
    moments: &[(String, Vec<DeliveryRow>)],
    at: DateTime<Utc>,
) -> Result<usize> {
    let p = tx.placeholder();
    let mark = format!(
        "INSERT INTO webhook_moments (key, happened_at) VALUES ({}, {}) ON CONFLICT (key) DO NOTHING",
        p.nth(1),
        p.nth(2)
    );
    let mut new = 0;
    for (key, deliveries) in moments {
        if tx.exec(
            &mark,
            &[Cell::Text(Some(key.clone())), Cell::Time(Some(at))],
        )? == 1
        {
            queue(tx, deliveries)?;
            new += 1;
        }
    }
    Ok(new)
}

/// What one attempt to deliver came to.
pub(crate) struct Attempt<'a> {
    pub id: &'a str,
    pub at: DateTime<Utc>,
    pub status: Option<i64>,
    pub response: Option<&'a str>,
    pub delivered: bool,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub give_up: bool,
}

/// Records one attempt at pending delivery `id`, in the caller's transaction; not audited: its
/// attempts counted, its last status and response kept, and it `delivered`, `failed` (given up)
/// or still `pending` until `next_attempt_at`; its webhook's failures back to 0 if delivered,
/// else one more. Nothing if there is no such delivery pending.
pub(crate) fn record_attempt(tx: &mut dyn PlainTx, a: &Attempt<'_>) -> Result<()> {
    let state = if a.delivered {
        "delivered"
    } else if a.give_up {
        "failed"
    } else {
        "pending"
    };
    let next = if state == "pending" {
        a.next_attempt_at
    } else {
        None
    };
    let p = tx.placeholder();
    let sql = format!(
        "UPDATE webhook_deliveries SET state = {}, attempts = attempts + 1, \
         next_attempt_at = {}, last_attempt_at = {}, last_status = {}, last_response = {} \
         WHERE id = {} AND state = 'pending'",
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4),
        p.nth(5),
        p.nth(6)
    );
    let changed = tx.exec(
        &sql,
        &[
            Cell::Text(Some(state.to_owned())),
            Cell::Time(next),
            Cell::Time(Some(a.at)),
            Cell::Int(a.status),
            Cell::Text(a.response.map(str::to_owned)),
            Cell::Text(Some(a.id.to_owned())),
        ],
    )?;
    if changed == 0 {
        return Ok(());
    }
    let failures = if a.delivered { "0" } else { "failures + 1" };
    let sql = format!(
        "UPDATE webhooks SET failures = {failures} \
         WHERE id = (SELECT webhook_id FROM webhook_deliveries WHERE id = {})",
        p.nth(1)
    );
    tx.exec(&sql, &[Cell::Text(Some(a.id.to_owned()))])?;
    Ok(())
}
