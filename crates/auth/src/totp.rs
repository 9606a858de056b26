//! Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226) with HMAC-SHA-1, the variant
//! every authenticator app supports.

use std::fmt;

use crate::AuthError;
use crate::base32::{base32_decode, base32_encode};
use crate::util::{ct_eq, fill_random, hmac_sha1, percent_encode};

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
#[derive(Clone, PartialEq, Eq)]
pub struct Totp {
    secret: Vec<u8>,
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
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
        Ok(Totp { secret })
    }

    /// A secret as stored, of [`MIN_TOTP_SECRET_LEN`] to [`MAX_TOTP_SECRET_LEN`] bytes.
    pub fn from_secret(secret: Vec<u8>) -> Result<Totp, AuthError> {
        check_len(secret.len())?;
        Ok(Totp { secret })
    }

    /// A secret written in base32 (lower case, spaces and padding tolerated).
    pub fn from_base32(text: &str) -> Result<Totp, AuthError> {
        Totp::from_secret(base32_decode(text)?)
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The secret in base32 without padding, for users who type it in instead of scanning.
    pub fn secret_base32(&self) -> String {
        base32_encode(&self.secret)
    }

    /// The time step that `unix_secs` falls in.
    pub fn step_at(unix_secs: u64) -> u64 {
        unix_secs / TOTP_STEP_SECS
    }

    /// The 6-digit code for the time `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.code_for_step(Totp::step_at(unix_secs), TOTP_DIGITS)
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
        // step (if any) matched.
        for step in first..=last {
            let expected = self.code_for_step(step, TOTP_DIGITS);
            let fresh = last_used_step.is_none_or(|used| step > used);
            if ct_eq(expected.as_bytes(), code.as_bytes()) && fresh && matched.is_none() {
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

    /// HOTP (RFC 4226 §5.3) for the counter `step`, with `digits` digits (at most 9).
    fn code_for_step(&self, step: u64, digits: u32) -> String {
        let mac = hmac_sha1(&self.secret, &step.to_be_bytes());
        // Dynamic truncation: the low nibble of the last byte picks 4 bytes, at most 15..19.
        let offset = usize::from(mac[19] & 0x0f);
        let mut window = [0u8; 4];
        for (slot, b) in window.iter_mut().zip(mac.iter().skip(offset)) {
            *slot = *b;
        }
        let binary = u32::from_be_bytes(window) & 0x7fff_ffff;
        let digits = digits.min(9);
        let code = binary % 10u32.pow(digits);
        format!("{code:0width$}", width = digits as usize)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn rfc_totp() -> Totp {
        Totp::from_secret(RFC_SECRET.to_vec()).unwrap()
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
            assert_eq!(totp.code_for_step(step, 8), expected, "8 digits at {secs}");
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
        let totp = rfc_totp();
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(
                totp.code_for_step(counter as u64, 6),
                *code,
                "counter {counter}"
            );
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
}
