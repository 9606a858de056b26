//! The one write path, shared by both backends: diff the rows against what is stored, write what
//! changed, keep assignment history, and chain one audit record per change.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use steward_model::audit::{AuditRecord, canonical_json};
use steward_model::{Assignment, Register, Row, Value};

use crate::{Result, StoreError};

/// What a commit did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CommitSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// The audit records written, first and last; `None` when nothing changed.
    pub audit_range: Option<(i64, i64)>,
    /// The same counts per register, by register name.
    pub by_register: std::collections::BTreeMap<&'static str, Counts>,
}

/// Rows created, updated and left unchanged in one register.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// The primitive operations a backend offers inside one transaction.
pub(crate) trait Tx {
    /// Locks the chain head against other writers and returns it.
    fn lock_audit_head(&mut self) -> Result<(i64, String)>;
    /// The stored rows among `ids` (or every row of the register when that is cheaper).
    fn load(&mut self, register: Register, ids: &[&str]) -> Result<HashMap<String, Row>>;
    fn insert(&mut self, register: Register, rows: &[&Row]) -> Result<()>;
    fn update(&mut self, register: Register, rows: &[&Row]) -> Result<()>;
    fn open_assignments(&mut self, spans: &[Assignment]) -> Result<()>;
    /// Closes the open span of `asset_tag`, if any.
    fn close_assignment(&mut self, asset_tag: &str, until: NaiveDate, closed_by: i64)
    -> Result<()>;
    fn append_audit(&mut self, records: &[AuditRecord]) -> Result<()>;
    fn set_audit_head(&mut self, seq: i64, hash: &str) -> Result<()>;
}

/// Past this many ids a backend loads the whole register rather than looking ids up.
pub(crate) const LOAD_ALL_THRESHOLD: usize = 2_000;

pub(crate) fn run(
    tx: &mut dyn Tx,
    actor: &str,
    at: DateTime<Utc>,
    rows: Vec<Row>,
) -> Result<CommitSummary> {
    let expected_len = |r: Register| r.fields().len();
    for row in &rows {
        if row.values.len() != expected_len(row.register) {
            return Err(StoreError::Arity {
                register: row.register,
                expected: expected_len(row.register),
                found: row.values.len(),
            });
        }
    }
    let at_text = at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let today = at.date_naive();
    let (mut seq, mut hash) = tx.lock_audit_head()?;
    let first_seq = seq + 1;
    let mut summary = CommitSummary::default();
    let mut audit = Vec::new();

    for register in Register::ALL {
        let batch: Vec<Row> = rows
            .iter()
            .filter(|r| r.register == register)
            .cloned()
            .collect();
        if batch.is_empty() {
            continue;
        }
        let ids: Vec<&str> = batch.iter().map(Row::id).collect();
        let mut stored = tx.load(register, &ids)?;
        // Rows created in this commit, then rows updated; a row seen twice is diffed against the
        // first, so the audit log holds both steps.
        let mut created: Vec<Row> = Vec::new();
        let mut updated: Vec<Row> = Vec::new();
        let mut created_at: HashMap<String, usize> = HashMap::new();
        let mut updated_at: HashMap<String, usize> = HashMap::new();
        let mut opens: Vec<Assignment> = Vec::new();
        let mut closes: Vec<(String, NaiveDate, i64)> = Vec::new();
        let (mut updated_rows, mut unchanged_rows) = (0, 0);

        for row in batch {
            let before = stored.get(row.id());
            if before == Some(&row) {
                summary.unchanged += 1;
                unchanged_rows += 1;
                continue;
            }
            seq += 1;
            let record = AuditRecord {
                seq,
                at: at_text.clone(),
                actor: actor.to_owned(),
                action: if before.is_some() { "update" } else { "create" }.to_owned(),
                entity_type: register.entity().to_owned(),
                entity_id: row.id().to_owned(),
                before: before.map(|b| canonical_json(&b.to_json())),
                after: Some(canonical_json(&row.to_json())),
                prev_hash: String::new(),
                hash: String::new(),
            }
            .seal(&hash);
            hash = record.hash.clone();
            audit.push(record);

            if register == Register::Assets {
                track_assignment(before, &row, seq, today, &mut opens, &mut closes);
            }

            let id = row.id().to_owned();
            if let Some(&i) = created_at.get(&id) {
                created[i] = row.clone();
            } else if let Some(&i) = updated_at.get(&id) {
                updated[i] = row.clone();
                summary.updated += 1;
                updated_rows += 1;
            } else if before.is_some() {
                updated_at.insert(id.clone(), updated.len());
                updated.push(row.clone());
                summary.updated += 1;
                updated_rows += 1;
            } else {
                created_at.insert(id.clone(), created.len());
                created.push(row.clone());
                summary.created += 1;
            }
            stored.insert(id, row);
        }

        let counts = summary.by_register.entry(register.name()).or_default();
        counts.created += created.len();
        counts.updated += updated_rows;
        counts.unchanged += unchanged_rows;
        tx.insert(register, &created.iter().collect::<Vec<_>>())?;
        tx.update(register, &updated.iter().collect::<Vec<_>>())?;
        for (tag, until, closed_by) in &closes {
            tx.close_assignment(tag, *until, *closed_by)?;
        }
        tx.open_assignments(&opens)?;
    }

    if !audit.is_empty() {
        tx.append_audit(&audit)?;
        tx.set_audit_head(seq, &hash)?;
        summary.audit_range = Some((first_seq, seq));
    }
    Ok(summary)
}

/// Records a change of holder: the old holder's span is closed, the new holder's opened. `closes`
/// only touches spans stored before this commit; a span opened and closed within the commit is
/// written already closed.
fn track_assignment(
    before: Option<&Row>,
    after: &Row,
    seq: i64,
    today: NaiveDate,
    opens: &mut Vec<Assignment>,
    closes: &mut Vec<(String, NaiveDate, i64)>,
) {
    let holder = |row: Option<&Row>| match row.and_then(|r| r.get("assigned_to")) {
        Some(Value::Text(id)) => Some(id.clone()),
        _ => None,
    };
    let old = holder(before);
    let new = holder(Some(after));
    if old == new {
        return;
    }
    let assigned_on = match after.get("assigned_on") {
        Some(Value::Date(d)) => Some(*d),
        _ => None,
    };
    let tag = after.id().to_owned();
    if old.is_some() {
        let until = if new.is_some() {
            assigned_on.unwrap_or(today)
        } else {
            today
        };
        if let Some(span) = opens
            .iter_mut()
            .rev()
            .find(|a| a.asset_tag == tag && a.closed_by.is_none())
        {
            span.until = Some(until);
            span.closed_by = Some(seq);
        } else {
            closes.push((tag.clone(), until, seq));
        }
    }
    if let Some(person_id) = new {
        opens.push(Assignment {
            asset_tag: tag,
            person_id,
            from: assigned_on.unwrap_or(today),
            until: None,
            opened_by: seq,
            closed_by: None,
        });
    }
}
