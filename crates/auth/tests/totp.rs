//! TOTP through the public API: drift, replay, enrolment URI and QR code, and base32 input.

use steward_auth::{
    AuthError, DEFAULT_TOTP_SECRET_LEN, MAX_TOTP_SECRET_LEN, MIN_TOTP_SECRET_LEN, Totp,
    base32_decode, base32_encode, qr_svg,
};

/// RFC 6238's SHA-1 secret.
fn rfc() -> Totp {
    Totp::from_secret(b"12345678901234567890".to_vec()).unwrap()
}

#[test]
fn rfc_6238_six_digit_codes() {
    let totp = rfc();
    // The last six digits of appendix B's eight.
    let cases = [
        (59, "287082"),
        (1_111_111_109, "081804"),
        (1_111_111_111, "050471"),
        (1_234_567_890, "005924"),
        (2_000_000_000, "279037"),
        (20_000_000_000, "353130"),
    ];
    for (secs, code) in cases {
        assert_eq!(totp.code_at(secs), code, "at {secs}");
        assert_eq!(totp.verify(code, secs, None), Some(secs / 30), "at {secs}");
    }
}

#[test]
fn verify_accepts_one_step_of_drift_and_refuses_replay() {
    let totp = rfc();
    let t = 1_234_567_890; // step 41152263, 0 seconds into it
    let step = t / 30;
    let code = totp.code_at(t);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    // (code, time typed, last used step, expected)
    let cases: Vec<(&str, u64, Option<u64>, Option<u64>)> = vec![
        (&code, t, None, Some(step)),
        (&code, t + 29, None, Some(step)),
        (&spaced, t, None, Some(step)),
        // The phone's clock a step behind or ahead of the server's.
        (&code, t + 30, None, Some(step)),
        (&code, t + 59, None, Some(step)),
        (&code, t - 1, None, Some(step)),
        (&code, t - 30, None, Some(step)),
        // Two steps out is too far.
        (&code, t + 60, None, None),
        (&code, t - 31, None, None),
        // Replay: the same step, or an earlier one, once used, is refused.
        (&code, t, Some(step), None),
        (&code, t + 30, Some(step), None),
        (&code, t, Some(step + 1), None),
        (&code, t, Some(step - 1), Some(step)),
        // Not a code.
        ("", t, None, None),
        ("12345", t, None, None),
        ("1234567", t, None, None),
        ("12a456", t, None, None),
        ("１２３４５６", t, None, None),
    ];
    let mut failures = Vec::new();
    for (input, at, last_used, expected) in cases {
        let got = totp.verify(input, at, last_used);
        if got != expected {
            failures.push(format!(
                "{input:?} at {at} after {last_used:?}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_code_is_used_once_in_a_sign_in_sequence() {
    let totp = rfc();
    let t = 2_000_000_000;
    let code = totp.code_at(t);
    let used = totp.verify(&code, t, None);
    assert!(used.is_some());
    // Typed again ten seconds later: refused.
    assert_eq!(totp.verify(&code, t + 10, used), None);
    // The next step's code is fine.
    let next = totp.code_at(t + 30);
    assert_eq!(totp.verify(&next, t + 30, used), used.map(|s| s + 1));
}

#[test]
fn generated_secrets_are_random_and_sized() {
    let a = Totp::generate(DEFAULT_TOTP_SECRET_LEN).unwrap();
    let b = Totp::generate(DEFAULT_TOTP_SECRET_LEN).unwrap();
    assert_eq!(a.secret().len(), 20);
    assert_ne!(a, b);
    assert_eq!(a.secret_base32().len(), 32);
    assert_eq!(Totp::from_base32(&a.secret_base32()).unwrap(), a);
    assert!(!format!("{a:?}").contains(&a.secret_base32()));
    for len in [
        0,
        MIN_TOTP_SECRET_LEN - 1,
        MAX_TOTP_SECRET_LEN + 1,
        usize::MAX,
    ] {
        assert!(
            matches!(Totp::generate(len), Err(AuthError::OutOfRange { value, .. }) if value == len),
            "{len}"
        );
    }
    assert!(Totp::from_secret(vec![1; 10]).is_err());
    assert!(Totp::from_base32("not base32!").is_err());
}

#[test]
fn otpauth_uri_percent_encodes_label_and_issuer() {
    let totp = rfc();
    assert_eq!(
        totp.otpauth_uri("Steward", "alice@example.org"),
        "otpauth://totp/Steward:alice%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
         &issuer=Steward&algorithm=SHA1&digits=6&period=30"
    );
    assert_eq!(
        totp.otpauth_uri("St Mary's & Co: IT", "bob smith"),
        "otpauth://totp/St%20Mary%27s%20%26%20Co%3A%20IT:bob%20smith\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=St%20Mary%27s%20%26%20Co%3A%20IT\
         &algorithm=SHA1&digits=6&period=30"
    );
}

#[test]
fn base32_input_is_tolerant() {
    let bytes = b"12345678901234567890";
    let canonical = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_eq!(base32_encode(bytes), canonical);
    for input in [
        canonical,
        "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
        " GEZDGNBVGY3TQOJQ\nGEZDGNBVGY3TQOJQ\t",
    ] {
        assert_eq!(base32_decode(input).as_deref(), Ok(&bytes[..]), "{input:?}");
    }
    assert_eq!(base32_decode("MZXW6===").as_deref(), Ok(&b"foo"[..]));
    // (input, why it is refused)
    let bad = [
        ("MZXW6=Y", "data after padding"),
        ("MZ1W6", "1 is not in the alphabet"),
        ("MZ0W6", "0 is not in the alphabet"),
        ("MZXW6YT8", "8 is not in the alphabet"),
        ("M", "a single symbol is not a byte"),
        ("MZX", "three symbols are not whole bytes"),
        ("MZXW6Y", "six symbols are not whole bytes"),
        ("MZXW6YTBO", "nine symbols are not whole bytes"),
        ("ÄÖ", "not ascii"),
    ];
    for (input, why) in bad {
        assert!(
            matches!(base32_decode(input), Err(AuthError::InvalidBase32(_))),
            "{input:?}: {why}"
        );
    }
}

#[test]
fn qr_svg_is_a_self_contained_csp_safe_svg() {
    let uri = rfc().otpauth_uri("Steward", "alice@example.org");
    let svg = qr_svg(&uri).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.ends_with("</svg>"));
    assert!(svg.contains("shape-rendering=\"crispEdges\""));
    assert_eq!(svg.matches("<path ").count(), 1);
    assert!(svg.contains("fill=\"#ffffff\"") && svg.contains("fill=\"#000000\""));
    // No script, event handler, style, link or embedded content.
    for forbidden in [
        "<script",
        " on",
        "style",
        "href",
        "<image",
        "<foreignObject",
    ] {
        assert!(!svg.contains(forbidden), "{forbidden} in {svg}");
    }
    // The viewBox is the symbol plus a 4-module quiet zone each side; the first dark module is
    // the finder pattern's corner at (4, 4).
    let size = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap();
    assert_eq!((size - 8 - 17) % 4, 0, "a QR symbol is 17 + 4v modules");
    assert!(svg.contains("d=\"M4,4h7v1h-7z"), "{svg}");
}

#[test]
fn qr_svg_refuses_text_too_long_for_a_qr_code() {
    let text = "x".repeat(5000);
    assert_eq!(qr_svg(&text), Err(AuthError::QrTooLong { len: 5000 }));
    assert!(qr_svg("").is_ok());
}
