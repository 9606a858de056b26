//! The loaders never panic, whatever they are given: random bytes, and the real pack and case
//! files with random damage.

use proptest::prelude::*;
use proptest::test_runner::Config;

const PACK: &str = include_str!("../../../packs/cafcass-it-5.0/pack.toml");
const CLAUSES: &str = include_str!("../../../packs/cafcass-it-5.0/clauses.toml");
const CASE: &str =
    include_str!("../../../packs/cafcass-it-5.0/cases/device-abroad-has-approved-travel.toml");

/// Pieces that matter to TOML and CEL, to make damage interesting.
const PIECES: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "=",
    ",",
    ".",
    "\n",
    "#",
    "\\",
    "\\u",
    "(",
    ")",
    "&&",
    "||",
    "!",
    "?",
    ":",
    "params.",
    "params",
    "asset",
    "person.",
    "now",
    "days(",
    "size()",
    ".all(x, ",
    ".exists(",
    "null",
    "true",
    "-1",
    "1e999",
    "99999999999999999999",
    "2026-13-45",
    "2026-03-02T12:00:00Z",
    "é",
    "\u{0}",
    "\u{feff}",
    "\r\n",
    "\t",
    " ",
    "{asset.",
    "}}",
    "{{",
    "kind = \"check\"",
    "kind = \"workflow\"",
    "[[clause.control]]",
    "[[clause]]",
    "[[case]]",
    "id = \"x\"",
    "rule = '",
    "after_days = ",
];

#[derive(Debug, Clone)]
enum Damage {
    Delete { at: usize, len: usize },
    Insert { at: usize, piece: usize },
    InsertText { at: usize, text: String },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
    Truncate { at: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Damage::Delete { at, len }),
        (any::<usize>(), 0..PIECES.len()).prop_map(|(at, piece)| Damage::Insert { at, piece }),
        (any::<usize>(), ".{0,12}").prop_map(|(at, text)| Damage::InsertText { at, text }),
        any::<usize>().prop_map(|line| Damage::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Damage::SwapLines { a, b }),
        any::<usize>().prop_map(|at| Damage::Truncate { at }),
    ]
}

/// Applies damage on character boundaries.
fn apply(text: &str, damages: &[Damage]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for d in damages {
        let n = chars.len().max(1);
        match d {
            Damage::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Damage::Insert { at, piece } => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, PIECES[*piece].chars());
            }
            Damage::InsertText { at, text } => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, text.chars());
            }
            Damage::DuplicateLine { line } | Damage::SwapLines { a: line, .. }
                if chars.is_empty() =>
            {
                let _ = line;
            }
            Damage::DuplicateLine { line } => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let i = line % lines.len();
                lines.insert(i, lines[i]);
                chars = lines.join("\n").chars().collect();
            }
            Damage::SwapLines { a, b } => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
                chars = lines.join("\n").chars().collect();
            }
            Damage::Truncate { at } => chars.truncate(at % n),
        }
    }
    chars.into_iter().collect()
}

fn pack() -> &'static steward_policy::Pack {
    static PACK: std::sync::OnceLock<steward_policy::Pack> = std::sync::OnceLock::new();
    PACK.get_or_init(|| match steward_policy::builtin_pack("cafcass-it-5.0") {
        Some(Ok(p)) => p,
        other => panic!("{other:?}"),
    })
}

proptest! {
    #![proptest_config(Config { cases: 300, failure_persistence: None, ..Config::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = steward_policy::parse(&[("pack.toml", &text), ("clauses.toml", &text)]);
        let _ = steward_policy::Overrides::parse("o.toml", &text);
        let _ = steward_policy::cases::parse_cases("cases/x.toml", &text, pack());
    }

    #[test]
    fn damaged_clause_files_never_panic(damages in proptest::collection::vec(damage(), 1..6)) {
        let clauses = apply(CLAUSES, &damages);
        if let Err(errors) = steward_policy::parse(&[("pack.toml", PACK), ("clauses.toml", &clauses)]) {
            prop_assert!(!errors.is_empty());
            for e in &errors {
                prop_assert!(!e.reason.is_empty());
                if let Some(p) = e.position {
                    prop_assert!(p.line >= 1 && p.column >= 1);
                    prop_assert!(p.line <= clauses.split('\n').count().max(1) || e.file != "clauses.toml", "{e}");
                }
            }
        }
    }

    #[test]
    fn damaged_pack_files_never_panic(damages in proptest::collection::vec(damage(), 1..6)) {
        let text = apply(PACK, &damages);
        let _ = steward_policy::parse(&[("pack.toml", &text), ("clauses.toml", CLAUSES)]);
    }

    #[test]
    fn damaged_case_files_never_panic(damages in proptest::collection::vec(damage(), 1..6)) {
        let text = apply(CASE, &damages);
        let _ = steward_policy::cases::parse_cases("cases/x.toml", &text, pack());
    }

    #[test]
    fn random_rules_never_panic(parts in proptest::collection::vec(0..PIECES.len(), 0..40)) {
        let rule: String = parts.iter().map(|&i| PIECES[i]).collect::<String>().replace("'''", "");
        let clauses = CLAUSES.replacen("rule = 'asset.encrypted == true'", &format!("rule = '''{rule}'''"), 1);
        let _ = steward_policy::parse(&[("pack.toml", PACK), ("clauses.toml", &clauses)]);
    }
}
