//! Answering the read API from data fetched per request, for hosts that must not hold
//! the library in memory (the edge: D1 rows, static-asset chunks).
//!
//! The core's handler is synchronous and the fetching is not, so a request runs in
//! rounds: the handler runs over what the host has fetched so far; every read it could
//! not answer is recorded in [`Wanted`] (SQL queries, chunk files) and fails; the host
//! fetches all of them at once and runs the handler again. The answer of a round that
//! wanted nothing is the response — the same handler and the same engine as the local
//! server, so the bytes are the same. Most requests take one or two rounds.
//!
//! - [`ChunkCache`]: fetched chunk files kept across requests under a byte budget
//!   (chunk names carry their content hash, so an entry never goes stale);
//! - [`LazySearcher`]: the [`Searcher`] over a chunked index
//!   (`promptshelf_core::search::chunked`), naming the files a query still needs.

use promptshelf_core::api::{SearchProblem, SearchRequest, Searcher};
use promptshelf_core::search::chunked::{ChunkError, ChunkSource, ChunkedIndex, Step, MANIFEST};
use promptshelf_core::search::SearchOptions;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What one round could not answer, and any failure of the data itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted<Q> {
    /// Queries to run (D1 mode; deduplicated).
    pub queries: Vec<Q>,
    /// Chunk files to fetch (deduplicated).
    pub files: Vec<String>,
    /// Corrupt or inconsistent data (a 503 for the request, whatever the handler said).
    pub failure: Option<String>,
}

impl<Q> Default for Wanted<Q> {
    fn default() -> Self {
        Wanted {
            queries: Vec::new(),
            files: Vec::new(),
            failure: None,
        }
    }
}

impl<Q: PartialEq> Wanted<Q> {
    /// Whether the round's answer is final.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty() && self.files.is_empty()
    }

    /// Records a query (once).
    pub fn query(&mut self, q: Q) {
        if !self.queries.contains(&q) {
            self.queries.push(q);
        }
    }

    /// Records files (once each).
    pub fn files(&mut self, names: impl IntoIterator<Item = String>) {
        for n in names {
            if !self.files.contains(&n) {
                self.files.push(n);
            }
        }
    }
}

/// The [`Wanted`] a reader and its searcher share during one round.
pub type SharedWanted<Q> = Arc<Mutex<Wanted<Q>>>;

/// Locks a shared value; a poisoned lock (a panic elsewhere) still holds usable data.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Chunk files kept across requests, least recently used evicted first once their
/// bytes exceed the budget. Files used by the request in progress are never evicted
/// during it (a query over more than the budget still completes; the cache shrinks
/// back after it).
#[derive(Debug)]
pub struct ChunkCache {
    budget: usize,
    bytes: usize,
    epoch: u64,
    map: HashMap<String, (Arc<[u8]>, u64)>,
}

impl ChunkCache {
    /// An empty cache holding at most about `budget` bytes between requests.
    pub fn new(budget: usize) -> ChunkCache {
        ChunkCache {
            budget,
            bytes: 0,
            epoch: 0,
            map: HashMap::new(),
        }
    }

    /// Starts a request: what it touches from now on is pinned until the next one.
    pub fn begin_request(&mut self) {
        self.epoch += 1;
        self.evict();
    }

    /// A file, if cached (and marks it used by this request).
    pub fn get(&mut self, name: &str) -> Option<Arc<[u8]>> {
        let epoch = self.epoch;
        self.map.get_mut(name).map(|e| {
            e.1 = epoch;
            e.0.clone()
        })
    }

    /// A file, if cached, without marking it used.
    pub fn peek(&self, name: &str) -> Option<Arc<[u8]>> {
        self.map.get(name).map(|e| e.0.clone())
    }

    /// Marks files used by this request.
    pub fn touch(&mut self, names: &[String]) {
        let epoch = self.epoch;
        for n in names {
            if let Some(e) = self.map.get_mut(n) {
                e.1 = epoch;
            }
        }
    }

    /// Whether a file is cached (does not mark it).
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Adds a file fetched for this request.
    pub fn insert(&mut self, name: String, bytes: Arc<[u8]>) {
        self.bytes += bytes.len();
        if let Some((old, _)) = self.map.insert(name, (bytes, self.epoch)) {
            self.bytes -= old.len();
        }
        self.evict();
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Files held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn evict(&mut self) {
        if self.bytes <= self.budget {
            return;
        }
        let mut old: Vec<(u64, String, usize)> = self
            .map
            .iter()
            .filter(|(_, (_, used))| *used < self.epoch)
            .map(|(n, (b, used))| (*used, n.clone(), b.len()))
            .collect();
        old.sort_unstable();
        for (_, name, len) in old {
            if self.bytes <= self.budget {
                break;
            }
            self.map.remove(&name);
            self.bytes -= len;
        }
    }
}

/// The files of one round, by name: what [`ChunkedIndex`] reads. It records which
/// ones were read, so the cache can mark them used ([`ChunkCache::touch`]).
#[derive(Debug, Default)]
pub struct Files {
    map: HashMap<String, Arc<[u8]>>,
    hits: Mutex<Vec<String>>,
}

impl ChunkSource for Files {
    fn chunk(&self, name: &str) -> Option<&[u8]> {
        let b = self.map.get(name)?;
        lock(&self.hits).push(name.to_owned());
        Some(&b[..])
    }
}

impl Files {
    /// The cache's files plus `extra` (fetched by this request). Cheap: `Arc` clones.
    pub fn new(cache: &ChunkCache, extra: &HashMap<String, Arc<[u8]>>) -> Files {
        let mut map: HashMap<String, Arc<[u8]>> = cache
            .map
            .iter()
            .map(|(n, (b, _))| (n.clone(), b.clone()))
            .collect();
        map.extend(extra.iter().map(|(n, b)| (n.clone(), b.clone())));
        Files {
            map,
            hits: Mutex::new(Vec::new()),
        }
    }

