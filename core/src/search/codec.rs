//! The binary index format: what the watcher stores in SQLite and the edge and the
//! browser load. Loading decodes straight into the in-memory structures (no
//! tokenizing, no sorting); every count and offset is checked against the bytes that
//! remain, so a corrupt or foreign blob is a [`CodecError`], never a panic or a huge
//! allocation.
//!
//! Layout (little-endian; `v` = LEB128 varint; `s` = `v` length + UTF-8 bytes;
//! `f` = front-coded string: `v` bytes shared with the previous one, then `s` suffix).
//! Like data is stored together (columns, separate delta and flag streams) because
//! the blob travels gzip-compressed and gzip does best on homogeneous runs.
//!
//! ```text
//! header    "PSIX" | u16 version | u16 flags (1: labels section) | u64 payload length | u64 checksum
//! payload   v stored body bytes (IndexOptions)
//!           v docs
//!           u8 × docs    flags: 1 prompt template, 2 whole body stored,
//!                               4 id is the path without its extension,
//!                               8 whole description stored
//!           s × docs     ids (only where flag 4 is unset)
//!           s × docs     names
//!           f × docs     paths
//!           s × docs     description prefixes
//!           s × docs     body prefixes
//!           docs × { v ntags, v tag id × ntags }
//!           5 × docs × v field lengths, field by field
//!           v tags,  s × tags
//!           v terms, f × terms                   (sorted)
//!           v count × terms                      (postings per term, all ≥ 1)
//!           v bytes, Rice-coded document gaps     (per term, parameter from its count;
//!                                                  see `rice`)
//!           u8 code × postings  1..=31: body only with that tf; 0: body only, tf in
//!                               extras; 0x21..=0x3F: field mask (bits 0..4), one tf
//!                               per set field in extras
//!           v bytes, extras: v tf ...
//!           v filters, per filter: f key | v count   (sorted keys)
//!           v bytes, Rice-coded document gaps of each filter in turn
//!           [labels section, when flag 1 is set: see `labels`]
//! ```
//!
//! Document numbers are compacted on write (removed documents leave no gaps).

use super::dict::Dictionary;
use super::fields::{Field, NF};
use super::index::{DocEntry, Index, IndexOptions, Posting, KEY_SEP};
use super::rice;
use crate::model::{DocType, DocumentId};
use crate::parse::derived_id;
use std::collections::{BTreeMap, HashMap};

/// First four bytes of every serialized index.
pub const MAGIC: [u8; 4] = *b"PSIX";
/// Current format version; a blob with another version is rejected (hosts rebuild).
pub const FORMAT_VERSION: u16 = 3;
pub(super) const HEADER: usize = 4 + 2 + 2 + 8 + 8;
const BODY: usize = Field::Body as usize;
const F_PROMPT: u8 = 1;
const F_BODY_FULL: u8 = 2;
const F_DERIVED_ID: u8 = 4;
const F_DESC_FULL: u8 = 8;

/// Why a blob could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The blob does not start with [`MAGIC`].
    #[error("not a promptshelf index (bad magic)")]
    BadMagic,
    #[error("unsupported index format version {found} (this build reads {FORMAT_VERSION})")]
    /// Another format version: hosts rebuild the index from the documents.
    UnsupportedVersion {
        /// The blob's version.
        found: u16,
    },
    /// The blob ends before its header or payload says it should.
    #[error("index blob is truncated")]
    Truncated,
    /// The payload does not match its checksum.
    #[error("index checksum mismatch (corrupted blob)")]
    ChecksumMismatch,
    /// The payload is inconsistent (what is wrong, for debugging).
    #[error("index blob is corrupt: {0}")]
    Corrupt(&'static str),
}

/// 64-bit checksum of the payload: word-at-a-time multiply-xor mixing. Detects
/// corruption (not tampering) at several GB/s, so it costs little of the load time.
pub fn checksum(data: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = 0x243F_6A88_85A3_08D3 ^ (data.len() as u64).wrapping_mul(K);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K);
        h ^= h >> 29;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(K);
    h ^ (h >> 29)
}

/// A valid header (magic, version, length, checksum) for an arbitrary payload: lets
/// fuzzers and property tests reach the decoder behind the checksum.
#[doc(hidden)]
pub fn codec_header(payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER);
    put_header(&mut h, payload, 0);
    h
}

