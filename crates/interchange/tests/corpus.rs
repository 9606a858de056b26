//! Data-driven tests over `tests/corpus/`.
//!
//! Each case is an input `NAME.REGISTER.csv` (REGISTER as `Register::parse` reads it) and one of:
//!
//! * `NAME.expected`: the exact error lines `read` must report, one per line;
//! * `NAME.ok`: the file must parse, and `write` then `read` must give back the same rows. When
//!   NAME starts with `canonical-`, the file is in canonical form and `write` must also reproduce
//!   it byte for byte.
//!
//! Run with `UPDATE_EXPECT=1` to (re)write `.expected` and `.ok` files from what `read` does now,
//! then review the diff.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use steward_interchange::{read, write};
use steward_model::{Register, Row};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1")
}

struct Case {
    name: String,
    register: Register,
    file: String,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let mut files: Vec<String> = fs::read_dir(corpus_dir())
        .expect("read the corpus directory")
        .map(|entry| {
            entry
                .expect("read a corpus entry")
                .file_name()
                .into_string()
                .expect("UTF-8 file name")
        })
        .filter(|name| name.ends_with(".csv"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let stem = file.strip_suffix(".csv").unwrap_or(&file);
            let (name, register) = stem
                .rsplit_once('.')
                .unwrap_or_else(|| panic!("{file}: expected NAME.REGISTER.csv"));
            let register = Register::parse(register)
                .unwrap_or_else(|| panic!("{file}: no register called {register}"));
            let bytes = fs::read(corpus_dir().join(&file)).expect("read a corpus file");
            Case {
                name: name.to_owned(),
                register,
                file,
                bytes,
            }
        })
        .collect()
}

fn round_trip(register: Register, rows: &[Row]) -> Result<(Vec<u8>, Vec<Row>), String> {
    let mut written = Vec::new();
    write(register, rows, &mut written).map_err(|e| format!("write failed: {e}"))?;
    let again = read(register, "written.csv", written.as_slice()).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!(
            "reading back what was written failed:\n{}\n--- written:\n{}",
            lines.join("\n"),
            String::from_utf8_lossy(&written)
        )
    })?;
    Ok((written, again.into_iter().map(|p| p.row).collect()))
}

