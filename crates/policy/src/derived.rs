//! Checks a pack states without writing them. Every incident workflow with a reporting window
//! ("report a loss within 24 hours of discovery", "report a breach immediately") also checks
//! that each incident of its kind *was* reported within it, whoever reported it, citing the
//! workflow's clause; every recurring task also checks that the tasks recorded against its
//! clause are done on time, a task never done included. Written once here so that no pack —
//! nor a pack written later — can state a window or a cadence that nothing holds people to.

use std::collections::{BTreeMap, HashSet};

use crate::schema::RecordType;
use crate::types::*;

/// The suffix of a reporting-window check's id: `report-lost-device` → `report-lost-device-on-time`.
pub const ON_TIME_SUFFIX: &str = "-on-time";

/// "Immediately" read as a number of hours where a pack does not set
/// [`REPORT_IMMEDIATELY_PARAM`]: a report the same day is immediate, one days later is not.
pub const REPORT_IMMEDIATELY_HOURS: u32 = 24;

/// The parameter that sets how many hours "immediately" allows.
pub const REPORT_IMMEDIATELY_PARAM: &str = "report_immediately_hours";

impl Within {
    /// The window as rule text (`hours(24)`, `days(params.x)`), or `None` for a window in
    /// working days, which a duration cannot say.
    pub fn as_duration_rule(
        &self,
        params: &std::collections::BTreeMap<String, Parameter>,
    ) -> Option<String> {
        Some(match self {
            Within::Immediately if params.contains_key(REPORT_IMMEDIATELY_PARAM) => {
                format!("hours(params.{REPORT_IMMEDIATELY_PARAM})")
            }
            Within::Immediately => format!("hours({REPORT_IMMEDIATELY_HOURS})"),
            Within::Period { amount, unit } => {
                let n = match amount {
                    Amount::Fixed(n) => n.to_string(),
                    Amount::Param(name) => format!("params.{name}"),
                };
                match unit {
                    PeriodUnit::Hours => format!("hours({n})"),
                    PeriodUnit::Days => format!("days({n})"),
                    PeriodUnit::WorkingDays => return None,
                }
            }
        })
    }

    /// How the clause says it, for a message.
    fn said(&self, params: &BTreeMap<String, Parameter>) -> String {
        match self {
            Within::Immediately => format!(
                "immediately (within {} hours)",
                if params.contains_key(REPORT_IMMEDIATELY_PARAM) {
                    format!("{{params.{REPORT_IMMEDIATELY_PARAM}}}")
                } else {
                    REPORT_IMMEDIATELY_HOURS.to_string()
                }
            ),
            Within::Period { amount, unit } => {
                let n = match amount {
                    Amount::Fixed(n) => n.to_string(),
                    Amount::Param(name) => format!("{{params.{name}}}"),
                };
                format!("within {n} {unit}")
            }
        }
    }
}

/// Adds to each clause the checks its incident workflows and recurring tasks state. A derived id
/// a written control already uses is left to the written one, and so is a clause whose pack
/// writes its own check over the clause's tasks.
pub(crate) fn add_derived_checks(pack: &mut Pack) {
    let mut taken: HashSet<String> = pack
        .clauses
        .iter()
        .flat_map(|c| c.controls.iter().map(|k| k.id.clone()))
        .collect();
    let tasks_written: HashSet<String> = pack
        .clauses
        .iter()
        .flat_map(|c| &c.controls)
        .filter_map(|k| match &k.kind {
            ControlKind::Check(c) if c.subject == RecordType::Task => {
                Some(c.scope.task_clauses.clone())
            }
            _ => None,
        })
        .flatten()
        .collect();
    let params = pack.parameters.clone();
    let pack_id = pack.id.clone();
    for clause in &mut pack.clauses {
        // Reporting windows first, then tasks, each in the clause's own order.
        let reports = clause
            .controls
            .iter()
            .filter_map(|control| match &control.kind {
                ControlKind::Workflow(w) => report_check(control, w, &params),
                _ => None,
            });
        let tasks = clause
            .controls
            .iter()
            .filter_map(|control| match &control.kind {
                ControlKind::RecurringTask(t) => {
                    let key = format!("{pack_id} {}", control.clause);
                    (!tasks_written.contains(&key)).then(|| task_check(control, t, key))
                }
                _ => None,
            });
        let derived: Vec<Control> = reports
            .chain(tasks)
            .filter(|check| taken.insert(check.id.clone()))
            .collect();
        clause.controls.extend(derived);
    }
}

