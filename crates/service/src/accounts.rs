//! Sign-in accounts and sessions: passwords (Argon2id), the second factor (TOTP or a one-time
//! recovery code), sessions with idle and absolute expiry, and the roles a signed-in person holds.
//! The count of failed guesses that throttling reads is kept here too, in the database, so that
//! every server sharing it counts the same guesses. HTTP and cookies are the web crate's; what is
//! true of an account is decided here.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use steward_auth::{GuessKey, RecoveryCodes, RetryAfter, SessionTimes, Totp, Verdict};
use steward_model::{Person, PersonStatus, Record, Register, Role, RoleGrant};
use steward_store::{Session, SignIn};

use crate::{Result, ServiceError, Stamp, Steward};

/// How long a session may sit unused, and how long it may last at all.
pub const SESSION_IDLE: TimeDelta = TimeDelta::minutes(30);
pub const SESSION_ABSOLUTE: TimeDelta = TimeDelta::hours(12);
/// How long a session is used without being touched (its last use written back).
const SESSION_TOUCH: TimeDelta = TimeDelta::minutes(1);
/// Recovery codes given at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "Steward";

/// The part someone plays, for what the web lets them see and do. Staff is everyone with a
/// person record; line manager is anyone with reports; the rest are held in the roles register,
/// the one place roles are granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    Staff,
    LineManager,
    It,
    Governance,
    InformationAssetOwner,
    Auditor,
    Administrator,
}

impl Capacity {
    pub const ALL: [Capacity; 7] = [
        Capacity::Staff,
        Capacity::LineManager,
        Capacity::It,
        Capacity::Governance,
        Capacity::InformationAssetOwner,
        Capacity::Auditor,
        Capacity::Administrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capacity::Staff => "staff",
            Capacity::LineManager => "line_manager",
            Capacity::It => "it",
            Capacity::Governance => "governance",
            Capacity::InformationAssetOwner => "iao",
            Capacity::Auditor => "auditor",
            Capacity::Administrator => "administrator",
        }
    }

    pub fn parse(word: &str) -> Option<Capacity> {
        Capacity::ALL.into_iter().find(|c| c.as_str() == word)
    }

    /// The role in the roles register that grants this capacity; staff and line manager come
    /// from the people register instead.
    pub fn role(self) -> Option<Role> {
        Some(match self {
            Capacity::It => Role::It,
            Capacity::Governance => Role::Governance,
            Capacity::InformationAssetOwner => Role::InformationAssetOwner,
            Capacity::Auditor => Role::Auditor,
            Capacity::Administrator => Role::Administrator,
            Capacity::Staff | Capacity::LineManager => return None,
        })
    }

    /// The capacity a role in the roles register grants, if any (HR and senior grant none: they
    /// only approve requests).
    fn from_role(role: Role) -> Option<Capacity> {
        Capacity::ALL.into_iter().find(|c| c.role() == Some(role))
    }
}

/// Who is signed in, and in what capacities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub email: String,
    pub display_name: String,
    pub person_id: Option<String>,
    pub capacities: BTreeSet<Capacity>,
    /// An administrator asked for a new password: nothing else until it is chosen.
    pub must_change_password: bool,
}

impl Viewer {
    pub fn is(&self, capacity: Capacity) -> bool {
        self.capacities.contains(&capacity)
    }
}

/// A guess reserved by [`Steward::reserve_guess`], to be settled once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guess {
    keys: Vec<String>,
    at: DateTime<Utc>,
    /// Its account is past its ceiling: check it only after a delay.
    pub slow: bool,
}

/// What a correct password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// The account has a TOTP authenticator: ask for a code (or a recovery code).
    Code,
    /// The account has none yet: enrol one before going on.
    Enrol,
}

