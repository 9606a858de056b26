//! Controls evaluated side by side, or ahead of their caller, give exactly what one after the
//! other gives, in the same order, whatever the number of threads.

use chrono::{NaiveDate, TimeZone as _, Utc};
use steward_engine::{At, ControlRun, Engine, RunOrder};
use steward_rules::Data;

fn summary(runs: &[ControlRun]) -> Vec<(String, Vec<u32>, Vec<steward_model::Finding>)> {
    runs.iter()
        .map(|r| (r.control.clone(), r.checked.clone(), r.findings.clone()))
        .collect()
}

#[test]
fn runs_on_many_threads_match_runs_on_one() {
    let packs: Vec<_> = ["cafcass-it-5.0", "cafcass-ia-4.3"]
        .iter()
        .filter_map(|id| steward_policy::builtin_pack(id)?.ok())
        .collect();
    assert_eq!(packs.len(), 2, "both built-in packs load");
    let params: Vec<_> = packs
        .iter()
        .map(|p| {
            let params = p
                .parameters
                .values()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect();
            (p, params)
        })
        .collect();
    let engine = Engine::new(&params).expect("the packs compile");
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).expect("a date");
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people: 300,
        seed: 7,
        usage_months: 2,
        today,
    });
    let data = Data::from_estate(&estate);
    let at = At {
        now: Utc
            .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
            .single()
            .expect("a time"),
        today,
    };
    let one_by_one: Vec<ControlRun> = engine.batches(&data, at).collect();
    let expected = summary(&one_by_one);
    assert!(
        expected.iter().any(|(_, _, f)| !f.is_empty()),
        "the demo estate fails some controls"
    );
    let rank = |f: &steward_model::Finding| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|s| *s == &*f.severity)
    };
    let mut most_severe_first: Vec<steward_model::Finding> =
        one_by_one.iter().flat_map(|r| r.findings.clone()).collect();
    most_severe_first.sort_by_key(|f| std::cmp::Reverse(rank(f)));
    assert!(
        most_severe_first
            .windows(2)
            .any(|w| w[0].severity != w[1].severity),
        "more than one severity among the findings"
    );
    // Evaluated ahead of the caller, by no findings, a few, or all of them: the same runs.
    for ahead in [0, 1, 50, usize::MAX] {
        let taken = engine.batches_ahead(&data, at, ahead, |runs| runs.collect::<Vec<_>>());
        assert_eq!(summary(&taken), expected, "{ahead} findings ahead");
    }
    // A caller that stops early gets what it took, and the evaluation stops with it.
    let first_three = engine.batches_ahead(&data, at, 0, |runs| {
        runs.take(3).map(|r| r.control).collect::<Vec<_>>()
    });
    assert_eq!(
        first_three,
        expected
            .iter()
            .take(3)
            .map(|(c, _, _)| c.clone())
            .collect::<Vec<_>>()
    );
    for threads in [1, 2, 3, 8] {
        let mut streamed = Vec::new();
        engine.each_run(&data, at, threads, RunOrder::MostSevereFirst, |run| {
            streamed.extend(run.findings)
        });
        assert_eq!(
            streamed, most_severe_first,
            "{threads} threads, most severe first"
        );
        assert_eq!(
            summary(&engine.runs(&data, at, threads)),
            expected,
            "{threads} threads"
        );
        let mut streamed = Vec::new();
        engine.each_run(&data, at, threads, RunOrder::Packs, |run| {
            streamed.push(run)
        });
        assert_eq!(summary(&streamed), expected, "{threads} threads, streamed");
        // A caller that fails part way (a panic while writing a run out) is not left waiting
        // by the threads evaluating ahead of it: its panic comes back out, after the runs
        // before it were handed over in order.
        let mut handed = Vec::new();
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.each_run(&data, at, threads, RunOrder::Packs, |run| {
                if handed.len() == 2 {
                    panic!("the output is gone");
                }
                handed.push(run.control);
            })
        }));
        assert!(
            failed.is_err(),
            "{threads} threads: the panic is raised again"
        );
        assert_eq!(
            handed,
            expected
                .iter()
                .take(2)
                .map(|(c, _, _)| c.clone())
                .collect::<Vec<_>>(),
            "{threads} threads"
        );
    }
}
