//! The fixed material the generator draws from: names, budget centres, systems and the equipment
//! catalogue. All of it is invented for the demo.

use crate::serial::SerialShape;

/// British given names, ASCII only.
pub(crate) const GIVEN_NAMES: &[&str] = &[
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Jacob",
    "Noah",
    "Charlie",
    "Muhammad",
    "Thomas",
    "Oscar",
    "William",
    "James",
    "Leo",
    "Alfie",
    "Henry",
    "Joshua",
    "Freddie",
    "Archie",
    "Ethan",
    "Isaac",
    "Alexander",
    "Joseph",
    "Edward",
    "Samuel",
    "Daniel",
    "Arthur",
    "Rhys",
    "Gareth",
    "David",
    "Paul",
    "Andrew",
    "Mark",
    "Stephen",
    "Kwame",
    "Ravi",
    "Callum",
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Emily",
    "Isabella",
    "Mia",
    "Poppy",
    "Ella",
    "Lily",
    "Sophie",
    "Grace",
    "Freya",
    "Evie",
    "Charlotte",
    "Chloe",
    "Jessica",
    "Ruby",
    "Daisy",
    "Alice",
    "Florence",
    "Matilda",
    "Priya",
    "Aisha",
    "Fatima",
    "Niamh",
    "Siobhan",
    "Eilidh",
    "Hannah",
    "Rebecca",
    "Sarah",
    "Claire",
    "Helen",
    "Karen",
    "Susan",
    "Deborah",
    "Angela",
    "Bethan",
    "Zara",
    "Amara",
];

/// British surnames. Each one's e-mail spelling (lower-case letters only) is distinct.
pub(crate) const SURNAMES: &[&str] = &[
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
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "Scott",
    "Phillips",
    "Watson",
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
    "Khan",
    "Singh",
    "Begum",
    "Ahmed",
    "Hussain",
    "O'Brien",
    "Okafor",
    "Mensah",
    "Nowak",
    "Campbell",
    "Stewart",
    "MacDonald",
    "Fraser",
    "Owen",
    "Rees",
    "Chowdhury",
    "Nguyen",
    "Adeyemi",
    "Lloyd-Jones",
];

/// The lower-case ASCII letters of a name, for an e-mail address.
pub(crate) fn email_part(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CentreKind {
    /// A regional or practice service: practitioners are charged here.
    Regional,
    /// A national or corporate function.
    Corporate,
}

/// Budget centres in the order they are added as the organisation grows; the first ten hold both
/// kinds, corporate IT and commissioning.
pub(crate) const BUDGET_CENTRES: &[(&str, &str, CentreKind)] = &[
    ("BC-CORP", "Corporate IT", CentreKind::Corporate),
    ("BC-LON", "London", CentreKind::Regional),
    ("BC-NW", "North West", CentreKind::Regional),
    ("BC-NBC", "National Business Centre", CentreKind::Corporate),
    ("BC-MID", "Midlands", CentreKind::Regional),
    ("BC-SE", "South East", CentreKind::Regional),
    (
        "BC-HR",
        "People and Organisational Development",
        CentreKind::Corporate,
    ),
    ("BC-YH", "Yorkshire and the Humber", CentreKind::Regional),
    ("BC-SW", "South West", CentreKind::Regional),
    (
        "BC-COMM",
        "Commissioning and ICFA Contracts",
        CentreKind::Corporate,
    ),
    ("BC-NE", "North East", CentreKind::Regional),
    ("BC-EAST", "East of England", CentreKind::Regional),
    ("BC-FIN", "Finance", CentreKind::Corporate),
    (
        "BC-GOV",
        "Governance and Information Assurance",
        CentreKind::Corporate,
    ),
    ("BC-QA", "Quality and Performance", CentreKind::Corporate),
    ("BC-LD", "Learning and Development", CentreKind::Corporate),
    ("BC-LON-N", "London North", CentreKind::Regional),
    ("BC-LON-S", "London South", CentreKind::Regional),
    ("BC-NW-GM", "Greater Manchester", CentreKind::Regional),
    ("BC-MID-W", "West Midlands", CentreKind::Regional),
    ("BC-MID-E", "East Midlands", CentreKind::Regional),
    ("BC-COMMS", "Communications", CentreKind::Corporate),
    ("BC-SE-KM", "Kent and Medway", CentreKind::Regional),
    ("BC-SW-BB", "Bristol and Bath", CentreKind::Regional),
    ("BC-YH-WY", "West Yorkshire", CentreKind::Regional),
    ("BC-NE-TW", "Tyne and Wear", CentreKind::Regional),
    ("BC-EST", "Estates and Facilities", CentreKind::Corporate),
    ("BC-PLS", "Public Law Service", CentreKind::Regional),
    (
        "BC-EPS",
        "Enhanced Private Law Service",
        CentreKind::Regional,
    ),
    (
        "BC-NIS",
        "National Improvement Service",
        CentreKind::Corporate,
    ),
];

pub(crate) const CORPORATE_IT: &str = "BC-CORP";
pub(crate) const COMMISSIONING: &str = "BC-COMM";

/// (name, key system, supports MFA).
pub(crate) const SYSTEMS: &[(&str, bool, bool)] = &[
    ("active-directory", true, true),
    ("case-management", true, true),
    ("finance", false, true),
    ("hr-payroll", false, true),
    ("icfa-portal", false, true),
    ("intranet", false, true),
    ("legacy-filestore", false, false),
    ("m365", true, true),
];

/// One line of the equipment catalogue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Model {
    pub name: &'static str,
    pub shape: Option<SerialShape>,
    /// List price in pence.
    pub price: i64,
}

