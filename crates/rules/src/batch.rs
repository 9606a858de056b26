//! Evaluation a column at a time: a rule's logical skeleton (`&&`, `||`, `!`) over leaves that
//! each decide many subjects in one tight loop.
//!
//! Checking a pack means one rule over every subject of a kind. Walking a tree of closures once
//! per subject pays an indirect call per node per subject; here each node is called once per
//! batch. The commonest leaves — a subject's field against a constant (`asset.kind == "laptop"`,
//! `asset.encrypted == true`, `now - asset.last_seen <= days(14)`) — read one column in order
//! with the comparison inlined. Any other leaf falls back to the per-subject closure.
//!
//! `&&` and `||` narrow the batch as they go: a subject decided by one operand (false for `&&`,
//! true for `||`) is not looked at again, which is CEL's short-circuit done for many at once.
//! Because a deciding value anywhere wins over an error anywhere, the order operands are tried
//! in cannot change an outcome. Only the outcome is decided here (pass, fail, or undecided); the
//! message of an undecided subject comes from the per-subject closures, so the two agree.

use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators as op};

use crate::ParamValue;
use crate::compile::{Compiler, Env, Eval, cell_value, flatten};
use crate::data::{Cell, Data, Words};
use crate::schema::{Join, Kind, Member, RELATIONS, Ty};
use crate::value::{V, arithmetic, compare, equal};

/// A subject's outcome under a node: [`FALSE`], [`TRUE`] or [`UNDECIDED`].
pub(crate) type Tri = u8;
pub(crate) const FALSE: Tri = 0;
pub(crate) const TRUE: Tri = 1;
pub(crate) const UNDECIDED: Tri = 2;

/// What every node sees for a batch.
pub(crate) struct Cx<'a> {
    pub data: &'a Data,
    pub now: i64,
    pub today: i64,
}

