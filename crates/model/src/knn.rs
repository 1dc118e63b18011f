//! Exact k-nearest-neighbour search over scaled rows (numeric coordinates plus categorical
//! codes), fast on clustered security data.
//!
//! The distance is Euclidean in the space where each categorical field is one-hot encoded and
//! scaled so a mismatch costs [`CATEGORICAL_MISMATCH`], so the triangle inequality holds. The
//! reference is organised as a ball tree whose centres are reference rows: a ball is split
//! around two far-apart members (the member farthest from its centre, and the member farthest
//! from that one), each row going to the nearer, until a ball holds at most [`LEAF_ROWS`] rows.
//! Every ball keeps its radius and every row its distance to its leaf's centre. A query walks
//! the balls nearest first; it skips a ball whose lower bound `d(q, centre) − radius` exceeds
//! the current k-th best distance, and a row whose `|d(q, centre) − d(r, centre)|` does. The
//! centres are reference rows, so each one measured also competes for the `k` best. Bounds
//! carry a small slack for rounding, so pruning never drops a row the full scan would keep,
//! and ties are broken by row number, so the answer does not depend on the order of the
//! search. The build is deterministic (it starts from row 0). Queries with a missing
//! coordinate fall back to a full scan, since distances that leave coordinates out are not a
//! metric.

use crate::ood::{CATEGORICAL_MISMATCH, Reference};

/// Most rows a leaf ball holds.
pub const LEAF_ROWS: usize = 24;

/// A ball: a centre row, its radius, and either two children or a range of `Index::order`.
#[derive(Debug, Clone)]
struct Ball {
    /// The centre's row while building, its position in `Index::order` after.
    center: u32,
    radius: f32,
    /// Children, or `None` for a leaf.
    children: Option<(u32, u32)>,
    start: u32,
    end: u32,
}

/// Search structure of one reference.
#[derive(Debug, Clone)]
pub struct Index {
    dn: usize,
    dc: usize,
    balls: Vec<Ball>,
    /// Reference rows in leaf order.
    order: Vec<u32>,
    /// Per position of `order`: the row's distance to its leaf's centre.
    to_center: Vec<f32>,
    /// The reference's coordinates in leaf order, so a leaf is read from one stretch of
    /// memory.
    sorted: Reference,
}

/// The `k` best so far as (squared distance, row), ascending by distance then row.
struct Best {
    k: usize,
    rows: Vec<(f32, usize)>,
}

impl Best {
    fn new(k: usize) -> Best {
        Best {
            k,
            rows: vec![(f32::INFINITY, usize::MAX); k],
        }
    }

    /// The squared distance a row must not exceed to be offered.
    fn bound(&self) -> f32 {
        self.rows[self.k - 1].0
    }

    fn offer(&mut self, d: f32, r: usize) {
        if (d, r) < self.rows[self.k - 1] {
            let pos = self.rows.partition_point(|b| (b.0, b.1) < (d, r));
            if self.rows[pos] == (d, r) {
                return; // a centre met again in its leaf
            }
            self.rows.insert(pos, (d, r));
            self.rows.pop();
        }
    }

    /// The rows found, as (row, Euclidean distance), nearest first.
    fn found(self) -> Vec<(usize, f32)> {
        self.rows
            .into_iter()
            .filter(|b| b.0.is_finite())
            .map(|(d, r)| (r, d.sqrt()))
            .collect()
    }

    /// The Euclidean distance a lower bound must exceed for a row to be skipped: the k-th
    /// best distance widened by rounding slack (bounds come from differences of rounded
    /// square roots).
    fn limit(&self) -> f32 {
        let kth = self.bound().sqrt();
        kth * (1.0 + 1e-5) + 1e-5
    }
}

/// Squared distance between a query (NaN coordinates skipped when `SKIP_NAN`) and reference
/// row `r`, or any value above `bound` once it is certain to be.
fn distance2<const SKIP_NAN: bool>(
    reference: &Reference,
    dn: usize,
    dc: usize,
    r: usize,
    num: &[f32],
    codes: &[u32],
    bound: f32,
) -> f32 {
    let refc = &reference.codes[r * dc..(r + 1) * dc];
    let mut d = codes
        .iter()
        .zip(refc)
        .filter(|(a, b)| **a != u32::MAX && a != b)
        .count() as f32
        * CATEGORICAL_MISMATCH;
    let refn = &reference.numeric[r * dn..(r + 1) * dn];
    for (q, x) in num.chunks(8).zip(refn.chunks(8)) {
        d += q
            .iter()
            .zip(x)
            .map(|(a, b)| {
                if SKIP_NAN && a.is_nan() {
                    0.0
                } else {
                    (a - b) * (a - b)
                }
            })
            .sum::<f32>();
        if d > bound {
            break;
        }
    }
    d
}

/// Position of the largest value (the first of equals).
fn farthest(d: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in d.iter().enumerate() {
        if v > d[best] {
            best = i;
        }
    }
    best
}

