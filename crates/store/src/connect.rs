//! Connecting to PostgreSQL: the url's `sslmode` and `sslrootcert` read as libpq reads them, TLS
//! through rustls, and the pools' connection managers, which check each connection before use
//! and replace a broken one: the store's connections, and the readers that stream whole
//! registers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::{Client, NoTls, Statement};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{StoreError, redact};

/// How the server's certificate is checked, libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text only.
    Disable,
    /// TLS if the server offers it, unverified; plain text otherwise (libpq's default).
    Prefer,
    /// TLS or nothing; the certificate is not checked (but against `sslrootcert` if given, as
    /// libpq does).
    Require,
    /// TLS, the certificate issued by a trusted root; any host name.
    VerifyCa,
    /// TLS, the certificate issued by a trusted root for the host connected to.
    VerifyFull,
}

/// Where to connect and how: the url without the TLS parameters libpq knows and the `postgres`
/// crate does not, and those parameters.
#[derive(Clone)]
pub(crate) struct PgTarget {
    pub config: Config,
    pub mode: TlsMode,
    tls: Option<MakeRustlsConnect>,
}

impl PgTarget {
    /// Reads `postgres://…?sslmode=…&sslrootcert=…`. A `sslrootcert` of `system` trusts the
    /// operating system's roots; without one, `verify-ca` and `verify-full` read
    /// `~/.postgresql/root.crt`, as libpq does.
    pub(crate) fn parse(url: &str) -> Result<PgTarget, StoreError> {
        let bad = |reason: String| StoreError::Connect {
            url: redact(url),
            reason,
        };
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut mode = TlsMode::Prefer;
        let mut root: Option<String> = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => {
                    mode = match value {
                        "disable" => TlsMode::Disable,
                        // libpq's `allow` tries plain text first; Steward prefers TLS.
                        "allow" | "prefer" => TlsMode::Prefer,
                        "require" => TlsMode::Require,
                        "verify-ca" => TlsMode::VerifyCa,
                        "verify-full" => TlsMode::VerifyFull,
                        other => {
                            return Err(bad(format!(
                                "sslmode={other:?}: expected disable, prefer, require, verify-ca or verify-full"
                            )));
                        }
                    }
                }
                "sslrootcert" => root = Some(percent_decode(value)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config = Config::from_str(&rest).map_err(|e| bad(e.to_string()))?;
        config.ssl_mode(match mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let tls = match mode {
            TlsMode::Disable => None,
            _ => Some(MakeRustlsConnect::new(
                client_config(mode, root.as_deref()).map_err(bad)?,
            )),
        };
        Ok(PgTarget { config, mode, tls })
    }

    pub(crate) fn connect(&self) -> Result<Client, postgres::Error> {
        let config = postgres::Config::from(self.config.clone());
        match &self.tls {
            Some(tls) => config.connect(tls.clone()),
            None => config.connect(NoTls),
        }
    }

    /// A [`PgReader`]: a connection of the asynchronous client, driven by a runtime of its own,
    /// with no statement timeout.
    fn connect_reader(&self) -> Result<PgReader, ReaderError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ReaderError::Runtime)?;
        // The connection is a task of the reader's runtime: it runs whenever the reader is
        // used, and nothing polls it between uses (the server's messages wait in the socket).
        let (client, connection) = runtime.block_on(async {
            let (client, connection) = match &self.tls {
                Some(tls) => {
                    let (client, connection) = self.config.connect(tls.clone()).await?;
                    (client, tokio::spawn(async move { drop(connection.await) }))
                }
                None => {
                    let (client, connection) = self.config.connect(tokio_postgres::NoTls).await?;
                    (client, tokio::spawn(async move { drop(connection.await) }))
                }
            };
            // A reader's one statement reads a whole register, which at 300,000 people lasts
            // longer than the timeout meant for a request's query.
            client.batch_execute("SET statement_timeout = 0").await?;
            Ok::<_, postgres::Error>((client, connection))
        })?;
        Ok(PgReader {
            runtime,
            client: Some(client),
            connection,
            returned: Instant::now(),
        })
    }
}

