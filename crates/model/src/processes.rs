//! The records the policies' processes keep: the working-day calendar, who holds which role,
//! service requests and their approvals, incidents, the people to be told, charges, and the
//! governance registers (removable media, retention and destruction, information assets and their
//! access reviews, archives, recurring tasks, courses, policy reviews).

use chrono::{DateTime, NaiveDate, Utc};

use std::borrow::Cow;

use crate::ModelError;
use crate::field::{DETAILS_TEXT, Field, FieldType, FieldValue, LONG_TEXT, Pence, words};
use crate::records::record;
use crate::register::{Record, Register, Row, join_key, position};

words! {
    /// A role someone holds beyond being staff; line managers are known from the people register.
    Role {
        It = "it",
        Governance = "governance",
        Hr = "hr",
        InformationAssetOwner = "iao",
        Senior = "senior",
        Auditor = "auditor",
        Administrator = "administrator",
    }
}

words! {
    /// The service requests the policies describe.
    RequestType {
        NewStarter = "new-starter",
        UserAccountDelete = "user-account-delete",
        UserAccountSuspend = "user-account-suspend",
        UserAccountReturnToWork = "user-account-return-to-work",
        InternationalTravel = "international-travel",
        ParticularNeeds = "particular-needs",
        AdditionalEquipment = "additional-equipment",
        FaultReplacement = "fault-replacement",
        EquipmentReturn = "equipment-return",
        SystemAccess = "system-access",
        RemovableMedia = "removable-media",
        PacCode = "pac-code",
        AccessToAnotherUser = "access-to-another-user",
        TabletBooking = "tablet-booking",
    }
}

words! {
    /// Where a request stands.
    RequestState {
        Open = "open",
        Approved = "approved",
        Rejected = "rejected",
        Fulfilled = "fulfilled",
        Cancelled = "cancelled",
    }
}

words! {
    /// Who must agree to a request, by the part they play (`iao`: an information asset owner).
    ApproverRole {
        LineManager = "line-manager",
        It = "it",
        Hr = "hr",
        Senior = "senior",
        Governance = "governance",
        Iao = "iao",
    }
}

words! {
    Decision { Approved = "approved", Rejected = "rejected" }
}

words! {
    /// The incidents the policies ask people to report.
    IncidentType {
        Loss = "loss",
        Theft = "theft",
        Damage = "damage",
        PolicyBreach = "policy-breach",
        DataBreach = "data-breach",
        Phishing = "phishing",
        ThreateningCall = "threatening-call",
    }
}

words! {
    IncidentState { Reported = "reported", Investigating = "investigating", Closed = "closed" }
}

words! {
    /// The decision UK GDPR Art. 33 asks for about a personal data breach.
    IcoDecision { Notify = "notify", DoNotNotify = "do-not-notify" }
}

words! {
    /// What happens to records at the end of their retention period.
    DisposalMethod { Destroy = "destroy", Archive = "archive", Transfer = "transfer", Review = "review" }
}

record! {
    /// A bank holiday: no working day.
    BankHoliday in BankHolidays key(date) {
        date: NaiveDate => FieldType::Date;
        title: String => FieldType::Text;
        notes: Option<String> => FieldType::Text, max LONG_TEXT;
    }
}

record! {
    /// A role held by a person: who may approve, fulfil and see what.
    RoleGrant in Roles key(person_id, role) {
        person_id: String => FieldType::Id, refers People;
        role: Role => Role::TYPE;
        granted_on: Option<NaiveDate> => FieldType::Date;
    }
}

record! {
    /// A service request, from raising to fulfilment.
    Request in Requests {
        id: String => FieldType::Id,
        kind: RequestType => RequestType::TYPE;
        /// Whom the request is for: the starter, the leaver, the traveller.
        person_id: String => FieldType::Id, refers People;
        raised_by: Option<String> => FieldType::Id, refers People;
        state: RequestState => RequestState::TYPE;
        opened_at: DateTime<Utc> => FieldType::Timestamp;
        /// The working day it is due by, where the policy sets a lead time.
        due_on: Option<NaiveDate> => FieldType::Date;
        closed_at: Option<DateTime<Utc>> => FieldType::Timestamp;
        /// The request's particulars as a JSON object of text values (`{"countries":"FR;BE"}`).
        details: Option<String> => FieldType::Text, max DETAILS_TEXT;
        /// Who must agree before it is fulfilled, as the policy packs in force when it was
        /// opened named them (`line-manager;it`, `none` for nobody); empty where they named no
        /// one, so the parties Steward knows for its type do.
        approvers: Option<String> => FieldType::Text;
    }
}

