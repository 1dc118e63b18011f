//! One generated alert window, the categories it can belong to, and the random draws and
//! clock the generators share.

use std::ops::{Index, IndexMut};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Poisson, StandardNormal};

use crate::fields::{N_NUM, Num, Source};

/// The generator's random source: ChaCha8, so a seed gives the same stream on every platform.
pub(crate) type Rng = ChaCha8Rng;

/// Ground truth of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Category {
    Benign,
    BruteForce,
    PasswordSpray,
    LateralMovement,
    Exfiltration,
    C2Beacon,
    PortScan,
    /// Held out of training: the "novel" category.
    Ransomware,
}

impl Category {
    /// The label written to the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Benign => "benign",
            Category::BruteForce => "brute_force",
            Category::PasswordSpray => "password_spray",
            Category::LateralMovement => "lateral_movement",
            Category::Exfiltration => "exfiltration",
            Category::C2Beacon => "c2_beacon",
            Category::PortScan => "port_scan",
            Category::Ransomware => "ransomware",
        }
    }
}

/// The category never present in training data.
pub(crate) const NOVEL: Category = Category::Ransomware;

/// Share of rows per category in the training and test files. Benign takes whatever the
/// rounded attack counts leave.
pub(crate) const SHARES: &[(Category, f64, f64)] = &[
    (Category::BruteForce, 0.06, 0.05),
    (Category::PasswordSpray, 0.05, 0.04),
    (Category::LateralMovement, 0.05, 0.04),
    (Category::Exfiltration, 0.04, 0.04),
    (Category::C2Beacon, 0.05, 0.04),
    (Category::PortScan, 0.05, 0.04),
    (Category::Ransomware, 0.0, 0.05),
];

/// One alert window for a (host, account) pair.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Window start, seconds since the Unix epoch (UTC).
    pub time: i64,
    /// Index into the inventory's hosts.
    pub host: usize,
    /// Index into the inventory's users.
    pub user: usize,
    /// EDR sensor build reported for the host.
    pub sensor: &'static str,
    pub category: Category,
    pub num: [f64; N_NUM],
    /// The telemetry pipeline that was down during the window, if any.
    pub gap: Option<Source>,
}

impl Index<Num> for Event {
    type Output = f64;
    fn index(&self, n: Num) -> &f64 {
        &self.num[n as usize]
    }
}

impl IndexMut<Num> for Event {
    fn index_mut(&mut self, n: Num) -> &mut f64 {
        &mut self.num[n as usize]
    }
}

impl Event {
    /// Raises a feature to at least `x`.
    pub fn raise(&mut self, n: Num, x: f64) {
        if self[n] < x {
            self[n] = x;
        }
    }

    /// Makes the features consistent with each other and with their ranges.
    pub fn finish(&mut self) {
        use Num::*;
        for x in &mut self.num {
            if !x.is_finite() || *x <= 0.0 {
                *x = 0.0;
            }
        }
        for n in [ParentChildRarity, BeaconRegularity] {
            self[n] = self[n].min(0.999);
        }
        for n in [CmdlineEntropy, DnsEntropy] {
            self[n] = self[n].clamp(1.5, 5.9);
        }
        for n in [OffHours, PrivilegedLogon] {
            self[n] = if self[n] >= 0.5 { 1.0 } else { 0.0 };
        }
        self[OffHours] = if is_working_hours(self.time) {
            0.0
        } else {
            1.0
        };
        if self[PrivilegedLogon] > 0.0 {
            self.raise(SuccessfulLogins, 1.0);
        }
        let logins = self[FailedLogins].round() + self[SuccessfulLogins].round();
        if logins < 1.0 {
            self[DistinctSourceIps] = 0.0;
            self[MfaFailures] = 0.0;
            self[GeoDistanceKm] = 0.0;
            self[SourceFanoutAccounts] = 0.0;
        } else {
            self.raise(DistinctSourceIps, 1.0);
            self.raise(SourceFanoutAccounts, 1.0);
            self[DistinctSourceIps] = self[DistinctSourceIps].min(logins);
        }
        let flagged = self[RareProcessCount] + self[EncodedPowershell] + self[UnsignedBinaries];
        self.raise(ProcessStarts, flagged.round());
        let peers = self[DistinctDstHosts].max(self[DistinctDstPorts]);
        self.raise(Connections, peers.round());
        self.raise(Connections, self[SmbSessions].round());
        self.raise(FilesWritten, (self[FileRenameRate] * 15.0 / 2.0).round());
    }
}

