//! `/policy/frameworks`: the Cyber Essentials requirements and ISO/IEC 27001:2022 Annex A controls,
//! each as the checks in force leave it today — evidenced (a passing check covers it), failing
//! (and what fails), or not evidenced (nothing the registers hold speaks to it) — so "would we
//! pass today?" is answered with what Steward cannot see said plainly.

use std::collections::BTreeMap;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use steward_policy::library::{Frameworks, Standing};

use crate::pages::{Chrome, page};
use crate::{AppState, Signed, WebError};

struct Row {
    id: String,
    title: String,
    /// `evidenced`, `failing` or `not-evidenced`.
    state: &'static str,
    controls: Vec<String>,
    failing: Vec<(String, usize, String)>,
}

struct FrameworkView {
    name: String,
    anchor: String,
    rows: Vec<Row>,
    evidenced: usize,
    failing: usize,
    unseen: usize,
}

#[derive(Template)]
#[template(path = "frameworks.html")]
struct FrameworksPage {
    chrome: Chrome,
    frameworks: Vec<FrameworkView>,
    nothing_in_force: bool,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, WebError> {
    let frameworks = Frameworks::embedded()
        .map_err(|e| WebError::Service(steward_service::ServiceError::Checks(e)))?;
    let running = crate::derived::running_packs(&state, signed.audit_seq).await?;
    let in_force: Vec<(String, String)> = running
        .iter()
        .flat_map(|p| {
            p.controls()
                .filter(|c| c.kind.name() == steward_policy::KindName::Check)
                .map(|c| (p.id.clone(), c.id.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut failing: BTreeMap<(String, String), usize> = BTreeMap::new();
    for t in crate::pages::tallies(&state, signed.audit_seq)
        .await?
        .iter()
        .filter(|t| t.state.is_failing())
    {
        *failing
            .entry((t.pack.clone(), t.control.clone()))
            .or_default() += usize::try_from(t.count).unwrap_or(usize::MAX);
    }
    let mut views: Vec<FrameworkView> = Vec::new();
    for (requirement, standing) in frameworks.standing(&in_force, &failing) {
        let (state, controls, failing) = match standing {
            Standing::Evidenced { controls } => ("evidenced", controls, Vec::new()),
            Standing::Failing { failing } => ("failing", Vec::new(), failing),
            Standing::NotEvidenced => ("not-evidenced", Vec::new(), Vec::new()),
        };
        let row = Row {
            id: requirement.id.clone(),
            title: requirement.title.clone(),
            state,
            controls,
            failing: failing
                .into_iter()
                .map(|(key, n)| {
                    let (pack, control) = key.split_once('/').unwrap_or((&key, ""));
                    let href = format!("/findings?pack={pack}&control={control}");
                    (key, n, href)
                })
                .collect(),
        };
        let view = match views.iter_mut().find(|v| v.name == requirement.framework) {
            Some(view) => view,
            None => {
                views.push(FrameworkView {
                    name: requirement.framework.clone(),
                    anchor: format!("framework-{}", views.len() + 1),
                    rows: Vec::new(),
                    evidenced: 0,
                    failing: 0,
                    unseen: 0,
                });
                let last = views.len() - 1;
                &mut views[last]
            }
        };
        match row.state {
            "evidenced" => view.evidenced += 1,
            "failing" => view.failing += 1,
            _ => view.unseen += 1,
        }
        view.rows.push(row);
    }
    page(&FrameworksPage {
        chrome: Chrome::signed(&state, &signed, "/policy"),
        frameworks: views,
        nothing_in_force: running.is_empty(),
    })
}
