//! `steward sso test` against a real OpenID Connect provider on loopback (the web tests'
//! fixture): each configured provider's metadata and keys read as a sign-in would read them, the
//! registration's redirect URI said; a provider that cannot be reached fails the command and is
//! named.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use steward_store::testing::TempDir;

const TENANT: &str = "11111111-2222-3333-4444-555555555555";

struct Provider(Child, u16);

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn provider() -> Option<Provider> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../web/tests/fixtures/oidc_provider.py"
    );
    let mut child = match Command::new("python3")
        .args([script, "steward", "secret"])
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "python3: {e}");
            return None;
        }
    };
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    match line.trim().parse() {
        Ok(port) => Some(Provider(child, port)),
        Err(_) => {
            let _ = child.kill();
            assert!(
                std::env::var_os("CI").is_none(),
                "the provider did not start: {line:?}"
            );
            None
        }
    }
}

fn steward(dir: &std::path::Path, config: &str) -> Output {
    let path = dir.join("steward.toml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .arg("--config")
        .arg(&path)
        .args(["sso", "test"])
        .env("STEWARD_DATA_DIR", dir)
        .env_remove("STEWARD_CONFIG")
        .env_remove("STEWARD_PUBLIC_URL")
        .env_remove("STEWARD_SSO_MICROSOFT_CLIENT_SECRET")
        .env_remove("STEWARD_SSO_GOOGLE_CLIENT_SECRET")
        .output()
        .expect("the steward binary runs")
}

#[test]
fn sso_test_reads_each_provider_and_names_one_it_cannot() {
    let Some(idp) = provider() else {
        eprintln!("skipped: no provider");
        return;
    };
    let dir = TempDir::new("cli_sso_test").unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://127.0.0.1:{}", idp.1);
    let config = |microsoft_issuer: &str| {
        format!(
            "public_url = \"https://steward.example.org\"\n\
             [sso.microsoft]\nclient_id = \"steward\"\nclient_secret = \"secret\"\n\
             tenant = \"{TENANT}\"\nissuer = \"{microsoft_issuer}\"\n\
             [sso.google]\nclient_id = \"steward\"\nclient_secret = \"secret\"\n\
             hosted_domain = \"example.org\"\nissuer = \"{base}/google\"\n"
        )
    };

    let good = steward(dir.path(), &config(&format!("{base}/{TENANT}/v2.0")));
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "Microsoft: ok — issuer {base}/{TENANT}/v2.0, 1 signing key(s)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("https://steward.example.org/auth/google/callback"),
        "{stdout}"
    );

    // An issuer that does not answer: named, and the command fails; the other still read.
    let bad = steward(dir.path(), &config("http://127.0.0.1:1/nobody"));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success(), "{stderr}");
    assert!(
        stderr.contains("Microsoft: cannot read Microsoft's sign-in settings"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("Google: ok"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );

    // Nothing set up: said so.
    let none = steward(dir.path(), "");
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("no single sign-on is set up"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
}