/// The header section: magic, version, flags, payload length and checksum.
fn put_header(out: &mut Vec<u8>, payload: &[u8], flags: u16) {
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(payload).to_le_bytes());
}

pub(super) fn put_v(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn put_s(out: &mut Vec<u8>, s: &str) {
    put_v(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Front-coded: bytes shared with `prev`, then the rest as a string.
fn put_f(out: &mut Vec<u8>, prev: &[u8], s: &[u8]) {
    let shared = prev.iter().zip(s).take_while(|(a, b)| a == b).count();
    put_v(out, shared as u64);
    put_v(out, (s.len() - shared) as u64);
    out.extend_from_slice(&s[shared..]);
}

/// The live documents in slot order, renumbered without the gaps removed documents
/// leave (monotonic, so posting lists stay sorted).
struct Compacted<'a> {
    docs: Vec<&'a DocEntry>,
    /// Old slot → new document number (`u32::MAX` for free slots).
    remap: Vec<u32>,
}

impl Index {
    /// Serializes the index (see the module docs of `codec` for the layout): one writer
    /// per section, in layout order, each paired with a reader (`Reader`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(1 << 16);
        let live = self.compacted();
        put_v(&mut p, u64::from(self.opts.stored_text_bytes));
        let tags = write_documents(&mut p, &live.docs, &self.tags);
        write_tags(&mut p, &tags);
        let terms = self.write_terms(&mut p);
        self.write_postings(&mut p, &terms, &live);
        self.write_filters(&mut p, &live);
        let mut flags = 0;
        if !self.labels.is_empty() {
            p.extend_from_slice(&self.labels);
            flags |= super::labels::F_LABELS;
        }
        let mut out = Vec::with_capacity(HEADER + p.len());
        put_header(&mut out, &p, flags);
        out.extend_from_slice(&p);
        out
    }

    fn compacted(&self) -> Compacted<'_> {
        let mut remap = vec![u32::MAX; self.docs.len()];
        let alive: Vec<u32> = self.alive_slots();
        for (new, &old) in alive.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        let docs = alive.iter().map(|&s| &self.docs[s as usize]).collect();
        Compacted { docs, remap }
    }

    /// Terms with postings, sorted; returns them (id, text) for the postings section.
    fn write_terms(&self, p: &mut Vec<u8>) -> Vec<(u32, &str)> {
        let terms: Vec<(u32, &str)> = self
            .dict
            .sorted_terms()
            .filter(|(id, _)| !self.postings[*id as usize].is_empty())
            .collect();
        put_v(p, terms.len() as u64);
        let mut prev: &[u8] = b"";
        for (_, t) in &terms {
            put_f(p, prev, t.as_bytes());
            prev = t.as_bytes();
        }
        terms
    }

    /// Postings of `terms` as four streams (like data together): counts, Rice-coded
    /// document gaps, one code byte per posting, then the term frequencies the codes
    /// defer.
    fn write_postings(&self, p: &mut Vec<u8>, terms: &[(u32, &str)], live: &Compacted<'_>) {
        let n = live.docs.len();
        for (id, _) in terms {
            put_v(p, self.postings[*id as usize].len() as u64);
        }
        let mut gaps = rice::BitWriter::new();
        let mut codes: Vec<u8> = Vec::new();
        let mut extras: Vec<u8> = Vec::new();
        for (id, _) in terms {
            let list = &self.postings[*id as usize];
            let k = rice::parameter(n, list.len());
            let mut next = 0u32;
            for q in list {
                let d = live.remap[q.doc as usize];
                gaps.rice(u64::from(d - next), k);
                next = d + 1;
            }
            for q in list {
                let mask =
                    q.tf.iter()
                        .enumerate()
                        .fold(0u8, |m, (f, &tf)| if tf > 0 { m | 1 << f } else { m });
                if mask == 1 << BODY {
                    let tf = q.tf[BODY];
                    if tf < 32 {
                        codes.push(tf);
                    } else {
                        codes.push(0);
                        put_v(&mut extras, u64::from(tf));
                    }
                } else {
                    codes.push(0x20 | mask);
                    for &tf in q.tf.iter().filter(|&&tf| tf > 0) {
                        put_v(&mut extras, u64::from(tf));
                    }
                }
            }
        }
        let gaps = gaps.finish();
        put_v(p, gaps.len() as u64);
        p.extend_from_slice(&gaps);
        p.extend_from_slice(&codes);
        put_v(p, extras.len() as u64);
        p.extend_from_slice(&extras);
    }

    /// Filter keys (front-coded, with their document counts), then all their documents
    /// as one stream of Rice-coded gaps.
    fn write_filters(&self, p: &mut Vec<u8>, live: &Compacted<'_>) {
        let n = live.docs.len();
        put_v(p, self.filters.len() as u64);
        let mut prev: &[u8] = b"";
        let mut gaps = rice::BitWriter::new();
        for (key, docs) in &self.filters {
            put_f(p, prev, key.as_bytes());
            prev = key.as_bytes();
            put_v(p, docs.len() as u64);
            let k = rice::parameter(n, docs.len());
            let mut next = 0u32;
            for &d in docs {
                let d = live.remap[d as usize];
                gaps.rice(u64::from(d - next), k);
                next = d + 1;
            }
        }
        let gaps = gaps.finish();
        put_v(p, gaps.len() as u64);
        p.extend_from_slice(&gaps);
    }

    /// Loads an index serialized by [`Index::to_bytes`]. Any damage is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Index, CodecError> {
        if bytes.len() < 4 || bytes[..4] != MAGIC {
            return Err(CodecError::BadMagic);
        }
        if bytes.len() < HEADER {
            return Err(CodecError::Truncated);
        }
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u64_at = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let version = u16_at(4);
        if version != FORMAT_VERSION {
            return Err(CodecError::UnsupportedVersion { found: version });
        }
        let flags = u16_at(6);
        if flags & !super::labels::F_LABELS != 0 {
            return Err(CodecError::Corrupt("unknown flags"));
        }
        let len = u64_at(8);
        let payload = &bytes[HEADER..];
        if (payload.len() as u64) < len {
            return Err(CodecError::Truncated);
        }
        if payload.len() as u64 != len {
            return Err(CodecError::Corrupt("trailing bytes"));
        }
        if checksum(payload) != u64_at(16) {
            return Err(CodecError::ChecksumMismatch);
        }
        Reader { b: payload, i: 0 }.index(flags & super::labels::F_LABELS != 0)
    }
}

