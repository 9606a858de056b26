//! Test cases for check controls: small estates, a `now`, and what each subject's outcome must
//! be. This module reads and checks case files; it does not evaluate rules (the rules crate
//! does). See `docs/policy-packs.md` for the format.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use toml::Spanned;
use toml::de::DeValue;

use crate::error::{ErrorKind, PackError};
use crate::load::{Source, param_value};
use crate::rule::{article, lower_first};
use crate::schema::{FieldKind, RecordType};
use crate::types::{ControlKind, Location, Pack, ParamValue};

/// What a case expects of one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// In scope, and the rule is false (or cannot be decided): a finding.
    Fires,
    /// In scope, and the rule is true.
    Passes,
    /// Not in the control's scope: the rule is not evaluated.
    OutOfScope,
}

impl Outcome {
    pub const ALL: &'static [&'static str] = &["fires", "passes", "out_of_scope"];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fires => "fires",
            Outcome::Passes => "passes",
            Outcome::OutOfScope => "out_of_scope",
        }
    }

    pub fn parse(word: &str) -> Option<Outcome> {
        match word {
            "fires" => Some(Outcome::Fires),
            "passes" => Some(Outcome::Passes),
            "out_of_scope" => Some(Outcome::OutOfScope),
            _ => None,
        }
    }
}

/// A value of a case row's field.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseValue {
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Timestamp(DateTime<Utc>),
    List(Vec<String>),
}

impl CaseValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            CaseValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One row of a register: field name to value; absent fields are null.
pub type CaseRow = BTreeMap<String, CaseValue>;

/// One case: an estate, a time, optional parameter overrides, and the expected outcomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    pub now: DateTime<Utc>,
    /// Parameter values that differ from the pack's for this case.
    pub params: BTreeMap<String, ParamValue>,
    /// Rows by record type.
    pub estate: BTreeMap<RecordType, Vec<CaseRow>>,
    /// Subject key to expected outcome, in file order.
    pub expect: Vec<(String, Outcome)>,
    pub location: Location,
}

/// A file of cases for one check control.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFile {
    pub file: String,
    pub control: String,
    pub cases: Vec<Case>,
}

impl Case {
    pub fn rows(&self, ty: RecordType) -> &[CaseRow] {
        self.estate.get(&ty).map_or(&[], Vec::as_slice)
    }
}

