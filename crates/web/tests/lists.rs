//! Lists that scale: the findings list paged with `after=`, page after page, shows every finding
//! its count says exactly once, in each order offered, and its CSV download holds exactly the
//! filtered view — on a demo organisation, on every test database.

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
