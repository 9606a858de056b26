//! A register's rows read and written one at a time by whoever a stamp is, each row with its
//! version (a digest of its content, which HTTP sends as an ETag): what the JSON API does with
//! the registers. The authorisation model is the one every way in uses ([`crate::authority`]);
//! field values are written as in the registers' CSV files.

use sha2::{Digest, Sha256};
use steward_model::{Register, Row, Value};

use crate::authority::Operation;
use crate::{FieldProblem, Result, ServiceError, Stamp, Steward, shown};

/// Which rows of a register to list, and in what order.
#[derive(Debug, Clone, Default)]
pub struct RowQuery {
    /// Fields that must hold exactly these values (in their CSV spelling).
    pub equal: Vec<(String, String)>,
    /// Text to find, in any case, in the register's searchable fields.
    pub search: Option<String>,
    /// A field to order by first (and whether downwards), then the id.
    pub sort: Option<(String, bool)>,
    /// The id of the last row of the page before.
    pub after: Option<String>,
    pub limit: u64,
}

/// The fields a register's search looks in: its text, identifier and word fields.
pub fn searchable_fields(register: Register) -> Vec<&'static str> {
    register
        .fields()
        .iter()
        .filter(|f| f.csv && f.ty.is_lookup_text())
        .map(|f| f.name)
        .collect()
}

/// A row's version: the SHA-256 of its content as the audit log writes it, in hex. Any change
/// to any field gives another.
pub fn row_version(row: &Row) -> String {
    let canonical = steward_model::audit::canonical_json(&row.to_json());
    let digest = Sha256::digest(canonical.as_bytes());
    hex::encode(digest)
}

/// `register`'s field `name`, if it is one a file (and so a client) may name.
fn column(register: Register, name: &str) -> Option<&'static steward_model::Field> {
    register.fields().iter().find(|f| f.csv && f.name == name)
}

/// Why rows cannot be found or ordered by `name`, if they cannot.
fn not_filterable(register: Register, what: &'static str, name: &str) -> Option<FieldProblem> {
    match column(register, name) {
        None => Some(FieldProblem {
            field: what,
            value: shown(name),
            reason: format!("not a field of {}", register.entity()),
        }),
        Some(f) if !f.ty.is_lookup_text() => Some(FieldProblem {
            field: what,
            value: shown(name),
            reason: "rows are found and ordered by text fields only".into(),
        }),
        Some(_) => None,
    }
}

fn unknown_field(register: Register, name: &str) -> FieldProblem {
    FieldProblem {
        field: "field",
        value: shown(name),
        reason: format!("not a field of {}", register.entity()),
    }
}

impl Steward {
    /// A page of `register`'s rows as `stamp` may read them. Every field named must be one of
    /// the register's.
    pub fn list_rows(
        &self,
        stamp: &Stamp,
        register: Register,
        query: &RowQuery,
    ) -> Result<Vec<Row>> {
        stamp.authorise(register, Operation::Read)?;
        let mut problems: Vec<FieldProblem> = query
            .equal
            .iter()
            .filter_map(|(name, _)| not_filterable(register, "field", name))
            .collect();
        if let Some((name, _)) = &query.sort {
            problems.extend(not_filterable(register, "sort", name));
        }
        if !problems.is_empty() {
            return Err(ServiceError::Invalid { register, problems });
        }
        let (rows, _) = self.store().list_page(&steward_store::ListPage {
            register,
            equal: query
                .equal
                .iter()
                .map(|(f, v)| (f.as_str(), v.as_str()))
                .collect(),
            search: query
                .search
                .as_deref()
                .map(|text| (searchable_fields(register), text)),
            limit: query.limit,
            after: query.after.as_deref(),
            sort: query.sort.as_ref().map(|(f, down)| (f.as_str(), *down)),
            referenced_by: None,
        })?;
        Ok(rows)
    }

    /// A row made from field values as a CSV file writes them, every problem found at once:
    /// an unknown field, a value its field does not take, a required field left out.
    pub fn row_from_fields(&self, register: Register, fields: &[(String, String)]) -> Result<Row> {
        let mut values = vec![Value::Null; register.fields().len()];
        let mut problems = Vec::new();
        for (name, text) in fields {
            let Some(i) = register
                .fields()
                .iter()
                .position(|f| f.csv && f.name == name.as_str())
            else {
                problems.push(unknown_field(register, name));
                continue;
            };
            let field = &register.fields()[i];
            match field.parse(text.trim()) {
                Ok(value) => values[i] = value,
                Err(reason) => problems.push(FieldProblem {
                    field: field.name,
                    value: shown(text),
                    reason,
                }),
            }
        }
        for (field, value) in register.fields().iter().zip(&values) {
            // A value refused has said so already.
            if field.csv
                && field.required
                && *value == Value::Null
                && problems.iter().all(|p| p.field != field.name)
            {
                problems.push(FieldProblem {
                    field: field.name,
                    value: String::new(),
                    reason: "required".into(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(ServiceError::Invalid { register, problems });
        }
        Row::new(register, values).map_err(|e| ServiceError::Invalid {
            register,
            problems: vec![FieldProblem {
                field: "row",
                value: String::new(),
                reason: e.to_string(),
            }],
        })
    }

    /// Adds a row made from field values, as `stamp` may: the row as stored.
    pub fn create_from_fields(
        &self,
        stamp: &Stamp,
        register: Register,
        fields: &[(String, String)],
    ) -> Result<Row> {
        let row = self.row_from_fields(register, fields)?;
        let id = row.id().to_owned();
        self.create_row(stamp, row)?;
        self.stored(register, &id)
    }

    /// Changes fields of row `id` as [`Steward::set_fields`] does, only if the row is still at
    /// `version` (what the client read; `None`: whatever it is now): refused with
    /// [`ServiceError::Stale`] otherwise, so no one overwrites a change they have not seen. The
    /// row as stored.
    pub fn update_if(
        &self,
        stamp: &Stamp,
        register: Register,
        id: &str,
        changes: &[(String, String)],
        version: Option<&str>,
    ) -> Result<Row> {
        stamp.authorise(register, Operation::Update)?;
        let now = self.stored(register, id)?;
        if version.is_some_and(|v| row_version(&now) != v) {
            return Err(ServiceError::Stale {
                register,
                id: id.to_owned(),
            });
        }
        // Checked again as the change commits: another's change in between refuses it.
        self.set_fields_of(stamp, now, changes, version.is_some())?;
        self.stored(register, id)
    }

    fn stored(&self, register: Register, id: &str) -> Result<Row> {
        self.store()
            .get(register, id)?
            .ok_or_else(|| ServiceError::NotFound {
                register,
                id: id.to_owned(),
            })
    }
}
