//! How a pack covers its source document's clause inventory.

use std::collections::{BTreeSet, HashMap};

use crate::types::{KindName, Pack};

/// One inventory row and the pack's controls for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoveredRow {
    pub clause: String,
    /// The inventory's excerpt.
    pub excerpt: String,
    /// The controls of the pack's clause with this id (empty when the pack lacks the clause).
    pub controls: Vec<(String, KindName)>,
    /// Whether the pack's clause text begins with the excerpt, ignoring markup, list markers and
    /// spacing. `false` when the pack lacks the clause.
    pub text_matches: bool,
}

/// A pack's coverage of a clause inventory (`clause<TAB>text (excerpt)` per row, with a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub pack: String,
    /// Every inventory row, in inventory order.
    pub rows: Vec<CoveredRow>,
    /// Inventory rows the pack has no clause (or no control) for.
    pub unmapped: Vec<String>,
    /// Clauses of the pack that are not in the inventory.
    pub not_in_inventory: Vec<String>,
    /// Lines of the inventory that could not be read, and duplicate ids.
    pub problems: Vec<String>,
}

/// How far the registers decide a pack's clauses: each clause counted once, by the strongest
/// control it has (a check, else a workflow, else an attestation or recurring task, else guidance).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CoverageSummary {
    /// Clauses with at least one check: decided from the registers.
    pub checked: usize,
    /// Clauses carried out only by workflows (requests, incident reports).
    pub workflow_only: usize,
    /// Clauses held only by attestations or recurring tasks: people say or show they do it.
    pub attested_only: usize,
    /// Clauses that are guidance only.
    pub guidance_only: usize,
    /// Rows with no control at all.
    pub unmapped: usize,
}

impl Coverage {
    /// Each row counted by its strongest kind of control.
    pub fn summary(&self) -> CoverageSummary {
        let mut s = CoverageSummary::default();
        for row in &self.rows {
            let has = |k: KindName| row.controls.iter().any(|(_, kind)| *kind == k);
            if row.controls.is_empty() {
                s.unmapped += 1;
            } else if has(KindName::Check) {
                s.checked += 1;
            } else if has(KindName::Workflow) {
                s.workflow_only += 1;
            } else if has(KindName::Attestation) || has(KindName::RecurringTask) {
                s.attested_only += 1;
            } else {
                s.guidance_only += 1;
            }
        }
        s
    }

    /// Every row mapped, nothing extra, nothing unreadable.
    pub fn is_complete(&self) -> bool {
        self.unmapped.is_empty() && self.not_in_inventory.is_empty() && self.problems.is_empty()
    }

    /// Rows whose excerpt the pack's clause text does not begin with.
    pub fn text_mismatches(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| !r.controls.is_empty() && !r.text_matches)
            .map(|r| r.clause.as_str())
            .collect()
    }
}

/// Compares `pack` with a clause inventory.
pub fn coverage(pack: &Pack, inventory_tsv: &str) -> Coverage {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let by_id: HashMap<&str, _> = pack.clauses.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut lines = inventory_tsv.lines().enumerate();
    match lines.next() {
        Some((_, header))
            if header
                .trim_start_matches('\u{feff}')
                .starts_with("clause\t") => {}
        Some((_, header)) => problems.push(format!(
            "line 1: expected the header `clause<TAB>text (excerpt)`, found `{header}`"
        )),
        None => problems.push("the inventory is empty".to_owned()),
    }
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let Some((id, excerpt)) = line.split_once('\t') else {
            problems.push(format!(
                "line {}: no tab between the clause id and its text",
                i + 1
            ));
            continue;
        };
        let id = id.trim();
        if !seen.insert(id.to_owned()) {
            problems.push(format!("line {}: clause `{id}` is listed twice", i + 1));
            continue;
        }
        let clause = by_id.get(id);
        let controls: Vec<_> = clause
            .map(|c| {
                c.controls
                    .iter()
                    .map(|k| (k.id.clone(), k.kind.name()))
                    .collect()
            })
            .unwrap_or_default();
        let text_matches =
            clause.is_some_and(|c| normalise(&c.text).starts_with(&normalise(excerpt)));
        rows.push(CoveredRow {
            clause: id.to_owned(),
            excerpt: excerpt.to_owned(),
            controls,
            text_matches,
        });
    }
    let unmapped = rows
        .iter()
        .filter(|r| r.controls.is_empty())
        .map(|r| r.clause.clone())
        .collect();
    let not_in_inventory = pack
        .clauses
        .iter()
        .filter(|c| !seen.contains(&c.id))
        .map(|c| c.id.clone())
        .collect();
    Coverage {
        pack: pack.id.clone(),
        rows,
        unmapped,
        not_in_inventory,
        problems,
    }
}

/// Text without link markup (`[text](#)`), emphasis, list markers (`- `, ` | `) or spacing
/// differences, for comparing a clause with an excerpt of it.
fn normalise(text: &str) -> String {
    let text = text.replace("](#)", "").replace(['[', ']', '*', '|'], " ");
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix("- ").unwrap_or(line);
        for word in line.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    // An excerpt may end part-way through a link's `](#` or a word: compare on what is left.
    out.trim_end_matches(['(', '#', ')']).to_owned()
}

/// How a pack covers its own clauses, with no inventory to compare: each clause and its
/// controls; those with none unmapped.
pub fn own_coverage(pack: &Pack) -> Coverage {
    let rows: Vec<CoveredRow> = pack
        .clauses
        .iter()
        .map(|c| CoveredRow {
            clause: c.id.clone(),
            excerpt: String::new(),
            controls: c
                .controls
                .iter()
                .map(|k| (k.id.clone(), k.kind.name()))
                .collect(),
            text_matches: true,
        })
        .collect();
    let unmapped = rows
        .iter()
        .filter(|r| r.controls.is_empty())
        .map(|r| r.clause.clone())
        .collect();
    Coverage {
        pack: pack.id.clone(),
        rows,
        unmapped,
        not_in_inventory: Vec::new(),
        problems: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn normalising_ignores_markup_and_layout() {
        assert_eq!(
            normalise("Report to:\n- The [service desk](#)\n- Your **manager**"),
            "Report to: The service desk Your manager"
        );
        assert_eq!(
            normalise("Report to: | The [service desk](#) | Your manager"),
            "Report to: The service desk Your manager"
        );
    }
}
