//! The one write path for registers, shared by both backends: diff the rows against what is
//! stored, write what changed, keep assignment history, and chain one audit record per change.
//! [`AuditChain`] is the chaining itself, shared with the findings write path.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use steward_model::audit::{
    AuditRecord, ERASE_ACTION, Erasure, Hashed, Redacted, canonical_json, payload_hash,
};
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

/// One record's sequence number and its before/after payloads.
pub(crate) type Payloads = (i64, Option<String>, Option<String>);

/// What a backend offers inside one transaction to chain audit records: every write path (register
/// commits, finding runs) goes through [`AuditChain`] over it.
pub(crate) trait AuditTx {
    /// Locks the chain head against other writers and returns it.
    fn lock_audit_head(&mut self) -> Result<(i64, String)>;
    fn append_audit(&mut self, records: &[AuditRecord]) -> Result<()>;
    fn set_audit_head(&mut self, seq: i64, hash: &str) -> Result<()>;
    /// The version 2 payloads of one entity's records, by sequence number: what an erasure
    /// rewrites. (Version 1 payloads are in the chain itself and cannot be.)
    fn entity_payloads(&mut self, entity_type: &str, entity_id: &str) -> Result<Vec<Payloads>>;
    /// Rewrites one record's payloads as an erasure leaves them, naming the erasure.
    fn erase_payload(
        &mut self,
        seq: i64,
        before: Option<&str>,
        after: Option<&str>,
        erased_by: i64,
    ) -> Result<()>;
}

/// The audit records of one transaction, each sealed onto the one before as it is appended, and
/// written with the new head by [`AuditChain::finish`] in the same transaction.
pub(crate) struct AuditChain {
    actor: String,
    at: String,
    first_seq: i64,
    seq: i64,
    hash: String,
    records: Vec<AuditRecord>,
}

