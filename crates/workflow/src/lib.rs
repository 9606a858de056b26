//! The policies' processes as state machines: service requests (approvals by role, working-day
//! deadlines, their effects on the registers) and incidents (reporting windows, the ICO's 72 hours,
//! who must be told).
//!
//! This crate decides; it never does I/O. The service layer hands it the records a step needs (the
//! request, the person it is for, who is acting and their roles, what they hold) and commits the
//! rows it returns in one audited transaction. It must never read the clock (the time of every step
//! is passed in) and never touch storage, HTTP or the command line.

mod details;
mod incident;
mod request;

pub use details::{DETAIL_CHARS, Details};
pub use incident::{
    ICO_HOURS, IncidentReport, Reporting, acknowledge, may_mark_asset, party_role, report,
    update_incident,
};
pub use request::{
    Action, Actor, Holdings, RequestStep, Sla, approvals_known, approvals_needed,
    approver_recipient, approvers_text, departure, named_tags, open, required, serves_leavers, sla,
    step, waiting_for,
};

/// Why a step cannot be taken. Nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("{kind} {id} is {state}; it cannot be {action}")]
    Illegal {
        kind: &'static str,
        id: String,
        state: String,
        action: &'static str,
    },
    #[error("{actor} may not {action} {id}: {reason}")]
    NotAllowed {
        actor: String,
        action: &'static str,
        id: String,
        reason: String,
    },
    /// The person has left and the request is not one of those a departure needs.
    #[error("{person} has left ({how}): {request} cannot be {action} for them")]
    HasLeft {
        person: String,
        how: String,
        request: String,
        action: &'static str,
    },
    #[error("{kind} needs {key}: {hint}")]
    MissingDetail {
        kind: String,
        key: &'static str,
        hint: &'static str,
    },
    #[error("{key}: {}: {reason}", shown(.value))]
    BadDetail {
        key: String,
        value: String,
        reason: String,
    },
}

pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;

/// A value as an error shows it: quoted, and a long one cut short, so that a page of text refused
/// is not repeated whole.
fn shown(value: &str) -> String {
    const SHOWN: usize = 60;
    match value.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}
