//! Querying a chunk set: decide which files a query needs, and once the host has them,
//! assemble a partial [`Index`] holding exactly what the query touches and run the
//! whole index's own evaluation and ranking on it — so the hits are the same by
//! construction, not by a second implementation.
//!
//! Rounds (each [`ChunkedIndex::search`] call either answers or names what is missing;
//! a host with a warm cache usually answers in one or two):
//! 1. the lexicon, the tag texts and the table (fetched once per library, then cached);
//! 2. the posting chunks of the terms the query expands to, the filter chunks of its
//!    filters, and — for checks that read document text over all candidates (phrases,
//!    multi-word text filters, `id:`/`path:` filters) — the fragment packs;
//! 3. the fragment packs of the page's hits.

use super::lexicon::Lex;
use super::{filters, packs, postings, table, verify, Manifest, CHUNK_FORMAT};
use crate::model::{DocType, DocumentId};
use crate::search::exec::{expand, Lexicon};
use crate::search::hash::FxHashMap;
use crate::search::index::{Assembled, DocEntry, Index, IndexOptions, Posting};
use crate::search::query::{self, Query};
use crate::search::{tokenize, QueryError, SearchOptions, SearchResults};
use std::collections::{BTreeMap, HashMap};

/// Where the executor gets chunk bytes from: the host's cache of fetched files.
pub trait ChunkSource {
    /// The bytes of a file, if the host has them.
    fn chunk(&self, name: &str) -> Option<&[u8]>;
}

impl<S: std::hash::BuildHasher> ChunkSource for HashMap<String, Vec<u8>, S> {
    fn chunk(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(Vec::as_slice)
    }
}

/// One step of a query over chunks.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<T> {
    /// Fetch these files (names relative to the chunk set's base), then ask again.
    Need(Vec<String>),
    /// The answer.
    Done(T),
}

/// Errors of the chunked index.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ChunkError {
    /// The manifest is not valid JSON of the expected shape.
    #[error("chunk manifest: {0}")]
    Manifest(String),
    /// The manifest is of another format version.
    #[error("chunk format {0} is not supported (expected {CHUNK_FORMAT})")]
    Version(u32),
    /// A file's bytes do not match its name's hash or do not decode.
    #[error("chunk {0} is corrupt")]
    Corrupt(String),
    /// The query does not parse.
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// One document as the chunk set knows it (what `shelf.get` returns without a server).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocFragment {
    /// The document's id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub doc_type: DocType,
    /// Its display name.
    pub name: String,
    /// Its library-relative path.
    pub path: String,
    /// The start of the description, as much as the index stores (left out when empty,
    /// like `Shelf.get`'s summary).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Its tags (folded, as the index keeps them).
    pub tags: Vec<String>,
}

/// A chunk set opened from its manifest.
#[derive(Debug, Clone)]
pub struct ChunkedIndex {
    manifest: Manifest,
}

/// The global part every query reads (round 1).
struct Global {
    lex: Lex,
    rows: Vec<table::Row>,
    tags: Vec<String>,
}

fn corrupt(name: &str) -> ChunkError {
    ChunkError::Corrupt(name.to_owned())
}

/// The bytes of `name`, checked against its hash; `None` when missing.
fn get<'s>(src: &'s dyn ChunkSource, name: &str) -> Result<Option<&'s [u8]>, ChunkError> {
    match src.chunk(name) {
        Some(b) if verify(name, b) => Ok(Some(b)),
        Some(_) => Err(corrupt(name)),
        None => Ok(None),
    }
}

