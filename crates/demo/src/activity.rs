//! What the estate does from day to day: International Travel requests, where devices were seen,
//! and the phone bills — with the problems the travel and usage clauses exist to catch (devices
//! abroad without an approved request, heavy data use).

use chrono::{DateTime, NaiveDate, Utc};
use steward_model::{
    Asset, AssetKind, AssetStatus, Countries, Country, Month, Ownership, Pence, Person, Sighting,
    Travel, TravelStatus, Usage,
};

use crate::Holdings;
use crate::catalogue::{DESTINATIONS, TRANSIT_HUBS};
use crate::people::{Draft, Group};
use crate::rng::Rng;
use crate::time::{Clock, DAY, HOUR, date_between, shift};

/// How a spell abroad squares with the travel requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cover {
    /// An approved request for the country and the days.
    Approved,
    /// Nobody asked.
    NoRequest,
    /// Asked, but nobody approved it yet.
    StillRequested,
    /// Approved, but the sighting is in a country the request left out (an undeclared transit).
    OtherCountry,
    /// Approved, but the trip ran on after the request's return date.
    Overstayed,
}

const COVER_MIX: &[(Cover, u32)] = &[
    (Cover::Approved, 76),
    (Cover::NoRequest, 10),
    (Cover::StillRequested, 5),
    (Cover::OtherCountry, 5),
    (Cover::Overstayed, 4),
];

/// A request before it gets its id.
struct Trip {
    person: usize,
    countries: Vec<Country>,
    depart: NaiveDate,
    back: NaiveDate,
    status: TravelStatus,
}

/// A sighting abroad that no request covers, for the exceptions a manager grants afterwards.
#[derive(Debug, Clone)]
pub(crate) struct Uncovered {
    pub person: usize,
    pub sighting_key: String,
    pub seen_on: NaiveDate,
}

pub(crate) struct Movements {
    pub travel: Vec<Travel>,
    pub sightings: Vec<Sighting>,
    /// Who was abroad when, whatever the requests say: `(person, from, to)`.
    pub away: Vec<(usize, NaiveDate, NaiveDate)>,
    pub uncovered: Vec<Uncovered>,
}

fn table(codes: &[(&str, u32)]) -> Vec<(Country, u32)> {
    codes
        .iter()
        .filter_map(|(code, w)| code.parse::<Country>().ok().map(|c| (c, *w)))
        .collect()
}

/// A country from a weighted table, other than `not`; `None` for an empty table.
fn pick(rng: &mut Rng, table: &[(Country, u32)], not: Option<Country>) -> Option<Country> {
    if table.is_empty() {
        return None;
    }
    for _ in 0..8 {
        let c = *rng.weighted(table);
        if Some(c) != not {
            return Some(c);
        }
    }
    table.iter().map(|(c, _)| *c).find(|c| Some(*c) != not)
}

/// Laptops and smartphones someone has in their hands, which connect to networks.
fn connects(a: &Asset) -> bool {
    matches!(a.kind, AssetKind::Laptop | AssetKind::Smartphone)
        && matches!(a.status, AssetStatus::Allocated | AssetStatus::OnLoan)
        && a.assigned_to.is_some()
}

