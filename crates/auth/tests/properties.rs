//! Properties over arbitrary input: round trips, idempotence, and no panics anywhere.

use proptest::prelude::*;
use steward_auth::{
    RecoveryCodes, Totp, base32_decode, base32_encode, check_new_password, csrf_ok, csrf_token,
    qr_svg, verify_password,
};

/// A code as `RecoveryCodes` writes them: 12 symbols of its alphabet in groups of 4.
fn recovery_code() -> impl Strategy<Value = String> {
    "[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{4}"
}

/// Mangles text the way people type it: random case, and spaces or dashes sprinkled in.
fn mangle(text: &str, noise: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        let n = noise.get(i % noise.len().max(1)).copied().unwrap_or(0);
        out.push(if n & 1 == 1 {
            c.to_ascii_uppercase()
        } else {
            c
        });
        match n >> 5 {
            1 => out.push(' '),
            2 => out.push('-'),
            3 => out.push_str(" \t"),
            _ => {}
        }
    }
    out
}

proptest! {
    #[test]
    fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let encoded = base32_encode(&bytes);
        prop_assert_eq!(encoded.len(), (bytes.len() * 8).div_ceil(5));
        prop_assert_eq!(base32_decode(&encoded), Ok(bytes));
    }

    #[test]
    fn base32_decodes_lower_case_spaced_and_padded(
        bytes in proptest::collection::vec(any::<u8>(), 0..60),
        noise in proptest::collection::vec(any::<u8>(), 1..20),
    ) {
        let encoded = base32_encode(&bytes);
        let padding = "=".repeat((8 - encoded.len() % 8) % 8);
        let messy: String = mangle(&encoded.to_lowercase(), &noise).replace('-', " ");
        prop_assert_eq!(base32_decode(&format!("{messy}{padding}")), Ok(bytes));
    }

    #[test]
    fn base32_decode_never_panics(text in any::<String>()) {
        let _ = base32_decode(&text);
    }

    #[test]
    fn normalise_is_idempotent(text in any::<String>()) {
        let once = RecoveryCodes::normalise(&text);
        prop_assert_eq!(RecoveryCodes::normalise(&once), once.clone());
    }

    #[test]
    fn typed_codes_match_however_mangled(
        code in recovery_code(),
        noise in proptest::collection::vec(any::<u8>(), 1..20),
    ) {
        let stored = RecoveryCodes::hash(&code);
        let typed = mangle(&code, &noise);
        prop_assert_eq!(RecoveryCodes::normalise(&typed), RecoveryCodes::normalise(&code));
        prop_assert!(RecoveryCodes::matches(&typed, &stored));
    }

    #[test]
    fn password_policy_never_panics(password in any::<String>(), email in any::<String>()) {
        let _ = check_new_password(&password, &email);
    }

    #[test]
    fn totp_codes_verify_at_their_own_time(
        secret in proptest::collection::vec(any::<u8>(), 16..=64),
        unix_secs in any::<u64>(),
    ) {
        let totp = Totp::from_secret(secret).unwrap();
        let code = totp.code_at(unix_secs);
        prop_assert_eq!(code.len(), 6);
        prop_assert_eq!(totp.verify(&code, unix_secs, None), Some(unix_secs / 30));
        prop_assert_eq!(totp.verify(&code, unix_secs, Some(unix_secs / 30)), None);
    }

    #[test]
    fn totp_verify_never_panics(code in any::<String>(), unix_secs in any::<u64>(), last in any::<Option<u64>>()) {
        let totp = Totp::from_secret(b"12345678901234567890".to_vec()).unwrap();
        let _ = totp.verify(&code, unix_secs, last);
    }

    #[test]
    fn csrf_tokens_verify(secret in proptest::collection::vec(any::<u8>(), 0..100), session in any::<String>()) {
        let token = csrf_token(&secret, &session);
        prop_assert!(csrf_ok(&secret, &session, &token));
        let other = format!("{session}x");
        prop_assert!(!csrf_ok(&secret, &other, &token));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn qr_svg_never_panics(text in any::<String>()) {
        if let Ok(svg) = qr_svg(&text) {
            prop_assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        }
    }

    #[test]
    fn verify_password_never_panics_on_stored_junk(phc in any::<String>(), password in any::<String>()) {
        let _ = verify_password(&password, &phc);
        let prefixed = format!("$argon2id$v=19$m=19456,t=2,p=1${phc}");
        prop_assert!(verify_password(&password, &prefixed) != Ok(true));
    }
}
