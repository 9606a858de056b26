//! A `csv` connector's columns mapped on screen, for those who run connectors: a sample file
//! uploaded on the connector's page (`/connectors/{name}/mapping`) is shown — its header row
//! and first rows — with a form choosing how the file is laid out (the character between its
//! columns, the line its header is on, whether it lists everything of its kind) and, for each
//! field of the target, the file's column that fills it and how it is read (a date's format, a
//! boolean's words, a number's scale, money in pounds or pence, the file's words translated to
//! Steward's). **Preview** (`…/mapping/preview`) shows the first rows as that mapping
//! reads them, each line's error beside it; **Save** (`…/mapping/save`) checks the mapping,
//! reads the sample through it, and saves it as the connector's `profile` setting (its TOML, as
//! `steward_connect::mapped::Profile::to_toml` writes it), nothing else of the connector changed.
//!
//! The sample travels with the form: its first [`SAMPLE_BYTES`], base64 in a hidden field, so
//! the file is never kept on the server between one form and the next. All three forms are
//! multipart, under the upload size limit, their CSRF token checked inside the body.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use steward_connect::mapped::{self, MappedError, MoneyUnit, Profile, Takes, Target, Transform};
use steward_connect::{Definition, Kind};
use steward_service::{ConnectorView, ServiceError, Stamp};

use crate::forms::{Errors, Input, Problem, capitalised, words};
use crate::pages::{Chrome, page_refusing, percent};
use crate::session::{Form, UploadForm};
use crate::{AppState, Signed, WebError, blocking};

/// How much of a sample file the mapping page keeps and carries from form to form.
pub(crate) const SAMPLE_BYTES: usize = 64 * 1024;
/// How many of the file's rows the page shows.
const SHOWN_ROWS: usize = 5;
/// The choice of a column select that maps nothing.
const NOT_IN_FILE: &str = "(not in the file)";

/// One field of the target: the column that fills it, and how it is read.
struct FieldRow {
    field: &'static str,
    label: String,
    column: Input,
    transforms: Vec<Input>,
    /// Its word map.
    values: Input,
}

/// The first rows as the mapping reads them.
struct MappedTable {
    fields: Vec<String>,
    rows: Vec<MappedRow>,
}

struct MappedRow {
    line: u64,
    cells: Vec<String>,
    error: String,
}

#[derive(Template)]
#[template(path = "mapping.html")]
struct MappingPage {
    chrome: Chrome,
    name: String,
    href: String,
    filename: String,
    /// The sample, base64.
    sample: String,
    /// Whether only the start of a larger file was kept.
    cut: bool,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Why the file's header and rows could not be read.
    unreadable: Option<String>,
    target: Input,
    delimiter: Input,
    header_row: Input,
    complete: Input,
    /// A usage file's fixed month.
    month: Option<Input>,
    fields: Vec<FieldRow>,
    mapped: Option<MappedTable>,
    /// Why the mapping does not fit the file, when it does not.
    misfit: Option<String>,
    errors: Errors,
}

/// What the form says (or the connector's current profile, before any form was posted).
struct Mapping {
    target: Target,
    /// The delimiter's input value: a name from [`DELIMITERS`] or the character itself.
    delimiter: String,
    header_row: String,
    month: String,
    /// `""` for the target's default, `yes` or `no`.
    complete: String,
    /// Field → the file's header.
    columns: BTreeMap<String, String>,
    /// Transform inputs by name (`date-start_date`, `yes-active`, `scale-data_mb`,
    /// `money-cost`) → what they hold.
    transforms: BTreeMap<String, String>,
    /// Field → its word map as written in its box, a `word = Steward's word` a line.
    values: BTreeMap<String, String>,
}

/// The delimiters offered by name, as a select's values.
const DELIMITERS: [(&str, char, &str); 4] = [
    ("comma", ',', "Commas ,"),
    (
        "semicolon",
        ';',
        "Semicolons ; (a spreadsheet saved in many European settings)",
    ),
    ("tab", '\t', "Tabs (a .tsv or text export)"),
    ("pipe", '|', "Vertical bars |"),
];

