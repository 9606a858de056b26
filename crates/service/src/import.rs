//! Importing register files: parse every file, check every reference against the files and the
//! database, and commit everything in one transaction — or change nothing and list every error.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use steward_interchange::{CsvError, Guard, ParsedRow};
use steward_model::{BudgetCentre, Record, Register, Row, Value, side_by_side};
use steward_rules::{Kind, LaidOut, Layout, Order, Reads};
use steward_store::{CommitSummary, Store};

use crate::governance::fill_training_expiry;
use crate::{Result, ServiceError, Stamp, Steward};

/// One file to import, already read into memory.
#[derive(Debug, Clone)]
pub struct ImportFile {
    pub register: Register,
    /// How errors name the file: the path as the user gave it.
    pub label: String,
    pub bytes: Vec<u8>,
}

impl ImportFile {
    /// Every register of `estate` as the CSV file an import reads: the demo organisation, a
    /// test's estate.
    pub fn of_estate(
        estate: &steward_model::Estate,
    ) -> std::result::Result<Vec<ImportFile>, steward_interchange::WriteError> {
        Register::ALL
            .iter()
            .map(|r| {
                let mut bytes = Vec::new();
                steward_interchange::write(*r, &estate.rows(*r), &mut bytes)?;
                Ok(ImportFile {
                    register: *r,
                    label: r.file_name(),
                    bytes,
                })
            })
            .collect()
    }

    pub fn read(register: Register, path: &Path) -> Result<ImportFile> {
        let bytes = std::fs::read(path).map_err(|source| ServiceError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(ImportFile {
            register,
            label: path.display().to_string(),
            bytes,
        })
    }

    /// Every known register file in a folder (`people.csv`, `assets.csv`, …), in dependency order.
    /// Read side by side, the largest first: copying a large folder into memory page by page
    /// was a fifth of a second at 100,000 people before anything else could start.
    pub fn folder(dir: &Path) -> Result<Vec<ImportFile>> {
        let present: Vec<(Register, std::path::PathBuf, u64)> = Register::ALL
            .iter()
            .map(|r| (*r, dir.join(r.file_name())))
            .filter_map(|(r, path)| {
                let meta = std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
                Some((r, path, meta.len()))
            })
            .collect();
        let files = side_by_side::map(
            present,
            side_by_side::threads(4),
            side_by_side::largest_first(|(_, _, size): &(Register, std::path::PathBuf, u64)| {
                usize::try_from(*size).unwrap_or(usize::MAX)
            }),
            |(register, path, _)| ImportFile::read(register, &path),
        )
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        if files.is_empty() {
            let known = Register::ALL
                .iter()
                .map(|r| r.file_name())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ServiceError::Read {
                path: dir.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no register files here (looked for {known})"),
                ),
            });
        }
        Ok(files)
    }
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub files: Vec<(String, usize)>,
    /// Budget centres named by rows but not yet registered: created with their code as name.
    pub created_budget_centres: Vec<String>,
    pub summary: CommitSummary,
}

/// Ids known to a register, hashed with foldhash (seeded afresh per set, so ids written to
/// collide cannot be): SipHash was a tenth of checking a large folder.
type IdSet<'a> = foldhash::HashSet<&'a str>;

struct Parsed {
    register: Register,
    label: String,
    held: Held,
}

/// A file's rows once read: kept as rows (what an import writes), or laid out for the rules as
/// they were read (a folder checked, where rows would only be laid out and let go), each row's
/// line kept to name it in errors.
enum Held {
    Rows(Vec<ParsedRow>),
    LaidOut { laid_out: LaidOut, lines: Vec<u64> },
}

impl Parsed {
    fn len(&self) -> usize {
        match &self.held {
            Held::Rows(rows) => rows.len(),
            Held::LaidOut { lines, .. } => lines.len(),
        }
    }

    /// Every row's id (or derived key).
    fn ids(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match &self.held {
            Held::Rows(rows) => Box::new(rows.iter().map(|r| r.row.id())),
            Held::LaidOut { laid_out, .. } => {
                Box::new(laid_out.texts(0).map(Option::unwrap_or_default))
            }
        }
    }

    /// Every row's line, with its text in field `field` (`None` for any other value).
    fn texts(&self, field: usize) -> Box<dyn Iterator<Item = (u64, Option<&str>)> + '_> {
        match &self.held {
            Held::Rows(rows) => Box::new(rows.iter().map(move |r| {
                let text = r.row.values().get(field).and_then(Value::as_text);
                (r.line, text)
            })),
            Held::LaidOut { laid_out, lines } => {
                Box::new(lines.iter().copied().zip(laid_out.texts(field)))
            }
        }
    }
}

