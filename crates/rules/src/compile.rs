//! Type-checks a parsed rule against the schema and compiles it, in the same pass, into a tree of
//! closures. Each closure is specialised for the node it came from (a field read knows its index,
//! a parameter is a constant), so evaluation does no lookups by name.

use std::sync::Arc;

use cel::common::ast::{
    CallExpr, ComprehensionExpr, Expr, IdedExpr, LiteralValue, operators as op,
};

use crate::data::{Cell, Data};
use crate::reads::Reads;
use crate::schema::{self, Join, Kind, Member, RELATIONS, Ty};
use crate::value::{
    EvalError, MAX_DURATION, MAX_TIMESTAMP, MIN_TIMESTAMP, R, V, arithmetic, compare,
    duration_in_range, equal, no_overload,
};
use crate::{CompileError, ParamValue};

/// What a closure sees: the estate, the clock, the subject, and the comprehension variables.
pub(crate) struct Env<'a> {
    pub data: &'a Data,
    pub now: i64,
    pub today: i64,
    pub subject: u32,
}

pub(crate) type Slots<'a> = Vec<R<'a>>;
pub(crate) type Eval = Box<dyn for<'a> Fn(&Env<'a>, &mut Slots<'a>) -> R<'a> + Send + Sync>;

pub(crate) struct Compiler<'p> {
    pub subject: Kind,
    /// What the rule calls its subject: the kind's name (`asset`), or a comprehension's variable
    /// where an element's predicate is compiled on its own (`a` in `person.assets.exists(a, …)`).
    pub subject_name: String,
    pub params: &'p [(String, ParamValue)],
    /// Names fixed to a word while a comprehension over a list of words is decided a column at
    /// a time, one copy of its predicate per word (`c` in `params.courses.all(c, …)`).
    pub bound: Vec<(String, Arc<str>)>,
    /// Variables in scope, innermost last: name, type, slot.
    scope: Vec<(String, Ty, usize)>,
    pub slots: usize,
    /// Every field a member of the rule names, as it is resolved.
    pub reads: std::cell::RefCell<Reads>,
    /// The nodes that follow a relation, by expression id: as many relations as a path from the
    /// subject can follow (a node compiled twice, as a column and per subject, counts once).
    pub relation_nodes: std::cell::RefCell<std::collections::BTreeSet<u64>>,
}

const MICROS_PER_SECOND: i64 = 1_000_000;

/// What reading a field of nothing says (`asset.holder.name` where the asset has no holder).
pub(crate) const FIELD_OF_NULL: &str = "no such key: a field of null";
/// What following a relation from nothing says (`asset.holder.manager.name`, no holder).
pub(crate) const RELATION_OF_NULL: &str = "no such key: a relation of null";

impl<'p> Compiler<'p> {
    pub(crate) fn new(subject: Kind, params: &'p [(String, ParamValue)]) -> Self {
        Compiler {
            subject,
            subject_name: subject.name().to_owned(),
            params,
            bound: Vec::new(),
            scope: Vec::new(),
            slots: 0,
            reads: Default::default(),
            relation_nodes: Default::default(),
        }
    }

    /// What `name` is on objects of `kind`, noted as read: a field, or a relation's ids and the
    /// fields it joins on.
    pub(crate) fn member(&self, node: u64, kind: Kind, name: &str) -> Option<Member> {
        let member = schema::member(kind, name)?;
        match member {
            Member::Field { index, .. } => self.reads.borrow_mut().insert(kind, index),
            Member::Relation { index, .. } => {
                self.reads.borrow_mut().insert_relation(index);
                self.relation_nodes.borrow_mut().insert(node);
            }
        }
        Some(member)
    }

    fn err(&self, e: &IdedExpr, message: impl Into<String>) -> CompileError {
        CompileError {
            expr_id: e.id,
            offset: None,
            message: message.into(),
        }
    }

    pub(crate) fn compile(&mut self, e: &IdedExpr) -> Result<(Ty, Eval), CompileError> {
        match &e.expr {
            Expr::Literal(lit) => self.literal(e, lit),
            Expr::Ident(name) => self.ident(e, name),
            Expr::Select(sel) => {
                if let Expr::Ident(root) = &sel.operand.expr
                    && root == "params"
                    && !self.scope.iter().any(|(n, ..)| n == "params")
                {
                    return self.param(e, &sel.field);
                }
                if !sel.test
                    && let Some((index, ty)) = self.subject_field(e)
                {
                    // The commonest node of all: a field of the subject, read straight from its cell.
                    let kind = self.subject;
                    let eval: Eval = Box::new(move |env, _| {
                        Ok(cell_value(env.data.cell(kind, env.subject, index)))
                    });
                    return Ok((ty, eval));
                }
                let (ty, operand) = self.compile(&sel.operand)?;
                self.select(e, ty, operand, &sel.field, sel.test)
            }
            Expr::Call(call) => self.call(e, call),
            Expr::List(list) => {
                let mut elem_ty = Ty::Dyn;
                let mut items = Vec::new();
                for (i, item) in list.elements.iter().enumerate() {
                    let (ty, f) = self.compile(item)?;
                    if i == 0 {
                        elem_ty = ty;
                    } else if !elem_ty.accepts(&ty) {
                        return Err(self.err(
                            item,
                            format!("list elements must share a type: {elem_ty} and {ty}"),
                        ));
                    }
                    items.push(f);
                }
                if let Some(words) = string_literals(&list.elements) {
                    // A list of literal words is built once and shared by every evaluation.
                    let shared: Arc<Vec<V<'static>>> =
                        Arc::new(words.into_iter().map(|w| V::Text(Arc::from(w))).collect());
                    let eval: Eval = Box::new(move |_, _| Ok(V::List(shared.clone())));
                    return Ok((Ty::list(elem_ty), eval));
                }
                let eval: Eval = Box::new(move |env, slots| {
                    let mut out = Vec::with_capacity(items.len());
                    for f in &items {
                        out.push(f(env, slots)?);
                    }
                    Ok(V::List(Arc::new(out)))
                });
                Ok((Ty::list(elem_ty), eval))
            }
            Expr::Comprehension(c) => self.comprehension(e, c),
            Expr::Map(_) => Err(self.err(e, "maps are not part of the rule language")),
            Expr::Struct(_) => {
                Err(self.err(e, "message construction is not part of the rule language"))
            }
            Expr::Unspecified => Err(self.err(e, "empty expression")),
        }
    }

