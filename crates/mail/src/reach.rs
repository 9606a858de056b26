//! Findings reach people: each escalation step the checks record is e-mailed once to whom the
//! control's ladder names (the person, then the line manager, then IT or governance), and once a
//! week each person gets a digest of what they must act on, with a section per report for a
//! manager. Escalations cannot be turned off (the policy requires them); the digest can, per
//! person, on My page.
//!
//! Each message the relay takes is recorded through the service (`mail_sent`), so a restart or
//! a second server never sends it again; escalations go under the `mail` lease, digests under
//! `digest`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use steward_model::StoredFinding;
use steward_service::{Digest, EscalationNotice, Steward};

use crate::deliver::{Delivery, Held, Outcome, Sender, mailboxes};
use crate::message::{Mailbox, Message};
use crate::smtp::{Relay, Session};
use crate::{MailError, Result};

/// What each control asks to be done, by pack and control: its `remediation`.
pub type Remedies = BTreeMap<(String, String), String>;

const ESCALATION_LEASE: &str = "mail";
const DIGEST_LEASE: &str = "digest";

/// Unreserved characters stay; everything else in a link's part is percent-encoded.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A finding's page: each part of its key percent-encoded, the slashes between kept.
pub fn finding_path(key: &str) -> String {
    let parts: Vec<String> = key
        .split('/')
        .map(|p| utf8_percent_encode(p, NOT_UNRESERVED).to_string())
        .collect();
    format!("/finding/{}", parts.join("/"))
}

fn link(sender: &Sender, path: &str) -> Option<String> {
    sender
        .public_url
        .as_ref()
        .map(|url| format!("{}{path}", url.trim_end_matches('/')))
}

fn remedy<'a>(remedies: &'a Remedies, f: &StoredFinding) -> &'a str {
    remedies
        .get(&(f.finding.pack.to_string(), f.finding.control.to_string()))
        .map(String::as_str)
        .filter(|r| !r.trim().is_empty())
        .unwrap_or("See the finding's page for what the policy asks.")
}

/// Who a word of the policy is, in a sentence.
fn as_whom(word: &str) -> &'static str {
    match word {
        "person" => "the person concerned",
        "line_manager" => "their line manager",
        "it_team" => "the IT team",
        "governance_team" => "the information governance team",
        "iao" => "the information asset owner",
        _ => "whoever the policy names",
    }
}

/// Sends a message through an open session, or says why not; a failure other than a refusal
/// of this message stops the run.
fn send(
    session: &mut Session,
    sender: &Sender,
    message: &Message,
    stopped: &mut Option<String>,
) -> std::result::Result<Vec<String>, String> {
    if let Some(why) = stopped {
        return Err(format!("not tried: {why}"));
    }
    let addresses: Vec<String> = message.to.iter().map(|m| m.address.clone()).collect();
    match session.send(&sender.from.address, &addresses, &message.render()) {
        Ok(()) => Ok(addresses),
        Err(e @ (MailError::Refused { .. } | MailError::BadAddress { .. })) => Err(e.to_string()),
        Err(e) => {
            let why = e.to_string();
            *stopped = Some(why.clone());
            Err(why)
        }
    }
}

