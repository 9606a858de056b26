//! Form inputs drawn from the model's field table, and refusals said in plain words beside the
//! fields they concern, with a summary at the top of the page (the GOV.UK error summary).
//!
//! [`Input::of`] is the one place a register field becomes an input: its type (a date, a
//! date and time, a number with its unit, a choice of the enumeration's words, yes or no), its
//! limits (`maxlength` from the field's `max_chars`, `min`, `step`), whether it is required, and
//! its current value as the input shows it. `templates/forms.html` draws it. [`Refusal`] turns a
//! service error into [`Problem`]s, each naming the form field it concerns where it does, and
//! [`Errors::place`] puts each beside its input and lists them all for the summary.

use chrono::{NaiveDateTime, Utc};
use chrono_tz::Tz;
use steward_model::{Field, FieldType, Register, Value};
use steward_service::{ServiceError, SignInRefused};
use steward_workflow::WorkflowError;

/// One choice of a `<select>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Everything a template needs to draw one labelled input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Input {
    pub id: String,
    /// The form field's name: what is posted.
    pub name: String,
    /// A few words naming the field; they also begin its error message.
    pub label: String,
    /// What to write, shown under the label; empty for none.
    pub hint: String,
    /// `text`, `email`, `number`, `date`, `datetime-local`, `month`, `password`, `select` or
    /// `textarea`. A `textarea` never stands for a register field: no register field holds a
    /// line break (the model refuses control characters), so a box that invites one would
    /// invite a refusal. It is for text of many lines that is no register's: a connector's
    /// profile, a key file pasted.
    pub kind: &'static str,
    /// A text input drawn wide: free text written at length (a reason, facts, evidence).
    pub wide: bool,
    pub value: String,
    pub required: bool,
    pub maxlength: Option<usize>,
    pub minlength: Option<usize>,
    /// `min`, `max` and `step` of a number or date; empty for none.
    pub min: String,
    pub max: String,
    pub step: &'static str,
    pub inputmode: &'static str,
    pub autocomplete: &'static str,
    /// What the browser shows in an empty input (a default taken when it is left empty); the
    /// hint says it too, since a placeholder vanishes as one types.
    pub placeholder: String,
    /// The unit shown before the input (£) or after it (MB, days).
    pub prefix: &'static str,
    pub suffix: &'static str,
    pub choices: Vec<Choice>,
    /// What is wrong with the value, said beside it.
    pub error: Option<String>,
    /// Say "(optional)" by the label of an input that may be left empty: so in a form that
    /// records something, not in a filter.
    pub say_optional: bool,
}

