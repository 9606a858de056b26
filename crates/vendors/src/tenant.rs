//! The vendor-neutral organisation every stand-in renders in its own vendor's shapes: people,
//! devices, sign-ins and directory roles. Deterministic: the same arguments always build the same
//! tenant, and nothing here reads the clock (the tenant's present is its own `now`).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use std::collections::{HashMap, HashSet};

/// The instant [`Tenant::generate`] takes as the present.
pub fn default_now() -> DateTime<Utc> {
    // A fixed instant: generated data must not depend on when a test runs.
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// The Google Workspace customer id every stand-in reports (`my_customer` resolves to it).
pub const CUSTOMER_ID: &str = "C03az79cb";

/// A whole organisation as the stand-ins see it. Every field is public so that a test can build a
/// tiny tenant by hand (`Tenant::default()` then push records); when editing a record by hand for
/// an incremental sync, set its `last_modified` to [`Tenant::tick`].
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// The e-mail domain (`example.org`).
    pub domain: String,
    /// The tenant's present: sign-ins, syncs and changes are dated relative to it.
    pub now: DateTime<Utc>,
    pub users: Vec<User>,
    pub devices: Vec<Device>,
    pub sign_ins: Vec<SignIn>,
    /// Directory roles (Entra's activated roles), each with its members' user ids.
    pub roles: Vec<Role>,
    /// Users deleted from the directory, with when: Graph's delta reports them as `@removed`,
    /// Google lists them with `showDeleted=true`.
    pub deleted_users: Vec<DeletedUser>,
}

impl Default for Tenant {
    fn default() -> Self {
        Tenant {
            domain: "example.org".to_string(),
            now: default_now(),
            users: Vec::new(),
            devices: Vec::new(),
            sign_ins: Vec::new(),
            roles: Vec::new(),
            deleted_users: Vec::new(),
        }
    }
}

/// A person's account in the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// A GUID-like object id (Entra's `id`; Google's numeric id is derived from it).
    pub id: String,
    /// A small stable number: the person's id in Snipe-IT.
    pub number: u32,
    /// The sign-in name and primary address (UPN, Google's `primaryEmail`), lower case.
    pub email: String,
    /// Other addresses that reach the same person.
    pub aliases: Vec<String>,
    pub given_name: String,
    pub family_name: String,
    pub display_name: String,
    pub employee_id: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    /// The manager's user id.
    pub manager_id: Option<String>,
    pub hire_date: Option<NaiveDate>,
    pub leave_date: Option<NaiveDate>,
    /// Entra's `accountEnabled`; Google's `suspended` is its negation.
    pub enabled: bool,
    /// Google's `archived`.
    pub archived: bool,
    /// Holds an administrative role (Entra `isAdmin`, Google `isAdmin`).
    pub admin: bool,
    pub mfa_registered: bool,
    /// Entra's `methodsRegistered` (`microsoftAuthenticatorPush`, `mobilePhone`, `fido2`, …).
    pub methods_registered: Vec<String>,
    pub last_sign_in: Option<DateTime<Utc>>,
    /// Google's `orgUnitPath` (`/Staff/Finance`).
    pub org_unit_path: String,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

/// A user removed from the directory, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedUser {
    pub user: User,
    pub deleted: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Os {
    Windows,
    MacOs,
    Ios,
    Android,
    ChromeOs,
}

impl Os {
    /// The name as Intune's `operatingSystem` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Os::Windows => "Windows",
            Os::MacOs => "macOS",
            Os::Ios => "iOS",
            Os::Android => "Android",
            Os::ChromeOs => "ChromeOS",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Laptop,
    Desktop,
    Phone,
    Tablet,
    Chromebook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ownership {
    Company,
    Personal,
}

/// Intune's `complianceState` values this tenant uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compliance {
    Compliant,
    Noncompliant,
    InGracePeriod,
    Unknown,
}

