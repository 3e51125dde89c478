//! The chunked index: the whole [`Index`] cut into small immutable files, so a host
//! that reads it over a network (the browser, the edge) fetches only what a query
//! needs — Pagefind's idea, with promptshelf's own ranking, typos, prefixes, filters
//! and facets, and the same ranked hits as the whole index.
//!
//! Files (`ChunkSet::files`), each named by the hash of its bytes (so everything but
//! the manifest is immutable and cacheable forever):
//! - `manifest.json` ([`Manifest`]): format version, collection statistics BM25 needs,
//!   and the list of every other file with what it covers;
//! - `lexicon/…` ([`lexicon`]): every term with its document frequency and the posting
//!   chunks holding it — fetched whole once, so prefix and typo expansion choose
//!   exactly as the whole index does;
//! - `postings/…` ([`postings`]): posting lists by term range, size-bounded (long lists
//!   are split across chunks);
//! - `table/…` ([`table`]) and `tags/…`: per-document type, tags and field lengths (what
//!   scores and facets read for every match);
//! - `packs/…` ([`packs`]): per-document fragments (id, name, path, snippet text),
//!   content-defined groups, fetched for the page's hits;
//! - `filters/…` ([`filters`]): the field-filter table by key range.
//!
//! Documents are numbered in id order here, so ranking ties (broken by id) break by
//! number without fetching ids. Querying is pure: [`ChunkedIndex::search`] either
//! answers or names the files it still needs; the host fetches them and asks again
//! ([`Step`]).

mod exec;
mod filters;
mod lexicon;
mod packs;
mod postings;
mod table;
mod wire;

pub use exec::{ChunkError, ChunkSource, ChunkedIndex, DocFragment, Step};

use super::fields::NF;
use super::index::{Index, Posting, KEY_SEP};
use serde::Serialize;
use serde_json::Value;

/// Version of the chunk format (the manifest's `format`); a reader refuses others.
pub const CHUNK_FORMAT: u32 = 1;
/// Name of the manifest file in a chunk set.
pub const MANIFEST: &str = "manifest.json";

/// How to cut an index into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Size a chunk is cut at, in bytes before compression (a posting, row or document
    /// may cross it). Default 48 KiB: 10–25 KB gzip on the generated libraries.
    pub target_bytes: usize,
    /// A fragment pack also ends after about one document in this many (by id hash),
    /// so packs are content-defined. Default 24.
    pub pack_every: u32,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            target_bytes: 48 * 1024,
            pack_every: 24,
        }
    }
}

/// The manifest: the only mutable file of a chunk set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// [`CHUNK_FORMAT`].
    pub format: u32,
    /// Documents in the collection.
    pub docs: u32,
    /// Total length in tokens of each field over all documents (BM25's average lengths).
    pub total_len: [u64; NF],
    /// The index's `stored_text_bytes` (snippets and phrase checks depend on it).
    pub stored_text_bytes: u32,
    /// Lexicon chunks in term order: (first term, file).
    pub lexicon: Vec<(String, String)>,
    /// Posting chunks, in term order (the lexicon points into this list).
    pub postings: Vec<String>,
    /// Table chunks: (first slot, file).
    pub table: Vec<(u32, String)>,
    /// The tag texts file.
    pub tags: String,
    /// Fragment packs: (first slot, first id, file).
    pub packs: Vec<(u32, String, String)>,
    /// Filter chunks: (first key, file).
    pub filters: Vec<(String, String)>,
}

