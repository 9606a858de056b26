//! `steward policy import`: a policy document made into a pack, kept in the database or written
//! to a folder, or only listed.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde_json::json;
use steward_document::{MAX_DOCUMENT_BYTES, Numbering, Split};
use steward_policy::{CLAUSES_FILE, PACK_FILE};
use steward_service::PolicyAnswers;

use crate::config::Settings;
use crate::policy::Format;

pub fn run(
    settings: &Settings,
    file: &Path,
    out: Option<&Path>,
    mut answers: PolicyAnswers,
    list: bool,
    format: Format,
) -> Result<ExitCode> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > MAX_DOCUMENT_BYTES as u64 {
        bail!(
            "{}: the document is {size} bytes; the largest read is {MAX_DOCUMENT_BYTES}",
            file.display()
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("document")
        .to_owned();
    let split = steward_service::read_policy(&name, &bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if list {
        print_split(&split, format);
        return Ok(ExitCode::SUCCESS);
    }
    match out {
        Some(out) => {
            if out.symlink_metadata().is_ok() {
                bail!(
                    "{} already exists; nothing was written. Choose a new folder for the pack",
                    out.display()
                );
            }
            let imported = steward_service::skeleton(&name, split, &answers)?;
            let id = &imported.skeleton.id;
            if crate::policy::available_packs(settings)?
                .iter()
                .any(|p| p.id == *id)
            {
                bail!("the pack id {id} is already taken; give another with --id or --version");
            }
            if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::create_dir(out).with_context(|| format!("cannot create {}", out.display()))?;
            for (file, text) in [
                (PACK_FILE, imported.pack_toml()),
                (CLAUSES_FILE, imported.clauses_toml()),
            ] {
                let path = out.join(file);
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            report(&imported, &out.display().to_string(), format);
        }
        None => {
            let steward = crate::open(settings)?;
            if answers.organisation.is_none() {
                let organisation = steward.organisation()?;
                if organisation.name != steward_service::default_organisation().name {
                    answers.organisation = Some(organisation.name);
                }
            }
            let known = crate::policy::folder_and_builtin_packs(settings);
            let stamp = crate::stamp(settings, None);
            let imported = steward.import_policy(&stamp, &name, &bytes, &answers, &known)?;
            report(&imported, "the database", format);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn numbering(numbering: Numbering) -> &'static str {
    match numbering {
        Numbering::Clauses => "clauses",
        Numbering::Sections => "sections",
        Numbering::Paragraphs => "paragraphs",
    }
}

fn report(imported: &steward_service::ImportedPolicy, place: &str, format: Format) {
    let s = &imported.skeleton;
    match format {
        Format::Json => println!(
            "{}",
            json!({
                "id": s.id,
                "title": s.title,
                "version": s.version,
                "clauses": s.clauses.len(),
                "numbering": numbering(imported.split.numbering),
                "assumed": s.assumed.iter().map(|(f, _)| f).collect::<Vec<_>>(),
                "kept_in": place,
            })
        ),
        Format::Text => {
            println!(
                "{} (version {}): {} clauses, numbered by {}; kept in {place} as the pack {}.",
                s.title,
                s.version,
                s.clauses.len(),
                numbering(imported.split.numbering),
                s.id
            );
            for (field, why) in &s.assumed {
                println!("  {field}: {why}");
            }
            println!(
                "Every clause is guidance until it is mapped; `steward policy activate {}` runs it.",
                s.id
            );
        }
    }
}

fn print_split(split: &Split, format: Format) {
    let m = &split.metadata;
    match format {
        Format::Json => {
            let clauses: Vec<_> = split
                .clauses
                .iter()
                .map(|c| json!({ "clause": c.id, "text": c.text, "heading": c.heading }))
                .collect();
            println!(
                "{}",
                json!({
                    "numbering": numbering(split.numbering),
                    "title": m.title,
                    "version": m.version,
                    "owner": m.owner,
                    "approver": m.approver,
                    "approved_on": m.approved_on,
                    "next_review": m.next_review,
                    "sections": split.sections.iter().map(|(n, t)| json!({"number": n, "title": t})).collect::<Vec<_>>(),
                    "clauses": clauses,
                })
            );
        }
        Format::Text => {
            println!("clause\ttext\theading");
            for c in &split.clauses {
                println!("{}\t{}\t{}", c.id, c.text, c.heading.join(" › "));
            }
        }
    }
}

/// `steward policy library`.
pub fn library(search: Option<&str>, format: Format) -> Result<ExitCode> {
    let library = steward_policy::library::library()
        .map_err(|e| anyhow::anyhow!("the control library does not load: {e:?}"))?;
    let controls = match search {
        Some(query) => library.search(query),
        None => library.controls.iter().collect(),
    };
    match format {
        Format::Json => {
            let list: Vec<_> = controls
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id,
                        "description": c.description,
                        "severity": c.control.severity.as_str(),
                        "parameters": c.parameters.iter().map(|p| json!({
                            "name": p.name,
                            "type": p.ty.as_str(),
                            "value": p.value.to_string(),
                            "unit": p.unit,
                            "description": p.description,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!("{}", json!(list));
        }
        Format::Text => {
            for c in controls {
                println!("{}  ({})", c.id, c.control.severity.as_str());
                println!("    {}", c.description);
                for p in &c.parameters {
                    println!(
                        "    --param {}={}{}  {}",
                        p.name,
                        p.value,
                        p.unit
                            .as_deref()
                            .map(|u| format!(" {u}"))
                            .unwrap_or_default(),
                        p.description
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `NAME=VALUE` → (NAME, VALUE).
fn pair<'a>(flag: &str, text: &'a str) -> Result<(&'a str, &'a str)> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim(), value.trim())),
        _ => bail!("--{flag} {text:?}: write NAME=VALUE"),
    }
}

/// `steward policy map`.
#[allow(clippy::too_many_arguments)]
pub fn map(
    settings: &Settings,
    pack: &str,
    clause: &str,
    control: &str,
    params: &[String],
    severity: Option<String>,
    scope: &[String],
    rule: Option<String>,
    preview: bool,
) -> Result<ExitCode> {
    let mut choices = steward_policy::library::MapChoices {
        severity,
        rule,
        ..Default::default()
    };
    for text in params {
        let (name, value) = pair("param", text)?;
        choices.parameters.insert(name.to_owned(), value.to_owned());
    }
    for text in scope {
        let (key, words) = pair("scope", text)?;
        choices.scope.insert(
            key.to_owned(),
            words
                .split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    let steward = crate::open(settings)?;
    let stamp = crate::stamp(settings, None);
    let mapped = steward.map_clause(&stamp, pack, clause, control, &choices, !preview)?;
    println!(
        "{clause} → {} ({}): {} finding{} on today's estate{}",
        mapped.control,
        control,
        mapped.findings,
        if mapped.findings == 1 { "" } else { "s" },
        if preview {
            "; nothing was kept (--preview)"
        } else {
            "; kept"
        }
    );
    Ok(ExitCode::SUCCESS)
}
