//! End-to-end tests in a real browser: headless Chromium driven over WebDriver against the real
//! server on a loopback port, on every test database.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`STEWARD_CHROMEDRIVER` and
//! `STEWARD_CHROMIUM` name other binaries). Without them each test says it is skipped and passes,
//! except under CI (`CI` set), where it fails. A failing test leaves a screenshot and the page
//! source in `target/browser-failures/`.

// Shared with `tests/journeys.rs`, which uses the rest of them.
#[allow(dead_code)]
#[path = "browser/harness.rs"]
mod harness;
mod support;
#[allow(dead_code)]
#[path = "browser/webdriver.rs"]
mod webdriver;

use harness::{Server, browser};
use steward_auth::Totp;
use steward_calendar::{BankHoliday, Calendar, ENGLAND_AND_WALES};
use steward_model::{Person, PersonStatus};
use steward_service::{Stamp, Steward};
use steward_store::testing::databases;

/// The current code of an authenticator holding `secret` (base32).
fn totp_now(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    Totp::from_base32(secret)
        .unwrap_or_else(|e| panic!("the TOTP secret {secret:?} is not base32: {e}"))
        .code_at(now)
}

#[test]
fn signs_in_with_a_password_and_a_totp_code() {
    const EMAIL: &str = "ada.obrien@example.org";
    const NAME: &str = "Ada O'Brien";
    const PASSWORD: &str = "plum orchard lantern seventy";
    for db in databases("browser") {
        let test = format!("signs_in_with_a_password_and_a_totp_code-{}", db.backend);
        let steward = Steward::open(&db.url).expect("opening the test database");
        let stamp = Stamp::now("test");
        let person = Person {
            id: "P000001".into(),
            name: NAME.into(),
            email: Some(EMAIL.into()),
            staff_group: "fca".into(),
            manager_id: None,
            budget_centre: None,
            status: PersonStatus::Active,
            start_date: None,
            leave_date: None,
            clearance: None,
            clearance_expires: None,
            byod: None,
            weekly_digest: None,
            job_title: None,
            source: None,
            source_seen: None,
            missing_since: None,
        };
        steward
            .create(&stamp, &person)
            .expect("creating the person");
        steward
            .add_sign_in(&stamp, EMAIL, NAME, Some(&person.id), PASSWORD, &[])
            .expect("adding the person's sign-in");
        let secret = steward
            .enrol_authenticator(&stamp, EMAIL)
            .expect("enrolling an authenticator");

        let server = Server::start(steward);
        let Some(b) = browser(&test, server.addr) else {
            return;
        };

        b.step("password");
        b.open("/login");
        b.fill("#email", EMAIL);
        b.fill("#password", PASSWORD);
        b.click_through("button[type=submit]");
        b.wait_for_path("/mfa");

        b.step("code");
        b.fill("#code", &totp_now(&secret));
        b.click_through("button[type=submit]");
        b.wait_for_path("/me");

        b.step("my-page");
        assert_eq!(b.text("main h1"), NAME, "the heading of /me");
        let nav = b.text("nav");
        assert!(nav.contains("My page"), "the navigation shows {nav:?}");

        b.step("sign-out");
        b.click_through("form.signout button[type=submit]");
        b.wait_for_path("/login");
        b.open("/me");
        b.wait_for_path("/login");

        drop(b);
        server.stop();
    }
}

