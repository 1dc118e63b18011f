//! The team at work: who is on shift, who takes which alert, and when each review ends.

use std::collections::{HashMap, HashSet};

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use super::config::{AnalystConfig, AnalystError, validate_team};
use super::judge::{judge, request};
use crate::queue::{QueueItem, Vocabulary, Work};

const MINUTE_MS: f64 = 60_000.0;
const HOUR_MS: f64 = 3_600_000.0;

/// Simulated analysts working one queue. Holds what carries from one window to the next:
/// each analyst's pace, when they are next free, and the review they have open.
#[derive(Debug, Clone)]
pub struct Team {
    analysts: Vec<Analyst>,
}

#[derive(Debug, Clone)]
struct Analyst {
    config: AnalystConfig,
    minutes: LogNormal<f64>,
    /// Milliseconds between the starts of two reviews at full capacity.
    pace_ms: f64,
    /// No review starts before this (capacity), in ms; fractional so no capacity is lost.
    paced_until: f64,
    /// The current review's end: no review starts before it.
    busy_until: i64,
    current: Option<Open>,
    /// The poison the team file gave this analyst, restored when an event ends.
    configured_poison: Option<super::config::Poison>,
}

/// A review begun but not yet decided.
#[derive(Debug, Clone, Copy)]
struct Open {
    id: i64,
    end_ms: i64,
    /// Hours into the shift when it began.
    hours: f64,
    /// Open alerts when it began.
    open: usize,
}

/// What an analyst does next, and when.
#[derive(Debug, Clone, Copy)]
enum Next {
    Finish,
    Start,
}

impl Team {
    /// Builds the team after checking its configuration.
    pub fn new(config: &[AnalystConfig]) -> Result<Team, AnalystError> {
        validate_team(config)?;
        let analysts = config
            .iter()
            .map(|c| Analyst {
                minutes: LogNormal::new(c.review_minutes.median.ln(), c.review_minutes.spread)
                    .expect("a validated spread is finite"),
                pace_ms: HOUR_MS / c.reviews_per_hour,
                paced_until: f64::NEG_INFINITY,
                busy_until: i64::MIN,
                current: None,
                configured_poison: c.poison,
                config: c.clone(),
            })
            .collect();
        Ok(Team { analysts })
    }

    /// Makes `analyst` a poisoner who flips this share of their conclusions from now on, or
    /// back to what the team file says with `None` (a poisoned-feedback event starts and
    /// ends). Unknown names are ignored: the config refuses them before a run starts.
    pub fn set_poison(&mut self, analyst: &str, flip_share: Option<f64>) {
        for a in self
            .analysts
            .iter_mut()
            .filter(|a| a.config.name == analyst)
        {
            a.config.poison = flip_share
                .map(|flip_share| super::config::Poison { flip_share })
                .or(a.configured_poison);
        }
    }

    /// The analysts' configurations, in team order.
    pub fn analysts(&self) -> impl Iterator<Item = &AnalystConfig> {
        self.analysts.iter().map(|a| &a.config)
    }

    /// Alerts someone has open right now (begun in an earlier window, not yet decided), with
    /// who has them: nobody else takes them.
    pub fn in_progress(&self) -> Vec<(&str, i64)> {
        self.analysts
            .iter()
            .filter_map(|a| a.current.map(|c| (a.config.name.as_str(), c.id)))
            .collect()
    }

