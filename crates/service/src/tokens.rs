//! API tokens: who may create, see and revoke them, and what a token presented as a bearer
//! secret acts as. A person's own token acts for them with their capacities as they are at each
//! use (so it never has more than they have now, and nothing once their sign-in is disabled or
//! they have left); a service token, which only an administrator creates, acts with the
//! capacities given it, never more than its creator's. A token's secret is shown once, when it
//! is made: only its SHA-256 is stored. Whether a token may read or write a register
//! ([`ApiToken::allows`]) is for the front end to ask before it calls the service with the
//! token's [`Stamp`], which the service then checks as any other.

use std::collections::BTreeSet;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use steward_model::Register;
use steward_store::ApiTokenRow;

use crate::accounts::auth;
use crate::authority::Authority;
use crate::{Capacity, Refusal, Result, ServiceError, Stamp, Steward, Viewer};

/// What a token's secret begins with, so that secret scanners can find one left in code.
pub const TOKEN_PREFIX: &str = "stw_";
/// What a token's public id begins with.
const ID_PREFIX: &str = "tok_";
/// The most a token may last.
pub const TOKEN_LONGEST: TimeDelta = TimeDelta::days(366);
/// How long a token is used without its last use written back.
const TOKEN_TOUCH: TimeDelta = TimeDelta::minutes(1);
/// The longest name a token or service may have, in characters.
const NAME_CHARS: usize = 100;
/// What a service token's holder begins with.
const SERVICE: &str = "service:";
/// What a signed-in person's stamp's actor begins with.
const WEB: &str = "web:";

/// What a token may do to the registers it may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenAccess {
    Read,
    ReadWrite,
}

impl TokenAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAccess::Read => "read",
            TokenAccess::ReadWrite => "read-write",
        }
    }

    pub fn parse(word: &str) -> Option<TokenAccess> {
        match word {
            "read" => Some(TokenAccess::Read),
            "read-write" => Some(TokenAccess::ReadWrite),
            _ => None,
        }
    }
}

impl std::fmt::Display for TokenAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// For whom a token acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenHolder {
    /// A person, by their sign-in e-mail, with their capacities as they are at each use.
    Person { email: String },
    /// A service (another system), with the capacities given it.
    Service {
        name: String,
        capacities: BTreeSet<Capacity>,
    },
}

impl std::fmt::Display for TokenHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenHolder::Person { email } => f.write_str(email),
            TokenHolder::Service { name, .. } => write!(f, "{SERVICE}{name}"),
        }
    }
}

/// An API token as its holder and administrators see it (never its secret or hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub holder: TokenHolder,
    pub access: TokenAccess,
    /// The registers it may reach; empty: every register its holder may.
    pub registers: Vec<Register>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    /// Whether the token reaches `register` and, for a write, may write. Its holder's own
    /// authority is checked besides, by the service, through the token's stamp.
    pub fn allows(&self, register: Register, write: bool) -> bool {
        (!write || self.access == TokenAccess::ReadWrite)
            && (self.registers.is_empty() || self.registers.contains(&register))
    }
}

/// A token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    /// None: for the person the stamp is (their own token)
    pub service: Option<(String, BTreeSet<Capacity>)>,
    pub access: TokenAccess,
    pub registers: Vec<Register>,
    pub expires_at: DateTime<Utc>,
}

/// A live token presented as a bearer secret: the token, whom it acts as now, and the stamp
/// writes made with it carry (actor `token:ID`).
#[derive(Debug, Clone)]
pub struct TokenBearer {
    pub token: ApiToken,
    pub viewer: Viewer,
    pub stamp: Stamp,
}

