//! What the policy asks of people beyond their kit: yearly mandatory training, accepting the IT
//! policy, the bring-your-own-device questionnaire, reasonable adjustments that allow an extra
//! device, and the exceptions managers record — each with a realistic share of gaps.

use chrono::NaiveDate;
use steward_model::{
    Acceptance, Adjustment, AdjustmentSource, Asset, AssetKind, AssetStatus, Exception, Ownership,
    Person, PersonStatus, Questionnaire, SubjectType, Training,
};

use crate::Holdings;
use crate::activity::Uncovered;
use crate::catalogue::{
    ADMIN_COURSE, ASSURANCE_PACK, CLAUSE_ABROAD, CLAUSE_ONE_LAPTOP, CLAUSE_SESSIONAL,
    MANDATORY_COURSES, OLD_POLICY_PACK, POLICY_PACK,
};
use crate::people::{Draft, Group};
use crate::rng::Rng;
use crate::time::{Clock, date_between, shift};

/// A device beyond the standard bundle, and the adjustment that allows it (`None`: nobody did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extra {
    pub kind: AssetKind,
    pub source: Option<AdjustmentSource>,
}

/// Who gets an extra device: about one in two hundred of the equipped staff, under a reasonable
/// adjustment (mostly Access to Work's second laptop), and one in a thousand with no say-so at all.
/// Decided before the kit is issued, so that the device really is in their hands.
pub(crate) fn extras(rng: &mut Rng, drafts: &[Draft], today: NaiveDate) -> Vec<Option<Extra>> {
    drafts
        .iter()
        .map(|d| {
            if !d.group.equipped() || d.gone(today) || !d.started(today) {
                return None;
            }
            if rng.chance(0.005) {
                let (kind, source) = *rng.weighted(&[
                    ((AssetKind::Laptop, AdjustmentSource::AccessToWork), 60),
                    (
                        (AssetKind::Laptop, AdjustmentSource::OccupationalHealth),
                        20,
                    ),
                    ((AssetKind::Smartphone, AdjustmentSource::LocalFunding), 20),
                ]);
                Some(Extra {
                    kind,
                    source: Some(source),
                })
            } else if rng.chance(0.001) {
                Some(Extra {
                    kind: AssetKind::Laptop,
                    source: None,
                })
            } else {
                None
            }
        })
        .collect()
}

/// The last day someone could have done anything: today, or the day they left.
fn until(d: &Draft, today: NaiveDate) -> NaiveDate {
    if d.gone(today) {
        d.leave.unwrap_or(today).min(today)
    } else {
        today
    }
}

/// The adjustments behind the extra devices, approved shortly before the device was issued; some
/// have since expired while the device is still held. Plus occupational-health adjustments for
/// ergonomic peripherals, which need no extra device.
pub(crate) fn adjustments(
    rng: &mut Rng,
    drafts: &[Draft],
    people: &[Person],
    extras: &[Option<Extra>],
    assets: &[Asset],
    holdings: &Holdings,
    clock: &Clock,
) -> Vec<Adjustment> {
    let today = clock.today;
    let mut out = Vec::new();
    for (i, (d, p)) in drafts.iter().zip(people).enumerate() {
        let start = d.start.unwrap_or(today);
        if let Some(Extra {
            kind,
            source: Some(source),
        }) = extras.get(i).copied().flatten()
        {
            let issued = holdings
                .of(i)
                .iter()
                .filter_map(|&a| assets.get(a))
                .filter(|a| {
                    a.kind == kind
                        && a.ownership == Ownership::Organisation
                        && a.status == AssetStatus::Allocated
                })
                .filter_map(|a| a.assigned_on)
                .max();
            if let Some(issued) = issued {
                let approved_on = date_between(rng, shift(issued, -90).max(start), issued);
                let expires_on =
                    (!rng.chance(0.45)).then(|| shift(approved_on, rng.between(365, 3 * 365)));
                out.push(Adjustment {
                    person_id: p.id.clone(),
                    source,
                    device_kind: kind,
                    approved_on,
                    expires_on,
                });
            }
        }
        if d.group.equipped() && d.started(today) && !d.gone(today) && rng.chance(0.002) {
            out.push(Adjustment {
                person_id: p.id.clone(),
                source: AdjustmentSource::OccupationalHealth,
                device_kind: AssetKind::Peripheral,
                approved_on: date_between(rng, shift(today, -3 * 365).max(start), today),
                expires_on: None,
            });
        }
    }
    out.sort_by_cached_key(Adjustment::key);
    out
}

