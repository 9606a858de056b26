//! Word documents (`.docx`, as Word and LibreOffice write them): the body's paragraphs and tables
//! in order, each paragraph's automatic number computed as the word processor shows it — from
//! `numbering.xml`, whether the paragraph names its list (`w:numPr`) or its style does — headings
//! by their style or outline level, and the footnotes, numbered in the order they are referred to.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use roxmltree::{Document, Node};

use crate::{Block, BlockKind, DocumentError, MAX_DOCUMENT_BYTES};

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

pub(crate) fn read(bytes: &[u8]) -> Result<Vec<Block>, DocumentError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| DocumentError::Docx {
            reason: format!("not a zip archive ({e})"),
        })?;
    let body = part(&mut archive, "word/document.xml")?.ok_or_else(|| DocumentError::Docx {
        reason: "it has no word/document.xml".to_owned(),
    })?;
    let numbering = part(&mut archive, "word/numbering.xml")?;
    let styles = part(&mut archive, "word/styles.xml")?;
    let footnotes = part(&mut archive, "word/footnotes.xml")?;

    let body = xml(&body, "word/document.xml")?;
    let numbering = match &numbering {
        Some(text) => Numbering::read(&xml(text, "word/numbering.xml")?),
        None => Numbering::default(),
    };
    let styles = match &styles {
        Some(text) => Styles::read(&xml(text, "word/styles.xml")?),
        None => Styles::default(),
    };
    let mut reader = Reader {
        numbering,
        styles,
        counters: HashMap::new(),
        blocks: Vec::new(),
        footnote_order: Vec::new(),
    };
    let root = body.root_element();
    if let Some(content) = child(root, "body") {
        reader.container(content);
    }
    if let Some(text) = &footnotes {
        let notes = xml(text, "word/footnotes.xml")?;
        reader.footnotes(&notes);
    }
    Ok(reader.blocks)
}

/// One part of the package as text, refusing parts larger than a document could be.
fn part(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<String>, DocumentError> {
    let file = match archive.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => {
            return Err(DocumentError::Docx {
                reason: format!("{name}: {e}"),
            });
        }
    };
    let mut bytes = Vec::new();
    let limit = MAX_DOCUMENT_BYTES as u64 * 4;
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DocumentError::Docx {
            reason: format!("{name}: {e}"),
        })?;
    if bytes.len() as u64 > limit {
        return Err(DocumentError::Docx {
            reason: format!("{name} unpacks to more than {limit} bytes"),
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| DocumentError::Docx {
            reason: format!("{name} is not UTF-8"),
        })
}

fn xml<'a>(text: &'a str, name: &str) -> Result<Document<'a>, DocumentError> {
    Document::parse(text).map_err(|e| DocumentError::Docx {
        reason: format!("{name}: {e}"),
    })
}

fn is(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(W)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| is(*n, name))
}

fn val<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.attribute((W, "val"))
}

/// How one level of a list is numbered.
#[derive(Debug, Clone, Default)]
struct Level {
    start: i64,
    format: String,
    text: String,
}

#[derive(Debug, Default)]
struct Numbering {
    /// Abstract list id → its levels, by `ilvl`.
    abstracts: HashMap<String, HashMap<u8, Level>>,
    /// List instance (`numId`) → its abstract list and the levels it restarts.
    instances: HashMap<String, (String, HashMap<u8, i64>)>,
}

impl Numbering {
    fn read(doc: &Document<'_>) -> Numbering {
        let mut numbering = Numbering::default();
        for node in doc.root_element().children() {
            if is(node, "abstractNum") {
                let Some(id) = node.attribute((W, "abstractNumId")) else {
                    continue;
                };
                let mut levels = HashMap::new();
                for level in node.children().filter(|n| is(*n, "lvl")) {
                    let Some(ilvl) = level.attribute((W, "ilvl")).and_then(|v| v.parse().ok())
                    else {
                        continue;
                    };
                    levels.insert(
                        ilvl,
                        Level {
                            start: child(level, "start")
                                .and_then(val)
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(1),
                            format: child(level, "numFmt")
                                .and_then(val)
                                .unwrap_or("decimal")
                                .to_owned(),
                            text: child(level, "lvlText")
                                .and_then(val)
                                .unwrap_or("")
                                .to_owned(),
                        },
                    );
                }
                numbering.abstracts.insert(id.to_owned(), levels);
            } else if is(node, "num") {
                let (Some(id), Some(abstract_id)) = (
                    node.attribute((W, "numId")),
                    child(node, "abstractNumId").and_then(val),
                ) else {
                    continue;
                };
                let mut restarts = HashMap::new();
                for o in node.children().filter(|n| is(*n, "lvlOverride")) {
                    let ilvl = o.attribute((W, "ilvl")).and_then(|v| v.parse().ok());
                    let start = child(o, "startOverride")
                        .and_then(val)
                        .and_then(|v| v.parse().ok());
                    if let (Some(ilvl), Some(start)) = (ilvl, start) {
                        restarts.insert(ilvl, start);
                    }
                }
                numbering
                    .instances
                    .insert(id.to_owned(), (abstract_id.to_owned(), restarts));
            }
        }
        numbering
    }
}

