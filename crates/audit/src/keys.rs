//! The log's Ed25519 signing key: created once, kept beside the log, never logged.
//!
//! `signing.key` holds the 32-byte seed as hex (mode 0600 on unix: only the service account
//! may sign). `signing.pub` holds the public key as hex, for auditors and for [`crate::verify`],
//! which must work without access to the secret.

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::error::{AuditError, io};

/// File name of the secret seed.
pub const KEY_FILE: &str = "signing.key";
/// File name of the public key.
pub const PUB_FILE: &str = "signing.pub";

/// Loads the signing key from `dir`, creating it (and the public key) on first run.
pub(crate) fn load_or_create(dir: &Path) -> Result<SigningKey, AuditError> {
    let key_path = dir.join(KEY_FILE);
    let pub_path = dir.join(PUB_FILE);
    let key = if key_path.exists() {
        let text = fs::read_to_string(&key_path).map_err(io(&key_path))?;
        let seed: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AuditError::Key {
                path: key_path.clone(),
                reason: "expected 64 hex characters (a 32-byte ed25519 seed)".into(),
            })?;
        SigningKey::from_bytes(&seed)
    } else {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| AuditError::Random {
            path: key_path.clone(),
            reason: e.to_string(),
        })?;
        write_secret(&key_path, format!("{}\n", hex::encode(seed)).as_bytes())?;
        SigningKey::from_bytes(&seed)
    };
    let want = hex::encode(key.verifying_key().as_bytes());
    if pub_path.exists() {
        let have = fs::read_to_string(&pub_path).map_err(io(&pub_path))?;
        if have.trim() != want {
            return Err(AuditError::Key {
                path: pub_path,
                reason: format!("does not match {KEY_FILE} (expected {want})"),
            });
        }
    } else {
        write_durably(&pub_path, format!("{want}\n").as_bytes(), None)?;
    }
    Ok(key)
}

/// Reads the public key from `dir/signing.pub`.
pub(crate) fn load_public(dir: &Path) -> Result<VerifyingKey, AuditError> {
    let path = dir.join(PUB_FILE);
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    parse_public_hex(text.trim()).ok_or_else(|| AuditError::Key {
        path,
        reason: "expected 64 hex characters of a valid ed25519 public key".into(),
    })
}

/// Parses a hex public key.
pub fn parse_public_hex(s: &str) -> Option<VerifyingKey> {
    let b: [u8; 32] = hex::decode(s).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&b).ok()
}

fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    write_durably(path, bytes, Some(0o600))
}

/// Writes `path` via a temporary file, fsync and rename, so a crash never leaves a half key.
/// With `mode`, the file is created with those permissions (unix) before any byte is written.
fn write_durably(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), AuditError> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode.unwrap_or(0o644));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    #[cfg(unix)]
    if let Some(m) = mode {
        // A pre-existing temp file keeps its old mode under `create`; force it.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(m))
            .map_err(io(&tmp))?;
    }
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Makes a rename or file creation in `dir` durable (unix; a no-op elsewhere).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
