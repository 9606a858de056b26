//! Each person's own: a finding about anything that is theirs — themselves, what they hold, their
//! accounts, trips and removable media, their devices' usage and sightings — is on their page and
//! opens for them, and for no one else but their manager and the estate roles; on every test
//! database.

mod support;

use std::collections::BTreeMap;

use steward_model::{FindingState, Person, PersonStatus};
use steward_service::{FindingQuery, Stamp, Steward};
use steward_store::testing::databases;
use support::demo::serve_as;

/// One open finding of each kind of subject in the demo that its person acts on, with whose it
/// is.
fn one_of_each_kind(steward: &Steward) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for f in steward
        .findings(&FindingQuery::default())
        .unwrap_or_else(|e| panic!("{e}"))
    {
        // My page lists what the person must act on themselves.
        if f.state == FindingState::Excepted
            || &*f.finding.who_acts != "person"
            || out.contains_key(&*f.finding.subject.kind)
        {
            continue;
        }
        let whose = steward
            .whose(&f.finding.subject.kind, &f.finding.subject.id)
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(whose) = whose else { continue };
        let active = steward
            .get::<Person>(&whose)
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some_and(|p| p.status == PersonStatus::Active);
        if active {
            out.insert(f.finding.subject.kind.to_string(), (f.finding.key(), whose));
        }
    }
    out
}

#[test]
fn a_finding_about_what_is_yours_is_on_your_page_and_opens_for_you_alone() {
    for db in databases("web_whose") {
        let b = db.backend;
        let (server, _it, steward) = serve_as(&db, "it");
        // A phone seen abroad with no trip approved: a finding about the sighting, which is its
        // holder's to settle.
        let stamp = Stamp::now("test");
        let phone = steward
            .list::<steward_model::Asset>()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|a| {
                a.assigned_to.as_ref().is_some_and(|p| {
                    steward
                        .get::<Person>(p)
                        .ok()
                        .flatten()
                        .is_some_and(|p| p.status == PersonStatus::Active)
                })
            })
            .unwrap_or_else(|| panic!("{b}: nothing held"));
        steward
            .create(
                &stamp,
                &steward_model::Sighting {
                    asset_tag: Some(phone.tag.clone()),
                    seen_at: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0)
                        - chrono::Duration::hours(3),
                    country: "FR".parse().unwrap_or_else(|e| panic!("{e:?}")),
                    account_id: None,
                },
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let running = support::demo::packs();
        let refs: Vec<&steward_policy::Pack> = running.iter().collect();
        steward
            .check_and_record(&stamp, &refs, &steward_policy::Overrides::default())
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let kinds = one_of_each_kind(&steward);
        assert!(kinds.len() >= 3, "{b}: few kinds of subject: {kinds:?}");
        for kind in ["person", "asset", "sighting"] {
            assert!(
                kinds.contains_key(kind),
                "{b}: the demo has no open {kind} finding: {kinds:?}"
            );
        }
        let roles: Vec<steward_model::RoleGrant> = steward.list().unwrap_or_else(|e| panic!("{e}"));
        // Someone with no role, whose none of these is, and who manages none of their owners.
        let stranger: Person = steward
            .list::<Person>()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|p| {
                p.status == PersonStatus::Active
                    && !roles.iter().any(|g| g.person_id == p.id)
                    && kinds.values().all(|(_, whose)| {
                        whose != &p.id
                            && steward
                                .get::<Person>(whose)
                                .ok()
                                .flatten()
                                .and_then(|w| w.manager_id)
                                .as_deref()
                                != Some(p.id.as_str())
                    })
            })
            .unwrap_or_else(|| panic!("{b}: nobody unconnected"));
        let sign_in = |person: &str| {
            let email = format!("{}@whose.example.org", person.to_lowercase());
            if steward
                .add_sign_in(&stamp, &email, person, Some(person), support::PASSWORD, &[])
                .is_ok()
            {
                let secret = steward
                    .enrol_authenticator(&stamp, &email)
                    .unwrap_or_else(|e| panic!("{b}: {e}"));
                let mut client = server.client();
                let reply = client.sign_in(&email, support::PASSWORD, &secret);
                assert_eq!(reply.status, 303, "{b}: {person} signs in");
                Some(client)
            } else {
                None
            }
        };
        let mut outsider = sign_in(&stranger.id).unwrap_or_else(|| panic!("{b}"));
        for (kind, (key, whose)) in &kinds {
            let Some(mut owner) = sign_in(whose) else {
                continue;
            };
            let me = owner.get("/me");
            // The page's link to the finding, whichever characters it escapes.
            let href = me
                .body
                .split("href=\"/finding/")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .find(|h| {
                    percent_encoding::percent_decode_str(&h.replace("&#x2F;", "/"))
                        .decode_utf8_lossy()
                        == key.as_str()
                })
                .map(|h| format!("/finding/{h}"))
                .unwrap_or_else(|| panic!("{b}: {whose}'s page lists the {kind} finding {key}"));
            assert_eq!(owner.get(&href).status, 200, "{b}: {whose} opens {href}");
            let refused = outsider.get(&href).status;
            assert!(
                refused == 403 || refused == 404,
                "{b}: {} may not open {whose}'s {kind} finding: {refused}",
                stranger.id
            );
        }
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}

