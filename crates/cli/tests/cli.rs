//! The binary end to end, on every test database: import, export, refusal of bad input, audit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use steward_store::testing::{TempDir, TestDatabase, databases};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

struct Run<'a> {
    db: &'a TestDatabase,
    dir: &'a TempDir,
}

impl Run<'_> {
    fn steward(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .env("STEWARD_DATABASE_URL", &self.db.url)
            .env("STEWARD_DATA_DIR", self.dir.path())
            .env("STEWARD_ACTOR", "cli:test")
            .env_remove("STEWARD_CONFIG")
            .output()
            .expect("the steward binary runs")
    }

    /// Runs and demands success, returning standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.steward(args);
        assert!(
            out.status.success(),
            "steward {args:?} on {} failed:\n{}",
            self.db.backend,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn each_backend(label: &str, story: impl Fn(&Run<'_>)) {
    for db in databases(label) {
        let dir = TempDir::new(label).expect("temp dir");
        story(&Run { db: &db, dir: &dir });
    }
}

fn assert_same_files(expected: &Path, actual: &Path, backend: steward_store::Backend) {
    for entry in std::fs::read_dir(expected).expect("fixture folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name");
        let want = std::fs::read_to_string(&path).expect("fixture");
        let got = std::fs::read_to_string(actual.join(name)).unwrap_or_default();
        assert_eq!(
            got,
            want,
            "{} differs after a round trip on {backend}",
            name.to_string_lossy()
        );
    }
}

#[test]
fn a_folder_imports_and_exports_back_unchanged() {
    each_backend("roundtrip", |run| {
        let estate = fixtures().join("estate");
        run.ok(&["import", estate.to_str().unwrap_or_default()]);
        let out = run.dir.path().join("export");
        run.ok(&["export", "all", "--out", out.to_str().unwrap_or_default()]);
        assert_same_files(&estate, &out, run.db.backend);

        // Re-importing the same folder changes nothing and audits nothing.
        let before = run.ok(&["audit", "verify"]);
        run.ok(&["import", estate.to_str().unwrap_or_default()]);
        assert_eq!(run.ok(&["audit", "verify"]), before);
        // 22 rows of the first six registers, 25 of usage, sightings, travel, training,
        // acceptances, questionnaires, adjustments and exceptions.
        assert!(
            before.starts_with("audit log verified: 47 records"),
            "{before}"
        );
        for file in [
            "usage.csv",
            "sightings.csv",
            "travel.csv",
            "training.csv",
            "acceptances.csv",
            "questionnaires.csv",
            "adjustments.csv",
            "exceptions.csv",
        ] {
            assert!(estate.join(file).is_file(), "fixture {file}");
        }
    });
}

#[test]
fn a_generated_organisation_round_trips() {
    each_backend("demo", |run| {
        let csv = run.dir.path().join("demo");
        run.ok(&[
            "demo",
            "--people",
            "300",
            "--seed",
            "7",
            "--today",
            "2026-11-24",
            "--usage-months",
            "2",
            "--out",
            csv.to_str().unwrap_or_default(),
        ]);
        // Every register has its file with rows (300 people have no adjustments on record).
        for register in steward_model::Register::ALL {
            let text = std::fs::read_to_string(csv.join(register.file_name())).unwrap_or_default();
            let rows = text.lines().count().saturating_sub(1);
            assert!(
                rows > 0 || register == steward_model::Register::Adjustments,
                "{register}: no rows"
            );
        }
        let usage = std::fs::read_to_string(csv.join("usage.csv")).unwrap_or_default();
        let months: std::collections::BTreeSet<&str> = usage
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next())
            .collect();
        assert_eq!(
            months.into_iter().collect::<Vec<_>>(),
            ["2026-09", "2026-10"]
        );
        run.ok(&["import", csv.to_str().unwrap_or_default()]);
        let out = run.dir.path().join("export");
        run.ok(&["export", "all", "--out", out.to_str().unwrap_or_default()]);
        assert_same_files(&csv, &out, run.db.backend);
    });
}

