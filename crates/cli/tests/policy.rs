//! `steward policy` end to end: the real binary, a temporary data directory, the built-in pack and
//! copies of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use steward_policy::{Pack, builtin_pack};
use steward_store::testing::TempDir;

const PACK: &str = "cafcass-it-5.0";

/// The built-in pack's source folder.
fn pack_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packs")
        .join(PACK)
}

fn pack() -> Pack {
    match builtin_pack(PACK) {
        Some(Ok(p)) => p,
        Some(Err(e)) => panic!("the built-in pack does not load: {e:?}"),
        None => panic!("no built-in pack {PACK}"),
    }
}

/// The source document's clause inventory (the policy crate's test data).
fn inventory() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policy/tests/inventories/001_8d54d1cb838918ff.tsv");
    assert!(
        path.is_file(),
        "the clause inventory {} is missing: the coverage tests must not pass without it",
        path.display()
    );
    path
}

/// The inventory's clause ids, in order.
fn inventory_ids() -> Vec<String> {
    let text = std::fs::read_to_string(inventory()).expect("the inventory reads");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap_or_default().trim().to_owned())
        .collect()
}

/// A data directory of its own and the binary run against it.
struct Steward {
    data: TempDir,
}

impl Steward {
    fn new(label: &str) -> Steward {
        Steward {
            data: TempDir::new(label).expect("temp dir"),
        }
    }

    fn dir(&self) -> &Path {
        self.data.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .env("STEWARD_DATA_DIR", self.dir())
            .env_remove("STEWARD_CONFIG")
            .env_remove("STEWARD_DATABASE_URL")
            .env_remove("STEWARD_LOG_FORMAT")
            .output()
            .expect("the steward binary runs")
    }

    /// Runs and demands success, returning standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "steward {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and demands exit code 1, returning standard output and standard error.
    fn fails(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "steward {args:?} should exit 1:\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "steward {args:?} panicked: {stderr}"
        );
        (stdout, stderr)
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("steward {args:?}: not JSON ({e}):\n{out}"))
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// A copy of the built-in pack's files (not its cases) in `folder`, each changed by `edit`.
    fn copy_pack(&self, folder: &str, edit: impl Fn(&str, String) -> String) -> PathBuf {
        for name in ["pack.toml", "clauses.toml"] {
            let text = std::fs::read_to_string(pack_folder().join(name)).expect("pack file");
            self.write(&format!("{folder}/{name}"), &edit(name, text));
        }
        self.dir().join(folder)
    }
}

/// The line of `text` whose first word is `first`, its words joined by single spaces.
fn row(text: &str, first: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|l| l.split(' ').next() == Some(first))
        .unwrap_or_else(|| panic!("no line for {first} in:\n{text}"))
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn list_shows_the_builtin_pack_as_active_with_its_review_overdue() {
    let s = Steward::new("policy_list");
    let p = pack();
    let (clauses, controls) = (p.clauses.len(), p.controls().count());

    // A fresh installation runs no pack until one is chosen.
    let before = s.ok(&["policy", "list"]);
    assert!(row(&before, PACK).ends_with(" no built-in"), "{before}");
    s.ok(&["policy", "activate", PACK]);

    let text = s.ok(&["policy", "list"]);
    assert_eq!(
        row(&text, "id"),
        "id title organisation version approved next review clauses controls active from"
    );
    assert_eq!(
        row(&text, PACK),
        format!(
            "cafcass-it-5.0 IT Policy and Procedures Cafcass 5.0 2023-05-25 2024-03-31 review overdue {clauses} {controls} yes built-in"
        )
    );
    // Columns line up: every row is as wide as the header up to the last column.
    let header = text.lines().next().expect("a header");
    let line = text
        .lines()
        .find(|l| l.starts_with(PACK))
        .expect("the pack's row");
    assert_eq!(header.find(" from"), line.find(" built-in"));

    let listed = s.json(&["policy", "list", "--format", "json"]);
    let ours = listed["packs"]
        .as_array()
        .and_then(|packs| packs.iter().find(|p| p["id"] == PACK))
        .cloned()
        .expect("the pack is listed");
    assert_eq!(
        ours,
        json!({
            "id": PACK,
            "title": "IT Policy and Procedures",
            "organisation": "Cafcass",
            "version": "5.0",
            "approved_on": "2023-05-25",
            "next_review": "2024-03-31",
            "review_overdue": true,
            "clauses": clauses,
            "controls": controls,
            "active": true,
            "source": "built-in",
        })
    );
    // Another version of the same document is available but not active: one runs at a time.
    let older = listed["packs"]
        .as_array()
        .and_then(|packs| packs.iter().find(|p| p["id"] == "cafcass-it-2.2"))
        .cloned()
        .expect("v2.2 is built in");
    assert_eq!(older["active"], false);
}