impl Index {
    pub fn new(reference: &Reference, dn: usize, dc: usize) -> Index {
        let n = reference.rows;
        let dist = |a: u32, b: u32| {
            let a = a as usize;
            let num = &reference.numeric[a * dn..(a + 1) * dn];
            let codes = &reference.codes[a * dc..(a + 1) * dc];
            distance2::<false>(reference, dn, dc, b as usize, num, codes, f32::INFINITY).sqrt()
        };
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut to_center: Vec<f32> = order.iter().map(|&r| dist(0, r)).collect();
        let mut balls = Vec::new();
        if n == 0 {
            return Index {
                dn,
                dc,
                balls,
                order,
                to_center,
                sorted: reference.clone(),
            };
        }
        let radius = to_center.iter().copied().fold(0.0f32, f32::max);
        // Balls waiting to be split; one holding more than LEAF_ROWS rows is split in two.
        balls.push(Ball {
            center: 0,
            radius,
            children: None,
            start: 0,
            end: n as u32,
        });
        let mut work = vec![0usize];
        let mut d1 = Vec::new();
        let mut d2 = Vec::new();
        while let Some(b) = work.pop() {
            let (start, end) = (balls[b].start as usize, balls[b].end as usize);
            if end - start <= LEAF_ROWS {
                continue;
            }
            let p1 = order[start + farthest(&to_center[start..end])];
            d1.clear();
            d1.extend(order[start..end].iter().map(|&r| dist(p1, r)));
            let p2 = order[start + farthest(&d1)];
            d2.clear();
            d2.extend(order[start..end].iter().map(|&r| dist(p2, r)));
            // Rows nearer p1 (ties too) go left, in their current order; the rest go right.
            let mut left: Vec<(u32, f32)> = Vec::new();
            let mut right: Vec<(u32, f32)> = Vec::new();
            for (i, &r) in order[start..end].iter().enumerate() {
                if d1[i] <= d2[i] {
                    left.push((r, d1[i]));
                } else {
                    right.push((r, d2[i]));
                }
            }
            if left.is_empty() || right.is_empty() {
                continue; // no spread left to split on: stays a (large) leaf
            }
            let mid = start + left.len();
            for (i, (r, d)) in left.iter().chain(&right).enumerate() {
                order[start + i] = *r;
                to_center[start + i] = *d;
            }
            let ball = |center: u32, part: &[(u32, f32)], s: usize, e: usize| Ball {
                center,
                radius: part.iter().map(|p| p.1).fold(0.0f32, f32::max),
                children: None,
                start: s as u32,
                end: e as u32,
            };
            let l = balls.len();
            balls.push(ball(p1, &left, start, mid));
            balls.push(ball(p2, &right, mid, end));
            balls[b].children = Some((l as u32, l as u32 + 1));
            work.push(l);
            work.push(l + 1);
        }
        let mut position = vec![0u32; n];
        for (p, &r) in order.iter().enumerate() {
            position[r as usize] = p as u32;
        }
        for ball in &mut balls {
            ball.center = position[ball.center as usize];
        }
        let sorted = Reference {
            rows: n,
            numeric: order
                .iter()
                .flat_map(|&r| &reference.numeric[r as usize * dn..(r as usize + 1) * dn])
                .copied()
                .collect(),
            codes: order
                .iter()
                .flat_map(|&r| &reference.codes[r as usize * dc..(r as usize + 1) * dc])
                .copied()
                .collect(),
        };
        Index {
            dn,
            dc,
            balls,
            order,
            to_center,
            sorted,
        }
    }

    /// Mean Euclidean distance to the `k` nearest reference rows; NaN coordinates of the query
    /// are left out.
    pub fn mean_distance(
        &self,
        reference: &Reference,
        num: &[f32],
        codes: &[u32],
        k: usize,
    ) -> f64 {
        let found = self.nearest(reference, num, codes, k);
        if found.is_empty() {
            return f64::INFINITY;
        }
        found.iter().map(|(_, d)| f64::from(*d)).sum::<f64>() / found.len() as f64
    }

    /// The `k` nearest reference rows as (row, Euclidean distance), nearest first, ties in
    /// row order.
    pub fn nearest(
        &self,
        reference: &Reference,
        num: &[f32],
        codes: &[u32],
        k: usize,
    ) -> Vec<(usize, f32)> {
        let k = k.max(1).min(reference.rows.max(1));
        let (dn, dc) = (self.dn, self.dc);
        let mut best = Best::new(k);
        if num.iter().any(|v| v.is_nan()) {
            return self.nearest_scan(reference, num, codes, k);
        } else if !self.balls.is_empty() {
            let sorted = &self.sorted;
            // Distance to the row at position `p` of the leaf order, offered as a candidate.
            let measure = |p: u32, best: &mut Best| {
                let d2 = distance2::<false>(sorted, dn, dc, p as usize, num, codes, f32::INFINITY);
                best.offer(d2, self.order[p as usize] as usize);
                d2.sqrt()
            };
            // (ball, distance from the query to its centre)
            let mut stack = vec![(0usize, measure(self.balls[0].center, &mut best))];
            while let Some((b, dq)) = stack.pop() {
                let ball = &self.balls[b];
                let limit = best.limit();
                if dq - ball.radius > limit {
                    continue;
                }
                match ball.children {
                    Some((l, r)) => {
                        let dl = measure(self.balls[l as usize].center, &mut best);
                        let dr = measure(self.balls[r as usize].center, &mut best);
                        // The nearer child is searched first (popped first).
                        if dl <= dr {
                            stack.push((r as usize, dr));
                            stack.push((l as usize, dl));
                        } else {
                            stack.push((l as usize, dl));
                            stack.push((r as usize, dr));
                        }
                    }
                    None => {
                        let (s, e) = (ball.start as usize, ball.end as usize);
                        let mut limit = limit;
                        for (p, &drc) in (s..e).zip(&self.to_center[s..e]) {
                            if p == ball.center as usize || (dq - drc).abs() > limit {
                                continue;
                            }
                            let d = distance2::<false>(sorted, dn, dc, p, num, codes, best.bound());
                            best.offer(d, self.order[p] as usize);
                            limit = best.limit();
                        }
                    }
                }
            }
        }
        best.found()
    }

