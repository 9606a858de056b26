use std::borrow::Cow;

use crate::ModelError;
use crate::field::Field;
use crate::processes::{
    AccessReview, Approval, ArchivedFile, BankHoliday, Charge, Course, Destruction, HeldRecord,
    Incident, InformationAsset, Notification, PolicyReview, RecurringTask, RemovableMedium,
    Request, RetentionRule, RoleGrant, TaskCompletion,
};
use crate::records::{
    Acceptance, Account, Adjustment, Asset, BudgetCentre, Exception, Organisation, Person,
    Questionnaire, Sighting, System, Training, Travel, Usage,
};
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
    Usage,
    Sightings,
    Travel,
    Training,
    Acceptances,
    Questionnaires,
    Adjustments,
    Exceptions,
    BankHolidays,
    Roles,
    Requests,
    Approvals,
    Incidents,
    Notifications,
    Charges,
    RemovableMedia,
    RetentionSchedule,
    Records,
    Destructions,
    InformationAssets,
    AccessReviews,
    Archives,
    Tasks,
    TaskCompletions,
    Courses,
    PolicyReviews,
}

impl Register {
    /// Every register, in dependency order: a register only refers to registers before it.
    pub const ALL: [Register; 32] = [
        Register::Organisation,
        Register::BudgetCentres,
        Register::Systems,
        Register::People,
        Register::Assets,
        Register::Accounts,
        Register::Usage,
        Register::Sightings,
        Register::Travel,
        Register::Training,
        Register::Acceptances,
        Register::Questionnaires,
        Register::Adjustments,
        Register::Exceptions,
        Register::BankHolidays,
        Register::Roles,
        Register::Requests,
        Register::Approvals,
        Register::Incidents,
        Register::Notifications,
        Register::Charges,
        Register::RemovableMedia,
        Register::RetentionSchedule,
        Register::Records,
        Register::Destructions,
        Register::InformationAssets,
        Register::AccessReviews,
        Register::Archives,
        Register::Tasks,
        Register::TaskCompletions,
        Register::Courses,
        Register::PolicyReviews,
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
            Register::Usage => "usage",
            Register::Sightings => "sightings",
            Register::Travel => "travel",
            Register::Training => "training",
            Register::Acceptances => "acceptances",
            Register::Questionnaires => "questionnaires",
            Register::Adjustments => "adjustments",
            Register::Exceptions => "exceptions",
            Register::BankHolidays => "bank_holidays",
            Register::Roles => "roles",
            Register::Requests => "requests",
            Register::Approvals => "approvals",
            Register::Incidents => "incidents",
            Register::Notifications => "notifications",
            Register::Charges => "charges",
            Register::RemovableMedia => "removable_media",
            Register::RetentionSchedule => "retention_schedule",
            Register::Records => "records",
            Register::Destructions => "destructions",
            Register::InformationAssets => "information_assets",
            Register::AccessReviews => "access_reviews",
            Register::Archives => "archives",
            Register::Tasks => "tasks",
            Register::TaskCompletions => "task_completions",
            Register::Courses => "courses",
            Register::PolicyReviews => "policy_reviews",
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
            Register::Usage => "usage",
            Register::Sightings => "sighting",
            Register::Travel => "travel",
            Register::Training => "training",
            Register::Acceptances => "acceptance",
            Register::Questionnaires => "questionnaire",
            Register::Adjustments => "adjustment",
            Register::Exceptions => "exception",
            Register::BankHolidays => "bank_holiday",
            Register::Roles => "role",
            Register::Requests => "request",
            Register::Approvals => "approval",
            Register::Incidents => "incident",
            Register::Notifications => "notification",
            Register::Charges => "charge",
            Register::RemovableMedia => "removable_medium",
            Register::RetentionSchedule => "retention_rule",
            Register::Records => "record",
            Register::Destructions => "destruction",
            Register::InformationAssets => "information_asset",
            Register::AccessReviews => "access_review",
            Register::Archives => "archived_file",
            Register::Tasks => "task",
            Register::TaskCompletions => "task_completion",
            Register::Courses => "course",
            Register::PolicyReviews => "policy_review",
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.csv", self.name())
    }