/// A paragraph style: its list, its outline level, the style it is based on.
#[derive(Debug, Default, Clone)]
struct Style {
    list: Option<(String, u8)>,
    outline: Option<u8>,
    based_on: Option<String>,
}

#[derive(Debug, Default)]
struct Styles(HashMap<String, Style>);

impl Styles {
    fn read(doc: &Document<'_>) -> Styles {
        let mut styles = HashMap::new();
        for node in doc.root_element().children().filter(|n| is(*n, "style")) {
            let Some(id) = node.attribute((W, "styleId")) else {
                continue;
            };
            let name = child(node, "name").and_then(val).unwrap_or(id);
            let properties = child(node, "pPr");
            let outline = properties
                .and_then(|p| child(p, "outlineLvl"))
                .and_then(val)
                .and_then(|v| v.parse::<u8>().ok())
                .or_else(|| heading_level(name))
                .or_else(|| heading_level(id));
            styles.insert(
                id.to_owned(),
                Style {
                    list: properties.and_then(list_of),
                    outline,
                    based_on: child(node, "basedOn").and_then(val).map(str::to_owned),
                },
            );
        }
        Styles(styles)
    }

    /// A style's own property, or the first of the styles it is based on to set it.
    fn find<T>(&self, id: &str, property: impl Fn(&Style) -> Option<T>) -> Option<T> {
        let mut id = id;
        for _ in 0..16 {
            let style = self.0.get(id)?;
            if let Some(found) = property(style) {
                return Some(found);
            }
            id = style.based_on.as_deref()?;
        }
        None
    }
}

/// `heading 2` → 1 (outline levels count from 0); `Title` → 0.
fn heading_level(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if lower == "title" {
        return Some(0);
    }
    let rest = lower.strip_prefix("heading")?.trim();
    let n: u8 = rest.parse().ok()?;
    n.checked_sub(1)
}

/// A paragraph's or style's `w:numPr`: its list instance and level. `numId` 0 turns a style's
/// numbering off.
fn list_of(properties: Node<'_, '_>) -> Option<(String, u8)> {
    let numbering = child(properties, "numPr")?;
    let id = child(numbering, "numId").and_then(val)?;
    let level = child(numbering, "ilvl")
        .and_then(val)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some((id.to_owned(), level))
}

struct Reader {
    numbering: Numbering,
    styles: Styles,
    /// Each abstract list's counters by level, as far as the document has reached.
    counters: HashMap<String, [Option<i64>; 9]>,
    blocks: Vec<Block>,
    footnote_order: Vec<String>,
}

impl Reader {
    fn container(&mut self, node: Node<'_, '_>) {
        for item in node.children() {
            if is(item, "p") {
                self.paragraph(item);
            } else if is(item, "tbl") {
                self.table(item);
            } else if is(item, "sdt")
                && let Some(content) = child(item, "sdtContent")
            {
                self.container(content);
            }
        }
    }

    fn paragraph(&mut self, p: Node<'_, '_>) {
        let properties = child(p, "pPr");
        let style = properties
            .and_then(|pr| child(pr, "pStyle"))
            .and_then(val)
            .map(str::to_owned);
        let list = properties.and_then(list_of).or_else(|| {
            style
                .as_deref()
                .and_then(|s| self.styles.find(s, |st| st.list.clone()))
        });
        let outline = properties
            .and_then(|pr| child(pr, "outlineLvl"))
            .and_then(val)
            .and_then(|v| v.parse::<u8>().ok())
            .or_else(|| {
                style
                    .as_deref()
                    .and_then(|s| self.styles.find(s, |st| st.outline))
            });
        let text = self.runs(p);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let number = list.and_then(|(id, level)| self.number(&id, level));
        let text = match number {
            Some(number) if !number.is_empty() => format!("{number} {text}"),
            _ => text.to_owned(),
        };
        let kind = match outline {
            Some(level) if level < 9 => BlockKind::Heading(level + 1),
            _ => BlockKind::Paragraph,
        };
        self.blocks.push(Block { kind, text });
    }

    /// The text of a paragraph's runs: text, tabs as tabs, breaks as spaces; deleted text and
    /// field codes left out. Footnote references are remembered for numbering the footnotes.
    fn runs(&mut self, p: Node<'_, '_>) -> String {
        let mut text = String::new();
        for node in p.descendants() {
            if is(node, "t") {
                text.push_str(node.text().unwrap_or(""));
            } else if is(node, "tab") && node.parent().is_some_and(|n| is(n, "r")) {
                text.push('\t');
            } else if is(node, "br") || is(node, "cr") {
                text.push(' ');
            } else if is(node, "noBreakHyphen") {
                text.push('-');
            } else if is(node, "footnoteReference")
                && let Some(id) = node.attribute((W, "id"))
            {
                self.footnote_order.push(id.to_owned());
            }
        }
        text
    }

