//! CSV in and out for every register, with line-exact errors.
//!
//! This crate owns the CSV interchange contract: parsing a register file into [`Row`]s, writing
//! rows back out, and checking every cell against the model's
//! [`FieldType`](steward_model::FieldType)s on the way in.
//!
//! The contract:
//!
//! * The header names exactly the register's CSV fields ([`Register::csv_fields`]), in any column
//!   order. Names are trimmed and case-sensitive. Optional fields may be left out; required ones
//!   may not. A derived field (the `key` of a register identified by several fields, such as
//!   usage's month and asset tag) is no column: it is computed from its parts for every row read,
//!   and never written.
//! * Each cell is trimmed of surrounding whitespace and parsed with [`Value::parse`]: dates are
//!   `YYYY-MM-DD`, timestamps RFC 3339, booleans `true`/`false`, money pounds to the penny. An
//!   empty cell is unknown, which only an optional field allows.
//! * Text a spreadsheet would run as a formula is guarded: a text cell (any type but numbers,
//!   money, dates, times and booleans) starting with `=`, `+`, `-`, `@`, tab or carriage return —
//!   or with `'`s before one of those — is written with one more `'` in front ([`guard`]), and
//!   reading takes exactly that `'` off again ([`unguard`]), so a round trip is byte-identical.
//!   Negative amounts are numbers and never guarded. [`Guard::Off`] turns both off.
//! * A file may start with a UTF-8 byte-order mark (Excel and Snipe-IT write one) and may use
//!   CRLF line endings. Blank lines are skipped.
//! * Ids (the register's first field), or the keys derived from several fields, are unique within
//!   a file; a duplicate key is reported on the key's first field. The model's rules across a
//!   row's fields hold ([`Row::problems`]: an asset's `assigned_on` needs an `assigned_to`, a
//!   person leaves after they start and does not manage themselves, a trip returns after it
//!   departs).
//!
//! Every problem is reported as a [`CsvError`], printed `FILE:LINE: column: value: reason`, where
//! `LINE` is the 1-based line the record starts on (the header is the first non-blank line,
//! normally line 1). [`read`] reports every problem it finds, not just the first.
//! [`group_errors`] groups them by file, column and reason for reading, and [`write_errors`]
//! writes them all as CSV. [`columns`] says in words what each column of a register takes.
//!
//! It must never:
//!
//! * touch a database or know what already exists in storage. Checks across files (does this
//!   `manager_id` name a person?) and against the database belong to the service layer;
//! * panic, whatever bytes it is given;
//! * echo input unescaped: values and column names in errors have control and bidirectional
//!   formatting characters escaped and are cut to 60 characters, so an error message cannot
//!   move the cursor, recolour a terminal or forge another line.

use std::io::{Read, Write};

use steward_model::{FieldType, Register, Row, Value};

mod columns;
mod errors;

pub use columns::{Column, columns, takes};
pub use errors::{ERROR_COLUMNS, ErrorGroup, Example, group_errors, write_errors};

/// Each id read so far and the line it was first seen on. Hashed with foldhash, seeded afresh
/// per file: SipHash was a tenth of reading a large file, and a seed the file's author cannot
/// know keeps crafted ids from colliding on purpose.
type IdLines = foldhash::HashMap<String, u64>;

/// A row read from a file, with the 1-based line number its record starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRow {
    pub line: u64,
    pub row: Row,
}

/// One problem with one cell (or a whole line / the header). Kept as JSON in an import job's
/// result, so the fields' names are part of what is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{file}:{line}: {column}: {value}: {reason}")]
pub struct CsvError {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// Why [`write`] could not write a register file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("could not write: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("row {index} is a row of {found}, not of {expected}")]
    WrongRegister {
        index: usize,
        expected: Register,
        found: Register,
    },
    #[error("row {index} has {found} values, {register} has {expected} fields")]
    Arity {
        index: usize,
        register: Register,
        expected: usize,
        found: usize,
    },
}

