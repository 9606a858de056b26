//! Verifying the audit log against the registers: the chain (hashes, payloads, erasures, an
//! anchor), then a replay of the log — each entity's latest after-state, in sequence order —
//! compared with every register, finding and sign-in as stored now.
//!
//! The replay keeps one small entry per entity (the SHA-256 of its latest after-state and that
//! record's number), never the log itself; only an entity that differs (or was erased) is read
//! again, through its own records, to name the fields that differ.

use std::collections::HashMap;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use steward_model::audit::{
    Anchor, AuditRecord, ChainBreak, ChainHead, ChainVerifier, ERASE_ACTION, Erasure,
};
use steward_model::{FindingState, Register};

use crate::findings::FINDING_ENTITY;
use crate::packs::{PACK_DOCUMENT_ENTITY, PACK_ENTITY, PARAMETER_ENTITY};
use crate::sign_ins::SIGN_IN_ENTITY;
use crate::sso::SSO_LINK_ENTITY;
use crate::tokens::API_TOKEN_ENTITY;
use crate::webhooks::WEBHOOK_ENTITY;
use crate::{AuditQuery, FindingQuery, Result, Store};

/// How a row disagrees with its audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// Stored, but its fields differ from its latest audited after-state.
    Differs,
    /// Stored, but no audit record says it exists (or the last one deleted it).
    Unrecorded,
    /// The log says it exists, but it is not stored.
    Missing,
}

/// One row of a register (or a finding, or a sign-in) that differs from what its audit records say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// The register's name, or `findings`, or `sign_ins`.
    pub register: String,
    pub id: String,
    pub kind: DifferenceKind,
    /// For `differs`: the fields whose stored values differ.
    pub fields: Vec<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            DifferenceKind::Differs => write!(
                f,
                "{} {}: {} differ from the audit log",
                self.register,
                self.id,
                self.fields.join(", ")
            ),
            DifferenceKind::Unrecorded => write!(
                f,
                "{} {}: stored without an audit record creating it",
                self.register, self.id
            ),
            DifferenceKind::Missing => write!(
                f,
                "{} {}: the audit log says it exists, but it is not stored",
                self.register, self.id
            ),
        }
    }
}

/// What a full verification found.
#[derive(Debug, Clone)]
pub struct AuditVerdict {
    /// The chain: its head, or where it first breaks.
    pub chain: std::result::Result<ChainHead, ChainBreak>,
    /// The first differences between the registers and the replayed log (at most the limit asked).
    pub differences: Vec<Difference>,
    /// How many differences there are in all.
    pub difference_count: u64,
}

impl AuditVerdict {
    pub fn is_ok(&self) -> bool {
        self.chain.is_ok() && self.difference_count == 0
    }

    /// The verdict as one result: the chain's break, else the registers' disagreement, else the
    /// head.
    pub fn into_result(self) -> std::result::Result<ChainHead, ChainBreak> {
        let head = self.chain?;
        match self.differences.first() {
            Some(first) => Err(ChainBreak::Registers {
                count: self.difference_count,
                first: first.to_string(),
            }),
            None => Ok(head),
        }
    }
}

