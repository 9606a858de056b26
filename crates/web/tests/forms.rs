//! Forms fit for use, on every test database: inputs typed by the model's field table (the
//! record page's state list shows the state the record is in), limits the server enforces
//! whatever the browser sends, and refusals said in plain words beside their fields and
//! summarised at the top, each linked to its field.

mod support;

use steward_model::{Asset, AssetKind, AssetStatus, Ownership};
use steward_service::{Capacity, Stamp, Steward};
use steward_store::testing::databases;
use support::{Reply, Server, account, person};

/// The `<select>` with this id, as written.
fn select(page: &Reply, id: &str) -> String {
    let marker = format!("<select id=\"{id}\"");
    page.body
        .split_once(&marker)
        .and_then(|(_, rest)| rest.split_once("</select>"))
        .map(|(inner, _)| inner.to_owned())
        .unwrap_or_default()
}

/// The values of a select's options marked selected.
fn selected(page: &Reply, id: &str) -> Vec<String> {
    select(page, id)
        .split("<option value=\"")
        .skip(1)
        .filter(|o| {
            o.split_once('>')
                .is_some_and(|(a, _)| a.contains(" selected"))
        })
        .filter_map(|o| o.split_once('"').map(|(v, _)| v.to_owned()))
        .collect()
}

/// The start tag of the element with this id.
fn tag(page: &Reply, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    page.body
        .split_once(&marker)
        .map(|(before, after)| {
            let start = before.rfind('<').map_or("", |i| &before[i..]);
            let end = after.split_once('>').map_or("", |(a, _)| a);
            format!("{start}{marker}{end}>")
        })
        .unwrap_or_default()
}