    /// The positions of [`Register::fields`] in the order of the fields' names: the order of a
    /// row's canonical JSON.
    pub fn fields_by_name(self) -> Cow<'static, [usize]> {
        fn sorted(register: Register) -> Vec<usize> {
            let fields = register.fields();
            let mut order: Vec<usize> = (0..fields.len()).collect();
            order.sort_by_key(|&i| fields[i].name);
            order
        }
        // Sorted once per register, not once per row.
        static ORDERS: std::sync::OnceLock<Vec<Vec<usize>>> = std::sync::OnceLock::new();
        let orders = ORDERS.get_or_init(|| Register::ALL.iter().map(|r| sorted(*r)).collect());
        match Register::ALL.iter().position(|r| *r == self) {
            Some(at) if at < orders.len() => Cow::Borrowed(orders[at].as_slice()),
            _ => Cow::Owned(sorted(self)),
        }
    }

    /// Every field, derived ones included: the database columns, in order. The CSV columns are
    /// the fields with [`Field::csv`] set ([`Register::csv_fields`]).
    pub fn fields(self) -> &'static [Field] {
        match self {
            Register::Organisation => Organisation::FIELDS,
            Register::BudgetCentres => BudgetCentre::FIELDS,
            Register::Systems => System::FIELDS,
            Register::People => Person::FIELDS,
            Register::Assets => Asset::FIELDS,
            Register::Accounts => Account::FIELDS,
            Register::Usage => Usage::FIELDS,
            Register::Sightings => Sighting::FIELDS,
            Register::Travel => Travel::FIELDS,
            Register::Training => Training::FIELDS,
            Register::Acceptances => Acceptance::FIELDS,
            Register::Questionnaires => Questionnaire::FIELDS,
            Register::Adjustments => Adjustment::FIELDS,
            Register::Exceptions => Exception::FIELDS,
            Register::BankHolidays => BankHoliday::FIELDS,
            Register::Roles => RoleGrant::FIELDS,
            Register::Requests => Request::FIELDS,
            Register::Approvals => Approval::FIELDS,
            Register::Incidents => Incident::FIELDS,
            Register::Notifications => Notification::FIELDS,
            Register::Charges => Charge::FIELDS,
            Register::RemovableMedia => RemovableMedium::FIELDS,
            Register::RetentionSchedule => RetentionRule::FIELDS,
            Register::Records => HeldRecord::FIELDS,
            Register::Destructions => Destruction::FIELDS,
            Register::InformationAssets => InformationAsset::FIELDS,
            Register::AccessReviews => AccessReview::FIELDS,
            Register::Archives => ArchivedFile::FIELDS,
            Register::Tasks => RecurringTask::FIELDS,
            Register::TaskCompletions => TaskCompletion::FIELDS,
            Register::Courses => Course::FIELDS,
            Register::PolicyReviews => PolicyReview::FIELDS,
        }
    }

    /// The fields a CSV file holds, with their index among [`Register::fields`].
    pub fn csv_fields(self) -> impl Iterator<Item = (usize, &'static Field)> {
        self.fields().iter().enumerate().filter(|(_, f)| f.csv)
    }

    /// The id field is always the first: the table's primary key, the audit log's entity id.
    /// For a register keyed on several fields it is the derived `key`.
    pub fn id_field(self) -> &'static Field {
        &self.fields()[0]
    }

    /// Whether the first field is a `key` derived from other fields rather than a CSV column.
    pub fn has_derived_key(self) -> bool {
        !self.id_field().csv
    }

    /// The key a row of one value per field (`values`) has, where this register's id is derived
    /// from other fields (`usage`: month and asset tag); `None` where its id is its own field.
    pub fn derived_key(self, values: &[Value]) -> Option<String> {
        self.has_derived_key().then(|| {
            join_key(
                self.key_indices()
                    .iter()
                    .map(|&i| values.get(i).unwrap_or(&Value::Null)),
            )
        })
    }

    /// The indices of the fields that identify a row: the id alone (`[0]`), or the fields the
    /// derived key is made of, in key order.
    pub fn key_indices(self) -> &'static [usize] {
        match self {
            Register::Organisation => Organisation::KEY_INDICES,
            Register::BudgetCentres => BudgetCentre::KEY_INDICES,
            Register::Systems => System::KEY_INDICES,
            Register::People => Person::KEY_INDICES,
            Register::Assets => Asset::KEY_INDICES,
            Register::Accounts => Account::KEY_INDICES,
            Register::Usage => Usage::KEY_INDICES,
            Register::Sightings => Sighting::KEY_INDICES,
            Register::Travel => Travel::KEY_INDICES,
            Register::Training => Training::KEY_INDICES,
            Register::Acceptances => Acceptance::KEY_INDICES,
            Register::Questionnaires => Questionnaire::KEY_INDICES,
            Register::Adjustments => Adjustment::KEY_INDICES,
            Register::Exceptions => Exception::KEY_INDICES,
            Register::BankHolidays => BankHoliday::KEY_INDICES,
            Register::Roles => RoleGrant::KEY_INDICES,
            Register::Requests => Request::KEY_INDICES,
            Register::Approvals => Approval::KEY_INDICES,
            Register::Incidents => Incident::KEY_INDICES,
            Register::Notifications => Notification::KEY_INDICES,
            Register::Charges => Charge::KEY_INDICES,
            Register::RemovableMedia => RemovableMedium::KEY_INDICES,
            Register::RetentionSchedule => RetentionRule::KEY_INDICES,
            Register::Records => HeldRecord::KEY_INDICES,
            Register::Destructions => Destruction::KEY_INDICES,
            Register::InformationAssets => InformationAsset::KEY_INDICES,
            Register::AccessReviews => AccessReview::KEY_INDICES,
            Register::Archives => ArchivedFile::KEY_INDICES,
            Register::Tasks => RecurringTask::KEY_INDICES,
            Register::TaskCompletions => TaskCompletion::KEY_INDICES,
            Register::Courses => Course::KEY_INDICES,
            Register::PolicyReviews => PolicyReview::KEY_INDICES,
        }
    }

    /// The fields that identify a row (see [`Register::key_indices`]).
    pub fn key_fields(self) -> impl Iterator<Item = &'static Field> {
        let fields = self.fields();
        self.key_indices().iter().filter_map(|&i| fields.get(i))
    }

    pub fn field_index(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name == name)
    }

    /// The field called `name`, if the register has one.
    pub fn field(self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// Accepts the register name, its entity name, or its file name.
    pub fn parse(text: &str) -> Option<Register> {
        let text = text.strip_suffix(".csv").unwrap_or(text);
        Register::from_entity(text).or_else(|| {
            Register::ALL.into_iter().find(|r| {
                r.name() == text || (text == "budget-centres" && *r == Register::BudgetCentres)
            })
        })
    }

    /// The register whose rows are of `entity` (an audit record's entity type, a record page's
    /// path), by its entity name alone.
    pub fn from_entity(entity: &str) -> Option<Register> {
        Register::ALL.into_iter().find(|r| r.entity() == entity)
    }
}

