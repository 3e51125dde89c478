use super::*;
use promptshelf_core::{ContentHash, DocType, Document, DocumentId};

fn doc(id: &str, path: &str, name: &str) -> Document {
    Document {
        id: DocumentId(id.into()),
        doc_type: DocType::Persona,
        name: name.into(),
        path: path.into(),
        hash: ContentHash::of(name.as_bytes()),
        description: None,
        tags: vec!["a".into()],
        authors: vec![],
        body: "hello".into(),
        content: serde_json::json!({"model": {"api": "chat"}}),
    }
}

#[test]
fn fresh_database_has_latest_schema_and_seed_columns() {
    let store = Database::open_in_memory().unwrap();
    assert_eq!(schema::user_version(store.conn()).unwrap(), SCHEMA_VERSION);
    let cols: Vec<String> = store
        .conn()
        .prepare("SELECT name FROM pragma_table_info('documents')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for c in [
        "id",
        "type",
        "name",
        "document",
        "file_path",
        "file_modified",
        "created_at",
        "updated_at",
        "content_hash",
        "file_size",
        "stale",
    ] {
        assert!(cols.iter().any(|x| x == c), "missing column {c}");
    }
}

#[test]
fn migrates_a_seed_v1_database_forward_keeping_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(schema::MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute(
            "INSERT INTO documents (id, type, name, document, file_path, file_modified) \
             VALUES ('p1', 'persona', 'P', '{}', 'personas/p1.json', '2024-01-01')",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let store = Database::open(&path).unwrap();
    assert_eq!(schema::user_version(store.conn()).unwrap(), SCHEMA_VERSION);
    let d = read::get_document(store.conn(), "p1").unwrap().unwrap();
    assert_eq!(d.name, "P");
    assert!(!d.stale);
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    assert!(matches!(
        Database::open(&path),
        Err(Error::TooNew { found: 99, .. })
    ));
}

#[test]
fn type_check_constraint_is_enforced() {
    let store = Database::open_in_memory().unwrap();
    let r = store.conn().execute(
        "INSERT INTO documents (id, type, name, document, file_path, file_modified) \
         VALUES ('x', 'other', 'X', '{}', 'x', '2024-01-01')",
        [],
    );
    assert!(r.is_err());
}

#[test]
fn write_batch_upserts_and_reads_back() {
    let mut store = Database::open_in_memory().unwrap();
    let d = doc("p1", "personas/p1.json", "One");
    let generation = store
        .write(|w| {
            w.upsert_document(&d, 1_700_000_000_123, 42)?;
            w.upsert_file(&FileRecord {
                path: d.path.clone(),
                size: 42,
                mtime_ns: 1_700_000_000_123_000_000,
                content_hash: d.hash.0.clone(),
                doc_id: Some("p1".into()),
                racy: false,
            })?;
            w.bump_generation()
        })
        .unwrap();
    assert_eq!(generation, 1);
    let got = read::get_document(store.conn(), "p1").unwrap().unwrap();
    assert_eq!(got.file_modified, "2023-11-14T22:13:20.123Z");
    assert_eq!(got.document().unwrap(), d);
    assert_eq!(got.file_size, 42);
    assert_eq!(read::generation(store.conn()).unwrap(), 1);
    assert_eq!(read::all_files(store.conn()).unwrap().len(), 1);
    // The expression index answers a JSON filter.
    let n: i64 = store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM documents WHERE json_extract(document, '$.content.model.api') = 'chat'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    let plan: String = store
        .conn()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM documents WHERE json_extract(document, '$.content.model.api') = 'chat'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("idx_documents_model_api"), "{plan}");
}

#[test]
fn failed_batch_leaves_nothing_behind() {
    let mut store = Database::open_in_memory().unwrap();
    let d = doc("p1", "personas/p1.json", "One");
    let r: Result<(), Error> = store.write(|w| {
        w.upsert_document(&d, 0, 1)?;
        Err(Error::Corrupt("boom".into()))
    });
    assert!(r.is_err());
    assert_eq!(read::count_documents(store.conn(), None).unwrap(), 0);
}

