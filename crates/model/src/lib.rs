//! The estate's registers as types.
//!
//! This crate owns what a register *is*: its fields, their types and constraints, the typed records
//! (person, asset, account, system, budget centre, organisation), the dynamic [`Value`] and [`Row`]
//! that storage and interchange move around, and the audit log's canonical encoding and hash chain.
//!
//! It must never do I/O: no files, no database, no network, no clock. Everything here is pure so
//! that every other crate can agree on it and test it cheaply.

pub mod audit;
mod field;
mod records;
mod register;
mod value;

pub use field::{Field, FieldType, FieldValue, Pence};
pub use records::*;
pub use register::{Record, Register, Row};
pub use value::Value;

/// Why a value or a row does not fit its register.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{register}: row has {found} values, the register has {expected} fields")]
    Arity {
        register: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
}
