//! The public API's edges that the corpus does not reach: the error cap, read failures, and
//! `write`'s output and refusals.

use std::io;

use steward_interchange::{CsvError, MAX_ERRORS, WriteError, read, write};
use steward_model::{Register, Row, Value};

fn lines(errors: &[CsvError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn errors_are_capped_with_a_count_of_the_rest() {
    let mut text = String::from("name,key_system\n");
    for i in 0..1200 {
        text.push_str(&format!("s{i},maybe\n"));
    }
    let errors = read(Register::Systems, "systems.csv", text.as_bytes()).unwrap_err();
    assert_eq!(errors.len(), MAX_ERRORS + 1);
    assert_eq!(errors[MAX_ERRORS - 1].line, 1001);
    let last = &errors[MAX_ERRORS];
    assert_eq!(
        last.to_string(),
        "systems.csv:1002: : : 200 more errors not shown, from this line on (only the first 1000 are listed)"
    );
}

#[test]
fn exactly_the_cap_needs_no_summary() {
    let mut text = String::from("name,key_system\n");
    for i in 0..MAX_ERRORS {
        text.push_str(&format!("s{i},maybe\n"));
    }
    let errors = read(Register::Systems, "systems.csv", text.as_bytes()).unwrap_err();
    assert_eq!(errors.len(), MAX_ERRORS);
}

struct Failing {
    given: bool,
}

impl io::Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.given {
            return Err(io::Error::other("disk on fire"));
        }
        self.given = true;
        let text = b"name,key_system\nfinance,true\n";
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text[..n]);
        Ok(n)
    }
}

#[test]
fn a_read_failure_is_an_error_not_a_panic() {
    let errors = read(Register::Systems, "systems.csv", Failing { given: false }).unwrap_err();
    assert_eq!(
        lines(&errors),
        ["systems.csv:3: : : could not read the file: disk on fire"]
    );
}

#[test]
fn utf16_little_endian_after_nothing_and_after_a_bom_is_named() {
    for bytes in [
        &b"\xFF\xFEi\0d\0"[..],
        b"\xFE\xFF\0i\0d",
        b"\xEF\xBB\xBF\xFF\xFEi\0",
    ] {
        let errors = read(Register::People, "people.csv", bytes).unwrap_err();
        assert_eq!(
            lines(&errors),
            ["people.csv:1: : : the file is UTF-16; save it as CSV UTF-8"]
        );
    }
}

#[test]
fn rows_come_back_in_field_order_with_absent_columns_unknown() {
    let text = "status,name,staff_group,id\nactive,Ada,fca,P1\n";
    let rows = read(Register::People, "people.csv", text.as_bytes()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, 2);
    let row = &rows[0].row;
    assert_eq!(row.register(), Register::People);
    assert_eq!(row.values().len(), Register::People.fields().len());
    assert_eq!(row.id(), "P1");
    assert_eq!(row.get("status"), Some(&Value::Text("active".into())));
    assert_eq!(row.get("email"), Some(&Value::Null));
    assert_eq!(row.get("byod"), Some(&Value::Null));
}

#[test]
fn a_file_name_is_shown_as_given() {
    let errors = read(
        Register::Systems,
        "../exports/Systems (2).csv",
        &b"name\nfin ance\n"[..],
    )
    .unwrap_err();
    assert_eq!(
        lines(&errors),
        ["../exports/Systems (2).csv:2: name: fin ance: an identifier has no spaces"]
    );
}

#[test]
fn write_uses_field_order_lf_and_quotes_only_where_needed() {
    let text = "name,code\r\n\"Admin\",BC1\r\n\"a,b\",BC2\r\n\"say \"\"hi\"\"\",BC3\r\n";
    let rows: Vec<Row> = read(
        Register::BudgetCentres,
        "budget_centres.csv",
        text.as_bytes(),
    )
    .unwrap()
    .into_iter()
    .map(|p| p.row)
    .collect();
    let mut out = Vec::new();
    write(Register::BudgetCentres, &rows, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "code,name\nBC1,Admin\nBC2,\"a,b\"\nBC3,\"say \"\"hi\"\"\"\n"
    );

    let text = "supports_mfa,name\ntrue,crm\n";
    let rows: Vec<Row> = read(Register::Systems, "systems.csv", text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|p| p.row)
        .collect();
    let mut out = Vec::new();
    write(Register::Systems, &rows, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "name,key_system,supports_mfa,restricted\ncrm,,true,\n"
    );
}

#[test]
fn write_with_no_rows_writes_the_header() {
    let mut out = Vec::new();
    write(Register::BudgetCentres, &[], &mut out).unwrap();
    assert_eq!(out, b"code,name\n");
}