    /// The names read so far (for [`ChunkCache::touch`]).
    pub fn take_hits(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.hits))
    }
}

/// Every file name a manifest lists (what [`LazySearcher::index_chunk`] may serve).
pub fn manifest_files(index: &ChunkedIndex) -> impl Iterator<Item = &str> {
    let m = index.manifest();
    m.lexicon
        .iter()
        .map(|l| l.1.as_str())
        .chain(m.postings.iter().map(String::as_str))
        .chain(m.table.iter().map(|t| t.1.as_str()))
        .chain(std::iter::once(m.tags.as_str()))
        .chain(m.packs.iter().map(|p| p.2.as_str()))
        .chain(m.filters.iter().map(|f| f.1.as_str()))
}

/// The search engine over a chunked index and the files fetched so far: each search
/// either answers (the same results as the whole index) or records in [`Wanted`] the
/// files it still needs. Its answers in a round that wanted something are discarded.
pub struct LazySearcher<Q> {
    index: Arc<ChunkedIndex>,
    manifest: Arc<[u8]>,
    files: Files,
    wanted: SharedWanted<Q>,
}

impl<Q> LazySearcher<Q> {
    /// The files this searcher read (see [`Files::take_hits`]).
    pub fn take_hits(&self) -> Vec<String> {
        self.files.take_hits()
    }

    /// A searcher over `index` (opened from `manifest`), reading `files`, recording
    /// what it lacks in `wanted`.
    pub fn new(
        index: Arc<ChunkedIndex>,
        manifest: Arc<[u8]>,
        files: Files,
        wanted: SharedWanted<Q>,
    ) -> LazySearcher<Q> {
        LazySearcher {
            index,
            manifest,
            files,
            wanted,
        }
    }
}

fn pending() -> SearchProblem {
    SearchProblem {
        position: None,
        message: "pending: the host fetches the chunks this query needs".into(),
    }
}

impl<Q: PartialEq + Send> Searcher for LazySearcher<Q> {
    fn search_json(&self, req: &SearchRequest) -> Result<serde_json::Value, SearchProblem> {
        let opts = SearchOptions {
            limit: req.limit,
            offset: req.offset,
            ..SearchOptions::default()
        };
        match self.index.search(&req.query, &opts, &self.files) {
            Ok(Step::Done(results)) => serde_json::to_value(&results).map_err(|e| SearchProblem {
                position: None,
                message: format!("could not serialize results: {e}"),
            }),
            Ok(Step::Need(names)) => {
                lock(&self.wanted).files(names);
                Err(pending())
            }
            Err(ChunkError::Query(e)) => Err(SearchProblem {
                position: Some(e.position),
                message: e.message,
            }),
            Err(e) => {
                lock(&self.wanted).failure = Some(e.to_string());
                Err(pending())
            }
        }
    }

    fn index_chunk(&self, name: &str) -> Option<Vec<u8>> {
        if name == MANIFEST {
            return Some(self.manifest.to_vec());
        }
        if let Some(b) = self.files.map.get(name) {
            lock(&self.files.hits).push(name.to_owned());
            return Some(b.to_vec());
        }
        if manifest_files(&self.index).any(|n| n == name) {
            lock(&self.wanted).files([name.to_owned()]);
            return Some(Vec::new()); // discarded: the round wanted a file
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(n: usize) -> Arc<[u8]> {
        vec![0u8; n].into()
    }

    #[test]
    fn cache_evicts_least_recently_used_but_not_this_requests_files() {
        let mut c = ChunkCache::new(100);
        c.begin_request();
        c.insert("a".into(), b(60));
        c.insert("b".into(), b(60)); // over budget, but both belong to this request
        assert_eq!(c.len(), 2);
        c.begin_request(); // now "a" and "b" are old: evict the LRU until under budget
        assert_eq!(c.bytes(), 60);
        c.begin_request();
        assert!(c.get("a").is_some() || c.get("b").is_some());
        c.insert("c".into(), b(50));
        c.begin_request();
        assert!(c.bytes() <= 100, "{}", c.bytes());
        assert!(c.contains("c"));
        // Replacing a file does not count it twice.
        c.insert("c".into(), b(50));
        assert!(c.bytes() <= 100);
    }

    #[test]
    fn wanted_dedups() {
        let mut w: Wanted<u8> = Wanted::default();
        assert!(w.is_empty());
        w.query(1);
        w.query(1);
        w.files(["x".to_owned(), "x".to_owned()]);
        assert_eq!((w.queries.len(), w.files.len()), (1, 1));
        assert!(!w.is_empty());
    }
}
