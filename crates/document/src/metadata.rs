//! The document's front matter: title, version, owner, approver and dates, from the key–value
//! tables policies open or close with ("Version 5.0", "Approved on 25-May-2023") or from lines
//! written `Key: value`.

use chrono::{Datelike, NaiveDate};

/// What the document states about itself. Anything it does not state is `None`, to be asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub title: Option<String>,
    pub version: Option<String>,
    pub owner: Option<String>,
    pub approver: Option<String>,
    pub approved_on: Option<NaiveDate>,
    pub implemented_on: Option<NaiveDate>,
    pub amended_on: Option<NaiveDate>,
    pub next_review: Option<NaiveDate>,
    /// The review date as the document words it, where it names a month or adds a condition.
    pub next_review_note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Version,
    Owner,
    Approver,
    ApprovedOn,
    ImplementedOn,
    AmendedOn,
    NextReview,
}

/// The key a label names: `Version No:`, `Date approved by the Board`, `Next revision due`.
fn key(label: &str) -> Option<Key> {
    let label = label.trim().trim_end_matches(':').trim().to_lowercase();
    let label = label.as_str();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| label.starts_with(p));
    if starts(&["version", "document version", "policy version"]) {
        Some(Key::Version)
    } else if starts(&[
        "date approved",
        "approved on",
        "approval date",
        "date of approval",
    ]) {
        Some(Key::ApprovedOn)
    } else if starts(&["approved by", "approver"]) {
        Some(Key::Approver)
    } else if starts(&[
        "owned by",
        "owner",
        "policy owner",
        "document owner",
        "author",
        "responsible person",
    ]) {
        Some(Key::Owner)
    } else if starts(&[
        "implemented",
        "effective from",
        "effective date",
        "date effective",
    ]) {
        Some(Key::ImplementedOn)
    } else if starts(&["amended", "last amended", "last updated", "date amended"]) {
        Some(Key::AmendedOn)
    } else if starts(&[
        "next review",
        "next revision",
        "review date",
        "date of next review",
    ]) || label == "review"
        || label == "review due"
    {
        Some(Key::NextReview)
    } else {
        None
    }
}

impl Metadata {
    /// Takes a table row (`label`, `value`) if its label is one of the keys; true when it was.
    /// The first statement of each key wins.
    pub(crate) fn take_row(&mut self, label: &str, value: &str) -> bool {
        let Some(key) = key(label) else {
            return false;
        };
        // A label is short; a long first cell is a sentence that happens to start with a key word.
        if label.chars().count() > 60 {
            return false;
        }
        let value = value.trim();
        if value.is_empty() {
            return true;
        }
        match key {
            Key::Version => set(&mut self.version, version(value)),
            Key::Owner => set(&mut self.owner, Some(value.to_owned())),
            Key::Approver => set(&mut self.approver, Some(value.to_owned())),
            Key::ApprovedOn => set(&mut self.approved_on, date(value).map(|(d, _)| d)),
            Key::ImplementedOn => set(&mut self.implemented_on, date(value).map(|(d, _)| d)),
            Key::AmendedOn => set(&mut self.amended_on, date(value).map(|(d, _)| d)),
            Key::NextReview => {
                if self.next_review.is_none()
                    && let Some((day, exact)) = date(value)
                {
                    // A month named alone falls due by its end.
                    self.next_review = Some(if exact { day } else { end_of_month(day) });
                    if !exact || value.len() > 12 {
                        self.next_review_note = Some(value.to_owned());
                    }
                }
            }
        }
        true
    }

    /// Takes a `Key: value` line, if it is one; the line stays in the document either way.
    pub(crate) fn take_line(&mut self, line: &str) {
        if let Some((label, value)) = line.split_once(':')
            && label.chars().count() <= 30
            && value.chars().count() <= 80
            && !value.trim().is_empty()
        {
            self.take_row(label, value);
        }
    }
}

fn set<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

