//! D1 mode, read per request: the read API's [`DocumentSource`] over a Cloudflare D1
//! database loaded with [`crate::d1::d1_sql`], asking D1 only what a request needs —
//! one document by id, one filtered page (the local server's own SQL,
//! [`crate::reader`]), the index chunks a search needs as BLOB rows — instead of
//! copying the library into every isolate.
//!
//! The worker only executes queries: a request runs in rounds ([`crate::lazy`]); each
//! round's queries go to D1 as one batch (one transaction) headed by [`META_QUERY`],
//! so every round checks that the database is complete (it has a `snapshot_id`), of
//! this schema version, and still the same contents as the previous rounds saw; a
//! changed `snapshot_id` drops what earlier rounds read. All SQL is here, the worker
//! never writes any.

use crate::d1::{unhex, INDEX_CHUNKS, INDEX_FILES, META_D1_SCHEMA_VERSION};
use crate::lazy::{lock, ChunkCache, Files, LazySearcher, SharedWanted, Wanted};
use crate::reader::{filter_sql, page_sql, RAW_COLUMNS};
use promptshelf_core::api::{
    Counts, DocumentSource, HealthInfo, ListPage, ListRequest, RawDocument, RawListPage, Searcher,
    ServedDocument, StoreError,
};
use promptshelf_core::search::chunked::{ChunkedIndex, MANIFEST};
use promptshelf_core::{DocType, Document};
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// A query parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Arg {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
}

/// One SQL statement for D1 with its parameters (`?1`, `?2`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct D1Query {
    /// The statement.
    pub sql: String,
    /// Its parameters, in order.
    pub args: Vec<Arg>,
}

impl D1Query {
    fn new(sql: impl Into<String>, args: Vec<Arg>) -> D1Query {
        D1Query {
            sql: sql.into(),
            args,
        }
    }
}

/// Rows as D1 returns them: one object per row, by column name (numbers as floats).
pub type Rows = Vec<Map<String, Value>>;

/// The head of every batch: is the database complete, of which contents and version.
pub const META_QUERY: &str = "SELECT key, value FROM sync_meta \
     WHERE key IN ('snapshot_id', 'd1_schema_version') ORDER BY key";

/// How many chunk names one statement asks for (D1 binds at most 100 parameters).
const NAMES_PER_QUERY: usize = 50;

/// The default budget of the isolate's chunk cache.
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

/// What an isolate keeps across requests in D1 mode: the contents it last saw, the
/// chunked index's manifest for them, and chunk files (immutable, by hash).
#[derive(Debug)]
pub struct D1State {
    /// `snapshot_id` and when D1 last confirmed it (ms).
    id: Option<(String, u64)>,
    /// The chunked index of `id`: `None` inside when D1 holds no chunk set.
    index: Option<(String, Option<crate::docset::OpenIndex>)>,
    /// Chunk files.
    pub cache: ChunkCache,
}

impl D1State {
    /// A fresh isolate's state, caching at most about `cache_bytes` of chunks.
    pub fn new(cache_bytes: usize) -> D1State {
        D1State {
            id: None,
            index: None,
            cache: ChunkCache::new(cache_bytes),
        }
    }
}

/// One request in D1 mode: run [`D1Request::reader`] through the handler, and while
/// [`D1Request::batch`] is not empty, execute it and hand the rows to
/// [`D1Request::absorb`].
pub struct D1Request<'s> {
    state: &'s mut D1State,
    answers: HashMap<D1Query, Rows>,
    files: HashMap<String, Arc<[u8]>>,
    /// Whether `state.id` was confirmed by D1 recently enough to answer without asking.
    fresh: bool,
    wanted: SharedWanted<D1Query>,
    searcher: RefCell<Option<Arc<LazySearcher<D1Query>>>>,
}

fn pending() -> StoreError {
    StoreError::new("pending: the host runs the queries this request needs")
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

fn text<'v>(row: &'v Map<String, Value>, col: &str) -> Result<&'v str, StoreError> {
    row.get(col)
        .and_then(Value::as_str)
        .ok_or_else(|| StoreError::new(format!("D1 row without text column `{col}`")))
}

