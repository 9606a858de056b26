//! TOTP secrets sealed at rest. Whoever can read the database (a backup, a copy, another local
//! user) must not be able to mint anyone's codes, so a secret is stored only as
//! `v1:<key id>:<base64url(nonce ‖ ciphertext)>`: XChaCha20-Poly1305 under a key kept outside the
//! database, a random 24-byte nonce per seal, and as associated data the prefix and the account's
//! lower-case address (a sealed secret copied onto another account does not open).
//!
//! The key id (the first 8 hex digits of a SHA-256 of the key) says which key sealed a secret, so
//! a [`SecretKeys`] can hold the current key and older ones still readable while every secret is
//! sealed afresh under the new one (rotation). A secret stored before sealing existed (plain
//! base32, never containing `:`) is read as it is, and sealed by
//! [`Steward::seal_plain_secrets`](crate::Steward::seal_plain_secrets).
//!
//! The key comes from the front end: the CLI reads `STEWARD_SECRET_KEY` or a key file; this crate
//! reads no environment. [`SecretKey::load_or_create`] makes the file with mode 0600.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// The format written today.
const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret key: {0}")]
    BadKey(String),
    #[error("secret key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the TOTP secret of {email} is sealed under key {key_id}, which this server was not given; \
         start it with that key (or with it among the older keys) to read it"
    )]
    UnknownKey { email: String, key_id: String },
    #[error(
        "the TOTP secret of {email} does not open under key {key_id}: the key is wrong or the \
         stored secret was altered"
    )]
    WontOpen { email: String, key_id: String },
    #[error("the TOTP secret of {email} is stored in a form this version cannot read")]
    Malformed { email: String },
    #[error("no randomness from the operating system: {0}")]
    Rng(String),
}

pub type Result<T, E = SecretError> = std::result::Result<T, E>;