    fn literal(&self, e: &IdedExpr, lit: &LiteralValue) -> Result<(Ty, Eval), CompileError> {
        Ok(match lit {
            LiteralValue::Boolean(b) => {
                let b: bool = **b;
                (Ty::Bool, Box::new(move |_, _| Ok(V::Bool(b))))
            }
            LiteralValue::Int(i) => {
                let i: i64 = **i;
                (Ty::Int, Box::new(move |_, _| Ok(V::Int(i))))
            }
            // Folding `42u` into a signed integer would make `0u - 1u` a number where CEL
            // has an error: unsigned integers are refused instead.
            LiteralValue::UInt(u) => {
                return Err(self.err(
                    e,
                    format!(
                        "unsigned integers are not part of the rule language: write {} without the u",
                        **u
                    ),
                ));
            }
            LiteralValue::Double(d) => {
                let d: f64 = **d;
                (Ty::Double, Box::new(move |_, _| Ok(V::Double(d))))
            }
            LiteralValue::String(s) => {
                let s: Arc<str> = Arc::from(s.inner());
                (Ty::String, Box::new(move |_, _| Ok(V::Text(s.clone()))))
            }
            LiteralValue::Null => (Ty::Null, Box::new(|_, _| Ok(V::Null))),
            LiteralValue::Bytes(_) => {
                return Err(self.err(e, "bytes are not part of the rule language"));
            }
        })
    }

    fn ident(&self, e: &IdedExpr, name: &str) -> Result<(Ty, Eval), CompileError> {
        if let Some((_, ty, slot)) = self.scope.iter().rev().find(|(n, ..)| n == name) {
            let slot = *slot;
            let eval: Eval =
                Box::new(move |_, slots| slots.get(slot).cloned().unwrap_or(Ok(V::Null)));
            return Ok((ty.clone(), eval));
        }
        match name {
            "now" => Ok((Ty::Timestamp, Box::new(|env, _| Ok(V::Ts(env.now))))),
            "today" => Ok((Ty::Timestamp, Box::new(|env, _| Ok(V::Ts(env.today))))),
            n if n == self.subject_name => {
                let kind = self.subject;
                Ok((
                    Ty::Object(kind),
                    Box::new(move |env, _| Ok(V::Obj(kind, env.subject))),
                ))
            }
            // A comprehension's variable never takes the name `params` (`words_leaf`).
            n => match self.bound_word(n) {
                Some(word) => {
                    let word = word.clone();
                    Ok((Ty::String, Box::new(move |_, _| Ok(V::Text(word.clone())))))
                }
                None if n == "params" => Err(self.err(e, "params is used as params.NAME")),
                None if Kind::parse(n).is_some() => Err(self.err(
                    e,
                    format!(
                        "unknown variable {n}: this control's subject is {}",
                        self.subject.name()
                    ),
                )),
                None => Err(self.err(e, format!("unknown variable {n}"))),
            },
        }
    }

    fn param(&self, e: &IdedExpr, name: &str) -> Result<(Ty, Eval), CompileError> {
        let Some((_, value)) = self.params.iter().find(|(n, _)| n == name) else {
            let known = self
                .params
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(self.err(
                e,
                format!("unknown parameter {name}; the pack defines: {known}"),
            ));
        };
        Ok(match value.clone() {
            ParamValue::Int(i) => (Ty::Int, Box::new(move |_, _| Ok(V::Int(i)))),
            ParamValue::Double(d) => (Ty::Double, Box::new(move |_, _| Ok(V::Double(d)))),
            ParamValue::Bool(b) => (Ty::Bool, Box::new(move |_, _| Ok(V::Bool(b)))),
            ParamValue::String(s) => {
                let s: Arc<str> = Arc::from(s);
                (Ty::String, Box::new(move |_, _| Ok(V::Text(s.clone()))))
            }
            ParamValue::Duration(micros) => {
                (Ty::Duration, Box::new(move |_, _| Ok(V::Dur(micros))))
            }
            ParamValue::List(items) => {
                // Built once: every evaluation shares the same list.
                let list: Arc<Vec<V<'static>>> =
                    Arc::new(items.into_iter().map(|s| V::Text(Arc::from(s))).collect());
                let eval: Eval = Box::new(move |_, _| Ok(V::List(list.clone())));
                (Ty::list(Ty::String), eval)
            }
        })
    }

