//! The organisation's policy packs: which of those the server knows it runs (a pack is active
//! or not; entity [`PACK_ENTITY`]), and the files of its own packs, imported from its documents
//! ([`PackDocument`]; entity [`PACK_DOCUMENT_ENTITY`]). Every change is one audit record, id the
//! pack's id, chained in the same transaction. Built-in packs and pack folders are not stored
//! here.

use chrono::{DateTime, NaiveDate, Utc};
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

/// What one transaction needs of a backend to change a pack's standing or its files.
pub(crate) trait PackTx: AuditTx {
    fn load_pack(&mut self, id: &str) -> Result<Option<PackChoice>>;
    /// Inserts the pack's row or rewrites it.
    fn upsert_pack(&mut self, pack: &PackChoice) -> Result<()>;
    fn load_pack_document(&mut self, id: &str) -> Result<Option<PackDocument>>;
    fn load_parameter(&mut self, name: &str, from: NaiveDate) -> Result<Option<ParameterOverride>>;
    fn upsert_parameter(&mut self, parameter: &ParameterOverride) -> Result<()>;
    /// Inserts the pack's files or rewrites them.
    fn upsert_pack_document(&mut self, document: &PackDocument) -> Result<()>;
}

/// The audit log's entity type for the organisation's value of a parameter from a day; the id is
/// `NAME@YYYY-MM-DD`.
pub const PARAMETER_ENTITY: &str = "parameter";

/// The organisation's value of a packs' parameter from a day on (`value` `None`: the pack's own
/// again), as TOML (`21`, `"GB"`, `["laptop"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterOverride {
    pub name: String,
    pub effective_from: NaiveDate,
    pub value: Option<String>,
    pub reason: String,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
}

impl ParameterOverride {
    /// The audit log's id for it.
    pub fn key(&self) -> String {
        format!("{}@{}", self.name, self.effective_from)
    }
}

pub(crate) const PARAMETER_COLUMNS: Columns = &[
    ("name", Kind::Text),
    ("effective_from", Kind::Date),
    ("value", Kind::Text),
    ("reason", Kind::Text),
    ("changed_at", Kind::Time),
    ("changed_by", Kind::Text),
];

pub(crate) fn parameter_cells(p: &ParameterOverride) -> Vec<Cell> {
    vec![
        Cell::Text(Some(p.name.clone())),
        Cell::Date(Some(p.effective_from)),
        Cell::Text(p.value.clone()),
        Cell::Text(Some(p.reason.clone())),
        Cell::Time(Some(p.changed_at)),
        Cell::Text(Some(p.changed_by.clone())),
    ]
}

pub(crate) fn parameter_from_cells(cells: Vec<Cell>) -> Result<ParameterOverride> {
    let mut r = CellReader::new("parameter_overrides", PARAMETER_COLUMNS, cells);
    Ok(ParameterOverride {
        name: r.text()?,
        effective_from: r.date()?,
        value: r.opt_text()?.1,
        reason: r.text()?,
        changed_at: r.time()?,
        changed_by: r.text()?,
    })
}

pub(crate) fn parameter_audit_view(p: &ParameterOverride) -> String {
    canonical_json(&json!({ "value": p.value, "reason": p.reason }))
}

/// Sets the organisation's value of a parameter from a day, with one audit record (`set`, or
/// `change` when that day already had one), in the caller's transaction. `false` when it already
/// stood so.
pub(crate) fn set_parameter(tx: &mut dyn PackTx, p: &ParameterOverride) -> Result<bool> {
    let mut audit = AuditChain::begin(tx, &p.changed_by, p.changed_at)?;
    let before = tx.load_parameter(&p.name, p.effective_from)?;
    if before
        .as_ref()
        .is_some_and(|b| b.value == p.value && b.reason == p.reason)
    {
        return Ok(false);
    }
    tx.upsert_parameter(p)?;
    audit.append(
        if before.is_some() { "change" } else { "set" },
        PARAMETER_ENTITY,
        &p.key(),
        before.as_ref().map(parameter_audit_view),
        Some(parameter_audit_view(p)),
    );
    audit.finish(tx)?;
    Ok(true)
}

/// The audit log's entity type for an organisation's own pack's files; the id is the pack's.
pub const PACK_DOCUMENT_ENTITY: &str = "pack_document";

/// One of the organisation's own packs, as its two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackDocument {
    pub id: String,
    pub pack_toml: String,
    pub clauses_toml: String,
    /// The name of the document it was imported from.
    pub source_name: Option<String>,
    pub saved_at: DateTime<Utc>,
    pub saved_by: String,
}

/// The `pack_documents` table's columns, in the order rows are read and written.
pub(crate) const PACK_DOCUMENT_COLUMNS: Columns = &[
    ("id", Kind::Text),
    ("pack_toml", Kind::Text),
    ("clauses_toml", Kind::Text),
    ("source_name", Kind::Text),
    ("saved_at", Kind::Time),
    ("saved_by", Kind::Text),
];

pub(crate) fn pack_document_cells(d: &PackDocument) -> Vec<Cell> {
    vec![
        Cell::Text(Some(d.id.clone())),
        Cell::Text(Some(d.pack_toml.clone())),
        Cell::Text(Some(d.clauses_toml.clone())),
        Cell::Text(d.source_name.clone()),
        Cell::Time(Some(d.saved_at)),
        Cell::Text(Some(d.saved_by.clone())),
    ]
}

pub(crate) fn pack_document_from_cells(cells: Vec<Cell>) -> Result<PackDocument> {
    let mut r = CellReader::new("pack_documents", PACK_DOCUMENT_COLUMNS, cells);
    Ok(PackDocument {
        id: r.text()?,
        pack_toml: r.text()?,
        clauses_toml: r.text()?,
        source_name: r.opt_text()?.1,
        saved_at: r.time()?,
        saved_by: r.text()?,
    })
}

/// The audit log's view of a pack's files: a digest of each (the files themselves are in the
/// table; the log proves they are the ones saved) and the document they came from.
pub(crate) fn document_audit_view(d: &PackDocument) -> String {
    use sha2::{Digest, Sha256};
    let digest = |text: &str| hex::encode(Sha256::digest(text.as_bytes()));
    canonical_json(&json!({
        "pack_toml_sha256": digest(&d.pack_toml),
        "clauses_toml_sha256": digest(&d.clauses_toml),
        "source_name": d.source_name,
    }))
}

/// Saves one of the organisation's packs' files, with one audit record (`import` the first time,
/// `update` after), in the caller's transaction. `false` (nothing written) when the files are
/// the ones already stored.
pub(crate) fn save_document(tx: &mut dyn PackTx, document: &PackDocument) -> Result<bool> {
    let mut audit = AuditChain::begin(tx, &document.saved_by, document.saved_at)?;
    let before = tx.load_pack_document(&document.id)?;
    if before.as_ref().is_some_and(|b| {
        b.pack_toml == document.pack_toml
            && b.clauses_toml == document.clauses_toml
            && b.source_name == document.source_name
    }) {
        return Ok(false);
    }
    tx.upsert_pack_document(document)?;
    audit.append(
        if before.is_some() { "update" } else { "import" },
        PACK_DOCUMENT_ENTITY,
        &document.id,
        before.as_ref().map(document_audit_view),
        Some(document_audit_view(document)),
    );
    audit.finish(tx)?;
    Ok(true)
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
