//! Authentication primitives for Steward, as pure logic that the web and service layers call.
//!
//! What this crate owns:
//!
//! 1. **Passwords**: hashing with Argon2id into a PHC string (OWASP's parameters: m=19456 KiB,
//!    t=2, p=1), verifying against a stored PHC string, and the policy a new password must meet
//!    (NCSC and Cyber Essentials: at least 12 characters, at most 256, not built on the
//!    account's email address, not one of the most common or most predictable passwords).
//! 2. **TOTP** (RFC 6238: HMAC-SHA-1, 6 digits, 30 second steps), with RFC 4648 base32 for the
//!    shared secret, ±1 step of clock drift, refusal of a step already used (replay
//!    protection), and the `otpauth://` URI that authenticator apps enrol from. The codes and
//!    the base32 come from `totp-rs`; what is ours is the policy: secret lengths, tolerant
//!    base32 input, drift and replay decided over every candidate step, the URI.
//! 3. **QR codes** for enrolment, as a self-contained SVG that needs no CSP exception.
//! 4. **Recovery codes**: human-friendly single-use codes and the SHA-256 forms they are stored
//!    as.
//! 5. **Tokens**: random session tokens, the SHA-256 hash a session is stored under (so a
//!    leaked database holds no usable session), and CSRF tokens as HMAC-SHA-256 of the session.
//! 6. **Throttling** of failed sign-ins (Cyber Essentials: at most 10 guesses in 5 minutes): the
//!    keys a guess counts under (the account at the address, the address, the account) with
//!    their ceilings, the verdict from their recent failures (refused, slowed, or go), and a
//!    per-key count in bounded memory.
//! 7. **Session lifetimes**: idle and absolute time-outs as a pure decision.
//!
//! What it must never do: no I/O (files, network, environment), no HTTP, no SQL, and no clock
//! reads. Time is always handed in, as a [`chrono::DateTime<Utc>`](chrono::DateTime) or as unix
//! seconds. Randomness comes only from the operating system's RNG (through `getrandom`), and a
//! failure of it is an [`AuthError`], never a weaker fallback. Nothing here panics on any input,
//! and secrets are compared in constant time.
//!
//! Nothing of a protocol or of cryptography is written here: Argon2id comes from `argon2`,
//! HMAC and SHA-256 from RustCrypto's `hmac` and `sha2`, TOTP and base32 from `totp-rs`,
//! constant-time comparison from `subtle`, hex from `hex`, base64url from `base64`,
//! percent-encoding from `percent-encoding` and QR codes from `qrcodegen`. This crate decides
//! how they are used.

mod password;
mod qr;
mod recovery;
mod session;
mod throttle;
mod token;
mod totp;
mod util;
mod webhook;

pub use password::{
    ARGON2_M_COST_KIB, ARGON2_P_COST, ARGON2_T_COST, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS,
    PasswordProblem, check_new_password, hash_password, needs_rehash, verify_password,
};
pub use qr::qr_svg;
pub use recovery::{DEFAULT_RECOVERY_CODES, MAX_RECOVERY_CODES, RecoveryCodes};
pub use session::{SESSION_ABSOLUTE_TIMEOUT, SESSION_IDLE_TIMEOUT, SessionTimes};
pub use throttle::{
    ACCOUNT_LIMIT, ADDRESS_LIMIT, DEFAULT_MAX_KEYS, DEFAULT_THROTTLE_LIMIT,
    DEFAULT_THROTTLE_WINDOW, GuessKey, Over, PAIR_LIMIT, RetryAfter, Throttle, Verdict, guess_keys,
    retry_after, verdict,
};
pub use token::{TOKEN_BYTES, csrf_ok, csrf_token, new_token, token_hash};
pub use totp::{
    DEFAULT_TOTP_SECRET_LEN, MAX_TOTP_SECRET_LEN, MIN_TOTP_SECRET_LEN, TOTP_DIGITS, TOTP_STEP_SECS,
    Totp, base32_decode, base32_encode,
};
pub use webhook::{WEBHOOK_SECRET_PREFIX, new_webhook_secret, webhook_signature};

/// Everything in this crate that can fail, other than a password that breaks the policy
/// ([`PasswordProblem`]) or a throttled attempt ([`RetryAfter`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("the stored password hash is malformed: {0}")]
    MalformedHash(String),
    #[error("the stored password hash is not supported: {0}")]
    UnsupportedHash(String),
    #[error("invalid base32: {0}")]
    InvalidBase32(String),
    #[error("the totp generator refused its parameters: {0}")]
    Totp(String),
    #[error("{what} must be between {min} and {max}, not {value}")]
    OutOfRange {
        what: &'static str,
        value: usize,
        min: usize,
        max: usize,
    },
    #[error("the text is too long for a qr code ({len} bytes)")]
    QrTooLong { len: usize },
}
