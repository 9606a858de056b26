//! A deterministic generator of a realistic demo organisation.
//!
//! This crate owns generating a demo [`Estate`]: a family-court advisory service, modelled on the
//! shape of Cafcass, with its budget centres, systems, people and their management hierarchy,
//! equipment and accounts; their phone bills, where their devices were seen, travel requests,
//! training, policy acceptances, BYOD questionnaires, reasonable adjustments and exceptions —
//! including a realistic share of the problems Steward exists to find (unencrypted laptops,
//! devices not seen for weeks, leavers still holding kit or signing in, heavy data users, devices
//! abroad without approved travel, lapsed training, a second laptop nobody allowed).
//!
//! It is pure and deterministic: the same [`DemoOptions`] always give the same estate, row for row
//! and byte for byte, and different seeds give different estates. It must never do I/O (no files,
//! no network, no database), never read the clock (`today` is passed in), and never draw on any
//! source of randomness other than the seed. It must not panic, whatever the options.
//!
//! Every register comes back sorted by id (or derived key). Ids are zero-padded, with a width that
//! grows with the organisation, so that text order is numeric order: people `P000001`, accounts
//! `A0000001`, assets by kind (`LT` laptops, `MOB` smartphones, `VP` voice phones, `SIM`, `USB`,
//! `TAB` tablets, `PER` peripherals, `ACC` accessories) then number, travel requests `TR000001`,
//! exceptions `EX000001`.

mod accounts;
mod activity;
mod catalogue;
mod compliance;
mod equipment;
mod people;
mod processes;
mod rng;
mod serial;
mod time;

use std::collections::HashMap;

use chrono::NaiveDate;
use steward_model::{Asset, AssetKind, BudgetCentre, Estate, Organisation, Person, System};

use crate::people::Centres;
use crate::rng::Rng;
use crate::time::Clock;

/// The organisation's display name; plainly a demo.
const ORGANISATION_NAME: &str = "Demo Family Court Advisory Service (fictitious)";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Exactly this many people.
    pub people: usize,
    /// Everything random is drawn from this seed alone.
    pub seed: u64,
    /// The day the estate is as of: start and leaving dates, last-seen times and the like are
    /// reckoned from it.
    pub today: NaiveDate,
    /// How many complete months of phone usage, up to the month before `today`'s (at most 120).
    pub usage_months: u32,
}

/// Independent random streams, one per phase, so that one phase drawing more numbers does not
/// change what the others draw.
mod stream {
    pub const PEOPLE: u64 = 1;
    pub const PERSON_RECORDS: u64 = 2;
    pub const ASSETS: u64 = 3;
    pub const ACCOUNTS: u64 = 4;
    pub const SERIALS: u64 = 5;
    pub const EXTRAS: u64 = 6;
    pub const TRAVEL: u64 = 7;
    pub const USAGE: u64 = 8;
    pub const ADJUSTMENTS: u64 = 9;
    pub const TRAINING: u64 = 10;
    pub const ACCEPTANCES: u64 = 11;
    pub const QUESTIONNAIRES: u64 = 12;
    pub const EXCEPTIONS: u64 = 13;
    pub const ROLES: u64 = 14;
    pub const GOVERNANCE: u64 = 15;
    pub const TASKS: u64 = 16;
    pub const MEDIA: u64 = 17;
    pub const REQUESTS: u64 = 18;
    pub const INCIDENTS: u64 = 19;
}

/// What each person holds: indices into the asset register, per person index.
pub(crate) struct Holdings {
    held: Vec<Vec<usize>>,
}

impl Holdings {
    fn new(people: &[Person], assets: &[Asset]) -> Holdings {
        let index: HashMap<&str, usize> = people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let mut held = vec![Vec::new(); people.len()];
        for (a, asset) in assets.iter().enumerate() {
            if let Some(list) = asset
                .assigned_to
                .as_deref()
                .and_then(|id| index.get(id))
                .and_then(|&i| held.get_mut(i))
            {
                list.push(a);
            }
        }
        Holdings { held }
    }

