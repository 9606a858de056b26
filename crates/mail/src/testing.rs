//! A real SMTP server for tests (no mocks): Python's, from `testing/smtp_sink.py` — aiosmtpd, or
//! the standard library's smtpd up to Python 3.11 — listening on a loopback port until dropped and
//! keeping each message it receives as a JSON file with Python's own reading of it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::smtp::Relay;

pub struct SmtpServer {
    child: Child,
    pub relay: Relay,
    dir: PathBuf,
}

impl SmtpServer {
    /// `None`, with a line saying the test is skipped, when this machine has no Python SMTP
    /// server; under `CI` that is a panic instead, as a missing part must fail there.
    pub fn start() -> Option<SmtpServer> {
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
        let mut child = match Command::new("python3")
            .arg(script)
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
        {
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
                relay: Relay {
                    host: "127.0.0.1".into(),
                    port,
                },
                dir,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&dir);
                unavailable("python3 has neither aiosmtpd nor smtpd".into());
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
    }
}
