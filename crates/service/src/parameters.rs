//! The organisation's own values for its packs' parameters, kept in the database: set on screen
//! or imported from an `overrides.toml`, each with a reason and the day it takes effect, every
//! change audited; checks run with the values in force on their day, over the configuration's
//! `overrides.toml` (which is only an import and export format once values are kept here).

use chrono::NaiveDate;
use steward_policy::{Overrides, Pack, StaffGroupOverride};
use steward_store::ParameterOverride;

use crate::authority::POLICY_OWNERS;
use crate::{Result, ServiceError, Stamp, Steward};

impl Steward {
    /// Every value the organisation has set, by name and day: the policies' parameter history.
    pub fn parameter_history(&self) -> Result<Vec<ParameterOverride>> {
        Ok(self.store().parameter_overrides()?)
    }

    /// `file`'s overrides with the organisation's kept values in force on `day` over them (a
    /// value set back to the pack's takes the file's away too).
    pub fn overrides_in_force(&self, file: &Overrides, day: NaiveDate) -> Result<Overrides> {
        let mut out = file.clone();
        let mut latest: std::collections::BTreeMap<&str, &ParameterOverride> = Default::default();
        let kept = self.store().parameter_overrides()?;
        for p in kept.iter().filter(|p| p.effective_from <= day) {
            match latest.get(p.name.as_str()) {
                Some(q) if q.effective_from >= p.effective_from => {}
                _ => {
                    latest.insert(&p.name, p);
                }
            }
        }
        for (name, p) in latest {
            if let Some(id) = name.strip_prefix(STAFF_GROUP) {
                match p.value.as_deref().map(StaffGroupOverride::from_literal) {
                    Some(Ok(change)) => {
                        out.staff_groups.insert(id.to_owned(), change);
                    }
                    Some(Err(e)) => {
                        tracing::warn!(group = id, error = %e, "a kept staff group change does not read");
                    }
                    None => {
                        out.staff_groups.remove(id);
                    }
                }
                continue;
            }
            match p.value.as_deref().and_then(toml_literal) {
                Some(value) => {
                    out.parameters.insert(name.to_owned(), value);
                }
                None => {
                    out.parameters.remove(name);
                }
            }
        }
        Ok(out)
    }

    /// Sets the organisation's value of parameter `name` from `effective_from` (`None`: the
    /// pack's own again), with the reason for it: the governance team's and the administrator's
    /// to do. `known` are the packs that may define it; the value must be of its type there.
    pub fn set_parameter(
        &self,
        stamp: &Stamp,
        name: &str,
        value: Option<&str>,
        reason: &str,
        effective_from: NaiveDate,
        known: &[Pack],
    ) -> Result<bool> {
        let row = self.parameter_row(stamp, name, value, reason, effective_from, known)?;
        Ok(self.store().set_parameter_override(&row)?)
    }