/// The documents section: the document count, per-document flags, then one column per
/// field (ids only where they differ from the path's, names, front-coded paths, stored
/// description and body prefixes, tag references, field lengths field by field). Returns the tags in use,
/// numbered by first use, for the tag table that follows.
fn write_documents<'a>(
    p: &mut Vec<u8>,
    docs: &[&DocEntry],
    all_tags: &'a [String],
) -> Vec<&'a str> {
    put_v(p, docs.len() as u64);
    for e in docs {
        let mut f = 0u8;
        if e.doc_type == Some(DocType::PromptTemplate) {
            f |= F_PROMPT;
        }
        if e.body_full {
            f |= F_BODY_FULL;
        }
        if derived_id(&e.path) == e.id.as_str() {
            f |= F_DERIVED_ID;
        }
        if e.desc_full {
            f |= F_DESC_FULL;
        }
        p.push(f);
    }
    for e in docs {
        if derived_id(&e.path) != e.id.as_str() {
            put_s(p, e.id.as_str());
        }
    }
    for e in docs {
        put_s(p, &e.name);
    }
    let mut prev: &[u8] = b"";
    for e in docs {
        put_f(p, prev, e.path.as_bytes());
        prev = e.path.as_bytes();
    }
    for e in docs {
        put_s(p, &e.description);
    }
    for e in docs {
        put_s(p, &e.body);
    }
    // Tags in use, renumbered by first use.
    let mut tag_map: HashMap<u32, u32> = HashMap::new();
    let mut tags_out: Vec<&str> = Vec::new();
    for e in docs {
        put_v(p, e.tags.len() as u64);
        let mut ids: Vec<u32> = e
            .tags
            .iter()
            .map(|t| {
                *tag_map.entry(*t).or_insert_with(|| {
                    tags_out.push(&all_tags[*t as usize]);
                    (tags_out.len() - 1) as u32
                })
            })
            .collect();
        ids.sort_unstable();
        for t in ids {
            put_v(p, u64::from(t));
        }
    }
    for f in 0..NF {
        for e in docs {
            put_v(p, u64::from(e.len[f]));
        }
    }
    tags_out
}

/// The tag table: the tags the documents section refers to, by number.
fn write_tags(p: &mut Vec<u8>, tags: &[&str]) {
    put_v(p, tags.len() as u64);
    for t in tags {
        put_s(p, t);
    }
}

