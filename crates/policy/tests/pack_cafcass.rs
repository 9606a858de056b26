//! The built-in Cafcass IT Policy v5.0 pack: it loads, it covers every row of the clause
//! inventory, and every check control has well-formed test cases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use steward_policy::cases::{CaseFile, CaseRow, CaseValue, Outcome, load_cases_dir, subject_key};
use steward_policy::{
    Amount, ControlKind, KindName, Pack, RecordType, Scope, Within, coverage, load_dir,
};

const PACK_ID: &str = "cafcass-it-5.0";

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pack_dir() -> PathBuf {
    manifest().join("../../packs").join(PACK_ID)
}

fn pack() -> Pack {
    match steward_policy::builtin_pack(PACK_ID) {
        Some(Ok(p)) => p,
        Some(Err(errors)) => {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("the built-in pack does not load:\n{}", text.join("\n"))
        }
        None => panic!("no built-in pack {PACK_ID}"),
    }
}

/// The clause inventory of the source document (test data, a copy of its inventory).
fn inventory() -> String {
    let path = manifest().join("tests/inventories/001_8d54d1cb838918ff.tsv");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the clause inventory {}: {e}. The coverage test must not pass without it.",
            path.display()
        )
    })
}

#[test]
fn the_builtin_pack_loads_and_matches_the_folder() {
    let builtin = pack();
    let from_dir = load_dir(pack_dir()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(builtin, from_dir);
    let ids: Vec<String> = steward_policy::builtin()
        .map(|packs| packs.into_iter().map(|p| p.id).collect())
        .unwrap_or_default();
    assert_eq!(
        ids,
        [
            "cafcass-it-5.0",
            "cafcass-it-2.2",
            "cafcass-ia-4.3",
            "ctcic-ict-6",
            "pip-it",
            "starter-it-1"
        ]
    );
    assert!(steward_policy::builtin_pack("no-such-pack").is_none());
}

#[test]
fn front_matter_is_the_documents() {
    let p = pack();
    assert_eq!(
        (
            p.title.as_str(),
            p.organisation.as_str(),
            p.version.as_str()
        ),
        ("IT Policy and Procedures", "Cafcass", "5.0")
    );
    assert_eq!(p.owner, "Robert Langley, CIO");
    assert_eq!(p.approver, "CMT");
    assert_eq!(p.approved_on.to_string(), "2023-05-25");
    assert_eq!(
        p.implemented_on.map(|d| d.to_string()).as_deref(),
        Some("2023-05-25")
    );
    assert_eq!(
        p.next_review.map(|d| d.to_string()).as_deref(),
        Some("2024-03-31")
    );
    assert_eq!(p.source.as_deref(), Some("001_8d54d1cb838918ff.txt"));
}

#[test]
fn every_inventory_row_is_mapped_and_nothing_else() {
    let p = pack();
    let cov = coverage(&p, &inventory());
    assert!(
        cov.problems.is_empty(),
        "inventory problems: {:?}",
        cov.problems
    );
    assert!(
        cov.unmapped.is_empty(),
        "inventory rows with no controls: {:?}",
        cov.unmapped
    );
    assert!(
        cov.not_in_inventory.is_empty(),
        "clauses not in the inventory: {:?}",
        cov.not_in_inventory
    );
    assert_eq!(cov.rows.len(), 129);
    assert!(cov.is_complete());
    // The pack keeps the inventory's order.
    let order: Vec<&str> = cov.rows.iter().map(|r| r.clause.as_str()).collect();
    let pack_order: Vec<&str> = p.clauses.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(order, pack_order);
}

#[test]
fn clause_texts_begin_with_the_inventory_excerpts() {
    let cov = coverage(&pack(), &inventory());
    // These four excerpts run on into the heading that follows the clause in the document
    // ("Removable Media", "Other IT equipment …", "Particular needs …", "Mobile phones and
    // driving"); the pack's texts stop at the end of the clause.
    assert_eq!(cov.text_mismatches(), ["2.13(b)", "3.5(f)", "3.7", "4.7"]);
}

#[test]
fn staff_groups_are_the_allocation_table() {
    let p = pack();
    let ids: BTreeSet<&str> = p.staff_groups.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "associate",
        "business-services",
        "fca",
        "student-social-worker",
        "nqsw",
        "other-staff",
        "supplier",
        "icfa-provider",
    ]
    .into();
    assert_eq!(ids, expected);
    let g = |id: &str| &p.staff_groups[id];
    assert!(g("associate").byod && !g("associate").hardware && g("associate").devices.is_empty());
    assert!(g("icfa-provider").portal_only && g("icfa-provider").mfa_required);
    assert!(g("supplier").case_by_case);
    for id in [
        "business-services",
        "fca",
        "student-social-worker",
        "nqsw",
        "other-staff",
    ] {
        let kinds: Vec<&str> = g(id).devices.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(kinds, ["laptop", "smartphone"], "{id}");
    }
    assert_eq!(
        g("other-staff").devices[1]
            .alternatives
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>(),
        ["voice_phone"]
    );
}

