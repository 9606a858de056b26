//! Incidents: the reporting window, the ICO's 72 hours for a personal data breach, who must be
//! told, and what a loss or theft does to the asset, its SIM and its holder's accounts.

use chrono::{DateTime, Duration, Utc};
use steward_model::{
    Asset, AssetKind, AssetStatus, FieldType, IcoDecision, Incident, IncidentState, IncidentType,
    Notification, Person, Record, Role, Row, Value,
};

use crate::details::Details;
use crate::request::{Actor, Holdings, notify};
use crate::{Result, WorkflowError};

/// The pack's reporting window: how long after discovery a report is on time. Zero means
/// "immediately", read as within the hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reporting {
    pub window_hours: i64,
}

impl Reporting {
    fn window(self) -> Duration {
        Duration::hours(if self.window_hours <= 0 {
            1
        } else {
            self.window_hours
        })
    }
}

/// The ICO must hear of a notifiable personal data breach within 72 hours of awareness
/// (UK GDPR Art. 33(1)).
pub const ICO_HOURS: i64 = 72;

/// A reported or updated incident and every row it changes.
#[derive(Debug, Clone)]
pub struct IncidentReport {
    pub incident: Incident,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

/// The parties the policies name to be told, for each type. A line manager is the reporter's.
fn parties(kind: IncidentType) -> &'static [&'static str] {
    match kind {
        IncidentType::Loss => &["it-service-desk", "information-governance", "line-manager"],
        IncidentType::Theft => &[
            "it-service-desk",
            "information-governance",
            "line-manager",
            "police",
        ],
        IncidentType::Damage | IncidentType::Phishing => &["it-service-desk"],
        IncidentType::PolicyBreach => &["line-manager", "information-governance"],
        IncidentType::DataBreach => &["information-governance", "line-manager"],
        IncidentType::ThreateningCall => &["line-manager", "security"],
    }
}

/// Records a report made at `at` by `person`. `holdings` are what the asset's holder holds (for a
/// loss or theft: their SIMs and accounts) and, in `named`, the asset reported.
/// Whether `reporter` may report `asset` lost, stolen or damaged and so change its status and flag
/// what its holder holds: its holder, the holder's line manager, the IT team or the governance
/// team. Anyone else may still report it found or seen (`found=yes`), which changes nothing of
/// the asset's and tells its holder.
pub fn may_mark_asset(
    reporter: &Person,
    reporter_roles: &[Role],
    asset: &Asset,
    holder: Option<&Person>,
) -> bool {
    reporter_roles
        .iter()
        .any(|r| matches!(r, Role::It | Role::Governance))
        || asset.assigned_to.as_deref() == Some(reporter.id.as_str())
        || holder.is_some_and(|h| h.manager_id.as_deref() == Some(reporter.id.as_str()))
}

