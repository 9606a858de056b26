//! Reading a pack's files into a [`Pack`], with every problem reported at its line and column.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::value::Datetime;

use crate::control::{Ctx, strip_unknown, strip_unknown_control_keys};
use crate::error::{ErrorKind, PackError, Position};
use crate::position::LineIndex;
use crate::raw::{self, RawControl};
use crate::rule::lower_first;
use crate::schema::is_identifier;
use crate::types::*;

/// The file holding a pack's metadata, parameters and staff groups.
pub const PACK_FILE: &str = "pack.toml";
/// The file holding a pack's clauses and their controls.
pub const CLAUSES_FILE: &str = "clauses.toml";

/// Loads the pack in folder `dir` (its `pack.toml` and `clauses.toml`; other files are ignored).
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Pack, Vec<PackError>> {
    let dir = dir.as_ref();
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for name in [PACK_FILE, CLAUSES_FILE] {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => texts.push((name, text)),
            Err(e) => errors.push(PackError::new(
                ErrorKind::Io,
                &path.display().to_string(),
                format!("cannot read: {}", lower_first(&e.to_string())),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let files: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (*n, t.as_str())).collect();
    parse(&files)
}

/// Parses a pack from the texts of its two files, `pack.toml` and `clauses.toml`.
pub fn parse_pack(pack_toml: &str, clauses_toml: &str) -> Result<Pack, Vec<PackError>> {
    parse(&[(PACK_FILE, pack_toml), (CLAUSES_FILE, clauses_toml)])
}

/// Parses a pack from its files, given as (file name, text): `pack.toml` and `clauses.toml`.
/// Returns every problem found, not just the first.
pub fn parse(files: &[(&str, &str)]) -> Result<Pack, Vec<PackError>> {
    let mut errors = Vec::new();
    let mut pack_text = None;
    let mut clauses_text = None;
    for &(name, text) in files {
        let slot = match name {
            PACK_FILE => &mut pack_text,
            CLAUSES_FILE => &mut clauses_text,
            _ => {
                errors.push(PackError::new(
                    ErrorKind::UnknownField,
                    name,
                    format!("a pack has only `{PACK_FILE}` and `{CLAUSES_FILE}`"),
                ));
                continue;
            }
        };
        if slot.replace(text).is_some() {
            errors.push(PackError::new(
                ErrorKind::Duplicate,
                name,
                "the file is given twice",
            ));
        }
    }
    for (name, text) in [(PACK_FILE, &pack_text), (CLAUSES_FILE, &clauses_text)] {
        if text.is_none() {
            errors.push(PackError::new(
                ErrorKind::Missing,
                name,
                "the file is missing",
            ));
        }
    }
    let head = pack_text.and_then(|t| Head::read(t, &mut errors));
    let clauses = clauses_text.map(|t| read_clauses(t, head.as_ref(), &mut errors));

    let pack = match (head, clauses) {
        (Some(head), Some(clauses)) => Some(head.finish(clauses, &mut errors)),
        _ => None,
    };
    let pack_id = pack
        .as_ref()
        .map(|p| p.id.clone())
        .or_else(|| pack_text.and_then(peek_pack_id));
    match pack {
        Some(pack) if errors.is_empty() => Ok(pack),
        _ => {
            let file_order = |e: &PackError| {
                [PACK_FILE, CLAUSES_FILE]
                    .iter()
                    .position(|f| *f == e.file)
                    .unwrap_or(2)
            };
            errors.sort_by_key(|e| (file_order(e), e.position));
            for e in &mut errors {
                if e.pack.is_none() {
                    e.pack.clone_from(&pack_id);
                }
            }
            Err(errors)
        }
    }
}

/// The pack's id, read loosely, to name the pack in errors when `pack.toml` does not load.
fn peek_pack_id(text: &str) -> Option<String> {
    let (table, _) = DeTable::parse_recoverable(text);
    let pack = table.get_ref().get("pack")?;
    pack.get_ref()
        .get("id")?
        .get_ref()
        .as_str()
        .map(str::to_owned)
}

/// One file being read: its name, text and line index, and where its errors go.
pub(crate) struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub lines: LineIndex<'a>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(name: &'a str, text: &'a str) -> Self {
        Source {
            name,
            text,
            lines: LineIndex::new(text),
        }
    }

    pub(crate) fn pos(&self, span: &Range<usize>) -> Position {
        self.lines.position(span.start)
    }

    pub(crate) fn location(&self, span: &Range<usize>) -> Location {
        Location {
            file: self.name.to_owned(),
            position: self.pos(span),
        }
    }

    pub(crate) fn error(
        &self,
        kind: ErrorKind,
        span: &Range<usize>,
        reason: impl Into<String>,
    ) -> PackError {
        PackError::new(kind, self.name, reason).at(Some(self.pos(span)))
    }

    /// Parses the file as a TOML document, reporting syntax errors.
    pub(crate) fn document(&self, errors: &mut Vec<PackError>) -> Option<Spanned<DeTable<'a>>> {
        let (table, syntax) = DeTable::parse_recoverable(self.text);
        if syntax.is_empty() {
            return Some(table);
        }
        for e in syntax {
            let position = e.span().map(|s| self.pos(&s));
            errors.push(
                PackError::new(
                    ErrorKind::Syntax,
                    self.name,
                    format!("not valid toml: {}", lower_first(e.message().trim())),
                )
                .at(position),
            );
        }
        None
    }

    /// Deserialises one value of the document, reporting a failure at its position. (The error
    /// is boxed only to keep the `Result` small; callers add context and collect it.)
    pub(crate) fn de<T: Deserialize<'a>>(
        &self,
        value: Spanned<DeValue<'a>>,
    ) -> Result<T, Box<PackError>> {
        let span = value.span();
        T::deserialize(ValueDeserializer::from(value)).map_err(|e| {
            let at = e.span().unwrap_or(span);
            let message = lower_first(e.message().trim());
            let kind = if message.starts_with("unknown field") {
                ErrorKind::UnknownField
            } else if message.starts_with("missing field") {
                ErrorKind::Missing
            } else {
                ErrorKind::Invalid
            };
            Box::new(self.error(kind, &at, message))
        })
    }
}

