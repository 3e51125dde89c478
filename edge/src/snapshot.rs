//! A promptshelf database opened read-only from bytes, in memory: what the worker serves.

use promptshelf_core::api::{self, ApiConfig, Request, Response};
use promptshelf_store::reader::{IndexCache, Reader};
use promptshelf_store::rusqlite::Connection;
use promptshelf_store::SCHEMA_VERSION;

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
/// when `head` starts with a header that records one.
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
        let sql = |e: promptshelf_store::rusqlite::Error| {
            SnapshotError(format!("the snapshot cannot be opened: {e}"))
        };
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
        // Touches the tables every route reads, so a damaged file fails here, once, with
        // a clear reason, instead of on some later request.
        conn.query_row(
            "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM sync_meta)",
            [],
            |_| Ok(()),
        )
        .map_err(sql)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Snapshot {
            conn,
            index: IndexCache::default(),
        })
    }

    /// Wraps an already-built database (D1 mode copies rows into one); checks the
    /// tables every route reads.
    pub fn from_connection(conn: Connection) -> Result<Snapshot, SnapshotError> {
        conn.query_row(
            "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM sync_meta)",
            [],
            |_| Ok(()),
        )
        .map_err(|e| SnapshotError(format!("the database cannot be read: {e}")))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Snapshot {
            conn,
            index: IndexCache::default(),
        })
    }

    /// The core's read-API answer for `req` over this snapshot.
    pub fn answer(&self, req: &Request, body: &[u8], cfg: &ApiConfig) -> Response {
        let reader = Reader::new(&self.conn, &self.index);
        api::handle_with_body(req, body, &reader, cfg)
    }
}
