//! The rule language: CEL expressions over a typed schema of the estate.
//!
//! This crate owns the schema rules see (kinds of object, fields, relations), the type checker,
//! the compiler from CEL to closures, and evaluation over an estate held in memory ([`Data`]).
//! Parsing is the `cel` crate's; the `cel` interpreter is the reference our compiled closures are
//! tested against.
//!
//! It must never do I/O, read the clock (`now` is passed in) or know about packs, findings or
//! storage: it answers "does this subject comply with this rule", nothing more.

mod batch;
mod compile;
mod data;
mod neighbourhood;
mod reads;
mod schema;
mod value;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use data::{Data, LaidOut, Layout, Order};
pub use neighbourhood::{Find, Neighbourhood, Touched, fields_found_by};
pub use reads::Reads;
pub use schema::{Kind, Ty};
pub use value::EvalError;

use compile::{Compiler, Env, Eval};

/// A parameter's effective value, fixed into a rule when it is compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Double(f64),
    Bool(bool),
    String(String),
    /// Microseconds.
    Duration(i64),
    List(Vec<String>),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Double(v) => write!(f, "{v}"),
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::String(v) => write!(f, "{v:?}"),
            ParamValue::Duration(us) => write!(f, "{}s", *us as f64 / 1e6),
            ParamValue::List(v) => write!(f, "{v:?}"),
        }
    }
}

/// Why a rule does not compile: the message and, where known, the character range in the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    pub(crate) expr_id: u64,
    /// Byte offsets (start, end) in the rule text.
    pub offset: Option<(u32, u32)>,
    pub message: String,
}

impl CompileError {
    /// An error about a rule as a whole, with no position in it.
    pub fn new(message: impl Into<String>) -> CompileError {
        CompileError {
            expr_id: 0,
            offset: None,
            message: message.into(),
        }
    }

    /// 1-based line and column of the error's start within the rule text.
    pub fn line_column(&self, rule: &str) -> (usize, usize) {
        let start = self.offset.map_or(0, |(s, _)| s as usize);
        let mut line = 1;
        let mut column = 1;
        for (_, c) in rule.char_indices().take_while(|(i, _)| *i < start) {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        (line, column)
    }
}

/// A rule ready to evaluate: type-checked and compiled.
pub struct Program {
    subject: Kind,
    eval: Eval,
    /// The same rule a column at a time; only rules (bool), not display expressions.
    batch: Option<batch::Node>,
    /// Where a display expression that is just a field (`person.name`, `usage.asset.holder.name`
    /// through relations to one object) reads it: a message's placeholders and a finding's
    /// evidence are shown for every finding, hundreds of thousands in a run.
    field: Option<batch::At>,
    slots: usize,
    /// The fields it reads, with those every estate lays out.
    reads: Reads,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Parses, type-checks and compiles `rule` for subjects of `subject`, with `params` fixed.
/// The rule must be a bool.
pub fn compile(
    rule: &str,
    subject: Kind,
    params: &[(String, ParamValue)],
) -> Result<Program, CompileError> {
    compile_any(rule, subject, params, true)
}

/// Compiles an expression of any type, such as a message placeholder (`asset.holder.name`) or an
/// evidence path, to be shown with [`Program::display`].
pub fn compile_expression(
    expression: &str,
    subject: Kind,
    params: &[(String, ParamValue)],
) -> Result<Program, CompileError> {
    compile_any(expression, subject, params, false)
}

fn compile_any(
    rule: &str,
    subject: Kind,
    params: &[(String, ParamValue)],
    must_be_bool: bool,
) -> Result<Program, CompileError> {
    // The parser is third-party code; a panic on strange input must not take Steward down.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        cel::parser::Parser::new().parse_with_source_info(rule)
    }))
    .map_err(|_| CompileError {
        expr_id: 0,
        offset: None,
        message: "the rule could not be parsed".into(),
    })?;
    let (expr, info) = parsed.map_err(|errors| {
        let first = errors.errors.first();
        let message = first.map_or_else(
            || "syntax error".to_owned(),
            |e| format!("syntax error: {}", e.msg),
        );
        let offset = first.and_then(|e| {
            let (line, column) = e.pos;
            offset_of(rule, line, column)
        });
        CompileError {
            expr_id: 0,
            offset,
            message,
        }
    })?;
    let mut compiler = Compiler::new(subject, params);
    let (ty, eval) = compiler.compile(&expr).map_err(|mut e| {
        e.offset = info.offset_for(e.expr_id);
        e
    })?;
    if must_be_bool && !Ty::Bool.accepts(&ty) {
        return Err(CompileError {
            expr_id: expr.id,
            offset: info.offset_for(expr.id),
            message: format!("a rule must be true or false, this one is {ty}"),
        });
    }
    let batch = if must_be_bool {
        Some(compiler.batch(&expr).map_err(|mut e| {
            e.offset = info.offset_for(e.expr_id);
            e
        })?)
    } else {
        None
    };
    let field = if must_be_bool {
        None
    } else {
        compiler.scalar_field(&expr)
    };
    Ok(Program {
        subject,
        eval,
        batch,
        field,
        slots: compiler.slots,
        reads: {
            // Every subject is found by its id.
            let mut reads = compiler.reads.into_inner();
            reads.insert_id(subject);
            reads.set_hops(compiler.relation_nodes.into_inner().len());
            reads
        },
    })
}