pub(super) struct Reader<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
}

type R<T> = Result<T, CodecError>;

impl<'a> Reader<'a> {
    fn v(&mut self) -> R<u64> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let byte = *self.b.get(self.i).ok_or(CodecError::Truncated)?;
            self.i += 1;
            if shift >= 64 || (shift == 63 && byte > 1) {
                return Err(CodecError::Corrupt("varint overflow"));
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    pub(super) fn u32(&mut self) -> R<u32> {
        u32::try_from(self.v()?).map_err(|_| CodecError::Corrupt("number out of range"))
    }

    /// A count of items that take at least `min_bytes` each: bounded by what remains.
    pub(super) fn count(&mut self, min_bytes: usize) -> R<usize> {
        let n = self.v()?;
        let left = (self.b.len() - self.i) as u64;
        if n.saturating_mul(min_bytes as u64) > left {
            return Err(CodecError::Truncated);
        }
        Ok(n as usize)
    }

    fn bytes(&mut self, n: u64) -> R<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| CodecError::Truncated)?;
        let end = self.i.checked_add(n).ok_or(CodecError::Truncated)?;
        let s = self.b.get(self.i..end).ok_or(CodecError::Truncated)?;
        self.i = end;
        Ok(s)
    }

    pub(super) fn s(&mut self) -> R<&'a str> {
        let n = self.v()?;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|_| CodecError::Corrupt("invalid UTF-8"))
    }

    pub(super) fn u8(&mut self) -> R<u8> {
        let b = *self.b.get(self.i).ok_or(CodecError::Truncated)?;
        self.i += 1;
        Ok(b)
    }

    /// A front-coded string following `prev`, appended to `out`.
    fn front_coded(&mut self, prev: &[u8], out: &mut Vec<u8>) -> R<()> {
        let shared = usize::try_from(self.v()?).map_err(|_| CodecError::Truncated)?;
        if shared > prev.len() {
            return Err(CodecError::Corrupt("bad shared prefix"));
        }
        let n = self.v()?;
        let suffix = self.bytes(n)?;
        out.extend_from_slice(&prev[..shared]);
        out.extend_from_slice(suffix);
        Ok(())
    }

    /// The payload, section by section, in layout order (`labels`: header flag
    /// `F_LABELS`, a labels section ends the payload).
    fn index(mut self, labels: bool) -> R<Index> {
        let mut ix = Index::with_options(IndexOptions {
            stored_text_bytes: self.u32()?,
        });
        self.documents(&mut ix)?;
        let n = ix.docs.len();
        let (dict, nterms) = self.terms()?;
        ix.dict = dict;
        ix.postings = self.postings(nterms, n)?;
        ix.filters = self.filters(n)?;
        if labels {
            let raw = &self.b[self.i..];
            if raw.is_empty() {
                return Err(CodecError::Truncated);
            }
            super::labels::walk(raw, &mut |_, _, _| false)?;
            ix.labels = raw.to_vec();
            self.i = self.b.len();
        }
        if self.i != self.b.len() {
            return Err(CodecError::Corrupt("trailing bytes in payload"));
        }
        Ok(ix)
    }

    /// Reads what [`write_documents`] wrote, then the tag table after it ([`Self::tags`]),
    /// and puts the documents into `ix`: tag references are checked against that table.
    fn documents(&mut self, ix: &mut Index) -> R<()> {
        // Each document takes at least 1 flag byte + 4 empty strings + ntags + 5 lengths.
        let n = self.count(11)?;
        let mut flags = Vec::with_capacity(n);
        for _ in 0..n {
            let f = self.u8()?;
            if f > 15 {
                return Err(CodecError::Corrupt("unknown document flags"));
            }
            flags.push(f);
        }
        let mut ids: Vec<Option<&str>> = Vec::with_capacity(n);
        for &f in &flags {
            ids.push(if f & F_DERIVED_ID == 0 {
                Some(self.s()?)
            } else {
                None
            });
        }
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            names.push(self.s()?);
        }
        let mut paths: Vec<String> = Vec::with_capacity(n);
        let mut prev: Vec<u8> = Vec::new();
        for _ in 0..n {
            let mut b = Vec::new();
            self.front_coded(&prev, &mut b)?;
            let s =
                String::from_utf8(b).map_err(|_| CodecError::Corrupt("invalid UTF-8 in path"))?;
            prev.clear();
            prev.extend_from_slice(s.as_bytes());
            paths.push(s);
        }
        let mut descs = Vec::with_capacity(n);
        for _ in 0..n {
            descs.push(self.s()?);
        }
        let mut bodies = Vec::with_capacity(n);
        for _ in 0..n {
            bodies.push(self.s()?);
        }
        let mut tags = Vec::with_capacity(n);
        for _ in 0..n {
            let nt = self.count(1)?;
            let mut t = Vec::with_capacity(nt);
            for _ in 0..nt {
                t.push(self.u32()?);
            }
            tags.push(t);
        }
        let mut lens = vec![[0u32; NF]; n];
        for f in 0..NF {
            for l in lens.iter_mut() {
                l[f] = self.u32()?;
                ix.total_len[f] += u64::from(l[f]);
            }
        }
        self.tags(ix)?;
        let ntags = ix.tags.len();
        ix.docs.reserve_exact(n);
        ix.by_id.reserve(n);
        for (slot, ((((((f, id), name), path), desc), body), (tags, len))) in flags
            .into_iter()
            .zip(ids)
            .zip(names)
            .zip(paths)
            .zip(descs)
            .zip(bodies)
            .zip(tags.into_iter().zip(lens))
            .enumerate()
        {
            if tags.iter().any(|&t| t as usize >= ntags) {
                return Err(CodecError::Corrupt("tag id out of range"));
            }
            let id = DocumentId(match id {
                Some(id) => id.to_owned(),
                None => derived_id(&path),
            });
            if ix.by_id.insert(id.clone(), slot as u32).is_some() {
                return Err(CodecError::Corrupt("duplicate document id"));
            }
            ix.docs.push(DocEntry {
                id,
                doc_type: Some(if f & F_PROMPT == 0 {
                    DocType::Persona
                } else {
                    DocType::PromptTemplate
                }),
                name: name.to_owned(),
                path,
                description: desc.to_owned(),
                body: body.to_owned(),
                body_full: f & F_BODY_FULL != 0,
                desc_full: f & F_DESC_FULL != 0,
                tags,
                len,
            });
        }
        Ok(())
    }

    /// Reads what [`write_tags`] wrote into `ix`'s tag table (called by
    /// [`Self::documents`], whose tag references it resolves).
    fn tags(&mut self, ix: &mut Index) -> R<()> {
        let ntags = self.count(1)?;
        for t in 0..ntags {
            let s = self.s()?.to_owned();
            if ix.tag_ids.insert(s.clone(), t as u32).is_some() {
                return Err(CodecError::Corrupt("duplicate tag"));
            }
            ix.tags.push(s);
        }
        Ok(())
    }

    /// Reads what [`Index::write_terms`] wrote: the dictionary, built straight from the
    /// sorted, front-coded terms, and the number of terms.
    fn terms(&mut self) -> R<(Dictionary, usize)> {
        let nterms = self.count(2)?;
        let mut arena: Vec<u8> = Vec::new();
        let mut spans: Vec<(u32, u32)> = Vec::with_capacity(nterms);
        let mut prev_start = 0usize;
        for _ in 0..nterms {
            let start = arena.len();
            let shared = usize::try_from(self.v()?).map_err(|_| CodecError::Truncated)?;
            if shared > start - prev_start {
                return Err(CodecError::Corrupt("bad shared prefix"));
            }
            let len = self.v()?;
            let suffix = self.bytes(len)?;
            arena.extend_from_within(prev_start..prev_start + shared);
            arena.extend_from_slice(suffix);
            let (before, term) = arena.split_at(start);
            if std::str::from_utf8(term).is_err() {
                return Err(CodecError::Corrupt("invalid UTF-8 in term"));
            }
            if !spans.is_empty() && &before[prev_start..] >= term {
                return Err(CodecError::Corrupt("terms not sorted"));
            }
            let end = u32::try_from(arena.len())
                .map_err(|_| CodecError::Corrupt("dictionary too large"))?;
            spans.push((start as u32, end));
            prev_start = start;
        }
        let arena =
            String::from_utf8(arena).map_err(|_| CodecError::Corrupt("invalid UTF-8 in terms"))?;
        Ok((Dictionary::from_sorted(arena, spans), nterms))
    }

    /// Reads what [`Index::write_postings`] wrote: one posting list per term, over `n`
    /// documents.
    fn postings(&mut self, nterms: usize, n: usize) -> R<Vec<Vec<Posting>>> {
        // Every term has at least one posting, and each posting a code byte.
        let mut counts = Vec::with_capacity(nterms);
        let mut total: u64 = 0;
        for _ in 0..nterms {
            let c = self.count(1)?;
            if c == 0 {
                return Err(CodecError::Corrupt("term without postings"));
            }
            total += c as u64;
            counts.push(c);
        }
        let gap_len = self.v()?;
        let mut gaps = rice::BitReader::new(self.bytes(gap_len)?);
        let mut codes = self.bytes(total)?.iter();
        let extras_len = self.v()?;
        let mut extras = Reader {
            b: self.bytes(extras_len)?,
            i: 0,
        };
        let mut postings = Vec::with_capacity(nterms);
        let posting_docs = DocGaps {
            n,
            bad_gaps: "bad posting gaps",
            out_of_range: "posting document out of range",
        };
        for count in counts {
            let mut list = Vec::with_capacity(count);
            posting_docs.read(&mut gaps, count, |doc| {
                let mut q = Posting { doc, tf: [0; NF] };
                match codes.next().copied().ok_or(CodecError::Truncated)? {
                    c @ 1..=31 => q.tf[BODY] = c,
                    0 => q.tf[BODY] = sat(extras.v()?),
                    c @ 0x21..=0x3F => {
                        for (f, t) in q.tf.iter_mut().enumerate() {
                            if c & (1 << f) != 0 {
                                *t = sat(extras.v()?);
                            }
                        }
                    }
                    _ => return Err(CodecError::Corrupt("bad posting code")),
                }
                list.push(q);
                Ok(())
            })?;
            postings.push(list);
        }
        if !gaps.at_end() || extras.i != extras.b.len() {
            return Err(CodecError::Corrupt("trailing posting data"));
        }
        Ok(postings)
    }

    /// Reads what [`Index::write_filters`] wrote: each filter key's documents, over `n`
    /// documents.
    fn filters(&mut self, n: usize) -> R<BTreeMap<String, Vec<u32>>> {
        // A filter takes at least a shared-prefix byte, a length byte and a count byte.
        let nfilters = self.count(3)?;
        let mut prev: Vec<u8> = Vec::new();
        let mut keys: Vec<(String, usize)> = Vec::with_capacity(nfilters);
        for _ in 0..nfilters {
            let mut key = Vec::new();
            self.front_coded(&prev, &mut key)?;
            if !keys.is_empty() && prev >= key {
                return Err(CodecError::Corrupt("filter keys not sorted"));
            }
            let count = self.v()?;
            if count == 0 || count > n as u64 {
                return Err(CodecError::Corrupt("bad filter document count"));
            }
            let key_s = String::from_utf8(key.clone())
                .map_err(|_| CodecError::Corrupt("invalid UTF-8 in filter key"))?;
            if !key_s.contains(KEY_SEP) {
                return Err(CodecError::Corrupt("bad filter key"));
            }
            keys.push((key_s, count as usize));
            prev = key;
        }
        let gap_len = self.v()?;
        let mut gaps = rice::BitReader::new(self.bytes(gap_len)?);
        let filter_docs = DocGaps {
            n,
            bad_gaps: "bad filter gaps",
            out_of_range: "filter document out of range",
        };
        let mut entries: Vec<(String, Vec<u32>)> = Vec::with_capacity(nfilters);
        for (key, count) in keys {
            let mut docs = Vec::with_capacity(count);
            filter_docs.read(&mut gaps, count, |d| {
                docs.push(d);
                Ok(())
            })?;
            entries.push((key, docs));
        }
        if !gaps.at_end() {
            return Err(CodecError::Corrupt("trailing filter data"));
        }
        Ok(entries.into_iter().collect::<BTreeMap<_, _>>())
    }
}