    /// The reviews finished in `[from_ms, to_ms)`, in the order they end (`at_ms <= to_ms`).
    ///
    /// Whoever on shift is free first takes the first alert in `queue` order that nobody took
    /// in this window, nobody has open, and they did not approve already (four eyes). A review
    /// starts no earlier than the alert's arrival and than the analyst's capacity allows, and
    /// only if it ends within the shift; one that outlasts the window is decided in a later
    /// window, against the queue of that window (and dropped if the alert has left it).
    /// `open` is the number of alerts waiting (queue pressure).
    pub fn work(
        &mut self,
        queue: &[QueueItem],
        from_ms: i64,
        to_ms: i64,
        open: usize,
        vocab: &Vocabulary,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Work> {
        let mut out = Vec::new();
        if to_ms <= from_ms {
            return out;
        }
        let index: HashMap<i64, usize> = queue.iter().enumerate().map(|(i, q)| (q.id, i)).collect();
        let mut taken: HashSet<i64> = self
            .analysts
            .iter()
            .filter_map(|a| a.current.map(|c| c.id))
            .collect();
        let mut idle = vec![false; self.analysts.len()];
        // Where each analyst's scan of the queue resumes: within a window items only ever get
        // taken, so nothing before it becomes free again.
        let mut cursor = vec![0usize; self.analysts.len()];
        loop {
            let next = self
                .analysts
                .iter()
                .enumerate()
                .filter(|(i, _)| !idle[*i])
                .filter_map(|(i, a)| a.next(from_ms, to_ms).map(|(t, n)| (t, i, n)))
                .min_by_key(|&(t, i, _)| (t, i));
            let Some((t, i, what)) = next else { break };
            let analyst = &mut self.analysts[i];
            match what {
                Next::Finish => {
                    let open_review = analyst.current.take().expect("a finish has a review");
                    let Some(item) = index.get(&open_review.id).map(|&k| &queue[k]) else {
                        continue;
                    };
                    if item.approvals.contains(&analyst.config.name) {
                        continue;
                    }
                    let j = judge(
                        &analyst.config,
                        item,
                        open_review.hours,
                        open_review.open,
                        rng,
                    );
                    out.push(Work {
                        id: item.id,
                        analyst: analyst.config.name.clone(),
                        at_ms: t,
                        request: request(item, j.malicious, vocab, rng),
                        judged_malicious: j.malicious,
                        automation_bias: j.automation_bias,
                        poisoned: j.poisoned,
                    });
                }
                Next::Start => {
                    let name = &analyst.config.name;
                    let skip = queue[cursor[i]..]
                        .iter()
                        .position(|q| !taken.contains(&q.id) && !q.approvals.contains(name));
                    let Some(k) = skip.map(|s| cursor[i] + s) else {
                        idle[i] = true;
                        continue;
                    };
                    cursor[i] = k;
                    let item = &queue[k];
                    let start = t.max(item.arrived_ms);
                    let (shift_start, shift_end) = analyst.config.shift.next_after(t);
                    if start >= to_ms || start >= shift_end {
                        idle[i] = true;
                        continue;
                    }
                    let ms = (analyst.minutes.sample(rng) * MINUTE_MS).round().max(1.0) as i64;
                    let end = start.saturating_add(ms);
                    if end > shift_end {
                        // Not started: it would not end before the shift does.
                        analyst.busy_until = shift_end;
                        continue;
                    }
                    taken.insert(item.id);
                    analyst.paced_until = start as f64 + analyst.pace_ms;
                    analyst.busy_until = end;
                    analyst.current = Some(Open {
                        id: item.id,
                        end_ms: end,
                        hours: (start - shift_start) as f64 / HOUR_MS,
                        open,
                    });
                }
            }
        }
        out
    }
}

impl Analyst {
    /// When this analyst next finishes or starts a review within `[from_ms, to_ms)` (a
    /// finish may fall on `to_ms`).
    fn next(&self, from_ms: i64, to_ms: i64) -> Option<(i64, Next)> {
        if let Some(c) = self.current {
            return (c.end_ms <= to_ms).then_some((c.end_ms.max(from_ms), Next::Finish));
        }
        let free = self
            .busy_until
            .max(self.paced_until.ceil() as i64)
            .max(from_ms);
        let (start, _) = self.config.shift.next_after(free);
        let t = free.max(start);
        (t < to_ms).then_some((t, Next::Start))
    }
}