#[test]
fn list_includes_the_organisations_own_packs_and_the_configured_active_ones() {
    let s = Steward::new("policy_list_own");
    let folder = s.copy_pack("packs/ours-1.0", |name, text| {
        if name == "pack.toml" {
            text.replace(r#"id = "cafcass-it-5.0""#, r#"id = "ours-1.0""#)
                .replace("next_review = 2024-03-31", "next_review = 2999-01-01")
        } else {
            text
        }
    });
    s.write("steward.toml", "packs = [\"ours-1.0\"]\n");
    let text = s.ok(&["policy", "list"]);
    assert!(row(&text, PACK).ends_with(" no built-in"), "{text}");
    assert!(
        row(&text, "ours-1.0").ends_with(&format!(
            "2023-05-25 2999-01-01 {} {} yes {}",
            pack().clauses.len(),
            pack().controls().count(),
            folder.display()
        )),
        "{text}"
    );

    // An active pack that is not there, or a folder that does not load, is an error.
    s.write("steward.toml", "packs = [\"ours-1.0\", \"missing-1.0\"]\n");
    s.write("packs/broken/pack.toml", "[pack]\nid = \"broken\"\n");
    let (stdout, stderr) = s.fails(&["policy", "list"]);
    assert!(stdout.contains("ours-1.0"), "{stdout}");
    assert!(
        stderr.contains(
            "error: the configuration's `packs` names missing-1.0, which is not an available pack"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{}: the pack does not load",
            s.dir().join("packs/broken").display()
        )),
        "{stderr}"
    );
}

#[test]
fn show_gives_each_parameter_its_effective_value_and_where_it_came_from() {
    let s = Steward::new("policy_show");

    // No overrides: every value is the pack's.
    let text = s.ok(&["policy", "show", PACK]);
    assert!(
        text.starts_with("cafcass-it-5.0: IT Policy and Procedures\n"),
        "{text}"
    );
    assert_eq!(
        row(&text, "laptop_offline_days"),
        "laptop_offline_days 14 days pack"
    );
    assert_eq!(row(&text, "owner"), "owner Robert Langley, CIO");
    assert_eq!(
        row(&text, "next"),
        "next review 2024-03-31 (the document says: March 2024 (or by projects)), review overdue"
    );
    assert_eq!(
        row(&text, "fca"),
        "fca pack 1 laptop, 1 smartphone Family Court Advisers"
    );
    assert_eq!(
        row(&text, "other-staff"),
        "other-staff pack 1 laptop, 1 smartphone or voice_phone All other staff, including Bank Workers, CMT, OMT and corporate staff"
    );

    // The organisation's overrides file in the data directory.
    let overrides = s.write(
        "overrides.toml",
        "[parameters]\nlaptop_offline_days = 21\n\n[staff_groups.trustees]\nname = \"Trustees\"\nbyod = true\n",
    );
    let text = s.ok(&["policy", "show", PACK]);
    assert_eq!(
        row(&text, "laptop_offline_days"),
        "laptop_offline_days 21 days organisation 14 days"
    );
    assert_eq!(
        row(&text, "weekly_shutdown_days"),
        "weekly_shutdown_days 7 days pack"
    );
    assert_eq!(
        row(&text, "trustees"),
        "trustees organisation no organisation hardware; own devices (BYOD) Trustees"
    );
    assert_eq!(
        row(&text, "overrides"),
        format!("overrides {}", overrides.display())
    );

    let shown = s.json(&["policy", "show", PACK, "--format", "json"]);
    let param = |name: &str| {
        shown["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no parameter {name} in {shown}"))
    };
    let laptop = param("laptop_offline_days");
    assert_eq!(
        (&laptop["value"], &laptop["origin"], &laptop["pack_value"]),
        (&json!(21), &json!("organisation"), &json!(14))
    );
    let shutdown = param("weekly_shutdown_days");
    assert_eq!(
        (&shutdown["value"], &shutdown["origin"]),
        (&json!(7), &json!("pack"))
    );

    // The configuration's `overrides` key, relative to the configuration file, wins.
    s.write(
        "org/pack-settings.toml",
        "[parameters]\nlaptop_offline_days = 30\n",
    );
    s.write("steward.toml", "overrides = \"org/pack-settings.toml\"\n");
    let text = s.ok(&["policy", "show", PACK]);
    assert_eq!(
        row(&text, "laptop_offline_days"),
        "laptop_offline_days 30 days organisation 14 days"
    );

    // Overrides that do not fit the pack are an error that names the file.
    s.write(
        "org/pack-settings.toml",
        "[parameters]\nlaptop_offline_days = \"three weeks\"\n",
    );
    let (_, stderr) = s.fails(&["policy", "show", PACK]);
    let file = s.dir().join("org/pack-settings.toml");
    assert!(
        stderr.contains(&format!(
            "cafcass-it-5.0: {}: parameter `laptop_offline_days` is a int",
            file.display()
        )),
        "{stderr}"
    );

    // So is a pack that is not there.
    let (_, stderr) = s.fails(&["policy", "show", "no-such-pack"]);
    assert!(
        stderr.starts_with(
            "error: there is no pack no-such-pack; the available packs are cafcass-it-5.0"
        ),
        "{stderr}"
    );
}