/// Why signing in did not go on. Deliberately vague towards the user where detail would help an
/// attacker (an unknown email and a wrong password read the same).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInRefused {
    #[error("the email address or password is not right")]
    BadCredentials,
    #[error("this account is disabled; ask an administrator")]
    Disabled,
    #[error("the code is not right, or was used already")]
    BadCode,
    #[error("{0}")]
    WeakPassword(String),
    #[error("an account already exists; sign in instead")]
    AlreadySetUp,
    #[error("there is no account for {0}")]
    NoAccount(String),
    #[error("the current password is not right")]
    WrongCurrentPassword,
    /// An account for this address is there already (addresses are compared in lower case).
    #[error("there is already an account for {0}")]
    AccountExists(String),
    #[error("{0:?} is not an email address; write one such as name@example.org")]
    BadEmail(String),
    /// The name shown for an account, which becomes its person's name, does not hold.
    #[error("name: {0}")]
    BadName(String),
    /// The organisation has people sign in with its Microsoft or Google account instead.
    #[error(
        "this account signs in with the organisation's Microsoft or Google account, not a password"
    )]
    PasswordNotAllowed,
    /// A single sign-on came back unknown, spent, late, or to another browser.
    #[error("this sign-in has expired or was already used; start again")]
    SsoStale,
    /// The provider's answer failed a check.
    #[error("{0}")]
    Sso(String),
    #[error("{0} did not give an email address for this account; ask IT")]
    SsoNoEmail(&'static str),
    /// The account is linked to another account at the provider already.
    #[error("this Steward account is linked to a different {0} account; ask an administrator")]
    SsoLinkedElsewhere(&'static str),
    /// No account signs in with this address (or the account belongs to no person).
    #[error("there is no Steward account for {0}; ask IT")]
    SsoNoAccount(String),
}

fn unix(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

pub(crate) fn auth(e: steward_auth::AuthError) -> ServiceError {
    ServiceError::Auth(e.to_string())
}

fn new_sign_in(
    email: &str,
    display_name: &str,
    person_id: Option<&str>,
    password: &str,
    at: DateTime<Utc>,
) -> Result<SignIn> {
    check_display_name(display_name)?;
    steward_auth::check_new_password(password, email)
        .map_err(|p| ServiceError::SignIn(SignInRefused::WeakPassword(p.to_string())))?;
    Ok(SignIn {
        email: email.trim().to_lowercase(),
        person_id: person_id.map(str::to_owned),
        display_name: display_name.trim().to_owned(),
        password_hash: steward_auth::hash_password(password).map_err(auth)?,
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        recovery_codes: Vec::new(),
        // Capacities come from the roles register alone; the caller grants `roles` there.
        roles: Vec::new(),
        disabled: false,
        created_at: at,
        password_changed_at: at,
        must_change_password: false,
    })
}

/// An account's name obeys the people register's rule for a name (length, no control or
/// invisible characters): it becomes the name of the person made for an account without one,
/// and is checked before anything is saved, so that a refusal leaves nothing half made.
fn check_display_name(display_name: &str) -> Result<()> {
    let name = display_name.trim();
    if name.is_empty() {
        return Ok(());
    }
    let field = Register::People
        .field("name")
        .ok_or_else(|| ServiceError::Checks("the people register has no name".into()))?;
    field
        .parse(name)
        .map(|_| ())
        .map_err(|reason| ServiceError::SignIn(SignInRefused::BadName(reason)))
}

fn check_email(email: &str) -> Result<()> {
    let email = email.trim();
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ServiceError::SignIn(SignInRefused::BadEmail(
            email.to_owned(),
        )))
    }
}

impl Steward {
    /// True until the first account exists: the web offers first-run set-up only then.
    pub fn needs_first_administrator(&self) -> Result<bool> {
        Ok(self.store().sign_in_count()? == 0)
    }

    /// Creates the first administrator, only while no account exists (atomically: two people
    /// racing the set-up page cannot both win).
    pub fn create_first_administrator(
        &self,
        stamp: &Stamp,
        email: &str,
        display_name: &str,
        password: &str,
    ) -> Result<()> {
        check_email(email)?;
        let mut account = new_sign_in(email, display_name, None, password, stamp.at)?;
        // The administrator is a person too: their role is held where every role is.
        let person_id = self.next_id(Register::People, "ADMIN")?;
        account.person_id = Some(person_id.clone());
        if !self
            .store()
            .create_first_sign_in(&stamp.actor, stamp.at, &account)?
        {
            return Err(ServiceError::SignIn(SignInRefused::AlreadySetUp));
        }
        self.grant_account_person(stamp, &account, &person_id, &[Capacity::Administrator])
    }

