//! Jobs: queued, claimed by one holder at a time, renewed, ended only by their holder, handed
//! back, taken over once a lease lapses, failed after too many takeovers, cancelled, de-duplicated
//! — and, with several connections racing to claim, each job claimed once — on every backend
//! `testing::databases` returns.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_store::testing::{databases, race};
use steward_store::{
    Dedupe, JobEnd, JobFile, JobHold, JobProgress, JobQuery, JobState, MAX_ATTEMPTS, NewJob, Store,
};

/// Second `n` of a morning, with microseconds, so comparisons are not only of whole seconds.
fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::seconds(n)
        + Duration::microseconds(250_001)
}

fn ok<T>(b: steward_store::Backend, r: steward_store::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{b}: {e}"))
}

fn new_job(kind: &str, who: &str, dedupe: Option<(&str, bool)>) -> NewJob {
    NewJob {
        kind: kind.into(),
        arguments: "{\"x\":1}".into(),
        requested_by: who.into(),
        requester_person: Some("P1".into()),
        dedupe: dedupe.map(|(key, while_queued)| Dedupe {
            key: key.into(),
            while_queued,
        }),
        created_at: t(0),
        total: 3,
    }
}

#[test]
fn a_job_runs_under_one_holder_and_its_files_go_when_it_ends() {
    for db in databases("jobs") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        // Bytes that are not text survive the round trip.
        let bytes: Vec<u8> = (0..=255u8)
            .chain(b"id,name\n\0\xff".iter().copied())
            .collect();
        let files = [
            JobFile {
                name: "people.csv".into(),
                register: "people".into(),
                bytes: bytes.clone(),
            },
            JobFile {
                name: "assets.csv".into(),
                register: "assets".into(),
                bytes: b"tag\n".to_vec(),
            },
        ];
        let (id, new) = ok(
            b,
            store.enqueue_job(&new_job("import", "web:a@x", None), &files),
        );
        assert!(new, "{b}");
        let job = ok(b, store.job(id)).unwrap_or_else(|| panic!("{b}: no job"));
        assert_eq!(job.state, JobState::Queued, "{b}");
        assert_eq!((job.progress.done, job.progress.total), (0, 3), "{b}");
        assert_eq!(job.requester_person.as_deref(), Some("P1"), "{b}");
        let stored = ok(b, store.job_files(id));
        assert_eq!(stored, files.to_vec(), "{b}");

        // Claimed by a; nobody else gets it while a's lease runs.
        let claimed = ok(b, store.claim_job("a", t(1), t(11))).unwrap_or_else(|| panic!("{b}"));
        assert_eq!(claimed.id, id, "{b}");
        assert_eq!(claimed.state, JobState::Running, "{b}");
        assert_eq!(claimed.holder.as_deref(), Some("a"), "{b}");
        assert_eq!(claimed.attempts, 1, "{b}");
        assert_eq!(claimed.started_at, Some(t(1)), "{b}");
        assert!(ok(b, store.claim_job("b", t(2), t(12))).is_none(), "{b}");

        // Only the holder renews, records progress or ends it.
        let progress = JobProgress {
            done: 1,
            total: 3,
            note: "evaluating".into(),
        };
        assert_eq!(
            ok(b, store.renew_job(id, "b", t(3), &progress)),
            JobHold::Lost,
            "{b}"
        );
        assert_eq!(
            ok(b, store.renew_job(id, "a", t(20), &progress)),
            JobHold::Held {
                cancel_requested: false
            },
            "{b}"
        );
        assert_eq!(
            ok(b, store.job(id)).map(|j| j.progress),
            Some(progress),
            "{b}"
        );
        // Renewed to 20: still a's at 15.
        assert!(ok(b, store.claim_job("b", t(15), t(25))).is_none(), "{b}");
        let done = JobEnd::Done {
            result: "{\"created\":2}".into(),
        };
        assert!(!ok(b, store.finish_job(id, "b", t(16), &done)), "{b}");
        assert!(ok(b, store.finish_job(id, "a", t(16), &done)), "{b}");
        let job = ok(b, store.job(id)).unwrap_or_else(|| panic!("{b}"));
        assert_eq!(job.state, JobState::Done, "{b}");
        assert_eq!(job.finished_at, Some(t(16)), "{b}");
        assert_eq!(job.result.as_deref(), Some("{\"created\":2}"), "{b}");
        assert_eq!(job.holder, None, "{b}");
        assert!(ok(b, store.job_files(id)).is_empty(), "{b}: files kept");
        // Ended once: not again, and nothing left to claim.
        assert!(!ok(b, store.finish_job(id, "a", t(17), &done)), "{b}");
        assert!(ok(b, store.claim_job("a", t(18), t(28))).is_none(), "{b}");
    }
}