impl AuditChain {
    /// Locks the chain head for the rest of the transaction and continues from it.
    pub(crate) fn begin(
        tx: &mut (impl AuditTx + ?Sized),
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<AuditChain> {
        let (seq, hash) = tx.lock_audit_head()?;
        Ok(AuditChain {
            actor: actor.to_owned(),
            at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
            first_seq: seq + 1,
            seq,
            hash,
            records: Vec::new(),
        })
    }

    /// Chains one record of a change to an entity and returns its sequence number.
    pub(crate) fn append(
        &mut self,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        before: Option<String>,
        after: Option<String>,
    ) -> i64 {
        self.append_hashed(
            action,
            (entity_type, entity_id),
            before.map(Hashed::of),
            after.map(Hashed::of),
        )
    }

    /// [`AuditChain::append`] with the payloads already hashed.
    pub(crate) fn append_hashed(
        &mut self,
        action: &str,
        entity: (&str, &str),
        before: Option<Hashed>,
        after: Option<Hashed>,
    ) -> i64 {
        self.seq += 1;
        let record = AuditRecord::of_hashed(
            self.seq,
            &self.at,
            &self.actor,
            action,
            entity,
            before,
            after,
        )
        .seal(&self.hash);
        self.hash.clone_from(&record.hash);
        self.records.push(record);
        self.seq
    }

    /// The sequence number the next appended record will take.
    pub(crate) fn next_seq(&self) -> i64 {
        self.seq + 1
    }

    /// Records appended and not yet written.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Records appended in all.
    pub(crate) fn appended(&self) -> usize {
        usize::try_from(self.seq - self.first_seq + 1).unwrap_or(0)
    }

    /// Writes the records appended so far, keeping none of them in memory; the head moves only
    /// at [`AuditChain::finish`], in the same transaction.
    pub(crate) fn flush(&mut self, tx: &mut (impl AuditTx + ?Sized)) -> Result<()> {
        if !self.records.is_empty() {
            tx.append_audit(&self.records)?;
            self.records.clear();
        }
        Ok(())
    }

    /// Writes the records and moves the head past them; the range written, `None` when nothing
    /// was appended (the head is then left as it was).
    pub(crate) fn finish(mut self, tx: &mut (impl AuditTx + ?Sized)) -> Result<Option<(i64, i64)>> {
        if self.seq < self.first_seq {
            return Ok(None);
        }
        self.flush(tx)?;
        tx.set_audit_head(self.seq, &self.hash)?;
        Ok(Some((self.first_seq, self.seq)))
    }
}

/// The primitive operations a backend offers inside one transaction to write registers.
pub(crate) trait Tx: AuditTx {
    /// The stored rows among `ids` (or every row of the register when that is cheaper).
    fn load(&mut self, register: Register, ids: &[&str]) -> Result<StoredRows>;
    fn insert(&mut self, register: Register, rows: &[&Row]) -> Result<()>;
    fn update(&mut self, register: Register, rows: &[&Row]) -> Result<()>;
    fn open_assignments(&mut self, spans: &[Assignment]) -> Result<()>;
    /// Closes the open span of `asset_tag`, if any.
    fn close_assignment(&mut self, asset_tag: &str, until: NaiveDate, closed_by: i64)
    -> Result<()>;
}

/// The stored rows a commit reads, by id.
pub(crate) type StoredRows = foldhash::HashMap<String, Row>;

/// Where the latest version of a row written in this commit is held.
enum Pending {
    Created(usize),
    Updated(usize),
}

/// Each row of `rows` with its new payload built and hashed where it differs from the row
/// stored (a row repeated within the commit may still need one: the caller builds it then).
fn prepare(rows: Vec<Row>, stored: &StoredRows) -> Vec<(Row, Option<Hashed>)> {
    rows.into_iter()
        .map(|row| {
            let after =
                (stored.get(row.id()) != Some(&row)).then(|| Hashed::of(row.canonical_json()));
            (row, after)
        })
        .collect()
}

/// Changes held before they are written, in the same transaction, by both write paths (a
/// register's rows here, a control's findings in `findings`): a load of a million rows, or a
/// control failing for every one of 300,000 people, would otherwise hold a copy of each row and
/// its audit record at once.
pub(crate) const WRITE_EVERY: usize = 20_000;

/// One register's rows as a commit diffs them against the stored ones.
struct Diff<'s> {
    register: Register,
    stored: &'s StoredRows,
    today: NaiveDate,
    created: Vec<Row>,
    updated: Vec<Row>,
    /// A row seen twice in one commit is diffed against its first version, so the audit log
    /// holds both steps: where the latest version of each id sits.
    pending: foldhash::HashMap<String, Pending>,
    opens: Vec<Assignment>,
    closes: Vec<(String, NaiveDate, i64)>,
    counts: Counts,
}

impl Diff<'_> {
    /// Diffs one row (`after`: its payload, if already built) and chains its audit record if it
    /// changed anything.
    fn take(&mut self, row: Row, after: Option<Hashed>, audit: &mut AuditChain) {
        let before = match self.pending.get(row.id()) {
            Some(Pending::Created(i)) => self.created.get(*i),
            Some(Pending::Updated(i)) => self.updated.get(*i),
            None => self.stored.get(row.id()),
        };
        if before == Some(&row) {
            self.counts.unchanged += 1;
            return;
        }
        let seq = audit.append_hashed(
            if before.is_some() { "update" } else { "create" },
            (self.register.entity(), row.id()),
            before.map(|b| Hashed::of(b.canonical_json())),
            Some(after.unwrap_or_else(|| Hashed::of(row.canonical_json()))),
        );
        if self.register == Register::Assets {
            track_assignment(
                before,
                &row,
                seq,
                self.today,
                &mut self.opens,
                &mut self.closes,
            );
        }
        match self.pending.get(row.id()) {
            Some(Pending::Created(i)) => self.created[*i] = row,
            Some(Pending::Updated(i)) => self.updated[*i] = row,
            None if self.stored.contains_key(row.id()) => {
                self.counts.updated += 1;
                let at = Pending::Updated(self.updated.len());
                self.pending.insert(row.id().to_owned(), at);
                self.updated.push(row);
            }
            None => {
                self.counts.created += 1;
                let at = Pending::Created(self.created.len());
                self.pending.insert(row.id().to_owned(), at);
                self.created.push(row);
            }
        }
    }
}