#[test]
fn usage_and_travel_must_refer_to_assets_and_people_that_exist() {
    each_backend("refs-more", |run| {
        run.ok(&[
            "import",
            fixtures().join("estate").to_str().unwrap_or_default(),
        ]);
        let dir = run.dir.path().join("more");
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("usage.csv"),
            "month,asset_tag,data_mb\n2026-11,MOB0001,10\n2026-11,MOB9999,10\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("travel.csv"),
            "id,person_id,countries,depart_on,return_on,status,approved_by\n\
             TR0009,P404,FR,2026-12-01,2026-12-03,approved,P001\n\
             TR0010,P002,FR,2026-12-01,2026-12-03,approved,P405\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("sightings.csv"),
            "asset_tag,seen_at,country\nLT0404,2026-11-20T08:00:00Z,GB\n",
        )
        .expect("write");
        let head = run.ok(&["audit", "verify"]);
        let out = run.steward(&["import", dir.to_str().unwrap_or_default()]);
        assert_eq!(out.status.code(), Some(1), "{}", run.db.backend);
        let stderr =
            String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", dir.display()), "");
        assert_eq!(
            stderr,
            "usage.csv:3: asset_tag: MOB9999: no asset with this id in the import or the database\n\
             sightings.csv:2: asset_tag: LT0404: no asset with this id in the import or the database\n\
             travel.csv:2: person_id: P404: no person with this id in the import or the database\n\
             travel.csv:3: approved_by: P405: no person with this id in the import or the database\n\
             error: 4 problem(s); nothing was imported\n",
            "on {}",
            run.db.backend
        );
        assert_eq!(run.ok(&["audit", "verify"]), head, "nothing was written");
    });
}

#[test]
fn a_row_keyed_on_several_fields_is_shown_changed_and_audited_by_its_key() {
    each_backend("keyed", |run| {
        run.ok(&[
            "import",
            fixtures().join("estate").to_str().unwrap_or_default(),
        ]);
        let shown = run.ok(&["register", "show", "usage", "2026-10/MOB0001"]);
        assert!(
            shown.contains("key                    2026-10/MOB0001"),
            "{shown}"
        );
        assert!(shown.contains("data_mb                5120"), "{shown}");
        let json = run.ok(&[
            "register",
            "show",
            "usage",
            "2026-10/MOB0001",
            "--format",
            "json",
        ]);
        assert!(json.contains("\"data_mb\": 5120"), "{json}");

        run.ok(&[
            "register",
            "set",
            "usage",
            "2026-10/MOB0001",
            "roaming_mb=800",
        ]);
        let log = run.ok(&["audit", "log", "--entity", "usage:2026-10/MOB0001"]);
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(
            lines[1].contains("update usage:2026-10/MOB0001 (roaming_mb: 760 → 800)"),
            "{log}"
        );

        // What identifies the row cannot change through it.
        for change in ["month=2026-11", "asset_tag=SIM0001", "key=2026-11/MOB0001"] {
            let out = run.steward(&["register", "set", "usage", "2026-10/MOB0001", change]);
            assert_eq!(out.status.code(), Some(1), "{change}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("part of the key")
                    || stderr.contains("derived from month, asset_tag"),
                "{change}: {stderr}"
            );
        }
        let out = run.steward(&[
            "register",
            "set",
            "travel",
            "TR0001",
            "return_on=2026-10-01",
        ]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("return_on: 2026-10-01: before the departure date 2026-10-10"),
            "{stderr}"
        );

        let sighting = run.ok(&[
            "audit",
            "log",
            "--entity",
            "sighting:MOB0001/2026-10-14T07:55:00Z",
        ]);
        assert!(
            sighting.contains("create sighting:MOB0001/2026-10-14T07:55:00Z"),
            "{sighting}"
        );
    });
}

