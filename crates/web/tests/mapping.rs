//! A mapped CSV connector's columns mapped on screen, against the real server on every test
//! database: an IT person uploads a sample of the HR system's staff list (a BOM, UK dates, a
//! formula-like name), sees its header and first rows, maps the columns, previews the rows as
//! they map, saves — and the connector's stored profile then reads the same file. A mapping that
//! cannot read the file, or names no identity, is refused beside its field and saves nothing;
//! staff are refused on every mapping route, and no form goes through without its CSRF token.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use steward_model::Person;
use steward_service::{Stamp, Steward};
use steward_store::testing::databases;
use support::{Client, Reply, Server};

/// The staff list as the HR system exports it: a BOM, CRLF, UK dates, a name a spreadsheet
/// would take for a formula and one with markup in it.
const HR: &[u8] = b"\xEF\xBB\xBFEmployee ID,Full Name,Work Email,Start Date,Status\r\n\
E101,Ada Lovelace,ada@charity.test,03/04/2019,Current\r\n\
E102,=SUM(A1:A2),bob@charity.test,15/06/2020,Current\r\n\
E103,Cy <Jones>,cy@charity.test,01/12/2021,Left\r\n";

/// The connector's profile before: the e-mail column only.
const BEFORE: &str = "name = \"hr\"\ntarget = \"people\"\n\n[columns]\nemail = \"Work Email\"\n";

/// A database at `url` with IT staff, an administrator and a `csv` connector `hr` whose profile
/// is [`BEFORE`] (and `extra` settings), and the server over it.
fn hr_connector(
    url: &str,
    extra: &[(&str, &str)],
) -> (Steward, Vec<(&'static str, String)>, Server) {
    let steward = Steward::open(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let secrets = support::it_staff_and_administrator(&steward, "example.test");
    let mut settings: std::collections::BTreeMap<String, String> =
        [("profile".to_owned(), BEFORE.to_owned())].into();
    for (k, v) in extra {
        settings.insert((*k).to_owned(), (*v).to_owned());
    }
    let definition = steward_connect::Definition::new("hr", steward_connect::Kind::Csv, settings)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    steward
        .save_connector(&Stamp::now("test"), &definition, None)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let server = Server::start(url, steward_web::Options::default());
    (steward, secrets, server)
}

fn stored_profile(steward: &Steward) -> String {
    steward
        .connectors(&Stamp::now("test"))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|v| v.definition.name == "hr")
        .and_then(|v| v.definition.get("profile"))
        .unwrap_or_default()
}

/// The value of the page's hidden input `name`.
fn hidden(reply: &Reply, name: &str) -> String {
    let marker = format!("type=\"hidden\" name=\"{name}\" value=\"");
    reply
        .body
        .split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| v.to_owned())
        .unwrap_or_default()
}

/// The table row `id`, as written.
fn row_of<'a>(reply: &'a Reply, id: &str) -> &'a str {
    reply
        .body
        .split_once(&format!("<tr id=\"{id}\""))
        .and_then(|(_, rest)| rest.split_once("</tr>"))
        .map_or("", |(row, _)| row)
}

/// Whether the select `id` has `value` chosen.
fn chosen(reply: &Reply, id: &str, value: &str) -> bool {
    let Some((_, rest)) = reply.body.split_once(&format!("<select id=\"{id}\"")) else {
        return false;
    };
    let select = rest.split_once("</select>").map_or(rest, |(s, _)| s);
    select.contains(&format!("<option value=\"{value}\" selected>"))
}

