//! The estate laid out for evaluation: every object's fields converted once to the rule
//! language's types, and every relation resolved once to indices.

use std::sync::Arc;

use steward_model::{Estate, FieldType, Register, Row, Value, side_by_side};

use crate::reads::Reads;
use crate::schema::{Join, Kind, RELATIONS, Relation};

/// A field value as rules see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    Double(f64),
    /// Shared: a column with few distinct words holds each word once (see [`Words`]).
    Str(Arc<str>),
    /// Text of a column with many distinct values (ids, names): the row's own string, moved in
    /// rather than copied.
    Text(Box<str>),
    /// Microseconds since the Unix epoch, UTC.
    Ts(i64),
    Int(i64),
    /// A list of words, such as a travel request's countries.
    Strs(Box<[String]>),
}

// Millions of cells: a new kind of cell must not make every one of them larger.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Cell>() == 24);

/// A map keyed by the estate's own text: foldhash, seeded afresh per map, is several times
/// faster than SipHash on short ids and still not predictable by whoever wrote the file.
type FastMap<K, V> = foldhash::HashMap<K, V>;

pub(crate) fn text(cell: &Cell) -> Option<&str> {
    match cell {
        Cell::Str(s) => Some(s),
        Cell::Text(s) => Some(s),
        _ => None,
    }
}

/// How many objects of `kind` there are: the length of its first (id) column.
fn column_len(columns: &[Vec<Vec<Cell>>], kind: Kind) -> usize {
    columns
        .get(kind as usize)
        .and_then(|fields| fields.first())
        .map_or(0, Vec::len)
}

fn cell(ty: FieldType, value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Text(s) if ty == FieldType::Countries => Cell::Strs(
            s.split(';')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Value::Text(s) => Cell::Text(s.into_boxed_str()),
        Value::Int(i) => Cell::Int(i),
        Value::Bool(b) => Cell::Bool(b),
        Value::Date(d) => Cell::Ts(
            d.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp_micros()),
        ),
        Value::Timestamp(t) => Cell::Ts(t.timestamp_micros()),
        Value::Money(p) => Cell::Double(p.0 as f64 / 100.0),
    }
}

/// One relation resolved: for each object of the source kind, the indices it reaches.
#[derive(Debug, Default)]
pub(crate) struct Links {
    /// Object `i` reaches `targets[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    targets: Vec<u32>,
}

impl Links {
    /// `sources` objects' links from (source, target) pairs; each source's targets keep the
    /// pairs' order.
    fn from_pairs(sources: usize, pairs: &[(u32, u32)]) -> Links {
        let mut starts = vec![0u32; sources + 1];
        for &(i, _) in pairs {
            if let Some(n) = starts.get_mut(i as usize + 1) {
                *n += 1;
            }
        }
        let mut total = 0;
        for start in &mut starts {
            total += *start;
            *start = total;
        }
        let mut next: Vec<u32> = starts.clone();
        let mut targets = vec![0u32; pairs.len()];
        for &(i, t) in pairs {
            if let Some(at) = next.get_mut(i as usize) {
                if let Some(slot) = targets.get_mut(*at as usize) {
                    *slot = t;
                }
                *at += 1;
            }
        }
        Links { starts, targets }
    }

    pub(crate) fn of(&self, i: u32) -> &[u32] {
        let i = i as usize;
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&a), Some(&b)) => self.targets.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// A text column with few distinct words, also held as numbers: comparing a word then costs what
/// comparing an enum does. Each word is kept once, and every cell holding it shares it.
#[derive(Debug, Default)]
pub(crate) struct Words {
    /// Each object's word number; [`Words::NONE`] for anything but text.
    pub codes: Vec<u32>,
    numbers: FastMap<Arc<str>, u32>,
}

impl Words {
    pub const NONE: u32 = u32::MAX;
    /// Beyond this many distinct words (ids, names), a column is left as text.
    const MOST: usize = 4096;

    /// The number of `word`, or [`Words::NONE`] if no object has it.
    pub fn number(&self, word: &str) -> u32 {
        self.numbers.get(word).copied().unwrap_or(Words::NONE)
    }

    /// How many distinct words: every number is below it.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }
}

/// A column being laid out: its cells, and its words while there are few enough.
struct ColumnBuilder {
    cells: Vec<Cell>,
    words: Option<Words>,
}

