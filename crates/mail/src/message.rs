//! Plain-text messages in the Internet Message Format (RFC 5322, with MIME for UTF-8).
//!
//! Header text from the registers — names, subjects — is untrusted: line breaks and other control
//! characters are replaced, and anything beyond plain ASCII is carried as RFC 2047 encoded words,
//! so no value can add a header. The body goes as 7-bit text when it is plain ASCII in short
//! lines, and as base64 otherwise.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::smtp::check_address;

/// An address with an optional display name: `Ada Lovelace <ada@example.org>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    pub fn new(name: Option<&str>, address: &str) -> Result<Mailbox> {
        check_address(address)?;
        Ok(Mailbox {
            name: name.map(str::to_owned),
            address: address.to_owned(),
        })
    }

    fn header_text(&self) -> String {
        match self
            .name
            .as_deref()
            .map(clean)
            .filter(|n| !n.trim().is_empty())
        {
            Some(name) if name.is_ascii() => {
                let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
                format!("\"{quoted}\" <{}>", self.address)
            }
            Some(name) => format!("{} <{}>", encoded_words(&name).join(" "), self.address),
            None => format!("<{}>", self.address),
        }
    }
}

/// One message, ready to be written out.
#[derive(Debug, Clone)]
pub struct Message {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub subject: String,
    pub body: String,
    pub date: DateTime<Utc>,
    /// The left-hand side of the Message-ID; made safe before use.
    pub id: String,
}

impl Message {
    /// The message as the relay receives it: headers, a blank line and the body, CRLF line ends.
    pub fn render(&self) -> Vec<u8> {
        let mut head = Vec::new();
        head.push(format!("Date: {}", self.date.to_rfc2822()));
        head.push(format!("From: {}", self.from.header_text()));
        let to: Vec<String> = self.to.iter().map(Mailbox::header_text).collect();
        // One address per line keeps every header line short, whatever the number.
        head.push(format!("To: {}", to.join(",\r\n ")));
        head.push(format!("Subject: {}", subject_text(&self.subject)));
        let domain = self
            .from
            .address
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d);
        let id: String = self
            .id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '.'
                }
            })
            .take(120)
            .collect();
        head.push(format!("Message-ID: <{id}@{domain}>"));
        // RFC 3834: machines should not answer machines.
        head.push("Auto-Submitted: auto-generated".into());
        head.push("MIME-Version: 1.0".into());
        head.push("Content-Type: text/plain; charset=utf-8".into());
        let body = self.body.replace("\r\n", "\n").replace('\r', "\n");
        let plain = body.is_ascii()
            && body.lines().all(|l| l.len() <= 998)
            && !body
                .chars()
                .any(|c| c.is_ascii_control() && c != '\n' && c != '\t');
        let body = if plain {
            head.push("Content-Transfer-Encoding: 7bit".into());
            body.replace('\n', "\r\n")
        } else {
            head.push("Content-Transfer-Encoding: base64".into());
            base64_lines(body.as_bytes())
        };
        let mut out = head.join("\r\n");
        out.push_str("\r\n\r\n");
        out.push_str(&body);
        if !out.ends_with("\r\n") {
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}

/// Control characters (line breaks above all) become spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn subject_text(subject: &str) -> String {
    let subject = clean(subject);
    if subject.is_ascii() && subject.len() <= 900 {
        subject
    } else {
        encoded_words(&subject).join("\r\n ")
    }
}

/// RFC 2047 encoded words (`=?utf-8?B?…?=`), each under 76 characters and each holding whole
/// characters.
fn encoded_words(text: &str) -> Vec<String> {
    const MAX_BYTES: usize = 39; // 52 base64 characters, 64 with the wrapping.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > MAX_BYTES {
            words.push(format!("=?utf-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?utf-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 in lines of 76 characters, as MIME bodies carry it.
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38);
    for (i, c) in encoded.chars().enumerate() {
        if i > 0 && i % 76 == 0 {
            out.push_str("\r\n");
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(name: &str, subject: &str, body: &str) -> String {
        let date = DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let m = Message {
            from: Mailbox::new(Some("Steward"), "steward@example.org")
                .unwrap_or_else(|e| panic!("{e}")),
            to: vec![Mailbox::new(Some(name), "ada@example.org").unwrap_or_else(|e| panic!("{e}"))],
            subject: subject.into(),
            body: body.into(),
            date,
            id: "INC-000002/it-service-desk".into(),
        };
        String::from_utf8(m.render()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn headers(text: &str) -> Vec<&str> {
        text.split("\r\n\r\n")
            .next()
            .unwrap_or("")
            .split("\r\n")
            .collect()
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }

    #[test]
    fn a_plain_message_is_readable_as_it_stands() {
        let text = message(
            "Ada Lovelace",
            "[Steward] incident INC-000002 (loss)",
            "Dear Ada,\n\nA laptop was lost.\n",
        );
        assert_eq!(
            headers(&text),
            [
                "Date: Tue, 24 Nov 2026 09:00:00 +0000",
                "From: \"Steward\" <steward@example.org>",
                "To: \"Ada Lovelace\" <ada@example.org>",
                "Subject: [Steward] incident INC-000002 (loss)",
                "Message-ID: <INC-000002.it-service-desk@example.org>",
                "Auto-Submitted: auto-generated",
                "MIME-Version: 1.0",
                "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: 7bit",
            ]
        );
        assert!(
            text.ends_with("\r\n\r\nDear Ada,\r\n\r\nA laptop was lost.\r\n"),
            "{text}"
        );
    }

    #[test]
    fn nothing_from_the_registers_can_add_a_header() {
        let text = message(
            "Eve\r\nBcc: all@example.org",
            "lost\r\nBcc: all@example.org",
            "body",
        );
        let headers = headers(&text);
        assert!(headers.iter().all(|h| !h.starts_with("Bcc")), "{headers:?}");
        assert!(
            headers.contains(&"To: \"Eve  Bcc: all@example.org\" <ada@example.org>"),
            "{headers:?}"
        );
        assert!(
            headers.contains(&"Subject: lost  Bcc: all@example.org"),
            "{headers:?}"
        );
        // Quotes in a name cannot close the quoted string early.
        let text = message("a\" <x@evil.org>, \"b", "s", "b");
        assert!(
            text.contains("To: \"a\\\" <x@evil.org>, \\\"b\" <ada@example.org>"),
            "{text}"
        );
    }

    #[test]
    fn text_beyond_ascii_is_encoded_in_headers_and_body() {
        let text = message("Zoë Brontë", "Zoë’s phone — lost", "Dear Zoë,\n.\nBye\n");
        let headers = headers(&text);
        assert!(
            headers.contains(&"To: =?utf-8?B?Wm/DqyBCcm9udMOr?= <ada@example.org>"),
            "{headers:?}"
        );
        assert!(
            headers.contains(&"Subject: =?utf-8?B?Wm/Dq+KAmXMgcGhvbmUg4oCUIGxvc3Q=?="),
            "{headers:?}"
        );
        assert!(
            headers.contains(&"Content-Transfer-Encoding: base64"),
            "{headers:?}"
        );
        assert!(
            text.ends_with(&format!(
                "\r\n\r\n{}\r\n",
                base64("Dear Zoë,\n.\nBye\n".as_bytes())
            )),
            "{text}"
        );
        // A long subject is folded into several encoded words, every line short.
        let long = "é".repeat(200);
        let text = message("x", &long, "b");
        assert!(text.lines().all(|l| l.len() <= 78), "{text}");
        assert!(text.contains("?=\r\n =?utf-8?B?"), "{text}");
    }
}
