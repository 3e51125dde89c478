//! The same schema in a Cloudflare D1 database, for libraries too big or changing too
//! often to ship inside the worker. Both halves of the format live here:
//! - writing: [`d1_sql`] turns a snapshot into SQL that `wrangler d1 execute DB --file
//!   FILE` loads;
//! - reading (the worker, wasm32): [`queries`] and [`SNAPSHOT_ID_QUERY`] are what it runs
//!   against D1, and [`snapshot_from_rows`] copies the rows into an in-memory SQLite
//!   database with this crate's schema, served by the same `Reader`, so the answers stay
//!   byte-identical to the bundled snapshot's and the local server's.
//!
//! Differences from a snapshot file, both forced by D1: no `PRAGMA user_version` (the
//! version goes into `sync_meta` as `d1_schema_version`), and the search index blob is
//! stored as hex text in [`INDEX_CHUNKS`] rows, because one D1 statement is at most
//! 100,000 bytes.

use crate::snapshot::{Snapshot, SnapshotError};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection};
use serde_json::Value;

/// The tables the worker copies, with their columns in order (`sync_meta` last: it holds
/// `snapshot_id`, which the worker takes as "this database is complete").
pub const TABLES: &[(&str, &str)] = &[
    (
        "documents",
        "id, type, name, document, file_path, file_modified, created_at, updated_at, \
         content_hash, file_size, stale",
    ),
    (
        "sync_errors",
        "path, kind, line, col, message, doc_id, first_seen, last_seen",
    ),
    ("sync_meta", "key, value"),
];

/// The table holding the search index as hex text, in `seq` order.
pub const INDEX_CHUNKS: &str = "search_index_chunks";
/// The table holding the chunked index (`promptshelf_core::search::chunked`: the
/// manifest and every chunk file, by name) as BLOBs cut into parts of at most
/// [`CHUNK_BYTES`], what the worker reads per search ([`crate::d1_read`]).
pub const INDEX_FILES: &str = "index_files";
/// `sync_meta` key recording the schema version (D1 has no `PRAGMA user_version`).
pub const META_D1_SCHEMA_VERSION: &str = "d1_schema_version";
/// Bytes of index per chunk row (twice that in hex, well under the statement limit).
const CHUNK_BYTES: usize = 32 * 1024;
/// D1's limit on one SQL statement.
pub const MAX_STATEMENT_BYTES: usize = 100_000;

