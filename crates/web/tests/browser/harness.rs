//! What a browser test stands on: the real server in-process on a loopback port, and a browser
//! that names the step it is on and, if the test panics, leaves a screenshot and the page source
//! in `target/browser-failures/`.

use std::cell::RefCell;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use steward_service::Steward;

use crate::webdriver::{Element, WebDriver, locate_browser, locate_driver};

/// How long a page may take to show what a step waits for.
const WAIT: Duration = Duration::from_secs(10);

/// True when running under CI, where a missing browser is a failure, not a skip.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Starts a headless browser for `test`, or — when chromedriver is not installed — fails under
/// CI and otherwise says the test is skipped and returns `None`.
pub fn browser(test: &str, base: SocketAddr) -> Option<Browser> {
    let found = locate_driver().and_then(|driver| Ok((driver, locate_browser()?)));
    let (driver, binary) = match found {
        Ok(found) => found,
        Err(why) if in_ci() => panic!(
            "{test}: cannot run the browser tests: {why}. CI must run them: install the Debian \
             packages chromium and chromium-driver (.ci/run does)"
        ),
        Err(why) => {
            // Straight to the terminal, past the test harness's capture, so that it is seen.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: {why}; install chromium and chromium-driver to run it"
            );
            return None;
        }
    };
    let driver = WebDriver::start(&driver, binary.as_deref())
        .unwrap_or_else(|e| panic!("{test}: starting the browser: {e}"));
    Some(Browser {
        driver,
        base: format!("http://{base}"),
        test: test.to_owned(),
        step: RefCell::new("start".to_owned()),
    })
}

/// A browser session on one server. Every helper panics with the step it was on; if the test
/// panics while it is alive, it saves the page as it was.
pub struct Browser {
    driver: WebDriver,
    base: String,
    test: String,
    step: RefCell<String>,
}

impl Browser {
    /// Names what the test does next, for failure messages and artefact names.
    pub fn step(&self, name: &str) {
        *self.step.borrow_mut() = name.to_owned();
    }

    fn fail(&self, what: &str, why: impl std::fmt::Display) -> ! {
        panic!(
            "{}: step '{}': {what}: {why}",
            self.test,
            self.step.borrow()
        )
    }

    /// Opens a path of the server.
    pub fn open(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        if let Err(e) = self.driver.navigate(&url) {
            self.fail(&format!("opening {url}"), e);
        }
    }

    /// The current page's path, without its query.
    pub fn path(&self) -> String {
        let url = self
            .driver
            .current_url()
            .unwrap_or_else(|e| self.fail("reading the URL", e));
        let path = url.strip_prefix(&self.base).unwrap_or(&url);
        path.split(['?', '#']).next().unwrap_or("").to_owned()
    }