    fn select(
        &self,
        e: &IdedExpr,
        ty: Ty,
        operand: Eval,
        field: &str,
        test: bool,
    ) -> Result<(Ty, Eval), CompileError> {
        let kind = match ty {
            Ty::Object(kind) => kind,
            Ty::Dyn => {
                return Err(self.err(
                    e,
                    format!("cannot tell what .{field} is on a value of unknown type"),
                ));
            }
            other => return Err(self.err(e, format!("{other} has no field {field}"))),
        };
        let Some(member) = self.member(e.id, kind, field) else {
            let known = schema::member_names(kind).join(", ");
            return Err(self.err(
                e,
                format!("{} has no field {field}; it has: {known}", kind.name()),
            ));
        };
        let (result_ty, eval): (Ty, Eval) = match member {
            Member::Field { index, ty } => {
                let eval: Eval = Box::new(move |env, slots| match operand(env, slots)? {
                    V::Obj(k, i) => Ok(cell_value(env.data.cell(k, i, index))),
                    V::Null => Err(EvalError::new(FIELD_OF_NULL)),
                    other => Err(EvalError::new(format!(
                        "no such key on {}",
                        other.type_name()
                    ))),
                });
                (ty, eval)
            }
            Member::Relation { index, ty } => {
                let relation = RELATIONS[index];
                let eval: Eval = match relation.join {
                    Join::Forward { .. } => {
                        Box::new(move |env, slots| match operand(env, slots)? {
                            V::Obj(_, i) => Ok(env
                                .data
                                .links(index, i)
                                .first()
                                .map_or(V::Null, |t| V::Obj(relation.to, *t))),
                            V::Null => Err(EvalError::new(RELATION_OF_NULL)),
                            other => Err(EvalError::new(format!(
                                "no such key on {}",
                                other.type_name()
                            ))),
                        })
                    }
                    Join::Reverse { .. } | Join::Exceptions | Join::Same { .. } => {
                        Box::new(move |env, slots| match operand(env, slots)? {
                            V::Obj(_, i) => Ok(V::Objs(relation.to, env.data.links(index, i))),
                            V::Null => Err(EvalError::new(RELATION_OF_NULL)),
                            other => Err(EvalError::new(format!(
                                "no such key on {}",
                                other.type_name()
                            ))),
                        })
                    }
                };
                (ty, eval)
            }
        };
        if test {
            // has(x.f): the field is known (not null).
            let eval: Eval =
                Box::new(move |env, slots| Ok(V::Bool(!matches!(eval(env, slots)?, V::Null))));
            return Ok((Ty::Bool, eval));
        }
        Ok((result_ty, eval))
    }

