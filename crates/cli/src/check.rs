//! `steward check`: runs the active packs' checks over the estate — a CSV folder, or the
//! database — and prints the findings.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use steward_model::{Finding, Register, Row};
use steward_policy::{Overrides, Pack, ParamValue};
use steward_rules::Data;
use steward_service::{Checked, ImportFile, Steward};

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFormat {
    Table,
    Json,
    Csv,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Only these packs (repeatable). Default: the organisation's active packs.
    #[arg(long = "pack")]
    pub packs: Vec<String>,
    /// Evaluate a folder of register CSV files instead of the database.
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Evaluate as at this time (RFC 3339), so results are reproducible. Default: now.
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
    /// Exit 1 when a finding of this severity or worse is found.
    #[arg(long)]
    pub fail_on: Option<String>,
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

fn rank(severity: &str) -> usize {
    SEVERITIES.iter().position(|s| *s == severity).unwrap_or(0)
}

/// The packs to run: those named, or the active ones; each found among `available`.
pub fn select<'p>(
    available: &'p [Pack],
    named: &[String],
    active: &[String],
) -> Result<Vec<&'p Pack>> {
    let wanted = if named.is_empty() { active } else { named };
    wanted
        .iter()
        .map(|id| {
            available.iter().find(|p| &p.id == id).with_context(|| {
                let known: Vec<&str> = available.iter().map(|p| p.id.as_str()).collect();
                format!("no pack {id:?}; available: {}", known.join(", "))
            })
        })
        .collect()
}

/// Each pack's effective parameters: the organisation's overrides of the parameters it defines.
pub fn effective_params(pack: &Pack, overrides: &Overrides) -> Result<Vec<(String, ParamValue)>> {
    Ok(steward_service::effective_params(pack, overrides)?)
}

/// The estate to check: a CSV folder, validated exactly as an import would be, or the database.
fn estate(steward: Option<&Steward>, data: Option<&Path>) -> Result<(Data, String)> {
    let (rows, time_zone) = match (data, steward) {
        (Some(dir), _) => {
            // The folder gets every check an import makes (against an empty in-memory database,
            // so only the folder itself counts), and nothing is written anywhere.
            let scratch = Steward::open("sqlite::memory:")?;
            let checked = match scratch.check_files(ImportFile::folder(dir)?) {
                Ok(checked) => checked,
                Err(steward_service::ServiceError::Import(errors)) => {
                    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    bail!(
                        "{}\n{} problem(s) in {}",
                        lines.join("\n"),
                        errors.len(),
                        dir.display()
                    );
                }
                Err(e) => return Err(e.into()),
            };
            let mut by_register: Vec<(Register, Vec<Row>)> =
                Register::ALL.iter().map(|r| (*r, Vec::new())).collect();
            let mut time_zone = steward_service::default_organisation().time_zone;
            for row in checked.rows {
                if row.register() == Register::Organisation
                    && let Some(tz) = row.get("time_zone").and_then(|v| v.as_text())
                {
                    time_zone = tz.to_owned();
                }
                if let Some((_, rows)) = by_register.iter_mut().find(|(r, _)| *r == row.register())
                {
                    rows.push(row);
                }
            }
            (by_register, time_zone)
        }
        (None, Some(s)) => return Ok(s.estate_data()?),
        (None, None) => bail!("no database and no --data folder"),
    };
    let mut rows = rows;
    let mut data = Data::from_register_rows(|register| {
        rows.iter_mut()
            .find(|(r, _)| *r == register)
            .map(|(_, rows)| std::mem::take(rows))
            .unwrap_or_default()
    });
    // Working days skip the folder's bank holidays, or the shipped ones where it has none.
    steward_service::holidays_or_shipped(&mut data);
    Ok((data, time_zone))
}

/// Runs the checks; returns the findings, the subjects each pack and section checked, and the
/// moment they were evaluated at.
pub fn findings(
    packs: &[&Pack],
    overrides: &Overrides,
    steward: Option<&Steward>,
    data: Option<&Path>,
    at: Option<DateTime<Utc>>,
) -> Result<(Vec<Finding>, Checked, DateTime<Utc>)> {
    let (data, time_zone) = estate(steward, data)?;
    let now = at.unwrap_or_else(Utc::now);
    let (findings, checked) =
        steward_service::evaluate_checked(packs, overrides, &data, &time_zone, now)?;
    Ok((findings, checked, now))
}

pub fn print(findings: &[Finding], at: DateTime<Utc>, format: CheckFormat) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let result = match format {
        CheckFormat::Json => {
            let json = serde_json::json!({
                "at": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "findings": findings,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)
        }
        CheckFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "pack",
                "version",
                "clause",
                "control",
                "subject_type",
                "subject_id",
                "severity",
                "who_acts",
                "due",
                "message",
            ])?;
            for f in findings {
                let due = f.due.map(|d| d.to_string()).unwrap_or_default();
                w.write_record([
                    &f.pack,
                    &f.version,
                    &f.clause,
                    &f.control,
                    &f.subject.kind,
                    &f.subject.id,
                    &f.severity,
                    &f.who_acts,
                    &due,
                    &f.message,
                ])?;
            }
            w.flush()
        }
        CheckFormat::Table => {
            let mut by_severity: Vec<&Finding> = findings.iter().collect();
            by_severity.sort_by_key(|f| std::cmp::Reverse(rank(&f.severity)));
            let mut result = writeln!(
                out,
                "{:<9} {:<16} {:<10} {:<34} {:<22} message",
                "severity", "pack", "clause", "control", "subject"
            );
            for f in by_severity {
                let subject = format!("{} {}", f.subject.kind, f.subject.id);
                result = result.and_then(|()| {
                    writeln!(
                        out,
                        "{:<9} {:<16} {:<10} {:<34} {:<22} {}",
                        f.severity, f.pack, f.clause, f.control, subject, f.message
                    )
                });
            }
            result.and_then(|()| {
                writeln!(
                    out,
                    "{} finding(s) at {}",
                    findings.len(),
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
        }
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The exit code `--fail-on` asks for.
pub fn exit_code(findings: &[Finding], fail_on: Option<&str>) -> Result<ExitCode> {
    let Some(threshold) = fail_on else {
        return Ok(ExitCode::SUCCESS);
    };
    if !SEVERITIES.contains(&threshold) {
        bail!(
            "--fail-on {threshold:?}: expected one of {}",
            SEVERITIES.join(", ")
        );
    }
    let failed = findings
        .iter()
        .any(|f| rank(&f.severity) >= rank(threshold));
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
