//! Published RFC 6962 / RFC 9162 Merkle tree test vectors.
//!
//! Source: the certificate-transparency reference test data (google/certificate-transparency
//! `merkle_tree_test`, ported to google/certificate-transparency-go `merkle/log_verifier_test.go`
//! and transparency-dev/merkle `proof/verify_test.go`): eight leaf inputs, the roots of the
//! trees of sizes 1..8, and the inclusion and consistency proof vectors (leaf numbers there
//! are 1-based; here they are converted to 0-based indices).

use arbiter_audit::{
    Hash, consistency_proof, inclusion_proof, leaf_hash, root_of, verify_consistency,
    verify_inclusion,
};

const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Roots of the trees over the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (0-based leaf index, tree size, audit path).
const INCLUSION: [(u64, u64, &[&str]); 4] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn hashes(v: &[&str]) -> Vec<Hash> {
    v.iter().map(|s| h(s)).collect()
}

fn leaves() -> Vec<Hash> {
    LEAF_INPUTS
        .iter()
        .map(|s| leaf_hash(&hex::decode(s).unwrap()))
        .collect()
}

fn root(size: u64) -> Hash {
    h(ROOTS[size as usize - 1])
}

#[test]
fn the_empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(root_of(&[]), h(EMPTY_ROOT));
}

#[test]
fn roots_for_sizes_one_to_eight_match_the_published_values() {
    let l = leaves();
    for n in 1..=8 {
        assert_eq!(hex::encode(root_of(&l[..n])), ROOTS[n - 1], "size {n}");
    }
}

#[test]
fn generated_inclusion_proofs_equal_the_published_ones_and_verify() {
    let l = leaves();
    for (index, size, path) in INCLUSION {
        let want = hashes(path);
        let got = inclusion_proof(&l[..size as usize], index);
        assert_eq!(got, want, "leaf {index} of {size}");
        assert!(verify_inclusion(
            &l[index as usize],
            index,
            size,
            &want,
            &root(size)
        ));
    }
}

#[test]
fn a_modified_published_inclusion_proof_is_rejected() {
    let l = leaves();
    for (index, size, path) in INCLUSION {
        let good = hashes(path);
        let leaf = l[index as usize];
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i][0] ^= 8;
            assert!(!verify_inclusion(&leaf, index, size, &bad, &root(size)));
        }
        assert!(!verify_inclusion(
            &leaf,
            index,
            size,
            &good[..good.len() - 1],
            &root(size)
        ));
        let mut longer = good.clone();
        longer.push(root(size));
        assert!(!verify_inclusion(&leaf, index, size, &longer, &root(size)));
        assert!(!verify_inclusion(
            &leaf,
            index + 1,
            size,
            &good,
            &root(size)
        ));
        assert!(!verify_inclusion(
            &leaf,
            index,
            size * 2,
            &good,
            &root(size)
        ));
        assert!(!verify_inclusion(&leaf, index, size, &good, &h(EMPTY_ROOT)));
    }
}

#[test]
fn generated_consistency_proofs_equal_the_published_ones_and_verify() {
    let l = leaves();
    for (old, new, path) in CONSISTENCY {
        let want = hashes(path);
        assert_eq!(
            consistency_proof(&l[..new as usize], old),
            want,
            "{old} -> {new}"
        );
        assert!(verify_consistency(old, new, &root(old), &root(new), &want));
    }
}

#[test]
fn a_modified_published_consistency_proof_is_rejected() {
    for (old, new, path) in CONSISTENCY.into_iter().filter(|c| !c.2.is_empty()) {
        let good = hashes(path);
        let (r1, r2) = (root(old), root(new));
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i][0] ^= 16;
            assert!(
                !verify_consistency(old, new, &r1, &r2, &bad),
                "{old}->{new} [{i}]"
            );
        }
        assert!(!verify_consistency(old, new, &r1, &r2, &[]));
        assert!(!verify_consistency(old, new, &r2, &r1, &good));
        assert!(!verify_consistency(
            old,
            new,
            &r1,
            &r2,
            &good[..good.len() - 1]
        ));
        let mut longer = good.clone();
        longer.push(r1);
        assert!(!verify_consistency(old, new, &r1, &r2, &longer));
        assert!(!verify_consistency(old + 1, new, &r1, &r2, &good));
        assert!(!verify_consistency(old, new * 2, &r1, &r2, &good));
    }
}

#[test]
fn trivial_consistency_cases_follow_the_reference_rules() {
    let r = root(3);
    let other = root(4);
    assert!(verify_consistency(0, 3, &h(EMPTY_ROOT), &r, &[]));
    assert!(verify_consistency(3, 3, &r, &r, &[]));
    assert!(!verify_consistency(3, 3, &r, &other, &[]));
    assert!(!verify_consistency(4, 3, &other, &r, &[]));
}
