//! RFC 9162 §2.1 Merkle tree hashing (SHA-256).
//!
//! Leaves and interior nodes are domain-separated (0x00 / 0x01 prefixes) so that no leaf can
//! ever be confused with an interior node — the second-preimage defence of RFC 6962.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ data)`: the hash of one leaf (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// Largest power of two strictly smaller than `n` (`n >= 2`): where RFC 9162 splits a tree.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[n]) over already-hashed leaves (RFC 9162 §2.1.1).
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The right edge of a growing tree: the roots of its maximal perfect subtrees, left to right.
///
/// With `n` leaves there is one subtree per set bit of `n`, so this is at most 64 hashes, and
/// appending is amortised O(1) hashing. It lets the log keep its root current without holding
/// or rereading every leaf hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash, merging equal-sized subtrees as a binary counter carries.
    pub fn push(&mut self, leaf: Hash) {
        self.nodes.push(leaf);
        let mut s = self.size;
        while s & 1 == 1 {
            // Two or more nodes are present whenever the low bit carries: the one just pushed
            // and the perfect subtree that bit stands for.
            let right = self.nodes.pop().unwrap_or_default();
            let left = self.nodes.pop().unwrap_or_default();
            self.nodes.push(node_hash(&left, &right));
            s >>= 1;
        }
        self.size += 1;
    }

    /// The RFC 9162 root of the current tree: the perfect subtrees folded from the right,
    /// which is exactly the "split at the largest power of two" recursion unrolled.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// Serialises as `size (u64 BE) ‖ nodes`.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.nodes.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for n in &self.nodes {
            out.extend_from_slice(n);
        }
        out
    }

    /// Inverse of [`Frontier::to_bytes`]; `None` if the length does not fit the size.
    pub(crate) fn from_bytes(b: &[u8]) -> Option<Self> {
        let size = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
        let rest = &b[8..];
        if rest.len() != 32 * size.count_ones() as usize {
            return None;
        }
        let nodes = rest
            .chunks_exact(32)
            .map(|c| c.try_into().ok())
            .collect::<Option<Vec<Hash>>>()?;
        Some(Self { size, nodes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frontier_root_equals_the_recursive_root_for_every_size_up_to_70() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut f = Frontier::new();
        assert_eq!(f.root(), root_of(&[]));
        for n in 1..=leaves.len() {
            f.push(leaves[n - 1]);
            assert_eq!(f.root(), root_of(&leaves[..n]), "size {n}");
            assert_eq!(Frontier::from_bytes(&f.to_bytes()), Some(f.clone()));
        }
    }

    #[test]
    fn the_split_point_is_the_largest_power_of_two_below_n() {
        let got: Vec<u64> = [2, 3, 4, 5, 8, 9, 1000].map(split_point).to_vec();
        assert_eq!(got, vec![1, 2, 2, 4, 4, 8, 512]);
    }
}
