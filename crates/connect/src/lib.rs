//! Connectors: the estate kept current from the systems the organisation already runs — the
//! identity provider and device manager (Microsoft 365, Google Workspace), Jamf, Snipe-IT — and
//! from the files of those without an API (the portals' own exports, an HR spreadsheet, the mobile
//! network's bill, through a mapped CSV profile).
//!
//! It owns reading a source into a [`Listing`] of source records in one shape whatever the source
//! ([`source`]), the portal exports and mapped CSV files ([`exports`], [`mapped`]). It must never
//! hold SQL or write a register itself: what a listing changes is decided against the estate and
//! applied through `steward-service`, in audited transactions, with the connector as the actor. It
//! must never put a secret (client secret, private key, token) in an error, a log line or a
//! listing.

pub mod exports;
pub mod mapped;
pub mod source;

pub use source::{
    Feed, Listing, SkippedFeed, SourceAccount, SourceDevice, SourcePerson, SourceSighting,
    SourceUsage,
};