/// At most this many errors are listed; one more says how many were left out.
pub const MAX_ERRORS: usize = 1000;

/// Values and column names longer than this many characters are cut short in errors.
const MAX_SHOWN_CHARS: usize = 60;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads a register file. `file` is the name to put in errors (as the user gave it).
///
/// Returns every row, in file order, or every error found (up to [`MAX_ERRORS`], then one more
/// saying how many were suppressed). The whole input is read into memory first: register files
/// are small, and it lets every error name the line its record really starts on.
pub fn read(
    register: Register,
    file: &str,
    input: impl Read,
) -> Result<Vec<ParsedRow>, Vec<CsvError>> {
    read_with(register, file, input, Guard::On)
}

/// [`read`], taking the formula guard ([`unguard`]) off text cells or leaving them as they are.
pub fn read_with(
    register: Register,
    file: &str,
    input: impl Read,
    guard_cells: Guard,
) -> Result<Vec<ParsedRow>, Vec<CsvError>> {
    let mut rows = Vec::new();
    read_each(register, file, input, guard_cells, |line, row| {
        rows.push(ParsedRow { line, row });
    })?;
    Ok(rows)
}

/// [`read_with`], handing each row that passed every check to `each` with its line, in file
/// order, instead of keeping them: a reader that lays rows out as they come (`check --data`)
/// holds no list of them. Returns how many rows were handed over, or every error; once a
/// problem is found, rows are still checked (to report every problem) but no more are handed
/// over, so whatever `each` kept must be let go when this fails.
pub fn read_each(
    register: Register,
    file: &str,
    mut input: impl Read,
    guard_cells: Guard,
    each: impl FnMut(u64, Row),
) -> Result<usize, Vec<CsvError>> {
    let mut bytes = Vec::new();
    if let Err(e) = input.read_to_end(&mut bytes) {
        let mut errors = Errors::new(file);
        let mut lines = LineCounter::new(&bytes);
        errors.push(
            lines.line_at(bytes.len()),
            "",
            "",
            format!("could not read the file: {e}"),
        );
        return Err(errors.finish());
    }
    let rows = rows_to_reserve(&bytes);
    read_bytes_each(register, file, &bytes, rows, guard_cells, each)
}

/// [`read_each`] over a file already in memory (not copied again), room made for `rows` rows at
/// first: what the caller sized its own lists by ([`rows_to_reserve`]), so the file is not
/// counted twice.
pub fn read_bytes_each(
    register: Register,
    file: &str,
    bytes: &[u8],
    rows: usize,
    guard_cells: Guard,
    mut each: impl FnMut(u64, Row),
) -> Result<usize, Vec<CsvError>> {
    let mut errors = Errors::new(file);
    let data = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if data.starts_with(b"\xFF\xFE") || data.starts_with(b"\xFE\xFF") {
        errors.push(1, "", "", "the file is UTF-16; save it as CSV UTF-8");
        return Err(errors.finish());
    }

    let mut reader = Reader::new(data);
    let expected_header = field_names(register);

    let mut header = csv::ByteRecord::new();
    let Some(header_line) = reader.next(&mut header, &mut errors) else {
        if errors.is_empty() {
            errors.push(
                1,
                "",
                "",
                format!("the file is empty; expected a header line: {expected_header}"),
            );
        }
        return Err(errors.finish());
    };
    let columns = read_header(register, header_line, &header, &mut errors);

    let mut handed = 0;
    // Made at its size once, at most a row a line: grown row by row, every id already in it
    // was hashed again at each doubling (a twentieth of reading a 100,000-person folder).
    let mut first_seen =
        IdLines::with_capacity_and_hasher(rows, foldhash::fast::RandomState::default());
    // One record, reused for every row.
    let mut record = csv::ByteRecord::new();
    while let Some(line) = reader.next(&mut record, &mut errors) {
        if record.len() != columns.len() {
            let reason = format!("found {}, expected {}", cells(record.len()), columns.len());
            errors.push(line, "", "", reason);
            continue;
        }
        if let Some(row) = read_row(
            register,
            line,
            &record,
            &columns,
            guard_cells,
            &mut first_seen,
            &mut errors,
        ) && errors.is_empty()
        {
            each(line, row);
            handed += 1;
        }
    }

    if errors.is_empty() {
        Ok(handed)
    } else {
        Err(errors.finish())
    }
}