impl Compliance {
    pub fn name(self) -> &'static str {
        match self {
            Compliance::Compliant => "compliant",
            Compliance::Noncompliant => "noncompliant",
            Compliance::InGracePeriod => "inGracePeriod",
            Compliance::Unknown => "unknown",
        }
    }
}

/// Where a device is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceStatus {
    /// Issued and in use (with a holder) or ready to issue (without).
    InUse,
    Repair,
    Lost,
    /// Retired: gone from the device managers, archived in the asset register.
    Retired,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// A GUID-like id (Intune's `id`, Google's `resourceId`/`deviceId`).
    pub id: String,
    /// A small stable number: Jamf's and Snipe-IT's id.
    pub number: u32,
    /// The directory's device id (Entra `azureADDeviceId`, sign-ins' `deviceDetail.deviceId`).
    pub directory_id: String,
    pub name: String,
    pub serial: String,
    /// Phones only.
    pub imei: Option<String>,
    pub os: Os,
    pub os_version: String,
    pub model: String,
    /// Apple's model identifier (`Mac14,2`, `iPhone15,4`) or the vendor's model number.
    pub model_identifier: String,
    pub manufacturer: String,
    pub kind: DeviceKind,
    pub owner: Ownership,
    /// The holder's user id.
    pub user_id: Option<String>,
    pub encrypted: bool,
    pub compliance: Compliance,
    pub last_sync: Option<DateTime<Utc>>,
    pub phone_number: Option<String>,
    pub enrolled: DateTime<Utc>,
    /// Company devices only.
    pub asset_tag: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub purchase_cost_pence: Option<i64>,
    pub status: DeviceStatus,
    pub last_modified: DateTime<Utc>,
}

impl Device {
    /// Whether Intune manages the device: every platform but ChromeOS, until it is retired.
    pub fn in_intune(&self) -> bool {
        self.os != Os::ChromeOs && self.status != DeviceStatus::Retired
    }
}

/// One sign-in event.
#[derive(Debug, Clone, PartialEq)]
pub struct SignIn {
    pub id: String,
    pub created: DateTime<Utc>,
    pub user_id: String,
    pub user_principal_name: String,
    pub user_display_name: String,
    /// The tenant device's `id`, when the sign-in came from a known device.
    pub device_id: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub city: String,
    /// 0 for success (Entra's `status.errorCode`), e.g. 50126 for a wrong password.
    pub error_code: i64,
}

/// A directory role and who holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub role_template_id: String,
    pub members: Vec<String>,
}

/// splitmix64: small, fast and good enough for test data; no external crate.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub(crate) fn guid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

const GIVEN: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Mary",
    "Tim",
    "Ruth",
    "Isaac",
    "Rosalind",
    "Charles",
    "Dorothy",
    "James",
    "Florence",
    "Michael",
    "Jane",
    "Stephen",
    "Emily",
    "David",
    "Sophie",
    "Thomas",
    "Olivia",
    "Daniel",
    "Amelia",
    "Samuel",
    "Chloe",
    "Joseph",
    "Priya",
    "Mohammed",
    "Aisha",
    "Oliver",
    "Hannah",
    "George",
    "Lucy",
    "Harry",
    "Zara",
    "Jack",
    "Fatima",
    "Noah",
    "Ella",
    "Leo",
    "Isla",
    "Arthur",
    "Freya",
    "Oscar",
    "Maya",
    "Henry",
    "Evie",
    "Theo",
    "Ruby",
    "Finley",
    "Niamh",
    "Rhys",
    "Catrin",
    "Callum",
    "Eilidh",
    "Kwame",
    "Adaeze",
    "Wei",
    "Mei",
    "Arjun",
    "Anika",
    "Tomasz",
    "Agnieszka",
    "Luca",
    "Giulia",
    "Mateo",
    "Lucia",
    "Yusuf",
    "Leila",
];

const FAMILY: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Seacole",
    "Berners-Lee",
    "Franklin",
    "Newton",
    "Babbage",
    "Hodgkin",
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Khan",
    "Ahmed",
    "Okafor",
    "Mensah",
    "Nowak",
    "Kowalski",
    "Rossi",
    "Chen",
    "Singh",
    "O'Brien",
    "MacLeod",
];

