//! The typed form of a loaded pack. Everything here has been validated: ids are unique, every
//! enumeration holds a known word, every reference resolves and every rule parses.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use chrono::NaiveDate;
use steward_model::{
    AccountKind, AccountStatus, AssetKind, AssetStatus, IncidentState, IncidentType, Ownership,
    PersonStatus, RequestState, RequestType,
};

use crate::error::Position;
use crate::schema::RecordType;

/// Declares a closed list of words as an enum with `ALL`, `as_str` and parsing.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($word),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }

            pub fn parse(word: &str) -> Option<Self> {
                match word { $($word => Some(Self::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// How much a finding matters.
    Severity { Info = "info", Low = "low", Medium = "medium", High = "high", Critical = "critical" }
}

words! {
    /// Who must act on a finding, task or request, and to whom it escalates.
    WhoActs {
        /// The person the subject belongs to (the holder of an asset, the owner of an account).
        Person = "person",
        /// That person's line manager.
        LineManager = "line_manager",
        ItTeam = "it_team",
        GovernanceTeam = "governance_team",
        /// The information asset owner.
        Iao = "iao",
    }
}

words! {
    /// Who is told when a workflow starts (an incident is reported, a request raised).
    Role {
        Person = "person",
        LineManager = "line_manager",
        ItTeam = "it_team",
        ServiceDesk = "service_desk",
        GovernanceTeam = "governance_team",
        Iao = "iao",
        Siro = "siro",
        Hr = "hr",
        Police = "police",
        /// A senior member of staff or senior manager, where a clause asks for one's authority.
        Senior = "senior",
    }
}

impl Role {
    /// The part this role plays in agreeing to a request, where it can play one: the person
    /// asking, the police and the SIRO (no role the roles register grants) approve nothing.
    pub fn approver_role(self) -> Option<steward_model::ApproverRole> {
        use steward_model::ApproverRole as A;
        match self {
            Role::LineManager => Some(A::LineManager),
            Role::ItTeam | Role::ServiceDesk => Some(A::It),
            Role::GovernanceTeam => Some(A::Governance),
            Role::Iao => Some(A::Iao),
            Role::Hr => Some(A::Hr),
            Role::Senior => Some(A::Senior),
            Role::Person | Role::Siro | Role::Police => None,
        }
    }
}

words! {
    /// The kind of control, as written in `kind = "..."`.
    KindName { Check = "check", Workflow = "workflow", Attestation = "attestation", RecurringTask = "recurring_task", Guidance = "guidance" }
}

words! {
    /// A service request or procedure a workflow control starts.
    Process {
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
    /// An incident a workflow control says how to report.
    Incident {
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
    /// How often a recurring task falls due.
    Cadence { Weekly = "weekly", Monthly = "monthly", Quarterly = "quarterly", Annually = "annually" }
}

words! {
    /// What a piece of guidance is.
    GuidanceKind {
        /// A section or list heading, or a list's lead-in sentence.
        Heading = "heading",
        /// A definition of a term the policy uses.
        Definition = "definition",
        /// A statement of intent or principle that asks nothing specific of anyone.
        Intent = "intent",
        /// A footnote.
        Footnote = "footnote",
        /// Information or advice to be shown where it applies.
        Information = "information",
    }
}

words! {
    /// Statuses of an International Travel request (the model has no enumeration for them yet).
    TravelStatus { Requested = "requested", Approved = "approved", Rejected = "rejected", Cancelled = "cancelled" }
}

words! {
    /// The type of a parameter.
    ParamType { Int = "int", Double = "double", Bool = "bool", String = "string", Duration = "duration", List = "list" }
}

/// A parameter's value: the rules crate's, so a pack's values reach a rule without conversion.
pub use steward_rules::ParamValue;

/// Where something was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub position: Position,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.position)
    }
}

/// A loaded, validated policy pack.
#[derive(Debug, Clone, PartialEq)]
pub struct Pack {
    /// A stable id, e.g. `cafcass-it-5.0`: findings and acceptances name it.
    pub id: String,
    pub title: String,
    pub organisation: String,
    pub version: String,
    pub owner: String,
    pub approver: String,
    pub approved_on: NaiveDate,
    pub implemented_on: Option<NaiveDate>,
    pub amended_on: Option<NaiveDate>,
    /// When the document is next due for review; after it, the review is overdue.
    pub next_review: Option<NaiveDate>,
    /// The document's own words for the review date, when they say more than a date.
    pub next_review_note: Option<String>,
    /// The source document's file name.
    pub source: Option<String>,
    pub summary: Option<String>,
    pub parameters: BTreeMap<String, Parameter>,
    pub staff_groups: BTreeMap<String, StaffGroup>,
    /// The document's section headings, by section number (`[sections]`: `"2" = "Security
    /// procedures"`); a clause's section is [`section_of`] its id.
    pub sections: BTreeMap<String, String>,
    /// In document order.
    pub clauses: Vec<Clause>,
}

impl Pack {
    /// The heading of the section a clause (or a section number) falls under, where the pack
    /// names it.
    pub fn section_title(&self, clause: &str) -> Option<&str> {
        self.sections.get(section_of(clause)).map(String::as_str)
    }
}

/// The section a clause is numbered under: its id before the first point, bracket or dash
/// (`2.6(w)` and `2-1` are in `2`; `A1.3` in `A1`). Dashboards and findings' section filter
/// group by it.
pub fn section_of(clause: &str) -> &str {
    clause.split(['.', '(', '-']).next().unwrap_or_default()
}

/// A named value rules read as `params.NAME`, which an organisation may override.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub ty: ParamType,
    pub value: ParamValue,
    pub unit: Option<String>,
    pub description: String,
    /// Set where the document does not state the value: why the pack chose it. Shown as
    /// "assumed — set by your organisation" until the organisation overrides it.
    pub assumed: Option<String>,
    pub location: Location,
}

/// One entry of a staff group's standard bundle: `count` devices of `kind`, or of one of the
/// `alternatives` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAllowance {
    pub kind: AssetKind,
    pub count: u32,
    pub alternatives: Vec<AssetKind>,
}

/// A staff group and its standard allocation.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffGroup {
    /// The id people's `staff_group` holds.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The clause (e.g. an allocation-table row) that defines the group's bundle.
    pub clause: Option<String>,
    /// The standard bundle of organisation devices.
    pub devices: Vec<DeviceAllowance>,
    /// Whether the organisation provides hardware at all.
    pub hardware: bool,
    /// Whether members may use their own devices (bring your own device).
    pub byod: bool,
    /// Whether members have access to a portal only: no hardware, no other systems.
    pub portal_only: bool,
    /// Whether every account must use MFA, whether or not other clauses ask for it.
    pub mfa_required: bool,
    /// Whether equipment and accounts are decided case by case rather than by a bundle.
    pub case_by_case: bool,
    pub location: Location,
}

