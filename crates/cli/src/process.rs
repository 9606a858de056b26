//! `steward request`, `steward incident` and `steward calendar`: the policies' processes from the
//! command line. The active packs supply the lead times, reporting windows and standard bundles;
//! the service layer does the rest.

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use steward_model::{ApproverRole, IncidentType, Person, RequestType};
use steward_policy::{
    Amount, ControlKind, Pack, PeriodUnit, REPORT_IMMEDIATELY_HOURS, REPORT_IMMEDIATELY_PARAM,
    Trigger, Within,
};
use steward_service::{IncidentView, RequestView, Steward};
use steward_workflow::{Action, Details, Reporting};

use crate::config::Settings;
use crate::{Format, open, stamp, stamp_as};

#[derive(Args, Debug)]
pub struct Common {
    /// Particulars as KEY=VALUE (repeatable): `--set 'countries=FR;BE' --set depart_on=2026-12-02` (quote a `;`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// When the step happens (RFC 3339). Default: now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Subcommand, Debug)]
pub enum RequestCommand {
    /// Raise a request: `request open international-travel --person P000123 --set countries=FR`.
    Open {
        /// new-starter, user-account-delete, user-account-suspend, user-account-return-to-work,
        /// international-travel, particular-needs, additional-equipment, fault-replacement,
        /// equipment-return, system-access, removable-media, pac-code, access-to-another-user,
        /// tablet-booking.
        kind: String,
        /// Whom it is for.
        #[arg(long)]
        person: String,
        /// Who raises it (a person id). Default: the person it is for.
        #[arg(long = "as")]
        raised_by: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Agree to a request as one of the parties it needs.
    Approve(Step),
    /// Refuse a request; it closes.
    Reject(Step),
    /// Carry a request out (the IT team); its effects reach the registers.
    Fulfil(Step),
    /// Withdraw a request still open or approved.
    Cancel(Step),
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Every request, with where it stands against its deadline.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Args, Debug)]
pub struct Step {
    id: String,
    /// Who takes the step (a person id).
    #[arg(long = "as")]
    actor: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// Report an incident: `incident report loss --person P000123 --set asset_tag=MOB000001`.
    Report {
        /// loss, theft, damage, policy-breach, data-breach, phishing, threatening-call.
        kind: String,
        /// Who reports it.
        #[arg(long)]
        person: String,
        #[command(flatten)]
        common: Common,
    },
    /// Start investigating (IT or governance team).
    Investigate(Step),
    /// Record facts, effects, remedial action, the ICO decision and its reasons.
    Record(Step),
    /// Close; a data breach needs its Art. 33(5) record complete.
    Close(Step),
    /// Record that someone who must be told has been.
    Acknowledge {
        id: String,
        /// The person id or party (`it-service-desk`, `information-governance`, `police`).
        #[arg(long)]
        recipient: String,
        #[arg(long = "as")]
        actor: String,
        #[arg(long)]
        at: Option<DateTime<Utc>>,
    },
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// Load gov.uk's bank-holidays.json (or a file in its format) into the database.
    Import {
        file: std::path::PathBuf,
        #[arg(long, default_value = steward_calendar::ENGLAND_AND_WALES)]
        division: String,
    },
    /// List the bank holidays of a year.
    Show {
        #[arg(long)]
        year: Option<i32>,
    },
    /// The date N working days after DATE.
    Add { date: NaiveDate, days: u32 },
}

fn details(pairs: &[String]) -> Result<Details> {
    let pairs = pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .with_context(|| format!("--set {p:?}: expected KEY=VALUE"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Details::from_pairs(&pairs)?)
}

/// The workflow controls of the active packs, each with its pack.
type Workflows = Vec<(Pack, steward_policy::Workflow)>;

/// The workflow controls of the active packs (read once per command: it loads every pack).
fn workflows(settings: &Settings) -> Result<Workflows> {
    let available = crate::policy::available_packs(settings)?;
    let mut out = Vec::new();
    for pack in available
        .into_iter()
        .filter(|p| settings.active_packs().contains(&p.id))
    {
        for control in pack.clauses.iter().flat_map(|c| &c.controls) {
            if let ControlKind::Workflow(w) = &control.kind {
                out.push((pack.clone(), w.clone()));
            }
        }
    }
    Ok(out)
}

/// A deadline's size, a parameter's effective value where it names one.
fn amount(pack: &Pack, settings: &Settings, amount: &Amount) -> Result<u32> {
    match amount {
        Amount::Fixed(n) => Ok(*n),
        Amount::Param(name) => {
            let overrides = crate::policy::overrides(settings)?;
            let values = crate::check::effective_params(pack, &overrides)?;
            match values.iter().find(|(n, _)| n == name) {
                Some((_, steward_rules::ParamValue::Int(n))) => Ok(u32::try_from(*n).unwrap_or(0)),
                _ => bail!("{}: parameter {name} is not a whole number", pack.id),
            }
        }
    }
}

/// The lead time the active packs give a request type, in working days (0 if none).
fn lead_time(workflows: &Workflows, settings: &Settings, kind: RequestType) -> Result<u32> {
    for (pack, w) in workflows {
        if let (Trigger::Process(p), Some(Within::Period { amount: a, unit })) =
            (&w.trigger, &w.within)
            && p.as_str() == kind.as_str()
        {
            let n = amount(pack, settings, a)?;
            return Ok(match unit {
                PeriodUnit::WorkingDays | PeriodUnit::Days => n,
                PeriodUnit::Hours => n.div_ceil(24),
            });
        }
    }
    Ok(0)
}

/// Who must agree to a request of `kind`: every party any active pack's workflow for it names,
/// or `None` where none names anyone (the parties Steward knows for the type then apply).
fn approvers(workflows: &Workflows, kind: RequestType) -> Option<Vec<ApproverRole>> {
    let mut named: Vec<ApproverRole> = Vec::new();
    for (_, w) in workflows {
        let Trigger::Process(p) = &w.trigger else {
            continue;
        };
        if p.as_str() != kind.as_str() {
            continue;
        }
        for role in w.approvers.iter().filter_map(|r| r.approver_role()) {
            if !named.contains(&role) {
                named.push(role);
            }
        }
    }
    (!named.is_empty()).then_some(named)
}

/// The strictest reporting window the active packs give an incident type.
fn reporting(workflows: &Workflows, settings: &Settings, kind: IncidentType) -> Result<Reporting> {
    let mut hours: Option<i64> = None;
    for (pack, w) in workflows {
        let (Trigger::Incident(i), Some(within)) = (&w.trigger, &w.within) else {
            continue;
        };
        if i.as_str() != kind.as_str() {
            continue;
        }
        let h = match within {
            // "Immediately" is the pack's own number of hours, as its checks read it.
            Within::Immediately if pack.parameters.contains_key(REPORT_IMMEDIATELY_PARAM) => {
                i64::from(amount(
                    pack,
                    settings,
                    &Amount::Param(REPORT_IMMEDIATELY_PARAM.to_owned()),
                )?)
            }
            Within::Immediately => i64::from(REPORT_IMMEDIATELY_HOURS),
            Within::Period { amount: a, unit } => {
                let n = i64::from(amount(pack, settings, a)?);
                match unit {
                    PeriodUnit::Hours => n,
                    PeriodUnit::Days | PeriodUnit::WorkingDays => n * 24,
                }
            }
        };
        hours = Some(hours.map_or(h, |x| x.min(h)));
    }
    // A type no active pack mentions is still to be reported promptly.
    Ok(Reporting {
        window_hours: hours.unwrap_or(0),
    })
}

/// A new starter's standard bundle from their staff group in the first active pack that has it.
fn bundle(settings: &Settings, person: &Person) -> Result<Option<String>> {
    let available = crate::policy::available_packs(settings)?;
    for pack in available
        .iter()
        .filter(|p| settings.active_packs().contains(&p.id))
    {
        if let Some(group) = pack.staff_groups.get(&person.staff_group) {
            let items: Vec<String> = group
                .devices
                .iter()
                .map(|d| format!("{}x{}", d.count, d.kind))
                .collect();
            return Ok(Some(items.join(";")));
        }
    }
    Ok(None)
}

/// What the active packs say of every request and incident type and staff group, for the web.
pub fn process_terms(settings: &Settings) -> Result<steward_service::ProcessTerms> {
    let mut terms = steward_service::ProcessTerms::default();
    let flows = workflows(settings)?;
    for word in RequestType::ALL {
        if let Ok(kind) = word.parse::<RequestType>() {
            terms
                .lead_days
                .insert(kind, lead_time(&flows, settings, kind)?);
            if let Some(named) = approvers(&flows, kind) {
                terms.approvers.insert(kind, named);
            }
        }
    }
    for word in IncidentType::ALL {
        if let Ok(kind) = word.parse::<IncidentType>() {
            terms
                .reporting_hours
                .insert(kind, reporting(&flows, settings, kind)?.window_hours);
        }
    }
    let available = crate::policy::available_packs(settings)?;
    // The first active pack to name a staff group gives its bundle, as `bundle` reads it.
    for pack in available
        .iter()
        .filter(|p| settings.active_packs().contains(&p.id))
    {
        for (id, group) in &pack.staff_groups {
            let items: Vec<String> = group
                .devices
                .iter()
                .map(|d| format!("{}x{}", d.count, d.kind))
                .collect();
            terms
                .bundles
                .entry(id.clone())
                .or_insert_with(|| items.join(";"));
        }
    }
    Ok(terms)
}

pub fn request(command: RequestCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    match command {
        RequestCommand::Open {
            kind,
            person,
            raised_by,
            common,
        } => {
            let kind: RequestType = kind
                .parse()
                .map_err(|e: String| anyhow::anyhow!("request type {kind:?}: {e}"))?;
            let mut details = details(&common.set)?;
            if kind == RequestType::NewStarter
                && details.get("bundle").is_none()
                && let Some(p) = steward.get::<Person>(&person)?
                && let Some(b) = bundle(settings, &p)?
            {
                details.set("bundle", &b)?;
            }
            let flows = workflows(settings)?;
            let terms = steward_service::RequestTerms {
                lead_working_days: lead_time(&flows, settings, kind)?,
                approvers: approvers(&flows, kind),
            };
            let stamp = match &raised_by {
                Some(by) => stamp_as(settings, common.at, by),
                None => stamp(settings, common.at),
            };
            let view = steward.open_request(
                &stamp,
                kind,
                &person,
                raised_by.as_deref(),
                details,
                terms,
            )?;
            print_request(&view, common.format)
        }
        RequestCommand::Approve(s) => act(&steward, settings, s, Action::Approve),
        RequestCommand::Reject(s) => act(&steward, settings, s, Action::Reject),
        RequestCommand::Fulfil(s) => act(&steward, settings, s, Action::Fulfil),
        RequestCommand::Cancel(s) => act(&steward, settings, s, Action::Cancel),
        RequestCommand::Show { id, format } => print_request(&steward.request(&id)?, format),
        RequestCommand::List {
            state,
            kind,
            format,
        } => {
            let today = steward.local_date(Utc::now())?;
            let rows: Vec<_> = steward
                .requests(today)?
                .into_iter()
                .filter(|(r, _)| state.as_deref().is_none_or(|s| r.state.as_str() == s))
                .filter(|(r, _)| kind.as_deref().is_none_or(|k| r.kind.as_str() == k))
                .collect();
            match format {
                Format::Json => {
                    let list: Vec<_> = rows
                        .iter()
                        .map(|(r, sla)| {
                            serde_json::json!({
                                "id": r.id, "type": r.kind.as_str(), "person": r.person_id,
                                "state": r.state.as_str(), "opened_at": r.opened_at,
                                "due": r.due_on, "sla": sla.to_string(),
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&list)?);
                }
                Format::Text => {
                    for (r, sla) in rows {
                        println!(
                            "{}  {:<28} {:<10} {:<10} due {:<10}  {sla}",
                            r.id,
                            r.kind.as_str(),
                            r.person_id,
                            r.state.as_str(),
                            r.due_on
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "-".into()),
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn act(steward: &Steward, settings: &Settings, s: Step, action: Action) -> Result<ExitCode> {
    let extra = details(&s.common.set)?;
    let view = steward.act_on_request(
        &stamp_as(settings, s.common.at, &s.actor),
        &s.id,
        action,
        &s.actor,
        extra,
    )?;
    print_request(&view, s.common.format)
}

fn print_request(view: &RequestView, format: Format) -> Result<ExitCode> {
    let r = &view.request;
    let details = Details::parse(r.details.as_deref())?;
    match format {
        Format::Json => {
            let value = serde_json::json!({
                "id": r.id,
                "type": r.kind.as_str(),
                "person": r.person_id,
                "raised_by": r.raised_by,
                "state": r.state.as_str(),
                "opened_at": r.opened_at,
                "due": r.due_on,
                "closed_at": r.closed_at,
                "sla": view.sla.to_string(),
                "details": details.iter().collect::<std::collections::BTreeMap<_, _>>(),
                "approvals": view.approvals.iter().map(|a| serde_json::json!({
                    "role": a.role.as_str(), "person": a.person_id,
                    "decision": a.decision.as_str(), "at": a.decided_at,
                })).collect::<Vec<_>>(),
                "notifications": notifications(&view.notifications),
                "notes": view.notes,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Format::Text => {
            println!("{} {} for {}: {}", r.id, r.kind, r.person_id, r.state);
            if let Some(due) = r.due_on {
                println!("  due {due} ({})", view.sla);
            }
            for (k, v) in details.iter() {
                println!("  {k}: {v}");
            }
            for a in &view.approvals {
                println!(
                    "  {} by {} as {} at {}",
                    a.decision, a.person_id, a.role, a.decided_at
                );
            }
            for n in &view.notes {
                println!("  - {n}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn notifications(list: &[steward_model::Notification]) -> Vec<serde_json::Value> {
    list.iter()
        .map(|n| {
            serde_json::json!({
                "recipient": n.recipient, "reason": n.reason, "due_at": n.due_at,
                "acknowledged_at": n.acknowledged_at, "acknowledged_by": n.acknowledged_by,
            })
        })
        .collect()
}

pub fn incident(command: IncidentCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    match command {
        IncidentCommand::Report {
            kind,
            person,
            common,
        } => {
            let kind: IncidentType = kind
                .parse()
                .map_err(|e: String| anyhow::anyhow!("incident type {kind:?}: {e}"))?;
            let view = steward.report_incident(
                &stamp_as(settings, common.at, &person),
                kind,
                &person,
                details(&common.set)?,
                reporting(&workflows(settings)?, settings, kind)?,
            )?;
            print_incident(&view, common.format)
        }
        IncidentCommand::Investigate(s) => update(&steward, settings, s, "investigate"),
        IncidentCommand::Record(s) => update(&steward, settings, s, "record"),
        IncidentCommand::Close(s) => update(&steward, settings, s, "close"),
        IncidentCommand::Acknowledge {
            id,
            recipient,
            actor,
            at,
        } => {
            let n =
                steward.acknowledge(&stamp_as(settings, at, &actor), &id, &recipient, &actor)?;
            println!(
                "{}: {} told, recorded by {}",
                n.about,
                n.recipient,
                n.acknowledged_by.unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        IncidentCommand::Show { id, format } => print_incident(&steward.incident(&id)?, format),
        IncidentCommand::List { format } => {
            let list: Vec<steward_model::Incident> = steward.list()?;
            match format {
                Format::Json => {
                    let v: Vec<_> = list
                        .iter()
                        .map(|i| {
                            serde_json::json!({
                                "id": i.id, "type": i.kind.as_str(), "person": i.person_id,
                                "state": i.state.as_str(), "reported_at": i.reported_at,
                                "late": i.late, "ico_notify_by": i.ico_notify_by,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                Format::Text => {
                    for i in list {
                        println!(
                            "{}  {:<16} {:<10} {:<13} reported {}{}",
                            i.id,
                            i.kind.as_str(),
                            i.person_id,
                            i.state.as_str(),
                            i.reported_at,
                            i.ico_notify_by
                                .map(|t| format!("  ICO by {t}"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn update(steward: &Steward, settings: &Settings, s: Step, action: &str) -> Result<ExitCode> {
    let view = steward.update_incident(
        &stamp_as(settings, s.common.at, &s.actor),
        &s.id,
        action,
        &s.actor,
        details(&s.common.set)?,
    )?;
    print_incident(&view, s.common.format)
}

fn print_incident(view: &IncidentView, format: Format) -> Result<ExitCode> {
    let i = &view.incident;
    match format {
        Format::Json => {
            let value = serde_json::json!({
                "id": i.id,
                "type": i.kind.as_str(),
                "person": i.person_id,
                "asset_tag": i.asset_tag,
                "state": i.state.as_str(),
                "occurred_at": i.occurred_at,
                "discovered_at": i.discovered_at,
                "reported_at": i.reported_at,
                "report_by": i.report_by,
                "late": i.late,
                "ico_notify_by": i.ico_notify_by,
                "facts": i.facts,
                "effects": i.effects,
                "remedial_action": i.remedial_action,
                "ico_decision": i.ico_decision.map(|d| d.as_str()),
                "ico_reasons": i.ico_reasons,
                "ico_notified_at": i.ico_notified_at,
                "closed_at": i.closed_at,
                "details": Details::parse(i.details.as_deref())?.iter().collect::<std::collections::BTreeMap<_, _>>(),
                "notifications": notifications(&view.notifications),
                "notes": view.notes,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Format::Text => {
            println!(
                "{} {} reported by {}: {}",
                i.id, i.kind, i.person_id, i.state
            );
            if let Some(by) = i.ico_notify_by {
                println!("  ICO to be told by {by} if notifiable");
            }
            for n in &view.notifications {
                let told = n
                    .acknowledged_at
                    .map_or_else(|| "not yet told".to_owned(), |t| format!("told {t}"));
                println!("  {}: {told}", n.recipient);
            }
            for n in &view.notes {
                println!("  - {n}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn calendar(command: CalendarCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    match command {
        CalendarCommand::Import { file, division } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let calendar = steward_calendar::Calendar::from_govuk_json(&text, &division)
                .with_context(|| format!("{}", file.display()))?;
            let summary = steward.import_calendar(&stamp(settings, None), &calendar)?;
            println!(
                "{} bank holidays: {} added, {} changed, {} unchanged",
                calendar.holidays().count(),
                summary.created,
                summary.updated,
                summary.unchanged
            );
        }
        CalendarCommand::Show { year } => {
            for h in steward
                .calendar()?
                .holidays()
                .filter(|h| year.is_none_or(|y| chrono::Datelike::year(&h.date) == y))
            {
                let notes = if h.notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", h.notes)
                };
                println!("{} {}{notes}", h.date.format("%a %d %b %Y"), h.title);
            }
        }
        CalendarCommand::Add { date, days } => {
            let calendar = steward.calendar()?;
            let due = calendar.add_working_days(date, days);
            println!("{due}");
            if !calendar.covers(due) {
                eprintln!(
                    "warning: no bank holidays are known for {}; only weekends were skipped",
                    chrono::Datelike::year(&due)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
