//! Password hashing (Argon2id) and the policy new passwords must meet.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::Error as PhcError;
use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier,
    Version,
};

use crate::AuthError;
use crate::util::random_bytes;

/// Argon2id memory cost in KiB: OWASP's recommended 19 MiB.
pub const ARGON2_M_COST_KIB: u32 = 19_456;
/// Argon2id passes over memory.
pub const ARGON2_T_COST: u32 = 2;
/// Argon2id lanes.
pub const ARGON2_P_COST: u32 = 1;

/// The fewest characters (Unicode scalar values, not bytes) a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most characters a new password may have.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Bytes of random salt in each hash.
const SALT_LEN: usize = 16;
/// The largest costs a stored hash may ask [`verify_password`] for, so that a tampered hash
/// cannot make one sign-in allocate gigabytes or run for minutes.
const MAX_STORED_M_COST_KIB: u32 = 256 * 1024;
const MAX_STORED_T_COST: u32 = 16;
const MAX_STORED_P_COST: u32 = 16;
/// Email local parts shorter than this are not searched for in passwords: `al` is in too many.
const MIN_EMAIL_NAME_CHARS: usize = 3;
/// Parts of a local part (`jane` of `jane.doe`) are searched for from this length.
const MIN_EMAIL_PART_CHARS: usize = 4;
/// A password with fewer different characters than this is refused as predictable.
const MIN_DISTINCT_CHARS: usize = 4;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Keyboard and alphabet runs: a password that is a stretch of one of these (forwards or
/// backwards, wrapping round) is refused.
const WALKS: &[&str] = &[
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1q2w3e4r5t6y7u8i9o0p",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
];

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password is too short: it has {chars} characters and needs at least {min}")]
    TooShort { chars: usize, min: usize },
    #[error("the password is too long: it has {chars} characters and may have at most {max}")]
    TooLong { chars: usize, max: usize },
    #[error("the password must not contain your email address or the name in it")]
    ContainsEmail,
    #[error("the password is one of the most commonly used passwords")]
    Common,
    #[error("the password is too predictable: avoid sequences, keyboard patterns and repeats")]
    Predictable,
}

