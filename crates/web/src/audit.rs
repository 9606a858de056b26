//! The audit log as auditors read it: the latest records, or one record's whole history, each
//! with what changed; and the hash chain verified end to end on request.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use steward_store::AuditQuery;

use crate::pages::{Chrome, page};
use crate::{AppState, Signed, WebError, blocking};

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct AuditFilter {
    /// `type:id`, as `steward audit log --entity` takes it.
    pub entity: String,
    /// Any value: verify the whole chain.
    pub verify: String,
    /// Only records before this sequence number: the page before.
    pub before: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    entity: String,
    rows: Vec<(i64, String, String, String, String, String)>,
    verified: Option<Result<String, String>>,
    /// The page of earlier records, when there may be one; the latest records, past them.
    earlier: Option<String>,
    latest: Option<String>,
}

/// The most records shown; `steward audit log` reads them all.
const LIMIT: u64 = 300;

pub(crate) async fn audit(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, WebError> {
    let entity = filter.entity.trim().to_owned();
    let before =
        match filter.before.trim() {
            "" => None,
            text => Some(text.parse::<i64>().map_err(|_| {
                WebError::BadRequest(format!("before: {text:?}: not a record number"))
            })?),
        };
    let query = AuditQuery {
        entity: entity
            .split_once(':')
            .map(|(t, i)| (t.to_owned(), i.to_owned())),
        limit: Some(LIMIT),
        before,
    };
    let verify = !filter.verify.is_empty();
    let zone = signed.zone;
    let (rows, verified) = blocking(&state, move |s| {
        let mut rows = Vec::new();
        s.audit_log(&query, &mut |r| {
            rows.push((
                r.seq,
                crate::processes::local_text_of(&r.at, zone),
                r.actor.clone(),
                r.action.clone(),
                format!("{}:{}", r.entity_type, r.entity_id),
                crate::registers::changes(r.before.as_deref(), r.after.as_deref()),
            ));
            Ok(())
        })?;
        rows.reverse();
        let verified = if verify {
            Some(match s.verify_audit()? {
                Ok(head) => Ok(format!(
                    "the chain holds: {} records, head {}",
                    head.seq,
                    head.hash.get(..16).unwrap_or(&head.hash)
                )),
                Err(broken) => Err(broken.to_string()),
            })
        } else {
            None
        };
        Ok((rows, verified))
    })
    .await?;
    let oldest = rows.last().map(|r| r.0.to_string());
    let (latest, earlier) = crate::pages::page_links(
        &format!("/audit?entity={}", crate::pages::percent(&entity)),
        "before",
        before.is_some(),
        rows.len() as u64 == LIMIT,
        oldest.as_deref(),
    );
    page(&AuditPage {
        chrome: Chrome::signed(&state, &signed, "/audit"),
        entity,
        latest,
        earlier,
        rows,
        verified,
    })
}
