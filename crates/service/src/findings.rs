//! Findings: recording a check run against the exceptions register, and reading findings where
//! they stand and how they got there. The lifecycle itself (open, escalated, resolved, excepted)
//! is the store's, kept in one transaction with its history and audit records.

use std::collections::HashMap;

use chrono::SubsecRound;

use steward_model::{
    Exception, Finding, FindingState, Record, Register, StoredFinding, Subject, Value,
};
use steward_store::{ExceptionCover, FindingEvent, FindingQuery, FindingsSummary};

use crate::{CommitSummary, Result, ServiceError, Stamp, Steward};

impl Steward {
    /// Records one check run of `packs` at the stamp's time: what it found failing opens,
    /// stays, changes or reopens; what it no longer finds in these packs resolves; a failure
    /// covered by an unexpired exception of the exceptions register is excepted, and returns to
    /// open once the exception expires. Findings of packs not in `packs` are left alone.
    ///
    /// The register is read just before the run is recorded, outside its transaction: an
    /// exception granted in between counts from the next run. `ladders` are the controls'
    /// escalation ladders ([`crate::checks::ladders`]).
    pub fn record_findings(
        &self,
        stamp: &Stamp,
        packs: &[String],
        findings: Vec<Finding>,
        ladders: &steward_store::Ladders,
    ) -> Result<FindingsSummary> {
        may_record(stamp)?;
        for finding in &findings {
            check(finding)?;
        }
        let covers = self.exception_covers(packs)?;
        let summary = self.store.record_findings(
            &stamp.actor,
            stamp.at,
            packs,
            findings,
            &covers,
            ladders,
        )?;
        log_summary(packs, &summary);
        Ok(summary)
    }

    /// What the exceptions register covers, among these packs' findings.
    pub(crate) fn exception_covers(&self, packs: &[String]) -> Result<Vec<ExceptionCover>> {
        Ok(self
            .list::<Exception>()?
            .iter()
            .filter(|e| packs.contains(&e.pack))
            .map(ExceptionCover::from)
            .collect())
    }

    /// Stored findings matching `query` (by default every one still failing), most severe first.
    pub fn findings(&self, query: &FindingQuery) -> Result<Vec<StoredFinding>> {
        Ok(self.store.findings(query)?)
    }

    /// The open findings about a person and about the equipment they hold, most severe and
    /// oldest first, in two reads: what is theirs to see and act on.
    pub fn findings_about(&self, person_id: &str) -> Result<Vec<StoredFinding>> {
        let held: Vec<steward_model::Asset> = self.list_where("assigned_to", person_id)?;
        self.findings_of(person_id, &held)
    }

    /// [`Steward::findings_about`] with what the person holds already read.
    pub fn findings_of(
        &self,
        person_id: &str,
        held: &[steward_model::Asset],
    ) -> Result<Vec<StoredFinding>> {
        let subjects = self
            .subjects_of(&[person_id.to_owned()], held)?
            .into_iter()
            .map(|(subject, _)| subject)
            .collect();
        self.findings(&FindingQuery {
            subjects,
            ..FindingQuery::default()
        })
    }

