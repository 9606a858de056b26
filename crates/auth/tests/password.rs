//! Password hashing, verification against stored hashes good and bad, and the new-password
//! policy.

use steward_auth::{
    AuthError, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordProblem, check_new_password,
    hash_password, needs_rehash, verify_password,
};

/// Argon2id hashes of `password` with salt `somesalt` from the reference implementation
/// (phc-winner-argon2), at other costs than Steward's.
const REFERENCE_M256: &str =
    "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
const REFERENCE_M65536: &str =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

#[test]
fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
    let password = "correct horse battery staple, but mine";
    let phc = hash_password(password).unwrap();
    assert!(
        phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "unexpected hash {phc}"
    );
    assert_eq!(verify_password(password, &phc), Ok(true));
    assert_eq!(
        verify_password("correct horse battery staple", &phc),
        Ok(false)
    );
    assert_eq!(verify_password("", &phc), Ok(false));
    assert_eq!(needs_rehash(&phc), Ok(false));
    // A fresh salt every time.
    assert_ne!(phc, hash_password(password).unwrap());
}

#[test]
fn reference_hashes_verify_with_their_own_parameters() {
    for phc in [REFERENCE_M256, REFERENCE_M65536] {
        assert_eq!(verify_password("password", phc), Ok(true), "{phc}");
        assert_eq!(verify_password("Password", phc), Ok(false), "{phc}");
        assert_eq!(needs_rehash(phc), Ok(true), "{phc}");
    }
}

#[derive(Debug, PartialEq)]
enum Kind {
    Malformed,
    Unsupported,
}

fn kind(result: Result<bool, AuthError>) -> Result<bool, Kind> {
    result.map_err(|e| match e {
        AuthError::MalformedHash(_) => Kind::Malformed,
        AuthError::UnsupportedHash(_) => Kind::Unsupported,
        other => panic!("unexpected error {other:?}"),
    })
}

