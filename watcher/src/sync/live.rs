//! Live sync: native file events (or polling), debounced per path, applied in batches;
//! the sync barrier; periodic and on-demand reconciles; graceful stop.
//!
//! One thread owns the [`Engine`] and receives everything through one channel —
//! file events from `notify` and requests from [`SyncHandle`](super::SyncHandle)s — so
//! the order of events is the order of processing, which is what makes the cookie
//! barrier sound: once the cookie's own event is received, every event of an earlier
//! write has been received too.

use super::engine::{backoff, Engine};
use super::handle::{BarrierMethod, BarrierReport, Msg, Shared, WatchMode};
use super::observe::Observed;
use super::report::Quiet;
use super::walk::walk;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of the live loop.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Quiet time a path needs before it is read.
    pub debounce: Duration,
    /// A path that never goes quiet is read anyway after this long.
    pub max_wait: Duration,
    pub reconcile_every: Option<Duration>,
    pub force_poll: bool,
    pub poll_interval: Duration,
    /// How long a barrier waits for its cookie before reconciling instead.
    pub cookie_timeout: Duration,
    /// The TOML file the settings came from: it and the schema files it names are
    /// watched, and `[schemas]` is read again when one of them changes.
    pub config_file: Option<PathBuf>,
    /// What the engine's schemas were compiled from.
    pub schema_sources: crate::schemas::Sources,
}

/// Unreadable files are retried this many times (with backoff) before becoming I/O errors.
const MAX_ATTEMPTS: u32 = 6;

#[derive(Debug, Clone, Copy)]
struct Pending {
    first: Instant,
    last: Instant,
    due: Instant,
    attempts: u32,
    /// A folder walked again because it recently appeared (see [`FOLDER_RECHECK`]).
    recheck: bool,
}

/// notify's inotify backend watches a folder that appears (created, moved in, renamed)
/// only after it has delivered that batch of events, so a file written into it in that
/// moment makes no event at all. Such a folder is therefore walked once more, this long
/// after it appeared — or sooner, when a barrier asks, which keeps barriers sound.
const FOLDER_RECHECK: Duration = Duration::from_millis(250);

struct BarrierWait {
    cookie: PathBuf,
    reply: Sender<Result<BarrierReport, String>>,
    started: Instant,
    deadline: Instant,
    seen: bool,
}

pub struct Live {
    engine: Engine,
    rx: Receiver<Msg>,
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    opts: LiveOptions,
    watcher: Option<Box<dyn Watcher + Send>>,
    mode: WatchMode,
    pending: HashMap<PathBuf, Pending>,
    barriers: Vec<BarrierWait>,
    reloads: Vec<Sender<Result<super::report::ReconcileReport, String>>>,
    rescan: bool,
    switch_to_poll: bool,
    next_periodic: Option<Instant>,
    cookie_seq: u64,
    /// When the last live batch was applied, and since when the stored search index
    /// trails (see `Engine::flush_index`).
    last_batch: Instant,
    dirty_since: Option<Instant>,
    /// The config file and every schema file (canonical): an event on one of them
    /// schedules a schema reload at `schema_due`.
    schema_files: HashSet<PathBuf>,
    schema_due: Option<Instant>,
    /// Folders of schema files outside the library, watched on their own.
    schema_dirs: Vec<PathBuf>,
}

/// The stored search index is rewritten once live sync has been quiet this long...
const INDEX_FLUSH_IDLE: Duration = Duration::from_millis(100);
/// ...or, during a long stream of edits, at least this often (between two batches:
/// each store costs ~0.1 s, more under load, and one landing inside a 1,000-file burst
/// delays the whole burst by that much; at 1 s it did in one run out of two)...
const INDEX_FLUSH_MAX: Duration = Duration::from_secs(5);
/// ...and at the latest this long after it started to trail, pending edits or not.
const INDEX_FLUSH_CAP: Duration = Duration::from_secs(10);