/// Whether cells a spreadsheet would run as formulas are guarded with a leading `'` on the way
/// out, and the guard taken off on the way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Guard {
    #[default]
    On,
    Off,
}

/// What makes a spreadsheet read a cell as a formula (or, for tab and carriage return, lets one
/// hide in front of it).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `text`, past any `'`s it starts with, starts as a formula would: such text gets one
/// more `'`, so that a `'` the text really starts with survives the guard being taken off.
fn needs_guard(text: &str) -> bool {
    text.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// A text cell as it is written out: with a leading `'` when a spreadsheet would otherwise read
/// it as a formula (`=HYPERLINK(…)` becomes `'=HYPERLINK(…)`), or when it already starts with
/// `'` before such a character. [`unguard`] undoes exactly this.
pub fn guard(text: &str) -> std::borrow::Cow<'_, str> {
    if needs_guard(text) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A text cell as read in: one leading `'` taken off when what follows it is what [`guard`]
/// guards, and nothing else touched.
pub fn unguard(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => text,
    }
}

/// Whether a field's cells are text a formula could hide in (and so guarded): every type that
/// reads as text. Numbers, money, dates, times and booleans are never guarded, so `-5.00` is
/// written as it is, and a spreadsheet reads it as the number it is.
fn guarded(ty: FieldType) -> bool {
    !matches!(
        ty,
        FieldType::Bool
            | FieldType::Date
            | FieldType::Timestamp
            | FieldType::Money
            | FieldType::Int
    )
}

/// Writes rows (all of `register`) with the header in the register's field order, derived fields
/// left out; each value is written as [`Value::to_text`] spells it, with `\n` line endings and
/// quotes only where needed, and text a spreadsheet would run as a formula guarded ([`guard`]).
///
/// Nothing is written if a row belongs to another register or has the wrong number of values.
pub fn write(register: Register, rows: &[Row], out: impl Write) -> Result<(), WriteError> {
    write_with(register, rows, out, Guard::On)
}