    fn call(&mut self, e: &IdedExpr, call: &CallExpr) -> Result<(Ty, Eval), CompileError> {
        let name = call.func_name.as_str();
        match (name, &call.target, call.args.as_slice()) {
            (op::LOGICAL_AND, None, [_, _]) | (op::LOGICAL_OR, None, [_, _]) => {
                // `a && b && c` is one node over all its operands: CEL's logic is commutative —
                // a deciding value (false for &&, true for ||) anywhere wins over an error
                // anywhere — so the chain needs no nesting, and a decided chain stops early.
                let mut operands = Vec::new();
                flatten(name, e, &mut operands);
                let mut evals = Vec::with_capacity(operands.len());
                for operand in operands {
                    let (ty, f) = self.compile(operand)?;
                    self.expect(operand, &Ty::Bool, &ty)?;
                    evals.push(f);
                }
                let decide = name == op::LOGICAL_OR;
                let symbol = if decide { "||" } else { "&&" };
                let eval: Eval = Box::new(move |env, slots| {
                    let mut undecided = None;
                    for f in &evals {
                        match f(env, slots) {
                            Ok(V::Bool(v)) if v == decide => return Ok(V::Bool(decide)),
                            Ok(V::Bool(_)) => {}
                            Ok(other) => {
                                undecided.get_or_insert_with(|| {
                                    EvalError::new(format!(
                                        "no such overload: {} {symbol} _",
                                        other.type_name()
                                    ))
                                });
                            }
                            Err(e) => {
                                undecided.get_or_insert(e);
                            }
                        }
                    }
                    match undecided {
                        Some(e) => Err(e),
                        None => Ok(V::Bool(!decide)),
                    }
                });
                Ok((Ty::Bool, eval))
            }
            (op::LOGICAL_NOT, None, [a]) => {
                let (ta, fa) = self.compile(a)?;
                self.expect(a, &Ty::Bool, &ta)?;
                Ok((
                    Ty::Bool,
                    Box::new(move |env, slots| match fa(env, slots)? {
                        V::Bool(b) => Ok(V::Bool(!b)),
                        other => Err(EvalError::new(format!(
                            "no such overload: !{}",
                            other.type_name()
                        ))),
                    }),
                ))
            }
            (op::NEGATE, None, [a]) => {
                let (ta, fa) = self.compile(a)?;
                if !ta.is_numeric() && ta != Ty::Duration {
                    return Err(self.err(a, format!("cannot negate {ta}")));
                }
                Ok((
                    ta,
                    Box::new(move |env, slots| match fa(env, slots)? {
                        V::Int(i) => i
                            .checked_neg()
                            .map(V::Int)
                            .ok_or_else(|| EvalError::new("integer overflow in -")),
                        V::Double(d) => Ok(V::Double(-d)),
                        V::Dur(d) => d
                            .checked_neg()
                            .map(V::Dur)
                            .ok_or_else(|| EvalError::new("overflow in -")),
                        other => Err(EvalError::new(format!(
                            "no such overload: -{}",
                            other.type_name()
                        ))),
                    }),
                ))
            }
            (op::NOT_STRICTLY_FALSE, None, [a]) => {
                let (_, fa) = self.compile(a)?;
                Ok((
                    Ty::Bool,
                    Box::new(move |env, slots| {
                        Ok(V::Bool(!matches!(fa(env, slots), Ok(V::Bool(false)))))
                    }),
                ))
            }
            (op::EQUALS | op::NOT_EQUALS, None, [a, b]) => {
                let (ta, fa) = self.compile(a)?;
                let (tb, fb) = self.compile(b)?;
                if !comparable_for_equality(&ta, &tb) {
                    return Err(self.err(e, format!("cannot compare {ta} with {tb}")));
                }
                let negate = name == op::NOT_EQUALS;
                // Against a string literal, equality is a comparison of text: no value is made
                // for the literal. A subject's field is compared straight from its cell.
                let literal = |x: &IdedExpr| match &x.expr {
                    Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_owned()),
                    _ => None,
                };
                match (literal(a), literal(b)) {
                    (None, Some(text)) | (Some(text), None) => {
                        let other = if literal(b).is_some() { a } else { b };
                        if let Some((index, _)) = self.subject_field(other) {
                            let kind = self.subject;
                            return Ok((
                                Ty::Bool,
                                Box::new(move |env, _| {
                                    let same =
                                        crate::data::text(env.data.cell(kind, env.subject, index))
                                            == Some(&*text);
                                    Ok(V::Bool(same != negate))
                                }),
                            ));
                        }
                        let f = if literal(b).is_some() { fa } else { fb };
                        return Ok((
                            Ty::Bool,
                            Box::new(move |env, slots| {
                                let x = f(env, slots)?;
                                Ok(V::Bool((x.str() == Some(text.as_str())) != negate))
                            }),
                        ));
                    }
                    _ => {}
                }
                Ok((
                    Ty::Bool,
                    Box::new(move |env, slots| {
                        let x = fa(env, slots)?;
                        let y = fb(env, slots)?;
                        Ok(V::Bool(equal(&x, &y) != negate))
                    }),
                ))
            }
            (op::LESS | op::LESS_EQUALS | op::GREATER | op::GREATER_EQUALS, None, [a, b]) => {
                let (ta, fa) = self.compile(a)?;
                let (tb, fb) = self.compile(b)?;
                if !orderable(&ta, &tb) {
                    return Err(self.err(e, format!("cannot order {ta} against {tb}")));
                }
                let symbol = operator_symbol(name);
                let test: fn(std::cmp::Ordering) -> bool = match name {
                    op::LESS => |o| o.is_lt(),
                    op::LESS_EQUALS => |o| o.is_le(),
                    op::GREATER => |o| o.is_gt(),
                    _ => |o| o.is_ge(),
                };
                Ok((
                    Ty::Bool,
                    Box::new(move |env, slots| {
                        let x = fa(env, slots)?;
                        let y = fb(env, slots)?;
                        Ok(V::Bool(test(compare(symbol, &x, &y)?)))
                    }),
                ))
            }
            (op::ADD | op::SUBSTRACT | op::MULTIPLY | op::DIVIDE | op::MODULO, None, [a, b]) => {
                let (ta, fa) = self.compile(a)?;
                let (tb, fb) = self.compile(b)?;
                let symbol = operator_symbol(name);
                let ty = arithmetic_type(symbol, &ta, &tb)
                    .ok_or_else(|| self.err(e, format!("no operator {ta} {symbol} {tb}")))?;
                Ok((
                    ty,
                    Box::new(move |env, slots| {
                        let x = fa(env, slots)?;
                        let y = fb(env, slots)?;
                        arithmetic(symbol, x, y)
                    }),
                ))
            }
            (op::CONDITIONAL, None, [c, a, b]) => {
                let (tc, fc) = self.compile(c)?;
                self.expect(c, &Ty::Bool, &tc)?;
                let (ta, fa) = self.compile(a)?;
                let (tb, fb) = self.compile(b)?;
                let ty = unify(&ta, &tb)
                    .ok_or_else(|| self.err(e, format!("the branches differ: {ta} and {tb}")))?;
                Ok((
                    ty,
                    Box::new(move |env, slots| match fc(env, slots)? {
                        V::Bool(true) => fa(env, slots),
                        V::Bool(false) => fb(env, slots),
                        other => Err(EvalError::new(format!(
                            "no such overload: {} ? _ : _",
                            other.type_name()
                        ))),
                    }),
                ))
            }
            (op::IN, None, [a, b]) => {
                let (ta, fa) = self.compile(a)?;
                let (tb, fb) = self.compile(b)?;
                match &tb {
                    Ty::List(elem) if comparable_for_equality(elem, &ta) => {}
                    Ty::Dyn => {}
                    other => return Err(self.err(e, format!("cannot look for {ta} in {other}"))),
                }
                if let Expr::List(list) = &b.expr
                    && let Some(words) = string_literals(&list.elements)
                {
                    // `x in ["a", "b"]`: a comparison of text against the words, nothing built.
                    return Ok((
                        Ty::Bool,
                        Box::new(move |env, slots| {
                            let x = fa(env, slots)?;
                            Ok(V::Bool(
                                x.str().is_some_and(|x| words.iter().any(|w| w == x)),
                            ))
                        }),
                    ));
                }
                Ok((
                    Ty::Bool,
                    Box::new(move |env, slots| {
                        let x = fa(env, slots)?;
                        let list = fb(env, slots)?;
                        let found = match &list {
                            V::Objs(kind, ids) => ids.iter().any(|i| equal(&x, &V::Obj(*kind, *i))),
                            V::List(items) => items.iter().any(|y| equal(&x, y)),
                            _ => return Err(no_overload("in", &x, &list)),
                        };
                        Ok(V::Bool(found))
                    }),
                ))
            }
            (op::INDEX, None, [a, b]) => {
                let (ta, fa) = self.compile(a)?;
                let (tb, fb) = self.compile(b)?;
                let Ty::List(elem) = ta else {
                    return Err(self.err(e, format!("cannot index {ta}")));
                };
                self.expect(b, &Ty::Int, &tb)?;
                Ok((
                    *elem,
                    Box::new(move |env, slots| {
                        let list = fa(env, slots)?;
                        let index = fb(env, slots)?;
                        let (Some(items), V::Int(i)) = (list.elements(), index) else {
                            return Err(EvalError::new("no such overload: index"));
                        };
                        usize::try_from(i)
                            .ok()
                            .and_then(|i| items.get(i).cloned())
                            .ok_or_else(|| EvalError::new(format!("index out of bounds: {i}")))
                    }),
                ))
            }
            ("size", None, [_]) | ("size", Some(_), []) => {
                let target: &IdedExpr = match (call.target.as_deref(), call.args.first()) {
                    (Some(t), _) | (None, Some(t)) => t,
                    (None, None) => return Err(self.err(e, "size() needs a list or string")),
                };
                let (ta, fa) = self.compile(target)?;
                if !matches!(ta, Ty::List(_) | Ty::String | Ty::Dyn) {
                    return Err(self.err(e, format!("{ta} has no size")));
                }
                Ok((
                    Ty::Int,
                    Box::new(move |env, slots| {
                        let v = fa(env, slots)?;
                        v.len().map(|n| V::Int(n as i64)).ok_or_else(|| {
                            EvalError::new(format!("no such overload: size({})", v.type_name()))
                        })
                    }),
                ))
            }
            ("startsWith" | "endsWith" | "contains", Some(t), [a]) => {
                let test = TextTest::of(name);
                // `s.lowerAscii().endsWith(x)` is decided on `s` itself, ignoring ASCII case,
                // rather than on a lowered copy made for every subject (an e-mail address of
                // each of 100,000 people).
                let t: &IdedExpr = t;
                let (text, lowered) = match &t.expr {
                    Expr::Call(inner)
                        if inner.func_name == "lowerAscii" && inner.args.is_empty() =>
                    {
                        inner
                            .target
                            .as_deref()
                            .map_or((t, false), |text| (text, true))
                    }
                    _ => (t, false),
                };
                let (tt, ft) = self.compile(text)?;
                let (ta, fa) = self.compile(a)?;
                self.expect(text, &Ty::String, &tt)?;
                self.expect(a, &Ty::String, &ta)?;
                Ok((
                    Ty::Bool,
                    Box::new(move |env, slots| {
                        let s = ft(env, slots)?;
                        if lowered && s.str().is_none() {
                            return Err(no_lower_ascii(&s));
                        }
                        let x = fa(env, slots)?;
                        let (Some(s), Some(x)) = (s.str(), x.str()) else {
                            return Err(no_overload(test.name(), &s, &x));
                        };
                        Ok(V::Bool(if lowered {
                            test.ignoring_ascii_case(s, x)
                        } else {
                            test.holds(s, x)
                        }))
                    }),
                ))
            }
            ("lowerAscii", Some(t), []) => {
                let (tt, ft) = self.compile(t)?;
                self.expect(t, &Ty::String, &tt)?;
                Ok((
                    Ty::String,
                    Box::new(move |env, slots| {
                        let s = ft(env, slots)?;
                        match s.str() {
                            Some(s) => Ok(V::Text(Arc::from(s.to_ascii_lowercase()))),
                            None => Err(no_lower_ascii(&s)),
                        }
                    }),
                ))
            }
            ("days" | "hours", None, [a]) => {
                let (ta, fa) = self.compile(a)?;
                self.expect(a, &Ty::Int, &ta)?;
                let unit = if name == "days" {
                    86_400 * MICROS_PER_SECOND
                } else {
                    3_600 * MICROS_PER_SECOND
                };
                if let Some(n) = self.constant_int(a) {
                    let micros = n
                        .checked_mul(unit)
                        .filter(|m| m.abs() <= MAX_DURATION)
                        .ok_or_else(|| self.err(a, "duration out of range"))?;
                    return Ok((Ty::Duration, Box::new(move |_, _| Ok(V::Dur(micros)))));
                }
                Ok((
                    Ty::Duration,
                    Box::new(move |env, slots| match fa(env, slots)? {
                        V::Int(n) => n
                            .checked_mul(unit)
                            .ok_or_else(|| EvalError::new("duration out of range"))
                            .and_then(duration_in_range),
                        other => Err(EvalError::new(format!(
                            "no such overload: duration of {}",
                            other.type_name()
                        ))),
                    }),
                ))
            }
            // Calendar months and years, as retention periods are counted: 25 November 2016 plus
            // 120 months is 25 November 2026, and 31 January plus one month is the last day of
            // February — never months as 365/12 days. Working days on the organisation's
            // calendar: weekends and its bank holidays skipped, the time of day kept.
            ("addMonths" | "addYears" | "addWorkingDays", Some(t), [a]) => {
                let (tt, ft) = self.compile(t)?;
                let (ta, fa) = self.compile(a)?;
                self.expect(t, &Ty::Timestamp, &tt)?;
                self.expect(a, &Ty::Int, &ta)?;
                let moved: fn(&Data, i64, i64) -> Option<i64> = match name {
                    "addMonths" => |_, t, n| add_calendar_months(t, n),
                    "addYears" => {
                        |_, t, n| n.checked_mul(12).and_then(|m| add_calendar_months(t, m))
                    }
                    _ => add_working_days,
                };
                let which = name.to_owned();
                Ok((
                    Ty::Timestamp,
                    Box::new(move |env, slots| {
                        let t = ft(env, slots)?;
                        let n = fa(env, slots)?;
                        match (&t, &n) {
                            (V::Ts(t), V::Int(n)) => moved(env.data, *t, *n)
                                .map(V::Ts)
                                .ok_or_else(|| EvalError::new("timestamp out of range")),
                            _ => Err(no_overload(&which, &t, &n)),
                        }
                    }),
                ))
            }
            ("duration", None, [a]) => {
                let Expr::Literal(LiteralValue::String(s)) = &a.expr else {
                    return Err(self.err(a, "duration() takes a literal such as \"36h\""));
                };
                let micros = parse_duration(s.inner())
                    .ok_or_else(|| self.err(a, format!("not a duration: {:?}", s.inner())))?;
                if micros.abs() > MAX_DURATION {
                    return Err(self.err(a, format!("duration out of range: {:?}", s.inner())));
                }
                Ok((Ty::Duration, Box::new(move |_, _| Ok(V::Dur(micros)))))
            }
            ("timestamp", None, [a]) => {
                let Expr::Literal(LiteralValue::String(s)) = &a.expr else {
                    return Err(self.err(
                        a,
                        "timestamp() takes a literal such as \"2026-01-01T00:00:00Z\"",
                    ));
                };
                let t = chrono::DateTime::parse_from_rfc3339(s.inner())
                    .map_err(|_| {
                        self.err(a, format!("not an RFC 3339 timestamp: {:?}", s.inner()))
                    })?
                    .timestamp_micros();
                if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&t) {
                    return Err(self.err(
                        a,
                        format!("timestamp out of range (years 1 to 9999): {:?}", s.inner()),
                    ));
                }
                Ok((Ty::Timestamp, Box::new(move |_, _| Ok(V::Ts(t)))))
            }
            ("int" | "double" | "string", None, [a]) => {
                let (ta, fa) = self.compile(a)?;
                let target = match name {
                    "int" => Ty::Int,
                    "double" => Ty::Double,
                    _ => Ty::String,
                };
                if !matches!(
                    ta,
                    Ty::Int | Ty::Double | Ty::String | Ty::Bool | Ty::Dyn | Ty::Timestamp
                ) {
                    return Err(self.err(e, format!("cannot convert {ta} to {target}")));
                }
                let which = name.to_owned();
                Ok((
                    target,
                    Box::new(move |env, slots| convert(&which, fa(env, slots)?)),
                ))
            }
            (other, _, args) => Err(self.err(
                e,
                format!("unknown function {other} with {} argument(s)", args.len()),
            )),
        }
    }

    fn comprehension(
        &mut self,
        e: &IdedExpr,
        c: &ComprehensionExpr,
    ) -> Result<(Ty, Eval), CompileError> {
        if c.iter_var2.is_some() {
            return Err(self.err(
                e,
                "two-variable comprehensions are not part of the rule language",
            ));
        }
        let (range_ty, range) = self.compile(&c.iter_range)?;
        let elem_ty = match range_ty {
            Ty::List(elem) => *elem,
            Ty::Dyn => Ty::Dyn,
            other => return Err(self.err(&c.iter_range, format!("cannot iterate over {other}"))),
        };
        let (init_ty, init) = self.compile(&c.accu_init)?;
        let iter_slot = self.slot();
        let accu_slot = self.slot();
        self.scope.push((c.iter_var.clone(), elem_ty, iter_slot));

        // The accumulator's type is the step's: an empty list literal starts as list(dyn).
        self.scope
            .push((c.accu_var.clone(), init_ty.clone(), accu_slot));
        let (step_ty, mut step) = self.compile(&c.loop_step)?;
        if step_ty != init_ty && init_ty.accepts(&step_ty) {
            if let Some(last) = self.scope.last_mut() {
                last.1 = step_ty.clone();
            }
            step = self.compile(&c.loop_step)?.1;
        }
        let (_, cond) = self.compile(&c.loop_cond)?;
        let (result_ty, result) = self.compile(&c.result)?;
        self.scope.pop();
        self.scope.pop();

        let eval: Eval = Box::new(move |env, slots| {
            // Iterated in place, without collecting: a relation's objects by index, a list shared.
            let range = range(env, slots)?;
            let len = match &range {
                V::Objs(_, ids) => ids.len(),
                V::List(items) => items.len(),
                other => {
                    return Err(EvalError::new(format!(
                        "cannot iterate over {}",
                        other.type_name()
                    )));
                }
            };
            let item_at = |n: usize| match &range {
                V::Objs(kind, ids) => ids.get(n).map(|i| V::Obj(*kind, *i)),
                V::List(items) => items.get(n).cloned(),
                _ => None,
            };
            let first = init(env, slots);
            set(slots, accu_slot, first);
            for item in (0..len).filter_map(item_at) {
                set(slots, iter_slot, Ok(item));
                match cond(env, slots)? {
                    V::Bool(true) => {}
                    V::Bool(false) => break,
                    other => {
                        return Err(EvalError::new(format!(
                            "loop condition is {}",
                            other.type_name()
                        )));
                    }
                }
                let next = step(env, slots);
                set(slots, accu_slot, next);
            }
            result(env, slots)
        });
        Ok((result_ty, eval))
    }

    /// `subject.field`, where `subject` is the control's subject (not shadowed) and `field` a stored
    /// field: its index and type.
    pub(crate) fn subject_field(&self, e: &IdedExpr) -> Option<(usize, Ty)> {
        let Expr::Select(sel) = &e.expr else {
            return None;
        };
        let Expr::Ident(root) = &sel.operand.expr else {
            return None;
        };
        if sel.test || *root != self.subject_name || self.scope.iter().any(|(n, ..)| n == root) {
            return None;
        }
        match self.member(e.id, self.subject, &sel.field)? {
            Member::Field { index, ty } => Some((index, ty)),
            Member::Relation { .. } => None,
        }
    }

    /// An int known when the rule compiles: a literal or an int parameter.
    pub(crate) fn constant_int(&self, e: &IdedExpr) -> Option<i64> {
        match &e.expr {
            Expr::Literal(LiteralValue::Int(i)) => Some(**i),
            Expr::Select(sel)
                if matches!(&sel.operand.expr, Expr::Ident(r) if r == "params")
                    && !self.scope.iter().any(|(n, ..)| n == "params") =>
            {
                match self.params.iter().find(|(n, _)| *n == sel.field) {
                    Some((_, ParamValue::Int(i))) => Some(*i),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The word `name` is fixed to, unless the subject or a variable in scope hides it.
    pub(crate) fn bound_word(&self, name: &str) -> Option<&Arc<str>> {
        if name == self.subject_name || self.scope.iter().any(|(n, ..)| n == name) {
            return None;
        }
        self.bound
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, w)| w)
    }

    pub(crate) fn scope_is_empty(&self) -> bool {
        self.scope.is_empty()
    }

    /// A parameter's value, by name.
    pub(crate) fn param_value(&self, name: &str) -> Option<&ParamValue> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }

    fn expect(&self, e: &IdedExpr, want: &Ty, got: &Ty) -> Result<(), CompileError> {
        if want.accepts(got) {
            Ok(())
        } else {
            Err(self.err(e, format!("expected {want}, found {got}")))
        }
    }
}

