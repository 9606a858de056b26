//! Small shared pieces: the OS RNG, constant-time comparison, HMAC, hex and base64url.

use hmac::digest::{Digest, KeyInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use crate::AuthError;

/// The block size of both SHA-1 and SHA-256, which is HMAC's key size.
const HMAC_BLOCK: usize = 64;

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
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// SHA-256 of `data` as lower-case hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// HMAC's key block: keys longer than the block are hashed first, shorter ones are zero-padded
/// (RFC 2104). Building it here lets HMAC be keyed through its infallible fixed-size constructor.
fn key_block<D: Digest>(key: &[u8]) -> [u8; HMAC_BLOCK] {
    let mut block = [0u8; HMAC_BLOCK];
    if key.len() > HMAC_BLOCK {
        let digest = D::digest(key);
        for (slot, b) in block.iter_mut().zip(digest.iter()) {
            *slot = *b;
        }
    } else {
        for (slot, b) in block.iter_mut().zip(key) {
            *slot = *b;
        }
    }
    block
}

/// HMAC-SHA-1 (RFC 2104), as TOTP uses it.
pub(crate) fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<Sha1> as KeyInit>::new(&key_block::<Sha1>(key).into());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA-256 (RFC 2104).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&key_block::<Sha256>(key).into());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// URL-safe base64 without padding (RFC 4648 §5).
pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sym = |n: u32, shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        match *chunk {
            [a, b, c] => {
                let n = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
                out.extend([sym(n, 18), sym(n, 12), sym(n, 6), sym(n, 0)]);
            }
            [a, b] => {
                let n = u32::from(a) << 16 | u32::from(b) << 8;
                out.extend([sym(n, 18), sym(n, 12), sym(n, 6)]);
            }
            [a] => {
                let n = u32::from(a) << 16;
                out.extend([sym(n, 18), sym(n, 12)]);
            }
            _ => {}
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters, UTF-8 bytewise.
pub(crate) fn percent_encode(text: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // (key, data, expected): test cases 1, 2, 6 (key longer than a block) and 7.
        let cases: [(Vec<u8>, &[u8], &str); 4] = [
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
        ];
        for (key, data, expected) in cases {
            assert_eq!(hex(&hmac_sha256(&key, data)), expected, "key {key:02x?}");
        }
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        let cases: [(Vec<u8>, &[u8], &str); 4] = [
            (
                vec![0x0b; 20],
                b"Hi There",
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?",
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                vec![0xaa; 64],
                b"exactly one block of key",
                &hex(&{
                    // A 64-byte key is used as it is, not hashed.
                    let mut m = <Hmac<Sha1> as KeyInit>::new_from_slice(&[0xaa; 64]).unwrap();
                    m.update(b"exactly one block of key");
                    <[u8; 20]>::from(m.finalize().into_bytes())
                }),
            ),
        ];
        for (key, data, expected) in cases {
            assert_eq!(hex(&hmac_sha1(&key, data)), expected, "key {key:02x?}");
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
    fn hex_and_sha256() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
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