/// A name as words: `assigned_to` → `Assigned to`.
pub(crate) fn words(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The unit a whole number's field name ends in, and its name without it: `data_mb` is `Data`
/// in MB, `every_days` is `Every` so many days.
fn unit_of(name: &str) -> (&str, &'static str) {
    const UNITS: [(&str, &str); 4] = [
        ("_mb", "MB"),
        ("_minutes", "minutes"),
        ("_months", "months"),
        ("_days", "days"),
    ];
    UNITS
        .iter()
        .find_map(|(end, unit)| name.strip_suffix(end).map(|stem| (stem, *unit)))
        .unwrap_or((name, ""))
}

/// A value as an input of its type shows it: an instant as the organisation's clocks showed it
/// (`datetime-local` has no zone), anything else in its interchange spelling.
pub(crate) fn shown_value(ty: FieldType, value: &Value, zone: Tz) -> String {
    match (ty, value) {
        (FieldType::Timestamp, Value::Timestamp(t)) => t
            .with_timezone(&zone)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
        _ => value.to_text(),
    }
}

/// What a posted value means in the interchange spelling the service reads: a `datetime-local`
/// value is a wall-clock time in the organisation's zone (`local` turns it into an instant);
/// anything else, RFC 3339 included, is passed on as it is for the model to judge.
pub(crate) fn posted_value(
    ty: FieldType,
    text: &str,
    local: impl Fn(NaiveDateTime) -> Result<chrono::DateTime<Utc>, ServiceError>,
) -> Result<String, ServiceError> {
    let text = text.trim();
    if ty != FieldType::Timestamp || text.is_empty() {
        return Ok(text.to_owned());
    }
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"));
    match parsed {
        Ok(wall) => Ok(local(wall)?.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        Err(_) => Ok(text.to_owned()),
    }
}

impl Input {
    /// A plain text input: the start of every other.
    pub(crate) fn text(id: impl Into<String>, name: impl Into<String>, label: &str) -> Input {
        Input {
            id: id.into(),
            name: name.into(),
            label: label.to_owned(),
            hint: String::new(),
            kind: "text",
            wide: false,
            value: String::new(),
            required: false,
            maxlength: None,
            minlength: None,
            min: String::new(),
            max: String::new(),
            step: "",
            inputmode: "",
            autocomplete: "",
            placeholder: String::new(),
            prefix: "",
            suffix: "",
            choices: Vec::new(),
            error: None,
            say_optional: true,
        }
    }

    /// A new password: at least 12 characters (the policy `steward_auth` holds checks the
    /// rest), never shown again.
    pub(crate) fn new_password(id: &str, name: &str, label: &str) -> Input {
        let mut input = Input::text(id, name, label).required(true);
        input.kind = "password";
        input.autocomplete = "new-password";
        input.minlength = Some(12);
        input
    }

    /// A secret typed in (a client secret, a token): never given an autocomplete, and — since
    /// [`Input::posted`] passes a password by — never written back into a page.
    pub(crate) fn secret(id: &str, name: &str, label: &str) -> Input {
        let mut input = Input::text(id, name, label);
        input.kind = "password";
        input.autocomplete = "off";
        input
    }

    /// A box of many lines, for text that is no register field's (see [`Input::kind`]).
    pub(crate) fn many_lines(id: &str, name: &str, label: &str) -> Input {
        let mut input = Input::text(id, name, label);
        input.kind = "textarea";
        input.autocomplete = "off";
        input
    }

    pub(crate) fn placeholder(mut self, text: impl Into<String>) -> Input {
        self.placeholder = text.into();
        self
    }

    /// A choice among `choices` (value, label), the one equal to `value` selected.
    pub(crate) fn select(
        id: impl Into<String>,
        name: impl Into<String>,
        label: &str,
        choices: impl IntoIterator<Item = (String, String)>,
        value: &str,
    ) -> Input {
        let mut input = Input::text(id, name, label);
        input.kind = "select";
        input.choices = choices
            .into_iter()
            .map(|(v, l)| Choice {
                selected: v == value,
                value: v,
                label: l,
            })
            .collect();
        input.value = value.to_owned();
        input
    }

    /// The input for a register's `field` holding `value`, posted as the field's name; its id is
    /// `edit-NAME` until [`Input::id`] says otherwise. Everything it asks of the browser comes
    /// from the field: its type, whether it is required, its length, its words.
    pub(crate) fn of(field: &Field, value: &Value, zone: Tz) -> Input {
        let mut input = Input::text(format!("edit-{}", field.name), field.name, "");
        input.label = words(field.name);
        input.required = field.required;
        input.value = shown_value(field.ty, value, zone);
        let long = field.max_chars > FieldType::Text.max_chars();
        match field.ty {
            FieldType::Text => {
                input.wide = long;
                input.maxlength = Some(field.max_chars);
                input.hint = format!("At most {} characters", field.max_chars);
            }
            FieldType::Id => {
                input.maxlength = Some(field.max_chars);
                input.autocomplete = "off";
                input.hint = "An identifier, without spaces".into();
            }
            FieldType::Slug => {
                input.maxlength = Some(field.max_chars);
                input.autocomplete = "off";
                input.hint =
                    "Lower-case letters and digits, with hyphens, underscores and dots".into();
            }
            FieldType::Email => {
                input.kind = "email";
                input.maxlength = Some(field.max_chars);
                input.autocomplete = "off";
            }
            FieldType::Enum(words) => {
                input.kind = "select";
                let current = value.to_text();
                let mut choices: Vec<(String, String)> = Vec::new();
                if !field.required {
                    choices.push((String::new(), "none".into()));
                }
                choices.extend(words.iter().map(|w| ((*w).to_owned(), w.replace('_', " "))));
                // A stored word no longer listed is kept, not silently changed on saving.
                if !current.is_empty() && !words.contains(&current.as_str()) {
                    choices.push((current.clone(), current.clone()));
                }
                input.choices = to_choices(choices, &current);
            }
            FieldType::Bool => {
                input.kind = "select";
                let mut choices: Vec<(String, String)> = Vec::new();
                if !field.required {
                    choices.push((String::new(), "not known".into()));
                }
                choices.push(("true".into(), "yes".into()));
                choices.push(("false".into(), "no".into()));
                input.choices = to_choices(choices, &value.to_text());
            }
            FieldType::Date => input.kind = "date",
            FieldType::Timestamp => {
                input.kind = "datetime-local";
                // Seconds are kept: without `step="1"` a stored value with seconds would not
                // pass the browser's own check.
                input.step = "1";
                input.hint = format!("In the organisation's time ({})", zone.name());
            }
            FieldType::Money => {
                input.kind = "number";
                input.min = "0".into();
                input.step = "0.01";
                input.inputmode = "decimal";
                input.prefix = "£";
                input.hint = "In pounds and pence".into();
                if let Some(stem) = field.name.strip_suffix("_gbp") {
                    input.label = words(stem);
                }
            }
            FieldType::Int => {
                input.kind = "number";
                input.min = "0".into();
                input.step = "1";
                input.inputmode = "numeric";
                let (stem, unit) = unit_of(field.name);
                input.suffix = unit;
                input.label = words(stem);
                input.hint = if unit.is_empty() {
                    "A whole number".into()
                } else {
                    format!("A whole number of {unit}")
                };
            }
            FieldType::Month => {
                input.kind = "month";
                // Browsers without a month picker show a text box: say the shape.
                input.hint = "A month, such as 2026-03".into();
            }
            FieldType::Country => {
                input.maxlength = Some(2);
                input.autocomplete = "off";
                input.hint = "A two-letter country code, such as GB or FR".into();
            }
            FieldType::Countries => {
                input.maxlength = Some(field.max_chars);
                input.autocomplete = "off";
                input.hint = "Two-letter country codes separated by ;, such as FR;BE".into();
            }
        }
        if let Some(target) = field.refers_to {
            input.hint = format!(
                "The {} of {} on the {} register",
                target.id_field().name,
                a(&target.entity().replace('_', " ")),
                target.name().replace('_', " "),
            );
        }
        input
    }

    /// [`Input::of`] for the field `name` of `register`, empty; `None` if it has no such field.
    pub(crate) fn field(register: Register, name: &str, zone: Tz) -> Option<Input> {
        register
            .field(name)
            .map(|f| Input::of(f, &Value::Null, zone))
    }

    pub(crate) fn id(mut self, id: impl Into<String>) -> Input {
        self.id = id.into();
        self
    }

    pub(crate) fn name(mut self, name: impl Into<String>) -> Input {
        self.name = name.into();
        self
    }

    pub(crate) fn label(mut self, label: &str) -> Input {
        self.label = label.to_owned();
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Input {
        self.hint = hint.into();
        self
    }

    /// An input of a filter or a question, where leaving it empty is the usual case.
    pub(crate) fn unmarked(mut self) -> Input {
        self.say_optional = false;
        self
    }

    pub(crate) fn required(mut self, required: bool) -> Input {
        self.required = required;
        // A required choice has no "none".
        if required && self.kind == "select" {
            self.choices.retain(|c| !c.value.is_empty());
        }
        self
    }

    /// Shows `value` (as the input spells it), selecting the choice it names.
    pub(crate) fn value(mut self, value: impl Into<String>) -> Input {
        self.value = value.into();
        for c in &mut self.choices {
            c.selected = c.value == self.value;
        }
        self
    }

    /// Shows what was posted under this input's name, if anything was: after a refusal, the
    /// form shows what was typed, to be put right.
    pub(crate) fn posted(self, posted: &[(String, String)]) -> Input {
        if self.kind == "password" {
            // A password is never written back into a page.
            return self;
        }
        match posted.iter().find(|(k, _)| *k == self.name) {
            Some((_, v)) => {
                let v = v.clone();
                self.value(v)
            }
            None => self,
        }
    }

    /// The ids of the hint and the error message, for `aria-describedby`; empty for neither.
    pub(crate) fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if !self.hint.is_empty() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }
}

fn to_choices(choices: Vec<(String, String)>, current: &str) -> Vec<Choice> {
    choices
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// `a person`, `an asset`.
fn a(noun: &str) -> String {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

/// One thing wrong with a form, in plain words: the reason, and the form field it concerns (its
/// posted name) where it concerns one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub field: Option<String>,
    pub reason: String,
}

impl Problem {
    /// A problem with the form as a whole.
    pub(crate) fn general(reason: impl Into<String>) -> Problem {
        Problem {
            field: None,
            reason: reason.into(),
        }
    }

    /// A problem with one field.
    pub(crate) fn at(field: impl Into<String>, reason: impl Into<String>) -> Problem {
        Problem {
            field: Some(field.into()),
            reason: reason.into(),
        }
    }
}

/// A refused form: what was wrong, and what was posted (to be shown again).
#[derive(Debug, Clone, Default)]
pub(crate) struct Refusal {
    pub problems: Vec<Problem>,
    pub posted: Vec<(String, String)>,
}

impl Refusal {
    /// A refusal with one problem with the form as a whole.
    pub(crate) fn general(reason: impl Into<String>) -> Refusal {
        Refusal {
            problems: vec![Problem::general(reason)],
            posted: Vec::new(),
        }
    }

    /// A refusal with one problem with one field.
    pub(crate) fn at(field: &str, reason: impl Into<String>) -> Refusal {
        Refusal {
            problems: vec![Problem::at(field, reason)],
            posted: Vec::new(),
        }
    }

    pub(crate) fn with_posted(mut self, posted: &[(String, String)]) -> Refusal {
        self.posted = posted
            .iter()
            .filter(|(k, _)| k != "csrf")
            .cloned()
            .collect();
        self
    }

    /// The problems a service error names, each against the form field it concerns; `None` for
    /// an error that is no refusal of what was typed (the database failing, a page not found,
    /// not being allowed), which the caller hands on.
    pub(crate) fn of(e: &ServiceError) -> Option<Refusal> {
        let problems = match e {
            ServiceError::Invalid { problems, .. } => problems
                .iter()
                .map(|p| Problem::at(p.field, p.reason.clone()))
                .collect(),
            ServiceError::Workflow(w) => vec![match w {
                WorkflowError::MissingDetail { kind, key, hint } => {
                    Problem::at(*key, format!("a {kind} request needs it: {hint}"))
                }
                WorkflowError::BadDetail { key, reason, .. } => Problem::at(key, reason.clone()),
                other => Problem::general(other.to_string()),
            }],
            ServiceError::SignIn(s) => vec![match s {
                SignInRefused::BadName(reason) => Problem::at("name", reason.clone()),
                SignInRefused::AccountExists(_) | SignInRefused::BadEmail(_) => {
                    Problem::at("email", s.to_string())
                }
                SignInRefused::WeakPassword(reason) => Problem::at("password", reason.clone()),
                other => Problem::general(other.to_string()),
            }],
            ServiceError::NotFound { .. }
            | ServiceError::AlreadyExists { .. }
            | ServiceError::Checks(_) => vec![Problem::general(e.to_string())],
            _ => return None,
        };
        Some(Refusal {
            problems,
            posted: Vec::new(),
        })
    }
}

/// One line of the summary at the top of a refused form: the message, linking to its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorItem {
    /// The id of the input it concerns, when the page has it.
    pub target: Option<String>,
    pub text: String,
}

/// Every problem of a refused form, for the summary at the top of the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Errors {
    pub items: Vec<ErrorItem>,
}

impl Errors {
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Puts each problem beside the input posted under its field's name (the first such of
    /// `inputs`) and lists every problem, linked to its input where it has one. A message begins
    /// with what it concerns, so that it reads alone in the summary.
    pub(crate) fn place<'a>(
        problems: &[Problem],
        inputs: impl IntoIterator<Item = &'a mut Input>,
    ) -> Errors {
        let mut inputs: Vec<&mut Input> = inputs.into_iter().collect();
        let mut items = Vec::new();
        for p in problems {
            let input = p
                .field
                .as_deref()
                .and_then(|f| inputs.iter_mut().find(|i| i.name == f));
            match (input, &p.field) {
                (Some(input), _) => {
                    let text = format!("{}: {}", input.label, p.reason);
                    // Two problems with one field are said together beside it.
                    input.error = Some(match input.error.take() {
                        Some(before) => format!("{before}. {text}"),
                        None => text.clone(),
                    });
                    items.push(ErrorItem {
                        target: Some(input.id.clone()),
                        text,
                    });
                }
                (None, Some(field)) => items.push(ErrorItem {
                    target: None,
                    text: format!("{}: {}", words(field), p.reason),
                }),
                (None, None) => items.push(ErrorItem {
                    target: None,
                    text: capitalised(&p.reason),
                }),
            }
        }
        Errors { items }
    }
}