    pub(crate) fn of(&self, person: usize) -> &[usize] {
        self.held.get(person).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = (usize, &[usize])> {
        self.held.iter().map(Vec::as_slice).enumerate()
    }
}

/// Generates the demo estate for these options.
pub fn generate(options: &DemoOptions) -> Estate {
    let clock = Clock::new(options.today);
    let centres = Centres::for_size(options.people);

    let mut rng = Rng::new(options.seed, stream::PEOPLE);
    let drafts = people::draft(&mut rng, options.people, &clock, &centres);
    let mut rng = Rng::new(options.seed, stream::PERSON_RECORDS);
    let people = people::records(&mut rng, &drafts, &clock, &centres);

    let mut rng = Rng::new(options.seed, stream::EXTRAS);
    let extras = compliance::extras(&mut rng, &drafts, clock.today);
    let extra_kinds: Vec<Option<AssetKind>> = extras.iter().map(|e| e.map(|e| e.kind)).collect();

    let serial_key = Rng::new(options.seed, stream::SERIALS).next_u64();
    let mut rng = Rng::new(options.seed, stream::ASSETS);
    let assets = equipment::generate(
        &mut rng,
        &drafts,
        &people,
        &extra_kinds,
        clock,
        &centres,
        serial_key,
    );
    let holdings = Holdings::new(&people, &assets);

    let mut rng = Rng::new(options.seed, stream::ACCOUNTS);
    let accounts = accounts::generate(&mut rng, &drafts, &people, &clock);

    let mut rng = Rng::new(options.seed, stream::TRAVEL);
    let movements = activity::movements(&mut rng, &drafts, &people, &assets, &holdings, &clock);
    let mut rng = Rng::new(options.seed, stream::USAGE);
    let usage = activity::usage(
        &mut rng,
        &drafts,
        &assets,
        &holdings,
        &movements.away,
        &clock,
        options.usage_months,
    );
    let mut rng = Rng::new(options.seed, stream::ADJUSTMENTS);
    let adjustments = compliance::adjustments(
        &mut rng, &drafts, &people, &extras, &assets, &holdings, &clock,
    );
    let mut rng = Rng::new(options.seed, stream::TRAINING);
    let training = compliance::training(&mut rng, &drafts, &people, &clock);
    let mut rng = Rng::new(options.seed, stream::ACCEPTANCES);
    let acceptances = compliance::acceptances(&mut rng, &drafts, &people, &clock);
    let mut rng = Rng::new(options.seed, stream::QUESTIONNAIRES);
    let questionnaires = compliance::questionnaires(&mut rng, &drafts, &people, &clock);
    let mut rng = Rng::new(options.seed, stream::EXCEPTIONS);
    let exceptions = compliance::exceptions(
        &mut rng,
        &drafts,
        &people,
        &extras,
        &movements.uncovered,
        &clock,
    );

    let mut budget_centres: Vec<BudgetCentre> = centres
        .codes
        .iter()
        .zip(&centres.names)
        .map(|(code, name)| BudgetCentre {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
        })
        .collect();
    budget_centres.sort_by(|a, b| a.code.cmp(&b.code));

    let mut systems: Vec<System> = catalogue::SYSTEMS
        .iter()
        .map(|(name, key, mfa)| System {
            name: (*name).to_owned(),
            key_system: Some(*key),
            supports_mfa: Some(*mfa),
            restricted: None,
        })
        .collect();
    systems.sort_by(|a, b| a.name.cmp(&b.name));

    let processes = processes::generate(&processes::Input {
        seed: options.seed,
        clock,
        drafts: &drafts,
        people: &people,
        assets: &assets,
        holdings: &holdings,
        travel: &movements.travel,
        centres: &centres,
    });

    Estate {
        organisation: Some(Organisation {
            id: Organisation::ID.to_owned(),
            name: ORGANISATION_NAME.to_owned(),
            time_zone: "Europe/London".to_owned(),
            compliance_green: None,
            compliance_amber: None,
        }),
        budget_centres,
        systems,
        people,
        assets,
        accounts,
        usage,
        sightings: movements.sightings,
        travel: movements.travel,
        training,
        acceptances,
        questionnaires,
        adjustments,
        exceptions,
        // The processes' registers; the estate's are above.
        ..processes
    }
}
