//! Text PDFs (as a word processor exports them). lopdf parses the file, its content streams and
//! its fonts' encodings; this module only lays the decoded text out again: pieces of text at the
//! same height are one line, in order across the page, a wide gap between them a table's cell
//! boundary (a tab), and the lines are read as plain text is. A scanned PDF has no text and is
//! refused with a reason. Footnote marks stay in the text as the page prints them.

use std::collections::BTreeMap;

use lopdf::content::Content;
use lopdf::{Document, Encoding, Object};

use crate::{Block, DocumentError, text};

pub(crate) fn read(bytes: &[u8]) -> Result<Vec<Block>, DocumentError> {
    // The parser is a third party's: a panic inside it on a malformed file is caught and
    // reported as an unreadable document, so no upload can take a server thread down.
    let lines = std::panic::catch_unwind(|| lines(bytes)).map_err(|_| DocumentError::Pdf {
        reason: "its structure could not be followed".to_owned(),
    })??;
    let blocks = text::read(&lines.join("\n"));
    if blocks.is_empty() {
        return Err(DocumentError::PdfWithoutText);
    }
    Ok(blocks)
}

fn failed(e: lopdf::Error) -> DocumentError {
    DocumentError::Pdf {
        reason: e.to_string(),
    }
}

/// A piece of text where the page places it.
struct Piece {
    x: f32,
    y: f32,
    size: f32,
    text: String,
}

fn lines(bytes: &[u8]) -> Result<Vec<String>, DocumentError> {
    let document = Document::load_mem(bytes).map_err(failed)?;
    let pages = document.get_pages();
    if pages.is_empty() {
        return Err(DocumentError::Pdf {
            reason: "it has no pages".to_owned(),
        });
    }
    let mut out = Vec::new();
    for page in pages.values() {
        let fonts = document.get_page_fonts(*page).map_err(failed)?;
        let encodings: BTreeMap<Vec<u8>, Encoding<'_>> = fonts
            .into_iter()
            .filter_map(|(name, font)| font.get_font_encoding(&document).ok().map(|e| (name, e)))
            .collect();
        let content = document.get_page_content(*page).map_err(failed)?;
        let content = Content::decode(&content).map_err(failed)?;
        let pieces = pieces(&content, &encodings);
        out.extend(layout(pieces));
    }
    Ok(out)
}