/// [`write`], with text cells guarded or not.
pub fn write_with(
    register: Register,
    rows: &[Row],
    out: impl Write,
    guard_cells: Guard,
) -> Result<(), WriteError> {
    let fields = register.fields();
    for (index, row) in rows.iter().enumerate() {
        if row.register() != register {
            return Err(WriteError::WrongRegister {
                index,
                expected: register,
                found: row.register(),
            });
        }
        if row.values().len() != fields.len() {
            return Err(WriteError::Arity {
                index,
                register,
                expected: fields.len(),
                found: row.values().len(),
            });
        }
    }
    let columns: Vec<usize> = register.csv_fields().map(|(i, _)| i).collect();
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    writer.write_record(register.csv_fields().map(|(_, f)| f.name))?;
    let mut record = csv::StringRecord::new();
    for row in rows {
        record.clear();
        for &i in &columns {
            match row.values().get(i) {
                Some(Value::Text(s)) if guard_cells == Guard::On => {
                    record.push_field(&guard(s));
                }
                Some(Value::Text(s)) => record.push_field(s),
                Some(other) => record.push_field(&other.to_text()),
                None => record.push_field(""),
            }
        }
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

/// Checks the header against the register's CSV fields; returns, for each column of the file, the
/// index among [`Register::fields`] of the field it holds (`None` for a column to ignore: unknown,
/// duplicate or unreadable).
fn read_header(
    register: Register,
    line: u64,
    header: &csv::ByteRecord,
    errors: &mut Errors,
) -> Vec<Option<usize>> {
    let fields = register.fields();
    let mut columns = Vec::with_capacity(header.len());
    let mut seen: Vec<Option<usize>> = vec![None; fields.len()];
    for (position, cell) in header.iter().enumerate() {
        let number = position + 1;
        let name = match std::str::from_utf8(cell) {
            Ok(name) => name.trim(),
            Err(_) => {
                errors.push(
                    line,
                    "",
                    String::from_utf8_lossy(cell).trim(),
                    "not valid UTF-8",
                );
                columns.push(None);
                continue;
            }
        };
        let index = register
            .csv_fields()
            .find(|(_, f)| f.name == name)
            .map(|(i, _)| i);
        match index {
            None if name.is_empty() => {
                let reason = format!(
                    "column {number} has no name; expected one of {}",
                    field_names(register)
                );
                errors.push(line, "", "", reason);
            }
            None => {
                let hint = register
                    .csv_fields()
                    .find(|(_, f)| f.name.eq_ignore_ascii_case(name))
                    .map(|(_, f)| format!(" (names are case-sensitive: did you mean {}?)", f.name))
                    .or_else(|| {
                        (!register.id_field().csv && name == register.id_field().name).then(|| {
                            format!(
                                " ({} is derived from {}, not a column)",
                                name,
                                key_names(register)
                            )
                        })
                    })
                    .unwrap_or_default();
                let reason = format!(
                    "unknown column{hint}; expected one of {}",
                    field_names(register)
                );
                errors.push(line, name, "", reason);
            }
            Some(i) => match seen.get(i).copied().flatten() {
                Some(first) => {
                    errors.push(
                        line,
                        name,
                        "",
                        format!("duplicate column: also column {first}"),
                    );
                    columns.push(None);
                    continue;
                }
                None => {
                    if let Some(slot) = seen.get_mut(i) {
                        *slot = Some(number);
                    }
                }
            },
        }
        columns.push(index);
    }
    for (field, seen) in fields.iter().zip(&seen) {
        if field.csv && field.required && seen.is_none() {
            errors.push(line, field.name, "", "required column is missing");
        }
    }
    columns
}

/// Parses one record's cells into a row, reporting each bad cell, a duplicate id (`first_seen`
/// maps each id to the line it was first seen on) and broken consistency rules. `None` if any.
fn read_row<'r>(
    register: Register,
    line: u64,
    record: &'r csv::ByteRecord,
    columns: &[Option<usize>],
    guard_cells: Guard,
    first_seen: &mut IdLines,
    errors: &mut Errors,
) -> Option<Row> {
    let fields = register.fields();
    let mut values = vec![Value::Null; fields.len()];
    // The record checked as UTF-8 once, its cells then cut from it (a cell ends at an ASCII
    // comma, quote or line break, never inside a character); where it is not, cell by cell,
    // so that the bad cell is the one named.
    let whole = std::str::from_utf8(record.as_slice()).ok();
    let cell_text = |j: usize, cell: &'r [u8]| -> Result<&'r str, std::str::Utf8Error> {
        match whole.and_then(|whole| whole.get(record.range(j)?)) {
            Some(text) => Ok(text),
            None => std::str::from_utf8(cell),
        }
    };
    let as_given = |ty: FieldType, text: &'r str| {
        if guard_cells == Guard::On && guarded(ty) {
            unguard(text.trim())
        } else {
            text.trim()
        }
    };
    // Field `index`'s cell as given, for errors and a key's empty parts: read again from the
    // record when asked, rather than kept for every row.
    let given = |index: usize| -> &'r str {
        let cell = columns
            .iter()
            .position(|c| *c == Some(index))
            .and_then(|j| Some(cell_text(j, record.get(j)?)));
        match (cell, fields.get(index)) {
            (Some(Ok(text)), Some(field)) => as_given(field.ty, text),
            _ => "",
        }
    };
    let mut ok = true;
    for (j, (cell, column)) in record.iter().zip(columns).enumerate() {
        let Some((index, field)) = column.and_then(|i| fields.get(i).map(|f| (i, f))) else {
            continue;
        };
        let text = match cell_text(j, cell) {
            Ok(text) => as_given(field.ty, text),
            Err(_) => {
                errors.push(
                    line,
                    field.name,
                    String::from_utf8_lossy(cell).trim(),
                    "not valid UTF-8",
                );
                ok = false;
                continue;
            }
        };
        match field.parse(text) {
            Ok(Value::Null) if field.required => {
                errors.push(line, field.name, text, "a value is required");
                ok = false;
            }
            Ok(value) => {
                if let Some(slot) = values.get_mut(index) {
                    *slot = value;
                }
            }
            Err(reason) => {
                errors.push(line, field.name, text, reason);
                ok = false;
            }
        }
    }
    // A derived key is only known when every part of it parsed (an optional part left empty
    // is known: it is empty).
    let key_parsed = register.key_indices().iter().all(|&i| {
        values.get(i).is_some_and(|v| !v.is_null())
            || (register.fields().get(i).is_some_and(|f| !f.required) && given(i).is_empty())
    });
    let row = Row::new(register, values).ok()?;
    if key_parsed {
        let id = row.id();
        // One look-up: taken or not, the id is hashed once.
        let seen = match first_seen.entry(id.to_owned()) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(free) => {
                free.insert(line);
                None
            }
        };
        if let Some(first) = seen {
            let (column, reason) = if register.has_derived_key() {
                let first_part = register.key_fields().next().map_or("", |f| f.name);
                (
                    first_part,
                    format!("duplicate key {}: first seen on line {first}", shown(id)),
                )
            } else {
                (
                    register.id_field().name,
                    format!("duplicate id: first seen on line {first}"),
                )
            };
            let text: &str = match register.field_index(column) {
                Some(i) => given(i),
                None => id,
            };
            errors.push(line, column, text, reason);
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    // Rules across fields that need nothing but the row live in the model, so that imports and
    // single writes apply the same ones. Only asked of rows whose every cell parsed.
    let problems = row.problems();
    if problems.is_empty() {
        return Some(row);
    }
    for (column, reason) in problems {
        let text = register.field_index(column).map_or("", given);
        errors.push(line, column, text, reason);
    }
    None
}