    /// The same answer as [`Index::nearest`] by measuring every reference row: the search
    /// for a query with a missing coordinate, and the baseline the index is timed against.
    pub fn nearest_scan(
        &self,
        reference: &Reference,
        num: &[f32],
        codes: &[u32],
        k: usize,
    ) -> Vec<(usize, f32)> {
        let k = k.max(1).min(reference.rows.max(1));
        let mut best = Best::new(k);
        for r in 0..reference.rows {
            let d = distance2::<true>(reference, self.dn, self.dc, r, num, codes, best.bound());
            best.offer(d, r);
        }
        best.found()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(
        reference: &Reference,
        dn: usize,
        dc: usize,
        num: &[f32],
        codes: &[u32],
        k: usize,
    ) -> f64 {
        let mut all: Vec<f32> = (0..reference.rows)
            .map(|r| {
                let n = &reference.numeric[r * dn..(r + 1) * dn];
                let c = &reference.codes[r * dc..(r + 1) * dc];
                let mut d: f32 = num
                    .iter()
                    .zip(n)
                    .map(|(a, b)| if a.is_nan() { 0.0 } else { (a - b) * (a - b) })
                    .sum();
                d += codes
                    .iter()
                    .zip(c)
                    .filter(|(a, b)| **a != u32::MAX && a != b)
                    .count() as f32
                    * CATEGORICAL_MISMATCH;
                d
            })
            .collect();
        all.sort_by(f32::total_cmp);
        let k = k.min(all.len());
        all[..k].iter().map(|d| f64::from(d.sqrt())).sum::<f64>() / k as f64
    }

    proptest! {
        #[test]
        fn the_indexed_search_returns_the_same_rows_as_a_full_scan_ties_in_row_order(
            rows in proptest::collection::vec(
                (proptest::collection::vec(0i8..4, 2), 0u32..2), 1..300),
            query in proptest::collection::vec(0i8..4, 2),
            k in 1usize..9,
        ) {
            // Small integer grids make exact ties common.
            let reference = Reference {
                rows: rows.len(),
                numeric: rows.iter().flat_map(|r| r.0.iter().map(|&v| f32::from(v))).collect(),
                codes: rows.iter().map(|r| r.1).collect(),
            };
            let index = Index::new(&reference, 2, 1);
            let q: Vec<f32> = query.iter().map(|&v| f32::from(v)).collect();
            let fast: Vec<usize> =
                index.nearest(&reference, &q, &[0], k).into_iter().map(|(r, _)| r).collect();
            let mut all: Vec<(f32, usize)> = (0..reference.rows)
                .map(|r| (distance2::<false>(&reference, 2, 1, r, &q, &[0], f32::INFINITY), r))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let slow: Vec<usize> = all.iter().take(k).map(|a| a.1).collect();
            let scan: Vec<usize> =
                index.nearest_scan(&reference, &q, &[0], k).into_iter().map(|(r, _)| r).collect();
            prop_assert_eq!(&fast, &slow);
            prop_assert_eq!(scan, slow);
        }
    }

    proptest! {
        #[test]
        fn the_indexed_search_finds_exactly_the_nearest_rows(
            rows in proptest::collection::vec(
                (proptest::collection::vec(-8.0f32..8.0, 3), 0u32..3), 1..120),
            query in proptest::collection::vec(-9.0f32..9.0, 3),
            missing in any::<bool>(),
            code in 0u32..4,
            k in 1usize..7,
        ) {
            let reference = Reference {
                rows: rows.len(),
                numeric: rows.iter().flat_map(|r| r.0.clone()).collect(),
                codes: rows.iter().map(|r| r.1).collect(),
            };
            let index = Index::new(&reference, 3, 1);
            let mut q = query.clone();
            if missing {
                q[1] = f32::NAN;
            }
            let fast = index.mean_distance(&reference, &q, &[code], k);
            let slow = brute(&reference, 3, 1, &q, &[code], k);
            prop_assert!((fast - slow).abs() < 1e-4, "{} vs {}", fast, slow);
        }
    }
}