fn number(object: &Object) -> Option<f32> {
    match object {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

/// The text a page shows and where: the text matrix followed through `BT`, `Td`, `TD`, `Tm`,
/// `T*` and `TL` (enough for what word processors write; the graphics matrix is not followed).
fn pieces(content: &Content, encodings: &BTreeMap<Vec<u8>, Encoding<'_>>) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let (mut line_x, mut line_y, mut leading, mut size) = (0.0f32, 0.0f32, 0.0f32, 12.0f32);
    let mut encoding = None;
    for op in &content.operations {
        let operands: Vec<f32> = op.operands.iter().filter_map(number).collect();
        match op.operator.as_str() {
            "BT" => {
                line_x = 0.0;
                line_y = 0.0;
            }
            "Tf" => {
                encoding = op
                    .operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|name| encodings.get(name));
                if let Some(s) = op.operands.get(1).and_then(number) {
                    size = s.abs().max(1.0);
                }
            }
            "TL" => leading = operands.first().copied().unwrap_or(leading),
            "Td" | "TD" => {
                if let [tx, ty] = operands[..] {
                    line_x += tx;
                    line_y += ty;
                    if op.operator == "TD" {
                        leading = -ty;
                    }
                }
            }
            "Tm" => {
                if let [_, _, _, d, e, f] = operands[..] {
                    line_x = e;
                    line_y = f;
                    if d.abs() > 0.0 {
                        size = size.max(1.0);
                    }
                }
            }
            "T*" => line_y -= leading,
            "'" | "\"" => line_y -= leading,
            _ => {}
        }
        if matches!(op.operator.as_str(), "Tj" | "TJ" | "'" | "\"") {
            let Some(encoding) = encoding else {
                continue;
            };
            let mut text = String::new();
            for operand in &op.operands {
                shown(operand, encoding, size, &mut text);
            }
            if !text.trim().is_empty() {
                pieces.push(Piece {
                    x: line_x,
                    y: line_y,
                    size,
                    text,
                });
            }
        }
    }
    pieces
}

/// Appends the text a `Tj`/`TJ` operand shows; in a `TJ` array a large negative adjustment
/// (more than a fifth of the font's size) is a space the page leaves between words.
fn shown(operand: &Object, encoding: &Encoding<'_>, size: f32, text: &mut String) {
    match operand {
        Object::String(bytes, _) => {
            if let Ok(decoded) = Document::decode_text(encoding, bytes) {
                text.push_str(&decoded);
            }
        }
        Object::Array(items) => {
            for item in items {
                match number(item) {
                    Some(adjust) if adjust < -200.0 && !text.ends_with(' ') => {
                        let _ = size;
                        text.push(' ');
                    }
                    Some(_) => {}
                    None => shown(item, encoding, size, text),
                }
            }
        }
        _ => {}
    }
}

/// Pieces into lines, top of the page first: pieces whose heights differ by less than half the
/// font size share a line; a gap of more than three times the font size between one piece's
/// estimated end and the next piece is a tab.
fn layout(mut pieces: Vec<Piece>) -> Vec<String> {
    // The page's body text size: the size most characters are set in.
    let mut sizes: Vec<(f32, usize)> = Vec::new();
    for piece in &pieces {
        let n = piece.text.chars().count();
        match sizes
            .iter_mut()
            .find(|(s, _)| (*s - piece.size).abs() < 0.1)
        {
            Some((_, count)) => *count += n,
            None => sizes.push((piece.size, n)),
        }
    }
    let page_body = sizes
        .iter()
        .max_by_key(|(_, n)| *n)
        .map_or(12.0, |(s, _)| *s);
    pieces.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x.total_cmp(&b.x)));
    let mut lines: Vec<Vec<Piece>> = Vec::new();
    for piece in pieces {
        match lines.last_mut() {
            Some(line) if (line[0].y - piece.y).abs() < line[0].size.max(piece.size) * 0.5 => {
                line.push(piece);
            }
            _ => lines.push(vec![piece]),
        }
    }
    lines
        .into_iter()
        .map(|mut line| {
            line.sort_by(|a, b| a.x.total_cmp(&b.x));
            let body = line.iter().map(|p| p.size).fold(0.0f32, f32::max);
            // A line set smaller than the page's text, opening with a number, is a footnote.
            let footnote_line = body < page_body * 0.9
                && line.len() > 1
                && line[0].text.trim().chars().all(|c| c.is_ascii_digit())
                && !line[0].text.trim().is_empty();
            let mut text = String::new();
            let mut end = f32::MIN;
            for (i, mut piece) in line.into_iter().enumerate() {
                // A number in a smaller font is a footnote mark: opening a line, the footnote
                // itself (written as superscript digits, as text exports do); in a line, a
                // reference to one, left out.
                let mark = (piece.size < body * 0.8 || (footnote_line && i == 0))
                    && piece.text.trim().chars().all(|c| c.is_ascii_digit())
                    && !piece.text.trim().is_empty();
                if mark && i > 0 {
                    continue;
                }
                if mark {
                    piece.text = piece.text.trim().chars().map(superscript).collect();
                    text.push_str(&piece.text);
                    text.push(' ');
                    end = piece.x;
                    continue;
                }
                if !text.is_empty() {
                    if piece.x - end > piece.size * 3.0 {
                        text.push('\t');
                    } else if !text.ends_with(' ') && !piece.text.starts_with(' ') {
                        text.push(' ');
                    }
                }
                end = piece.x + piece.text.chars().count() as f32 * piece.size * 0.5;
                text.push_str(&piece.text);
            }
            text
        })
        .collect()
}

fn superscript(digit: char) -> char {
    match digit {
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '4' => '⁴',
        '5' => '⁵',
        '6' => '⁶',
        '7' => '⁷',
        '8' => '⁸',
        '9' => '⁹',
        other => other,
    }
}
