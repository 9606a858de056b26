//! An organisation's own policy, from its document to a pack: the document is read and split
//! into clauses (`steward-document`), what it does not say about itself is asked of the person
//! importing it, and the pack's files — every clause guidance until mapped — are stored in the
//! database (audited), so that every server sharing it sees the same packs.

use chrono::NaiveDate;
use steward_document::{DocumentError, Split};
use steward_policy::skeleton::{Skeleton, SkeletonClause};
use steward_policy::{Pack, PackError};
use steward_store::PackDocument;
use thiserror::Error;

use crate::authority::POLICY_OWNERS;
use crate::{Result, Stamp, Steward};

/// Why a document did not become a pack. Nothing was stored.
#[derive(Debug, Error)]
pub enum PolicyImportError {
    #[error("{name}: {source}")]
    Document { name: String, source: DocumentError },
    #[error("{name}: no clauses were found in the document")]
    Empty { name: String },
    #[error("the document does not state {}; give {}", .missing.iter().map(|m| m.0).collect::<Vec<_>>().join(", "), .missing.iter().map(|m| m.1).collect::<Vec<_>>().join(", "))]
    Missing {
        /// Each thing missing: what it is, and the field or flag that gives it.
        missing: Vec<(&'static str, &'static str)>,
    },
    #[error(
        "{id:?} is not a pack id: use lower-case letters, digits, `-` and `.`, e.g. our-charity-it-1.0"
    )]
    BadId { id: String },
    #[error("the pack id {id} is already taken by {by}; give another id or a new version")]
    IdTaken { id: String, by: String },
    #[error("the pack made from the document does not load: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<PackError>),
    #[error("{id} is not one of the organisation's own packs; only those are mapped here")]
    NotOwn { id: String },
    #[error(transparent)]
    Map(steward_policy::library::MapError),
}

/// What the person importing a document says of it: each given value wins over what the
/// document states.
#[derive(Debug, Clone, Default)]
pub struct PolicyAnswers {
    pub id: Option<String>,
    pub title: Option<String>,
    pub version: Option<String>,
    pub organisation: Option<String>,
    pub owner: Option<String>,
    pub approver: Option<String>,
    pub approved_on: Option<NaiveDate>,
}

/// A document read and split, with the pack it would make.
#[derive(Debug, Clone)]
pub struct ImportedPolicy {
    pub split: Split,
    pub skeleton: Skeleton,
}

impl ImportedPolicy {
    pub fn pack_toml(&self) -> String {
        self.skeleton.pack_toml()
    }

    pub fn clauses_toml(&self) -> String {
        self.skeleton.clauses_toml()
    }
}

