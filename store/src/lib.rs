//! promptshelf's SQLite database: every SQL statement of the project and both halves
//! (writing and reading) of every on-disk format. The watcher (read-write), the local
//! server and the edge worker (read-only snapshot, or rows copied from D1) all go
//! through this crate; no other crate writes SQL.
//!
//! - [`schema`]: the tables, as forward migrations under `PRAGMA user_version`.
//! - [`Database`]: a connection with the schema in place (open, clean close, WAL
//!   checkpoint), whose [`Database::write`] runs one batch in one transaction.
//! - [`write`]: the writes of one batch ([`Writer`]).
//! - [`read`]: read queries (documents, file records, errors, meta, the search index blob).
//! - [`records`]: the row types.
//! - [`reader`]: the core read API's document source over this schema (reader pool,
//!   index cache).
//! - [`snapshot`]: compact, host-independent snapshots for shipping: written by
//!   `promptshelf build`, opened and validated from bytes by the edge.
//! - [`d1`]: the same rows as SQL for a Cloudflare D1 database, and the worker's side:
//!   the queries it runs against D1 and the in-memory snapshot built from their rows.
//! - [`versions`]: prompt versions, their contents (once each) and labels (issue #15).
//! - [`fresh`] (native only): building an absent database beside it, then moving it
//!   into place.
//!
//! Only `rusqlite` is used, so everything but [`fresh`] and the writing half of
//! [`snapshot`] builds for `wasm32-unknown-unknown` (the edge, over `sqlite-wasm-rs`).

#![warn(missing_docs)]

pub mod d1;
pub mod d1_read;
pub mod docset;
#[cfg(not(target_arch = "wasm32"))]
pub mod fresh;
pub mod label_index;
pub mod lazy;
pub mod pack;
pub mod read;
pub mod reader;
pub mod records;
pub mod schema;
#[cfg(not(target_arch = "wasm32"))]
pub mod site;
pub mod snapshot;
pub mod versions;
pub mod write;

pub use records::{DocumentRow, ErrorKind, FileRecord, SyncErrorRecord};
pub use rusqlite;
pub use schema::SCHEMA_VERSION;
pub use write::Writer;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// Everything that can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused a statement (busy, corrupt, constraint...).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored document's JSON does not read back as a document.
    #[error("document JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The file was written by a newer promptshelf.
    #[error("database schema version {found} is newer than this build supports ({supported}); use a newer promptshelf or delete the database (it is rebuilt from the files)")]
    TooNew {
        /// The file's `user_version`.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// `PRAGMA quick_check` found damage (its report).
    #[error("database integrity check failed: {0}")]
    Corrupt(String),
    /// A file operation around the database failed (snapshot, fresh build).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// True for failures worth retrying after a pause (another connection holds a lock).
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }

    /// True when the file is not a usable database at all (corrupt, or not SQLite).
    pub fn is_corruption(&self) -> bool {
        match self {
            Error::Corrupt(_) => true,
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ),
            _ => false,
        }
    }
}

/// A connection to a promptshelf database with the schema in place.
pub struct Database {
    conn: Connection,
    /// The database carries the clean-close mark (see [`Database::open`]); the first
    /// write of this session removes it in the same transaction.
    clean_mark: bool,
}

