//! Findings reach people: each escalation step the findings lifecycle records, addressed to
//! whom its control's ladder names, and the weekly digest of what each person must act on (and,
//! for a manager, what their reports must). Sending is the mail crate's business; this module
//! reads the registers and the findings, and records what was sent (`mail_sent`, once each) and
//! each person's choice of the digest (the people register's `weekly_digest`, audited).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use steward_model::{
    Account, Asset, FindingState, Person, PersonStatus, Record, Register, Role, RoleGrant,
    StoredFinding, Subject,
};
use steward_store::{DIGEST_MAIL, ESCALATION_MAIL, FindingEvent, FindingQuery, MailSent};

use crate::mail::Addressee;
use crate::{Result, ServiceError, Stamp, Steward};

/// An escalation step recorded and not yet e-mailed.
#[derive(Debug, Clone)]
pub struct EscalationNotice {
    /// The `escalated` event: its `seq` is what marks it sent.
    pub event: FindingEvent,
    pub finding: StoredFinding,
    /// The step reached (0: past due, told to whoever acts).
    pub step: u32,
    /// Whom the step tells, in the policy's words (`person`, `line_manager`, `it_team`, …).
    pub told: Vec<String>,
    /// The person the finding is about or who holds its subject, if any.
    pub person: Option<Person>,
    pub to: Vec<Addressee>,
    /// Why nobody can be written to, when `to` is empty.
    pub unaddressed: Option<String>,
}

/// One person's weekly digest.
#[derive(Debug, Clone)]
pub struct Digest {
    pub to: Addressee,
    /// What they must act on themselves, most severe and oldest first.
    pub own: Vec<StoredFinding>,
    /// Each report (by id and name) with what is open about them or what they hold.
    pub reports: Vec<(String, String, Vec<StoredFinding>)>,
}

impl Digest {
    pub fn is_empty(&self) -> bool {
        self.own.is_empty() && self.reports.iter().all(|(_, _, f)| f.is_empty())
    }
}

/// The week a digest belongs to: the ISO week of its day, `2026-W47`.
pub fn digest_week(day: NaiveDate) -> String {
    let week = day.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// Whether the weekly digest is due on `day`: on the chosen weekday or later in the same
/// (Monday-first) week, so that a server down on the day sends it when it is back.
pub fn digest_due_on(day: NaiveDate, weekday: Weekday) -> bool {
    day.weekday().num_days_from_monday() >= weekday.num_days_from_monday()
}

/// A weekday by its English name or first three letters, any case.
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    let t = text.trim().to_ascii_lowercase();
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|d| {
        let name = match d {
            Weekday::Mon => "monday",
            Weekday::Tue => "tuesday",
            Weekday::Wed => "wednesday",
            Weekday::Thu => "thursday",
            Weekday::Fri => "friday",
            Weekday::Sat => "saturday",
            Weekday::Sun => "sunday",
        };
        t == name || (t.len() == 3 && name.starts_with(&t))
    })
}

/// The team a word of the policy names, for words that name one.
fn team(word: &str) -> Option<Role> {
    match word {
        "it_team" => Some(Role::It),
        "governance_team" => Some(Role::Governance),
        "iao" => Some(Role::InformationAssetOwner),
        _ => None,
    }
}

/// Leavers are gone and someone away is told on their return; others with an address are
/// written to.
fn reachable(p: &Person) -> Option<Addressee> {
    let email = p.email.as_ref()?;
    matches!(p.status, PersonStatus::Starter | PersonStatus::Active).then(|| Addressee {
        person_id: p.id.clone(),
        name: p.name.clone(),
        email: email.clone(),
    })
}

impl Steward {
    /// The person a finding's subject belongs to: the person, the holder of an asset, the owner
    /// of an account, or the `person_id` of any other record that has one.
    pub fn subject_person(&self, subject: &Subject) -> Result<Option<String>> {
        Ok(match &*subject.kind {
            "person" => Some(subject.id.clone()),
            "asset" => self.get::<Asset>(&subject.id)?.and_then(|a| a.assigned_to),
            "account" => self.get::<Account>(&subject.id)?.and_then(|a| a.person_id),
            other => match Register::parse(other) {
                Some(register) if register.field("person_id").is_some() => {
                    self.store().get(register, &subject.id)?.and_then(|row| {
                        row.get("person_id")
                            .and_then(|v| v.as_text().map(str::to_owned))
                    })
                }
                _ => None,
            },
        })
    }

