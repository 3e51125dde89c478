use super::*;
use crate::reader::{IndexCache, Reader};
use crate::records::{ErrorKind, FileRecord, SyncErrorRecord};
use crate::Database;
use promptshelf_core::api::DocumentSource as _;
use promptshelf_core::{ContentHash, DocType, DocumentId};

fn doc(id: &str, body: &str) -> Document {
    Document {
        id: DocumentId(id.into()),
        doc_type: DocType::Persona,
        name: format!("Name {id}"),
        path: format!("personas/{id}.json"),
        hash: ContentHash::of(body.as_bytes()),
        description: None,
        tags: vec!["support".into()],
        authors: vec![],
        body: body.into(),
        content: serde_json::json!({"model": {"api": "chat"}}),
    }
}

/// A live-looking database: documents written in `order` over several batches, a file
/// record, host meta and a sync error, like the watcher leaves them.
fn live_db(dir: &Path, name: &str, order: &[(&str, &str)], batches: usize) -> Database {
    let mut store = Database::open(&dir.join(name)).unwrap();
    for chunk in order.chunks(order.len().div_ceil(batches).max(1)) {
        store
            .write(|w| {
                for (id, body) in chunk {
                    let d = doc(id, body);
                    w.upsert_document(&d, 1_700_000_000_000, 10)?;
                    w.upsert_file(&FileRecord {
                        path: d.path.clone(),
                        size: 10,
                        mtime_ns: 1,
                        content_hash: d.hash.0.clone(),
                        doc_id: Some(d.id.0.clone()),
                        racy: false,
                    })?;
                }
                w.set_meta(read::META_LIBRARY_ROOT, "/home/someone/library")?;
                w.touch_last_sync()?;
                w.bump_generation()?;
                Ok(())
            })
            .unwrap();
    }
    store
        .write(|w| {
            w.set_error(&SyncErrorRecord {
                path: "personas/bad.json".into(),
                kind: ErrorKind::Parse,
                line: Some(3),
                column: Some(7),
                message: "expected `,`".into(),
                doc_id: None,
                first_seen: String::new(),
                last_seen: String::new(),
            })?;
            w.bump_generation()?;
            Ok(())
        })
        .unwrap();
    store
}

fn table_count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn snapshot_is_self_contained_compact_and_identified_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [("a", "hello"), ("b", "world"), ("c", "again")];
    let store = live_db(dir.path(), "live.db", &docs, 3);
    let out = dir.path().join("snap.db");
    let info = write_snapshot(store.conn(), &out).unwrap();
    assert_eq!(info.documents, 3);
    assert_eq!(info.personas, 3);
    assert_eq!(info.sync_errors, 1);
    assert_eq!(info.id.len(), 32);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(info.bytes, bytes.len() as u64);
    // Rollback-journal mode in the header (bytes 18/19 = 1): openable from bytes in memory.
    assert_eq!((bytes[18], bytes[19]), (1, 1));
    // No leftovers beside the output.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");

    let conn = Connection::open(&out).unwrap();
    assert_eq!(table_count(&conn, "files"), 0);
    assert_eq!(table_count(&conn, "documents"), 3);
    let meta: Vec<(String, String)> = conn
        .prepare("SELECT key, value FROM sync_meta")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(meta, vec![(META_SNAPSHOT_ID.to_owned(), info.id.clone())]);
    assert_eq!(
        crate::schema::user_version(&conn).unwrap(),
        crate::SCHEMA_VERSION
    );
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "delete");

    // The read API sees the id as its generation; search works from the rebuilt index.
    let cache = IndexCache::default();
    let reader = Reader::new(&conn, &cache);
    assert_eq!(reader.generation().unwrap(), info.id);
    let health = reader.health().unwrap();
    assert!(health.search_index);
    assert_eq!(health.sync_errors, 1);
    // The id hashes what is served (not `sync_meta`), so the file reproduces it.
    assert_eq!(content_id(&conn).unwrap(), info.id);
}

#[test]
fn same_library_same_bytes_and_id_whatever_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [("a", "hello"), ("b", "world"), ("c", "again")];
    let reversed = [("c", "again"), ("b", "world"), ("a", "hello")];
    let one = live_db(dir.path(), "one.db", &docs, 1);
    let two = live_db(dir.path(), "two.db", &reversed, 3);
    let a = write_snapshot(one.conn(), &dir.path().join("a.db")).unwrap();
    let b = write_snapshot(two.conn(), &dir.path().join("b.db")).unwrap();
    assert_eq!(a.id, b.id);
    let same = std::fs::read(dir.path().join("a.db")).unwrap()
        == std::fs::read(dir.path().join("b.db")).unwrap();
    assert!(same, "snapshots of the same documents differ in bytes");

    // One changed body: a new id.
    let changed = live_db(
        dir.path(),
        "three.db",
        &[("a", "hello"), ("b", "world!"), ("c", "again")],
        1,
    );
    let c = write_snapshot(changed.conn(), &dir.path().join("c.db")).unwrap();
    assert_ne!(a.id, c.id);
}

#[test]
fn overwrites_the_output_and_a_later_write_drops_the_snapshot_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = live_db(dir.path(), "live.db", &[("a", "x")], 1);
    let out = dir.path().join("snap.db");
    std::fs::write(&out, b"old junk").unwrap();
    let info = write_snapshot(store.conn(), &out).unwrap();

    let mut snap = Database::open(&out).unwrap();
    assert_eq!(read::content_generation(snap.conn()).unwrap(), info.id);
    snap.write(|w| w.bump_generation().map(|_| ())).unwrap();
    assert_eq!(read::content_generation(snap.conn()).unwrap(), "1");
}
