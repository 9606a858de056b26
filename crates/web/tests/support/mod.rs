//! A real server on a loopback port and a small HTTP/1.1 client with a cookie jar, for the web
//! tests. The client speaks over a real socket; nothing of the server is replaced.

#![allow(dead_code)]

pub mod demo;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use steward_model::{Person, PersonStatus};
use steward_service::{Capacity, Stamp, Steward};

pub const PASSWORD: &str = "correct horse battery staple";

/// The server, running until dropped.
pub struct Server {
    pub addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub fn start(url: &str, options: steward_web::Options) -> Server {
        let steward = Steward::open(url).unwrap_or_else(|e| panic!("open {url}: {e}"));
        Server::start_with(steward, options)
    }

    /// A server over a `Steward` set up by the test (its sign-in policy, say).
    pub fn start_with(steward: Steward, options: steward_web::Options) -> Server {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = runtime.spawn(steward_web::serve(steward, options, listener, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            runtime: Some(runtime),
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Stops the server gracefully and returns how it ended.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (self.runtime.take(), self.handle.take()) {
            (Some(runtime), Some(handle)) => runtime
                .block_on(handle)
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string()))),
            _ => Ok(()),
        }
    }

    pub fn client(&self) -> Client {
        Client {
            addr: self.addr,
            source: None,
            cookies: BTreeMap::new(),
        }
    }

    /// A client whose connections come from another loopback address (`127.0.0.2`, …), as a
    /// second machine's would.
    pub fn client_from(&self, source: std::net::IpAddr) -> Client {
        Client {
            addr: self.addr,
            source: Some(source),
            cookies: BTreeMap::new(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

impl Client {
    /// A client of any HTTP server on loopback (a provider the test runs beside Steward).
    pub fn at(addr: SocketAddr) -> Client {
        Client {
            addr,
            source: None,
            cookies: BTreeMap::new(),
        }
    }
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// The value of the first form's hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        self.body
            .split_once(marker)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(v, _)| v.to_owned())
            .unwrap_or_default()
    }

    /// The text of the element with this id (the first one), tags removed.
    pub fn text_of(&self, id: &str) -> String {
        let marker = format!("id=\"{id}\"");
        let Some((_, rest)) = self.body.split_once(&marker) else {
            return String::new();
        };
        let Some((_, rest)) = rest.split_once('>') else {
            return String::new();
        };
        let inner = rest.split_once("</").map_or(rest, |(inner, _)| inner);
        inner.to_owned()
    }
}

/// A browser-like client: keeps cookies, follows nothing by itself.
pub struct Client {
    addr: SocketAddr,
    /// The address connections are made from, when not the default.
    source: Option<std::net::IpAddr>,
    pub cookies: BTreeMap<String, String>,
}

impl Client {
    pub fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, None)
    }

    /// Follows a reply that sent the browser to a job's page (`303` to `/jobs/N`) until the job
    /// has ended, as the page's own refresh would, and returns the page then.
    pub fn follow_job(&mut self, reply: &Reply) -> Reply {
        assert_eq!(reply.status, 303, "not sent to a job: {}", reply.body);
        let path = reply.location().to_owned();
        assert!(path.starts_with("/jobs/"), "sent to {path}, not a job");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let page = self.get(&path);
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            if !page.body.contains("http-equiv=\"refresh\"") {
                return page;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path} still running: {}",
                page.body
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish()
            .into_bytes();
        self.send(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded", body)),
        )
    }

    /// Posts a `multipart/form-data` form, as a browser sends one with a file input: the fields,
    /// then each file as (field, file name, contents).
    pub fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Reply {
        const BOUNDARY: &str = "----StewardTestBoundary7MA4YWxk";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, filename, contents) in files {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(contents);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        self.send("POST", path, Some((&content_type, body)))
    }

    /// Posts `body` as it is under `content_type`: for bodies no browser would send.
    pub fn post_body(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send("POST", path, Some((content_type, body)))
    }

    /// Uploads a form after fetching the page that carries it, with that page's CSRF token.
    pub fn upload(
        &mut self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Reply {
        let csrf = self.get(page).csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_multipart(action, &all, files)
    }

    /// Posts a form after fetching the page that carries it, with that page's CSRF token.
    pub fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
        let csrf = self.get(page).csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all)
    }

    fn send(&mut self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Reply {
        self.request(method, path, &[], body)
    }

    /// Any request, with headers of its own (an API token, `If-Match`).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut stream = self.connect();
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if !cookie.is_empty() {
            request.push_str(&format!("Cookie: {}\r\n", cookie.join("; ")));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let mut request = request.into_bytes();
        if let Some((content_type, body)) = &body {
            request.extend_from_slice(
                format!(
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            request.extend_from_slice(body);
        } else {
            request.extend_from_slice(b"\r\n");
        }
        // A server may answer and close before it has read a body it refuses (one too large):
        // the answer is read all the same.
        if let Err(e) = stream.write_all(&request) {
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ),
                "send: {e}"
            );
        }
        let mut raw = Vec::new();
        if let Err(e) = stream.read_to_end(&mut raw) {
            assert!(!raw.is_empty(), "read: {e}");
        }
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        let body = if chunked {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie")
                && let Some((pair, attributes)) = v.split_once(';').or(Some((v.as_str(), "")))
                && let Some((name, value)) = pair.split_once('=')
            {
                if attributes.contains("Max-Age=0") || value.is_empty() {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A connection to the server, from the client's own source address if it has one.
    pub fn connect(&self) -> TcpStream {
        let Some(source) = self.source else {
            return TcpStream::connect(self.addr).expect("connect");
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        let stream = runtime
            .block_on(async {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(source, 0))?;
                socket.connect(self.addr).await
            })
            .and_then(|s| s.into_std())
            .expect("connect from source");
        stream.set_nonblocking(false).expect("blocking");
        stream
    }

    /// Signs in with a password and the current TOTP code; returns the reply to the code.
    pub fn sign_in(&mut self, email: &str, password: &str, secret: &str) -> Reply {
        self.sign_in_with_code(email, password, &code_now(secret))
    }

    /// Signs in with a password and the given code (each code is good once: see [`code_next`]).
    pub fn sign_in_with_code(&mut self, email: &str, password: &str, code: &str) -> Reply {
        let reply = self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        );
        assert_eq!(reply.status, 303, "password for {email}: {}", reply.body);
        assert_eq!(reply.location(), "/mfa", "{email}");
        self.submit("/mfa", "/mfa", &[("code", code)])
    }
}

fn dechunk(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// The TOTP code of `secret` now. If the current step ends within two seconds, waits for the
/// next so that the server sees the same step.
pub fn code_now(secret: &str) -> String {
    let totp = steward_auth::Totp::from_base32(secret).expect("secret");
    let mut now = chrono::Utc::now().timestamp() as u64;
    if now % 30 >= 28 {
        std::thread::sleep(std::time::Duration::from_secs(31 - now % 30));
        now = chrono::Utc::now().timestamp() as u64;
    }
    totp.code_at(now)
}

/// The code of the step after the current one (a code not used yet, for replay tests).
pub fn code_next(secret: &str) -> String {
    let totp = steward_auth::Totp::from_base32(secret).expect("secret");
    totp.code_at(chrono::Utc::now().timestamp() as u64 + 30)
}

pub fn person(id: &str, name: &str, manager: Option<&str>) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        email: Some(format!("{}@example.org", id.to_lowercase())),
        staff_group: "fca".into(),
        manager_id: manager.map(Into::into),
        budget_centre: None,
        status: PersonStatus::Active,
        start_date: None,
        leave_date: None,
        clearance: None,
        clearance_expires: None,
        byod: None,
        weekly_digest: None,
        job_title: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

/// Adds a sign-in with an enrolled authenticator; returns its TOTP secret.
pub fn account(
    steward: &Steward,
    email: &str,
    person: Option<&str>,
    capacities: &[Capacity],
) -> String {
    let stamp = Stamp::now("test");
    steward
        .add_sign_in(&stamp, email, email, person, PASSWORD, capacities)
        .unwrap_or_else(|e| panic!("add {email}: {e}"));
    steward
        .enrol_authenticator(&stamp, email)
        .unwrap_or_else(|e| panic!("enrol {email}: {e}"))
}

/// An IT person (IT1, holding the IT role), a member of staff (S1) and an administrator, each
/// with a sign-in (`it@`, `staff@`, `administrator@example.org`); people's addresses at
/// `domain`. Their authenticator secrets, by role.
pub fn it_staff_and_administrator(steward: &Steward, domain: &str) -> Vec<(&'static str, String)> {
    let stamp = Stamp::now("test");
    for id in ["IT1", "S1"] {
        let mut p = person(id, &format!("Person {id}"), None);
        p.email = Some(format!("{}@{domain}", id.to_lowercase()));
        steward.create(&stamp, &p).unwrap_or_else(|e| panic!("{e}"));
    }
    steward
        .create(
            &stamp,
            &steward_model::RoleGrant {
                person_id: "IT1".into(),
                role: steward_model::Role::It,
                granted_on: None,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    vec![
        ("it", account(steward, "it@example.org", Some("IT1"), &[])),
        (
            "staff",
            account(steward, "staff@example.org", Some("S1"), &[]),
        ),
        (
            "administrator",
            account(
                steward,
                "administrator@example.org",
                None,
                &[Capacity::Administrator],
            ),
        ),
    ]
}

/// A client signed in as `role`, one of [`it_staff_and_administrator`]'s.
pub fn signed_in_as(server: &Server, secrets: &[(&str, String)], role: &str) -> Client {
    let secret = secrets
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, s)| s.as_str())
        .unwrap_or_else(|| panic!("no {role}"));
    let mut client = server.client();
    let reply = client.sign_in(&format!("{role}@example.org"), PASSWORD, secret);
    assert_eq!(reply.status, 303, "{role} signs in: {}", reply.body);
    client
}

/// A Python fixture of `tests/fixtures/` (a webhook receiver, an OpenID Connect provider) run on
/// loopback until dropped: the port it printed first. `None`, the test skipped, only outside CI
/// when python3 or the fixture's packages are missing.
pub struct Fixture {
    child: std::process::Child,
    pub port: u16,
}

impl Fixture {
    pub fn start(script: &str, args: &[&str]) -> Option<Fixture> {
        use std::io::BufRead;
        let path = format!("{}/tests/fixtures/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = match std::process::Command::new("python3")
            .arg(&path)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "python3 runs {script}: {e}"
                );
                eprintln!("skipped: no python3 ({e})");
                return None;
            }
        };
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        }
        match line.trim().parse() {
            Ok(port) => Some(Fixture { child, port }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{script} did not start (are its packages installed? .ci/run installs them): {line:?}"
                );
                eprintln!("skipped: {script} did not start");
                None
            }
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
