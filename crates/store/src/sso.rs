//! Single sign-on (OpenID Connect): links (`sso_links`) and attempts (`sso_attempts`).
//!
//! A link joins a provider's subject to the sign-in it signs in (its e-mail, lower case), with
//! when it was made, when it last signed in and what the provider last said of MFA. Saving and
//! removing one are each one audit record (entity [`SSO_LINK_ENTITY`], id `provider:subject`),
//! chained in the same transaction. A sign-in has at most one link at each provider: a second is
//! the database's error.
//!
//! An attempt is a sign-in sent to a provider and not yet back, kept by the hash of the `state`
//! sent. It is taken once — read and deleted in one transaction, decided by the delete — so that
//! of several servers racing on one answer only one goes on. Attempts are not audited; each one
//! begun clears those that have expired.
//!
//! Every statement is written once here for both backends, over [`PlainTx`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use steward_model::audit::canonical_json;

use crate::Result;
use crate::commit::AuditChain;
use crate::findings::{Cell, CellReader, Columns, Kind};
use crate::sources::PlainTx;
use crate::sql::{column_list, insert_into};

/// The audit log's entity type for a link; the entity id is `provider:subject`.
pub const SSO_LINK_ENTITY: &str = "sso_link";

/// One link of a provider's subject to a sign-in, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLinkRow {
    /// `microsoft` or `google`.
    pub provider: String,
    /// The provider's immutable subject for the person.
    pub subject: String,
    /// The sign-in's e-mail (lower case) it signs in.
    pub email: String,
    pub linked_at: DateTime<Utc>,
    pub last_sign_in_at: DateTime<Utc>,
    /// At the last sign-in, whether the ID token's `amr` said MFA (`Some(true)`), said otherwise
    /// (`Some(false)`), or was absent (`None`).
    pub provider_mfa: Option<bool>,
}

impl SsoLinkRow {
    /// Its id in the audit log: `provider:subject`.
    pub fn entity_id(&self) -> String {
        format!("{}:{}", self.provider, self.subject)
    }
}

/// A sign-in sent to a provider and not yet back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoAttemptRow {
    /// SHA-256 (lower-case hex) of the `state` sent.
    pub state_hash: String,
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// SHA-256 (lower-case hex) of the value of a cookie set in the browser that began it.
    pub browser_hash: String,
    pub created_at: DateTime<Utc>,
}

/// The `sso_links` table's columns, in the order rows are read and written.
const LINK_COLUMNS: Columns = &[
    ("provider", Kind::Text),
    ("subject", Kind::Text),
    ("email", Kind::Text),
    ("linked_at", Kind::Time),
    ("last_sign_in_at", Kind::Time),
    ("provider_mfa", Kind::Bool),
];

/// The `sso_attempts` table's columns, in the order rows are read and written.
const ATTEMPT_COLUMNS: Columns = &[
    ("state_hash", Kind::Text),
    ("provider", Kind::Text),
    ("nonce", Kind::Text),
    ("pkce_verifier", Kind::Text),
    ("browser_hash", Kind::Text),
    ("created_at", Kind::Time),
];

fn text(s: &str) -> Cell {
    Cell::Text(Some(s.to_owned()))
}

fn link_cells(l: &SsoLinkRow) -> Vec<Cell> {
    vec![
        text(&l.provider),
        text(&l.subject),
        text(&l.email),
        Cell::Time(Some(l.linked_at)),
        Cell::Time(Some(l.last_sign_in_at)),
        Cell::Bool(l.provider_mfa),
    ]
}

fn link_from_cells(cells: Vec<Cell>) -> Result<SsoLinkRow> {
    let mut r = CellReader::new("sso_links", LINK_COLUMNS, cells);
    Ok(SsoLinkRow {
        provider: r.text()?,
        subject: r.text()?,
        email: r.text()?,
        linked_at: r.time()?,
        last_sign_in_at: r.time()?,
        provider_mfa: r.opt_bool()?,
    })
}

