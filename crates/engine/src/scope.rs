//! A control's scope as a rule: which subjects it looks at. Written as CEL and compiled like any
//! rule, so scope and rule share one evaluator and one set of semantics.

use steward_policy::Scope;
use steward_rules::Kind;

/// Where the person a scope's people-lists apply to is found, from each kind of subject.
fn person_path(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Person => "person",
        Kind::Asset => "asset.holder",
        Kind::Account => "account.person",
        Kind::Usage => "usage.asset.holder",
        Kind::Sighting => "sighting.asset.holder",
        Kind::Travel => "travel.person",
        Kind::Training => "training.person",
        Kind::Acceptance => "acceptance.person",
        Kind::Questionnaire => "questionnaire.person",
        Kind::Adjustment => "adjustment.person",
        Kind::System | Kind::Exception => return None,
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

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
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
    over(
        person_path(kind),
        "staff_group",
        list(&scope.staff_groups),
        scope.staff_groups.is_empty(),
    );
    over(
        person_path(kind),
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
    (!terms.is_empty()).then(|| terms.join(" && "))
}
