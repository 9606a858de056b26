//! Connectors' own tables: each connector's definition and sealed credential (`connectors`),
//! the links between a source's records and the registers' (`source_links`: learnt by matching,
//! or decided by a person) and where each synced field's value came from (`provenance`).
//!
//! A connector added, changed or removed, and a person's decision about a source record, are
//! audited (entities [`CONNECTOR_ENTITY`], [`SOURCE_LINK_ENTITY`]); the audit record never holds
//! the credential, only that one is sealed. A run's bookkeeping (cursor, outcome, a pending
//! preview), learnt links and provenance are derived from the synced rows, which are audited
//! themselves, so they are not.
//!
//! The statements are written once here for both backends, over [`PlainTx`].

use chrono::{DateTime, Utc};
use serde_json::json;
use steward_model::SourcedFields;
use steward_model::audit::canonical_json;

use crate::Result;
use crate::commit::{AuditChain, AuditTx};
use crate::findings::{Cell, CellReader, Columns, Kind};
use crate::sql::{Placeholder, column_list, insert_into, insert_many};

/// Rows written per statement: a sync's tens of thousands of links and provenance rows go as a
/// few hundred statements, not one round trip each (well under both backends' parameter limits).
const ROWS_PER_STATEMENT: usize = 500;

pub const CONNECTOR_ENTITY: &str = "connector";
pub const SOURCE_LINK_ENTITY: &str = "source_link";

/// A connector as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorRow {
    pub name: String,
    pub kind: String,
    /// Its settings as a JSON object of strings (never the credential).
    pub settings: String,
    /// The credential, sealed with the server's secret key.
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub run: ConnectorRun,
}

/// What the connector's runs left: where to read on from, how the last one went, and a preview
/// waiting for a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorRun {
    pub cursor: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
    pub pending_plan: Option<String>,
    pub pending_at: Option<DateTime<Utc>>,
    /// What the last applied sync left: its counts, skipped feeds and records to resolve.
    pub last_plan: Option<String>,
}

/// A source record's link to a register record, or a person's decision to ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLink {
    pub connector: String,
    pub feed: String,
    pub source_id: String,
    pub record_id: Option<String>,
    pub ignored: bool,
    /// Who decided, when a person did; `None` for a link learnt by matching.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Where one field's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub register: String,
    pub record_id: String,
    pub field: String,
    pub source: String,
    pub synced_at: DateTime<Utc>,
}

pub(crate) const CONNECTOR_COLUMNS: Columns = &[
    ("name", Kind::Text),
    ("kind", Kind::Text),
    ("settings", Kind::Text),
    ("secret", Kind::Text),
    ("created_at", Kind::Time),
    ("created_by", Kind::Text),
    ("cursor", Kind::Text),
    ("last_run_at", Kind::Time),
    ("last_outcome", Kind::Text),
    ("pending_plan", Kind::Text),
    ("pending_at", Kind::Time),
    ("last_plan", Kind::Text),
];

pub(crate) const LINK_COLUMNS: Columns = &[
    ("connector", Kind::Text),
    ("feed", Kind::Text),
    ("source_id", Kind::Text),
    ("record_id", Kind::Text),
    ("ignored", Kind::Bool),
    ("decided_by", Kind::Text),
    ("decided_at", Kind::Time),
];

pub(crate) const PROVENANCE_COLUMNS: Columns = &[
    ("register", Kind::Text),
    ("record_id", Kind::Text),
    ("field", Kind::Text),
    ("source", Kind::Text),
    ("synced_at", Kind::Time),
];

fn text(s: &str) -> Cell {
    Cell::Text(Some(s.to_owned()))
}

fn connector_cells(c: &ConnectorRow) -> Vec<Cell> {
    vec![
        text(&c.name),
        text(&c.kind),
        text(&c.settings),
        Cell::Text(c.secret.clone()),
        Cell::Time(Some(c.created_at)),
        text(&c.created_by),
        Cell::Text(c.run.cursor.clone()),
        Cell::Time(c.run.last_run_at),
        Cell::Text(c.run.last_outcome.clone()),
        Cell::Text(c.run.pending_plan.clone()),
        Cell::Time(c.run.pending_at),
        Cell::Text(c.run.last_plan.clone()),
    ]
}

