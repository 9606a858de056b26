//! A real server on a loopback port, spoken to over a real socket, on every test database.

use std::io::{Read, Write};
use std::net::TcpStream;

use steward_model::Organisation;
use steward_service::{Stamp, Steward};
use steward_store::testing::databases;

/// A minimal HTTP/1.1 GET: status line, headers and body as one string.
fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn health_and_home_answer_with_security_headers_and_escaped_text() {
    for db in databases("web") {
        let steward = Steward::open(&db.url).expect("open");
        let org = Organisation {
            id: Organisation::ID.into(),
            name: "<script>alert(1)</script> & Co".into(),
            time_zone: "Europe/London".into(),
        };
        steward
            .set_organisation(&Stamp::now("test"), org)
            .expect("set organisation");

        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = runtime.spawn(steward_web::serve(steward, listener, async {
            let _ = stopped.await;
        }));

        let health = get(addr, "/healthz");
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(
            health.contains(&format!("\"backend\":\"{}\"", db.backend)),
            "{health}"
        );
        assert!(health.contains("\"audit_head\":1"), "{health}");

        let home = get(addr, "/");
        assert!(home.starts_with("HTTP/1.1 200"), "{home}");
        let lower = home.to_ascii_lowercase();
        assert!(
            lower.contains("content-security-policy: default-src 'none'"),
            "{home}"
        );
        assert!(lower.contains("frame-ancestors 'none'"));
        assert!(lower.contains("x-content-type-options: nosniff"));
        assert!(lower.contains("referrer-policy: no-referrer"));
        assert!(
            home.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"),
            "{home}"
        );
        assert!(!home.contains("<script>"), "unescaped organisation name");
        assert!(
            home.contains("<th scope=\"row\">People</th><td>0</td>"),
            "{home}"
        );

        assert!(get(addr, "/no-such-page").starts_with("HTTP/1.1 404"));

        // Graceful shutdown: the server returns cleanly once told to stop.
        let _ = stop.send(());
        let result = runtime.block_on(server).expect("join");
        assert!(result.is_ok(), "{result:?}");
    }
}
