//! The records the policies' processes keep: the working-day calendar, who holds which role, the
//! service requests of the last two months with their approvals, incidents and who was told,
//! charges for unreturned kit, and the governance registers (removable media, the retention
//! schedule and the records under it, the destruction log, archived files, information assets and
//! their access reviews, the offices' recurring tasks, courses and policy reviews).
//!
//! Everything here is drawn after the people, kit and travel exist, and only refers to them: it
//! never changes a row of the earlier registers. Each register comes back sorted by id or key.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use steward_calendar::Calendar;
use steward_model::{
    AccessReview, Approval, ApproverRole, ArchivedFile, Asset, AssetKind, AssetStatus, BankHoliday,
    Charge, Course, Decision, Destruction, DisposalMethod, HeldRecord, IcoDecision, Incident,
    IncidentState, IncidentType, InformationAsset, Notification, Ownership, Pence, Person,
    PersonStatus, PolicyReview, RecurringTask, RemovableMedium, Request, RequestState, RequestType,
    RetentionRule, Role, RoleGrant, TaskCompletion, Travel, TravelStatus,
};

use crate::Holdings;
use crate::catalogue::{ADMIN_COURSE, ASSURANCE_PACK, MANDATORY_COURSES, POLICY_PACK, SYSTEMS};
use crate::people::{Centres, Draft, Group};
use crate::rng::Rng;
use crate::stream;
use crate::time::{Clock, DAY, HOUR, before, date_between, shift};

/// What the processes are drawn from: the organisation as generated so far.
pub(crate) struct Input<'a> {
    pub seed: u64,
    pub clock: Clock,
    pub drafts: &'a [Draft],
    pub people: &'a [Person],
    pub assets: &'a [Asset],
    pub holdings: &'a Holdings,
    pub travel: &'a [Travel],
    pub centres: &'a Centres,
}

/// The processes' registers, each sorted by id or key, in an estate whose other registers are
/// left empty (the caller fills them).
pub(crate) type Processes = steward_model::Estate;

/// How far back the requests and incidents go.
const WINDOW_DAYS: i64 = 60;

/// The new-starter and return-to-work lead time, in working days.
const LEAD_WORKING_DAYS: u32 = 3;

/// Generates every process register.
pub(crate) fn generate(input: &Input<'_>) -> Processes {
    let calendar = Calendar::shipped();
    let mut out = Processes {
        bank_holidays: bank_holidays(&calendar),
        courses: courses(),
        policy_reviews: policy_reviews(input.clock.today),
        retention_schedule: retention_schedule(),
        ..Processes::default()
    };
    if input.people.is_empty() {
        // Nobody to hold a role, raise a request or own a record.
        return out;
    }
    let ctx = Ctx::new(input);

    let asset_count = information_asset_count(input.people.len());
    let mut rng = Rng::new(input.seed, stream::ROLES);
    let (holders, roles) = roles(&mut rng, &ctx, asset_count);
    out.roles = roles;

    let mut rng = Rng::new(input.seed, stream::GOVERNANCE);
    let (information_assets, access_reviews) =
        information_assets(&mut rng, &ctx, &holders, asset_count);
    out.information_assets = information_assets;
    out.access_reviews = access_reviews;
    let held = records(&mut rng, &ctx, &holders);
    out.records = held.records;
    out.archives = held.archives;
    let mut destructions = held.destructions;

    let mut rng = Rng::new(input.seed, stream::TASKS);
    let (tasks, completions) = tasks(&mut rng, &ctx, &holders);
    out.tasks = tasks;
    out.task_completions = completions;

    let mut rng = Rng::new(input.seed, stream::MEDIA);
    let media = removable_media(&mut rng, &ctx, &holders);
    destructions.extend(media.destructions);
    out.removable_media = media.media;

    let mut rng = Rng::new(input.seed, stream::REQUESTS);
    let mut desk = Desk::new(&ctx, &holders, &calendar);
    desk.requests(&mut rng, &out.removable_media);
    let mut rng = Rng::new(input.seed, stream::INCIDENTS);
    desk.incidents(&mut rng);
    let desk = desk.finish();
    out.requests = desk.requests;
    out.approvals = desk.approvals;
    out.incidents = desk.incidents;
    out.notifications = desk.notifications;
    out.charges = desk.charges;

    out.destructions = number_destructions(destructions);
    out
}

// --- shared ------------------------------------------------------------------------------------

/// The organisation as the process generators see it.
struct Ctx<'a> {
    input: &'a Input<'a>,
    today: NaiveDate,
    clock: Clock,
    /// People who are here and working: active, started, not gone.
    active: Vec<usize>,
    index: HashMap<&'a str, usize>,
    /// The offices: (short code, name), from the regional budget centres.
    offices: Vec<(String, String)>,
}

impl<'a> Ctx<'a> {
    fn new(input: &'a Input<'a>) -> Ctx<'a> {
        let today = input.clock.today;
        let active = (0..input.drafts.len())
            .filter(|&i| input.drafts.get(i).is_some_and(|d| working(d, today)))
            .collect();
        let index = input
            .people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let wanted = (1 + input.people.len() / 150).clamp(2, 10);
        let offices = input
            .centres
            .codes
            .iter()
            .zip(&input.centres.names)
            .enumerate()
            .filter(|(i, _)| input.centres.is_regional(*i))
            .take(wanted)
            .map(|(_, (code, name))| {
                (
                    code.trim_start_matches("BC-").to_owned(),
                    (*name).to_owned(),
                )
            })
            .collect();
        Ctx {
            input,
            today,
            clock: input.clock,
            active,
            index,
            offices,
        }
    }

    fn person(&self, i: usize) -> Option<&'a Person> {
        self.input.people.get(i)
    }

    fn id(&self, i: usize) -> String {
        self.person(i).map(|p| p.id.clone()).unwrap_or_default()
    }

    fn draft(&self, i: usize) -> Option<&'a Draft> {
        self.input.drafts.get(i)
    }

    fn manager(&self, i: usize) -> Option<usize> {
        self.draft(i).and_then(|d| d.manager)
    }

    fn asset(&self, a: usize) -> Option<&'a Asset> {
        self.input.assets.get(a)
    }

    /// An instant in working hours on `date`: 08:00 to 16:00 UTC, so that the date is the same in
    /// London whether or not summer time is in force. Never after now.
    fn at(&self, rng: &mut Rng, date: NaiveDate) -> DateTime<Utc> {
        self.clock.on(date, rng.between(8 * HOUR, 16 * HOUR))
    }

    /// Between `lo` and `hi` seconds after `t`, never after now (nor before `t`).
    fn after(&self, rng: &mut Rng, t: DateTime<Utc>, lo: i64, hi: i64) -> DateTime<Utc> {
        before(t, -rng.between(lo, hi)).min(self.clock.now).max(t)
    }

    /// An instant in working hours after `t`, on its day or up to `days` later; never after now.
    fn later(&self, rng: &mut Rng, t: DateTime<Utc>, days: i64) -> DateTime<Utc> {
        let day = shift(t.date_naive(), rng.between(0, days));
        let at = self.at(rng, day);
        if at > t {
            at
        } else {
            self.after(rng, t, 10 * 60, 2 * HOUR)
        }
    }

    /// An instant in working hours in the last `WINDOW_DAYS`, before today.
    fn at_recent(&self, rng: &mut Rng) -> DateTime<Utc> {
        let day = self.recent(rng);
        self.at(rng, day)
    }

    /// An instant in working hours between `lo` and `hi` days ago.
    fn at_days_ago(&self, rng: &mut Rng, lo: i64, hi: i64) -> DateTime<Utc> {
        let day = shift(self.today, -rng.between(lo, hi));
        self.at(rng, day)
    }

    /// A day in the last `WINDOW_DAYS`, before today.
    fn recent(&self, rng: &mut Rng) -> NaiveDate {
        shift(self.today, -rng.between(1, WINDOW_DAYS))
    }

    fn window_start(&self) -> NaiveDate {
        shift(self.today, -WINDOW_DAYS)
    }
}

/// Here and working: active, started and not gone.
fn working(d: &Draft, today: NaiveDate) -> bool {
    d.status == PersonStatus::Active && d.started(today) && !d.gone(today)
}

