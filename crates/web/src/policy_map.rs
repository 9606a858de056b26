//! Mapping a clause of the organisation's own policy to a control from the library, on screen
//! (`/policy/map`): the controls searched, one chosen, its parameters, scope and severity set,
//! the findings it would raise on today's estate previewed, then saved (audited) — no rule
//! written, no file edited. A preview is counted by a job (a large estate takes seconds to
//! read); the page shows the choices it was asked with and reloads itself until the count is in.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use steward_policy::RecordType;
use steward_policy::library::{Library, MapChoices, MapError};
use steward_service::{
    JobResult, JobState, MappingPreview, PolicyImportError, ServiceError, Stamp,
};

use crate::pages::{Chrome, page_refusing};
use crate::{AppState, Signed, WebError, blocking};

struct Choice {
    id: String,
    description: String,
    chosen: bool,
}

struct ParamField {
    name: String,
    label: String,
    unit: String,
    value: String,
    error: Option<String>,
}

struct ScopeField {
    key: &'static str,
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "policy_map.html")]
struct MapPage {
    chrome: Chrome,
    pack: String,
    pack_title: String,
    clause: String,
    clause_text: String,
    q: String,
    choices: Vec<Choice>,
    control: String,
    description: String,
    params: Vec<ParamField>,
    scope: Vec<ScopeField>,
    severity: String,
    /// An expert's own rule, as typed, and what the loader said of it.
    rule: String,
    rule_error: Option<String>,
    error: Option<String>,
    preview: Preview,
    /// How often the page reloads itself while a preview is counted, in seconds.
    refresh: u32,
}

/// Where a preview of the mapping stands.
#[derive(Debug, Clone, Default)]
enum Preview {
    #[default]
    None,
    /// Queued or being counted.
    Counting,
    Counted(usize),
}

impl Preview {
    fn counting(&self) -> bool {
        matches!(self, Preview::Counting)
    }

    fn counted(&self) -> Option<usize> {
        match self {
            Preview::Counted(n) => Some(*n),
            _ => None,
        }
    }
}

/// How often a page waiting for its preview reloads itself, in seconds.
const REFRESH: u32 = 1;

/// The mapping page showing preview job `job`'s choices and, once counted, its count.
pub(crate) fn preview_path(preview: &MappingPreview, job: i64) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("pack", &preview.pack)
        .append_pair("clause", &preview.clause)
        .append_pair("control", &preview.control)
        .append_pair("preview", &job.to_string())
        .finish();
    format!("/policy/map?{query}")
}

/// The form fields that make `choices`, as the page's form names them.
fn fields_of(choices: &MapChoices) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = choices
        .parameters
        .iter()
        .map(|(name, value)| (format!("param-{name}"), value.clone()))
        .collect();
    fields.extend(
        choices
            .scope
            .iter()
            .map(|(key, words)| (format!("scope-{key}"), words.join(", "))),
    );
    fields.extend(choices.severity.clone().map(|s| ("severity".to_owned(), s)));
    fields.extend(choices.rule.clone().map(|r| ("rule".to_owned(), r)));
    fields
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Wanted {
    pack: String,
    clause: String,
    q: String,
    control: String,
    /// A preview job of this mapping, whose choices and count the page shows.
    preview: Option<i64>,
}

fn library() -> Result<&'static Library, WebError> {
    steward_policy::library::library()
        .map_err(|e| WebError::Service(ServiceError::PolicyImport(PolicyImportError::Invalid(e))))
}

/// The check a control is, if it is one.
fn check_of(control: &steward_policy::Control) -> Option<&steward_policy::Check> {
    match &control.kind {
        steward_policy::ControlKind::Check(check) => Some(check),
        _ => None,
    }
}