impl ColumnBuilder {
    fn new(len: usize) -> ColumnBuilder {
        ColumnBuilder {
            cells: Vec::with_capacity(len),
            words: Some(Words {
                codes: Vec::with_capacity(len),
                numbers: FastMap::default(),
            }),
        }
    }

    fn push(&mut self, ty: FieldType, value: Value) {
        let cell = match (value, &mut self.words) {
            (Value::Text(s), Some(words)) if ty != FieldType::Countries => {
                if let Some((word, &n)) = words.numbers.get_key_value(s.as_str()) {
                    words.codes.push(n);
                    Cell::Str(word.clone())
                } else if words.numbers.len() < Words::MOST {
                    let n = words.numbers.len() as u32;
                    let word: Arc<str> = Arc::from(s);
                    words.numbers.insert(word.clone(), n);
                    words.codes.push(n);
                    Cell::Str(word)
                } else {
                    // Too many to number: the column stays text alone.
                    self.words = None;
                    Cell::Text(s.into_boxed_str())
                }
            }
            (value, words) => {
                if let Some(words) = words {
                    words.codes.push(Words::NONE);
                }
                cell(ty, value)
            }
        };
        self.cells.push(cell);
    }

    fn finish(self) -> (Vec<Cell>, Option<Words>) {
        let words = self.words.filter(|w| !w.numbers.is_empty());
        (self.cells, words)
    }
}

/// One kind's columns, one per field.
type KindColumns = Vec<Vec<Cell>>;
/// One kind's words, per field.
type KindWords = Vec<Option<Words>>;

/// An estate ready to be checked.
#[derive(Debug)]
pub struct Data {
    /// Per kind (indexed by `Kind as usize`), per field, the column of every object's cell: a rule
    /// reading one field over many objects reads memory in order.
    columns: Vec<Vec<Vec<Cell>>>,
    /// Beside `columns`, the text columns with few distinct words, numbered.
    words: Vec<Vec<Option<Words>>>,
    /// Per relation (indexed as `schema::RELATIONS`).
    links: Vec<Links>,
    /// The organisation's bank holidays, as days of the common era, sorted: what working days
    /// skip besides weekends (`addWorkingDays`).
    holidays: Vec<i32>,
    /// The fields laid out; the others' columns are empty (every cell null).
    laid_out: Reads,
}

impl Data {
    pub fn from_estate(estate: &Estate) -> Data {
        Data::from_register_rows(|register| estate.rows(register))
    }

    /// An estate from rows held elsewhere (a test's fixtures, a database): `rows` gives each
    /// register's rows, the bank holidays register's among them.
    pub fn from_register_rows(rows: impl FnMut(Register) -> Vec<Row>) -> Data {
        Data::from_register_rows_reading(rows, Reads::every())
    }

    /// An estate from rows kept by register (a checked folder; a register may come in several
    /// parts), laying out only the fields `reads` names — the rest are let go with their rows:
    /// enough for rules that read no others ([`crate::Program::reads`]). Each register's rows are
    /// moved in whole, not one by one.
    pub fn from_registers_reading(registers: Vec<(Register, Vec<Row>)>, reads: Reads) -> Data {
        let mut by_register: std::collections::BTreeMap<Register, Vec<Row>> = Default::default();
        for (register, mut rows) in registers {
            let held = by_register.entry(register).or_default();
            if held.is_empty() {
                *held = rows;
            } else {
                held.append(&mut rows);
            }
        }
        Data::from_register_rows_reading(
            |register| by_register.remove(&register).unwrap_or_default(),
            reads,
        )
    }

    /// [`Data::from_register_rows`] laying out only the fields `reads` names.
    fn from_register_rows_reading(
        mut rows: impl FnMut(Register) -> Vec<Row>,
        reads: Reads,
    ) -> Data {
        let kinds: Vec<Vec<Row>> = Kind::ALL.iter().map(|k| rows(k.register())).collect();
        let mut data = Data::from_rows(kinds, reads);
        data.set_holidays(holiday_dates(&rows(Register::BankHolidays)));
        data
    }

    /// Whether every field `reads` names is laid out and every relation it follows resolved:
    /// rules reading no others decide here as over the whole estate.
    pub fn lays_out(&self, reads: &Reads) -> bool {
        self.laid_out.covers(reads)
    }

