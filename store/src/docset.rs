//! The document set: the documents of a snapshot as small immutable static files, so
//! the edge answers document and list routes by fetching only the files a request
//! needs (snapshot mode for libraries too big to load whole; see `docs/edge.md`).
//!
//! It sits beside the chunked search index (`promptshelf build --site OUT/` writes
//! both: `OUT/v1/index/` and `OUT/v1/docs/`) and follows its rules: every file but the
//! manifest is named by the hash of its bytes, so it is immutable and cacheable.
//! - `v1/docs/docs.json` ([`DocManifest`]): generation, health figures, the packs
//!   (first slot, first id, file), the key chunks (first key, file), the whole index;
//! - `packs/…`: the documents in id order (slot = position), each as the row the local
//!   server reads (id, type, stored JSON, modification time, stale), cut into packs
//!   of about 64 KiB (and after about one id in 16 by hash, so an edit changes few);
//! - `keys/…`: what lists filter on, as sorted keys each with its sorted slot list: the
//!   type (`t␟persona`), every tag ASCII-lowercased (`g␟support`), every field value
//!   a `field.*` filter can match (`f␟model.api␟chat`), computed by SQLite with the local
//!   server's own filter semantics ([`crate::reader`]); values over 64 bytes are keyed
//!   by their hash. A filtered list reads the keys of its filters, intersects, and
//!   fetches only the packs of its page.
//! - `whole/…`: the serialized whole search index in pieces (`/v1/index` only).
//!
//! Reading ([`SiteRequest`]) runs in rounds like D1 mode ([`crate::lazy`]).

use crate::lazy::{lock, ChunkCache, Files, LazySearcher, SharedWanted, Wanted};
use promptshelf_core::api::{
    Counts, DocumentSource, HealthInfo, ListPage, ListRequest, RawDocument, RawListPage, Searcher,
    ServedDocument, StoreError,
};
use promptshelf_core::search::chunked::{ChunkedIndex, MANIFEST};
use promptshelf_core::{DocType, Document};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Format of [`DocManifest`]; a reader refuses others.
pub const DOCSET_FORMAT: u32 = 1;
/// The manifest's name (relative to the site's `v1/`).
pub const DOCS_MANIFEST: &str = "docs/docs.json";
/// Prefix of every document-set file name (relative to the site's `v1/`); other names
/// a round wants are chunked-index files (relative to `v1/index/`).
pub const DOCS_PREFIX: &str = "docs/";
/// Key values longer than this are keyed by their hash.
const LONG_VALUE: usize = 64;
/// Where a pack ends (bytes before the hash cut).
#[cfg(not(target_arch = "wasm32"))]
const PACK_BYTES: usize = 64 * 1024;
/// Where a key chunk ends.
#[cfg(not(target_arch = "wasm32"))]
const KEY_BYTES: usize = 48 * 1024;
/// Pieces of the whole index (under the 25 MiB static-asset limit).
#[cfg(not(target_arch = "wasm32"))]
const WHOLE_BYTES: usize = 20 << 20;

/// The document set's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocManifest {
    /// [`DOCSET_FORMAT`].
    pub format: u32,
    /// The content generation (the snapshot's id; the ETag's).
    pub generation: String,
    /// Documents.
    pub documents: u64,
    /// Documents of type `persona`.
    pub personas: u64,
    /// Documents of type `prompt_template`.
    pub prompt_templates: u64,
    /// The snapshot's schema version.
    pub schema_version: i64,
    /// Files that failed to parse when the snapshot was built.
    pub sync_errors: u64,
    /// Whether the snapshot has a search index.
    pub search_index: bool,
    /// Packs: (first slot, first id, file).
    pub packs: Vec<(u32, String, String)>,
    /// Key chunks: (first key, file).
    pub keys: Vec<(String, String)>,
    /// The whole serialized search index, in pieces.
    pub whole: Vec<String>,
}

/// A document set: the manifest and its files (names relative to `v1/`).
#[derive(Debug, Clone)]
pub struct DocSet {
    /// The manifest (written as [`DOCS_MANIFEST`]).
    pub manifest: DocManifest,
    /// Every other file.
    pub files: Vec<(String, Vec<u8>)>,
}