/// The key a subject goes by in `expect`: its id (a person's `id`, an asset's `tag`, a system's
/// `name`…), or for a record without one the model's derived key: its key fields' texts joined
/// with `/` (usage `2026-02/P1`, a sighting `P1/2026-02-11T10:00:00Z`), a `%` or `/` inside a
/// part written `%25` or `%2F`, empty parts at the end left out.
pub fn subject_key(ty: RecordType, row: &CaseRow) -> Option<String> {
    if let Some(field) = ty.key_field() {
        return row
            .get(field)
            .and_then(CaseValue::as_str)
            .map(str::to_owned);
    }
    let parts: Vec<steward_model::Value> = ty
        .key_fields()
        .iter()
        .map(|field| match row.get(*field) {
            None => steward_model::Value::Null,
            Some(value) => steward_model::Value::Text(match value {
                CaseValue::String(s) => s.clone(),
                CaseValue::Timestamp(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                CaseValue::Bool(b) => b.to_string(),
                CaseValue::Int(i) => i.to_string(),
                CaseValue::Double(d) => d.to_string(),
                CaseValue::List(l) => l.join(";"),
            }),
        })
        .collect();
    // The model's own joining, so that a case names a record exactly as the registers key it.
    let key = steward_model::join_key(&parts);
    (!key.is_empty()).then_some(key)
}

/// Reads every `*.toml` file in `dir` as a case file for `pack`, in name order.
pub fn load_cases_dir(dir: impl AsRef<Path>, pack: &Pack) -> Result<Vec<CaseFile>, Vec<PackError>> {
    let dir = dir.as_ref();
    let io = |e: std::io::Error| {
        vec![PackError::new(
            ErrorKind::Io,
            &dir.display().to_string(),
            format!("cannot read: {}", lower_first(&e.to_string())),
        )]
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            names.push(path);
        }
    }
    names.sort();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in names {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| format!("cases/{}", n.to_string_lossy()));
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse_cases(&name, &text, pack) {
                Ok(f) => files.push(f),
                Err(e) => errors.extend(e),
            },
            Err(e) => errors.push(PackError::new(
                ErrorKind::Io,
                &name,
                format!("cannot read: {}", lower_first(&e.to_string())),
            )),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// Reads one case file and checks it against `pack`: the control exists and is a check, every
/// register and field is known, values have their field's type, required fields are present,
/// ids are unique, references resolve, and every expected subject exists.
pub fn parse_cases(name: &str, text: &str, pack: &Pack) -> Result<CaseFile, Vec<PackError>> {
    let src = Source::new(name, text);
    let mut errors = Vec::new();
    let Some(doc) = src.document(&mut errors) else {
        return Err(tag(errors, pack, None, None));
    };
    let doc_span = doc.span();
    let mut doc = doc.into_inner();
    let control_id = match doc.remove("control") {
        Some(v) => match v.get_ref().as_str() {
            Some(s) => Some((s.to_owned(), v.span())),
            None => {
                errors.push(src.error(
                    ErrorKind::Invalid,
                    &v.span(),
                    "`control` must be a control id",
                ));
                None
            }
        },
        None => {
            errors.push(src.error(
                ErrorKind::Missing,
                &doc_span,
                "a case file needs `control = \"<check control id>\"`",
            ));
            None
        }
    };
    let control = control_id.as_ref().and_then(|(id, span)| {
        let found = pack.control(id);
        match found.map(|c| &c.kind) {
            None => errors.push(src.error(
                ErrorKind::Reference,
                span,
                format!("pack `{}` has no control `{id}`", pack.id),
            )),
            Some(ControlKind::Check(_)) => {}
            Some(k) => errors.push(src.error(
                ErrorKind::Invalid,
                span,
                format!(
                    "control `{id}` is {} {}, only checks have cases",
                    article(k.name().as_str()),
                    k.name()
                ),
            )),
        }
        found
    });
    let subject = control.and_then(|c| match &c.kind {
        ControlKind::Check(check) => Some(check.subject),
        _ => None,
    });
    let _ = doc.remove("description");
    let items = match doc.remove("case").map(|v| (v.span(), v.into_inner())) {
        Some((_, DeValue::Array(items))) => items.into_iter().collect::<Vec<_>>(),
        Some((span, _)) => {
            errors.push(src.error(
                ErrorKind::Invalid,
                &span,
                "`case` must be an array of tables: `[[case]]`",
            ));
            Vec::new()
        }
        None => Vec::new(),
    };
    for (key, _) in doc.iter() {
        errors.push(src.error(
            ErrorKind::UnknownField,
            &key.span(),
            format!(
                "unknown key `{}`: a case file has `control`, `description` and `[[case]]`",
                key.get_ref()
            ),
        ));
    }
    if items.is_empty() {
        errors.push(src.error(ErrorKind::Missing, &doc_span, "the file has no `[[case]]`"));
    }
    let mut cases = Vec::new();
    let mut names = BTreeSet::new();
    for item in items {
        if let Some(case) = read_case(&src, item, pack, subject, &mut errors) {
            if !names.insert(case.name.clone()) {
                errors.push(
                    src.error(
                        ErrorKind::Duplicate,
                        &(0..0),
                        format!("two cases are named `{}`", case.name),
                    )
                    .at(Some(case.location.position)),
                );
            }
            cases.push(case);
        }
    }
    let clause = control.map(|c| c.clause.as_str());
    let control_name = control_id.as_ref().map(|(id, _)| id.as_str());
    if errors.is_empty() {
        Ok(CaseFile {
            file: name.to_owned(),
            control: control_name.unwrap_or_default().to_owned(),
            cases,
        })
    } else {
        Err(tag(errors, pack, clause, control_name))
    }
}

fn tag(
    mut errors: Vec<PackError>,
    pack: &Pack,
    clause: Option<&str>,
    control: Option<&str>,
) -> Vec<PackError> {
    errors.sort_by_key(|e| e.position);
    for e in &mut errors {
        e.pack = Some(pack.id.clone());
        if e.clause.is_none() {
            e.clause = clause.map(str::to_owned);
        }
        if e.control.is_none() {
            e.control = control.map(str::to_owned);
        }
    }
    errors
}

fn read_case(
    src: &Source<'_>,
    item: Spanned<DeValue<'_>>,
    pack: &Pack,
    subject: Option<RecordType>,
    errors: &mut Vec<PackError>,
) -> Option<Case> {
    let span = item.span();
    let DeValue::Table(table) = item.into_inner() else {
        errors.push(src.error(
            ErrorKind::Invalid,
            &span,
            "each case must be a table: `[[case]]`",
        ));
        return None;
    };
    let before = errors.len();
    let mut name = None;
    let mut now = None;
    let mut params = BTreeMap::new();
    let mut estate: BTreeMap<RecordType, Vec<(Range<usize>, CaseRow)>> = BTreeMap::new();
    let mut expect = Vec::new();
    for (key, value) in table.iter() {
        let vspan = value.span();
        match key.get_ref().as_ref() {
            "name" => match value.get_ref().as_str() {
                Some(s) if !s.trim().is_empty() => name = Some(s.to_owned()),
                _ => errors.push(src.error(
                    ErrorKind::Invalid,
                    &vspan,
                    "`name` must be a non-empty string",
                )),
            },
            "now" => match src
                .de::<toml::Value>(value.clone())
                .map_err(|e| e.reason)
                .and_then(|v| timestamp(&v))
            {
                Ok(t) => now = Some(t),
                Err(reason) => {
                    errors.push(src.error(ErrorKind::Invalid, &vspan, format!("`now`: {reason}")))
                }
            },
            "params" => match value.get_ref().as_table() {
                Some(t) => {
                    for (pname, pvalue) in t.iter() {
                        let Some(p) = pack.parameters.get(pname.get_ref().as_ref()) else {
                            errors.push(src.error(
                                ErrorKind::Reference,
                                &pname.span(),
                                format!("unknown parameter `{}`", pname.get_ref()),
                            ));
                            continue;
                        };
                        let v = src
                            .de::<toml::Value>(pvalue.clone())
                            .map_err(|e| e.reason)
                            .and_then(|v| param_value(p.ty, &v));
                        match v {
                            Ok(v) => {
                                params.insert(p.name.clone(), v);
                            }
                            Err(reason) => errors.push(src.error(
                                ErrorKind::Invalid,
                                &pvalue.span(),
                                format!("parameter `{}`: {reason}", p.name),
                            )),
                        }
                    }
                }
                None => errors.push(src.error(
                    ErrorKind::Invalid,
                    &vspan,
                    "`params` must be a table of parameter values",
                )),
            },
            "expect" => match value.get_ref().as_table() {
                Some(t) => {
                    for (k, v) in t.iter() {
                        match v.get_ref().as_str().and_then(Outcome::parse) {
                            Some(o) => expect.push((k.get_ref().to_string(), k.span(), o)),
                            None => errors.push(src.error(
                                ErrorKind::Invalid,
                                &v.span(),
                                format!(
                                    "expected outcome must be one of {}",
                                    Outcome::ALL.join("|")
                                ),
                            )),
                        }
                    }
                }
                None => errors.push(src.error(
                    ErrorKind::Invalid,
                    &vspan,
                    "`expect` must be a table of subject = \"fires\"|\"passes\"|\"out_of_scope\"",
                )),
            },
            register => {
                let Some(ty) = RecordType::from_register(register) else {
                    let all: Vec<_> = RecordType::ALL.iter().map(|r| r.register()).collect();
                    errors.push(src.error(
                        ErrorKind::UnknownField,
                        &key.span(),
                        format!("unknown key `{register}`: a case has `name`, `now`, `params`, `expect` and registers {}", all.join(", ")),
                    ));
                    continue;
                };
                let Some(rows) = value.get_ref().as_array() else {
                    errors.push(src.error(
                        ErrorKind::Invalid,
                        &vspan,
                        format!("`{register}` must be an array of tables: `[[case.{register}]]`"),
                    ));
                    continue;
                };
                for row in rows.iter() {
                    if let Some(r) = read_row(src, ty, row, errors) {
                        estate.entry(ty).or_default().push((row.span(), r));
                    }
                }
            }
        }
    }
    if name.is_none() && !table.contains_key("name") {
        errors.push(src.error(ErrorKind::Missing, &span, "a case needs a `name`"));
    }
    if now.is_none() && !table.contains_key("now") {
        errors.push(src.error(
            ErrorKind::Missing,
            &span,
            "a case needs `now`, e.g. now = 2026-03-02T12:00:00Z",
        ));
    }
    if expect.is_empty() && !table.contains_key("expect") {
        errors.push(src.error(
            ErrorKind::Missing,
            &span,
            "a case needs `[case.expect]`: each subject's outcome",
        ));
    }
    // Keys unique within each register; references resolve.
    let mut keys: BTreeMap<RecordType, BTreeSet<String>> = BTreeMap::new();
    for (ty, rows) in &estate {
        let set = keys.entry(*ty).or_default();
        for (rspan, row) in rows {
            if let Some(k) = subject_key(*ty, row)
                && !set.insert(k.clone())
            {
                errors.push(src.error(
                    ErrorKind::Duplicate,
                    rspan,
                    format!("two {} rows are `{k}`", ty.name()),
                ));
            }
        }
    }
    for (ty, rows) in &estate {
        for (rspan, row) in rows {
            for f in ty.fields() {
                if let (Some(target), Some(CaseValue::String(id))) = (f.refers_to, row.get(f.name))
                    && !keys.get(&target).is_some_and(|k| k.contains(id))
                {
                    errors.push(src.error(
                        ErrorKind::Reference,
                        rspan,
                        format!(
                            "{}.{} is `{id}`, but the case has no {} `{id}`",
                            ty.name(),
                            f.name,
                            target.name()
                        ),
                    ));
                }
            }
            if *ty == RecordType::Exception
                && let (Some(CaseValue::String(st)), Some(CaseValue::String(sid))) =
                    (row.get("subject_type"), row.get("subject_id"))
                && let Some(target) = RecordType::parse(st)
                && target.key_field().is_some()
                && !keys.get(&target).is_some_and(|k| k.contains(sid))
            {
                errors.push(src.error(
                    ErrorKind::Reference,
                    rspan,
                    format!("the exception is about {st} `{sid}`, which the case does not have"),
                ));
            }
        }
    }
    if let Some(subject) = subject {
        let subjects = keys.get(&subject);
        let mut seen = BTreeSet::new();
        for (k, kspan, _) in &expect {
            if !seen.insert(k.clone()) {
                errors.push(src.error(
                    ErrorKind::Duplicate,
                    kspan,
                    format!("`{k}` is expected twice"),
                ));
            }
            if !subjects.is_some_and(|s| s.contains(k)) {
                errors.push(src.error(
                    ErrorKind::Reference,
                    kspan,
                    format!(
                        "`{k}` is not {} {} of this case",
                        article(subject.name()),
                        subject.name()
                    ),
                ));
            }
        }
    }
    if errors.len() != before {
        return None;
    }
    Some(Case {
        name: name?,
        now: now?,
        params,
        estate: estate
            .into_iter()
            .map(|(ty, rows)| (ty, rows.into_iter().map(|(_, r)| r).collect()))
            .collect(),
        expect: expect.into_iter().map(|(k, _, o)| (k, o)).collect(),
        location: src.location(&span),
    })
}

fn read_row(
    src: &Source<'_>,
    ty: RecordType,
    row: &Spanned<DeValue<'_>>,
    errors: &mut Vec<PackError>,
) -> Option<CaseRow> {
    let Some(table) = row.get_ref().as_table() else {
        errors.push(src.error(
            ErrorKind::Invalid,
            &row.span(),
            format!("each {} row must be a table", ty.name()),
        ));
        return None;
    };
    let mut out = CaseRow::new();
    for (key, value) in table.iter() {
        let Some(field) = ty.field(key.get_ref()) else {
            let all: Vec<_> = ty.fields().iter().map(|f| f.name).collect();
            errors.push(src.error(
                ErrorKind::UnknownField,
                &key.span(),
                format!(
                    "{} has no field `{}`; its fields are {}",
                    ty.name(),
                    key.get_ref(),
                    all.join(", ")
                ),
            ));
            continue;
        };
        let vspan = value.span();
        let v: toml::Value = match src.de(value.clone()) {
            Ok(v) => v,
            Err(e) => {
                errors.push(*e);
                continue;
            }
        };
        let parsed = match field.kind {
            FieldKind::String => v
                .as_str()
                .map(|s| CaseValue::String(s.to_owned()))
                .ok_or("a string"),
            FieldKind::Bool => v.as_bool().map(CaseValue::Bool).ok_or("true or false"),
            FieldKind::Int => v.as_integer().map(CaseValue::Int).ok_or("an integer"),
            FieldKind::Double => match v {
                toml::Value::Float(f) => Some(CaseValue::Double(f)),
                toml::Value::Integer(i) => Some(CaseValue::Double(i as f64)),
                _ => None,
            }
            .ok_or("a number"),
            FieldKind::Timestamp => timestamp(&v)
                .map(CaseValue::Timestamp)
                .map_err(|_| "a date (2026-03-02) or an RFC 3339 timestamp (2026-03-02T09:30:00Z)"),
            FieldKind::StringList => v
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|x| x.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                })
                .map(CaseValue::List)
                .ok_or("a list of strings"),
        };
        match parsed {
            Ok(value) => {
                if let Some(problem) = shape_problem(ty, field.name, &value) {
                    errors.push(src.error(ErrorKind::Invalid, &vspan, problem));
                }
                if let (Some(values), CaseValue::String(s)) = (field.values, &value)
                    && !values.contains(&s.as_str())
                {
                    errors.push(src.error(
                        ErrorKind::Invalid,
                        &key.span(),
                        format!(
                            "{}.{} is `{s}`, expected one of {}",
                            ty.name(),
                            field.name,
                            values.join("|")
                        ),
                    ));
                }
                out.insert(field.name.to_owned(), value);
            }
            Err(expected) => errors.push(src.error(
                ErrorKind::Invalid,
                &value.span(),
                format!("{}.{} must be {expected}", ty.name(), field.name),
            )),
        }
    }
    for f in ty.fields() {
        if f.required && !out.contains_key(f.name) && !table.contains_key(f.name) {
            errors.push(src.error(
                ErrorKind::Missing,
                &row.span(),
                format!("a {} row needs `{}`", ty.name(), f.name),
            ));
        }
    }
    // The row is kept even when some of its fields are wrong, so that references to it and
    // expectations of it are still checked.
    Some(out)
}