    /// The bank holidays working days skip, replacing those the rows gave (the caller's
    /// calendar, where the register is empty and a shipped one applies).
    pub fn set_holidays(&mut self, dates: impl IntoIterator<Item = chrono::NaiveDate>) {
        let mut days: Vec<i32> = dates
            .into_iter()
            .map(|d| chrono::Datelike::num_days_from_ce(&d))
            .collect();
        days.sort_unstable();
        days.dedup();
        self.holidays = days;
    }

    /// The bank holidays working days skip: those of the bank holidays register's `rows`.
    pub fn set_holiday_rows<'a>(&mut self, rows: impl IntoIterator<Item = &'a Row>) {
        self.set_holidays(holiday_dates(rows));
    }

    /// Whether any bank holiday is known.
    pub fn has_holidays(&self) -> bool {
        !self.holidays.is_empty()
    }

    /// Whether the day (of the common era) is a working day: neither a Saturday, a Sunday nor a
    /// bank holiday.
    pub(crate) fn is_working_day(&self, day: i32) -> bool {
        // Day 1 of the common era, 1 January of year 1, was a Monday.
        let weekday = (day - 1).rem_euclid(7);
        weekday < 5 && self.holidays.binary_search(&day).is_err()
    }

    /// An estate read register by register (from a database): `read` is asked for each kind's
    /// rows on a few threads side by side, the largest kinds first by `size` (an estimate), and
    /// hands them one at a time, in any order, to the function it is given, which lays each out
    /// at once ([`Layout`]): no kind's rows are held beside its columns. Only the fields `reads`
    /// names are laid out; `read` is given each kind's share of them to read no others. The
    /// bank holidays are the caller's to set.
    pub fn read_side_by_side<E: Send>(
        size: impl Fn(Kind) -> usize,
        read: impl Fn(Kind, &[bool], &mut dyn FnMut(&mut Vec<Value>)) -> Result<(), E> + Sync,
        reads: Reads,
    ) -> Result<Data, E> {
        // Only the kinds to be read are sized (a count of a big register is no free question).
        let wanted: Vec<Vec<bool>> = Kind::ALL.iter().map(|k| reads.of(*k)).collect();
        let sizes: Vec<usize> = Kind::ALL
            .iter()
            .zip(&wanted)
            .map(|(k, w)| if w.contains(&true) { size(*k) } else { 0 })
            .collect();
        let laid_out = side_by_side::map(
            Kind::ALL.to_vec(),
            side_by_side::threads(4),
            side_by_side::largest_first(|kind: &Kind| {
                sizes.get(*kind as usize).copied().unwrap_or(0)
            }),
            |kind: Kind| {
                let wanted = wanted.get(kind as usize).cloned().unwrap_or_default();
                if !wanted.contains(&true) {
                    // Nothing of this kind is read: not even its ids.
                    return Ok(lay_out(kind, Vec::new(), &wanted));
                }
                let size = sizes.get(kind as usize).copied().unwrap_or(0);
                let mut layout = Layout::new(kind, &wanted, size, Order::ById);
                read(kind, &wanted, &mut |values| layout.push(values))?;
                Ok(layout.finish())
            },
        );
        let laid_out = laid_out.into_iter().collect::<Result<Vec<_>, E>>()?;
        Ok(Data::link(laid_out, reads))
    }

    /// An estate from kinds laid out elsewhere, a row at a time as their files were read
    /// ([`Layout`]): a kind not among them has no objects. Columns laid out beyond the fields
    /// `reads` names (the reader's own needs, such as references it checked) are let go. The
    /// bank holidays are the caller's to set.
    pub fn from_laid_out(laid_out: Vec<LaidOut>, reads: Reads) -> Data {
        let mut kinds: Vec<Option<LaidOut>> = Kind::ALL.iter().map(|_| None).collect();
        for kind in laid_out {
            if let Some(slot) = kinds.get_mut(kind.kind as usize) {
                *slot = Some(kind);
            }
        }
        let laid_out = Kind::ALL
            .iter()
            .zip(kinds)
            .map(|(&kind, laid)| {
                let wanted = reads.of(kind);
                let Some(LaidOut {
                    mut columns,
                    mut words,
                    ..
                }) = laid
                else {
                    return lay_out(kind, Vec::new(), &wanted);
                };
                for (i, (column, words)) in columns.iter_mut().zip(&mut words).enumerate() {
                    if !wanted.get(i).copied().unwrap_or(false) {
                        *column = Vec::new();
                        *words = None;
                    }
                }
                (columns, words)
            })
            .collect();
        Data::link(laid_out, reads)
    }

    /// `rows[k]` holds the rows of `Kind::ALL[k]`'s register. Each value is moved into its
    /// column, not copied: at 100,000 people the estate is millions of cells.
    fn from_rows(rows: Vec<Vec<Row>>, reads: Reads) -> Data {
        // Kinds are laid out side by side, the largest first.
        let kinds: Vec<(Kind, Vec<Row>)> = Kind::ALL.iter().copied().zip(rows).collect();
        let laid_out = side_by_side::map(
            kinds,
            side_by_side::threads(4),
            side_by_side::largest_first(|(_, rows): &(Kind, Vec<Row>)| rows.len()),
            |(kind, rows): (Kind, Vec<Row>)| lay_out(kind, rows, &reads.of(kind)),
        );
        Data::link(laid_out, reads)
    }

    /// Every kind's columns (in `Kind::ALL`'s order), the relations `reads` follows resolved
    /// (side by side); the others are left without links.
    fn link(laid_out: Vec<(KindColumns, KindWords)>, reads: Reads) -> Data {
        let (columns, words): (Vec<KindColumns>, Vec<KindWords>) = laid_out.into_iter().unzip();
        let followed: Vec<(usize, &'static Relation)> = RELATIONS
            .iter()
            .enumerate()
            .filter(|(i, _)| reads.follows(*i))
            .collect();
        // An index of ids only for the kinds a followed relation looks ids up in: at 100,000
        // people, usage alone is 600,000 ids no relation looks up.
        let indexed: Vec<bool> = Kind::ALL
            .iter()
            .map(|k| followed.iter().any(|(_, r)| ids_looked_up(r) == Some(*k)))
            .collect();
        // Every row's first value is its id (or its derived key).
        let index: Vec<FastMap<&str, u32>> = side_by_side::map(
            columns.iter().zip(&indexed).collect(),
            side_by_side::threads(4),
            side_by_side::largest_first(|(fields, _): &(&KindColumns, &bool)| {
                fields.first().map_or(0, Vec::len)
            }),
            |(fields, indexed): (&KindColumns, &bool)| {
                let ids = fields.first().map_or(&[][..], Vec::as_slice);
                if !*indexed {
                    return FastMap::default();
                }
                let mut index = FastMap::with_capacity_and_hasher(ids.len(), Default::default());
                for (i, id) in ids.iter().enumerate() {
                    if let Some(id) = text(id) {
                        index.insert(id, i as u32);
                    }
                }
                index
            },
        );
        let count = |kind: Kind| column_len(&columns, kind);
        let column = |kind: Kind, name: &str| -> &[Cell] {
            kind.register()
                .field_index(name)
                .and_then(|f| columns.get(kind as usize)?.get(f))
                .map_or(&[], Vec::as_slice)
        };
        let empty = FastMap::default();

        let resolved = side_by_side::map(
            followed,
            side_by_side::threads(4),
            side_by_side::largest_first(|(_, r): &(usize, &Relation)| count(r.from) + count(r.to)),
            |(i, r): (usize, &Relation)| {
                let looked_up = ids_looked_up(r)
                    .and_then(|kind| index.get(kind as usize))
                    .unwrap_or(&empty);
                // Each link as (source, target), then laid out by source at once: no list of
                // its own per object.
                let mut pairs: Vec<(u32, u32)> = Vec::new();
                match r.join {
                    Join::Forward { field } => {
                        for (i, cell) in column(r.from, field).iter().enumerate() {
                            if let Some(&t) = text(cell).and_then(|id| looked_up.get(id)) {
                                pairs.push((i as u32, t));
                            }
                        }
                    }
                    Join::Reverse { field } => {
                        for (t, cell) in column(r.to, field).iter().enumerate() {
                            if let Some(&i) = text(cell).and_then(|id| looked_up.get(id)) {
                                pairs.push((i, t as u32));
                            }
                        }
                    }
                    Join::Same { field, target } => {
                        let mut by_value: FastMap<&str, Vec<u32>> = FastMap::default();
                        for (j, cell) in column(r.to, target).iter().enumerate() {
                            if let Some(v) = text(cell) {
                                by_value.entry(v).or_default().push(j as u32);
                            }
                        }
                        for (i, cell) in column(r.from, field).iter().enumerate() {
                            if let Some(targets) = text(cell).and_then(|v| by_value.get(v)) {
                                pairs.extend(targets.iter().map(|&t| (i as u32, t)));
                            }
                        }
                    }
                    Join::Exceptions => {
                        let kinds = column(r.to, "subject_type");
                        let ids = column(r.to, "subject_id");
                        for (t, (kind, id)) in kinds.iter().zip(ids).enumerate() {
                            if text(kind) == Some(r.from.name())
                                && let Some(&i) = text(id).and_then(|id| looked_up.get(id))
                            {
                                pairs.push((i, t as u32));
                            }
                        }
                    }
                }
                (i, Links::from_pairs(count(r.from), &pairs))
            },
        );
        let mut links: Vec<Links> = RELATIONS.iter().map(|_| Links::default()).collect();
        for (i, resolved) in resolved {
            if let Some(slot) = links.get_mut(i) {
                *slot = resolved;
            }
        }
        drop(index);
        Data {
            columns,
            words,
            links,
            holidays: Vec::new(),
            laid_out: reads,
        }
    }

    pub fn count(&self, kind: Kind) -> usize {
        column_len(&self.columns, kind)
    }

    /// The id (or derived key) of `kind`'s object `i`: its first field.
    pub fn id(&self, kind: Kind, i: u32) -> &str {
        text(self.cell(kind, i, 0)).unwrap_or("")
    }

    #[inline]
    pub(crate) fn cell(&self, kind: Kind, i: u32, field: usize) -> &Cell {
        static NULL: Cell = Cell::Null;
        self.columns
            .get(kind as usize)
            .and_then(|columns| columns.get(field))
            .and_then(|column| column.get(i as usize))
            .unwrap_or(&NULL)
    }

    /// Every object's cell for one field of `kind`, in index order.
    pub(crate) fn column(&self, kind: Kind, field: usize) -> &[Cell] {
        self.columns
            .get(kind as usize)
            .and_then(|columns| columns.get(field))
            .map_or(&[], Vec::as_slice)
    }

    /// The column's words as numbers, if it holds few enough distinct words.
    pub(crate) fn words(&self, kind: Kind, field: usize) -> Option<&Words> {
        self.words.get(kind as usize)?.get(field)?.as_ref()
    }

    pub(crate) fn links(&self, relation: usize, i: u32) -> &[u32] {
        self.links.get(relation).map_or(&[], |l| l.of(i))
    }
}

