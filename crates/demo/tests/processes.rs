//! The processes' registers in the demo estate: filled, internally consistent, and shaped like
//! the policies that ask for them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeDelta};
use steward_calendar::Calendar;
use steward_demo::{DemoOptions, generate};
use steward_model::{
    ApproverRole, AssetKind, AssetStatus, Decision, Estate, IcoDecision, IncidentState,
    IncidentType, Register, RequestState, RequestType, Role, TravelStatus, Value,
};

fn options(people: usize, seed: u64, today: NaiveDate) -> DemoOptions {
    DemoOptions {
        people,
        seed,
        today,
        usage_months: 2,
    }
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// The day the CLI's round-trip test generates for, and the one the estate tests use.
fn days() -> [NaiveDate; 2] {
    [day("2026-11-24"), day("2026-03-02")]
}

/// The parties a request needs, as the workflow has them.
fn needed(kind: RequestType) -> &'static [ApproverRole] {
    use ApproverRole::*;
    match kind {
        RequestType::InternationalTravel | RequestType::SystemAccess => &[LineManager],
        RequestType::ParticularNeeds => &[Hr, It],
        RequestType::AdditionalEquipment => &[It],
        RequestType::RemovableMedia => &[LineManager, It],
        RequestType::AccessToAnotherUser => &[Senior],
        _ => &[],
    }
}

/// Parties named in notifications rather than people.
const PARTIES: &[&str] = &[
    "it-service-desk",
    "information-governance",
    "police",
    "security",
];

fn details(text: Option<&str>) -> BTreeMap<String, String> {
    let Some(text) = text else {
        return BTreeMap::new();
    };
    let value: serde_json::Value = serde_json::from_str(text).expect("details are JSON");
    let object = value.as_object().expect("details are an object");
    object
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().expect("every detail is text");
            (k.clone(), v.to_owned())
        })
        .collect()
}

/// Every row of every register: its references resolve, its key is unique, its values survive
/// their text, and it breaks none of the register's own rules.
fn assert_rows_sound(estate: &Estate) {
    let ids: BTreeMap<Register, BTreeSet<String>> = Register::ALL
        .into_iter()
        .map(|r| {
            let rows = estate.rows(r);
            let set: BTreeSet<String> = rows.iter().map(|row| row.id().to_owned()).collect();
            assert_eq!(set.len(), rows.len(), "{r}: a key twice");
            (r, set)
        })
        .collect();
    for register in Register::ALL {
        for row in estate.rows(register) {
            assert!(
                row.problems().is_empty(),
                "{register} {}: {:?}",
                row.id(),
                row.problems()
            );
            for (field, value) in register.fields().iter().zip(row.values()) {
                let text = value.to_text();
                assert_eq!(
                    Value::parse(field.ty, &text).as_ref(),
                    Ok(value),
                    "{register}.{} of {}",
                    field.name,
                    row.id()
                );
                if let (Some(target), Some(id)) = (field.refers_to, value.as_text()) {
                    assert!(
                        ids[&target].contains(id),
                        "{register}.{} of {}: no {target} {id}",
                        field.name,
                        row.id()
                    );
                }
            }
        }
    }
    let people = &ids[&Register::People];
    for n in &estate.notifications {
        assert!(
            ids[&Register::Requests].contains(&n.about)
                || ids[&Register::Incidents].contains(&n.about),
            "notification about {}: no such request or incident",
            n.about
        );
        assert!(
            people.contains(&n.recipient) || PARTIES.contains(&n.recipient.as_str()),
            "notification to {}",
            n.recipient
        );
        assert_eq!(
            n.acknowledged_at.is_some(),
            n.acknowledged_by.is_some(),
            "{}/{}: acknowledged half-way",
            n.about,
            n.recipient
        );
        if let Some(by) = &n.acknowledged_by {
            assert!(people.contains(by), "acknowledged by {by}");
        }
    }
    for r in &estate.requests {
        if let Some(target) = details(r.details.as_deref()).get("target") {
            assert!(people.contains(target), "{}: target {target}", r.id);
        }
    }
}

