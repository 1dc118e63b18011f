//! Signed checkpoints: an Ed25519 signature over (log size, root hash, time).
//!
//! # Text format
//!
//! Modelled on the C2SP `signed-note` / `tlog-checkpoint` formats so that the ecosystem's
//! habits (and eyes) apply. One checkpoint is exactly seven `\n`-terminated lines:
//!
//! ```text
//! arbiter-audit/v1                          <- origin
//! 1234                                      <- tree size (decimal)
//! 3pUj…Mw=                                  <- root hash, standard base64
//! 2025-06-01T12:00:00.123456Z               <- signing time, RFC 3339 UTC
//!                                           <- blank line ends the signed body
//! — arbiter-audit AbCd…==                   <- em dash, key name, base64(key id ‖ signature)
//!                                           <- blank line ends the checkpoint
//! ```
//!
//! The signed message is the body: the first four lines including their newlines. The key id
//! is the first four bytes of `SHA-256("arbiter-audit" ‖ 0x0A ‖ 0x01 ‖ public key)`, as in
//! C2SP notes for Ed25519. `checkpoints.txt` is these blocks concatenated, append-only.

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::merkle::Hash;

/// First line of every checkpoint.
pub const ORIGIN: &str = "arbiter-audit/v1";
/// Key name on the signature line.
pub const KEY_NAME: &str = "arbiter-audit";
/// File name of the checkpoints file in the log directory.
pub const CHECKPOINTS_FILE: &str = "checkpoints.txt";
const SIG_PREFIX: &str = "\u{2014} ";

/// A signed statement "the log had `size` entries with root `root` at `time`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Number of entries covered.
    pub size: u64,
    /// RFC 9162 root of the first `size` entries.
    pub root: Hash,
    /// When the checkpoint was signed.
    pub time: DateTime<Utc>,
    /// Key id of the signer (see module docs).
    pub key_id: [u8; 4],
    /// Ed25519 signature over [`Checkpoint::body`].
    pub signature: [u8; 64],
}

/// The C2SP-style key id of `key`.
pub fn key_id(key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(KEY_NAME.as_bytes());
    h.update([b'\n', 0x01]);
    h.update(key.as_bytes());
    let d: [u8; 32] = h.finalize().into();
    [d[0], d[1], d[2], d[3]]
}

fn body_text(size: u64, root: &Hash, time: &DateTime<Utc>) -> String {
    format!(
        "{ORIGIN}\n{size}\n{}\n{}\n",
        b64::encode(root),
        time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    )
}

impl Checkpoint {
    /// Signs (size, root, time) with `key`.
    pub(crate) fn sign(key: &SigningKey, size: u64, root: Hash, time: DateTime<Utc>) -> Self {
        let sig = key.sign(body_text(size, &root, &time).as_bytes());
        Self {
            size,
            root,
            time,
            key_id: key_id(&key.verifying_key()),
            signature: sig.to_bytes(),
        }
    }

    /// The signed message: origin, size, base64 root, time, each newline-terminated.
    pub fn body(&self) -> String {
        body_text(self.size, &self.root, &self.time)
    }

