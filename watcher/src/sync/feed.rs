//! The change feed behind `GET /v1/events`: one [`ChangeEvent`] per committed batch,
//! kept in a bounded ring so a client that reconnects with `Last-Event-ID` misses nothing.
//!
//! How a batch reaches it without the engine knowing about streams: [`FeedHook`] wraps
//! the search hook, whose `apply` receives exactly the ids a batch upserts and removes
//! (inside the batch's transaction); the engine then commits and publishes its counters
//! and error list, and [`super::Shared::published`] turns what was staged, plus the error
//! list's difference with the previous one, into an event. Both run on the sync thread, so
//! what is staged when an event is cut belongs to committed batches only. A batch that
//! fails and is retried stages its ids again (a set: no duplicates); one that fails for
//! good leaves ids that ride with the next event — the client refetches a document that
//! did not change, which costs a request and is never wrong.

use super::search_hook::{SearchHook, Upsert};
use promptshelf_core::Document;
use promptshelf_store::SyncErrorRecord;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

/// Most events the ring keeps for `Last-Event-ID` resumption.
const KEEP_EVENTS: usize = 1024;
/// Most ids the ring keeps across its events (an initial sync of a big library is a few
/// huge batches; keeping all their ids would cost memory for nothing: a client that far
/// behind reloads anyway).
const KEEP_IDS: usize = 100_000;
/// A batch touching more ids than this is sent as a `reset` (reload everything): cheaper
/// for the client than fetching each document, and keeps events small.
pub const MAX_EVENT_IDS: usize = 5_000;

/// A sync error as events carry it (no timestamps: they change on every rescan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorOut {
    pub path: String,
    pub kind: &'static str,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl From<&SyncErrorRecord> for ErrorOut {
    fn from(e: &SyncErrorRecord) -> ErrorOut {
        ErrorOut {
            path: e.path.clone(),
            kind: e.kind.as_str(),
            line: e.line,
            column: e.column,
            message: e.message.clone(),
        }
    }
}

/// What one committed batch changed. Sent as SSE `event: sync` (or `reset`), `id:` the
/// generation, `data:` this as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeEvent {
    /// `sync`, or `reset` when the ids are unknown or too many: reload everything.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The database's content generation after the batch (also the SSE event id).
    pub generation: u64,
    pub upserted: Vec<String>,
    pub removed: Vec<String>,
    /// Sync errors new or changed in this batch.
    pub errors_added: Vec<ErrorOut>,
    /// Paths whose sync error went away.
    pub errors_cleared: Vec<String>,
}

impl ChangeEvent {
    /// A `reset`: the client cannot patch its state from events and reloads it.
    pub fn reset(generation: u64) -> ChangeEvent {
        ChangeEvent {
            kind: "reset",
            generation,
            upserted: Vec::new(),
            removed: Vec::new(),
            errors_added: Vec::new(),
            errors_cleared: Vec::new(),
        }
    }

    fn ids(&self) -> usize {
        self.upserted.len() + self.removed.len()
    }
}

/// What a stream that resumes from an event id gets.
#[derive(Debug)]
pub enum Since {
    /// Every event after it (possibly none).
    Events(Vec<Arc<ChangeEvent>>),
    /// The ring no longer reaches back that far (or the id is from another database):
    /// a `reset` at the current generation.
    Gap(u64),
}

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<Arc<ChangeEvent>>,
    /// Every event after this generation is in `events` (the generation the feed started
    /// at, or that of the last event dropped from the front).
    base: u64,
    /// The generation of the last publish (events or not).
    current: u64,
    ids_held: usize,
    staged_upserted: BTreeSet<String>,
    staged_removed: BTreeSet<String>,
    errors: BTreeMap<String, ErrorOut>,
    started: bool,
}

/// See the module docs. Shared by the sync thread (writes) and the server (reads).
#[derive(Debug)]
pub struct Feed {
    ring: Mutex<Ring>,
    /// The generation of the newest event; streams wait on it.
    tx: tokio::sync::watch::Sender<u64>,
}

