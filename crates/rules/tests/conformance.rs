//! The rule language against the CEL specification's conformance cases, in the subset it has:
//! every case in `conformance/*.toml` evaluates as the specification says, or is refused when
//! the rule is loaded — never a different value, never a panic.

use std::path::Path;

use serde::Deserialize;
use steward_rules::{Data, Kind, compile};

#[derive(Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    section: String,
    expr: String,
    expect: String,
}

#[test]
fn pure_expressions_agree_with_the_cel_specification() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    // One subject for the expressions to be evaluated against; none of them reads it.
    let data = Data::from_register_rows(|register| {
        if register == steward_model::Register::Systems {
            vec![
                steward_model::Row::new(
                    register,
                    register
                        .fields()
                        .iter()
                        .map(|f| match f.name {
                            "name" => steward_model::Value::Text("m365".into()),
                            _ => steward_model::Value::Null,
                        })
                        .collect(),
                )
                .unwrap_or_else(|e| panic!("{e}")),
            ]
        } else {
            Vec::new()
        }
    });
    let kind = Kind::parse("system").unwrap_or_else(|| panic!("system is a kind"));
    let now = 1_234_567_890_000_000;
    let mut failures = Vec::new();
    let mut run = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
        let file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in file.case {
            run += 1;
            let got = std::panic::catch_unwind(|| match compile(&case.expr, kind, &[]) {
                Err(_) => "refused".to_owned(),
                Ok(p) => match p.evaluate(&data, 0, now, now) {
                    Ok(b) => b.to_string(),
                    Err(_) => "error".to_owned(),
                },
            })
            .unwrap_or_else(|_| "panic".to_owned());
            if got != case.expect {
                failures.push(format!(
                    "{}: {}: expected {}, got {got}",
                    case.section, case.expr, case.expect
                ));
            }
        }
    }
    assert!(run > 50, "only {run} cases");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