#[test]
fn every_process_register_has_rows_in_a_300_person_organisation() {
    for today in days() {
        let estate = generate(&options(300, 7, today));
        for register in Register::ALL {
            let rows = estate.rows(register).len();
            assert!(
                rows > 0 || register == Register::Adjustments,
                "{today}: {register} is empty"
            );
        }
        assert_rows_sound(&estate);
    }
}

#[test]
fn process_rows_are_sound_at_every_size() {
    for (people, seed) in [
        (1, 0),
        (1, 5),
        (2, 1),
        (3, 2),
        (5, 3),
        (13, 4),
        (40, 5),
        (100, 6),
        (1_000, 7),
        (5_000, 8),
    ] {
        for today in days() {
            let estate = generate(&options(people, seed, today));
            assert_rows_sound(&estate);
            assert!(!estate.requests.is_empty(), "{people}: no requests");
            assert!(!estate.incidents.is_empty(), "{people}: no incidents");
            assert!(!estate.roles.is_empty(), "{people}: no roles");
        }
    }
    for seed in 0..150 {
        let people = (seed as usize * 7) % 45;
        assert_rows_sound(&generate(&options(people, seed, days()[1])));
    }
    let empty = generate(&options(0, 1, days()[0]));
    assert_rows_sound(&empty);
    assert!(empty.requests.is_empty() && empty.roles.is_empty());
    assert!(!empty.bank_holidays.is_empty() && !empty.courses.is_empty());
}

#[test]
fn processes_are_deterministic_for_a_seed() {
    let a = generate(&options(800, 11, days()[0]));
    let b = generate(&options(800, 11, days()[0]));
    assert_eq!(a, b);
    let c = generate(&options(800, 12, days()[0]));
    assert_ne!(a.requests, c.requests);
    assert_ne!(a.incidents, c.incidents);
    assert_ne!(a.roles, c.roles);
}

