//! Service requests: who must agree, when they are due, what fulfilling one changes.
//!
//! Every type shares one life: `open` → (`approved` once every party it needs has agreed) →
//! `fulfilled` by the IT team; `rejected` by a party whose agreement it needs; `cancelled` while
//! still open or approved. A type that needs no agreement is fulfilled straight from `open`.

use chrono::{DateTime, NaiveDate, Utc};
use steward_calendar::Calendar;
use steward_model::{
    Account, AccountKind, AccountStatus, Adjustment, AdjustmentSource, Approval, ApproverRole,
    Asset, AssetKind, AssetStatus, Charge, Decision, FieldType, Notification, Ownership, Person,
    PersonStatus, Record, RemovableMedium, Request, RequestState, RequestType, Role, Row, Travel,
    TravelStatus, Value,
};

use crate::details::Details;
use crate::{Result, WorkflowError};

/// A step on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Fulfil,
    Cancel,
}

impl Action {
    pub fn parse(text: &str) -> Option<Action> {
        Some(match text {
            "approve" => Action::Approve,
            "reject" => Action::Reject,
            "fulfil" => Action::Fulfil,
            "cancel" => Action::Cancel,
            _ => return None,
        })
    }

    fn past(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::Fulfil => "fulfilled",
            Action::Cancel => "cancelled",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Fulfil => "fulfil",
            Action::Cancel => "cancel",
        }
    }
}

/// Who is taking a step, with the roles they hold.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub person: &'a Person,
    pub roles: &'a [Role],
}

impl Actor<'_> {
    fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the actor may agree to a request for `person` as `role`.
    fn can_approve_as(&self, role: ApproverRole, person: &Person) -> bool {
        match role {
            ApproverRole::LineManager => person.manager_id.as_deref() == Some(&self.person.id),
            ApproverRole::It => self.has(Role::It),
            ApproverRole::Hr => self.has(Role::Hr),
            ApproverRole::Senior => self.has(Role::Senior),
            ApproverRole::Governance => self.has(Role::Governance),
            ApproverRole::Iao => self.has(Role::InformationAssetOwner),
        }
    }
}

/// What the person a request is for holds, and the assets its details name, as stored.
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    pub assets: Vec<Asset>,
    pub accounts: Vec<Account>,
    /// The assets named by tag in the details (`asset_tag`, `replacement_tag`, `assets`).
    pub named: Vec<Asset>,
}

/// What a step decided: the request as it now stands, the approval it records, and every other
/// row it changes — to be committed together.
#[derive(Debug, Clone)]
pub struct RequestStep {
    pub request: Request,
    pub approval: Option<Approval>,
    pub rows: Vec<Row>,
    /// What the step did, in words, for the person taking it.
    pub notes: Vec<String>,
}

/// The parties whose agreement `request` needs before it can be fulfilled: those the policy
/// packs named when it was opened, or else those Steward knows for its type.
pub fn approvals_needed(request: &Request) -> Vec<ApproverRole> {
    let known = approvals_known(request.kind);
    let Some(named) = request
        .approvers
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return known.to_vec();
    };
    if named == "none" {
        return Vec::new();
    }
    let mut needed = Vec::new();
    for word in named.split(';').map(str::trim).filter(|w| !w.is_empty()) {
        match word.parse::<ApproverRole>() {
            Ok(role) if !needed.contains(&role) => needed.push(role),
            Ok(_) => {}
            // A word no party answers to (a hand-edited file) must not let a request through
            // with fewer agreements than its type needs.
            Err(_) => {
                for role in known {
                    if !needed.contains(role) {
                        needed.push(*role);
                    }
                }
            }
        }
    }
    needed
}

/// Whom a request tells that it waits for `role`'s agreement: the person's line manager by their
/// id, a team by its party word ([`crate::party_role`]). `None` for a person with no manager.
pub fn approver_recipient(role: ApproverRole, person: &Person) -> Option<String> {
    match role {
        ApproverRole::LineManager => person.manager_id.clone(),
        ApproverRole::It => Some("it-service-desk".to_owned()),
        ApproverRole::Governance => Some("information-governance".to_owned()),
        ApproverRole::Hr => Some("human-resources".to_owned()),
        ApproverRole::Senior => Some("senior-management".to_owned()),
        ApproverRole::Iao => Some("information-asset-owners".to_owned()),
    }
}

