//! The estate as `docs/rule-language.md` describes it: the kinds of record a rule can reach, their
//! fields and their relations. The pack loader uses it to check subjects, evidence paths and
//! message placeholders; the test-case loader uses it to check case rows. Type-checking rules is
//! the rules crate's job, not this one's.

use steward_model::{
    AccountKind, AccountStatus, ApproverRole, AssetKind, AssetStatus, Clearance, Decision,
    DisposalMethod, IcoDecision, IncidentState, IncidentType, Ownership, PersonStatus,
    RequestState, RequestType,
};

/// A kind of record in the rule language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
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

/// The type of a stored field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    String,
    Bool,
    Int,
    Double,
    Timestamp,
    StringList,
}

impl FieldKind {
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::String => "string",
            FieldKind::Bool => "bool",
            FieldKind::Int => "int",
            FieldKind::Double => "double",
            FieldKind::Timestamp => "timestamp",
            FieldKind::StringList => "list(string)",
        }
    }
}

/// A stored field of a record: what a case row or an import carries.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    /// The closed set of values, for enumerations.
    pub values: Option<&'static [&'static str]>,
    /// The record type whose id this field holds.
    pub refers_to: Option<RecordType>,
}

/// A relation a rule can follow from one record to others.
#[derive(Debug, Clone, Copy)]
pub struct RelationDef {
    pub name: &'static str,
    pub to: RecordType,
    pub many: bool,
}

/// Statuses of an International Travel request.
pub const TRAVEL_STATUSES: &[&str] = &["requested", "approved", "rejected", "cancelled"];
/// Where an adjustment comes from.
pub const ADJUSTMENT_SOURCES: &[&str] = &["access_to_work", "occupational_health", "local_funding"];
/// The record types an exception can be about.
pub const EXCEPTION_SUBJECTS: &[&str] = &[
    "person", "asset", "account", "system", "usage", "sighting", "travel",
];

const fn field(name: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        kind,
        required: false,
        values: None,
        refers_to: None,
    }
}

const fn req(name: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        kind,
        required: true,
        values: None,
        refers_to: None,
    }
}