fn sat(v: u64) -> u8 {
    v.min(255) as u8
}

/// One kind of sorted document list (posting or filter), stored as Rice-coded gaps with
/// the parameter the writer chose from the library size and the list length. Both kinds
/// decode the same way; only their error messages differ.
struct DocGaps {
    /// Documents in the index: every decoded document must be below it.
    n: usize,
    bad_gaps: &'static str,
    out_of_range: &'static str,
}

impl DocGaps {
    /// Reads `count` gaps, handing each document to `each` in order.
    fn read(
        &self,
        gaps: &mut rice::BitReader,
        count: usize,
        mut each: impl FnMut(u32) -> Result<(), CodecError>,
    ) -> Result<(), CodecError> {
        let n = self.n as u64;
        let k = rice::parameter(self.n, count);
        let mut next: u64 = 0;
        for _ in 0..count {
            // No gap may reach past the last document: that bounds the quotient.
            let left = n.saturating_sub(next);
            let doc = next
                + gaps
                    .rice(k, left >> k)
                    .map_err(|_| CodecError::Corrupt(self.bad_gaps))?;
            if doc >= n {
                return Err(CodecError::Corrupt(self.out_of_range));
            }
            each(doc as u32)?;
            next = doc + 1;
        }
        Ok(())
    }
}

