use crate::ModelError;
use crate::field::Field;
use crate::records::{Account, Asset, BudgetCentre, Organisation, Person, System};
use crate::value::Value;

/// The registers Steward keeps. Adding one is: a `record!` in `records.rs`, a variant here, and a
/// migration in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Register {
    Organisation,
    BudgetCentres,
    Systems,
    People,
    Assets,
    Accounts,
}

impl Register {
    /// Every register, in dependency order: a register only refers to registers before it.
    pub const ALL: [Register; 6] = [
        Register::Organisation,
        Register::BudgetCentres,
        Register::Systems,
        Register::People,
        Register::Assets,
        Register::Accounts,
    ];

    /// The register's name on the command line, in file names and as the table name.
    pub fn name(self) -> &'static str {
        match self {
            Register::Organisation => "organisation",
            Register::BudgetCentres => "budget_centres",
            Register::Systems => "systems",
            Register::People => "people",
            Register::Assets => "assets",
            Register::Accounts => "accounts",
        }
    }

    /// What one row is, in the policies' language; the entity type in the audit log.
    pub fn entity(self) -> &'static str {
        match self {
            Register::Organisation => "organisation",
            Register::BudgetCentres => "budget_centre",
            Register::Systems => "system",
            Register::People => "person",
            Register::Assets => "asset",
            Register::Accounts => "account",
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.csv", self.name())
    }

    pub fn fields(self) -> &'static [Field] {
        match self {
            Register::Organisation => Organisation::FIELDS,
            Register::BudgetCentres => BudgetCentre::FIELDS,
            Register::Systems => System::FIELDS,
            Register::People => Person::FIELDS,
            Register::Assets => Asset::FIELDS,
            Register::Accounts => Account::FIELDS,
        }
    }

    /// The id field is always the first.
    pub fn id_field(self) -> &'static Field {
        &self.fields()[0]
    }

    pub fn field_index(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name == name)
    }

    /// Accepts the register name, its entity name, or its file name.
    pub fn parse(text: &str) -> Option<Register> {
        let text = text.strip_suffix(".csv").unwrap_or(text);
        Register::ALL.into_iter().find(|r| {
            r.name() == text
                || r.entity() == text
                || (text == "budget-centres" && *r == Register::BudgetCentres)
        })
    }
}

impl std::fmt::Display for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One row of a register, its values in the register's field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub register: Register,
    pub values: Vec<Value>,
}

impl Row {
    pub fn new(register: Register, values: Vec<Value>) -> Result<Row, ModelError> {
        let expected = register.fields().len();
        if values.len() != expected {
            return Err(ModelError::Arity {
                register: register.name(),
                expected,
                found: values.len(),
            });
        }
        Ok(Row { register, values })
    }

    pub fn id(&self) -> &str {
        self.values.first().and_then(Value::as_text).unwrap_or("")
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.register
            .field_index(field)
            .and_then(|i| self.values.get(i))
    }

    pub fn set(&mut self, field: &str, value: Value) -> bool {
        match self
            .register
            .field_index(field)
            .and_then(|i| self.values.get_mut(i))
        {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// The row as a JSON object, keys in field order. The audit log re-encodes it canonically.
    pub fn to_json(&self) -> serde_json::Value {
        let map = self
            .register
            .fields()
            .iter()
            .zip(&self.values)
            .map(|(f, v)| (f.name.to_owned(), v.to_json()))
            .collect();
        serde_json::Value::Object(map)
    }

    /// What is wrong within this row alone, by field: rules across fields that need no database.
    /// Imports and single writes both apply them; a new register adds its own here.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let text = |f: &str| self.get(f).and_then(Value::as_text);
        let date = |f: &str| match self.get(f) {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        };
        match self.register {
            Register::People => {
                if let (Some(start), Some(leave)) = (date("start_date"), date("leave_date"))
                    && leave < start
                {
                    out.push(("leave_date", format!("before the start date {start}")));
                }
                if text("manager_id").is_some_and(|m| m == self.id()) {
                    out.push(("manager_id", "a person cannot be their own manager".into()));
                }
            }
            Register::Assets if date("assigned_on").is_some() && text("assigned_to").is_none() => {
                out.push(("assigned_on", "set without assigned_to".into()));
            }
            Register::Organisation => {
                let tz = text("time_zone").unwrap_or_default();
                if tz.parse::<chrono_tz::Tz>().is_err() {
                    out.push((
                        "time_zone",
                        "not an IANA time zone name such as Europe/London".into(),
                    ));
                }
            }
            _ => {}
        }
        out
    }

    /// The row as canonical JSON (keys sorted, no white space): what the audit log stores and
    /// hashes. Equal to `audit::canonical_json(&self.to_json())`, without building the tree.
    pub fn canonical_json(&self) -> String {
        let fields = self.register.fields();
        let mut order: Vec<usize> = (0..fields.len()).collect();
        order.sort_by_key(|&i| fields[i].name);
        let mut out = String::with_capacity(32 * fields.len());
        out.push('{');
        for (n, i) in order.into_iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            push_json_string(&mut out, fields[i].name);
            out.push(':');
            match self.values.get(i) {
                None | Some(Value::Null) => out.push_str("null"),
                Some(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
                Some(Value::Text(s)) => push_json_string(&mut out, s),
                Some(other) => push_json_string(&mut out, &other.to_text()),
            }
        }
        out.push('}');
        out
    }

    /// The names of the fields whose values differ between two rows of the same register.
    pub fn changed_fields(&self, other: &Row) -> Vec<&'static str> {
        self.register
            .fields()
            .iter()
            .zip(self.values.iter().zip(&other.values))
            .filter(|(_, (a, b))| a != b)
            .map(|(f, _)| f.name)
            .collect()
    }
}

/// A typed record of a register.
pub trait Record: Sized {
    const REGISTER: Register;
    fn id(&self) -> &str;
    fn to_row(&self) -> Row;
    fn from_row(row: &Row) -> Result<Self, ModelError>;
}

/// A JSON string literal, escaped exactly as serde_json escapes it.
fn push_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::canonical_json;

    #[test]
    fn canonical_json_of_a_row_matches_the_general_encoder() {
        let awkward = [
            "plain",
            "quote \" and \\ slash",
            "line\nbreak\ttab\r",
            "\u{1}\u{8}\u{c}\u{1f}\u{7f}",
            "Siân “curly” 😀",
            "",
        ];
        for text in awkward {
            let mut row = crate::Person {
                id: "P1".into(),
                name: text.into(),
                email: None,
                staff_group: "fca".into(),
                manager_id: None,
                budget_centre: None,
                status: crate::PersonStatus::Active,
                start_date: chrono::NaiveDate::from_ymd_opt(2020, 1, 1),
                leave_date: None,
                clearance: None,
                clearance_expires: None,
                byod: Some(true),
            }
            .to_row();
            assert_eq!(
                row.canonical_json(),
                canonical_json(&row.to_json()),
                "{text:?}"
            );
            row.set("byod", Value::Null);
            assert_eq!(
                row.canonical_json(),
                canonical_json(&row.to_json()),
                "{text:?}"
            );
        }
    }
}