/// A connection for reading a whole register: its rows streamed to the caller inside one entry
/// into its runtime. The blocking client's iterator enters its runtime once per row, which at
/// 100,000 people was a tenth of a `check`'s time against the database.
pub(crate) struct PgReader {
    runtime: tokio::runtime::Runtime,
    /// `None` only while being dropped.
    client: Option<tokio_postgres::Client>,
    /// The connection's task, which ends once the client is gone.
    connection: tokio::task::JoinHandle<()>,
    /// When it last went back to its pool.
    returned: Instant,
}

impl Drop for PgReader {
    /// Ends the session as the blocking client does, with the protocol's goodbye: the server
    /// would otherwise log every reader let go as a connection lost.
    fn drop(&mut self) {
        drop(self.client.take());
        let connection = &mut self.connection;
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(1), connection).await });
    }
}

impl PgReader {
    /// `sql`'s rows handed to `each` as they arrive; how many there were. The first error, of
    /// the database or of `each`, ends the read.
    pub(crate) fn each_row<E: From<ReaderError>>(
        &mut self,
        sql: &str,
        mut each: impl FnMut(&postgres::Row) -> Result<(), E>,
    ) -> Result<usize, E> {
        let failed = |e: postgres::Error| E::from(ReaderError::Postgres(e));
        let client = self.client.as_ref().ok_or(ReaderError::Closed)?;
        self.runtime.block_on(async move {
            let rows = client
                .query_raw(sql, std::iter::empty::<i32>())
                .await
                .map_err(failed)?;
            let mut rows = std::pin::pin!(rows);
            let mut count = 0;
            while let Some(row) =
                std::future::poll_fn(|cx| futures_core::Stream::poll_next(rows.as_mut(), cx)).await
            {
                each(&row.map_err(failed)?)?;
                count += 1;
            }
            Ok(count)
        })
    }

    #[cfg(test)]
    pub(crate) fn query_one(&mut self, sql: &str) -> Result<postgres::Row, ReaderError> {
        let client = self.client.as_ref().ok_or(ReaderError::Closed)?;
        Ok(self.runtime.block_on(client.query_one(sql, &[]))?)
    }
}

/// Why a reader could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReaderError {
    #[error("cannot start a reader's runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
    /// Only while the reader is being let go.
    #[error("the reader is closed")]
    Closed,
}

/// The manager of the pool of [`PgReader`]s, checking each as [`PgManager`] does its
/// connections.
pub(crate) struct PgReaderManager {
    pub target: PgTarget,
}

impl r2d2::ManageConnection for PgReaderManager {
    type Connection = PgReader;
    type Error = ReaderError;

    fn connect(&self) -> Result<PgReader, ReaderError> {
        self.target.connect_reader()
    }

    fn is_valid(&self, reader: &mut PgReader) -> Result<(), ReaderError> {
        if reader.returned.elapsed() < RECENT {
            return Ok(());
        }
        let client = reader.client.as_ref().ok_or(ReaderError::Closed)?;
        reader
            .runtime
            .block_on(client.simple_query(""))
            .map(drop)
            .map_err(ReaderError::from)
    }