const fn one_of(name: &'static str, required: bool, values: &'static [&'static str]) -> FieldDef {
    FieldDef {
        name,
        kind: FieldKind::String,
        required,
        values: Some(values),
        refers_to: None,
    }
}

const fn refers(name: &'static str, required: bool, to: RecordType) -> FieldDef {
    FieldDef {
        name,
        kind: FieldKind::String,
        required,
        values: None,
        refers_to: Some(to),
    }
}

const fn one(name: &'static str, to: RecordType) -> RelationDef {
    RelationDef {
        name,
        to,
        many: false,
    }
}

const fn many(name: &'static str, to: RecordType) -> RelationDef {
    RelationDef {
        name,
        to,
        many: true,
    }
}

use FieldKind::String as Str;
use FieldKind::{Bool, Double, Int, StringList, Timestamp};
use RecordType as R;

const PERSON: &[FieldDef] = &[
    req("id", Str),
    req("name", Str),
    field("email", Str),
    req("staff_group", Str),
    refers("manager_id", false, R::Person),
    field("budget_centre", Str),
    one_of("status", true, PersonStatus::ALL),
    field("start_date", Timestamp),
    field("leave_date", Timestamp),
    one_of("clearance", false, Clearance::ALL),
    field("clearance_expires", Timestamp),
    field("byod", Bool),
    field("weekly_digest", Bool),
    field("source", Str),
    field("source_seen", Timestamp),
    field("missing_since", Timestamp),
    field("job_title", Str),
];

const ASSET: &[FieldDef] = &[
    req("tag", Str),
    one_of("kind", true, AssetKind::ALL),
    field("model", Str),
    field("serial", Str),
    one_of("ownership", true, Ownership::ALL),
    one_of("status", true, AssetStatus::ALL),
    refers("assigned_to", false, R::Person),
    field("assigned_on", Timestamp),
    field("budget_centre", Str),
    field("cost_gbp", Double),
    field("encrypted", Bool),
    field("pin_set", Bool),
    field("hotspot_password_set", Bool),
    field("last_seen", Timestamp),
    field("last_shutdown", Timestamp),
    field("pending_patch_since", Timestamp),
    field("imei", Str),
    field("os_version", Str),
    field("compliance_state", Str),
    field("azure_device_id", Str),
    field("source_id", Str),
    field("source", Str),
    field("source_seen", Timestamp),
    field("missing_since", Timestamp),
];

/// In rules the account's system name is `account.system_name` (`account.system` is the related
/// system); in the register and its CSV the column is `system`.
const ACCOUNT: &[FieldDef] = &[
    req("id", Str),
    refers("person_id", false, R::Person),
    refers("system", true, R::System),
    one_of("kind", true, AccountKind::ALL),
    field("admin_rights", Bool),
    field("mfa", Bool),
    one_of("status", true, AccountStatus::ALL),
    field("last_login", Timestamp),
    field("login", Str),
    field("source_id", Str),
    field("source", Str),
    field("source_seen", Timestamp),
    field("missing_since", Timestamp),
    field("forwards_externally", Bool),
];

const SYSTEM: &[FieldDef] = &[
    req("name", Str),
    field("key_system", Bool),
    field("supports_mfa", Bool),
    field("restricted", Bool),
];

const USAGE: &[FieldDef] = &[
    req("month", Str),
    refers("asset_tag", true, R::Asset),
    req("data_mb", Int),
    field("roaming_mb", Int),
    field("voice_minutes", Int),
    field("texts", Int),
    field("private_cost_gbp", Double),
];

const SIGHTING: &[FieldDef] = &[
    refers("asset_tag", false, R::Asset),
    req("seen_at", Timestamp),
    req("country", Str),
    refers("account_id", false, R::Account),
];

const TRAVEL: &[FieldDef] = &[
    req("id", Str),
    refers("person_id", true, R::Person),
    req("countries", StringList),
    req("depart_on", Timestamp),
    req("return_on", Timestamp),
    one_of("status", true, TRAVEL_STATUSES),
    refers("approved_by", false, R::Person),
];

const TRAINING: &[FieldDef] = &[
    refers("person_id", true, R::Person),
    req("course", Str),
    req("completed_on", Timestamp),
    field("expires_on", Timestamp),
];

const ACCEPTANCE: &[FieldDef] = &[
    refers("person_id", true, R::Person),
    req("pack", Str),
    req("version", Str),
    req("accepted_on", Timestamp),
];

const QUESTIONNAIRE: &[FieldDef] = &[
    refers("person_id", true, R::Person),
    req("completed_on", Timestamp),
    req("passed", Bool),
];

const ADJUSTMENT: &[FieldDef] = &[
    refers("person_id", true, R::Person),
    one_of("source", true, ADJUSTMENT_SOURCES),
    one_of("device_kind", true, AssetKind::ALL),
    req("approved_on", Timestamp),
    field("expires_on", Timestamp),
];

const EXCEPTION: &[FieldDef] = &[
    req("id", Str),
    req("pack", Str),
    req("clause", Str),
    one_of("subject_type", true, EXCEPTION_SUBJECTS),
    req("subject_id", Str),
    req("reason", Str),
    refers("granted_by", true, R::Person),
    req("granted_on", Timestamp),
    field("expires_on", Timestamp),
];

const TASK: &[FieldDef] = &[
    req("id", Str),
    req("title", Str),
    field("clause", Str),
    req("every_days", Int),
    refers("owner_id", false, R::Person),
    field("last_done_on", Timestamp),
    field("evidence", Str),
];

const TASK_COMPLETION: &[FieldDef] = &[
    refers("task_id", true, R::Task),
    req("done_on", Timestamp),
    refers("done_by", true, R::Person),
    req("evidence", Str),
];

const INFORMATION_ASSET: &[FieldDef] = &[
    req("id", Str),
    req("name", Str),
    refers("owner_id", true, R::Person),
    field("description", Str),
    field("location", Str),
    req("review_every_months", Int),
    field("last_reviewed_on", Timestamp),
];

const ACCESS_REVIEW: &[FieldDef] = &[
    refers("asset_id", true, R::InformationAsset),
    req("reviewed_on", Timestamp),
    refers("reviewed_by", true, R::Person),
    req("outcome", Str),
];

const RETENTION_RULE: &[FieldDef] = &[
    req("record_class", Str),
    req("description", Str),
    req("period_months", Int),
    req("trigger", Str),
    one_of("disposal", true, DisposalMethod::ALL),
];

const RECORD: &[FieldDef] = &[
    req("id", Str),
    refers("record_class", true, R::RetentionRule),
    req("description", Str),
    field("location", Str),
    field("trigger_on", Timestamp),
    field("disposed_on", Timestamp),
];

const REMOVABLE_MEDIUM: &[FieldDef] = &[
    req("id", Str),
    refers("asset_tag", false, R::Asset),
    refers("holder_id", true, R::Person),
    req("business_need", Str),
    req("encrypted", Bool),
    refers("approved_by", true, R::Person),
    field("case_reference", Str),
    req("issued_on", Timestamp),
    field("damaged_on", Timestamp),
    field("destroyed_on", Timestamp),
    field("destruction_method", Str),
];

const POLICY_REVIEW: &[FieldDef] = &[
    req("pack", Str),
    req("version", Str),
    field("reviewed_on", Timestamp),
    req("next_review", Timestamp),
    req("material", Bool),
];

const REQUEST: &[FieldDef] = &[
    req("id", Str),
    one_of("kind", true, RequestType::ALL),
    refers("person_id", true, R::Person),
    refers("raised_by", false, R::Person),
    one_of("state", true, RequestState::ALL),
    req("opened_at", Timestamp),
    field("due_on", Timestamp),
    field("closed_at", Timestamp),
    field("details", Str),
    field("approvers", Str),
];

const APPROVAL: &[FieldDef] = &[
    refers("request_id", true, R::Request),
    one_of("role", true, ApproverRole::ALL),
    refers("person_id", true, R::Person),
    one_of("decision", true, Decision::ALL),
    req("decided_at", Timestamp),
    field("note", Str),
];

const DESTRUCTION: &[FieldDef] = &[
    req("id", Str),
    req("what", Str),
    refers("record_id", false, R::Record),
    refers("medium_id", false, R::RemovableMedium),
    req("destroyed_on", Timestamp),
    refers("authorised_by", true, R::Person),
    req("method", Str),
];

const INCIDENT: &[FieldDef] = &[
    req("id", Str),
    one_of("kind", true, IncidentType::ALL),
    refers("person_id", true, R::Person),
    refers("asset_tag", false, R::Asset),
    one_of("state", true, IncidentState::ALL),
    field("occurred_at", Timestamp),
    req("discovered_at", Timestamp),
    req("reported_at", Timestamp),
    field("report_by", Timestamp),
    field("late", Bool),
    field("ico_notify_by", Timestamp),
    field("facts", Str),
    field("effects", Str),
    field("remedial_action", Str),
    one_of("ico_decision", false, IcoDecision::ALL),
    field("ico_reasons", Str),
    field("ico_notified_at", Timestamp),
    field("closed_at", Timestamp),
    field("details", Str),
];

impl RecordType {
    pub const ALL: [RecordType; 24] = [
        R::Person,
        R::Asset,
        R::Account,
        R::System,
        R::Usage,
        R::Sighting,
        R::Travel,
        R::Training,
        R::Acceptance,
        R::Questionnaire,
        R::Adjustment,
        R::Exception,
        R::Task,
        R::TaskCompletion,
        R::InformationAsset,
        R::AccessReview,
        R::RetentionRule,
        R::Record,
        R::RemovableMedium,
        R::PolicyReview,
        R::Request,
        R::Incident,
        R::Approval,
        R::Destruction,
    ];

    /// The record types a check can have as its subject.
    pub const SUBJECTS: [RecordType; 14] = [
        R::Person,
        R::Asset,
        R::Account,
        R::System,
        R::Usage,
        R::Sighting,
        R::Travel,
        R::Task,
        R::InformationAsset,
        R::Record,
        R::RemovableMedium,
        R::PolicyReview,
        R::Request,
        R::Incident,
    ];

    /// The variable name in rules, and the subject name in packs.
    pub fn name(self) -> &'static str {
        match self {
            R::Person => "person",
            R::Asset => "asset",
            R::Account => "account",
            R::System => "system",
            R::Usage => "usage",
            R::Sighting => "sighting",
            R::Travel => "travel",
            R::Training => "training",
            R::Acceptance => "acceptance",
            R::Questionnaire => "questionnaire",
            R::Adjustment => "adjustment",
            R::Exception => "exception",
            R::Task => "task",
            R::TaskCompletion => "task_completion",
            R::InformationAsset => "information_asset",
            R::AccessReview => "access_review",
            R::RetentionRule => "retention_rule",
            R::Record => "record",
            R::RemovableMedium => "removable_medium",
            R::PolicyReview => "policy_review",
            R::Request => "request",
            R::Incident => "incident",
            R::Approval => "approval",
            R::Destruction => "destruction",
        }
    }

    /// The register's name in a test case's estate (plural, as the CSV files are named).
    pub fn register(self) -> &'static str {
        match self {
            R::Person => "people",
            R::Asset => "assets",
            R::Account => "accounts",
            R::System => "systems",
            R::Usage => "usage",
            R::Sighting => "sightings",
            R::Travel => "travel",
            R::Training => "training",
            R::Acceptance => "acceptances",
            R::Questionnaire => "questionnaires",
            R::Adjustment => "adjustments",
            R::Exception => "exceptions",
            R::Task => "tasks",
            R::TaskCompletion => "task_completions",
            R::InformationAsset => "information_assets",
            R::AccessReview => "access_reviews",
            R::RetentionRule => "retention_schedule",
            R::Record => "records",
            R::RemovableMedium => "removable_media",
            R::PolicyReview => "policy_reviews",
            R::Request => "requests",
            R::Incident => "incidents",
            R::Approval => "approvals",
            R::Destruction => "destructions",
        }
    }

    pub fn parse(name: &str) -> Option<RecordType> {
        RecordType::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn from_register(name: &str) -> Option<RecordType> {
        RecordType::ALL.into_iter().find(|r| r.register() == name)
    }

    pub fn is_subject(self) -> bool {
        RecordType::SUBJECTS.contains(&self)
    }

    /// The path from a record of this type to the person a scope's `staff_groups` and
    /// `person_statuses` look at, relations joined by `.` (empty for a person itself).
    pub fn person_path(self) -> Option<&'static str> {
        Some(match self {
            R::Person => "",
            R::Asset => "holder",
            R::Account
            | R::Travel
            | R::Training
            | R::Acceptance
            | R::Questionnaire
            | R::Adjustment
            | R::Request
            | R::Incident
            | R::Approval => "person",
            R::Usage | R::Sighting => "asset.holder",
            R::Task | R::InformationAsset => "owner",
            R::RemovableMedium => "holder",
            R::System
            | R::Exception
            | R::TaskCompletion
            | R::AccessReview
            | R::RetentionRule
            | R::Record
            | R::PolicyReview
            | R::Destruction => return None,
        })
    }

    /// Whether a scope's people-lists can apply to records of this type.
    pub fn has_person(self) -> bool {
        self.person_path().is_some()
    }

    /// The stored fields, in CSV column order.
    pub fn fields(self) -> &'static [FieldDef] {
        match self {
            R::Person => PERSON,
            R::Asset => ASSET,
            R::Account => ACCOUNT,
            R::System => SYSTEM,
            R::Usage => USAGE,
            R::Sighting => SIGHTING,
            R::Travel => TRAVEL,
            R::Training => TRAINING,
            R::Acceptance => ACCEPTANCE,
            R::Questionnaire => QUESTIONNAIRE,
            R::Adjustment => ADJUSTMENT,
            R::Exception => EXCEPTION,
            R::Task => TASK,
            R::TaskCompletion => TASK_COMPLETION,
            R::InformationAsset => INFORMATION_ASSET,
            R::AccessReview => ACCESS_REVIEW,
            R::RetentionRule => RETENTION_RULE,
            R::Record => RECORD,
            R::RemovableMedium => REMOVABLE_MEDIUM,
            R::PolicyReview => POLICY_REVIEW,
            R::Request => REQUEST,
            R::Incident => INCIDENT,
            R::Approval => APPROVAL,
            R::Destruction => DESTRUCTION,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static FieldDef> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// The relations a rule can follow from this record type: the rules crate's, repeated here
    /// for paths and case files, and held to them by `record_types_match_the_rules_schema`.
    pub fn relations(self) -> &'static [RelationDef] {
        const PERSON_REL: &[RelationDef] = &[
            one("manager", R::Person),
            many("assets", R::Asset),
            many("accounts", R::Account),
            many("reports", R::Person),
            many("travel", R::Travel),
            many("training", R::Training),
            many("acceptances", R::Acceptance),
            many("questionnaires", R::Questionnaire),
            many("adjustments", R::Adjustment),
            many("exceptions", R::Exception),
            many("tasks", R::Task),
            many("information_assets", R::InformationAsset),
            many("removable_media", R::RemovableMedium),
            many("requests", R::Request),
            many("incidents", R::Incident),
        ];
        const ASSET_REL: &[RelationDef] = &[
            one("holder", R::Person),
            many("usage", R::Usage),
            many("sightings", R::Sighting),
            many("exceptions", R::Exception),
            many("incidents", R::Incident),
        ];
        const ACCOUNT_REL: &[RelationDef] = &[
            one("person", R::Person),
            one("system", R::System),
            many("exceptions", R::Exception),
            many("sightings", R::Sighting),
        ];
        const SIGHTING_REL: &[RelationDef] = &[one("asset", R::Asset), one("account", R::Account)];
        const SYSTEM_REL: &[RelationDef] = &[many("accounts", R::Account)];
        const ASSET_OF: &[RelationDef] = &[one("asset", R::Asset)];
        const PERSON_OF: &[RelationDef] = &[one("person", R::Person)];
        const TRAVEL_REL: &[RelationDef] = &[one("person", R::Person), one("approver", R::Person)];
        const EXCEPTION_REL: &[RelationDef] = &[one("granter", R::Person)];
        const TASK_REL: &[RelationDef] = &[
            one("owner", R::Person),
            many("completions", R::TaskCompletion),
        ];
        const TASK_COMPLETION_REL: &[RelationDef] = &[one("task", R::Task)];
        const INFORMATION_ASSET_REL: &[RelationDef] = &[
            one("owner", R::Person),
            many("access_reviews", R::AccessReview),
        ];
        const ACCESS_REVIEW_REL: &[RelationDef] = &[
            one("asset", R::InformationAsset),
            one("reviewer", R::Person),
        ];
        const RETENTION_RULE_REL: &[RelationDef] = &[many("records", R::Record)];
        const RECORD_REL: &[RelationDef] = &[
            one("retention", R::RetentionRule),
            many("destructions", R::Destruction),
        ];
        const REMOVABLE_MEDIUM_REL: &[RelationDef] = &[
            one("holder", R::Person),
            one("asset", R::Asset),
            one("approver", R::Person),
            many("destructions", R::Destruction),
        ];
        const REQUEST_REL: &[RelationDef] =
            &[one("person", R::Person), many("approvals", R::Approval)];
        const APPROVAL_REL: &[RelationDef] =
            &[one("request", R::Request), one("person", R::Person)];
        const DESTRUCTION_REL: &[RelationDef] = &[
            one("record", R::Record),
            one("medium", R::RemovableMedium),
            one("authoriser", R::Person),
        ];
        const INCIDENT_REL: &[RelationDef] = &[one("person", R::Person), one("asset", R::Asset)];
        const ACCEPTANCE_REL: &[RelationDef] =
            &[one("person", R::Person), many("reviews", R::PolicyReview)];
        match self {
            R::Person => PERSON_REL,
            R::Asset => ASSET_REL,
            R::Account => ACCOUNT_REL,
            R::System => SYSTEM_REL,
            R::Usage => ASSET_OF,
            R::Sighting => SIGHTING_REL,
            R::Travel => TRAVEL_REL,
            R::Training | R::Questionnaire | R::Adjustment => PERSON_OF,
            R::Request => REQUEST_REL,
            R::Approval => APPROVAL_REL,
            R::Destruction => DESTRUCTION_REL,
            R::Acceptance => ACCEPTANCE_REL,
            R::Exception => EXCEPTION_REL,
            R::Task => TASK_REL,
            R::TaskCompletion => TASK_COMPLETION_REL,
            R::InformationAsset => INFORMATION_ASSET_REL,
            R::AccessReview => ACCESS_REVIEW_REL,
            R::RetentionRule => RETENTION_RULE_REL,
            R::Record => RECORD_REL,
            R::RemovableMedium => REMOVABLE_MEDIUM_REL,
            R::PolicyReview => &[],
            R::Incident => INCIDENT_REL,
        }
    }

    pub fn relation(self, name: &str) -> Option<&'static RelationDef> {
        self.relations().iter().find(|r| r.name == name)
    }

    /// The names a rule can read on this record: stored fields (with the account's `system`
    /// column read as `system_name`) and relations.
    fn rule_field(self, name: &str) -> Option<PathStep> {
        if let Some(rel) = self.relation(name) {
            return Some(if rel.many {
                PathStep::List
            } else {
                PathStep::Record(rel.to)
            });
        }
        let stored = match (self, name) {
            // A record keyed on several fields also has its derived key, as the model computes it.
            (_, "key") if !self.key_fields().is_empty() => return Some(PathStep::Scalar),
            (R::Account, "system_name") => "system",
            (R::Account, "system") => return None,
            _ => name,
        };
        self.field(stored).map(|_| PathStep::Scalar)
    }

    /// The field that identifies a record of this type, if it has one of its own. Other records
    /// are identified by a key made of several fields (see [`RecordType::key_fields`]).
    pub fn key_field(self) -> Option<&'static str> {
        match self {
            R::Person
            | R::Account
            | R::Travel
            | R::Exception
            | R::Task
            | R::InformationAsset
            | R::Record
            | R::RemovableMedium
            | R::Request
            | R::Incident
            | R::Destruction => Some("id"),
            R::Asset => Some("tag"),
            R::System => Some("name"),
            R::RetentionRule => Some("record_class"),
            _ => None,
        }
    }
}

