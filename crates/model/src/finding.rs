//! A finding: one subject failing one control of one policy pack, and where it stands.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

/// What a check run produced for one subject and one control. Everything a person needs to act:
/// the clause it comes from (quoted), the data that triggered it, who must act and by when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub pack: String,
    pub version: String,
    pub clause: String,
    pub control: String,
    pub subject: Subject,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub message: String,
    /// The clause's text, quoted.
    pub clause_text: String,
    /// The fields that triggered it and their values, by path (`asset.last_seen`).
    pub evidence: BTreeMap<String, String>,
    /// `person`, `line_manager`, `it_team`, `governance_team` or `iao`.
    pub who_acts: String,
    pub due: Option<NaiveDate>,
    /// Set when the rule could not be decided for this subject (unknown data), with the reason.
    pub undecided: Option<String>,
}

/// What a finding is about: a record of the estate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Subject {
    /// `person`, `asset`, `account`, `system`, `usage`, `sighting`, `travel`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

impl Finding {
    /// Identifies a finding across runs: the same control failing for the same subject is the
    /// same finding, whatever its message says today.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.pack, self.control, self.subject.kind, self.subject.id
        )
    }
}

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingState {
    /// Failing, within its grace period or not yet escalated.
    Open,
    /// Failing past an escalation step.
    Escalated,
    /// No longer failing.
    Resolved,
    /// Failing, but covered by an unexpired exception.
    Excepted,
}

/// A finding as stored, with its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredFinding {
    pub finding: Finding,
    pub state: FindingState,
    /// When it began failing this time; an unchanged failure keeps it across runs.
    pub first_failing: DateTime<Utc>,
    /// The last run that saw it failing.
    pub last_failing: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The exception covering it, by id, while excepted.
    pub exception: Option<String>,
}
