//! The bridge to the rules crate: a check's rule is compiled against the estate's schema with the
//! pack's parameters, so that a pack with a rule that cannot run never loads.

use std::collections::BTreeMap;

use steward_rules::{CompileError, Kind};

use crate::schema::RecordType;
use crate::types::{ParamValue, Parameter};

/// The rules crate's kind of object for a record type.
pub fn kind(ty: RecordType) -> Option<Kind> {
    Kind::parse(ty.name())
}

pub(crate) fn rule(
    text: &str,
    subject: RecordType,
    params: &BTreeMap<String, Parameter>,
) -> Result<(), CompileError> {
    let Some(kind) = kind(subject) else {
        return Err(CompileError::new(format!(
            "{} cannot be the subject of a rule",
            subject.name()
        )));
    };
    let params: Vec<(String, ParamValue)> = params
        .iter()
        .map(|(name, p)| (name.clone(), p.value.clone()))
        .collect();
    steward_rules::compile(text, kind, &params).map(|_| ())
}
