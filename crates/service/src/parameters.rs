//! The organisation's own values for its packs' parameters, kept in the database: set on screen
//! or imported from an `overrides.toml`, each with a reason and the day it takes effect, every
//! change audited; checks run with the values in force on their day, over the configuration's
//! `overrides.toml` (which is only an import and export format once values are kept here).

use chrono::NaiveDate;
use steward_policy::{Overrides, Pack, ParamType};
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

    /// Sets several parameters (an `overrides.toml` imported): every value is checked before
    /// any is kept, so a file with one bad value changes nothing. How many changed.
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
        let mut changed = 0;
        for row in rows {
            changed += usize::from(self.store().set_parameter_override(&row)?);
        }
        Ok(changed)
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
                if parameter.ty == ParamType::Duration {
                    return Err(refuse("durations are changed in overrides.toml"));
                }
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

/// A TOML value written as a literal (`21`, `"GB"`, `["a", "b"]`).
fn toml_literal(text: &str) -> Option<toml::Value> {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
}
