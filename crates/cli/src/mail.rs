//! `steward mail`: the notices and escalation steps waiting to be emailed, and sending them
//! through the mail server — once from cron or a timer, or every minute from `steward serve` when
//! one is configured, which also sends the day's audit-head anchor and the weekly digest;
//! `steward mail digest` sends (or lists) the weekly digest now. `steward audit anchor` and `audit anchors` are here too.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;
use steward_mail::anchor::AnchorRun;
use steward_mail::reach::Remedies;
use steward_mail::{Delivery, Mailbox, Relay, Sender};
use steward_service::Steward;

use crate::config::{MailSettings, Settings};
use crate::{Format, open};

/// How often `steward serve` sends what is waiting.
pub const EVERY: Duration = Duration::from_secs(60);

#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// The notices nobody has acknowledged and no mail has carried yet, with whom each goes to.
    Pending {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Email every waiting notice through the relay, marking each one the relay takes. Exits
    /// non-zero if the relay refused any.
    Send {
        /// The mail server, `smtp://host[:port]`, `smtp://host:587?tls=starttls` or
        /// `smtps://host[:port]`. Default: the `smtp_url` setting.
        #[arg(long)]
        smtp: Option<String>,
        /// The address mail comes from. Default: the `mail_from` setting.
        #[arg(long)]
        from: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Send this week's digest of open findings now, whatever the weekday, to everyone who has
    /// something in it and has not had it this week (each person once a week).
    Digest {
        /// List who would receive what, sending nothing.
        #[arg(long)]
        dry_run: bool,
        /// The mail server. Default: the `smtp_url` setting.
        #[arg(long)]
        smtp: Option<String>,
        /// The address mail comes from. Default: the `mail_from` setting.
        #[arg(long)]
        from: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

pub fn run(command: MailCommand, settings: &Settings) -> Result<ExitCode> {
    match command {
        MailCommand::Pending { format } => {
            let steward = open(settings)?;
            let notices = steward.mail_due()?;
            let escalations = steward.escalations_due()?;
            match format {
                Format::Json => {
                    let rows: Vec<_> = notices
                        .iter()
                        .map(|n| {
                            json!({
                                "about": n.notification.about,
                                "recipient": n.notification.recipient,
                                "reason": n.notification.reason,
                                "to": n.to.iter().map(|a| &a.email).collect::<Vec<_>>(),
                                "unaddressed": n.unaddressed,
                            })
                        })
                        .chain(escalations.iter().map(|e| {
                            json!({
                                "finding": e.event.key,
                                "step": e.step,
                                "recipient": e.told,
                                "reason": e.finding.finding.message,
                                "to": e.to.iter().map(|a| &a.email).collect::<Vec<_>>(),
                                "unaddressed": e.unaddressed,
                            })
                        }))
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                }
                Format::Text => {
                    for n in &notices {
                        let to = match &n.unaddressed {
                            Some(why) => format!("cannot be sent: {why}"),
                            None => {
                                n.to.iter()
                                    .map(|a| a.email.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        };
                        println!(
                            "{} to {}: {} -> {to}",
                            n.about, n.notification.recipient, n.notification.reason
                        );
                    }
                    for e in &escalations {
                        let to = match &e.unaddressed {
                            Some(why) => format!("cannot be sent: {why}"),
                            None => {
                                e.to.iter()
                                    .map(|a| a.email.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        };
                        println!(
                            "escalation of {} (step {}) to {}: {} -> {to}",
                            e.event.key,
                            e.step,
                            e.told.join(", "),
                            e.finding.finding.message
                        );
                    }
                    println!(
                        "{} notice(s) waiting; {} escalation step(s) waiting",
                        notices.len(),
                        escalations.len()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MailCommand::Send { smtp, from, format } => {
            let mail = mail_settings(settings, smtp, from)?;
            let (relay, sender) = prepare(&mail, settings)?;
            let steward = open(settings)?;
            let mut delivery = steward_mail::deliver(&steward, &relay, &sender)?;
            let escalated = steward_mail::reach::deliver_escalations(
                &steward,
                &relay,
                &sender,
                &remedies(settings, &steward),
            )?;
            delivery.busy |= escalated.busy;
            delivery.sent.extend(escalated.sent);
            delivery.unaddressed.extend(escalated.unaddressed);
            delivery.failed.extend(escalated.failed);
            report(
                &delivery,
                format,
                |o| json!({"about": o.about, "recipient": o.recipient, "detail": o.detail}),
            )
        }
        MailCommand::Digest {
            dry_run,
            smtp,
            from,
            format,
        } => digest(settings, dry_run, smtp, from, format),
    }
}

/// `steward mail digest`: this week's digest, listed or sent now.
fn digest(
    settings: &Settings,
    dry_run: bool,
    smtp: Option<String>,
    from: Option<String>,
    format: Format,
) -> Result<ExitCode> {
    let steward = open(settings)?;
    if dry_run {
        let today = steward.local_date(chrono::Utc::now())?;
        let digests = steward.digests_due(today)?;
        let items = |fs: &[steward_model::StoredFinding]| {
            fs.iter()
                .map(|f| {
                    json!({
                        "finding": f.finding.key(),
                        "message": f.finding.message,
                        "due": f.finding.due,
                        "state": f.state,
                    })
                })
                .collect::<Vec<_>>()
        };
        match format {
            Format::Json => {
                let rows: Vec<_> = digests
                    .iter()
                    .map(|d| {
                        json!({
                            "person": d.to.person_id,
                            "to": d.to.email,
                            "own": items(&d.own),
                            "reports": d.reports.iter().map(|(id, name, fs)| json!({
                                "person": id, "name": name, "items": items(fs),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            }
            Format::Text => {
                for d in &digests {
                    let theirs: usize = d.reports.iter().map(|(_, _, f)| f.len()).sum();
                    println!(
                        "{} <{}>: {} of their own, {} of their reports'",
                        d.to.person_id,
                        d.to.email,
                        d.own.len(),
                        theirs
                    );
                }
                println!(
                    "{} digest(s) would be sent for {}",
                    digests.len(),
                    steward_service::digest_week(today)
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mail = mail_settings(settings, smtp, from)?;
    let (relay, sender) = prepare(&mail, settings)?;
    let run = steward_mail::reach::send_digests(
        &steward,
        &relay,
        &sender,
        &remedies(settings, &steward),
        settings.digest_day,
        true,
    )?;
    let delivery = run.delivery;
    report(
        &delivery,
        format,
        |o| json!({"person": o.recipient, "detail": o.detail}),
    )
}

/// A delivery as text or JSON (each outcome as `outcome` writes it); failure when the relay
/// refused any.
fn report(
    delivery: &Delivery,
    format: Format,
    outcome: impl Fn(&steward_mail::deliver::Outcome) -> serde_json::Value,
) -> Result<ExitCode> {
    match format {
        Format::Json => {
            let list =
                |o: &[steward_mail::deliver::Outcome]| o.iter().map(&outcome).collect::<Vec<_>>();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "busy": delivery.busy,
                    "sent": list(&delivery.sent),
                    "unaddressed": list(&delivery.unaddressed),
                    "failed": list(&delivery.failed),
                }))?
            );
        }
        Format::Text => print(delivery),
    }
    Ok(if delivery.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What each control of the packs the organisation runs asks to be done, for the messages;
/// none (each message then points to the finding's page) if the packs cannot be read.
pub fn remedies(settings: &Settings, steward: &Steward) -> Remedies {
    let read = || -> Result<Remedies> {
        settings.read_chosen_packs(steward)?;
        let available = crate::policy::available_packs(settings)?;
        let packs = crate::check::select(&available, &[], &settings.active_packs())?;
        Ok(packs
            .iter()
            .flat_map(|p| {
                p.controls()
                    .map(|c| ((p.id.clone(), c.id.clone()), c.remediation.clone()))
            })
            .collect())
    };
    read().unwrap_or_else(|e| {
        tracing::warn!("the packs' remedies are not in the messages: {e}");
        Remedies::new()
    })
}

/// The configured mail settings, with `--smtp` and `--from` in place of theirs.
fn mail_settings(
    settings: &Settings,
    smtp: Option<String>,
    from: Option<String>,
) -> Result<MailSettings> {
    let configured = settings.mail.clone();
    Ok(MailSettings {
        smtp_url: smtp
            .or_else(|| configured.as_ref().map(|m| m.smtp_url.clone()))
            .context("no relay: give --smtp smtp://host:port or set smtp_url")?,
        from: from
            .or_else(|| configured.as_ref().map(|m| m.from.clone()))
            .context("no sender: give --from ADDRESS or set mail_from")?,
        public_url: configured.and_then(|m| m.public_url),
    })
}

/// `steward audit anchor [--send]`: the audit log's head as the anchor would carry it, and whom
/// to; with `--send`, emailed now (whatever was sent earlier today) and recorded.
pub fn anchor(
    steward: &Steward,
    settings: &Settings,
    send: bool,
    smtp: Option<String>,
    from: Option<String>,
    format: Format,
) -> Result<ExitCode> {
    if !send {
        let anchor = steward_mail::anchor::current(steward)?;
        let to: Vec<&str> = anchor.to.iter().map(|m| m.address.as_str()).collect();
        match format {
            Format::Json => println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "seq": anchor.seq,
                    "hash": anchor.hash,
                    "to": to,
                    "unaddressed": anchor.unaddressed,
                }))?
            ),
            Format::Text => {
                println!("{}:{}", anchor.seq, anchor.hash);
                match &anchor.unaddressed {
                    Some(why) => println!("cannot be sent: {why}"),
                    None => println!("would be sent to {}", to.join(", ")),
                }
                eprintln!(
                    "check it later with: steward audit verify --expect {}:{}",
                    anchor.seq, anchor.hash
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mail = mail_settings(settings, smtp, from)?;
    let (relay, sender) = prepare(&mail, settings)?;
    let run = steward_mail::anchor::send_anchor(steward, &relay, &sender, true)?;
    let (ok, json, text) = match &run {
        AnchorRun::Sent(a) => (
            true,
            json!({"sent": true, "seq": a.seq, "hash": a.hash, "sent_at": a.sent_at, "recipients": a.recipients}),
            format!(
                "sent anchor {}:{} to {}",
                a.seq,
                a.hash,
                a.recipients.join(", ")
            ),
        ),
        AnchorRun::Unaddressed(why) => (
            false,
            json!({"sent": false, "unaddressed": why}),
            format!("anchor not sent: {why}"),
        ),
        AnchorRun::Busy | AnchorRun::NotDue(_) => (
            false,
            json!({"sent": false, "busy": true}),
            "another Steward is sending the anchor now; nothing was done".to_owned(),
        ),
    };
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        Format::Text if ok => println!("{text}"),
        Format::Text => eprintln!("{text}"),
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `steward audit anchors`: every anchor sent, oldest first.
pub fn anchors(steward: &Steward, format: Format) -> Result<ExitCode> {
    let anchors = steward.audit_anchors()?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&anchors)?),
        Format::Text => {
            for a in &anchors {
                println!(
                    "{} {}:{} to {}",
                    a.sent_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    a.seq,
                    a.hash,
                    a.recipients.join(", ")
                );
            }
            println!("{} anchor(s) sent", anchors.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print(delivery: &Delivery) {
    if delivery.busy {
        println!("another Steward is sending mail now; nothing was done");
        return;
    }
    for o in &delivery.sent {
        println!("sent {} to {}: {}", o.about, o.recipient, o.detail);
    }
    for o in &delivery.unaddressed {
        println!("not sent {} to {}: {}", o.about, o.recipient, o.detail);
    }
    for o in &delivery.failed {
        println!("failed {} to {}: {}", o.about, o.recipient, o.detail);
    }
    println!(
        "{} sent, {} with nobody to write to, {} failed",
        delivery.sent.len(),
        delivery.unaddressed.len(),
        delivery.failed.len()
    );
}

/// The relay and sender from settings, refused with the setting's name if either is malformed.
pub fn prepare(mail: &MailSettings, settings: &Settings) -> Result<(Relay, Sender)> {
    // Errors name their setting and never hold a secret.
    let relay = Relay::configure(&mail.smtp_url, &settings.smtp).map_err(|e| match e {
        steward_mail::MailError::BadRelay { .. } => anyhow::anyhow!("smtp_url: {e}"),
        other => anyhow::Error::new(other),
    })?;
    let from = Mailbox::new(Some("Steward"), &mail.from).context("mail_from")?;
    if let Some(url) = &mail.public_url
        && (!(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains(char::is_whitespace))
    {
        bail!("public_url {url:?}: expected an http:// or https:// address");
    }
    Ok((
        relay,
        Sender {
            from,
            public_url: mail.public_url.clone(),
            actor: "system:mail".into(),
        },
    ))
}

/// Sends what is waiting every [`EVERY`], and the day's audit-head anchor once a day, on a thread
/// of its own, for as long as the server runs.
pub fn spawn_sender(settings: &Settings, mail: &MailSettings) -> Result<()> {
    let (relay, sender) = prepare(mail, settings)?;
    // A connection of its own: a store serves one statement at a time, and a slow relay must
    // not hold the web's pages up.
    let steward: Steward = open(settings)?;
    let settings = settings.clone();
    tracing::info!(relay = %relay, "notices will be emailed every {} s", EVERY.as_secs());
    std::thread::Builder::new()
        .name("mail".into())
        .spawn(move || {
            let mut unaddressed_warned = None;
            // The packs' remedies, read again each hour (the organisation may choose others).
            let mut remedies: Option<(std::time::Instant, Remedies)> = None;
            loop {
                let fresh = match remedies.take() {
                    Some((read, r)) if read.elapsed() < Duration::from_secs(3600) => (read, r),
                    _ => (std::time::Instant::now(), self::remedies(&settings, &steward)),
                };
                let remedies_now = &fresh.1;
                match steward_mail::deliver(&steward, &relay, &sender) {
                    Ok(d) => {
                        for o in &d.failed {
                            tracing::warn!(about = %o.about, recipient = %o.recipient, "mail failed: {}", o.detail);
                        }
                        if !d.sent.is_empty() || !d.failed.is_empty() {
                            tracing::info!(sent = d.sent.len(), failed = d.failed.len(), unaddressed = d.unaddressed.len(), "mail delivered");
                        }
                    }
                    Err(e) => tracing::warn!("mail not sent: {e}"),
                }
                match steward_mail::reach::deliver_escalations(&steward, &relay, &sender, remedies_now) {
                    Ok(d) => {
                        for o in &d.failed {
                            tracing::warn!(finding = %o.about, "escalation mail failed: {}", o.detail);
                        }
                        if !d.sent.is_empty() {
                            tracing::info!(sent = d.sent.len(), unaddressed = d.unaddressed.len(), "escalations emailed");
                        }
                    }
                    Err(e) => tracing::warn!("escalations not emailed: {e}"),
                }
                match steward_mail::reach::send_digests(&steward, &relay, &sender, remedies_now, settings.digest_day, false) {
                    Ok(run) => {
                        for o in &run.delivery.failed {
                            tracing::warn!(person = %o.recipient, "digest failed: {}", o.detail);
                        }
                        if !run.delivery.sent.is_empty() {
                            tracing::info!(sent = run.delivery.sent.len(), "weekly digest sent");
                        }
                    }
                    Err(e) => tracing::warn!("weekly digest not sent: {e}"),
                }
                remedies = Some(fresh);
                match steward_mail::anchor::send_anchor(&steward, &relay, &sender, false) {
                    Ok(AnchorRun::Sent(a)) => {
                        tracing::info!(seq = a.seq, hash = %a.hash, recipients = a.recipients.len(), "audit anchor sent");
                    }
                    Ok(AnchorRun::Unaddressed(why)) => {
                        // Said once a day, not every minute.
                        let today = chrono::Utc::now().date_naive();
                        if unaddressed_warned != Some(today) {
                            tracing::warn!("audit anchor not sent: {why}");
                            unaddressed_warned = Some(today);
                        }
                    }
                    Ok(AnchorRun::Busy | AnchorRun::NotDue(_)) => {}
                    Err(e) => tracing::warn!("audit anchor not sent: {e}"),
                }
                std::thread::sleep(EVERY);
            }
        })
        .context("cannot start the mail thread")?;
    Ok(())
}
