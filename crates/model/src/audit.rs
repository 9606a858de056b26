//! The audit log's record, canonical encoding and hash chain.
//!
//! Each record's hash is SHA-256 over a length-prefixed encoding of its fields, the previous
//! record's hash included, so altering, removing or reordering any record breaks the chain from
//! that point on. `docs/audit-log.md` specifies the encoding so that anyone can verify a chain
//! with their own tools.

use sha2::{Digest, Sha256};

/// The hash that the first record follows.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One appended change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// 1, 2, 3, … with no gaps.
    pub seq: i64,
    /// RFC 3339, UTC, microseconds.
    pub at: String,
    pub actor: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// Canonical JSON of the record before the change; `None` when it was created.
    pub before: Option<String>,
    /// Canonical JSON of the record after the change; `None` when it was deleted.
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The hash this record should carry, from its own fields.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"steward-audit-v1");
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
        put(&mut h, self.before.as_deref());
        put(&mut h, self.after.as_deref());
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
        "the chain ends at record {found} but the recorded head is record {expected}: records at the end were removed"
    )]
    Truncated { expected: i64, found: i64 },
    #[error("the chain's last hash {found} differs from the recorded head {expected}")]
    HeadMismatch { expected: String, found: String },
}

/// Checks records in sequence order, one at a time, so a chain of any length verifies in constant
/// memory.
#[derive(Debug)]
pub struct ChainVerifier {
    next_seq: i64,
    last_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            next_seq: 1,
            last_hash: GENESIS.to_owned(),
        }
    }
}

impl ChainVerifier {
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
        self.next_seq += 1;
        self.last_hash = computed;
        Ok(())
    }

    /// Compares the end of the chain with the head the store recorded alongside it.
    pub fn finish(self, head: Option<(i64, &str)>) -> Result<ChainHead, ChainBreak> {
        let seq = self.next_seq - 1;
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
                let r = AuditRecord {
                    seq,
                    at: format!("2026-11-24T10:00:{seq:02}.000000Z"),
                    actor: "cli:test".into(),
                    action: "update".into(),
                    entity_type: "person".into(),
                    entity_id: format!("P{seq}"),
                    before: Some(r#"{"a":1}"#.into()),
                    after: Some(r#"{"a":2}"#.into()),
                    prev_hash: String::new(),
                    hash: String::new(),
                }
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
        a.before = None;
        let mut b = a.clone();
        b.before = Some(String::new());
        assert_ne!(a.compute_hash(), b.compute_hash());
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
