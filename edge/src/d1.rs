//! D1 mode, the host-independent half: the queries the worker runs against its D1
//! database and the in-memory snapshot built from their rows. The rows are copied into a
//! SQLite database with the store's own schema and served by the same `Reader`, so the
//! answers are byte-identical to the bundled snapshot's and the local server's.

use crate::{Snapshot, SnapshotError};
use promptshelf_store::d1::{unhex, INDEX_CHUNKS, META_D1_SCHEMA_VERSION, TABLES};
use promptshelf_store::rusqlite::types::Value as SqlValue;
use promptshelf_store::rusqlite::{params_from_iter, Connection};
use serde_json::Value;

/// The `sync_meta` query the worker polls: a changed answer means new contents.
pub const SNAPSHOT_ID_QUERY: &str = "SELECT value FROM sync_meta WHERE key = 'snapshot_id'";

/// The queries to run (as one D1 batch, so they see one state): every table of
/// `promptshelf_store::d1::TABLES`, then the search index chunks.
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
    let fail = |e: promptshelf_store::rusqlite::Error| {
        SnapshotError(format!("copying the D1 rows failed: {e}"))
    };
    if results.len() != TABLES.len() + 1 {
        return Err(SnapshotError(
            "D1 answered the wrong number of queries".into(),
        ));
    }
    let mut conn = Connection::open_in_memory().map_err(fail)?;
    promptshelf_store::schema::migrate(&mut conn)
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
    let version: Option<String> = tx
        .query_row(
            "SELECT value FROM sync_meta WHERE key = ?1",
            [META_D1_SCHEMA_VERSION],
            |r| r.get(0),
        )
        .ok();
    let supported = promptshelf_store::SCHEMA_VERSION.to_string();
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
mod tests {
    use super::*;
    use promptshelf_core::api::Request;
    use promptshelf_store::rusqlite::types::ValueRef;

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
        let bytes = crate::tests::snapshot_bytes();
        let file = Snapshot::from_vec(bytes.clone()).unwrap();
        let conn = {
            let mut c = Connection::open_in_memory().unwrap();
            c.deserialize_read_exact("main", std::io::Cursor::new(&bytes), bytes.len(), true)
                .unwrap();
            c
        };
        let sql = promptshelf_store::d1::d1_sql(&conn).unwrap();
        let d1 = snapshot_from_rows(&rows_via_sql(&sql)).unwrap();
        let cfg = crate::api_config();
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
