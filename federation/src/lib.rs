//! The ActivityPub side of Hearth.
//!
//! This crate knows JSON-LD wire types, actors, HTTP signatures, safe fetching and the
//! verifying inbox. It knows nothing of databases or of the product's rules: what it needs
//! from the product it asks through the [`port::Port`] trait, which the server implements.
#![deny(missing_docs)]

pub mod activities;
pub mod bounds;
pub mod client;
pub mod context;
pub mod delivery;
pub mod error;
pub mod inbox;
pub mod key_fetch;
pub mod keys;
pub mod media_fetch;
pub mod objects;
pub mod policy;
pub mod port;
pub mod protocol;
pub mod resolver;
pub mod signatures;
pub mod signed_fetch;
pub mod software;

pub use activitypub_federation;
pub use context::{FederationData, FederationSettings};
pub use error::FederationError;
