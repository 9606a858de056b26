//! No dead ends: on a demo organisation, each role signs in and follows every link it is shown,
//! page after page, and none may lead to an error (4xx or 5xx). A link a role may not follow is a
//! link it should not have been shown.

mod support;

use std::collections::{BTreeMap, HashSet, VecDeque};

use steward_service::Steward;
use steward_store::testing::databases;
use support::Server;
use support::demo::{packs, seed};

/// The pages of one shape (first path segment, depth, query keys) a role visits at most: enough
/// to follow each kind of link, not every person's page.
const PER_SHAPE: usize = 15;
/// A bound on each role's walk, so that a page generating endless links cannot hang the suite.
const MOST_PAGES: usize = 1_000;

/// The targets of a page's `<a href>` links on this site, entities decoded, fragments dropped.
fn links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in html.split("<a ").skip(1) {
        let attributes = tag.split('>').next().unwrap_or_default();
        let Some(href) = attributes
            .split("href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let href = href
            .replace("&amp;", "&")
            .replace("&#38;", "&")
            .replace("&#x2F;", "/")
            .replace("&#x3D;", "=")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"");
        let href = href.split('#').next().unwrap_or_default().to_owned();
        if href.starts_with('/') && !href.starts_with("//") {
            found.push(href);
        }
    }
    found
}

/// What kind of page a path is, to bound how many of each kind are visited.
fn shape(path: &str) -> String {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let segments: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    let mut keys: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    format!(
        "{}|{}|{}",
        segments.first().copied().unwrap_or_default(),
        segments.len(),
        keys.join(",")
    )
}

#[test]
fn every_link_every_role_is_shown_leads_somewhere() {
    let packs = packs();
    for db in databases("web_crawl") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let logins = seed(&steward, &packs);
        let server = Server::start(
            &db.url,
            steward_web::Options {
                packs: packs.clone(),
                ..Default::default()
            },
        );
        let mut dead: Vec<String> = Vec::new();
        let mut visited_total = 0;
        for (role, email, secret) in &logins {
            let mut client = server.client();
            let reply = client.sign_in(email, support::PASSWORD, secret);
            assert_eq!(reply.status, 303, "{b}: {role} signs in: {}", reply.body);
            let mut seen: HashSet<String> = HashSet::new();
            let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
            let mut queue: VecDeque<(String, String)> = VecDeque::new();
            queue.push_back(("/".into(), "(start)".into()));
            seen.insert("/".into());
            let mut visited = 0;
            while let Some((path, from)) = queue.pop_front() {
                if visited >= MOST_PAGES {
                    break;
                }
                visited += 1;
                let mut reply = client.get(&path);
                let mut hops = 0;
                while reply.status == 303 && hops < 3 {
                    let next = reply.location().to_owned();
                    reply = client.get(&next);
                    hops += 1;
                }
                if reply.status >= 400 {
                    dead.push(format!(
                        "{role}: {path} (linked from {from}) answered {}",
                        reply.status
                    ));
                    continue;
                }
                let is_html = reply
                    .header("content-type")
                    .is_some_and(|t| t.starts_with("text/html"));
                if !is_html {
                    continue;
                }
                for link in links(&reply.body) {
                    // Signing out would end the walk; every other link is followed.
                    if link.starts_with("/logout") || !seen.insert(link.clone()) {
                        continue;
                    }
                    let count = shapes.entry(shape(&link)).or_default();
                    if *count >= PER_SHAPE {
                        continue;
                    }
                    *count += 1;
                    queue.push_back((link, path.clone()));
                }
            }
            assert!(
                visited > 3,
                "{b}: {role} reached only {visited} pages: the walk itself is broken"
            );
            println!("{b}: {role} followed {visited} links");
            visited_total += visited;
        }
        assert!(
            dead.is_empty(),
            "{b}: {} dead links out of {visited_total} pages:\n{}",
            dead.len(),
            dead.join("\n")
        );
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}