impl Manifest {
    /// Reads a manifest's JSON. By hand over a `serde_json::Value` rather than a derived
    /// `Deserialize`: the browser module already carries `Value` parsing (from text), and
    /// a second deserializer instantiation cost it ~30 KB gzip.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Manifest::from_value(&v).ok_or_else(|| "not a chunk manifest of this shape".to_owned())
    }

    /// Plain loops and `Option`s: each `collect::<Result<..>>` would be one more
    /// instantiation in the browser module.
    fn from_value(v: &Value) -> Option<Manifest> {
        fn n(v: &Value) -> Option<u32> {
            v.as_u64().and_then(|x| u32::try_from(x).ok())
        }
        fn s(v: &Value) -> Option<String> {
            v.as_str().map(str::to_owned)
        }
        fn arr(v: &Value) -> Option<&[Value]> {
            v.as_array().map(Vec::as_slice)
        }
        let mut m = Manifest {
            format: n(v.get("format")?)?,
            docs: 0,
            total_len: [0; NF],
            stored_text_bytes: 0,
            lexicon: Vec::new(),
            postings: Vec::new(),
            table: Vec::new(),
            tags: String::new(),
            packs: Vec::new(),
            filters: Vec::new(),
        };
        if m.format != CHUNK_FORMAT {
            return Some(m); // the caller reports the version
        }
        m.docs = n(v.get("docs")?)?;
        m.stored_text_bytes = n(v.get("stored_text_bytes")?)?;
        m.tags = s(v.get("tags")?)?;
        let tl = arr(v.get("total_len")?)?;
        if tl.len() != NF {
            return None;
        }
        for (t, x) in m.total_len.iter_mut().zip(tl) {
            *t = x.as_u64()?;
        }
        for x in arr(v.get("postings")?)? {
            m.postings.push(s(x)?);
        }
        for x in arr(v.get("lexicon")?)? {
            let [a, b] = arr(x)? else { return None };
            m.lexicon.push((s(a)?, s(b)?));
        }
        for x in arr(v.get("filters")?)? {
            let [a, b] = arr(x)? else { return None };
            m.filters.push((s(a)?, s(b)?));
        }
        for x in arr(v.get("table")?)? {
            let [a, b] = arr(x)? else { return None };
            m.table.push((n(a)?, s(b)?));
        }
        for x in arr(v.get("packs")?)? {
            let [a, b, c] = arr(x)? else { return None };
            m.packs.push((n(a)?, s(b)?, s(c)?));
        }
        Some(m)
    }
}

/// A chunk set: the manifest and every file, by name.
#[derive(Debug, Clone)]
pub struct ChunkSet {
    /// The manifest (served as [`MANIFEST`]).
    pub manifest: Manifest,
    /// `(name, bytes)`: every chunk file (the manifest not included).
    pub files: Vec<(String, Vec<u8>)>,
}

/// The file name of a chunk: its kind and the hash of its bytes.
fn name(kind: &str, bytes: &[u8]) -> String {
    let h = blake3::hash(bytes).to_hex();
    format!("{kind}/{}.bin", &h[..20])
}

/// Whether `name` is a chunk file name whose hash matches `bytes`.
pub fn verify(name: &str, bytes: &[u8]) -> bool {
    let Some((kind, _)) = name.split_once('/') else {
        return false;
    };
    self::name(kind, bytes) == name
}

impl ChunkSet {
    /// The manifest as the bytes a host serves.
    pub fn manifest_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.manifest).unwrap_or_default()
    }

    /// Bytes per chunk kind and file counts, for the build's report: `(kind, files, bytes)`.
    pub fn sizes(&self) -> Vec<(String, usize, usize)> {
        let mut out: Vec<(String, usize, usize)> = Vec::new();
        for (n, b) in &self.files {
            let kind = n.split('/').next().unwrap_or("").to_owned();
            match out.iter_mut().find(|e| e.0 == kind) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += b.len();
                }
                None => out.push((kind, 1, b.len())),
            }
        }
        out.push(("manifest".into(), 1, self.manifest_bytes().len()));
        out
    }
}