impl Steward {
    /// A new token and its secret (shown once, never stored: only its hash is).
    pub fn create_token(&self, stamp: &Stamp, new: &NewToken) -> Result<(ApiToken, String)> {
        let name = checked_name("name", &new.name)?;
        let at = stamp.at.trunc_subsecs(6);
        let expires_at = new.expires_at.trunc_subsecs(6);
        if expires_at <= at {
            return Err(invalid("its expiry must be in the future"));
        }
        if expires_at > at + TOKEN_LONGEST {
            return Err(invalid(format!(
                "it may last at most {} days",
                TOKEN_LONGEST.num_days()
            )));
        }
        let (holder, capacities) = match &new.service {
            None => {
                let email = own_email(stamp).ok_or_else(|| {
                    Refusal::Step(
                        "a personal api token is made by its person, signed in".to_owned(),
                    )
                })?;
                match self.present_viewer(email, at)? {
                    Some(viewer) => (viewer.email, None),
                    None => {
                        return Err(Refusal::Step(
                            "a sign-in that may not be used cannot have an api token".to_owned(),
                        )
                        .into());
                    }
                }
            }
            Some((service, capacities)) => {
                stamp.require(&[Capacity::Administrator], "creating a service api token")?;
                let service = checked_name("service", service)?;
                if !service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    return Err(invalid(
                        "a service's name is letters, digits, '-', '_' and '.'",
                    ));
                }
                if capacities.is_empty() {
                    return Err(invalid("a service token needs at least one capacity"));
                }
                if let Some(c) = capacities
                    .iter()
                    .find(|c| matches!(c, Capacity::Staff | Capacity::LineManager))
                {
                    return Err(invalid(format!(
                        "{} is a person's capacity, not a service's",
                        c.as_str()
                    )));
                }
                let beyond: Vec<&str> = capacities
                    .iter()
                    .filter(|c| !covers(&stamp.authority, **c))
                    .map(|c| c.as_str())
                    .collect();
                if !beyond.is_empty() {
                    return Err(Refusal::Step(format!(
                        "a token may not have capacities its creator lacks: {}",
                        beyond.join(", ")
                    ))
                    .into());
                }
                (
                    format!("{SERVICE}{service}"),
                    Some(join(capacities.iter().map(|c| c.as_str()))),
                )
            }
        };
        let mut registers = new.registers.clone();
        registers.sort();
        registers.dedup();
        let secret = format!("{TOKEN_PREFIX}{}", steward_auth::new_token().map_err(auth)?);
        let id: String = steward_auth::new_token()
            .map_err(auth)?
            .chars()
            .take(16)
            .collect();
        let row = ApiTokenRow {
            id: format!("{ID_PREFIX}{id}"),
            name,
            token_hash: steward_auth::token_hash(&secret),
            holder,
            capacities,
            access: new.access.as_str().to_owned(),
            registers: (!registers.is_empty()).then(|| join(registers.iter().map(|r| r.name()))),
            expires_at,
            created_at: at,
            created_by: stamp.actor.clone(),
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
        };
        self.store().create_api_token(&row)?;
        Ok((token_from_row(row)?, secret))
    }

    /// The tokens the stamp may see: its own person's; every token for an administrator.
    pub fn tokens(&self, stamp: &Stamp) -> Result<Vec<ApiToken>> {
        let every = stamp.authority.is(Capacity::Administrator);
        let own = own_email(stamp);
        self.store()
            .api_tokens()?
            .into_iter()
            .filter(|t| every || own.is_some_and(|e| e == t.holder))
            .map(token_from_row)
            .collect()
    }

    /// Revokes a token: its holder's own, or any for an administrator. A token revoked already
    /// is returned as it stands, nothing written.
    pub fn revoke_token(&self, stamp: &Stamp, id: &str) -> Result<ApiToken> {
        let Some(token) = self.tokens(stamp)?.into_iter().find(|t| t.id == id) else {
            return Err(ServiceError::NoToken(id.to_owned()));
        };
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        match self
            .store()
            .revoke_api_token(id, &stamp.actor, stamp.at.trunc_subsecs(6))?
        {
            Some(row) => token_from_row(row),
            // Revoked meanwhile by someone else.
            None => self
                .tokens(stamp)?
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| ServiceError::NoToken(id.to_owned())),
        }
    }

    /// The live token `secret` is, if any (unknown, expired, revoked, or its person's sign-in
    /// disabled or gone: None). Touches last_used_at at most once a minute.
    pub fn token_bearer(&self, secret: &str, now: DateTime<Utc>) -> Result<Option<TokenBearer>> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let Some(row) = self
            .store()
            .api_token_by_hash(&steward_auth::token_hash(secret))?
        else {
            return Ok(None);
        };
        self.bearer_of(row, now)
    }

    /// Counts a request made with token `id` in the minute `now` falls in, where every server
    /// sharing the database counts it (PostgreSQL): the minute's count so far, this one
    /// included. `None` where one server alone serves the database, which counts in memory.
    pub fn count_token_request(&self, id: &str, now: DateTime<Utc>) -> Result<Option<u64>> {
        Ok(self
            .store()
            .count_api_request(id, now.timestamp().div_euclid(60))?)
    }

    /// The stamp a job queued with token `id` runs with now: the token's holder's authority as
    /// it is now, or none if the token is no longer live (revoked, expired, its person gone).
    pub(crate) fn token_stamp(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Stamp>> {
        let Some(row) = self.store().api_tokens()?.into_iter().find(|t| t.id == id) else {
            return Ok(None);
        };
        Ok(self.bearer_of(row, now)?.map(|b| b.stamp))
    }

    /// What a stored token acts as at `now`, if it is live.
    fn bearer_of(&self, row: ApiTokenRow, now: DateTime<Utc>) -> Result<Option<TokenBearer>> {
        let mut token = token_from_row(row)?;
        if !token.is_live(now) {
            return Ok(None);
        }
        let viewer = match &token.holder {
            TokenHolder::Person { email } => match self.present_viewer(email, now)? {
                Some(viewer) => viewer,
                None => return Ok(None),
            },
            TokenHolder::Service { name, capacities } => Viewer {
                email: format!("{SERVICE}{name}"),
                display_name: name.clone(),
                person_id: None,
                capacities: capacities.clone(),
                must_change_password: false,
            },
        };
        // Touch at most once a minute: reading should not always write.
        if token
            .last_used_at
            .is_none_or(|last| now - last > TOKEN_TOUCH)
        {
            let at = now.trunc_subsecs(6);
            self.store().touch_api_token(&token.id, at)?;
            token.last_used_at = Some(at);
        }
        let stamp = Stamp {
            actor: format!("token:{}", token.id),
            at: now,
            authority: Authority::of(
                viewer.capacities.iter().copied(),
                viewer.person_id.as_deref(),
            ),
        };
        Ok(Some(TokenBearer {
            token,
            viewer,
            stamp,
        }))
    }
}

