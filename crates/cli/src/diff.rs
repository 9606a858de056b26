//! `steward policy diff A B`: what adopting version B instead of A would change — clause by clause
//! in the documents, and finding by finding on the estate as it is now.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use steward_engine::diff::{PolicyDiff, compare};
use steward_policy::Pack;

use crate::config::Settings;
use crate::policy::Format;

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The version in force: a pack id, or a pack folder.
    pub from: String,
    /// The version to consider: a pack id, or a pack folder.
    pub to: String,
    /// Evaluate a folder of register CSV files instead of the database.
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Evaluate both as at this time (RFC 3339). Default: now.
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn shown(pack: &Pack, overrides: &steward_policy::Overrides) -> Result<BTreeMap<String, String>> {
    Ok(crate::check::effective_params(pack, overrides)?
        .into_iter()
        .map(|(n, v)| (n, v.to_string()))
        .collect())
}

pub fn run(settings: &Settings, args: DiffArgs) -> Result<ExitCode> {
    let a = crate::policy::resolve_pack(settings, &args.from)?;
    let b = crate::policy::resolve_pack(settings, &args.to)?;
    let overrides = crate::policy::overrides(settings)?;
    let steward = match &args.data {
        Some(_) => None,
        None => Some(steward_service::Steward::open(&settings.database_url)?),
    };
    // Both versions see the same estate at the same moment.
    let at = args.at.unwrap_or_else(Utc::now);
    let (a_findings, _, _) = crate::check::findings(
        &[&a],
        &overrides,
        steward.as_ref(),
        args.data.as_deref(),
        Some(at),
    )?;
    let (b_findings, _, _) = crate::check::findings(
        &[&b],
        &overrides,
        steward.as_ref(),
        args.data.as_deref(),
        Some(at),
    )?;
    let diff = compare(
        &a,
        &shown(&a, &overrides)?,
        a_findings,
        &b,
        &shown(&b, &overrides)?,
        b_findings,
    );
    print(&diff, at, args.format)?;
    Ok(ExitCode::SUCCESS)
}

fn print(diff: &PolicyDiff, at: DateTime<Utc>, format: Format) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        let json = serde_json::json!({
            "from": diff.from,
            "to": diff.to,
            "at": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "parameters": diff.parameters,
            "clauses": diff.clauses,
            "added": diff.added,
            "removed": diff.removed,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} → {}, on the estate as at {}",
        diff.from,
        diff.to,
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Findings: {} added, {} removed",
        diff.added.len(),
        diff.removed.len()
    )?;
    if !diff.parameters.is_empty() {
        writeln!(out)?;
        writeln!(out, "Parameters")?;
        for p in &diff.parameters {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
            writeln!(
                out,
                "  {:<36} {} → {}",
                p.name,
                show(&p.before),
                show(&p.after)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:<8} {:>7} {:>9}  what changed",
        "clause", "change", "+found", "-found"
    )?;
    for c in &diff.clauses {
        let mut what = Vec::new();
        if c.text_changed {
            what.push("text".to_owned());
        }
        if !c.parameters_changed.is_empty() {
            what.push(format!("parameters {}", c.parameters_changed.join(", ")));
        }
        for (label, list) in [
            ("new", &c.controls_added),
            ("dropped", &c.controls_removed),
            ("changed", &c.controls_changed),
        ] {
            if !list.is_empty() {
                what.push(format!("{label} {}", list.join(", ")));
            }
        }
        writeln!(
            out,
            "{:<10} {:<8} {:>7} {:>9}  {}",
            c.clause,
            c.change,
            c.findings_added,
            c.findings_removed,
            what.join("; ")
        )?;
    }
    Ok(())
}