/// A file read: its rows, or its errors.
type ReadFile = (Parsed, Option<Vec<CsvError>>);

/// How a check keeps the rows it read: as rows to write, or laid out for the rules reading
/// `Reads` (the registers the rules know; the others are kept as rows).
#[derive(Clone, Copy)]
enum Keep<'r> {
    Rows,
    LaidOut(&'r Reads),
}

/// Reads the files, each on its own, on up to four threads (no more than the machine's cores),
/// largest first: a folder's files are independent, and one of them is often half the bytes.
/// Each file's bytes are let go as soon as it is read. The results come back in the files'
/// order, so errors are listed as if the files were read one by one. Values derived from other
/// registers (training's expiry, from `derive`) are filled in as each row is read.
fn read_side_by_side(
    files: Vec<ImportFile>,
    guard: Guard,
    keep: Keep<'_>,
    derive: &(dyn Fn(&mut Row) + Sync),
) -> Vec<ReadFile> {
    let largest_first = side_by_side::largest_first(|f: &ImportFile| f.bytes.len());
    side_by_side::map(files, side_by_side::threads(4), largest_first, |file| {
        let kind = match keep {
            Keep::LaidOut(reads) => Kind::of_register(file.register).map(|k| (k, reads)),
            Keep::Rows => None,
        };
        // A row a line, near enough, so the lists are made at their size; but no more than a
        // cap, past which they grow as rows come: a file of blank lines holds no rows to reserve
        // memory for.
        let size = steward_interchange::rows_to_reserve(&file.bytes).min(MOST_ROWS_RESERVED);
        let mut keeping = match kind {
            None => Keeping::Rows(Vec::new()),
            Some((kind, reads)) => {
                // The fields the rules read, and those the checks below read: the id and every
                // reference.
                let mut wanted = reads.of(kind);
                for (w, (i, field)) in wanted
                    .iter_mut()
                    .zip(file.register.fields().iter().enumerate())
                {
                    *w |= i == 0 || field.refers_to.is_some();
                }
                let layout = Layout::new(kind, &wanted, size, Order::AsGiven);
                Keeping::Layout(layout, Vec::with_capacity(size))
            }
        };
        let read = steward_interchange::read_bytes_each(
            file.register,
            &file.label,
            &file.bytes,
            size,
            guard,
            |line, mut row| {
                derive(&mut row);
                keeping.push(line, row);
            },
        );
        let held = keeping.held();
        let (held, errors) = match read {
            Ok(_) => (held, None),
            Err(errors) => (Held::Rows(Vec::new()), Some(errors)),
        };
        let parsed = Parsed {
            register: file.register,
            label: file.label,
            held,
        };
        (parsed, errors)
    })
}

/// A file's rows being kept as they are read: as rows, or laid out with their lines.
enum Keeping {
    Rows(Vec<ParsedRow>),
    Layout(Layout, Vec<u64>),
}

impl Keeping {
    fn push(&mut self, line: u64, row: Row) {
        match self {
            Keeping::Rows(rows) => rows.push(ParsedRow { line, row }),
            Keeping::Layout(layout, lines) => {
                layout.push(&mut row.into_values());
                lines.push(line);
            }
        }
    }

    fn held(self) -> Held {
        match self {
            Keeping::Rows(rows) => Held::Rows(rows),
            Keeping::Layout(layout, lines) => Held::LaidOut {
                laid_out: layout.laid_out(),
                lines,
            },
        }
    }
}

/// The most rows a file's columns are first made for: eight million, beyond the largest
/// register of a 300,000-person organisation (1.8 million months of usage).
const MOST_ROWS_RESERVED: usize = 1 << 23;

pub(crate) fn import(
    steward: &Steward,
    stamp: &Stamp,
    files: Vec<ImportFile>,
    guard: Guard,
) -> Result<ImportReport> {
    let started = std::time::Instant::now();
    // Refused before reading a cell: a register the authority may not import into.
    for file in &files {
        stamp.authorise(file.register, crate::Operation::Import)?;
    }
    let mut checked = check(steward, files, guard)?;
    // Every row written, the budget centres an import creates among them, within the authority.
    for row in checked.rows() {
        steward.authorise_row(stamp, row, crate::Operation::Import)?;
    }
    let store = steward.store();
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        rows = checked.len(),
        "import parsed and checked"
    );
    let files = std::mem::take(&mut checked.files);
    let created_budget_centres = std::mem::take(&mut checked.created_budget_centres);
    let summary = store.commit(&stamp.actor, stamp.at, checked.into_rows())?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "import committed"
    );
    Ok(ImportReport {
        files,
        created_budget_centres,
        summary,
    })
}

