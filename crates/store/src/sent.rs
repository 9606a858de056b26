//! Mail that must go once — each escalation step's notice, each person's weekly digest — listed
//! as it is sent (`mail_sent`), so that a restart, or another server sharing the database, never
//! sends it again. Not audited: what was escalated is audited with its finding; this only says
//! the message went.

use chrono::{DateTime, Utc};

use crate::findings::{Cell, CellReader, Columns, Kind};
use crate::{Result, StoreError};

/// The kind of an escalation step's notice; its key is the `escalated` event's sequence number.
pub const ESCALATION_MAIL: &str = "escalation";
/// The kind of a weekly digest; its key is the ISO week and the person (`2026-W47/P001`).
pub const DIGEST_MAIL: &str = "digest";

/// One message sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MailSent {
    pub kind: String,
    pub key: String,
    pub sent_at: DateTime<Utc>,
    /// The addresses it went to; empty for escalations from before they were e-mailed.
    pub recipients: Vec<String>,
}

pub(crate) const MAIL_SENT_COLUMNS: Columns = &[
    ("kind", Kind::Text),
    ("key", Kind::Text),
    ("sent_at", Kind::Time),
    ("recipients", Kind::Text),
];

pub(crate) fn mail_sent_from_cells(cells: Vec<Cell>) -> Result<MailSent> {
    let mut r = CellReader::new("mail_sent", MAIL_SENT_COLUMNS, cells);
    Ok(MailSent {
        kind: r.text()?,
        key: r.text()?,
        sent_at: r.time()?,
        recipients: crate::anchors::addresses_from_text(&r.text()?),
    })
}

/// The cells to write, after checking what a list of addresses can hold.
pub(crate) fn mail_sent_cells(sent: &MailSent) -> Result<Vec<Cell>> {
    let bad = |reason: &str| StoreError::InvalidMailSent(reason.to_owned());
    if sent.kind.is_empty() || sent.key.is_empty() {
        return Err(bad("a kind and a key are needed"));
    }
    if !crate::anchors::addresses_storable(&sent.recipients) {
        return Err(bad("each address is one word, without commas"));
    }
    Ok(vec![
        Cell::Text(Some(sent.kind.clone())),
        Cell::Text(Some(sent.key.clone())),
        Cell::Time(Some(sent.sent_at)),
        Cell::Text(Some(sent.recipients.join(", "))),
    ])
}