#[test]
fn every_kind_is_used_and_counted() {
    let counts = pack().count_by_kind();
    for kind in [
        KindName::Check,
        KindName::Workflow,
        KindName::Attestation,
        KindName::RecurringTask,
        KindName::Guidance,
    ] {
        assert!(counts.get(&kind).copied().unwrap_or(0) > 0, "{kind}");
    }
    assert!(counts[&KindName::Check] >= 35, "{counts:?}");
}

#[test]
fn every_parameter_is_used() {
    let p = pack();
    let mut text = String::new();
    for c in p.controls() {
        match &c.kind {
            ControlKind::Check(k) => {
                text.push_str(&k.rule.text);
                text.push_str(&k.message);
            }
            ControlKind::Workflow(w) => {
                if let Some(Within::Period {
                    amount: Amount::Param(name),
                    ..
                }) = &w.within
                {
                    text.push_str(&format!(" params.{name} "));
                }
            }
            _ => {}
        }
    }
    for name in p.parameters.keys() {
        assert!(
            text.contains(&format!("params.{name}")),
            "parameter `{name}` is not used by any rule, message or deadline"
        );
    }
}

#[test]
fn the_clauses_the_brief_names_have_the_right_kinds() {
    let p = pack();
    let kinds = |clause: &str| -> Vec<KindName> {
        p.clause(clause)
            .map(|c| c.controls.iter().map(|k| k.kind.name()).collect())
            .unwrap_or_default()
    };
    for clause in [
        "2.6(v)", "2.6(w)", "2.7", "2.8", "2.9", "2.11(a)", "2.11(b)", "2.12(b)", "2.18", "3.2",
        "3.2-T2", "3.2-T6", "3.9", "3.10", "4.4", "4.11(e)", "4.12", "6.3", "6.4", "6.5", "1.5",
    ] {
        assert!(
            kinds(clause).contains(&KindName::Check),
            "{clause} has no check"
        );
    }
    let workflow = |id: &str| match p.control(id).map(|c| &c.kind) {
        Some(ControlKind::Workflow(w)) => w.clone(),
        other => panic!("{id}: {other:?}"),
    };
    let loss = workflow("report-equipment-loss");
    assert_eq!(loss.within, Some(Within::Immediately));
    assert_eq!(
        loss.notify.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        ["service_desk", "line_manager", "governance_team"]
    );
    for clause in [
        "1.1", "1.2", "2.6", "fn1", "fn2", "fn3", "fn4", "2.14", "3.2-T1",
    ] {
        assert_eq!(kinds(clause), [KindName::Guidance], "{clause}");
    }
}

// ---------------------------------------------------------------------------------------------
// Test cases
// ---------------------------------------------------------------------------------------------

fn cases(p: &Pack) -> Vec<CaseFile> {
    load_cases_dir(pack_dir().join("cases"), p).unwrap_or_else(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("case files are not well-formed:\n{}", text.join("\n"))
    })
}

