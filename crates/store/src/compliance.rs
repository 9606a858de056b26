//! Where each policy stood, day by day: for each pack and each of its sections, how many subjects
//! its checks looked at and how many of those failed, as of the day's last recorded run. The
//! service tallies a run; this module only keeps the tallies (table `compliance`), which are
//! derived from audited data and so are not audited themselves.

use chrono::NaiveDate;

use crate::Result;
use crate::findings::{Cell, CellReader, Columns, Kind};

/// One pack's (or one section's) standing on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceDay {
    pub pack: String,
    /// The section number (`2`), or `""` for the whole pack.
    pub section: String,
    pub day: NaiveDate,
    /// Subjects the checks looked at (each counted once however many checks it faced).
    pub checked: i64,
    /// Of those, the subjects with a failing finding not under an exception.
    pub failing: i64,
}

impl ComplianceDay {
    /// The share of checked subjects compliant, in whole percent rounded down (so 99.6 % is not
    /// shown as 100 %); `None` when nothing was checked.
    pub fn percent(&self) -> Option<i64> {
        (self.checked > 0).then(|| (self.checked - self.failing).max(0) * 100 / self.checked)
    }
}

/// The `compliance` table's columns, in the order rows are read and written.
pub(crate) const COMPLIANCE_COLUMNS: Columns = &[
    ("pack", Kind::Text),
    ("section", Kind::Text),
    ("day", Kind::Date),
    ("checked", Kind::Int),
    ("failing", Kind::Int),
];

pub(crate) fn cells(c: &ComplianceDay) -> Vec<Cell> {
    vec![
        Cell::Text(Some(c.pack.clone())),
        Cell::Text(Some(c.section.clone())),
        Cell::Date(Some(c.day)),
        Cell::Int(Some(c.checked)),
        Cell::Int(Some(c.failing)),
    ]
}

pub(crate) fn from_cells(cells: Vec<Cell>) -> Result<ComplianceDay> {
    let mut r = CellReader::new("compliance", COMPLIANCE_COLUMNS, cells);
    Ok(ComplianceDay {
        pack: r.text()?,
        section: r.text()?,
        day: r.date()?,
        checked: r.int()?,
        failing: r.int()?,
    })
}
