//! The in-memory index: documents (with the metadata a hit needs, so a host holding
//! only the index — the browser — can show results), the term dictionary, one sorted
//! posting list per term with per-field term frequencies (for per-field BM25), the filter
//! table for field filters, and the tag table for facets.
//!
//! Documents have internal numbers (`u32`, "slots"); a removed document's slot is
//! reused. Nothing observable depends on slot numbers: ranking ties break by id, so
//! an index built incrementally answers exactly like a fresh build.

use super::dict::Dictionary;
use super::fields::{self, Field, NF};
use super::hash::FxHashMap;
use super::tokenize;
use crate::model::{DocType, Document, DocumentId};
use std::collections::BTreeMap;

/// Choices fixed when an index is built (and stored in its blob).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct IndexOptions {
    /// How much of each description and body the index keeps, in bytes, for
    /// snippets and phrase checks. Everything is always *searchable*; what is not
    /// stored cannot be quoted in a snippet, and a phrase that only occurs past it
    /// matches on its words (unverified, ranked at half weight). Default 96 (cut back
    /// to a word boundary): a line of snippet per field, so hits have text to show
    /// while a 10,000-document index stays under half of MiniSearch's gzip size
    /// (BENCHMARKS.md; 160 bytes cost ~9% more). `0` stores none (smallest blob);
    /// `u32::MAX` keeps whole texts (exact phrases everywhere).
    pub stored_text_bytes: u32,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            stored_text_bytes: 96,
        }
    }
}

/// `text` cut to at most `max` bytes, at a word boundary where there is one.
pub(crate) fn prefix_bytes(text: &str, max: u32) -> &str {
    if text.len() <= max as usize {
        return text;
    }
    let mut end = max as usize;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // Do not keep half a word: it would show in snippets and could never match.
    if !text[end..].starts_with(char::is_whitespace) {
        if let Some(ws) = text[..end].rfind(char::is_whitespace) {
            end = ws;
        }
    }
    text[..end].trim_end()
}

/// One document's entry in one term's posting list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub doc: u32,
    /// Occurrences of the term in each [`Field`], saturated at 255.
    pub tf: [u8; NF],
}

/// Per-document data kept in the index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DocEntry {
    pub id: DocumentId,
    pub doc_type: Option<DocType>,
    pub name: String,
    pub path: String,
    /// The start of the description (up to `IndexOptions::stored_text_bytes`).
    pub description: String,
    /// The start of the body (up to `IndexOptions::stored_text_bytes`), stored for
    /// snippets and phrase checks.
    pub body: String,
    /// Whether `body` is the whole body.
    pub body_full: bool,
    /// Whether `description` is the whole description.
    pub desc_full: bool,
    /// Tag ids (into `Index::tags`), sorted, distinct.
    pub tags: Vec<u32>,
    /// Length of each field in tokens.
    pub len: [u32; NF],
}

impl Default for DocEntry {
    fn default() -> Self {
        DocEntry {
            id: DocumentId(String::new()),
            doc_type: None,
            name: String::new(),
            path: String::new(),
            description: String::new(),
            body: String::new(),
            body_full: true,
            desc_full: true,
            tags: Vec::new(),
            len: [0; NF],
        }
    }
}

impl DocEntry {
    pub fn alive(&self) -> bool {
        self.doc_type.is_some()
    }
}

/// A document's metadata as the index knows it (enough to render a hit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocInfo<'a> {
    /// The document's id.
    pub id: &'a DocumentId,
    /// Its type.
    pub doc_type: DocType,
    /// Its display name.
    pub name: &'a str,
    /// Its library-relative path.
    pub path: &'a str,
    /// The start of its description (as much as the index stores).
    pub description: &'a str,
    /// Its tags.
    pub tags: Vec<&'a str>,
}