/// One 256-bit key and its id. `Debug` shows only the id.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey {
    id: String,
    key: [u8; KEY_LEN],
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    pub fn from_bytes(key: [u8; KEY_LEN]) -> SecretKey {
        let digest = Sha256::new()
            .chain_update(b"steward secret key id\0")
            .chain_update(key)
            .finalize();
        let id = hex::encode(digest.get(..4).unwrap_or(&digest));
        SecretKey { id, key }
    }

    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<SecretKey> {
        let mut key = [0u8; KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| SecretError::Rng(e.to_string()))?;
        Ok(SecretKey::from_bytes(key))
    }

    /// A key written as 64 hex digits or as base64 (standard or URL-safe, padded or not) of
    /// 32 bytes; surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<SecretKey> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<std::result::Result<Vec<u8>, _>>()
                .map_err(|_| SecretError::BadKey("not hexadecimal".into()))?
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or_else(|| {
                    SecretError::BadKey("expected 64 hex digits or base64 of 32 bytes".into())
                })?
        };
        let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            SecretError::BadKey(format!(
                "{} bytes; a key is {KEY_LEN} bytes (64 hex digits or 44 base64 characters)",
                bytes.len()
            ))
        })?;
        Ok(SecretKey::from_bytes(key))
    }

    /// The key in standard base64, as written to a key file or given in `STEWARD_SECRET_KEY`.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key)
    }

    /// Which key this is (8 hex digits), as written into every secret it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads the key file at `path`; `None` if there is none.
    pub fn load(path: &Path) -> Result<Option<SecretKey>> {
        match std::fs::read_to_string(path) {
            Ok(text) => SecretKey::parse(&text).map(Some).map_err(|e| match e {
                SecretError::BadKey(reason) => {
                    SecretError::BadKey(format!("{}: {reason}", path.display()))
                }
                other => other,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SecretError::KeyFile {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Writes this key to a new file at `path`, readable by its owner only (mode 0600 whatever
    /// the umask); refuses to overwrite one.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        let io = |source| SecretError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        private(path).map_err(io)?;
        file.write_all(format!("{}\n", self.to_base64()).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io)
    }

    /// The key in the file at `path`, made on first use (mode 0600) when there is none; a file
    /// readable by others has its mode narrowed, and said so in the log. `true` if it was made.
    pub fn load_or_create(path: &Path) -> Result<(SecretKey, bool)> {
        if let Some(key) = SecretKey::load(path)? {
            narrow_mode(path).map_err(|source| SecretError::KeyFile {
                path: path.display().to_string(),
                source,
            })?;
            return Ok((key, false));
        }
        let key = SecretKey::generate()?;
        match key.write_new(path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), key_id = key.id(), "secret key created");
                Ok((key, true))
            }
            // Another process made it first: use theirs.
            Err(SecretError::KeyFile { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                let key = SecretKey::load(path)?.ok_or_else(|| {
                    SecretError::BadKey(format!("{}: vanished while read", path.display()))
                })?;
                Ok((key, false))
            }
            Err(e) => Err(e),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key.into())
    }
}

/// Sets mode 0600 (owner read and write only).
fn private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Narrows a file that group or others may use to 0600, saying so in the log.
pub fn narrow_mode(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            private(path)?;
            tracing::info!(path = %path.display(), was = format!("{mode:o}"), "file was readable by others; its mode is now 600");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The keys a server holds: the one it seals with, and older ones it can still open with.
#[derive(Debug, Clone)]
pub struct SecretKeys {
    current: SecretKey,
    older: Vec<SecretKey>,
}

/// How a stored secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored<'a> {
    /// Base32 as it was before sealing existed.
    Plain,
    /// Sealed under the key with this id.
    Sealed(&'a str),
}

impl SecretKeys {
    pub fn new(current: SecretKey) -> SecretKeys {
        SecretKeys {
            current,
            older: Vec::new(),
        }
    }

    /// Adds a key that secrets may still be sealed under (during a rotation).
    pub fn with_older(mut self, key: SecretKey) -> SecretKeys {
        if key.id != self.current.id && !self.older.iter().any(|k| k.id == key.id) {
            self.older.push(key);
        }
        self
    }

    pub fn current(&self) -> &SecretKey {
        &self.current
    }

    /// A key made once per process, for a `Steward` opened without one (tests, scratch
    /// databases): what it seals is unreadable once the process ends.
    pub(crate) fn ephemeral() -> Result<&'static SecretKeys> {
        static KEYS: std::sync::OnceLock<Option<SecretKeys>> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| SecretKey::generate().ok().map(SecretKeys::new))
            .as_ref()
            .ok_or_else(|| SecretError::Rng("cannot make a key".into()))
    }

    /// How `stored` is kept: `v<digits>:` starts a sealed secret, which base32 never does.
    pub fn stored(stored: &str) -> Stored<'_> {
        match stored.split_once(':') {
            Some((VERSION, rest)) => {
                Stored::Sealed(rest.split_once(':').map_or(rest, |(id, _)| id))
            }
            Some((version, _))
                if version.len() > 1
                    && version.starts_with('v')
                    && version[1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                Stored::Sealed("")
            }
            _ => Stored::Plain,
        }
    }

    /// `secret` sealed under the current key for the account `email`.
    pub fn seal(&self, email: &str, secret: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SecretError::Rng(e.to_string()))?;
        let header = format!("{VERSION}:{}", self.current.id);
        let aad = associated(&header, email);
        let sealed = self
            .current
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SecretError::Malformed {
                email: email.to_owned(),
            })?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{header}:{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret `stored` holds for `email`: opened under the key its id names, or as it is
    /// when it predates sealing.
    pub fn open(&self, email: &str, stored: &str) -> Result<String> {
        let malformed = || SecretError::Malformed {
            email: email.to_owned(),
        };
        let Stored::Sealed(_) = SecretKeys::stored(stored) else {
            return Ok(stored.to_owned());
        };
        let mut parts = stored.splitn(3, ':');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let key = std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == key_id)
            .ok_or_else(|| SecretError::UnknownKey {
                email: email.to_owned(),
                key_id: key_id.to_owned(),
            })?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| malformed())?;
        if bytes.len() < NONCE_LEN {
            return Err(malformed());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| malformed())?;
        let aad = associated(&format!("{VERSION}:{key_id}"), email);
        let plain = key
            .cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| SecretError::WontOpen {
                email: email.to_owned(),
                key_id: key_id.to_owned(),
            })?;
        String::from_utf8(plain).map_err(|_| malformed())
    }
}

