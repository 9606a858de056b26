//! A people file whose chains of managers loop is refused, each person on a loop named at their
//! own line, on each backend: checked against the plain definition (following managers from a
//! person comes back to them) over many random organisations, some of whose people are already
//! stored and some of whom the file replaces; and the same errors when the file is laid out for
//! the rules as it is read (`check --data`).

use std::collections::HashMap;

use steward_model::*;
use steward_rules::Reads;
use steward_service::{ImportFile, ServiceError, Stamp, Steward};
use steward_store::testing::databases;

const LOOPS: &str = "the chain of managers loops back to this person";

/// A small deterministic generator (xorshift): the same organisations on every run.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Whether following managers from `start` comes back to `start`.
fn on_a_loop(managers: &HashMap<String, Option<String>>, start: &str) -> bool {
    let mut at = managers.get(start).cloned().flatten();
    for _ in 0..=managers.len() {
        match at {
            Some(id) if id == start => return true,
            Some(id) => at = managers.get(&id).cloned().flatten(),
            None => return false,
        }
    }
    false
}

#[test]
fn every_person_on_a_loop_of_managers_is_named_and_no_one_else() {
    for db in databases("manager_loops") {
        let b = db.backend;
        let s = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let admin = Stamp::now("cli:test");
        // Stored: S0..S9, each managed by an earlier one or by no one (no loop among them).
        let mut draw = Draw(0x5EED_1234_ABCD_0001);
        let mut stored: HashMap<String, Option<String>> = HashMap::new();
        let mut csv = String::from("id,name,staff_group,status,manager_id\n");
        for i in 0..10 {
            let manager = (i > 0 && draw.below(3) > 0).then(|| format!("S{}", draw.below(i)));
            let id = format!("S{i}");
            csv.push_str(&format!(
                "{id},Person {id},fca,active,{}\n",
                manager.as_deref().unwrap_or("")
            ));
            stored.insert(id, manager);
        }
        let file = ImportFile {
            register: Register::People,
            label: "people.csv".into(),
            bytes: csv.into_bytes(),
        };
        s.import(&admin, vec![file])
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        let (mut with_loops, mut without) = (0, 0);
        for _ in 0..150 {
            // The file: some new people, some stored ones again; each managed by anyone known,
            // or by no one.
            let size = 1 + draw.below(25);
            let mut ids: Vec<String> = Vec::new();
            while ids.len() < size {
                let id = if draw.below(4) == 0 {
                    format!("S{}", draw.below(10))
                } else {
                    format!("F{}", draw.below(40))
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let mut managers = stored.clone();
            let mut csv = String::from("id,name,staff_group,status,manager_id\n");
            for id in &ids {
                let manager = match draw.below(5) {
                    0 => None,
                    1 => Some(format!("S{}", draw.below(10))),
                    _ => ids.get(draw.below(ids.len())).cloned(),
                };
                csv.push_str(&format!(
                    "{id},Person {id},fca,active,{}\n",
                    manager.as_deref().unwrap_or("")
                ));
                managers.insert(id.clone(), manager);
            }
            // One's own manager is refused on its own: not a loop of managers.
            let own: Vec<&String> = ids
                .iter()
                .filter(|id| managers.get(*id).cloned().flatten().as_ref() == Some(*id))
                .collect();
            let expected: Vec<(u64, String)> = ids
                .iter()
                .enumerate()
                .filter(|(_, id)| !own.contains(id) && on_a_loop(&managers, id))
                .map(|(i, id)| {
                    let manager = managers.get(id).cloned().flatten().unwrap_or_default();
                    (i as u64 + 2, manager)
                })
                .collect();
            if !own.is_empty() {
                continue;
            }
            let file = ImportFile {
                register: Register::People,
                label: "people.csv".into(),
                bytes: csv.clone().into_bytes(),
            };
            // A folder checked with its people laid out for the rules finds the same loops.
            let laid_out = match s.check_files_laid_out(vec![file.clone()], Reads::every()) {
                Ok(_) => Vec::new(),
                Err(ServiceError::Import(errors)) => errors,
                Err(e) => panic!("{b}: {e}"),
            };
            let found: Vec<(u64, String)> = match s.check_files(vec![file]) {
                Ok(_) => {
                    assert!(laid_out.is_empty(), "{b}: {laid_out:?}");
                    Vec::new()
                }
                Err(ServiceError::Import(errors)) => {
                    assert_eq!(errors, laid_out, "{b}");
                    let others: Vec<String> = errors
                        .iter()
                        .filter(|e| e.reason != LOOPS)
                        .map(ToString::to_string)
                        .collect();
                    assert!(others.is_empty(), "{b}: {others:?}\n{csv}");
                    errors
                        .iter()
                        .map(|e| {
                            assert_eq!(e.column, "manager_id", "{b}");
                            (e.line, e.value.clone())
                        })
                        .collect()
                }
                Err(e) => panic!("{b}: {e}"),
            };
            assert_eq!(found, expected, "{b}:\n{csv}");
            if expected.is_empty() {
                without += 1;
            } else {
                with_loops += 1;
            }
        }
        // Both kinds of file were tried, or the comparison proves little.
        assert!(
            with_loops > 20 && without > 20,
            "{b}: {with_loops} / {without}"
        );
    }
}
