//! Loading small packs: what is accepted, and exactly where each problem is reported.

use steward_policy::{
    ControlKind, ErrorKind, Origin, Overrides, Pack, PackError, ParamValue, parse,
};

const PACK: &str = r#"[pack]
id = "example-1.0"
title = "IT Policy"
organisation = "Example Charity"
version = "1.0"
owner = "Head of IT"
approver = "Board"
approved_on = 2025-01-10
next_review = 2026-01-10

[parameters.offline_days]
type = "int"
value = 14
unit = "days"
description = "Days a laptop may go without connecting."

[parameters.home]
type = "string"
value = "GB"
description = "Home country."

[staff_groups.staff]
name = "Staff"
devices = [{ kind = "laptop" }]
hardware = true
"#;

const CLAUSES: &str = r#"[[clause]]
id = "1.1"
text = "Laptops connect at least every two weeks."

[[clause.control]]
id = "laptop-connected"
kind = "check"
subject = "asset"
scope = { asset_kinds = ["laptop"], staff_groups = ["staff"] }
rule = '''
asset.last_seen != null
  && now - asset.last_seen <= days(params.offline_days)'''
severity = "medium"
who_acts = "person"
escalation = [{ after_days = 7, to = "line_manager" }]
message = "Laptop {asset.tag} last connected {asset.last_seen}."
remediation = "Connect the laptop."
evidence = ["asset.last_seen", "asset.holder.name"]

[[clause]]
id = "1.2"
text = "Report losses immediately."

[[clause.control]]
id = "report-loss"
kind = "workflow"
incident = "loss"
report_within = "immediately"
notify = ["service_desk", "line_manager"]
severity = "high"
who_acts = "person"
remediation = "Tell the service desk."
"#;

fn load(pack: &str, clauses: &str) -> Result<Pack, Vec<PackError>> {
    parse(&[("pack.toml", pack), ("clauses.toml", clauses)])
}

/// Replaces `from` (which must occur) in the clauses file and returns the errors.
fn errors_after(from: &str, to: &str) -> Vec<PackError> {
    assert!(CLAUSES.contains(from), "{from}");
    load(PACK, &CLAUSES.replacen(from, to, 1)).expect_err("the change must be an error")
}

fn one(errors: &[PackError]) -> &PackError {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    &errors[0]
}

#[test]
fn a_small_pack_loads() {
    let p = load(PACK, CLAUSES).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.id, "example-1.0");
    assert_eq!(p.clauses.len(), 2);
    let c = p.control("laptop-connected").expect("control");
    assert_eq!(c.clause, "1.1");
    assert_eq!(
        (c.location.position.line, c.location.position.column),
        (6, 6)
    );
    let ControlKind::Check(check) = &c.kind else {
        panic!("not a check")
    };
    assert_eq!(check.scope.asset_kinds.len(), 1);
    assert_eq!(
        check.rule.text,
        "asset.last_seen != null\n  && now - asset.last_seen <= days(params.offline_days)"
    );
}

#[test]
fn rule_offsets_map_to_the_file() {
    let p = load(PACK, CLAUSES).unwrap_or_else(|e| panic!("{e:#?}"));
    let c = p.control("laptop-connected").expect("control");
    let rule = c.rule().expect("rule");
    // The rule starts on the line after `rule = '''`, which is line 10.
    assert_eq!(c.rule_position(0), Some((11, 1)));
    let at = rule.text.find("params").expect("params");
    assert_eq!(c.rule_position(at), Some((12, 36)));
    assert_eq!(rule.offset_of(2, 3), rule.text.find("&&").expect("&&"));
    let span = c.rule_span().expect("span");
    assert!(CLAUSES[span].starts_with("'''"));
    // Offsets past the end clamp to the end of the rule.
    assert_eq!(c.rule_position(10_000), c.rule_position(rule.text.len()));
}

#[test]
fn escaped_rules_map_through_their_escapes() {
    let clauses = CLAUSES.replacen(
        "rule = '''\nasset.last_seen != null\n  && now - asset.last_seen <= days(params.offline_days)'''",
        r#"rule = "asset.model == \"X1\" && nope""#,
        1,
    );
    let errors = load(PACK, &clauses).expect_err("unknown variable");
    let e = one(&errors);
    assert_eq!(e.kind, ErrorKind::Rule);
    // `nope` is at column 34 of line 10: each escape before it is two characters in the file.
    assert_eq!((e.line(), e.column()), (Some(10), Some(34)), "{e}");
}

