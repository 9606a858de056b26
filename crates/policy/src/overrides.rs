//! An organisation's overrides of a pack's parameters and staff groups, and the effective values
//! that result.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use crate::error::{ErrorKind, PackError};
use crate::load::{Source, is_slug, param_value};
use crate::types::*;

/// What an organisation changes in a pack without editing it: parameter values and staff groups.
/// Read from TOML such as
///
/// ```toml
/// [parameters]
/// laptop_offline_days = 21
///
/// [staff_groups.fca]
/// devices = [{ kind = "laptop" }, { kind = "smartphone" }, { kind = "tablet" }]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    #[serde(default)]
    pub parameters: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub staff_groups: BTreeMap<String, StaffGroupOverride>,
}

/// Changes to one staff group; an id the pack does not define adds a group (then `name` is
/// required).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaffGroupOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceSpec>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byod: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_by_case: Option<bool>,
}

/// A device allowance as written: `{ kind = "smartphone", count = 1, or = ["voice_phone"] }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, rename = "or", skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<String>,
}

impl StaffGroupOverride {
    /// The change as a TOML inline table, as an `overrides.toml` writes it under
    /// `[staff_groups]`: `{ byod = true, devices = [{ kind = "laptop" }] }`.
    pub fn literal(&self) -> String {
        toml::Value::try_from(self).map_or_else(|_| "{}".to_owned(), |v| v.to_string())
    }

    /// The change [`StaffGroupOverride::literal`] wrote, or why the text is not one.
    pub fn from_literal(text: &str) -> Result<StaffGroupOverride, String> {
        let mut table = toml::from_str::<toml::Table>(&format!("v = {text}"))
            .map_err(|e| e.message().to_owned())?;
        table
            .remove("v")
            .ok_or_else(|| "no value".to_owned())?
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_owned())
    }
}

/// A group's devices as a form shows them: `laptop, smartphone or voice_phone, 2 tablet`.
pub fn devices_text(devices: &[DeviceAllowance]) -> String {
    devices
        .iter()
        .map(|d| {
            let mut item = String::new();
            if d.count != 1 {
                item.push_str(&format!("{} ", d.count));
            }
            item.push_str(d.kind.as_str());
            for a in &d.alternatives {
                item.push_str(" or ");
                item.push_str(a.as_str());
            }
            item
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Devices typed as [`devices_text`] writes them, or why not; kinds are checked when the
/// change is applied to a pack ([`Pack::effective`]).
pub fn parse_devices(text: &str) -> Result<Vec<DeviceSpec>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (count, rest) = match item.split_once(char::is_whitespace) {
            Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => {
                let count: u32 = n
                    .parse()
                    .map_err(|_| format!("{item:?}: {n} is not a number of devices"))?;
                (Some(count), rest.trim())
            }
            _ => (None, item),
        };
        // `kind`, then `or kind` as often as there are alternatives.
        let words: Vec<&str> = rest.split_whitespace().collect();
        let number = |k: &str| k.chars().all(|c| c.is_ascii_digit());
        let mut kinds = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let wanted_or = i % 2 == 1;
            if wanted_or && *word != "or" {
                return Err(format!(
                    "{item:?}: {word:?} does not follow a kind of device; separate devices with commas"
                ));
            }
            if !wanted_or {
                if number(word) || *word == "or" {
                    return Err(format!("{item:?}: write a kind of device, such as laptop"));
                }
                kinds.push((*word).to_owned());
            }
        }
        if words.len().is_multiple_of(2) {
            return Err(format!("{item:?}: write a kind of device, such as laptop"));
        }
        let kind = kinds.remove(0);
        let alternatives = kinds;
        out.push(DeviceSpec {
            kind,
            count: count.filter(|c| *c != 1),
            alternatives,
        });
    }
    Ok(out)
}

impl Overrides {
    /// Reads overrides from TOML text; `name` names the file in errors.
    pub fn parse(name: &str, text: &str) -> Result<Overrides, Vec<PackError>> {
        let src = Source::new(name, text);
        let mut errors = Vec::new();
        let Some(doc) = src.document(&mut errors) else {
            return Err(errors);
        };
        let span = doc.span();
        src.de(Spanned::new(span, DeValue::Table(doc.into_inner())))
            .map_err(|e| vec![*e])
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The pack's own value.
    Pack,
    /// The organisation's override.
    Organisation,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Pack => "pack",
            Origin::Organisation => "organisation",
        }
    }
}

/// A parameter's value after overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveParameter {
    pub name: String,
    pub ty: ParamType,
    pub value: ParamValue,
    /// The pack's value, whether or not it is overridden.
    pub pack_value: ParamValue,
    pub unit: Option<String>,
    pub description: String,
    /// Why the pack assumed its value, where the document does not state one.
    pub assumed: Option<String>,
    pub origin: Origin,
}

/// A staff group after overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveStaffGroup {
    pub group: StaffGroup,
    pub origin: Origin,
}

/// A pack as one organisation runs it: every parameter and staff group with its effective value
/// and where that came from.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectivePack {
    pub pack: String,
    pub version: String,
    pub parameters: BTreeMap<String, EffectiveParameter>,
    pub staff_groups: BTreeMap<String, EffectiveStaffGroup>,
}

impl EffectivePack {
    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        self.parameters.get(name).map(|p| &p.value)
    }

    /// Every parameter's effective value, by name: what a rule sees as `params`.
    pub fn values(&self) -> Vec<(String, ParamValue)> {
        self.parameters
            .iter()
            .map(|(n, p)| (n.clone(), p.value.clone()))
            .collect()
    }
}

