//! The typed records of each register. The field order here is the CSV column order.

use crate::processes::*;
use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};

use crate::ModelError;
use crate::country::{Countries, Country};
use crate::field::{Field, FieldType, FieldValue, LONG_TEXT, Month, Pence, words};
use crate::register::{Record, Register, Row, join_key, position};

/// Declares a register's record: the struct, its field list and its row conversions, from one
/// table.
///
/// `Name in Register { id: .., field: ..; .. }` declares a register whose first field is its id, a
/// CSV column. `Name in Register key(a, b) { a: ..; b: ..; .. }` declares a register identified
/// by several of its fields: its rows get a first field `key`, derived from them (see
/// [`join_key`]), which is stored and audited but is no CSV column and no struct field.
macro_rules! record {
    (
        $(#[$meta:meta])*
        $name:ident in $register:ident {
            $id:ident : $id_ty:ty => $id_kind:expr,
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $kind:expr $(, refers $target:ident)? $(, max $max:expr)? ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            pub $id: $id_ty,
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// A row is identified by its first field, the id.
            pub const KEY_INDICES: &'static [usize] = &[0];

            pub const FIELDS: &'static [Field] = &[
                Field { name: stringify!($id), ty: $id_kind, required: true, refers_to: None, csv: true, max_chars: $id_kind.max_chars() },
                $( record!(@field $field : $ty => $kind $(, refers $target)? $(, max $max)?), )*
            ];
        }

        impl Record for $name {
            const REGISTER: Register = Register::$register;

            fn id(&self) -> Cow<'_, str> {
                Cow::Borrowed(&self.$id)
            }

            fn to_row(&self) -> Row {
                Row::assemble(
                    Register::$register,
                    vec![self.$id.to_value(), $( self.$field.to_value(), )*],
                )
            }

            fn from_row(row: &Row) -> Result<Self, ModelError> {
                let mut next = record!(@values Self, $register, row);
                Ok(Self {
                    $id: FieldValue::from_value(stringify!($id), next())?,
                    $( $field: FieldValue::from_value(stringify!($field), next())?, )*
                })
            }
        }
    };
    (
        $(#[$meta:meta])*
        $name:ident in $register:ident key($($key:ident),+) {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $kind:expr $(, refers $target:ident)? $(, max $max:expr)? ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            pub const FIELDS: &'static [Field] = &[
                Field { name: "key", ty: FieldType::Id, required: true, refers_to: None, csv: false, max_chars: crate::field::MAX_CELL_CHARS },
                $( record!(@field $field : $ty => $kind $(, refers $target)? $(, max $max)?), )*
            ];

            /// Where the key's parts sit among the fields.
            pub const KEY_INDICES: &'static [usize] =
                &[$( position(Self::FIELDS, stringify!($key)) ),+];

            /// The derived key, as the row's first value holds it.
            pub fn key(&self) -> String {
                join_key(&[$( self.$key.to_value() ),+])
            }
        }

        impl Record for $name {
            const REGISTER: Register = Register::$register;

            fn id(&self) -> Cow<'_, str> {
                Cow::Owned(self.key())
            }

            fn to_row(&self) -> Row {
                Row::assemble(
                    Register::$register,
                    vec![crate::Value::Null, $( self.$field.to_value(), )*],
                )
            }

            fn from_row(row: &Row) -> Result<Self, ModelError> {
                let mut next = record!(@values Self, $register, row);
                let _key = next();
                Ok(Self {
                    $( $field: FieldValue::from_value(stringify!($field), next())?, )*
                })
            }
        }
    };
    (@field $field:ident : $ty:ty => $kind:expr $(, refers $target:ident)? $(, max $max:expr)?) => {
        Field {
            name: stringify!($field),
            ty: $kind,
            required: <$ty as FieldValue>::REQUIRED,
            refers_to: record!(@refers $($target)?),
            csv: true,
            max_chars: record!(@max $kind $(, $max)?),
        }
    };
    (@max $kind:expr) => { $kind.max_chars() };
    (@max $kind:expr, $max:expr) => { $max };
    (@values $self:ty, $register:ident, $row:expr) => {{
        let fields = <$self>::FIELDS;
        let values = $row.values();
        if $row.register() != Register::$register {
            return Err(ModelError::WrongRegister {
                expected: Register::$register.name(),
                found: $row.register().name(),
            });
        }
        if values.len() != fields.len() {
            return Err(ModelError::Arity {
                register: Register::$register.name(),
                expected: fields.len(),
                found: values.len(),
            });
        }
        let mut values = values.iter();
        move || values.next().unwrap_or(&crate::Value::Null)
    }};
    (@refers $target:ident) => { Some(Register::$target) };
    (@refers) => { None };
}
pub(crate) use record;

