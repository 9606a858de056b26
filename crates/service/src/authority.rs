//! Who may do what: the one authorisation model every way in (web forms, "set any field",
//! imports, the command line, the API to come) goes through. Each register says which
//! capacities may read, create, update, delete, import and export it; the workflows' steps say
//! who may take them (in `steward-workflow`, with separation of duties: nobody decides a request
//! they raised or that is about themselves). `docs/security.md` holds the same table, and a test
//! reads it and compares it with [`allowed`] for every capacity, register and operation.
//!
//! A [`Stamp`](crate::Stamp) carries the [`Authority`] it acts with; the service checks it at each
//! public entry point, never the front ends.

use std::collections::BTreeSet;

use steward_model::Register;

use crate::accounts::Capacity;

/// What is done to a register through a generic path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    Read,
    Create,
    Update,
    Delete,
    Import,
    Export,
}

impl Operation {
    pub const ALL: [Operation; 6] = [
        Operation::Read,
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Import,
        Operation::Export,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Import => "import",
            Operation::Export => "export",
        }
    }
}

/// The capacities a change is made in, and the person whose separation of duties binds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub capacities: BTreeSet<Capacity>,
    /// The person acting (the signed-in person, or whom the command line acts for with `--as`).
    pub person_id: Option<String>,
}

impl Authority {
    /// The command line's and the server's own jobs: administrator capacity, no person.
    pub fn administrator() -> Authority {
        Authority {
            capacities: BTreeSet::from([Capacity::Administrator]),
            person_id: None,
        }
    }

    pub fn of(capacities: impl IntoIterator<Item = Capacity>, person_id: Option<&str>) -> Self {
        Authority {
            capacities: capacities.into_iter().collect(),
            person_id: person_id.map(str::to_owned),
        }
    }

    pub fn is(&self, capacity: Capacity) -> bool {
        self.capacities.contains(&capacity)
    }

    /// Whether any of these capacities may do `operation` to `register`.
    pub fn may(&self, register: Register, operation: Operation) -> bool {
        self.capacities
            .iter()
            .any(|c| allowed(*c, register, operation))
    }
}

/// Why something was refused. Said plainly to the person refused; the web answers 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("you may not {} the {} register", .operation.as_str(), .register.name())]
    Register {
        register: Register,
        operation: Operation,
    },
    #[error("nobody may grant, change or remove their own roles")]
    OwnRoles,
    #[error("{0}")]
    Step(String),
}

use Capacity::*;

/// Those who see the whole estate: read-only for the auditor.
const READERS: &[Capacity] = &[It, Governance, Auditor, Administrator];
const READERS_AND_OWNERS: &[Capacity] = &[
    It,
    Governance,
    InformationAssetOwner,
    Auditor,
    Administrator,
];
const ADMINISTRATOR: &[Capacity] = &[Administrator];
const IT: &[Capacity] = &[It, Administrator];
const GOVERNANCE: &[Capacity] = &[Governance, Administrator];
/// The teams that keep the estate and its governance: exceptions, check runs, tasks done and
/// records disposed of.
pub(crate) const IT_AND_GOVERNANCE: &[Capacity] = &[It, Governance, Administrator];
const OWNERS: &[Capacity] = &[Governance, InformationAssetOwner, Administrator];
/// Who sets up and runs connectors: the IT team.
pub(crate) const RUNS_CONNECTORS: &[Capacity] = IT;
/// Who chooses which policies the organisation runs: those who own the policy.
pub(crate) const POLICY_OWNERS: &[Capacity] = &[Governance, Administrator];
const NOBODY: &[Capacity] = &[];

/// Who reads a register, and who writes it (create, update and import alike).
fn readers_writers(register: Register) -> (&'static [Capacity], &'static [Capacity]) {
    use Register as R;
    match register {
        // Who holds which role, and the organisation's settings: the administrator's alone.
        R::Organisation | R::Roles => (READERS, ADMINISTRATOR),
        // The estate the IT team keeps.
        R::BudgetCentres
        | R::Systems
        | R::People
        | R::Assets
        | R::Accounts
        | R::Usage
        | R::Sightings
        | R::Adjustments
        | R::BankHolidays
        | R::Charges
        | R::RemovableMedia => (READERS, IT),
        // Exceptions to findings are granted by the IT and governance teams.
        R::Exceptions => (READERS, IT_AND_GOVERNANCE),
        // What people have done under the policy, kept by the governance team.
        R::Training | R::Acceptances | R::Questionnaires | R::Courses | R::PolicyReviews => {
            (READERS, GOVERNANCE)
        }
        // Information assurance: the governance team, and asset owners read it.
        R::RetentionSchedule
        | R::Records
        | R::Destructions
        | R::AccessReviews
        | R::Archives
        | R::Tasks
        | R::TaskCompletions => (READERS_AND_OWNERS, GOVERNANCE),
        R::InformationAssets => (READERS_AND_OWNERS, OWNERS),
        // Written by the workflows' steps; through a generic path only by an administrator
        // restoring or migrating data.
        R::Requests | R::Approvals | R::Incidents | R::Notifications | R::Travel => {
            (READERS, ADMINISTRATOR)
        }
    }
}

/// The table: whether `capacity` may do `operation` to `register`. No register is deleted
/// through a generic path: records change state (left, disposed, closed) and keep their history;
/// a leaver's personal data is erased by `steward erase`.
pub fn allowed(capacity: Capacity, register: Register, operation: Operation) -> bool {
    let (readers, writers) = readers_writers(register);
    let who = match operation {
        Operation::Read | Operation::Export => readers,
        Operation::Create | Operation::Update | Operation::Import => writers,
        Operation::Delete => NOBODY,
    };
    who.contains(&capacity)
}
