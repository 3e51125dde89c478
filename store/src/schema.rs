//! The one definition of the SQLite schema, as an ordered list of forward migrations.
//!
//! `PRAGMA user_version` records how many migrations a database has had. Opening a
//! database runs the missing ones, each in its own transaction, so a crash halfway
//! through leaves the previous version intact. Never edit a migration that has shipped:
//! append a new one.

use crate::Error;
use rusqlite::Connection;

/// Migration 1 is the seed plan's `documents` table, exactly as its "Technical
/// Decisions" section wrote it, so tools written against the seed keep working.
const V1_SEED: &str = r#"
CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('persona', 'prompt_template')),
  name TEXT NOT NULL,
  document JSON NOT NULL,
  file_path TEXT NOT NULL,
  file_modified DATETIME NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_documents_type ON documents(type);
CREATE INDEX idx_documents_name ON documents(name);
CREATE INDEX idx_documents_file_path ON documents(file_path);
"#;

/// Migration 2: what a real sync needs on top of the seed.
///
/// - `documents.content_hash` / `file_size`: confirm changes, feed ETags.
/// - `documents.stale`: 1 while the file is broken and this row is its last good version.
/// - `files`: one row per library file on disk as last synced (size, mtime, hash, the id
///   it parsed to), so a restart compares disk against it and re-reads only the
///   difference. A file that failed to parse has a row too (with `doc_id` NULL).
/// - `sync_errors`: why a file is not (or no longer) a document.
/// - `sync_meta`: key/value (content generation, last sync time, library root...).
/// - `search_index`: the serialized core search index, kept in step with `documents`.
/// - expression indexes on the JSON fields people filter on.
const V2_SYNC: &str = r#"
ALTER TABLE documents ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN file_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN stale INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1));

CREATE TABLE files (
  path TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  doc_id TEXT,
  racy INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX idx_files_doc_id ON files(doc_id) WHERE doc_id IS NOT NULL;

CREATE TABLE sync_errors (
  path TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('parse', 'duplicate_id', 'io')),
  line INTEGER,
  col INTEGER,
  message TEXT NOT NULL,
  doc_id TEXT,
  first_seen DATETIME DEFAULT CURRENT_TIMESTAMP,
  last_seen DATETIME DEFAULT CURRENT_TIMESTAMP
) WITHOUT ROWID;

CREATE TABLE sync_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE search_index (
  slot INTEGER PRIMARY KEY CHECK (slot = 1),
  generation INTEGER NOT NULL,
  data BLOB NOT NULL
);

CREATE INDEX idx_documents_model_api
  ON documents(json_extract(document, '$.content.model.api'));
CREATE INDEX idx_documents_model_type
  ON documents(json_extract(document, '$.content.model.configuration.type'));
CREATE INDEX idx_documents_version
  ON documents(json_extract(document, '$.content.version'));
CREATE INDEX idx_documents_stale ON documents(stale) WHERE stale = 1;
"#;

/// Migration 3: prompt versions and labels from git history (issue #15).
///
/// - `contents`: each distinct file content once, by its BLAKE3 hash (versions share it).
/// - `versions`: one row per (document, version number): the commit's metadata, the path
///   and content hash at that version, and the parse error when the file did not parse
///   then. The parsed document is not stored: it is the parse of the content (done on
///   read), which keeps a snapshot's history close to the size of its distinct contents.
/// - `labels`: each configured label, its ref and commit, or why it is broken.
/// - `doc_labels`: which version each label names for each document (resolved by the
///   watcher, which has the commit graph), or why it names none.
const V3_VERSIONS: &str = r#"
CREATE TABLE contents (
  hash TEXT PRIMARY KEY,
  data BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE versions (
  doc_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  commit_id TEXT,
  author TEXT,
  time INTEGER,
  summary TEXT,
  path TEXT NOT NULL,
  hash TEXT NOT NULL,
  draft INTEGER NOT NULL DEFAULT 0 CHECK (draft IN (0, 1)),
  error JSON,
  PRIMARY KEY (doc_id, number)
) WITHOUT ROWID;

CREATE TABLE labels (
  label TEXT PRIMARY KEY,
  reference TEXT,
  commit_id TEXT,
  error TEXT
) WITHOUT ROWID;

CREATE TABLE doc_labels (
  doc_id TEXT NOT NULL,
  label TEXT NOT NULL,
  number INTEGER,
  error TEXT,
  PRIMARY KEY (doc_id, label)
) WITHOUT ROWID;
"#;

/// Migration 4: `history_packs`, one compressed blob per document holding its versions
/// and their contents (`crate::pack`). Snapshots store history this way (`promptshelf
/// build` packs the `versions` and `contents` rows); the local database leaves it empty.
const V4_HISTORY_PACKS: &str = r#"
CREATE TABLE history_packs (
  doc_id TEXT PRIMARY KEY,
  data BLOB NOT NULL
) WITHOUT ROWID;
"#;

/// Page size of a new database file. Stored documents are 2–6 KB of JSON, so with
/// SQLite's default 4 KiB most spilled into overflow pages, and an initial sync wrote
/// the file one 4 KiB `pwrite` at a time (13,000 calls at 10,000 documents). 16 KiB
/// holds a document in its row and cuts the initial sync's time by about a tenth.
/// Only a new, empty file takes it; an existing database keeps its page size.
pub const PAGE_SIZE: u32 = 16 * 1024;

/// Gives a database that has no pages yet [`PAGE_SIZE`] (a no-op on any other).
/// Must run before the first write and before the journal mode is set to WAL.
pub fn set_new_page_size(conn: &Connection) -> Result<(), Error> {
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    Ok(())
}

/// Every migration, in order; `MIGRATIONS[i]` takes `user_version` from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1_SEED, V2_SYNC, V3_VERSIONS, V4_HISTORY_PACKS];

/// The `user_version` of a fully migrated database.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The schema version a database reports.
pub fn user_version(conn: &Connection) -> Result<u32, Error> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get::<_, u32>(0))?)
}

/// Brings a database up to [`SCHEMA_VERSION`]. A database newer than this build is
/// refused rather than guessed at.
pub fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let current = user_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(Error::TooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(())
}