/// Converts the parser's (line, column) — line 1-based, column 0-based in characters — to a
/// byte offset.
fn offset_of(rule: &str, line: isize, column: isize) -> Option<(u32, u32)> {
    let mut offset = 0usize;
    for (i, text) in rule.split('\n').enumerate() {
        if i as isize + 1 == line {
            let column = usize::try_from(column).ok()?;
            let within = text
                .char_indices()
                .nth(column)
                .map_or(text.len(), |(b, _)| b);
            let at = u32::try_from(offset + within).ok()?;
            return Some((at, at));
        }
        offset += text.len() + 1;
    }
    None
}

impl Program {
    pub fn subject(&self) -> Kind {
        self.subject
    }

    /// The fields of the estate it reads: an estate laid out with at least these
    /// ([`Data::from_registers_reading`]) decides it as one laid out whole.
    pub fn reads(&self) -> &Reads {
        &self.reads
    }

    /// The expression's value for subject number `index`, as text for people: a date as
    /// `YYYY-MM-DD`, an instant in RFC 3339, a duration in days, an object by its id, a list
    /// joined by commas, unknown as the empty string.
    pub fn display(
        &self,
        data: &Data,
        index: u32,
        now: i64,
        today: i64,
    ) -> Result<String, EvalError> {
        let mut out = String::new();
        self.display_into(data, index, now, today, &mut out)?;
        Ok(out)
    }

    /// [`Program::display`] appended to `out`, nothing appended where it cannot be decided: for
    /// a message filled piece by piece into one buffer.
    pub fn display_into(
        &self,
        data: &Data,
        index: u32,
        now: i64,
        today: i64,
        out: &mut String,
    ) -> Result<(), EvalError> {
        if let Some(field) = &self.field {
            return field.display_into(data, index, out);
        }
        self.display_by_closures(data, index, now, today, out)
    }

    /// [`Program::display_into`] through the closures, whatever the expression.
    fn display_by_closures(
        &self,
        data: &Data,
        index: u32,
        now: i64,
        today: i64,
        out: &mut String,
    ) -> Result<(), EvalError> {
        let env = Env {
            data,
            now,
            today,
            subject: index,
        };
        let mut slots = Vec::with_capacity(self.slots);
        let value = (self.eval)(&env, &mut slots)?;
        value::push_display(data, &value, out);
        Ok(())
    }