fn connector_from(cells: Vec<Cell>) -> Result<ConnectorRow> {
    let mut r = CellReader::new("connectors", CONNECTOR_COLUMNS, cells);
    Ok(ConnectorRow {
        name: r.text()?,
        kind: r.text()?,
        settings: r.text()?,
        secret: r.opt_text()?.1,
        created_at: r.time()?,
        created_by: r.text()?,
        run: ConnectorRun {
            cursor: r.opt_text()?.1,
            last_run_at: r.opt_time()?.1,
            last_outcome: r.opt_text()?.1,
            pending_plan: r.opt_text()?.1,
            pending_at: r.opt_time()?.1,
            last_plan: r.opt_text()?.1,
        },
    })
}

fn link_cells(l: &SourceLink) -> Vec<Cell> {
    vec![
        text(&l.connector),
        text(&l.feed),
        text(&l.source_id),
        Cell::Text(l.record_id.clone()),
        Cell::Bool(Some(l.ignored)),
        Cell::Text(l.decided_by.clone()),
        Cell::Time(l.decided_at),
    ]
}

fn link_from(cells: Vec<Cell>) -> Result<SourceLink> {
    let mut r = CellReader::new("source_links", LINK_COLUMNS, cells);
    Ok(SourceLink {
        connector: r.text()?,
        feed: r.text()?,
        source_id: r.text()?,
        record_id: r.opt_text()?.1,
        ignored: r.bool()?,
        decided_by: r.opt_text()?.1,
        decided_at: r.opt_time()?.1,
    })
}

fn provenance_from(cells: Vec<Cell>) -> Result<Provenance> {
    let mut r = CellReader::new("provenance", PROVENANCE_COLUMNS, cells);
    Ok(Provenance {
        register: r.text()?,
        record_id: r.text()?,
        field: r.text()?,
        source: r.text()?,
        synced_at: r.time()?,
    })
}

/// What a backend's transaction offers these tables: a statement with cells bound, and rows
/// read back as cells.
pub(crate) trait PlainTx: AuditTx {
    fn placeholder(&self) -> Placeholder;
    fn exec(&mut self, sql: &str, cells: &[Cell]) -> Result<u64>;
    fn rows(
        &mut self,
        sql: &str,
        cells: &[Cell],
        table: &'static str,
        columns: Columns,
    ) -> Result<Vec<Vec<Cell>>>;
}

pub(crate) fn connectors(tx: &mut dyn PlainTx) -> Result<Vec<ConnectorRow>> {
    let sql = format!(
        "SELECT {} FROM connectors ORDER BY name",
        column_list(CONNECTOR_COLUMNS, "")
    );
    tx.rows(&sql, &[], "connectors", CONNECTOR_COLUMNS)?
        .into_iter()
        .map(connector_from)
        .collect()
}

fn connector(tx: &mut dyn PlainTx, name: &str) -> Result<Option<ConnectorRow>> {
    let p = tx.placeholder();
    let sql = format!(
        "SELECT {} FROM connectors WHERE name = {}",
        column_list(CONNECTOR_COLUMNS, ""),
        p.nth(1)
    );
    tx.rows(&sql, &[text(name)], "connectors", CONNECTOR_COLUMNS)?
        .into_iter()
        .next()
        .map(connector_from)
        .transpose()
}

/// What the audit log keeps of a connector: never the credential, only whether one is sealed.
fn audit_view(c: &ConnectorRow) -> String {
    let settings: serde_json::Value =
        serde_json::from_str(&c.settings).unwrap_or(serde_json::Value::Null);
    canonical_json(&json!({
        "kind": c.kind,
        "settings": settings,
        "secret": if c.secret.is_some() { "sealed" } else { "none" },
    }))
}

