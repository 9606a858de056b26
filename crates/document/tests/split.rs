//! The splitter on documents written for these tests, one of each kind a charity might hand
//! Steward: a numbered text policy, a Markdown policy numbered by section, Word documents made by
//! a word processor with automatic numbering (the numbers are not in the text) and with numbered
//! headings, the same document as a PDF, and a document with no numbering at all. Each is
//! snapshotted whole; the facts each kind exists to prove are asserted beside.

use std::path::Path;

use steward_document::{Numbering, Split, import};

fn split(name: &str) -> Split {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/documents")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    import(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A split as a reviewer reads it.
fn render(split: &Split) -> String {
    let mut out = format!("numbering: {:?}\n{:#?}\n", split.numbering, split.metadata);
    for (number, title) in &split.sections {
        out.push_str(&format!("section {number}: {title}\n"));
    }
    for clause in &split.clauses {
        out.push_str(&format!(
            "{}\t{}\t[{}]\n",
            clause.id,
            clause.text,
            clause.heading.join(" › ")
        ));
    }
    out
}

fn ids(split: &Split) -> Vec<&str> {
    split.clauses.iter().map(|c| c.id.as_str()).collect()
}

fn text<'a>(split: &'a Split, id: &str) -> &'a str {
    split
        .clauses
        .iter()
        .find(|c| c.id == id)
        .map_or_else(|| panic!("no clause {id} in {:?}", ids(split)), |c| &c.text)
}

#[test]
fn every_test_document_splits_as_reviewed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/documents");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        insta::assert_snapshot!(name.clone(), render(&split(&name)));
    }
}

#[test]
fn word_automatic_numbering_gives_the_numbers_the_reader_sees() {
    // meadow.docx: LibreOffice list levels `%1.`, `%1.%2`, `%3)` and a bullet; no number is in
    // the text of any paragraph.
    let s = split("meadow.docx");
    assert_eq!(s.numbering, Numbering::Clauses);
    assert_eq!(
        ids(&s),
        ["1.1", "1.2", "1.2(a)", "1.2(b)", "2.1", "2.2", "fn1"]
    );
    assert_eq!(
        text(&s, "1.2(b)"),
        "report a lost phone within 24 hours; | to the IT lead, and | to their line manager."
    );
    assert_eq!(
        text(&s, "fn1"),
        "Out of hours, use the emergency number on the intranet."
    );
    assert_eq!(s.clauses[0].heading, ["Laptops and phones"]);
    assert_eq!(s.metadata.version.as_deref(), Some("1.4"));
    assert_eq!(
        s.metadata.title.as_deref(),
        Some("Meadow Trust Device Policy")
    );
}

#[test]
fn numbered_headings_from_a_style_open_sections() {
    // outline.docx: the Heading 1 style carries the numbering (`w:numPr` in styles.xml).
    let s = split("outline.docx");
    assert_eq!(ids(&s), ["1.1", "2.1", "2.2"]);
    assert_eq!(s.clauses[1].heading, ["Passwords"]);
}

#[test]
fn a_pdf_reads_as_its_document() {
    let pdf = split("meadow.pdf");
    let docx = split("meadow.docx");
    for id in ["1.1", "1.2", "1.2(a)", "2.1", "2.2"] {
        assert_eq!(text(&pdf, id), text(&docx, id), "{id}");
    }
    assert_eq!(pdf.metadata.approved_on, docx.metadata.approved_on);
}

#[test]
fn a_numbered_text_policy_keeps_letters_bullets_tables_notes_and_footnotes() {
    let s = split("numbered.txt");
    assert_eq!(
        ids(&s),
        [
            "1.0", "1.1", "1.2", "1.2(a)", "1.2(b)", "1.2(c)", "1.3", "1.3-T1", "1.3-T2", "1.3-T3",
            "1.3-note", "2.1", "2.2", "2.2-1", "2.2-2", "fn1"
        ]
    );
    assert_eq!(text(&s, "1.3-T2"), "Caseworker | Yes | Yes");
    assert_eq!(s.clauses[11].heading, ["Passwords and accounts"]);
    assert_eq!(s.metadata.approver.as_deref(), Some("Board of Trustees"));
}

#[test]
fn markdown_sections_number_their_paragraphs() {
    let s = split("sections.md");
    assert_eq!(s.numbering, Numbering::Sections);
    assert_eq!(
        text(&s, "3.2"),
        "Email containing personal data must be sent encrypted, using the approved service."
    );
    assert_eq!(
        text(&s, "2.3"),
        "keep equipment in a locked drawer when not in use;"
    );
    assert_eq!(
        s.clauses
            .iter()
            .find(|c| c.id == "2.5")
            .map(|c| c.heading.clone()),
        Some(vec!["Equipment".to_owned(), "Phones".to_owned()])
    );
}

#[test]
fn a_document_without_numbers_is_split_by_paragraph() {
    let s = split("unnumbered.txt");
    assert_eq!(s.numbering, Numbering::Paragraphs);
    assert_eq!(ids(&s), ["1", "2", "3", "4", "5"]);
    assert_eq!(
        s.metadata.title.as_deref(),
        Some("Small Group Computer Rules")
    );
}

#[test]
fn what_is_not_a_document_is_refused_with_a_reason() {
    let refused = |name: &str, bytes: &[u8]| match import(name, bytes) {
        Ok(s) => panic!("{name} read as {s:?}"),
        Err(e) => e.to_string(),
    };
    assert!(refused("policy.doc", b"x").contains("not a format Steward reads"));
    assert!(refused("policy.docx", b"PK\x03\x04 not really").contains("not a Word document"));
    assert!(refused("policy.pdf", b"%PDF-1.7\n garbage").contains("not a readable PDF"));
    assert!(refused("policy.txt", b"\xff\xfe\x00").contains("not UTF-8"));
}

mod hostile {
    use proptest::prelude::*;

    proptest! {
        /// Whatever the text, the splitter returns clauses with unique ids and no panic.
        #[test]
        fn any_text_splits(lines in proptest::collection::vec("[ -~\t·•¹²a-z0-9().:-]{0,40}", 0..40)) {
            let text = lines.join("\n");
            for name in ["p.txt", "p.md"] {
                let split = steward_document::import(name, text.as_bytes()).unwrap();
                let mut ids: Vec<&str> = split.clauses.iter().map(|c| c.id.as_str()).collect();
                let n = ids.len();
                ids.sort_unstable();
                ids.dedup();
                prop_assert_eq!(ids.len(), n);
            }
        }

        /// Bytes that are not a document are refused, never a panic.
        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            for name in ["p.docx", "p.pdf"] {
                let _ = steward_document::import(name, &bytes);
            }
        }
    }
}
