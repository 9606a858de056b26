//! What the loader checks in a rule without type-checking it: that it parses as CEL, that it
//! reads only the variables the rule language has (the subject, `now`, `today`, `params`), and
//! that every `params.NAME` is a parameter of the pack. Type-checking is the rules crate's job.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use cel::common::ast::{EntryExpr, Expr, IdedExpr, SourceInfo};
use cel::parser::Parser;

use crate::schema::RecordType;
use crate::types::offset_of;

/// A problem in a rule: the byte offset in the rule it starts at, and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RuleProblem {
    pub offset: usize,
    pub reason: String,
}

/// Checks `text` as the rule of a check on `subject`; `is_param` says whether a name is a
/// parameter of the pack.
pub(crate) fn check_rule(
    text: &str,
    subject: RecordType,
    is_param: &dyn Fn(&str) -> bool,
) -> Vec<RuleProblem> {
    if text.trim().is_empty() {
        return vec![RuleProblem {
            offset: 0,
            reason: "the rule is empty".into(),
        }];
    }
    // The parser is third-party code; a panic on strange input must not take the loader down.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        Parser::new().parse_with_source_info(text)
    }));
    let (expr, info) = match parsed {
        Err(_) => {
            return vec![RuleProblem {
                offset: 0,
                reason: "the rule could not be parsed".into(),
            }];
        }
        Ok(Err(errors)) => {
            return errors
                .errors
                .iter()
                .map(|e| {
                    let line = usize::try_from(e.pos.0).unwrap_or(1).max(1);
                    let column = usize::try_from(e.pos.1).unwrap_or(1).max(1);
                    let msg = e.msg.strip_prefix("Syntax error: ").unwrap_or(&e.msg);
                    RuleProblem {
                        offset: offset_of(text, line, column),
                        reason: format!("syntax error in the rule: {}", lower_first(msg)),
                    }
                })
                .collect();
        }
        Ok(Ok(parsed)) => parsed,
    };
    let mut walk = Walk {
        subject,
        is_param,
        info: &info,
        text_len: text.len(),
        problems: Vec::new(),
        bound: Vec::new(),
    };
    walk.expr(&expr);
    let mut seen = HashSet::new();
    walk.problems.retain(|p| seen.insert(p.clone()));
    walk.problems
}

/// `a` or `an`, for the word that follows.
pub(crate) fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

pub(crate) fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

struct Walk<'a> {
    subject: RecordType,
    is_param: &'a dyn Fn(&str) -> bool,
    info: &'a SourceInfo,
    text_len: usize,
    problems: Vec<RuleProblem>,
    /// Variables bound by the macros around the current expression.
    bound: Vec<String>,
}

impl Walk<'_> {
    fn offset(&self, e: &IdedExpr) -> usize {
        self.info
            .offset_for(e.id)
            .map_or(0, |(start, _)| (start as usize).min(self.text_len))
    }

    fn problem(&mut self, e: &IdedExpr, reason: String) {
        let offset = self.offset(e);
        self.problems.push(RuleProblem { offset, reason });
    }

    fn expr(&mut self, e: &IdedExpr) {
        match &e.expr {
            Expr::Unspecified | Expr::Literal(_) => {}
            Expr::Ident(name) => self.ident(e, name),
            Expr::Select(select) => {
                if let Expr::Ident(root) = &select.operand.expr
                    && root == "params"
                    && !self.bound.iter().any(|b| b == "params")
                {
                    if !(self.is_param)(&select.field) {
                        self.problem(
                            &select.operand,
                            format!("unknown parameter `params.{}`", select.field),
                        );
                    }
                    return;
                }
                self.expr(&select.operand);
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.expr(target);
                }
                for arg in &call.args {
                    self.expr(arg);
                }
            }
            Expr::List(list) => {
                for el in &list.elements {
                    self.expr(el);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    match &entry.expr {
                        EntryExpr::MapEntry(m) => {
                            self.expr(&m.key);
                            self.expr(&m.value);
                        }
                        EntryExpr::StructField(f) => self.expr(&f.value),
                    }
                }
            }
            Expr::Struct(s) => {
                self.problem(
                    e,
                    format!(
                        "the rule language has no message types (`{}{{...}}`)",
                        s.type_name
                    ),
                );
            }
            Expr::Comprehension(c) => {
                self.expr(&c.iter_range);
                self.expr(&c.accu_init);
                let depth = self.bound.len();
                self.bound.push(c.iter_var.clone());
                if let Some(v) = &c.iter_var2 {
                    self.bound.push(v.clone());
                }
                self.bound.push(c.accu_var.clone());
                self.expr(&c.loop_cond);
                self.expr(&c.loop_step);
                self.expr(&c.result);
                self.bound.truncate(depth);
            }
        }
    }

    fn ident(&mut self, e: &IdedExpr, name: &str) {
        if self.bound.iter().any(|b| b == name)
            || name == self.subject.name()
            || matches!(name, "now" | "today")
        {
            return;
        }
        if name == "params" {
            self.problem(
                e,
                "`params` must be followed by a parameter name: `params.NAME`".into(),
            );
            return;
        }
        let hint = if RecordType::SUBJECTS.iter().any(|r| r.name() == name) {
            format!("; this check's subject is `{}`", self.subject.name())
        } else {
            String::new()
        };
        self.problem(
            e,
            format!(
                "unknown variable `{name}`: a rule reads `{}`, `now`, `today` and `params`{hint}",
                self.subject.name()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<RuleProblem> {
        check_rule(text, RecordType::Asset, &|p| p == "days_ok")
    }

    #[test]
    fn good_rules_pass() {
        assert!(
            problems("asset.last_seen != null && now - asset.last_seen <= days(params.days_ok)")
                .is_empty()
        );
        assert!(problems("asset.sightings.all(s, s.country == \"GB\" || asset.holder.travel.exists(t, s.country in t.countries))").is_empty());
        assert!(
            problems("has(asset.holder) && today > timestamp(\"2026-01-01T00:00:00Z\")").is_empty()
        );
    }

    #[test]
    fn syntax_errors_have_offsets() {
        let p = problems("asset.kind ==\n  && true");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].offset, 16);
        assert!(
            p[0].reason.starts_with("syntax error in the rule: "),
            "{}",
            p[0].reason
        );
    }

    #[test]
    fn unknown_variables_and_parameters_are_named() {
        let p = problems("person.status == \"leaver\" || params.days_nope > 1");
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].offset, 0);
        assert!(p[0].reason.contains("unknown variable `person`"));
        assert!(p[0].reason.contains("subject is `asset`"));
        assert_eq!(p[1].offset, "person.status == \"leaver\" || ".len());
        assert!(p[1].reason.contains("`params.days_nope`"));
    }

    #[test]
    fn macro_variables_are_scoped() {
        assert!(problems("asset.usage.all(u, u.data_mb < 10)").is_empty());
        let p = problems("asset.usage.all(u, u.data_mb < 10) && u.data_mb > 0");
        assert_eq!(p.len(), 1, "{p:?}");
    }
}
