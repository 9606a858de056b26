//! RFC 4648 base32 (the standard alphabet `A–Z 2–7`), as TOTP secrets are written.

use crate::AuthError;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes `bytes` as upper-case base32 without padding, as authenticator apps expect.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(5));
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for &b in bytes {
        buffer = (buffer << 8 | u32::from(b)) & 0xfff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32, tolerating lower case, whitespace anywhere and trailing `=` padding.
///
/// Refuses any other character, anything after padding, and lengths that no encoding produces
/// (1, 3 or 6 symbols past a multiple of 8). Bits left over in the last symbol are ignored.
pub fn base32_decode(text: &str) -> Result<Vec<u8>, AuthError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    let mut symbols: usize = 0;
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
        let value = match c.to_ascii_uppercase() {
            u @ 'A'..='Z' => u32::from(u) - u32::from('A'),
            d @ '2'..='7' => u32::from(d) - u32::from('2') + 26,
            _ => {
                return Err(AuthError::InvalidBase32(format!(
                    "unexpected character {c:?} at position {position}"
                )));
            }
        };
        symbols += 1;
        buffer = (buffer << 5 | value) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    if matches!(symbols % 8, 1 | 3 | 6) {
        return Err(AuthError::InvalidBase32(format!(
            "{symbols} symbols is not a whole number of bytes"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_vectors() {
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
