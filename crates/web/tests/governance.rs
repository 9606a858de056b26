//! The governance page and CSV import over a real socket on every test database: what falls due,
//! a task recorded done (refused without evidence), a record disposed of, who may see and act,
//! a register imported from pasted CSV or an uploaded file, all or nothing, and the working-day
//! calendar with gov.uk's file loaded.

mod support;

use chrono::NaiveDate;
use steward_model::{
    Asset, AssetKind, AssetStatus, DisposalMethod, HeldRecord, Notification, Ownership, Person,
    PolicyReview, RecurringTask, RetentionRule, Role, RoleGrant, TaskCompletion,
};
use steward_service::{Capacity, Stamp, Steward};
use steward_store::testing::databases;
use support::{Client, Reply, Server, account, person};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The table row (one line of the page) whose item is `id`.
fn row<'a>(reply: &'a Reply, id: &str) -> Option<&'a str> {
    let cell = format!(">{id}<");
    reply
        .body
        .lines()
        .find(|l| l.starts_with("<tr>") && l.contains(&cell))
}

/// A seeding step that must work.
fn seed<T>(result: Result<T, steward_service::ServiceError>) {
    if let Err(e) = result {
        panic!("seeding: {e}");
    }
}

fn signed_in(server: &Server, email: &str, secret: &str) -> Client {
    let mut client = server.client();
    let reply = client.sign_in(email, support::PASSWORD, secret);
    assert_eq!(reply.status, 303, "{email}: {}", reply.body);
    client
}