impl std::fmt::Display for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The position of the field called `name`; evaluated when the crate compiles (a `record!`'s key
/// naming no field is a compile error).
pub(crate) const fn position(fields: &[Field], name: &str) -> usize {
    let mut i = 0;
    while i < fields.len() {
        let a = fields[i].name.as_bytes();
        let b = name.as_bytes();
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("a key names a field the record does not have")
}

/// A derived key: the parts' interchange texts joined with `/`, with any `%` or `/` inside a part
/// written `%25` or `%2F`, so that different parts always give different keys
/// (`2026-10/MOB000123`, `MOB000123/2026-11-20T08:14:00Z`).
///
/// Empty parts at the end are left out, so that a key part added to a register later, optional,
/// keeps every existing row's key (a device's sighting is still `TAG/TIME` now that an account's
/// can be `/TIME/ACCOUNT`).
pub fn join_key<'a>(parts: impl IntoIterator<Item = &'a Value>) -> String {
    // One pass, no list of the parts: a `/` is owed before each part after the first, and paid
    // only when a later part is given, so trailing empty parts leave nothing behind.
    let mut key = String::with_capacity(32);
    let mut owed = 0;
    for (n, part) in parts.into_iter().enumerate() {
        if n > 0 {
            owed += 1;
        }
        if matches!(part, Value::Null) {
            continue;
        }
        for _ in 0..owed {
            key.push('/');
        }
        owed = 0;
        let text = match part {
            Value::Text(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_text()),
        };
        if !text.contains(['%', '/']) {
            key.push_str(&text);
            continue;
        }
        for c in text.chars() {
            match c {
                '%' => key.push_str("%25"),
                '/' => key.push_str("%2F"),
                c => key.push(c),
            }
        }
    }
    key
}

/// The fields one source set on one record, as a sync records their provenance: one record
/// id and the field names the register itself holds, not a copy of both per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedFields {
    pub register: Register,
    pub record_id: String,
    pub fields: Vec<&'static str>,
}