/// `micros` (a UTC timestamp) moved by whole calendar months, the day clamped to the month's
/// last; `None` past the range a timestamp may hold (years 1 to 9999).
fn add_calendar_months(micros: i64, months: i64) -> Option<i64> {
    let at = chrono::DateTime::from_timestamp_micros(micros)?;
    let by = chrono::Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    let moved = if months >= 0 {
        at.checked_add_months(by)?
    } else {
        at.checked_sub_months(by)?
    };
    let year = chrono::Datelike::year(&moved);
    (1..=9999).contains(&year).then(|| moved.timestamp_micros())
}

/// The most working days one call moves (about 400 years): a bound on the walk, far past any
/// policy's period.
const MAX_WORKING_DAYS: i64 = 100_000;

/// `micros` (a UTC timestamp) moved by `n` working days of `data`'s calendar, counted from its
/// date: Friday plus one is Monday; a weekend day plus one is the next working day after it.
/// `None` past the range a timestamp may hold, or for more than [`MAX_WORKING_DAYS`].
fn add_working_days(data: &Data, micros: i64, n: i64) -> Option<i64> {
    if n.abs() > MAX_WORKING_DAYS {
        return None;
    }
    let at = chrono::DateTime::from_timestamp_micros(micros)?;
    let mut day = chrono::Datelike::num_days_from_ce(&at.date_naive());
    let step = if n >= 0 { 1 } else { -1 };
    let mut left = n.abs();
    while left > 0 {
        day = day.checked_add(step)?;
        if data.is_working_day(day) {
            left -= 1;
        }
    }
    let date = chrono::NaiveDate::from_num_days_from_ce_opt(day)?;
    let moved = date.and_time(at.time()).and_utc();
    let year = chrono::Datelike::year(&moved);
    (1..=9999).contains(&year).then(|| moved.timestamp_micros())
}

