//! The estate as the rule language sees it: kinds of object, their fields and their relations.
//!
//! Fields come from the model's registers, so a new register field is visible to rules without
//! a change here; relations (who holds an asset, whose account this is) are declared below.

use steward_model::{FieldType, Register};

/// A kind of object a rule can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Person,
    Asset,
    Account,
    System,
    Usage,
    Sighting,
    Travel,
    Training,
    Acceptance,
    Questionnaire,
    Adjustment,
    Exception,
    // The processes' and governance registers. Appended, never inserted: `Data` lays kinds out
    // by their position here.
    Task,
    TaskCompletion,
    InformationAsset,
    AccessReview,
    RetentionRule,
    Record,
    RemovableMedium,
    PolicyReview,
    Request,
    Incident,
    Approval,
    Destruction,
}

impl Kind {
    pub const ALL: [Kind; 24] = [
        Kind::Person,
        Kind::Asset,
        Kind::Account,
        Kind::System,
        Kind::Usage,
        Kind::Sighting,
        Kind::Travel,
        Kind::Training,
        Kind::Acceptance,
        Kind::Questionnaire,
        Kind::Adjustment,
        Kind::Exception,
        Kind::Task,
        Kind::TaskCompletion,
        Kind::InformationAsset,
        Kind::AccessReview,
        Kind::RetentionRule,
        Kind::Record,
        Kind::RemovableMedium,
        Kind::PolicyReview,
        Kind::Request,
        Kind::Incident,
        Kind::Approval,
        Kind::Destruction,
    ];

    /// The variable a rule uses for a subject of this kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Asset => "asset",
            Kind::Account => "account",
            Kind::System => "system",
            Kind::Usage => "usage",
            Kind::Sighting => "sighting",
            Kind::Travel => "travel",
            Kind::Training => "training",
            Kind::Acceptance => "acceptance",
            Kind::Questionnaire => "questionnaire",
            Kind::Adjustment => "adjustment",
            Kind::Exception => "exception",
            Kind::Task => "task",
            Kind::TaskCompletion => "task_completion",
            Kind::InformationAsset => "information_asset",
            Kind::AccessReview => "access_review",
            Kind::RetentionRule => "retention_rule",
            Kind::Record => "record",
            Kind::RemovableMedium => "removable_medium",
            Kind::PolicyReview => "policy_review",
            Kind::Request => "request",
            Kind::Incident => "incident",
            Kind::Approval => "approval",
            Kind::Destruction => "destruction",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind whose objects `register` holds, if rules reach its rows.
    pub fn of_register(register: Register) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.register() == register)
    }

    pub fn register(self) -> Register {
        match self {
            Kind::Person => Register::People,
            Kind::Asset => Register::Assets,
            Kind::Account => Register::Accounts,
            Kind::System => Register::Systems,
            Kind::Usage => Register::Usage,
            Kind::Sighting => Register::Sightings,
            Kind::Travel => Register::Travel,
            Kind::Training => Register::Training,
            Kind::Acceptance => Register::Acceptances,
            Kind::Questionnaire => Register::Questionnaires,
            Kind::Adjustment => Register::Adjustments,
            Kind::Exception => Register::Exceptions,
            Kind::Task => Register::Tasks,
            Kind::TaskCompletion => Register::TaskCompletions,
            Kind::InformationAsset => Register::InformationAssets,
            Kind::AccessReview => Register::AccessReviews,
            Kind::RetentionRule => Register::RetentionSchedule,
            Kind::Record => Register::Records,
            Kind::RemovableMedium => Register::RemovableMedia,
            Kind::PolicyReview => Register::PolicyReviews,
            Kind::Request => Register::Requests,
            Kind::Incident => Register::Incidents,
            Kind::Approval => Register::Approvals,
            Kind::Destruction => Register::Destructions,
        }
    }

    /// Every stored field of this kind as rules read it, with its type: for descriptions of the
    /// schema kept elsewhere (the pack loader's) to be tested against this one.
    pub fn fields(self) -> Vec<(&'static str, Ty)> {
        self.register()
            .fields()
            .iter()
            .map(|f| (self.field_alias(f.name), field_ty(f.ty)))
            .collect()
    }

    /// Every relation from this kind, with its type: an object, or a list of them.
    pub fn relations(self) -> Vec<(&'static str, Ty)> {
        RELATIONS
            .iter()
            .filter(|r| r.from == self)
            .map(|r| (r.name, relation_ty(r)))
            .collect()
    }

    /// The name a register field goes by in rules, where it differs: `account.system` is the
    /// related system, so the stored name is `account.system_name`.
    pub(crate) fn field_alias(self, field: &str) -> &str {
        match (self, field) {
            (Kind::Account, "system") => "system_name",
            _ => field,
        }
    }
}

