//! Mapped files: each fixture under `tests/data/mapped/` is read through its `*.profile.toml` into
//! exactly the records its `*.expected.toml` lists; broken profiles name their key, broken files
//! their line, column and field; previews show what a profile would read; nothing panics.

#[path = "data/support.rs"]
mod support;

use proptest::prelude::*;
use steward_connect::mapped::{self, MappedError, Profile, Target};

fn profile(name: &str) -> Profile {
    let text = support::text(&format!("mapped/{name}.profile.toml"));
    Profile::from_toml(&text).unwrap_or_else(|e| panic!("{name}.profile.toml: {e}"))
}

/// Reads `mapped/{name}.csv` through `mapped/{name}.profile.toml` and compares the listing with
/// `mapped/{name}.expected.toml`.
fn check(name: &str) {
    let path = format!("mapped/{name}.csv");
    let listing = mapped::read(
        &profile(name),
        &format!("{name}.csv"),
        &support::bytes(&path),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    support::compare(name, &listing, &support::expected(&path));
}

#[test]
fn hr_spreadsheet() {
    check("hr");
}

#[test]
fn mobile_bill_with_a_title_above_the_header() {
    check("bill");
}

#[test]
fn mobile_bill_with_semicolons_and_a_fixed_month() {
    check("bill-semicolon");
}

#[test]
fn asset_register() {
    check("devices");
}

#[test]
fn system_accounts() {
    check("accounts");
}

#[test]
fn profiles_round_trip_through_toml_and_json() {
    for name in ["hr", "bill", "bill-semicolon", "devices", "accounts"] {
        let p = profile(name);
        let toml = p.to_toml().unwrap();
        assert_eq!(Profile::from_toml(&toml), Ok(p.clone()), "{name}:\n{toml}");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            serde_json::from_str::<Profile>(&json).ok(),
            Some(p),
            "{name}: {json}"
        );
    }
}

/// A sample cell for each field of each target, by its Rust name.
fn sample(field: &str) -> &'static str {
    match field {
        "email" | "manager_email" | "login" | "person_email" | "holder_email" => {
            "Someone@Example.org"
        }
        "aliases" => "a@example.org; B@example.org",
        "start_date" | "leave_date" | "purchase_date" => "2026-01-31",
        "last_login" | "last_seen" => "2026-01-31T09:30:00Z",
        "active" | "enabled" | "admin" | "mfa" | "service" | "encrypted" | "retired" => "yes",
        "kind" => "Voice Phone",
        "ownership" => "organisation",
        "cost" | "private_cost" => "£1,234.56",
        "month" => "2026-01",
        "data_mb" | "roaming_mb" | "voice_minutes" | "texts" => "1,024",
        _ => "text",
    }
}

#[test]
fn every_field_of_every_target_is_read_into_its_record() {
    for target in Target::ALL {
        let fields: Vec<&str> = target.fields().collect();
        let mut toml = format!("name = \"all\"\ntarget = \"{target}\"\n[columns]\n");
        for f in &fields {
            toml.push_str(&format!("{f} = \"Column {f}\"\n"));
        }
        let profile = Profile::from_toml(&toml).unwrap();
        let header: Vec<String> = fields.iter().map(|f| format!("Column {f}")).collect();
        let cells: Vec<String> = fields
            .iter()
            .map(|f| format!("\"{}\"", sample(f)))
            .collect();
        let file = format!("{}\n{}\n", header.join(","), cells.join(","));
        let listing = mapped::read(&profile, "all.csv", file.as_bytes()).unwrap();
        let rendered = support::render(&listing);
        let records = rendered
            .get(target.name())
            .and_then(|v| v.as_array())
            .unwrap_or_else(|| panic!("{target}: nothing listed"));
        let record = records[0].as_table().unwrap();
        for f in &fields {
            assert!(record.contains_key(*f), "{target}.{f} was not filled");
        }
        assert_eq!(record.len(), fields.len(), "{target}: {record:?}");
    }
}

fn hr_with(edit: impl FnOnce(&mut Profile)) -> Profile {
    let mut p = profile("hr");
    edit(&mut p);
    p
}

#[test]
fn a_missing_column_names_the_profile_key() {
    let p = hr_with(|p| {
        p.columns.insert("leave_date".into(), "Leave Date".into());
    });
    let e = mapped::read(&p, "hr.csv", &support::bytes("mapped/hr.csv")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hr.csv line 1: no column \"Leave Date\" for columns.leave_date; the header has \
         \"Employee Number\", \"Full Name\", \"Work Email\", \"Personal Email\", \"Staff Group\", \
         \"Department\", \"Job Title\", \"Line Manager Email\", \"Start Date\", \"Leaving Date\", \
         \"Status\""
    );
}

