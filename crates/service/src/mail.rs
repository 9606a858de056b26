//! What is to be emailed: the notices of requests and incidents that nobody has acknowledged and
//! no mail has carried yet, each with the addresses of whoever is to be told. Sending is the mail
//! crate's business; this module only reads the registers and records what was sent — the
//! notices marked emailed, and the audit-head anchors sent to the governance team.

use std::collections::HashMap;

use steward_model::{
    Incident, Notification, Person, PersonStatus, Record, Register, Request, Role, RoleGrant,
    Value, join_key,
};

use steward_workflow::party_role;

use steward_store::AuditAnchor;

use crate::{Result, ServiceError, Stamp, Steward};

/// Someone a notice is written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    pub person_id: String,
    pub name: String,
    pub email: String,
}

/// The kind of record a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concerns {
    Incident,
    Request,
    /// One of Steward's own notices about a webhook (turned off).
    Webhook,
    /// A notice imported about something no longer (or never) in the registers.
    Other,
}

/// A notice waiting for the mail relay.
#[derive(Debug, Clone)]
pub struct Notice {
    pub notification: Notification,
    /// What it is about, in words: `incident INC-000002 (loss)`.
    pub about: String,
    pub concerns: Concerns,
    /// The team a party of the policies stands for (`it-service-desk` → IT), `None` for a person.
    pub team: Option<Role>,
    /// Everyone to write to: the person named, or every holder of the team's role.
    pub to: Vec<Addressee>,
    /// Why nobody can be written to, when `to` is empty.
    pub unaddressed: Option<String>,
}

impl Steward {
    /// Every notice not yet acknowledged nor emailed, oldest first (by what it is about).
    pub fn mail_due(&self) -> Result<Vec<Notice>> {
        let mut waiting: Vec<Notification> = self
            .list::<Notification>()?
            .into_iter()
            .filter(|n| n.acknowledged_at.is_none() && n.emailed_at.is_none())
            .collect();
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        waiting.sort_by(|a, b| (&a.about, &a.recipient).cmp(&(&b.about, &b.recipient)));
        // Only the people written to are read: the persons named, and the teams' members.
        let grants: Vec<RoleGrant> = self.list()?;
        let mut people: HashMap<String, Option<Person>> = HashMap::new();
        for n in &waiting {
            let ids: Vec<&str> = match party_role(&n.recipient) {
                Some(role) => grants
                    .iter()
                    .filter(|g| g.role == role)
                    .map(|g| g.person_id.as_str())
                    .collect(),
                None => vec![n.recipient.as_str()],
            };
            for id in ids {
                if !people.contains_key(id) {
                    people.insert(id.to_owned(), self.get::<Person>(id)?);
                }
            }
        }
        let mut notices = Vec::with_capacity(waiting.len());
        for notification in waiting {
            let team = party_role(&notification.recipient);
            let (to, unaddressed) = addressees(&notification.recipient, team, &people, &grants);
            let (about, concerns) = self.describe(&notification.about)?;
            notices.push(Notice {
                about,
                concerns,
                notification,
                team,
                to,
                unaddressed,
            });
        }
        Ok(notices)
    }

    /// Records that the notice `about` → `recipient` was handed to the mail relay at `stamp.at`.
    /// Audited like every change. A notice already marked keeps its first time.
    pub fn mark_emailed(
        &self,
        stamp: &Stamp,
        about: &str,
        recipient: &str,
    ) -> Result<Notification> {
        let key = join_key(&[
            Value::Text(about.to_owned()),
            Value::Text(recipient.to_owned()),
        ]);
        let mut notification =
            self.get::<Notification>(&key)?
                .ok_or_else(|| ServiceError::NotFound {
                    register: Register::Notifications,
                    id: format!("{about} to {recipient}"),
                })?;
        if notification.emailed_at.is_none() {
            notification.emailed_at = Some(chrono::SubsecRound::trunc_subsecs(stamp.at, 6));
            self.write_all(stamp, vec![notification.to_row()])?;
        }
        Ok(notification)
    }

    /// Whom an audit-head anchor goes to: every current holder of the governance role who can be
    /// written to (as a notice to the team is addressed), or why nobody can be.
    pub fn anchor_addressees(&self) -> Result<(Vec<Addressee>, Option<String>)> {
        let grants: Vec<RoleGrant> = self.list()?;
        let mut people: HashMap<String, Option<Person>> = HashMap::new();
        for g in grants.iter().filter(|g| g.role == Role::Governance) {
            if !people.contains_key(&g.person_id) {
                people.insert(g.person_id.clone(), self.get::<Person>(&g.person_id)?);
            }
        }
        Ok(addressees(
            "information-governance",
            Some(Role::Governance),
            &people,
            &grants,
        ))
    }

    /// Records an anchor sent (listed, not audited: see the store).
    pub fn record_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()> {
        Ok(self.store.record_audit_anchor(anchor)?)
    }

    /// Every anchor sent, oldest first.
    pub fn audit_anchors(&self) -> Result<Vec<AuditAnchor>> {
        Ok(self.store.audit_anchors()?)
    }

    fn describe(&self, about: &str) -> Result<(String, Concerns)> {
        if let Some(incident) = self.get::<Incident>(about)? {
            return Ok((
                format!("incident {about} ({})", incident.kind),
                Concerns::Incident,
            ));
        }
        if let Some(request) = self.get::<Request>(about)? {
            return Ok((
                format!("request {about} ({})", request.kind),
                Concerns::Request,
            ));
        }
        if let Some(hook) = self.store().webhooks()?.into_iter().find(|h| h.id == about) {
            return Ok((format!("webhook {about} ({})", hook.url), Concerns::Webhook));
        }
        Ok((about.to_owned(), Concerns::Other))
    }
}

fn addressees(
    recipient: &str,
    team: Option<Role>,
    people: &HashMap<String, Option<Person>>,
    grants: &[RoleGrant],
) -> (Vec<Addressee>, Option<String>) {
    let person = |id: &str| people.get(id).and_then(Option::as_ref);
    // Leavers are gone, and someone on extended absence is told on their return (as the
    // policies say of a mailbox opened while they were away): their notices wait.
    let reachable = |p: &Person| -> Option<Addressee> {
        let email = p.email.as_ref()?;
        matches!(p.status, PersonStatus::Starter | PersonStatus::Active).then(|| Addressee {
            person_id: p.id.clone(),
            name: p.name.clone(),
            email: email.clone(),
        })
    };
    match team {
        Some(role) => {
            let mut to: Vec<Addressee> = grants
                .iter()
                .filter(|g| g.role == role)
                .filter_map(|g| person(&g.person_id))
                .filter_map(reachable)
                .collect();
            to.sort_by(|a, b| a.email.cmp(&b.email));
            to.dedup_by(|a, b| a.email == b.email);
            let why = to.is_empty().then(|| {
                format!(
                    "nobody holding the {role} role has an email address in the people register"
                )
            });
            (to, why)
        }
        None => match person(recipient) {
            Some(p) => match reachable(p) {
                Some(a) => (vec![a], None),
                None if p.email.is_none() => (
                    Vec::new(),
                    Some(format!("{recipient} has no email address")),
                ),
                None if p.status == PersonStatus::Absent => (
                    Vec::new(),
                    Some(format!("{recipient} is away; to be told on their return")),
                ),
                None => (Vec::new(), Some(format!("{recipient} has left"))),
            },
            None => (
                Vec::new(),
                Some(format!("{recipient} is not in the people register")),
            ),
        },
    }
}