const OVERRIDES: &str = "overrides";

impl Pack {
    /// The pack with `overrides` applied. Every override is checked: a parameter must exist and
    /// its new value have the parameter's type; a staff group change must be consistent.
    pub fn effective(&self, overrides: &Overrides) -> Result<EffectivePack, Vec<PackError>> {
        let mut errors = Vec::new();
        let err = |kind, reason: String| {
            let mut e = PackError::new(kind, OVERRIDES, reason);
            e.pack = Some(self.id.clone());
            e
        };
        for name in overrides.parameters.keys() {
            if !self.parameters.contains_key(name) {
                let known: Vec<&str> = self.parameters.keys().map(String::as_str).collect();
                errors.push(err(
                    ErrorKind::Reference,
                    format!(
                        "unknown parameter `{name}`: the pack has {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        let mut parameters = BTreeMap::new();
        for (name, p) in &self.parameters {
            let (value, origin) = match overrides.parameters.get(name) {
                None => (p.value.clone(), Origin::Pack),
                Some(v) => match param_value(p.ty, v) {
                    Ok(value) => (value, Origin::Organisation),
                    Err(reason) => {
                        errors.push(err(
                            ErrorKind::Invalid,
                            format!("parameter `{name}` is a {}: {reason}", p.ty),
                        ));
                        continue;
                    }
                },
            };
            parameters.insert(
                name.clone(),
                EffectiveParameter {
                    name: name.clone(),
                    ty: p.ty,
                    value,
                    pack_value: p.value.clone(),
                    unit: p.unit.clone(),
                    description: p.description.clone(),
                    assumed: p.assumed.clone(),
                    origin,
                },
            );
        }
        let mut staff_groups: BTreeMap<String, EffectiveStaffGroup> = self
            .staff_groups
            .iter()
            .map(|(id, g)| {
                (
                    id.clone(),
                    EffectiveStaffGroup {
                        group: g.clone(),
                        origin: Origin::Pack,
                    },
                )
            })
            .collect();
        for (id, o) in &overrides.staff_groups {
            let mut group = match self.staff_groups.get(id) {
                Some(g) => g.clone(),
                None => {
                    if !is_slug(id, false) {
                        errors.push(err(
                            ErrorKind::Invalid,
                            format!(
                                "staff group id `{id}` must be lower-case letters, digits and `-`"
                            ),
                        ));
                    }
                    let Some(name) = &o.name else {
                        errors.push(err(
                            ErrorKind::Missing,
                            format!(
                                "staff group `{id}` is not in the pack: a new group needs a `name`"
                            ),
                        ));
                        continue;
                    };
                    StaffGroup {
                        id: id.clone(),
                        name: name.clone(),
                        description: None,
                        clause: None,
                        devices: Vec::new(),
                        hardware: false,
                        byod: false,
                        portal_only: false,
                        mfa_required: false,
                        case_by_case: false,
                        location: Location {
                            file: OVERRIDES.into(),
                            position: crate::error::Position { line: 1, column: 1 },
                        },
                    }
                }
            };
            if let Some(n) = &o.name {
                group.name.clone_from(n);
            }
            if let Some(d) = &o.description {
                group.description = Some(d.clone());
            }
            for (slot, value) in [
                (&mut group.hardware, o.hardware),
                (&mut group.byod, o.byod),
                (&mut group.portal_only, o.portal_only),
                (&mut group.mfa_required, o.mfa_required),
                (&mut group.case_by_case, o.case_by_case),
            ] {
                if let Some(v) = value {
                    *slot = v;
                }
            }
            if let Some(devices) = &o.devices {
                group.devices.clear();
                for d in devices {
                    let read = |k: &String| {
                        k.parse::<steward_model::AssetKind>()
                            .map_err(|reason| format!("`{k}`: {reason}"))
                    };
                    let kind = read(&d.kind);
                    let alternatives: Result<Vec<_>, _> = d.alternatives.iter().map(read).collect();
                    match (kind, alternatives, d.count.unwrap_or(1)) {
                        (_, _, 0) => errors.push(err(
                            ErrorKind::Invalid,
                            format!("staff group `{id}`: a device count must be positive"),
                        )),
                        (Ok(kind), Ok(alternatives), count) => {
                            group.devices.push(DeviceAllowance {
                                kind,
                                count,
                                alternatives,
                            })
                        }
                        (Err(reason), _, _) | (_, Err(reason), _) => errors.push(err(
                            ErrorKind::Invalid,
                            format!("staff group `{id}`: device kind {reason}"),
                        )),
                    }
                }
                if o.hardware.is_none() && !group.devices.is_empty() {
                    group.hardware = true;
                }
            }
            if (group.portal_only || !group.hardware) && !group.devices.is_empty() {
                errors.push(err(
                    ErrorKind::Invalid,
                    format!("staff group `{id}` has devices but no hardware"),
                ));
            }
            if group.portal_only && group.byod {
                errors.push(err(
                    ErrorKind::Invalid,
                    format!(
                        "staff group `{id}` cannot be both portal-only and bring-your-own-device"
                    ),
                ));
            }
            staff_groups.insert(
                id.clone(),
                EffectiveStaffGroup {
                    group,
                    origin: Origin::Organisation,
                },
            );
        }
        if errors.is_empty() {
            Ok(EffectivePack {
                pack: self.id.clone(),
                version: self.version.clone(),
                parameters,
                staff_groups,
            })
        } else {
            Err(errors)
        }
    }
}
