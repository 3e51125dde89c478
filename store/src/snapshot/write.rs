//! The writing half of the snapshot format (native only: it writes files): a compact
//! copy of a database, stripped of host state, with a deterministic search index and
//! its `snapshot_id`. See the parent module for the format.

use crate::read::{self, META_SNAPSHOT_ID};
use crate::Error;
use promptshelf_core::Document;
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};

/// What [`write_snapshot`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The snapshot's identity (hex), also its content generation.
    pub id: String,
    /// Documents in the snapshot.
    pub documents: u64,
    /// Of which personas.
    pub personas: u64,
    /// Of which prompt templates.
    pub prompt_templates: u64,
    /// Files that failed to parse when the snapshot was built (kept as a count and a
    /// list in `sync_errors`, with relative paths only).
    pub sync_errors: u64,
    /// Size of the snapshot file in bytes.
    pub bytes: u64,
}

/// Writes a snapshot of the database `src` to `dest`, replacing it atomically (the new
/// file is written beside `dest` and renamed over it).
pub fn write_snapshot(src: &Connection, dest: &Path) -> Result<SnapshotInfo, Error> {
    let work = sibling(dest, "work");
    let out = sibling(dest, "tmp");
    let _ = std::fs::remove_file(&work);
    let _ = std::fs::remove_file(&out);
    let result = (|| {
        src.execute("VACUUM INTO ?1", [path_text(&work)?])?;
        let info = {
            let mut conn = Connection::open(&work)?;
            // VACUUM INTO copies the WAL flag of a WAL database; a snapshot is opened from
            // bytes (in memory), where WAL is not available.
            let _: String =
                conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))?;
            let id = strip_and_stamp(&mut conn)?;
            conn.execute("VACUUM INTO ?1", [path_text(&out)?])?;
            let counts = counts(&conn)?;
            SnapshotInfo {
                id,
                documents: counts.0 + counts.1,
                personas: counts.0,
                prompt_templates: counts.1,
                sync_errors: read::count_sync_errors(&conn)?,
                bytes: 0,
            }
        };
        std::fs::rename(&out, dest)?;
        let bytes = std::fs::metadata(dest)?.len();
        Ok(SnapshotInfo { bytes, ..info })
    })();
    let _ = std::fs::remove_file(&work);
    let _ = std::fs::remove_file(&out);
    result
}

/// Removes host-only state, rebuilds the search index deterministically and records the
/// snapshot id. Returns the id.
fn strip_and_stamp(conn: &mut Connection) -> Result<String, Error> {
    let tx = conn.transaction()?;
    tx.execute_batch(
        "DELETE FROM files;
         DELETE FROM sync_meta;
         UPDATE documents SET created_at = file_modified, updated_at = file_modified;
         UPDATE sync_errors SET first_seen = NULL, last_seen = NULL;
         -- Rowids in id order, whatever order the sync inserted rows in: the same
         -- documents give the same file, byte for byte.
         CREATE TEMP TABLE snapshot_docs AS SELECT * FROM documents;
         DELETE FROM documents;
         INSERT INTO documents SELECT * FROM snapshot_docs ORDER BY id;
         DROP TABLE snapshot_docs;",
    )?;
    let rows = read::all_documents(&tx)?;
    let mut docs = Vec::with_capacity(rows.len());
    for row in &rows {
        docs.push(serde_json::from_str::<Document>(&row.json)?);
    }
    let index = promptshelf_core::search::Index::build(&docs).to_bytes();
    tx.execute(
        "INSERT INTO search_index (slot, generation, data) VALUES (1, 0, ?1) \
         ON CONFLICT(slot) DO UPDATE SET generation = 0, data = excluded.data",
        params![index],
    )?;
    let id = content_id(&tx)?;
    // History as one compressed pack per document (`crate::pack`); the id above is
    // the same computed from either form.
    crate::versions::pack_history(&tx)?;
    tx.execute(
        "INSERT INTO sync_meta (key, value) VALUES (?1, ?2)",
        params![META_SNAPSHOT_ID, id],
    )?;
    tx.commit()?;
    Ok(id)
}

/// BLAKE3 over everything the read API can return from this database: every document
/// row (the columns the API serves), the sync errors, the search index, the history
/// (versions and resolved labels) and the schema version. 128 bits of it, as hex.
pub fn content_id(conn: &Connection) -> Result<String, Error> {
    let mut h = blake3::Hasher::new();
    let mut feed = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    feed(b"promptshelf-snapshot-1");
    feed(&crate::schema::user_version(conn)?.to_le_bytes());
    for d in read::all_documents(conn)? {
        for field in [
            &d.id,
            &d.doc_type,
            &d.name,
            &d.json,
            &d.file_path,
            &d.file_modified,
            &d.content_hash,
        ] {
            feed(field.as_bytes());
        }
        feed(&[d.stale as u8]);
    }
    for e in read::sync_errors(conn)? {
        feed(e.path.as_bytes());
        feed(e.kind.as_str().as_bytes());
        feed(&e.line.unwrap_or(0).to_le_bytes());
        feed(&e.column.unwrap_or(0).to_le_bytes());
        feed(e.message.as_bytes());
    }
    match read::search_index(conn)? {
        Some((_, bytes)) => feed(&bytes),
        None => feed(b""),
    }
    feed(&crate::versions::digest_input(conn)?);
    Ok(h.finalize().to_hex()[..32].to_owned())
}

fn counts(conn: &Connection) -> Result<(u64, u64), Error> {
    Ok((
        read::count_documents(conn, Some("persona"))?,
        read::count_documents(conn, Some("prompt_template"))?,
    ))
}

/// `dir/.NAME.KIND-PID`: beside `dest`, so the final rename stays on one filesystem.
fn sibling(dest: &Path, kind: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot.db".into());
    dest.with_file_name(format!(".{name}.{kind}-{}", std::process::id()))
}

fn path_text(p: &Path) -> Result<&str, Error> {
    p.to_str().ok_or_else(|| {
        Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("snapshot path is not UTF-8: {}", p.display()),
        ))
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
