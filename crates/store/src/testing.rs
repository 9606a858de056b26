//! Real databases for tests (no mocks): a fresh SQLite file in a temporary directory, and — when
//! `STEWARD_TEST_DATABASE_URL` names a PostgreSQL server — a fresh PostgreSQL database created
//! for the test and dropped after it. Every storage test runs on each database this returns.
//!
//! The PostgreSQL database is migrated by the server url's own role (the owner), and the test
//! connects as a role created for it with only the grants `steward migrate --app-role` gives, so
//! every test proves Steward needs nothing more — among them, no UPDATE or DELETE on `audit_log`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::Backend;

pub const ENV: &str = "STEWARD_TEST_DATABASE_URL";

/// A database that exists for one test and is removed when dropped.
pub struct TestDatabase {
    pub backend: Backend,
    /// What Steward connects with: on PostgreSQL, as the restricted app role.
    pub url: String,
    /// The same database as its owner (the schema's owner on PostgreSQL).
    pub owner_url: String,
    /// The SQLite directory, or the PostgreSQL admin url and database name.
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Database {
        admin_url: String,
        name: String,
        role: String,
    },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(label: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    format!("steward_t_{label}_{}_{n}_{nanos}", std::process::id())
}

/// A temporary directory removed on drop, for tests that need files.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> std::io::Result<TempDir> {
        let path = std::env::temp_dir().join(unique(label));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The databases a storage test must pass on: always SQLite; PostgreSQL too when the environment
/// names a server. Panics (this is test support) when the PostgreSQL server cannot be reached, so a
/// misconfigured CI fails loudly instead of silently testing half.
pub fn databases(label: &str) -> Vec<TestDatabase> {
    let mut out = vec![sqlite(label)];
    if let Ok(url) = std::env::var(ENV)
        && !url.is_empty()
    {
        out.push(postgres(&url, label));
    }
    out
}

pub fn sqlite(label: &str) -> TestDatabase {
    let dir = std::env::temp_dir().join(unique(label));
    let url = format!("sqlite://{}", dir.join("steward.db").display());
    TestDatabase {
        backend: Backend::Sqlite,
        owner_url: url.clone(),
        url,
        cleanup: Cleanup::Dir(dir),
    }
}

fn postgres(admin_url: &str, label: &str) -> TestDatabase {
    let name = unique(label);
    let mut admin = postgres::Client::connect(admin_url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{ENV} is set but the server cannot be reached: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let owner_url = with_database(admin_url, &name);
    let role = format!("{name}_app");
    crate::migrate(&owner_url, Some(&role))
        .unwrap_or_else(|e| panic!("cannot migrate test database {name} or grant {role}: {e}"));
    TestDatabase {
        backend: Backend::Postgres,
        url: with_user(&owner_url, &role),
        owner_url,
        cleanup: Cleanup::Database {
            admin_url: admin_url.to_owned(),
            name,
            role,
        },
    }
}

/// The same url connecting as another user (without a password: the test server trusts).
pub fn with_user(url: &str, user: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match path {
        Some(p) => format!("{scheme}://{user}@{host}/{p}"),
        None => format!("{scheme}://{user}@{host}"),
    }
}

/// The same server url naming another database.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDatabase {
    /// Runs statements straight against the database as its owner, behind steward's back: how
    /// tests tamper.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        self.execute_at(&self.owner_url, sql)
    }

    /// Runs statements as the role Steward connects as: what a compromised server could do.
    pub fn execute_as_app(&self, sql: &str) -> Result<(), String> {
        self.execute_at(&self.url, sql)
    }

    fn execute_at(&self, url: &str, sql: &str) -> Result<(), String> {
        match &self.cleanup {
            Cleanup::Dir(dir) => rusqlite::Connection::open(dir.join("steward.db"))
                .and_then(|c| c.execute_batch(sql))
                .map_err(|e| e.to_string()),
            Cleanup::Database { .. } => postgres::Client::connect(url, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(sql))
                .map_err(|e| {
                    e.as_db_error()
                        .map_or(e.to_string(), |d| d.message().to_owned())
                }),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database {
                admin_url,
                name,
                role,
            } => {
                if let Ok(mut admin) = postgres::Client::connect(admin_url, postgres::NoTls) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                    let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""));
                }
            }
        }
    }
}

/// Runs `runner(i)` for each of `stores` on a thread of its own, all released at once, and returns
/// what each returned, in order: for tests that two writers racing leave one winner.
pub fn race<T: Send>(
    stores: &[Box<dyn crate::Store>],
    runner: impl Fn(usize, &dyn crate::Store) -> T + Sync,
) -> Vec<T> {
    let barrier = std::sync::Barrier::new(stores.len());
    std::thread::scope(|scope| {
        let runners: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let (barrier, runner) = (&barrier, &runner);
                scope.spawn(move || {
                    barrier.wait();
                    runner(i, store.as_ref())
                })
            })
            .collect();
        runners
            .into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|_| panic!("a racing runner panicked"))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn another_user_on_the_same_server() {
        assert_eq!(
            super::with_user("postgres://postgres@h:5432/test", "app"),
            "postgres://app@h:5432/test"
        );
        assert_eq!(
            super::with_user("postgres://u:pw@h/db?sslmode=disable", "app"),
            "postgres://app@h/db?sslmode=disable"
        );
        assert_eq!(super::with_user("postgres://h", "app"), "postgres://app@h");
    }

    #[test]
    fn another_database_on_the_same_server() {
        assert_eq!(
            super::with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
