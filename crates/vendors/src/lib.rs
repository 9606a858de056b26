//! Stand-ins for third-party services that cannot run here — Microsoft Graph (with the Microsoft
//! identity platform's token endpoint), Google Workspace (the Admin SDK Directory API and Google's
//! OAuth 2.0 token endpoint), Jamf Pro and Snipe-IT — speaking their documented APIs over real HTTP
//! on 127.0.0.1; for tests and benchmarks only.
//!
//! This crate owns: the vendor-neutral [`Tenant`] the stand-ins render (and its deterministic
//! generator), each vendor's JSON shapes (every handler cites the vendor document it follows),
//! the credentials each accepts, and the [`Faults`] they inject (throttling, expired tokens,
//! one-off server errors, truncated JSON, refused paths).
//!
//! It must never be a dependency of a non-dev build (only `[dev-dependencies]` and benches may
//! name it), and it never reads anything outside the repository: the test key pair under `data/`
//! is compiled in with `include_str!`.
//!
//! ```no_run
//! use steward_vendors::{Credentials, Faults, Server, Tenant};
//!
//! let graph = Server::microsoft_graph(
//!     Tenant::generate(200, 300, 1),
//!     Faults { rate_limit_every: Some(10), ..Faults::default() },
//!     Credentials::microsoft("contoso.onmicrosoft.com", "client-id", "client-secret"),
//! )
//! .expect("a port on loopback");
//! // Token URL: {base}/contoso.onmicrosoft.com/oauth2/v2.0/token; Graph: {base}/v1.0/…
//! let base = graph.base_url();
//! graph.tenant().lock().unwrap().change(0.01, 7);
//! assert!(graph.requests().is_empty());
//! # let _ = base;
//! ```

#![recursion_limit = "256"]
// Handlers answer a refusal as the HTTP response itself (`Result<_, Response>`), built once per
// request on its error path; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod google;
mod graph;
mod jamf;
mod odata;
mod server;
mod snipe;
pub mod tenant;

pub use server::{Credentials, Faults, GOOGLE_SCOPES, Logged, Server};
pub use tenant::{
    CUSTOMER_ID, Compliance, DeletedUser, Device, DeviceKind, DeviceStatus, Os, Ownership, Role,
    SignIn, Tenant, User,
};

/// The test service account's private key (PKCS#8 PEM), for signing assertions in tests. Test
/// only: it is published in this repository and grants nothing anywhere.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../data/test-service-account.key.pem");

/// Its public key (PEM), which the Google stand-in verifies assertions with.
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../data/test-service-account.pub.pem");

/// A Google-style service-account key file holding [`TEST_PRIVATE_KEY_PEM`]; its `token_uri` is a
/// placeholder to be replaced with the stand-in's `{base_url}/token`.
pub const TEST_SERVICE_ACCOUNT_JSON: &str = include_str!("../data/service-account.json");

/// The test service account's `client_email`.
pub const TEST_CLIENT_EMAIL: &str = "steward-sync@steward-test.iam.gserviceaccount.com";