/// Adds or changes a connector (its definition and credential; its run state is kept), audited.
pub(crate) fn save_connector(
    tx: &mut dyn PlainTx,
    actor: &str,
    at: DateTime<Utc>,
    row: &ConnectorRow,
) -> Result<()> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let before = connector(tx, &row.name)?;
    let p = tx.placeholder();
    match &before {
        Some(_) => {
            let sql = format!(
                "UPDATE connectors SET kind = {}, settings = {}, secret = {} WHERE name = {}",
                p.nth(1),
                p.nth(2),
                p.nth(3),
                p.nth(4)
            );
            tx.exec(
                &sql,
                &[
                    text(&row.kind),
                    text(&row.settings),
                    Cell::Text(row.secret.clone()),
                    text(&row.name),
                ],
            )?;
        }
        None => {
            tx.exec(
                &insert_into("connectors", CONNECTOR_COLUMNS, p),
                &connector_cells(row),
            )?;
        }
    }
    audit.append(
        if before.is_some() { "update" } else { "create" },
        CONNECTOR_ENTITY,
        &row.name,
        before.as_ref().map(audit_view),
        Some(audit_view(row)),
    );
    audit.finish(tx).map(drop)
}

/// Removes a connector, its links and its pending preview, audited. The records it kept stay,
/// with their provenance. `false` when there was none.
pub(crate) fn remove_connector(
    tx: &mut dyn PlainTx,
    actor: &str,
    at: DateTime<Utc>,
    name: &str,
) -> Result<bool> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let Some(before) = connector(tx, name)? else {
        return Ok(false);
    };
    let p = tx.placeholder();
    tx.exec(
        &format!("DELETE FROM source_links WHERE connector = {}", p.nth(1)),
        &[text(name)],
    )?;
    tx.exec(
        &format!("DELETE FROM connectors WHERE name = {}", p.nth(1)),
        &[text(name)],
    )?;
    audit.append(
        "delete",
        CONNECTOR_ENTITY,
        name,
        Some(audit_view(&before)),
        None,
    );
    audit.finish(tx)?;
    Ok(true)
}

pub(crate) fn set_run(tx: &mut dyn PlainTx, name: &str, run: &ConnectorRun) -> Result<bool> {
    let p = tx.placeholder();
    let sql = format!(
        "UPDATE connectors SET cursor = {}, last_run_at = {}, last_outcome = {}, pending_plan = {}, pending_at = {}, last_plan = {} WHERE name = {}",
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4),
        p.nth(5),
        p.nth(6),
        p.nth(7)
    );
    let n = tx.exec(
        &sql,
        &[
            Cell::Text(run.cursor.clone()),
            Cell::Time(run.last_run_at),
            Cell::Text(run.last_outcome.clone()),
            Cell::Text(run.pending_plan.clone()),
            Cell::Time(run.pending_at),
            Cell::Text(run.last_plan.clone()),
            text(name),
        ],
    )?;
    Ok(n > 0)
}

pub(crate) fn links(tx: &mut dyn PlainTx, connector: &str) -> Result<Vec<SourceLink>> {
    let p = tx.placeholder();
    let sql = format!(
        "SELECT {} FROM source_links WHERE connector = {} ORDER BY feed, source_id",
        column_list(LINK_COLUMNS, ""),
        p.nth(1)
    );
    tx.rows(&sql, &[text(connector)], "source_links", LINK_COLUMNS)?
        .into_iter()
        .map(link_from)
        .collect()
}

fn link_upsert(p: Placeholder) -> String {
    format!(
        "{} ON CONFLICT (connector, feed, source_id) DO UPDATE SET record_id = excluded.record_id, \
         ignored = excluded.ignored, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        insert_into("source_links", LINK_COLUMNS, p)
    )
}