/// A date value: a TOML local date such as `2023-05-25`.
fn date(
    src: &Source<'_>,
    value: &Spanned<Datetime>,
    errors: &mut Vec<PackError>,
) -> Option<NaiveDate> {
    let dt = value.get_ref();
    let parsed = match (dt.date, dt.time, dt.offset) {
        (Some(d), None, None) => {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        _ => None,
    };
    if parsed.is_none() {
        errors.push(src.error(
            ErrorKind::Invalid,
            &value.span(),
            format!("expected a date such as 2023-05-25, found `{dt}`"),
        ));
    }
    parsed
}

pub(crate) fn non_empty(
    src: &Source<'_>,
    what: &str,
    value: &Spanned<String>,
    errors: &mut Vec<PackError>,
) -> String {
    if value.get_ref().trim().is_empty() {
        errors.push(src.error(
            ErrorKind::Invalid,
            &value.span(),
            format!("{what} must not be empty"),
        ));
    }
    value.get_ref().clone()
}

/// A lower-case id of letters, digits and `-` (and `.` where `dots`), starting with a letter or
/// digit.
pub(crate) fn is_slug(s: &str, dots: bool) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.'))
}

/// Reads a word from a closed list, reporting an unknown one.
pub(crate) fn word<T>(
    src: &Source<'_>,
    what: &str,
    value: &Spanned<String>,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
    errors: &mut Vec<PackError>,
) -> Option<T> {
    let parsed = parse(value.get_ref());
    if parsed.is_none() {
        errors.push(src.error(
            ErrorKind::Invalid,
            &value.span(),
            format!(
                "unknown {what} `{}`, expected one of {}",
                value.get_ref(),
                all.join("|")
            ),
        ));
    }
    parsed
}

