//! Writes, always inside one transaction per batch (see [`crate::Database::write`]), so a
//! reader never sees half a batch and a crash at any point leaves the previous state.

use crate::read::{META_GENERATION, META_LAST_SYNC};
use crate::records::{FileRecord, SyncErrorRecord};
use crate::Error;
use promptshelf_core::Document;
use rusqlite::{params, OptionalExtension, Transaction};

/// The writing side of one open transaction. Every statement is prepared once per
/// connection and cached.
pub struct Writer<'t> {
    pub(crate) tx: &'t Transaction<'t>,
}

impl Writer<'_> {
    /// Inserts or replaces a document, keeping its `created_at` and clearing `stale`.
    /// `file_modified_ms` is the file's mtime in milliseconds since the Unix epoch.
    pub fn upsert_document(
        &self,
        doc: &Document,
        file_modified_ms: i64,
        file_size: u64,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(doc)?;
        self.upsert_document_json(doc, &json, file_modified_ms, file_size)
    }

    /// [`Writer::upsert_document`] with the document's JSON already serialized
    /// (`serde_json::to_string(doc)`, e.g. on the threads that parsed the files).
    pub fn upsert_document_json(
        &self,
        doc: &Document,
        json: &str,
        file_modified_ms: i64,
        file_size: u64,
    ) -> Result<(), Error> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO documents (id, type, name, document, file_path, file_modified, \
               content_hash, file_size, stale, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, \
               strftime('%Y-%m-%dT%H:%M:%fZ', ?6 / 1000.0, 'unixepoch'), ?7, ?8, 0, \
               CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) \
             ON CONFLICT(id) DO UPDATE SET type = excluded.type, name = excluded.name, \
               document = excluded.document, file_path = excluded.file_path, \
               file_modified = excluded.file_modified, content_hash = excluded.content_hash, \
               file_size = excluded.file_size, stale = 0, updated_at = CURRENT_TIMESTAMP",
        )?;
        stmt.execute(params![
            doc.id.as_str(),
            doc.doc_type.as_str(),
            doc.name,
            json,
            doc.path,
            file_modified_ms,
            doc.hash.0,
            file_size as i64,
        ])?;
        Ok(())
    }

    /// Marks a document as the last good version of a file that is now broken (or
    /// clears the mark).
    pub fn set_document_stale(&self, id: &str, stale: bool) -> Result<(), Error> {
        let mut stmt = self
            .tx
            .prepare_cached("UPDATE documents SET stale = ?2 WHERE id = ?1 AND stale != ?2")?;
        stmt.execute(params![id, stale as i64])?;
        Ok(())
    }

    /// Deletes the document with this id (no file provides it any more).
    pub fn delete_document(&self, id: &str) -> Result<(), Error> {
        let mut stmt = self
            .tx
            .prepare_cached("DELETE FROM documents WHERE id = ?1")?;
        stmt.execute([id])?;
        Ok(())
    }

    /// Inserts or replaces a file record.
    pub fn upsert_file(&self, f: &FileRecord) -> Result<(), Error> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO files (path, size, mtime_ns, content_hash, doc_id, racy) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, \
               content_hash = excluded.content_hash, doc_id = excluded.doc_id, racy = excluded.racy",
        )?;
        stmt.execute(params![
            f.path,
            f.size as i64,
            f.mtime_ns,
            f.content_hash,
            f.doc_id,
            f.racy as i64
        ])?;
        Ok(())
    }

    /// Deletes a file record (the file is gone).
    pub fn delete_file(&self, path: &str) -> Result<(), Error> {
        let mut stmt = self
            .tx
            .prepare_cached("DELETE FROM files WHERE path = ?1")?;
        stmt.execute([path])?;
        Ok(())
    }

    /// Records (or refreshes) the error of one path, keeping `first_seen`.
    pub fn set_error(&self, e: &SyncErrorRecord) -> Result<(), Error> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO sync_errors (path, kind, line, col, message, doc_id, first_seen, last_seen) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) \
             ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, line = excluded.line, \
               col = excluded.col, message = excluded.message, doc_id = excluded.doc_id, \
               last_seen = CURRENT_TIMESTAMP",
        )?;
        stmt.execute(params![
            e.path,
            e.kind.as_str(),
            e.line,
            e.column,
            e.message,
            e.doc_id
        ])?;
        Ok(())
    }

    /// Deletes the sync error of a file, if it has one.
    pub fn clear_error(&self, path: &str) -> Result<(), Error> {
        let mut stmt = self
            .tx
            .prepare_cached("DELETE FROM sync_errors WHERE path = ?1")?;
        stmt.execute([path])?;
        Ok(())
    }

    /// Records which document a file's error row concerns (the stale document kept in
    /// place of a broken file).
    pub fn set_error_doc_id(&self, path: &str, doc_id: &str) -> Result<(), Error> {
        let mut stmt = self
            .tx
            .prepare_cached("UPDATE sync_errors SET doc_id = ?2 WHERE path = ?1")?;
        stmt.execute([path, doc_id])?;
        Ok(())
    }

    /// Sets a `sync_meta` value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), Error> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO sync_meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?;
        stmt.execute([key, value])?;
        Ok(())
    }

    /// Increments the content generation and returns the new value.
    pub fn bump_generation(&self) -> Result<u64, Error> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT value FROM sync_meta WHERE key = ?1")?;
        let current: u64 = stmt
            .query_row([META_GENERATION], |r| r.get::<_, String>(0))
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let next = current + 1;
        self.set_meta(META_GENERATION, &next.to_string())?;
        // A written database is no longer the snapshot it may have been opened from.
        self.tx
            .prepare_cached("DELETE FROM sync_meta WHERE key = ?1")?
            .execute([crate::read::META_SNAPSHOT_ID])?;
        Ok(next)
    }

    /// Stamps `last_sync_at` with the current UTC time (SQLite's clock).
    pub fn touch_last_sync(&self) -> Result<(), Error> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO sync_meta (key, value) \
             VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?;
        stmt.execute([META_LAST_SYNC])?;
        Ok(())
    }

    /// Replaces the stored search index.
    pub fn put_search_index(&self, generation: u64, data: &[u8]) -> Result<(), Error> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO search_index (slot, generation, data) VALUES (1, ?1, ?2) \
             ON CONFLICT(slot) DO UPDATE SET generation = excluded.generation, data = excluded.data",
        )?;
        stmt.execute(params![generation as i64, data])?;
        Ok(())
    }

    /// Read queries inside the same transaction.
    pub fn conn(&self) -> &rusqlite::Connection {
        self.tx
    }
}