/// Why a snapshot cannot be written as D1 SQL.
#[derive(Debug, thiserror::Error)]
pub enum D1Error {
    /// Reading the snapshot failed.
    #[error(transparent)]
    Store(#[from] crate::Error),
    /// A row does not fit in one D1 statement.
    #[error("a row of `{table}` needs a {bytes}-byte SQL statement; D1 accepts at most {MAX_STATEMENT_BYTES}")]
    TooLong {
        /// The table the row belongs to.
        table: String,
        /// The size of its statement.
        bytes: usize,
    },
}

impl From<rusqlite::Error> for D1Error {
    fn from(e: rusqlite::Error) -> Self {
        D1Error::Store(e.into())
    }
}

/// SQL that (re)creates the schema in a D1 database and loads every row of the database
/// `conn` (a snapshot) into it. `sync_meta` is dropped first and filled last, so a worker
/// polling during the load never takes a half-loaded database for a complete one.
pub fn d1_sql(conn: &Connection) -> Result<String, D1Error> {
    let mut out = String::from(
        "-- promptshelf snapshot for Cloudflare D1: npx wrangler d1 execute DB --file THIS_FILE\n",
    );
    for t in [
        "sync_meta",
        "documents",
        "sync_errors",
        "files",
        "search_index",
        INDEX_CHUNKS,
        INDEX_FILES,
        // Schema 3 (versions): created by the migrations below; their rows are not
        // carried to D1 yet (the D1 host answers each document as its only version).
        "contents",
        "versions",
        "labels",
        "doc_labels",
        // Schema 4 (snapshot history packs): empty here too.
        "history_packs",
    ] {
        out.push_str(&format!("DROP TABLE IF EXISTS {t};\n"));
    }
    for m in crate::schema::MIGRATIONS {
        out.push_str(m.trim());
        out.push('\n');
    }
    out.push_str(&format!(
        "CREATE TABLE {INDEX_CHUNKS} (seq INTEGER PRIMARY KEY, hex TEXT NOT NULL);\n"
    ));
    out.push_str(&format!(
        "CREATE TABLE {INDEX_FILES} (name TEXT NOT NULL, part INTEGER NOT NULL, \
         data BLOB NOT NULL, PRIMARY KEY (name, part)) WITHOUT ROWID;\n"
    ));
    for (table, cols) in TABLES.iter().filter(|(t, _)| *t != "sync_meta") {
        rows_sql(conn, table, cols, &mut out)?;
    }
    if let Some((_, blob)) = crate::read::search_index(conn).map_err(D1Error::Store)? {
        for (seq, chunk) in blob.chunks(CHUNK_BYTES).enumerate() {
            out.push_str(&format!(
                "INSERT INTO {INDEX_CHUNKS} (seq, hex) VALUES ({seq}, '{}');\n",
                hex(chunk)
            ));
        }
        // The chunked index: what a search reads per request.
        let index = promptshelf_core::search::Index::from_bytes(&blob).map_err(|e| {
            D1Error::Store(crate::Error::Corrupt(format!("stored search index: {e}")))
        })?;
        let set = index.to_chunks(promptshelf_core::search::chunked::ChunkOptions::default());
        let manifest = set.manifest_bytes();
        let files = std::iter::once((
            promptshelf_core::search::chunked::MANIFEST,
            manifest.as_slice(),
        ))
        .chain(set.files.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
        for (name, bytes) in files {
            for (part, piece) in bytes.chunks(CHUNK_BYTES).enumerate() {
                out.push_str(&format!(
                    "INSERT INTO {INDEX_FILES} (name, part, data) VALUES ('{}', {part}, X'{}');\n",
                    name.replace('\'', "''"),
                    hex(piece)
                ));
            }
            if bytes.is_empty() {
                out.push_str(&format!(
                    "INSERT INTO {INDEX_FILES} (name, part, data) VALUES ('{}', 0, X'');\n",
                    name.replace('\'', "''")
                ));
            }
        }
    }
    out.push_str(&format!(
        "INSERT INTO sync_meta (key, value) VALUES ('{META_D1_SCHEMA_VERSION}', '{}');\n",
        crate::schema::user_version(conn)?
    ));
    rows_sql(conn, "sync_meta", "key, value", &mut out)?;
    Ok(out)
}

fn rows_sql(conn: &Connection, table: &str, cols: &str, out: &mut String) -> Result<(), D1Error> {
    let mut stmt = conn.prepare(&format!("SELECT {cols} FROM {table} ORDER BY 1"))?;
    let n = stmt.column_count();
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let mut line = format!("INSERT INTO {table} ({cols}) VALUES (");
        for i in 0..n {
            if i > 0 {
                line.push_str(", ");
            }
            literal(row.get_ref(i)?, &mut line);
        }
        line.push_str(");\n");
        if line.len() > MAX_STATEMENT_BYTES {
            return Err(D1Error::TooLong {
                table: table.to_owned(),
                bytes: line.len(),
            });
        }
        out.push_str(&line);
    }
    Ok(())
}

fn literal(v: ValueRef<'_>, out: &mut String) {
    match v {
        ValueRef::Null => out.push_str("NULL"),
        ValueRef::Integer(i) => out.push_str(&i.to_string()),
        ValueRef::Real(f) => out.push_str(&format!("{f:?}")),
        ValueRef::Text(t) => {
            out.push('\'');
            out.push_str(&String::from_utf8_lossy(t).replace('\'', "''"));
            out.push('\'');
        }
        ValueRef::Blob(b) => {
            out.push_str("X'");
            out.push_str(&hex(b));
            out.push('\'');
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Decodes [`INDEX_CHUNKS`] text back into bytes (`None` on anything but hex digits).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    b.chunks(2)
        .map(|p| Some(val(p[0])? << 4 | val(p[1])?))
        .collect()
}

// The reading half: what the worker runs against D1 and builds from the rows.

/// The `sync_meta` query the worker polls: a changed answer means new contents.
pub const SNAPSHOT_ID_QUERY: &str = "SELECT value FROM sync_meta WHERE key = 'snapshot_id'";

/// The queries to run (as one D1 batch, so they see one state): every table of
/// [`TABLES`], then the search index chunks.
pub fn queries() -> Vec<String> {
    let mut q: Vec<String> = TABLES
        .iter()
        .map(|(t, cols)| format!("SELECT {cols} FROM {t} ORDER BY 1"))
        .collect();
    q.push(format!("SELECT hex FROM {INDEX_CHUNKS} ORDER BY seq"));
    q
}

/// The column names of each of [`queries`], in order (D1 returns rows as objects).
pub fn query_columns() -> Vec<Vec<&'static str>> {
    let mut c: Vec<Vec<&'static str>> = TABLES
        .iter()
        .map(|(_, cols)| cols.split(',').map(str::trim).collect())
        .collect();
    c.push(vec!["hex"]);
    c
}

/// One D1 row object as the column values of `columns`, in order.
pub fn row_values(
    columns: &[&str],
    row: &serde_json::Map<String, Value>,
) -> Result<Vec<Value>, SnapshotError> {
    columns
        .iter()
        .map(|c| {
            row.get(*c)
                .cloned()
                .ok_or_else(|| SnapshotError(format!("D1 row without column `{c}`")))
        })
        .collect()
}

fn sql_value(v: &Value) -> Result<SqlValue, SnapshotError> {
    Ok(match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => SqlValue::Integer(i),
            // JavaScript numbers arrive as floats; whole ones are integers in SQLite.
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => SqlValue::Integer(f as i64),
            (None, Some(f)) => SqlValue::Real(f),
            _ => return Err(SnapshotError(format!("unreadable number {n} from D1"))),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => {
            return Err(SnapshotError(format!(
                "unexpected value from D1: {}",
                other.to_string().chars().take(80).collect::<String>()
            )))
        }
    })
}

/// Builds the in-memory snapshot from the rows of [`queries`], in the same order (each
/// row as a JSON array of column values, what D1's `raw()` returns).
pub fn snapshot_from_rows(results: &[Vec<Vec<Value>>]) -> Result<Snapshot, SnapshotError> {
    let fail = |e: rusqlite::Error| SnapshotError(format!("copying the D1 rows failed: {e}"));
    if results.len() != TABLES.len() + 1 {
        return Err(SnapshotError(
            "D1 answered the wrong number of queries".into(),
        ));
    }
    let mut conn = Connection::open_in_memory().map_err(fail)?;
    crate::schema::migrate(&mut conn)
        .map_err(|e| SnapshotError(format!("creating the in-memory schema failed: {e}")))?;
    let tx = conn.transaction().map_err(fail)?;
    for ((table, cols), rows) in TABLES.iter().zip(results) {
        let n = cols.split(',').count();
        let marks = (1..=n)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = tx
            .prepare(&format!("INSERT INTO {table} ({cols}) VALUES ({marks})"))
            .map_err(fail)?;
        for row in rows {
            if row.len() != n {
                return Err(SnapshotError(format!(
                    "D1 table `{table}` has {} columns, expected {n}",
                    row.len()
                )));
            }
            let values = row.iter().map(sql_value).collect::<Result<Vec<_>, _>>()?;
            stmt.execute(params_from_iter(values)).map_err(fail)?;
        }
    }
    let mut hex = String::new();
    for row in &results[TABLES.len()] {
        match row.first() {
            Some(Value::String(s)) => hex.push_str(s),
            _ => {
                return Err(SnapshotError(
                    "a search index chunk in D1 is not text".into(),
                ))
            }
        }
    }
    if !hex.is_empty() {
        let blob = unhex(&hex)
            .ok_or_else(|| SnapshotError("the search index chunks in D1 are not hex".into()))?;
        tx.execute(
            "INSERT INTO search_index (slot, generation, data) VALUES (1, 0, ?1)",
            [blob],
        )
        .map_err(fail)?;
    }
    let version = crate::read::meta(&tx, META_D1_SCHEMA_VERSION)
        .ok()
        .flatten();
    let supported = crate::SCHEMA_VERSION.to_string();
    if version.as_deref() != Some(supported.as_str()) {
        return Err(SnapshotError(format!(
            "the D1 database holds schema version {}, this worker reads {supported} \
             (reload it with SQL from the same promptshelf version)",
            version.as_deref().unwrap_or("(none)")
        )));
    }
    tx.commit().map_err(fail)?;
    Snapshot::from_connection(conn)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use promptshelf_core::api::Request;
    use rusqlite::types::ValueRef;

    #[test]
    fn hex_round_trips() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&data)).unwrap(), data);
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }

    #[test]
    fn sql_recreates_the_rows_in_a_fresh_database() {
        // An index of more than one 32 KiB part.
        let docs: Vec<_> = (0..3000)
            .map(|i| {
                let json = format!(
                    r#"{{"id": "p{i}", "name": "n{i}", "prompt": "word{i} x{} y{} z{}"}}"#,
                    i * 7919,
                    i * 31,
                    i * 17
                );
                promptshelf_core::parse_document(
                    &format!("personas/p{i}.json"),
                    json.as_bytes(),
                    &promptshelf_core::ParseOptions::default(),
                )
                .unwrap()
            })
            .collect();
        let index = promptshelf_core::search::Index::build(&docs).to_bytes();
        assert!(index.len() > 2 * CHUNK_BYTES, "{}", index.len());
        let mut store = crate::Database::open_in_memory().unwrap();
        store
            .write(|w| {
                w.set_meta("snapshot_id", "abc")?;
                w.put_search_index(0, &index)?;
                Ok(())
            })
            .unwrap();
        store
            .conn()
            .execute(
                "INSERT INTO documents (id, type, name, document, file_path, file_modified) \
                 VALUES ('it''s', 'persona', 'N', '{\"a\":\"b''c\"}', 'p', 'm')",
                [],
            )
            .unwrap();
        let sql = d1_sql(store.conn()).unwrap();
        assert!(sql.lines().all(|l| l.len() <= MAX_STATEMENT_BYTES));
        // sync_meta is filled last.
        let last_insert = sql.lines().rev().find(|l| l.starts_with("INSERT")).unwrap();
        assert!(
            last_insert.starts_with("INSERT INTO sync_meta"),
            "{last_insert}"
        );

        let fresh = Connection::open_in_memory().unwrap();
        fresh.execute_batch(&sql).unwrap();
        let doc: String = fresh
            .query_row(
                "SELECT document FROM documents WHERE id = 'it''s'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(doc, "{\"a\":\"b'c\"}");
        let hexes: Vec<String> = fresh
            .prepare(&format!("SELECT hex FROM {INDEX_CHUNKS} ORDER BY seq"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(hexes.len(), index.len().div_ceil(CHUNK_BYTES));
        assert_eq!(unhex(&hexes.concat()).unwrap(), index);
        // The chunked index: every file of the set, the manifest among them.
        let files: i64 = fresh
            .query_row(
                &format!(
                    "SELECT COUNT(DISTINCT name) FROM {INDEX_FILES} WHERE name = 'manifest.json'"
                ),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(files, 1);
        let v: String = fresh
            .query_row(
                "SELECT value FROM sync_meta WHERE key = ?1",
                [META_D1_SCHEMA_VERSION],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(v, crate::SCHEMA_VERSION.to_string());
    }

    /// A small database with two documents and a search index, as snapshot bytes.
    pub(crate) fn snapshot_bytes() -> Vec<u8> {
        use promptshelf_core::{ContentHash, DocType, Document, DocumentId};
        let doc = |id: &str, body: &str| Document {
            id: DocumentId(id.into()),
            doc_type: DocType::Persona,
            name: format!("Name of {id}"),
            path: format!("personas/{id}.json"),
            hash: ContentHash::of(body.as_bytes()),
            description: Some("about support".into()),
            tags: vec!["support".into()],
            authors: vec![],
            body: body.into(),
            content: serde_json::json!({"model": {"api": "chat"}}),
        };
        let docs = [
            doc("alice", "refunds and support"),
            doc("bob", "billing questions"),
        ];
        let mut store = crate::Database::open_in_memory().unwrap();
        store
            .write(|w| {
                for d in &docs {
                    w.upsert_document(d, 1_700_000_000_000, 10)?;
                }
                let ix = promptshelf_core::search::Index::build(&docs);
                w.put_search_index(1, &ix.to_bytes())?;
                w.bump_generation()?;
                Ok(())
            })
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.db");
        crate::snapshot::write_snapshot(store.conn(), &path).unwrap();
        std::fs::read(path).unwrap()
    }

    /// What D1 would answer: the SQL loaded into a fresh SQLite database, then
    /// [`queries`] run against it, rows as JSON values.
    fn rows_via_sql(sql: &str) -> Vec<Vec<Vec<Value>>> {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(sql).unwrap();
        queries()
            .iter()
            .map(|q| {
                let mut stmt = db.prepare(q).unwrap();
                let n = stmt.column_count();
                let mut rows = stmt.query([]).unwrap();
                let mut out = Vec::new();
                while let Some(r) = rows.next().unwrap() {
                    out.push(
                        (0..n)
                            .map(|i| match r.get_ref(i).unwrap() {
                                ValueRef::Null => Value::Null,
                                // D1 hands numbers to JavaScript as floats.
                                ValueRef::Integer(i) => serde_json::json!(i as f64),
                                ValueRef::Real(f) => serde_json::json!(f),
                                ValueRef::Text(t) => {
                                    Value::String(String::from_utf8(t.to_vec()).unwrap())
                                }
                                ValueRef::Blob(_) => panic!("no blobs expected"),
                            })
                            .collect(),
                    );
                }
                out
            })
            .collect()
    }

    #[test]
    fn d1_rows_answer_like_the_snapshot_file() {
        let bytes = snapshot_bytes();
        let file = Snapshot::from_vec(bytes.clone()).unwrap();
        let conn = {
            let mut c = Connection::open_in_memory().unwrap();
            c.deserialize_read_exact("main", std::io::Cursor::new(&bytes), bytes.len(), true)
                .unwrap();
            c
        };
        let sql = d1_sql(&conn).unwrap();
        let d1 = snapshot_from_rows(&rows_via_sql(&sql)).unwrap();
        let cfg = promptshelf_core::api::ApiConfig::default();
        for target in [
            "/v1/health",
            "/v1/documents",
            "/v1/documents/alice",
            "/v1/search?q=bill",
            "/v1/index",
            "/v1/personas?tag=support",
        ] {
            let a = file.answer(&Request::get(target), &[], &cfg);
            let b = d1.answer(&Request::get(target), &[], &cfg);
            assert_eq!(a.status, b.status, "{target}");
            assert!(a.body == b.body, "{target}: bodies differ");
            assert_eq!(a.header("etag"), b.header("etag"), "{target}");
        }
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(snapshot_from_rows(&[]).is_err());
        let mut rows = vec![Vec::new(); TABLES.len() + 1];
        // No d1_schema_version.
        assert!(snapshot_from_rows(&rows)
            .err()
            .unwrap()
            .0
            .contains("schema version"));
        rows[0] = vec![vec![Value::Null]];
        assert!(snapshot_from_rows(&rows).is_err());
    }
}
