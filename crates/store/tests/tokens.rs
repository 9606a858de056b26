//! API tokens on every backend: created with one audit record, found by the hash of their
//! secret, touched without an audit record, revoked once (audited), the hash never in the log,
//! and a token changed behind the log's back found by verification.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_store::testing::databases;
use steward_store::{API_TOKEN_ENTITY, ApiTokenRow, AuditQuery, Store, verify_audit_full};

fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(n)
}

fn token(id: &str, hash: &str, holder: &str, n: i64) -> ApiTokenRow {
    ApiTokenRow {
        id: id.to_owned(),
        name: format!("token {id}"),
        token_hash: hash.to_owned(),
        holder: holder.to_owned(),
        capacities: holder
            .starts_with("service:")
            .then(|| "it;auditor".to_owned()),
        access: "read".to_owned(),
        registers: Some("people;assets".to_owned()),
        expires_at: t(n) + Duration::days(90),
        created_at: t(n),
        created_by: "test:admin".to_owned(),
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
    }
}

const HASH_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HASH_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

#[test]
fn api_tokens_are_kept_audited_without_their_hash_and_verified() {
    for db in databases("api_tokens") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        assert!(store.api_tokens().unwrap().is_empty(), "{b}");

        let mine = token("tok_personal000001", HASH_A, "grace@example.org", 0);
        let sync = token("tok_service0000002", HASH_B, "service:backup", 1);
        store
            .create_api_token(&mine)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        store
            .create_api_token(&sync)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // The same hash again is refused, and nothing is written.
        assert!(
            store
                .create_api_token(&token("tok_duplicate00003", HASH_A, "x@example.org", 2))
                .is_err(),
            "{b}"
        );

        let all = store.api_tokens().unwrap();
        assert_eq!(all, vec![sync.clone(), mine.clone()], "{b}: newest first");
        assert_eq!(
            store.api_token_by_hash(HASH_A).unwrap().as_ref(),
            Some(&mine),
            "{b}"
        );
        assert_eq!(store.api_token_by_hash("cc").unwrap(), None, "{b}");

        // A touch is kept and not audited.
        let head = store.audit_head().unwrap();
        store.touch_api_token(&mine.id, t(5)).unwrap();
        assert_eq!(
            store
                .api_token_by_hash(HASH_A)
                .unwrap()
                .and_then(|t| t.last_used_at),
            Some(t(5)),
            "{b}"
        );
        assert_eq!(
            store.audit_head().unwrap(),
            head,
            "{b}: a touch is not audited"
        );
        store.touch_api_token("tok_nosuchtoken0000", t(5)).unwrap();

        // Revoked once; again, or a token that is not there, writes nothing.
        let revoked = store
            .revoke_api_token(&sync.id, "test:other", t(6))
            .unwrap()
            .unwrap_or_else(|| panic!("{b}: revoked"));
        assert_eq!(revoked.revoked_at, Some(t(6)), "{b}");
        assert_eq!(revoked.revoked_by.as_deref(), Some("test:other"), "{b}");
        let head = store.audit_head().unwrap();
        assert_eq!(
            store
                .revoke_api_token(&sync.id, "test:other", t(7))
                .unwrap(),
            None,
            "{b}"
        );
        assert_eq!(
            store
                .revoke_api_token("tok_nosuchtoken0000", "test:other", t(7))
                .unwrap(),
            None,
            "{b}"
        );
        assert_eq!(store.audit_head().unwrap(), head, "{b}");
        assert_eq!(
            store
                .api_token_by_hash(HASH_B)
                .unwrap()
                .and_then(|t| t.revoked_at),
            Some(t(6)),
            "{b}"
        );

        let mut records = Vec::new();
        store
            .audit_records(&AuditQuery::default(), &mut |r| {
                records.push(r);
                Ok(())
            })
            .unwrap();
        let tokens: Vec<_> = records
            .iter()
            .filter(|r| r.entity_type == API_TOKEN_ENTITY)
            .collect();
        let seen: Vec<(&str, &str, &str)> = tokens
            .iter()
            .map(|r| (r.action.as_str(), r.entity_id.as_str(), r.actor.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("create", mine.id.as_str(), "test:admin"),
                ("create", sync.id.as_str(), "test:admin"),
                ("revoke", sync.id.as_str(), "test:other"),
            ],
            "{b}"
        );
        for r in &tokens {
            for state in [&r.before, &r.after].into_iter().flatten() {
                assert!(
                    !state.contains(HASH_A) && !state.contains(HASH_B),
                    "{b}: the hash is in the log: {state}"
                );
            }
        }
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(verdict.is_ok(), "{b}: {verdict:?}");

        // A revoked token brought back behind the log's back is found; so is a hash swapped
        // for one whose secret someone knows.
        db.execute(&format!(
            "UPDATE api_tokens SET revoked_at = NULL, revoked_by = NULL WHERE id = '{}'",
            sync.id
        ))
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        db.execute(&format!(
            "UPDATE api_tokens SET token_hash = 'dd' WHERE id = '{}'",
            mine.id
        ))
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        let verdict = verify_audit_full(store, None, 10).unwrap();
        for id in [&sync.id, &mine.id] {
            assert!(
                verdict
                    .differences
                    .iter()
                    .any(|d| d.register == "api_tokens" && &d.id == id),
                "{b}: {id}: {verdict:?}"
            );
        }
        let revived = verdict
            .differences
            .iter()
            .find(|d| d.id == sync.id)
            .map(|d| d.fields.clone())
            .unwrap_or_default();
        assert_eq!(revived, ["revoked_at", "revoked_by"], "{b}");
    }
}