/// Past this many ids a backend loads the whole register rather than looking ids up.
pub(crate) const LOAD_ALL_THRESHOLD: usize = 2_000;

pub(crate) fn run(
    tx: &mut dyn Tx,
    actor: &str,
    at: DateTime<Utc>,
    rows: Vec<Row>,
    new: &[(Register, &str)],
    expected: &[Row],
) -> Result<CommitSummary> {
    let expected_len = |r: Register| r.fields().len();
    for row in &rows {
        if row.values().len() != expected_len(row.register()) {
            return Err(StoreError::Arity {
                register: row.register(),
                expected: expected_len(row.register()),
                found: row.values().len(),
            });
        }
    }
    let today = at.date_naive();
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let mut summary = CommitSummary::default();

    let started = std::time::Instant::now();
    let mut write_time = std::time::Duration::ZERO;
    let mut audit_time = std::time::Duration::ZERO;
    // Register order is dependency order, so a BTreeMap visits referenced registers first.
    let mut by_register: BTreeMap<Register, Vec<Row>> = BTreeMap::new();
    for row in rows {
        by_register.entry(row.register()).or_default().push(row);
    }
    for (register, batch) in by_register {
        let stored = {
            let ids: Vec<&str> = batch.iter().map(Row::id).collect();
            tx.load(register, &ids)?
        };
        // Read after the audit head is locked, so no other writer can have got in between.
        if let Some((_, id)) = new
            .iter()
            .find(|(r, id)| *r == register && stored.contains_key(*id))
        {
            return Err(StoreError::AlreadyExists {
                register,
                id: (*id).to_owned(),
            });
        }
        // Likewise: each row as the writer read it, or nothing is written.
        if let Some(row) = expected
            .iter()
            .filter(|e| e.register() == register)
            .find(|e| stored.get(e.id()) != Some(*e))
        {
            return Err(StoreError::Stale {
                register,
                id: row.id().to_owned(),
            });
        }
        let mut diff = Diff {
            register,
            stored: &stored,
            today,
            created: Vec::new(),
            updated: Vec::new(),
            pending: Default::default(),
            opens: Vec::new(),
            closes: Vec::new(),
            counts: Counts::default(),
        };
        // Each part's new payloads are built and hashed on a second thread while this one
        // chains and writes the part before; records are written every `WRITE_EVERY`, not held to
        // the end of the commit (a large import's largest use of memory).
        let mut rest = batch.into_iter();
        let mut part = prepare(rest.by_ref().take(WRITE_EVERY).collect(), &stored);
        while !part.is_empty() {
            let next: Vec<Row> = rest.by_ref().take(WRITE_EVERY).collect();
            part = std::thread::scope(|scope| -> Result<_> {
                let preparing = scope.spawn(|| prepare(next, &stored));
                for (row, after) in part {
                    diff.take(row, after, &mut audit);
                    if audit.len() >= WRITE_EVERY {
                        let writing = std::time::Instant::now();
                        audit.flush(tx)?;
                        audit_time += writing.elapsed();
                    }
                }
                // A panic there goes on here, as if the part had been prepared on this thread.
                Ok(preparing
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            })?;
        }
        let Diff {
            created,
            updated,
            opens,
            closes,
            counts,
            ..
        } = diff;
        summary.by_register.insert(register.name(), counts);

        let writing = std::time::Instant::now();
        tx.insert(register, &created.iter().collect::<Vec<_>>())?;
        tx.update(register, &updated.iter().collect::<Vec<_>>())?;
        for (tag, until, closed_by) in &closes {
            tx.close_assignment(tag, *until, *closed_by)?;
        }
        tx.open_assignments(&opens)?;
        write_time += writing.elapsed();
        tracing::debug!(
            register = register.name(),
            created = created.len(),
            updated = updated.len(),
            write_ms = writing.elapsed().as_millis() as u64,
            "register written"
        );
    }
    for counts in summary.by_register.values() {
        summary.created += counts.created;
        summary.updated += counts.updated;
        summary.unchanged += counts.unchanged;
    }
    let writing = std::time::Instant::now();
    let changes = audit.appended();
    summary.audit_range = audit.finish(tx)?;
    audit_time += writing.elapsed();
    tracing::debug!(
        records = changes,
        write_ms = audit_time.as_millis() as u64,
        "audit records written"
    );
    write_time += audit_time;
    tracing::debug!(
        total_ms = started.elapsed().as_millis() as u64,
        write_ms = write_time.as_millis() as u64,
        changes,
        "commit prepared and written"
    );
    Ok(summary)
}

/// Erases personal data of one row in one transaction: the row's `fields` take the values given,
/// every version 2 payload of the row's own audit records has those fields rewritten the same way
/// (hashes untouched), and one `erase` record lists the rewritten payloads' new hashes. The
/// sequence number of that record.
pub(crate) fn erase(
    tx: &mut dyn Tx,
    actor: &str,
    at: DateTime<Utc>,
    register: Register,
    id: &str,
    fields: &[(&str, Value)],
    reason: &str,
) -> Result<i64> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let mut row = tx
        .load(register, &[id])?
        .remove(id)
        .ok_or_else(|| StoreError::NotFound {
            register,
            id: id.to_owned(),
        })?;
    let mut values = serde_json::Map::new();
    for (field, value) in fields {
        if !row.set(field, value.clone())
            || register
                .key_indices()
                .iter()
                .any(|&i| register.fields()[i].name == *field)
        {
            return Err(StoreError::UnknownField {
                register,
                field: (*field).to_owned(),
            });
        }
        values.insert((*field).to_owned(), json_value(value));
    }
    tx.update(register, &[&row])?;
    let erase_seq = audit.next_seq();
    let mut redacted = Vec::new();
    for (seq, before, after) in tx.entity_payloads(register.entity(), id)? {
        let new_before = before.as_deref().map(|p| redact(p, &values));
        let new_after = after.as_deref().map(|p| redact(p, &values));
        if new_before == before && new_after == after {
            continue;
        }
        tx.erase_payload(seq, new_before.as_deref(), new_after.as_deref(), erase_seq)?;
        redacted.push(Redacted {
            seq,
            before: new_before.as_deref().map(payload_hash),
            after: new_after.as_deref().map(payload_hash),
        });
    }
    let erasure = Erasure {
        entity_type: register.entity().to_owned(),
        entity_id: id.to_owned(),
        reason: reason.to_owned(),
        fields: values.into_iter().collect(),
        redacted,
    };
    audit.append(
        ERASE_ACTION,
        register.entity(),
        id,
        None,
        Some(erasure.to_json()),
    );
    audit.finish(tx)?;
    Ok(erase_seq)
}

/// A value as a row's canonical JSON spells it.
fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        other => serde_json::Value::String(other.to_text()),
    }
}

/// A payload with the erased fields' values replaced; one that is not a JSON object (or lacks
/// them) comes back unchanged.
fn redact(payload: &str, values: &serde_json::Map<String, serde_json::Value>) -> String {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(mut map)) => {
            let mut changed = false;
            for (field, value) in values {
                if let Some(old) = map.get_mut(field)
                    && old != value
                {
                    *old = value.clone();
                    changed = true;
                }
            }
            if changed {
                canonical_json(&serde_json::Value::Object(map))
            } else {
                payload.to_owned()
            }
        }
        _ => payload.to_owned(),
    }
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
