//! Which subjects of a rule a change can move, and what must be read to decide them again: the
//! walk over the relations the rule follows, no further than its longest path. A run after a
//! person leaves evaluates the checks of accounts over that person's accounts, and reads those
//! accounts and that person, not the whole estate.
//!
//! The store is asked through [`Find`]; this module does no I/O of its own.

use std::collections::{BTreeMap, BTreeSet};

use steward_model::{Register, Row};

use crate::reads::Reads;
use crate::schema::{Join, Kind, Relation};

/// How the walk asks for objects.
pub trait Find {
    type Error;
    /// The objects of `kind` whose field `field` holds one of `values` as text; `field` is the
    /// first of the register's fields (its id) or one a relation joins on.
    fn find(
        &mut self,
        kind: Kind,
        field: &'static str,
        values: &BTreeSet<String>,
    ) -> Result<Vec<Row>, Self::Error>;
}

/// An object a change touched: its kind, its id, and the text its fields held before the change
/// and after it (a holder's id before an asset was passed on, and after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    pub kind: Kind,
    pub id: String,
    /// Field name and value, of before and after alike.
    pub values: Vec<(String, String)>,
}

/// Objects read for a run over some subjects, by kind and id.
#[derive(Debug, Default)]
pub struct Neighbourhood {
    objects: BTreeMap<Kind, BTreeMap<String, Row>>,
    /// How many were found in all, the same object counted each time.
    found: usize,
}

impl Neighbourhood {
    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.objects.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its objects by register, each register's by id: what [`crate::Data`] lays out.
    pub fn into_registers(self) -> Vec<(Register, Vec<Row>)> {
        self.objects
            .into_iter()
            .map(|(kind, rows)| (kind.register(), rows.into_values().collect()))
            .collect()
    }
}

/// An object met on the walk: one a change touched, or one found.
enum Met<'a> {
    Touched(&'a Touched),
    Found(Kind, Row),
}

impl Met<'_> {
    fn kind(&self) -> Kind {
        match self {
            Met::Touched(t) => t.kind,
            Met::Found(kind, _) => *kind,
        }
    }

    fn id(&self) -> &str {
        match self {
            Met::Touched(t) => &t.id,
            Met::Found(_, row) => row.id(),
        }
    }

    /// The text values of `field` (a touched object's before and after).
    fn values(&self, field: &str, out: &mut BTreeSet<String>) {
        match self {
            Met::Touched(t) => out.extend(
                t.values
                    .iter()
                    .filter(|(name, _)| name == field)
                    .map(|(_, v)| v.clone()),
            ),
            Met::Found(_, row) => {
                out.extend(
                    row.get(field)
                        .and_then(steward_model::Value::as_text)
                        .map(str::to_owned),
                );
            }
        }
    }
}

/// One step over a relation: the objects of `kind` whose field `by` holds the values of field
/// `of` of the objects stepped from (their ids where `None`).
struct Step {
    kind: Kind,
    by: &'static str,
    of: Option<&'static str>,
}

impl Relation {
    /// From objects of `self.to` back to the objects of `self.from` that lead to them. Back
    /// from an exception, any object of the id it names: one of another kind is a subject
    /// walked to needlessly, never one missed.
    fn back(&self) -> Step {
        let (by, of) = match self.join {
            Join::Forward { field } => (field, None),
            Join::Reverse { field } => (id_field(self.from), Some(field)),
            Join::Same { field, target } => (field, Some(target)),
            Join::Exceptions => (id_field(self.from), Some("subject_id")),
        };
        Step {
            kind: self.from,
            by,
            of,
        }
    }

    /// From objects of `self.from` to those of `self.to` it leads to. Exceptions about objects
    /// of another kind with the same id are held too, and left alone: the relation asks for the
    /// kind as well.
    fn forth(&self) -> Step {
        let (by, of) = match self.join {
            Join::Forward { field } => (id_field(self.to), Some(field)),
            Join::Reverse { field } => (field, None),
            Join::Same { field, target } => (target, Some(field)),
            Join::Exceptions => ("subject_id", None),
        };
        Step {
            kind: self.to,
            by,
            of,
        }
    }
}

impl Step {
    /// The objects it leads to from `met`.
    fn take<'a, F: Find>(
        &self,
        met: impl Iterator<Item = &'a Met<'a>>,
        find: &mut F,
    ) -> Result<Vec<Row>, F::Error> {
        find.find(self.kind, self.by, &values_of(met, self.of))
    }
}

