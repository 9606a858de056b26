//! Two versions of a policy compared: clause by clause, and by what each finds on the same estate.

use std::collections::{BTreeMap, BTreeSet};

use steward_model::Finding;
use steward_policy::{Control, ControlKind, Pack};

/// What changed in one clause between versions A and B.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClauseDiff {
    pub clause: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    pub text_changed: bool,
    /// Parameters this clause's controls read whose values differ.
    pub parameters_changed: Vec<String>,
    pub controls_added: Vec<String>,
    pub controls_removed: Vec<String>,
    pub controls_changed: Vec<String>,
    /// Findings on the estate that B adds and removes for this clause.
    pub findings_added: usize,
    pub findings_removed: usize,
}

/// A parameter whose value differs, or that only one version has.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParameterDiff {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PolicyDiff {
    pub from: String,
    pub to: String,
    pub parameters: Vec<ParameterDiff>,
    /// Only the clauses that differ, in B's order then A's removed ones.
    pub clauses: Vec<ClauseDiff>,
    /// Findings B has on the estate that A does not, and the reverse.
    pub added: Vec<Finding>,
    pub removed: Vec<Finding>,
}

/// A control's content, without where it was written: equal signatures mean the same control.
fn signature(control: &Control) -> String {
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let kind = match &control.kind {
        ControlKind::Check(c) => format!(
            "check {:?} {:?} rule={} message={} evidence={:?}",
            c.subject,
            c.scope,
            words(&c.rule.text),
            words(&c.message),
            c.evidence
        ),
        ControlKind::Workflow(w) => {
            format!(
                "workflow {:?} {:?} {:?} {:?} {:?} {:?}",
                w.trigger, w.subject, w.scope, w.within, w.notify, w.approvers
            )
        }
        ControlKind::Attestation(a) => format!(
            "attestation {:?} {} {}",
            a.audience,
            a.reaccept_on_material_change,
            a.statement.as_deref().map(words).unwrap_or_default()
        ),
        ControlKind::RecurringTask(t) => {
            format!("task {:?} {:?} {}", t.cadence, t.owner, words(&t.evidence))
        }
        ControlKind::Guidance(g) => {
            format!("guidance {:?} {:?} {:?}", g.applies_to, g.subject, g.scope)
        }
    };
    format!(
        "{kind} severity={} who={} grace={} escalation={:?} remediation={}",
        control.severity,
        control.who_acts,
        control.grace_days,
        control.escalation,
        words(&control.remediation)
    )
}

/// The parameters a control's rule reads.
fn parameters_read(control: &Control) -> BTreeSet<String> {
    let ControlKind::Check(check) = &control.kind else {
        return BTreeSet::new();
    };
    let text = &check.rule.text;
    let mut out = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("params.") {
        let name: String = rest[at + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
        rest = &rest[at + 7..];
    }
    out
}

/// Identifies a finding across versions: the same control failing for the same subject. Control
/// ids are kept across versions where a clause carries over, so a carried-over failure matches.
fn finding_key(f: &Finding) -> (String, String, String) {
    (
        f.control.to_string(),
        f.subject.kind.to_string(),
        f.subject.id.clone(),
    )
}

/// Compares pack `a` with pack `b`, with each version's effective parameter values and the
/// findings each produced on the same estate at the same moment.
pub fn compare(
    a: &Pack,
    a_params: &BTreeMap<String, String>,
    a_findings: Vec<Finding>,
    b: &Pack,
    b_params: &BTreeMap<String, String>,
    b_findings: Vec<Finding>,
) -> PolicyDiff {
    let parameters: Vec<ParameterDiff> = a_params
        .keys()
        .chain(b_params.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|n| a_params.get(*n) != b_params.get(*n))
        .map(|n| ParameterDiff {
            name: n.clone(),
            before: a_params.get(n).cloned(),
            after: b_params.get(n).cloned(),
        })
        .collect();
    let changed_params: BTreeSet<&str> = parameters.iter().map(|p| p.name.as_str()).collect();

    let a_keys: BTreeSet<_> = a_findings.iter().map(finding_key).collect();
    let b_keys: BTreeSet<_> = b_findings.iter().map(finding_key).collect();
    let added: Vec<Finding> = b_findings
        .into_iter()
        .filter(|f| !a_keys.contains(&finding_key(f)))
        .collect();
    let removed: Vec<Finding> = a_findings
        .into_iter()
        .filter(|f| !b_keys.contains(&finding_key(f)))
        .collect();
    let count = |findings: &[Finding], clause: &str| {
        findings.iter().filter(|f| &*f.clause == clause).count()
    };

    let mut clauses = Vec::new();
    let mut seen = BTreeSet::new();
    let order = b
        .clauses
        .iter()
        .map(|c| c.id.as_str())
        .chain(a.clauses.iter().map(|c| c.id.as_str()));
    for id in order {
        if !seen.insert(id.to_owned()) {
            continue;
        }
        let (before, after) = (a.clause(id), b.clause(id));
        let controls = |c: Option<&steward_policy::Clause>| -> BTreeMap<String, String> {
            c.map(|c| {
                c.controls
                    .iter()
                    .map(|k| (k.id.clone(), signature(k)))
                    .collect()
            })
            .unwrap_or_default()
        };
        let (ca, cb) = (controls(before), controls(after));
        let controls_added: Vec<String> = cb
            .keys()
            .filter(|k| !ca.contains_key(*k))
            .cloned()
            .collect();
        let controls_removed: Vec<String> = ca
            .keys()
            .filter(|k| !cb.contains_key(*k))
            .cloned()
            .collect();
        let controls_changed: Vec<String> = cb
            .iter()
            .filter(|(k, s)| ca.get(*k).is_some_and(|t| t != *s))
            .map(|(k, _)| k.clone())
            .collect();
        let reads: BTreeSet<String> = after
            .into_iter()
            .chain(before)
            .flat_map(|c| c.controls.iter().flat_map(parameters_read))
            .collect();
        let parameters_changed: Vec<String> = reads
            .into_iter()
            .filter(|p| changed_params.contains(p.as_str()))
            .collect();
        let text_changed = match (before, after) {
            (Some(x), Some(y)) => {
                x.text.split_whitespace().collect::<Vec<_>>()
                    != y.text.split_whitespace().collect::<Vec<_>>()
            }
            _ => false,
        };
        let change = match (before, after) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            _ => "changed",
        };
        let diff = ClauseDiff {
            clause: id.to_owned(),
            change,
            text_changed,
            parameters_changed,
            controls_added,
            controls_removed,
            controls_changed,
            findings_added: count(&added, id),
            findings_removed: count(&removed, id),
        };
        let differs = change != "changed"
            || diff.text_changed
            || !diff.parameters_changed.is_empty()
            || !diff.controls_added.is_empty()
            || !diff.controls_removed.is_empty()
            || !diff.controls_changed.is_empty()
            || diff.findings_added > 0
            || diff.findings_removed > 0;
        if differs {
            clauses.push(diff);
        }
    }
    PolicyDiff {
        from: format!("{} {}", a.id, a.version),
        to: format!("{} {}", b.id, b.version),
        parameters,
        clauses,
        added,
        removed,
    }
}
