//! A minimal W3C WebDriver client: chromedriver as a child process, spoken to over HTTP/1.1 on
//! a loopback socket (one connection per command), JSON by serde_json. Only what the browser
//! tests use: navigate, read the URL, title and source, find elements by CSS, click, type, clear,
//! read text, take a screenshot.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Value, json};

/// The environment variable naming the chromedriver to run (default: `chromedriver` on PATH).
pub const DRIVER_ENV: &str = "STEWARD_CHROMEDRIVER";
/// The environment variable naming the browser binary (default: `/usr/bin/chromium` if present).
pub const BROWSER_ENV: &str = "STEWARD_CHROMIUM";

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long one command may take before the socket gives up.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long chromedriver may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A failed command: what was asked, and what WebDriver (or the socket) said, with WebDriver's
/// error code when it gave one.
#[derive(Debug)]
pub struct Error {
    message: String,
    code: Option<String>,
}

impl Error {
    /// WebDriver said the element belongs to a page that is no longer shown. Chromium says so
    /// with the standard code, or — when asked in the middle of the swap — with an "unknown
    /// error" from its inspector that the node is not in the document.
    pub fn is_stale_element(&self) -> bool {
        match self.code.as_deref() {
            Some("stale element reference") => true,
            Some("unknown error") => self.message.contains("does not belong to the document"),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn err(what: impl fmt::Display, why: impl fmt::Display) -> Error {
    Error {
        message: format!("{what}: {why}"),
        code: None,
    }
}

/// Where the chromedriver binary is, or why it cannot be found.
pub fn locate_driver() -> std::result::Result<PathBuf, String> {
    let name = std::env::var(DRIVER_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "chromedriver".to_owned());
    find_executable(&name).ok_or_else(|| match std::env::var(DRIVER_ENV) {
        Ok(_) => format!("{DRIVER_ENV}={name} is not an executable file"),
        Err(_) => format!("no `{name}` on PATH"),
    })
}

/// The browser binary to ask chromedriver for: `STEWARD_CHROMIUM`, else `/usr/bin/chromium` if
/// present, else none (chromedriver looks for Chrome itself).
pub fn locate_browser() -> std::result::Result<Option<PathBuf>, String> {
    match std::env::var(BROWSER_ENV) {
        Ok(name) if !name.is_empty() => find_executable(&name)
            .map(Some)
            .ok_or_else(|| format!("{BROWSER_ENV}={name} is not an executable file")),
        _ => Ok(Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.is_file())),
    }
}

fn find_executable(name: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = if name.contains('/') {
        vec![PathBuf::from(name)]
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .collect()
    };
    candidates.into_iter().find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A chromedriver process and one browser session in it. Dropping it ends the session and
/// kills the process.
pub struct WebDriver {
    child: Child,
    port: u16,
    session: String,
}

impl WebDriver {
    /// Starts `driver` on a free loopback port, waits until it is ready and opens a headless
    /// browser session (with `browser` as the binary when given).
    pub fn start(driver: &Path, browser: Option<&Path>) -> Result<WebDriver> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| err("finding a free port for chromedriver", e))?
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("starting {}", driver.display()), e))?;
        // From here on a failure kills the process through Drop.
        let mut driver = WebDriver {
            child,
            port,
            session: String::new(),
        };
        driver.wait_until_ready()?;
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
            ],
        });
        if let Some(binary) = browser {
            options["binary"] = json!(binary.display().to_string());
        }
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": options,
                    "timeouts": { "pageLoad": 30_000, "script": 30_000, "implicit": 0 },
                }
            }
        });
        let value = driver.command("POST", "/session", Some(&capabilities))?;
        driver.session = value["sessionId"]
            .as_str()
            .ok_or_else(|| err("new session", format!("no sessionId in {value}")))?
            .to_owned();
        Ok(driver)
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(err(
                    format!("chromedriver on port {}", self.port),
                    format!("exited at start-up ({status})"),
                ));
            }
            match self.command("GET", "/status", None) {
                Ok(value) if value["ready"] == json!(true) => return Ok(()),
                Ok(value) if started.elapsed() > START_TIMEOUT => {
                    return Err(err("chromedriver /status", format!("not ready: {value}")));
                }
                Err(e) if started.elapsed() > START_TIMEOUT => return Err(e),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn navigate(&self, url: &str) -> Result<()> {
        self.command(
            "POST",
            &self.session_path("/url"),
            Some(&json!({ "url": url })),
        )
        .map(drop)
    }

    pub fn current_url(&self) -> Result<String> {
        string(
            self.command("GET", &self.session_path("/url"), None)?,
            "current URL",
        )
    }

    pub fn title(&self) -> Result<String> {
        string(
            self.command("GET", &self.session_path("/title"), None)?,
            "title",
        )
    }

    /// The value of the cookie `name` the browser holds for the current page's site, `HttpOnly`
    /// ones included.
    pub fn cookie(&self, name: &str) -> Result<String> {
        let value = self.command("GET", &self.session_path(&format!("/cookie/{name}")), None)?;
        string(
            value.get("value").cloned().unwrap_or_default(),
            "cookie value",
        )
    }

    pub fn page_source(&self) -> Result<String> {
        string(
            self.command("GET", &self.session_path("/source"), None)?,
            "page source",
        )
    }

    /// The first element matching a CSS selector (an error, "no such element", if none does).
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let body = json!({ "using": "css selector", "value": css });
        let value = self.command("POST", &self.session_path("/element"), Some(&body))?;
        self.element(&value)
    }

    /// Every element matching a CSS selector, in document order (none is not an error).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let body = json!({ "using": "css selector", "value": css });
        let value = self.command("POST", &self.session_path("/elements"), Some(&body))?;
        let list = value
            .as_array()
            .ok_or_else(|| err("find elements", format!("not a list: {value}")))?;
        list.iter().map(|v| self.element(v)).collect()
    }

    fn element(&self, value: &Value) -> Result<Element<'_>> {
        let id = value[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| err("find element", format!("no element reference in {value}")))?;
        Ok(Element {
            driver: self,
            id: id.to_owned(),
        })
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns what
    /// it returns. WebDriver's scripts are the test's, not the page's: the page's CSP, which
    /// allows no script, does not apply to them.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        let body = json!({ "script": script, "args": args });
        self.command("POST", &self.session_path("/execute/sync"), Some(&body))
    }

    /// Sets the browser window's outer size in CSS pixels.
    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        let body = json!({ "width": width, "height": height });
        self.command("POST", &self.session_path("/window/rect"), Some(&body))
            .map(drop)
    }

    /// The visible page as PNG bytes.
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        let text = string(
            self.command("GET", &self.session_path("/screenshot"), None)?,
            "screenshot",
        )?;
        base64_decode(&text).ok_or_else(|| err("screenshot", "the PNG is not valid base64"))
    }

    /// Saves a screenshot as a PNG file.
    pub fn save_screenshot(&self, path: &Path) -> Result<()> {
        let png = self.screenshot()?;
        std::fs::write(path, png).map_err(|e| err(format!("writing {}", path.display()), e))
    }

    /// One WebDriver command: its `value`, or an error naming the command and WebDriver's
    /// error code and message.
    fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let what = format!("{method} {path}");
        let (status, text) = http(self.port, method, path, body).map_err(|e| err(&what, e))?;
        let mut reply: Value = serde_json::from_slice(&text).map_err(|e| {
            err(
                &what,
                format!(
                    "HTTP {status}, not JSON ({e}): {}",
                    String::from_utf8_lossy(&text)
                ),
            )
        })?;
        let value = reply["value"].take();
        if let Some(code) = value["error"].as_str() {
            let message = value["message"].as_str().unwrap_or("").trim();
            return Err(Error {
                code: Some(code.to_owned()),
                ..err(&what, format!("{code}: {message}"))
            });
        }
        if !(200..300).contains(&status) {
            return Err(err(&what, format!("HTTP {status}: {value}")));
        }
        Ok(value)
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.command("DELETE", &self.session_path(""), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An element of the current page.
pub struct Element<'a> {
    driver: &'a WebDriver,
    id: String,
}

