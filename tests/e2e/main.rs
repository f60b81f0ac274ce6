//! End-to-end tests: real instances on loopback ports talking real HTTP with real signatures.

mod app_requests;
mod delivery;
mod discovery;
mod durability;
mod groups;
mod hardening;
mod hostile;
mod inbox;
mod interop;
mod mastodon_api;
mod notifications;
mod oauth;
mod people;
mod privacy;
mod storage;
mod written_fixtures;
