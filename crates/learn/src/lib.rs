//! Learning from analysts without being poisoned.
//!
//! Every human decision that carries a label leaves a teaching example (written by the
//! ledger in the decision's own audit entry, see `arbiter_ledger::teach`); labels from
//! concluded incidents are imported in bulk as the trusted tier ([`import`]). This crate
//! reads that teaching set for training ([`set`]) and screens it for poisoning
//! ([`defend`], with label consistency among neighbours from [`neighbours`]).
//!
//! ```
//! use arbiter_learn::import::{LabelFormat, parse_labels};
//! let csv = "alert,label,ticket\nsiem/A-1,benign,INC-7\n";
//! let labels = parse_labels(csv, LabelFormat::Csv, "t.csv").unwrap();
//! assert_eq!(labels[0].key.to_string(), "siem/A-1");
//! let bad = parse_labels("alert,label,ticket\nsiem/A-1,Not a family,INC-7\n", LabelFormat::Csv, "t.csv");
//! assert!(bad.unwrap_err().to_string().contains("line 2, field `label`"));
//! ```

pub mod defend;
pub mod import;
pub mod neighbours;
pub mod set;

pub use defend::{Candidate, Quarantine, Screen, Screened, Screening, screen};
pub use import::{ImportError, LabelFormat, RowError, parse_labels};
pub use set::{Counts, Lesson, SetAside, lessons};