    /// The full text block as stored in `checkpoints.txt`.
    pub fn to_text(&self) -> String {
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&self.key_id);
        sig.extend_from_slice(&self.signature);
        format!(
            "{}\n{SIG_PREFIX}{KEY_NAME} {}\n\n",
            self.body(),
            b64::encode(&sig)
        )
    }

    /// Checks the key id and the Ed25519 signature (strict verification: no malleability).
    pub fn verify_signature(&self, key: &VerifyingKey) -> bool {
        self.key_id == key_id(key)
            && key
                .verify_strict(
                    self.body().as_bytes(),
                    &Signature::from_bytes(&self.signature),
                )
                .is_ok()
    }

    /// [`Checkpoint::verify_signature`] with a hex public key (as in `signing.pub`).
    pub fn verify_with_hex(&self, public_key_hex: &str) -> bool {
        crate::keys::parse_public_hex(public_key_hex.trim())
            .is_some_and(|k| self.verify_signature(&k))
    }

    /// Parses one checkpoint block (the seven lines of the module docs). The text must be in
    /// canonical form — re-rendering the parsed value gives back exactly `text` — because the
    /// signature is over the rendered body.
    pub fn parse(text: &str) -> Result<Self, String> {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        if lines.len() != 7 || !text.ends_with('\n') {
            return Err(format!(
                "expected 7 newline-terminated lines, found {}",
                lines.len()
            ));
        }
        let line = |i: usize| lines[i].trim_end_matches('\n');
        if line(0) != ORIGIN {
            return Err(format!("origin line is {:?}, expected {ORIGIN:?}", line(0)));
        }
        let size: u64 = line(1)
            .parse()
            .map_err(|_| format!("size line {:?} is not a decimal number", line(1)))?;
        let root: Hash = b64::decode(line(2))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("root line {:?} is not 32 bytes of base64", line(2)))?;
        let time = DateTime::parse_from_rfc3339(line(3))
            .map_err(|e| format!("time line {:?}: {e}", line(3)))?
            .with_timezone(&Utc);
        if !line(4).is_empty() || !line(6).is_empty() {
            return Err("missing blank line after the body or after the signature".into());
        }
        let sig_b64 = line(5)
            .strip_prefix(SIG_PREFIX)
            .and_then(|s| s.strip_prefix(KEY_NAME))
            .and_then(|s| s.strip_prefix(' '))
            .ok_or_else(|| format!("signature line {:?} is malformed", line(5)))?;
        let sig = b64::decode(sig_b64)
            .filter(|b| b.len() == 68)
            .ok_or_else(|| "signature is not base64 of 4 + 64 bytes".to_string())?;
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&sig[..4]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&sig[4..]);
        let cp = Self {
            size,
            root,
            time,
            key_id,
            signature,
        };
        if cp.to_text() != text {
            return Err("checkpoint text is not in canonical form".into());
        }
        Ok(cp)
    }
}

impl std::fmt::Display for Checkpoint {
    /// The stored text form (see the module docs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// The result of reading a whole `checkpoints.txt`.
#[derive(Debug, Default)]
pub(crate) struct ParsedFile {
    /// Well-formed checkpoints with their byte offsets, in file order.
    pub checkpoints: Vec<(u64, Checkpoint)>,
    /// Complete blocks that failed to parse: (byte offset, reason).
    pub malformed: Vec<(u64, String)>,
    /// An incomplete final block (a torn append): (byte offset, length).
    pub torn: Option<(u64, u64)>,
}

/// Splits the file into seven-line blocks and parses each.
pub(crate) fn parse_file(bytes: &[u8]) -> ParsedFile {
    let mut out = ParsedFile::default();
    let mut offset = 0usize;
    let mut block_start = 0usize;
    let mut lines_in_block = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            lines_in_block += 1;
            if lines_in_block == 7 {
                let block = &bytes[block_start..=i];
                let parsed = std::str::from_utf8(block)
                    .map_err(|e| format!("not UTF-8: {e}"))
                    .and_then(Checkpoint::parse);
                match parsed {
                    Ok(cp) => out.checkpoints.push((block_start as u64, cp)),
                    Err(reason) => out.malformed.push((block_start as u64, reason)),
                }
                block_start = i + 1;
                lines_in_block = 0;
            }
        }
        offset = i + 1;
    }
    if block_start < offset {
        out.torn = Some((block_start as u64, (offset - block_start) as u64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    #[test]
    fn a_checkpoint_survives_text_round_trip_and_verifies() {
        let cp = Checkpoint::sign(&key(), 42, [9u8; 32], Utc::now());
        let parsed = Checkpoint::parse(&cp.to_text()).expect("own text parses");
        assert_eq!(parsed, cp);
        assert!(parsed.verify_signature(&key().verifying_key()));
    }

    #[test]
    fn a_changed_size_breaks_the_signature() {
        let mut cp = Checkpoint::sign(&key(), 42, [9u8; 32], Utc::now());
        cp.size = 43;
        assert!(!cp.verify_signature(&key().verifying_key()));
    }

    #[test]
    fn a_torn_final_block_is_reported_with_its_offset() {
        let a = Checkpoint::sign(&key(), 1, [1u8; 32], Utc::now()).to_text();
        let b = Checkpoint::sign(&key(), 2, [2u8; 32], Utc::now()).to_text();
        let text = format!("{a}{}", &b[..b.len() - 5]);
        let parsed = parse_file(text.as_bytes());
        assert_eq!(parsed.checkpoints.len(), 1);
        assert_eq!(parsed.torn, Some((a.len() as u64, (b.len() - 5) as u64)));
    }
}