/// The input value that stands for `delimiter`.
fn delimiter_name(delimiter: Option<char>) -> String {
    let c = delimiter.unwrap_or(',');
    DELIMITERS
        .iter()
        .find(|(_, d, _)| *d == c)
        .map_or_else(|| c.to_string(), |(name, _, _)| (*name).to_owned())
}

/// The delimiter an input value stands for (`None`: not one character).
fn delimiter_of(text: &str) -> Option<char> {
    if let Some((_, c, _)) = DELIMITERS.iter().find(|(name, _, _)| *name == text) {
        return Some(*c);
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// A field's word map written a pair a line, as its box shows it.
fn values_text(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(from, to)| format!("{from} = {to}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Mapping {
    fn of_profile(profile: Option<&Profile>) -> Mapping {
        let Some(p) = profile else {
            return Mapping {
                target: Target::People,
                delimiter: delimiter_name(None),
                header_row: String::new(),
                month: String::new(),
                complete: String::new(),
                columns: BTreeMap::new(),
                transforms: BTreeMap::new(),
                values: BTreeMap::new(),
            };
        };
        let mut transforms = BTreeMap::new();
        for (field, t) in &p.transforms {
            if let Some(date) = &t.date {
                transforms.insert(format!("date-{field}"), date.clone());
            }
            if let Some(yes) = &t.yes {
                transforms.insert(format!("yes-{field}"), yes.join(", "));
            }
            if let Some(no) = &t.no {
                transforms.insert(format!("no-{field}"), no.join(", "));
            }
            if let Some(scale) = t.scale {
                transforms.insert(format!("scale-{field}"), scale.to_string());
            }
            if let Some(money) = t.money {
                let unit = match money {
                    MoneyUnit::Pounds => "pounds",
                    MoneyUnit::Pence => "pence",
                };
                transforms.insert(format!("money-{field}"), unit.to_owned());
            }
        }
        Mapping {
            target: p.target,
            delimiter: delimiter_name(p.delimiter),
            header_row: p.header_row.map(|n| n.to_string()).unwrap_or_default(),
            month: p.month.clone().unwrap_or_default(),
            complete: match p.complete {
                None => String::new(),
                Some(true) => "yes".to_owned(),
                Some(false) => "no".to_owned(),
            },
            columns: p.columns.clone(),
            transforms,
            values: p
                .values
                .iter()
                .map(|(field, map)| (field.clone(), values_text(map)))
                .collect(),
        }
    }

    fn of_form(form: &Form) -> Result<Mapping, Problem> {
        let word = form.get("target");
        let target = Target::from_name(&word).ok_or_else(|| {
            Problem::at(
                "target",
                "choose what the file lists: people, accounts, devices or usage",
            )
        })?;
        let mut columns = BTreeMap::new();
        let mut transforms = BTreeMap::new();
        let mut values = BTreeMap::new();
        for field in target.fields() {
            let column = form.get(&format!("col-{field}"));
            if !column.is_empty() {
                columns.insert(field.to_owned(), column);
            }
            let words = form.get(&format!("values-{field}"));
            if !words.trim().is_empty() {
                values.insert(field.to_owned(), words);
            }
            for name in transform_names(target, field) {
                let value = form.get(&name);
                if !value.is_empty() {
                    transforms.insert(name, value);
                }
            }
        }
        let delimiter = match form.get("delimiter") {
            d if d.is_empty() => delimiter_name(None),
            d => d,
        };
        Ok(Mapping {
            target,
            delimiter,
            header_row: form.get("header_row"),
            month: form.get("month"),
            complete: form.get("complete"),
            columns,
            transforms,
            values,
        })
    }

    /// The delimiter the form chose; `,` for one it cannot use (said beside it when saving).
    fn delimiter(&self) -> Option<char> {
        delimiter_of(&self.delimiter).filter(|c| *c != ',')
    }

    /// The profile the mapping makes, keeping the connector's current name; what cannot be a
    /// profile is said beside its input.
    fn profile(&self, current: Option<&Profile>, connector: &str) -> Result<Profile, Problem> {
        let header_row = match self.header_row.as_str() {
            "" => None,
            text => Some(text.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Problem::at(
                    "header_row",
                    "Header row: a whole number of lines, counted from 1",
                )
            })?),
        };
        let mut transforms = BTreeMap::new();
        for field in self.columns.keys() {
            let got = |what: &str| self.transforms.get(&format!("{what}-{field}"));
            let list = |text: Option<&String>| {
                text.map(|t| {
                    t.split(',')
                        .map(|w| w.trim().to_owned())
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                })
            };
            let transform = match self.target.takes(field) {
                Some(Takes::Date) => got("date").map(|d| Transform {
                    date: Some(d.clone()),
                    ..Transform::default()
                }),
                Some(Takes::Words) => {
                    let (yes, no) = (list(got("yes")), list(got("no")));
                    (yes.is_some() || no.is_some()).then_some(Transform {
                        yes,
                        no,
                        ..Transform::default()
                    })
                }
                Some(Takes::Scale) => match got("scale") {
                    None => None,
                    Some(text) => {
                        let scale = text.replace(',', "").parse::<f64>().map_err(|_| {
                            Problem::at(
                                format!("scale-{field}"),
                                format!(
                                    "{}: {text:?} is not a number, such as 1024",
                                    scale_label(field)
                                ),
                            )
                        })?;
                        Some(Transform {
                            scale: Some(scale),
                            ..Transform::default()
                        })
                    }
                },
                Some(Takes::Money) => got("money")
                    .and_then(|unit| match unit.as_str() {
                        "pence" => Some(MoneyUnit::Pence),
                        "pounds" => Some(MoneyUnit::Pounds),
                        _ => None,
                    })
                    .map(|unit| Transform {
                        money: Some(unit),
                        ..Transform::default()
                    }),
                None => None,
            };
            if let Some(t) = transform {
                transforms.insert(field.clone(), t);
            }
        }
        let mut values = BTreeMap::new();
        for (field, text) in &self.values {
            if !self.columns.contains_key(field) {
                continue;
            }
            let mut map = BTreeMap::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let Some((from, to)) = line.rsplit_once('=').map(|(f, t)| (f.trim(), t.trim()))
                else {
                    return Err(Problem::at(
                        format!("values-{field}"),
                        format!(
                            "{}: line {} {:?} has no \"=\": write the file's word, =, and Steward's word",
                            values_label(field),
                            n + 1,
                            line.trim()
                        ),
                    ));
                };
                if from.is_empty() {
                    return Err(Problem::at(
                        format!("values-{field}"),
                        format!(
                            "{}: line {} names no word of the file before its \"=\"",
                            values_label(field),
                            n + 1
                        ),
                    ));
                }
                map.insert(from.to_owned(), to.to_owned());
            }
            if !map.is_empty() {
                values.insert(field.clone(), map);
            }
        }
        let delimiter = match delimiter_of(&self.delimiter) {
            Some(c) if c.is_ascii() && c != '"' && c != '\n' && c != '\r' => c,
            _ => {
                return Err(Problem::at(
                    "delimiter",
                    "Columns separated by: one character, such as a comma, semicolon or tab",
                ));
            }
        };
        let complete = match self.complete.as_str() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            _ => {
                return Err(Problem::at(
                    "complete",
                    "A complete listing: choose yes, no, or the default for what the file lists",
                ));
            }
        };
        Ok(Profile {
            name: current
                .map(|p| p.name.clone())
                .unwrap_or_else(|| connector.to_owned()),
            target: self.target,
            delimiter: (delimiter != ',').then_some(delimiter),
            header_row,
            month: (self.target == Target::Usage && !self.month.is_empty())
                .then(|| self.month.clone()),
            complete,
            columns: self.columns.clone(),
            transforms,
            values,
        })
    }
}

