//! Route-by-route tests of the pure handler over the in-memory store, plus the
//! bad-input table: every hostile request must be a 4xx JSON error.

use super::memory::MemoryStore;
use super::*;
use crate::model::{ContentHash, DocType, Document, DocumentId};
use serde_json::{json, Value};
use std::sync::Arc;

fn doc(id: &str, t: DocType, name: &str, tags: &[&str], content: Value) -> Document {
    Document {
        id: DocumentId(id.into()),
        doc_type: t,
        name: name.into(),
        path: format!(
            "{}/{id}.x",
            if t == DocType::Persona {
                "personas"
            } else {
                "prompts"
            }
        ),
        hash: ContentHash::of(id.as_bytes()),
        description: Some(format!("about {name}")),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        authors: vec![],
        body: format!("body of {name}"),
        content,
    }
}

/// A stand-in engine: matches documents whose name contains the query; `(` is a
/// syntax error at its position.
struct FakeSearch(Vec<String>);

impl Searcher for FakeSearch {
    fn search_json(&self, req: &SearchRequest) -> Result<Value, SearchProblem> {
        if let Some(p) = req.query.find('(') {
            return Err(SearchProblem {
                position: Some(p),
                message: "unbalanced parenthesis".into(),
            });
        }
        let hits: Vec<&String> = self
            .0
            .iter()
            .filter(|n| n.to_lowercase().contains(&req.query.to_lowercase()))
            .skip(req.offset)
            .take(req.limit)
            .collect();
        Ok(json!({"total": hits.len(), "hits": hits}))
    }
}

fn store() -> MemoryStore {
    let mut s = MemoryStore::new("42");
    s.insert(
        doc(
            "alice",
            DocType::Persona,
            "Alice",
            &["support", "Friendly"],
            json!({"role": "agent", "level": 3, "flags": [true, "x"]}),
        ),
        Some("2024-01-01T00:00:00Z"),
    );
    s.insert(
        doc(
            "bob",
            DocType::Persona,
            "Bob",
            &["sales"],
            json!({"role": "seller", "level": 1}),
        ),
        None,
    );
    s.insert(
        doc(
            "chat/basic",
            DocType::PromptTemplate,
            "Basic chat",
            &["support"],
            json!({"model": {"api": "chat", "configuration": {"type": "azure_openai"}}}),
        ),
        None,
    );
    s.insert(
        doc(
            "complete",
            DocType::PromptTemplate,
            "Completion",
            &[],
            json!({"model": {"api": "completion"}}),
        ),
        None,
    );
    for i in 0..7 {
        s.insert(
            doc(
                &format!("p{i:02}"),
                DocType::Persona,
                &format!("Persona {i}"),
                &["bulk"],
                json!({"n": i}),
            ),
            None,
        );
    }
    s.index_bytes = Some(vec![1, 2, 3, 0, 255]);
    s.searcher = Some(Arc::new(FakeSearch(
        s.docs.values().map(|d| d.document.name.clone()).collect(),
    )));
    s
}

fn call(req: Request) -> Response {
    handle(&req, &store(), &ApiConfig::default())
}

fn get(target: &str) -> Response {
    call(Request::get(target))
}