const DEPARTMENTS: &[&str] = &[
    "Fundraising",
    "Finance",
    "Services",
    "Operations",
    "Communications",
    "Policy",
    "Volunteering",
    "IT",
    "People",
    "Retail",
];

const TITLES: &[&str] = &[
    "Officer",
    "Coordinator",
    "Adviser",
    "Assistant",
    "Manager",
    "Lead",
    "Analyst",
    "Caseworker",
];

const COUNTRIES_ABROAD: &[&str] = &["FR", "ES", "US", "DE", "IE", "NL", "IN", "NG", "PT", "IT"];
const UK_CITIES: &[&str] = &[
    "London",
    "Manchester",
    "Birmingham",
    "Leeds",
    "Glasgow",
    "Cardiff",
    "Bristol",
    "Belfast",
];

const MFA_METHODS: &[&str] = &[
    "microsoftAuthenticatorPush",
    "softwareOneTimePasscode",
    "mobilePhone",
    "fido2",
    "windowsHelloForBusiness",
];

/// Entra built-in roles: (display name, template id, description).
const ROLES: &[(&str, &str, &str)] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
    ),
    (
        "User Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    ),
    (
        "Intune Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Can manage all aspects of the Intune product.",
    ),
    (
        "Global Reader",
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "Can read everything that a Global Administrator can, but not update anything.",
    ),
];

/// One model a device can be: (kind, os, manufacturer, model, identifier, os versions).
struct Model {
    kind: DeviceKind,
    os: Os,
    manufacturer: &'static str,
    model: &'static str,
    identifier: &'static str,
    versions: &'static [&'static str],
    /// Purchase cost in pence.
    cost: i64,
}

const MODELS: &[Model] = &[
    Model {
        kind: DeviceKind::Laptop,
        os: Os::Windows,
        manufacturer: "Lenovo",
        model: "ThinkPad T14 Gen 4",
        identifier: "21HD",
        versions: &["10.0.22631.3880", "10.0.22631.4317", "10.0.19045.4651"],
        cost: 119_900,
    },
    Model {
        kind: DeviceKind::Laptop,
        os: Os::Windows,
        manufacturer: "Dell Inc.",
        model: "Latitude 5440",
        identifier: "0C5N",
        versions: &["10.0.22631.3880", "10.0.22631.4317"],
        cost: 104_900,
    },
    Model {
        kind: DeviceKind::Laptop,
        os: Os::MacOs,
        manufacturer: "Apple",
        model: "MacBook Air (M2, 2022)",
        identifier: "Mac14,2",
        versions: &["14.5", "14.6.1", "15.0.1"],
        cost: 114_900,
    },
    Model {
        kind: DeviceKind::Laptop,
        os: Os::MacOs,
        manufacturer: "Apple",
        model: "MacBook Pro (14-inch, 2023)",
        identifier: "Mac14,9",
        versions: &["14.5", "15.0.1"],
        cost: 199_900,
    },
    Model {
        kind: DeviceKind::Desktop,
        os: Os::Windows,
        manufacturer: "Dell Inc.",
        model: "OptiPlex 7010",
        identifier: "0K0C",
        versions: &["10.0.22631.3880", "10.0.19045.4651"],
        cost: 74_900,
    },
    Model {
        kind: DeviceKind::Phone,
        os: Os::Ios,
        manufacturer: "Apple",
        model: "iPhone 15",
        identifier: "iPhone15,4",
        versions: &["17.5.1", "17.6.1", "18.0"],
        cost: 79_900,
    },
    Model {
        kind: DeviceKind::Phone,
        os: Os::Ios,
        manufacturer: "Apple",
        model: "iPhone SE (3rd generation)",
        identifier: "iPhone14,6",
        versions: &["17.5.1", "16.7.8"],
        cost: 42_900,
    },
    Model {
        kind: DeviceKind::Phone,
        os: Os::Android,
        manufacturer: "samsung",
        model: "SM-A546B",
        identifier: "SM-A546B",
        versions: &["14", "13"],
        cost: 34_900,
    },
    Model {
        kind: DeviceKind::Phone,
        os: Os::Android,
        manufacturer: "Google",
        model: "Pixel 7a",
        identifier: "G82U8",
        versions: &["14", "15"],
        cost: 39_900,
    },
    Model {
        kind: DeviceKind::Tablet,
        os: Os::Ios,
        manufacturer: "Apple",
        model: "iPad (10th generation)",
        identifier: "iPad13,18",
        versions: &["17.5.1", "17.6.1"],
        cost: 34_900,
    },
    Model {
        kind: DeviceKind::Chromebook,
        os: Os::ChromeOs,
        manufacturer: "Acer",
        model: "Acer Chromebook Spin 714",
        identifier: "CP714-2WN",
        versions: &["126.0.6478.132", "127.0.6533.103"],
        cost: 64_900,
    },
];

