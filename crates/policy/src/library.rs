//! The control library (`library/` at the repository root, embedded): parameterised checks any
//! organisation's clause can be mapped to without writing a rule. The library is itself a pack —
//! each "clause" one control, its text the plain-English description — so its rules are
//! type-checked and its cases run through the engine as every pack's are; it is never offered as
//! a policy to run.
//!
//! [`map_clause`] writes a library control into a pack's files: the check under the clause
//! (replacing the guidance an import gave it), its scope and severity as chosen, and the
//! parameters its rule reads with the organisation's values — a parameter of the same name
//! already in the pack is reused when its value is the same and renamed otherwise. Mapping a
//! clause again to the control it already has from the library changes that control (its
//! parameters, scope, severity) instead of adding a second; a library parameter no control
//! reads any more is taken out of the pack.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::error::PackError;
use crate::load::parse_pack as parse;
use crate::skeleton::quoted;
use crate::types::{Control, ControlKind, Pack, ParamType, ParamValue, Parameter, Severity};

/// The library's pack id.
pub const LIBRARY_ID: &str = "steward-control-library";

const LIBRARY_PACK_TOML: &str = include_str!("../../../library/pack.toml");
const LIBRARY_CLAUSES_TOML: &str = include_str!("../../../library/clauses.toml");

/// One control of the library.
#[derive(Debug, Clone)]
pub struct LibraryControl {
    pub id: String,
    /// What it checks, in plain English.
    pub description: String,
    /// Its check, as a pack receives it before any choice.
    pub control: Control,
    /// The parameters its rule and messages read, with the library's defaults.
    pub parameters: Vec<Parameter>,
}

/// The control library, loaded.
#[derive(Debug, Clone)]
pub struct Library {
    pub pack: Pack,
    pub controls: Vec<LibraryControl>,
}

/// The names of the parameters `text` reads (`params.NAME`).
fn params_read(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("params.") {
        let after = &rest[at + "params.".len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..end];
        let boundary = at == 0
            || !rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if boundary && !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
        rest = &after[end..];
    }
    names
}

/// `text` with every `params.FROM` read as `params.TO`.
fn rename_param(text: &str, from: &str, to: &str) -> String {
    let needle = format!("params.{from}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        let whole = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        if whole {
            out.push_str(&format!("params.{to}"));
        } else {
            out.push_str(&needle);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

static LIBRARY: std::sync::LazyLock<Result<Library, Vec<PackError>>> =
    std::sync::LazyLock::new(load_library);

/// The embedded library, loaded (and its rules type-checked) once for the process.
pub fn library() -> Result<&'static Library, Vec<PackError>> {
    LIBRARY.as_ref().map_err(Clone::clone)
}

fn load_library() -> Result<Library, Vec<PackError>> {
    let pack = parse(LIBRARY_PACK_TOML, LIBRARY_CLAUSES_TOML)?;
    let controls = pack
        .clauses
        .iter()
        .filter_map(|clause| {
            let control = clause.controls.first()?.clone();
            let ControlKind::Check(check) = &control.kind else {
                return None;
            };
            let mut text = check.rule.text.clone();
            text.push('\n');
            text.push_str(&check.message);
            if let Some(you) = &check.message_you {
                text.push('\n');
                text.push_str(you);
            }
            let parameters = params_read(&text)
                .into_iter()
                .filter_map(|name| pack.parameters.get(&name).cloned())
                .collect();
            Some(LibraryControl {
                id: clause.id.clone(),
                description: clause.text.trim().to_owned(),
                control,
                parameters,
            })
        })
        .collect();
    Ok(Library { pack, controls })
}

impl Library {
    /// What clause `clause` of `pack` has now from library control `control`: its scope and
    /// severity, and the value in force of each library parameter (by the library's name), or
    /// `None` when the clause has not been mapped to it.
    pub fn in_force<'p>(
        &self,
        pack: &'p Pack,
        clause: &str,
        control: &str,
    ) -> Option<(&'p Control, BTreeMap<String, ParamValue>)> {
        let chosen = self.control(control)?;
        let mapped = pack
            .clauses
            .iter()
            .find(|c| c.id == clause)?
            .controls
            .iter()
            .find(|c| from_library(&c.id, control))?;
        let ControlKind::Check(check) = &mapped.kind else {
            return None;
        };
        let read = params_read(&format!("{}\n{}", check.rule.text, check.message));
        let mut values = BTreeMap::new();
        for p in &chosen.parameters {
            let name = read.iter().find(|n| numbered(n, &p.name, '_'));
            if let Some(value) = name
                .and_then(|n| pack.parameters.get(n))
                .map(|p| p.value.clone())
            {
                values.insert(p.name.clone(), value);
            }
        }
        Some((mapped, values))
    }

    pub fn control(&self, id: &str) -> Option<&LibraryControl> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// Controls whose id or description contains every word of `query` (any case).
    pub fn search(&self, query: &str) -> Vec<&LibraryControl> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.controls
            .iter()
            .filter(|c| {
                let hay = format!("{} {}", c.id, c.description).to_lowercase();
                words.iter().all(|w| hay.contains(w))
            })
            .collect()
    }
}