#[test]
fn every_check_has_cases_that_fire_and_pass() {
    let p = pack();
    let files = cases(&p);
    let mut by_control: BTreeMap<&str, &CaseFile> = BTreeMap::new();
    for f in &files {
        assert!(
            by_control.insert(&f.control, f).is_none(),
            "two case files for {}",
            f.control
        );
        assert_eq!(
            f.file,
            format!("cases/{}.toml", f.control),
            "a case file is named after its control"
        );
    }
    for c in p.controls() {
        if !matches!(c.kind, ControlKind::Check(_)) {
            continue;
        }
        let Some(f) = by_control.get(c.id.as_str()) else {
            panic!("check `{}` has no cases/{}.toml", c.id, c.id)
        };
        let outcomes: BTreeSet<Outcome> = f
            .cases
            .iter()
            .flat_map(|k| k.expect.iter().map(|(_, o)| *o))
            .collect();
        assert!(
            outcomes.contains(&Outcome::Fires),
            "{}: no subject is expected to fire",
            c.id
        );
        assert!(
            outcomes.contains(&Outcome::Passes),
            "{}: no subject is expected to pass",
            c.id
        );
    }
}

/// The related person whose staff group and status a scope matches, per the `Scope` docs.
fn scope_person<'a>(
    subject: RecordType,
    row: &'a CaseRow,
    case: &'a steward_policy::cases::Case,
) -> Option<&'a CaseRow> {
    let by = |ty: RecordType, field: &str, id: Option<&str>| -> Option<&'a CaseRow> {
        let id = id?;
        case.rows(ty)
            .iter()
            .find(|r| r.get(field).and_then(CaseValue::as_str) == Some(id))
    };
    let s = |r: &'a CaseRow, f: &str| r.get(f).and_then(CaseValue::as_str);
    match subject {
        RecordType::Person => Some(row),
        RecordType::Asset => by(RecordType::Person, "id", s(row, "assigned_to")),
        RecordType::Account | RecordType::Travel | RecordType::Request | RecordType::Incident => {
            by(RecordType::Person, "id", s(row, "person_id"))
        }
        RecordType::Usage | RecordType::Sighting => {
            let asset = by(RecordType::Asset, "tag", s(row, "asset_tag"))?;
            by(RecordType::Person, "id", s(asset, "assigned_to"))
        }
        RecordType::Task | RecordType::InformationAsset => {
            by(RecordType::Person, "id", s(row, "owner_id"))
        }
        RecordType::RemovableMedium => by(RecordType::Person, "id", s(row, "holder_id")),
        _ => None,
    }
}

fn in_scope(
    scope: &Scope,
    subject: RecordType,
    row: &CaseRow,
    case: &steward_policy::cases::Case,
) -> bool {
    let s = |r: &CaseRow, f: &str| r.get(f).and_then(CaseValue::as_str).map(str::to_owned);
    let listed = |list: Vec<String>, value: Option<String>| {
        list.is_empty() || value.is_some_and(|v| list.contains(&v))
    };
    let words = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
    let asset_row = match subject {
        RecordType::Asset => Some(row),
        RecordType::Usage | RecordType::Sighting => {
            let tag = s(row, "asset_tag");
            case.rows(RecordType::Asset)
                .iter()
                .find(|r| s(r, "tag") == tag)
        }
        _ => None,
    };
    let person = scope_person(subject, row, case);
    listed(
        scope.staff_groups.clone(),
        person.and_then(|p| s(p, "staff_group")),
    ) && listed(
        words(scope.person_statuses.iter().map(|x| x.as_str()).collect()),
        person.and_then(|p| s(p, "status")),
    ) && listed(
        words(scope.asset_kinds.iter().map(|x| x.as_str()).collect()),
        asset_row.and_then(|a| s(a, "kind")),
    ) && listed(
        words(scope.ownership.iter().map(|x| x.as_str()).collect()),
        asset_row.and_then(|a| s(a, "ownership")),
    ) && listed(
        words(scope.asset_statuses.iter().map(|x| x.as_str()).collect()),
        s(row, "status").filter(|_| subject == RecordType::Asset),
    ) && listed(
        words(scope.account_kinds.iter().map(|x| x.as_str()).collect()),
        s(row, "kind").filter(|_| subject == RecordType::Account),
    ) && listed(
        words(scope.account_statuses.iter().map(|x| x.as_str()).collect()),
        s(row, "status").filter(|_| subject == RecordType::Account),
    ) && listed(
        words(scope.travel_statuses.iter().map(|x| x.as_str()).collect()),
        s(row, "status").filter(|_| subject == RecordType::Travel),
    ) && listed(
        scope.task_clauses.clone(),
        s(row, "clause").filter(|_| subject == RecordType::Task),
    ) && listed(
        scope.review_packs.clone(),
        s(row, "pack").filter(|_| subject == RecordType::PolicyReview),
    ) && listed(
        words(scope.request_kinds.iter().map(|x| x.as_str()).collect()),
        s(row, "kind").filter(|_| subject == RecordType::Request),
    ) && listed(
        words(scope.request_states.iter().map(|x| x.as_str()).collect()),
        s(row, "state").filter(|_| subject == RecordType::Request),
    ) && listed(
        words(scope.incident_kinds.iter().map(|x| x.as_str()).collect()),
        s(row, "kind").filter(|_| subject == RecordType::Incident),
    ) && listed(
        words(scope.incident_states.iter().map(|x| x.as_str()).collect()),
        s(row, "state").filter(|_| subject == RecordType::Incident),
    )
}

