//! The SQLite reader must agree with the in-memory reference store on every filter and
//! page, and keep one snapshot per request.

use super::*;
use crate::Database as Db;
use promptshelf_core::api::memory::MemoryStore;
use promptshelf_core::api::{handle, ApiConfig, DocumentSource as _, Request};
use promptshelf_core::{ContentHash, DocType, Document, DocumentId};
use serde_json::json;

fn doc(id: &str, t: DocType, tags: &[&str], content: serde_json::Value) -> Document {
    Document {
        id: DocumentId(id.into()),
        doc_type: t,
        name: format!("Name {id}"),
        path: format!("x/{id}"),
        hash: ContentHash::of(id.as_bytes()),
        description: None,
        tags: tags.iter().map(|s| s.to_string()).collect(),
        authors: vec![],
        body: "b".into(),
        content,
    }
}

fn docs() -> Vec<Document> {
    let mut v = vec![
        doc(
            "alice",
            DocType::Persona,
            &["support", "Friendly"],
            json!({"role": "agent", "level": 3, "ratio": 1.5, "flags": [true, "x", 2], "nested": {"k": "v"}, "nil": null}),
        ),
        doc(
            "bob",
            DocType::Persona,
            &["sales"],
            json!({"role": "seller", "level": 1, "flags": false}),
        ),
        doc(
            "chat/basic",
            DocType::PromptTemplate,
            &["support"],
            json!({"model": {"api": "chat", "configuration": {"type": "azure_openai"}}}),
        ),
        doc(
            "complete",
            DocType::PromptTemplate,
            &[],
            json!({"model": {"api": "completion"}, "tags": ["x"]}),
        ),
        doc("Zed", DocType::Persona, &["SUPPORT"], json!({"level": "3"})),
        // Escapes, non-ASCII, floats and key order: spliced verbatim, they must still
        // be the bytes serializing the document gives.
        doc(
            "odd \"é\"/😀",
            DocType::Persona,
            &["q\"uote", "tab\t"],
            json!({"z": 1e300, "a": [-0.0, 0.1, 12345678901234567890u64, -7], "\u{1}": "\\", "m": {}}),
        ),
    ];
    for i in 0..23 {
        v.push(doc(
            &format!("p{i:02}"),
            DocType::Persona,
            &["bulk"],
            json!({"n": i}),
        ));
    }
    v
}

fn fill(db: &mut Db, docs: &[Document]) {
    db.write(|w| {
        for (i, d) in docs.iter().enumerate() {
            w.upsert_document(d, 1_700_000_000_000 + i as i64, 10)?;
        }
        w.put_search_index(1, &[9, 8, 7])?;
        w.bump_generation()?;
        Ok(())
    })
    .unwrap();
}

const TARGETS: &[&str] = &[
    "/v1/documents",
    "/v1/documents?limit=3",
    "/v1/documents?limit=3&offset=4",
    "/v1/documents?offset=27",
    "/v1/documents?type=persona&limit=5",
    "/v1/documents?type=prompt_template",
    "/v1/documents?tag=support",
    "/v1/documents?tag=SUPPORT&type=persona",
    "/v1/documents?tag=friendly&tag=support",
    "/v1/documents?tag=bulk&limit=7&offset=3",
    "/v1/documents?field.model.api=chat",
    "/v1/documents?field.model.configuration.type=azure_openai",
    "/v1/documents?field.level=3",
    "/v1/documents?field.ratio=1.5",
    "/v1/documents?field.flags=true",
    "/v1/documents?field.flags=false",
    "/v1/documents?field.flags=2",
    "/v1/documents?field.flags=x",
    "/v1/documents?field.nested=v",
    "/v1/documents?field.nested.k=v",
    "/v1/documents?field.nil=null",
    "/v1/documents?field.model=chat",
    "/v1/documents?field.n=7",
    "/v1/documents?field.tags=x",
    "/v1/documents?field.missing=1",
    "/v1/personas?limit=4",
    "/v1/prompts",
    "/v1/documents/alice",
    "/v1/documents/chat%2Fbasic",
    "/v1/documents/bob",
    "/v1/documents/odd%20%22%C3%A9%22%2F%F0%9F%98%80",
    "/v1/documents?limit=500",
    "/v1/documents?cursor=b2Rk",
    "/v1/personas/complete",
    "/v1/documents/nobody",
    "/v1/index",
    "/v1/search?q=x",
];