/// A full-text and filter index over documents. Build it with [`Index::build`],
/// update it with [`Index::add`] / [`Index::remove`] / [`Index::replace`], query it
/// with [`Index::search`](super::Index::search), ship it with
/// [`Index::to_bytes`](super::Index::to_bytes) / [`Index::from_bytes`](super::Index::from_bytes).
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub(crate) docs: Vec<DocEntry>,
    pub(crate) free: Vec<u32>,
    pub(crate) by_id: FxHashMap<DocumentId, u32>,
    pub(crate) dict: Dictionary,
    /// Posting lists by term id, each sorted by doc slot.
    pub(crate) postings: Vec<Vec<Posting>>,
    /// `"path\x1fvalue"` → sorted doc slots.
    pub(crate) filters: BTreeMap<String, Vec<u32>>,
    /// Folded tag texts by tag id.
    pub(crate) tags: Vec<String>,
    pub(crate) tag_ids: FxHashMap<String, u32>,
    pub(crate) total_len: [u64; NF],
    pub(crate) opts: IndexOptions,
    /// Typo-tolerance candidates, derived from the dictionary on first use.
    pub(crate) grams: std::sync::OnceLock<super::fuzzy::GramIndex>,
    /// What each slot contributed (terms, filter keys), so removing or replacing a
    /// document costs in proportion to that document, not to the index. Not part of
    /// the blob: derived from the postings on the first removal after a load.
    pub(crate) reverse: Option<Reverse>,
    /// Posting changes a batch has deferred, by term id: (slot, its new frequencies or
    /// `None` for removal), in the order they were made. Inserting into or removing
    /// from the middle of a long list moves its tail; a burst of 1,000 edited files
    /// did that ~100 times per file in lists of up to 10,000 postings (37% of the
    /// watcher's CPU, 0.7 ms per file). Deferred, each list is merged once per batch
    /// ([`Index::flush_postings`]). Empty whenever a public method returns.
    pub(crate) edits: FxHashMap<u32, Vec<PostingEdit>>,
    /// Set when the index is a partial one assembled from chunks for one query
    /// (`super::chunked`): see [`Assembled`].
    pub(crate) chunked: Option<Box<Assembled>>,
    /// Labels other than `latest` (issue #15): only what differs from the indexed
    /// documents, kept encoded as the blob's labels section (see `super::labels`).
    pub(crate) labels: Vec<u8>,
}

/// What an index assembled from chunks fixes in advance: it holds only the terms and
/// documents one query needs, so the collection size and each query term's expansions
/// (computed over the whole lexicon) are given, and its slots are numbered in id
/// order, so ranking ties break by slot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Assembled {
    /// Documents in the whole collection.
    pub docs: usize,
    /// `(term, prefix, fuzzy)` → the assembled index's term ids and weights.
    pub expansions: FxHashMap<(String, bool, bool), Vec<(u32, f64)>>,
}

/// Per-slot inverse of the postings and filters (see [`Index::reverse`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Reverse {
    /// Term ids of each slot, ascending.
    terms: Vec<Vec<u32>>,
    /// Filter keys of each slot.
    filters: Vec<Vec<String>>,
}

impl Reverse {
    fn set(&mut self, slot: u32, terms: Vec<u32>, filters: Vec<String>) {
        let s = slot as usize;
        if s >= self.terms.len() {
            self.terms.resize_with(s + 1, Vec::new);
            self.filters.resize_with(s + 1, Vec::new);
        }
        self.terms[s] = terms;
        self.filters[s] = filters;
    }

    fn take(&mut self, slot: u32) -> (Vec<u32>, Vec<String>) {
        let s = slot as usize;
        match (self.terms.get_mut(s), self.filters.get_mut(s)) {
            (Some(t), Some(f)) => (std::mem::take(t), std::mem::take(f)),
            _ => Default::default(),
        }
    }
}

/// Separator between path and value in filter keys (cannot occur in a folded path).
pub(crate) const KEY_SEP: char = '\u{1f}';

/// Per-document scratch space for counting term frequencies: a dense table by term
/// id (no hashing, no allocation per document once warm).
#[derive(Default)]
struct Counter {
    /// For each term id: index + 1 into `terms` when seen in the current document.
    mark: Vec<u32>,
    terms: Vec<(u32, [u8; NF])>,
}

impl Counter {
    fn count(&mut self, id: u32, field: usize) {
        let i = id as usize;
        if i >= self.mark.len() {
            self.mark.resize(i + 1, 0);
        }
        match self.mark[i] {
            0 => {
                let mut tf = [0u8; NF];
                tf[field] = 1;
                self.terms.push((id, tf));
                self.mark[i] = self.terms.len() as u32;
            }
            k => {
                let tf = &mut self.terms[k as usize - 1].1;
                tf[field] = tf[field].saturating_add(1);
            }
        }
    }

    /// The counted terms; resets the marks for the next document.
    fn take(&mut self) -> Vec<(u32, [u8; NF])> {
        for (id, _) in &self.terms {
            self.mark[*id as usize] = 0;
        }
        std::mem::take(&mut self.terms)
    }
}

