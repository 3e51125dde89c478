//! The sync engine: the in-memory picture of the library (one record per file, which
//! files claim which id) plus the database, and the one operation that changes both —
//! applying a batch of observations in a single transaction (`apply.rs`: planned first,
//! reading whatever must be read, then written).
//!
//! Rules it keeps:
//! - a file that parses provides its document, unless a lexicographically earlier path
//!   claims the same id (then it is a `duplicate_id` sync error; core's
//!   `library::Claims` and `duplicate_message`, the same rule and wording as `check`);
//! - a file that stops parsing keeps its last good document, marked `stale`, and gets a
//!   `parse` sync error; deleting the file removes both;
//! - documents, file records, errors and the content generation change in the same
//!   transaction; the in-memory search index right after it, and its stored blob later
//!   (see [`Engine::flush_index`]).

mod apply;

use super::checkpointer::Checkpointer;
use super::handle::Shared;
use super::library::Library;
use super::observe::{observe, Observed};
use super::report::{BatchReport, Progress, Quiet, ReconcileReport};
use super::search_hook::SearchHook;
use super::walk::{walk, Found, Stat};
use promptshelf_core::library::Claims;
use promptshelf_core::ParseOptions;
use promptshelf_store::fresh::{Finished, FreshBuild};
use promptshelf_store::{read, Database, FileRecord};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Observations applied per transaction during a reconcile: big enough to amortise
/// commits (no fsync per commit in WAL mode), small enough that applying starts soon
/// after reading does (the first chunk is read before anything overlaps) and to bound
/// memory on 100k-file libraries.
const CHUNK: usize = 1024;

/// The first chunk is smaller: nothing is applied until it has been read, so the
/// writer starts sooner (about 40 ms of a 10,000-document initial sync were spent
/// waiting for a first chunk of [`CHUNK`] files).
const FIRST_CHUNK: usize = 256;

pub struct Engine {
    lib: Library,
    store: Database,
    files: HashMap<String, FileRecord>,
    /// Which files parse to which id (the first path wins). Derived from `files`;
    /// built by the first batch (see [`Engine::ensure_claims`]), so a restart on an
    /// unchanged library, which applies nothing, never builds it.
    claims: Claims,
    claims_built: bool,
    search: Box<dyn SearchHook>,
    opts: ParseOptions,
    shared: Arc<Shared>,
    /// The in-memory search index has changes the stored blob lacks.
    index_dirty: bool,
    /// Whether `search` holds the index yet. Loading it costs more than a restart on an
    /// unchanged library does otherwise, so it waits for the first batch that changes
    /// something (or [`Engine::ensure_index`]).
    index_loaded: bool,
    /// Whether `documents` may hold rows of paths without a file record (a database
    /// written by another tool, e.g. the seed's); checked once, on the first batch.
    /// Without such rows, a path with no record owns no documents.
    orphan_rows: Option<bool>,
    /// Checkpoints the WAL in the background (see [`super::checkpointer`]).
    checkpointer: Option<Checkpointer>,
    /// The database does not exist yet and is being built beside it (see
    /// [`promptshelf_store::fresh`]); the first reconcile moves it into place.
    fresh: Option<FreshBuild>,
    /// `sync_errors` is known to be empty, so a file that parses has no error row to
    /// clear (an initial sync otherwise ran two `DELETE`s per file for nothing).
    no_errors: bool,
}

impl Engine {
    /// Loads the file records and the search index from an open, migrated store, or
    /// starts from the fresh build `fresh` (then `store` is the build's).
    pub fn load(
        lib: Library,
        store: Database,
        fresh: Option<FreshBuild>,
        search: Box<dyn SearchHook>,
        opts: ParseOptions,
        shared: Arc<Shared>,
    ) -> Result<Engine, promptshelf_store::Error> {
        let mut e = Engine {
            lib,
            store,
            files: HashMap::new(),
            claims: Claims::default(),
            claims_built: false,
            search,
            opts,
            shared,
            index_dirty: false,
            index_loaded: false,
            orphan_rows: None,
            checkpointer: None,
            fresh,
            no_errors: false,
        };
        if e.fresh.is_none() {
            e.prepare_wal()?;
        }
        e.reload_state()?;
        e.ensure_store_id()?;
        e.publish()?;
        Ok(e)
    }

