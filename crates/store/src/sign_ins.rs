//! Web sign-in accounts and their sessions, on both backends.
//!
//! A [`SignIn`] is one account, keyed by its e-mail address stored lower-case: its Argon2id
//! password hash, its TOTP secret and last step used, the SHA-256 hashes of its unused recovery
//! codes, and the roles the account itself holds. The store keeps them and never judges them:
//! hashing, verifying and deciding who may sign in belong to the callers.
//!
//! Every change of an account's meaning goes through [`save`] (or [`create_first`]), which writes
//! the row and one audit record (entity [`SIGN_IN_ENTITY`], id the address) through the shared
//! [`AuditChain`] in one transaction. The audit view ([`audit_json`]) holds no secret: no hash, no
//! TOTP secret or step, no code hashes — only whether MFA is enrolled and how many codes are left.
//! Moving the last TOTP step used and sessions are not audited.
//!
//! A [`Session`] is keyed by the SHA-256 hash of its cookie token; the token itself is never
//! stored.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value as Json};
use steward_model::audit::canonical_json;

use crate::Result;
use crate::commit::{AuditChain, AuditTx};
use crate::findings::{Cell, CellReader, Columns, Kind};

/// The audit log's entity type for sign-ins; the entity id is the lower-case e-mail address.
pub const SIGN_IN_ENTITY: &str = "sign_in";

/// What `Debug` shows in place of a secret.
const REDACTED: &str = "<redacted>";

/// One web sign-in account.
#[derive(Clone, PartialEq, Eq)]
pub struct SignIn {
    /// The address signed in with; the store keeps and compares it lower-case.
    pub email: String,
    /// The person in the people register this account belongs to, if any.
    pub person_id: Option<String>,
    pub display_name: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    /// Base32; `None` until MFA is enrolled.
    pub totp_secret: Option<String>,
    /// The last TOTP time step accepted, against replay.
    pub totp_last_step: Option<i64>,
    pub mfa_enrolled_at: Option<DateTime<Utc>>,
    /// SHA-256 hex of each unused recovery code.
    pub recovery_codes: Vec<String>,
    /// Role words held on the account itself (`administrator`, …).
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    /// Set by an administrator's reset: a new password is chosen at the next sign-in.
    pub must_change_password: bool,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |present: bool| if present { REDACTED } else { "None" };
        f.debug_struct("SignIn")
            .field("email", &self.email)
            .field("person_id", &self.person_id)
            .field("display_name", &self.display_name)
            .field("password_hash", &format_args!("{REDACTED}"))
            .field(
                "totp_secret",
                &format_args!("{}", secret(self.totp_secret.is_some())),
            )
            .field("totp_last_step", &self.totp_last_step)
            .field("mfa_enrolled_at", &self.mfa_enrolled_at)
            .field(
                "recovery_codes",
                &format_args!("{REDACTED} ({} left)", self.recovery_codes.len()),
            )
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .field("password_changed_at", &self.password_changed_at)
            .field("must_change_password", &self.must_change_password)
            .finish()
    }
}

/// One signed-in browser.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 hex of the cookie token.
    pub token_hash: String,
    /// The sign-in's address, lower-case.
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Whether the second factor has been passed in this session.
    pub mfa_passed: bool,
    pub csrf_secret: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field(
                "token_hash",
                &format_args!("{}", short_hash(&self.token_hash)),
            )
            .field("email", &self.email)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .field("mfa_passed", &self.mfa_passed)
            .field("csrf_secret", &format_args!("{REDACTED}"))
            .finish()
    }
}

