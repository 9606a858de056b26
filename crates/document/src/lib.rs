//! Reading a written policy into its clauses: the first step of turning an organisation's own
//! document into a policy pack.
//!
//! It owns two things, kept apart as a parser and its interpreter are:
//! - **reading** (`text`, `markdown`, `docx`, `pdf`): the bytes of a `.txt`, `.md`, `.docx` or
//!   text `.pdf` become [`Block`]s — headings, paragraphs, list items with the numbers a word
//!   processor computes (Word's and LibreOffice's automatic numbering), table rows, footnotes;
//! - **splitting** (`split`): blocks become [`Clause`]s with the ids Steward's inventories use
//!   (`2.6`, `2.6(w)`, `3.9-1`, `3.2-T1`, `3.2-note`, `fn1`; or `N.K`, the K-th paragraph of
//!   section N, for documents numbered only by section), each with its heading path, and the
//!   document's front matter becomes [`Metadata`].
//!
//! It must never read a file or the clock, write anything, or know the pack format: it is handed
//! bytes and returns values; the policy crate and the binary make packs of them. Any input, however
//! malformed, gives a value or a [`DocumentError`], never a panic.

mod docx;
mod error;
mod markdown;
mod metadata;
mod pdf;
mod split;
mod text;

pub use error::DocumentError;
pub use metadata::Metadata;
pub use split::{Clause, Numbering, Split, split};

/// The largest document read, in bytes (a policy is tens of kilobytes; a `.docx` with images a
/// few megabytes).
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;

/// The formats a policy document is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Docx,
    Pdf,
}

impl Format {
    /// The format a file name's extension names, if it is one Steward reads.
    pub fn from_name(name: &str) -> Option<Format> {
        let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "txt" | "text" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "docx" => Some(Format::Docx),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// What a block of the document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    /// A heading the document marks as one (a heading style, a `#` line), with its level from 1.
    Heading(u8),
    /// A paragraph or list item; its number or bullet, where the word processor computed it, is
    /// written at the start of its text as the document shows it (`2.6 `, `a) `, `- `).
    Paragraph,
    /// A table row; its cells are separated by tabs.
    TableRow,
    /// A footnote, with its number.
    Footnote(u32),
}

/// One block of a document, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    pub text: String,
}

/// Reads a document of the format `name`'s extension names into blocks.
pub fn read(name: &str, bytes: &[u8]) -> Result<Vec<Block>, DocumentError> {
    let format = Format::from_name(name).ok_or_else(|| DocumentError::Format {
        name: name.to_owned(),
    })?;
    read_as(format, bytes)
}

/// Reads a document of a known format into blocks.
pub fn read_as(format: Format, bytes: &[u8]) -> Result<Vec<Block>, DocumentError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge {
            bytes: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    match format {
        Format::Text => Ok(text::read(&utf8(bytes)?)),
        Format::Markdown => Ok(markdown::read(&utf8(bytes)?)),
        Format::Docx => docx::read(bytes),
        Format::Pdf => pdf::read(bytes),
    }
}

/// Reads and splits a document in one step.
pub fn import(name: &str, bytes: &[u8]) -> Result<Split, DocumentError> {
    Ok(split(&read(name, bytes)?))
}

fn utf8(bytes: &[u8]) -> Result<String, DocumentError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => Err(DocumentError::Encoding {
            offset: e.valid_up_to(),
        }),
    }
}
