//! Errors found while loading a pack, its overrides or its test cases.

use std::fmt;

/// Where in a file something was written: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What kind of problem a [`PackError`] reports, for callers that act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A file could not be read.
    Io,
    /// The file is not valid TOML.
    Syntax,
    /// A key the format does not know, or one that does not apply here.
    UnknownField,
    /// A required key is absent.
    Missing,
    /// A value of the wrong type or outside its allowed set.
    Invalid,
    /// Two things share an id that must be unique.
    Duplicate,
    /// A reference to something that is not defined (a parameter, staff group, clause, control).
    Reference,
    /// A rule that does not parse, or names something the rule language does not have.
    Rule,
}

/// One problem in a pack, an organisation's overrides or a test-case file, with enough context
/// to find it: the pack, the file, the line and column, the clause and control it belongs to.
///
/// Displayed as `pack: file:line:column: clause C: control X: reason`, each part present only
/// when known, for example
/// `cafcass-it-5.0: clauses.toml:212:8: clause 2.6(w): control laptop-connected: unknown parameter \`params.laptop_days\``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PackError {
    pub kind: ErrorKind,
    pub pack: Option<String>,
    pub file: String,
    pub position: Option<Position>,
    pub clause: Option<String>,
    pub control: Option<String>,
    /// What is wrong, in lower case, without the location.
    pub reason: String,
}

impl PackError {
    pub(crate) fn new(kind: ErrorKind, file: &str, reason: impl Into<String>) -> Self {
        PackError {
            kind,
            pack: None,
            file: file.to_owned(),
            position: None,
            clause: None,
            control: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn at(mut self, position: Option<Position>) -> Self {
        self.position = position;
        self
    }

    pub(crate) fn in_clause(mut self, clause: Option<&str>) -> Self {
        self.clause = clause.map(str::to_owned);
        self
    }

    pub(crate) fn in_control(mut self, control: Option<&str>) -> Self {
        self.control = control.map(str::to_owned);
        self
    }

    pub(crate) fn with_prefix(mut self, prefix: &str) -> Self {
        self.reason.insert_str(0, prefix);
        self
    }

    /// The 1-based line, if known.
    pub fn line(&self) -> Option<usize> {
        self.position.map(|p| p.line)
    }

    /// The 1-based column, if known.
    pub fn column(&self) -> Option<usize> {
        self.position.map(|p| p.column)
    }
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(pack) = &self.pack {
            write!(f, "{pack}: ")?;
        }
        f.write_str(&self.file)?;
        if let Some(p) = self.position {
            write!(f, ":{p}")?;
        }
        f.write_str(": ")?;
        if let Some(clause) = &self.clause {
            write!(f, "clause {clause}: ")?;
        }
        if let Some(control) = &self.control {
            write!(f, "control {control}: ")?;
        }
        f.write_str(&self.reason)
    }
}