#[test]
fn bad_stored_hashes_are_errors_not_panics() {
    let good = REFERENCE_M256;
    let cases: Vec<(String, Kind)> = vec![
        (String::new(), Kind::Malformed),
        ("not a hash".into(), Kind::Malformed),
        ("$".into(), Kind::Malformed),
        ("$argon2id$".into(), Kind::Malformed),
        ("$argon2id$v=19$m=19456,t=2,p=1".into(), Kind::Malformed),
        ("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ".into(), Kind::Malformed),
        ("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$!!!!".into(), Kind::Malformed),
        (good.replace("t=2", "t=0"), Kind::Malformed),
        (good.replace("m=256", "m=1"), Kind::Malformed),
        (good.replace("m=256", "m=banana"), Kind::Malformed),
        (good.replace("v=19", "v=99"), Kind::Malformed),
        // A truncated output: too short to be an Argon2 output.
        (good[..good.len() - 36].to_owned(), Kind::Malformed),
        (good.replace("argon2id", "argon2i"), Kind::Unsupported),
        (good.replace("argon2id", "argon2d"), Kind::Unsupported),
        (
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"
                .into(),
            Kind::Unsupported,
        ),
        // Costs that would let a tampered row make one sign-in take gigabytes or minutes.
        (good.replace("m=256", "m=4194304"), Kind::Unsupported),
        (good.replace("t=2", "t=1000"), Kind::Unsupported),
        (REFERENCE_M65536.replace("p=1", "p=64"), Kind::Unsupported),
    ];
    let mut failures = Vec::new();
    for (phc, expected) in cases {
        let got = kind(verify_password("password", &phc));
        if got != Err(expected) {
            failures.push(format!("{phc:?}: got {got:?}"));
        }
        if needs_rehash(&phc).is_ok() {
            failures.push(format!("{phc:?}: needs_rehash accepted it"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_wrong_output_is_false_not_an_error() {
    // Same length, one character different.
    let tampered = REFERENCE_M256.replace("nf65EO", "nf65EP");
    assert_eq!(verify_password("password", &tampered), Ok(false));
}

#[test]
fn new_password_policy() {
    let long_ok: String = (0..100)
        .map(|i| format!("word{i}-"))
        .collect::<String>()
        .chars()
        .take(MAX_PASSWORD_CHARS)
        .collect();
    let too_long = format!("{long_ok}x");
    use PasswordProblem::*;
    // (password, email, expected)
    let cases: Vec<(&str, &str, Result<(), PasswordProblem>)> = vec![
        ("", "a@example.org", Err(TooShort { chars: 0, min: 12 })),
        (
            "eleven-char",
            "a@example.org",
            Err(TooShort { chars: 11, min: 12 }),
        ),
        // Characters, not bytes: 11 characters in 33 bytes.
        (
            "日本語のパスワードです",
            "",
            Err(TooShort { chars: 11, min: 12 }),
        ),
        ("ééééé-ééééé", "", Err(TooShort { chars: 11, min: 12 })),
        // 12 characters in 13 bytes.
        ("café-au-lait", "", Ok(())),
        ("twelve-chars", "a@example.org", Ok(())),
        (&long_ok, "a@example.org", Ok(())),
        (
            &too_long,
            "a@example.org",
            Err(TooLong {
                chars: 257,
                max: 256,
            }),
        ),
        // The email address and the name in it.
        ("alice@example.org", "alice@example.org", Err(ContainsEmail)),
        (
            "alice-in-chains-1990",
            "alice@example.org",
            Err(ContainsEmail),
        ),
        (
            "I am ALICE, let me in",
            "Alice@Example.org",
            Err(ContainsEmail),
        ),
        ("my-name-is-al1ce!", "alice@example.org", Err(ContainsEmail)),
        (
            "alice-in-chains-1990",
            "alice+steward@example.org",
            Err(ContainsEmail),
        ),
        (
            "jane-rocks-the-house",
            "jane.doe@example.org",
            Err(ContainsEmail),
        ),
        ("doe-a-deer-a-female", "jane.doe@example.org", Ok(())),
        ("bo-knows-the-river", "bo@example.org", Ok(())),
        ("alice-in-chains-1990", "", Ok(())),
        // The most common passwords, plain and dressed up.
        ("password1234", "a@example.org", Err(Common)),
        ("Password1234", "a@example.org", Err(Common)),
        ("Sunshine2024!", "a@example.org", Err(Common)),
        ("P@ssw0rd2024!", "a@example.org", Err(Common)),
        ("!!Liverpool1892", "a@example.org", Err(Common)),
        ("iloveyou!!!!", "a@example.org", Err(Common)),
        ("1234567890qwerty", "a@example.org", Err(Common)),
        ("CorrectHorseBatteryStaple", "a@example.org", Err(Common)),
        ("steward-2025", "a@example.org", Err(Common)),
        // Sequences, keyboard runs and repeats.
        ("aaaaaaaaaaaa", "a@example.org", Err(Predictable)),
        ("            ", "a@example.org", Err(Predictable)),
        ("aaaabbbbcccc", "a@example.org", Err(Predictable)),
        ("abababababab", "a@example.org", Err(Predictable)),
        ("monkeymonkey", "a@example.org", Err(Predictable)),
        ("xyzabcdefghi", "a@example.org", Err(Predictable)),
        ("zyxwvutsrqpo", "a@example.org", Err(Predictable)),
        ("123456789012", "a@example.org", Err(Predictable)),
        ("0987654321098", "a@example.org", Err(Predictable)),
        ("QWERTYUIOPASDF", "a@example.org", Err(Predictable)),
        ("1q2w3e4r5t6y7u", "a@example.org", Err(Predictable)),
        // Fine: long, not on any list, no composition rules.
        ("mango umbrella kettle", "a@example.org", Ok(())),
        ("Tr0ub4dor&3xyz", "a@example.org", Ok(())),
        ("allotment-teapot-rain", "alice@example.org", Ok(())),
        ("sunshine-over-the-weir", "a@example.org", Ok(())),
    ];
    let mut failures = Vec::new();
    for (password, email, expected) in cases {
        let got = check_new_password(password, email);
        if got != expected {
            failures.push(format!(
                "{password:?} for {email:?}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn policy_messages_are_lowercase_and_say_what_to_do() {
    let cases = [
        (
            PasswordProblem::TooShort {
                chars: 7,
                min: MIN_PASSWORD_CHARS,
            },
            "the password is too short: it has 7 characters and needs at least 12",
        ),
        (
            PasswordProblem::TooLong {
                chars: 300,
                max: MAX_PASSWORD_CHARS,
            },
            "the password is too long: it has 300 characters and may have at most 256",
        ),
        (
            PasswordProblem::ContainsEmail,
            "the password must not contain your email address or the name in it",
        ),
        (
            PasswordProblem::Common,
            "the password is one of the most commonly used passwords",
        ),
        (
            PasswordProblem::Predictable,
            "the password is too predictable: avoid sequences, keyboard patterns and repeats",
        ),
    ];
    for (problem, message) in cases {
        assert_eq!(problem.to_string(), message);
    }
}