/// Who must complete the mandatory courses: everyone who handles case data.
fn trained(group: Group) -> bool {
    !matches!(group, Group::Supplier | Group::IcfaProvider)
}

/// Yearly mandatory training: most current, about one in ten expired, a few never done (new
/// starters have a month). The IT team also does the privileged-access course.
pub(crate) fn training(
    rng: &mut Rng,
    drafts: &[Draft],
    people: &[Person],
    clock: &Clock,
) -> Vec<Training> {
    let today = clock.today;
    let mut out = Vec::with_capacity(drafts.len() * 2);
    for (d, p) in drafts.iter().zip(people) {
        let Some(start) = d.start else { continue };
        if !trained(d.group) || !d.started(today) {
            continue;
        }
        let until = until(d, today);
        let service = (until - start).num_days();
        let admin = d.it_team.then_some(ADMIN_COURSE);
        for course in MANDATORY_COURSES.iter().copied().chain(admin) {
            if service < 30 && rng.chance(0.5) {
                continue;
            }
            let roll = rng.below(100);
            let completed = match roll {
                0..84 => shift(until, -rng.between(0, service.min(364))),
                84..93 if service > 365 => shift(until, -rng.between(366, service.min(800))),
                84..93 => shift(until, -rng.between(0, service.min(364))),
                _ => continue,
            };
            let mut push = |completed: NaiveDate| {
                out.push(Training {
                    person_id: p.id.clone(),
                    course: course.to_owned(),
                    completed_on: completed,
                    expires_on: Some(shift(completed, 365)),
                });
            };
            push(completed);
            let previous = shift(completed, -rng.between(350, 380));
            if rng.chance(0.05) && previous >= start {
                push(previous);
            }
        }
    }
    out.sort_by_cached_key(Training::key);
    out
}

/// Acceptance of the IT policy: most people have accepted version 5.0 (published eight months
/// ago), some only ever accepted 2.2, some neither.
pub(crate) fn acceptances(
    rng: &mut Rng,
    drafts: &[Draft],
    people: &[Person],
    clock: &Clock,
) -> Vec<Acceptance> {
    let today = clock.today;
    let published = shift(today, -240);
    let published_before = shift(today, -1400);
    let mut out = Vec::with_capacity(drafts.len());
    for (d, p) in drafts.iter().zip(people) {
        if d.group == Group::IcfaProvider || !d.started(today) {
            continue;
        }
        let start = d.start.unwrap_or(shift(today, -2000));
        let until = until(d, today);
        let accept = |rng: &mut Rng, (pack, version): (&str, &str), from: NaiveDate, by| {
            let lo = from.max(start);
            let late = if rng.chance(0.1) { 120 } else { 30 };
            let hi = shift(lo, late).min(by);
            (lo <= hi).then(|| Acceptance {
                person_id: p.id.clone(),
                pack: pack.to_owned(),
                version: version.to_owned(),
                accepted_on: date_between(rng, lo, hi),
            })
        };
        let old = |rng: &mut Rng| {
            accept(
                rng,
                OLD_POLICY_PACK,
                published_before,
                shift(published, -1).min(until),
            )
        };
        match rng.below(100) {
            0..85 => {
                if start < shift(published, -30) && rng.chance(0.3) {
                    out.extend(old(rng));
                }
                out.extend(accept(rng, POLICY_PACK, published, until));
                // Most also acknowledged the Information Assurance policy.
                if rng.chance(0.9) {
                    out.extend(accept(rng, ASSURANCE_PACK, published, until));
                }
            }
            85..93 => out.extend(old(rng)),
            _ => {}
        }
    }
    out.sort_by_cached_key(Acceptance::key);
    out
}

