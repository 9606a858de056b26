//! The audit log's record, canonical encoding and hash chain.
//!
//! Each record's hash is SHA-256 over a length-prefixed encoding of its fields, the previous
//! record's hash included, so altering, removing or reordering any record breaks the chain from
//! that point on. Records written since hash version 2 commit to the SHA-256 of their before/after
//! payloads rather than the payloads themselves, so that erasing a person's data from old payloads
//! leaves the chain whole; an erasure is itself a record that lists the rewritten payloads' new
//! hashes, so a payload may differ from its committed hash only where such a record says so.
//! `docs/audit-log.md` specifies the encoding so that anyone can verify a chain with their own
//! tools.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The hash that the first record follows.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash version of records written before payload hashes: the payloads are in the chain.
pub const V1: i32 = 1;
/// The hash version Steward writes: the payloads' SHA-256 are in the chain.
pub const V2: i32 = 2;

/// The action of the record that erases a person's data from older payloads.
pub const ERASE_ACTION: &str = "erase";

/// One appended change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// 1, 2, 3, … with no gaps.
    pub seq: i64,
    /// RFC 3339, UTC, microseconds.
    pub at: String,
    pub actor: String,
    /// `create`, `update`, `delete`, `erase`, or a sign-in's own actions.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// Canonical JSON of the record before the change; `None` when it was created.
    pub before: Option<String>,
    /// Canonical JSON of the record after the change; `None` when it was deleted.
    pub after: Option<String>,
    /// [`V1`] or [`V2`]: which encoding [`AuditRecord::compute_hash`] uses.
    pub version: i32,
    /// Version 2: the SHA-256 (hex) of `before` as written; what the chain commits to.
    pub before_hash: Option<String>,
    /// Version 2: the SHA-256 (hex) of `after` as written.
    pub after_hash: Option<String>,
    /// The `erase` record that rewrote this record's payloads, if one did.
    pub erased_by: Option<i64>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// A version 2 record of a change, not yet sealed.
    pub fn new(
        seq: i64,
        at: &str,
        actor: &str,
        action: &str,
        entity: (&str, &str),
        before: Option<String>,
        after: Option<String>,
    ) -> AuditRecord {
        AuditRecord::of_hashed(
            seq,
            at,
            actor,
            action,
            entity,
            before.map(Hashed::of),
            after.map(Hashed::of),
        )
    }

    /// [`AuditRecord::new`] with payloads already hashed (perhaps on another thread).
    pub fn of_hashed(
        seq: i64,
        at: &str,
        actor: &str,
        action: &str,
        (entity_type, entity_id): (&str, &str),
        before: Option<Hashed>,
        after: Option<Hashed>,
    ) -> AuditRecord {
        let (before, before_hash) = before.map(|h| (h.json, h.hash)).unzip();
        let (after, after_hash) = after.map(|h| (h.json, h.hash)).unzip();
        AuditRecord {
            seq,
            at: at.to_owned(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_owned(),
            before_hash,
            after_hash,
            before,
            after,
            version: V2,
            erased_by: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// The hash this record should carry, from its own fields (and, for version 1, its payloads).
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        if self.version == V1 {
            h.update(b"steward-audit-v1");
        } else {
            h.update(b"steward-audit-v2");
        }
        h.update(self.seq.to_be_bytes());
        for part in [
            &self.at,
            &self.actor,
            &self.action,
            &self.entity_type,
            &self.entity_id,
        ] {
            put(&mut h, Some(part));
        }
        if self.version == V1 {
            put(&mut h, self.before.as_deref());
            put(&mut h, self.after.as_deref());
        } else {
            put(&mut h, self.before_hash.as_deref());
            put(&mut h, self.after_hash.as_deref());
        }
        put(&mut h, Some(&self.prev_hash));
        hex(&h.finalize())
    }

    /// Seals a record: sets its previous hash and its own.
    pub fn seal(mut self, prev_hash: &str) -> AuditRecord {
        self.prev_hash = prev_hash.to_owned();
        self.hash = self.compute_hash();
        self
    }
}

/// A payload (canonical JSON) with its [`payload_hash`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub json: String,
    pub hash: String,
}