/// Decides `rows` (subject indices), writing one outcome per row to `out` (same length).
type Leaf = Box<dyn Fn(&Cx<'_>, &[u32], &mut [Tri]) + Send + Sync>;

/// A predicate decided over every object a relation to many leads each subject of a batch to,
/// all of them at once.
struct OverRelated {
    /// Relations to one object each, to where the last one starts.
    hops: Vec<usize>,
    relation: usize,
    predicate: Node,
}

impl OverRelated {
    /// Sets each subject's `out` to `start(reached)` (whether the relation's start was reached),
    /// then hands it to `each` with the outcome of each of its related objects.
    fn run<T>(
        &self,
        cx: &Cx<'_>,
        rows: &[u32],
        out: &mut [T],
        start: impl Fn(bool) -> T,
        each: impl Fn(&mut T, Tri),
    ) {
        // Every related object of every subject, and whose it is (a position in `rows`).
        let mut whose: Vec<u32> = Vec::with_capacity(rows.len());
        let mut objects: Vec<u32> = Vec::with_capacity(rows.len());
        for ((p, &r), o) in rows.iter().enumerate().zip(out.iter_mut()) {
            let from = follow(cx.data, &self.hops, r);
            if let Some(i) = from {
                let related = cx.data.links(self.relation, i);
                whose.extend(std::iter::repeat_n(p as u32, related.len()));
                objects.extend_from_slice(related);
            }
            *o = start(from.is_some());
        }
        let mut decided = vec![FALSE; objects.len()];
        self.predicate.run(cx, &objects, &mut decided);
        for (&p, &d) in whose.iter().zip(&decided) {
            if let Some(o) = out.get_mut(p as usize) {
                each(o, d);
            }
        }
    }
}

/// Works out an int for each of `rows`, writing it to `out` (same length); `None`: an error.
type Ints = Box<dyn Fn(&Cx<'_>, &[u32], &mut [Option<i64>]) + Send + Sync>;

pub(crate) enum Node {
    /// `&&` (decided by false) or `||` (decided by true) over its operands.
    Chain {
        decides: Tri,
        operands: Vec<Node>,
    },
    Not(Box<Node>),
    Leaf(Leaf),
}

impl Node {
    pub(crate) fn run(&self, cx: &Cx<'_>, rows: &[u32], out: &mut [Tri]) {
        match self {
            Node::Leaf(leaf) => leaf(cx, rows, out),
            Node::Not(inner) => {
                inner.run(cx, rows, out);
                for o in out.iter_mut() {
                    *o = match *o {
                        TRUE => FALSE,
                        FALSE => TRUE,
                        other => other,
                    };
                }
            }
            Node::Chain { decides, operands } => {
                let decides = *decides;
                out.fill(if decides == TRUE { FALSE } else { TRUE });
                // Positions (into `rows`) not yet decided.
                let mut live: Vec<u32> = (0..rows.len() as u32).collect();
                let mut subset: Vec<u32> = Vec::with_capacity(rows.len());
                let mut partial: Vec<Tri> = vec![FALSE; rows.len()];
                for (n, operand) in operands.iter().enumerate() {
                    if live.is_empty() {
                        break;
                    }
                    let these: &[u32] = if n == 0 {
                        rows
                    } else {
                        subset.clear();
                        subset.extend(live.iter().map(|&p| rows[p as usize]));
                        &subset
                    };
                    let partial = &mut partial[..these.len()];
                    operand.run(cx, these, partial);
                    let mut kept = 0;
                    for k in 0..live.len() {
                        let p = live[k];
                        match partial[k] {
                            t if t == decides => {
                                out[p as usize] = decides;
                                continue;
                            }
                            UNDECIDED => out[p as usize] = UNDECIDED,
                            _ => {}
                        }
                        live[kept] = p;
                        kept += 1;
                    }
                    live.truncate(kept);
                }
            }
        }
    }
}

/// A value fixed when the rule compiles, or the clock.
enum Const {
    Value(V<'static>),
    Now,
    Today,
}

impl Const {
    fn at(&self, cx: &Cx<'_>) -> V<'static> {
        match self {
            Const::Value(v) => v.clone(),
            Const::Now => V::Ts(cx.now),
            Const::Today => V::Ts(cx.today),
        }
    }
}

static NULL: Cell = Cell::Null;

/// A leaf over one column of the subject's kind: `decide` sees each row's cell and the batch's
/// constant, and is inlined into the loop.
fn column<F>(kind: Kind, field: usize, constant: Const, decide: F) -> Node
where
    F: Fn(&Cell, &V<'static>) -> Tri + Send + Sync + 'static,
{
    Node::Leaf(Box::new(move |cx, rows, out| {
        let cells = cx.data.column(kind, field);
        let constant = constant.at(cx);
        for (o, &r) in out.iter_mut().zip(rows) {
            *o = decide(cells.get(r as usize).unwrap_or(&NULL), &constant);
        }
    }))
}

/// Where a leaf reads its field: the subject's own (`hops` empty), or the one object reached
/// from it by following each relation of `hops` in turn.
pub(crate) struct At {
    hops: Vec<usize>,
    kind: Kind,
    field: usize,
    ty: Ty,
}

impl At {
    /// `leaf` (over objects of `self.kind`) read for the objects the subjects lead to. A
    /// subject that leads to no object is undecided, as the closures find a field of null an
    /// error.
    fn via(&self, leaf: Node) -> Node {
        via(self.hops.clone(), leaf)
    }
}

/// `leaf` (over the objects `hops` lead to) read for the subjects: see [`At::via`].
fn via(hops: Vec<usize>, leaf: Node) -> Node {
    if hops.is_empty() {
        return leaf;
    }
    Node::Leaf(Box::new(move |cx, rows, out| {
        // Positions (into `rows`) that reach an object, and the objects.
        let mut reached: Vec<u32> = Vec::with_capacity(rows.len());
        let mut targets: Vec<u32> = Vec::with_capacity(rows.len());
        for (p, &r) in rows.iter().enumerate() {
            match follow(cx.data, &hops, r) {
                Some(t) => {
                    reached.push(p as u32);
                    targets.push(t);
                }
                None => out[p] = UNDECIDED,
            }
        }
        let mut decided = vec![FALSE; targets.len()];
        leaf.run(cx, &targets, &mut decided);
        for (&p, &d) in reached.iter().zip(&decided) {
            out[p as usize] = d;
        }
    }))
}

impl At {
    /// The field's value for subject `from`, shown as [`crate::Program::display_into`] shows
    /// it: what the closures of the same path give, without a call per step. A relation that
    /// leads nowhere is the closures' error for the step after it.
    pub(crate) fn display_into(
        &self,
        data: &Data,
        from: u32,
        out: &mut String,
    ) -> Result<(), crate::EvalError> {
        let mut at = from;
        for (n, &relation) in self.hops.iter().enumerate() {
            let Some(&next) = data.links(relation, at).first() else {
                return Err(crate::EvalError::new(if n + 1 < self.hops.len() {
                    crate::compile::RELATION_OF_NULL
                } else {
                    crate::compile::FIELD_OF_NULL
                }));
            };
            at = next;
        }
        crate::value::push_display(data, &cell_value(data.cell(self.kind, at, self.field)), out);
        Ok(())
    }
}

/// The object `from` leads to through `hops` (relations to one object each), if any.
fn follow(data: &Data, hops: &[usize], from: u32) -> Option<u32> {
    hops.iter().try_fold(from, |at, &relation| {
        data.links(relation, at).first().copied()
    })
}

fn tri(b: bool) -> Tri {
    if b { TRUE } else { FALSE }
}

/// An ordering operator as the set of orderings it accepts (bit 0 less, 1 equal, 2 greater), so
/// a leaf tests a comparison without a call.
#[derive(Clone, Copy)]
struct Accepts(u8);

impl Accepts {
    fn of(name: &str) -> Option<Accepts> {
        Some(Accepts(match name {
            op::LESS => 0b001,
            op::LESS_EQUALS => 0b011,
            op::GREATER => 0b100,
            op::GREATER_EQUALS => 0b110,
            _ => return None,
        }))
    }

    #[inline]
    fn test(self, ordering: std::cmp::Ordering) -> Tri {
        (self.0 >> (ordering as i8 + 1)) & 1
    }
}

/// `a < b` read as `b > a`.
fn mirrored(name: &str) -> &str {
    match name {
        op::LESS => op::GREATER,
        op::LESS_EQUALS => op::GREATER_EQUALS,
        op::GREATER => op::LESS,
        op::GREATER_EQUALS => op::LESS_EQUALS,
        other => other,
    }
}

impl Compiler<'_> {
    /// The batch form of a rule already type-checked by [`Compiler::compile`].
    pub(crate) fn batch(&mut self, e: &IdedExpr) -> Result<Node, crate::CompileError> {
        if let Expr::Call(call) = &e.expr
            && call.target.is_none()
        {
            let name = call.func_name.as_str();
            match (name, call.args.as_slice()) {
                (op::LOGICAL_AND | op::LOGICAL_OR, [_, _]) => {
                    let mut terms = Vec::new();
                    flatten(name, e, &mut terms);
                    let operands = terms
                        .into_iter()
                        .map(|t| self.batch(t))
                        .collect::<Result<_, _>>()?;
                    let decides = if name == op::LOGICAL_OR { TRUE } else { FALSE };
                    return Ok(Node::Chain { decides, operands });
                }
                (op::LOGICAL_NOT, [a]) => return Ok(Node::Not(Box::new(self.batch(a)?))),
                _ => {}
            }
        }
        if let Some(leaf) = self.column_leaf(e) {
            return Ok(leaf);
        }
        if let Some(node) = self
            .related_leaf(e)
            .or_else(|| self.words_leaf(e))
            .or_else(|| self.count_leaf(e))
        {
            return Ok(node);
        }
        if let Some(node) = self
            .partly_related_leaf(e)
            .or_else(|| self.one_word_leaf(e))
        {
            return Ok(node);
        }
        let (_, eval) = self.compile(e)?;
        Ok(row_by_row(eval))
    }

    /// A leaf reading one of the subject's fields against a constant, if `e` is one.
    fn column_leaf(&self, e: &IdedExpr) -> Option<Node> {
        if !self.scope_is_empty() {
            return None;
        }
        match &e.expr {
            // `has(subject.field)`: known, not null.
            Expr::Select(sel) if sel.test => {
                let plain = IdedExpr {
                    id: e.id,
                    expr: Expr::Select(cel::common::ast::SelectExpr {
                        operand: sel.operand.clone(),
                        field: sel.field.clone(),
                        test: false,
                    }),
                };
                let at = self.scalar_field(&plain)?;
                Some(at.via(column(
                    at.kind,
                    at.field,
                    Const::Value(V::Null),
                    |cell, _| tri(!matches!(cell, Cell::Null)),
                )))
            }
            // A bool field on its own: anything but a bool is undecided.
            Expr::Select(_) => {
                let at = self.scalar_field(e)?;
                if at.ty != Ty::Bool {
                    return None;
                }
                Some(at.via(column(
                    at.kind,
                    at.field,
                    Const::Value(V::Null),
                    |cell, _| match cell {
                        Cell::Bool(b) => tri(*b),
                        _ => UNDECIDED,
                    },
                )))
            }
            Expr::Call(call) if call.target.is_none() => {
                let name = call.func_name.as_str();
                let [a, b] = call.args.as_slice() else {
                    return None;
                };
                match name {
                    op::EQUALS | op::NOT_EQUALS => {
                        let negate = name == op::NOT_EQUALS;
                        if let Some(leaf) = self
                            .no_object(a, b, negate)
                            .or_else(|| self.no_object(b, a, negate))
                        {
                            return Some(leaf);
                        }
                        let (at, constant) = match (self.scalar_field(a), self.scalar_field(b)) {
                            (Some(at), None) => (at, self.constant(b)?),
                            (None, Some(at)) => (at, self.constant(a)?),
                            _ => return None,
                        };
                        let (kind, field) = (at.kind, at.field);
                        if let Const::Value(V::Text(text)) = &constant {
                            // The commonest leaf of all: a word compared with a word, as numbers
                            // where the column has them.
                            let text = text.clone();
                            return Some(at.via(Node::Leaf(Box::new(move |cx, rows, out| {
                                if let Some(words) = cx.data.words(kind, field) {
                                    let wanted = words.number(&text);
                                    for (o, &r) in out.iter_mut().zip(rows) {
                                        let code = words.codes.get(r as usize).copied();
                                        let same = code == Some(wanted) && wanted != Words::NONE;
                                        *o = tri(same != negate);
                                    }
                                    return;
                                }
                                let cells = cx.data.column(kind, field);
                                for (o, &r) in out.iter_mut().zip(rows) {
                                    let same = cells.get(r as usize).and_then(crate::data::text)
                                        == Some(&*text);
                                    *o = tri(same != negate);
                                }
                            }))));
                        }
                        Some(at.via(column(kind, field, constant, move |cell, c| {
                            tri(equal(&cell_value(cell), c) != negate)
                        })))
                    }
                    op::IN => {
                        let at = self.scalar_field(a)?;
                        let (kind, field) = (at.kind, at.field);
                        let Const::Value(list @ V::List(_)) = self.constant(b)? else {
                            return None;
                        };
                        if let V::List(items) = &list
                            && let Some(texts) = items
                                .iter()
                                .map(|v| v.str().map(str::to_owned))
                                .collect::<Option<Vec<String>>>()
                        {
                            // Words in a list of words: numbers against numbers where possible.
                            let list = Const::Value(list.clone());
                            let by_text = column(kind, field, list, |cell, list| {
                                match (crate::data::text(cell), list) {
                                    (Some(s), V::List(items)) => {
                                        tri(items.iter().any(|w| w.str() == Some(s)))
                                    }
                                    _ => FALSE,
                                }
                            });
                            return Some(at.via(Node::Leaf(Box::new(move |cx, rows, out| {
                                let Some(words) = cx.data.words(kind, field) else {
                                    return by_text.run(cx, rows, out);
                                };
                                let wanted: Vec<u32> = texts
                                    .iter()
                                    .map(|t| words.number(t))
                                    .filter(|&n| n != Words::NONE)
                                    .collect();
                                for (o, &r) in out.iter_mut().zip(rows) {
                                    let code = words.codes.get(r as usize).copied();
                                    *o = tri(code.is_some_and(|c| wanted.contains(&c)));
                                }
                            }))));
                        }
                        Some(
                            at.via(column(kind, field, Const::Value(list), |cell, list| {
                                let x = cell_value(cell);
                                let V::List(items) = list else {
                                    return UNDECIDED;
                                };
                                tri(items.iter().any(|y| equal(&x, y)))
                            })),
                        )
                    }
                    _ => {
                        Accepts::of(name)?;
                        // `x OP c` or `c OP x`, read with the field on the left.
                        if let Some(constant) = self.constant(b) {
                            self.ordered(name, a, constant)
                        } else {
                            let constant = self.constant(a)?;
                            self.ordered(mirrored(name), b, constant)
                        }
                    }
                }
            }
            _ => None,
        }
    }

    /// `x OP constant`, where `x` is a subject's field or arithmetic between one and a constant
    /// (`now - asset.last_seen`).
    fn ordered(&self, name: &str, x: &IdedExpr, bound: Const) -> Option<Node> {
        let accepts = Accepts::of(name)?;
        let symbol = symbol_of(name);
        if let Some(at) = self.scalar_field(x) {
            return Some(at.via(column(at.kind, at.field, bound, move |cell, c| {
                if matches!(cell, Cell::Null) {
                    return UNDECIDED;
                }
                match (cell, c) {
                    (Cell::Ts(x), V::Ts(y)) | (Cell::Int(x), V::Int(y)) => accepts.test(x.cmp(y)),
                    _ => match compare(symbol, &cell_value(cell), c) {
                        Ok(o) => accepts.test(o),
                        Err(_) => UNDECIDED,
                    },
                }
            })));
        }
        let Expr::Call(call) = &x.expr else {
            return None;
        };
        let arith = match call.func_name.as_str() {
            op::ADD => "+",
            op::SUBSTRACT => "-",
            _ => return None,
        };
        let [p, q] = call.args.as_slice() else {
            return None;
        };
        if call.target.is_some() {
            return None;
        }
        // One side is the field, the other a constant; both kept in their order for `-`.
        let (at, operand, field_first) = match (self.scalar_field(p), self.scalar_field(q)) {
            (Some(at), None) => (at, self.constant(q)?, true),
            (None, Some(at)) => (at, self.constant(p)?, false),
            _ => return None,
        };
        let (kind, field) = (at.kind, at.field);
        Some(at.via(Node::Leaf(Box::new(move |cx, rows, out| {
            let cells = cx.data.column(kind, field);
            let operand = operand.at(cx);
            let bound = bound.at(cx);
            for (o, &r) in out.iter_mut().zip(rows) {
                let cell = cells.get(r as usize).unwrap_or(&NULL);
                // The usual shape, `now - asset.last_seen <= days(14)`, without making values.
                if let (Cell::Ts(t), V::Ts(base), V::Dur(limit), "-", false) =
                    (cell, &operand, &bound, arith, field_first)
                {
                    *o = match base.checked_sub(*t) {
                        Some(age) => accepts.test(age.cmp(limit)),
                        None => UNDECIDED,
                    };
                    continue;
                }
                if matches!(cell, Cell::Null) {
                    *o = UNDECIDED;
                    continue;
                }
                let value = if field_first {
                    arithmetic(arith, cell_value(cell), operand.clone())
                } else {
                    arithmetic(arith, operand.clone(), cell_value(cell))
                };
                *o = match value.and_then(|v| compare(symbol, &v, &bound)) {
                    Ok(ord) => accepts.test(ord),
                    Err(_) => UNDECIDED,
                };
            }
        }))))
    }

    /// `subject.r.exists(x, p)` or `subject.r.all(x, p)` over a relation to many objects, where
    /// `p` speaks of `x` alone (not of the subject or of an outer variable): `p` is decided a
    /// column at a time for every related object of the batch's subjects together, then each
    /// subject's objects are combined as CEL's macros combine them — for `exists`, true if any
    /// is true, else undecided if any is undecided, else false; `all` the other way round.
    fn related_leaf(&self, e: &IdedExpr) -> Option<Node> {
        let (c, exists, predicate) = self.exists_or_all(e)?;
        let over = self.over_related(c, predicate)?;
        let (decides, otherwise) = if exists { (TRUE, FALSE) } else { (FALSE, TRUE) };
        Some(Node::Leaf(Box::new(move |cx, rows, out| {
            over.run(
                cx,
                rows,
                out,
                // The relation of nothing: the closures' error.
                |reached| if reached { otherwise } else { UNDECIDED },
                |o, d| {
                    if d == decides {
                        *o = decides;
                    } else if d == UNDECIDED && *o != decides {
                        *o = UNDECIDED;
                    }
                },
            );
        })))
    }

    /// A compiler of its own for a part of the rule over `subject`, called `name` there: the
    /// parameters and the words bound so far kept, nothing read yet.
    fn fresh(&self, subject: Kind, name: &str) -> Compiler<'_> {
        let mut fresh = Compiler::new(subject, self.params);
        fresh.subject_name = name.to_owned();
        fresh.bound = self.bound.clone();
        fresh
    }

    /// `exists`/`all` over a relation to many whose predicate is a chain (`||` or `&&`) only some
    /// of whose operands speak of the variable alone (`person.assets.all(a, a.status !=
    /// "allocated" || person.adjustments.exists(j, j.device_kind == a.kind))`). Those operands
    /// are decided over every related object of the batch at once. Where they decide an object's
    /// predicate the macro's way (false for `all`, true for `exists`), the subject is decided;
    /// where they decide it the other way for every object, so is the subject; any other subject
    /// goes through the closures, whole. CEL's `||`/`&&` and macros absorb errors alike, so this
    /// agrees with the closures.
    fn partly_related_leaf(&mut self, e: &IdedExpr) -> Option<Node> {
        let (c, exists, predicate) = self.exists_or_all(e)?;
        let Expr::Call(call) = &predicate.expr else {
            return None;
        };
        let chain = call.func_name.as_str();
        if call.target.is_some() || !(chain == op::LOGICAL_AND || chain == op::LOGICAL_OR) {
            return None;
        }
        let mut terms = Vec::new();
        flatten(chain, predicate, &mut terms);
        let (hops, relation) = self.to_many(&c.iter_range)?;
        let mut inner = self.fresh(RELATIONS[relation].to, &c.iter_var);
        let alone: Vec<Node> = terms.iter().filter_map(|t| inner.batch(t).ok()).collect();
        // None of them: nothing to decide at once; all of them: `related_leaf`'s.
        if alone.is_empty() || alone.len() == terms.len() {
            return None;
        }
        // The value that decides the chain, and the one that decides the macro.
        let chain_decides = if chain == op::LOGICAL_OR { TRUE } else { FALSE };
        let macro_decides = if exists { TRUE } else { FALSE };
        let over = OverRelated {
            hops,
            relation,
            predicate: Node::Chain {
                decides: chain_decides,
                operands: alone,
            },
        };
        let (_, whole) = self.compile(e).ok()?;
        // Each subject: its outcome so far, or `CLOSURES` where the closures must decide it.
        const CLOSURES: Tri = 3;
        Some(Node::Leaf(Box::new(move |cx, rows, out| {
            over.run(
                cx,
                rows,
                out,
                // The relation of nothing: the closures' error.
                |reached| {
                    if reached {
                        TRUE - macro_decides
                    } else {
                        UNDECIDED
                    }
                },
                |o, d| {
                    if *o == UNDECIDED || *o == macro_decides {
                        return;
                    }
                    if d == chain_decides {
                        if chain_decides == macro_decides {
                            *o = macro_decides;
                        }
                    } else {
                        *o = CLOSURES;
                    }
                },
            );
            let mut slots = Vec::new();
            for (o, &r) in out.iter_mut().zip(rows) {
                if *o == CLOSURES {
                    *o = closure_outcome(&whole, cx, r, &mut slots);
                }
            }
        })))
    }

    /// Any predicate of one of the subject's fields alone (and of constants), such as
    /// `account.system_name.lowerAscii() in params.case_record_systems`: where that field's
    /// column holds few distinct words, the closures decide it once per word a batch holds, not
    /// once per subject; otherwise once per subject, as any other leaf the columns cannot take.
    fn one_word_leaf(&self, e: &IdedExpr) -> Option<Node> {
        if !self.scope_is_empty() {
            return None;
        }
        let mut alone = self.fresh(self.subject, &self.subject_name);
        let (_, eval) = alone.compile(e).ok()?;
        let (kind, field) = alone.reads.borrow().only_field()?;
        if kind != self.subject {
            return None;
        }
        // Not yet decided for this word.
        const UNSET: Tri = 3;
        Some(Node::Leaf(Box::new(move |cx, rows, out| {
            let mut slots = Vec::new();
            let Some(words) = cx.data.words(kind, field) else {
                for (o, &r) in out.iter_mut().zip(rows) {
                    *o = closure_outcome(&eval, cx, r, &mut slots);
                }
                return;
            };
            // One more place for the cells that hold no word (null).
            let mut by_word = vec![UNSET; words.len() + 1];
            for (o, &r) in out.iter_mut().zip(rows) {
                let code = words.codes.get(r as usize).copied().unwrap_or(Words::NONE);
                let place = if code != Words::NONE {
                    code as usize
                } else if matches!(cx.data.cell(kind, r, field), Cell::Null) {
                    words.len()
                } else {
                    // Not a word and not null: decided on its own.
                    *o = closure_outcome(&eval, cx, r, &mut slots);
                    continue;
                };
                *o = match by_word.get(place).copied() {
                    Some(UNSET) | None => {
                        let decided = closure_outcome(&eval, cx, r, &mut slots);
                        if let Some(slot) = by_word.get_mut(place) {
                            *slot = decided;
                        }
                        decided
                    }
                    Some(decided) => decided,
                };
            }
        })))
    }

    /// `c`'s predicate over the objects `c` ranges over, where that is a relation to many
    /// (`subject.r1.….r`) and the predicate speaks of its variable alone: a predicate that
    /// speaks of anything else does not compile here and the comprehension is left to the
    /// closures.
    fn over_related(
        &self,
        c: &cel::common::ast::ComprehensionExpr,
        predicate: &IdedExpr,
    ) -> Option<OverRelated> {
        let (hops, relation) = self.to_many(&c.iter_range)?;
        let mut inner = self.fresh(RELATIONS[relation].to, &c.iter_var);
        let predicate = inner.batch(predicate).ok()?;
        Some(OverRelated {
            hops,
            relation,
            predicate,
        })
    }

    /// `["a", "b"].all(c, p)` or `exists`, over a list of words known when the rule compiles
    /// (a parameter, a literal): `p` with `c` fixed to each word in turn, joined by `&&` (all)
    /// or `||` (exists) — how CEL's macros decide a list, errors absorbed alike.
    fn words_leaf(&self, e: &IdedExpr) -> Option<Node> {
        let (c, exists, predicate) = self.exists_or_all(e)?;
        let Some(Const::Value(V::List(items))) = self.constant(&c.iter_range) else {
            return None;
        };
        // One copy of the predicate per word: a long list is left to the closures.
        if items.len() > 64 {
            return None;
        }
        let mut operands = Vec::with_capacity(items.len());
        for item in items.iter() {
            let V::Text(word) = item else {
                return None;
            };
            let mut inner = self.fresh(self.subject, &self.subject_name);
            inner.bound.push((c.iter_var.clone(), word.clone()));
            operands.push(inner.batch(predicate).ok()?);
        }
        let decides = if exists { TRUE } else { FALSE };
        Some(Node::Chain { decides, operands })
    }

    /// `a <= b` (or another comparison) of ints where one side counts a relation's objects
    /// (`person.assets.filter(a, …).size() <= 1 + person.adjustments.filter(j, …).size()`):
    /// both sides are worked out for the whole batch, a count by deciding its predicate over
    /// every related object at once, and compared; a side in error (an undecided predicate, a
    /// sum past the int's range) leaves the subject undecided, as CEL's comparison does.
    fn count_leaf(&self, e: &IdedExpr) -> Option<Node> {
        let Expr::Call(call) = &e.expr else {
            return None;
        };
        let [a, b] = call.args.as_slice() else {
            return None;
        };
        let name = call.func_name.as_str();
        let accepts = match name {
            op::EQUALS => Accepts(0b010),
            op::NOT_EQUALS => Accepts(0b101),
            other => Accepts::of(other)?,
        };
        if call.target.is_some() || !(self.counts(a) || self.counts(b)) {
            return None;
        }
        let (a, b) = (self.ints(a)?, self.ints(b)?);
        Some(Node::Leaf(Box::new(move |cx, rows, out| {
            let mut left = vec![None; rows.len()];
            let mut right = vec![None; rows.len()];
            a(cx, rows, &mut left);
            b(cx, rows, &mut right);
            for ((o, l), r) in out.iter_mut().zip(&left).zip(&right) {
                *o = match (l, r) {
                    (Some(l), Some(r)) => accepts.test(l.cmp(r)),
                    _ => UNDECIDED,
                };
            }
        })))
    }

    /// Whether `e` is or holds a count [`Compiler::ints`] works out.
    fn counts(&self, e: &IdedExpr) -> bool {
        match &e.expr {
            Expr::Call(call) if call.func_name == op::ADD && call.target.is_none() => {
                call.args.iter().any(|a| self.counts(a))
            }
            _ => self.size_of(e).is_some(),
        }
    }

    /// An int for each subject of a batch (`None`: an error), where `e` is an int known when the
    /// rule compiles, a count of a relation's objects that pass a predicate
    /// (`subject.r.filter(x, p).size()`), or a sum of those.
    fn ints(&self, e: &IdedExpr) -> Option<Ints> {
        if let Some(n) = self.constant_int(e) {
            return Some(Box::new(move |_, _, out| out.fill(Some(n))));
        }
        if let Expr::Call(call) = &e.expr
            && call.func_name == op::ADD
            && call.target.is_none()
            && let [a, b] = call.args.as_slice()
        {
            let (a, b) = (self.ints(a)?, self.ints(b)?);
            return Some(Box::new(move |cx, rows, out| {
                let mut right = vec![None; rows.len()];
                a(cx, rows, out);
                b(cx, rows, &mut right);
                for (o, r) in out.iter_mut().zip(&right) {
                    *o = o.zip(*r).and_then(|(l, r)| l.checked_add(r));
                }
            }));
        }
        self.count(self.size_of(e)?)
    }

    /// `x.size()` or `size(x)`: `x`.
    fn size_of<'e>(&self, e: &'e IdedExpr) -> Option<&'e IdedExpr> {
        let Expr::Call(call) = &e.expr else {
            return None;
        };
        if call.func_name != "size" {
            return None;
        }
        match (&call.target, call.args.as_slice()) {
            (Some(target), []) => Some(target),
            (None, [arg]) => Some(arg),
            _ => None,
        }
    }

    /// How many of a relation's objects pass a predicate, for each subject: `e` is CEL's
    /// `filter` macro over a relation to many (`subject.r.filter(x, p)`) whose predicate speaks
    /// of its variable alone. An object whose predicate is undecided makes the count an error,
    /// as it makes the macro's list one.
    fn count(&self, e: &IdedExpr) -> Option<Ints> {
        let c = self.plain_comprehension(e)?;
        // The macro's expansion: from `[]`, `p ? accu + [x] : accu`, the result the accumulator.
        let accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(a) if *a == c.accu_var);
        if !matches!(&c.accu_init.expr, Expr::List(l) if l.elements.is_empty()) || !accu(&c.result)
        {
            return None;
        }
        let Expr::Call(step) = &c.loop_step.expr else {
            return None;
        };
        let [predicate, added, kept] = step.args.as_slice() else {
            return None;
        };
        let Expr::Call(add) = &added.expr else {
            return None;
        };
        let adds_the_variable = matches!(add.args.as_slice(), [a, list]
            if accu(a) && matches!(&list.expr, Expr::List(l)
                if matches!(l.elements.as_slice(), [v] if matches!(&v.expr, Expr::Ident(x) if *x == c.iter_var))));
        if step.func_name != op::CONDITIONAL
            || add.func_name != op::ADD
            || !adds_the_variable
            || !accu(kept)
        {
            return None;
        }
        let over = self.over_related(c, predicate)?;
        Some(Box::new(move |cx, rows, out| {
            over.run(
                cx,
                rows,
                out,
                // The relation of nothing: the closures' error.
                |reached| reached.then_some(0),
                |o, d| {
                    *o = match d {
                        TRUE => o.map(|n| n + 1),
                        FALSE => *o,
                        _ => None,
                    }
                },
            );
        }))
    }

    /// `e` where it is a comprehension over one variable that hides nothing the batch reads by
    /// name (a variable named like the clock or the parameters hides them in the closures).
    fn plain_comprehension<'e>(
        &self,
        e: &'e IdedExpr,
    ) -> Option<&'e cel::common::ast::ComprehensionExpr> {
        let Expr::Comprehension(c) = &e.expr else {
            return None;
        };
        if c.iter_var2.is_some()
            || !self.scope_is_empty()
            || ["now", "today", "params"].contains(&c.iter_var.as_str())
        {
            return None;
        }
        Some(c)
    }

    /// A comprehension that is CEL's `exists` or `all` macro, with a variable that hides
    /// nothing the batch reads by name: the comprehension, whether it is `exists`, and the
    /// predicate.
    fn exists_or_all<'e>(
        &self,
        e: &'e IdedExpr,
    ) -> Option<(&'e cel::common::ast::ComprehensionExpr, bool, &'e IdedExpr)> {
        let c = self.plain_comprehension(e)?;
        // The macros' expansion: `accu || p` from false (exists), `accu && p` from true (all),
        // the result the accumulator.
        let Expr::Literal(LiteralValue::Boolean(init)) = &c.accu_init.expr else {
            return None;
        };
        let Expr::Call(step) = &c.loop_step.expr else {
            return None;
        };
        let exists = match (step.func_name.as_str(), **init) {
            (op::LOGICAL_OR, false) => true,
            (op::LOGICAL_AND, true) => false,
            _ => return None,
        };
        let [accu, predicate] = step.args.as_slice() else {
            return None;
        };
        if !matches!(&accu.expr, Expr::Ident(a) if *a == c.accu_var)
            || !matches!(&c.result.expr, Expr::Ident(r) if *r == c.accu_var)
        {
            return None;
        }
        Some((c, exists, predicate))
    }

    /// `subject.r1.….r` where each `r1…` leads to one object and `r` to many: the relations
    /// to follow, and the last.
    fn to_many(&self, e: &IdedExpr) -> Option<(Vec<usize>, usize)> {
        let (hops, _, member) = self.member_of(e)?;
        let Member::Relation { index, .. } = member else {
            return None;
        };
        match RELATIONS[index].join {
            Join::Forward { .. } => None,
            Join::Reverse { .. } | Join::Exceptions | Join::Same { .. } => Some((hops, index)),
        }
    }

    /// The subject itself (no relations), or `subject.r1.….rn` where every relation leads to at
    /// most one object: the relations and the kind reached.
    fn to_one(&self, e: &IdedExpr) -> Option<(Vec<usize>, Kind)> {
        if let Expr::Ident(root) = &e.expr {
            return (*root == self.subject_name && self.scope_is_empty())
                .then(|| (Vec::new(), self.subject));
        }
        let (mut hops, _, member) = self.member_of(e)?;
        let Member::Relation { index, .. } = member else {
            return None;
        };
        let relation = RELATIONS[index];
        if !matches!(relation.join, Join::Forward { .. }) {
            return None;
        }
        hops.push(index);
        Some((hops, relation.to))
    }

    /// `x.name` where `x` is the subject or reached from it by relations to one object: the
    /// relations to `x`, its kind, and what `name` is on it.
    fn member_of(&self, e: &IdedExpr) -> Option<(Vec<usize>, Kind, Member)> {
        let Expr::Select(sel) = &e.expr else {
            return None;
        };
        if sel.test {
            return None;
        }
        let (hops, kind) = self.to_one(&sel.operand)?;
        let member = self.member(e.id, kind, &sel.field)?;
        Some((hops, kind, member))
    }

    /// `object == null` (`!=` where `negate`) where `object` is reached from the subject through
    /// relations to one object (`account.person`, `asset.holder.manager`): whether the last
    /// relation leads anywhere, read from its links. As the closures decide it, a relation before
    /// the last that leads nowhere leaves the subject undecided.
    fn no_object(&self, object: &IdedExpr, null: &IdedExpr, negate: bool) -> Option<Node> {
        if !matches!(&null.expr, Expr::Literal(LiteralValue::Null)) {
            return None;
        }
        let (mut hops, _) = self.to_one(object)?;
        // The subject itself is never null: not a leaf worth having.
        let last = hops.pop()?;
        Some(via(
            hops,
            Node::Leaf(Box::new(move |cx, rows, out| {
                for (o, &r) in out.iter_mut().zip(rows) {
                    *o = tri(cx.data.links(last, r).is_empty() != negate);
                }
            })),
        ))
    }

    /// `subject.field`, or a field reached from the subject through relations to one object
    /// (`account.person.status`), holding one value (not a list): where it is.
    pub(crate) fn scalar_field(&self, e: &IdedExpr) -> Option<At> {
        let (hops, kind, member) = self.member_of(e)?;
        let Member::Field { index, ty } = member else {
            return None;
        };
        match ty {
            Ty::List(_) | Ty::Object(_) | Ty::Dyn => None,
            _ => Some(At {
                hops,
                kind,
                field: index,
                ty,
            }),
        }
    }

    /// A value known before any subject is looked at: a literal, a parameter, `now`, `today`,
    /// `days(n)` of a constant, a list of words.
    fn constant(&self, e: &IdedExpr) -> Option<Const> {
        let value = match &e.expr {
            Expr::Literal(lit) => match lit {
                LiteralValue::Boolean(b) => V::Bool(**b),
                LiteralValue::Int(i) => V::Int(**i),
                LiteralValue::UInt(u) => V::Int(i64::try_from(**u).ok()?),
                LiteralValue::Double(d) => V::Double(**d),
                LiteralValue::String(s) => V::Text(Arc::from(s.inner())),
                LiteralValue::Null => V::Null,
                LiteralValue::Bytes(_) => return None,
            },
            Expr::Ident(name) => match (self.bound_word(name), name.as_str()) {
                (Some(word), _) => V::Text(word.clone()),
                (None, "now") => return Some(Const::Now),
                (None, "today") => return Some(Const::Today),
                (None, _) => return None,
            },
            Expr::Select(sel)
                if !sel.test && matches!(&sel.operand.expr, Expr::Ident(r) if r == "params") =>
            {
                match &self.param_value(&sel.field)? {
                    ParamValue::Int(i) => V::Int(*i),
                    ParamValue::Double(d) => V::Double(*d),
                    ParamValue::Bool(b) => V::Bool(*b),
                    ParamValue::String(s) => V::Text(Arc::from(s.as_str())),
                    ParamValue::Duration(us) => V::Dur(*us),
                    ParamValue::List(items) => V::List(Arc::new(
                        items
                            .iter()
                            .map(|s| V::Text(Arc::from(s.as_str())))
                            .collect(),
                    )),
                }
            }
            Expr::List(list) => V::List(Arc::new(
                list.elements
                    .iter()
                    .map(|item| match &item.expr {
                        Expr::Literal(LiteralValue::String(s)) => {
                            Some(V::Text(Arc::from(s.inner())))
                        }
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?,
            )),
            Expr::Call(call) if call.target.is_none() => {
                match (call.func_name.as_str(), call.args.as_slice()) {
                    ("days" | "hours", [n]) => {
                        let unit: i64 = if call.func_name == "days" {
                            86_400_000_000
                        } else {
                            3_600_000_000
                        };
                        V::Dur(self.constant_int(n)?.checked_mul(unit)?)
                    }
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(Const::Value(value))
    }
}

fn symbol_of(name: &str) -> &'static str {
    match name {
        op::LESS => "<",
        op::LESS_EQUALS => "<=",
        op::GREATER => ">",
        _ => ">=",
    }
}

/// The fallback leaf: the per-subject closure, once per row.
fn row_by_row(eval: Eval) -> Node {
    Node::Leaf(Box::new(move |cx, rows, out| {
        let mut slots = Vec::new();
        for (o, &r) in out.iter_mut().zip(rows) {
            *o = closure_outcome(&eval, cx, r, &mut slots);
        }
    }))
}

/// Subject `r`'s outcome through the closures, the slots' buffer lent by the caller.
fn closure_outcome<'a>(
    eval: &Eval,
    cx: &Cx<'a>,
    r: u32,
    slots: &mut crate::compile::Slots<'a>,
) -> Tri {
    let env = Env {
        data: cx.data,
        now: cx.now,
        today: cx.today,
        subject: r,
    };
    slots.clear();
    match eval(&env, slots) {
        Ok(V::Bool(b)) => tri(b),
        _ => UNDECIDED,
    }
}