/// A type in the rule language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Int,
    Double,
    String,
    Timestamp,
    Duration,
    Null,
    Object(Kind),
    List(Box<Ty>),
    /// Known only at run time (an empty list's elements, a comprehension's accumulator).
    Dyn,
}

impl Ty {
    pub fn list(of: Ty) -> Ty {
        Ty::List(Box::new(of))
    }

    /// Whether a value of type `other` may stand where `self` is expected.
    pub fn accepts(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Dyn, _) | (_, Ty::Dyn) => true,
            (Ty::List(a), Ty::List(b)) => a.accepts(b),
            (a, b) => a == b,
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Double | Ty::Dyn)
    }
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Double => f.write_str("double"),
            Ty::String => f.write_str("string"),
            Ty::Timestamp => f.write_str("timestamp"),
            Ty::Duration => f.write_str("duration"),
            Ty::Null => f.write_str("null"),
            Ty::Object(k) => f.write_str(k.name()),
            Ty::List(t) => write!(f, "list({t})"),
            Ty::Dyn => f.write_str("dyn"),
        }
    }
}

/// The rule-language type of a stored field. Dates become timestamps at midnight UTC; money
/// becomes a double of pounds.
pub(crate) fn field_ty(ty: FieldType) -> Ty {
    match ty {
        FieldType::Bool => Ty::Bool,
        FieldType::Int => Ty::Int,
        FieldType::Date | FieldType::Timestamp => Ty::Timestamp,
        FieldType::Money => Ty::Double,
        FieldType::Countries => Ty::list(Ty::String),
        FieldType::Text
        | FieldType::Id
        | FieldType::Slug
        | FieldType::Email
        | FieldType::Enum(_)
        | FieldType::Month
        | FieldType::Country => Ty::String,
    }
}

