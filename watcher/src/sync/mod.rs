//! Keeping the database equal to the files.
//!
//! - [`library`]: paths, and which ones are promptshelf's own (never synced).
//! - [`walk`] / [`observe`]: what is on disk.
//! - [`engine`]: the in-memory picture + database, and applying a batch atomically
//!   (planned outside the transaction, then written).
//! - [`report`]: what a batch and a reconcile did, and progress (shared by the engine
//!   and the handle, so neither imports the other).
//! - [`live`]: native events or polling, per-path debounce, barrier, periodic reconcile.
//! - [`handle`]: [`SyncHandle`], the in-process API for the admin routes.
//! - [`open`]: opening the database, moving a damaged one aside.
//! - [`search_hook`]: where the search index plugs in.
//! - [`feed`]: one change event per committed batch, for `GET /v1/events`.
//! - [`checkpointer`]: folding the WAL into the database file off the sync thread.
//! - [`progress`]: the progress bar of long reconciles.

pub mod checkpointer;
pub mod engine;
pub mod feed;
pub mod handle;
pub mod library;
pub mod live;
pub mod observe;
pub mod open;
pub mod progress;
pub mod report;
pub mod search_hook;
pub mod walk;

#[allow(unused_imports)] // the public surface for the local server
pub use engine::Engine;
#[allow(unused_imports)]
pub use handle::{
    BarrierMethod, BarrierReport, HandleError, Phase, Shared, Status, SyncHandle, WatchMode,
};
pub use library::Library;
#[allow(unused_imports)]
pub use report::{BatchReport, ReconcileReport};

use crate::config::Config;
use promptshelf_core::ParseOptions;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The search index the engine keeps in step with the documents.
pub fn search_hook() -> Box<dyn search_hook::SearchHook> {
    Box::new(search_hook::CoreSearch::default())
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Open(#[from] open::OpenError),
    #[error("database: {0}")]
    Store(#[from] promptshelf_store::Error),
    #[error("watcher: {0}")]
    Watch(#[from] notify::Error),
}

/// `fresh_build`: an absent database may be built beside its place and moved there
/// when the first reconcile ends (see [`open::open_or_build`]); only when nothing reads
/// the database during that reconcile.
fn engine_for(cfg: &Config, shared: &Arc<Shared>, fresh_build: bool) -> Result<Engine, SyncError> {
    let lib = Library::new(cfg.root.clone(), cfg.db.clone());
    let (store, fresh) = open::open_or_build(&lib, fresh_build)?;
    let opts = ParseOptions {
        max_bytes: cfg.max_file_bytes,
        schemas: cfg.schemas.clone(),
    };
    Ok(Engine::load(
        lib,
        store,
        fresh,
        Box::new(feed::FeedHook {
            inner: search_hook(),
            feed: shared.feed.clone(),
        }),
        opts,
        shared.clone(),
    )?)
}

/// One-shot sync: reconcile the database with the folder, checkpoint, return.
pub fn run_once(cfg: &Config) -> Result<(ReconcileReport, Status), SyncError> {
    let shared = Shared::new(cfg.root.clone(), cfg.db.clone());
    let (tx, _rx) = mpsc::channel();
    let handle = SyncHandle {
        tx,
        shared: shared.clone(),
    };
    shared.set_phase(Phase::InitialSync);
    let mut engine = engine_for(cfg, &shared, true)?;
    let bar = progress::for_config(cfg);
    let report = engine.reconcile(None, bar.as_ref(), &shared.cancel)?;
    engine.checkpoint()?;
    drop(engine);
    sync_history(cfg);
    shared.set_phase(Phase::Stopped);
    Ok((report, handle.status()))
}

/// How often `watch` looks at the git refs (a few small files; see
/// [`crate::history::refs_fingerprint`]).
pub const REF_POLL: Duration = Duration::from_millis(50);

/// Keeps the stored history current in `watch`: polls the git refs every [`REF_POLL`]
/// and, when HEAD or a label ref moves, reads only the new commits (a
/// [`crate::history::Tracker`]; the whole history again only after a force-push or a
/// reset, logged with the reason); when only the working files changed (a sync batch),
/// re-stores the drafts without reading git. Each store writes only the documents
/// whose versions changed. Stops when `stop` is set.
pub fn follow_history(
    cfg: Config,
    handle: SyncHandle,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::sync::atomic::Ordering;
        let (labels, _) = crate::history::configured_labels(&cfg.extra);
        // Past versions are not held to today's `[schemas]`.
        let opts = ParseOptions {
            max_bytes: cfg.max_file_bytes,
            ..Default::default()
        };
        let git_dir = crate::history::git_dir(&cfg.root);
        let mut tracker = crate::history::Tracker::new(&cfg.root, &labels, &opts, false);
        let mut stored: Option<crate::history::Stored> = None;
        let mut seen_refs: Option<Vec<u8>> = None;
        let mut seen_batches = u64::MAX;
        let mut read_once = false;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(REF_POLL);
            let status = handle.status();
            if !matches!(status.phase, Phase::Watching) {
                continue;
            }
            let refs = git_dir
                .as_deref()
                .map(|g| crate::history::refs_fingerprint(g, &labels));
            let refs_moved = seen_refs.as_ref() != refs.as_ref() || !read_once;
            if !refs_moved && status.batches == seen_batches {
                continue;
            }
            let started = std::time::Instant::now();
            let mut walk = None;
            if refs_moved {
                match tracker.update() {
                    Ok(u) => {
                        if let crate::history::Walk::Full { reason } = &u.walk {
                            if read_once {
                                tracing::warn!("history: reading every commit again: {reason}");
                            }
                        }
                        read_once = true;
                        walk = Some(u);
                    }
                    Err(e) => {
                        tracing::warn!("history not read: {e}");
                        seen_refs = refs;
                        continue;
                    }
                }
            }
            seen_refs = refs;
            seen_batches = status.batches;
            let result = promptshelf_store::Database::open(&cfg.db)
                .map_err(|e| crate::history::HistoryError::Git(e.to_string()))
                .and_then(|mut db| {
                    crate::history::store_into(
                        &cfg.root,
                        &mut db,
                        &labels,
                        tracker.history(),
                        &mut stored,
                    )
                });
            match result {
                Ok(s) => tracing::info!(
                    versions = s.versions,
                    drafts = s.drafts,
                    walk = %walk.as_ref().map(|u| u.walk.to_string()).unwrap_or_else(|| "drafts only".into()),
                    rebuilt = walk.as_ref().map(|u| u.documents).unwrap_or(0),
                    written = s.written,
                    ms = started.elapsed().as_millis() as u64,
                    "history updated"
                ),
                Err(e) => tracing::warn!("history not stored: {e}"),
            }
        }
    })
}

