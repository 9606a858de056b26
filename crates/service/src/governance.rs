//! The governance registers' own logic: what falls due (records past their retention, recurring
//! tasks, access reviews of information assets, policy reviews), recording a task done or a record
//! destroyed with its log entry, and training expiry from the course's recurrence.

use std::collections::HashMap;

use chrono::{Days, Months, NaiveDate};
use steward_model::{
    AccessReview, Course, Destruction, HeldRecord, InformationAsset, PolicyReview, Record,
    RecurringTask, Register, RetentionRule, Row, TaskCompletion, Value,
};
use steward_store::CommitSummary;

use crate::{FieldProblem, Result, ServiceError, Stamp, Steward};

/// What one governance item is, in the registers' own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    /// A body of records whose retention period has run: dispose of it as the schedule says.
    Disposal,
    /// A recurring task (keypad codes, key safe, building access list, comms room).
    Task,
    /// A periodic review of who has access to an information asset.
    AccessReview,
    /// A review of a policy.
    PolicyReview,
}

impl DueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DueKind::Disposal => "disposal",
            DueKind::Task => "task",
            DueKind::AccessReview => "access_review",
            DueKind::PolicyReview => "policy_review",
        }
    }
}

/// One thing falling due.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Due {
    pub kind: DueKind,
    /// The register and id to act on, as `register show` takes them.
    pub register: &'static str,
    pub id: String,
    /// What it is, in words.
    pub what: String,
    /// The day it falls due; `None` for something never done that has no starting date.
    pub due_on: Option<NaiveDate>,
    /// Who must act, where the register names them.
    pub owner: Option<String>,
    /// What to do, such as the retention schedule's disposal method.
    pub action: String,
}

impl Due {
    /// Past its day (or never done) as of `on`.
    pub fn overdue(&self, on: NaiveDate) -> bool {
        self.due_on.is_none_or(|d| d < on)
    }
}

/// `date` plus a whole number of months, clamped to the month's end (31 Jan + 1 month is 28 or
/// 29 Feb); `None` only for a negative count or a date beyond the calendar.
fn add_months(date: NaiveDate, months: i64) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(u32::try_from(months).ok()?))
}

fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    date.checked_add_days(Days::new(u64::try_from(days).ok()?))
}

/// Everything in `registers` due on or before `until`, soonest (and never done) first.
pub fn due_items(registers: &GovernanceRegisters, until: NaiveDate) -> Vec<Due> {
    let mut due = Vec::new();
    let rules: HashMap<&str, &RetentionRule> = registers
        .retention_schedule
        .iter()
        .map(|r| (r.record_class.as_str(), r))
        .collect();
    for record in &registers.records {
        if record.disposed_on.is_some() {
            continue;
        }
        let (Some(rule), Some(trigger)) =
            (rules.get(record.record_class.as_str()), record.trigger_on)
        else {
            continue;
        };
        let Some(on) = add_months(trigger, rule.period_months) else {
            continue;
        };
        if on <= until {
            due.push(Due {
                kind: DueKind::Disposal,
                register: "record",
                id: record.id.clone(),
                what: format!("{} ({})", record.description, rule.description),
                due_on: Some(on),
                owner: None,
                action: format!(
                    "{} ({} months after {})",
                    rule.disposal, rule.period_months, rule.trigger
                ),
            });
        }
    }
    for task in &registers.tasks {
        let on = task.last_done_on.and_then(|d| add_days(d, task.every_days));
        if on.is_none_or(|d| d <= until) {
            due.push(Due {
                kind: DueKind::Task,
                register: "task",
                id: task.id.clone(),
                what: task.title.clone(),
                due_on: on,
                owner: task.owner_id.clone(),
                action: format!(
                    "do it and record the evidence (every {} days)",
                    task.every_days
                ),
            });
        }
    }
    for asset in &registers.information_assets {
        // The last review is the later of the asset's own date and its review log.
        let logged = registers
            .access_reviews
            .iter()
            .filter(|r| r.asset_id == asset.id)
            .map(|r| r.reviewed_on)
            .max();
        let last = asset.last_reviewed_on.max(logged);
        let on = last.and_then(|d| add_months(d, asset.review_every_months));
        if on.is_none_or(|d| d <= until) {
            due.push(Due {
                kind: DueKind::AccessReview,
                register: "information_asset",
                id: asset.id.clone(),
                what: format!("access to {}", asset.name),
                due_on: on,
                owner: Some(asset.owner_id.clone()),
                action: format!(
                    "review who has access (every {} months)",
                    asset.review_every_months
                ),
            });
        }
    }
    // Only each policy's latest version is reviewed; an earlier version's date is history.
    let mut latest: HashMap<&str, &PolicyReview> = HashMap::new();
    for review in &registers.policy_reviews {
        let slot = latest.entry(review.pack.as_str()).or_insert(review);
        if review.next_review > slot.next_review {
            *slot = review;
        }
    }
    for review in latest.values() {
        if review.next_review <= until {
            due.push(Due {
                kind: DueKind::PolicyReview,
                register: "policy_review",
                id: format!("{}/{}", review.pack, review.version),
                what: format!("{} version {}", review.pack, review.version),
                due_on: Some(review.next_review),
                owner: None,
                action: "review the policy and record the next review date".into(),
            });
        }
    }
    due.sort_by(|a, b| (a.due_on, a.kind, &a.id).cmp(&(b.due_on, b.kind, &b.id)));
    due
}