/// Collects the names in `want` that `src` lacks.
fn missing(src: &dyn ChunkSource, want: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = want
        .into_iter()
        .filter(|n| src.chunk(n).is_none())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// What a parsed query touches.
#[derive(Default)]
struct Needs {
    /// Lexicon ids of the terms whose postings the query reads.
    terms: Vec<u32>,
    /// `(term, prefix, fuzzy)` → lexicon ids and weights.
    expansions: FxHashMap<(String, bool, bool), Vec<(u32, f64)>>,
    /// Filter key prefixes (`"path\x1f"`).
    filter_keys: Vec<String>,
    /// Whether the query reads document text over all candidates.
    all_packs: bool,
}

impl ChunkedIndex {
    /// Opens a chunk set from its manifest's bytes.
    pub fn from_manifest(bytes: &[u8]) -> Result<ChunkedIndex, ChunkError> {
        let manifest = Manifest::from_json(bytes).map_err(ChunkError::Manifest)?;
        if manifest.format != CHUNK_FORMAT {
            return Err(ChunkError::Version(manifest.format));
        }
        Ok(ChunkedIndex { manifest })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Files every query needs first (the lexicon, tag texts and table): what a page
    /// can preload while the user starts typing.
    pub fn global_files(&self) -> Vec<String> {
        let m = &self.manifest;
        m.lexicon
            .iter()
            .map(|l| l.1.clone())
            .chain(std::iter::once(m.tags.clone()))
            .chain(m.table.iter().map(|t| t.1.clone()))
            .collect()
    }

    fn global(&self, src: &dyn ChunkSource) -> Result<Step<Global>, ChunkError> {
        let need = missing(src, self.global_files());
        if !need.is_empty() {
            return Ok(Step::Need(need));
        }
        let m = &self.manifest;
        let mut lex_bytes = Vec::new();
        for (_, n) in &m.lexicon {
            lex_bytes.push(get(src, n)?.ok_or_else(|| corrupt(n))?);
        }
        let lex = Lex::read(lex_bytes.into_iter(), m.postings.len() as u32)
            .map_err(|_| corrupt("lexicon"))?;
        let tags_b = get(src, &m.tags)?.ok_or_else(|| corrupt(&m.tags))?;
        let tags = table::read_tags(tags_b).map_err(|_| corrupt(&m.tags))?;
        let mut rows = Vec::with_capacity(m.docs as usize);
        for (first, n) in &m.table {
            if *first as usize != rows.len() {
                return Err(corrupt(n));
            }
            let b = get(src, n)?.ok_or_else(|| corrupt(n))?;
            rows.extend(table::read(b, tags.len()).map_err(|_| corrupt(n))?);
        }
        if rows.len() != m.docs as usize {
            return Err(corrupt("table"));
        }
        Ok(Step::Done(Global { lex, rows, tags }))
    }

    /// The pack holding a slot.
    fn pack_of(&self, slot: u32) -> Option<usize> {
        let i = self.manifest.packs.partition_point(|p| p.0 <= slot);
        i.checked_sub(1)
    }

    fn needs(&self, lex: &Lex, q: &Query, n: &mut Needs) {
        match q {
            Query::Term {
                term,
                prefix,
                fuzzy,
            } => {
                let key = (term.clone(), *prefix, *fuzzy);
                if !n.expansions.contains_key(&key) {
                    let exp = expand(lex, term, *prefix, *fuzzy);
                    n.terms.extend(exp.iter().map(|e| e.0));
                    n.expansions.insert(key, exp);
                }
            }
            Query::Phrase(terms) => {
                n.terms.extend(terms.iter().filter_map(|t| lex.lookup(t)));
                n.all_packs = true;
            }
            Query::Filter { field, value } => match field.as_str() {
                "type" => {}
                "id" | "path" => n.all_packs = true,
                "name" | "description" | "body" => {
                    let want = tokenize::tokens(&value.text);
                    if want.len() == 1 && value.prefix {
                        n.terms.extend(lex.prefixed(&want[0]));
                    } else if !want.is_empty() {
                        n.terms.extend(want.iter().filter_map(|w| lex.lookup(w)));
                        if want.len() > 1 {
                            n.all_packs = true;
                        }
                    }
                }
                other => {
                    let path = match other {
                        "tag" | "tags" => "tags",
                        "author" | "authors" => "authors",
                        p => p
                            .strip_prefix("content.")
                            .or_else(|| p.strip_prefix("frontmatter."))
                            .unwrap_or(p),
                    };
                    n.filter_keys
                        .push(format!("{path}{}", crate::search::index::KEY_SEP));
                }
            },
            Query::Not(inner) => self.needs(lex, inner, n),
            Query::And(v) | Query::Or(v) => {
                for c in v {
                    self.needs(lex, c, n);
                }
            }
        }
    }

    /// Filter chunks whose key range may hold keys starting with `prefix`.
    fn filter_chunks(&self, prefix: &str) -> Vec<String> {
        let f = &self.manifest.filters;
        // Chunk i covers [first_i, first_{i+1}).
        let start = f
            .partition_point(|c| c.0.as_str() <= prefix)
            .saturating_sub(1);
        let mut out = Vec::new();
        for (i, c) in f.iter().enumerate().skip(start) {
            if i > start && !c.0.starts_with(prefix) && c.0.as_str() > prefix {
                break;
            }
            out.push(c.1.clone());
        }
        out
    }

    /// Runs a query: the same results as [`Index::search`] on the index this set was
    /// cut from, or the files still needed.
    pub fn search(
        &self,
        q: &str,
        opts: &SearchOptions,
        src: &dyn ChunkSource,
    ) -> Result<Step<SearchResults>, ChunkError> {
        let parsed = query::parse(
            q,
            query::ParseOptions {
                prefix_last: opts.prefix_last,
            },
        )?;
        self.search_query(&parsed, opts, src)
    }

    /// [`ChunkedIndex::search`] for a parsed query.
    pub fn search_query(
        &self,
        q: &Query,
        opts: &SearchOptions,
        src: &dyn ChunkSource,
    ) -> Result<Step<SearchResults>, ChunkError> {
        let g = match self.global(src)? {
            Step::Need(n) => return Ok(Step::Need(n)),
            Step::Done(g) => g,
        };
        let m = &self.manifest;
        let mut needs = Needs::default();
        self.needs(&g.lex, q, &mut needs);

        // Round 2: postings, filters, packs for text checks.
        let mut want: Vec<String> = Vec::new();
        needs.terms.sort_unstable();
        needs.terms.dedup();
        let mut chunks: Vec<u32> = Vec::new();
        for &t in &needs.terms {
            let (a, b) = g.lex.span[t as usize];
            chunks.extend(a..=b);
        }
        chunks.sort_unstable();
        chunks.dedup();
        want.extend(chunks.iter().map(|&c| m.postings[c as usize].clone()));
        let mut fchunks: Vec<String> = Vec::new();
        for k in &needs.filter_keys {
            fchunks.extend(self.filter_chunks(k));
        }
        want.extend(fchunks.iter().cloned());
        if needs.all_packs {
            want.extend(m.packs.iter().map(|p| p.2.clone()));
        }
        let need = missing(src, want);
        if !need.is_empty() {
            return Ok(Step::Need(need));
        }

        // Assemble: the needed terms (ids in lexicon order), their full lists.
        let terms: Vec<u32> = needs.terms.clone();
        let mut pos: FxHashMap<String, u32> = FxHashMap::default();
        for (i, &t) in terms.iter().enumerate() {
            pos.insert(g.lex.text(t).to_owned(), i as u32);
        }
        let mut lists: Vec<Vec<Posting>> = vec![Vec::new(); terms.len()];
        for &c in &chunks {
            let n = &m.postings[c as usize];
            let b = get(src, n)?.ok_or_else(|| corrupt(n))?;
            postings::read(b, &pos, &mut lists).map_err(|_| corrupt(n))?;
        }
        for (i, &t) in terms.iter().enumerate() {
            let ok = lists[i].len() == g.lex.df[t as usize] as usize
                && lists[i].last().is_none_or(|p| p.doc < m.docs);
            if !ok {
                return Err(corrupt("postings"));
            }
        }
        let mut fmap = BTreeMap::new();
        fchunks.sort_unstable();
        fchunks.dedup();
        for n in &fchunks {
            let b = get(src, n)?.ok_or_else(|| corrupt(n))?;
            filters::read(b, &mut fmap).map_err(|_| corrupt(n))?;
        }
        if fmap.values().flatten().any(|&s| s >= m.docs) {
            return Err(corrupt("filters"));
        }
        let ix = self.assemble(g, &terms, lists, fmap, &needs, src)?;

        // Round 3: the page's packs.
        let r = ix.rank_page(q, opts);
        let need = missing(
            src,
            r.page
                .iter()
                .filter_map(|&(_, s)| self.pack_of(s))
                .map(|p| m.packs[p].2.clone()),
        );
        if !need.is_empty() {
            return Ok(Step::Need(need));
        }
        let hits = r
            .page
            .iter()
            .filter_map(|&(score, slot)| ix.hit(slot, score, &r.terms, opts.snippets))
            .map(|h| h.owned())
            .collect();
        Ok(Step::Done(SearchResults {
            total: r.total,
            offset: opts.offset,
            limit: opts.limit,
            hits,
            facets: r.facets.owned(),
        }))
    }

    fn assemble(
        &self,
        g: Global,
        terms: &[u32],
        lists: Vec<Vec<Posting>>,
        filters: BTreeMap<String, Vec<u32>>,
        needs: &Needs,
        src: &dyn ChunkSource,
    ) -> Result<Index, ChunkError> {
        let m = &self.manifest;
        let mut docs: Vec<DocEntry> = g
            .rows
            .into_iter()
            .map(|r| DocEntry {
                doc_type: r.doc_type,
                tags: r.tags,
                len: r.len,
                ..DocEntry::default()
            })
            .collect();
        let mut by_id = crate::search::hash::FxHashMap::default();
        // Every pack the host has: the page's hits read them, text checks need them all.
        for (first, _, n) in &m.packs {
            let Some(b) = get(src, n)? else { continue };
            let frags = packs::read(b).map_err(|_| corrupt(n))?;
            for (k, f) in frags.into_iter().enumerate() {
                let slot = *first as usize + k;
                let e = docs.get_mut(slot).ok_or_else(|| corrupt(n))?;
                e.id = DocumentId(f.id);
                e.name = f.name;
                e.path = f.path;
                e.description = f.description;
                e.body = f.body;
                e.desc_full = f.desc_full;
                e.body_full = f.body_full;
                by_id.insert(e.id.clone(), slot as u32);
            }
        }
        let texts: Vec<String> = terms.iter().map(|&t| g.lex.text(t).to_owned()).collect();
        let mut local: FxHashMap<u32, u32> = FxHashMap::default();
        for (i, &t) in terms.iter().enumerate() {
            local.insert(t, i as u32);
        }
        let expansions = needs
            .expansions
            .iter()
            .map(|(k, v)| {
                let v = v
                    .iter()
                    .filter_map(|&(t, w)| local.get(&t).map(|&i| (i, w)))
                    .collect();
                (k.clone(), v)
            })
            .collect();
        let tag_ids = g
            .tags
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Ok(Index {
            docs,
            by_id,
            dict: crate::search::dict::Dictionary::from_unsorted(texts),
            postings: lists,
            filters,
            tags: g.tags,
            tag_ids,
            total_len: m.total_len,
            opts: IndexOptions {
                stored_text_bytes: m.stored_text_bytes,
            },
            chunked: Some(Box::new(Assembled {
                docs: m.docs as usize,
                expansions,
            })),
            ..Index::default()
        })
    }

    /// One document's fragment by id (its table chunk and pack), or `None` if the set
    /// has no such document.
    pub fn get(
        &self,
        id: &str,
        src: &dyn ChunkSource,
    ) -> Result<Step<Option<DocFragment>>, ChunkError> {
        let m = &self.manifest;
        let i = m.packs.partition_point(|p| p.1.as_str() <= id);
        let Some(p) = i.checked_sub(1).map(|i| &m.packs[i]) else {
            return Ok(Step::Done(None));
        };
        let mut want = vec![p.2.clone(), m.tags.clone()];
        // The pack's table chunk(s): those covering its first slot onwards.
        let t0 = m.table.partition_point(|t| t.0 <= p.0).saturating_sub(1);
        want.extend(m.table.iter().skip(t0).take(2).map(|t| t.1.clone()));
        let need = missing(src, want);
        if !need.is_empty() {
            return Ok(Step::Need(need));
        }
        let frags = packs::read(get(src, &p.2)?.ok_or_else(|| corrupt(&p.2))?)
            .map_err(|_| corrupt(&p.2))?;
        let Some(k) = frags.iter().position(|f| f.id == id) else {
            return Ok(Step::Done(None));
        };
        let slot = p.0 + k as u32;
        let tags = table::read_tags(get(src, &m.tags)?.ok_or_else(|| corrupt(&m.tags))?)
            .map_err(|_| corrupt(&m.tags))?;
        let ti = m.table.partition_point(|t| t.0 <= slot).saturating_sub(1);
        let (first, tn) = &m.table[ti];
        if src.chunk(tn).is_none() {
            return Ok(Step::Need(vec![tn.clone()]));
        }
        let rows = table::read(get(src, tn)?.ok_or_else(|| corrupt(tn))?, tags.len())
            .map_err(|_| corrupt(tn))?;
        let row = rows
            .get((slot - first) as usize)
            .ok_or_else(|| corrupt(tn))?;
        let f = &frags[k];
        Ok(Step::Done(Some(DocFragment {
            id: f.id.clone(),
            doc_type: row.doc_type.unwrap_or(DocType::Persona),
            name: f.name.clone(),
            path: f.path.clone(),
            description: f.description.clone(),
            tags: row.tags.iter().map(|&t| tags[t as usize].clone()).collect(),
        })))
    }
}