fn models(kind: DeviceKind, os: Option<Os>) -> Vec<&'static Model> {
    MODELS
        .iter()
        .filter(|m| m.kind == kind && os.is_none_or(|os| m.os == os))
        .collect()
}

/// An IMEI with a valid Luhn check digit.
fn imei(rng: &mut Rng) -> String {
    let mut digits: Vec<u32> = vec![3, 5, 6, 9, 3, 8, 1, 1];
    for _ in 0..6 {
        digits.push(rng.below(10) as u32);
    }
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
        .collect()
}

fn serial(model: &Model, number: u32, rng: &mut Rng) -> String {
    // Unique through the device number; shaped roughly as each maker's serials are.
    let tail = format!("{:06}", number);
    match model.manufacturer {
        "Apple" => format!("C02{}{}", alnum(rng, 3), tail),
        "Lenovo" => format!("PF{}{}", alnum(rng, 2), tail),
        "Dell Inc." => format!("{}{}", alnum(rng, 1), tail),
        _ => format!("R5{}{}", alnum(rng, 3), tail),
    }
}

fn alnum(rng: &mut Rng, n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    (0..n).map(|_| *rng.pick(CHARS) as char).collect()
}

fn slug(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase()
}

impl Tenant {
    /// A realistic organisation of `users` people and `devices` devices, the same for the same
    /// arguments: a management hierarchy under one chief executive, about 3% leavers (disabled,
    /// with a leave date), about 10% without MFA, a few administrators in directory roles, laptops
    /// and phones spread among the people (some spare, some personal), and a week of sign-ins,
    /// a few of them abroad. Dated relative to [`default_now`].
    pub fn generate(users: usize, devices: usize, seed: u64) -> Tenant {
        Tenant::generate_at(users, devices, seed, default_now())
    }

    /// [`Tenant::generate`] with another present.
    pub fn generate_at(users: usize, devices: usize, seed: u64, now: DateTime<Utc>) -> Tenant {
        let mut rng = Rng::new(seed);
        let mut tenant = Tenant {
            now,
            ..Tenant::default()
        };
        let mut emails = HashSet::with_capacity(users);
        for i in 0..users {
            let user = tenant.new_user(&mut rng, i, &mut emails);
            tenant.users.push(user);
        }
        tenant.assign_roles(&mut rng);
        for i in 0..devices {
            let device = tenant.new_device(&mut rng, i as u32 + 1);
            tenant.devices.push(device);
        }
        tenant.generate_sign_ins(&mut rng);
        tenant
    }

