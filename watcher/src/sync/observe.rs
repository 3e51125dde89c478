//! Reading one file and deciding what it is now: gone, unchanged content, a document,
//! a parse error, or an I/O failure worth retrying. No database access here, so many
//! files can be observed in parallel before one transaction applies them.

use super::library::Library;
use super::walk::Stat;
use promptshelf_core::search::{Index, Prepared};
use promptshelf_core::{parse_document, ContentHash, Document, ParseError, ParseOptions};
use promptshelf_store::FileRecord;
use std::io;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A file whose mtime is this close to the moment it was read could be rewritten
/// within the same timestamp tick without changing size; such records are marked
/// `racy` and confirmed by hash on the next reconcile. File systems with sub-second
/// timestamps tick at most every few milliseconds (kernel clock); whole-second ones
/// (ext3, FAT, some network shares) need a wider window.
const RACY_WINDOW_FINE_NS: i64 = 100_000_000;
const RACY_WINDOW_COARSE_NS: i64 = 2_000_000_000;

fn is_racy(mtime_ns: i64) -> bool {
    let window = if mtime_ns % 1_000_000_000 == 0 {
        RACY_WINDOW_COARSE_NS
    } else {
        RACY_WINDOW_FINE_NS
    };
    now_ns().saturating_sub(mtime_ns) < window
}

/// What one library path is now.
#[derive(Debug)]
pub enum Observed {
    /// No file (deleted, renamed away, or replaced by a folder).
    Gone,
    /// Same bytes as recorded; only size/mtime bookkeeping changes.
    Same { stat: Stat, racy: bool },
    /// New bytes, parsed (or not).
    Parsed {
        stat: Stat,
        hash: ContentHash,
        racy: bool,
        result: Box<Result<Document, ParseError>>,
        /// The document tokenized for the search index, done here because observing
        /// runs on many threads and applying on one.
        prepared: Option<Arc<Prepared>>,
        /// The document's JSON as stored (`serde_json::to_string`), for the same reason.
        json: Option<String>,
    },
    /// Could not read it (busy, permission, changed while reading): retry later.
    Unreadable { stat: Option<Stat>, error: String },
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

/// Reads `rel` and compares it with its previous record.
pub fn observe(
    lib: &Library,
    rel: &str,
    prev: Option<&FileRecord>,
    opts: &ParseOptions,
) -> Observed {
    let abs = lib.absolute(rel);
    let before = match std::fs::metadata(&abs) {
        Ok(m) if m.is_file() => Stat::of(&m),
        Ok(_) => return Observed::Gone,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Observed::Gone,
        Err(e) => return unreadable(None, e),
    };
    if before.size as usize > opts.max_bytes {
        // Not read at all: the parser would reject it anyway.
        let hash = ContentHash(format!("size:{}:{}", before.size, before.mtime_ns));
        return Observed::Parsed {
            stat: before,
            hash,
            racy: false,
            result: Box::new(Err(promptshelf_core::library::too_large(
                rel,
                before.size,
                opts.max_bytes,
            ))),
            prepared: None,
            json: None,
        };
    }
    let bytes = match std::fs::read(&abs) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Observed::Gone,
        Err(e) => return unreadable(Some(before), e),
    };
    let after = match std::fs::metadata(&abs) {
        Ok(m) => Stat::of(&m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Observed::Gone,
        Err(e) => return unreadable(Some(before), e),
    };
    if after != before || bytes.len() as u64 != after.size {
        return Observed::Unreadable {
            stat: Some(after),
            error: "file changed while it was being read".into(),
        };
    }
    let racy = is_racy(after.mtime_ns);
    let hash = ContentHash::of(&bytes);
    if let Some(p) = prev {
        if p.content_hash == hash.0 {
            return Observed::Same { stat: after, racy };
        }
    }
    let result = parse_document(rel, &bytes, opts);
    let prepared = result.as_ref().ok().map(|d| Arc::new(Index::prepare(d)));
    let json = result
        .as_ref()
        .ok()
        .and_then(|d| serde_json::to_string(d).ok());
    Observed::Parsed {
        stat: after,
        hash,
        racy,
        result: Box::new(result),
        prepared,
        json,
    }
}

fn unreadable(stat: Option<Stat>, e: io::Error) -> Observed {
    Observed::Unreadable {
        stat,
        error: e.to_string(),
    }
}
