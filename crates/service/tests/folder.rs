//! A folder checked with each register laid out for the rules as its file is read
//! (`Steward::check_files_laid_out`, what `steward check --data` evaluates) is refused with
//! exactly the errors an import gives it, and otherwise is exactly the estate an import's rows
//! lay out: every field and relation of every object, in the files' order, training's expiry
//! derived from its course, the time zone and the bank holidays.

use chrono::{NaiveDate, TimeZone as _, Utc};
use steward_model::Register;
use steward_rules::{Data, Kind, Reads};
use steward_service::{ImportFile, ServiceError, Steward};

fn file(register: Register, csv: &str) -> ImportFile {
    ImportFile {
        register,
        label: register.file_name(),
        bytes: csv.as_bytes().to_vec(),
    }
}

fn demo() -> Vec<ImportFile> {
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people: 150,
        seed: 3,
        usage_months: 1,
        today: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default(),
    });
    ImportFile::of_estate(&estate).expect("the demo writes as CSV")
}

const PEOPLE: &str = "id,name,staff_group,status,manager_id,budget_centre\n\
                      P1,Ann,fca,active,,BC-1\n\
                      P2,Bo,fca,active,P1,BC-NEW\n";

/// Each case: its files, and whether an import takes them.
fn cases() -> Vec<(&'static str, Vec<ImportFile>, bool)> {
    vec![
        ("the demo organisation", demo(), true),
        (
            "a budget centre named but not registered is created",
            vec![
                file(Register::BudgetCentres, "code,name\nBC-1,One\n"),
                file(Register::People, PEOPLE),
            ],
            true,
        ),
        (
            "training's expiry comes from its course, given or not",
            vec![
                file(Register::People, PEOPLE),
                file(
                    Register::Training,
                    "person_id,course,completed_on,expires_on\n\
                     P1,security,2026-01-10,\n\
                     P2,security,2026-02-10,2026-03-01\n\
                     P2,induction,2026-02-11,\n",
                ),
                file(
                    Register::Courses,
                    "id,title,mandatory,recur_months\nsecurity,Security,true,12\n\
                     induction,Induction,true,\n",
                ),
                file(
                    Register::Organisation,
                    "id,name,time_zone\norganisation,Org,America/New_York\n",
                ),
                file(
                    Register::BankHolidays,
                    "date,title\n2026-12-25,Christmas Day\n2026-12-28,Boxing Day\n",
                ),
            ],
            true,
        ),
        (
            "a reference to nobody",
            vec![
                file(Register::People, PEOPLE),
                file(
                    Register::Assets,
                    "tag,kind,ownership,status,assigned_to\nL1,laptop,organisation,allocated,P9\n\
                     L2,laptop,organisation,allocated,P1\n",
                ),
            ],
            false,
        ),
        (
            "two references to nothing on one line, and one on a later line",
            vec![
                file(Register::People, PEOPLE),
                file(Register::Systems, "id,name\nS1,One\n"),
                file(
                    Register::Accounts,
                    "id,person_id,system,kind,status\nA1,P1,S1,user,active\n\
                     A2,P7,S7,user,active\nA3,P8,S1,user,active\n",
                ),
            ],
            false,
        ),
        (
            "a loop of managers",
            vec![file(
                Register::People,
                "id,name,staff_group,status,manager_id\nP1,Ann,fca,active,P2\n\
                 P2,Bo,fca,active,P1\nP3,Cy,fca,active,P1\n",
            )],
            false,
        ),
        (
            "a duplicate id and a bad date",
            vec![
                file(Register::People, PEOPLE),
                file(
                    Register::Assets,
                    "tag,kind,ownership,status,assigned_to,assigned_on\n\
                     L1,laptop,organisation,allocated,P1,2026-01-01\n\
                     L1,laptop,organisation,allocated,P2,2026-01-01\n\
                     L3,laptop,organisation,allocated,P2,01/01/2026\n",
                ),
            ],
            false,
        ),
    ]
}

