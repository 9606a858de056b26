//! API tokens (`api_tokens`): what each token is — its public id, name, holder (a person's
//! sign-in e-mail, or `service:NAME`), a service token's capacities, its access and registers,
//! when it expires — kept with only the SHA-256 of its secret, never the secret. Creating and
//! revoking one are each one audit record (entity [`API_TOKEN_ENTITY`], id the token's id),
//! chained in the same transaction; the audit record never holds the hash, only a digest of it,
//! so that a hash swapped behind the log's back is found by verification. When a token was last
//! used is not audited (and not verified).
//!
//! The writes are written once here for both backends, over [`PlainTx`]; the reads (which every
//! API request makes) are each backend's, on its reading connections.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use steward_model::audit::canonical_json;

use crate::Result;
use crate::commit::AuditChain;
use crate::findings::{Cell, CellReader, Columns, Kind};
use crate::sources::PlainTx;
use crate::sql::{Placeholder, column_list, insert_into};

/// The audit log's entity type for an API token; the entity id is the token's public id.
pub const API_TOKEN_ENTITY: &str = "api_token";

/// One API token as stored. Deciding what it may do is the service's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// Its public id (`tok_…`), shown in lists and audit records.
    pub id: String,
    pub name: String,
    /// SHA-256 (lower-case hex) of its secret.
    pub token_hash: String,
    /// The sign-in e-mail of the person it acts for, or `service:NAME`.
    pub holder: String,
    /// A service token's capacities, separated by `;`; `None` for a person's.
    pub capacities: Option<String>,
    /// `read` or `read-write`.
    pub access: String,
    /// Register names separated by `;`; `None`: every register the holder may.
    pub registers: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

/// The `api_tokens` table's columns, in the order rows are read and written.
pub(crate) const TOKEN_COLUMNS: Columns = &[
    ("id", Kind::Text),
    ("name", Kind::Text),
    ("token_hash", Kind::Text),
    ("holder", Kind::Text),
    ("capacities", Kind::Text),
    ("access", Kind::Text),
    ("registers", Kind::Text),
    ("expires_at", Kind::Time),
    ("created_at", Kind::Time),
    ("created_by", Kind::Text),
    ("last_used_at", Kind::Time),
    ("revoked_at", Kind::Time),
    ("revoked_by", Kind::Text),
];

pub(crate) fn token_cells(t: &ApiTokenRow) -> Vec<Cell> {
    vec![
        Cell::Text(Some(t.id.clone())),
        Cell::Text(Some(t.name.clone())),
        Cell::Text(Some(t.token_hash.clone())),
        Cell::Text(Some(t.holder.clone())),
        Cell::Text(t.capacities.clone()),
        Cell::Text(Some(t.access.clone())),
        Cell::Text(t.registers.clone()),
        Cell::Time(Some(t.expires_at)),
        Cell::Time(Some(t.created_at)),
        Cell::Text(Some(t.created_by.clone())),
        Cell::Time(t.last_used_at),
        Cell::Time(t.revoked_at),
        Cell::Text(t.revoked_by.clone()),
    ]
}

pub(crate) fn token_from_cells(cells: Vec<Cell>) -> Result<ApiTokenRow> {
    let mut r = CellReader::new("api_tokens", TOKEN_COLUMNS, cells);
    Ok(ApiTokenRow {
        id: r.text()?,
        name: r.text()?,
        token_hash: r.text()?,
        holder: r.text()?,
        capacities: r.opt_text()?.1,
        access: r.text()?,
        registers: r.opt_text()?.1,
        expires_at: r.time()?,
        created_at: r.time()?,
        created_by: r.text()?,
        last_used_at: r.opt_time()?.1,
        revoked_at: r.opt_time()?.1,
        revoked_by: r.opt_text()?.1,
    })
}

/// Which tokens a statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenSelect {
    /// Every token, newest first.
    All,
    /// The token whose secret hashes to `$1`.
    ByHash,
    /// The token with id `$1`.
    ById,
}