    /// Writes the person an account without one stands for, and grants `capacities` to them in
    /// the roles register, in one audited transaction.
    fn grant_account_person(
        &self,
        stamp: &Stamp,
        account: &SignIn,
        person_id: &str,
        capacities: &[Capacity],
    ) -> Result<()> {
        let mut rows = Vec::new();
        if self.get::<Person>(person_id)?.is_none() {
            rows.push(
                Person {
                    id: person_id.to_owned(),
                    name: if account.display_name.is_empty() {
                        account.email.clone()
                    } else {
                        account.display_name.clone()
                    },
                    email: Some(account.email.clone()),
                    staff_group: "administrator".into(),
                    manager_id: None,
                    budget_centre: None,
                    status: PersonStatus::Active,
                    start_date: Some(stamp.at.date_naive()),
                    leave_date: None,
                    clearance: None,
                    clearance_expires: None,
                    byod: None,
                    weekly_digest: None,
                    job_title: None,
                    source: None,
                    source_seen: None,
                    missing_since: None,
                }
                .to_row(),
            );
        }
        for role in capacities.iter().filter_map(|c| c.role()) {
            rows.push(
                RoleGrant {
                    person_id: person_id.to_owned(),
                    role,
                    granted_on: Some(stamp.at.date_naive()),
                }
                .to_row(),
            );
        }
        if !rows.is_empty() {
            self.write_all(stamp, rows)?;
        }
        Ok(())
    }

    /// Moves roles held on accounts themselves (before the roles register was the one place
    /// capacities come from) into the roles register, making a person for an account without
    /// one, and empties them. Runs on start; does nothing once done.
    pub fn adopt_account_roles(&self, stamp: &Stamp) -> Result<usize> {
        let mut moved = 0;
        for mut account in self.store().sign_ins()? {
            if account.roles.is_empty() {
                continue;
            }
            let capacities: Vec<Capacity> = account
                .roles
                .iter()
                .filter_map(|r| Capacity::parse(r))
                .collect();
            let person_id = match &account.person_id {
                Some(id) => id.clone(),
                None => self.next_id(Register::People, "ADMIN")?,
            };
            self.grant_account_person(stamp, &account, &person_id, &capacities)?;
            account.person_id = Some(person_id);
            account.roles.clear();
            self.store()
                .save_sign_in(&stamp.actor, stamp.at, "adopt_roles", &account)?;
            moved += 1;
        }
        Ok(moved)
    }

    /// Whether the account may not sign in or keep a session: disabled, or its person has left
    /// (status leaver, or a leaving date passed).
    fn barred(&self, account: &SignIn, at: DateTime<Utc>) -> Result<bool> {
        let person = match &account.person_id {
            Some(id) => self.get::<Person>(id)?,
            None => None,
        };
        Ok(barred_with(account, person.as_ref(), at))
    }

    /// Changes one's own password: the current one and a second-factor code (or recovery code)
    /// prove it is the account's holder. Every other session of the account ends.
    pub fn change_password(
        &self,
        stamp: &Stamp,
        email: &str,
        current: &str,
        code: &str,
        new_password: &str,
    ) -> Result<()> {
        let account = self.account(email)?;
        if !steward_auth::verify_password(current, &account.password_hash).map_err(auth)? {
            return Err(ServiceError::SignIn(SignInRefused::WrongCurrentPassword));
        }
        if account.mfa_enrolled_at.is_some() {
            self.check_second_factor(stamp, email, code)?;
        }
        self.set_password(stamp, account, new_password, "change_password")
    }

    /// Sets a new password chosen at sign-in after an administrator's reset (the password and
    /// the second factor were just passed in this session).
    pub fn choose_new_password(
        &self,
        stamp: &Stamp,
        email: &str,
        new_password: &str,
    ) -> Result<()> {
        let account = self.account(email)?;
        if !account.must_change_password {
            return Err(ServiceError::SignIn(SignInRefused::BadCredentials));
        }
        self.set_password(stamp, account, new_password, "choose_password")
    }

