//! The examples in docs/policy-packs.md are real: the worked example loads, its case file and
//! overrides are valid, and the validation errors shown are exactly what the loader says.

use steward_policy::{ControlKind, Origin, Overrides, ParamValue, cases::parse_cases, parse};

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy-packs.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The fenced block after `<!-- example: NAME -->`.
fn example(doc: &str, name: &str) -> String {
    let marker = format!("<!-- example: {name} -->");
    let Some(at) = doc.find(&marker) else {
        panic!("no example {name}")
    };
    let rest = &doc[at + marker.len()..];
    let start = rest
        .find("```toml\n")
        .map(|i| i + "```toml\n".len())
        .unwrap_or_else(|| panic!("no block after {name}"));
    let end = rest[start..]
        .find("```\n")
        .unwrap_or_else(|| panic!("unclosed block after {name}"));
    rest[start..start + end].to_owned()
}

/// The fenced block that follows the `## Validation errors` heading.
fn error_block(doc: &str) -> Vec<String> {
    let at = doc
        .find("## Validation errors")
        .unwrap_or_else(|| panic!("no validation errors section"));
    let rest = &doc[at..];
    let start = rest
        .find("```\n")
        .map(|i| i + 4)
        .unwrap_or_else(|| panic!("no block"));
    let end = rest[start..]
        .find("```\n")
        .unwrap_or_else(|| panic!("unclosed block"));
    rest[start..start + end]
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_worked_example_loads() {
    let doc = doc();
    let pack = parse(&[
        ("pack.toml", &example(&doc, "pack.toml")),
        ("clauses.toml", &example(&doc, "clauses.toml")),
    ])
    .unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert_eq!(pack.id, "example-trust-1.0");
    assert_eq!(pack.clauses.len(), 3);
    // Five written, the two incident workflows' reporting-window checks and the recurring
    // task's check over the tasks register.
    assert_eq!(pack.controls().count(), 8);
    let task = pack
        .controls()
        .find(|c| c.id == "server-cupboard-check-on-time")
        .unwrap_or_else(|| panic!("no server-cupboard-check-on-time"));
    assert!(
        matches!(&task.kind, ControlKind::Check(c) if c.scope.task_clauses == ["example-trust-1.0 1.3"]),
        "{task:?}"
    );
    for derived in ["report-loss-on-time", "report-theft-on-time"] {
        let control = pack
            .controls()
            .find(|c| c.id == derived)
            .unwrap_or_else(|| panic!("no {derived}"));
        assert_eq!(control.clause, "1.2");
        assert!(
            matches!(&control.kind, ControlKind::Check(c) if c.rule.text == "incident.reported_at <= incident.discovered_at + hours(24)"),
            "{control:?}"
        );
    }

    let cases = parse_cases(
        "cases/laptop-connected-within-14-days.toml",
        &example(&doc, "cases/laptop-connected-within-14-days.toml"),
        &pack,
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(cases.cases.len(), 2);

    let overrides = Overrides::parse("overrides.toml", &example(&doc, "overrides.toml"))
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let effective = pack
        .effective(&overrides)
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        effective.param("laptop_offline_days"),
        Some(&ParamValue::Int(21))
    );
    assert_eq!(
        effective.parameters["laptop_offline_days"].origin,
        Origin::Organisation
    );
    assert_eq!(
        effective.staff_groups["trustees"].origin,
        Origin::Organisation
    );
}

/// The mistakes behind the errors the documentation shows, made to the worked example.
const MISTAKES: &[(&str, &str, &str)] = &[
    (
        "clauses.toml",
        "days(params.laptop_offline_days)'''",
        "days(params.laptop_ofline_days)'''",
    ),
    (
        "clauses.toml",
        "severity = \"medium\"\nwho_acts = \"person\"",
        "severity = \"hgih\"\nwho_acts = \"person\"",
    ),
    (
        "clauses.toml",
        "scope = { asset_kinds",
        "scope = { asset_kind",
    ),
    ("clauses.toml", "Laptop {asset.tag}", "Laptop {asset.tga}"),
    (
        "clauses.toml",
        "cadence = \"quarterly\"",
        "cadence = \"fortnightly\"",
    ),
    ("clauses.toml", "owner = \"it_team\"\n", ""),
    (
        "clauses.toml",
        "id = \"report-theft\"",
        "id = \"report-loss\"",
    ),
];

#[test]
fn the_validation_errors_shown_are_real() {
    let doc = doc();
    let mut pack = example(&doc, "pack.toml");
    let mut clauses = example(&doc, "clauses.toml");
    for (file, from, to) in MISTAKES {
        let text = if *file == "pack.toml" {
            &mut pack
        } else {
            &mut clauses
        };
        assert!(text.contains(from), "{from}");
        *text = text.replacen(from, to, 1);
    }
    let errors = parse(&[("pack.toml", &pack), ("clauses.toml", &clauses)])
        .expect_err("the mistakes are errors");
    let actual: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let shown = error_block(&doc);
    // The documentation may shorten a long line with `…`; what it shows must match the start.
    assert_eq!(
        shown.len(),
        actual.len(),
        "the documentation shows:\n{}\nthe loader says:\n{}",
        shown.join("\n"),
        actual.join("\n")
    );
    for (s, a) in shown.iter().zip(&actual) {
        let prefix = s.strip_suffix('…').unwrap_or(s);
        assert!(
            a.starts_with(prefix),
            "the documentation shows\n  {s}\nthe loader says\n  {a}"
        );
    }
}
