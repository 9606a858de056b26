//! Every request type and every incident clock, end to end through the service on each backend
//! `testing::databases` returns: one table of stories, one helper that runs them.

use chrono::{DateTime, NaiveDate, Utc};
use steward_model::*;
use steward_service::{ImportFile, RequestTerms, ServiceError, Stamp, Steward};
use steward_store::testing::databases;
use steward_workflow::{Action, Details, Reporting};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

fn person(id: &str, manager: Option<&str>, status: PersonStatus) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: None,
        staff_group: "fca".into(),
        manager_id: manager.map(Into::into),
        budget_centre: Some("BC1".into()),
        status,
        start_date: Some(date("2020-01-01")),
        leave_date: None,
        clearance: None,
        clearance_expires: None,
        byod: None,
        weekly_digest: None,
        job_title: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

fn asset(tag: &str, kind: AssetKind, holder: Option<&str>, cost: i64) -> Asset {
    Asset {
        tag: tag.into(),
        kind,
        model: None,
        serial: None,
        ownership: Ownership::Organisation,
        status: if holder.is_some() {
            AssetStatus::Allocated
        } else {
            AssetStatus::InStock
        },
        assigned_to: holder.map(Into::into),
        assigned_on: holder.map(|_| date("2025-01-06")),
        budget_centre: Some("BC1".into()),
        cost_gbp: Some(Pence(cost)),
        encrypted: Some(true),
        pin_set: Some(true),
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

/// Someone who works for M1 and has left, or is leaving, on `leave_date`.
fn leaving(id: &str, status: PersonStatus, leave_date: &str) -> Person {
    Person {
        leave_date: Some(date(leave_date)),
        ..person(id, Some("M1"), status)
    }
}

/// P1 works for M1; N1 is starting; IT1, HR1, S1 and G1 hold roles; P1 holds a laptop, a phone
/// and a SIM; stock holds a laptop, a phone and a tablet. L1 left on 2026-10-30 and still holds
/// a laptop; D1 is still active in the register, but their leave date, 2026-11-20, has passed.
fn estate() -> Estate {
    let role = |p: &str, role: Role| RoleGrant {
        person_id: p.into(),
        role,
        granted_on: None,
    };
    Estate {
        budget_centres: vec![BudgetCentre {
            code: "BC1".into(),
            name: "South".into(),
        }],
        systems: vec![System {
            name: "m365".into(),
            key_system: Some(false),
            supports_mfa: Some(true),
            restricted: None,
        }],
        people: vec![
            person("M1", None, PersonStatus::Active),
            person("P1", Some("M1"), PersonStatus::Active),
            person("P2", Some("M1"), PersonStatus::Active),
            person("N1", Some("M1"), PersonStatus::Starter),
            person("IT1", None, PersonStatus::Active),
            person("HR1", None, PersonStatus::Active),
            person("S1", None, PersonStatus::Active),
            person("G1", None, PersonStatus::Active),
            person("IA1", None, PersonStatus::Active),
            leaving("L1", PersonStatus::Leaver, "2026-10-30"),
            leaving("D1", PersonStatus::Active, "2026-11-20"),
        ],
        assets: vec![
            asset("LT1", AssetKind::Laptop, Some("P1"), 89_900),
            asset("MOB1", AssetKind::Smartphone, Some("P1"), 45_000),
            asset("SIM1", AssetKind::Sim, Some("P1"), 0),
            asset("LT2", AssetKind::Laptop, None, 89_900),
            asset("MOB2", AssetKind::Smartphone, None, 45_000),
            asset("TAB1", AssetKind::Tablet, None, 30_000),
            asset("LT3", AssetKind::Laptop, Some("L1"), 89_900),
        ],
        accounts: vec![Account {
            forwards_externally: None,
            id: "P1-m365".into(),
            person_id: Some("P1".into()),
            system: "m365".into(),
            kind: AccountKind::Standard,
            admin_rights: Some(false),
            mfa: Some(true),
            status: AccountStatus::Active,
            last_login: None,
            login: None,
            source_id: None,
            source: None,
            source_seen: None,
            missing_since: None,
        }],
        roles: vec![
            role("IT1", Role::It),
            role("HR1", Role::Hr),
            role("S1", Role::Senior),
            role("G1", Role::Governance),
            role("IA1", Role::InformationAssetOwner),
        ],
        ..Estate::default()
    }
}

fn load(steward: &Steward) -> Result<(), String> {
    let estate = estate();
    let files = ImportFile::of_estate(&estate).map_err(|e| e.to_string())?;
    steward
        .import(&Stamp::now("test"), files)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn details(pairs: &[(&str, &str)]) -> Details {
    Details::from_pairs(pairs).unwrap_or_default()
}

/// What a step should do: leave the request in a state, or be refused with words in the error.
enum Expect {
    State(RequestState),
    Refused(&'static str),
}

type Pairs = &'static [(&'static str, &'static str)];

/// An action, who takes it, what they add to the details, and what must happen.
type StoryStep = (Action, &'static str, Pairs, Expect);

struct Story {
    name: &'static str,
    kind: RequestType,
    person: &'static str,
    opened_at: &'static str,
    open: &'static [(&'static str, &'static str)],
    /// Words of the error when opening must be refused.
    refused: Option<&'static str>,
    due: Option<&'static str>,
    steps: &'static [StoryStep],
    /// What the registers must hold afterwards.
    then: fn(&Steward) -> Vec<String>,
}

fn get<R: Record>(s: &Steward, id: &str) -> Option<R> {
    s.get::<R>(id).ok().flatten()
}

fn expect(failures: &mut Vec<String>, ok: bool, what: &str) {
    if !ok {
        failures.push(what.to_owned());
    }
}

use Action::*;
use Expect::*;

const STORIES: &[Story] = &[
    Story {
        name: "new starter raised on Christmas Eve is due after the bank holidays",
        kind: RequestType::NewStarter,
        person: "N1",
        opened_at: "2026-12-24T10:00:00Z",
        refused: None,
        open: &[],
        due: Some("2026-12-31"),
        steps: &[
            (Approve, "M1", &[], Refused("needs nobody's agreement")),
            (
                Fulfil,
                "P1",
                &[("assets", "LT2")],
                Refused("fulfilled by the IT team"),
            ),
            (Fulfil, "IT1", &[], Refused("needs assets")),
            (
                Fulfil,
                "IT1",
                &[("assets", "LT1")],
                Refused("is allocated, not in stock"),
            ),
            (
                Fulfil,
                "IT1",
                &[("assets", "LT2;MOB2")],
                State(RequestState::Fulfilled),
            ),
            (
                Cancel,
                "IT1",
                &[],
                Refused("is fulfilled; it cannot be cancelled"),
            ),
        ],
        then: |s| {
            let mut f = Vec::new();
            let lt2: Option<Asset> = get(s, "LT2");
            expect(
                &mut f,
                lt2.as_ref().and_then(|a| a.assigned_to.as_deref()) == Some("N1"),
                "LT2 allocated to N1",
            );
            let n1: Option<Person> = get(s, "N1");
            expect(
                &mut f,
                n1.map(|p| p.status) == Some(PersonStatus::Active),
                "N1 active",
            );
            f
        },
    },
    Story {
        name: "a new starter raised on a Friday skips the weekend",
        kind: RequestType::NewStarter,
        person: "N1",
        opened_at: "2026-11-27T16:00:00Z",
        refused: None,
        open: &[],
        due: Some("2026-12-02"),
        steps: &[],
        then: |_| Vec::new(),
    },
    Story {
        name: "international travel approved by the line manager is what clause 2.9 reads",
        kind: RequestType::InternationalTravel,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[
            ("countries", "FR;BE"),
            ("depart_on", "2026-12-02"),
            ("return_on", "2026-12-09"),
        ],
        due: None,
        steps: &[
            (Approve, "IT1", &[], Refused("waits for line-manager")),
            (
                Fulfil,
                "IT1",
                &[],
                Refused("still waits for the agreement of line-manager"),
            ),
            (Approve, "M1", &[], State(RequestState::Approved)),
            (
                Approve,
                "M1",
                &[],
                Refused("is approved; it cannot be approved"),
            ),
            (Fulfil, "IT1", &[], State(RequestState::Fulfilled)),
        ],
        then: |s| {
            let mut f = Vec::new();
            let t: Option<Travel> = get(s, "REQ-000001");
            expect(
                &mut f,
                t.as_ref().map(|t| t.status) == Some(TravelStatus::Approved),
                "travel approved",
            );
            expect(
                &mut f,
                t.as_ref().and_then(|t| t.approved_by.as_deref()) == Some("M1"),
                "approved by M1",
            );
            expect(
                &mut f,
                t.map(|t| t.countries.to_string()) == Some("FR;BE".into()),
                "countries kept",
            );
            f
        },
    },
    Story {
        name: "travel returning before it departs is refused at the door",
        kind: RequestType::InternationalTravel,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: Some("before the departure date"),
        open: &[
            ("countries", "US"),
            ("depart_on", "2026-12-02"),
            ("return_on", "2026-12-01"),
        ],
        due: None,
        steps: &[],
        then: |_| Vec::new(),
    },
    Story {
        name: "a travel request without its countries is refused at the door",
        kind: RequestType::InternationalTravel,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: Some("international-travel needs countries"),
        open: &[("depart_on", "2026-12-02"), ("return_on", "2026-12-04")],
        due: None,
        steps: &[],
        then: |_| Vec::new(),
    },
    Story {
        name: "travel rejected by the line manager",
        kind: RequestType::InternationalTravel,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[
            ("countries", "US"),
            ("depart_on", "2026-12-02"),
            ("return_on", "2026-12-04"),
        ],
        due: None,
        steps: &[
            (
                Reject,
                "M1",
                &[("note", "not this month")],
                State(RequestState::Rejected),
            ),
            (
                Fulfil,
                "IT1",
                &[],
                Refused("is rejected; it cannot be fulfilled"),
            ),
        ],
        then: |s| {
            let t: Option<Travel> = get(s, "REQ-000001");
            if t.map(|t| t.status) == Some(TravelStatus::Rejected) {
                Vec::new()
            } else {
                vec!["travel rejected".into()]
            }
        },
    },
    Story {
        name: "travel cancelled by the traveller",
        kind: RequestType::InternationalTravel,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[
            ("countries", "US"),
            ("depart_on", "2026-12-02"),
            ("return_on", "2026-12-04"),
        ],
        due: None,
        steps: &[
            (Cancel, "P2", &[], Refused("only the person")),
            (Cancel, "P1", &[], State(RequestState::Cancelled)),
            (
                Reject,
                "M1",
                &[],
                Refused("is cancelled; it cannot be rejected"),
            ),
        ],
        then: |s| {
            let t: Option<Travel> = get(s, "REQ-000001");
            if t.map(|t| t.status) == Some(TravelStatus::Cancelled) {
                Vec::new()
            } else {
                vec!["travel cancelled".into()]
            }
        },
    },
    Story {
        name: "a leaver: accounts disabled, items tracked back, the unreturned charged, the manager told",
        kind: RequestType::UserAccountDelete,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("leave_date", "2026-11-30")],
        due: Some("2026-11-30"),
        steps: &[(
            Fulfil,
            "IT1",
            &[("returned", "LT1;SIM1")],
            State(RequestState::Fulfilled),
        )],
        then: |s| {
            let mut f = Vec::new();
            let a: Option<Account> = get(s, "P1-m365");
            expect(
                &mut f,
                a.map(|a| a.status) == Some(AccountStatus::Disabled),
                "account disabled",
            );
            let lt1: Option<Asset> = get(s, "LT1");
            expect(
                &mut f,
                lt1.map(|a| (a.status, a.assigned_to)) == Some((AssetStatus::InStock, None)),
                "LT1 back in stock",
            );
            let mob1: Option<Asset> = get(s, "MOB1");
            expect(
                &mut f,
                mob1.map(|a| a.status) == Some(AssetStatus::Lost),
                "MOB1 unreturned",
            );
            let charge: Option<Charge> = get(s, "REQ-000001-MOB1");
            expect(
                &mut f,
                charge.map(|c| (c.amount_gbp, c.budget_centre))
                    == Some((Pence(45_000), Some("BC1".into()))),
                "MOB1 charged at cost to BC1",
            );
            let p1: Option<Person> = get(s, "P1");
            expect(
                &mut f,
                p1.map(|p| (p.status, p.leave_date))
                    == Some((PersonStatus::Leaver, Some(date("2026-11-30")))),
                "P1 a leaver",
            );
            let told = s
                .request("REQ-000001")
                .map(|v| {
                    v.notifications
                        .iter()
                        .any(|n| n.recipient == "M1" && n.reason.contains("MOB1"))
                })
                .unwrap_or(false);
            expect(&mut f, told, "M1 told of MOB1");
            f
        },
    },
    Story {
        name: "extended absence without keeping in touch: accounts suspended, nothing deleted",
        kind: RequestType::UserAccountSuspend,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("from", "2026-12-01")],
        due: Some("2026-12-01"),
        steps: &[(Fulfil, "IT1", &[], State(RequestState::Fulfilled))],
        then: |s| {
            let mut f = Vec::new();
            let a: Option<Account> = get(s, "P1-m365");
            expect(
                &mut f,
                a.map(|a| a.status) == Some(AccountStatus::Suspended),
                "account suspended",
            );
            let lt1: Option<Asset> = get(s, "LT1");
            expect(
                &mut f,
                lt1.map(|a| a.status) == Some(AssetStatus::InStock),
                "laptop returned",
            );
            f
        },
    },
    Story {
        name: "extended absence with a keeping-in-touch agreement keeps everything",
        kind: RequestType::UserAccountSuspend,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("keeping_in_touch", "yes")],
        due: None,
        steps: &[(Fulfil, "IT1", &[], State(RequestState::Fulfilled))],
        then: |s| {
            let mut f = Vec::new();
            let a: Option<Account> = get(s, "P1-m365");
            expect(
                &mut f,
                a.map(|a| a.status) == Some(AccountStatus::Active),
                "account still active",
            );
            let p: Option<Person> = get(s, "P1");
            expect(
                &mut f,
                p.map(|p| p.status) == Some(PersonStatus::Absent),
                "P1 absent",
            );
            f
        },
    },
    Story {
        name: "return to work within the lead time",
        kind: RequestType::UserAccountReturnToWork,
        person: "P1",
        opened_at: "2026-12-31T09:00:00Z",
        refused: None,
        open: &[],
        due: Some("2027-01-06"),
        steps: &[(Fulfil, "IT1", &[], State(RequestState::Fulfilled))],
        then: |s| {
            let p: Option<Person> = get(s, "P1");
            if p.map(|p| p.status) == Some(PersonStatus::Active) {
                Vec::new()
            } else {
                vec!["P1 active".into()]
            }
        },
    },
    Story {
        name: "particular needs: HR and IT both agree, the adjustment is recorded and charged",
        kind: RequestType::ParticularNeeds,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[
            ("source", "access_to_work"),
            ("device_kind", "laptop"),
            ("cost_gbp", "250.00"),
        ],
        due: None,
        steps: &[
            (Approve, "M1", &[], Refused("waits for hr and it")),
            (Approve, "HR1", &[], State(RequestState::Open)),
            (
                Fulfil,
                "IT1",
                &[],
                Refused("still waits for the agreement of it"),
            ),
            (Approve, "IT1", &[], State(RequestState::Approved)),
            (Fulfil, "IT1", &[], State(RequestState::Fulfilled)),
        ],
        then: |s| {
            let mut f = Vec::new();
            let adjustments: Vec<Adjustment> = s.list().unwrap_or_default();
            expect(
                &mut f,
                adjustments.iter().any(|a| {
                    a.person_id == "P1"
                        && a.source == AdjustmentSource::AccessToWork
                        && a.device_kind == AssetKind::Laptop
                }),
                "adjustment recorded",
            );
            let charge: Option<Charge> = get(s, "REQ-000001-charge");
            expect(
                &mut f,
                charge.map(|c| c.amount_gbp) == Some(Pence(25_000)),
                "charged £250",
            );
            f
        },
    },
    Story {
        name: "additional equipment on local funding",
        kind: RequestType::AdditionalEquipment,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[
            ("device_kind", "tablet"),
            ("funding", "local"),
            ("asset_tag", "TAB1"),
            ("cost_gbp", "300.00"),
        ],
        due: None,
        steps: &[
            (Approve, "IT1", &[], State(RequestState::Approved)),
            (Fulfil, "IT1", &[], State(RequestState::Fulfilled)),
        ],
        then: |s| {
            let mut f = Vec::new();
            let charge: Option<Charge> = get(s, "REQ-000001-charge");
            expect(
                &mut f,
                charge.and_then(|c| c.budget_centre) == Some("BC1".into()),
                "charged to the local budget",
            );
            let tab: Option<Asset> = get(s, "TAB1");
            expect(
                &mut f,
                tab.and_then(|a| a.assigned_to) == Some("P1".into()),
                "tablet allocated",
            );
            f
        },
    },
    Story {
        name: "a faulty phone swapped",
        kind: RequestType::FaultReplacement,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("asset_tag", "MOB1")],
        due: None,
        steps: &[
            (
                Fulfil,
                "IT1",
                &[("replacement_tag", "LT1")],
                Refused("is allocated, not in stock"),
            ),
            (
                Fulfil,
                "IT1",
                &[("replacement_tag", "MOB2")],
                State(RequestState::Fulfilled),
            ),
        ],
        then: |s| {
            let mut f = Vec::new();
            let old: Option<Asset> = get(s, "MOB1");
            expect(
                &mut f,
                old.map(|a| a.status) == Some(AssetStatus::InRepair),
                "MOB1 in repair",
            );
            let new: Option<Asset> = get(s, "MOB2");
            expect(
                &mut f,
                new.and_then(|a| a.assigned_to) == Some("P1".into()),
                "MOB2 with P1",
            );
            f
        },
    },
    Story {
        name: "equipment returned damaged is charged",
        kind: RequestType::EquipmentReturn,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("asset_tag", "LT1")],
        due: None,
        steps: &[(
            Fulfil,
            "IT1",
            &[("condition", "damaged")],
            State(RequestState::Fulfilled),
        )],
        then: |s| {
            let mut f = Vec::new();
            let lt1: Option<Asset> = get(s, "LT1");
            expect(
                &mut f,
                lt1.map(|a| a.status) == Some(AssetStatus::Damaged),
                "LT1 damaged",
            );
            let charge: Option<Charge> = get(s, "REQ-000001-LT1");
            expect(
                &mut f,
                charge.map(|c| c.amount_gbp) == Some(Pence(89_900)),
                "charged at cost",
            );
            f
        },
    },
    Story {
        name: "access to a system not granted by default",
        kind: RequestType::SystemAccess,
        person: "P2",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("system", "m365"), ("mfa", "yes")],
        due: None,
        steps: &[
            (Approve, "M1", &[], State(RequestState::Approved)),
            (Fulfil, "IT1", &[], State(RequestState::Fulfilled)),
        ],
        then: |s| {
            let a: Option<Account> = get(s, "P2-m365");
            if a.map(|a| (a.status, a.mfa)) == Some((AccountStatus::Active, Some(true))) {
                Vec::new()
            } else {
                vec!["account opened with MFA".into()]
            }
        },
    },
    Story {
        name: "removable media only encrypted",
        kind: RequestType::RemovableMedia,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("business_need", "court bundle"), ("case_reference", "C-1")],
        due: None,
        steps: &[
            (Approve, "M1", &[], State(RequestState::Open)),
            (Approve, "IT1", &[], State(RequestState::Approved)),
            (Fulfil, "IT1", &[], Refused("must be encrypted")),
            (
                Fulfil,
                "IT1",
                &[("encrypted", "yes")],
                State(RequestState::Fulfilled),
            ),
        ],
        then: |s| {
            let m: Option<RemovableMedium> = get(s, "REQ-000001");
            if m.map(|m| (m.encrypted, m.approved_by, m.holder_id))
                == Some((true, "IT1".into(), "P1".into()))
            {
                Vec::new()
            } else {
                vec!["medium registered".into()]
            }
        },
    },
    Story {
        name: "a PAC code on leaving",
        kind: RequestType::PacCode,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[],
        due: None,
        steps: &[(Fulfil, "IT1", &[], State(RequestState::Fulfilled))],
        then: |_| Vec::new(),
    },
    Story {
        name: "access to another user's mailbox needs senior authorisation and they are told",
        kind: RequestType::AccessToAnotherUser,
        person: "P1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("target", "P2"), ("reason", "urgent court deadline")],
        due: None,
        steps: &[
            (Approve, "M1", &[], Refused("waits for senior")),
            (Approve, "S1", &[], State(RequestState::Approved)),
            (Fulfil, "IT1", &[], State(RequestState::Fulfilled)),
        ],
        then: |s| {
            let told = s
                .request("REQ-000001")
                .map(|v| v.notifications.iter().any(|n| n.recipient == "P2"))
                .unwrap_or(false);
            if told {
                Vec::new()
            } else {
                vec!["P2 to be told".into()]
            }
        },
    },
    Story {
        name: "a tablet booked",
        kind: RequestType::TabletBooking,
        person: "P2",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("from", "2026-12-01"), ("to", "2026-12-03")],
        due: None,
        steps: &[
            (
                Fulfil,
                "IT1",
                &[("asset_tag", "LT2")],
                Refused("not a tablet"),
            ),
            (
                Fulfil,
                "IT1",
                &[("asset_tag", "TAB1")],
                State(RequestState::Fulfilled),
            ),
        ],
        then: |s| {
            let tab: Option<Asset> = get(s, "TAB1");
            if tab.map(|a| (a.status, a.assigned_to))
                == Some((AssetStatus::OnLoan, Some("P2".into())))
            {
                Vec::new()
            } else {
                vec!["TAB1 on loan to P2".into()]
            }
        },
    },
    Story {
        name: "no travel is raised for someone who has left",
        kind: RequestType::InternationalTravel,
        person: "L1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: Some(
            "L1 has left (leaver since 2026-10-30): an international-travel request cannot be raised for them",
        ),
        open: &[
            ("countries", "FR;BE"),
            ("depart_on", "2026-12-02"),
            ("return_on", "2026-12-09"),
        ],
        due: None,
        steps: &[],
        then: |_| Vec::new(),
    },
    Story {
        name: "a leave date passed is leaving, whatever the status says",
        kind: RequestType::InternationalTravel,
        person: "D1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: Some(
            "D1 has left (leave date 2026-11-20 passed): an international-travel request cannot be raised for them",
        ),
        open: &[
            ("countries", "US"),
            ("depart_on", "2026-12-02"),
            ("return_on", "2026-12-04"),
        ],
        due: None,
        steps: &[],
        then: |_| Vec::new(),
    },
    Story {
        name: "no system access for someone who has left",
        kind: RequestType::SystemAccess,
        person: "L1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: Some(
            "L1 has left (leaver since 2026-10-30): a system-access request cannot be raised for them",
        ),
        open: &[("system", "m365")],
        due: None,
        steps: &[],
        then: |_| Vec::new(),
    },
    Story {
        name: "a leaver's accounts are still deleted and their kit tracked back",
        kind: RequestType::UserAccountDelete,
        person: "L1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("leave_date", "2026-10-30")],
        due: Some("2026-10-30"),
        steps: &[(
            Fulfil,
            "IT1",
            &[("returned", "LT3")],
            State(RequestState::Fulfilled),
        )],
        then: |s| {
            let lt3: Option<Asset> = get(s, "LT3");
            if lt3.map(|a| (a.status, a.assigned_to)) == Some((AssetStatus::InStock, None)) {
                Vec::new()
            } else {
                vec!["LT3 back in stock".into()]
            }
        },
    },
    Story {
        name: "a leaver still hands equipment back",
        kind: RequestType::EquipmentReturn,
        person: "L1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[("asset_tag", "LT3")],
        due: None,
        steps: &[(Fulfil, "IT1", &[], State(RequestState::Fulfilled))],
        then: |s| {
            let lt3: Option<Asset> = get(s, "LT3");
            if lt3.map(|a| a.status) == Some(AssetStatus::InStock) {
                Vec::new()
            } else {
                vec!["LT3 back in stock".into()]
            }
        },
    },
    Story {
        name: "a leaver may still ask for a PAC code",
        kind: RequestType::PacCode,
        person: "D1",
        opened_at: "2026-11-24T09:00:00Z",
        refused: None,
        open: &[],
        due: None,
        steps: &[(Fulfil, "IT1", &[], State(RequestState::Fulfilled))],
        then: |_| Vec::new(),
    },
];

