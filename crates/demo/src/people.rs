//! People: staff groups, statuses and dates, the management hierarchy, budget centres, clearance.

use chrono::NaiveDate;
use steward_model::{Clearance, Person, PersonStatus};

use crate::catalogue::{
    BUDGET_CENTRES, COMMISSIONING, CORPORATE_IT, CentreKind, GIVEN_NAMES, SURNAMES, email_part,
};
use crate::rng::Rng;
use crate::time::{Clock, shift};

pub(crate) const EMAIL_DOMAIN: &str = "demo.example.org";

/// The staff groups of a family-court advisory service, as policy-pack staff-group ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// Family court advisers: the practitioners.
    Fca,
    BusinessServices,
    /// Self-employed, on their own devices.
    Associate,
    StudentSocialWorker,
    /// Newly qualified social workers.
    Nqsw,
    /// Everyone else on the payroll, bank and sessional workers included.
    OtherStaff,
    Supplier,
    /// Independent Children and Families Advocacy providers: portal only.
    IcfaProvider,
}

impl Group {
    /// Shares of the workforce, per mille.
    pub(crate) const MIX: &'static [(Group, u32)] = &[
        (Group::Fca, 450),
        (Group::BusinessServices, 220),
        (Group::Associate, 100),
        (Group::StudentSocialWorker, 30),
        (Group::Nqsw, 50),
        (Group::OtherStaff, 80),
        (Group::Supplier, 40),
        (Group::IcfaProvider, 30),
    ];

    pub(crate) fn slug(self) -> &'static str {
        match self {
            Group::Fca => "fca",
            Group::BusinessServices => "business-services",
            Group::Associate => "associate",
            Group::StudentSocialWorker => "student-social-worker",
            Group::Nqsw => "nqsw",
            Group::OtherStaff => "other-staff",
            Group::Supplier => "supplier",
            Group::IcfaProvider => "icfa-provider",
        }
    }

    /// The longest service the group plausibly has, in days.
    fn max_service_days(self) -> i64 {
        match self {
            Group::Fca | Group::BusinessServices => 25 * 365,
            Group::Associate => 10 * 365,
            Group::StudentSocialWorker => 300,
            Group::Nqsw => 2 * 365,
            Group::OtherStaff => 15 * 365,
            Group::Supplier => 6 * 365,
            Group::IcfaProvider => 8 * 365,
        }
    }

    /// Works with cases, so is charged to a regional centre and follows the manager's.
    fn practitioner(self) -> bool {
        matches!(
            self,
            Group::Fca | Group::Nqsw | Group::StudentSocialWorker | Group::Associate
        )
    }

    /// Issued the standard organisation bundle.
    pub(crate) fn equipped(self) -> bool {
        matches!(
            self,
            Group::Fca
                | Group::BusinessServices
                | Group::Nqsw
                | Group::StudentSocialWorker
                | Group::OtherStaff
        )
    }
}

const STATUS_MIX: &[(PersonStatus, u32)] = &[
    (PersonStatus::Active, 900),
    (PersonStatus::Starter, 40),
    (PersonStatus::Absent, 30),
    (PersonStatus::Leaver, 30),
];

/// The budget centres in use, in catalogue order (the order they are added as the organisation
/// grows), and which of them are which.
#[derive(Debug)]
pub(crate) struct Centres {
    pub codes: Vec<&'static str>,
    pub names: Vec<&'static str>,
    regional: Vec<usize>,
    corporate: Vec<usize>,
    pub corporate_it: Option<usize>,
    commissioning: Option<usize>,
}

impl Centres {
    /// Ten centres for a tiny organisation, one more each time it doubles, thirty at most.
    pub(crate) fn for_size(people: usize) -> Centres {
        let doublings = (people as u64).saturating_add(1).ilog2() as usize;
        let count = (10 + doublings).min(BUDGET_CENTRES.len());
        let mut centres = Centres {
            codes: Vec::new(),
            names: Vec::new(),
            regional: Vec::new(),
            corporate: Vec::new(),
            corporate_it: None,
            commissioning: None,
        };
        for (i, (code, name, kind)) in BUDGET_CENTRES.iter().take(count).enumerate() {
            centres.codes.push(code);
            centres.names.push(name);
            match (*code, kind) {
                (CORPORATE_IT, _) => centres.corporate_it = Some(i),
                (COMMISSIONING, _) => centres.commissioning = Some(i),
                (_, CentreKind::Regional) => centres.regional.push(i),
                (_, CentreKind::Corporate) => centres.corporate.push(i),
            }
        }
        centres
    }

