//! What is to be emailed: the notices of requests and incidents that nobody has acknowledged and
//! no mail has carried yet, each with the addresses of whoever is to be told. Sending is the mail
//! crate's business; this module only reads the registers and records what was sent.

use std::collections::HashMap;

use steward_model::{
    Incident, Notification, Person, PersonStatus, Record, Register, Request, Role, RoleGrant,
    Value, join_key,
};

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
    /// Everyone to write to: the person named, or every holder of the team's role.
    pub to: Vec<Addressee>,
    /// Why nobody can be written to, when `to` is empty.
    pub unaddressed: Option<String>,
}

/// The role whose holders are written to for a party the policies name. The police and security
/// are told by the governance team (as `steward_workflow::acknowledge` allows), so the governance
/// team is who gets the mail.
fn party_role(recipient: &str) -> Option<Role> {
    match recipient {
        "it-service-desk" => Some(Role::It),
        "information-governance" | "police" | "security" => Some(Role::Governance),
        _ => None,
    }
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
        let people: HashMap<String, Person> = self
            .list::<Person>()?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let grants: Vec<RoleGrant> = self.list()?;
        let mut notices = Vec::with_capacity(waiting.len());
        for notification in waiting {
            let (to, unaddressed) = addressees(&notification.recipient, &people, &grants);
            let (about, concerns) = self.describe(&notification.about)?;
            notices.push(Notice {
                about,
                concerns,
                notification,
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
        Ok((about.to_owned(), Concerns::Other))
    }
}

fn addressees(
    recipient: &str,
    people: &HashMap<String, Person>,
    grants: &[RoleGrant],
) -> (Vec<Addressee>, Option<String>) {
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
    match party_role(recipient) {
        Some(role) => {
            let mut to: Vec<Addressee> = grants
                .iter()
                .filter(|g| g.role == role)
                .filter_map(|g| people.get(&g.person_id))
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
        None => match people.get(recipient) {
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
