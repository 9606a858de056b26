//! Requests, incidents and the calendar: the service gathers what a step needs, lets
//! `steward-workflow` decide, and commits every row the step changes in one audited transaction.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use steward_calendar::Calendar;
use steward_model::{
    Account, Approval, ApproverRole, Asset, BankHoliday, Incident, IncidentType, Notification,
    Person, Record, Register, Request, RequestType, Role, RoleGrant, Row,
};
use steward_store::CommitSummary;
use steward_workflow::{Action, Actor, Details, Holdings, Reporting, Sla};

use crate::{Capacity, FieldProblem, Refusal, Result, ServiceError, Stamp, Steward};

/// A request with its approvals, the people to be told, and how it stands against its deadline.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: Request,
    pub approvals: Vec<Approval>,
    /// The parties it still waits for, while it is open.
    pub waiting_for: Vec<ApproverRole>,
    pub notifications: Vec<Notification>,
    pub sla: Sla,
    /// What the last step did, in words.
    pub notes: Vec<String>,
}

/// An incident with the people to be told and whether they have been.
#[derive(Debug, Clone)]
pub struct IncidentView {
    pub incident: Incident,
    pub notifications: Vec<Notification>,
    pub notes: Vec<String>,
}

/// What the active policy packs say of each process, settled once where the packs are known (the
/// binary) and handed to whoever opens requests and reports incidents: lead times in working
/// days by request type, reporting windows in hours by incident type (0: immediately), and each
/// staff group's standard bundle (`1xlaptop;1xsmartphone`).
#[derive(Debug, Clone, Default)]
pub struct ProcessTerms {
    pub lead_days: std::collections::BTreeMap<RequestType, u32>,
    pub reporting_hours: std::collections::BTreeMap<IncidentType, i64>,
    pub bundles: std::collections::BTreeMap<String, String>,
    /// Who must agree to each request type, where the packs name anyone (every party any
    /// active pack names).
    pub approvers: std::collections::BTreeMap<RequestType, Vec<ApproverRole>>,
}

/// What the packs in force say of one request type as it is opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestTerms {
    /// Its lead time, where the packs give one.
    pub lead_working_days: u32,
    /// Who must agree to it; `None` where the packs name nobody for its type, so the parties
    /// Steward knows for the type do ([`steward_workflow::approvals_known`]).
    pub approvers: Option<Vec<ApproverRole>>,
}

/// A lead time alone: the packs name no approvers.
impl From<u32> for RequestTerms {
    fn from(lead_working_days: u32) -> RequestTerms {
        RequestTerms {
            lead_working_days,
            approvers: None,
        }
    }
}

impl ProcessTerms {
    pub fn lead_time(&self, kind: RequestType) -> u32 {
        self.lead_days.get(&kind).copied().unwrap_or(0)
    }

    /// What the packs say of a request of `kind` as it is opened.
    pub fn request(&self, kind: RequestType) -> RequestTerms {
        RequestTerms {
            lead_working_days: self.lead_time(kind),
            approvers: self.approvers.get(&kind).cloned(),
        }
    }

    pub fn reporting(&self, kind: IncidentType) -> Reporting {
        Reporting {
            window_hours: self.reporting_hours.get(&kind).copied().unwrap_or(0),
        }
    }

    pub fn bundle(&self, staff_group: &str) -> Option<&str> {
        self.bundles.get(staff_group).map(String::as_str)
    }
}

/// The step's instant as the registers hold instants: to the microsecond.
fn at(stamp: &Stamp) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(stamp.at, 6)
}

impl Steward {
    // --- calendar -----------------------------------------------------------------------------

    /// The working-day calendar: the bank holidays register, or the shipped England and Wales
    /// holidays while the register is empty.
    pub fn calendar(&self) -> Result<Calendar> {
        let held: Vec<BankHoliday> = self.list()?;
        if held.is_empty() {
            return Ok(Calendar::shipped());
        }
        Ok(Calendar::from_holidays(held.into_iter().map(|h| {
            steward_calendar::BankHoliday {
                date: h.date,
                title: h.title,
                notes: h.notes.unwrap_or_default(),
            }
        })))
    }

