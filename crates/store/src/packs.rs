//! Which of the policy packs the server knows the organisation runs: a pack is active or not,
//! and every change is one audit record (entity [`PACK_ENTITY`], id the pack's id) chained in
//! the same transaction. The packs themselves (built in, or read from folders) are not stored
//! here; only the organisation's choice among them.

use chrono::{DateTime, Utc};
use serde_json::json;
use steward_model::audit::canonical_json;

use crate::Result;
use crate::commit::{AuditChain, AuditTx};
use crate::findings::{Cell, CellReader, Columns, Kind};

/// The audit log's entity type for a pack's activation; the entity id is the pack's id.
pub const PACK_ENTITY: &str = "pack";

/// One pack's standing: active or not, since when and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackChoice {
    pub id: String,
    pub active: bool,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
}

/// The `packs` table's columns, in the order rows are read and written.
pub(crate) const PACK_COLUMNS: Columns = &[
    ("id", Kind::Text),
    ("active", Kind::Bool),
    ("changed_at", Kind::Time),
    ("changed_by", Kind::Text),
];

pub(crate) fn pack_cells(p: &PackChoice) -> Vec<Cell> {
    vec![
        Cell::Text(Some(p.id.clone())),
        Cell::Bool(Some(p.active)),
        Cell::Time(Some(p.changed_at)),
        Cell::Text(Some(p.changed_by.clone())),
    ]
}

pub(crate) fn pack_from_cells(cells: Vec<Cell>) -> Result<PackChoice> {
    let mut r = CellReader::new("packs", PACK_COLUMNS, cells);
    Ok(PackChoice {
        id: r.text()?,
        active: r.bool()?,
        changed_at: r.time()?,
        changed_by: r.text()?,
    })
}

/// What one transaction needs of a backend to change a pack's standing.
pub(crate) trait PackTx: AuditTx {
    fn load_pack(&mut self, id: &str) -> Result<Option<PackChoice>>;
    /// Inserts the pack's row or rewrites it.
    fn upsert_pack(&mut self, pack: &PackChoice) -> Result<()>;
}

/// The audit log's view of a pack's standing (and what verification compares the table with).
pub(crate) fn audit_view(active: bool) -> String {
    canonical_json(&json!({ "active": active }))
}

/// Makes pack `id` active or not, with one audit record, in the caller's transaction under the
/// audit head's lock. `false` (nothing written) when it already stood so.
pub(crate) fn set_active(
    tx: &mut dyn PackTx,
    actor: &str,
    at: DateTime<Utc>,
    id: &str,
    active: bool,
) -> Result<bool> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let before = tx.load_pack(id)?;
    if before.as_ref().is_some_and(|b| b.active == active) {
        return Ok(false);
    }
    tx.upsert_pack(&PackChoice {
        id: id.to_owned(),
        active,
        changed_at: at,
        changed_by: actor.to_owned(),
    })?;
    audit.append(
        if active { "activate" } else { "deactivate" },
        PACK_ENTITY,
        id,
        before.map(|b| audit_view(b.active)),
        Some(audit_view(active)),
    );
    audit.finish(tx)?;
    Ok(true)
}
