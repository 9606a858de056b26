//! The audit-head anchor: once a day (and on demand) the audit log's head — its last sequence
//! number and hash — is emailed to every current holder of the governance role, so that a copy
//! lives where nobody with the database can reach it. Kept, it lets anyone prove later that the
//! log still holds everything it held then (`steward audit verify --expect SEQ:HASH`). Each
//! anchor sent is recorded and listed (`steward audit anchors`).
//!
//! The head is taken only from a chain that verifies: an anchor of a broken log would vouch for
//! it. A run holds the database lease `audit-anchor`, so of several servers one sends the day's
//! anchor.

use chrono::{DateTime, SubsecRound, Utc};
use steward_service::Steward;
use steward_store::AuditAnchor;

use crate::deliver::{Held, Sender};
use crate::message::{Mailbox, Message};
use crate::smtp::Relay;
use crate::{MailError, Result};

const LEASE: &str = "audit-anchor";

/// The anchor as it stands now.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
    /// The governance team, as written to.
    pub to: Vec<Mailbox>,
    /// Why nobody can be written to, when `to` is empty.
    pub unaddressed: Option<String>,
}

/// What one anchor run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorRun {
    /// Another run, here or on another server, is sending one now.
    Busy,
    /// Today's anchor has gone already.
    NotDue(AuditAnchor),
    /// Nobody to send it to; nothing was sent.
    Unaddressed(String),
    Sent(AuditAnchor),
}

/// The verified head of the audit log and whom its anchor goes to. A log whose chain does not
/// verify is [`MailError::BrokenLog`].
pub fn current(steward: &Steward) -> Result<Anchor> {
    let head = steward
        .verify_audit()?
        .map_err(|b| MailError::BrokenLog(b.to_string()))?;
    let (addressees, mut unaddressed) = steward.anchor_addressees()?;
    let to: Vec<Mailbox> = addressees
        .iter()
        .filter_map(|a| match Mailbox::new(Some(&a.name), &a.email) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(person = %a.person_id, "not sending the anchor to {}: {e}", a.email);
                None
            }
        })
        .collect();
    if to.is_empty() && unaddressed.is_none() {
        unaddressed =
            Some("no address of the governance team's is one Steward will send to".to_owned());
    }
    Ok(Anchor {
        seq: head.seq,
        hash: head.hash,
        to,
        unaddressed,
    })
}

/// Sends the anchor through `relay` unless one went out earlier the same day (in the
/// organisation's time zone); `force` sends it whatever the day's record.
pub fn send_anchor(
    steward: &Steward,
    relay: &Relay,
    sender: &Sender,
    force: bool,
) -> Result<AnchorRun> {
    let now = Utc::now();
    let Some(_held) = Held::take(steward, LEASE, &sender.actor, now)? else {
        return Ok(AnchorRun::Busy);
    };
    let organisation = steward.organisation()?;
    let zone: chrono_tz::Tz = organisation.time_zone.parse().unwrap_or(chrono_tz::UTC);
    // Read under the lease, so two servers cannot both find the day without one.
    if !force
        && let Some(last) = steward.audit_anchors()?.pop()
        && last.sent_at.with_timezone(&zone).date_naive() == now.with_timezone(&zone).date_naive()
    {
        return Ok(AnchorRun::NotDue(last));
    }
    let anchor = current(steward)?;
    if let Some(why) = anchor.unaddressed {
        return Ok(AnchorRun::Unaddressed(why));
    }
    let message = compose(&anchor, sender, &organisation.name, zone, now);
    let addresses: Vec<String> = message.to.iter().map(|m| m.address.clone()).collect();
    let mut session = relay.connect()?;
    session.send(&sender.from.address, &addresses, &message.render())?;
    session.quit();
    let sent = AuditAnchor {
        seq: anchor.seq,
        hash: anchor.hash,
        sent_at: now.trunc_subsecs(6),
        recipients: addresses,
    };
    steward.record_audit_anchor(&sent)?;
    Ok(AnchorRun::Sent(sent))
}

/// The anchor message: the head, what to do with it, and how to check it.
pub fn compose(
    anchor: &Anchor,
    sender: &Sender,
    organisation: &str,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Message {
    let local = now.with_timezone(&zone);
    let (seq, hash) = (anchor.seq, &anchor.hash);
    let body = format!(
        "To the information governance team,\n\
         \n\
         This is the daily anchor of {organisation}'s audit log in Steward. At {} ({zone}) the log\n\
         ended at\n\
         \n\
         \x20   record {seq}\n\
         \x20   hash   {hash}\n\
         \n\
         Please keep this message somewhere Steward's administrators cannot change it (your own\n\
         mailbox will do; do not delete it). It lets anyone prove later that the audit log still\n\
         holds every record it held today, unchanged: whoever runs Steward can check it with\n\
         \n\
         \x20   steward audit verify --expect {seq}:{hash}\n\
         \n\
         which fails if any record up to {seq} was altered, removed or rewritten since. Each\n\
         anchor sent is listed by `steward audit anchors`; an anchor missing from that list, or\n\
         listed with another hash, is a reason to ask why.\n\
         \n\
         -- \n\
         Steward, for {organisation}. This message was sent automatically; replies are not read.\n",
        local.format("%a %-d %b %Y %H:%M"),
    );
    Message {
        from: sender.from.clone(),
        to: anchor.to.clone(),
        subject: format!(
            "[Steward] audit log anchor, {}: record {seq}",
            local.format("%-d %b %Y")
        ),
        body,
        date: now,
        id: format!("audit-anchor.{seq}.{}", now.timestamp_micros()),
    }
}