    pub(crate) fn code(&self, i: Option<usize>) -> Option<String> {
        i.and_then(|i| self.codes.get(i)).map(|c| (*c).to_owned())
    }

    pub(crate) fn is_regional(&self, i: usize) -> bool {
        self.regional.contains(&i)
    }

    pub(crate) fn any_regional(&self, rng: &mut Rng) -> Option<usize> {
        rng.pick_opt(&self.regional).copied()
    }

    fn any_corporate(&self, rng: &mut Rng) -> Option<usize> {
        rng.pick_opt(&self.corporate).copied().or(self.corporate_it)
    }
}

/// A person before they get an id: what the other phases need to know about them.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub group: Group,
    pub status: PersonStatus,
    pub start: Option<NaiveDate>,
    pub leave: Option<NaiveDate>,
    /// A bank or sessional worker.
    pub sessional: bool,
    /// In the IT team: holds admin accounts and usually SC clearance.
    pub it_team: bool,
    pub manager: Option<usize>,
    /// 0 for the chief executive, 1 for directors, 2 for heads of service, and so on.
    pub depth: u32,
    pub centre: Option<usize>,
    pub byod: Option<bool>,
    given: usize,
    surname: usize,
}

impl Draft {
    /// A leaver whose leaving date has passed.
    pub(crate) fn gone(&self, today: NaiveDate) -> bool {
        self.status == PersonStatus::Leaver && self.leave.is_some_and(|d| d < today)
    }

    /// Started on or before today.
    pub(crate) fn started(&self, today: NaiveDate) -> bool {
        self.start.is_none_or(|d| d <= today)
    }
}

/// A past start date, at least `min_days` ago, skewed towards recent joiners.
fn past_start(rng: &mut Rng, group: Group, from: NaiveDate, min_days: i64) -> NaiveDate {
    let span = group.max_service_days().max(min_days);
    let a = rng.between(min_days, span);
    let b = rng.between(min_days, span);
    shift(from, -a.min(b))
}

fn dates(
    rng: &mut Rng,
    group: Group,
    status: PersonStatus,
    today: NaiveDate,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    match status {
        PersonStatus::Starter => {
            let start = if rng.chance(0.75) {
                shift(today, rng.between(1, 20))
            } else {
                shift(today, -rng.between(0, 5))
            };
            (Some(start), None)
        }
        PersonStatus::Active => (Some(past_start(rng, group, today, 21)), None),
        PersonStatus::Absent => (Some(past_start(rng, group, today, 180)), None),
        PersonStatus::Leaver => {
            let leave = if rng.chance(0.6) {
                shift(today, -rng.between(0, 60))
            } else {
                shift(today, rng.between(1, 30))
            };
            (Some(past_start(rng, group, leave, 60)), Some(leave))
        }
    }
}

/// How many reports a manager at this depth has.
fn team_size(rng: &mut Rng, depth: u32) -> usize {
    let (lo, hi) = match depth {
        0 => (4, 7),
        1 => (3, 6),
        _ => (6, 12),
    };
    rng.between(lo, hi) as usize
}

/// Draws `count` people. Managers are active `fca` or `business-services` people wherever there
/// are enough of them; every person but the chief executive has one; the tree has no cycles
/// because a manager always comes earlier in breadth-first order than their reports.
pub(crate) fn draft(rng: &mut Rng, count: usize, clock: &Clock, centres: &Centres) -> Vec<Draft> {
    let today = clock.today;
    let mut people: Vec<Draft> = (0..count)
        .map(|_| {
            let group = *rng.weighted(Group::MIX);
            let status = *rng.weighted(STATUS_MIX);
            let (mut start, mut leave) = dates(rng, group, status, today);
            let sessional = group == Group::OtherStaff && rng.chance(0.4);
            if sessional && status == PersonStatus::Active && rng.chance(0.3) {
                // An end date on the contract; now and then it has passed and they are still here.
                leave = Some(if rng.chance(0.75) {
                    shift(today, rng.between(7, 180))
                } else {
                    shift(today, -rng.between(1, 30))
                });
            }
            if matches!(group, Group::Supplier | Group::IcfaProvider)
                && matches!(status, PersonStatus::Active | PersonStatus::Absent)
                && rng.chance(0.2)
            {
                start = None;
            }
            let byod = match group {
                Group::Associate => {
                    *rng.weighted(&[(Some(true), 85), (Some(false), 10), (None, 5)])
                }
                _ => *rng.weighted(&[(Some(false), 65), (None, 35)]),
            };
            Draft {
                group,
                status,
                start,
                leave,
                sessional,
                it_team: group == Group::BusinessServices && rng.chance(0.06),
                manager: None,
                depth: 0,
                centre: None,
                byod,
                given: rng.index(GIVEN_NAMES.len()),
                surname: rng.index(SURNAMES.len()),
            }
        })
        .collect();
    let order = hierarchy(rng, &mut people, today);
    assign_centres(rng, &mut people, &order, centres);
    people
}