/// Reads and splits document `name`; what would be asked is not asked yet.
pub fn read_policy(name: &str, bytes: &[u8]) -> Result<Split, PolicyImportError> {
    let split =
        steward_document::import(name, bytes).map_err(|source| PolicyImportError::Document {
            name: name.to_owned(),
            source,
        })?;
    if split.clauses.is_empty() {
        return Err(PolicyImportError::Empty {
            name: name.to_owned(),
        });
    }
    Ok(split)
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `Our Charity — IT Policy`, version `2.1` → `our-charity-it-policy-2.1`.
pub fn pack_id_for(title: &str, version: &str) -> String {
    let mut id = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
    {
        if !id.is_empty() {
            id.push('-');
        }
        id.push_str(&word.to_ascii_lowercase());
    }
    let version: String = version
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect::<String>()
        .to_ascii_lowercase();
    if !version.is_empty() {
        id.push('-');
        id.push_str(version.trim_matches('.'));
    }
    id
}

/// Whether `id` is a well-formed pack id: lower-case letters, digits, `-` and `.`.
pub fn is_pack_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 100
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// The pack a split document makes with `answers`, or what must still be asked.
pub fn skeleton(
    name: &str,
    split: Split,
    answers: &PolicyAnswers,
) -> Result<ImportedPolicy, PolicyImportError> {
    let meta = &split.metadata;
    let title = given(&answers.title).or_else(|| meta.title.clone());
    let version = given(&answers.version).or_else(|| meta.version.clone());
    let organisation = given(&answers.organisation);
    let owner = given(&answers.owner).or_else(|| meta.owner.clone());
    let approver = given(&answers.approver).or_else(|| meta.approver.clone());
    let approved_on = answers.approved_on.or(meta.approved_on);
    let mut missing = Vec::new();
    if title.is_none() {
        missing.push(("its title", "--title"));
    }
    if version.is_none() {
        missing.push(("its version", "--version"));
    }
    if organisation.is_none() {
        missing.push(("the organisation's name", "--organisation"));
    }
    if owner.is_none() {
        missing.push(("who owns it", "--owner"));
    }
    if approver.is_none() {
        missing.push(("who approved it", "--approver"));
    }
    if approved_on.is_none() {
        missing.push(("the date it was approved", "--approved-on"));
    }
    let (
        Some(title),
        Some(version),
        Some(organisation),
        Some(owner),
        Some(approver),
        Some(approved_on),
    ) = (title, version, organisation, owner, approver, approved_on)
    else {
        return Err(PolicyImportError::Missing { missing });
    };
    let id = given(&answers.id).unwrap_or_else(|| pack_id_for(&title, &version));
    if !is_pack_id(&id) {
        return Err(PolicyImportError::BadId { id });
    }
    let mut assumed = Vec::new();
    let stated = |answer: &Option<String>, field: &'static str, what: &str| {
        given(answer).map(|_| {
            (
                field.to_owned(),
                format!("the document does not state {what}; given when it was imported"),
            )
        })
    };
    if meta.version.is_none() {
        assumed.extend(stated(&answers.version, "version", "a version"));
    }
    if meta.owner.is_none() {
        assumed.extend(stated(&answers.owner, "owner", "an owner"));
    }
    if meta.approver.is_none() {
        assumed.extend(stated(&answers.approver, "approver", "who approved it"));
    }
    if meta.approved_on.is_none() {
        assumed.push((
            "approved_on".to_owned(),
            "the document does not state when it was approved; given when it was imported"
                .to_owned(),
        ));
    }
    let summary = (!split.preamble.is_empty()).then(|| split.preamble.join("\n\n"));
    let skeleton = Skeleton {
        id,
        title,
        organisation,
        version,
        owner,
        approver,
        approved_on,
        implemented_on: meta.implemented_on,
        amended_on: meta.amended_on,
        next_review: meta.next_review,
        next_review_note: meta.next_review_note.clone(),
        source: Some(name.to_owned()),
        summary,
        assumed,
        sections: split.sections.clone(),
        clauses: split
            .clauses
            .iter()
            .map(|c| SkeletonClause {
                id: c.id.clone(),
                text: c.text.clone(),
                heading: c.heading.clone(),
            })
            .collect(),
    };
    // The files are checked as the loader will read them, before anything is kept.
    let (pack_toml, clauses_toml) = (skeleton.pack_toml(), skeleton.clauses_toml());
    steward_policy::parse_pack(&pack_toml, &clauses_toml).map_err(PolicyImportError::Invalid)?;
    Ok(ImportedPolicy { split, skeleton })
}

