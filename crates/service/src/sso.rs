//! Single sign-on: who a provider's [`Identity`] signs in, and who may still sign in with a
//! password. The protocol is `steward-connect`'s ([`Sso`]); cookies and redirects are the web's.
//!
//! A provider's identity signs in the account its subject is linked to; the first time, the
//! account with its (verified) email address, which links the two. An address that moved to
//! another person at the provider therefore signs nobody in once the first holder is linked, and
//! the account must belong to a person who has not left. Every link and every single sign-in is
//! an audited save of the link, recording whether the provider said a second factor was used.

use chrono::{DateTime, TimeDelta, Utc};
use steward_model::Person;
use steward_store::{SsoAttemptRow, SsoLinkRow};

pub use steward_connect::sso::{Identity, Probe, Provider, ProviderSettings, Sso, SsoError, Start};

use crate::accounts::{SecondFactor, SignInRefused, auth, barred_with};
use crate::{Capacity, Result, ServiceError, Stamp, Steward};

/// How long a sign-in sent to a provider may take to come back.
pub const SSO_ATTEMPT_FOR: TimeDelta = TimeDelta::minutes(10);
/// The most sign-ins sent to a provider and not yet back (across every server): past it, a new
/// one is refused until some finish or run out, so that a flood of sign-ins begun and never
/// finished cannot fill the database.
const SSO_ATTEMPTS_IN_FLIGHT: u64 = 10_000;

/// Who may still sign in with a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalPasswords {
    /// Everyone with an account (the default, and the only choice without single sign-on).
    #[default]
    Everyone,
    /// Administrators, and the break-glass accounts.
    Administrators,
    /// Only the break-glass accounts.
    BreakGlass,
}

impl LocalPasswords {
    pub fn parse(word: &str) -> Option<LocalPasswords> {
        Some(match word {
            "everyone" => LocalPasswords::Everyone,
            "administrators" => LocalPasswords::Administrators,
            "break_glass" => LocalPasswords::BreakGlass,
            _ => return None,
        })
    }
}

/// How people sign in: who keeps a password, and which accounts always do (break-glass
/// administrators, for when the provider is down or misconfigured).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignInPolicy {
    pub local_passwords: LocalPasswords,
    /// Sign-in addresses that keep a password whatever `local_passwords` says (lower case).
    pub break_glass: Vec<String>,
}

impl SignInPolicy {
    fn is_break_glass(&self, email: &str) -> bool {
        self.break_glass
            .iter()
            .any(|b| b.trim().eq_ignore_ascii_case(email))
    }
}

/// A sign-in sent to a provider: where to send the browser, and the value of the cookie that
/// binds the sign-in to this browser (only its hash is kept).
#[derive(Clone, PartialEq, Eq)]
pub struct SsoBegun {
    pub url: String,
    pub browser: String,
}

impl std::fmt::Debug for SsoBegun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SsoBegun { … }")
    }
}

/// A single sign-in that succeeded: the session's token, and what it still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSignedIn {
    pub email: String,
    pub token: String,
    /// `None`: signed in (the provider's second factor is trusted); else Steward's own code is
    /// asked for, or enrolled.
    pub second_factor: Option<SecondFactor>,
}

/// The account an identity signs in, and its link as it will stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoMatch {
    pub email: String,
    pub link: SsoLink,
    /// The link is made by this sign-in.
    pub new_link: bool,
    /// The account has Steward's own authenticator enrolled.
    pub enrolled: bool,
}

/// An account's link to a provider, as shown to the person and administrators.
pub type SsoLink = SsoLinkRow;

fn refused(reason: SignInRefused) -> ServiceError {
    ServiceError::SignIn(reason)
}

impl Steward {
    /// Sets who keeps a password (the server's configuration decides).
    pub fn with_sign_in_policy(self, policy: SignInPolicy) -> Steward {
        Steward {
            sign_in_policy: policy,
            ..self
        }
    }

    /// Whether the account at `email` may sign in with its password under the policy.
    pub fn may_use_password(&self, email: &str) -> Result<bool> {
        let policy = &self.sign_in_policy;
        Ok(match policy.local_passwords {
            LocalPasswords::Everyone => true,
            _ if policy.is_break_glass(email) => true,
            LocalPasswords::Administrators => self.viewer(email)?.is(Capacity::Administrator),
            LocalPasswords::BreakGlass => false,
        })
    }

    /// Starts a single sign-on at `sso`'s provider: asks it for fresh `state`, `nonce` and PKCE
    /// verifier (reading its metadata if need be), and keeps them, bound to a new browser
    /// value, until the provider sends the browser back.
    pub fn begin_sso(&self, sso: &Sso, at: DateTime<Utc>) -> Result<SsoBegun> {
        let start = sso.start().map_err(sso_refused)?;
        let browser = steward_auth::new_token().map_err(auth)?;
        // Attempts older than their time are of no use: removed as each one begins.
        let kept = self.store().begin_sso_attempt(
            &SsoAttemptRow {
                state_hash: steward_auth::token_hash(&start.state),
                provider: sso.provider().as_str().to_owned(),
                nonce: start.nonce,
                pkce_verifier: start.pkce_verifier,
                browser_hash: steward_auth::token_hash(&browser),
                created_at: at,
            },
            at - SSO_ATTEMPT_FOR,
            SSO_ATTEMPTS_IN_FLIGHT,
        )?;
        if !kept {
            tracing::warn!("single sign-on refused: too many sign-ins under way");
            return Err(refused(SignInRefused::Sso(
                "too many sign-ins are under way; try again in a few minutes".into(),
            )));
        }
        Ok(SsoBegun {
            url: start.url,
            browser,
        })
    }

