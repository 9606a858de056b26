//! Working days over the shipped England and Wales calendar, and bad holiday files.

use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use steward_calendar::{Calendar, ENGLAND_AND_WALES};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

#[test]
fn working_days_skip_weekends_and_bank_holidays() {
    let calendar = Calendar::shipped();
    // start, working days, due
    let cases = [
        // Thu 24 Dec 2026: 25 Dec (Fri) and 28 Dec (Mon, Boxing Day substitute) are holidays.
        ("2026-12-24", 3, "2026-12-31"),
        ("2026-12-24", 1, "2026-12-29"),
        ("2026-12-24", 0, "2026-12-24"),
        // Easter 2026: Good Friday 3 Apr, Easter Monday 6 Apr.
        ("2026-04-02", 1, "2026-04-07"),
        ("2026-04-01", 3, "2026-04-08"),
        // Early May bank holiday, Mon 4 May 2026.
        ("2026-05-01", 1, "2026-05-05"),
        // New Year's Day 2027 is a Friday.
        ("2026-12-31", 1, "2027-01-04"),
        // Christmas 2027 falls on a weekend: substitute days Mon 27 and Tue 28 Dec.
        ("2027-12-24", 1, "2027-12-29"),
        // The State Funeral of 19 Sep 2022, a one-off holiday.
        ("2022-09-16", 1, "2022-09-20"),
        // An ordinary week.
        ("2026-11-23", 5, "2026-11-30"),
        ("2026-11-27", 1, "2026-11-30"),
    ];
    let mut failures = Vec::new();
    for (start, n, expected) in cases {
        let got = calendar.add_working_days(date(start), n);
        if got != date(expected) {
            failures.push(format!("{start} + {n}: expected {expected}, got {got}"));
        }
        let back = calendar.working_days_between(date(start), date(expected));
        if back != i64::from(n) {
            failures.push(format!(
                "{start} .. {expected}: {back} working days, not {n}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        calendar
            .holiday(date("2026-12-28"))
            .map(|h| h.notes.as_str()),
        Some("Substitute day")
    );
    assert!(calendar.covers(date("2028-06-01")));
    assert!(!calendar.covers(date("2029-06-01")));
}

#[test]
fn the_due_date_counts_from_the_local_date() {
    let calendar = Calendar::shipped();
    let london = chrono_tz::Europe::London;
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc.timestamp_opt(0, 0).single().unwrap_or_default())
    };
    // Winter: 23:30 UTC is 23:30 in London, still Wednesday 23 Dec.
    assert_eq!(
        calendar.due(at("2026-12-23T23:30:00Z"), london, 1),
        date("2026-12-24")
    );
    // Summer: 23:30 UTC on 30 Jun is 00:30 BST on Wednesday 1 Jul.
    assert_eq!(
        calendar.due(at("2026-06-30T23:30:00Z"), london, 1),
        date("2026-07-02")
    );
    assert_eq!(
        calendar.due(at("2026-06-30T23:30:00Z"), chrono_tz::UTC, 1),
        date("2026-07-01")
    );
}

#[test]
fn bad_files_are_refused_with_where_and_why() {
    let cases = [
        ("{", "line 1, column 1: EOF while parsing an object"),
        ("[]", "line 1, column 1: expected an object of divisions"),
        (
            r#"{"scotland": {"events": []}}"#,
            r#"no division "england-and-wales" in the file; it has: scotland"#,
        ),
        (
            r#"{"england-and-wales": {"events": []}}"#,
            r#"the division "england-and-wales" lists no events"#,
        ),
        (
            r#"{"england-and-wales": {"events": [{"title": "X", "date": "2026-13-01"}]}}"#,
            r#"events[0].date: "2026-13-01": not a date (expected YYYY-MM-DD)"#,
        ),
        (
            r#"{"england-and-wales": {"events": [{"title": "X", "date": 20261225}]}}"#,
            r#"events[0].date: "20261225": expected text"#,
        ),
        (
            r#"{"england-and-wales": {"events": [{"title": " ", "date": "2026-12-25"}]}}"#,
            r#"events[0].title: " ": a holiday needs a title"#,
        ),
        (
            r#"{"england-and-wales": {"events": [{"title": "A", "date": "2026-12-25"}, {"title": "B", "date": "2026-12-25"}]}}"#,
            "events[1].date: 2026-12-25 is listed twice (also events[0])",
        ),
    ];
    let mut failures = Vec::new();
    for (text, expected) in cases {
        match Calendar::from_govuk_json(text, ENGLAND_AND_WALES) {
            Ok(_) => failures.push(format!("{text}: accepted")),
            Err(e) if e.to_string() != expected => {
                failures.push(format!("{text}:\n  expected {expected}\n  got      {e}"));
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_shipped_calendar_round_trips_and_is_complete() {
    let calendar = Calendar::shipped();
    assert!(calendar.holidays().count() >= 8 * 11, "2018–2028 at least");
    let again = Calendar::from_govuk_json(
        &calendar.to_govuk_json(ENGLAND_AND_WALES),
        ENGLAND_AND_WALES,
    );
    assert_eq!(again.as_ref(), Ok(&calendar));
}

proptest! {
    #[test]
    fn adding_and_counting_agree(days in 0i64..4000, n in 0u32..40) {
        let calendar = Calendar::shipped();
        let start = date("2018-01-01") + chrono::Duration::days(days);
        let due = calendar.add_working_days(start, n);
        prop_assert_eq!(calendar.working_days_between(start, due), i64::from(n));
        prop_assert_eq!(calendar.working_days_between(due, start), -i64::from(n));
        if n > 0 {
            prop_assert!(calendar.is_working_day(due));
        }
    }

    #[test]
    fn no_input_makes_the_parser_panic(text in ".{0,200}") {
        let _ = Calendar::from_govuk_json(&text, ENGLAND_AND_WALES);
    }
}
