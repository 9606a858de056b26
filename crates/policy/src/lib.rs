//! Policy packs: an organisation's written policy as data.
//!
//! A pack is a folder of two TOML files — `pack.toml` (metadata from the document's front matter,
//! parameters, staff groups and their standard equipment) and `clauses.toml` (every clause of
//! the document, in its own numbering, with the controls that carry it out: checks with CEL
//! rules, workflows, attestations, recurring tasks and guidance). `docs/policy-packs.md`
//! describes the format for people who write packs.
//!
//! This crate owns:
//! - the pack format and its typed form ([`Pack`], [`Clause`], [`Control`], …);
//! - loading ([`load_dir`], [`parse`]) with precise errors: every [`PackError`] names the pack,
//!   file, line, column, clause and control;
//! - structural validation: unique ids, each kind's required fields, known words, scopes that
//!   fit the subject and name defined staff groups, parameters that exist, rules that parse as
//!   CEL and read only the rule language's variables, well-formed message placeholders;
//! - an organisation's [`Overrides`] and the [`EffectivePack`] they give;
//! - the built-in packs, embedded in the binary ([`builtin`], [`builtin_pack`]);
//! - [`coverage`] of a source document's clause inventory;
//! - the test-case format for check controls ([`cases`]).
//!
//! It must never evaluate rules against data (type-checking and evaluation are `steward-rules`'
//! job), and never do I/O other than reading the pack, case and override files it is asked to.

mod builtin;
pub mod cases;
mod control;
mod coverage;
mod derived;
mod error;
pub mod library;
mod load;
mod message;
mod overrides;
mod position;
mod raw;
mod rule;
pub mod schema;
pub mod skeleton;
pub mod typecheck;
mod types;

pub use builtin::{BUILTIN, BuiltinPack, builtin, builtin_pack};
pub use coverage::{Coverage, CoverageSummary, CoveredRow, coverage, own_coverage};
pub use derived::{ON_TIME_SUFFIX, REPORT_IMMEDIATELY_HOURS, REPORT_IMMEDIATELY_PARAM};
pub use error::{ErrorKind, PackError, Position};
pub use load::{CLAUSES_FILE, PACK_FILE, load_dir, parse, parse_pack};
pub use message::{MessagePart, message_parts};
pub use overrides::{
    DeviceSpec, EffectivePack, EffectiveParameter, EffectiveStaffGroup, Origin, Overrides,
    StaffGroupOverride, devices_text, parse_devices,
};
pub use schema::RecordType;
pub use types::*;