fn cells(n: usize) -> String {
    if n == 1 {
        "1 cell".to_owned()
    } else {
        format!("{n} cells")
    }
}

/// The register's CSV columns, comma-separated.
fn field_names(register: Register) -> String {
    register
        .csv_fields()
        .map(|(_, f)| f.name)
        .collect::<Vec<_>>()
        .join(",")
}

/// The fields a derived key is made of, comma-separated.
fn key_names(register: Register) -> String {
    register
        .key_fields()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(",")
}

/// The csv reader, with line numbers that are right: `csv::Position::line()` gives the line the
/// previous record ended on, which is wrong after blank lines, with CRLF endings, and after a
/// quoted cell spanning lines. Here the record's start is found by skipping the line breaks
/// that follow the previous record.
struct Reader<'a> {
    csv: csv::Reader<&'a [u8]>,
    lines: LineCounter<'a>,
    done: bool,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        Reader {
            csv,
            lines: LineCounter::new(data),
            done: false,
        }
    }

    /// Reads the next record into `record` (reused, so a row costs no allocation of its own)
    /// and returns the line it starts on; `None` at the end (or after a read error, which is
    /// reported).
    fn next(&mut self, record: &mut csv::ByteRecord, errors: &mut Errors) -> Option<u64> {
        if self.done {
            return None;
        }
        match self.csv.read_byte_record(record) {
            Ok(true) => {
                let offset = record.position().map_or(0, csv::Position::byte);
                let line = self
                    .lines
                    .record_start(usize::try_from(offset).unwrap_or(usize::MAX));
                Some(line)
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                let offset = usize::try_from(self.csv.position().byte()).unwrap_or(usize::MAX);
                errors.push(
                    self.lines.line_at(offset),
                    "",
                    "",
                    format!("could not read the file: {e}"),
                );
                None
            }
        }
    }
}