/// Builds the management tree and returns the people in breadth-first order.
fn hierarchy(rng: &mut Rng, people: &mut [Draft], today: NaiveDate) -> Vec<usize> {
    let n = people.len();
    if n == 0 {
        return Vec::new();
    }
    // Team sizes decide how many managers there are and at which depth each position sits.
    let mut depth = vec![0u32; n];
    let mut sizes = Vec::new();
    let mut next = 1;
    while next < n {
        let parent = sizes.len();
        let size = team_size(rng, depth[parent]).min(n - next);
        let below = depth[parent] + 1;
        depth[next..next + size].fill(below);
        sizes.push(size);
        next += size;
    }
    let managers = sizes.len().max(1);

    // Managers from the active fca and business-services people; everyone else shuffled below.
    let eligible = |d: &Draft| {
        d.status == PersonStatus::Active
            && d.leave.is_none()
            && matches!(d.group, Group::Fca | Group::BusinessServices)
    };
    let mut candidates: Vec<usize> = (0..n).filter(|&i| eligible(&people[i])).collect();
    let mut others: Vec<usize> = (0..n).filter(|&i| !eligible(&people[i])).collect();
    rng.shuffle(&mut candidates);
    rng.shuffle(&mut others);
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let take = managers.min(candidates.len());
    order.extend_from_slice(&candidates[..take]);
    let mut rest: Vec<usize> = candidates[take..].iter().chain(&others).copied().collect();
    // Too few candidates (a tiny organisation): the first of the others manage, so are active.
    let short = managers - take;
    order.extend_from_slice(&rest[..short.min(rest.len())]);
    rest.drain(..short.min(rest.len()));
    rng.shuffle(&mut rest);
    order.extend(rest);

    for (position, &person) in order.iter().enumerate().take(managers) {
        let p = &mut people[person];
        if p.status != PersonStatus::Active
            || p.leave.is_some()
            || !p.started(today)
            || p.start.is_none()
        {
            p.status = PersonStatus::Active;
            p.leave = None;
            p.sessional = false;
            p.start = Some(shift(today, -rng.between(365, 10 * 365)));
        }
        p.depth = depth[position];
    }
    let mut child = 1;
    for (parent, size) in sizes.iter().enumerate() {
        for position in child..child + size {
            let person = order[position];
            people[person].manager = Some(order[parent]);
            people[person].depth = depth[position];
        }
        child += size;
    }
    order
}

fn assign_centres(rng: &mut Rng, people: &mut [Draft], order: &[usize], centres: &Centres) {
    for p in people.iter_mut() {
        p.centre = if p.it_team {
            centres.corporate_it
        } else {
            match p.group {
                Group::Fca | Group::Nqsw | Group::StudentSocialWorker | Group::Associate => {
                    if rng.chance(0.98) {
                        centres.any_regional(rng)
                    } else {
                        None
                    }
                }
                Group::OtherStaff => match rng.below(100) {
                    0..60 => centres.any_regional(rng),
                    60..97 => centres.any_corporate(rng),
                    _ => None,
                },
                Group::BusinessServices => match rng.below(100) {
                    0..30 => centres.any_regional(rng),
                    30..98 => centres.any_corporate(rng),
                    _ => None,
                },
                Group::Supplier => {
                    if rng.chance(0.5) {
                        centres.corporate_it
                    } else {
                        None
                    }
                }
                Group::IcfaProvider => {
                    if rng.chance(0.5) {
                        centres.commissioning
                    } else {
                        None
                    }
                }
            }
        };
    }
    // Practitioners mostly sit in their manager's region; managers come first in `order`.
    for &i in order {
        let (Some(manager), true, Some(_)) = (
            people[i].manager,
            people[i].group.practitioner(),
            people[i].centre,
        ) else {
            continue;
        };
        let theirs = people[manager].centre.filter(|&c| centres.is_regional(c));
        if theirs.is_some() && rng.chance(0.85) {
            people[i].centre = theirs;
        }
    }
}

