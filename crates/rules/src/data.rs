//! The estate laid out for evaluation: every object's fields converted once to the rule
//! language's types, and every relation resolved once to indices.

use std::collections::HashMap;

use steward_model::{Estate, FieldType, Register, Row, Value};

use crate::schema::{Join, Kind, RELATIONS};

/// A field value as rules see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    Double(f64),
    Str(String),
    /// Microseconds since the Unix epoch, UTC.
    Ts(i64),
    Int(i64),
    /// A list of words, such as a travel request's countries.
    Strs(Vec<String>),
}

fn cell(ty: FieldType, value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Text(s) if ty == FieldType::Countries => Cell::Strs(
            s.split(';')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Value::Text(s) => Cell::Str(s.clone()),
        Value::Int(i) => Cell::Int(*i),
        Value::Bool(b) => Cell::Bool(*b),
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
    pub(crate) fn of(&self, i: u32) -> &[u32] {
        let i = i as usize;
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&a), Some(&b)) => self.targets.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// A text column with few distinct words, also held as numbers: comparing a word then costs what
/// comparing an enum does.
#[derive(Debug, Default)]
pub(crate) struct Words {
    /// Each object's word number; [`Words::NONE`] for anything but text.
    pub codes: Vec<u32>,
    numbers: HashMap<String, u32>,
}

impl Words {
    pub const NONE: u32 = u32::MAX;
    /// Beyond this many distinct words (ids, names), a column is left as text.
    const MOST: usize = 4096;

    fn of(column: &[Cell]) -> Option<Words> {
        let mut words = Words::default();
        for cell in column {
            let code = match cell {
                Cell::Str(s) => match words.numbers.get(s.as_str()) {
                    Some(&n) => n,
                    None => {
                        if words.numbers.len() >= Words::MOST {
                            return None;
                        }
                        let n = words.numbers.len() as u32;
                        words.numbers.insert(s.clone(), n);
                        n
                    }
                },
                _ => Words::NONE,
            };
            words.codes.push(code);
        }
        words.numbers.values().next()?;
        Some(words)
    }

    /// The number of `word`, or [`Words::NONE`] if no object has it.
    pub fn number(&self, word: &str) -> u32 {
        self.numbers.get(word).copied().unwrap_or(Words::NONE)
    }
}

/// An estate ready to be checked.
#[derive(Debug, Default)]
pub struct Data {
    /// Per kind (indexed by `Kind as usize`), per field, the column of every object's cell: a rule
    /// reading one field over many objects reads memory in order.
    columns: Vec<Vec<Vec<Cell>>>,
    /// Beside `columns`, the text columns with few distinct words, numbered.
    words: Vec<Vec<Option<Words>>>,
    /// Per relation (indexed as `schema::RELATIONS`).
    links: Vec<Links>,
    ids: Vec<Vec<String>>,
    /// The organisation's bank holidays, as days of the common era, sorted: what working days
    /// skip besides weekends (`addWorkingDays`).
    holidays: Vec<i32>,
}

impl Data {
    pub fn from_estate(estate: &Estate) -> Data {
        let rows: Vec<Vec<Row>> = Kind::ALL
            .iter()
            .map(|k| estate.rows(k.register()))
            .collect();
        let mut data = Data::from_rows(&rows);
        data.set_holidays(holiday_dates(&estate.rows(Register::BankHolidays)));
        data
    }

    /// An estate from rows held elsewhere (a test's fixtures, a database): `rows` gives each
    /// register's rows, the bank holidays register's among them.
    pub fn from_register_rows(mut rows: impl FnMut(Register) -> Vec<Row>) -> Data {
        let kinds: Vec<Vec<Row>> = Kind::ALL.iter().map(|k| rows(k.register())).collect();
        let mut data = Data::from_rows(&kinds);
        data.set_holidays(holiday_dates(&rows(Register::BankHolidays)));
        data
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

    /// `rows[k]` holds the rows of `Kind::ALL[k]`'s register.
    fn from_rows(rows: &[Vec<Row>]) -> Data {
        let objects: Vec<Vec<Vec<Cell>>> = rows
            .iter()
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        let fields = r.register().fields();
                        fields
                            .iter()
                            .zip(r.values())
                            .map(|(f, v)| cell(f.ty, v))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let ids: Vec<Vec<String>> = rows
            .iter()
            .map(|rs| rs.iter().map(|r| r.id().to_owned()).collect())
            .collect();
        let index: Vec<HashMap<&str, u32>> = ids
            .iter()
            .map(|kind_ids| {
                kind_ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (id.as_str(), i as u32))
                    .collect()
            })
            .collect();
        let field_of = |kind: Kind, name: &str| kind.register().field_index(name);

        let links = RELATIONS
            .iter()
            .map(|r| {
                let from = &objects[r.from as usize];
                let mut lists: Vec<Vec<u32>> = vec![Vec::new(); from.len()];
                match r.join {
                    Join::Forward { field } => {
                        if let Some(f) = field_of(r.from, field) {
                            for (i, cells) in from.iter().enumerate() {
                                if let Some(Cell::Str(id)) = cells.get(f)
                                    && let Some(&t) = index[r.to as usize].get(id.as_str())
                                {
                                    lists[i].push(t);
                                }
                            }
                        }
                    }
                    Join::Reverse { field } => {
                        if let Some(f) = field_of(r.to, field) {
                            for (t, cells) in objects[r.to as usize].iter().enumerate() {
                                if let Some(Cell::Str(id)) = cells.get(f)
                                    && let Some(&i) = index[r.from as usize].get(id.as_str())
                                {
                                    lists[i as usize].push(t as u32);
                                }
                            }
                        }
                    }
                    Join::Same { field, target } => {
                        if let (Some(f), Some(t)) =
                            (field_of(r.from, field), field_of(r.to, target))
                        {
                            let mut by_value: HashMap<&str, Vec<u32>> = HashMap::new();
                            for (j, cells) in objects[r.to as usize].iter().enumerate() {
                                if let Some(Cell::Str(v)) = cells.get(t) {
                                    by_value.entry(v.as_str()).or_default().push(j as u32);
                                }
                            }
                            for (i, cells) in from.iter().enumerate() {
                                if let Some(Cell::Str(v)) = cells.get(f)
                                    && let Some(targets) = by_value.get(v.as_str())
                                {
                                    lists[i].extend_from_slice(targets);
                                }
                            }
                        }
                    }
                    Join::Exceptions => {
                        let (Some(ty), Some(id)) =
                            (field_of(r.to, "subject_type"), field_of(r.to, "subject_id"))
                        else {
                            return Links::default();
                        };
                        for (t, cells) in objects[r.to as usize].iter().enumerate() {
                            if let (Some(Cell::Str(kind)), Some(Cell::Str(id))) =
                                (cells.get(ty), cells.get(id))
                                && kind == r.from.name()
                                && let Some(&i) = index[r.from as usize].get(id.as_str())
                            {
                                lists[i as usize].push(t as u32);
                            }
                        }
                    }
                }
                let mut links = Links {
                    starts: Vec::with_capacity(lists.len() + 1),
                    targets: Vec::new(),
                };
                links.starts.push(0);
                for l in lists {
                    links.targets.extend(l);
                    links.starts.push(links.targets.len() as u32);
                }
                links
            })
            .collect();
        let columns: Vec<Vec<Vec<Cell>>> = Kind::ALL
            .iter()
            .zip(objects)
            .map(|(kind, objs)| {
                let width = kind.register().fields().len();
                let mut columns: Vec<Vec<Cell>> =
                    (0..width).map(|_| Vec::with_capacity(objs.len())).collect();
                for cells in objs {
                    for (column, cell) in columns.iter_mut().zip(cells) {
                        column.push(cell);
                    }
                }
                columns
            })
            .collect();
        let words = columns
            .iter()
            .map(|fields: &Vec<Vec<Cell>>| fields.iter().map(|c| Words::of(c)).collect())
            .collect();
        Data {
            columns,
            words,
            links,
            ids,
            holidays: Vec::new(),
        }
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.ids.get(kind as usize).map_or(0, Vec::len)
    }

    pub fn id(&self, kind: Kind, i: u32) -> &str {
        self.ids
            .get(kind as usize)
            .and_then(|ids| ids.get(i as usize))
            .map_or("", String::as_str)
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

/// The dates of the bank holidays register's rows.
fn holiday_dates(rows: &[Row]) -> Vec<chrono::NaiveDate> {
    rows.iter()
        .filter_map(|r| match r.get("date") {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        })
        .collect()
}
