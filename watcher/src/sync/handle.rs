#![allow(dead_code)] // The public surface the local server (admin routes) uses.
//! The in-process handle to a running sync: what the local server's admin routes use.
//!
//! `SyncHandle` is cheap to clone and safe to share across threads. Reads (`status`,
//! `errors`, counters) never wait for the sync thread; `barrier` and `reload` ask the
//! sync thread and block until it answers (call them from `spawn_blocking` in async code).

use super::report::ReconcileReport;
use promptshelf_store::SyncErrorRecord;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Monotonic counters and gauges of the sync, for `/admin/status` and `/admin/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// File-system events received (after dropping promptshelf's own files).
    pub events: AtomicU64,
    /// Transactions applied.
    pub batches: AtomicU64,
    /// Documents inserted, replaced or deleted.
    pub changes: AtomicU64,
    /// Retries of unreadable files and busy database writes.
    pub retries: AtomicU64,
    /// Full or partial reconciles run.
    pub reconciles: AtomicU64,
    /// Barriers answered.
    pub barriers: AtomicU64,
    /// Gauge: library files known (documents, broken files, duplicates).
    pub files: AtomicU64,
    /// Gauge: documents in the database.
    pub documents: AtomicU64,
    /// Gauge: current sync errors.
    pub errors: AtomicU64,
    /// Gauge: paths waiting for their debounce to expire.
    pub pending: AtomicU64,
    /// Gauge: the database's content generation.
    pub generation: AtomicU64,
    /// Unix milliseconds of the last applied batch.
    pub last_sync_unix_ms: AtomicU64,
    /// Milliseconds from the last file event of the last live batch to its commit.
    pub last_lag_ms: AtomicU64,
}

/// What the sync is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Starting,
    InitialSync,
    Watching,
    Stopping,
    Stopped,
    Failed,
}

/// How changes are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchMode {
    /// One-shot `sync`: no watching.
    None,
    /// inotify / FSEvents / ReadDirectoryChanges.
    Native,
    /// Periodic directory scans (forced, or native watching was unavailable).
    Poll,
}

/// State shared between the sync thread and handles.
#[derive(Debug)]
pub struct Shared {
    pub counters: Counters,
    pub phase: Mutex<Phase>,
    pub mode: Mutex<WatchMode>,
    pub errors: RwLock<Vec<SyncErrorRecord>>,
    pub root: PathBuf,
    pub db: PathBuf,
    pub started: Instant,
    /// Set by `shutdown`: long reconciles stop between chunks.
    pub cancel: AtomicBool,
    /// One event per committed batch, for `GET /v1/events` (see [`super::feed`]).
    pub feed: Arc<super::feed::Feed>,
}

impl Shared {
    pub fn new(root: PathBuf, db: PathBuf) -> Arc<Shared> {
        Arc::new(Shared {
            counters: Counters::default(),
            phase: Mutex::new(Phase::Starting),
            mode: Mutex::new(WatchMode::None),
            errors: RwLock::new(Vec::new()),
            root,
            db,
            started: Instant::now(),
            cancel: AtomicBool::new(false),
            feed: Arc::default(),
        })
    }

    /// Called by the engine after each publish of its counters and errors (after a
    /// commit): turns the batch into a change event.
    pub fn published(&self) {
        let generation = self.counters.generation.load(Ordering::Relaxed);
        if let Ok(errors) = self.errors.read() {
            self.feed.published(generation, &errors);
        }
    }

    pub fn set_phase(&self, p: Phase) {
        if let Ok(mut g) = self.phase.lock() {
            *g = p;
        }
    }

    pub fn set_mode(&self, m: WatchMode) {
        if let Ok(mut g) = self.mode.lock() {
            *g = m;
        }
    }
}

/// A snapshot of the sync's state, as `/admin/status` returns it.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub phase: Phase,
    pub mode: WatchMode,
    pub root: String,
    pub db: String,
    pub uptime_ms: u64,
    pub files: u64,
    pub documents: u64,
    pub errors: u64,
    pub pending: u64,
    pub generation: u64,
    pub events: u64,
    pub batches: u64,
    pub changes: u64,
    pub retries: u64,
    pub reconciles: u64,
    pub barriers: u64,
    pub last_sync_unix_ms: u64,
    pub last_lag_ms: u64,
}

/// How a barrier was satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierMethod {
    /// A cookie file written into `.promptshelf/` came back through the watcher, so
    /// every earlier event had been received; pending paths were then applied at once.
    Cookie,
    /// A full reconcile against the disk (polling, no `.promptshelf/`, or the cookie
    /// did not come back in time).
    Reconcile,
}

/// The answer to a barrier.
#[derive(Debug, Clone, Serialize)]
pub struct BarrierReport {
    pub method: BarrierMethod,
    /// The content generation once caught up.
    pub generation: u64,
    pub waited_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("the sync has stopped")]
    Stopped,
    #[error("no answer from the sync within {0:?}")]
    Timeout(Duration),
    #[error("sync failed: {0}")]
    Failed(String),
}

/// Requests to the sync thread.
pub enum Msg {
    Fs(notify::Result<notify::Event>),
    Barrier(Sender<Result<BarrierReport, String>>),
    Reload(Sender<Result<ReconcileReport, String>>),
    Shutdown,
}

/// The handle. See the module docs.
#[derive(Clone)]
pub struct SyncHandle {
    pub(crate) tx: Sender<Msg>,
    pub(crate) shared: Arc<Shared>,
}

impl SyncHandle {
    pub fn status(&self) -> Status {
        let s = &self.shared;
        let c = &s.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Status {
            phase: s.phase.lock().map(|p| *p).unwrap_or(Phase::Failed),
            mode: s.mode.lock().map(|m| *m).unwrap_or(WatchMode::None),
            root: s.root.display().to_string(),
            db: s.db.display().to_string(),
            uptime_ms: s.started.elapsed().as_millis() as u64,
            files: g(&c.files),
            documents: g(&c.documents),
            errors: g(&c.errors),
            pending: g(&c.pending),
            generation: g(&c.generation),
            events: g(&c.events),
            batches: g(&c.batches),
            changes: g(&c.changes),
            retries: g(&c.retries),
            reconciles: g(&c.reconciles),
            barriers: g(&c.barriers),
            last_sync_unix_ms: g(&c.last_sync_unix_ms),
            last_lag_ms: g(&c.last_lag_ms),
        }
    }

    /// Current sync errors (parse, duplicate id, I/O), ordered by path.
    pub fn errors(&self) -> Vec<SyncErrorRecord> {
        self.shared
            .errors
            .read()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// The raw counters (for a metrics exporter).
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    pub fn db_path(&self) -> &std::path::Path {
        &self.shared.db
    }

    pub fn root(&self) -> &std::path::Path {
        &self.shared.root
    }

    /// Waits until everything written to disk before this call is in the database.
    pub fn barrier(&self, timeout: Duration) -> Result<BarrierReport, HandleError> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Msg::Barrier(tx))
            .map_err(|_| HandleError::Stopped)?;
        match rx.recv_timeout(timeout) {
            Ok(r) => r.map_err(HandleError::Failed),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(HandleError::Timeout(timeout)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(HandleError::Stopped),
        }
    }

    /// Runs a full reconcile now (manual reload / rescan) and reports what changed.
    pub fn reload(&self, timeout: Duration) -> Result<ReconcileReport, HandleError> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Msg::Reload(tx))
            .map_err(|_| HandleError::Stopped)?;
        match rx.recv_timeout(timeout) {
            Ok(r) => r.map_err(HandleError::Failed),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(HandleError::Timeout(timeout)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(HandleError::Stopped),
        }
    }

    /// Asks the sync to stop: pending changes are applied, the WAL checkpointed.
    pub fn shutdown(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
        let _ = self.tx.send(Msg::Shutdown);
    }
}
