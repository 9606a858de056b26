//! Checks a pack states without writing them. Every incident workflow with a reporting window
//! ("report a loss within 24 hours of discovery", "report a breach immediately") also checks
//! that each incident of its kind *was* reported within it, whoever reported it, citing the
//! workflow's clause; every recurring task also checks that the tasks recorded against its
//! clause are done on time, a task never done included. Written once here so that no pack —
//! nor a pack written later — can state a window or a cadence that nothing holds people to.

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
    fn said(&self, params: &std::collections::BTreeMap<String, Parameter>) -> String {
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

/// Adds to each clause the reporting-window checks of its incident workflows. A derived id that
/// a written control already uses is left to the written one.
pub(crate) fn add_report_checks(pack: &mut Pack) {
    let taken: std::collections::HashSet<String> = pack
        .clauses
        .iter()
        .flat_map(|c| c.controls.iter().map(|k| k.id.clone()))
        .collect();
    let params = pack.parameters.clone();
    for clause in &mut pack.clauses {
        let mut derived = Vec::new();
        for control in &clause.controls {
            let ControlKind::Workflow(Workflow {
                trigger: Trigger::Incident(kind),
                within: Some(within),
                scope: wscope,
                ..
            }) = &control.kind
            else {
                continue;
            };
            // The pack's word for the incident and the register's are the same list.
            let Ok(kind) = kind.as_str().parse::<steward_model::IncidentType>() else {
                continue;
            };
            let id = format!("{}{ON_TIME_SUFFIX}", control.id);
            let Some(window) = within.as_duration_rule(&params) else {
                continue;
            };
            if taken.contains(&id) {
                continue;
            }
            // A workflow about some kinds of asset (a phone's loss) holds only their incidents
            // to its window.
            let on_time = format!("incident.reported_at <= incident.discovered_at + {window}");
            let text = if wscope.asset_kinds.is_empty() {
                on_time
            } else {
                let kinds: Vec<String> = wscope
                    .asset_kinds
                    .iter()
                    .map(|k| format!("\"{}\"", k.as_str()))
                    .collect();
                format!(
                    "!(incident.asset != null && incident.asset.kind in [{}]) || {on_time}",
                    kinds.join(", ")
                )
            };
            let said = within.said(&params);
            let rule = Rule::derived(text, &control.location);
            derived.push(Control {
                id,
                clause: control.clause.clone(),
                kind: ControlKind::Check(Check {
                    subject: crate::schema::RecordType::Incident,
                    scope: Scope {
                        incident_kinds: vec![kind],
                        ..Scope::default()
                    },
                    rule,
                    message: format!(
                        "Incident {{incident.id}} ({{incident.kind}}) was discovered on {{incident.discovered_at}} but reported only on {{incident.reported_at}}; clause {} asks for a report {said}.",
                        control.clause
                    ),
                    message_you: Some(format!(
                        "You reported incident {{incident.id}} ({{incident.kind}}) on {{incident.reported_at}}, after discovering it on {{incident.discovered_at}}; clause {} asks for a report {said}.",
                        control.clause
                    )),
                    evidence: vec![
                        "incident.kind".into(),
                        "incident.discovered_at".into(),
                        "incident.reported_at".into(),
                        "incident.person.name".into(),
                    ],
                }),
                severity: control.severity,
                // The reporter's line manager follows a late report up; the governance team
                // hears of one left unanswered.
                who_acts: WhoActs::LineManager,
                grace_days: 0,
                escalation: vec![Escalation {
                    after_days: 7,
                    to: WhoActs::GovernanceTeam,
                }],
                remediation: format!(
                    "Find out why the report came late, record what was done about the delay, and remind the reporter that clause {} asks for a report {said} of discovery.",
                    control.clause
                ),
                see_also: Vec::new(),
                location: control.location.clone(),
            });
        }
        clause.controls.extend(derived);
    }
}

/// Adds to each clause a check over the tasks register for each of its recurring tasks: a task
/// recorded against the clause (`task.clause` is `PACK CLAUSE`, as Steward records them) must
/// have been done within its own interval — by its last-done date or a recorded completion — and
/// one never done is overdue. A clause whose pack already writes a check over its tasks keeps
/// that one.
pub(crate) fn add_task_checks(pack: &mut Pack) {
    let written: std::collections::HashSet<String> = pack
        .clauses
        .iter()
        .flat_map(|c| &c.controls)
        .filter_map(|k| match &k.kind {
            ControlKind::Check(c) if c.subject == crate::schema::RecordType::Task => {
                Some(c.scope.task_clauses.clone())
            }
            _ => None,
        })
        .flatten()
        .collect();
    let mut taken: std::collections::HashSet<String> = pack
        .clauses
        .iter()
        .flat_map(|c| c.controls.iter().map(|k| k.id.clone()))
        .collect();
    let pack_id = pack.id.clone();
    for clause in &mut pack.clauses {
        let mut derived = Vec::new();
        for control in &clause.controls {
            let ControlKind::RecurringTask(task) = &control.kind else {
                continue;
            };
            let key = format!("{pack_id} {}", control.clause);
            let id = format!("{}{ON_TIME_SUFFIX}", control.id);
            if written.contains(&key) || !taken.insert(id.clone()) {
                continue;
            }
            let rule = Rule::derived(
                "(task.last_done_on != null && today <= task.last_done_on + days(task.every_days))\n  || task.completions.exists(c, today <= c.done_on + days(task.every_days))".to_owned(),
                &control.location,
            );
            derived.push(Control {
                id,
                clause: control.clause.clone(),
                kind: ControlKind::Check(Check {
                    subject: crate::schema::RecordType::Task,
                    scope: Scope {
                        task_clauses: vec![key],
                        ..Scope::default()
                    },
                    rule,
                    message: format!(
                        "Task {{task.id}} ({{task.title}}) under clause {} is overdue: it is due every {{task.every_days}} days and was last done {{task.last_done_on|never}}.",
                        control.clause
                    ),
                    message_you: Some(format!(
                        "Your task {{task.id}} ({{task.title}}) under clause {} is overdue: it is due every {{task.every_days}} days and was last done {{task.last_done_on|never}}.",
                        control.clause
                    )),
                    evidence: vec![
                        "task.title".into(),
                        "task.every_days".into(),
                        "task.last_done_on".into(),
                        "task.owner.name".into(),
                    ],
                }),
                severity: control.severity,
                who_acts: task.owner,
                grace_days: control.grace_days,
                escalation: control.escalation.clone(),
                remediation: format!(
                    "Do the task and record it with its evidence: {}",
                    task.evidence
                ),
                see_also: Vec::new(),
                location: control.location.clone(),
            });
        }
        clause.controls.extend(derived);
    }
}
