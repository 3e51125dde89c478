//! The read API's [`DocumentSource`](promptshelf_core::api::DocumentSource) over the SQLite schema: what
//! the local server and the edge worker hand to `promptshelf_core::api::handle`.
//!
//! - [`Reader`]: one connection, one consistent view. Within a read transaction
//!   (what [`ReaderPool::with_reader`] opens) every query of a request sees the same
//!   WAL snapshot, so a request never mixes two batches. Over an immutable snapshot
//!   (the edge) no transaction is needed.
//! - [`IndexCache`]: the loaded search index, kept across requests and reloaded only
//!   when the stored index's generation changes (loading costs far more than a query).
//! - [`ReaderPool`]: read-only connections to a database file, reused across requests.
//!
//! Only rusqlite: this module builds for wasm32-unknown-unknown too.

use crate::read;
use promptshelf_core::api::{
    self, Counts, HealthInfo, ListPage, ListRequest, RawDocument, RawListPage, Searcher,
    ServedDocument, StoreError,
};
use promptshelf_core::{DocType, Document};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A loaded search index, shared across requests and threads.
pub type SharedSearcher = Arc<dyn Searcher + Send + Sync>;
/// Turns stored index bytes into a searcher (the core engine's `from_bytes`).
pub type IndexLoader = fn(&[u8]) -> Result<SharedSearcher, String>;

/// How many loaded indexes (of distinct generations) the cache keeps. Two: when a new
/// index is stored, requests whose snapshot began just before still ask for the previous
/// one; with only one slot they and the new requests would evict each other's index and
/// reload it in turn.
const KEEP_INDEXES: usize = 2;

/// The last loaded indexes, keyed by the generation they were stored at.
pub struct IndexCache {
    loader: Option<IndexLoader>,
    /// Newest generation last; at most [`KEEP_INDEXES`].
    slots: Mutex<Vec<(u64, SharedSearcher)>>,
    /// Held while one index loads, so concurrent misses load it once; lookups of
    /// indexes already loaded never wait for it.
    loading: Mutex<()>,
}

impl IndexCache {
    /// A cache that loads indexes with `loader` (`None`: no search engine, and
    /// `/v1/search` answers 503). [`IndexCache::default`] uses the core engine.
    pub fn new(loader: Option<IndexLoader>) -> IndexCache {
        IndexCache {
            loader,
            slots: Mutex::new(Vec::new()),
            loading: Mutex::new(()),
        }
    }

    fn cached(&self, generation: u64) -> Option<SharedSearcher> {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .iter()
            .find(|(g, _)| *g == generation)
            .map(|(_, s)| s.clone())
    }

    fn get_or_load(
        &self,
        generation: u64,
        load_bytes: impl FnOnce() -> Result<Option<Vec<u8>>, StoreError>,
    ) -> Result<Option<SharedSearcher>, StoreError> {
        let Some(loader) = self.loader else {
            return Ok(None);
        };
        if let Some(s) = self.cached(generation) {
            return Ok(Some(s));
        }
        let _one_load_at_a_time = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = self.cached(generation) {
            return Ok(Some(s)); // loaded by the request we waited for
        }
        let Some(bytes) = load_bytes()? else {
            return Ok(None);
        };
        let searcher = loader(&bytes)
            .map_err(|e| StoreError::new(format!("the stored search index is unusable: {e}")))?;
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.push((generation, searcher.clone()));
        slots.sort_by_key(|(g, _)| *g);
        if slots.len() > KEEP_INDEXES {
            slots.remove(0); // the oldest generation
        }
        Ok(Some(searcher))
    }
}

impl Default for IndexCache {
    /// Loads indexes with the core search engine.
    fn default() -> Self {
        IndexCache::new(Some(api::load_index))
    }
}

/// The read API's view of one connection.
pub struct Reader<'a> {
    conn: &'a Connection,
    index: &'a IndexCache,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(e.to_string())
}