/// Fields whose text has a shape: a month `YYYY-MM`, ISO 3166-1 alpha-2 country codes.
fn shape_problem(ty: RecordType, field: &str, value: &CaseValue) -> Option<String> {
    let country = |c: &str| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase());
    match (ty, field, value) {
        (RecordType::Usage, "month", CaseValue::String(m)) => {
            let ok =
                m.len() == 7 && NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok();
            (!ok).then(|| format!("usage.month is `{m}`, expected a month such as 2026-02"))
        }
        (RecordType::Sighting, "country", CaseValue::String(c)) => (!country(c)).then(|| {
            format!("sighting.country is `{c}`, expected an ISO 3166-1 alpha-2 code such as GB")
        }),
        (RecordType::Travel, "countries", CaseValue::List(list)) => {
            if list.is_empty() {
                Some("travel.countries must name at least one country".to_owned())
            } else {
                list.iter().find(|c| !country(c)).map(|c| {
                    format!(
                        "travel.countries has `{c}`, expected ISO 3166-1 alpha-2 codes such as FR"
                    )
                })
            }
        }
        _ => None,
    }
}

/// A TOML offset date-time, or a local date read as midnight UTC.
fn timestamp(v: &toml::Value) -> Result<DateTime<Utc>, String> {
    let Some(dt) = v.as_datetime() else {
        return Err(format!(
            "expected a date or a timestamp, found {}",
            v.type_str()
        ));
    };
    let date = dt.date.and_then(|d| {
        NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
    });
    let Some(date) = date else {
        return Err(format!("`{dt}` has no valid date"));
    };
    match (dt.time, dt.offset) {
        (None, None) => date
            .and_hms_opt(0, 0, 0)
            .map(|d| Utc.from_utc_datetime(&d))
            .ok_or_else(|| format!("`{dt}` is not a date")),
        (Some(_), Some(_)) => DateTime::parse_from_rfc3339(&dt.to_string())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("`{dt}`: {e}")),
        _ => Err(format!(
            "`{dt}` needs a time zone: write it in UTC, e.g. 2026-03-02T09:30:00Z"
        )),
    }
}