/// What the person mapping a clause chose.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MapChoices {
    /// Parameter values as typed (`21`, `laptop, tablet`), by the library's parameter name.
    pub parameters: BTreeMap<String, String>,
    pub severity: Option<String>,
    /// Scope keys as in a pack (`asset_kinds`, `staff_groups`, …) and the words chosen.
    pub scope: BTreeMap<String, Vec<String>>,
    /// An expert's own rule (CEL) in place of the control's, checked as the loader checks
    /// every rule.
    pub rule: Option<String>,
}

/// Why a clause could not be mapped. The pack's files are unchanged.
#[derive(Debug, Error, PartialEq)]
pub enum MapError {
    #[error("the library has no control {0:?}")]
    NoControl(String),
    #[error("the pack has no clause {0:?}")]
    NoClause(String),
    #[error("{parameter}: {reason}")]
    Parameter { parameter: String, reason: String },
    #[error("severity: {0:?} is not one of low, medium, high, critical")]
    Severity(String),
    #[error("scope: {0:?} is not a scope key")]
    Scope(String),
    #[error("the mapped pack does not load: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<PackError>),
}

const SCOPE_KEYS: &[&str] = &[
    "staff_groups",
    "person_statuses",
    "asset_kinds",
    "ownership",
    "asset_statuses",
    "account_kinds",
    "account_statuses",
];