fn ids(r: &Response) -> Vec<String> {
    r.json().unwrap()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_error(r: &Response, status: u16, code: &str) {
    assert_eq!(
        r.status,
        status,
        "body: {}",
        String::from_utf8_lossy(&r.body)
    );
    let v = r.json().expect("error body is JSON");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn health() {
    let r = get("/v1/health");
    assert_eq!(r.status, 200);
    let v = r.json().unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["api"], "v1");
    assert_eq!(v["generation"], "42");
    assert_eq!(v["counts"]["documents"], 11);
    assert_eq!(v["counts"]["personas"], 9);
    assert_eq!(v["counts"]["prompt_templates"], 2);
    assert_eq!(v["search_index"], true);
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn get_document() {
    let r = get("/v1/documents/alice");
    assert_eq!(r.status, 200);
    let v = r.json().unwrap();
    assert_eq!(v["id"], "alice");
    assert_eq!(v["type"], "persona");
    assert_eq!(v["name"], "Alice");
    assert_eq!(v["modified"], "2024-01-01T00:00:00Z");
    assert_eq!(v["content"]["role"], "agent");
    assert_eq!(r.header("etag"), Some("\"1-42\""));
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Ids with a slash are reachable percent-encoded (the canonical form) and as they
    // are, with the same bytes.
    let r = get("/v1/documents/chat%2Fbasic");
    assert_eq!(r.status, 200);
    assert_eq!(r.json().unwrap()["id"], "chat/basic");
    for other in [
        "/v1/documents/chat/basic",
        "/v1/documents/chat%2fbasic",
        "/v1/documents/./chat/basic",
        "/v1/documents/x/../chat/basic",
    ] {
        assert_eq!(get(other).body, r.body, "{other}");
    }
    assert_eq!(get("/v1/prompts/chat/basic").body, r.body);
    assert_error(&get("/v1/personas/chat/basic"), 404, "not_found");
    assert_error(&get("/v1/documents/nobody"), 404, "not_found");
    assert_error(&get("/v1/documents/chat/basic/"), 404, "not_found");
    assert_error(&get("/v1/documents/chat//basic"), 404, "not_found");
}

/// Metrics labels come from the handler's own routing, so slash ids count under their route.
#[test]
fn route_labels() {
    use super::route_label;
    for (path, want) in [
        ("/v1/health", Some("/v1/health")),
        ("/v1/documents", Some("/v1/documents")),
        ("/v1/documents/a", Some("/v1/documents/{id}")),
        ("/v1/documents/a/b/c", Some("/v1/documents/{id}")),
        ("/v1/documents/a%2Fb", Some("/v1/documents/{id}")),
        ("/v1/personas/team/x", Some("/v1/personas/{id}")),
        ("/v1/prompts/a/b", Some("/v1/prompts/{id}")),
        ("/v1/prompts/a/b/render", Some("/v1/prompts/{id}/render")),
        ("/v1/prompts/render", Some("/v1/prompts/{id}")),
        (
            "/v1/documents/a/b/versions",
            Some("/v1/documents/{id}/versions"),
        ),
        ("/v1/documents/a/diff", Some("/v1/documents/{id}/diff")),
        ("/v1/prompts/a/versions", Some("/v1/prompts/{id}")),
        ("/v1/x/../search", Some("/v1/search")),
        ("/v1/nope", None),
        ("/admin/status", None),
    ] {
        assert_eq!(route_label(path), want, "{path}");
    }
}

/// Dot segments are resolved the way a WHATWG URL parser (the edge runtime's) does
/// before routing, so the local server answers what the edge answers, message included.
#[test]
fn dot_segments_resolve_like_the_edge() {
    for (raw, normal) in [
        ("/v1/documents/../../etc/passwd", "/etc/passwd"),
        ("/admin/../v1/x", "/v1/x"),
        ("/v1/documents/..", "/v1/"),
        ("/v1/documents/%2e%2E", "/v1/"),
        ("/v1/x/%2e%2e/health", "/v1/health"),
        ("/v1/./health", "/v1/health"),
        ("/v1\\health", "/v1/health"),
        ("/v1/documents/.", "/v1/documents/"),
        ("/v1/a b", "/v1/a%20b"),
    ] {
        let (a, b) = (get(raw), get(normal));
        assert_eq!(
            (a.status, &a.body),
            (b.status, &b.body),
            "{raw} answers like {normal}"
        );
    }
    let r = get("/v1/documents/../../etc/passwd");
    assert_error(&r, 404, "not_found");
    assert!(
        String::from_utf8_lossy(&r.body).contains("`/etc/passwd`"),
        "the message names the resolved path"
    );
    assert_eq!(get("/admin/../v1/health").status, 200);
}

#[test]
fn typed_routes() {
    assert_eq!(get("/v1/personas/alice").status, 200);
    assert_error(&get("/v1/personas/complete"), 404, "not_found");
    assert_eq!(get("/v1/prompts/complete").status, 200);
    assert_error(&get("/v1/prompts/alice"), 404, "not_found");
    let r = get("/v1/prompts");
    assert_eq!(ids(&r), ["chat/basic", "complete"]);
    let r = get("/v1/personas?limit=3");
    assert_eq!(ids(&r), ["alice", "bob", "p00"]);
    assert_eq!(r.json().unwrap()["total"], 9);
    assert_error(&get("/v1/personas?type=persona"), 400, "invalid_parameter");
}

#[test]
fn list_and_filters() {
    let r = get("/v1/documents");
    assert_eq!(r.status, 200);
    let v = r.json().unwrap();
    assert_eq!(v["total"], 11);
    assert_eq!(v["limit"], 50);
    assert_eq!(v["offset"], 0);
    assert_eq!(v["next_cursor"], Value::Null);
    assert_eq!(ids(&r)[0], "alice");
    assert_eq!(
        ids(&get("/v1/documents?type=prompt_template")),
        ["chat/basic", "complete"]
    );
    assert_eq!(
        ids(&get("/v1/documents?type=prompts")),
        ["chat/basic", "complete"]
    );
    assert_eq!(
        ids(&get("/v1/documents?tag=support")),
        ["alice", "chat/basic"]
    );
    assert_eq!(
        ids(&get("/v1/documents?tag=FRIENDLY&tag=support")),
        ["alice"]
    );
    assert_eq!(
        ids(&get("/v1/documents?field.model.api=chat")),
        ["chat/basic"]
    );
    assert_eq!(
        ids(&get(
            "/v1/documents?field.model.configuration.type=azure_openai"
        )),
        ["chat/basic"]
    );
    assert_eq!(ids(&get("/v1/documents?field.level=3")), ["alice"]);
    assert_eq!(ids(&get("/v1/documents?field.flags=true")), ["alice"]);
    assert_eq!(
        ids(&get("/v1/documents?field.flags=x&type=persona")),
        ["alice"]
    );
    assert_eq!(
        ids(&get("/v1/documents?field.model=chat")),
        Vec::<String>::new()
    );
    assert_eq!(get("/v1/documents?tag=none").json().unwrap()["total"], 0);
}

#[test]
fn cursor_pagination_walks_everything_once() {
    let mut seen = Vec::new();
    let mut target = "/v1/documents?limit=4".to_owned();
    for _ in 0..10 {
        let r = get(&target);
        assert_eq!(r.status, 200);
        let v = r.json().unwrap();
        seen.extend(ids(&r));
        match v["next_cursor"].as_str() {
            Some(c) => target = format!("/v1/documents?limit=4&cursor={c}"),
            None => break,
        }
    }
    let all = ids(&get("/v1/documents"));
    assert_eq!(seen, all);
    assert_eq!(all.len(), 11);
}

#[test]
fn cursor_is_stable_across_writes() {
    let mut s = store();
    let cfg = ApiConfig::default();
    let r = handle(&Request::get("/v1/personas?limit=2"), &s, &cfg);
    let c = r.json().unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // "bob" was the last of page one; delete it and insert a doc before it.
    s.docs.remove("bob");
    s.insert(
        doc("aaron", DocType::Persona, "Aaron", &[], json!({})),
        None,
    );
    let r = handle(
        &Request::get(&format!("/v1/personas?limit=2&cursor={c}")),
        &s,
        &cfg,
    );
    assert_eq!(ids(&r), ["p00", "p01"]);
}

#[test]
fn offset_pagination() {
    let r = get("/v1/documents?offset=9&limit=5");
    assert_eq!(ids(&r), ["p05", "p06"]);
    assert_eq!(r.json().unwrap()["next_cursor"], Value::Null);
    let r = get("/v1/documents?offset=2&limit=2");
    assert_eq!(ids(&r), ["chat/basic", "complete"]);
    assert!(r.json().unwrap()["next_cursor"].is_string());
    assert_eq!(ids(&get("/v1/documents?offset=1000")), Vec::<String>::new());
}

#[test]
fn search_route() {
    let r = get("/v1/search?q=persona+1");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json().unwrap()["hits"], json!(["Persona 1"]));
    assert!(r.header("etag").is_some());
    let r = get("/v1/search?q=persona&limit=2&offset=1");
    assert_eq!(r.json().unwrap()["hits"], json!(["Persona 1", "Persona 2"]));
    let r = get("/v1/search?q=a%20(b");
    assert_error(&r, 400, "bad_query");
    assert_eq!(r.json().unwrap()["error"]["position"], 2);
    assert_error(&get("/v1/search"), 400, "invalid_parameter");
    assert_error(&get("/v1/search?q=a&q=b"), 400, "invalid_parameter");
}

#[test]
fn search_and_index_without_index_are_503() {
    let mut s = store();
    s.searcher = None;
    s.index_bytes = None;
    let cfg = ApiConfig::default();
    assert_error(
        &handle(&Request::get("/v1/search?q=x"), &s, &cfg),
        503,
        "unavailable",
    );
    assert_error(
        &handle(&Request::get("/v1/index"), &s, &cfg),
        503,
        "unavailable",
    );
}

#[test]
fn index_route() {
    let r = get("/v1/index");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, vec![1, 2, 3, 0, 255]);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
}