/// A clause of the source document with the controls that carry it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The document's own numbering, as in the clause inventory: `2.6(w)`, `3.2-T4`, `fn1`.
    pub id: String,
    /// The clause's full text.
    pub text: String,
    /// The headings it sits under in the document, outermost first (empty where the pack does
    /// not say).
    pub heading: Vec<String>,
    pub controls: Vec<Control>,
    pub location: Location,
}

/// One thing the pack does about a clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// Unique in the pack; findings name it.
    pub id: String,
    /// The clause it belongs to.
    pub clause: String,
    pub kind: ControlKind,
    pub severity: Severity,
    /// Who must act (for a recurring task, its owner).
    pub who_acts: WhoActs,
    /// Days a finding or task may stay open before it counts against anyone.
    pub grace_days: u32,
    /// Whom it escalates to, and when, counted in days after the grace period.
    pub escalation: Vec<Escalation>,
    /// What to do about it; empty for guidance.
    pub remediation: String,
    /// Other clauses this control also carries out.
    pub see_also: Vec<String>,
    pub location: Location,
}

/// A step of escalation: after `after_days`, tell `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    pub after_days: u32,
    pub to: WhoActs,
}

/// The kind of control and the fields only that kind has.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlKind {
    Check(Check),
    Workflow(Workflow),
    Attestation(Attestation),
    RecurringTask(RecurringTask),
    Guidance(Guidance),
}