#[test]
fn first_run_sets_up_the_administrator_and_enrols_an_authenticator() {
    const EMAIL: &str = "admin@example.org";
    const PASSWORD: &str = "copper kettle winter harbour";
    for db in databases("browser") {
        let test = format!(
            "first_run_sets_up_the_administrator_and_enrols_an_authenticator-{}",
            db.backend
        );
        let steward = Steward::open(&db.url).expect("opening the test database");
        let server = Server::start(steward);
        let Some(b) = browser(&test, server.addr) else {
            return;
        };

        b.step("first-run");
        b.open("/");
        b.wait_for_path("/setup");
        b.fill("#name", "Grace Hopper");
        b.fill("#email", EMAIL);
        b.fill("#password", PASSWORD);
        // Set-up flows straight into enrolment: the password was just chosen here.
        b.click_through("button[type=submit]");
        b.wait_for_path("/mfa/enrol");

        b.step("enrol");
        let secret = b.text("#totp-secret");
        b.fill("#code", &totp_now(&secret));
        b.click_through("button[type=submit]");
        b.find("#recovery-codes");
        let codes = b.texts("#recovery-codes li");
        assert_eq!(codes.len(), 10, "recovery codes shown: {codes:?}");
        assert!(
            codes.iter().all(|c| !c.trim().is_empty()),
            "an empty recovery code: {codes:?}"
        );

        b.step("dashboard");
        b.click_through("main a[href='/']");
        b.wait_for_path("/dashboard");
        // A fresh installation leads: what to do first, and no figure that reads as compliant.
        let tasks = b.text(".task-list");
        assert!(
            tasks.contains("Choose the policies you run") && tasks.contains("Add your people"),
            "the first steps: {tasks:?}"
        );
        assert!(
            b.text("#no-policy").contains("No policy is in force"),
            "a fresh installation runs no policy"
        );

        // The browser's own multipart encoding of a chosen file: gov.uk's file with one more
        // closure day, which moves a working-day sum across it.
        b.step("calendar-upload");
        let mut holidays: Vec<BankHoliday> = Calendar::shipped().holidays().cloned().collect();
        holidays.push(BankHoliday {
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 29).expect("a date"),
            title: "Office move".into(),
            notes: String::new(),
        });
        let json = Calendar::from_holidays(holidays).to_govuk_json(ENGLAND_AND_WALES);
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{test}-bank-holidays.json"));
        std::fs::write(&path, &json).expect("writing the bank holidays file");
        b.open("/calendar");
        b.choose_file("#file", &path);
        b.click_through("form[enctype='multipart/form-data'] button[type=submit]");
        let notice = b.text("main [role=status]");
        assert!(
            notice.contains(&format!("from {test}-bank-holidays.json:")),
            "after loading the file: {notice:?}"
        );
        b.open("/calendar?from=2026-12-24&days=3");
        let sum = b.text("#working-day-sum");
        assert!(sum.contains("Mon 4 Jan 2027"), "the sum: {sum:?}");

        // The organisation's own policy, from its Word document (numbered automatically) to
        // clauses in force, without a file edited: asked what the document does not say.
        b.step("policy-import");
        b.open("/policy");
        b.click_through("#import-policy-link");
        b.wait_for_path("/policy/import");
        // The browser wants a canonical path.
        let document = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../document/tests/documents/meadow.docx")
            .canonicalize()
            .expect("the test document");
        b.choose_file("#field-document", &document);
        b.click_through("#import-policy");
        assert!(
            b.text("#field-approver-error")
                .contains("does not state who approved it"),
            "the approver is asked for"
        );
        b.choose_file("#field-document", &document);
        b.fill("#field-approver", "Board of Trustees");
        b.fill("#field-organisation", "Meadow Trust");
        b.click_through("#import-policy");
        b.wait_for_path("/policy/import");
        assert!(
            b.text("#imported-count").starts_with("7 clauses"),
            "the clauses found: {:?}",
            b.text("#imported-count")
        );
        let clauses = b.text("#imported-clauses tbody");
        assert!(
            clauses.contains("1.2(b)") && clauses.contains("encrypt the disk of every laptop"),
            "the clauses as numbered: {clauses:?}"
        );
        b.click_through("[id='pack-meadow-trust-device-policy-1.4-activate']");
        b.wait_for_path("/policy");
        assert!(
            b.text("main")
                .contains("Leavers' accounts are disabled on their last day."),
            "the policy is in force"
        );

        drop(b);
        server.stop();
    }
}

/// The next step's code: good once, as one step of clock drift is allowed, when this step's code
/// was spent by an earlier sign-in.
fn totp_next(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    Totp::from_base32(secret)
        .unwrap_or_else(|e| panic!("the TOTP secret {secret:?} is not base32: {e}"))
        .code_at(now + 30)
}

fn sign_in(b: &harness::Browser, email: &str, code: &str) {
    b.open("/login");
    b.fill("#email", email);
    b.fill("#password", STAFF_PASSWORD);
    b.click_through("button[type=submit]");
    b.wait_for_path("/mfa");
    b.fill("#code", code);
    b.click_through("button[type=submit]");
}

fn sign_out(b: &harness::Browser) {
    b.click_through("form.signout button[type=submit]");
    b.wait_for_path("/login");
}

const STAFF_PASSWORD: &str = "heather quarry lantern nine";

/// The failing findings of one control.
fn failing(steward: &Steward, control: &str) -> usize {
    steward
        .findings(&steward_service::FindingQuery {
            control: Some(control.into()),
            ..steward_service::FindingQuery::default()
        })
        .map(|f| f.len())
        .unwrap_or(usize::MAX)
}