/// The registers [`due_items`] reads.
#[derive(Debug, Default, Clone)]
pub struct GovernanceRegisters {
    pub retention_schedule: Vec<RetentionRule>,
    pub records: Vec<HeldRecord>,
    pub tasks: Vec<RecurringTask>,
    pub information_assets: Vec<InformationAsset>,
    pub access_reviews: Vec<AccessReview>,
    pub policy_reviews: Vec<PolicyReview>,
}

/// Fills each training row's missing expiry from its course's recurrence (`recur_months`), so
/// that a record entered with only its completion date still lapses when the course says.
/// `recurrence` gives a course's months, `None` for a course that does not recur or is unknown.
pub(crate) fn fill_training_expiry(rows: &mut [Row], recurrence: &dyn Fn(&str) -> Option<i64>) {
    for row in rows.iter_mut() {
        if row.register() != Register::Training || !row.get("expires_on").is_none_or(Value::is_null)
        {
            continue;
        }
        let (Some(Value::Text(course)), Some(Value::Date(done))) =
            (row.get("course"), row.get("completed_on"))
        else {
            continue;
        };
        if let Some(expires) = recurrence(course).and_then(|m| add_months(*done, m)) {
            row.set("expires_on", Value::Date(expires));
        }
    }
}

impl Steward {
    /// Every course's recurrence in months, with `pending` (rows being written in the same
    /// transaction) taking precedence over the stored courses.
    pub(crate) fn course_recurrence<'a>(
        &self,
        pending: impl Iterator<Item = &'a Row>,
    ) -> Result<HashMap<String, i64>> {
        let mut months: HashMap<String, i64> = HashMap::new();
        let stored: Vec<Course> = self.list()?;
        for course in stored {
            if let Some(m) = course.recur_months {
                months.insert(course.id, m);
            }
        }
        for row in pending.filter(|r| r.register() == Register::Courses) {
            let id = row.id().to_owned();
            match row.get("recur_months") {
                Some(Value::Int(m)) => {
                    months.insert(id, *m);
                }
                _ => {
                    months.remove(&id);
                }
            }
        }
        Ok(months)
    }

    /// Derived values a write fills in before it is checked: training expiry from its course.
    /// (An import derives them as each row is read: `import::check_keeping`.)
    pub(crate) fn derive(&self, rows: &mut [Row]) -> Result<()> {
        if !rows.iter().any(|r| r.register() == Register::Training) {
            return Ok(());
        }
        let months = self.course_recurrence(rows.iter())?;
        if !months.is_empty() {
            fill_training_expiry(rows, &|course| months.get(course).copied());
        }
        Ok(())
    }

    /// The governance registers as [`due_items`] reads them.
    pub fn governance_registers(&self) -> Result<GovernanceRegisters> {
        Ok(GovernanceRegisters {
            retention_schedule: self.list()?,
            records: self.list()?,
            tasks: self.list()?,
            information_assets: self.list()?,
            access_reviews: self.list()?,
            policy_reviews: self.list()?,
        })
    }

    /// What falls due on or before `until`.
    pub fn due(&self, until: NaiveDate) -> Result<Vec<Due>> {
        Ok(due_items(&self.governance_registers()?, until))
    }

    /// Records a recurring task done on `on` by `by`, with its evidence: a completion row, and
    /// the task's last-done date and evidence, in one transaction.
    pub fn task_done(
        &self,
        stamp: &Stamp,
        task_id: &str,
        on: NaiveDate,
        by: &str,
        evidence: &str,
    ) -> Result<CommitSummary> {
        stamp.require(
            crate::authority::IT_AND_GOVERNANCE,
            "recording a recurring task done",
        )?;
        let mut task: RecurringTask = self.get(task_id)?.ok_or_else(|| ServiceError::NotFound {
            register: Register::Tasks,
            id: task_id.to_owned(),
        })?;
        self.person(by)?;
        if evidence.trim().is_empty() {
            return Err(ServiceError::Invalid {
                register: Register::TaskCompletions,
                problems: vec![FieldProblem {
                    field: "evidence",
                    value: String::new(),
                    reason: "say what shows the task was done".into(),
                }],
            });
        }
        let completion = TaskCompletion {
            task_id: task_id.to_owned(),
            done_on: on,
            done_by: by.to_owned(),
            evidence: evidence.trim().to_owned(),
        };
        // A completion recorded late does not move the task's date backwards.
        if task.last_done_on.is_none_or(|d| d <= on) {
            task.last_done_on = Some(on);
            task.evidence = Some(completion.evidence.clone());
        }
        self.write_all(stamp, vec![completion.to_row(), task.to_row()])
    }

    /// Records a body of records destroyed (or otherwise disposed of) on `on`, authorised by
    /// `by`, by `method`: the destruction log's entry and the record's disposal date, in one
    /// transaction. Returns the log entry's id.
    pub fn dispose_of_record(
        &self,
        stamp: &Stamp,
        record_id: &str,
        on: NaiveDate,
        by: &str,
        method: &str,
    ) -> Result<(String, CommitSummary)> {
        stamp.require(
            crate::authority::IT_AND_GOVERNANCE,
            "recording records disposed of",
        )?;
        let mut record: HeldRecord =
            self.get(record_id)?.ok_or_else(|| ServiceError::NotFound {
                register: Register::Records,
                id: record_id.to_owned(),
            })?;
        self.person(by)?;
        if let Some(done) = record.disposed_on {
            return Err(ServiceError::Invalid {
                register: Register::Records,
                problems: vec![FieldProblem {
                    field: "disposed_on",
                    value: done.to_string(),
                    reason: "this record was already disposed of".into(),
                }],
            });
        }
        if method.trim().is_empty() {
            return Err(ServiceError::Invalid {
                register: Register::Destructions,
                problems: vec![FieldProblem {
                    field: "method",
                    value: String::new(),
                    reason: "say how it was destroyed (e.g. cross-cut shredding)".into(),
                }],
            });
        }
        record.disposed_on = Some(on);
        self.with_new_id(Register::Destructions, "DES", |id| {
            let entry = Destruction {
                id: id.to_owned(),
                what: record.description.clone(),
                record_id: Some(record_id.to_owned()),
                medium_id: None,
                destroyed_on: on,
                authorised_by: by.to_owned(),
                method: method.trim().to_owned(),
            };
            let summary = self.write_all_creating(
                stamp,
                vec![entry.to_row(), record.to_row()],
                &[(Register::Destructions, id)],
            )?;
            Ok((id.to_owned(), summary))
        })
    }
}
