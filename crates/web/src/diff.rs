//! Two versions of a policy compared on the estate as it is now: what adopting the second would
//! change, clause by clause, and the findings it would add and remove (`steward policy diff`).

use std::collections::BTreeMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use steward_engine::diff::{ClauseDiff, ParameterDiff, compare};
use steward_policy::Pack;

use crate::pages::{Chrome, page};
use crate::{AppState, Signed, WebError, blocking};

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Choice {
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "policy_diff.html")]
struct DiffPage {
    chrome: Chrome,
    packs: Vec<(String, String)>,
    from: String,
    to: String,
    parameters: Vec<ParameterDiff>,
    clauses: Vec<ClauseDiff>,
    added: usize,
    removed: usize,
    compared: bool,
}

fn shown(
    pack: &Pack,
    overrides: &steward_policy::Overrides,
) -> Result<BTreeMap<String, String>, WebError> {
    Ok(steward_service::effective_params(pack, overrides)?
        .into_iter()
        .map(|(n, v)| (n, v.to_string()))
        .collect())
}

pub(crate) async fn policy_diff(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(choice): Query<Choice>,
) -> Result<Response, WebError> {
    let available = crate::derived::available_packs(&state, signed.audit_seq).await?;
    let packs: Vec<(String, String)> = available
        .iter()
        .map(|p| (p.id.clone(), format!("{} ({})", p.title, p.id)))
        .collect();
    let find = |id: &str| available.iter().find(|p| p.id == id).cloned();
    let (mut parameters, mut clauses, mut added, mut removed, mut compared) =
        (Vec::new(), Vec::new(), 0, 0, false);
    if !choice.from.is_empty() && !choice.to.is_empty() {
        let (Some(a), Some(b)) = (find(&choice.from), find(&choice.to)) else {
            return Err(WebError::BadRequest(format!(
                "no pack {:?} or {:?} here",
                choice.from, choice.to
            )));
        };
        let overrides =
            (*crate::derived::overrides_in_force(&state, signed.audit_seq).await?).clone();
        let (a_params, b_params) = (shown(&a, &overrides)?, shown(&b, &overrides)?);
        // Both versions see the same estate at the same moment.
        let diff = blocking(&state, move |s| {
            let now = Utc::now();
            let a_findings = s.run_checks(&[&a], &overrides, now)?;
            let b_findings = s.run_checks(&[&b], &overrides, now)?;
            Ok(compare(
                &a, &a_params, a_findings, &b, &b_params, b_findings,
            ))
        })
        .await?;
        parameters = diff.parameters;
        clauses = diff.clauses;
        added = diff.added.len();
        removed = diff.removed.len();
        compared = true;
    }
    page(&DiffPage {
        chrome: Chrome::signed(&state, &signed, "/policy"),
        packs,
        from: choice.from,
        to: choice.to,
        parameters,
        clauses,
        added,
        removed,
        compared,
    })
}
