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

/// Every staff group of every built-in pack, written as the Policies page shows it and read back
/// as the change a form posts, then kept as the database keeps it: the group is unchanged.
#[test]
fn every_staff_group_survives_its_form_and_its_literal() {
    use steward_policy::{Overrides, StaffGroupOverride, devices_text, parse_devices};
    let packs = steward_policy::builtin().unwrap_or_else(|e| panic!("built-in packs load: {e:#?}"));
    let mut seen = 0;
    for pack in &packs {
        for (id, group) in &pack.staff_groups {
            let change = StaffGroupOverride {
                name: Some(group.name.clone()),
                description: None,
                devices: Some(
                    parse_devices(&devices_text(&group.devices))
                        .unwrap_or_else(|e| panic!("{}/{id}: {e}", pack.id)),
                ),
                hardware: Some(group.hardware),
                byod: Some(group.byod),
                portal_only: Some(group.portal_only),
                mfa_required: Some(group.mfa_required),
                case_by_case: Some(group.case_by_case),
            };
            let kept = StaffGroupOverride::from_literal(&change.literal())
                .unwrap_or_else(|e| panic!("{}/{id}: {e}: {}", pack.id, change.literal()));
            assert_eq!(kept, change, "{}/{id}", pack.id);
            let overrides = Overrides {
                staff_groups: [(id.clone(), kept)].into(),
                ..Overrides::default()
            };
            let effective = pack
                .effective(&overrides)
                .unwrap_or_else(|e| panic!("{}/{id}: {e:?}", pack.id));
            let after = &effective.staff_groups[id].group;
            assert_eq!(
                (
                    &after.devices,
                    after.hardware,
                    after.byod,
                    after.portal_only,
                    after.mfa_required,
                    after.case_by_case
                ),
                (
                    &group.devices,
                    group.hardware,
                    group.byod,
                    group.portal_only,
                    group.mfa_required,
                    group.case_by_case
                ),
                "{}/{id}",
                pack.id
            );
            seen += 1;
        }
    }
    assert!(seen > 10, "the packs define staff groups: {seen}");
}

#[test]
fn devices_typed_on_a_form_are_read_or_refused_with_the_reason() {
    use steward_policy::parse_devices;
    let read = parse_devices(" laptop , 2 tablet, smartphone or voice_phone ,").unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[1].count, Some(2));
    assert_eq!(read[2].alternatives, ["voice_phone"]);
    assert!(parse_devices("").unwrap().is_empty());
    for (bad, says) in [
        ("laptop tablet", "separate devices with commas"),
        ("2", "write a kind of device"),
        ("laptop or", "write a kind of device"),
        ("99999999999 laptop", "is not a number"),
    ] {
        let e = parse_devices(bad).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
}