impl Index {
    /// Cuts this index into a chunk set (see the [module](self) docs).
    pub fn to_chunks(&self, opts: ChunkOptions) -> ChunkSet {
        let target = opts.target_bytes.max(64);
        // Slots in id order.
        let mut alive: Vec<u32> = self.alive_slots();
        alive.sort_by(|&a, &b| self.docs[a as usize].id.cmp(&self.docs[b as usize].id));
        let mut renum = vec![u32::MAX; self.docs.len()];
        for (new, &old) in alive.iter().enumerate() {
            renum[old as usize] = new as u32;
        }
        // Tags in use, in text order.
        let mut used: Vec<u32> = alive
            .iter()
            .flat_map(|&s| self.docs[s as usize].tags.iter().copied())
            .collect();
        used.sort_unstable_by(|&a, &b| self.tags[a as usize].cmp(&self.tags[b as usize]));
        used.dedup();
        let mut tag_renum = vec![u32::MAX; self.tags.len()];
        for (new, &old) in used.iter().enumerate() {
            tag_renum[old as usize] = new as u32;
        }
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut add = |kind: &str, bytes: Vec<u8>| -> String {
            let n = name(kind, &bytes);
            files.push((n.clone(), bytes));
            n
        };

        // Postings and lexicon.
        let terms: Vec<(&str, Vec<Posting>)> = self
            .dict
            .sorted_terms()
            .filter_map(|(id, text)| {
                let mut list: Vec<Posting> = self.postings[id as usize]
                    .iter()
                    .filter(|p| renum[p.doc as usize] != u32::MAX)
                    .map(|p| Posting {
                        doc: renum[p.doc as usize],
                        tf: p.tf,
                    })
                    .collect();
                if list.is_empty() {
                    return None;
                }
                list.sort_unstable_by_key(|p| p.doc);
                Some((text, list))
            })
            .collect();
        let (pchunks, spans) = postings::write(&terms, target);
        let postings: Vec<String> = pchunks.into_iter().map(|b| add("postings", b)).collect();
        let entries: Vec<lexicon::Entry> = terms
            .iter()
            .zip(&spans)
            .map(|((t, l), &span)| lexicon::Entry {
                term: t,
                df: l.len() as u32,
                span,
            })
            .collect();
        let lexicon = lexicon::write(&entries, target)
            .into_iter()
            .map(|(first, b)| (first, add("lexicon", b)))
            .collect();

        // Table and tags.
        let rows: Vec<table::Row> = alive
            .iter()
            .map(|&s| {
                let e = &self.docs[s as usize];
                let mut tags: Vec<u32> = e.tags.iter().map(|&t| tag_renum[t as usize]).collect();
                tags.sort_unstable();
                table::Row {
                    doc_type: e.doc_type,
                    tags,
                    len: e.len,
                }
            })
            .collect();
        let table = table::write(&rows, target)
            .into_iter()
            .map(|(first, b)| (first, add("table", b)))
            .collect();
        let tag_texts: Vec<&str> = used
            .iter()
            .map(|&t| self.tags[t as usize].as_str())
            .collect();
        let tags = add("tags", table::write_tags(&tag_texts));

        // Fragments.
        let frags: Vec<packs::Fragment> = alive
            .iter()
            .map(|&s| {
                let e = &self.docs[s as usize];
                packs::Fragment {
                    id: e.id.0.clone(),
                    name: e.name.clone(),
                    path: e.path.clone(),
                    description: e.description.clone(),
                    body: e.body.clone(),
                    desc_full: e.desc_full,
                    body_full: e.body_full,
                }
            })
            .collect();
        let packs = packs::write(&frags, target, opts.pack_every)
            .into_iter()
            .map(|(slot, id, b)| (slot, id, add("packs", b)))
            .collect();

        // Filters.
        let flist: Vec<(&str, Vec<u32>)> = self
            .filters
            .iter()
            .filter_map(|(k, slots)| {
                let mut v: Vec<u32> = slots
                    .iter()
                    .map(|&s| renum.get(s as usize).copied().unwrap_or(u32::MAX))
                    .filter(|&s| s != u32::MAX)
                    .collect();
                if v.is_empty() {
                    return None;
                }
                v.sort_unstable();
                Some((k.as_str(), v))
            })
            .collect();
        debug_assert!(flist.iter().all(|(k, _)| k.contains(KEY_SEP)));
        let filters = filters::write(&flist, target)
            .into_iter()
            .map(|(first, b)| (first, add("filters", b)))
            .collect();

        // Identical chunks (rare: e.g. two empty ranges) are one file.
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        ChunkSet {
            manifest: Manifest {
                format: CHUNK_FORMAT,
                docs: alive.len() as u32,
                total_len: self.total_len,
                stored_text_bytes: self.opts.stored_text_bytes,
                lexicon,
                postings,
                table,
                tags,
                packs,
                filters,
            },
            files,
        }
    }
}

#[cfg(test)]
mod tests;
