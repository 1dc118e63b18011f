//! The model bundle on disk: a directory of files named by a content hash.
//!
//! `manifest.json` lists every other file with its SHA-256; the bundle id is the SHA-256 of
//! those `path␀hash␊` lines in path order. Nothing time- or machine-dependent goes into any
//! hashed file, so the same data and seed give the same id. Loading re-hashes every file and
//! refuses a bundle that does not match its manifest. `arbiter-train` writes bundles.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ModelError;
use crate::spec::BUNDLE_FORMAT;

pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// `sha256:<hex>` over the file list.
    pub id: String,
    pub files: BTreeMap<String, String>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The id of a set of files.
pub fn content_id(files: &BTreeMap<String, Vec<u8>>) -> (String, BTreeMap<String, String>) {
    let hashes: BTreeMap<String, String> = files
        .iter()
        .map(|(p, b)| (p.clone(), sha256_hex(b)))
        .collect();
    let mut h = Sha256::new();
    for (p, d) in &hashes {
        h.update(p.as_bytes());
        h.update([0]);
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    (format!("sha256:{}", hex::encode(h.finalize())), hashes)
}

/// Reads and verifies a bundle's files.
pub fn read(dir: &Path) -> Result<(Manifest, BTreeMap<String, Vec<u8>>), ModelError> {
    let bad = |message: String| ModelError::Bundle {
        path: dir.to_path_buf(),
        message,
    };
    let mpath = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&mpath).map_err(|e| {
        bad(format!(
            "cannot read {MANIFEST} ({e}); is this a directory written by `arbiter train`?"
        ))
    })?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| bad(format!("{MANIFEST} is invalid: {e}")))?;
    if manifest.format != BUNDLE_FORMAT {
        return Err(bad(format!(
            "format {} is not supported: this build reads {BUNDLE_FORMAT}",
            manifest.format
        )));
    }
    let mut files = BTreeMap::new();
    for rel in manifest.files.keys() {
        if rel.contains("..") || Path::new(rel).is_absolute() {
            return Err(bad(format!("manifest names an unsafe path {rel}")));
        }
        let path = dir.join(rel);
        let bytes = std::fs::read(&path).map_err(|e| bad(format!("cannot read {rel}: {e}")))?;
        files.insert(rel.clone(), bytes);
    }
    let (id, hashes) = content_id(&files);
    for (rel, want) in &manifest.files {
        if hashes.get(rel) != Some(want) {
            return Err(bad(format!(
                "{rel} does not match its hash in {MANIFEST}: the bundle was modified or is corrupt"
            )));
        }
    }
    if id != manifest.id {
        return Err(bad(format!(
            "content hash {id} differs from the recorded id {}",
            manifest.id
        )));
    }
    Ok((manifest, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_without_a_manifest_is_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("cannot read manifest.json"), "{err}");
        assert!(err.contains("arbiter train"), "{err}");
    }

    #[test]
    fn a_manifest_naming_a_path_outside_the_bundle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = BTreeMap::from([("../x".to_string(), b"x".to_vec())]);
        let (id, hashes) = content_id(&files);
        let manifest = Manifest {
            format: BUNDLE_FORMAT.into(),
            id,
            files: hashes,
        };
        std::fs::write(
            dir.path().join(MANIFEST),
            serde_json::to_string(&manifest).unwrap(),
        )
        .unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("unsafe path ../x"), "{err}");
    }
}
