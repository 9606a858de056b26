//! Requests, incidents and the calendar through the binary, on every test database.

use std::process::{Command, Output};

use steward_store::testing::{TempDir, databases};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn requests_incidents_and_the_calendar_from_the_command_line() {
    for db in databases("process") {
        let dir = TempDir::new("process").expect("temp dir");
        let steward = |args: &[&str]| -> Output {
            Command::new(env!("CARGO_BIN_EXE_steward"))
                .args(args)
                .env("STEWARD_DATABASE_URL", &db.url)
                .env("STEWARD_DATA_DIR", dir.path())
                .env("STEWARD_ACTOR", "cli:test")
                .env_remove("STEWARD_CONFIG")
                .output()
                .expect("the steward binary runs")
        };
        let ok = |args: &[&str]| -> String {
            let out = steward(args);
            assert!(
                out.status.success(),
                "steward {args:?} on {} failed:\n{}",
                db.backend,
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let refused = |args: &[&str], words: &str| {
            let out = steward(args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "steward {args:?} succeeded");
            assert!(stderr.contains(words), "steward {args:?}: {stderr}");
        };
        ok(&[
            "demo",
            "--people",
            "40",
            "--seed",
            "3",
            "--today",
            "2026-11-24",
            "--usage-months",
            "1",
        ]);
        // Someone with a line manager, and a third person given the IT role.
        let people = ok(&["register", "list", "people"]);
        let (person, manager) = people
            .lines()
            .skip(1)
            .filter_map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                let manager = cells.get(4).copied().filter(|m| !m.is_empty())?;
                Some((cells[0].to_owned(), manager.to_owned()))
            })
            .next()
            .expect("someone has a manager");
        let it = people
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next())
            .find(|id| *id != person && *id != manager)
            .expect("a third person")
            .to_owned();
        let roles = dir.path().join("roles.csv");
        std::fs::write(&roles, format!("person_id,role,granted_on\n{it},it,\n")).expect("write");
        ok(&["import", "roles", roles.to_str().unwrap_or_default()]);

        // The organisation runs the demo's own policies: their processes and lead times.
        for id in ["cafcass-it-5.0", "cafcass-ia-4.3"] {
            ok(&["policy", "activate", id]);
        }

        // A new starter raised on Christmas Eve is due on 31 December.
        let starter = json(&ok(&[
            "request",
            "open",
            "new-starter",
            "--person",
            &person,
            "--at",
            "2026-12-24T10:00:00Z",
            "--format",
            "json",
        ]));
        assert_eq!(starter["type"], "new-starter");
        assert_eq!(starter["state"], "open");
        assert_eq!(starter["due"], "2026-12-31", "{}", db.backend);
        let starter_id = starter["id"].as_str().unwrap_or_default().to_owned();
        refused(
            &["request", "fulfil", &starter_id, "--as", &it],
            "needs assets",
        );
        refused(
            &["request", "fulfil", &starter_id, "--as", &person],
            "fulfilled by the IT team",
        );

        // Travel approved by the line manager becomes the approved trip clause 2.9 reads.
        let travel = json(&ok(&[
            "request",
            "open",
            "international-travel",
            "--person",
            &person,
            "--set",
            "countries=FR;BE",
            "--set",
            "depart_on=2026-12-02",
            "--set",
            "return_on=2026-12-09",
            "--at",
            "2026-11-24T09:00:00Z",
            "--format",
            "json",
        ]));
        let travel_id = travel["id"].as_str().unwrap_or_default().to_owned();
        refused(
            &["request", "approve", &travel_id, "--as", &it],
            "waits for line-manager",
        );
        let approved = json(&ok(&[
            "request", "approve", &travel_id, "--as", &manager, "--format", "json",
        ]));
        assert_eq!(approved["state"], "approved");
        let trip = ok(&["register", "show", "travel", &travel_id]);
        assert!(
            trip.contains("approved") && trip.contains(&manager),
            "{trip}"
        );
        refused(
            &["request", "approve", &travel_id, "--as", &manager],
            "is approved; it cannot be approved",
        );
        refused(
            &["request", "open", "teleport", "--person", &person],
            "request type \"teleport\"",
        );

        // A data breach carries the ICO's 72 hours from awareness.
        let breach = json(&ok(&[
            "incident",
            "report",
            "data-breach",
            "--person",
            &person,
            "--set",
            "discovered_at=2026-11-24T10:30:00Z",
            "--set",
            "facts=letter to the wrong address",
            "--at",
            "2026-11-24T12:00:00Z",
            "--format",
            "json",
        ]));
        assert_eq!(breach["type"], "data-breach");
        assert_eq!(breach["state"], "reported");
        assert_eq!(breach["ico_notify_by"], "2026-11-27T10:30:00Z");
        let breach_id = breach["id"].as_str().unwrap_or_default().to_owned();
        refused(
            &["incident", "close", &breach_id, "--as", &it],
            "lacks effects",
        );

        // The calendar: arithmetic, and a bad file refused by name.
        assert_eq!(
            ok(&["calendar", "add", "2026-12-24", "3"]).trim(),
            "2026-12-31"
        );
        let bad = dir.path().join("holidays.json");
        std::fs::write(
            &bad,
            "{\"england-and-wales\": {\"events\": [{\"title\": \"X\", \"date\": \"2026-02-30\"}]}}",
        )
        .expect("write");
        refused(
            &["calendar", "import", bad.to_str().unwrap_or_default()],
            "events[0].date: \"2026-02-30\": not a date",
        );
        // The governance registers: what is due, then a task done and a record disposed of
        // leave the list.
        let due_ids = |kind: &str| -> Vec<String> {
            let due = json(&ok(&[
                "governance",
                "due",
                "--on",
                "2026-12-01",
                "--within",
                "400",
                "--format",
                "json",
            ]));
            due["due"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|i| i["kind"] == kind)
                        .filter_map(|i| i["id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let tasks = due_ids("task");
        let records = due_ids("disposal");
        let (Some(task), Some(record)) = (tasks.first(), records.first()) else {
            panic!(
                "{}: the demo has a task and a record falling due",
                db.backend
            );
        };
        ok(&[
            "governance",
            "task-done",
            task,
            "--by",
            &it,
            "--evidence",
            "checked; photo on file",
            "--on",
            "2026-12-01",
        ]);
        ok(&[
            "governance",
            "dispose",
            record,
            "--by",
            &it,
            "--method",
            "cross-cut shredding",
            "--on",
            "2026-12-01",
        ]);
        assert!(!due_ids("disposal").contains(record), "{}", db.backend);
        let shown = ok(&["register", "show", "task", task]);
        assert!(
            shown
                .lines()
                .any(|l| l.starts_with("last_done_on") && l.ends_with("2026-12-01")),
            "{}: {shown}",
            db.backend
        );
        refused(
            &[
                "governance",
                "task-done",
                task,
                "--by",
                &it,
                "--evidence",
                " ",
            ],
            "say what shows the task was done",
        );

        // Every step above is in the audit log, and the chain holds.
        ok(&["audit", "verify"]);
    }
}