/// The kind whose ids resolving `r` looks up: the target's for a forward join, the source's for a
/// reverse one and for exceptions; none where it joins on values (`Same`).
fn ids_looked_up(r: &Relation) -> Option<Kind> {
    match r.join {
        Join::Forward { .. } => Some(r.to),
        Join::Reverse { .. } | Join::Exceptions => Some(r.from),
        Join::Same { .. } => None,
    }
}

/// One kind's rows as its columns, each value of a field `wanted` moved into its column; the
/// others' columns are left empty.
fn lay_out(kind: Kind, rows: Vec<Row>, wanted: &[bool]) -> (KindColumns, KindWords) {
    let mut layout = Layout::new(kind, wanted, rows.len(), Order::AsGiven);
    for row in rows {
        layout.push(&mut row.into_values());
    }
    layout.finish()
}

/// The order a kind's objects are laid out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// As the rows are given (a folder's files: their own order).
    AsGiven,
    /// By id, by bytes, as `ORDER BY id` orders them (a database's rows, read in the order
    /// they are stored, as the store's lists order them).
    ById,
}

/// One kind's columns being laid out a row at a time. A row's values are moved from the
/// buffer it is handed in, which its reader fills again: no list of the kind's rows need be held
/// beside its columns. In [`Order::ById`], rows that came out of order are put in order at the
/// end (rows stored in id order, the usual case, are not sorted at all).
pub struct Layout {
    kind: Kind,
    fields: &'static [steward_model::Field],
    columns: Vec<Option<ColumnBuilder>>,
    /// Whether the first (id) column is kept: laid out always, to put the rows in order.
    ids_wanted: bool,
    /// The last row's id while every row so far came in order.
    last_id: String,
    in_order: bool,
    order: Order,
}