/// `Version No: 6` → `6`; `v5.0` → `5.0`.
fn version(value: &str) -> Option<String> {
    let value = value.trim();
    let value = value
        .strip_prefix('v')
        .or_else(|| value.strip_prefix('V'))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(value);
    let word = value.split_whitespace().next()?;
    word.chars()
        .any(|c| c.is_ascii_alphanumeric())
        .then(|| word.trim_end_matches([',', ';']).to_owned())
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month(word: &str) -> Option<u32> {
    let word = word.to_lowercase();
    if word.len() < 3 {
        return None;
    }
    let position = MONTHS.iter().position(|m| word.starts_with(m))?;
    Some(position as u32 + 1)
}

/// The first date written in `value`: `25-May-2023`, `26/02/2019`, `25 May 2023`, `2023-05-25`,
/// or a month alone, `July 2017` (the first of the month; `false`: not an exact day).
pub(crate) fn date(value: &str) -> Option<(NaiveDate, bool)> {
    let words: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    for (i, word) in words.iter().enumerate() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        // 25-May-2023, 26/02/2019, 2023-05-25
        let parts: Vec<&str> = word.split(['-', '/', '.']).collect();
        if parts.len() == 3 {
            let numbers: Vec<Option<i32>> = parts.iter().map(|p| p.parse().ok()).collect();
            let found = match (numbers[0], month(parts[1]), numbers[1], numbers[2]) {
                (Some(y), _, Some(m), Some(d)) if parts[0].len() == 4 => {
                    NaiveDate::from_ymd_opt(y, m as u32, d as u32)
                }
                (Some(d), Some(m), _, Some(y)) => NaiveDate::from_ymd_opt(year(y), m, d as u32),
                (Some(d), None, Some(m), Some(y)) => {
                    NaiveDate::from_ymd_opt(year(y), m as u32, d as u32)
                }
                _ => None,
            };
            if let Some(day) = found {
                return Some((day, true));
            }
        }
        // 25 May 2023, May 2023
        if let Some(m) = month(word)
            && let Some(y) = words
                .get(i + 1)
                .and_then(|w| {
                    w.trim_matches(|c: char| !c.is_ascii_digit())
                        .parse::<i32>()
                        .ok()
                })
                .filter(|y| (1900..=2200).contains(y))
        {
            let day = i
                .checked_sub(1)
                .and_then(|j| words.get(j))
                .and_then(|w| {
                    w.trim_end_matches(|c: char| c.is_alphabetic())
                        .parse::<u32>()
                        .ok()
                })
                .filter(|d| (1..=31).contains(d));
            return match day {
                Some(d) => NaiveDate::from_ymd_opt(y, m, d).map(|day| (day, true)),
                None => NaiveDate::from_ymd_opt(y, m, 1).map(|day| (day, false)),
            };
        }
    }
    None
}

/// Two-digit years are this century's.
fn year(y: i32) -> i32 {
    if (0..100).contains(&y) { 2000 + y } else { y }
}

fn end_of_month(day: NaiveDate) -> NaiveDate {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_as_policies_write_them() {
        assert_eq!(date("25-May-2023"), Some((ymd(2023, 5, 25), true)));
        assert_eq!(date("26/02/2019"), Some((ymd(2019, 2, 26), true)));
        assert_eq!(date("2023-05-25"), Some((ymd(2023, 5, 25), true)));
        assert_eq!(date("25 May 2023"), Some((ymd(2023, 5, 25), true)));
        assert_eq!(date("1st March 2024"), Some((ymd(2024, 3, 1), true)));
        assert_eq!(date("July 2017"), Some((ymd(2017, 7, 1), false)));
        assert_eq!(
            date("March 2024 (or by projects)"),
            Some((ymd(2024, 3, 1), false))
        );
        assert_eq!(date("31/02/2019"), None);
        assert_eq!(date("as required"), None);
        assert_eq!(date("Mayhem 12"), None);
    }

    #[test]
    fn labels() {
        let mut m = Metadata::default();
        assert!(m.take_row("Version No:", "6"));
        assert!(m.take_row(
            "Date approved by the Connected Together CIC Board",
            "December 2021"
        ));
        assert!(m.take_row("Next revision due", "December 2024"));
        assert!(m.take_row("Author/Responsible Person", "A Person"));
        assert!(!m.take_row("Staff/volunteer training delivered", "Included"));
        assert_eq!(m.version.as_deref(), Some("6"));
        assert_eq!(m.approved_on, Some(ymd(2021, 12, 1)));
        assert_eq!(m.next_review, Some(ymd(2024, 12, 31)));
        assert_eq!(m.next_review_note.as_deref(), Some("December 2024"));
        assert_eq!(m.owner.as_deref(), Some("A Person"));
    }
}
