//! Checking one control: the keys its kind takes, its words, scope, rule, message and evidence.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::{ErrorKind, PackError, Position};
use crate::load::{Source, is_slug, model_word, non_empty, parse_within, word};
use crate::position::string_offsets;
use crate::raw::{self, Evidence, RawControl, RawScope};
use crate::rule::{article, check_rule};
use crate::schema::{RecordType, check_path};
use crate::types::*;

/// Reports and removes the keys of `table` that are not in `known`, worded as serde words its
/// own unknown-field errors.
pub(crate) fn strip_unknown(
    src: &Source<'_>,
    table: &mut DeTable<'_>,
    known: &[&str],
    errors: &mut Vec<PackError>,
) {
    let unknown: Vec<(String, Range<usize>)> = table
        .iter()
        .filter(|(k, _)| !known.contains(&k.get_ref().as_ref()))
        .map(|(k, _)| (k.get_ref().to_string(), k.span()))
        .collect();
    for (key, span) in unknown {
        let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        let expected = match expected.as_slice() {
            [one] => one.clone(),
            [a, b] => format!("{a} or {b}"),
            _ => format!("one of {}", expected.join(", ")),
        };
        errors.push(src.error(
            ErrorKind::UnknownField,
            &span,
            format!("unknown field `{key}`, expected {expected}"),
        ));
        table.remove(key.as_str());
    }
}

/// [`strip_unknown`] for a control and the tables inside it (scope, audience, escalation steps).
pub(crate) fn strip_unknown_control_keys(
    src: &Source<'_>,
    table: &mut DeTable<'_>,
    errors: &mut Vec<PackError>,
) {
    strip_unknown(src, table, raw::CONTROL_KEYS, errors);
    for key in ["scope", "audience"] {
        if let Some(v) = table.get_mut(key)
            && let DeValue::Table(scope) = v.get_mut()
        {
            strip_unknown(src, scope, raw::SCOPE_KEYS, errors);
        }
    }
    if let Some(v) = table.get_mut("escalation")
        && let DeValue::Array(steps) = v.get_mut()
    {
        for step in steps.iter_mut() {
            if let DeValue::Table(step) = step.get_mut() {
                strip_unknown(src, step, raw::ESCALATION_KEYS, errors);
            }
        }
    }
}

/// What a control is checked against.
pub(crate) struct Ctx<'a> {
    pub src: &'a Source<'a>,
    pub params: Option<&'a BTreeMap<String, Parameter>>,
    pub groups: Option<&'a BTreeMap<String, StaffGroup>>,
}

/// Which of a control's optional keys each kind takes.
fn allowed(kind: KindName, key: &str) -> bool {
    let common = matches!(key, "severity" | "see_also");
    let acting = matches!(key, "grace_days" | "escalation" | "remediation");
    common
        || match kind {
            KindName::Check => {
                acting
                    || matches!(
                        key,
                        "who_acts"
                            | "subject"
                            | "scope"
                            | "rule"
                            | "message"
                            | "message_you"
                            | "evidence"
                    )
            }
            KindName::Workflow => {
                acting
                    || matches!(
                        key,
                        "who_acts"
                            | "subject"
                            | "scope"
                            | "process"
                            | "incident"
                            | "report_within"
                            | "complete_within"
                            | "notify"
                            | "approver"
                            | "approvers"
                            | "message"
                    )
            }
            KindName::Attestation => {
                acting
                    || matches!(
                        key,
                        "who_acts" | "audience" | "reaccept_on_material_change" | "statement"
                    )
            }
            KindName::RecurringTask => acting || matches!(key, "owner" | "cadence" | "evidence"),
            KindName::Guidance => matches!(key, "who_acts" | "applies_to" | "subject" | "scope"),
        }
}

