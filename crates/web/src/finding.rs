//! One finding: the clause it cites, the evidence, its history, and what to do about it — check
//! again, raise the request that settles it, or grant an exception with an expiry date.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use steward_model::{Exception, FindingState, Person, Register, SubjectType};
use steward_service::{Capacity, Stamp, Steward, Viewer};

use crate::forms::{Errors, Input, Problem, Refusal};
use crate::pages::{Chrome, page_refusing};
use crate::session::Form;
use crate::{AppState, Signed, WebError, blocking};

/// Those who see every finding.
const ESTATE: [Capacity; 4] = [
    Capacity::It,
    Capacity::Governance,
    Capacity::Auditor,
    Capacity::Administrator,
];

/// Whether `viewer` may see a finding about this subject: the estate roles see all; a person
/// sees those about what is theirs (`Steward::whose`: themselves, what they hold, own or made);
/// a line manager, their reports' too.
pub(crate) fn may_see(
    s: &Steward,
    viewer: &Viewer,
    kind: &str,
    id: &str,
) -> Result<bool, steward_service::ServiceError> {
    if ESTATE.iter().any(|c| viewer.is(*c)) {
        return Ok(true);
    }
    let Some(me) = viewer.person_id.as_deref() else {
        return Ok(false);
    };
    let Some(person) = s.whose(kind, id)? else {
        return Ok(false);
    };
    if person == me {
        return Ok(true);
    }
    Ok(viewer.is(Capacity::LineManager)
        && s.get::<Person>(&person)?
            .is_some_and(|p| p.manager_id.as_deref() == Some(me)))
}

/// The request form that settles a finding of `control`, where one does: travel for a device
/// abroad, a return for equipment held without need.
pub(crate) fn settling_request(control: &str) -> Option<&'static str> {
    if control.contains("travel") || control.contains("abroad") {
        Some("/requests/new?type=international-travel")
    } else if control.contains("returned") {
        Some("/requests/new?type=equipment-return")
    } else {
        None
    }
}

/// A key as a link: each part percent-encoded, the slashes between parts kept.
pub(crate) fn finding_href(key: &str) -> String {
    let parts: Vec<String> = key.split('/').map(crate::pages::percent).collect();
    format!("/finding/{}", parts.join("/"))
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    chrome: Chrome,
    key: String,
    message: String,
    severity: String,
    state: String,
    pack: String,
    clause: String,
    /// The clause on the living policy.
    clause_href: String,
    clause_text: String,
    subject: String,
    subject_href: Option<String>,
    who_acts: String,
    due: String,
    since: String,
    exception: String,
    evidence: Vec<(String, String)>,
    history: Vec<(String, String, String)>,
    may_except: bool,
    may_check: bool,
    request_link: Option<String>,
    /// The exceptions asked for it: what was said, and when it was settled (empty: not yet).
    asks: Vec<(String, String)>,
    /// The viewer is the person it is about, and may ask for an exception.
    may_ask: bool,
    /// Granting an exception: why, and until when.
    reason: Input,
    expires_on: Input,
    errors: Errors,
}