words! {
    /// Where a person stands in the joiner–mover–leaver cycle.
    PersonStatus { Starter = "starter", Active = "active", Absent = "absent", Leaver = "leaver" }
}

words! {
    /// National security vetting level.
    Clearance { None = "none", Bpss = "bpss", Sc = "sc", Dv = "dv" }
}

words! {
    AssetKind {
        Laptop = "laptop",
        Smartphone = "smartphone",
        VoicePhone = "voice_phone",
        Tablet = "tablet",
        Sim = "sim",
        UsbStick = "usb_stick",
        ExternalDrive = "external_drive",
        MemoryCard = "memory_card",
        OpticalDisc = "optical_disc",
        Peripheral = "peripheral",
        Accessory = "accessory",
    }
}

words! {
    /// `personal` is a bring-your-own device.
    Ownership { Organisation = "organisation", Personal = "personal" }
}

words! {
    AssetStatus {
        InStock = "in_stock",
        Allocated = "allocated",
        OnLoan = "on_loan",
        InRepair = "in_repair",
        Returned = "returned",
        Lost = "lost",
        Stolen = "stolen",
        Damaged = "damaged",
        AwaitingDisposal = "awaiting_disposal",
        Disposed = "disposed",
    }
}

words! {
    AccountKind { Standard = "standard", Admin = "admin", Service = "service" }
}

words! {
    AccountStatus { Active = "active", Suspended = "suspended", Disabled = "disabled", Deleted = "deleted" }
}

words! {
    /// Where an International Travel request stands.
    TravelStatus {
        Requested = "requested",
        Approved = "approved",
        Rejected = "rejected",
        Cancelled = "cancelled",
    }
}

words! {
    /// Who funds or recommends a reasonable adjustment.
    AdjustmentSource {
        AccessToWork = "access_to_work",
        OccupationalHealth = "occupational_health",
        LocalFunding = "local_funding",
    }
}

words! {
    /// What kind of record an exception is granted for.
    SubjectType {
        Person = "person",
        Asset = "asset",
        Account = "account",
        System = "system",
        Usage = "usage",
        Sighting = "sighting",
        Travel = "travel",
    }
}

record! {
    /// The organisation's own settings: one row, id `organisation`.
    Organisation in Organisation {
        id: String => FieldType::Id,
        name: String => FieldType::Text;
        /// An IANA time zone name; working days and "today" are reckoned in it.
        time_zone: String => FieldType::Text;
        /// The share of checked subjects compliant (in percent) at or above which a policy or
        /// section shows green; empty: 95.
        compliance_green: Option<i64> => FieldType::Int;
        /// At or above this (and below green) amber, below it red; empty: 80.
        compliance_amber: Option<i64> => FieldType::Int;
    }
}

impl Organisation {
    pub const ID: &'static str = "organisation";
    /// The thresholds when the organisation has set none.
    pub const GREEN: i64 = 95;
    pub const AMBER: i64 = 80;

    /// The thresholds in force: (green, amber), in percent.
    pub fn thresholds(&self) -> (i64, i64) {
        let green = self.compliance_green.unwrap_or(Self::GREEN);
        (
            green,
            self.compliance_amber.unwrap_or(Self::AMBER.min(green)),
        )
    }
}

