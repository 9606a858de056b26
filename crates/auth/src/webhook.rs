//! Webhook signing as the Standard Webhooks specification has it: a secret `whsec_` + base64 of
//! random bytes, and each message signed `v1,` + base64 of HMAC-SHA-256 under the secret's
//! bytes over `{id}.{timestamp}.{body}`, so the receiver can tell it came from us, unchanged,
//! and when.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::AuthError;
use crate::util::{hmac_sha256, random_bytes};

/// What a webhook secret begins with.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// A new webhook secret: 32 random bytes, written as the specification writes them.
pub fn new_webhook_secret() -> Result<String, AuthError> {
    Ok(format!(
        "{WEBHOOK_SECRET_PREFIX}{}",
        STANDARD.encode(random_bytes::<32>()?)
    ))
}

/// The `webhook-signature` header's value for a message: `v1,` and the signature; `None` for a
/// secret that is not one.
pub fn webhook_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(WEBHOOK_SECRET_PREFIX)?)
        .ok()?;
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(hmac_sha256(&key, &message))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example (standard-webhooks, spec/standard-webhooks.md).
    #[test]
    fn signs_as_the_specification_does() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            webhook_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(webhook_signature("nope", "m", 1, body), None);
    }

    #[test]
    fn a_new_secret_signs() {
        let secret = new_webhook_secret().unwrap_or_default();
        assert!(secret.starts_with(WEBHOOK_SECRET_PREFIX));
        assert!(webhook_signature(&secret, "m", 1, b"{}").is_some());
    }
}
