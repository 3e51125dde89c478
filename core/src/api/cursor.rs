//! Opaque pagination cursors. A cursor names the last id of the previous page
//! (`c` + unpadded base64url of the id); pages are ordered by id, so a cursor stays
//! valid and never repeats or skips a document that existed on both reads, whatever
//! is inserted or deleted in between.

use super::error::ApiError;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Longest id a cursor may carry (longer ones cannot be document ids).
const MAX_ID_BYTES: usize = 1024;

/// The opaque `next_cursor` that resumes a list after `last_id`.
pub fn encode(last_id: &str) -> String {
    let bytes = last_id.as_bytes();
    let mut out = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
    out.push('c');
    for chunk in bytes.chunks(3) {
        let n = match chunk.len() {
            3 => (chunk[0] as u32) << 16 | (chunk[1] as u32) << 8 | chunk[2] as u32,
            2 => (chunk[0] as u32) << 16 | (chunk[1] as u32) << 8,
            _ => (chunk[0] as u32) << 16,
        };
        let chars = chunk.len() + 1;
        for k in 0..chars {
            out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
        }
    }
    out
}

/// The id a cursor from [`encode`] resumes after; anything else is `400 bad_cursor`.
pub fn decode(cursor: &str) -> Result<String, ApiError> {
    let bad = || ApiError::bad_cursor("`cursor` is not a cursor this API issued");
    let body = cursor.strip_prefix('c').ok_or_else(bad)?;
    if body.is_empty() || body.len() % 4 == 1 || body.len() > MAX_ID_BYTES * 4 / 3 + 4 {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.as_bytes().chunks(4) {
        let mut n: u32 = 0;
        for (k, c) in chunk.iter().enumerate() {
            let v = ALPHABET.iter().position(|a| a == c).ok_or_else(bad)? as u32;
            n |= v << (18 - 6 * k);
        }
        let produced = chunk.len() - 1;
        // Unused low bits must be zero, so each id has exactly one cursor.
        let used_bits = 8 * produced;
        if n & ((1 << (24 - used_bits)) - 1) != 0 {
            return Err(bad());
        }
        for k in 0..produced {
            out.push((n >> (16 - 8 * k) & 0xff) as u8);
        }
    }
    match String::from_utf8(out) {
        // Ids never hold control characters, so neither do cursors this API issued.
        Ok(id) if !id.chars().any(char::is_control) => Ok(id),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for id in [
            "a",
            "ab",
            "abc",
            "abcd",
            "personas/x-y_z",
            "é漢字",
            "a b+c/d?e",
        ] {
            let c = encode(id);
            assert_eq!(decode(&c).unwrap(), id, "{c}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "c",
            "x",
            "cA",
            "c!!!!",
            "c====",
            "cQR",
            "c/w",
            "c_w",
            "cZm9v\u{e9}",
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
        // Not UTF-8 inside.
        assert!(decode("c__8").is_err());
        // NUL bytes: valid UTF-8, but no id holds control characters.
        assert!(decode("cAAAA").is_err());
        let long = format!("c{}", "A".repeat(5000));
        assert!(decode(&long).is_err());
    }
}