/// The transform inputs a field has, by name.
fn transform_names(target: Target, field: &str) -> Vec<String> {
    match target.takes(field) {
        Some(Takes::Date) => vec![format!("date-{field}")],
        Some(Takes::Words) => vec![format!("yes-{field}"), format!("no-{field}")],
        Some(Takes::Scale) => vec![format!("scale-{field}")],
        Some(Takes::Money) => vec![format!("money-{field}")],
        None => Vec::new(),
    }
}

fn scale_label(field: &str) -> String {
    format!("{}: multiply by", words(field))
}

fn values_label(field: &str) -> String {
    format!("{}: words to translate", words(field))
}

/// A header or a field's name as words to compare: `Start Date`, `start_date` and
/// `START-DATE` are the same.
fn normalised(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a profile's key (`columns.email`, `transforms.start_date`) is on the form: the name
/// of its input, when it has one.
fn input_of(target: Target, key: &str) -> Option<String> {
    if matches!(key, "header_row" | "month" | "delimiter" | "complete") {
        return Some(key.to_owned());
    }
    if key == "columns" {
        return None;
    }
    let (section, field) = key.split_once('.')?;
    match section {
        "columns" => Some(format!("col-{field}")),
        "values" => Some(format!("values-{field}")),
        "transforms" => transform_names(target, field).into_iter().next(),
        _ => None,
    }
}

/// A profile's or a file's refusal, beside the input it concerns where it concerns one.
fn problem_of(target: Target, e: &MappedError) -> Problem {
    let at = match e {
        MappedError::Profile { key, .. } | MappedError::MissingColumn { key, .. } => {
            input_of(target, key)
        }
        MappedError::Cell { field, .. } => Some(format!("col-{field}")),
        _ => None,
    };
    let text = capitalised(&e.to_string());
    match at {
        Some(name) => Problem::at(name, text),
        None => Problem::general(text),
    }
}

/// The start of a file, whole lines only where it is cut.
fn sample_of(bytes: &[u8]) -> (Vec<u8>, bool) {
    if bytes.len() <= SAMPLE_BYTES {
        return (bytes.to_vec(), false);
    }
    let head = bytes.get(..SAMPLE_BYTES).unwrap_or(bytes);
    let end = head
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(head.len(), |n| n + 1);
    (head.get(..end).unwrap_or(head).to_vec(), true)
}

/// The connector, which must be a `csv` one, and its profile as it reads now.
async fn csv_connector(
    state: &AppState,
    signed: &Signed,
    name: &str,
) -> Result<(ConnectorView, Option<Profile>), WebError> {
    let stamp = Stamp::of(&signed.viewer);
    let wanted = name.to_owned();
    let view = blocking(state, move |s| {
        s.connectors(&stamp)?
            .into_iter()
            .find(|v| v.definition.name == wanted)
            .ok_or(ServiceError::NoConnector(wanted))
    })
    .await?;
    if view.definition.kind != Kind::Csv {
        return Err(WebError::BadRequest(format!(
            "{name} is a {} connector: only a mapped CSV connector maps a file's columns",
            view.definition.kind.title()
        )));
    }
    let profile = view
        .definition
        .get("profile")
        .and_then(|text| Profile::from_toml(&text).ok());
    Ok((view, profile))
}

/// Everything the page is drawn from.
struct Shown<'a> {
    name: &'a str,
    filename: String,
    sample: &'a [u8],
    cut: bool,
    mapping: &'a Mapping,
    current: Option<&'a Profile>,
    /// Show the first rows as the mapping reads them.
    previewed: bool,
    problems: Vec<Problem>,
}