impl<'a> Reader<'a> {
    /// A reader over `conn` (inside a read transaction, or an immutable snapshot),
    /// searching through `index`.
    pub fn new(conn: &'a Connection, index: &'a IndexCache) -> Reader<'a> {
        Reader { conn, index }
    }

    /// The connection (inside the request's read transaction, when pooled), for the
    /// admin queries in [`crate::read`].
    pub fn conn(&self) -> &Connection {
        self.conn
    }

    fn to_api(row: crate::DocumentRow) -> Result<ServedDocument, StoreError> {
        let document: Document = serde_json::from_str(&row.json)
            .map_err(|e| err(format!("document `{}` has unreadable JSON: {e}", row.id)))?;
        Ok(ServedDocument {
            document,
            modified: Some(row.file_modified).filter(|m| !m.is_empty()),
            stale: row.stale,
        })
    }

    /// How many documents match the filters of `q` (cursor and paging aside).
    fn count(&self, q: &ListRequest) -> Result<u64, StoreError> {
        let (where_all, args) = filter_sql(q, false);
        let sql = format!("SELECT COUNT(*) FROM documents d{where_all}");
        let total: i64 = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(rusqlite::params_from_iter(&args), |r| r.get(0)))
            .map_err(err)?;
        Ok(total.max(0) as u64)
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT type, COUNT(*) FROM documents GROUP BY type")
            .map_err(err)?;
        let mut c = Counts::default();
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(err)?;
        for row in rows {
            let (t, n) = row.map_err(err)?;
            let n = n.max(0) as u64;
            c.documents += n;
            match t.as_str() {
                "persona" => c.personas += n,
                _ => c.prompt_templates += n,
            }
        }
        Ok(c)
    }
}

/// SQL for the filters of `q` (without cursor/paging), with its parameters. Mirrors
/// `promptshelf_core::api::memory::matches`, the reference semantics.
pub(crate) fn filter_sql(q: &ListRequest, with_cursor: bool) -> (String, Vec<SqlValue>) {
    let mut sql = String::from(" WHERE 1");
    let mut args: Vec<SqlValue> = Vec::new();
    if let Some(t) = q.doc_type {
        args.push(SqlValue::Text(t.as_str().to_owned()));
        // For a page, `+` keeps SQLite from using the type index: walking the id index
        // in order and stopping after `limit` rows beats fetching and sorting every
        // row of that type (measured: 96 → thousands of requests/s at 10,000 docs).
        // The count still uses the index.
        let col = if with_cursor { "+d.type" } else { "d.type" };
        sql.push_str(&format!(" AND {col} = ?{}", args.len()));
    }
    for tag in &q.tags {
        args.push(SqlValue::Text(tag.clone()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM json_each(d.document, '$.tags') t \
               WHERE t.type = 'text' AND t.value = ?{} COLLATE NOCASE)",
            args.len()
        ));
    }
    for f in &q.fields {
        args.push(SqlValue::Text(f.sqlite_path()));
        let p = args.len();
        args.push(SqlValue::Text(f.value.clone()));
        let v = args.len();
        // json_each over a scalar yields that one scalar; over an array, its elements;
        // objects are excluded. Scalars compare by their JSON text, strings as text.
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM json_each(d.document, ?{p}) j \
               WHERE json_type(d.document, ?{p}) <> 'object' AND ?{v} = CASE j.type \
                 WHEN 'text' THEN j.value \
                 WHEN 'integer' THEN CAST(j.value AS TEXT) \
                 WHEN 'real' THEN CAST(j.value AS TEXT) \
                 WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' \
                 ELSE NULL END)"
        ));
    }
    if with_cursor {
        if let Some(after) = &q.after_id {
            args.push(SqlValue::Text(after.clone()));
            sql.push_str(&format!(" AND d.id > ?{}", args.len()));
        }
    }
    (sql, args)
}

/// The columns [`raw_from_row`] reads: what an API answer needs, nothing else.
pub(crate) const RAW_COLUMNS: &str = "d.id, d.type, d.document, d.file_modified, d.stale";

