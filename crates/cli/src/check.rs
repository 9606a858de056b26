//! `steward check`: runs the active packs' checks over the estate — a CSV folder, or the
//! database — and prints the findings.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use steward_model::Finding;
use steward_policy::{Overrides, Pack, ParamValue};
use steward_rules::{Data, Reads};
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

/// The header of `--format csv`: a contract, changed only by adding.
const CSV_HEADER: [&str; 10] = [
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
];

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

/// The estate to check: a CSV folder, validated exactly as an import would be, or the database;
/// laid out with the fields `reads` names (those the checks read), every field still checked.
fn estate(steward: Option<&Steward>, data: Option<&Path>, reads: Reads) -> Result<(Data, String)> {
    let (mut data, time_zone) = match (data, steward) {
        (Some(dir), _) => {
            // The folder gets every check an import makes (against an empty in-memory database,
            // so only the folder itself counts), and nothing is written anywhere.
            let scratch = Steward::open("sqlite::memory:")?;
            // Each register the rules know is laid out as its file is read.
            let checked = timed("folder read, checked and laid out", || {
                scratch.check_files_laid_out(ImportFile::folder(dir)?, reads)
            });
            match checked {
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
            }
        }
        (None, Some(s)) => return Ok(s.estate_data_reading(reads)?),
        (None, None) => bail!("no database and no --data folder"),
    };
    // Working days skip the folder's bank holidays, or the shipped ones where it has none.
    steward_service::holidays_or_shipped(&mut data);
    Ok((data, time_zone))
}

/// `work`, its time given in the debug log: where a large check spends it.
fn timed<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let out = work();
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "{what}");
    out
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
    let engine = steward_service::compile_checks(packs, overrides)?;
    let (data, time_zone) = estate(steward, data, engine.reads())?;
    let now = at.unwrap_or_else(Utc::now);
    let (findings, checked) = timed("packs evaluated", || {
        steward_service::evaluate_checked(&engine, &data, &time_zone, now)
    })?;
    Ok((findings, checked, now))
}

/// Checks a CSV folder and writes each finding out as it is found: the estate is held once, and
/// of the findings only a few controls' at a time (the table keeps its lines to sort them by
/// severity). Returns the exit code `fail_on` asks for.
pub fn stream(
    packs: &[&Pack],
    overrides: &Overrides,
    dir: &Path,
    at: Option<DateTime<Utc>>,
    format: CheckFormat,
    fail_on: Option<&str>,
) -> Result<ExitCode> {
    let engine = steward_service::compile_checks(packs, overrides)?;
    let (data, time_zone) = estate(None, Some(dir), engine.reads())?;
    let now = at.unwrap_or_else(Utc::now);
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    // The table lists the most severe first: found in that order, it is written as it comes.
    let (order, printer) = match format {
        CheckFormat::Table => (
            steward_service::RunOrder::MostSevereFirst,
            Printer::new(out, format, now).arriving_most_severe_first(),
        ),
        _ => (
            steward_service::RunOrder::Packs,
            Printer::new(out, format, now),
        ),
    };
    let mut printer = printer;
    timed("packs evaluated", || {
        steward_service::evaluate_each(&engine, &data, &time_zone, now, order, |f| printer.add(&f))
    })?;
    let code = printer.exit_code(fail_on)?;
    // The process ends once the table is written: handing millions of cells back to the
    // allocator one by one would only delay the exit (the system takes the memory back whole).
    std::mem::forget(data);
    printer.finish()?;
    Ok(code)
}

/// Findings written out as they come, in one of the formats: CSV and JSON line by line, the
/// table (most severe first) kept as its lines, far smaller than the findings themselves. An
/// output closed early (`| head`) ends the writing quietly.
pub struct Printer<W: Write> {
    out: W,
    format: CheckFormat,
    at: DateTime<Utc>,
    /// The first write that failed; later writes are skipped.
    failed: Option<std::io::Error>,
    count: usize,
    /// The table's lines, by severity rank.
    table: [Vec<String>; SEVERITIES.len()],
    /// The most severe finding's rank, if any.
    worst: Option<usize>,
    /// Findings come most severe first, so the table is written as they come.
    sorted: bool,
    /// CSV records, written through one writer and handed to `out` in large pieces: a writer
    /// of their own per finding cost more than the rest of writing 400,000 of them.
    records: Option<csv::Writer<Vec<u8>>>,
    /// A finding's due date, spelt out (reused).
    due: String,
}

/// How much CSV is gathered before it is handed to the output.
const HAND_ON_BYTES: usize = 1 << 16;