/// People, the IT and governance roles, and an account for each.
fn people_and_roles(steward: &Steward, stamp: &Stamp) {
    for id in ["G1", "IT1", "S1"] {
        steward
            .create(stamp, &person(id, &format!("Person {id}"), None))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for (id, role) in [("G1", Role::Governance), ("IT1", Role::It)] {
        steward
            .create(
                stamp,
                &RoleGrant {
                    person_id: id.into(),
                    role,
                    granted_on: None,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A fresh database with IT1 (IT team), G1 (governance) and S1 (staff), each with a sign-in,
/// and the server on it.
struct Estate {
    steward: Steward,
    server: Server,
    /// The TOTP secrets of `it@`, `g@` and `staff@example.org`.
    it: String,
    governance: String,
    staff: String,
}

fn estate(url: &str) -> Estate {
    let steward = Steward::open(url).unwrap_or_else(|e| panic!("{e}"));
    people_and_roles(&steward, &Stamp::now("test"));
    let it = account(&steward, "it@example.org", Some("IT1"), &[]);
    let governance = account(&steward, "g@example.org", Some("G1"), &[]);
    let staff = account(&steward, "staff@example.org", Some("S1"), &[]);
    let server = Server::start(url, steward_web::Options::default());
    Estate {
        steward,
        server,
        it,
        governance,
        staff,
    }
}

#[test]
fn what_falls_due_a_task_done_and_a_record_disposed_of() {
    for db in databases("web_governance") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = Stamp::now("test");
        people_and_roles(&steward, &stamp);
        seed(steward.create(
            &stamp,
            &RetentionRule {
                record_class: "personnel".into(),
                description: "Personnel files".into(),
                period_months: 72,
                trigger: "employment ended".into(),
                disposal: DisposalMethod::Destroy,
            },
        ));
        // Past its retention since 2016.
        seed(steward.create(
            &stamp,
            &HeldRecord {
                id: "REC-1".into(),
                record_class: "personnel".into(),
                description: "Leavers of 2009".into(),
                location: None,
                trigger_on: Some(date("2010-01-31")),
                disposed_on: None,
            },
        ));
        // Never done.
        seed(steward.create(
            &stamp,
            &RecurringTask {
                id: "KEYPAD".into(),
                title: "Change the keypad codes".into(),
                clause: None,
                every_days: 90,
                owner_id: Some("G1".into()),
                last_done_on: None,
                evidence: None,
            },
        ));
        // A policy review's id holds a '/': listed, with no link.
        seed(steward.create(
            &stamp,
            &PolicyReview {
                pack: "our-it".into(),
                version: "1.0".into(),
                reviewed_on: Some(date("2019-01-10")),
                next_review: date("2020-01-10"),
                material: true,
            },
        ));
        let governance = account(&steward, "governance@example.org", Some("G1"), &[]);
        let staff = account(&steward, "staff@example.org", Some("S1"), &[]);
        let auditor = account(&steward, "auditor@example.org", None, &[Capacity::Auditor]);
        let desk = account(&steward, "desk@example.org", None, &[Capacity::It]);
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut g = signed_in(&server, "governance@example.org", &governance);

        // The list: the task never done and the record past retention, both overdue.
        let page = g.get("/governance");
        assert_eq!(page.status, 200, "{b}: {}", page.body);
        assert!(page.body.contains("href=\"/governance\""), "{b}: nav link");
        let task = row(&page, "KEYPAD").unwrap_or_else(|| panic!("{b}: no KEYPAD: {}", page.body));
        assert!(task.contains("never done (overdue)"), "{b}: {task}");
        assert!(
            task.contains("href=\"/register/task/KEYPAD\""),
            "{b}: {task}"
        );
        assert!(task.contains("name=\"evidence\""), "{b}: {task}");
        let record = row(&page, "REC-1").unwrap_or_else(|| panic!("{b}: no REC-1"));
        assert!(record.contains("2016-01-31 (overdue)"), "{b}: {record}");
        assert!(
            record.contains("href=\"/register/record/REC-1\""),
            "{b}: {record}"
        );
        assert!(record.contains("name=\"method\""), "{b}: {record}");
        let review = row(&page, "our-it/1.0").unwrap_or_else(|| panic!("{b}: no review"));
        assert!(!review.contains("href="), "{b}: {review}");
        // All three overdue, the one never done first.
        assert!(page.body.contains("3 of them overdue"), "{b}");
        // The record pages the list links to exist.
        assert_eq!(g.get("/register/task/KEYPAD").status, 200, "{b}");
        assert_eq!(g.get("/register/record/REC-1").status, 200, "{b}");

        // A filter that is not a number of days is refused on the page.
        let bad = g.get("/governance?within=soon");
        assert_eq!(bad.status, 422, "{b}");
        assert!(bad.body.contains("role=\"alert\""), "{b}");

        // The CSV has every item, overdue first.
        let csv = g.get("/governance.csv?within=30");
        assert_eq!(csv.status, 200, "{b}");
        assert!(
            csv.header("content-type")
                .is_some_and(|t| t.starts_with("text/csv")),
            "{b}"
        );
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some("kind,register,id,what,due_on,overdue,owner,action"),
            "{b}"
        );
        assert_eq!(lines.len(), 4, "{b}: {}", csv.body);
        assert!(
            lines[1].starts_with("task,task,KEYPAD,") && lines[1].contains(",never done,yes,G1,"),
            "{b}: {}",
            lines[1]
        );
        assert!(csv.body.contains("disposal,record,REC-1,"), "{b}");
        assert!(
            csv.body.contains("policy_review,policy_review,our-it/1.0,"),
            "{b}"
        );

        // A task done needs its evidence, and a real date.
        let refused = g.submit(
            "/governance",
            "/governance/task-done",
            &[("task", "KEYPAD"), ("evidence", "  ")],
        );
        assert_eq!(refused.status, 422, "{b}: {}", refused.body);
        assert!(
            refused.body.contains("role=\"alert\"")
                && refused.body.contains("say what shows the task was done"),
            "{b}: {}",
            refused.body
        );
        let refused = g.submit(
            "/governance",
            "/governance/task-done",
            &[
                ("task", "KEYPAD"),
                ("evidence", "codes changed"),
                ("on", "31/12/2025"),
            ],
        );
        assert_eq!(refused.status, 422, "{b}");
        assert!(
            refused
                .body
                .contains("Done on: &#34;31/12/2025&#34; is not a date such as 2026-03-01"),
            "{b}: {}",
            refused.body
        );
        let refused = g.submit(
            "/governance",
            "/governance/task-done",
            &[("task", "NO-SUCH"), ("evidence", "done")],
        );
        assert_eq!(refused.status, 422, "{b}");
        assert!(
            refused.body.contains("No task with id"),
            "{b}: {}",
            refused.body
        );

        let done = g.submit(
            "/governance",
            "/governance/task-done",
            &[
                ("task", "KEYPAD"),
                ("evidence", "codes changed, sheet signed"),
            ],
        );
        assert_eq!(done.status, 303, "{b}: {}", done.body);
        assert_eq!(done.location(), "/governance", "{b}");
        let page = g.get("/governance");
        assert!(
            row(&page, "KEYPAD").is_none_or(|r| !r.contains("(overdue)")),
            "{b}: still overdue"
        );
        let task: RecurringTask = steward
            .get("KEYPAD")
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{b}: KEYPAD gone"));
        let today = steward
            .local_date(chrono::Utc::now())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(task.last_done_on, Some(today), "{b}");
        assert_eq!(
            task.evidence.as_deref(),
            Some("codes changed, sheet signed"),
            "{b}"
        );
        let completions: Vec<steward_model::TaskCompletion> =
            steward.list().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(completions.len(), 1, "{b}");
        assert_eq!(completions[0].done_by, "G1", "{b}");

        // A disposal needs its method; then the record leaves the list.
        let refused = g.submit(
            "/governance",
            "/governance/dispose",
            &[("record", "REC-1"), ("method", "")],
        );
        assert_eq!(refused.status, 422, "{b}");
        assert!(refused.body.contains("say how it was destroyed"), "{b}");
        let disposed = g.submit(
            "/governance?within=60",
            "/governance/dispose",
            &[
                ("record", "REC-1"),
                ("method", "cross-cut shredding"),
                ("on", "2026-01-05"),
                ("within", "60"),
            ],
        );
        assert_eq!(disposed.status, 303, "{b}: {}", disposed.body);
        assert_eq!(disposed.location(), "/governance?within=60", "{b}");
        let page = g.get("/governance");
        assert!(row(&page, "REC-1").is_none(), "{b}: REC-1 still listed");
        let record: HeldRecord = steward
            .get("REC-1")
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{b}: REC-1 gone"));
        assert_eq!(record.disposed_on, Some(date("2026-01-05")), "{b}");
        // Twice is refused with the reason.
        let again = g.submit(
            "/governance",
            "/governance/dispose",
            &[("record", "REC-1"), ("method", "again")],
        );
        assert_eq!(again.status, 422, "{b}");
        assert!(again.body.contains("already disposed of"), "{b}");

        // An IT account added without a person gets one, since roles are held by people in the
        // roles register: what it records names that person.
        let mut d = signed_in(&server, "desk@example.org", &desk);
        let recorded = d.submit(
            "/governance",
            "/governance/task-done",
            &[("task", "KEYPAD"), ("evidence", "done")],
        );
        assert_eq!(recorded.status, 303, "{b}: {}", recorded.body);
        let desk_person = steward
            .viewer("desk@example.org")
            .unwrap_or_else(|e| panic!("{e}"))
            .person_id
            .unwrap_or_else(|| panic!("{b}: the desk account has no person"));
        let completions: Vec<TaskCompletion> = steward.list().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            completions
                .iter()
                .any(|c| c.task_id == "KEYPAD" && c.done_by == desk_person),
            "{b}: {completions:?}"
        );

        // The auditor reads and does nothing; staff see none of it.
        let mut a = signed_in(&server, "auditor@example.org", &auditor);
        let seen = a.get("/governance");
        assert_eq!(seen.status, 200, "{b}");
        assert!(!seen.body.contains("/governance/task-done"), "{b}");
        let refused = a.submit(
            "/policy",
            "/governance/task-done",
            &[("task", "KEYPAD"), ("evidence", "done")],
        );
        assert_eq!(refused.status, 403, "{b}");
        let mut s = signed_in(&server, "staff@example.org", &staff);
        assert_eq!(s.get("/governance").status, 403, "{b}");
        assert_eq!(s.get("/governance.csv").status, 403, "{b}");
        assert!(
            !s.get("/policy").body.contains("href=\"/governance\""),
            "{b}"
        );
        let refused = s.submit(
            "/policy",
            "/governance/task-done",
            &[("task", "KEYPAD"), ("evidence", "done")],
        );
        assert_eq!(refused.status, 403, "{b}");
        let refused = s.submit(
            "/policy",
            "/governance/dispose",
            &[("record", "REC-1"), ("method", "burnt")],
        );
        assert_eq!(refused.status, 403, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_register_imported_from_csv_all_or_nothing() {
    for db in databases("web_governance") {
        let b = db.backend;
        let Estate {
            steward,
            server,
            it,
            staff,
            ..
        } = estate(&db.url);
        let count = || {
            steward
                .list::<Person>()
                .unwrap_or_else(|e| panic!("{e}"))
                .len()
        };
        let mut c = signed_in(&server, "it@example.org", &it);

        let form = c.get("/import");
        assert_eq!(form.status, 200, "{b}");
        assert!(form.body.contains("<option value=\"people\">"), "{b}");
        assert!(!form.body.contains("value=\"organisation\""), "{b}");
        assert!(
            form.body.contains("<textarea id=\"csv\" name=\"csv\""),
            "{b}"
        );

        let good = "id,name,email,staff_group,status,manager_id\r\n\
                    N1,Nia Newcomer,n1@example.org,fca,starter,G1\r\n\
                    N2,\"Newman, Noah\",n2@example.org,fca,active,\r\n";
        // The upload answers at once with its job's page, which shows the import's result.
        let reply = c.submit(
            "/import",
            "/import",
            &[("register", "people"), ("csv", good)],
        );
        let job = c.follow_job(&reply);
        assert!(
            job.body.contains("<progress")
                && job.text_of("job-state").contains("done")
                && job
                    .body
                    .contains("Imported into people: 2 created, 0 updated, 0 unchanged."),
            "{b}: {}",
            job.body
        );
        assert_eq!(count(), 5, "{b}");
        let people = c.get("/people");
        assert!(
            people.body.contains("Nia Newcomer") && people.body.contains("Newman, Noah"),
            "{b}"
        );

        // One bad row refuses the whole file, naming its line and column; nothing is written.
        let bad = "id,name,email,staff_group,status\n\
                   N3,Nell Next,n3@example.org,fca,active\n\
                   N4,Ned Never,n4@example.org,fca,retired\n\
                   N1,Nia Renamed,n1@example.org,fca,active\n";
        let reply = c.submit(
            "/import",
            "/import",
            &[("register", "people"), ("csv", bad)],
        );
        let job = c.follow_job(&reply);
        assert!(
            job.text_of("job-state").contains("failed"),
            "{b}: {}",
            job.body
        );
        assert!(job.body.contains("role=\"alert\""), "{b}");
        assert!(
            job.body.contains("<tr><td>people.csv</td><td>status</td>")
                && job.body.contains("<li>line 3: retired</li>"),
            "{b}: {}",
            job.body
        );
        assert_eq!(count(), 5, "{b}: people changed");
        let n1: Option<Person> = steward.get("N1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n1.map(|p| p.name).as_deref(), Some("Nia Newcomer"), "{b}");
        let n3: Option<Person> = steward.get("N3").unwrap_or_else(|e| panic!("{e}"));
        assert!(n3.is_none(), "{b}");

        // A reference to nobody is refused the same way.
        let dangling = "id,name,staff_group,status,manager_id\nN5,Nora,fca,active,NOBODY\n";
        let reply = c.submit(
            "/import",
            "/import",
            &[("register", "people"), ("csv", dangling)],
        );
        let job = c.follow_job(&reply);
        assert!(
            job.text_of("job-state").contains("failed"),
            "{b}: {}",
            job.body
        );
        assert!(job.body.contains("manager_id"), "{b}: {}", job.body);
        assert_eq!(count(), 5, "{b}");

        // No register, an unknown one, the organisation's settings, or nothing pasted: refused
        // on the form itself, with what was pasted kept to be corrected.
        for (register, text) in [
            ("", good),
            ("staff", good),
            ("organisation", good),
            ("people", ""),
        ] {
            let reply = c.submit(
                "/import",
                "/import",
                &[("register", register), ("csv", text)],
            );
            assert_eq!(reply.status, 422, "{b}: {register:?}");
            assert!(reply.body.contains("role=\"alert\""), "{b}: {register:?}");
        }
        assert_eq!(count(), 5, "{b}");

        // A file too large to paste goes in as an upload, and a chosen file wins over pasted rows.
        let mut many = String::from("id,name,email,staff_group,status\n");
        for i in 0..2_000 {
            many.push_str(&format!(
                "U{i:04},Uploaded Person {i},u{i}@example.org,fca,active\n"
            ));
        }
        assert!(
            many.len() > 64 * 1024,
            "the upload must be larger than a form"
        );
        let reply = c.upload(
            "/import",
            "/import",
            &[("register", "people"), ("csv", bad)],
            &[("file", "new staff.csv", many.as_bytes())],
        );
        let job = c.follow_job(&reply);
        assert!(
            job.body.contains("new staff.csv: 2000 rows.")
                && job
                    .body
                    .contains("Imported into people: 2000 created, 0 updated"),
            "{b}: {}",
            job.body
        );
        assert_eq!(count(), 2_005, "{b}");
        // The job's file is gone with it.
        let id: i64 = reply
            .location()
            .trim_start_matches("/jobs/")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            steward
                .store()
                .job_files(id)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty(),
            "{b}"
        );

        // A bad uploaded file is named in its errors and changes nothing.
        let reply = c.upload(
            "/import",
            "/import",
            &[("register", "people")],
            &[("file", "C:\\Users\\it\\bad.csv", bad.as_bytes())],
        );
        let job = c.follow_job(&reply);
        assert!(
            job.body.contains("<tr><td>bad.csv</td><td>status</td>")
                && job.body.contains("<li>line 3: retired</li>"),
            "{b}: {}",
            job.body
        );
        assert_eq!(count(), 2_005, "{b}");

        // The jobs are listed for the IT team, newest first.
        let list = c.get("/jobs");
        assert_eq!(list.status, 200, "{b}");
        assert!(
            list.body
                .contains(&format!("<a href=\"/jobs/{id}\">{id}</a>"))
                && list.body.contains("web:it@example.org"),
            "{b}: {}",
            list.body
        );

        // An upload without the form's token, or to a form that takes no files, is refused.
        let head = steward
            .store()
            .audit_head()
            .unwrap_or_else(|e| panic!("{e}"));
        let forged = c.post_multipart(
            "/import",
            &[("register", "people")],
            &[("file", "x.csv", good.as_bytes())],
        );
        assert_eq!(forged.status, 403, "{b}: {}", forged.body);
        let csrf = c.get("/governance").csrf();
        let no_files = c.post_multipart(
            "/governance/task-done",
            &[("csrf", &csrf), ("task", "T1"), ("evidence", "x")],
            &[("file", "x.csv", b"x")],
        );
        assert_eq!(no_files.status, 400, "{b}: {}", no_files.body);
        assert!(no_files.body.contains("does not take files"), "{b}");
        assert_eq!(
            steward
                .store()
                .audit_head()
                .unwrap_or_else(|e| panic!("{e}")),
            head,
            "{b}: a refused upload changed something"
        );

        // Staff may not import, nor see another's job.
        let mut s = signed_in(&server, "staff@example.org", &staff);
        assert_eq!(s.get("/import").status, 403, "{b}");
        assert_eq!(s.get(&format!("/jobs/{id}")).status, 404, "{b}");
        assert!(!s.get("/jobs").body.contains("web:it@example.org"), "{b}");
        let refused = s.submit(
            "/policy",
            "/import",
            &[("register", "people"), ("csv", good)],
        );
        assert_eq!(refused.status, 403, "{b}");
        let csrf = s.get("/me").csrf();
        let refused = s.post_multipart(
            "/import",
            &[("csrf", &csrf), ("register", "people")],
            &[("file", "x.csv", good.as_bytes())],
        );
        assert_eq!(refused.status, 403, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_calendar_counts_working_days_and_loads_govuks_file() {
    use steward_calendar::{BankHoliday, Calendar, ENGLAND_AND_WALES};
    for db in databases("web_calendar") {
        let b = db.backend;
        let Estate {
            steward,
            server,
            it,
            staff,
            ..
        } = estate(&db.url);
        let sum = |c: &mut Client, query: &str| {
            let reply = c.get(&format!("/calendar?{query}"));
            assert_eq!(reply.status, 200, "{b}: {query}: {}", reply.body);
            reply.text_of("working-day-sum")
        };

        // Anyone may look; the shipped calendar knows Christmas 2026.
        let mut s = signed_in(&server, "staff@example.org", &staff);
        let year = s.get("/calendar?year=2026");
        assert_eq!(year.status, 200, "{b}");
        assert!(year.body.contains("Fri 25 Dec 2026"), "{b}: {}", year.body);
        assert!(
            !year.body.contains("type=\"file\""),
            "{b}: staff see no loader"
        );
        assert!(
            sum(&mut s, "from=2026-12-24&days=3").contains("Thu 31 Dec 2026"),
            "{b}"
        );
        // Bad questions are answered with the reason, in words.
        for (query, field) in [
            (
                "year=twenty",
                "Year: &#34;twenty&#34; is not a year from 1900 to 2200",
            ),
            (
                "from=2026-13-01&days=1",
                "From: &#34;2026-13-01&#34; is not a date such as 2026-03-01",
            ),
            (
                "days=-1",
                "Working days: &#34;-1&#34; is not a whole number of working days",
            ),
        ] {
            let reply = s.get(&format!("/calendar?{query}"));
            assert_eq!(reply.status, 422, "{b}: {query}");
            assert!(reply.body.contains(field), "{b}: {query}: {}", reply.body);
        }
        let file = |extra: Option<&str>| {
            let mut holidays: Vec<BankHoliday> = Calendar::shipped().holidays().cloned().collect();
            if let Some(date) = extra {
                holidays.push(BankHoliday {
                    date: date.parse().unwrap_or_else(|e| panic!("{date}: {e}")),
                    title: "Office move".into(),
                    notes: String::new(),
                });
            }
            Calendar::from_holidays(holidays).to_govuk_json(ENGLAND_AND_WALES)
        };
        let refused = s.post_multipart(
            "/calendar",
            &[("csrf", &year.csrf()), ("division", ENGLAND_AND_WALES)],
            &[("file", "bank-holidays.json", file(None).as_bytes())],
        );
        assert_eq!(refused.status, 403, "{b}: staff may not load a calendar");

        // The IT team loads gov.uk's file with one more closure day; the sum moves past it.
        let mut c = signed_in(&server, "it@example.org", &it);
        let shown = c.get("/calendar");
        assert!(
            shown.body.contains("enctype=\"multipart/form-data\""),
            "{b}"
        );
        let head = || {
            steward
                .store()
                .audit_head()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let before = head();
        for (division, name, contents, reason) in [
            (
                ENGLAND_AND_WALES,
                "broken.json",
                "{\"england-and-wales\": [".to_owned(),
                "broken.json: line 1",
            ),
            (
                "wales",
                "bank-holidays.json",
                file(None),
                "Division: &#34;wales&#34; is not one of",
            ),
            (ENGLAND_AND_WALES, "", String::new(), "The file: choose"),
        ] {
            let files: Vec<(&str, &str, &[u8])> = if name.is_empty() {
                Vec::new()
            } else {
                vec![("file", name, contents.as_bytes())]
            };
            let reply = c.upload("/calendar", "/calendar", &[("division", division)], &files);
            assert_eq!(reply.status, 422, "{b}: {name}: {}", reply.body);
            assert!(reply.body.contains(reason), "{b}: {name}: {}", reply.body);
        }
        assert_eq!(head(), before, "{b}: a refused file changed the calendar");

        let loaded = file(Some("2026-12-29"));
        let count = Calendar::from_govuk_json(&loaded, ENGLAND_AND_WALES)
            .unwrap_or_else(|e| panic!("{e}"))
            .holidays()
            .count();
        let reply = c.upload(
            "/calendar",
            "/calendar",
            &[("division", ENGLAND_AND_WALES)],
            &[("file", "bank-holidays.json", loaded.as_bytes())],
        );
        assert_eq!(reply.status, 200, "{b}: {}", reply.body);
        assert!(
            reply.body.contains(&format!(
                "Loaded {count} bank holidays from bank-holidays.json: {count} added, 0 changed"
            )),
            "{b}: {}",
            reply.body
        );
        assert_ne!(head(), before, "{b}: the load is in the audit log");
        assert!(
            sum(&mut s, "from=2026-12-24&days=3").contains("Mon 4 Jan 2027"),
            "{b}"
        );
        assert!(
            s.get("/calendar?year=2026").body.contains("Office move"),
            "{b}"
        );
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_register_is_listed_searched_and_downloaded() {
    for db in databases("web_registers") {
        let b = db.backend;
        let Estate {
            server,
            governance,
            staff,
            ..
        } = estate(&db.url);
        let mut c = signed_in(&server, "g@example.org", &governance);

        let index = c.get("/registers");
        assert_eq!(index.status, 200, "{b}: {}", index.body);
        let roles = row(&index, "roles").unwrap_or_else(|| panic!("{b}: no roles row"));
        assert!(roles.contains("<td>2</td>"), "{b}: {roles}");
        assert!(row(&index, "organisation").is_none(), "{b}");

        // A search looks in the register's text fields, any case.
        let found = c.get("/registers/people?q=PERSON%20g");
        assert_eq!(found.status, 200, "{b}");
        assert!(
            found.body.contains("<caption>1 found</caption>"),
            "{b}: {}",
            found.body
        );
        assert!(
            found.body.contains("Person G1") && !found.body.contains("Person S1"),
            "{b}"
        );

        // A row identified by several fields links to its record page all the same.
        let roles = c.get("/registers/roles");
        let link = "/register/role/G1%2Fgovernance";
        assert!(
            roles.body.contains(&format!("href=\"{link}\"")),
            "{b}: {}",
            roles.body
        );
        let record = c.get(link);
        assert_eq!(record.status, 200, "{b}: {}", record.body);
        assert!(record.body.contains("governance"), "{b}");

        // The rows found as CSV, in the register file's columns; with no search, all of them.
        let none = c.get("/registers/people.csv?q=nobody");
        assert_eq!(none.body.lines().count(), 1, "{b}: {}", none.body);
        let download = c.get("/registers/people.csv");
        assert_eq!(download.status, 200, "{b}");
        assert_eq!(
            download.header("content-disposition"),
            Some("attachment; filename=\"people.csv\""),
            "{b}"
        );
        let lines: Vec<&str> = download.body.lines().collect();
        assert!(
            lines.first().is_some_and(|h| h.starts_with("id,name,")),
            "{b}: {lines:?}"
        );
        assert_eq!(lines.len(), 4, "{b}: {lines:?}");

        for missing in [
            "/registers/organisation",
            "/registers/nothing",
            "/registers/people.csv.csv",
        ] {
            assert_eq!(c.get(missing).status, 404, "{b}: {missing}");
        }
        let mut s = signed_in(&server, "staff@example.org", &staff);
        assert_eq!(s.get("/registers").status, 403, "{b}");
        assert_eq!(s.get("/registers/people.csv").status, 403, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Every way in — an import, "set any field", a form — reaches the service's one authorisation
/// model: what it refuses, the web refuses with 403 and nothing changes.
#[test]
fn every_way_in_goes_through_the_services_authorisation() {
    for db in databases("web_authority") {
        let b = db.backend;
        let Estate {
            steward,
            server,
            it,
            staff,
            ..
        } = estate(&db.url);
        let admin = Stamp::now("test");
        steward
            .set_organisation(&admin, steward_service::default_organisation())
            .unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(&admin, &person("S2", "Person S2", None))
            .unwrap_or_else(|e| panic!("{e}"));
        steward
            .create(
                &admin,
                &Asset {
                    tag: "MOB1".into(),
                    kind: AssetKind::Smartphone,
                    model: None,
                    serial: None,
                    ownership: Ownership::Organisation,
                    status: AssetStatus::Allocated,
                    assigned_to: Some("S2".into()),
                    assigned_on: None,
                    budget_centre: None,
                    cost_gbp: None,
                    encrypted: Some(true),
                    pin_set: Some(true),
                    hotspot_password_set: None,
                    last_seen: None,
                    last_shutdown: None,
                    pending_patch_since: None,
                    imei: None,
                    os_version: None,
                    compliance_state: None,
                    azure_device_id: None,
                    source_id: None,
                    source: None,
                    source_seen: None,
                    missing_since: None,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let head = || {
            steward
                .verify_audit()
                .unwrap_or_else(|e| panic!("{e}"))
                .map(|h| h.seq)
        };
        let before = head();

        // An import: the IT team grants itself administrator.
        let mut c = signed_in(&server, "it@example.org", &it);
        let grant = "person_id,role,granted_on\r\nIT1,administrator,2026-12-01\r\n";
        let reply = c.submit(
            "/import",
            "/import",
            &[("register", "roles"), ("csv", grant)],
        );
        assert_eq!(reply.status, 403, "{b}: {}", reply.body);
        assert!(
            !steward
                .roles_of("IT1")
                .unwrap_or_else(|e| panic!("{e}"))
                .contains(&Role::Administrator),
            "{b}"
        );

        // "Set any field": the IT team renames the organisation.
        let reply = c.submit(
            "/register/asset/MOB1",
            "/register/organisation/organisation/set",
            &[("name", "Taken over")],
        );
        assert_eq!(reply.status, 403, "{b}: {}", reply.body);
        assert_ne!(
            steward
                .organisation()
                .unwrap_or_else(|e| panic!("{e}"))
                .name,
            "Taken over",
            "{b}"
        );

        // A form: a member of staff reports someone else's phone stolen.
        let mut s = signed_in(&server, "staff@example.org", &staff);
        let reply = s.submit(
            "/incidents/new",
            "/incidents",
            &[("type", "theft"), ("asset_tag", "MOB1")],
        );
        assert_eq!(reply.status, 403, "{b}: {}", reply.body);
        let phone: Asset = steward
            .get("MOB1")
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{b}: MOB1 gone"));
        assert_eq!(phone.status, AssetStatus::Allocated, "{b}");
        assert_eq!(head(), before, "{b}: nothing was written");

        // Reported as found instead: recorded, the phone left alone, its holder told.
        let found = s.submit(
            "/incidents/new",
            "/incidents",
            &[("type", "theft"), ("found_tag", "MOB1")],
        );
        assert_eq!(found.status, 303, "{b}: {}", found.body);
        let phone: Asset = steward
            .get("MOB1")
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{b}: MOB1 gone"));
        assert_eq!(phone.status, AssetStatus::Allocated, "{b}");
        let told: Vec<Notification> = steward.list().unwrap_or_else(|e| panic!("{e}"));
        assert!(told.iter().any(|n| n.recipient == "S2"), "{b}: {told:?}");
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}
