//! `steward token`: API tokens for services (other systems) — created, listed, revoked. The
//! command line acts as administrator, so it makes service tokens; a person makes their own on
//! the web. A token's secret is printed once, when it is made.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::{Duration, Utc};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use steward_service::{ApiToken, Capacity, NewToken, TOKEN_LONGEST, TokenAccess, TokenHolder};

use crate::config::Settings;
use crate::{Format, open, register, stamp};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a service's API token; prints its id and its secret, which is not shown again.
    Create {
        /// What the token is for, such as "nightly export to the HR system".
        #[arg(long)]
        name: String,
        /// The service (another system) it acts as: letters, digits, '-', '_' and '.'.
        #[arg(long)]
        service: String,
        /// A capacity it acts in (it, governance, iao, auditor, administrator); repeat for more.
        #[arg(long = "capacity", value_name = "CAPACITY", required = true)]
        capacities: Vec<String>,
        /// What it may do to the registers it reaches.
        #[arg(long, value_enum, default_value_t = Access::Read)]
        access: Access,
        /// A register it may reach (people, assets, …); repeat for more. Default: every
        /// register its capacities may.
        #[arg(long = "register", value_name = "REGISTER")]
        registers: Vec<String>,
        /// How many days it lasts (at most 366).
        #[arg(long, default_value_t = 90)]
        expires_in: u32,
    },
    /// Every API token: id, name, holder, access, registers, expiry, last use, revocation.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Revoke an API token (by its id, `tok_…`): it stops working at once.
    Revoke { id: String },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

impl From<Access> for TokenAccess {
    fn from(a: Access) -> TokenAccess {
        match a {
            Access::Read => TokenAccess::Read,
            Access::ReadWrite => TokenAccess::ReadWrite,
        }
    }
}

pub fn run(command: TokenCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    let stamp = stamp(settings, None);
    match command {
        TokenCommand::Create {
            name,
            service,
            capacities,
            access,
            registers,
            expires_in,
        } => {
            let capacities = capacities
                .iter()
                .map(|c| capacity(c))
                .collect::<Result<BTreeSet<_>>>()?;
            let registers = registers
                .iter()
                .map(|r| register(r))
                .collect::<Result<Vec<_>>>()?;
            if i64::from(expires_in) > TOKEN_LONGEST.num_days() || expires_in == 0 {
                bail!(
                    "--expires-in: a token lasts 1 to {} days",
                    TOKEN_LONGEST.num_days()
                );
            }
            let (token, secret) = steward.create_token(
                &stamp,
                &NewToken {
                    name,
                    service: Some((service, capacities)),
                    access: access.into(),
                    registers,
                    expires_at: stamp.at + Duration::days(i64::from(expires_in)),
                },
            )?;
            println!("token {} created for {}", token.id, token.holder);
            println!("expires {}", day_and_time(token.expires_at));
            println!("secret: {secret}");
            println!(
                "The secret will not be shown again: keep it now, in the service's secret store."
            );
        }
        TokenCommand::List { format } => {
            let tokens = steward.tokens(&stamp)?;
            match format {
                Format::Json => {
                    let all: Vec<_> = tokens.iter().map(json_of).collect();
                    println!("{}", serde_json::to_string_pretty(&all)?);
                }
                Format::Text => {
                    println!(
                        "{:<20}  {:<24} {:<28} {:<10} {:<20} {:<16} {:<16} revoked",
                        "id", "name", "holder", "access", "registers", "expires", "last used"
                    );
                    let now = Utc::now();
                    for t in &tokens {
                        let revoked = match t.revoked_at {
                            Some(at) => day_and_time(at),
                            None if !t.is_live(now) => "expired".to_owned(),
                            None => String::new(),
                        };
                        println!(
                            "{:<20}  {:<24} {:<28} {:<10} {:<20} {:<16} {:<16} {}",
                            t.id,
                            t.name,
                            holder(t),
                            t.access.as_str(),
                            registers(t),
                            day_and_time(t.expires_at),
                            t.last_used_at.map(day_and_time).unwrap_or_default(),
                            revoked
                        );
                    }
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let token = steward.revoke_token(&stamp, &id)?;
            let at = token.revoked_at.map(day_and_time).unwrap_or_default();
            println!("token {} revoked ({at})", token.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn capacity(word: &str) -> Result<Capacity> {
    match Capacity::parse(word) {
        Some(c) => Ok(c),
        None => {
            let known: Vec<&str> = Capacity::ALL.iter().map(|c| c.as_str()).collect();
            bail!(
                "unknown capacity {word:?}; expected one of {}",
                known.join(", ")
            )
        }
    }
}

fn day_and_time(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// The holder as listed: the person's e-mail, or `service:NAME (capacities)`.
fn holder(t: &ApiToken) -> String {
    match &t.holder {
        TokenHolder::Person { email } => email.clone(),
        TokenHolder::Service { name, capacities } => format!(
            "service:{name} ({})",
            capacities
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn registers(t: &ApiToken) -> String {
    if t.registers.is_empty() {
        "all".to_owned()
    } else {
        t.registers
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn json_of(t: &ApiToken) -> serde_json::Value {
    let (kind, holder, capacities) = match &t.holder {
        TokenHolder::Person { email } => ("person", email.clone(), None),
        TokenHolder::Service { name, capacities } => (
            "service",
            name.clone(),
            Some(capacities.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
        ),
    };
    json!({
        "id": t.id,
        "name": t.name,
        "holder_kind": kind,
        "holder": holder,
        "capacities": capacities,
        "access": t.access.as_str(),
        "registers": t.registers.iter().map(|r| r.name()).collect::<Vec<_>>(),
        "expires_at": t.expires_at,
        "created_at": t.created_at,
        "created_by": t.created_by,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
    })
}