/// One row of [`RAW_COLUMNS`] as the API's JSON: the stored document JSON is spliced in
/// verbatim (borrowed from SQLite's row buffer, copied once into the answer), never
/// parsed into a `Document` and serialized again.
fn raw_from_row(r: &rusqlite::Row<'_>) -> Result<RawDocument, StoreError> {
    let text =
        |i: usize| -> Result<&str, StoreError> { r.get_ref(i).map_err(err)?.as_str().map_err(err) };
    let id = text(0)?;
    let doc_type = match text(1)? {
        "persona" => DocType::Persona,
        "prompt_template" => DocType::PromptTemplate,
        other => return Err(err(format!("document `{id}` has unknown type `{other}`"))),
    };
    let modified = Some(text(3)?).filter(|m| !m.is_empty());
    let stale = r.get::<_, i64>(4).map_err(err)? != 0;
    RawDocument::splice(id, doc_type, text(2)?, modified, stale)
}

/// SQL and parameters for one page of `q` (filters, cursor, limit, offset) selecting
/// `columns`, ordered by id.
pub(crate) fn page_sql(q: &ListRequest, columns: &str) -> (String, Vec<SqlValue>) {
    let (where_page, mut args) = filter_sql(q, true);
    args.push(SqlValue::Integer(
        i64::try_from(q.limit).unwrap_or(i64::MAX),
    ));
    let lim = args.len();
    args.push(SqlValue::Integer(
        i64::try_from(q.offset).unwrap_or(i64::MAX),
    ));
    let off = args.len();
    let sql = format!(
        "SELECT {columns} FROM documents d{where_page} ORDER BY d.id LIMIT ?{lim} OFFSET ?{off}"
    );
    (sql, args)
}

const COLUMNS: &str = "d.id, d.type, d.name, d.document, d.file_path, d.file_modified, \
     COALESCE(d.created_at, ''), COALESCE(d.updated_at, ''), d.content_hash, d.file_size, d.stale";

/// History reads tolerate a database from before schema 3 (a snapshot built by an older
/// promptshelf): no `versions` table means no history.
fn no_history<T>(r: Result<T, crate::Error>) -> Result<Option<T>, StoreError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.to_string().contains("no such table") => Ok(None),
        Err(e) => Err(err(e)),
    }
}

