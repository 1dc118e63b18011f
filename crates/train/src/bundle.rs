//! Writing a model bundle: the files training produced, and `manifest.json` listing each with
//! its SHA-256 (see [`arbiter_model::bundle`] for the layout and the id).

use std::collections::BTreeMap;
use std::path::Path;

use arbiter_model::bundle::{MANIFEST, Manifest, content_id};
use arbiter_model::spec::BUNDLE_FORMAT;

use crate::error::TrainError;

/// Writes files and manifest into `dir`, replacing an earlier bundle there but refusing to
/// overwrite a directory that is not a bundle. Returns the id.
pub fn write(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<String, TrainError> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(TrainError::io(dir))?
            .next()
            .is_none();
        if !empty && !dir.join(MANIFEST).exists() {
            return Err(TrainError::Bundle {
                path: dir.to_path_buf(),
                message: "exists and is not a model bundle; choose another --out".into(),
            });
        }
        if !empty {
            std::fs::remove_dir_all(dir).map_err(TrainError::io(dir))?;
        }
    }
    let (id, hashes) = content_id(files);
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(TrainError::io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(TrainError::io(&path))?;
    }
    let manifest = Manifest {
        format: BUNDLE_FORMAT.into(),
        id: id.clone(),
        files: hashes,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises") + "\n";
    std::fs::write(dir.join(MANIFEST), text).map_err(TrainError::io(dir.join(MANIFEST)))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbiter_model::bundle::read;

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
