//! One migration story for both backends: numbered SQL files, applied in order, each once, inside
//! a transaction, recorded in `steward_migrations`.

use crate::{Result, StoreError};

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// The backends it is for; on the other, recorded as applied with nothing run.
    pub on: On,
    pub sql: &'static str,
}

/// Which backends a migration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    Both,
    Postgres,
    Sqlite,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "registers",
        on: On::Both,
        sql: include_str!("../migrations/0001_registers.sql"),
    },
    Migration {
        version: 2,
        name: "more_registers",
        on: On::Both,
        sql: include_str!("../migrations/0002_more_registers.sql"),
    },
    Migration {
        version: 3,
        name: "findings",
        on: On::Both,
        sql: include_str!("../migrations/0003_findings.sql"),
    },
    Migration {
        version: 4,
        name: "processes",
        on: On::Both,
        sql: include_str!("../migrations/0004_processes.sql"),
    },
    Migration {
        version: 5,
        name: "sign_ins",
        on: On::Both,
        sql: include_str!("../migrations/0005_sign_ins.sql"),
    },
    Migration {
        version: 6,
        name: "mail",
        on: On::Both,
        sql: include_str!("../migrations/0006_mail.sql"),
    },
    Migration {
        version: 7,
        name: "sign_in_failures",
        on: On::Both,
        sql: include_str!("../migrations/0007_sign_in_failures.sql"),
    },
    Migration {
        version: 8,
        name: "sign_in_password_reset",
        on: On::Both,
        sql: include_str!("../migrations/0008_sign_in_password_reset.sql"),
    },
    Migration {
        version: 9,
        name: "audit_payloads",
        on: On::Both,
        sql: include_str!("../migrations/0009_audit_payloads.sql"),
    },
    Migration {
        version: 10,
        name: "audit_anchors",
        on: On::Both,
        sql: include_str!("../migrations/0010_audit_anchors.sql"),
    },
    Migration {
        version: 11,
        name: "check_runs",
        on: On::Both,
        sql: include_str!("../migrations/0011_check_runs.sql"),
    },
    Migration {
        version: 12,
        name: "jobs",
        on: On::Both,
        sql: include_str!("../migrations/0012_jobs.sql"),
    },
    Migration {
        version: 13,
        name: "packs",
        on: On::Both,
        sql: include_str!("../migrations/0013_packs.sql"),
    },
    Migration {
        version: 14,
        name: "compliance",
        on: On::Both,
        sql: include_str!("../migrations/0014_compliance.sql"),
    },
    Migration {
        version: 15,
        name: "finding_message_you",
        on: On::Both,
        sql: include_str!("../migrations/0015_finding_message_you.sql"),
    },
    Migration {
        version: 16,
        name: "escalation_and_digest",
        on: On::Both,
        sql: include_str!("../migrations/0016_escalation_and_digest.sql"),
    },
    Migration {
        version: 17,
        name: "findings_list_order",
        on: On::Both,
        sql: include_str!("../migrations/0017_findings_list_order.sql"),
    },
    Migration {
        version: 18,
        name: "change_notices",
        on: On::Postgres,
        sql: include_str!("../migrations/0018_change_notices.sql"),
    },
    Migration {
        version: 19,
        name: "findings_statistics",
        on: On::Postgres,
        sql: include_str!("../migrations/0019_findings_statistics.sql"),
    },
    Migration {
        version: 20,
        name: "sources",
        on: On::Both,
        sql: include_str!("../migrations/0020_sources.sql"),
    },
    Migration {
        version: 21,
        name: "request_approvers",
        on: On::Both,
        sql: include_str!("../migrations/0021_request_approvers.sql"),
    },
    Migration {
        version: 22,
        name: "restricted_systems_and_job_titles",
        on: On::Both,
        sql: include_str!("../migrations/0022_restricted_systems_and_job_titles.sql"),
    },
    Migration {
        version: 23,
        name: "external_forwarding",
        on: On::Both,
        sql: include_str!("../migrations/0023_external_forwarding.sql"),
    },
    Migration {
        version: 24,
        name: "pack_documents",
        on: On::Both,
        sql: include_str!("../migrations/0024_pack_documents.sql"),
    },
    Migration {
        version: 25,
        name: "parameter_overrides",
        on: On::Both,
        sql: include_str!("../migrations/0025_parameter_overrides.sql"),
    },
    Migration {
        version: 26,
        name: "api_tokens",
        on: On::Both,
        sql: include_str!("../migrations/0026_api_tokens.sql"),
    },
    Migration {
        version: 27,
        name: "webhooks",
        on: On::Both,
        sql: include_str!("../migrations/0027_webhooks.sql"),
    },
    Migration {
        version: 28,
        name: "sso",
        on: On::Both,
        sql: include_str!("../migrations/0028_sso.sql"),
    },
    Migration {
        version: 29,
        name: "webhook_moments",
        on: On::Both,
        sql: include_str!("../migrations/0029_webhook_moments.sql"),
    },
    Migration {
        version: 30,
        name: "api_request_counts",
        on: On::Postgres,
        sql: include_str!("../migrations/0030_api_request_counts.sql"),
    },
    Migration {
        version: 31,
        name: "statistics",
        on: On::Postgres,
        sql: include_str!("../migrations/0031_statistics.sql"),
    },
    Migration {
        version: 32,
        name: "finding_content_hash",
        on: On::Both,
        sql: include_str!("../migrations/0032_finding_content_hash.sql"),
    },
    Migration {
        version: 33,
        name: "audit_keyed_by_rowid",
        on: On::Sqlite,
        sql: include_str!("../migrations/0033_audit_keyed_by_rowid.sql"),
    },
    Migration {
        version: 34,
        name: "check_marks",
        on: On::Both,
        sql: include_str!("../migrations/0034_check_marks.sql"),
    },
    Migration {
        version: 35,
        name: "finding_priors_index",
        on: On::Both,
        sql: include_str!("../migrations/0035_finding_priors_index.sql"),
    },
];