fn draw(state: &AppState, signed: &Signed, shown: Shown<'_>) -> Result<Response, WebError> {
    let Shown {
        name,
        filename,
        sample,
        cut,
        mapping,
        current,
        previewed,
        mut problems,
    } = shown;
    // The file read as the header row says, to show it and offer its headers.
    let bare = Profile {
        name: name.to_owned(),
        target: mapping.target,
        delimiter: mapping.delimiter(),
        header_row: mapping.header_row.parse::<u64>().ok().filter(|n| *n > 0),
        month: None,
        complete: None,
        columns: BTreeMap::new(),
        transforms: BTreeMap::new(),
        values: BTreeMap::new(),
    };
    let read = mapped::preview(Some(&bare), sample, SHOWN_ROWS);
    let unreadable = if read.headers.is_empty() {
        read.error.as_ref().map(|e| capitalised(&e.to_string()))
    } else {
        None
    };
    let mut mapped_table = None;
    let mut misfit = None;
    if previewed && unreadable.is_none() {
        match mapping.profile(current, name) {
            Err(p) => problems.push(p),
            Ok(profile) => {
                let preview = mapped::preview(Some(&profile), sample, SHOWN_ROWS);
                if let Some(e) = &preview.error {
                    misfit = Some(capitalised(&e.to_string()));
                }
                if let Some(rows) = preview.mapped {
                    let mut fields: Vec<String> = Vec::new();
                    for row in &rows {
                        for (f, _) in &row.fields {
                            if !fields.contains(f) {
                                fields.push(f.clone());
                            }
                        }
                    }
                    let rows = rows
                        .iter()
                        .map(|row| MappedRow {
                            line: row.line,
                            cells: fields
                                .iter()
                                .map(|f| {
                                    row.fields
                                        .iter()
                                        .find(|(n, _)| n == f)
                                        .map(|(_, v)| v.clone())
                                        .unwrap_or_default()
                                })
                                .collect(),
                            error: row
                                .error
                                .as_ref()
                                .map(|e| capitalised(&e.to_string()))
                                .unwrap_or_default(),
                        })
                        .collect();
                    mapped_table = Some(MappedTable { fields, rows });
                }
            }
        }
    }

    let target = Input::select(
        "field-target",
        "target",
        "What the file lists",
        Target::ALL
            .iter()
            .map(|t| (t.name().to_owned(), capitalised(t.name()))),
        mapping.target.name(),
    )
    .required(true)
    .hint("Choose another and press Preview to map its fields");
    let mut header_row = Input::text("field-header_row", "header_row", "Header row")
        .hint("The line the column headers are on, counted from 1. Left empty: 1")
        .value(mapping.header_row.clone())
        .placeholder("1");
    header_row.inputmode = "numeric";
    header_row.autocomplete = "off";
    let mut delimiters: Vec<(String, String)> = DELIMITERS
        .iter()
        .map(|(name, _, label)| ((*name).to_owned(), (*label).to_owned()))
        .collect();
    // A profile written by hand may name another character: it stays chosen.
    if !delimiters.iter().any(|(v, _)| *v == mapping.delimiter) {
        delimiters.push((
            mapping.delimiter.clone(),
            format!("{:?}", mapping.delimiter),
        ));
    }
    let mut delimiter = Input::select(
        "field-delimiter",
        "delimiter",
        "Columns separated by",
        delimiters,
        &mapping.delimiter,
    )
    .required(true)
    .hint("Choose another and press Preview to read the file again");
    let default_complete = if mapping.target == Target::Usage {
        "no: one bill lists only its own lines"
    } else {
        "yes: whoever the file leaves out is marked missing from it"
    };
    let mut complete = Input::select(
        "field-complete",
        "complete",
        "Does the file list everything of its kind?",
        [
            (String::new(), format!("The default ({default_complete})")),
            (
                "yes".to_owned(),
                "Yes: a record it leaves out is missing from the source".to_owned(),
            ),
            (
                "no".to_owned(),
                "No: it lists some records; nothing is marked missing".to_owned(),
            ),
        ],
        &mapping.complete,
    );
    let mut month = (mapping.target == Target::Usage).then(|| {
        let mut input = Input::text("field-month", "month", "The month the file covers")
            .hint("Such as 2026-11, when no column gives each line's month")
            .value(mapping.month.clone());
        input.autocomplete = "off";
        input
    });
    let choices: Vec<(String, String)> = std::iter::once((String::new(), NOT_IN_FILE.to_owned()))
        .chain(read.headers.iter().map(|h| (h.clone(), h.clone())))
        .collect();
    let mut fields: Vec<FieldRow> = mapping
        .target
        .fields()
        .map(|field| {
            let label = words(field);
            let chosen = match mapping.columns.get(field) {
                Some(column) => read
                    .headers
                    .iter()
                    .find(|h| normalised(h) == normalised(column))
                    .cloned()
                    .unwrap_or_else(|| column.clone()),
                None if previewed => String::new(),
                None => read
                    .headers
                    .iter()
                    .find(|h| normalised(h) == normalised(field))
                    .cloned()
                    .unwrap_or_default(),
            };
            let mut options = choices.clone();
            // A column the profile names that this file lacks stays chosen, to be put right.
            if !chosen.is_empty() && !options.iter().any(|(v, _)| *v == chosen) {
                options.push((chosen.clone(), format!("{chosen} (not in this file)")));
            }
            let column = Input::select(
                format!("field-col-{field}"),
                format!("col-{field}"),
                &format!("{label}: column"),
                options,
                &chosen,
            )
            .hint(format!(
                "{} ({field})",
                capitalised(mapping.target.describe(field).unwrap_or("text"))
            ));
            let value = |name: &str| mapping.transforms.get(name).cloned().unwrap_or_default();
            let text = |name: String, label: String, hint: &str| {
                let mut input = Input::text(format!("field-{name}"), name.clone(), &label)
                    .hint(hint)
                    .value(value(&name));
                input.autocomplete = "off";
                input
            };
            let transforms = match mapping.target.takes(field) {
                Some(Takes::Date) => vec![text(
                    format!("date-{field}"),
                    format!("{label}: date format"),
                    "Such as %d/%m/%Y for 03/04/2019. Left empty: 2019-04-03",
                )],
                Some(Takes::Words) => vec![
                    text(
                        format!("yes-{field}"),
                        format!("{label}: words for yes"),
                        "Separated by commas, such as Current, Active. Left empty: yes, true",
                    ),
                    text(
                        format!("no-{field}"),
                        format!("{label}: words for no"),
                        "Separated by commas, such as Left. Left empty: no, false",
                    ),
                ],
                Some(Takes::Scale) => {
                    let mut input = text(
                        format!("scale-{field}"),
                        scale_label(field),
                        "Such as 1024 for a file in GB. Left empty: as written",
                    );
                    input.inputmode = "decimal";
                    vec![input]
                }
                Some(Takes::Money) => {
                    let name = format!("money-{field}");
                    vec![Input::select(
                        format!("field-{name}"),
                        name.clone(),
                        &format!("{label}: written in"),
                        [
                            ("pounds".to_owned(), "pounds, such as £12.50".to_owned()),
                            ("pence".to_owned(), "pence, such as 1250".to_owned()),
                        ],
                        &value(&name),
                    )]
                }
                None => Vec::new(),
            };
            let mut values = Input::many_lines(
                &format!("field-values-{field}"),
                &format!("values-{field}"),
                &values_label(field),
            )
            .hint(
                "One a line: the file's word, =, and Steward's, such as Family Court Advisers = fca. Words not listed are read as written",
            )
            .value(mapping.values.get(field).cloned().unwrap_or_default());
            values.wide = true;
            FieldRow {
                field,
                label,
                column,
                transforms,
                values,
            }
        })
        .collect();
    let errors = Errors::place(
        &problems,
        [&mut delimiter, &mut header_row, &mut complete]
            .into_iter()
            .chain(month.iter_mut())
            .chain(fields.iter_mut().flat_map(|f| {
                std::iter::once(&mut f.column)
                    .chain(f.transforms.iter_mut())
                    .chain(std::iter::once(&mut f.values))
            })),
    );
    page_refusing(
        !errors.is_empty(),
        &MappingPage {
            chrome: Chrome::signed(state, signed, "/connectors"),
            name: name.to_owned(),
            href: format!("/connectors/{}", percent(name)),
            filename,
            sample: STANDARD.encode(sample),
            cut,
            headers: read.headers,
            rows: read.rows,
            unreadable,
            target,
            delimiter,
            header_row,
            complete,
            month,
            fields,
            mapped: mapped_table,
            misfit,
            errors,
        },
    )
}

