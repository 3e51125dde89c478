//! Full-text search: one engine for the browser (wasm), the edge worker and the local
//! server, so the same query gives the same ranked hits everywhere.
//!
//! ```
//! use promptshelf_core::search::{Index, SearchOptions};
//! # let docs: Vec<promptshelf_core::Document> = Vec::new();
//! let index = Index::build(&docs);
//! let results = index.search("type:persona support agent", &SearchOptions::default()).unwrap();
//! let blob = index.to_bytes();
//! let loaded = Index::from_bytes(&blob).unwrap();
//! # let _ = (results, loaded);
//! ```
//!
//! Map: [`tokenize`] (text → folded terms), [`query`] (query language → AST),
//! `index` (the structure and its incremental updates), `exec` (evaluation),
//! [`rank`] (multi-field BM25), `fuzzy` (typo tolerance), [`snippet`], [`facets`], `codec`
//! (the binary format), `rice` (its posting-gap coding).

pub mod chunked;
mod codec;
mod dict;
mod exec;
pub mod facets;
mod fields;
mod filter;
mod fuzzy;
mod hash;
mod index;
pub mod labels;
pub mod query;
pub mod rank;
mod rice;
pub mod snippet;
pub mod tokenize;

pub use codec::{codec_header, CodecError, FORMAT_VERSION, MAGIC};
pub use facets::{FacetCount, Facets, FacetsRef};
pub use fields::Field;
pub use index::{DocInfo, Index, IndexOptions, Prepared};
pub use query::{Query, QueryError};
pub use snippet::Snippet;

use crate::model::{DocType, DocumentId};
use serde::{Deserialize, Serialize};

/// Whether the last word of a query also matches as a prefix when the caller does not
/// say otherwise. One default for every host — the CLI (`promptshelf search`), the read
/// API (`/v1/search`) and the npm package (`shelf.search`) — so the same query string
/// gives the same ranked hits everywhere: a word stem typed at a terminal (`recrui`)
/// finds what the dashboard's search box finds.
pub const PREFIX_LAST: bool = true;

/// How to run a search. Deserializable with defaults for every field, so hosts can
/// take it from JSON or query strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchOptions {
    /// Hits per page (default 20).
    pub limit: usize,
    /// Hits to skip (default 0).
    pub offset: usize,
    /// Treat an unfinished last word as a prefix (search-as-you-type; default
    /// [`PREFIX_LAST`]).
    pub prefix_last: bool,
    /// Compute highlighted snippets for the page's hits (default true).
    pub snippets: bool,
    /// Compute facet counts over all matches (default true).
    pub facets: bool,
    /// Most tag values in the tag facet (default 20).
    pub max_facet_values: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            offset: 0,
            prefix_last: PREFIX_LAST,
            snippets: true,
            facets: true,
            max_facet_values: 20,
        }
    }
}

/// One ranked hit, with what a result list shows (no store needed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The document's id.
    pub id: DocumentId,
    /// Its type.
    #[serde(rename = "type")]
    pub doc_type: DocType,
    /// Its display name.
    pub name: String,
    /// Its library-relative path.
    pub path: String,
    /// Relevance (multi-field BM25, boosts applied), rounded to 6 decimals; 0 for queries with
    /// no text part (filters only).
    pub score: f64,
    /// Index terms of the query that this document contains (after prefix and typo
    /// expansion), sorted.
    pub matched: Vec<String>,
    /// The best window of the document's text with the matches marked (unless snippets are off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<Snippet>,
}

/// A page of ranked hits plus counts over the whole matching set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// Number of matching documents (all pages).
    pub total: usize,
    /// Hits skipped before this page.
    pub offset: usize,
    /// The page size asked for.
    pub limit: usize,
    /// This page's hits, best first.
    pub hits: Vec<Hit>,
    /// Counts by type and tag over all matches.
    pub facets: Facets,
}

