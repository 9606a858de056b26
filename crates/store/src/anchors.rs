//! Anchors: the audit log's head as it was emailed outside Steward (the mail crate sends it), so
//! that anyone can see which heads went out, when and to whom. Not audited: an audit record for
//! the anchor would move the head it names.

use chrono::{DateTime, Utc};

use crate::findings::{Cell, CellReader, Columns, Kind};
use crate::{Result, StoreError};

/// One anchor sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditAnchor {
    /// The audit log's last sequence number when it was sent.
    pub seq: i64,
    /// That record's hash.
    pub hash: String,
    pub sent_at: DateTime<Utc>,
    /// The addresses it went to.
    pub recipients: Vec<String>,
}

pub(crate) const ANCHOR_COLUMNS: Columns = &[
    ("seq", Kind::Int),
    ("hash", Kind::Text),
    ("sent_at", Kind::Time),
    ("recipients", Kind::Text),
];

pub(crate) fn anchor_from_cells(cells: Vec<Cell>) -> Result<AuditAnchor> {
    let mut r = CellReader::new("audit_anchors", ANCHOR_COLUMNS, cells);
    Ok(AuditAnchor {
        seq: r.int()?,
        hash: r.text()?,
        sent_at: r.time()?,
        recipients: addresses_from_text(&r.text()?),
    })
}

/// A list of addresses as stored: `a@x, b@y`.
pub(crate) fn addresses_from_text(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether each address can stand in such a list: one word, without commas.
pub(crate) fn addresses_storable(addresses: &[String]) -> bool {
    !addresses
        .iter()
        .any(|a| a.trim().is_empty() || a.contains(',') || a.trim() != a)
}

/// The anchor's recipients as stored, after checking what a list of them can hold.
pub(crate) fn recipients_text(anchor: &AuditAnchor) -> Result<String> {
    let bad = |reason: &str| StoreError::InvalidAnchor(format!("recipients: {reason}"));
    if anchor.recipients.is_empty() {
        return Err(bad("an anchor is sent to someone"));
    }
    if !addresses_storable(&anchor.recipients) {
        return Err(bad("each address is one word, without commas"));
    }
    if anchor.seq < 0 || anchor.hash.is_empty() {
        return Err(StoreError::InvalidAnchor(
            "it needs a sequence number of 0 or more and a hash".into(),
        ));
    }
    Ok(anchor.recipients.join(", "))
}
