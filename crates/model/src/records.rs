//! The typed records of each register. The field order here is the CSV column order.

use chrono::{DateTime, NaiveDate, Utc};

use crate::ModelError;
use crate::field::{Field, FieldType, FieldValue, Pence, words};
use crate::register::{Record, Register, Row};

/// Declares a register's record: the struct, its field list and its row conversions, from one
/// table. The first field is the id.
macro_rules! record {
    (
        $(#[$meta:meta])*
        $name:ident in $register:ident {
            $id:ident : $id_ty:ty => $id_kind:expr,
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $kind:expr $(, refers $target:ident)? ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            pub $id: $id_ty,
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            pub const FIELDS: &'static [Field] = &[
                Field { name: stringify!($id), ty: $id_kind, required: true, refers_to: None },
                $( Field {
                    name: stringify!($field),
                    ty: $kind,
                    required: <$ty as FieldValue>::REQUIRED,
                    refers_to: record!(@refers $($target)?),
                }, )*
            ];
        }

        impl Record for $name {
            const REGISTER: Register = Register::$register;

            fn id(&self) -> &str {
                &self.$id
            }

            fn to_row(&self) -> Row {
                Row {
                    register: Register::$register,
                    values: vec![self.$id.to_value(), $( self.$field.to_value(), )*],
                }
            }

            fn from_row(row: &Row) -> Result<Self, ModelError> {
                let fields = Self::FIELDS;
                if row.values.len() != fields.len() {
                    return Err(ModelError::Arity {
                        register: Register::$register.name(),
                        expected: fields.len(),
                        found: row.values.len(),
                    });
                }
                let mut values = row.values.iter();
                let mut next = || values.next().unwrap_or(&crate::Value::Null);
                Ok(Self {
                    $id: FieldValue::from_value(stringify!($id), next())?,
                    $( $field: FieldValue::from_value(stringify!($field), next())?, )*
                })
            }
        }
    };
    (@refers $target:ident) => { Some(Register::$target) };
    (@refers) => { None };
}

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

record! {
    /// The organisation's own settings: one row, id `organisation`.
    Organisation in Organisation {
        id: String => FieldType::Id,
        name: String => FieldType::Text;
        /// An IANA time zone name; working days and "today" are reckoned in it.
        time_zone: String => FieldType::Text;
    }
}

impl Organisation {
    pub const ID: &'static str = "organisation";
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
            "id,name,email,staff_group,manager_id,budget_centre,status,start_date,leave_date,clearance,clearance_expires,byod"
        );
        assert_eq!(names(Register::Systems), "name,key_system,supports_mfa");
        assert_eq!(
            names(Register::Assets),
            "tag,kind,model,serial,ownership,status,assigned_to,assigned_on,budget_centre,cost_gbp,encrypted,pin_set,hotspot_password_set,last_seen,last_shutdown,pending_patch_since"
        );
        assert_eq!(
            names(Register::Accounts),
            "id,person_id,system,kind,admin_rights,mfa,status,last_login"
        );
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
        }
    }
}
