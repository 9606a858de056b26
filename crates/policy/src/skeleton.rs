//! A new pack's files from a document's clauses: `pack.toml` with the document's front matter
//! and `clauses.toml` with every clause, its text and heading path, and one `guidance` control
//! each until someone maps it. What the document did not state is marked `assumed` where the
//! format allows, and said in a comment beside the value otherwise.

use chrono::NaiveDate;

/// What a new pack is made from.
#[derive(Debug, Clone, Default)]
pub struct Skeleton {
    pub id: String,
    pub title: String,
    pub organisation: String,
    pub version: String,
    pub owner: String,
    pub approver: String,
    pub approved_on: NaiveDate,
    pub implemented_on: Option<NaiveDate>,
    pub amended_on: Option<NaiveDate>,
    pub next_review: Option<NaiveDate>,
    pub next_review_note: Option<String>,
    /// The document's file name.
    pub source: Option<String>,
    pub summary: Option<String>,
    /// Front-matter fields the document does not state, each with why the value was chosen
    /// (`approved_on`: "the document states no approval date; the day it was imported").
    pub assumed: Vec<(String, String)>,
    /// Section numbers and titles.
    pub sections: Vec<(String, String)>,
    pub clauses: Vec<SkeletonClause>,
}

/// One clause of a new pack.
#[derive(Debug, Clone, Default)]
pub struct SkeletonClause {
    pub id: String,
    pub text: String,
    pub heading: Vec<String>,
}

/// A TOML string literal for `text`.
pub(crate) fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A control id made of a clause id: `2.6(w)` → `clause-2-6-w`, `fn1` → `clause-fn1`.
pub fn control_id(clause: &str) -> String {
    let mut id = String::from("clause");
    let mut dash = true;
    for c in clause.chars() {
        if c.is_ascii_alphanumeric() {
            if dash {
                id.push('-');
            }
            id.push(c.to_ascii_lowercase());
            dash = false;
        } else {
            dash = true;
        }
    }
    id
}

/// `pack_toml` with `key` of its `[pack]` table set to `value` (a TOML literal), or taken out
/// when `value` is `None`; the line is added after the table's other keys when it has none.
pub fn set_meta(pack_toml: &str, key: &str, value: Option<&str>) -> String {
    let mut lines: Vec<String> = pack_toml.lines().map(str::to_owned).collect();
    let start = lines.iter().position(|l| l.trim() == "[pack]");
    let Some(start) = start else {
        return pack_toml.to_owned();
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| start + 1 + i);
    let prefix = format!("{key} = ");
    let found = (start + 1..end).find(|&i| lines[i].starts_with(&prefix));
    match (found, value) {
        (Some(i), Some(v)) => lines[i] = format!("{key} = {v}"),
        (Some(i), None) => {
            lines.remove(i);
        }
        (None, Some(v)) => {
            let at = (start + 1..end)
                .rev()
                .find(|&i| !lines[i].trim().is_empty())
                .map_or(start + 1, |i| i + 1);
            lines.insert(at, format!("{key} = {v}"));
        }
        (None, None) => {}
    }
    lines.join("\n") + "\n"
}

/// `text` with every quoted mention of the old pack id (`"old"` or `'old'`, as rules compare
/// acceptances' and exceptions' `pack` with it, or leading a key such as a policy review's
/// `"pack/version"`) naming the new one; and how many there were.
pub fn rename_mentions(text: &str, old_id: &str, new_id: &str) -> (String, usize) {
    let mut n = 0;
    let mut text = text.to_owned();
    for q in ['"', '\''] {
        for end in [q, '/'] {
            let from = format!("{q}{old_id}{end}");
            n += text.matches(&from).count();
            text = text.replace(&from, &format!("{q}{new_id}{end}"));
        }
    }
    (text, n)
}

/// A TOML string literal, for [`set_meta`].
pub fn literal(text: &str) -> String {
    quoted(text)
}