/// The parties `request` still waits for: those it needs who have not agreed, while it is open.
pub fn waiting_for(request: &Request, approvals: &[Approval]) -> Vec<ApproverRole> {
    if request.state != RequestState::Open {
        return Vec::new();
    }
    outstanding(request, &approvals_needed(request), approvals)
}

/// Of the parties `needed`, those that have not agreed to `request`.
fn outstanding(
    request: &Request,
    needed: &[ApproverRole],
    approvals: &[Approval],
) -> Vec<ApproverRole> {
    needed
        .iter()
        .copied()
        .filter(|role| {
            !approvals.iter().any(|a| {
                a.request_id == request.id && a.role == *role && a.decision == Decision::Approved
            })
        })
        .collect()
}

/// The words a request keeps for `approvers` (`none` for nobody).
pub fn approvers_text(approvers: &[ApproverRole]) -> String {
    if approvers.is_empty() {
        return "none".to_owned();
    }
    approvers
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

/// The parties Steward knows a request type needs, where no policy pack names them.
pub fn approvals_known(kind: RequestType) -> &'static [ApproverRole] {
    use ApproverRole::*;
    match kind {
        RequestType::InternationalTravel | RequestType::SystemAccess => &[LineManager],
        RequestType::ParticularNeeds => &[Hr, It],
        RequestType::AdditionalEquipment => &[It],
        RequestType::RemovableMedia => &[LineManager, It],
        RequestType::AccessToAnotherUser => &[Senior],
        RequestType::NewStarter
        | RequestType::UserAccountDelete
        | RequestType::UserAccountSuspend
        | RequestType::UserAccountReturnToWork
        | RequestType::FaultReplacement
        | RequestType::EquipmentReturn
        | RequestType::PacCode
        | RequestType::TabletBooking => &[],
    }
}

/// Whether a request type serves someone who is leaving or has left: deleting their accounts
/// (and tracking back what they hold), taking an item back, and the PAC code that lets them keep
/// their mobile number. Every other type is for someone still at work, so for a leaver it is
/// neither raised, approved nor fulfilled (it may still be rejected or cancelled).
pub fn serves_leavers(kind: RequestType) -> bool {
    matches!(
        kind,
        RequestType::UserAccountDelete | RequestType::EquipmentReturn | RequestType::PacCode
    )
}

/// How `person` has left by `today`, in words, if they have: status leaver, or a leave date
/// before `today` (the organisation's date) — the test the packs' leaver controls make.
pub fn departure(person: &Person, today: NaiveDate) -> Option<String> {
    match (person.status, person.leave_date) {
        (PersonStatus::Leaver, Some(d)) if d <= today => Some(format!("leaver since {d}")),
        (PersonStatus::Leaver, _) => Some("status leaver".into()),
        (_, Some(d)) if d < today => Some(format!("leave date {d} passed")),
        _ => None,
    }
}

/// Refuses to take a request of `kind` to `done` (raised, approved, fulfilled) for someone who
/// has left, unless the type serves leavers: the one place that rule is applied.
fn unless_left(
    kind: RequestType,
    person: &Person,
    today: NaiveDate,
    done: &'static str,
) -> Result<()> {
    if serves_leavers(kind) {
        return Ok(());
    }
    match departure(person, today) {
        None => Ok(()),
        Some(how) => {
            let name = kind.as_str();
            let article = if name.starts_with(['a', 'e', 'i', 'o']) {
                "an"
            } else {
                "a"
            };
            Err(WorkflowError::HasLeft {
                person: person.id.clone(),
                how,
                request: format!("{article} {name} request"),
                action: done,
            })
        }
    }
}