/// Standard normal draw.
pub(crate) fn normal(rng: &mut Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Log-normal draw with the given median and log-scale spread.
pub(crate) fn lognormal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// Poisson count (0 for a non-positive mean).
pub(crate) fn poisson(rng: &mut Rng, mean: f64) -> f64 {
    Poisson::new(mean).map_or(0.0, |d| d.sample(rng))
}

/// Beta draw in (0, 1).
pub(crate) fn beta(rng: &mut Rng, a: f64, b: f64) -> f64 {
    Beta::new(a, b).map_or(0.5, |d| d.sample(rng))
}

/// Uniform real in `[lo, hi)`.
pub(crate) fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Uniform integer in `lo..=hi`, as a feature value.
pub(crate) fn int(rng: &mut Rng, lo: u32, hi: u32) -> f64 {
    f64::from(rng.random_range(lo..=hi))
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// Uniform index below `n` (`n > 0`).
pub(crate) fn index(rng: &mut Rng, n: usize) -> usize {
    rng.random_range(0..n)
}

/// A span of days the windows of one file fall in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    /// Midnight UTC of the first day (a Monday).
    pub start: i64,
    pub days: i64,
}

/// 2025-03-03T00:00:00Z, a Monday: training covers four weeks from here.
pub(crate) const TRAIN_PERIOD: Period = Period {
    start: 1_740_960_000,
    days: 28,
};

/// The two weeks right after training.
pub(crate) const TEST_PERIOD: Period = Period {
    start: 1_740_960_000 + 28 * 86_400,
    days: 14,
};

const WINDOW: i64 = 15 * 60;

/// When in the day a kind of activity happens.
#[derive(Debug, Clone, Copy)]
pub(crate) enum When {
    /// Inside working hours with this probability, otherwise outside them.
    Work(f64),
    /// Uniformly at any time.
    Any,
    /// Between 00:00 and 05:00 UTC on any day (scheduled jobs).
    Night,
}

/// Whether a time falls on a weekday between 08:00 and 18:00 UTC.
pub(crate) fn is_working_hours(t: i64) -> bool {
    let day = t.div_euclid(86_400);
    let weekday = (day + 3).rem_euclid(7); // 1970-01-01 was a Thursday; Monday is 0
    let hour = t.rem_euclid(86_400) / 3600;
    weekday < 5 && (8..18).contains(&hour)
}

/// Draws a window start within `period`.
pub(crate) fn time(rng: &mut Rng, period: Period, when: When) -> i64 {
    let slots = period.days * 86_400 / WINDOW;
    let any = |rng: &mut Rng| period.start + rng.random_range(0..slots) * WINDOW;
    match when {
        When::Any => any(rng),
        When::Night => {
            let day = rng.random_range(0..period.days);
            period.start + day * 86_400 + rng.random_range(0..20) * WINDOW
        }
        When::Work(p) => {
            let want = chance(rng, p);
            loop {
                let t = any(rng);
                if is_working_hours(t) == want {
                    return t;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_hours_follow_the_utc_clock_and_the_week() {
        let monday = TRAIN_PERIOD.start;
        assert!(!is_working_hours(monday + 7 * 3600));
        assert!(is_working_hours(monday + 8 * 3600));
        assert!(is_working_hours(monday + 17 * 3600 + 45 * 60));
        assert!(!is_working_hours(monday + 18 * 3600));
        assert!(
            !is_working_hours(monday + 5 * 86_400 + 10 * 3600),
            "saturday"
        );
    }
}