/// Scopes are structural, so the cases' `out_of_scope` expectations can be checked here; whether
/// an in-scope subject fires or passes needs the rule evaluator (steward-rules).
#[test]
fn out_of_scope_expectations_match_the_scopes() {
    let p = pack();
    for f in cases(&p) {
        let Some(ControlKind::Check(check)) = p.control(&f.control).map(|c| &c.kind) else {
            panic!("{}", f.control)
        };
        for case in &f.cases {
            for (key, outcome) in &case.expect {
                let row = case
                    .rows(check.subject)
                    .iter()
                    .find(|r| subject_key(check.subject, r).as_deref() == Some(key.as_str()));
                let Some(row) = row else {
                    panic!("{}: {}: no subject {key}", f.file, case.name)
                };
                let scoped = in_scope(&check.scope, check.subject, row, case);
                assert_eq!(
                    scoped,
                    *outcome != Outcome::OutOfScope,
                    "{}: case `{}`: `{key}` is expected {} but is {}in scope",
                    f.file,
                    case.name,
                    outcome.as_str(),
                    if scoped { "" } else { "not " }
                );
            }
        }
    }
}

#[test]
fn case_files_reject_unknown_fields_and_subjects() {
    let p = pack();
    let bad = r#"
control = "laptop-connected-within-14-days"

[[case]]
name = "bad"
now = 2026-03-02T12:00:00Z
assets = [{ tag = "L1", kind = "laptap", ownership = "organisation", status = "allocated", colour = "red", assigned_to = "nobody" }]
expect = { L1 = "fires", L9 = "passes", L1x = "maybe" }
"#;
    let errors =
        steward_policy::cases::parse_cases("cases/bad.toml", bad, &p).expect_err("must fail");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let all = text.join("\n");
    for needle in [
        "asset has no field `colour`",
        "asset.kind is `laptap`",
        "no person `nobody`",
        "`L9` is not an asset",
        "expected outcome must be one of",
    ] {
        assert!(all.contains(needle), "missing `{needle}` in:\n{all}");
    }
    assert!(
        errors.iter().all(|e| e.position.is_some()
            && e.control.as_deref() == Some("laptop-connected-within-14-days")),
        "{all}"
    );

    let not_a_check =
        "control = \"report-phishing\"\n[[case]]\nname = \"x\"\nnow = 2026-03-02\nexpect = {}\n";
    let errors =
        steward_policy::cases::parse_cases("cases/x.toml", not_a_check, &p).expect_err("must fail");
    assert!(
        errors[0].reason.contains("only checks have cases"),
        "{errors:?}"
    );
}

#[test]
fn keys_of_records_without_ids_are_the_models_derived_keys() {
    let mut row = CaseRow::new();
    row.insert("asset_tag".into(), CaseValue::String("MOB/1".into()));
    row.insert("month".into(), CaseValue::String("2026-02".into()));
    assert_eq!(
        subject_key(RecordType::Usage, &row).as_deref(),
        Some("2026-02/MOB%2F1")
    );
    let t = chrono::DateTime::parse_from_rfc3339("2026-02-11T10:00:00+01:00")
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok();
    row.insert(
        "seen_at".into(),
        CaseValue::Timestamp(t.unwrap_or_default()),
    );
    assert_eq!(
        subject_key(RecordType::Sighting, &row).as_deref(),
        Some("MOB%2F1/2026-02-11T09:00:00Z")
    );
    row.insert("asset_tag".into(), CaseValue::String("P1".into()));
    assert_eq!(subject_key(RecordType::Asset, &row), None);
}
