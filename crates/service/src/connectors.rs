//! Connectors, as the organisation runs them: added, changed and removed by IT or an
//! administrator (audited; the credential sealed with the server's secret key and never shown
//! again), tested, previewed and synced. A sync reads the whole source first (nothing is
//! written if any part of the listing fails), plans its changes against the registers
//! (`steward_connect::plan`), and either stops at a preview — its first sync, or one that
//! crosses a safety threshold — or commits every change in one audited transaction with the
//! connector as the actor, then remembers links, provenance and where the source was read to.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use steward_connect::plan::{Link, Plan};
use steward_connect::{Definition, Feed, Fetched, Kind, Reading};
use steward_model::{Register, Row, Value};
use steward_store::{ConnectorRow, Provenance, SourceLink};

use crate::authority::RUNS_CONNECTORS;
use crate::{FieldProblem, Result, ServiceError, Stamp, Steward};

/// How much of a plan a connector keeps for its page: the counts whole, and at most this many
/// changes of each kind and records to resolve (`connect preview` lists every one).
const KEPT_CHANGES: usize = 200;
const KEPT_UNMATCHED: usize = 2_000;

/// A connector as its page and `connect list` show it: never its credential.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorView {
    pub definition: Definition,
    pub has_secret: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_run_at: Option<DateTime<Utc>>,
    /// The last run's outcome in words.
    pub last_outcome: Option<String>,
    /// A preview waiting for a person to apply it.
    pub pending: Option<Plan>,
    /// What the last applied sync left: its counts, skipped feeds and records to resolve (no
    /// changes listed).
    pub last: Option<Plan>,
    /// When it next syncs on its own; `None` when its schedule is off.
    pub next_run: Option<DateTime<Utc>>,
}

/// How a sync ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncOutcome {
    /// Applied: the plan that was.
    Applied(Plan),
    /// Stopped at a preview, kept for a person to apply; the reasons are in `plan.hold`.
    Held(Plan),
}

impl SyncOutcome {
    pub fn plan(&self) -> &Plan {
        match self {
            SyncOutcome::Applied(p) | SyncOutcome::Held(p) => p,
        }
    }
}

/// What a sync reads of its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round<'a> {
    /// Every feed listed in full: a sync a person asks for (they expect the whole truth).
    Full,
    /// The schedule's round: every feed, Microsoft 365 users by their changes alone between full
    /// listings (`full_listing_every`); the first sync, and any after an expired delta link,
    /// list them in full.
    Scheduled,
    /// Only these feeds (the sign-in logs between rounds): such a run changes no record it did
    /// not list, marks nothing missing, and leaves the round's schedule as it was.
    Only(&'a [Feed]),
}

/// The connector that keeps a record (its `source`), and the fields of the record that its
/// kind owns (`steward_connect::plan::owned`): what a person may not change by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptBy {
    pub connector: String,
    pub kind: Kind,
    /// The fields of the record's register it owns: as its `owns` setting says, or its kind's.
    pub fields: Vec<&'static str>,
}

/// The actor a connector's changes are recorded as.
pub fn connector_actor(name: &str) -> String {
    format!("connector:{name}")
}

fn connector_error(name: &str) -> impl Fn(steward_connect::ConnectError) -> ServiceError + '_ {
    move |source| ServiceError::Connector {
        name: name.to_owned(),
        source: Box::new(source),
    }
}

fn definition_of(row: &ConnectorRow) -> Result<Definition> {
    let settings: BTreeMap<String, String> =
        serde_json::from_str(&row.settings).unwrap_or_default();
    let kind = Kind::parse(&row.kind).map_err(connector_error(&row.name))?;
    Ok(Definition {
        name: row.name.clone(),
        kind,
        settings,
    })
}

/// When a connector's schedule next brings a full sync round: its schedule after its last run
/// (or its creation); `None` when the schedule is off.
fn full_sync_at(row: &ConnectorRow, definition: &Definition) -> Option<DateTime<Utc>> {
    let every = chrono::Duration::from_std(definition.schedule().ok().flatten()?).ok()?;
    Some(row.run.last_run_at.unwrap_or(row.created_at) + every)
}

impl Steward {
    fn find_connector(&self, name: &str) -> Result<Option<ConnectorRow>> {
        Ok(self
            .store()
            .connectors()?
            .into_iter()
            .find(|c| c.name == name))
    }

