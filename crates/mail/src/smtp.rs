//! The client half of SMTP (RFC 5321) that a relay needs: greeting, `EHLO` (or `HELO`), then per
//! message `MAIL FROM`, `RCPT TO`, `DATA` with the body dot-stuffed, and `QUIT`.
//!
//! Steward hands mail to a relay — a mail server on the same machine or the organisation's own
//! relay on its network — which does the onward delivery, TLS to the outside world included. So
//! there is no TLS or authentication here, and a relay that is not on loopback is logged as a
//! warning when a session opens.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::{MailError, Result};

/// How long any one read, write or connection attempt may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Longer reply lines are not SMTP (RFC 5321 §4.5.3.1.5 allows 512 octets).
const MAX_REPLY_LINE: usize = 4096;
/// More lines in one reply are not a relay worth talking to.
const MAX_REPLY_LINES: usize = 100;

/// Where mail is handed over: `smtp://host[:port]` (port 25 by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    pub host: String,
    pub port: u16,
}

impl Relay {
    pub fn parse(url: &str) -> Result<Relay> {
        let bad = |reason: &str| MailError::BadRelay {
            relay: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url.strip_prefix("smtp://").ok_or_else(|| {
            bad("expected smtp://host[:port]; Steward hands mail to a relay without TLS, which sends it on")
        })?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty()
            || rest.contains(['/', '@', '?', '#'])
            || rest.contains(char::is_whitespace)
        {
            return Err(bad("expected smtp://host[:port] with nothing else"));
        }
        // `[::1]:25`, `[::1]`, `host:25` or `host`.
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (host, after) = inner
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address needs its closing ]"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| bad("expected :port after the address"))?,
                    ),
                ),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        let port = match port {
            None => 25,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
        };
        Ok(Relay {
            host: host.to_owned(),
            port,
        })
    }

    fn addresses(&self) -> Result<Vec<SocketAddr>> {
        let found: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|source| MailError::Connect {
                relay: self.to_string(),
                source,
            })?
            .collect();
        Ok(found)
    }

    /// Opens a session: connects, reads the greeting and introduces itself.
    pub fn connect(&self) -> Result<Session> {
        let mut last = None;
        for addr in self.addresses()? {
            match TcpStream::connect_timeout(&addr, TIMEOUT) {
                Ok(stream) => {
                    if !addr.ip().is_loopback() {
                        tracing::warn!(relay = %self, "the mail relay is not on this machine; mail to it travels without TLS");
                    }
                    return Session::open(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(MailError::Connect {
            relay: self.to_string(),
            source: last.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "the host has no address")
            }),
        })
    }
}

impl std::fmt::Display for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "smtp://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "smtp://{}:{}", self.host, self.port)
        }
    }
}

/// A reply: its three-digit code and its text (lines joined by newlines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text.replace('\n', " / "))
    }
}