/// The details a type cannot be opened without: key, and what to give.
pub fn required(kind: RequestType) -> &'static [(&'static str, &'static str, FieldType)] {
    match kind {
        RequestType::InternationalTravel => &[
            (
                "countries",
                "every country visited, transit included (FR;BE)",
                FieldType::Countries,
            ),
            ("depart_on", "the date of departure", FieldType::Date),
            ("return_on", "the date of return", FieldType::Date),
        ],
        RequestType::UserAccountDelete => &[("leave_date", "the leaving date", FieldType::Date)],
        RequestType::ParticularNeeds => &[
            (
                "source",
                "access_to_work or occupational_health",
                FieldType::Text,
            ),
            (
                "device_kind",
                "the device needed (laptop…)",
                FieldType::Text,
            ),
        ],
        RequestType::AdditionalEquipment => &[
            (
                "device_kind",
                "the device needed (laptop…)",
                FieldType::Text,
            ),
            ("funding", "local or corporate", FieldType::Text),
        ],
        RequestType::FaultReplacement => &[("asset_tag", "the faulty item", FieldType::Id)],
        RequestType::EquipmentReturn => &[("asset_tag", "the item returned", FieldType::Id)],
        RequestType::SystemAccess => &[("system", "the system", FieldType::Id)],
        RequestType::RemovableMedia => &[(
            "business_need",
            "why removable media is needed",
            FieldType::Text,
        )],
        RequestType::AccessToAnotherUser => &[
            (
                "target",
                "whose mailbox or computer (person id)",
                FieldType::Id,
            ),
            ("reason", "why access is needed", FieldType::Text),
        ],
        RequestType::TabletBooking => &[
            ("from", "the first day of the booking", FieldType::Date),
            ("to", "the last day of the booking", FieldType::Date),
        ],
        RequestType::NewStarter
        | RequestType::UserAccountSuspend
        | RequestType::UserAccountReturnToWork
        | RequestType::PacCode => &[],
    }
}

/// The tags a request's details name, which the service looks up for [`Holdings::named`].
pub fn named_tags(details: &Details) -> Vec<String> {
    let mut tags = details.words("assets");
    for key in ["asset_tag", "replacement_tag"] {
        if let Some(t) = details.get(key) {
            tags.push(t.to_owned());
        }
    }
    tags
}

/// Opens a request. `lead_working_days` is the pack's lead time (`new_starter_lead_working_days`);
/// it sets the due date of a new starter or a return to work, reckoned from the opening instant's
/// date in the organisation's time zone.
#[allow(clippy::too_many_arguments)]
pub fn open(
    id: &str,
    kind: RequestType,
    person: &Person,
    raised_by: Option<&Person>,
    details: Details,
    at: DateTime<Utc>,
    calendar: &Calendar,
    time_zone: chrono_tz::Tz,
    lead_working_days: u32,
    approvers: Option<&[ApproverRole]>,
) -> Result<RequestStep> {
    unless_left(
        kind,
        person,
        at.with_timezone(&time_zone).date_naive(),
        "raised",
    )?;
    for (key, hint, ty) in required(kind) {
        details.need(kind.as_str(), key, hint, *ty)?;
    }
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let due_on = match kind {
        RequestType::NewStarter | RequestType::UserAccountReturnToWork => {
            let due = calendar.due(at, time_zone, lead_working_days);
            notes.push(format!(
                "due {due}: {lead_working_days} working days, weekends and bank holidays excluded"
            ));
            Some(due)
        }
        RequestType::UserAccountDelete => details.date("leave_date")?,
        RequestType::UserAccountSuspend => details.date("from")?,
        _ => None,
    };
    match kind {
        RequestType::InternationalTravel => {
            let travel = travel_of(id, person, &details, TravelStatus::Requested, None)?;
            rows.push(travel.to_row());
        }
        RequestType::ParticularNeeds => {
            source_of(&details)?;
            kind_of(&details)?;
        }
        RequestType::AdditionalEquipment => {
            kind_of(&details)?;
            match details.get("funding") {
                Some("local" | "corporate") => {}
                other => {
                    return Err(bad(
                        "funding",
                        other.unwrap_or(""),
                        "expected local or corporate",
                    ));
                }
            }
        }
        RequestType::TabletBooking => {
            if let (Some(from), Some(to)) = (details.date("from")?, details.date("to")?)
                && to < from
            {
                return Err(bad("to", &to.to_string(), "before the first day"));
            }
        }
        _ => {}
    }
    let request = Request {
        id: id.to_owned(),
        kind,
        person_id: person.id.clone(),
        raised_by: raised_by.map(|p| p.id.clone()),
        state: RequestState::Open,
        opened_at: at,
        due_on,
        closed_at: None,
        details: details.to_json(),
        approvers: approvers.map(approvers_text),
    };
    // Each party whose agreement it needs is told it waits for them.
    let needed = approvals_needed(&request);
    for role in &needed {
        match approver_recipient(*role, person) {
            Some(to) => rows.push(
                notify(
                    id,
                    &to,
                    format!(
                        "{id}: a {kind} request for {} waits for agreement as {role}",
                        person.id
                    ),
                )
                .to_row(),
            ),
            None => notes.push(format!(
                "{} has no line manager recorded, and the request waits for one's agreement",
                person.id
            )),
        }
    }
    if !needed.is_empty() {
        let names: Vec<&str> = needed.iter().map(|r| r.as_str()).collect();
        notes.push(format!(
            "waits for the agreement of {}",
            names.join(" and ")
        ));
    }
    Ok(RequestStep {
        request,
        approval: None,
        rows,
        notes,
    })
}