    fn has_broken(&self, reader: &mut PgReader) -> bool {
        reader.returned = Instant::now();
        reader.client.as_ref().is_none_or(|c| c.is_closed())
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// ring, as the mail client already uses: one cryptographic backend in the build, with no C
/// toolchain needed. rustls marks its ring defaults deprecated for want of post-quantum key
/// exchange, which PostgreSQL's TLS does not negotiate today.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: std::sync::OnceLock<Arc<rustls::crypto::CryptoProvider>> =
        std::sync::OnceLock::new();
    #[allow(deprecated)]
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn roots(root: Option<&str>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let path = match root {
        Some("system") => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err("sslrootcert=system: the operating system has no trusted roots".into());
            }
            return Ok(store);
        }
        Some(path) => PathBuf::from(path),
        None => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".postgresql/root.crt"))
            .ok_or("verify-ca and verify-full need sslrootcert: the file of trusted roots")?,
    };
    let shown = path.display().to_string();
    let certs = CertificateDer::pem_file_iter(&path)
        .map_err(|e| format!("sslrootcert {shown}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("sslrootcert {shown}: {e}"))?;
    for cert in certs {
        store
            .add(cert)
            .map_err(|e| format!("sslrootcert {shown}: {e}"))?;
    }
    if store.is_empty() {
        return Err(format!("sslrootcert {shown}: no certificate in the file"));
    }
    Ok(store)
}

fn client_config(mode: TlsMode, root: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let verify = matches!(
        (mode, root),
        (TlsMode::VerifyCa | TlsMode::VerifyFull, _) | (TlsMode::Require, Some(_))
    );
    let verifier: Arc<dyn ServerCertVerifier> = if verify {
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root)?), provider())
                .build()
                .map_err(|e| e.to_string())?;
        Arc::new(Verifier {
            webpki: Some(webpki),
            names: mode == TlsMode::VerifyFull,
        })
    } else {
        Arc::new(Verifier {
            webpki: None,
            names: false,
        })
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The certificate check for a mode: none (`prefer`, `require`), the chain only (`verify-ca`),
/// or the chain and the host name (`verify-full`). The handshake's signatures are verified in
/// every mode.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    names: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.names => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The pool's manager of PostgreSQL connections: connects with the statement timeout set for
/// the session, checks a connection with an empty query before lending it, and counts one that
/// has closed as broken.
pub(crate) struct PgManager {
    pub target: PgTarget,
}

impl r2d2::ManageConnection for PgManager {
    type Connection = PgSession;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgSession, postgres::Error> {
        Ok(PgSession::new(self.target.connect()?))
    }

    /// A connection given back less than [`RECENT`] ago is lent without a round trip: its first
    /// statement is retried on a new connection if it proves closed (see `PgConn` in `pg.rs`).
    /// One idle longer is asked an empty query first.
    fn is_valid(&self, session: &mut PgSession) -> Result<(), postgres::Error> {
        if session.returned.elapsed() < RECENT {
            return Ok(());
        }
        session.client.simple_query("").map(drop)
    }

    fn has_broken(&self, session: &mut PgSession) -> bool {
        session.returned = Instant::now();
        session.client.is_closed()
    }
}

/// How recently a connection must have been given back to be lent without being checked.
const RECENT: Duration = Duration::from_secs(1);

/// A pooled connection and the statements it has prepared, by their text: a statement the
/// store runs again is executed without being parsed and planned again (one round trip, not
/// two).
pub(crate) struct PgSession {
    pub client: Client,
    statements: HashMap<String, Statement>,
    /// When it last went back to the pool.
    returned: Instant,
}

/// Statements kept per connection at most; past it the cache starts again (the store's
/// statements are a few dozen shapes, but list and findings filters combine).
const MOST_STATEMENTS: usize = 512;

impl PgSession {
    pub(crate) fn new(client: Client) -> PgSession {
        PgSession {
            client,
            statements: HashMap::new(),
            returned: Instant::now(),
        }
    }

    pub(crate) fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        if self.statements.len() >= MOST_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        let cases = [
            ("postgres://u@h/db", TlsMode::Prefer),
            ("postgres://u@h/db?sslmode=disable", TlsMode::Disable),
            ("postgres://u@h/db?sslmode=prefer", TlsMode::Prefer),
            (
                "postgres://u@h/db?application_name=x&sslmode=require",
                TlsMode::Require,
            ),
        ];
        for (url, want) in cases {
            let target = PgTarget::parse(url).map_err(|e| e.to_string());
            assert_eq!(target.map(|t| t.mode), Ok(want), "{url}");
        }
        let Err(e) = PgTarget::parse("postgres://u:pw@h/db?sslmode=maybe") else {
            panic!("an unknown sslmode was accepted");
        };
        let text = e.to_string();
        assert!(text.contains("sslmode=\"maybe\""), "{text}");
        assert!(
            !text.contains("pw"),
            "the password reached a message: {text}"
        );
        let Err(e) = PgTarget::parse(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/root.pem",
        ) else {
            panic!("a missing root file was accepted");
        };
        assert!(e.to_string().contains("/nonexistent/root.pem"), "{e}");
    }

    /// The machine's PostgreSQL speaks TLS with a self-signed certificate issued for
    /// `localhost`; the test server's url says where it listens and as whom to connect.
    const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

    /// Connects with `params` to the test server by `host`; whether the session is encrypted,
    /// or why it could not connect.
    fn session_encrypted(host: &str, params: &str) -> Result<bool, String> {
        let Ok(url) = std::env::var(crate::testing::ENV) else {
            return Err("no test server".into());
        };
        let config = Config::from_str(&url).map_err(|e| e.to_string())?;
        let user = config.get_user().unwrap_or("postgres");
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let url = format!("postgres://{user}@{host}:{port}/postgres?{params}");
        let target = PgTarget::parse(&url).map_err(|e| e.to_string())?;
        let ssl = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        let blocking = target
            .connect()
            .map_err(|e| format!("{e:?}"))
            .and_then(|mut client| {
                client
                    .query_one(ssl, &[])
                    .and_then(|r| r.try_get::<_, bool>(0))
                    .map_err(|e| e.to_string())
            });
        // The readers that stream whole registers connect as the store's connections do.
        let reader = target
            .connect_reader()
            .map_err(|e| format!("{e:?}"))
            .and_then(|mut reader| {
                reader
                    .query_one(ssl)
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.try_get::<_, bool>(0).map_err(|e| e.to_string()))
            });
        match (&blocking, &reader) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{url}: encrypted, and a reader's session"),
            (Err(_), Err(_)) => {}
            _ => panic!("{url}: the store's connection {blocking:?}, a reader {reader:?}"),
        }
        blocking
    }

    #[test]
    fn tls_to_the_test_server_as_libpq_would() {
        if std::env::var(crate::testing::ENV).is_err() {
            return;
        }
        assert!(
            std::path::Path::new(SNAKEOIL).is_file(),
            "the test server's certificate {SNAKEOIL} is missing"
        );
        let root = format!("sslrootcert={SNAKEOIL}");
        assert_eq!(session_encrypted("localhost", "sslmode=disable"), Ok(false));
        assert_eq!(session_encrypted("localhost", "sslmode=prefer"), Ok(true));
        assert_eq!(session_encrypted("127.0.0.1", "sslmode=require"), Ok(true));
        assert_eq!(
            session_encrypted("localhost", &format!("sslmode=verify-full&{root}")),
            Ok(true)
        );
        // The certificate names localhost: the chain holds for 127.0.0.1, the name does not.
        assert_eq!(
            session_encrypted("127.0.0.1", &format!("sslmode=verify-ca&{root}")),
            Ok(true)
        );
        let refused = session_encrypted("127.0.0.1", &format!("sslmode=verify-full&{root}"));
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("NotValidForName")),
            "verify-full against an address the certificate does not name: {refused:?}"
        );
        // A root that did not issue the server's certificate is refused in every verifying mode.
        let stranger =
            std::env::temp_dir().join(format!("steward-root-{}.pem", std::process::id()));
        let other = unrelated_root();
        std::fs::write(&stranger, other).expect("write a stranger's root");
        let strange = format!("sslrootcert={}", stranger.display());
        for mode in ["verify-ca", "verify-full", "require"] {
            let got = session_encrypted("localhost", &format!("sslmode={mode}&{strange}"));
            assert!(
                got.is_err(),
                "{mode} with an unrelated root connected: {got:?}"
            );
        }
        let _ = std::fs::remove_file(&stranger);
    }

    /// A self-signed CA certificate that has nothing to do with the test server (generated once
    /// with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj /CN=stranger`).
    fn unrelated_root() -> &'static str {
        include_str!("../tests/data/stranger-root.pem")
    }

    #[test]
    fn percent_encoded_paths_are_decoded() {
        assert_eq!(
            percent_decode("%2Fetc%2Fssl%2Froot.pem"),
            "/etc/ssl/root.pem"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