const fn model(name: &'static str, shape: SerialShape, pounds: i64) -> Model {
    Model {
        name,
        shape: Some(shape),
        price: pounds * 100,
    }
}

const fn unserialled(name: &'static str, pounds: i64) -> Model {
    Model {
        name,
        shape: None,
        price: pounds * 100,
    }
}

/// Touch-screen laptops, weighted.
pub(crate) const LAPTOPS: &[(Model, u32)] = &[
    (
        model("Microsoft Surface Laptop 5", SerialShape::Surface, 1299),
        30,
    ),
    (
        model("Microsoft Surface Laptop 6", SerialShape::Surface, 1449),
        15,
    ),
    (
        model("Microsoft Surface Pro 9", SerialShape::Surface, 1199),
        10,
    ),
    (
        model("Dell Latitude 7440 2-in-1", SerialShape::DellTag, 1349),
        18,
    ),
    (
        model("Dell Latitude 5340 2-in-1", SerialShape::DellTag, 999),
        12,
    ),
    (
        model("Lenovo ThinkPad X1 Yoga Gen 8", SerialShape::Lenovo, 1579),
        8,
    ),
    (model("HP Elite x360 1040 G10", SerialShape::Hp, 1499), 7),
];

pub(crate) const IPHONES: &[(Model, u32)] = &[
    (model("Apple iPhone 13", SerialShape::Apple, 599), 35),
    (model("Apple iPhone 14", SerialShape::Apple, 699), 20),
    (model("Apple iPhone 15", SerialShape::Apple, 799), 30),
    (
        model("Apple iPhone SE (3rd generation)", SerialShape::Apple, 449),
        15,
    ),
];

pub(crate) const VOICE_PHONES: &[(Model, u32)] = &[
    (model("Nokia 105 4G", SerialShape::Imei, 40), 40),
    (model("Nokia 225 4G", SerialShape::Imei, 55), 35),
    (model("Doro 6880", SerialShape::Imei, 89), 25),
];

pub(crate) const SIMS: &[(Model, u32)] = &[
    (
        model("Vodafone Business nano SIM", SerialShape::Iccid, 0),
        70,
    ),
    (model("EE Business nano SIM", SerialShape::Iccid, 5), 30),
];

/// (model, hardware-encrypted), weighted.
pub(crate) const USB_STICKS: &[((Model, bool), u32)] = &[
    (
        (
            model(
                "Kingston IronKey Vault Privacy 50 16GB",
                SerialShape::Kingston,
                29,
            ),
            true,
        ),
        45,
    ),
    (
        (
            model(
                "Integral Crypto Dual FIPS 197 32GB",
                SerialShape::Integral,
                25,
            ),
            true,
        ),
        40,
    ),
    (
        (
            model("SanDisk Cruzer Blade 32GB", SerialShape::SanDisk, 10),
            false,
        ),
        15,
    ),
];

pub(crate) const TABLETS: &[(Model, u32)] = &[
    (
        model("Apple iPad (10th generation)", SerialShape::Apple, 349),
        60,
    ),
    (
        model("Samsung Galaxy Tab S9 FE", SerialShape::Samsung, 449),
        40,
    ),
];

pub(crate) const PERIPHERALS: &[(Model, u32)] = &[
    (
        model(
            "Logitech MK270 wireless keyboard and mouse",
            SerialShape::Peripheral,
            25,
        ),
        30,
    ),
    (
        model("Logitech M185 wireless mouse", SerialShape::Peripheral, 15),
        15,
    ),
    (
        model("Jabra Evolve2 40 headset", SerialShape::Peripheral, 95),
        25,
    ),
    (
        model("Microsoft Surface Dock 2", SerialShape::Peripheral, 119),
        10,
    ),
    (
        model("Dell P2423 24-inch monitor", SerialShape::Peripheral, 119),
        12,
    ),
    (
        model(
            "Microsoft Modern USB-C Headset",
            SerialShape::Peripheral,
            45,
        ),
        8,
    ),
];