/// Each section's writer and reader on their own: what one writes, the other reads back
/// whole, to the last byte (the whole-index round trip is in `super::tests`).
#[cfg(test)]
mod section_tests {
    use super::*;
    use crate::search::tests::library;

    /// An index with a removed document, so the writer's renumbering is exercised.
    fn index() -> Index {
        let mut ix = Index::build(&library());
        ix.remove(&DocumentId("sql-expert".into()));
        ix
    }

    fn reader(b: &[u8]) -> Reader<'_> {
        Reader { b, i: 0 }
    }

    #[test]
    fn documents_and_tags() {
        let ix = index();
        let live = ix.compacted();
        let mut p = Vec::new();
        let tags = write_documents(&mut p, &live.docs, &ix.tags);
        write_tags(&mut p, &tags);
        let mut r = reader(&p);
        let mut back = Index::new();
        r.documents(&mut back).unwrap();
        assert_eq!(r.i, p.len());
        assert_eq!(back.tags, tags);
        assert_eq!(back.docs.len(), live.docs.len());
        for (b, e) in back.docs.iter().zip(&live.docs) {
            assert_eq!(
                (&b.id, b.doc_type, &b.name, &b.path, &b.description, &b.body),
                (&e.id, e.doc_type, &e.name, &e.path, &e.description, &e.body)
            );
            assert_eq!(
                (b.body_full, b.desc_full, b.len),
                (e.body_full, e.desc_full, e.len)
            );
            let names = |ix: &Index, t: &[u32]| -> Vec<String> {
                let mut v: Vec<String> = t.iter().map(|&t| ix.tags[t as usize].clone()).collect();
                v.sort();
                v
            };
            assert_eq!(names(&back, &b.tags), names(&ix, &e.tags));
        }
        let total: u64 = live.docs.iter().map(|e| u64::from(e.len[BODY])).sum();
        assert_eq!(back.total_len[BODY], total);
    }

    #[test]
    fn terms_and_postings() {
        let ix = index();
        let live = ix.compacted();
        let mut p = Vec::new();
        let terms = ix.write_terms(&mut p);
        ix.write_postings(&mut p, &terms, &live);
        let mut r = reader(&p);
        let (dict, nterms) = r.terms().unwrap();
        assert_eq!(nterms, terms.len());
        let read: Vec<(u32, &str)> = dict.sorted_terms().collect();
        assert_eq!(
            read.iter().map(|t| t.1).collect::<Vec<_>>(),
            terms.iter().map(|t| t.1).collect::<Vec<_>>()
        );
        let postings = r.postings(nterms, live.docs.len()).unwrap();
        assert_eq!(r.i, p.len());
        for ((id, _), list) in terms.iter().zip(&postings) {
            let want: Vec<(u32, [u8; NF])> = ix.postings[*id as usize]
                .iter()
                .map(|q| (live.remap[q.doc as usize], q.tf))
                .collect();
            let got: Vec<(u32, [u8; NF])> = list.iter().map(|q| (q.doc, q.tf)).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn filters() {
        let ix = index();
        let live = ix.compacted();
        let mut p = Vec::new();
        ix.write_filters(&mut p, &live);
        let mut r = reader(&p);
        let back = r.filters(live.docs.len()).unwrap();
        assert_eq!(r.i, p.len());
        let want: BTreeMap<String, Vec<u32>> = ix
            .filters
            .iter()
            .map(|(k, docs)| {
                (
                    k.clone(),
                    docs.iter().map(|&d| live.remap[d as usize]).collect(),
                )
            })
            .collect();
        assert!(!want.is_empty());
        assert_eq!(back, want);
    }
}
