//! `steward import` on a file with the same mistake on many rows: a summary of each kind of
//! problem on standard error, every problem with `--all-errors`, and all of them as CSV with
//! `--errors FILE`; nothing imported in any case.

use std::process::{Command, Output};

use steward_store::testing::{TempDir, databases};

fn steward(url: &str, dir: &TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_DATABASE_URL", url)
        .env("STEWARD_DATA_DIR", dir.path())
        .env("STEWARD_ACTOR", "cli:test")
        .env_remove("STEWARD_CONFIG")
        .output()
        .expect("the steward binary runs")
}

#[test]
fn many_problems_are_summarised_and_written_out_whole() {
    // Every row's status is wrong; one row's date as well.
    const ROWS: usize = 40;
    let mut file = String::from("id,name,staff_group,status,start_date\n");
    for i in 0..ROWS {
        let date = if i == 7 { "24/12/2026" } else { "2026-12-24" };
        file.push_str(&format!("P{i:03},Person {i},fca,retired,{date}\n"));
    }
    let problems = ROWS + 1;
    for db in databases("cli_import_errors") {
        let b = db.backend;
        let dir = TempDir::new("cli_import_errors").expect("temp dir");
        let people = dir.path().join("people.csv");
        std::fs::write(&people, &file).expect("write");
        let path = people.to_str().unwrap_or_default();
        let prefix = format!("{}/", dir.path().display());
        let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).replace(&prefix, "");

        let out = steward(&db.url, &dir, &["import", "people", path]);
        assert_eq!(out.status.code(), Some(1), "{b}");
        let summary = stderr(&out);
        let lines: Vec<&str> = summary.lines().collect();
        let status =
            format!("{ROWS} × people.csv: status: expected one of starter|active|absent|leaver");
        assert!(lines.contains(&status.as_str()), "{b}: {summary}");
        let examples: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("  people.csv:"))
            .collect();
        assert_eq!(
            examples,
            (2..7)
                .map(|line| format!("  people.csv:{line}: status: retired"))
                .collect::<Vec<_>>(),
            "{b}: {summary}"
        );
        assert!(
            lines.contains(&format!("  … and {} more", ROWS - 5).as_str()),
            "{b}: {summary}"
        );
        assert!(
            lines.contains(&"people.csv:9: start_date: 24/12/2026: expected a date as YYYY-MM-DD"),
            "{b}: {summary}"
        );
        assert!(summary.contains("--all-errors"), "{b}: {summary}");
        assert_eq!(
            lines.last().copied(),
            Some(format!("error: {problems} problem(s); nothing was imported").as_str()),
            "{b}"
        );
        assert!(lines.len() < 15, "{b}: the summary is short: {summary}");

        // Every problem listed after the summary.
        let out = steward(&db.url, &dir, &["import", "people", path, "--all-errors"]);
        assert_eq!(out.status.code(), Some(1), "{b}");
        let all = stderr(&out);
        let listed = all
            .lines()
            .filter(|l| l.starts_with("people.csv:") && l.ends_with("leaver"))
            .count();
        assert_eq!(listed, ROWS, "{b}: {all}");

        // Every problem written as CSV.
        let csv = dir.path().join("problems.csv");
        let out = steward(
            &db.url,
            &dir,
            &[
                "import",
                "people",
                path,
                "--errors",
                csv.to_str().unwrap_or_default(),
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{b}");
        assert!(stderr(&out).contains("every problem written to"), "{b}");
        let written = std::fs::read_to_string(&csv).expect("the problems were written");
        let rows: Vec<&str> = written.lines().collect();
        assert_eq!(rows.first().copied(), Some("file,line,column,value,reason"));
        assert_eq!(rows.len(), 1 + problems, "{b}: {written}");
        assert_eq!(
            rows.iter()
                .filter(|r| r.contains(",status,retired,"))
                .count(),
            ROWS,
            "{b}"
        );

        // Nothing was imported.
        let out = steward(&db.url, &dir, &["export", "people"]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            1,
            "{b}"
        );
    }
}