/// E-mails every escalation step not yet e-mailed, each once, through one session. A step
/// nobody can be written to stays waiting and is reported.
pub fn deliver_escalations(
    steward: &Steward,
    relay: &Relay,
    sender: &Sender,
    remedies: &Remedies,
) -> Result<Delivery> {
    let mut delivery = Delivery::default();
    let now = Utc::now();
    let Some(_held) = Held::take(steward, ESCALATION_LEASE, &sender.actor, now)? else {
        delivery.busy = true;
        return Ok(delivery);
    };
    let mut ready = Vec::new();
    for notice in steward.escalations_due()? {
        let outcome = |detail: String| Outcome {
            about: notice.event.key.clone(),
            recipient: notice.told.join(", "),
            detail,
        };
        let to = mailboxes(&notice.to);
        if to.is_empty() {
            let why = notice
                .unaddressed
                .clone()
                .unwrap_or_else(|| "no address of theirs is one Steward will send to".into());
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
    let mut stopped = None;
    for (notice, to) in ready {
        let outcome = |detail: String| Outcome {
            about: notice.event.key.clone(),
            recipient: notice.told.join(", "),
            detail,
        };
        let now = Utc::now();
        let message =
            compose_escalation(&notice, to, sender, remedies, &organisation.name, zone, now);
        match send(&mut session, sender, &message, &mut stopped) {
            Ok(addresses) => {
                steward.mark_escalation_sent(notice.event.seq, &addresses, now)?;
                delivery.sent.push(outcome(addresses.join(", ")));
            }
            Err(why) => delivery.failed.push(outcome(why)),
        }
    }
    if stopped.is_none() {
        session.quit();
    }
    Ok(delivery)
}

/// The message for one escalation step.
pub fn compose_escalation(
    notice: &EscalationNotice,
    to: Vec<Mailbox>,
    sender: &Sender,
    remedies: &Remedies,
    organisation: &str,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Message {
    let s = &notice.finding;
    let f = &s.finding;
    let greeting = match to.as_slice() {
        [one] => format!("Dear {},", one.name.as_deref().unwrap_or(&one.address)),
        _ => "Hello,".to_owned(),
    };
    let whom: Vec<&str> = notice.told.iter().map(|w| as_whom(w)).collect();
    let about = match &notice.person {
        Some(p) if f.subject.kind == "person" => format!("{} ({})", p.name, p.id),
        Some(p) => format!("{} {} ({}'s)", f.subject.kind, f.subject.id, p.name),
        None => format!("{} {}", f.subject.kind, f.subject.id),
    };
    let due = f.due.map_or_else(
        || "no date".to_owned(),
        |d| d.format("%a %-d %b %Y").to_string(),
    );
    let step = if notice.step == 0 {
        "past its due date".to_owned()
    } else {
        format!("step {} of its escalation ladder", notice.step)
    };
    let mut body = format!(
        "{greeting}\n\
         \n\
         A finding under {organisation}'s IT policy is still failing {step}, so the policy says\n\
         {} must now be told.\n\
         \n\
         \x20   {}\n\
         \n\
         About:          {about}\n\
         Clause:         {} of {} ({} severity)\n\
         Failing since:  {}\n\
         Due:            {due}\n\
         \n\
         What to do:\n\
         \x20   {}\n",
        whom.join(" and "),
        f.message.replace('\n', "\n    "),
        f.clause,
        f.pack,
        f.severity,
        s.first_failing.with_timezone(&zone).format("%a %-d %b %Y"),
        remedy(remedies, s).replace('\n', "\n    "),
    );
    match link(sender, &finding_path(&f.key())) {
        Some(url) => body.push_str(&format!("\nThe finding, and how it stands:\n{url}\n")),
        None => body.push_str("\nThe finding is on Steward's findings page.\n"),
    }
    body.push_str(&format!(
        "\nEscalation notices follow the policy's escalation ladder and cannot be turned off.\n\
         \n-- \nSteward, for {organisation}. This message was sent automatically; replies are not read.\n"
    ));
    let message: String = f.message.chars().take(100).collect();
    let ellipsis = if f.message.chars().count() > 100 {
        "…"
    } else {
        ""
    };
    Message {
        from: sender.from.clone(),
        to,
        subject: format!("[Steward] Escalated: {message}{ellipsis}"),
        body,
        date: now,
        id: format!("escalation.{}.{}", notice.event.seq, now.timestamp_micros()),
    }
}

/// What one digest run did.
#[derive(Debug, Default)]
pub struct DigestRun {
    /// Not the day yet this week (and not asked for now).
    pub not_due: bool,
    pub delivery: Delivery,
}

/// Sends this week's digest to everyone who has something in it and has not had it yet, once
/// `weekday` has come in the organisation's time zone (or at once, with `now_regardless`).
pub fn send_digests(
    steward: &Steward,
    relay: &Relay,
    sender: &Sender,
    remedies: &Remedies,
    weekday: Weekday,
    now_regardless: bool,
) -> Result<DigestRun> {
    let mut run = DigestRun::default();
    let now = Utc::now();
    let organisation = steward.organisation()?;
    let zone: chrono_tz::Tz = organisation.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let today = now.with_timezone(&zone).date_naive();
    if !now_regardless && !steward_service::digest_due_on(today, weekday) {
        run.not_due = true;
        return Ok(run);
    }
    let Some(_held) = Held::take(steward, DIGEST_LEASE, &sender.actor, now)? else {
        run.delivery.busy = true;
        return Ok(run);
    };
    // Read under the lease, so two servers cannot both find someone without this week's.
    let digests = steward.digests_due(today)?;
    if digests.is_empty() {
        return Ok(run);
    }
    let week = steward_service::digest_week(today);
    let mut session = relay.connect()?;
    let mut stopped = None;
    for digest in digests {
        let outcome = |detail: String| Outcome {
            about: format!("digest {week}"),
            recipient: digest.to.person_id.clone(),
            detail,
        };
        let to = mailboxes(std::slice::from_ref(&digest.to));
        if to.is_empty() {
            run.delivery.unaddressed.push(outcome(
                "no address of theirs is one Steward will send to".into(),
            ));
            continue;
        }
        let now = Utc::now();
        let message = compose_digest(
            &digest,
            to,
            sender,
            remedies,
            &organisation.name,
            today,
            now,
        );
        match send(&mut session, sender, &message, &mut stopped) {
            Ok(addresses) => {
                steward.mark_digest_sent(today, &digest.to.person_id, &addresses, now)?;
                run.delivery.sent.push(outcome(addresses.join(", ")));
            }
            Err(why) => run.delivery.failed.push(outcome(why)),
        }
    }
    if stopped.is_none() {
        session.quit();
    }
    Ok(run)
}

/// One item of a digest; `to_them` when it is the reader's own to act on as the person it is
/// about, so said in the second person where the control has it.
fn item(out: &mut String, s: &StoredFinding, remedies: &Remedies, today: NaiveDate, to_them: bool) {
    let f = &s.finding;
    let said = match &f.message_you {
        Some(you) if to_them && &*f.who_acts == "person" => you,
        _ => &f.message,
    };
    let due = match f.due {
        Some(d) if d < today => format!("{} (overdue)", d.format("%a %-d %b %Y")),
        Some(d) => d.format("%a %-d %b %Y").to_string(),
        None => "no date".to_owned(),
    };
    out.push_str(&format!(
        "  - {}\n      Due: {due}\n      What to do: {}\n",
        said.replace('\n', " "),
        remedy(remedies, s).replace('\n', "\n      ")
    ));
}

/// The message for one person's weekly digest.
pub fn compose_digest(
    digest: &Digest,
    to: Vec<Mailbox>,
    sender: &Sender,
    remedies: &Remedies,
    organisation: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Message {
    let week = steward_service::digest_week(today);
    let mut body = format!(
        "Dear {},\n\nThis is your weekly summary of what {organisation}'s IT policy asks of you.\n",
        digest.to.name
    );
    if !digest.own.is_empty() {
        body.push_str(&format!(
            "\nFor you to act on ({}):\n\n",
            count(digest.own.len())
        ));
        for s in &digest.own {
            item(&mut body, s, remedies, today, true);
        }
        if let Some(url) = link(sender, "/me") {
            body.push_str(&format!("\nAll of it is on My page: {url}\n"));
        }
    }
    if !digest.reports.is_empty() {
        body.push_str("\nFor your reports:\n");
        for (id, name, items) in &digest.reports {
            body.push_str(&format!("\n{name} ({}):\n\n", count(items.len())));
            for s in items {
                item(&mut body, s, remedies, today, false);
            }
            let path = format!("/team/{}", utf8_percent_encode(id, NOT_UNRESERVED));
            if let Some(url) = link(sender, &path) {
                body.push_str(&format!("  {url}\n"));
            }
        }
    }
    let off = match link(sender, "/me") {
        Some(url) => format!("on My page ({url})"),
        None => "on My page in Steward".to_owned(),
    };
    body.push_str(&format!(
        "\nYou can turn this weekly e-mail off {off}. Notices of escalation still reach you: the\n\
         policy requires them.\n\
         \n-- \nSteward, for {organisation}. This message was sent automatically; replies are not read.\n"
    ));
    let total = digest.own.len()
        + digest
            .reports
            .iter()
            .map(|(_, _, i)| i.len())
            .sum::<usize>();
    Message {
        from: sender.from.clone(),
        to,
        subject: format!("[Steward] Your weekly summary, {week}: {}", count(total)),
        body,
        date: now,
        id: format!(
            "digest.{week}.{}.{}",
            digest.to.person_id,
            now.timestamp_micros()
        ),
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 item".to_owned()
    } else {
        format!("{n} items")
    }
}
