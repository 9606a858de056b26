//! Imports that help, over a real server on every test database: each register's template (its
//! header line, which imports back) and its columns described on `/import`; an import's many
//! problems shown on its job's page grouped by file, column and reason, a few lines of each, with
//! every one in the CSV download, to whoever may see the job and nobody else.

mod support;

use steward_model::{Person, Register};
use steward_service::{Capacity, Stamp, Steward};
use steward_store::testing::databases;
use support::{Client, Reply, Server, account, person};

/// How many lines of each kind of problem the job's page may show.
const EXAMPLES: usize = 5;

fn signed_in(server: &Server, email: &str, secret: &str) -> Client {
    let mut client = server.client();
    let reply = client.sign_in(email, support::PASSWORD, secret);
    assert_eq!(reply.status, 303, "{}", reply.body);
    client
}

/// The cells of each row of the table with this id, tags inside a cell left as they are.
fn table_rows(reply: &Reply, id: &str) -> Vec<Vec<String>> {
    let Some((_, table)) = reply.body.split_once(&format!("<table id=\"{id}\">")) else {
        return Vec::new();
    };
    let table = table.split_once("</table>").map_or(table, |(t, _)| t);
    let body = table.split_once("<tbody>").map_or("", |(_, b)| b);
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| cell.split_once("</td>").map_or(cell, |(c, _)| c).to_owned())
                .collect()
        })
        .collect()
}

fn uploaded(c: &mut Client, name: &str, file: &str) -> (Reply, String) {
    let reply = c.upload(
        "/import",
        "/import",
        &[("register", "people")],
        &[("file", name, file.as_bytes())],
    );
    let path = reply.location().to_owned();
    (c.follow_job(&reply), path)
}