/// One conversation with a relay, over which several messages may be sent.
pub struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Session {
    fn open(stream: TcpStream) -> Result<Session> {
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        // Each command is one write followed by a wait for the reply: holding it back for more
        // to send (Nagle) only meets the server's delayed acknowledgement.
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let mut session = Session {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        session.expect("the greeting", 220)?;
        // An address literal names this side without trusting the machine's host name.
        let me = match local.ip() {
            std::net::IpAddr::V4(ip) => format!("[{ip}]"),
            std::net::IpAddr::V6(ip) => format!("[IPv6:{ip}]"),
        };
        let ehlo = session.command(&format!("EHLO {me}"))?;
        if ehlo.code != 250 {
            session.command_expect(&format!("HELO {me}"), 250)?;
        }
        Ok(session)
    }

    /// Sends one message to every address in `to`. A refusal of the message (any recipient
    /// refused, or the content) leaves the session ready for the next one.
    pub fn send(&mut self, from: &str, to: &[String], message: &[u8]) -> Result<()> {
        check_address(from)?;
        for address in to {
            check_address(address)?;
        }
        if to.is_empty() {
            return Err(MailError::BadAddress {
                address: String::new(),
                reason: "a message needs at least one recipient".into(),
            });
        }
        let sent = self.transaction(from, to, message);
        if matches!(sent, Err(MailError::Refused { .. })) {
            // Abandon this message but keep the conversation for the next one.
            self.command_expect("RSET", 250)?;
        }
        sent
    }

    fn transaction(&mut self, from: &str, to: &[String], message: &[u8]) -> Result<()> {
        self.command_expect(&format!("MAIL FROM:<{from}>"), 250)?;
        for address in to {
            let reply = self.command(&format!("RCPT TO:<{address}>"))?;
            if reply.code != 250 && reply.code != 251 {
                return Err(MailError::Refused {
                    command: format!("RCPT TO:<{address}>"),
                    reply: reply.to_string(),
                });
            }
        }
        self.command_expect("DATA", 354)?;
        let mut data = dot_stuff(message);
        data.extend_from_slice(b".\r\n");
        self.writer.write_all(&data)?;
        self.writer.flush()?;
        self.expect("the end of the message", 250)?;
        Ok(())
    }

    /// Says goodbye; the relay's answer does not matter any more.
    pub fn quit(mut self) {
        let _ = self.command("QUIT");
    }

    fn command(&mut self, line: &str) -> Result<Reply> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.writer.flush()?;
        self.reply()
    }

    fn command_expect(&mut self, line: &str, code: u16) -> Result<Reply> {
        let reply = self.command(line)?;
        expected(reply, line, code)
    }

    fn expect(&mut self, what: &str, code: u16) -> Result<Reply> {
        let reply = self.reply()?;
        expected(reply, what, code)
    }

    /// Reads a reply: `250-first`, `250-more`, `250 last`.
    fn reply(&mut self) -> Result<Reply> {
        let mut text = Vec::new();
        for _ in 0..MAX_REPLY_LINES {
            let mut line = Vec::new();
            let n =
                Read::take(&mut self.reader, MAX_REPLY_LINE as u64).read_until(b'\n', &mut line)?;
            if n == 0 {
                return Err(MailError::Garbled("the relay closed the connection".into()));
            }
            if line.last() != Some(&b'\n') {
                return Err(MailError::Garbled("a reply line without its end".into()));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let bytes = line.as_bytes();
            let code = match (line.get(..3).map(str::parse::<u16>), bytes.get(3)) {
                (Some(Ok(code)), None | Some(b' ' | b'-')) if (200..600).contains(&code) => code,
                _ => return Err(MailError::Garbled(line.to_owned())),
            };
            text.push(line.get(4..).unwrap_or("").to_owned());
            if bytes.get(3) != Some(&b'-') {
                return Ok(Reply {
                    code,
                    text: text.join("\n"),
                });
            }
        }
        Err(MailError::Garbled(format!(
            "a reply of more than {MAX_REPLY_LINES} lines"
        )))
    }
}

/// The reply to `what`, if it has the code wanted.
fn expected(reply: Reply, what: &str, code: u16) -> Result<Reply> {
    if reply.code == code {
        Ok(reply)
    } else {
        Err(MailError::Refused {
            command: what.to_owned(),
            reply: reply.to_string(),
        })
    }
}

/// SMTP transparency (RFC 5321 §4.5.2): a line that begins with `.` gets another, so no line of
/// the message can end it early. Lines end in CRLF, and so does the whole.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    let mut bytes = message.iter().peekable();
    while let Some(&b) = bytes.next() {
        match b {
            b'\r' => {
                // A bare CR, or the CR of CRLF: either way the line ends here.
                if bytes.peek() == Some(&&b'\n') {
                    bytes.next();
                }
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => {
                if at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                at_line_start = false;
            }
        }
    }
    if !at_line_start || out.is_empty() {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The addresses Steward sends to: `local@domain` in printable ASCII, nothing SMTP or a header
/// would read as syntax. Stricter than RFC 5321 allows, on purpose.
pub fn check_address(address: &str) -> Result<()> {
    let bad = |reason: &str| MailError::BadAddress {
        address: address.to_owned(),
        reason: reason.to_owned(),
    };
    if address.len() > 254 {
        return Err(bad("longer than 254 characters"));
    }
    let (local, domain) = address
        .split_once('@')
        .ok_or_else(|| bad("expected local@domain"))?;
    let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    if local.is_empty() || local.len() > 64 || !local.chars().all(atom) {
        return Err(bad(
            "the part before @ must be letters, digits and !#$%&'*+-/=?^_`{|}~.",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad("the part before @ has a misplaced dot"));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !domain.contains('.') || !domain.split('.').all(label_ok) {
        return Err(bad(
            "the domain must be dot-separated names of letters, digits and hyphens",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_parse_or_say_why_not() {
        let cases: &[(&str, Option<(&str, u16)>)] = &[
            ("smtp://127.0.0.1:2525", Some(("127.0.0.1", 2525))),
            ("smtp://mail.example.org", Some(("mail.example.org", 25))),
            ("smtp://mail.example.org/", Some(("mail.example.org", 25))),
            ("smtp://[::1]:2525", Some(("::1", 2525))),
            ("smtp://[::1]", Some(("::1", 25))),
            ("smtps://mail.example.org", None),
            ("mail.example.org:25", None),
            ("smtp://", None),
            ("smtp://:25", None),
            ("smtp://host:0", None),
            ("smtp://host:70000", None),
            ("smtp://user@host", None),
            ("smtp://host/path", None),
            ("smtp://[::1", None),
        ];
        for (url, want) in cases {
            let got = Relay::parse(url);
            match want {
                Some((host, port)) => {
                    let relay = got.unwrap_or_else(|e| panic!("{url}: {e}"));
                    assert_eq!((relay.host.as_str(), relay.port), (*host, *port), "{url}");
                }
                None => assert!(
                    matches!(got, Err(MailError::BadRelay { .. })),
                    "{url} was taken: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn dot_stuffing_keeps_every_line_and_cannot_end_the_message_early() {
        let cases: &[(&str, &str)] = &[
            ("hello", "hello\r\n"),
            ("a\nb\n", "a\r\nb\r\n"),
            (".\r\n", "..\r\n"),
            ("a\r\n.\r\nb", "a\r\n..\r\nb\r\n"),
            ("..twice\n", "...twice\r\n"),
            ("bare\rcr", "bare\r\ncr\r\n"),
            ("", "\r\n"),
            ("mid.dle\n", "mid.dle\r\n"),
        ];
        for (message, want) in cases {
            let got = dot_stuff(message.as_bytes());
            assert_eq!(String::from_utf8_lossy(&got), *want, "{message:?}");
            assert!(!got.windows(5).any(|w| w == b"\r\n.\r\n"), "{message:?}");
        }
    }

    #[test]
    fn only_plain_addresses_are_sent_to() {
        for good in ["ada@example.org", "a.b+c@mail.example.co.uk", "x_y@a-b.org"] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "nobody",
            "a@b",
            "a>@example.org",
            "a@example.org>",
            "<a@example.org",
            "a b@example.org",
            "a@exa mple.org",
            "a\r\nRCPT TO:<x@y.org>@example.org",
            "zoë@example.org",
            ".a@example.org",
            "a..b@example.org",
            "a@-example.org",
            "a@example..org",
            "\"quoted\"@example.org",
        ] {
            assert!(
                matches!(check_address(bad), Err(MailError::BadAddress { .. })),
                "{bad:?} was taken"
            );
        }
    }
}