#[test]
fn a_lapsed_lease_is_taken_over_and_a_job_that_keeps_dying_fails() {
    for db in databases("jobs_takeover") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let file = JobFile {
            name: "x.csv".into(),
            register: "people".into(),
            bytes: b"id\n".to_vec(),
        };
        let (id, _) = ok(
            b,
            store.enqueue_job(&new_job("import", "cli:op", None), &[file]),
        );
        // a dies holding it; at its lease's end it is b's.
        assert!(ok(b, store.claim_job("a", t(0), t(10))).is_some(), "{b}");
        assert!(ok(b, store.claim_job("b", t(10), t(20))).is_none(), "{b}");
        let taken = ok(b, store.claim_job("b", t(11), t(21))).unwrap_or_else(|| panic!("{b}"));
        assert_eq!((taken.id, taken.attempts), (id, 2), "{b}");
        assert_eq!(taken.started_at, Some(t(0)), "{b}: the first start is kept");
        // a comes back: it holds nothing.
        let progress = JobProgress::default();
        assert_eq!(
            ok(b, store.renew_job(id, "a", t(30), &progress)),
            JobHold::Lost,
            "{b}"
        );
        assert_eq!(ok(b, store.job_files(id)).len(), 1, "{b}: b needs the file");
        // b hands it back as it stops: queued, not counted as an attempt, claimable at once.
        assert!(ok(b, store.hand_back_job(id, "b")), "{b}");
        let job = ok(b, store.job(id)).unwrap_or_else(|| panic!("{b}"));
        assert_eq!((job.state, job.attempts), (JobState::Queued, 1), "{b}");
        assert_eq!(job.lease_until, None, "{b}");
        // Dies twice more.
        for (i, holder) in ["c", "d"].iter().enumerate() {
            let now = 40 + i64::try_from(i).unwrap_or(0) * 20;
            let job = ok(b, store.claim_job(holder, t(now), t(now + 10)))
                .unwrap_or_else(|| panic!("{b}: {holder}"));
            assert_eq!(job.attempts, 2 + i64::try_from(i).unwrap_or(0), "{b}");
        }
        assert_eq!(MAX_ATTEMPTS, 3);
        // Claimed three times and lapsed again: failed, its files gone, nobody claims it.
        assert!(ok(b, store.claim_job("e", t(100), t(110))).is_none(), "{b}");
        let job = ok(b, store.job(id)).unwrap_or_else(|| panic!("{b}"));
        assert_eq!(job.state, JobState::Failed, "{b}");
        assert!(
            job.error.as_deref().unwrap_or_default().contains("3 times"),
            "{b}: {:?}",
            job.error
        );
        assert!(ok(b, store.job_files(id)).is_empty(), "{b}");
    }
}