/// The latest audited state of one entity.
struct Latest {
    /// The SHA-256 of its latest after payload; `None` once deleted.
    hash: Option<[u8; 32]>,
    /// An `erase` record came after it: compare field by field.
    erased: bool,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Verifies the chain (and `anchor`, if given) and compares the registers with the log's replay,
/// keeping at most `limit` differences (all are counted).
pub fn verify_audit_full(
    store: &dyn Store,
    anchor: Option<Anchor>,
    limit: usize,
) -> Result<AuditVerdict> {
    // The log and the registers are read in several statements, and servers keep writing (a
    // check run after a step, say): a commit landing between two reads can look like a break
    // or a difference. A verdict that is not clean counts only if the head did not move while it
    // was reached; otherwise it is reached again, a few times at most.
    let mut tries = 0;
    loop {
        let before = store.audit_head()?;
        let verdict = verify_once(store, anchor.clone(), limit)?;
        tries += 1;
        if verdict.is_ok() || tries >= VERIFY_TRIES || store.audit_head()? == before {
            return Ok(verdict);
        }
        tracing::debug!(
            tries,
            "the log moved while it was verified: verifying again"
        );
    }
}

/// How many times a verification racing writers is tried before its verdict stands.
const VERIFY_TRIES: usize = 5;

fn verify_once(store: &dyn Store, anchor: Option<Anchor>, limit: usize) -> Result<AuditVerdict> {
    let entities: HashMap<&'static str, Register> =
        Register::ALL.iter().map(|r| (r.entity(), *r)).collect();
    let mut verifier = ChainVerifier::with_anchor(anchor);
    let mut first_break = None;
    let mut latest: HashMap<(String, String), Latest> = HashMap::new();
    store.audit_records(&AuditQuery::default(), &mut |record| {
        if first_break.is_none()
            && let Err(e) = verifier.push(&record)
        {
            first_break = Some(e);
        }
        let known = entities.contains_key(record.entity_type.as_str())
            || record.entity_type == FINDING_ENTITY
            || record.entity_type == SIGN_IN_ENTITY
            || record.entity_type == PACK_ENTITY
            || record.entity_type == PACK_DOCUMENT_ENTITY
            || record.entity_type == PARAMETER_ENTITY
            || record.entity_type == API_TOKEN_ENTITY
            || record.entity_type == WEBHOOK_ENTITY
            || record.entity_type == SSO_LINK_ENTITY;
        if !known {
            return Ok(());
        }
        let AuditRecord {
            entity_type,
            entity_id,
            action,
            after,
            ..
        } = record;
        if action == ERASE_ACTION {
            if let Some(l) = latest.get_mut(&(entity_type, entity_id)) {
                l.erased = true;
            }
            return Ok(());
        }
        latest.insert(
            (entity_type, entity_id),
            Latest {
                hash: after.as_deref().map(digest),
                erased: false,
            },
        );
        Ok(())
    })?;
    let chain = match first_break {
        Some(e) => Err(e),
        None => {
            let (seq, hash) = store.audit_head()?;
            verifier.finish(Some((seq, &hash)))
        }
    };

    let mut out = Differences {
        limit,
        found: Vec::new(),
        count: 0,
    };
    let mut compare = |store: &dyn Store,
                       register: &str,
                       entity: &str,
                       id: &str,
                       stored: &str,
                       latest: &mut HashMap<(String, String), Latest>|
     -> Result<()> {
        match latest.remove(&(entity.to_owned(), id.to_owned())) {
            None
            | Some(Latest {
                hash: None,
                erased: false,
            }) => out.push(register, id, DifferenceKind::Unrecorded, Vec::new()),
            Some(l) if !l.erased && l.hash == Some(digest(stored)) => {}
            Some(_) => {
                // Differs byte for byte (or was erased): compare field by field.
                let expected = replay_one(store, entity, id)?;
                let stored: Json = serde_json::from_str(stored).unwrap_or(Json::Null);
                match expected {
                    None => out.push(register, id, DifferenceKind::Unrecorded, Vec::new()),
                    Some(expected) => {
                        let fields = differing_fields(&expected, &stored);
                        if !fields.is_empty() {
                            out.push(register, id, DifferenceKind::Differs, fields);
                        }
                    }
                }
            }
        }
        Ok(())
    };

    for register in Register::ALL {
        for row in store.list(register)? {
            compare(
                store,
                register.name(),
                register.entity(),
                row.id(),
                &row.canonical_json(),
                &mut latest,
            )?;
        }
    }
    let every_state = FindingQuery {
        states: vec![
            FindingState::Open,
            FindingState::Escalated,
            FindingState::Resolved,
            FindingState::Excepted,
        ],
        ..FindingQuery::default()
    };
    for finding in store.findings(&every_state)? {
        compare(
            store,
            "findings",
            FINDING_ENTITY,
            &finding.finding.key(),
            &crate::findings::audit_json(&finding),
            &mut latest,
        )?;
    }
    for sign_in in store.sign_ins()? {
        compare(
            store,
            "sign_ins",
            SIGN_IN_ENTITY,
            &crate::sign_ins::email_key(&sign_in.email),
            &crate::sign_ins::audit_json(&sign_in),
            &mut latest,
        )?;
    }
    for pack in store.packs()? {
        compare(
            store,
            "packs",
            PACK_ENTITY,
            &pack.id,
            &crate::packs::audit_view(pack.active),
            &mut latest,
        )?;
    }
    for document in store.pack_documents()? {
        compare(
            store,
            "pack_documents",
            PACK_DOCUMENT_ENTITY,
            &document.id,
            &crate::packs::document_audit_view(&document),
            &mut latest,
        )?;
    }
    for parameter in store.parameter_overrides()? {
        compare(
            store,
            "parameter_overrides",
            PARAMETER_ENTITY,
            &parameter.key(),
            &crate::packs::parameter_audit_view(&parameter),
            &mut latest,
        )?;
    }
    // When a token was last used is not audited, and not in its audit view.
    for token in store.api_tokens()? {
        compare(
            store,
            "api_tokens",
            API_TOKEN_ENTITY,
            &token.id,
            &crate::tokens::audit_view(&token),
            &mut latest,
        )?;
    }
    // A webhook's count of failures is not audited, and not in its audit view; nor are its
    // deliveries.
    for webhook in store.webhooks()? {
        compare(
            store,
            "webhooks",
            WEBHOOK_ENTITY,
            &webhook.id,
            &crate::webhooks::audit_view(&webhook),
            &mut latest,
        )?;
    }
    for link in store.sso_links()? {
        compare(
            store,
            "sso_links",
            SSO_LINK_ENTITY,
            &link.entity_id(),
            &crate::sso::audit_view(&link),
            &mut latest,
        )?;
    }
    // What is left was never found stored: missing unless its last record deleted it.
    let mut missing: Vec<(String, String)> = latest
        .into_iter()
        .filter(|(_, l)| l.hash.is_some())
        .map(|(k, _)| k)
        .collect();
    missing.sort();
    for (entity, id) in missing {
        let register = match entities.get(entity.as_str()) {
            Some(r) => r.name().to_owned(),
            None if entity == FINDING_ENTITY => "findings".to_owned(),
            None if entity == PACK_ENTITY => "packs".to_owned(),
            None if entity == PACK_DOCUMENT_ENTITY => "pack_documents".to_owned(),
            None if entity == PARAMETER_ENTITY => "parameter_overrides".to_owned(),
            None if entity == API_TOKEN_ENTITY => "api_tokens".to_owned(),
            None if entity == WEBHOOK_ENTITY => "webhooks".to_owned(),
            None if entity == SSO_LINK_ENTITY => "sso_links".to_owned(),
            None => "sign_ins".to_owned(),
        };
        out.push(&register, &id, DifferenceKind::Missing, Vec::new());
    }
    Ok(AuditVerdict {
        chain,
        differences: out.found,
        difference_count: out.count,
    })
}

struct Differences {
    limit: usize,
    found: Vec<Difference>,
    count: u64,
}

impl Differences {
    fn push(&mut self, register: &str, id: &str, kind: DifferenceKind, fields: Vec<String>) {
        self.count += 1;
        if self.found.len() < self.limit {
            self.found.push(Difference {
                register: register.to_owned(),
                id: id.to_owned(),
                kind,
                fields,
            });
        }
    }
}

/// One entity's after-state as its own records leave it, erasures applied; `None` if deleted or
/// never recorded.
fn replay_one(store: &dyn Store, entity: &str, id: &str) -> Result<Option<Json>> {
    let mut state: Option<Json> = None;
    store.audit_records(
        &AuditQuery {
            entity: Some((entity.to_owned(), id.to_owned())),
            limit: None,
            before: None,
        },
        &mut |r| {
            if r.action == ERASE_ACTION {
                let erasure = r
                    .after
                    .as_deref()
                    .and_then(|a| serde_json::from_str::<Erasure>(a).ok());
                if let (Some(Json::Object(map)), Some(erasure)) = (state.as_mut(), erasure) {
                    for (field, value) in erasure.fields {
                        if let Some(old) = map.get_mut(&field) {
                            *old = value;
                        }
                    }
                }
            } else {
                state = r
                    .after
                    .as_deref()
                    .map(|a| serde_json::from_str(a).unwrap_or(Json::Null));
            }
            Ok(())
        },
    )?;
    Ok(state)
}

/// The names of the fields whose values differ (every field, when either is not an object).
fn differing_fields(expected: &Json, stored: &Json) -> Vec<String> {
    match (expected, stored) {
        (Json::Object(e), Json::Object(s)) => {
            let mut names: Vec<&String> = e.keys().chain(s.keys()).collect();
            names.sort();
            names.dedup();
            names
                .into_iter()
                // A field added to a register since a record was written is absent from its
                // audited state and empty in the table: the same.
                .filter(|k| {
                    let null = Json::Null;
                    e.get(*k).unwrap_or(&null) != s.get(*k).unwrap_or(&null)
                })
                .cloned()
                .collect()
        }
        _ if expected == stored => Vec::new(),
        _ => vec!["(the whole record)".to_owned()],
    }
}