    fn new_user(&self, rng: &mut Rng, index: usize, emails: &mut HashSet<String>) -> User {
        let now = self.now;
        let (given, family) = if index == 0 {
            ("Ada", "Lovelace")
        } else {
            (*rng.pick(GIVEN), *rng.pick(FAMILY))
        };
        let base = format!("{}.{}", slug(given), slug(family));
        let mut local = base.clone();
        let mut n = 1;
        while !emails.insert(local.clone()) {
            n += 1;
            local = format!("{base}{n}");
        }
        let email = format!("{local}@{}", self.domain);
        let mut aliases = Vec::new();
        if rng.chance(0.3) {
            aliases.push(format!(
                "{}{}@{}",
                slug(given).chars().next().unwrap_or('x'),
                local
                    .trim_start_matches(&slug(given))
                    .trim_start_matches('.'),
                self.domain
            ));
        }
        if rng.chance(0.05) {
            aliases.push(format!("{local}@{}.onmicrosoft.com", slug(&self.domain)));
        }
        // Managers come from earlier users, so the hierarchy has one root and no cycles; picking
        // from the first sixth keeps it shallow and wide as an organisation's is.
        let pool = (index / 6).clamp(1, self.users.len().max(1)) as u64;
        let manager = (index > 0 && !self.users.is_empty())
            .then(|| rng.below(pool) as usize)
            .map(|m| (self.users[m].id.clone(), self.users[m].department.clone()));
        let department = match &manager {
            Some((_, d)) if rng.chance(0.85) => d.clone(),
            _ if index == 0 => Some("Executive".to_string()),
            _ => Some(rng.pick(DEPARTMENTS).to_string()),
        };
        let title = if index == 0 {
            "Chief Executive".to_string()
        } else {
            format!(
                "{} {}",
                department.as_deref().unwrap_or("Team"),
                rng.pick(TITLES)
            )
        };
        let days_employed = 30 + rng.below(365 * 15);
        let hire = now - Duration::days(days_employed as i64);
        let leaver = index > 0 && rng.chance(0.03);
        let never_signed_in = !leaver && rng.chance(0.02);
        let mfa = index == 0 || !rng.chance(0.10);
        let methods = if mfa {
            let mut m = vec![rng.pick(MFA_METHODS).to_string()];
            if rng.chance(0.4) {
                let other = rng.pick(MFA_METHODS).to_string();
                if !m.contains(&other) {
                    m.push(other);
                }
            }
            m
        } else if rng.chance(0.5) {
            vec!["email".to_string()]
        } else {
            Vec::new()
        };
        let leave_date =
            leaver.then(|| (now - Duration::days(1 + rng.below(200) as i64)).date_naive());
        let last_sign_in = if never_signed_in {
            None
        } else if let Some(left) = leave_date {
            Some(
                left.and_hms_opt(17, 0, 0)
                    .map(|t| t.and_utc())
                    .unwrap_or(now)
                    - Duration::days(rng.below(3) as i64),
            )
        } else {
            Some(now - Duration::minutes(rng.below(60 * 24 * 14) as i64))
        };
        let created = hire.min(now) - Duration::days(rng.below(14) as i64);
        User {
            id: rng.guid(),
            number: index as u32 + 1,
            email,
            aliases,
            given_name: given.to_string(),
            family_name: family.to_string(),
            display_name: format!("{given} {family}"),
            employee_id: Some(format!("E{:05}", index + 1)),
            department: department.clone(),
            job_title: Some(title),
            manager_id: manager.map(|(id, _)| id),
            hire_date: Some(hire.date_naive()),
            leave_date,
            enabled: !leaver,
            archived: leaver && rng.chance(0.3),
            admin: false,
            mfa_registered: mfa,
            methods_registered: methods,
            last_sign_in,
            org_unit_path: if leaver {
                "/Leavers".to_string()
            } else {
                format!("/Staff/{}", department.as_deref().unwrap_or("General"))
            },
            created,
            last_modified: created,
        }
    }