impl Live {
    /// Starts watching `engine`'s library. Call before the initial reconcile so that
    /// nothing written during it is missed (its events wait in the channel).
    pub fn new(
        engine: Engine,
        rx: Receiver<Msg>,
        tx: Sender<Msg>,
        shared: Arc<Shared>,
        opts: LiveOptions,
    ) -> Result<Live, notify::Error> {
        let (watcher, mode) = make_watcher(
            &tx,
            engine.library().root(),
            opts.force_poll,
            opts.poll_interval,
        )?;
        shared.set_mode(mode);
        let next_periodic = opts.reconcile_every.map(|d| Instant::now() + d);
        let mut live = Live {
            engine,
            rx,
            tx,
            shared,
            opts,
            watcher: Some(watcher),
            mode,
            pending: HashMap::new(),
            barriers: Vec::new(),
            reloads: Vec::new(),
            rescan: false,
            switch_to_poll: false,
            next_periodic,
            cookie_seq: 0,
            last_batch: Instant::now(),
            dirty_since: None,
            schema_files: HashSet::new(),
            schema_due: None,
            schema_dirs: Vec::new(),
        };
        let sources = live.opts.schema_sources.clone();
        live.watch_schemas(&sources);
        Ok(live)
    }

    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Runs until a shutdown request, then applies what is pending and checkpoints.
    pub fn run(mut self) -> Result<(), promptshelf_store::Error> {
        loop {
            let now = Instant::now();
            let msg = match self.next_wake() {
                Some(t) => self.rx.recv_timeout(t.saturating_duration_since(now)),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let mut stop = false;
            match msg {
                Ok(m) => stop |= self.handle(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
            while let Ok(m) = self.rx.try_recv() {
                stop |= self.handle(m);
            }
            if stop {
                break;
            }
            self.tick()?;
            self.shared
                .counters
                .pending
                .store(self.pending.len() as u64, Ordering::Relaxed);
        }
        tracing::info!(
            pending = self.pending.len(),
            "stopping: applying pending changes"
        );
        // Stop receiving events first, then apply everything still pending.
        self.watcher = None;
        self.flush_all()?;
        for b in std::mem::take(&mut self.barriers) {
            self.answer(b, BarrierMethod::Cookie);
        }
        self.engine.checkpoint()?;
        Ok(())
    }

    fn next_wake(&self) -> Option<Instant> {
        let pending = self.pending.values().map(|p| p.due).min();
        let barrier = self.barriers.iter().map(|b| b.deadline).min();
        let index = self.index_flush_due();
        [pending, barrier, self.next_periodic, index, self.schema_due]
            .into_iter()
            .flatten()
            .min()
    }

    /// When to store the search index. Only while nothing is pending: right after a
    /// batch, the next edit still has its debounce ahead of it, which hides most of the
    /// write; a write started while an edit waits would delay that edit instead
    /// (measured: the 1 s forced store was the save-to-visible p95). Under a stream
    /// that never leaves the queue empty, it is stored after `INDEX_FLUSH_CAP` anyway.
    fn index_flush_due(&self) -> Option<Instant> {
        self.dirty_since.map(|since| {
            if self.pending.is_empty() {
                (self.last_batch + INDEX_FLUSH_IDLE).min(since + INDEX_FLUSH_MAX)
            } else {
                since + INDEX_FLUSH_CAP
            }
        })
    }

    /// Takes one message; true means stop.
    fn handle(&mut self, m: Msg) -> bool {
        match m {
            Msg::Fs(Ok(ev)) => self.on_event(ev),
            Msg::Fs(Err(e)) => {
                if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
                    tracing::warn!("the OS file-watch limit is reached (fs.inotify.max_user_watches); switching to polling");
                    self.switch_to_poll = true;
                    self.rescan = true;
                } else if matches!(e.kind, notify::ErrorKind::Io(_)) {
                    tracing::warn!(error = %e, "watcher error; scheduling a full reconcile");
                    self.rescan = true;
                } else {
                    tracing::debug!(error = %e, "watcher notice");
                }
            }
            Msg::Barrier(reply) => self.start_barrier(reply),
            Msg::Reload(reply) => self.reloads.push(reply),
            Msg::Shutdown => return true,
        }
        false
    }

    fn on_event(&mut self, ev: notify::Event) {
        if ev.need_rescan() {
            tracing::warn!("the watcher lost events (queue overflow); scheduling a full reconcile");
            self.rescan = true;
        }
        // Opening or reading a file (including our own reads) is not a change.
        if let EventKind::Access(a) = ev.kind {
            if a != AccessKind::Close(AccessMode::Write) {
                return;
            }
        }
        let now = Instant::now();
        let mut counted = false;
        for p in ev.paths {
            if let Some(b) = self.barriers.iter_mut().find(|b| b.cookie == p) {
                b.seen = true;
                continue;
            }
            if self.schema_files.contains(&p) {
                // Saved again and again while being edited: read once it is quiet.
                self.schema_due = Some(now + self.opts.debounce);
            }
            if self.engine.library().is_own(&p) {
                continue;
            }
            if !counted {
                self.shared.counters.events.fetch_add(1, Ordering::Relaxed);
                counted = true;
            }
            let debounce = self.opts.debounce;
            let max_wait = self.opts.max_wait;
            self.pending
                .entry(p)
                .and_modify(|e| {
                    e.last = now;
                    e.due = (now + debounce).min(e.first + max_wait);
                    e.attempts = 0;
                    e.recheck = false;
                })
                .or_insert(Pending {
                    first: now,
                    last: now,
                    due: now + debounce,
                    attempts: 0,
                    recheck: false,
                });
        }
    }

    fn start_barrier(&mut self, reply: Sender<Result<BarrierReport, String>>) {
        let started = Instant::now();
        let own = self.engine.library().own_dir();
        if self.mode == WatchMode::Native && own.is_dir() {
            self.cookie_seq += 1;
            let cookie = own.join(format!(
                "sync-cookie-{}-{}",
                std::process::id(),
                self.cookie_seq
            ));
            if std::fs::write(&cookie, b"").is_ok() {
                self.barriers.push(BarrierWait {
                    cookie,
                    reply,
                    started,
                    deadline: started + self.opts.cookie_timeout,
                    seen: false,
                });
                return;
            }
        }
        let r = self
            .flush_all()
            .and_then(|_| self.engine.reconcile(None, &Quiet, &self.shared.cancel))
            .map_err(|e| e.to_string());
        self.shared
            .counters
            .barriers
            .fetch_add(1, Ordering::Relaxed);
        let _ = reply.send(r.map(|_| BarrierReport {
            method: BarrierMethod::Reconcile,
            generation: self.shared.counters.generation.load(Ordering::Relaxed),
            waited_ms: started.elapsed().as_millis() as u64,
        }));
    }

    fn answer(&self, b: BarrierWait, method: BarrierMethod) {
        let _ = std::fs::remove_file(&b.cookie);
        self.shared
            .counters
            .barriers
            .fetch_add(1, Ordering::Relaxed);
        let _ = b.reply.send(Ok(BarrierReport {
            method,
            generation: self.shared.counters.generation.load(Ordering::Relaxed),
            waited_ms: b.started.elapsed().as_millis() as u64,
        }));
    }

    fn tick(&mut self) -> Result<(), promptshelf_store::Error> {
        let now = Instant::now();
        if self.switch_to_poll {
            self.switch_to_poll = false;
            self.watcher = None;
            match make_watcher(
                &self.tx,
                self.engine.library().root(),
                true,
                self.opts.poll_interval,
            ) {
                Ok((w, m)) => {
                    self.watcher = Some(w);
                    self.mode = m;
                    self.shared.set_mode(m);
                    let dirs = std::mem::take(&mut self.schema_dirs);
                    for d in dirs {
                        self.watch_dir(d);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot poll the library either; only periodic reconciles remain")
                }
            }
        }
        // Barriers whose cookie came back: everything before them is received.
        if self.barriers.iter().any(|b| b.seen) {
            self.flush_all()?;
            self.flush_index()?;
            let (done, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.barriers)
                .into_iter()
                .partition(|b| b.seen);
            self.barriers = rest;
            for b in done {
                self.answer(b, BarrierMethod::Cookie);
            }
        }
        if self.barriers.iter().any(|b| b.deadline <= now) {
            tracing::warn!("barrier cookie did not come back in time; reconciling instead");
            self.flush_all()?;
            self.engine.reconcile(None, &Quiet, &self.shared.cancel)?;
            self.flush_index()?;
            let (late, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.barriers)
                .into_iter()
                .partition(|b| b.deadline <= now);
            self.barriers = rest;
            for b in late {
                self.answer(b, BarrierMethod::Reconcile);
            }
        }
        let due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        if !due.is_empty() {
            let items = due
                .into_iter()
                .filter_map(|k| self.pending.remove(&k).map(|p| (k, p)))
                .collect();
            self.process(items)?;
        }
        if self.schema_due.is_some_and(|t| t <= now) {
            self.schema_due = None;
            self.reload_schemas()?;
        }
        if self.index_flush_due().is_some_and(|t| t <= Instant::now()) {
            self.flush_index()?;
        }
        let periodic = self.next_periodic.is_some_and(|t| t <= now);
        if self.rescan || periodic || !self.reloads.is_empty() {
            self.rescan = false;
            if let Some(every) = self.opts.reconcile_every {
                self.next_periodic = Some(now + every);
            }
            let r = self
                .engine
                .reconcile(None, &Quiet, &self.shared.cancel)
                .map_err(|e| e.to_string());
            for reply in std::mem::take(&mut self.reloads) {
                let _ = reply.send(r.clone());
            }
        }
        Ok(())
    }

    /// Remembers which files hold the schemas (and the config file), and watches the
    /// folders of those outside the library, which the library's watch does not cover.
    fn watch_schemas(&mut self, sources: &crate::schemas::Sources) {
        let Some(config) = self.opts.config_file.clone() else {
            return;
        };
        let config = std::fs::canonicalize(&config).unwrap_or(config);
        let mut files = sources.files();
        files.push(config);
        let root = self.engine.library().root().to_path_buf();
        for f in &files {
            if let Some(dir) = f.parent() {
                if !dir.starts_with(&root) && !self.schema_dirs.iter().any(|d| d == dir) {
                    self.watch_dir(dir.to_path_buf());
                }
            }
        }
        self.schema_files = files.into_iter().collect();
    }

    fn watch_dir(&mut self, dir: PathBuf) {
        if let Some(w) = self.watcher.as_mut() {
            match w.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.schema_dirs.push(dir),
                Err(e) => tracing::warn!(
                    dir = %dir.display(),
                    error = %e,
                    "cannot watch this schema folder; edits there need a restart"
                ),
            }
        }
    }

    /// Reads `[schemas]` again after an edit of the config file or a schema file. A
    /// collection whose schema documents changed is validated again (see
    /// [`Engine::revalidate`]); a schema that no longer loads is logged and the previous
    /// one stays in force (the documents are not all turned into errors by a typo).
    fn reload_schemas(&mut self) -> Result<(), promptshelf_store::Error> {
        let Some(file) = self.opts.config_file.clone() else {
            return Ok(());
        };
        let (schemas, sources) = match crate::config::reload_schemas(&file) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("{e}; documents stay checked against the schemas read before");
                return Ok(());
            }
        };
        let old = &self.opts.schema_sources;
        let personas = old.personas != sources.personas;
        let prompts = old.prompts != sources.prompts;
        self.watch_schemas(&sources);
        self.opts.schema_sources = sources;
        if !personas && !prompts {
            return Ok(());
        }
        let started = Instant::now();
        let report = self.engine.revalidate(schemas, personas, prompts)?;
        self.last_batch = Instant::now();
        if self.engine.index_dirty() && self.dirty_since.is_none() {
            self.dirty_since = Some(self.last_batch);
        }
        tracing::info!(
            personas,
            prompts,
            upserted = report.upserted,
            errors = report.errors_set,
            ms = started.elapsed().as_millis() as u64,
            "schemas changed; documents validated again"
        );
        Ok(())
    }