/// Travel requests and sightings. Every laptop and smartphone in someone's hands was last seen at
/// home; about one holder in a hundred of a device seen in the last month was abroad, most of them
/// under an approved request covering the country and the days, some not.
pub(crate) fn movements(
    rng: &mut Rng,
    drafts: &[Draft],
    people: &[Person],
    assets: &[Asset],
    holdings: &Holdings,
    clock: &Clock,
) -> Movements {
    let today = clock.today;
    let destinations = table(DESTINATIONS);
    let hubs = table(TRANSIT_HUBS);
    let mut sightings: Vec<Sighting> = Vec::with_capacity(assets.len() / 2);
    for a in assets.iter().filter(|a| connects(a)) {
        if let Some(seen) = a.last_seen {
            sightings.push(Sighting {
                asset_tag: Some(a.tag.clone()),
                seen_at: seen,
                country: Country::GB,
                account_id: None,
            });
        }
    }

    let mut trips: Vec<Trip> = Vec::new();
    let mut away: Vec<(usize, NaiveDate, NaiveDate)> = Vec::new();
    let mut uncovered: Vec<Uncovered> = Vec::new();
    let recent = clock.ago(30 * DAY);
    for (person, d) in drafts.iter().enumerate() {
        if d.gone(today) || !d.started(today) {
            continue;
        }
        let devices: Vec<(&Asset, DateTime<Utc>)> = holdings
            .of(person)
            .iter()
            .filter_map(|&i| assets.get(i))
            .filter(|a| connects(a))
            .filter_map(|a| a.last_seen.filter(|t| *t >= recent).map(|t| (a, t)))
            .collect();
        if devices.is_empty() || !rng.chance(0.01) {
            continue;
        }
        let cover = *rng.weighted(COVER_MIX);
        let Some(destination) = pick(rng, &destinations, Some(Country::GB)) else {
            continue;
        };
        let transit = if rng.chance(0.3) {
            pick(rng, &hubs, Some(destination))
        } else {
            None
        };
        let depart = shift(today, -rng.between(4, 30));
        let back = shift(depart, rng.between(2, 12)).min(shift(today, -1));
        // Where and when the devices were seen.
        let (seen_in, from, to) = match cover {
            Cover::OtherCountry => {
                let undeclared = transit.or_else(|| pick(rng, &hubs, Some(destination)));
                (undeclared.unwrap_or(destination), depart, depart)
            }
            Cover::Overstayed => (destination, shift(back, 1), shift(back, 2).min(today)),
            _ => (destination, depart, back),
        };
        let mut seen_first: Option<(String, NaiveDate)> = None;
        for (n, (device, last_seen)) in devices.iter().enumerate() {
            if n > 0 && !rng.chance(0.75) {
                continue;
            }
            let day = date_between(rng, from, to);
            let at = clock.on(day, rng.between(7 * HOUR, 21 * HOUR));
            if at >= *last_seen {
                // Seen at home since: the sighting abroad must come first.
                continue;
            }
            let sighting = Sighting {
                asset_tag: Some(device.tag.clone()),
                seen_at: at,
                country: seen_in,
                account_id: None,
            };
            if seen_first.as_ref().is_none_or(|(_, d)| day < *d) {
                seen_first = Some((sighting.key(), day));
            }
            sightings.push(sighting);
        }
        let Some((key, seen_on)) = seen_first else {
            continue;
        };
        away.push((person, depart, to.max(back)));
        let declared: Vec<Country> = match (cover, transit) {
            (Cover::OtherCountry, _) | (_, None) => vec![destination],
            (_, Some(hub)) => vec![hub, destination],
        };
        let status = match cover {
            Cover::NoRequest => {
                uncovered.push(Uncovered {
                    person,
                    sighting_key: key,
                    seen_on,
                });
                continue;
            }
            Cover::StillRequested => TravelStatus::Requested,
            _ => TravelStatus::Approved,
        };
        trips.push(Trip {
            person,
            countries: declared,
            depart,
            back,
            status,
        });
    }

    // Everyone else's requests over the past year and the next three months.
    for (person, d) in drafts.iter().enumerate() {
        if d.gone(today)
            || !d.started(today)
            || matches!(d.group, Group::Supplier | Group::IcfaProvider)
            || !rng.chance(0.03)
        {
            continue;
        }
        let count = if rng.chance(0.2) { 2 } else { 1 };
        for _ in 0..count {
            let depart = shift(today, rng.between(-330, 90));
            let back = shift(depart, rng.between(2, 16));
            let status = if depart > today {
                *rng.weighted(&[
                    (TravelStatus::Requested, 45),
                    (TravelStatus::Approved, 45),
                    (TravelStatus::Rejected, 5),
                    (TravelStatus::Cancelled, 5),
                ])
            } else {
                *rng.weighted(&[
                    (TravelStatus::Approved, 75),
                    (TravelStatus::Rejected, 10),
                    (TravelStatus::Cancelled, 15),
                ])
            };
            let Some(destination) = pick(rng, &destinations, Some(Country::GB)) else {
                continue;
            };
            let mut countries = vec![destination];
            if rng.chance(0.2)
                && let Some(hub) = pick(rng, &hubs, Some(destination))
            {
                countries.insert(0, hub);
            }
            if status == TravelStatus::Approved && depart <= today {
                away.push((person, depart, back.min(today)));
            }
            trips.push(Trip {
                person,
                countries,
                depart,
                back,
                status,
            });
        }
    }

    // Requests are numbered in the order they are for.
    trips.sort_by_key(|t| (t.depart, t.person, t.back));
    let width = trips.len().to_string().len().max(6);
    let travel = trips
        .into_iter()
        .enumerate()
        .filter_map(|(n, t)| {
            let approved_by = match t.status {
                TravelStatus::Approved | TravelStatus::Rejected => {
                    people.get(t.person).and_then(|p| p.manager_id.clone())
                }
                TravelStatus::Requested | TravelStatus::Cancelled => None,
            };
            Some(Travel {
                id: format!("TR{:0width$}", n + 1),
                person_id: people.get(t.person)?.id.clone(),
                countries: Countries::new(t.countries)?,
                depart_on: t.depart,
                return_on: t.back,
                status: t.status,
                approved_by,
            })
        })
        .collect();
    sightings.sort_by_cached_key(Sighting::key);
    Movements {
        travel,
        sightings,
        away,
        uncovered,
    }
}

