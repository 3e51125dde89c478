//! Evaluates a [`Query`] against an [`Index`]: each node becomes a set of
//! `(slot, score)` sorted by slot; AND intersects (scores add), OR unites (scores
//! add), NOT subtracts, filters intersect with score 0.

use super::fields::{Field, NF};
use super::filter;
use super::fuzzy;
use super::index::{Index, Posting};
use super::query::Query;
use super::rank::{self, Stats};
use super::tokenize;

/// Most prefix expansions per query term (the most frequent terms are kept), so one
/// typed letter does not touch the whole dictionary.
pub const MAX_PREFIX_EXPANSIONS: usize = 40;
/// Most fuzzy expansions per query term (closest, then most frequent).
pub const MAX_FUZZY_EXPANSIONS: usize = 20;

pub type Set = Vec<(u32, f64)>;

/// What expanding a query term needs from a dictionary: the whole index has it, and so
/// has the chunked index's lexicon (terms and document frequencies, no postings), so
/// both expand a term the same way.
pub(crate) trait Lexicon {
    /// Id of a term, if known.
    fn lookup(&self, term: &str) -> Option<u32>;
    /// Document frequency of a term id.
    fn df(&self, id: u32) -> usize;
    /// Text of a term id.
    fn text(&self, id: u32) -> &str;
    /// Ids of the terms starting with `prefix`, in term order.
    fn prefixed(&self, prefix: &str) -> Vec<u32>;
    /// Terms within `max` edits of `term` (excluding itself).
    fn near(&self, term: &str, max: u8) -> Vec<(u32, u8)>;
}

impl Lexicon for Index {
    fn lookup(&self, term: &str) -> Option<u32> {
        self.dict.get(term)
    }
    fn df(&self, id: u32) -> usize {
        self.postings[id as usize].len()
    }
    fn text(&self, id: u32) -> &str {
        self.dict.text(id)
    }
    fn prefixed(&self, prefix: &str) -> Vec<u32> {
        self.dict
            .prefix_range(prefix)
            .map(|p| self.dict.at(p))
            .collect()
    }
    fn near(&self, term: &str, max: u8) -> Vec<(u32, u8)> {
        self.grams
            .get_or_init(|| fuzzy::GramIndex::build(&self.dict))
            .search(&self.dict, term, max)
    }
}

/// The index terms a query term reaches in `lex`, with their weights. (A trait object,
/// not a generic: one copy of this code in the browser module for both lexicons.)
pub(crate) fn expand(lex: &dyn Lexicon, term: &str, prefix: bool, fuzzy: bool) -> Vec<(u32, f64)> {
    let df = |id: u32| lex.df(id);
    let mut exp: Vec<(u32, f64)> = Vec::new();
    let exact = lex.lookup(term).filter(|&id| df(id) > 0);
    if let Some(id) = exact {
        exp.push((id, rank::W_EXACT));
    }
    let qchars = term.chars().count();
    if prefix {
        let mut cands: Vec<u32> = lex
            .prefixed(term)
            .into_iter()
            .filter(|&id| Some(id) != exact && df(id) > 0)
            .collect();
        if cands.len() > MAX_PREFIX_EXPANSIONS {
            // Unstable is enough: term texts are distinct, so the order is total.
            cands.sort_unstable_by(|&a, &b| {
                df(b).cmp(&df(a)).then_with(|| lex.text(a).cmp(lex.text(b)))
            });
            cands.truncate(MAX_PREFIX_EXPANSIONS);
        }
        for id in cands {
            let tchars = lex.text(id).chars().count();
            exp.push((id, rank::prefix_weight(qchars, tchars)));
        }
    }
    if fuzzy {
        let max = fuzzy::max_distance(qchars);
        if max > 0 {
            let mut cands: Vec<(u32, u8)> = lex
                .near(term, max)
                .into_iter()
                .filter(|&(id, _)| df(id) > 0 && !exp.iter().any(|e| e.0 == id))
                .collect();
            cands.sort_unstable_by(|a, b| {
                a.1.cmp(&b.1)
                    .then_with(|| df(b.0).cmp(&df(a.0)))
                    .then_with(|| lex.text(a.0).cmp(lex.text(b.0)))
            });
            cands.truncate(MAX_FUZZY_EXPANSIONS);
            for (id, d) in cands {
                exp.push((id, rank::W_FUZZY[d as usize]));
            }
        }
    }
    exp
}

pub struct Exec<'a> {
    ix: &'a Index,
    stats: Stats,
    /// Index terms that matched outside negations (for `matched` and snippets).
    pub positive_terms: Vec<u32>,
    negated: usize,
}

