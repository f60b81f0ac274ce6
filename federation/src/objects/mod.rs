//! `activitypub_federation` object implementations: wire types to product types and back.

pub mod actor;