impl Database {
    /// Opens (creating if needed) a database file read-write, in WAL mode, migrated to
    /// the current schema. Fails with [`Error::is_corruption`] on a damaged file.
    ///
    /// `PRAGMA quick_check` reads the whole file (about 0.15 s at 10,000 documents,
    /// more than everything else a restart does), so it runs only when the last writer
    /// did not close the database cleanly (a crash, `kill -9`, a file from elsewhere)
    /// or when the file's size disagrees with the page count its header claims (a
    /// truncated copy). A clean close ([`Database::close_clean`]) leaves a mark in
    /// `sync_meta`; the first write after opening removes it in the same transaction,
    /// so a crash after any write is checked next time, while a session that writes
    /// nothing (a restart on an unchanged library) costs no write, hence no fsync.
    pub fn open(path: &Path) -> Result<Database, Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        schema::set_new_page_size(&conn)?;
        // Any read of a non-database fails here with NotADatabase.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        let _ = mode; // "memory" for in-memory databases; "wal" otherwise.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut store = Database {
            conn,
            clean_mark: false,
        };
        let clean = store.closed_cleanly(path)?;
        if !clean {
            store.quick_check()?;
        }
        schema::migrate(&mut store.conn)?;
        store.clean_mark = clean;
        Ok(store)
    }

    /// Whether the last writer closed the database cleanly and the file is as long as
    /// its header says (see [`Database::open`]).
    fn closed_cleanly(&self, path: &Path) -> Result<bool, Error> {
        let has_meta: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_meta')",
            [],
            |r| r.get(0),
        )?;
        if !has_meta || read::meta(&self.conn, read::META_CLEAN_CLOSE)?.as_deref() != Some("1") {
            return Ok(false);
        }
        let pages: i64 = self
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))?;
        let page_size: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |r| r.get(0))?;
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        Ok(i64::try_from(len).is_ok_and(|len| len == pages.saturating_mul(page_size)))
    }

    /// Marks the database as cleanly closed and folds the WAL into the main file
    /// (shutdown; the next [`Database::open`] then skips the full integrity check).
    pub fn close_clean(&mut self) -> Result<(), Error> {
        if !self.clean_mark {
            self.write(|w| w.set_meta(read::META_CLEAN_CLOSE, "1"))?;
            self.clean_mark = true;
        }
        self.checkpoint()
    }

    /// Opens an existing database read-only (readers beside a running watcher).
    pub fn open_read_only(path: &Path) -> Result<Database, Error> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let v = schema::user_version(&conn)?;
        if v > SCHEMA_VERSION {
            return Err(Error::TooNew {
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Database {
            conn,
            clean_mark: false,
        })
    }

    /// An empty in-memory database with the schema (tests, tools).
    pub fn open_in_memory() -> Result<Database, Error> {
        let mut conn = Connection::open_in_memory()?;
        schema::migrate(&mut conn)?;
        Ok(Database {
            conn,
            clean_mark: false,
        })
    }

    /// `PRAGMA quick_check`: Err(Corrupt) unless SQLite answers "ok".
    pub fn quick_check(&self) -> Result<(), Error> {
        let mut stmt = self.conn.prepare("PRAGMA quick_check")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if rows.len() == 1 && rows[0] == "ok" {
            Ok(())
        } else {
            Err(Error::Corrupt(rows.join("; ")))
        }
    }

    /// Runs `f` in one IMMEDIATE transaction: all of it commits, or none of it.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Writer<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if self.clean_mark {
            tx.execute(
                "DELETE FROM sync_meta WHERE key = ?1",
                [read::META_CLEAN_CLOSE],
            )?;
        }
        let out = f(&Writer { tx: &tx })?;
        tx.commit()?;
        self.clean_mark = false;
        Ok(out)
    }

    /// Runs `f` in one read transaction: every query of `f` sees the same state. The
    /// sync engine reads what a batch needs this way before it opens the batch's write
    /// transaction.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let tx = self.conn.unchecked_transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Folds the WAL back into the main file (on shutdown, so the file alone is whole).
    pub fn checkpoint(&self) -> Result<(), Error> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Writes a compact, self-contained copy (no WAL) to `dest` with `VACUUM INTO`.
    pub fn snapshot_to(&self, dest: &Path) -> Result<(), Error> {
        let dest = dest.to_string_lossy();
        self.conn.execute("VACUUM INTO ?1", [dest.as_ref()])?;
        Ok(())
    }

    /// The underlying connection, for the read queries in [`read`].
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests;