/// Files that passed every check an import makes, and the rows they hold (with any budget centre
/// they name but nobody registered), ready to commit or to evaluate.
pub struct CheckedFiles {
    pub files: Vec<(String, usize)>,
    pub created_budget_centres: Vec<String>,
    /// The rows by register, in the order they are written: the budget centres the import
    /// creates first, then each file's in the registers' order.
    pub registers: Vec<(Register, Vec<Row>)>,
    /// The registers laid out for the rules as they were read, when a check asked for that
    /// ([`crate::Steward::check_files_laid_out`]); their rows are not among `registers`.
    pub laid_out: Vec<LaidOut>,
}

impl CheckedFiles {
    /// Every row, in the order they are written.
    pub fn rows(&self) -> impl DoubleEndedIterator<Item = &Row> {
        self.registers.iter().flat_map(|(_, rows)| rows)
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.registers.iter().map(|(_, rows)| rows.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every row, in the order they are written: what a commit takes.
    pub fn into_rows(self) -> Vec<Row> {
        let mut rows = Vec::with_capacity(self.len());
        for (_, mut group) in self.registers {
            rows.append(&mut group);
        }
        rows
    }
}

/// Every check an import makes, against the files and what `store` holds, without writing.
pub(crate) fn check(
    steward: &Steward,
    files: Vec<ImportFile>,
    guard: Guard,
) -> Result<CheckedFiles> {
    check_keeping(steward, files, guard, Keep::Rows)
}

/// [`check`], the registers the rules know laid out for them as they are read (only the fields
/// `reads` names are kept): what checking a folder evaluates, without its rows ever held.
pub(crate) fn check_laid_out(
    steward: &Steward,
    files: Vec<ImportFile>,
    reads: &Reads,
) -> Result<CheckedFiles> {
    check_keeping(steward, files, Guard::On, Keep::LaidOut(reads))
}

fn check_keeping(
    steward: &Steward,
    files: Vec<ImportFile>,
    guard: Guard,
    keep: Keep<'_>,
) -> Result<CheckedFiles> {
    let store = steward.store();
    let mut errors: Vec<CsvError> = Vec::new();
    let mut seen: HashMap<Register, String> = HashMap::new();
    let mut to_read: Vec<ImportFile> = Vec::new();
    for file in files {
        if let Some(first) = seen.get(&file.register) {
            errors.push(CsvError {
                file: file.label.clone(),
                line: 1,
                column: String::new(),
                value: String::new(),
                reason: format!(
                    "{} is also imported from {first}; import one file per register",
                    file.register
                ),
            });
            continue;
        }
        seen.insert(file.register, file.label.clone());
        to_read.push(file);
    }
    let started = std::time::Instant::now();
    // Training's expiry is derived from its course: the courses file (a short one) is read
    // first, so that each training row is completed as it is read. Results are kept in the
    // files' order, so errors are listed as if the files were read one by one.
    let (courses, others): (Vec<_>, Vec<_>) = to_read
        .into_iter()
        .enumerate()
        .partition(|(_, f)| f.register == Register::Courses);
    let (courses_at, courses): (Vec<usize>, Vec<ImportFile>) = courses.into_iter().unzip();
    let (others_at, others): (Vec<usize>, Vec<ImportFile>) = others.into_iter().unzip();
    let training = others.iter().any(|f| f.register == Register::Training);
    let mut read: Vec<(usize, ReadFile)> = courses_at
        .into_iter()
        .zip(read_side_by_side(courses, guard, keep, &|_| {}))
        .collect();
    let months = if training {
        let courses = read.iter().flat_map(|(_, (p, _))| match &p.held {
            Held::Rows(rows) => rows.as_slice(),
            Held::LaidOut { .. } => &[],
        });
        steward.course_recurrence(courses.map(|r| &r.row))?
    } else {
        HashMap::new()
    };
    let derive = |row: &mut Row| {
        if !months.is_empty() {
            fill_training_expiry(std::slice::from_mut(row), &|course| {
                months.get(course).copied()
            });
        }
    };
    read.extend(
        others_at
            .into_iter()
            .zip(read_side_by_side(others, guard, keep, &derive)),
    );
    read.sort_by_key(|(at, _)| *at);
    let mut parsed: Vec<Parsed> = Vec::new();
    for (_, (file, file_errors)) in read {
        errors.extend(file_errors.into_iter().flatten());
        parsed.push(file);
    }
    parsed.sort_by_key(|p| Register::ALL.iter().position(|r| *r == p.register));
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "import files parsed"
    );

    // Ids each register will hold after the import: the files' plus the database's (loaded once,
    // only for registers something refers to).
    // Borrowed, not copied: at 100,000 people these are millions of ids.
    let targets: BTreeSet<Register> = parsed
        .iter()
        .flat_map(|p| p.register.fields().iter().filter_map(|f| f.refers_to))
        .collect();
    let stored: Vec<(Register, Vec<String>)> = targets
        .into_iter()
        .map(|target| Ok((target, store.ids(target)?)))
        .collect::<Result<_>>()?;
    // Only the registers something refers to: at 100,000 people the others (usage, sightings,
    // training) are a million ids no reference looks up. Each set is built on a thread of its
    // own, and each file's references are then looked up on its own.
    let sized = |(target, ids): &&(Register, Vec<String>)| {
        ids.len() + parsed_of(&parsed, *target).map_or(0, Parsed::len)
    };
    let known: HashMap<Register, IdSet<'_>> = side_by_side::map(
        stored.iter().collect(),
        side_by_side::threads(4),
        side_by_side::largest_first(sized),
        |(target, ids)| {
            let in_file = parsed_of(&parsed, *target);
            let mut set = IdSet::with_capacity_and_hasher(
                in_file.map_or(0, Parsed::len) + ids.len(),
                Default::default(),
            );
            if let Some(in_file) = in_file {
                set.extend(in_file.ids());
            }
            set.extend(ids.iter().map(String::as_str));
            (*target, set)
        },
    )
    .into_iter()
    .collect();