record! {
    /// A budget centre that equipment and charges are booked to.
    BudgetCentre in BudgetCentres {
        code: String => FieldType::Id,
        name: String => FieldType::Text;
    }
}

record! {
    /// An IT system people hold accounts on.
    System in Systems {
        name: String => FieldType::Id,
        /// A key system: unsupervised admin access needs SC clearance.
        key_system: Option<bool> => FieldType::Bool;
        supports_mfa: Option<bool> => FieldType::Bool;
        /// Locked down by default: an account on it is opened only through a registration or
        /// approval process (a system-access request).
        restricted: Option<bool> => FieldType::Bool;
    }
}

record! {
    /// A member of staff, volunteer, associate, contractor or supplier.
    Person in People {
        id: String => FieldType::Id,
        name: String => FieldType::Text;
        email: Option<String> => FieldType::Email;
        /// A policy pack's staff-group id, such as `fca` or `business-services`.
        staff_group: String => FieldType::Slug;
        manager_id: Option<String> => FieldType::Id, refers People;
        budget_centre: Option<String> => FieldType::Id, refers BudgetCentres;
        status: PersonStatus => PersonStatus::TYPE;
        start_date: Option<NaiveDate> => FieldType::Date;
        leave_date: Option<NaiveDate> => FieldType::Date;
        clearance: Option<Clearance> => Clearance::TYPE;
        clearance_expires: Option<NaiveDate> => FieldType::Date;
        /// Enrolled in bring-your-own-device.
        byod: Option<bool> => FieldType::Bool;
        /// Whether they receive the weekly e-mail digest of what they must act on; empty: yes.
        weekly_digest: Option<bool> => FieldType::Bool;
        /// The connector this record is kept from; empty: kept by hand.
        source: Option<String> => FieldType::Id;
        /// When that source last listed it.
        source_seen: Option<DateTime<Utc>> => FieldType::Timestamp;
        /// Since when a complete listing of that source has lacked it.
        missing_since: Option<DateTime<Utc>> => FieldType::Timestamp;
        /// Their post, as the organisation names it (`Head of IT`): where a policy names who
        /// owns something by post.
        job_title: Option<String> => FieldType::Text;
    }
}

record! {
    /// A device, SIM, medium or accessory, whoever owns it.
    Asset in Assets {
        tag: String => FieldType::Id,
        kind: AssetKind => AssetKind::TYPE;
        model: Option<String> => FieldType::Text;
        serial: Option<String> => FieldType::Text;
        ownership: Ownership => Ownership::TYPE;
        status: AssetStatus => AssetStatus::TYPE;
        assigned_to: Option<String> => FieldType::Id, refers People;
        assigned_on: Option<NaiveDate> => FieldType::Date;
        budget_centre: Option<String> => FieldType::Id, refers BudgetCentres;
        cost_gbp: Option<Pence> => FieldType::Money;
        encrypted: Option<bool> => FieldType::Bool;
        pin_set: Option<bool> => FieldType::Bool;
        hotspot_password_set: Option<bool> => FieldType::Bool;
        /// Last network connection.
        last_seen: Option<DateTime<Utc>> => FieldType::Timestamp;
        /// Last full power-off.
        last_shutdown: Option<DateTime<Utc>> => FieldType::Timestamp;
        /// Release date of the oldest outstanding security update; `None` when up to date.
        pending_patch_since: Option<NaiveDate> => FieldType::Date;
        imei: Option<String> => FieldType::Text;
        os_version: Option<String> => FieldType::Text;
        /// The device manager's verdict in its own word (`compliant`, `noncompliant`, …).
        compliance_state: Option<String> => FieldType::Text;
        /// The directory's id for the device (Entra's device id), which sign-in logs name.
        azure_device_id: Option<String> => FieldType::Text;
        /// The source's own id for the device.
        source_id: Option<String> => FieldType::Text;
        source: Option<String> => FieldType::Id;
        source_seen: Option<DateTime<Utc>> => FieldType::Timestamp;
        missing_since: Option<DateTime<Utc>> => FieldType::Timestamp;
    }
}