#[test]
fn travel_approved_clears_the_abroad_finding_and_a_lost_phone_reaches_the_dashboard() {
    const ABROAD: &str = "device-abroad-has-approved-travel";
    for db in databases("browser") {
        let test = format!("travel_and_lost_phone-{}", db.backend);
        let steward = Steward::open(&db.url).expect("opening the test database");
        let stamp = Stamp::now("test");
        for p in [
            support::person("M1", "Morgan Manager", None),
            support::person("S1", "Sam Staff", Some("M1")),
            support::person("G1", "Gita Governance", None),
        ] {
            steward.create(&stamp, &p).expect("creating a person");
        }
        steward
            .create(
                &stamp,
                &steward_model::RoleGrant {
                    person_id: "G1".into(),
                    role: steward_model::Role::Governance,
                    granted_on: None,
                },
            )
            .expect("granting the governance role");
        let today = chrono::Utc::now().date_naive();
        steward
            .create(
                &stamp,
                &steward_model::Asset {
                    tag: "MOB1".into(),
                    kind: steward_model::AssetKind::Smartphone,
                    model: Some("iPhone".into()),
                    serial: None,
                    ownership: steward_model::Ownership::Organisation,
                    status: steward_model::AssetStatus::Allocated,
                    assigned_to: Some("S1".into()),
                    assigned_on: Some(today - chrono::Days::new(100)),
                    budget_centre: None,
                    cost_gbp: None,
                    encrypted: Some(true),
                    pin_set: Some(true),
                    hotspot_password_set: Some(true),
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
                },
            )
            .expect("creating the phone");
        // The phone was seen in France yesterday, with no travel approved.
        let seen = chrono::Utc::now() - chrono::TimeDelta::days(1);
        let seen = chrono::SubsecRound::trunc_subsecs(seen, 0);
        steward
            .create(
                &stamp,
                &steward_model::Sighting {
                    asset_tag: Some("MOB1".into()),
                    seen_at: seen,
                    country: "FR".parse().expect("a country"),
                    account_id: None,
                },
            )
            .expect("recording the sighting");
        let mut secrets = std::collections::BTreeMap::new();
        for (id, email) in [
            ("S1", "s1@example.org"),
            ("M1", "m1@example.org"),
            ("G1", "g1@example.org"),
        ] {
            steward
                .add_sign_in(&stamp, email, id, Some(id), STAFF_PASSWORD, &[])
                .expect("adding a sign-in");
            secrets.insert(
                id,
                steward
                    .enrol_authenticator(&stamp, email)
                    .expect("enrolling an authenticator"),
            );
        }
        let packs: Vec<steward_policy::Pack> = match steward_policy::builtin_pack("cafcass-it-5.0")
        {
            Some(Ok(pack)) => vec![pack],
            other => panic!("the built-in pack does not load: {other:?}"),
        };
        let refs: Vec<&steward_policy::Pack> = packs.iter().collect();
        let overrides = steward_policy::Overrides::default();
        steward
            .check_and_record(&stamp, &refs, &overrides)
            .expect("the first check");
        assert_eq!(
            failing(&steward, ABROAD),
            1,
            "the phone abroad is a finding"
        );

        let watcher = Steward::open(&db.url).expect("opening the database again");
        let server = Server::start_with(
            steward,
            steward_web::Options {
                packs: packs.clone(),
                overrides,
                ..steward_web::Options::default()
            },
        );
        let Some(b) = browser(&test, server.addr) else {
            return;
        };

        b.step("staff-raises-travel");
        sign_in(&b, "s1@example.org", &totp_now(&secrets["S1"]));
        b.wait_for_path("/me");
        b.open("/requests/new?type=international-travel");
        b.fill("#f-countries", "FR");
        // Date inputs now: set as their picker sets them.
        b.set_value("#f-depart_on", &(today - chrono::Days::new(3)).to_string());
        b.set_value("#f-return_on", &(today + chrono::Days::new(2)).to_string());
        b.click_through("main form[method=post] button[type=submit]");
        b.wait_for_path("/requests/REQ-000001");
        assert_eq!(b.text("#request-state"), "open");
        sign_out(&b);

        b.step("manager-approves");
        sign_in(&b, "m1@example.org", &totp_now(&secrets["M1"]));
        b.wait_for_path("/me");
        b.open("/requests/REQ-000001");
        b.click_through("#approve");
        assert_eq!(b.text("#request-state"), "approved");
        sign_out(&b);

        b.step("finding-clears");
        let cleared = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            failing(&watcher, ABROAD) == 0
        });
        assert!(
            cleared,
            "the abroad finding did not clear after the approval"
        );

        b.step("staff-reports-loss");
        sign_in(&b, "s1@example.org", &totp_next(&secrets["S1"]));
        b.wait_for_path("/me");
        b.open("/incidents/new");
        b.click("#type option[value='loss']");
        b.click("#asset_tag option[value='MOB1']");
        b.fill("#facts", "Left on a train");
        b.click_through("main form button[type=submit]");
        b.wait_for_path("/incidents/INC-000001");
        assert!(b.text("main h1").contains("loss"), "{}", b.text("main h1"));
        sign_out(&b);

        b.step("governance-dashboard");
        sign_in(&b, "g1@example.org", &totp_now(&secrets["G1"]));
        b.wait_for_path("/dashboard");
        let incidents = b.text("#open-incidents");
        assert!(
            incidents.contains("INC-000001") && incidents.contains("loss"),
            "the dashboard's incidents: {incidents:?}"
        );
        // In the organisation's zone (Europe/London when none is set), as its clocks show it.
        assert!(
            incidents.contains("GMT") || incidents.contains("BST"),
            "the incident's clock is shown: {incidents:?}"
        );
        drop(b);
        server.stop();
    }
}

