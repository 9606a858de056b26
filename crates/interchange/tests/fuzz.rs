//! Fuzz-ish: `read` must return, never panic, whatever bytes it is given, for every register; its
//! errors must be single, printable lines; and whatever it accepts must survive `write` and `read`
//! unchanged. Deterministic: a tiny PRNG with fixed seeds, no dependencies.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use steward_interchange::{read, write};
use steward_model::{Register, Row};

/// xorshift64*: small, fast and good enough to shake a parser.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes that matter to a CSV parser or to the cell parsers.
const INTERESTING: &[u8] = b",,,\"\"\r\n\n \t0123456789--::..TZ+@_abcdefghijklmnopqrstuvwxyz\xEF\xBB\xBF\xFF\xFE\xC3\xA9\x1B";

/// Cells a structured file is built from: mostly valid spellings of some type, some not.
const TOKENS: &[&str] = &[
    "",
    "",
    "true",
    "false",
    "TRUE",
    "yes",
    "2026-01-31",
    "2026-02-30",
    "24/12/2026",
    "2026-03-01T09:30:00Z",
    "2026-03-01T10:30:00.5+01:00",
    "2026-03-01 09:30",
    "899.00",
    "899.5",
    "12.345",
    "0.05",
    "P1",
    "P2",
    "A1",
    "fca",
    "business-services",
    "ada@example.org",
    "laptop",
    "sim",
    "organisation",
    "personal",
    "active",
    "leaver",
    "in_stock",
    "allocated",
    // The processes' words.
    "it",
    "open",
    "new-starter",
    "line-manager",
    "approved",
    "loss",
    "reported",
    "destroy",
    "12",
    "standard",
    "admin",
    "disabled",
    "sc",
    "none",
    "Europe/London",
    "\"Lovelace, Ada\"",
    "\"say \"\"hi\"\"\"",
    " padded ",
    "Zoë",
    "\"two\nlines\"",
    "2026-10",
    "2026-13",
    "GB",
    "fr",
    "UK",
    "AE;IN",
    "\"FR ; BE\"",
    "FR;;BE",
    "4097",
    "-5",
    "approved",
    "requested",
    "access_to_work",
    "person",
    "usage",
    "cafcass-it-5.0",
    "5.0",
    "2.6(v)",
];