/// A travel request P1 raises on 2026-11-24, then a change to P1's record, then a step: what
/// happens to a request whose person leaves while it is open or approved.
struct SinceLeft {
    name: &'static str,
    /// Whether M1 approves before the change.
    approved_first: bool,
    change: Pairs,
    step: (Action, &'static str, &'static str),
    expect: Expect,
}

const SINCE_LEFT: &[SinceLeft] = &[
    SinceLeft {
        name: "made a leaver: not approved",
        approved_first: false,
        change: &[("status", "leaver"), ("leave_date", "2026-11-25")],
        step: (Approve, "M1", "2026-11-26T09:00:00Z"),
        expect: Refused(
            "P1 has left (leaver since 2026-11-25): an international-travel request cannot be approved for them",
        ),
    },
    SinceLeft {
        name: "leave date passed: not approved",
        approved_first: false,
        change: &[("leave_date", "2026-11-25")],
        step: (Approve, "M1", "2026-11-26T09:00:00Z"),
        expect: Refused(
            "P1 has left (leave date 2026-11-25 passed): an international-travel request cannot be approved for them",
        ),
    },
    SinceLeft {
        name: "leaving on the day of the approval: still here, approved",
        approved_first: false,
        change: &[("leave_date", "2026-11-26")],
        step: (Approve, "M1", "2026-11-26T09:00:00Z"),
        expect: State(RequestState::Approved),
    },
    SinceLeft {
        name: "made a leaver: it can still be rejected",
        approved_first: false,
        change: &[("status", "leaver"), ("leave_date", "2026-11-25")],
        step: (Reject, "M1", "2026-11-26T09:00:00Z"),
        expect: State(RequestState::Rejected),
    },
    SinceLeft {
        name: "made a leaver: it can still be cancelled",
        approved_first: false,
        change: &[("status", "leaver")],
        step: (Cancel, "M1", "2026-11-26T09:00:00Z"),
        expect: State(RequestState::Cancelled),
    },
    SinceLeft {
        name: "approved, then left: not fulfilled",
        approved_first: true,
        change: &[("status", "leaver"), ("leave_date", "2026-11-25")],
        step: (Fulfil, "IT1", "2026-11-26T09:00:00Z"),
        expect: Refused(
            "P1 has left (leaver since 2026-11-25): an international-travel request cannot be fulfilled for them",
        ),
    },
];