    /// Finishes a single sign-on when the provider sends the browser back with `state` and
    /// `code`: the attempt `state` names is taken (once only: a replayed `state` finds nothing),
    /// must be this provider's, recent, and begun in this browser; the code is exchanged and the
    /// ID token checked; the identity must sign in an account ([`Steward::sso_account`]). Opens
    /// the session, complete at once when the organisation trusts the provider's second factor.
    pub fn finish_sso(
        &self,
        sso: &Sso,
        state: &str,
        code: &str,
        browser: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<SsoSignedIn> {
        let attempt = self
            .store()
            .take_sso_attempt(&steward_auth::token_hash(state))?
            .filter(|a| a.provider == sso.provider().as_str())
            .filter(|a| at - a.created_at <= SSO_ATTEMPT_FOR)
            .ok_or_else(|| refused(SignInRefused::SsoStale))?;
        if browser.map(steward_auth::token_hash).as_deref() != Some(attempt.browser_hash.as_str()) {
            return Err(refused(SignInRefused::SsoStale));
        }
        let identity = sso
            .finish(code, &attempt.pkce_verifier, &attempt.nonce)
            .map_err(sso_refused)?;
        let found = self.sso_account(&identity, at)?;
        let action = if found.new_link { "link" } else { "sign_in" };
        let email = found.email;
        self.store()
            .save_sso_link(&format!("web:{email}"), at, action, &found.link)?;
        // Complete at once where the provider's second factor is trusted; else Steward's own.
        let trusted = sso.settings().trust_mfa;
        let (token, _) = self.start_session(&email, at, trusted)?;
        let second_factor = match (trusted, found.enrolled) {
            (true, _) => None,
            (false, true) => Some(SecondFactor::Code),
            (false, false) => Some(SecondFactor::Enrol),
        };
        Ok(SsoSignedIn {
            email,
            token,
            second_factor,
        })
    }

    /// Spends the attempt `state` names without signing anyone in: the provider sent the
    /// browser back with a refusal (the person cancelled, say).
    pub fn abandon_sso(&self, state: &str) -> Result<()> {
        self.store()
            .take_sso_attempt(&steward_auth::token_hash(state))?;
        Ok(())
    }

    /// The account a provider's identity signs in, and its link as it will stand: the account
    /// its subject is linked to; else, the first time, the account with its email address, if
    /// that account is not linked to another subject at this provider already. The account must
    /// be enabled and belong to a person who has not left.
    pub fn sso_account(&self, identity: &Identity, at: DateTime<Utc>) -> Result<SsoMatch> {
        let provider = identity.provider.as_str();
        let linked = self.store().sso_link(provider, &identity.subject)?;
        let email = match &linked {
            Some(link) => link.email.clone(),
            None => {
                let email = identity
                    .email
                    .clone()
                    .ok_or_else(|| refused(SignInRefused::SsoNoEmail(identity.provider.label())))?;
                let elsewhere = self
                    .store()
                    .sso_links_of(&email)?
                    .into_iter()
                    .any(|l| l.provider == provider);
                if elsewhere {
                    return Err(refused(SignInRefused::SsoLinkedElsewhere(
                        identity.provider.label(),
                    )));
                }
                email
            }
        };
        let account = self
            .store()
            .sign_in(&email)?
            .ok_or_else(|| refused(SignInRefused::SsoNoAccount(email.clone())))?;
        let person = match &account.person_id {
            Some(id) => self.get::<Person>(id)?,
            None => None,
        };
        if person.is_none() {
            return Err(refused(SignInRefused::SsoNoAccount(email)));
        }
        if barred_with(&account, person.as_ref(), at) {
            return Err(refused(SignInRefused::Disabled));
        }
        let link = SsoLinkRow {
            provider: provider.to_owned(),
            subject: identity.subject.clone(),
            email: account.email.clone(),
            linked_at: linked.as_ref().map_or(at, |l| l.linked_at),
            last_sign_in_at: at,
            provider_mfa: identity.provider_mfa,
        };
        Ok(SsoMatch {
            enrolled: account.mfa_enrolled_at.is_some(),
            email: account.email,
            link,
            new_link: linked.is_none(),
        })
    }

    /// The providers an account is linked to.
    pub fn sso_links_of(&self, email: &str) -> Result<Vec<SsoLink>> {
        Ok(self.store().sso_links_of(email)?)
    }

    /// Every account's links, for administrators.
    pub fn sso_links(&self, stamp: &Stamp) -> Result<Vec<SsoLink>> {
        stamp.require(&[Capacity::Administrator], "reading single sign-on links")?;
        Ok(self.store().sso_links()?)
    }

    /// Removes an account's link to a provider (an administrator's act: the person's account at
    /// the provider was replaced), so that the next sign-in links afresh by email address.
    /// Signs the account out everywhere. False if it had no link there.
    pub fn unlink_sso(&self, stamp: &Stamp, email: &str, provider: Provider) -> Result<bool> {
        stamp.require(&[Capacity::Administrator], "removing a single sign-on link")?;
        let Some(link) = self
            .store()
            .sso_links_of(email)?
            .into_iter()
            .find(|l| l.provider == provider.as_str())
        else {
            return Ok(false);
        };
        let removed =
            self.store()
                .remove_sso_link(&stamp.actor, stamp.at, &link.provider, &link.subject)?;
        if removed {
            self.store().delete_sessions_of(&link.email)?;
        }
        Ok(removed)
    }
}

fn sso_refused(e: SsoError) -> ServiceError {
    refused(SignInRefused::Sso(e.to_string()))
}