/// The complete months before `today`'s, oldest first: at most `count`, at most ten years.
pub(crate) fn billed_months(today: NaiveDate, count: u32) -> Vec<Month> {
    let mut months = Vec::new();
    let mut at = Month::of(today).and_then(Month::previous);
    while let Some(m) = at {
        if months.len() >= count.min(120) as usize {
            break;
        }
        months.push(m);
        at = m.previous();
    }
    months.reverse();
    months
}

/// A month of the carrier's bill for every phone line in someone's hands: each organisation
/// smartphone, and each SIM of a holder without one (in a voice phone or a dongle). Heavy data
/// users, roaming when abroad, and now and then private calls charged back.
pub(crate) fn usage(
    rng: &mut Rng,
    drafts: &[Draft],
    assets: &[Asset],
    holdings: &Holdings,
    away: &[(usize, NaiveDate, NaiveDate)],
    clock: &Clock,
    months: u32,
) -> Vec<Usage> {
    let today = clock.today;
    let months = billed_months(today, months);
    if months.is_empty() {
        return Vec::new();
    }
    let line = |a: &Asset| {
        a.ownership == Ownership::Organisation
            && a.status == AssetStatus::Allocated
            && matches!(a.kind, AssetKind::Smartphone | AssetKind::Sim)
    };
    let mut lines: Vec<(usize, usize)> = Vec::new();
    for (person, held) in holdings.all() {
        let has_phone = held
            .iter()
            .filter_map(|&i| assets.get(i))
            .any(|a| line(a) && a.kind == AssetKind::Smartphone);
        for &i in held {
            let Some(a) = assets.get(i) else { continue };
            if line(a) && (a.kind == AssetKind::Smartphone || !has_phone) {
                lines.push((i, person));
            }
        }
    }
    lines.sort_unstable();
    let mut trips_of: std::collections::HashMap<usize, Vec<(NaiveDate, NaiveDate)>> =
        std::collections::HashMap::new();
    for &(person, from, to) in away {
        trips_of.entry(person).or_default().push((from, to));
    }

    let mut out = Vec::with_capacity(lines.len() * months.len());
    for month in months {
        let (first, last) = (month.first_day(), month.last_day());
        for &(i, person) in &lines {
            let Some(a) = assets.get(i) else { continue };
            if a.assigned_on.is_none_or(|on| on > last) {
                continue;
            }
            let left = drafts
                .get(person)
                .is_some_and(|d| d.gone(today) && d.leave.is_some_and(|l| l < first));
            let abroad = trips_of
                .get(&person)
                .is_some_and(|t| t.iter().any(|(from, to)| *from <= last && *to >= first));
            let phone = a.kind == AssetKind::Smartphone;
            let data_mb = if left {
                rng.between(0, 40)
            } else if !phone {
                rng.between(0, 300)
            } else if rng.chance(0.035) {
                rng.between(4097, 14_000)
            } else {
                rng.between(80, 3900).min(rng.between(80, 3900))
            };
            let roaming_mb = if rng.chance(0.02) {
                None
            } else if abroad {
                Some(rng.between(30, 1800))
            } else if rng.chance(0.008) {
                Some(rng.between(1, 150))
            } else {
                Some(0)
            };
            let voice_minutes = if left {
                rng.between(0, 5)
            } else if phone {
                rng.between(15, 950)
            } else {
                rng.between(100, 1500)
            };
            let private_cost_gbp = rng.chance(0.04).then(|| Pence(rng.between(99, 4800)));
            out.push(Usage {
                month,
                asset_tag: a.tag.clone(),
                data_mb,
                roaming_mb,
                voice_minutes: Some(voice_minutes),
                texts: Some(rng.between(0, 180)),
                private_cost_gbp,
            });
        }
    }
    out.sort_by_cached_key(Usage::key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_countries_are_all_real() {
        assert_eq!(table(DESTINATIONS).len(), DESTINATIONS.len());
        assert_eq!(table(TRANSIT_HUBS).len(), TRANSIT_HUBS.len());
        assert!(table(DESTINATIONS).iter().all(|(c, _)| *c != Country::GB));
    }

    #[test]
    fn billed_months_end_before_this_month() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default();
        let months: Vec<String> = billed_months(today, 3)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(months, ["2025-10", "2025-11", "2025-12"]);
        assert!(billed_months(today, 0).is_empty());
        assert_eq!(billed_months(today, u32::MAX).len(), 120);
        assert!(billed_months(NaiveDate::MIN, 3).is_empty());
        assert_eq!(
            billed_months(NaiveDate::from_ymd_opt(0, 2, 1).unwrap_or_default(), 3).len(),
            1
        );
    }
}