#[test]
fn requests_agree_with_their_approvals_and_the_travel_register() {
    let calendar = Calendar::shipped();
    let mut travel_states = BTreeSet::new();
    for (people, seed) in [(300, 7), (2_000, 3), (6_000, 9)] {
        for today in days() {
            let estate = generate(&options(people, seed, today));
            let now = today.and_hms_opt(23, 59, 59).expect("a time").and_utc();
            let person: BTreeMap<&str, _> =
                estate.people.iter().map(|p| (p.id.as_str(), p)).collect();
            let travel: BTreeMap<&str, _> =
                estate.travel.iter().map(|t| (t.id.as_str(), t)).collect();
            let holds = |id: &str, role: Role| {
                estate
                    .roles
                    .iter()
                    .any(|g| g.person_id == id && g.role == role)
            };
            let mut approvals: BTreeMap<&str, Vec<_>> = BTreeMap::new();
            for a in &estate.approvals {
                approvals.entry(a.request_id.as_str()).or_default().push(a);
            }
            assert!(
                estate.requests.len() >= (people / 50).max(10),
                "{people}: {} requests",
                estate.requests.len()
            );
            let kinds: BTreeSet<RequestType> = estate.requests.iter().map(|r| r.kind).collect();
            assert!(kinds.len() >= 8, "{people}: only {kinds:?}");
            for r in &estate.requests {
                let who = person[r.person_id.as_str()];
                let mine = approvals.get(r.id.as_str()).cloned().unwrap_or_default();
                let agreed: Vec<ApproverRole> = mine
                    .iter()
                    .filter(|a| a.decision == Decision::Approved)
                    .map(|a| a.role)
                    .collect();
                let refused: Vec<_> = mine
                    .iter()
                    .filter(|a| a.decision == Decision::Rejected)
                    .collect();
                let all = needed(r.kind).iter().all(|role| agreed.contains(role));
                assert!(r.opened_at <= now, "{}: opened in the future", r.id);
                assert!(
                    r.opened_at.date_naive() >= today - TimeDelta::days(61),
                    "{}: opened {} — not in the last two months",
                    r.id,
                    r.opened_at
                );
                match r.state {
                    RequestState::Open => {
                        assert!(r.closed_at.is_none(), "{}: open but closed", r.id);
                        assert!(refused.is_empty(), "{}: open but refused", r.id);
                        assert!(
                            needed(r.kind).is_empty() || !all,
                            "{}: every party agreed, still open",
                            r.id
                        );
                    }
                    RequestState::Approved => {
                        assert!(
                            !needed(r.kind).is_empty() && all,
                            "{}: approved by whom",
                            r.id
                        );
                        assert!(r.closed_at.is_none() && refused.is_empty(), "{}", r.id);
                    }
                    RequestState::Fulfilled => {
                        assert!(all && refused.is_empty(), "{}: fulfilled unagreed", r.id);
                        assert!(r.closed_at.is_some(), "{}: fulfilled, not closed", r.id);
                    }
                    RequestState::Rejected => {
                        assert_eq!(refused.len(), 1, "{}: rejected by nobody", r.id);
                        assert_eq!(r.closed_at, Some(refused[0].decided_at), "{}", r.id);
                    }
                    RequestState::Cancelled => {
                        assert!(r.closed_at.is_some() && refused.is_empty(), "{}", r.id);
                    }
                }
                if let Some(closed) = r.closed_at {
                    assert!(
                        r.opened_at <= closed && closed <= now,
                        "{}: closed when",
                        r.id
                    );
                }
                for a in &mine {
                    assert!(
                        needed(r.kind).contains(&a.role),
                        "{}: {} was not asked",
                        r.id,
                        a.role
                    );
                    assert!(
                        r.opened_at <= a.decided_at && a.decided_at <= now,
                        "{}",
                        r.id
                    );
                    if let Some(closed) = r.closed_at {
                        assert!(a.decided_at <= closed, "{}: decided after closing", r.id);
                    }
                    let entitled = match a.role {
                        ApproverRole::LineManager => {
                            who.manager_id.as_deref() == Some(a.person_id.as_str())
                        }
                        ApproverRole::It => holds(&a.person_id, Role::It),
                        ApproverRole::Hr => holds(&a.person_id, Role::Hr),
                        ApproverRole::Senior => holds(&a.person_id, Role::Senior),
                        ApproverRole::Governance => holds(&a.person_id, Role::Governance),
                        ApproverRole::Iao => holds(&a.person_id, Role::InformationAssetOwner),
                    };
                    assert!(
                        entitled,
                        "{}: {} may not agree as {}",
                        r.id, a.person_id, a.role
                    );
                }
                let d = details(r.details.as_deref());
                match r.kind {
                    RequestType::NewStarter | RequestType::UserAccountReturnToWork => {
                        let due = calendar.add_working_days(r.opened_at.date_naive(), 3);
                        assert_eq!(r.due_on, Some(due), "{}: due three working days on", r.id);
                    }
                    RequestType::UserAccountDelete => {
                        assert_eq!(
                            r.due_on.map(|d| d.to_string()).as_ref(),
                            d.get("leave_date"),
                            "{}",
                            r.id
                        );
                        assert_eq!(who.leave_date, r.due_on, "{}: not the leaving date", r.id);
                    }
                    RequestType::InternationalTravel => {
                        let t = travel[d["travel_id"].as_str()];
                        assert_eq!(t.person_id, r.person_id, "{}", r.id);
                        assert_eq!(d["countries"], t.countries.to_string(), "{}", r.id);
                        assert_eq!(d["depart_on"], t.depart_on.to_string(), "{}", r.id);
                        assert_eq!(d["return_on"], t.return_on.to_string(), "{}", r.id);
                        let expected = match t.status {
                            TravelStatus::Approved => {
                                vec![RequestState::Approved, RequestState::Fulfilled]
                            }
                            TravelStatus::Requested => vec![RequestState::Open],
                            TravelStatus::Rejected => vec![RequestState::Rejected],
                            TravelStatus::Cancelled => vec![RequestState::Cancelled],
                        };
                        assert!(
                            expected.contains(&r.state),
                            "{}: {} for {}",
                            r.id,
                            r.state,
                            t.status
                        );
                        if matches!(t.status, TravelStatus::Approved | TravelStatus::Rejected) {
                            let decision = &mine[0];
                            assert_eq!(decision.role, ApproverRole::LineManager, "{}", r.id);
                            assert_eq!(
                                Some(&decision.person_id),
                                t.approved_by.as_ref(),
                                "{}",
                                r.id
                            );
                            assert_eq!(
                                decision.decision == Decision::Approved,
                                t.status == TravelStatus::Approved,
                                "{}",
                                r.id
                            );
                        }
                        travel_states.insert(r.state);
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(
        travel_states.contains(&RequestState::Approved)
            || travel_states.contains(&RequestState::Fulfilled),
        "no approved travel request: {travel_states:?}"
    );
}

#[test]
fn incidents_keep_their_clocks_and_tell_the_right_people() {
    for (people, seed) in [(300, 7), (3_000, 2)] {
        for today in days() {
            let estate = generate(&options(people, seed, today));
            let person: BTreeMap<&str, _> =
                estate.people.iter().map(|p| (p.id.as_str(), p)).collect();
            let asset: BTreeMap<&str, _> =
                estate.assets.iter().map(|a| (a.tag.as_str(), a)).collect();
            let kinds: BTreeSet<IncidentType> = estate.incidents.iter().map(|i| i.kind).collect();
            for kind in [
                IncidentType::Loss,
                IncidentType::Theft,
                IncidentType::Phishing,
                IncidentType::DataBreach,
            ] {
                assert!(kinds.contains(&kind), "{people}: no {kind}");
            }
            assert!(estate.incidents.len() >= (people / 200).max(5));
            assert!(
                estate
                    .incidents
                    .iter()
                    .any(|i| i.kind == IncidentType::DataBreach
                        && i.state == IncidentState::Closed
                        && i.ico_decision.is_some()),
                "no closed data breach with its decision"
            );
            for i in &estate.incidents {
                assert!(i.id.starts_with("INC-"), "{}", i.id);
                if let Some(o) = i.occurred_at {
                    assert!(o <= i.discovered_at, "{}", i.id);
                }
                assert!(i.discovered_at <= i.reported_at, "{}", i.id);
                let by = i.report_by.expect("a reporting window");
                assert_eq!(i.late, Some(i.reported_at > by), "{}", i.id);
                if let Some(closed) = i.closed_at {
                    assert!(closed >= i.reported_at, "{}", i.id);
                }
                assert_eq!(
                    i.closed_at.is_some(),
                    i.state == IncidentState::Closed,
                    "{}",
                    i.id
                );
                if i.kind == IncidentType::DataBreach {
                    assert_eq!(
                        i.ico_notify_by,
                        Some(i.discovered_at + TimeDelta::hours(72)),
                        "{}",
                        i.id
                    );
                    assert!(i.facts.is_some() && i.effects.is_some(), "{}", i.id);
                    if i.state == IncidentState::Closed {
                        assert!(
                            i.remedial_action.is_some()
                                && i.ico_decision.is_some()
                                && i.ico_reasons.is_some(),
                            "{}: closed without its Art. 33(5) record",
                            i.id
                        );
                    }
                    if i.ico_decision == Some(IcoDecision::Notify) {
                        let told = i.ico_notified_at.expect("the ICO told");
                        assert!(told <= i.ico_notify_by.expect("a deadline"), "{}", i.id);
                    }
                } else {
                    assert_eq!(i.ico_notify_by, None, "{}", i.id);
                }
                let told: BTreeSet<&str> = estate
                    .notifications
                    .iter()
                    .filter(|n| n.about == i.id)
                    .map(|n| n.recipient.as_str())
                    .collect();
                match i.kind {
                    IncidentType::Loss | IncidentType::Theft | IncidentType::Damage => {
                        let tag = i.asset_tag.as_deref().expect("the item");
                        let a = asset[tag];
                        assert!(
                            matches!(a.kind, AssetKind::Laptop | AssetKind::Smartphone),
                            "{}: a {}",
                            i.id,
                            a.kind
                        );
                        assert_eq!(a.assigned_to.as_ref(), Some(&i.person_id), "{}", i.id);
                        assert!(told.contains("it-service-desk"), "{}", i.id);
                    }
                    _ => assert_eq!(i.asset_tag, None, "{}", i.id),
                }
                if i.kind == IncidentType::Theft {
                    assert!(told.contains("police"), "{}: police not told", i.id);
                }
                if matches!(
                    i.kind,
                    IncidentType::Loss | IncidentType::Theft | IncidentType::DataBreach
                ) {
                    assert!(told.contains("information-governance"), "{}", i.id);
                    if let Some(m) = &person[i.person_id.as_str()].manager_id {
                        assert!(told.contains(m.as_str()), "{}: line manager not told", i.id);
                    }
                }
            }
            let acknowledged = estate
                .notifications
                .iter()
                .filter(|n| n.acknowledged_at.is_some())
                .count();
            assert!(acknowledged > 0 && acknowledged < estate.notifications.len());
        }
    }
}

#[test]
fn charges_are_for_kit_at_its_cost_against_a_request() {
    for (people, seed) in [(300, 7), (4_000, 5)] {
        for today in days() {
            let estate = generate(&options(people, seed, today));
            assert!(!estate.charges.is_empty(), "{people}: no charges");
            let asset: BTreeMap<&str, _> =
                estate.assets.iter().map(|a| (a.tag.as_str(), a)).collect();
            let request: BTreeMap<&str, _> =
                estate.requests.iter().map(|r| (r.id.as_str(), r)).collect();
            let person: BTreeMap<&str, _> =
                estate.people.iter().map(|p| (p.id.as_str(), p)).collect();
            for c in &estate.charges {
                let r = request[c.request_id.as_deref().expect("a request")];
                assert_eq!(r.state, RequestState::Fulfilled, "{}", c.id);
                assert_eq!(
                    Some(c.charged_on),
                    r.closed_at.map(|t| t.date_naive()),
                    "{}",
                    c.id
                );
                assert!(c.amount_gbp.0 > 0, "{}", c.id);
                let who = person[r.person_id.as_str()];
                if let Some(tag) = &c.asset_tag {
                    let a = asset[tag.as_str()];
                    assert_eq!(a.cost_gbp, Some(c.amount_gbp), "{}: not the cost", c.id);
                    assert_eq!(
                        c.budget_centre,
                        who.budget_centre.clone().or(a.budget_centre.clone()),
                        "{}",
                        c.id
                    );
                    match r.kind {
                        RequestType::UserAccountDelete => {
                            assert_eq!(a.assigned_to.as_ref(), Some(&who.id), "{}", c.id);
                            assert!(c.reason.ends_with("not returned by a leaver"), "{}", c.id);
                        }
                        RequestType::EquipmentReturn => {
                            assert_eq!(a.status, AssetStatus::Damaged, "{}", c.id)
                        }
                        other => panic!("{}: a charge for {other}", c.id),
                    }
                } else {
                    assert_eq!(r.kind, RequestType::AdditionalEquipment, "{}", c.id);
                }
            }
        }
    }
}

#[test]
fn governance_registers_look_like_the_policies() {
    let today = days()[0];
    let estate = generate(&options(300, 7, today));

    // Roles.
    let mut roles: BTreeMap<Role, BTreeSet<&str>> = BTreeMap::new();
    for g in &estate.roles {
        roles
            .entry(g.role)
            .or_default()
            .insert(g.person_id.as_str());
        assert!(g.granted_on.is_some_and(|d| d <= today));
    }
    let count = |r: Role| roles.get(&r).map_or(0, BTreeSet::len);
    assert!(count(Role::It) >= 2);
    assert!(count(Role::Governance) >= 2);
    assert!(count(Role::Hr) >= 1);
    assert!(count(Role::Senior) >= 2);
    assert_eq!(count(Role::Auditor), 1);
    assert_eq!(count(Role::Administrator), 1);
    let owners: BTreeSet<&str> = estate
        .information_assets
        .iter()
        .map(|a| a.owner_id.as_str())
        .collect();
    assert_eq!(roles.get(&Role::InformationAssetOwner), Some(&owners));
    let big = generate(&options(3_000, 7, today));
    let it = big.roles.iter().filter(|g| g.role == Role::It).count();
    assert!((15..=25).contains(&it), "{it} IT officers for 3,000 people");

    // Information assets and their access reviews.
    assert!((8..=15).contains(&estate.information_assets.len()));
    let months_ago = |d: NaiveDate| (today - d).num_days() / 30;
    let overdue = estate
        .information_assets
        .iter()
        .filter(|a| {
            a.last_reviewed_on
                .is_some_and(|d| months_ago(d) >= a.review_every_months)
        })
        .count();
    assert_eq!(overdue, 1, "one asset's review has slipped");
    for a in &estate.information_assets {
        assert!([6, 12].contains(&a.review_every_months));
        let latest = estate
            .access_reviews
            .iter()
            .filter(|r| r.asset_id == a.id)
            .map(|r| r.reviewed_on)
            .max();
        assert_eq!(latest, a.last_reviewed_on, "{}", a.id);
    }

    // Recurring tasks and their history.
    let mut overdue = 0;
    for t in &estate.tasks {
        assert!([7, 30, 90].contains(&t.every_days), "{}", t.id);
        let done: Vec<NaiveDate> = estate
            .task_completions
            .iter()
            .filter(|c| c.task_id == t.id)
            .map(|c| c.done_on)
            .collect();
        assert!(done.len() >= 4, "{}: {} completions", t.id, done.len());
        assert_eq!(done.iter().max().copied(), t.last_done_on, "{}", t.id);
        if t.last_done_on
            .is_some_and(|d| (today - d).num_days() > t.every_days)
        {
            overdue += 1;
        }
        let owner = t.owner_id.as_deref().expect("an owner");
        let team = if t.id.ends_with("COMMS-ROOM") {
            Role::It
        } else {
            Role::Governance
        };
        assert!(roles[&team].contains(owner), "{}: owned by {owner}", t.id);
    }
    assert!((1..=2).contains(&overdue), "{overdue} tasks overdue");
    for kind in ["KEYPAD", "KEY-SAFE", "ACCESS-LIST", "COMMS-ROOM"] {
        assert!(estate.tasks.iter().any(|t| t.id.ends_with(kind)), "{kind}");
    }
    assert!(
        estate
            .task_completions
            .iter()
            .any(|c| c.evidence.starts_with("code changed; log ref KP-"))
    );

    // Retention, records, destruction and archives.
    let classes: BTreeMap<&str, _> = estate
        .retention_schedule
        .iter()
        .map(|c| (c.record_class.as_str(), c))
        .collect();
    assert_eq!(classes["case-files"].period_months, 72);
    assert_eq!(classes["hr-files"].period_months, 72);
    assert_eq!(classes["finance"].period_months, 84);
    let due = |r: &steward_model::HeldRecord| {
        let months = u32::try_from(classes[r.record_class.as_str()].period_months).expect("months");
        r.trigger_on
            .and_then(|d| d.checked_add_months(chrono::Months::new(months)))
            .expect("a due date")
    };
    assert!(
        estate
            .records
            .iter()
            .any(|r| r.disposed_on.is_none() && due(r) < today),
        "nothing past due"
    );
    assert!(estate.records.iter().any(|r| r.disposed_on.is_some()));
    for r in estate.records.iter().filter(|r| r.disposed_on.is_some()) {
        assert!(r.disposed_on >= Some(due(r)), "{}: disposed early", r.id);
        let logged = estate
            .destructions
            .iter()
            .any(|d| d.record_id.as_ref() == Some(&r.id))
            || estate
                .archives
                .iter()
                .any(|a| a.record_id.as_ref() == Some(&r.id));
        assert!(logged, "{}: disposed of without a trace", r.id);
    }
    assert!(estate.archives.iter().any(|a| a.transferred_on.is_some()));
    for a in &estate.archives {
        if let Some(on) = a.transferred_on {
            assert!(on >= a.archived_on && on <= today, "{}", a.id);
        }
    }

    // Removable media.
    assert!(estate.removable_media.iter().all(|m| m.encrypted));
    assert!(
        estate
            .removable_media
            .iter()
            .any(|m| m.damaged_on.is_some())
    );
    let destroyed: Vec<_> = estate
        .removable_media
        .iter()
        .filter(|m| m.destroyed_on.is_some())
        .collect();
    assert_eq!(destroyed.len(), 1);
    let logged = estate
        .destructions
        .iter()
        .find(|d| d.medium_id.as_ref() == Some(&destroyed[0].id))
        .expect("the destruction logged");
    assert_eq!(Some(logged.destroyed_on), destroyed[0].destroyed_on);
    let asset: BTreeMap<&str, _> = estate.assets.iter().map(|a| (a.tag.as_str(), a)).collect();
    for m in &estate.removable_media {
        assert_ne!(m.holder_id, m.approved_by, "{}: approved their own", m.id);
        assert!(
            roles[&Role::It].contains(m.approved_by.as_str()),
            "{}",
            m.id
        );
        if let Some(tag) = &m.asset_tag {
            let a = asset[tag.as_str()];
            assert_eq!(a.kind, AssetKind::UsbStick, "{}", m.id);
            if a.status == AssetStatus::Allocated {
                assert_eq!(a.assigned_to.as_ref(), Some(&m.holder_id), "{}", m.id);
                assert_eq!(a.encrypted, Some(true), "{}", m.id);
            }
        }
    }

    // Courses: the training register's, and one optional.
    let courses: BTreeMap<&str, _> = estate.courses.iter().map(|c| (c.id.as_str(), c)).collect();
    for t in &estate.training {
        assert!(courses.contains_key(t.course.as_str()), "{}", t.course);
    }
    for id in [
        "information-assurance",
        "information-security",
        "social-media",
    ] {
        assert!(
            courses[id].mandatory && courses[id].recur_months == Some(12),
            "{id}"
        );
    }
    assert!(estate.courses.iter().any(|c| !c.mandatory));

    // Policy reviews: one per pack accepted, the IT policy's a material change.
    let packs: BTreeSet<(&str, &str)> = estate
        .policy_reviews
        .iter()
        .map(|r| (r.pack.as_str(), r.version.as_str()))
        .collect();
    assert!(packs.contains(&("cafcass-it-5.0", "5.0")));
    assert!(packs.contains(&("cafcass-ia-4.3", "4.3")));
    for r in &estate.policy_reviews {
        assert_eq!(r.material, r.version == "5.0");
        assert!(
            r.reviewed_on
                .is_some_and(|d| d < r.next_review && d <= today)
        );
    }

    // Bank holidays: England and Wales as shipped.
    let shipped: Vec<NaiveDate> = Calendar::shipped().holidays().map(|h| h.date).collect();
    let held: Vec<NaiveDate> = estate.bank_holidays.iter().map(|h| h.date).collect();
    assert_eq!(held, shipped);
    assert!(
        estate
            .bank_holidays
            .iter()
            .all(|h| h.notes.as_deref() != Some(""))
    );
}

#[test]
#[ignore = "timing: run with `cargo test --release -p steward-demo --test processes -- --ignored`"]
fn time_the_processes_of_a_hundred_thousand_people() {
    let started = std::time::Instant::now();
    let estate = generate(&options(100_000, 2026, days()[0]));
    println!("generate: 100,000 people in {:?}", started.elapsed());
    for register in Register::ALL
        .into_iter()
        .filter(|r| *r >= Register::BankHolidays)
    {
        println!("  {:>20}: {}", register.name(), estate.rows(register).len());
    }
    assert_rows_sound(&estate);
}