/// `date` moved by whole calendar months, held at the calendar's ends.
fn add_months(date: NaiveDate, months: i64) -> NaiveDate {
    let m = Months::new(u32::try_from(months.unsigned_abs()).unwrap_or(u32::MAX));
    let moved = if months >= 0 {
        date.checked_add_months(m)
    } else {
        date.checked_sub_months(m)
    };
    moved.unwrap_or(if months < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// `PREFIX-000001`: zero-padded to six digits, wider only when there are more, so that text
/// order is numeric order.
fn numbered(prefix: &str, n: usize, count: usize) -> String {
    let width = count.to_string().len().max(6);
    format!("{prefix}-{n:0width$}")
}

/// A compact JSON object of text values, keys in order.
fn details(pairs: &BTreeMap<&'static str, String>) -> Option<String> {
    if pairs.is_empty() {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
        .collect();
    Some(serde_json::Value::Object(map).to_string())
}

/// `amount` as the forms write money: `1299.00`.
fn pounds(p: Pence) -> String {
    p.to_string()
}

// --- reference data ----------------------------------------------------------------------------

fn bank_holidays(calendar: &Calendar) -> Vec<BankHoliday> {
    // The calendar holds them in date order, which is their key's text order.
    calendar
        .holidays()
        .map(|h| BankHoliday {
            date: h.date,
            title: h.title.clone(),
            notes: (!h.notes.trim().is_empty()).then(|| h.notes.clone()),
        })
        .collect()
}

/// The titles of the courses the training register records, and one optional course.
fn courses() -> Vec<Course> {
    let title = |id: &str| match id {
        "information-assurance" => "Information assurance: handling case and personal data",
        "information-security" => "Information security: devices, passwords and phishing",
        "social-media" => "Social media and professional boundaries",
        _ => "Mandatory course",
    };
    let mut out: Vec<Course> = MANDATORY_COURSES
        .iter()
        .map(|id| Course {
            id: (*id).to_owned(),
            title: title(id).to_owned(),
            mandatory: true,
            recur_months: Some(12),
        })
        .collect();
    out.push(Course {
        id: ADMIN_COURSE.to_owned(),
        title: "Privileged access for IT administrators".to_owned(),
        mandatory: false,
        recur_months: Some(12),
    });
    out.push(Course {
        id: "accessible-documents".to_owned(),
        title: "Writing accessible documents and reports".to_owned(),
        mandatory: false,
        recur_months: None,
    });
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The IT policy 5.0 was published eight months ago (as the acceptances have it), a material
/// change; the Information Assurance policy 4.3 was reviewed with it, without material change.
fn policy_reviews(today: NaiveDate) -> Vec<PolicyReview> {
    let published = shift(today, -240);
    let mut out = vec![
        PolicyReview {
            pack: POLICY_PACK.0.to_owned(),
            version: POLICY_PACK.1.to_owned(),
            reviewed_on: Some(shift(published, -21)),
            next_review: add_months(published, 12),
            material: true,
        },
        PolicyReview {
            pack: ASSURANCE_PACK.0.to_owned(),
            version: ASSURANCE_PACK.1.to_owned(),
            reviewed_on: Some(shift(published, -14)),
            next_review: add_months(published, 12),
            material: false,
        },
    ];
    out.sort_by_cached_key(PolicyReview::key);
    out
}

/// A class of records on the retention schedule.
struct Class {
    id: &'static str,
    description: &'static str,
    months: i64,
    trigger: &'static str,
    disposal: DisposalMethod,
    /// Share of the records held, per mille.
    weight: u32,
}

const CLASSES: &[Class] = &[
    Class {
        id: "board-papers",
        description: "Board and committee minutes and papers",
        months: 240,
        trigger: "meeting held",
        disposal: DisposalMethod::Transfer,
        weight: 6,
    },
    Class {
        id: "case-files",
        description: "Case files in private and public law proceedings, paper and electronic",
        months: 72,
        trigger: "case closed",
        disposal: DisposalMethod::Destroy,
        weight: 40,
    },
    Class {
        id: "complaints",
        description: "Complaints about the service and their investigation",
        months: 72,
        trigger: "complaint closed",
        disposal: DisposalMethod::Destroy,
        weight: 10,
    },
    Class {
        id: "finance",
        description: "Financial records: ledgers, invoices, orders and payments",
        months: 84,
        trigger: "end of the financial year",
        disposal: DisposalMethod::Destroy,
        weight: 14,
    },
    Class {
        id: "hr-files",
        description: "Personnel files of staff who have left",
        months: 72,
        trigger: "employment ended",
        disposal: DisposalMethod::Destroy,
        weight: 18,
    },
    Class {
        id: "policy-documents",
        description: "Policies and procedures, superseded versions",
        months: 36,
        trigger: "superseded",
        disposal: DisposalMethod::Review,
        weight: 8,
    },
    Class {
        id: "recordings",
        description: "Audio and video recordings made for the court, after the case closes",
        months: 24,
        trigger: "case closed",
        disposal: DisposalMethod::Archive,
        weight: 4,
    },
];

fn retention_schedule() -> Vec<RetentionRule> {
    // CLASSES is in id order.
    CLASSES
        .iter()
        .map(|c| RetentionRule {
            record_class: c.id.to_owned(),
            description: c.description.to_owned(),
            period_months: c.months,
            trigger: c.trigger.to_owned(),
            disposal: c.disposal,
        })
        .collect()
}

// --- roles -------------------------------------------------------------------------------------

/// Who holds each role, by person index; each list in the order chosen.
#[derive(Debug, Default)]
struct Holders {
    it: Vec<usize>,
    governance: Vec<usize>,
    hr: Vec<usize>,
    senior: Vec<usize>,
    iao: Vec<usize>,
}

impl Holders {
    /// Someone holding the role other than `not`, where there is anyone else.
    fn pick(list: &[usize], rng: &mut Rng, not: usize) -> Option<usize> {
        let others: usize = list.iter().filter(|&&i| i != not).count();
        if others == 0 {
            return list.first().copied();
        }
        list.iter()
            .copied()
            .filter(|&i| i != not)
            .nth(rng.index(others))
    }
}

/// Hands out roles from shuffled pools, preferring people who hold none yet.
struct Picker {
    taken: Vec<bool>,
}

impl Picker {
    fn take(&mut self, pools: &[&[usize]], count: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(count);
        for pool in pools {
            for &i in *pool {
                if out.len() >= count {
                    return out;
                }
                if let Some(taken) = self.taken.get_mut(i)
                    && !*taken
                {
                    *taken = true;
                    out.push(i);
                }
            }
        }
        // Too few people: someone holds more than one role.
        for pool in pools {
            for &i in *pool {
                if out.len() >= count {
                    return out;
                }
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out
    }
}

/// About one IT officer per 150 staff (two at least), two or more in governance, HR, the chief
/// executive and directors as the senior team, heads of service as Information Asset Owners, an
/// auditor and one administrator of Steward itself.
fn roles(rng: &mut Rng, ctx: &Ctx<'_>, asset_count: usize) -> (Holders, Vec<RoleGrant>) {
    let drafts = ctx.input.drafts;
    let n = drafts.len();
    let mut it_team = Vec::new();
    let mut business = Vec::new();
    let mut leaders: [Vec<usize>; 3] = Default::default();
    for &i in &ctx.active {
        let Some(d) = drafts.get(i) else { continue };
        if d.it_team {
            it_team.push(i);
        } else if d.group == Group::BusinessServices && d.depth >= 2 {
            business.push(i);
        }
        if let Some(level) = leaders.get_mut(d.depth as usize) {
            level.push(i);
        }
    }
    let mut active = ctx.active.clone();
    let everyone: Vec<usize> = (0..n).collect();
    for pool in [&mut it_team, &mut business, &mut active]
        .into_iter()
        .chain(leaders.iter_mut())
    {
        rng.shuffle(pool);
    }
    let [chief, directors, heads] = &leaders;
    let mut picker = Picker {
        taken: vec![false; n],
    };
    let it = picker.take(&[&it_team, &business, &active, &everyone], (n / 150).max(2));
    let senior = picker.take(
        &[chief, directors, heads, &active, &everyone],
        1 + directors.len().clamp(1, 3),
    );
    let governance = picker.take(&[&business, &active, &everyone], (n / 400).max(2));
    let hr = picker.take(&[&business, &active, &everyone], (n / 600).max(1));
    let iao = picker.take(
        &[heads, directors, &business, &active, &everyone],
        (asset_count / 2).clamp(3, 7),
    );
    let auditor = picker.take(&[&business, &active, &everyone], 1);
    let administrator: Vec<usize> = it.first().copied().into_iter().collect();

    let today = ctx.today;
    let mut grants = Vec::new();
    for (role, list) in [
        (Role::It, &it),
        (Role::Governance, &governance),
        (Role::Hr, &hr),
        (Role::InformationAssetOwner, &iao),
        (Role::Senior, &senior),
        (Role::Auditor, &auditor),
        (Role::Administrator, &administrator),
    ] {
        for &i in list {
            let lo = drafts
                .get(i)
                .and_then(|d| d.start)
                .unwrap_or(today)
                .max(shift(today, -1500))
                .min(today);
            grants.push(RoleGrant {
                person_id: ctx.id(i),
                role,
                granted_on: Some(date_between(rng, lo, today)),
            });
        }
    }
    grants.sort_by_cached_key(RoleGrant::key);
    let holders = Holders {
        it,
        governance,
        hr,
        senior,
        iao,
    };
    (holders, grants)
}

// --- information assets ------------------------------------------------------------------------

/// (name, description, where it is held, review every so many months).
const INFORMATION_ASSETS: &[(&str, &str, &str, i64)] = &[
    (
        "Case files",
        "Electronic case files of the children and families the service works with",
        "case-management",
        6,
    ),
    (
        "Email archive",
        "Mailboxes and the journalled e-mail archive",
        "m365",
        6,
    ),
    (
        "HR personnel files",
        "Employment records of staff, associates and volunteers",
        "hr-payroll",
        6,
    ),
    (
        "Finance ledger",
        "Ledgers, invoices, purchase orders and payment records",
        "finance",
        12,
    ),
    (
        "Archived paper case files",
        "Paper case files held in the offices and the off-site store",
        "Office archive rooms and the off-site store",
        12,
    ),
    (
        "Payroll and pensions",
        "Pay, pension and tax records of employees",
        "hr-payroll",
        12,
    ),
    (
        "Complaints records",
        "Complaints about the service and their investigation",
        "case-management",
        12,
    ),
    (
        "Legacy file store",
        "Shared drives awaiting migration to Microsoft 365",
        "legacy-filestore",
        12,
    ),
    (
        "Recruitment and vetting records",
        "Applications, references and security vetting",
        "hr-payroll",
        6,
    ),
    (
        "ICFA provider contracts",
        "Contracts and monitoring of the advocacy providers",
        "icfa-portal",
        12,
    ),
    (
        "Health and safety records",
        "Accident book, risk assessments and workstation assessments",
        "intranet",
        12,
    ),
    (
        "IT asset and access records",
        "Devices, accounts and access rights of the IT service",
        "Steward",
        12,
    ),
    (
        "Board and committee papers",
        "Minutes and papers of the board and its committees",
        "m365",
        12,
    ),
    (
        "Public relations and media",
        "Press enquiries, statements and social media posts",
        "m365",
        12,
    ),
    (
        "Learning and development records",
        "Course completions and professional development",
        "hr-payroll",
        12,
    ),
];

/// Eight for a small organisation, one more for every fourfold growth, fifteen at most.
fn information_asset_count(people: usize) -> usize {
    let doublings = (people as u64).saturating_add(1).ilog2() as usize;
    (8 + doublings / 2).clamp(8, INFORMATION_ASSETS.len())
}

fn information_assets(
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    holders: &Holders,
    count: usize,
) -> (Vec<InformationAsset>, Vec<AccessReview>) {
    let today = ctx.today;
    let people = i64::try_from(ctx.input.people.len()).unwrap_or(i64::MAX);
    let mut assets = Vec::new();
    let mut reviews = Vec::new();
    if holders.iao.is_empty() {
        return (assets, reviews);
    }
    // The legacy file store's review has slipped.
    let overdue = INFORMATION_ASSETS
        .iter()
        .take(count)
        .position(|a| a.0 == "Legacy file store")
        .unwrap_or(count.saturating_sub(1));
    for (n, (name, description, location, months)) in
        INFORMATION_ASSETS.iter().take(count).enumerate()
    {
        let owner = holders.iao[n % holders.iao.len()];
        let period = months * 30;
        let last = if n == overdue {
            shift(today, -(period + rng.between(20, 90)))
        } else {
            shift(today, -rng.between(7, period - 10))
        };
        let id = format!("IA-{:03}", n + 1);
        let mut on = last;
        for k in 0..rng.between(2, 3) {
            // Case files and e-mail reach most of the organisation; the rest a few teams.
            let share = if n < 2 {
                rng.between(60, 95)
            } else {
                rng.between(2, 12)
            };
            let users = (people.saturating_mul(share) / 100).max(2);
            let removed = rng.between(0, (users / 20).clamp(1, 40));
            let outcome = if removed == 0 {
                format!("all {users} users with access confirmed; no changes")
            } else {
                format!(
                    "{users} users with access confirmed; {removed} removed (leavers and movers)"
                )
            };
            let reviewed_by = if k > 0 && rng.chance(0.2) {
                Holders::pick(&holders.governance, rng, owner).unwrap_or(owner)
            } else {
                owner
            };
            reviews.push(AccessReview {
                asset_id: id.clone(),
                reviewed_on: on,
                reviewed_by: ctx.id(reviewed_by),
                outcome,
            });
            on = shift(on, -(period + rng.between(-10, 10)));
        }
        assets.push(InformationAsset {
            id,
            name: (*name).to_owned(),
            owner_id: ctx.id(owner),
            description: Some((*description).to_owned()),
            location: Some((*location).to_owned()),
            review_every_months: *months,
            last_reviewed_on: Some(last),
        });
    }
    reviews.sort_by_cached_key(AccessReview::key);
    (assets, reviews)
}

// --- records, archives and the destruction log -------------------------------------------------

/// A destruction before it is numbered.
struct Destroyed {
    what: String,
    record_id: Option<String>,
    medium_id: Option<String>,
    destroyed_on: NaiveDate,
    authorised_by: String,
    method: String,
}

struct Held {
    records: Vec<HeldRecord>,
    archives: Vec<ArchivedFile>,
    destructions: Vec<Destroyed>,
}

/// Bodies of records under the schedule's classes: some still in their period, some past it and
/// waiting, most of those past it disposed of (destroyed, archived or transferred as the class
/// says). Plus the archived paper case files the offices keep, some moved elsewhere since.
fn records(rng: &mut Rng, ctx: &Ctx<'_>, holders: &Holders) -> Held {
    let today = ctx.today;
    let people = ctx.input.people.len();
    let count = (12 + people / 25).min(500);
    let table: Vec<(usize, u32)> = CLASSES
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.weight))
        .collect();
    let authorisers: Vec<usize> = holders
        .governance
        .iter()
        .chain(&holders.iao)
        .copied()
        .collect();
    let office = |rng: &mut Rng| -> String {
        rng.pick_opt(&ctx.offices)
            .map_or_else(|| "Head office".to_owned(), |o| o.1.clone())
    };

    let mut records = Vec::with_capacity(count);
    let mut archives: Vec<(Option<String>, ArchivedFile)> = Vec::new();
    let mut destructions = Vec::new();
    let mut certificate = 1000 + rng.between(0, 8000);
    // Paper case files still in an office's archive room: (record, office).
    let mut paper_files: Vec<(usize, String)> = Vec::new();
    for n in 0..count {
        let class = CLASSES.get(*rng.weighted(&table)).unwrap_or(&CLASSES[1]);
        let id = numbered("REC", n + 1, count);
        let period = class.months;
        // Where this body of records stands against its period.
        let stage = match n % 5 {
            0 => Stage::Waiting,
            1 | 2 => Stage::Disposed,
            _ => Stage::Running,
        };
        let stage = if class.disposal == DisposalMethod::Review && stage == Stage::Disposed {
            Stage::Waiting
        } else {
            stage
        };
        let due = match stage {
            Stage::Running => shift(today, rng.between(30, period * 30 - 30)),
            Stage::Waiting => shift(today, -rng.between(10, 400)),
            Stage::Disposed => shift(today, -rng.between(40, 900)),
        };
        let mut trigger = add_months(due, -period);
        if class.id == "finance" {
            // The financial year ends on 31 March.
            let end = if trigger.month() > 3 {
                trigger.year() + 1
            } else {
                trigger.year()
            };
            trigger = NaiveDate::from_ymd_opt(end, 3, 31).unwrap_or(trigger);
        }
        let due = add_months(trigger, period);
        let year = trigger.year();
        let quarter = format!("Q{} {year}", trigger.month0() / 3 + 1);
        let month = trigger.format("%B %Y");
        let place = office(rng);
        let paper = class.id == "case-files" && rng.chance(0.4);
        let (description, location) = match class.id {
            "case-files" if paper => (
                format!("Paper case files closed in {quarter}, {place} office"),
                format!("{place} office, archive room"),
            ),
            "case-files" => (
                format!("Electronic case files closed in {quarter}, {place}"),
                "case-management".to_owned(),
            ),
            "complaints" => (
                format!("Complaints closed in {quarter}, {place}"),
                "case-management".to_owned(),
            ),
            "finance" => (
                format!(
                    "Finance records for {}-{:02}",
                    year - 1,
                    year.rem_euclid(100)
                ),
                "finance".to_owned(),
            ),
            "hr-files" => (
                format!("Personnel files of staff who left in {month}"),
                "hr-payroll".to_owned(),
            ),
            "policy-documents" => (
                format!("Policies and procedures superseded in {month}"),
                "intranet".to_owned(),
            ),
            "recordings" => (
                format!("Recordings made for the court, cases closed in {quarter}, {place}"),
                "case-management".to_owned(),
            ),
            _ => (
                format!("Board and committee papers, {month}"),
                "m365".to_owned(),
            ),
        };
        let disposed_on = (stage == Stage::Disposed && due < today).then(|| {
            shift(due, rng.between(0, 60))
                .min(shift(today, -1))
                .max(due)
        });
        if let Some(on) = disposed_on {
            match class.disposal {
                DisposalMethod::Destroy => {
                    let method = if paper {
                        format!(
                            "cross-cut shredding by the approved confidential waste contractor; certificate CW-{certificate}"
                        )
                    } else {
                        format!(
                            "secure deletion from {location}, backups expiring in 35 days; deletion report DR-{certificate}"
                        )
                    };
                    certificate += rng.between(1, 40);
                    let authorised_by = rng
                        .pick_opt(&authorisers)
                        .map(|&i| ctx.id(i))
                        .unwrap_or_else(|| ctx.id(0));
                    destructions.push(Destroyed {
                        what: description.clone(),
                        record_id: Some(id.clone()),
                        medium_id: None,
                        destroyed_on: on,
                        authorised_by,
                        method,
                    });
                }
                DisposalMethod::Transfer => archives.push((
                    None,
                    ArchivedFile {
                        id: String::new(),
                        description: description.clone(),
                        location: "m365 (board site), read-only".to_owned(),
                        archived_on: shift(on, -rng.between(30, 200)),
                        record_id: Some(id.clone()),
                        transferred_to: Some("The National Archives".to_owned()),
                        transferred_on: Some(on),
                    },
                )),
                DisposalMethod::Archive => archives.push((
                    None,
                    ArchivedFile {
                        id: String::new(),
                        description: description.clone(),
                        location: "Encrypted archive store, recordings volume".to_owned(),
                        archived_on: on,
                        record_id: Some(id.clone()),
                        transferred_to: None,
                        transferred_on: None,
                    },
                )),
                DisposalMethod::Review => {}
            }
        }
        if paper && disposed_on.is_none() {
            paper_files.push((records.len(), place.clone()));
        }
        records.push(HeldRecord {
            id,
            record_class: class.id.to_owned(),
            description,
            location: Some(location),
            trigger_on: Some(trigger),
            disposed_on,
        });
    }

    // The paper case files in the offices' archive rooms, file by file; some since moved to
    // another office or sent to a court, as the Governance team was told.
    let files = (4 + people / 60).min(300);
    for n in 0..files {
        let held = paper_files.get(n % paper_files.len().max(1));
        let (record_id, place, archived_on) =
            match held.and_then(|(r, place)| records.get(*r).map(|r| (r, place))) {
                Some((r, place)) => {
                    let closed = r.trigger_on.unwrap_or(today);
                    (
                        Some(r.id.clone()),
                        place.clone(),
                        shift(closed, rng.between(0, 60)).min(today),
                    )
                }
                None => (None, office(rng), shift(today, -rng.between(30, 5 * 365))),
            };
        let box_number = rng.between(1, 400);
        let reference = format!(
            "{}{:02}P{:05}",
            ["LV", "ZC", "BS", "MA", "BM"][rng.index(5)],
            (i64::from(archived_on.year()) - rng.between(0, 2)).rem_euclid(100),
            rng.between(100, 99_999)
        );
        let moved = n == 0 || rng.chance(0.2);
        let (transferred_to, transferred_on) = if moved {
            let elsewhere = office(rng);
            let to = if elsewhere != place && rng.chance(0.6) {
                format!("{elsewhere} office")
            } else {
                "Family Court, on the court's request for an appeal".to_owned()
            };
            let on = date_between(rng, shift(archived_on, 1), today).max(archived_on);
            (Some(to), Some(on))
        } else {
            (None, None)
        };
        archives.push((
            Some(reference.clone()),
            ArchivedFile {
                id: String::new(),
                description: format!("Paper case file {reference}"),
                location: format!("{place} office, archive room, box {box_number:03}"),
                archived_on,
                record_id,
                transferred_to,
                transferred_on,
            },
        ));
    }
    archives.sort_by(|a, b| (a.1.archived_on, &a.0).cmp(&(b.1.archived_on, &b.0)));
    let total = archives.len();
    let archives = archives
        .into_iter()
        .enumerate()
        .map(|(n, (_, mut a))| {
            a.id = numbered("ARC", n + 1, total);
            a
        })
        .collect();
    Held {
        records,
        archives,
        destructions,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Within its retention period.
    Running,
    /// Past its period, not yet disposed of.
    Waiting,
    Disposed,
}

fn number_destructions(mut list: Vec<Destroyed>) -> Vec<Destruction> {
    list.sort_by(|a, b| {
        (a.destroyed_on, &a.record_id, &a.medium_id).cmp(&(
            b.destroyed_on,
            &b.record_id,
            &b.medium_id,
        ))
    });
    let total = list.len();
    list.into_iter()
        .enumerate()
        .map(|(n, d)| Destruction {
            id: numbered("DES", n + 1, total),
            what: d.what,
            record_id: d.record_id,
            medium_id: d.medium_id,
            destroyed_on: d.destroyed_on,
            authorised_by: d.authorised_by,
            method: d.method,
        })
        .collect()
}

// --- recurring tasks ---------------------------------------------------------------------------

/// One kind of office task: (id part, title, clause, every so many days, owned by IT, evidence
/// asked for).
struct TaskKind {
    code: &'static str,
    title: &'static str,
    clause: &'static str,
    every_days: i64,
    it: bool,
    evidence: &'static str,
}

const TASK_KINDS: &[TaskKind] = &[
    TaskKind {
        code: "ACCESS-LIST",
        title: "Review the building access list",
        clause: "cafcass-ia-4.3 3.9-1",
        every_days: 30,
        it: false,
        evidence: "The list of staff who access the building, updated for starters and leavers and confirmed by the Business Service Manager",
    },
    TaskKind {
        code: "COMMS-ROOM",
        title: "Check the comms room and cabinets are locked",
        clause: "cafcass-ia-4.3 3.9-8",
        every_days: 7,
        it: true,
        evidence: "Comms room and communications cabinets found locked and away from public areas; contractor visits in the log supervised",
    },
    TaskKind {
        code: "KEY-SAFE",
        title: "Check the key safe",
        clause: "cafcass-ia-4.3 3.9-9",
        every_days: 30,
        it: false,
        evidence: "The key safe's lock working and every key accounted for",
    },
    TaskKind {
        code: "KEYPAD",
        title: "Change the keypad codes",
        clause: "cafcass-ia-4.3 3.9-6",
        every_days: 90,
        it: false,
        evidence: "The date each keypad code was changed, with the log reference",
    },
];

/// Each office's keypad, key-safe, access-list and comms-room tasks, with their history: mostly
/// done on time, one or two overdue.
fn tasks(
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    holders: &Holders,
) -> (Vec<RecurringTask>, Vec<TaskCompletion>) {
    let today = ctx.today;
    let total = ctx.offices.len() * TASK_KINDS.len();
    // Which tasks have slipped: one, and a second in a larger organisation.
    let mut overdue = vec![rng.index(total)];
    if ctx.offices.len() > 3 {
        overdue.push(rng.index(total));
    }
    let mut tasks = Vec::with_capacity(total);
    let mut completions = Vec::new();
    for (o, (code, name)) in ctx.offices.iter().enumerate() {
        for (k, kind) in TASK_KINDS.iter().enumerate() {
            let n = o * TASK_KINDS.len() + k;
            let team = if kind.it {
                &holders.it
            } else {
                &holders.governance
            };
            let owner = team.get(o % team.len().max(1)).copied();
            let every = kind.every_days;
            let last = if overdue.contains(&n) {
                shift(today, -(every + rng.between(5, every / 2 + 10)))
            } else {
                shift(today, -rng.between(0, every - 1))
            };
            let id = format!("TASK-{code}-{}", kind.code);
            let history = match every {
                0..=7 => 8,
                8..=30 => 6,
                _ => 4,
            };
            let jitter = every / 10;
            let mut dates = Vec::with_capacity(history);
            let mut on = last;
            for _ in 0..history {
                dates.push(on);
                on = shift(on, -(every + rng.between(-jitter, jitter)));
            }
            // The office's log book, numbered as the entries were made.
            let mut log = rng.between(100, 800);
            for on in dates.into_iter().rev() {
                let done_by = match owner {
                    Some(owner) if rng.chance(0.8) => owner,
                    _ => rng.pick_opt(team).copied().unwrap_or(0),
                };
                log += rng.between(1, 9);
                let evidence = match kind.code {
                    "KEYPAD" => format!("code changed; log ref KP-{log:04}"),
                    "KEY-SAFE" => format!(
                        "key safe checked: lock working, {} keys accounted for; log ref KS-{log:04}",
                        rng.between(6, 24)
                    ),
                    "ACCESS-LIST" => format!(
                        "access list updated: {} starter(s) added, {} leaver(s) removed; confirmed by the Business Service Manager",
                        rng.between(0, 6),
                        rng.between(0, 4)
                    ),
                    _ => match rng.between(0, 3) {
                        0 => "comms room and cabinets locked; no contractor visits".to_owned(),
                        visits => format!(
                            "comms room and cabinets locked; {visits} contractor visit(s) supervised; log ref CR-{log:04}"
                        ),
                    },
                };
                completions.push(TaskCompletion {
                    task_id: id.clone(),
                    done_on: on,
                    done_by: ctx.id(done_by),
                    evidence,
                });
            }
            tasks.push(RecurringTask {
                id,
                title: format!("{}: {name} office", kind.title),
                clause: Some(kind.clause.to_owned()),
                every_days: every,
                owner_id: owner.map(|i| ctx.id(i)),
                last_done_on: Some(last),
                evidence: Some(kind.evidence.to_owned()),
            });
        }
    }
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    completions.sort_by_cached_key(TaskCompletion::key);
    (tasks, completions)
}

// --- removable media ---------------------------------------------------------------------------

const BUSINESS_NEEDS: &[&str] = &[
    "Court bundle for a hearing at a court without secure e-mail",
    "Recorded interview with a child, for the court",
    "Evidence too large for secure e-mail, for a solicitor",
    "Presentation for a training day at a venue without network access",
    "Transfer of case documents to an advocacy provider",
];

struct Media {
    media: Vec<RemovableMedium>,
    destructions: Vec<Destroyed>,
}

/// A few encrypted USB sticks issued for a business need, mostly the hardware-encrypted sticks the
/// asset register shows in people's hands; one damaged, one destroyed and logged.
fn removable_media(rng: &mut Rng, ctx: &Ctx<'_>, holders: &Holders) -> Media {
    let today = ctx.today;
    let count = (3 + ctx.input.people.len() / 150).min(200);
    let mut sticks: Vec<usize> = Vec::new();
    let mut damaged: Vec<usize> = Vec::new();
    let mut disposed: Vec<usize> = Vec::new();
    for (a, asset) in ctx.input.assets.iter().enumerate() {
        if asset.kind != AssetKind::UsbStick || asset.ownership != Ownership::Organisation {
            continue;
        }
        match asset.status {
            AssetStatus::Allocated
                if asset.encrypted == Some(true) && asset.assigned_to.is_some() =>
            {
                sticks.push(a);
            }
            AssetStatus::Damaged => damaged.push(a),
            AssetStatus::Disposed => disposed.push(a),
            _ => {}
        }
    }
    rng.shuffle(&mut sticks);
    let practitioners: Vec<usize> = ctx
        .active
        .iter()
        .copied()
        .filter(|&i| ctx.draft(i).is_some_and(|d| d.group == Group::Fca))
        .take(count * 4)
        .collect();
    // Agreed by the IT team, as a removable media request is.
    let approvers: &[usize] = if holders.it.is_empty() {
        &holders.senior
    } else {
        &holders.it
    };

    struct Issue {
        asset: Option<usize>,
        holder: usize,
        issued_on: NaiveDate,
        damaged_on: Option<NaiveDate>,
        destroyed: Option<(NaiveDate, String)>,
    }
    let mut issues: Vec<Issue> = Vec::with_capacity(count);
    for n in 0..count {
        // The first is destroyed, the second damaged, the rest in use.
        let (asset, holder, issued_on) = match n {
            0 | 1 => {
                let pool = if n == 0 { &disposed } else { &damaged };
                let asset = rng.pick_opt(pool).copied();
                let holder = asset
                    .and_then(|a| ctx.asset(a))
                    .and_then(|a| a.assigned_to.as_deref())
                    .and_then(|id| ctx.index.get(id).copied())
                    .or_else(|| rng.pick_opt(&practitioners).copied())
                    .or_else(|| rng.pick_opt(&ctx.active).copied())
                    .unwrap_or(0);
                (asset, holder, shift(today, -rng.between(120, 700)))
            }
            _ => match sticks.pop() {
                Some(a) => {
                    let asset = ctx.asset(a);
                    let holder = asset
                        .and_then(|a| a.assigned_to.as_deref())
                        .and_then(|id| ctx.index.get(id).copied())
                        .unwrap_or(0);
                    let on = asset
                        .and_then(|a| a.assigned_on)
                        .unwrap_or_else(|| shift(today, -rng.between(5, 700)));
                    (Some(a), holder, on)
                }
                None => {
                    let holder = rng
                        .pick_opt(&practitioners)
                        .or_else(|| rng.pick_opt(&ctx.active))
                        .copied()
                        .unwrap_or(0);
                    (None, holder, shift(today, -rng.between(5, 700)))
                }
            },
        };
        let damaged_on = (n == 1).then(|| date_between(rng, shift(issued_on, 20), today));
        let destroyed = (n == 0).then(|| {
            let on = date_between(rng, shift(issued_on, 30), today);
            let method = format!(
                "wiped, then physically destroyed by the IT team (drilled and shredded); certificate RM-{:04}",
                rng.between(10, 999)
            );
            (on, method)
        });
        issues.push(Issue {
            asset,
            holder,
            issued_on,
            damaged_on,
            destroyed,
        });
    }
    issues.sort_by_key(|i| (i.issued_on, i.holder, i.asset));
    let total = issues.len();
    let mut media = Vec::with_capacity(total);
    let mut destructions = Vec::new();
    for (n, issue) in issues.into_iter().enumerate() {
        let id = numbered("RM", n + 1, total);
        let approver = Holders::pick(approvers, rng, issue.holder).unwrap_or(issue.holder);
        let need = BUSINESS_NEEDS[rng.index(BUSINESS_NEEDS.len())];
        let case_reference = need.contains("court").then(|| {
            format!(
                "{}{:02}P{:05}",
                ["LV", "ZC", "BS", "MA", "BM"][rng.index(5)],
                issue.issued_on.year().rem_euclid(100),
                rng.between(100, 99_999)
            )
        });
        if let Some((on, method)) = &issue.destroyed {
            destructions.push(Destroyed {
                what: format!("Encrypted USB stick {id}, at the end of its business need"),
                record_id: None,
                medium_id: Some(id.clone()),
                destroyed_on: *on,
                authorised_by: ctx.id(approver),
                method: method.clone(),
            });
        }
        media.push(RemovableMedium {
            id,
            asset_tag: issue
                .asset
                .and_then(|a| ctx.asset(a))
                .map(|a| a.tag.clone()),
            holder_id: ctx.id(issue.holder),
            business_need: need.to_owned(),
            encrypted: true,
            approved_by: ctx.id(approver),
            case_reference,
            issued_on: issue.issued_on,
            damaged_on: issue.damaged_on,
            destroyed_on: issue.destroyed.as_ref().map(|d| d.0),
            destruction_method: issue.destroyed.map(|d| d.1),
        });
    }
    Media {
        media,
        destructions,
    }
}

// --- requests and incidents --------------------------------------------------------------------

/// A request before it gets its id.
struct Raised {
    kind: RequestType,
    person: usize,
    raised_by: Option<usize>,
    state: RequestState,
    opened_at: DateTime<Utc>,
    due_on: Option<NaiveDate>,
    closed_at: Option<DateTime<Utc>>,
    details: BTreeMap<&'static str, String>,
    approvals: Vec<Decided>,
    notices: Vec<Notice>,
    charges: Vec<Charged>,
}

struct Decided {
    role: ApproverRole,
    person: usize,
    decision: Decision,
    at: DateTime<Utc>,
    note: Option<&'static str>,
}

struct Notice {
    recipient: String,
    reason: String,
    due_at: Option<DateTime<Utc>>,
    acknowledged: Option<(DateTime<Utc>, String)>,
}

struct Charged {
    /// The charge's id is the request's and this.
    suffix: String,
    asset_tag: Option<String>,
    budget_centre: Option<String>,
    amount: Pence,
    reason: String,
    charged_on: NaiveDate,
}

/// An incident before it gets its id.
struct Reported {
    incident: Incident,
    notices: Vec<Notice>,
}

/// Everything the service desk has on its books.
struct Books {
    requests: Vec<Request>,
    approvals: Vec<Approval>,
    incidents: Vec<Incident>,
    notifications: Vec<Notification>,
    charges: Vec<Charge>,
}

/// The pools requests and incidents draw people and kit from, each shuffled once and used up.
#[derive(Default)]
struct Pools {
    starters: Vec<usize>,
    /// Leavers who have gone and still hold organisation kit that cost something.
    leavers_holding: Vec<usize>,
    leavers: Vec<usize>,
    absent: Vec<usize>,
    /// Working people with a line manager.
    managed: Vec<usize>,
    /// (person, asset): working people and the laptop or smartphone they hold.
    devices: Vec<(usize, usize)>,
    /// Laptops and smartphones in repair, unassigned.
    in_repair: Vec<usize>,
    /// Organisation kit handed back or damaged, unassigned, with a cost.
    handed_back: Vec<usize>,
    /// (person, tablet) on loan.
    tablets: Vec<(usize, usize)>,
    /// (person, asset) lost, stolen or damaged and still recorded against them.
    mishaps: Vec<(usize, usize)>,
}

struct Desk<'a> {
    ctx: &'a Ctx<'a>,
    holders: &'a Holders,
    calendar: &'a Calendar,
    pools: Pools,
    raised: Vec<Raised>,
    reported: Vec<Reported>,
}

/// The mix of requests beyond those the travel register and the removable media call for.
const REQUEST_MIX: &[(RequestType, u32)] = &[
    (RequestType::NewStarter, 14),
    (RequestType::UserAccountDelete, 12),
    (RequestType::UserAccountSuspend, 4),
    (RequestType::UserAccountReturnToWork, 4),
    (RequestType::FaultReplacement, 12),
    (RequestType::EquipmentReturn, 6),
    (RequestType::SystemAccess, 14),
    (RequestType::AdditionalEquipment, 6),
    (RequestType::ParticularNeeds, 3),
    (RequestType::PacCode, 5),
    (RequestType::AccessToAnotherUser, 2),
    (RequestType::TabletBooking, 5),
];

/// The incidents beyond the first of each kind.
const INCIDENT_MIX: &[(IncidentType, u32)] = &[
    (IncidentType::Loss, 25),
    (IncidentType::Theft, 8),
    (IncidentType::Phishing, 30),
    (IncidentType::DataBreach, 10),
    (IncidentType::Damage, 12),
    (IncidentType::PolicyBreach, 8),
    (IncidentType::ThreateningCall, 7),
];

impl<'a> Desk<'a> {
    fn new(ctx: &'a Ctx<'a>, holders: &'a Holders, calendar: &'a Calendar) -> Desk<'a> {
        let today = ctx.today;
        let mut pools = Pools::default();
        for (i, d) in ctx.input.drafts.iter().enumerate() {
            let held = ctx.input.holdings.of(i);
            let org = |a: &&Asset| a.ownership == Ownership::Organisation;
            match d.status {
                PersonStatus::Starter => pools.starters.push(i),
                PersonStatus::Leaver => {
                    let holding = held
                        .iter()
                        .filter_map(|&a| ctx.asset(a))
                        .filter(org)
                        .any(|a| {
                            a.status == AssetStatus::Allocated
                                && !matches!(a.kind, AssetKind::Accessory | AssetKind::Sim)
                                && a.cost_gbp.is_some_and(|c| c.0 > 0)
                        });
                    if d.gone(today) && holding {
                        pools.leavers_holding.push(i);
                    } else {
                        pools.leavers.push(i);
                    }
                }
                PersonStatus::Absent => pools.absent.push(i),
                PersonStatus::Active => {}
            }
            for &a in held {
                let Some(asset) = ctx.asset(a) else { continue };
                let device = matches!(asset.kind, AssetKind::Laptop | AssetKind::Smartphone)
                    && asset.ownership == Ownership::Organisation;
                match asset.status {
                    AssetStatus::Allocated if device && working(d, today) => {
                        pools.devices.push((i, a));
                    }
                    AssetStatus::OnLoan if asset.kind == AssetKind::Tablet => {
                        pools.tablets.push((i, a));
                    }
                    AssetStatus::Lost | AssetStatus::Stolen | AssetStatus::Damaged if device => {
                        pools.mishaps.push((i, a));
                    }
                    _ => {}
                }
            }
            if working(d, today) && d.manager.is_some() {
                pools.managed.push(i);
            }
        }
        for (a, asset) in ctx.input.assets.iter().enumerate() {
            if asset.assigned_to.is_some() || asset.ownership != Ownership::Organisation {
                continue;
            }
            match asset.status {
                AssetStatus::InRepair
                    if matches!(asset.kind, AssetKind::Laptop | AssetKind::Smartphone) =>
                {
                    pools.in_repair.push(a);
                }
                AssetStatus::Returned | AssetStatus::Damaged
                    if asset.cost_gbp.is_some_and(|c| c.0 > 0) =>
                {
                    pools.handed_back.push(a);
                }
                _ => {}
            }
        }
        Desk {
            ctx,
            holders,
            calendar,
            pools,
            raised: Vec::new(),
            reported: Vec::new(),
        }
    }

    fn shuffle_pools(&mut self, rng: &mut Rng) {
        let p = &mut self.pools;
        for pool in [
            &mut p.starters,
            &mut p.leavers_holding,
            &mut p.leavers,
            &mut p.absent,
            &mut p.managed,
            &mut p.in_repair,
            &mut p.handed_back,
        ] {
            rng.shuffle(pool);
        }
        rng.shuffle(&mut p.devices);
        rng.shuffle(&mut p.tablets);
        rng.shuffle(&mut p.mishaps);
    }

    fn new_request(
        &self,
        kind: RequestType,
        person: usize,
        raised_by: Option<usize>,
        opened_at: DateTime<Utc>,
    ) -> Raised {
        Raised {
            kind,
            person,
            raised_by,
            state: RequestState::Open,
            opened_at,
            due_on: None,
            closed_at: None,
            details: BTreeMap::new(),
            approvals: Vec::new(),
            notices: Vec::new(),
            charges: Vec::new(),
        }
    }

    /// Plays a request out to `state`: the parties agree in turn (or the last to decide refuses,
    /// with `note`), then the IT team fulfils it or someone cancels it.
    fn settle(
        &self,
        rng: &mut Rng,
        r: &mut Raised,
        parties: &[(ApproverRole, usize)],
        state: RequestState,
        note: Option<&'static str>,
    ) {
        let ctx = self.ctx;
        let state = match state {
            RequestState::Approved | RequestState::Rejected if parties.is_empty() => {
                RequestState::Open
            }
            s => s,
        };
        let agreed = match state {
            RequestState::Open | RequestState::Rejected => rng.index(parties.len()),
            RequestState::Approved | RequestState::Fulfilled => parties.len(),
            RequestState::Cancelled => rng.index(parties.len() + 1),
        };
        let mut t = r.opened_at;
        for &(role, person) in parties.iter().take(agreed) {
            t = ctx.later(rng, t, 2);
            r.approvals.push(Decided {
                role,
                person,
                decision: Decision::Approved,
                at: t,
                note: None,
            });
        }
        match state {
            RequestState::Rejected => {
                if let Some(&(role, person)) = parties.get(agreed) {
                    t = ctx.later(rng, t, 2);
                    r.approvals.push(Decided {
                        role,
                        person,
                        decision: Decision::Rejected,
                        at: t,
                        note,
                    });
                    r.closed_at = Some(t);
                }
            }
            RequestState::Fulfilled | RequestState::Cancelled => {
                r.closed_at = Some(ctx.later(rng, t, 3));
            }
            RequestState::Open | RequestState::Approved => {}
        }
        r.state = state;
    }

    /// Someone in the team other than `not`.
    fn one_of(&self, rng: &mut Rng, team: &[usize], not: usize) -> Option<usize> {
        Holders::pick(team, rng, not)
    }

    fn requests(&mut self, rng: &mut Rng, media: &[RemovableMedium]) {
        self.shuffle_pools(rng);
        let people = self.ctx.input.people.len();
        let target = (people / 50).max(10);
        self.travel_requests(rng);
        self.media_requests(rng, media);
        // Every leaver who walked off with kit has had their account deletion processed, and
        // been charged for it.
        while let Some(i) = self.pools.leavers_holding.pop() {
            self.account_delete(rng, i);
        }
        // One of each type first, then the mix, to about one request per 50 people in all.
        let goal = self.raised.len()
            + target
                .saturating_sub(self.raised.len())
                .max(REQUEST_MIX.len());
        let mut first: Vec<RequestType> = REQUEST_MIX.iter().map(|(k, _)| *k).collect();
        first.reverse();
        let mut attempts = 0;
        while self.raised.len() < goal && attempts < goal * 4 {
            attempts += 1;
            let kind = first.pop().unwrap_or_else(|| *rng.weighted(REQUEST_MIX));
            if !self.raise(rng, kind) {
                self.raise(rng, RequestType::PacCode);
            }
        }
    }

    /// Raises one request of `kind`; false when nobody fits.
    fn raise(&mut self, rng: &mut Rng, kind: RequestType) -> bool {
        match kind {
            RequestType::NewStarter => self.new_starter(rng),
            RequestType::UserAccountDelete => match self.pools.leavers.pop() {
                Some(i) => {
                    self.account_delete(rng, i);
                    true
                }
                None => false,
            },
            RequestType::UserAccountSuspend => self.suspend(rng),
            RequestType::UserAccountReturnToWork => self.return_to_work(rng),
            RequestType::FaultReplacement => self.fault(rng),
            RequestType::EquipmentReturn => self.equipment_return(rng),
            RequestType::SystemAccess => self.system_access(rng),
            RequestType::AdditionalEquipment => self.additional_equipment(rng),
            RequestType::ParticularNeeds => self.particular_needs(rng),
            RequestType::AccessToAnotherUser => self.access_to_another_user(rng),
            RequestType::TabletBooking => self.tablet_booking(rng),
            RequestType::PacCode => self.pac_code(rng),
            RequestType::InternationalTravel | RequestType::RemovableMedia => false,
        }
    }

    /// The International Travel requests behind the travel register's recent and coming trips:
    /// the same person, countries and dates; approved or rejected by the line manager the
    /// register names.
    fn travel_requests(&mut self, rng: &mut Rng) {
        let ctx = self.ctx;
        let today = ctx.today;
        for t in ctx.input.travel {
            let Some(&person) = ctx.index.get(t.person_id.as_str()) else {
                continue;
            };
            let lead = rng.between(5, 40);
            let mut opened = shift(t.depart_on, -lead);
            if opened >= today {
                opened = shift(today, -rng.between(1, 10));
            }
            if opened < ctx.window_start() {
                continue;
            }
            let manager = t
                .approved_by
                .as_deref()
                .and_then(|id| ctx.index.get(id).copied());
            let opened_at = ctx.at(rng, opened);
            let mut r = self.new_request(
                RequestType::InternationalTravel,
                person,
                Some(person),
                opened_at,
            );
            r.details.insert("countries", t.countries.to_string());
            r.details.insert("depart_on", t.depart_on.to_string());
            r.details.insert("return_on", t.return_on.to_string());
            r.details.insert("travel_id", t.id.clone());
            match (t.status, manager) {
                (TravelStatus::Approved, Some(m)) => {
                    let state = if t.depart_on <= today && rng.chance(0.5) {
                        RequestState::Fulfilled
                    } else {
                        RequestState::Approved
                    };
                    self.settle(rng, &mut r, &[(ApproverRole::LineManager, m)], state, None);
                }
                (TravelStatus::Rejected, Some(m)) => self.settle(
                    rng,
                    &mut r,
                    &[(ApproverRole::LineManager, m)],
                    RequestState::Rejected,
                    Some("Not during the case's final hearing; please rebook"),
                ),
                (TravelStatus::Cancelled, _) => {
                    self.settle(rng, &mut r, &[], RequestState::Cancelled, None);
                }
                (TravelStatus::Requested, _) => {}
                // Approved or rejected by nobody the register names: leave it out.
                (_, None) => continue,
            }
            self.raised.push(r);
        }
    }

    /// The requests behind the removable media issued in the last two months: agreed by the line
    /// manager and by the IT officer the register names as approver.
    fn media_requests(&mut self, rng: &mut Rng, media: &[RemovableMedium]) {
        let ctx = self.ctx;
        for m in media {
            if m.issued_on < shift(ctx.window_start(), 5) || m.destroyed_on.is_some() {
                continue;
            }
            let (Some(&person), Some(&approver)) = (
                ctx.index.get(m.holder_id.as_str()),
                ctx.index.get(m.approved_by.as_str()),
            ) else {
                continue;
            };
            let Some(manager) = ctx.manager(person) else {
                continue;
            };
            let opened = shift(m.issued_on, -rng.between(2, 5));
            let opened_at = ctx.at(rng, opened);
            let mut r =
                self.new_request(RequestType::RemovableMedia, person, Some(person), opened_at);
            r.details.insert("business_need", m.business_need.clone());
            if let Some(case) = &m.case_reference {
                r.details.insert("case_reference", case.clone());
            }
            if let Some(tag) = &m.asset_tag {
                r.details.insert("asset_tag", tag.clone());
            }
            r.details.insert("encrypted", "yes".to_owned());
            r.details.insert("medium_id", m.id.clone());
            self.settle(
                rng,
                &mut r,
                &[
                    (ApproverRole::LineManager, manager),
                    (ApproverRole::It, approver),
                ],
                RequestState::Fulfilled,
                None,
            );
            // Fulfilled on the day it was issued.
            let issued = ctx.at(rng, m.issued_on);
            let last = r.approvals.last().map_or(r.opened_at, |a| a.at);
            r.closed_at = Some(issued.max(last));
            self.raised.push(r);
        }
    }

    /// A leaver's account deletion, due on the leaving date; fulfilled once they have gone, with
    /// a charge to their budget centre for each item they did not return and their line manager
    /// told.
    fn account_delete(&mut self, rng: &mut Rng, i: usize) {
        let ctx = self.ctx;
        let today = ctx.today;
        let Some(d) = ctx.draft(i) else { return };
        let Some(leave) = d.leave else { return };
        let opened = shift(leave, -rng.between(3, 20))
            .max(ctx.window_start())
            .min(shift(today, -1));
        let manager = d.manager;
        let raised_by = manager.or_else(|| rng.pick_opt(&self.holders.hr).copied());
        let mut r = self.new_request(
            RequestType::UserAccountDelete,
            i,
            raised_by,
            ctx.at(rng, opened),
        );
        r.due_on = Some(leave);
        r.details.insert("leave_date", leave.to_string());
        if !d.gone(today) {
            self.raised.push(r);
            return;
        }
        let closed_on = date_between(rng, leave.max(opened), shift(leave, 3).min(today));
        r.state = RequestState::Fulfilled;
        let closed_at = ctx.at(rng, closed_on).max(r.opened_at);
        r.closed_at = Some(closed_at);
        let person = ctx.person(i);
        let mut unreturned = Vec::new();
        for &a in ctx.input.holdings.of(i) {
            let Some(asset) = ctx.asset(a) else { continue };
            let Some(cost) = asset.cost_gbp.filter(|c| c.0 > 0) else {
                continue;
            };
            // Accessories are never handed back, nor SIMs without their phone.
            if asset.ownership != Ownership::Organisation
                || asset.status != AssetStatus::Allocated
                || matches!(asset.kind, AssetKind::Accessory | AssetKind::Sim)
            {
                continue;
            }
            let reason = "not returned by a leaver";
            unreturned.push(format!("{} ({reason}, £{})", asset.tag, pounds(cost)));
            r.charges.push(Charged {
                suffix: asset.tag.clone(),
                asset_tag: Some(asset.tag.clone()),
                budget_centre: person
                    .and_then(|p| p.budget_centre.clone())
                    .or_else(|| asset.budget_centre.clone()),
                amount: cost,
                reason: format!("{}: {reason}", asset.tag),
                charged_on: closed_on,
            });
        }
        if let Some(m) = manager {
            let pid = ctx.id(i);
            let reason = if unreturned.is_empty() {
                format!("{pid} has left; every item was returned")
            } else {
                format!(
                    "{pid} has left; charged to the budget centre: {}",
                    unreturned.join(", ")
                )
            };
            let acknowledged = rng
                .chance(0.6)
                .then(|| (ctx.later(rng, closed_at, 2), ctx.id(m)));
            r.notices.push(Notice {
                recipient: ctx.id(m),
                reason,
                due_at: None,
                acknowledged,
            });
        }
        self.raised.push(r);
    }

    /// A starter's kit and accounts, due three working days after the request; fulfilled with
    /// the kit they now hold once they have started.
    fn new_starter(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let today = ctx.today;
        let Some(i) = self.pools.starters.pop() else {
            return false;
        };
        let Some(d) = ctx.draft(i) else { return false };
        let start = d.start.unwrap_or(today);
        let opened = shift(start, -rng.between(4, 15))
            .max(ctx.window_start())
            .min(shift(today, -1));
        let mut r = self.new_request(RequestType::NewStarter, i, d.manager, ctx.at(rng, opened));
        r.due_on = Some(
            self.calendar
                .add_working_days(r.opened_at.date_naive(), LEAD_WORKING_DAYS),
        );
        r.details.insert("start_date", start.to_string());
        let issued: Vec<&Asset> = ctx
            .input
            .holdings
            .of(i)
            .iter()
            .filter_map(|&a| ctx.asset(a))
            .filter(|a| {
                a.ownership == Ownership::Organisation && a.status == AssetStatus::Allocated
            })
            .collect();
        if d.started(today) && !issued.is_empty() {
            let tags: Vec<&str> = issued.iter().map(|a| a.tag.as_str()).collect();
            r.details.insert("assets", tags.join(";"));
            let on = issued
                .iter()
                .filter_map(|a| a.assigned_on)
                .min()
                .unwrap_or(today);
            r.state = RequestState::Fulfilled;
            r.closed_at = Some(
                ctx.at(rng, on)
                    .max(ctx.after(rng, r.opened_at, HOUR, 2 * HOUR)),
            );
        }
        self.raised.push(r);
        true
    }

    /// An absence starting: accounts suspended from the first day, kit kept under a
    /// keeping-in-touch agreement where they still hold it.
    fn suspend(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let Some(i) = self.pools.absent.pop() else {
            return false;
        };
        let opened = ctx.recent(rng);
        let from = shift(opened, rng.between(0, 10));
        let holds = !ctx.input.holdings.of(i).is_empty();
        let raised_by = ctx
            .manager(i)
            .or_else(|| rng.pick_opt(&self.holders.hr).copied());
        let mut r = self.new_request(
            RequestType::UserAccountSuspend,
            i,
            raised_by,
            ctx.at(rng, opened),
        );
        r.due_on = Some(from);
        r.details.insert("from", from.to_string());
        r.details.insert(
            "keeping_in_touch",
            if holds { "yes" } else { "no" }.to_owned(),
        );
        if from <= ctx.today {
            r.state = RequestState::Fulfilled;
            r.closed_at = Some(
                ctx.at(rng, from)
                    .max(ctx.after(rng, r.opened_at, HOUR, DAY)),
            );
        }
        self.raised.push(r);
        true
    }

    /// Someone coming back from an absence: due three working days after the request.
    fn return_to_work(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let Some(i) = self.pools.absent.pop() else {
            return false;
        };
        let opened = shift(ctx.today, -rng.between(1, 12));
        let raised_by = ctx
            .manager(i)
            .or_else(|| rng.pick_opt(&self.holders.hr).copied());
        let mut r = self.new_request(
            RequestType::UserAccountReturnToWork,
            i,
            raised_by,
            ctx.at(rng, opened),
        );
        r.due_on = Some(
            self.calendar
                .add_working_days(r.opened_at.date_naive(), LEAD_WORKING_DAYS),
        );
        r.details.insert(
            "return_on",
            shift(ctx.today, rng.between(1, 15)).to_string(),
        );
        self.raised.push(r);
        true
    }

    /// A faulty laptop or phone: swapped for the one now held where the register shows a recent
    /// issue and one of the kind in repair; otherwise still waiting.
    fn fault(&mut self, rng: &mut Rng) -> bool {
        const FAULTS: &[&str] = &[
            "cracked screen",
            "battery will not hold a charge",
            "keyboard keys not responding",
            "will not start",
            "camera and microphone not working",
        ];
        let ctx = self.ctx;
        let Some((i, a)) = self.pools.devices.pop() else {
            return false;
        };
        let Some(asset) = ctx.asset(a) else {
            return false;
        };
        let fault = FAULTS[rng.index(FAULTS.len())].to_owned();
        let recent = asset
            .assigned_on
            .filter(|on| *on >= shift(ctx.window_start(), 5) && *on < ctx.today);
        let repair = self
            .pools
            .in_repair
            .iter()
            .position(|&f| ctx.asset(f).is_some_and(|f| f.kind == asset.kind));
        if let (Some(on), Some(p)) = (recent, repair) {
            let faulty = self.pools.in_repair.swap_remove(p);
            let opened = shift(on, -rng.between(1, 5));
            let mut r = self.new_request(
                RequestType::FaultReplacement,
                i,
                Some(i),
                ctx.at(rng, opened),
            );
            r.details.insert(
                "asset_tag",
                ctx.asset(faulty).map(|f| f.tag.clone()).unwrap_or_default(),
            );
            r.details.insert("replacement_tag", asset.tag.clone());
            r.details.insert("fault", fault);
            r.state = RequestState::Fulfilled;
            r.closed_at = Some(
                ctx.at(rng, on)
                    .max(ctx.after(rng, r.opened_at, HOUR, 2 * HOUR)),
            );
            self.raised.push(r);
            return true;
        }
        let mut r = self.new_request(
            RequestType::FaultReplacement,
            i,
            Some(i),
            ctx.at_days_ago(rng, 1, 15),
        );
        r.details.insert("asset_tag", asset.tag.clone());
        r.details.insert("fault", fault);
        if rng.chance(0.15) {
            r.details.insert(
                "note",
                "fault cleared after an update and a restart".to_owned(),
            );
            self.settle(rng, &mut r, &[], RequestState::Cancelled, None);
        }
        self.raised.push(r);
        true
    }

    /// Kit handed back: the register's returned and damaged items, by someone absent or gone
    /// (a damaged one charged to their budget centre); or a return still to come from someone
    /// about to leave or be away.
    fn equipment_return(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let who = match self.pools.absent.pop() {
            Some(i) => Some(i),
            None => self.pools.leavers.pop(),
        };
        let Some(i) = who else { return false };
        let held: Vec<&Asset> = ctx
            .input
            .holdings
            .of(i)
            .iter()
            .filter_map(|&a| ctx.asset(a))
            .filter(|a| {
                a.ownership == Ownership::Organisation && a.status == AssetStatus::Allocated
            })
            .collect();
        if let Some(asset) = rng.pick_opt(&held) {
            let mut r = self.new_request(
                RequestType::EquipmentReturn,
                i,
                ctx.manager(i),
                ctx.at_days_ago(rng, 1, 10),
            );
            r.details.insert("asset_tag", asset.tag.clone());
            self.raised.push(r);
            return true;
        }
        let Some(a) = self.pools.handed_back.pop() else {
            return false;
        };
        let Some(asset) = ctx.asset(a) else {
            return false;
        };
        let opened_at = ctx.at_recent(rng);
        let mut r = self.new_request(RequestType::EquipmentReturn, i, ctx.manager(i), opened_at);
        r.details.insert("asset_tag", asset.tag.clone());
        let damaged = asset.status == AssetStatus::Damaged;
        r.details.insert(
            "condition",
            if damaged { "damaged" } else { "good" }.to_owned(),
        );
        self.settle(rng, &mut r, &[], RequestState::Fulfilled, None);
        if damaged && let (Some(cost), Some(closed)) = (asset.cost_gbp, r.closed_at) {
            r.charges.push(Charged {
                suffix: asset.tag.clone(),
                asset_tag: Some(asset.tag.clone()),
                budget_centre: ctx
                    .person(i)
                    .and_then(|p| p.budget_centre.clone())
                    .or_else(|| asset.budget_centre.clone()),
                amount: cost,
                reason: format!("{}: returned damaged", asset.tag),
                charged_on: closed.date_naive(),
            });
        }
        self.raised.push(r);
        true
    }

    /// Access to a system, agreed by the line manager.
    fn system_access(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let Some(i) = self.pools.managed.pop() else {
            return false;
        };
        let Some(m) = ctx.manager(i) else {
            return false;
        };
        let systems: Vec<&str> = SYSTEMS
            .iter()
            .map(|s| s.0)
            .filter(|s| !matches!(*s, "active-directory" | "m365"))
            .collect();
        let system = systems[rng.index(systems.len())].to_owned();
        let mut r = self.new_request(RequestType::SystemAccess, i, Some(i), ctx.at_recent(rng));
        r.details.insert("system", system);
        let state = *rng.weighted(&[
            (RequestState::Open, 20),
            (RequestState::Approved, 15),
            (RequestState::Fulfilled, 50),
            (RequestState::Rejected, 10),
            (RequestState::Cancelled, 5),
        ]);
        self.settle(
            rng,
            &mut r,
            &[(ApproverRole::LineManager, m)],
            state,
            Some("Not needed for the role; use the shared reports instead"),
        );
        self.raised.push(r);
        true
    }

    /// Extra kit agreed by the IT team; when it is paid for locally, fulfilling it charges the
    /// budget centre.
    fn additional_equipment(&mut self, rng: &mut Rng) -> bool {
        const ITEMS: &[(&str, &str, i64)] = &[
            ("peripheral", "Second monitor for home working", 11_900),
            ("peripheral", "Headset for hearings by video", 9_500),
            ("peripheral", "Docking station", 11_900),
            ("laptop", "Laptop for a shared duty desk", 99_900),
        ];
        let ctx = self.ctx;
        let Some(i) = self.pools.managed.pop() else {
            return false;
        };
        let Some(it) = self.one_of(rng, &self.holders.it, i) else {
            return false;
        };
        let (kind, item, price) = ITEMS[rng.index(ITEMS.len())];
        let mut r = self.new_request(
            RequestType::AdditionalEquipment,
            i,
            Some(i),
            ctx.at_recent(rng),
        );
        let local = rng.chance(0.6);
        r.details.insert("device_kind", kind.to_owned());
        r.details.insert("item", item.to_owned());
        r.details.insert(
            "funding",
            if local { "local" } else { "corporate" }.to_owned(),
        );
        // The first is always a fulfilled local purchase, so that charges show one.
        let first = !self
            .raised
            .iter()
            .any(|r| r.kind == RequestType::AdditionalEquipment);
        let state = if first {
            RequestState::Fulfilled
        } else {
            *rng.weighted(&[
                (RequestState::Open, 25),
                (RequestState::Approved, 15),
                (RequestState::Fulfilled, 45),
                (RequestState::Rejected, 15),
            ])
        };
        if first && !local {
            r.details.insert("funding", "local".to_owned());
        }
        let local = r.details.get("funding").is_some_and(|f| f == "local");
        if local {
            r.details.insert("cost_gbp", pounds(Pence(price)));
        }
        self.settle(
            rng,
            &mut r,
            &[(ApproverRole::It, it)],
            state,
            Some("Available from the stock pool instead"),
        );
        if r.state == RequestState::Fulfilled
            && local
            && let Some(closed) = r.closed_at
        {
            r.charges.push(Charged {
                suffix: "charge".to_owned(),
                asset_tag: None,
                budget_centre: ctx.person(i).and_then(|p| p.budget_centre.clone()),
                amount: Pence(price),
                reason: format!("additional-equipment for {}: {item}", ctx.id(i)),
                charged_on: closed.date_naive(),
            });
        }
        self.raised.push(r);
        true
    }

    /// A reasonable adjustment: HR agrees, then IT.
    fn particular_needs(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let Some(i) = self.pools.managed.pop() else {
            return false;
        };
        let (Some(hr), Some(it)) = (
            self.one_of(rng, &self.holders.hr, i),
            self.one_of(rng, &self.holders.it, i),
        ) else {
            return false;
        };
        let mut r = self.new_request(RequestType::ParticularNeeds, i, Some(i), ctx.at_recent(rng));
        let (source, kind) = *rng.weighted(&[
            (("access_to_work", "laptop"), 50),
            (("occupational_health", "peripheral"), 50),
        ]);
        r.details.insert("source", source.to_owned());
        r.details.insert("device_kind", kind.to_owned());
        let state = *rng.weighted(&[
            (RequestState::Open, 50),
            (RequestState::Approved, 30),
            (RequestState::Rejected, 20),
        ]);
        self.settle(
            rng,
            &mut r,
            &[(ApproverRole::Hr, hr), (ApproverRole::It, it)],
            state,
            Some("Awaiting the occupational health report"),
        );
        self.raised.push(r);
        true
    }

    /// A manager's access to the mailbox of someone away, on a senior manager's authority; the
    /// person is told when they are back.
    fn access_to_another_user(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let Some(target) = self.pools.absent.pop() else {
            return false;
        };
        let Some(m) = ctx.manager(target) else {
            return false;
        };
        let Some(senior) = self.one_of(rng, &self.holders.senior, m) else {
            return false;
        };
        let reason = "case documents needed for a court deadline";
        let mut r = self.new_request(
            RequestType::AccessToAnotherUser,
            m,
            Some(m),
            ctx.at_recent(rng),
        );
        r.details.insert("target", ctx.id(target));
        r.details.insert("reason", reason.to_owned());
        let state = if rng.chance(0.75) {
            RequestState::Fulfilled
        } else {
            RequestState::Open
        };
        self.settle(rng, &mut r, &[(ApproverRole::Senior, senior)], state, None);
        if r.state == RequestState::Fulfilled {
            r.notices.push(Notice {
                recipient: ctx.id(target),
                reason: format!(
                    "your mailbox or computer was opened on senior authorisation while you were away: {reason}"
                ),
                due_at: None,
                acknowledged: None,
            });
        }
        self.raised.push(r);
        true
    }

    /// A tablet booked for a visit: the tablets on loan now, and bookings still to come.
    fn tablet_booking(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let today = ctx.today;
        if let Some((i, a)) = self.pools.tablets.pop() {
            let Some(tablet) = ctx.asset(a) else {
                return false;
            };
            let from = tablet.assigned_on.unwrap_or(today);
            let opened = shift(from, -rng.between(1, 7)).min(shift(today, -1));
            let mut r =
                self.new_request(RequestType::TabletBooking, i, Some(i), ctx.at(rng, opened));
            r.details.insert("from", from.to_string());
            r.details
                .insert("to", shift(from, rng.between(0, 4)).to_string());
            r.details.insert("asset_tag", tablet.tag.clone());
            r.state = RequestState::Fulfilled;
            r.closed_at = Some(
                ctx.at(rng, from)
                    .max(ctx.after(rng, r.opened_at, HOUR, 2 * HOUR)),
            );
            self.raised.push(r);
            return true;
        }
        let Some(i) = self.pools.managed.pop() else {
            return false;
        };
        let from = shift(today, rng.between(2, 20));
        let mut r = self.new_request(
            RequestType::TabletBooking,
            i,
            Some(i),
            ctx.at_days_ago(rng, 1, 7),
        );
        r.details.insert("from", from.to_string());
        r.details
            .insert("to", shift(from, rng.between(0, 2)).to_string());
        self.raised.push(r);
        true
    }

    /// A PAC code to move a work mobile number: anyone may ask.
    fn pac_code(&mut self, rng: &mut Rng) -> bool {
        let ctx = self.ctx;
        let i = match self.pools.devices.pop() {
            Some((i, _)) => i,
            None => match rng.pick_opt(&ctx.active) {
                Some(&i) => i,
                None => rng.index(ctx.input.people.len()),
            },
        };
        let mut r = self.new_request(RequestType::PacCode, i, Some(i), ctx.at_recent(rng));
        // Ofcom's range for drama: never a real number.
        r.details.insert(
            "mobile_number",
            format!("07700 900{:03}", rng.between(0, 999)),
        );
        let state = if rng.chance(0.8) {
            RequestState::Fulfilled
        } else {
            RequestState::Open
        };
        self.settle(rng, &mut r, &[], state, None);
        self.raised.push(r);
        true
    }

    /// About one incident per 200 people, five at least: a loss, a theft, a phishing report, a
    /// data breach and a damaged device first, then the mix.
    fn incidents(&mut self, rng: &mut Rng) {
        let people = self.ctx.input.people.len();
        let target = (people / 200).max(5);
        let mut first = vec![
            IncidentType::Damage,
            IncidentType::DataBreach,
            IncidentType::Phishing,
            IncidentType::Theft,
            IncidentType::Loss,
        ];
        let mut attempts = 0;
        while self.reported.len() < target && attempts < target * 4 {
            attempts += 1;
            let kind = first.pop().unwrap_or_else(|| *rng.weighted(INCIDENT_MIX));
            if !self.incident(rng, kind) {
                self.incident(rng, IncidentType::Phishing);
            }
        }
    }

    /// The asset a loss, theft or damage is about, and its holder: one the register already
    /// records as lost, stolen or damaged where there is one, else a device in someone's hands.
    fn mishap(&mut self, kind: IncidentType) -> Option<(usize, usize)> {
        let ctx = self.ctx;
        let status = match kind {
            IncidentType::Loss => AssetStatus::Lost,
            IncidentType::Theft => AssetStatus::Stolen,
            _ => AssetStatus::Damaged,
        };
        let recorded = self
            .pools
            .mishaps
            .iter()
            .position(|&(_, a)| ctx.asset(a).is_some_and(|a| a.status == status));
        match recorded {
            Some(p) => Some(self.pools.mishaps.swap_remove(p)),
            None => self.pools.devices.pop(),
        }
    }

    fn incident(&mut self, rng: &mut Rng, kind: IncidentType) -> bool {
        let ctx = self.ctx;
        let holders = self.holders;
        let (person, asset) = match kind {
            IncidentType::Loss | IncidentType::Theft | IncidentType::Damage => {
                match self.mishap(kind) {
                    Some((p, a)) => (p, Some(a)),
                    None => return false,
                }
            }
            IncidentType::DataBreach | IncidentType::PolicyBreach => {
                match self.pools.managed.pop() {
                    Some(p) => (p, None),
                    None => return false,
                }
            }
            IncidentType::Phishing | IncidentType::ThreateningCall => {
                match rng.pick_opt(&ctx.active) {
                    Some(&p) => (p, None),
                    None => (rng.index(ctx.input.people.len()), None),
                }
            }
        };
        let first_breach = kind == IncidentType::DataBreach
            && !self
                .reported
                .iter()
                .any(|r| r.incident.kind == IncidentType::DataBreach);
        let days_ago = if first_breach {
            rng.between(10, 50)
        } else {
            rng.between(0, WINDOW_DAYS)
        };
        let day = shift(ctx.today, -days_ago);
        let discovered_at = ctx.clock.on(day, rng.between(7 * HOUR, 20 * HOUR));
        let occurred_at = match kind {
            IncidentType::Phishing | IncidentType::ThreateningCall => None,
            IncidentType::DataBreach => Some(before(discovered_at, rng.between(HOUR, 3 * DAY))),
            _ => Some(before(discovered_at, rng.between(10 * 60, 20 * HOUR))),
        };
        // Reported "immediately" (within the hour) by most; some only the next day.
        let window_hours = match kind {
            IncidentType::PolicyBreach | IncidentType::ThreateningCall => 24,
            _ => 1,
        };
        let reported_at = if rng.chance(0.85) {
            ctx.after(rng, discovered_at, 5 * 60, 50 * 60)
        } else {
            ctx.after(rng, discovered_at, 26 * HOUR, 40 * HOUR)
        };
        let report_by = before(discovered_at, -window_hours * HOUR);
        let late = reported_at > report_by;
        let state = if first_breach {
            IncidentState::Closed
        } else if days_ago > 7 {
            *rng.weighted(&[
                (IncidentState::Closed, 70),
                (IncidentState::Investigating, 30),
            ])
        } else {
            *rng.weighted(&[
                (IncidentState::Reported, 50),
                (IncidentState::Investigating, 50),
            ])
        };
        let mut incident = Incident {
            id: String::new(),
            kind,
            person_id: ctx.id(person),
            asset_tag: asset.and_then(|a| ctx.asset(a)).map(|a| a.tag.clone()),
            state,
            occurred_at,
            discovered_at,
            reported_at,
            report_by: Some(report_by),
            late: Some(late),
            ico_notify_by: None,
            facts: None,
            effects: None,
            remedial_action: None,
            ico_decision: None,
            ico_reasons: None,
            ico_notified_at: None,
            closed_at: None,
            details: None,
        };
        let mut extra: BTreeMap<&'static str, String> = BTreeMap::new();
        let device = asset
            .and_then(|a| ctx.asset(a))
            .map_or("device", |a| match a.kind {
                AssetKind::Laptop => "laptop",
                _ => "smartphone",
            });
        match kind {
            IncidentType::Loss => {
                extra.insert(
                    "where",
                    format!(
                        "{device} left on a train between {}",
                        [
                            "London Euston and Milton Keynes",
                            "Manchester Piccadilly and Stockport",
                            "Leeds and York",
                            "Bristol Temple Meads and Bath Spa",
                        ][rng.index(4)]
                    ),
                );
            }
            IncidentType::Theft => {
                extra.insert(
                    "where",
                    format!("{device} taken from a car parked outside a family's home"),
                );
                extra.insert(
                    "crime_reference",
                    format!(
                        "CRN-{:06}-{:02}",
                        rng.between(1, 999_999),
                        day.year().rem_euclid(100)
                    ),
                );
            }
            IncidentType::Damage => {
                extra.insert("what_happened", format!("{device} dropped; screen cracked"));
            }
            IncidentType::Phishing => {
                extra.insert(
                    "subject",
                    [
                        "Your Microsoft 365 password expires today",
                        "HMCTS: documents shared with you",
                        "Invoice overdue: payment required",
                        "Parcel held: confirm your address",
                    ][rng.index(4)]
                    .to_owned(),
                );
                extra.insert(
                    "clicked",
                    if rng.chance(0.15) { "yes" } else { "no" }.to_owned(),
                );
            }
            IncidentType::PolicyBreach => {
                extra.insert(
                    "summary",
                    "case papers left on a desk overnight in an open-plan office".to_owned(),
                );
            }
            IncidentType::ThreateningCall => {
                extra.insert(
                    "summary",
                    "a parent threatened a practitioner by telephone after a hearing".to_owned(),
                );
            }
            IncidentType::DataBreach => {
                incident.ico_notify_by = Some(before(discovered_at, -72 * HOUR));
                let notify = !first_breach && rng.chance(0.25);
                incident.facts = Some(if notify {
                    "A case file for a child in public law proceedings, with health and school records, was uploaded to the wrong family's portal account.".to_owned()
                } else {
                    "A report for the court naming a child and both parents, with their address, was e-mailed to the wrong firm of solicitors.".to_owned()
                });
                incident.effects = Some(if notify {
                    "Special category data of a child and two adults seen by another family involved in proceedings; risk of harm to the child's placement.".to_owned()
                } else {
                    "Personal data of one child and two adults disclosed to one unintended recipient, a regulated professional; low risk of onward disclosure.".to_owned()
                });
                if state != IncidentState::Reported {
                    incident.remedial_action = Some(if notify {
                        "Portal access withdrawn within the hour; the family asked to delete the file and confirmed it; the social worker and the court informed; upload checks added.".to_owned()
                    } else {
                        "Recipient confirmed deletion in writing the same day; the sender reminded of the checking procedure; e-mail address auto-complete cleared.".to_owned()
                    });
                }
                if state == IncidentState::Closed {
                    if notify {
                        incident.ico_decision = Some(IcoDecision::Notify);
                        incident.ico_reasons = Some("Likely to result in a risk to the rights and freedoms of the child: special category data disclosed to a party to the proceedings.".to_owned());
                        incident.ico_notified_at =
                            Some(ctx.after(rng, discovered_at, 20 * HOUR, 60 * HOUR));
                    } else {
                        incident.ico_decision = Some(IcoDecision::DoNotNotify);
                        incident.ico_reasons = Some("Unlikely to result in a risk to the individuals' rights and freedoms: the recipient is bound by professional confidentiality and confirmed deletion within hours.".to_owned());
                    }
                }
            }
        }
        incident.details = details(&extra);
        if state == IncidentState::Closed {
            let after = incident.ico_notified_at.unwrap_or(reported_at);
            incident.closed_at = Some(ctx.later(rng, after, 20));
        }

        // Who must be told, as the workflow names them; most told once it is in hand.
        let manager = ctx.manager(person);
        let parties: &[&str] = match kind {
            IncidentType::Loss => &["it-service-desk", "information-governance", "line-manager"],
            IncidentType::Theft => &[
                "it-service-desk",
                "information-governance",
                "line-manager",
                "police",
            ],
            IncidentType::Damage | IncidentType::Phishing => &["it-service-desk"],
            IncidentType::PolicyBreach => &["line-manager", "information-governance"],
            IncidentType::DataBreach => &["information-governance", "line-manager"],
            IncidentType::ThreateningCall => &["line-manager", "security"],
        };
        let told = match state {
            IncidentState::Closed => 0.95,
            IncidentState::Investigating => 0.7,
            IncidentState::Reported => 0.3,
        };
        let mut notices = Vec::new();
        for party in parties {
            let (recipient, by) = match *party {
                "line-manager" => match manager {
                    Some(m) => (ctx.id(m), Some(m)),
                    None => continue,
                },
                "it-service-desk" => ((*party).to_owned(), Holders::pick(&holders.it, rng, person)),
                "information-governance" | "security" => (
                    (*party).to_owned(),
                    Holders::pick(&holders.governance, rng, person),
                ),
                // The reporter rang the police.
                _ => ((*party).to_owned(), Some(person)),
            };
            let acknowledged = if rng.chance(told) {
                by.map(|b| (ctx.after(rng, reported_at, 5 * 60, 6 * HOUR), ctx.id(b)))
            } else {
                None
            };
            notices.push(Notice {
                recipient,
                reason: format!("{kind} reported by {} ({party})", ctx.id(person)),
                due_at: Some(report_by),
                acknowledged,
            });
        }
        self.reported.push(Reported { incident, notices });
        true
    }

    /// Numbers the requests and incidents in the order they were raised, and files their
    /// approvals, notifications and charges under those numbers.
    fn finish(mut self) -> Books {
        let ctx = self.ctx;
        self.raised
            .sort_by_key(|r| (r.opened_at, r.person, r.kind.as_str()));
        self.reported.sort_by_key(|r| {
            (
                r.incident.reported_at,
                r.incident.person_id.clone(),
                r.incident.kind.as_str(),
            )
        });
        let mut books = Books {
            requests: Vec::with_capacity(self.raised.len()),
            approvals: Vec::new(),
            incidents: Vec::with_capacity(self.reported.len()),
            notifications: Vec::new(),
            charges: Vec::new(),
        };
        let total = self.raised.len();
        for (n, r) in self.raised.into_iter().enumerate() {
            let id = numbered("REQ", n + 1, total);
            for a in r.approvals {
                books.approvals.push(Approval {
                    request_id: id.clone(),
                    role: a.role,
                    person_id: ctx.id(a.person),
                    decision: a.decision,
                    decided_at: a.at,
                    note: a.note.map(str::to_owned),
                });
            }
            for notice in r.notices {
                books
                    .notifications
                    .push(notification(&id, notice, r.opened_at));
            }
            for c in r.charges {
                books.charges.push(Charge {
                    id: format!("{id}-{}", c.suffix),
                    request_id: Some(id.clone()),
                    asset_tag: c.asset_tag,
                    budget_centre: c.budget_centre,
                    amount_gbp: c.amount,
                    reason: c.reason,
                    charged_on: c.charged_on,
                });
            }
            books.requests.push(Request {
                id,
                kind: r.kind,
                person_id: ctx.id(r.person),
                raised_by: r.raised_by.map(|i| ctx.id(i)),
                state: r.state,
                opened_at: r.opened_at,
                due_on: r.due_on,
                closed_at: r.closed_at,
                details: details(&r.details),
                // The demo's approvals are the parties Steward knows for each type.
                approvers: None,
            });
        }
        let total = self.reported.len();
        for (n, r) in self.reported.into_iter().enumerate() {
            let id = numbered("INC", n + 1, total);
            for notice in r.notices {
                books
                    .notifications
                    .push(notification(&id, notice, r.incident.reported_at));
            }
            let mut incident = r.incident;
            incident.id = id;
            books.incidents.push(incident);
        }
        books.approvals.sort_by_cached_key(Approval::key);
        books.notifications.sort_by_cached_key(Notification::key);
        books.charges.sort_by(|a, b| a.id.cmp(&b.id));
        books
    }
}

/// A notice, emailed a minute after what it is about was raised (the demo's history is as if
/// mail had always been configured, so a demo given a relay does not send its past).
fn notification(about: &str, notice: Notice, raised: DateTime<Utc>) -> Notification {
    let (acknowledged_at, acknowledged_by) = match notice.acknowledged {
        Some((at, by)) => (Some(at), Some(by)),
        None => (None, None),
    };
    Notification {
        about: about.to_owned(),
        recipient: notice.recipient,
        reason: notice.reason,
        due_at: notice.due_at,
        acknowledged_at,
        acknowledged_by,
        emailed_at: Some(raised + chrono::Duration::minutes(1)),
    }
}