impl<W: Write> Printer<W> {
    pub fn new(out: W, format: CheckFormat, at: DateTime<Utc>) -> Printer<W> {
        let mut printer = Printer {
            out,
            format,
            at,
            failed: None,
            count: 0,
            table: Default::default(),
            worst: None,
            sorted: false,
            records: None,
            due: String::new(),
        };
        let head = match format {
            CheckFormat::Json => format!(
                "{{\n  \"at\": {},\n  \"findings\": [",
                serde_json::Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            ),
            CheckFormat::Csv => {
                // The header is the first record the CSV writer holds.
                let mut records = csv::Writer::from_writer(Vec::new());
                let _ = records.write_record(CSV_HEADER);
                printer.records = Some(records);
                String::new()
            }
            CheckFormat::Table => format!(
                "{:<9} {:<16} {:<10} {:<34} {:<22} message\n",
                "severity", "pack", "clause", "control", "subject"
            ),
        };
        printer.write(head.as_bytes());
        printer
    }

    /// Findings will be added most severe first (the table's order), so the table need not
    /// keep its lines.
    pub fn arriving_most_severe_first(mut self) -> Printer<W> {
        self.sorted = true;
        self
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.failed.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.failed = Some(e);
        }
    }

    pub fn add(&mut self, f: &Finding) {
        let rank = rank(&f.severity);
        self.worst = self.worst.max(Some(rank));
        self.count += 1;
        match self.format {
            CheckFormat::Json => {
                // Each finding as `to_string_pretty` of the whole object places it: through a
                // JSON value, so its keys are sorted as they always were.
                let json = serde_json::to_value(f)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or_default();
                let mut item = String::from(if self.count == 1 { "\n" } else { ",\n" });
                for (i, line) in json.lines().enumerate() {
                    if i > 0 {
                        item.push('\n');
                    }
                    item.push_str("    ");
                    item.push_str(line);
                }
                self.write(item.as_bytes());
            }
            CheckFormat::Csv => {
                self.due.clear();
                if let Some(due) = f.due {
                    steward_model::push_date(&mut self.due, due);
                }
                let records = self
                    .records
                    .get_or_insert_with(|| csv::Writer::from_writer(Vec::new()));
                // Into memory: it cannot fail.
                let _ = records.write_record([
                    &*f.pack,
                    &*f.version,
                    &*f.clause,
                    &*f.control,
                    &f.subject.kind,
                    &f.subject.id,
                    &*f.severity,
                    &*f.who_acts,
                    &self.due,
                    &f.message,
                ]);
                if records.get_ref().len() >= HAND_ON_BYTES {
                    self.hand_on_records();
                }
            }
            CheckFormat::Table => {
                let subject = format!("{} {}", f.subject.kind, f.subject.id);
                let line = format!(
                    "{:<9} {:<16} {:<10} {:<34} {:<22} {}\n",
                    f.severity, f.pack, f.clause, f.control, subject, f.message
                );
                if self.sorted {
                    self.write(line.as_bytes());
                } else if let Some(lines) = self.table.get_mut(rank) {
                    lines.push(line);
                }
            }
        }
    }

    /// The CSV records gathered so far, written out; the writer kept, its memory reused.
    fn hand_on_records(&mut self) {
        let Some(records) = self.records.take() else {
            return;
        };
        let mut bytes = records.into_inner().unwrap_or_default();
        self.write(&bytes);
        bytes.clear();
        self.records = Some(csv::Writer::from_writer(bytes));
    }

    /// The exit code `--fail-on` asks for, given the findings added.
    pub fn exit_code(&self, fail_on: Option<&str>) -> Result<ExitCode> {
        exit_code_for(self.worst, fail_on)
    }

    pub fn finish(mut self) -> Result<()> {
        self.hand_on_records();
        let tail = match self.format {
            CheckFormat::Json if self.count == 0 => "]\n}\n".to_owned(),
            CheckFormat::Json => "\n  ]\n}\n".to_owned(),
            CheckFormat::Csv => String::new(),
            CheckFormat::Table => {
                let table = std::mem::take(&mut self.table);
                for lines in table.iter().rev() {
                    for line in lines {
                        self.write(line.as_bytes());
                    }
                }
                format!(
                    "{} finding(s) at {}\n",
                    self.count,
                    self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            }
        };
        self.write(tail.as_bytes());
        if self.failed.is_none()
            && let Err(e) = self.out.flush()
        {
            self.failed = Some(e);
        }
        match self.failed {
            Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

fn exit_code_for(worst: Option<usize>, fail_on: Option<&str>) -> Result<ExitCode> {
    let Some(threshold) = fail_on else {
        return Ok(ExitCode::SUCCESS);
    };
    if !SEVERITIES.contains(&threshold) {
        bail!(
            "--fail-on {threshold:?}: expected one of {}",
            SEVERITIES.join(", ")
        );
    }
    Ok(if worst.is_some_and(|w| w >= rank(threshold)) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(n: u32, severity: &str) -> Finding {
        Finding {
            pack: "p".into(),
            version: "1".into(),
            clause: format!("4.{n}").into(),
            control: "c".into(),
            subject: steward_model::Subject {
                kind: "asset".into(),
                id: format!("A{n}, \"quoted\""),
            },
            severity: severity.into(),
            message: format!("line one\nline {n} \u{e9}"),
            message_you: n.is_multiple_of(2).then(|| "yours".into()),
            clause_text: "text".into(),
            evidence: [("asset.id".to_owned(), format!("A{n}"))].into(),
            who_acts: "it_team".into(),
            due: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
            undecided: None,
        }
    }

    fn printed(findings: &[Finding], format: CheckFormat, at: DateTime<Utc>) -> String {
        let mut out = Vec::new();
        let mut printer = Printer::new(&mut out, format, at);
        for f in findings {
            printer.add(f);
        }
        printer.finish().expect("writes to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    /// The findings as the csv crate writes the whole list at once, under the header.
    fn whole_csv(findings: &[Finding]) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(CSV_HEADER).expect("csv");
        for f in findings {
            let due = f.due.map(|d| d.to_string()).unwrap_or_default();
            w.write_record([
                &*f.pack,
                &*f.version,
                &*f.clause,
                &*f.control,
                &f.subject.kind,
                &f.subject.id,
                &*f.severity,
                &*f.who_acts,
                &due,
                &f.message,
            ])
            .expect("csv");
        }
        String::from_utf8(w.into_inner().expect("csv")).expect("UTF-8")
    }

    /// Far more CSV than is gathered before it is handed on reads as the csv crate writes the
    /// whole list at once: nothing lost or doubled at the seams.
    #[test]
    fn many_findings_in_csv_are_the_whole_list() {
        let at = Utc::now();
        let findings: Vec<Finding> = (0..3_000)
            .map(|n| finding(n, ["low", "high"][n as usize % 2]))
            .collect();
        let whole = whole_csv(&findings);
        assert!(whole.len() > 3 * HAND_ON_BYTES, "{} bytes", whole.len());
        assert_eq!(printed(&findings, CheckFormat::Csv, at), whole);
    }

    /// Written as they come, the findings read exactly as the whole list written at once did:
    /// `serde_json::to_string_pretty` of the object, the csv crate's records, the table sorted by
    /// severity (stably).
    #[test]
    fn streamed_output_is_what_the_whole_list_gives() {
        let at = Utc::now();
        for findings in [
            vec![],
            vec![finding(1, "low")],
            vec![finding(1, "low"), finding(2, "high"), finding(3, "low")],
        ] {
            let json = serde_json::json!({
                "at": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "findings": findings,
            });
            let whole = format!("{}\n", serde_json::to_string_pretty(&json).expect("json"));
            assert_eq!(printed(&findings, CheckFormat::Json, at), whole);

            assert_eq!(
                printed(&findings, CheckFormat::Csv, at),
                whole_csv(&findings)
            );

            let table = printed(&findings, CheckFormat::Table, at);
            let clauses: Vec<&str> = table
                .lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().nth(2))
                .filter(|c| c.starts_with("4."))
                .collect();
            let expected: Vec<&str> = match findings.len() {
                0 => vec![],
                1 => vec!["4.1"],
                _ => vec!["4.2", "4.1", "4.3"],
            };
            assert_eq!(clauses, expected, "most severe first, stable: {table}");
            // Given them most severe first, the table written as they come is the same.
            let mut sorted = findings.clone();
            sorted.sort_by_key(|f| std::cmp::Reverse(rank(&f.severity)));
            let mut out = Vec::new();
            let mut printer =
                Printer::new(&mut out, CheckFormat::Table, at).arriving_most_severe_first();
            for f in &sorted {
                printer.add(f);
            }
            printer.finish().expect("writes to memory");
            assert_eq!(String::from_utf8(out).expect("UTF-8"), table);
            assert!(table.ends_with(&format!(
                "{} finding(s) at {}\n",
                findings.len(),
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
    }
}