async fn finding_page(
    state: &AppState,
    signed: &Signed,
    key: String,
    refusal: Option<Refusal>,
) -> Result<Response, WebError> {
    let viewer = signed.viewer.clone();
    let k = key.clone();
    let found = blocking(state, move |s| {
        let Some(stored) = s.finding_by_key(&k)? else {
            return Ok(None);
        };
        let subject = &stored.finding.subject;
        if !may_see(s, &viewer, &subject.kind, &subject.id)? {
            return Ok(Some(Err(())));
        }
        let history = s.finding_history(&k)?;
        let today = s.local_date(Utc::now())?;
        let names = crate::names::Names::read(s, &[&stored.finding.subject])?;
        let asks = s.exception_asks(&k)?;
        Ok(Some(Ok((stored, history, today, (names, asks)))))
    })
    .await?;
    let (stored, history, today, (names, asks)) = match found {
        None => return Err(WebError::NotFound),
        Some(Err(())) => return Err(WebError::NotFound),
        Some(Ok(f)) => f,
    };
    let f = &stored.finding;
    let v = &signed.viewer;
    let chrome = Chrome::signed(state, signed, "/findings");
    let running = crate::derived::running_packs(state, signed.audit_seq).await?;
    let named = names.subject(&f.subject, chrome.may("/register/{entity}/{id}"));
    // The request that settles a finding, where one does: travel for a device abroad, a return
    // for equipment held without need, access for a system.
    let request_link = settling_request(&f.control).map(str::to_owned);
    let refusal = refusal.unwrap_or_default();
    let field = |name: &str| {
        Input::field(Register::Exceptions, name, signed.zone)
            .unwrap_or_else(|| Input::text("", name, ""))
            .id(name)
            .posted(&refusal.posted)
    };
    let open = matches!(stored.state, FindingState::Open | FindingState::Escalated);
    let may_except_now = (v.is(Capacity::Governance) || v.is(Capacity::It))
        && v.person_id.is_some()
        && stored.state != FindingState::Resolved;
    // The person the finding is about may ask for an exception (the route checks it again).
    let owner =
        v.person_id.is_some() && named.person.as_ref().map(|p| &p.0) == v.person_id.as_ref();
    let mut reason = field("reason").label("Why an exception is right");
    // An exception granted here must end, and not in the past.
    let mut expires_on = field("expires_on").label("Until").required(true);
    expires_on.min = today.to_string();
    let errors = Errors::place(&refusal.problems, [&mut reason, &mut expires_on]);
    page_refusing(
        !errors.is_empty(),
        &FindingPage {
            chrome,
            message: f.message.clone(),
            severity: f.severity.to_string(),
            state: stored.state.to_string(),
            pack: format!(
                "{}, version {}",
                crate::names::pack_title(&running, &f.pack),
                f.version
            ),
            clause: f.clause.to_string(),
            clause_href: format!(
                "/policy#{}",
                crate::pages::clause_anchor(&f.pack, &f.clause)
            ),
            clause_text: f.clause_text.trim().to_owned(),
            who_acts: crate::names::who_acts(&f.who_acts, &named),
            subject: named.label.clone(),
            subject_href: named.href.clone(),
            due: f.due.map(|d| d.to_string()).unwrap_or_default(),
            since: crate::processes::local_text(&stored.first_failing, signed.zone),
            exception: stored.exception.clone().unwrap_or_default(),
            evidence: f
                .evidence
                .iter()
                .map(|(k, v)| {
                    (
                        crate::names::evidence_label(k),
                        crate::names::evidence_value(v),
                    )
                })
                .collect(),
            history: history
                .iter()
                .map(|e| {
                    (
                        crate::processes::local_text(&e.at, signed.zone),
                        e.event.to_string(),
                        e.state.to_string(),
                    )
                })
                .collect(),
            may_except: may_except_now,
            may_check: [Capacity::It, Capacity::Governance, Capacity::Administrator]
                .iter()
                .any(|c| v.is(*c))
                && !running.is_empty(),
            request_link,
            asks: asks
                .into_iter()
                .map(|n| {
                    let settled = n
                        .acknowledged_at
                        .map(|t| crate::processes::local_text(&t, signed.zone))
                        .unwrap_or_default();
                    (n.reason, settled)
                })
                .collect(),
            may_ask: !may_except_now && owner && open,
            reason,
            expires_on,
            errors,
            key,
        },
    )
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(key): Path<String>,
) -> Result<Response, WebError> {
    finding_page(&state, &signed, key, None).await
}