impl Default for Feed {
    fn default() -> Feed {
        Feed {
            ring: Mutex::new(Ring::default()),
            tx: tokio::sync::watch::channel(0).0,
        }
    }
}

impl Feed {
    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the ids a batch is applying (called inside its transaction).
    pub fn stage(&self, removed: &[String], upserted: impl IntoIterator<Item = String>) {
        let mut r = self.ring();
        for id in upserted {
            r.staged_removed.remove(&id);
            r.staged_upserted.insert(id);
        }
        for id in removed {
            r.staged_upserted.remove(id);
            r.staged_removed.insert(id.clone());
        }
    }

    /// After a commit: cuts an event from the staged ids and the error list's changes.
    /// The first call only records the starting point (a stream's history starts there).
    pub fn published(&self, generation: u64, errors: &[SyncErrorRecord]) {
        let now: BTreeMap<String, ErrorOut> = errors
            .iter()
            .map(|e| (e.path.clone(), ErrorOut::from(e)))
            .collect();
        let mut r = self.ring();
        if !r.started {
            r.started = true;
            r.base = generation;
            r.current = generation;
            r.errors = now;
            r.staged_upserted.clear();
            r.staged_removed.clear();
            drop(r);
            self.tx.send_replace(generation);
            return;
        }
        let errors_added: Vec<ErrorOut> = now
            .values()
            .filter(|e| r.errors.get(&e.path) != Some(e))
            .cloned()
            .collect();
        let errors_cleared: Vec<String> = r
            .errors
            .keys()
            .filter(|p| !now.contains_key(*p))
            .cloned()
            .collect();
        r.errors = now;
        r.current = r.current.max(generation);
        let upserted: Vec<String> = std::mem::take(&mut r.staged_upserted).into_iter().collect();
        let removed: Vec<String> = std::mem::take(&mut r.staged_removed).into_iter().collect();
        if upserted.is_empty()
            && removed.is_empty()
            && errors_added.is_empty()
            && errors_cleared.is_empty()
        {
            // The search index was stored, or nothing a client sees changed.
            return;
        }
        let mut event = ChangeEvent {
            kind: "sync",
            generation,
            upserted,
            removed,
            errors_added,
            errors_cleared,
        };
        if event.ids() > MAX_EVENT_IDS {
            event = ChangeEvent {
                errors_added: event.errors_added,
                errors_cleared: event.errors_cleared,
                ..ChangeEvent::reset(generation)
            };
        }
        Self::push(&mut r, event);
        drop(r);
        self.tx.send_replace(generation);
    }

    /// Adds an event made elsewhere (the `serve` poller's resets).
    pub fn push_event(&self, event: ChangeEvent) {
        let generation = event.generation;
        let mut r = self.ring();
        if !r.started {
            r.started = true;
            r.base = generation;
        }
        r.current = r.current.max(generation);
        Self::push(&mut r, event);
        drop(r);
        self.tx.send_replace(generation);
    }

    fn push(r: &mut Ring, event: ChangeEvent) {
        r.ids_held += event.ids();
        r.events.push_back(Arc::new(event));
        while r.events.len() > KEEP_EVENTS || (r.ids_held > KEEP_IDS && r.events.len() > 1) {
            if let Some(old) = r.events.pop_front() {
                r.ids_held -= old.ids();
                r.base = old.generation;
            }
        }
    }

    /// The current generation (the id a new stream starts from).
    pub fn current(&self) -> u64 {
        self.ring().current
    }

    /// Events after generation `after`, or a gap.
    pub fn since(&self, after: u64) -> Since {
        let r = self.ring();
        if after < r.base || after > r.current {
            return Since::Gap(r.current);
        }
        Since::Events(
            r.events
                .iter()
                .filter(|e| e.generation > after)
                .cloned()
                .collect(),
        )
    }