/// A document tokenized for the index, computed without the index (so a host can
/// prepare many documents on other threads) and added with [`Index::update_prepared`].
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The id of the document this was prepared from.
    id: DocumentId,
    /// Every token's text, back to back.
    text: String,
    /// Distinct terms (byte ranges of `text`, in term order) with their per-field
    /// frequencies.
    terms: Vec<(u32, u32, [u8; NF])>,
    analyzed: Analyzed,
}

/// One document's non-posting data, ready to attach.
#[derive(Debug, Clone, PartialEq)]
struct Analyzed {
    len: [u32; NF],
    filters: Vec<(String, String)>,
    tags: Vec<String>,
}

/// Tokenizes a document, counting terms into `counter` with ids from `resolve`.
fn analyze(
    doc: &Document,
    counter: &mut Counter,
    mut resolve: impl FnMut(&str) -> u32,
) -> Analyzed {
    analyze_with(doc, |t, fi| {
        let id = resolve(t);
        counter.count(id, fi);
    })
}

/// Tokenizes a document, handing each token and its field to `on_token`.
fn analyze_with(doc: &Document, mut on_token: impl FnMut(&str, usize)) -> Analyzed {
    let ex = fields::extract(doc);
    let mut len = [0u32; NF];
    for f in Field::ALL {
        let fi = f as usize;
        for text in &ex.texts[fi] {
            tokenize::for_each_token(text, |t, _, _| {
                len[fi] += 1;
                on_token(t, fi);
            });
        }
    }
    let mut tags: Vec<String> = doc
        .tags
        .iter()
        .map(|t| tokenize::fold(t))
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    Analyzed {
        len,
        filters: ex.filters,
        tags,
    }
}

/// Inserts a posting into a list sorted by slot (appending is the common case).
/// A deferred change of one slot in one posting list: its new frequencies, or `None`
/// for removal (see [`Index::edits`]).
type PostingEdit = (u32, Option<[u8; NF]>);

/// Applies one term's deferred edits to its list; the last edit of a slot wins, as if
/// they had been applied one by one. One edit goes in place; several are merged in
/// one pass over the list.
fn apply_edits(list: &mut Vec<Posting>, edits: &mut [PostingEdit]) {
    if let [(slot, tf)] = *edits {
        match (list.binary_search_by_key(&slot, |q| q.doc), tf) {
            (Ok(i), Some(tf)) => list[i].tf = tf,
            (Err(i), Some(tf)) => list.insert(i, Posting { doc: slot, tf }),
            (Ok(i), None) => {
                list.remove(i);
            }
            (Err(_), None) => {}
        }
        return;
    }
    // Stable: edits of one slot stay in the order they were made.
    edits.sort_by_key(|e| e.0);
    let mut merged = Vec::with_capacity(list.len() + edits.len());
    let mut i = 0;
    for (k, &(slot, tf)) in edits.iter().enumerate() {
        if edits.get(k + 1).is_some_and(|next| next.0 == slot) {
            continue; // a later edit of the same slot wins
        }
        let start = i;
        i += list[i..].partition_point(|q| q.doc < slot);
        merged.extend_from_slice(&list[start..i]);
        if list.get(i).is_some_and(|q| q.doc == slot) {
            i += 1;
        }
        if let Some(tf) = tf {
            merged.push(Posting { doc: slot, tf });
        }
    }
    merged.extend_from_slice(&list[i..]);
    *list = merged;
}

/// Tokenizes a document into distinct terms (see [`Prepared`]). Distinct terms go into
/// one text arena as they first appear, found again through a small open-addressing
/// table of their hashes; only the distinct terms are sorted at the end. (Sorting every
/// token instead was a quarter of a sync's CPU: documents repeat their words.)
fn prepare(doc: &Document) -> Prepared {
    let mut c = TermCounter::default();
    let analyzed = analyze_with(doc, |t, fi| c.add(t, fi));
    let TermCounter {
        text, mut terms, ..
    } = c;
    let term = |&(s, e, _): &(u32, u32, [u8; NF])| &text[s as usize..e as usize];
    terms.sort_unstable_by(|a, b| term(a).cmp(term(b)));
    Prepared {
        id: doc.id.clone(),
        text,
        terms,
        analyzed,
    }
}

