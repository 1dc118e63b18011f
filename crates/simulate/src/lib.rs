//! The operational simulation: replay days of SOC traffic — with drift, faults, floods,
//! timeouts and poisoned feedback — through the real pipeline (ingest, score, explain, decide,
//! ledger, audit, store) on an injected clock, with simulated analysts, for several arms side by
//! side, and measure what a field study measures.

pub mod analysts;
pub mod arms;
pub mod config;
mod error;
pub mod metrics;
pub mod outcome;
pub mod queue;
pub mod report;
pub mod run;
pub mod source;
pub mod stream;

pub use error::SimError;
pub use outcome::{AnalystDay, ArmRun, DAY_MS, Final, Outcome, Review, Truth};
pub use queue::{QueueItem, Vocabulary, Work};