/// A value typed into a form, read as the parameter's type.
pub fn param_from_text(ty: ParamType, text: &str) -> Result<ParamValue, String> {
    let text = text.trim();
    match ty {
        ParamType::Int => text
            .parse()
            .map(ParamValue::Int)
            .map_err(|_| format!("{text:?} is not a whole number")),
        ParamType::Double => text
            .parse()
            .map(ParamValue::Double)
            .map_err(|_| format!("{text:?} is not a number")),
        ParamType::Bool => match text.to_ascii_lowercase().as_str() {
            "yes" | "true" => Ok(ParamValue::Bool(true)),
            "no" | "false" => Ok(ParamValue::Bool(false)),
            _ => Err(format!("{text:?}: write yes or no")),
        },
        ParamType::String if text.is_empty() => Err("a value is needed".into()),
        ParamType::String => Ok(ParamValue::String(text.to_owned())),
        ParamType::List => Ok(ParamValue::List(
            text.split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        ParamType::Duration => crate::load::parse_duration(text).map(ParamValue::Duration),
    }
}

/// A parameter's value as a form shows it for editing: a list as `a, b`, a string bare; the
/// inverse of [`param_from_text`].
pub fn form_text(value: &ParamValue) -> String {
    match value {
        ParamValue::List(words) => words.join(", "),
        ParamValue::String(s) => s.clone(),
        ParamValue::Duration(micros) => crate::load::duration_text(*micros),
        other => other.to_string(),
    }
}

/// A parameter's value as TOML.
pub fn toml_value(value: &ParamValue) -> String {
    match value {
        ParamValue::Int(n) => n.to_string(),
        ParamValue::Double(d) => format!("{d:?}"),
        ParamValue::Bool(b) => b.to_string(),
        ParamValue::String(s) => quoted(s),
        ParamValue::Duration(micros) => quoted(&crate::load::duration_text(*micros)),
        ParamValue::List(words) => format!(
            "[{}]",
            words
                .iter()
                .map(|w| quoted(w))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The `[[clause.control]]` block of library control `id`, as the library's file writes it.
fn library_block(id: &str) -> Option<String> {
    let head = format!("[[clause.control]]\nid = {}\n", quoted(id));
    let start = LIBRARY_CLAUSES_TOML.find(&head)?;
    let rest = &LIBRARY_CLAUSES_TOML[start..];
    let end = rest[head.len()..]
        .find("\n[[clause")
        .map_or(rest.len(), |i| head.len() + i + 1);
    Some(rest[..end].trim_end().to_owned() + "\n")
}

/// Maps clause `clause` of the pack in `pack_toml`/`clauses_toml` to library control
/// `control_id` with `choices`: the new files, or why not.
pub fn map_clause(
    library: &Library,
    pack_toml: &str,
    clauses_toml: &str,
    clause: &str,
    control_id: &str,
    choices: &MapChoices,
) -> Result<(String, String), MapError> {
    let chosen = library
        .control(control_id)
        .ok_or_else(|| MapError::NoControl(control_id.to_owned()))?;
    let pack = parse(pack_toml, clauses_toml).map_err(MapError::Invalid)?;
    let Some(target) = pack.clauses.iter().find(|c| c.id == clause) else {
        return Err(MapError::NoClause(clause.to_owned()));
    };
    // Mapped before to this control: that control is changed, not doubled.
    if let Some(previous) = target
        .controls
        .iter()
        .find(|c| from_library(&c.id, control_id))
    {
        let without = remove_control(clauses_toml, clause, &previous.id)
            .ok_or_else(|| MapError::NoClause(clause.to_owned()))?;
        let pack_toml = drop_unread_parameters(library, pack_toml, &without);
        return map_clause(library, &pack_toml, &without, clause, control_id, choices)
            .map(|(p, c)| (p, keep_id(&c, &previous.id, control_id)));
    }
    let mut block =
        library_block(control_id).ok_or_else(|| MapError::NoControl(control_id.to_owned()))?;

    // The control's id, unique in the pack.
    let mut new_id = control_id.to_owned();
    let mut n = 1;
    while pack.controls().any(|c| c.id == new_id) {
        n += 1;
        new_id = format!("{control_id}-{n}");
    }
    block = block.replacen(
        &format!("id = {}\n", quoted(control_id)),
        &format!("id = {}\n", quoted(&new_id)),
        1,
    );

    // An expert's own rule in place of the library's.
    if let Some(rule) = choices
        .rule
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        block = replace_rule(&block, rule);
    }
    // Severity and scope as chosen.
    if let Some(severity) = choices.severity.as_deref().filter(|s| !s.is_empty()) {
        if Severity::parse(severity).is_none() {
            return Err(MapError::Severity(severity.to_owned()));
        }
        block = replace_line(
            &block,
            "severity = ",
            &format!("severity = {}", quoted(severity)),
        );
    }
    if !choices.scope.is_empty() {
        let mut scope: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let line = block.lines().find(|l| l.starts_with("scope = "));
        let table = line.and_then(|l| toml::from_str::<toml::Table>(l).ok());
        if let Some(toml::Value::Table(inner)) = table.as_ref().and_then(|t| t.get("scope")) {
            for (key, value) in inner {
                let words = value
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                scope.insert(key.clone(), words);
            }
        }
        for (key, words) in &choices.scope {
            if !SCOPE_KEYS.contains(&key.as_str()) {
                return Err(MapError::Scope(key.clone()));
            }
            if words.is_empty() {
                scope.remove(key);
            } else {
                scope.insert(key.clone(), words.clone());
            }
        }
        let line = format!(
            "scope = {{ {} }}",
            scope
                .iter()
                .map(|(k, v)| format!(
                    "{k} = [{}]",
                    v.iter().map(|w| quoted(w)).collect::<Vec<_>>().join(", ")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        block = if block.lines().any(|l| l.starts_with("scope = ")) {
            replace_line(&block, "scope = ", &line)
        } else {
            insert_after(&block, "subject = ", &line)
        };
    }

    // The parameters, with the organisation's values.
    let mut new_parameters = String::new();
    for parameter in &chosen.parameters {
        let value = match choices.parameters.get(&parameter.name) {
            Some(text) => {
                param_from_text(parameter.ty, text).map_err(|reason| MapError::Parameter {
                    parameter: parameter.name.clone(),
                    reason,
                })?
            }
            None => parameter.value.clone(),
        };
        let mut name = parameter.name.clone();
        let mut n = 1;
        loop {
            match pack.parameters.get(&name) {
                Some(existing) if existing.value == value && existing.ty == parameter.ty => break,
                Some(_) => {
                    n += 1;
                    name = format!("{}_{n}", parameter.name);
                }
                None => {
                    new_parameters.push_str(&format!(
                        "\n[parameters.{name}]\ntype = {}\nvalue = {}\n{}description = {}\n",
                        quoted(parameter.ty.as_str()),
                        toml_value(&value),
                        parameter
                            .unit
                            .as_ref()
                            .map(|u| format!("unit = {}\n", quoted(u)))
                            .unwrap_or_default(),
                        quoted(&parameter.description)
                    ));
                    break;
                }
            }
        }
        if name != parameter.name {
            block = rename_param(&block, &parameter.name, &name);
        }
    }

    let clauses = insert_control(clauses_toml, clause, &block)
        .ok_or_else(|| MapError::NoClause(clause.to_owned()))?;
    let pack_out = if new_parameters.is_empty() {
        pack_toml.to_owned()
    } else {
        format!("{}\n{}", pack_toml.trim_end(), new_parameters)
    };
    parse(&pack_out, &clauses).map_err(MapError::Invalid)?;
    Ok((pack_out, clauses))
}

/// Whether `name` is `base`, or `base` numbered apart from another with `separator` (`ID-2`,
/// `NAME_2`): how mapping names a second control or parameter from the same library one.
fn numbered(name: &str, base: &str, separator: char) -> bool {
    name == base
        || name
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix(separator))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Whether control `id` is library control `library_id` as mapped (`ID` or `ID-N`).
fn from_library(id: &str, library_id: &str) -> bool {
    numbered(id, library_id, '-')
}

/// A control changed keeps the id its findings already carry.
fn keep_id(clauses_toml: &str, previous: &str, library_id: &str) -> String {
    if previous == library_id {
        return clauses_toml.to_owned();
    }
    // The re-mapped control was given the library's id (free again once the old one went):
    // it takes back the id it had.
    clauses_toml.replacen(
        &format!("[[clause.control]]\nid = {}\n", quoted(library_id)),
        &format!("[[clause.control]]\nid = {}\n", quoted(previous)),
        1,
    )
}

/// `clauses_toml` with clause `clause`'s control `control` taken out (guidance in its place).
fn remove_control(clauses_toml: &str, clause: &str, control: &str) -> Option<String> {
    let head = format!("[[clause]]\nid = {}\n", quoted(clause));
    let start = clauses_toml.find(&head)?;
    let block_head = format!("[[clause.control]]\nid = {}\n", quoted(control));
    let at = start + clauses_toml[start..].find(&block_head)?;
    let after = at + block_head.len();
    let end = clauses_toml[after..]
        .find("\n[[clause")
        .map_or(clauses_toml.len(), |i| after + i + 1);
    // Guidance stands in until the control is mapped again, so the clause is never without one.
    let guidance = format!(
        "[[clause.control]]\nid = {}\nkind = \"guidance\"\napplies_to = \"information\"\n",
        quoted(&crate::skeleton::control_id(clause))
    );
    Some(
        format!(
            "{}{}{}",
            clauses_toml[..at].trim_end_matches('\n').to_owned() + "\n\n",
            guidance,
            if end < clauses_toml.len() { "\n" } else { "" }
        ) + &clauses_toml[end..],
    )
}

/// `pack_toml` without the library parameters (`NAME` or `NAME_N`) no control of
/// `clauses_toml` reads any more.
fn drop_unread_parameters(library: &Library, pack_toml: &str, clauses_toml: &str) -> String {
    let read = params_read(clauses_toml);
    let unread: Vec<&str> = pack_toml
        .lines()
        .filter_map(|l| l.strip_prefix("[parameters.")?.strip_suffix(']'))
        .filter(|name| !read.iter().any(|r| r == name))
        .filter(|name| {
            library
                .pack
                .parameters
                .keys()
                .any(|p| numbered(name, p, '_'))
        })
        .collect();
    let mut out = pack_toml.to_owned();
    for name in unread {
        let head = format!("\n[parameters.{name}]\n");
        if let Some(at) = out.find(&head) {
            let after = at + head.len();
            let end = out[after..].find("\n[").map_or(out.len(), |i| after + i);
            out.replace_range(at..end, "");
        }
    }
    out
}

/// `block` with its `rule = ` value (on one line, or a literal string over several) replaced by
/// `rule`.
fn replace_rule(block: &str, rule: &str) -> String {
    let Some(start) = block.find("\nrule = ").map(|i| i + 1) else {
        return block.to_owned();
    };
    let value_at = start + "rule = ".len();
    let value = &block[value_at..];
    let end = match value.strip_prefix("'''") {
        Some(body) => body.find("'''").map(|i| value_at + 3 + i + 3),
        None => value.find('\n').map(|i| value_at + i),
    }
    .unwrap_or(block.len());
    format!(
        "{}rule = {}{}",
        &block[..start],
        quoted(rule),
        &block[end..]
    )
}

fn replace_line(block: &str, prefix: &str, line: &str) -> String {
    block
        .lines()
        .map(|l| if l.starts_with(prefix) { line } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn insert_after(block: &str, prefix: &str, line: &str) -> String {
    let mut out = Vec::new();
    for l in block.lines() {
        out.push(l);
        if l.starts_with(prefix) {
            out.push(line);
        }
    }
    out.join("\n") + "\n"
}

/// `clauses_toml` with `block` added to clause `clause`, its import's guidance (a control
/// `kind = "guidance"` whose id `skeleton` made) taken away.
fn insert_control(clauses_toml: &str, clause: &str, block: &str) -> Option<String> {
    let head = format!("[[clause]]\nid = {}\n", quoted(clause));
    let start = clauses_toml.find(&head)?;
    let body_start = start + head.len();
    let end = clauses_toml[body_start..]
        .find("\n[[clause]]")
        .map_or(clauses_toml.len(), |i| body_start + i + 1);
    let mut body = clauses_toml[start..end].to_owned();
    let guidance = format!(
        "[[clause.control]]\nid = {}\nkind = \"guidance\"\n",
        quoted(&crate::skeleton::control_id(clause))
    );
    if let Some(at) = body.find(&guidance) {
        let after = &body[at + guidance.len()..];
        let line_end = if after.starts_with("applies_to = ") {
            after.find('\n').map_or(after.len(), |i| i + 1)
        } else {
            0
        };
        body.replace_range(at..at + guidance.len() + line_end, "");
    }
    let body = format!("{}\n\n{}", body.trim_end(), block);
    Some(
        format!(
            "{}{}{}",
            &clauses_toml[..start],
            body,
            if end < clauses_toml.len() { "\n" } else { "" }
        ) + &clauses_toml[end..],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::{Skeleton, SkeletonClause};

    fn skeleton() -> (String, String) {
        let s = Skeleton {
            id: "meadow-1".into(),
            title: "Meadow".into(),
            organisation: "Meadow Trust".into(),
            version: "1".into(),
            owner: "Manager".into(),
            approver: "Board".into(),
            approved_on: chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default(),
            clauses: ["1.1", "1.2", "1.3"]
                .iter()
                .map(|id| SkeletonClause {
                    id: (*id).into(),
                    text: format!("Clause {id}."),
                    heading: vec![],
                })
                .collect(),
            ..Skeleton::default()
        };
        (s.pack_toml(), s.clauses_toml())
    }

    #[test]
    fn the_library_loads_and_knows_the_parameters_each_control_reads() {
        let library = library().unwrap_or_else(|e| panic!("{e:?}"));
        assert!(library.controls.len() >= 10);
        let offline = library.control("devices-connected-within-n-days").unwrap();
        assert_eq!(
            offline
                .parameters
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["device_offline_days"]
        );
        assert_eq!(library.search("MFA admin").len(), 1);
    }

    #[test]
    fn mapping_writes_the_check_its_parameters_and_scope() {
        let library = library().unwrap_or_else(|e| panic!("{e:?}"));
        let (pack_toml, clauses_toml) = skeleton();
        let mut choices = MapChoices::default();
        choices
            .parameters
            .insert("device_offline_days".into(), "10".into());
        choices
            .scope
            .insert("asset_kinds".into(), vec!["laptop".into(), "tablet".into()]);
        choices.severity = Some("high".into());
        let (p, c) = map_clause(
            library,
            &pack_toml,
            &clauses_toml,
            "1.2",
            "devices-connected-within-n-days",
            &choices,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let pack = parse(&p, &c).unwrap();
        let clause = pack.clauses.iter().find(|c| c.id == "1.2").unwrap();
        assert_eq!(clause.controls.len(), 1, "the guidance is replaced");
        assert_eq!(clause.controls[0].id, "devices-connected-within-n-days");
        assert_eq!(clause.controls[0].severity, Severity::High);
        assert_eq!(
            pack.parameters["device_offline_days"].value,
            ParamValue::Int(10)
        );
        assert!(c.contains(r#"asset_kinds = ["laptop", "tablet"]"#), "{c}");

        // The same control on another clause with another value: a parameter of its own.
        choices
            .parameters
            .insert("device_offline_days".into(), "30".into());
        let (p2, c2) = map_clause(
            library,
            &p,
            &c,
            "1.3",
            "devices-connected-within-n-days",
            &choices,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let pack = parse(&p2, &c2).unwrap();
        assert_eq!(
            pack.parameters["device_offline_days_2"].value,
            ParamValue::Int(30)
        );
        let second = pack.control("devices-connected-within-n-days-2").unwrap();
        match &second.kind {
            ControlKind::Check(check) => {
                assert!(check.rule.text.contains("params.device_offline_days_2"));
                assert!(check.message.contains("params.device_offline_days_2"));
            }
            other => panic!("{other:?}"),
        }
        // Clause 1.1 is untouched guidance.
        assert_eq!(
            pack.clauses[0].controls[0].id,
            crate::skeleton::control_id("1.1")
        );
    }

    #[test]
    fn mapping_the_same_control_again_changes_it() {
        let library = library().unwrap_or_else(|e| panic!("{e:?}"));
        let (pack_toml, clauses_toml) = skeleton();
        let with = |days: &str| {
            let mut choices = MapChoices::default();
            choices
                .parameters
                .insert("device_offline_days".into(), days.into());
            choices
        };
        let (p, c) = map_clause(
            library,
            &pack_toml,
            &clauses_toml,
            "1.2",
            "devices-connected-within-n-days",
            &with("10"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (p, c) = map_clause(
            library,
            &p,
            &c,
            "1.2",
            "devices-connected-within-n-days",
            &with("30"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let pack = parse(&p, &c).unwrap();
        let clause = pack.clauses.iter().find(|c| c.id == "1.2").unwrap();
        assert_eq!(
            clause
                .controls
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["devices-connected-within-n-days"]
        );
        assert_eq!(
            pack.parameters.keys().collect::<Vec<_>>(),
            ["device_offline_days"],
            "{p}"
        );
        assert_eq!(
            pack.parameters["device_offline_days"].value,
            ParamValue::Int(30)
        );
        let (control, values) = library
            .in_force(&pack, "1.2", "devices-connected-within-n-days")
            .unwrap();
        assert_eq!(control.id, "devices-connected-within-n-days");
        assert_eq!(values["device_offline_days"], ParamValue::Int(30));
        assert!(
            library
                .in_force(&pack, "1.1", "devices-connected-within-n-days")
                .is_none()
        );
    }

    #[test]
    fn a_bad_choice_changes_nothing_and_says_why() {
        let library = library().unwrap_or_else(|e| panic!("{e:?}"));
        let (pack_toml, clauses_toml) = skeleton();
        let mut choices = MapChoices::default();
        choices
            .parameters
            .insert("device_offline_days".into(), "a fortnight".into());
        let refused = map_clause(
            library,
            &pack_toml,
            &clauses_toml,
            "1.2",
            "devices-connected-within-n-days",
            &choices,
        );
        assert_eq!(
            refused,
            Err(MapError::Parameter {
                parameter: "device_offline_days".into(),
                reason: "\"a fortnight\" is not a whole number".into()
            })
        );
        let none = map_clause(
            library,
            &pack_toml,
            &clauses_toml,
            "9.9",
            "devices-connected-within-n-days",
            &MapChoices::default(),
        );
        assert_eq!(none, Err(MapError::NoClause("9.9".into())));
        let bad_scope = map_clause(
            library,
            &pack_toml,
            &clauses_toml,
            "1.2",
            "devices-connected-within-n-days",
            &MapChoices {
                scope: BTreeMap::from([("asset_kinds".into(), vec!["spaceship".into()])]),
                ..MapChoices::default()
            },
        );
        assert!(
            matches!(bad_scope, Err(MapError::Invalid(_))),
            "{bad_scope:?}"
        );
    }

    #[test]
    fn an_expert_rule_replaces_the_library_rule_and_is_checked() {
        let library = library().unwrap_or_else(|e| panic!("{e:?}"));
        let (pack_toml, clauses_toml) = skeleton();
        let mapped = |clause: &str, control: &str, rule: &str| {
            map_clause(
                library,
                &pack_toml,
                &clauses_toml,
                clause,
                control,
                &MapChoices {
                    rule: Some(rule.into()),
                    ..MapChoices::default()
                },
            )
        };
        let rule_of = |(p, c): (String, String), control: &str| {
            let pack = parse(&p, &c).unwrap();
            match &pack.control(control).unwrap().kind {
                ControlKind::Check(check) => check.rule.text.clone(),
                other => panic!("{other:?}"),
            }
        };
        let one_line = "asset.encrypted == true && asset.pin_set == true";
        assert_eq!(
            rule_of(
                mapped("1.2", "devices-encrypted", one_line).unwrap(),
                "devices-encrypted"
            ),
            one_line
        );
        // A library rule written over several lines is replaced whole.
        let short = "account.status == \"disabled\"";
        assert_eq!(
            rule_of(
                mapped("1.3", "leavers-accounts-disabled", short).unwrap(),
                "leavers-accounts-disabled"
            ),
            short
        );
        assert!(matches!(
            mapped("1.2", "devices-encrypted", "asset.encrypted == "),
            Err(MapError::Invalid(_))
        ));
    }

    #[test]
    fn params_are_found_and_renamed_as_whole_names() {
        assert_eq!(
            params_read("params.a + params.ab < x.params.c && params.a"),
            ["a", "ab"]
        );
        assert_eq!(
            rename_param("params.a + params.ab", "a", "a_2"),
            "params.a_2 + params.ab"
        );
    }
}

const FRAMEWORKS_TOML: &str = include_str!("../../../library/frameworks.toml");

/// A requirement of a published framework.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub framework: String,
    pub id: String,
    pub title: String,
}

/// What one library control evidences, and the built-in packs' checks that decide the same.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub id: String,
    pub evidences: Vec<String>,
    #[serde(default)]
    pub equivalents: Vec<String>,
}

/// The frameworks the library is mapped to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frameworks {
    #[serde(rename = "requirement")]
    pub requirements: Vec<Requirement>,
    #[serde(rename = "control")]
    pub controls: Vec<Evidence>,
}

/// Where a requirement stands for the packs in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Checks cover it and none fails.
    Evidenced { controls: Vec<String> },
    /// Checks cover it and some fail: each failing control and how many subjects it fails.
    Failing { failing: Vec<(String, usize)> },
    /// Nothing in force speaks to it.
    NotEvidenced,
}

static FRAMEWORKS: std::sync::LazyLock<Result<Frameworks, String>> =
    std::sync::LazyLock::new(Frameworks::load);

impl Frameworks {
    /// The embedded mapping, read once for the process.
    pub fn embedded() -> Result<&'static Frameworks, String> {
        FRAMEWORKS.as_ref().map_err(Clone::clone)
    }

    /// Reads the embedded mapping.
    pub fn load() -> Result<Frameworks, String> {
        toml::from_str(FRAMEWORKS_TOML).map_err(|e| format!("library/frameworks.toml: {e}"))
    }

    /// Each requirement's standing, given the check controls in force (`pack`, `control`) and
    /// how many subjects each fails now.
    pub fn standing(
        &self,
        in_force: &[(String, String)],
        failing: &BTreeMap<(String, String), usize>,
    ) -> Vec<(&Requirement, Standing)> {
        self.requirements
            .iter()
            .map(|requirement| {
                let covering: Vec<&(String, String)> = in_force
                    .iter()
                    .filter(|(_, control)| {
                        self.controls.iter().any(|e| {
                            e.evidences.contains(&requirement.id)
                                && (from_library(control, &e.id)
                                    || e.equivalents.iter().any(|q| q == control))
                        })
                    })
                    .collect();
                let standing = if covering.is_empty() {
                    Standing::NotEvidenced
                } else {
                    let failing: Vec<(String, usize)> = covering
                        .iter()
                        .filter_map(|key| {
                            failing
                                .get(*key)
                                .filter(|n| **n > 0)
                                .map(|n| (format!("{}/{}", key.0, key.1), *n))
                        })
                        .collect();
                    if failing.is_empty() {
                        Standing::Evidenced {
                            controls: covering.iter().map(|(p, c)| format!("{p}/{c}")).collect(),
                        }
                    } else {
                        Standing::Failing { failing }
                    }
                };
                (requirement, standing)
            })
            .collect()
    }
}

#[cfg(test)]
mod framework_tests {
    use super::*;

    #[test]
    fn every_mapping_names_a_library_control_and_a_listed_requirement() {
        let library = library().unwrap_or_else(|e| panic!("{e:?}"));
        let frameworks = Frameworks::load().unwrap_or_else(|e| panic!("{e}"));
        for evidence in &frameworks.controls {
            assert!(library.control(&evidence.id).is_some(), "{}", evidence.id);
            for r in &evidence.evidences {
                assert!(
                    frameworks.requirements.iter().any(|q| q.id == *r),
                    "{}: {r}",
                    evidence.id
                );
            }
        }
        for control in &library.controls {
            assert!(
                frameworks.controls.iter().any(|e| e.id == control.id),
                "{} is mapped to no framework",
                control.id
            );
        }
        // The built-in checks named as equivalents exist.
        let builtin: Vec<String> = crate::builtin()
            .unwrap_or_else(|e| panic!("{e:?}"))
            .iter()
            .flat_map(|p| p.controls().map(|c| c.id.clone()).collect::<Vec<_>>())
            .collect();
        for evidence in &frameworks.controls {
            for q in &evidence.equivalents {
                assert!(
                    builtin.contains(q),
                    "{}: no built-in check {q}",
                    evidence.id
                );
            }
        }
    }

    #[test]
    fn a_requirement_is_evidenced_failing_or_not_evidenced() {
        let frameworks = Frameworks::load().unwrap_or_else(|e| panic!("{e}"));
        let in_force = vec![
            (
                "ours".to_owned(),
                "accounts-use-mfa-where-supported".to_owned(),
            ),
            (
                "ours".to_owned(),
                "devices-connected-within-n-days-2".to_owned(),
            ),
        ];
        let failing = BTreeMap::from([(
            (
                "ours".to_owned(),
                "devices-connected-within-n-days-2".to_owned(),
            ),
            3,
        )]);
        let standing = frameworks.standing(&in_force, &failing);
        let of = |id: &str| {
            standing
                .iter()
                .find(|(r, _)| r.id == id)
                .map(|(_, s)| s.clone())
                .unwrap()
        };
        assert_eq!(
            of("CE-user-access-control"),
            Standing::Evidenced {
                controls: vec!["ours/accounts-use-mfa-where-supported".into()]
            }
        );
        assert_eq!(
            of("CE-security-update-management"),
            Standing::Failing {
                failing: vec![("ours/devices-connected-within-n-days-2".into(), 3)]
            }
        );
        assert_eq!(of("CE-firewalls"), Standing::NotEvidenced);
        assert_eq!(of("CE-malware-protection"), Standing::NotEvidenced);
    }
}