/// Counts the terms of one document: distinct terms in `text`, their byte ranges and
/// per-field frequencies in `terms` (in first-seen order), and `table` mapping a term's
/// hash to its index in `terms` (`u32::MAX` for an empty slot; at most half full).
#[derive(Default)]
struct TermCounter {
    text: String,
    terms: Vec<(u32, u32, [u8; NF])>,
    table: Vec<u32>,
}

impl TermCounter {
    const EMPTY: u32 = u32::MAX;

    /// The index's word-at-a-time hash (terms are short; FNV's byte-at-a-time loop was
    /// a visible share of tokenizing).
    fn hash(t: &str) -> usize {
        use std::hash::Hasher;
        let mut h = super::hash::FxHasher::default();
        h.write(t.as_bytes());
        h.finish() as usize
    }

    fn add(&mut self, t: &str, fi: usize) {
        if (self.terms.len() + 1) * 2 > self.table.len() {
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut i = Self::hash(t) & mask;
        loop {
            let slot = self.table[i];
            if slot == Self::EMPTY {
                let start = self.text.len() as u32;
                self.text.push_str(t);
                self.table[i] = self.terms.len() as u32;
                let mut tf = [0; NF];
                tf[fi] = 1;
                self.terms.push((start, self.text.len() as u32, tf));
                return;
            }
            let entry = &mut self.terms[slot as usize];
            if self.text.get(entry.0 as usize..entry.1 as usize) == Some(t) {
                entry.2[fi] = entry.2[fi].saturating_add(1);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the table (at least 64 slots) and places every term again.
    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(64);
        self.table = vec![Self::EMPTY; size];
        let mask = size - 1;
        for (k, &(s, e, _)) in self.terms.iter().enumerate() {
            let mut i = Self::hash(&self.text[s as usize..e as usize]) & mask;
            while self.table[i] != Self::EMPTY {
                i = (i + 1) & mask;
            }
            self.table[i] = k as u32;
        }
    }
}

fn insert_sorted(list: &mut Vec<u32>, doc: u32) {
    if let Err(p) = list.binary_search(&doc) {
        list.insert(p, doc);
    }
}

impl Index {
    /// An empty index with default options.
    pub fn new() -> Index {
        Index::default()
    }

    /// An empty index with these options.
    pub fn with_options(opts: IndexOptions) -> Index {
        Index {
            opts,
            ..Index::default()
        }
    }

    /// The options the index was built with.
    pub fn options(&self) -> IndexOptions {
        self.opts
    }

    /// Builds an index over `docs` with default options. When two documents share an
    /// id, the later wins (as if added one after the other).
    pub fn build(docs: &[Document]) -> Index {
        Index::build_with(docs, IndexOptions::default())
    }

    /// Builds an index over `docs` with `opts`.
    pub fn build_with(docs: &[Document], opts: IndexOptions) -> Index {
        // Last occurrence of each id wins.
        let mut last: FxHashMap<&DocumentId, usize> = FxHashMap::default();
        last.reserve(docs.len());
        for (i, d) in docs.iter().enumerate() {
            last.insert(&d.id, i);
        }
        let mut ix = Index::with_options(opts);
        let mut term_ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut terms: Vec<String> = Vec::new();
        let mut counter = Counter::default();
        for (i, doc) in docs.iter().enumerate() {
            if last.get(&doc.id) != Some(&i) {
                continue;
            }
            let slot = ix.docs.len() as u32;
            let a = analyze(doc, &mut counter, |t| match term_ids.get(t) {
                Some(&id) => id,
                None => {
                    let id = terms.len() as u32;
                    terms.push(t.to_owned());
                    term_ids.insert(t.to_owned(), id);
                    id
                }
            });
            ix.postings.resize_with(terms.len(), Vec::new);
            for (id, tf) in counter.take() {
                ix.postings[id as usize].push(Posting { doc: slot, tf });
            }
            ix.attach(doc, &a, slot, false);
        }
        ix.dict = Dictionary::from_unsorted(terms);
        ix
    }

    /// Everything but postings: filters, tags, stats, the document entry. Returns
    /// the document's filter keys when `with_keys` (for [`Reverse`]).
    fn attach(&mut self, doc: &Document, a: &Analyzed, slot: u32, with_keys: bool) -> Vec<String> {
        let mut keys = Vec::with_capacity(if with_keys { a.filters.len() } else { 0 });
        // One reusable buffer: most keys (`model.api\x1fchat`) are already in the
        // table and need no allocation of their own.
        let mut key = String::new();
        for (path, value) in &a.filters {
            key.clear();
            key.push_str(path);
            key.push(KEY_SEP);
            key.push_str(value);
            match self.filters.get_mut(key.as_str()) {
                Some(docs) => insert_sorted(docs, slot),
                None => {
                    self.filters.insert(key.clone(), vec![slot]);
                }
            }
            if with_keys {
                keys.push(key.clone());
            }
        }
        let mut tag_ids: Vec<u32> = a
            .tags
            .iter()
            .map(|t| match self.tag_ids.get(t) {
                Some(&id) => id,
                None => {
                    let id = self.tags.len() as u32;
                    self.tags.push(t.clone());
                    self.tag_ids.insert(t.clone(), id);
                    id
                }
            })
            .collect();
        tag_ids.sort_unstable();
        for (f, l) in a.len.iter().enumerate() {
            self.total_len[f] += u64::from(*l);
        }
        let body = prefix_bytes(&doc.body, self.opts.stored_text_bytes);
        let full_desc = doc.description.as_deref().unwrap_or("");
        let desc = prefix_bytes(full_desc, self.opts.stored_text_bytes);
        let e = DocEntry {
            id: doc.id.clone(),
            doc_type: Some(doc.doc_type),
            name: doc.name.clone(),
            path: doc.path.clone(),
            description: desc.to_owned(),
            desc_full: desc.len() == full_desc.len(),
            body: body.to_owned(),
            body_full: body.len() == doc.body.len(),
            tags: tag_ids,
            len: a.len,
        };
        if slot as usize == self.docs.len() {
            self.docs.push(e);
        } else {
            self.docs[slot as usize] = e;
        }
        self.by_id.insert(doc.id.clone(), slot);
        keys
    }

    /// Adds one document, replacing the one with the same id if any.
    pub fn add(&mut self, doc: &Document) {
        self.update(&[], std::slice::from_ref(doc));
    }

    /// Replaces the document with `doc.id` (or adds it). Same as [`Index::add`];
    /// named for call sites where a change is meant.
    pub fn replace(&mut self, doc: &Document) {
        self.add(doc);
    }

    /// Removes a document; returns whether it was there. Costs in proportion to the
    /// document (its terms and filter values), plus, once after a load, one pass over
    /// the postings to learn what each document contributed.
    pub fn remove(&mut self, id: &DocumentId) -> bool {
        let removed = self.remove_deferred(id);
        self.flush_postings();
        removed
    }

    /// [`Index::remove`] with its posting edits left for the batch to flush.
    fn remove_deferred(&mut self, id: &DocumentId) -> bool {
        let Some(&slot) = self.by_id.get(id) else {
            return false;
        };
        self.ensure_reverse();
        self.detach(slot);
        self.by_id.remove(id);
        let e = std::mem::take(&mut self.docs[slot as usize]);
        for (f, l) in e.len.iter().enumerate() {
            self.total_len[f] -= u64::from(*l);
        }
        self.free.push(slot);
        true
    }

    /// Applies one batch of changes: removes `removed`, then adds or replaces each of
    /// `upserted` (a later document with the same id wins). Equivalent to calling
    /// [`Index::remove`] and [`Index::add`] one by one, but the dictionary's sorted
    /// order and the typo-tolerance candidates are brought up to date once per batch.
    pub fn update(&mut self, removed: &[DocumentId], upserted: &[Document]) {
        for id in removed {
            self.remove_deferred(id);
        }
        let mut counter = Counter::default();
        let mut new_terms = false;
        for doc in upserted {
            let dict = &mut self.dict;
            let a = analyze(doc, &mut counter, |t| {
                let (id, new) = dict.get_or_insert(t);
                new_terms |= new;
                id
            });
            let counted = counter.take();
            self.upsert(doc, counted, &a);
        }
        self.finish_batch(new_terms);
    }

    /// Tokenizes `doc` for [`Index::update_prepared`]. Needs no index: run it where
    /// the work is cheapest (e.g. on the threads that parse the files).
    pub fn prepare(doc: &Document) -> Prepared {
        prepare(doc)
    }

    /// [`Index::update`] with documents already tokenized by [`Index::prepare`]; the
    /// same result. A `Prepared` that does not belong to its document (another id) is
    /// ignored and the document tokenized here instead.
    pub fn update_prepared(&mut self, removed: &[DocumentId], upserted: &[(&Document, &Prepared)]) {
        for id in removed {
            self.remove_deferred(id);
        }
        let mut new_terms = false;
        for &(doc, p) in upserted {
            if p.id != doc.id {
                new_terms |= self.upsert_prepared(doc, &prepare(doc));
            } else {
                new_terms |= self.upsert_prepared(doc, p);
            }
        }
        self.finish_batch(new_terms);
    }

    fn upsert_prepared(&mut self, doc: &Document, p: &Prepared) -> bool {
        let mut new_terms = false;
        let counted: Vec<(u32, [u8; NF])> = p
            .terms
            .iter()
            .map(|&(start, end, ref tf)| {
                let t = p.text.get(start as usize..end as usize).unwrap_or("");
                let (id, new) = self.dict.get_or_insert(t);
                new_terms |= new;
                (id, *tf)
            })
            .collect();
        self.upsert(doc, counted, &p.analyzed);
        new_terms
    }

    fn finish_batch(&mut self, new_terms: bool) {
        self.flush_postings();
        if new_terms {
            self.dict.finish();
            self.grams = std::sync::OnceLock::new();
        }
    }

    /// Builds the per-slot inverse from the postings if it is not there yet, so
    /// removals stop costing a pass over the whole index. Call it ahead of time
    /// (e.g. on an idle thread) to keep that one pass off the first edit.
    pub fn track_documents(&mut self) {
        self.ensure_reverse();
    }

    fn ensure_reverse(&mut self) {
        if self.reverse.is_some() {
            return;
        }
        self.flush_postings();
        let n = self.docs.len();
        let mut rev = Reverse {
            terms: vec![Vec::new(); n],
            filters: vec![Vec::new(); n],
        };
        for (t, list) in self.postings.iter().enumerate() {
            for p in list {
                if let Some(v) = rev.terms.get_mut(p.doc as usize) {
                    v.push(t as u32);
                }
            }
        }
        for (key, docs) in &self.filters {
            for &s in docs {
                if let Some(v) = rev.filters.get_mut(s as usize) {
                    v.push(key.clone());
                }
            }
        }
        self.reverse = Some(rev);
    }

    /// Takes `slot` out of every posting list and filter it is in.
    fn detach(&mut self, slot: u32) {
        let Some(rev) = self.reverse.as_mut() else {
            return;
        };
        let (terms, keys) = rev.take(slot);
        for t in terms {
            self.unset_posting(t, slot);
        }
        for key in keys {
            if let Some(docs) = self.filters.get_mut(&key) {
                if let Ok(p) = docs.binary_search(&slot) {
                    docs.remove(p);
                }
                if docs.is_empty() {
                    self.filters.remove(&key);
                }
            }
        }
    }

    /// Adds or replaces one document from its counted terms (ids from `self.dict`;
    /// the caller finishes the batch before any query). A replaced document keeps its
    /// slot, and its postings are rewritten in place: a term it keeps changes only
    /// its frequencies, so an edit moves no posting list but those of terms that
    /// appeared or vanished.
    fn upsert(&mut self, doc: &Document, mut counted: Vec<(u32, [u8; NF])>, a: &Analyzed) {
        let existing = self.by_id.get(&doc.id).copied();
        if existing.is_some() {
            self.ensure_reverse();
        }
        counted.sort_unstable_by_key(|(id, _)| *id);
        self.postings.resize_with(self.dict.len(), Vec::new);
        let slot = match existing {
            Some(slot) => {
                let (old_terms, old_keys) = self
                    .reverse
                    .as_mut()
                    .map(|r| r.take(slot))
                    .unwrap_or_default();
                self.rewrite_postings(slot, &old_terms, &counted);
                for key in old_keys {
                    if let Some(docs) = self.filters.get_mut(&key) {
                        if let Ok(p) = docs.binary_search(&slot) {
                            docs.remove(p);
                        }
                        if docs.is_empty() {
                            self.filters.remove(&key);
                        }
                    }
                }
                let old = std::mem::take(&mut self.docs[slot as usize]);
                for (f, l) in old.len.iter().enumerate() {
                    self.total_len[f] -= u64::from(*l);
                }
                slot
            }
            None => {
                let slot = match self.free.pop() {
                    Some(s) => s,
                    None => self.docs.len() as u32,
                };
                for &(id, tf) in &counted {
                    self.set_posting(id, slot, tf);
                }
                slot
            }
        };
        let keys = self.attach(doc, a, slot, self.reverse.is_some());
        if let Some(rev) = self.reverse.as_mut() {
            rev.set(slot, counted.iter().map(|(id, _)| *id).collect(), keys);
        }
    }

    /// Turns `slot`'s postings for `old` terms into postings for `new` ones (both
    /// ascending by term id): frequencies overwritten where the term stays.
    fn rewrite_postings(&mut self, slot: u32, old: &[u32], new: &[(u32, [u8; NF])]) {
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            let o = old.get(i).copied();
            let n = new.get(j).copied();
            match (o, n) {
                (Some(ot), Some((nt, tf))) if ot == nt => {
                    self.set_posting(nt, slot, tf);
                    i += 1;
                    j += 1;
                }
                (Some(ot), n) if n.is_none_or(|(nt, _)| ot < nt) => {
                    self.unset_posting(ot, slot);
                    i += 1;
                }
                (_, Some((nt, tf))) => {
                    self.set_posting(nt, slot, tf);
                    j += 1;
                }
                (_, None) => break,
            }
        }
    }

    /// Sets `slot`'s frequencies in `term`'s list. Done at once where that moves
    /// nothing (the list has no deferred edits, and the slot is in it or goes at its
    /// end, as every document of an initial sync does), deferred otherwise.
    fn set_posting(&mut self, term: u32, slot: u32, tf: [u8; NF]) {
        if self.edits.is_empty() || !self.edits.contains_key(&term) {
            if let Some(list) = self.postings.get_mut(term as usize) {
                match list.last() {
                    None => return list.push(Posting { doc: slot, tf }),
                    Some(last) if last.doc < slot => return list.push(Posting { doc: slot, tf }),
                    _ => {
                        if let Ok(i) = list.binary_search_by_key(&slot, |q| q.doc) {
                            list[i].tf = tf;
                            return;
                        }
                    }
                }
            }
        }
        self.edits.entry(term).or_default().push((slot, Some(tf)));
    }

    /// Takes `slot` out of `term`'s list (deferred: see [`Index::edits`]).
    fn unset_posting(&mut self, term: u32, slot: u32) {
        self.edits.entry(term).or_default().push((slot, None));
    }

    /// Applies the deferred posting edits, each list in one pass.
    fn flush_postings(&mut self) {
        if self.edits.is_empty() {
            return;
        }
        for (term, mut edits) in std::mem::take(&mut self.edits) {
            if let Some(list) = self.postings.get_mut(term as usize) {
                apply_edits(list, &mut edits);
            }
        }
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        if let Some(c) = &self.chunked {
            return c.docs;
        }
        self.by_id.len()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Whether a document with this id is indexed.
    pub fn contains(&self, id: &DocumentId) -> bool {
        self.by_id.contains_key(id)
    }

    /// Metadata of one document, without the store.
    pub fn get(&self, id: &DocumentId) -> Option<DocInfo<'_>> {
        self.by_id.get(id).and_then(|&s| self.info(s))
    }

    pub(crate) fn info(&self, slot: u32) -> Option<DocInfo<'_>> {
        let e = self.docs.get(slot as usize)?;
        Some(DocInfo {
            id: &e.id,
            doc_type: e.doc_type?,
            name: &e.name,
            path: &e.path,
            description: &e.description,
            tags: e
                .tags
                .iter()
                .map(|&t| self.tags[t as usize].as_str())
                .collect(),
        })
    }

    /// Ids of all documents, sorted.
    pub fn ids(&self) -> Vec<&DocumentId> {
        let mut v: Vec<&DocumentId> = self.by_id.keys().collect();
        v.sort();
        v
    }

    /// Number of distinct terms with at least one posting.
    pub fn term_count(&self) -> usize {
        self.postings.iter().filter(|p| !p.is_empty()).count()
    }

    /// Alive slots in increasing order.
    pub(crate) fn alive_slots(&self) -> Vec<u32> {
        (0..self.docs.len() as u32)
            .filter(|&s| self.docs[s as usize].alive())
            .collect()
    }
}

#[cfg(test)]
mod prepare_tests {
    use super::*;