/// Reports an incident. `marks_asset` is false for someone who found or saw an asset they may not
/// mark (see [`may_mark_asset`]): the incident is recorded and the holder told, the asset and its
/// holder's accounts are left alone.
#[allow(clippy::too_many_arguments)]
pub fn report(
    id: &str,
    kind: IncidentType,
    person: &Person,
    details: Details,
    at: DateTime<Utc>,
    reporting: Reporting,
    holdings: &Holdings,
    marks_asset: bool,
) -> Result<IncidentReport> {
    let discovered_at = details.timestamp("discovered_at")?.unwrap_or(at);
    let occurred_at = details.timestamp("occurred_at")?;
    if discovered_at > at {
        return Err(bad(
            "discovered_at",
            &discovered_at.to_rfc3339(),
            "after the report",
        ));
    }
    if let Some(occurred) = occurred_at
        && occurred > discovered_at
    {
        return Err(bad(
            "occurred_at",
            &occurred.to_rfc3339(),
            "after its discovery",
        ));
    }
    let asset_tag = details.get("asset_tag").map(str::to_owned);
    let needs_asset = matches!(
        kind,
        IncidentType::Loss | IncidentType::Theft | IncidentType::Damage
    );
    if needs_asset && asset_tag.is_none() {
        return Err(WorkflowError::MissingDetail {
            kind: kind.to_string(),
            key: "asset_tag",
            hint: "the item lost, stolen or damaged",
        });
    }
    let report_by = discovered_at + reporting.window();
    let late = at > report_by;
    let mut notes = Vec::new();
    if late {
        notes.push(format!(
            "reported late: the window closed at {}",
            report_by.to_rfc3339()
        ));
    }
    let mut rows = Vec::new();
    let mut asset_holder_told: Option<String> = None;
    let mut kept = details.clone();
    if let Some(tag) = &asset_tag {
        let asset = holdings
            .named
            .iter()
            .find(|a| &a.tag == tag)
            .ok_or_else(|| bad("asset_tag", tag, "no asset with this tag"))?;
        let status = match kind {
            IncidentType::Loss => Some(AssetStatus::Lost),
            IncidentType::Theft => Some(AssetStatus::Stolen),
            IncidentType::Damage => Some(AssetStatus::Damaged),
            _ => None,
        };
        if let Some(holder) = &asset.assigned_to
            && holder != &person.id
        {
            // The holder hears of it whoever reports it: it is their equipment and accounts.
            let mut n = notify(
                id,
                holder,
                format!("{kind} of {tag}, which you hold, reported by {}", person.id),
            );
            n.due_at = Some(report_by);
            rows.push(n.to_row());
            notes.push(format!("{holder} (who holds {tag}) to be told"));
            asset_holder_told = Some(holder.clone());
        }
        if !marks_asset {
            notes.push(format!(
                "{tag} reported found or seen; its status is left to its holder, their line manager, IT or governance"
            ));
        }
        let status = if marks_asset { status } else { None };
        if let Some(status) = status {
            let mut a = asset.clone();
            a.status = status;
            rows.push(a.to_row());
            notes.push(format!("{tag} marked {status}"));
        }
        if marks_asset && matches!(kind, IncidentType::Loss | IncidentType::Theft) {
            let sims: Vec<&str> = holdings
                .assets
                .iter()
                .filter(|a| a.kind == AssetKind::Sim && a.status == AssetStatus::Allocated)
                .map(|a| a.tag.as_str())
                .collect();
            let accounts: Vec<&str> = holdings
                .accounts
                .iter()
                .filter(|a| a.status == steward_model::AccountStatus::Active)
                .map(|a| a.id.as_str())
                .collect();
            if !sims.is_empty() {
                kept.set("flagged_sims", &sims.join(";"))?;
                notes.push(format!("SIM(s) flagged to be barred: {}", sims.join(", ")));
            }
            if !accounts.is_empty() {
                kept.set("flagged_accounts", &accounts.join(";"))?;
                notes.push(format!(
                    "account(s) flagged for a password reset: {}",
                    accounts.join(", ")
                ));
            }
        }
    }
    let ico_notify_by =
        (kind == IncidentType::DataBreach).then(|| discovered_at + Duration::hours(ICO_HOURS));
    if let Some(by) = ico_notify_by {
        notes.push(format!(
            "the ICO must be told by {} if the breach is notifiable",
            by.to_rfc3339()
        ));
    }
    for party in parties(kind) {
        let recipient = match *party {
            "line-manager" => match &person.manager_id {
                Some(m) => m.clone(),
                None => continue,
            },
            other => other.to_owned(),
        };
        if asset_holder_told.as_deref() == Some(recipient.as_str()) {
            continue;
        }
        let mut n = notify(
            id,
            &recipient,
            format!("{kind} reported by {} ({party})", person.id),
        );
        n.due_at = Some(report_by);
        rows.push(n.to_row());
        notes.push(format!("{recipient} to be told"));
    }
    for key in [
        "discovered_at",
        "occurred_at",
        "asset_tag",
        "facts",
        "effects",
        "remedial_action",
        "ico_decision",
        "ico_reasons",
    ] {
        kept.set(key, "")?;
    }
    let mut incident = Incident {
        id: id.to_owned(),
        kind,
        person_id: person.id.clone(),
        asset_tag,
        state: IncidentState::Reported,
        occurred_at,
        discovered_at,
        reported_at: at,
        report_by: Some(report_by),
        late: Some(late),
        ico_notify_by,
        facts: None,
        effects: None,
        remedial_action: None,
        ico_decision: None,
        ico_reasons: None,
        ico_notified_at: None,
        closed_at: None,
        details: kept.to_json(),
    };
    record_fields(&mut incident, &details)?;
    Ok(IncidentReport {
        incident,
        rows,
        notes,
    })
}

/// The Art. 33(5) record and the ICO decision, from details of the same names.
fn record_fields(incident: &mut Incident, details: &Details) -> Result<()> {
    for (key, slot) in [
        ("facts", &mut incident.facts),
        ("effects", &mut incident.effects),
        ("remedial_action", &mut incident.remedial_action),
        ("ico_reasons", &mut incident.ico_reasons),
    ] {
        if let Some(v) = details.get(key) {
            *slot = Some(v.to_owned());
        }
    }
    if let Some(text) = details.get("ico_decision") {
        incident.ico_decision = Some(
            text.parse::<IcoDecision>()
                .map_err(|reason| bad("ico_decision", text, &reason))?,
        );
    }
    if let Some(Value::Timestamp(t)) = details.typed("ico_notified_at", FieldType::Timestamp)? {
        incident.ico_notified_at = Some(t);
    }
    Ok(())
}

