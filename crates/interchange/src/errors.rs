//! A long list of errors made readable: grouped by file, column and reason, each group counted
//! with its first few examples, and the whole list written as CSV for a spreadsheet. A file with
//! one mistake on every row is then one group, not a line per row.

use std::collections::HashMap;
use std::io::Write;

use crate::{CsvError, WriteError, guard};

/// The columns of an error list written as CSV ([`write_errors`], and the web's download).
pub const ERROR_COLUMNS: [&str; 5] = ["file", "line", "column", "value", "reason"];

impl CsvError {
    /// The error's cells, in the order of [`ERROR_COLUMNS`], unguarded.
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.file.clone(),
            self.line.to_string(),
            self.column.clone(),
            self.value.clone(),
            self.reason.clone(),
        ]
    }
}

/// Errors sharing a file, a column and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorGroup {
    pub file: String,
    /// Empty for an error about a whole line or the file.
    pub column: String,
    pub reason: String,
    /// How many errors the group holds.
    pub count: usize,
    /// The first errors of the group, in the order given.
    pub examples: Vec<Example>,
}

impl ErrorGroup {
    /// How many of the group's errors are not among its examples.
    pub fn more(&self) -> usize {
        self.count.saturating_sub(self.examples.len())
    }
}

/// Where one error of a group is, and the value it found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub line: u64,
    pub value: String,
}

/// Groups `errors` by (file, column, reason), keeping at most `examples` of each. Groups come in
/// the order their first error does, so a short list reads as it was given.
pub fn group_errors<'a>(
    errors: impl IntoIterator<Item = &'a CsvError>,
    examples: usize,
) -> Vec<ErrorGroup> {
    let mut groups: Vec<ErrorGroup> = Vec::new();
    let mut index: HashMap<(&'a str, &'a str, &'a str), usize> = HashMap::new();
    for e in errors {
        let key = (e.file.as_str(), e.column.as_str(), e.reason.as_str());
        let at = *index.entry(key).or_insert_with(|| {
            groups.push(ErrorGroup {
                file: e.file.clone(),
                column: e.column.clone(),
                reason: e.reason.clone(),
                count: 0,
                examples: Vec::new(),
            });
            groups.len() - 1
        });
        if let Some(group) = groups.get_mut(at) {
            group.count += 1;
            if group.examples.len() < examples {
                group.examples.push(Example {
                    line: e.line,
                    value: e.value.clone(),
                });
            }
        }
    }
    groups
}

/// Writes every error as CSV under the header [`ERROR_COLUMNS`], with `\n` line endings and
/// text a spreadsheet would run as a formula guarded, as every export is.
pub fn write_errors<'a>(
    errors: impl IntoIterator<Item = &'a CsvError>,
    out: impl Write,
) -> Result<(), WriteError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    writer.write_record(ERROR_COLUMNS)?;
    for e in errors {
        writer.write_record([
            guard(&e.file).as_ref(),
            e.line.to_string().as_str(),
            guard(&e.column).as_ref(),
            guard(&e.value).as_ref(),
            guard(&e.reason).as_ref(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(file: &str, line: u64, column: &str, value: &str, reason: &str) -> CsvError {
        CsvError {
            file: file.into(),
            line,
            column: column.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// A group as a line: `file|column|reason|count|line=value line=value`.
    fn shown(group: &ErrorGroup) -> String {
        let examples: Vec<String> = group
            .examples
            .iter()
            .map(|e| format!("{}={}", e.line, e.value))
            .collect();
        format!(
            "{}|{}|{}|{}|{}",
            group.file,
            group.column,
            group.reason,
            group.count,
            examples.join(" ")
        )
    }

    #[test]
    fn errors_are_grouped_by_file_column_and_reason() {
        // (errors as file:line:column:value:reason, examples kept, groups expected)
        let cases: &[(&[&str], usize, &[&str])] = &[
            (&[], 5, &[]),
            (&["a.csv:2:status:x:bad"], 5, &["a.csv|status|bad|1|2=x"]),
            (
                &["a.csv:2:status:x:bad", "a.csv:3:status:y:bad"],
                5,
                &["a.csv|status|bad|2|2=x 3=y"],
            ),
            // Only the first examples are kept; the count is every one.
            (
                &[
                    "a.csv:2:status:a:bad",
                    "a.csv:3:status:b:bad",
                    "a.csv:4:status:c:bad",
                    "a.csv:5:status:d:bad",
                ],
                2,
                &["a.csv|status|bad|4|2=a 3=b"],
            ),
            (&["a.csv:2:status:a:bad"], 0, &["a.csv|status|bad|1|"]),
            // The same reason in another column, or another file, is another group.
            (
                &[
                    "a.csv:2:status:x:bad",
                    "a.csv:2:kind:x:bad",
                    "b.csv:2:status:x:bad",
                ],
                5,
                &[
                    "a.csv|status|bad|1|2=x",
                    "a.csv|kind|bad|1|2=x",
                    "b.csv|status|bad|1|2=x",
                ],
            ),
            // Another reason in the same column is another group.
            (
                &[
                    "a.csv:2:date:x:not a date",
                    "a.csv:3:date:2026-02-30:no such date",
                ],
                5,
                &[
                    "a.csv|date|not a date|1|2=x",
                    "a.csv|date|no such date|1|3=2026-02-30",
                ],
            ),
            // Groups come in the order of their first error, interleaved or not.
            (
                &[
                    "a.csv:2:status:x:bad",
                    "a.csv:2:date:d:not a date",
                    "a.csv:3:status:y:bad",
                    "a.csv:3:date:e:not a date",
                    "a.csv:4:date:f:not a date",
                ],
                5,
                &[
                    "a.csv|status|bad|2|2=x 3=y",
                    "a.csv|date|not a date|3|2=d 3=e 4=f",
                ],
            ),
            // Errors of a whole line have no column; their values may be empty.
            (
                &[
                    "a.csv:4:::found 3 cells, expected 5",
                    "a.csv:9:::found 3 cells, expected 5",
                ],
                5,
                &["a.csv||found 3 cells, expected 5|2|4= 9="],
            ),
        ];
        for (errors, examples, expected) in cases {
            let errors: Vec<CsvError> = errors
                .iter()
                .map(|text| {
                    let parts: Vec<&str> = text.splitn(5, ':').collect();
                    let line = parts[1].parse().unwrap_or_else(|e| panic!("{text}: {e}"));
                    error(parts[0], line, parts[2], parts[3], parts[4])
                })
                .collect();
            let groups = group_errors(&errors, *examples);
            let got: Vec<String> = groups.iter().map(shown).collect();
            assert_eq!(got, *expected, "{errors:?}");
            let total: usize = groups.iter().map(|g| g.count).sum();
            assert_eq!(total, errors.len(), "every error is in a group: {errors:?}");
            for g in &groups {
                assert_eq!(g.more(), g.count - g.examples.len());
            }
        }
    }

    #[test]
    fn the_error_list_is_written_whole_and_guarded() {
        let errors = vec![
            error("a.csv", 2, "name", "=HYPERLINK(\"x\")", "bad"),
            error("a.csv", 3, "", "", "found 1 cell, expected 2"),
        ];
        let mut out = Vec::new();
        write_errors(&errors, &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "file,line,column,value,reason\n\
             a.csv,2,name,\"'=HYPERLINK(\"\"x\"\")\",bad\n\
             a.csv,3,,,\"found 1 cell, expected 2\"\n"
        );
    }
}
