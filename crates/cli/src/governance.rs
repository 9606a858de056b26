//! `steward governance`: what falls due in the governance registers, and recording a recurring
//! task done or a record disposed of.

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Days, NaiveDate, Utc};
use clap::Subcommand;
use serde_json::json;
use steward_service::Due;

use crate::config::Settings;
use crate::{Format, open, stamp};

#[derive(Subcommand, Debug)]
pub enum GovernanceCommand {
    /// What falls due: records past their retention, recurring tasks, access reviews of
    /// information assets and policy reviews, overdue first.
    Due {
        /// The day to reckon from. Default: today in the organisation's time zone.
        #[arg(long)]
        on: Option<NaiveDate>,
        /// Also list what falls due within this many days after it.
        #[arg(long, default_value_t = 0)]
        within: u32,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Record a recurring task done, with its evidence.
    TaskDone {
        task: String,
        /// Who did it (a person id).
        #[arg(long)]
        by: String,
        /// What shows it was done, such as "codes changed; list updated".
        #[arg(long)]
        evidence: String,
        /// The day it was done. Default: today.
        #[arg(long)]
        on: Option<NaiveDate>,
        #[arg(long)]
        at: Option<DateTime<Utc>>,
    },
    /// Record a body of records disposed of: the destruction log's entry and the record's date.
    Dispose {
        record: String,
        /// Who authorised it (a person id).
        #[arg(long)]
        by: String,
        /// How, such as "cross-cut shredding by contractor".
        #[arg(long)]
        method: String,
        #[arg(long)]
        on: Option<NaiveDate>,
        #[arg(long)]
        at: Option<DateTime<Utc>>,
    },
}

fn due_json(item: &Due, on: NaiveDate) -> serde_json::Value {
    json!({
        "kind": item.kind.as_str(),
        "register": item.register,
        "id": item.id,
        "what": item.what,
        "due_on": item.due_on.map(|d| d.to_string()),
        "overdue": item.overdue(on),
        "owner": item.owner,
        "action": item.action,
    })
}

pub fn run(command: GovernanceCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    match command {
        GovernanceCommand::Due { on, within, format } => {
            let on = match on {
                Some(d) => d,
                None => steward.local_date(Utc::now())?,
            };
            let until = on
                .checked_add_days(Days::new(u64::from(within)))
                .unwrap_or(NaiveDate::MAX);
            let items = steward.due(until)?;
            match format {
                Format::Json => {
                    let list: Vec<_> = items.iter().map(|i| due_json(i, on)).collect();
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&json!({
                            "on": on.to_string(),
                            "until": until.to_string(),
                            "due": list,
                        }))?
                    );
                }
                Format::Text => {
                    if items.is_empty() {
                        println!("nothing falls due by {until}");
                    }
                    for item in &items {
                        let when = match item.due_on {
                            Some(d) => d.to_string(),
                            None => "never done".to_owned(),
                        };
                        let state = if item.overdue(on) { "OVERDUE" } else { "due" };
                        let owner = item
                            .owner
                            .as_deref()
                            .map(|o| format!(" [{o}]"))
                            .unwrap_or_default();
                        println!(
                            "{when:<10} {state:<7} {:<13} {} {}: {}{owner} — {}",
                            item.kind.as_str(),
                            item.register,
                            item.id,
                            item.what,
                            item.action
                        );
                    }
                }
            }
        }
        GovernanceCommand::TaskDone {
            task,
            by,
            evidence,
            on,
            at,
        } => {
            let stamp = stamp(settings, at);
            let on = match on {
                Some(d) => d,
                None => steward.local_date(stamp.at)?,
            };
            steward.task_done(&stamp, &task, on, &by, &evidence)?;
            println!("task {task} done on {on} by {by}");
        }
        GovernanceCommand::Dispose {
            record,
            by,
            method,
            on,
            at,
        } => {
            let stamp = stamp(settings, at);
            let on = match on {
                Some(d) => d,
                None => steward.local_date(stamp.at)?,
            };
            let (id, _) = steward.dispose_of_record(&stamp, &record, on, &by, &method)?;
            println!("record {record} disposed of on {on}; destruction log entry {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
