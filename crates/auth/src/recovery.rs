//! Single-use recovery codes for a user who has lost their authenticator.
//!
//! A code is 12 symbols from Crockford's base32 alphabet (digits and lower-case letters without
//! `i`, `l`, `o` and `u`), shown as `xxxx-xxxx-xxxx`: 5 bits a symbol, 60 bits a code. Typing
//! is forgiving: case, spaces and dashes do not matter, and `o`, `i` and `l` are read as the
//! `0` and `1` they are usually mistaken for. Only the SHA-256 of the normalised code is
//! stored.

use std::collections::HashSet;
use std::fmt;

use crate::AuthError;
use crate::util::{ct_eq, fill_random, sha256_hex};

/// How many codes a user is usually given.
pub const DEFAULT_RECOVERY_CODES: usize = 10;
/// The most codes [`RecoveryCodes::generate`] makes at once.
pub const MAX_RECOVERY_CODES: usize = 100;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const GROUPS: usize = 3;
const GROUP_LEN: usize = 4;
const SYMBOLS: usize = GROUPS * GROUP_LEN;

/// Freshly generated recovery codes, to show the user once, and the forms to store. Its
/// `Debug` output never shows the codes.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCodes {
    codes: Vec<String>,
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodes")
            .field("count", &self.codes.len())
            .finish_non_exhaustive()
    }
}

impl RecoveryCodes {
    /// `n` distinct codes (usually [`DEFAULT_RECOVERY_CODES`], at most [`MAX_RECOVERY_CODES`])
    /// from the operating system's RNG.
    pub fn generate(n: usize) -> Result<RecoveryCodes, AuthError> {
        if !(1..=MAX_RECOVERY_CODES).contains(&n) {
            return Err(AuthError::OutOfRange {
                what: "the number of recovery codes",
                value: n,
                min: 1,
                max: MAX_RECOVERY_CODES,
            });
        }
        let mut codes = Vec::new();
        let mut seen = HashSet::new();
        while codes.len() < n {
            let code = random_code()?;
            if seen.insert(code.clone()) {
                codes.push(code);
            }
        }
        Ok(RecoveryCodes { codes })
    }

    /// The codes as the user should see them: `xxxx-xxxx-xxxx`.
    pub fn codes(&self) -> &[String] {
        &self.codes
    }

    /// What to store for each code, in the same order: [`RecoveryCodes::hash`] of it.
    pub fn stored_hashes(&self) -> Vec<String> {
        self.codes.iter().map(|c| RecoveryCodes::hash(c)).collect()
    }

    /// The canonical form of a typed code: ASCII lower case, without whitespace or dashes,
    /// `o` read as `0` and `i`/`l` as `1`. Other characters are kept (so the code will not
    /// match). Applying it twice changes nothing.
    pub fn normalise(input: &str) -> String {
        input
            .chars()
            .filter(|c| !c.is_whitespace() && !is_dash(*c))
            .map(|c| match c.to_ascii_lowercase() {
                'o' => '0',
                'i' | 'l' => '1',
                other => other,
            })
            .collect()
    }

    /// The stored form of a code: SHA-256 of its normalised form, as lower-case hex.
    pub fn hash(code: &str) -> String {
        sha256_hex(RecoveryCodes::normalise(code).as_bytes())
    }

    /// Whether a typed code is the one stored as `stored_hash`, compared in constant time.
    pub fn matches(input: &str, stored_hash: &str) -> bool {
        let hash = RecoveryCodes::hash(input);
        ct_eq(hash.as_bytes(), stored_hash.to_ascii_lowercase().as_bytes())
    }

    /// The index of the stored hash a typed code matches, if any, checking every one of them
    /// so that timing does not tell which. The caller deletes that one: a code works once.
    pub fn find(input: &str, stored_hashes: &[String]) -> Option<usize> {
        let hash = RecoveryCodes::hash(input);
        let mut found = None;
        for (i, stored) in stored_hashes.iter().enumerate() {
            if ct_eq(hash.as_bytes(), stored.to_ascii_lowercase().as_bytes()) && found.is_none() {
                found = Some(i);
            }
        }
        found
    }
}

/// Dashes people (and phones' autocorrect) type between groups.
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

fn random_code() -> Result<String, AuthError> {
    let mut bytes = [0u8; SYMBOLS];
    fill_random(&mut bytes)?;
    let mut code = String::with_capacity(SYMBOLS + GROUPS - 1);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % GROUP_LEN == 0 {
            code.push('-');
        }
        // 256 is a multiple of 32, so taking 5 bits of a byte is unbiased.
        code.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    Ok(code)
}
