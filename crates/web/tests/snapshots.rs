//! Snapshots of rendered pages (insta): the markup people and outside checks meet — labels,
//! ids, hints, errors beside their fields and summarised, the tables' columns — reviewed as a
//! whole when it changes. Each page is rendered by the real server on every test database, and
//! both must give the same page. Only what differs by run is masked: the CSRF token.
//!
//! To accept a change on purpose: `INSTA_UPDATE=always cargo test -p steward-web --test
//! snapshots`, then review the `.snap` files' diff.

mod support;

use steward_store::testing::databases;
use support::demo::serve_as;

/// The page's `<main>`, with every CSRF token masked and each tag on a line of its own, so that
/// a change shows as a readable diff.
fn main_of(html: &str) -> String {
    let start = html.find("<main").unwrap_or(0);
    let end = html
        .find("</main>")
        .map_or(html.len(), |e| e + "</main>".len());
    let mut main = html[start..end].to_owned();
    let mut from = 0;
    while let Some(at) = main[from..].find("name=\"csrf\" value=\"") {
        let value = from + at + "name=\"csrf\" value=\"".len();
        let close = main[value..].find('"').map_or(main.len(), |c| value + c);
        main.replace_range(value..close, "[csrf]");
        from = value;
    }
    main.replace("><", ">\n<")
}

#[test]
fn pages_render_as_reviewed() {
    for db in databases("web_snapshots") {
        let b = db.backend;
        let (server, mut admin, _steward) = serve_as(&db, "administrator");
        let mut anonymous = server.client();
        let login = anonymous.get("/login");
        assert_eq!(login.status, 200, "{b}");
        insta::assert_snapshot!("login", main_of(&login.body));

        let import = admin.get("/import?register=people");
        assert_eq!(import.status, 200, "{b}");
        insta::assert_snapshot!("import_people_columns", main_of(&import.body));

        let refused = admin.submit(
            "/admin/organisation",
            "/admin/organisation",
            &[
                ("name", ""),
                ("time_zone", "Mars/Olympus"),
                ("compliance_green", "70"),
                ("compliance_amber", "90"),
            ],
        );
        assert_eq!(refused.status, 422, "{b}");
        insta::assert_snapshot!("organisation_refused", main_of(&refused.body));

        let policies = admin.get("/policy#choose");
        assert_eq!(policies.status, 200, "{b}");
        let choose = policies
            .body
            .split("<ul class=\"packs\">")
            .nth(1)
            .and_then(|rest| rest.split("</ul>").next())
            .unwrap_or_else(|| panic!("{b}: no list of packs to choose from"));
        insta::assert_snapshot!("policies_to_choose", choose.replace("><", ">\n<"));
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}