/// Reads the library's git history into the database (versions, labels; issue #15).
/// Never fails the sync: a history that cannot be read is logged, and the documents
/// stay served as they are.
pub fn sync_history(cfg: &Config) {
    let (labels, problems) = crate::history::configured_labels(&cfg.extra);
    for p in &problems {
        tracing::warn!("promptshelf.toml: {p}");
    }
    // Past versions are not held to today's `[schemas]`.
    let opts = ParseOptions {
        max_bytes: cfg.max_file_bytes,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let result = promptshelf_store::Database::open(&cfg.db)
        .map_err(|e| crate::history::HistoryError::Git(e.to_string()))
        .and_then(|mut db| {
            let s = crate::history::store_history(&cfg.root, &mut db, &labels, &opts);
            let _ = db.close_clean();
            s
        });
    match result {
        Ok(s) => {
            for (label, e) in &s.label_errors {
                tracing::warn!(label = %label, "{e}");
            }
            for w in &s.warnings {
                tracing::warn!("history: {w}");
            }
            if s.repo.shallow {
                tracing::warn!("history: shallow clone, the oldest versions are missing");
            }
            tracing::info!(
                documents = s.documents,
                versions = s.versions,
                drafts = s.drafts,
                commits = s.repo.commits,
                ms = started.elapsed().as_millis() as u64,
                "history read"
            );
        }
        Err(e) => tracing::warn!("history not read: {e}"),
    }
}

/// Starts `watch`: opens the database (recovering a damaged one), starts the watcher,
/// and hands the rest to a sync thread — initial reconcile, then live sync until
/// [`SyncHandle::shutdown`]. Errors that prevent starting at all are returned here.
///
/// `readers`: something (the local server) opens the database as soon as this returns,
/// so it must exist at its place from the start: no fresh build beside it.
pub fn start(
    cfg: &Config,
    readers: bool,
) -> Result<(SyncHandle, JoinHandle<Result<(), SyncError>>), SyncError> {
    let shared = Shared::new(cfg.root.clone(), cfg.db.clone());
    let (tx, rx) = mpsc::channel();
    let engine = engine_for(cfg, &shared, !readers)?;
    let opts = live::LiveOptions {
        debounce: cfg.debounce,
        max_wait: (cfg.debounce * 10).max(Duration::from_millis(500)),
        reconcile_every: cfg.reconcile_every,
        force_poll: cfg.force_poll,
        poll_interval: cfg.poll_interval,
        cookie_timeout: Duration::from_secs(2),
        config_file: cfg.file.clone(),
        schema_sources: cfg.schema_sources.clone(),
    };
    let mut live = live::Live::new(engine, rx, tx.clone(), shared.clone(), opts)?;
    let handle = SyncHandle {
        tx,
        shared: shared.clone(),
    };
    let bar = progress::for_config(cfg);
    let thread = std::thread::Builder::new()
        .name("promptshelf-sync".into())
        .spawn(move || {
            shared.set_phase(Phase::InitialSync);
            let result = live
                .engine_mut()
                .reconcile(None, bar.as_ref(), &shared.cancel)
                .and_then(|_| live.engine_mut().prepare_live())
                .map_err(SyncError::from)
                .and_then(|_| {
                    shared.set_phase(Phase::Watching);
                    tracing::info!("initial sync done; watching for changes");
                    live.run().map_err(SyncError::from)
                });
            shared.set_phase(if result.is_ok() {
                Phase::Stopped
            } else {
                Phase::Failed
            });
            result
        })
        .map_err(|e| SyncError::Watch(notify::Error::io(e)))?;
    Ok((handle, thread))
}

#[cfg(test)]
mod tests;
