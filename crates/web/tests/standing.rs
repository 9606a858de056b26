//! Where each policy stands: the dashboard's share compliant per policy and per section agrees
//! with each control's own verdicts on every subject, and its red, amber and green follow the
//! thresholds the organisation sets — on every test database.

mod support;

use std::collections::HashSet;

use chrono::Utc;
use steward_engine::{At, Engine, Outcome};
use steward_model::Exception;
use steward_policy::{ControlKind, Overrides, Pack, section_of};
use steward_service::{Stamp, Steward, effective_params};
use steward_store::testing::databases;
use support::demo::{packs, serve_as};

/// (checked, failing) subjects of `pack`'s checks (those in `section`, or all for `None`),
/// decided one control at a time through the engine's per-subject verdicts.
fn expected(steward: &Steward, pack: &Pack, section: Option<&str>) -> (usize, usize) {
    let (data, time_zone) = steward.estate_data().unwrap_or_else(|e| panic!("{e}"));
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Europe::London);
    let now = Utc::now();
    let at = At {
        now,
        today: now.with_timezone(&tz).date_naive(),
    };
    let exceptions: Vec<Exception> = steward.list().unwrap_or_else(|e| panic!("{e}"));
    let params = effective_params(pack, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut checked = HashSet::new();
    let mut failing = HashSet::new();
    for clause in &pack.clauses {
        if section.is_some_and(|s| section_of(&clause.id) != s) {
            continue;
        }
        for control in &clause.controls {
            let ControlKind::Check(check) = &control.kind else {
                continue;
            };
            let kind = check.subject.name();
            let engine = Engine::only(pack, &control.id, params.clone())
                .unwrap_or_else(|e| panic!("{}: {e:?}", control.id));
            let outcomes = engine
                .outcomes(&control.id, &data, at)
                .unwrap_or_else(|| panic!("{} has no outcomes", control.id));
            for (id, outcome) in outcomes {
                if matches!(outcome, Outcome::OutOfScope) {
                    continue;
                }
                let key = (kind.to_owned(), id.clone());
                let excepted = exceptions.iter().any(|e| {
                    e.pack == pack.id
                        && e.clause == clause.id
                        && e.subject_type.as_str() == kind
                        && e.subject_id == id
                        && e.expires_on.is_none_or(|d| d >= at.now.date_naive())
                });
                if matches!(outcome, Outcome::Fires | Outcome::Undecided(_)) && !excepted {
                    failing.insert(key.clone());
                }
                checked.insert(key);
            }
        }
    }
    (checked.len(), failing.len())
}

/// The row of table `table` whose header cell reads `label`.
fn row<'a>(html: &'a str, table: &str, label: &str) -> &'a str {
    let start = html
        .find(&format!("<table id=\"{table}\""))
        .unwrap_or_else(|| panic!("no table {table}"));
    let body = &html[start..];
    let body = &body[..body.find("</table>").unwrap_or(body.len())];
    body.split("<tr>")
        .find(|r| r.contains(&format!(">{label}</th>")))
        .unwrap_or_else(|| panic!("no row {label:?} in {table}: {body}"))
}

#[test]
fn the_dashboard_says_where_each_policy_and_section_stands() {
    for db in databases("web_standing") {
        let b = db.backend;
        let (server, mut admin, steward) = serve_as(&db, "administrator");
        // Signing in made people of the accounts that are no one on the registers: the checks
        // run again over the estate as it now stands, as the server's next check would.
        let running = packs();
        let refs: Vec<&Pack> = running.iter().collect();
        steward
            .check_and_record(&Stamp::now("test"), &refs, &Overrides::default())
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let page = admin.get("/dashboard");
        assert_eq!(page.status, 200, "{b}");
        let mut shown = 0;
        for pack in packs() {
            let (checked, failing) = expected(&steward, &pack, None);
            assert!(checked > 0, "{b}: {} checks nothing in the demo", pack.id);
            let percent = (checked - failing) * 100 / checked;
            let r = row(&page.body, "policy-standing", &pack.title);
            assert!(
                r.contains(&format!("{percent} %"))
                    && r.contains(&format!("{checked} ({failing} failing)")),
                "{b}: {}: expected {percent} % of {checked} ({failing} failing): {r}",
                pack.id
            );
            for (section, title) in &pack.sections {
                let (checked, failing) = expected(&steward, &pack, Some(section));
                let label = format!("{section}. {title}");
                if checked == 0 {
                    assert!(
                        !page.body.contains(&format!(">{label}</th>")),
                        "{b}: {label} checks nothing yet has a standing"
                    );
                    continue;
                }
                let r = row(&page.body, "section-standing", &label);
                let percent = (checked - failing) * 100 / checked;
                assert!(
                    r.contains(&format!("{percent} %"))
                        && r.contains(&format!("{checked} ({failing} failing)")),
                    "{b}: {}: {label}: expected {percent} % of {checked} ({failing} failing): {r}",
                    pack.id
                );
                shown += 1;
            }
        }
        assert!(shown >= 4, "{b}: only {shown} sections have a standing");

        // The organisation's thresholds decide the colour: nothing short of 100 % is green…
        let strict = admin.submit(
            "/admin/organisation",
            "/admin/organisation",
            &[
                ("name", "Demo"),
                ("time_zone", "Europe/London"),
                ("compliance_green", "100"),
                ("compliance_amber", "100"),
            ],
        );
        assert_eq!(strict.status, 200, "{b}: {}", strict.body);
        let page = admin.get("/dashboard");
        let pack = &packs()[0];
        let r = row(&page.body, "policy-standing", &pack.title);
        assert!(
            r.contains("rag-red"),
            "{b}: under 100 % is red at 100/100: {r}"
        );
        assert!(
            page.body.contains("Green from 100 %, amber from 100 %"),
            "{b}"
        );
        // …or everything is.
        admin.submit(
            "/admin/organisation",
            "/admin/organisation",
            &[
                ("name", "Demo"),
                ("time_zone", "Europe/London"),
                ("compliance_green", "0"),
                ("compliance_amber", "0"),
            ],
        );
        let page = admin.get("/dashboard");
        let r = row(&page.body, "policy-standing", &pack.title);
        assert!(r.contains("rag-green"), "{b}: anything is green at 0: {r}");

        // Thresholds that make no sense are refused beside their field, and nothing changes.
        for (green, amber, field, reason) in [
            ("101", "50", "org-green", "at most 100"),
            ("70", "90", "org-amber", "amber must be lower"),
            ("ninety", "50", "org-green", "whole number"),
        ] {
            let refused = admin.submit(
                "/admin/organisation",
                "/admin/organisation",
                &[
                    ("name", "Demo"),
                    ("time_zone", "Europe/London"),
                    ("compliance_green", green),
                    ("compliance_amber", amber),
                ],
            );
            assert_eq!(
                refused.status, 422,
                "{b}: {green}/{amber}: {}",
                refused.body
            );
            let error = refused.text_of(&format!("{field}-error"));
            assert!(
                error.contains(reason),
                "{b}: {green}/{amber}: the error beside {field}: {error:?}"
            );
            let org = steward.organisation().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                org.thresholds(),
                (0, 0),
                "{b}: {green}/{amber} changed the thresholds"
            );
        }
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}