/// Counts line breaks (`\n`, `\r\n` or a lone `\r`) as the reader moves forward.
struct LineCounter<'a> {
    data: &'a [u8],
    offset: usize,
    line: u64,
    after_cr: bool,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> Self {
        LineCounter {
            data,
            offset: 0,
            line: 1,
            after_cr: false,
        }
    }

    /// The line of the record whose bytes start at `offset`, or after the line breaks there.
    fn record_start(&mut self, offset: usize) -> u64 {
        let rest = self.data.get(offset..).unwrap_or_default();
        let breaks = rest
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        self.line_at(offset.saturating_add(breaks))
    }

    /// The line that the byte at `offset` is on. Offsets must not go backwards.
    fn line_at(&mut self, offset: usize) -> u64 {
        let end = offset.min(self.data.len());
        if let Some(bytes) = self.data.get(self.offset..end) {
            if memchr::memchr(b'\r', bytes).is_none() {
                // The usual file, line feeds alone: counted a vector at a time.
                let feeds = line_feeds(bytes) as u64;
                let after_cr = self.after_cr;
                self.after_cr = bytes.is_empty() && after_cr;
                // A line feed just after a carriage return ends the same line.
                let skipped = u64::from(after_cr && bytes.first() == Some(&b'\n'));
                self.line += feeds - skipped;
                self.offset = end;
                return self.line;
            }
            for &b in bytes {
                match b {
                    b'\n' if self.after_cr => {}
                    b'\n' | b'\r' => self.line += 1,
                    _ => {}
                }
                self.after_cr = b == b'\r';
            }
            self.offset = end;
        }
        self.line
    }
}

/// How many line feeds `bytes` holds, counted a vector at a time.
fn line_feeds(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// How many rows to make room for, at once, for a CSV file of `bytes`: one per line, but never
/// more than one per 32 bytes (the shortest register's rows are about that long), so that a file
/// of blank lines cannot make a reservation many times its size. Too few is only slower.
pub fn rows_to_reserve(bytes: &[u8]) -> usize {
    line_feeds(bytes).min(bytes.len() / 32)
}

/// The errors found so far, capped at [`MAX_ERRORS`].
struct Errors<'a> {
    file: &'a str,
    list: Vec<CsvError>,
    suppressed: u64,
    first_suppressed_line: u64,
}