fn check(register: Register, input: &[u8], stats: &mut Stats) {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| read(register, "fuzz.csv", input)));
    let result = match outcome {
        Ok(result) => result,
        Err(_) => panic!(
            "read panicked for {register} on {:?}",
            String::from_utf8_lossy(input)
        ),
    };
    match result {
        Err(errors) => {
            stats.err += 1;
            assert!(
                !errors.is_empty(),
                "{register}: Err with no errors on {:?}",
                String::from_utf8_lossy(input)
            );
            for error in &errors {
                let text = error.to_string();
                assert!(error.line >= 1, "{register}: line 0 in {text:?}");
                assert!(
                    !text.chars().any(char::is_control),
                    "{register}: control character in error {text:?} for {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        Ok(parsed) => {
            stats.ok += 1;
            stats.rows += parsed.len();
            let rows: Vec<Row> = parsed.into_iter().map(|p| p.row).collect();
            let mut written = Vec::new();
            write(register, &rows, &mut written).expect("write what was read");
            let again = read(register, "again.csv", written.as_slice()).unwrap_or_else(|errors| {
                panic!(
                    "{register}: what was written does not read back: {errors:?}\ninput: {:?}\nwritten: {:?}",
                    String::from_utf8_lossy(input),
                    String::from_utf8_lossy(&written)
                )
            });
            let again: Vec<Row> = again.into_iter().map(|p| p.row).collect();
            assert_eq!(
                again,
                rows,
                "{register}: round trip changed the rows of {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}

/// How many inputs each test tries; `FUZZ_SCALE=N` multiplies it for a longer local run.
fn scaled(n: usize) -> usize {
    let scale = std::env::var("FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1);
    n.saturating_mul(scale.max(1))
}

#[derive(Debug, Default)]
struct Stats {
    ok: usize,
    err: usize,
    rows: usize,
}

fn check_all(input: &[u8], stats: &mut Stats) {
    for register in Register::ALL {
        check(register, input, stats);
    }
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(160);
    (0..len)
        .map(|_| {
            if rng.below(4) == 0 {
                rng.next() as u8
            } else {
                *rng.pick(INTERESTING)
            }
        })
        .collect()
}

/// A header of some of the register's fields in random order, then rows of plausible tokens.
fn structured(rng: &mut Rng, register: Register) -> Vec<u8> {
    let mut names: Vec<&str> = register.csv_fields().map(|(_, f)| f.name).collect();
    for i in (1..names.len()).rev() {
        names.swap(i, rng.below(i + 1));
    }
    // Mostly keep every column; sometimes drop some or add a stranger.
    if rng.below(3) == 0 {
        names.truncate(1 + rng.below(names.len()));
    }
    if rng.below(10) == 0 {
        names.push("colour");
    }
    if rng.below(20) == 0 {
        // A derived key is no column.
        names.push("key");
    }
    let eol = if rng.below(2) == 0 { "\n" } else { "\r\n" };
    let mut text = String::new();
    if rng.below(4) == 0 {
        text.push('\u{FEFF}');
    }
    text.push_str(&names.join(","));
    text.push_str(eol);
    for row in 0..rng.below(6) {
        let cells: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                // Ids (and keys) must be unique to parse: make the cell of the first field that
                // identifies a row unique most of the time.
                let first_key = register.key_fields().next().map(|f| f.name);
                if Some(*name) == first_key && rng.below(8) != 0 {
                    format!("X{row}")
                } else if i == 0 && rng.below(20) == 0 {
                    String::new()
                } else {
                    (*rng.pick(TOKENS)).to_owned()
                }
            })
            .collect();
        text.push_str(&cells.join(","));
        text.push_str(eol);
        if rng.below(10) == 0 {
            text.push_str(eol);
        }
    }
    text.into_bytes()
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
            1 if at < bytes.len() => bytes[at] = *rng.pick(INTERESTING),
            2 => bytes.insert(at, *rng.pick(INTERESTING)),
            3 if at < bytes.len() => {
                bytes.remove(at);
            }
            4 => {
                let end = (at + rng.below(20)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, slice);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn corpus_files() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .expect("read the corpus directory")
        .map(|e| e.expect("read a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| fs::read(p).expect("read a corpus file"))
        .collect()
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::new(0x5EED_0001);
    let mut stats = Stats::default();
    for _ in 0..scaled(3000) {
        let input = random_bytes(&mut rng);
        check_all(&input, &mut stats);
    }
    eprintln!("{stats:?}");
    assert!(stats.err > 0);
}

#[test]
fn structured_files_never_panic_and_round_trip() {
    let mut rng = Rng::new(0x5EED_0002);
    let mut stats = Stats::default();
    // About two hundred files per register, however many registers there are.
    for i in 0..scaled(200 * Register::ALL.len()) {
        let register = Register::ALL[i % Register::ALL.len()];
        let input = structured(&mut rng, register);
        check_all(&input, &mut stats);
    }
    eprintln!("{stats:?}");
    // Enough of them parse for the round trip to have been exercised.
    assert!(stats.ok > 300, "only {} inputs parsed", stats.ok);
    // (A row parses only if every random cell does: each column added lowers the share.)
    assert!(stats.rows > 250, "only {} rows parsed", stats.rows);
}

#[test]
fn mutated_corpus_files_never_panic_and_round_trip() {
    let mut rng = Rng::new(0x5EED_0003);
    let mut stats = Stats::default();
    let seeds = corpus_files();
    assert!(!seeds.is_empty());
    for seed in &seeds {
        check_all(seed, &mut stats);
        for _ in 0..scaled(100) {
            let input = mutate(&mut rng, seed);
            check_all(&input, &mut stats);
        }
    }
    eprintln!("{stats:?}");
    assert!(stats.ok > 100, "only {} inputs parsed", stats.ok);
}