impl Element<'_> {
    /// The element as a script argument.
    pub fn as_argument(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn path(&self, rest: &str) -> String {
        self.driver
            .session_path(&format!("/element/{}{rest}", self.id))
    }

    pub fn click(&self) -> Result<()> {
        self.driver
            .command("POST", &self.path("/click"), Some(&json!({})))
            .map(drop)
    }

    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.driver
            .command("POST", &self.path("/value"), Some(&json!({ "text": text })))
            .map(drop)
    }

    pub fn clear(&self) -> Result<()> {
        self.driver
            .command("POST", &self.path("/clear"), Some(&json!({})))
            .map(drop)
    }

    /// Whether the element's page has been replaced by another (a link followed, a form
    /// posted, a redirect served).
    pub fn is_stale(&self) -> Result<bool> {
        match self.driver.command("GET", &self.path("/name"), None) {
            Ok(_) => Ok(false),
            Err(e) if e.is_stale_element() => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// The element's rendered text.
    pub fn text(&self) -> Result<String> {
        string(
            self.driver.command("GET", &self.path("/text"), None)?,
            "element text",
        )
    }
}

fn string(value: Value, what: &str) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(err(what, format!("not a string: {other}"))),
    }
}

/// One HTTP/1.1 exchange on a fresh connection: the status code and the body (by
/// Content-Length, chunked, or up to the connection's close).
fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(COMMAND_TIMEOUT))?;
    stream.set_write_timeout(Some(COMMAND_TIMEOUT))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Accept: application/json\r\n"
    );
    if method != "GET" {
        request.push_str(&format!(
            "Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes())?;

    let mut reader = BufReader::new(stream);
    let status_line = read_line(&mut reader)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        let line = read_line(&mut reader)?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let line = read_line(&mut reader)?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, up to the blank line.
                while !read_line(&mut reader)?.is_empty() {}
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            read_line(&mut reader)?;
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok((status, body))
}

/// A line without its CRLF; an error at end of stream.
fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed mid-response",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

/// Standard base64, with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Standard base64 (with or without padding; whitespace ignored).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact).ok()
}

#[test]
fn base64_decodes_with_and_without_padding() {
    assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
    assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
    assert_eq!(base64_decode("TWFu").as_deref(), Some(&b"Man"[..]));
    assert_eq!(base64_decode("a$"), None);
}
