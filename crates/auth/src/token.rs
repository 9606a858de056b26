//! Session tokens and CSRF tokens.

use crate::AuthError;
use crate::util::{base64url, ct_eq, hmac_sha256, random_bytes, sha256_hex};

/// Random bytes in a token: 256 bits.
pub const TOKEN_BYTES: usize = 32;

/// Separates CSRF MACs from any other use of the same secret.
const CSRF_CONTEXT: &[u8] = b"steward csrf v1\0";

/// A new random token (for a session cookie, an invitation or a password reset): 32 bytes from
/// the operating system's RNG as URL-safe base64 without padding, 43 characters.
pub fn new_token() -> Result<String, AuthError> {
    Ok(base64url(&random_bytes::<TOKEN_BYTES>()?))
}

/// What a token is stored and looked up as: SHA-256 of it as lower-case hex. A leaked table of
/// these lets no one use the sessions they stand for.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The CSRF token for a session: HMAC-SHA-256 under `session_secret` (a server-side secret of
/// at least 32 random bytes) of the session's id, as URL-safe base64 without padding.
pub fn csrf_token(session_secret: &[u8], session_id: &str) -> String {
    let mut message = Vec::with_capacity(CSRF_CONTEXT.len() + session_id.len());
    message.extend_from_slice(CSRF_CONTEXT);
    message.extend_from_slice(session_id.as_bytes());
    base64url(&hmac_sha256(session_secret, &message))
}

/// Whether `presented` is the CSRF token for the session, compared in constant time.
pub fn csrf_ok(session_secret: &[u8], session_id: &str, presented: &str) -> bool {
    ct_eq(
        csrf_token(session_secret, session_id).as_bytes(),
        presented.as_bytes(),
    )
}