    fn assign_roles(&mut self, rng: &mut Rng) {
        self.roles = ROLES
            .iter()
            .map(|(name, template, description)| Role {
                id: rng.guid(),
                display_name: name.to_string(),
                description: description.to_string(),
                role_template_id: template.to_string(),
                members: Vec::new(),
            })
            .collect();
        if self.users.is_empty() {
            return;
        }
        let admins = (self.users.len() / 200).clamp(2, 40).min(self.users.len());
        // The chief executive's office holds Global Administrator; the rest come from IT.
        let mut chosen = vec![0usize];
        let it: Vec<usize> = (1..self.users.len())
            .filter(|i| {
                self.users[*i].department.as_deref() == Some("IT") && self.users[*i].enabled
            })
            .collect();
        for i in it.iter().take(admins.saturating_sub(1)) {
            chosen.push(*i);
        }
        while chosen.len() < admins {
            let i = rng.below(self.users.len() as u64) as usize;
            if !chosen.contains(&i) {
                chosen.push(i);
            }
        }
        let role_count = self.roles.len();
        for (n, i) in chosen.into_iter().enumerate() {
            let role = if n == 0 { 0 } else { n % role_count };
            self.roles[role].members.push(self.users[i].id.clone());
            self.users[i].admin = true;
        }
    }

    fn new_device(&self, rng: &mut Rng, number: u32) -> Device {
        let now = self.now;
        let roll = rng.below(100);
        let kind = match roll {
            0..=54 => DeviceKind::Laptop,
            55..=59 => DeviceKind::Desktop,
            60..=89 => DeviceKind::Phone,
            90..=94 => DeviceKind::Tablet,
            _ => DeviceKind::Chromebook,
        };
        let os = match kind {
            DeviceKind::Laptop if rng.chance(0.35) => Some(Os::MacOs),
            DeviceKind::Laptop => Some(Os::Windows),
            DeviceKind::Phone if rng.chance(0.6) => Some(Os::Ios),
            DeviceKind::Phone => Some(Os::Android),
            _ => None,
        };
        let candidates = models(kind, os);
        let model = *rng.pick(&candidates);
        let holder = if self.users.is_empty() || rng.chance(0.05) {
            None
        } else {
            Some(&self.users[rng.below(self.users.len() as u64) as usize])
        };
        let owner = if kind == DeviceKind::Phone && holder.is_some() && rng.chance(0.15) {
            Ownership::Personal
        } else {
            Ownership::Company
        };
        let stale = rng.chance(0.05);
        let last_sync = if stale {
            Some(now - Duration::days(30 + rng.below(90) as i64))
        } else {
            Some(now - Duration::minutes(rng.below(60 * 24 * 7) as i64))
        };
        let enrolled = now - Duration::days(7 + rng.below(365 * 4) as i64);
        let compliance = match rng.below(100) {
            0..=87 => Compliance::Compliant,
            88..=95 => Compliance::Noncompliant,
            96..=97 => Compliance::InGracePeriod,
            _ => Compliance::Unknown,
        };
        let status = match rng.below(100) {
            0..=1 => DeviceStatus::Repair,
            2 => DeviceStatus::Lost,
            _ => DeviceStatus::InUse,
        };
        let company = owner == Ownership::Company;
        let holder_name = holder
            .map(|u| u.given_name.clone())
            .unwrap_or_else(|| "Spare".to_string());
        let name = match model.os {
            Os::Windows => format!("CHARITY-{:05}", number),
            Os::MacOs => format!("{holder_name}'s MacBook"),
            Os::Ios if kind == DeviceKind::Tablet => format!("{holder_name}'s iPad"),
            Os::Ios => format!("{holder_name}'s iPhone"),
            Os::Android => format!("{holder_name}'s {}", model.model),
            Os::ChromeOs => format!("CB-{:05}", number),
        };
        Device {
            id: rng.guid(),
            number,
            directory_id: rng.guid(),
            name,
            serial: serial(model, number, rng),
            imei: (kind == DeviceKind::Phone).then(|| imei(rng)),
            os: model.os,
            os_version: rng.pick(model.versions).to_string(),
            model: model.model.to_string(),
            model_identifier: model.identifier.to_string(),
            manufacturer: model.manufacturer.to_string(),
            kind,
            owner,
            user_id: holder.map(|u| u.id.clone()),
            encrypted: !rng.chance(0.07),
            compliance,
            last_sync,
            phone_number: (kind == DeviceKind::Phone && company)
                .then(|| format!("+447700{:06}", 900_000 + number % 100_000)),
            enrolled,
            asset_tag: company.then(|| format!("ASSET-{:06}", number)),
            purchase_date: company
                .then(|| (enrolled - Duration::days(rng.below(20) as i64)).date_naive()),
            purchase_cost_pence: company.then_some(model.cost),
            status,
            last_modified: last_sync.unwrap_or(enrolled).max(enrolled),
        }
    }