/// The words of a list written as string literals only, such as `["laptop", "tablet"]`.
fn string_literals(elements: &[IdedExpr]) -> Option<Vec<String>> {
    elements
        .iter()
        .map(|e| match &e.expr {
            Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_owned()),
            _ => None,
        })
        .collect()
}

/// The operands of a chain of one logical operator, left to right.
pub(crate) fn flatten<'e>(name: &str, e: &'e IdedExpr, out: &mut Vec<&'e IdedExpr>) {
    match &e.expr {
        Expr::Call(call)
            if call.func_name == name && call.target.is_none() && call.args.len() == 2 =>
        {
            for arg in &call.args {
                flatten(name, arg, out);
            }
        }
        _ => out.push(e),
    }
}

fn set<'a>(slots: &mut Slots<'a>, slot: usize, value: R<'a>) {
    if slots.len() <= slot {
        slots.resize(slot + 1, Ok(V::Null));
    }
    slots[slot] = value;
}

pub(crate) fn cell_value(cell: &Cell) -> V<'_> {
    match cell {
        Cell::Null => V::Null,
        Cell::Bool(b) => V::Bool(*b),
        Cell::Double(d) => V::Double(*d),
        Cell::Str(s) => V::Str(s),
        Cell::Text(s) => V::Str(s),
        Cell::Ts(t) => V::Ts(*t),
        Cell::Int(i) => V::Int(*i),
        Cell::Strs(items) => V::List(Arc::new(items.iter().map(|s| V::Str(s)).collect())),
    }
}