#[test]
fn a_request_whose_person_has_since_left_is_not_carried_on() {
    let mut failures = Vec::new();
    for case in SINCE_LEFT {
        for db in databases("since_left") {
            let b = db.backend;
            let mut fail = |what: String| failures.push(format!("[{b}] {}: {what}", case.name));
            let steward = match Steward::open(&db.url) {
                Ok(s) => s,
                Err(e) => {
                    fail(format!("cannot open: {e}"));
                    continue;
                }
            };
            if let Err(e) = load(&steward) {
                fail(format!("load: {e}"));
                continue;
            }
            let opened_at = at("2026-11-24T09:00:00Z");
            let travel = details(&[
                ("countries", "FR"),
                ("depart_on", "2026-12-07"),
                ("return_on", "2026-12-09"),
            ]);
            let id = match steward.open_request(
                &Stamp::at("test", opened_at),
                RequestType::InternationalTravel,
                "P1",
                None,
                travel,
                3,
            ) {
                Ok(v) => v.request.id,
                Err(e) => {
                    fail(format!("open: {e}"));
                    continue;
                }
            };
            if case.approved_first
                && let Err(e) = steward.act_on_request(
                    &Stamp::at("M1", opened_at + chrono::Duration::hours(1)),
                    &id,
                    Approve,
                    "M1",
                    Details::default(),
                )
            {
                fail(format!("approve before leaving: {e}"));
                continue;
            }
            let change: Vec<(String, String)> = case
                .change
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            if let Err(e) = steward.set_fields(
                &Stamp::at("test", opened_at + chrono::Duration::hours(2)),
                Register::People,
                "P1",
                &change,
            ) {
                fail(format!("change P1: {e}"));
                continue;
            }
            let (action, actor, when) = case.step;
            let before = steward.request(&id).map(|v| v.request.state).ok();
            let result = steward.act_on_request(
                &Stamp::at(actor, at(when)),
                &id,
                action,
                actor,
                Details::default(),
            );
            let after = steward.request(&id).map(|v| v.request.state).ok();
            match (result, &case.expect) {
                (Ok(v), State(state)) if v.request.state == *state => {}
                (Ok(v), State(state)) => fail(format!("{}, expected {state}", v.request.state)),
                (Ok(v), Refused(words)) => fail(format!(
                    "allowed ({}), expected refusal with {words:?}",
                    v.request.state
                )),
                (Err(e), Refused(words)) if e.to_string() == *words => {
                    if after != before {
                        fail(format!("refused, yet the request moved to {after:?}"));
                    }
                }
                (Err(e), _) => fail(format!("{e}")),
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_request_type_runs_its_course_on_every_backend() {
    let mut failures = Vec::new();
    for story in STORIES {
        // Each story starts from the same organisation, in a database of its own.
        for db in databases("request") {
            run_story(&db.url, story, 3.into(), &mut failures, db.backend);
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn run_story(
    url: &str,
    story: &Story,
    terms: RequestTerms,
    failures: &mut Vec<String>,
    backend: steward_store::Backend,
) {
    let fail = |failures: &mut Vec<String>, what: String| {
        failures.push(format!("[{backend}] {}: {what}", story.name));
    };
    let Ok(steward) = Steward::open(url) else {
        return fail(failures, "cannot open".into());
    };
    if let Err(e) = load(&steward) {
        return fail(failures, format!("load: {e}"));
    }
    let opened = steward.open_request(
        &Stamp::at("test", at(story.opened_at)),
        story.kind,
        story.person,
        None,
        details(story.open),
        terms,
    );
    let view = match (opened, story.refused) {
        (Ok(v), None) => v,
        (Err(e), Some(words)) if e.to_string().contains(words) => {
            if steward.store().count(Register::Requests).unwrap_or(1) != 0 {
                fail(failures, "a refused request left a row behind".into());
            }
            return;
        }
        (Ok(_), Some(words)) => {
            return fail(failures, format!("opened; expected refusal with {words:?}"));
        }
        (Err(e), _) => return fail(failures, format!("open: {e}")),
    };
    if view.request.due_on != story.due.map(date) {
        fail(
            failures,
            format!("due {:?}, expected {:?}", view.request.due_on, story.due),
        );
    }
    let head = |s: &Steward| s.store().audit_head().map(|h| h.0).unwrap_or(-1);
    for (n, (action, actor, extra, expected)) in story.steps.iter().enumerate() {
        let before = head(&steward);
        let result = steward.act_on_request(
            &Stamp::at(
                *actor,
                at(story.opened_at) + chrono::Duration::hours(n as i64 + 1),
            ),
            &view.request.id,
            *action,
            actor,
            details(extra),
        );
        match (result, expected) {
            (Ok(v), State(state)) if v.request.state == *state => {
                if head(&steward) <= before {
                    fail(failures, format!("step {n}: nothing audited"));
                }
            }
            (Ok(v), State(state)) => fail(
                failures,
                format!("step {n}: {}, expected {state}", v.request.state),
            ),
            (Ok(v), Refused(words)) => fail(
                failures,
                format!(
                    "step {n}: allowed ({}), expected refusal with {words:?}",
                    v.request.state
                ),
            ),
            (Err(e), Refused(words)) if e.to_string().contains(words) => {
                if head(&steward) != before {
                    fail(
                        failures,
                        format!("step {n}: refused, yet something changed"),
                    );
                }
                if !matches!(e, ServiceError::Workflow(_)) {
                    fail(
                        failures,
                        format!("step {n}: refused by {e:?}, not by the workflow"),
                    );
                }
            }
            (Err(e), _) => fail(failures, format!("step {n}: {e}")),
        }
    }
    for problem in (story.then)(&steward) {
        fail(failures, problem);
    }
    // The chain holds over every change the story made.
    if !matches!(steward.verify_audit(), Ok(Ok(_))) {
        fail(failures, "the audit chain does not verify".into());
    }
}

/// Requests opened under packs that name their approvers: (who must agree, what is kept on the
/// request, who was told it waited for them and by whom each notice was answered, the story).
type AsThePacksSay = (
    &'static [ApproverRole],
    &'static str,
    &'static [(&'static str, &'static str)],
    Story,
);

const AS_THE_PACKS_SAY: &[AsThePacksSay] = &[
    (
        // IT 5.0 2.18: "advisable to seek manager approval" — the manager alone, not IT as well.
        &[ApproverRole::LineManager],
        "line-manager",
        &[("M1", "M1")],
        Story {
            name: "removable media agreed by the line manager alone",
            kind: RequestType::RemovableMedia,
            person: "P1",
            opened_at: "2026-11-24T09:00:00Z",
            refused: None,
            open: &[("business_need", "court bundle"), ("case_reference", "C-1")],
            due: None,
            steps: &[
                (Approve, "IT1", &[], Refused("waits for line-manager")),
                (Approve, "M1", &[], State(RequestState::Approved)),
                (
                    Fulfil,
                    "IT1",
                    &[("encrypted", "yes")],
                    State(RequestState::Fulfilled),
                ),
            ],
            then: |s| {
                let m: Option<RemovableMedium> = get(s, "REQ-000001");
                if m.map(|m| m.approved_by) == Some("M1".into()) {
                    Vec::new()
                } else {
                    vec!["medium registered as the manager agreed".into()]
                }
            },
        },
    ),
    (
        // IA 1.4 names the information asset owner; IT 5.0 2.6(u) the IT team: both must agree.
        &[ApproverRole::It, ApproverRole::Iao],
        "it;iao",
        &[
            ("it-service-desk", "IT1"),
            ("information-asset-owners", "IA1"),
        ],
        Story {
            name: "system access agreed by IT and the asset's owner, not the line manager",
            kind: RequestType::SystemAccess,
            person: "P2",
            opened_at: "2026-11-24T09:00:00Z",
            refused: None,
            open: &[("system", "m365")],
            due: None,
            steps: &[
                (Approve, "M1", &[], Refused("waits for it and iao")),
                (Approve, "IA1", &[], State(RequestState::Open)),
                (Fulfil, "IT1", &[], Refused("")),
                (Approve, "IT1", &[], State(RequestState::Approved)),
                (Fulfil, "IT1", &[], State(RequestState::Fulfilled)),
            ],
            then: |_| Vec::new(),
        },
    ),
    (
        // A pack that says nobody agrees (kept as `none`): IT fulfils at once.
        &[],
        "none",
        &[],
        Story {
            name: "removable media no one need agree to",
            kind: RequestType::RemovableMedia,
            person: "P1",
            opened_at: "2026-11-24T09:00:00Z",
            refused: None,
            open: &[("business_need", "court bundle"), ("case_reference", "C-1")],
            due: None,
            steps: &[
                (Approve, "M1", &[], Refused("needs nobody's agreement")),
                (
                    Fulfil,
                    "IT1",
                    &[("encrypted", "yes")],
                    State(RequestState::Fulfilled),
                ),
            ],
            then: |_| Vec::new(),
        },
    ),
];

#[test]
fn a_request_waits_for_the_parties_the_packs_named_when_it_opened() {
    let mut failures = Vec::new();
    for (approvers, kept, told, story) in AS_THE_PACKS_SAY {
        for db in databases("request_approvers") {
            let terms = RequestTerms {
                lead_working_days: 3,
                approvers: Some(approvers.to_vec()),
            };
            run_story(&db.url, story, terms, &mut failures, db.backend);
            let Ok(steward) = Steward::open(&db.url) else {
                continue;
            };
            let request: Option<Request> = get(&steward, "REQ-000001");
            if request.as_ref().and_then(|r| r.approvers.as_deref()) != Some(*kept) {
                failures.push(format!(
                    "[{}] {}: kept {:?}, expected {kept:?}",
                    db.backend,
                    story.name,
                    request.map(|r| r.approvers)
                ));
            }
            // Each party was told the request waited for them, and answered it by deciding.
            let mut notices: Vec<(String, String)> = steward
                .list::<Notification>()
                .unwrap_or_default()
                .into_iter()
                .filter(|n| n.about == "REQ-000001")
                .map(|n| (n.recipient, n.acknowledged_by.unwrap_or_default()))
                .collect();
            notices.sort();
            let mut expected: Vec<(String, String)> = told
                .iter()
                .map(|(to, by)| ((*to).to_owned(), (*by).to_owned()))
                .collect();
            expected.sort();
            if notices != expected {
                failures.push(format!(
                    "[{}] {}: told {notices:?}, expected {expected:?}",
                    db.backend, story.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn incidents_keep_their_clocks_and_tell_whom_they_must() {
    for db in databases("incidents") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        load(&steward).unwrap_or_else(|e| panic!("{e}"));
        let stamp = |t: &str| Stamp::at("test", at(t));
        let ctcic = Reporting { window_hours: 24 };

        // A phone lost, reported within CTCIC's 24 hours: the phone and SIM flagged, three told.
        let loss = steward
            .report_incident(
                &stamp("2026-11-24T18:00:00Z"),
                IncidentType::Loss,
                "P1",
                details(&[
                    ("asset_tag", "MOB1"),
                    ("discovered_at", "2026-11-24T09:00:00Z"),
                ]),
                ctcic,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loss.incident.late, Some(false));
        assert_eq!(loss.incident.report_by, Some(at("2026-11-25T09:00:00Z")));
        let mob1: Option<Asset> = get(&steward, "MOB1");
        assert_eq!(mob1.map(|a| a.status), Some(AssetStatus::Lost));
        let kept = Details::parse(loss.incident.details.as_deref()).unwrap_or_default();
        assert_eq!(kept.get("flagged_sims"), Some("SIM1"));
        assert_eq!(kept.get("flagged_accounts"), Some("P1-m365"));
        let mut told: Vec<&str> = loss
            .notifications
            .iter()
            .map(|n| n.recipient.as_str())
            .collect();
        told.sort_unstable();
        assert_eq!(told, ["M1", "information-governance", "it-service-desk"]);

        // Theft reported 30 hours after discovery is late; the police are among those told.
        let theft = steward
            .report_incident(
                &stamp("2026-11-25T15:00:00Z"),
                IncidentType::Theft,
                "P1",
                details(&[
                    ("asset_tag", "LT1"),
                    ("discovered_at", "2026-11-24T09:00:00Z"),
                ]),
                ctcic,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(theft.incident.late, Some(true));
        assert!(theft.notifications.iter().any(|n| n.recipient == "police"));
        assert!(
            steward
                .report_incident(
                    &stamp("2026-11-25T15:00:00Z"),
                    IncidentType::Loss,
                    "P1",
                    details(&[]),
                    ctcic
                )
                .is_err_and(|e| e.to_string().contains("needs asset_tag")),
        );

        // A data breach: the ICO's 72 hours run from awareness; it cannot close without its record.
        let breach = steward
            .report_incident(
                &stamp("2026-11-24T12:00:00Z"),
                IncidentType::DataBreach,
                "P2",
                details(&[
                    ("discovered_at", "2026-11-24T10:30:00Z"),
                    ("facts", "email to the wrong party"),
                ]),
                Reporting { window_hours: 0 },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            breach.incident.ico_notify_by,
            Some(at("2026-11-27T10:30:00Z"))
        );
        assert_eq!(
            breach.incident.late,
            Some(true),
            "immediately means within the hour"
        );
        let id = breach.incident.id.clone();
        let update = |actor: &str, action: &str, pairs: &[(&str, &str)]| {
            steward.update_incident(
                &stamp("2026-11-25T09:00:00Z"),
                &id,
                action,
                actor,
                details(pairs),
            )
        };
        assert!(
            update("P2", "investigate", &[])
                .is_err_and(|e| e.to_string().contains("IT and governance"))
        );
        assert!(update("G1", "investigate", &[]).is_ok());
        assert!(update("G1", "close", &[]).is_err_and(|e| {
            e.to_string()
                .contains("lacks effects, remedial_action, ico_decision, ico_reasons")
        }));
        assert!(
            update(
                "G1",
                "record",
                &[
                    ("effects", "one family's address disclosed"),
                    ("remedial_action", "recalled; apology"),
                    ("ico_decision", "notify"),
                    ("ico_reasons", "risk to the family")
                ]
            )
            .is_ok()
        );
        assert!(
            update("G1", "close", &[]).is_err_and(|e| e.to_string().contains("ico_notified_at"))
        );
        let closed = update(
            "G1",
            "close",
            &[("ico_notified_at", "2026-11-26T10:00:00Z")],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(closed.incident.state, IncidentState::Closed);
        assert!(update("G1", "record", &[]).is_err_and(|e| e.to_string().contains("is closed")));

        // Acknowledgements: only the party told may record it, once.
        let ack = |who: &str, recipient: &str| {
            steward.acknowledge(
                &stamp("2026-11-24T19:00:00Z"),
                &loss.incident.id,
                recipient,
                who,
            )
        };
        assert!(ack("P2", "M1").is_err_and(|e| e.to_string().contains("the notice is for M1")));
        assert!(ack("M1", "M1").is_ok());
        assert!(ack("M1", "M1").is_err_and(|e| e.to_string().contains("acknowledged")));
        assert!(ack("G1", "it-service-desk").is_err());
        assert!(ack("IT1", "it-service-desk").is_ok());
        let view = steward
            .incident(&loss.incident.id)
            .unwrap_or_else(|e| panic!("{e}"));
        let pending: Vec<&str> = view
            .notifications
            .iter()
            .filter(|n| n.acknowledged_at.is_none())
            .map(|n| n.recipient.as_str())
            .collect();
        assert_eq!(pending, ["information-governance"], "{}", db.backend);
    }
}

#[test]
fn the_calendar_is_the_register_once_imported() {
    for db in databases("calendar") {
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        // Nothing imported: the shipped England and Wales holidays.
        let shipped = steward.calendar().unwrap_or_default();
        assert_eq!(
            shipped.add_working_days(date("2026-12-24"), 3),
            date("2026-12-31")
        );
        // An organisation that also closes on 29 December 2026.
        let mut holidays: Vec<_> = shipped.holidays().cloned().collect();
        holidays.push(steward_calendar::BankHoliday {
            date: date("2026-12-29"),
            title: "Office closed".into(),
            notes: String::new(),
        });
        let own = steward_calendar::Calendar::from_holidays(holidays);
        let summary = steward
            .import_calendar(&Stamp::now("test"), &own)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(summary.created, own.holidays().count());
        let now = steward.calendar().unwrap_or_default();
        assert_eq!(
            now.add_working_days(date("2026-12-24"), 3),
            date("2027-01-04"),
            "{}",
            db.backend
        );
        let again = steward
            .import_calendar(&Stamp::now("test"), &own)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((again.created, again.updated), (0, 0));
    }
}

#[test]
fn writers_racing_to_raise_each_get_a_request_of_their_own() {
    const WRITERS: usize = 4;
    for db in databases("workflow_race") {
        let b = db.backend;
        let stewards: Vec<Steward> = (0..WRITERS)
            .map(|_| Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}")))
            .collect();
        load(&stewards[0]).unwrap_or_else(|e| panic!("{b}: {e}"));
        let barrier = std::sync::Barrier::new(WRITERS);
        let ids: Vec<String> = std::thread::scope(|scope| {
            let writers: Vec<_> = stewards
                .iter()
                .enumerate()
                .map(|(i, steward)| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        steward
                            .open_request(
                                &Stamp::at(format!("writer {i}"), at("2026-11-24T09:00:00Z")),
                                RequestType::PacCode,
                                "P1",
                                None,
                                details(&[("note", &format!("writer {i}"))]),
                                3,
                            )
                            .unwrap_or_else(|e| panic!("{b}: writer {i}: {e}"))
                            .request
                            .id
                    })
                })
                .collect();
            writers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| panic!("{b}: a writer panicked"))
                })
                .collect()
        });
        let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), WRITERS, "{b}: {ids:?}");
        // Each request still says whose it was: none was overwritten by another's.
        let requests: Vec<Request> = stewards[0].list().unwrap_or_else(|e| panic!("{b}: {e}"));
        let pac: Vec<&Request> = requests
            .iter()
            .filter(|r| r.kind == RequestType::PacCode)
            .collect();
        assert_eq!(pac.len(), WRITERS, "{b}: {pac:?}");
        for i in 0..WRITERS {
            assert!(
                pac.iter().any(|r| r
                    .details
                    .as_deref()
                    .is_some_and(|d| d.contains(&format!("writer {i}")))),
                "{b}: writer {i}'s request is gone: {pac:?}"
            );
        }
    }
}
