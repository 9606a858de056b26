//! Importing the organisation's own policy document on screen (`/policy/import`): the document
//! uploaded, what it does not state about itself asked beside the field that gives it, the pack
//! kept in the database (audited) and shown clause by clause, ready to be run.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use steward_service::{PolicyAnswers, PolicyImportError, ServiceError, Stamp};

use crate::pages::{Chrome, page_refusing};
use crate::session::UploadForm;
use crate::{AppState, Signed, WebError, blocking};

/// The form's fields besides the document: name, label, hint.
const FIELDS: &[(&str, &str, &str)] = &[
    ("title", "Title", "as the document names itself"),
    ("version", "Version", "e.g. 2.1"),
    (
        "organisation",
        "Organisation",
        "blank: the organisation's name in Steward",
    ),
    ("owner", "Owner", "the post that owns the policy"),
    ("approver", "Approved by", "e.g. Board of Trustees"),
    ("approved_on", "Approved on", "YYYY-MM-DD"),
    (
        "id",
        "Pack id",
        "blank: made of the title and version; lower-case letters, digits, - and .",
    ),
];

struct FieldView {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: String,
    error: Option<String>,
}

struct ClauseRow {
    id: String,
    /// The clause id as an element id can carry it.
    anchor: String,
    heading: String,
    text: String,
    /// Its controls: "guidance" until mapped, then the checks' ids.
    controls: String,
}

struct Imported {
    id: String,
    title: String,
    version: String,
    active: bool,
    clauses: Vec<ClauseRow>,
    owner: String,
    approver: String,
    approved_on: String,
    next_review: String,
}

#[derive(Template)]
#[template(path = "policy_import.html")]
struct ImportPolicyPage {
    chrome: Chrome,
    fields: Vec<FieldView>,
    error: Option<String>,
    document_error: Option<String>,
    imported: Option<Imported>,
    fixed: bool,
}