/// One row of a register, its values in the register's field order.
///
/// A row is always whole and consistent: it has one value per field, and a register keyed on
/// several fields has its `key` (the first value) derived from them whenever the row is built or
/// one of them is set. The fields are private so that no caller can break either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    register: Register,
    values: Vec<Value>,
}

impl Row {
    /// A row from one value per field, in field order. A derived `key` is computed from its
    /// parts: whatever is given in its place is ignored (pass [`Value::Null`]).
    pub fn new(register: Register, values: Vec<Value>) -> Result<Row, ModelError> {
        let expected = register.fields().len();
        if values.len() != expected {
            return Err(ModelError::Arity {
                register: register.name(),
                expected,
                found: values.len(),
            });
        }
        Ok(Row::assemble(register, values))
    }

    /// `values` must have one value per field (the `record!` macro guarantees it).
    pub(crate) fn assemble(register: Register, values: Vec<Value>) -> Row {
        let mut row = Row { register, values };
        row.derive_key();
        row
    }

    fn derive_key(&mut self) {
        if let Some(key) = self.register.derived_key(&self.values)
            && let Some(slot) = self.values.first_mut()
        {
            *slot = Value::Text(key);
        }
    }

    pub fn register(&self) -> Register {
        self.register
    }

    /// One value per field, in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The id, or the derived key.
    pub fn id(&self) -> &str {
        self.values.first().and_then(Value::as_text).unwrap_or("")
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.register
            .field_index(field)
            .and_then(|i| self.values.get(i))
    }

