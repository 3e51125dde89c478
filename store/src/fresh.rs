//! Building a database that does not exist yet in one go, then moving it into place.
//!
//! An initial sync into an absent database has nobody to protect: no reader can see
//! it, and nothing is lost if it is interrupted (the files are still there). So it is
//! built in a file of its own next to the target (`<db>-build`, which shares the
//! database's name as a prefix, so the watcher treats it as its own and never syncs
//! it), with an in-memory rollback journal, no fsync per commit and an exclusive lock:
//! no WAL to write every page into and then copy back (the final checkpoint), and one
//! fsync instead of one per checkpoint. When it is complete it is switched to WAL,
//! closed, fsynced once, and hard-linked to the target name (which fails rather than
//! replaces if someone created the target meanwhile), then the build name is removed.
//!
//! Crash safety: until the link, the target does not exist, so a `kill -9` leaves no
//! database (and a half-built `<db>-build` that the next build truncates); after it,
//! the target is a complete, fsynced database, and a leftover build name is removed
//! by the next [`clean_leftover`]. Two processes starting at once: the build file is
//! `flock`ed, so the second one opens the target normally instead.

use crate::{read, schema, Database, Error};
use rusqlite::Connection;
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// SQLite's page cache for the build: a chunk of 1,024 documents dirties ~5 MB of
/// pages. Larger caches only kept pages already written (measured: 64 MB cost ~5,000
/// more page faults at 10,000 documents and saved nothing).
const BUILD_CACHE_KIB: i64 = 8 * 1024;

/// A database being built at [`build_path`] for `target`; see the module docs.
pub struct FreshBuild {
    target: PathBuf,
    tmp: PathBuf,
    /// Open and `flock`ed for as long as the build runs.
    lock: File,
    /// Writes committed pages to disk in the background (see [`FreshBuild::written`]).
    writeback: Option<Writeback>,
}

/// A thread that `fdatasync`s the build file whenever asked, so the disk writes the
/// pages of one chunk while the sync parses and inserts the next. Without it the one
/// fsync of [`FreshBuild::finish`] wrote the whole file at the end, with nothing else
/// left to overlap (about 0.1–0.2 s of a 10,000-document initial sync, 50 MB).
struct Writeback {
    /// A bounded channel of one: asks that arrive while a sync runs fold into one.
    ask: SyncSender<()>,
    thread: JoinHandle<()>,
}

impl Writeback {
    fn start(file: File) -> Writeback {
        let (ask, asked): (SyncSender<()>, Receiver<()>) = mpsc::sync_channel(1);
        let thread = std::thread::spawn(move || {
            // A failed fdatasync here is not an error of the build: `finish` syncs
            // again and reports its own failure.
            while asked.recv().is_ok() {
                let _ = file.sync_data();
            }
        });
        Writeback { ask, thread }
    }

    /// Stops the thread once its current sync is done.
    fn stop(self) {
        drop(self.ask);
        let _ = self.thread.join();
    }
}