/// Moves an incident on: `investigate`, `record` (the facts, effects, remedial action and ICO
/// decision), or `close`. The IT and governance teams handle incidents.
pub fn update_incident(
    incident: &Incident,
    action: &str,
    details: &Details,
    actor: &Actor<'_>,
    at: DateTime<Utc>,
) -> Result<IncidentReport> {
    let verb: &'static str = match action {
        "investigate" => "investigate",
        "record" => "record",
        "close" => "close",
        other => {
            return Err(bad(
                "action",
                other,
                "expected investigate, record or close",
            ));
        }
    };
    if !(actor.roles.contains(&Role::It) || actor.roles.contains(&Role::Governance)) {
        return Err(WorkflowError::NotAllowed {
            actor: actor.person.id.clone(),
            action: verb,
            id: incident.id.clone(),
            reason: "incidents are handled by the IT and governance teams".into(),
        });
    }
    if incident.state == IncidentState::Closed {
        return Err(WorkflowError::Illegal {
            kind: "incident",
            id: incident.id.clone(),
            state: incident.state.to_string(),
            action: match verb {
                "investigate" => "investigated",
                "record" => "recorded",
                _ => "closed",
            },
        });
    }
    let mut next = incident.clone();
    record_fields(&mut next, details)?;
    let mut notes = Vec::new();
    match verb {
        "investigate" => {
            if incident.state != IncidentState::Reported {
                return Err(WorkflowError::Illegal {
                    kind: "incident",
                    id: incident.id.clone(),
                    state: incident.state.to_string(),
                    action: "investigated",
                });
            }
            next.state = IncidentState::Investigating;
            notes.push("under investigation".into());
        }
        "close" => {
            if next.kind == IncidentType::DataBreach {
                let missing: Vec<&str> = [
                    ("facts", next.facts.is_none()),
                    ("effects", next.effects.is_none()),
                    ("remedial_action", next.remedial_action.is_none()),
                    ("ico_decision", next.ico_decision.is_none()),
                    ("ico_reasons", next.ico_reasons.is_none()),
                ]
                .into_iter()
                .filter_map(|(k, m)| m.then_some(k))
                .collect();
                if !missing.is_empty() {
                    return Err(WorkflowError::NotAllowed {
                        actor: actor.person.id.clone(),
                        action: verb,
                        id: incident.id.clone(),
                        reason: format!(
                            "a data breach's record (UK GDPR Art. 33(5)) lacks {}",
                            missing.join(", ")
                        ),
                    });
                }
                if next.ico_decision == Some(IcoDecision::Notify) && next.ico_notified_at.is_none()
                {
                    return Err(WorkflowError::NotAllowed {
                        actor: actor.person.id.clone(),
                        action: verb,
                        id: incident.id.clone(),
                        reason: "the ICO is to be notified: record ico_notified_at first".into(),
                    });
                }
            }
            next.state = IncidentState::Closed;
            next.closed_at = Some(at);
            notes.push("closed".into());
        }
        _ => notes.push("recorded".into()),
    }
    if let (Some(by), Some(told)) = (next.ico_notify_by, next.ico_notified_at)
        && told > by
    {
        notes.push(format!(
            "the ICO was told after the 72 hours ({})",
            by.to_rfc3339()
        ));
    }
    Ok(IncidentReport {
        incident: next,
        rows: Vec::new(),
        notes,
    })
}

/// The team that answers for a party the policies name rather than a person: the IT service
/// desk is the IT team; information governance is the governance team, who also tell the police
/// and security; human resources, senior management and the information asset owners are those
/// holding those roles (told when a request waits for their agreement). `None` for a person's id.
pub fn party_role(recipient: &str) -> Option<Role> {
    match recipient {
        "it-service-desk" => Some(Role::It),
        "information-governance" | "police" | "security" => Some(Role::Governance),
        "human-resources" => Some(Role::Hr),
        "senior-management" => Some(Role::Senior),
        "information-asset-owners" => Some(Role::InformationAssetOwner),
        // Steward's own notices to those who run it (a webhook turned off).
        "administrators" => Some(Role::Administrator),
        _ => None,
    }
}

/// Records that `actor` has told (or been told as) `recipient`.
pub fn acknowledge(
    notification: &Notification,
    actor: &Actor<'_>,
    at: DateTime<Utc>,
) -> Result<Notification> {
    if notification.acknowledged_at.is_some() {
        return Err(WorkflowError::Illegal {
            kind: "notification",
            id: format!("{} to {}", notification.about, notification.recipient),
            state: "acknowledged".into(),
            action: "acknowledged",
        });
    }
    // The IT team may also answer for the governance team's parties.
    let allowed = match party_role(&notification.recipient) {
        Some(Role::Governance) => {
            actor.roles.contains(&Role::Governance) || actor.roles.contains(&Role::It)
        }
        Some(role) => actor.roles.contains(&role),
        None => notification.recipient == actor.person.id,
    };
    if !allowed {
        return Err(WorkflowError::NotAllowed {
            actor: actor.person.id.clone(),
            action: "acknowledge",
            id: notification.about.clone(),
            reason: format!("the notice is for {}", notification.recipient),
        });
    }
    let mut n = notification.clone();
    n.acknowledged_at = Some(at);
    n.acknowledged_by = Some(actor.person.id.clone());
    Ok(n)
}

fn bad(key: &str, value: &str, reason: &str) -> WorkflowError {
    WorkflowError::BadDetail {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}