fn args_of(v: Vec<SqlValue>) -> Vec<Arg> {
    v.into_iter()
        .map(|a| match a {
            SqlValue::Integer(i) => Arg::Int(i),
            SqlValue::Text(t) => Arg::Text(t),
            other => Arg::Text(format!("{other:?}")), // not produced by the reader's SQL
        })
        .collect()
}

impl<'s> D1Request<'s> {
    /// Starts a request at `now_ms`; D1's `snapshot_id` is asked again if it was last
    /// confirmed `recheck_ms` or more ago (0: on every request).
    pub fn new(state: &'s mut D1State, now_ms: u64, recheck_ms: u64) -> D1Request<'s> {
        state.cache.begin_request();
        let fresh = recheck_ms > 0
            && state
                .id
                .as_ref()
                .is_some_and(|(_, at)| now_ms.saturating_sub(*at) < recheck_ms);
        D1Request {
            state,
            answers: HashMap::new(),
            files: HashMap::new(),
            fresh,
            wanted: SharedWanted::default(),
            searcher: RefCell::new(None),
        }
    }

    /// The source for one run of the handler (what it lacks is recorded for
    /// [`D1Request::batch`]).
    pub fn reader(&mut self) -> &dyn DocumentSource {
        *lock(&self.wanted) = Wanted::default();
        self.searcher.replace(None);
        self
    }

    /// The failure the last run met in the data itself (a corrupt chunk), if any: the
    /// request's answer is then a 503 with it.
    pub fn failure(&self) -> Option<String> {
        lock(&self.wanted).failure.clone()
    }

    /// The statements to run before the handler runs again; empty when the last run's
    /// answer is final. The first is always [`META_QUERY`].
    pub fn batch(&mut self) -> Vec<D1Query> {
        if let Some(s) = self.searcher.borrow().as_ref() {
            let hits = s.take_hits();
            self.state.cache.touch(&hits);
        }
        let w = lock(&self.wanted).clone();
        if w.is_empty() && self.fresh {
            return Vec::new();
        }
        let mut out = vec![D1Query::new(META_QUERY, Vec::new())];
        out.extend(w.queries);
        for names in w.files.chunks(NAMES_PER_QUERY) {
            let marks = (1..=names.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(D1Query::new(
                format!(
                    "SELECT name, part, hex(data) AS hex FROM {INDEX_FILES} \
                     WHERE name IN ({marks}) ORDER BY name, part"
                ),
                names.iter().cloned().map(Arg::Text).collect(),
            ));
        }
        out
    }

    /// Takes D1's answer to [`D1Request::batch`] (rows per statement, in order). An
    /// error means the request cannot be answered (a 503 with the message).
    pub fn absorb(
        &mut self,
        batch: &[D1Query],
        rows: Vec<Rows>,
        now_ms: u64,
    ) -> Result<(), String> {
        if rows.len() != batch.len() || batch.is_empty() {
            return Err("D1 answered the wrong number of statements".into());
        }
        let mut it = batch.iter().zip(rows);
        let (_, meta) = it.next().ok_or("empty batch")?;
        let mut id = None;
        let mut version = None;
        for r in &meta {
            let k = r.get("key").and_then(Value::as_str);
            let v = r.get("value").and_then(Value::as_str).map(str::to_owned);
            match k {
                Some("snapshot_id") => id = v,
                Some(META_D1_SCHEMA_VERSION) => version = v,
                _ => {}
            }
        }
        let Some(id) = id else {
            return Err(
                "the D1 database holds no complete promptshelf snapshot (no snapshot_id: \
                 empty, or being reloaded); load one with `npx wrangler d1 execute DB --file` \
                 on the SQL of `promptshelf build --d1-sql`"
                    .into(),
            );
        };
        let supported = crate::SCHEMA_VERSION.to_string();
        if version.as_deref() != Some(supported.as_str()) {
            return Err(format!(
                "the D1 database holds schema version {}, this worker reads {supported} \
                 (reload it with SQL from the same promptshelf version)",
                version.as_deref().unwrap_or("(none)")
            ));
        }
        if self.state.id.as_ref().map(|x| &x.0) != Some(&id) {
            // New contents: what earlier rounds read belongs to the old ones.
            self.answers.clear();
            self.state.index = None;
        }
        self.state.id = Some((id.clone(), now_ms));
        self.fresh = true;
        for (q, r) in it {
            if q.sql.contains(INDEX_FILES) {
                self.absorb_files(q, r, &id)?;
            } else {
                self.answers.insert(q.clone(), r);
            }
        }
        Ok(())
    }

    fn absorb_files(&mut self, q: &D1Query, rows: Rows, id: &str) -> Result<(), String> {
        let mut parts: HashMap<String, Vec<(i64, Vec<u8>)>> = HashMap::new();
        for r in &rows {
            let name = text(r, "name").map_err(|e| e.0)?;
            let part = r
                .get("part")
                .and_then(int)
                .ok_or("index file without part")?;
            let bytes = unhex(text(r, "hex").map_err(|e| e.0)?)
                .ok_or_else(|| format!("index file `{name}` is not hex"))?;
            parts
                .entry(name.to_owned())
                .or_default()
                .push((part, bytes));
        }
        for a in &q.args {
            let Arg::Text(name) = a else { continue };
            let Some(mut p) = parts.remove(name) else {
                if name == MANIFEST {
                    self.state.index = Some((id.to_owned(), None));
                    continue;
                }
                return Err(format!("the D1 database lacks index file `{name}`"));
            };
            p.sort_by_key(|x| x.0);
            if p.iter().enumerate().any(|(i, x)| x.0 != i as i64) {
                return Err(format!("index file `{name}` has missing parts in D1"));
            }
            let bytes: Arc<[u8]> = p.into_iter().flat_map(|x| x.1).collect::<Vec<u8>>().into();
            if name == MANIFEST {
                let ix = ChunkedIndex::from_manifest(&bytes)
                    .map_err(|e| format!("the chunked index in D1: {e}"))?;
                self.state.index = Some((id.to_owned(), Some((Arc::new(ix), bytes))));
            } else {
                self.files.insert(name.clone(), bytes.clone());
                self.state.cache.insert(name.clone(), bytes);
            }
        }
        Ok(())
    }

    /// The rows of `q` if a round fetched them; else records it.
    fn rows(&self, q: D1Query) -> Result<&Rows, StoreError> {
        match self.answers.get(&q) {
            Some(r) => Ok(r),
            None => {
                lock(&self.wanted).query(q);
                Err(pending())
            }
        }
    }

    fn id(&self) -> Result<&str, StoreError> {
        match &self.state.id {
            Some((id, _)) => Ok(id),
            None => Err(pending()), // the next batch asks (it always heads with META_QUERY)
        }
    }

    fn count(&self, q: &ListRequest) -> Result<u64, StoreError> {
        let (where_all, args) = filter_sql(q, false);
        let rows = self.rows(D1Query::new(
            format!("SELECT COUNT(*) AS n FROM documents d{where_all}"),
            args_of(args),
        ))?;
        Ok(rows
            .first()
            .and_then(|r| r.get("n"))
            .and_then(int)
            .unwrap_or(0)
            .max(0) as u64)
    }
}

/// One row of the reader's raw columns as the API's JSON.
fn raw_from(row: &Map<String, Value>) -> Result<RawDocument, StoreError> {
    let id = text(row, "id")?;
    let doc_type = match text(row, "type")? {
        "persona" => DocType::Persona,
        "prompt_template" => DocType::PromptTemplate,
        other => {
            return Err(StoreError::new(format!(
                "document `{id}` has unknown type `{other}`"
            )))
        }
    };
    let modified = Some(text(row, "file_modified")?).filter(|m| !m.is_empty());
    let stale = row.get("stale").and_then(int).unwrap_or(0) != 0;
    RawDocument::splice(id, doc_type, text(row, "document")?, modified, stale)
}

fn served(row: &Map<String, Value>) -> Result<ServedDocument, StoreError> {
    let id = text(row, "id")?;
    let document: Document = serde_json::from_str(text(row, "document")?)
        .map_err(|e| StoreError::new(format!("document `{id}` has unreadable JSON: {e}")))?;
    Ok(ServedDocument {
        document,
        modified: Some(text(row, "file_modified")?.to_owned()).filter(|m| !m.is_empty()),
        stale: row.get("stale").and_then(int).unwrap_or(0) != 0,
    })
}

fn one_doc() -> String {
    format!("SELECT {RAW_COLUMNS} FROM documents d WHERE d.id = ?1")
}

impl DocumentSource for D1Request<'_> {
    fn generation(&self) -> Result<String, StoreError> {
        self.id().map(str::to_owned)
    }

    fn health(&self) -> Result<HealthInfo, StoreError> {
        let counts = self.rows(D1Query::new(
            "SELECT type, COUNT(*) AS n FROM documents GROUP BY type",
            Vec::new(),
        ));
        let errors = self.rows(D1Query::new(
            "SELECT COUNT(*) AS n FROM sync_errors",
            Vec::new(),
        ));
        let index = self.rows(D1Query::new(
            format!("SELECT 1 AS x FROM {INDEX_CHUNKS} LIMIT 1"),
            Vec::new(),
        ));
        let generation = self.generation()?;
        let (counts, errors, index) = (counts?, errors?, index?);
        let mut c = Counts::default();
        for r in counts {
            let n = r.get("n").and_then(int).unwrap_or(0).max(0) as u64;
            c.documents += n;
            match text(r, "type")? {
                "persona" => c.personas += n,
                _ => c.prompt_templates += n,
            }
        }
        Ok(HealthInfo {
            generation,
            counts: c,
            // Checked against D1's `d1_schema_version` on every batch.
            schema_version: Some(i64::from(crate::SCHEMA_VERSION)),
            sync_errors: errors
                .first()
                .and_then(|r| r.get("n"))
                .and_then(int)
                .unwrap_or(0)
                .max(0) as u64,
            search_index: !index.is_empty(),
        })
    }

    fn get(&self, id: &str) -> Result<Option<ServedDocument>, StoreError> {
        let rows = self.rows(D1Query::new(one_doc(), vec![Arg::Text(id.to_owned())]))?;
        rows.first().map(served).transpose()
    }

    fn get_raw(&self, id: &str) -> Result<Option<RawDocument>, StoreError> {
        let rows = self.rows(D1Query::new(one_doc(), vec![Arg::Text(id.to_owned())]))?;
        rows.first().map(raw_from).transpose()
    }

    fn list(&self, q: &ListRequest) -> Result<ListPage, StoreError> {
        let total = self.count(q);
        let (sql, args) = page_sql(q, RAW_COLUMNS);
        let rows = self.rows(D1Query::new(sql, args_of(args)))?;
        Ok(ListPage {
            items: rows.iter().map(served).collect::<Result<_, _>>()?,
            total: total?,
        })
    }

    fn list_raw(&self, q: &ListRequest) -> Result<RawListPage, StoreError> {
        // Both queries are recorded before either fails, so they go in one batch.
        let total = self.count(q);
        let (sql, args) = page_sql(q, RAW_COLUMNS);
        let rows = self.rows(D1Query::new(sql, args_of(args)))?;
        Ok(RawListPage {
            items: rows.iter().map(raw_from).collect::<Result<_, _>>()?,
            total: total?,
        })
    }

    fn index_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.rows(D1Query::new(
            format!("SELECT hex FROM {INDEX_CHUNKS} ORDER BY seq"),
            Vec::new(),
        ))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut hex = String::new();
        for r in rows {
            hex.push_str(text(r, "hex")?);
        }
        unhex(&hex)
            .map(Some)
            .ok_or_else(|| StoreError::new("the search index chunks in D1 are not hex"))
    }

