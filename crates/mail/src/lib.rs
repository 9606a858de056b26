//! Telling people by email. The notices that requests and incidents raise (who must be told, per
//! clause) are written as plain-text messages and handed to the organisation's SMTP relay; each
//! notice handed over is marked in the notifications register, through the service layer, so it
//! is sent once and the audit log shows when.
//!
//! It owns the server's configuration and session ([`smtp`], over lettre's SMTP client: plain,
//! STARTTLS or TLS, AUTH PLAIN/LOGIN/XOAUTH2), the message format ([`message`]), the delivery run
//! ([`deliver`]), the daily audit-head anchor ([`anchor`]), and the findings' escalation notices
//! and weekly digest ([`reach`]). It must never hold SQL or change a register except through
//! `steward-service`, never speak HTTP, never put text it was handed into a header or command
//! line unchecked (addresses are validated, header text has its line
//! breaks removed and is encoded; lettre dot-stuffs bodies), and never put a password or token in
//! an error or a log line.

pub mod anchor;
pub mod deliver;
pub mod message;
pub mod reach;
pub mod smtp;
pub mod testing;

pub use deliver::{Delivery, Sender, deliver};
pub use message::{Mailbox, Message};
pub use smtp::{Login, Relay, RelayOptions, Secret, Security, Session, Token};

/// Everything that can stop a message from reaching the mail server. None holds a password or
/// token.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("relay {relay:?}: {reason}")]
    BadRelay { relay: String, reason: String },
    /// A setting beside `smtp_url` (or the credentials in it) that cannot be used as it stands.
    #[error("{key}: {reason}")]
    BadSetting { key: &'static str, reason: String },
    #[error("cannot reach the mail relay {relay}: {reason}")]
    Connect { relay: String, reason: String },
    /// The server would not let Steward sign in with the credentials of `key`.
    #[error(
        "the mail relay {relay} refused to sign Steward in (the credentials of {key}): {reason}"
    )]
    SignIn {
        relay: String,
        key: &'static str,
        reason: String,
    },
    /// The server answered with a refusal: this message (or the session) will not be taken.
    #[error("the mail relay answered {command} with {reply}")]
    Refused { command: String, reply: String },
    /// The connection failed in the middle of a run.
    #[error("lost the mail relay {relay}: {reason}")]
    Lost { relay: String, reason: String },
    #[error("{address:?} is not an address Steward will send to: {reason}")]
    BadAddress { address: String, reason: String },
    /// The audit log's chain does not verify, so its head is not sent as an anchor.
    #[error("the audit log does not verify, so no anchor is sent for it: {0}")]
    BrokenLog(String),
    #[error(transparent)]
    Service(#[from] steward_service::ServiceError),
}

pub type Result<T, E = MailError> = std::result::Result<T, E>;