/// The Argon2id hasher with Steward's parameters.
fn argon2() -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, None)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with Argon2id (m=19456 KiB, t=2, p=1) and a 16-byte random salt, as a PHC
/// string: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = random_bytes::<SALT_LEN>()?;
    let hash = argon2()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` is the one `phc` was made from. A stored hash that cannot be read, is not
/// Argon2id or asks for unreasonable costs is an error, not `false`.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, AuthError> {
    let (hash, _) = parse_stored(phc)?;
    match Argon2::default().verify_password(password.as_bytes(), &hash) {
        Ok(()) => Ok(true),
        Err(PhcError::PasswordInvalid) => Ok(false),
        Err(e) => Err(AuthError::MalformedHash(e.to_string())),
    }
}

/// Whether a stored hash was made with other parameters than [`hash_password`] uses now, so
/// that it should be replaced (from the password just verified) at the next sign-in.
pub fn needs_rehash(phc: &str) -> Result<bool, AuthError> {
    let (hash, params) = parse_stored(phc)?;
    let version = hash.version;
    Ok(version != Some(Version::V0x13 as u32)
        || params.m_cost() != ARGON2_M_COST_KIB
        || params.t_cost() != ARGON2_T_COST
        || params.p_cost() != ARGON2_P_COST)
}

fn parse_stored(phc: &str) -> Result<(PasswordHash, Params), AuthError> {
    let hash = PasswordHash::new(phc).map_err(|e| AuthError::MalformedHash(e.to_string()))?;
    if hash.algorithm != ARGON2ID_IDENT {
        return Err(AuthError::UnsupportedHash(format!(
            "algorithm {} (only argon2id is accepted)",
            hash.algorithm
        )));
    }
    if let Some(version) = hash.version {
        Version::try_from(version).map_err(|e| AuthError::MalformedHash(e.to_string()))?;
    }
    if hash.salt.is_none() {
        return Err(AuthError::MalformedHash("no salt".to_owned()));
    }
    if hash.hash.is_none() {
        return Err(AuthError::MalformedHash("no hash output".to_owned()));
    }
    let params = Params::try_from(&hash).map_err(|e| AuthError::MalformedHash(e.to_string()))?;
    if params.m_cost() > MAX_STORED_M_COST_KIB
        || params.t_cost() > MAX_STORED_T_COST
        || params.p_cost() > MAX_STORED_P_COST
    {
        return Err(AuthError::UnsupportedHash(format!(
            "costs m={} t={} p={} exceed the limits m={MAX_STORED_M_COST_KIB} \
             t={MAX_STORED_T_COST} p={MAX_STORED_P_COST}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    Ok((hash, params))
}

/// Checks a new password against the policy (NCSC's password guidance, as Cyber Essentials
/// asks): 12 to 256 characters, not containing the account's email address or the name in it,
/// not one of the most common passwords (or one dressed up with digits, punctuation or `@` for
/// `a`), and not a keyboard run, sequence or repeat. Anything else goes: no rules about
/// character classes, which NCSC advises against.
pub fn check_new_password(password: &str, email: &str) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort {
            chars,
            min: MIN_PASSWORD_CHARS,
        });
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong {
            chars,
            max: MAX_PASSWORD_CHARS,
        });
    }
    let lower = password.to_lowercase();
    let unleet = unleet(&lower);
    if email_names(email)
        .iter()
        .any(|name| lower.contains(name.as_str()) || unleet.contains(name.as_str()))
    {
        return Err(PasswordProblem::ContainsEmail);
    }
    if is_common(&lower) {
        return Err(PasswordProblem::Common);
    }
    if is_predictable(&lower) {
        return Err(PasswordProblem::Predictable);
    }
    Ok(())
}

/// The email address and the names in its local part that a password must not contain, in
/// lower case: the local part without any `+tag`, and its parts split at `.`, `_` and `-`.
fn email_names(email: &str) -> Vec<String> {
    let email = email.trim().to_lowercase();
    let local = email
        .rsplit_once('@')
        .map_or(email.as_str(), |(local, _)| local);
    let local = local.split('+').next().unwrap_or(local);
    let mut names = Vec::new();
    if local.chars().count() >= MIN_EMAIL_NAME_CHARS {
        names.push(local.to_owned());
    }
    for part in local.split(['.', '_', '-']) {
        if part.chars().count() >= MIN_EMAIL_PART_CHARS && part != local {
            names.push(part.to_owned());
        }
    }
    names
}

/// Undoes the usual letter-for-symbol swaps.
fn unleet(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '3' => 'e',
            '1' | '!' => 'i',
            '0' => 'o',
            '5' | '$' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// `text` without digits, punctuation or spaces at either end.
fn core(text: &str) -> &str {
    text.trim_matches(|c: char| !c.is_alphabetic())
}

fn is_common(lower: &str) -> bool {
    let stripped = core(lower);
    let candidates = [
        lower.to_owned(),
        stripped.to_owned(),
        unleet(stripped),
        core(&unleet(lower)).to_owned(),
    ];
    candidates
        .iter()
        .any(|c| !c.is_empty() && COMMON.contains(c.as_str()))
}

fn is_predictable(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    let distinct: HashSet<char> = chars.iter().copied().collect();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return true;
    }
    // One unit repeated: `abcabcabcabc`, `monkeymonkey`.
    let n = chars.len();
    let repeated = (1..=n / 2)
        .filter(|unit| n.is_multiple_of(*unit))
        .any(|unit| {
            chars
                .iter()
                .zip(chars.iter().skip(unit))
                .all(|(a, b)| a == b)
        });
    if repeated {
        return true;
    }
    WALKS.iter().any(|walk| {
        let times = lower.len() / walk.len() + 2;
        let forwards = walk.repeat(times);
        let backwards: String = forwards.chars().rev().collect();
        forwards.contains(lower) || backwards.contains(lower)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_clean_and_big_enough() {
        let text = include_str!("../data/common-passwords.txt");
        let entries: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        assert!(entries.len() >= 200, "{} entries", entries.len());
        assert_eq!(COMMON.len(), entries.len(), "duplicates in the list");
        for entry in entries {
            assert_eq!(entry, entry.trim().to_lowercase(), "{entry:?} is not clean");
        }
    }

    #[test]
    fn email_names_split_the_local_part() {
        let cases: [(&str, &[&str]); 6] = [
            ("alice@example.org", &["alice"]),
            ("Jane.Doe+steward@example.org", &["jane.doe", "jane"]),
            ("al@example.org", &[]),
            ("", &[]),
            ("no-at-sign", &["no-at-sign", "sign"]),
            ("\"we@ird\"@example.org", &["\"we@ird\""]),
        ];
        for (email, expected) in cases {
            assert_eq!(email_names(email), expected, "{email}");
        }
    }
}