impl ControlKind {
    pub fn name(&self) -> KindName {
        match self {
            ControlKind::Check(_) => KindName::Check,
            ControlKind::Workflow(_) => KindName::Workflow,
            ControlKind::Attestation(_) => KindName::Attestation,
            ControlKind::RecurringTask(_) => KindName::RecurringTask,
            ControlKind::Guidance(_) => KindName::Guidance,
        }
    }
}

/// A rule evaluated against every subject in scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub subject: RecordType,
    pub scope: Scope,
    pub rule: Rule,
    /// The finding's text, with `{path}` placeholders (`{asset.tag}`).
    pub message: String,
    /// The same finding said to the person it concerns, in the second person ("Your laptop
    /// {asset.tag} …"), with the same placeholders; `None` where the pack gives none.
    pub message_you: Option<String>,
    /// Paths of the data a finding shows (`asset.last_seen`).
    pub evidence: Vec<String>,
}

/// What starts a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Process(Process),
    Incident(Incident),
}

/// A procedure or incident report the clause asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub trigger: Trigger,
    pub subject: Option<RecordType>,
    pub scope: Scope,
    /// For incidents: how soon it must be reported. For processes: how soon it must be done.
    pub within: Option<Within>,
    /// Who is told.
    pub notify: Vec<Role>,
    /// Who must approve, for a process that needs approval: every one of them (empty: nobody).
    pub approvers: Vec<Role>,
}

/// A deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Within {
    Immediately,
    Period { amount: Amount, unit: PeriodUnit },
}

/// The size of a deadline: a number, or a parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amount {
    Fixed(u32),
    Param(String),
}

words! {
    /// The unit of a deadline.
    PeriodUnit { Hours = "hours", Days = "days", WorkingDays = "working days" }
}

impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Within::Immediately => f.write_str("immediately"),
            Within::Period {
                amount: Amount::Fixed(n),
                unit,
            } => write!(f, "{n} {unit}"),
            Within::Period {
                amount: Amount::Param(p),
                unit,
            } => write!(f, "params.{p} {unit}"),
        }
    }
}

/// A statement people acknowledge.
#[derive(Debug, Clone, PartialEq)]
pub struct Attestation {
    /// Who must acknowledge it (people in scope); everyone when empty.
    pub audience: Scope,
    /// Whether a material change to the clause asks everyone to acknowledge it again.
    pub reaccept_on_material_change: bool,
    /// What people acknowledge, when shorter than the clause.
    pub statement: Option<String>,
}

/// A task that falls due on a cadence and is closed with evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurringTask {
    pub cadence: Cadence,
    /// What closes the task.
    pub evidence: String,
    pub owner: WhoActs,
}

/// Text shown where it applies; asks nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Guidance {
    pub applies_to: GuidanceKind,
    pub subject: Option<RecordType>,
    pub scope: Scope,
}