/// The scope a library control lets a person choose, with the words `shown` (the control as
/// in force, or the library's own) has now.
fn scope_fields(
    control: &steward_policy::Control,
    shown: &steward_policy::Control,
) -> Vec<ScopeField> {
    let (Some(check), Some(now)) = (check_of(control), check_of(shown)) else {
        return Vec::new();
    };
    match check.subject {
        RecordType::Asset => vec![ScopeField {
            key: "asset_kinds",
            label: "Kinds of device",
            value: now
                .scope
                .asset_kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }],
        RecordType::Person | RecordType::Account => vec![ScopeField {
            key: "staff_groups",
            label: "Staff groups (empty: everyone)",
            value: now.scope.staff_groups.join(", "),
        }],
        _ => Vec::new(),
    }
}

/// The page for clause `clause` of pack `pack`, with `control` chosen (its fields filled from
/// `given` where a value was typed).
#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    signed: &Signed,
    wanted: Wanted,
    given: Option<&crate::session::Form>,
    error: Option<String>,
    param_errors: &[(String, String)],
    preview: Preview,
    refused: bool,
) -> Result<Response, WebError> {
    // The loader's words about an expert's rule go beside the rule.
    let rule_error = error
        .as_deref()
        .filter(|_| given.is_some_and(|f| !f.get("rule").is_empty()))
        .filter(|e| e.contains("does not load"));
    let library = library()?;
    let id = wanted.pack.clone();
    let own = blocking(state, move |s| s.own_pack(&id)).await?;
    let Some(pack) = own else {
        return Err(WebError::NotFound);
    };
    let Some(clause) = pack.clauses.iter().find(|c| c.id == wanted.clause) else {
        return Err(WebError::NotFound);
    };
    let choices = library
        .search(&wanted.q)
        .into_iter()
        .map(|c| Choice {
            id: c.id.clone(),
            description: c.description.clone(),
            chosen: c.id == wanted.control,
        })
        .collect();
    let chosen = library.control(&wanted.control);
    // Mapped before: the form starts from what is in force, not the library's defaults.
    let in_force = library.in_force(&pack, &clause.id, &wanted.control);
    let typed = |name: &str| given.map(|f| f.get(name)).filter(|v| !v.is_empty());
    let params = chosen
        .map(|c| {
            c.parameters
                .iter()
                .map(|p| ParamField {
                    name: p.name.clone(),
                    label: p.description.clone(),
                    unit: p.unit.clone().unwrap_or_default(),
                    value: typed(&format!("param-{}", p.name)).unwrap_or_else(|| {
                        let current = in_force.as_ref().and_then(|(_, v)| v.get(&p.name));
                        steward_policy::library::form_text(current.unwrap_or(&p.value))
                    }),
                    error: param_errors
                        .iter()
                        .find(|(n, _)| *n == p.name)
                        .map(|(_, e)| e.clone()),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut scope = match chosen {
        Some(c) => scope_fields(
            &c.control,
            in_force.as_ref().map_or(&c.control, |(k, _)| *k),
        ),
        None => Vec::new(),
    };
    if let Some(f) = given {
        for field in &mut scope {
            field.value = f.get(&format!("scope-{}", field.key));
        }
    }
    let severity = typed("severity").unwrap_or_else(|| {
        in_force
            .as_ref()
            .map(|(c, _)| c.severity)
            .or(chosen.map(|c| c.control.severity))
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default()
    });
    page_refusing(
        refused,
        &MapPage {
            chrome: Chrome::signed(state, signed, "/policy"),
            pack: pack.id.clone(),
            pack_title: pack.title.clone(),
            clause: clause.id.clone(),
            clause_text: clause.text.clone(),
            q: wanted.q,
            choices,
            control: wanted.control,
            description: chosen.map(|c| c.description.clone()).unwrap_or_default(),
            params,
            scope,
            severity,
            rule: given.map(|f| f.get("rule")).unwrap_or_default(),
            rule_error: rule_error.map(str::to_owned),
            error,
            preview,
            refresh: REFRESH,
        },
    )
}

pub(crate) async fn form(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(wanted): Query<Wanted>,
) -> Result<Response, WebError> {
    // No pack named: the clauses to map are chosen from an imported pack's page.
    if wanted.pack.is_empty() {
        return Ok(Redirect::to("/policy/import").into_response());
    }
    let Some(job) = wanted.preview else {
        return render(
            &state,
            &signed,
            wanted,
            None,
            None,
            &[],
            Preview::None,
            false,
        )
        .await;
    };
    let stamp = Stamp::of(&signed.viewer);
    let view = blocking(&state, move |s| s.job(&stamp, job)).await?;
    // Another page's job, or another kind: not this mapping's preview.
    let preview = serde_json::from_str::<MappingPreview>(&view.job.arguments)
        .ok()
        .filter(|p| {
            view.kind == Some(steward_service::JobKind::Preview)
                && p.pack == wanted.pack
                && p.clause == wanted.clause
                && p.control == wanted.control
        })
        .ok_or(WebError::NotFound)?;
    let given = crate::session::Form {
        fields: fields_of(&preview.choices),
        files: Vec::new(),
    };
    let (shown, error) = match (&view.job.state, &view.result) {
        (JobState::Done, Some(JobResult::Preview { findings, .. })) => {
            (Preview::Counted(*findings), None)
        }
        (state, _) if !state.is_finished() => (Preview::Counting, None),
        _ => (
            Preview::None,
            Some(format!(
                "the preview could not be counted: {}",
                view.job.error.as_deref().unwrap_or("it was cancelled")
            )),
        ),
    };
    render(
        &state,
        &signed,
        wanted,
        Some(&given),
        error,
        &[],
        shown,
        false,
    )
    .await
}

pub(crate) async fn map(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let wanted = Wanted {
        pack: form.get("pack"),
        clause: form.get("clause"),
        q: form.get("q"),
        control: form.get("control"),
        preview: None,
    };
    let save = form.get("action") == "save";
    let library = library()?;
    let Some(chosen) = library.control(&wanted.control) else {
        let message = "control: choose a control from the library".to_owned();
        return render(
            &state,
            &signed,
            wanted,
            Some(&form),
            Some(message),
            &[],
            Preview::None,
            true,
        )
        .await;
    };
    let mut choices = MapChoices {
        severity: Some(form.get("severity")).filter(|s| !s.is_empty()),
        rule: Some(form.get("rule")).filter(|r| !r.is_empty()),
        ..MapChoices::default()
    };
    for p in &chosen.parameters {
        let value = form.get(&format!("param-{}", p.name));
        if !value.is_empty() {
            choices.parameters.insert(p.name.clone(), value);
        }
    }
    for field in scope_fields(&chosen.control, &chosen.control) {
        let words: Vec<String> = form
            .get(&format!("scope-{}", field.key))
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        choices.scope.insert(field.key.to_owned(), words);
    }
    let stamp = Stamp::of(&signed.viewer);
    let (pack, clause, control) = (
        wanted.pack.clone(),
        wanted.clause.clone(),
        wanted.control.clone(),
    );
    let outcome = blocking(&state, move |s| {
        if save {
            s.save_mapping(&stamp, &pack, &clause, &control, &choices)
                .map(|_| None)
        } else {
            let preview = MappingPreview {
                pack,
                clause,
                control,
                choices,
            };
            s.enqueue_mapping_preview(&stamp, &preview)
                .map(|job| Some(preview_path(&preview, job)))
        }
    })
    .await;
    match outcome {
        Ok(None) => {
            crate::processes::recheck(&state);
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("pack", &wanted.pack)
                .append_pair("mapped", &wanted.clause)
                .finish();
            Ok(Redirect::to(&format!("/policy/import?{query}#imported")).into_response())
        }
        Ok(Some(waiting)) => {
            state.jobs.wake();
            Ok(Redirect::to(&waiting).into_response())
        }
        Err(WebError::Service(ServiceError::PolicyImport(e))) => {
            let message = e.to_string();
            let param_errors = match &e {
                PolicyImportError::Map(MapError::Parameter { parameter, reason }) => {
                    vec![(parameter.clone(), reason.clone())]
                }
                _ => Vec::new(),
            };
            render(
                &state,
                &signed,
                wanted,
                Some(&form),
                Some(message),
                &param_errors,
                Preview::None,
                true,
            )
            .await
        }
        Err(e) => Err(e),
    }
}