/// Every field and relation of every object of every kind, as the rules show them; returns how
/// many values were compared.
fn same_estate(name: &str, imported: &Data, laid_out: &Data) -> usize {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .map(|t| t.timestamp_micros())
        .unwrap_or_default();
    let mut compared = 0;
    for kind in Kind::ALL {
        assert_eq!(
            imported.count(kind),
            laid_out.count(kind),
            "{name}: {kind:?}"
        );
        let paths = kind
            .fields()
            .into_iter()
            .chain(kind.relations())
            .map(|(field, _)| format!("{}.{field}", kind.name()));
        for path in paths {
            let program = steward_rules::compile_expression(&path, kind, &[])
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            for i in 0..imported.count(kind) as u32 {
                assert_eq!(
                    program.display(imported, i, now, now),
                    program.display(laid_out, i, now, now),
                    "{name}: {path} of {}",
                    imported.id(kind, i)
                );
                compared += 1;
            }
        }
        // Working days skip the same holidays.
        let program = steward_rules::compile_expression("now.addWorkingDays(3)", kind, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            program.display(imported, 0, now, now),
            program.display(laid_out, 0, now, now),
            "{name}: working days"
        );
    }
    compared
}

#[test]
fn a_folder_laid_out_as_it_is_read_is_what_an_import_checks_and_lays_out() {
    let steward = Steward::open("sqlite::memory:").expect("scratch store");
    let mut compared = 0;
    let mut refused = 0;
    for (name, files, accepted) in cases() {
        let imported = steward.check_files(files.clone());
        let laid_out = steward.check_files_laid_out(files, Reads::every());
        match (imported, laid_out) {
            (Ok(checked), Ok((data, time_zone))) => {
                assert!(accepted, "{name}: accepted");
                let organisation = checked
                    .rows()
                    .filter(|r| r.register() == Register::Organisation)
                    .filter_map(|r| r.get("time_zone")?.as_text().map(str::to_owned))
                    .next_back()
                    .unwrap_or_else(|| "Europe/London".to_owned());
                assert_eq!(time_zone, organisation, "{name}");
                let mut rows = Data::from_registers_reading(checked.registers, Reads::every());
                steward_service::holidays_or_shipped(&mut rows);
                let mut data = data;
                steward_service::holidays_or_shipped(&mut data);
                compared += same_estate(name, &rows, &data);
            }
            (Err(ServiceError::Import(imported)), Err(ServiceError::Import(laid_out))) => {
                assert!(!accepted, "{name}: refused: {imported:?}");
                assert_eq!(imported, laid_out, "{name}");
                refused += 1;
            }
            (imported, laid_out) => panic!(
                "{name}: an import gives {:?}, laid out {:?}",
                imported.map(|_| ()).map_err(|e| e.to_string()),
                laid_out.map(|_| ()).map_err(|e| e.to_string())
            ),
        }
    }
    assert_eq!(refused, 4);
    assert!(compared > 20_000, "only {compared} values compared");
}

/// Laid out for a few fields, the estate has those (and the relations they follow) and no
/// others: the id and references the checks read beside them are let go.
#[test]
fn only_the_fields_read_are_kept() {
    let steward = Steward::open("sqlite::memory:").expect("scratch store");
    let kind = Kind::parse("asset").expect("a kind");
    let program = steward_rules::compile_expression(r#"asset.status == "allocated""#, kind, &[])
        .expect("compiles");
    let reads = program.reads();
    let (data, _) = steward
        .check_files_laid_out(demo(), reads.clone())
        .expect("the demo passes");
    assert!(data.lays_out(reads));
    assert!(!data.lays_out(&Reads::every()));
    let assigned =
        steward_rules::compile_expression("asset.assigned_to", kind, &[]).expect("compiles");
    assert!(!data.lays_out(assigned.reads()));
    // The assignments were read (every reference is checked) but not kept: unknown for all.
    let (whole, _) = steward
        .check_files_laid_out(demo(), Reads::every())
        .expect("the demo passes");
    let shown = |data: &Data| -> std::collections::BTreeSet<String> {
        (0..data.count(kind) as u32)
            .map(|i| assigned.display(data, i, 0, 0).unwrap_or_default())
            .collect()
    };
    assert!(shown(&whole).len() > 10, "{:?}", shown(&whole));
    assert_eq!(shown(&data), [String::new()].into());
    assert_eq!(data.count(kind), whole.count(kind));
}