#[test]
fn a_bad_file_is_refused_with_every_error_and_nothing_changes() {
    each_backend("bad", |run| {
        run.ok(&[
            "import",
            fixtures().join("estate").to_str().unwrap_or_default(),
        ]);
        let before = run.ok(&["export", "people"]);
        let head = run.ok(&["audit", "verify"]);

        let bad = fixtures().join("bad");
        let people = bad.join("people.csv");
        let out = run.steward(&["import", "people", people.to_str().unwrap_or_default()]);
        assert_eq!(out.status.code(), Some(1), "{}", run.db.backend);
        let stderr =
            String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", bad.display()), "");
        let expected = "\
people.csv:2: status: retired: expected one of starter|active|absent|leaver
people.csv:3: start_date: 24/12/2026: expected a date as YYYY-MM-DD
people.csv:4: name: : a value is required
people.csv:4: byod: maybe: expected true or false (empty for unknown)
people.csv:5: id: P002: duplicate id: first seen on line 3
error: 5 problem(s); nothing was imported
";
        assert_eq!(stderr, expected, "on {}", run.db.backend);

        // The whole folder: unknown column and a reference to nobody, across files.
        let out = run.steward(&["import", bad.to_str().unwrap_or_default()]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("assets.csv:1: colour: : unknown column"),
            "{stderr}"
        );

        assert_eq!(
            run.ok(&["export", "people"]),
            before,
            "people changed on {}",
            run.db.backend
        );
        assert_eq!(run.ok(&["audit", "verify"]), head);
    });
}

#[test]
fn references_must_exist_in_the_import_or_the_database() {
    each_backend("refs", |run| {
        let dir = run.dir.path();
        std::fs::write(
            dir.join("people.csv"),
            "id,name,staff_group,status,manager_id\nP1,Ann,fca,active,P9\nP2,Bo,fca,active,P3\nP3,Cy,fca,active,P2\n",
        )
        .expect("write");
        let out = run.steward(&[
            "import",
            "people",
            dir.join("people.csv").to_str().unwrap_or_default(),
        ]);
        let stderr =
            String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", dir.display()), "");
        assert_eq!(
            stderr,
            "people.csv:2: manager_id: P9: no person with this id in the import or the database\n\
             2 × people.csv: manager_id: the chain of managers loops back to this person\n  \
             people.csv:3: manager_id: P3\n  \
             people.csv:4: manager_id: P2\n\
             error: 3 problem(s); nothing was imported\n",
            "on {}",
            run.db.backend
        );
        // P1's manager now exists in the database: a second file may refer to it.
        std::fs::write(
            dir.join("people.csv"),
            "id,name,staff_group,status\nP9,Di,fca,active\n",
        )
        .expect("write");
        run.ok(&[
            "import",
            "people",
            dir.join("people.csv").to_str().unwrap_or_default(),
        ]);
        std::fs::write(
            dir.join("people.csv"),
            "id,name,staff_group,status,manager_id\nP1,Ann,fca,active,P9\n",
        )
        .expect("write");
        run.ok(&[
            "import",
            "people",
            dir.join("people.csv").to_str().unwrap_or_default(),
        ]);
    });
}

#[test]
fn reimport_updates_by_id_and_records_each_change() {
    each_backend("reimport", |run| {
        run.ok(&[
            "import",
            fixtures().join("estate").to_str().unwrap_or_default(),
        ]);
        let dir = run.dir.path();
        let assets =
            std::fs::read_to_string(fixtures().join("estate/assets.csv")).expect("fixture");
        // LT0001 moves from P002 to P005.
        let moved = assets.replace(
            "allocated,P002,2024-02-12,BC-LDN,1249.00",
            "allocated,P005,2026-11-30,BC-LDN,1249.00",
        );
        assert_ne!(moved, assets);
        std::fs::write(dir.join("assets.csv"), moved).expect("write");
        run.ok(&[
            "import",
            "assets",
            dir.join("assets.csv").to_str().unwrap_or_default(),
        ]);

        let log = run.ok(&["audit", "log", "--entity", "asset:LT0001"]);
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(lines[1].contains("update asset:LT0001 (assigned_on: 2024-02-12 → 2026-11-30; assigned_to: P002 → P005)"), "{log}");
        assert!(lines[1].contains("cli:"), "{log}");

        let history = run.ok(&["register", "history", "asset:LT0001"]);
        assert!(
            history.contains("P002           2024-02-12 2026-11-30"),
            "{history}"
        );
        assert!(
            history.contains("P005           2026-11-30 (holds it)"),
            "{history}"
        );
    });
}