fn attempt_cells(a: &SsoAttemptRow) -> Vec<Cell> {
    vec![
        text(&a.state_hash),
        text(&a.provider),
        text(&a.nonce),
        text(&a.pkce_verifier),
        text(&a.browser_hash),
        Cell::Time(Some(a.created_at)),
    ]
}

fn attempt_from_cells(cells: Vec<Cell>) -> Result<SsoAttemptRow> {
    let mut r = CellReader::new("sso_attempts", ATTEMPT_COLUMNS, cells);
    Ok(SsoAttemptRow {
        state_hash: r.text()?,
        provider: r.text()?,
        nonce: r.text()?,
        pkce_verifier: r.text()?,
        browser_hash: r.text()?,
        created_at: r.time()?,
    })
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The audit log's view of a link (and what verification compares the table with): all of it.
pub(crate) fn audit_view(l: &SsoLinkRow) -> String {
    canonical_json(&json!({
        "provider": l.provider,
        "subject": l.subject,
        "email": l.email,
        "linked_at": time(l.linked_at),
        "last_sign_in_at": time(l.last_sign_in_at),
        "provider_mfa": l.provider_mfa,
    }))
}

/// Stores an attempt and deletes every attempt created before `expired_before`, in the caller's
/// transaction; false, nothing stored, when `most` are in flight already. A state hash already
/// stored is the database's error.
pub(crate) fn begin_attempt(
    tx: &mut dyn PlainTx,
    attempt: &SsoAttemptRow,
    expired_before: DateTime<Utc>,
    most: u64,
) -> Result<bool> {
    let p = tx.placeholder();
    tx.exec(
        &format!("DELETE FROM sso_attempts WHERE created_at < {}", p.nth(1)),
        &[Cell::Time(Some(expired_before))],
    )?;
    const COUNT: Columns = &[("n", Kind::Int)];
    let in_flight = match tx
        .rows(
            "SELECT COUNT(*) AS n FROM sso_attempts",
            &[],
            "sso_attempts",
            COUNT,
        )?
        .into_iter()
        .next()
    {
        Some(row) => CellReader::new("sso_attempts", COUNT, row).int()?,
        None => 0,
    };
    if u64::try_from(in_flight).unwrap_or(0) >= most {
        return Ok(false);
    }
    let sql = insert_into("sso_attempts", ATTEMPT_COLUMNS, p);
    tx.exec(&sql, &attempt_cells(attempt))?;
    Ok(true)
}

/// Reads and deletes the attempt `state_hash` names, in the caller's transaction: it is returned
/// only when this transaction's delete removed it, so that of racing takes one alone has it.
pub(crate) fn take_attempt(
    tx: &mut dyn PlainTx,
    state_hash: &str,
) -> Result<Option<SsoAttemptRow>> {
    let p = tx.placeholder();
    let sql = format!(
        "SELECT {} FROM sso_attempts WHERE state_hash = {}",
        column_list(ATTEMPT_COLUMNS, ""),
        p.nth(1)
    );
    let Some(found) = tx
        .rows(&sql, &[text(state_hash)], "sso_attempts", ATTEMPT_COLUMNS)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let deleted = tx.exec(
        &format!("DELETE FROM sso_attempts WHERE state_hash = {}", p.nth(1)),
        &[text(state_hash)],
    )?;
    if deleted == 0 {
        return Ok(None);
    }
    attempt_from_cells(found).map(Some)
}

/// The link of `provider`'s `subject`.
pub(crate) fn link(
    tx: &mut dyn PlainTx,
    provider: &str,
    subject: &str,
) -> Result<Option<SsoLinkRow>> {
    let p = tx.placeholder();
    let sql = format!(
        "SELECT {} FROM sso_links WHERE provider = {} AND subject = {}",
        column_list(LINK_COLUMNS, ""),
        p.nth(1),
        p.nth(2)
    );
    tx.rows(
        &sql,
        &[text(provider), text(subject)],
        "sso_links",
        LINK_COLUMNS,
    )?
    .into_iter()
    .next()
    .map(link_from_cells)
    .transpose()
}

/// Every link, by e-mail then provider (then subject, though a sign-in has one per provider).
pub(crate) fn links(tx: &mut dyn PlainTx) -> Result<Vec<SsoLinkRow>> {
    let sql = format!(
        "SELECT {} FROM sso_links ORDER BY email, provider, subject",
        column_list(LINK_COLUMNS, "")
    );
    tx.rows(&sql, &[], "sso_links", LINK_COLUMNS)?
        .into_iter()
        .map(link_from_cells)
        .collect()
}

/// The links of the sign-in `email` (compared lower-cased), by provider.
pub(crate) fn links_of(tx: &mut dyn PlainTx, email: &str) -> Result<Vec<SsoLinkRow>> {
    let p = tx.placeholder();
    let sql = format!(
        "SELECT {} FROM sso_links WHERE email = {} ORDER BY provider, subject",
        column_list(LINK_COLUMNS, ""),
        p.nth(1)
    );
    tx.rows(
        &sql,
        &[text(&email.to_lowercase())],
        "sso_links",
        LINK_COLUMNS,
    )?
    .into_iter()
    .map(link_from_cells)
    .collect()
}

/// Inserts a link, or updates it by provider and subject (its e-mail lower-cased), with one audit
/// record (`action`, before and after) in the caller's transaction. A second link of one sign-in
/// at one provider is the database's error (the unique index).
pub(crate) fn save_link(
    tx: &mut dyn PlainTx,
    actor: &str,
    at: DateTime<Utc>,
    action: &str,
    link_row: &SsoLinkRow,
) -> Result<()> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let after = SsoLinkRow {
        email: link_row.email.to_lowercase(),
        ..link_row.clone()
    };
    let before = link(tx, &after.provider, &after.subject)?;
    let p = tx.placeholder();
    if before.is_some() {
        let sql = format!(
            "UPDATE sso_links SET email = {}, linked_at = {}, last_sign_in_at = {}, provider_mfa = {} \
             WHERE provider = {} AND subject = {}",
            p.nth(1),
            p.nth(2),
            p.nth(3),
            p.nth(4),
            p.nth(5),
            p.nth(6)
        );
        tx.exec(
            &sql,
            &[
                text(&after.email),
                Cell::Time(Some(after.linked_at)),
                Cell::Time(Some(after.last_sign_in_at)),
                Cell::Bool(after.provider_mfa),
                text(&after.provider),
                text(&after.subject),
            ],
        )?;
    } else {
        let sql = insert_into("sso_links", LINK_COLUMNS, p);
        tx.exec(&sql, &link_cells(&after))?;
    }
    audit.append(
        action,
        SSO_LINK_ENTITY,
        &after.entity_id(),
        before.as_ref().map(audit_view),
        Some(audit_view(&after)),
    );
    audit.finish(tx).map(drop)
}

/// Deletes the link of `provider`'s `subject` with one audit record (`unlink`) in the caller's
/// transaction; `false`, nothing written, if there is none.
pub(crate) fn remove_link(
    tx: &mut dyn PlainTx,
    actor: &str,
    at: DateTime<Utc>,
    provider: &str,
    subject: &str,
) -> Result<bool> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let Some(before) = link(tx, provider, subject)? else {
        return Ok(false);
    };
    let p = tx.placeholder();
    tx.exec(
        &format!(
            "DELETE FROM sso_links WHERE provider = {} AND subject = {}",
            p.nth(1),
            p.nth(2)
        ),
        &[text(provider), text(subject)],
    )?;
    audit.append(
        "unlink",
        SSO_LINK_ENTITY,
        &before.entity_id(),
        Some(audit_view(&before)),
        None,
    );
    audit.finish(tx)?;
    Ok(true)
}
