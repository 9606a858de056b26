//! What each column of a register's file takes, in words a person filling the file in can follow
//! without reading code: derived from the same field table that [`crate::read`] checks against.

use steward_model::{Field, FieldType, Register};

/// One column of a register's CSV file, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// The column must be in the header and every row must give it a value.
    pub required: bool,
    /// The column identifies a row (alone, or with the other columns marked so): a row whose
    /// value is new is created, one already registered is updated.
    pub identifies: bool,
    /// What a cell holds, in plain words: its type, its shape, its limits.
    pub takes: String,
}

/// Every CSV column of `register`, in the order [`crate::write`] writes them.
pub fn columns(register: Register) -> Vec<Column> {
    let keys = register.key_indices();
    register
        .csv_fields()
        .map(|(index, field)| Column {
            name: field.name,
            required: field.required,
            identifies: keys.contains(&index),
            takes: takes(field),
        })
        .collect()
}

/// What a cell of `field` takes, as the importer will check it.
pub fn takes(field: &Field) -> String {
    if let Some(target) = field.refers_to {
        // The import registers a budget centre nobody registered yet; anything else must exist.
        let whence = if target == Register::BudgetCentres {
            "one not yet registered is registered, with its code as its name"
        } else {
            "in this import or already registered"
        };
        return format!(
            "a reference to another register: the {} of {} in the {} register ({whence})",
            target.id_field().name,
            a(&target.entity().replace('_', " ")),
            target.name(),
        );
    }
    let most = field.max_chars;
    match field.ty {
        FieldType::Text => format!("text, at most {most} characters"),
        FieldType::Id => format!("an identifier: no spaces, at most {most} characters"),
        FieldType::Slug => format!(
            "a lower-case id of letters, digits, hyphens, underscores and dots, such as \
             business-services; at most {most} characters"
        ),
        FieldType::Email => {
            format!("an email address such as name@example.org, at most {most} characters")
        }
        FieldType::Enum(words) => format!("one of the words {}", words.join(", ")),
        FieldType::Bool => "yes or no, written true or false".to_owned(),
        FieldType::Date => "a date as YYYY-MM-DD, such as 2026-03-01".to_owned(),
        FieldType::Timestamp => "a date and time as RFC 3339 with its offset from UTC, such as \
                                 2026-03-01T09:30:00Z or 2026-06-01T10:30:00+01:00"
            .to_owned(),
        FieldType::Money => "money in pounds, up to two decimals and not negative, such as 899.00 \
                             (no £ sign, no thousands separators)"
            .to_owned(),
        FieldType::Int => "a whole number, 0 or more, such as 2048 (digits only)".to_owned(),
        FieldType::Month => "a month as YYYY-MM, such as 2026-03".to_owned(),
        FieldType::Country => "a two-letter ISO 3166-1 country code, such as GB or FR".to_owned(),
        FieldType::Countries => {
            "two-letter ISO 3166-1 country codes separated by ;, in order, such as AE;IN".to_owned()
        }
    }
}

/// `a person`, `an asset`.
fn a(noun: &str) -> String {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_register_s_columns_are_its_header() {
        for register in Register::ALL {
            let mut out = Vec::new();
            crate::write(register, &[], &mut out).unwrap_or_else(|e| panic!("{register}: {e}"));
            let header = String::from_utf8_lossy(&out);
            let names: Vec<&str> = columns(register).iter().map(|c| c.name).collect();
            assert_eq!(format!("{}\n", names.join(",")), header, "{register}");
            let identifying = columns(register).iter().filter(|c| c.identifies).count();
            assert_eq!(identifying, register.key_indices().len(), "{register}");
            for c in columns(register) {
                assert!(!c.takes.is_empty(), "{register}.{}", c.name);
            }
            // A key may have optional parts (a sighting's device or account), never only those.
            assert!(
                columns(register).iter().any(|c| c.identifies && c.required),
                "{register}"
            );
        }
    }

    #[test]
    fn each_column_says_what_it_takes() {
        // (register, column, required, identifies, words its description holds)
        let cases: &[(Register, &str, bool, bool, &[&str])] = &[
            (
                Register::People,
                "id",
                true,
                true,
                &["identifier", "at most 128"],
            ),
            (
                Register::People,
                "name",
                true,
                false,
                &["text", "at most 200"],
            ),
            (Register::People, "email", false, false, &["email address"]),
            (
                Register::People,
                "staff_group",
                true,
                false,
                &["lower-case", "at most 64"],
            ),
            (
                Register::People,
                "status",
                true,
                false,
                &["one of the words", "starter, active, absent, leaver"],
            ),
            (
                Register::People,
                "manager_id",
                false,
                false,
                &["reference", "id of a person in the people register"],
            ),
            (
                Register::People,
                "budget_centre",
                false,
                false,
                &[
                    "code of a budget centre",
                    "not yet registered is registered",
                ],
            ),
            (
                Register::People,
                "start_date",
                false,
                false,
                &["YYYY-MM-DD"],
            ),
            (
                Register::People,
                "byod",
                false,
                false,
                &["yes or no", "true or false"],
            ),
            (
                Register::Assets,
                "cost_gbp",
                false,
                false,
                &["pounds", "899.00"],
            ),
            (Register::Assets, "last_seen", false, false, &["RFC 3339"]),
            (Register::Usage, "month", true, true, &["YYYY-MM"]),
            (
                Register::Usage,
                "asset_tag",
                true,
                true,
                &["tag of an asset"],
            ),
            (Register::Usage, "data_mb", true, false, &["whole number"]),
            (
                Register::Sightings,
                "country",
                true,
                false,
                &["ISO 3166-1", "GB"],
            ),
            (
                Register::Travel,
                "countries",
                true,
                false,
                &["separated by ;"],
            ),
        ];
        for (register, name, required, identifies, words) in cases {
            let all = columns(*register);
            let Some(column) = all.iter().find(|c| c.name == *name) else {
                panic!("{register}: no column {name}");
            };
            assert_eq!(column.required, *required, "{register}.{name}");
            assert_eq!(column.identifies, *identifies, "{register}.{name}");
            for word in *words {
                assert!(
                    column.takes.contains(word),
                    "{register}.{name}: {:?} lacks {word:?}",
                    column.takes
                );
            }
        }
        assert!(
            !columns(Register::Usage).iter().any(|c| c.name == "key"),
            "a derived key is no column"
        );
    }
}
