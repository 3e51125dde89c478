//! Folding the WAL back into the database file on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on
//! the committing thread, and fsyncs twice: measured here, 30–90 ms added to whichever
//! batch (or search index store) happened to cross it, i.e. to someone's
//! save-to-visible time. The engine turns it off (`wal_autocheckpoint = 0`) and this
//! thread runs a `PASSIVE` checkpoint every second instead, on its own connection:
//! PASSIVE never blocks the writer or readers, it copies what no reader still needs.
//! Shutdown stops it and does a final `TRUNCATE` checkpoint on the engine's connection.

use promptshelf_store::rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// The running checkpoint thread; stopped (and joined) on drop.
pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(db: &Path, every: Duration) -> Checkpointer {
        let (tx, rx) = mpsc::channel::<()>();
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