#[test]
fn a_bad_cell_names_its_line_column_and_field() {
    let file = "\u{feff}Employee Number,Work Email,Leaving Date,Status\r\n\
                E1,a@example.org,,Current\r\n\
                E2,b@example.org,31/13/2024,Left\r\n";
    let p = Profile::from_toml(
        "name = \"hr\"\ntarget = \"people\"\n\
         [columns]\nemployee_id = \"Employee Number\"\nemail = \"Work Email\"\n\
         leave_date = \"Leaving Date\"\nactive = \"Status\"\n\
         [transforms]\nleave_date = { date = \"%d/%m/%Y\" }\n\
         active = { yes = [\"Current\"], no = [\"Left\"] }\n",
    )
    .unwrap();
    let e = mapped::read(&p, "hr.csv", file.as_bytes()).unwrap_err();
    assert_eq!(
        e,
        MappedError::Cell {
            file: "hr.csv".into(),
            line: 3,
            column: "Leaving Date".into(),
            field: "leave_date".into(),
            reason: "not a date: \"31/13/2024\" (expected %d/%m/%Y)".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        "hr.csv line 3, column \"Leaving Date\" (leave_date): not a date: \"31/13/2024\" \
         (expected %d/%m/%Y)"
    );
}

#[test]
fn bad_cells_fail_the_whole_file() {
    let hr = support::text("mapped/hr.csv");
    let cases: &[(&str, &str, &str)] = &[
        (
            ",Current\r\n",
            ",Retired\r\n",
            "hr.csv line 2, column \"Status\" (active): neither a yes nor a no word: \"Retired\" (yes: Current, Active; no: Left)",
        ),
        (
            "E1002,",
            ",",
            "hr.csv line 3, column \"Employee Number\" (employee_id): empty, but every line needs one: employee_id identifies each line",
        ),
        (
            "E1004,",
            "E1001,",
            "hr.csv line 6: the same employee_id as line 2: \"E1001\"; a file lists each once",
        ),
        (
            "Ben Hughes,ben.hughes@example.org.uk,",
            "Ben Hughes,ben.hughes at example,",
            "hr.csv line 3, column \"Work Email\" (email): not an e-mail address: \"ben.hughes at example\"",
        ),
        (
            ",Volunteer Co-ordinator,",
            ",Volunteer Co-ordinator,,",
            "hr.csv line 6: found 12 cells where the header has 11",
        ),
    ];
    for (from, to, message) in cases {
        assert!(hr.contains(from), "{from}");
        let file = hr.replacen(from, to, 1);
        let e = mapped::read(&profile("hr"), "hr.csv", file.as_bytes()).unwrap_err();
        assert_eq!(&e.to_string(), message);
    }
    // Without a date format, a spreadsheet's day-first date is not guessed at.
    let p = hr_with(|p| {
        p.transforms.remove("start_date");
    });
    let e = mapped::read(&p, "hr.csv", hr.as_bytes()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hr.csv line 2, column \"Start Date\" (start_date): not a date: \"03/04/2019\" \
         (expected YYYY-MM-DD, or give the file's format in [transforms])"
    );
    // Without a scale, gigabytes with decimals are not whole megabytes.
    let bill = profile("bill");
    let mut p = bill.clone();
    p.transforms.remove("data_mb");
    let e = mapped::read(&p, "bill.csv", &support::bytes("mapped/bill.csv")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bill.csv line 4, column \"Data (GB)\" (data_mb): not a whole number: \"1.5\" \
         (a scale transform reads decimals)"
    );
}

/// A profile that must not load, and the message it fails with.
fn refused(toml: &str, message: &str) {
    match Profile::from_toml(toml) {
        Ok(p) => panic!("loaded {p:?}, expected: {message}"),
        Err(e) => assert_eq!(e.to_string(), message, "{toml}"),
    }
}

#[test]
fn bad_profiles_name_their_key() {
    let people = "name = \"hr\"\ntarget = \"people\"\n";
    let cases: &[(&str, &str)] = &[
        (
            "[columns]\nemial = \"Email\"\n",
            "profile \"hr\", columns.emial: not a field of people; its fields are source_id, email, aliases, name, employee_id, staff_group, department, job_title, manager_email, manager_source_id, start_date, leave_date, active",
        ),
        (
            "[columns]\nemail = \"Email\"\nleave_date = \"Left\"\n[transforms]\nleave_date = { scale = 2 }\n",
            "profile \"hr\", transforms.leave_date: a scale transform does not fit leave_date, which is a date",
        ),
        (
            "[columns]\nemail = \"Email\"\n[transforms]\nemail = { money = \"pounds\" }\n",
            "profile \"hr\", transforms.email: a money transform does not fit email, which is an e-mail address",
        ),
        (
            "[columns]\nemail = \"Email\"\n[transforms]\nactive = { yes = [\"Y\"] }\n",
            "profile \"hr\", transforms.active: no column is mapped to active",
        ),
        (
            "[columns]\nemail = \"Email\"\nactive = \"Status\"\n[transforms]\nactive = { yes = [\"Y\"], no = [\"y\"] }\n",
            "profile \"hr\", transforms.active: \"Y\" is both a yes and a no word",
        ),
        (
            "[columns]\nemail = \"Email\"\nactive = \"Status\"\n[transforms]\nactive = { yes = [\"Y\"], date = \"%Y\" }\n",
            "profile \"hr\", transforms.active: give exactly one of date, yes/no, scale or money",
        ),
        (
            "[columns]\nemail = \"Email\"\nstart_date = \"Start\"\n[transforms]\nstart_date = { date = \"%d/%m/%Q\" }\n",
            "profile \"hr\", transforms.start_date: \"%d/%m/%Q\" is not a date format such as \"%d/%m/%Y\"",
        ),
        (
            "[columns]\nemail = \"Email\"\nactive = \"Status\"\n[values]\nactive = { Current = \"sometimes\" }\n",
            "profile \"hr\", values.active: \"Current\" maps to \"sometimes\": not true/false or yes/no: \"sometimes\"",
        ),
        (
            "[columns]\nemail = \"Email\"\n[values]\nstaff_group = { A = \"a\" }\n",
            "profile \"hr\", values.staff_group: no column is mapped to staff_group",
        ),
        (
            "[columns]\nname = \"Name\"\n",
            "profile \"hr\", columns: a people profile maps source_id, employee_id or email to identify each line",
        ),
        (
            "month = \"2026-11\"\n[columns]\nemail = \"Email\"\n",
            "profile \"hr\", month: only a usage profile fixes a month",
        ),
        (
            "delimiter = \"a\"\n[columns]\nemail = \"Email\"\n",
            "profile \"hr\", delimiter: 'a' cannot separate cells; give one ASCII character such as \",\"",
        ),
        (
            "header_row = 0\n[columns]\nemail = \"Email\"\n",
            "profile \"hr\", header_row: lines are counted from 1",
        ),
        (
            "[columns]\nemail = \"  \"\n",
            "profile \"hr\", columns.email: names no column",
        ),
    ];
    for (rest, message) in cases {
        refused(&format!("{people}{rest}"), message);
    }
    let usage = "name = \"bill\"\ntarget = \"usage\"\n";
    refused(
        &format!("{usage}[columns]\nphone_number = \"CTN\"\n"),
        "profile \"bill\", month: a usage profile maps a month column or fixes the month (month = \"2026-11\")",
    );
    refused(
        &format!("{usage}month = \"2026-13\"\n[columns]\nphone_number = \"CTN\"\n"),
        "profile \"bill\", month: \"2026-13\": no such month: expected 01 to 12",
    );
    refused(
        &format!(
            "{usage}month = \"2026-11\"\n[columns]\nmonth = \"Date\"\nphone_number = \"CTN\"\n"
        ),
        "profile \"bill\", month: fixed here and mapped to a column too; keep one",
    );
    refused(
        "name = \"devices\"\ntarget = \"devices\"\n[columns]\nkind = \"Type\"\nasset_tag = \"Tag\"\n\
         [values]\nkind = { Mobile = \"phone\" }\n",
        "profile \"devices\", values.kind: \"Mobile\" maps to \"phone\": not a kind of asset: \"phone\" \
         (expected one of laptop|smartphone|voice_phone|tablet|sim|usb_stick|external_drive|memory_card|optical_disc|peripheral|accessory)",
    );
    refused(
        "name = \"a\"\ntarget = \"accounts\"\n[columns]\nsource_id = \"Id\"\n",
        "profile \"a\", columns: an accounts profile maps login",
    );
}

#[test]
fn profile_syntax_errors_give_the_line() {
    refused(
        "name = \"hr\"\ntarget = \"people\"\ndelimter = \";\"\n",
        "profile: line 3: unknown field `delimter`, expected one of `name`, `target`, `delimiter`, \
         `header_row`, `month`, `complete`, `columns`, `transforms`, `values`",
    );
    let e = Profile::from_toml("name = \"hr\"\ntarget = \"people\"\n[columns]\nemail = \"Work\n")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("profile: line 4: "), "{e}");
    assert!(!e.contains('\n'), "{e}");
    refused(
        "name = \"hr\"\ntarget = \"staff\"\n",
        "profile: line 2: unknown variant `staff`, expected one of `people`, `accounts`, `devices`, `usage`",
    );
}

