//! Page latency for a demo organisation of 10,000 people (`STEWARD_BENCH_PEOPLE` for another
//! size): `cargo bench -p steward-web --bench pages`.
//!
//! On a fresh SQLite database (and a fresh PostgreSQL database too when
//! `STEWARD_TEST_DATABASE_URL` names a server) it seeds the organisation as `steward serve --demo`
//! does — generate, import, check the built-in Cafcass packs, record the findings, add sign-ins —
//! then starts the real server on a loopback port, signs in over HTTP with a password and a TOTP
//! code, and requests every signed-in `GET` page of `steward_web::access::ROUTES` without a path
//! parameter (so a new page is measured without touching this file): as the administrator where
//! the administrator may see it, and as a line manager (a person on the people register) where only
//! staff may or where every signed-in person may. Each request opens its own connection
//! (`Connection: close`), so every figure includes a loopback connect.
//!
//! On PostgreSQL the owner runs `VACUUM ANALYZE` after the seed, as autovacuum would soon after
//! so large a change, so that the planner has statistics for the new rows.
//!
//! Before serving, the service calls the pages make are timed on their own, to show where a
//! page's time goes. Deep pages of the long lists (near their end, as `Next page` reaches them)
//! are measured beside the first; `STEWARD_BENCH_ONLY` (addresses' beginnings, comma-separated)
//! measures only some pages.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::{
    ADMIN, Login, builtin_packs, load_average, ms, number_from_env, percentile, seed, signed_in,
    thousands,
};

use std::time::{Duration, Instant};
use support::{Reply, Server};

use chrono::Utc;
use steward_model::{Account, Asset, Person, Request};
use steward_policy::Pack;
use steward_service::{FindingQuery, Steward};
use steward_store::testing::{TestDatabase, databases};
use steward_web::access::{self, Access, ROUTES};

/// Requests per page before measuring, and measured.
const WARM_UP: usize = 5;
const SAMPLES: usize = 50;
/// Calls per service call timed on its own.
const SERVICE_SAMPLES: usize = 20;

fn main() {
    common::allocate_as_the_binary_does();
    let people = number_from_env("STEWARD_BENCH_PEOPLE", 10_000);
    let packs = builtin_packs();
    println!(
        "Steward pages: {people} people, {} cores, {}; {WARM_UP} warm-up then {SAMPLES} measured \
         requests per page, one connection per request (Connection: close)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        Utc::now().format("%Y-%m-%d"),
    );
    for db in databases("bench_pages") {
        run(&db, people, &packs);
    }
}