/// Checks a parameter value against its type.
pub(crate) fn param_value(ty: ParamType, value: &toml::Value) -> Result<ParamValue, String> {
    let found = value.type_str();
    match (ty, value) {
        (ParamType::Int, toml::Value::Integer(i)) => Ok(ParamValue::Int(*i)),
        (ParamType::Double, toml::Value::Float(f)) => Ok(ParamValue::Double(*f)),
        (ParamType::Double, toml::Value::Integer(i)) => Ok(ParamValue::Double(*i as f64)),
        (ParamType::Bool, toml::Value::Boolean(b)) => Ok(ParamValue::Bool(*b)),
        (ParamType::String, toml::Value::String(s)) => Ok(ParamValue::String(s.clone())),
        (ParamType::Duration, toml::Value::String(s)) => {
            parse_duration(s).map(ParamValue::Duration)
        }
        (ParamType::List, toml::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    format!("a list parameter holds strings, found {}", v.type_str())
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ParamValue::List),
        _ => Err(format!(
            "expected {}, found {found}",
            match ty {
                ParamType::Int => "an integer",
                ParamType::Double => "a number",
                ParamType::Bool => "true or false",
                ParamType::String => "a string",
                ParamType::Duration => "a duration string such as \"36h\" or \"90m\"",
                ParamType::List => "a list of strings",
            }
        )),
    }
}

/// Parses a CEL duration such as `36h`, `1h30m`, `90s`, `250ms` into microseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a duration such as \"36h\", \"1h30m\" or \"90s\"");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let (unit, len) = [
            ("ms", 1_000),
            ("us", 1),
            ("ns", 0),
            ("h", 3_600_000_000),
            ("m", 60_000_000),
            ("s", 1_000_000),
        ]
        .into_iter()
        .find(|(u, _)| rest.starts_with(u))
        .map(|(u, f)| (f, u.len()))
        .ok_or_else(bad)?;
        rest = &rest[len..];
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    Ok(if negative { -total } else { total })
}