#[test]
fn syntax_errors_in_rules_are_placed_in_the_file() {
    let errors = errors_after("  && now - asset", "  && && now - asset");
    let e = one(&errors);
    assert_eq!(e.kind, ErrorKind::Rule);
    assert_eq!((e.line(), e.column()), (Some(12), Some(6)));
    assert_eq!(e.clause.as_deref(), Some("1.1"));
    assert_eq!(e.control.as_deref(), Some("laptop-connected"));
    assert!(e.to_string().starts_with("example-1.0: clauses.toml:12:6: clause 1.1: control laptop-connected: syntax error in the rule"), "{e}");
}

#[test]
fn unknown_parameters_and_variables_are_placed_in_the_file() {
    let errors = errors_after("params.offline_days)", "params.ofline_days)");
    let e = one(&errors);
    assert_eq!(e.kind, ErrorKind::Reference);
    assert_eq!((e.line(), e.column()), (Some(12), Some(36)));
    assert_eq!(e.reason, "unknown parameter `params.ofline_days`");

    let errors = errors_after("asset.last_seen != null\n", "person.last_seen != null\n");
    let e = one(&errors);
    assert_eq!((e.line(), e.column()), (Some(11), Some(1)));
    assert!(e.reason.starts_with("unknown variable `person`"), "{e}");
}

#[test]
fn words_are_checked_where_they_are_written() {
    let e = errors_after("severity = \"medium\"", "severity = \"urgent\"");
    assert_eq!(
        one(&e).reason,
        "unknown severity `urgent`, expected one of info|low|medium|high|critical"
    );
    assert_eq!(one(&e).line(), Some(13));

    let e = errors_after(
        "who_acts = \"person\"\nescalation",
        "who_acts = \"boss\"\nescalation",
    );
    assert!(
        one(&e).reason.starts_with("unknown who_acts value `boss`"),
        "{e:?}"
    );

    let e = errors_after(
        "staff_groups = [\"staff\"]",
        "staff_groups = [\"volunteers\"]",
    );
    assert_eq!(one(&e).kind, ErrorKind::Reference);
    assert_eq!((one(&e).line(), one(&e).column()), (Some(9), Some(53)));

    let e = errors_after("asset_kinds = [\"laptop\"]", "asset_kinds = [\"lapop\"]");
    assert!(
        one(&e).reason.starts_with("unknown asset kind `lapop`"),
        "{e:?}"
    );

    let e = errors_after("notify = [\"service_desk\"", "notify = [\"helpdesk\"");
    assert!(
        one(&e).reason.starts_with("unknown role `helpdesk`"),
        "{e:?}"
    );
}

#[test]
fn keys_that_do_not_belong_are_rejected() {
    let e = errors_after(
        "severity = \"high\"",
        "severity = \"high\"\ncadence = \"weekly\"",
    );
    assert_eq!(
        one(&e).reason,
        "`cadence` does not apply to a workflow control"
    );
    let e = errors_after(
        "severity = \"high\"",
        "severity = \"high\"\nsevrity = \"low\"",
    );
    assert_eq!(one(&e).kind, ErrorKind::UnknownField);
    assert!(
        one(&e).reason.starts_with("unknown field `sevrity`"),
        "{e:?}"
    );
    let e = errors_after(
        "scope = { asset_kinds = [\"laptop\"]",
        "scope = { account_kinds = [\"admin\"], asset_kinds = [\"laptop\"]",
    );
    assert_eq!(
        one(&e).reason,
        "`scope.account_kinds` does not apply to an asset subject"
    );
}

#[test]
fn required_fields_are_named() {
    let e = errors_after("report_within = \"immediately\"\n", "");
    assert!(one(&e).reason.contains("needs `report_within`"), "{e:?}");
    let e = errors_after("remediation = \"Connect the laptop.\"\n", "");
    assert_eq!(one(&e).reason, "a check control needs `remediation`");
    assert_eq!(one(&e).line(), Some(5));
    // A misspelt `[[clause.control]]` is an unknown key of the clause, which then has no controls.
    let e = errors_after(
        "[[clause.control]]\nid = \"report-loss\"",
        "[[clause.contro]]\nid = \"report-loss\"",
    );
    let reasons: Vec<&str> = e.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "the clause has no controls: every clause maps to at least one `[[clause.control]]`",
            "unknown field `contro`, expected one of `id`, `text`, `heading`",
        ]
    );
    assert!(
        e.iter().all(|e| e.clause.as_deref() == Some("1.2")),
        "{e:?}"
    );
}

