//! Which fields of the estate a set of rules reads: what [`Data`](crate::Data) must lay out, and
//! a database read, to check them. At 100,000 people most of an estate's text is names, serial
//! numbers and notes no rule reads; leaving them out is most of the time and memory of laying an
//! estate out.

use crate::schema::{Join, Kind, RELATIONS};

/// Per kind of object, the fields read: those a rule names, the id (and the fields a derived id
/// is made of) of each kind it reaches, and the fields the relations it follows join on. A kind
/// of which nothing is read need not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    /// Indexed by `Kind as usize`, then by the field's place in its register; `None`: every field
    /// of every kind.
    fields: Option<Vec<Vec<bool>>>,
    /// Indexed as `RELATIONS`: whether the relation is followed. A rule over assets that follows
    /// none to assets decides each asset from that asset alone (and what it leads to).
    relations: Vec<bool>,
    /// How many relations a path from the subject follows at most: no object further than this
    /// from the subject is read ([`Reads::subjects_moved`], [`Reads::neighbourhood`]).
    hops: usize,
}

impl Default for Reads {
    /// No field at all.
    fn default() -> Reads {
        Reads {
            fields: Some(
                Kind::ALL
                    .iter()
                    .map(|k| vec![false; k.register().fields().len()])
                    .collect(),
            ),
            relations: vec![false; RELATIONS.len()],
            hops: 0,
        }
    }
}

impl Reads {
    /// Every field of every kind: an estate laid out for any rule at all.
    pub fn every() -> Reads {
        Reads {
            fields: None,
            relations: vec![true; RELATIONS.len()],
            hops: usize::MAX,
        }
    }

    /// Adds field `index` of `kind`.
    pub(crate) fn insert(&mut self, kind: Kind, index: usize) {
        if let Some(slot) = self
            .fields
            .as_mut()
            .and_then(|f| f.get_mut(kind as usize))
            .and_then(|f| f.get_mut(index))
        {
            *slot = true;
        }
    }

    /// Adds field `name` of `kind`, if it has one.
    pub fn insert_named(&mut self, kind: Kind, name: &str) {
        if let Some(i) = kind.register().field_index(name) {
            self.insert(kind, i);
        }
    }

    /// Adds every field of `kind`: what a created or deleted object touches.
    pub fn insert_kind(&mut self, kind: Kind) {
        for i in 0..kind.register().fields().len() {
            self.insert(kind, i);
        }
    }

    /// Adds the id of `kind`'s objects, and the fields a derived id is made of.
    pub(crate) fn insert_id(&mut self, kind: Kind) {
        self.insert(kind, 0);
        for &i in kind.register().key_indices() {
            self.insert(kind, i);
        }
    }

    /// Adds what following relation `RELATIONS[index]` reads: both ends' ids and the fields it
    /// joins on.
    pub(crate) fn insert_relation(&mut self, index: usize) {
        let Some(r) = RELATIONS.get(index) else {
            return;
        };
        self.insert_id(r.from);
        self.insert_id(r.to);
        if let Some(followed) = self.relations.get_mut(index) {
            *followed = true;
        }
        match r.join {
            Join::Forward { field } => self.insert_named(r.from, field),
            Join::Reverse { field } => self.insert_named(r.to, field),
            Join::Same { field, target } => {
                self.insert_named(r.from, field);
                self.insert_named(r.to, target);
            }
            Join::Exceptions => {
                self.insert_named(r.to, "subject_type");
                self.insert_named(r.to, "subject_id");
            }
        }
    }

    /// Whether any field is read by both.
    pub fn meets(&self, other: &Reads) -> bool {
        match (&self.fields, &other.fields) {
            (None, Some(f)) | (Some(f), None) => f.iter().flatten().any(|r| *r),
            (None, None) => true,
            (Some(mine), Some(theirs)) => mine
                .iter()
                .zip(theirs)
                .any(|(mine, theirs)| mine.iter().zip(theirs).any(|(m, t)| *m && *t)),
        }
    }

