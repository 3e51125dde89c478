//! One document's whole history in one compressed blob: how a snapshot stores versions
//! (issue #15: "snapshot growth ≤ 1.2× the gzip size of the distinct contents").
//!
//! A prompt's versions are small texts that differ a little from each other, and their
//! metadata (commit ids, paths, summaries) repeats; compressed one by one they shrink
//! poorly (a deflate stream's own overhead is a large share of a 400-byte text).
//! Compressed together, per document, every version after the first costs little more
//! than its edit. A pack holds the document's distinct contents once each (their hashes
//! are not stored: they are recomputed on read) and every version's row, and is
//! deflated with `miniz_oxide` (pure Rust, builds for wasm32: the edge reads packs).
//!
//! The local database keeps the plain `versions` and `contents` tables (`watch`
//! rewrites one document's rows at a time); `promptshelf build` packs them into
//! `history_packs` (see `crate::snapshot`), and every reader in `crate::versions` reads
//! either form.
//!
//! Format (before deflate), integers as LEB128 varints, strings as length + UTF-8:
//! `"PSP1"`, content count, each content (length, bytes, then a flag: 0 = its hash is
//! the BLAKE3 of its bytes, 1 = followed by the stored hash string), version count,
//! each version (number, commit, author, time, summary, path, content index, draft,
//! error JSON). An optional value is a flag byte (0 = absent) then the value; a commit
//! that is 40 hex digits is stored as its 20 bytes (flag 1), any other as a string
//! (flag 2); a time is zigzag-encoded.

use promptshelf_core::model::ContentHash;

/// One stored version row, as the `versions` table holds it (the error as its JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Version number.
    pub number: u32,
    /// Commit id (hex).
    pub commit: Option<String>,
    /// Author name.
    pub author: Option<String>,
    /// Committer time.
    pub time: Option<i64>,
    /// First line of the commit message.
    pub summary: Option<String>,
    /// Path at that version.
    pub path: String,
    /// Content hash.
    pub hash: String,
    /// Uncommitted.
    pub draft: bool,
    /// The parse error, as JSON text.
    pub error: Option<String>,
}

/// Why a pack cannot be read (a damaged snapshot).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("history pack: {0}")]
pub struct PackError(pub String);

const MAGIC: &[u8] = b"PSP1";
/// A pack never inflates beyond this (a damaged or hostile blob cannot exhaust memory).
const MAX_INFLATED: usize = 256 * 1024 * 1024;

/// Packs one document's versions (oldest first) with the contents they name.
/// `content(hash)` gives a content's bytes (`None`: the version keeps an empty content,
/// as the table reader would answer).
pub fn encode(rows: &[Row], content: &mut dyn FnMut(&str) -> Option<Vec<u8>>) -> Vec<u8> {
    let mut hashes: Vec<&str> = Vec::new();
    for r in rows {
        if !hashes.contains(&r.hash.as_str()) {
            hashes.push(&r.hash);
        }
    }
    let mut out = MAGIC.to_vec();
    put_uint(&mut out, hashes.len() as u64);
    for h in &hashes {
        let bytes = content(h).unwrap_or_default();
        put_bytes(&mut out, &bytes);
        if ContentHash::of(&bytes).0 == *h {
            out.push(0);
        } else {
            out.push(1);
            put_bytes(&mut out, h.as_bytes());
        }
    }
    put_uint(&mut out, rows.len() as u64);
    for r in rows {
        put_uint(&mut out, u64::from(r.number));
        match &r.commit {
            None => out.push(0),
            Some(c) => match hex20(c) {
                Some(raw) => {
                    out.push(1);
                    out.extend_from_slice(&raw);
                }
                None => {
                    out.push(2);
                    put_bytes(&mut out, c.as_bytes());
                }
            },
        }
        put_opt_str(&mut out, r.author.as_deref());
        match r.time {
            None => out.push(0),
            Some(t) => {
                out.push(1);
                put_uint(&mut out, ((t << 1) ^ (t >> 63)) as u64);
            }
        }
        put_opt_str(&mut out, r.summary.as_deref());
        put_bytes(&mut out, r.path.as_bytes());
        let i = hashes.iter().position(|h| *h == r.hash).unwrap_or(0);
        put_uint(&mut out, i as u64);
        out.push(r.draft as u8);
        put_opt_str(&mut out, r.error.as_deref());
    }
    miniz_oxide::deflate::compress_to_vec(&out, 9)
}

/// A decoded pack: its version rows (oldest first), each with the index of its content
/// in the second list.
pub type Unpacked = (Vec<(Row, usize)>, Vec<Vec<u8>>);