#[test]
fn write_refuses_rows_of_another_register_and_writes_nothing() {
    let system = Row::new(
        Register::Systems,
        vec![
            Value::Text("crm".into()),
            Value::Null,
            Value::Null,
            Value::Null,
        ],
    )
    .unwrap();
    let ok = Row::new(
        Register::People,
        Register::People
            .fields()
            .iter()
            .map(|_| Value::Null)
            .collect(),
    )
    .unwrap();
    let mut out = Vec::new();
    let err = write(Register::People, &[ok, system], &mut out).unwrap_err();
    assert!(
        matches!(err, WriteError::WrongRegister { index: 1, .. }),
        "{err}"
    );
    assert!(out.is_empty());
    // A row of the wrong width cannot be built at all.
    assert!(Row::new(Register::Systems, vec![Value::Text("crm".into())]).is_err());
}

#[test]
fn a_derived_key_is_filled_on_reading_and_left_out_on_writing() {
    let text = "asset_tag,month,data_mb\nMOB1,2026-10,5000\nMOB1,2026-11,12\n";
    let rows: Vec<Row> = read(Register::Usage, "usage.csv", text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|p| p.row)
        .collect();
    assert_eq!(rows[0].id(), "2026-10/MOB1");
    assert_eq!(
        rows[0].get("key"),
        Some(&Value::Text("2026-10/MOB1".into()))
    );
    assert_eq!(rows[1].id(), "2026-11/MOB1");
    let mut out = Vec::new();
    write(Register::Usage, &rows, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "month,asset_tag,data_mb,roaming_mb,voice_minutes,texts,private_cost_gbp\n\
         2026-10,MOB1,5000,,,,\n\
         2026-11,MOB1,12,,,,\n"
    );
}

#[test]
fn a_derived_key_is_no_column_and_duplicates_are_named_by_their_key() {
    let text = "key,month,asset_tag,data_mb\nX,2026-10,MOB1,1\n";
    let errors = read(Register::Usage, "usage.csv", text.as_bytes()).unwrap_err();
    assert_eq!(
        lines(&errors),
        [
            "usage.csv:1: key: : unknown column (key is derived from month,asset_tag, not a column); \
             expected one of month,asset_tag,data_mb,roaming_mb,voice_minutes,texts,private_cost_gbp"
        ]
    );
    let text = "month,asset_tag,data_mb\n2026-10,MOB1,1\n2026-11,MOB1,1\n2026-10, MOB1 ,2\n2026-1,MOB1,2\n";
    let errors = read(Register::Usage, "usage.csv", text.as_bytes()).unwrap_err();
    assert_eq!(
        lines(&errors),
        [
            "usage.csv:4: month: 2026-10: duplicate key 2026-10/MOB1: first seen on line 2",
            "usage.csv:5: month: 2026-1: expected a month as YYYY-MM",
        ]
    );
}

struct Full;

impl io::Write for Full {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_write_failure_is_an_error() {
    let row = Row::new(
        Register::Systems,
        vec![
            Value::Text("crm".into()),
            Value::Null,
            Value::Null,
            Value::Null,
        ],
    )
    .unwrap();
    let err = write(Register::Systems, &[row], Full).unwrap_err();
    assert!(err.to_string().contains("no space left"), "{err}");
}

/// Bytes that are not UTF-8 are named in the cell they are in, beside the row's other errors,
/// and do not spoil the rows around them (read whole, each row is cut into cells from one check
/// of its bytes).
#[test]
fn a_cell_that_is_not_utf8_is_named_on_its_own() {
    let header: &[u8] = b"id,name,staff_group,status\n";
    let good: &[u8] = b"P1,S\xc3\xa9,fca,active\nP2,\"Quoted, \xc3\xa9\",fca,active\n";
    let bad: &[u8] = b"P\xc3,bad\xff\xfename,fca,maybe\n";
    let text = [header, good, bad].concat();
    let errors = read(Register::People, "people.csv", text.as_slice()).unwrap_err();
    assert_eq!(
        lines(&errors),
        [
            "people.csv:4: id: P\u{fffd}: not valid UTF-8",
            "people.csv:4: name: bad\u{fffd}\u{fffd}name: not valid UTF-8",
            "people.csv:4: status: maybe: expected one of starter|active|absent|leaver",
        ]
    );
    // Without the bad row, the others read as written.
    let text = [header, good].concat();
    let rows = read(Register::People, "people.csv", text.as_slice()).expect("reads");
    let names: Vec<&Value> = rows.iter().filter_map(|r| r.row.get("name")).collect();
    assert_eq!(
        names,
        [&Value::Text("Sé".into()), &Value::Text("Quoted, é".into())]
    );
}