/// Which subjects a control applies to. Every list that is not empty must match; an empty scope
/// matches every subject. For subjects other than people, `staff_groups` and `person_statuses`
/// match the related person (an asset's holder, an account's owner, a usage or sighting's asset
/// holder, a travel request's traveller, a task's or information asset's owner, a removable
/// medium's holder, the person a request is for, whoever reported an incident).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub staff_groups: Vec<String>,
    pub person_statuses: Vec<PersonStatus>,
    pub asset_kinds: Vec<AssetKind>,
    pub ownership: Vec<Ownership>,
    pub asset_statuses: Vec<AssetStatus>,
    pub account_kinds: Vec<AccountKind>,
    pub account_statuses: Vec<AccountStatus>,
    pub travel_statuses: Vec<TravelStatus>,
    /// Tasks whose `clause` is one of these texts (`cafcass-ia-4.3 3.9-6`: a pack and a clause).
    pub task_clauses: Vec<String>,
    /// Policy reviews of these packs (by pack id).
    pub review_packs: Vec<String>,
    pub request_kinds: Vec<RequestType>,
    pub request_states: Vec<RequestState>,
    pub incident_kinds: Vec<IncidentType>,
    pub incident_states: Vec<IncidentState>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self == &Scope::default()
    }

    /// The lists that are not empty, by their key in `clauses.toml`, as text: for showing a
    /// scope without knowing every key.
    pub fn parts(&self) -> Vec<(&'static str, Vec<String>)> {
        fn words<T: fmt::Display>(v: &[T]) -> Vec<String> {
            v.iter().map(ToString::to_string).collect()
        }
        [
            ("staff_groups", self.staff_groups.clone()),
            ("person_statuses", words(&self.person_statuses)),
            ("asset_kinds", words(&self.asset_kinds)),
            ("ownership", words(&self.ownership)),
            ("asset_statuses", words(&self.asset_statuses)),
            ("account_kinds", words(&self.account_kinds)),
            ("account_statuses", words(&self.account_statuses)),
            ("travel_statuses", words(&self.travel_statuses)),
            ("task_clauses", self.task_clauses.clone()),
            ("review_packs", self.review_packs.clone()),
            ("request_kinds", words(&self.request_kinds)),
            ("request_states", words(&self.request_states)),
            ("incident_kinds", words(&self.incident_kinds)),
            ("incident_states", words(&self.incident_states)),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }
}

/// A check's rule, with where it was written so that an offset in the rule maps to the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The CEL text.
    pub text: String,
    /// The file it was written in.
    pub file: String,
    /// The byte range of the TOML string (quotes included) in that file.
    pub span: Range<usize>,
    /// The file position of every byte of `text`, and one past its end.
    pub(crate) positions: Vec<Position>,
}

impl Rule {
    /// The file line and column of byte `offset` of the rule text (clamped to its end).
    /// A rule the loader writes itself (`derived`), placed at the control it comes from.
    pub(crate) fn derived(text: String, at: &Location) -> Rule {
        Rule {
            positions: vec![at.position; text.len() + 1],
            text,
            file: at.file.clone(),
            span: 0..0,
        }
    }

    pub fn position(&self, offset: usize) -> Position {
        let i = offset.min(self.positions.len().saturating_sub(1));
        self.positions
            .get(i)
            .copied()
            .unwrap_or(Position { line: 1, column: 1 })
    }

    /// The byte offset in the rule of a 1-based line and column (in characters) within the rule,
    /// as the CEL parser reports them.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        offset_of(&self.text, line, column)
    }
}

pub(crate) fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return offset
                + l.char_indices()
                    .nth(column.saturating_sub(1))
                    .map_or(l.len(), |(b, _)| b);
        }
        offset += l.len();
    }
    text.len()
}

impl Control {
    /// The check's rule, if this is a check.
    pub fn rule(&self) -> Option<&Rule> {
        match &self.kind {
            ControlKind::Check(c) => Some(&c.rule),
            _ => None,
        }
    }

    /// The byte range in its file of the rule's TOML string, if this is a check.
    pub fn rule_span(&self) -> Option<Range<usize>> {
        self.rule().map(|r| r.span.clone())
    }

    /// The file (line, column) of byte `offset` of the rule, if this is a check.
    pub fn rule_position(&self, offset: usize) -> Option<(usize, usize)> {
        self.rule().map(|r| {
            let p = r.position(offset);
            (p.line, p.column)
        })
    }
}

impl Pack {
    pub fn clause(&self, id: &str) -> Option<&Clause> {
        self.clauses.iter().find(|c| c.id == id)
    }

    /// Every control, in document order.
    pub fn controls(&self) -> impl Iterator<Item = &Control> {
        self.clauses.iter().flat_map(|c| c.controls.iter())
    }

    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls().find(|c| c.id == id)
    }

    /// How many controls of each kind the pack has.
    pub fn count_by_kind(&self) -> BTreeMap<KindName, usize> {
        let mut counts = BTreeMap::new();
        for c in self.controls() {
            *counts.entry(c.kind.name()).or_insert(0) += 1;
        }
        counts
    }
}
