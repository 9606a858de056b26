//! Statements for any register, built from the model's field list. Column and table names come
//! only from the model's static definitions, never from input.

use chrono::{DateTime, Utc};
use steward_model::{Finding, Register, Row};

use crate::findings::{
    Cell, CellReader, Columns, EVENT_COLUMNS, FINDING_COLUMNS, FindingOrder, FindingQuery, Kind,
    PRIOR_COLUMNS,
};
use crate::sign_ins::{SESSION_COLUMNS, SIGN_IN_COLUMNS};

#[derive(Clone, Copy)]
pub(crate) enum Placeholder {
    /// `?1`, `?2`, … (SQLite)
    Question,
    /// `$1`, `$2`, … (PostgreSQL)
    Dollar,
}

impl Placeholder {
    pub(crate) fn nth(self, n: usize) -> String {
        match self {
            Placeholder::Question => format!("?{n}"),
            Placeholder::Dollar => format!("${n}"),
        }
    }
}

pub(crate) fn columns(register: Register) -> String {
    register
        .fields()
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn select(register: Register) -> String {
    format!("SELECT {} FROM {}", columns(register), register.name())
}

pub(crate) fn select_where_id_in(register: Register, n: usize, p: Placeholder) -> String {
    let list = (1..=n).map(|i| p.nth(i)).collect::<Vec<_>>().join(", ");
    format!(
        "{} WHERE {} IN ({list})",
        select(register),
        register.id_field().name
    )
}

pub(crate) fn select_one(register: Register, p: Placeholder) -> String {
    format!(
        "{} WHERE {} = {}",
        select(register),
        register.id_field().name,
        p.nth(1)
    )
}

/// The fields `wanted` marks (one flag per field, in order), with those no row is without: its
/// id and the fields a derived id is made of.
pub(crate) fn wanted_fields(register: Register, wanted: &[bool]) -> Vec<bool> {
    let mut out: Vec<bool> = (0..register.fields().len())
        .map(|i| wanted.get(i).copied().unwrap_or(false))
        .collect();
    for i in std::iter::once(0).chain(register.key_indices().iter().copied()) {
        if let Some(w) = out.get_mut(i) {
            *w = true;
        }
    }
    out
}

/// The `wanted` fields of every row, in field order, in no order: the caller sorts them
/// ([`sort_by_id`]). A whole table read in the order it is stored, then sorted where it mostly
/// is already, took a quarter of the time of asking the database to order it (SQLite reads it
/// through the key's index, a row at a time; PostgreSQL sorts it on disk).
pub(crate) fn select_fields(register: Register, wanted: &[bool]) -> String {
    let columns: Vec<&str> = register
        .fields()
        .iter()
        .zip(wanted)
        .filter(|(_, w)| **w)
        .map(|(f, _)| f.name)
        .collect();
    format!("SELECT {} FROM {}", columns.join(", "), register.name())
}

/// Rows ordered by id as `ORDER BY id` orders them (SQLite's binary collation, PostgreSQL's
/// `"C"`: by bytes). A stable sort: rows mostly stored in id order cost little more than a scan.
pub(crate) fn sort_by_id(rows: &mut [Row]) {
    rows.sort_by(|a, b| a.id().as_bytes().cmp(b.id().as_bytes()));
}

/// Rows whose `field` equals a value, ordered by id. `field` must be one of the register's fields
/// (the caller checks, so no text from outside reaches the statement).
pub(crate) fn select_where_ordered(register: Register, field: &str, p: Placeholder) -> String {
    let collate = match p {
        Placeholder::Question => "",
        Placeholder::Dollar => " COLLATE \"C\"",
    };
    format!(
        "{} WHERE {field} = {} ORDER BY {}{collate}",
        select(register),
        p.nth(1),
        register.id_field().name
    )
}

/// Text matched by `LIKE … ESCAPE '\\'` as itself: its `%`, `_` and `\\` escaped.
fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The most values one `IN` list holds; longer lists are read in chunks.
const MOST_IN_VALUES: usize = 512;

/// `values` without repeats, in chunks of at most [`MOST_IN_VALUES`], each padded (by repeating
/// its last value) to a power of two, so that a few statement shapes are prepared and kept rather
/// than one for every length.
pub(crate) fn in_chunks(values: &[String]) -> Vec<Vec<&str>> {
    let mut distinct: Vec<&str> = values.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
        .chunks(MOST_IN_VALUES)
        .map(|chunk| padded(chunk.to_vec()))
        .collect()
}

/// A list of values for an `IN`, padded to a power of two by repeating its last value: the
/// repeats match nothing more, and a few lengths mean a few statement shapes to prepare.
fn padded(mut values: Vec<&str>) -> Vec<&str> {
    let last = values.last().copied().unwrap_or_default();
    values.resize(values.len().next_power_of_two(), last);
    values
}

/// Rows of `register` whose `field` is one of `n` values. Unordered: the caller orders them
/// ([`by_id`]), since an `ORDER BY` the primary key can lead the planner to walk the whole table
/// in key order rather than look the values up in the field's index.
pub(crate) fn select_where_any(
    register: Register,
    field: &str,
    n: usize,
    p: Placeholder,
) -> String {
    format!(
        "{} WHERE {field} IN ({})",
        select(register),
        placeholders(1, n, p),
    )
}

/// Rows read chunk by chunk put back in one order, by id as both backends order it (bytes).
pub(crate) fn by_id(rows: &mut [Row]) {
    rows.sort_by(|a, b| a.id().cmp(b.id()));
}

/// A list page's statements — the rows, then the count — and their parameters: the rows' all of
/// them, the count's the first `count_params` (the count ignores where the page begins). Field
/// names are the registers' own (checked); values and the search text are parameters, the
/// search's `%` and `_` escaped so they match themselves.
pub(crate) fn list_page(
    page: &crate::ListPage<'_>,
    p: Placeholder,
) -> crate::Result<(String, String, Vec<String>, usize)> {
    let mut params: Vec<String> = Vec::new();
    let mut filters: Vec<String> = Vec::new();
    for (field, value) in &page.equal {
        let field = known_field(page.register, field)?;
        params.push((*value).to_owned());
        filters.push(format!("{field} = {}", p.nth(params.len())));
    }
    if let Some((fields, text)) = &page.search
        && !text.is_empty()
    {
        params.push(format!("%{}%", like_literal(&text.to_lowercase())));
        let n = params.len();
        let any: Vec<String> = fields
            .iter()
            .map(|f| {
                known_field(page.register, f)
                    .map(|f| format!("LOWER({f}) LIKE {} ESCAPE '\\'", p.nth(n)))
            })
            .collect::<crate::Result<_>>()?;
        filters.push(format!("({})", any.join(" OR ")));
    }
    let table = page.register.name();
    let id = page.register.id_field().name;
    if let Some((register, field)) = page.referenced_by {
        let field = known_field(register, field)?;
        filters.push(format!(
            "EXISTS (SELECT 1 FROM {} r WHERE r.{field} = {table}.{id})",
            register.name()
        ));
    }
    let count_params = params.len();
    let counted = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    // Ordered as the primary key's index orders, so a page is read from the index rather than
    // sorted from every row (on PostgreSQL that is the database's collation, not byte order);
    // a sort field first, when asked, with an empty value as the least.
    let sort = page
        .sort
        .map(|(field, desc)| known_field(page.register, field).map(|f| (f, desc)))
        .transpose()?;
    let sorted = |alias: &str| sort.map(|(f, _)| format!("COALESCE({alias}{f}, '')"));
    let direction = |desc: bool| if desc { " DESC" } else { "" };
    let order = match sort {
        Some((_, desc)) => format!(
            "{}{}, {id}{}",
            sorted("").unwrap_or_default(),
            direction(desc),
            direction(desc)
        ),
        None => id.to_owned(),
    };
    if let Some(after) = page.after {
        params.push(after.to_owned());
        let cursor = p.nth(params.len());
        let past = |desc: bool| if desc { "<" } else { ">" };
        filters.push(match sort {
            None => format!("{id} > {cursor}"),
            Some((_, desc)) => {
                let mine = sorted("").unwrap_or_default();
                let theirs = format!(
                    "(SELECT {} FROM {table} c WHERE c.{id} = {cursor})",
                    sorted("c.").unwrap_or_default()
                );
                format!(
                    "({mine} {op} {theirs} OR ({mine} = {theirs} AND {id} {op} {cursor}))",
                    op = past(desc)
                )
            }
        });
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    let rows = format!(
        "{}{filter} ORDER BY {order} LIMIT {}",
        select(page.register),
        page.limit
    );
    // The count is the whole filter's, whatever the page.
    let count = format!("SELECT COUNT(*) FROM {table}{counted}");
    Ok((rows, count, params, count_params))
}

/// Whether `name` is a text field of `register`: one a list may be searched, filtered and sorted by.
pub fn is_text_field(register: Register, name: &str) -> bool {
    known_field(register, name).is_ok()
}

/// The text field named `name` of `register`, as a `'static` name for a statement.
pub(crate) fn known_field(register: Register, name: &str) -> crate::Result<&'static str> {
    register
        .fields()
        .iter()
        .find(|f| f.name == name && f.ty.is_lookup_text())
        .map(|f| f.name)
        .ok_or_else(|| crate::StoreError::UnknownField {
            register,
            field: name.to_owned(),
        })
}

pub(crate) fn insert(register: Register, p: Placeholder) -> String {
    let n = register.fields().len();
    let values = (1..=n).map(|i| p.nth(i)).collect::<Vec<_>>().join(", ");
    format!(
        "INSERT INTO {} ({}) VALUES ({values})",
        register.name(),
        columns(register)
    )
}

/// Sets every field but the id; the id is parameter 1, as in the field order.
pub(crate) fn update(register: Register, p: Placeholder) -> String {
    let fields = register.fields();
    let sets = fields
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, f)| format!("{} = {}", f.name, p.nth(i + 1)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE {} SET {sets} WHERE {} = {}",
        register.name(),
        fields[0].name,
        p.nth(1)
    )
}