impl Ctx<'_> {
    fn err(&self, kind: ErrorKind, span: &Range<usize>, reason: impl Into<String>) -> PackError {
        self.src.error(kind, span, reason)
    }

    fn is_param(&self, name: &str) -> bool {
        self.params.is_none_or(|p| p.contains_key(name))
    }

    pub(crate) fn control(
        &self,
        clause: &str,
        span: &Range<usize>,
        raw: RawControl,
        errors: &mut Vec<PackError>,
    ) -> Option<Control> {
        let id = raw.id.get_ref().clone();
        if !is_slug(&id, false) {
            errors.push(self.err(
                ErrorKind::Invalid,
                &raw.id.span(),
                format!("control id `{id}` must be lower-case letters, digits and `-`"),
            ));
        }
        let kind = word(
            self.src,
            "control kind",
            &raw.kind,
            KindName::parse,
            KindName::ALL,
            errors,
        )?;
        // Keys that do not apply to this kind.
        let present: [(&str, Option<Range<usize>>); 25] = [
            ("subject", raw.subject.as_ref().map(Spanned::span)),
            ("scope", raw.scope.as_ref().map(Spanned::span)),
            ("rule", raw.rule.as_ref().map(Spanned::span)),
            ("message", raw.message.as_ref().map(Spanned::span)),
            ("message_you", raw.message_you.as_ref().map(Spanned::span)),
            ("evidence", raw.evidence.as_ref().map(Spanned::span)),
            ("severity", raw.severity.as_ref().map(Spanned::span)),
            ("who_acts", raw.who_acts.as_ref().map(Spanned::span)),
            ("owner", raw.owner.as_ref().map(Spanned::span)),
            ("grace_days", raw.grace_days.as_ref().map(Spanned::span)),
            ("escalation", raw.escalation.as_ref().map(Spanned::span)),
            ("remediation", raw.remediation.as_ref().map(Spanned::span)),
            ("see_also", raw.see_also.as_ref().map(Spanned::span)),
            ("process", raw.process.as_ref().map(Spanned::span)),
            ("incident", raw.incident.as_ref().map(Spanned::span)),
            (
                "report_within",
                raw.report_within.as_ref().map(Spanned::span),
            ),
            (
                "complete_within",
                raw.complete_within.as_ref().map(Spanned::span),
            ),
            ("notify", raw.notify.as_ref().map(Spanned::span)),
            ("approver", raw.approver.as_ref().map(Spanned::span)),
            ("approvers", raw.approvers.as_ref().map(Spanned::span)),
            ("audience", raw.audience.as_ref().map(Spanned::span)),
            (
                "reaccept_on_material_change",
                raw.reaccept_on_material_change.as_ref().map(Spanned::span),
            ),
            ("statement", raw.statement.as_ref().map(Spanned::span)),
            ("cadence", raw.cadence.as_ref().map(Spanned::span)),
            ("applies_to", raw.applies_to.as_ref().map(Spanned::span)),
        ];
        let before = errors.len();
        for (key, at) in &present {
            if let Some(at) = at
                && !allowed(kind, key)
            {
                let hint = match (kind, *key) {
                    (KindName::RecurringTask, "who_acts") => {
                        " (a recurring task names its `owner`)"
                    }
                    (KindName::Guidance, "remediation" | "grace_days" | "escalation") => {
                        " (guidance asks nothing of anyone)"
                    }
                    _ => "",
                };
                errors.push(self.err(
                    ErrorKind::UnknownField,
                    at,
                    format!(
                        "`{key}` does not apply to {} {kind} control{hint}",
                        article(kind.as_str())
                    ),
                ));
            }
        }
        let missing = |errors: &mut Vec<PackError>, key: &str| {
            errors.push(self.err(
                ErrorKind::Missing,
                span,
                format!("{} {kind} control needs `{key}`", article(kind.as_str())),
            ));
        };

        let severity = match &raw.severity {
            Some(s) => word(
                self.src,
                "severity",
                s,
                Severity::parse,
                Severity::ALL,
                errors,
            ),
            None if kind == KindName::Guidance => Some(Severity::Info),
            None => {
                missing(errors, "severity");
                None
            }
        };
        let who_acts = match (kind, &raw.who_acts, &raw.owner) {
            (KindName::RecurringTask, _, Some(o)) => {
                word(self.src, "owner", o, WhoActs::parse, WhoActs::ALL, errors)
            }
            (KindName::RecurringTask, _, None) => {
                missing(errors, "owner");
                None
            }
            (_, Some(w), _) => word(
                self.src,
                "who_acts value",
                w,
                WhoActs::parse,
                WhoActs::ALL,
                errors,
            ),
            (KindName::Guidance, None, _) => Some(WhoActs::Person),
            (_, None, _) => {
                missing(errors, "who_acts");
                None
            }
        };
        let grace_days = match &raw.grace_days {
            None => 0,
            Some(g) => u32::try_from(*g.get_ref()).unwrap_or_else(|_| {
                errors.push(self.err(
                    ErrorKind::Invalid,
                    &g.span(),
                    "`grace_days` must be zero or a positive whole number of days",
                ));
                0
            }),
        };
        let mut escalation = Vec::new();
        if let Some(steps) = &raw.escalation {
            let mut last: Option<u32> = None;
            for step in steps.get_ref() {
                let step_span = step.span();
                let step = step.get_ref();
                let after = match u32::try_from(*step.after_days.get_ref()) {
                    Ok(n) => n,
                    Err(_) => {
                        errors.push(self.err(
                            ErrorKind::Invalid,
                            &step.after_days.span(),
                            "`after_days` must be zero or a positive whole number of days",
                        ));
                        continue;
                    }
                };
                if last.is_some_and(|l| after <= l) {
                    errors.push(self.err(ErrorKind::Invalid, &step_span, format!("escalation steps must come later and later: {after} days follows {} days", last.unwrap_or(0))));
                }
                last = Some(after);
                if let Some(to) = word(
                    self.src,
                    "escalation role",
                    &step.to,
                    WhoActs::parse,
                    WhoActs::ALL,
                    errors,
                ) {
                    escalation.push(Escalation {
                        after_days: after,
                        to,
                    });
                }
            }
        }
        let remediation = match (&raw.remediation, kind) {
            (Some(r), _) => non_empty(self.src, "the remediation", r, errors),
            (None, KindName::Guidance) => String::new(),
            (None, _) => {
                missing(errors, "remediation");
                String::new()
            }
        };
        let see_also = raw
            .see_also
            .as_ref()
            .map(|s| s.get_ref().iter().map(|a| a.get_ref().clone()).collect())
            .unwrap_or_default();

        let subject = raw.subject.as_ref().and_then(|s| {
            let parsed = RecordType::parse(s.get_ref()).filter(|r| r.is_subject());
            if parsed.is_none() {
                let all: Vec<_> = RecordType::SUBJECTS.iter().map(|r| r.name()).collect();
                errors.push(self.err(
                    ErrorKind::Invalid,
                    &s.span(),
                    format!(
                        "unknown subject `{}`, expected one of {}",
                        s.get_ref(),
                        all.join("|")
                    ),
                ));
            }
            parsed
        });
        let scope = raw
            .scope
            .as_ref()
            .map(|s| self.scope(s, subject.unwrap_or(RecordType::Person), "scope", errors))
            .unwrap_or_default();

        let kind_data = match kind {
            KindName::Check => self.check(span, &raw, subject, scope, errors),
            KindName::Workflow => self.workflow(span, &raw, subject, scope, errors),
            KindName::Attestation => {
                let audience = raw
                    .audience
                    .as_ref()
                    .map(|s| self.scope(s, RecordType::Person, "audience", errors))
                    .unwrap_or_default();
                let reaccept = raw
                    .reaccept_on_material_change
                    .as_ref()
                    .map(|r| *r.get_ref());
                if reaccept.is_none() {
                    missing(errors, "reaccept_on_material_change");
                }
                Some(ControlKind::Attestation(Attestation {
                    audience,
                    reaccept_on_material_change: reaccept.unwrap_or(true),
                    statement: raw
                        .statement
                        .as_ref()
                        .map(|s| non_empty(self.src, "the statement", s, errors)),
                }))
            }
            KindName::RecurringTask => {
                let cadence = match &raw.cadence {
                    Some(c) => word(self.src, "cadence", c, Cadence::parse, Cadence::ALL, errors),
                    None => {
                        missing(errors, "cadence");
                        None
                    }
                };
                let evidence = match &raw.evidence {
                    Some(e) => match e.get_ref() {
                        Evidence::Text(t) if !t.trim().is_empty() => Some(t.clone()),
                        Evidence::Text(_) => {
                            errors.push(self.err(
                                ErrorKind::Invalid,
                                &e.span(),
                                "the evidence must not be empty",
                            ));
                            None
                        }
                        Evidence::Paths(_) => {
                            errors.push(self.err(ErrorKind::Invalid, &e.span(), "a recurring task's `evidence` is a sentence saying what closes the task"));
                            None
                        }
                    },
                    None => {
                        missing(errors, "evidence");
                        None
                    }
                };
                match (cadence, evidence, who_acts) {
                    (Some(cadence), Some(evidence), Some(owner)) => {
                        Some(ControlKind::RecurringTask(RecurringTask {
                            cadence,
                            evidence,
                            owner,
                        }))
                    }
                    _ => None,
                }
            }
            KindName::Guidance => {
                let applies_to = match &raw.applies_to {
                    Some(a) => word(
                        self.src,
                        "guidance kind",
                        a,
                        GuidanceKind::parse,
                        GuidanceKind::ALL,
                        errors,
                    ),
                    None => {
                        missing(errors, "applies_to");
                        None
                    }
                };
                applies_to.map(|applies_to| {
                    ControlKind::Guidance(Guidance {
                        applies_to,
                        subject,
                        scope,
                    })
                })
            }
        };
        if errors.len() != before {
            return None;
        }
        Some(Control {
            id,
            clause: clause.to_owned(),
            kind: kind_data?,
            severity: severity?,
            who_acts: who_acts?,
            grace_days,
            escalation,
            remediation,
            see_also,
            location: self.src.location(&raw.id.span()),
        })
    }

    fn check(
        &self,
        span: &Range<usize>,
        raw: &RawControl,
        subject: Option<RecordType>,
        scope: Scope,
        errors: &mut Vec<PackError>,
    ) -> Option<ControlKind> {
        let missing = |errors: &mut Vec<PackError>, key: &str| {
            errors.push(self.err(
                ErrorKind::Missing,
                span,
                format!("a check control needs `{key}`"),
            ))
        };
        if raw.subject.is_none() {
            missing(errors, "subject");
        }
        let Some(rule_text) = &raw.rule else {
            missing(errors, "rule");
            return None;
        };
        let message = match &raw.message {
            Some(m) => {
                if let Some(subject) = subject {
                    self.placeholders("message", m, subject, errors);
                }
                non_empty(self.src, "the message", m, errors)
            }
            None => {
                missing(errors, "message");
                String::new()
            }
        };
        // The same finding said to the person it concerns: checked exactly as the message is.
        let message_you = raw.message_you.as_ref().map(|m| {
            if let Some(subject) = subject {
                self.placeholders("message_you", m, subject, errors);
            }
            non_empty(self.src, "`message_you`", m, errors)
        });
        let mut evidence = Vec::new();
        match raw.evidence.as_ref().map(|e| (e.span(), e.get_ref())) {
            None => {}
            Some((at, Evidence::Text(_))) => errors.push(self.err(
                ErrorKind::Invalid,
                &at,
                "a check's `evidence` is a list of paths such as [\"asset.last_seen\"]",
            )),
            Some((at, Evidence::Paths(paths))) => {
                for p in paths {
                    if let Some(subject) = subject
                        && let Err(reason) = check_path(subject, p, &|n| self.is_param(n))
                    {
                        errors.push(self.err(
                            ErrorKind::Reference,
                            &at,
                            format!("evidence {reason}"),
                        ));
                    }
                    evidence.push(p.clone());
                }
            }
        }
        let subject = subject?;
        let text = rule_text.get_ref().clone();
        let offsets = string_offsets(self.src.text, rule_text.span(), &text);
        let positions: Vec<Position> = offsets
            .iter()
            .map(|&o| self.src.lines.position(o))
            .collect();
        let rule = Rule {
            text,
            file: self.src.name.to_owned(),
            span: rule_text.span(),
            positions,
        };
        let problems = check_rule(&rule.text, subject, &|n| self.is_param(n));
        for problem in &problems {
            let kind = if problem.reason.starts_with("unknown parameter") {
                ErrorKind::Reference
            } else {
                ErrorKind::Rule
            };
            errors.push(
                PackError::new(kind, self.src.name, problem.reason.clone())
                    .at(Some(rule.position(problem.offset))),
            );
        }
        // A rule that reads only what the language has is then type-checked against the schema,
        // with the pack's parameters (when they loaded).
        if problems.is_empty()
            && let Some(params) = self.params
            && let Err(e) = crate::typecheck::rule(&rule.text, subject, params)
        {
            errors.push(
                PackError::new(ErrorKind::Rule, self.src.name, e.message).at(Some(
                    rule.position(e.offset.map_or(0, |(start, _)| start as usize)),
                )),
            );
        }
        Some(ControlKind::Check(Check {
            subject,
            scope,
            rule,
            message,
            message_you,
            evidence,
        }))
    }

    fn workflow(
        &self,
        span: &Range<usize>,
        raw: &RawControl,
        subject: Option<RecordType>,
        scope: Scope,
        errors: &mut Vec<PackError>,
    ) -> Option<ControlKind> {
        let trigger = match (&raw.process, &raw.incident) {
            (Some(p), None) => word(self.src, "process", p, Process::parse, Process::ALL, errors)
                .map(Trigger::Process),
            (None, Some(i)) => word(
                self.src,
                "incident",
                i,
                Incident::parse,
                Incident::ALL,
                errors,
            )
            .map(Trigger::Incident),
            (Some(_), Some(i)) => {
                errors.push(self.err(
                    ErrorKind::Invalid,
                    &i.span(),
                    "a workflow has a `process` or an `incident`, not both",
                ));
                None
            }
            (None, None) => {
                errors.push(self.err(
                    ErrorKind::Missing,
                    span,
                    "a workflow control needs a `process` or an `incident`",
                ));
                None
            }
        };
        let incident = raw.incident.is_some();
        let within = match (incident, &raw.report_within, &raw.complete_within) {
            (true, Some(w), None) | (false, None, Some(w)) => {
                match parse_within(w.get_ref(), self.params) {
                    Ok(w) => Some(w),
                    Err(reason) => {
                        errors.push(self.err(ErrorKind::Invalid, &w.span(), reason));
                        None
                    }
                }
            }
            (true, None, None) => {
                errors.push(self.err(
                    ErrorKind::Missing,
                    span,
                    "an incident workflow needs `report_within` (e.g. \"immediately\")",
                ));
                None
            }
            (false, None, None) => None,
            (true, _, Some(w)) => {
                errors.push(self.err(
                    ErrorKind::UnknownField,
                    &w.span(),
                    "an incident is reported, not completed: use `report_within`",
                ));
                None
            }
            (false, Some(w), _) => {
                errors.push(self.err(
                    ErrorKind::UnknownField,
                    &w.span(),
                    "a process is completed, not reported: use `complete_within`",
                ));
                None
            }
        };
        let notify: Vec<Role> = raw
            .notify
            .as_ref()
            .map(|n| {
                n.get_ref()
                    .iter()
                    .filter_map(|r| word(self.src, "role", r, Role::parse, Role::ALL, errors))
                    .collect()
            })
            .unwrap_or_default();
        if incident && notify.is_empty() {
            errors.push(self.err(
                ErrorKind::Missing,
                span,
                "an incident workflow needs `notify`: who must be told",
            ));
        }
        let named: Vec<&Spanned<String>> = match (&raw.approver, &raw.approvers) {
            (Some(one), None) => vec![one],
            (None, Some(many)) => many.get_ref().iter().collect(),
            (None, None) => Vec::new(),
            (Some(_), Some(many)) => {
                errors.push(self.err(
                    ErrorKind::Invalid,
                    &many.span(),
                    "name who approves once: `approver` for one party or `approvers` for several, not both",
                ));
                Vec::new()
            }
        };
        let mut approvers: Vec<Role> = Vec::new();
        for a in named {
            let Some(role) = word(self.src, "role", a, Role::parse, Role::ALL, errors) else {
                continue;
            };
            if role.approver_role().is_none() {
                let can: Vec<&str> = Role::ALL
                    .iter()
                    .filter(|w| Role::parse(w).and_then(Role::approver_role).is_some())
                    .copied()
                    .collect();
                errors.push(self.err(
                    ErrorKind::Invalid,
                    &a.span(),
                    format!(
                        "nobody can approve a request as `{role}`: an approver is one of {}",
                        can.join("|")
                    ),
                ));
            } else if !approvers.contains(&role) {
                approvers.push(role);
            }
        }
        if !approvers.is_empty() && incident {
            errors.push(self.err(
                ErrorKind::UnknownField,
                span,
                "an incident is reported, not approved: `approver` is for a process",
            ));
        }
        if let Some(m) = &raw.message
            && let Some(subject) = subject
        {
            self.placeholders("message", m, subject, errors);
        }
        Some(ControlKind::Workflow(Workflow {
            trigger: trigger?,
            subject,
            scope,
            within,
            notify,
            approvers,
        }))
    }

    /// Reads a scope for subjects of type `subject`.
    fn scope(
        &self,
        raw: &Spanned<RawScope>,
        subject: RecordType,
        key: &str,
        errors: &mut Vec<PackError>,
    ) -> Scope {
        let s = raw.get_ref();
        let applies = |name: &str| -> bool {
            use RecordType as R;
            match name {
                "staff_groups" | "person_statuses" => subject.has_person(),
                "asset_kinds" | "ownership" => matches!(subject, R::Asset | R::Usage | R::Sighting),
                "asset_statuses" => subject == R::Asset,
                "account_kinds" | "account_statuses" => subject == R::Account,
                "travel_statuses" => subject == R::Travel,
                "task_clauses" => subject == R::Task,
                "review_packs" => subject == R::PolicyReview,
                "request_kinds" | "request_states" => subject == R::Request,
                "incident_kinds" | "incident_states" => subject == R::Incident,
                _ => false,
            }
        };
        let lists: [(&str, &Vec<Spanned<String>>); 14] = [
            ("staff_groups", &s.staff_groups),
            ("person_statuses", &s.person_statuses),
            ("asset_kinds", &s.asset_kinds),
            ("ownership", &s.ownership),
            ("asset_statuses", &s.asset_statuses),
            ("account_kinds", &s.account_kinds),
            ("account_statuses", &s.account_statuses),
            ("travel_statuses", &s.travel_statuses),
            ("task_clauses", &s.task_clauses),
            ("review_packs", &s.review_packs),
            ("request_kinds", &s.request_kinds),
            ("request_states", &s.request_states),
            ("incident_kinds", &s.incident_kinds),
            ("incident_states", &s.incident_states),
        ];
        for (name, list) in lists {
            if let Some(first) = list.first()
                && !applies(name)
            {
                errors.push(self.err(
                    ErrorKind::Invalid,
                    &first.span(),
                    format!(
                        "`{key}.{name}` does not apply to {} {} subject",
                        article(subject.name()),
                        subject.name()
                    ),
                ));
            }
        }
        fn words<T>(
            ctx: &Ctx<'_>,
            what: &str,
            list: &[Spanned<String>],
            parse: fn(&str) -> Option<T>,
            all: &[&str],
            errors: &mut Vec<PackError>,
        ) -> Vec<T> {
            list.iter()
                .filter_map(|w| word(ctx.src, what, w, parse, all, errors))
                .collect()
        }
        let mut staff_groups = Vec::new();
        for g in &s.staff_groups {
            if let Some(groups) = self.groups
                && !groups.contains_key(g.get_ref())
            {
                let known: Vec<&str> = groups.keys().map(String::as_str).collect();
                errors.push(self.err(
                    ErrorKind::Reference,
                    &g.span(),
                    format!(
                        "unknown staff group `{}`: the pack defines {}",
                        g.get_ref(),
                        known.join("|")
                    ),
                ));
            }
            staff_groups.push(g.get_ref().clone());
        }
        // A task names the clause it carries out as `PACK CLAUSE` (the model's convention), so
        // a scope naming only a clause, or a malformed pack id, would silently match nothing.
        let mut task_clauses = Vec::new();
        for t in &s.task_clauses {
            let text = t.get_ref();
            match text.split_once(' ') {
                Some((pack, clause))
                    if is_slug(pack, true) && !clause.is_empty() && !clause.contains(' ') =>
                {
                    task_clauses.push(text.clone());
                }
                _ => errors.push(self.err(
                    ErrorKind::Invalid,
                    &t.span(),
                    format!(
                        "task clause `{text}` must be a pack id and a clause id, e.g. `cafcass-ia-4.3 3.9-6`"
                    ),
                )),
            }
        }
        let mut review_packs = Vec::new();
        for p in &s.review_packs {
            if is_slug(p.get_ref(), true) {
                review_packs.push(p.get_ref().clone());
            } else {
                errors.push(self.err(
                    ErrorKind::Invalid,
                    &p.span(),
                    format!("`{}` is not a pack id", p.get_ref()),
                ));
            }
        }
        use steward_model::{
            AccountKind, AccountStatus, AssetKind, AssetStatus, IncidentState, IncidentType,
            Ownership, PersonStatus, RequestState, RequestType,
        };
        Scope {
            staff_groups,
            person_statuses: words(
                self,
                "person status",
                &s.person_statuses,
                model_word::<PersonStatus>,
                PersonStatus::ALL,
                errors,
            ),
            asset_kinds: words(
                self,
                "asset kind",
                &s.asset_kinds,
                model_word::<AssetKind>,
                AssetKind::ALL,
                errors,
            ),
            ownership: words(
                self,
                "ownership",
                &s.ownership,
                model_word::<Ownership>,
                Ownership::ALL,
                errors,
            ),
            asset_statuses: words(
                self,
                "asset status",
                &s.asset_statuses,
                model_word::<AssetStatus>,
                AssetStatus::ALL,
                errors,
            ),
            account_kinds: words(
                self,
                "account kind",
                &s.account_kinds,
                model_word::<AccountKind>,
                AccountKind::ALL,
                errors,
            ),
            account_statuses: words(
                self,
                "account status",
                &s.account_statuses,
                model_word::<AccountStatus>,
                AccountStatus::ALL,
                errors,
            ),
            travel_statuses: words(
                self,
                "travel status",
                &s.travel_statuses,
                TravelStatus::parse,
                TravelStatus::ALL,
                errors,
            ),
            task_clauses,
            review_packs,
            request_kinds: words(
                self,
                "request kind",
                &s.request_kinds,
                model_word::<RequestType>,
                RequestType::ALL,
                errors,
            ),
            request_states: words(
                self,
                "request state",
                &s.request_states,
                model_word::<RequestState>,
                RequestState::ALL,
                errors,
            ),
            incident_kinds: words(
                self,
                "incident kind",
                &s.incident_kinds,
                model_word::<IncidentType>,
                IncidentType::ALL,
                errors,
            ),
            incident_states: words(
                self,
                "incident state",
                &s.incident_states,
                model_word::<IncidentState>,
                IncidentState::ALL,
                errors,
            ),
        }
    }

    /// Checks a message's `{path}` placeholders; `{{` and `}}` are literal braces.
    fn placeholders(
        &self,
        key: &str,
        message: &Spanned<String>,
        subject: RecordType,
        errors: &mut Vec<PackError>,
    ) {
        for problem in placeholder_problems(message.get_ref(), subject, &|n| self.is_param(n)) {
            errors.push(self.err(
                ErrorKind::Invalid,
                &message.span(),
                format!("{key}: {problem}"),
            ));
        }
    }
}

/// The problems with a message's placeholders.
pub(crate) fn placeholder_problems(
    message: &str,
    subject: RecordType,
    is_param: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let (parts, mut problems) = crate::message::message_parts(message);
    for part in parts {
        if let crate::message::MessagePart::Value { path, .. } = part
            && let Err(reason) = check_path(subject, &path, is_param)
        {
            problems.push(format!("placeholder {reason}"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_checked() {
        let p = |m: &str| placeholder_problems(m, RecordType::Asset, &|n| n == "x");
        assert!(
            p("Laptop {asset.tag} held by {asset.holder.name|nobody}, limit {params.x} {{literal}}")
                .is_empty()
        );
        assert_eq!(p("{asset.nope}").len(), 1);
        assert_eq!(p("{asset.tag").len(), 1);
        assert_eq!(p("asset.tag}").len(), 1);
        assert_eq!(p("{}").len(), 1);
        assert_eq!(p("{person.name}").len(), 1);
    }
}