    fn flush_index(&mut self) -> Result<(), promptshelf_store::Error> {
        self.dirty_since = None;
        self.engine.flush_index()
    }

    /// Applies every pending path now, debounce or not (barriers, shutdown).
    fn flush_all(&mut self) -> Result<(), promptshelf_store::Error> {
        // Unreadable paths are requeued by `process`; bound the loop. Folder rechecks
        // scheduled by this very flush stay pending: they exist to look again later.
        let started = Instant::now();
        for _ in 0..MAX_ATTEMPTS + 1 {
            let keys: Vec<PathBuf> = self
                .pending
                .iter()
                .filter(|(_, p)| !(p.recheck && p.first >= started))
                .map(|(k, _)| k.clone())
                .collect();
            if keys.is_empty() {
                break;
            }
            let items = keys
                .into_iter()
                .filter_map(|k| self.pending.remove(&k).map(|p| (k, p)))
                .collect();
            self.process(items)?;
        }
        // A schema edit before the barrier counts as applied once the barrier returns.
        if self.schema_due.take().is_some() {
            self.reload_schemas()?;
        }
        Ok(())
    }

    /// Turns due paths (files or folders, present or gone) into one batch.
    fn process(&mut self, items: Vec<(PathBuf, Pending)>) -> Result<(), promptshelf_store::Error> {
        let lib = self.engine.library().clone();
        let mut gone: Vec<String> = Vec::new();
        let mut to_read: Vec<String> = Vec::new();
        let mut origin: HashMap<String, (PathBuf, Pending)> = HashMap::new();
        let mut last_event: Option<Instant> = None;
        let mut rechecks: Vec<PathBuf> = Vec::new();
        for (abs, p) in items {
            if !p.recheck {
                last_event = last_event.max(Some(p.last));
            }
            let Some(rel) = lib.relative(&abs) else {
                if abs == lib.root() {
                    self.rescan = true;
                }
                continue;
            };
            match std::fs::symlink_metadata(&abs) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if self.engine.files().contains_key(&rel) {
                        gone.push(rel);
                    } else {
                        // Maybe a folder: everything known under it is gone.
                        let prefix = format!("{rel}/");
                        gone.extend(
                            self.engine
                                .files()
                                .keys()
                                .filter(|k| k.starts_with(&prefix))
                                .cloned(),
                        );
                    }
                }
                Err(e) => {
                    tracing::debug!(path = %abs.display(), error = %e, "cannot stat; will retry");
                    self.requeue(abs, p);
                }
                Ok(m) if m.is_dir() => {
                    let hidden = abs
                        .file_name()
                        .is_some_and(|n| n.as_encoded_bytes().first() == Some(&b'.'));
                    if hidden || lib.is_own(&abs) {
                        continue;
                    }
                    if !p.recheck {
                        rechecks.push(abs.clone());
                    }
                    let found = walk(&lib, &abs);
                    let prefix = format!("{rel}/");
                    let present: std::collections::HashSet<&str> =
                        found.iter().map(|f| f.rel.as_str()).collect();
                    gone.extend(
                        self.engine
                            .files()
                            .keys()
                            .filter(|k| {
                                (k.starts_with(&prefix) && !present.contains(k.as_str()))
                                    || **k == rel
                            })
                            .cloned(),
                    );
                    for f in found {
                        if self.engine.needs_read(&f.rel, f.stat) {
                            to_read.push(f.rel);
                        }
                    }
                }
                Ok(_) => {
                    if let Some(rel) = lib.candidate(&abs) {
                        origin.insert(rel.clone(), (abs, p));
                        to_read.push(rel);
                    }
                }
            }
        }
        let now = Instant::now();
        for abs in rechecks {
            self.pending.entry(abs).or_insert(Pending {
                first: now,
                last: now,
                due: now + FOLDER_RECHECK,
                attempts: 0,
                recheck: true,
            });
        }
        to_read.sort();
        to_read.dedup();
        gone.sort();
        gone.dedup();
        let observed = self.engine.observe_many(&to_read, false);
        let mut batch: Vec<(String, Observed)> =
            gone.into_iter().map(|g| (g, Observed::Gone)).collect();
        for (rel, o) in observed {
            if matches!(o, Observed::Unreadable { .. }) {
                if let Some((abs, p)) = origin.remove(&rel) {
                    if p.attempts + 1 < MAX_ATTEMPTS {
                        self.shared.counters.retries.fetch_add(1, Ordering::Relaxed);
                        self.requeue(abs, p);
                        continue;
                    }
                }
            }
            batch.push((rel, o));
        }
        if batch.is_empty() {
            return Ok(());
        }
        let report = self.engine.apply(batch)?;
        self.last_batch = Instant::now();
        if self.engine.index_dirty() && self.dirty_since.is_none() {
            self.dirty_since = Some(self.last_batch);
        }
        if let Some(t) = last_event {
            self.shared
                .counters
                .last_lag_ms
                .store(t.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
        if report.upserted + report.removed + report.errors_set > 0 {
            tracing::info!(
                upserted = report.upserted,
                removed = report.removed,
                errors = report.errors_set,
                stale = report.stale,
                generation = report.generation,
                "synced"
            );
        }
        Ok(())
    }

    fn requeue(&mut self, abs: PathBuf, mut p: Pending) {
        p.attempts += 1;
        if p.attempts >= MAX_ATTEMPTS {
            tracing::warn!(path = %abs.display(), "giving up on a path that cannot be examined");
            return;
        }
        p.due = Instant::now() + backoff(p.attempts);
        self.pending.entry(abs).or_insert(p);
    }
}