    let looked_up = side_by_side::map(
        parsed.iter().collect(),
        side_by_side::threads(4),
        side_by_side::largest_first(|p: &&Parsed| p.len()),
        |p| unknown_references(p, &known),
    );
    let mut new_budget_centres: BTreeSet<String> = BTreeSet::new();
    for (p, (file_errors, budget_centres)) in parsed.iter().zip(looked_up) {
        errors.extend(file_errors);
        new_budget_centres.extend(budget_centres);
        if p.register == Register::People {
            errors.extend(manager_loops(store, p)?);
        }
    }

    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "import references looked up"
    );
    if !errors.is_empty() {
        return Err(ServiceError::Import(errors));
    }

    let files = parsed.iter().map(|p| (p.label.clone(), p.len())).collect();
    let created: Vec<Row> = new_budget_centres
        .iter()
        .map(|code| {
            BudgetCentre {
                code: code.clone(),
                name: code.clone(),
            }
            .to_row()
        })
        .collect();
    // Kept by register, one file's rows at a time: at 300,000 people one list of every row, then
    // grouped again for the rules, held two more copies of millions of rows at the peak.
    let mut registers = Vec::with_capacity(parsed.len() + 1);
    let mut laid_out = Vec::new();
    if !created.is_empty() {
        registers.push((Register::BudgetCentres, created));
    }
    for p in parsed {
        match p.held {
            Held::Rows(rows) => {
                registers.push((p.register, rows.into_iter().map(|r| r.row).collect()));
            }
            Held::LaidOut { laid_out: l, .. } => laid_out.push(l),
        }
    }
    Ok(CheckedFiles {
        files,
        created_budget_centres: new_budget_centres.into_iter().collect(),
        registers,
        laid_out,
    })
}

/// The parsed file of `register`, if the import has one.
fn parsed_of(parsed: &[Parsed], register: Register) -> Option<&Parsed> {
    parsed.iter().find(|p| p.register == register)
}

