//! The estate's registers as types.
//!
//! This crate owns what a register *is*: its fields, their types and constraints, the typed records
//! (person, asset, account, system, budget centre, organisation, and the usage, sightings, travel,
//! training, acceptances, questionnaires, adjustments and exceptions about them), the dynamic [`Value`] and [`Row`]
//! that storage and interchange move around, and the audit log's canonical encoding and hash chain.
//! Every field has a length limit ([`Field::max_chars`], checked by [`Field::parse`]), so an
//! import, a form and `register set` refuse the same over-long text with the same words.
//!
//! It must never do I/O: no files, no database, no network, no clock. Everything here is pure so
//! that every other crate can agree on it and test it cheaply. ([`side_by_side`] runs pure work
//! on a few threads; it touches nothing outside the work it is given.)

pub mod audit;
mod country;
mod field;
mod finding;
mod processes;
mod records;
mod register;
pub mod side_by_side;
mod value;

pub use country::{COUNTRY_CODES, Countries, Country};
pub use field::{
    DETAILS_TEXT, Field, FieldType, FieldValue, LONG_TEXT, MAX_CELL_CHARS, Month, Pence,
};
pub use finding::{
    Evidence, EvidenceIter, EvidencePaths, Finding, FindingState, Shared, StoredFinding, Subject,
};
pub use processes::*;
pub use records::*;
pub use register::{Record, Register, Row, SourcedFields, join_key, push_escaped};
pub use value::{Value, iso_date, parse_date, push_date, read_date};

/// Why a value or a row does not fit its register.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{register}: row has {found} values, the register has {expected} fields")]
    Arity {
        register: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("a row of {found} is not a row of {expected}")]
    WrongRegister {
        expected: &'static str,
        found: &'static str,
    },
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
}