/// A hit borrowing the index's strings: what [`Index::search_ref`] returns, for hosts
/// that serialize the results at once (the browser build) and need no copies.
#[derive(Debug, Clone, PartialEq)]
pub struct HitRef<'a> {
    /// The document's id.
    pub id: &'a DocumentId,
    /// Its type.
    pub doc_type: DocType,
    /// Its display name.
    pub name: &'a str,
    /// Its library-relative path.
    pub path: &'a str,
    /// Relevance, as in [`Hit::score`].
    pub score: f64,
    /// Index terms of the query the document contains, sorted.
    pub matched: Vec<&'a str>,
    /// The snippet, as in [`Hit::snippet`].
    pub snippet: Option<Snippet>,
}

/// [`SearchResults`] borrowing the index's strings (see [`HitRef`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResultsRef<'a> {
    /// Number of matching documents (all pages).
    pub total: usize,
    /// Hits skipped before this page.
    pub offset: usize,
    /// The page size asked for.
    pub limit: usize,
    /// This page's hits, best first.
    pub hits: Vec<HitRef<'a>>,
    /// Counts by type and tag over all matches.
    pub facets: FacetsRef<'a>,
}

impl HitRef<'_> {
    /// A copy that owns its strings.
    pub fn owned(&self) -> Hit {
        Hit {
            id: self.id.clone(),
            doc_type: self.doc_type,
            name: self.name.to_owned(),
            path: self.path.to_owned(),
            score: self.score,
            matched: self.matched.iter().map(|&m| m.to_owned()).collect(),
            snippet: self.snippet.clone(),
        }
    }
}

impl SearchResults {
    /// A borrowing view, for hosts that serialize [`SearchResultsRef`]s (the browser
    /// build, whose chunked search owns its results).
    pub fn as_ref(&self) -> SearchResultsRef<'_> {
        SearchResultsRef {
            total: self.total,
            offset: self.offset,
            limit: self.limit,
            hits: self
                .hits
                .iter()
                .map(|h| HitRef {
                    id: &h.id,
                    doc_type: h.doc_type,
                    name: &h.name,
                    path: &h.path,
                    score: h.score,
                    matched: h.matched.iter().map(String::as_str).collect(),
                    snippet: h.snippet.clone(),
                })
                .collect(),
            facets: FacetsRef {
                doc_type: self
                    .facets
                    .doc_type
                    .iter()
                    .filter_map(|f| DocType::parse(&f.value).map(|t| (t.as_str(), f.count)))
                    .collect(),
                tags: self
                    .facets
                    .tags
                    .iter()
                    .map(|f| (f.value.as_str(), f.count))
                    .collect(),
            },
        }
    }
}

impl SearchResultsRef<'_> {
    /// A copy that owns its strings.
    pub fn owned(&self) -> SearchResults {
        SearchResults {
            total: self.total,
            offset: self.offset,
            limit: self.limit,
            hits: self.hits.iter().map(HitRef::owned).collect(),
            facets: self.facets.owned(),
        }
    }
}