    /// That a path from the subject follows at most `hops` relations: as many as the program
    /// has nodes that follow one.
    pub(crate) fn set_hops(&mut self, hops: usize) {
        self.hops = hops;
    }

    /// Adds every field `other` reads. Of two programs' paths (a rule's and its evidence's), the
    /// longer is each's own: no path is made of both.
    pub fn add(&mut self, other: &Reads) {
        for (mine, theirs) in self.relations.iter_mut().zip(&other.relations) {
            *mine |= *theirs;
        }
        self.hops = self.hops.max(other.hops);
        let (Some(mine), Some(theirs)) = (&mut self.fields, &other.fields) else {
            self.fields = None;
            return;
        };
        for (mine, theirs) in mine.iter_mut().zip(theirs) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m |= *t;
            }
        }
    }

    /// Whether field `index` of `kind` is read.
    pub fn reads(&self, kind: Kind, index: usize) -> bool {
        match &self.fields {
            None => true,
            Some(fields) => fields
                .get(kind as usize)
                .and_then(|f| f.get(index))
                .copied()
                .unwrap_or(false),
        }
    }

    /// Whether every field `other` reads is read here, and every relation it follows followed.
    pub fn covers(&self, other: &Reads) -> bool {
        let follows_theirs = self
            .relations
            .iter()
            .zip(&other.relations)
            .all(|(mine, theirs)| *mine || !*theirs);
        follows_theirs
            && match (&self.fields, &other.fields) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(mine), Some(theirs)) => mine
                    .iter()
                    .zip(theirs)
                    .all(|(mine, theirs)| mine.iter().zip(theirs).all(|(m, t)| *m || !*t)),
            }
    }

    /// Whether objects of `kind` are reached through a relation (a person's manager is another
    /// person; an asset's holder's other assets are other assets): where they are not, a rule
    /// over `kind` decides each subject without looking at any other of its kind.
    pub fn reaches(&self, kind: Kind) -> bool {
        self.followed().any(|r| r.to == kind)
    }

    /// How many relations are followed: those an estate laid out for these reads resolves.
    pub fn relations_followed(&self) -> usize {
        self.relations.iter().filter(|on| **on).count()
    }

    /// Whether relation `RELATIONS[index]` is followed.
    pub(crate) fn follows(&self, index: usize) -> bool {
        self.relations.get(index).copied().unwrap_or(false)
    }

    /// The relations followed.
    pub(crate) fn followed(&self) -> impl Iterator<Item = &'static crate::schema::Relation> {
        RELATIONS
            .iter()
            .zip(&self.relations)
            .filter(|(_, on)| **on)
            .map(|(r, _)| r)
    }

    /// How many relations a path from the subject follows at most.
    pub(crate) fn hops(&self) -> usize {
        self.hops
    }

    /// The kinds of which some field is read by both ([`Reads::meets`], kind by kind).
    pub fn kinds_meeting(&self, other: &Reads) -> Vec<Kind> {
        Kind::ALL
            .iter()
            .copied()
            .filter(|k| {
                (0..k.register().fields().len()).any(|i| self.reads(*k, i) && other.reads(*k, i))
            })
            .collect()
    }

    /// The one field read, where exactly one is and no relation is followed: an expression of
    /// that field alone (and of constants).
    pub(crate) fn only_field(&self) -> Option<(Kind, usize)> {
        if self.relations.iter().any(|r| *r) {
            return None;
        }
        let fields = self.fields.as_ref()?;
        let mut read = Kind::ALL.iter().flat_map(|&kind| {
            let of_kind = fields.get(kind as usize).map_or(&[][..], Vec::as_slice);
            of_kind
                .iter()
                .enumerate()
                .filter(|(_, read)| **read)
                .map(move |(index, _)| (kind, index))
        });
        let only = read.next()?;
        read.next().is_none().then_some(only)
    }

    /// Per field of `kind`'s register, in its order, whether it is read: what a database read
    /// of that register selects.
    pub fn of(&self, kind: Kind) -> Vec<bool> {
        let n = kind.register().fields().len();
        (0..n).map(|i| self.reads(kind, i)).collect()
    }
}
