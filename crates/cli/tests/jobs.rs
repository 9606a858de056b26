//! Jobs across real `steward serve` processes, on every test database: a job whose server died
//! is taken over once its lease lapses; `kill -9` during an import leaves the registers before or
//! after it, never between, and another server finishes it; a server told to stop (SIGTERM)
//! finishes or hands back its job; and `steward jobs` lists, shows and cancels.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use steward_model::{Person, Register};
use steward_service::{ImportFile, JobState, Stamp, Steward};
use steward_store::testing::{TempDir, TestDatabase, databases};

const PEOPLE: usize = 3_000;

fn people_csv(name: &str) -> Vec<u8> {
    let mut csv = String::from("id,name,email,staff_group,status\n");
    for i in 0..PEOPLE {
        csv.push_str(&format!("P{i:05},{name} {i},p{i}@example.org,fca,active\n"));
    }
    csv.into_bytes()
}

fn enqueue(steward: &Steward, name: &str) -> i64 {
    steward
        .enqueue_import(
            &Stamp::now("cli:test"),
            vec![ImportFile {
                register: Register::People,
                label: "people.csv".into(),
                bytes: people_csv(name),
            }],
        )
        .unwrap_or_else(|e| panic!("{e}"))
}

fn serve(db: &TestDatabase, dir: &TempDir) -> Child {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STEWARD_DATABASE_URL", &db.url)
        .env("STEWARD_DATA_DIR", dir.path())
        .env("STEWARD_JOB_LEASE", "1s")
        .env("STEWARD_JOB_WORKERS", "1")
        .env_remove("STEWARD_CONFIG")
        .env_remove("STEWARD_SMTP_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts")
}

fn state_of(steward: &Steward, id: i64) -> steward_service::Job {
    steward
        .store()
        .job(id)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no job {id}"))
}

/// Waits (up to a minute: the bound only ends a failure) until the job satisfies `done`.
fn wait_for(steward: &Steward, id: i64, what: &str, done: impl Fn(&steward_service::Job) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = state_of(steward, id);
        if done(&job) {
            return;
        }
        assert!(Instant::now() < deadline, "job {id} never {what}: {job:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many people carry each name prefix.
fn named(steward: &Steward, name: &str) -> usize {
    steward
        .list::<Person>()
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .filter(|p| p.name.starts_with(&format!("{name} ")))
        .count()
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn jobs_survive_their_servers() {
    for db in databases("cli_jobs") {
        let b = db.backend;
        let dir = TempDir::new("cli_jobs").expect("temp dir");
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));

        // A server claimed the import and died: the next server takes it over once the lease
        // lapses, and runs it to the end.
        let first = enqueue(&steward, "First");
        let now = Utc::now();
        let claimed = steward
            .store()
            .claim_job(
                "a-server-that-died",
                now,
                now + chrono::Duration::seconds(2),
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"))
            .unwrap_or_else(|| panic!("{b}: nothing to claim"));
        assert_eq!(claimed.id, first, "{b}");
        let server = serve(&db, &dir);
        wait_for(&steward, first, "ended", |j| j.state.is_finished());
        let job = state_of(&steward, first);
        assert_eq!(job.state, JobState::Done, "{b}: {job:?}");
        assert_eq!(job.attempts, 2, "{b}: taken over once");
        assert!(
            job.started_at
                .is_some_and(|t| t <= now + chrono::Duration::seconds(2)),
            "{b}"
        );
        assert_eq!(named(&steward, "First"), PEOPLE, "{b}");
        assert!(
            steward
                .store()
                .job_files(first)
                .unwrap_or_else(|e| panic!("{b}: {e}"))
                .is_empty(),
            "{b}: the upload outlived its job"
        );
        stop(server);

        // kill -9 while the import runs: the people are all before it or all after, never a
        // part; another server takes the job over and finishes it.
        let second = enqueue(&steward, "Second");
        let server = serve(&db, &dir);
        wait_for(&steward, second, "ran", |j| j.state != JobState::Queued);
        stop(server);
        let after = named(&steward, "Second");
        assert!(
            after == 0 || after == PEOPLE,
            "{b}: killed mid-import left {after} of {PEOPLE} people renamed"
        );
        assert_eq!(named(&steward, "First") + after, PEOPLE, "{b}");
        let server = serve(&db, &dir);
        wait_for(&steward, second, "ended", |j| j.state.is_finished());
        assert_eq!(state_of(&steward, second).state, JobState::Done, "{b}");
        assert_eq!(named(&steward, "Second"), PEOPLE, "{b}");
        stop(server);

        // SIGTERM while the import runs: the server finishes or hands back the job and exits;
        // it is never left running under a server that is gone.
        let third = enqueue(&steward, "Third");
        let mut server = serve(&db, &dir);
        wait_for(&steward, third, "ran", |j| j.state != JobState::Queued);
        let term = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", server.id())])
            .status()
            .expect("kill runs");
        assert!(term.success(), "{b}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.try_wait().ok().flatten().is_none() {
            assert!(Instant::now() < deadline, "{b}: the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        let job = state_of(&steward, third);
        assert!(
            matches!(job.state, JobState::Done | JobState::Queued) && job.holder.is_none(),
            "{b}: a stopped server left {job:?}"
        );
        let after = named(&steward, "Third");
        assert!(after == 0 || after == PEOPLE, "{b}: {after}");
        let server = serve(&db, &dir);
        wait_for(&steward, third, "ended", |j| j.state.is_finished());
        assert_eq!(named(&steward, "Third"), PEOPLE, "{b}");
        stop(server);

        // `steward jobs`: listed, shown, a queued one cancelled.
        let fourth = enqueue(&steward, "Fourth");
        let cli = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_steward"))
                .args(args)
                .env("STEWARD_DATABASE_URL", &db.url)
                .env("STEWARD_DATA_DIR", dir.path())
                .env_remove("STEWARD_CONFIG")
                .output()
                .expect("the steward binary runs");
            assert!(
                out.status.success(),
                "{b}: steward {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Piped: no progress line, no escape codes.
            assert!(!out.stderr.contains(&b'\r'), "{b}: {args:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let list = cli(&["jobs", "list"]);
        assert!(
            list.lines()
                .any(|l| l.trim_start().starts_with(&format!("{first} "))
                    && l.contains("import")
                    && l.contains("done")),
            "{b}: {list}"
        );
        let shown = cli(&["jobs", "show", &second.to_string()]);
        assert!(
            shown.contains("done") && shown.contains(&format!("0 created, {PEOPLE} updated")),
            "{b}: {shown}"
        );
        let cancelled = cli(&["jobs", "cancel", &fourth.to_string()]);
        assert!(cancelled.contains("cancelled"), "{b}: {cancelled}");
        assert_eq!(state_of(&steward, fourth).state, JobState::Cancelled, "{b}");
        let json: serde_json::Value = serde_json::from_str(&cli(&[
            "jobs",
            "show",
            &fourth.to_string(),
            "--format",
            "json",
        ]))
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(json["state"], "cancelled", "{b}: {json}");
    }
}
