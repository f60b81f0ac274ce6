//! Hearth: a federated health-community server for clinics.
//!
//! `config` reads settings, `db` stores, `service` holds the rules, `api` and `web` are thin
//! HTTP layers over the services, `app` wires them into a running instance, and `cli` is the
//! `hearth` command. `logging` and `monitoring` are what an operator watches it by. The ActivityPub protocol itself lives in the `hearth-federation` crate.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod logging;
pub mod monitoring;
pub mod serve;
pub mod service;
pub mod web;

pub use app::Application;
pub use config::Settings;
pub use error::Error;
