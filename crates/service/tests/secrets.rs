//! TOTP secrets sealed at rest, on each backend: what is stored is not the secret, codes still
//! verify, a wrong key is a clear error, plain-text secrets from before are sealed on start, and a
//! key rotation keeps everyone signing in.

use chrono::{DateTime, TimeDelta, Utc};
use steward_auth::Totp;
use steward_service::{SecretError, SecretKey, SecretKeys, ServiceError, Stamp, Steward};
use steward_store::testing::databases;

const EMAIL: &str = "admin@example.org";
const PASSWORD: &str = "a long enough passphrase for tests";

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
        + TimeDelta::minutes(minutes)
}

fn stamp(minutes: i64) -> Stamp {
    Stamp::at("test", at(minutes))
}

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes([byte; 32])
}

fn open(url: &str, keys: SecretKeys) -> Steward {
    Steward::open(url)
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
        .with_secret_keys(keys)
}

/// A code for the secret at the given minute (each minute a fresh time step).
fn code(secret: &str, minutes: i64) -> String {
    let totp = Totp::from_base32(secret).unwrap_or_else(|e| panic!("{e}"));
    totp.code_at(u64::try_from(at(minutes).timestamp()).unwrap_or(0))
}

fn stored_secret(steward: &Steward) -> String {
    steward
        .store()
        .sign_in(EMAIL)
        .unwrap_or_else(|e| panic!("{e}"))
        .and_then(|a| a.totp_secret)
        .unwrap_or_else(|| panic!("no secret stored"))
}