#[test]
fn a_sample_file_is_mapped_on_screen_previewed_and_saved_as_the_profile() {
    for db in databases("web_mapping") {
        let b = db.backend;
        let (steward, secrets, server) = hr_connector(&db.url, &[("staff_group", "staff")]);
        let mut it = support::signed_in_as(&server, &secrets, "it");

        // The connector's page offers the mapping.
        let page = it.get("/connectors/hr");
        assert!(
            page.body.contains("action=\"/connectors/hr/mapping\""),
            "{b}: {}",
            page.body
        );

        // The sample: its header and first rows, escaped, the formula-like name as text.
        let shown = it.upload(
            "/connectors/hr",
            "/connectors/hr/mapping",
            &[],
            &[("file", "staff.csv", HR)],
        );
        assert_eq!(shown.status, 200, "{b}: {}", shown.body);
        let body = &shown.body;
        for cell in [
            "<th scope=\"col\">Employee ID</th>",
            "<th scope=\"col\">Start Date</th>",
            "<td>=SUM(A1:A2)</td>",
            "<td>03/04/2019</td>",
            "<td>Cy &#60;Jones&#62;</td>",
        ] {
            assert!(body.contains(cell), "{b}: {cell} in {body}");
        }
        assert!(!body.contains("Cy <Jones>"), "{b}: markup escaped");
        assert!(!body.contains('\u{feff}'), "{b}: no BOM in the header");
        // Preselected: the profile's column, and headers named as fields.
        assert!(chosen(&shown, "field-target", "people"), "{b}");
        assert!(chosen(&shown, "field-col-email", "Work Email"), "{b}");
        assert!(
            chosen(&shown, "field-col-employee_id", "Employee ID"),
            "{b}"
        );
        assert!(chosen(&shown, "field-col-start_date", "Start Date"), "{b}");
        assert!(chosen(&shown, "field-col-name", ""), "{b}: not in the file");
        assert!(body.contains("id=\"field-date-start_date\""), "{b}");
        assert!(body.contains("id=\"field-yes-active\""), "{b}");
        let sample = hidden(&shown, "sample");
        assert_eq!(
            STANDARD.decode(&sample).ok().as_deref(),
            Some(HR),
            "{b}: the sample travels with the form"
        );
        let csrf = shown.csrf();

        let mapping = |date: &'static str| -> Vec<(&'static str, &'static str)> {
            vec![
                ("target", "people"),
                ("header_row", ""),
                ("col-employee_id", "Employee ID"),
                ("col-name", "Full Name"),
                ("col-email", "Work Email"),
                ("col-start_date", "Start Date"),
                ("date-start_date", date),
                ("col-active", "Status"),
                ("yes-active", "Current"),
                ("no-active", "Left"),
            ]
        };
        let post = |client: &mut Client, path: &str, fields: &[(&str, &str)]| {
            let mut all = vec![
                ("csrf", csrf.as_str()),
                ("sample", sample.as_str()),
                ("filename", "staff.csv"),
            ];
            all.extend_from_slice(fields);
            client.post_multipart(path, &all, &[])
        };

        // Preview: the rows as they map.
        let previewed = post(
            &mut it,
            "/connectors/hr/mapping/preview",
            &mapping("%d/%m/%Y"),
        );
        assert_eq!(previewed.status, 200, "{b}: {}", previewed.body);
        let mapped = previewed.text_of("mapped-line-2");
        assert!(
            previewed.body.contains("<td>2019-04-03</td>")
                && previewed.body.contains("<td>E101</td>")
                && previewed.body.contains("<td>Ada Lovelace</td>"),
            "{b}: {mapped}: {}",
            previewed.body
        );
        assert_eq!(previewed.text_of("mapped-error-4"), "none", "{b}");
        assert!(chosen(&previewed, "field-col-name", "Full Name"), "{b}");
        assert_eq!(
            stored_profile(&steward),
            BEFORE,
            "{b}: a preview saves nothing"
        );

        // Without the date's format, the UK dates do not read: beside each line, and refused on
        // saving, beside the column.
        let undated = post(&mut it, "/connectors/hr/mapping/preview", &mapping(""));
        assert_eq!(undated.status, 200, "{b}");
        assert!(
            undated.text_of("mapped-error-2").contains("Start Date"),
            "{b}: {}",
            undated.body
        );
        let refused = post(&mut it, "/connectors/hr/mapping/save", &mapping(""));
        assert_eq!(refused.status, 422, "{b}: {}", refused.body);
        assert!(
            refused
                .text_of("field-col-start_date-error")
                .contains("03/04/2019"),
            "{b}: {}",
            refused.body
        );
        assert!(
            refused.body.contains("href=\"#field-col-start_date\""),
            "{b}"
        );
        assert_eq!(stored_profile(&steward), BEFORE, "{b}: nothing saved");

        // A date format that is no format: beside its input.
        let broken = post(&mut it, "/connectors/hr/mapping/save", &mapping("%Q"));
        assert_eq!(broken.status, 422, "{b}: {}", broken.body);
        assert!(
            !broken.text_of("field-date-start_date-error").is_empty(),
            "{b}: {}",
            broken.body
        );

        // No identity: refused, said at the top.
        let anonymous = post(
            &mut it,
            "/connectors/hr/mapping/save",
            &[("target", "people"), ("col-name", "Full Name")],
        );
        assert_eq!(anonymous.status, 422, "{b}: {}", anonymous.body);
        assert!(
            anonymous.body.contains("to identify each line"),
            "{b}: {}",
            anonymous.body
        );
        assert_eq!(stored_profile(&steward), BEFORE, "{b}: nothing saved");

        // Saved: the connector's profile is the mapping, its other settings as they were.
        let saved = post(&mut it, "/connectors/hr/mapping/save", &mapping("%d/%m/%Y"));
        assert_eq!(
            (saved.status, saved.location()),
            (303, "/connectors/hr"),
            "{b}: {}",
            saved.body
        );
        let profile = stored_profile(&steward);
        let read = steward_connect::mapped::Profile::from_toml(&profile)
            .unwrap_or_else(|e| panic!("{b}: {e}: {profile}"));
        assert_eq!(read.name, "hr", "{b}");
        assert_eq!(
            read.columns.get("start_date").map(String::as_str),
            Some("Start Date"),
            "{b}"
        );
        assert_eq!(
            read.transforms
                .get("start_date")
                .and_then(|t| t.date.as_deref()),
            Some("%d/%m/%Y"),
            "{b}"
        );
        let view = steward
            .connectors(&Stamp::now("test"))
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|v| v.definition.name == "hr")
            .unwrap_or_else(|| panic!("{b}: hr is gone"));
        assert_eq!(
            view.definition
                .settings
                .get("staff_group")
                .map(String::as_str),
            Some("staff"),
            "{b}: the other settings kept"
        );
        let page = it.get("/connectors/hr");
        assert!(page.body.contains("%d/%m/%Y"), "{b}: {}", page.body);

        // And the stored profile reads the same file.
        steward
            .sync_connector(&Stamp::now("test"), "hr", Some(("staff.csv", HR)), true)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let people = steward.list::<Person>().unwrap_or_else(|e| panic!("{e}"));
        let ada = people
            .iter()
            .find(|p| p.id == "E101")
            .unwrap_or_else(|| panic!("{b}: E101 synced: {people:?}"));
        assert_eq!(ada.name, "Ada Lovelace", "{b}");
        assert_eq!(ada.email.as_deref(), Some("ada@charity.test"), "{b}");
        assert_eq!(
            ada.start_date.map(|d| d.to_string()).as_deref(),
            Some("2019-04-03"),
            "{b}"
        );
        let bob = people
            .iter()
            .find(|p| p.id == "E102")
            .unwrap_or_else(|| panic!("{b}: E102 synced: {people:?}"));
        assert_eq!(bob.name, "=SUM(A1:A2)", "{b}: the name kept as text");
        let cy = people
            .iter()
            .find(|p| p.id == "E103")
            .unwrap_or_else(|| panic!("{b}: E103 synced: {people:?}"));
        assert_eq!(cy.status.to_string(), "leaver", "{b}: Left is no");
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