/// Where the database for `target` is built: `<target>-build`.
pub fn build_path(target: &Path) -> PathBuf {
    with_suffix(target, "-build")
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn exists(p: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(p) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether neither `target` nor any of its companions (`-wal`, `-shm`, `-journal`)
/// exists: only then is a fresh build safe (a `-wal` without its database, say, is
/// someone's data to look at, not to build over).
pub fn absent(target: &Path) -> io::Result<bool> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        if exists(&with_suffix(target, suffix))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Removes a build file left behind by a crash between the link into place and the
/// removal of the build name (or a crash mid-build while the target was then created
/// another way). A build another process is running (its file is locked) is left alone.
pub fn clean_leftover(target: &Path) -> io::Result<()> {
    let tmp = build_path(target);
    let file = match OpenOptions::new().read(true).write(true).open(&tmp) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => remove_build_files(&tmp),
        Err(TryLockError::WouldBlock) => Ok(()),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

fn remove_build_files(tmp: &Path) -> io::Result<()> {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        match std::fs::remove_file(with_suffix(tmp, suffix)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// How [`FreshBuild::finish`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The build is the database now.
    InPlace,
    /// Someone created the target while the build ran: the build was discarded and
    /// the store now has the target open (its content is theirs, not the build's).
    Discarded,
}

impl FreshBuild {
    /// Starts building the database of `target` when it is [`absent`] and no other
    /// process is building it; `None` otherwise (then open it with [`Database::open`]).
    pub fn begin(target: &Path) -> Result<Option<(FreshBuild, Database)>, Error> {
        if !absent(target)? {
            return Ok(None);
        }
        let tmp = build_path(target);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&tmp)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e.into()),
        }
        // Whatever a crashed build left is of no use.
        lock.set_len(0)?;
        for suffix in ["-journal", "-wal", "-shm"] {
            match std::fs::remove_file(with_suffix(&tmp, suffix)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        let mut conn = Connection::open(&tmp)?;
        schema::set_new_page_size(&conn)?;
        // MEMORY, not OFF: a failed batch must still roll back (the engine retries it).
        // Pages appended past the original end of the file are not journaled at all.
        conn.pragma_update(None, "journal_mode", "MEMORY")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "cache_size", -BUILD_CACHE_KIB)?;
        schema::migrate(&mut conn)?;
        let store = Database {
            conn,
            clean_mark: false,
        };
        Ok(Some((
            FreshBuild {
                target: target.to_path_buf(),
                tmp,
                writeback: lock.try_clone().ok().map(Writeback::start),
                lock,
            },
            store,
        )))
    }

    /// The database being built.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Says a transaction was committed: its pages start going to disk in the
    /// background. Cheap; call it after every chunk.
    pub fn written(&self) {
        if let Some(w) = &self.writeback {
            let _ = w.ask.try_send(());
        }
    }

    /// Moves the build into place (see the module docs) and reopens `store` on the
    /// target, in WAL mode, marked cleanly closed (so opening it skips the integrity
    /// check: it was just written whole).
    pub fn finish(mut self, store: &mut Database) -> Result<Finished, Error> {
        if let Some(w) = self.writeback.take() {
            w.stop();
        }
        store.write(|w| w.set_meta(read::META_CLEAN_CLOSE, "1"))?;
        let mode: String =
            store
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Corrupt(format!(
                "could not switch the new database to WAL (journal mode {mode})"
            )));
        }
        let conn = std::mem::replace(&mut store.conn, Connection::open_in_memory()?);
        conn.close().map_err(|(_, e)| e)?;
        self.lock.sync_all()?;
        let outcome = match std::fs::hard_link(&self.tmp, &self.target) {
            Ok(()) => {
                std::fs::remove_file(&self.tmp)?;
                Finished::InPlace
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                remove_build_files(&self.tmp)?;
                Finished::Discarded
            }
            // A file system without hard links: rename (the target was absent when the
            // build began; a concurrent creator is already ruled out by the lock).
            Err(_) => {
                std::fs::rename(&self.tmp, &self.target)?;
                Finished::InPlace
            }
        };
        if let Some(dir) = self.target.parent() {
            // The new name is durable too (a no-op where directories cannot be opened).
            if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }) {
                let _ = d.sync_all();
            }
        }
        *store = Database::open(&self.target)?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::FileRecord;

    fn file(path: &str) -> FileRecord {
        FileRecord {
            path: path.into(),
            size: 1,
            mtime_ns: 2,
            content_hash: "h".into(),
            doc_id: None,
            racy: false,
        }
    }

    #[test]
    fn builds_beside_the_target_then_moves_it_into_place_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shelf.db");
        let (build, mut store) = FreshBuild::begin(&db).unwrap().unwrap();
        assert!(!db.exists(), "nothing at the target while building");
        assert!(build_path(&db).exists());
        store.write(|w| w.upsert_file(&file("a.json"))).unwrap();
        assert_eq!(build.finish(&mut store).unwrap(), Finished::InPlace);
        assert!(!build_path(&db).exists());
        let mode: String = store
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(read::all_files(store.conn()).unwrap().len(), 1);
        // Writable afterwards, and a clean reopen skips nothing it needs.
        store.write(|w| w.upsert_file(&file("b.json"))).unwrap();
        drop(store);
        let again = Database::open(&db).unwrap();
        assert_eq!(read::all_files(again.conn()).unwrap().len(), 2);
        again.quick_check().unwrap();
    }

    #[test]
    fn only_an_absent_database_is_built_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shelf.db");
        drop(Database::open(&db).unwrap());
        assert!(FreshBuild::begin(&db).unwrap().is_none());
        // A stray WAL without its database is not built over either.
        let other = dir.path().join("other.db");
        std::fs::write(with_suffix(&other, "-wal"), b"x").unwrap();
        assert!(FreshBuild::begin(&other).unwrap().is_none());
    }

    #[test]
    fn a_second_builder_is_turned_away_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shelf.db");
        let (build, mut store) = FreshBuild::begin(&db).unwrap().unwrap();
        assert!(FreshBuild::begin(&db).unwrap().is_none());
        // And a running build is not cleaned away as a leftover.
        clean_leftover(&db).unwrap();
        assert!(build_path(&db).exists());
        build.finish(&mut store).unwrap();
    }

    #[test]
    fn a_target_created_meanwhile_wins_and_the_build_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shelf.db");
        let (build, mut store) = FreshBuild::begin(&db).unwrap().unwrap();
        store.write(|w| w.upsert_file(&file("mine.json"))).unwrap();
        {
            let mut theirs = Database::open(&db).unwrap();
            theirs
                .write(|w| w.upsert_file(&file("theirs.json")))
                .unwrap();
        }
        assert_eq!(build.finish(&mut store).unwrap(), Finished::Discarded);
        let paths: Vec<String> = read::all_files(store.conn())
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(paths, ["theirs.json"]);
        assert!(!build_path(&db).exists());
    }

    #[test]
    fn a_crashed_build_is_started_over_and_a_leftover_is_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shelf.db");
        // What a kill -9 mid-build leaves: a build file (here, garbage) and a journal.
        std::fs::write(build_path(&db), vec![0xA5u8; 5000]).unwrap();
        std::fs::write(with_suffix(&build_path(&db), "-journal"), b"j").unwrap();
        let (build, mut store) = FreshBuild::begin(&db).unwrap().unwrap();
        store.write(|w| w.upsert_file(&file("a.json"))).unwrap();
        build.finish(&mut store).unwrap();
        store.quick_check().unwrap();
        assert_eq!(read::all_files(store.conn()).unwrap().len(), 1);
        assert!(!with_suffix(&build_path(&db), "-journal").exists());
        // What a kill -9 between the link and the removal leaves: a second name.
        std::fs::hard_link(&db, build_path(&db)).unwrap();
        clean_leftover(&db).unwrap();
        assert!(!build_path(&db).exists());
        assert_eq!(
            read::all_files(Database::open(&db).unwrap().conn())
                .unwrap()
                .len(),
            1
        );
    }
}