fn asset(tag: &str, status: AssetStatus, holder: Option<&str>) -> Asset {
    Asset {
        tag: tag.into(),
        kind: AssetKind::Laptop,
        model: Some("ThinkPad".into()),
        serial: None,
        ownership: Ownership::Organisation,
        status,
        assigned_to: holder.map(str::to_owned),
        assigned_on: holder
            .map(|_| chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default()),
        budget_centre: None,
        cost_gbp: Some(steward_model::Pence(89_900)),
        encrypted: Some(true),
        pin_set: None,
        hotspot_password_set: None,
        last_seen: None,
        last_shutdown: None,
        pending_patch_since: None,
        imei: None,
        os_version: None,
        compliance_state: None,
        azure_device_id: None,
        source_id: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

#[test]
fn over_long_names_are_refused_in_plain_words_and_nothing_is_saved() {
    let long = "N".repeat(20_000);
    for db in databases("web_forms_limits") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let stamp = Stamp::now("test");
        steward
            .create(&stamp, &person("P1", "Person P1", None))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let admin = account(
            &steward,
            "admin@example.org",
            None,
            &[Capacity::Administrator],
        );
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut web = server.client();
        assert_eq!(
            web.sign_in("admin@example.org", support::PASSWORD, &admin)
                .status,
            303,
            "{b}"
        );

        // The form says the limit before anything is sent: the model's, not a guess.
        let form = web.get("/admin/organisation");
        let name_tag = tag(&form, "org-name");
        assert!(
            name_tag.contains("maxlength=\"200\"") && name_tag.contains(" required"),
            "{b}: {name_tag}"
        );

        let refused = web.submit(
            "/admin/organisation",
            "/admin/organisation",
            &[("name", &long), ("time_zone", "Europe/London")],
        );
        assert_eq!(refused.status, 422, "{b}: {}", &refused.body[..500]);
        let plain = "Name: too long (20000 characters; at most 200)";
        // Summarised at the top, linked to the field…
        assert!(
            refused
                .body
                .contains("class=\"error-summary\" role=\"alert\"")
                && refused
                    .body
                    .contains(&format!("<a href=\"#org-name\">{plain}</a>")),
            "{b}: no summary linking to the field"
        );
        // …and said again beside it, which points at the message.
        assert_eq!(refused.text_of("org-name-error"), plain, "{b}");
        assert!(
            tag(&refused, "org-name").contains("aria-describedby=\"org-name-hint org-name-error\""),
            "{b}: {}",
            tag(&refused, "org-name")
        );
        let org = steward
            .organisation()
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(org.name, "My organisation", "{b}: the long name was saved");

        // A blank name is a missing one, said so.
        let blank = web.submit(
            "/admin/organisation",
            "/admin/organisation",
            &[("name", "  "), ("time_zone", "Europe/London")],
        );
        assert_eq!(blank.status, 422, "{b}");
        assert_eq!(
            blank.text_of("org-name-error"),
            "Name: a value is required",
            "{b}"
        );
        assert!(!blank.body.contains("canonical"), "{b}");

        // An account's name, with a person and with roles but no person: refused before
        // anything is saved, beside the name.
        for (email, person_id, role) in [("p1@example.org", "P1", ""), ("it@example.org", "", "it")]
        {
            let mut fields = vec![
                ("act", "add"),
                ("email", email),
                ("name", long.as_str()),
                ("person_id", person_id),
                ("password", "first password for a new person"),
            ];
            if !role.is_empty() {
                fields.push(("role", role));
            }
            let refused = web.submit("/admin/sign-ins", "/admin/sign-ins", &fields);
            assert_eq!(refused.status, 422, "{b}: {email}");
            assert_eq!(
                refused.text_of("new-name-error"),
                plain,
                "{b}: {email}: {}",
                refused.text_of("error-summary-title")
            );
            assert!(
                refused
                    .body
                    .contains(&format!("<a href=\"#new-name\">{plain}</a>")),
                "{b}: {email}"
            );
            // What was typed is there to be put right; the password is not.
            assert!(
                tag(&refused, "new-email").contains(&format!("value=\"{email}\"")),
                "{b}"
            );
            assert!(
                tag(&refused, "new-password").contains("value=\"\""),
                "{b}: {}",
                tag(&refused, "new-password")
            );
            assert!(
                steward
                    .store()
                    .sign_in(email)
                    .unwrap_or_else(|e| panic!("{b}: {e}"))
                    .is_none(),
                "{b}: {email} was saved"
            );
        }
        let people: Vec<steward_model::Person> =
            steward.list().unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            people.iter().filter(|p| p.name.len() > 200).count(),
            0,
            "{b}: a person was made with the long name"
        );

        // A duplicate address says so in words, beside the address.
        let again = web.submit(
            "/admin/sign-ins",
            "/admin/sign-ins",
            &[
                ("act", "add"),
                ("email", "Admin@example.org"),
                ("name", "Someone"),
                ("person_id", ""),
                ("password", "first password for a new person"),
            ],
        );
        assert_eq!(again.status, 422, "{b}");
        assert_eq!(
            again.text_of("new-email-error"),
            "Email address: there is already an account for admin@example.org",
            "{b}"
        );
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

#[test]
fn a_record_s_inputs_are_typed_and_show_what_is_recorded() {
    for db in databases("web_forms_record") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let stamp = Stamp::now("test");
        steward
            .create(&stamp, &person("P1", "Person P1", None))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        for a in [
            asset("LAP1", AssetStatus::Allocated, Some("P1")),
            asset("LAP2", AssetStatus::InStock, None),
        ] {
            steward
                .create(&stamp, &a)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        let it = account(&steward, "it@example.org", None, &[Capacity::It]);
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut web = server.client();
        assert_eq!(
            web.sign_in("it@example.org", support::PASSWORD, &it).status,
            303,
            "{b}"
        );

        // The state an asset is in is the state its lists show chosen: an allocated asset's
        // is not "in stock".
        let lap1 = web.get("/register/asset/LAP1");
        assert_eq!(lap1.status, 200, "{b}");
        assert_eq!(selected(&lap1, "asset-status"), ["allocated"], "{b}");
        assert_eq!(selected(&lap1, "edit-status"), ["allocated"], "{b}");
        let lap2 = web.get("/register/asset/LAP2");
        assert_eq!(selected(&lap2, "asset-status"), ["in_stock"], "{b}");

        // Each field as its type: yes/no/not known, a date, money in pounds, a choice of words.
        assert_eq!(selected(&lap1, "edit-encrypted"), ["true"], "{b}");
        assert_eq!(selected(&lap1, "edit-pin_set"), [""], "{b}");
        assert!(
            select(&lap1, "edit-pin_set")
                .contains("<option value=\"\" selected>not known</option>"),
            "{b}: {}",
            select(&lap1, "edit-pin_set")
        );
        assert_eq!(selected(&lap1, "edit-kind"), ["laptop"], "{b}");
        let assigned_on = tag(&lap1, "edit-assigned_on");
        assert!(
            assigned_on.contains("type=\"date\"") && assigned_on.contains("value=\"2026-01-05\""),
            "{b}: {assigned_on}"
        );
        let cost = tag(&lap1, "edit-cost_gbp");
        assert!(
            cost.contains("type=\"number\"")
                && cost.contains("min=\"0\"")
                && cost.contains("step=\"0.01\"")
                && cost.contains("value=\"899.00\""),
            "{b}: {cost}"
        );
        let seen = tag(&lap1, "edit-last_seen");
        assert!(seen.contains("type=\"datetime-local\""), "{b}: {seen}");
        assert!(
            tag(&lap1, "edit-model").contains("maxlength=\"200\""),
            "{b}"
        );
        // What is recorded is still shown where it was.
        assert_eq!(lap1.text_of("field-status"), "allocated", "{b}");

        // Saving the form unchanged changes nothing: every input reads back as itself.
        let unchanged: Vec<(String, String)> = [
            "kind",
            "model",
            "serial",
            "ownership",
            "status",
            "assigned_to",
            "assigned_on",
            "budget_centre",
            "cost_gbp",
            "encrypted",
            "pin_set",
            "hotspot_password_set",
            "last_seen",
            "last_shutdown",
            "pending_patch_since",
        ]
        .iter()
        .map(|name| {
            let t = tag(&lap1, &format!("edit-{name}"));
            let value = if t.starts_with("<select") {
                selected(&lap1, &format!("edit-{name}"))
                    .first()
                    .cloned()
                    .unwrap_or_default()
            } else {
                t.split_once("value=\"")
                    .and_then(|(_, v)| v.split_once('"'))
                    .map(|(v, _)| v.to_owned())
                    .unwrap_or_default()
            };
            ((*name).to_owned(), value)
        })
        .collect();
        let head = steward
            .store()
            .audit_head()
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let fields: Vec<(&str, &str)> = unchanged
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let saved = web.submit("/register/asset/LAP1", "/register/asset/LAP1/set", &fields);
        assert_eq!(saved.status, 303, "{b}: {}", saved.body);
        assert_eq!(
            steward
                .store()
                .audit_head()
                .unwrap_or_else(|e| panic!("{b}: {e}")),
            head,
            "{b}: saving the form unchanged changed the record"
        );

        // A time typed on the organisation's clock is kept as the instant it names.
        let timed = web.submit(
            "/register/asset/LAP1",
            "/register/asset/LAP1/set",
            &[("last_seen", "2026-07-01T10:30")],
        );
        assert_eq!(timed.status, 303, "{b}: {}", timed.body);
        let lap1 = web.get("/register/asset/LAP1");
        assert_eq!(
            lap1.text_of("field-last_seen"),
            "2026-07-01T09:30:00Z",
            "{b}"
        );
        assert!(
            tag(&lap1, "edit-last_seen").contains("value=\"2026-07-01T10:30:00\""),
            "{b}: {}",
            tag(&lap1, "edit-last_seen")
        );

        // A refused change: the form opens again with what was typed, the problem beside it.
        let refused = web.submit(
            "/register/asset/LAP1",
            "/register/asset/LAP1/set",
            &[("cost_gbp", "12.345"), ("model", "ThinkPad X1")],
        );
        assert_eq!(refused.status, 422, "{b}");
        assert!(refused.body.contains("<details open>"), "{b}");
        assert_eq!(
            refused.text_of("edit-cost_gbp-error"),
            "Cost: an amount is whole pence: at most two decimals",
            "{b}"
        );
        assert!(
            refused
                .body
                .contains("<a href=\"#edit-cost_gbp\">Cost: an amount is whole pence"),
            "{b}"
        );
        assert!(
            tag(&refused, "edit-model").contains("value=\"ThinkPad X1\""),
            "{b}"
        );
        assert_eq!(
            web.get("/register/asset/LAP1").text_of("field-model"),
            "ThinkPad",
            "{b}: a refused change was saved in part"
        );
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}