/// Grants an exception for a finding's subject under its clause, until a date; the checks then
/// run again and the finding is excepted until the exception expires.
pub(crate) async fn grant_exception(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let form = Form::read(request).await?;
    let key = form.get("key");
    let reason = form.get("reason");
    let expires = form.get("expires_on");
    let Some(granter) = signed.viewer.person_id.clone() else {
        return finding_page(
            &state,
            &signed,
            key,
            Some(Refusal::general(
                "only someone on the people register can grant an exception",
            )),
        )
        .await;
    };
    let mut problems = Vec::new();
    let expires_on = NaiveDate::parse_from_str(&expires, "%Y-%m-%d").ok();
    if expires_on.is_none() {
        problems.push(Problem::at(
            "expires_on",
            if expires.is_empty() {
                "an exception must end: give the date it ends".to_owned()
            } else {
                format!("{expires:?} is not a date such as 2027-01-31; an exception must end")
            },
        ));
    }
    if reason.is_empty() {
        problems.push(Problem::at("reason", "say why the exception is granted"));
    }
    let Some(expires_on) = expires_on.filter(|_| problems.is_empty()) else {
        let refusal = Refusal {
            problems,
            posted: Vec::new(),
        }
        .with_posted(&form.fields);
        return finding_page(&state, &signed, key, Some(refusal)).await;
    };
    let viewer = signed.viewer.clone();
    let k = key.clone();
    let result = blocking(&state, move |s| {
        // Only a failing finding is excepted.
        let Some(stored) = s.finding_by_key(&k)?.filter(|f| f.state.is_failing()) else {
            return Ok(None);
        };
        let today = s.local_date(Utc::now())?;
        let (kind, id) = (&stored.finding.subject.kind, &stored.finding.subject.id);
        let subject_type: SubjectType = kind.parse().map_err(|e: String| {
            steward_service::ServiceError::Checks(format!("subject type {kind:?}: {e}"))
        })?;
        let number = s.list::<Exception>()?.len() + 1;
        let exception = Exception {
            id: format!("EXC-{number:06}"),
            pack: stored.finding.pack.to_string(),
            clause: stored.finding.clause.to_string(),
            subject_type,
            subject_id: id.clone(),
            reason,
            granted_by: granter,
            granted_on: today,
            expires_on: Some(expires_on),
        };
        // Granted, and whoever asked for it has their answer, in one transaction.
        s.grant_exception(&Stamp::of(&viewer), &stored.finding.key(), &exception)?;
        Ok(Some(exception.id))
    })
    .await;
    match result {
        Ok(Some(_)) => {
            // The finding is excepted by the check run queued now: its page follows the run.
            let id = crate::processes::recheck_now(&state, &signed.viewer).await?;
            Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
        }
        Ok(None) => Err(WebError::NotFound),
        Err(WebError::Service(e @ steward_service::ServiceError::Invalid { .. })) => {
            let refusal = Refusal::of(&e)
                .unwrap_or_default()
                .with_posted(&form.fields);
            finding_page(&state, &signed, key, Some(refusal)).await
        }
        Err(e) => Err(e),
    }
}

/// The person a finding is about asks for an exception to it, saying why; the governance team
/// is told and decides. Back to the finding, which shows the ask.
pub(crate) async fn ask_for_exception(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let me = crate::pages::person_of(&signed.viewer)?;
    let form = Form::read(request).await?;
    let (key, reason) = (form.get("key"), form.get("reason"));
    let stamp = Stamp::of(&signed.viewer);
    let k = key.clone();
    blocking(&state, move |s| {
        s.ask_for_exception(&stamp, &me, &k, &reason)
    })
    .await?;
    Ok(Redirect::to(&format!("{}#asks", finding_href(&key))).into_response())
}

/// Queues a check run now and sends the viewer to its job's page, which follows it to the end.
pub(crate) async fn check_now(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    request: Request,
) -> Result<Response, WebError> {
    let _ = Form::read(request).await?;
    let id = crate::processes::recheck_now(&state, &signed.viewer).await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}