/// Takes `action` on `request` as `actor`. `extra` adds to the request's details (the tags issued
/// on fulfilment, a note); `today` is the organisation's date at `at`.
#[allow(clippy::too_many_arguments)]
pub fn step(
    request: &Request,
    approvals: &[Approval],
    notices: &[Notification],
    action: Action,
    actor: &Actor<'_>,
    person: &Person,
    holdings: &Holdings,
    extra: &Details,
    at: DateTime<Utc>,
    today: NaiveDate,
) -> Result<RequestStep> {
    let illegal = || WorkflowError::Illegal {
        kind: "request",
        id: request.id.clone(),
        state: request.state.to_string(),
        action: action.past(),
    };
    let refuse = |reason: String| WorkflowError::NotAllowed {
        actor: actor.person.id.clone(),
        action: action.verb(),
        id: request.id.clone(),
        reason,
    };
    let needed = approvals_needed(request);
    let pending = outstanding(request, &needed, approvals);
    let mut details = Details::parse(request.details.as_deref())?;
    details.merge(extra);
    let mut next = request.clone();
    next.details = details.to_json();
    let mut out = RequestStep {
        request: next,
        approval: None,
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let note = extra.get("note").map(str::to_owned);
    match action {
        Action::Approve | Action::Reject => {
            if request.state != RequestState::Open {
                return Err(illegal());
            }
            // Refusing or withdrawing a leaver's request closes it; agreeing to it does not.
            if action == Action::Approve {
                unless_left(request.kind, person, today, action.past())?;
            }
            // Separation of duties: the decision is someone else's.
            if actor.person.id == person.id {
                return Err(refuse(
                    "nobody decides a request that is about themselves".into(),
                ));
            }
            if request.raised_by.as_deref() == Some(actor.person.id.as_str()) {
                return Err(refuse("nobody decides a request they raised".into()));
            }
            if needed.is_empty() {
                return Err(refuse(format!(
                    "{} needs nobody's agreement; the IT team fulfils it",
                    request.kind
                )));
            }
            let Some(role) = pending
                .iter()
                .copied()
                .find(|r| actor.can_approve_as(*r, person))
            else {
                let names: Vec<&str> = pending.iter().map(|r| r.as_str()).collect();
                let manager = person.manager_id.as_deref().unwrap_or("nobody");
                return Err(refuse(format!(
                    "it waits for {} (the line manager of {} is {manager}); {} is none of these",
                    names.join(" and "),
                    person.id,
                    actor.person.id
                )));
            };
            let decision = if action == Action::Approve {
                Decision::Approved
            } else {
                Decision::Rejected
            };
            out.approval = Some(Approval {
                request_id: request.id.clone(),
                role,
                person_id: actor.person.id.clone(),
                decision,
                decided_at: at,
                note,
            });
            // Deciding answers the notice that asked for the decision.
            if let Some(to) = approver_recipient(role, person)
                && let Some(notice) = notices.iter().find(|n| {
                    n.about == request.id && n.recipient == to && n.acknowledged_at.is_none()
                })
            {
                let mut told = notice.clone();
                told.acknowledged_at = Some(at);
                told.acknowledged_by = Some(actor.person.id.clone());
                out.rows.push(told.to_row());
            }
            let travel_status = if action == Action::Reject {
                out.request.state = RequestState::Rejected;
                out.request.closed_at = Some(at);
                out.notes
                    .push(format!("rejected as {role}; the request is closed"));
                Some(TravelStatus::Rejected)
            } else if pending.len() == 1 {
                out.request.state = RequestState::Approved;
                out.notes
                    .push(format!("approved as {role}; every party has agreed"));
                Some(TravelStatus::Approved)
            } else {
                out.notes.push(format!(
                    "approved as {role}; still waiting for {}",
                    pending
                        .iter()
                        .filter(|r| **r != role)
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
                None
            };
            if request.kind == RequestType::InternationalTravel
                && let Some(status) = travel_status
            {
                let approver = (status == TravelStatus::Approved).then(|| actor.person.id.clone());
                let travel = travel_of(&request.id, person, &details, status, approver)?;
                out.rows.push(travel.to_row());
            }
        }
        Action::Cancel => {
            if !matches!(request.state, RequestState::Open | RequestState::Approved) {
                return Err(illegal());
            }
            let own = actor.person.id == person.id
                || request.raised_by.as_deref() == Some(&actor.person.id)
                || person.manager_id.as_deref() == Some(&actor.person.id)
                || actor.has(Role::It);
            if !own {
                return Err(refuse(
                    "only the person, whoever raised it, their line manager or the IT team may cancel"
                        .into(),
                ));
            }
            out.request.state = RequestState::Cancelled;
            out.request.closed_at = Some(at);
            if request.kind == RequestType::InternationalTravel {
                let travel =
                    travel_of(&request.id, person, &details, TravelStatus::Cancelled, None)?;
                out.rows.push(travel.to_row());
            }
            out.notes.push("cancelled".into());
        }
        Action::Fulfil => {
            let ready = request.state == RequestState::Approved
                || (request.state == RequestState::Open && needed.is_empty());
            if !ready {
                if request.state == RequestState::Open {
                    let names: Vec<&str> = pending.iter().map(|r| r.as_str()).collect();
                    return Err(refuse(format!(
                        "it still waits for the agreement of {}",
                        names.join(" and ")
                    )));
                }
                return Err(illegal());
            }
            unless_left(request.kind, person, today, action.past())?;
            if !actor.has(Role::It) {
                return Err(refuse("requests are fulfilled by the IT team".into()));
            }
            // The IT team's agreement names the approver where there is one (removable media).
            let agreed_by = |role: ApproverRole| {
                approvals
                    .iter()
                    .find(|a| {
                        a.request_id == request.id
                            && a.decision == Decision::Approved
                            && a.role == role
                    })
                    .map(|a| a.person_id.clone())
            };
            let approver =
                agreed_by(ApproverRole::It).or_else(|| needed.iter().find_map(|r| agreed_by(*r)));
            fulfil(
                request, &details, person, holdings, approver, today, &mut out,
            )?;
            out.request.state = RequestState::Fulfilled;
            out.request.closed_at = Some(at);
        }
    }
    Ok(out)
}

/// The registers a fulfilled request changes.
fn fulfil(
    request: &Request,
    details: &Details,
    person: &Person,
    holdings: &Holdings,
    approver: Option<String>,
    today: NaiveDate,
    out: &mut RequestStep,
) -> Result<()> {
    let named = |key: &str| -> Result<Asset> {
        let tag = details
            .get(key)
            .ok_or_else(|| WorkflowError::MissingDetail {
                kind: request.kind.to_string(),
                key: match key {
                    "replacement_tag" => "replacement_tag",
                    _ => "asset_tag",
                },
                hint: "the item's asset tag",
            })?;
        holdings
            .named
            .iter()
            .find(|a| a.tag == tag)
            .cloned()
            .ok_or_else(|| bad(key, tag, "no asset with this tag"))
    };
    let mut person_now = person.clone();
    match request.kind {
        RequestType::NewStarter => {
            let tags = details.words("assets");
            if tags.is_empty() {
                return Err(WorkflowError::MissingDetail {
                    kind: request.kind.to_string(),
                    key: "assets",
                    hint: "the asset tags issued, ;-separated",
                });
            }
            for tag in tags {
                let asset = holdings
                    .named
                    .iter()
                    .find(|a| a.tag == tag)
                    .ok_or_else(|| bad("assets", &tag, "no asset with this tag"))?;
                out.rows
                    .push(allocate(asset, person, today, AssetStatus::Allocated)?.to_row());
                out.notes.push(format!("{tag} allocated to {}", person.id));
            }
            if person.status == PersonStatus::Starter {
                person_now.status = PersonStatus::Active;
            }
        }
        RequestType::UserAccountDelete => {
            person_now.status = PersonStatus::Leaver;
            person_now.leave_date = details.date("leave_date")?;
            for account in &holdings.accounts {
                if matches!(
                    account.status,
                    AccountStatus::Active | AccountStatus::Suspended
                ) {
                    let mut a = account.clone();
                    a.status = AccountStatus::Disabled;
                    out.rows.push(a.to_row());
                    out.notes.push(format!("account {} disabled", account.id));
                }
            }
            let returned = details.words("returned");
            let damaged = details.words("damaged");
            let mut unreturned = Vec::new();
            for asset in holdings
                .assets
                .iter()
                .filter(|a| a.ownership == Ownership::Organisation)
            {
                let mut a = asset.clone();
                a.assigned_to = None;
                a.assigned_on = None;
                let charge_reason = if returned.contains(&asset.tag) {
                    a.status = AssetStatus::InStock;
                    out.notes.push(format!("{} returned", asset.tag));
                    None
                } else if damaged.contains(&asset.tag) {
                    a.status = AssetStatus::Damaged;
                    Some("returned damaged by a leaver")
                } else {
                    a.status = AssetStatus::Lost;
                    Some("not returned by a leaver")
                };
                out.rows.push(a.to_row());
                if let Some(reason) = charge_reason {
                    let charge = charge_for(request, asset, person, reason, today);
                    out.notes.push(format!(
                        "{} {reason}: {} charged to {}",
                        asset.tag,
                        charge.amount_gbp,
                        charge
                            .budget_centre
                            .as_deref()
                            .unwrap_or("the corporate budget")
                    ));
                    unreturned.push(format!("{} ({reason}, £{})", asset.tag, charge.amount_gbp));
                    out.rows.push(charge.to_row());
                }
            }
            if let Some(manager) = &person.manager_id {
                let reason = if unreturned.is_empty() {
                    format!("{} has left; every item was returned", person.id)
                } else {
                    format!(
                        "{} has left; charged to the budget centre: {}",
                        person.id,
                        unreturned.join(", ")
                    )
                };
                out.rows.push(notify(&request.id, manager, reason).to_row());
                out.notes.push(format!("line manager {manager} told"));
            }
        }
        RequestType::UserAccountSuspend => {
            person_now.status = PersonStatus::Absent;
            if details.flag("keeping_in_touch")? {
                out.notes.push(
                    "keeping-in-touch agreement recorded: accounts and equipment stay with them"
                        .into(),
                );
            } else {
                for account in holdings
                    .accounts
                    .iter()
                    .filter(|a| a.status == AccountStatus::Active)
                {
                    let mut a = account.clone();
                    a.status = AccountStatus::Suspended;
                    out.rows.push(a.to_row());
                    out.notes
                        .push(format!("account {} suspended (nothing deleted)", a.id));
                }
                for asset in holdings
                    .assets
                    .iter()
                    .filter(|a| a.ownership == Ownership::Organisation)
                {
                    let mut a = asset.clone();
                    a.status = AssetStatus::InStock;
                    a.assigned_to = None;
                    a.assigned_on = None;
                    out.rows.push(a.to_row());
                    out.notes
                        .push(format!("{} returned for the absence", a.tag));
                }
            }
        }
        RequestType::UserAccountReturnToWork => {
            person_now.status = PersonStatus::Active;
            for account in holdings
                .accounts
                .iter()
                .filter(|a| a.status == AccountStatus::Suspended)
            {
                let mut a = account.clone();
                a.status = AccountStatus::Active;
                out.rows.push(a.to_row());
                out.notes.push(format!("account {} restored", a.id));
            }
        }
        RequestType::InternationalTravel => {
            out.notes
                .push("roaming arranged for the approved trip".into());
        }
        RequestType::ParticularNeeds | RequestType::AdditionalEquipment => {
            let source = if request.kind == RequestType::ParticularNeeds {
                source_of(details)?
            } else {
                AdjustmentSource::LocalFunding
            };
            let local = details.get("funding") != Some("corporate");
            if request.kind == RequestType::ParticularNeeds || local {
                let adjustment = Adjustment {
                    person_id: person.id.clone(),
                    source,
                    device_kind: kind_of(details)?,
                    approved_on: today,
                    expires_on: details.date("expires_on")?,
                };
                out.notes.push(format!(
                    "adjustment recorded: {} ({source})",
                    adjustment.device_kind
                ));
                out.rows.push(adjustment.to_row());
            }
            if let Some(tag) = details.get("asset_tag") {
                let asset = named("asset_tag")?;
                out.rows
                    .push(allocate(&asset, person, today, AssetStatus::Allocated)?.to_row());
                out.notes.push(format!("{tag} allocated to {}", person.id));
            }
            if let Some(amount) = details.money("cost_gbp")? {
                let budget_centre = details.get("budget_centre").map(str::to_owned).or_else(|| {
                    if local {
                        person.budget_centre.clone()
                    } else {
                        None
                    }
                });
                let charge = Charge {
                    id: format!("{}-charge", request.id),
                    request_id: Some(request.id.clone()),
                    asset_tag: details.get("asset_tag").map(str::to_owned),
                    budget_centre,
                    amount_gbp: amount,
                    reason: format!("{} for {}", request.kind, person.id),
                    charged_on: today,
                };
                out.notes.push(format!(
                    "£{amount} charged to {}",
                    charge
                        .budget_centre
                        .as_deref()
                        .unwrap_or("the corporate budget")
                ));
                out.rows.push(charge.to_row());
            }
        }
        RequestType::FaultReplacement => {
            let faulty = named("asset_tag")?;
            if faulty.assigned_to.as_deref() != Some(&person.id) {
                return Err(bad("asset_tag", &faulty.tag, "not held by the person"));
            }
            let replacement = named("replacement_tag")?;
            let mut f = faulty.clone();
            f.status = AssetStatus::InRepair;
            f.assigned_to = None;
            f.assigned_on = None;
            out.rows.push(f.to_row());
            out.rows
                .push(allocate(&replacement, person, today, AssetStatus::Allocated)?.to_row());
            out.notes.push(format!(
                "{} swapped for {}; {} in repair",
                faulty.tag, replacement.tag, faulty.tag
            ));
        }
        RequestType::EquipmentReturn => {
            let asset = named("asset_tag")?;
            if asset.assigned_to.as_deref() != Some(&person.id) {
                return Err(bad("asset_tag", &asset.tag, "not held by the person"));
            }
            let mut a = asset.clone();
            a.assigned_to = None;
            a.assigned_on = None;
            if details.get("condition") == Some("damaged") {
                a.status = AssetStatus::Damaged;
                let charge = charge_for(request, &asset, person, "returned damaged", today);
                out.rows.push(charge.to_row());
                out.notes
                    .push(format!("{} returned damaged and charged", asset.tag));
            } else {
                a.status = AssetStatus::InStock;
                out.notes.push(format!("{} returned to stock", asset.tag));
            }
            out.rows.push(a.to_row());
        }
        RequestType::SystemAccess => {
            let system = details.get("system").unwrap_or_default().to_owned();
            let account = Account {
                forwards_externally: None,
                id: details
                    .get("account")
                    .map_or_else(|| format!("{}-{system}", person.id), str::to_owned),
                person_id: Some(person.id.clone()),
                system,
                kind: AccountKind::Standard,
                admin_rights: Some(false),
                mfa: Some(details.flag("mfa")?),
                status: AccountStatus::Active,
                last_login: None,
                login: None,
                source_id: None,
                source: None,
                source_seen: None,
                missing_since: None,
            };
            out.notes.push(format!(
                "account {} opened on {}",
                account.id, account.system
            ));
            out.rows.push(account.to_row());
        }
        RequestType::RemovableMedia => {
            if !details.flag("encrypted")? {
                return Err(bad(
                    "encrypted",
                    details.get("encrypted").unwrap_or(""),
                    "removable media must be encrypted (encrypted=yes)",
                ));
            }
            let medium = RemovableMedium {
                id: details
                    .get("medium_id")
                    .map_or_else(|| request.id.clone(), str::to_owned),
                asset_tag: details.get("asset_tag").map(str::to_owned),
                holder_id: person.id.clone(),
                business_need: details.get("business_need").unwrap_or_default().to_owned(),
                encrypted: true,
                approved_by: approver.unwrap_or_else(|| person.id.clone()),
                case_reference: details.get("case_reference").map(str::to_owned),
                issued_on: today,
                damaged_on: None,
                destroyed_on: None,
                destruction_method: None,
            };
            out.notes.push(format!(
                "{} entered in the removable media register",
                medium.id
            ));
            out.rows.push(medium.to_row());
        }
        RequestType::PacCode => {
            out.notes.push("PAC code issued".into());
        }
        RequestType::AccessToAnotherUser => {
            let target = details.get("target").unwrap_or_default();
            let reason = format!(
                "your mailbox or computer was opened on senior authorisation while you were away: {}",
                details.get("reason").unwrap_or_default()
            );
            out.rows.push(notify(&request.id, target, reason).to_row());
            out.notes
                .push(format!("{target} will be told on their return"));
        }
        RequestType::TabletBooking => {
            let tablet = named("asset_tag")?;
            if tablet.kind != AssetKind::Tablet {
                return Err(bad("asset_tag", &tablet.tag, "not a tablet"));
            }
            let from = details.date("from")?.unwrap_or(today);
            out.rows
                .push(allocate(&tablet, person, from, AssetStatus::OnLoan)?.to_row());
            out.notes
                .push(format!("{} on loan to {}", tablet.tag, person.id));
        }
    }
    if person_now != *person {
        out.rows.push(person_now.to_row());
    }
    Ok(())
}

/// How a request stands against its due date, counted in working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sla {
    /// No deadline, or closed.
    None,
    OnTrack {
        working_days_left: i64,
    },
    DueToday,
    Overdue {
        working_days: i64,
    },
}

impl std::fmt::Display for Sla {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sla::None => f.write_str("-"),
            Sla::OnTrack { working_days_left } => {
                write!(f, "{working_days_left} working day(s) left")
            }
            Sla::DueToday => f.write_str("due today"),
            Sla::Overdue { working_days } => write!(f, "overdue by {working_days} working day(s)"),
        }
    }
}