impl<'a> Errors<'a> {
    fn new(file: &'a str) -> Self {
        Errors {
            file,
            list: Vec::new(),
            suppressed: 0,
            first_suppressed_line: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn push(&mut self, line: u64, column: &str, value: &str, reason: impl Into<String>) {
        if self.list.len() >= MAX_ERRORS {
            if self.suppressed == 0 {
                self.first_suppressed_line = line;
            }
            self.suppressed += 1;
            return;
        }
        self.list.push(CsvError {
            file: self.file.to_owned(),
            line,
            column: shown(column),
            value: shown(value),
            reason: reason.into(),
        });
    }

    fn finish(mut self) -> Vec<CsvError> {
        if self.suppressed > 0 {
            self.list.push(CsvError {
                file: self.file.to_owned(),
                line: self.first_suppressed_line,
                column: String::new(),
                value: String::new(),
                reason: format!(
                    "{} more errors not shown, from this line on (only the first {MAX_ERRORS} are listed)",
                    self.suppressed
                ),
            });
        }
        self.list
    }
}

/// Input text made safe to print in one line of an error: at most [`MAX_SHOWN_CHARS`]
/// characters (then `…`), with control and invisible formatting characters escaped.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * MAX_SHOWN_CHARS));
    let mut chars = text.chars();
    for c in chars.by_ref().take(MAX_SHOWN_CHARS) {
        if needs_escape(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Control characters, and the format characters that reorder or hide text (bidirectional
/// overrides, zero-width characters, line and paragraph separators, the byte-order mark).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_and_truncates() {
        assert_eq!(shown("plain O'Brien \"x\" \\"), "plain O'Brien \"x\" \\");
        assert_eq!(shown("a\nb\u{1b}[31m\u{202e}"), "a\\nb\\u{1b}[31m\\u{202e}");
        let long = "x".repeat(61);
        assert_eq!(shown(&long), format!("{}…", "x".repeat(60)));
        assert_eq!(shown(&"é".repeat(60)), "é".repeat(60));
    }

    #[test]
    fn line_counter_counts_every_kind_of_break() {
        let data = b"a\r\nb\rc\nd";
        let mut lines = LineCounter::new(data);
        assert_eq!(lines.line_at(0), 1);
        assert_eq!(lines.line_at(3), 2);
        assert_eq!(lines.line_at(5), 3);
        assert_eq!(lines.line_at(7), 4);
        assert_eq!(lines.line_at(100), 4);
        assert_eq!(lines.line_at(2), 4, "never goes backwards");
    }

    /// Room for a row a line, but a file of blank lines (or of nothing but line breaks) makes
    /// no reservation larger than a row per 32 bytes.
    #[test]
    fn rows_are_reserved_by_the_line_but_not_for_blank_lines() {
        let people =
            "id,name\nP1,Ann Example of Somewhere Long\nP2,Bob Example of Somewhere Long\n";
        assert_eq!(super::rows_to_reserve(people.as_bytes()), 2);
        let blank = vec![b'\n'; 1 << 20];
        assert_eq!(super::rows_to_reserve(&blank), (1 << 20) / 32);
        assert_eq!(super::rows_to_reserve(b""), 0);
        assert_eq!(super::rows_to_reserve(&vec![b'x'; 4096]), 0);
    }

    /// Every text of up to seven bytes of `a`, `\r` and `\n`, asked at every three offsets in
    /// turn, gives the line the plain definition does: one more than the breaks before the
    /// offset, a line feed just after a carriage return not counting again.
    #[test]
    fn line_counter_agrees_with_the_definition_however_it_is_asked() {
        let line = |data: &[u8], offset: usize| -> u64 {
            let breaks = (0..offset.min(data.len()))
                .filter(|&j| match data[j] {
                    b'\r' => true,
                    b'\n' => j == 0 || data[j - 1] != b'\r',
                    _ => false,
                })
                .count();
            1 + breaks as u64
        };
        // Every text of each length: the digits of every number below 3^length, base 3.
        let texts: Vec<Vec<u8>> = (0..=7u32)
            .flat_map(|len| {
                (0..3usize.pow(len)).map(move |n| {
                    (0..len)
                        .map(|d| [b'a', b'\r', b'\n'][n / 3usize.pow(d) % 3])
                        .collect()
                })
            })
            .collect();
        let mut compared = 0;
        for data in &texts {
            let ends = data.len() + 1;
            for (first, second, third) in (0..=ends)
                .flat_map(|a| (a..=ends).flat_map(move |b| (b..=ends).map(move |c| (a, b, c))))
            {
                let mut lines = LineCounter::new(data);
                for at in [first, second, third] {
                    assert_eq!(
                        lines.line_at(at),
                        line(data, at),
                        "{data:?} at {first}, {second}, {third}"
                    );
                }
                compared += 1;
            }
        }
        assert!(compared > 10_000, "{compared}");
    }
}