/// The person a finding is about asks for an exception with a reason; the governance team sees
/// it on the finding and, granting the exception, settles it. No one else may ask, and an ask
/// without a reason is refused.
#[test]
fn a_person_asks_for_an_exception_and_governance_settles_it() {
    for db in databases("web_exception_ask") {
        let b = db.backend;
        let (server, mut governance, steward) = serve_as(&db, "governance");
        let kinds = one_of_each_kind(&steward);
        let (key, whose) = kinds
            .get("person")
            .cloned()
            .unwrap_or_else(|| panic!("{b}: no finding about a person"));
        let stamp = Stamp::now("test");
        let sign_in = |person: &str| {
            let email = format!("{}@asks.example.org", person.to_lowercase());
            steward
                .add_sign_in(&stamp, &email, person, Some(person), support::PASSWORD, &[])
                .unwrap_or_else(|e| panic!("{b}: {e}"));
            let secret = steward
                .enrol_authenticator(&stamp, &email)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
            let mut client = server.client();
            assert_eq!(
                client.sign_in(&email, support::PASSWORD, &secret).status,
                303
            );
            client
        };
        let mut owner = sign_in(&whose);
        let finding = owner
            .get("/me")
            .body
            .split("href=\"")
            .filter_map(|r| r.split('"').next())
            .filter(|h| h.ends_with("#ask-exception"))
            .map(|h| {
                h.trim_end_matches("#ask-exception")
                    .replace("&#x2F;", "/")
                    .replace("&amp;", "&")
                    .replace("&#38;", "&")
            })
            .find(|h| {
                percent_encoding::percent_decode_str(h.trim_start_matches("/finding/"))
                    .decode_utf8_lossy()
                    == key.as_str()
            })
            .unwrap_or_else(|| panic!("{b}: My page offers no exception to ask for"));

        let empty = owner.submit(
            &finding,
            "/me/exception",
            &[("key", &key), ("reason", "  ")],
        );
        assert_eq!(
            empty.status, 422,
            "{b}: an ask without a reason: {}",
            empty.body
        );
        assert!(
            steward.exception_asks(&key).unwrap_or_default().is_empty(),
            "{b}"
        );

        let why = "I work from a care home whose network blocks updates <script>";
        let asked = owner.submit(&finding, "/me/exception", &[("key", &key), ("reason", why)]);
        assert_eq!(asked.status, 303, "{b}: {}", asked.body);
        let asks = steward
            .exception_asks(&key)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(asks.len(), 1, "{b}");
        assert!(asks[0].reason.contains(why), "{b}");
        let page = owner.get(&finding);
        assert!(
            page.body
                .contains("I work from a care home whose network blocks updates &")
                && !page.body.contains("updates <script>")
                && page.body.contains("waiting for the governance team"),
            "{b}: the ask is shown, escaped: {} {}",
            page.status,
            page.body
        );

        // Someone else's finding is not theirs to ask about.
        let other = steward
            .list::<Person>()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|p| p.id != whose && p.status == PersonStatus::Active && p.manager_id.is_some())
            .unwrap_or_else(|| panic!("{b}"));
        let mut outsider = sign_in(&other.id);
        let refused = outsider.submit(
            "/me",
            "/me/exception",
            &[("key", &key), ("reason", "please")],
        );
        assert_eq!(refused.status, 403, "{b}: {}", refused.body);

        // Governance sees the ask and grants: the ask is settled.
        let seen = governance.get(&finding);
        assert!(seen.body.contains("asks for an exception"), "{b}");
        let until = (chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string();
        let granted = governance.submit(
            &finding,
            "/exceptions",
            &[
                ("key", &key),
                ("reason", "Agreed until the home's network is fixed"),
                ("expires_on", &until),
            ],
        );
        assert_eq!(granted.status, 303, "{b}: {}", granted.body);
        let asks = steward
            .exception_asks(&key)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(asks[0].acknowledged_at.is_some(), "{b}: the ask is settled");
        assert!(owner.get(&finding).body.contains("settled"), "{b}");
        server
            .stop()
            .unwrap_or_else(|e| panic!("{b}: the server failed: {e}"));
    }
}