    /// Waits until the browser is on `path` (query aside).
    pub fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let now = self.path();
            if now == path {
                return;
            }
            if started.elapsed() > WAIT {
                let title = self.driver.title().unwrap_or_default();
                let alert = self
                    .driver
                    .find("[role=alert]")
                    .and_then(|e| e.text())
                    .map(|t| format!(", saying {t:?}"))
                    .unwrap_or_default();
                self.fail(
                    &format!("expected to be on {path}"),
                    format!("still on {now} (page {title:?}{alert})"),
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fetches `path` as the browser would, with its cookies, over a socket of our own: what a
    /// download link gives, which a headless browser saves rather than shows. The body of a 200
    /// answer.
    pub fn download(&self, path: &str) -> String {
        use std::io::Read;
        let mut cookies = Vec::new();
        for name in ["steward_session", "__Host-steward_session"] {
            if let Ok(v) = self.driver.cookie(name) {
                cookies.push(format!("{name}={v}"));
            }
        }
        let host = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host)
            .unwrap_or_else(|e| self.fail(&format!("connecting to {host}"), e));
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
            cookies.join("; ")
        );
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| self.fail(&format!("asking for {path}"), e));
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .unwrap_or_else(|e| self.fail(&format!("reading {path}"), e));
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(answer.len());
        let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
        let body = answer.get(split + 4..).unwrap_or_default();
        if !head.starts_with("http/1.1 200") {
            self.fail(
                &format!("downloading {path}"),
                head.lines().next().unwrap_or(""),
            );
        }
        let body = if head.contains("transfer-encoding: chunked") {
            unchunk(body)
        } else {
            body.to_vec()
        };
        String::from_utf8(body).unwrap_or_else(|e| self.fail(&format!("reading {path}"), e))
    }

    /// The first element matching `css`, waiting for it to appear.
    pub fn find(&self, css: &str) -> Element<'_> {
        let started = Instant::now();
        loop {
            match self.driver.find(css) {
                Ok(element) => return element,
                Err(e) if started.elapsed() > WAIT => self.fail(&format!("finding {css}"), e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Clears a field and types into it.
    pub fn fill(&self, css: &str, text: &str) {
        let field = self.find(css);
        if let Err(e) = field.clear().and_then(|()| field.send_keys(text)) {
            self.fail(&format!("typing into {css}"), e);
        }
    }

    /// Sets an input's value as its own picker would (a date, a time), and tells the page it
    /// changed: typing into a date input follows the browser locale's order of day and month.
    pub fn set_value(&self, css: &str, value: &str) {
        let field = self.find(css);
        let script = "arguments[0].value = arguments[1]; \
                      arguments[0].dispatchEvent(new Event('input', { bubbles: true })); \
                      arguments[0].dispatchEvent(new Event('change', { bubbles: true })); \
                      return arguments[0].value;";
        let set = self
            .driver
            .execute(script, vec![field.as_argument(), serde_json::json!(value)])
            .unwrap_or_else(|e| self.fail(&format!("setting {css}"), e));
        if set != serde_json::json!(value) {
            self.fail(
                &format!("setting {css} to {value:?}"),
                format!("it holds {set}"),
            );
        }
    }

    /// Runs a script in the page and returns its result.
    pub fn script(&self, script: &str) -> serde_json::Value {
        self.driver
            .execute(script, Vec::new())
            .unwrap_or_else(|e| self.fail("running a script", e))
    }

    /// Sizes the window so that the page's viewport is `width` CSS pixels wide and, as near as
    /// the screen allows, `height` high.
    pub fn resize_viewport(&self, width: u32, height: u32) {
        let inner = || {
            let v = self.script("return [window.innerWidth, window.innerHeight];");
            (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0))
        };
        let wanted = (i64::from(width), i64::from(height));
        let (mut w, mut h) = wanted;
        // The window's frame, if it has one, is what the outer size holds beyond the viewport.
        for _ in 0..4 {
            let size = |n: i64| u32::try_from(n.max(1)).unwrap_or(1);
            if let Err(e) = self.driver.set_window_size(size(w), size(h)) {
                self.fail("resizing the window", e);
            }
            // The page sees the new size a moment after the window has it.
            let started = Instant::now();
            let mut now = inner();
            while now != wanted && started.elapsed() < Duration::from_secs(1) {
                std::thread::sleep(Duration::from_millis(50));
                now = inner();
            }
            if now == wanted {
                return;
            }
            w += wanted.0 - now.0;
            h += wanted.1 - now.1;
        }
        let (iw, ih) = inner();
        // A screen smaller than asked for caps the height; the width is what a layout is about.
        if iw != wanted.0 {
            self.fail(
                &format!("sizing the viewport to {width}×{height}"),
                format!("it is {iw}×{ih}"),
            );
        }
    }

    /// Chooses a file in a file input, as a user picking it would.
    pub fn choose_file(&self, css: &str, path: &std::path::Path) {
        let text = path.to_string_lossy();
        if let Err(e) = self.find(css).send_keys(&text) {
            self.fail(&format!("choosing {} in {css}", path.display()), e);
        }
    }

    pub fn click(&self, css: &str) {
        if let Err(e) = self.find(css).click() {
            self.fail(&format!("clicking {css}"), e);
        }
    }

    /// Clicks what posts a form or follows a link, and waits until the browser shows the page
    /// that answers it. A redirect back to the same path is a new page too, which is why this
    /// watches the old page go stale rather than the URL.
    pub fn click_through(&self, css: &str) {
        let page = self.find("html");
        self.click(css);
        let started = Instant::now();
        loop {
            match page.is_stale() {
                Ok(true) => return,
                Ok(false) if started.elapsed() > WAIT => {
                    self.fail(&format!("after clicking {css}"), "the page did not change")
                }
                Ok(false) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => self.fail(&format!("after clicking {css}"), e),
            }
        }
    }

    /// The rendered text of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        self.find(css)
            .text()
            .unwrap_or_else(|e| self.fail(&format!("reading the text of {css}"), e))
    }

    /// The rendered texts of every element matching `css` (none if there are none).
    pub fn texts(&self, css: &str) -> Vec<String> {
        let elements = self
            .driver
            .find_all(css)
            .unwrap_or_else(|e| self.fail(&format!("finding {css}"), e));
        elements
            .iter()
            .map(|e| {
                e.text()
                    .unwrap_or_else(|e| self.fail(&format!("reading the text of {css}"), e))
            })
            .collect()
    }

    /// Saves a screenshot and the page source as `target/browser-failures/<test>-<step>.*`.
    fn save_artefacts(&self) -> Result<(PathBuf, PathBuf), String> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-failures");
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let dir = dir.canonicalize().unwrap_or(dir);
        let name = format!("{}-{}", self.test, self.step.borrow());
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let (png, html) = (
            dir.join(format!("{name}.png")),
            dir.join(format!("{name}.html")),
        );
        self.driver
            .save_screenshot(&png)
            .map_err(|e| e.to_string())?;
        let source = self.driver.page_source().map_err(|e| e.to_string())?;
        std::fs::write(&html, source).map_err(|e| format!("writing {}: {e}", html.display()))?;
        Ok((png, html))
    }
}

/// A chunked HTTP/1.1 body, joined.
fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&body[..end]);
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let rest = &body[end + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        body = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        match self.save_artefacts() {
            Ok((png, html)) => eprintln!(
                "{}: failed at step '{}'; the page is saved as {} and {}",
                self.test,
                self.step.borrow(),
                png.display(),
                html.display()
            ),
            Err(e) => eprintln!(
                "{}: failed at step '{}'; the page could not be saved: {e}",
                self.test,
                self.step.borrow()
            ),
        }
    }
}

/// The real server on a loopback port, on its own runtime, stopped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub fn start(steward: Steward) -> Server {
        Server::start_with(steward, steward_web::Options::default())
    }

    pub fn start_with(steward: Steward, options: steward_web::Options) -> Server {
        let runtime = tokio::runtime::Runtime::new().expect("starting a tokio runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binding a loopback port for the server");
        let addr = listener.local_addr().expect("the server's address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(steward_web::serve(steward, options, listener, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            runtime,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and checks that it shut down cleanly.
    pub fn stop(mut self) {
        if let Err(e) = self.shut_down() {
            panic!("stopping the server: {e}");
        }
    }

    fn shut_down(&mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), task).await })
        {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("the server failed: {e}")),
            Ok(Err(e)) => Err(format!("the server task failed: {e}")),
            Err(_) => Err("it did not stop within 10 seconds".to_owned()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}