#[test]
fn audit_verify_fails_after_tampering() {
    each_backend("tamper", |run| {
        run.ok(&[
            "import",
            fixtures().join("estate").to_str().unwrap_or_default(),
        ]);
        let sql = "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 7";
        // As the database's owner: the role Steward connects as may not update the log.
        run.db.execute(sql).expect("tamper");
        let out = run.steward(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(1));
        // The verdict is the command's result: on standard output, with the exit code.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.starts_with("audit log broken: record 7 was altered"),
            "{stdout}"
        );
    });
}

#[test]
fn single_records_are_read_and_changed_through_the_service() {
    each_backend("register", |run| {
        run.ok(&[
            "import",
            fixtures().join("estate").to_str().unwrap_or_default(),
        ]);
        run.ok(&[
            "register",
            "set",
            "asset",
            "LT0003",
            "status=in_repair",
            "cost_gbp=999",
        ]);
        let shown = run.ok(&["register", "show", "asset", "LT0003"]);
        assert!(
            shown.contains("status                 in_repair"),
            "{shown}"
        );
        assert!(shown.contains("cost_gbp               999.00"), "{shown}");

        let out = run.steward(&[
            "register",
            "set",
            "asset",
            "LT0003",
            "status=vanished",
            "assigned_to=P404",
        ]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("status: vanished: expected one of"),
            "{stderr}"
        );

        let out = run.steward(&["register", "set", "asset", "LT0003", "assigned_to=P404"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("assigned_to: P404: no person with this id"),
            "{stderr}"
        );

        run.ok(&[
            "org",
            "set",
            "--name",
            "Cafcass <Demo>",
            "--time-zone",
            "Europe/London",
        ]);
        assert!(run.ok(&["org", "show"]).contains("Cafcass <Demo>"));
        let out = run.steward(&["org", "set", "--time-zone", "Mars/Olympus"]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("not an IANA time zone"));
    });
}

#[test]
fn sign_in_accounts_from_the_command_line() {
    each_backend("accounts", |run| {
        // No password on the command line: it must come from the environment.
        let out = run.steward(&["account", "add", "ops@example.org", "--name", "Ops"]);
        assert!(!out.status.success(), "{}", run.db.backend);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("STEWARD_NEW_PASSWORD"),
            "{}",
            run.db.backend
        );
        let added = Command::new(env!("CARGO_BIN_EXE_steward"))
            .args([
                "account",
                "add",
                "Ops@Example.org",
                "--name",
                "Ops",
                "--role",
                "administrator",
            ])
            .env("STEWARD_DATABASE_URL", &run.db.url)
            .env("STEWARD_DATA_DIR", run.dir.path())
            .env("STEWARD_ACTOR", "cli:test")
            .env("STEWARD_NEW_PASSWORD", "a sound first password")
            .env_remove("STEWARD_CONFIG")
            .output()
            .expect("the steward binary runs");
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        let list = run.ok(&["account", "list"]);
        assert!(
            list.contains("ops@example.org") && list.contains("administrator"),
            "{list}"
        );
        assert!(list.contains("no-mfa"), "{list}");
        run.ok(&["account", "disable", "ops@example.org"]);
        assert!(run.ok(&["account", "list"]).contains("disabled"));
        run.ok(&["account", "enable", "ops@example.org"]);
        assert!(!run.ok(&["account", "list"]).contains("disabled"));
        // Every change is audited, and no secret is in the log.
        let log = run.ok(&["audit", "log", "--entity", "sign_in:ops@example.org"]);
        assert!(log.contains("disable") && log.contains("enable"), "{log}");
        assert!(!log.contains("argon2"), "{log}");
        run.ok(&["audit", "verify"]);
    });
}