impl Steward {
    /// The files of the organisation's own pack `id`, or that it is not one.
    pub fn own_pack_file(&self, id: &str) -> Result<PackDocument> {
        Ok(self
            .store()
            .pack_documents()?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| PolicyImportError::NotOwn { id: id.to_owned() })?)
    }

    /// Refuses `id` for a new pack when it is malformed, or taken by a pack among `known`
    /// (built in, from folders) or by one of the organisation's own.
    fn ensure_id_free(&self, id: &str, known: &[Pack]) -> Result<()> {
        if !is_pack_id(id) {
            return Err(PolicyImportError::BadId { id: id.to_owned() }.into());
        }
        let by = if known.iter().any(|p| p.id == id) {
            "a pack this server already has"
        } else if self.store().pack_documents()?.iter().any(|d| d.id == id) {
            "one of the organisation's own packs"
        } else {
            return Ok(());
        };
        Err(PolicyImportError::IdTaken {
            id: id.to_owned(),
            by: by.to_owned(),
        }
        .into())
    }

    /// Imports document `name` as one of the organisation's own packs (audited): the
    /// governance team's and the administrator's to do. `known` are the packs the server has
    /// besides (built in, or from folders), whose ids a new pack may not take.
    pub fn import_policy(
        &self,
        stamp: &Stamp,
        name: &str,
        bytes: &[u8],
        answers: &PolicyAnswers,
        known: &[Pack],
    ) -> Result<ImportedPolicy> {
        stamp.require(POLICY_OWNERS, "importing the organisation's policy")?;
        let split = read_policy(name, bytes)?;
        let imported = skeleton(name, split, answers)?;
        let id = imported.skeleton.id.clone();
        self.ensure_id_free(&id, known)?;
        self.store().save_pack_document(&PackDocument {
            id,
            pack_toml: imported.pack_toml(),
            clauses_toml: imported.clauses_toml(),
            source_name: Some(name.to_owned()),
            saved_at: stamp.at,
            saved_by: stamp.actor.clone(),
        })?;
        Ok(imported)
    }

    /// The organisation's own pack `id`, loaded; `None` when it has none of that id, or its
    /// files no longer load (as [`Steward::own_packs`] leaves such a pack out).
    pub fn own_pack(&self, id: &str) -> Result<Option<Pack>> {
        let Some(files) = self
            .store()
            .pack_documents()?
            .into_iter()
            .find(|d| d.id == id)
        else {
            return Ok(None);
        };
        Ok(loaded(&files))
    }

    /// The organisation's own packs, loaded; one whose files no longer load is left out, with a
    /// warning in the log.
    pub fn own_packs(&self) -> Result<Vec<Pack>> {
        Ok(self
            .store()
            .pack_documents()?
            .iter()
            .filter_map(loaded)
            .collect())
    }

    /// `others` (built in, from folders) and the organisation's own packs, an own pack left out
    /// where its id is already taken.
    pub fn with_own_packs(&self, others: &[Pack]) -> Result<Vec<Pack>> {
        let mut all = others.to_vec();
        for pack in self.own_packs()? {
            if !all.iter().any(|p| p.id == pack.id) {
                all.push(pack);
            }
        }
        Ok(all)
    }
}

/// What mapping a clause to a library control would do, or did.
#[derive(Debug, Clone)]
pub struct MappedClause {
    /// The pack after the mapping, loaded.
    pub pack: Pack,
    /// The id the check has in the pack.
    pub control: String,
    /// How many findings it raises on today's estate (each failing subject once).
    pub findings: usize,
}

/// A mapping to preview: which clause of which own pack, to which library control, with what
/// choices. Kept as a preview job's arguments.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MappingPreview {
    pub pack: String,
    pub clause: String,
    pub control: String,
    pub choices: steward_policy::library::MapChoices,
}

/// A clause's mapping made but not yet kept: the pack's new files, loaded.
struct Mapping {
    files: PackDocument,
    pack_toml: String,
    clauses_toml: String,
    pack: Pack,
    control: String,
}

impl Steward {
    /// Maps clause `clause` of the organisation's own pack `pack` to library control
    /// `control` with `choices`: with `save`, kept (audited as an update of the pack's files);
    /// without, only previewed. Either way, how many findings it raises on today's estate,
    /// counted here: a front end that must not wait saves with [`Steward::save_mapping`] and
    /// counts with a preview job ([`Steward::enqueue_mapping_preview`]).
    pub fn map_clause(
        &self,
        stamp: &Stamp,
        pack: &str,
        clause: &str,
        control: &str,
        choices: &steward_policy::library::MapChoices,
        save: bool,
    ) -> Result<MappedClause> {
        let mapping = self.mapping(stamp, pack, clause, control, choices)?;
        let findings = self.findings_of_control(&mapping.pack, &mapping.control, stamp)?;
        if save {
            self.keep_mapping(stamp, &mapping)?;
        }
        Ok(MappedClause {
            pack: mapping.pack,
            control: mapping.control,
            findings,
        })
    }