/// The bring-your-own-device questionnaire, yearly for everyone enrolled: most passed within the
/// year (some at the second attempt), some passed too long ago, some failed, a few never sat it.
pub(crate) fn questionnaires(
    rng: &mut Rng,
    drafts: &[Draft],
    people: &[Person],
    clock: &Clock,
) -> Vec<Questionnaire> {
    let today = clock.today;
    let mut out = Vec::new();
    for (d, p) in drafts.iter().zip(people) {
        if d.byod != Some(true) || !d.started(today) {
            continue;
        }
        let start = d.start.unwrap_or(shift(today, -2000));
        let until = until(d, today);
        let service = (until - start).num_days();
        let mut sat = |completed_on: NaiveDate, passed: bool| {
            out.push(Questionnaire {
                person_id: p.id.clone(),
                completed_on,
                passed,
            });
        };
        match rng.below(100) {
            0..80 => {
                let passed = shift(until, -rng.between(0, service.min(364)));
                let failed = shift(passed, -rng.between(1, 20));
                if rng.chance(0.15) && failed >= start {
                    sat(failed, false);
                }
                sat(passed, true);
            }
            80..90 if service > 365 => {
                sat(shift(until, -rng.between(366, service.min(700))), true);
            }
            80..96 => sat(shift(until, -rng.between(0, service.min(364))), false),
            _ => {}
        }
    }
    out.sort_by_cached_key(Questionnaire::key);
    out
}

/// Exceptions managers recorded: sessional workers kept on past their contract's end to close
/// their cases, a second laptop pending an assessment, a trip abroad approved after the event.
/// Each granted by the person's manager; many time-limited, some of those expired.
pub(crate) fn exceptions(
    rng: &mut Rng,
    drafts: &[Draft],
    people: &[Person],
    extras: &[Option<Extra>],
    uncovered: &[Uncovered],
    clock: &Clock,
) -> Vec<Exception> {
    struct Grant {
        person: usize,
        clause: &'static str,
        subject_type: SubjectType,
        subject_id: String,
        reason: &'static str,
        granted_on: NaiveDate,
        expires_on: Option<NaiveDate>,
    }
    let today = clock.today;
    let mut drafted: Vec<Grant> = Vec::new();
    for (i, (d, p)) in drafts.iter().zip(people).enumerate() {
        let start = d.start.unwrap_or(today);
        if d.sessional
            && d.status == PersonStatus::Active
            && let Some(end) = d.leave.filter(|l| *l < today)
            && rng.chance(0.7)
        {
            let granted_on = shift(end, -rng.between(0, 10)).max(start).min(today);
            drafted.push(Grant {
                person: i,
                clause: CLAUSE_SESSIONAL,
                subject_type: SubjectType::Person,
                subject_id: p.id.clone(),
                reason: "Sessional worker kept on past their contract end date to close their cases",
                granted_on,
                expires_on: Some(shift(granted_on, rng.between(30, 120))),
            });
        }
        if extras
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|e| e.source.is_none())
            && rng.chance(0.3)
        {
            let granted_on = date_between(rng, shift(today, -200).max(start), today);
            drafted.push(Grant {
                person: i,
                clause: CLAUSE_ONE_LAPTOP,
                subject_type: SubjectType::Person,
                subject_id: p.id.clone(),
                reason: "Second laptop while an Access to Work assessment is pending",
                granted_on,
                expires_on: Some(shift(granted_on, 90)),
            });
        }
    }
    for u in uncovered {
        if rng.chance(0.3) {
            drafted.push(Grant {
                person: u.person,
                clause: CLAUSE_ABROAD,
                subject_type: SubjectType::Sighting,
                subject_id: u.sighting_key.clone(),
                reason: "Travel approved after the event: a family emergency abroad",
                granted_on: shift(u.seen_on, rng.between(1, 7)).min(today),
                expires_on: None,
            });
        }
    }
    drafted.sort_by_key(|g| (g.granted_on, g.person));
    let width = drafted.len().to_string().len().max(6);
    drafted
        .into_iter()
        .filter_map(|x| {
            // Granted by the manager; nobody can grant their own exception.
            let granted_by = people.get(x.person)?.manager_id.clone()?;
            Some((x, granted_by))
        })
        .enumerate()
        .map(|(n, (x, granted_by))| Exception {
            id: format!("EX{:0width$}", n + 1),
            pack: POLICY_PACK.0.to_owned(),
            clause: x.clause.to_owned(),
            subject_type: x.subject_type,
            subject_id: x.subject_id,
            reason: x.reason.to_owned(),
            granted_by,
            granted_on: x.granted_on,
            expires_on: x.expires_on,
        })
        .collect()
}
