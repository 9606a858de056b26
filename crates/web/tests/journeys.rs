//! A day in Steward in a real browser: headless Chromium over WebDriver against the real server,
//! on a demo organisation of about a thousand people, on every test database. First run to a
//! populated dashboard; a member of staff settling an item from My page; a manager acting on a
//! report's item from My team; IT paging, sorting, filtering and downloading the findings; and
//! every number on the dashboard leading to a list that shows it.
//!
//! Needs `chromium` and `chromium-driver`, as `tests/browser.rs` does (skipped without them,
//! except under CI).

// Shared with `tests/browser.rs`, which uses the rest of them.
#[allow(dead_code)]
#[path = "browser/harness.rs"]
mod harness;
mod support;
#[allow(dead_code)]
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::time::Duration;

use harness::{Browser, Server, browser};
use steward_auth::Totp;
use steward_model::{FindingState, Person, PersonStatus};
use steward_policy::Pack;
use steward_service::{FindingQuery, Stamp, Steward};
use steward_store::testing::{TestDatabase, databases};
use support::demo::{packs, seed_with};

/// People in the journeys' demo organisation.
const PEOPLE: usize = 1_000;

fn code(secret: &str, ahead: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Totp::from_base32(secret)
        .unwrap_or_else(|e| panic!("{secret:?}: {e}"))
        .code_at(now + 30 * ahead)
}

fn sign_in(b: &Browser, email: &str, secret: &str) {
    b.open("/login");
    b.fill("#email", email);
    b.fill("#password", support::PASSWORD);
    b.click_through("button[type=submit]");
    b.wait_for_path("/mfa");
    b.fill("#code", &code(secret, 0));
    b.click_through("button[type=submit]");
}

/// A sign-in `seed` made: the role, its e-mail and its authenticator's secret.
type Login = (String, String, String);

/// Signs in with the sign-in `seed` made for `role`.
fn sign_in_as(b: &Browser, logins: &[Login], role: &str) {
    let (_, email, secret) = logins
        .iter()
        .find(|(r, _, _)| r == role)
        .unwrap_or_else(|| panic!("no {role} sign-in"));
    sign_in(b, email, secret);
}

/// A demo organisation on `db` served to a browser, and a sign-in (e-mail, secret) for each of
/// the roles `seed` makes.
fn demo(db: &TestDatabase, test: &str) -> Option<(Server, Browser, Steward, Vec<Login>)> {
    let b = db.backend;
    let packs: Vec<Pack> = packs();
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
    let logins = seed_with(&steward, &packs, PEOPLE)
        .into_iter()
        .map(|(role, email, secret)| (role.to_owned(), email, secret))
        .collect();
    let served = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
    let server = Server::start_with(
        served,
        steward_web::Options {
            packs,
            ..Default::default()
        },
    );
    let browser = browser(&format!("{test}-{b}"), server.addr)?;
    Some((server, browser, steward, logins))
}

/// Makes a sign-in for `person` and returns (e-mail, secret).
fn sign_in_for(steward: &Steward, person: &Person) -> (String, String) {
    let email = format!("{}@journey.example.org", person.id.to_lowercase());
    let stamp = Stamp::now("test");
    steward
        .add_sign_in(
            &stamp,
            &email,
            &person.name,
            Some(&person.id),
            support::PASSWORD,
            &[],
        )
        .unwrap_or_else(|e| panic!("{}: {e}", person.id));
    let secret = steward
        .enrol_authenticator(&stamp, &email)
        .unwrap_or_else(|e| panic!("{}: {e}", person.id));
    (email, secret)
}

