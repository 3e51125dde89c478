use super::*;
use promptshelf_core::{ContentHash, DocType, Document, DocumentId};
use promptshelf_store::Database;

fn doc(id: &str, t: DocType, body: &str) -> Document {
    Document {
        id: DocumentId(id.into()),
        doc_type: t,
        name: format!("Name of {id}"),
        path: format!("x/{id}"),
        hash: ContentHash::of(body.as_bytes()),
        description: Some("about support".into()),
        tags: vec!["support".into()],
        authors: vec![],
        body: body.into(),
        content: serde_json::json!({"model": {"api": "chat"}}),
    }
}

/// A small database, as the bytes of its snapshot file.
fn snapshot_bytes() -> Vec<u8> {
    let mut store = Database::open_in_memory().unwrap();
    let docs = [
        doc("alice", DocType::Persona, "refunds and support"),
        doc("bob", DocType::Persona, "billing questions"),
    ];
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
    promptshelf_store::snapshot::write_snapshot(store.conn(), &path).unwrap();
    std::fs::read(path).unwrap()
}

fn open() -> Snapshot {
    Snapshot::from_vec(snapshot_bytes()).unwrap()
}

fn get(s: &Snapshot, target: &str) -> Response {
    answer(Ok(s), &Request::get(target), &[])
}

#[test]
fn serves_the_read_api_from_bytes() {
    let s = open();
    let health = get(&s, "/v1/health");
    assert_eq!(health.status, 200);
    let h = health.json().unwrap();
    assert_eq!(h["counts"]["documents"], 2);
    assert_eq!(h["search_index"], true);

    let one = get(&s, "/v1/documents/alice");
    assert_eq!(one.status, 200);
    assert_eq!(one.json().unwrap()["id"], "alice");
    assert_eq!(one.header("cache-control"), Some(CACHE_CONTROL));
    assert_eq!(one.header("access-control-allow-origin"), Some("*"));

    let hits = get(&s, "/v1/search?q=refund").json().unwrap();
    assert_eq!(hits["hits"][0]["id"], "alice", "{hits}");

    assert_eq!(get(&s, "/v1/documents/nobody").status, 404);
    assert_eq!(get(&s, "/v1/documents?limit=0").status, 400);
    assert_eq!(get(&s, "/admin/status").status, 404);
}

#[test]
fn revalidates_with_the_etag() {
    let s = open();
    let first = get(&s, "/v1/personas");
    let etag = first.header("etag").unwrap().to_owned();
    let again = answer(
        Ok(&s),
        &Request::get("/v1/personas").with_header("If-None-Match", &etag),
        &[],
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
}

#[test]
fn bodies_equal_the_core_over_the_same_database() {
    // The worker adds nothing to bodies: the same request over the same rows gives the
    // same bytes as the core handler the local server calls.
    let bytes = snapshot_bytes();
    let s = Snapshot::from_vec(bytes.clone()).unwrap();
    let mut conn = promptshelf_store::rusqlite::Connection::open_in_memory().unwrap();
    conn.deserialize_read_exact("main", std::io::Cursor::new(&bytes), bytes.len(), true)
        .unwrap();
    let cache = promptshelf_store::reader::IndexCache::default();
    let reader = promptshelf_store::reader::Reader::new(&conn, &cache);
    let local = promptshelf_core::api::ApiConfig::default();
    for target in [
        "/v1/health",
        "/v1/documents?limit=1",
        "/v1/search?q=bil",
        "/v1/index",
        "/v1/nope",
    ] {
        let req = Request::get(target);
        let a = answer(Ok(&s), &req, &[]);
        let b = promptshelf_core::api::handle(&req, &reader, &local);
        assert_eq!(a.status, b.status, "{target}");
        assert!(a.body == b.body, "{target}: bodies differ");
    }
}

#[test]
fn a_bad_snapshot_is_a_clear_error_not_a_crash() {
    let empty = Snapshot::from_vec(Vec::new()).err().unwrap();
    assert!(empty.0.contains("empty"), "{empty}");
    let junk = Snapshot::from_vec(b"<html>not found</html>".repeat(20))
        .err()
        .unwrap();
    assert!(junk.0.contains("not a SQLite database"), "{junk}");

    let mut truncated = snapshot_bytes();
    truncated.truncate(4096);
    let e = Snapshot::from_vec(truncated).err().unwrap();
    assert!(e.0.contains("truncated"), "{e}");

    let mut wal = snapshot_bytes();
    wal[18] = 2;
    wal[19] = 2;
    let e = Snapshot::from_vec(wal).err().unwrap();
    assert!(e.0.contains("WAL"), "{e}");

    let resp = answer(Err(&junk.0), &Request::get("/v1/documents"), &[]);
    assert_eq!(resp.status, 503);
    let body = resp.json().unwrap();
    assert_eq!(body["error"]["code"], "snapshot_unavailable");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a SQLite database"));
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
}

/// `PROMPTSHELF_CORS_ORIGINS` in `[vars]`: unset is `*` (public), a list is the local
/// server's rule (the list plus pages on localhost), garbage is a 503 naming the variable.
#[test]
fn cors_origins_variable() {
    let s = open();
    let from = |origin: &str, cfg: &ApiConfig| {
        let req = Request::get("/v1/documents").with_header("Origin", origin);
        answer_with(Ok(&s), &req, &[], cfg)
    };
    for unset in [None, Some(""), Some("  ")] {
        let cfg = api_config_from(unset).unwrap();
        assert_eq!(cfg, api_config());
        let r = from("https://any.example", &cfg);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
    let cfg = api_config_from(Some("https://app.example.com, https://b.example")).unwrap();
    assert_eq!(cfg.cache_control, CACHE_CONTROL);
    for (origin, allowed) in [
        ("https://app.example.com", true),
        ("https://b.example", true),
        ("http://localhost:5173", true),
        ("https://evil.example", false),
        ("null", false),
    ] {
        let r = from(origin, &cfg);
        assert_eq!(r.status, 200);
        let expected = allowed.then_some(origin);
        assert_eq!(
            r.header("access-control-allow-origin"),
            expected,
            "{origin}"
        );
        assert_eq!(r.header("vary"), Some("Origin"));
    }
    // The 503 of a missing snapshot follows the same policy.
    let req = Request::get("/v1/health").with_header("Origin", "https://evil.example");
    let r = answer_with(Err("gone"), &req, &[], &cfg);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let req = Request::get("/v1/health").with_header("Origin", "https://b.example");
    let r = answer_with(Err("gone"), &req, &[], &cfg);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://b.example")
    );

    assert_eq!(api_config_from(Some("*")).unwrap().cors, Cors::AllowAll);
    let bad = api_config_from(Some("app.example.com")).unwrap_err();
    assert_eq!(bad.status, 503);
    let v = bad.json().unwrap();
    assert_eq!(v["error"]["code"], "bad_config");
    assert!(v["error"]["message"].as_str().unwrap().contains(CORS_VAR));
}
