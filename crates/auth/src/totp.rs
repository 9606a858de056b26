//! Time-based one-time passwords (RFC 6238) with HMAC-SHA-1, the variant every authenticator app
//! supports, through `totp-rs`; what is ours is the policy around it: secret lengths, tolerant
//! base32 input, replay refusal by the last step used, and the enrolment URI.

use std::fmt;

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret};

use crate::AuthError;
use crate::util::{fill_random, percent_encode};

/// Seconds in one TOTP time step.
pub const TOTP_STEP_SECS: u64 = 30;
/// Digits in the codes users type.
pub const TOTP_DIGITS: u32 = 6;
/// Bytes of secret [`Totp::generate`] is usually asked for: 160 bits, as RFC 4226 recommends.
pub const DEFAULT_TOTP_SECRET_LEN: usize = 20;
/// The fewest secret bytes accepted: 128 bits, RFC 4226's minimum.
pub const MIN_TOTP_SECRET_LEN: usize = 16;
/// The most secret bytes accepted: one HMAC-SHA-1 block.
pub const MAX_TOTP_SECRET_LEN: usize = 64;

/// Steps either side of the current one that [`Totp::verify`] accepts, for clock drift.
const DRIFT_STEPS: u64 = 1;

/// A user's TOTP secret. Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct Totp {
    /// Six digits, one step at a time: drift and replay are decided in [`Totp::verify`], which
    /// looks at every candidate step rather than stopping at the first match.
    inner: totp_rs::Totp,
}

impl PartialEq for Totp {
    fn eq(&self, other: &Totp) -> bool {
        self.secret().ct_eq(other.secret()).into()
    }
}

impl Eq for Totp {}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("secret", &format_args!("<{} bytes>", self.secret().len()))
            .finish()
    }
}

impl Totp {
    /// A new secret of `secret_len` bytes (usually [`DEFAULT_TOTP_SECRET_LEN`]) from the
    /// operating system's RNG.
    pub fn generate(secret_len: usize) -> Result<Totp, AuthError> {
        check_len(secret_len)?;
        let mut secret = vec![0u8; secret_len];
        fill_random(&mut secret)?;
        Totp::from_secret(secret)
    }

    /// A secret as stored, of [`MIN_TOTP_SECRET_LEN`] to [`MAX_TOTP_SECRET_LEN`] bytes.
    pub fn from_secret(secret: Vec<u8>) -> Result<Totp, AuthError> {
        check_len(secret.len())?;
        Ok(Totp {
            inner: build(secret, TOTP_DIGITS as u8)?,
        })
    }

    /// A secret written in base32 (lower case, spaces and padding tolerated).
    pub fn from_base32(text: &str) -> Result<Totp, AuthError> {
        Totp::from_secret(base32_decode(text)?)
    }

    pub fn secret(&self) -> &[u8] {
        self.inner.secret().as_bytes()
    }

    /// The secret in base32 without padding, for users who type it in instead of scanning.
    pub fn secret_base32(&self) -> String {
        self.inner.secret().to_base32()
    }

    /// The time step that `unix_secs` falls in.
    pub fn step_at(unix_secs: u64) -> u64 {
        unix_secs / TOTP_STEP_SECS
    }

    /// The 6-digit code for the time `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.inner.generate(unix_secs).to_string()
    }

    /// Checks a code typed at `unix_secs`, accepting the step before and after the current one
    /// for clock drift, but never a step at or before `last_used_step` (the step of the last
    /// code this user signed in with), so a code cannot be replayed.
    ///
    /// Returns the step the code matched, which the caller stores as the new `last_used_step`.
    /// Spaces in the code are ignored; anything but 6 digits is refused.
    pub fn verify(&self, code: &str, unix_secs: u64, last_used_step: Option<u64>) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = Totp::step_at(unix_secs);
        let first = now.saturating_sub(DRIFT_STEPS);
        let last = now.saturating_add(DRIFT_STEPS);
        let mut matched = None;
        // Every candidate step is computed and compared, so timing says nothing about which
        // step (if any) matched. A step whose first second is past u64::MAX does not exist.
        for step in first..=last {
            let Some(at) = step.checked_mul(TOTP_STEP_SECS) else {
                continue;
            };
            let expected = self.code_at(at);
            let fresh = last_used_step.is_none_or(|used| step > used);
            let equal: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
            if equal && fresh && matched.is_none() {
                matched = Some(step);
            }
        }
        matched
    }

    /// The `otpauth://` URI that authenticator apps enrol from (Google's Key URI Format), with
    /// the label `issuer:account` and the issuer percent-encoded.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = percent_encode(issuer);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
             &algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
            account = percent_encode(account),
            secret = self.secret_base32(),
        )
    }
}