    /// `prepare` counts exactly what a plain map over every token counts, in term order.
    #[test]
    fn prepared_terms_equal_a_naive_count() {
        let body: String = (0..700)
            .map(|i| format!("w{} common ", i % 233))
            .collect::<String>();
        let mut doc = crate::parse_document(
            "personas/a.json",
            format!(
                r#"{{"id": "a", "name": "Common name w1", "description": "common w2 w2", "tags": ["x", "common"], "prompt": "{body}"}}"#
            )
            .as_bytes(),
            &crate::ParseOptions::default(),
        )
        .unwrap();
        doc.tags.push("y".into());
        let mut naive: BTreeMap<String, [u8; NF]> = BTreeMap::new();
        analyze_with(&doc, |t, fi| {
            let tf = &mut naive.entry(t.to_owned()).or_insert([0; NF])[fi];
            *tf = tf.saturating_add(1);
        });
        let p = prepare(&doc);
        let got: Vec<(String, [u8; NF])> = p
            .terms
            .iter()
            .map(|&(s, e, tf)| (p.text[s as usize..e as usize].to_owned(), tf))
            .collect();
        let want: Vec<(String, [u8; NF])> = naive.into_iter().collect();
        assert!(want.len() > 233, "enough distinct terms to grow the table");
        assert!(
            want.iter().any(|(_, tf)| tf.contains(&u8::MAX)),
            "a frequency saturates"
        );
        assert_eq!(got, want);
    }
}

#[cfg(test)]
mod edit_tests {
    use super::*;