/// Native watching when possible; polling when forced or when native watching fails
/// (e.g. the inotify watch limit), with a warning that says so.
fn make_watcher(
    tx: &Sender<Msg>,
    root: &Path,
    force_poll: bool,
    poll_interval: Duration,
) -> Result<(Box<dyn Watcher + Send>, WatchMode), notify::Error> {
    let handler = |tx: Sender<Msg>| {
        move |res: notify::Result<notify::Event>| {
            let _ = tx.send(Msg::Fs(res));
        }
    };
    if !force_poll {
        let native =
            notify::RecommendedWatcher::new(handler(tx.clone()), notify::Config::default())
                .and_then(|mut w| w.watch(root, RecursiveMode::Recursive).map(|_| w));
        match native {
            Ok(w) => {
                tracing::info!(root = %root.display(), "watching (native events)");
                return Ok((Box::new(w), WatchMode::Native));
            }
            Err(e) => tracing::warn!(
                error = %e,
                "native file watching is unavailable; falling back to polling every {} ms \
                 (raise fs.inotify.max_user_watches to avoid this)",
                poll_interval.as_millis()
            ),
        }
    }
    let mut w = notify::PollWatcher::new(
        handler(tx.clone()),
        notify::Config::default().with_poll_interval(poll_interval),
    )?;
    w.watch(root, RecursiveMode::Recursive)?;
    tracing::info!(root = %root.display(), interval_ms = poll_interval.as_millis() as u64, "watching (polling)");
    Ok((Box::new(w), WatchMode::Poll))
}
