//! The governance registers through the service on each backend: what falls due, a task done,
//! a record disposed of, and training expiry from the course's recurrence.

use chrono::NaiveDate;
use steward_model::*;
use steward_service::{DueKind, ImportFile, ServiceError, Stamp, Steward};
use steward_store::testing::databases;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

fn person(id: &str) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: None,
        staff_group: "fca".into(),
        manager_id: None,
        budget_centre: None,
        status: PersonStatus::Active,
        start_date: None,
        leave_date: None,
        clearance: None,
        clearance_expires: None,
        byod: None,
        weekly_digest: None,
        job_title: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

fn training(person: &str, course: &str, done: &str, expires: Option<&str>) -> Training {
    Training {
        person_id: person.into(),
        course: course.into(),
        completed_on: date(done),
        expires_on: expires.map(date),
    }
}

fn record(id: &str, class: &str, trigger: Option<&str>, disposed: Option<&str>) -> HeldRecord {
    HeldRecord {
        id: id.into(),
        record_class: class.into(),
        description: format!("records {id}"),
        location: None,
        trigger_on: trigger.map(date),
        disposed_on: disposed.map(date),
    }
}

fn task(id: &str, every_days: i64, last: Option<&str>) -> RecurringTask {
    RecurringTask {
        id: id.into(),
        title: format!("task {id}"),
        clause: None,
        every_days,
        owner_id: Some("G1".into()),
        last_done_on: last.map(date),
        evidence: None,
    }
}

fn estate() -> Estate {
    Estate {
        people: vec![person("G1"), person("P1")],
        courses: vec![
            Course {
                id: "security".into(),
                title: "Information security".into(),
                mandatory: true,
                recur_months: Some(12),
            },
            Course {
                id: "induction".into(),
                title: "Induction".into(),
                mandatory: true,
                recur_months: None,
            },
        ],
        training: vec![
            // Filled from the course: 31 Jan + 12 months.
            training("P1", "security", "2025-01-31", None),
            // Given: kept.
            training("G1", "security", "2025-03-01", Some("2025-12-31")),
            // The course does not recur: no expiry.
            training("P1", "induction", "2020-01-06", None),
        ],
        retention_schedule: vec![RetentionRule {
            record_class: "personnel".into(),
            description: "Personnel files".into(),
            period_months: 72,
            trigger: "employment ended".into(),
            disposal: DisposalMethod::Destroy,
        }],
        records: vec![
            record("REC-1", "personnel", Some("2020-01-31"), None),
            record("REC-2", "personnel", Some("2021-06-30"), None),
            record("REC-3", "personnel", Some("2019-01-31"), Some("2025-02-01")),
            record("REC-4", "personnel", None, None),
        ],
        tasks: vec![
            task("KEYPAD", 90, Some("2025-11-01")),
            task("KEY-SAFE", 30, Some("2026-01-20")),
            task("COMMS", 30, None),
        ],
        information_assets: vec![InformationAsset {
            id: "IA-1".into(),
            name: "Case files".into(),
            owner_id: "P1".into(),
            description: None,
            location: None,
            review_every_months: 12,
            last_reviewed_on: Some(date("2024-12-01")),
        }],
        access_reviews: vec![AccessReview {
            asset_id: "IA-1".into(),
            reviewed_on: date("2025-01-15"),
            reviewed_by: "P1".into(),
            outcome: "two leavers removed".into(),
        }],
        policy_reviews: vec![
            PolicyReview {
                pack: "our-it".into(),
                version: "1.0".into(),
                reviewed_on: Some(date("2023-01-10")),
                next_review: date("2024-01-10"),
                material: true,
            },
            PolicyReview {
                pack: "our-it".into(),
                version: "1.1".into(),
                reviewed_on: Some(date("2025-01-10")),
                next_review: date("2026-01-10"),
                material: false,
            },
        ],
        ..Estate::default()
    }
}

fn load(steward: &Steward) {
    let estate = estate();
    let files = ImportFile::of_estate(&estate)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|f| !estate.rows(f.register).is_empty())
        .collect();
    steward
        .import(&Stamp::now("test"), files)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// An item expected due: kind, id and due date.
type Expected = (DueKind, &'static str, Option<&'static str>);

/// The items due by `until`, as (kind, id, due date).
fn due(steward: &Steward, until: &str) -> Vec<(DueKind, String, Option<NaiveDate>)> {
    steward
        .due(date(until))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|d| (d.kind, d.id, d.due_on))
        .collect()
}

