//! Accounts: everyone's standard accounts by staff group, the IT team's separate admin accounts,
//! service accounts, and the statuses that follow joiners, absences and leavers.

use chrono::{DateTime, NaiveDate, Utc};
use steward_model::{Account, AccountKind, AccountStatus, Person, PersonStatus};

use crate::catalogue::SYSTEMS;
use crate::people::{Draft, Group};
use crate::rng::Rng;
use crate::time::{Clock, DAY, HOUR, before};

/// An account before it gets its id.
struct AccountDraft {
    person: Option<usize>,
    system: &'static str,
    kind: AccountKind,
    admin_rights: Option<bool>,
    mfa: Option<bool>,
    status: AccountStatus,
    last_login: Option<DateTime<Utc>>,
}

fn supports_mfa(system: &str) -> bool {
    SYSTEMS.iter().any(|(name, _, mfa)| *name == system && *mfa)
}

/// Systems people sign in to every working day.
fn daily(system: &str) -> bool {
    matches!(
        system,
        "m365" | "case-management" | "active-directory" | "icfa-portal"
    )
}

/// The standard accounts a person of this group holds.
fn systems_for(rng: &mut Rng, d: &Draft) -> Vec<&'static str> {
    if d.group == Group::IcfaProvider {
        return vec!["icfa-portal"];
    }
    let mut systems = vec!["m365"];
    let case_management = match d.group {
        Group::Fca | Group::Nqsw => 0.97,
        Group::Associate => 0.95,
        Group::StudentSocialWorker => 0.85,
        Group::BusinessServices => 0.35,
        Group::OtherStaff => 0.30,
        _ => 0.05,
    };
    if rng.chance(case_management) {
        systems.push("case-management");
    }
    if d.group == Group::BusinessServices {
        if rng.chance(0.25) {
            systems.push("hr-payroll");
        }
        if rng.chance(0.20) {
            systems.push("finance");
        }
    }
    if !matches!(d.group, Group::Associate | Group::Supplier) && rng.chance(0.45) {
        systems.push("intranet");
    }
    if matches!(d.group, Group::Fca | Group::BusinessServices) && rng.chance(0.08) {
        systems.push("legacy-filestore");
    }
    systems
}

fn mfa(rng: &mut Rng, system: &str, kind: AccountKind) -> Option<bool> {
    let table: &[(Option<bool>, u32)] = match (supports_mfa(system), kind) {
        (false, _) => &[(Some(false), 70), (None, 30)],
        (true, AccountKind::Admin) => &[(Some(true), 97), (Some(false), 3)],
        (true, _) => &[(Some(true), 94), (Some(false), 4), (None, 2)],
    };
    *rng.weighted(table)
}

/// Where a person's accounts stand, decided once for all their accounts.
fn person_status(rng: &mut Rng, d: &Draft, today: NaiveDate) -> AccountStatus {
    if d.gone(today) {
        *rng.weighted(&[
            (AccountStatus::Disabled, 78),
            (AccountStatus::Deleted, 8),
            (AccountStatus::Active, 14),
        ])
    } else if d.status == PersonStatus::Absent {
        *rng.weighted(&[(AccountStatus::Suspended, 80), (AccountStatus::Active, 20)])
    } else {
        AccountStatus::Active
    }
}

fn last_login(
    rng: &mut Rng,
    clock: &Clock,
    d: &Draft,
    system: &str,
    status: AccountStatus,
) -> Option<DateTime<Utc>> {
    let today = clock.today;
    if !d.started(today) {
        return None;
    }
    let earliest = d.start.map(|s| clock.on(s, 8 * HOUR));
    let t = if d.gone(today) {
        let leave = d.leave.unwrap_or(today);
        if status == AccountStatus::Active && rng.chance(0.3) {
            // Still signing in after leaving.
            Some(clock.ago_between(rng, 0, (today - leave).num_days().max(0) * DAY))
        } else {
            let last_day = clock.on(leave, 17 * HOUR);
            Some(before(last_day, rng.between(0, 5 * DAY)))
        }
    } else if d.status == PersonStatus::Absent {
        Some(clock.ago_between(rng, 20 * DAY, 200 * DAY))
    } else {
        let roll = rng.below(100);
        match roll {
            0..2 => None,
            2..12 => Some(clock.ago_between(rng, 3 * DAY, 45 * DAY)),
            _ if daily(system) => Some(clock.ago_between(rng, 0, 3 * DAY)),
            _ => Some(clock.ago_between(rng, 0, 30 * DAY)),
        }
    };
    match (t, earliest) {
        (Some(t), Some(e)) if t < e => (e <= clock.now).then_some(e),
        (t, _) => t,
    }
}

pub(crate) fn generate(
    rng: &mut Rng,
    drafts: &[Draft],
    people: &[Person],
    clock: &Clock,
) -> Vec<Account> {
    let today = clock.today;
    let mut accounts: Vec<AccountDraft> = Vec::with_capacity(drafts.len() * 3 + 4);
    for (i, d) in drafts.iter().enumerate() {
        let long_gone = d.gone(today) && d.leave.is_some_and(|l| (today - l).num_days() > 30);
        if long_gone && rng.chance(0.4) {
            // Removed altogether.
            continue;
        }
        let status = person_status(rng, d, today);
        for system in systems_for(rng, d) {
            let admin_rights = *rng.weighted(&[(Some(false), 945), (None, 50), (Some(true), 5)]);
            let mfa = mfa(rng, system, AccountKind::Standard);
            let last_login = last_login(rng, clock, d, system, status);
            accounts.push(AccountDraft {
                person: Some(i),
                system,
                kind: AccountKind::Standard,
                admin_rights,
                mfa,
                status,
                last_login,
            });
        }
        if d.it_team {
            for (system, share) in [("active-directory", 0.95), ("m365", 0.5)] {
                if rng.chance(share) {
                    let mfa = mfa(rng, system, AccountKind::Admin);
                    let last_login = last_login(rng, clock, d, system, status);
                    accounts.push(AccountDraft {
                        person: Some(i),
                        system,
                        kind: AccountKind::Admin,
                        admin_rights: Some(true),
                        mfa,
                        status,
                        last_login,
                    });
                }
            }
        }
    }
    // Service accounts: backups, the scanners' mailbox, the case-management integration.
    let services: &[(&str, bool, Option<bool>)] = &[
        ("active-directory", true, Some(false)),
        ("m365", false, Some(false)),
        ("case-management", false, None),
    ];
    for &(system, admin, mfa) in services {
        accounts.push(AccountDraft {
            person: None,
            system,
            kind: AccountKind::Service,
            admin_rights: Some(admin),
            mfa,
            status: AccountStatus::Active,
            last_login: Some(clock.ago_between(rng, 0, DAY)),
        });
    }
    let width = accounts.len().to_string().len().max(7);
    accounts
        .into_iter()
        .enumerate()
        .map(|(n, a)| Account {
            forwards_externally: None,
            id: format!("A{:0width$}", n + 1),
            person_id: a.person.and_then(|i| people.get(i)).map(|p| p.id.clone()),
            system: a.system.to_owned(),
            kind: a.kind,
            admin_rights: a.admin_rights,
            mfa: a.mfa,
            status: a.status,
            last_login: a.last_login,
            login: None,
            source_id: None,
            source: None,
            source_seen: None,
            missing_since: None,
        })
        .collect()
}