#[test]
fn preview_without_a_profile_shows_the_first_lines() {
    let preview = mapped::preview(None, &support::bytes("mapped/hr.csv"), 2);
    assert_eq!(preview.headers.len(), 11);
    assert_eq!(preview.headers[0], "Employee Number");
    assert_eq!(preview.rows.len(), 2);
    assert_eq!(preview.rows[0][1], "Okafor, Amara");
    assert_eq!(preview.rows[1][0], "E1002");
    assert_eq!(preview.mapped, None);
    assert_eq!(preview.error, None);
}

#[test]
fn preview_with_a_profile_maps_each_line() {
    let bill = support::bytes("mapped/bill.csv");
    let preview = mapped::preview(Some(&profile("bill")), &bill, 5);
    assert_eq!(
        preview.headers[0], "Mobile Number",
        "the header is on line 3"
    );
    assert_eq!(preview.rows.len(), 3);
    let mapped = preview.mapped.expect("the profile fits");
    assert_eq!(mapped.len(), 3);
    assert_eq!(mapped[0].line, 4);
    assert_eq!(mapped[0].error, None);
    let fields: Vec<(&str, &str)> = mapped[0]
        .fields
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("month", "2026-11"),
            ("phone_number", "+447700900123"),
            ("data_mb", "1536"),
            ("roaming_mb", "0"),
            ("voice_minutes", "1204"),
            ("texts", "37"),
            ("private_cost", "12.50"),
        ]
    );
    assert_eq!(mapped[2].fields[2], ("data_mb".to_string(), String::new()));

    // A line that does not read is shown with its error; the others still map.
    let broken = String::from_utf8(bill).unwrap().replace("0.25", "lots");
    let preview = mapped::preview(Some(&profile("bill")), broken.as_bytes(), 5);
    let mapped = preview.mapped.unwrap();
    assert_eq!(mapped[0].error, None);
    assert_eq!(
        mapped[1].error.as_ref().map(ToString::to_string).as_deref(),
        Some("preview line 5, column \"Data (GB)\" (data_mb): not a number: \"lots\"")
    );
    assert!(mapped[1].fields.is_empty());
    assert_eq!(mapped[2].error, None);
}