#[test]
fn secrets_are_sealed_and_still_verify() {
    for db in databases("secrets_sealed") {
        let b = db.backend;
        let steward = open(&db.url, SecretKeys::new(key(1)));
        steward
            .create_first_administrator(&stamp(0), EMAIL, "Admin", PASSWORD)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let secret = steward
            .enrol_authenticator(&stamp(0), EMAIL)
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        // What someone reading the database finds is not the secret.
        let stored = stored_secret(&steward);
        assert!(!stored.contains(&secret), "{b}: {stored}");
        assert!(
            stored.starts_with(&format!("v1:{}:", key(1).id())),
            "{b}: {stored}"
        );

        // A code from the authenticator still verifies, once.
        steward
            .check_second_factor(&stamp(1), EMAIL, &code(&secret, 1))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            steward
                .check_second_factor(&stamp(1), EMAIL, &code(&secret, 1))
                .is_err(),
            "{b}: a code replayed"
        );

        // Another server started with the wrong key: a clear error naming the key, no panic.
        let wrong = open(&db.url, SecretKeys::new(key(2)));
        match wrong.check_second_factor(&stamp(2), EMAIL, &code(&secret, 2)) {
            Err(ServiceError::Secret(e @ SecretError::UnknownKey { .. })) => {
                let text = e.to_string();
                assert!(text.contains(key(1).id()), "{b}: {text}");
                assert!(!text.contains(&secret), "{b}: {text}");
            }
            other => panic!("{b}: expected an unknown key, got {other:?}"),
        }

        // Enrolment that has begun but not finished keeps its secret sealed too.
        steward
            .reset_second_factor(&stamp(3), EMAIL)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let (pending, _, _) = steward
            .begin_enrolment(&stamp(3), EMAIL)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(!stored_secret(&steward).contains(&pending), "{b}");
        let (again, _, _) = steward
            .begin_enrolment(&stamp(3), EMAIL)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(again, pending, "{b}: the pending secret is offered again");
        steward
            .confirm_enrolment(&stamp(4), EMAIL, &code(&pending, 4))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        steward
            .check_second_factor(&stamp(5), EMAIL, &code(&pending, 5))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn plain_text_secrets_are_sealed_on_start_and_rotation_keeps_sign_in_working() {
    for db in databases("secrets_rotate") {
        let b = db.backend;
        let steward = open(&db.url, SecretKeys::new(key(1)));
        steward
            .create_first_administrator(&stamp(0), EMAIL, "Admin", PASSWORD)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // The reproduction: a secret as earlier versions stored it, in plain text.
        let secret = Totp::generate(20)
            .unwrap_or_else(|e| panic!("{e}"))
            .secret_base32();
        let mut account = steward
            .store()
            .sign_in(EMAIL)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no account"));
        account.totp_secret = Some(secret.clone());
        account.mfa_enrolled_at = Some(at(0));
        steward
            .store()
            .save_sign_in("test", at(0), "enrol_mfa", &account)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            stored_secret(&steward),
            secret,
            "{b}: plain as stored before"
        );

        // First start with a key: sealed, audited, and the code still works.
        assert_eq!(steward.seal_plain_secrets(&stamp(1)).ok(), Some(1), "{b}");
        assert!(!stored_secret(&steward).contains(&secret), "{b}");
        assert_eq!(steward.seal_plain_secrets(&stamp(1)).ok(), Some(0), "{b}");
        let mut actions = Vec::new();
        steward
            .audit_log(&Default::default(), &mut |r| {
                actions.push(r.action.clone());
                assert!(
                    !r.after.as_deref().unwrap_or("").contains(&secret),
                    "{b}: the audit log holds the secret"
                );
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            actions.iter().any(|a| a == "seal_totp_secret"),
            "{b}: {actions:?}"
        );
        steward
            .check_second_factor(&stamp(2), EMAIL, &code(&secret, 2))
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        // A connector's credential, sealed under the same key.
        let settings = [
            ("tenant", "contoso.onmicrosoft.com"),
            ("client_id", "app-id"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let definition =
            steward_connect::Definition::new("m365", steward_connect::Kind::Microsoft365, settings)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        steward
            .save_connector(&stamp(2), &definition, Some("client-secret"))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let credential = |s: &Steward| {
            s.store()
                .connectors()
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .into_iter()
                .find_map(|c| c.secret)
                .unwrap_or_else(|| panic!("{b}: no credential stored"))
        };
        assert!(
            credential(&steward).starts_with(&format!("v1:{}:", key(1).id())),
            "{b}"
        );
        // And a webhook's signing secret.
        steward
            .subscribe_webhook(
                &stamp(2),
                "http://127.0.0.1:9/hook",
                &["incident.reported".to_owned()],
                true,
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let hook_secret = |s: &Steward| {
            s.store()
                .webhooks()
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .into_iter()
                .map(|w| w.secret)
                .next()
                .unwrap_or_else(|| panic!("{b}: no webhook stored"))
        };

        // Rotation: the new key seals, the old one still opens until every secret is resealed —
        // the accounts' and the connectors' alike.
        let rotating = open(&db.url, SecretKeys::new(key(2)).with_older(key(1)));
        rotating
            .check_second_factor(&stamp(3), EMAIL, &code(&secret, 3))
            .unwrap_or_else(|e| panic!("{b}: the old key opens during rotation: {e}"));
        assert_eq!(rotating.reseal_secrets(&stamp(4)).ok(), Some(3), "{b}");
        assert_eq!(rotating.reseal_secrets(&stamp(4)).ok(), Some(0), "{b}");
        assert!(
            credential(&rotating).starts_with(&format!("v1:{}:", key(2).id())),
            "{b}: the connector's credential is under the new key"
        );
        assert!(
            hook_secret(&rotating).starts_with(&format!("v1:{}:", key(2).id())),
            "{b}: the webhook's secret is under the new key"
        );
        let verdict = steward_store::verify_audit_full(rotating.store(), None, 10)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(
            verdict.is_ok(),
            "{b}: the log matches the tables: {verdict:?}"
        );
        assert!(
            stored_secret(&rotating).starts_with(&format!("v1:{}:", key(2).id())),
            "{b}"
        );

        // After it, the new key alone signs in, and the old key alone no longer can.
        let after = open(&db.url, SecretKeys::new(key(2)));
        after
            .check_second_factor(&stamp(5), EMAIL, &code(&secret, 5))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let before = open(&db.url, SecretKeys::new(key(1)));
        assert!(
            matches!(
                before.check_second_factor(&stamp(6), EMAIL, &code(&secret, 6)),
                Err(ServiceError::Secret(SecretError::UnknownKey { .. }))
            ),
            "{b}"
        );
    }
}

#[test]
fn secrets_that_do_not_open_under_the_keys_given_are_named() {
    for db in databases("secrets_unopenable") {
        let b = db.backend;
        let steward = open(&db.url, SecretKeys::new(key(1)));
        steward
            .create_first_administrator(&stamp(0), EMAIL, "Admin", PASSWORD)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        steward
            .enrol_authenticator(&stamp(0), EMAIL)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let found = steward
            .unopenable_secrets()
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(found.is_empty(), "{b}: {found:?}");
        // The same database under another key (a restore without the key it was sealed with).
        let other = open(&db.url, SecretKeys::new(key(2)));
        let found = other
            .unopenable_secrets()
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(found.len(), 1, "{b}: {found:?}");
        assert_eq!(found[0].0, EMAIL, "{b}");
        assert!(
            matches!(found[0].1, SecretError::UnknownKey { .. }),
            "{b}: {found:?}"
        );
        // With the old key among the older ones, it opens again.
        let both = open(&db.url, SecretKeys::new(key(2)).with_older(key(1)));
        assert!(
            both.unopenable_secrets()
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .is_empty(),
            "{b}"
        );
    }
}
