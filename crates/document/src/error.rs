use thiserror::Error;

/// Why a document could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error(
        "{name}: not a format Steward reads; give a .docx, .md, .txt or .pdf file (a .doc or scanned PDF can be saved as one of these)"
    )]
    Format { name: String },
    #[error("the document is {bytes} bytes; the largest read is {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("the text is not UTF-8 (first bad byte at offset {offset}); save it as UTF-8")]
    Encoding { offset: usize },
    #[error("not a Word document (.docx): {reason}")]
    Docx { reason: String },
    #[error("not a readable PDF: {reason}")]
    Pdf { reason: String },
    #[error(
        "the PDF has no text to read (a scanned document?); export it from the word processor as text, or give the .docx"
    )]
    PdfWithoutText,
}
