//! `steward check --data`, phase by phase, beside its floors: `cargo bench -p steward-service
//! --bench check`.
//!
//! Writes a demo organisation (`STEWARD_BENCH_PEOPLE`, default 100,000; twelve months of phone
//! usage) as a CSV folder, then, in one run, each step several times (`STEWARD_BENCH_RUNS`,
//! default 3), keeping the fastest:
//!
//! - the floors: the csv crate reading every file's bytes into one reused record, and reading
//!   them with a `String` per cell kept;
//! - Steward reading and validating the folder as an import would (`check_files`: every cell
//!   parsed and checked, ids unique, every reference found, managers a tree);
//! - laying the rows out for the rules (`Data`);
//! - both at once, each register laid out as its file is read (`check_files_laid_out`, what
//!   `steward check --data` does);
//! - evaluating every check of `cafcass-it-5.0` and `cafcass-ia-4.3`, on one thread and on all.
//!
//! `STEWARD_BENCH_BY_CONTROL=1` adds each control's time; `STEWARD_BENCH_PROFILE=N` ends instead
//! with evaluation alone run N times on one thread, for a profiler.
//!
//! Prints a table of seconds and each step's ratio to the floor. Allocates as the `steward`
//! binary does (mimalloc, freed pages returned after 3 ms).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone as _, Utc};
use steward_model::Register;
use steward_policy::{Overrides, Pack};
use steward_rules::{Data, Reads};
use steward_service::{ImportFile, Steward};

// The binary's allocator, with its setting (`cli/src/main.rs`): what the phases cost there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn allocate_as_the_binary_does() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's documented integer options (15: `purge_delay`, in
        // milliseconds); no precondition.
        unsafe { libmimalloc_sys::mi_option_set(15, 3) };
    }
}

fn number_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The fastest of `runs` runs of `f`, and its last result.
fn fastest<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let out = f();
        best = best.min(started.elapsed());
        last = Some(out);
    }
    match last {
        Some(out) => (best, out),
        None => unreachable!("at least one run"),
    }
}

