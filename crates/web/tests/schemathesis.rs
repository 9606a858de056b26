//! The API against its own contract: schemathesis (installed with pip by `.ci/run`) generates
//! requests from `/api/v1/openapi.json` for every operation and checks, against a demo
//! organisation served over a real socket, that nothing is a server error, that every status
//! code and content type is one the document gives, that every response matches its schema,
//! and that every authenticated operation refuses a request without the token. A fixed seed
//! and a bounded number of examples per operation keep the run short and repeatable. Without
//! schemathesis the test is skipped, except under CI, where it fails.

mod support;

use std::process::Command;

use chrono::{Duration, Utc};
use steward_service::{Capacity, NewToken, Stamp, Steward, TokenAccess};
use support::Server;

/// Examples per operation: enough to reach every kind of answer, few enough for a short run.
const EXAMPLES: &str = "8";

/// Operations only a person's token may take (a service's is refused them, as it should be):
/// raising a request and taking its steps, reporting an incident and handling it.
const PERSON_ONLY: usize = 4;

fn schemathesis() -> Option<Command> {
    let found = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(Command::new("schemathesis"));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "schemathesis is not installed (.ci/run installs it with pip)"
    );
    eprintln!("skipped: schemathesis is not installed");
    None
}

#[test]
fn the_api_keeps_its_openapi_contract() {
    let Some(mut run) = schemathesis() else {
        return;
    };
    let db = steward_store::testing::sqlite("web_schemathesis");
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
    let packs = support::demo::packs();
    support::demo::seed_with(&steward, &packs, 40);
    // A service with the estate's writing capacities, so that writes are tried for real.
    let (_, secret) = steward
        .create_token(
            &Stamp::now("test"),
            &NewToken {
                name: "contract tests".into(),
                service: Some((
                    "schemathesis".into(),
                    [Capacity::It, Capacity::Governance, Capacity::Administrator].into(),
                )),
                access: TokenAccess::ReadWrite,
                registers: Vec::new(),
                expires_at: Utc::now() + Duration::days(1),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let server = Server::start(
        &db.url,
        steward_web::Options {
            // The run's own pace, not the rate limit, is what is tested here.
            api_requests_per_minute: 1_000_000,
            ..Default::default()
        },
    );
    let spec = format!("http://{}/api/v1/openapi.json", server.addr);
    let work =
        steward_store::testing::TempDir::new("schemathesis").unwrap_or_else(|e| panic!("{e}"));
    // `STEWARD_SCHEMATHESIS_ONLY=operationId` and `STEWARD_SCHEMATHESIS_EXAMPLES=N` narrow and
    // deepen a run, to chase one operation's failure.
    let examples =
        std::env::var("STEWARD_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| EXAMPLES.into());
    let only = std::env::var("STEWARD_SCHEMATHESIS_ONLY")
        .map(|only| {
            // One operation alone has no links to follow: no stateful phase.
            vec![
                "--include-operation-id".to_owned(),
                only,
                "--phases".to_owned(),
                "coverage,fuzzing".to_owned(),
            ]
        })
        .unwrap_or_default();
    let out = run
        .current_dir(work.path())
        .args([
            "run",
            &spec,
            "--header",
            &format!("Authorization: Bearer {secret}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth",
            "--max-examples",
            &examples,
            "--seed",
            "1",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--no-color",
        ])
        .args(&only)
        .output()
        .unwrap_or_else(|e| panic!("schemathesis runs: {e}"));
    let report = String::from_utf8_lossy(&out.stdout);
    // Shown with `--nocapture`: what was covered, and the warnings.
    println!("{report}");
    assert!(
        out.status.success(),
        "schemathesis found the API breaking its contract:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The service's token is refused only where a step needs a person; anything more would
    // mean the token itself was not accepted.
    let refused_everything: usize = report
        .split("Authentication failed: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        refused_everything <= PERSON_ONLY,
        "the token was not accepted: {report}"
    );
    drop(server);
}