#[test]
fn agrees_with_the_reference_store() {
    let mut db = Db::open_in_memory().unwrap();
    fill(&mut db, &docs());
    db.write(|w| w.set_document_stale("bob", true)).unwrap();
    // No engine: the reference store has no searcher either (search is tested with the
    // real engine in the server tests).
    let cache = IndexCache::new(None);
    let reader = Reader::new(db.conn(), &cache);
    // The reference store holds exactly what SQLite returns per document.
    let mut mem = MemoryStore::new(&reader.generation().unwrap());
    for d in docs() {
        let got = reader.get(d.id.as_str()).unwrap().unwrap();
        assert_eq!(got.document, d);
        assert_eq!(got.stale, d.id.as_str() == "bob");
        // The raw answer is the stored JSON spliced, byte-identical to serializing.
        let raw = reader.get_raw(d.id.as_str()).unwrap().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&raw.json),
            serde_json::to_string(&got).unwrap()
        );
        assert!(got
            .modified
            .as_deref()
            .unwrap()
            .starts_with("2023-11-14T22:13:2"));
        mem.docs.insert(d.id.0.clone(), got);
    }
    mem.index_bytes = Some(vec![9, 8, 7]);
    let cfg = ApiConfig::default();
    for t in TARGETS {
        let a = handle(&Request::get(t), &reader, &cfg);
        let b = handle(&Request::get(t), &mem, &cfg);
        assert_eq!(
            a.status,
            b.status,
            "{t}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body),
            "{t}"
        );
    }
    // Walk all pages by cursor.
    let mut seen = 0;
    let mut target = "/v1/documents?limit=4".to_owned();
    loop {
        let r = handle(&Request::get(&target), &reader, &cfg)
            .json()
            .unwrap();
        seen += r["data"].as_array().unwrap().len();
        match r["next_cursor"].as_str() {
            Some(c) => target = format!("/v1/documents?limit=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, 29);
    let h = handle(&Request::get("/v1/health"), &reader, &cfg)
        .json()
        .unwrap();
    assert_eq!(h["counts"]["documents"], 29);
    assert_eq!(h["counts"]["prompt_templates"], 2);
    assert_eq!(h["schema_version"], crate::SCHEMA_VERSION);
    assert_eq!(h["search_index"], true);
}

#[test]
fn pool_reads_one_snapshot_per_request_while_a_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let mut db = Db::open(&path).unwrap();
    fill(&mut db, &docs());
    let pool = ReaderPool::open(&path, 4, IndexCache::default()).unwrap();
    let (g1, n1) = pool
        .with_reader(|r| {
            let g = r.generation().unwrap();
            // A whole batch commits while this request is in flight...
            db.write(|w| {
                w.delete_document("alice")?;
                w.delete_document("bob")?;
                w.bump_generation()?;
                Ok(())
            })
            .unwrap();
            // ...and this request still sees the state it started with.
            let n = r.health().unwrap().counts.documents;
            (g, n)
        })
        .unwrap();
    assert_eq!(n1, 29);
    let (g2, n2) = pool
        .with_reader(|r| {
            (
                r.generation().unwrap(),
                r.health().unwrap().counts.documents,
            )
        })
        .unwrap();
    assert_eq!(n2, 27);
    assert_ne!(g1, g2);
}

#[test]
fn index_cache_reloads_only_on_a_new_generation() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static LOADS: AtomicUsize = AtomicUsize::new(0);
    struct Echo(Vec<u8>);
    impl Searcher for Echo {
        fn search_json(
            &self,
            _: &promptshelf_core::api::SearchRequest,
        ) -> Result<serde_json::Value, promptshelf_core::api::SearchProblem> {
            Ok(json!({"bytes": self.0}))
        }
    }
    fn load(b: &[u8]) -> Result<SharedSearcher, String> {
        LOADS.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(Echo(b.to_vec())))
    }
    let mut db = Db::open_in_memory().unwrap();
    fill(&mut db, &docs());
    let cache = IndexCache::new(Some(load));
    let cfg = ApiConfig::default();
    for _ in 0..3 {
        let r = handle(
            &Request::get("/v1/search?q=a"),
            &Reader::new(db.conn(), &cache),
            &cfg,
        );
        assert_eq!(r.json().unwrap()["bytes"], json!([9, 8, 7]));
    }
    assert_eq!(LOADS.load(Ordering::SeqCst), 1);
    db.write(|w| w.put_search_index(2, &[1])).unwrap();
    let r = handle(
        &Request::get("/v1/search?q=a"),
        &Reader::new(db.conn(), &cache),
        &cfg,
    );
    assert_eq!(r.json().unwrap()["bytes"], json!([1]));
    assert_eq!(LOADS.load(Ordering::SeqCst), 2);
}

