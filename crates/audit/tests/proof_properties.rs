//! Property tests: every generated proof verifies, and no one-bit change to one does.

use arbiter_audit::{
    Hash, consistency_proof, inclusion_proof, leaf_hash, root_of, verify_consistency,
    verify_inclusion,
};
use proptest::prelude::*;

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

/// (n, i, m) with 1 <= n <= 300, i < n, m <= n.
fn sizes() -> impl Strategy<Value = (u64, u64, u64)> {
    (1u64..=300).prop_flat_map(|n| (Just(n), 0..n, 0..=n))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_inclusion_proof_verifies_against_the_root((n, i, _m) in sizes()) {
        let l = leaves(n);
        let proof = inclusion_proof(&l, i);
        prop_assert!(verify_inclusion(&l[i as usize], i, n, &proof, &root_of(&l)));
    }

    #[test]
    fn every_consistency_proof_verifies((n, _i, m) in sizes()) {
        let l = leaves(n);
        let proof = consistency_proof(&l, m);
        prop_assert!(verify_consistency(m, n, &root_of(&l[..m as usize]), &root_of(&l), &proof));
    }

    #[test]
    fn an_inclusion_proof_with_one_flipped_bit_never_verifies(
        (n, i, _m) in (2u64..=300).prop_flat_map(|n| (Just(n), 0..n, Just(0))),
        pick in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let l = leaves(n);
        let mut proof = inclusion_proof(&l, i);
        let k = pick.index(proof.len());
        proof[k][bit / 8] ^= 1 << (bit % 8);
        prop_assert!(!verify_inclusion(&l[i as usize], i, n, &proof, &root_of(&l)));
    }

    #[test]
    fn a_consistency_proof_with_one_flipped_bit_never_verifies(
        (n, m) in (2u64..=300).prop_flat_map(|n| (Just(n), 1..n)),
        pick in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let l = leaves(n);
        let mut proof = consistency_proof(&l, m);
        let k = pick.index(proof.len());
        proof[k][bit / 8] ^= 1 << (bit % 8);
        prop_assert!(!verify_consistency(m, n, &root_of(&l[..m as usize]), &root_of(&l), &proof));
    }
}