#[test]
fn ids_must_be_unique() {
    let e = errors_after("id = \"report-loss\"", "id = \"laptop-connected\"");
    assert_eq!(one(&e).kind, ErrorKind::Duplicate);
    assert_eq!(
        one(&e).reason,
        "control id `laptop-connected` is used twice (first at line 6)"
    );
    let e = errors_after("id = \"1.2\"", "id = \"1.1\"");
    assert_eq!(one(&e).kind, ErrorKind::Duplicate);
}

#[test]
fn escalation_must_grow() {
    let e = errors_after(
        "escalation = [{ after_days = 7, to = \"line_manager\" }]",
        "escalation = [{ after_days = 7, to = \"line_manager\" }, { after_days = 7, to = \"it_team\" }]",
    );
    assert!(
        one(&e)
            .reason
            .starts_with("escalation steps must come later and later"),
        "{e:?}"
    );
}

#[test]
fn messages_and_evidence_name_real_fields() {
    let e = errors_after("{asset.last_seen}.\"", "{asset.last_sen}.\"");
    assert!(
        one(&e).reason.contains("asset has no field `last_sen`"),
        "{e:?}"
    );
    let e = errors_after("\"asset.holder.name\"]", "\"asset.holder\"]");
    assert!(one(&e).reason.contains("is a whole person"), "{e:?}");
    let e = errors_after("Laptop {asset.tag}", "Laptop {asset.tag");
    assert!(one(&e).reason.contains("never closed"), "{e:?}");
}

/// `message_you` is optional, kept as written, and checked exactly as `message` is: its
/// placeholders name real fields, its problems are placed on its own line, and it belongs to
/// checks only.
#[test]
fn second_person_messages_are_checked_like_messages() {
    let p = load(PACK, CLAUSES).unwrap_or_else(|e| panic!("{e:#?}"));
    let check = |p: &Pack| match p.control("laptop-connected").map(|c| &c.kind) {
        Some(ControlKind::Check(c)) => c.clone(),
        other => panic!("not a check: {other:?}"),
    };
    assert_eq!(check(&p).message_you, None);
    let you = "message = \"Laptop {asset.tag} last connected {asset.last_seen}.\"\n\
               message_you = \"Your laptop {asset.tag} last connected {asset.last_seen}.\"";
    let with = CLAUSES.replacen(
        "message = \"Laptop {asset.tag} last connected {asset.last_seen}.\"",
        you,
        1,
    );
    let p = load(PACK, &with).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        check(&p).message_you.as_deref(),
        Some("Your laptop {asset.tag} last connected {asset.last_seen}.")
    );

    let e = errors_after(
        "remediation = \"Connect the laptop.\"",
        "message_you = \"Your laptop {asset.tga} in {params.ofline_days}\"\nremediation = \"Connect the laptop.\"",
    );
    let reasons: Vec<&str> = e.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "message_you: placeholder `asset.tga`: asset has no field `tga`",
            "message_you: placeholder unknown parameter `params.ofline_days`",
        ],
        "{e:#?}"
    );
    // On its own line, in the control's clause, as the message's problems are.
    assert!(e.iter().all(|e| e.line() == Some(17)), "{e:#?}");
    assert!(
        e.iter().all(|e| e.clause.as_deref() == Some("1.1")),
        "{e:#?}"
    );
    let e = errors_after(
        "message = \"Laptop",
        "message_you = \"Your {asset.tag\"\nmessage = \"Laptop",
    );
    assert!(
        one(&e)
            .reason
            .starts_with("message_you: a `{` at character 6 is never closed"),
        "{e:?}"
    );
    let e = errors_after(
        "message = \"Laptop",
        "message_you = \" \"\nmessage = \"Laptop",
    );
    assert_eq!(one(&e).reason, "`message_you` must not be empty");
    // Only a check's finding has a message to say in the second person.
    let e = errors_after(
        "remediation = \"Tell the service desk.\"",
        "remediation = \"Tell the service desk.\"\nmessage_you = \"You lost it.\"",
    );
    assert_eq!(
        one(&e).reason,
        "`message_you` does not apply to a workflow control"
    );
    // Misspelt, it is an unknown key, not silently nothing.
    let e = errors_after(
        "remediation = \"Connect the laptop.\"",
        "remediation = \"Connect the laptop.\"\nmessage_yuo = \"Your laptop.\"",
    );
    assert_eq!(one(&e).kind, ErrorKind::UnknownField);
}