fn run(db: &TestDatabase, people: usize, packs: &[Pack]) {
    println!("\n## {}\n", db.backend);
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("open {}: {e}", db.backend));
    let (admin, manager) = seed(&steward, people, packs);
    if db.backend == steward_store::Backend::Postgres {
        // What autovacuum does within a minute or so of a seed this size, done now: statistics
        // for the planner and the visibility map that lets a count read an index alone. (The
        // app role may not; the owner may.)
        let started = Instant::now();
        db.execute("VACUUM ANALYZE")
            .unwrap_or_else(|e| panic!("vacuum: {e}"));
        println!(
            "VACUUM ANALYZE as the owner: {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    service_calls(&steward, &manager);
    findings_reads(&steward);
    let deep = deep_pages(&steward);

    drop(steward);
    let server = Server::start(
        &db.url,
        steward_web::Options {
            packs: packs.to_vec(),
            ..Default::default()
        },
    );
    let mut as_admin = server.client();
    signed_in(&mut as_admin, &admin);
    let mut as_manager = server.client();
    signed_in(&mut as_manager, &manager);

    println!("\n| route | who | status | n | p50 ms | p95 ms | max ms | bytes |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let pages = ROUTES
        .iter()
        .filter(|r| r.method == "GET" && r.access != Access::Public && !r.path.contains('{'));
    let mut slow = Vec::new();
    let load_before = load_average();
    // Each page as the administrator where the administrator may see it; as the line manager
    // where only staff may, and also where every signed-in person may (what all staff see, with
    // the cost of a viewer who is on the people register).
    let mut runs: Vec<(&access::RouteSpec, &Login)> = Vec::new();
    for route in pages {
        let admin_may = access::allows(route.access, "GET", &admin.viewer);
        let manager_may = access::allows(route.access, "GET", &manager.viewer);
        if admin_may {
            runs.push((route, &admin));
        }
        if manager_may && (!admin_may || route.access == Access::SignedIn) {
            runs.push((route, &manager));
        }
        assert!(
            admin_may || manager_may,
            "{}: neither the administrator nor the line manager may use it; give the benchmark \
             an account that may",
            route.path
        );
    }
    // Every page, then deep pages of the long lists (a page near the end, as `Next page` reaches
    // it), as the administrator.
    // `STEWARD_BENCH_ONLY=/findings,/people` measures only the pages whose address begins so
    // (at 100,000 people the whole-register downloads alone take many minutes).
    let only: Vec<String> = std::env::var("STEWARD_BENCH_ONLY")
        .unwrap_or_default()
        .split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let runs: Vec<(String, &Login)> = runs
        .into_iter()
        .map(|(route, login)| (route.path.to_owned(), login))
        .chain(deep.into_iter().map(|path| (path, &admin)))
        .filter(|(path, _)| {
            only.is_empty()
                || only.iter().any(|o| {
                    // A download is measured only when named as one.
                    path.starts_with(o.as_str()) && (o.contains(".csv") || !path.contains(".csv"))
                })
        })
        .collect();
    for (path, login) in &runs {
        let (path, login) = (path.as_str(), *login);
        let client = if std::ptr::eq(login, &admin) {
            &mut as_admin
        } else {
            &mut as_manager
        };
        let mut times = Vec::with_capacity(SAMPLES);
        let mut reply = None;
        for i in 0..WARM_UP + SAMPLES {
            let started = Instant::now();
            let r = client.get(path);
            let took = started.elapsed();
            answered(path, login.who, &r);
            if i >= WARM_UP {
                times.push(took);
            }
            reply = Some(r);
        }
        let reply = reply.unwrap_or_else(|| unreachable!("at least one request"));
        times.sort();
        let (p50, p95, max) = (
            percentile(&times, 50),
            percentile(&times, 95),
            times.last().copied().unwrap_or_default(),
        );
        let status = match reply.status {
            200 => "200".to_owned(),
            s => format!("{s} → {}", reply.header("location").unwrap_or("")),
        };
        println!(
            "| `{}` | {} | {status} | {} | {} | {} | {} | {} |",
            path,
            login.who,
            times.len(),
            ms(p50),
            ms(p95),
            ms(max),
            thousands(reply.body.len()),
        );
        if p95 >= Duration::from_millis(50) {
            slow.push(format!("{} as the {} ({} ms)", path, login.who, ms(p95)));
        }
    }
    println!(
        "\nLoad average (1, 5, 15 min) before the pages: {load_before}; after: {}",
        load_average()
    );
    if slow.is_empty() {
        println!("\nEvery page answers under 50 ms at p95.");
    } else {
        println!("\nOver 50 ms at p95 on {}: {}", db.backend, slow.join(", "));
    }
    server
        .stop()
        .unwrap_or_else(|e| panic!("the server failed: {e}"));
}

/// Addresses of pages near the end of the long lists, in their default order and sorted: what
/// `Next page` reaches after many pages (keyset pagination should make them cost what the first
/// does).
fn deep_pages(steward: &Steward) -> Vec<String> {
    use steward_model::Register;
    let near_end = |mut ids: Vec<String>| {
        ids.sort();
        let at = ids.len().saturating_sub(ids.len() / 20 + 1);
        ids.get(at).cloned().unwrap_or_default()
    };
    let ids = |r: Register| {
        steward
            .store()
            .ids(r)
            .unwrap_or_else(|e| panic!("{r}: {e}"))
    };
    let encode = support_percent;
    let mut out = vec![
        format!("/people?after={}", encode(&near_end(ids(Register::People)))),
        format!("/assets?after={}", encode(&near_end(ids(Register::Assets)))),
        format!(
            "/registers/usage?after={}",
            encode(&near_end(ids(Register::Usage)))
        ),
    ];
    // Sorted by name: the person 95 % of the way down that order.
    let (by_name, _) = steward
        .list_page::<Person>(Vec::new(), None, u64::MAX >> 1, None, Some(("name", false)))
        .unwrap_or_else(|e| panic!("people by name: {e}"));
    if let Some(p) = by_name.get(by_name.len().saturating_sub(by_name.len() / 20 + 1)) {
        out.push(format!("/people?sort=name&after={}", encode(&p.id)));
    }
    // The findings list's last stretch: the newest of the least severe findings there are.
    let newest_of = |severity: &str| {
        steward
            .findings(&FindingQuery {
                severity: Some(severity.to_owned()),
                order: steward_service::FindingOrder::Newest,
                limit: Some(1),
                without_text: true,
                ..FindingQuery::default()
            })
            .unwrap_or_else(|e| panic!("findings: {e}"))
            .into_iter()
            .next()
    };
    let mut by_rank = steward_model::Finding::SEVERITIES.to_vec();
    by_rank.sort_by_key(|s| steward_model::Finding::severity_rank(s));
    if let Some(f) = by_rank.into_iter().find_map(newest_of) {
        let key = encode(&f.finding.key());
        out.push(format!("/findings?after={key}"));
        out.push(format!("/findings?sort=clause&after={key}"));
    }
    out
}

/// The findings list as the store reads it when no page is kept (the first read after a change):
/// a page of 500 in the list's order, its count, and the page after a finding 95 % of the way
/// down, for each order and the filters the list and the dashboard's links use.
fn findings_reads(steward: &Steward) {
    use steward_service::FindingOrder;
    let packs: Vec<String> = steward
        .findings(&FindingQuery {
            without_text: true,
            ..FindingQuery::default()
        })
        .map(|all| {
            let mut packs: Vec<String> = all
                .into_iter()
                .map(|f| f.finding.pack.to_string())
                .collect();
            packs.sort();
            packs.dedup();
            packs
        })
        .unwrap_or_else(|e| panic!("findings: {e}"));
    let first_pack = packs.first().cloned().unwrap_or_default();
    let base = FindingQuery {
        packs: packs.clone(),
        without_text: true,
        limit: Some(501),
        ..FindingQuery::default()
    };
    let cases: Vec<(String, FindingQuery)> = vec![
        ("every finding, by severity".into(), base.clone()),
        (
            "oldest first".into(),
            FindingQuery {
                order: FindingOrder::Oldest,
                ..base.clone()
            },
        ),
        (
            "newest first".into(),
            FindingQuery {
                order: FindingOrder::Newest,
                ..base.clone()
            },
        ),
        (
            "by clause".into(),
            FindingQuery {
                order: FindingOrder::Clause,
                ..base.clone()
            },
        ),
        (
            format!("policy {first_pack}"),
            FindingQuery {
                pack: Some(first_pack.clone()),
                ..base.clone()
            },
        ),
        (
            format!("policy {first_pack}, section 2"),
            FindingQuery {
                pack: Some(first_pack.clone()),
                section: Some("2".into()),
                ..base.clone()
            },
        ),
        (
            "severity low".into(),
            FindingQuery {
                severity: Some("low".into()),
                ..base.clone()
            },
        ),
        (
            "who acts: the person".into(),
            FindingQuery {
                who_acts: Some("person".into()),
                ..base.clone()
            },
        ),
    ];
    println!(
        "\n| findings list, no page kept ({SERVICE_SAMPLES} calls each) | findings | page 1 median / max ms | count median / max ms | deep page median / max ms |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let timed = |f: &dyn Fn() -> usize| {
        let mut times = Vec::with_capacity(SERVICE_SAMPLES);
        for _ in 0..SERVICE_SAMPLES {
            let started = Instant::now();
            f();
            times.push(started.elapsed());
        }
        times.sort();
        format!(
            "{} / {}",
            ms(percentile(&times, 50)),
            ms(times.last().copied().unwrap_or_default())
        )
    };
    for (name, q) in cases {
        let fail = |e: steward_service::ServiceError| -> usize { panic!("{name}: {e}") };
        let all = steward
            .findings(&FindingQuery {
                limit: None,
                ..q.clone()
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let deep = FindingQuery {
            after: all.get(all.len() * 95 / 100).map(|f| f.finding.key()),
            ..q.clone()
        };
        let page = timed(&|| steward.findings(&q).map_or_else(fail, |p| p.len()));
        let count = timed(&|| {
            steward
                .count_findings(&q)
                .map_or_else(fail, |n| usize::try_from(n).unwrap_or(0))
        });
        let deep = timed(&|| steward.findings(&deep).map_or_else(fail, |p| p.len()));
        println!(
            "| {name} | {} | {page} | {count} | {deep} |",
            thousands(all.len())
        );
    }
}

/// Text for a query value.
fn support_percent(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A page must answer 200; a route that only redirects (the start page) may answer 303 to a page,
/// but never to the sign-in.
fn answered(path: &str, who: &str, reply: &Reply) {
    let ok = match reply.status {
        200 => true,
        303 => {
            let to = reply.header("location").unwrap_or("");
            !to.is_empty() && !to.starts_with("/login") && !to.starts_with("/mfa")
        }
        _ => false,
    };
    assert!(
        ok,
        "GET {path} as the {who} answered {} (location {:?}): {}",
        reply.status,
        reply.header("location"),
        reply.body.chars().take(500).collect::<String>()
    );
}

// --- the service calls behind the pages -----------------------------------------------------------

/// Times, on their own, service calls the guard and the pages make: each whole-table read a page
/// may make, and the lookups of one person's rows. Which page makes which changes with the web
/// crate, so the table names only the call.
fn service_calls(steward: &Steward, manager: &Login) {
    let (token, _) = steward
        .open_session(ADMIN, Utc::now())
        .unwrap_or_else(|e| panic!("open a session: {e}"));
    let person = manager.viewer.person_id.clone().unwrap_or_default();
    let one_asset: Option<String> = steward
        .list_where::<Asset>("assigned_to", &person)
        .ok()
        .and_then(|assets| assets.into_iter().next().map(|a| a.tag));
    println!("\n| service call ({SERVICE_SAMPLES} calls each) | rows | median ms | max ms |");
    println!("| --- | --- | --- | --- |");
    let time = |name: &str, f: &dyn Fn() -> Result<usize, steward_service::ServiceError>| {
        let mut times = Vec::with_capacity(SERVICE_SAMPLES);
        let mut n = 0;
        for _ in 0..SERVICE_SAMPLES {
            let started = Instant::now();
            n = f().unwrap_or_else(|e| panic!("{name}: {e}"));
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "| {name} | {} | {} | {} |",
            thousands(n),
            ms(percentile(&times, 50)),
            ms(times.last().copied().unwrap_or_default())
        );
    };
    time("`live_session` (every signed-in request)", &|| {
        Ok(usize::from(
            steward.live_session(&token, Utc::now())?.is_some(),
        ))
    });
    time("`viewer` of the administrator (no person)", &|| {
        Ok(steward.viewer(ADMIN)?.capacities.len())
    });
    time("`viewer` of the line manager (a person)", &|| {
        Ok(steward.viewer(manager.email)?.capacities.len())
    });
    time("`list::<Person>` (everyone)", &|| {
        Ok(steward.list::<Person>()?.len())
    });
    time("`list::<Asset>` (every asset)", &|| {
        Ok(steward.list::<Asset>()?.len())
    });
    time("`list::<Account>` (every account)", &|| {
        Ok(steward.list::<Account>()?.len())
    });
    time("`list::<Request>` (every request)", &|| {
        Ok(steward.list::<Request>()?.len())
    });
    time("`findings` (every open finding)", &|| {
        Ok(steward.findings(&FindingQuery::default())?.len())
    });
    time("`count_findings` (every open finding)", &|| {
        Ok(usize::try_from(steward.count_findings(&FindingQuery::default())?).unwrap_or(0))
    });
    time(
        "`findings` (the first 500 in the findings list's order)",
        &|| {
            Ok(steward
                .findings(&FindingQuery {
                    limit: Some(500),
                    ..FindingQuery::default()
                })?
                .len())
        },
    );
    time(
        "`list_where::<Person>` (the line manager's reports)",
        &|| Ok(steward.list_where::<Person>("manager_id", &person)?.len()),
    );
    time(
        "`list_where::<Asset>` (what the line manager holds)",
        &|| Ok(steward.list_where::<Asset>("assigned_to", &person)?.len()),
    );
    time("`findings` of one person", &|| {
        Ok(steward
            .findings(&FindingQuery {
                subject_type: Some("person".into()),
                subject_id: Some(person.clone()),
                ..FindingQuery::default()
            })?
            .len())
    });
    if let Some(tag) = &one_asset {
        time("`findings` of one asset", &|| {
            Ok(steward
                .findings(&FindingQuery {
                    subject_type: Some("asset".into()),
                    subject_id: Some(tag.clone()),
                    ..FindingQuery::default()
                })?
                .len())
        });
    }
    time("`sign_ins` (every account)", &|| {
        Ok(steward.store().sign_ins()?.len())
    });
    let _ = steward.close_session(&token);
}
