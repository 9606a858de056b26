//! `steward policy diff`: a new version of a pack compared with the one in force, on an estate.

use std::path::Path;
use std::process::Command;

use steward_store::testing::TempDir;

fn steward(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_DATA_DIR", dir)
        .env_remove("STEWARD_CONFIG")
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .expect("the steward binary runs")
}

#[test]
fn a_new_version_shows_its_changed_clauses_and_the_findings_it_adds_and_removes() {
    let dir = TempDir::new("policy-diff").expect("temp dir");
    let next = dir.path().join("next");
    let out = steward(
        dir.path(),
        &[
            "policy",
            "new",
            "--from",
            "cafcass-it-5.0",
            "--id",
            "cafcass-it-5.1",
            "--out",
            next.to_str().unwrap_or_default(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Version 5.1: laptops must connect every day, and clause 4.4's data allowance check is gone.
    let pack = std::fs::read_to_string(next.join("pack.toml")).expect("pack.toml");
    let pack = pack.replacen("version = \"5.0\"", "version = \"5.1\"", 1);
    let i = pack
        .find("[parameters.laptop_offline_days]")
        .expect("parameter");
    let j = i + pack[i..].find("value = 14").expect("value");
    let pack = format!("{}value = 1{}", &pack[..j], &pack[j + "value = 14".len()..]);
    std::fs::write(next.join("pack.toml"), pack).expect("write");
    let clauses = std::fs::read_to_string(next.join("clauses.toml")).expect("clauses.toml");
    let start = clauses
        .find("id = \"monthly-data-within-allowance\"")
        .expect("control");
    let block_start = clauses[..start].rfind("[[clause.control]]").expect("block");
    let block_end = start + clauses[start..].find("[[clause").expect("next block");
    // Clause 4.4 keeps a guidance control in its place, so the clause stays mapped.
    let guidance = "[[clause.control]]\nid = \"data-allowance-guidance\"\nkind = \"guidance\"\n\
        applies_to = \"information\"\n\n";
    let clauses = format!(
        "{}{guidance}{}",
        &clauses[..block_start],
        &clauses[block_end..]
    );
    std::fs::write(next.join("clauses.toml"), clauses).expect("write");
    std::fs::remove_dir_all(next.join("cases")).ok();

    let estate = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/estate");
    let out = steward(
        dir.path(),
        &[
            "policy",
            "diff",
            "cafcass-it-5.0",
            next.to_str().unwrap_or_default(),
            "--data",
            estate.to_str().unwrap_or_default(),
            "--at",
            "2026-11-24T09:00:00Z",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");

    let params = json["parameters"].as_array().expect("parameters");
    assert_eq!(params.len(), 1, "{params:?}");
    assert_eq!(params[0]["name"], "laptop_offline_days");
    assert_eq!(
        (params[0]["before"].as_str(), params[0]["after"].as_str()),
        (Some("14"), Some("1"))
    );

    let clause = |id: &str| {
        json["clauses"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["clause"] == id).cloned())
    };
    let offline = clause("2.6(w)").expect("2.6(w) changed");
    assert_eq!(
        offline["parameters_changed"],
        serde_json::json!(["laptop_offline_days"])
    );
    let data = clause("4.4").expect("4.4 changed");
    assert_eq!(
        data["controls_removed"],
        serde_json::json!(["monthly-data-within-allowance"])
    );
    assert_eq!(
        data["controls_added"],
        serde_json::json!(["data-allowance-guidance"])
    );
    assert_eq!(data["findings_removed"], 1);
    assert!(clause("2.8").is_none(), "an unchanged clause is not listed");

    // On the estate: LT0001, seen 25 hours ago, now fails; MOB0001's month over 4 GB no longer does.
    let has = |list: &str, control: &str, id: &str| {
        json[list].as_array().is_some_and(|l| {
            l.iter()
                .any(|f| f["control"] == control && f["subject"]["id"] == id)
        })
    };
    assert!(has("added", "laptop-connected-within-14-days", "LT0001"));
    assert!(has(
        "removed",
        "monthly-data-within-allowance",
        "2026-10/MOB0001"
    ));
    assert!(
        !has("added", "laptop-bitlocker-encrypted", "LT0002"),
        "a carried-over finding is neither"
    );
    assert!(!has("removed", "laptop-bitlocker-encrypted", "LT0002"));
}