/// What a record is read as: the log's columns (with the version 1 payloads), then the version 2
/// payloads and their erasure from `audit_payloads`. `read_audit` reads them in this order.
pub(crate) const AUDIT_SELECT_COLUMNS: &str = "l.seq, l.at, l.actor, l.action, l.entity_type, \
     l.entity_id, l.before_json, l.after_json, l.prev_hash, l.hash, l.hash_version, \
     l.before_hash, l.after_hash, p.before_json AS p_before, p.after_json AS p_after, p.erased_by";

/// What a version 2 record writes to the append-only log.
pub(crate) const AUDIT_COLUMNS: &str = "seq, at, actor, action, entity_type, entity_id, \
     hash_version, before_hash, after_hash, prev_hash, hash";

pub(crate) const AUDIT_PAYLOAD_COLUMNS: &str = "seq, before_json, after_json";

/// The audit log read as [`crate::AuditQuery`] asks, oldest first; its parameters in order: the
/// entity's type and id, the sequence number the records come before, the limit — each when
/// asked.
pub(crate) fn audit_select(entity: bool, before: bool, limit: bool, p: Placeholder) -> String {
    let mut n = 0;
    let mut next = || {
        n += 1;
        p.nth(n)
    };
    let mut filters = Vec::new();
    if entity {
        let (t, i) = (next(), next());
        filters.push(format!("l.entity_type = {t} AND l.entity_id = {i}"));
    }
    if before {
        filters.push(format!("l.seq < {}", next()));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    let from = "audit_log l LEFT JOIN audit_payloads p ON p.seq = l.seq";
    if limit {
        format!(
            "SELECT * FROM (SELECT {AUDIT_SELECT_COLUMNS} FROM {from}{filter} ORDER BY l.seq DESC LIMIT {}) AS recent ORDER BY seq",
            next()
        )
    } else {
        format!("SELECT {AUDIT_SELECT_COLUMNS} FROM {from}{filter} ORDER BY l.seq")
    }
}

pub(crate) fn audit_insert(p: Placeholder) -> String {
    let values = (1..=11).map(|i| p.nth(i)).collect::<Vec<_>>().join(", ");
    format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ({values})")
}

pub(crate) fn audit_payload_insert(p: Placeholder) -> String {
    format!(
        "INSERT INTO audit_payloads ({AUDIT_PAYLOAD_COLUMNS}) VALUES ({}, {}, {})",
        p.nth(1),
        p.nth(2),
        p.nth(3)
    )
}

/// The version 2 payloads of one entity's records.
pub(crate) fn entity_payloads(p: Placeholder) -> String {
    format!(
        "SELECT p.seq, p.before_json, p.after_json FROM audit_log l JOIN audit_payloads p ON p.seq = l.seq \
         WHERE l.entity_type = {} AND l.entity_id = {} ORDER BY p.seq",
        p.nth(1),
        p.nth(2)
    )
}

/// Rewrites the payloads of one record as an erasure leaves them.
pub(crate) fn audit_payload_erase(p: Placeholder) -> String {
    format!(
        "UPDATE audit_payloads SET before_json = {}, after_json = {}, erased_by = {} WHERE seq = {}",
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4)
    )
}

