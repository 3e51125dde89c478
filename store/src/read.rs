//! Read queries, shared by every host (local server, edge worker over a snapshot).
//! Only rusqlite here: this module must compile for wasm32-unknown-unknown.

use crate::records::{DocumentRow, ErrorKind, FileRecord, SyncErrorRecord};
use crate::Error;
use rusqlite::{Connection, OptionalExtension, Row};

/// Meta key of the content generation: bumped by every batch that changed what
/// readers see; the read API's ETag derives from it.
pub const META_GENERATION: &str = "generation";
/// Meta key of the last completed sync (ISO-8601 UTC).
pub const META_LAST_SYNC: &str = "last_sync_at";
/// Meta key set to `1` by a clean close, removed on open (see `Database::open`).
pub const META_CLEAN_CLOSE: &str = "clean_close";
/// Meta key of the library root the database was built from.
pub const META_LIBRARY_ROOT: &str = "library_root";
/// Meta key of a snapshot's identity (a content hash, see `crate::snapshot`). Present
/// only in snapshots; the first write to the database removes it.
pub const META_SNAPSHOT_ID: &str = "snapshot_id";

const DOC_COLUMNS: &str = "id, type, name, document, file_path, file_modified, \
     COALESCE(created_at, ''), COALESCE(updated_at, ''), content_hash, file_size, stale";

/// One `documents` row in the column order of `DOC_COLUMNS` (the reader's `COLUMNS`
/// lists the same columns, table-qualified).
pub(crate) fn doc_from_row(r: &Row<'_>) -> rusqlite::Result<DocumentRow> {
    Ok(DocumentRow {
        id: r.get(0)?,
        doc_type: r.get(1)?,
        name: r.get(2)?,
        json: r.get(3)?,
        file_path: r.get(4)?,
        file_modified: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        content_hash: r.get(8)?,
        file_size: r.get::<_, i64>(9)?.max(0) as u64,
        stale: r.get::<_, i64>(10)? != 0,
    })
}

