//! End-to-end tests: real instances on loopback ports talking real HTTP with real signatures.

mod discovery;
mod groups;
mod inbox;
mod mastodon_api;
mod privacy;
mod storage;
