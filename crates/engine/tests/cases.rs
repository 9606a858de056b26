//! Every built-in pack's test cases, run through the engine: each subject's outcome under the
//! control must be what the case file expects — fires, passes, or out of scope.

use std::path::Path;

use chrono::SecondsFormat;
use steward_engine::{At, Engine, Outcome};
use steward_model::{FieldType, Register, Row, Value};
use steward_policy::cases::{CaseRow, CaseValue, load_cases_dir};
use steward_policy::{ParamValue, RecordType};
use steward_rules::Data;

fn text(ty: FieldType, value: &CaseValue) -> String {
    match value {
        CaseValue::String(s) => s.clone(),
        CaseValue::Bool(b) => b.to_string(),
        CaseValue::Int(i) => i.to_string(),
        CaseValue::Double(d) => format!("{d:.2}"),
        CaseValue::Timestamp(t) if ty == FieldType::Date => t.date_naive().to_string(),
        CaseValue::Timestamp(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        CaseValue::List(l) => l.join(";"),
    }
}

fn row(register: Register, case_row: &CaseRow) -> Result<Row, String> {
    let values = register
        .fields()
        .iter()
        .map(|f| match case_row.get(f.name) {
            Some(v) if f.csv => {
                Value::parse(f.ty, &text(f.ty, v)).map_err(|e| format!("{}: {e}", f.name))
            }
            _ => Ok(Value::Null),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Row::new(register, values).map_err(|e| e.to_string())
}

#[test]
fn every_case_of_every_pack_decides_as_expected() {
    // Every pack folder in the repository, built in or not yet: a pack being written is tested too.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packs");
    let mut packs = Vec::new();
    let mut folders: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("pack.toml").is_file())
        .collect();
    folders.sort();
    for folder in folders {
        packs.push(
            steward_policy::load_dir(&folder)
                .unwrap_or_else(|e| panic!("{} loads: {e:#?}", folder.display())),
        );
    }
    for builtin in
        steward_policy::builtin().unwrap_or_else(|e| panic!("built-in packs load: {e:?}"))
    {
        assert!(
            packs.iter().any(|p| p.id == builtin.id),
            "{} has no folder under packs/",
            builtin.id
        );
    }
    // Every check of every pack is tested both ways: a case where it fires, one where it passes.
    let mut untested = Vec::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for pack in &packs {
        let dir = root.join(&pack.id).join("cases");
        let files =
            load_cases_dir(&dir, pack).unwrap_or_else(|e| panic!("{}: cases load: {e:?}", pack.id));
        for control in pack
            .controls()
            .filter(|c| matches!(c.kind, steward_policy::ControlKind::Check(_)))
        {
            let expected: Vec<&str> = files
                .iter()
                .filter(|f| f.control == control.id)
                .flat_map(|f| {
                    f.cases
                        .iter()
                        .flat_map(|c| c.expect.iter().map(|(_, o)| o.as_str()))
                })
                .collect();
            if !expected.contains(&"fires") || !expected.contains(&"passes") {
                untested.push(format!("{}: {}", pack.id, control.id));
            }
        }
        for file in files {
            for case in &file.cases {
                let mut params: Vec<(String, ParamValue)> = pack
                    .parameters
                    .values()
                    .map(|p| (p.name.clone(), p.value.clone()))
                    .collect();
                for (name, value) in &case.params {
                    match params.iter_mut().find(|(n, _)| n == name) {
                        Some(slot) => slot.1 = value.clone(),
                        None => params.push((name.clone(), value.clone())),
                    }
                }
                let engine = match Engine::only(pack, &file.control, params) {
                    Ok(e) => e,
                    Err(e) => {
                        failures.push(format!(
                            "{}: {}: does not compile: {e:?}",
                            file.file, case.name
                        ));
                        continue;
                    }
                };
                let mut bad_rows = Vec::new();
                let data = Data::from_register_rows(|register| {
                    let Some(ty) = RecordType::from_register(register.name()) else {
                        return Vec::new();
                    };
                    case.rows(ty)
                        .iter()
                        .filter_map(|r| row(register, r).map_err(|e| bad_rows.push(e)).ok())
                        .collect()
                });
                if !bad_rows.is_empty() {
                    failures.push(format!(
                        "{}: {}: rows do not parse: {bad_rows:?}",
                        file.file, case.name
                    ));
                    continue;
                }
                let at = At {
                    now: case.now,
                    today: case.now.date_naive(),
                };
                let Some(outcomes) = engine.outcomes(&file.control, &data, at) else {
                    failures.push(format!(
                        "{}: control {} is not a check",
                        file.file, file.control
                    ));
                    continue;
                };
                for (subject, expected) in &case.expect {
                    let got = match outcomes.get(subject) {
                        Some(Outcome::OutOfScope) => "out_of_scope",
                        Some(Outcome::Passes) => "passes",
                        Some(Outcome::Fires | Outcome::Undecided(_)) => "fires",
                        None => "missing",
                    };
                    checked += 1;
                    if got != expected.as_str() {
                        let why = match outcomes.get(subject) {
                            Some(Outcome::Undecided(r)) => format!(" (undecided: {r})"),
                            _ => String::new(),
                        };
                        failures.push(format!(
                            "{}: {}: {subject}: expected {}, got {got}{why}",
                            file.file,
                            case.name,
                            expected.as_str()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        untested.is_empty(),
        "checks without a case that fires and one that passes: {untested:#?}"
    );
    assert!(checked > 100, "only {checked} expectations checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} expectations failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