/// Unpacks a pack (see [`Unpacked`]).
pub fn decode(data: &[u8]) -> Result<Unpacked, PackError> {
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(data, MAX_INFLATED)
        .map_err(|e| PackError(format!("inflate: {e:?}")))?;
    let mut r = Cursor { b: &raw, at: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err(PackError("not a history pack".into()));
    }
    let n = r.uint()? as usize;
    let mut contents = Vec::with_capacity(n.min(4096));
    let mut hashes = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let bytes = r.bytes()?.to_vec();
        let hash = match r.byte()? {
            0 => ContentHash::of(&bytes).0,
            _ => r.string()?,
        };
        contents.push(bytes);
        hashes.push(hash);
    }
    let n = r.uint()? as usize;
    let mut rows = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let number = u32::try_from(r.uint()?).map_err(|_| PackError("version number".into()))?;
        let commit = match r.byte()? {
            0 => None,
            1 => Some(
                r.take(20)?
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
            ),
            _ => Some(r.string()?),
        };
        let author = r.opt_string()?;
        let time = match r.byte()? {
            0 => None,
            _ => {
                let z = r.uint()?;
                Some(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
        };
        let summary = r.opt_string()?;
        let path = r.string()?;
        let i = r.uint()? as usize;
        let hash = hashes
            .get(i)
            .cloned()
            .ok_or_else(|| PackError("content index out of range".into()))?;
        let draft = r.byte()? != 0;
        let error = r.opt_string()?;
        rows.push((
            Row {
                number,
                commit,
                author,
                time,
                summary,
                path,
                hash,
                draft,
                error,
            },
            i,
        ));
    }
    Ok((rows, contents))
}

fn hex20(s: &str) -> Option<[u8; 20]> {
    let b = s.as_bytes();
    if b.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, pair) in b.chunks(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn put_uint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_bytes(out, s.as_bytes());
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PackError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| PackError("truncated".into()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, PackError> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self) -> Result<u64, PackError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(PackError("varint too long".into()))
    }

    fn bytes(&mut self) -> Result<&'a [u8], PackError> {
        let n = usize::try_from(self.uint()?).map_err(|_| PackError("length".into()))?;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, PackError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| PackError("not UTF-8".into()))
    }

    fn opt_string(&mut self) -> Result<Option<String>, PackError> {
        match self.byte()? {
            0 => Ok(None),
            _ => self.string().map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(number: u32, text: &str) -> Row {
        Row {
            number,
            commit: Some(format!("{:040x}", number as u128 * 0x1234_5678_9abc)),
            author: Some("Ada".into()),
            time: Some(1_700_000_000 + number as i64),
            summary: Some(format!("edit {number}")),
            path: "prompts/a.prompty".into(),
            hash: ContentHash::of(text.as_bytes()).0,
            draft: false,
            error: None,
        }
    }

    #[test]
    fn a_pack_round_trips_and_stores_each_content_once() {
        let texts = ["one\n", "two\n", "one\n"];
        let mut rows: Vec<Row> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| row(i as u32 + 1, t))
            .collect();
        rows[1].error = Some(r#"{"kind":"yaml"}"#.into());
        rows[2].time = Some(-5);
        rows[2].commit = Some("not-a-hex-id".into());
        rows.push(Row {
            number: 4,
            commit: None,
            author: None,
            time: None,
            summary: None,
            draft: true,
            hash: "someone-elses-hash".into(),
            ..row(4, "")
        });
        let mut asked = Vec::new();
        let packed = encode(&rows, &mut |h| {
            asked.push(h.to_owned());
            texts
                .iter()
                .find(|t| ContentHash::of(t.as_bytes()).0 == h)
                .map(|t| t.as_bytes().to_vec())
                .or(Some(b"four".to_vec()))
        });
        assert_eq!(asked.len(), 3, "each distinct content once");
        let (back, contents) = decode(&packed).unwrap();
        let back_rows: Vec<Row> = back.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(back_rows, rows);
        assert_eq!(contents.len(), 3);
        assert_eq!(contents[back[2].1], b"one\n");
        assert_eq!(contents[back[3].1], b"four");
    }

    #[test]
    fn a_damaged_pack_is_an_error_not_a_panic() {
        let packed = encode(&[row(1, "x")], &mut |_| Some(b"x".to_vec()));
        assert!(decode(&packed[..packed.len() / 2]).is_err());
        assert!(decode(b"garbage").is_err());
        let not_ours = miniz_oxide::deflate::compress_to_vec(b"PSP1\xff", 6);
        assert!(decode(&not_ours).is_err());
    }
}
