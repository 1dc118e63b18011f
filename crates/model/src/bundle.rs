//! The model bundle on disk: a directory of files named by a content hash.
//!
//! `manifest.json` lists every other file with its SHA-256; the bundle id is the SHA-256 of
//! those `path␀hash␊` lines in path order. Nothing time- or machine-dependent goes into any
//! hashed file, so the same data and seed give the same id. Loading re-hashes every file and
//! refuses a bundle that does not match its manifest.

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

/// Writes files and manifest into `dir`, replacing an earlier bundle there but refusing to
/// overwrite a directory that is not a bundle. Returns the id.
pub fn write(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<String, ModelError> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(ModelError::io(dir))?
            .next()
            .is_none();
        if !empty && !dir.join(MANIFEST).exists() {
            return Err(ModelError::Bundle {
                path: dir.to_path_buf(),
                message: "exists and is not a model bundle; choose another --out".into(),
            });
        }
        if !empty {
            std::fs::remove_dir_all(dir).map_err(ModelError::io(dir))?;
        }
    }
    let (id, hashes) = content_id(files);
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(ModelError::io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(ModelError::io(&path))?;
    }
    let manifest = Manifest {
        format: BUNDLE_FORMAT.into(),
        id: id.clone(),
        files: hashes,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises") + "\n";
    std::fs::write(dir.join(MANIFEST), text).map_err(ModelError::io(dir.join(MANIFEST)))?;
    Ok(id)
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

    fn files() -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            ("model.json".to_string(), b"{}".to_vec()),
            ("members/member-1.txt".to_string(), b"tree".to_vec()),
        ])
    }

    #[test]
    fn a_written_bundle_reads_back_with_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b");
        let id = write(&out, &files()).unwrap();
        let (m, back) = read(&out).unwrap();
        assert_eq!(m.id, id);
        assert_eq!(back, files());
        assert_eq!(id, write(&out, &files()).unwrap(), "same content, same id");
    }

    #[test]
    fn a_modified_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b");
        write(&out, &files()).unwrap();
        std::fs::write(out.join("members/member-1.txt"), b"tampered").unwrap();
        let err = read(&out).unwrap_err().to_string();
        assert!(err.contains("members/member-1.txt does not match"), "{err}");
    }

    #[test]
    fn a_directory_that_is_not_a_bundle_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious.txt"), b"x").unwrap();
        let err = write(dir.path(), &files()).unwrap_err().to_string();
        assert!(err.contains("is not a model bundle"), "{err}");
        assert!(dir.path().join("precious.txt").exists());
    }
}