impl RecordType {
    /// The fields whose values, joined with `/`, identify a record without an id of its own, in
    /// the order the model's derived keys use: usage `MONTH/TAG`, a sighting `TAG/SEEN_AT`.
    pub fn key_fields(self) -> &'static [&'static str] {
        match self {
            R::Usage => &["month", "asset_tag"],
            R::Sighting => &["asset_tag", "seen_at", "account_id"],
            R::Training => &["person_id", "course", "completed_on"],
            R::Acceptance => &["person_id", "pack", "version"],
            R::Questionnaire => &["person_id", "completed_on"],
            R::Adjustment => &["person_id", "source", "device_kind", "approved_on"],
            R::TaskCompletion => &["task_id", "done_on"],
            R::AccessReview => &["asset_id", "reviewed_on"],
            R::PolicyReview => &["pack", "version"],
            R::Approval => &["request_id", "role"],
            _ => &[],
        }
    }
}

enum PathStep {
    Scalar,
    Record(RecordType),
    List,
}

/// Checks a dotted path such as `asset.holder.name` as a rule would read it from a subject of
/// type `subject`, ending on a stored field. `now`, `today` and `params.NAME` are accepted too
/// (`is_param` says whether `NAME` is a parameter). Returns why the path is wrong.
pub fn check_path(
    subject: RecordType,
    path: &str,
    is_param: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| !is_identifier(p)) {
        return Err(format!("`{path}` is not a dotted path of names"));
    }
    match parts.as_slice() {
        ["now"] | ["today"] => return Ok(()),
        ["params", name] => {
            return if is_param(name) {
                Ok(())
            } else {
                Err(format!("unknown parameter `params.{name}`"))
            };
        }
        [root, ..] if *root != subject.name() => {
            return Err(format!(
                "`{path}` must start with `{}` (the control's subject), `params`, `now` or `today`",
                subject.name()
            ));
        }
        _ => {}
    }
    let mut at = subject;
    for (i, part) in parts.iter().enumerate().skip(1) {
        let last = i + 1 == parts.len();
        match at.rule_field(part) {
            None => return Err(format!("`{path}`: {} has no field `{part}`", at.name())),
            Some(PathStep::Scalar) if last => return Ok(()),
            Some(PathStep::Scalar) => {
                return Err(format!("`{path}`: `{part}` is a value, it has no fields"));
            }
            Some(PathStep::List) => {
                return Err(format!("`{path}`: `{part}` is a list; name a single value"));
            }
            Some(PathStep::Record(next)) if last => {
                return Err(format!(
                    "`{path}` is a whole {}; name one of its fields",
                    next.name()
                ));
            }
            Some(PathStep::Record(next)) => at = next,
        }
    }
    Err(format!(
        "`{path}` names the whole subject; name one of its fields"
    ))
}

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_fields_and_relations() {
        let no = |_: &str| false;
        assert!(check_path(R::Asset, "asset.tag", &no).is_ok());
        assert!(check_path(R::Asset, "asset.holder.manager.name", &no).is_ok());
        assert!(check_path(R::Account, "account.system_name", &no).is_ok());
        assert!(check_path(R::Account, "account.system.supports_mfa", &no).is_ok());
        assert!(check_path(R::Asset, "now", &no).is_ok());
        assert!(check_path(R::Asset, "params.x", &|n| n == "x").is_ok());
        for bad in [
            "asset",
            "asset.holder",
            "asset.usage",
            "asset.tag.x",
            "person.name",
            "asset.nope",
            "params.y",
            "asset..tag",
            "account.system",
        ] {
            assert!(
                check_path(
                    if bad.starts_with("account") {
                        R::Account
                    } else {
                        R::Asset
                    },
                    bad,
                    &|n| n == "x"
                )
                .is_err(),
                "{bad}"
            );
        }
    }

    /// This schema and the rules crate's describe the same estate: every record type a rule can
    /// reach has the same fields, of the same types, and the same relations.
    #[test]
    fn record_types_match_the_rules_schema() {
        use steward_rules::{Kind, Ty};
        let ty = |k: FieldKind| match k {
            FieldKind::String => Ty::String,
            FieldKind::Bool => Ty::Bool,
            FieldKind::Int => Ty::Int,
            FieldKind::Double => Ty::Double,
            FieldKind::Timestamp => Ty::Timestamp,
            FieldKind::StringList => Ty::list(Ty::String),
        };
        assert_eq!(RecordType::ALL.len(), Kind::ALL.len());
        for r in RecordType::ALL {
            let kind = Kind::parse(r.name()).unwrap_or_else(|| panic!("{r:?} has no kind"));
            assert_eq!(kind.register().name(), r.register(), "{r:?}");
            let mut ours: Vec<(String, Ty)> = r
                .fields()
                .iter()
                .map(|f| {
                    let name = if (r, f.name) == (R::Account, "system") {
                        "system_name"
                    } else {
                        f.name
                    };
                    (name.to_owned(), ty(f.kind))
                })
                .collect();
            if !r.key_fields().is_empty() {
                ours.push(("key".to_owned(), Ty::String));
            }
            let mut theirs: Vec<(String, Ty)> = kind
                .fields()
                .into_iter()
                .map(|(n, t)| (n.to_owned(), t))
                .collect();
            ours.sort_by(|a, b| a.0.cmp(&b.0));
            theirs.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(ours, theirs, "fields of {}", r.name());

            let mut ours: Vec<(String, Ty)> = r
                .relations()
                .iter()
                .map(|rel| {
                    let to = Kind::parse(rel.to.name()).map_or(Ty::Dyn, Ty::Object);
                    let t = if rel.many { Ty::list(to) } else { to };
                    (rel.name.to_owned(), t)
                })
                .collect();
            let mut theirs: Vec<(String, Ty)> = kind
                .relations()
                .into_iter()
                .map(|(n, t)| (n.to_owned(), t))
                .collect();
            ours.sort_by(|a, b| a.0.cmp(&b.0));
            theirs.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(ours, theirs, "relations of {}", r.name());
        }
    }

    #[test]
    fn keyed_records_are_keyed_as_the_model_keys_them() {
        for r in RecordType::ALL {
            let Some(register) = steward_model::Register::ALL
                .into_iter()
                .find(|g| g.name() == r.register())
            else {
                panic!("{r:?} has no register");
            };
            let fields = register.fields();
            let key: Vec<&str> = register
                .key_indices()
                .iter()
                .filter_map(|&i| fields.get(i).map(|f| f.name))
                .collect();
            match r.key_field() {
                Some(k) => assert_eq!(key, vec![k], "{r:?}"),
                None => assert_eq!(key, r.key_fields(), "{r:?}"),
            }
        }
    }

    #[test]
    fn subject_records_have_keys() {
        for r in RecordType::SUBJECTS {
            if let Some(k) = r.key_field() {
                assert!(r.field(k).is_some_and(|f| f.required), "{r:?}");
            }
        }
    }
}
