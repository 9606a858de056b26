//! `steward jobs`: the background jobs (imports and check runs queued from the web, scheduled
//! check runs) — listed, shown, cancelled — and the progress line long commands draw on a
//! terminal.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use steward_service::{JobResult, JobView};

use crate::config::Settings;
use crate::{Format, open, stamp};

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Recent jobs, newest first: kind, state, progress, who asked, when and how long.
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// One job: its state, progress, error and what it produced.
    Show {
        id: i64,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Cancel a queued job, or ask the server running one to stop it at its next step.
    Cancel { id: i64 },
}

fn took(view: &JobView) -> String {
    match view.job.started_at {
        Some(start) => {
            let end = view.job.finished_at.unwrap_or_else(chrono::Utc::now);
            format!("{} s", (end - start).num_seconds().max(0))
        }
        None => String::new(),
    }
}

fn json_of(view: &JobView) -> serde_json::Value {
    let job = &view.job;
    json!({
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "progress": job.progress,
        "requested_by": job.requested_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "attempts": job.attempts,
        "error": job.error,
        "result": view.result,
        "cancel_requested": job.cancel_requested,
    })
}

pub fn run(command: JobsCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    let stamp = stamp(settings, None);
    match command {
        JobsCommand::List { limit, format } => {
            let views = steward.jobs(&stamp, limit)?;
            match format {
                Format::Json => {
                    let all: Vec<_> = views.iter().map(json_of).collect();
                    println!("{}", serde_json::to_string_pretty(&all)?);
                }
                Format::Text => {
                    println!(
                        "{:>6}  {:<7} {:<9} {:<10} {:<30} {:<17} {:>6}  error",
                        "id", "kind", "state", "progress", "requested by", "started", "took"
                    );
                    for v in &views {
                        let p = &v.job.progress;
                        println!(
                            "{:>6}  {:<7} {:<9} {:<10} {:<30} {:<17} {:>6}  {}",
                            v.job.id,
                            v.job.kind,
                            v.job.state.as_str(),
                            format!("{}/{}", p.done, p.total),
                            v.job.requested_by,
                            v.job
                                .started_at
                                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                                .unwrap_or_default(),
                            took(v),
                            v.job.error.as_deref().unwrap_or_default()
                        );
                    }
                }
            }
        }
        JobsCommand::Show { id, format } => {
            let view = steward.job(&stamp, id)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&json_of(&view))?),
                Format::Text => print_job(&view),
            }
        }
        JobsCommand::Cancel { id } => {
            let view = steward.cancel_job(&stamp, id)?;
            if view.job.state.is_finished() {
                println!("job {id}: {}", view.job.state);
            } else {
                println!("job {id}: asked to stop; it stops at its next step");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_job(view: &JobView) {
    let job = &view.job;
    println!("job {}: {} — {}", job.id, job.kind, job.state);
    println!(
        "progress: {}/{} {}",
        job.progress.done, job.progress.total, job.progress.note
    );
    println!("requested by: {}", job.requested_by);
    println!("queued: {}", job.created_at);
    if let Some(t) = job.started_at {
        println!("started: {t}");
    }
    if let Some(t) = job.finished_at {
        println!("finished: {t} (took {})", took(view));
    }
    println!("attempts: {}", job.attempts);
    if let Some(e) = &job.error {
        println!("error: {e}");
    }
    match &view.result {
        Some(JobResult::Import {
            files,
            created,
            updated,
            unchanged,
            problems,
            ..
        }) => {
            for (file, rows) in files {
                println!("{file}: {rows} rows");
            }
            println!("{created} created, {updated} updated, {unchanged} unchanged");
            for p in problems {
                println!("{p}");
            }
        }
        Some(JobResult::Check {
            findings,
            opened,
            resolved,
            note,
            ..
        }) => {
            println!("{findings} findings: {opened} opened, {resolved} resolved");
            if !note.is_empty() {
                println!("{note}");
            }
        }
        Some(JobResult::Backup { written }) => println!("backup written: {written}"),
        Some(JobResult::Sync {
            connector,
            applied,
            created,
            updated,
            missing,
            unmatched,
            hold,
            ..
        }) => {
            if *applied {
                println!(
                    "{connector}: {created} created, {updated} updated, {missing} missing, {unmatched} to resolve"
                );
            } else {
                println!("{connector}: held at a preview: {}", hold.join("; "));
            }
        }
        Some(JobResult::Deliver { delivered }) => {
            println!("{delivered} webhook messages delivered");
        }
        Some(JobResult::Preview { control, findings }) => {
            println!("{control}: {findings} findings on today's estate");
        }
        None => {}
    }
}

/// A progress line on standard error — `label [####----] 2/4 note (3 s)` redrawn in place — when
/// it is a terminal; nothing at all when it is piped or redirected.
pub struct Progress {
    label: &'static str,
    total: u64,
    started: Instant,
    shown: bool,
}

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Progress {
        Progress {
            label,
            total: total.max(1),
            started: Instant::now(),
            shown: std::io::stderr().is_terminal(),
        }
    }

    /// Step `done` of the total, doing `note`.
    pub fn step(&self, done: u64, note: &str) {
        if !self.shown {
            return;
        }
        const WIDTH: u64 = 20;
        let filled = (done.min(self.total) * WIDTH / self.total) as usize;
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            "-".repeat(WIDTH as usize - filled)
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} [{bar}] {done}/{} {note} ({} s)",
            self.label,
            self.total,
            self.started.elapsed().as_secs()
        );
        let _ = err.flush();
    }

    /// Clears the line, so what follows starts clean.
    pub fn done(&self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