    /// Settings of the WAL-mode database (the target, not a fresh build).
    fn prepare_wal(&mut self) -> Result<(), promptshelf_store::Error> {
        self.store
            .conn()
            .pragma_update(None, "wal_autocheckpoint", 0)?;
        // A reconcile chunk writes ~5 MB of pages in one transaction; with SQLite's
        // default 2 MB page cache, dirty pages were spilled to the WAL mid-transaction
        // and written again at commit (4% of an initial sync's profile). The cache
        // grows only as pages are used, so a small library costs nothing more.
        self.store
            .conn()
            .pragma_update(None, "cache_size", -8 * 1024)?;
        self.checkpointer = Some(Checkpointer::start(self.lib.db(), Duration::from_secs(1)));
        Ok(())
    }

    /// Moves a fresh build into place and continues on the target in WAL mode. When
    /// someone else created the target meanwhile, that database is reconciled instead.
    fn finish_fresh(
        &mut self,
        progress: &dyn Progress,
        cancel: &AtomicBool,
    ) -> Result<(), promptshelf_store::Error> {
        let Some(build) = self.fresh.take() else {
            return Ok(());
        };
        let t = Instant::now();
        let outcome = build.finish(&mut self.store)?;
        self.prepare_wal()?;
        tracing::debug!(
            ms = t.elapsed().as_secs_f64() * 1e3,
            ?outcome,
            "new database moved into place"
        );
        if outcome == Finished::Discarded {
            tracing::warn!(
                db = %self.lib.db().display(),
                "the database was created by someone else during the initial sync; reconciling it"
            );
            self.reload_state()?;
            self.orphan_rows = None;
            self.reconcile(None, progress, cancel)?;
        }
        Ok(())
    }

    pub fn library(&self) -> &Library {
        &self.lib
    }

    /// Known file records (library-relative path → record).
    pub fn files(&self) -> &HashMap<String, FileRecord> {
        &self.files
    }

    /// Rebuilds the in-memory picture from the database (at start, and after a failed
    /// transaction so memory never disagrees with what was committed).
    fn reload_state(&mut self) -> Result<(), promptshelf_store::Error> {
        self.index_dirty = false;
        self.index_loaded = false;
        self.claims.clear();
        self.claims_built = false;
        let records = read::all_files(self.store.conn())?;
        self.files.clear();
        self.files.reserve(records.len());
        self.files
            .extend(records.into_iter().map(|f| (f.path.clone(), f)));
        self.no_errors = !read::has_sync_errors(self.store.conn())?;
        Ok(())
    }

    /// Builds `claims` from the file records if this session has not yet.
    fn ensure_claims(&mut self) {
        if self.claims_built {
            return;
        }
        self.claims.clear();
        for f in self.files.values() {
            if let Some(id) = &f.doc_id {
                self.claims.claim(id, &f.path);
            }
        }
        self.claims_built = true;
    }

    /// Gets ready for live edits: the index loaded, and ready to remove and replace
    /// documents cheaply (per-document bookkeeping a one-shot sync does without).
    pub fn prepare_live(&mut self) -> Result<(), promptshelf_store::Error> {
        self.ensure_index()?;
        self.search.prepare_updates();
        Ok(())
    }

