//! Blocks into clauses, numbered the way Steward's inventories number them.
//!
//! Three numberings, chosen by what the document itself uses:
//! - [`Numbering::Clauses`]: paragraphs numbered `N.M` (`2.6`). A lettered item under one is
//!   `2.6(w)`, a bullet directly under it `2.6-1`, a table row `2.6-T1`, a `Note:` `2.6-note`;
//!   bullets and roman items under a lettered item belong to that item. A section's paragraphs
//!   before its first numbered one are `N.0`.
//! - [`Numbering::Sections`]: only sections are numbered (`3. Security`, or headings); `N.K` is
//!   the K-th paragraph or bullet of section N, sub-headings not counted.
//! - [`Numbering::Paragraphs`]: nothing is numbered; each paragraph is a clause, `1`, `2`, ….
//!
//! In every numbering an appendix is a section `A1`, `A2`, …, footnotes are `fn1`, `fn2`, …, and
//! what comes before the body (the title, the front-matter table, a contents list) is not a
//! clause but [`Metadata`] and the document's preamble.

use crate::metadata::Metadata;
use crate::{Block, BlockKind};

/// How a document numbers its clauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbering {
    Clauses,
    Sections,
    Paragraphs,
}

/// One clause: its id, its text (whitespace collapsed; a lettered item's bullets joined by
/// ` | `, a table row's cells likewise) and the headings it sits under, outermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub id: String,
    pub text: String,
    pub heading: Vec<String>,
}

/// A document split into clauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub numbering: Numbering,
    pub metadata: Metadata,
    /// The sections' numbers and titles, in order.
    pub sections: Vec<(String, String)>,
    /// Paragraphs before the body that are not front matter (a purpose statement, an overview).
    pub preamble: Vec<String>,
    pub clauses: Vec<Clause>,
}

/// Splits a document's blocks into clauses.
pub fn split(blocks: &[Block]) -> Split {
    let lines: Vec<Line> = blocks.iter().map(Line::new).collect();
    let numbering = numbering(&lines);
    let mut splitter = Splitter::new(numbering);
    let start = match numbering {
        Numbering::Clauses => 0,
        Numbering::Sections => sections_start(&lines),
        Numbering::Paragraphs => 0,
    };
    splitter.front(&lines[..start]);
    for line in &lines[start..] {
        splitter.line(line);
    }
    splitter.finish()
}

/// A block with what the splitter needs to know of its text.
#[derive(Debug)]
struct Line {
    kind: BlockKind,
    /// The text with inline markup removed; a table row keeps its tabs.
    text: String,
    /// The text without a leading bullet marker.
    body: String,
    bullet: bool,
}

impl Line {
    fn new(block: &Block) -> Line {
        let text = without_tags(&block.text);
        let trimmed = text.trim();
        let (body, bullet) = match strip_bullet(trimmed) {
            Some(rest) => (rest.trim().to_owned(), true),
            None => (trimmed.to_owned(), false),
        };
        Line {
            kind: block.kind.clone(),
            text,
            body,
            bullet,
        }
    }

    /// A short line that is not a sentence: a sub-heading.
    fn looks_like_heading(&self) -> bool {
        match self.kind {
            BlockKind::Heading(_) => true,
            BlockKind::Paragraph => {
                let t = self.text.trim();
                !self.bullet && t.chars().count() < 60 && !t.ends_with(['.', ':', ';', ','])
            }
            _ => false,
        }
    }
}

fn strip_bullet(text: &str) -> Option<&str> {
    for marker in [
        "- ", "• ", "* ", "◦ ", "▪ ", "– ", "· ", "o\t", "-\t", "•\t",
    ] {
        if let Some(rest) = text.strip_prefix(marker) {
            return Some(rest);
        }
    }
    None
}