#[test]
fn show_with_a_clause_prints_its_text_and_every_control() {
    let s = Steward::new("policy_clause");
    let p = pack();
    let clause = p.clause("2.6(w)").expect("clause 2.6(w)");

    let text = s.ok(&["policy", "show", PACK, "2.6(w)"]);
    assert!(
        text.starts_with("cafcass-it-5.0 clause 2.6(w)\n\n  Take responsibility for ensuring"),
        "{text}"
    );
    assert!(words(&text).contains(&words(&clause.text)), "{text}");
    for c in &clause.controls {
        assert!(
            text.contains(&format!("\n  {}\n", c.id)),
            "{} missing:\n{text}",
            c.id
        );
    }
    for line in [
        "3 controls",
        "kind check on each asset",
        "scope asset kinds: laptop; ownership: organisation; asset statuses: allocated, on_loan",
        "rule asset.last_seen != null && now - asset.last_seen <= days(params.laptop_offline_days)",
        "parameters laptop_offline_days = 14 days (pack)",
        "evidence asset.last_seen, asset.holder.name",
        "severity medium",
        "who acts person",
        "grace 0 days",
        "escalation after 7 days to line_manager, after 14 days to it_team",
        "kind attestation",
        "re-accept when the clause changes materially",
    ] {
        assert!(
            text.lines().any(|l| words(l) == line),
            "no line `{line}` in:\n{text}"
        );
    }
    assert!(
        words(&text).contains(
            "remediation Connect the laptop and keep it connected for two hours so that it catches up with missing updates; if it is lost, report it."
        ),
        "{text}"
    );
    // The finding in both voices: as lists show it, and as its person's own page says it.
    assert!(
        words(&text).contains(
            "message Laptop {asset.tag} has not connected to the network for more than {params.laptop_offline_days} days (last seen {asset.last_seen|never}). to the person Your laptop {asset.tag} has not connected"
        ),
        "{text}"
    );

    let shown = s.json(&["policy", "show", PACK, "2.6(w)", "--format", "json"]);
    assert_eq!(shown["clause"], "2.6(w)");
    assert_eq!(shown["text"], clause.text.as_str());
    let first = &shown["controls"][0];
    assert_eq!(first["id"], "laptop-connected-within-14-days");
    assert_eq!(first["kind"], "check");
    assert_eq!(first["subject"], "asset");
    assert_eq!(
        first["message_you"],
        "Your laptop {asset.tag} has not connected to the network for more than {params.laptop_offline_days} days (last seen {asset.last_seen|never})."
    );
    // Only a check has one.
    assert_eq!(shown["controls"][2]["kind"], "attestation");
    assert_eq!(shown["controls"][2].get("message_you"), None);
    assert_eq!(
        first["parameters"],
        json!([{"name": "laptop_offline_days", "value": 14, "origin": "pack"}])
    );

    let (_, stderr) = s.fails(&["policy", "show", PACK, "2.6(zz)"]);
    assert!(
        stderr.starts_with("error: the pack cafcass-it-5.0 has no clause 2.6(zz); did you mean one of 2.6(a), 2.6(b),"),
        "{stderr}"
    );
}