    /// Sets several parameters (typed as on a form): every value is checked before any is
    /// kept, and all are kept in one transaction, so one bad value changes nothing. How many
    /// changed.
    pub fn set_parameters(
        &self,
        stamp: &Stamp,
        values: &[(String, String)],
        reason: &str,
        effective_from: NaiveDate,
        known: &[Pack],
    ) -> Result<usize> {
        let rows = values
            .iter()
            .map(|(name, value)| {
                self.parameter_row(stamp, name, Some(value), reason, effective_from, known)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.store().set_parameter_overrides(&rows)?)
    }

    /// Keeps what an `overrides.toml` says — its parameters and its staff groups — from
    /// `effective_from`, all or nothing. How many values changed.
    pub fn set_overrides(
        &self,
        stamp: &Stamp,
        overrides: &Overrides,
        reason: &str,
        effective_from: NaiveDate,
        known: &[Pack],
    ) -> Result<usize> {
        let mut rows = Vec::new();
        for (name, value) in &overrides.parameters {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            rows.push(self.parameter_row(
                stamp,
                name,
                Some(&text),
                reason,
                effective_from,
                known,
            )?);
        }
        for (id, change) in &overrides.staff_groups {
            rows.push(self.staff_group_row(
                stamp,
                id,
                Some(change),
                reason,
                effective_from,
                known,
            )?);
        }
        Ok(self.store().set_parameter_overrides(&rows)?)
    }

    /// Changes staff group `id` from `effective_from` (`None`: back to the pack's own group),
    /// with the reason for it: the governance team's and the administrator's to do. The change
    /// states what it changes (a form states every field); it must leave the group consistent in
    /// every known pack that has it, and a group no pack has needs a name.
    pub fn set_staff_group(
        &self,
        stamp: &Stamp,
        id: &str,
        change: Option<&StaffGroupOverride>,
        reason: &str,
        effective_from: NaiveDate,
        known: &[Pack],
    ) -> Result<bool> {
        let row = self.staff_group_row(stamp, id, change, reason, effective_from, known)?;
        Ok(self.store().set_parameter_override(&row)?)
    }

    /// The row a staff group's change makes, or why it is refused.
    fn staff_group_row(
        &self,
        stamp: &Stamp,
        id: &str,
        change: Option<&StaffGroupOverride>,
        reason: &str,
        effective_from: NaiveDate,
        known: &[Pack],
    ) -> Result<ParameterOverride> {
        stamp.require(POLICY_OWNERS, "changing the policies' staff groups")?;
        let refuse = |problem: String| ServiceError::Parameter {
            name: format!("staff group {id}"),
            problem,
        };
        if reason.trim().is_empty() {
            return Err(refuse("say why the group changes".into()));
        }
        let having: Vec<&Pack> = known
            .iter()
            .filter(|p| p.staff_groups.contains_key(id))
            .collect();
        let value = match change {
            None if having.is_empty() => {
                return Err(refuse("no pack has a staff group of this id".into()));
            }
            None => None,
            Some(change) => {
                if having.is_empty() && change.name.is_none() {
                    return Err(refuse(
                        "no pack has a staff group of this id; a new group needs a name".into(),
                    ));
                }
                let overrides = Overrides {
                    staff_groups: [(id.to_owned(), change.clone())].into(),
                    ..Overrides::default()
                };
                let tried = if having.is_empty() {
                    known.iter().take(1).collect()
                } else {
                    having
                };
                for pack in tried {
                    if let Err(errors) = pack.effective(&overrides) {
                        return Err(refuse(
                            errors
                                .iter()
                                .map(|e| e.reason.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                        ));
                    }
                }
                Some(change.literal())
            }
        };
        Ok(ParameterOverride {
            name: format!("{STAFF_GROUP}{id}"),
            effective_from,
            value,
            reason: reason.trim().to_owned(),
            changed_at: stamp.at,
            changed_by: stamp.actor.clone(),
        })
    }

    /// The row a parameter value makes, or why it is refused.
    fn parameter_row(
        &self,
        stamp: &Stamp,
        name: &str,
        value: Option<&str>,
        reason: &str,
        effective_from: NaiveDate,
        known: &[Pack],
    ) -> Result<ParameterOverride> {
        stamp.require(POLICY_OWNERS, "changing the policies' parameters")?;
        let refuse = |problem: &str| ServiceError::Parameter {
            name: name.to_owned(),
            problem: problem.to_owned(),
        };
        let Some(parameter) = known.iter().find_map(|p| p.parameters.get(name)) else {
            return Err(refuse("no pack has a parameter of this name"));
        };
        if reason.trim().is_empty() {
            return Err(refuse("say why the value changes"));
        }
        let literal = match value {
            None => None,
            Some(text) => {
                let parsed = steward_policy::library::param_from_text(parameter.ty, text)
                    .map_err(|problem| refuse(&problem))?;
                Some(steward_policy::library::toml_value(&parsed))
            }
        };
        Ok(ParameterOverride {
            name: name.to_owned(),
            effective_from,
            value: literal,
            reason: reason.trim().to_owned(),
            changed_at: stamp.at,
            changed_by: stamp.actor.clone(),
        })
    }
}

/// The prefix a staff group's change is kept under beside the parameters (`staff_groups.fca`),
/// as an `overrides.toml` names it.
pub const STAFF_GROUP: &str = "staff_groups.";

/// A TOML value written as a literal (`21`, `"GB"`, `["a", "b"]`).
fn toml_literal(text: &str) -> Option<toml::Value> {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
}