/// Whether the page scrolls sideways, and how many lines of the body's text the header takes,
/// as the browser lays them out now.
fn layout(b: &harness::Browser) -> (i64, i64, f64) {
    let v = b.script(
        "const header = document.querySelector('header'); \
         const style = getComputedStyle(header); \
         const inner = header.getBoundingClientRect().height \
             - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom); \
         const line = parseFloat(getComputedStyle(document.body).lineHeight); \
         return [document.documentElement.scrollWidth, window.innerWidth, inner / line];",
    );
    (
        v[0].as_i64().unwrap_or(i64::MAX),
        v[1].as_i64().unwrap_or(0),
        v[2].as_f64().unwrap_or(f64::MAX),
    )
}

/// On a phone's screen (390 × 844 CSS pixels) every kind of page fits its width — tables scroll
/// in their own box — and the navigation folds behind "Menu", which opens without script.
#[test]
fn pages_fit_a_narrow_screen_and_the_navigation_folds() {
    const EMAIL: &str = "it@example.org";
    for db in databases("browser") {
        let test = format!("pages_fit_a_narrow_screen-{}", db.backend);
        let steward = Steward::open(&db.url).expect("opening the test database");
        let stamp = Stamp::now("test");
        // A demo organisation: real lengths of names, lists and tables.
        let today = chrono::Utc::now().date_naive();
        let estate = steward_demo::generate(&steward_demo::DemoOptions {
            people: 60,
            seed: 7,
            today,
            usage_months: 2,
        });
        steward
            .load_estate(&stamp, &estate)
            .expect("loading the demo organisation");
        let packs: Vec<steward_policy::Pack> = match steward_policy::builtin_pack("cafcass-it-5.0")
        {
            Some(Ok(pack)) => vec![pack],
            other => panic!("the built-in pack does not load: {other:?}"),
        };
        let refs: Vec<&steward_policy::Pack> = packs.iter().collect();
        steward
            .check_and_record(&stamp, &refs, &steward_policy::Overrides::default())
            .expect("the first check");
        let finding = steward
            .findings(&steward_service::FindingQuery::default())
            .expect("reading the findings")
            .into_iter()
            .next()
            .map(|f| f.finding.key())
            .expect("the demo has a finding");
        let asset = steward
            .list::<steward_model::Asset>()
            .expect("reading the assets")
            .into_iter()
            .find(|a| a.assigned_to.is_some())
            .map(|a| a.tag)
            .expect("the demo has an allocated asset");
        steward
            .add_sign_in(
                &stamp,
                EMAIL,
                "Ingrid Technician-Longname",
                None,
                STAFF_PASSWORD,
                &[
                    steward_service::Capacity::It,
                    steward_service::Capacity::Administrator,
                ],
            )
            .expect("adding the sign-in");
        let secret = steward
            .enrol_authenticator(&stamp, EMAIL)
            .expect("enrolling an authenticator");
        let server = Server::start_with(
            steward,
            steward_web::Options {
                packs,
                ..steward_web::Options::default()
            },
        );
        let Some(b) = browser(&test, server.addr) else {
            return;
        };

        b.step("narrow-sign-in");
        b.resize_viewport(390, 844);
        sign_in(&b, EMAIL, &totp_now(&secret));
        b.wait_for_path("/dashboard");

        let finding_href = format!(
            "/finding/{}",
            finding
                .split('/')
                .map(|p| p.replace('%', "%25").replace(' ', "%20"))
                .collect::<Vec<_>>()
                .join("/")
        );
        let pages = [
            "/dashboard".to_owned(),
            "/findings".to_owned(),
            finding_href,
            "/assets".to_owned(),
            format!("/register/asset/{asset}"),
            "/people".to_owned(),
            "/import".to_owned(),
            "/import?register=assets".to_owned(),
            "/governance".to_owned(),
            "/requests/new?type=international-travel".to_owned(),
            "/incidents/new".to_owned(),
            "/calendar".to_owned(),
            "/admin/sign-ins".to_owned(),
            "/admin/organisation".to_owned(),
        ];
        for path in &pages {
            b.step(&format!("narrow{path}"));
            b.open(path);
            b.find("main h1");
            let (scroll, inner, header_lines) = layout(&b);
            assert_eq!(inner, 390, "{path}: the viewport");
            assert!(
                scroll <= inner,
                "{path}: the page scrolls sideways: {scroll} px wide in a {inner} px window"
            );
            assert!(
                header_lines <= 2.0,
                "{path}: the header takes {header_lines:.1} lines with the menu folded"
            );
            let links = b.texts("header nav a");
            assert!(
                links.iter().all(|t| t.is_empty()),
                "{path}: the folded menu shows {links:?}"
            );
            assert_eq!(b.text("header .menu > summary"), "Menu", "{path}");
        }

        // The menu opens by itself, without script, and then shows every link.
        b.step("narrow-menu-open");
        b.open(&format!("/register/asset/{asset}"));
        b.click("header .menu > summary");
        let links = b.texts(".menu nav a");
        assert!(
            links.iter().any(|t| t == "Equipment") && links.iter().all(|t| !t.is_empty()),
            "the open menu shows {links:?}"
        );
        let (scroll, inner, _) = layout(&b);
        assert!(scroll <= inner, "the open menu is {scroll} px wide");
        b.click_through(".menu nav a[href='/findings']");
        b.wait_for_path("/findings");

        // A wide screen shows the navigation whole, with no "Menu" to open.
        b.step("wide");
        b.resize_viewport(1280, 900);
        b.open("/dashboard");
        let links = b.texts(".bar nav a");
        assert!(
            links.iter().any(|t| t == "Equipment") && links.iter().all(|t| !t.is_empty()),
            "the wide navigation shows {links:?}"
        );
        assert_eq!(
            b.text("header .menu > summary"),
            "",
            "a wide screen shows Menu"
        );
        let (scroll, inner, _) = layout(&b);
        assert!(scroll <= inner, "the wide dashboard is {scroll} px wide");

        drop(b);
        server.stop();
    }
}