#[test]
fn pack_file_problems() {
    let bad = PACK
        .replacen("value = 14", "value = \"fourteen\"", 1)
        .replacen(
            "approved_on = 2025-01-10",
            "approved_on = 2025-01-10T10:00:00Z",
            1,
        );
    let errors = load(&bad, CLAUSES).expect_err("bad pack.toml");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(text, [
        "example-1.0: pack.toml:8:15: expected a date such as 2025-01-10, found `2025-01-10T10:00:00Z`".replace("2025-01-10, found", "2023-05-25, found"),
        "example-1.0: pack.toml:13:9: parameter `offline_days`: expected an integer, found string".to_owned(),
    ]);
    let errors = load(
        &PACK.replacen("[staff_groups.staff]", "[staff_groups.Staff]", 1),
        CLAUSES,
    )
    .expect_err("bad id");
    assert!(
        errors
            .iter()
            .any(|e| e.reason.contains("staff group id `Staff`")),
        "{errors:?}"
    );
    let errors = load("[pack]\nid = \"x\"\n", CLAUSES).expect_err("incomplete");
    assert!(
        errors[0].reason.starts_with("missing field `title`"),
        "{errors:?}"
    );
    assert_eq!(errors[0].pack.as_deref(), Some("x"));
}

#[test]
fn files_are_named_and_required() {
    let errors = parse(&[("pack.toml", PACK)]).expect_err("no clauses");
    assert_eq!(
        one(&errors).to_string(),
        "example-1.0: clauses.toml: the file is missing"
    );
    let errors = parse(&[
        ("pack.toml", PACK),
        ("clauses.toml", CLAUSES),
        ("extra.toml", ""),
    ])
    .expect_err("extra");
    assert_eq!(one(&errors).kind, ErrorKind::UnknownField);
    let errors = load(PACK, "[[clause]\nid = 1").expect_err("syntax");
    assert_eq!(errors[0].kind, ErrorKind::Syntax);
    assert_eq!(errors[0].line(), Some(1));
    let errors = steward_policy::load_dir("/nonexistent/pack").expect_err("io");
    assert_eq!(errors.len(), 2);
    assert!(
        errors
            .iter()
            .all(|e| e.kind == ErrorKind::Io && e.reason.starts_with("cannot read"))
    );
}

#[test]
fn overrides_change_values_and_say_where_they_came_from() {
    let p = load(PACK, CLAUSES).unwrap_or_else(|e| panic!("{e:#?}"));
    let o = Overrides::parse("overrides.toml", "[parameters]\noffline_days = 21\n\n[staff_groups.staff]\ndevices = [{ kind = \"laptop\" }, { kind = \"tablet\" }]\n\n[staff_groups.volunteers]\nname = \"Volunteers\"\nbyod = true\n")
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let eff = p.effective(&o).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(eff.param("offline_days"), Some(&ParamValue::Int(21)));
    assert_eq!(eff.parameters["offline_days"].origin, Origin::Organisation);
    assert_eq!(
        eff.parameters["offline_days"].pack_value,
        ParamValue::Int(14)
    );
    assert_eq!(eff.parameters["home"].origin, Origin::Pack);
    assert_eq!(eff.staff_groups["staff"].group.devices.len(), 2);
    assert_eq!(eff.staff_groups["staff"].origin, Origin::Organisation);
    assert!(eff.staff_groups["volunteers"].group.byod);
    assert_eq!(eff.values().len(), 2);

    let unchanged = p
        .effective(&Overrides::default())
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert!(
        unchanged
            .parameters
            .values()
            .all(|v| v.origin == Origin::Pack)
    );
}

#[test]
fn overrides_are_type_checked() {
    let p = load(PACK, CLAUSES).unwrap_or_else(|e| panic!("{e:#?}"));
    let o = Overrides::parse(
        "o.toml",
        "[parameters]\noffline_days = \"three weeks\"\nnope = 1\n[staff_groups.new]\nbyod = true\n",
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let errors = p.effective(&o).expect_err("bad overrides");
    let reasons: Vec<&str> = errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "unknown parameter `nope`: the pack has home, offline_days",
            "parameter `offline_days` is a int: expected an integer, found string",
            "staff group `new` is not in the pack: a new group needs a `name`",
        ]
    );
    let errors = Overrides::parse("o.toml", "[parameter]\nx = 1\n").expect_err("unknown table");
    assert_eq!(
        (one(&errors).file.as_str(), one(&errors).line()),
        ("o.toml", Some(1))
    );
}

