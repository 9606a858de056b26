//! The pages people work in, over a real socket on every test database: a finding and its
//! exception, accepting the policies, a notice read on my page, equipment allocated and returned with its history, a
//! request refused for missing details, an incident reported, and CSV exports that no
//! spreadsheet would run.

mod support;

use steward_model::{
    Asset, AssetKind, AssetStatus, Notification, Ownership, Record, Role, RoleGrant, Sighting,
};
use steward_service::{Capacity, FindingQuery, Stamp, Steward};
use steward_store::testing::databases;
use support::{Server, account, person};

fn phone(tag: &str, holder: Option<&str>) -> Asset {
    Asset {
        tag: tag.into(),
        kind: AssetKind::Smartphone,
        model: Some("iPhone".into()),
        serial: None,
        ownership: Ownership::Organisation,
        status: if holder.is_some() {
            AssetStatus::Allocated
        } else {
            AssetStatus::InStock
        },
        assigned_to: holder.map(Into::into),
        assigned_on: holder.map(|_| chrono::Utc::now().date_naive() - chrono::Days::new(30)),
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
    }
}

#[test]
fn findings_exceptions_acceptance_equipment_requests_incidents_and_exports() {
    for db in databases("web_pages") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = Stamp::now("test");
        let create = |r: &dyn Fn(&Steward) -> Result<(), steward_service::ServiceError>| {
            r(&steward).unwrap_or_else(|e| panic!("{b}: {e}"));
        };
        for (id, name, manager) in [
            ("M1", "Morgan Manager", None),
            ("S1", "=HYPERLINK(\"http://x\")", Some("M1")),
            ("G1", "Gita Governance", None),
            ("IT1", "Ivo IT", None),
        ] {
            create(&|s| s.create(&stamp, &person(id, name, manager)).map(|_| ()));
        }
        for (id, role) in [("G1", Role::Governance), ("IT1", Role::It)] {
            create(&|s| {
                s.create(
                    &stamp,
                    &RoleGrant {
                        person_id: id.into(),
                        role,
                        granted_on: None,
                    },
                )
                .map(|_| ())
            });
        }
        // S1's phone has lost its PIN: a finding S1 acts on, about what they hold.
        let mut mob1 = phone("MOB1", Some("S1"));
        mob1.pin_set = Some(false);
        create(&|s| s.create(&stamp, &mob1).map(|_| ()));
        create(&|s| s.create(&stamp, &phone("MOB2", None)).map(|_| ()));
        let seen =
            chrono::SubsecRound::trunc_subsecs(chrono::Utc::now() - chrono::TimeDelta::days(2), 0);
        create(&|s| {
            s.create(
                &stamp,
                &Sighting {
                    asset_tag: Some("MOB1".into()),
                    seen_at: seen,
                    country: "DE".parse().unwrap_or_else(|e| panic!("{e}")),
                    account_id: None,
                },
            )
            .map(|_| ())
        });
        let secrets = [
            ("s1", account(&steward, "s1@example.org", Some("S1"), &[])),
            ("g1", account(&steward, "g1@example.org", Some("G1"), &[])),
            ("m1", account(&steward, "m1@example.org", Some("M1"), &[])),
            (
                "it1",
                account(&steward, "it1@example.org", Some("IT1"), &[]),
            ),
            (
                "auditor",
                account(&steward, "auditor@example.org", None, &[Capacity::Auditor]),
            ),
        ];
        let pack = match steward_policy::builtin_pack("cafcass-it-5.0") {
            Some(Ok(p)) => p,
            other => panic!("{b}: {other:?}"),
        };
        // One parameter the organisation sets itself (nothing in this estate reads it).
        let overrides = steward_policy::Overrides::parse(
            "overrides.toml",
            "[parameters]\ndata_allowance_mb = 8192\n",
        )
        .unwrap_or_else(|e| panic!("{b}: {e:?}"));
        steward
            .check_and_record(&stamp, &[&pack], &overrides)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let server = Server::start(
            &db.url,
            steward_web::Options {
                packs: vec![pack.clone()],
                available: match steward_policy::builtin_pack("cafcass-it-2.2") {
                    Some(Ok(old)) => vec![old, pack],
                    other => panic!("{b}: {other:?}"),
                },
                overrides,
                ..steward_web::Options::default()
            },
        );
        let signed = |who: &str| {
            let secret = &secrets
                .iter()
                .find(|(w, _)| *w == who)
                .map(|(_, s)| s.clone());
            let mut client = server.client();
            let reply = client.sign_in(
                &format!("{who}@example.org"),
                support::PASSWORD,
                secret.as_deref().unwrap_or_default(),
            );
            assert_eq!(reply.status, 303, "{b}: {who}: {}", reply.body);
            client
        };
        let mut staff = signed("s1");
        let mut governance = signed("g1");
        let mut it = signed("it1");
        let mut auditor = signed("auditor");

        // My page speaks to the person: each item in the second person, with what to do, by
        // when and why; their manager reads the same items about them in the third person.
        let me = staff.get("/me");
        let asks = me
            .body
            .split("id=\"asks\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{b}: no asks section in {}", me.body));
        for said in [
            "Your iPhone MOB1 has no PIN set; a six-digit PIN is mandatory.",
            "You have not acknowledged version 5.0 of the IT Policy and Procedures.",
            "You have not completed all your mandatory training, or some of it has expired.",
            "What to do: Set a six-digit PIN on the iPhone.",
            "What to do: Complete the mandatory training modules for your role.",
            "<span class=\"due\">by ",
            "Why: <a href=\"/policy#",
        ] {
            assert!(asks.contains(said), "{b}: {said:?} not in {asks}");
        }
        for third in [
            ">iPhone MOB1 has no PIN",
            "has not acknowledged version 5.0",
        ] {
            assert!(!asks.contains(third), "{b}: {third:?} in {asks}");
        }
        let mut manager = signed("m1");
        let report = manager.get("/team/S1");
        assert_eq!(report.status, 200, "{b}");
        assert!(
            report.body.contains(">iPhone MOB1 has no PIN set")
                && report.body.contains("has not acknowledged version 5.0")
                && !report.body.contains("Your iPhone MOB1")
                && !report.body.contains("You have not acknowledged"),
            "{b}: {}",
            report.body
        );

        // The finding's page quotes its clause and shows the evidence; its owner sees it too.
        let findings = governance.get("/findings?clause=2.9");
        assert_eq!(findings.status, 200, "{b}");
        let href = findings
            .body
            .split("href=\"/finding/")
            .nth(1)
            .and_then(|rest| rest.split_once('"'))
            .map(|(h, _)| format!("/finding/{h}"))
            .unwrap_or_else(|| panic!("{b}: no finding link in {}", findings.body));
        let finding = governance.get(&href);
        assert_eq!(finding.status, 200, "{b}: {href}");
        assert!(
            finding.body.contains("International Travel"),
            "{b}: clause not quoted"
        );
        assert!(
            finding.body.contains("<td>DE</td>"),
            "{b}: evidence: {}",
            finding.body
        );
        assert!(finding.body.contains("opened"), "{b}: history");

        // A team's findings: those about the manager's reports and what they hold, only.
        let everyone = governance.get("/findings");
        let team = governance.get("/findings?team=M1");
        // Each subject by name, linked to its record.
        assert!(
            everyone.body.contains("href=\"/register/person/G1\""),
            "{b}: {}",
            everyone.body
        );
        assert!(!team.body.contains("href=\"/register/person/G1\""), "{b}");
        assert!(
            team.body.contains("href=\"/register/person/S1\""),
            "{b}: {}",
            team.body
        );

        // An exception must say why and must end; then the finding is excepted.
        let no_end = governance.submit(
            &href,
            "/exceptions",
            &[
                ("key", &finding_key(&href)),
                ("reason", "conference"),
                ("expires_on", ""),
            ],
        );
        // Refused like every form: 422, the reason beside the date.
        assert_eq!(no_end.status, 422, "{b}");
        assert!(
            no_end.body.contains("an exception must end"),
            "{b}: {}",
            no_end.body
        );
        let granted = governance.submit(
            &href,
            "/exceptions",
            &[
                ("key", &finding_key(&href)),
                ("reason", "Approved by the director for a conference"),
                (
                    "expires_on",
                    &(chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string(),
                ),
            ],
        );
        // The page follows the check run that excepts it.
        let run = governance.follow_job(&granted);
        assert!(
            run.text_of("job-state").contains("done") && run.body.contains("See the findings"),
            "{b}: {}",
            run.body
        );
        let excepted = governance.get(&href);
        assert!(
            excepted.text_of("finding-state").starts_with("excepted"),
            "{b}: {}",
            excepted.text_of("finding-state")
        );
        // The auditor reads it and cannot grant one.
        assert_eq!(auditor.get(&href).status, 200, "{b}");
        let refused = auditor.post("/exceptions", &[("csrf", "whatever"), ("key", "x")]);
        assert_eq!(refused.status, 403, "{b}");

        // Accepting the policies records this version and clears the acceptance finding.
        let me = staff.get("/me");
        assert!(me.body.contains("id=\"accept-policies\""), "{b}");
        let accepted = staff.submit("/me", "/me/accept", &[]);
        assert_eq!((accepted.status, accepted.location()), (303, "/me"), "{b}");
        assert!(
            !staff.get("/me").body.contains("id=\"accept-policies\""),
            "{b}"
        );
        let watcher = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let acceptance_cleared = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            watcher
                .findings(&FindingQuery {
                    control: Some("current-version-accepted".into()),
                    subject_id: Some("S1".into()),
                    ..FindingQuery::default()
                })
                .map(|f| f.is_empty())
                .unwrap_or(false)
        });
        assert!(acceptance_cleared, "{b}: the acceptance finding stayed");

        // What a person is told reaches their page, and only they can say they have read it.
        let notice = Notification {
            about: "REQ-900001".into(),
            recipient: "S1".into(),
            reason: "your mailbox was opened <while you were away>".into(),
            due_at: None,
            acknowledged_at: None,
            acknowledged_by: None,
            emailed_at: None,
        };
        watcher
            .create(&Stamp::now("test"), &notice)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let me = staff.get("/me");
        assert!(
            me.body.contains("id=\"told-REQ-900001\"")
                && me
                    .body
                    .contains("your mailbox was opened &#60;while you were away&#62;"),
            "{b}: {}",
            me.body
        );
        let not_theirs = governance.submit("/me", "/me/acknowledge", &[("about", "REQ-900001")]);
        assert_eq!(not_theirs.status, 404, "{b}: {}", not_theirs.body);
        let read = staff.submit("/me", "/me/acknowledge", &[("about", "REQ-900001")]);
        assert_eq!((read.status, read.location()), (303, "/me"), "{b}");
        let stored: Option<Notification> = watcher
            .get(notice.to_row().id())
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(
            stored.and_then(|n| n.acknowledged_by).as_deref(),
            Some("S1"),
            "{b}"
        );
        assert!(!staff.get("/me").body.contains("told-REQ-900001"), "{b}");
        let again = staff.submit("/me", "/me/acknowledge", &[("about", "REQ-900001")]);
        assert_eq!(again.status, 422, "{b}: read twice");

        // The weekly digest: on until the person turns it off, and on again; each change to
        // their record audited. Escalations are said to be beyond their choice.
        let me = staff.get("/me");
        assert!(
            me.body.contains("id=\"weekly-digest\"")
                && me.body.contains("Stop the weekly e-mail")
                && me.body.contains("cannot be turned off"),
            "{b}: {}",
            me.body
        );
        let forged = staff.post(
            "/me/digest",
            &[("csrf", "forged"), ("weekly_digest", "off")],
        );
        assert_eq!(forged.status, 403, "{b}: a forged form");
        let digest_of = |w: &Steward| {
            w.get::<steward_model::Person>("S1")
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .and_then(|p| p.weekly_digest)
        };
        assert_eq!(digest_of(&watcher), None, "{b}");
        let off = staff.submit("/me", "/me/digest", &[("weekly_digest", "off")]);
        assert_eq!((off.status, off.location()), (303, "/me#email"), "{b}");
        assert_eq!(digest_of(&watcher), Some(false), "{b}");
        assert!(
            staff.get("/me").body.contains("Send me the weekly e-mail"),
            "{b}"
        );
        let unclear = staff.submit("/me", "/me/digest", &[("weekly_digest", "sometimes")]);
        assert_eq!(unclear.status, 400, "{b}");
        let on = staff.submit("/me", "/me/digest", &[("weekly_digest", "on")]);
        assert_eq!(on.status, 303, "{b}");
        assert_eq!(digest_of(&watcher), Some(true), "{b}");
        let mut digest_changes = 0;
        watcher
            .audit_log(&steward_store::AuditQuery::default(), &mut |r| {
                if r.entity_type == "person" && r.entity_id == "S1" && r.actor.starts_with("web:") {
                    digest_changes += 1;
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(digest_changes, 2, "{b}");

        // Equipment: allocated and returned by IT, each step in its history; staff cannot.
        let allocate = it.submit(
            "/register/asset/MOB2",
            "/register/asset/MOB2/allocate",
            &[("person_id", "M1")],
        );
        assert_eq!(allocate.status, 303, "{b}: {}", allocate.body);
        let record = it.get("/register/asset/MOB2");
        assert_eq!(record.text_of("field-assigned_to"), "M1", "{b}");
        assert!(
            record.body.contains("assigned_to: — → M1"),
            "{b}: {}",
            record.body
        );
        let wrong = it.submit(
            "/register/asset/MOB2",
            "/register/asset/MOB2/allocate",
            &[("person_id", "NOBODY")],
        );
        assert_eq!(wrong.status, 422, "{b}");
        assert!(
            wrong.body.contains("no person with this id"),
            "{b}: {}",
            wrong.body
        );
        let back = it.submit("/register/asset/MOB2", "/register/asset/MOB2/return", &[]);
        assert_eq!(back.status, 303, "{b}");
        let record = it.get("/register/asset/MOB2");
        assert_eq!(record.text_of("field-status"), "in_stock", "{b}");
        assert!(
            record.body.contains("<td>M1</td>"),
            "{b}: no span in {}",
            record.body
        );
        assert_eq!(staff.get("/register/asset/MOB2").status, 403, "{b}");

        // Any field, as `register set` does: a good change is saved and in the history; a bad
        // value is refused with its reason.
        let renamed = it.submit(
            "/register/person/M1",
            "/register/person/M1/set",
            &[("name", "Morgan Manager-Smith")],
        );
        assert_eq!(renamed.status, 303, "{b}: {}", renamed.body);
        let m1 = it.get("/register/person/M1");
        assert_eq!(m1.text_of("field-name"), "Morgan Manager-Smith", "{b}");
        assert!(
            m1.body
                .contains("name: Morgan Manager → Morgan Manager-Smith"),
            "{b}"
        );
        let bad = it.submit(
            "/register/person/M1",
            "/register/person/M1/set",
            &[("status", "retired")],
        );
        assert_eq!(bad.status, 422, "{b}");
        assert!(bad.body.contains("expected one of"), "{b}: {}", bad.body);

        // A request missing its details is refused with the reason, and nothing is opened.
        let travel = staff.submit(
            "/requests/new?type=international-travel",
            "/requests",
            &[
                ("type", "international-travel"),
                ("person_id", "S1"),
                ("countries", "FR"),
            ],
        );
        assert_eq!(travel.status, 422, "{b}");
        assert!(travel.body.contains("depart_on"), "{b}: {}", travel.body);
        assert!(!staff.get("/requests").body.contains("REQ-000001"), "{b}");
        // Nor for someone else than oneself or one's reports.
        let other = staff.submit(
            "/requests/new?type=pac-code",
            "/requests",
            &[("type", "pac-code"), ("person_id", "G1")],
        );
        assert_eq!(other.status, 403, "{b}");

        // An incident reported by staff shows its clocks to governance.
        let lost = staff.submit(
            "/incidents/new",
            "/incidents",
            &[
                ("type", "loss"),
                ("asset_tag", "MOB1"),
                ("facts", "Left on a train"),
            ],
        );
        assert_eq!(lost.status, 303, "{b}: {}", lost.body);
        let incidents = governance.get("/incidents");
        assert!(incidents.body.contains("INC-000001"), "{b}");
        let incident = governance.get("/incidents/INC-000001");
        assert!(incident.body.contains("Who must be told"), "{b}");
        // Once the mail relay has taken a notice, the incident says when.
        assert!(!incident.body.contains("2030-01-02 03:04 GMT"), "{b}");
        watcher
            .mark_emailed(
                &Stamp::at(
                    "test:mail",
                    chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .unwrap_or_default(),
                ),
                "INC-000001",
                "it-service-desk",
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let incident = governance.get("/incidents/INC-000001");
        assert!(
            incident
                .body
                .contains("<td>it-service-desk</td><td>loss reported by S1 (it-service-desk)</td><td>2030-01-02 03:04 GMT</td>"),
            "{b}: {}",
            incident.body
        );
        let dashboard = governance.get("/dashboard");
        assert!(dashboard.body.contains("id=\"open-incidents\""), "{b}");
        assert!(
            dashboard.body.contains("href=\"/incidents/INC-000001\""),
            "{b}"
        );

        // Governance handles it: investigating; a data breach closes only with its record.
        let investigating = governance.submit(
            "/incidents/INC-000001",
            "/incidents/INC-000001/handle",
            &[("act", "investigate")],
        );
        assert_eq!(
            investigating.text_of("incident-state"),
            "investigating",
            "{b}"
        );
        let breach = staff.submit(
            "/incidents/new",
            "/incidents",
            &[
                ("type", "data-breach"),
                ("facts", "A report emailed to the wrong address"),
            ],
        );
        assert_eq!(
            breach.location(),
            "/incidents/INC-000002",
            "{b}: {}",
            breach.body
        );
        let early = governance.submit(
            "/incidents/INC-000002",
            "/incidents/INC-000002/handle",
            &[("act", "close")],
        );
        assert_eq!(early.status, 422, "{b}");
        assert!(early.body.contains("lacks effects"), "{b}: {}", early.body);
        let recorded = governance.submit(
            "/incidents/INC-000002",
            "/incidents/INC-000002/handle",
            &[
                ("act", "record"),
                ("effects", "One family's address disclosed"),
                ("remedial_action", "Recipient confirmed deletion"),
                ("ico_decision", "do-not-notify"),
                (
                    "ico_reasons",
                    "Unlikely to result in a risk to rights and freedoms",
                ),
            ],
        );
        assert_eq!(recorded.status, 200, "{b}: {}", recorded.body);
        let closed = governance.submit(
            "/incidents/INC-000002",
            "/incidents/INC-000002/handle",
            &[("act", "close")],
        );
        assert_eq!(
            closed.text_of("incident-state"),
            "closed",
            "{b}: {}",
            closed.body
        );
        // Staff cannot handle incidents.
        let refused = staff.submit(
            "/incidents/INC-000001",
            "/incidents/INC-000001/handle",
            &[("act", "close")],
        );
        assert_eq!(refused.status, 403, "{b}");

        // The living policy says who owns it, when it is due for review and the parameters as
        // this organisation runs them.
        let living = staff.get("/policy");
        assert_eq!(living.status, 200, "{b}");
        assert!(
            living.body.contains("Owner: Robert Langley, CIO.")
                && living.body.contains("2024-03-31 (overdue)"),
            "{b}: {}",
            living.body
        );
        let allowance = living
            .body
            .lines()
            .find(|l| l.contains("<td>data_allowance_mb</td>"))
            .unwrap_or_else(|| panic!("{b}: no data_allowance_mb row"));
        assert!(
            allowance.contains("<td>8192 MB <span class=\"hint\">(set by the organisation; the policy says 4096 MB)"),
            "{b}: {allowance}"
        );
        let patch = living
            .body
            .lines()
            .find(|l| l.contains("<td>byod_patch_days</td>"))
            .unwrap_or_else(|| panic!("{b}: no byod_patch_days row"));
        assert!(patch.contains("<td>14 days</td>"), "{b}: {patch}");

        // Two versions compared on this estate.
        let diff = governance.get("/policy/diff?from=cafcass-it-2.2&to=cafcass-it-5.0");
        assert_eq!(diff.status, 200, "{b}");
        let summary = diff.text_of("diff-summary");
        assert!(summary.contains("clauses differ"), "{b}: {summary}");
        assert!(!summary.starts_with("0 clauses"), "{b}: {summary}");
        assert_eq!(staff.get("/policy/diff").status, 403, "{b}");

        // The auditor reads the log, a record's history and the chain's verdict.
        let log = auditor.get("/audit?entity=person:M1");
        assert!(
            log.body
                .contains("name: Morgan Manager → Morgan Manager-Smith"),
            "{b}"
        );
        let verified = auditor.get("/audit?verify=1");
        assert!(
            verified.text_of("chain").starts_with("the chain holds"),
            "{b}: {}",
            verified.text_of("chain")
        );

        // Exports: a cell a spreadsheet would run is defused.
        let people = governance.get("/people.csv");
        assert_eq!(people.status, 200, "{b}");
        assert_eq!(
            people.header("content-type"),
            Some("text/csv; charset=utf-8"),
            "{b}"
        );
        assert!(
            people.body.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
            "{b}: {}",
            people.body
        );
        for list in [
            "/findings.csv",
            "/requests.csv",
            "/incidents.csv",
            "/assets.csv",
            "/accounts.csv",
        ] {
            let reply = governance.get(list);
            assert_eq!(reply.status, 200, "{b}: {list}");
            assert!(reply.body.lines().count() >= 1, "{b}: {list}");
        }
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

/// The finding key a `/finding/...` link names, decoded.
fn finding_key(href: &str) -> String {
    let raw = href.trim_start_matches("/finding/");
    let mut out = Vec::new();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = raw
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request opened under packs that name its approvers says on its page whom it waits for, and
/// lists the parties told; once they have agreed it waits for nobody.
#[test]
fn a_request_page_says_whom_it_waits_for() {
    for db in databases("web_request_waiting") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let secrets = support::it_staff_and_administrator(&steward, "example.test");
        let stamp = Stamp::now("test");
        steward
            .create(
                &stamp,
                &steward_model::System {
                    name: "case-system".into(),
                    key_system: Some(true),
                    supports_mfa: Some(true),
                    restricted: None,
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let mut details = steward_workflow::Details::default();
        details
            .set("system", "case-system")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let id = steward
            .open_request(
                &stamp,
                steward_model::RequestType::SystemAccess,
                "S1",
                None,
                details,
                steward_service::RequestTerms {
                    lead_working_days: 0,
                    approvers: Some(vec![
                        steward_model::ApproverRole::It,
                        steward_model::ApproverRole::Iao,
                    ]),
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .request
            .id;
        let server = Server::start(&db.url, steward_web::Options::default());
        let mut it = support::signed_in_as(&server, &secrets, "it");
        let page = it.get(&format!("/requests/{id}"));
        assert_eq!(page.status, 200, "{b}: {}", page.body);
        assert_eq!(
            page.text_of("request-waiting-for"),
            "the IT team and an information asset owner",
            "{b}"
        );
        for told in ["it-service-desk", "information-asset-owners"] {
            assert!(
                page.body.contains(&format!("<td>{told}</td>")),
                "{b}: {told} told: {}",
                page.body
            );
        }
        // IT agrees: the page now waits for the asset's owner alone.
        let csrf = page.csrf();
        let agreed = it.post(
            &format!("/requests/{id}/approve"),
            &[("csrf", csrf.as_str())],
        );
        assert!(agreed.status < 400, "{b}: {}", agreed.body);
        let page = it.get(&format!("/requests/{id}"));
        assert_eq!(
            page.text_of("request-waiting-for"),
            "an information asset owner",
            "{b}: {}",
            page.body
        );
        server.stop().unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}