impl Hashed {
    pub fn of(json: String) -> Hashed {
        let hash = payload_hash(&json);
        Hashed { json, hash }
    }
}

/// The SHA-256 of a payload's UTF-8 bytes, lower-case hex: what a version 2 record commits to.
pub fn payload_hash(payload: &str) -> String {
    hex(&Sha256::digest(payload.as_bytes()))
}

/// A published `SEQ:HASH`: record SEQ carried HASH when it was read, so any later log must still
/// hold that record with that hash (and everything before it unchanged).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Anchor, String> {
        let (seq, hash) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected SEQ:HASH, as `steward audit head` prints"))?;
        let seq: i64 = seq.parse().ok().filter(|n| *n >= 0).ok_or_else(|| {
            format!("{seq:?}: the sequence number must be a whole number, 0 or more")
        })?;
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!(
                "{hash:?}: the hash must be 64 lower-case hexadecimal digits"
            ));
        }
        Ok(Anchor {
            seq,
            hash: hash.to_owned(),
        })
    }
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// What an `erase` record's `after` payload says: which entity was erased, why, which fields,
/// and the new hashes of every payload it rewrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Erasure {
    pub entity_type: String,
    pub entity_id: String,
    pub reason: String,
    /// The fields erased and the value each now holds (the erased marker, or null).
    pub fields: BTreeMap<String, serde_json::Value>,
    pub redacted: Vec<Redacted>,
}

/// One payload pair an erasure rewrote, with the hashes of what it now holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Redacted {
    pub seq: i64,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Erasure {
    /// The canonical JSON an `erase` record carries as its `after`.
    pub fn to_json(&self) -> String {
        canonical_json(&serde_json::to_value(self).unwrap_or(serde_json::Value::Null))
    }
}

fn put(h: &mut Sha256, part: Option<&str>) {
    match part {
        // u64::MAX can never be a length, so "absent" and "empty" differ.
        None => h.update(u64::MAX.to_be_bytes()),
        Some(s) => {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// JSON with object keys sorted and no white space, whatever the map type behind it.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match value {
        J::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&J::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Where a chain stops being trustworthy. The first break is reported; everything after it is
/// suspect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error(
        "record {expected} is missing: the next record found is {found} (removed or reordered)"
    )]
    Gap { expected: i64, found: i64 },
    #[error("record {seq} does not follow record {}: its previous hash is {found}, expected {expected} (removed, inserted or reordered)", seq - 1)]
    Link {
        seq: i64,
        expected: String,
        found: String,
    },
    #[error("record {seq} was altered: its content hashes to {computed}, it claims {stored}")]
    Altered {
        seq: i64,
        computed: String,
        stored: String,
    },
    #[error(
        "record {seq} was altered: its {which} payload no longer hashes to the hash the chain holds"
    )]
    PayloadAltered { seq: i64, which: &'static str },
    #[error("record {seq}'s payload was rewritten as erased by record {erased_by}: {reason}")]
    Erasure {
        seq: i64,
        erased_by: i64,
        reason: String,
    },
    #[error(
        "the chain ends at record {found} but the recorded head is record {expected}: records at the end were removed"
    )]
    Truncated { expected: i64, found: i64 },
    #[error("the chain's last hash {found} differs from the recorded head {expected}")]
    HeadMismatch { expected: String, found: String },
    #[error(
        "the log ends at record {last} but the anchor {seq}:{hash} names a later record: records were removed"
    )]
    AnchorMissing { seq: i64, hash: String, last: i64 },
    #[error(
        "record {seq} hashes to {found}, not the anchor's {expected}: the log was rewritten at or before record {seq}"
    )]
    AnchorMismatch {
        seq: i64,
        expected: String,
        found: String,
    },
    #[error(
        "the registers disagree with what the audit log records in {count} places; the first: {first}"
    )]
    Registers { count: u64, first: String },
}

/// A payload that differs from its committed hash, waiting for the `erase` record that names it.
#[derive(Debug)]
struct Pending {
    erased_by: i64,
    entity: (String, String),
    before: Option<String>,
    after: Option<String>,
}