    /// Every escalation step recorded and not yet e-mailed, oldest first, each with whom it
    /// goes to: the person the finding concerns, their line manager, or every current holder of
    /// the team's role, as the step's words say.
    pub fn escalations_due(&self) -> Result<Vec<EscalationNotice>> {
        let events = self.store().escalations_unmailed()?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let grants: Vec<RoleGrant> = self.list()?;
        let mut notices = Vec::with_capacity(events.len());
        for event in events {
            let Some(finding) = self.finding_by_key(&event.key)? else {
                continue;
            };
            let told: Vec<String> = event.details["to"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|w| w.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let step = event.details["step"]
                .as_u64()
                .and_then(|s| u32::try_from(s).ok())
                .unwrap_or(0);
            let person = match self.subject_person(&finding.finding.subject)? {
                Some(id) => self.get::<Person>(&id)?,
                None => None,
            };
            let mut to = Vec::new();
            let mut why = Vec::new();
            for word in &told {
                let (mut found, reason) = self.addressed(word, person.as_ref(), &grants)?;
                to.append(&mut found);
                why.extend(reason);
            }
            to.sort_by(|a, b| a.email.cmp(&b.email));
            to.dedup_by(|a, b| a.email == b.email);
            let unaddressed = (to.is_empty()).then(|| {
                if why.is_empty() {
                    "the step names nobody Steward can write to".to_owned()
                } else {
                    why.join("; ")
                }
            });
            notices.push(EscalationNotice {
                event,
                finding,
                step,
                told,
                person,
                to,
                unaddressed,
            });
        }
        Ok(notices)
    }

    /// The people a word of the policy names for a finding about `person`, or why none.
    fn addressed(
        &self,
        word: &str,
        person: Option<&Person>,
        grants: &[RoleGrant],
    ) -> Result<(Vec<Addressee>, Option<String>)> {
        if let Some(role) = team(word) {
            let mut to = Vec::new();
            for g in grants.iter().filter(|g| g.role == role) {
                if let Some(a) = self
                    .get::<Person>(&g.person_id)?
                    .as_ref()
                    .and_then(reachable)
                {
                    to.push(a);
                }
            }
            let why = to.is_empty().then(|| {
                format!(
                    "nobody holding the {role} role has an email address in the people register"
                )
            });
            return Ok((to, why));
        }
        let target = match (word, person) {
            (_, None) => {
                return Ok((
                    Vec::new(),
                    Some("the finding concerns nobody in the people register".into()),
                ));
            }
            ("line_manager", Some(p)) => match &p.manager_id {
                Some(m) => self.get::<Person>(m)?,
                None => return Ok((Vec::new(), Some(format!("{} has no line manager", p.id)))),
            },
            (_, Some(p)) => Some(p.clone()),
        };
        Ok(match target {
            Some(p) => match reachable(&p) {
                Some(a) => (vec![a], None),
                None if p.email.is_none() => {
                    (Vec::new(), Some(format!("{} has no email address", p.id)))
                }
                None => (
                    Vec::new(),
                    Some(format!("{} cannot be written to now ({})", p.id, p.status)),
                ),
            },
            None => (
                Vec::new(),
                Some("the line manager is not in the people register".into()),
            ),
        })
    }

    /// Records an escalation step e-mailed to `recipients` at `at`; `false` if it was already.
    pub fn mark_escalation_sent(
        &self,
        seq: i64,
        recipients: &[String],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self.store().record_mail_sent(&MailSent {
            kind: ESCALATION_MAIL.into(),
            key: seq.to_string(),
            sent_at: chrono::SubsecRound::trunc_subsecs(at, 6),
            recipients: recipients.to_vec(),
        })?)
    }