/// `/v1/index/{file}` serves the live index's chunk set: the manifest as JSON, each
/// file it names, and a JSON 404 for a name it does not.
#[test]
fn index_chunk_routes() {
    let mut s = store();
    let docs: Vec<crate::Document> = s.docs.values().map(|d| d.document.clone()).collect();
    let ix = crate::search::Index::build(&docs);
    s.searcher = Some(Arc::new(super::LoadedIndex::new(ix)));
    let cfg = ApiConfig::default();
    let r = handle(&Request::get("/v1/index/manifest.json"), &s, &cfg);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // The manifest changes with the library: revalidated each time, by the generation ETag.
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(r.header("etag").is_some());
    let ci = crate::search::chunked::ChunkedIndex::from_manifest(&r.body).unwrap();
    assert_eq!(ci.manifest().docs as usize, docs.len());
    for name in ci.global_files() {
        let r = handle(&Request::get(&format!("/v1/index/{name}")), &s, &cfg);
        assert_eq!(r.status, 200, "{name}");
        assert!(crate::search::chunked::verify(&name, &r.body));
        // Content-hashed names: cacheable forever; a revalidation by its ETag is a 304.
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{name}"
        );
        let etag = r.header("etag").unwrap().to_owned();
        let again = handle(
            &Request::get(&format!("/v1/index/{name}")).with_header("if-none-match", &etag),
            &s,
            &cfg,
        );
        assert_eq!(again.status, 304, "{name}");
        assert!(again.body.is_empty());
    }
    assert_error(
        &handle(&Request::get("/v1/index/postings/nope.bin"), &s, &cfg),
        404,
        "not_found",
    );
    // The fake searcher of the other tests has no chunk set.
    assert_error(&get("/v1/index/manifest.json"), 404, "not_found");
    assert_eq!(
        super::route_label("/v1/index/packs/x.bin"),
        Some("/v1/index/{file}")
    );
}