record! {
    /// An account on a system, usually a person's.
    Account in Accounts {
        id: String => FieldType::Id,
        person_id: Option<String> => FieldType::Id, refers People;
        system: String => FieldType::Id, refers Systems;
        kind: AccountKind => AccountKind::TYPE;
        admin_rights: Option<bool> => FieldType::Bool;
        mfa: Option<bool> => FieldType::Bool;
        status: AccountStatus => AccountStatus::TYPE;
        last_login: Option<DateTime<Utc>> => FieldType::Timestamp;
        /// The sign-in name at its system: a user principal name or e-mail address.
        login: Option<String> => FieldType::Text;
        /// The system's own id for the account.
        source_id: Option<String> => FieldType::Text;
        source: Option<String> => FieldType::Id;
        source_seen: Option<DateTime<Utc>> => FieldType::Timestamp;
        missing_since: Option<DateTime<Utc>> => FieldType::Timestamp;
        /// The mailbox forwards mail automatically to an address outside the organisation, as
        /// the mail system reports it.
        forwards_externally: Option<bool> => FieldType::Bool;
    }
}

record! {
    /// One asset's use in one calendar month, from the carrier's bill.
    Usage in Usage key(month, asset_tag) {
        month: Month => FieldType::Month;
        asset_tag: String => FieldType::Id, refers Assets;
        data_mb: i64 => FieldType::Int;
        roaming_mb: Option<i64> => FieldType::Int;
        voice_minutes: Option<i64> => FieldType::Int;
        texts: Option<i64> => FieldType::Int;
        /// Private use charged back to the holder.
        private_cost_gbp: Option<Pence> => FieldType::Money;
    }
}

record! {
    /// A device seen on a network, or an account signed in to, and in which country. One of
    /// `asset_tag` and `account_id` is given, or both.
    Sighting in Sightings key(asset_tag, seen_at, account_id) {
        asset_tag: Option<String> => FieldType::Id, refers Assets;
        seen_at: DateTime<Utc> => FieldType::Timestamp;
        country: Country => FieldType::Country;
        account_id: Option<String> => FieldType::Id, refers Accounts;
    }
}

record! {
    /// An International Travel request.
    Travel in Travel {
        id: String => FieldType::Id,
        person_id: String => FieldType::Id, refers People;
        /// Every country on the way, transit included.
        countries: Countries => FieldType::Countries;
        depart_on: NaiveDate => FieldType::Date;
        return_on: NaiveDate => FieldType::Date;
        status: TravelStatus => TravelStatus::TYPE;
        approved_by: Option<String> => FieldType::Id, refers People;
    }
}

record! {
    /// A course someone completed.
    Training in Training key(person_id, course, completed_on) {
        person_id: String => FieldType::Id, refers People;
        /// A course id such as `information-security`.
        course: String => FieldType::Slug;
        completed_on: NaiveDate => FieldType::Date;
        expires_on: Option<NaiveDate> => FieldType::Date;
    }
}

record! {
    /// Someone's acceptance of a version of a policy pack.
    Acceptance in Acceptances key(person_id, pack, version) {
        person_id: String => FieldType::Id, refers People;
        /// The pack's id, such as `cafcass-it-5.0`.
        pack: String => FieldType::Slug;
        version: String => FieldType::Id;
        accepted_on: NaiveDate => FieldType::Date;
    }
}

record! {
    /// A bring-your-own-device security questionnaire someone completed.
    Questionnaire in Questionnaires key(person_id, completed_on) {
        person_id: String => FieldType::Id, refers People;
        completed_on: NaiveDate => FieldType::Date;
        passed: bool => FieldType::Bool;
    }
}

record! {
    /// A reasonable adjustment that allows someone an extra or a different device.
    Adjustment in Adjustments key(person_id, source, device_kind, approved_on) {
        person_id: String => FieldType::Id, refers People;
        source: AdjustmentSource => AdjustmentSource::TYPE;
        device_kind: AssetKind => AssetKind::TYPE;
        approved_on: NaiveDate => FieldType::Date;
        expires_on: Option<NaiveDate> => FieldType::Date;
    }
}