    /// Every person's weekly digest for the week of `day`, less those already sent that week
    /// and those with nothing to report. A person receives one if they can be written to and
    /// have not turned it off (`weekly_digest` = no): what is open and not excepted about them
    /// or what they hold, for them to act on, and for a manager the same of each report.
    /// Findings a team acts on reach the team through the findings page, not the digest.
    pub fn digests_due(&self, day: NaiveDate) -> Result<Vec<Digest>> {
        let week = digest_week(day);
        let sent: std::collections::HashSet<String> = self
            .store()
            .mail_sent(DIGEST_MAIL, week_start(day))?
            .into_iter()
            .filter_map(|m| m.key.strip_prefix(&format!("{week}/")).map(str::to_owned))
            .collect();
        let people: BTreeMap<String, Person> = self
            .list::<Person>()?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let holder: HashMap<String, String> = self
            .list::<Asset>()?
            .into_iter()
            .filter_map(|a| a.assigned_to.map(|h| (a.tag, h)))
            .collect();
        let findings = self.findings(&FindingQuery {
            states: vec![FindingState::Open, FindingState::Escalated],
            without_text: true,
            ..FindingQuery::default()
        })?;
        // Whose each finding is, as My page counts them: about the person or what they hold.
        let mut about: BTreeMap<String, Vec<StoredFinding>> = BTreeMap::new();
        for f in findings {
            let owner = match &*f.finding.subject.kind {
                "person" => Some(f.finding.subject.id.clone()),
                "asset" => holder.get(&f.finding.subject.id).cloned(),
                _ => None,
            };
            if let Some(owner) = owner
                && matches!(&*f.finding.who_acts, "person" | "line_manager")
            {
                about.entry(owner).or_default().push(f);
            }
        }
        let mut digests = Vec::new();
        for person in people.values() {
            if person.weekly_digest == Some(false) || sent.contains(&person.id) {
                continue;
            }
            let Some(to) = reachable(person) else {
                continue;
            };
            let mut own: Vec<StoredFinding> = about
                .get(&person.id)
                .map(|fs| {
                    fs.iter()
                        .filter(|f| &*f.finding.who_acts == "person")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut reports = Vec::new();
            for report in people
                .values()
                .filter(|p| p.manager_id.as_deref() == Some(person.id.as_str()))
                .filter(|p| p.status != PersonStatus::Leaver)
            {
                let items = about.get(&report.id).cloned().unwrap_or_default();
                // What the line manager must do themselves is theirs, not only the report's.
                own.extend(
                    items
                        .iter()
                        .filter(|f| &*f.finding.who_acts == "line_manager")
                        .cloned(),
                );
                if !items.is_empty() {
                    reports.push((report.id.clone(), report.name.clone(), items));
                }
            }
            let digest = Digest { to, own, reports };
            if !digest.is_empty() {
                digests.push(digest);
            }
        }
        Ok(digests)
    }

    /// Records one person's digest of the week of `day` as sent; `false` if it was already.
    pub fn mark_digest_sent(
        &self,
        day: NaiveDate,
        person_id: &str,
        recipients: &[String],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self.store().record_mail_sent(&MailSent {
            kind: DIGEST_MAIL.into(),
            key: format!("{}/{person_id}", digest_week(day)),
            sent_at: chrono::SubsecRound::trunc_subsecs(at, 6),
            recipients: recipients.to_vec(),
        })?)
    }

    /// Turns a person's weekly digest on or off: their own choice (or the command line's),
    /// audited as a change to their record. Escalations are not theirs to turn off.
    pub fn set_weekly_digest(&self, stamp: &Stamp, person_id: &str, on: bool) -> Result<Person> {
        crate::workflow::acting_as(stamp, person_id)?;
        let mut person = self
            .get::<Person>(person_id)?
            .ok_or_else(|| ServiceError::NotFound {
                register: Register::People,
                id: person_id.to_owned(),
            })?;
        if person.weekly_digest != Some(on) {
            person.weekly_digest = Some(on);
            self.write_all(stamp, vec![person.to_row()])?;
        }
        Ok(person)
    }
}

/// The Monday a week begins, at midnight UTC, less a day: every digest of the week was recorded
/// after it, whatever the time zone.
fn week_start(day: NaiveDate) -> DateTime<Utc> {
    let monday = day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()) + 1);
    monday.and_time(chrono::NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn the_digest_is_due_from_its_weekday_to_the_end_of_that_week() {
        // Wednesday 18 November 2026, in ISO week 47.
        assert_eq!(digest_week(day("2026-11-18")), "2026-W47");
        assert_eq!(digest_week(day("2027-01-01")), "2026-W53");
        assert!(digest_due_on(day("2026-11-18"), Weekday::Mon));
        assert!(digest_due_on(day("2026-11-18"), Weekday::Wed));
        assert!(!digest_due_on(day("2026-11-18"), Weekday::Thu));
        assert!(!digest_due_on(day("2026-11-16"), Weekday::Sun));
        assert!(
            week_start(day("2026-11-18"))
                <= day("2026-11-16")
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
        );
        assert_eq!(parse_weekday("Monday"), Some(Weekday::Mon));
        assert_eq!(parse_weekday("fri"), Some(Weekday::Fri));
        assert_eq!(parse_weekday("fr"), None);
        assert_eq!(parse_weekday("someday"), None);
    }
}