/// One document by id.
pub fn get_document(conn: &Connection, id: &str) -> Result<Option<DocumentRow>, Error> {
    let sql = format!("SELECT {DOC_COLUMNS} FROM documents WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_row([id], doc_from_row).optional()?)
}

/// Every document, ordered by id (for building a search index or a snapshot).
pub fn all_documents(conn: &Connection) -> Result<Vec<DocumentRow>, Error> {
    let sql = format!("SELECT {DOC_COLUMNS} FROM documents ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], doc_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Number of documents, optionally of one type.
pub fn count_documents(conn: &Connection, doc_type: Option<&str>) -> Result<u64, Error> {
    let mut stmt =
        conn.prepare_cached("SELECT COUNT(*) FROM documents WHERE (?1 IS NULL OR type = ?1)")?;
    Ok(stmt.query_row([doc_type], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// Every sync error, ordered by path.
pub fn sync_errors(conn: &Connection) -> Result<Vec<SyncErrorRecord>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, kind, line, col, message, doc_id, COALESCE(first_seen, ''), \
         COALESCE(last_seen, '') FROM sync_errors ORDER BY path",
    )?;
    let rows = stmt.query_map([], |r| {
        let kind: String = r.get(1)?;
        Ok(SyncErrorRecord {
            path: r.get(0)?,
            kind: ErrorKind::parse(&kind).unwrap_or(ErrorKind::Io),
            line: r.get(2)?,
            column: r.get(3)?,
            message: r.get(4)?,
            doc_id: r.get(5)?,
            first_seen: r.get(6)?,
            last_seen: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Number of sync errors.
pub fn count_sync_errors(conn: &Connection) -> Result<u64, Error> {
    let mut stmt = conn.prepare_cached("SELECT COUNT(*) FROM sync_errors")?;
    Ok(stmt.query_row([], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// Every file record (the watcher loads these at start to compare against the disk).
pub fn all_files(conn: &Connection) -> Result<Vec<FileRecord>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, size, mtime_ns, content_hash, doc_id, racy FROM files ORDER BY path",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FileRecord {
            path: r.get(0)?,
            size: r.get::<_, i64>(1)?.max(0) as u64,
            mtime_ns: r.get(2)?,
            content_hash: r.get(3)?,
            doc_id: r.get(4)?,
            racy: r.get::<_, i64>(5)? != 0,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The `documents` row holding an id, as the sync engine compares it with the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentOwner {
    /// The library-relative path of the file the row came from.
    pub path: String,
    /// The file is broken and this row is its last good version.
    pub stale: bool,
    /// BLAKE3 hex of the bytes the row was parsed from.
    pub content_hash: String,
}

/// Which file currently provides the document `id`, whether that row is stale, and the
/// hash of the bytes it came from.
pub fn document_owner(conn: &Connection, id: &str) -> Result<Option<DocumentOwner>, Error> {
    let mut stmt =
        conn.prepare_cached("SELECT file_path, stale, content_hash FROM documents WHERE id = ?1")?;
    Ok(stmt
        .query_row([id], |r| {
            Ok(DocumentOwner {
                path: r.get(0)?,
                stale: r.get::<_, i64>(1)? != 0,
                content_hash: r.get(2)?,
            })
        })
        .optional()?)
}

/// The ids of the documents whose row came from the file at `path` (one, except in a
/// database another tool wrote).
pub fn document_ids_at(conn: &Connection, path: &str) -> Result<Vec<String>, Error> {
    let mut stmt = conn.prepare_cached("SELECT id FROM documents WHERE file_path = ?1")?;
    let ids = stmt
        .query_map([path], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Whether `documents` has rows whose file has no record in `files` (a database
/// written by another tool, e.g. the seed's).
pub fn has_orphan_documents(conn: &Connection) -> Result<bool, Error> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM documents d \
         WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.path = d.file_path))",
        [],
        |r| r.get(0),
    )?)
}

/// Whether `sync_errors` has any row.
pub fn has_sync_errors(conn: &Connection) -> Result<bool, Error> {
    Ok(
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sync_errors)", [], |r| {
            r.get(0)
        })?,
    )
}

/// A `sync_meta` value.
pub fn meta(conn: &Connection, key: &str) -> Result<Option<String>, Error> {
    let mut stmt = conn.prepare_cached("SELECT value FROM sync_meta WHERE key = ?1")?;
    Ok(stmt.query_row([key], |r| r.get(0)).optional()?)
}

/// The content generation (0 for a database that was never synced).
pub fn generation(conn: &Connection) -> Result<u64, Error> {
    Ok(meta(conn, META_GENERATION)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// The content generation the read API reports (and derives its ETag from): a
/// snapshot's content hash when the database is one, else the generation counter.
/// A counter alone would collide across rebuilds (each restarts at 1); the hash
/// does not, and stays the same for an unchanged library.
///
/// A database with git history (issue #15) appends `.` and the history's stamp
/// ([`META_HISTORY_STAMP`]): a commit changes what `/versions` answers without changing
/// any document, so without it an ETag would survive a new version.
pub fn content_generation(conn: &Connection) -> Result<String, Error> {
    match meta(conn, META_SNAPSHOT_ID)? {
        Some(id) => Ok(id),
        None => {
            let g = generation(conn)?;
            Ok(match meta(conn, META_HISTORY_STAMP)? {
                Some(stamp) => format!("{g}.{stamp}"),
                None => g.to_string(),
            })
        }
    }
}

/// Meta key of the stored history's stamp: a short hash of its rows, set by
/// `Writer::replace_history`'s caller (see `crate::versions::stamp`).
pub const META_HISTORY_STAMP: &str = "history_stamp";

/// The serialized search index and the generation it was built at, if one is stored.
pub fn search_index(conn: &Connection) -> Result<Option<(u64, Vec<u8>)>, Error> {
    let mut stmt =
        conn.prepare_cached("SELECT generation, data FROM search_index WHERE slot = 1")?;
    Ok(stmt
        .query_row([], |r| Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get(1)?)))
        .optional()?)
}
