//! A finding: one subject failing one control of one policy pack, and where it stands.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

/// What a check run produced for one subject and one control. Everything a person needs to act:
/// the clause it comes from (quoted), the data that triggered it, who must act and by when.
///
/// What every finding of one control says alike (its pack, clause, control, severity, the
/// clause quoted, who acts) is [`Shared`]: a run of a control failing for tens of thousands of
/// subjects holds each once, not a copy per finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub pack: Shared,
    pub version: Shared,
    pub clause: Shared,
    pub control: Shared,
    pub subject: Subject,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: Shared,
    pub message: String,
    /// The same said to the person it concerns ("Your laptop …"), where the control has one:
    /// what their own page shows. Not part of the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_you: Option<String>,
    /// The clause's text, quoted.
    pub clause_text: Shared,
    /// The fields that triggered it and their values, by path (`asset.last_seen`).
    pub evidence: BTreeMap<String, String>,
    /// `person`, `line_manager`, `it_team`, `governance_team` or `iao`.
    pub who_acts: Shared,
    pub due: Option<NaiveDate>,
    /// Set when the rule could not be decided for this subject (unknown data), with the reason.
    pub undecided: Option<String>,
}

/// Text that many findings hold alike, kept once.
pub type Shared = Arc<str>;

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
        self.subject.key_in(&self.pack, &self.control)
    }
}

impl Subject {
    /// The key of the finding of control `control` of pack `pack` about this subject
    /// ([`Finding::key`]).
    pub fn key_in(&self, pack: &str, control: &str) -> String {
        // Made for every finding of every run: `join` sizes it once, without `format!`'s
        // machinery.
        [pack, control, &self.kind, &self.id].join("/")
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
    /// How many of its control's escalation steps (beyond "past due") it has reached in this
    /// episode of failing: 0 until the first step's days have passed.
    pub escalation_step: u32,
}

impl Finding {
    /// The severities, least severe first: a severity's place here is its rank.
    pub const SEVERITIES: [&'static str; 5] = ["info", "low", "medium", "high", "critical"];

    /// Who may be asked to act on a finding.
    pub const WHO_ACTS: [&'static str; 5] = [
        "person",
        "line_manager",
        "it_team",
        "governance_team",
        "iao",
    ];

    /// How severe a severity is: 1 (`info`) to 5 (`critical`); 0 for a word that is none of
    /// [`Finding::SEVERITIES`].
    pub fn severity_rank(severity: &str) -> u8 {
        Self::SEVERITIES
            .iter()
            .position(|s| *s == severity)
            .map_or(0, |i| i as u8 + 1)
    }
}

impl FindingState {
    pub const ALL: [FindingState; 4] = [
        FindingState::Open,
        FindingState::Escalated,
        FindingState::Resolved,
        FindingState::Excepted,
    ];

    /// The stored spelling: `open`, `escalated`, `resolved` or `excepted`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Escalated => "escalated",
            FindingState::Resolved => "resolved",
            FindingState::Excepted => "excepted",
        }
    }

    pub fn parse(s: &str) -> Option<FindingState> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Whether a finding in this state is still failing (excepted ones are: covered, not fixed).
    pub fn is_failing(self) -> bool {
        self != FindingState::Resolved
    }
}

impl std::fmt::Display for FindingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_spell_as_serde_does_and_parse_back() {
        for state in FindingState::ALL {
            assert_eq!(FindingState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::String(state.to_string())
            );
        }
        assert_eq!(FindingState::parse("closed"), None);
        assert!(!FindingState::Resolved.is_failing());
        assert!(FindingState::Excepted.is_failing());
    }

    #[test]
    fn severities_rank_in_order() {
        assert_eq!(Finding::severity_rank("info"), 1);
        assert_eq!(Finding::severity_rank("critical"), 5);
        assert!(Finding::severity_rank("high") > Finding::severity_rank("medium"));
        assert_eq!(Finding::severity_rank("urgent"), 0);
    }
}