/// Whether `authority` may give a token capacity `c`: it holds it, or it is an administrator
/// and `c` is granted by a role (an administrator may do whatever the IT and governance teams,
/// information asset owners and auditors may; see `authority.rs`). Staff and line manager are
/// a person's, from the people register, and no token is given them.
fn covers(authority: &Authority, c: Capacity) -> bool {
    authority.is(c) || (authority.is(Capacity::Administrator) && c.role().is_some())
}

/// The e-mail of the person a stamp is signed in as (`web:EMAIL`), if it is one.
fn own_email(stamp: &Stamp) -> Option<&str> {
    stamp
        .actor
        .strip_prefix(WEB)
        .filter(|e| !e.is_empty() && !e.contains(' '))
}

fn invalid(problem: impl Into<String>) -> ServiceError {
    ServiceError::InvalidToken(problem.into())
}

/// A name of 1 to [`NAME_CHARS`] characters of text, trimmed.
fn checked_name(what: &str, text: &str) -> Result<String> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > NAME_CHARS {
        return Err(invalid(format!(
            "its {what} must be 1 to {NAME_CHARS} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(format!(
            "its {what} must be text, without control characters"
        )));
    }
    Ok(text.to_owned())
}

fn join<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words.collect::<Vec<_>>().join(";")
}

/// A stored token as the service sees it; a value the service cannot read is the database's
/// corruption, said as the store says it.
fn token_from_row(row: ApiTokenRow) -> Result<ApiToken> {
    let corrupt = |column: &'static str, reason: String| {
        ServiceError::Store(steward_store::StoreError::Corrupt {
            table: "api_tokens",
            column,
            id: row.id.clone(),
            reason,
        })
    };
    let access = TokenAccess::parse(&row.access)
        .ok_or_else(|| corrupt("access", format!("unknown access {:?}", row.access)))?;
    let registers = words(row.registers.as_deref())
        .map(|w| {
            Register::parse(w)
                .ok_or_else(|| corrupt("registers", format!("unknown register {w:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let holder = match row.holder.strip_prefix(SERVICE) {
        Some(name) => TokenHolder::Service {
            name: name.to_owned(),
            capacities: words(row.capacities.as_deref())
                .map(|w| {
                    Capacity::parse(w)
                        .ok_or_else(|| corrupt("capacities", format!("unknown capacity {w:?}")))
                })
                .collect::<Result<_>>()?,
        },
        None => TokenHolder::Person {
            email: row.holder.clone(),
        },
    };
    Ok(ApiToken {
        id: row.id,
        name: row.name,
        holder,
        access,
        registers,
        expires_at: row.expires_at,
        created_at: row.created_at,
        created_by: row.created_by,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    })
}

fn words(text: Option<&str>) -> impl Iterator<Item = &str> {
    text.unwrap_or_default()
        .split(';')
        .filter(|w| !w.is_empty())
}