record! {
    /// An exception to a clause of a policy pack, recorded by a line manager or IT.
    Exception in Exceptions {
        id: String => FieldType::Id,
        pack: String => FieldType::Slug;
        /// The clause's id in the pack, such as `2.6(v)`.
        clause: String => FieldType::Id;
        subject_type: SubjectType => SubjectType::TYPE;
        /// The id (or key) of the record the exception is for.
        subject_id: String => FieldType::Id;
        reason: String => FieldType::Text, max LONG_TEXT;
        granted_by: String => FieldType::Id, refers People;
        granted_on: NaiveDate => FieldType::Date;
        expires_on: Option<NaiveDate> => FieldType::Date;
    }
}

/// One span of an asset in someone's hands. Appended when an asset changes holder and closed, never
/// rewritten, when it leaves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub asset_tag: String,
    pub person_id: String,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
    /// The audit record of the change that opened this span.
    pub opened_by: i64,
    pub closed_by: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_match_the_interchange_contract() {
        let names = |r: Register| {
            r.fields()
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(
            names(Register::People),
            "id,name,email,staff_group,manager_id,budget_centre,status,start_date,leave_date,clearance,clearance_expires,byod,weekly_digest,source,source_seen,missing_since,job_title"
        );
        assert_eq!(
            names(Register::Systems),
            "name,key_system,supports_mfa,restricted"
        );
        assert_eq!(
            names(Register::Assets),
            "tag,kind,model,serial,ownership,status,assigned_to,assigned_on,budget_centre,cost_gbp,encrypted,pin_set,hotspot_password_set,last_seen,last_shutdown,pending_patch_since,imei,os_version,compliance_state,azure_device_id,source_id,source,source_seen,missing_since"
        );
        assert_eq!(
            names(Register::Accounts),
            "id,person_id,system,kind,admin_rights,mfa,status,last_login,login,source_id,source,source_seen,missing_since,forwards_externally"
        );
    }

    #[test]
    fn the_new_registers_match_the_interchange_contract() {
        let csv = |r: Register| {
            r.csv_fields()
                .map(|(_, f)| f.name)
                .collect::<Vec<_>>()
                .join(",")
        };
        let cases = [
            (
                Register::Usage,
                "month,asset_tag,data_mb,roaming_mb,voice_minutes,texts,private_cost_gbp",
            ),
            (Register::Sightings, "asset_tag,seen_at,country,account_id"),
            (
                Register::Travel,
                "id,person_id,countries,depart_on,return_on,status,approved_by",
            ),
            (
                Register::Training,
                "person_id,course,completed_on,expires_on",
            ),
            (Register::Acceptances, "person_id,pack,version,accepted_on"),
            (Register::Questionnaires, "person_id,completed_on,passed"),
            (
                Register::Adjustments,
                "person_id,source,device_kind,approved_on,expires_on",
            ),
            (
                Register::Exceptions,
                "id,pack,clause,subject_type,subject_id,reason,granted_by,granted_on,expires_on",
            ),
        ];
        for (register, columns) in cases {
            assert_eq!(csv(register), columns, "{register}");
        }
        let key = |r: Register| r.key_fields().map(|f| f.name).collect::<Vec<_>>();
        assert_eq!(key(Register::Usage), ["month", "asset_tag"]);
        assert_eq!(
            key(Register::Sightings),
            ["asset_tag", "seen_at", "account_id"]
        );
        assert_eq!(
            key(Register::Training),
            ["person_id", "course", "completed_on"]
        );
        assert_eq!(key(Register::Acceptances), ["person_id", "pack", "version"]);
        assert_eq!(key(Register::Questionnaires), ["person_id", "completed_on"]);
        assert_eq!(
            key(Register::Adjustments),
            ["person_id", "source", "device_kind", "approved_on"]
        );
        assert_eq!(key(Register::Travel), ["id"]);
        assert_eq!(key(Register::People), ["id"]);
    }

    #[test]
    fn a_sighting_of_a_device_keeps_its_key_and_one_of_an_account_has_its_own() {
        let at = DateTime::parse_from_rfc3339("2026-11-20T08:14:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        let sighting = |asset: Option<&str>, account: Option<&str>| Sighting {
            asset_tag: asset.map(str::to_owned),
            seen_at: at,
            country: Country::GB,
            account_id: account.map(str::to_owned),
        };
        // As before accounts could be seen: the device and the time.
        assert_eq!(
            sighting(Some("MOB/1"), None).key(),
            "MOB%2F1/2026-11-20T08:14:00Z"
        );
        assert_eq!(sighting(None, Some("A1")).key(), "/2026-11-20T08:14:00Z/A1");
        assert_eq!(
            sighting(Some("T1"), Some("A1")).key(),
            "T1/2026-11-20T08:14:00Z/A1"
        );
        let nobody = sighting(None, None).to_row();
        assert!(
            nobody.problems().iter().any(|(f, _)| *f == "asset_tag"),
            "{:?}",
            nobody.problems()
        );
    }

    #[test]
    fn a_derived_key_is_first_and_made_of_required_csv_fields() {
        for r in Register::ALL {
            let fields = r.fields();
            // Only the first field may be derived; every other field is a CSV column.
            assert!(fields[1..].iter().all(|f| f.csv), "{r}");
            assert!(r.id_field().required, "{r}");
            if r.has_derived_key() {
                assert_eq!(r.id_field().name, "key", "{r}");
                assert_eq!(r.id_field().ty, FieldType::Id, "{r}");
                // One field is enough when it is typed (a bank holiday's date).
                assert!(!r.key_indices().is_empty(), "{r}");
                // Every part is a column; an optional part (a sighting's device or account) is
                // never the only one, and an optional part at the end keeps the keys made before
                // it was added (`join_key` leaves empty trailing parts out).
                for f in r.key_fields() {
                    assert!(f.csv, "{r}.{} is part of the key", f.name);
                }
                assert!(r.key_fields().any(|f| f.required), "{r}");
            } else {
                assert_eq!(r.key_indices(), [0], "{r}");
            }
        }
    }

    #[test]
    fn names_and_entities_are_unique_and_parse_back() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Register::ALL {
            assert_eq!(Register::parse(r.name()), Some(r));
            assert_eq!(Register::parse(r.entity()), Some(r));
            assert_eq!(Register::parse(&r.file_name()), Some(r));
            seen.insert(r.name());
            if r.entity() != r.name() {
                assert!(seen.insert(r.entity()), "{r}: entity {} twice", r.entity());
            }
        }
        // Register order is dependency order.
        let mut sorted = Register::ALL;
        sorted.sort();
        assert_eq!(sorted, Register::ALL);
    }

    fn usage() -> Usage {
        Usage {
            month: "2026-10".parse().unwrap(),
            asset_tag: "MOB000123".into(),
            data_mb: 5120,
            roaming_mb: Some(0),
            voice_minutes: None,
            texts: Some(12),
            private_cost_gbp: Some(Pence(350)),
        }
    }

    #[test]
    fn a_keyed_record_fills_its_key_in_every_row() {
        let u = usage();
        assert_eq!(u.key(), "2026-10/MOB000123");
        assert_eq!(u.id(), "2026-10/MOB000123");
        let row = u.to_row();
        assert_eq!(row.id(), "2026-10/MOB000123");
        assert_eq!(
            row.values()[0],
            crate::Value::Text("2026-10/MOB000123".into())
        );
        assert_eq!(Usage::from_row(&row).unwrap(), u);

        // Whatever is passed in the key's place, the row holds the derived key.
        let mut values = row.clone().into_values();
        values[0] = crate::Value::Text("forged".into());
        let again = Row::new(Register::Usage, values).unwrap();
        assert_eq!(again, row);

        // Setting a key field moves the key; the key itself cannot be set.
        let mut moved = row.clone();
        assert!(moved.set("month", crate::Value::Text("2026-11".into())));
        assert_eq!(moved.id(), "2026-11/MOB000123");
        assert!(!moved.set("key", crate::Value::Text("forged".into())));
        assert_eq!(moved.id(), "2026-11/MOB000123");
        assert!(moved.set("data_mb", crate::Value::Int(1)));
        assert_eq!(moved.id(), "2026-11/MOB000123");

        let sighting = Sighting {
            asset_tag: Some("LT000001".into()),
            seen_at: "2026-11-20T08:14:00Z".parse().unwrap(),
            country: Country::GB,
            account_id: None,
        };
        assert_eq!(sighting.to_row().id(), "LT000001/2026-11-20T08:14:00Z");
        let adjustment = Adjustment {
            person_id: "P000001".into(),
            source: AdjustmentSource::AccessToWork,
            device_kind: AssetKind::Laptop,
            approved_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            expires_on: None,
        };
        assert_eq!(
            adjustment.to_row().id(),
            "P000001/access_to_work/laptop/2026-01-05"
        );
        assert!(Usage::from_row(&adjustment.to_row()).is_err());
    }

    #[test]
    fn keys_of_different_parts_differ() {
        let key = |a: &str, b: &str, c: &str| {
            Acceptance {
                person_id: a.into(),
                pack: b.into(),
                version: c.into(),
                accepted_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            }
            .to_row()
            .id()
            .to_owned()
        };
        assert_eq!(key("P1", "pack", "5.0"), "P1/pack/5.0");
        assert_ne!(key("P/1", "a", "b"), key("P", "1", "a/b"));
        assert_eq!(key("P/1", "a", "b%"), "P%2F1/a/b%25");
        assert_ne!(key("P%2F1", "a", "b"), key("P/1", "a", "b"));
    }

    #[test]
    fn references_point_backwards_in_dependency_order() {
        for (i, r) in Register::ALL.iter().enumerate() {
            for f in r.fields() {
                if let Some(target) = f.refers_to {
                    let j = Register::ALL.iter().position(|x| *x == target).unwrap();
                    assert!(j <= i, "{r}.{} refers forward to {target}", f.name);
                }
            }
        }
    }

    #[test]
    fn a_row_of_the_wrong_width_or_register_is_refused() {
        assert!(Row::new(Register::Systems, vec![crate::Value::Null]).is_err());
        let system = System {
            name: "crm".into(),
            key_system: None,
            supports_mfa: None,
            restricted: None,
        }
        .to_row();
        assert!(matches!(
            BudgetCentre::from_row(&system),
            Err(ModelError::WrongRegister { .. })
        ));
    }

    #[test]
    fn a_record_survives_a_row() {
        let person = Person {
            id: "P1".into(),
            name: "Ada".into(),
            email: Some("ada@example.org".into()),
            staff_group: "fca".into(),
            manager_id: None,
            budget_centre: Some("BC1".into()),
            status: PersonStatus::Active,
            start_date: NaiveDate::from_ymd_opt(2020, 1, 6),
            leave_date: None,
            clearance: Some(Clearance::Sc),
            clearance_expires: None,
            byod: Some(false),
            weekly_digest: None,
            job_title: None,
            source: None,
            source_seen: None,
            missing_since: None,
        };
        let row = person.to_row();
        assert_eq!(row.id(), "P1");
        assert_eq!(Person::from_row(&row).unwrap(), person);
        let mut bad = row.clone();
        bad.set("status", crate::Value::Text("retired".into()));
        assert!(Person::from_row(&bad).is_err());
    }
}