#[test]
fn cancelling_dedupe_and_listing() {
    for db in databases("jobs_cancel") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        // A slot's key: one job, whoever asks, for good.
        let slot = new_job("check", "system:schedule", Some(("check:slot:1", false)));
        let (first, new) = ok(b, store.enqueue_job(&slot, &[]));
        assert!(new, "{b}");
        assert_eq!(ok(b, store.enqueue_job(&slot, &[])), (first, false), "{b}");
        // A queued-only key: one waiting, but another may wait once the first has started.
        let coalesced = new_job("check", "system:checks", Some(("check:queued", true)));
        let (second, _) = ok(b, store.enqueue_job(&coalesced, &[]));
        assert_eq!(
            ok(b, store.enqueue_job(&coalesced, &[])),
            (second, false),
            "{b}"
        );
        assert_eq!(
            ok(b, store.claim_job("a", t(1), t(100))).map(|j| j.id),
            Some(first),
            "{b}"
        );
        let claimed = ok(b, store.claim_job("a", t(1), t(100))).unwrap_or_else(|| panic!("{b}"));
        assert_eq!((claimed.id, claimed.dedupe_key), (second, None), "{b}");
        let (third, new) = ok(b, store.enqueue_job(&coalesced, &[]));
        assert!(new && third > second, "{b}");
        assert_eq!(ok(b, store.enqueue_job(&slot, &[])), (first, false), "{b}");

        // A queued job cancels at once; a running one is asked, and its holder sees it.
        let cancelled = ok(b, store.cancel_job(third, t(2))).unwrap_or_else(|| panic!("{b}"));
        assert_eq!(cancelled.state, JobState::Cancelled, "{b}");
        let (fourth, new) = ok(b, store.enqueue_job(&coalesced, &[]));
        assert!(new, "{b}: a cancelled job still held the queued key");
        let asked = ok(b, store.cancel_job(second, t(3))).unwrap_or_else(|| panic!("{b}"));
        assert_eq!(
            (asked.state, asked.cancel_requested),
            (JobState::Running, true),
            "{b}"
        );
        assert_eq!(
            ok(
                b,
                store.renew_job(second, "a", t(200), &JobProgress::default())
            ),
            JobHold::Held {
                cancel_requested: true
            },
            "{b}"
        );
        assert!(
            ok(b, store.finish_job(second, "a", t(4), &JobEnd::Cancelled)),
            "{b}"
        );
        assert!(ok(b, store.cancel_job(999, t(5))).is_none(), "{b}");

        // Newest first, by who asked, limited.
        let mine = new_job("import", "web:me@x", None);
        let (fifth, _) = ok(b, store.enqueue_job(&mine, &[]));
        let all = ok(
            b,
            store.jobs(&JobQuery {
                requested_by: None,
                limit: 3,
            }),
        );
        let ids: Vec<i64> = all.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![fifth, fourth, third], "{b}");
        let only = ok(
            b,
            store.jobs(&JobQuery {
                requested_by: Some("web:me@x".into()),
                limit: 10,
            }),
        );
        assert_eq!(
            only.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![fifth],
            "{b}"
        );
    }
}

#[test]
fn racing_claimers_each_take_a_different_job() {
    for db in databases("jobs_race") {
        let b = db.backend;
        let stores: Vec<Box<dyn Store>> = (0..4)
            .map(|_| steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}")))
            .collect();
        for i in 0..6 {
            stores[0]
                .enqueue_job(&new_job("check", &format!("cli:{i}"), None), &[])
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        // Four servers claim until nothing is left: every job once.
        let claimed = race(&stores, |i, store| {
            let mut mine = Vec::new();
            while let Some(job) = store
                .claim_job(&format!("server{i}"), t(0), t(60))
                .unwrap_or_else(|e| panic!("{b}: {e}"))
            {
                mine.push(job.id);
            }
            mine
        });
        let mut all: Vec<i64> = claimed.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (1..=6).collect::<Vec<_>>(), "{b}");
        // And racing enqueues of one slot make one job.
        let made = race(&stores, |_, store| {
            store
                .enqueue_job(&new_job("check", "system", Some(("slot", false))), &[])
                .unwrap_or_else(|e| panic!("{b}: {e}"))
        });
        assert_eq!(made.iter().filter(|(_, new)| *new).count(), 1, "{b}");
        assert!(made.iter().all(|(id, _)| *id == made[0].0), "{b}");
    }
}
