//! Markdown (CommonMark with tables and footnotes): `#` headings, paragraphs, list items (a bullet
//! written `- `, an ordered item its number), table rows and footnote definitions. Emphasis and
//! links keep their text only.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::{Block, BlockKind};

pub(crate) fn read(text: &str) -> Vec<Block> {
    let mut reader = Reader::default();
    let options = Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES;
    for event in Parser::new_ext(text, options) {
        reader.event(event);
    }
    reader.flush();
    reader.blocks
}

#[derive(Default)]
struct Reader {
    blocks: Vec<Block>,
    text: String,
    kind: Option<BlockKind>,
    /// The next number of each open list (`None`: a bulleted list).
    lists: Vec<Option<u64>>,
    /// The marker of the list item whose first block is still to come.
    marker: Option<String>,
    cells: Vec<String>,
    in_cell: bool,
    footnote: Option<u32>,
    footnotes: u32,
}

impl Reader {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Code(text) => self.push(&text),
            Event::SoftBreak | Event::HardBreak => self.push(" "),
            Event::FootnoteReference(_)
            | Event::Html(_)
            | Event::InlineHtml(_)
            | Event::Rule
            | Event::TaskListMarker(_)
            | Event::InlineMath(_)
            | Event::DisplayMath(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush();
                self.kind = Some(BlockKind::Heading(level as u8));
            }
            Tag::Paragraph if !self.in_cell => self.flush(),
            Tag::List(start) => {
                self.flush();
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let marker = format!("{n}. ");
                        *n += 1;
                        marker
                    }
                    _ => "- ".to_owned(),
                };
                self.marker = Some(marker);
            }
            Tag::TableHead | Tag::TableRow => self.cells.clear(),
            Tag::TableCell => {
                self.in_cell = true;
                self.text.clear();
            }
            Tag::FootnoteDefinition(label) => {
                self.flush();
                self.footnotes += 1;
                self.footnote = Some(label.trim().parse().unwrap_or(self.footnotes));
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) | TagEnd::Paragraph | TagEnd::Item if !self.in_cell => self.flush(),
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
            }
            TagEnd::TableCell => {
                self.in_cell = false;
                self.cells
                    .push(std::mem::take(&mut self.text).trim().to_owned());
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                let cells = std::mem::take(&mut self.cells);
                if cells.iter().any(|c| !c.is_empty()) {
                    self.blocks.push(Block {
                        kind: BlockKind::TableRow,
                        text: cells.join("\t"),
                    });
                }
            }
            TagEnd::FootnoteDefinition => {
                self.flush();
                self.footnote = None;
            }
            _ => {}
        }
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn flush(&mut self) {
        let kind = self.kind.take();
        let text = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        self.text.clear();
        if text.is_empty() {
            return;
        }
        let kind = match (kind, self.footnote) {
            (Some(kind), _) => kind,
            (None, Some(n)) => BlockKind::Footnote(n),
            (None, None) => BlockKind::Paragraph,
        };
        let text = match (&kind, self.marker.take()) {
            (BlockKind::Paragraph, Some(marker)) => format!("{marker}{text}"),
            _ => text,
        };
        self.blocks.push(Block { kind, text });
    }
}