    /// The number the word processor shows for the next paragraph of list `id` at `level`.
    fn number(&mut self, id: &str, level: u8) -> Option<String> {
        if id == "0" || level > 8 {
            return None;
        }
        let (abstract_id, restarts) = self.numbering.instances.get(id)?;
        let levels = self.numbering.abstracts.get(abstract_id)?;
        let counters = self.counters.entry(abstract_id.clone()).or_default();
        let at = usize::from(level);
        for (l, counter) in counters.iter_mut().enumerate().take(at) {
            if counter.is_none() {
                *counter = Some(levels.get(&(l as u8)).map_or(1, |lv| lv.start));
            }
        }
        let start = restarts
            .get(&level)
            .copied()
            .unwrap_or_else(|| levels.get(&level).map_or(1, |lv| lv.start));
        counters[at] = Some(match counters[at] {
            Some(n) => n.saturating_add(1),
            None => start,
        });
        for counter in counters.iter_mut().skip(at + 1) {
            *counter = None;
        }
        let this = levels.get(&level)?;
        match this.format.as_str() {
            "bullet" => return Some("-".to_owned()),
            "none" => return Some(String::new()),
            _ => {}
        }
        let mut out = String::new();
        let mut chars = this.text.chars().peekable();
        while let Some(c) = chars.next() {
            let digit = chars.peek().and_then(|d| d.to_digit(10));
            match (c, digit) {
                ('%', Some(k @ 1..=9)) => {
                    chars.next();
                    let l = (k - 1) as usize;
                    let n = counters[l].unwrap_or(1);
                    let format = levels.get(&(l as u8)).map_or("decimal", |lv| &lv.format);
                    out.push_str(&formatted(n, format));
                }
                _ => out.push(c),
            }
        }
        Some(out.trim().to_owned())
    }

    fn table(&mut self, table: Node<'_, '_>) {
        for row in table.children().filter(|n| is(*n, "tr")) {
            let mut cells = Vec::new();
            for cell in row.children().filter(|n| is(*n, "tc")) {
                let mut text = Vec::new();
                for p in cell.descendants().filter(|n| is(*n, "p")) {
                    let t = self.runs(p).replace('\t', " ");
                    if !t.trim().is_empty() {
                        text.push(t.trim().to_owned());
                    }
                }
                cells.push(text.join(" "));
            }
            if cells.iter().any(|c| !c.is_empty()) {
                self.blocks.push(Block {
                    kind: BlockKind::TableRow,
                    text: cells.join("\t"),
                });
            }
        }
    }

    fn footnotes(&mut self, notes: &Document<'_>) {
        let mut texts = HashMap::new();
        for note in notes
            .root_element()
            .children()
            .filter(|n| is(*n, "footnote"))
        {
            // Separators and continuation notices are not footnotes.
            if note.attribute((W, "type")).is_some() {
                continue;
            }
            let Some(id) = note.attribute((W, "id")) else {
                continue;
            };
            let mut text = Vec::new();
            for p in note.children().filter(|n| is(*n, "p")) {
                let t = self.runs(p);
                if !t.trim().is_empty() {
                    text.push(t.trim().to_owned());
                }
            }
            texts.insert(id.to_owned(), text.join(" "));
        }
        let order = std::mem::take(&mut self.footnote_order);
        let mut number = 0;
        for id in order {
            if let Some(text) = texts.remove(&id) {
                number += 1;
                self.blocks.push(Block {
                    kind: BlockKind::Footnote(number),
                    text,
                });
            }
        }
    }
}

/// `n` in a list level's number format.
fn formatted(n: i64, format: &str) -> String {
    match format {
        "lowerLetter" => letters(n),
        "upperLetter" => letters(n).to_uppercase(),
        "lowerRoman" => roman(n),
        "upperRoman" => roman(n).to_uppercase(),
        "decimalZero" if (0..10).contains(&n) => format!("0{n}"),
        _ => n.to_string(),
    }
}

/// 1 → a, 26 → z, 27 → aa (as Word repeats the letter).
fn letters(n: i64) -> String {
    if n < 1 {
        return n.to_string();
    }
    let index = (n - 1) % 26;
    let times = ((n - 1) / 26 + 1).min(10) as usize;
    let letter = char::from(b'a' + index as u8);
    std::iter::repeat_n(letter, times).collect()
}

fn roman(n: i64) -> String {
    if !(1..4000).contains(&n) {
        return n.to_string();
    }
    let mut n = n;
    let mut out = String::new();
    for (value, digits) in [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ] {
        while n >= value {
            out.push_str(digits);
            n -= value;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(letters(1), "a");
        assert_eq!(letters(26), "z");
        assert_eq!(letters(28), "bb");
        assert_eq!(roman(4), "iv");
        assert_eq!(roman(1994), "mcmxciv");
        assert_eq!(formatted(3, "upperLetter"), "C");
        assert_eq!(heading_level("heading 2"), Some(1));
        assert_eq!(heading_level("Heading 1"), Some(0));
        assert_eq!(heading_level("Body Text"), None);
    }
}
