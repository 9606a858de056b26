//! One delivery run: every notice waiting, written as a message and handed to the mail server
//! over one session (lettre's pool of one connection); each one the server takes is marked as
//! emailed (audited), so the next run does not send it again. A notice nobody can be written to,
//! or one the server refuses, stays waiting and is reported.

use chrono::{DateTime, Utc};
use steward_service::{Concerns, Notice, Stamp, Steward};

use crate::message::{Mailbox, Message};
use crate::smtp::Relay;
use crate::{MailError, Result};

/// Who the mail comes from, and where readers can act on it.
#[derive(Debug, Clone)]
pub struct Sender {
    pub from: Mailbox,
    /// The address people reach Steward's web pages at, for links in messages.
    pub public_url: Option<String>,
    /// Who the audit log names as marking the notices sent.
    pub actor: String,
}

/// A notice, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub about: String,
    pub recipient: String,
    /// The addresses written to, or why it was not sent.
    pub detail: String,
}

impl Outcome {
    fn of(notice: &Notice, detail: String) -> Outcome {
        Outcome {
            about: notice.notification.about.clone(),
            recipient: notice.notification.recipient.clone(),
            detail,
        }
    }
}

/// What one run did.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Another server (or `steward mail send`) was sending; this run did nothing.
    pub busy: bool,
    pub sent: Vec<Outcome>,
    /// Nobody to write to (no address, or the person has left); left waiting.
    pub unaddressed: Vec<Outcome>,
    /// The relay refused them, or stopped answering; left waiting for the next run.
    pub failed: Vec<Outcome>,
}

/// The lease a run holds, so that of several servers sharing a database one sends at a time.
const LEASE: &str = "mail";
/// How long a run holds the lease before it must renew it (which it does every few minutes); a
/// run that died lets it lapse.
const LEASE_FOR: chrono::Duration = chrono::Duration::minutes(15);
const RENEW_AFTER: chrono::Duration = chrono::Duration::minutes(5);

/// Holds a lease until dropped.
pub(crate) struct Held<'a> {
    steward: &'a Steward,
    name: &'static str,
    pub(crate) holder: String,
}

impl<'a> Held<'a> {
    /// The lease `name` for `actor` in this process, or `None` while someone else holds it.
    pub(crate) fn take(
        steward: &'a Steward,
        name: &'static str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Held<'a>>> {
        let holder = format!(
            "{actor}:{}:{}",
            std::process::id(),
            now.timestamp_nanos_opt().unwrap_or_default()
        );
        if steward
            .store()
            .take_lease(name, &holder, now, now + LEASE_FOR)
            .map_err(steward_service::ServiceError::from)?
        {
            Ok(Some(Held {
                steward,
                name,
                holder,
            }))
        } else {
            Ok(None)
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.steward.store().release_lease(self.name, &self.holder) {
            // It lapses by itself; the next run only waits for that.
            tracing::warn!(lease = self.name, "cannot release the lease: {e}");
        }
    }
}

/// The mailboxes of those written to; an address Steward will not send to is left out, and
/// logged.
pub(crate) fn mailboxes(to: &[steward_service::Addressee]) -> Vec<Mailbox> {
    to.iter()
        .filter_map(|a| match Mailbox::new(Some(&a.name), &a.email) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(person = %a.person_id, "not writing to {}: {e}", a.email);
                None
            }
        })
        .collect()
}