/// `totp-rs`'s generator for `secret`: HMAC-SHA-1, 30 second steps, no drift of its own.
fn build(secret: Vec<u8>, digits: u8) -> Result<totp_rs::Totp, AuthError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(0)
        .with_step_duration(TOTP_STEP_SECS)
        .with_secret(secret)
        .build()
        .map_err(|e| AuthError::Totp(e.to_string().to_lowercase()))
}

fn check_len(len: usize) -> Result<(), AuthError> {
    if (MIN_TOTP_SECRET_LEN..=MAX_TOTP_SECRET_LEN).contains(&len) {
        Ok(())
    } else {
        Err(AuthError::OutOfRange {
            what: "a totp secret's length in bytes",
            value: len,
            min: MIN_TOTP_SECRET_LEN,
            max: MAX_TOTP_SECRET_LEN,
        })
    }
}

/// Encodes `bytes` as RFC 4648 base32 (`A–Z 2–7`), upper case without padding, as authenticator
/// apps expect.
pub fn base32_encode(bytes: &[u8]) -> String {
    Secret::from(bytes.to_vec()).to_base32()
}

/// Decodes RFC 4648 base32 as people copy it: lower case, whitespace anywhere and trailing `=`
/// padding are tolerated.
///
/// Refuses any other character, anything after padding, and lengths that no encoding produces
/// (1, 3 or 6 symbols past a multiple of 8), naming the problem. Bits left over in the last
/// symbol are ignored.
pub fn base32_decode(text: &str) -> Result<Vec<u8>, AuthError> {
    let mut symbols = String::with_capacity(text.len());
    let mut padding = false;
    for (position, c) in text.chars().enumerate() {
        if c.is_whitespace() {
            continue;
        }
        if c == '=' {
            padding = true;
            continue;
        }
        if padding {
            return Err(AuthError::InvalidBase32(format!(
                "{c:?} at position {position} follows padding"
            )));
        }
        match c.to_ascii_uppercase() {
            u @ ('A'..='Z' | '2'..='7') => symbols.push(u),
            _ => {
                return Err(AuthError::InvalidBase32(format!(
                    "unexpected character {c:?} at position {position}"
                )));
            }
        }
    }
    // The decoder would quietly drop a dangling symbol; such text was cut or mistyped.
    if matches!(symbols.len() % 8, 1 | 3 | 6) {
        return Err(AuthError::InvalidBase32(format!(
            "{} symbols is not a whole number of bytes",
            symbols.len()
        )));
    }
    Secret::try_from_base32(&symbols)
        .map(|secret| secret.as_bytes().to_vec())
        .map_err(|e| AuthError::InvalidBase32(e.to_string().to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn rfc_totp() -> Totp {
        Totp::from_secret(RFC_SECRET.to_vec()).unwrap()
    }

    /// HOTP (RFC 4226) for the counter `step` with `digits` digits, through the same generator.
    fn code_for_step(step: u64, digits: u8) -> String {
        build(RFC_SECRET.to_vec(), digits)
            .unwrap()
            .generate(step * TOTP_STEP_SECS)
            .to_string()
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        // (unix seconds, 8-digit TOTP as the RFC's table prints it)
        let cases = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let totp = rfc_totp();
        for (secs, expected) in cases {
            let step = Totp::step_at(secs);
            assert_eq!(code_for_step(step, 8), expected, "8 digits at {secs}");
            // Six digits are the same number modulo 10^6: the last six.
            assert_eq!(totp.code_at(secs), expected[2..], "6 digits at {secs}");
        }
    }

    #[test]
    fn rfc_4226_appendix_d_hotp_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(code_for_step(counter as u64, 6), *code, "counter {counter}");
        }
    }

    #[test]
    fn extreme_steps_do_not_overflow() {
        let totp = rfc_totp();
        assert_eq!(totp.code_at(u64::MAX).len(), 6);
        let code = totp.code_at(u64::MAX);
        assert_eq!(
            totp.verify(&code, u64::MAX, None),
            Some(Totp::step_at(u64::MAX))
        );
        let code = totp.code_at(0);
        assert_eq!(totp.verify(&code, 0, None), Some(0));
    }

    #[test]
    fn rfc_4648_base32_vectors() {
        // (bytes, unpadded encoding, padded encoding as RFC 4648 §10 prints it)
        let cases: [(&[u8], &str, &str); 7] = [
            (b"", "", ""),
            (b"f", "MY", "MY======"),
            (b"fo", "MZXQ", "MZXQ===="),
            (b"foo", "MZXW6", "MZXW6==="),
            (b"foob", "MZXW6YQ", "MZXW6YQ="),
            (b"fooba", "MZXW6YTB", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"),
        ];
        for (bytes, plain, padded) in cases {
            assert_eq!(base32_encode(bytes), plain);
            assert_eq!(base32_decode(plain).as_deref(), Ok(bytes));
            assert_eq!(base32_decode(padded).as_deref(), Ok(bytes));
            assert_eq!(
                base32_decode(&plain.to_lowercase()).as_deref(),
                Ok(bytes),
                "lower case {plain}"
            );
        }
    }
}
