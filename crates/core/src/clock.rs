//! Time as an input. Everything that stamps a record or ages a guardrail asks a [`Clock`], so
//! a replay on a [`ManualClock`] with the same inputs produces the same bytes.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to: for tests and simulated time.
#[derive(Debug)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    /// Starts at `start_ms` (milliseconds since the Unix epoch).
    pub fn new(start_ms: i64) -> ManualClock {
        ManualClock {
            ms: AtomicI64::new(start_ms),
        }
    }

    /// Starts at an RFC 3339 time; panics on a malformed literal (tests only).
    pub fn at(rfc3339: &str) -> ManualClock {
        let t = DateTime::parse_from_rfc3339(rfc3339).expect("an RFC 3339 time");
        ManualClock::new(t.timestamp_millis())
    }

    pub fn set_ms(&self, ms: i64) {
        self.ms.store(ms, Ordering::SeqCst);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let ms = self.ms.load(Ordering::SeqCst);
        Utc.timestamp_millis_opt(ms)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = ManualClock::at("2026-12-01T00:00:00Z");
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        c.advance_ms(1500);
        assert_eq!((c.now() - t0).num_milliseconds(), 1500);
        assert_eq!(c.now_ms(), t0.timestamp_millis() + 1500);
    }
}
