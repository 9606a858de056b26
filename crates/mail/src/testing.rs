//! A real SMTP server for tests (no mocks): Python's, from `testing/smtp_sink.py` — aiosmtpd, or
//! the standard library's smtpd up to Python 3.11 — listening on a loopback port until dropped and
//! keeping each message it receives as a JSON file with Python's own reading of it. With
//! [`SmtpServer::start_with`] it offers STARTTLS or TLS, with a self-signed certificate made for
//! it by the `openssl` command, and requires signing in (aiosmtpd only).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::smtp::Relay;

pub struct SmtpServer {
    child: Child,
    pub relay: Relay,
    /// The server's self-signed certificate, for `smtp_ca_file`, when it offers TLS.
    pub certificate: Option<PathBuf>,
    /// The port it listens on: `relay` is plain SMTP to it, [`Relay::configure`] builds others.
    pub port: u16,
    dir: PathBuf,
}

/// How [`SmtpServer::start_with`] sets the server up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkOptions {
    /// Offer STARTTLS, and require it before anything else.
    pub starttls: bool,
    /// TLS from the first byte.
    pub smtps: bool,
    /// Require signing in as this user, with `password` (PLAIN or LOGIN) or `token` (XOAUTH2).
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// Mechanisms not offered (`PLAIN`, `LOGIN`).
    pub exclude: Vec<String>,
    /// Offer AUTH without TLS, as no honest server should.
    pub auth_without_tls: bool,
}

impl SmtpServer {
    /// `None`, with a line saying the test is skipped, when this machine has no Python SMTP
    /// server; under `CI` that is a panic instead, as a missing part must fail there.
    pub fn start() -> Option<SmtpServer> {
        SmtpServer::start_with(&SinkOptions::default())
    }

    /// A server set up as `options` say: `None` (a panic under `CI`) when this machine lacks
    /// aiosmtpd or the `openssl` command they need.
    pub fn start_with(options: &SinkOptions) -> Option<SmtpServer> {
        let unavailable = |why: String| {
            assert!(
                std::env::var_os("CI").is_none(),
                "no SMTP server for the mail tests: {why}"
            );
            eprintln!("skipped: no SMTP server for the mail tests: {why}");
        };
        let dir = std::env::temp_dir().join(format!(
            "steward-smtp-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            unavailable(format!("cannot create {}: {e}", dir.display()));
            return None;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/testing/smtp_sink.py");
        let mut command = Command::new("python3");
        command.arg(script).arg(&dir);
        let mut certificate = None;
        if options.starttls || options.smtps {
            // Kept outside the folder of messages, which `received` reads.
            let cert = dir.with_extension("cert.pem");
            let key = dir.with_extension("key.pem");
            let made = Command::new("openssl")
                .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
                .args(["-subj", "/CN=localhost"])
                .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .args(["-addext", "extendedKeyUsage=serverAuth"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if !made.is_ok_and(|s| s.success()) {
                let _ = std::fs::remove_dir_all(&dir);
                unavailable("the openssl command cannot make a certificate".into());
                return None;
            }
            command.arg("--cert").arg(&cert).arg("--key").arg(&key);
            if options.smtps {
                command.arg("--smtps");
            } else {
                command.arg("--require-starttls");
            }
            certificate = Some(cert);
        }
        for (flag, value) in [
            ("--user", &options.user),
            ("--password", &options.password),
            ("--token", &options.token),
        ] {
            if let Some(value) = value {
                command.arg(flag).arg(value);
            }
        }
        if options.auth_without_tls {
            command.arg("--auth-without-tls");
        }
        for mechanism in &options.exclude {
            command.arg("--exclude").arg(mechanism);
        }
        let mut child = match command.stdout(Stdio::piped()).spawn() {
            Ok(c) => c,
            Err(e) => {
                unavailable(format!("cannot start python3: {e}"));
                return None;
            }
        };
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        match line.trim().parse::<u16>() {
            Ok(port) => Some(SmtpServer {
                child,
                relay: Relay::plain("127.0.0.1", port),
                certificate,
                port,
                dir,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&dir);
                unavailable(if *options == SinkOptions::default() {
                    "python3 has neither aiosmtpd nor smtpd".into()
                } else {
                    "python3 has no aiosmtpd, which TLS and AUTH need".into()
                });
                None
            }
        }
    }

    /// Every message received so far, in order, each as the JSON text the server kept: `from`,
    /// `to` (the envelope), `data` (the message as sent), `headers` and `body` (as Python's email
    /// parser reads them) and `defects` (what it found wrong).
    pub fn received(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(cert) = &self.certificate {
            let _ = std::fs::remove_file(cert);
            let _ = std::fs::remove_file(self.dir.with_extension("key.pem"));
        }
    }
}
