//! Refused requests, counted in memory and written to the audit log together once a second.
//!
//! Every 401 and 403 is on the record, but a flood of them must not grow the permanent log
//! without bound or queue behind ingest: refusals from one actor for one action from one peer
//! within a flush become one entry with a count; what a refusal records is cut short (no raw
//! path or id of any length makes an entry large); and beyond `max_keys` distinct counters,
//! refusals are counted under one overflow counter.

use std::collections::HashMap;
use std::sync::Mutex;

use arbiter_core::Actor;
use arbiter_ledger::{Denial, capped};
use chrono::{DateTime, Utc};

/// Longest entity recorded for a refusal, in characters.
pub const MAX_DENIED_ENTITY: usize = 96;

type Key = (String, String, Option<String>);

#[derive(Debug)]
pub struct Denials {
    counts: Mutex<HashMap<Key, Denial>>,
    max_keys: usize,
}

impl Denials {
    pub fn new(max_keys: usize) -> Denials {
        Denials {
            counts: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(1),
        }
    }

    pub fn note(
        &self,
        actor: Actor,
        what: &str,
        entities: Vec<String>,
        peer: Option<String>,
        at: DateTime<Utc>,
    ) {
        let Ok(mut m) = self.counts.lock() else {
            return;
        };
        let mut key: Key = (actor.to_string(), capped(what, 120), peer.clone());
        let mut denial = Denial {
            actor,
            what: key.1.clone(),
            entities: entities
                .iter()
                .take(4)
                .map(|e| capped(e, MAX_DENIED_ENTITY))
                .collect(),
            peer,
            count: 0,
            first: at,
            last: at,
        };
        if !m.contains_key(&key) && m.len() >= self.max_keys {
            key = ("overflow".into(), String::new(), None);
            denial = Denial {
                actor: Actor::system("overflow"),
                what: "refusals beyond the per-flush counter limit (actors and peers not kept)"
                    .into(),
                entities: Vec::new(),
                peer: None,
                count: 0,
                first: at,
                last: at,
            };
        }
        let d = m.entry(key).or_insert(denial);
        d.count += 1;
        d.last = at;
    }

    /// Everything counted since the last drain, oldest first.
    pub fn drain(&self) -> Vec<Denial> {
        let Ok(mut m) = self.counts.lock() else {
            return Vec::new();
        };
        let mut v: Vec<Denial> = m.drain().map(|(_, d)| d).collect();
        v.sort_by(|a, b| a.first.cmp(&b.first).then(a.what.cmp(&b.what)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn issue_10_repeated_refusals_become_one_counted_record() {
        let d = Denials::new(10);
        for i in 0..1000 {
            d.note(
                Actor::Anonymous,
                "read an alert",
                vec![format!("path:{}", "x".repeat(65_000))],
                Some("10.0.0.9".into()),
                at(i),
            );
        }
        let out = d.drain();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].count, 1000);
        assert_eq!((out[0].first, out[0].last), (at(0), at(999)));
        assert!(out[0].entities[0].chars().count() <= MAX_DENIED_ENTITY + 1);
        assert!(d.drain().is_empty(), "drained");
    }

    #[test]
    fn issue_10_distinct_refusals_beyond_the_limit_share_one_counter() {
        let d = Denials::new(3);
        for i in 0..100 {
            d.note(
                Actor::Anonymous,
                "read the queue",
                vec![],
                Some(format!("10.0.0.{i}")),
                at(i),
            );
        }
        let out = d.drain();
        assert_eq!(out.len(), 4);
        assert_eq!(out.iter().map(|x| x.count).sum::<u64>(), 100);
        assert!(
            out.iter()
                .any(|x| x.actor == Actor::system("overflow") && x.count == 97)
        );
    }
}
