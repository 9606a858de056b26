//! A deterministic generator of a realistic demo organisation.
//!
//! This crate owns generating a demo [`Estate`]: a family-court advisory service, modelled on the
//! shape of Cafcass, with its budget centres, systems, people and their management hierarchy,
//! equipment and accounts, including a realistic share of the problems Steward exists to find
//! (unencrypted laptops, devices not seen for weeks, leavers still holding kit or signing in).
//!
//! It is pure and deterministic: the same [`DemoOptions`] always give the same estate, row for row
//! and byte for byte, and different seeds give different estates. It must never do I/O (no files,
//! no network, no database), never read the clock (`today` is passed in), and never draw on any
//! source of randomness other than the seed. It must not panic, whatever the options.
//!
//! Every register comes back sorted by id. Ids are zero-padded, with a width that grows with the
//! organisation, so that text order is numeric order: people `P000001`, accounts `A0000001`,
//! assets by kind (`LT` laptops, `MOB` smartphones, `VP` voice phones, `SIM`, `USB`, `TAB`
//! tablets, `PER` peripherals, `ACC` accessories) then number.

mod accounts;
mod catalogue;
mod equipment;
mod people;
mod rng;
mod serial;
mod time;

use chrono::NaiveDate;
use steward_model::{BudgetCentre, Estate, Organisation, System};

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
}

/// Independent random streams, one per phase, so that one phase drawing more numbers does not
/// change what the others draw.
mod stream {
    pub const PEOPLE: u64 = 1;
    pub const PERSON_RECORDS: u64 = 2;
    pub const ASSETS: u64 = 3;
    pub const ACCOUNTS: u64 = 4;
    pub const SERIALS: u64 = 5;
}

/// Generates the demo estate for these options.
pub fn generate(options: &DemoOptions) -> Estate {
    let clock = Clock::new(options.today);
    let centres = Centres::for_size(options.people);

    let mut rng = Rng::new(options.seed, stream::PEOPLE);
    let drafts = people::draft(&mut rng, options.people, &clock, &centres);
    let mut rng = Rng::new(options.seed, stream::PERSON_RECORDS);
    let people = people::records(&mut rng, &drafts, &clock, &centres);

    let serial_key = Rng::new(options.seed, stream::SERIALS).next_u64();
    let mut rng = Rng::new(options.seed, stream::ASSETS);
    let assets = equipment::generate(&mut rng, &drafts, &people, clock, &centres, serial_key);

    let mut rng = Rng::new(options.seed, stream::ACCOUNTS);
    let accounts = accounts::generate(&mut rng, &drafts, &people, &clock);

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
        })
        .collect();
    systems.sort_by(|a, b| a.name.cmp(&b.name));

    Estate {
        organisation: Some(Organisation {
            id: Organisation::ID.to_owned(),
            name: ORGANISATION_NAME.to_owned(),
            time_zone: "Europe/London".to_owned(),
        }),
        budget_centres,
        systems,
        people,
        assets,
        accounts,
    }
}