    fn list(slots: &[(u32, u8)]) -> Vec<Posting> {
        slots
            .iter()
            .map(|&(doc, tf)| Posting { doc, tf: [tf; NF] })
            .collect()
    }

    /// Deferred edits merged at once give the list that applying them one by one
    /// (insert, overwrite, remove; the last edit of a slot winning) gives.
    #[test]
    fn merged_edits_equal_edits_applied_one_by_one() {
        let mut l = list(&[(1, 1), (3, 1), (5, 1), (7, 1), (9, 1)]);
        let mut edits = vec![
            (5, None),          // removed
            (4, Some([2; NF])), // inserted in the middle
            (9, Some([3; NF])), // overwritten
            (0, Some([4; NF])), // inserted first
            (7, None),          // removed, then put back: the last edit wins
            (7, Some([5; NF])),
            (3, Some([6; NF])), // put, then removed
            (3, None),
            (11, Some([7; NF])), // appended
            (8, None),           // removing an absent slot does nothing
        ];
        apply_edits(&mut l, &mut edits);
        assert_eq!(l, list(&[(0, 4), (1, 1), (4, 2), (7, 5), (9, 3), (11, 7)]));

        let mut one = list(&[(1, 1), (3, 1)]);
        apply_edits(&mut one, &mut [(2, Some([9; NF]))]);
        assert_eq!(one, list(&[(1, 1), (2, 9), (3, 1)]));
        apply_edits(&mut one, &mut [(1, None)]);
        assert_eq!(one, list(&[(2, 9), (3, 1)]));
    }

