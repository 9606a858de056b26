//! Telling people by email. The notices that requests and incidents raise (who must be told, per
//! clause) are written as plain-text messages and handed to the organisation's SMTP relay; each
//! notice handed over is marked in the notifications register, through the service layer, so it
//! is sent once and the audit log shows when.
//!
//! It owns the SMTP dialogue ([`smtp`]), the message format ([`message`]) and the delivery run
//! ([`deliver`]). It must never hold SQL or change a register except through `steward-service`,
//! never speak HTTP, and never put text it was handed into a header or command line unchecked:
//! addresses are validated, header text has its line breaks removed and is encoded, and message
//! bodies are dot-stuffed.

pub mod deliver;
pub mod message;
pub mod smtp;
pub mod testing;

pub use deliver::{Delivery, Sender, deliver};
pub use message::{Mailbox, Message};
pub use smtp::{Relay, Session};

/// Everything that can stop a message from reaching the relay.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("relay {relay:?}: {reason}")]
    BadRelay { relay: String, reason: String },
    #[error("cannot reach the mail relay {relay}: {source}")]
    Connect {
        relay: String,
        source: std::io::Error,
    },
    #[error("talking to the mail relay: {0}")]
    Io(#[from] std::io::Error),
    /// The relay answered a command with something other than what was expected.
    #[error("the mail relay answered {command} with {reply:?}")]
    Refused { command: String, reply: String },
    #[error("the mail relay sent a reply Steward cannot read: {0:?}")]
    Garbled(String),
    #[error("{address:?} is not an address Steward will send to: {reason}")]
    BadAddress { address: String, reason: String },
    #[error(transparent)]
    Service(#[from] steward_service::ServiceError),
}

pub type Result<T, E = MailError> = std::result::Result<T, E>;