/// A whole estate in memory: what a CSV folder holds, what the demo generator makes, and what the
/// rules engine will read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estate {
    pub organisation: Option<Organisation>,
    pub budget_centres: Vec<BudgetCentre>,
    pub systems: Vec<System>,
    pub people: Vec<Person>,
    pub assets: Vec<Asset>,
    pub accounts: Vec<Account>,
    pub usage: Vec<Usage>,
    pub sightings: Vec<Sighting>,
    pub travel: Vec<Travel>,
    pub training: Vec<Training>,
    pub acceptances: Vec<Acceptance>,
    pub questionnaires: Vec<Questionnaire>,
    pub adjustments: Vec<Adjustment>,
    pub exceptions: Vec<Exception>,
    pub bank_holidays: Vec<BankHoliday>,
    pub roles: Vec<RoleGrant>,
    pub requests: Vec<Request>,
    pub approvals: Vec<Approval>,
    pub incidents: Vec<Incident>,
    pub notifications: Vec<Notification>,
    pub charges: Vec<Charge>,
    pub removable_media: Vec<RemovableMedium>,
    pub retention_schedule: Vec<RetentionRule>,
    pub records: Vec<HeldRecord>,
    pub destructions: Vec<Destruction>,
    pub information_assets: Vec<InformationAsset>,
    pub access_reviews: Vec<AccessReview>,
    pub archives: Vec<ArchivedFile>,
    pub tasks: Vec<RecurringTask>,
    pub task_completions: Vec<TaskCompletion>,
    pub courses: Vec<Course>,
    pub policy_reviews: Vec<PolicyReview>,
}