#[test]
fn validate_prints_every_error_at_its_file_line_and_column() {
    let s = Steward::new("policy_validate");
    // Two mistakes in clause 2.6(w)'s first check: a misspelt parameter and severity.
    let folder = s.copy_pack("broken", |name, text| {
        if name != "clauses.toml" {
            return text;
        }
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let start = lines
            .iter()
            .position(|l| l == "id = \"laptop-connected-within-14-days\"")
            .expect("the control");
        for l in &mut lines[start..] {
            if l.starts_with("rule = ") {
                *l = l.replace("params.laptop_offline_days", "params.laptop_ofline_days");
            }
            if l == "severity = \"medium\"" {
                *l = "severity = \"hgih\"".to_owned();
                break;
            }
        }
        lines.join("\n") + "\n"
    });
    let text = std::fs::read_to_string(folder.join("clauses.toml")).expect("clauses");
    let at = |needle: &str| {
        let (i, line) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .expect("the broken line");
        (i + 1, line.find(needle).expect("needle") + 1)
    };
    let (rule_line, rule_column) = at("params.laptop_ofline_days");
    let (severity_line, severity_column) = at("\"hgih\"");
    assert_eq!(severity_column, 12);

    let path = folder.display().to_string();
    let (stdout, stderr) = s.fails(&["policy", "validate", &path]);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "cafcass-it-5.0: clauses.toml:{rule_line}:{rule_column}: clause 2.6(w): control laptop-connected-within-14-days: unknown parameter `params.laptop_ofline_days`\n\
             cafcass-it-5.0: clauses.toml:{severity_line}:{severity_column}: clause 2.6(w): control laptop-connected-within-14-days: unknown severity `hgih`, expected one of info|low|medium|high|critical\n\
             error: 2 problems in {path}\n"
        )
    );

    // The source folder (with its test cases) and the built-in pack are valid.
    let p = pack();
    let source = pack_folder();
    let source = source.display().to_string();
    let out = s.ok(&["policy", "validate", &source]);
    let summary = format!(
        "cafcass-it-5.0 ({source}): valid: {} clauses, {} controls (",
        p.clauses.len(),
        p.controls().count()
    );
    assert!(out.starts_with(&summary), "{out}");
    assert!(
        out.ends_with(" test-case files\n") && out.lines().count() == 1,
        "{out}"
    );
    let out = s.ok(&["policy", "validate", PACK]);
    assert!(
        out.starts_with("cafcass-it-5.0 (built-in): valid: "),
        "{out}"
    );

    let (_, stderr) = s.fails(&["policy", "validate", "./nowhere"]);
    assert_eq!(
        stderr,
        "error: ./nowhere is not a pack folder (a folder with pack.toml and clauses.toml)\n"
    );
}

