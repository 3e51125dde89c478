//! The term dictionary: term text ↔ integer term id, plus the terms in sorted order
//! for prefix ranges and the typo-tolerant walk in [`super::fuzzy`].
//!
//! Terms live in one string arena (few allocations, cheap to load). Ids are stable
//! for the life of an in-memory index; the codec writes terms in sorted order, so a
//! loaded index has `sorted[i] == i` and needs no sorting.
//!
//! Incremental updates look terms up by hash (built on the first update, so loading
//! stays cheap) and collect new terms aside; [`Dictionary::finish`] merges them into
//! the sorted order once per batch instead of one O(terms) insert per new term.

use super::hash::FxHashMap;
use std::ops::Range;

#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    arena: String,
    /// Byte range of each term id in `arena`.
    spans: Vec<(u32, u32)>,
    /// Term ids ordered by their text (byte order), except those in `unsorted`.
    sorted: Vec<u32>,
    /// Ids added since the last [`Dictionary::finish`], not yet in `sorted`.
    unsorted: Vec<u32>,
    /// Term text → id, for updates; `None` until the first [`Dictionary::get_or_insert`].
    lookup: Option<FxHashMap<Box<str>, u32>>,
}

impl Dictionary {
    /// A dictionary from terms that are already sorted and distinct (the codec).
    pub fn from_sorted(arena: String, spans: Vec<(u32, u32)>) -> Dictionary {
        let sorted = (0..spans.len() as u32).collect();
        Dictionary {
            arena,
            spans,
            sorted,
            ..Dictionary::default()
        }
    }

    /// A dictionary from distinct terms in any order (bulk build); term ids are the
    /// positions in `terms`.
    pub fn from_unsorted(terms: Vec<String>) -> Dictionary {
        let mut d = Dictionary::default();
        for t in &terms {
            d.push_arena(t);
        }
        let mut sorted: Vec<u32> = (0..terms.len() as u32).collect();
        sorted.sort_unstable_by(|&a, &b| terms[a as usize].cmp(&terms[b as usize]));
        d.sorted = sorted;
        d
    }

    fn push_arena(&mut self, t: &str) -> u32 {
        let start = self.arena.len() as u32;
        self.arena.push_str(t);
        self.spans.push((start, self.arena.len() as u32));
        (self.spans.len() - 1) as u32
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Text of a term id.
    pub fn text(&self, id: u32) -> &str {
        let (s, e) = self.spans[id as usize];
        &self.arena[s as usize..e as usize]
    }

    /// Term id at sorted position `pos`.
    pub fn at(&self, pos: usize) -> u32 {
        self.sorted[pos]
    }

    fn search(&self, term: &str) -> Result<usize, usize> {
        self.sorted.binary_search_by(|&id| self.text(id).cmp(term))
    }

    pub fn get(&self, term: &str) -> Option<u32> {
        self.search(term).ok().map(|p| self.sorted[p])
    }

    /// The id of `term`, adding it when new (incremental updates). A new term is not
    /// in the sorted order until [`Dictionary::finish`]; queries must not run before.
    pub fn get_or_insert(&mut self, term: &str) -> (u32, bool) {
        if self.lookup.is_none() {
            let mut m = FxHashMap::default();
            m.reserve(self.spans.len());
            for id in 0..self.spans.len() as u32 {
                m.insert(Box::from(self.text(id)), id);
            }
            self.lookup = Some(m);
        }
        if let Some(&id) = self.lookup.as_ref().and_then(|m| m.get(term)) {
            return (id, false);
        }
        let id = self.push_arena(term);
        if let Some(m) = self.lookup.as_mut() {
            m.insert(Box::from(term), id);
        }
        self.unsorted.push(id);
        (id, true)
    }

    /// Puts the terms added since the last call into the sorted order: one merge,
    /// O(terms + new · log new).
    pub fn finish(&mut self) {
        if self.unsorted.is_empty() {
            return;
        }
        let mut new = std::mem::take(&mut self.unsorted);
        new.sort_unstable_by(|&a, &b| self.text(a).cmp(self.text(b)));
        let old = std::mem::take(&mut self.sorted);
        let mut merged = Vec::with_capacity(old.len() + new.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < new.len() {
            if self.text(old[i]) <= self.text(new[j]) {
                merged.push(old[i]);
                i += 1;
            } else {
                merged.push(new[j]);
                j += 1;
            }
        }
        merged.extend_from_slice(&old[i..]);
        merged.extend_from_slice(&new[j..]);
        self.sorted = merged;
    }

    /// Sorted positions of the terms that start with `prefix` (including `prefix`).
    pub fn prefix_range(&self, prefix: &str) -> Range<usize> {
        let start = self.sorted.partition_point(|&id| self.text(id) < prefix);
        let end =
            start + self.sorted[start..].partition_point(|&id| self.text(id).starts_with(prefix));
        start..end
    }

    /// The first sorted position at or after `from` whose term does not start with
    /// `prefix`, given that the term at `from` does. Gallops forward, so skipping a
    /// small block costs a few comparisons, a large one O(log n).
    pub fn skip_prefix(&self, from: usize, prefix: &str) -> usize {
        let n = self.sorted.len();
        let starts = |p: usize| self.text(self.sorted[p]).starts_with(prefix);
        let mut lo = from; // known to start with prefix
        let mut step = 1;
        let mut hi = from + 1;
        while hi < n && starts(hi) {
            lo = hi;
            hi += step;
            step *= 2;
        }
        let hi = hi.min(n);
        // First position in (lo, hi] that does not start with prefix.
        lo + 1 + self.sorted[lo + 1..hi].partition_point(|&id| self.text(id).starts_with(prefix))
    }

    /// The arena and spans in sorted order (for the codec): `(terms, old id → new id)`.
    pub fn sorted_terms(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        self.sorted.iter().map(move |&id| (id, self.text(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_insert_prefix() {
        let mut d = Dictionary::from_unsorted(vec!["beta".into(), "alpha".into(), "alpine".into()]);
        assert_eq!(d.get("alpha"), Some(1));
        assert_eq!(d.get("zeta"), None);
        let (id, new) = d.get_or_insert("alp");
        assert!(new);
        assert_eq!(d.text(id), "alp");
        assert_eq!(d.get_or_insert("alp"), (id, false));
        assert_eq!(d.get_or_insert("beta"), (0, false));
        let (zed, _) = d.get_or_insert("zed");
        let (aa, _) = d.get_or_insert("aa");
        d.finish();
        assert_eq!(d.get("zed"), Some(zed));
        assert_eq!(d.get("aa"), Some(aa));
        assert_eq!(d.at(0), aa);
        let r = d.prefix_range("alp");
        let terms: Vec<&str> = r.map(|p| d.text(d.at(p))).collect();
        assert_eq!(terms, ["alp", "alpha", "alpine"]);
        assert!(d.prefix_range("zz").is_empty());
        assert_eq!(d.skip_prefix(1, "alp"), 4);
        assert_eq!(d.skip_prefix(2, "alph"), 3);
        assert_eq!(d.skip_prefix(4, "beta"), 5);
    }
}