/// A check derived from `from`, on its clause and at its place in the file: `ID-on-time`.
fn on_time(
    from: &Control,
    check: Check,
    who_acts: WhoActs,
    grace_days: u32,
    escalation: Vec<Escalation>,
    remediation: String,
) -> Control {
    Control {
        id: format!("{}{ON_TIME_SUFFIX}", from.id),
        clause: from.clause.clone(),
        kind: ControlKind::Check(check),
        severity: from.severity,
        who_acts,
        grace_days,
        escalation,
        remediation,
        see_also: Vec::new(),
        location: from.location.clone(),
    }
}

/// An incident workflow's reporting window as a check: each incident of its kind reported
/// within the window of its discovery, whoever reported it.
fn report_check(
    control: &Control,
    workflow: &Workflow,
    params: &BTreeMap<String, Parameter>,
) -> Option<Control> {
    let Workflow {
        trigger: Trigger::Incident(kind),
        within: Some(within),
        scope,
        ..
    } = workflow
    else {
        return None;
    };
    // The pack's word for the incident and the register's are the same list.
    let kind = kind.as_str().parse::<steward_model::IncidentType>().ok()?;
    let window = within.as_duration_rule(params)?;
    // A workflow about some kinds of asset (a phone's loss) holds only their incidents to its
    // window.
    let on_time_rule = format!("incident.reported_at <= incident.discovered_at + {window}");
    let text = if scope.asset_kinds.is_empty() {
        on_time_rule
    } else {
        let kinds: Vec<String> = scope
            .asset_kinds
            .iter()
            .map(|k| format!("\"{}\"", k.as_str()))
            .collect();
        format!(
            "!(incident.asset != null && incident.asset.kind in [{}]) || {on_time_rule}",
            kinds.join(", ")
        )
    };
    let said = within.said(params);
    let clause = &control.clause;
    let check = Check {
        subject: RecordType::Incident,
        scope: Scope {
            incident_kinds: vec![kind],
            ..Scope::default()
        },
        rule: Rule::derived(text, &control.location),
        message: format!(
            "Incident {{incident.id}} ({{incident.kind}}) was discovered on {{incident.discovered_at}} but reported only on {{incident.reported_at}}; clause {clause} asks for a report {said}."
        ),
        message_you: Some(format!(
            "You reported incident {{incident.id}} ({{incident.kind}}) on {{incident.reported_at}}, after discovering it on {{incident.discovered_at}}; clause {clause} asks for a report {said}."
        )),
        evidence: vec![
            "incident.kind".into(),
            "incident.discovered_at".into(),
            "incident.reported_at".into(),
            "incident.person.name".into(),
        ],
    };
    // The reporter's line manager follows a late report up; the governance team hears of one
    // left unanswered.
    Some(on_time(
        control,
        check,
        WhoActs::LineManager,
        0,
        vec![Escalation {
            after_days: 7,
            to: WhoActs::GovernanceTeam,
        }],
        format!(
            "Find out why the report came late, record what was done about the delay, and remind the reporter that clause {clause} asks for a report {said} of discovery."
        ),
    ))
}

/// A recurring task as a check over the tasks register: a task recorded against the clause
/// (`task.clause` is `PACK CLAUSE`, as Steward records them) done within its own interval — by
/// its last-done date or a recorded completion — and one never done overdue.
fn task_check(control: &Control, task: &RecurringTask, key: String) -> Control {
    let clause = &control.clause;
    let check = Check {
        subject: RecordType::Task,
        scope: Scope {
            task_clauses: vec![key],
            ..Scope::default()
        },
        rule: Rule::derived(
            "(task.last_done_on != null && today <= task.last_done_on + days(task.every_days))\n  || task.completions.exists(c, today <= c.done_on + days(task.every_days))".to_owned(),
            &control.location,
        ),
        message: format!(
            "Task {{task.id}} ({{task.title}}) under clause {clause} is overdue: it is due every {{task.every_days}} days and was last done {{task.last_done_on|never}}."
        ),
        message_you: Some(format!(
            "Your task {{task.id}} ({{task.title}}) under clause {clause} is overdue: it is due every {{task.every_days}} days and was last done {{task.last_done_on|never}}."
        )),
        evidence: vec![
            "task.title".into(),
            "task.every_days".into(),
            "task.last_done_on".into(),
            "task.owner.name".into(),
        ],
    };
    on_time(
        control,
        check,
        task.owner,
        control.grace_days,
        control.escalation.clone(),
        format!(
            "Do the task and record it with its evidence: {}",
            task.evidence
        ),
    )
}