    fn generate_sign_ins(&mut self, rng: &mut Rng) {
        let mut sign_ins = Vec::with_capacity(self.users.len() * 2);
        let mut first_device: HashMap<&str, &str> = HashMap::with_capacity(self.devices.len());
        for d in &self.devices {
            if let Some(u) = d.user_id.as_deref() {
                first_device.entry(u).or_insert(d.id.as_str());
            }
        }
        for user in &self.users {
            let Some(last) = user.last_sign_in else {
                continue;
            };
            let device = first_device.get(user.id.as_str()).map(|d| d.to_string());
            let count = if user.enabled { 2 } else { 1 };
            for k in 0..count {
                let created = last - Duration::hours((k * (1 + rng.below(72))) as i64);
                let abroad = rng.chance(0.04);
                let country = if abroad {
                    rng.pick(COUNTRIES_ABROAD).to_string()
                } else {
                    "GB".to_string()
                };
                sign_ins.push(SignIn {
                    id: rng.guid(),
                    created,
                    user_id: user.id.clone(),
                    user_principal_name: user.email.clone(),
                    user_display_name: user.display_name.clone(),
                    device_id: device.clone().filter(|_| rng.chance(0.6)),
                    city: if abroad {
                        String::new()
                    } else {
                        rng.pick(UK_CITIES).to_string()
                    },
                    country,
                    error_code: if rng.chance(0.03) { 50126 } else { 0 },
                });
            }
        }
        sign_ins.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        self.sign_ins = sign_ins;
    }

    /// Moves the tenant's clock on by one second and returns it: the `last_modified` to give a
    /// record edited by hand, so that incremental listings (Graph's delta) see the change.
    pub fn tick(&mut self) -> DateTime<Utc> {
        self.now += Duration::seconds(1);
        self.now
    }

