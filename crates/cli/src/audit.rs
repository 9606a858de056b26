//! `steward audit verify|head`, `steward erase person` and `steward migrate`.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use steward_model::audit::Anchor;

use crate::config::Settings;
use crate::{Format, open, stamp};

/// `audit verify [--expect SEQ:HASH]`: the chain, the anchor, and the registers replayed.
pub fn verify(settings: &Settings, format: Format, expect: Option<Anchor>) -> Result<ExitCode> {
    let steward = open(settings)?;
    let verdict = steward.verify_audit_against(expect.clone())?;
    let ok = verdict.is_ok();
    match format {
        Format::Json => {
            let mut out = serde_json::json!({
                "ok": ok,
                "differences": verdict.differences,
                "difference_count": verdict.difference_count,
            });
            match &verdict.chain {
                Ok(head) => {
                    out["records"] = head.seq.into();
                    out["head"] = head.hash.clone().into();
                }
                Err(b) => out["error"] = b.to_string().into(),
            }
            if let Some(anchor) = &expect {
                out["expect"] = anchor.to_string().into();
            }
            println!("{out}");
        }
        Format::Text => {
            if let Err(b) = &verdict.chain {
                println!("audit log broken: {b}");
            }
            for d in &verdict.differences {
                println!("register differs from the audit log: {d}");
            }
            let listed = verdict.differences.len() as u64;
            if verdict.difference_count > listed {
                println!(
                    "… and {} more differences",
                    verdict.difference_count - listed
                );
            }
            if let Ok(head) = &verdict.chain {
                if verdict.difference_count > 0 {
                    println!(
                        "audit log broken: the registers disagree with the log in {} places",
                        verdict.difference_count
                    );
                } else {
                    let anchored = expect
                        .as_ref()
                        .map(|a| format!(", extending {a}"))
                        .unwrap_or_default();
                    println!(
                        "audit log verified: {} records, head {}{anchored}",
                        head.seq, head.hash
                    );
                }
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `audit head`: `SEQ:HASH`, to publish and later pass to `audit verify --expect`.
pub fn head(settings: &Settings, format: Format) -> Result<ExitCode> {
    let head = open(settings)?.audit_head()?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({"seq": head.seq, "hash": head.hash})
        ),
        Format::Text => println!("{}:{}", head.seq, head.hash),
    }
    Ok(ExitCode::SUCCESS)
}

/// `erase person ID --reason TEXT`.
pub fn erase_person(settings: &Settings, id: &str, reason: &str) -> Result<ExitCode> {
    let steward = open(settings)?;
    let seq = steward.erase_person(&stamp(settings, None), id, reason)?;
    println!("erased the personal data of person {id}: audit record {seq}");
    Ok(ExitCode::SUCCESS)
}

/// `migrate [--app-role NAME]`.
pub fn migrate(settings: &Settings, app_role: Option<&str>) -> Result<ExitCode> {
    steward_store::migrate(&settings.database_url, app_role).with_context(|| {
        format!(
            "cannot migrate the database {}",
            steward_store::redact(&settings.database_url)
        )
    })?;
    match app_role {
        Some(role) => println!(
            "database migrated; role {role} may connect, with only INSERT and SELECT on audit_log"
        ),
        None => println!("database migrated"),
    }
    Ok(ExitCode::SUCCESS)
}