pub fn sla(request: &Request, today: NaiveDate, calendar: &Calendar) -> Sla {
    let open = matches!(request.state, RequestState::Open | RequestState::Approved);
    match request.due_on {
        Some(due) if open => match calendar.working_days_between(today, due) {
            0 if due == today => Sla::DueToday,
            n if n > 0 => Sla::OnTrack {
                working_days_left: n,
            },
            _ if due >= today => Sla::DueToday,
            _ => Sla::Overdue {
                working_days: calendar.working_days_between(due, today).max(1),
            },
        },
        _ => Sla::None,
    }
}

fn travel_of(
    id: &str,
    person: &Person,
    details: &Details,
    status: TravelStatus,
    approved_by: Option<String>,
) -> Result<Travel> {
    let kind = RequestType::InternationalTravel.as_str();
    let countries = details.need(kind, "countries", "", FieldType::Countries)?;
    let countries = countries
        .as_text()
        .unwrap_or_default()
        .parse()
        .map_err(|reason: String| {
            bad(
                "countries",
                countries.as_text().unwrap_or_default(),
                &reason,
            )
        })?;
    let date = |key: &'static str| -> Result<NaiveDate> {
        match details.need(kind, key, "a date", FieldType::Date)? {
            Value::Date(d) => Ok(d),
            other => Err(bad(key, &other.to_text(), "not a date")),
        }
    };
    let (depart_on, return_on) = (date("depart_on")?, date("return_on")?);
    if return_on < depart_on {
        return Err(bad(
            "return_on",
            &return_on.to_string(),
            "before the departure date",
        ));
    }
    Ok(Travel {
        id: id.to_owned(),
        person_id: person.id.clone(),
        countries,
        depart_on,
        return_on,
        status,
        approved_by,
    })
}