impl Skeleton {
    /// `pack.toml`.
    pub fn pack_toml(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "# {} — a Steward policy pack imported from {}.\n",
            self.title,
            self.source.as_deref().unwrap_or("a document")
        ));
        out.push_str(
            "# Every clause is guidance until it is mapped to a control (docs/policy-packs.md).\n\n",
        );
        out.push_str("[pack]\n");
        let assumed = |field: &str| {
            self.assumed
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, why)| why.as_str())
        };
        let field = |out: &mut String, name: &str, value: String| {
            if let Some(why) = assumed(name) {
                out.push_str(&format!("# Assumed: {why}.\n"));
            }
            out.push_str(&format!("{name} = {value}\n"));
        };
        field(&mut out, "id", quoted(&self.id));
        field(&mut out, "title", quoted(&self.title));
        field(&mut out, "organisation", quoted(&self.organisation));
        field(&mut out, "version", quoted(&self.version));
        field(&mut out, "owner", quoted(&self.owner));
        field(&mut out, "approver", quoted(&self.approver));
        field(&mut out, "approved_on", self.approved_on.to_string());
        if let Some(day) = self.implemented_on {
            field(&mut out, "implemented_on", day.to_string());
        }
        if let Some(day) = self.amended_on {
            field(&mut out, "amended_on", day.to_string());
        }
        if let Some(day) = self.next_review {
            field(&mut out, "next_review", day.to_string());
        }
        if let Some(note) = &self.next_review_note {
            field(&mut out, "next_review_note", quoted(note));
        }
        if let Some(source) = &self.source {
            field(&mut out, "source", quoted(source));
        }
        if let Some(summary) = &self.summary {
            field(&mut out, "summary", quoted(summary));
        }
        let titled: Vec<&(String, String)> = self
            .sections
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .collect();
        if !titled.is_empty() {
            out.push_str("\n[sections]\n");
            for (number, title) in titled {
                out.push_str(&format!("{} = {}\n", quoted(number), quoted(title)));
            }
        }
        out
    }

    /// `clauses.toml`.
    pub fn clauses_toml(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "# {}: every clause of the document, in order, with its text as imported.\n",
            self.title
        ));
        out.push_str("# Map a clause by replacing its guidance control with a check, workflow, attestation or\n# recurring task (docs/policy-packs.md).\n");
        let mut used = std::collections::HashSet::new();
        for clause in &self.clauses {
            out.push_str("\n[[clause]]\n");
            out.push_str(&format!("id = {}\n", quoted(&clause.id)));
            out.push_str(&format!("text = {}\n", quoted(&clause.text)));
            if !clause.heading.is_empty() {
                let heading: Vec<String> = clause.heading.iter().map(|h| quoted(h)).collect();
                out.push_str(&format!("heading = [{}]\n", heading.join(", ")));
            }
            let base = control_id(&clause.id);
            let mut id = base.clone();
            let mut n = 1;
            while !used.insert(id.clone()) {
                n += 1;
                id = format!("{base}-{n}");
            }
            let applies_to = if clause.id.starts_with("fn") {
                "footnote"
            } else if clause.text.trim_end().ends_with(':') {
                "heading"
            } else {
                "information"
            };
            out.push_str("\n[[clause.control]]\n");
            out.push_str(&format!("id = {}\n", quoted(&id)));
            out.push_str("kind = \"guidance\"\n");
            out.push_str(&format!("applies_to = \"{applies_to}\"\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_from_clause_ids() {
        assert_eq!(control_id("2.6(w)"), "clause-2-6-w");
        assert_eq!(control_id("3.2-T1"), "clause-3-2-t1");
        assert_eq!(control_id("fn1"), "clause-fn1");
        assert_eq!(control_id("A1.3"), "clause-a1-3");
        assert_eq!(control_id("2.1~2"), "clause-2-1-2");
    }

    #[test]
    fn a_skeleton_loads_as_a_pack() {
        let skeleton = Skeleton {
            id: "riverside-it-2.1".into(),
            title: "Riverside \"IT\" Policy".into(),
            organisation: "Riverside Trust".into(),
            version: "2.1".into(),
            owner: "Head of Operations".into(),
            approver: "Board".into(),
            approved_on: NaiveDate::from_ymd_opt(2025, 3, 14).unwrap_or_default(),
            assumed: vec![("approver".into(), "the document names no approver".into())],
            sections: vec![("1".into(), "Equipment".into())],
            clauses: vec![
                SkeletonClause {
                    id: "1.1".into(),
                    text: "Staff must:".into(),
                    heading: vec!["Equipment".into()],
                },
                SkeletonClause {
                    id: "1.1(a)".into(),
                    text: "lock screens; 'always' \\ \"quoted\"\nsecond line".into(),
                    heading: vec!["Equipment".into()],
                },
                SkeletonClause {
                    id: "fn1".into(),
                    text: "A footnote.".into(),
                    heading: vec![],
                },
            ],
            ..Skeleton::default()
        };
        let (pack_toml, clauses_toml) = (skeleton.pack_toml(), skeleton.clauses_toml());
        let pack = crate::parse_pack(&pack_toml, &clauses_toml)
            .unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(pack.id, "riverside-it-2.1");
        assert_eq!(pack.title, "Riverside \"IT\" Policy");
        assert_eq!(pack.clauses.len(), 3);
        assert_eq!(
            pack.clauses[1].text,
            "lock screens; 'always' \\ \"quoted\"\nsecond line"
        );
        assert_eq!(pack.clauses[1].heading, vec!["Equipment".to_owned()]);
        assert!(
            skeleton
                .pack_toml()
                .contains("# Assumed: the document names no approver.")
        );
    }
}