/// Readers never wait for the writer: while another connection holds a write transaction
/// with uncommitted changes (what the watcher does while it applies a batch), and while
/// it tries to checkpoint the WAL, pooled readers answer at once from the last committed
/// state. Were a reader blocked, it would wait out the 5 s busy timeout and then fail
/// with `SQLITE_BUSY`, so this cannot pass by luck; the numbers are the only check.
#[test]
fn readers_are_never_blocked_by_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let mut db = Db::open(&path).unwrap();
    fill(&mut db, &docs());
    let pool = ReaderPool::open(&path, 4, IndexCache::new(None)).unwrap();
    let cfg = ApiConfig::default();
    let writer = Connection::open(&path).unwrap();
    // The writer must not wait either (rusqlite's default would wait 5 s for readers).
    writer.busy_timeout(Duration::ZERO).unwrap();
    writer
        .execute_batch(
            "BEGIN IMMEDIATE; DELETE FROM documents WHERE type = 'persona'; \
             UPDATE sync_meta SET value = '999' WHERE key = 'generation';",
        )
        .unwrap();
    let (status, total) = pool
        .with_reader(|r| {
            let resp = handle(&Request::get("/v1/documents?limit=1"), r, &cfg);
            (resp.status, resp.json().unwrap()["total"].clone())
        })
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(total, 29);
    writer.execute_batch("COMMIT").unwrap();
    // A checkpoint cannot finish past a reader's snapshot, but the reader goes on.
    let (docs_seen, busy) = pool
        .with_reader(|r| {
            let before = r.health().unwrap().counts.documents;
            let busy: i64 = writer
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
                .unwrap();
            let after = r.health().unwrap().counts.documents;
            assert_eq!(before, after);
            (after, busy)
        })
        .unwrap();
    assert_eq!(docs_seen, 2);
    assert_eq!(
        busy, 1,
        "the checkpoint had to leave the reader's snapshot alone"
    );
    let g = pool.with_reader(|r| r.generation().unwrap()).unwrap();
    assert_eq!(g, "999");
}

/// Requests straddling a new stored index (snapshots on both sides of it) each find
/// their generation's index in the cache: no reload ping-pong between the two.
#[test]
fn index_cache_keeps_the_previous_generation_too() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static LOADS: AtomicUsize = AtomicUsize::new(0);
    struct Gen(u8);
    impl Searcher for Gen {
        fn search_json(
            &self,
            _: &promptshelf_core::api::SearchRequest,
        ) -> Result<serde_json::Value, promptshelf_core::api::SearchProblem> {
            Ok(json!(self.0))
        }
    }
    fn load(b: &[u8]) -> Result<SharedSearcher, String> {
        LOADS.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(Gen(b[0])))
    }
    let cache = IndexCache::new(Some(load));
    let get = |g: u64| {
        let s = cache
            .get_or_load(g, || Ok(Some(vec![g as u8])))
            .unwrap()
            .unwrap();
        let req = promptshelf_core::api::SearchRequest {
            query: String::new(),
            limit: 1,
            offset: 0,
        };
        s.search_json(&req).unwrap()
    };
    for g in [1, 2, 1, 2, 2, 1] {
        assert_eq!(get(g), json!(g));
    }
    assert_eq!(LOADS.load(Ordering::SeqCst), 2);
    // A third generation evicts the oldest, not the one just loaded.
    assert_eq!(get(3), json!(3));
    assert_eq!(get(2), json!(2));
    assert_eq!(LOADS.load(Ordering::SeqCst), 3);
    assert_eq!(get(1), json!(1));
    assert_eq!(LOADS.load(Ordering::SeqCst), 4);
}