/// A duration as [`parse_duration`] reads it, in its largest whole units: `72h`, `1h30m`,
/// `90s`, `250ms`; `0s` for none.
pub fn duration_text(micros: i64) -> String {
    if micros == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    if micros < 0 {
        out.push('-');
    }
    let mut rest = micros.unsigned_abs();
    for (unit, size) in [
        ("h", 3_600_000_000u64),
        ("m", 60_000_000),
        ("s", 1_000_000),
        ("ms", 1_000),
        ("us", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Parses a deadline: `immediately`, or `N hours|days|working days` where N is a number or
/// `params.NAME` (an int parameter).
pub(crate) fn parse_within(
    text: &str,
    params: Option<&BTreeMap<String, Parameter>>,
) -> Result<Within, String> {
    let t = text.trim();
    if t == "immediately" {
        return Ok(Within::Immediately);
    }
    let bad = || {
        format!(
            "`{text}` is not a deadline: write `immediately`, or `N hours`, `N days` or `N working days` where N is a number or `params.NAME`"
        )
    };
    let (amount, unit) = t.split_once(' ').ok_or_else(bad)?;
    let unit = match unit.trim() {
        "hour" | "hours" => PeriodUnit::Hours,
        "day" | "days" => PeriodUnit::Days,
        "working day" | "working days" => PeriodUnit::WorkingDays,
        _ => return Err(bad()),
    };
    let amount = if let Some(name) = amount.strip_prefix("params.") {
        if let Some(params) = params {
            match params.get(name) {
                None => return Err(format!("unknown parameter `params.{name}`")),
                Some(p) if p.ty != ParamType::Int => {
                    return Err(format!(
                        "`params.{name}` is a {}, a deadline needs an int",
                        p.ty
                    ));
                }
                Some(_) => {}
            }
        }
        Amount::Param(name.to_owned())
    } else {
        Amount::Fixed(amount.parse().map_err(|_| bad())?)
    };
    Ok(Within::Period { amount, unit })
}

/// What `pack.toml` gives: metadata, parameters and staff groups.
struct Head {
    meta: Pack,
    /// Staff groups' `clause` references, checked once the clauses are read.
    group_clauses: Vec<(String, Spanned<String>)>,
    /// `[sections]`' keys, checked once the clauses are read.
    section_names: Vec<Spanned<String>>,
    file: String,
    text: String,
}

impl Head {
    fn read(text: &str, errors: &mut Vec<PackError>) -> Option<Head> {
        let src = Source::new(PACK_FILE, text);
        let doc = src.document(errors)?;
        let doc_span = doc.span();
        let mut doc = doc.into_inner();
        let before = errors.len();
        let meta = doc.remove("pack");
        let parameters = doc.remove("parameters");
        let staff_groups = doc.remove("staff_groups");
        let sections = doc.remove("sections");
        for (key, _) in doc.iter() {
            errors.push(src.error(ErrorKind::UnknownField, &key.span(), format!("unknown key `{}`: `{PACK_FILE}` has `[pack]`, `[parameters.NAME]`, `[staff_groups.ID]` and `[sections]`", key.get_ref())));
        }
        let Some(meta) = meta else {
            errors.push(src.error(ErrorKind::Missing, &doc_span, "a pack needs a `[pack]` table: id, title, organisation, version, owner, approver, approved_on"));
            return None;
        };
        let m: raw::Meta = match src.de(meta) {
            Ok(m) => m,
            Err(e) => {
                errors.push(*e);
                return None;
            }
        };
        // Each parameter and staff group is read on its own, so that one mistake does not hide the rest.
        let mut file = raw::PackFile {
            pack: m,
            parameters: BTreeMap::new(),
            staff_groups: BTreeMap::new(),
        };
        for (what, table) in [("parameters", parameters), ("staff_groups", staff_groups)] {
            let Some(table) = table else { continue };
            let tspan = table.span();
            let DeValue::Table(entries) = table.into_inner() else {
                errors.push(src.error(
                    ErrorKind::Invalid,
                    &tspan,
                    format!("`{what}` must be a table of tables: `[{what}.NAME]`"),
                ));
                continue;
            };
            for (key, value) in entries {
                let name = key.get_ref().to_string();
                let vspan = value.span();
                if what == "parameters" {
                    match src.de::<raw::RawParameter>(value) {
                        Ok(p) => {
                            file.parameters.insert(name, Spanned::new(vspan, p));
                        }
                        Err(e) => errors.push((*e).with_prefix(&format!("parameter `{name}`: "))),
                    }
                } else {
                    match src.de::<raw::RawStaffGroup>(value) {
                        Ok(g) => {
                            file.staff_groups.insert(name, Spanned::new(vspan, g));
                        }
                        Err(e) => errors.push((*e).with_prefix(&format!("staff group `{name}`: "))),
                    }
                }
            }
        }
        let m = &file.pack;
        let id = m.id.get_ref().clone();
        if !is_slug(&id, true) {
            errors.push(src.error(
                ErrorKind::Invalid,
                &m.id.span(),
                format!("pack id `{id}` must be lower-case letters, digits, `-` and `.`"),
            ));
        }
        let approved_on = date(&src, &m.approved_on, errors);
        let implemented_on = m
            .implemented_on
            .as_ref()
            .and_then(|d| date(&src, d, errors));
        let amended_on = m.amended_on.as_ref().and_then(|d| date(&src, d, errors));
        let next_review = m.next_review.as_ref().and_then(|d| date(&src, d, errors));
        if let (Some(a), Some(n), Some(span)) = (
            approved_on,
            next_review,
            m.next_review.as_ref().map(|d| d.span()),
        ) && n < a
        {
            errors.push(src.error(
                ErrorKind::Invalid,
                &span,
                format!("the next review ({n}) is before the approval ({a})"),
            ));
        }
        let mut meta = Pack {
            id,
            title: non_empty(&src, "the title", &m.title, errors),
            organisation: non_empty(&src, "the organisation", &m.organisation, errors),
            version: non_empty(&src, "the version", &m.version, errors),
            owner: non_empty(&src, "the owner", &m.owner, errors),
            approver: non_empty(&src, "the approver", &m.approver, errors),
            approved_on: approved_on.unwrap_or_default(),
            implemented_on,
            amended_on,
            next_review,
            next_review_note: m.next_review_note.as_ref().map(|s| s.get_ref().clone()),
            source: m.source.as_ref().map(|s| s.get_ref().clone()),
            summary: m.summary.as_ref().map(|s| s.get_ref().clone()),
            parameters: BTreeMap::new(),
            staff_groups: BTreeMap::new(),
            sections: BTreeMap::new(),
            clauses: Vec::new(),
        };
        let mut section_names = Vec::new();
        if let Some(table) = sections {
            match src.de::<BTreeMap<String, Spanned<String>>>(table) {
                Ok(titles) => {
                    for (section, title) in titles {
                        let name = non_empty(&src, "a section's title", &title, errors);
                        meta.sections.insert(section.clone(), name);
                        section_names.push(Spanned::new(title.span(), section));
                    }
                }
                Err(e) => errors.push((*e).with_prefix("`[sections]`: ")),
            }
        }
        for (name, p) in &file.parameters {
            let span = p.span();
            let p = p.get_ref();
            if !is_identifier(name) || name.chars().any(|c| c.is_ascii_uppercase()) {
                errors.push(src.error(
                    ErrorKind::Invalid,
                    &span,
                    format!("parameter name `{name}` must be lower-case letters, digits and `_`"),
                ));
            }
            let Some(ty) = word(
                &src,
                "parameter type",
                &p.ty,
                ParamType::parse,
                ParamType::ALL,
                errors,
            ) else {
                continue;
            };
            let value = match param_value(ty, p.value.get_ref()) {
                Ok(v) => v,
                Err(reason) => {
                    errors.push(src.error(
                        ErrorKind::Invalid,
                        &p.value.span(),
                        format!("parameter `{name}`: {reason}"),
                    ));
                    continue;
                }
            };
            let description = non_empty(&src, "a parameter's description", &p.description, errors);
            let unit = p
                .unit
                .as_ref()
                .map(|u| non_empty(&src, "a parameter's unit", u, errors));
            let assumed = p
                .assumed
                .as_ref()
                .map(|a| non_empty(&src, "a parameter's `assumed` reason", a, errors));
            meta.parameters.insert(
                name.clone(),
                Parameter {
                    name: name.clone(),
                    ty,
                    value,
                    unit,
                    description,
                    assumed,
                    location: src.location(&span),
                },
            );
        }
        let mut group_clauses = Vec::new();
        for (gid, g) in &file.staff_groups {
            let span = g.span();
            let g = g.get_ref();
            if !is_slug(gid, false) {
                errors.push(src.error(
                    ErrorKind::Invalid,
                    &span,
                    format!("staff group id `{gid}` must be lower-case letters, digits and `-`"),
                ));
            }
            let mut devices = Vec::new();
            for d in &g.devices {
                let kind = word(
                    &src,
                    "asset kind",
                    &d.get_ref().kind,
                    model_word::<steward_model::AssetKind>,
                    steward_model::AssetKind::ALL,
                    errors,
                );
                let count = match &d.get_ref().count {
                    None => 1,
                    Some(c) => match u32::try_from(*c.get_ref()) {
                        Ok(n) if n > 0 => n,
                        _ => {
                            errors.push(src.error(
                                ErrorKind::Invalid,
                                &c.span(),
                                "a device count must be a positive whole number",
                            ));
                            1
                        }
                    },
                };
                let alternatives: Vec<_> = d
                    .get_ref()
                    .alternatives
                    .iter()
                    .filter_map(|a| {
                        word(
                            &src,
                            "asset kind",
                            a,
                            model_word::<steward_model::AssetKind>,
                            steward_model::AssetKind::ALL,
                            errors,
                        )
                    })
                    .collect();
                if let Some(kind) = kind {
                    devices.push(DeviceAllowance {
                        kind,
                        count,
                        alternatives,
                    });
                }
            }
            if (g.portal_only || !g.hardware) && !devices.is_empty() {
                errors.push(src.error(ErrorKind::Invalid, &span, format!("staff group `{gid}` has devices but no hardware (`hardware = false` or `portal_only = true`)")));
            }
            if g.portal_only && g.byod {
                errors.push(src.error(
                    ErrorKind::Invalid,
                    &span,
                    format!(
                        "staff group `{gid}` cannot be both portal-only and bring-your-own-device"
                    ),
                ));
            }
            if let Some(c) = &g.clause {
                group_clauses.push((gid.clone(), c.clone()));
            }
            meta.staff_groups.insert(
                gid.clone(),
                StaffGroup {
                    id: gid.clone(),
                    name: non_empty(&src, "a staff group's name", &g.name, errors),
                    description: g.description.as_ref().map(|d| d.get_ref().clone()),
                    clause: g.clause.as_ref().map(|c| c.get_ref().clone()),
                    devices,
                    hardware: g.hardware,
                    byod: g.byod,
                    portal_only: g.portal_only,
                    mfa_required: g.mfa_required,
                    case_by_case: g.case_by_case,
                    location: src.location(&span),
                },
            );
        }
        (errors.len() == before).then(|| Head {
            meta,
            group_clauses,
            section_names,
            file: PACK_FILE.to_owned(),
            text: text.to_owned(),
        })
    }

    fn finish(self, clauses: Vec<Clause>, errors: &mut Vec<PackError>) -> Pack {
        let src = Source::new(&self.file, &self.text);
        let mut pack = self.meta;
        for (gid, c) in &self.group_clauses {
            if !clauses.iter().any(|cl| &cl.id == c.get_ref()) {
                errors.push(src.error(
                    ErrorKind::Reference,
                    &c.span(),
                    format!(
                        "staff group `{gid}` names clause `{}`, which the pack does not have",
                        c.get_ref()
                    ),
                ));
            }
        }
        for s in &self.section_names {
            if !clauses.iter().any(|cl| section_of(&cl.id) == s.get_ref()) {
                errors.push(src.error(
                    ErrorKind::Reference,
                    &s.span(),
                    format!(
                        "section `{}` has a title but no clause of the pack is numbered under it",
                        s.get_ref()
                    ),
                ));
            }
        }
        pack.clauses = clauses;
        crate::derived::add_derived_checks(&mut pack);
        pack
    }
}

pub(crate) fn model_word<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.parse().ok()
}

/// Reads `clauses.toml`. `head` is `None` when `pack.toml` did not load: then parameters and
/// staff groups are not checked, so that one broken file does not bury the other in errors.
fn read_clauses(text: &str, head: Option<&Head>, errors: &mut Vec<PackError>) -> Vec<Clause> {
    let src = Source::new(CLAUSES_FILE, text);
    let Some(doc) = src.document(errors) else {
        return Vec::new();
    };
    let doc_span = doc.span();
    let mut doc = doc.into_inner();
    let Some(list) = doc.remove("clause") else {
        errors.push(src.error(
            ErrorKind::Missing,
            &doc_span,
            "no clauses: write each as a `[[clause]]` table",
        ));
        return Vec::new();
    };
    for (key, _) in doc.iter() {
        errors.push(src.error(
            ErrorKind::UnknownField,
            &key.span(),
            format!(
                "unknown key `{}`: this file holds only `[[clause]]` tables",
                key.get_ref()
            ),
        ));
    }
    let list_span = list.span();
    let DeValue::Array(items) = list.into_inner() else {
        errors.push(src.error(
            ErrorKind::Invalid,
            &list_span,
            "`clause` must be an array of tables: `[[clause]]`",
        ));
        return Vec::new();
    };
    let ctx = Ctx {
        src: &src,
        params: head.map(|h| &h.meta.parameters),
        groups: head.map(|h| &h.meta.staff_groups),
    };
    let mut clauses = Vec::new();
    let mut clause_ids: HashMap<String, Position> = HashMap::new();
    let mut control_ids: HashMap<String, Position> = HashMap::new();
    let mut see_also = Vec::new();
    for item in items {
        let span = item.span();
        let DeValue::Table(mut table) = item.into_inner() else {
            errors.push(src.error(
                ErrorKind::Invalid,
                &span,
                "each clause must be a table: `[[clause]]`",
            ));
            continue;
        };
        let peek_id = table
            .get("id")
            .and_then(|v| v.get_ref().as_str())
            .map(str::to_owned);
        let controls = table.remove("control");
        let mut found = Vec::new();
        strip_unknown(&src, &mut table, raw::CLAUSE_KEYS, &mut found);
        errors.extend(found.into_iter().map(|e| e.in_clause(peek_id.as_deref())));
        let head: raw::RawClause = match src.de(Spanned::new(span.clone(), DeValue::Table(table))) {
            Ok(h) => h,
            Err(e) => {
                errors.push((*e).in_clause(peek_id.as_deref()));
                continue;
            }
        };
        let id = head.id.get_ref().clone();
        let clause_err = |kind, span: &Range<usize>, reason: String| {
            src.error(kind, span, reason).in_clause(Some(&id))
        };
        if id.trim().is_empty() || id.chars().any(char::is_whitespace) {
            errors.push(clause_err(
                ErrorKind::Invalid,
                &head.id.span(),
                "a clause id must be non-empty and without spaces".into(),
            ));
        }
        if let Some(first) = clause_ids.insert(id.clone(), src.pos(&head.id.span())) {
            errors.push(clause_err(
                ErrorKind::Duplicate,
                &head.id.span(),
                format!(
                    "clause id `{id}` is used twice (first at line {})",
                    first.line
                ),
            ));
        }
        if head.text.get_ref().trim().is_empty() {
            errors.push(clause_err(
                ErrorKind::Invalid,
                &head.text.span(),
                "the clause text must not be empty".into(),
            ));
        }
        let mut clause = Clause {
            id: id.clone(),
            text: head.text.get_ref().clone(),
            heading: head.heading.iter().map(|h| h.get_ref().clone()).collect(),
            controls: Vec::new(),
            location: src.location(&span),
        };
        let control_items = match controls.map(|c| (c.span(), c.into_inner())) {
            Some((_, DeValue::Array(items))) => items.into_iter().collect::<Vec<_>>(),
            Some((s, _)) => {
                errors.push(clause_err(
                    ErrorKind::Invalid,
                    &s,
                    "`control` must be an array of tables: `[[clause.control]]`".into(),
                ));
                Vec::new()
            }
            None => Vec::new(),
        };
        if control_items.is_empty() {
            errors.push(clause_err(ErrorKind::Missing, &span, "the clause has no controls: every clause maps to at least one `[[clause.control]]`".into()));
        }
        for item in control_items {
            let cspan = item.span();
            let peek = item
                .get_ref()
                .get("id")
                .and_then(|v| v.get_ref().as_str())
                .map(str::to_owned);
            // Unknown keys are reported one by one and dropped, so that the rest of the control
            // is still checked.
            let (item_span, mut item) = (item.span(), item.into_inner());
            if let DeValue::Table(table) = &mut item {
                let mut found = Vec::new();
                strip_unknown_control_keys(&src, table, &mut found);
                errors.extend(
                    found
                        .into_iter()
                        .map(|e| e.in_clause(Some(&id)).in_control(peek.as_deref())),
                );
            }
            let raw: RawControl = match src.de(Spanned::new(item_span, item)) {
                Ok(r) => r,
                Err(e) => {
                    errors.push((*e).in_clause(Some(&id)).in_control(peek.as_deref()));
                    continue;
                }
            };
            let cid = raw.id.get_ref().clone();
            if let Some(first) = control_ids.insert(cid.clone(), src.pos(&raw.id.span())) {
                errors.push(
                    clause_err(
                        ErrorKind::Duplicate,
                        &raw.id.span(),
                        format!(
                            "control id `{cid}` is used twice (first at line {})",
                            first.line
                        ),
                    )
                    .in_control(Some(&cid)),
                );
            }
            if let Some(also) = &raw.see_also {
                for a in also.get_ref() {
                    see_also.push((id.clone(), cid.clone(), a.clone()));
                }
            }
            let mut local = Vec::new();
            let control = ctx.control(&id, &cspan, raw, &mut local);
            for e in local {
                errors.push(e.in_clause(Some(&id)).in_control(Some(&cid)));
            }
            if let Some(c) = control {
                clause.controls.push(c);
            }
        }
        clauses.push(clause);
    }
    for (clause, control, also) in see_also {
        if !clause_ids.contains_key(also.get_ref()) {
            errors.push(
                src.error(
                    ErrorKind::Reference,
                    &also.span(),
                    format!(
                        "`see_also` names clause `{}`, which the pack does not have",
                        also.get_ref()
                    ),
                )
                .in_clause(Some(&clause))
                .in_control(Some(&control)),
            );
        } else if also.get_ref() == &clause {
            errors.push(
                src.error(
                    ErrorKind::Invalid,
                    &also.span(),
                    "`see_also` names the control's own clause".to_owned(),
                )
                .in_clause(Some(&clause))
                .in_control(Some(&control)),
            );
        }
    }
    clauses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("36h"), Ok(36 * 3_600_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000));
        assert_eq!(parse_duration("250ms"), Ok(250_000));
        assert_eq!(parse_duration("-90s"), Ok(-90_000_000));
        for bad in ["", "h", "36", "36d", "3.5h", "-", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_are_written_in_their_largest_units() {
        assert_eq!(duration_text(72 * 3_600_000_000), "72h");
        assert_eq!(duration_text(5_400_000_000), "1h30m");
        assert_eq!(duration_text(250_000), "250ms");
        assert_eq!(duration_text(-90_000_000), "-1m30s");
        assert_eq!(duration_text(0), "0s");
    }

    proptest::proptest! {
        /// What a form shows is read back as the same duration.
        #[test]
        fn a_duration_written_reads_back(micros in -(1i64 << 52)..(1i64 << 52)) {
            proptest::prop_assert_eq!(parse_duration(&duration_text(micros)), Ok(micros));
        }
    }

    #[test]
    fn deadlines_parse() {
        assert_eq!(parse_within("immediately", None), Ok(Within::Immediately));
        assert_eq!(
            parse_within("24 hours", None),
            Ok(Within::Period {
                amount: Amount::Fixed(24),
                unit: PeriodUnit::Hours
            })
        );
        assert_eq!(
            parse_within("params.lead working days", None),
            Ok(Within::Period {
                amount: Amount::Param("lead".into()),
                unit: PeriodUnit::WorkingDays
            })
        );
        assert!(parse_within("soon", None).is_err());
        assert!(parse_within("3 weeks", None).is_err());
        assert!(parse_within("params.nope days", Some(&BTreeMap::new())).is_err());
    }
}
