//! Statements for any register, built from the model's field list. Column and table names come
//! only from the model's static definitions, never from input.

use steward_model::Register;

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

/// Ordered by id byte by byte on both backends (PostgreSQL would otherwise use its locale).
pub(crate) fn select_all_ordered(register: Register, p: Placeholder) -> String {
    let collate = match p {
        Placeholder::Question => "",
        Placeholder::Dollar => " COLLATE \"C\"",
    };
    format!(
        "{} ORDER BY {}{collate}",
        select(register),
        register.id_field().name
    )
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

pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, entity_type, entity_id, before_json, after_json, prev_hash, hash";

pub(crate) fn audit_select(entity: bool, limit: bool, p: Placeholder) -> String {
    let filter = if entity {
        format!(
            " WHERE entity_type = {} AND entity_id = {}",
            p.nth(1),
            p.nth(2)
        )
    } else {
        String::new()
    };
    if limit {
        let n = if entity { 3 } else { 1 };
        format!(
            "SELECT {AUDIT_COLUMNS} FROM (SELECT {AUDIT_COLUMNS} FROM audit_log{filter} ORDER BY seq DESC LIMIT {}) AS recent ORDER BY seq",
            p.nth(n)
        )
    } else {
        format!("SELECT {AUDIT_COLUMNS} FROM audit_log{filter} ORDER BY seq")
    }
}

pub(crate) fn audit_insert(p: Placeholder) -> String {
    let values = (1..=10).map(|i| p.nth(i)).collect::<Vec<_>>().join(", ");
    format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ({values})")
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