record! {
    /// One party's decision on a request.
    Approval in Approvals key(request_id, role) {
        request_id: String => FieldType::Id, refers Requests;
        role: ApproverRole => ApproverRole::TYPE;
        person_id: String => FieldType::Id, refers People;
        decision: Decision => Decision::TYPE;
        decided_at: DateTime<Utc> => FieldType::Timestamp;
        note: Option<String> => FieldType::Text, max LONG_TEXT;
    }
}

record! {
    /// A reported loss, theft, breach or threat, with its clocks.
    Incident in Incidents {
        id: String => FieldType::Id,
        kind: IncidentType => IncidentType::TYPE;
        /// Who reported it.
        person_id: String => FieldType::Id, refers People;
        asset_tag: Option<String> => FieldType::Id, refers Assets;
        state: IncidentState => IncidentState::TYPE;
        occurred_at: Option<DateTime<Utc>> => FieldType::Timestamp;
        discovered_at: DateTime<Utc> => FieldType::Timestamp;
        reported_at: DateTime<Utc> => FieldType::Timestamp;
        /// When the policy's reporting window closed.
        report_by: Option<DateTime<Utc>> => FieldType::Timestamp;
        /// Reported after `report_by`.
        late: Option<bool> => FieldType::Bool;
        /// A data breach: 72 hours from awareness (UK GDPR Art. 33(1)).
        ico_notify_by: Option<DateTime<Utc>> => FieldType::Timestamp;
        facts: Option<String> => FieldType::Text, max LONG_TEXT;
        effects: Option<String> => FieldType::Text, max LONG_TEXT;
        remedial_action: Option<String> => FieldType::Text, max LONG_TEXT;
        ico_decision: Option<IcoDecision> => IcoDecision::TYPE;
        ico_reasons: Option<String> => FieldType::Text, max LONG_TEXT;
        ico_notified_at: Option<DateTime<Utc>> => FieldType::Timestamp;
        closed_at: Option<DateTime<Utc>> => FieldType::Timestamp;
        details: Option<String> => FieldType::Text, max DETAILS_TEXT;
    }
}

record! {
    /// Someone who must be told about a request or an incident, and whether they have been.
    Notification in Notifications key(about, recipient) {
        /// A request's or an incident's id.
        about: String => FieldType::Id;
        /// A person's id, or a party the policy names (`it-service-desk`, `information-governance`).
        recipient: String => FieldType::Id;
        reason: String => FieldType::Text, max LONG_TEXT;
        due_at: Option<DateTime<Utc>> => FieldType::Timestamp;
        acknowledged_at: Option<DateTime<Utc>> => FieldType::Timestamp;
        acknowledged_by: Option<String> => FieldType::Id;
        /// When the notice was handed to the mail relay (`steward mail send`); empty until then.
        emailed_at: Option<DateTime<Utc>> => FieldType::Timestamp;
    }
}

record! {
    /// A cost charged to a budget centre: unreturned or damaged equipment, an adjustment.
    Charge in Charges {
        id: String => FieldType::Id,
        request_id: Option<String> => FieldType::Id, refers Requests;
        asset_tag: Option<String> => FieldType::Id, refers Assets;
        budget_centre: Option<String> => FieldType::Id, refers BudgetCentres;
        amount_gbp: Pence => FieldType::Money;
        reason: String => FieldType::Text, max LONG_TEXT;
        charged_on: NaiveDate => FieldType::Date;
    }
}

record! {
    /// A removable medium issued for a business need, to its destruction.
    RemovableMedium in RemovableMedia {
        id: String => FieldType::Id,
        asset_tag: Option<String> => FieldType::Id, refers Assets;
        holder_id: String => FieldType::Id, refers People;
        business_need: String => FieldType::Text, max LONG_TEXT;
        encrypted: bool => FieldType::Bool;
        approved_by: String => FieldType::Id, refers People;
        case_reference: Option<String> => FieldType::Text;
        issued_on: NaiveDate => FieldType::Date;
        damaged_on: Option<NaiveDate> => FieldType::Date;
        destroyed_on: Option<NaiveDate> => FieldType::Date;
        destruction_method: Option<String> => FieldType::Text;
    }
}