    /// A batch that rewrites many documents leaves no deferred edit behind, and
    /// searches see every change.
    #[test]
    fn a_batch_of_rewrites_leaves_nothing_deferred() {
        let docs: Vec<Document> = (0..50)
            .map(|i| {
                crate::parse_document(
                    &format!("personas/p{i}.json"),
                    format!(
                        r#"{{"id": "p{i}", "name": "Old {i}", "prompt": "common old words {i}"}}"#
                    )
                    .as_bytes(),
                    &crate::ParseOptions::default(),
                )
                .unwrap()
            })
            .collect();
        let mut ix = Index::from_bytes(&Index::build(&docs).to_bytes()).unwrap();
        let new: Vec<Document> = (0..50)
            .map(|i| {
                crate::parse_document(
                    &format!("personas/p{i}.json"),
                    format!(
                        r#"{{"id": "p{i}", "name": "New {i}", "prompt": "common fresh text"}}"#
                    )
                    .as_bytes(),
                    &crate::ParseOptions::default(),
                )
                .unwrap()
            })
            .collect();
        ix.update(&[DocumentId("p0".into())], &new[1..]);
        assert!(ix.edits.is_empty());
        let opts = crate::search::SearchOptions::default();
        assert_eq!(ix.search("old", &opts).unwrap().total, 0);
        assert_eq!(ix.search("fresh", &opts).unwrap().total, 49);
        assert_eq!(ix.search("common", &opts).unwrap().total, 49);
    }
}
