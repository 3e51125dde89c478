//! Folding the WAL back into the database file on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on
//! the committing thread, and fsyncs twice: measured here, 30–90 ms added to whichever
//! batch (or search index store) happened to cross it, i.e. to someone's
//! save-to-visible time. The engine turns it off (`wal_autocheckpoint = 0`) and this
//! thread runs a `PASSIVE` checkpoint every second instead, on its own connection:
//! PASSIVE never blocks the writer or readers, it copies what no reader still needs.
//! Shutdown stops it and does a final `TRUNCATE` checkpoint on the engine's connection.
//!
//! During a long reconcile (an initial sync) it holds off ([`Checkpointer::hold`]): the
//! commits then come back to back, and checkpointing every second copied pages the
//! next chunk rewrote and fsynced the database each time — measured at 10,000
//! documents, 13 fsyncs taking 0.74 s of a 2–4 s sync on a busy disk. The WAL is
//! folded in once at the end instead, unless it grows past [`HOLD_LIMIT`].

use promptshelf_store::rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A held checkpointer still checkpoints once the WAL is this large (bounds the disk a
/// 100,000-file initial sync borrows).
pub const HOLD_LIMIT: u64 = 256 << 20;

/// The running checkpoint thread; stopped (and joined) on drop.
pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    held: Arc<AtomicBool>,
}

/// Holds the checkpointer off until dropped (see the module docs).
pub struct Hold(Arc<AtomicBool>);

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

impl Checkpointer {
    /// No checkpoints (below [`HOLD_LIMIT`]) until the returned guard is dropped.
    pub fn hold(&self) -> Hold {
        self.held.store(true, Ordering::Relaxed);
        Hold(self.held.clone())
    }

    pub fn start(db: &Path, every: Duration) -> Checkpointer {
        let (tx, rx) = mpsc::channel::<()>();
        let held = Arc::new(AtomicBool::new(false));
        let held_here = held.clone();
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let wal = std::path::PathBuf::from(wal);
        let db = db.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("promptshelf-checkpoint".into())
            .spawn(move || {
                let conn = match Connection::open(&db) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot open the database for checkpoints; the WAL is folded back at shutdown only");
                        return;
                    }
                };
                let _ = conn.busy_timeout(Duration::from_millis(200));
                loop {
                    match rx.recv_timeout(every) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    if held_here.load(Ordering::Relaxed)
                        && std::fs::metadata(&wal).map_or(0, |m| m.len()) < HOLD_LIMIT
                    {
                        continue;
                    }
                    let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    });
                    match r {
                        Ok((log, done)) => tracing::trace!(log, done, "checkpoint"),
                        Err(e) => tracing::debug!(error = %e, "checkpoint skipped"),
                    }
                }
            })
            .map_err(|e| tracing::warn!(error = %e, "cannot start the checkpoint thread"))
            .ok();
        Checkpointer {
            stop: Some(tx),
            thread,
            held,
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A fresh WAL database whose data (about 1 MB) is all in the WAL; returns the
    /// main file's size. Written through the store, like the sync writes.
    fn db_with_wal(path: &Path) -> (promptshelf_store::Database, u64) {
        let mut db = promptshelf_store::Database::open(path).unwrap();
        db.conn()
            .pragma_update(None, "wal_autocheckpoint", 0)
            .unwrap();
        db.write(|w| w.put_search_index(1, &vec![7u8; 1_024_000]))
            .unwrap();
        let len = std::fs::metadata(path).unwrap().len();
        (db, len)
    }

    #[test]
    fn held_checkpointer_leaves_the_wal_alone_until_released() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("c.db");
        let (_conn, before) = db_with_wal(&db);
        assert!(before < 100_000, "the rows are still in the WAL ({before})");
        let every = Duration::from_millis(20);
        let c = Checkpointer::start(&db, every);
        let hold = c.hold();
        // Not a timing assertion: however slowly the thread runs, a held checkpointer
        // must not have copied anything.
        std::thread::sleep(every * 10);
        assert_eq!(std::fs::metadata(&db).unwrap().len(), before);
        drop(hold);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::metadata(&db).unwrap().len() < 1_000_000 {
            assert!(Instant::now() < deadline, "released checkpointer never ran");
            std::thread::sleep(every);
        }
    }
}