/// `text` with its first letter a capital.
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &'static str, ty: FieldType, required: bool) -> Field {
        Field {
            name,
            ty,
            required,
            refers_to: None,
            csv: true,
            max_chars: ty.max_chars(),
        }
    }

    /// What an input asks of the browser, as attributes: what the template writes for it.
    fn attributes(i: &Input) -> Vec<String> {
        let mut out = vec![format!("kind={}", i.kind)];
        if i.wide {
            out.push("wide".into());
        }
        let mut add = |k: &str, v: &str| {
            if !v.is_empty() {
                out.push(format!("{k}={v}"));
            }
        };
        add("value", &i.value);
        add("min", &i.min);
        add("max", &i.max);
        add("step", i.step);
        add("inputmode", i.inputmode);
        add("prefix", i.prefix);
        add("suffix", i.suffix);
        if let Some(n) = i.maxlength {
            out.push(format!("maxlength={n}"));
        }
        if i.required {
            out.push("required".into());
        }
        for c in &i.choices {
            out.push(format!(
                "option={}{}",
                c.value,
                if c.selected { "*" } else { "" }
            ));
        }
        out
    }

    #[test]
    fn each_field_type_asks_the_browser_for_what_the_model_takes() {
        let london = chrono_tz::Europe::London;
        let at = |text: &str| {
            Value::Timestamp(
                chrono::DateTime::parse_from_rfc3339(text)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
            )
        };
        let date = |text: &str| {
            Value::Date(chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default())
        };
        let long_text = Field {
            max_chars: steward_model::LONG_TEXT,
            ..field("reason", FieldType::Text, true)
        };
        let cases: Vec<(Field, Value, &[&str])> = vec![
            (
                field("name", FieldType::Text, true),
                Value::Text("Ada".into()),
                &["kind=text", "value=Ada", "maxlength=200", "required"],
            ),
            (
                long_text,
                Value::Null,
                &["kind=text", "wide", "maxlength=4000", "required"],
            ),
            (
                field("tag", FieldType::Id, false),
                Value::Null,
                &["kind=text", "maxlength=128"],
            ),
            (
                field("staff_group", FieldType::Slug, true),
                Value::Text("fca".into()),
                &["kind=text", "value=fca", "maxlength=64", "required"],
            ),
            (
                field("email", FieldType::Email, false),
                Value::Null,
                &["kind=email", "maxlength=254"],
            ),
            (
                field("status", FieldType::Enum(&["in_stock", "allocated"]), true),
                Value::Text("allocated".into()),
                &[
                    "kind=select",
                    "value=allocated",
                    "required",
                    "option=in_stock",
                    "option=allocated*",
                ],
            ),
            (
                field(
                    "ico_decision",
                    FieldType::Enum(&["notify", "do-not-notify"]),
                    false,
                ),
                Value::Null,
                &[
                    "kind=select",
                    "option=*",
                    "option=notify",
                    "option=do-not-notify",
                ],
            ),
            (
                field("encrypted", FieldType::Bool, false),
                Value::Bool(false),
                &[
                    "kind=select",
                    "value=false",
                    "option=",
                    "option=true",
                    "option=false*",
                ],
            ),
            (
                field("mandatory", FieldType::Bool, true),
                Value::Bool(true),
                &[
                    "kind=select",
                    "value=true",
                    "required",
                    "option=true*",
                    "option=false",
                ],
            ),
            (
                field("start_date", FieldType::Date, false),
                date("2026-03-01"),
                &["kind=date", "value=2026-03-01"],
            ),
            // Summer time: the wall clock in London is an hour ahead of UTC.
            (
                field("last_seen", FieldType::Timestamp, false),
                at("2026-07-01T09:30:15Z"),
                &["kind=datetime-local", "value=2026-07-01T10:30:15", "step=1"],
            ),
            (
                field("cost_gbp", FieldType::Money, false),
                Value::Money(steward_model::Pence(89_900)),
                &[
                    "kind=number",
                    "value=899.00",
                    "min=0",
                    "step=0.01",
                    "inputmode=decimal",
                    "prefix=£",
                ],
            ),
            (
                field("data_mb", FieldType::Int, true),
                Value::Int(2048),
                &[
                    "kind=number",
                    "value=2048",
                    "min=0",
                    "step=1",
                    "inputmode=numeric",
                    "suffix=MB",
                    "required",
                ],
            ),
            (
                field("month", FieldType::Month, true),
                Value::Text("2026-03".into()),
                &["kind=month", "value=2026-03", "required"],
            ),
            (
                field("country", FieldType::Country, true),
                Value::Text("GB".into()),
                &["kind=text", "value=GB", "maxlength=2", "required"],
            ),
            (
                field("countries", FieldType::Countries, false),
                Value::Null,
                &["kind=text", "maxlength=10000"],
            ),
        ];
        for (f, value, expected) in cases {
            let input = Input::of(&f, &value, london);
            assert_eq!(input.name, f.name, "{f:?}");
            assert_eq!(input.id, format!("edit-{}", f.name), "{f:?}");
            assert_eq!(attributes(&input), *expected, "{f:?}");
        }
    }

    #[test]
    fn labels_and_units_read_as_words() {
        let london = chrono_tz::Europe::London;
        let cases = [
            ("assigned_to", FieldType::Id, "Assigned to", "", ""),
            ("cost_gbp", FieldType::Money, "Cost", "£", ""),
            ("every_days", FieldType::Int, "Every", "", "days"),
            ("period_months", FieldType::Int, "Period", "", "months"),
            ("texts", FieldType::Int, "Texts", "", ""),
        ];
        for (name, ty, label, prefix, suffix) in cases {
            let input = Input::of(&field(name, ty, false), &Value::Null, london);
            assert_eq!(
                (input.label.as_str(), input.prefix, input.suffix),
                (label, prefix, suffix),
                "{name}"
            );
        }
        let held_by = Input::field(Register::Assets, "assigned_to", london)
            .map(|i| i.hint)
            .unwrap_or_default();
        assert_eq!(held_by, "The id of a person on the people register");
    }

    #[test]
    fn a_posted_wall_clock_time_is_read_in_the_organisation_s_zone() {
        let london = chrono_tz::Europe::London;
        let local = |wall: NaiveDateTime| -> Result<chrono::DateTime<Utc>, ServiceError> {
            use chrono::TimeZone as _;
            london
                .from_local_datetime(&wall)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| ServiceError::Checks("no such time".into()))
        };
        let cases = [
            (
                FieldType::Timestamp,
                "2026-07-01T10:30",
                "2026-07-01T09:30:00Z",
            ),
            (
                FieldType::Timestamp,
                "2026-01-05T08:00:05",
                "2026-01-05T08:00:05Z",
            ),
            // Already an instant: passed on for the model to read.
            (
                FieldType::Timestamp,
                "2026-07-01T10:30:00+01:00",
                "2026-07-01T10:30:00+01:00",
            ),
            (FieldType::Timestamp, "", ""),
            (FieldType::Date, " 2026-07-01 ", "2026-07-01"),
        ];
        for (ty, posted, expected) in cases {
            let got = posted_value(ty, posted, local).map_err(|e| e.to_string());
            assert_eq!(got, Ok(expected.to_owned()), "{posted}");
        }
    }

    #[test]
    fn problems_go_beside_their_inputs_and_into_the_summary() {
        let london = chrono_tz::Europe::London;
        let mut name = Input::field(Register::Organisation, "name", london)
            .map(|i| i.id("org-name"))
            .unwrap_or_else(|| Input::text("org-name", "name", "Name"));
        let mut zone = Input::text("org-tz", "time_zone", "Time zone");
        let errors = Errors::place(
            &[
                Problem::at("name", "too long (20000 characters; at most 200)"),
                Problem::at("id", "an id cannot change"),
                Problem::general("the organisation could not be saved"),
            ],
            [&mut name, &mut zone],
        );
        assert_eq!(
            name.error.as_deref(),
            Some("Name: too long (20000 characters; at most 200)")
        );
        assert_eq!(name.described_by(), "org-name-hint org-name-error");
        assert_eq!(zone.error, None);
        assert_eq!(zone.described_by(), "");
        assert_eq!(
            errors.items,
            vec![
                ErrorItem {
                    target: Some("org-name".into()),
                    text: "Name: too long (20000 characters; at most 200)".into(),
                },
                ErrorItem {
                    target: None,
                    text: "Id: an id cannot change".into(),
                },
                ErrorItem {
                    target: None,
                    text: "The organisation could not be saved".into(),
                },
            ]
        );
    }
}
