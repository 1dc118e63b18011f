//! `ood-benign.bin`, `ood-malicious.bin`: the OOD detector's reference rows in a small binary
//! layout —
//! magic `ARBREF01`, then rows, numeric width and categorical width as little-endian u64, then
//! the numeric block as little-endian f32 and the codes as little-endian u32.

use crate::ood::Reference;

const MAGIC: &[u8; 8] = b"ARBREF01";

/// Bundle file names of the references, by class: [benign, malicious].
pub const FILES: [&str; 2] = ["ood-benign.bin", "ood-malicious.bin"];

pub fn encode(r: &Reference, numeric_width: usize, categorical_width: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + 4 * (r.numeric.len() + r.codes.len()));
    out.extend_from_slice(MAGIC);
    for n in [r.rows, numeric_width, categorical_width] {
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    for v in &r.numeric {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for c in &r.codes {
        out.extend_from_slice(&c.to_le_bytes());
    }
    out
}

pub fn decode(bytes: &[u8]) -> Result<Reference, String> {
    let bad = |what: &str| what.to_string();
    if bytes.len() < 32 || &bytes[..8] != MAGIC {
        return Err(bad("does not start with the ARBREF01 header"));
    }
    let word = |i: usize| {
        u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes")) as usize
    };
    let (rows, dn, dc) = (word(0), word(1), word(2));
    let want = rows
        .checked_mul(dn + dc)
        .and_then(|n| n.checked_mul(4))
        .and_then(|n| n.checked_add(32))
        .ok_or_else(|| bad("declares an impossible size"))?;
    if bytes.len() != want {
        return Err(bad(&format!("has {} bytes, expected {want}", bytes.len())));
    }
    let body = &bytes[32..];
    let (num, codes) = body.split_at(rows * dn * 4);
    Ok(Reference {
        rows,
        numeric: num
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect(),
        codes: codes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_survives_encoding() {
        let r = Reference {
            rows: 2,
            numeric: vec![1.5, -2.0, 0.0, 8.0],
            codes: vec![3, u32::MAX],
        };
        assert_eq!(decode(&encode(&r, 2, 1)).unwrap(), r);
    }

    #[test]
    fn a_truncated_reference_is_refused() {
        let r = Reference {
            rows: 1,
            numeric: vec![1.0],
            codes: vec![],
        };
        let mut b = encode(&r, 1, 0);
        b.pop();
        assert!(decode(&b).unwrap_err().contains("expected 36"));
    }
}