    /// What findings may be about that is these people's own, each with whose it is: each
    /// person, what they hold (`held`, already read), their accounts, trips and removable media,
    /// and their devices' monthly usage and sightings. A few indexed reads, however many people.
    pub fn subjects_of(
        &self,
        people: &[String],
        held: &[steward_model::Asset],
    ) -> Result<Vec<(Subject, String)>> {
        let subject = |kind: &str, id: &str| Subject {
            kind: kind.to_owned().into(),
            id: id.to_owned(),
        };
        let mut out: Vec<(Subject, String)> = people
            .iter()
            .map(|p| (subject("person", p), p.clone()))
            .collect();
        let mut holder: HashMap<String, String> = HashMap::new();
        for asset in held {
            if let Some(who) = &asset.assigned_to {
                out.push((subject("asset", &asset.tag), who.clone()));
                holder.insert(asset.tag.clone(), who.clone());
            }
        }
        // Whose each row is: the person it names, or the holder of the device it is about.
        for (register, kind, field) in OWNED_BY_PERSON {
            for row in self.store.list_where_any(register, field, people)? {
                if let Some(who) = row.get(field).and_then(Value::as_text) {
                    out.push((subject(kind, row.id()), who.to_owned()));
                }
            }
        }
        let tags: Vec<String> = holder.keys().cloned().collect();
        for (register, kind) in OWNED_BY_DEVICE {
            for row in self.store.list_where_any(register, "asset_tag", &tags)? {
                let who = row
                    .get("asset_tag")
                    .and_then(Value::as_text)
                    .and_then(|tag| holder.get(tag));
                if let Some(who) = who {
                    out.push((subject(kind, row.id()), who.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Whose a finding's subject is (the person it is about, or who holds, owns or made it), by
    /// the same rule as [`Steward::subjects_of`]; `None` for a subject no one person owns.
    pub fn whose(&self, kind: &str, id: &str) -> Result<Option<String>> {
        let field_of = |register: Register, id: &str, field: &str| -> Result<Option<String>> {
            Ok(self
                .store
                .get(register, id)?
                .and_then(|row| row.get(field).and_then(Value::as_text).map(str::to_owned)))
        };
        if kind == "person" {
            return Ok(Some(id.to_owned()));
        }
        if kind == "asset" {
            return field_of(Register::Assets, id, "assigned_to");
        }
        if let Some((register, _, field)) = OWNED_BY_PERSON.iter().find(|(_, k, _)| *k == kind) {
            return field_of(*register, id, field);
        }
        if let Some((register, _)) = OWNED_BY_DEVICE.iter().find(|(_, k)| *k == kind) {
            return match field_of(*register, id, "asset_tag")? {
                Some(tag) => field_of(Register::Assets, &tag, "assigned_to"),
                None => Ok(None),
            };
        }
        Ok(None)
    }

    /// One stored finding by its key (`pack/control/subject type/subject id`).
    pub fn finding_by_key(&self, key: &str) -> Result<Option<StoredFinding>> {
        let mut parts = key.splitn(4, '/');
        let (Some(pack), Some(control), Some(kind), Some(id)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        Ok(self
            .findings(&FindingQuery {
                pack: Some(pack.to_owned()),
                control: Some(control.to_owned()),
                subject_type: Some(kind.to_owned()),
                subject_id: Some(id.to_owned()),
                states: FindingState::ALL.to_vec(),
                ..FindingQuery::default()
            })?
            .into_iter()
            .find(|f| f.finding.key() == key))
    }

    /// How many findings a query matches, whatever its limit.
    pub fn count_findings(&self, query: &FindingQuery) -> Result<u64> {
        Ok(self.store.count_findings(query)?)
    }

    /// Every finding tallied by pack, clause, control, severity, state and day.
    pub fn finding_tallies(&self) -> Result<Vec<steward_store::FindingTally>> {
        Ok(self.store.finding_tallies()?)
    }

    /// Every event of one finding (by `Finding::key`), oldest first; empty for an unknown key.
    pub fn finding_history(&self, key: &str) -> Result<Vec<FindingEvent>> {
        Ok(self.store.finding_history(key)?)
    }
}

/// Registers whose rows are a person's own, by the field naming them: (register, subject kind,
/// field).
const OWNED_BY_PERSON: [(Register, &str, &str); 3] = [
    (Register::Accounts, "account", "person_id"),
    (Register::Travel, "travel", "person_id"),
    (Register::RemovableMedia, "removable_medium", "holder_id"),
];

/// Registers whose rows are about a device, and so its holder's: (register, subject kind).
const OWNED_BY_DEVICE: [(Register, &str); 2] = [
    (Register::Usage, "usage"),
    (Register::Sightings, "sighting"),
];

/// The words a finding must use, so that it orders and routes as the model says.
/// Findings change state only through a check run, which IT and governance may make.
pub(crate) fn may_record(stamp: &Stamp) -> Result<()> {
    stamp.require(crate::authority::IT_AND_GOVERNANCE, "running the checks")?;
    Ok(())
}

pub(crate) fn log_summary(packs: &[String], summary: &FindingsSummary) {
    tracing::info!(
        packs = packs.join(","),
        opened = summary.opened,
        reopened = summary.reopened,
        resolved = summary.resolved,
        unchanged = summary.unchanged,
        "findings recorded"
    );
}

pub(crate) fn check(finding: &Finding) -> Result<()> {
    let invalid = |reason: String| ServiceError::InvalidFinding {
        key: finding.key(),
        reason,
    };
    if !Finding::SEVERITIES.contains(&&*finding.severity) {
        return Err(invalid(format!(
            "severity {:?} is none of {}",
            finding.severity,
            Finding::SEVERITIES.join(", ")
        )));
    }
    if !Finding::WHO_ACTS.contains(&&*finding.who_acts) {
        return Err(invalid(format!(
            "who acts {:?} is none of {}",
            finding.who_acts,
            Finding::WHO_ACTS.join(", ")
        )));
    }
    Ok(())
}

/// Who is told when someone asks for an exception: the party the policies name for information
/// governance (every holder of the governance role).
pub const EXCEPTION_ASKED_OF: &str = "information-governance";

impl Steward {
    /// `person_id` asks for an exception to the finding `key`, which must be theirs (by
    /// [`Steward::whose`]) and still failing, giving a reason. The governance team is told (a
    /// notice in the notifications register, e-mailed like any other and shown on the finding's
    /// page), and decides: granting the exception settles the notice. Asking again replaces the
    /// reason.
    pub fn ask_for_exception(
        &self,
        stamp: &Stamp,
        person_id: &str,
        key: &str,
        reason: &str,
    ) -> Result<()> {
        crate::workflow::acting_as(stamp, person_id)?;
        let refused = |why: &str| ServiceError::Refused(crate::Refusal::Step(why.to_owned()));
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::Invalid {
                register: Register::Notifications,
                problems: vec![crate::FieldProblem {
                    field: "reason",
                    value: String::new(),
                    reason: "say why an exception is right".into(),
                }],
            });
        }
        let Some(stored) = self.finding_by_key(key)? else {
            return Err(ServiceError::NotFound {
                register: Register::Exceptions,
                id: key.to_owned(),
            });
        };
        let subject = &stored.finding.subject;
        if self.whose(&subject.kind, &subject.id)?.as_deref() != Some(person_id) {
            return Err(refused(
                "only the person a finding is about may ask for its exception",
            ));
        }
        if !matches!(stored.state, FindingState::Open | FindingState::Escalated) {
            return Err(refused(
                "this finding is not failing: there is nothing to except",
            ));
        }
        let name = self
            .get::<steward_model::Person>(person_id)?
            .map_or_else(|| person_id.to_owned(), |p| p.name);
        let notice = steward_model::Notification {
            about: key.to_owned(),
            recipient: EXCEPTION_ASKED_OF.to_owned(),
            reason: format!("{name} ({person_id}) asks for an exception: {reason}"),
            due_at: None,
            acknowledged_at: None,
            acknowledged_by: None,
            emailed_at: None,
        };
        self.write_all(stamp, vec![notice.to_row()])?;
        Ok(())
    }

    /// Grants `exception` for the finding `key` and, in the same transaction, settles every ask
    /// for it (marked read by the granter), so that whoever asked has their answer.
    pub fn grant_exception(
        &self,
        stamp: &Stamp,
        key: &str,
        exception: &Exception,
    ) -> Result<CommitSummary> {
        let row = exception.to_row();
        self.authorise_row(stamp, &row, crate::Operation::Create)?;
        let by = stamp.authority.person_id.clone();
        // Stored to the microsecond, as every instant is.
        let at = stamp.at.trunc_subsecs(6);
        let mut rows = vec![row];
        rows.extend(
            self.exception_asks(key)?
                .into_iter()
                .filter(|n| n.acknowledged_at.is_none())
                .map(|mut n| {
                    n.acknowledged_at = Some(at);
                    n.acknowledged_by = by.clone();
                    n.to_row()
                }),
        );
        self.write_all_creating(
            stamp,
            rows,
            &[(Register::Exceptions, exception.id.as_str())],
        )
    }

    /// The exceptions asked for a finding, settled or not, in the order asked.
    pub fn exception_asks(&self, key: &str) -> Result<Vec<steward_model::Notification>> {
        Ok(self
            .list_where::<steward_model::Notification>("about", key)?
            .into_iter()
            .filter(|n| n.recipient == EXCEPTION_ASKED_OF)
            .collect())
    }
}

#[cfg(test)]
mod tests {

    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use steward_model::{Person, PersonStatus, Subject, SubjectType};
    use steward_store::FindingEventKind;
    use steward_store::testing::databases;

    use super::*;

    fn stamp(day: u32) -> Stamp {
        Stamp::at(
            "check",
            Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }

    fn at(day: u32) -> DateTime<Utc> {
        stamp(day).at
    }

    fn laptop_unencrypted() -> Finding {
        Finding {
            pack: "cafcass-it-5.0".into(),
            version: "5.0".into(),
            clause: "2.6(v)".into(),
            control: "laptop-encrypted".into(),
            subject: Subject {
                kind: "asset".into(),
                id: "LT1".into(),
            },
            severity: "high".into(),
            message: "LT1 is not encrypted".into(),
            message_you: None,
            clause_text: "Laptops must be encrypted.".into(),
            evidence: steward_model::Evidence::from([("asset.encrypted", "false".to_owned())]),
            who_acts: "it_team".into(),
            due: None,
            undecided: None,
        }
    }

    #[test]
    fn the_exceptions_register_excepts_findings_until_it_expires() {
        for db in databases("service_findings") {
            let steward = Steward::open(&db.url).unwrap();
            let packs = vec!["cafcass-it-5.0".to_owned()];
            steward
                .create(
                    &stamp(1),
                    &Person {
                        id: "P1".into(),
                        name: "Ada".into(),
                        email: None,
                        staff_group: "fca".into(),
                        manager_id: None,
                        budget_centre: None,
                        status: PersonStatus::Active,
                        start_date: None,
                        leave_date: None,
                        clearance: None,
                        clearance_expires: None,
                        byod: None,
                        weekly_digest: None,
                        job_title: None,
                        source: None,
                        source_seen: None,
                        missing_since: None,
                    },
                )
                .unwrap();
            let s = steward
                .record_findings(
                    &stamp(1),
                    &packs,
                    vec![laptop_unencrypted()],
                    &Default::default(),
                )
                .unwrap();
            assert_eq!(s.opened, 1, "{}", db.backend);

            steward
                .create(
                    &stamp(2),
                    &Exception {
                        id: "EX1".into(),
                        pack: "cafcass-it-5.0".into(),
                        clause: "2.6(v)".into(),
                        subject_type: SubjectType::Asset,
                        subject_id: "LT1".into(),
                        reason: "Encryption breaks the screen reader; replacement ordered".into(),
                        granted_by: "P1".into(),
                        granted_on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                        expires_on: NaiveDate::from_ymd_opt(2026, 11, 9),
                    },
                )
                .unwrap();
            let s = steward
                .record_findings(
                    &stamp(3),
                    &packs,
                    vec![laptop_unencrypted()],
                    &Default::default(),
                )
                .unwrap();
            assert_eq!(s.excepted, 1, "{}", db.backend);
            let excepted = steward.findings(&FindingQuery::default()).unwrap();
            assert_eq!(excepted.len(), 1);
            assert_eq!(excepted[0].state, FindingState::Excepted);
            assert_eq!(excepted[0].exception.as_deref(), Some("EX1"));

            // The 9th is its last day; on the 10th it has expired.
            let s = steward
                .record_findings(
                    &stamp(9),
                    &packs,
                    vec![laptop_unencrypted()],
                    &Default::default(),
                )
                .unwrap();
            assert_eq!(s.unchanged, 1, "{}", db.backend);
            let s = steward
                .record_findings(
                    &stamp(10),
                    &packs,
                    vec![laptop_unencrypted()],
                    &Default::default(),
                )
                .unwrap();
            assert_eq!(s.exception_expired, 1, "{}", db.backend);
            let now = steward.findings(&FindingQuery::default()).unwrap();
            assert_eq!(
                (now[0].state, now[0].first_failing),
                (FindingState::Open, at(1))
            );
            let history: Vec<_> = steward
                .finding_history(&laptop_unencrypted().key())
                .unwrap()
                .into_iter()
                .map(|e| (e.event, e.at))
                .collect();
            assert_eq!(
                history,
                [
                    (FindingEventKind::Opened, at(1)),
                    (FindingEventKind::Excepted, at(3)),
                    (FindingEventKind::ExceptionExpired, at(10)),
                ],
                "{}",
                db.backend
            );
            assert!(steward.verify_audit().unwrap().is_ok());
        }
    }

    #[test]
    fn findings_with_unknown_words_are_refused() {
        for db in databases("service_findings_bad") {
            let steward = Steward::open(&db.url).unwrap();
            let packs = vec!["cafcass-it-5.0".to_owned()];
            let mut bad = laptop_unencrypted();
            bad.severity = "urgent".into();
            let err = steward
                .record_findings(&stamp(1), &packs, vec![bad], &Default::default())
                .unwrap_err();
            assert!(err.to_string().contains("severity \"urgent\""), "{err}");
            let mut bad = laptop_unencrypted();
            bad.who_acts = "everyone".into();
            let err = steward
                .record_findings(&stamp(1), &packs, vec![bad], &Default::default())
                .unwrap_err();
            assert!(err.to_string().contains("who acts \"everyone\""), "{err}");
            assert!(
                steward
                    .findings(&FindingQuery::default())
                    .unwrap()
                    .is_empty()
            );
        }
    }
}