#[test]
fn rules_are_type_checked_against_the_schema_and_placed_in_the_file() {
    // An unknown field.
    let errors = errors_after("asset.last_seen != null\n", "asset.last_sen != null\n");
    let e = one(&errors);
    assert_eq!(e.kind, ErrorKind::Rule);
    assert_eq!((e.line(), e.column()), (Some(11), Some(6)));
    assert!(e.reason.starts_with("asset has no field last_sen"), "{e}");

    // A type mismatch on the second line of the rule.
    let errors = errors_after("now - asset.last_seen <=", "asset.last_seen <=");
    let e = one(&errors);
    assert_eq!(e.line(), Some(12));
    assert!(
        e.reason.contains("cannot order timestamp against duration"),
        "{e}"
    );
}

/// The governance registers' scope keys: each fits only its subject, holds words from the
/// model's lists, and a task clause names a pack as well as a clause.
#[test]
fn governance_scopes_are_checked() {
    let task_check = |scope: &str| {
        CLAUSES.replacen(
            "subject = \"asset\"\nscope = { asset_kinds = [\"laptop\"], staff_groups = [\"staff\"] }\nrule = '''\nasset.last_seen != null\n  && now - asset.last_seen <= days(params.offline_days)'''",
            &format!("subject = \"task\"\nscope = {scope}\nrule = 'task.last_done_on != null && today - task.last_done_on <= days(task.every_days)'"),
            1,
        )
        .replace("Laptop {asset.tag} last connected {asset.last_seen}.", "Task {task.title} is overdue.")
        .replace("[\"asset.last_seen\", \"asset.holder.name\"]", "[\"task.last_done_on\", \"task.owner.name\"]")
    };
    let pack = load(
        PACK,
        &task_check("{ task_clauses = [\"example-1.0 1.1\"], staff_groups = [\"staff\"] }"),
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let Some(ControlKind::Check(check)) = pack.control("laptop-connected").map(|c| &c.kind) else {
        panic!("no check")
    };
    assert_eq!(check.scope.task_clauses, vec!["example-1.0 1.1".to_owned()]);

    let e = load(PACK, &task_check("{ task_clauses = [\"1.1\"] }")).expect_err("a bare clause");
    assert!(
        one(&e)
            .reason
            .starts_with("task clause `1.1` must be a pack id and a clause id"),
        "{e:?}"
    );
    let e = load(PACK, &task_check("{ request_states = [\"open\"] }")).expect_err("wrong subject");
    assert_eq!(
        one(&e).reason,
        "`scope.request_states` does not apply to a task subject"
    );
    let e = errors_after(
        "scope = { asset_kinds = [\"laptop\"]",
        "scope = { review_packs = [\"example-1.0\"], asset_kinds = [\"laptop\"]",
    );
    assert_eq!(
        one(&e).reason,
        "`scope.review_packs` does not apply to an asset subject"
    );

    let request_check = CLAUSES
        .replacen(
            "subject = \"asset\"\nscope = { asset_kinds = [\"laptop\"], staff_groups = [\"staff\"] }\nrule = '''\nasset.last_seen != null\n  && now - asset.last_seen <= days(params.offline_days)'''",
            "subject = \"request\"\nscope = { request_kinds = [\"new-starter\"], request_states = [\"opened\"] }\nrule = 'request.due_on != null && today <= request.due_on'",
            1,
        )
        .replace("Laptop {asset.tag} last connected {asset.last_seen}.", "Request {request.id} is late.")
        .replace("[\"asset.last_seen\", \"asset.holder.name\"]", "[\"request.due_on\", \"request.person.name\"]");
    let e = load(PACK, &request_check).expect_err("an unknown state");
    assert!(
        one(&e).reason.starts_with("unknown request state `opened`"),
        "{e:?}"
    );
}

#[test]
fn sections_are_titled_by_their_number() {
    let titled = format!("{PACK}\n[sections]\n\"1\" = \"Devices\"\n");
    let p = load(&titled, CLAUSES).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.section_title("1.2"), Some("Devices"));
    assert_eq!(p.section_title("1"), Some("Devices"));
    assert_eq!(p.section_title("2.1"), None);
    // A title for a section no clause is numbered under is a slip: reported where written.
    let stray = format!("{PACK}\n[sections]\n\"1\" = \"Devices\"\n\"7\" = \"Nothing here\"\n");
    let errors = load(&stray, CLAUSES).expect_err("a section without clauses");
    let e = one(&errors);
    assert_eq!(e.kind, ErrorKind::Reference, "{e}");
    assert!(e.reason.contains("section `7`"), "{e}");
    assert_eq!(e.position.map(|p| p.line), Some(29), "{e}");
    let empty = format!("{PACK}\n[sections]\n\"1\" = \"\"\n");
    let errors = load(&empty, CLAUSES).expect_err("an empty title");
    assert!(one(&errors).reason.contains("title"), "{errors:?}");
    let not_text = format!("{PACK}\n[sections]\n\"1\" = 3\n");
    assert!(load(&not_text, CLAUSES).is_err());
}