    /// Loads the search index if it is not in memory yet: the stored blob when it
    /// reflects the current documents, else a rebuild from them (which is stored).
    pub fn ensure_index(&mut self) -> Result<(), promptshelf_store::Error> {
        if self.index_loaded {
            return Ok(());
        }
        let t = Instant::now();
        let stored = read::search_index(self.store.conn())?;
        let generation = read::generation(self.store.conn())?;
        let usable = stored
            .as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, b)| b.as_slice());
        if !usable.is_some_and(|b| self.search.load(b)) {
            // Missing, unreadable, or trailing the documents (a crash before it was
            // stored): rebuild from the documents and store it.
            let docs = read::all_documents(self.store.conn())?;
            self.search
                .rebuild(docs.iter().filter_map(|d| d.document().ok()).collect());
            if let Some(bytes) = self.search.to_bytes() {
                self.store
                    .write(|w| w.put_search_index(generation, &bytes))?;
            }
        }
        self.index_loaded = true;
        tracing::debug!(ms = t.elapsed().as_secs_f64() * 1e3, "search index loaded");
        Ok(())
    }

    /// Gives a new database a random-enough identity, so ETags built from
    /// (store id, generation) never repeat after a database is rebuilt.
    fn ensure_store_id(&mut self) -> Result<(), promptshelf_store::Error> {
        if read::meta(self.store.conn(), META_STORE_ID)?.is_none() {
            let seed = format!(
                "{}:{}:{}",
                super::observe::now_ns(),
                std::process::id(),
                self.lib.root().display()
            );
            let id = promptshelf_core::ContentHash::of(seed.as_bytes()).0[..16].to_owned();
            let root = self.lib.root().display().to_string();
            self.store.write(|w| {
                w.set_meta(META_STORE_ID, &id)?;
                w.set_meta(read::META_LIBRARY_ROOT, &root)
            })?;
        }
        Ok(())
    }

    /// Compares the disk under `scope` (the whole library when `None`) with the
    /// records and applies the difference. Returns early, between chunks, once
    /// `cancel` is set (shutdown during a long initial sync).
    pub fn reconcile(
        &mut self,
        scope: Option<&Path>,
        progress: &dyn Progress,
        cancel: &AtomicBool,
    ) -> Result<ReconcileReport, promptshelf_store::Error> {
        let started = Instant::now();
        let dir = scope.unwrap_or(self.lib.root()).to_path_buf();
        let found = walk(&self.lib, &dir);
        let prefix = self.lib.relative(&dir).map(|p| format!("{p}/"));
        // One lookup per file found: whether it must be read, and whether it has a
        // record. Every path found is under `prefix`, so when as many found paths have
        // a record as there are records under `prefix`, no record is gone (the usual
        // case, and it needs no set of the paths on disk).
        let mut known = 0usize;
        let mut to_read: Vec<&Found> = Vec::new();
        for f in &found {
            match self.files.get(&f.rel) {
                Some(rec) => {
                    known += 1;
                    if rec.racy || rec.size != f.stat.size || rec.mtime_ns != f.stat.mtime_ns {
                        to_read.push(f);
                    }
                }
                None => to_read.push(f),
            }
        }
        let in_scope = |k: &&String| prefix.as_deref().is_none_or(|p| k.starts_with(p));
        let recorded = match prefix {
            None => self.files.len(),
            Some(_) => self.files.keys().filter(in_scope).count(),
        };
        let gone: Vec<String> = if known == recorded {
            Vec::new()
        } else {
            let on_disk: HashSet<&str> = found.iter().map(|f| f.rel.as_str()).collect();
            self.files
                .keys()
                .filter(in_scope)
                .filter(|k| !on_disk.contains(k.as_str()))
                .cloned()
                .collect()
        };
        let mut report = ReconcileReport {
            files: found.len(),
            read: to_read.len(),
            gone: gone.len(),
            ..Default::default()
        };
        progress.start(to_read.len() as u64);
        // A long reconcile commits chunk after chunk: fold the WAL in once, at the end.
        let _hold = (to_read.len() > CHUNK)
            .then(|| self.checkpointer.as_ref().map(Checkpointer::hold))
            .flatten();
        if !gone.is_empty() {
            let obs = gone.into_iter().map(|p| (p, Observed::Gone)).collect();
            let r = self.apply(obs)?;
            report.removed += r.removed;
        }
        // Reading and parsing the next chunk (on other threads) overlaps applying
        // this one: the chunks are disjoint, so the records a chunk is compared with
        // are settled before it is read.
        let (first, rest) = to_read.split_at(to_read.len().min(FIRST_CHUNK));
        let chunks: Vec<Vec<String>> = std::iter::once(first)
            .chain(rest.chunks(CHUNK))
            .filter(|c| !c.is_empty())
            .map(|c| c.iter().map(|f| f.rel.clone()).collect())
            .collect();
        std::thread::scope(|scope| -> Result<(), promptshelf_store::Error> {
            let mut next = chunks
                .first()
                .map(|rels| self.spawn_observe(scope, rels.clone()));
            for i in 0..chunks.len() {
                let Some(handle) = next.take() else { break };
                let t = Instant::now();
                let obs = handle.join().unwrap_or_default();
                tracing::debug!(
                    files = obs.len(),
                    waited_ms = t.elapsed().as_secs_f64() * 1e3,
                    "read and parsed"
                );
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                next = chunks
                    .get(i + 1)
                    .map(|rels| self.spawn_observe(scope, rels.clone()));
                let n = obs.len();
                let r = self.apply(obs)?;
                if let Some(build) = &self.fresh {
                    build.written();
                }
                report.upserted += r.upserted;
                report.removed += r.removed;
                progress.advance(n as u64);
            }
            Ok(())
        })?;
        self.flush_index()?;
        // Also after a cancel: what was built is consistent, the next start goes on.
        self.finish_fresh(progress, cancel)?;
        progress.finish();
        report.millis = started.elapsed().as_millis() as u64;
        self.shared
            .counters
            .reconciles
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            files = report.files,
            read = report.read,
            gone = report.gone,
            upserted = report.upserted,
            removed = report.removed,
            ms = report.millis,
            "reconciled"
        );
        Ok(report)
    }

    /// New user schemas (`[schemas]` edited during `watch`): every file of the
    /// collections whose schema changed (`personas`, `prompts`) is parsed again under
    /// them. A document that now violates becomes a sync error (its last good version
    /// stays served, as for any edit); one that failed and now passes is served again.
    /// Files that passed and still pass are left alone, so an edit that changes nothing
    /// writes nothing.
    pub fn revalidate(
        &mut self,
        schemas: promptshelf_core::schema::CollectionSchemas,
        personas: bool,
        prompts: bool,
    ) -> Result<BatchReport, promptshelf_store::Error> {
        use promptshelf_core::DocType;
        self.opts.schemas = schemas;
        let mut rels: Vec<String> = self
            .files
            .keys()
            .filter(|r| match promptshelf_core::library::classify(r) {
                Some(DocType::Persona) => personas,
                Some(DocType::PromptTemplate) => prompts,
                None => false,
            })
            .cloned()
            .collect();
        rels.sort();
        // No previous records: an unchanged file is parsed again, not skipped by hash.
        let none = HashMap::new();
        let mut total = BatchReport::default();
        for chunk in rels.chunks(CHUNK) {
            let obs: Vec<(String, Observed)> =
                observe_all(&self.lib, &none, &self.opts, &self.shared, chunk, true)
                    .into_iter()
                    .filter(|(rel, o)| match o {
                        Observed::Parsed { result, .. } => {
                            result.is_err()
                                || self.files.get(rel).is_some_and(|f| f.doc_id.is_none())
                        }
                        _ => true,
                    })
                    .collect();
            if obs.is_empty() {
                continue;
            }
            let r = self.apply(obs)?;
            total.observed += r.observed;
            total.upserted += r.upserted;
            total.removed += r.removed;
            total.stale += r.stale;
            total.errors_set += r.errors_set;
            total.generation = r.generation;
        }
        Ok(total)
    }

    /// The fast path: a known, non-racy file with the same size and mtime is not read.
    pub fn needs_read(&self, rel: &str, stat: Stat) -> bool {
        match self.files.get(rel) {
            Some(f) => f.racy || f.size != stat.size || f.mtime_ns != stat.mtime_ns,
            None => true,
        }
    }

    /// Observes `rels` (with retries) on a new thread of `scope`, from copies of what
    /// that needs, so the engine can apply another batch meanwhile.
    fn spawn_observe<'s>(
        &self,
        scope: &'s std::thread::Scope<'s, '_>,
        rels: Vec<String>,
    ) -> std::thread::ScopedJoinHandle<'s, Vec<(String, Observed)>> {
        let prev: HashMap<String, FileRecord> = rels
            .iter()
            .filter_map(|r| self.files.get(r).map(|f| (r.clone(), f.clone())))
            .collect();
        let (lib, opts, shared) = (self.lib.clone(), self.opts.clone(), self.shared.clone());
        scope.spawn(move || observe_all(&lib, &prev, &opts, &shared, &rels, true))
    }

    /// Observes paths, in parallel when there are many. With `retry`, unreadable files
    /// are retried a few times inline (used by reconciles, which have no retry queue).
    pub fn observe_many(&self, rels: &[String], retry: bool) -> Vec<(String, Observed)> {
        observe_all(
            &self.lib,
            &self.files,
            &self.opts,
            &self.shared,
            rels,
            retry,
        )
    }
}