/// Sends every waiting notice through `relay`. Connects only when there is something to send;
/// does nothing (`busy`) while another run, here or on another server, is sending.
pub fn deliver(steward: &Steward, relay: &Relay, sender: &Sender) -> Result<Delivery> {
    let mut delivery = Delivery::default();
    let now = Utc::now();
    let Some(held) = Held::take(steward, LEASE, &sender.actor, now)? else {
        delivery.busy = true;
        return Ok(delivery);
    };
    let mut renewed = now;
    let mut ready = Vec::new();
    for notice in steward.mail_due()? {
        let outcome = |detail: String| Outcome::of(&notice, detail);
        let to = mailboxes(&notice.to);
        if to.is_empty() {
            let why = notice
                .unaddressed
                .clone()
                .unwrap_or_else(|| "no address of theirs is one Steward will send to".to_owned());
            delivery.unaddressed.push(outcome(why));
        } else {
            ready.push((notice, to));
        }
    }
    if ready.is_empty() {
        return Ok(delivery);
    }
    let organisation = steward.organisation()?;
    let zone: chrono_tz::Tz = organisation.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let mut session = relay.connect()?;
    let mut stopped: Option<String> = None;
    for (notice, to) in ready {
        let outcome = |detail: String| Outcome::of(&notice, detail);
        let now = Utc::now();
        if stopped.is_none() && now - renewed > RENEW_AFTER {
            match steward
                .store()
                .take_lease(LEASE, &held.holder, now, now + LEASE_FOR)
            {
                Ok(true) => renewed = now,
                Ok(false) => stopped = Some("another run took over the mail lease".into()),
                Err(e) => stopped = Some(format!("cannot renew the mail lease: {e}")),
            }
        }
        if let Some(why) = &stopped {
            delivery.failed.push(outcome(format!("not tried: {why}")));
            continue;
        }
        let message = compose(&notice, to, sender, &organisation.name, zone, now);
        let addresses: Vec<String> = message.to.iter().map(|m| m.address.clone()).collect();
        match session.send(&sender.from.address, &addresses, &message.render()) {
            Ok(()) => {
                steward.mark_emailed(
                    &Stamp::at(sender.actor.clone(), now),
                    &notice.notification.about,
                    &notice.notification.recipient,
                )?;
                delivery.sent.push(outcome(addresses.join(", ")));
            }
            Err(e @ (MailError::Refused { .. } | MailError::BadAddress { .. })) => {
                delivery.failed.push(outcome(e.to_string()));
            }
            Err(e) => {
                let why = e.to_string();
                delivery.failed.push(outcome(why.clone()));
                stopped = Some(why);
            }
        }
    }
    if stopped.is_none() {
        session.quit();
    }
    Ok(delivery)
}

/// The message for one notice.
pub fn compose(
    notice: &Notice,
    to: Vec<Mailbox>,
    sender: &Sender,
    organisation: &str,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Message {
    let n = &notice.notification;
    let greeting = match n.recipient.as_str() {
        "it-service-desk" => "To the IT service desk,".to_owned(),
        "information-governance" => "To the information governance team,".to_owned(),
        "human-resources" => "To HR,".to_owned(),
        "senior-management" => "To senior management,".to_owned(),
        "information-asset-owners" => "To the information asset owners,".to_owned(),
        "administrators" => "To Steward's administrators,".to_owned(),
        "police" => "To the information governance team (the police are to be told),".to_owned(),
        "security" => "To the information governance team (security are to be told),".to_owned(),
        _ => match to.as_slice() {
            [one] => format!("Dear {},", one.name.as_deref().unwrap_or(&one.address)),
            _ => "Hello,".to_owned(),
        },
    };
    let mut body = format!(
        "{greeting}\n\nYou are to be told about {}, under {organisation}'s IT policy:\n\n    {}\n",
        notice.about,
        n.reason.replace('\n', "\n    ")
    );
    if let Some(due) = n.due_at {
        body.push_str(&format!(
            "\nThis is due by {} ({zone}).\n",
            due.with_timezone(&zone).format("%a %-d %b %Y %H:%M")
        ));
    }
    // A team acknowledges on the incident's or request's page; a person on their own.
    let page = match (notice.team, notice.concerns) {
        (Some(_), Concerns::Incident) => format!("/incidents/{}", n.about),
        (Some(_), Concerns::Request) => format!("/requests/{}", n.about),
        (_, Concerns::Webhook) => "/admin/webhooks".to_owned(),
        _ => "/me".to_owned(),
    };
    match &sender.public_url {
        Some(url) => body.push_str(&format!(
            "\nPlease acknowledge it in Steward once it is in hand:\n{}{page}\n",
            url.trim_end_matches('/')
        )),
        None => body.push_str("\nPlease acknowledge it in Steward once it is in hand.\n"),
    }
    body.push_str(&format!(
        "\n-- \nSteward, for {organisation}. This message was sent automatically; replies are not read.\n"
    ));
    let reason: String = n.reason.chars().take(100).collect();
    let ellipsis = if n.reason.chars().count() > 100 {
        "…"
    } else {
        ""
    };
    Message {
        from: sender.from.clone(),
        to,
        subject: format!("[Steward] {}: {reason}{ellipsis}", notice.about),
        body,
        date: now,
        id: format!("{}.{}.{}", n.about, n.recipient, now.timestamp_micros()),
    }
}
