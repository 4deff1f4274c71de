//! Corridor: a scenario lab for trade cooperation.
//!
//! Data flows one way: file → parsed document (spans kept) → validated
//! [`scenario::Scenario`] → engine ([`model`]) → yearly flows → [`metrics`] →
//! Monte Carlo summaries ([`ensemble`]) → [`report`] (CSV, JSON, tables) or the app.
//! Nothing in the library outside `app` knows about the GUI.

pub mod analysis;
pub mod cli;
pub mod ensemble;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;

#[cfg(feature = "gui")]
pub mod app;

/// The version written into reports so every number can be traced to a build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
