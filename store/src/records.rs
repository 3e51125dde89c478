//! Row types: what the store hands out and takes in, independent of SQL.

use serde::{Deserialize, Serialize};

/// A library file as last synced. Drives the restart fast path: a file whose size and
/// mtime match its record (and is not `racy`) is not re-read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Path relative to the library root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// BLAKE3 hex of the bytes that were parsed.
    pub content_hash: String,
    /// The id the file parsed to; `None` when it failed to parse.
    pub doc_id: Option<String>,
    /// The mtime was too close to the moment it was read to rule out a same-tick
    /// rewrite, so the next reconcile confirms by hash instead of trusting size + mtime.
    pub racy: bool,
}

/// Why a file is not (or no longer) a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The file does not parse; its last good document, if any, is kept as stale.
    Parse,
    /// The file parsed, but another file (lexicographically earlier) has the same id.
    DuplicateId,
    /// The file could not be read (after retries).
    Io,
}

impl ErrorKind {
    /// The `kind` column's text (`parse`, `duplicate_id`, `io`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Parse => "parse",
            ErrorKind::DuplicateId => "duplicate_id",
            ErrorKind::Io => "io",
        }
    }

    /// The kind a `kind` column's text names.
    pub fn parse(s: &str) -> Option<ErrorKind> {
        match s {
            "parse" => Some(ErrorKind::Parse),
            "duplicate_id" => Some(ErrorKind::DuplicateId),
            "io" => Some(ErrorKind::Io),
            _ => None,
        }
    }
}

/// One row of `sync_errors`, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncErrorRecord {
    /// The file's library-relative path.
    pub path: String,
    /// Why it is an error.
    pub kind: ErrorKind,
    /// 1-based line of the problem in the file, when it has a place.
    pub line: Option<u32>,
    /// 1-based column of the problem, when it has a place.
    pub column: Option<u32>,
    /// What is wrong, for people.
    pub message: String,
    /// For duplicates: the contested id. For parse errors: the id of the stale
    /// document kept in its place, if any.
    pub doc_id: Option<String>,
    /// When the error was first recorded (ISO-8601 UTC; empty in snapshots).
    #[serde(default)]
    pub first_seen: String,
    /// When it was last recorded again.
    #[serde(default)]
    pub last_seen: String,
}

/// One row of `documents`, with the document JSON kept as stored (the read API
/// returns it without re-serializing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    /// The document's id.
    pub id: String,
    /// `persona` or `prompt_template`.
    pub doc_type: String,
    /// The document's display name.
    pub name: String,
    /// The JSON form of `promptshelf_core::Document`.
    pub json: String,
    /// The library-relative path of its file.
    pub file_path: String,
    /// ISO-8601 UTC with milliseconds, e.g. `2026-11-27T10:41:33.123Z`.
    pub file_modified: String,
    /// When the row was first written (ISO-8601 UTC).
    pub created_at: String,
    /// When the row was last written (ISO-8601 UTC).
    pub updated_at: String,
    /// BLAKE3 hex of the file bytes the row was parsed from.
    pub content_hash: String,
    /// The file's size in bytes.
    pub file_size: u64,
    /// True while the file is broken and this is its last good version.
    pub stale: bool,
}

impl DocumentRow {
    /// The stored JSON as a core document.
    pub fn document(&self) -> Result<promptshelf_core::Document, serde_json::Error> {
        serde_json::from_str(&self.json)
    }
}