impl api::DocumentSource for Reader<'_> {
    fn versions(
        &self,
        id: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Option<(Vec<promptshelf_core::versions::VersionInfo>, u64)>, StoreError> {
        Ok(
            no_history(crate::versions::versions(self.conn, id, offset, limit))?
                .filter(|(_, total)| *total > 0),
        )
    }

    fn version(
        &self,
        id: &str,
        number: u32,
    ) -> Result<Option<(promptshelf_core::versions::VersionInfo, Vec<u8>)>, StoreError> {
        Ok(no_history(crate::versions::version(self.conn, id, number))?.flatten())
    }

    fn doc_label(&self, id: &str, label: &str) -> Result<Option<Result<u32, String>>, StoreError> {
        Ok(no_history(crate::versions::doc_label(self.conn, id, label))?.flatten())
    }

    fn generation(&self) -> Result<String, StoreError> {
        read::content_generation(self.conn).map_err(err)
    }

    fn health(&self) -> Result<HealthInfo, StoreError> {
        let schema_version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        let search_index = self
            .conn
            .prepare_cached("SELECT 1 FROM search_index WHERE slot = 1")
            .and_then(|mut s| s.query_row([], |_| Ok(())).optional())
            .map_err(err)?
            .is_some();
        Ok(HealthInfo {
            generation: self.generation()?,
            counts: self.counts()?,
            schema_version: Some(schema_version),
            sync_errors: read::count_sync_errors(self.conn).map_err(err)?,
            search_index,
        })
    }

    fn get(&self, id: &str) -> Result<Option<ServedDocument>, StoreError> {
        read::get_document(self.conn, id)
            .map_err(err)?
            .map(Self::to_api)
            .transpose()
    }

    fn get_raw(&self, id: &str) -> Result<Option<RawDocument>, StoreError> {
        let sql = format!("SELECT {RAW_COLUMNS} FROM documents d WHERE d.id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
        let mut rows = stmt.query([id]).map_err(err)?;
        match rows.next().map_err(err)? {
            Some(row) => raw_from_row(row).map(Some),
            None => Ok(None),
        }
    }

    fn list(&self, q: &ListRequest) -> Result<ListPage, StoreError> {
        let total = self.count(q)?;
        let (sql, args) = page_sql(q, COLUMNS);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(&args), crate::read::doc_from_row)
            .map_err(err)?;
        let mut items = Vec::new();
        for row in rows {
            items.push(Self::to_api(row.map_err(err)?)?);
        }
        Ok(ListPage { items, total })
    }

    fn list_raw(&self, q: &ListRequest) -> Result<RawListPage, StoreError> {
        let total = self.count(q)?;
        let (sql, args) = page_sql(q, RAW_COLUMNS);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&args)).map_err(err)?;
        let mut items = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            items.push(raw_from_row(row)?);
        }
        Ok(RawListPage { items, total })
    }

    /// The stored index with the labels section appended (issue #15; see
    /// [`crate::label_index`]): what `GET /v1/index` serves.
    fn index_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((_, blob)) = read::search_index(self.conn).map_err(err)? else {
            return Ok(None);
        };
        let labels = crate::label_index::index_labels(self.conn).map_err(err)?;
        if labels.is_empty() {
            return Ok(Some(blob));
        }
        // A blob that cannot take them (not an index: damaged) is served as stored, so
        // the client's loader names the damage.
        Ok(Some(
            promptshelf_core::search::labels::with_labels(&blob, &labels).unwrap_or(blob),
        ))
    }

    fn searcher(&self) -> Result<Option<SharedSearcher>, StoreError> {
        let generation: Option<i64> = self
            .conn
            .prepare_cached("SELECT generation FROM search_index WHERE slot = 1")
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .map_err(err)?;
        let Some(generation) = generation else {
            return Ok(None);
        };
        self.index
            // The stored blob: search needs no labels.
            .get_or_load(generation.max(0) as u64, || {
                Ok(read::search_index(self.conn).map_err(err)?.map(|(_, b)| b))
            })
    }
}

/// Read-only connections to one database file, handed out one per request. Each
/// request runs inside a read transaction, so it sees exactly one committed state
/// however many batches the watcher commits meanwhile (WAL).
pub struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    index: IndexCache,
}

impl ReaderPool {
    /// Opens one connection at once, so a missing or unreadable file fails here rather
    /// than on the first request.
    pub fn open(
        path: &Path,
        max_idle: usize,
        index: IndexCache,
    ) -> Result<ReaderPool, crate::Error> {
        let pool = ReaderPool {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
            index,
        };
        let conn = pool.connect()?;
        let v = crate::schema::user_version(&conn)?;
        if v > crate::SCHEMA_VERSION {
            return Err(crate::Error::TooNew {
                found: v,
                supported: crate::SCHEMA_VERSION,
            });
        }
        pool.put(conn);
        Ok(pool)
    }

    fn connect(&self) -> Result<Connection, crate::Error> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn take(&self) -> Result<Connection, crate::Error> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn put(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    /// Runs `f` with a [`Reader`] inside one read transaction. `BEGIN`/`ROLLBACK` are
    /// cached statements (a read-only transaction has nothing to commit; ending it just
    /// releases the snapshot), so a request pays no SQL parsing for them. A connection
    /// whose transaction does not end cleanly (or whose `f` panicked) is dropped, not
    /// pooled.
    pub fn with_reader<R>(&self, f: impl FnOnce(&Reader<'_>) -> R) -> Result<R, StoreError> {
        let conn = self.take().map_err(err)?;
        run_cached(&conn, "BEGIN").map_err(err)?;
        let out = f(&Reader::new(&conn, &self.index));
        if run_cached(&conn, "ROLLBACK").is_ok() {
            self.put(conn);
        }
        Ok(out)
    }

    /// The database file the pool reads.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