    /// Maps and keeps clause `clause` as [`Steward::map_clause`] does, without counting its
    /// findings (the check run the change queues does): the id the check has in the pack.
    pub fn save_mapping(
        &self,
        stamp: &Stamp,
        pack: &str,
        clause: &str,
        control: &str,
        choices: &steward_policy::library::MapChoices,
    ) -> Result<String> {
        let mapping = self.mapping(stamp, pack, clause, control, choices)?;
        self.keep_mapping(stamp, &mapping)?;
        Ok(mapping.control)
    }

    /// Queues the count of what a mapping would find on today's estate, which can take
    /// seconds on a large one; the mapping itself is checked now, so a mistake is answered at
    /// once and no job is queued for it. The job's id.
    pub fn enqueue_mapping_preview(&self, stamp: &Stamp, preview: &MappingPreview) -> Result<i64> {
        self.mapping(
            stamp,
            &preview.pack,
            &preview.clause,
            &preview.control,
            &preview.choices,
        )?;
        let arguments = serde_json::to_string(preview)
            .map_err(|e| crate::ServiceError::Checks(format!("the preview's arguments: {e}")))?;
        let (id, _) = self.store().enqueue_job(
            &steward_store::NewJob {
                kind: crate::JobKind::Preview.as_str().to_owned(),
                arguments,
                requested_by: stamp.actor.clone(),
                requester_person: stamp.authority.person_id.clone(),
                dedupe: None,
                created_at: stamp.at,
                total: 2,
            },
            &[],
        )?;
        Ok(id)
    }

    /// The mapping `choices` make, checked as the loader checks a pack, or why not.
    fn mapping(
        &self,
        stamp: &Stamp,
        pack: &str,
        clause: &str,
        control: &str,
        choices: &steward_policy::library::MapChoices,
    ) -> Result<Mapping> {
        stamp.require(
            crate::authority::IT_AND_GOVERNANCE,
            "mapping the organisation's policy",
        )?;
        let library = steward_policy::library::library().map_err(PolicyImportError::Invalid)?;
        let files = self.own_pack_file(pack)?;
        let (pack_toml, clauses_toml) = steward_policy::library::map_clause(
            library,
            &files.pack_toml,
            &files.clauses_toml,
            clause,
            control,
            choices,
        )
        .map_err(PolicyImportError::Map)?;
        let mapped = steward_policy::parse_pack(&pack_toml, &clauses_toml)
            .map_err(PolicyImportError::Invalid)?;
        let new_id = mapped
            .clauses
            .iter()
            .find(|c| c.id == clause)
            .and_then(|c| c.controls.last())
            .map(|c| c.id.clone())
            .unwrap_or_default();
        Ok(Mapping {
            files,
            pack_toml,
            clauses_toml,
            pack: mapped,
            control: new_id,
        })
    }

    fn keep_mapping(&self, stamp: &Stamp, mapping: &Mapping) -> Result<()> {
        self.store().save_pack_document(&PackDocument {
            id: mapping.files.id.clone(),
            pack_toml: mapping.pack_toml.clone(),
            clauses_toml: mapping.clauses_toml.clone(),
            source_name: mapping.files.source_name.clone(),
            saved_at: stamp.at,
            saved_by: stamp.actor.clone(),
        })?;
        Ok(())
    }