#[test]
fn stale_flag_errors_and_search_index_round_trip() {
    let mut store = Database::open_in_memory().unwrap();
    let d = doc("p1", "personas/p1.json", "One");
    store
        .write(|w| {
            w.upsert_document(&d, 0, 1)?;
            w.set_document_stale("p1", true)?;
            w.set_error(&SyncErrorRecord {
                path: d.path.clone(),
                kind: ErrorKind::Parse,
                line: Some(3),
                column: Some(7),
                message: "expected value".into(),
                doc_id: Some("p1".into()),
                first_seen: String::new(),
                last_seen: String::new(),
            })?;
            w.put_search_index(5, b"blob")
        })
        .unwrap();
    assert!(
        read::get_document(store.conn(), "p1")
            .unwrap()
            .unwrap()
            .stale
    );
    assert_eq!(
        read::document_owner(store.conn(), "p1")
            .unwrap()
            .map(|o| (o.path, o.stale)),
        Some(("personas/p1.json".into(), true))
    );
    let errs = read::sync_errors(store.conn()).unwrap();
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].line, errs[0].column), (Some(3), Some(7)));
    assert_eq!(errs[0].kind, ErrorKind::Parse);
    assert_eq!(
        read::search_index(store.conn()).unwrap(),
        Some((5, b"blob".to_vec()))
    );
    // A fresh upsert clears the stale mark.
    store.write(|w| w.upsert_document(&d, 0, 1)).unwrap();
    assert!(
        !read::get_document(store.conn(), "p1")
            .unwrap()
            .unwrap()
            .stale
    );
}

#[test]
fn garbage_file_is_reported_as_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.db");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    let err = Database::open(&path).err().expect("must fail");
    assert!(err.is_corruption(), "{err}");
}

#[test]
fn snapshot_is_a_standalone_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Database::open(&dir.path().join("live.db")).unwrap();
    store
        .write(|w| w.upsert_document(&doc("p1", "personas/p1.json", "One"), 0, 1))
        .unwrap();
    let snap = dir.path().join("snap.db");
    store.snapshot_to(&snap).unwrap();
    let ro = Database::open_read_only(&snap).unwrap();
    assert_eq!(
        read::count_documents(ro.conn(), Some("persona")).unwrap(),
        1
    );
}

/// The full integrity check is skipped only after a clean close, and only while the
/// file is as long as its header says; opening clears the mark.
#[test]
fn clean_close_mark_skips_the_check_until_the_file_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shelf.db");
    let clean = |s: &Database| read::meta(s.conn(), read::META_CLEAN_CLOSE).unwrap();
    let mut store = Database::open(&path).unwrap();
    store
        .write(|w| {
            for i in 0..200 {
                let id = format!("p{i}");
                w.upsert_document(&doc(&id, &format!("personas/{id}.json"), "P"), 0, 1)?;
            }
            Ok(())
        })
        .unwrap();
    assert!(!store.closed_cleanly(&path).unwrap());
    store.close_clean().unwrap();
    assert_eq!(clean(&store).as_deref(), Some("1"));
    assert!(store.closed_cleanly(&path).unwrap());
    drop(store);

    // Opening writes nothing; the first write removes the mark with it.
    let mut store = Database::open(&path).unwrap();
    assert_eq!(clean(&store).as_deref(), Some("1"));
    store.write(|w| w.set_meta("k", "v")).unwrap();
    assert_eq!(clean(&store), None, "the first write removes the mark");
    assert!(!store.closed_cleanly(&path).unwrap());
    drop(store);
    let store = Database::open(&path).unwrap();
    assert!(
        !store.clean_mark,
        "a session that wrote and did not close cleanly"
    );
    let mut store = store;
    store.close_clean().unwrap();
    drop(store);

    // Truncated after a clean close: the size check sends it to quick_check.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Database::open(&path).err().expect("must fail");
    assert!(err.is_corruption(), "{err}");
}

fn page_size(store: &Database) -> u32 {
    store
        .conn()
        .pragma_query_value(None, "page_size", |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_file_gets_16k_pages_and_an_old_one_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.db");
    let store = Database::open(&new).unwrap();
    assert_eq!(page_size(&store), schema::PAGE_SIZE);
    drop(store);

    // A database written with SQLite's default 4 KiB pages (an older promptshelf).
    let old = dir.path().join("old.db");
    {
        let mut conn = rusqlite::Connection::open(&old).unwrap();
        conn.pragma_update(None, "page_size", 4096).unwrap();
        schema::migrate(&mut conn).unwrap();
    }
    let mut store = Database::open(&old).unwrap();
    assert_eq!(page_size(&store), 4096);
    store
        .write(|w| w.upsert_document(&doc("a", "personas/a.json", "A"), 0, 1))
        .unwrap();
    drop(store);
    let store = Database::open(&old).unwrap();
    assert_eq!(page_size(&store), 4096);
    assert_eq!(read::count_documents(store.conn(), None).unwrap(), 1);
}