/// What a seal is bound to besides its key: its own prefix and the account's address.
fn associated(header: &str, email: &str) -> Vec<u8> {
    let mut aad = header.as_bytes().to_vec();
    aad.push(0);
    aad.extend_from_slice(email.trim().to_lowercase().as_bytes());
    aad
}

impl crate::Steward {
    fn secret_keys(&self) -> Result<&SecretKeys> {
        match &self.keys {
            Some(keys) => Ok(keys),
            None => SecretKeys::ephemeral(),
        }
    }

    /// A TOTP secret (base32) sealed for storing on `email`'s account.
    pub(crate) fn seal_secret(&self, email: &str, secret: &str) -> Result<String> {
        self.secret_keys()?.seal(email, secret)
    }

    /// The base32 TOTP secret an account's stored one holds.
    pub(crate) fn open_secret(&self, email: &str, stored: &str) -> Result<String> {
        self.secret_keys()?.open(email, stored)
    }

    /// Seals every TOTP secret still stored in plain text (from before secrets were sealed),
    /// each as an audited `seal_totp_secret` act; returns how many. Run at every start: it
    /// costs one read of the accounts when there is nothing to do.
    pub fn seal_plain_secrets(&self, stamp: &crate::Stamp) -> crate::Result<usize> {
        self.reseal(stamp, "seal_totp_secret", |stored, _| {
            stored == Stored::Plain
        })
    }

    /// Seals every TOTP secret, connector credential and webhook secret that is not under the
    /// current key afresh under it, opening each with whichever key it names (the older keys
    /// must still be given); returns how many.
    /// The second half of a key rotation: once it returns, older keys can be dropped.
    pub fn reseal_secrets(&self, stamp: &crate::Stamp) -> crate::Result<usize> {
        self.reseal(stamp, "reseal_totp_secret", |stored, current| {
            stored != Stored::Sealed(current)
        })
    }

    /// Every account whose stored TOTP secret — and every connector credential and webhook
    /// secret (named `connector NAME`, `webhook ID`) — that does not open under the keys this
    /// server was given, with why — after a restore, the sign of a missing or wrong secret key. Nothing is
    /// written, and no secret leaves this method.
    pub fn unopenable_secrets(&self) -> crate::Result<Vec<(String, SecretError)>> {
        let keys = self.secret_keys()?;
        let mut out = Vec::new();
        for account in self.store().sign_ins()? {
            if let Some(stored) = &account.totp_secret
                && let Err(e) = keys.open(&account.email, stored)
            {
                out.push((account.email, e));
            }
        }
        for connector in self.store().connectors()? {
            if let Some(stored) = &connector.secret
                && let Err(e) =
                    keys.open(&crate::connectors::connector_actor(&connector.name), stored)
            {
                out.push((format!("connector {}", connector.name), e));
            }
        }
        for hook in self.store().webhooks()? {
            if let Err(e) = keys.open(&crate::webhooks::sealed_for(&hook.id), &hook.secret) {
                out.push((format!("webhook {}", hook.id), e));
            }
        }
        Ok(out)
    }