    fn searcher(&self) -> Result<Option<Arc<dyn Searcher + Send + Sync>>, StoreError> {
        let id = self.id()?;
        let index = match &self.state.index {
            Some((for_id, ix)) if for_id == id => ix.clone(),
            _ => {
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

/// Runs one request against `db`, a SQLite database loaded with the D1 SQL, the way
/// the worker runs it against D1 (rows as D1 returns them: objects, numbers as
/// floats): for tests of the rounds without a Workers runtime.
#[cfg(test)]
pub(crate) fn answer_via_sqlite(
    db: &rusqlite::Connection,
    state: &mut D1State,
    req: &promptshelf_core::api::Request,
    body: &[u8],
    cfg: &promptshelf_core::api::ApiConfig,
) -> (promptshelf_core::api::Response, usize) {
    let mut r = D1Request::new(state, 1, 0);
    let mut rounds = 0;
    loop {
        let resp = promptshelf_core::api::handle_with_body(req, body, r.reader(), cfg);
        let batch = r.batch();
        if batch.is_empty() {
            return (resp, rounds);
        }
        rounds += 1;
        assert!(rounds < 8, "too many rounds for {}", req.path);
        let rows = batch.iter().map(|q| run_sqlite(db, q)).collect();
        r.absorb(&batch, rows, 1).unwrap();
    }
}

#[cfg(test)]
fn run_sqlite(db: &rusqlite::Connection, q: &D1Query) -> Rows {
    use rusqlite::types::ValueRef;
    let mut stmt = db.prepare(&q.sql).unwrap();
    let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let args: Vec<SqlValue> = q
        .args
        .iter()
        .map(|a| match a {
            Arg::Text(t) => SqlValue::Text(t.clone()),
            Arg::Int(i) => SqlValue::Integer(*i),
        })
        .collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(args)).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let mut m = Map::new();
        for (i, n) in names.iter().enumerate() {
            let v = match r.get_ref(i).unwrap() {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => serde_json::json!(i as f64),
                ValueRef::Real(f) => serde_json::json!(f),
                ValueRef::Text(t) => Value::String(String::from_utf8(t.to_vec()).unwrap()),
                ValueRef::Blob(_) => panic!("blobs are read as hex"),
            };
            m.insert(n.clone(), v);
        }
        out.push(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;
    use promptshelf_core::api::{ApiConfig, Request};
    use rusqlite::Connection;

    fn d1_of(bytes: &[u8]) -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        c.deserialize_read_exact("main", std::io::Cursor::new(bytes), bytes.len(), true)
            .unwrap();
        let sql = crate::d1::d1_sql(&c).unwrap();
        assert!(sql
            .lines()
            .all(|l| l.len() <= crate::d1::MAX_STATEMENT_BYTES));
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(&sql).unwrap();
        db
    }

    #[test]
    fn per_request_queries_answer_like_the_snapshot_file() {
        let bytes = crate::d1::tests::snapshot_bytes();
        let file = Snapshot::from_vec(bytes.clone()).unwrap();
        let db = d1_of(&bytes);
        let cfg = ApiConfig::default();
        let manifest = file.answer(&Request::get("/v1/index/manifest.json"), &[], &cfg);
        let m: Value = serde_json::from_slice(&manifest.body).unwrap();
        let chunk = m["postings"][0].as_str().unwrap().to_owned();
        // A tiny budget: chunks are evicted between requests and fetched again.
        for budget in [DEFAULT_CACHE_BYTES, 1] {
            let mut state = D1State::new(budget);
            for target in [
                "/v1/health",
                "/v1/documents",
                "/v1/documents?limit=1",
                "/v1/documents?tag=SUPPORT&field.model.api=chat",
                "/v1/documents?field.model.api=nope",
                "/v1/documents/alice",
                "/v1/documents/nobody",
                "/v1/personas/bob",
                "/v1/prompts/bob",
                "/v1/personas?tag=support&limit=1",
                "/v1/search?q=bill",
                "/v1/search?q=suport",
                "/v1/search?q=%22refunds+and%22",
                "/v1/search?q=tag:support+-billing&limit=1&offset=1",
                "/v1/search?q=path:personas/alice.json",
                "/v1/search?q=(",
                "/v1/search?q=zzzz",
                "/v1/index",
                "/v1/index/manifest.json",
                &format!("/v1/index/{chunk}"),
                "/v1/index/postings/nope.bin",
            ] {
                let a = file.answer(&Request::get(target), &[], &cfg);
                let (b, rounds) =
                    answer_via_sqlite(&db, &mut state, &Request::get(target), &[], &cfg);
                assert_eq!(
                    a.status,
                    b.status,
                    "{target}: {}",
                    String::from_utf8_lossy(&b.body)
                );
                assert!(
                    a.body == b.body,
                    "{target}: bodies differ\n{}\n{}",
                    String::from_utf8_lossy(&a.body),
                    String::from_utf8_lossy(&b.body)
                );
                assert_eq!(a.header("etag"), b.header("etag"), "{target}");
                assert!(rounds <= 4, "{target}: {rounds} rounds");
            }
            if budget == 1 {
                assert!(state.cache.len() <= 40);
            }
        }
    }

    #[test]
    fn a_known_snapshot_id_is_confirmed_in_the_same_batch() {
        let db = d1_of(&crate::d1::tests::snapshot_bytes());
        let cfg = ApiConfig::default();
        let mut state = D1State::new(DEFAULT_CACHE_BYTES);
        let req = Request::get("/v1/documents/alice");
        assert_eq!(answer_via_sqlite(&db, &mut state, &req, &[], &cfg).1, 2);
        // The isolate knows the id now: one batch (META + the document).
        assert_eq!(answer_via_sqlite(&db, &mut state, &req, &[], &cfg).1, 1);
        // A search: the manifest, the global files, then postings and packs.
        let (r, _) = answer_via_sqlite(
            &db,
            &mut state,
            &Request::get("/v1/search?q=bill"),
            &[],
            &cfg,
        );
        assert_eq!(r.status, 200);
        let cached = state.cache.len();
        assert!(cached > 0);
        // Warm: the same search needs only the META check.
        let (_, rounds) = answer_via_sqlite(
            &db,
            &mut state,
            &Request::get("/v1/search?q=bill"),
            &[],
            &cfg,
        );
        assert_eq!(rounds, 1);
    }

    #[test]
    fn an_empty_or_reloading_database_is_an_error_not_an_answer() {
        let db = d1_of(&crate::d1::tests::snapshot_bytes());
        db.execute("DELETE FROM sync_meta WHERE key = 'snapshot_id'", [])
            .unwrap();
        let mut state = D1State::new(DEFAULT_CACHE_BYTES);
        let mut r = D1Request::new(&mut state, 1, 0);
        let _ = promptshelf_core::api::handle(
            &Request::get("/v1/health"),
            r.reader(),
            &ApiConfig::default(),
        );
        let batch = r.batch();
        let rows = batch.iter().map(|q| run_sqlite(&db, q)).collect();
        let e = r.absorb(&batch, rows, 1).unwrap_err();
        assert!(e.contains("no complete promptshelf snapshot"), "{e}");
    }

    #[test]
    fn a_corrupt_chunk_is_a_failure() {
        let db = d1_of(&crate::d1::tests::snapshot_bytes());
        db.execute(
            "UPDATE index_files SET data = X'00' WHERE name LIKE 'postings/%'",
            [],
        )
        .unwrap();
        let mut state = D1State::new(DEFAULT_CACHE_BYTES);
        let mut r = D1Request::new(&mut state, 1, 0);
        let req = Request::get("/v1/search?q=bill");
        for _ in 0..6 {
            let _ = promptshelf_core::api::handle(&req, r.reader(), &ApiConfig::default());
            if r.failure().is_some() {
                return;
            }
            let batch = r.batch();
            assert!(!batch.is_empty(), "answered from a corrupt chunk");
            let rows = batch.iter().map(|q| run_sqlite(&db, q)).collect();
            r.absorb(&batch, rows, 1).unwrap();
        }
        panic!("no failure reported");
    }
}
