//! The Connectors pages against the real server, with a Microsoft Graph stand-in
//! (`steward-vendors`) as the source, on every test database: a connector added from its kind's
//! settings (a refused setting beside its field), tested, synced as a job to a preview, applied;
//! provenance on a synced record's page; a hand edit of a field the connector owns refused with
//! its reason while another field saves; the credential in no page; removal confirmed. And who may
//! reach the pages: the IT team and administrators only, every form with its CSRF token.

mod support;

use steward_model::Person;
use steward_service::{Stamp, Steward};
use steward_store::testing::databases;
use steward_vendors::{Credentials, Faults, Tenant};
use steward_web::access::{ROUTES, takes_files};
use support::Server;

const TENANT: &str = "contoso.onmicrosoft.com";
/// The app registration's client secret: it must never come back in a page.
const SECRET: &str = "Zq8~client-secret-NEVER-SHOWN";
const USERS: usize = 12;

fn graph() -> steward_vendors::Server {
    steward_vendors::Server::microsoft_graph(
        Tenant::generate(USERS, 10, 7),
        Faults::default(),
        Credentials::microsoft(TENANT, "app-id", SECRET),
    )
    .unwrap_or_else(|e| panic!("a port on loopback: {e}"))
}

/// The page's `<main>`, its CSRF tokens masked and each tag on a line of its own (as
/// `tests/snapshots.rs` reviews pages).
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
fn a_connector_is_added_synced_to_a_preview_applied_and_removed_from_its_pages() {
    for db in databases("web_connectors") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let secrets = support::it_staff_and_administrator(&steward, "charity.test");
        let source = graph();
        let base = source.base_url();
        // IT1, S1 and the administrator's own person (a sign-in made with a role is one).
        let people_before = steward
            .list::<Person>()
            .unwrap_or_else(|e| panic!("{e}"))
            .len();
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut it = support::signed_in_as(&server, &secrets, "it");
        // Every page the IT person is shown, to look for the credential in.
        let mut pages: Vec<(String, String)> = Vec::new();

        let list = it.get("/connectors");
        assert_eq!(list.status, 200, "{b}: {}", list.body);
        assert!(list.body.contains("id=\"no-connectors\""), "{b}");
        assert!(
            list.body
                .contains("<a href=\"/connectors\" aria-current=\"page\">Connectors</a>"),
            "{b}: the navigation leads here"
        );

        // The form for a kind: its settings from the kind's table, the credential a password.
        let form = it.get("/connectors?kind=microsoft365");
        assert_eq!(form.status, 200, "{b}: {}", form.body);
        insta::assert_snapshot!("connectors_add_microsoft365", main_of(&form.body));
        for key in steward_connect::Kind::Microsoft365.keys() {
            assert!(
                form.body.contains(&format!("id=\"field-{}\"", key.name)),
                "{b}: no input for {}",
                key.name
            );
        }
        assert!(
            form.body.contains(
                "id=\"field-secret\" name=\"secret\" type=\"password\" value=\"\" autocomplete=\"off\""
            ),
            "{b}: the credential is a password input"
        );

        // A setting refused: said beside its field; the credential not put back.
        let refused = it.submit(
            "/connectors?kind=microsoft365",
            "/connectors",
            &[
                ("kind", "microsoft365"),
                ("name", "m365"),
                ("tenant", TENANT),
                ("client_id", "app-id"),
                ("base_url", "ftp://graph.example"),
                ("secret", SECRET),
            ],
        );
        assert_eq!(refused.status, 422, "{b}: {}", refused.body);
        insta::assert_snapshot!("connectors_add_refused", main_of(&refused.body));
        assert!(
            refused
                .text_of("field-base_url-error")
                .contains("must be an https address"),
            "{b}: {}",
            refused.body
        );
        pages.push(("the refused form".into(), refused.body.clone()));
        assert!(
            steward
                .connectors(&Stamp::now("test"))
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty(),
            "{b}: a refused form saves nothing"
        );

        let token_url = format!("{base}/{TENANT}/oauth2/v2.0/token");
        let added = it.submit(
            "/connectors?kind=microsoft365",
            "/connectors",
            &[
                ("kind", "microsoft365"),
                ("name", "m365"),
                ("tenant", TENANT),
                ("client_id", "app-id"),
                ("base_url", &base),
                ("token_url", &token_url),
                ("secret", SECRET),
            ],
        );
        assert_eq!(
            (added.status, added.location()),
            (303, "/connectors/m365"),
            "{b}: {}",
            added.body
        );
        // The same name again, as an addition, is refused: a change is made from its page.
        let again = it.submit(
            "/connectors?kind=microsoft365",
            "/connectors",
            &[
                ("kind", "microsoft365"),
                ("name", "m365"),
                ("tenant", TENANT),
                ("client_id", "other"),
            ],
        );
        assert_eq!(again.status, 422, "{b}: {}", again.body);
        assert!(again.text_of("field-name-error").contains("exists already"));

        let page = it.get("/connectors/m365");
        assert_eq!(page.status, 200, "{b}: {}", page.body);
        assert_eq!(page.text_of("credential"), "sealed", "{b}");
        assert!(page.body.contains("id=\"no-preview\""), "{b}");
        pages.push(("the connector's page".into(), page.body.clone()));
        let change = it.get("/connectors?change=m365");
        assert_eq!(change.status, 200, "{b}");
        assert!(
            change
                .body
                .contains("A credential is sealed: leave this empty to keep it"),
            "{b}: {}",
            change.body
        );
        pages.push(("the change form".into(), change.body.clone()));

        let tested = it.submit("/connectors/m365", "/connectors/m365/test", &[]);
        assert_eq!(tested.status, 200, "{b}: {}", tested.body);
        assert!(
            tested.text_of("test-result").contains("Tested")
                && tested.body.contains("a token was issued"),
            "{b}: {}",
            tested.body
        );
        pages.push(("the test".into(), tested.body.clone()));

        // Sync now: a job, which stops at the preview of a first sync.
        let sync = it.submit("/connectors/m365", "/connectors/m365/sync", &[]);
        let job = it.follow_job(&sync);
        assert_eq!(job.text_of("job-state"), "done", "{b}: {}", job.body);
        assert!(
            job.body.contains("m365 was read but not applied"),
            "{b}: {}",
            job.body
        );
        pages.push(("the sync's job".into(), job.body.clone()));
        assert_eq!(
            steward
                .list::<Person>()
                .unwrap_or_else(|e| panic!("{e}"))
                .len(),
            people_before,
            "{b}: a preview changes nothing"
        );

        let waiting = it.get("/connectors/m365");
        assert!(
            waiting.body.contains("id=\"preview-created\"")
                && waiting.text_of("hold").contains("Nothing was changed"),
            "{b}: {}",
            waiting.body
        );
        assert!(waiting.body.contains("first sync"), "{b}");
        pages.push(("the preview".into(), waiting.body.clone()));
        let listed = it.get("/connectors");
        assert!(
            listed.body.contains("/connectors/m365#preview"),
            "{b}: the list says a preview waits: {}",
            listed.body
        );

        // Applied.
        let apply = it.submit("/connectors/m365", "/connectors/m365/apply", &[]);
        let applied = it.follow_job(&apply);
        assert_eq!(
            applied.text_of("job-state"),
            "done",
            "{b}: {}",
            applied.body
        );
        assert!(
            applied.body.contains("Synced m365:"),
            "{b}: {}",
            applied.body
        );
        pages.push(("the apply's job".into(), applied.body.clone()));
        let stored: Vec<Person> = steward.list().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            stored.len(),
            people_before + USERS,
            "{b}: the tenant's people are in"
        );
        let registers = it.get("/registers");
        assert!(
            registers.body.contains(&format!(
                "<td><a href=\"/registers/people\">people</a></td><td>{}</td>",
                people_before + USERS
            )),
            "{b}: {}",
            registers.body
        );
        let after = it.get("/connectors/m365");
        assert!(after.body.contains("id=\"no-preview\""), "{b}");
        assert!(
            after.text_of("last-outcome").starts_with("synced:"),
            "{b}: {}",
            after.text_of("last-outcome")
        );

        // A synced record's page says where it comes from, field by field.
        let synced = stored
            .iter()
            .find(|p| p.source.as_deref() == Some("m365"))
            .unwrap_or_else(|| panic!("{b}: no person kept by m365"));
        let record_path = format!("/register/person/{}", synced.id);
        let record = it.get(&record_path);
        assert_eq!(record.status, 200, "{b}: {}", record.body);
        assert!(
            record.text_of("kept-by").contains("Kept by the connector"),
            "{b}: {}",
            record.body
        );
        assert!(record.body.contains("; last seen there 20"), "{b}");
        assert!(
            record
                .body
                .contains("<a href=\"/connectors/m365\">m365</a>"),
            "{b}"
        );
        assert!(
            record.text_of("source-name").starts_with("m365, "),
            "{b}: {}",
            record.body
        );
        assert!(
            record
                .body
                .contains("Kept by the connector m365: change it in Microsoft 365"),
            "{b}: the edit form says which fields the connector keeps"
        );
        pages.push(("a synced record".into(), record.body.clone()));

        // A hand edit of a field the connector owns is refused, beside the field.
        let edit = it.submit(
            &record_path,
            &format!("{record_path}/set"),
            &[("name", "Someone Else")],
        );
        assert_eq!(edit.status, 422, "{b}: {}", edit.body);
        assert!(
            edit.text_of("edit-name-error").contains(
                "name is kept by the connector m365; change it in Microsoft 365 or remove the connector"
            ),
            "{b}: {}",
            edit.text_of("edit-name-error")
        );
        let unchanged: Option<Person> = steward.get(&synced.id).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            unchanged.map(|p| p.name),
            Some(synced.name.clone()),
            "{b}: the name stays the source's"
        );
        // A field the connector does not own saves as ever.
        let group = if synced.staff_group == "fca" {
            "volunteers"
        } else {
            "fca"
        };
        let saved = it.submit(
            &record_path,
            &format!("{record_path}/set"),
            &[("staff_group", group)],
        );
        assert_eq!(saved.status, 303, "{b}: {}", saved.body);

        // The credential is in no page the IT person was shown, nor in the jobs list.
        pages.push(("the jobs".into(), it.get("/jobs").body));
        pages.push(("the list".into(), it.get("/connectors").body));
        for (what, html) in &pages {
            assert!(!html.contains(SECRET), "{b}: the credential is in {what}");
        }

        // Removal is confirmed with a box ticked; the records stay.
        let unconfirmed = it.submit("/connectors/m365", "/connectors/m365/remove", &[]);
        assert_eq!(unconfirmed.status, 422, "{b}: {}", unconfirmed.body);
        assert!(
            unconfirmed
                .text_of("field-confirm-error")
                .contains("tick the box"),
            "{b}"
        );
        let removed = it.submit(
            "/connectors/m365",
            "/connectors/m365/remove",
            &[("confirm", "yes")],
        );
        assert_eq!(
            (removed.status, removed.location()),
            (303, "/connectors"),
            "{b}: {}",
            removed.body
        );
        assert_eq!(it.get("/connectors/m365").status, 404, "{b}");
        assert_eq!(
            steward
                .list::<Person>()
                .unwrap_or_else(|e| panic!("{e}"))
                .len(),
            people_before + USERS,
            "{b}: what it kept stays"
        );
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn only_it_and_administrators_reach_connectors_and_every_form_needs_its_token() {
    for db in databases("web_connectors_access") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let secrets = support::it_staff_and_administrator(&steward, "charity.test");
        // A connector to aim at: a mapped HR file's, which needs no source to be running.
        let profile = "name = \"hr\"\ntarget = \"people\"\n\n[columns]\nemail = \"Work Email\"\nname = \"Full Name\"\n";
        let definition = steward_connect::Definition::new(
            "hr",
            steward_connect::Kind::Csv,
            [("profile".to_owned(), profile.to_owned())].into(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        steward
            .save_connector(&Stamp::now("test"), &definition, None)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let server = Server::start(&db.url, steward_web::Options::default());
        let jobs = || {
            steward
                .jobs(&Stamp::now("test"), 100)
                .unwrap_or_else(|e| panic!("{e}"))
                .len()
        };

        // Staff: refused on every connectors route, reading or writing, with a good token.
        let mut staff = support::signed_in_as(&server, &secrets, "staff");
        let token = staff.get("/policy").csrf();
        let routes: Vec<_> = ROUTES
            .iter()
            .filter(|r| r.path.starts_with("/connectors"))
            .collect();
        assert_eq!(routes.len(), 12, "{b}: every connectors route is walked");
        for route in &routes {
            let path = route.path.replace("{name}", "hr");
            let reply = match route.method {
                "GET" => staff.get(&path),
                _ => staff.post(&path, &[("csrf", token.as_str()), ("confirm", "yes")]),
            };
            assert_eq!(
                reply.status, 403,
                "{b}: {} {path} as staff: {}",
                route.method, reply.body
            );
            if takes_files(route) {
                let reply = staff.post_multipart(
                    &path,
                    &[("csrf", token.as_str())],
                    &[("file", "hr.csv", b"Work Email,Full Name\n".as_slice())],
                );
                assert_eq!(reply.status, 403, "{b}: an upload to {path} as staff");
            }
        }
        let pages = staff.get("/");
        assert!(
            !pages.body.contains("href=\"/connectors\""),
            "{b}: staff are not shown the link"
        );

        // The IT team: in, but no form goes through without the session's token.
        let mut it = support::signed_in_as(&server, &secrets, "it");
        assert_eq!(it.get("/connectors").status, 200, "{b}");
        let before = jobs();
        for path in [
            "/connectors/hr/sync",
            "/connectors/hr/apply",
            "/connectors/hr/remove",
        ] {
            for fields in [
                vec![("confirm", "yes")],
                vec![("csrf", "forged"), ("confirm", "yes")],
            ] {
                let reply = it.post(path, &fields);
                assert_eq!(reply.status, 403, "{b}: {path} {fields:?}: {}", reply.body);
            }
        }
        let upload = it.post_multipart(
            "/connectors/hr/file",
            &[("apply", "yes")],
            &[("file", "hr.csv", b"Work Email,Full Name\n".as_slice())],
        );
        assert_eq!(upload.status, 403, "{b}: an upload without its token");
        let add = it.post_multipart(
            "/connectors",
            &[("csrf", "forged"), ("kind", "csv"), ("name", "other")],
            &[],
        );
        assert_eq!(add.status, 403, "{b}: an addition with a forged token");
        assert_eq!(jobs(), before, "{b}: nothing was queued");
        assert_eq!(
            steward
                .connectors(&Stamp::now("test"))
                .unwrap_or_else(|e| panic!("{e}"))
                .len(),
            1,
            "{b}: nothing was added or removed"
        );

        // With its token, an upload goes: a job reading the file through the profile.
        let uploaded = it.upload(
            "/connectors/hr",
            "/connectors/hr/file",
            &[],
            &[(
                "file",
                "staff.csv",
                b"Work Email,Full Name\nada@charity.test,Ada Lovelace\n".as_slice(),
            )],
        );
        let job = it.follow_job(&uploaded);
        assert_eq!(job.text_of("job-state"), "done", "{b}: {}", job.body);
        let page = it.get("/connectors/hr");
        assert!(
            page.body.contains("ada@charity.test"),
            "{b}: the file's preview waits: {}",
            page.body
        );

        // An administrator is in too.
        let mut admin = support::signed_in_as(&server, &secrets, "administrator");
        assert_eq!(admin.get("/connectors/hr").status, 200, "{b}");
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn records_a_sync_could_not_place_are_resolved_from_the_preview() {
    for db in databases("web_connectors_resolve") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let secrets = support::it_staff_and_administrator(&steward, "charity.test");
        // The laptops list a spreadsheet keeps: two users are nobody on the people register.
        let profile = "name = \"laptops\"\ntarget = \"devices\"\n\n[columns]\nserial = \"Serial\"\nname = \"Name\"\nholder_email = \"User\"\n";
        let definition = steward_connect::Definition::new(
            "laptops",
            steward_connect::Kind::Csv,
            [("profile".to_owned(), profile.to_owned())].into(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        steward
            .save_connector(&Stamp::now("test"), &definition, None)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut it = support::signed_in_as(&server, &secrets, "it");
        let file = b"Serial,Name,User\nPF3K9Z2A,DESKTOP-4KQ2V,j.okafor@charity.test\nC02XL0AAJGH5,MBP-SHARED,kiosk@charity.test\n";
        let uploaded = it.upload(
            "/connectors/laptops",
            "/connectors/laptops/file",
            &[],
            &[("file", "laptops.csv", file.as_slice())],
        );
        let job = it.follow_job(&uploaded);
        assert_eq!(job.text_of("job-state"), "done", "{b}: {}", job.body);

        let page = it.get("/connectors/laptops");
        assert!(
            page.body.contains("<caption>2 to resolve</caption>"),
            "{b}: {}",
            page.body
        );
        assert!(
            page.body
                .contains("<td>device-holder</td><td>PF3K9Z2A</td>"),
            "{b}: resolved as whose device it is: {}",
            page.body
        );
        // No search yet: the person's id is typed.
        assert!(
            page.body
                .contains("id=\"field-to-0\" name=\"to\" type=\"text\""),
            "{b}"
        );
        // A search offers the people it finds.
        let found = it.get("/connectors/laptops?find=Person%20S1");
        assert!(
            found
                .body
                .contains("<select id=\"field-to-0\" name=\"to\" required")
                && found
                    .body
                    .contains("<option value=\"S1\">Person S1 (S1)</option>"),
            "{b}: {}",
            found.body
        );

        // Nobody by that id: refused beside the record's field.
        let wrong = it.submit(
            "/connectors/laptops",
            "/connectors/laptops/resolve",
            &[
                ("feed", "device-holder"),
                ("source_id", "PF3K9Z2A"),
                ("to", "NOBODY"),
            ],
        );
        assert_eq!(wrong.status, 422, "{b}: {}", wrong.body);
        assert!(
            wrong
                .text_of("field-to-0-error")
                .contains("no person with id &#34;NOBODY&#34;"),
            "{b}: {}",
            wrong.text_of("field-to-0-error")
        );
        let linked = it.submit(
            "/connectors/laptops",
            "/connectors/laptops/resolve",
            &[
                ("feed", "device-holder"),
                ("source_id", "PF3K9Z2A"),
                ("to", "S1"),
            ],
        );
        assert_eq!(
            (linked.status, linked.location()),
            (303, "/connectors/laptops#unmatched"),
            "{b}: {}",
            linked.body
        );
        let ignored = it.submit(
            "/connectors/laptops",
            "/connectors/laptops/resolve",
            &[
                ("feed", "device-holder"),
                ("source_id", "C02XL0AAJGH5"),
                ("to", ""),
                ("ignore", "yes"),
            ],
        );
        assert_eq!(ignored.status, 303, "{b}: {}", ignored.body);
        let decided = it.get("/connectors/laptops");
        assert!(
            decided
                .body
                .contains("Decided: linked to S1, by web:it@example.org")
                && decided
                    .body
                    .contains("Decided: ignored, by web:it@example.org"),
            "{b}: {}",
            decided.body
        );

        // Applied with the file again: the laptop is S1's; the kiosk is nobody's, not asked again.
        let applied = it.upload(
            "/connectors/laptops",
            "/connectors/laptops/file",
            &[("apply", "yes")],
            &[("file", "laptops.csv", file.as_slice())],
        );
        let job = it.follow_job(&applied);
        assert!(
            job.body.contains("Synced laptops:") && job.body.contains("0 to resolve"),
            "{b}: {}",
            job.body
        );
        let laptop: Option<steward_model::Asset> =
            steward.get("PF3K9Z2A").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            laptop.and_then(|a| a.assigned_to).as_deref(),
            Some("S1"),
            "{b}"
        );
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}