    /// Adds or updates every holiday of `calendar` in the bank holidays register.
    pub fn import_calendar(&self, stamp: &Stamp, calendar: &Calendar) -> Result<CommitSummary> {
        stamp.authorise(Register::BankHolidays, crate::Operation::Import)?;
        let rows = calendar
            .holidays()
            .map(|h| {
                BankHoliday {
                    date: h.date,
                    title: h.title.clone(),
                    notes: (!h.notes.is_empty()).then(|| h.notes.clone()),
                }
                .to_row()
            })
            .collect();
        self.write_all(stamp, rows)
    }

    /// The organisation's time zone (London if unset or unreadable).
    pub fn time_zone(&self) -> Result<chrono_tz::Tz> {
        Ok(self
            .organisation()?
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Europe::London))
    }

    /// The instant a wall-clock time in the organisation's time zone names (the earlier, in the
    /// hour the clocks go back; the first valid minute, in the hour they go forward).
    pub fn local_instant(&self, local: chrono::NaiveDateTime) -> Result<DateTime<Utc>> {
        use chrono::TimeZone;
        let tz = self.time_zone()?;
        let mut probe = local;
        for _ in 0..120 {
            if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                return Ok(t.with_timezone(&Utc));
            }
            probe += chrono::TimeDelta::minutes(1);
        }
        Ok(local.and_utc())
    }

    /// The organisation's date at an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> Result<NaiveDate> {
        Ok(at.with_timezone(&self.time_zone()?).date_naive())
    }

    // --- roles --------------------------------------------------------------------------------

    /// The roles the roles register grants `person_id` (an indexed read, not the whole register).
    pub fn roles_of(&self, person_id: &str) -> Result<Vec<Role>> {
        let grants: Vec<RoleGrant> = self.list_where("person_id", person_id)?;
        Ok(grants.into_iter().map(|g| g.role).collect())
    }

    pub(crate) fn person(&self, id: &str) -> Result<Person> {
        self.get::<Person>(id)?
            .ok_or_else(|| ServiceError::NotFound {
                register: Register::People,
                id: id.to_owned(),
            })
    }

    fn holdings(&self, person_id: &str, details: &Details) -> Result<Holdings> {
        let tags: HashSet<String> = steward_workflow::named_tags(details).into_iter().collect();
        let mut holdings = Holdings::default();
        for asset in self.list::<Asset>()? {
            if tags.contains(&asset.tag) {
                holdings.named.push(asset.clone());
            }
            if asset.assigned_to.as_deref() == Some(person_id) {
                holdings.assets.push(asset);
            }
        }
        holdings.accounts = self
            .list::<Account>()?
            .into_iter()
            .filter(|a| a.person_id.as_deref() == Some(person_id))
            .collect();
        Ok(holdings)
    }

    /// The next free id of the form `PREFIX-000001`.
    pub(crate) fn next_id(&self, register: Register, prefix: &str) -> Result<String> {
        let highest = self
            .store()
            .ids(register)?
            .iter()
            .filter_map(|id| {
                id.strip_prefix(prefix)?
                    .strip_prefix('-')?
                    .parse::<u64>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        Ok(format!("{prefix}-{:06}", highest + 1))
    }

    // --- requests -----------------------------------------------------------------------------

    /// Opens a request for `person_id`. `lead_working_days` is the active pack's lead time.
    pub fn open_request(
        &self,
        stamp: &Stamp,
        kind: RequestType,
        person_id: &str,
        raised_by: Option<&str>,
        details: Details,
        terms: impl Into<RequestTerms>,
    ) -> Result<RequestView> {
        let terms = terms.into();
        if let Some(raiser) = raised_by {
            acting_as(stamp, raiser)?;
        }
        let person = self.person(person_id)?;
        let raiser = raised_by.map(|id| self.person(id)).transpose()?;
        // A person raises for themselves or their reports; the IT team and administrators for
        // anyone.
        if let Some(me) = &stamp.authority.person_id
            && me != person_id
            && person.manager_id.as_deref() != Some(me.as_str())
            && !stamp.authority.is(Capacity::It)
            && !stamp.authority.is(Capacity::Administrator)
        {
            return Err(ServiceError::Refused(Refusal::Step(format!(
                "you may raise requests for yourself and your reports, not for {person_id}"
            ))));
        }
        let (calendar, zone) = (self.calendar()?, self.time_zone()?);
        let (id, notes) = self.with_new_id(Register::Requests, "REQ", |id| {
            let step = steward_workflow::open(
                id,
                kind,
                &person,
                raiser.as_ref(),
                details.clone(),
                at(stamp),
                &calendar,
                zone,
                terms.lead_working_days,
                terms.approvers.as_deref(),
            )?;
            let mut rows = vec![step.request.to_row()];
            rows.extend(step.rows);
            self.write_all_creating(stamp, rows, &[(Register::Requests, id)])?;
            Ok((id.to_owned(), step.notes))
        })?;
        let mut view = self.request(&id)?;
        view.notes = notes;
        self.tell_webhooks(
            "request.raised",
            serde_json::json!({ "request": view.request.to_row().to_json() }),
            stamp.at,
        );
        Ok(view)
    }

    /// Approves, rejects, fulfils or cancels a request as `actor_id`.
    pub fn act_on_request(
        &self,
        stamp: &Stamp,
        id: &str,
        action: Action,
        actor_id: &str,
        extra: Details,
    ) -> Result<RequestView> {
        acting_as(stamp, actor_id)?;
        let view = self.request(id)?;
        let person = self.person(&view.request.person_id)?;
        let actor = self.person(actor_id)?;
        let roles = self.roles_of(actor_id)?;
        let mut details = Details::parse(view.request.details.as_deref())?;
        details.merge(&extra);
        let holdings = self.holdings(&person.id, &details)?;
        let step = steward_workflow::step(
            &view.request,
            &view.approvals,
            &view.notifications,
            action,
            &Actor {
                person: &actor,
                roles: &roles,
            },
            &person,
            &holdings,
            &extra,
            at(stamp),
            self.local_date(stamp.at)?,
        )?;
        let mut rows = vec![step.request.to_row()];
        rows.extend(step.approval.map(|a| a.to_row()));
        rows.extend(step.rows);
        let was = view.request.state;
        self.write_all(stamp, rows)?;
        let mut view = self.request(id)?;
        view.notes = step.notes;
        if view.request.state != was {
            let event = match view.request.state {
                steward_model::RequestState::Approved => Some("request.approved"),
                steward_model::RequestState::Rejected => Some("request.rejected"),
                steward_model::RequestState::Fulfilled => Some("request.fulfilled"),
                _ => None,
            };
            if let Some(event) = event {
                self.tell_webhooks(
                    event,
                    serde_json::json!({ "request": view.request.to_row().to_json() }),
                    stamp.at,
                );
            }
        }
        Ok(view)
    }

    pub fn request(&self, id: &str) -> Result<RequestView> {
        let request = self
            .get::<Request>(id)?
            .ok_or_else(|| ServiceError::NotFound {
                register: Register::Requests,
                id: id.to_owned(),
            })?;
        let approvals: Vec<Approval> = self
            .list::<Approval>()?
            .into_iter()
            .filter(|a| a.request_id == id)
            .collect();
        let notifications = self
            .list::<Notification>()?
            .into_iter()
            .filter(|n| n.about == id)
            .collect();
        let calendar = self.calendar()?;
        let today = self.local_date(Utc::now())?;
        Ok(RequestView {
            sla: steward_workflow::sla(&request, today, &calendar),
            waiting_for: steward_workflow::waiting_for(&request, &approvals),
            request,
            approvals,
            notifications,
            notes: Vec::new(),
        })
    }

    /// Every request with its deadline reckoned at `today`.
    pub fn requests(&self, today: NaiveDate) -> Result<Vec<(Request, Sla)>> {
        let calendar = self.calendar()?;
        Ok(self
            .list::<Request>()?
            .into_iter()
            .map(|r| {
                let sla = steward_workflow::sla(&r, today, &calendar);
                (r, sla)
            })
            .collect())
    }

    // --- the policy accepted --------------------------------------------------------------------

    /// Records `person_id`'s acceptance of each `(pack, version)` on `on`, those not already
    /// accepted, in one transaction. A person accepts for themselves alone.
    pub fn accept_policies(
        &self,
        stamp: &Stamp,
        person_id: &str,
        packs: &[(String, String)],
        on: NaiveDate,
    ) -> Result<()> {
        acting_as(stamp, person_id)?;
        let mut rows = Vec::new();
        for (pack, version) in packs {
            let acceptance = steward_model::Acceptance {
                person_id: person_id.to_owned(),
                pack: pack.clone(),
                version: version.clone(),
                accepted_on: on,
            };
            let row = acceptance.to_row();
            if self.store().get(Register::Acceptances, row.id())?.is_none() {
                rows.push(row);
            }
        }
        if !rows.is_empty() {
            self.write_all(stamp, rows)?;
        }
        Ok(())
    }

    // --- incidents ----------------------------------------------------------------------------

    pub fn report_incident(
        &self,
        stamp: &Stamp,
        kind: IncidentType,
        person_id: &str,
        details: Details,
        reporting: Reporting,
    ) -> Result<IncidentView> {
        acting_as(stamp, person_id)?;
        let person = self.person(person_id)?;
        // A loss or theft flags what the asset's holder holds, who may not be the reporter; only
        // the holder, their line manager, IT or governance may say so. Anyone else reports it
        // found or seen, which leaves the asset alone.
        let asset = match details.get("asset_tag") {
            Some(tag) => self.get::<Asset>(tag)?,
            None => None,
        };
        let holder = asset
            .as_ref()
            .and_then(|a| a.assigned_to.clone())
            .unwrap_or_else(|| person.id.clone());
        let marks_asset = match &asset {
            Some(asset) => {
                let holder_person = match &asset.assigned_to {
                    Some(_) => self.get::<Person>(&holder)?,
                    None => None,
                };
                let roles = self.roles_of(person_id)?;
                let entitled = steward_workflow::may_mark_asset(
                    &person,
                    &roles,
                    asset,
                    holder_person.as_ref(),
                );
                let found = details
                    .get("found")
                    .is_some_and(|v| matches!(v.trim(), "yes" | "true"));
                if !entitled && !found {
                    return Err(ServiceError::Refused(Refusal::Step(format!(
                        "{} is not yours: only its holder, their line manager, IT or governance may report it {kind}; report it as found or seen instead (found=yes), which tells its holder",
                        asset.tag
                    ))));
                }
                entitled && !found
            }
            None => true,
        };
        let holdings = self.holdings(&holder, &details)?;
        let (id, notes) = self.with_new_id(Register::Incidents, "INC", |id| {
            let report = steward_workflow::report(
                id,
                kind,
                &person,
                details.clone(),
                at(stamp),
                reporting,
                &holdings,
                marks_asset,
            )?;
            let mut rows = vec![report.incident.to_row()];
            rows.extend(report.rows);
            self.write_all_creating(stamp, rows, &[(Register::Incidents, id)])?;
            Ok((id.to_owned(), report.notes))
        })?;
        let mut view = self.incident(&id)?;
        view.notes = notes;
        self.tell_webhooks(
            "incident.reported",
            serde_json::json!({ "incident": view.incident.to_row().to_json() }),
            stamp.at,
        );
        // Reported after the policy's window had closed.
        if view.incident.late == Some(true) {
            self.tell_webhooks(
                "incident.late",
                serde_json::json!({ "incident": view.incident.to_row().to_json() }),
                stamp.at,
            );
        }
        Ok(view)
    }

    /// `investigate`, `record` or `close` an incident as `actor_id`.
    pub fn update_incident(
        &self,
        stamp: &Stamp,
        id: &str,
        action: &str,
        actor_id: &str,
        details: Details,
    ) -> Result<IncidentView> {
        acting_as(stamp, actor_id)?;
        let view = self.incident(id)?;
        let actor = self.person(actor_id)?;
        let roles = self.roles_of(actor_id)?;
        let report = steward_workflow::update_incident(
            &view.incident,
            action,
            &details,
            &Actor {
                person: &actor,
                roles: &roles,
            },
            at(stamp),
        )?;
        self.write_all(stamp, vec![report.incident.to_row()])?;
        let mut view = self.incident(id)?;
        view.notes = report.notes;
        Ok(view)
    }

    /// Records that `recipient` has been told about `about` (a request or an incident).
    pub fn acknowledge(
        &self,
        stamp: &Stamp,
        about: &str,
        recipient: &str,
        actor_id: &str,
    ) -> Result<Notification> {
        acting_as(stamp, actor_id)?;
        let key = steward_model::join_key(&[
            steward_model::Value::Text(about.to_owned()),
            steward_model::Value::Text(recipient.to_owned()),
        ]);
        let notification =
            self.get::<Notification>(&key)?
                .ok_or_else(|| ServiceError::NotFound {
                    register: Register::Notifications,
                    id: format!("{about} to {recipient}"),
                })?;
        let actor = self.person(actor_id)?;
        let roles = self.roles_of(actor_id)?;
        let done = steward_workflow::acknowledge(
            &notification,
            &Actor {
                person: &actor,
                roles: &roles,
            },
            at(stamp),
        )?;
        self.write_all(stamp, vec![done.to_row()])?;
        Ok(done)
    }

    pub fn incident(&self, id: &str) -> Result<IncidentView> {
        let incident = self
            .get::<Incident>(id)?
            .ok_or_else(|| ServiceError::NotFound {
                register: Register::Incidents,
                id: id.to_owned(),
            })?;
        let notifications = self
            .list::<Notification>()?
            .into_iter()
            .filter(|n| n.about == id)
            .collect();
        Ok(IncidentView {
            incident,
            notifications,
            notes: Vec::new(),
        })
    }

    // --- writing several rows at once ---------------------------------------------------------

    /// Validates every row — references may point at rows of the same batch — then commits them
    /// together: one transaction, one audit record per change.
    pub(crate) fn write_all(&self, stamp: &Stamp, rows: Vec<Row>) -> Result<CommitSummary> {
        self.write_all_creating(stamp, rows, &[])
    }

    /// [`Steward::write_all`], refused if a row named in `new` exists by the time it commits.
    pub(crate) fn write_all_creating(
        &self,
        stamp: &Stamp,
        mut rows: Vec<Row>,
        new: &[(Register, &str)],
    ) -> Result<CommitSummary> {
        self.derive(&mut rows)?;
        let batch: HashSet<(Register, &str)> =
            rows.iter().map(|r| (r.register(), r.id())).collect();
        for row in &rows {
            let problems: Vec<FieldProblem> =
                self.check_row_against(row, &|register, id| batch.contains(&(register, id)))?;
            if !problems.is_empty() {
                return Err(ServiceError::Invalid {
                    register: row.register(),
                    problems,
                });
            }
        }
        self.store()
            .commit_creating(&stamp.actor, stamp.at, rows, new)
            .map_err(ServiceError::from_store)
    }

    /// Runs `make` with the next free id of `register` (`PREFIX-000123`), again with the next one
    /// if another writer took that id first (`make` commits with the id as new, so the race is
    /// seen inside the transaction rather than turning one record into an update of another).
    pub(crate) fn with_new_id<T>(
        &self,
        register: Register,
        prefix: &str,
        mut make: impl FnMut(&str) -> Result<T>,
    ) -> Result<T> {
        const TRIES: usize = 8;
        let mut tried = 1;
        loop {
            let id = self.next_id(register, prefix)?;
            match make(&id) {
                Err(ServiceError::AlreadyExists {
                    register: r,
                    id: ref taken,
                }) if r == register && *taken == id && tried < TRIES => tried += 1,
                done => return done,
            }
        }
    }
}

/// Refused when a signed-in person claims to act as someone else. The command line, with
/// administrator capacity and no person of its own, acts for whomever `--as` names, and that
/// person's separation of duties binds the step.
pub(crate) fn acting_as(stamp: &Stamp, person_id: &str) -> Result<()> {
    match &stamp.authority.person_id {
        Some(me) if me != person_id => Err(ServiceError::Refused(Refusal::Step(format!(
            "you act as {me}, not as {person_id}"
        )))),
        Some(_) => Ok(()),
        None if stamp.authority.is(Capacity::Administrator) => Ok(()),
        None => Err(ServiceError::Refused(Refusal::Step(
            "a step needs a person to act as".into(),
        ))),
    }
}
