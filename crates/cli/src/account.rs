//! `steward account`: sign-in accounts from the command line, for the operator who looks after
//! the server (the first administrator's lost phone, an account to disable at once).

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use steward_service::{Capacity, SecretKey, SecretKeys, Steward};

use crate::config::{SECRET_KEY_ENV, SecretKeySource, Settings, next_key_file};
use crate::{open, stamp};

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Every sign-in: email, person, authenticator, roles, disabled.
    List,
    /// Add a sign-in. The password is read from STEWARD_NEW_PASSWORD, never from the command
    /// line (which other users of the machine can see).
    Add {
        email: String,
        #[arg(long)]
        name: String,
        /// The person on the people register, if any.
        #[arg(long)]
        person: Option<String>,
        /// A role held on the account (repeatable): it, governance, iao, auditor, administrator.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Remove an account's authenticator (it enrols afresh at next sign-in) and sign it out.
    ResetMfa { email: String },
    /// Make an account choose a new password at its next sign-in, and sign it out everywhere.
    ResetPassword { email: String },
    /// Change an account's own password: the current one from STEWARD_PASSWORD, the new one from
    /// STEWARD_NEW_PASSWORD, and a code from its authenticator.
    Password {
        email: String,
        /// A code from the authenticator (or a recovery code).
        #[arg(long, default_value = "")]
        code: String,
    },
    /// Disable an account and sign it out everywhere.
    Disable { email: String },
    /// Enable a disabled account.
    Enable { email: String },
    /// Link an account to its person on the people register (an administrator set up before
    /// the people were imported, say), carrying over the roles its person held.
    Link {
        email: String,
        /// The person's id on the people register.
        #[arg(long)]
        person: String,
    },
    /// Remove an account's single sign-on link to a provider (microsoft or google), when the
    /// person's account there was replaced: their next sign-in links afresh by email address.
    /// Signs the account out everywhere.
    UnlinkSso {
        email: String,
        #[arg(long)]
        provider: String,
    },
    /// Seal every TOTP secret under a new key. With the key file, a new key is made, every
    /// secret sealed under it (the old key still opening them meanwhile), and then it replaces
    /// the old one; run again after an interruption to finish. With STEWARD_SECRET_KEY, put the
    /// new key first and the old one after a comma on every server, run this, then drop the old.
    RotateKey,
    /// Print a fresh random key (base64), for STEWARD_SECRET_KEY.
    NewKey,
}