/// A file's references to ids neither the import nor the database holds (`known`: by register,
/// every id it will hold), as errors; and the budget centres named but not yet registered, which
/// the import creates.
fn unknown_references(
    p: &Parsed,
    known: &HashMap<Register, IdSet<'_>>,
) -> (Vec<CsvError>, BTreeSet<String>) {
    let mut errors = Vec::new();
    let mut new_budget_centres = BTreeSet::new();
    // A field at a time, each looking its ids up in one set.
    for (index, field) in p.register.fields().iter().enumerate() {
        let Some(target) = field.refers_to else {
            continue;
        };
        let set = known.get(&target);
        for (line, id) in p.texts(index) {
            let Some(id) = id else {
                continue;
            };
            if set.is_some_and(|ids| ids.contains(id)) {
                continue;
            }
            if target == Register::BudgetCentres {
                new_budget_centres.insert(id.to_owned());
                continue;
            }
            errors.push(CsvError {
                file: p.label.clone(),
                line,
                column: field.name.to_owned(),
                value: id.to_owned(),
                reason: format!(
                    "no {} with this id in the import or the database",
                    target.entity()
                ),
            });
        }
    }
    // Listed line by line, a line's in its fields' order: as a reader of the file meets them.
    errors.sort_by_key(|e| e.line);
    (errors, new_budget_centres)
}

/// Managers must form a tree: a chain of managers that comes back to a person is refused, on the
/// line of every person in the loop.
fn manager_loops(store: &dyn Store, people: &Parsed) -> Result<Vec<CsvError>> {
    let stored = store.list(Register::People)?;
    // Each person numbered once, the file's row in place of a stored one with its id; chains
    // walked over the numbers (at 100,000 people, a map of strings per person walked was a
    // tenth of a second of an import's checking).
    let mut number: foldhash::HashMap<&str, u32> = foldhash::HashMap::default();
    let mut manager_ids: Vec<Option<&str>> = Vec::new();
    let mut line_of: Vec<Option<u64>> = Vec::new();
    let manager_field = Register::People
        .field_index("manager_id")
        .unwrap_or(usize::MAX);
    let stored = stored.iter().map(|row| {
        let manager = row.get("manager_id").and_then(Value::as_text);
        (row.id(), manager, None)
    });
    let in_file = people
        .ids()
        .zip(people.texts(manager_field))
        .map(|(id, (line, manager))| (id, manager, Some(line)));
    for (id, manager, line) in stored.chain(in_file) {
        let n = *number.entry(id).or_insert_with(|| {
            manager_ids.push(None);
            line_of.push(None);
            (manager_ids.len() - 1) as u32
        }) as usize;
        if let (Some(m), Some(l)) = (manager_ids.get_mut(n), line_of.get_mut(n)) {
            *m = manager;
            *l = line;
        }
    }
    let manager: Vec<Option<usize>> = manager_ids
        .iter()
        .map(|m| m.and_then(|m| number.get(m)).map(|&n| n as usize))
        .collect();

    // Walk each chain once: a person is `Done` once known to reach the top or a loop.
    #[derive(Clone, Copy, PartialEq)]
    enum Walk {
        NotYet,
        OnPath,
        Done,
    }
    let mut walk = vec![Walk::NotYet; manager.len()];
    let mut in_loop = vec![false; manager.len()];
    let mut path: Vec<usize> = Vec::new();
    for start in 0..manager.len() {
        let mut at = Some(start);
        while let Some(i) = at {
            match walk.get(i).copied() {
                Some(Walk::NotYet) => {
                    if let Some(w) = walk.get_mut(i) {
                        *w = Walk::OnPath;
                    }
                    path.push(i);
                    at = manager.get(i).copied().flatten();
                }
                Some(Walk::OnPath) => {
                    // Back on this walk's own path: from there on, it loops.
                    let from = path.iter().position(|&p| p == i).unwrap_or(path.len());
                    for &p in path.get(from..).unwrap_or_default() {
                        if let Some(l) = in_loop.get_mut(p) {
                            *l = true;
                        }
                    }
                    break;
                }
                Some(Walk::Done) | None => break,
            }
        }
        for p in path.drain(..) {
            if let Some(w) = walk.get_mut(p) {
                *w = Walk::Done;
            }
        }
    }

    let mut errors: Vec<CsvError> = in_loop
        .iter()
        .enumerate()
        .filter(|(_, on_loop)| **on_loop)
        .filter_map(|(n, _)| {
            Some(CsvError {
                file: people.label.clone(),
                line: line_of.get(n).copied().flatten()?,
                column: "manager_id".into(),
                value: manager_ids
                    .get(n)
                    .copied()
                    .flatten()
                    .unwrap_or_default()
                    .to_owned(),
                reason: "the chain of managers loops back to this person".into(),
            })
        })
        .collect();
    errors.sort_by_key(|e| e.line);
    Ok(errors)
}