/// See [`Engine::observe_many`]; `files` holds the previous record of (at least) each path.
fn observe_all(
    lib: &Library,
    files: &HashMap<String, FileRecord>,
    opts: &ParseOptions,
    shared: &Shared,
    rels: &[String],
    retry: bool,
) -> Vec<(String, Observed)> {
    {
        let one = |rel: &String| -> (String, Observed) {
            let mut attempt = 0;
            loop {
                let o = observe(lib, rel, files.get(rel), opts);
                if retry && matches!(o, Observed::Unreadable { .. }) && attempt < 4 {
                    shared.counters.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                    continue;
                }
                return (rel.clone(), o);
            }
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        if rels.len() < 64 || threads < 2 {
            return rels.iter().map(one).collect();
        }
        let per = rels.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = rels
                .chunks(per)
                .map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }
}

impl Engine {
    /// True when the stored search index trails the documents.
    pub fn index_dirty(&self) -> bool {
        self.index_dirty
    }

    /// Writes the search index if it changed since it was last stored.
    ///
    /// Serializing the whole index costs far more than a batch of documents (5 MB,
    /// ~0.1 s at 10,000 documents), so batches only update the in-memory index and the
    /// blob is written here — after a reconcile, when live sync has been quiet for a
    /// moment (between two batches: see `live.rs`), before a barrier answers,
    /// and at shutdown — in its own transaction that bumps the content generation, so
    /// ETags change when search results can. The blob's `generation` column says which
    /// content it reflects; after a crash in between, the next start sees it trailing
    /// and rebuilds the index from the documents.
    pub fn flush_index(&mut self) -> Result<(), promptshelf_store::Error> {
        if !self.index_dirty {
            return Ok(());
        }
        let t = Instant::now();
        let Some(bytes) = self.search.to_bytes() else {
            self.index_dirty = false;
            return Ok(());
        };
        let t_ser = t.elapsed();
        self.store.write(|w| {
            let g = w.bump_generation()?;
            w.put_search_index(g, &bytes)
        })?;
        self.index_dirty = false;
        tracing::debug!(
            bytes = bytes.len(),
            serialize_ms = t_ser.as_secs_f64() * 1e3,
            total_ms = t.elapsed().as_secs_f64() * 1e3,
            "search index stored"
        );
        self.publish()
    }

    /// Refreshes the counters and error list the handle shows.
    fn publish(&self) -> Result<(), promptshelf_store::Error> {
        let conn = self.store.conn();
        let c = &self.shared.counters;
        c.files.store(self.files.len() as u64, Ordering::Relaxed);
        c.documents
            .store(read::count_documents(conn, None)?, Ordering::Relaxed);
        c.generation
            .store(read::generation(conn)?, Ordering::Relaxed);
        let errors = read::sync_errors(conn)?;
        c.errors.store(errors.len() as u64, Ordering::Relaxed);
        c.last_sync_unix_ms.store(
            (super::observe::now_ns() / 1_000_000) as u64,
            Ordering::Relaxed,
        );
        if let Ok(mut e) = self.shared.errors.write() {
            *e = errors;
        }
        self.shared.published();
        Ok(())
    }

    /// Folds the WAL into the database file (shutdown).
    pub fn checkpoint(&mut self) -> Result<(), promptshelf_store::Error> {
        self.flush_index()?;
        if self.fresh.is_some() {
            // Shut down before the first reconcile ended: keep what was built.
            self.finish_fresh(&Quiet, &AtomicBool::new(true))?;
        }
        self.checkpointer = None;
        self.store.close_clean()
    }
}

/// Meta key of the database's identity (see [`Engine::load`]).
pub const META_STORE_ID: &str = "store_id";

pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(25u64 << attempt.min(6))
}
