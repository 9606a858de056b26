//! A control's scope as a rule: which subjects it looks at. Written as CEL and compiled like any
//! rule, so scope and rule share one evaluator and one set of semantics.

use steward_policy::{RecordType, Scope};
use steward_rules::Kind;

/// Where the person a scope's people-lists apply to is found, from each kind of subject: the
/// pack loader's path, so that what it accepts and what runs cannot drift apart.
fn person_path(kind: Kind) -> Option<String> {
    let path = RecordType::parse(kind.name())?.person_path()?;
    Some(if path.is_empty() {
        kind.name().to_owned()
    } else {
        format!("{}.{path}", kind.name())
    })
}

/// Where the device a scope's asset-lists apply to is found.
fn asset_path(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Asset => "asset",
        Kind::Usage => "usage.asset",
        Kind::Sighting => "sighting.asset",
        _ => return None,
    })
}

/// A CEL list of string literals. Task clauses are free text, so quotes and backslashes are
/// escaped rather than trusted not to occur.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| {
            let text = i.to_string().replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{text}\"")
        })
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// `a.b.c != null` for every step of a path, so that reading it cannot fail.
fn guard(path: &str) -> Vec<String> {
    let parts: Vec<&str> = path.split('.').collect();
    (2..=parts.len())
        .map(|n| format!("{} != null", parts[..n].join(".")))
        .collect()
}

/// The scope as a CEL condition over the subject, or `None` when it takes every subject.
pub(crate) fn expression(kind: Kind, scope: &Scope) -> Option<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut over = |path: Option<&str>, field: &str, values: String, empty: bool| {
        if empty {
            return;
        }
        // A list that cannot apply to this kind of subject was refused when the pack loaded.
        let Some(path) = path else { return };
        for g in guard(path) {
            if !terms.contains(&g) {
                terms.push(g);
            }
        }
        terms.push(format!("{path}.{field} in {values}"));
    };
    let person = person_path(kind);
    over(
        person.as_deref(),
        "staff_group",
        list(&scope.staff_groups),
        scope.staff_groups.is_empty(),
    );
    over(
        person.as_deref(),
        "status",
        list(&scope.person_statuses),
        scope.person_statuses.is_empty(),
    );
    over(
        asset_path(kind),
        "kind",
        list(&scope.asset_kinds),
        scope.asset_kinds.is_empty(),
    );
    over(
        asset_path(kind),
        "ownership",
        list(&scope.ownership),
        scope.ownership.is_empty(),
    );
    over(
        asset_path(kind),
        "status",
        list(&scope.asset_statuses),
        scope.asset_statuses.is_empty(),
    );
    let account = (kind == Kind::Account).then_some("account");
    over(
        account,
        "kind",
        list(&scope.account_kinds),
        scope.account_kinds.is_empty(),
    );
    over(
        account,
        "status",
        list(&scope.account_statuses),
        scope.account_statuses.is_empty(),
    );
    let travel = (kind == Kind::Travel).then_some("travel");
    over(
        travel,
        "status",
        list(&scope.travel_statuses),
        scope.travel_statuses.is_empty(),
    );
    let task = (kind == Kind::Task).then_some("task");
    over(
        task,
        "clause",
        list(&scope.task_clauses),
        scope.task_clauses.is_empty(),
    );
    let review = (kind == Kind::PolicyReview).then_some("policy_review");
    over(
        review,
        "pack",
        list(&scope.review_packs),
        scope.review_packs.is_empty(),
    );
    let request = (kind == Kind::Request).then_some("request");
    over(
        request,
        "kind",
        list(&scope.request_kinds),
        scope.request_kinds.is_empty(),
    );
    over(
        request,
        "state",
        list(&scope.request_states),
        scope.request_states.is_empty(),
    );
    let incident = (kind == Kind::Incident).then_some("incident");
    over(
        incident,
        "kind",
        list(&scope.incident_kinds),
        scope.incident_kinds.is_empty(),
    );
    over(
        incident,
        "state",
        list(&scope.incident_states),
        scope.incident_states.is_empty(),
    );
    (!terms.is_empty()).then(|| terms.join(" && "))
}