    /// Sets `account`'s password and ends every session it has: whoever held one on the old
    /// password holds it no longer.
    fn set_password(
        &self,
        stamp: &Stamp,
        mut account: SignIn,
        new_password: &str,
        action: &str,
    ) -> Result<()> {
        steward_auth::check_new_password(new_password, &account.email)
            .map_err(|p| ServiceError::SignIn(SignInRefused::WeakPassword(p.to_string())))?;
        if steward_auth::verify_password(new_password, &account.password_hash).map_err(auth)? {
            return Err(ServiceError::SignIn(SignInRefused::WeakPassword(
                "the new password must differ from the current one".into(),
            )));
        }
        account.password_hash = steward_auth::hash_password(new_password).map_err(auth)?;
        account.password_changed_at = stamp.at;
        account.must_change_password = false;
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, action, &account)?;
        self.store().delete_sessions_of(&account.email)?;
        Ok(())
    }

    /// An administrator's reset: the account must choose a new password at its next sign-in,
    /// and every session it has ends now.
    pub fn require_new_password(&self, stamp: &Stamp, email: &str) -> Result<()> {
        stamp.require(&[Capacity::Administrator], "resetting a password")?;
        let mut account = self.account(email)?;
        // Under single sign-on, someone who may not sign in with a password would be asked for
        // a new one they could never use.
        if !self.may_use_password(&account.email)? {
            return Err(ServiceError::SignIn(SignInRefused::PasswordNotAllowed));
        }
        account.must_change_password = true;
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, "require_new_password", &account)?;
        self.store().delete_sessions_of(&account.email)?;
        Ok(())
    }

    /// Whether the account must choose a new password before anything else.
    pub fn must_change_password(&self, email: &str) -> Result<bool> {
        Ok(self.account(email)?.must_change_password)
    }

    /// Adds an account (an administrator's act). `person_id`, if given, must be in the people
    /// register; `roles` are held on the account in addition to the roles register.
    pub fn add_sign_in(
        &self,
        stamp: &Stamp,
        email: &str,
        display_name: &str,
        person_id: Option<&str>,
        password: &str,
        roles: &[Capacity],
    ) -> Result<()> {
        stamp.require(&[Capacity::Administrator], "adding a sign-in")?;
        check_email(email)?;
        if let Some(id) = person_id {
            self.person(id)?;
        }
        if self.store().sign_in(email)?.is_some() {
            return Err(ServiceError::SignIn(SignInRefused::AccountExists(
                email.trim().to_lowercase(),
            )));
        }
        let mut account = new_sign_in(email, display_name, person_id, password, stamp.at)?;
        let granted: Vec<Capacity> = roles
            .iter()
            .copied()
            .filter(|c| c.role().is_some())
            .collect();
        // Roles live in the roles register, held by a person: one is made for an account that
        // has roles and no person.
        let holder = match person_id {
            Some(id) => Some(id.to_owned()),
            None if !granted.is_empty() => Some(self.next_id(Register::People, "ACCOUNT")?),
            None => None,
        };
        if let (Some(me), Some(holder)) = (&stamp.authority.person_id, &holder)
            && me == holder
            && !granted.is_empty()
        {
            return Err(ServiceError::Refused(crate::Refusal::OwnRoles));
        }
        account.person_id = holder.clone();
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, "create", &account)?;
        if let Some(holder) = holder {
            self.grant_account_person(stamp, &account, &holder, &granted)?;
        }
        Ok(())
    }

    /// Links an account to its person on the people register — an administrator set up before
    /// the people were imported, say, who then has their own page — carrying over the roles the
    /// account's person held (in the roles register, audited). The person must exist, not have
    /// left, and belong to no other account. Nobody links their own account to a person with
    /// roles they do not hold: that would be granting their own roles.
    pub fn link_sign_in_person(&self, stamp: &Stamp, email: &str, person_id: &str) -> Result<()> {
        stamp.require(&[Capacity::Administrator], "linking an account to a person")?;
        let mut account = self.account(email)?;
        let person = self.person(person_id)?;
        if has_left(&person, stamp.at) {
            return Err(ServiceError::Refused(crate::Refusal::Step(format!(
                "{person_id} has left: an account cannot be linked to them"
            ))));
        }
        if let Some(other) = self
            .store()
            .sign_ins()?
            .into_iter()
            .find(|a| a.person_id.as_deref() == Some(person_id) && a.email != account.email)
        {
            return Err(ServiceError::Refused(crate::Refusal::Step(format!(
                "{person_id} already has an account, {}",
                other.email
            ))));
        }
        if account.person_id.as_deref() == Some(person_id) {
            return Ok(());
        }
        let carried: Vec<Role> = match &account.person_id {
            Some(old) => self.roles_of(old)?,
            None => Vec::new(),
        };
        let held = self.roles_of(person_id)?;
        let grants: Vec<steward_model::Row> = carried
            .into_iter()
            .filter(|r| !held.contains(r))
            .map(|role| {
                RoleGrant {
                    person_id: person_id.to_owned(),
                    role,
                    granted_on: Some(stamp.at.date_naive()),
                }
                .to_row()
            })
            .collect();
        if !grants.is_empty()
            && stamp.authority.person_id.as_deref() == account.person_id.as_deref()
        {
            return Err(ServiceError::Refused(crate::Refusal::OwnRoles));
        }
        if !grants.is_empty() {
            self.write_all(stamp, grants)?;
        }
        account.person_id = Some(person_id.to_owned());
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, "link_person", &account)?;
        Ok(())
    }

    /// Checks a password. An unknown address, a wrong password and a disabled account are one
    /// answer, [`SignInRefused::BadCredentials`], at one cost (a hash each), so that neither the
    /// answer nor its timing tells which addresses have accounts, or confirms a disabled
    /// account's password.
    pub fn check_password(&self, email: &str, password: &str) -> Result<SecondFactor> {
        let account = self.store().sign_in(email)?;
        let Some(account) = account else {
            // A fixed valid hash keeps the cost equal; the result is ignored.
            let _ = steward_auth::verify_password(password, dummy_hash());
            return Err(ServiceError::SignIn(SignInRefused::BadCredentials));
        };
        let right =
            steward_auth::verify_password(password, &account.password_hash).map_err(auth)?;
        // Disabled, or a person who has left: the same answer as a wrong password, after the
        // same one hash, so that the answer does not confirm the password.
        if !right || self.barred(&account, Utc::now())? {
            return Err(ServiceError::SignIn(SignInRefused::BadCredentials));
        }
        // Said only after the right password, so that it tells nothing of other addresses.
        if !self.may_use_password(&account.email)? {
            return Err(ServiceError::SignIn(SignInRefused::PasswordNotAllowed));
        }
        Ok(if account.mfa_enrolled_at.is_some() {
            SecondFactor::Code
        } else {
            SecondFactor::Enrol
        })
    }

    /// Starts (or restarts) enrolment: a fresh secret held on the account until confirmed by a
    /// code. Returns the secret in base32, the `otpauth://` address and its QR code as SVG.
    pub fn begin_enrolment(&self, stamp: &Stamp, email: &str) -> Result<(String, String, String)> {
        let mut account = self.account(email)?;
        if account.mfa_enrolled_at.is_some() {
            return Err(ServiceError::SignIn(SignInRefused::BadCode));
        }
        // A secret already offered is offered again, so that reloading the page does not undo
        // a scan the person has just made.
        let totp = match &account.totp_secret {
            Some(pending) => {
                Totp::from_base32(&self.open_secret(&account.email, pending)?).map_err(auth)?
            }
            None => {
                let totp = Totp::generate(20).map_err(auth)?;
                account.totp_secret =
                    Some(self.seal_secret(&account.email, &totp.secret_base32())?);
                account.totp_last_step = None;
                self.store().save_sign_in(
                    &stamp.actor,
                    stamp.at,
                    "begin_mfa_enrolment",
                    &account,
                )?;
                totp
            }
        };
        let secret = totp.secret_base32();
        let uri = totp.otpauth_uri(ISSUER, &account.email);
        let svg = steward_auth::qr_svg(&uri).map_err(auth)?;
        Ok((secret, uri, svg))
    }

    /// Confirms enrolment with a code from the authenticator; returns the recovery codes, shown
    /// once and kept only as hashes.
    pub fn confirm_enrolment(&self, stamp: &Stamp, email: &str, code: &str) -> Result<Vec<String>> {
        let mut account = self.account(email)?;
        let secret = account
            .totp_secret
            .clone()
            .ok_or(ServiceError::SignIn(SignInRefused::BadCode))?;
        let totp = Totp::from_base32(&self.open_secret(&account.email, &secret)?).map_err(auth)?;
        let Some(step) = totp.verify(code, unix(stamp.at), None) else {
            return Err(ServiceError::SignIn(SignInRefused::BadCode));
        };
        let codes = RecoveryCodes::generate(RECOVERY_CODES).map_err(auth)?;
        account.mfa_enrolled_at = Some(stamp.at);
        account.totp_last_step = i64::try_from(step).ok();
        account.recovery_codes = codes.stored_hashes();
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, "enrol_mfa", &account)?;
        Ok(codes.codes().to_vec())
    }

    /// Enrols a fresh authenticator without a code from it and returns its secret (base32), for
    /// the demo organisation's printed sign-ins and for tests that drive the pages as a person
    /// with an app would. Recovery codes are made as at any enrolment but not returned.
    pub fn enrol_authenticator(&self, stamp: &Stamp, email: &str) -> Result<String> {
        let mut account = self.account(email)?;
        let totp = Totp::generate(20).map_err(auth)?;
        let codes = RecoveryCodes::generate(RECOVERY_CODES).map_err(auth)?;
        account.totp_secret = Some(self.seal_secret(&account.email, &totp.secret_base32())?);
        account.totp_last_step = None;
        account.mfa_enrolled_at = Some(stamp.at);
        account.recovery_codes = codes.stored_hashes();
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, "enrol_mfa", &account)?;
        Ok(totp.secret_base32())
    }

    /// Checks a second factor: a TOTP code (each time step once only) or a recovery code (each
    /// once only, and its use audited).
    pub fn check_second_factor(&self, stamp: &Stamp, email: &str, code: &str) -> Result<()> {
        let account = self.account(email)?;
        if self.barred(&account, stamp.at)? {
            return Err(ServiceError::SignIn(SignInRefused::Disabled));
        }
        let (Some(secret), Some(_)) = (&account.totp_secret, account.mfa_enrolled_at) else {
            return Err(ServiceError::SignIn(SignInRefused::BadCode));
        };
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
            let totp =
                Totp::from_base32(&self.open_secret(&account.email, secret)?).map_err(auth)?;
            let last = account.totp_last_step.and_then(|s| u64::try_from(s).ok());
            if let Some(step) = totp.verify(&digits, unix(stamp.at), last)
                && self
                    .store()
                    .set_totp_step(&account.email, i64::try_from(step).unwrap_or(i64::MAX))?
            {
                return Ok(());
            }
            return Err(ServiceError::SignIn(SignInRefused::BadCode));
        }
        // Found among the codes read, then removed only if still there under the write lock.
        let used = match RecoveryCodes::find(code, &account.recovery_codes) {
            Some(i) => self.store().consume_recovery_code(
                &stamp.actor,
                stamp.at,
                &account.email,
                &account.recovery_codes[i],
            )?,
            None => false,
        };
        if used {
            Ok(())
        } else {
            Err(ServiceError::SignIn(SignInRefused::BadCode))
        }
    }

    fn account(&self, email: &str) -> Result<SignIn> {
        self.store()
            .sign_in(email)?
            .ok_or_else(|| ServiceError::SignIn(SignInRefused::NoAccount(email.to_owned())))
    }

    /// Removes an account's second factor so that it enrols afresh at next sign-in, and signs it
    /// out everywhere (an administrator's act, for a lost phone).
    pub fn reset_second_factor(&self, stamp: &Stamp, email: &str) -> Result<()> {
        stamp.require(&[Capacity::Administrator], "resetting an authenticator")?;
        let mut account = self.account(email)?;
        account.totp_secret = None;
        account.totp_last_step = None;
        account.mfa_enrolled_at = None;
        account.recovery_codes.clear();
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, "reset_mfa", &account)?;
        self.store().delete_sessions_of(&account.email)?;
        Ok(())
    }

    /// Disables or re-enables an account; disabling signs it out everywhere.
    pub fn set_sign_in_disabled(&self, stamp: &Stamp, email: &str, disabled: bool) -> Result<()> {
        stamp.require(
            &[Capacity::Administrator],
            "disabling or enabling a sign-in",
        )?;
        let mut account = self.account(email)?;
        account.disabled = disabled;
        let action = if disabled { "disable" } else { "enable" };
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, action, &account)?;
        if disabled {
            self.store().delete_sessions_of(&account.email)?;
        }
        Ok(())
    }

    /// Reserves a guess before it is checked: counted under every key at once (atomically, in
    /// the database, so that guesses racing on every server sharing it are counted one after
    /// another), unless a refusing key is already at its ceiling. A reserved guess stands as a
    /// failure until [`Steward::settle_guess`] takes back a right one.
    pub fn reserve_guess(
        &self,
        keys: &[GuessKey],
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Guess, RetryAfter>> {
        // To the microsecond, as both databases keep it, so that a release finds the row.
        let at = now.trunc_subsecs(6);
        let window = steward_auth::DEFAULT_THROTTLE_WINDOW;
        let limits: Vec<(String, u32)> = keys.iter().map(|k| (k.key.clone(), k.limit)).collect();
        let mut decided = Verdict::Go;
        let admitted =
            self.store
                .reserve_sign_in_guess(&limits, at, at - window, &mut |recent| {
                    decided = steward_auth::verdict(keys, recent, window, at);
                    !matches!(decided, Verdict::Refused(_))
                })?;
        match decided {
            Verdict::Refused(wait) => Ok(Err(wait)),
            _ if !admitted => Ok(Err(RetryAfter { seconds: 1 })),
            verdict => Ok(Ok(Guess {
                keys: keys.iter().map(|k| k.key.clone()).collect(),
                at,
                slow: verdict == Verdict::Slow,
            })),
        }
    }

    /// Settles a reserved guess once checked: a wrong one stays counted; a right one is taken
    /// back under every key, and its first key (the account at that address) is cleared — the
    /// address's guesses at other accounts, and the account's from elsewhere, still count.
    pub fn settle_guess(&self, guess: &Guess, right: bool) -> Result<()> {
        if !right {
            return Ok(());
        }
        let clear: Vec<String> = guess.keys.first().cloned().into_iter().collect();
        Ok(self
            .store
            .release_sign_in_guess(&guess.keys, guess.at, &clear)?)
    }

    /// Opens a session after the password; it grants nothing until `mfa_passed`. Returns the
    /// cookie's token (only its hash is stored).
    pub fn open_session(&self, email: &str, at: DateTime<Utc>) -> Result<(String, Session)> {
        let account = self.account(email)?;
        self.start_session(&account.email, at, false)
    }

    /// Stores a new session of the account at `email` (as stored, lower case), past its second
    /// factor or not; the cookie's token (only its hash is stored) and the session.
    pub(crate) fn start_session(
        &self,
        email: &str,
        at: DateTime<Utc>,
        mfa_passed: bool,
    ) -> Result<(String, Session)> {
        let token = steward_auth::new_token().map_err(auth)?;
        let session = Session {
            token_hash: steward_auth::token_hash(&token),
            email: email.to_owned(),
            created_at: at,
            last_seen: at,
            mfa_passed,
            csrf_secret: steward_auth::new_token().map_err(auth)?,
        };
        self.store().create_session(&session)?;
        Ok((token, session))
    }

    /// The live session a cookie's token names, touched; `None` (and the session removed) if it
    /// is unknown, idle too long, too old, or its account is disabled.
    pub fn live_session(&self, token: &str, at: DateTime<Utc>) -> Result<Option<Session>> {
        Ok(self.signed_in(token, at)?.map(|signed| signed.session))
    }

    /// [`Steward::live_session`] and the [`Viewer`] it signs in: what every signed-in request
    /// needs first, read in one statement (the session, its account, the account's person's
    /// standing, their reports and roles, and the audit head).
    pub fn signed_in(&self, token: &str, at: DateTime<Utc>) -> Result<Option<SignedIn>> {
        let hash = steward_auth::token_hash(token);
        let Some(visit) = self.store().visit(&hash)? else {
            return Ok(None);
        };
        let mut session = visit.session;
        let times = SessionTimes {
            created: session.created_at,
            last_seen: session.last_seen,
        };
        // A status word the model does not know counts as having left: fail closed.
        let person = visit.person_status.map(|status| {
            let status = status.parse().unwrap_or(PersonStatus::Leaver);
            left(status, visit.person_leave_date, at)
        });
        let live = times.is_live(at, SESSION_IDLE, SESSION_ABSOLUTE);
        let account = match visit.sign_in {
            Some(a) if live && !a.disabled && person != Some(true) => a,
            _ => {
                self.store().delete_session(&hash)?;
                return Ok(None);
            }
        };
        // Touch at most once a minute: reading a page should not always write.
        if at - session.last_seen > SESSION_TOUCH {
            session.last_seen = at;
            self.store().touch_session(&hash, at, session.mfa_passed)?;
        }
        let roles = visit.roles.iter().filter_map(|r| r.parse::<Role>().ok());
        let viewer = viewer_from(account, person == Some(false), visit.manages, roles);
        Ok(Some(SignedIn {
            session,
            viewer,
            audit_seq: visit.audit_seq,
        }))
    }

    /// Marks a session as having passed the second factor. A new token replaces the old one so
    /// that a token seen before sign-in (session fixation) is worth nothing after it.
    pub fn complete_session(&self, old_token: &str, at: DateTime<Utc>) -> Result<String> {
        let old = steward_auth::token_hash(old_token);
        let session = self
            .store()
            .session(&old)?
            .ok_or(ServiceError::SignIn(SignInRefused::BadCode))?;
        self.store().delete_session(&old)?;
        Ok(self.start_session(&session.email, at, true)?.0)
    }

    pub fn close_session(&self, token: &str) -> Result<()> {
        Ok(self
            .store()
            .delete_session(&steward_auth::token_hash(token))?)
    }

    /// Signs an account out everywhere; returns how many sessions ended.
    pub fn close_all_sessions(&self, stamp: &Stamp, email: &str) -> Result<u64> {
        let account = self.account(email)?;
        let n = self.store().delete_sessions_of(&account.email)?;
        // Recorded in the audit log as an act on the account, though nothing about it changed.
        self.store()
            .save_sign_in(&stamp.actor, stamp.at, "sign_out_everywhere", &account)?;
        Ok(n)
    }

    /// Who an account is and in what capacities, from the account, the people register (line
    /// managers are those with reports) and the roles register.
    pub fn viewer(&self, email: &str) -> Result<Viewer> {
        let account = self.account(email)?;
        let person = match &account.person_id {
            Some(id) => self.get::<Person>(id)?,
            None => None,
        };
        self.viewer_of(account, person.as_ref())
    }

    /// Who the account at `email` is at `at`, for a token acting for it: `None` when there is
    /// no such account, or it may not sign in (disabled, its person has left), or an
    /// administrator has asked for a new password — as the web's sign-in decides.
    pub(crate) fn present_viewer(&self, email: &str, at: DateTime<Utc>) -> Result<Option<Viewer>> {
        let Some(account) = self.store().sign_in(email)? else {
            return Ok(None);
        };
        let person = match &account.person_id {
            Some(id) => self.get::<Person>(id)?,
            None => None,
        };
        if barred_with(&account, person.as_ref(), at) || account.must_change_password {
            return Ok(None);
        }
        self.viewer_of(account, person.as_ref()).map(Some)
    }

    /// Who an account is, given its person (as read with it).
    fn viewer_of(&self, account: SignIn, person: Option<&Person>) -> Result<Viewer> {
        let Some(person) = person.filter(|p| !has_left(p, Utc::now())) else {
            return Ok(viewer_from(account, false, false, std::iter::empty()));
        };
        let reports: Vec<Person> = self.list_where("manager_id", &person.id)?;
        let manages = reports.iter().any(|p| p.status != PersonStatus::Leaver);
        let roles = self.roles_of(&person.id)?;
        Ok(viewer_from(account, true, manages, roles))
    }
}