#[cfg(not(target_arch = "wasm32"))]
fn put_u(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(not(target_arch = "wasm32"))]
fn put_s(out: &mut Vec<u8>, s: &str) {
    put_u(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn u(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    fn s(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.u()?).ok()?;
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        std::str::from_utf8(a).ok()
    }
}

/// The file name of a document-set file: kind and hash.
fn name(kind: &str, bytes: &[u8]) -> String {
    let h = blake3::hash(bytes).to_hex();
    format!("{DOCS_PREFIX}{kind}/{}.bin", &h[..20])
}

/// Whether `name`'s hash matches `bytes`.
fn verify(name: &str, bytes: &[u8]) -> bool {
    let kind = name
        .strip_prefix(DOCS_PREFIX)
        .and_then(|r| r.split_once('/'))
        .map(|x| x.0);
    kind.is_some_and(|k| self::name(k, bytes) == name)
}

/// A key's value part: the text, or its hash when long.
fn key_value(v: &str) -> String {
    if v.len() <= LONG_VALUE {
        v.to_owned()
    } else {
        format!("#{}", &blake3::hash(v.as_bytes()).to_hex()[..32])
    }
}

/// The key of a type filter.
pub fn type_key(t: DocType) -> String {
    format!("t\x1f{}", t.as_str())
}

/// The key of a tag filter (SQLite's `NOCASE`: ASCII case folded).
pub fn tag_key(tag: &str) -> String {
    format!("g\x1f{}", key_value(&tag.to_ascii_lowercase()))
}

/// The key of a field filter.
pub fn field_key(path: &[String], value: &str) -> String {
    format!("f\x1f{}\x1f{}", path.join("."), key_value(value))
}

/// One document row as the pack stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    id: String,
    doc_type: String,
    document: String,
    modified: String,
    stale: bool,
}

fn read_pack(bytes: &[u8]) -> Option<Vec<Row>> {
    let mut r = Rd(bytes);
    let mut out = Vec::new();
    while !r.0.is_empty() {
        out.push(Row {
            id: r.s()?.to_owned(),
            doc_type: r.s()?.to_owned(),
            document: r.s()?.to_owned(),
            modified: r.s()?.to_owned(),
            stale: r.u()? != 0,
        });
    }
    Some(out)
}

fn read_keys(bytes: &[u8], docs: u32) -> Option<Vec<(String, Vec<u32>)>> {
    let mut r = Rd(bytes);
    let mut out = Vec::new();
    while !r.0.is_empty() {
        let k = r.s()?.to_owned();
        let n = usize::try_from(r.u()?).ok()?;
        let mut v = Vec::with_capacity(n.min(1 << 20));
        let mut prev = 0u64;
        for i in 0..n {
            let d = r.u()?;
            prev = if i == 0 { d } else { prev.checked_add(d)? };
            if prev >= u64::from(docs) {
                return None;
            }
            v.push(prev as u32);
        }
        out.push((k, v));
    }
    Some(out)
}

