//! The same schema in a Cloudflare D1 database, for libraries too big or changing too
//! often to ship inside the worker: [`d1_sql`] turns a snapshot into SQL that
//! `wrangler d1 execute DB --file FILE` loads, and [`TABLES`] names what the worker reads
//! back (it copies the rows into an in-memory SQLite database and serves that with the
//! same `Reader`, so the answers stay byte-identical to the local server's).
//!
//! Differences from a snapshot file, both forced by D1: no `PRAGMA user_version` (the
//! version goes into `sync_meta` as `d1_schema_version`), and the search index blob is
//! stored as hex text in [`INDEX_CHUNKS`] rows, because one D1 statement is at most
//! 100,000 bytes.

use rusqlite::types::ValueRef;
use rusqlite::Connection;

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
/// `sync_meta` key recording the schema version (D1 has no `PRAGMA user_version`).
pub const META_D1_SCHEMA_VERSION: &str = "d1_schema_version";
/// Bytes of index per chunk row (twice that in hex, well under the statement limit).
const CHUNK_BYTES: usize = 32 * 1024;
/// D1's limit on one SQL statement.
pub const MAX_STATEMENT_BYTES: usize = 100_000;

/// Why a snapshot cannot be written as D1 SQL.
#[derive(Debug, thiserror::Error)]
pub enum D1Error {
    #[error(transparent)]
    Store(#[from] crate::Error),
    #[error("a row of `{table}` needs a {bytes}-byte SQL statement; D1 accepts at most {MAX_STATEMENT_BYTES}")]
    TooLong { table: String, bytes: usize },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&data)).unwrap(), data);
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }

    #[test]
    fn sql_recreates_the_rows_in_a_fresh_database() {
        let mut store = crate::Store::open_in_memory().unwrap();
        store
            .write(|w| {
                w.set_meta("snapshot_id", "abc")?;
                w.put_search_index(0, &vec![7u8; 100_000])?;
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
        assert_eq!(hexes.len(), 4);
        assert_eq!(unhex(&hexes.concat()).unwrap(), vec![7u8; 100_000]);
        let v: String = fresh
            .query_row(
                "SELECT value FROM sync_meta WHERE key = ?1",
                [META_D1_SCHEMA_VERSION],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(v, crate::SCHEMA_VERSION.to_string());
    }
}