/// `lowerAscii()` of a value that is not text.
fn no_lower_ascii(v: &V<'_>) -> EvalError {
    EvalError::new(format!("no such overload: {}.lowerAscii()", v.type_name()))
}

/// What `startsWith`, `endsWith` and `contains` test, chosen once when the rule is compiled.
#[derive(Clone, Copy)]
enum TextTest {
    StartsWith,
    EndsWith,
    Contains,
}

impl TextTest {
    fn of(name: &str) -> TextTest {
        match name {
            "startsWith" => TextTest::StartsWith,
            "endsWith" => TextTest::EndsWith,
            _ => TextTest::Contains,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TextTest::StartsWith => "startsWith",
            TextTest::EndsWith => "endsWith",
            TextTest::Contains => "contains",
        }
    }

    fn holds(self, s: &str, x: &str) -> bool {
        match self {
            TextTest::StartsWith => s.starts_with(x),
            TextTest::EndsWith => s.ends_with(x),
            TextTest::Contains => s.contains(x),
        }
    }

    /// What the test says of `s.lowerAscii()` and `x`, without lowering `s`. Lowering changes
    /// only the bytes of ASCII capitals, each to another single byte, so it is a byte-for-byte
    /// comparison of `s` ignoring ASCII case, where `x` has no ASCII capital; an `x` with one
    /// is in no lowered text.
    fn ignoring_ascii_case(self, s: &str, x: &str) -> bool {
        let (s, x) = (s.as_bytes(), x.as_bytes());
        if x.iter().any(u8::is_ascii_uppercase) {
            return false;
        }
        let Some(room) = s.len().checked_sub(x.len()) else {
            return false;
        };
        match self {
            TextTest::StartsWith => s.get(..x.len()).is_some_and(|p| p.eq_ignore_ascii_case(x)),
            TextTest::EndsWith => s.get(room..).is_some_and(|p| p.eq_ignore_ascii_case(x)),
            TextTest::Contains => {
                x.is_empty() || s.windows(x.len()).any(|w| w.eq_ignore_ascii_case(x))
            }
        }
    }
}

