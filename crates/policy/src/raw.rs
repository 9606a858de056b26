//! The pack files as serde reads them. Every struct denies unknown fields; values that are words
//! from a closed list are read as strings and checked by the loader, so that a wrong word gets a
//! precise message and position.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

type S<T> = Spanned<T>;

/// `pack.toml`, assembled by the loader from its three tables.
#[derive(Debug)]
pub(crate) struct PackFile {
    pub pack: Meta,
    pub parameters: BTreeMap<String, S<RawParameter>>,
    pub staff_groups: BTreeMap<String, S<RawStaffGroup>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Meta {
    pub id: S<String>,
    pub title: S<String>,
    pub organisation: S<String>,
    pub version: S<String>,
    pub owner: S<String>,
    pub approver: S<String>,
    pub approved_on: S<Datetime>,
    pub implemented_on: Option<S<Datetime>>,
    pub amended_on: Option<S<Datetime>>,
    pub next_review: Option<S<Datetime>>,
    pub next_review_note: Option<S<String>>,
    pub source: Option<S<String>>,
    pub summary: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParameter {
    #[serde(rename = "type")]
    pub ty: S<String>,
    pub value: S<toml::Value>,
    pub unit: Option<S<String>>,
    pub description: S<String>,
    /// Why the pack sets a value its document does not state.
    pub assumed: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStaffGroup {
    pub name: S<String>,
    pub description: Option<S<String>>,
    pub clause: Option<S<String>>,
    #[serde(default)]
    pub devices: Vec<S<RawDevice>>,
    #[serde(default)]
    pub hardware: bool,
    #[serde(default)]
    pub byod: bool,
    #[serde(default)]
    pub portal_only: bool,
    #[serde(default)]
    pub mfa_required: bool,
    #[serde(default)]
    pub case_by_case: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDevice {
    pub kind: S<String>,
    pub count: Option<S<i64>>,
    #[serde(default, rename = "or")]
    pub alternatives: Vec<S<String>>,
}

/// The keys of a clause (besides its `control` list), a control, a scope and an escalation step:
/// the fields of the structs below, which the loader checks before deserialising so that every
/// unknown key is reported, not only the first.
pub(crate) const CLAUSE_KEYS: &[&str] = &["id", "text", "heading"];
pub(crate) const CONTROL_KEYS: &[&str] = &[
    "id",
    "kind",
    "subject",
    "scope",
    "rule",
    "message",
    "message_you",
    "evidence",
    "severity",
    "who_acts",
    "owner",
    "grace_days",
    "escalation",
    "remediation",
    "see_also",
    "process",
    "incident",
    "report_within",
    "complete_within",
    "notify",
    "approver",
    "approvers",
    "audience",
    "reaccept_on_material_change",
    "statement",
    "cadence",
    "applies_to",
];
pub(crate) const SCOPE_KEYS: &[&str] = &[
    "staff_groups",
    "person_statuses",
    "asset_kinds",
    "ownership",
    "asset_statuses",
    "account_kinds",
    "account_statuses",
    "travel_statuses",
    "task_clauses",
    "review_packs",
    "request_kinds",
    "request_states",
    "incident_kinds",
    "incident_states",
];
pub(crate) const ESCALATION_KEYS: &[&str] = &["after_days", "to"];

/// A clause without its controls, which are read one by one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClause {
    pub id: S<String>,
    pub text: S<String>,
    /// The headings the clause sits under in the document, outermost first.
    #[serde(default)]
    pub heading: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Evidence {
    Text(String),
    Paths(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawControl {
    pub id: S<String>,
    pub kind: S<String>,
    pub subject: Option<S<String>>,
    pub scope: Option<S<RawScope>>,
    pub rule: Option<S<String>>,
    pub message: Option<S<String>>,
    pub message_you: Option<S<String>>,
    pub evidence: Option<S<Evidence>>,
    pub severity: Option<S<String>>,
    pub who_acts: Option<S<String>>,
    pub owner: Option<S<String>>,
    pub grace_days: Option<S<i64>>,
    pub escalation: Option<S<Vec<S<RawEscalation>>>>,
    pub remediation: Option<S<String>>,
    pub see_also: Option<S<Vec<S<String>>>>,
    pub process: Option<S<String>>,
    pub incident: Option<S<String>>,
    pub report_within: Option<S<String>>,
    pub complete_within: Option<S<String>>,
    pub notify: Option<S<Vec<S<String>>>>,
    pub approver: Option<S<String>>,
    /// Several parties who must all agree (`["hr", "it_team"]`); instead of `approver`.
    pub approvers: Option<S<Vec<S<String>>>>,
    pub audience: Option<S<RawScope>>,
    pub reaccept_on_material_change: Option<S<bool>>,
    pub statement: Option<S<String>>,
    pub cadence: Option<S<String>>,
    pub applies_to: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScope {
    #[serde(default)]
    pub staff_groups: Vec<S<String>>,
    #[serde(default)]
    pub person_statuses: Vec<S<String>>,
    #[serde(default)]
    pub asset_kinds: Vec<S<String>>,
    #[serde(default)]
    pub ownership: Vec<S<String>>,
    #[serde(default)]
    pub asset_statuses: Vec<S<String>>,
    #[serde(default)]
    pub account_kinds: Vec<S<String>>,
    #[serde(default)]
    pub account_statuses: Vec<S<String>>,
    #[serde(default)]
    pub travel_statuses: Vec<S<String>>,
    #[serde(default)]
    pub task_clauses: Vec<S<String>>,
    #[serde(default)]
    pub review_packs: Vec<S<String>>,
    #[serde(default)]
    pub request_kinds: Vec<S<String>>,
    #[serde(default)]
    pub request_states: Vec<S<String>>,
    #[serde(default)]
    pub incident_kinds: Vec<S<String>>,
    #[serde(default)]
    pub incident_states: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEscalation {
    pub after_days: S<i64>,
    pub to: S<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key lists match the structs: a table with every listed key is refused for its values'
    /// types, never for an unknown field, and an extra key is refused as unknown.
    fn keys_match<T: for<'de> Deserialize<'de>>(keys: &[&str]) {
        let body: String = keys.iter().map(|k| format!("{k} = 0\n")).collect();
        let message = toml::from_str::<T>(&body)
            .err()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(!message.contains("unknown field"), "{message}");
        let message = toml::from_str::<T>(&format!("{body}zzz = 0\n"))
            .err()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(
            message.contains("unknown field `zzz`") || message.contains("invalid type"),
            "{message}"
        );
    }

    #[test]
    fn key_lists_match_the_structs() {
        keys_match::<RawClause>(CLAUSE_KEYS);
        keys_match::<RawControl>(CONTROL_KEYS);
        keys_match::<RawScope>(SCOPE_KEYS);
        keys_match::<RawEscalation>(ESCALATION_KEYS);
    }
}