/// A staff list saved by a spreadsheet set to semicolons, with the HR system's own words for
/// staff groups, listing only the new starters (not everyone).
const STARTERS: &[u8] = b"Work Email;Team\n\
dee@charity.test;Family Court Advisers\n\
eve@charity.test;Business Services\n";

#[test]
fn a_file_s_layout_and_its_words_are_chosen_on_screen() {
    for db in databases("web_mapping_layout") {
        let b = db.backend;
        let (steward, secrets, server) = hr_connector(&db.url, &[]);
        let mut it = support::signed_in_as(&server, &secrets, "it");
        let shown = it.upload(
            "/connectors/hr",
            "/connectors/hr/mapping",
            &[],
            &[("file", "starters.csv", STARTERS)],
        );
        assert_eq!(shown.status, 200, "{b}: {}", shown.body);
        // Read with commas, the file is one column.
        assert!(chosen(&shown, "field-delimiter", "comma"), "{b}");
        assert!(
            shown
                .body
                .contains("<th scope=\"col\">Work Email;Team</th>"),
            "{b}: {}",
            shown.body
        );
        assert!(chosen(&shown, "field-complete", ""), "{b}");
        let csrf = shown.csrf();
        let sample = hidden(&shown, "sample");
        let post = |client: &mut Client, path: &str, fields: &[(&str, &str)]| {
            let mut all = vec![
                ("csrf", csrf.as_str()),
                ("sample", sample.as_str()),
                ("filename", "starters.csv"),
                ("target", "people"),
                ("col-email", "Work Email"),
                ("col-staff_group", "Team"),
            ];
            if !fields.iter().any(|(name, _)| *name == "delimiter") {
                all.push(("delimiter", "semicolon"));
            }
            all.extend_from_slice(fields);
            client.post_multipart(path, &all, &[])
        };
        let words = "Family Court Advisers = fca\r\n\r\nbusiness services = business-services";

        // With semicolons the columns part, and the words are translated in the preview.
        let previewed = post(
            &mut it,
            "/connectors/hr/mapping/preview",
            &[("values-staff_group", words), ("complete", "no")],
        );
        assert_eq!(previewed.status, 200, "{b}: {}", previewed.body);
        assert!(chosen(&previewed, "field-delimiter", "semicolon"), "{b}");
        assert!(chosen(&previewed, "field-complete", "no"), "{b}");
        assert!(
            previewed.body.contains("<th scope=\"col\">Team</th>"),
            "{b}: {}",
            previewed.body
        );
        assert!(
            row_of(&previewed, "mapped-line-2").contains("<td>fca</td>")
                && row_of(&previewed, "mapped-line-3").contains("<td>business-services</td>"),
            "{b}: {}",
            previewed.body
        );
        assert!(
            !row_of(&previewed, "mapped-line-2").contains("Family Court Advisers"),
            "{b}"
        );

        // A line of the word map without its "=": refused beside the box, nothing saved.
        let refused = post(
            &mut it,
            "/connectors/hr/mapping/save",
            &[("values-staff_group", "Family Court Advisers fca")],
        );
        assert_eq!(refused.status, 422, "{b}: {}", refused.body);
        assert!(
            refused
                .text_of("field-values-staff_group-error")
                .contains("line 1"),
            "{b}: {}",
            refused.body
        );
        // And a delimiter that is no single character.
        let two = post(
            &mut it,
            "/connectors/hr/mapping/save",
            &[("delimiter", ";;")],
        );
        assert_eq!(two.status, 422, "{b}: {}", two.body);
        assert!(!two.text_of("field-delimiter-error").is_empty(), "{b}");
        assert_eq!(stored_profile(&steward), BEFORE, "{b}: nothing saved");

        let saved = post(
            &mut it,
            "/connectors/hr/mapping/save",
            &[("values-staff_group", words), ("complete", "no")],
        );
        assert_eq!(saved.status, 303, "{b}: {}", saved.body);
        let profile = stored_profile(&steward);
        let read = steward_connect::mapped::Profile::from_toml(&profile)
            .unwrap_or_else(|e| panic!("{b}: {e}: {profile}"));
        assert_eq!(read.delimiter, Some(';'), "{b}: {profile}");
        assert_eq!(read.complete, Some(false), "{b}: {profile}");
        assert_eq!(
            read.values
                .get("staff_group")
                .and_then(|m| m.get("Family Court Advisers"))
                .map(String::as_str),
            Some("fca"),
            "{b}: {profile}"
        );

        // The saved profile shows again as it was chosen.
        let again = it.upload(
            "/connectors/hr",
            "/connectors/hr/mapping",
            &[],
            &[("file", "starters.csv", STARTERS)],
        );
        assert!(chosen(&again, "field-delimiter", "semicolon"), "{b}");
        assert!(chosen(&again, "field-complete", "no"), "{b}");
        assert!(
            again.body.contains("Family Court Advisers = fca"),
            "{b}: {}",
            again.body
        );

        // A listing of some: the sync marks no one missing, and the words reach the register.
        steward
            .sync_connector(
                &Stamp::now("test"),
                "hr",
                Some(("starters.csv", STARTERS)),
                true,
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let people = steward.list::<Person>().unwrap_or_else(|e| panic!("{e}"));
        let dee = people
            .iter()
            .find(|p| p.email.as_deref() == Some("dee@charity.test"))
            .unwrap_or_else(|| panic!("{b}: dee synced: {people:?}"));
        assert_eq!(dee.staff_group, "fca", "{b}");
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn only_those_who_run_connectors_map_a_file_and_never_without_the_token() {
    for db in databases("web_mapping_access") {
        let b = db.backend;
        let (steward, secrets, server) = hr_connector(&db.url, &[]);
        let sample = STANDARD.encode(HR);
        let fields = |csrf: &'static str| {
            vec![
                ("csrf", csrf),
                ("target", "people"),
                ("col-email", "Work Email"),
            ]
        };
        let routes = [
            "/connectors/hr/mapping",
            "/connectors/hr/mapping/preview",
            "/connectors/hr/mapping/save",
        ];

        // Staff: refused on all three, with a good token, as a browser posts them and not.
        let mut staff = support::signed_in_as(&server, &secrets, "staff");
        let token = staff.get("/policy").csrf();
        for path in routes {
            let mut all = vec![("csrf", token.as_str()), ("sample", sample.as_str())];
            all.extend_from_slice(&fields("")[1..]);
            let reply = staff.post_multipart(path, &all, &[("file", "staff.csv", HR)]);
            assert_eq!(reply.status, 403, "{b}: {path} as staff: {}", reply.body);
            let reply = staff.post(path, &all);
            assert_eq!(reply.status, 403, "{b}: {path} url-encoded as staff");
        }

        // The IT team: nothing without the session's token, forged or missing.
        let mut it = support::signed_in_as(&server, &secrets, "it");
        for path in routes {
            for csrf in ["forged", ""] {
                let mut all: Vec<(&str, &str)> = fields(csrf)
                    .into_iter()
                    .filter(|(k, v)| *k != "csrf" || !v.is_empty())
                    .collect();
                all.push(("sample", sample.as_str()));
                let reply = it.post_multipart(path, &all, &[("file", "staff.csv", HR)]);
                assert_eq!(
                    reply.status, 403,
                    "{b}: {path} with {csrf:?}: {}",
                    reply.body
                );
            }
        }
        assert_eq!(stored_profile(&steward), BEFORE, "{b}: nothing saved");

        // An administrator is in.
        let mut admin = support::signed_in_as(&server, &secrets, "administrator");
        let shown = admin.upload(
            "/connectors/hr",
            "/connectors/hr/mapping",
            &[],
            &[("file", "staff.csv", HR)],
        );
        assert_eq!(shown.status, 200, "{b}: {}", shown.body);
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}