fn main() {
    allocate_as_the_binary_does();
    let people = number_from_env("STEWARD_BENCH_PEOPLE", 100_000);
    let runs = number_from_env("STEWARD_BENCH_RUNS", 3);
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
    let dir = tempfile_dir();
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people,
        seed: 1,
        usage_months: 12,
        today,
    });
    let mut bytes = 0u64;
    for register in Register::ALL {
        let rows = estate.rows(register);
        if rows.is_empty() {
            continue;
        }
        let path = dir.join(register.file_name());
        let file = std::fs::File::create(&path).expect("a file in the bench's folder");
        steward_interchange::write(register, &rows, std::io::BufWriter::new(file))
            .expect("the demo writes");
        bytes += std::fs::metadata(&path).map_or(0, |m| m.len());
    }
    drop(estate);
    let files = ImportFile::folder(&dir).expect("the folder reads");
    let cells: usize = files.iter().map(|f| floor_bytes(&f.bytes)).sum();
    println!(
        "steward check --data, phase by phase: {people} people, {} MB of CSV, {cells} cells, {} \
         cores, fastest of {runs}, {}\n",
        bytes / 1_000_000,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        Utc::now().format("%Y-%m-%d"),
    );

    let (read_bytes, _) = fastest(runs, || {
        files
            .iter()
            .map(|f| floor_bytes(black_box(&f.bytes)))
            .sum::<usize>()
    });
    let (read_strings, _) = fastest(runs, || {
        files
            .iter()
            .map(|f| floor_strings(black_box(&f.bytes)).len())
            .sum::<usize>()
    });
    let scratch = Steward::open("sqlite::memory:").expect("an in-memory database");
    let (checked, registers) = fastest(runs, || {
        scratch
            .check_files(files.clone())
            .expect("the demo's folder is valid")
            .registers
    });
    let row_count: usize = registers.iter().map(|(_, rows)| rows.len()).sum();

    let packs: Vec<Pack> = ["cafcass-it-5.0", "cafcass-ia-4.3"]
        .iter()
        .filter_map(|id| steward_policy::builtin_pack(id)?.ok())
        .collect();
    let chosen: Vec<&Pack> = packs.iter().collect();
    let overrides = Overrides::default();
    let compiled = steward_service::compile_checks(&chosen, &overrides).expect("the packs compile");
    // Laid out once each way: the rows are moved into the estate. Every field first (a copy of
    // the rows), then only those the packs read, as `steward check` lays them out.
    let copy = registers.clone();
    let started = Instant::now();
    let every = black_box(Data::from_registers_reading(copy, Reads::every()));
    let layout_every = started.elapsed();
    drop(every);
    let started = Instant::now();
    let mut data = Data::from_registers_reading(registers, compiled.reads());
    steward_service::holidays_or_shipped(&mut data);
    let layout = started.elapsed();
    // What `steward check --data` does: each register laid out as its file is read.
    let (laid_out_as_read, _) = fastest(runs, || {
        scratch
            .check_files_laid_out(files.clone(), compiled.reads())
            .expect("the demo's folder is valid")
    });
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .unwrap_or_default();
    let (evaluate_all, (findings, _)) = fastest(runs, || {
        steward_service::evaluate_checked(&compiled, &data, "Europe/London", now)
            .expect("the estate is laid out for the packs")
    });
    let params: Vec<(&Pack, Vec<(String, steward_policy::ParamValue)>)> = packs
        .iter()
        .map(|p| {
            let params = steward_service::effective_params(p, &overrides).unwrap_or_default();
            (p, params)
        })
        .collect();
    let engine = steward_engine::Engine::new(&params).expect("the packs compile");
    let at = steward_engine::At { now, today };
    let (evaluate_one, _) = fastest(runs, || {
        engine
            .runs(&data, at, 1)
            .iter()
            .map(|r| r.findings.len())
            .sum::<usize>()
    });

    if let Ok(times) = std::env::var("STEWARD_BENCH_PROFILE") {
        // Evaluation alone, again and again, for a profiler started once the estate is laid
        // out (`perf record -D`): the setup's samples would otherwise outnumber it.
        eprintln!("evaluating for a profiler");
        for _ in 0..times.parse::<usize>().unwrap_or(10) {
            black_box(engine.runs(&data, at, 1));
        }
        return;
    }
    // As `steward check --data` takes them: a few controls at a time on every core, each
    // control's findings let go once taken (there, once written out).
    let (evaluate_taken, _) = fastest(runs, || {
        let mut taken = 0;
        engine.each_run(
            &data,
            at,
            steward_model::side_by_side::cores(),
            steward_engine::RunOrder::Packs,
            |run| taken += black_box(run).findings.len(),
        );
        taken
    });
    if std::env::var_os("STEWARD_BENCH_BY_CONTROL").is_some() {
        // Each control on its own, one thread, slowest first: where evaluation's time goes.
        let mut each = Vec::new();
        let mut runs_of = engine.batches(&data, at);
        loop {
            let started = Instant::now();
            let Some(run) = runs_of.next() else { break };
            each.push((
                started.elapsed(),
                run.control,
                run.checked.len(),
                run.findings.len(),
            ));
        }
        each.sort_by_key(|e| std::cmp::Reverse(e.0));
        println!("| control | ms | checked | findings |");
        println!("| --- | ---: | ---: | ---: |");
        for (took, control, checked, findings) in each {
            println!(
                "| {control} | {:.1} | {checked} | {findings} |",
                took.as_secs_f64() * 1000.0
            );
        }
        println!();
    }
    let seconds = |d: Duration| format!("{:.3}", d.as_secs_f64());
    let ratio =
        |d: Duration, floor: Duration| format!("{:.1}×", d.as_secs_f64() / floor.as_secs_f64());
    println!("| step | seconds | against the floor |");
    println!("| --- | ---: | ---: |");
    println!(
        "| floor: the csv crate, one reused record | {} | |",
        seconds(read_bytes)
    );
    println!(
        "| floor: the csv crate, a `String` per cell | {} | |",
        seconds(read_strings)
    );
    println!(
        "| read and validate the folder ({row_count} rows) | {} | {} of a `String` per cell; {} of bytes |",
        seconds(checked),
        ratio(checked, read_strings),
        ratio(checked, read_bytes)
    );
    println!(
        "| lay out for the rules, every field | {} | |",
        seconds(layout_every)
    );
    println!(
        "| lay out for the rules, the fields the packs read | {} | |",
        seconds(layout)
    );
    println!(
        "| read, validate and lay out as each file is read (`check --data`) | {} | {} of reading then laying out |",
        seconds(laid_out_as_read),
        ratio(laid_out_as_read, checked + layout)
    );
    println!(
        "| evaluate both packs, one thread ({} findings) | {} | |",
        findings.len(),
        seconds(evaluate_one)
    );
    println!(
        "| evaluate both packs, every core | {} | |",
        seconds(evaluate_all)
    );
    println!(
        "| evaluate both packs, every core, each control's findings let go once taken (as `check --data` takes them) | {} | |",
        seconds(evaluate_taken)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every record read into one reused `ByteRecord`: what reading the bytes costs. Returns the
/// number of cells.
fn floor_bytes(bytes: &[u8]) -> usize {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut cells = 0;
    while reader.read_byte_record(&mut record).unwrap_or(false) {
        cells += record.len();
    }
    cells
}

/// Every cell read into a `String` of its own, each row kept: the least a reader that keeps
/// text values can do.
fn floor_strings(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    let mut rows = Vec::new();
    while reader.read_record(&mut record).unwrap_or(false) {
        rows.push(record.iter().map(str::to_owned).collect());
    }
    rows
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("steward-bench-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}
