//! Session and CSRF tokens, recovery codes and session lifetimes.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use steward_auth::{
    AuthError, DEFAULT_RECOVERY_CODES, MAX_RECOVERY_CODES, RecoveryCodes, SESSION_ABSOLUTE_TIMEOUT,
    SESSION_IDLE_TIMEOUT, SessionTimes, TOKEN_BYTES, csrf_ok, csrf_token, new_token, token_hash,
};

#[test]
fn tokens_are_43_url_safe_characters_and_distinct() {
    let tokens: HashSet<String> = (0..100).map(|_| new_token().unwrap()).collect();
    assert_eq!(tokens.len(), 100);
    for token in &tokens {
        assert_eq!(token.len(), (TOKEN_BYTES * 4).div_ceil(3));
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{token}"
        );
    }
}

#[test]
fn token_hash_is_sha256_hex() {
    assert_eq!(
        token_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        token_hash(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn csrf_tokens_bind_secret_and_session() {
    let secret = [7u8; 32];
    let token = csrf_token(&secret, "session-1");
    assert_eq!(token.len(), 43);
    assert_eq!(token, csrf_token(&secret, "session-1"));
    // (secret, session, presented, expected)
    let cases: Vec<(&[u8], &str, String, bool)> = vec![
        (&secret, "session-1", token.clone(), true),
        (&secret, "session-2", token.clone(), false),
        (&[8u8; 32], "session-1", token.clone(), false),
        (&secret, "session-1", String::new(), false),
        (&secret, "session-1", token[..42].to_owned(), false),
        (&secret, "session-1", format!("{token}x"), false),
        (&secret, "session-1", token.to_uppercase(), false),
        (&secret, "", csrf_token(&secret, ""), true),
        (&[], "session-1", csrf_token(&[], "session-1"), true),
    ];
    for (key, session, presented, expected) in cases {
        assert_eq!(
            csrf_ok(key, session, &presented),
            expected,
            "{session:?} {presented:?}"
        );
    }
}

#[test]
fn recovery_codes_are_grouped_unambiguous_and_distinct() {
    let codes = RecoveryCodes::generate(DEFAULT_RECOVERY_CODES).unwrap();
    assert_eq!(codes.codes().len(), 10);
    let unique: HashSet<&String> = codes.codes().iter().collect();
    assert_eq!(unique.len(), 10);
    for code in codes.codes() {
        assert_eq!(code.len(), 14, "{code}");
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 3, "{code}");
        for group in groups {
            assert_eq!(group.len(), 4, "{code}");
            assert!(
                group
                    .chars()
                    .all(|c| c.is_ascii_digit() || (c.is_ascii_lowercase() && !"ilou".contains(c))),
                "{code}"
            );
        }
    }
    let hashes = codes.stored_hashes();
    for (code, hash) in codes.codes().iter().zip(&hashes) {
        assert_eq!(hash.len(), 64);
        assert!(RecoveryCodes::matches(code, hash));
    }
    assert!(!format!("{codes:?}").contains(&codes.codes()[0]));
    for n in [0, MAX_RECOVERY_CODES + 1, usize::MAX] {
        assert!(matches!(
            RecoveryCodes::generate(n),
            Err(AuthError::OutOfRange { .. })
        ));
    }
}

#[test]
fn recovery_code_input_is_forgiving() {
    let stored = RecoveryCodes::hash("ab0d-ef1h-jkmn");
    // (typed, matches)
    let cases = [
        ("ab0d-ef1h-jkmn", true),
        ("AB0D-EF1H-JKMN", true),
        ("ab0def1hjkmn", true),
        (" ab0d ef1h jkmn ", true),
        ("ab0d – ef1h — jkmn", true),
        ("abod-efih-jkmn", true),
        ("ABOD-EFLH-JKMN", true),
        ("ab0d-ef1h-jkm", false),
        ("ab0d-ef1h-jkmnp", false),
        ("ab0d-ef1h-jkmm", false),
        ("ab0d_ef1h_jkmn", false),
        ("", false),
    ];
    for (typed, expected) in cases {
        assert_eq!(
            RecoveryCodes::matches(typed, &stored),
            expected,
            "{typed:?}"
        );
    }
    assert!(RecoveryCodes::matches(
        "ab0d-ef1h-jkmn",
        &stored.to_uppercase()
    ));
    assert!(!RecoveryCodes::matches("ab0d-ef1h-jkmn", "not a hash"));
    assert_eq!(RecoveryCodes::normalise(" AbOd-EfIh-JkLn "), "ab0def1hjk1n");
}

#[test]
fn find_says_which_stored_code_was_used() {
    let codes = RecoveryCodes::generate(5).unwrap();
    let stored = codes.stored_hashes();
    for (i, code) in codes.codes().iter().enumerate() {
        assert_eq!(RecoveryCodes::find(&code.to_uppercase(), &stored), Some(i));
    }
    assert_eq!(RecoveryCodes::find("0000-0000-0000", &stored), None);
    assert_eq!(RecoveryCodes::find(&codes.codes()[0], &[]), None);
}

fn at(hour: u32, min: u32, sec: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, min, sec).unwrap()
}

#[test]
fn sessions_end_when_idle_or_old() {
    assert_eq!(SESSION_IDLE_TIMEOUT, TimeDelta::minutes(30));
    assert_eq!(SESSION_ABSOLUTE_TIMEOUT, TimeDelta::hours(12));
    let (idle, absolute) = (SESSION_IDLE_TIMEOUT, SESSION_ABSOLUTE_TIMEOUT);
    // (created, last seen, now, live)
    let cases = [
        (at(9, 0, 0), at(9, 0, 0), at(9, 0, 0), true),
        (at(9, 0, 0), at(9, 0, 0), at(9, 29, 59), true),
        (at(9, 0, 0), at(9, 0, 0), at(9, 30, 0), false),
        (at(9, 0, 0), at(20, 45, 0), at(20, 59, 59), true),
        (at(9, 0, 0), at(20, 45, 0), at(21, 0, 0), false),
        (at(9, 0, 0), at(20, 59, 59), at(21, 0, 0), false),
        // A clock behind the stored times: still live, not an error.
        (at(9, 0, 0), at(9, 10, 0), at(8, 0, 0), true),
    ];
    for (created, last_seen, now, live) in cases {
        let session = SessionTimes { created, last_seen };
        assert_eq!(
            session.is_live(now, idle, absolute),
            live,
            "{session:?} at {now}"
        );
    }
}

#[test]
fn session_touch_and_expiry() {
    let mut session = SessionTimes::new(at(9, 0, 0));
    let (idle, absolute) = (SESSION_IDLE_TIMEOUT, SESSION_ABSOLUTE_TIMEOUT);
    assert_eq!(session.expires_at(idle, absolute), Some(at(9, 30, 0)));
    session.touch(at(20, 50, 0));
    assert_eq!(session.expires_at(idle, absolute), Some(at(21, 0, 0)));
    session.touch(at(10, 0, 0));
    assert_eq!(session.last_seen, at(20, 50, 0));
    assert_eq!(session.expires_at(TimeDelta::MAX, absolute), None);
    assert!(!session.is_live(at(21, 0, 0), idle, absolute));
    assert!(session.is_live(at(20, 59, 0), idle, TimeDelta::MAX));
}
