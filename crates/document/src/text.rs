//! Plain text: one block per non-empty line. A line with a tab is a table row (word processors
//! write table cells tab-separated when saving as text); a line opening with a superscript number
//! is that footnote.

use crate::{Block, BlockKind};

pub(crate) fn read(text: &str) -> Vec<Block> {
    text.lines().filter_map(block).collect()
}

/// The block one line of text makes, if it is not blank.
pub(crate) fn block(line: &str) -> Option<Block> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return None;
    }
    // A trailing tab still marks a table row (a label whose value cell is empty).
    let row = line.trim_start_matches([' ', '\u{a0}']).contains('\t');
    let line = line.trim_end_matches([' ', '\u{a0}']);
    if let Some((number, rest)) = footnote(line.trim_start()) {
        return Some(Block {
            kind: BlockKind::Footnote(number),
            text: rest.trim().to_owned(),
        });
    }
    let trimmed = line.trim_start_matches([' ', '\u{a0}']);
    let kind = if row {
        BlockKind::TableRow
    } else {
        BlockKind::Paragraph
    };
    let text = match kind {
        BlockKind::TableRow => trimmed.to_owned(),
        _ => trimmed.trim().to_owned(),
    };
    Some(Block { kind, text })
}

/// `¹ The text` → (1, "The text").
fn footnote(line: &str) -> Option<(u32, &str)> {
    let digits: String = line.chars().map_while(superscript_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let rest = line
        .char_indices()
        .find(|(_, c)| superscript_digit(*c).is_none())
        .map_or("", |(i, _)| &line[i..]);
    if !rest.starts_with(char::is_whitespace) || rest.trim().is_empty() {
        return None;
    }
    Some((digits.parse().ok()?, rest))
}

fn superscript_digit(c: char) -> Option<char> {
    let digit = match c {
        '⁰' => '0',
        '¹' => '1',
        '²' => '2',
        '³' => '3',
        '⁴' => '4',
        '⁵' => '5',
        '⁶' => '6',
        '⁷' => '7',
        '⁸' => '8',
        '⁹' => '9',
        _ => return None,
    };
    Some(digit)
}