#[test]
fn a_parameter_the_document_does_not_state_says_why_it_is_assumed() {
    let assumed = PACK.replacen(
        "description = \"Home country.\"",
        "description = \"Home country.\"\nassumed = \"The policy names no country.\"",
        1,
    );
    let p = load(&assumed, CLAUSES).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        p.parameters["home"].assumed.as_deref(),
        Some("The policy names no country.")
    );
    assert_eq!(p.parameters["offline_days"].assumed, None);
    let effective = p
        .effective(&Overrides::default())
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        effective.parameters["home"].assumed.as_deref(),
        Some("The policy names no country.")
    );

    // An empty reason says nothing: refused, at its line.
    let empty = PACK.replacen(
        "description = \"Home country.\"",
        "description = \"Home country.\"\nassumed = \" \"",
        1,
    );
    let errors = load(&empty, CLAUSES).expect_err("an empty reason");
    let e = one(&errors);
    assert_eq!(e.file, "pack.toml");
    assert!(e.to_string().contains("assumed"), "{e}");
}

#[test]
fn approvers_are_parties_who_can_agree_to_a_process() {
    let request = r#"
[[clause]]
id = "1.3"
text = "Particular needs are agreed by HR and IT."

[[clause.control]]
id = "particular-needs"
kind = "workflow"
process = "particular-needs"
subject = "person"
approvers = ["hr", "it_team", "hr"]
severity = "medium"
who_acts = "person"
remediation = "Ask HR and IT."
"#;
    let pack = load(PACK, &format!("{CLAUSES}{request}")).expect("approvers load");
    let workflow = pack
        .clauses
        .iter()
        .flat_map(|c| &c.controls)
        .find_map(|c| match &c.kind {
            ControlKind::Workflow(w) if c.id == "particular-needs" => Some(w.clone()),
            _ => None,
        })
        .expect("the workflow");
    assert_eq!(
        workflow.approvers,
        vec![steward_policy::Role::Hr, steward_policy::Role::ItTeam],
        "each party once, in the pack's order"
    );

    // (replace, with, what the error says)
    let refused: [(&str, &str, &str); 4] = [
        (
            r#"approvers = ["hr", "it_team", "hr"]"#,
            r#"approvers = ["hr", "person"]"#,
            "nobody can approve a request as `person`",
        ),
        (
            r#"approvers = ["hr", "it_team", "hr"]"#,
            "approver = \"siro\"",
            "nobody can approve a request as `siro`",
        ),
        (
            r#"approvers = ["hr", "it_team", "hr"]"#,
            "approver = \"hr\"\napprovers = [\"it_team\"]",
            "not both",
        ),
        (
            r#"approvers = ["hr", "it_team", "hr"]"#,
            r#"approvers = ["hr", "trustees"]"#,
            "trustees",
        ),
    ];
    for (from, to, says) in refused {
        let errors = load(PACK, &format!("{CLAUSES}{}", request.replacen(from, to, 1)))
            .expect_err("refused");
        let error = one(&errors);
        assert!(error.to_string().contains(says), "{to}: {error}");
        assert!(
            error.to_string().contains("clauses.toml:"),
            "{to}: placed in the file: {error}"
        );
    }
    // An incident is reported, not approved.
    let errors = errors_after(
        "notify = [\"service_desk\", \"line_manager\"]",
        "notify = [\"service_desk\", \"line_manager\"]\napprover = \"line_manager\"",
    );
    assert!(
        one(&errors).to_string().contains("not approved"),
        "{errors:#?}"
    );
}
