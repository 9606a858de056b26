//! The forms that upload a file (`/import`, `/calendar`), read through axum's `Multipart`, over
//! a real socket on every test database: the session's CSRF token is checked inside the body
//! (missing, forged, another session's, or a forged one first: refused; after the file: taken),
//! uploads past axum's default 2 MiB but within Steward's limit are taken, one past it is
//! refused, and malformed bodies are refused with a reason. Nothing refused changes anything.

mod support;

use steward_calendar::{Calendar, ENGLAND_AND_WALES};
use steward_service::{Capacity, Steward};
use steward_store::testing::databases;
use support::{Client, Reply, Server, account};

const BOUNDARY: &str = "UploadTestBoundary";
const CONTENT_TYPE: &str = "multipart/form-data; boundary=UploadTestBoundary";

/// One part of a body: (field, file name if a file, contents).
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A multipart body with its parts in the order given, as a browser encodes one.
fn body(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, contents) in parts {
        let disposition = match file {
            Some(file) => {
                format!("name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/json")
            }
            None => format!("name=\"{name}\""),
        };
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n")
                .as_bytes(),
        );
        out.extend_from_slice(contents);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn signed_in(server: &Server, secret: &str) -> Client {
    let mut client = server.client();
    let reply = client.sign_in("admin@example.org", support::PASSWORD, secret);
    assert_eq!(reply.status, 303, "{}", reply.body);
    client
}

/// gov.uk's file as Steward ships it, for England and Wales.
fn govuk_file() -> String {
    Calendar::shipped().to_govuk_json(ENGLAND_AND_WALES)
}

