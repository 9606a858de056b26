//! Lists that scale: the findings list paged with `after=`, page after page, shows every finding
//! its count says exactly once, in each order offered, and its CSV download holds exactly the
//! filtered view — on a demo organisation, on every test database. And the pickers that find
//! people and equipment in them rather than have ids typed: bounded, escaped, and no wider than
//! the viewer may choose.

mod support;

use std::collections::HashSet;

use steward_store::testing::databases;
use support::demo::serve_as;

/// The findings' own links on a page of the list: one per row.
fn finding_links(html: &str) -> Vec<String> {
    html.split("href=\"/finding/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The count the list's caption gives.
fn total(html: &str) -> usize {
    let caption = html
        .split("<caption>")
        .nth(1)
        .and_then(|c| c.split(' ').next())
        .unwrap_or_default();
    caption
        .parse()
        .unwrap_or_else(|_| panic!("no count in the caption: {caption:?}"))
}

fn href_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag_start = html[..at].rfind("<a ")?;
    let tag = &html[tag_start..];
    tag.split("href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|h| h.replace("&amp;", "&").replace("&#38;", "&"))
}

#[test]
fn the_findings_list_pages_through_every_finding_in_every_order() {
    for db in databases("web_lists") {
        let b = db.backend;
        let (server, mut it, _steward) = serve_as(&db, "it");

        for (filter, order) in [
            ("", "severity"),
            ("", "oldest"),
            ("", "newest"),
            ("", "clause"),
            ("severity=high&", "severity"),
        ] {
            let mut page = it.get(&format!("/findings?{filter}sort={order}"));
            assert_eq!(page.status, 200, "{b}: {}", page.body);
            let count = total(&page.body);
            let mut seen: Vec<String> = Vec::new();
            let mut pages = 1;
            loop {
                seen.extend(finding_links(&page.body));
                let Some(next) = href_of(&page.body, "next-page") else {
                    break;
                };
                let later = it.get(&next);
                assert!(
                    href_of(&later.body, "first-page").is_some(),
                    "{b}: a later page links back to the first: {next}: {}",
                    later.body
                );
                page = it.get(&next);
                assert_eq!(page.status, 200, "{b}: {next}");
                pages += 1;
                assert!(pages < 100, "{b}: the pages never end");
            }
            let distinct: HashSet<&String> = seen.iter().collect();
            assert_eq!(
                distinct.len(),
                seen.len(),
                "{b}: {order}: a finding on two pages"
            );
            assert_eq!(
                seen.len(),
                count,
                "{b}: {filter}{order}: every finding once"
            );
            if filter.is_empty() && order == "severity" {
                assert!(
                    pages > 1,
                    "{b}: the demo has more findings than one page ({count})"
                );
            }
            // The download is the filtered view: one line per finding and the header.
            let csv = it.get(&format!("/findings.csv?{filter}sort={order}"));
            assert_eq!(csv.status, 200, "{b}");
            let lines = csv.body.lines().count();
            assert!(
                lines > count,
                "{b}: {lines} lines for {count} findings in the CSV"
            );
        }
        // An order the list does not offer is refused, not guessed.
        assert_eq!(it.get("/findings?sort=nonsense").status, 400, "{b}");
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// The record links of a page of a register list: its rows.
fn record_links(html: &str) -> Vec<String> {
    let body = html.split("<tbody>").nth(1).unwrap_or_default();
    let body = body.split("</tbody>").next().unwrap_or_default();
    body.split("<tr>")
        .skip(1)
        .filter_map(|row| {
            row.split("href=\"/register/")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_owned)
        })
        .collect()
}

/// The addresses a list's column headers order it by.
fn orders(html: &str) -> Vec<String> {
    let head = html.split("<thead>").nth(1).unwrap_or_default();
    let head = head.split("</thead>").next().unwrap_or_default();
    head.split("href=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(|h| h.replace("&amp;", "&").replace("&#38;", "&"))
        .collect()
}

#[test]
fn every_register_list_pages_and_sorts_through_every_row() {
    for db in databases("web_register_lists") {
        let b = db.backend;
        let (server, mut it, _steward) = serve_as(&db, "it");
        let mut multi_page = false;
        for list in [
            "/people",
            "/assets",
            "/accounts",
            "/registers/usage",
            "/registers/roles",
        ] {
            let first = it.get(list);
            assert_eq!(first.status, 200, "{b}: {list}");
            let sorts = orders(&first.body);
            assert!(!sorts.is_empty(), "{b}: {list} offers no order");
            for start in std::iter::once(list.to_owned()).chain(sorts) {
                let mut page = it.get(&start);
                assert_eq!(page.status, 200, "{b}: {start}: {}", page.body);
                let count = total(&page.body);
                let mut seen: Vec<String> = Vec::new();
                let mut pages = 0;
                loop {
                    pages += 1;
                    assert!(pages < 200, "{b}: {start}: the pages never end");
                    seen.extend(record_links(&page.body));
                    let Some(next) = href_of(&page.body, "next-page") else {
                        break;
                    };
                    page = it.get(&next);
                    assert_eq!(page.status, 200, "{b}: {next}");
                }
                multi_page |= pages > 1;
                let distinct: HashSet<&String> = seen.iter().collect();
                assert_eq!(
                    distinct.len(),
                    seen.len(),
                    "{b}: {start}: a row on two pages"
                );
                assert_eq!(seen.len(), count, "{b}: {start}: every row once");
            }
        }
        assert!(multi_page, "{b}: no list had a second page to follow");
        assert_eq!(
            it.get("/people?sort=start_date").status,
            400,
            "{b}: not a text column"
        );
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

#[test]
fn the_audit_log_pages_back_to_its_first_record() {
    for db in databases("web_audit_pages") {
        let b = db.backend;
        let (server, mut g, steward) = serve_as(&db, "governance");
        let head = steward
            .store()
            .audit_head()
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .0;
        let mut page = g.get("/audit");
        let mut seqs: Vec<i64> = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages < 500, "{b}: the pages never end");
            let body = page.body.split("<tbody>").nth(1).unwrap_or_default();
            seqs.extend(
                body.split("<tr><td>")
                    .skip(1)
                    .filter_map(|r| r.split("</td>").next().and_then(|n| n.parse::<i64>().ok())),
            );
            let Some(next) = href_of(&page.body, "next-page") else {
                break;
            };
            page = g.get(&next);
            assert_eq!(page.status, 200, "{b}: {next}");
        }
        assert!(pages > 1, "{b}: {head} records fit one page");
        // Newest first, every record once, back to the first (signing in adds records after
        // the head was read, so there may be more than it).
        assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{b}: out of order");
        assert_eq!(seqs.last().copied(), Some(1), "{b}");
        assert!(seqs.len() as i64 >= head, "{b}: {} of {head}", seqs.len());
        assert_eq!(
            seqs[0] - seqs[seqs.len() - 1] + 1,
            seqs.len() as i64,
            "{b}: a gap"
        );
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// Every count of findings and requests on the dashboard links to a list, and that list counts
/// the same.
#[test]
fn every_dashboard_number_leads_to_a_list_of_that_many() {
    for db in databases("web_dashboard_numbers") {
        let b = db.backend;
        let (server, mut it, _steward) = serve_as(&db, "it");
        let dashboard = it.get("/dashboard");
        assert_eq!(dashboard.status, 200, "{b}");
        // Each link to the findings list, with the number it shows.
        let mut numbers: Vec<(String, usize)> = Vec::new();
        for list in ["/findings?", "/requests?"] {
            for piece in dashboard.body.split(&format!("<a href=\"{list}")).skip(1) {
                let Some((query, rest)) = piece.split_once("\">") else {
                    continue;
                };
                let Some(text) = rest.split("</a>").next() else {
                    continue;
                };
                if let Ok(n) = text.trim().parse::<usize>() {
                    let query = query.replace("&amp;", "&").replace("&#38;", "&");
                    numbers.push((format!("{list}{query}"), n));
                }
            }
        }
        assert!(
            numbers.len() >= 10,
            "{b}: the dashboard links only {} numbers: {numbers:?}",
            numbers.len()
        );
        for (href, n) in &numbers {
            let list = it.get(href);
            assert_eq!(list.status, 200, "{b}: {href}");
            assert_eq!(total(&list.body), *n, "{b}: {href} shows a different count");
        }
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// Raising a request for anyone, IT finds the person by name instead of typing their id.
#[test]
fn it_finds_the_person_a_request_is_for_by_name() {
    for db in databases("web_person_picker") {
        let b = db.backend;
        let (server, mut it, steward) = serve_as(&db, "it");
        let someone: steward_model::Person = steward
            .get("P000001")
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: no P000001"));
        let surname = someone
            .name
            .split(' ')
            .next_back()
            .unwrap_or_default()
            .to_owned();
        let page = it.get(&format!(
            "/requests/new?type=international-travel&find={}",
            surname.to_lowercase()
        ));
        assert_eq!(page.status, 200, "{b}");
        assert!(
            page.body.contains("<select")
                && page.body.contains(&format!("value=\"{}\"", someone.id)),
            "{b}: {} is offered: {}",
            someone.id,
            page.body
        );
        let none = it.get("/requests/new?type=international-travel&find=zzzz-nobody");
        assert!(none.body.contains("Nobody"), "{b}");
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// The sign-ins list finds an account by address or name and counts what it shows.
#[test]
fn the_sign_ins_list_finds_accounts_and_counts_them() {
    for db in databases("web_sign_in_list") {
        let b = db.backend;
        let (server, mut admin, steward) = serve_as(&db, "administrator");
        let all = steward
            .store()
            .sign_ins()
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let page = admin.get("/admin/sign-ins");
        assert_eq!(page.status, 200, "{b}");
        assert_eq!(total(&page.body), all.len(), "{b}: every account counted");
        let managers = all
            .iter()
            .filter(|a| {
                a.email.contains("line-manager")
                    || a.display_name.to_lowercase().contains("line-manager")
            })
            .count();
        let found = admin.get("/admin/sign-ins?find=LINE-manager");
        assert_eq!(
            total(&found.body),
            managers,
            "{b}: found by address, whatever the case"
        );
        assert!(managers >= 1 && managers < all.len(), "{b}");
        assert!(
            !found.body.contains("it@crawl.example.org"),
            "{b}: others are left out"
        );
        let none = admin.get("/admin/sign-ins?find=nobody-at-all");
        assert_eq!(total(&none.body), 0, "{b}");
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// What falls due pages through every item its count gives, each once, keeping the window asked
/// for.
#[test]
fn what_falls_due_pages_through_every_item() {
    for db in databases("web_due_pages") {
        let b = db.backend;
        let (server, mut governance, steward) = serve_as(&db, "governance");
        // Enough weekly tasks, never done, that what falls due runs to more than one page.
        let mut tasks = String::from("id,title,every_days\n");
        for n in 0..450 {
            tasks.push_str(&format!("TASK-{n:04},Check the office safe {n},7\n"));
        }
        steward
            .import(
                &steward_service::Stamp::now("test"),
                vec![steward_service::ImportFile {
                    register: steward_model::Register::Tasks,
                    label: "tasks.csv".into(),
                    bytes: tasks.into_bytes(),
                }],
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // A century ahead: every record's retention and every task's next date.
        let mut page = governance.get("/governance?within=36500");
        assert_eq!(page.status, 200, "{b}");
        let count = total(&page.body);
        let items = |html: &str| -> Vec<String> {
            html.split("<tbody>")
                .nth(1)
                .and_then(|t| t.split("</tbody>").next())
                .unwrap_or_default()
                .split("<tr>")
                .skip(1)
                .map(|r| r.split("</td>").take(3).collect::<Vec<_>>().join("|"))
                .collect()
        };
        let mut seen = items(&page.body);
        let mut pages = 1;
        while let Some(next) = href_of(&page.body, "next-page") {
            assert!(
                next.contains("within=36500"),
                "{b}: the window is kept: {next}"
            );
            page = governance.get(&next);
            assert_eq!(page.status, 200, "{b}: {next}");
            assert_eq!(total(&page.body), count, "{b}: the count holds on {next}");
            seen.extend(items(&page.body));
            pages += 1;
            assert!(pages < 100, "{b}: the pages never end");
        }
        assert!(
            pages > 1,
            "{b}: {count} items fit one page: the demo is too small to page"
        );
        assert_eq!(
            seen.len(),
            count,
            "{b}: every item once across {pages} pages"
        );
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), count, "{b}: no item twice");
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// The findings list filters by the dates findings began failing, on both sides, and refuses a
/// date it cannot read.
#[test]
fn findings_filter_by_the_dates_they_began_failing() {
    for db in databases("web_findings_dates") {
        let b = db.backend;
        let (server, mut it, steward) = serve_as(&db, "it");
        let all = total(&it.get("/findings").body);
        // Every finding of the demo began failing at its one check run, today (UTC).
        let today = chrono::Utc::now().date_naive();
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let first = steward
            .findings(&steward_service::FindingQuery::default())
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .iter()
            .map(|f| f.first_failing.date_naive())
            .min()
            .unwrap_or(today);
        let yesterday = first.pred_opt().unwrap_or(first);
        let tomorrow = today.succ_opt().unwrap_or(today);
        for (query, want) in [
            (
                format!("since_from={}&since_to={}", day(first), day(today)),
                all,
            ),
            (format!("since_to={}", day(yesterday)), 0),
            (format!("since_from={}", day(tomorrow)), 0),
            (format!("since_from={}&max_age=100", day(first)), all),
        ] {
            let page = it.get(&format!("/findings?{query}"));
            assert_eq!(page.status, 200, "{b}: {query}");
            assert_eq!(total(&page.body), want, "{b}: {query}");
            let csv = it.get(&format!("/findings.csv?{query}"));
            assert_eq!(
                csv.body.lines().count() - 1,
                want,
                "{b}: the CSV of {query}"
            );
        }
        assert!(all > 0, "{b}");
        let bad = it.get("/findings?since_from=30/11/2026");
        assert_eq!(bad.status, 400, "{b}");
        assert!(bad.body.contains("since_from"), "{b}: {}", bad.body);
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// The options of the `<select>` with this id, as written: value, label, and whether selected.
fn options(html: &str, id: &str) -> Vec<(String, String, bool)> {
    let marker = format!("<select id=\"{id}\"");
    let Some((_, rest)) = html.split_once(&marker) else {
        return Vec::new();
    };
    let inner = rest.split_once("</select>").map_or("", |(inner, _)| inner);
    inner
        .split("<option value=\"")
        .skip(1)
        .filter_map(|o| {
            let (value, rest) = o.split_once('"')?;
            let (attributes, rest) = rest.split_once('>')?;
            let label = rest.split_once("</option>").map_or(rest, |(l, _)| l);
            Some((
                value.to_owned(),
                label.to_owned(),
                attributes.contains("selected"),
            ))
        })
        .collect()
}

/// The subjects (`person P000012`, `asset LAP0003`) of a findings CSV download.
fn csv_subjects(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(3))
        .map(str::to_owned)
        .collect()
}

/// People and equipment are chosen, not typed: on the incident form, IT finds the person whose
/// equipment it concerns by part of their name and reports a loss of what they hold, chosen from
/// a select; a member of staff gets no search and lists only their own; the findings filter finds
/// a line manager by part of their name and then shows exactly their team's findings, the team
/// shown by name; hostile search text is escaped, matched as itself and cut short, and a search
/// offers at most 50 people, saying how many more match.
#[test]
fn people_and_equipment_are_chosen_not_typed() {
    use steward_model::{Asset, AssetStatus, Person, PersonStatus};
    use steward_service::{Among, Stamp, Steward};

    for db in databases("web_pickers") {
        let b = db.backend;
        let packs = support::demo::packs();
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let logins = support::demo::seed(&steward, &packs);
        let server = support::Server::start(
            &db.url,
            steward_web::Options {
                packs,
                ..Default::default()
            },
        );
        let accounts = steward
            .store()
            .sign_ins()
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let mut clients = std::collections::BTreeMap::new();
        let mut person_of = std::collections::BTreeMap::new();
        for role in ["it", "staff"] {
            let (_, email, secret) = logins
                .iter()
                .find(|(r, _, _)| *r == role)
                .unwrap_or_else(|| panic!("{b}: no {role} sign-in"));
            let mut client = server.client();
            let reply = client.sign_in(email, support::PASSWORD, secret);
            assert_eq!(reply.status, 303, "{b}: {role} signs in: {}", reply.body);
            clients.insert(role, client);
            let person = accounts
                .iter()
                .find(|a| a.email == *email)
                .and_then(|a| a.person_id.clone())
                .unwrap_or_else(|| panic!("{b}: {role} is no one"));
            person_of.insert(role, person);
        }

        let people: Vec<Person> = steward.list().unwrap_or_else(|e| panic!("{b}: {e}"));
        let assets: Vec<Asset> = steward.list().unwrap_or_else(|e| panic!("{b}: {e}"));
        let surname = |p: &Person| {
            p.name
                .split(' ')
                .next_back()
                .unwrap_or_default()
                .to_lowercase()
        };
        // Someone else, holding equipment in use: its tag, and everything they hold. (Names
        // in ASCII: SQLite's LOWER folds no other letters.)
        let (holder, tag) = assets
            .iter()
            .filter(|a| a.status == AssetStatus::Allocated)
            .find_map(|a| {
                let h = a.assigned_to.as_deref()?;
                let p = people.iter().find(|p| {
                    p.id == h
                        && p.status == PersonStatus::Active
                        && p.name.is_ascii()
                        && !person_of.values().any(|me| *me == p.id)
                })?;
                Some((p.clone(), a.tag.clone()))
            })
            .unwrap_or_else(|| panic!("{b}: nobody else holds equipment"));
        let held: Vec<String> = assets
            .iter()
            .filter(|a| a.assigned_to.as_deref() == Some(holder.id.as_str()))
            .map(|a| a.tag.clone())
            .collect();
        // A line manager whose team has findings, and the team: its people and what they hold.
        let managers: Vec<&Person> = people
            .iter()
            .filter(|m| m.name.is_ascii())
            .filter(|m| people.iter().any(|p| p.manager_id.as_ref() == Some(&m.id)))
            .collect();
        let it = clients.get_mut("it").unwrap_or_else(|| panic!("{b}"));
        let (manager, team_csv) = managers
            .iter()
            .find_map(|m| {
                let csv = it.get(&format!("/findings.csv?team={}", m.id)).body;
                (!csv_subjects(&csv).is_empty()).then(|| ((*m).clone(), csv))
            })
            .unwrap_or_else(|| panic!("{b}: no team has findings"));
        let reports: HashSet<&str> = people
            .iter()
            .filter(|p| p.manager_id.as_ref() == Some(&manager.id))
            .map(|p| p.id.as_str())
            .collect();
        let team: HashSet<String> = reports
            .iter()
            .map(|id| format!("person {id}"))
            .chain(
                assets
                    .iter()
                    .filter(|a| {
                        a.assigned_to
                            .as_deref()
                            .is_some_and(|h| reports.contains(h))
                    })
                    .map(|a| format!("asset {}", a.tag)),
            )
            .collect();
        // How many people a search for "e" matches: more than a search offers.
        let (_, matching_e) = steward
            .find_people(&Stamp::now("test"), Among::Everyone, "e", 1)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(matching_e > 50, "{b}: only {matching_e} match \"e\"");

        let hostile = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
        let long = "a".repeat(5_000);
        let cut = format!("value=\"{}\"", "a".repeat(200));
        let too_long = "a".repeat(201);
        let h = holder.id.as_str();
        let m = manager.id.as_str();
        let staff = person_of.get("staff").map_or("", String::as_str);
        let selected = |id: &str| format!("<option value=\"{id}\" selected>");
        let offered = |id: &str| format!("<option value=\"{id}\"");
        let search = "id=\"find\"".to_owned();
        let people_select = "<select id=\"person\"".to_owned();
        let asset_select = "<select id=\"asset_tag\"".to_owned();
        // Each page a role asks for, what it must hold and what it must not.
        let cases: Vec<(&str, String, Vec<String>, Vec<String>)> = vec![
            // IT finds the person by part of their name, chooses them and sees what they hold.
            (
                "it",
                "/incidents/new".into(),
                vec![search.clone(), "role=\"search\"".into()],
                vec![people_select.clone()],
            ),
            (
                "it",
                format!("/incidents/new?find={}", surname(&holder).to_uppercase()),
                vec![people_select.clone(), offered(h)],
                vec![],
            ),
            (
                "it",
                format!("/incidents/new?find={}&person={h}", surname(&holder)),
                vec![
                    selected(h),
                    asset_select.clone(),
                    offered(&tag),
                    format!("name=\"person\" value=\"{h}\""),
                ],
                vec![],
            ),
            // Named without a search (a refused report lists them again).
            (
                "it",
                format!("/incidents/new?person={h}"),
                vec![asset_select.clone(), offered(&tag)],
                vec![people_select.clone()],
            ),
            // Staff report for themselves: no search, and nobody else's equipment, whatever the
            // address asks.
            (
                "staff",
                "/incidents/new".into(),
                vec!["name=\"asset_tag\"".into(), "id=\"found_tag\"".into()],
                vec![search.clone(), people_select.clone()],
            ),
            (
                "staff",
                format!("/incidents/new?find={}&person={h}", surname(&holder)),
                vec![],
                vec![
                    search.clone(),
                    offered(h),
                    offered(&tag),
                    format!("value=\"{h}\""),
                ],
            ),
            (
                "staff",
                "/requests/new?type=international-travel&find=e".into(),
                vec![],
                vec![search.clone()],
            ),
            // The findings filter finds a line manager by part of their name, shows their team
            // by name, and keeps a team the search does not find.
            (
                "it",
                format!("/findings?team_find={}", surname(&manager).to_uppercase()),
                vec![
                    "<select id=\"team\"".into(),
                    offered(m),
                    format!("({m})</option>"),
                    selected(""),
                ],
                vec![],
            ),
            (
                "it",
                format!("/findings?team={m}"),
                vec![selected(m), format!("({m})</option>")],
                vec![],
            ),
            (
                "it",
                format!("/findings?team={m}&team_find=zzzz-nobody"),
                vec![selected(m), "Nobody who manages someone has".into()],
                vec![],
            ),
            // Someone who manages nobody is not offered as a team.
            (
                "it",
                format!("/findings?team_find={staff}"),
                vec!["Nobody who manages someone has".into()],
                vec![offered(staff)],
            ),
            // Hostile text: escaped wherever it is shown, never markup.
            (
                "it",
                format!("/incidents/new?find={hostile}"),
                vec!["script&#62;alert(1)".into(), "Nobody".into()],
                vec!["<script>alert(1)".into(), people_select.clone()],
            ),
            (
                "it",
                format!("/findings?team_find={hostile}&team={hostile}"),
                vec!["script&#62;alert(1)".into()],
                vec!["<script>alert(1)".into()],
            ),
            (
                "it",
                format!("/requests/new?type=international-travel&find={hostile}"),
                vec!["script&#62;alert(1)".into()],
                vec!["<script>alert(1)".into()],
            ),
            // `%` and `_` match themselves, not everyone.
            (
                "it",
                "/findings?team_find=%25".into(),
                vec!["Nobody who manages someone has".into()],
                vec![offered(m)],
            ),
            (
                "it",
                "/findings?team_find=_".into(),
                vec!["Nobody who manages someone has".into()],
                vec![offered(m)],
            ),
            (
                "it",
                "/incidents/new?find=_".into(),
                vec!["Nobody".into()],
                vec![people_select.clone()],
            ),
            // Very long text is cut to what the box takes.
            (
                "it",
                format!("/findings?team_find={long}"),
                vec![cut.clone()],
                vec![too_long.clone()],
            ),
            (
                "it",
                format!("/incidents/new?find={long}"),
                vec![cut.clone()],
                vec![too_long.clone()],
            ),
            // A search offers at most 50, and says how many more match.
            (
                "it",
                "/incidents/new?find=e".into(),
                vec![format!("{} more: narrow the search", matching_e - 50)],
                vec![],
            ),
        ];
        for (role, path, has, lacks) in &cases {
            let client = clients.get_mut(role).unwrap_or_else(|| panic!("{b}"));
            let page = client.get(path);
            let at = &path[..path.len().min(120)];
            assert_eq!(page.status, 200, "{b}: {role} {at}: {}", page.body);
            for want in has {
                assert!(
                    page.body.contains(want.as_str()),
                    "{b}: {role} {at} lacks {want:?}"
                );
            }
            for unwanted in lacks {
                assert!(
                    !page.body.contains(unwanted.as_str()),
                    "{b}: {role} {at} has {unwanted:?}"
                );
            }
        }
        let it = clients.get_mut("it").unwrap_or_else(|| panic!("{b}"));
        assert_eq!(
            options(&it.get("/incidents/new?find=e").body, "person").len(),
            50,
            "{b}: a search offers at most 50"
        );

        // The team's findings, and only theirs: on the page as in its download.
        let page = it.get(&format!("/findings?team={m}"));
        let subjects = csv_subjects(&team_csv);
        assert_eq!(total(&page.body), subjects.len(), "{b}: the team's count");
        assert!(
            total(&page.body) < total(&it.get("/findings").body),
            "{b}: a team is not everyone"
        );
        for s in &subjects {
            assert!(team.contains(s), "{b}: {s} is not {m}'s team's");
        }
        // What IT lists for the holder is exactly what they hold; reported lost, it is marked so.
        let form = format!("/incidents/new?find={}&person={h}", surname(&holder));
        let listed: Vec<String> = options(&it.get(&form).body, "asset_tag")
            .into_iter()
            .map(|(value, _, _)| value)
            .filter(|v| !v.is_empty())
            .collect();
        assert_eq!(listed, held, "{b}: what {h} holds");
        let lost = it.submit(
            &form,
            "/incidents",
            &[
                ("type", "loss"),
                ("person", h),
                ("asset_tag", &tag),
                ("facts", "Left on a train"),
            ],
        );
        assert_eq!(lost.status, 303, "{b}: {}", lost.body);
        assert!(lost.location().starts_with("/incidents/INC-"), "{b}");
        let asset: Asset = steward
            .get(&tag)
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: {tag} gone"));
        assert_eq!(asset.status, AssetStatus::Lost, "{b}: {tag}");
        // A refused report lists the same person's equipment again, to be put right.
        let refused = it.submit(&form, "/incidents", &[("type", "theft"), ("person", h)]);
        assert_eq!(refused.status, 422, "{b}: {}", refused.body);
        let again: Vec<String> = options(&refused.body, "asset_tag")
            .into_iter()
            .map(|(value, _, _)| value)
            .filter(|v| !v.is_empty())
            .collect();
        assert_eq!(again, held, "{b}: what {h} holds, again");

        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}
