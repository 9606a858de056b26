//! The connections themselves, over real sockets: a half-sent request's headers or body are cut
//! off after their timeout, and no more connections are served at once than allowed.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use steward_store::testing::databases;
use support::Server;

/// Limits short enough for a test: a second for headers and bodies.
fn quick(max_connections: usize) -> steward_web::Options {
    steward_web::Options {
        limits: steward_web::Limits {
            header_read_timeout: Duration::from_secs(1),
            body_read_timeout: Duration::from_secs(1),
            max_connections,
            ..steward_web::Limits::default()
        },
        ..steward_web::Options::default()
    }
}

/// Reads until the server closes the connection; what it sent, or why it never closed.
fn read_to_close(stream: &mut TcpStream) -> Result<String, String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return Ok(String::from_utf8_lossy(&got).into_owned());
            }
            Err(e) => return Err(format!("still open after 15 s ({e}): {got:?}")),
        }
    }
}

/// The first database alone: these tests touch no storage.
fn one_database(name: &str) -> steward_store::testing::TestDatabase {
    databases(name)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no test database"))
}

#[test]
fn half_sent_headers_are_cut_off() {
    let db = one_database("web_header_timeout");
    let server = Server::start(&db.url, quick(64));
    // Half a request line, never finished; and a connection that sends nothing at all.
    let mut half = TcpStream::connect(server.addr).expect("connect");
    half.write_all(b"GET /healthz HT").expect("send");
    let mut silent = TcpStream::connect(server.addr).expect("connect");
    for (what, stream) in [("half a request line", &mut half), ("nothing", &mut silent)] {
        let got = read_to_close(stream);
        assert!(got.is_ok(), "{what}: {got:?}");
    }
    // A whole request is still answered.
    let reply = server.client().get("/healthz");
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok"));
}

#[test]
fn a_trickled_body_is_cut_off() {
    let db = one_database("web_body_timeout");
    let server = Server::start(&db.url, quick(64));
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    // Headers promising 100 bytes, then 10 of them.
    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a%40",
        )
        .expect("send");
    let got = read_to_close(&mut stream);
    let Ok(answer) = got else {
        panic!("{got:?}");
    };
    // Answered (the form could not be read) and closed, or just closed; never left waiting.
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer}"
    );
}

#[test]
fn connections_past_the_cap_wait_for_one_to_end() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let db = one_database("web_connection_cap");
    let mut options = quick(1);
    // Long enough that only the test ends the first connection.
    options.limits.header_read_timeout = Duration::from_secs(60);
    let server = Server::start(&db.url, options);
    // The one connection allowed, held open without a request.
    let holder = TcpStream::connect(server.addr).expect("connect");
    let released = Arc::new(AtomicBool::new(false));
    let addr = server.addr;
    let seen = released.clone();
    let waiting = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .expect("send");
        let answer = read_to_close(&mut stream);
        // Whether the first connection had been let go when this one was answered.
        (seen.load(Ordering::SeqCst), answer)
    });
    // Time for the second to be served, were it not held back.
    std::thread::sleep(Duration::from_millis(500));
    released.store(true, Ordering::SeqCst);
    drop(holder);
    let (after_release, answer) = waiting.join().expect("thread");
    let answer = answer.unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        after_release,
        "the second connection was served while the first was open"
    );
}