    /// Evaluates the subjects `indices`, handing each result to `each` in the order given.
    ///
    /// A rule is decided for all of them together, a column at a time; only a subject it cannot
    /// decide is evaluated again on its own, for the error's message.
    pub fn evaluate_each(
        &self,
        data: &Data,
        indices: impl IntoIterator<Item = u32>,
        now: i64,
        today: i64,
        mut each: impl FnMut(u32, Result<bool, EvalError>),
    ) {
        let Some(batch) = &self.batch else {
            let mut slots = Vec::with_capacity(self.slots);
            for index in indices {
                each(
                    index,
                    self.evaluate_one(data, index, now, today, &mut slots),
                );
            }
            return;
        };
        // A thousand subjects at a time: the working buffers stay small and in cache.
        const CHUNK: usize = 1024;
        let cx = batch::Cx { data, now, today };
        let mut slots = Vec::new();
        let mut rows: Vec<u32> = Vec::with_capacity(CHUNK);
        let mut outcomes = [batch::FALSE; CHUNK];
        let mut indices = indices.into_iter().peekable();
        while indices.peek().is_some() {
            rows.clear();
            rows.extend(indices.by_ref().take(CHUNK));
            let outcomes = &mut outcomes[..rows.len()];
            batch.run(&cx, &rows, outcomes);
            for (&index, &outcome) in rows.iter().zip(outcomes.iter()) {
                let result = match outcome {
                    batch::TRUE => Ok(true),
                    batch::FALSE => Ok(false),
                    _ => self.evaluate_one(data, index, now, today, &mut slots),
                };
                each(index, result);
            }
        }
    }

    /// One subject through the closures, the slots' buffer lent by the caller.
    fn evaluate_one<'a>(
        &self,
        data: &'a Data,
        index: u32,
        now: i64,
        today: i64,
        slots: &mut compile::Slots<'a>,
    ) -> Result<bool, EvalError> {
        let env = Env {
            data,
            now,
            today,
            subject: index,
        };
        slots.clear();
        match (self.eval)(&env, slots) {
            Ok(value::V::Bool(b)) => Ok(b),
            Ok(other) => Err(EvalError::new(format!(
                "the rule gave {}, not true or false",
                other.type_name()
            ))),
            Err(e) => Err(e),
        }
    }

    /// Whether subject number `index` (of this program's kind) complies. `now` and `today` are
    /// microseconds since the Unix epoch. An error means the rule could not be decided.
    pub fn evaluate(
        &self,
        data: &Data,
        index: u32,
        now: i64,
        today: i64,
    ) -> Result<bool, EvalError> {
        // One subject goes straight through the closures: no batch to set up. That it agrees
        // with [`Program::evaluate_each`] is tested against the reference interpreter.
        self.evaluate_one(data, index, now, today, &mut Vec::with_capacity(self.slots))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path to one field — the subject's own, or through one or two relations to one
    /// object — shown the quick way ([`batch::At`]) and through the closures, for every object
    /// of a demo estate: the same text, and the same error where a relation leads nowhere.
    #[test]
    fn a_field_shown_directly_reads_as_the_closures_show_it() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
        let estate = steward_demo::generate(&steward_demo::DemoOptions {
            people: 300,
            seed: 7,
            usage_months: 2,
            today,
        });
        let data = Data::from_estate(&estate);
        let now = 1_795_000_000_000_000;
        // Paths to one object: `kind.relation…` with the kind it reaches.
        let to_one = |kind: Kind, prefix: &str| -> Vec<(String, Kind)> {
            kind.relations()
                .into_iter()
                .filter_map(|(name, ty)| match ty {
                    Ty::Object(to) => Some((format!("{prefix}.{name}"), to)),
                    _ => None,
                })
                .collect()
        };
        let (mut direct, mut shown, mut errors) = (0, 0, 0);
        for kind in Kind::ALL {
            let mut reached = vec![(kind.name().to_owned(), kind)];
            for (path, to) in to_one(kind, kind.name()) {
                reached.extend(to_one(to, &path));
                reached.push((path, to));
            }
            for (object, of) in reached {
                for (field, _) in of.fields() {
                    let path = format!("{object}.{field}");
                    let program = compile_expression(&path, kind, &[])
                        .unwrap_or_else(|e| panic!("{path}: {e}"));
                    direct += usize::from(program.field.is_some());
                    for i in 0..data.count(kind) as u32 {
                        let (mut quick, mut closures) = (String::new(), String::new());
                        let a = program.display_into(&data, i, now, now, &mut quick);
                        let b = program.display_by_closures(&data, i, now, now, &mut closures);
                        assert_eq!((a.clone(), &quick), (b, &closures), "{path} of {i}");
                        shown += 1;
                        errors += usize::from(a.is_err());
                    }
                }
            }
        }
        assert!(direct > 1_000, "only {direct} paths read directly");
        assert!(shown > 200_000, "only {shown} values shown");
        assert!(errors > 10_000, "only {errors} relations leading nowhere");
    }
}