fn clearance(rng: &mut Rng, d: &Draft) -> Option<Clearance> {
    let table: &[(Option<Clearance>, u32)] = if d.it_team {
        &[(Some(Clearance::Sc), 85), (Some(Clearance::Bpss), 15)]
    } else if d.depth <= 1 && d.status == PersonStatus::Active {
        // The chief executive and directors.
        &[(Some(Clearance::Sc), 40), (Some(Clearance::Bpss), 60)]
    } else {
        match d.group {
            Group::Supplier => &[
                (Some(Clearance::None), 30),
                (Some(Clearance::Bpss), 40),
                (None, 30),
            ],
            Group::IcfaProvider => &[
                (Some(Clearance::None), 10),
                (Some(Clearance::Bpss), 40),
                (None, 50),
            ],
            _ => &[
                (Some(Clearance::Bpss), 84),
                (Some(Clearance::Sc), 3),
                (Some(Clearance::None), 4),
                (None, 9),
            ],
        }
    };
    *rng.weighted(table)
}

pub(crate) fn id_width(count: usize) -> usize {
    count.to_string().len().max(6)
}

pub(crate) fn person_id(i: usize, width: usize) -> String {
    format!("P{:0width$}", i + 1)
}

/// The people's records, in id order, with unique e-mail addresses.
pub(crate) fn records(
    rng: &mut Rng,
    drafts: &[Draft],
    clock: &Clock,
    centres: &Centres,
) -> Vec<Person> {
    let width = id_width(drafts.len());
    let mut seen = vec![0u32; GIVEN_NAMES.len() * SURNAMES.len()];
    let given_parts: Vec<String> = GIVEN_NAMES.iter().map(|n| email_part(n)).collect();
    let surname_parts: Vec<String> = SURNAMES.iter().map(|n| email_part(n)).collect();
    drafts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let slot = &mut seen[d.given * SURNAMES.len() + d.surname];
            *slot += 1;
            let number = if *slot > 1 {
                slot.to_string()
            } else {
                String::new()
            };
            let email = format!(
                "{}.{}{number}@{EMAIL_DOMAIN}",
                given_parts[d.given], surname_parts[d.surname]
            );
            let clearance = clearance(rng, d);
            let clearance_expires = (clearance == Some(Clearance::Sc))
                .then(|| shift(clock.today, rng.between(-400, 1800)));
            Person {
                id: person_id(i, width),
                name: format!("{} {}", GIVEN_NAMES[d.given], SURNAMES[d.surname]),
                email: Some(email),
                staff_group: d.group.slug().to_owned(),
                manager_id: d.manager.map(|m| person_id(m, width)),
                budget_centre: centres.code(d.centre),
                status: d.status,
                start_date: d.start,
                leave_date: d.leave,
                clearance,
                clearance_expires,
                byod: d.byod,
                weekly_digest: None,
                job_title: None,
                source: None,
                source_seen: None,
                missing_since: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_centres_grow_mildly_with_the_organisation() {
        let sizes: Vec<usize> = [0, 1, 100, 2_300, 100_000, usize::MAX]
            .iter()
            .map(|&n| Centres::for_size(n).codes.len())
            .collect();
        assert_eq!(sizes[0], 10);
        assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
        assert!((18..=24).contains(&sizes[3]), "{sizes:?}");
        assert_eq!(sizes[5], 30);
        let centres = Centres::for_size(0);
        assert!(centres.corporate_it.is_some() && centres.commissioning.is_some());
        assert!(!centres.regional.is_empty() && !centres.corporate.is_empty());
    }

    #[test]
    fn a_tiny_organisation_still_has_a_single_active_head() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        let clock = Clock::new(today);
        let centres = Centres::for_size(3);
        for seed in 0..500 {
            let mut rng = Rng::new(seed, 0);
            let people = draft(&mut rng, 3, &clock, &centres);
            let heads: Vec<&Draft> = people.iter().filter(|p| p.manager.is_none()).collect();
            assert_eq!(heads.len(), 1);
            assert_eq!(heads[0].status, PersonStatus::Active);
            assert!(heads[0].started(today));
        }
    }
}