    fn reseal(
        &self,
        stamp: &crate::Stamp,
        action: &str,
        wanted: impl Fn(Stored<'_>, &str) -> bool,
    ) -> crate::Result<usize> {
        let keys = self.secret_keys()?;
        let current = keys.current().id().to_owned();
        let mut n = 0;
        for mut account in self.store().sign_ins()? {
            let Some(stored) = &account.totp_secret else {
                continue;
            };
            if !wanted(SecretKeys::stored(stored), &current) {
                continue;
            }
            // Opened and sealed again in memory; neither is logged.
            let secret = keys.open(&account.email, stored)?;
            account.totp_secret = Some(keys.seal(&account.email, &secret)?);
            self.store()
                .save_sign_in(&stamp.actor, stamp.at, action, &account)?;
            n += 1;
        }
        if n > 0 {
            tracing::info!(accounts = n, key_id = %current, action, "TOTP secrets sealed");
        }
        // Connectors' credentials are sealed under the same keys: a rotation reseals them too,
        // or dropping the older key afterwards would leave every connector unable to sign in.
        let mut credentials = 0;
        for mut connector in self.store().connectors()? {
            let Some(stored) = &connector.secret else {
                continue;
            };
            if !wanted(SecretKeys::stored(stored), &current) {
                continue;
            }
            let bound = crate::connectors::connector_actor(&connector.name);
            let secret = keys.open(&bound, stored)?;
            connector.secret = Some(keys.seal(&bound, &secret)?);
            self.store()
                .save_connector(&stamp.actor, stamp.at, &connector)?;
            credentials += 1;
        }
        if credentials > 0 {
            tracing::info!(connectors = credentials, key_id = %current, action, "connector credentials sealed");
        }
        // And webhooks' signing secrets.
        for hook in self.store().webhooks()? {
            if !wanted(SecretKeys::stored(&hook.secret), &current) {
                continue;
            }
            let bound = crate::webhooks::sealed_for(&hook.id);
            let secret = keys.open(&bound, &hook.secret)?;
            let sealed = keys.seal(&bound, &secret)?;
            if self
                .store()
                .set_webhook_secret(&stamp.actor, stamp.at, &hook.id, &sealed)?
            {
                credentials += 1;
            }
        }
        Ok(n + credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SecretKeys {
        SecretKeys::new(SecretKey::from_bytes([7; 32]))
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_account_and_key() {
        let keys = keys();
        let sealed = keys.seal("a@example.org", "JBSWY3DPEHPK3PXP").unwrap();
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"), "{sealed}");
        assert!(sealed.starts_with(&format!("v1:{}:", keys.current().id())));
        assert_eq!(
            keys.open("a@example.org", &sealed).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        // The address is bound in: the same ciphertext moved to another account does not open.
        assert!(matches!(
            keys.open("b@example.org", &sealed),
            Err(SecretError::WontOpen { .. })
        ));
        // Another key with the same id (a forged prefix) does not open it either.
        let forged = sealed.replacen(keys.current().id(), "00000000", 1);
        assert!(matches!(
            keys.open("a@example.org", &forged),
            Err(SecretError::UnknownKey { .. })
        ));
        let other = SecretKeys::new(SecretKey::from_bytes([8; 32]));
        let err = other.open("a@example.org", &sealed).unwrap_err();
        assert!(err.to_string().contains("not given"), "{err}");
        // A flipped bit in the body is refused, not mis-read.
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(keys.open("a@example.org", &tampered).is_err());
        // Two seals of one secret differ (fresh nonce).
        assert_ne!(
            sealed,
            keys.seal("a@example.org", "JBSWY3DPEHPK3PXP").unwrap()
        );
    }

    #[test]
    fn plain_secrets_read_as_they_are_and_garbage_is_an_error() {
        let keys = keys();
        assert_eq!(SecretKeys::stored("JBSWY3DPEHPK3PXP"), Stored::Plain);
        assert_eq!(
            keys.open("a@x.org", "JBSWY3DPEHPK3PXP").unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        for bad in ["v1:", "v1:abc", "v1:abc:", "v1:abc:%%%", "v2:abc:def"] {
            assert!(keys.open("a@x.org", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn older_keys_open_what_they_sealed() {
        let old = keys();
        let sealed = old.seal("a@x.org", "SECRET").unwrap();
        let rotated = SecretKeys::new(SecretKey::from_bytes([9; 32]))
            .with_older(SecretKey::from_bytes([7; 32]));
        assert_eq!(rotated.open("a@x.org", &sealed).unwrap(), "SECRET");
        let resealed = rotated.seal("a@x.org", "SECRET").unwrap();
        assert!(old.open("a@x.org", &resealed).is_err());
    }

    #[test]
    fn keys_parse_from_hex_and_base64_and_refuse_the_wrong_length() {
        let key = SecretKey::from_bytes([0xab; 32]);
        assert_eq!(SecretKey::parse(&key.to_base64()).unwrap(), key);
        assert_eq!(SecretKey::parse(&"ab".repeat(32)).unwrap(), key);
        assert_eq!(
            SecretKey::parse(&format!(" {}\n", key.to_base64())).unwrap(),
            key
        );
        let short = SecretKey::parse("AAAA").unwrap_err().to_string();
        assert!(short.contains("3 bytes"), "{short}");
        assert!(SecretKey::parse("not a key!").is_err());
        assert_eq!(format!("{key:?}"), format!("SecretKey({})", key.id()));
    }
}
