//! Small shared pieces over maintained crates: the OS RNG, constant-time comparison (`subtle`),
//! HMAC-SHA-256 (`hmac`), hex, base64url and percent-encoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::{Digest, KeyInit};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::AuthError;

/// SHA-256's block size, which is HMAC's key size.
const HMAC_BLOCK: usize = 64;

/// Everything but RFC 3986's unreserved characters (`A–Z a–z 0–9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Fills `buf` from the operating system's RNG.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(buf).map_err(|e| AuthError::Rng(e.to_string()))
}

/// `N` bytes from the operating system's RNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut buf = [0u8; N];
    fill_random(&mut buf)?;
    Ok(buf)
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths (which are not
/// secret here: hashes, MACs and codes have fixed public lengths).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// SHA-256 of `data` as lower-case hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// HMAC-SHA-256 (RFC 2104). The key is handed to `hmac` as one block (hashed first when longer,
/// zero-padded when shorter, as RFC 2104 does itself) so that its infallible constructor serves
/// and no key length can fail.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; HMAC_BLOCK];
    if key.len() > HMAC_BLOCK {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// URL-safe base64 without padding (RFC 4648 §5).
pub(crate) fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Percent-encodes everything but RFC 3986's unreserved characters, UTF-8 bytewise.
pub(crate) fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // (key, data, expected): test cases 1, 2, 6 (key longer than a block) and 7.
        let cases: [(Vec<u8>, &[u8], &str); 5] = [
            (
                vec![0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
            (
                // Exactly one block of key is used as it is, not hashed.
                vec![0xaa; 64],
                b"exactly one block of key",
                &hex::encode({
                    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0xaa; 64]).unwrap();
                    m.update(b"exactly one block of key");
                    m.finalize().into_bytes()
                }),
            ),
        ];
        for (key, data, expected) in cases {
            assert_eq!(
                hex::encode(hmac_sha256(&key, data)),
                expected,
                "key {key:02x?}"
            );
        }
    }

    #[test]
    fn base64url_matches_rfc_4648() {
        let cases: [(&[u8], &str); 9] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            // The two characters that differ from standard base64: '+' and '/'.
            (&[0xfb, 0xff], "-_8"),
            (&[0xf8, 0x00, 0x3e], "-AA-"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64url(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn sha256_as_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ct_eq_compares_lengths_and_bytes() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"\x00", b"\x80"));
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("Az09-._~"), "Az09-._~");
        assert_eq!(percent_encode("alice@example.org"), "alice%40example.org");
        assert_eq!(percent_encode("a b:c/é"), "a%20b%3Ac%2F%C3%A9");
    }
}