fn source_of(details: &Details) -> Result<AdjustmentSource> {
    let text = details.get("source").unwrap_or_default();
    text.parse()
        .map_err(|reason: String| bad("source", text, &reason))
}

fn kind_of(details: &Details) -> Result<AssetKind> {
    let text = details.get("device_kind").unwrap_or_default();
    text.parse()
        .map_err(|reason: String| bad("device_kind", text, &reason))
}

fn allocate(asset: &Asset, person: &Person, on: NaiveDate, status: AssetStatus) -> Result<Asset> {
    if !matches!(asset.status, AssetStatus::InStock | AssetStatus::Returned) {
        return Err(bad(
            "asset_tag",
            &asset.tag,
            &format!("is {}, not in stock", asset.status),
        ));
    }
    let mut a = asset.clone();
    a.status = status;
    a.assigned_to = Some(person.id.clone());
    a.assigned_on = Some(on);
    Ok(a)
}

fn charge_for(
    request: &Request,
    asset: &Asset,
    person: &Person,
    reason: &str,
    today: NaiveDate,
) -> Charge {
    Charge {
        id: format!("{}-{}", request.id, asset.tag),
        request_id: Some(request.id.clone()),
        asset_tag: Some(asset.tag.clone()),
        budget_centre: person
            .budget_centre
            .clone()
            .or_else(|| asset.budget_centre.clone()),
        amount_gbp: asset.cost_gbp.unwrap_or_default(),
        reason: format!("{}: {reason}", asset.tag),
        charged_on: today,
    }
}

pub(crate) fn notify(about: &str, recipient: &str, reason: String) -> Notification {
    Notification {
        about: about.to_owned(),
        recipient: recipient.to_owned(),
        reason,
        due_at: None,
        acknowledged_at: None,
        acknowledged_by: None,
        emailed_at: None,
    }
}

fn bad(key: &str, value: &str, reason: &str) -> WorkflowError {
    WorkflowError::BadDetail {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}