/// The first 8 characters of a token hash and an ellipsis: enough to tell sessions apart in logs.
pub(crate) fn short_hash(hash: &str) -> String {
    let mut chars = hash.chars();
    let head: String = chars.by_ref().take(8).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// How the store keys an address: lower-case.
pub(crate) fn email_key(email: &str) -> String {
    email.to_lowercase()
}

// --- columns ----------------------------------------------------------------------------------

/// The `sign_ins` table's columns, in the order rows are read and written.
pub(crate) const SIGN_IN_COLUMNS: Columns = &[
    ("email", Kind::Text),
    ("person_id", Kind::Text),
    ("display_name", Kind::Text),
    ("password_hash", Kind::Text),
    ("totp_secret", Kind::Text),
    ("totp_last_step", Kind::Int),
    ("mfa_enrolled_at", Kind::Time),
    ("recovery_codes", Kind::Text),
    ("roles", Kind::Text),
    ("disabled", Kind::Bool),
    ("created_at", Kind::Time),
    ("password_changed_at", Kind::Time),
    ("must_change_password", Kind::Bool),
];

/// The `sessions` table's columns, in the order rows are read and written.
pub(crate) const SESSION_COLUMNS: Columns = &[
    ("token_hash", Kind::Text),
    ("email", Kind::Text),
    ("created_at", Kind::Time),
    ("last_seen", Kind::Time),
    ("mfa_passed", Kind::Bool),
    ("csrf_secret", Kind::Text),
];

fn text_array(items: &[String]) -> String {
    canonical_json(&Json::Array(
        items.iter().map(|s| Json::String(s.clone())).collect(),
    ))
}

/// A sign-in's cells, its address lower-cased.
pub(crate) fn sign_in_cells(s: &SignIn) -> Vec<Cell> {
    vec![
        Cell::Text(Some(email_key(&s.email))),
        Cell::Text(s.person_id.clone()),
        Cell::Text(Some(s.display_name.clone())),
        Cell::Text(Some(s.password_hash.clone())),
        Cell::Text(s.totp_secret.clone()),
        Cell::Int(s.totp_last_step),
        Cell::Time(s.mfa_enrolled_at),
        Cell::Text(Some(text_array(&s.recovery_codes))),
        Cell::Text(Some(text_array(&s.roles))),
        Cell::Bool(Some(s.disabled)),
        Cell::Time(Some(s.created_at)),
        Cell::Time(Some(s.password_changed_at)),
        Cell::Bool(Some(s.must_change_password)),
    ]
}

fn read_array(r: &mut CellReader, column: &'static str) -> Result<Vec<String>> {
    let text = r.text()?;
    // The text itself is left out of the error: `recovery_codes` holds hashes of secrets.
    serde_json::from_str(&text)
        .map_err(|e| r.corrupt(column, format!("not a JSON array of text: {e}")))
}

pub(crate) fn sign_in_from_cells(cells: Vec<Cell>) -> Result<SignIn> {
    let mut r = CellReader::new("sign_ins", SIGN_IN_COLUMNS, cells);
    let email = r.text()?;
    let (_, person_id) = r.opt_text()?;
    let display_name = r.text()?;
    let password_hash = r.text()?;
    let (_, totp_secret) = r.opt_text()?;
    let totp_last_step = r.opt_int()?;
    let (_, mfa_enrolled_at) = r.opt_time()?;
    let recovery_codes = read_array(&mut r, "recovery_codes")?;
    let roles = read_array(&mut r, "roles")?;
    let disabled = r.bool()?;
    let created_at = r.time()?;
    let password_changed_at = r.time()?;
    let must_change_password = r.bool()?;
    Ok(SignIn {
        email,
        person_id,
        display_name,
        password_hash,
        totp_secret,
        totp_last_step,
        mfa_enrolled_at,
        recovery_codes,
        roles,
        disabled,
        created_at,
        password_changed_at,
        must_change_password,
    })
}

/// A session's cells, its address lower-cased.
pub(crate) fn session_cells(s: &Session) -> Vec<Cell> {
    vec![
        Cell::Text(Some(s.token_hash.clone())),
        Cell::Text(Some(email_key(&s.email))),
        Cell::Time(Some(s.created_at)),
        Cell::Time(Some(s.last_seen)),
        Cell::Bool(Some(s.mfa_passed)),
        Cell::Text(Some(s.csrf_secret.clone())),
    ]
}

/// What a visit reads besides its session and sign-in: the sign-in's person's standing, whether
/// anyone still reports to them, the roles the roles register grants them, and the audit log's
/// head as the request began.
const VISIT_EXTRA: Columns = &[
    ("person_status", Kind::Text),
    ("person_leave_date", Kind::Date),
    ("manages", Kind::Bool),
    ("person_roles", Kind::Text),
    ("audit_seq", Kind::Int),
];

/// The columns [`crate::sql::visit_select`] reads: the session's, the sign-in's, then
/// [`VISIT_EXTRA`].
pub(crate) fn visit_columns() -> Columns {
    static COLUMNS: LazyLock<Vec<(&'static str, Kind)>> =
        LazyLock::new(|| [SESSION_COLUMNS, SIGN_IN_COLUMNS, VISIT_EXTRA].concat());
    COLUMNS.as_slice()
}

/// A signed-in request's first read, in one statement: its session, the session's sign-in and
/// what decides the capacities the viewer holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub session: Session,
    /// `None` when the session's account no longer exists.
    pub sign_in: Option<SignIn>,
    /// The status word of the sign-in's person (`None` without a person, or one not in the
    /// people register), and their leaving date.
    pub person_status: Option<String>,
    pub person_leave_date: Option<NaiveDate>,
    /// Someone who has not left has the sign-in's person as their manager.
    pub manages: bool,
    /// The role words the roles register grants the sign-in's person.
    pub roles: Vec<String>,
    /// The audit log's last sequence number when the statement ran (0 for an empty log): every
    /// audited change moves it, so it tells whether anything derived from the data is stale.
    pub audit_seq: i64,
}

pub(crate) fn visit_from_cells(mut cells: Vec<Cell>) -> Result<Visit> {
    let extra = cells.split_off(SESSION_COLUMNS.len() + SIGN_IN_COLUMNS.len());
    let account = cells.split_off(SESSION_COLUMNS.len());
    let session = session_from_cells(cells)?;
    let sign_in = match account.first() {
        Some(Cell::Text(Some(_))) => Some(sign_in_from_cells(account)?),
        _ => None,
    };
    let mut r = CellReader::new("sessions", VISIT_EXTRA, extra);
    let (_, person_status) = r.opt_text()?;
    let person_leave_date = r.opt_date()?;
    let manages = r.bool()?;
    let (_, roles) = r.opt_text()?;
    let audit_seq = r.opt_int()?.unwrap_or(0);
    let mut roles: Vec<String> = roles
        .unwrap_or_default()
        .split(',')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    roles.sort();
    roles.dedup();
    Ok(Visit {
        session,
        sign_in,
        person_status,
        person_leave_date,
        manages,
        roles,
        audit_seq,
    })
}

/// The one column of a failed guess read back (`sign_in_failures.at`).
pub(crate) const FAILURE_COLUMNS: Columns = &[("at", Kind::Time)];

pub(crate) fn failure_from_cells(cells: Vec<Cell>) -> Result<DateTime<Utc>> {
    CellReader::new("sign_in_failures", FAILURE_COLUMNS, cells).time()
}

pub(crate) fn session_from_cells(cells: Vec<Cell>) -> Result<Session> {
    let mut r = CellReader::new("sessions", SESSION_COLUMNS, cells);
    Ok(Session {
        token_hash: r.text()?,
        email: r.text()?,
        created_at: r.time()?,
        last_seen: r.time()?,
        mfa_passed: r.bool()?,
        csrf_secret: r.text()?,
    })
}

// --- the write path ---------------------------------------------------------------------------

/// The audit log's view of a sign-in, canonical JSON: what the account means, never a secret.
pub(crate) fn audit_json(s: &SignIn) -> String {
    let text = |t: &str| Json::String(t.to_owned());
    let mut m = Map::new();
    m.insert("email".into(), text(&email_key(&s.email)));
    m.insert(
        "person_id".into(),
        s.person_id.as_deref().map_or(Json::Null, text),
    );
    m.insert("display_name".into(), text(&s.display_name));
    m.insert(
        "mfa_enrolled".into(),
        Json::Bool(s.mfa_enrolled_at.is_some()),
    );
    m.insert(
        "recovery_codes_left".into(),
        Json::from(s.recovery_codes.len()),
    );
    m.insert(
        "roles".into(),
        Json::Array(s.roles.iter().map(|r| text(r)).collect()),
    );
    m.insert("disabled".into(), Json::Bool(s.disabled));
    if s.must_change_password {
        m.insert("must_change_password".into(), Json::Bool(true));
    }
    m.insert(
        "password_changed_at".into(),
        text(
            &s.password_changed_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        ),
    );
    canonical_json(&Json::Object(m))
}

/// What a backend offers inside one transaction to change sign-ins.
pub(crate) trait SignInTx: AuditTx {
    /// The stored sign-in under this (lower-case) address.
    fn load_sign_in(&mut self, email: &str) -> Result<Option<SignIn>>;
    fn count_sign_ins(&mut self) -> Result<u64>;
    /// Inserts the sign-in or rewrites the stored one (see `sql::sign_in_upsert`).
    fn upsert_sign_in(&mut self, sign_in: &SignIn) -> Result<()>;
}

/// The sign-in as stored: its address lower-case.
fn normalised(sign_in: &SignIn) -> SignIn {
    SignIn {
        email: email_key(&sign_in.email),
        ..sign_in.clone()
    }
}

/// Creates or rewrites a sign-in and chains one audit record of `action` — in the caller's
/// transaction, under the audit head's lock.
pub(crate) fn save(
    tx: &mut dyn SignInTx,
    actor: &str,
    at: DateTime<Utc>,
    action: &str,
    sign_in: &SignIn,
) -> Result<()> {
    let sign_in = normalised(sign_in);
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let before = tx.load_sign_in(&sign_in.email)?;
    tx.upsert_sign_in(&sign_in)?;
    audit.append(
        action,
        SIGN_IN_ENTITY,
        &sign_in.email,
        before.as_ref().map(audit_json),
        Some(audit_json(&sign_in)),
    );
    audit.finish(tx)?;
    Ok(())
}

/// Creates `sign_in` only if there is no sign-in at all: the head is locked first, so two first
/// runs racing are serialised and the second finds the first's account. `false` (nothing written)
/// when any account exists; the caller then rolls back.
pub(crate) fn create_first(
    tx: &mut dyn SignInTx,
    actor: &str,
    at: DateTime<Utc>,
    sign_in: &SignIn,
) -> Result<bool> {
    let sign_in = normalised(sign_in);
    let mut audit = AuditChain::begin(tx, actor, at)?;
    if tx.count_sign_ins()? > 0 {
        return Ok(false);
    }
    tx.upsert_sign_in(&sign_in)?;
    audit.append(
        "create",
        SIGN_IN_ENTITY,
        &sign_in.email,
        None,
        Some(audit_json(&sign_in)),
    );
    audit.finish(tx)?;
    Ok(true)
}

/// Removes one unused recovery code (by its stored hash) from a sign-in and chains an audit record
/// of its use — only if the code is still there once the audit head is locked, so two requests
/// racing with the same code cannot both use it. `false` (nothing written) when it is not; the
/// caller then rolls back.
pub(crate) fn consume_code(
    tx: &mut dyn SignInTx,
    actor: &str,
    at: DateTime<Utc>,
    email: &str,
    code_hash: &str,
) -> Result<bool> {
    let mut audit = AuditChain::begin(tx, actor, at)?;
    let Some(before) = tx.load_sign_in(&email_key(email))? else {
        return Ok(false);
    };
    let Some(i) = before.recovery_codes.iter().position(|c| c == code_hash) else {
        return Ok(false);
    };
    let mut after = before.clone();
    after.recovery_codes.remove(i);
    tx.upsert_sign_in(&after)?;
    audit.append(
        "use_recovery_code",
        SIGN_IN_ENTITY,
        &after.email,
        Some(audit_json(&before)),
        Some(audit_json(&after)),
    );
    audit.finish(tx)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn account() -> SignIn {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 2, 9, 30, 0)
            .single()
            .unwrap_or_default();
        SignIn {
            email: "Ada@Example.org".into(),
            person_id: Some("P1".into()),
            display_name: "Ada".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            totp_secret: Some("JBSWY3DPEHPK3PXP".into()),
            totp_last_step: Some(7),
            mfa_enrolled_at: Some(t),
            recovery_codes: vec!["aa11".into(), "bb22".into()],
            roles: vec!["administrator".into()],
            disabled: false,
            created_at: t,
            password_changed_at: t,
            must_change_password: false,
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let s = account();
        let shown = format!("{s:?}");
        for secret in ["argon2id", "JBSWY3DPEHPK3PXP", "aa11", "bb22"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("Ada@Example.org") && shown.contains("<redacted>"));
        let session = Session {
            token_hash: "0123456789abcdef".into(),
            email: "ada@example.org".into(),
            created_at: s.created_at,
            last_seen: s.created_at,
            mfa_passed: true,
            csrf_secret: "csrf-secret-value".into(),
        };
        let shown = format!("{session:?}");
        assert!(shown.contains("01234567…"), "{shown}");
        assert!(!shown.contains("89abcdef") && !shown.contains("csrf-secret-value"));
    }

    #[test]
    fn cells_round_trip_with_the_address_lower_cased() {
        let s = account();
        let back = sign_in_from_cells(sign_in_cells(&s)).unwrap();
        assert_eq!(back, normalised(&s));
        assert_eq!(sign_in_cells(&s).len(), SIGN_IN_COLUMNS.len());
    }

    #[test]
    fn a_corrupt_array_names_its_column_and_not_its_content() {
        let mut cells = sign_in_cells(&account());
        cells[7] = Cell::Text(Some("[\"aa11\"".into()));
        let err = sign_in_from_cells(cells).unwrap_err().to_string();
        assert!(err.contains("sign_ins.recovery_codes"), "{err}");
        assert!(!err.contains("aa11"), "{err}");
    }

    #[test]
    fn the_audit_view_holds_no_secret() {
        let json = audit_json(&account());
        for secret in ["argon2id", "JBSWY3DPEHPK3PXP", "aa11", "bb22", "totp"] {
            assert!(!json.contains(secret), "{json}");
        }
        assert_eq!(
            json,
            "{\"disabled\":false,\"display_name\":\"Ada\",\"email\":\"ada@example.org\",\
             \"mfa_enrolled\":true,\"password_changed_at\":\"2026-11-02T09:30:00.000000Z\",\
             \"person_id\":\"P1\",\"recovery_codes_left\":2,\"roles\":[\"administrator\"]}"
        );
    }
}