fn blank_fields() -> Vec<FieldView> {
    FIELDS
        .iter()
        .map(|(name, label, hint)| FieldView {
            name,
            label,
            hint,
            value: String::new(),
            error: None,
        })
        .collect()
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Shown {
    /// The pack just imported, shown clause by clause.
    pack: String,
}

pub(crate) async fn form(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(shown): Query<Shown>,
) -> Result<Response, WebError> {
    let mut imported = None;
    if !shown.pack.is_empty() {
        let id = shown.pack.clone();
        let (own, active) = blocking(&state, move |s| {
            let own = s.own_pack(&id)?;
            Ok((own, s.active_pack_ids()?))
        })
        .await?;
        let Some(pack) = own else {
            return Err(WebError::NotFound);
        };
        imported = Some(Imported {
            owner: pack.owner.clone(),
            approver: pack.approver.clone(),
            approved_on: pack.approved_on.to_string(),
            next_review: pack.next_review.map(|d| d.to_string()).unwrap_or_default(),
            active: active.contains(&pack.id),
            id: pack.id,
            title: pack.title,
            version: pack.version,
            clauses: pack
                .clauses
                .into_iter()
                .map(|c| ClauseRow {
                    anchor: steward_policy::skeleton::control_id(&c.id),
                    controls: c
                        .controls
                        .iter()
                        .map(|k| match k.kind.name() {
                            steward_policy::KindName::Guidance => "guidance".to_owned(),
                            _ => k.id.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    id: c.id,
                    heading: c.heading.join(" › "),
                    text: c.text,
                })
                .collect(),
        });
    }
    page_refusing(
        false,
        &ImportPolicyPage {
            chrome: Chrome::signed(&state, &signed, "/policy"),
            fields: blank_fields(),
            error: None,
            document_error: None,
            imported,
            fixed: !state.options.packs.is_empty(),
        },
    )
}

/// Makes a copy of a built-in pack one of the organisation's own (`ID-own`, or `ID-own-2`, …),
/// then shows it, ready to be mapped and changed.
pub(crate) async fn copy(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let from = form.get("pack");
    let Some(builtin) = steward_policy::BUILTIN.iter().find(|b| b.id == from) else {
        return Err(WebError::BadRequest(format!(
            "pack: {from:?} is not a built-in pack"
        )));
    };
    let available = crate::derived::available_packs(&state, signed.audit_seq).await?;
    let mut new_id = format!("{from}-own");
    let mut n = 1;
    while available.iter().any(|p| p.id == new_id) {
        n += 1;
        new_id = format!("{from}-own-{n}");
    }
    let stamp = Stamp::of(&signed.viewer);
    let id = new_id.clone();
    blocking(&state, move |s| {
        s.copy_pack(&stamp, builtin, &id, &available)
    })
    .await?;
    Ok(Redirect::to(&format!("/policy/import?pack={new_id}#imported")).into_response())
}

/// Changes who owns and approved one of the organisation's own packs, and when it is reviewed.
pub(crate) async fn details(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let form = crate::session::Form::read(request).await?;
    let pack = form.get("pack");
    let date = |name: &str| -> Result<Option<NaiveDate>, WebError> {
        match form.get(name) {
            text if text.is_empty() => Ok(None),
            text => NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    WebError::BadRequest(format!(
                        "{name}: {text:?} is not a date written YYYY-MM-DD"
                    ))
                }),
        }
    };
    let Some(approved_on) = date("approved_on")? else {
        return Err(WebError::BadRequest(
            "approved_on: the date it was approved is required".into(),
        ));
    };
    let details = steward_service::PackDetails {
        owner: form.get("owner"),
        approver: form.get("approver"),
        approved_on,
        next_review: date("next_review")?,
    };
    let stamp = Stamp::of(&signed.viewer);
    let id = pack.clone();
    blocking(&state, move |s| s.set_pack_details(&stamp, &id, &details)).await?;
    Ok(Redirect::to(&format!("/policy/import?pack={pack}#details")).into_response())
}

pub(crate) async fn import(
    State(state): State<AppState>,
    UploadForm { signed, mut form }: UploadForm,
) -> Result<Response, WebError> {
    let mut fields = blank_fields();
    for f in &mut fields {
        f.value = form.get(f.name);
    }
    let refuse = |fields: Vec<FieldView>, error: String, document_error: Option<String>| {
        page_refusing(
            true,
            &ImportPolicyPage {
                chrome: Chrome::signed(&state, &signed, "/policy"),
                fields,
                error: Some(error),
                document_error,
                imported: None,
                fixed: !state.options.packs.is_empty(),
            },
        )
    };
    let approved_on = match form.get("approved_on") {
        text if text.is_empty() => None,
        text => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => {
                let message = format!("approved_on: {text:?} is not a date written YYYY-MM-DD");
                if let Some(f) = fields.iter_mut().find(|f| f.name == "approved_on") {
                    f.error = Some("write the date as YYYY-MM-DD, e.g. 2025-03-14".into());
                }
                return refuse(fields, message, None);
            }
        },
    };
    let Some(document) = form.take_file("document") else {
        let message = "document: choose your policy document (.docx, .md, .txt or .pdf)";
        return refuse(fields, message.into(), Some(message.into()));
    };
    let value = |name: &str| Some(form.get(name)).filter(|v| !v.is_empty());
    let mut answers = PolicyAnswers {
        id: value("id"),
        title: value("title"),
        version: value("version"),
        organisation: value("organisation"),
        owner: value("owner"),
        approver: value("approver"),
        approved_on,
    };
    let stamp = Stamp::of(&signed.viewer);
    let known = state.options.available.clone();
    let name = document.filename.clone();
    let outcome = blocking(&state, move |s| {
        if answers.organisation.is_none() {
            let organisation = s.organisation()?;
            if organisation.name != steward_service::default_organisation().name {
                answers.organisation = Some(organisation.name);
            }
        }
        s.import_policy(&stamp, &name, &document.bytes, &answers, &known)
    })
    .await;
    match outcome {
        Ok(imported) => Ok(Redirect::to(&format!(
            "/policy/import?pack={}#imported",
            imported.skeleton.id
        ))
        .into_response()),
        Err(WebError::Service(ServiceError::PolicyImport(e))) => {
            let message = e.to_string();
            let mut document_error = None;
            match &e {
                PolicyImportError::Missing { missing } => {
                    for (what, flag) in missing {
                        let name = flag.trim_start_matches("--").replace('-', "_");
                        if let Some(f) = fields.iter_mut().find(|f| f.name == name) {
                            f.error = Some(format!("the document does not state {what}"));
                        }
                    }
                }
                PolicyImportError::BadId { .. } | PolicyImportError::IdTaken { .. } => {
                    if let Some(f) = fields.iter_mut().find(|f| f.name == "id") {
                        f.error = Some(message.clone());
                    }
                }
                _ => document_error = Some(message.clone()),
            }
            refuse(fields, message, document_error)
        }
        Err(e) => Err(e),
    }
}