pub fn run(command: AccountCommand, settings: &Settings) -> Result<ExitCode> {
    match command {
        AccountCommand::RotateKey => return rotate_key(settings),
        AccountCommand::NewKey => {
            println!("{}", SecretKey::generate()?.to_base64());
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let steward = open(settings)?;
    let stamp = stamp(settings, None);
    match command {
        AccountCommand::List => {
            let links = steward.sso_links(&stamp)?;
            for a in steward.store().sign_ins()? {
                let sso: Vec<&str> = links
                    .iter()
                    .filter(|l| l.email == a.email)
                    .map(|l| l.provider.as_str())
                    .collect();
                // Roles are held in the roles register, by the account's person.
                let roles: Vec<String> = match &a.person_id {
                    Some(p) => steward.roles_of(p)?.iter().map(|r| r.to_string()).collect(),
                    None => Vec::new(),
                };
                println!(
                    "{:<32} {:<10} {:<9} {:<24} {:<9} {}",
                    a.email,
                    a.person_id.as_deref().unwrap_or("-"),
                    if a.mfa_enrolled_at.is_some() {
                        "mfa"
                    } else {
                        "no-mfa"
                    },
                    roles.join(","),
                    if a.disabled { "disabled" } else { "" },
                    if sso.is_empty() {
                        String::new()
                    } else {
                        format!("sso:{}", sso.join(","))
                    }
                );
            }
        }
        AccountCommand::Add {
            email,
            name,
            person,
            roles,
        } => {
            let Ok(password) = std::env::var("STEWARD_NEW_PASSWORD") else {
                bail!("set STEWARD_NEW_PASSWORD to the account's first password");
            };
            let mut capacities = Vec::new();
            for r in &roles {
                match Capacity::parse(r) {
                    Some(c) if !matches!(c, Capacity::Staff | Capacity::LineManager) => {
                        capacities.push(c);
                    }
                    _ => bail!(
                        "--role {r:?}: expected it, governance, iao, auditor or administrator"
                    ),
                }
            }
            steward.add_sign_in(
                &stamp,
                &email,
                &name,
                person.as_deref(),
                &password,
                &capacities,
            )?;
            println!("{email} added; they enrol an authenticator at first sign-in");
        }
        AccountCommand::ResetPassword { email } => {
            steward.require_new_password(&stamp, &email)?;
            println!(
                "{email}: a new password is asked for at the next sign-in; signed out everywhere"
            );
        }
        AccountCommand::Password { email, code } => {
            let current = std::env::var("STEWARD_PASSWORD")
                .map_err(|_| anyhow::anyhow!("set STEWARD_PASSWORD to the current password"))?;
            let new = std::env::var("STEWARD_NEW_PASSWORD")
                .map_err(|_| anyhow::anyhow!("set STEWARD_NEW_PASSWORD to the new password"))?;
            steward.change_password(&stamp, &email, &current, &code, &new)?;
            println!("{email}: password changed; other sessions signed out");
        }
        AccountCommand::ResetMfa { email } => {
            steward.reset_second_factor(&stamp, &email)?;
            println!("{email}: authenticator removed; signed out everywhere");
        }
        AccountCommand::Disable { email } => {
            steward.set_sign_in_disabled(&stamp, &email, true)?;
            println!("{email}: disabled; signed out everywhere");
        }
        AccountCommand::Enable { email } => {
            steward.set_sign_in_disabled(&stamp, &email, false)?;
            println!("{email}: enabled");
        }
        AccountCommand::Link { email, person } => {
            steward.link_sign_in_person(&stamp, &email, &person)?;
            println!("{email}: linked to {person}");
        }
        AccountCommand::UnlinkSso { email, provider } => {
            let Some(which) = steward_service::Provider::parse(&provider) else {
                bail!("--provider {provider:?}: expected microsoft or google");
            };
            if steward.unlink_sso(&stamp, &email, which)? {
                println!(
                    "{email}: no longer linked to {which}; signed out everywhere; the next sign-in with {which} links afresh"
                );
            } else {
                bail!("{email} is not linked to {which}");
            }
        }
        AccountCommand::RotateKey | AccountCommand::NewKey => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn rotate_key(settings: &Settings) -> Result<ExitCode> {
    let stamp = stamp(settings, None);
    let open_with = |keys: SecretKeys| -> Result<Steward> {
        Ok(Steward::open(&settings.database_url)
            .with_context(|| {
                format!(
                    "cannot open the database {}",
                    steward_store::redact(&settings.database_url)
                )
            })?
            .with_secret_keys(keys))
    };
    if let SecretKeySource::Environment(keys) = &settings.secret_key {
        let n = open_with(keys.clone())?.reseal_secrets(&stamp)?;
        println!(
            "{n} secret(s) sealed afresh; every secret is now under key {}: the other keys in {SECRET_KEY_ENV} may be removed",
            keys.current().id()
        );
        return Ok(ExitCode::SUCCESS);
    }
    // The old key stays in its file, and opens every secret, until all are under the new one;
    // the new key waits beside it so that an interrupted rotation resumes with the same key.
    let old = settings.secret_keys()?;
    let path = settings.secret_key_file();
    let next_path = next_key_file(&path);
    let next = match SecretKey::load(&next_path)? {
        Some(next) => next,
        None => {
            let next = SecretKey::generate()?;
            next.write_new(&next_path)?;
            next
        }
    };
    let keys = SecretKeys::new(next.clone()).with_older(old.current().clone());
    let n = open_with(keys)?.reseal_secrets(&stamp)?;
    std::fs::rename(&next_path, &path).with_context(|| {
        format!(
            "every secret is sealed under the key in {}, but it could not replace {}",
            next_path.display(),
            path.display()
        )
    })?;
    println!(
        "{n} secret(s) sealed afresh under key {}; {} now holds it",
        next.id(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