    fn connector_row(&self, name: &str) -> Result<ConnectorRow> {
        self.find_connector(name)?
            .ok_or_else(|| ServiceError::NoConnector(name.to_owned()))
    }

    /// Every connector, for IT and administrators.
    pub fn connectors(&self, stamp: &Stamp) -> Result<Vec<ConnectorView>> {
        stamp.require(RUNS_CONNECTORS, "seeing connectors")?;
        self.store()
            .connectors()?
            .into_iter()
            .map(|row| {
                let definition = definition_of(&row)?;
                let next_run = full_sync_at(&row, &definition);
                Ok(ConnectorView {
                    has_secret: row.secret.is_some(),
                    created_at: row.created_at,
                    created_by: row.created_by.clone(),
                    last_run_at: row.run.last_run_at,
                    last_outcome: row.run.last_outcome.clone(),
                    pending: row
                        .run
                        .pending_plan
                        .as_deref()
                        .and_then(|p| serde_json::from_str(p).ok()),
                    last: row
                        .run
                        .last_plan
                        .as_deref()
                        .and_then(|p| serde_json::from_str(p).ok()),
                    next_run,
                    definition,
                })
            })
            .collect()
    }

    /// Adds a connector, or changes one (its settings replaced; its credential kept unless a
    /// new one is given), audited. The credential is sealed and never shown again.
    pub fn save_connector(
        &self,
        stamp: &Stamp,
        definition: &Definition,
        secret: Option<&str>,
    ) -> Result<()> {
        stamp.require(RUNS_CONNECTORS, "setting up a connector")?;
        let existing = self.find_connector(&definition.name)?;
        if let Some(e) = &existing
            && e.kind != definition.kind.name()
        {
            return Err(ServiceError::Connector {
                name: definition.name.clone(),
                source: Box::new(steward_connect::ConnectError::Setting {
                    key: "kind".into(),
                    reason: format!(
                        "the connector is a {}; remove it to change its kind",
                        e.kind
                    ),
                }),
            });
        }
        let sealed = match secret.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(self.seal_secret(&connector_actor(&definition.name), s)?),
            None => existing.as_ref().and_then(|e| e.secret.clone()),
        };
        let settings = serde_json::to_string(&definition.settings).unwrap_or_else(|_| "{}".into());
        let row = ConnectorRow {
            name: definition.name.clone(),
            kind: definition.kind.name().to_owned(),
            settings,
            secret: sealed,
            created_at: existing.as_ref().map_or(stamp.at, |e| e.created_at),
            created_by: existing
                .as_ref()
                .map_or_else(|| stamp.actor.clone(), |e| e.created_by.clone()),
            run: existing.map(|e| e.run).unwrap_or_default(),
        };
        self.store().save_connector(&stamp.actor, stamp.at, &row)?;
        Ok(())
    }

    /// Removes a connector and its links, audited. What it synced stays.
    pub fn remove_connector(&self, stamp: &Stamp, name: &str) -> Result<()> {
        stamp.require(RUNS_CONNECTORS, "removing a connector")?;
        if !self
            .store()
            .remove_connector(&stamp.actor, stamp.at, name)?
        {
            return Err(ServiceError::NoConnector(name.to_owned()));
        }
        Ok(())
    }

    fn connector_secret(&self, row: &ConnectorRow) -> Result<Option<String>> {
        row.secret
            .as_deref()
            .map(|s| self.open_secret(&connector_actor(&row.name), s))
            .transpose()
            .map_err(ServiceError::from)
    }

    /// Checks that a connector reaches its source; what it found, in words.
    pub fn test_connector(&self, stamp: &Stamp, name: &str) -> Result<Vec<String>> {
        stamp.require(RUNS_CONNECTORS, "testing a connector")?;
        let row = self.connector_row(name)?;
        let definition = definition_of(&row)?;
        let secret = self.connector_secret(&row)?;
        steward_connect::test(&definition, secret.as_deref()).map_err(connector_error(name))
    }

    /// Reads the source and plans what a sync would change, writing nothing. A preview lists
    /// every feed in full: it shows what a full sync would do.
    pub fn preview_connector(
        &self,
        stamp: &Stamp,
        name: &str,
        file: Option<(&str, &[u8])>,
    ) -> Result<Plan> {
        stamp.require(RUNS_CONNECTORS, "previewing a connector")?;
        let row = self.connector_row(name)?;
        let definition = definition_of(&row)?;
        let (_, plan) = self.plan_sync(&row, &definition, Reading::Full, file, stamp.at)?;
        Ok(plan)
    }

    /// Reads `definition`'s source and plans against the registers it touches.
    fn plan_sync(
        &self,
        row: &ConnectorRow,
        definition: &Definition,
        reading: Reading,
        file: Option<(&str, &[u8])>,
        now: DateTime<Utc>,
    ) -> Result<(Fetched, Plan)> {
        let secret = self.connector_secret(row)?;
        let started = std::time::Instant::now();
        let fetched = steward_connect::fetch(
            definition,
            secret.as_deref(),
            row.run.cursor.as_deref(),
            reading,
            file,
            now,
        )
        .map_err(connector_error(&row.name))?;
        let read = started.elapsed();
        // Only the registers this listing can touch are read: the sign-in logs alone, every
        // quarter of an hour, need accounts and devices, not the people register.
        let store = self.store();
        let l = &fetched.listing;
        let removed = |feed: Feed| l.removed.iter().any(|(f, _)| *f == feed);
        let read_if = |wanted: bool, register: Register| -> Result<Vec<Row>> {
            Ok(if wanted {
                store.list(register)?
            } else {
                Vec::new()
            })
        };
        let current = steward_connect::plan::Current {
            people: read_if(
                !l.people.is_empty()
                    || !l.accounts.is_empty()
                    || !l.devices.is_empty()
                    || removed(Feed::People),
                Register::People,
            )?,
            accounts: read_if(
                !l.accounts.is_empty()
                    || !l.sightings.is_empty()
                    || !l.account_facts.is_empty()
                    || removed(Feed::Accounts),
                Register::Accounts,
            )?,
            assets: read_if(
                !l.devices.is_empty() || !l.sightings.is_empty() || !l.usage.is_empty(),
                Register::Assets,
            )?,
            systems: store.list(Register::Systems)?,
            sightings: if l.sightings.is_empty() {
                HashSet::new()
            } else {
                store.ids(Register::Sightings)?.into_iter().collect()
            },
            usage: read_if(!l.usage.is_empty(), Register::Usage)?,
        };
        let links: Vec<Link> = store
            .source_links(&row.name)?
            .into_iter()
            .map(|l| Link {
                feed: l.feed,
                source_id: l.source_id,
                record_id: l.record_id,
                ignored: l.ignored,
            })
            .collect();
        // First: nothing applied yet (a failed or held run does not count).
        let first = links.is_empty();
        let plan =
            steward_connect::plan::plan(definition, &fetched.listing, &current, &links, first, now);
        tracing::info!(
            connector = %row.name,
            listed = plan.counts.listed,
            changes_only = %plan.changes_only.join(","),
            requests = fetched.requests,
            tokens = fetched.tokens,
            read_ms = read.as_millis() as u64,
            planned_ms = (started.elapsed() - read).as_millis() as u64,
            "connector read and planned"
        );
        Ok((fetched, plan))
    }

    /// Syncs a connector, every feed listed in full: reads its source (or `file`), plans, and
    /// applies — unless the plan must be previewed first and `apply` is not given, when the plan
    /// is kept for a person. A run that fails to read its source changes nothing and is
    /// recorded as failed.
    pub fn sync_connector(
        &self,
        stamp: &Stamp,
        name: &str,
        file: Option<(&str, &[u8])>,
        apply: bool,
    ) -> Result<SyncOutcome> {
        self.sync_feeds(stamp, name, file, apply, Round::Full)
    }

    /// [`Steward::sync_connector`] reading as `round` says: in full, as the schedule does, or
    /// only some of the connector's feeds.
    pub fn sync_feeds(
        &self,
        stamp: &Stamp,
        name: &str,
        file: Option<(&str, &[u8])>,
        apply: bool,
        round: Round<'_>,
    ) -> Result<SyncOutcome> {
        stamp.require(RUNS_CONNECTORS, "syncing a connector")?;
        let row = self.connector_row(name)?;
        let now = stamp.at;
        let mut definition = definition_of(&row)?;
        let only = match round {
            Round::Only(only) => Some(only),
            Round::Full | Round::Scheduled => None,
        };
        if let Some(only) = only {
            definition = definition
                .restricted_to(only)
                .map_err(connector_error(name))?;
        }
        let reading = match round {
            Round::Scheduled => Reading::Changes,
            Round::Full | Round::Only(_) => Reading::Full,
        };
        // The listing is let go once planned: only its cursor is kept.
        let (cursor, mut plan) = match self.plan_sync(&row, &definition, reading, file, now) {
            Ok((fetched, plan)) => (fetched.cursor, plan),
            Err(e) => {
                let mut run = row.run.clone();
                run.last_run_at = Some(now);
                run.last_outcome = Some(format!("failed: {e}"));
                self.store().set_connector_run(name, &run)?;
                return Err(e);
            }
        };
        let mut run = row.run.clone();
        if !plan.hold.is_empty() && !apply {
            run.pending_plan =
                serde_json::to_string(&plan.trimmed(KEPT_CHANGES, KEPT_UNMATCHED)).ok();
            run.pending_at = Some(now);
            run.last_outcome = Some(format!(
                "waiting for a preview to be applied: {}",
                plan.hold.join("; ")
            ));
            self.store().set_connector_run(name, &run)?;
            return Ok(SyncOutcome::Held(plan));
        }
        let actor = connector_actor(name);
        let rows = std::mem::take(&mut plan.rows);
        let started = std::time::Instant::now();
        let written = rows.len();
        if !rows.is_empty() {
            self.store()
                .commit(&actor, now, rows)
                .map_err(ServiceError::from_store)?;
        }
        let committed = started.elapsed();
        let links: Vec<SourceLink> = std::mem::take(&mut plan.links)
            .into_iter()
            .map(|(feed, source_id, record_id)| SourceLink {
                connector: name.to_owned(),
                feed,
                source_id,
                record_id: Some(record_id),
                ignored: false,
                decided_by: None,
                decided_at: None,
            })
            .collect();
        self.store().save_source_links(&actor, now, &links)?;
        self.store()
            .record_provenance(name, now, &std::mem::take(&mut plan.provenance))?;
        tracing::info!(
            connector = %name,
            rows = written,
            commit_ms = committed.as_millis() as u64,
            bookkeeping_ms = (started.elapsed() - committed).as_millis() as u64,
            "connector sync applied"
        );
        let c = plan.counts;
        run.cursor = cursor.or(run.cursor);
        if only.is_some() {
            // Between full syncs: the cursor moves, the full sync's schedule does not.
            self.store().set_connector_run(name, &run)?;
            return Ok(SyncOutcome::Applied(plan));
        }
        // What a person may still have to do, kept for the connector's page.
        let mut left = plan.trimmed(0, KEPT_UNMATCHED);
        left.hold.clear();
        run.last_plan = serde_json::to_string(&left).ok();
        run.last_run_at = Some(now);
        run.pending_plan = None;
        run.pending_at = None;
        run.last_outcome = Some(format!(
            "synced: {} listed{}, {} created, {} updated, {} missing, {} back, {} new sightings, {} unmatched{}",
            c.listed,
            if plan.changes_only.is_empty() {
                String::new()
            } else {
                format!(" ({}: changes only)", plan.changes_only.join(", "))
            },
            c.created,
            c.updated,
            c.missing,
            c.back,
            c.sightings,
            plan.unmatched.len(),
            if plan.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    "; skipped: {}",
                    plan.skipped
                        .iter()
                        .map(|(f, r)| format!("{f} ({r})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
        self.store().set_connector_run(name, &run)?;
        Ok(SyncOutcome::Applied(plan))
    }

    /// A person's decision about a record the connector could not place: link it to a record
    /// (for `account-holder`/`device-holder`, a person's id), or ignore it. Audited.
    pub fn decide_source_record(
        &self,
        stamp: &Stamp,
        connector: &str,
        feed: &str,
        source_id: &str,
        record_id: Option<&str>,
    ) -> Result<()> {
        stamp.require(RUNS_CONNECTORS, "resolving a connector's record")?;
        self.connector_row(connector)?;
        let register = match feed {
            "people" => Register::People,
            "accounts" => Register::Accounts,
            "devices" => Register::Assets,
            steward_connect::plan::HOLDER_OF_ACCOUNT | steward_connect::plan::HOLDER_OF_DEVICE => {
                Register::People
            }
            other => {
                return Err(ServiceError::Connector {
                    name: connector.to_owned(),
                    source: Box::new(steward_connect::ConnectError::Setting {
                        key: "feed".into(),
                        reason: format!("{other:?} is not something to decide about"),
                    }),
                });
            }
        };
        if let Some(id) = record_id
            && self.store().get(register, id)?.is_none()
        {
            return Err(ServiceError::NotFound {
                register,
                id: id.to_owned(),
            });
        }
        self.store().save_source_links(
            &stamp.actor,
            stamp.at,
            &[SourceLink {
                connector: connector.to_owned(),
                feed: feed.to_owned(),
                source_id: source_id.to_owned(),
                record_id: record_id.map(str::to_owned),
                ignored: record_id.is_none(),
                decided_by: Some(stamp.actor.clone()),
                decided_at: Some(stamp.at),
            }],
        )?;
        Ok(())
    }

    /// The connector that keeps `row`, if its `source` names one that is still set up, and the
    /// fields its kind owns in the row's register. A record kept by hand, or by a connector since
    /// removed, has none.
    pub fn kept_by(&self, row: &Row) -> Result<Option<KeptBy>> {
        let source = row.get("source").map(Value::to_text).unwrap_or_default();
        if source.is_empty() {
            return Ok(None);
        }
        let Some(connector) = self.find_connector(&source)? else {
            return Ok(None);
        };
        let Ok(definition) = definition_of(&connector) else {
            return Ok(None);
        };
        let register = row.register();
        Ok(Some(KeptBy {
            fields: register
                .fields()
                .iter()
                .map(|f| f.name)
                .filter(|f| definition.owns(register, f))
                .collect(),
            connector: connector.name,
            kind: definition.kind,
        }))
    }

    /// Refuses a person's change (`before` as stored, `after` as it would be written) of a field
    /// the connector keeping the record owns: the next sync would put the source's value back,
    /// so the change belongs in the source. Each such field is a problem of its own, placed
    /// beside the field on a form. A connector's own changes (actor `connector:NAME`) pass.
    pub(crate) fn refuse_hand_edits(&self, stamp: &Stamp, before: &Row, after: &Row) -> Result<()> {
        if stamp.actor.starts_with("connector:") {
            return Ok(());
        }
        let Some(kept) = self.kept_by(before)? else {
            return Ok(());
        };
        let problems: Vec<FieldProblem> = kept
            .fields
            .iter()
            .copied()
            .filter(|f| before.get(f) != after.get(f))
            .map(|f| FieldProblem {
                field: f,
                value: String::new(),
                reason: format!(
                    "{f} is kept by the connector {}; change it in {} or remove the connector",
                    kept.connector,
                    kept.kind.title()
                ),
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid {
                register: before.register(),
                problems,
            })
        }
    }

    /// The decisions people made about records connector `name` could not place (linked, or
    /// ignored), for its page.
    pub fn connector_decisions(&self, stamp: &Stamp, name: &str) -> Result<Vec<SourceLink>> {
        stamp.require(RUNS_CONNECTORS, "seeing connectors")?;
        self.connector_row(name)?;
        Ok(self
            .store()
            .source_links(name)?
            .into_iter()
            .filter(|l| l.decided_by.is_some())
            .collect())
    }

    /// Where each synced field of a record came from, for the record's page.
    pub fn provenance(&self, register: Register, id: &str) -> Result<Vec<Provenance>> {
        Ok(self.store().provenance(register, id)?)
    }

    /// Connectors whose schedule says they are due at `now`, by name, with the feeds to read:
    /// `None` for a full sync, the sign-in logs alone when only their cadence has come round.
    pub fn connectors_due(&self, now: DateTime<Utc>) -> Result<Vec<(String, Option<Vec<Feed>>)>> {
        let mut due = Vec::new();
        for row in self.store().connectors()? {
            let Ok(definition) = definition_of(&row) else {
                continue;
            };
            if definition.kind == Kind::Csv || row.run.pending_plan.is_some() {
                continue;
            }
            let Some(full) = full_sync_at(&row, &definition) else {
                continue;
            };
            if now >= full {
                due.push((row.name, None));
                continue;
            }
            // The sign-in logs on their own cadence, once a full sync has been applied.
            let Some(sign_ins) = definition.sign_in_schedule().ok().flatten() else {
                continue;
            };
            let Ok(sign_ins) = chrono::Duration::from_std(sign_ins) else {
                continue;
            };
            let Some(last) = row.run.last_run_at else {
                continue;
            };
            let cursor = steward_connect::Cursor::parse(row.run.cursor.as_deref());
            let read = cursor.sign_ins_read_at.unwrap_or(last).max(last);
            if now >= read + sign_ins {
                due.push((row.name, Some(vec![Feed::Sightings])));
            }
        }
        Ok(due)
    }
}