    /// Wakes when an event is added.
    pub fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

/// The engine's search hook, passing each batch's ids to the feed on the way.
pub struct FeedHook {
    pub inner: Box<dyn SearchHook>,
    pub feed: Arc<Feed>,
}

impl SearchHook for FeedHook {
    fn load(&mut self, stored: &[u8]) -> bool {
        self.inner.load(stored)
    }
    fn rebuild(&mut self, all: Vec<Document>) {
        self.inner.rebuild(all)
    }
    fn apply(&mut self, removed: &[String], upserted: &[Upsert<'_>]) {
        self.feed
            .stage(removed, upserted.iter().map(|(d, _)| d.id.0.clone()));
        self.inner.apply(removed, upserted)
    }
    fn to_bytes(&self) -> Option<Vec<u8>> {
        self.inner.to_bytes()
    }
    fn prepare_updates(&mut self) {
        self.inner.prepare_updates()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptshelf_store::ErrorKind;

    fn err(path: &str, message: &str) -> SyncErrorRecord {
        SyncErrorRecord {
            path: path.into(),
            kind: ErrorKind::Parse,
            line: Some(3),
            column: Some(1),
            message: message.into(),
            doc_id: None,
            first_seen: String::new(),
            last_seen: "t1".into(),
        }
    }

    fn ids(s: &Since) -> Vec<u64> {
        match s {
            Since::Events(e) => e.iter().map(|e| e.generation).collect(),
            Since::Gap(g) => vec![u64::MAX, *g],
        }
    }

    #[test]
    fn one_event_per_publish_with_ids_and_error_changes() {
        let f = Feed::default();
        f.published(5, &[err("a.json", "bad")]);
        assert!(matches!(f.since(5), Since::Events(ref e) if e.is_empty()));
        f.stage(&["gone".into()], ["x".to_string(), "y".to_string()]);
        f.stage(&[], ["x".to_string()]);
        f.published(6, &[err("b.json", "worse")]);
        let Since::Events(e) = f.since(5) else {
            panic!("gap")
        };
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, "sync");
        assert_eq!(e[0].generation, 6);
        assert_eq!(e[0].upserted, ["x", "y"]);
        assert_eq!(e[0].removed, ["gone"]);
        assert_eq!(e[0].errors_added[0].path, "b.json");
        assert_eq!(e[0].errors_cleared, ["a.json"]);
        // A publish with nothing visible (the search index stored) is no event.
        f.published(7, &[err("b.json", "worse")]);
        assert_eq!(ids(&f.since(5)), [6]);
        assert_eq!(f.current(), 7);
        // Only the timestamps changed: no event either.
        let mut e2 = err("b.json", "worse");
        e2.last_seen = "t2".into();
        f.published(8, &[e2]);
        assert_eq!(ids(&f.since(5)), [6]);
        assert_eq!(ids(&f.since(6)), Vec::<u64>::new());
    }

    #[test]
    fn resumes_from_the_ring_or_reports_a_gap() {
        let f = Feed::default();
        f.published(1, &[]);
        for g in 2..(KEEP_EVENTS as u64 + 10) {
            f.stage(&[], [format!("d{g}")]);
            f.published(g, &[]);
        }
        let last = KEEP_EVENTS as u64 + 9;
        assert_eq!(ids(&f.since(last - 2)), [last - 1, last]);
        // The oldest events were dropped: resuming before them is a gap.
        assert_eq!(ids(&f.since(2)), [u64::MAX, last]);
        // An id from the future (another database) too.
        assert_eq!(ids(&f.since(last + 100)), [u64::MAX, last]);
    }

    #[test]
    fn a_huge_batch_is_a_reset() {
        let f = Feed::default();
        f.published(1, &[]);
        f.stage(&[], (0..=MAX_EVENT_IDS).map(|i| format!("d{i}")));
        f.published(2, &[]);
        let Since::Events(e) = f.since(1) else {
            panic!("gap")
        };
        assert_eq!(e[0].kind, "reset");
        assert!(e[0].upserted.is_empty());
    }
}