#[test]
fn what_falls_due_and_what_clears_it() {
    for db in databases("governance_due") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        load(&steward);
        let b = db.backend;

        // Each row: the day, then everything due by it (never done first, then by date).
        let table: &[(&str, &[Expected])] = &[
            ("2024-01-01", &[(DueKind::Task, "COMMS", None)]),
            (
                "2026-02-01",
                &[
                    (DueKind::Task, "COMMS", None),
                    (DueKind::AccessReview, "IA-1", Some("2026-01-15")),
                    (DueKind::Task, "KEYPAD", Some("2026-01-30")),
                    (DueKind::Disposal, "REC-1", Some("2026-01-31")),
                    (DueKind::PolicyReview, "our-it/1.1", Some("2026-01-10")),
                ],
            ),
        ];
        for (until, expected) in table {
            let mut want: Vec<(DueKind, String, Option<NaiveDate>)> = expected
                .iter()
                .map(|(k, id, d)| (*k, (*id).to_owned(), d.map(date)))
                .collect();
            want.sort_by(|a, b| (a.2, a.0, &a.1).cmp(&(b.2, b.0, &b.1)));
            assert_eq!(due(&steward, until), want, "{b}: due by {until}");
        }

        // A task done clears it until its next date; one recorded late does not move it back.
        steward
            .task_done(
                &Stamp::now("G1"),
                "KEYPAD",
                date("2026-01-29"),
                "G1",
                "codes changed",
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        steward
            .task_done(
                &Stamp::now("G1"),
                "KEYPAD",
                date("2025-12-01"),
                "G1",
                "late entry",
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let keypad: Option<RecurringTask> = steward.get("KEYPAD").unwrap_or_default();
        assert_eq!(
            keypad.map(|t| (t.last_done_on, t.evidence)),
            Some((Some(date("2026-01-29")), Some("codes changed".into()))),
            "{b}"
        );
        let completions: Vec<TaskCompletion> = steward.list().unwrap_or_default();
        assert_eq!(completions.len(), 2, "{b}");
        assert!(
            !due(&steward, "2026-02-01")
                .iter()
                .any(|(_, id, _)| id == "KEYPAD"),
            "{b}"
        );

        // Refused, and nothing written: no evidence, an unknown person, an unknown task.
        for (task, by, evidence) in [
            ("COMMS", "G1", "  "),
            ("COMMS", "NOBODY", "checked"),
            ("NO-SUCH-TASK", "G1", "checked"),
        ] {
            let result =
                steward.task_done(&Stamp::now("G1"), task, date("2026-02-01"), by, evidence);
            assert!(
                matches!(
                    result,
                    Err(ServiceError::Invalid { .. } | ServiceError::NotFound { .. })
                ),
                "{b}: {task} by {by}: {result:?}"
            );
        }
        let completions: Vec<TaskCompletion> = steward.list().unwrap_or_default();
        assert_eq!(completions.len(), 2, "{b}");

        // Disposing of a record logs it and takes it off the list; twice is refused.
        let (entry, _) = steward
            .dispose_of_record(
                &Stamp::now("G1"),
                "REC-1",
                date("2026-02-02"),
                "G1",
                "cross-cut shredding",
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let logged: Option<Destruction> = steward.get(&entry).unwrap_or_default();
        assert_eq!(
            logged.map(|d| (d.record_id, d.destroyed_on, d.authorised_by, d.method)),
            Some((
                Some("REC-1".into()),
                date("2026-02-02"),
                "G1".into(),
                "cross-cut shredding".into()
            )),
            "{b}"
        );
        assert!(
            !due(&steward, "2026-02-02")
                .iter()
                .any(|(_, id, _)| id == "REC-1"),
            "{b}"
        );
        let again = steward.dispose_of_record(
            &Stamp::now("G1"),
            "REC-1",
            date("2026-02-03"),
            "G1",
            "again",
        );
        assert!(matches!(again, Err(ServiceError::Invalid { .. })), "{b}");
        let log: Vec<Destruction> = steward.list().unwrap_or_default();
        assert_eq!(log.len(), 1, "{b}");
    }
}

#[test]
fn training_expires_when_its_course_recurs() {
    for db in databases("governance_training") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        load(&steward);
        let b = db.backend;
        let expiry = |id: &str| {
            steward
                .get::<Training>(id)
                .unwrap_or_default()
                .map(|t| t.expires_on)
        };
        // Imported in the same transaction as the courses.
        assert_eq!(
            expiry("P1/security/2025-01-31"),
            Some(Some(date("2026-01-31"))),
            "{b}"
        );
        assert_eq!(
            expiry("G1/security/2025-03-01"),
            Some(Some(date("2025-12-31"))),
            "{b}"
        );
        assert_eq!(expiry("P1/induction/2020-01-06"), Some(None), "{b}");
        // Written one at a time, against the stored courses; the end of a short month is kept.
        steward
            .create(
                &Stamp::now("test"),
                &training("G1", "security", "2024-02-29", None),
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            expiry("G1/security/2024-02-29"),
            Some(Some(date("2025-02-28"))),
            "{b}"
        );
    }
}