/// Every field the walks may ask [`Find`] for objects by, with the kind it is of: each kind's
/// id and every field a relation joins on.
pub fn fields_found_by() -> BTreeSet<(Kind, &'static str)> {
    let mut fields: BTreeSet<(Kind, &'static str)> =
        Kind::ALL.iter().map(|k| (*k, id_field(*k))).collect();
    for r in crate::schema::RELATIONS {
        for step in [r.back(), r.forth()] {
            fields.insert((step.kind, step.by));
        }
    }
    fields
}

/// The field holding a kind's ids.
fn id_field(kind: Kind) -> &'static str {
    kind.register().id_field().name
}

/// The values of `field` over `met`, or their ids where `field` is `None`.
fn values_of<'a>(met: impl Iterator<Item = &'a Met<'a>>, field: Option<&str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for m in met {
        match field {
            Some(field) => m.values(field, &mut out),
            None => {
                out.insert(m.id().to_owned());
            }
        }
    }
    out
}

impl Reads {
    /// The subjects of kind `subject` whose findings under a rule reading this may move with the
    /// changes `touched`: those within the rule's longest path of a touched object over the
    /// relations it follows, either way the object was linked (before the change or after).
    /// `None` where they are more than `most`, or the walk meets more than `most` objects in
    /// all at one step.
    pub fn subjects_moved<F: Find>(
        &self,
        subject: Kind,
        touched: &[&Touched],
        find: &mut F,
        most: usize,
    ) -> Result<Option<BTreeSet<String>>, F::Error> {
        let mut seen: BTreeSet<(Kind, String)> =
            touched.iter().map(|t| (t.kind, t.id.clone())).collect();
        let mut subjects: BTreeSet<String> = touched
            .iter()
            .filter(|t| t.kind == subject)
            .map(|t| t.id.clone())
            .collect();
        let mut frontier: Vec<Met<'_>> = touched.iter().map(|t| Met::Touched(t)).collect();
        let relations: Vec<&Relation> = self.followed().collect();
        // A change of thousands of records (an import, a sync) gives up before asking anything.
        if subjects.len() > most || seen.len() > most {
            return Ok(None);
        }
        for _ in 0..self.hops() {
            if frontier.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for r in &relations {
                let here = || frontier.iter().filter(|m| m.kind() == r.to);
                if here().next().is_none() {
                    continue;
                }
                // The objects of `r.from` that `r` leads from to these.
                for row in r.back().take(here(), find)? {
                    if seen.insert((r.from, row.id().to_owned())) {
                        if r.from == subject {
                            subjects.insert(row.id().to_owned());
                        }
                        next.push(Met::Found(r.from, row));
                    }
                }
                if subjects.len() > most || seen.len() > most {
                    return Ok(None);
                }
            }
            frontier = next;
        }
        Ok(Some(subjects))
    }

    /// Adds to `into` the subjects `ids` of kind `subject` and every object a rule reading this
    /// can reach from them: what an estate must hold for the rule to decide those subjects as
    /// the whole estate would. `false` (and `into` left part-filled) where more than `most`
    /// objects are found in all.
    pub fn neighbourhood<F: Find>(
        &self,
        subject: Kind,
        ids: &BTreeSet<String>,
        find: &mut F,
        into: &mut Neighbourhood,
        most: usize,
    ) -> Result<bool, F::Error> {
        let mut frontier: Vec<Met<'_>> = find
            .find(subject, id_field(subject), ids)?
            .into_iter()
            .map(|row| Met::Found(subject, row))
            .collect();
        let mut seen: BTreeSet<(Kind, String)> = frontier
            .iter()
            .map(|m| (m.kind(), m.id().to_owned()))
            .collect();
        let relations: Vec<&Relation> = self.followed().collect();
        let mut hops = 0;
        loop {
            into.found += frontier.len();
            if into.found > most {
                return Ok(false);
            }
            let mut next = Vec::new();
            if hops < self.hops() {
                for r in &relations {
                    let here = || frontier.iter().filter(|m| m.kind() == r.from);
                    if here().next().is_none() {
                        continue;
                    }
                    for row in r.forth().take(here(), find)? {
                        if seen.insert((r.to, row.id().to_owned())) {
                            next.push(Met::Found(r.to, row));
                        }
                    }
                }
            }
            for met in frontier {
                if let Met::Found(kind, row) = met {
                    into.objects
                        .entry(kind)
                        .or_default()
                        .insert(row.id().to_owned(), row);
                }
            }
            if next.is_empty() {
                return Ok(true);
            }
            frontier = next;
            hops += 1;
        }
    }
}