record! {
    /// A line of the records retention schedule.
    RetentionRule in RetentionSchedule {
        record_class: String => FieldType::Id,
        description: String => FieldType::Text, max LONG_TEXT;
        period_months: i64 => FieldType::Int;
        /// What starts the period, such as `case closed`.
        trigger: String => FieldType::Text, max LONG_TEXT;
        disposal: DisposalMethod => DisposalMethod::TYPE;
    }
}

record! {
    /// A body of records held, under a class of the retention schedule.
    HeldRecord in Records {
        id: String => FieldType::Id,
        record_class: String => FieldType::Id, refers RetentionSchedule;
        description: String => FieldType::Text, max LONG_TEXT;
        location: Option<String> => FieldType::Text;
        /// When the retention period's trigger happened.
        trigger_on: Option<NaiveDate> => FieldType::Date;
        disposed_on: Option<NaiveDate> => FieldType::Date;
    }
}

record! {
    /// The destruction log.
    Destruction in Destructions {
        id: String => FieldType::Id,
        what: String => FieldType::Text, max LONG_TEXT;
        record_id: Option<String> => FieldType::Id, refers Records;
        medium_id: Option<String> => FieldType::Id, refers RemovableMedia;
        destroyed_on: NaiveDate => FieldType::Date;
        authorised_by: String => FieldType::Id, refers People;
        method: String => FieldType::Text;
    }
}

record! {
    /// An information asset and its owner (IAO).
    InformationAsset in InformationAssets {
        id: String => FieldType::Id,
        name: String => FieldType::Text;
        owner_id: String => FieldType::Id, refers People;
        description: Option<String> => FieldType::Text, max LONG_TEXT;
        location: Option<String> => FieldType::Text;
        review_every_months: i64 => FieldType::Int;
        last_reviewed_on: Option<NaiveDate> => FieldType::Date;
    }
}

record! {
    /// A periodic review of who has access to an information asset.
    AccessReview in AccessReviews key(asset_id, reviewed_on) {
        asset_id: String => FieldType::Id, refers InformationAssets;
        reviewed_on: NaiveDate => FieldType::Date;
        reviewed_by: String => FieldType::Id, refers People;
        outcome: String => FieldType::Text, max LONG_TEXT;
    }
}

record! {
    /// Where archived files are, and where they went.
    ArchivedFile in Archives {
        id: String => FieldType::Id,
        description: String => FieldType::Text, max LONG_TEXT;
        location: String => FieldType::Text;
        archived_on: NaiveDate => FieldType::Date;
        record_id: Option<String> => FieldType::Id, refers Records;
        transferred_to: Option<String> => FieldType::Text;
        transferred_on: Option<NaiveDate> => FieldType::Date;
    }
}

record! {
    /// A task a policy asks to be done again and again: keypad codes, key-safe checks, the
    /// building access list, the comms room.
    RecurringTask in Tasks {
        id: String => FieldType::Id,
        title: String => FieldType::Text;
        /// The pack and clause it carries out, such as `cafcass-ia-4.3 3.4`.
        clause: Option<String> => FieldType::Text;
        every_days: i64 => FieldType::Int;
        owner_id: Option<String> => FieldType::Id, refers People;
        last_done_on: Option<NaiveDate> => FieldType::Date;
        evidence: Option<String> => FieldType::Text, max LONG_TEXT;
    }
}

record! {
    /// One time a recurring task was done, with its evidence.
    TaskCompletion in TaskCompletions key(task_id, done_on) {
        task_id: String => FieldType::Id, refers Tasks;
        done_on: NaiveDate => FieldType::Date;
        done_by: String => FieldType::Id, refers People;
        evidence: String => FieldType::Text, max LONG_TEXT;
    }
}

record! {
    /// A course, and how often it must be retaken.
    Course in Courses {
        id: String => FieldType::Slug,
        title: String => FieldType::Text;
        mandatory: bool => FieldType::Bool;
        recur_months: Option<i64> => FieldType::Int;
    }
}

record! {
    /// A review of a policy, and when the next is due.
    PolicyReview in PolicyReviews key(pack, version) {
        pack: String => FieldType::Slug;
        version: String => FieldType::Id;
        reviewed_on: Option<NaiveDate> => FieldType::Date;
        next_review: NaiveDate => FieldType::Date;
        /// A material change: everyone in scope accepts this version afresh.
        material: bool => FieldType::Bool;
    }
}