    /// How many subjects control `control` of `pack` fails on today's estate.
    fn findings_of_control(&self, pack: &Pack, control: &str, stamp: &Stamp) -> Result<usize> {
        let params = crate::checks::effective_params(pack, &steward_policy::Overrides::default())?;
        let engine = steward_engine::Engine::only(pack, control, params).map_err(|errors| {
            crate::ServiceError::Checks(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let (data, time_zone) = self.estate_data_reading(engine.reads())?;
        let findings = engine.evaluate(&data, crate::checks::at(&time_zone, stamp.at));
        Ok(findings.len())
    }
}

impl Steward {
    /// Makes a copy of pack `from` (its files, as built into the binary) one of the
    /// organisation's own, as `new_id` (audited as an import), so that its clauses can be mapped
    /// and its details changed on screen; `known` are the packs whose ids it may not take.
    pub fn copy_pack(
        &self,
        stamp: &Stamp,
        from: &steward_policy::BuiltinPack,
        new_id: &str,
        known: &[Pack],
    ) -> Result<Pack> {
        use steward_policy::skeleton::{literal, rename_mentions, set_meta};
        stamp.require(POLICY_OWNERS, "copying a policy")?;
        self.ensure_id_free(new_id, known)?;
        let pack_toml = set_meta(from.pack_toml, "id", Some(&literal(new_id)));
        let (clauses_toml, _) = rename_mentions(from.clauses_toml, from.id, new_id);
        let pack = steward_policy::parse_pack(&pack_toml, &clauses_toml)
            .map_err(PolicyImportError::Invalid)?;
        self.store().save_pack_document(&PackDocument {
            id: new_id.to_owned(),
            pack_toml,
            clauses_toml,
            source_name: Some(format!("a copy of {}", from.id)),
            saved_at: stamp.at,
            saved_by: stamp.actor.clone(),
        })?;
        Ok(pack)
    }
}

/// Who owns and approved one of the organisation's own packs, and when it is next reviewed.
#[derive(Debug, Clone, Default)]
pub struct PackDetails {
    pub owner: String,
    pub approver: String,
    pub approved_on: NaiveDate,
    pub next_review: Option<NaiveDate>,
}

impl Steward {
    /// Changes the owner, approver, approval date and review date of one of the organisation's
    /// own packs (audited as an update of its files). The review date is what the governance
    /// page's review task falls due on.
    pub fn set_pack_details(
        &self,
        stamp: &Stamp,
        pack: &str,
        details: &PackDetails,
    ) -> Result<bool> {
        use steward_policy::skeleton::{literal, set_meta};
        stamp.require(POLICY_OWNERS, "changing the organisation's policy")?;
        let files = self.own_pack_file(pack)?;
        let refuse = |what: &str| crate::ServiceError::Parameter {
            name: what.to_owned(),
            problem: "is required".to_owned(),
        };
        if details.owner.trim().is_empty() {
            return Err(refuse("owner"));
        }
        if details.approver.trim().is_empty() {
            return Err(refuse("approver"));
        }
        let mut pack_toml = set_meta(
            &files.pack_toml,
            "owner",
            Some(&literal(details.owner.trim())),
        );
        pack_toml = set_meta(
            &pack_toml,
            "approver",
            Some(&literal(details.approver.trim())),
        );
        pack_toml = set_meta(
            &pack_toml,
            "approved_on",
            Some(&details.approved_on.to_string()),
        );
        pack_toml = set_meta(
            &pack_toml,
            "next_review",
            details.next_review.map(|d| d.to_string()).as_deref(),
        );
        if details.next_review.is_some() {
            pack_toml = set_meta(&pack_toml, "next_review_note", None);
        }
        let version = steward_policy::parse_pack(&pack_toml, &files.clauses_toml)
            .map_err(PolicyImportError::Invalid)?
            .version;
        let changed = self.store().save_pack_document(&PackDocument {
            pack_toml,
            saved_at: stamp.at,
            saved_by: stamp.actor.clone(),
            ..files
        })?;
        // The review date is the governance page's review task: kept in the policy reviews
        // register, which that task reads.
        if let Some(next_review) = details.next_review {
            let existing = self
                .list::<steward_model::PolicyReview>()?
                .into_iter()
                .find(|r| r.pack == pack && r.version == version);
            match existing {
                Some(review) if review.next_review == next_review => {}
                Some(review) => {
                    self.update(
                        stamp,
                        &steward_model::PolicyReview {
                            next_review,
                            ..review
                        },
                    )?;
                }
                None => {
                    self.create(
                        stamp,
                        &steward_model::PolicyReview {
                            pack: pack.to_owned(),
                            version,
                            reviewed_on: None,
                            next_review,
                            material: false,
                        },
                    )?;
                }
            }
        }
        Ok(changed)
    }
}

/// One of the organisation's own packs, loaded; one whose files no longer load is left out,
/// with a warning in the log.
fn loaded(document: &PackDocument) -> Option<Pack> {
    match steward_policy::parse_pack(&document.pack_toml, &document.clauses_toml) {
        Ok(pack) => Some(pack),
        Err(errors) => {
            tracing::warn!(
                pack = %document.id,
                problems = errors.len(),
                "one of the organisation's own packs does not load; it is left out"
            );
            None
        }
    }
}
