//! The `tree.state` cache: the tree's right edge ([`Frontier`]) plus a SHA-256 checksum, so
//! that opening a million-entry log does not rehash a million leaves. It is derived data:
//! missing, damaged or stale caches are rebuilt or caught up from `leaves.idx`, and nothing
//! that verifies the log reads it.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{AuditError, io};
use crate::log::sha2_digest;
use crate::merkle::Frontier;
use crate::recover::Recovery;
use crate::storage::{LEAVES_FILE, STATE_FILE, read_slots};

/// Loads the tree.state cache and brings it up to `n` leaves, or rebuilds it from leaves.idx.
pub(crate) fn load_state(
    state: &File,
    leaves: &File,
    n: u64,
    lp: &Path,
    rec: &mut Recovery,
) -> Result<Frontier, AuditError> {
    let mut bytes = Vec::new();
    let cached = (&*state)
        .read_to_end(&mut bytes)
        .ok()
        .filter(|_| bytes.len() >= 40)
        .and_then(|_| {
            let (body, sum) = bytes.split_at(bytes.len() - 32);
            (sha2_digest(body) == sum).then(|| Frontier::from_bytes(body))?
        })
        .filter(|f| f.size() <= n);
    match cached {
        Some(f) => {
            let from = f.size();
            frontier_from_leaves(leaves, from, n, f, lp)
        }
        None => {
            if n > 0 {
                rec.notes.push(format!(
                    "{STATE_FILE} missing or damaged; rebuilt from {LEAVES_FILE}"
                ));
            }
            frontier_from_leaves(leaves, 0, n, Frontier::new(), lp)
        }
    }
}

pub(crate) fn frontier_from_leaves(
    leaves: &File,
    from: u64,
    to: u64,
    mut f: Frontier,
    lp: &Path,
) -> Result<Frontier, AuditError> {
    let mut at = from;
    while at < to {
        let next = (at + 65_536).min(to);
        for (_, h) in read_slots(leaves, at, next).map_err(io(lp))? {
            f.push(h);
        }
        at = next;
    }
    Ok(f)
}