/// The open findings of `control` about people, by person id.
fn open_about_people(steward: &Steward, control: &str) -> Vec<String> {
    steward
        .findings(&FindingQuery {
            control: Some(control.into()),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|f| f.state != FindingState::Excepted && f.finding.subject.kind == "person")
        .map(|f| f.finding.subject.id)
        .collect()
}

/// The count a list's caption gives (`1,234 findings…` or `12 requests`).
fn caption_count(b: &Browser) -> usize {
    let caption = b.text("main table caption");
    caption
        .split(' ')
        .next()
        .and_then(|n| n.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("no count in the caption {caption:?}"))
}

/// Reloads `path` until `done` holds of the page, as a person waiting for a check would.
fn until(b: &Browser, path: &str, what: &str, done: impl Fn(&Browser) -> bool) {
    for _ in 0..100 {
        b.open(path);
        if done(b) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{path}: {what} never happened");
}

#[test]
fn a_member_of_staff_settles_an_item_from_my_page() {
    const ACCEPTED: &str = "current-version-accepted";
    for db in databases("journey_staff") {
        let b = db.backend;
        let Some((server, browser, steward, _)) = demo(&db, "staff-my-page") else {
            return;
        };
        // Someone who has not accepted the policy in force, as the checks found.
        let waiting = open_about_people(&steward, ACCEPTED);
        let person: Person = waiting
            .iter()
            .filter_map(|id| steward.get::<Person>(id).ok().flatten())
            .find(|p| p.status == PersonStatus::Active)
            .unwrap_or_else(|| panic!("{b}: nobody active has {ACCEPTED} open"));
        let (email, secret) = sign_in_for(&steward, &person);

        browser.step("my-page");
        sign_in(&browser, &email, &secret);
        browser.wait_for_path("/me");
        let asks = browser.text("#asks + *");
        assert!(
            asks.contains("acknowledged") || asks.contains("accept"),
            "{b}: My page names the policy to accept: {asks:?}"
        );
        browser.find("#accept-policies");

        browser.step("accept");
        browser.click_through("#accept-policies");
        browser.wait_for_path("/me");
        // The checks run again in the background: the item goes once they have.
        until(
            &browser,
            "/me",
            "the acceptance item leaving My page",
            |p| {
                let page = p.text("main");
                !page.contains("Policies to read and accept")
                    && !page.contains("acknowledged version 5.0")
            },
        );
        assert!(
            !open_about_people(&steward, ACCEPTED).contains(&person.id),
            "{b}: the finding is resolved"
        );
        drop(browser);
        server.stop();
    }
}

#[test]
fn a_manager_acts_on_a_reports_item_from_my_team() {
    for db in databases("journey_manager") {
        let b = db.backend;
        let Some((server, browser, steward, _)) = demo(&db, "manager-team") else {
            return;
        };
        // A manager one of whose reports has something open.
        let people: Vec<Person> = steward.list().unwrap_or_else(|e| panic!("{e}"));
        let (manager, report) = people
            .iter()
            .filter(|p| p.status == PersonStatus::Active && p.manager_id.is_some())
            .find_map(|p| {
                let open = steward.findings_about(&p.id).ok()?;
                let held: Vec<steward_model::Asset> =
                    steward.list_where("assigned_to", &p.id).ok()?;
                if held.is_empty() {
                    return None;
                }
                let manager = people.iter().find(|m| {
                    Some(&m.id) == p.manager_id.as_ref() && m.status == PersonStatus::Active
                })?;
                (!open.is_empty()).then(|| (manager.clone(), p.clone()))
            })
            .unwrap_or_else(|| panic!("{b}: no active manager has a report with an open item"));
        let (email, secret) = sign_in_for(&steward, &manager);

        browser.step("my-team");
        sign_in(&browser, &email, &secret);
        browser.wait_for_path("/me");
        browser.click_through("nav a[href='/team']");
        browser.wait_for_path("/team");
        browser.click_through(&format!("main a[href='/team/{}#findings']", report.id));
        browser.wait_for_path(&format!("/team/{}", report.id));
        let items = browser.texts(".items li");
        assert!(!items.is_empty(), "{b}: {}'s items are listed", report.id);

        browser.step("raise-for-them");
        browser.click_through("main a[href^='/requests/new?person=']");
        browser.wait_for_path("/requests/new");
        browser.set_value("#type-choice", "equipment-return");
        browser.click_through("main form[method=get] button[type=submit]");
        let chosen = browser.script("return document.querySelector('[name=person_id]').value");
        assert_eq!(
            chosen.as_str(),
            Some(report.id.as_str()),
            "{b}: the form is for the report"
        );
        let required: Vec<String> = browser
            .script(
                "return Array.from(document.querySelectorAll('main form[method=post] [required]'))\
                 .filter(e => e.name !== 'person_id' && !e.value).map(e => e.id)",
            )
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let held: Vec<steward_model::Asset> = steward
            .list_where("assigned_to", &report.id)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // The equipment is chosen from what the report holds, not typed.
        let offered = browser.script(
            "return Array.from(document.querySelectorAll('select#f-asset_tag option')).map(o => o.value)",
        );
        let mut offered: Vec<String> = offered
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        offered.sort();
        let mut tags: Vec<String> = held.iter().map(|a| a.tag.clone()).collect();
        tags.sort();
        assert_eq!(
            offered, tags,
            "{b}: the equipment offered is what {} holds",
            report.id
        );
        for id in &required {
            let value = if id.ends_with("asset_tag") {
                held[0].tag.clone()
            } else {
                "Handed back at the office".to_owned()
            };
            browser.fill(&format!("#{id}"), &value);
        }
        browser.click_through("main form[method=post] button[type=submit]");
        let path = browser.path();
        assert!(
            path.starts_with("/requests/REQ-"),
            "{b}: on {path}: {}",
            browser.text("main")
        );
        assert_eq!(browser.text("#request-state"), "open", "{b}");
        let raised = browser.text("main");
        assert!(
            raised.contains(&report.name),
            "{b}: the request names {}: {raised}",
            report.name
        );
        drop(browser);
        server.stop();
    }
}

#[test]
fn it_pages_sorts_filters_and_downloads_the_findings() {
    for db in databases("journey_it") {
        let b = db.backend;
        let Some((server, browser, _steward, logins)) = demo(&db, "it-findings") else {
            return;
        };
        sign_in_as(&browser, &logins, "it");

        browser.step("page");
        browser.open("/findings");
        let all = caption_count(&browser);
        let first: Vec<String> = browser.texts("main tbody tr");
        assert!(all > first.len(), "{b}: {all} findings fit one page?");
        browser.click_through("#next-page");
        let second: Vec<String> = browser.texts("main tbody tr");
        assert!(
            !second.is_empty() && second.iter().all(|r| !first.contains(r)),
            "{b}: the second page repeats the first"
        );
        assert_eq!(
            caption_count(&browser),
            all,
            "{b}: the count holds across pages"
        );

        browser.step("sort");
        browser.click_through("nav.orders a[href*='sort=newest']");
        assert!(
            browser.text("nav.orders [aria-current]").contains("ewest"),
            "{b}"
        );

        browser.step("filter");
        browser.set_value("#severity", "high");
        browser.set_value("#who_acts", "it_team");
        browser.click_through("form.filters button[type=submit]");
        let filtered = caption_count(&browser);
        assert!(
            filtered < all,
            "{b}: the filter narrows ({filtered} of {all})"
        );
        let severities: Vec<String> = browser.texts("main tbody tr td:first-child");
        assert!(
            severities.iter().all(|s| s == "high"),
            "{b}: {severities:?}"
        );

        browser.step("download");
        // The CSV of exactly this view, fetched as the link would be, with the same session.
        let href = browser.script(
            "return Array.from(document.querySelectorAll('a'))\
             .find(a => a.textContent === 'Download CSV').getAttribute('href')",
        );
        let csv = browser.download(href.as_str().unwrap_or_default());
        let rows = csv.lines().skip(1).filter(|l| !l.is_empty()).count();
        assert_eq!(rows, filtered, "{b}: the CSV holds the filtered view");
        assert!(csv.lines().skip(1).all(|l| l.contains("high")), "{b}");
        drop(browser);
        server.stop();
    }
}

#[test]
fn every_dashboard_number_leads_to_a_list_showing_it() {
    for db in databases("journey_dashboard") {
        let b = db.backend;
        let Some((server, browser, _steward, logins)) = demo(&db, "dashboard-numbers") else {
            return;
        };
        sign_in_as(&browser, &logins, "governance");
        browser.open("/dashboard");
        browser.find("#policy-standing");
        let links = browser.script(
            "return Array.from(document.querySelectorAll('main a'))\
             .filter(a => /^[0-9]+$/.test(a.textContent.trim()))\
             .map(a => [a.getAttribute('href'), a.textContent.trim()])",
        );
        let links: Vec<(String, usize)> = links
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|pair| {
                        Some((
                            pair.get(0)?.as_str()?.to_owned(),
                            pair.get(1)?.as_str()?.parse().ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            links.len() >= 10,
            "{b}: only {} numbers link: {links:?}",
            links.len()
        );
        for (i, (href, n)) in links.iter().enumerate() {
            browser.step(&format!("number-{i}"));
            browser.open("/dashboard");
            browser.click_through(&format!("main a[href='{}']", href.replace('\'', "\\'")));
            assert_eq!(caption_count(&browser), *n, "{b}: {href}");
        }
        drop(browser);
        server.stop();
    }
}

#[test]
fn first_run_leads_to_a_populated_dashboard() {
    const EMAIL: &str = "lead@example.org";
    const PASSWORD: &str = "harbour lantern copper winter";
    for db in databases("journey_first_run") {
        let b = db.backend;
        let available = packs();
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let server = Server::start_with(
            steward,
            steward_web::Options {
                available: available.clone(),
                ..Default::default()
            },
        );
        let Some(browser) = browser(&format!("first-run-{b}"), server.addr) else {
            return;
        };

        browser.step("set-up");
        browser.open("/");
        browser.wait_for_path("/setup");
        browser.fill("#name", "Ada Lead");
        browser.fill("#email", EMAIL);
        browser.fill("#password", PASSWORD);
        browser.click_through("button[type=submit]");
        browser.wait_for_path("/mfa/enrol");
        let secret = browser.text("#totp-secret");
        browser.fill("#code", &code(&secret, 0));
        browser.click_through("button[type=submit]");
        browser.find("#recovery-codes");
        browser.click_through("main a[href='/']");
        browser.wait_for_path("/dashboard");
        assert!(
            browser.text("#no-policy").contains("No policy is in force"),
            "{b}"
        );

        browser.step("choose-policy");
        browser.click_through(".task-list a[href='/policy#choose']");
        browser.click_through("#pack-cafcass-it-5\\.0-activate");
        browser.find("#pack-cafcass-it-5\\.0-deactivate");

        browser.step("add-people-and-equipment");
        // The demo's own files, as an organisation exports them from its HR and asset systems.
        let files = support::demo::demo_files(200);
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("first-run-{b}"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{b}: {e}"));
        for register in ["budget_centres", "systems", "people", "assets", "accounts"] {
            let file = files
                .iter()
                .find(|f| f.register.name() == register)
                .unwrap_or_else(|| panic!("{b}: no {register} file"));
            let path = dir.join(&file.label);
            std::fs::write(&path, &file.bytes).unwrap_or_else(|e| panic!("{b}: {e}"));
            browser.open("/import");
            browser.set_value("#register", register);
            browser.choose_file("#file", &path);
            browser.click_through("main form[enctype='multipart/form-data'] button[type=submit]");
            let job = browser.path();
            assert!(job.starts_with("/jobs/"), "{b}: {register}: on {job}");
            until(&browser, &job, &format!("{register} imported"), |p| {
                let state = p.text("#job-state");
                assert!(
                    !state.contains("failed"),
                    "{b}: {register}: {}",
                    p.text("main")
                );
                state.starts_with("done")
            });
        }

        browser.step("populated-dashboard");
        // The import sets the checks running; the dashboard then says where the policy stands.
        until(&browser, "/dashboard", "a standing on the dashboard", |p| {
            p.script("return document.getElementById('policy-standing') !== null")
                .as_bool()
                .unwrap_or(false)
        });
        let standing = browser.text("#policy-standing");
        assert!(
            standing.contains("IT Policy and Procedures") && standing.contains('%'),
            "{b}: {standing}"
        );
        let tasks = browser.script("return document.querySelector('.task-list') && document.querySelector('.task-list').innerText");
        if let Some(tasks) = tasks.as_str() {
            assert!(
                !tasks.contains("Choose the policies you run — to do")
                    && !tasks.contains("Add your people — to do"),
                "{b}: done tasks are marked done: {tasks}"
            );
        }
        drop(browser);
        server.stop();
    }
}
