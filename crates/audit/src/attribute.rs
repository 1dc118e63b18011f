//! Turning mismatches found by [`crate::verify`] into located problems: which entry, which
//! byte. See the `verify` module docs for the strategy.

use std::collections::BTreeMap;

use crate::checkpoint::{CHECKPOINTS_FILE, Checkpoint};
use crate::merkle::{Hash, root_of};
use crate::report::{ProblemKind as K, VerifyReport};
use crate::storage::{ENTRIES_FILE, LEAVES_FILE};
use crate::verify::Scan;

pub(crate) fn compare_leaf_index(scan: &Scan, idx: &[(u64, Hash)], r: &mut VerifyReport) {
    let n = scan.hashes.len();
    let mut differing = (0..n.min(idx.len()))
        .filter(|&i| idx[i] != (scan.offsets[i], scan.hashes[i]))
        .peekable();
    let first = differing.peek().copied();
    let count = differing.count() + n.abs_diff(idx.len());
    let first = first.or((idx.len() != n).then_some(n.min(idx.len())));
    if let Some(i) = first {
        r.push(
            K::LeafIndexMismatch,
            Some(i as u64),
            Some(scan.offsets.get(i).copied().unwrap_or(scan.end)),
            ENTRIES_FILE,
            format!(
                "{LEAVES_FILE} ({} slots) disagrees with {ENTRIES_FILE} ({n} records) from this \
                 entry on; {count} slot(s) differ",
                idx.len()
            ),
        );
    }
}

/// Checks every trusted checkpoint's root; returns the largest size that verified.
pub(crate) fn check_roots(
    scan: &Scan,
    roots: &BTreeMap<u64, Hash>,
    trusted: &[(usize, u64, &Checkpoint)],
    idx: &[(u64, Hash)],
    r: &mut VerifyReport,
) -> u64 {
    let n = scan.hashes.len() as u64;
    let offset_of = |i: u64| scan.offsets.get(i as usize).copied().unwrap_or(scan.end);
    let mut last_good = 0u64;
    let mut located: Option<(u64, String)> = None;
    for &(k, off, cp) in trusted {
        if cp.size > n {
            r.push(
                K::Truncated,
                Some(n),
                Some(scan.end),
                ENTRIES_FILE,
                format!(
                    "checkpoint #{k} (byte {off} of {CHECKPOINTS_FILE}) signed {} entries, \
                     the log has {n}",
                    cp.size
                ),
            );
            continue;
        }
        if roots.get(&cp.size) == Some(&cp.root) {
            r.checkpoints_verified += 1;
            last_good = last_good.max(cp.size);
            continue;
        }
        let (entry, why) = located
            .get_or_insert_with(|| locate(scan, idx, cp, last_good))
            .clone();
        r.push(
            K::RootMismatch,
            Some(entry),
            Some(offset_of(entry)),
            ENTRIES_FILE,
            format!(
                "root of the first {} entries differs from checkpoint #{k} (byte {off} of \
                 {CHECKPOINTS_FILE}); {why}",
                cp.size
            ),
        );
    }
    last_good
}

/// Names the first entry responsible for a root mismatch at `cp`.
fn locate(scan: &Scan, idx: &[(u64, Hash)], cp: &Checkpoint, last_good: u64) -> (u64, String) {
    let s = cp.size as usize;
    if let Some(&d) = scan.damaged.iter().find(|&&d| d < cp.size) {
        return (d, "explained by the damaged record of this entry".into());
    }
    if idx.len() >= s {
        let signed: Vec<Hash> = idx[..s].iter().map(|x| x.1).collect();
        if root_of(&signed) == cp.root
            && let Some(j) = (0..s).find(|&j| scan.hashes[j] != signed[j])
        {
            return (
                j as u64,
                format!(
                    "this is the first entry whose bytes differ from the leaf hash the \
                     checkpoint covers ({LEAVES_FILE} authenticated by the signed root)"
                ),
            );
        }
    }
    (
        last_good,
        format!(
            "the change lies in entries {last_good}..{} (after the last matching checkpoint)",
            cp.size
        ),
    )
}