fn audit_head(steward: &Steward) -> i64 {
    steward
        .store()
        .audit_head()
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

fn loaded(reply: &Reply) -> bool {
    reply.status == 200 && reply.body.contains("Loaded ")
}

#[test]
fn an_upload_is_refused_without_its_sessions_token() {
    for db in databases("web_uploads") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let secret = account(
            &steward,
            "admin@example.org",
            None,
            &[Capacity::Administrator],
        );
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut c = signed_in(&server, &secret);
        let token = c.get("/calendar").csrf();
        // The same person signed in elsewhere (with the next step's code: a code works once):
        // a valid token, for another session.
        let mut other = server.client();
        let reply = other.sign_in_with_code(
            "admin@example.org",
            support::PASSWORD,
            &support::code_next(&secret),
        );
        assert_eq!(reply.status, 303, "{b}: {}", reply.body);
        let others_token = other.get("/calendar").csrf();
        assert_ne!(token, others_token, "{b}");
        let file = govuk_file();
        let before = audit_head(&steward);

        let division = ("division", None, ENGLAND_AND_WALES.as_bytes());
        let register = ("register", None, b"people".as_slice());
        let json = ("file", Some("bank-holidays.json"), file.as_bytes());
        let csv = (
            "file",
            Some("people.csv"),
            b"id,name\r\nP9,Pat\r\n".as_slice(),
        );
        for (path, field, upload) in [("/calendar", division, json), ("/import", register, csv)] {
            let cases: [(&str, Vec<Part>); 4] = [
                ("no token", vec![field, upload]),
                (
                    "a forged token",
                    vec![("csrf", None, b"forged"), field, upload],
                ),
                (
                    "another session's token",
                    vec![("csrf", None, others_token.as_bytes()), field, upload],
                ),
                (
                    "a forged token before the right one",
                    vec![
                        ("csrf", None, b"forged"),
                        ("csrf", None, token.as_bytes()),
                        field,
                        upload,
                    ],
                ),
            ];
            for (what, parts) in cases {
                let reply = c.post_body(path, CONTENT_TYPE, body(&parts));
                assert_eq!(reply.status, 403, "{b}: {path}: {what}: {}", reply.body);
                assert!(
                    reply.body.contains("this form has expired"),
                    "{b}: {path}: {what}: {}",
                    reply.body
                );
            }
        }
        assert_eq!(
            audit_head(&steward),
            before,
            "{b}: a refused upload changed something"
        );

        // The token is found wherever the browser puts it, even after the file.
        let reply = c.post_body(
            "/calendar",
            CONTENT_TYPE,
            body(&[division, json, ("csrf", None, token.as_bytes())]),
        );
        assert!(loaded(&reply), "{b}: {}", reply.body);
        assert_ne!(audit_head(&steward), before, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn uploads_are_held_to_steward_s_limit_not_axum_s_default() {
    for db in databases("web_upload_limit") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let secret = account(
            &steward,
            "admin@example.org",
            None,
            &[Capacity::Administrator],
        );
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut c = signed_in(&server, &secret);
        let token = c.get("/calendar").csrf();
        let division = ("division", None, ENGLAND_AND_WALES.as_bytes());
        let csrf = ("csrf", None, token.as_bytes());

        // Past axum's default of 2 MiB (white space after the JSON), within 32 MiB: taken.
        let padded = format!("{}{}", govuk_file(), " ".repeat(3 << 20));
        let reply = c.post_body(
            "/calendar",
            CONTENT_TYPE,
            body(&[
                csrf,
                division,
                ("file", Some("big.json"), padded.as_bytes()),
            ]),
        );
        assert!(loaded(&reply), "{b}: {}", reply.body);

        // Past 32 MiB: refused, nothing changed.
        let before = audit_head(&steward);
        let huge = format!("{}{}", govuk_file(), " ".repeat(33 << 20));
        let reply = c.post_body(
            "/calendar",
            CONTENT_TYPE,
            body(&[csrf, division, ("file", Some("huge.json"), huge.as_bytes())]),
        );
        assert_eq!(reply.status, 400, "{b}: {}", reply.body);
        assert!(
            reply
                .body
                .contains("the form is too large (at most 32768 KiB here)"),
            "{b}: {}",
            reply.body
        );
        assert_eq!(audit_head(&steward), before, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn malformed_uploads_are_refused_with_a_reason() {
    for db in databases("web_upload_malformed") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let secret = account(
            &steward,
            "admin@example.org",
            None,
            &[Capacity::Administrator],
        );
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut c = signed_in(&server, &secret);
        let token = c.get("/calendar").csrf();
        let csrf = ("csrf", None, token.as_bytes());
        let division = ("division", None, ENGLAND_AND_WALES.as_bytes());
        let file = govuk_file();
        let json = ("file", Some("bank-holidays.json"), file.as_bytes());
        let before = audit_head(&steward);

        let whole = body(&[csrf, division, json]);
        let cut = whole[..whole.len() - 40].to_vec();
        let many: Vec<Part> = std::iter::once(csrf)
            .chain(std::iter::repeat_n(division, 80))
            .chain([json])
            .collect();
        let nameless = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
        );
        // (what, content type, body, a word of the reason)
        let cases: [(&str, &str, Vec<u8>, &str); 5] = [
            (
                "a body cut short",
                CONTENT_TYPE,
                cut,
                "the form could not be read",
            ),
            (
                "no boundary",
                "multipart/form-data",
                whole.clone(),
                "the form could not be read",
            ),
            (
                "too many parts",
                CONTENT_TYPE,
                body(&many),
                "more than 64 parts",
            ),
            (
                "a part with no name",
                CONTENT_TYPE,
                nameless.into_bytes(),
                "no field name",
            ),
            (
                "a field that is not UTF-8",
                CONTENT_TYPE,
                body(&[csrf, ("division", None, b"\xff\xfe")]),
                "division: not UTF-8 text",
            ),
        ];
        for (what, content_type, bytes, reason) in cases {
            let reply = c.post_body("/calendar", content_type, bytes);
            assert_eq!(reply.status, 400, "{b}: {what}: {}", reply.body);
            assert!(reply.body.contains(reason), "{b}: {what}: {}", reply.body);
        }
        assert_eq!(
            audit_head(&steward),
            before,
            "{b}: a malformed upload changed something"
        );
        server.stop().unwrap_or_else(|e| panic!("{e}"));
    }
}
