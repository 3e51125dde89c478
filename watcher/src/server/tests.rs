//! HTTP tests against the running server on a real socket: the read API through the
//! adapter (byte-identical to the pure handler), bad input on the wire, admin routes,
//! the token guard, and consistent reads while a writer commits batches.

use super::*;
use promptshelf_core::api::{handle, Request};
use promptshelf_core::{ContentHash, DocType, Document, DocumentId};
use promptshelf_store::reader::IndexCache;
use promptshelf_store::{Database as Db, ErrorKind, SyncErrorRecord};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;

fn doc(id: &str, t: DocType, tags: &[&str]) -> Document {
    Document {
        id: DocumentId(id.into()),
        doc_type: t,
        name: format!("Name of {id}"),
        path: format!("personas/{id}.json"),
        hash: ContentHash::of(id.as_bytes()),
        description: Some("d".into()),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        authors: vec![],
        body: "hello".into(),
        content: json!({"model": {"api": "chat"}, "id": id}),
    }
}

fn seed(path: &Path) -> Db {
    let mut db = Db::open(path).unwrap();
    let mut docs: Vec<Document> = ["alice", "bob", "carol"]
        .iter()
        .map(|id| doc(id, DocType::Persona, &["support"]))
        .collect();
    docs.push(doc("chat", DocType::PromptTemplate, &[]));
    let index = promptshelf_core::search::Index::build(&docs).to_bytes();
    db.write(|w| {
        for (i, d) in docs.iter().enumerate() {
            w.upsert_document(d, 1_700_000_000_000 + (i % 3) as i64, 5)?;
        }
        w.set_error(&SyncErrorRecord {
            path: "personas/broken.json".into(),
            kind: ErrorKind::Parse,
            line: Some(3),
            column: Some(7),
            message: "expected `,` or `}`".into(),
            doc_id: None,
            first_seen: String::new(),
            last_seen: String::new(),
        })?;
        w.put_search_index(1, &index)?;
        w.bump_generation()?;
        Ok(())
    })
    .unwrap();
    db
}

struct Running {
    addr: SocketAddr,
    cfg: ServerConfig,
    pool: Arc<ReaderPool>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

async fn start(db: &Path, token: Option<&str>) -> Running {
    let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.admin_token = token.map(str::to_owned);
    start_with(db, cfg).await
}

async fn start_with(db: &Path, cfg: ServerConfig) -> Running {
    let pool = Arc::new(ReaderPool::open(db, 8, IndexCache::default()).unwrap());
    let source = Arc::new(DbSource { pool: pool.clone() });
    let server = Server::bind(pool.clone(), source, cfg.clone())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async {
        let _ = rx.await;
    }));
    Running {
        addr,
        cfg,
        pool,
        stop: Some(tx),
        task,
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A minimal HTTP/1.1 client over a raw socket, so tests can send bytes no client
/// library would.
async fn raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let request = request.to_vec();
    let buf = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&request).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).expect("response within 20 s");
        buf
    })
    .await
    .unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// A request with `Host: localhost` unless `extra` names another.
async fn send(addr: SocketAddr, method: &str, target: &str, extra: &[(&str, &str)]) -> Reply {
    let mut req = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str("Host: localhost\r\n");
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    raw(addr, req.as_bytes()).await
}