#[test]
fn preview_says_why_a_profile_does_not_fit() {
    let preview = mapped::preview(Some(&profile("hr")), &support::bytes("mapped/bill.csv"), 5);
    assert_eq!(preview.mapped, None);
    assert!(
        matches!(&preview.error, Some(MappedError::MissingColumn { key, .. }) if key == "columns.email"),
        "{:?}",
        preview.error
    );
    let preview = mapped::preview(None, b"\xFF\xFEa\x00", 5);
    assert!(preview.headers.is_empty());
    assert_eq!(
        preview.error.map(|e| e.to_string()).as_deref(),
        Some("preview line 1: the file is UTF-16; save it as CSV UTF-8")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_bytes_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), rows in 0usize..5) {
        for name in ["hr", "bill", "devices"] {
            let p = profile(name);
            if let Err(e) = mapped::read(&p, "fuzz.csv", &bytes) {
                prop_assert!(!e.to_string().contains('\n'), "{e}");
            }
            let preview = mapped::preview(Some(&p), &bytes, rows);
            prop_assert!(preview.rows.len() <= rows);
        }
    }

    #[test]
    fn no_cells_panic(cells in proptest::collection::vec("\\PC{0,10}|[0-9.,£/: -]{0,12}", 11)) {
        let header = "Employee Number,Full Name,Work Email,Personal Email,Staff Group,Department,\
                      Job Title,Line Manager Email,Start Date,Leaving Date,Status";
        let row: Vec<String> = cells.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
        let file = format!("{header}\n{}\n", row.join(","));
        match mapped::read(&profile("hr"), "fuzz.csv", file.as_bytes()) {
            Ok(listing) => prop_assert!(listing.people.len() <= 1),
            Err(e) => prop_assert!(!e.to_string().contains('\n'), "{e}"),
        }
    }
}