#[test]
fn corpus() {
    let update = updating();
    let cases = cases();
    let mut failures = Vec::new();
    let mut names = BTreeSet::new();

    for case in &cases {
        assert!(
            names.insert(case.name.clone()),
            "two corpus files share the case name {}",
            case.name
        );
        let expected_path = corpus_dir().join(format!("{}.expected", case.name));
        let ok_path = corpus_dir().join(format!("{}.ok", case.name));
        let result = read(case.register, &case.file, case.bytes.as_slice());
        let actual = match &result {
            Ok(_) => None,
            Err(errors) => Some(errors.iter().map(|e| format!("{e}\n")).collect::<String>()),
        };

        if update {
            match &actual {
                None => {
                    fs::write(&ok_path, "").expect("write .ok");
                    let _ = fs::remove_file(&expected_path);
                }
                Some(text) => {
                    fs::write(&expected_path, text).expect("write .expected");
                    let _ = fs::remove_file(&ok_path);
                }
            }
        }

        let expected = fs::read_to_string(&expected_path).ok();
        let ok = ok_path.exists();
        match (ok, &expected, &actual, &result) {
            (true, Some(_), _, _) => {
                failures.push(format!("{}: has both .ok and .expected", case.file))
            }
            (false, None, _, _) => failures.push(format!(
                "{}: has neither .ok nor .expected (run with UPDATE_EXPECT=1)",
                case.file
            )),
            (true, None, Some(actual), _) => {
                failures.push(format!("{}: expected to parse, but:\n{actual}", case.file));
            }
            (false, Some(expected), None, _) => {
                failures.push(format!(
                    "{}: expected errors, but it parsed:\n{expected}",
                    case.file
                ));
            }
            (false, Some(expected), Some(actual), _) => {
                if expected != actual {
                    failures.push(format!(
                        "{}: errors differ\n--- expected:\n{expected}--- actual:\n{actual}",
                        case.file
                    ));
                }
            }
            (true, None, None, Ok(parsed)) => {
                let rows: Vec<Row> = parsed.iter().map(|p| p.row.clone()).collect();
                match round_trip(case.register, &rows) {
                    Err(e) => failures.push(format!("{}: {e}", case.file)),
                    Ok((written, again)) => {
                        if again != rows {
                            failures
                                .push(format!("{}: rows differ after write and read", case.file));
                        }
                        if case.name.starts_with("canonical-") && written != case.bytes {
                            failures.push(format!(
                                "{}: write does not reproduce the canonical file\n--- file:\n{}--- written:\n{}",
                                case.file,
                                String::from_utf8_lossy(&case.bytes),
                                String::from_utf8_lossy(&written)
                            ));
                        }
                    }
                }
            }
            (true, None, None, Err(_)) => unreachable!("actual is None only when read succeeded"),
        }
    }

    // Every .ok and .expected belongs to a case.
    for entry in fs::read_dir(corpus_dir()).expect("read the corpus directory") {
        let file = entry
            .expect("read a corpus entry")
            .file_name()
            .into_string()
            .expect("UTF-8 file name");
        let stem = file
            .strip_suffix(".ok")
            .or_else(|| file.strip_suffix(".expected"));
        if stem.is_some_and(|stem| !names.contains(stem)) {
            failures.push(format!("{file}: no NAME.REGISTER.csv for it"));
        }
    }

    assert!(
        failures.is_empty(),
        "{} corpus failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_covers_every_register() {
    let cases = cases();
    for register in Register::ALL {
        let canonical = cases
            .iter()
            .any(|c| c.register == register && c.name.starts_with("canonical-"));
        assert!(canonical, "no canonical-*.{register}.csv in the corpus");
    }
}

#[test]
fn good_files_read_the_same_rows_as_their_canonical_form() {
    // The shuffled, BOM and CRLF files hold the same people as far as they overlap: spot-check
    // that column order does not leak into the rows.
    let dir = corpus_dir();
    let read_file = |file: &str, register| {
        let bytes = fs::read(dir.join(file)).expect("read a corpus file");
        read(register, file, bytes.as_slice()).unwrap_or_else(|e| panic!("{file}: {e:?}"))
    };
    let canonical = read_file("canonical-people.people.csv", Register::People);
    let shuffled = read_file("people-shuffled.people.csv", Register::People);
    let first =
        |rows: &[steward_interchange::ParsedRow], field: &str| rows[0].row.get(field).cloned();
    for field in [
        "id",
        "staff_group",
        "status",
        "start_date",
        "budget_centre",
        "clearance",
        "clearance_expires",
        "email",
    ] {
        assert_eq!(first(&canonical, field), first(&shuffled, field), "{field}");
    }
    assert_eq!(
        shuffled[0].row.get("name").and_then(|v| v.as_text()),
        Some("Lovelace, Ada \"Countess\"")
    );
    assert_eq!(
        shuffled[1].row.get("name").and_then(|v| v.as_text()),
        Some("Charles Babbage")
    );
    assert_eq!((shuffled[0].line, shuffled[1].line), (2, 3));

    let crlf = read_file("people-bom-crlf.people.csv", Register::People);
    assert_eq!(
        crlf[0].row.id(),
        "P001",
        "the BOM is not part of the first header name"
    );
    assert_eq!(
        crlf[0].row.get("name").and_then(|v| v.as_text()),
        Some("Ada, Countess of Lovelace")
    );
    assert_eq!(
        crlf[1].row.get("start_date"),
        Some(&steward_model::Value::Null)
    );
    assert_eq!(
        crlf[1].row.get("byod"),
        Some(&steward_model::Value::Null),
        "absent optional column is unknown"
    );

    let blank = read_file("blank-lines.systems.csv", Register::Systems);
    assert_eq!(blank.iter().map(|p| p.line).collect::<Vec<_>>(), vec![5, 8]);
}
