//! The README's "Using it" examples, pasted into a shell: each one runs, in order, in a fresh
//! folder (so on a fresh SQLite database of the demo data the first lines make), with the binary
//! under test first on PATH. Only the few that need what a test cannot give are skipped, each
//! with its reason.

use std::path::Path;
use std::process::Command;

use steward_store::testing::TempDir;

/// Commands not run, as written in the README (without their comment), and why.
const SKIPPED: &[(&str, &str)] = &[
    (
        "steward audit anchor --send",
        "needs a mail server to send the anchor to",
    ),
    (
        "steward mail send --smtp smtp://127.0.0.1:25 --from steward@example.org",
        "needs a mail server",
    ),
    (
        "steward account unlink-sso it@example.org --provider microsoft",
        "needs an account a single sign-on has linked, which needs a provider to sign in with",
    ),
    ("steward serve", "runs a web server until it is stopped"),
    (
        "steward serve --demo",
        "runs a web server until it is stopped",
    ),
    (
        "read -rs STEWARD_NEW_PASSWORD && export STEWARD_NEW_PASSWORD",
        "reads a password from the terminal; the test sets STEWARD_NEW_PASSWORD instead",
    ),
];

/// The shell lines of the README's "Using it" block, a line ending in `\` joined to the next.
fn examples(readme: &str) -> Vec<String> {
    let mut lines = readme
        .lines()
        .skip_while(|l| l.trim() != "## Using it")
        .skip_while(|l| !l.starts_with("```sh"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"));
    let mut commands = Vec::new();
    while let Some(line) = lines.next() {
        let mut command = line.to_owned();
        while command.ends_with('\\') {
            command.pop();
            match lines.next() {
                Some(next) => command.push_str(next.trim_start()),
                None => break,
            }
        }
        if !command.trim().is_empty() {
            commands.push(command);
        }
    }
    commands
}

/// A command without its trailing `# comment`.
fn without_comment(command: &str) -> &str {
    command.split(" #").next().unwrap_or(command).trim()
}

#[test]
fn every_readme_example_runs_on_the_demo_data() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let commands = examples(&readme);
    assert!(
        commands.len() > 20,
        "the \"Using it\" block was not found: {commands:?}"
    );

    let binary = Path::new(env!("CARGO_BIN_EXE_steward"));
    let bin_dir = binary.parent().expect("the binary's folder");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let dir = TempDir::new("readme").expect("temp dir");

    let mut skipped = Vec::new();
    let mut ran = 0;
    for command in &commands {
        let bare = without_comment(command);
        if let Some((_, why)) = SKIPPED.iter().find(|(s, _)| *s == bare) {
            println!("skipped: {bare} ({why})");
            skipped.push(bare);
            continue;
        }
        let mut shell = Command::new("sh");
        shell.arg("-c").arg(command).current_dir(dir.path());
        // Nothing from the test's own environment decides where the data goes.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("STEWARD_") {
                shell.env_remove(name);
            }
        }
        let out = shell
            .env("PATH", &path)
            .env(
                "STEWARD_NEW_PASSWORD",
                "a long and unguessable first password",
            )
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "README example failed ({}): {command}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    // Every skip names a README example, so the list cannot outlive what it excuses.
    for (command, _) in SKIPPED {
        assert!(
            skipped.contains(command),
            "skipped {command:?} is not in the README"
        );
    }
    assert_eq!(ran + skipped.len(), commands.len());
    // What the examples made is really there: the demo in a database, and its backup.
    assert!(dir.path().join("steward-data/steward.db").is_file());
    assert!(dir.path().join("backup.db").is_file());
}
