//! Inclusion and consistency proofs: generation (RFC 9162 §2.1.3.1, §2.1.4.1) and the
//! standalone verification algorithms (§2.1.3.2, §2.1.4.2).
//!
//! Verification takes nothing but hashes and sizes, so a third party holding only a signed
//! checkpoint can check a proof without trusting (or even having) the log.

use serde::{Deserialize, Serialize};

use crate::merkle::{Hash, node_hash, root_of, split_point};

/// PATH(m, D[n]) over leaf hashes: the audit path for leaf `index` in the tree `leaves`.
///
/// Panics never; callers guarantee `index < leaves.len()` (checked in [`crate::AuditLog`]).
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Vec<Hash> {
    let mut out = Vec::new();
    if index < leaves.len() as u64 {
        path(index, leaves, &mut out);
    }
    out
}

fn path(m: u64, d: &[Hash], out: &mut Vec<Hash>) {
    let n = d.len() as u64;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    let ku = k as usize;
    if m < k {
        path(m, &d[..ku], out);
        out.push(root_of(&d[ku..]));
    } else {
        path(m - k, &d[ku..], out);
        out.push(root_of(&d[..ku]));
    }
}

/// PROOF(m, D[n]): the consistency proof from the first `old` leaves to all of `leaves`.
/// Empty when `old == 0` or `old >= leaves.len()` (nothing to prove).
pub fn consistency_proof(leaves: &[Hash], old: u64) -> Vec<Hash> {
    let mut out = Vec::new();
    if old > 0 && old < leaves.len() as u64 {
        subproof(old, leaves, true, &mut out);
    }
    out
}

fn subproof(m: u64, d: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = d.len() as u64;
    if m == n {
        if !complete {
            out.push(root_of(d));
        }
        return;
    }
    let k = split_point(n);
    let ku = k as usize;
    if m <= k {
        subproof(m, &d[..ku], complete, out);
        out.push(root_of(&d[ku..]));
    } else {
        subproof(m - k, &d[ku..], false, out);
        out.push(root_of(&d[..ku]));
    }
}

/// RFC 9162 §2.1.3.2: does `proof` show that `leaf` is leaf `index` of the tree of `size`
/// leaves whose root is `root`?
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: does `proof` show that the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`?
///
/// The RFC algorithm covers `0 < old_size < new_size`; the trivial cases are decided as the
/// reference implementations do: equal sizes need equal roots and an empty proof, and the
/// empty tree is a prefix of every tree (with an empty proof).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof.iter());
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *old_root && sr == *new_root && snode == 0
}

/// An inclusion proof as returned by [`crate::AuditLog::prove`]: everything a verifier needs.
/// Serialises to JSON with hashes as lowercase hex, for handing to a third party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// The leaf hash (`leaf_hash(stored entry bytes)`).
    #[serde(with = "hex32")]
    pub leaf: Hash,
    /// The audit path, bottom up.
    #[serde(with = "hex32_vec")]
    pub path: Vec<Hash>,
    /// Root of the tree of `size` leaves.
    #[serde(with = "hex32")]
    pub root: Hash,
}

fn parse_hex32<E: serde::de::Error>(s: &str) -> Result<Hash, E> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| E::custom(format!("{s:?} is not 32 bytes of hex")))
}

mod hex32 {
    use super::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        super::parse_hex32(&String::deserialize(d)?)
    }
}

mod hex32_vec {
    use super::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| super::parse_hex32(s))
            .collect()
    }
}

impl InclusionProof {
    /// Runs [`verify_inclusion`] on this proof's own fields.
    pub fn verify(&self) -> bool {
        verify_inclusion(&self.leaf, self.index, self.size, &self.path, &self.root)
    }
}