#[test]
fn openapi_route() {
    let r = get("/v1/openapi.json");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, OPENAPI_JSON.as_bytes());
    let v = r.json().unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    let etag = r.header("etag").unwrap().to_owned();
    let r = call(Request::get("/v1/openapi.json").with_header("If-None-Match", &etag));
    assert_eq!(r.status, 304);
}

#[test]
fn etag_and_304() {
    let r = get("/v1/documents?limit=2");
    let etag = r.header("etag").unwrap().to_owned();
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=0, must-revalidate")
    );
    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"zzz\", {etag}"),
        "*".into(),
    ] {
        let r = call(Request::get("/v1/documents?limit=2").with_header("if-none-match", &inm));
        assert_eq!(r.status, 304, "{inm}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
    }
    let r = call(Request::get("/v1/documents/alice").with_header("If-None-Match", "\"1-41\""));
    assert_eq!(r.status, 200);
    // A new generation changes the ETag.
    let mut s = store();
    s.generation = "43".into();
    let r = handle(
        &Request::get("/v1/documents/alice").with_header("If-None-Match", &etag),
        &s,
        &ApiConfig::default(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some("\"1-43\""));
    // Generations are sanitized into a valid ETag.
    s.generation = "a\"b c\n".into();
    let r = handle(
        &Request::get("/v1/documents/alice"),
        &s,
        &ApiConfig::default(),
    );
    assert_eq!(r.header("etag"), Some("\"1-abc\""));
}

#[test]
fn cors_default_allows_all() {
    let r = call(Request::get("/v1/health").with_header("Origin", "https://x.example"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-expose-headers"), Some("ETag"));
    let r = call(
        Request::new("OPTIONS", "/v1/documents")
            .with_header("Origin", "https://x.example")
            .with_header("Access-Control-Request-Method", "GET")
            .with_header("Access-Control-Request-Headers", "if-none-match"),
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("GET"));
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("If-None-Match"));
    // Errors carry CORS headers too, so browsers can read them.
    let r = call(Request::get("/v1/nope").with_header("Origin", "https://x.example"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // OPTIONS on an unknown route is a 404.
    assert_error(&call(Request::new("OPTIONS", "/v1/nope")), 404, "not_found");
}

#[test]
fn cors_origin_list() {
    let cfg = ApiConfig {
        cors: Cors::Origins(vec!["https://ok.example".into()]),
        ..ApiConfig::default()
    };
    let s = store();
    let r = handle(
        &Request::get("/v1/health").with_header("Origin", "https://ok.example"),
        &s,
        &cfg,
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://ok.example")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    let r = handle(
        &Request::get("/v1/health").with_header("Origin", "https://evil.example"),
        &s,
        &cfg,
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    let pre = Request::new("OPTIONS", "/v1/health")
        .with_header("Origin", "https://evil.example")
        .with_header("Access-Control-Request-Method", "GET");
    let r = handle(&pre, &s, &cfg);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let cfg = ApiConfig {
        cors: Cors::Disabled,
        ..ApiConfig::default()
    };
    let r = handle(
        &Request::get("/v1/health").with_header("Origin", "https://ok.example"),
        &s,
        &cfg,
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
}

/// The local server's default: pages on this machine (any port) may read, other
/// websites get no CORS headers, in answers and preflights alike.
#[test]
fn cors_local_pages() {
    let cfg = ApiConfig {
        cors: Cors::from_list::<&str>(&[]).unwrap(),
        ..ApiConfig::default()
    };
    let s = store();
    let r = handle(
        &Request::get("/v1/documents").with_header("Origin", "http://localhost:5173"),
        &s,
        &cfg,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    let pre = |origin: &str| {
        Request::new("OPTIONS", "/v1/search")
            .with_header("Origin", origin)
            .with_header("Access-Control-Request-Method", "GET")
            .with_header("Access-Control-Request-Headers", "if-none-match")
    };
    let r = handle(&pre("http://127.0.0.1:3000"), &s, &cfg);
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:3000")
    );
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("If-None-Match"));
    for evil in [
        "http://evil.test:5173",
        "null",
        "https://localhost.evil.test",
    ] {
        let r = handle(
            &Request::get("/v1/documents").with_header("Origin", evil),
            &s,
            &cfg,
        );
        assert_eq!(r.status, 200, "{evil}");
        assert_eq!(r.header("access-control-allow-origin"), None, "{evil}");
        let r = handle(&pre(evil), &s, &cfg);
        assert_eq!(r.header("access-control-allow-origin"), None, "{evil}");
        assert_eq!(r.header("access-control-allow-methods"), None, "{evil}");
    }
    // A listed origin is allowed too; `*` is every origin.
    let cfg = ApiConfig {
        cors: Cors::from_option("https://app.example.com").unwrap(),
        ..ApiConfig::default()
    };
    let r = handle(
        &Request::get("/v1/health").with_header("Origin", "https://app.example.com"),
        &s,
        &cfg,
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(Cors::from_option("*").unwrap(), Cors::AllowAll);
}

#[test]
fn methods() {
    for m in [
        "POST",
        "PUT",
        "DELETE",
        "PATCH",
        "TRACE",
        "CONNECT",
        "BREW\u{7f}x",
    ] {
        let r = call(Request::new(m, "/v1/documents"));
        assert_error(&r, 405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    }
    let r = call(Request::new("HEAD", "/v1/documents/alice"));
    assert_eq!(r.status, 200);
    let r = call(Request::new("OPTIONS", "/v1/documents"));
    assert_eq!(r.status, 204);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    // Unknown routes are 404 whatever the method.
    assert_error(
        &call(Request::new("POST", "/admin/reload")),
        404,
        "not_found",
    );
}

#[test]
fn store_failure_is_503_json() {
    struct Broken;
    impl DocumentSource for Broken {
        fn generation(&self) -> Result<String, StoreError> {
            Err(StoreError::new("disk on fire"))
        }
        fn health(&self) -> Result<HealthInfo, StoreError> {
            Err(StoreError::new("disk on fire"))
        }
        fn get(&self, _: &str) -> Result<Option<ServedDocument>, StoreError> {
            Err(StoreError::new("disk on fire"))
        }
        fn list(&self, _: &ListRequest) -> Result<ListPage, StoreError> {
            Err(StoreError::new("disk on fire"))
        }
        fn index_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
            Err(StoreError::new("disk on fire"))
        }
        fn searcher(&self) -> Result<Option<Arc<dyn Searcher + Send + Sync>>, StoreError> {
            Err(StoreError::new("disk on fire"))
        }
    }
    for t in [
        "/v1/health",
        "/v1/documents",
        "/v1/documents/a",
        "/v1/search?q=a",
        "/v1/index",
    ] {
        assert_error(
            &handle(&Request::get(t), &Broken, &ApiConfig::default()),
            503,
            "unavailable",
        );
    }
}

/// Every hostile or malformed request: status and error code.
#[test]
fn bad_input_table() {
    let huge_q = format!("/v1/search?q={}", "a".repeat(100 * 1024));
    let long_q = format!("/v1/search?q={}", "a".repeat(1001));
    let long_id = format!("/v1/documents/{}", "x".repeat(600));
    let many_tags = format!("/v1/documents?{}", "tag=a&".repeat(17));
    let cases: Vec<(&str, u16, &str)> = vec![
        // Unknown routes and path tricks.
        ("/", 404, "not_found"),
        ("/v1", 404, "not_found"),
        ("/v1/", 404, "not_found"),
        ("/v2/documents", 404, "not_found"),
        ("/v1/documents/", 400, "invalid_parameter"),
        ("/v1//documents", 404, "not_found"),
        ("/v1/../etc/passwd", 404, "not_found"),
        ("/v1/documents/..", 404, "not_found"),
        ("/v1/documents/%2e%2e", 404, "not_found"),
        ("/v1/documents/.", 400, "invalid_parameter"),
        ("/v1/documents/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
        (
            "/v1/documents/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
            404,
            "not_found",
        ),
        ("/v1/documents/a/b/c", 404, "not_found"),
        ("v1/health", 400, "bad_path"),
        ("", 400, "bad_path"),
        // Percent-encoding and UTF-8.
        ("/v1/documents/%", 400, "bad_encoding"),
        ("/v1/documents/%zz", 400, "bad_encoding"),
        ("/v1/documents/%C3", 400, "bad_encoding"),
        ("/v1/documents/%FF%FE", 400, "bad_encoding"),
        ("/v1/documents/%00", 400, "invalid_parameter"),
        ("/v1/documents/a%0Ab", 400, "invalid_parameter"),
        ("/v1/search?q=%ZZ", 400, "bad_encoding"),
        ("/v1/search?q=%C0%AF", 400, "bad_encoding"),
        ("/v1/search?q%FF=1", 400, "bad_encoding"),
        ("/v1/documents?tag=%E2%82", 400, "bad_encoding"),
        // Numbers.
        ("/v1/documents?limit=0", 400, "invalid_parameter"),
        ("/v1/documents?limit=-1", 400, "invalid_parameter"),
        ("/v1/documents?limit=501", 400, "invalid_parameter"),
        (
            "/v1/documents?limit=99999999999999999999999999",
            400,
            "invalid_parameter",
        ),
        ("/v1/documents?limit=1e3", 400, "invalid_parameter"),
        ("/v1/documents?limit=", 400, "invalid_parameter"),
        ("/v1/documents?limit=%201", 400, "invalid_parameter"),
        ("/v1/documents?offset=-5", 400, "invalid_parameter"),
        ("/v1/documents?offset=1000001", 400, "invalid_parameter"),
        ("/v1/documents?limit=1&limit=2", 400, "invalid_parameter"),
        ("/v1/search?q=a&limit=101", 400, "invalid_parameter"),
        ("/v1/search?q=a&offset=-1", 400, "invalid_parameter"),
        ("/v1/search?q=a&offset=10001", 400, "invalid_parameter"),
        // Cursors.
        ("/v1/documents?cursor=", 400, "bad_cursor"),
        ("/v1/documents?cursor=garbage!", 400, "bad_cursor"),
        ("/v1/documents?cursor=c%FF", 400, "bad_encoding"),
        ("/v1/documents?cursor=c____", 400, "bad_cursor"),
        (
            "/v1/documents?cursor=cYWxpY2U&offset=3",
            400,
            "invalid_parameter",
        ),
        // Filters.
        ("/v1/documents?type=robot", 400, "invalid_parameter"),
        ("/v1/documents?type=", 400, "invalid_parameter"),
        ("/v1/documents?field.=x", 400, "invalid_parameter"),
        ("/v1/documents?field.a..b=x", 400, "invalid_parameter"),
        ("/v1/documents?field.a'%3B--=x", 400, "invalid_parameter"),
        (
            "/v1/documents?field.a.b.c.d.e.f.g.h.i=x",
            400,
            "invalid_parameter",
        ),
        ("/v1/documents?field.%24.x=1", 400, "invalid_parameter"),
        (many_tags.as_str(), 400, "invalid_parameter"),
        ("/v1/documents?sort=name", 400, "invalid_parameter"),
        ("/v1/documents/alice?x=1", 400, "invalid_parameter"),
        ("/v1/health?verbose", 400, "invalid_parameter"),
        ("/v1/index?x", 400, "invalid_parameter"),
        // Sizes.
        (huge_q.as_str(), 414, "uri_too_long"),
        (long_q.as_str(), 400, "invalid_parameter"),
        (long_id.as_str(), 400, "invalid_parameter"),
    ];
    let s = store();
    let cfg = ApiConfig::default();
    for (target, status, code) in cases {
        let r = handle(&Request::get(target), &s, &cfg);
        assert_eq!(
            r.status,
            status,
            "{target}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let v = r
            .json()
            .unwrap_or_else(|| panic!("{target}: body is not JSON"));
        assert_eq!(v["error"]["code"], code, "{target}: {v}");
    }
    // A body on a read route beyond the limit.
    let mut req = Request::get("/v1/health");
    req.body_len = 1 << 20;
    assert_error(&handle(&req, &s, &cfg), 413, "payload_too_large");
    // A raw (non-UTF-8-clean) header value or odd header names do not matter.
    let r = handle(
        &Request::get("/v1/health").with_header("If-None-Match", "\u{0}\u{ffff}"),
        &s,
        &cfg,
    );
    assert_eq!(r.status, 200);
}

/// The same request gives the same bytes every time (the edge and the local server
/// rely on it for byte-identical bodies).
#[test]
fn bodies_are_deterministic() {
    for t in [
        "/v1/documents?limit=3",
        "/v1/documents/alice",
        "/v1/search?q=a",
        "/v1/health",
    ] {
        assert_eq!(get(t).body, get(t).body, "{t}");
    }
}

/// The OpenAPI document describes every route the handler serves, and only those.
#[test]
fn openapi_lists_every_route() {
    let v: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    let mut paths: Vec<&str> = v["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort();
    let mut served = vec![
        "/v1/health",
        "/v1/documents",
        "/v1/documents/{id}",
        "/v1/documents/{id}/versions",
        "/v1/documents/{id}/diff",
        "/v1/personas",
        "/v1/personas/{id}",
        "/v1/prompts",
        "/v1/prompts/{id}",
        "/v1/prompts/{id}/render",
        "/v1/prompts/{id}/schema",
        "/v1/search",
        "/v1/index",
        "/v1/index/{file}",
        "/v1/openapi.json",
        // Local server only (watcher/src/server/stream.rs); here a JSON 404.
        "/v1/events",
    ];
    served.sort();
    assert_eq!(paths, served);
    // The one POST route is tested in `super::render`.
    for p in served.into_iter().filter(|p| !p.ends_with("/render")) {
        let concrete = p
            .replace("{id}", "alice")
            .replace("{file}", "manifest.json")
            .replace("search", "search?q=a")
            .replace("/diff", "/diff?from=1&to=1");
        let r = get(&concrete);
        assert_ne!(r.header("content-type"), None, "{p}");
        assert!(r.status == 200 || r.status == 404, "{p}: {}", r.status);
    }
}

/// A store that answers reads the way the SQLite store does: each document kept as its
/// `serde_json` text and spliced into responses verbatim.
struct Spliced(MemoryStore);

impl DocumentSource for Spliced {
    fn generation(&self) -> Result<String, StoreError> {
        self.0.generation()
    }
    fn health(&self) -> Result<HealthInfo, StoreError> {
        self.0.health()
    }
    fn get(&self, id: &str) -> Result<Option<ServedDocument>, StoreError> {
        self.0.get(id)
    }
    fn list(&self, q: &ListRequest) -> Result<ListPage, StoreError> {
        self.0.list(q)
    }
    fn get_raw(&self, id: &str) -> Result<Option<RawDocument>, StoreError> {
        self.0.get(id)?.as_ref().map(splice).transpose()
    }
    fn list_raw(&self, q: &ListRequest) -> Result<RawListPage, StoreError> {
        let page = self.0.list(q)?;
        Ok(RawListPage {
            items: page.items.iter().map(splice).collect::<Result<_, _>>()?,
            total: page.total,
        })
    }
    fn index_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.index_bytes()
    }
    fn searcher(&self) -> Result<Option<Arc<dyn Searcher + Send + Sync>>, StoreError> {
        self.0.searcher()
    }
}

fn splice(d: &ServedDocument) -> Result<RawDocument, StoreError> {
    let text = serde_json::to_string(&d.document).unwrap();
    RawDocument::splice(
        d.document.id.as_str(),
        d.document.doc_type,
        &text,
        d.modified.as_deref(),
        d.stale,
    )
}

/// What the list routes answered before documents were spliced in as raw JSON: the
/// contract the hand-written envelope must reproduce byte for byte.
fn serde_list_body(r: &Response) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Page {
        data: Vec<Value>,
        total: Value,
        limit: Value,
        offset: Value,
        next_cursor: Value,
    }
    let v = r.json().unwrap();
    serde_json::to_vec(&Page {
        data: v["data"].as_array().unwrap().clone(),
        total: v["total"].clone(),
        limit: v["limit"].clone(),
        offset: v["offset"].clone(),
        next_cursor: v["next_cursor"].clone(),
    })
    .unwrap()
}

/// Splicing stored JSON gives exactly the bytes of serializing the parsed document, for
/// every route and every document shape (stale, with and without `modified`, escapes).
#[test]
fn spliced_documents_are_byte_identical() {
    let mut mem = store();
    let mut odd = doc(
        "odd\"id/é",
        DocType::Persona,
        "Quote \" backslash \\ tab \t é 😀 \u{1}",
        &["x\"y"],
        json!({"z": 1, "a": [1.5, -0.0, 1e300, null, {"k": "v"}], "m": {}}),
    );
    odd.description = None;
    mem.insert(odd, Some("2024-02-03T04:05:06Z \" \\"));
    mem.docs.get_mut("bob").unwrap().stale = true;
    mem.docs.get_mut("alice").unwrap().stale = true;
    let spliced = Spliced(mem.clone());
    let cfg = ApiConfig::default();
    let mut targets: Vec<String> = vec![
        "/v1/documents".into(),
        "/v1/documents?limit=1".into(),
        "/v1/documents?limit=3&offset=2".into(),
        "/v1/personas?limit=2".into(),
        "/v1/prompts".into(),
        "/v1/documents?tag=nope".into(),
        "/v1/personas/chat%2Fbasic".into(),
    ];
    targets.extend(mem.docs.keys().map(|id| {
        format!(
            "/v1/documents/{}",
            id.replace('/', "%2F").replace('"', "%22")
        )
    }));
    for t in &targets {
        let a = handle(&Request::get(t), &mem, &cfg);
        let b = handle(&Request::get(t), &spliced, &cfg);
        assert_eq!(a.status, b.status, "{t}");
        assert_eq!(
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body),
            "{t}"
        );
        assert_eq!(a.headers, b.headers, "{t}");
        let is_list = t.split('?').next().unwrap().matches('/').count() == 2;
        if a.status == 200 && is_list {
            assert_eq!(a.body, serde_list_body(&a), "{t}");
        } else if a.status == 200 {
            let d = mem
                .docs
                .values()
                .find(|d| a.json().unwrap()["id"] == d.document.id.0);
            assert_eq!(a.body, serde_json::to_vec(d.unwrap()).unwrap(), "{t}");
        }
    }
    // Every document was fetched (the odd id included), and cursors still walk.
    assert!(
        handle(
            &Request::get("/v1/documents/odd%22id%2F%C3%A9"),
            &spliced,
            &cfg
        )
        .status
            == 200
    );
    let r = handle(&Request::get("/v1/documents?limit=1"), &spliced, &cfg);
    assert!(r.json().unwrap()["next_cursor"].is_string());
}

#[test]
fn splice_rejects_what_is_not_one_object() {
    for bad in [
        "",
        "[]",
        "{",
        "{\"a\":}",
        "{\"a\":1} {",
        " {}",
        "{} ",
        "null",
        "{\"a\":\"\\q\"}",
    ] {
        assert!(
            RawDocument::splice("x", DocType::Persona, bad, None, false).is_err(),
            "{bad:?}"
        );
    }
    let empty = RawDocument::splice("x", DocType::Persona, "{}", Some("t"), true).unwrap();
    assert_eq!(empty.json, br#"{"modified":"t","stale":true}"#);
    let plain = RawDocument::splice("x", DocType::Persona, r#"{"a":1}"#, None, false).unwrap();
    assert_eq!(plain.json, br#"{"a":1}"#);
}