    /// Sets a field; a derived key follows its parts. `false` (and nothing changed) for an
    /// unknown field or a derived one.
    pub fn set(&mut self, field: &str, value: Value) -> bool {
        let Some(i) = self.register.field_index(field) else {
            return false;
        };
        if !self.register.fields()[i].csv {
            return false;
        }
        match self.values.get_mut(i) {
            Some(slot) => {
                *slot = value;
                if self.register.key_indices().contains(&i) {
                    self.derive_key();
                }
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
        let int = |f: &str| match self.get(f) {
            Some(Value::Int(n)) => Some(*n),
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
            Register::Sightings if text("asset_tag").is_none() && text("account_id").is_none() => {
                out.push((
                    "asset_tag",
                    "one of asset_tag and account_id is required".into(),
                ));
            }
            Register::Travel => {
                if let (Some(depart), Some(back)) = (date("depart_on"), date("return_on"))
                    && back < depart
                {
                    out.push(("return_on", format!("before the departure date {depart}")));
                }
            }
            Register::Training => {
                if let (Some(done), Some(expires)) = (date("completed_on"), date("expires_on"))
                    && expires < done
                {
                    out.push(("expires_on", format!("before the completion date {done}")));
                }
            }
            Register::Adjustments => {
                if let (Some(approved), Some(expires)) = (date("approved_on"), date("expires_on"))
                    && expires < approved
                {
                    out.push(("expires_on", format!("before the approval date {approved}")));
                }
            }
            Register::Exceptions => {
                if let (Some(granted), Some(expires)) = (date("granted_on"), date("expires_on"))
                    && expires < granted
                {
                    out.push(("expires_on", format!("before the grant date {granted}")));
                }
            }
            Register::RemovableMedia
                if date("destroyed_on").is_some() && text("destruction_method").is_none() =>
            {
                out.push((
                    "destruction_method",
                    "required once destroyed_on is set".into(),
                ));
            }
            Register::Archives
                if date("transferred_on").is_some() && text("transferred_to").is_none() =>
            {
                out.push((
                    "transferred_to",
                    "required once transferred_on is set".into(),
                ));
            }
            Register::Tasks | Register::InformationAssets | Register::RetentionSchedule => {
                for field in ["every_days", "review_every_months", "period_months"] {
                    if let Some(Value::Int(n)) = self.get(field)
                        && *n <= 0
                    {
                        out.push((field, "must be at least 1".into()));
                    }
                }
            }
            Register::Organisation => {
                let tz = text("time_zone").unwrap_or_default();
                if tz.parse::<chrono_tz::Tz>().is_err() {
                    out.push((
                        "time_zone",
                        "not an IANA time zone name such as Europe/London".into(),
                    ));
                }
                for f in ["compliance_green", "compliance_amber"] {
                    if int(f).is_some_and(|n| !(0..=100).contains(&n)) {
                        out.push((f, "a share in percent: from 0 to at most 100".into()));
                    }
                }
                if let (Some(green), Some(amber)) =
                    (int("compliance_green"), int("compliance_amber"))
                    && amber > green
                {
                    out.push((
                        "compliance_amber",
                        format!("above the green threshold {green}: amber must be lower"),
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
        let mut out = String::with_capacity(32 * fields.len());
        out.push('{');
        for (n, &i) in self.register.fields_by_name().iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            push_json_string(&mut out, fields[i].name);
            out.push(':');
            match self.values.get(i) {
                None | Some(Value::Null) => out.push_str("null"),
                Some(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
                Some(Value::Text(s)) => push_json_string(&mut out, s),
                Some(n @ Value::Int(_)) => n.push_text(&mut out),
                // Dates, instants and amounts spell no character JSON escapes.
                Some(other) => {
                    out.push('"');
                    other.push_text(&mut out);
                    out.push('"');
                }
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
    /// The id, or the key derived from the key fields: what [`Row::id`] of [`Record::to_row`] is.
    fn id(&self) -> Cow<'_, str>;
    fn to_row(&self) -> Row;
    fn from_row(row: &Row) -> Result<Self, ModelError>;
}

/// A JSON string literal, escaped exactly as serde_json escapes it.
fn push_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    push_escaped(
        out,
        s,
        |b| b < 0x20 || b == b'"' || b == b'\\',
        |b, out| match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        },
    );
    out.push('"');
}

/// Appends `s` with the ASCII bytes `escapes` picks written by `write` instead. The runs between
/// them are copied whole; as only ASCII bytes are picked, every cut falls between characters.
pub fn push_escaped(
    out: &mut String,
    s: &str,
    escapes: impl Fn(u8) -> bool,
    mut write: impl FnMut(u8, &mut String),
) {
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii() && escapes(b) {
            out.push_str(&s[from..i]);
            write(b, out);
            from = i + 1;
        }
    }
    out.push_str(&s[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::canonical_json;

    /// A derived key is its parts' texts joined with `/`, each `%` and `/` escaped, empty parts
    /// after the last given one left out: the definition, over every list of up to three of
    /// some awkward parts.
    #[test]
    fn a_key_joins_its_parts_as_defined() {
        let defined = |parts: &[&Value]| -> String {
            let given = parts
                .iter()
                .rposition(|p| !matches!(p, Value::Null))
                .map_or(0, |last| last + 1);
            let texts: Vec<String> = parts[..given]
                .iter()
                .map(|p| p.to_text().replace('%', "%25").replace('/', "%2F"))
                .collect();
            texts.join("/")
        };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("a date");
        let awkward = [
            Value::Null,
            Value::Text(String::new()),
            Value::Text("MOB001".into()),
            Value::Text("a/b%2F/".into()),
            Value::Text("Siân%".into()),
            Value::Date(day),
            Value::Int(42),
        ];
        // Every list of each length, the longer made from the shorter.
        let mut lists: Vec<Vec<&Value>> = vec![Vec::new()];
        let mut of_length: Vec<Vec<&Value>> = vec![Vec::new()];
        for _ in 0..3 {
            of_length = of_length
                .iter()
                .flat_map(|l| {
                    awkward.iter().map(move |v| {
                        let mut l = l.clone();
                        l.push(v);
                        l
                    })
                })
                .collect();
            lists.extend(of_length.iter().cloned());
        }
        assert_eq!(lists.len(), 1 + 7 + 49 + 343);
        for parts in &lists {
            assert_eq!(join_key(parts.iter().copied()), defined(parts), "{parts:?}");
        }
    }

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
                weekly_digest: None,
                job_title: None,
                source: None,
                source_seen: None,
                missing_since: None,
            }
            .to_row();
            assert_eq!(
                row.canonical_json(),
                canonical_json(&row.to_json()),
                "{text:?}"
            );
            row.set("byod", Value::Null);
            row.set(
                "source_seen",
                Value::Timestamp(chrono::DateTime::from_timestamp(1_764_000_000, 5_000).unwrap()),
            );
            assert_eq!(
                row.canonical_json(),
                canonical_json(&row.to_json()),
                "{text:?}"
            );
        }
        let usage = crate::Usage {
            month: "2026-10".parse().unwrap(),
            asset_tag: "MOB/1".into(),
            data_mb: i64::MAX,
            roaming_mb: Some(0),
            voice_minutes: None,
            texts: Some(7),
            private_cost_gbp: Some(crate::Pence(1)),
        }
        .to_row();
        assert_eq!(usage.canonical_json(), canonical_json(&usage.to_json()));
        assert!(
            usage
                .canonical_json()
                .contains("\"data_mb\":9223372036854775807")
        );
        assert!(
            usage
                .canonical_json()
                .contains("\"key\":\"2026-10/MOB%2F1\"")
        );
    }

    #[test]
    fn row_problems_across_the_new_registers() {
        let date = |s: &str| Value::Date(s.parse().unwrap());
        let text = |s: &str| Value::Text(s.into());
        let travel = Row::new(
            Register::Travel,
            vec![
                text("T1"),
                text("P1"),
                text("FR"),
                date("2026-10-05"),
                date("2026-10-04"),
                text("approved"),
                Value::Null,
            ],
        )
        .unwrap();
        assert_eq!(
            travel.problems(),
            [(
                "return_on",
                "before the departure date 2026-10-05".to_string()
            )]
        );
        let training = Row::new(
            Register::Training,
            vec![
                Value::Null,
                text("P1"),
                text("data-protection"),
                date("2026-10-05"),
                date("2026-10-05"),
            ],
        )
        .unwrap();
        assert!(
            training.problems().is_empty(),
            "expiring on the day is fine"
        );
        let mut training = training;
        training.set("expires_on", date("2025-10-05"));
        assert_eq!(training.problems()[0].0, "expires_on");
    }
}