fn operator_symbol(name: &str) -> &'static str {
    match name {
        op::ADD => "+",
        op::SUBSTRACT => "-",
        op::MULTIPLY => "*",
        op::DIVIDE => "/",
        op::MODULO => "%",
        op::LESS => "<",
        op::LESS_EQUALS => "<=",
        op::GREATER => ">",
        _ => ">=",
    }
}

/// `==` is defined between any two values, but comparing, say, a string with a timestamp is
/// always false and almost certainly a mistake, so the checker refuses it.
fn comparable_for_equality(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Dyn, _) | (_, Ty::Dyn) | (Ty::Null, _) | (_, Ty::Null) => true,
        (Ty::Int | Ty::Double, Ty::Int | Ty::Double) => true,
        (Ty::List(x), Ty::List(y)) => comparable_for_equality(x, y),
        (x, y) => x == y,
    }
}

fn orderable(a: &Ty, b: &Ty) -> bool {
    matches!(
        (a, b),
        (Ty::Dyn, _)
            | (_, Ty::Dyn)
            | (Ty::Int | Ty::Double, Ty::Int | Ty::Double)
            | (Ty::String, Ty::String)
            | (Ty::Timestamp, Ty::Timestamp)
            | (Ty::Duration, Ty::Duration)
            | (Ty::Bool, Ty::Bool)
    )
}

fn arithmetic_type(symbol: &str, a: &Ty, b: &Ty) -> Option<Ty> {
    Some(match (symbol, a, b) {
        (_, Ty::Dyn, t) | (_, t, Ty::Dyn) => t.clone(),
        (_, Ty::Int, Ty::Int) => Ty::Int,
        ("+" | "-" | "*" | "/", Ty::Double, Ty::Double) => Ty::Double,
        ("-", Ty::Timestamp, Ty::Timestamp) => Ty::Duration,
        ("+", Ty::Timestamp, Ty::Duration)
        | ("+", Ty::Duration, Ty::Timestamp)
        | ("-", Ty::Timestamp, Ty::Duration) => Ty::Timestamp,
        ("+" | "-", Ty::Duration, Ty::Duration) => Ty::Duration,
        ("+", Ty::String, Ty::String) => Ty::String,
        ("+", Ty::List(x), Ty::List(y)) => Ty::list(unify(x, y)?),
        _ => return None,
    })
}

fn unify(a: &Ty, b: &Ty) -> Option<Ty> {
    match (a, b) {
        (Ty::Dyn, t) | (t, Ty::Dyn) => Some(t.clone()),
        (Ty::Null, t) | (t, Ty::Null) => Some(t.clone()),
        (Ty::List(x), Ty::List(y)) => Some(Ty::list(unify(x, y)?)),
        (x, y) if x == y => Some(x.clone()),
        _ => None,
    }
}

fn convert<'a>(to: &str, v: V<'a>) -> R<'a> {
    let fail = |v: &V<'_>| EvalError::new(format!("cannot convert {} to {to}", v.type_name()));
    Ok(match (to, &v) {
        ("int", V::Int(i)) => V::Int(*i),
        ("int", V::Double(d)) if d.is_finite() && d.abs() < 9.2e18 => V::Int(*d as i64),
        ("int", V::Ts(t)) => V::Int(t / MICROS_PER_SECOND),
        ("int", _) if v.str().is_some() => V::Int(
            v.str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| fail(&v))?,
        ),
        ("double", V::Int(i)) => V::Double(*i as f64),
        ("double", V::Double(d)) => V::Double(*d),
        ("double", _) if v.str().is_some() => V::Double(
            v.str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| fail(&v))?,
        ),
        ("string", V::Int(i)) => V::Text(Arc::from(i.to_string())),
        ("string", V::Double(d)) => V::Text(Arc::from(d.to_string())),
        ("string", V::Bool(b)) => V::Text(Arc::from(b.to_string())),
        // As CEL writes a timestamp: RFC 3339 in UTC, with as many fractional digits as needed.
        ("string", V::Ts(t)) => V::Text(Arc::from(
            chrono::DateTime::from_timestamp_micros(*t)
                .ok_or_else(|| fail(&v))?
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        )),
        ("string", _) if v.str().is_some() => v,
        _ => return Err(fail(&v)),
    })
}

/// `36h`, `90m`, `1h30m`, `45s`, `14d` is not CEL (days come from `days(14)`).
fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?.checked_mul(MICROS_PER_SECOND)?)?;
        any = true;
    }
    (any && number.is_empty()).then_some(total)
}