/// A signed-in request's session, who it signs in, and the audit log's head as it began.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub viewer: Viewer,
    /// The audit log's last sequence number when the session was read: what is derived from the
    /// data and kept between requests is current while this has not moved.
    pub audit_seq: i64,
}

impl SignedIn {
    /// Until when what was read may be used again without reading it afresh, as long as
    /// nothing has changed meanwhile: before the session must be touched (and so before it
    /// could run out of idle time) and before it reaches its absolute end. A person's leaving
    /// date therefore takes effect within a minute even if nothing else changes.
    pub fn kept_until(&self) -> DateTime<Utc> {
        let touch = self.session.last_seen + SESSION_TOUCH;
        let end = self.session.created_at + SESSION_ABSOLUTE;
        touch.min(end)
    }
}

/// Who an account is: staff when it has a person who has not left, a line manager too when
/// someone who has not left reports to them, and whatever the granted roles make them — the one
/// place capacities are decided from what the registers say.
fn viewer_from(
    account: SignIn,
    present: bool,
    manages: bool,
    roles: impl IntoIterator<Item = Role>,
) -> Viewer {
    let mut capacities: BTreeSet<Capacity> = BTreeSet::new();
    if present {
        capacities.insert(Capacity::Staff);
        if manages {
            capacities.insert(Capacity::LineManager);
        }
        capacities.extend(roles.into_iter().filter_map(Capacity::from_role));
    }
    Viewer {
        email: account.email,
        display_name: account.display_name,
        person_id: account.person_id,
        capacities,
        must_change_password: account.must_change_password,
    }
}

/// An Argon2id hash of a password nobody uses, verified against when the email is unknown so
/// that both paths cost one hash.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        steward_auth::hash_password("no account has this password").unwrap_or_default()
    })
}

/// An account that may not sign in: disabled, or its person has left.
pub(crate) fn barred_with(account: &SignIn, person: Option<&Person>, at: DateTime<Utc>) -> bool {
    account.disabled || person.is_some_and(|p| has_left(p, at))
}

/// A person who has left: status leaver, or a leaving date before `at`'s day.
fn has_left(person: &Person, at: DateTime<Utc>) -> bool {
    left(person.status, person.leave_date, at)
}

fn left(status: PersonStatus, leave_date: Option<NaiveDate>, at: DateTime<Utc>) -> bool {
    status == PersonStatus::Leaver || leave_date.is_some_and(|d| d < at.date_naive())
}