impl Layout {
    /// For `kind`'s `wanted` fields, `size` rows expected.
    pub fn new(kind: Kind, wanted: &[bool], size: usize, order: Order) -> Layout {
        let fields = kind.register().fields();
        let columns = (0..fields.len())
            .map(|i| {
                let kept = wanted.get(i).copied().unwrap_or(false);
                (kept || (i == 0 && order == Order::ById)).then(|| ColumnBuilder::new(size))
            })
            .collect();
        Layout {
            kind,
            fields,
            columns,
            ids_wanted: wanted.first().copied().unwrap_or(false),
            last_id: String::new(),
            in_order: true,
            order,
        }
    }

    /// One row: one value per field, in field order (those not wanted are passed over). The
    /// values are taken; `values` is left empty.
    pub fn push(&mut self, values: &mut Vec<Value>) {
        if self.in_order && self.order == Order::ById {
            // Every id is at least the empty one the first row is compared with.
            let id = values.first().and_then(Value::as_text).unwrap_or("");
            if id.as_bytes() < self.last_id.as_bytes() {
                self.in_order = false;
            } else {
                self.last_id.clear();
                self.last_id.push_str(id);
            }
        }
        for ((column, field), value) in self
            .columns
            .iter_mut()
            .zip(self.fields)
            .zip(values.drain(..))
        {
            if let Some(column) = column {
                column.push(field.ty, value);
            }
        }
    }