/// Items that are never returned.
pub(crate) const ACCESSORIES: &[(Model, u32)] = &[
    (unserialled("Targus Classic 15.6-inch rucksack", 35), 40),
    (unserialled("Laptop sleeve 13.5-inch", 15), 20),
    (unserialled("3M privacy filter 13.5-inch", 45), 15),
    (unserialled("Wired ear-bud headset", 8), 15),
    (unserialled("USB-C 65W power adapter", 39), 10),
];

/// Bring-your-own laptops, weighted.
pub(crate) const PERSONAL_LAPTOPS: &[(Model, u32)] = &[
    (model("Apple MacBook Air (M2)", SerialShape::Apple, 0), 30),
    (model("HP Pavilion 15", SerialShape::Hp, 0), 25),
    (model("Lenovo IdeaPad Slim 5", SerialShape::Lenovo, 0), 25),
    (model("Dell Inspiron 14", SerialShape::DellTag, 0), 20),
];

pub(crate) const PERSONAL_PHONES: &[(Model, u32)] = &[
    (model("Apple iPhone 12", SerialShape::Apple, 0), 35),
    (model("Apple iPhone 14 Pro", SerialShape::Apple, 0), 25),
    (model("Samsung Galaxy S23", SerialShape::Samsung, 0), 25),
    (model("Google Pixel 7a", SerialShape::Imei, 0), 15),
];

/// Where staff travel, with weights: family visits and holidays, mostly in Europe.
pub(crate) const DESTINATIONS: &[(&str, u32)] = &[
    ("ES", 18),
    ("FR", 14),
    ("IE", 12),
    ("IT", 9),
    ("PT", 7),
    ("GR", 6),
    ("DE", 5),
    ("NL", 4),
    ("PL", 5),
    ("US", 6),
    ("IN", 4),
    ("PK", 3),
    ("NG", 3),
    ("JM", 2),
    ("TR", 3),
    ("CY", 2),
    ("MT", 2),
    ("HR", 2),
    ("RO", 2),
    ("CA", 2),
    ("AU", 1),
    ("ZA", 1),
    ("GH", 1),
    ("KE", 1),
    ("BD", 1),
];

/// Hubs a journey changes planes in.
pub(crate) const TRANSIT_HUBS: &[(&str, u32)] = &[
    ("NL", 5),
    ("FR", 4),
    ("DE", 4),
    ("AE", 6),
    ("QA", 4),
    ("TR", 3),
    ("IE", 2),
    ("US", 2),
];

/// The yearly mandatory courses everyone who handles case data completes.
pub(crate) const MANDATORY_COURSES: &[&str] = &[
    "information-assurance",
    "information-security",
    "social-media",
];

/// The extra course for IT administrators.
pub(crate) const ADMIN_COURSE: &str = "privileged-access";

/// The IT policy pack staff accept, and the version before it.
pub(crate) const POLICY_PACK: (&str, &str) = ("cafcass-it-5.0", "5.0");
pub(crate) const OLD_POLICY_PACK: (&str, &str) = ("cafcass-it-2.2", "2.2");
pub(crate) const ASSURANCE_PACK: (&str, &str) = ("cafcass-ia-4.3", "4.3");

/// The clauses of the pack that exceptions are granted against: access ending with the contract,
/// one laptop each, travel abroad only as approved. (Ids as the rule-language examples number
/// them; the sessional one is this demo's own guess.)
pub(crate) const CLAUSE_SESSIONAL: &str = "2.6(v)";
pub(crate) const CLAUSE_ONE_LAPTOP: &str = "3.2";
pub(crate) const CLAUSE_ABROAD: &str = "2.9";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lists_have_distinct_email_spellings() {
        for list in [GIVEN_NAMES, SURNAMES] {
            assert!(list.len() >= 60);
            let mut parts: Vec<String> = list.iter().map(|n| email_part(n)).collect();
            assert!(parts.iter().all(|p| !p.is_empty()));
            parts.sort();
            parts.dedup();
            assert_eq!(parts.len(), list.len());
        }
    }

    #[test]
    fn the_first_ten_centres_include_both_kinds() {
        let first = &BUDGET_CENTRES[..10];
        assert!(first.iter().any(|c| c.2 == CentreKind::Regional));
        assert!(first.iter().any(|c| c.0 == CORPORATE_IT));
        assert!(first.iter().any(|c| c.0 == COMMISSIONING));
        assert!(BUDGET_CENTRES.len() <= 30);
    }
}
