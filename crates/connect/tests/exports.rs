//! The portals' exports: each fixture under `tests/data/exports/` — written in the vendor's own
//! layout — is recognised and read into exactly the records its `*.expected.toml` lists; broken
//! files fail with the file, line, column and reason; no input panics.

#[path = "data/support.rs"]
mod support;

use proptest::prelude::*;
use steward_connect::exports::{self, Export, ExportError};

/// Reads a fixture as whatever its header says it is, checks that is the export its expected
/// file names, that reading it as that export gives the same, and compares the listing.
fn check(fixture: &str) {
    let path = format!("exports/{fixture}");
    let bytes = support::bytes(&path);
    let expected = support::expected(&path);
    let listing = exports::read_any(fixture, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let export = expected
        .get("export")
        .and_then(|v| v.as_str())
        .and_then(Export::from_name)
        .expect("the expected file names its export");
    assert_eq!(
        exports::read(export, fixture, &bytes).as_ref(),
        Ok(&listing),
        "{fixture}: read as {export:?}"
    );
    let text = String::from_utf8_lossy(&bytes);
    let first_line = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("");
    let header: Vec<&str> = first_line.split(',').collect();
    assert_eq!(exports::detect(&header), Some(export), "{fixture}: detect");
    support::compare(fixture, &listing, &expected);
}

#[test]
fn intune_devices_current_names() {
    check("intune-devices.csv");
}

#[test]
fn intune_devices_older_azure_ad_names() {
    check("intune-devices-azure-ad.csv");
}

#[test]
fn entra_users_documented_layout() {
    check("entra-users-documented.csv");
}

#[test]
fn entra_users_2021_layout() {
    check("entra-users-2021.csv");
}

#[test]
fn google_users_2024_layout() {
    check("google-users-2024.csv");
}

#[test]
fn google_users_older_34_column_layout() {
    check("google-users-2019.csv");
}

#[test]
fn snipe_it_custom_report() {
    check("snipeit-custom-report.csv");
}

#[test]
fn snipe_it_import_sample() {
    check("snipeit-assets-sample.csv");
}

#[test]
fn detects_by_column_names_whatever_their_order_and_case() {
    for (header, export) in [
        (
            &["device name", "DEVICE ID", "Serial number"][..],
            Some(Export::IntuneDevices),
        ),
        (&["objectId", "userPrincipalName"], Some(Export::EntraUsers)),
        (
            &[
                "Last Name [Required]",
                "Email Address [Required]",
                "First Name [Required]",
            ],
            Some(Export::GoogleUsers),
        ),
        (&["Asset Tag"], Some(Export::SnipeItAssets)),
        (&["ID", "Serial"], Some(Export::SnipeItAssets)),
        (&["ID"], None),
        (&["Name", "Email"], None),
        (&[], None),
    ] {
        assert_eq!(exports::detect(header), export, "{header:?}");
    }
}

/// A file that must fail, and the whole message it must fail with.
fn fails(name: &str, bytes: &[u8], message: &str) -> ExportError {
    match exports::read_any(name, bytes) {
        Ok(listing) => panic!("{name}: read {listing:?}, expected: {message}"),
        Err(e) => {
            assert_eq!(e.to_string(), message, "{name}");
            e
        }
    }
}

#[test]
fn a_bad_date_names_its_line_and_column() {
    // The second line's quoted cell runs over two lines, so the bad date is on line 4.
    let file = "Device ID,Device name,Last check-in\r\n\
                d1,\"two\r\nlines\",2024-01-01\r\n\
                d2,ok,31/13/2024\r\n";
    let e = fails(
        "devices.csv",
        file.as_bytes(),
        "devices.csv line 4, column \"Last check-in\": not a date-time: \"31/13/2024\"",
    );
    assert_eq!(
        e,
        ExportError::Cell {
            file: "devices.csv".into(),
            line: 4,
            column: "Last check-in".into(),
            reason: "not a date-time: \"31/13/2024\"".into(),
        }
    );
}

#[test]
fn slashed_dates_are_us_month_first() {
    let file = "Device ID,Device name,Last check-in\n\
                d1,a,01/02/2024 13:00\n";
    let listing = exports::read_any("devices.csv", file.as_bytes()).unwrap();
    assert_eq!(
        listing.devices[0].last_seen.map(|t| t.to_rfc3339()),
        Some("2024-01-02T13:00:00+00:00".into())
    );
    let file = "Device ID,Device name,Last check-in\nd1,a,13/01/2024 13:00\n";
    fails(
        "devices.csv",
        file.as_bytes(),
        "devices.csv line 2, column \"Last check-in\": not a date-time: \"13/01/2024 13:00\"",
    );
}

#[test]
fn an_unknown_header_says_which_exports_are_known() {
    let e = fails(
        "staff.csv",
        b"\xEF\xBB\xBF\r\nName,Colour\r\nAda,blue\r\n",
        "staff.csv line 2: not an export steward knows; it reads \
         Intune devices (Devices > All devices > Export), \
         Entra users (Users > Download users), \
         Google Workspace users (Users > Download users), \
         Snipe-IT assets (custom asset report or import file)",
    );
    assert!(matches!(e, ExportError::Unrecognised { line: 2, .. }));
}

#[test]
fn a_file_read_as_the_wrong_export_names_the_missing_column() {
    let google = support::bytes("exports/google-users-2024.csv");
    let e = exports::read(Export::IntuneDevices, "users.csv", &google).unwrap_err();
    assert_eq!(
        e.to_string(),
        "users.csv line 1: no column \"Device ID\", which \
         Intune devices (Devices > All devices > Export) needs"
    );
}

#[test]
fn bad_cells_fail_the_whole_file() {
    let intune = "Device ID,Device name,Encrypted,Ownership,Primary user UPN,Last check-in";
    let entra = "userPrincipalName,displayName,objectId,userType,accountEnabled";
    let google = "First Name [Required],Last Name [Required],Email Address [Required],\
                  Status [READ ONLY],Last Sign In [READ ONLY],2sv Enrolled [READ ONLY]";
    let snipe = "Asset Tag,Purchase Date,Purchase Cost,Checked Out To: Email";
    let cases: &[(&str, &str, &str)] = &[
        (
            intune,
            "d1,a,Yes,Corporate,,\nd2,b,Maybe,,,",
            "line 3, column \"Encrypted\": not true/false or yes/no: \"Maybe\"",
        ),
        (
            intune,
            "d1,a,,Leased,,",
            "line 2, column \"Ownership\": not an ownership (corporate, personal or unknown): \"Leased\"",
        ),
        (
            intune,
            "d1,a,,,Not an address,",
            "line 2, column \"Primary user UPN\": not an e-mail address: \"Not an address\"",
        ),
        (
            intune,
            ",a,,,,",
            "line 2, column \"Device ID\": empty, but every line needs one",
        ),
        (
            intune,
            "d1,a,,,,\nd1,b,,,,",
            "line 3: the same Device ID as line 2: \"d1\"; a file lists each once",
        ),
        (
            intune,
            "d1,a,,,,\nd2,b,,,",
            "line 3: found 5 cells where the header has 6",
        ),
        (
            intune,
            "d1,a,,,,2024-02-30 10:00",
            "line 2, column \"Last check-in\": not a date-time: \"2024-02-30 10:00\"",
        ),
        // Entra does not quote its cells: a comma in a name shifts the line.
        (
            entra,
            "a@example.org,Okafor, Amara,id1,Member,True",
            "line 2: found 6 cells where the header has 5",
        ),
        (
            entra,
            "a@example.org,A,id1,Member,Enabled",
            "line 2, column \"accountEnabled\": not true/false or yes/no: \"Enabled\"",
        ),
        (
            entra,
            ",A,id1,Member,True",
            "line 2, column \"userPrincipalName\": empty, but every line needs one",
        ),
        (
            google,
            "A,B,a@example.org,Deleted,,",
            "line 2, column \"Status [READ ONLY]\": not a status (active, suspended or archived): \"Deleted\"",
        ),
        (
            google,
            "A,B,a@example.org,Active,11/07/2019 15:36:14 GMT,",
            "line 2, column \"Last Sign In [READ ONLY]\": not a date-time: \"11/07/2019 15:36:14 GMT\"",
        ),
        (
            google,
            "A,B,a@example.org,Active,,Yes please",
            "line 2, column \"2sv Enrolled [READ ONLY]\": not true/false or yes/no: \"Yes please\"",
        ),
        (
            snipe,
            "T1,31/1/23,,",
            "line 2, column \"Purchase Date\": not a date: \"31/1/23\"",
        ),
        (
            snipe,
            "T1,,\"12,34\",",
            "line 2, column \"Purchase Cost\": not an amount in pounds: \"12,34\"",
        ),
        (
            snipe,
            "T1,,-5.00,",
            "line 2, column \"Purchase Cost\": not an amount in pounds: \"-5.00\"",
        ),
        (
            snipe,
            "T1,,,someone",
            "line 2, column \"Checked Out To: Email\": not an e-mail address: \"someone\"",
        ),
    ];
    for (header, lines, message) in cases {
        let file = format!("{header}\n{lines}\n");
        fails("f.csv", file.as_bytes(), &format!("f.csv {message}"));
    }
}

#[test]
fn files_that_are_not_csv_utf_8() {
    fails(
        "e.csv",
        b"",
        "e.csv: the file is empty; expected a header row",
    );
    fails(
        "e.csv",
        b"\xEF\xBB\xBF\r\n\r\n",
        "e.csv: the file is empty; expected a header row",
    );
    fails(
        "u.csv",
        b"\xFF\xFED\x00e\x00",
        "u.csv line 1: the file is UTF-16; save it as CSV UTF-8",
    );
    // Excel's "CSV" saves a pound sign as Windows-1252.
    fails(
        "w.csv",
        b"Asset Tag,Purchase Cost\nT1,\xA3899\n",
        "w.csv line 2: not UTF-8 text; save the file as CSV UTF-8",
    );
}

#[test]
fn a_header_alone_lists_nothing_but_is_complete() {
    let listing = exports::read_any("d.csv", b"Device ID,Device name\r\n").unwrap();
    assert!(listing.devices.is_empty());
    assert_eq!(listing.complete, vec![steward_connect::Feed::Devices]);
}

/// Cells a structured row is built from: valid spellings and near misses.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("True".to_string()),
        Just("no".to_string()),
        Just("Corporate".to_string()),
        Just("Active".to_string()),
        Just("Never logged in".to_string()),
        Just("8/19/2021 1:25:31 PM".to_string()),
        Just("2019/07/11 15:36:14".to_string()),
        Just("2024-05-01T10:00:00.9999999+14:00".to_string()),
        Just("12/31/9999 11:59:59 PM".to_string()),
        Just("£1,299.00".to_string()),
        Just("a@example.org".to_string()),
        Just("=1+2".to_string()),
        "[ -~]{0,12}",
        "\\PC{0,8}",
    ]
}

