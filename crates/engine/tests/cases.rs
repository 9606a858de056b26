//! Every built-in pack's test cases, and the control library's, run through the engine: each subject's outcome under the
//! control must be what the case file expects — fires, passes, or out of scope — and every
//! finding said to the person it concerns reads whole.

use std::path::{Path, PathBuf};

use chrono::SecondsFormat;
use steward_engine::{At, Engine, Outcome};
use steward_model::{FieldType, Register, Row, Value};
use steward_policy::cases::{Case, CaseRow, CaseValue, load_cases_dir};
use steward_policy::{Check, ControlKind, Pack, ParamValue, RecordType, WhoActs};
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

/// Every pack folder in the repository, built in or not yet: a pack being written is tested too.
fn packs() -> (PathBuf, Vec<Pack>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packs");
    let mut packs = Vec::new();
    let mut folders: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("pack.toml").is_file())
        .collect();
    folders.sort();
    // The control library is read as a pack and its controls tested as every pack's are.
    folders.push(root.join("../library"));
    for folder in folders {
        packs.push(
            steward_policy::load_dir(&folder)
                .unwrap_or_else(|e| panic!("{} loads: {e:#?}", folder.display())),
        );
    }
    (root, packs)
}

/// Where a pack's cases are: its folder under `packs/`, or the control library's.
fn cases_dir(root: &Path, pack: &Pack) -> PathBuf {
    if pack.id == steward_policy::library::LIBRARY_ID {
        root.join("../library/cases")
    } else {
        root.join(&pack.id).join("cases")
    }
}

/// The pack's parameters as a case sets them.
fn case_params(pack: &Pack, case: &Case) -> Vec<(String, ParamValue)> {
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
    params
}

/// A case's estate as the engine reads it, or the rows that do not parse.
fn case_data(case: &Case) -> Result<Data, Vec<String>> {
    let mut bad_rows = Vec::new();
    let mut data = Data::from_register_rows(|register| {
        let Some(ty) = RecordType::from_register(register.name()) else {
            return Vec::new();
        };
        case.rows(ty)
            .iter()
            .filter_map(|r| row(register, r).map_err(|e| bad_rows.push(e)).ok())
            .collect()
    });
    data.set_holidays(
        steward_calendar::Calendar::shipped()
            .holidays()
            .map(|h| h.date),
    );
    if bad_rows.is_empty() {
        Ok(data)
    } else {
        Err(bad_rows)
    }
}

#[test]
fn every_case_of_every_pack_decides_as_expected() {
    let (root, packs) = packs();
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
        let dir = cases_dir(&root, pack);
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
                let engine = match Engine::only(pack, &file.control, case_params(pack, case)) {
                    Ok(e) => e,
                    Err(e) => {
                        failures.push(format!(
                            "{}: {}: does not compile: {e:?}",
                            file.file, case.name
                        ));
                        continue;
                    }
                };
                let data = match case_data(case) {
                    Ok(data) => data,
                    Err(bad_rows) => {
                        failures.push(format!(
                            "{}: {}: rows do not parse: {bad_rows:?}",
                            file.file, case.name
                        ));
                        continue;
                    }
                };
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

/// Every finding the packs' own cases make: each with where it came from (`file: case`) and the
/// control's check. Cases that do not compile or parse are left to the test that reports them.
fn case_findings() -> Vec<(String, Check, steward_model::Finding)> {
    let (root, packs) = packs();
    let mut out = Vec::new();
    for pack in &packs {
        let dir = cases_dir(&root, pack);
        let files =
            load_cases_dir(&dir, pack).unwrap_or_else(|e| panic!("{}: cases load: {e:?}", pack.id));
        for file in &files {
            let Some(ControlKind::Check(check)) = pack.control(&file.control).map(|c| &c.kind)
            else {
                continue;
            };
            for case in &file.cases {
                let (Ok(engine), Ok(data)) = (
                    Engine::only(pack, &file.control, case_params(pack, case)),
                    case_data(case),
                ) else {
                    continue;
                };
                let at = At {
                    now: case.now,
                    today: case.now.date_naive(),
                };
                for finding in engine.evaluate(&data, at) {
                    out.push((
                        format!("{}: {}", file.file, case.name),
                        check.clone(),
                        finding,
                    ));
                }
            }
        }
    }
    out
}

/// A person's own page speaks to them: every check a person acts on has a second-person message
/// (so a new control cannot forget one), and every second-person message, filled in on the pack's
/// own cases, leaves no placeholder behind and speaks to "you".
#[test]
fn every_person_check_speaks_to_the_person_on_every_case() {
    let (_, packs) = packs();
    let missing: Vec<String> = packs
        .iter()
        .flat_map(|pack| {
            pack.controls().filter_map(|control| match &control.kind {
                ControlKind::Check(check)
                    if control.who_acts == WhoActs::Person && check.message_you.is_none() =>
                {
                    Some(format!("{}: {}", pack.id, control.id))
                }
                _ => None,
            })
        })
        .collect();
    let mut failures = Vec::new();
    let mut rendered = 0;
    for (origin, _, finding) in case_findings() {
        let Some(you) = &finding.message_you else {
            continue;
        };
        rendered += 1;
        let words: Vec<String> = you
            .split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .collect();
        if you.contains(['{', '}'])
            || !words.iter().any(|w| w == "you" || w == "your")
            || you == &finding.message
        {
            failures.push(format!("{origin}: {}: {you:?}", finding.subject.id));
        }
    }
    assert!(
        missing.is_empty(),
        "checks a person acts on without `message_you`: {missing:#?}"
    );
    assert!(
        rendered > 30,
        "only {rendered} second-person messages rendered"
    );
    assert!(
        failures.is_empty(),
        "second-person messages that do not read whole:\n{}",
        failures.join("\n")
    );
}

/// No finding prints an empty placeholder: every message and second-person message, filled in
/// for each subject the pack's cases make fire (with and without their optional relations),
/// reads whole — no "held by  ()", no dangling comma or full stop where a value was missing.
#[test]
fn no_message_prints_an_empty_placeholder_on_any_case() {
    let gaps = [
        "  ", "()", "( ", " )", " ,", " .", " ;", ": ,", ": .", "''", "\"\"",
    ];
    let mut failures = Vec::new();
    let mut rendered = 0;
    for (origin, check, finding) in case_findings() {
        let templates = format!(
            "{} {}",
            check.message,
            check.message_you.as_deref().unwrap_or("")
        );
        for text in std::iter::once(&finding.message).chain(&finding.message_you) {
            rendered += 1;
            let trimmed = text.trim_end();
            // A value the message gives no words for (`{path|words}`) shows as the engine's
            // stand-in: the message should say what its absence means.
            let stand_in = text.contains(steward_engine::NOT_RECORDED)
                && !templates.contains(steward_engine::NOT_RECORDED);
            if gaps.iter().any(|g| text.contains(g))
                || trimmed.ends_with(['(', ',', ':'])
                || trimmed != text
                || stand_in
            {
                failures.push(format!("{origin}: {}: {text:?}", finding.subject.id));
            }
        }
    }
    assert!(rendered > 200, "only {rendered} messages rendered");
    assert!(
        failures.is_empty(),
        "messages with an empty placeholder ({}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