    /// The kind laid out, to join the others in [`Data::from_laid_out`].
    pub fn laid_out(self) -> LaidOut {
        let kind = self.kind;
        let (columns, words) = self.finish();
        LaidOut {
            kind,
            columns,
            words,
        }
    }

    pub(crate) fn finish(self) -> (KindColumns, KindWords) {
        let mut columns: Vec<(Vec<Cell>, Option<Words>)> = self
            .columns
            .into_iter()
            .map(|c| c.map_or_else(|| (Vec::new(), None), ColumnBuilder::finish))
            .collect();
        if !self.in_order {
            let ids = columns
                .first()
                .map_or(&[][..], |(cells, _)| cells.as_slice());
            let mut order: Vec<u32> = (0..ids.len() as u32).collect();
            // Stable, as the sort of whole rows it stands for.
            order.sort_by(|&a, &b| {
                let id = |i: u32| ids.get(i as usize).and_then(text).unwrap_or("").as_bytes();
                id(a).cmp(id(b))
            });
            for (cells, words) in &mut columns {
                permute(cells, &order);
                if let Some(words) = words {
                    permute(&mut words.codes, &order);
                }
            }
        }
        if !self.ids_wanted
            && let Some(first) = columns.first_mut()
        {
            *first = (Vec::new(), None);
        }
        columns.into_iter().unzip()
    }
}

/// One kind's objects laid out by a [`Layout`]: its fields' columns.
#[derive(Debug)]
pub struct LaidOut {
    kind: Kind,
    columns: KindColumns,
    words: KindWords,
}

impl LaidOut {
    /// Field `field`'s text for every object, in order: `None` where the cell is not text (or
    /// the field was not laid out, when every cell is `None`, as many as there are objects).
    pub fn texts(&self, field: usize) -> impl Iterator<Item = Option<&str>> {
        let column = self.columns.get(field).map_or(&[][..], Vec::as_slice);
        let len = self.columns.first().map_or(0, Vec::len);
        let missing = if column.is_empty() { len } else { 0 };
        column
            .iter()
            .map(text)
            .chain(std::iter::repeat_n(None, missing))
    }
}

/// Puts `items` in `order`: afterwards `items[i]` is what was at `order[i]`. In place, a cycle at a
/// time. `order` must be a permutation of `items`' places; a column it does not cover (an
/// empty one, of a field not laid out) is left as it is.
fn permute<T>(items: &mut [T], order: &[u32]) {
    if items.len() != order.len() {
        return;
    }
    let mut placed = vec![false; order.len()];
    for start in 0..order.len() {
        if placed.get(start).copied().unwrap_or(true) {
            continue;
        }
        let mut at = start;
        loop {
            if let Some(p) = placed.get_mut(at) {
                *p = true;
            }
            let from = order.get(at).map_or(start, |&f| f as usize);
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// The dates of the bank holidays register's rows.
fn holiday_dates<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Vec<chrono::NaiveDate> {
    rows.into_iter()
        .filter_map(|r| match r.get("date") {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        })
        .collect()
}
