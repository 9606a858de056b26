//! The audit log's verification, head and erasure of a leaver's personal data.

use steward_model::audit::{Anchor, ChainHead};
use steward_model::{Person, PersonStatus, Record, Register, Value};
use steward_store::AuditVerdict;

use crate::{FieldProblem, Result, ServiceError, Stamp, Steward};

/// What replaces an erased text field (fields that may be empty are emptied instead).
pub const ERASED: &str = "[erased]";

/// The fields of a person that are personal data, and what erasure leaves in each: the name is
/// replaced by the marker, the address emptied. Everything else (staff group, manager, dates,
/// status, clearance) is kept: the registers and policy checks depend on it, and without name and
/// address it no longer identifies anyone.
pub const PERSONAL_FIELDS: &[(&str, Option<&str>)] = &[("name", Some(ERASED)), ("email", None)];

/// How many register differences a verification lists (all are counted).
pub const DIFFERENCES_LISTED: usize = 1_000;

impl Steward {
    /// Verifies the chain (and, if given, that it still holds `anchor`'s record with its hash) and
    /// replays the log against every register, finding and sign-in.
    pub fn verify_audit_against(&self, anchor: Option<Anchor>) -> Result<AuditVerdict> {
        Ok(steward_store::verify_audit_full(
            self.store.as_ref(),
            anchor,
            DIFFERENCES_LISTED,
        )?)
    }

    /// The recorded head of the chain, to publish as an anchor.
    pub fn audit_head(&self) -> Result<ChainHead> {
        let (seq, hash) = self.store.audit_head()?;
        Ok(ChainHead { seq, hash })
    }

    /// Erases a person's personal data ([`PERSONAL_FIELDS`]) from the people register and from
    /// the payloads of that person's own audit records, appending one audited `erase` record with
    /// `reason`. Only someone who has left — status `leaver`, or a leave date before today — may
    /// be erased; anyone else, an empty reason, or someone already erased is refused, writing
    /// nothing. The `erase` record's sequence number.
    pub fn erase_person(&self, stamp: &Stamp, id: &str, reason: &str) -> Result<i64> {
        stamp.require(&[crate::Capacity::Administrator], "erasing a person's data")?;
        let refuse = |field: &'static str, value: &str, reason: &str| ServiceError::Invalid {
            register: Register::People,
            problems: vec![FieldProblem {
                field,
                value: value.to_owned(),
                reason: reason.to_owned(),
            }],
        };
        if reason.trim().is_empty() {
            return Err(refuse("reason", reason, "an erasure must say why"));
        }
        let row = self
            .store
            .get(Register::People, id)?
            .ok_or_else(|| ServiceError::NotFound {
                register: Register::People,
                id: id.to_owned(),
            })?;
        let person = Person::from_row(&row).map_err(|e| {
            ServiceError::Store(steward_store::StoreError::Corrupt {
                table: "people",
                column: "",
                id: id.to_owned(),
                reason: e.to_string(),
            })
        })?;
        let today = stamp.at.date_naive();
        let left =
            person.status == PersonStatus::Leaver || person.leave_date.is_some_and(|d| d < today);
        if !left {
            return Err(refuse(
                "status",
                person.status.as_str(),
                "only someone who has left (status leaver, or a leave date passed) may be erased",
            ));
        }
        if person.name == ERASED {
            return Err(refuse(
                "name",
                ERASED,
                "this person has already been erased",
            ));
        }
        let fields: Vec<(&str, Value)> = PERSONAL_FIELDS
            .iter()
            .map(|(f, v)| (*f, v.map_or(Value::Null, |t| Value::Text(t.to_owned()))))
            .collect();
        Ok(self.store.erase(
            &stamp.actor,
            stamp.at,
            Register::People,
            id,
            &fields,
            reason.trim(),
        )?)
    }
}