pub(crate) const ASSIGNMENT_COLUMNS: &str =
    "asset_tag, person_id, from_date, until_date, opened_by, closed_by";

pub(crate) fn assignments_select(of_person: bool, p: Placeholder) -> String {
    let column = if of_person { "person_id" } else { "asset_tag" };
    format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM asset_assignments WHERE {column} = {} ORDER BY from_date, opened_by",
        p.nth(1)
    )
}

pub(crate) fn assignment_insert(p: Placeholder) -> String {
    let values = (1..=6).map(|i| p.nth(i)).collect::<Vec<_>>().join(", ");
    format!("INSERT INTO asset_assignments ({ASSIGNMENT_COLUMNS}) VALUES ({values})")
}

pub(crate) fn assignment_close(p: Placeholder) -> String {
    format!(
        "UPDATE asset_assignments SET until_date = {}, closed_by = {} WHERE asset_tag = {} AND closed_by IS NULL",
        p.nth(1),
        p.nth(2),
        p.nth(3)
    )
}

// --- findings ---------------------------------------------------------------------------------

/// `a, b, c`, each name prefixed (`f.a`), from a table's static column list.
pub(crate) fn column_list(columns: Columns, prefix: &str) -> String {
    columns
        .iter()
        .map(|(name, _)| format!("{prefix}{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn placeholders(from: usize, n: usize, p: Placeholder) -> String {
    (from..from + n)
        .map(|i| p.nth(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO table (columns) VALUES (…), (…), …` for `rows` rows, then `tail` (an
/// `ON CONFLICT` clause).
pub(crate) fn insert_many(
    table: &str,
    columns: Columns,
    rows: usize,
    p: Placeholder,
    tail: &str,
) -> String {
    let width = columns.len();
    let values: Vec<String> = (0..rows)
        .map(|r| format!("({})", placeholders(r * width + 1, width, p)))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES {} {tail}",
        column_list(columns, ""),
        values.join(", ")
    )
}

pub(crate) fn insert_into(table: &str, columns: Columns, p: Placeholder) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        column_list(columns, ""),
        placeholders(1, columns.len(), p)
    )
}

/// A finding's `last_failing` as read from `findings f`: one failing now failed on its pack's
/// last run too, which did not rewrite it (a run writes only what changed), so it is the later of
/// its own and the pack's in `check_runs`.
const LAST_FAILING: &str = "COALESCE(CASE WHEN f.state <> 'resolved' THEN \
     (SELECT r.last_run FROM check_runs r \
      WHERE r.pack = f.pack AND r.last_run > f.last_failing) END, f.last_failing)";

/// Every stored finding of one control of a pack (parameters 1 and 2), or (`keys` more than 0)
/// those of so many keys (parameters 3 on), its last failing run read as [`LAST_FAILING`] says.
pub(crate) fn findings_of_control(p: Placeholder, keys: usize) -> String {
    let columns = FINDING_COLUMNS
        .iter()
        .map(|(name, _)| match *name {
            "last_failing" => LAST_FAILING.to_owned(),
            name => format!("f.{name}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns} FROM findings f WHERE f.pack = {} AND f.control = {}{}",
        p.nth(1),
        p.nth(2),
        of_keys("f.key", keys, p)
    )
}

/// ` AND column IN (…)` over parameters 3 on, where `keys` is more than 0.
fn of_keys(column: &str, keys: usize, p: Placeholder) -> String {
    if keys == 0 {
        String::new()
    } else {
        format!(" AND {column} IN ({})", placeholders(3, keys, p))
    }
}

/// The statements, each with its text parameters, that read one control's stored findings with
/// `select` (`findings_of_control`, `finding_priors_of_control`): every one, or (`keys`) those
/// of these keys, a chunk of them at a time; none for no key at all.
pub(crate) fn of_control(
    select: fn(Placeholder, usize) -> String,
    (pack, control): (&str, &str),
    keys: Option<&[String]>,
    p: Placeholder,
) -> Vec<(String, Vec<String>)> {
    let head = || vec![pack.to_owned(), control.to_owned()];
    match keys {
        None => vec![(select(p, 0), head())],
        Some(keys) => in_chunks(keys)
            .into_iter()
            .map(|chunk| {
                let mut params = head();
                params.extend(chunk.iter().map(|k| (*k).to_owned()));
                (select(p, chunk.len()), params)
            })
            .collect(),
    }
}

/// What a run reads first of every stored finding of one control of a pack (parameters 1 and
/// 2), or of so many keys of it (parameters 3 on): `findings::PRIOR_COLUMNS`.
pub(crate) fn finding_priors_of_control(p: Placeholder, keys: usize) -> String {
    format!(
        "SELECT {} FROM findings WHERE pack = {} AND control = {}{}",
        column_list(PRIOR_COLUMNS, ""),
        p.nth(1),
        p.nth(2),
        of_keys("key", keys, p)
    )
}

/// Sets a finding's content hash (parameter 2) by key (parameter 1).
pub(crate) fn set_content_hash(p: Placeholder) -> String {
    format!(
        "UPDATE findings SET content_hash = {} WHERE key = {}",
        p.nth(2),
        p.nth(1)
    )
}

pub(crate) fn failing_controls(n: usize, p: Placeholder) -> String {
    format!(
        "SELECT DISTINCT pack, control FROM findings WHERE pack IN ({}) AND state <> 'resolved' \
         ORDER BY pack, control",
        placeholders(1, n, p)
    )
}

/// Sets every column but the key; the key is parameter 1, as in the column order.
pub(crate) fn finding_update(p: Placeholder) -> String {
    let sets = FINDING_COLUMNS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, (name, _))| format!("{name} = {}", p.nth(i + 1)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("UPDATE findings SET {sets} WHERE key = {}", p.nth(1))
}

pub(crate) fn finding_history(p: Placeholder) -> String {
    format!(
        "SELECT {} FROM finding_events WHERE key = {} ORDER BY seq",
        column_list(EVENT_COLUMNS, ""),
        p.nth(1)
    )
}

/// `CASE severity WHEN 'critical' THEN 0 … ELSE 5 END`: the model's ranking as a place in the
/// list, the most severe first and a word the model does not know last: migration 0017's
/// generated column `severity_place`, which the list orders by.
#[cfg(test)]
fn severity_place(column: &str) -> String {
    let most = Finding::SEVERITIES.len();
    let whens = Finding::SEVERITIES
        .iter()
        .rev()
        .map(|s| {
            format!(
                " WHEN '{s}' THEN {}",
                most - usize::from(Finding::severity_rank(s))
            )
        })
        .collect::<String>();
    format!("CASE {column}{whens} ELSE {most} END")
}

/// The statement and its parameters for a findings query. With `as_of`, each finding's last
/// event at or before that instant supplies its state, `first_failing`, `exception` and (when
/// resolved) `resolved_at`; findings with no event by then are left out.
///
/// A query with a cursor (`after`) needs that finding's [`FindingCursor`]: without it the
/// statement finds nothing after it. `small_section`: the query's section holds few findings of
/// its policy ([`section_size`]).
pub(crate) fn findings_select(
    q: &FindingQuery,
    p: Placeholder,
    cursor: Option<&FindingCursor>,
    small_section: bool,
) -> (String, Vec<Cell>) {
    findings_statement(q, p, false, cursor, small_section)
}

/// Below this many findings of its policy, a section's page is read from the clause index and
/// sorted, not read in the page's order (SQLite, which has no statistics to weigh it by).
pub(crate) const SMALL_SECTION: i64 = 2_000;

/// How many findings, in any state, one policy (parameter 1) has in one section (parameters 2
/// and 3: the section, and the section followed by `/`), counted from the policy-and-clause
/// index alone.
pub(crate) fn section_size(p: Placeholder) -> String {
    format!(
        "SELECT COUNT(*) FROM findings WHERE pack = {} AND clause >= {} AND clause < {}",
        p.nth(1),
        p.nth(2),
        p.nth(3)
    )
}

/// Where the page after a finding begins: that finding's value of each column a list orders by.
pub(crate) struct FindingCursor {
    pub key: String,
    pub pack: String,
    pub clause: String,
    pub severity_place: i64,
    pub first_failing: DateTime<Utc>,
}

/// The columns [`finding_cursor`] reads, in [`FindingCursor`]'s order.
pub(crate) const CURSOR_COLUMNS: Columns = &[
    ("key", Kind::Text),
    ("pack", Kind::Text),
    ("clause", Kind::Text),
    ("severity_place", Kind::Int),
    ("first_failing", Kind::Time),
];

impl FindingCursor {
    pub(crate) fn from_cells(cells: Vec<Cell>) -> crate::Result<FindingCursor> {
        let mut r = CellReader::new("findings", CURSOR_COLUMNS, cells);
        Ok(FindingCursor {
            key: r.text()?,
            pack: r.text()?,
            clause: r.text()?,
            severity_place: r.int()?,
            first_failing: r.time()?,
        })
    }
}

/// The statement reading a [`FindingCursor`] ([`CURSOR_COLUMNS`]) of the finding whose key is
/// parameter 1.
pub(crate) fn finding_cursor(p: Placeholder) -> String {
    format!(
        "SELECT {} FROM findings WHERE key = {}",
        column_list(CURSOR_COLUMNS, ""),
        p.nth(1)
    )
}

/// A severity's place in the severity order, as [`severity_place`] reckons it in SQL.
pub(crate) fn severity_place_of(severity: &str) -> i64 {
    let most = Finding::SEVERITIES.len();
    // An unknown word ranks 0, and so takes the last place.
    i64::try_from(most - usize::from(Finding::severity_rank(severity))).unwrap_or(i64::MAX)
}

/// How many findings a query matches, ignoring its limit: the same tables and conditions, with
/// nothing read or ordered.
pub(crate) fn findings_count(q: &FindingQuery, p: Placeholder) -> (String, Vec<Cell>) {
    findings_statement(q, p, true, None, false)
}

fn findings_statement(
    q: &FindingQuery,
    p: Placeholder,
    count: bool,
    cursor: Option<&FindingCursor>,
    small_section: bool,
) -> (String, Vec<Cell>) {
    let collate = match p {
        Placeholder::Question => "",
        Placeholder::Dollar => " COLLATE \"C\"",
    };
    let mut params: Vec<Cell> = Vec::new();
    let mut filters: Vec<String> = Vec::new();
    // SQLite plans without statistics: it would read a filter that narrows little (the running
    // policies, the failing states, who acts, a date) from its own index and then sort every
    // finding it matches. Written `+column`, such a filter is checked on rows read in the
    // order's index instead, and the page is cut after its last row; filters that narrow to a
    // few (a subject, a control, a clause) or lead an index in the order keep their indexes.
    let broad = if !count && matches!(p, Placeholder::Question) {
        "+"
    } else {
        ""
    };
    let by_age = matches!(q.order, FindingOrder::Oldest | FindingOrder::Newest);
    // One policy is an index of its own in the severity and clause orders; the dates lead the
    // age order's index.
    let one_pack = if by_age { broad } else { "" };
    let dates = if by_age { "" } else { broad };
    let at_instant = q.as_of.is_some();
    let columns = FINDING_COLUMNS
        .iter()
        .map(|(name, _)| match *name {
            "clause_text" if q.without_text => "''".to_owned(),
            "evidence" if q.without_text => "'{}'".to_owned(),
            "state" | "first_failing" | "exception" if at_instant => format!("e.{name}"),
            "resolved_at" if at_instant => {
                "CASE WHEN e.state = 'resolved' THEN e.at END".to_owned()
            }
            "last_failing" => LAST_FAILING.to_owned(),
            name => format!("f.{name}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (select, from, lifecycle) = match q.as_of {
        None => (columns, "findings f".to_owned(), "f"),
        Some(as_of) => {
            params.push(Cell::Time(Some(as_of)));
            filters.push(format!(
                "e.seq = (SELECT MAX(x.seq) FROM finding_events x WHERE x.key = f.key AND x.at <= {})",
                p.nth(1)
            ));
            (
                columns,
                "findings f JOIN finding_events e ON e.key = f.key".to_owned(),
                "e",
            )
        }
    };
    let states = q
        .states()
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    filters.push(format!("{broad}{lifecycle}.state IN ({states})"));
    // A severity the model knows is a place in the severity order, the column the order's
    // index begins with; one it does not know is matched as written.
    if let Some(severity) = &q.severity {
        if Finding::SEVERITIES.contains(&severity.as_str()) {
            params.push(Cell::Int(Some(severity_place_of(severity))));
            let place = p.nth(params.len());
            // Written as a range of one, not an equality: a planner that knows the place is
            // constant may read the list in the age order's index instead (the severities are
            // not spread evenly over ages), and skip most of the index before the page fills.
            filters.push(format!("f.severity_place BETWEEN {place} AND {place}"));
        } else {
            params.push(Cell::Text(Some(severity.clone())));
            filters.push(format!("f.severity = {}", p.nth(params.len())));
        }
    }
    for (column, value, mark) in [
        ("pack", &q.pack, one_pack),
        ("clause", &q.clause, ""),
        ("control", &q.control, ""),
        ("subject_type", &q.subject_type, ""),
        ("subject_id", &q.subject_id, ""),
        ("who_acts", &q.who_acts, broad),
    ] {
        if let Some(value) = value {
            params.push(Cell::Text(Some(value.clone())));
            filters.push(format!("{mark}f.{column} = {}", p.nth(params.len())));
        }
    }
    if let Some(section) = &q.section {
        // All of the section lies between the section itself and the section followed by `/`
        // (the marks below sort before it, byte by byte): one range of the policy-and-clause
        // index. A count reads it from that index alone. A page is read from it where the
        // section is small (`small_section`, or always on PostgreSQL, whose planner weighs it
        // with statistics); a large one is better read in the page's order and cut.
        if count || small_section || matches!(p, Placeholder::Dollar) {
            params.push(Cell::Text(Some(section.clone())));
            let from = p.nth(params.len());
            params.push(Cell::Text(Some(format!("{section}/"))));
            let to = p.nth(params.len());
            filters.push(format!(
                "f.clause{collate} >= {from} AND f.clause{collate} < {to}"
            ));
        }
        // The section itself, or a clause under it: the section followed by `.`, `(` or `-`,
        // each written as the range of text that begins so (the character after the mark is
        // the range's end, byte by byte), which an index on the clause reads.
        params.push(Cell::Text(Some(section.clone())));
        let mut any = vec![format!("f.clause = {}", p.nth(params.len()))];
        for (mark, next) in [('.', '/'), ('(', ')'), ('-', '.')] {
            params.push(Cell::Text(Some(format!("{section}{mark}"))));
            let from = p.nth(params.len());
            params.push(Cell::Text(Some(format!("{section}{next}"))));
            let to = p.nth(params.len());
            any.push(format!(
                "(f.clause{collate} >= {from} AND f.clause{collate} < {to})"
            ));
        }
        filters.push(format!("({})", any.join(" OR ")));
    }
    if !q.subjects.is_empty() {
        // One term per kind of subject — its kind, and its ids in a list — so that each is a
        // look-up in the subject index (an OR of kind-and-id pairs is read as a scan), each list
        // padded.
        let mut by_kind: std::collections::BTreeMap<&str, Vec<&str>> =
            std::collections::BTreeMap::new();
        for subject in &q.subjects {
            by_kind
                .entry(&*subject.kind)
                .or_default()
                .push(subject.id.as_str());
        }
        let mut any = Vec::with_capacity(by_kind.len());
        for (kind, mut ids) in by_kind {
            ids.sort_unstable();
            ids.dedup();
            let ids = padded(ids);
            params.push(Cell::Text(Some(kind.to_owned())));
            let kind_at = p.nth(params.len());
            let mut list = Vec::with_capacity(ids.len());
            for id in ids {
                params.push(Cell::Text(Some(id.to_owned())));
                list.push(p.nth(params.len()));
            }
            any.push(format!(
                "(f.subject_type = {kind_at} AND f.subject_id IN ({}))",
                list.join(", ")
            ));
        }
        filters.push(format!("({})", any.join(" OR ")));
    }
    if let Some(before) = q.failing_since_before {
        params.push(Cell::Time(Some(before)));
        filters.push(format!(
            "{dates}{lifecycle}.first_failing <= {}",
            p.nth(params.len())
        ));
    }
    if let Some(after) = q.failing_since_after {
        params.push(Cell::Time(Some(after)));
        filters.push(format!(
            "{dates}{lifecycle}.first_failing >= {}",
            p.nth(params.len())
        ));
    }
    if !q.packs.is_empty() {
        let mut any = Vec::with_capacity(q.packs.len());
        for pack in &q.packs {
            params.push(Cell::Text(Some(pack.clone())));
            any.push(p.nth(params.len()));
        }
        filters.push(format!("{broad}f.pack IN ({})", any.join(", ")));
    }
    // Each order's columns, all read in one direction (so that a cursor is one comparison of
    // row values), the key last so that every row has one place, each with the cursor's value
    // of it. Each order is an index (migration 0017).
    let at = |f: fn(&FindingCursor) -> Cell| cursor.map(f);
    let key = (
        format!("key{collate}"),
        at(|c| Cell::Text(Some(c.key.clone()))),
    );
    let first_failing = (
        "first_failing".to_owned(),
        at(|c| Cell::Time(Some(c.first_failing))),
    );
    let (terms, descending) = match q.order {
        FindingOrder::Severity => (
            vec![
                (
                    "severity_place".to_owned(),
                    at(|c| Cell::Int(Some(c.severity_place))),
                ),
                first_failing,
                key,
            ],
            false,
        ),
        FindingOrder::Oldest => (vec![first_failing, key], false),
        FindingOrder::Newest => (vec![first_failing, key], true),
        FindingOrder::Clause => (
            vec![
                // A policy's id as the database orders text (ids are unique, and the cursor
                // compares as the order does), so that one policy is a prefix of the index.
                ("pack".to_owned(), at(|c| Cell::Text(Some(c.pack.clone())))),
                (
                    format!("clause{collate}"),
                    at(|c| Cell::Text(Some(c.clause.clone()))),
                ),
                key,
            ],
            false,
        ),
    };
    // The order reads the lifecycle's first failing (the event's, at an instant).
    let ordered = |term: &str| {
        if term == "first_failing" {
            format!("{lifecycle}.first_failing")
        } else {
            format!("f.{term}")
        }
    };
    let order = format!(
        "ORDER BY {}",
        terms
            .iter()
            .map(|(t, _)| format!("{}{}", ordered(t), if descending { " DESC" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let (Some(_), false, None) = (&q.after, count, q.as_of) {
        // Rows after the cursor's in this order: one comparison of row values against values
        // bound as parameters, which both backends read as a range of the order's index.
        let mut row = Vec::with_capacity(terms.len());
        let mut values = Vec::with_capacity(terms.len());
        // A small section's rows come from the clause index, not from a range of the order's.
        let plus = if small_section && matches!(p, Placeholder::Question) {
            "+"
        } else {
            ""
        };
        for (term, value) in terms {
            row.push(format!("{plus}f.{term}"));
            params.push(value.unwrap_or(Cell::Text(None)));
            values.push(p.nth(params.len()));
        }
        filters.push(format!(
            "({}) {} ({})",
            row.join(", "),
            if descending { "<" } else { ">" },
            values.join(", ")
        ));
    }
    let sql = match (count, q.limit, q.as_of) {
        (true, _, _) => format!(
            "SELECT COUNT(*) FROM {from} WHERE {}",
            filters.join(" AND ")
        ),
        // A page of current findings: choose the keys from the narrow columns, then read only
        // those rows whole (their clause text and evidence are most of a row's width).
        (false, Some(n), None) => format!(
            "SELECT {select} FROM {from} WHERE f.key IN (SELECT f.key FROM {from} WHERE {} {order} LIMIT {n}) {order}",
            filters.join(" AND "),
        ),
        (false, limit, _) => format!(
            "SELECT {select} FROM {from} WHERE {} {order}{}",
            filters.join(" AND "),
            limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default(),
        ),
    };
    (sql, params)
}

/// Findings tallied by pack, clause, control, severity, state and the days they began failing
/// and were resolved.
pub(crate) fn finding_tallies(p: Placeholder) -> String {
    let day = |column: &str| match p {
        Placeholder::Question => format!("substr({column}, 1, 10)"),
        Placeholder::Dollar => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
    };
    format!(
        "SELECT pack, clause, control, severity, state, {first}, {resolved}, COUNT(*) \
         FROM findings GROUP BY pack, clause, control, severity, state, {first}, {resolved}",
        first = day("first_failing"),
        resolved = day("resolved_at"),
    )
}

// --- sign-ins and sessions --------------------------------------------------------------------

/// One sign-in by e-mail address (parameter 1), or every one ordered by address byte by byte.
pub(crate) fn sign_in_select(one: bool, p: Placeholder) -> String {
    let columns = column_list(SIGN_IN_COLUMNS, "");
    if one {
        format!("SELECT {columns} FROM sign_ins WHERE email = {}", p.nth(1))
    } else {
        let collate = match p {
            Placeholder::Question => "",
            Placeholder::Dollar => " COLLATE \"C\"",
        };
        format!("SELECT {columns} FROM sign_ins ORDER BY email{collate}")
    }
}

/// Inserts a sign-in or rewrites every column of the stored one. The last TOTP step used never
/// goes back while the secret stays the same (a stale copy saved after a sign-in must not reopen
/// a replay window); with a new secret it is written as given. Decided in the statement, against
/// the row as it stands, so that a concurrent `set_totp_step` cannot be undone.
pub(crate) fn sign_in_upsert(p: Placeholder) -> String {
    let sets = SIGN_IN_COLUMNS
        .iter()
        .skip(1)
        .map(|(name, _)| match *name {
            "totp_last_step" => "totp_last_step = CASE \
                 WHEN sign_ins.totp_secret = excluded.totp_secret \
                  AND sign_ins.totp_last_step IS NOT NULL \
                  AND (excluded.totp_last_step IS NULL OR excluded.totp_last_step < sign_ins.totp_last_step) \
                 THEN sign_ins.totp_last_step ELSE excluded.totp_last_step END"
                .to_owned(),
            name => format!("{name} = excluded.{name}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} ON CONFLICT (email) DO UPDATE SET {sets}",
        insert_into("sign_ins", SIGN_IN_COLUMNS, p)
    )
}

/// Moves the last TOTP step used (parameter 1) of a sign-in (parameter 2) forward, never back.
pub(crate) fn totp_step_update(p: Placeholder) -> String {
    format!(
        "UPDATE sign_ins SET totp_last_step = {0} WHERE email = {1} AND (totp_last_step IS NULL OR totp_last_step < {0})",
        p.nth(1),
        p.nth(2)
    )
}

pub(crate) fn session_select(p: Placeholder) -> String {
    format!(
        "SELECT {} FROM sessions WHERE token_hash = {}",
        column_list(SESSION_COLUMNS, ""),
        p.nth(1)
    )
}

/// A session, its sign-in and the viewer's standing (see [`crate::Visit`]) in one statement, so
/// that a signed-in request begins with one round trip, not five.
pub(crate) fn visit_select(p: Placeholder) -> String {
    let roles = match p {
        Placeholder::Question => "group_concat(g.role, ',')",
        Placeholder::Dollar => "string_agg(g.role, ',')",
    };
    format!(
        "SELECT {}, {}, p.status, p.leave_date, \
         EXISTS (SELECT 1 FROM people r WHERE r.manager_id = a.person_id AND r.status <> '{leaver}'), \
         (SELECT {roles} FROM roles g WHERE g.person_id = a.person_id), \
         (SELECT h.seq FROM audit_head h WHERE h.id = 1) \
         FROM sessions s \
         LEFT JOIN sign_ins a ON a.email = s.email \
         LEFT JOIN people p ON p.id = a.person_id \
         WHERE s.token_hash = {}",
        column_list(SESSION_COLUMNS, "s."),
        column_list(SIGN_IN_COLUMNS, "a."),
        p.nth(1),
        leaver = steward_model::PersonStatus::Leaver.as_str(),
    )
}

/// The packs whose checks have run here (the last run of each is kept).
pub(crate) const PACKS_RUN: &str = "SELECT pack FROM check_runs ORDER BY pack";

/// The organisation's packs (`one`: the pack with id `$1`), ordered by id.
pub(crate) fn pack_select(one: bool, p: Placeholder) -> String {
    let columns = column_list(crate::packs::PACK_COLUMNS, "");
    if one {
        format!("SELECT {columns} FROM packs WHERE id = {}", p.nth(1))
    } else {
        let collate = match p {
            Placeholder::Question => "",
            Placeholder::Dollar => " COLLATE \"C\"",
        };
        format!("SELECT {columns} FROM packs ORDER BY id{collate}")
    }
}

/// Inserts a pack's standing or rewrites the stored one.
/// Every pack's and section's standing from `day` (the first parameter) on, by pack, section and
/// day.
pub(crate) fn compliance_select(p: Placeholder) -> String {
    let columns = column_list(crate::compliance::COMPLIANCE_COLUMNS, "");
    let collate = match p {
        Placeholder::Question => "",
        Placeholder::Dollar => " COLLATE \"C\"",
    };
    format!(
        "SELECT {columns} FROM compliance WHERE day >= {} \
         ORDER BY pack{collate}, section{collate}, day",
        p.nth(1)
    )
}

/// A run rewrites its pack's day: the rows before it go first, so a section no longer checked
/// does not linger.
pub(crate) fn compliance_clear(p: Placeholder) -> String {
    format!(
        "DELETE FROM compliance WHERE pack = {} AND day = {}",
        p.nth(1),
        p.nth(2)
    )
}

pub(crate) fn compliance_insert(p: Placeholder) -> String {
    insert_into("compliance", crate::compliance::COMPLIANCE_COLUMNS, p)
}

/// The organisation's own packs' files (`one`: the pack with id `$1`), ordered by id.
pub(crate) fn pack_document_select(one: bool, p: Placeholder) -> String {
    let columns = column_list(crate::packs::PACK_DOCUMENT_COLUMNS, "");
    if one {
        format!(
            "SELECT {columns} FROM pack_documents WHERE id = {}",
            p.nth(1)
        )
    } else {
        let collate = match p {
            Placeholder::Question => "",
            Placeholder::Dollar => " COLLATE \"C\"",
        };
        format!("SELECT {columns} FROM pack_documents ORDER BY id{collate}")
    }
}

pub(crate) fn pack_document_upsert(p: Placeholder) -> String {
    format!(
        "{} ON CONFLICT (id) DO UPDATE SET pack_toml = excluded.pack_toml, \
         clauses_toml = excluded.clauses_toml, source_name = excluded.source_name, \
         saved_at = excluded.saved_at, saved_by = excluded.saved_by",
        insert_into("pack_documents", crate::packs::PACK_DOCUMENT_COLUMNS, p)
    )
}

/// The organisation's parameter values (`one`: name `$1` from day `$2`), by name and day.
pub(crate) fn parameter_select(one: bool, p: Placeholder) -> String {
    let columns = column_list(crate::packs::PARAMETER_COLUMNS, "");
    if one {
        format!(
            "SELECT {columns} FROM parameter_overrides WHERE name = {} AND effective_from = {}",
            p.nth(1),
            p.nth(2)
        )
    } else {
        let collate = match p {
            Placeholder::Question => "",
            Placeholder::Dollar => " COLLATE \"C\"",
        };
        format!("SELECT {columns} FROM parameter_overrides ORDER BY name{collate}, effective_from")
    }
}

pub(crate) fn parameter_upsert(p: Placeholder) -> String {
    format!(
        "{} ON CONFLICT (name, effective_from) DO UPDATE SET value = excluded.value, \
         reason = excluded.reason, changed_at = excluded.changed_at, changed_by = excluded.changed_by",
        insert_into("parameter_overrides", crate::packs::PARAMETER_COLUMNS, p)
    )
}

pub(crate) fn pack_upsert(p: Placeholder) -> String {
    format!(
        "{} ON CONFLICT (id) DO UPDATE SET active = excluded.active, \
         changed_at = excluded.changed_at, changed_by = excluded.changed_by",
        insert_into("packs", crate::packs::PACK_COLUMNS, p)
    )
}

pub(crate) fn session_touch(p: Placeholder) -> String {
    format!(
        "UPDATE sessions SET last_seen = {}, mfa_passed = {} WHERE token_hash = {}",
        p.nth(1),
        p.nth(2),
        p.nth(3)
    )
}

/// Deletes the sessions whose `column` equals (or, for `last_seen`, is before) parameter 1.
pub(crate) fn session_delete(column: &'static str, p: Placeholder) -> String {
    let op = if column == "last_seen" { "<" } else { "=" };
    format!("DELETE FROM sessions WHERE {column} {op} {}", p.nth(1))
}

/// Parameters: name, holder, until, now. Changes a row (and so wins) only when the lease is free,
/// lapsed or the holder's own.
pub(crate) fn lease_take(p: Placeholder) -> String {
    format!(
        "INSERT INTO leases (name, holder, held_until) VALUES ({0}, {1}, {2}) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until \
         WHERE leases.holder = excluded.holder OR leases.held_until < {3}",
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4)
    )
}

pub(crate) fn lease_release(p: Placeholder) -> String {
    format!(
        "DELETE FROM leases WHERE name = {} AND holder = {}",
        p.nth(1),
        p.nth(2)
    )
}

pub(crate) fn sign_in_failure_insert(p: Placeholder) -> String {
    format!(
        "INSERT INTO sign_in_failures (key, at) VALUES ({}, {})",
        p.nth(1),
        p.nth(2)
    )
}

pub(crate) fn sign_in_failures_forget(p: Placeholder) -> String {
    format!("DELETE FROM sign_in_failures WHERE at < {}", p.nth(1))
}

/// Parameters: key, since, limit.
pub(crate) fn sign_in_failures_select(p: Placeholder) -> String {
    format!(
        "SELECT at FROM sign_in_failures WHERE key = {} AND at >= {} ORDER BY at DESC LIMIT {}",
        p.nth(1),
        p.nth(2),
        p.nth(3)
    )
}

/// Deletes one failure of a key at an instant (parameters: key, at): the rows alike are
/// interchangeable, so any one of them is the one reserved. SQLite names a row by `rowid`,
/// PostgreSQL by `ctid`.
pub(crate) fn sign_in_failure_release(p: Placeholder) -> String {
    let row = match p {
        Placeholder::Question => "rowid",
        Placeholder::Dollar => "ctid",
    };
    format!(
        "DELETE FROM sign_in_failures WHERE {row} IN \
         (SELECT {row} FROM sign_in_failures WHERE key = {} AND at = {} LIMIT 1)",
        p.nth(1),
        p.nth(2)
    )
}

/// PostgreSQL: a lock on one throttle key until the transaction ends, so that two servers
/// reserving guesses under it count them one after the other. (SQLite's write lock, taken at
/// `BEGIN IMMEDIATE`, serialises every reservation already.)
pub(crate) const PG_SIGN_IN_KEY_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

pub(crate) fn sign_in_failures_clear(p: Placeholder) -> String {
    format!("DELETE FROM sign_in_failures WHERE key = {}", p.nth(1))
}

/// Parameters: sent_at, seq, hash, recipients.
pub(crate) fn audit_anchor_insert(p: Placeholder) -> String {
    format!(
        "INSERT INTO audit_anchors (sent_at, seq, hash, recipients) VALUES ({}, {}, {}, {})",
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4)
    )
}

/// Parameters: kind, key, sent_at, recipients. A second message of the same kind and key is not
/// recorded (and is seen as none).
pub(crate) fn mail_sent_insert(p: Placeholder) -> String {
    format!(
        "INSERT INTO mail_sent (kind, key, sent_at, recipients) VALUES ({}, {}, {}, {}) \
         ON CONFLICT (kind, key) DO NOTHING",
        p.nth(1),
        p.nth(2),
        p.nth(3),
        p.nth(4)
    )
}

/// Parameters: kind, since; in the order of `sent::MAIL_SENT_COLUMNS`.
pub(crate) fn mail_sent_select(p: Placeholder) -> String {
    format!(
        "SELECT kind, key, sent_at, recipients FROM mail_sent \
         WHERE kind = {} AND sent_at >= {} ORDER BY sent_at, key",
        p.nth(1),
        p.nth(2)
    )
}

/// Every `escalated` event of a finding still escalated, in its current episode (the same
/// `first_failing`), that no escalation mail lists yet; from the escalated findings, so that it
/// reads in proportion to them and not to the history.
pub(crate) fn escalations_unmailed() -> String {
    format!(
        "SELECT {} FROM findings f JOIN finding_events e ON e.key = f.key \
         WHERE f.state = 'escalated' AND e.event = 'escalated' \
         AND e.first_failing = f.first_failing \
         AND NOT EXISTS (SELECT 1 FROM mail_sent m WHERE m.kind = '{}' \
         AND m.key = CAST(e.seq AS TEXT)) ORDER BY e.seq",
        column_list(EVENT_COLUMNS, "e."),
        crate::sent::ESCALATION_MAIL
    )
}

/// In the order of `anchors::ANCHOR_COLUMNS`, oldest first.
pub(crate) const AUDIT_ANCHORS_SELECT: &str =
    "SELECT seq, hash, sent_at, recipients FROM audit_anchors ORDER BY sent_at";

/// Records a pack's last check run (see `LAST_FAILING`).
pub(crate) const SET_CHECK_RUN_Q: &str = "INSERT INTO check_runs (pack, last_run, audit_seq) \
     VALUES (?1, ?2, ?3) \
     ON CONFLICT (pack) DO UPDATE SET last_run = excluded.last_run, audit_seq = excluded.audit_seq";
pub(crate) const SET_CHECK_RUN_D: &str = "INSERT INTO check_runs (pack, last_run, audit_seq) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (pack) DO UPDATE SET last_run = excluded.last_run, audit_seq = excluded.audit_seq";
/// Each pack's mark: the audit log's head when its last run began reading the estate.
pub(crate) const CHECK_MARKS: &str = "SELECT pack, audit_seq, last_run FROM check_runs";

#[cfg(test)]
mod tests {
    use super::*;

    /// The findings list is read from migration 0017's index only while the statement orders by
    /// the very expression that index holds.
    #[test]
    fn the_severity_order_is_the_one_its_index_holds() {
        let migration = include_str!("../migrations/0017_findings_list_order.sql");
        assert!(
            migration.contains(&format!("({})", severity_place("severity"))),
            "migration 0017 indexes another severity order than {}",
            severity_place("severity")
        );
        // Most severe first; a word the model does not know after every one it knows.
        let places: Vec<usize> = Finding::SEVERITIES
            .iter()
            .map(|s| {
                severity_place("x")
                    .split(&format!("'{s}' THEN "))
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(usize::MAX)
            })
            .collect();
        assert_eq!(places, vec![4, 3, 2, 1, 0]);
        assert!(severity_place("x").ends_with("ELSE 5 END"));
        // The place a severity filter binds is the one the column holds.
        for s in Finding::SEVERITIES {
            let when = format!("'{s}' THEN {} ", severity_place_of(s));
            assert!(severity_place("x").contains(&when), "{when}");
        }
        assert_eq!(severity_place_of("urgent"), 5);
        assert_eq!(severity_place_of("critical"), 0);
    }
}
