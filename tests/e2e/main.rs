//! End-to-end tests: real instances on loopback ports talking real HTTP with real signatures.

mod app_requests;
mod blocks;
mod client_libraries;
mod conversations_and_settings;
mod delivery;
mod discovery;
mod durability;
mod groups;
mod hardening;
mod hostile;
mod inbox;
mod interop;
mod mastodon_api;
mod media;
mod media_proxy;
mod notifications;
mod oauth;
mod people;
mod privacy;
mod registration;
mod reports;
mod search_and_tags;
mod statuses_api;
mod storage;
mod streaming;
mod written_fixtures;