#[test]
fn a_template_and_its_columns_for_every_register() {
    for db in databases("web_import_template") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let secret = account(
            &steward,
            "admin@example.org",
            None,
            &[Capacity::Administrator],
        );
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut c = signed_in(&server, "admin@example.org", &secret);

        // The header line is the register's CSV columns, from the model, and nothing else.
        let template = c.get("/import/template/people");
        assert_eq!(template.status, 200, "{b}: {}", template.body);
        assert!(
            template
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/csv")),
            "{b}"
        );
        assert_eq!(
            template.header("content-disposition"),
            Some("attachment; filename=\"people.csv\""),
            "{b}"
        );
        let names: Vec<&str> = Register::People.csv_fields().map(|(_, f)| f.name).collect();
        let lines: Vec<&str> = template.body.lines().collect();
        assert_eq!(lines.len(), 1, "{b}: only the header: {}", template.body);
        assert_eq!(
            lines[0].split(',').collect::<Vec<_>>(),
            names,
            "{b}: {}",
            template.body
        );

        // Filled in with one row beneath the header, it imports.
        let row: Vec<&str> = lines[0]
            .split(',')
            .map(|column| match column {
                "id" => "T1",
                "name" => "Tess Template",
                "email" => "t1@example.org",
                "staff_group" => "fca",
                "status" => "active",
                "start_date" => "2026-01-05",
                _ => "",
            })
            .collect();
        let filled = format!("{}{}\n", template.body, row.join(","));
        let (job, _) = uploaded(&mut c, "people.csv", &filled);
        assert!(
            job.text_of("job-state").contains("done")
                && job.body.contains("1 created, 0 updated, 0 unchanged"),
            "{b}: {}",
            job.body
        );
        let t1: Option<Person> = steward.get("T1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t1.map(|p| p.name).as_deref(), Some("Tess Template"), "{b}");

        // Every register that may be imported is reachable from the page, with each of its CSV
        // columns listed and a template whose header names them.
        let form = c.get("/import");
        assert_eq!(form.status, 200, "{b}");
        assert!(
            table_rows(&form, "file-columns").is_empty(),
            "{b}: none chosen"
        );
        for register in Register::ALL {
            let name = register.name();
            let link = format!("href=\"/import?register={name}#columns\"");
            if name == "organisation" {
                assert!(!form.body.contains(&link), "{b}");
                assert_eq!(c.get("/import/template/organisation").status, 404, "{b}");
                continue;
            }
            assert!(
                form.body.contains(&link),
                "{b}: no link to {name}'s columns"
            );
            let page = c.get(&format!("/import?register={name}"));
            assert_eq!(page.status, 200, "{b}: {name}");
            assert!(
                page.body
                    .contains(&format!("<option value=\"{name}\" selected>")),
                "{b}: {name} is chosen in the form"
            );
            let rows = table_rows(&page, "file-columns");
            let listed: Vec<String> = rows
                .iter()
                .map(|r| {
                    r.first()
                        .map(|c| c.trim_start_matches("<code>").trim_end_matches("</code>"))
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            let fields: Vec<&str> = register.csv_fields().map(|(_, f)| f.name).collect();
            assert_eq!(listed, fields, "{b}: {name}'s columns");
            for ((_, field), row) in register.csv_fields().zip(&rows) {
                let required = if field.required {
                    "required"
                } else {
                    "optional"
                };
                assert_eq!(
                    row.get(1).map(String::as_str),
                    Some(required),
                    "{b}: {name}"
                );
                assert!(
                    row.get(3).is_some_and(|takes| !takes.is_empty()),
                    "{b}: {name}.{}: says what it takes",
                    field.name
                );
            }
            let href = format!("/import/template/{name}");
            assert!(
                page.body.contains(&format!("href=\"{href}\"")),
                "{b}: {name}"
            );
            let template = c.get(&href);
            assert_eq!(template.status, 200, "{b}: {name}");
            assert_eq!(template.body.trim_end(), fields.join(","), "{b}: {name}");
        }

        // What the people register's columns take, in words.
        let page = c.get("/import?register=people");
        let rows = table_rows(&page, "file-columns");
        let takes = |column: &str| {
            rows.iter()
                .find(|r| {
                    r.first()
                        .is_some_and(|c| c.contains(&format!(">{column}<")))
                })
                .and_then(|r| r.get(3).cloned())
                .unwrap_or_default()
        };
        assert!(takes("start_date").contains("YYYY-MM-DD"), "{b}");
        assert!(takes("byod").contains("true or false"), "{b}");
        assert!(
            takes("status").contains("starter, active, absent, leaver"),
            "{b}: {}",
            takes("status")
        );
        assert!(takes("manager_id").contains("people register"), "{b}");
        assert!(takes("name").contains("at most 200 characters"), "{b}");

        // An unknown register has no template; nobody chosen is no error.
        assert_eq!(c.get("/import/template/staff").status, 404, "{b}");
        assert_eq!(c.get("/import/template/people.csv").status, 404, "{b}");
        let unknown = c.get("/import?register=staff");
        assert_eq!(unknown.status, 200, "{b}");
        assert!(table_rows(&unknown, "file-columns").is_empty(), "{b}");
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn many_problems_are_grouped_and_downloadable_whole() {
    for db in databases("web_import_errors") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let secret = account(
            &steward,
            "admin@example.org",
            None,
            &[Capacity::Administrator],
        );
        steward
            .create(&Stamp::now("test"), &person("S1", "Sam Staff", None))
            .unwrap_or_else(|e| panic!("{e}"));
        let staff = account(&steward, "staff@example.org", Some("S1"), &[]);
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut c = signed_in(&server, "admin@example.org", &secret);
        let people = || {
            steward
                .list::<Person>()
                .unwrap_or_else(|e| panic!("{e}"))
                .len()
        };
        let before = people();

        // Hundreds of rows with the same wrong status (one of them a formula), a few dates
        // written day first, one bad email address and one id given twice. Row i is on line
        // i + 2.
        const ROWS: usize = 900;
        let mut file = String::from("id,name,email,staff_group,status,start_date\n");
        let mut expected: Vec<(&str, &str, usize)> = Vec::new();
        for i in 0..ROWS {
            let status = if i == 450 { "=2+3" } else { "retired" };
            file.push_str(&format!(
                "P{i:04},Person {i},p{i}@example.org,fca,{status},2026-01-05\n"
            ));
        }
        expected.push(("status", "expected one of", ROWS));
        for i in 0..3 {
            file.push_str(&format!(
                "D{i},Dated {i},d{i}@example.org,fca,active,0{}/01/2026\n",
                i + 1
            ));
        }
        expected.push(("start_date", "YYYY-MM-DD", 3));
        file.push_str("E1,Emailed,not-an-address,fca,active,\n");
        expected.push(("email", "email address", 1));
        file.push_str("D0,Twice,twice@example.org,fca,active,\n");
        expected.push(("id", "duplicate id", 1));
        let total: usize = expected.iter().map(|(_, _, n)| n).sum();

        let (job, path) = uploaded(&mut c, "people.csv", &file);
        assert!(
            job.text_of("job-state").contains("failed"),
            "{b}: {}",
            job.body
        );
        assert_eq!(people(), before, "{b}: nothing was imported");
        assert!(
            job.body.contains("href=\"/import?register=people\""),
            "{b}: back to the form, with the register's columns"
        );

        // One row per kind of problem, with its count and no more than the first few lines.
        let groups = table_rows(&job, "problem-groups");
        let got: Vec<(String, usize)> = groups
            .iter()
            .map(|g| {
                let count = g
                    .get(3)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("{b}: no count in {g:?}"));
                (g.get(1).cloned().unwrap_or_default(), count)
            })
            .collect();
        let want: Vec<(String, usize)> = expected
            .iter()
            .map(|(column, _, n)| ((*column).to_owned(), *n))
            .collect();
        assert_eq!(got, want, "{b}: {}", job.text_of("problem-summary"));
        for (g, (column, reason, count)) in groups.iter().zip(&expected) {
            assert!(
                g.first().is_some_and(|f| f == "people.csv"),
                "{b}: {column}: {g:?}"
            );
            assert!(
                g.get(2).is_some_and(|r| r.contains(reason)),
                "{b}: {column}: {g:?}"
            );
            let examples = g.get(4).cloned().unwrap_or_default();
            let shown = examples.matches("<li>line ").count();
            assert_eq!(shown, (*count).min(EXAMPLES), "{b}: {column}: {examples}");
            if *count > EXAMPLES {
                assert!(
                    examples.contains(&format!("<li>and {} more</li>", count - EXAMPLES)),
                    "{b}: {column}: {examples}"
                );
            }
        }
        let status = groups
            .first()
            .and_then(|g| g.get(4))
            .cloned()
            .unwrap_or_default();
        for line in 2..2 + EXAMPLES {
            assert!(
                status.contains(&format!("<li>line {line}: retired</li>")),
                "{b}: the first lines, in order: {status}"
            );
        }
        assert!(!job.body.contains("line 300"), "{b}: only the first lines");
        assert!(
            job.text_of("problem-summary")
                .contains(&format!("{total} problems of {} kinds", expected.len())),
            "{b}: {}",
            job.text_of("problem-summary")
        );
        // Every problem as an HTML line would take some 90 kB; grouped, the page stays small.
        assert!(
            job.body.len() < 40_000,
            "{b}: the job's page is {} bytes",
            job.body.len()
        );

        // The download has every problem, one line each, formulas guarded.
        let href = format!("{path}/errors.csv");
        assert!(job.body.contains(&format!("href=\"{href}\"")), "{b}");
        let csv = c.get(&href);
        assert_eq!(csv.status, 200, "{b}: {}", csv.body);
        assert!(
            csv.header("content-type")
                .is_some_and(|t| t.starts_with("text/csv")),
            "{b}"
        );
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some("file,line,column,value,reason"),
            "{b}"
        );
        assert_eq!(lines.len(), 1 + total, "{b}");
        for (column, _, count) in &expected {
            let found = lines
                .iter()
                .filter(|l| l.split(',').nth(2) == Some(*column))
                .count();
            assert_eq!(found, *count, "{b}: {column}");
        }
        for i in 0..ROWS {
            let value = if i == 450 { "'=2+3" } else { "retired" };
            let line = format!("people.csv,{},status,{value},", i + 2);
            assert!(lines.iter().any(|l| l.starts_with(&line)), "{b}: no {line}");
        }

        // A mistake on thousands of rows that only the database can find (a manager nobody
        // is): one kind of problem, the page still small, the download whole.
        const DANGLING: usize = 2_500;
        let mut file = String::from("id,name,staff_group,status,manager_id\n");
        for i in 0..DANGLING {
            file.push_str(&format!("M{i:04},Managed {i},fca,active,NOBODY\n"));
        }
        let (job, path) = uploaded(&mut c, "managed.csv", &file);
        let groups = table_rows(&job, "problem-groups");
        assert_eq!(groups.len(), 1, "{b}: {}", job.body);
        assert_eq!(
            groups[0].get(3).map(String::as_str),
            Some(DANGLING.to_string().as_str()),
            "{b}"
        );
        assert!(
            job.body.len() < 40_000,
            "{b}: the job's page is {} bytes",
            job.body.len()
        );
        let csv = c.get(&format!("{path}/errors.csv"));
        assert_eq!(csv.body.lines().count(), 1 + DANGLING, "{b}");
        assert_eq!(people(), before, "{b}: nothing was imported");

        // Whoever may not see the job may not download its problems, nor take a template.
        let mut s = signed_in(&server, "staff@example.org", &staff);
        assert_eq!(s.get(&path).status, 404, "{b}");
        let refused = s.get(&format!("{path}/errors.csv"));
        assert_eq!(refused.status, 404, "{b}");
        assert!(!refused.body.contains("NOBODY"), "{b}");
        assert_eq!(s.get("/import/template/people").status, 403, "{b}");
        assert_eq!(c.get("/jobs/999999/errors.csv").status, 404, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}
