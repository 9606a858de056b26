//! The database going away under a running server and coming back: `/healthz` answers 503 while
//! it is away and 200 again after, without the server being restarted. PostgreSQL is reached
//! through a TCP relay on loopback that the test can cut, as a network fault, restart or
//! failover would.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use steward_store::Backend;
use steward_store::testing::databases;
use support::Server;

/// Relays connections to `target` while up; when cut, drops every relayed connection and
/// closes each new one at once.
struct Relay {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let addr = listener.local_addr().expect("relay addr");
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                if let Ok(mut list) = open2.lock() {
                    for s in [&client, &server] {
                        if let Ok(s) = s.try_clone() {
                            list.push(s);
                        }
                    }
                }
                for (mut from, mut to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ]
                .into_iter()
                .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Relay { addr, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        if let Ok(mut list) = self.open.lock() {
            for s in list.drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a url");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!("{scheme}://{}{addr}/{path}", user.unwrap_or_default())
}

fn port_of(url: &str) -> u16 {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(5432)
}

#[test]
fn healthz_follows_the_database_down_and_up_again() {
    for db in databases("web_outage") {
        if db.backend != Backend::Postgres {
            continue;
        }
        let port = port_of(&db.url);
        let relay = Relay::start(SocketAddr::from(([127, 0, 0, 1], port)));
        // Plain text through the relay: TLS is tested in the store; this is about the socket.
        let url = format!("{}?sslmode=disable", through(&db.url, relay.addr));
        let server = Server::start(&url, steward_web::Options::default());
        let mut client = server.client();
        let health = |client: &mut support::Client| {
            let reply = client.get("/healthz");
            (reply.status, reply.body.trim().to_owned())
        };
        assert_eq!(health(&mut client), (200, "ok".into()));

        relay.cut();
        for _ in 0..2 {
            assert_eq!(health(&mut client), (503, "unavailable".into()));
        }
        let login = client.get("/login");
        assert!(
            login.status == 200 || login.status == 503,
            "a page while the database is away: {}",
            login.status
        );

        relay.restore();
        // The first request after may still meet a connection the cut left half-closed; the
        // pool replaces it, and from then on every request is served.
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(health(&mut client).0);
        }
        assert_eq!(
            statuses.last(),
            Some(&200),
            "after the database came back: {statuses:?}"
        );
        assert!(
            statuses.iter().skip(1).all(|s| *s == 200),
            "the server did not recover at once: {statuses:?}"
        );
        drop(server);
    }
}