/// The sample a mapping form carries, decoded.
fn carried(form: &Form) -> Result<Vec<u8>, WebError> {
    let bytes = STANDARD
        .decode(form.get("sample"))
        .map_err(|_| WebError::BadRequest("the form's sample file could not be read".into()))?;
    Ok(sample_of(&bytes).0)
}

/// A sample file uploaded: shown, with the form that maps it (from the current profile).
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    UploadForm { signed, mut form }: UploadForm,
) -> Result<Response, WebError> {
    let (_, current) = csv_connector(&state, &signed, &name).await?;
    let Some(file) = form.take_file("file") else {
        return Err(WebError::BadRequest(
            "choose the sample file to map (a CSV file)".into(),
        ));
    };
    let (sample, cut) = sample_of(&file.bytes);
    let mapping = Mapping::of_profile(current.as_ref());
    draw(
        &state,
        &signed,
        Shown {
            name: &name,
            filename: file.filename,
            sample: &sample,
            cut,
            mapping: &mapping,
            current: current.as_ref(),
            previewed: false,
            problems: Vec::new(),
        },
    )
}

/// The first rows as the posted mapping reads them.
pub(crate) async fn preview(
    State(state): State<AppState>,
    Path(name): Path<String>,
    UploadForm { signed, form }: UploadForm,
) -> Result<Response, WebError> {
    let (_, current) = csv_connector(&state, &signed, &name).await?;
    let sample = carried(&form)?;
    let (mapping, problems) = match Mapping::of_form(&form) {
        Ok(m) => (m, Vec::new()),
        Err(p) => (Mapping::of_profile(current.as_ref()), vec![p]),
    };
    draw(
        &state,
        &signed,
        Shown {
            name: &name,
            filename: form.get("filename"),
            sample: &sample,
            cut: form.get("cut") == "yes",
            mapping: &mapping,
            current: current.as_ref(),
            previewed: true,
            problems,
        },
    )
}