impl Estate {
    /// The rows of one register, in the order held.
    pub fn rows(&self, register: Register) -> Vec<Row> {
        match register {
            Register::Organisation => self.organisation.iter().map(Record::to_row).collect(),
            Register::BudgetCentres => self.budget_centres.iter().map(Record::to_row).collect(),
            Register::Systems => self.systems.iter().map(Record::to_row).collect(),
            Register::People => self.people.iter().map(Record::to_row).collect(),
            Register::Assets => self.assets.iter().map(Record::to_row).collect(),
            Register::Accounts => self.accounts.iter().map(Record::to_row).collect(),
            Register::Usage => self.usage.iter().map(Record::to_row).collect(),
            Register::Sightings => self.sightings.iter().map(Record::to_row).collect(),
            Register::Travel => self.travel.iter().map(Record::to_row).collect(),
            Register::Training => self.training.iter().map(Record::to_row).collect(),
            Register::Acceptances => self.acceptances.iter().map(Record::to_row).collect(),
            Register::Questionnaires => self.questionnaires.iter().map(Record::to_row).collect(),
            Register::Adjustments => self.adjustments.iter().map(Record::to_row).collect(),
            Register::Exceptions => self.exceptions.iter().map(Record::to_row).collect(),
            Register::BankHolidays => self.bank_holidays.iter().map(Record::to_row).collect(),
            Register::Roles => self.roles.iter().map(Record::to_row).collect(),
            Register::Requests => self.requests.iter().map(Record::to_row).collect(),
            Register::Approvals => self.approvals.iter().map(Record::to_row).collect(),
            Register::Incidents => self.incidents.iter().map(Record::to_row).collect(),
            Register::Notifications => self.notifications.iter().map(Record::to_row).collect(),
            Register::Charges => self.charges.iter().map(Record::to_row).collect(),
            Register::RemovableMedia => self.removable_media.iter().map(Record::to_row).collect(),
            Register::RetentionSchedule => {
                self.retention_schedule.iter().map(Record::to_row).collect()
            }
            Register::Records => self.records.iter().map(Record::to_row).collect(),
            Register::Destructions => self.destructions.iter().map(Record::to_row).collect(),
            Register::InformationAssets => {
                self.information_assets.iter().map(Record::to_row).collect()
            }
            Register::AccessReviews => self.access_reviews.iter().map(Record::to_row).collect(),
            Register::Archives => self.archives.iter().map(Record::to_row).collect(),
            Register::Tasks => self.tasks.iter().map(Record::to_row).collect(),
            Register::TaskCompletions => self.task_completions.iter().map(Record::to_row).collect(),
            Register::Courses => self.courses.iter().map(Record::to_row).collect(),
            Register::PolicyReviews => self.policy_reviews.iter().map(Record::to_row).collect(),
        }
    }
}