#[test]
fn coverage_json_has_the_exact_shape_and_maps_every_inventory_row() {
    let s = Steward::new("policy_coverage");
    let inventory = inventory();
    let inventory = inventory.display().to_string();
    let p = pack();

    let got = s.json(&[
        "policy",
        "coverage",
        PACK,
        "--inventory",
        &inventory,
        "--format",
        "json",
    ]);
    let ids = inventory_ids();
    assert!(ids.len() > 100, "the inventory has {} rows", ids.len());
    let expected: Vec<Value> = ids
        .iter()
        .map(|id| {
            let clause = p
                .clause(id)
                .unwrap_or_else(|| panic!("the pack lacks {id}"));
            let controls: Vec<Value> = clause
                .controls
                .iter()
                .map(|c| json!({"id": c.id, "kind": c.kind.name().as_str()}))
                .collect();
            json!({"clause": id, "controls": controls})
        })
        .collect();
    // Each clause counted once, by the strongest kind of control it has.
    let mut summary = [0usize; 5];
    for id in &ids {
        let kinds: Vec<&str> = p
            .clause(id)
            .map(|c| c.controls.iter().map(|k| k.kind.name().as_str()).collect())
            .unwrap_or_default();
        let i = if kinds.is_empty() {
            4
        } else if kinds.contains(&"check") {
            0
        } else if kinds.contains(&"workflow") {
            1
        } else if kinds.contains(&"attestation") || kinds.contains(&"recurring_task") {
            2
        } else {
            3
        };
        summary[i] += 1;
    }
    let assumed: Vec<Value> = p
        .parameters
        .values()
        .filter_map(|param| {
            param.assumed.as_ref().map(|why| {
                json!({"name": param.name, "value": got["assumed"].as_array().and_then(|a| a.iter().find(|x| x["name"] == param.name.as_str())).map(|x| x["value"].clone()).unwrap_or(Value::Null), "assumed": why})
            })
        })
        .collect();
    assert!(!assumed.is_empty(), "the pack assumes some values");
    assert!(assumed.iter().all(|a| !a["value"].is_null()), "{assumed:?}");
    assert_eq!(
        got,
        json!({
            "clauses": expected,
            "summary": {
                "checked": summary[0],
                "workflow_only": summary[1],
                "attested_only": summary[2],
                "guidance_only": summary[3],
                "unmapped": summary[4],
            },
            "assumed": assumed,
        })
    );
    assert!(summary[0] > 20, "{summary:?}");
    let row = got["clauses"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["clause"] == "2.6(w)"))
        .expect("row 2.6(w)");
    assert_eq!(
        row,
        &json!({"clause": "2.6(w)", "controls": [
            {"id": "laptop-connected-within-14-days", "kind": "check"},
            {"id": "laptop-shut-down-weekly", "kind": "check"},
            {"id": "catch-up-after-offline", "kind": "attestation"},
        ]})
    );

    let text = s.ok(&["policy", "coverage", PACK, "--inventory", &inventory]);
    assert_eq!(
        row_of(&text, "2.6(w)"),
        [
            "2.6(w) check laptop-connected-within-14-days",
            "check laptop-shut-down-weekly",
            "attestation catch-up-after-offline"
        ]
    );
    assert!(
        text.contains(&format!(
            "\n{n} rows: {n} mapped, 0 unmapped\ndecided from the registers (a check): {}; only workflows: {}; only attestations or tasks: {}; guidance only: {}\n",
            summary[0],
            summary[1],
            summary[2],
            summary[3],
            n = ids.len()
        )),
        "{text}"
    );
    assert!(
        text.contains("\n  unused_device_days = 60 days: 3.9 says"),
        "{text}"
    );
}

/// A coverage table's lines for one clause: its own and the continuation lines after it.
fn row_of(text: &str, clause: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.split_whitespace().next() == Some(clause))
        .unwrap_or_else(|| panic!("no row {clause} in:\n{text}"));
    let mut out = vec![words(lines[start])];
    for l in &lines[start + 1..] {
        if l.len() > 2 && l[2..].starts_with(' ') {
            out.push(words(l));
        } else {
            break;
        }
    }
    out
}

#[test]
fn coverage_fails_when_the_pack_lacks_an_inventory_row() {
    let s = Steward::new("policy_coverage_gap");
    let inventory = inventory();
    let inventory = inventory.display().to_string();
    // The pack without clause 1.1.
    let folder = s.copy_pack("gap", |name, text| {
        if name != "clauses.toml" {
            return text;
        }
        let start = text.find("[[clause]]\nid = \"1.1\"\n").expect("clause 1.1");
        let end = start
            + 1
            + text[start + 1..]
                .find("[[clause]]\n")
                .expect("the next clause");
        format!("{}{}", &text[..start], &text[end..])
    });
    let path = folder.display().to_string();

    let (stdout, stderr) = s.fails(&[
        "policy",
        "coverage",
        &path,
        "--inventory",
        &inventory,
        "--format",
        "json",
    ]);
    let got: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(got["clauses"][0], json!({"clause": "1.1", "controls": []}));
    assert_eq!(got["summary"]["unmapped"], json!(1));
    assert!(
        stderr.contains("error: 1 row of the inventory has no controls in cafcass-it-5.0: 1.1\n"),
        "{stderr}"
    );

    let (stdout, _) = s.fails(&["policy", "coverage", &path, "--inventory", &inventory]);
    assert_eq!(row(&stdout, "1.1"), "1.1 - NOT MAPPED");
    let n = inventory_ids().len();
    assert!(
        stdout.contains(&format!("\n{n} rows: {} mapped, 1 unmapped\n", n - 1)),
        "{stdout}"
    );

    // Against its own clause list, every clause of a loaded pack has a control.
    let out = s.ok(&["policy", "coverage", &path]);
    assert!(
        out.starts_with(&format!(
            "cafcass-it-5.0 against its own clauses: {} rows",
            n - 1
        )),
        "{out}"
    );
}

