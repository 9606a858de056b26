//! Byte offsets to lines and columns, and the characters of a TOML string back to the file.

use std::ops::Range;

use crate::error::Position;

/// The start of every line of one file, to turn byte offsets into [`Position`]s.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// The line and column of a byte offset (clamped to the file).
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        Position { line, column }
    }
}

/// For a TOML string value written at `span` of `file` whose decoded text is `decoded`, the file
/// offset of every byte of `decoded` (and one more for its end). Escapes in basic strings and the
/// newline trimmed after an opening `"""` or `'''` are accounted for; if the text cannot be
/// matched up (it should always be), every byte maps to the start of the string.
pub(crate) fn string_offsets(file: &str, span: Range<usize>, decoded: &str) -> Vec<usize> {
    let fallback = || vec![span.start; decoded.len() + 1];
    let Some(token) = file.get(span.clone()) else {
        return fallback();
    };
    let (delim, basic) = if token.starts_with("'''") {
        (3, false)
    } else if token.starts_with("\"\"\"") {
        (3, true)
    } else if token.starts_with('\'') {
        (1, false)
    } else if token.starts_with('"') {
        (1, true)
    } else {
        return fallback();
    };
    if token.len() < 2 * delim {
        return fallback();
    }
    let mut start = span.start + delim;
    let end = span.end - delim;
    if delim == 3 {
        if file[start..end].starts_with("\r\n") {
            start += 2;
        } else if file[start..end].starts_with('\n') {
            start += 1;
        }
    }
    let content = &file[start..end];
    let mut map = Vec::with_capacity(decoded.len() + 1);
    let mut rebuilt = String::with_capacity(decoded.len());
    let mut chars = content.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = start + i;
        let push = |map: &mut Vec<usize>, rebuilt: &mut String, ch: char| {
            for _ in 0..ch.len_utf8() {
                map.push(at);
            }
            rebuilt.push(ch);
        };
        if c == '\r' && chars.peek().map(|&(_, n)| n) == Some('\n') {
            // A CRLF line ending reads as LF.
            continue;
        }
        if !basic || c != '\\' {
            push(&mut map, &mut rebuilt, c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            return fallback();
        };
        let simple = match e {
            'b' => Some('\u{8}'),
            't' => Some('\t'),
            'n' => Some('\n'),
            'f' => Some('\u{c}'),
            'r' => Some('\r'),
            'e' => Some('\u{1b}'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            _ => None,
        };
        if let Some(ch) = simple {
            push(&mut map, &mut rebuilt, ch);
            continue;
        }
        let digits = match e {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if digits > 0 {
            let mut hex = String::new();
            for _ in 0..digits {
                match chars.next() {
                    Some((_, h)) => hex.push(h),
                    None => return fallback(),
                }
            }
            let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) else {
                return fallback();
            };
            push(&mut map, &mut rebuilt, ch);
            continue;
        }
        if e.is_whitespace() {
            // A line-ending backslash: the newline and the whitespace after it vanish.
            while chars.peek().is_some_and(|&(_, n)| n.is_whitespace()) {
                chars.next();
            }
            continue;
        }
        return fallback();
    }
    if rebuilt != decoded {
        return fallback();
    }
    map.push(end);
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "ab\nçd\n\nx";
        let index = LineIndex::new(text);
        assert_eq!(index.position(0), Position { line: 1, column: 1 });
        assert_eq!(index.position(3), Position { line: 2, column: 1 });
        assert_eq!(index.position(5), Position { line: 2, column: 2 });
        assert_eq!(index.position(7), Position { line: 3, column: 1 });
        assert_eq!(index.position(8), Position { line: 4, column: 1 });
        assert_eq!(index.position(99), Position { line: 4, column: 2 });
    }

    fn check(file: &str, decoded: &str, expect_char_at: &[(usize, char)]) {
        let start = file.find(['"', '\'']).unwrap();
        let map = string_offsets(file, start..file.len(), decoded);
        assert_eq!(map.len(), decoded.len() + 1, "{file}");
        for &(i, c) in expect_char_at {
            assert_eq!(file[map[i]..].chars().next(), Some(c), "{file} at {i}");
        }
    }

    #[test]
    fn strings_map_back_to_the_file() {
        check("r = 'a.b == \"x\"'", "a.b == \"x\"", &[(0, 'a'), (7, '"')]);
        check(
            "r = \"a.b == \\\"x\\\" && c\"",
            "a.b == \"x\" && c",
            &[(7, '\\'), (14, 'c')],
        );
        check("r = '''\nab\ncd'''", "ab\ncd", &[(0, 'a'), (3, 'c')]);
        check("r = \"\"\"\nab \\\n   cd\"\"\"", "ab cd", &[(3, 'c')]);
        check("r = \"\\u00e9x\"", "éx", &[(0, '\\'), (2, 'x')]);
    }

    #[test]
    fn unmatched_strings_fall_back_to_the_start() {
        let map = string_offsets("r = 'abc'", 4..9, "zzz");
        assert_eq!(map, vec![4; 4]);
    }
}