impl<'a> Exec<'a> {
    pub fn new(ix: &'a Index) -> Exec<'a> {
        let n = ix.len().max(1) as f64;
        let mut avg_len = [1.0; NF];
        for (f, avg) in avg_len.iter_mut().enumerate() {
            let a = ix.total_len[f] as f64 / n;
            if a > 1.0 {
                *avg = a;
            }
        }
        Exec {
            ix,
            stats: Stats {
                docs: ix.len() as f64,
                avg_len,
            },
            positive_terms: Vec::new(),
            negated: 0,
        }
    }

    fn universe(&self) -> Set {
        self.ix
            .alive_slots()
            .into_iter()
            .map(|s| (s, 0.0))
            .collect()
    }

    pub fn eval(&mut self, q: &Query) -> Set {
        match q {
            Query::Term {
                term,
                prefix,
                fuzzy,
            } => self.term(term, *prefix, *fuzzy),
            Query::Phrase(terms) => self.phrase(terms),
            Query::Filter { field, value } => filter::eval(self.ix, field, value)
                .into_iter()
                .map(|s| (s, 0.0))
                .collect(),
            Query::Not(inner) => {
                self.negated += 1;
                let excl = self.eval(inner);
                self.negated -= 1;
                subtract(self.universe(), &excl)
            }
            Query::And(children) => self.and(children),
            Query::Or(children) => {
                let mut acc: Set = Vec::new();
                for c in children {
                    let s = self.eval(c);
                    acc = union(&acc, &s);
                }
                acc
            }
        }
    }

    fn and(&mut self, children: &[Query]) -> Set {
        let mut pos: Vec<Set> = Vec::new();
        let mut neg: Vec<Set> = Vec::new();
        for c in children {
            match c {
                Query::Not(inner) => {
                    self.negated += 1;
                    neg.push(self.eval(inner));
                    self.negated -= 1;
                }
                _ => pos.push(self.eval(c)),
            }
        }
        let mut acc = if pos.is_empty() {
            self.universe()
        } else {
            pos.sort_by_key(|s| s.len());
            let mut it = pos.into_iter();
            let mut acc = it.next().unwrap_or_default();
            for s in it {
                if acc.is_empty() {
                    break;
                }
                acc = intersect(&acc, &s);
            }
            acc
        };
        for n in &neg {
            acc = subtract(acc, n);
        }
        acc
    }

    #[inline]
    fn score(&self, p: &Posting, idf: f64) -> f64 {
        rank::score_len(p, &self.stats, &self.ix.docs[p.doc as usize].len, idf)
    }

    fn score_list(&self, list: &[Posting], weight: f64) -> Set {
        let idf = rank::idf(&self.stats, list.len());
        list.iter()
            .map(|p| (p.doc, weight * self.score(p, idf)))
            .collect()
    }

    /// The index terms a query term reaches, with their weights (fixed in advance for
    /// an index assembled from chunks, whose dictionary holds only the terms fetched).
    fn expansions(&self, term: &str, prefix: bool, fuzzy: bool) -> Vec<(u32, f64)> {
        if let Some(c) = &self.ix.chunked {
            return c
                .expansions
                .get(&(term.to_owned(), prefix, fuzzy))
                .cloned()
                .unwrap_or_default();
        }
        expand(self.ix, term, prefix, fuzzy)
    }

    fn term(&mut self, term: &str, prefix: bool, fuzzy: bool) -> Set {
        let exp = self.expansions(term, prefix, fuzzy);
        if self.negated == 0 {
            self.positive_terms.extend(exp.iter().map(|e| e.0));
        }
        match exp.len() {
            0 => Vec::new(),
            1 => self.score_list(&self.ix.postings[exp[0].0 as usize], exp[0].1),
            _ => {
                // A document's score for the term is its best expansion's.
                let total: usize = exp
                    .iter()
                    .map(|e| self.ix.postings[e.0 as usize].len())
                    .sum();
                let n = self.ix.docs.len();
                if total > n / 8 {
                    // Dense: one slot per document, read back in slot order.
                    let mut best = vec![-1.0f64; n];
                    for (id, w) in &exp {
                        let list = &self.ix.postings[*id as usize];
                        let idf = rank::idf(&self.stats, list.len());
                        for p in list {
                            let s = w * self.score(p, idf);
                            let b = &mut best[p.doc as usize];
                            if s > *b {
                                *b = s;
                            }
                        }
                    }
                    best.into_iter()
                        .enumerate()
                        .filter(|e| e.1 >= 0.0)
                        .map(|(d, s)| (d as u32, s))
                        .collect()
                } else {
                    let mut all: Set = Vec::with_capacity(total);
                    for (id, w) in &exp {
                        all.extend(self.score_list(&self.ix.postings[*id as usize], *w));
                    }
                    all.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
                    all.dedup_by_key(|e| e.0);
                    all
                }
            }
        }
    }

    fn phrase(&mut self, terms: &[String]) -> Set {
        let ix = self.ix;
        let mut ids = Vec::with_capacity(terms.len());
        for t in terms {
            match ix.dict.get(t) {
                Some(id) if !ix.postings[id as usize].is_empty() => ids.push(id),
                _ => return Vec::new(),
            }
        }
        if self.negated == 0 {
            self.positive_terms.extend(&ids);
        }
        // Intersect, rarest first, keeping the fields every term occurs in.
        let mut order: Vec<u32> = ids.clone();
        order.sort_by_key(|&id| ix.postings[id as usize].len());
        let mut acc: Vec<(u32, f64, u8)> = Vec::new();
        for (k, &id) in order.iter().enumerate() {
            let list = &ix.postings[id as usize];
            let idf = rank::idf(&self.stats, list.len());
            if k == 0 {
                acc = list
                    .iter()
                    .map(|p| (p.doc, self.score(p, idf), mask(p)))
                    .collect();
                continue;
            }
            let mut next = Vec::with_capacity(acc.len());
            let mut j = 0;
            for &(doc, s, m) in &acc {
                j += list[j..].partition_point(|p| p.doc < doc);
                if let Some(p) = list.get(j) {
                    if p.doc == doc && m & mask(p) != 0 {
                        next.push((doc, s + self.score(p, idf), m & mask(p)));
                    }
                }
            }
            acc = next;
            if acc.is_empty() {
                return Vec::new();
            }
        }
        let mut ring = PhraseMatcher::new(terms);
        acc.into_iter()
            .filter_map(|(doc, s, m)| {
                let e = &ix.docs[doc as usize];
                let verified = (m & bit(Field::Body) != 0 && ring.found_in(&e.body))
                    || (m & bit(Field::Name) != 0 && ring.found_in(&e.name))
                    || (m & bit(Field::Description) != 0 && ring.found_in(&e.description))
                    || (m & bit(Field::Tags) != 0
                        && e.tags.iter().any(|&t| ring.found_in(&ix.tags[t as usize])));
                if verified {
                    Some((doc, s))
                } else if (m & bit(Field::Body) != 0 && !e.body_full)
                    || (m & bit(Field::Description) != 0 && !e.desc_full)
                {
                    // The words are in a text past its stored part: cannot check
                    // adjacency, so keep it below verified matches.
                    Some((doc, s * rank::W_UNVERIFIED_PHRASE))
                } else {
                    None
                }
            })
            .collect()
    }
}

fn bit(f: Field) -> u8 {
    1 << (f as u8)
}

/// Fields where the posting's term occurs, as bits (the unstored `Other` excluded).
fn mask(p: &Posting) -> u8 {
    let mut m = 0;
    for f in [Field::Name, Field::Tags, Field::Description, Field::Body] {
        if p.tf[f as usize] > 0 {
            m |= bit(f);
        }
    }
    m
}

/// Finds a run of folded terms in a text, reusing its buffers across texts.
struct PhraseMatcher<'q> {
    terms: &'q [String],
    ring: Vec<String>,
}