/// Writing: the document set of a snapshot (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn doc_set(conn: &rusqlite::Connection) -> Result<DocSet, crate::Error> {
    use std::collections::BTreeMap;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |kind: &str, bytes: Vec<u8>| -> String {
        let n = name(kind, &bytes);
        files.push((n.clone(), bytes));
        n
    };
    // Rows in id order: slot = position (SQLite's binary order, as the reader's).
    let mut stmt =
        conn.prepare("SELECT id, type, document, file_modified, stale FROM documents ORDER BY id")?;
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok(Row {
                id: r.get(0)?,
                doc_type: r.get(1)?,
                document: r.get(2)?,
                modified: r.get(3)?,
                stale: r.get::<_, i64>(4)? != 0,
            })
        })?
        .collect::<Result<_, _>>()?;
    let slot_of: HashMap<&str, u32> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i as u32))
        .collect();
    let mut packs = Vec::new();
    let mut cur = Vec::new();
    let mut first = (0u32, String::new());
    for (slot, r) in rows.iter().enumerate() {
        if cur.is_empty() {
            first = (slot as u32, r.id.clone());
        }
        put_s(&mut cur, &r.id);
        put_s(&mut cur, &r.doc_type);
        put_s(&mut cur, &r.document);
        put_s(&mut cur, &r.modified);
        put_u(&mut cur, u64::from(r.stale));
        let h = blake3::hash(r.id.as_bytes());
        if cur.len() >= PACK_BYTES || h.as_bytes()[0] & 15 == 0 {
            let (s, id) = std::mem::take(&mut first);
            packs.push((s, id, add("packs", std::mem::take(&mut cur))));
        }
    }
    if !cur.is_empty() {
        packs.push((first.0, first.1, add("packs", cur)));
    }

    // Keys, with the local server's own SQL semantics (crate::reader::filter_sql).
    let mut keys: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut push = |k: String, slot: u32| keys.entry(k).or_default().push(slot);
    for (slot, r) in rows.iter().enumerate() {
        push(format!("t\x1f{}", r.doc_type), slot as u32);
    }
    let mut tags = conn.prepare(
        "SELECT d.id, t.value FROM documents d, json_each(d.document, '$.tags') t \
         WHERE t.type = 'text'",
    )?;
    let mut q = tags.query([])?;
    while let Some(r) = q.next()? {
        let id: String = r.get(0)?;
        let tag: String = r.get(1)?;
        if let Some(&s) = slot_of.get(id.as_str()) {
            push(tag_key(&tag), s);
        }
    }
    // Every scalar a `field.*` filter reaches: a member of an object reached by keys
    // from `content`, or an element of an array so reached (json_each's rule).
    let mut fields = conn.prepare(
        "SELECT d.id, t.path, t.key, t.type, CASE t.type \
           WHEN 'text' THEN t.value \
           WHEN 'integer' THEN CAST(t.value AS TEXT) \
           WHEN 'real' THEN CAST(t.value AS TEXT) \
           WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' END, \
           json_type(d.document, t.path) \
         FROM documents d, json_tree(d.document, '$.content') t \
         WHERE t.type NOT IN ('object', 'array') AND t.path <> '$'",
    )?;
    let mut q = fields.query([])?;
    while let Some(r) = q.next()? {
        let id: String = r.get(0)?;
        let path: String = r.get(1)?;
        let key = r.get_ref(2)?;
        let value: Option<String> = r.get(4)?;
        let parent: Option<String> = r.get(5)?;
        let (Some(value), Some(&slot)) = (value, slot_of.get(id.as_str())) else {
            continue;
        };
        let Some(mut segs) = json_path_keys(&path) else {
            continue;
        };
        match (parent.as_deref(), key) {
            (Some("object"), rusqlite::types::ValueRef::Text(k)) => {
                let Ok(k) = std::str::from_utf8(k) else {
                    continue;
                };
                segs.push(k.to_owned());
            }
            (Some("array"), _) => {}
            _ => continue,
        }
        let ok = !segs.is_empty()
            && segs.len() <= 8
            && segs.iter().all(|s| {
                !s.is_empty()
                    && s.len() <= 64
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
        if ok {
            push(field_key(&segs, &value), slot);
        }
    }
    let mut key_chunks = Vec::new();
    let mut cur = Vec::new();
    let mut first_key = String::new();
    for (k, mut slots) in keys {
        slots.sort_unstable();
        slots.dedup();
        if cur.is_empty() {
            first_key = k.clone();
        }
        put_s(&mut cur, &k);
        put_u(&mut cur, slots.len() as u64);
        let mut prev = 0u32;
        for (i, s) in slots.iter().enumerate() {
            put_u(&mut cur, u64::from(if i == 0 { *s } else { s - prev }));
            prev = *s;
        }
        if cur.len() >= KEY_BYTES {
            key_chunks.push((
                std::mem::take(&mut first_key),
                add("keys", std::mem::take(&mut cur)),
            ));
        }
    }
    if !cur.is_empty() {
        key_chunks.push((first_key, add("keys", cur)));
    }

    let mut whole = Vec::new();
    let index = crate::read::search_index(conn)?;
    if let Some((_, blob)) = &index {
        for piece in blob.chunks(WHOLE_BYTES) {
            whole.push(add("whole", piece.to_vec()));
        }
    }
    let personas = rows.iter().filter(|r| r.doc_type == "persona").count() as u64;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    Ok(DocSet {
        manifest: DocManifest {
            format: DOCSET_FORMAT,
            generation: crate::read::content_generation(conn)?,
            documents: rows.len() as u64,
            personas,
            prompt_templates: rows.len() as u64 - personas,
            schema_version: i64::from(crate::schema::user_version(conn)?),
            sync_errors: crate::read::count_sync_errors(conn)?,
            search_index: index.is_some(),
            packs,
            keys: key_chunks,
            whole,
        },
        files,
    })
}

/// The object keys of a JSON path from `$.content` (`$.content.a."b-c"` → `[a, b-c]`),
/// or `None` when it goes through an array or is not under `$.content`.
#[cfg(not(target_arch = "wasm32"))]
fn json_path_keys(path: &str) -> Option<Vec<String>> {
    let mut rest = path.strip_prefix("$.content")?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        rest = rest.strip_prefix('.')?;
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"')?;
            out.push(q[..end].to_owned());
            rest = &q[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if rest[end..].starts_with('[') {
                return None;
            }
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    Some(out)
}

/// A chunked index opened from its manifest, and the manifest's bytes.
pub type OpenIndex = (Arc<ChunkedIndex>, Arc<[u8]>);

/// What an isolate keeps across requests in snapshot chunk mode: the two manifests
/// (immutable for a deploy) and chunk files.
#[derive(Debug)]
pub struct SiteState {
    docs: Option<Arc<DocManifest>>,
    /// `None` inside: the site has no chunked index.
    index: Option<Option<OpenIndex>>,
    /// Fetched files of both sets.
    pub cache: ChunkCache,
}

impl SiteState {
    /// A fresh isolate's state.
    pub fn new(cache_bytes: usize) -> SiteState {
        SiteState {
            docs: None,
            index: None,
            cache: ChunkCache::new(cache_bytes),
        }
    }
}

/// One request in snapshot chunk mode: run [`SiteRequest::reader`] through the
/// handler; while [`SiteRequest::wanted`] names files, fetch them and hand them to
/// [`SiteRequest::absorb`].
pub struct SiteRequest<'s> {
    state: &'s mut SiteState,
    files: HashMap<String, Arc<[u8]>>,
    wanted: SharedWanted<()>,
    searcher: RefCell<Option<Arc<LazySearcher<()>>>>,
}

fn pending() -> StoreError {
    StoreError::new("pending: the host fetches the files this request needs")
}

impl<'s> SiteRequest<'s> {
    /// Starts a request.
    pub fn new(state: &'s mut SiteState) -> SiteRequest<'s> {
        state.cache.begin_request();
        SiteRequest {
            state,
            files: HashMap::new(),
            wanted: SharedWanted::default(),
            searcher: RefCell::new(None),
        }
    }

    /// The source for one run of the handler.
    pub fn reader(&mut self) -> &dyn DocumentSource {
        *lock(&self.wanted) = Wanted::default();
        self.searcher.replace(None);
        self
    }

    /// Files the last run lacked (names relative to the site's `v1/` when they start
    /// with [`DOCS_PREFIX`], else to `v1/index/`); empty when its answer is final.
    pub fn wanted(&mut self) -> Vec<String> {
        if let Some(s) = self.searcher.borrow().as_ref() {
            let hits = s.take_hits();
            self.state.cache.touch(&hits);
        }
        lock(&self.wanted).files.clone()
    }

    /// A failure of the data itself met by the last run (a 503 with it).
    pub fn failure(&self) -> Option<String> {
        lock(&self.wanted).failure.clone()
    }

    /// The fetched files (`None`: the host has no such file). An error means the
    /// request cannot be answered (a 503 with the message).
    pub fn absorb(&mut self, fetched: Vec<(String, Option<Vec<u8>>)>) -> Result<(), String> {
        for (name, bytes) in fetched {
            match (name.as_str(), bytes) {
                (DOCS_MANIFEST, None) => {
                    return Err(
                        "the document set's manifest is missing; build the site with \
                                scripts/build-edge"
                            .into(),
                    )
                }
                (DOCS_MANIFEST, Some(b)) => {
                    let m: DocManifest = serde_json::from_slice(&b)
                        .map_err(|e| format!("the document set's manifest: {e}"))?;
                    if m.format != DOCSET_FORMAT {
                        return Err(format!(
                            "document set format {} is not supported (expected {DOCSET_FORMAT})",
                            m.format
                        ));
                    }
                    self.state.docs = Some(Arc::new(m));
                }
                (MANIFEST, None) => self.state.index = Some(None),
                (MANIFEST, Some(b)) => {
                    let ix = ChunkedIndex::from_manifest(&b)
                        .map_err(|e| format!("the chunked index: {e}"))?;
                    self.state.index = Some(Some((Arc::new(ix), b.into())));
                }
                (n, None) => return Err(format!("the site lacks the file `{n}`")),
                (n, Some(b)) => {
                    if n.starts_with(DOCS_PREFIX) && !verify(n, &b) {
                        return Err(format!("the file `{n}` is corrupt"));
                    }
                    let b: Arc<[u8]> = b.into();
                    self.files.insert(n.to_owned(), b.clone());
                    self.state.cache.insert(n.to_owned(), b);
                }
            }
        }
        Ok(())
    }

    fn docs(&self) -> Result<&DocManifest, StoreError> {
        match &self.state.docs {
            Some(m) => Ok(m),
            None => {
                lock(&self.wanted).files([DOCS_MANIFEST.to_owned()]);
                Err(pending())
            }
        }
    }

    /// A file's bytes, or records it.
    fn file(&self, name: &str) -> Option<Arc<[u8]>> {
        if let Some(b) = self.files.get(name) {
            return Some(b.clone());
        }
        if let Some(b) = self.state.cache.peek(name) {
            return Some(b);
        }
        lock(&self.wanted).files([name.to_owned()]);
        None
    }

    fn pack(&self, i: usize) -> Result<Option<Vec<Row>>, StoreError> {
        let m = self.docs()?;
        let n = &m.packs[i].2;
        match self.file(n) {
            Some(b) => read_pack(&b)
                .map(Some)
                .ok_or_else(|| StoreError::new(format!("the pack `{n}` is corrupt"))),
            None => Ok(None),
        }
    }

    fn pack_of_id(m: &DocManifest, id: &str) -> Option<usize> {
        m.packs
            .partition_point(|p| p.1.as_str() <= id)
            .checked_sub(1)
    }

    fn pack_of_slot(m: &DocManifest, slot: u32) -> Option<usize> {
        m.packs.partition_point(|p| p.0 <= slot).checked_sub(1)
    }

    fn row(&self, id: &str) -> Result<Option<Row>, StoreError> {
        let m = self.docs()?;
        let Some(p) = Self::pack_of_id(m, id) else {
            return Ok(None);
        };
        let rows = self.pack(p)?.ok_or_else(pending)?;
        Ok(rows.into_iter().find(|r| r.id == id))
    }

    /// The sorted slots of a key (empty when absent), or `None` while its chunk is
    /// being fetched.
    fn key_slots(&self, key: &str) -> Result<Option<Vec<u32>>, StoreError> {
        let m = self.docs()?;
        let Some(i) = m
            .keys
            .partition_point(|k| k.0.as_str() <= key)
            .checked_sub(1)
        else {
            return Ok(Some(Vec::new()));
        };
        let n = &m.keys[i].1;
        let Some(b) = self.file(n) else {
            return Ok(None);
        };
        let entries = read_keys(&b, m.documents as u32)
            .ok_or_else(|| StoreError::new(format!("the key chunk `{n}` is corrupt")))?;
        Ok(Some(
            entries
                .into_iter()
                .find(|e| e.0 == key)
                .map(|e| e.1)
                .unwrap_or_default(),
        ))
    }

    /// The matching slots of `q`'s filters (`None` = every document).
    fn matching(&self, q: &ListRequest) -> Result<Option<Vec<u32>>, StoreError> {
        let mut keys: Vec<String> = Vec::new();
        if let Some(t) = q.doc_type {
            keys.push(type_key(t));
        }
        keys.extend(q.tags.iter().map(|t| tag_key(t)));
        keys.extend(q.fields.iter().map(|f| field_key(&f.path, &f.value)));
        if keys.is_empty() {
            return Ok(None);
        }
        // Ask for every key chunk at once, then intersect.
        let mut lists = Vec::new();
        let mut missing = false;
        for k in &keys {
            match self.key_slots(k)? {
                Some(v) => lists.push(v),
                None => missing = true,
            }
        }
        if missing {
            return Err(pending());
        }
        lists.sort_by_key(Vec::len);
        let mut it = lists.into_iter();
        let mut acc = it.next().unwrap_or_default();
        for l in it {
            acc.retain(|s| l.binary_search(s).is_ok());
        }
        Ok(Some(acc))
    }

    fn page(&self, q: &ListRequest) -> Result<(Vec<Row>, u64), StoreError> {
        let m = self.docs()?;
        let n = m.documents as u32;
        let set = self.matching(q)?;
        let total = set.as_ref().map_or(u64::from(n), |s| s.len() as u64);
        // The first slot after the cursor: ids at or before it, counted in its pack.
        let start = match &q.after_id {
            None => 0u32,
            Some(after) => match Self::pack_of_id(m, after) {
                None => 0,
                Some(p) => {
                    let rows = self.pack(p)?.ok_or_else(pending)?;
                    m.packs[p].0
                        + rows
                            .iter()
                            .filter(|r| r.id.as_str() <= after.as_str())
                            .count() as u32
                }
            },
        };
        let skip = usize::try_from(q.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let slots: Vec<u32> = match &set {
            None => (start..n).skip(skip).take(take).collect(),
            Some(s) => {
                let from = s.partition_point(|&x| x < start);
                s[from..].iter().copied().skip(skip).take(take).collect()
            }
        };
        // Every pack of the page, asked for at once.
        let mut packs: Vec<usize> = slots
            .iter()
            .filter_map(|&s| Self::pack_of_slot(m, s))
            .collect();
        packs.dedup();
        let mut loaded = HashMap::new();
        let mut missing = false;
        for &p in &packs {
            match self.pack(p)? {
                Some(r) => {
                    loaded.insert(p, r);
                }
                None => missing = true,
            }
        }
        if missing {
            return Err(pending());
        }
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            let p = Self::pack_of_slot(m, s)
                .ok_or_else(|| StoreError::new("slot outside the packs"))?;
            let r = loaded
                .get(&p)
                .and_then(|rows| rows.get((s - m.packs[p].0) as usize))
                .ok_or_else(|| StoreError::new("a pack is shorter than its manifest says"))?;
            out.push(r.clone());
        }
        Ok((out, total))
    }
}

fn doc_type(r: &Row) -> Result<DocType, StoreError> {
    DocType::parse(&r.doc_type).ok_or_else(|| {
        StoreError::new(format!(
            "document `{}` has unknown type `{}`",
            r.id, r.doc_type
        ))
    })
}

fn raw(r: &Row) -> Result<RawDocument, StoreError> {
    RawDocument::splice(
        &r.id,
        doc_type(r)?,
        &r.document,
        Some(r.modified.as_str()).filter(|m| !m.is_empty()),
        r.stale,
    )
}

fn served(r: &Row) -> Result<ServedDocument, StoreError> {
    let document: Document = serde_json::from_str(&r.document)
        .map_err(|e| StoreError::new(format!("document `{}` has unreadable JSON: {e}", r.id)))?;
    Ok(ServedDocument {
        document,
        modified: Some(r.modified.clone()).filter(|m| !m.is_empty()),
        stale: r.stale,
    })
}

impl DocumentSource for SiteRequest<'_> {
    fn generation(&self) -> Result<String, StoreError> {
        Ok(self.docs()?.generation.clone())
    }

    fn health(&self) -> Result<HealthInfo, StoreError> {
        let m = self.docs()?;
        Ok(HealthInfo {
            generation: m.generation.clone(),
            counts: Counts {
                documents: m.documents,
                personas: m.personas,
                prompt_templates: m.prompt_templates,
            },
            schema_version: Some(m.schema_version),
            sync_errors: m.sync_errors,
            search_index: m.search_index,
        })
    }

    fn get(&self, id: &str) -> Result<Option<ServedDocument>, StoreError> {
        self.row(id)?.as_ref().map(served).transpose()
    }

    fn get_raw(&self, id: &str) -> Result<Option<RawDocument>, StoreError> {
        self.row(id)?.as_ref().map(raw).transpose()
    }

    fn list(&self, q: &ListRequest) -> Result<ListPage, StoreError> {
        let (rows, total) = self.page(q)?;
        Ok(ListPage {
            items: rows.iter().map(served).collect::<Result<_, _>>()?,
            total,
        })
    }

    fn list_raw(&self, q: &ListRequest) -> Result<RawListPage, StoreError> {
        let (rows, total) = self.page(q)?;
        Ok(RawListPage {
            items: rows.iter().map(raw).collect::<Result<_, _>>()?,
            total,
        })
    }

    fn index_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let m = self.docs()?;
        if !m.search_index {
            return Ok(None);
        }
        let pieces: Vec<Option<Arc<[u8]>>> = m.whole.iter().map(|n| self.file(n)).collect();
        if pieces.iter().any(Option::is_none) {
            return Err(pending());
        }
        Ok(Some(
            pieces
                .into_iter()
                .flatten()
                .flat_map(|b| b.to_vec())
                .collect(),
        ))
    }

    fn searcher(&self) -> Result<Option<Arc<dyn Searcher + Send + Sync>>, StoreError> {
        let index = match &self.state.index {
            Some(ix) => ix.clone(),
            None => {
                lock(&self.wanted).files([MANIFEST.to_owned()]);
                return Err(pending());
            }
        };
        let Some((index, manifest)) = index else {
            return Ok(None);
        };
        let s = Arc::new(LazySearcher::new(
            index,
            manifest,
            Files::new(&self.state.cache, &self.files),
            self.wanted.clone(),
        ));
        self.searcher.replace(Some(s.clone()));
        Ok(Some(s))
    }
}

#[cfg(test)]
mod tests;