#[test]
fn new_scaffolds_a_pack_that_validates_and_refuses_to_overwrite() {
    let s = Steward::new("policy_new");
    let out = s.dir().join("packs/our-charity-it-1.0");
    let out_arg = out.display().to_string();

    let said = s.ok(&["policy", "new", "--from", PACK, "--out", &out_arg]);
    assert!(
        said.starts_with(&format!(
            "created the pack our-charity-it-1.0 in {out_arg} from cafcass-it-5.0: pack.toml and clauses.toml; it validates"
        )),
        "{said}"
    );
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .expect("the new folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["clauses.toml", "pack.toml"]);

    // pack.toml is the original with the new id; the rules that name the pack name the new one.
    let original =
        |name: &str| std::fs::read_to_string(pack_folder().join(name)).expect("original");
    let written = |name: &str| std::fs::read_to_string(out.join(name)).expect("written");
    assert_eq!(
        written("pack.toml"),
        original("pack.toml").replace(r#"id = "cafcass-it-5.0""#, r#"id = "our-charity-it-1.0""#)
    );
    assert_eq!(
        written("clauses.toml"),
        original("clauses.toml").replace(r#""cafcass-it-5.0""#, r#""our-charity-it-1.0""#)
    );

    let valid = s.ok(&["policy", "validate", &out_arg]);
    assert!(
        valid.starts_with(&format!("our-charity-it-1.0 ({out_arg}): valid: ")),
        "{valid}"
    );
    let listed = s.ok(&["policy", "list"]);
    assert!(
        row(&listed, "our-charity-it-1.0").ends_with(&format!(" no {out_arg}")),
        "{listed}"
    );

    // A second time, the folder is there: nothing is touched.
    std::fs::write(out.join("pack.toml"), "# edited by hand\n").expect("edit");
    let (_, stderr) = s.fails(&["policy", "new", "--from", PACK, "--out", &out_arg]);
    assert_eq!(
        stderr,
        format!(
            "error: {out_arg} already exists; nothing was written. Choose a new folder for the pack\n"
        )
    );
    assert_eq!(written("pack.toml"), "# edited by hand\n");

    // An id that is taken is refused, before anything is written.
    let taken = s.dir().join("taken");
    let (_, stderr) = s.fails(&[
        "policy",
        "new",
        "--from",
        PACK,
        "--id",
        PACK,
        "--out",
        &taken.display().to_string(),
    ]);
    assert_eq!(
        stderr,
        "error: cafcass-it-5.0 is already the id of a built-in pack; choose another with --id\n"
    );
    assert!(!taken.exists());

    // With its test cases, which validate against the copy.
    let with_cases = s.dir().join("elsewhere/with-cases");
    let with_cases_arg = with_cases.display().to_string();
    let said = s.ok(&[
        "policy",
        "new",
        "--from",
        PACK,
        "--id",
        "our-charity-it-2.0",
        "--with-cases",
        "--out",
        &with_cases_arg,
    ]);
    let cases = std::fs::read_dir(pack_folder().join("cases"))
        .expect("the pack's cases")
        .count();
    assert!(
        said.starts_with(&format!(
            "created the pack our-charity-it-2.0 in {with_cases_arg} from cafcass-it-5.0: pack.toml, clauses.toml and {cases} test-case files; it validates"
        )),
        "{said}"
    );
    assert_eq!(
        std::fs::read_dir(with_cases.join("cases"))
            .expect("cases")
            .count(),
        cases
    );
    let valid = s.ok(&["policy", "validate", &with_cases_arg]);
    assert!(
        valid.ends_with(&format!(", {cases} test-case files\n")),
        "{valid}"
    );
}

/// A document from the document crate's test set.
fn document(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../document/tests/documents")
        .join(name)
}

#[test]
fn import_makes_a_pack_of_a_document_asks_what_it_lacks_and_versions_compare() {
    let s = Steward::new("policy_import");
    let original = document("numbered.txt");
    let path = original.to_str().unwrap_or_default();

    // Listing reads and splits, and keeps nothing.
    let listed = s.json(&["policy", "import", path, "--list", "--format", "json"]);
    let ids: Vec<&str> = listed["clauses"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["clause"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids.len(), 16, "{listed}");
    assert_eq!(&ids[..4], ["1.0", "1.1", "1.2", "1.2(a)"], "{listed}");
    assert_eq!(listed["version"], "2.1", "{listed}");
    assert_eq!(listed["approved_on"], "2025-03-14", "{listed}");

    // The document names no organisation: asked for, nothing kept.
    let (_, stderr) = s.fails(&["policy", "import", path]);
    assert!(
        stderr.contains("the document does not state the organisation's name; give --organisation"),
        "{stderr}"
    );
    assert!(!s.ok(&["policy", "list"]).contains("riverside"));

    let imported = s.json(&[
        "policy",
        "import",
        path,
        "--organisation",
        "Riverside Trust",
        "--format",
        "json",
    ]);
    assert_eq!(
        imported["id"], "riverside-trust-it-policy-2.1",
        "{imported}"
    );
    assert_eq!(imported["clauses"], 16, "{imported}");
    let list = s.ok(&["policy", "list"]);
    assert!(
        row(&list, "riverside-trust-it-policy-2.1").contains("the organisation's own"),
        "{list}"
    );
    let shown = s.ok(&["policy", "show", "riverside-trust-it-policy-2.1", "1.2(b)"]);
    assert!(shown.contains("report a lost or stolen device"), "{shown}");
    s.ok(&["policy", "activate", "riverside-trust-it-policy-2.1"]);
    let (_, stderr) = s.fails(&[
        "policy",
        "import",
        path,
        "--organisation",
        "Riverside Trust",
    ]);
    assert!(stderr.contains("is already taken"), "{stderr}");

    // A revised document is a new version, compared clause by clause.
    let revised = std::fs::read_to_string(&original)
        .unwrap_or_default()
        .replace("Version\t2.1", "Version\t2.2")
        .replace("once every 14 days", "once every 10 days");
    s.write("revised.txt", &revised);
    let revised_path = s.dir().join("revised.txt");
    s.ok(&[
        "policy",
        "import",
        revised_path.to_str().unwrap_or_default(),
        "--organisation",
        "Riverside Trust",
    ]);
    let diff = s.json(&[
        "policy",
        "diff",
        "riverside-trust-it-policy-2.1",
        "riverside-trust-it-policy-2.2",
        "--format",
        "json",
    ]);
    let changed: Vec<&str> = diff["clauses"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["text_changed"] == true)
                .filter_map(|c| c["clause"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(changed, ["1.1"], "{diff}");

    // Written to a folder instead: a pack that validates; a folder that exists is refused.
    let out = s.dir().join("meadow");
    let out_path = out.to_str().unwrap_or_default();
    s.ok(&[
        "policy",
        "import",
        document("meadow.docx").to_str().unwrap_or_default(),
        "--out",
        out_path,
        "--organisation",
        "Meadow Trust",
        "--approver",
        "Board",
    ]);
    let valid = s.ok(&["policy", "validate", out_path]);
    assert!(valid.contains("valid: 7 clauses"), "{valid}");
    let pack_toml = std::fs::read_to_string(out.join("pack.toml")).unwrap_or_default();
    assert!(
        pack_toml.contains("# Assumed: the document does not state who approved it"),
        "{pack_toml}"
    );
    let (_, stderr) = s.fails(&[
        "policy",
        "import",
        document("meadow.docx").to_str().unwrap_or_default(),
        "--out",
        out_path,
    ]);
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn a_clause_is_mapped_to_a_library_control_previewed_then_kept() {
    let s = Steward::new("policy_map");
    let library = s.json(&[
        "policy", "library", "--search", "connects", "--format", "json",
    ]);
    assert_eq!(
        library[0]["id"], "devices-connected-within-n-days",
        "{library}"
    );
    assert_eq!(library[0]["parameters"][0]["name"], "device_offline_days");
    s.ok(&[
        "policy",
        "import",
        document("meadow.docx").to_str().unwrap_or_default(),
        "--organisation",
        "Meadow Trust",
        "--approver",
        "Board",
    ]);
    let pack = "meadow-trust-device-policy-1.4";
    let preview = s.ok(&[
        "policy",
        "map",
        pack,
        "1.1",
        "--control",
        "devices-connected-within-n-days",
        "--param",
        "device_offline_days=10",
        "--preview",
    ]);
    assert!(preview.contains("nothing was kept"), "{preview}");
    assert!(
        !s.ok(&["policy", "show", pack, "1.1"])
            .contains("check on each asset")
    );

    let (_, stderr) = s.fails(&[
        "policy",
        "map",
        pack,
        "1.1",
        "--control",
        "devices-connected-within-n-days",
        "--param",
        "device_offline_days=a fortnight",
    ]);
    assert!(
        stderr.contains("device_offline_days: \"a fortnight\" is not a whole number"),
        "{stderr}"
    );
    s.ok(&[
        "policy",
        "map",
        pack,
        "1.1",
        "--control",
        "devices-connected-within-n-days",
        "--param",
        "device_offline_days=10",
        "--scope",
        "asset_kinds=laptop,tablet",
        "--severity",
        "high",
    ]);
    let shown = s.ok(&["policy", "show", pack, "1.1"]);
    for expected in [
        "check on each asset",
        "asset kinds: laptop, tablet",
        "device_offline_days = 10 days",
        "severity       high",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    let (_, stderr) = s.fails(&[
        "policy",
        "map",
        "cafcass-it-5.0",
        "2.6(a)",
        "--control",
        "devices-connected-within-n-days",
    ]);
    assert!(
        stderr.contains("not one of the organisation's own packs"),
        "{stderr}"
    );
}

#[test]
fn overrides_are_imported_into_the_database_all_or_nothing_and_exported() {
    let s = Steward::new("policy_overrides");
    let good = s.write(
        "ours.toml",
        "[parameters]\nlaptop_offline_days = 21\nhome_country = \"FR\"\n",
    );
    let bad = s.write(
        "bad.toml",
        "[parameters]\nhome_country = \"DE\"\nlaptop_offline_days = \"a month\"\n",
    );
    let bad_group = s.write(
        "bad_group.toml",
        "[parameters]\nhome_country = \"DE\"\n\n[staff_groups.night-shift]\nbyod = true\n",
    );
    let out = s.ok(&[
        "policy",
        "overrides",
        "import",
        good.to_str().unwrap_or_default(),
        "--from",
        "2026-01-01",
    ]);
    assert!(
        out.contains("2 of 2 parameter values kept from 2026-01-01"),
        "{out}"
    );
    let (_, stderr) = s.fails(&[
        "policy",
        "overrides",
        "import",
        bad.to_str().unwrap_or_default(),
    ]);
    assert!(
        stderr.contains("laptop_offline_days: \"a month\" is not a whole number"),
        "{stderr}"
    );
    // A group no pack has needs a name: refused, and the file's parameter not kept either.
    let (_, stderr) = s.fails(&[
        "policy",
        "overrides",
        "import",
        bad_group.to_str().unwrap_or_default(),
    ]);
    assert!(
        stderr.contains("staff group night-shift") && stderr.contains("needs a name"),
        "{stderr}"
    );
    let exported = s.ok(&["policy", "overrides", "export"]);
    assert!(
        exported.contains("home_country = \"FR\"") && exported.contains("laptop_offline_days = 21"),
        "nothing of the bad files was kept: {exported}"
    );
    assert!(!exported.contains("[staff_groups]"), "{exported}");

    // Staff groups are kept in the database too, and exported as the file writes them.
    let groups = s.write(
        "groups.toml",
        "[staff_groups.volunteers]\nname = \"Volunteers\"\nbyod = true\nmfa_required = true\n",
    );
    let out = s.ok(&[
        "policy",
        "overrides",
        "import",
        groups.to_str().unwrap_or_default(),
    ]);
    assert!(
        out.contains("1 of 1 parameter values and staff groups kept"),
        "{out}"
    );
    let exported = s.ok(&["policy", "overrides", "export"]);
    let reread = steward_policy::Overrides::parse("exported", &exported)
        .unwrap_or_else(|e| panic!("the export reads back: {e:?}: {exported}"));
    let volunteers = &reread.staff_groups["volunteers"];
    assert_eq!(volunteers.name.as_deref(), Some("Volunteers"), "{exported}");
    assert_eq!(
        (volunteers.byod, volunteers.mfa_required),
        (Some(true), Some(true)),
        "{exported}"
    );
    // The kept value is what `policy show` and the checks use.
    let shown = s.ok(&["policy", "show", PACK]);
    assert!(shown.contains("laptop_offline_days"), "{shown}");
    assert!(shown.contains("21"), "{shown}");
}