/// The statement reading tokens.
pub(crate) fn token_select(which: TokenSelect, p: Placeholder) -> String {
    let columns = column_list(TOKEN_COLUMNS, "");
    match which {
        TokenSelect::All => {
            format!("SELECT {columns} FROM api_tokens ORDER BY created_at DESC, id DESC")
        }
        TokenSelect::ByHash => format!(
            "SELECT {columns} FROM api_tokens WHERE token_hash = {}",
            p.nth(1)
        ),
        TokenSelect::ById => format!("SELECT {columns} FROM api_tokens WHERE id = {}", p.nth(1)),
    }
}

/// The statement setting a token's `last_used_at` (`$1`) by id (`$2`).
pub(crate) fn token_touch(p: Placeholder) -> String {
    format!(
        "UPDATE api_tokens SET last_used_at = {} WHERE id = {}",
        p.nth(1),
        p.nth(2)
    )
}

fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// The audit log's view of a token (and what verification compares the table with): all but
/// the hash of its secret, of which only a digest is kept, and when it was last used.
pub(crate) fn audit_view(t: &ApiTokenRow) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(t.token_hash.as_bytes()));
    canonical_json(&json!({
        "name": t.name,
        "holder": t.holder,
        "capacities": t.capacities,
        "access": t.access,
        "registers": t.registers,
        "expires_at": time(Some(t.expires_at)),
        "created_at": time(Some(t.created_at)),
        "created_by": t.created_by,
        "revoked_at": time(t.revoked_at),
        "revoked_by": t.revoked_by,
        "token_hash_sha256": digest,
    }))
}

fn load(tx: &mut dyn PlainTx, id: &str) -> Result<Option<ApiTokenRow>> {
    let sql = token_select(TokenSelect::ById, tx.placeholder());
    tx.rows(
        &sql,
        &[Cell::Text(Some(id.to_owned()))],
        "api_tokens",
        TOKEN_COLUMNS,
    )?
    .into_iter()
    .next()
    .map(token_from_cells)
    .transpose()
}

/// Stores a new token with one audit record (`create`, by its creator at its creation), in the
/// caller's transaction. An id or hash already stored is the database's error.
pub(crate) fn create(tx: &mut dyn PlainTx, token: &ApiTokenRow) -> Result<()> {
    let mut audit = AuditChain::begin(tx, &token.created_by, token.created_at)?;
    let sql = insert_into("api_tokens", TOKEN_COLUMNS, tx.placeholder());
    tx.exec(&sql, &token_cells(token))?;
    audit.append(
        "create",
        API_TOKEN_ENTITY,
        &token.id,
        None,
        Some(audit_view(token)),
    );
    audit.finish(tx).map(drop)
}

/// Revokes token `id` with one audit record (`revoke`), in the caller's transaction: the token
/// as it now stands, or `None` (nothing written) if there is none or it was revoked already.
pub(crate) fn revoke(
    tx: &mut dyn PlainTx,
    id: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<Option<ApiTokenRow>> {
    let mut audit = AuditChain::begin(tx, by, at)?;
    let Some(before) = load(tx, id)? else {
        return Ok(None);
    };
    if before.revoked_at.is_some() {
        return Ok(None);
    }
    let p = tx.placeholder();
    let sql = format!(
        "UPDATE api_tokens SET revoked_at = {}, revoked_by = {} WHERE id = {} AND revoked_at IS NULL",
        p.nth(1),
        p.nth(2),
        p.nth(3)
    );
    tx.exec(
        &sql,
        &[
            Cell::Time(Some(at)),
            Cell::Text(Some(by.to_owned())),
            Cell::Text(Some(id.to_owned())),
        ],
    )?;
    let after = ApiTokenRow {
        revoked_at: Some(at),
        revoked_by: Some(by.to_owned()),
        ..before.clone()
    };
    audit.append(
        "revoke",
        API_TOKEN_ENTITY,
        id,
        Some(audit_view(&before)),
        Some(audit_view(&after)),
    );
    audit.finish(tx)?;
    Ok(Some(after))
}
