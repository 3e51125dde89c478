//! The snapshot format, both halves: compact, immutable copies of a database for
//! shipping (`promptshelf build` writes one, the edge worker bundles and opens it).
//!
//! A snapshot holds what the read API serves and nothing about the machine that built
//! it: no `files` table rows (sizes, mtimes of the build host), no `library_root`, no
//! sync timestamps. Its search index is rebuilt from the documents in id order, so the
//! same documents always give the same index bytes. Its identity, `snapshot_id` in
//! `sync_meta`, is a BLAKE3 hash of everything the read API can return; the reader uses
//! it as the content generation (and so the ETag). A rebuilt snapshot of an unchanged
//! library has the same ETag; any change gives a new one, even though a fresh build's
//! generation counter would restart at 1.
//!
//! - writing (native only, it writes files): [`write_snapshot`], [`content_id`];
//! - opening (every target, the edge's wasm32 included): [`Snapshot::from_vec`] checks
//!   that the bytes are a whole, rollback-journal SQLite database of a schema version
//!   this build reads, then serves it through [`Snapshot::reader`]. D1 mode builds a
//!   [`Snapshot`] from rows instead (`crate::d1::snapshot_from_rows`).

#[cfg(not(target_arch = "wasm32"))]
mod write;
#[cfg(not(target_arch = "wasm32"))]
pub use write::{content_id, write_snapshot, SnapshotInfo};

use crate::reader::{IndexCache, Reader};
use crate::SCHEMA_VERSION;
use promptshelf_core::api::{self, ApiConfig, Request, Response};
use rusqlite::Connection;

/// Why a snapshot cannot be served. The worker answers every request with this reason
/// (a 503 JSON error) rather than crashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError(pub String);

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SnapshotError {}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// The database size a SQLite header records (page size × page count, both big-endian),
/// when `head` starts with a header that records one. The worker sizes its buffer for
/// a snapshot shipped in pieces from the first piece's header.
pub fn declared_size(head: &[u8]) -> Option<usize> {
    if head.len() < 100 || !head.starts_with(SQLITE_MAGIC) {
        return None;
    }
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([head[28], head[29], head[30], head[31]]));
    usize::try_from(page_size * pages).ok().filter(|n| *n > 0)
}

/// An open snapshot plus its loaded search index (loaded on the first search, then kept:
/// the snapshot never changes).
pub struct Snapshot {
    conn: Connection,
    index: IndexCache,
}

impl Snapshot {
    /// Opens a snapshot from its bytes. The bytes are kept for the life of the process
    /// (SQLite reads them in place, without a copy): a worker isolate opens one snapshot
    /// and keeps it.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Snapshot, SnapshotError> {
        Self::from_static(Box::leak(bytes.into_boxed_slice()))
    }

    /// Opens a snapshot from bytes that live for the whole process (`include_bytes!`, or
    /// leaked), read-only.
    pub fn from_static(bytes: &'static [u8]) -> Result<Snapshot, SnapshotError> {
        let fail = |what: &str| SnapshotError(what.to_owned());
        if bytes.is_empty() {
            return Err(fail("the snapshot file is empty"));
        }
        if bytes.len() < 100 || !bytes.starts_with(SQLITE_MAGIC) {
            return Err(fail(
                "the snapshot is not a SQLite database (build it with `promptshelf build`)",
            ));
        }
        if bytes[18] != 1 || bytes[19] != 1 {
            return Err(fail(
                "the snapshot is in WAL mode, which cannot be opened from memory \
                 (build it with `promptshelf build`, which writes rollback-journal mode)",
            ));
        }
        // A snapshot cut short in transit (or a missing piece) is refused here.
        if let Some(size) = declared_size(bytes) {
            if size != bytes.len() {
                return Err(SnapshotError(format!(
                    "the snapshot is {} bytes but its header says {size} (truncated, or a piece is missing)",
                    bytes.len(),
                )));
            }
        }
        let sql = |e: rusqlite::Error| SnapshotError(format!("the snapshot cannot be opened: {e}"));
        let mut conn = Connection::open_in_memory().map_err(sql)?;
        conn.deserialize_bytes("main", bytes).map_err(sql)?;
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if version == 0 || version > SCHEMA_VERSION {
            return Err(SnapshotError(format!(
                "the snapshot has schema version {version}; this worker reads 1 to {SCHEMA_VERSION} \
                 (rebuild the snapshot and the worker from the same promptshelf version)"
            )));
        }
        check_tables(&conn).map_err(sql)?;
        Ok(Self::serve(conn))
    }

    /// Wraps a database built in memory (D1 mode copies rows into one); checks the
    /// tables every route reads.
    pub(crate) fn from_connection(conn: Connection) -> Result<Snapshot, SnapshotError> {
        check_tables(&conn)
            .map_err(|e| SnapshotError(format!("the database cannot be read: {e}")))?;
        Ok(Self::serve(conn))
    }

    fn serve(conn: Connection) -> Snapshot {
        conn.set_prepared_statement_cache_capacity(64);
        Snapshot {
            conn,
            index: IndexCache::default(),
        }
    }

    /// The read API's store over this snapshot (what `promptshelf_core::api` handlers
    /// take).
    pub fn reader(&self) -> Reader<'_> {
        Reader::new(&self.conn, &self.index)
    }

    /// The core read API's answer for `req` (with its body) over this snapshot: what the
    /// edge worker returns, the same handler the local server calls.
    pub fn answer(&self, req: &Request, body: &[u8], cfg: &ApiConfig) -> Response {
        api::handle_with_body(req, body, &self.reader(), cfg)
    }
}

/// Touches the tables every route reads, so a damaged file fails once, when it is
/// opened, with a clear reason, instead of on some later request.
fn check_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row(
        "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM sync_meta)",
        [],
        |_| Ok(()),
    )
}