/// axe-core's source (`STEWARD_AXE`, the path of `axe.min.js`, which `.ci/run` installs from the
/// npm registry): `None`, and the test skipped, when it is not there — except under CI.
fn axe_source(test: &str) -> Option<String> {
    let path = std::env::var("STEWARD_AXE").unwrap_or_default();
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: cannot read axe-core at STEWARD_AXE={path:?}: {e}. CI must run the \
                 accessibility scan: .ci/run installs axe-core"
            );
            eprintln!("{test}: skipped: no axe-core (set STEWARD_AXE to axe.min.js)");
            None
        }
    }
}

/// The WCAG 2.1 A and AA failures axe-core finds on the page open now, each with where.
fn axe_violations(b: &harness::Browser, axe: &str) -> Vec<String> {
    // Injected by the driver, which the page's CSP does not govern; run asynchronously, its
    // answer left on the window and read when ready.
    b.script(&format!("{axe}\n;return true;"));
    b.script(
        "window.__axe = null;
         axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
           .then(r => { window.__axe = r.violations.map(v => v.id + ': ' + v.help + ' — ' +
             v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')); })
           .catch(e => { window.__axe = ['axe failed: ' + e]; });
         return true;",
    );
    for _ in 0..200 {
        let found = b.script("return window.__axe;");
        if let Some(list) = found.as_array() {
            return list
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    vec!["axe-core gave no answer within 10 s".to_owned()]
}

/// Every page type, as the roles that use it, on a demo organisation: no WCAG 2.1 A or AA
/// failure that axe-core can find.
#[test]
fn no_page_type_fails_an_automated_accessibility_scan() {
    let test = "no_page_type_fails_an_automated_accessibility_scan";
    let Some(axe) = axe_source(test) else {
        return;
    };
    // The pages do not depend on the backend: SQLite alone.
    let db = steward_store::testing::sqlite("browser_axe");
    let steward = Steward::open(&db.url).expect("opening the test database");
    let packs = support::demo::packs();
    let logins = support::demo::seed(&steward, &packs);
    let finding = steward
        .findings(&steward_service::FindingQuery {
            limit: Some(1),
            ..steward_service::FindingQuery::default()
        })
        .expect("findings")
        .into_iter()
        .next()
        .map(|f| f.finding.key())
        .expect("the demo has a finding");
    // Single sign-on set up, so that the sign-in page shows its buttons too (the provider is
    // never reached: no one presses them).
    let sso = [
        steward_service::Provider::Microsoft,
        steward_service::Provider::Google,
    ]
    .map(|provider| {
        let settings = steward_service::ProviderSettings {
            provider,
            client_id: "steward".into(),
            client_secret: "secret".into(),
            tenant: Some("11111111-2222-3333-4444-555555555555".into()),
            hosted_domain: Some("example.org".into()),
            issuer: Some("http://127.0.0.1:9/issuer".into()),
            trust_mfa: false,
        };
        let back = format!("http://127.0.0.1:9/auth/{}/callback", provider.as_str());
        std::sync::Arc::new(steward_service::Sso::new(settings, &back).expect("settings"))
    });
    let server = Server::start_with(
        steward,
        steward_web::Options {
            packs,
            sso: sso.to_vec(),
            ..Default::default()
        },
    );
    let Some(b) = browser(test, server.addr) else {
        return;
    };
    let mut failures = Vec::new();
    b.step("the sign-in page");
    b.open("/login");
    assert_eq!(b.text("#sso-google"), "Sign in with Google");
    for v in axe_violations(&b, &axe) {
        failures.push(format!("/login: {v}"));
    }
    let pages: &[(&str, &[&str])] = &[
        (
            "administrator",
            &[
                "/dashboard",
                "/findings",
                "/people",
                "/assets",
                "/accounts",
                "/registers",
                "/registers/usage",
                "/register/person/P000001",
                "/policy",
                "/policy/import",
                "/policy/frameworks",
                "/requests",
                "/requests/new?type=international-travel",
                "/incidents",
                "/incidents/new",
                "/calendar",
                "/governance",
                "/import",
                "/connectors",
                "/connectors?kind=google-workspace",
                "/connectors?kind=csv",
                "/jobs",
                "/audit",
                "/admin/sign-ins",
                "/admin/webhooks",
                "/admin/organisation",
                "/account/password",
                "/account/tokens",
                "/api/v1/reference",
                "/me",
            ],
        ),
        ("line_manager", &["/me", "/team"]),
    ];
    for (role, paths) in pages {
        let (_, email, secret) = logins
            .iter()
            .find(|(r, _, _)| r == role)
            .unwrap_or_else(|| panic!("no {role} in the demo"));
        b.step(&format!("sign in as {role}"));
        b.open("/login");
        b.fill("#email", email);
        b.fill("#password", support::PASSWORD);
        b.click_through("form[action='/login'] button[type=submit]");
        b.wait_for_path("/mfa");
        b.fill("#code", &totp_now(secret));
        b.click_through("button[type=submit]");
        let finding_page = format!("/finding/{finding}");
        let team_page = if *role == "line_manager" {
            let team = b.script(
                "const a = document.querySelector('a[href^=\"/team/\"]'); return a ? a.getAttribute('href') : null;",
            );
            team.as_str().map(str::to_owned)
        } else {
            None
        };
        let extra: Vec<String> = if *role == "administrator" {
            vec![finding_page]
        } else {
            Vec::new()
        };
        for path in paths
            .iter()
            .map(|p| (*p).to_owned())
            .chain(extra)
            .chain(team_page)
        {
            b.step(&format!("{role} {path}"));
            b.open(&path);
            for v in axe_violations(&b, &axe) {
                failures.push(format!("{role} {path}: {v}"));
            }
        }
        sign_out(&b);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    drop(b);
    server.stop();
}

/// Waits, reading the database, until job `id` has ended; its state then.
fn job_ended(steward: &Steward, id: i64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let job = steward
            .job(&Stamp::now("test"), id)
            .unwrap_or_else(|e| panic!("job {id}: {e}"));
        if job.job.state.is_finished() {
            return job.job.state.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {id} still {} after a minute",
            job.job.state
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The job the browser was sent to: its id, once the browser is on its page.
fn job_shown(b: &harness::Browser) -> i64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let path = b.path();
        if let Some(id) = path.strip_prefix("/jobs/").and_then(|n| n.parse().ok()) {
            return id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not sent to a job: on {path}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// An IT person connects Microsoft 365 (a stand-in of Microsoft Graph on loopback) from the
/// Connectors page: adds it, syncs it — a job, run by the server's job thread — reads the first
/// sync's preview, applies it, and finds the tenant's people on the registers. The Connectors
/// pages, the form, a preview waiting and a connector with none pass axe-core's scan.
#[test]
fn an_it_person_connects_microsoft_365_and_applies_the_first_sync() {
    const TENANT: &str = "contoso.onmicrosoft.com";
    const SECRET: &str = "Zq8~browser-client-secret";
    const USERS: usize = 15;
    for db in databases("browser") {
        let test = format!(
            "an_it_person_connects_microsoft_365_and_applies_the_first_sync-{}",
            db.backend
        );
        let steward = Steward::open(&db.url).expect("opening the test database");
        let stamp = Stamp::now("test");
        let mut it = support::person("IT1", "Iris Tech", None);
        it.email = Some("iris.tech@charity.test".into());
        steward.create(&stamp, &it).expect("creating the IT person");
        steward
            .create(
                &stamp,
                &steward_model::RoleGrant {
                    person_id: "IT1".into(),
                    role: steward_model::Role::It,
                    granted_on: None,
                },
            )
            .expect("granting the IT role");
        const EMAIL: &str = "iris.tech@charity.test";
        steward
            .add_sign_in(&stamp, EMAIL, "Iris Tech", Some("IT1"), STAFF_PASSWORD, &[])
            .expect("adding the sign-in");
        let secret = steward
            .enrol_authenticator(&stamp, EMAIL)
            .expect("enrolling an authenticator");
        let source = steward_vendors::Server::microsoft_graph(
            steward_vendors::Tenant::generate(USERS, 8, 3),
            steward_vendors::Faults::default(),
            steward_vendors::Credentials::microsoft(TENANT, "app-id", SECRET),
        )
        .expect("the Graph stand-in on loopback");
        let base = source.base_url();
        // The server's own, and one for this test to read the jobs through.
        let reader = Steward::open(&db.url).expect("opening the test database again");
        let server = Server::start(steward);
        let Some(b) = browser(&test, server.addr) else {
            return;
        };
        let axe = axe_source(&test);
        let mut failures = Vec::new();
        let mut scan = |b: &harness::Browser, what: &str| {
            if let Some(axe) = &axe {
                for v in axe_violations(b, axe) {
                    failures.push(format!("{what}: {v}"));
                }
            }
        };

        b.step("sign in");
        sign_in(&b, EMAIL, &totp_now(&secret));

        b.step("connectors");
        b.open("/connectors");
        assert!(
            b.text("#no-connectors").contains("No connector"),
            "a fresh list"
        );
        scan(&b, "/connectors");
        b.set_value("#field-kind", "microsoft365");
        b.click_through("form[action='/connectors#add'] button[type=submit]");
        assert_eq!(b.text("#add"), "Add a Microsoft 365 connector");
        scan(&b, "/connectors?kind=microsoft365");

        b.step("add");
        b.fill("#field-name", "m365");
        b.fill("#field-tenant", TENANT);
        b.fill("#field-client_id", "app-id");
        b.fill("#field-base_url", &base);
        b.fill(
            "#field-token_url",
            &format!("{base}/{TENANT}/oauth2/v2.0/token"),
        );
        b.fill("#field-secret", SECRET);
        b.click_through("#connector-form button[type=submit]");
        b.wait_for_path("/connectors/m365");
        assert_eq!(b.text("#credential"), "sealed");
        scan(&b, "/connectors/m365 with nothing waiting");

        b.step("sync now");
        b.click_through("#sync");
        let job = job_shown(&b);
        assert_eq!(job_ended(&reader, job), "done", "the sync's job");
        b.open(&format!("/jobs/{job}"));
        assert!(
            b.text("main ul[aria-label='What it did']")
                .contains("m365 was read but not applied"),
            "the first sync stops at its preview"
        );

        b.step("preview");
        b.click_through("main a[href='/connectors/m365']");
        b.wait_for_path("/connectors/m365");
        assert!(
            b.text("#hold").contains("first sync"),
            "why the preview waits"
        );
        let created = b.text("#preview-created caption");
        assert!(created.starts_with("To create:"), "{created:?}");
        scan(&b, "/connectors/m365 with a preview waiting");
        assert!(
            !b.script("return document.documentElement.outerHTML;")
                .as_str()
                .unwrap_or_default()
                .contains(SECRET),
            "the credential is in the page"
        );

        b.step("apply");
        b.click_through("#apply");
        let job = job_shown(&b);
        assert_eq!(job_ended(&reader, job), "done", "the apply's job");
        b.open(&format!("/jobs/{job}"));
        let did = b.text("main ul[aria-label='What it did']");
        assert!(did.contains("Synced m365:"), "{did:?}");

        b.step("people");
        b.open("/registers");
        let people = b.script(
            "const row = [...document.querySelectorAll('main tbody tr')]
               .find(r => r.cells[0].textContent.trim() === 'people');
             return row ? row.cells[1].textContent.trim() : null;",
        );
        assert_eq!(
            people.as_str(),
            Some((USERS + 1).to_string().as_str()),
            "the tenant's people and the IT person"
        );
        b.open("/connectors");
        assert!(
            b.text("#connectors tbody").contains("synced:"),
            "the list says how the last run ended"
        );

        // A spreadsheet of laptops, one of them a user's who is nobody here: uploaded, and
        // resolved to the IT person through the person picker.
        b.step("resolve");
        let profile = "name = \"laptops\"\ntarget = \"devices\"\n\n[columns]\nserial = \"Serial\"\nholder_email = \"User\"\n";
        let laptops = steward_connect::Definition::new(
            "laptops",
            steward_connect::Kind::Csv,
            [("profile".to_owned(), profile.to_owned())].into(),
        )
        .expect("the laptops connector's settings");
        reader
            .save_connector(&Stamp::now("test"), &laptops, None)
            .expect("adding the laptops connector");
        let path =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{test}-laptops.csv"));
        std::fs::write(&path, "Serial,User\nPF3K9Z2A,j.okafor@charity.test\n")
            .expect("writing the laptops file");
        b.open("/connectors/laptops");
        b.choose_file("#field-file", &path);
        b.click_through("form[action='/connectors/laptops/file'] button[type=submit]");
        let job = job_shown(&b);
        assert_eq!(job_ended(&reader, job), "done", "the upload's job");
        b.open("/connectors/laptops?find=Iris#unmatched");
        assert_eq!(b.text("#preview-unmatched caption"), "1 to resolve");
        scan(&b, "/connectors/laptops with a record to resolve");
        b.click_through("#resolve-0 button[type=submit]");
        assert!(
            b.text("#preview-unmatched tbody")
                .contains("Decided: linked to IT1"),
            "the decision is shown"
        );

        // The laptops file mapped on screen: its rows shown, then previewed as they map.
        b.step("mapping");
        b.open("/connectors/laptops");
        b.choose_file("#field-sample-file", &path);
        b.click_through("#map-file");
        assert!(
            b.text("#sample-rows tbody").contains("PF3K9Z2A"),
            "the sample's rows are shown"
        );
        scan(&b, "/connectors/laptops/mapping");
        b.click_through("#mapping-preview");
        assert!(
            b.text("#mapped-rows tbody")
                .contains("j.okafor@charity.test"),
            "the rows as they map"
        );
        scan(&b, "/connectors/laptops/mapping/preview");

        assert!(failures.is_empty(), "{}", failures.join("\n"));
        drop(b);
        server.stop();
        drop(source);
    }
}

/// The count a findings list's caption gives, once the check run after a change has recorded
/// `expected` (the run is a job: the page is asked again until it agrees, or the wait ends).
fn findings_shown(b: &harness::Browser, path: &str, expected: usize) -> usize {
    let started = std::time::Instant::now();
    loop {
        b.open(path);
        let caption = b.text("main table caption");
        let shown: usize = caption
            .split_whitespace()
            .next()
            .and_then(|n| n.replace(',', "").parse().ok())
            .unwrap_or(usize::MAX);
        if shown == expected || started.elapsed() > std::time::Duration::from_secs(20) {
            return shown;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The number a mapping preview announces.
fn previewed(b: &harness::Browser) -> usize {
    let text = b.text("#map-preview strong");
    text.parse()
        .unwrap_or_else(|_| panic!("the preview's count: {text:?}"))
}

#[test]
fn a_new_organisation_maps_its_own_policy_to_library_controls_and_sees_what_they_find() {
    let test = "map_own_policy";
    // The pages do not depend on the backend: SQLite alone.
    let db = steward_store::testing::sqlite("browser_map");
    let steward = Steward::open(&db.url).expect("opening the test database");
    let logins = support::demo::seed(&steward, &[]);
    let server = Server::start(steward);
    let Some(b) = browser(test, server.addr) else {
        return;
    };
    let (_, email, secret) = logins
        .iter()
        .find(|(r, _, _)| *r == "administrator")
        .expect("the demo's administrator");
    b.step("sign in");
    b.open("/login");
    b.fill("#email", email);
    b.fill("#password", support::PASSWORD);
    b.click_through("button[type=submit]");
    b.wait_for_path("/mfa");
    b.fill("#code", &totp_now(secret));
    b.click_through("button[type=submit]");

    b.step("import");
    b.open("/policy/import");
    let document = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../document/tests/documents/meadow.docx")
        .canonicalize()
        .expect("the test document");
    b.choose_file("#field-document", &document);
    b.fill("#field-approver", "Board of Trustees");
    b.fill("#field-organisation", "Meadow Trust");
    b.click_through("#import-policy");
    b.wait_for_path("/policy/import");

    // Three clauses mapped: each control found by a search, previewed, saved.
    let mut counts = Vec::new();
    for (row, clause, search, control) in [
        (
            "clause-1-1",
            "1.1",
            "connects",
            "devices-connected-within-n-days",
        ),
        (
            "clause-2-1",
            "2.1",
            "multi-factor supports",
            "accounts-use-mfa-where-supported",
        ),
        (
            "clause-2-2",
            "2.2",
            "leaver accounts",
            "leavers-accounts-disabled",
        ),
    ] {
        b.step(&format!("map {clause}"));
        b.open("/policy/import?pack=meadow-trust-device-policy-1.4");
        b.click_through(&format!("#map-{row}"));
        b.fill("#q", search);
        b.click_through("#search-library");
        b.click(&format!("#control-{control}"));
        b.click_through("#choose-control");
        b.click_through("#map-preview-button");
        let count = previewed(&b);
        b.click_through("#map-save");
        b.wait_for_path("/policy/import");
        assert!(
            b.text(&format!("#imported-{row}")).contains(control),
            "{clause} shows its control"
        );
        counts.push((control, count));
    }
    assert!(
        counts.iter().any(|(_, n)| *n > 0),
        "the demo estate fails some of these: {counts:?}"
    );

    b.step("run");
    b.click_through("[id='pack-meadow-trust-device-policy-1.4-activate']");
    b.wait_for_path("/policy");
    for (control, count) in &counts {
        let path = format!("/findings?pack=meadow-trust-device-policy-1.4&control={control}");
        assert_eq!(
            findings_shown(&b, &path, *count),
            *count,
            "{control}: the findings the preview said"
        );
    }

    // A parameter changed: 1.1 allows 60 days, and the findings follow.
    b.step("change a parameter");
    b.open("/policy/map?pack=meadow-trust-device-policy-1.4&clause=1.1&control=devices-connected-within-n-days");
    assert_eq!(
        b.script("return document.querySelector('#field-param-device_offline_days').value;"),
        serde_json::json!("14"),
        "the value in force"
    );
    b.fill("#field-param-device_offline_days", "60");
    b.click_through("#map-preview-button");
    let fewer = previewed(&b);
    let before = counts[0].1;
    assert!(
        fewer < before,
        "60 days finds fewer than 14: {fewer} < {before}"
    );
    b.click_through("#map-save");
    b.wait_for_path("/policy/import");
    let path =
        "/findings?pack=meadow-trust-device-policy-1.4&control=devices-connected-within-n-days";
    assert_eq!(
        findings_shown(&b, path, fewer),
        fewer,
        "the findings follow the parameter"
    );

    drop(b);
    server.stop();
}