impl<'q> PhraseMatcher<'q> {
    fn new(terms: &'q [String]) -> Self {
        PhraseMatcher {
            terms,
            ring: vec![String::new(); terms.len()],
        }
    }

    fn found_in(&mut self, text: &str) -> bool {
        let n = self.terms.len();
        let mut count = 0usize;
        let mut found = false;
        let ring = &mut self.ring;
        let terms = self.terms;
        // Cheap pre-check on the rarest-looking word is left to the postings; here we
        // only walk tokens once.
        tokenize::for_each_token(text, |t, _, _| {
            if found {
                return;
            }
            let slot = count % n;
            ring[slot].clear();
            ring[slot].push_str(t);
            count += 1;
            if count >= n && t == terms[n - 1] {
                found = (0..n).all(|i| ring[(count - n + i) % n] == terms[i]);
            }
        });
        found
    }
}

/// Slots in both, scores added.
pub fn intersect(a: &Set, b: &Set) -> Set {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    let mut j = 0;
    for &(doc, s) in small {
        j += large[j..].partition_point(|e| e.0 < doc);
        match large.get(j) {
            Some(&(d2, s2)) if d2 == doc => out.push((doc, s + s2)),
            Some(_) => {}
            None => break,
        }
    }
    out
}

/// Slots in either, scores added.
pub fn union(a: &Set, b: &Set) -> Set {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Slots of `a` not in `b`.
pub fn subtract(a: Set, b: &Set) -> Set {
    if b.is_empty() {
        return a;
    }
    let mut j = 0;
    a.into_iter()
        .filter(|&(doc, _)| {
            j += b[j..].partition_point(|e| e.0 < doc);
            !matches!(b.get(j), Some(e) if e.0 == doc)
        })
        .collect()
}