/// Checks records in sequence order, one at a time, so a chain of any length verifies in memory
/// bounded by the payloads awaiting their erasure record, not by the log.
#[derive(Debug)]
pub struct ChainVerifier {
    next_seq: i64,
    last_hash: String,
    anchor: Option<Anchor>,
    pending: BTreeMap<i64, Pending>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            next_seq: 1,
            last_hash: GENESIS.to_owned(),
            anchor: None,
            pending: BTreeMap::new(),
        }
    }
}

impl ChainVerifier {
    /// A verifier that also proves the log still holds the anchor's record with its hash.
    pub fn with_anchor(anchor: Option<Anchor>) -> ChainVerifier {
        ChainVerifier {
            anchor,
            ..ChainVerifier::default()
        }
    }

    pub fn push(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        if record.seq != self.next_seq {
            return Err(ChainBreak::Gap {
                expected: self.next_seq,
                found: record.seq,
            });
        }
        if record.prev_hash != self.last_hash {
            return Err(ChainBreak::Link {
                seq: record.seq,
                expected: self.last_hash.clone(),
                found: record.prev_hash.clone(),
            });
        }
        let computed = record.compute_hash();
        if computed != record.hash {
            return Err(ChainBreak::Altered {
                seq: record.seq,
                computed,
                stored: record.hash.clone(),
            });
        }
        if let Some(anchor) = &self.anchor
            && anchor.seq == record.seq
            && anchor.hash != computed
        {
            return Err(ChainBreak::AnchorMismatch {
                seq: record.seq,
                expected: anchor.hash.clone(),
                found: computed,
            });
        }
        if record.version != V1 {
            self.check_payloads(record)?;
        }
        self.next_seq += 1;
        self.last_hash = computed;
        Ok(())
    }

    /// A version 2 record's payloads must hash to what the chain holds, unless a later `erase`
    /// record rewrote them — which it must then list with their new hashes.
    fn check_payloads(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        let before = record.before.as_deref().map(payload_hash);
        let after = record.after.as_deref().map(payload_hash);
        let which = if before != record.before_hash {
            Some("before")
        } else if after != record.after_hash {
            Some("after")
        } else {
            None
        };
        if let Some(which) = which {
            match record.erased_by {
                Some(erased_by) if erased_by > record.seq => {
                    self.pending.insert(
                        record.seq,
                        Pending {
                            erased_by,
                            entity: (record.entity_type.clone(), record.entity_id.clone()),
                            before,
                            after,
                        },
                    );
                }
                _ => {
                    return Err(ChainBreak::PayloadAltered {
                        seq: record.seq,
                        which,
                    });
                }
            }
        }
        if record.action == ERASE_ACTION {
            let erasure: Erasure = record
                .after
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .ok_or(ChainBreak::PayloadAltered {
                    seq: record.seq,
                    which: "after",
                })?;
            for listed in &erasure.redacted {
                let broken = |reason: &str| ChainBreak::Erasure {
                    seq: listed.seq,
                    erased_by: record.seq,
                    reason: reason.to_owned(),
                };
                let pending = self.pending.remove(&listed.seq).ok_or_else(|| {
                    broken("the erasure lists it, but its payload is not the erased one")
                })?;
                if pending.erased_by != record.seq
                    || pending.entity != (erasure.entity_type.clone(), erasure.entity_id.clone())
                {
                    return Err(broken("the erasure is of another entity"));
                }
                if pending.before != listed.before || pending.after != listed.after {
                    return Err(broken(
                        "its payload differs from the one the erasure recorded",
                    ));
                }
            }
        }
        // Every payload marked erased by a record already passed must have been listed by it.
        if let Some((&seq, p)) = self.pending.iter().find(|(_, p)| p.erased_by <= record.seq) {
            return Err(ChainBreak::Erasure {
                seq,
                erased_by: p.erased_by,
                reason: "that record does not list it".into(),
            });
        }
        Ok(())
    }