/// Remembers links. A person's decisions (`decided_by` set) are audited; links learnt by
/// matching are not, and never overwrite a person's decision.
pub(crate) fn save_links(
    tx: &mut dyn PlainTx,
    actor: &str,
    at: DateTime<Utc>,
    links: &[SourceLink],
) -> Result<()> {
    let decided: Vec<&SourceLink> = links.iter().filter(|l| l.decided_by.is_some()).collect();
    let p = tx.placeholder();
    // One row per key in a statement (an upsert may not touch a row twice): the last wins.
    let learnt: std::collections::BTreeMap<(&str, &str, &str), &SourceLink> = links
        .iter()
        .filter(|l| l.decided_by.is_none())
        .map(|l| {
            (
                (l.connector.as_str(), l.feed.as_str(), l.source_id.as_str()),
                l,
            )
        })
        .collect();
    let learnt: Vec<&SourceLink> = learnt.into_values().collect();
    for chunk in learnt.chunks(ROWS_PER_STATEMENT) {
        let sql = insert_many(
            "source_links",
            LINK_COLUMNS,
            chunk.len(),
            p,
            "ON CONFLICT (connector, feed, source_id) DO UPDATE SET record_id = excluded.record_id \
             WHERE source_links.decided_by IS NULL",
        );
        let cells: Vec<Cell> = chunk.iter().flat_map(|l| link_cells(l)).collect();
        tx.exec(&sql, &cells)?;
    }
    if decided.is_empty() {
        return Ok(());
    }
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let upsert = link_upsert(p);
    for l in decided {
        tx.exec(&upsert, &link_cells(l))?;
        audit.append(
            "decide",
            SOURCE_LINK_ENTITY,
            &format!("{}/{}/{}", l.connector, l.feed, l.source_id),
            None,
            Some(canonical_json(&json!({
                "record_id": l.record_id,
                "ignored": l.ignored,
            }))),
        );
    }
    audit.finish(tx).map(drop)
}

pub(crate) fn record_provenance(
    tx: &mut dyn PlainTx,
    source: &str,
    synced_at: DateTime<Utc>,
    records: &[SourcedFields],
) -> Result<()> {
    let p = tx.placeholder();
    // One row per field: a statement may not touch the same row twice (PostgreSQL refuses it),
    // so a record named twice has its fields merged and each field taken once.
    let mut order: Vec<&SourcedFields> = records.iter().collect();
    order.sort_by(|a, b| (a.register, &a.record_id).cmp(&(b.register, &b.record_id)));
    let mut unique: Vec<(&'static str, &str, &'static str)> = Vec::new();
    for group in order.chunk_by(|a, b| a.register == b.register && a.record_id == b.record_id) {
        let mut fields: Vec<&'static str> = group
            .iter()
            .flat_map(|r| r.fields.iter().copied())
            .collect();
        fields.sort_unstable();
        fields.dedup();
        let (register, id) = (group[0].register.name(), group[0].record_id.as_str());
        unique.extend(fields.into_iter().map(|f| (register, id, f)));
    }
    for chunk in unique.chunks(ROWS_PER_STATEMENT) {
        let sql = insert_many(
            "provenance",
            PROVENANCE_COLUMNS,
            chunk.len(),
            p,
            "ON CONFLICT (register, record_id, field) DO UPDATE SET source = excluded.source, \
             synced_at = excluded.synced_at",
        );
        let cells: Vec<Cell> = chunk
            .iter()
            .flat_map(|(register, id, field)| {
                [
                    text(register),
                    text(id),
                    text(field),
                    text(source),
                    Cell::Time(Some(synced_at)),
                ]
            })
            .collect();
        tx.exec(&sql, &cells)?;
    }
    Ok(())
}

pub(crate) fn provenance(
    tx: &mut dyn PlainTx,
    register: &str,
    record_id: &str,
) -> Result<Vec<Provenance>> {
    let p = tx.placeholder();
    let sql = format!(
        "SELECT {} FROM provenance WHERE register = {} AND record_id = {} ORDER BY field",
        column_list(PROVENANCE_COLUMNS, ""),
        p.nth(1),
        p.nth(2)
    );
    tx.rows(
        &sql,
        &[text(register), text(record_id)],
        "provenance",
        PROVENANCE_COLUMNS,
    )?
    .into_iter()
    .map(provenance_from)
    .collect()
}