impl Index {
    /// Parses and runs a query. Errors only for bad syntax; an unknown field or type
    /// simply matches nothing. Ranking: score descending, then id ascending, so
    /// results are stable and identical on every host.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults, QueryError> {
        Ok(self.search_ref(query, opts)?.owned())
    }

    /// [`Index::search`] with the hits' strings borrowed from the index.
    pub fn search_ref(
        &self,
        query: &str,
        opts: &SearchOptions,
    ) -> Result<SearchResultsRef<'_>, QueryError> {
        let q = query::parse(
            query,
            query::ParseOptions {
                prefix_last: opts.prefix_last,
            },
        )?;
        Ok(self.search_query_ref(&q, opts))
    }

    /// Runs an already parsed query.
    pub fn search_query(&self, q: &Query, opts: &SearchOptions) -> SearchResults {
        self.search_query_ref(q, opts).owned()
    }

    /// [`Index::search_query`] with the hits' strings borrowed from the index.
    pub fn search_query_ref(&self, q: &Query, opts: &SearchOptions) -> SearchResultsRef<'_> {
        let r = self.rank_page(q, opts);
        let hits = r
            .page
            .iter()
            .filter_map(|&(score, slot)| self.hit(slot, score, &r.terms, opts.snippets))
            .collect();
        SearchResultsRef {
            total: r.total,
            offset: opts.offset,
            limit: opts.limit,
            hits,
            facets: r.facets,
        }
    }

    /// Evaluates, counts facets and ranks: everything but the hits' texts (so the
    /// chunked index can fetch the page's documents before making them).
    pub(crate) fn rank_page(&self, q: &Query, opts: &SearchOptions) -> Ranked<'_> {
        let mut ex = exec::Exec::new(self);
        let matches = ex.eval(q);
        let total = matches.len();
        let facets = if opts.facets {
            facets::compute(self, matches.iter().map(|m| m.0), opts.max_facet_values)
        } else {
            FacetsRef::default()
        };
        let mut ranked: Vec<(i64, u32)> = matches
            .iter()
            .map(|&(s, score)| (rank::quantize(score), s))
            .collect();
        // An assembled index numbers its slots in id order (and holds only some ids).
        let by_slot = self.chunked.is_some();
        let cmp = |a: &(i64, u32), b: &(i64, u32)| {
            b.0.cmp(&a.0).then_with(|| {
                if by_slot {
                    a.1.cmp(&b.1)
                } else {
                    self.docs[a.1 as usize].id.cmp(&self.docs[b.1 as usize].id)
                }
            })
        };
        let end = opts.offset.saturating_add(opts.limit).min(ranked.len());
        if end < ranked.len() {
            // Only the pages up to this one need an order (none for `limit: 0`, a count).
            if end > 0 {
                ranked.select_nth_unstable_by(end - 1, cmp);
            }
            ranked.truncate(end);
        }
        ranked.sort_unstable_by(cmp);

        let mut terms: Vec<u32> = ex.positive_terms.clone();
        terms.sort_unstable();
        terms.dedup();
        let page = ranked
            .into_iter()
            .skip(opts.offset)
            .take(opts.limit)
            .collect();
        Ranked {
            total,
            facets,
            page,
            terms,
        }
    }

    pub(crate) fn hit(
        &self,
        slot: u32,
        score: i64,
        terms: &[u32],
        snippets: bool,
    ) -> Option<HitRef<'_>> {
        let e = self.docs.get(slot as usize)?;
        let mut matched: Vec<&str> = terms
            .iter()
            .filter(|&&t| {
                self.postings[t as usize]
                    .binary_search_by_key(&slot, |p| p.doc)
                    .is_ok()
            })
            .map(|&t| self.dict.text(t))
            .collect();
        matched.sort_unstable();
        let snippet = if snippets {
            // `matched` is sorted and duplicate-free (distinct term ids, distinct texts):
            // what `snippet::make` looks terms up in.
            let body = snippet::Source::new(&e.body, e.body_full);
            let desc = snippet::Source::new(&e.description, e.desc_full);
            let name = snippet::Source::new(&e.name, true);
            snippet::make("body", body, &matched)
                .or_else(|| snippet::make("description", desc, &matched))
                .or_else(|| snippet::make("name", name, &matched))
                .or_else(|| snippet::lead("description", desc))
                .or_else(|| snippet::lead("body", body))
        } else {
            None
        };
        Some(HitRef {
            id: &e.id,
            doc_type: e.doc_type?,
            name: &e.name,
            path: &e.path,
            score: score as f64 / 1e6,
            matched,
            snippet,
        })
    }
}

/// The outcome of [`Index::rank_page`].
pub(crate) struct Ranked<'a> {
    pub total: usize,
    pub facets: FacetsRef<'a>,
    /// The page: (quantized score, slot), best first.
    pub page: Vec<(i64, u32)>,
    /// Positive term ids, sorted, distinct.
    pub terms: Vec<u32>,
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
