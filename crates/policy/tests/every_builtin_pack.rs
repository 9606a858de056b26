//! Every built-in pack against its source policy's clause inventory: each row of the inventory
//! mapped to a control, no clause the inventory lacks. The inventories are test data
//! (`tests/inventories/`, copies of the clause inventories), named after the seed a pack's
//! `source` names.

use std::path::Path;

#[test]
fn every_builtin_pack_maps_its_whole_inventory() {
    let packs = steward_policy::builtin().unwrap_or_else(|e| panic!("built-in packs load: {e:#?}"));
    assert!(!packs.is_empty());
    let clauses = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inventories");
    let mut failures = Vec::new();
    for pack in &packs {
        let Some(source) = &pack.source else {
            failures.push(format!("{}: names no source document", pack.id));
            continue;
        };
        let tsv = clauses.join(Path::new(source).with_extension("tsv"));
        let inventory = std::fs::read_to_string(&tsv).unwrap_or_else(|e| {
            panic!(
                "{}: the inventory {} cannot be read: {e}",
                pack.id,
                tsv.display()
            )
        });
        let coverage = steward_policy::coverage(pack, &inventory);
        if !coverage.is_complete() {
            failures.push(format!(
                "{}: unmapped {:?}, not in the inventory {:?}, problems {:?}",
                pack.id, coverage.unmapped, coverage.not_in_inventory, coverage.problems
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