const HEADERS: [&str; 4] = [
    "Device ID,Device name,Last check-in,Encrypted,Ownership,Primary user UPN,Compliance,OS,Model",
    "userPrincipalName,displayName,mail,id,userType,accountEnabled,department",
    "First Name [Required],Last Name [Required],Email Address [Required],Status [READ ONLY],\
     Last Sign In [READ ONLY],2sv Enrolled [READ ONLY],Manager Email",
    "ID,Asset Tag,Category,Purchased,Cost,Status,Username,Email",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_bytes_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Err(e) = exports::read_any("fuzz.csv", &bytes) {
            prop_assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[test]
    fn no_rows_of_a_known_header_panic(
        which in 0..HEADERS.len(),
        rows in proptest::collection::vec(proptest::collection::vec(token(), 9), 0..6),
    ) {
        let header = HEADERS[which];
        let width = header.split(',').count();
        let mut file = format!("{header}\r\n");
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .take(width)
                .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                .collect();
            file.push_str(&cells.join(","));
            file.push_str("\r\n");
        }
        match exports::read_any("fuzz.csv", file.as_bytes()) {
            Ok(listing) => {
                let records = listing.people.len().max(listing.accounts.len()).max(listing.devices.len());
                prop_assert!(records <= rows.len());
            }
            Err(e) => prop_assert!(!e.to_string().contains('\n'), "{e}"),
        }
    }
}