/// Removes inline HTML markup (`<i>`, `</b>`, `<br/>`) that text exports carry, leaving a space.
fn without_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('>');
        let is_tag = close.is_some_and(|c| {
            let inner = after[..c]
                .trim_start_matches('/')
                .trim_end_matches('/')
                .trim();
            let name = inner.split_whitespace().next().unwrap_or("");
            INLINE_TAGS.contains(&name.to_ascii_lowercase().as_str())
        });
        match (is_tag, close) {
            (true, Some(c)) => {
                out.push(' ');
                rest = &after[c + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The HTML elements text exports leave in (formatting, lists, tables); anything else between
/// `<` and `>` is the document's own text.
const INLINE_TAGS: &[&str] = &[
    "i", "b", "u", "em", "strong", "br", "sup", "sub", "span", "s", "small", "ul", "ol", "li", "p",
    "div", "font", "a", "table", "tbody", "thead", "tr", "td", "th", "hr",
];

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `2.6 All those…` → ("2.6", "All those…"); `3.0 Allocation` → ("3.0", …). The number has
/// two to four parts of at most three digits. Whether text starting in lower case is a clause
/// (`2.12 iPhones:`) or a wrapped sentence (`1.5 million…`) is the caller's to decide.
fn clause_number(text: &str) -> Option<(&str, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number = text[..end].trim_end_matches('.');
    let rest = text[end..].trim_start_matches(')');
    let parts: Vec<&str> = number.split('.').collect();
    if !(2..=4).contains(&parts.len())
        || parts.iter().any(|p| p.is_empty() || p.len() > 3)
        || !rest.starts_with(char::is_whitespace)
    {
        return None;
    }
    let rest = rest.trim();
    if rest.is_empty() || rest.starts_with('%') {
        return None;
    }
    Some((number, rest))
}

fn starts_lower(text: &str) -> bool {
    text.starts_with(char::is_lowercase)
}

/// `3. Communicating the policy` → (3, "Communicating the policy"); `12 Mobile phones` as a
/// heading block too.
fn section_heading(line: &Line) -> Option<(u32, String)> {
    let text = line.body.as_str();
    let end = text.find(|c: char| !c.is_ascii_digit())?;
    if end == 0 || end > 3 {
        return None;
    }
    let n: u32 = text[..end].parse().ok()?;
    let rest = &text[end..];
    let title = match rest.strip_prefix('.') {
        Some(title) => title,
        None if matches!(line.kind, BlockKind::Heading(_)) => rest,
        None => return None,
    };
    if !title.starts_with(char::is_whitespace) {
        return None;
    }
    let title = title.trim();
    if title.is_empty() || title.chars().count() >= 70 || title.ends_with('.') {
        return None;
    }
    Some((n, title.trim_end_matches(':').trim().to_owned()))
}

/// `Appendix 1: Retention periods` → ("A1", "Retention periods").
fn appendix(text: &str) -> Option<(String, String)> {
    let rest = text.trim().strip_prefix("Appendix")?;
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let mark = &rest[..end];
    if mark.len() > 3 {
        return None;
    }
    let title = rest[end..]
        .trim()
        .trim_start_matches([':', '-', '–', '.'])
        .trim();
    if title.chars().count() >= 70 {
        return None;
    }
    let mark = if mark.is_empty() { "1" } else { mark };
    Some((format!("A{}", mark.to_uppercase()), title.to_owned()))
}

/// `a) text`, `(b) text`, `c. text` → the letter and the text.
fn lettered(text: &str) -> Option<(char, &str)> {
    let text = text.strip_prefix('(').unwrap_or(text);
    let mut chars = text.chars();
    let letter = chars.next().filter(|c| c.is_ascii_lowercase())?;
    let rest = chars.as_str();
    let rest = rest.strip_prefix(')').or_else(|| rest.strip_prefix('.'))?;
    rest.starts_with(char::is_whitespace)
        .then(|| (letter, rest.trim()))
        .filter(|(_, r)| !r.is_empty())
}

/// `i) text`, `(iv) text`, `ii. text`.
fn roman(text: &str) -> Option<&str> {
    let text = text.strip_prefix('(').unwrap_or(text);
    let end = text.find(|c: char| !matches!(c, 'i' | 'v' | 'x'))?;
    if end == 0 || end > 4 {
        return None;
    }
    let rest = &text[end..];
    let rest = rest.strip_prefix(')').or_else(|| rest.strip_prefix('.'))?;
    rest.starts_with(char::is_whitespace).then(|| rest.trim())
}

fn numbering(lines: &[Line]) -> Numbering {
    let clauses = lines
        .iter()
        .filter(|l| !matches!(l.kind, BlockKind::TableRow | BlockKind::Footnote(_)))
        .filter_map(|l| clause_number(&l.body))
        .filter(|(n, rest)| !n.ends_with(".0") && !starts_lower(rest))
        .count();
    if clauses >= 3 {
        return Numbering::Clauses;
    }
    let sections = lines.iter().filter_map(section_heading).count();
    let headings = lines
        .iter()
        .any(|l| matches!(l.kind, BlockKind::Heading(_)));
    if sections >= 2 || headings {
        Numbering::Sections
    } else {
        Numbering::Paragraphs
    }
}

/// Where the body of a document numbered by section begins: the `1.` heading from which the
/// most sections follow in order with text of their own (not a contents list's `1.`).
fn sections_start(lines: &[Line]) -> usize {
    let mut best = (0usize, 0usize);
    for (i, line) in lines.iter().enumerate() {
        if !matches!(section_heading(line), Some((1, _))) {
            continue;
        }
        let mut section = 1;
        let mut with_text = 0;
        let mut has_text = false;
        for later in &lines[i + 1..] {
            match section_heading(later) {
                Some((n, _)) if n == section + 1 => {
                    with_text += usize::from(has_text);
                    section = n;
                    has_text = false;
                }
                _ => has_text |= !later.looks_like_heading(),
            }
        }
        with_text += usize::from(has_text);
        // The last of equally good starts: a contents list or an appendix's own list comes first.
        if with_text >= best.1 && with_text > 0 {
            best = (i, with_text);
        }
    }
    if best.1 == 0 {
        // Sections are headings without numbers: the body starts at the first heading after the
        // title, or with the document.
        return lines
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, l)| matches!(l.kind, BlockKind::Heading(_)))
            .map_or(0, |(i, _)| i);
    }
    best.0
}

/// A line that can be the document's title: the first heading or short line, not a sentence.
fn is_title(line: &Line) -> bool {
    let text = line.body.trim();
    !line.bullet
        && (matches!(line.kind, BlockKind::Heading(_))
            || (text.chars().count() < 150 && !text.ends_with(['.', ':', ';', ','])))
}

struct Splitter {
    numbering: Numbering,
    metadata: Metadata,
    sections: Vec<(String, String)>,
    preamble: Vec<String>,
    clauses: Vec<Clause>,
    /// The section now open: its number and title.
    section: Option<(String, String)>,
    /// The sub-heading under it.
    subheading: Option<String>,
    /// The numbered clause now open (numbered documents).
    clause: Option<String>,
    letter: Option<char>,
    bullets: u32,
    tables: u32,
    notes: u32,
    /// Paragraphs counted in the open section (by-section numbering, appendices).
    paragraphs: u32,
    /// The highest top-level number seen, so sections numbered by heading continue from it.
    top: u32,
    /// The shallowest heading level seen in the body.
    top_level: Option<u8>,
    in_appendix: bool,
    last_footnote: Option<u32>,
    /// A heading seen since the last clause.
    pending_heading: Option<String>,
}

impl Splitter {
    fn new(numbering: Numbering) -> Splitter {
        Splitter {
            numbering,
            metadata: Metadata::default(),
            sections: Vec::new(),
            preamble: Vec::new(),
            clauses: Vec::new(),
            section: None,
            subheading: None,
            clause: None,
            letter: None,
            bullets: 0,
            tables: 0,
            notes: 0,
            paragraphs: 0,
            top: 0,
            top_level: None,
            in_appendix: false,
            last_footnote: None,
            pending_heading: None,
        }
    }

    /// The front matter of a document numbered by section: its title, metadata table and
    /// preamble; a contents list is dropped.
    fn front(&mut self, lines: &[Line]) {
        for line in lines {
            match line.kind {
                BlockKind::TableRow => {
                    self.table_metadata(line);
                }
                BlockKind::Footnote(n) => self.footnote(n, &line.body),
                _ => {
                    let text = collapse(&line.body);
                    if self.metadata.title.is_none() && is_title(line) {
                        self.metadata.title = Some(text);
                    } else if section_heading(line).is_none() && !line.looks_like_heading() {
                        self.metadata.take_line(&text);
                        self.preamble.push(text);
                    }
                }
            }
        }
    }

    /// A table row of two or more cells whose first is a metadata label.
    fn table_metadata(&mut self, line: &Line) -> bool {
        let cells: Vec<&str> = line.text.trim().split('\t').collect();
        cells.len() >= 2
            && self.metadata.take_row(
                cells[0],
                &cells[1..]
                    .iter()
                    .map(|c| c.trim())
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
    }

    /// A `Key: value` line that only states the document's metadata (`Review: July 2018`).
    fn metadata_line(&self, text: &str) -> bool {
        let mut probe = Metadata::default();
        probe.take_line(text);
        probe != Metadata::default()
    }

    fn heading_path(&self) -> Vec<String> {
        let mut path = Vec::new();
        if let Some((_, title)) = &self.section
            && !title.is_empty()
        {
            path.push(title.clone());
        }
        if let Some(sub) = &self.subheading {
            path.push(sub.clone());
        }
        path
    }

    fn push(&mut self, id: String, text: &str) {
        self.pending_heading = None;
        let heading = self.heading_path();
        // Ids are unique: a repeated number (a typing slip in the document) gets a suffix.
        let mut unique = id.clone();
        let mut n = 1;
        while self.clauses.iter().any(|c| c.id == unique) {
            n += 1;
            unique = format!("{id}~{n}");
        }
        self.clauses.push(Clause {
            id: unique,
            text: collapse(text),
            heading,
        });
    }

    fn append(&mut self, separator: &str, text: &str) {
        if let Some(last) = self.clauses.last_mut() {
            last.text.push_str(separator);
            last.text.push_str(&collapse(text));
        }
    }

    fn open_section(&mut self, number: String, title: String) {
        if !self.sections.iter().any(|(n, _)| *n == number) {
            self.sections.push((number.clone(), title.clone()));
        }
        self.section = Some((number, title));
        self.subheading = None;
        self.clause = None;
        self.letter = None;
        self.paragraphs = 0;
    }

    fn footnote(&mut self, n: u32, text: &str) {
        if self.last_footnote == Some(n) {
            self.append(" ", text);
            return;
        }
        self.last_footnote = Some(n);
        let (section, subheading) = (self.section.take(), self.subheading.take());
        self.push(format!("fn{n}"), text);
        self.section = section;
        self.subheading = subheading;
    }

    fn line(&mut self, line: &Line) {
        if let BlockKind::Footnote(n) = line.kind {
            self.footnote(n, &line.body);
            return;
        }
        self.last_footnote = None;
        if line.kind == BlockKind::TableRow {
            if self.table_metadata(line) {
                return;
            }
            let cells: Vec<&str> = line
                .text
                .split('\t')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            if let [only] = cells[..] {
                // A row of one filled cell is a line set out with tabs.
                let mut as_line = Line::new(&Block {
                    kind: BlockKind::Paragraph,
                    text: only.to_owned(),
                });
                as_line.kind = BlockKind::Paragraph;
                self.metadata.take_line(&as_line.body);
                if as_line.looks_like_heading() || self.metadata_line(&as_line.body) {
                    return;
                }
                self.line(&as_line);
                return;
            }
        }
        if line.kind != BlockKind::TableRow {
            self.metadata.take_line(&line.body);
        }
        if !line.bullet
            && let Some((mark, title)) = appendix(&line.body)
            && (line.looks_like_heading() || line.body.chars().count() < 70)
        {
            self.in_appendix = true;
            self.open_section(mark, title);
            return;
        }
        if self.in_appendix {
            self.paragraph(line);
            return;
        }
        match self.numbering {
            Numbering::Clauses => self.numbered(line),
            Numbering::Sections | Numbering::Paragraphs => self.paragraph(line),
        }
    }

    /// Whether clause `number` belongs to the section open or the next one.
    fn continues(&self, number: &str) -> bool {
        let top: u32 = number
            .split('.')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        match self
            .section
            .as_ref()
            .and_then(|(n, _)| n.parse::<u32>().ok())
        {
            Some(open) => top == open || top == open + 1,
            None => top <= 1,
        }
    }

    /// A line of a document numbered `N.M`.
    fn numbered(&mut self, line: &Line) {
        let body = line.body.as_str();
        if line.kind != BlockKind::TableRow
            && let Some((number, rest)) = clause_number(body)
            && (!starts_lower(rest) || self.continues(number))
        {
            if let Some(section) = number.strip_suffix(".0") {
                self.open_section(section.to_owned(), collapse(rest));
                return;
            }
            let top = number.split('.').next().unwrap_or(number).to_owned();
            if self.section.as_ref().is_none_or(|(n, _)| *n != top) {
                // A heading just before a new section's first clause is that section's title.
                let title = self.pending_heading.take().unwrap_or_default();
                if !self.sections.iter().any(|(n, _)| *n == top) {
                    self.sections.push((top.clone(), title.clone()));
                }
                self.section = Some((top, title));
                self.subheading = None;
            }
            self.clause = Some(number.to_owned());
            self.letter = None;
            self.bullets = 0;
            self.tables = 0;
            self.notes = 0;
            self.push(number.to_owned(), rest);
            return;
        }
        if let Some((n, title)) = section_heading(line)
            && (matches!(line.kind, BlockKind::Heading(_)) || title.starts_with(char::is_uppercase))
        {
            self.open_section(n.to_string(), title);
            return;
        }
        if line.kind != BlockKind::TableRow && line.looks_like_heading() {
            if self.section.is_some() {
                self.subheading = Some(collapse(body));
                self.pending_heading = Some(collapse(body));
            } else if self.metadata.title.is_none() && is_title(line) {
                self.metadata.title = Some(collapse(body));
            }
            return;
        }
        let Some(clause) = self.clause.clone().or_else(|| {
            // A section's text before its first numbered clause.
            self.section.as_ref().map(|(n, _)| format!("{n}.0"))
        }) else {
            // Before the first section: front matter.
            if line.kind != BlockKind::TableRow {
                let text = collapse(body);
                self.metadata.take_line(&text);
                self.preamble.push(text);
            }
            return;
        };
        if self.clause.is_none() {
            // The section's first paragraph opens its `N.0` clause; later ones continue it.
            self.clause = Some(clause.clone());
            self.letter = None;
            self.bullets = 0;
            self.tables = 0;
            self.notes = 0;
            if line.kind != BlockKind::TableRow && !line.bullet {
                self.push(clause, body);
                return;
            }
            self.push(clause.clone(), "");
        }
        if line.kind == BlockKind::TableRow {
            self.tables += 1;
            let text = line.text.trim().replace('\t', " | ");
            self.push(format!("{clause}-T{}", self.tables), &text);
            return;
        }
        if let Some((letter, rest)) = lettered(body) {
            let next = match self.letter {
                None => letter == 'a',
                Some(previous) => letter as u32 == previous as u32 + 1,
            };
            if next {
                self.letter = Some(letter);
                self.push(format!("{clause}({letter})"), rest);
                return;
            }
        }
        if body.starts_with("Note:") || body.starts_with("Note -") || body.starts_with("NB:") {
            self.notes += 1;
            let id = match self.notes {
                1 => format!("{clause}-note"),
                n => format!("{clause}-note{n}"),
            };
            self.push(id, body);
            return;
        }
        let item = if line.bullet {
            Some(body)
        } else {
            roman(body).or_else(|| lettered(body).map(|(_, rest)| rest))
        };
        if let Some(item) = item {
            if self.letter.is_some() {
                self.append(" | ", item);
            } else {
                self.bullets += 1;
                self.push(format!("{clause}-{}", self.bullets), item);
            }
            return;
        }
        // A paragraph carrying on the clause (a page break split it, or a second paragraph).
        self.append(" ", body);
    }

    /// A line of a document numbered by section or not at all, or of an appendix: each
    /// paragraph and bullet is a clause; sub-headings are not.
    fn paragraph(&mut self, line: &Line) {
        if !self.in_appendix {
            if let Some((n, title)) = section_heading(line) {
                let expected = self.top + 1;
                if n == expected || matches!(line.kind, BlockKind::Heading(_)) {
                    if let BlockKind::Heading(level) = line.kind {
                        let top = self.top_level.get_or_insert(level);
                        *top = (*top).min(level);
                    }
                    self.top = n;
                    self.open_section(n.to_string(), title);
                    return;
                }
            }
            if let BlockKind::Heading(level) = line.kind {
                let top = *self.top_level.get_or_insert(level);
                if level <= top {
                    self.top_level = Some(level);
                    self.top += 1;
                    self.open_section(self.top.to_string(), collapse(&line.body));
                } else {
                    self.subheading = Some(collapse(&line.body));
                }
                return;
            }
        }
        if line.looks_like_heading() {
            if self.section.is_none() && self.clauses.is_empty() && self.metadata.title.is_none() {
                self.metadata.title = Some(collapse(&line.body));
            } else {
                self.subheading = Some(collapse(&line.body));
            }
            return;
        }
        let text = match line.kind {
            BlockKind::TableRow => line.text.trim().replace('\t', " "),
            _ => line.body.clone(),
        };
        self.paragraphs += 1;
        let id = match (&self.section, self.numbering) {
            (Some((n, _)), _) => format!("{n}.{}", self.paragraphs),
            (None, _) => self.paragraphs.to_string(),
        };
        self.push(id, &text);
    }

    fn finish(mut self) -> Split {
        self.clauses.retain(|c| !c.text.is_empty());
        if self.metadata.title.is_none() {
            self.metadata.title = self.preamble.first().cloned();
        }
        Split {
            numbering: self.numbering,
            metadata: self.metadata,
            sections: self.sections,
            preamble: self.preamble,
            clauses: self.clauses,
        }
    }
}