    /// Compares the end of the chain with the head the store recorded alongside it.
    pub fn finish(self, head: Option<(i64, &str)>) -> Result<ChainHead, ChainBreak> {
        let seq = self.next_seq - 1;
        if let Some(anchor) = self.anchor
            && anchor.seq > seq
        {
            return Err(ChainBreak::AnchorMissing {
                seq: anchor.seq,
                hash: anchor.hash,
                last: seq,
            });
        }
        if let Some((&pending, p)) = self.pending.iter().next() {
            return Err(ChainBreak::Erasure {
                seq: pending,
                erased_by: p.erased_by,
                reason: "there is no such erase record".into(),
            });
        }
        if let Some((head_seq, head_hash)) = head {
            if head_seq != seq {
                return Err(ChainBreak::Truncated {
                    expected: head_seq,
                    found: seq,
                });
            }
            if head_hash != self.last_hash {
                return Err(ChainBreak::HeadMismatch {
                    expected: head_hash.to_owned(),
                    found: self.last_hash,
                });
            }
        }
        Ok(ChainHead {
            seq,
            hash: self.last_hash,
        })
    }
}

/// The last record of a verified chain: publish it, and a later verify proves nothing before it
/// changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let r = AuditRecord::new(
                    seq,
                    &format!("2026-11-24T10:00:{seq:02}.000000Z"),
                    "cli:test",
                    "update",
                    ("person", &format!("P{seq}")),
                    Some(r#"{"a":1}"#.into()),
                    Some(r#"{"a":2}"#.into()),
                )
                .seal(&prev);
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn verify(records: &[AuditRecord], head: Option<(i64, &str)>) -> Result<ChainHead, ChainBreak> {
        let mut v = ChainVerifier::default();
        for r in records {
            v.push(r)?;
        }
        v.finish(head)
    }

    #[test]
    fn tampering_is_named_at_the_first_bad_record() {
        let good = chain(5);
        let head = (5, good[4].hash.as_str());
        assert_eq!(verify(&good, Some(head)).unwrap().seq, 5);

        let mut altered = good.clone();
        altered[2].after = Some(r#"{"a":3}"#.into());
        assert!(matches!(
            verify(&altered, Some(head)),
            Err(ChainBreak::PayloadAltered {
                seq: 3,
                which: "after"
            })
        ));
        let mut altered = good.clone();
        altered[2].actor = "cli:someone-else".into();
        assert!(matches!(
            verify(&altered, Some(head)),
            Err(ChainBreak::Altered { seq: 3, .. })
        ));

        let mut removed = good.clone();
        removed.remove(1);
        assert!(matches!(
            verify(&removed, Some(head)),
            Err(ChainBreak::Gap {
                expected: 2,
                found: 3
            })
        ));

        let mut swapped = good.clone();
        swapped.swap(1, 2);
        (swapped[1].seq, swapped[2].seq) = (2, 3);
        assert!(matches!(
            verify(&swapped, Some(head)),
            Err(ChainBreak::Link { seq: 2, .. })
        ));

        let truncated = &good[..4];
        assert!(matches!(
            verify(truncated, Some(head)),
            Err(ChainBreak::Truncated {
                expected: 5,
                found: 4
            })
        ));
    }

    #[test]
    fn absent_and_empty_hash_differently() {
        let mut a = chain(1).remove(0);
        a.before_hash = None;
        let mut b = a.clone();
        b.before_hash = Some(String::new());
        assert_ne!(a.compute_hash(), b.compute_hash());
        a.version = V1;
        a.before = None;
        let mut b = a.clone();
        b.before = Some(String::new());
        assert_ne!(a.compute_hash(), b.compute_hash());
    }

    /// Records written before payload hashes keep verifying, and a v2 chain continues them.
    #[test]
    fn version_1_records_still_verify_and_v2_continues_them() {
        let mut v1 = chain(3);
        let mut prev = GENESIS.to_owned();
        for r in &mut v1 {
            r.version = V1;
            r.before_hash = None;
            r.after_hash = None;
            *r = r.clone().seal(&prev);
            prev = r.hash.clone();
        }
        // The v1 hash, by the encoding docs/audit-log.md gives (computed with Python's hashlib).
        assert_eq!(
            v1[0].hash,
            "d65c96c6da9ebecc9f6d4ae7fc4e81e0643ef3974f9b4bc74ff6113a643fb5cc"
        );
        let next = AuditRecord::new(
            4,
            "2026-11-24T10:00:04.000000Z",
            "cli:test",
            "create",
            ("person", "P9"),
            None,
            Some("{}".into()),
        )
        .seal(&prev);
        v1.push(next.clone());
        assert_eq!(verify(&v1, Some((4, &next.hash))).map(|h| h.seq), Ok(4));
        v1[1].after = Some(r#"{"a":9}"#.into());
        assert!(matches!(
            verify(&v1, None),
            Err(ChainBreak::Altered { seq: 2, .. })
        ));
    }

    #[test]
    fn an_anchor_catches_a_cut_or_rechained_log() {
        let good = chain(6);
        let anchor = Anchor {
            seq: 5,
            hash: good[4].hash.clone(),
        };
        let with = |records: &[AuditRecord], head: (i64, &str)| {
            let mut v = ChainVerifier::with_anchor(Some(anchor.clone()));
            for r in records {
                v.push(r)?;
            }
            v.finish(Some(head))
        };
        assert!(with(&good, (6, &good[5].hash)).is_ok());
        // Cut after record 3, head moved back: consistent on its own, but not with the anchor.
        let cut = &good[..3];
        assert!(verify(cut, Some((3, &cut[2].hash))).is_ok());
        assert!(matches!(
            with(cut, (3, &cut[2].hash)),
            Err(ChainBreak::AnchorMissing {
                seq: 5,
                last: 3,
                ..
            })
        ));
        // Record 2 edited and everything after re-chained: consistent, but record 5 moved.
        let mut rechained = good.clone();
        rechained[1].actor = "cli:forger".into();
        let mut prev = rechained[0].hash.clone();
        for r in &mut rechained[1..] {
            *r = r.clone().seal(&prev);
            prev = r.hash.clone();
        }
        let head = rechained[5].hash.clone();
        assert!(verify(&rechained, Some((6, &head))).is_ok());
        assert!(matches!(
            with(&rechained, (6, &head)),
            Err(ChainBreak::AnchorMismatch { seq: 5, .. })
        ));
        assert!("5:abc".parse::<Anchor>().is_err());
        assert!("x:".parse::<Anchor>().is_err());
        assert_eq!(anchor.to_string().parse::<Anchor>(), Ok(anchor));
    }

    /// An erased payload verifies only when a later `erase` record of the same entity lists its
    /// new hashes.
    #[test]
    fn erased_payloads_verify_only_as_their_erasure_lists_them() {
        let mut records = chain(3);
        let redacted = r#"{"a":"[erased]"}"#.to_owned();
        let erasure = Erasure {
            entity_type: "person".into(),
            entity_id: "P2".into(),
            reason: "left in 2020".into(),
            fields: [("a".to_owned(), serde_json::json!("[erased]"))].into(),
            redacted: vec![Redacted {
                seq: 2,
                before: Some(payload_hash(&redacted)),
                after: Some(payload_hash(&redacted)),
            }],
        };
        let erase = AuditRecord::new(
            4,
            "2026-11-25T10:00:00.000000Z",
            "cli:admin",
            ERASE_ACTION,
            ("person", "P2"),
            None,
            Some(erasure.to_json()),
        )
        .seal(&records[2].hash);
        records.push(erase);
        records[1].before = Some(redacted.clone());
        records[1].after = Some(redacted.clone());
        // Rewritten but not (yet) marked: tampering.
        assert!(matches!(
            verify(&records, None),
            Err(ChainBreak::PayloadAltered { seq: 2, .. })
        ));
        records[1].erased_by = Some(4);
        assert!(verify(&records, None).is_ok());
        // Any other change to an erased payload is caught.
        records[1].after = Some(r#"{"a":"someone"}"#.into());
        assert!(matches!(
            verify(&records, None),
            Err(ChainBreak::Erasure {
                seq: 2,
                erased_by: 4,
                ..
            })
        ));
        // Marking a record erased that the erasure does not list is caught.
        records[1].after = Some(redacted);
        records[2].after = Some(r#"{"a":"x"}"#.into());
        records[2].erased_by = Some(4);
        assert!(matches!(
            verify(&records, None),
            Err(ChainBreak::Erasure {
                seq: 3,
                erased_by: 4,
                ..
            })
        ));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":{"z":1,"a":[true,null]},"a":"x\"y"}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"x\"y","b":{"a":[true,null],"z":1}}"#
        );
    }
}