/// How a relation finds its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Join {
    /// This object's field holds the id of one object of the target kind.
    Forward { field: &'static str },
    /// Objects of the target kind whose field holds this object's id.
    Reverse { field: &'static str },
    /// Exceptions about this object: `subject_id` holds its id and `subject_type` its kind.
    Exceptions,
    /// Objects of the target kind whose `target` field holds the value of this object's `field`:
    /// the reviews of the policy an acceptance is of.
    Same {
        field: &'static str,
        target: &'static str,
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Relation {
    pub from: Kind,
    pub name: &'static str,
    pub to: Kind,
    pub join: Join,
}

pub(crate) const RELATIONS: &[Relation] = &[
    Relation {
        from: Kind::Person,
        name: "manager",
        to: Kind::Person,
        join: Join::Forward {
            field: "manager_id",
        },
    },
    Relation {
        from: Kind::Person,
        name: "reports",
        to: Kind::Person,
        join: Join::Reverse {
            field: "manager_id",
        },
    },
    Relation {
        from: Kind::Person,
        name: "assets",
        to: Kind::Asset,
        join: Join::Reverse {
            field: "assigned_to",
        },
    },
    Relation {
        from: Kind::Person,
        name: "accounts",
        to: Kind::Account,
        join: Join::Reverse { field: "person_id" },
    },
    Relation {
        from: Kind::Person,
        name: "travel",
        to: Kind::Travel,
        join: Join::Reverse { field: "person_id" },
    },
    Relation {
        from: Kind::Person,
        name: "training",
        to: Kind::Training,
        join: Join::Reverse { field: "person_id" },
    },
    Relation {
        from: Kind::Person,
        name: "acceptances",
        to: Kind::Acceptance,
        join: Join::Reverse { field: "person_id" },
    },
    Relation {
        from: Kind::Person,
        name: "questionnaires",
        to: Kind::Questionnaire,
        join: Join::Reverse { field: "person_id" },
    },
    Relation {
        from: Kind::Person,
        name: "adjustments",
        to: Kind::Adjustment,
        join: Join::Reverse { field: "person_id" },
    },
    Relation {
        from: Kind::Person,
        name: "exceptions",
        to: Kind::Exception,
        join: Join::Exceptions,
    },
    Relation {
        from: Kind::Asset,
        name: "holder",
        to: Kind::Person,
        join: Join::Forward {
            field: "assigned_to",
        },
    },
    Relation {
        from: Kind::Asset,
        name: "usage",
        to: Kind::Usage,
        join: Join::Reverse { field: "asset_tag" },
    },
    Relation {
        from: Kind::Asset,
        name: "sightings",
        to: Kind::Sighting,
        join: Join::Reverse { field: "asset_tag" },
    },
    Relation {
        from: Kind::Asset,
        name: "exceptions",
        to: Kind::Exception,
        join: Join::Exceptions,
    },
    Relation {
        from: Kind::Account,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    Relation {
        from: Kind::Account,
        name: "system",
        to: Kind::System,
        join: Join::Forward { field: "system" },
    },
    Relation {
        from: Kind::Account,
        name: "exceptions",
        to: Kind::Exception,
        join: Join::Exceptions,
    },
    Relation {
        from: Kind::System,
        name: "accounts",
        to: Kind::Account,
        join: Join::Reverse { field: "system" },
    },
    Relation {
        from: Kind::Usage,
        name: "asset",
        to: Kind::Asset,
        join: Join::Forward { field: "asset_tag" },
    },
    Relation {
        from: Kind::Sighting,
        name: "asset",
        to: Kind::Asset,
        join: Join::Forward { field: "asset_tag" },
    },
    Relation {
        from: Kind::Sighting,
        name: "account",
        to: Kind::Account,
        join: Join::Forward {
            field: "account_id",
        },
    },
    Relation {
        from: Kind::Account,
        name: "sightings",
        to: Kind::Sighting,
        join: Join::Reverse {
            field: "account_id",
        },
    },
    Relation {
        from: Kind::Travel,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    Relation {
        from: Kind::Travel,
        name: "approver",
        to: Kind::Person,
        join: Join::Forward {
            field: "approved_by",
        },
    },
    Relation {
        from: Kind::Training,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    Relation {
        from: Kind::Acceptance,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    Relation {
        from: Kind::Acceptance,
        name: "reviews",
        to: Kind::PolicyReview,
        join: Join::Same {
            field: "pack",
            target: "pack",
        },
    },
    Relation {
        from: Kind::Questionnaire,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    Relation {
        from: Kind::Adjustment,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    Relation {
        from: Kind::Exception,
        name: "granter",
        to: Kind::Person,
        join: Join::Forward {
            field: "granted_by",
        },
    },
    // What a person owns, holds and has asked for in the processes' registers.
    Relation {
        from: Kind::Person,
        name: "tasks",
        to: Kind::Task,
        join: Join::Reverse { field: "owner_id" },
    },
    Relation {
        from: Kind::Person,
        name: "information_assets",
        to: Kind::InformationAsset,
        join: Join::Reverse { field: "owner_id" },
    },
    Relation {
        from: Kind::Person,
        name: "removable_media",
        to: Kind::RemovableMedium,
        join: Join::Reverse { field: "holder_id" },
    },
    Relation {
        from: Kind::Person,
        name: "requests",
        to: Kind::Request,
        join: Join::Reverse { field: "person_id" },
    },
    Relation {
        from: Kind::Person,
        name: "incidents",
        to: Kind::Incident,
        join: Join::Reverse { field: "person_id" },
    },
    Relation {
        from: Kind::Asset,
        name: "incidents",
        to: Kind::Incident,
        join: Join::Reverse { field: "asset_tag" },
    },
    Relation {
        from: Kind::Task,
        name: "owner",
        to: Kind::Person,
        join: Join::Forward { field: "owner_id" },
    },
    Relation {
        from: Kind::Task,
        name: "completions",
        to: Kind::TaskCompletion,
        join: Join::Reverse { field: "task_id" },
    },
    Relation {
        from: Kind::TaskCompletion,
        name: "task",
        to: Kind::Task,
        join: Join::Forward { field: "task_id" },
    },
    Relation {
        from: Kind::InformationAsset,
        name: "owner",
        to: Kind::Person,
        join: Join::Forward { field: "owner_id" },
    },
    Relation {
        from: Kind::InformationAsset,
        name: "access_reviews",
        to: Kind::AccessReview,
        join: Join::Reverse { field: "asset_id" },
    },
    Relation {
        from: Kind::AccessReview,
        name: "asset",
        to: Kind::InformationAsset,
        join: Join::Forward { field: "asset_id" },
    },
    Relation {
        from: Kind::AccessReview,
        name: "reviewer",
        to: Kind::Person,
        join: Join::Forward {
            field: "reviewed_by",
        },
    },
    Relation {
        from: Kind::RetentionRule,
        name: "records",
        to: Kind::Record,
        join: Join::Reverse {
            field: "record_class",
        },
    },
    // The line of the retention schedule the record's class falls under: its period and
    // disposal.
    Relation {
        from: Kind::Record,
        name: "retention",
        to: Kind::RetentionRule,
        join: Join::Forward {
            field: "record_class",
        },
    },
    // A request's approvals, by the part each approver plays: who agreed, and when.
    Relation {
        from: Kind::Request,
        name: "approvals",
        to: Kind::Approval,
        join: Join::Reverse {
            field: "request_id",
        },
    },
    Relation {
        from: Kind::Approval,
        name: "request",
        to: Kind::Request,
        join: Join::Forward {
            field: "request_id",
        },
    },
    Relation {
        from: Kind::Approval,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    // The destruction log's entries for a body of records or a removable medium.
    Relation {
        from: Kind::Record,
        name: "destructions",
        to: Kind::Destruction,
        join: Join::Reverse { field: "record_id" },
    },
    Relation {
        from: Kind::RemovableMedium,
        name: "destructions",
        to: Kind::Destruction,
        join: Join::Reverse { field: "medium_id" },
    },
    Relation {
        from: Kind::Destruction,
        name: "record",
        to: Kind::Record,
        join: Join::Forward { field: "record_id" },
    },
    Relation {
        from: Kind::Destruction,
        name: "medium",
        to: Kind::RemovableMedium,
        join: Join::Forward { field: "medium_id" },
    },
    Relation {
        from: Kind::Destruction,
        name: "authoriser",
        to: Kind::Person,
        join: Join::Forward {
            field: "authorised_by",
        },
    },
    Relation {
        from: Kind::RemovableMedium,
        name: "holder",
        to: Kind::Person,
        join: Join::Forward { field: "holder_id" },
    },
    Relation {
        from: Kind::RemovableMedium,
        name: "asset",
        to: Kind::Asset,
        join: Join::Forward { field: "asset_tag" },
    },
    Relation {
        from: Kind::RemovableMedium,
        name: "approver",
        to: Kind::Person,
        join: Join::Forward {
            field: "approved_by",
        },
    },
    Relation {
        from: Kind::Request,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    // An incident's `person_id` is who reported it.
    Relation {
        from: Kind::Incident,
        name: "person",
        to: Kind::Person,
        join: Join::Forward { field: "person_id" },
    },
    Relation {
        from: Kind::Incident,
        name: "asset",
        to: Kind::Asset,
        join: Join::Forward { field: "asset_tag" },
    },
];

/// A forward relation reaches one object; the others, every object that points back.
fn relation_ty(r: &Relation) -> Ty {
    match r.join {
        Join::Forward { .. } => Ty::Object(r.to),
        Join::Reverse { .. } | Join::Exceptions | Join::Same { .. } => Ty::list(Ty::Object(r.to)),
    }
}

/// What `object.name` is, for an object of `kind`.
#[derive(Debug, Clone)]
pub(crate) enum Member {
    /// A stored field, by its index in the register.
    Field {
        index: usize,
        ty: Ty,
    },
    Relation {
        index: usize,
        ty: Ty,
    },
}

pub(crate) fn member(kind: Kind, name: &str) -> Option<Member> {
    if let Some(index) = RELATIONS
        .iter()
        .position(|r| r.from == kind && r.name == name)
    {
        let ty = relation_ty(&RELATIONS[index]);
        return Some(Member::Relation { index, ty });
    }
    kind.register()
        .fields()
        .iter()
        .enumerate()
        .find(|(_, f)| kind.field_alias(f.name) == name)
        .map(|(index, f)| Member::Field {
            index,
            ty: field_ty(f.ty),
        })
}

/// Every member name of a kind, for "did you mean" help in errors.
pub(crate) fn member_names(kind: Kind) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = kind
        .register()
        .fields()
        .iter()
        .map(|f| kind.field_alias(f.name))
        .collect();
    names.extend(RELATIONS.iter().filter(|r| r.from == kind).map(|r| r.name));
    names
}