    /// The latest change recorded anywhere among users (their `last_modified`, or a deletion).
    pub fn users_watermark(&self) -> DateTime<Utc> {
        self.users
            .iter()
            .map(|u| u.last_modified)
            .chain(self.deleted_users.iter().map(|d| d.deleted))
            .max()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Users by id, for rendering pages that look many up.
    pub(crate) fn user_index(&self) -> HashMap<&str, &User> {
        self.users.iter().map(|u| (u.id.as_str(), u)).collect()
    }

    /// Devices by id.
    pub(crate) fn device_index(&self) -> HashMap<&str, &Device> {
        self.devices.iter().map(|d| (d.id.as_str(), d)).collect()
    }

    /// Changes about `fraction` of the users and of the devices (at least one of each when there
    /// are any and `fraction` is above zero), the same for the same seed: a user loses MFA, moves
    /// department, leaves, is deleted, or a new one joins; a device stops syncing, falls out of
    /// compliance, loses encryption, is retired or passes to someone else, or a new one is
    /// enrolled. The clock moves on an hour first and every changed record's `last_modified` is the
    /// new `now`, so an incremental sync sees exactly these changes.
    pub fn change(&mut self, fraction: f64, seed: u64) {
        let mut rng = Rng::new(seed ^ 0xC4A1_6E00);
        self.now += Duration::hours(1);
        let now = self.now;
        let fraction = fraction.clamp(0.0, 1.0);
        let share = |n: usize| -> usize {
            if n == 0 || fraction == 0.0 {
                0
            } else {
                ((n as f64 * fraction).ceil() as usize).clamp(1, n)
            }
        };
        let user_changes = share(self.users.len());
        let mut emails: HashSet<String> = self
            .users
            .iter()
            .chain(self.deleted_users.iter().map(|d| &d.user))
            .filter_map(|u| u.email.split('@').next().map(str::to_string))
            .collect();
        for _ in 0..user_changes {
            if self.users.is_empty() {
                break;
            }
            let i = rng.below(self.users.len() as u64) as usize;
            match rng.below(20) {
                0..=5 => {
                    let user = &mut self.users[i];
                    user.mfa_registered = false;
                    user.methods_registered.clear();
                    user.last_modified = now;
                }
                6..=10 => {
                    let user = &mut self.users[i];
                    let department = rng.pick(DEPARTMENTS).to_string();
                    user.job_title = Some(format!("{department} {}", rng.pick(TITLES)));
                    user.org_unit_path = format!("/Staff/{department}");
                    user.department = Some(department);
                    user.last_modified = now;
                }
                11..=14 => {
                    let user = &mut self.users[i];
                    user.enabled = false;
                    user.leave_date = Some(now.date_naive());
                    user.org_unit_path = "/Leavers".to_string();
                    user.last_modified = now;
                }
                15..=16 if i != 0 => self.delete_user(i),
                _ => {
                    let number = self.users.iter().map(|u| u.number).max().unwrap_or(0) + 1;
                    let mut user = self.new_user(&mut rng, number as usize, &mut emails);
                    user.number = number;
                    user.hire_date = Some(now.date_naive());
                    user.created = now;
                    user.last_sign_in = None;
                    user.last_modified = now;
                    self.users.push(user);
                }
            }
        }
        let device_changes = share(self.devices.len());
        for _ in 0..device_changes {
            if self.devices.is_empty() {
                break;
            }
            let i = rng.below(self.devices.len() as u64) as usize;
            let kind = rng.below(12);
            if kind >= 10 {
                let number = self.devices.iter().map(|d| d.number).max().unwrap_or(0) + 1;
                let mut device = self.new_device(&mut rng, number);
                device.enrolled = now;
                device.last_sync = Some(now);
                device.purchase_date = device.purchase_date.map(|_| now.date_naive());
                device.last_modified = now;
                self.devices.push(device);
                continue;
            }
            let new_holder = (!self.users.is_empty()).then(|| {
                self.users[rng.below(self.users.len() as u64) as usize]
                    .id
                    .clone()
            });
            let device = &mut self.devices[i];
            match kind {
                0..=3 => {
                    // Stopped syncing: its last check-in is now well in the past.
                    device.last_sync = Some(now - Duration::days(45));
                }
                4..=5 => device.compliance = Compliance::Noncompliant,
                6 => {
                    device.encrypted = false;
                    device.compliance = Compliance::Noncompliant;
                }
                7 => device.status = DeviceStatus::Retired,
                _ => {
                    device.user_id = new_holder;
                    device.last_sync = Some(now);
                }
            }
            device.last_modified = now;
        }
    }

    /// Removes a user from the directory: their devices lose their holder, their reports pass to
    /// their manager, their roles are taken away.
    fn delete_user(&mut self, index: usize) {
        let user = self.users.remove(index);
        let now = self.now;
        for other in &mut self.users {
            if other.manager_id.as_deref() == Some(user.id.as_str()) {
                other.manager_id = user.manager_id.clone();
                other.last_modified = now;
            }
        }
        for device in &mut self.devices {
            if device.user_id.as_deref() == Some(user.id.as_str()) {
                device.user_id = None;
                device.last_modified = now;
            }
        }
        for role in &mut self.roles {
            role.members.retain(|m| *m != user.id);
        }
        self.deleted_users.push(DeletedUser { user, deleted: now });
    }
}

/// A date at midnight UTC.
pub(crate) fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A stable 21-digit numeric id derived from a GUID, as Google's user ids look.
pub(crate) fn numeric_id(guid: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in guid.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("1{h:020}")
}