/// The posted mapping checked, the sample read through it, and saved as the connector's
/// profile; refused beside its field when it cannot be.
pub(crate) async fn save(
    State(state): State<AppState>,
    Path(name): Path<String>,
    UploadForm { signed, form }: UploadForm,
) -> Result<Response, WebError> {
    let (view, current) = csv_connector(&state, &signed, &name).await?;
    let sample = carried(&form)?;
    let refuse = |mapping: &Mapping, problems: Vec<Problem>| {
        draw(
            &state,
            &signed,
            Shown {
                name: &name,
                filename: form.get("filename"),
                sample: &sample,
                cut: form.get("cut") == "yes",
                mapping,
                current: current.as_ref(),
                previewed: true,
                problems,
            },
        )
    };
    let mapping = match Mapping::of_form(&form) {
        Ok(m) => m,
        Err(p) => return refuse(&Mapping::of_profile(current.as_ref()), vec![p]),
    };
    let profile = match mapping.profile(current.as_ref(), &name) {
        Ok(p) => p,
        Err(p) => return refuse(&mapping, vec![p]),
    };
    if let Err(e) = profile.check() {
        return refuse(&mapping, vec![problem_of(mapping.target, &e)]);
    }
    // The sample must read through it: every line the page kept, not just those shown.
    let read = mapped::preview(Some(&profile), &sample, usize::MAX);
    let first = read.error.clone().or_else(|| {
        read.mapped
            .iter()
            .flatten()
            .find_map(|row| row.error.clone())
    });
    if let Some(e) = first {
        return refuse(&mapping, vec![problem_of(mapping.target, &e)]);
    }
    let text = match profile.to_toml() {
        Ok(t) => t,
        Err(e) => return refuse(&mapping, vec![Problem::general(e.to_string())]),
    };
    let mut settings = view.definition.settings.clone();
    settings.insert("profile".to_owned(), text);
    let definition = match Definition::new(&name, Kind::Csv, settings) {
        Ok(d) => d,
        Err(e) => {
            return refuse(
                &mapping,
                vec![Problem::general(capitalised(&e.to_string()))],
            );
        }
    };
    let stamp = Stamp::of(&signed.viewer);
    let saved = blocking(&state, move |s| s.save_connector(&stamp, &definition, None)).await;
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/connectors/{}", percent(&name))).into_response()),
        Err(WebError::Service(ServiceError::Connector { source, .. })) => refuse(
            &mapping,
            vec![Problem::general(capitalised(&source.to_string()))],
        ),
        Err(e) => Err(e),
    }
}
