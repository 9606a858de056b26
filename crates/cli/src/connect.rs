//! `steward connect`: connectors to the organisation's own systems — added, listed, tested,
//! previewed, synced and removed. A credential is read from a file (`--secret-file`, or `-` for
//! standard input) so that it never appears in the shell's history or the process list.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use steward_connect::{Definition, Kind};
use steward_service::{Round, SyncOutcome};

use crate::config::Settings;
use crate::{Format, open, stamp};

#[derive(Subcommand, Debug)]
pub enum ConnectCommand {
    /// Add a connector, or change one: `connect add microsoft365 m365 --set tenant=… --set
    /// client_id=… --secret-file secret.txt`. Kinds: microsoft365, google-workspace, jamf,
    /// snipe-it, csv.
    Add {
        kind: String,
        name: String,
        /// A setting, KEY=VALUE; repeat for each (docs/connectors.md lists every kind's).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// The credential (client secret, service account key file, API token), read from this
        /// file; `-` reads standard input. Sealed, never shown again.
        #[arg(long)]
        secret_file: Option<PathBuf>,
        /// For a csv connector: the column map's TOML file (the `profile` setting).
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Every connector: kind, schedule, last run and its outcome, a preview waiting.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check that a connector reaches its source and may read each feed.
    Test { name: String },
    /// What a sync would change, without changing anything.
    Preview {
        name: String,
        /// Read this file (a portal's export, or a mapped CSV file) instead of the API.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Sync now. A sync that needs a preview (the first, or one past a safety threshold) stops
    /// and says why, unless `--apply` is given.
    Sync {
        name: String,
        #[arg(long)]
        file: Option<PathBuf>,
        /// Apply even a sync that would stop at a preview.
        #[arg(long)]
        apply: bool,
        /// Read as the schedule does: between full listings (`full_listing_every`), Microsoft
        /// 365 users by their changes since the last sync. Without it every feed is listed in
        /// full.
        #[arg(long, conflicts_with = "file")]
        scheduled: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Decide about a record a sync could not place: link it (`--to ID`: for
    /// account-holder or device-holder, a person's id) or ignore it (no `--to`).
    Resolve {
        name: String,
        /// people, accounts, devices, account-holder or device-holder.
        feed: String,
        source_id: String,
        #[arg(long)]
        to: Option<String>,
    },
    /// Remove a connector. What it synced stays.
    Remove { name: String },
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        return Ok(bytes);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into())
}

pub fn run(command: ConnectCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    let stamp = stamp(settings, None);
    match command {
        ConnectCommand::Add {
            kind,
            name,
            set,
            secret_file,
            profile,
        } => {
            let kind = Kind::parse(&kind)?;
            let mut settings_map = BTreeMap::new();
            for pair in set {
                let Some((k, v)) = pair.split_once('=') else {
                    bail!("--set {pair:?}: expected KEY=VALUE");
                };
                settings_map.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            if let Some(path) = profile {
                let text = String::from_utf8(read_file(&path)?)
                    .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
                steward_connect::mapped::Profile::from_toml(&text)
                    .with_context(|| format!("profile {}", path.display()))?;
                settings_map.insert("profile".into(), text);
            }
            let definition = Definition::new(&name, kind, settings_map)?;
            let secret = match secret_file {
                Some(path) => Some(
                    String::from_utf8(read_file(&path)?)
                        .context("the credential is not UTF-8 text")?,
                ),
                None => None,
            };
            steward.save_connector(&stamp, &definition, secret.as_deref())?;
            println!("connector {name} ({kind}) saved");
            if secret.is_none() && kind.secret().is_some() {
                println!(
                    "it has no credential yet: give {} with --secret-file",
                    kind.secret().unwrap_or("one")
                );
            }
        }
        ConnectCommand::List { format } => {
            let views = steward.connectors(&stamp)?;
            match format {
                Format::Json => {
                    let all: Vec<_> = views
                        .iter()
                        .map(|v| {
                            serde_json::json!({
                                "name": v.definition.name,
                                "kind": v.definition.kind.name(),
                                "settings": v.definition.settings
                                    .iter()
                                    .filter(|(k, _)| k.as_str() != "profile")
                                    .collect::<BTreeMap<_, _>>(),
                                "credential": v.has_secret,
                                "last_run_at": v.last_run_at,
                                "last_outcome": v.last_outcome,
                                "preview_waiting": v.pending.is_some(),
                                "next_run": v.next_run,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&all)?);
                }
                Format::Text => {
                    if views.is_empty() {
                        println!("no connectors; add one with `steward connect add KIND NAME`");
                    }
                    for v in &views {
                        println!(
                            "{}  {}  credential: {}  last run: {}  next: {}",
                            v.definition.name,
                            v.definition.kind,
                            if v.has_secret { "sealed" } else { "none" },
                            v.last_run_at.map_or("never".into(), |t| t.to_rfc3339()),
                            v.next_run.map_or("off".into(), |t| t.to_rfc3339()),
                        );
                        if let Some(o) = &v.last_outcome {
                            println!("    {o}");
                        }
                    }
                }
            }
        }
        ConnectCommand::Test { name } => {
            for line in steward.test_connector(&stamp, &name)? {
                println!("{line}");
            }
        }
        ConnectCommand::Preview { name, file, format } => {
            let bytes = file.as_ref().map(read_file).transpose()?;
            let shown = file.as_deref().map(file_name).unwrap_or_default();
            let plan = steward.preview_connector(
                &stamp,
                &name,
                bytes.as_deref().map(|b| (shown.as_str(), b)),
            )?;
            print_plan(&plan, format)?;
        }
        ConnectCommand::Sync {
            name,
            file,
            apply,
            scheduled,
            format,
        } => {
            let bytes = file.as_ref().map(read_file).transpose()?;
            let shown = file.as_deref().map(file_name).unwrap_or_default();
            let outcome = steward.sync_feeds(
                &stamp,
                &name,
                bytes.as_deref().map(|b| (shown.as_str(), b)),
                apply,
                if scheduled {
                    Round::Scheduled
                } else {
                    Round::Full
                },
            )?;
            print_plan(outcome.plan(), format)?;
            if let SyncOutcome::Held(plan) = &outcome {
                eprintln!(
                    "not applied: {}; read the preview, then sync again with --apply",
                    plan.hold.join("; ")
                );
                return Ok(ExitCode::from(3));
            }
        }
        ConnectCommand::Resolve {
            name,
            feed,
            source_id,
            to,
        } => {
            steward.decide_source_record(&stamp, &name, &feed, &source_id, to.as_deref())?;
            println!(
                "{name} {feed} {source_id}: {}",
                to.map_or("ignored".into(), |t| format!("linked to {t}"))
            );
        }
        ConnectCommand::Remove { name } => {
            steward.remove_connector(&stamp, &name)?;
            println!("connector {name} removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &steward_connect::plan::Plan, format: Format) -> Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(plan)?),
        Format::Text => print!("{}", plan.to_text()),
    }
    Ok(())
}
