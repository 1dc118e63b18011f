//! The operational simulation: replay days of SOC traffic — with drift, faults, floods,
//! timeouts and poisoned feedback — through the real pipeline (ingest, score, explain, decide,
//! ledger, audit, store) on an injected clock, with simulated analysts, for several arms side by
//! side, and measure what a field study measures.

pub mod outcome;
pub mod queue;

pub use outcome::{AnalystDay, ArmRun, DAY_MS, Final, Outcome, Review, Truth};
pub use queue::{QueueItem, Vocabulary, Work};