impl Migration {
    /// The migration's SQL as one backend runs it: its words spelt as that backend spells them
    /// (`spellings`), or nothing where it is for PostgreSQL alone and this is not.
    pub(crate) fn spelt(&self, postgres: bool, spellings: &[(&str, &str)]) -> String {
        let runs = match self.on {
            On::Both => true,
            On::Postgres => postgres,
            On::Sqlite => !postgres,
        };
        if !runs {
            return String::new();
        }
        spellings
            .iter()
            .fold(self.sql.to_owned(), |sql, (word, spelt)| {
                sql.replace(word, spelt)
            })
    }
}

pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS steward_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// What a backend does, inside the one transaction that migrates it.
pub(crate) trait Migrator {
    /// The highest version applied so far (0 for a new database).
    fn current(&mut self) -> Result<i64>;
    fn execute_batch(&mut self, sql: &str) -> std::result::Result<(), String>;
    /// The words a migration spells per backend, each with this backend's spelling:
    /// `COLLATE_BYTES` (an ordering of text byte by byte, as the lists order keys on both) and
    /// `GENERATED_KIND` (how a generated column is kept).
    fn spellings(&self) -> &'static [(&'static str, &'static str)];
    fn is_postgres(&self) -> bool;
    fn record(&mut self, migration: &Migration, applied_at: &str) -> Result<()>;
}

/// Applies every pending migration in order; refuses a database a newer build has migrated.
pub(crate) fn run(m: &mut dyn Migrator) -> Result<()> {
    let current = m.current()?;
    if current > latest() {
        return Err(StoreError::TooNew {
            found: current,
            known: latest(),
        });
    }
    for migration in MIGRATIONS.iter().filter(|x| x.version > current) {
        let sql = migration.spelt(m.is_postgres(), m.spellings());
        m.execute_batch(&sql)
            .map_err(|reason| StoreError::Migration {
                version: migration.version,
                name: migration.name,
                reason,
            })?;
        m.record(migration, &now_text())?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    Ok(())
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