async fn get(addr: SocketAddr, target: &str) -> Reply {
    send(addr, "GET", target, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_api_over_http_is_the_pure_handler() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let _db = seed(&path);
    let srv = start(&path, None).await;
    for target in [
        "/v1/health",
        "/v1/documents",
        "/v1/documents?limit=2",
        "/v1/documents?tag=support&field.model.api=chat&limit=1",
        "/v1/documents/alice",
        "/v1/personas",
        "/v1/prompts/chat",
        "/v1/index",
        "/v1/openapi.json",
        "/v1/search?q=a",
        "/v1/search?q=name+of+carol",
        "/v1/search?q=(unclosed",
        "/v1/nope",
        "/v1/documents?limit=0",
    ] {
        let r = get(srv.addr, target).await;
        let direct = srv
            .pool
            .with_reader(|rd| handle(&Request::get(target), rd, &srv.cfg.api))
            .unwrap();
        assert_eq!(r.status, direct.status, "{target}");
        assert_eq!(r.body, direct.body, "{target}");
        for (k, v) in &direct.headers {
            assert_eq!(r.header(k), Some(v.as_str()), "{target}: header {k}");
        }
    }
    srv.stop().await;
}

/// Paths are normalised as the edge runtime's URL parser does before any routing (the
/// admin routes included), and ids with `/` work unencoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_and_slash_ids_on_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let mut db = seed(&path);
    db.write(|w| w.upsert_document(&doc("team/dana", DocType::Persona, &[]), 1, 5))
        .unwrap();
    let srv = start(&path, None).await;
    let a = srv.addr;
    for (raw, normal) in [
        ("/admin/../v1/health", "/v1/health"),
        ("/v1/documents/../../etc/passwd", "/etc/passwd"),
        ("/v1/documents/%2e%2e/%2E%2E/etc/passwd", "/etc/passwd"),
        ("/v1/x/../documents/alice", "/v1/documents/alice"),
        ("/v1/./documents/./alice", "/v1/documents/alice"),
        ("/v1/../admin/status", "/admin/status"),
        ("/v1/documents/team/dana", "/v1/documents/team%2Fdana"),
        ("/v1/personas/team/dana", "/v1/documents/team%2Fdana"),
        ("/v1/personas/team/x/../dana", "/v1/documents/team%2Fdana"),
    ] {
        let (r, n) = (get(a, raw).await, get(a, normal).await);
        assert_eq!(
            r.status,
            n.status,
            "{raw}: {}",
            String::from_utf8_lossy(&r.body)
        );
        if !normal.starts_with("/admin") {
            assert_eq!(r.body, n.body, "{raw}");
        }
    }
    assert_eq!(
        get(a, "/v1/documents/team/dana").await.json()["id"],
        "team/dana"
    );
    assert_eq!(get(a, "/admin/../v1/health").await.status, 200);
    assert_eq!(get(a, "/v1/../admin/status").await.status, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_behaviour() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let mut db = seed(&path);
    let srv = start(&path, None).await;
    let a = srv.addr;

    let r = get(a, "/v1/documents/alice").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "Name of alice");
    assert_eq!(r.header("content-type"), Some("application/json"));
    // No Origin (curl, scripts): no CORS headers; the answer varies by Origin.
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(r.header("vary"), Some("Origin"));
    let etag = r.header("etag").unwrap().to_owned();
    let r = send(a, "GET", "/v1/documents/alice", &[("If-None-Match", &etag)]).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    // A new batch changes the generation, so the old ETag no longer matches.
    db.write(|w| w.bump_generation().map(|_| ())).unwrap();
    let r = send(a, "GET", "/v1/documents/alice", &[("If-None-Match", &etag)]).await;
    assert_eq!(r.status, 200);
    assert_ne!(r.header("etag"), Some(etag.as_str()));

    // Search through the real engine, loaded from the stored index.
    let r = get(a, "/v1/search?q=carol").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["hits"][0]["id"], "carol", "{v}");
    assert_eq!(v["total"], 1);
    assert!(v["facets"].is_object());
    let r = get(a, "/v1/search?q=a%20b)").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "bad_query");
    assert_eq!(r.json()["error"]["position"], 3);
    let r = get(a, "/v1/index").await;
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert!(promptshelf_core::search::Index::from_bytes(&r.body).is_ok());

    let r = send(a, "HEAD", "/v1/documents/alice", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());

    let r = send(
        a,
        "OPTIONS",
        "/v1/search",
        &[
            ("Origin", "http://localhost:5173"),
            ("Access-Control-Request-Method", "GET"),
        ],
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("GET"));

    // The render route gets the request body: bad JSON is a 400 naming its position
    // (not the 501 a host that drops bodies would cause).
    let body = "{not json";
    let req = format!(
        "POST /v1/prompts/chat/render HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = raw(a, req.as_bytes()).await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(String::from_utf8_lossy(&r.body).contains("line 1"));
    let body = r#"{"inputs": {}}"#;
    let req = format!(
        "POST /v1/prompts/chat/render HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = raw(a, req.as_bytes()).await;
    assert!(
        r.status < 500,
        "{}: {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );

    let r = send(a, "POST", "/v1/documents", &[("Content-Length", "0")]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    srv.stop().await;
}

/// Hostile requests on the wire: always a 4xx, JSON from our handler whenever the
/// request reaches it (the HTTP parser itself rejects some raw bytes first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let _db = seed(&path);
    let srv = start(&path, None).await;
    let a = srv.addr;
    let long = format!("/v1/search?q={}", "x".repeat(20 * 1024));
    let cases: Vec<(String, u16)> = vec![
        (long, 414),
        // Dot segments are resolved as the edge runtime's URL parser does.
        ("/v1/../../etc/passwd".into(), 404),
        ("/v1/documents/../../etc/passwd".into(), 404),
        ("/v1/documents/..%2F..%2Fetc%2Fpasswd".into(), 404),
        ("/v1/documents/%2e%2e".into(), 404),
        ("/v1/documents/.".into(), 400),
        ("/v1/documents/%FF".into(), 400),
        ("/v1/search?q=%E2%28%A1".into(), 400),
        ("/v1/search?q=%".into(), 400),
        ("/v1/documents?limit=-1".into(), 400),
        ("/v1/documents?limit=18446744073709551616".into(), 400),
        ("/v1/documents?offset=99999999999".into(), 400),
        ("/v1/documents?cursor=%00%01garbage".into(), 400),
        ("/v1/documents?cursor=cAAAA".into(), 400),
        ("/v1/../admin/nope".into(), 404),
        ("/etc/passwd".into(), 404),
        ("/v1/documents/a%00b".into(), 400),
    ];
    for (target, status) in cases {
        let r = get(a, &target).await;
        let shown = &target[..target.len().min(60)];
        assert_eq!(
            r.status,
            status,
            "{shown}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap_or_else(|_| {
            panic!(
                "{shown}: not JSON: {:?} {}",
                r.headers,
                String::from_utf8_lossy(&r.body)
            )
        });
        assert!(v["error"]["code"].is_string(), "{shown}: {v}");
    }
    // A body on a read route beyond the limit.
    let r = send(a, "GET", "/v1/health", &[("Content-Length", "10000000")]).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    // What the HTTP layer (hyper) rejects before any handler runs still answers the
    // API's JSON error (see `wire_errors`): targets over 64 KiB, too many headers,
    // bytes that are not HTTP. (A header section over hyper's ~400 KB buffer gets the
    // same 431 head, rewritten the same way; it is not sent here because hyper closes
    // before reading all of it, and the unread bytes make the kernel reset the
    // connection, which a test cannot rely on.)
    let huge = format!("/v1/search?q={}", "x".repeat(100 * 1024));
    let many_headers: String = (0..120).map(|i| format!("X-H{i}: 1\r\n")).collect();
    let wire: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            format!("GET {huge} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes(),
            414,
            "uri_too_long",
        ),
        (
            format!("GET /v1/health HTTP/1.1\r\nHost: localhost\r\n{many_headers}\r\n")
                .into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            b"GET /v1/documents/\xff\xfe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                .to_vec(),
            400,
            "bad_request",
        ),
        (b"GARBAGE\r\n\r\n".to_vec(), 400, "bad_request"),
    ];
    for (request, status, code) in wire {
        let r = raw(a, &request).await;
        let shown = String::from_utf8_lossy(&request[..request.len().min(40)]).into_owned();
        assert_eq!(r.status, status, "{shown}");
        assert_eq!(r.json()["error"]["code"], code, "{shown}");
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{shown}"
        );
        assert_eq!(r.header("cache-control"), Some("no-store"), "{shown}");
        // The default CORS policy is not `*`, so hyper's errors carry no CORS header.
        assert_eq!(r.header("access-control-allow-origin"), None, "{shown}");
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str()),
            "{shown}"
        );
    }
    // Pipelined on one connection: a good request, then an oversized one; the first
    // is answered normally, the second with the JSON 414.
    let mut two = b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec();
    two.extend_from_slice(format!("GET {huge} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
    let r = raw(a, &two).await;
    assert_eq!(r.status, 200);
    let rest = String::from_utf8_lossy(&r.body).into_owned();
    let second = &rest[rest.find("HTTP/1.1 ").expect("a second response")..];
    assert!(second.starts_with("HTTP/1.1 414 "), "{second}");
    assert!(second.ends_with(r#"{"error":{"code":"uri_too_long","message":"the request target is longer than 65534 bytes (the read API accepts targets up to 8 KiB)"}}"#), "{second}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let mut db = seed(&path);
    db.write(|w| {
        w.set_labels(&[promptshelf_store::versions::LabelRow {
            label: "production".into(),
            reference: Some("refs/tags/prod".into()),
            commit: None,
            error: Some("ref `refs/tags/prod` does not exist".into()),
        }])
    })
    .unwrap();
    let srv = start(&path, None).await;
    let a = srv.addr;

    let s = get(a, "/admin/status").await;
    assert_eq!(s.status, 200);
    let v = s.json();
    assert_eq!(v["mode"], "serve");
    assert_eq!(v["database"]["counts"]["documents"], 4);
    assert_eq!(v["database"]["sync_errors"], 1);
    assert_eq!(v["versions"]["api"], "v1");
    // The configured labels, with what they resolved to (the dashboard offers them
    // beside `latest`); here one whose ref is missing.
    assert_eq!(
        v["database"]["labels"],
        json!([{"label": "production", "reference": "refs/tags/prod", "commit": null,
            "error": "ref `refs/tags/prod` does not exist"}])
    );

    let e = get(a, "/admin/errors").await.json();
    assert_eq!(e["count"], 1);
    assert_eq!(
        e["errors"][0]["display"],
        "personas/broken.json:3:7 expected `,` or `}`"
    );
    // A label whose ref is missing (issue #15) is listed too.
    assert_eq!(
        e["labels"],
        serde_json::json!([{"label": "production", "reference": "refs/tags/prod",
            "error": "ref `refs/tags/prod` does not exist"}])
    );

    let r = send(a, "POST", "/admin/reload", &[("Content-Length", "0")]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = send(a, "POST", "/admin/sync", &[("Content-Length", "0")]).await;
    assert_eq!(r.status, 200);
    let r = get(a, "/admin/reload").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");

    // The events log picks up the error (the follower polls every 500 ms).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ev = get(a, "/admin/events").await.json();
        let msgs: Vec<String> = ev["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .collect();
        if msgs
            .iter()
            .any(|m| m.starts_with("personas/broken.json:3:7"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no error event: {msgs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    get(a, "/v1/documents/alice").await;
    let m = get(a, "/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = String::from_utf8(m.body).unwrap();
    assert!(
        text.contains(
            "promptshelf_http_requests_total{route=\"/v1/documents/{id}\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("promptshelf_documents{type=\"persona\"} 3"),
        "{text}"
    );
    assert!(text.contains("promptshelf_http_request_duration_seconds_bucket"));

    assert_eq!(get(a, "/healthz").await.status, 200);
    assert_eq!(get(a, "/readyz").await.status, 200);

    let page = get(a, "/").await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(String::from_utf8(page.body)
        .unwrap()
        .contains("Sync errors"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_guard() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let _db = seed(&path);
    // Off loopback, no token: refuse to start.
    let pool = Arc::new(ReaderPool::open(&path, 2, IndexCache::default()).unwrap());
    let source = Arc::new(DbSource { pool: pool.clone() });
    let cfg = ServerConfig::new("0.0.0.0:0".parse().unwrap());
    assert!(matches!(
        Server::bind(pool.clone(), source.clone(), cfg).await,
        Err(ServerError::TokenRequired(_))
    ));
    let mut cfg = ServerConfig::new("0.0.0.0:0".parse().unwrap());
    cfg.admin_token = Some("short".into());
    assert!(matches!(
        Server::bind(pool.clone(), source.clone(), cfg).await,
        Err(ServerError::WeakToken)
    ));
    // Off loopback with a token but no host names: refuse to start, naming the option.
    let mut cfg = ServerConfig::new("0.0.0.0:0".parse().unwrap());
    cfg.admin_token = Some("0123456789abcdef-token".into());
    let e = Server::bind(pool.clone(), source.clone(), cfg.clone())
        .await
        .err()
        .expect("no host names");
    assert!(matches!(e, ServerError::HostsRequired(_)), "{e}");
    assert!(e.to_string().contains("--allowed-host"), "{e}");
    cfg.allowed_hosts = guard::AllowedHosts::parse(&["shelf.test"]).unwrap();
    assert!(Server::bind(pool, source, cfg).await.is_ok());

    let token = "0123456789abcdef-token";
    let srv = start(&path, Some(token)).await;
    let a = srv.addr;
    let r = get(a, "/admin/status").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "unauthorized");
    assert_eq!(get(a, "/metrics").await.status, 401);
    let r = send(
        a,
        "GET",
        "/admin/status",
        &[("Authorization", "Bearer wrong-token-wrong-token")],
    )
    .await;
    assert_eq!(r.status, 401);
    let auth = format!("Bearer {token}");
    let r = send(a, "GET", "/admin/status", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 200);
    let r = send(a, "POST", "/admin/reload", &[("Content-Length", "0")]).await;
    assert_eq!(r.status, 401);
    // The read API and probes stay open.
    assert_eq!(get(a, "/v1/health").await.status, 200);
    assert_eq!(get(a, "/healthz").await.status, 200);
    srv.stop().await;
}

/// How many requests the guard refused for `reason`, from `/metrics`.
async fn refused(a: SocketAddr, reason: &str) -> u64 {
    let m = String::from_utf8(get(a, "/metrics").await.body).unwrap();
    let key = format!("promptshelf_http_refused_total{{reason=\"{reason}\"}} ");
    m.lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
        .unwrap_or_else(|| panic!("no {key} in /metrics:\n{m}"))
        .parse()
        .unwrap()
}

/// Whether the events log holds a manual reload (what `POST /admin/reload` leaves).
async fn reloaded(a: SocketAddr) -> bool {
    let ev = get(a, "/admin/events").await.json();
    ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["message"] == "manual reload")
}

/// DNS rebinding: a page on `evil.example` whose name now resolves to 127.0.0.1 sends
/// its own name as `Host`. Nothing is answered for it, the admin API included; loopback
/// names and addresses, with any port, are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebinding_host_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let _db = seed(&path);
    let srv = start(&path, None).await;
    let a = srv.addr;
    let port = a.port();
    let evil = format!("evil.example:{port}");
    for target in [
        "/v1/documents",
        "/admin/errors",
        "/admin/status",
        "/",
        "/metrics",
    ] {
        let r = send(a, "GET", target, &[("Host", &evil)]).await;
        assert_eq!(r.status, 403, "{target}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("access-control-allow-origin"), None);
        let v = r.json();
        assert_eq!(v["error"]["code"], "host_not_allowed", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--allowed-host"),
            "{v}"
        );
        assert!(!String::from_utf8_lossy(&r.body).contains("broken.json"));
    }
    let r = send(
        a,
        "POST",
        "/admin/reload",
        &[("Host", &evil), ("Content-Length", "0")],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(!reloaded(a).await, "a refused reload ran");
    // An absolute request target carries the host too.
    let r = raw(
        a,
        format!("GET http://{evil}/v1/documents HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(refused(a, "host").await, 7);

    for ok in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("LOCALHOST.:{port}"),
        format!("[::1]:{port}"),
        format!("dev.localhost:{port}"),
        "localhost:5173".to_owned(),
    ] {
        let r = send(a, "GET", "/v1/documents", &[("Host", &ok)]).await;
        assert_eq!(r.status, 200, "{ok}: {}", String::from_utf8_lossy(&r.body));
    }
    // HTTP/1.0 without Host is not a browser's request.
    let r = raw(a, b"GET /v1/health HTTP/1.0\r\n\r\n").await;
    assert_eq!(r.status, 200);
    assert_eq!(refused(a, "host").await, 7);
    srv.stop().await;

    // A name the user allowed is answered.
    let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.allowed_hosts = guard::AllowedHosts::parse(&["shelf.test"]).unwrap();
    let srv = start_with(&path, cfg).await;
    let r = send(
        srv.addr,
        "GET",
        "/v1/health",
        &[("Host", "shelf.test:7410")],
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(srv.addr, "GET", "/v1/health", &[("Host", "evil.example")]).await;
    assert_eq!(r.status, 403);
    srv.stop().await;
}

/// A website the user visits posts to the admin API (a form, or `fetch` with a simple
/// content type, which no preflight stops): refused before anything runs, whatever the
/// content type. Pages on this machine and the dashboard itself are not refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let _db = seed(&path);
    let srv = start(&path, None).await;
    let a = srv.addr;
    let evil = [("Origin", "http://evil.example")];
    for (content_type, body) in [
        ("application/x-www-form-urlencoded", "a=1"),
        ("text/plain", "x"),
        ("multipart/form-data; boundary=x", "--x--"),
        ("application/json", "{}"),
    ] {
        for target in ["/admin/reload", "/admin/sync"] {
            let len = body.len().to_string();
            let mut h = evil.to_vec();
            h.extend([("Content-Type", content_type), ("Content-Length", &len)]);
            let mut req = format!(
                "POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
                a.port()
            );
            for (k, v) in &h {
                req.push_str(&format!("{k}: {v}\r\n"));
            }
            req.push_str(&format!("\r\n{body}"));
            let r = raw(a, req.as_bytes()).await;
            assert_eq!(r.status, 403, "{target} {content_type}");
            let v = r.json();
            assert_eq!(v["error"]["code"], "cross_site_request", "{v}");
            assert!(v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--cors-origin"));
            assert_eq!(r.header("access-control-allow-origin"), None);
        }
    }
    // No Origin, but the browser marks the request as another site's (e.g. <img>).
    let r = send(
        a,
        "POST",
        "/admin/reload",
        &[("Sec-Fetch-Site", "cross-site"), ("Content-Length", "0")],
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(
        a,
        "GET",
        "/admin/errors",
        &[("Sec-Fetch-Site", "cross-site")],
    )
    .await;
    assert_eq!(r.status, 403);
    // Admin reads and the event stream (whether or not it exists on this build).
    for target in ["/admin/errors", "/admin/status", "/metrics", "/v1/events"] {
        let r = send(a, "GET", target, &evil).await;
        assert_eq!(r.status, 403, "{target}");
        assert_eq!(r.json()["error"]["code"], "cross_site_request");
    }
    let r = send(a, "GET", "/v1/events", &[("Origin", "null")]).await;
    assert_eq!(r.status, 403);
    // Rendering is a read with a body: refused for other sites, like every POST.
    let r = send(
        a,
        "POST",
        "/v1/prompts/chat/render",
        &[
            ("Origin", "http://evil.example"),
            ("Content-Type", "text/plain"),
            ("Content-Length", "0"),
        ],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(!reloaded(a).await, "a refused reload ran");
    assert_eq!(refused(a, "cross_site").await, 16);

    // Reads of the read API are answered; CORS keeps other sites from reading them.
    let r = send(a, "GET", "/v1/documents", &evil).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = send(
        a,
        "GET",
        "/v1/documents",
        &[("Origin", "http://localhost:5173")],
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );

    // The dashboard (same origin), a local page on another port, and curl may reload.
    let own = format!("http://127.0.0.1:{}", a.port());
    let host = format!("127.0.0.1:{}", a.port());
    for extra in [
        vec![
            ("Host", host.as_str()),
            ("Origin", own.as_str()),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        vec![
            ("Origin", "http://localhost:5173"),
            ("Sec-Fetch-Site", "same-site"),
        ],
        vec![],
    ] {
        let mut h = extra.clone();
        h.push(("Content-Length", "0"));
        let r = send(a, "POST", "/admin/reload", &h).await;
        assert_eq!(
            r.status,
            200,
            "{extra:?}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    assert!(reloaded(a).await);
    assert_eq!(refused(a, "cross_site").await, 16);
    srv.stop().await;

    // A site the user listed may call the admin routes; `*` opens only the read API.
    let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.api.cors = promptshelf_core::api::Cors::from_list(&["https://app.example.com"]).unwrap();
    let srv = start_with(&path, cfg).await;
    let h = [
        ("Origin", "https://app.example.com"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Content-Length", "0"),
    ];
    assert_eq!(
        send(srv.addr, "POST", "/admin/reload", &h).await.status,
        200
    );
    srv.stop().await;
    let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.api.cors = promptshelf_core::api::Cors::AllowAll;
    let srv = start_with(&path, cfg).await;
    let h = [("Origin", "https://any.example"), ("Content-Length", "0")];
    assert_eq!(
        send(srv.addr, "POST", "/admin/reload", &h).await.status,
        403
    );
    let r = send(srv.addr, "GET", "/v1/health", &h).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    srv.stop().await;
}

/// Readers never see half a batch: every batch inserts two documents, so every
/// response must report an even count, while a writer commits as fast as it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_half_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let mut db = Db::open(&path).unwrap();
    db.write(|w| w.bump_generation().map(|_| ())).unwrap();
    let srv = start(&path, None).await;
    let a = srv.addr;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 400 {
                db.write(|w| {
                    w.upsert_document(&doc(&format!("a{i:04}"), DocType::Persona, &[]), 0, 1)?;
                    w.upsert_document(
                        &doc(&format!("b{i:04}"), DocType::PromptTemplate, &[]),
                        0,
                        1,
                    )?;
                    w.bump_generation()?;
                    Ok(())
                })
                .unwrap();
                i += 1;
            }
            i
        })
    };
    let mut checks = 0;
    let mut readers = Vec::new();
    for _ in 0..4 {
        readers.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..40 {
                let h = get(a, "/v1/health").await.json();
                let c = &h["counts"];
                assert_eq!(c["personas"], c["prompt_templates"], "{h}");
                let l = get(a, "/v1/documents?limit=1").await.json();
                assert_eq!(l["total"].as_u64().unwrap() % 2, 0, "{l}");
                n += 1;
            }
            n
        }));
    }
    for r in readers {
        checks += r.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let batches = writer.join().unwrap();
    assert!(checks == 160 && batches > 0);
    srv.stop().await;
}
