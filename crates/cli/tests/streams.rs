//! Results on standard output, diagnostics on standard error: `steward import demo/ > log` keeps
//! what was imported. One table of commands, run in order on every test database; each row says
//! what its result must say on standard output, and which lines (warnings, hints) standard error
//! may hold.

use std::path::Path;
use std::process::Command;

use steward_store::testing::{TempDir, databases};

struct Case {
    /// Arguments; `{dir}` stands for the test's temporary folder.
    args: &'static [&'static str],
    /// Extra environment.
    env: &'static [(&'static str, &'static str)],
    /// The exit code.
    code: i32,
    /// Text the result holds on standard output (for JSON: in the document).
    result: &'static str,
    /// Standard output is one JSON document.
    json: bool,
    /// How the lines standard error may hold begin (a warning or a hint, never the result).
    diagnostics: &'static [&'static str],
}

const fn case(args: &'static [&'static str], result: &'static str) -> Case {
    Case {
        args,
        env: &[],
        code: 0,
        result,
        json: false,
        diagnostics: &[],
    }
}

const fn json(args: &'static [&'static str], result: &'static str) -> Case {
    Case {
        json: true,
        ..case(args, result)
    }
}

const CASES: &[Case] = &[
    case(
        &[
            "demo",
            "--people",
            "30",
            "--seed",
            "3",
            "--today",
            "2026-11-24",
            "--usage-months",
            "1",
            "--out",
            "{dir}/demo",
        ],
        "demo organisation of 30 people",
    ),
    case(&["import", "{dir}/demo"], "people: 30 created, 0 updated"),
    case(
        &["import", "people", "{dir}/demo/people.csv"],
        "people: 0 created, 0 updated, 30 unchanged",
    ),
    case(
        &["export", "people", "--out", "{dir}/people.csv"],
        "people.csv: 30 rows",
    ),
    case(
        &["export", "all", "--out", "{dir}/export"],
        "people.csv: 30 rows",
    ),
    case(&["export", "people"], "id,name,email,staff_group"),
    case(
        &["register", "show", "person", "P000001"],
        "name                   Daniel Cook",
    ),
    json(
        &["register", "show", "person", "P000001", "--format", "json"],
        "Daniel Cook",
    ),
    case(
        &["register", "set", "person", "P000001", "name=Dan Cook"],
        "person P000001: updated",
    ),
    case(
        &["register", "history", "person:P000001"],
        "LT000001       P000001",
    ),
    case(&["org", "show"], "time_zone  Europe/London"),
    case(
        &["policy", "activate", "cafcass-it-5.0"],
        "cafcass-it-5.0 is now active",
    ),
    case(
        &["check", "--at", "2026-11-24T09:00:00Z"],
        "finding(s) at 2026-11-24T09:00:00Z",
    ),
    json(
        &["check", "--at", "2026-11-24T09:00:00Z", "--format", "json"],
        "\"findings\"",
    ),
    // A finding at or above the threshold fails the command; the findings are still its result.
    Case {
        code: 1,
        ..case(
            &["check", "--at", "2026-11-24T09:00:00Z", "--fail-on", "info"],
            "finding(s) at 2026-11-24T09:00:00Z",
        )
    },
    case(
        &[
            "check",
            "--data",
            "{dir}/demo",
            "--at",
            "2026-11-24T09:00:00Z",
            "--pack",
            "cafcass-it-5.0",
            "--format",
            "csv",
        ],
        "pack,version,clause,control",
    ),
    case(&["audit", "verify"], "audit log verified:"),
    json(&["audit", "verify", "--format", "json"], "\"ok\":true"),
    case(&["audit", "head"], ":"),
    case(
        &["audit", "log", "--entity", "person:P000001"],
        "update person:P000001 (name: Daniel Cook → Dan Cook)",
    ),
    Case {
        diagnostics: &["check it later with: steward audit verify --expect "],
        ..case(&["audit", "anchor"], "would be sent to ")
    },
    case(&["audit", "anchors"], "0 anchor(s) sent"),
    case(
        &["governance", "due", "--on", "2026-11-24", "--within", "30"],
        "OVERDUE",
    ),
    case(&["calendar", "add", "2026-12-24", "3"], "2026-12-31"),
    case(
        &[
            "request",
            "open",
            "international-travel",
            "--person",
            "P000002",
            "--set",
            "countries=FR;BE",
            "--set",
            "depart_on=2026-12-02",
            "--set",
            "return_on=2026-12-09",
        ],
        "international-travel for P000002: open",
    ),
    case(
        &["request", "list"],
        "international-travel         P000002    open",
    ),
    json(&["request", "list", "--format", "json"], "P000002"),
    case(
        &[
            "incident",
            "report",
            "loss",
            "--person",
            "P000001",
            "--set",
            "asset_tag=MOB000001",
        ],
        "MOB000001 marked lost",
    ),
    case(&["incident", "list"], "loss             P000001"),
    case(&["mail", "pending"], "notice(s) waiting"),
    json(&["mail", "pending", "--format", "json"], "\"recipient\""),
    case(&["mail", "digest", "--dry-run"], "digest(s) would be sent"),
    json(
        &["mail", "digest", "--dry-run", "--format", "json"],
        "\"own\"",
    ),
    case(&["policy", "list"], "cafcass-it-5.0"),
    Case {
        env: &[(
            "STEWARD_NEW_PASSWORD",
            "a long and unguessable first password",
        )],
        ..case(
            &[
                "account",
                "add",
                "it@example.org",
                "--name",
                "IT",
                "--person",
                "P000004",
            ],
            "it@example.org added",
        )
    },
    case(&["account", "list"], "it@example.org"),
    case(&["jobs", "list"], "requested by"),
    json(&["jobs", "list", "--format", "json"], "["),
    case(&["backup", "{dir}/backup.db"], ", verified"),
];

#[test]
fn every_command_puts_its_result_on_standard_output() {
    for db in databases("streams") {
        let b = db.backend;
        let dir = TempDir::new("streams").expect("temp dir");
        let folder = dir.path().to_string_lossy().into_owned();
        for case in CASES {
            let args: Vec<String> = case
                .args
                .iter()
                .map(|a| a.replace("{dir}", &folder))
                .collect();
            let out = Command::new(env!("CARGO_BIN_EXE_steward"))
                .args(&args)
                .envs(case.env.iter().copied())
                .env("STEWARD_DATABASE_URL", &db.url)
                .env("STEWARD_DATA_DIR", dir.path().join("data"))
                .env_remove("STEWARD_CONFIG")
                .env_remove("STEWARD_LOG")
                .current_dir(dir.path())
                .output()
                .expect("the steward binary runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let shown = format!("[{b}] steward {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
            assert_eq!(out.status.code(), Some(case.code), "{shown}");
            assert!(!stdout.trim().is_empty(), "nothing on stdout: {shown}");
            assert!(stdout.contains(case.result), "{shown}");
            if case.json {
                assert!(
                    serde_json::from_str::<serde_json::Value>(&stdout).is_ok(),
                    "stdout is not one JSON document: {shown}"
                );
            }
            // Standard error holds only the diagnostics the row names: no result line.
            assert!(!stderr.contains(case.result), "{shown}");
            for line in stderr.lines() {
                assert!(
                    case.diagnostics.iter().any(|d| line.starts_with(d)),
                    "unexpected on stderr: {line:?}: {shown}"
                );
            }
        }
        assert!(Path::new(&folder).join("backup.db").is_file());
    }
}
