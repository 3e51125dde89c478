//! `GET /v1/events` over a real TCP connection: a real watch on a temporary library
//! (files written, events read off the stream), resumption with `Last-Event-ID`, the
//! cap on open streams, heartbeats, and `serve`'s resets when another process writes.

use super::*;
use crate::config::{Config, LogFormat};
use crate::server::{DbSource, Server, ServerConfig};
use promptshelf_store::reader::{IndexCache, ReaderPool};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn cfg(root: &Path) -> Config {
    let root = std::fs::canonicalize(root).unwrap();
    std::fs::create_dir_all(root.join(".promptshelf")).unwrap();
    Config {
        db: root.join(".promptshelf/shelf.db"),
        root,
        log_format: LogFormat::Text,
        progress: false,
        max_file_bytes: 1 << 20,
        debounce: Duration::from_millis(20),
        reconcile_every: None,
        force_poll: false,
        poll_interval: Duration::from_millis(100),
        schemas: Default::default(),
        schema_sources: Default::default(),
        file: None,
        extra: Default::default(),
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn persona(id: &str, name: &str) -> String {
    format!(r#"{{"id": "{id}", "name": "{name}", "prompt": "You are {name}."}}"#)
}

#[derive(Debug, Default)]
struct Sse {
    event: String,
    id: Option<u64>,
    data: String,
}

impl Sse {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|_| panic!("not JSON: {}", self.data))
    }
}

/// One HTTP/1.1 request on a fresh connection, and its (chunked) body read as it comes.
struct Conn {
    s: TcpStream,
    raw: Vec<u8>,
    /// De-chunked body text not yet parsed into events.
    text: String,
    status: u16,
    head: String,
    /// Comment lines seen (heartbeats).
    comments: usize,
}

impl Conn {
    async fn open(addr: SocketAddr, extra: &str) -> Conn {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{extra}\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut c = Conn {
            s,
            raw: Vec::new(),
            text: String::new(),
            status: 0,
            head: String::new(),
            comments: 0,
        };
        while !c.raw.windows(4).any(|w| w == b"\r\n\r\n") {
            c.fill().await;
        }
        let end = c.raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        c.head = String::from_utf8_lossy(&c.raw[..end]).into_owned();
        c.raw.drain(..end);
        c.status = c.head[9..12].parse().unwrap();
        c
    }

    async fn fill(&mut self) {
        let mut buf = [0u8; 8192];
        let n = tokio::time::timeout(Duration::from_secs(10), self.s.read(&mut buf))
            .await
            .expect("nothing arrived within 10 s")
            .unwrap();
        assert!(n > 0, "connection closed");
        self.raw.extend_from_slice(&buf[..n]);
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// Moves complete chunks from `raw` to `text`.
    fn dechunk(&mut self) {
        loop {
            let Some(eol) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&self.raw[..eol]).unwrap().trim(), 16)
                    .unwrap();
            if self.raw.len() < eol + 2 + size + 2 {
                return;
            }
            self.text
                .push_str(std::str::from_utf8(&self.raw[eol + 2..eol + 2 + size]).unwrap());
            self.raw.drain(..eol + 2 + size + 2);
        }
    }

    /// The next event (comments are counted and skipped).
    async fn next(&mut self) -> Sse {
        loop {
            self.dechunk();
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut e = Sse::default();
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        e.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        e.id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        e.data.push_str(v.trim_start());
                    }
                }
                if !e.event.is_empty() || !e.data.is_empty() {
                    return e;
                }
                continue;
            }
            self.fill().await;
        }
    }

    /// The next `sync` event for which `pred` holds (earlier ones are skipped).
    async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Sse {
        loop {
            let e = self.next().await;
            if e.event == "sync" && pred(&e.json()) {
                return e;
            }
        }
    }
}

fn has(v: &Value, field: &str, id: &str) -> bool {
    v[field]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == id))
}

async fn wait_ready(handle: &crate::sync::SyncHandle) {
    let end = Instant::now() + Duration::from_secs(20);
    while handle.status().phase != crate::sync::Phase::Watching {
        assert!(Instant::now() < end, "the initial sync did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_batches_resumes_and_caps() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    write(&root, "personas/a.json", &persona("a", "A"));
    let c = cfg(&root);
    let (handle, thread) = crate::sync::start(&c, true).unwrap();
    wait_ready(&handle).await;
    let pool = Arc::new(ReaderPool::open(&c.db, 4, IndexCache::default()).unwrap());
    let mut sc = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    sc.stream.heartbeat = Duration::from_millis(150);
    sc.stream.max_streams = 2;
    let server = Server::bind(pool, Arc::new(handle.clone()), sc)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    // A new stream: headers, then `hello` with the current generation.
    let mut s1 = Conn::open(addr, "").await;
    assert_eq!(s1.status, 200, "{}", s1.head);
    assert_eq!(
        s1.header("content-type").as_deref(),
        Some("text/event-stream")
    );
    assert_eq!(s1.header("cache-control").as_deref(), Some("no-store"));
    let hello = s1.next().await;
    assert_eq!(hello.event, "hello");
    let g0 = hello.id.unwrap();
    assert_eq!(hello.json()["generation"], g0);
    assert_eq!(g0, handle.status().generation);

    // A save: one event naming the document, id = the new generation.
    write(&root, "personas/b.json", &persona("b", "B"));
    let e1 = s1.until(|v| has(v, "upserted", "b")).await;
    let g1 = e1.id.unwrap();
    assert!(g1 > g0);
    assert_eq!(e1.json()["generation"], g1);
    assert_eq!(e1.json()["removed"], serde_json::json!([]));

    // A broken file: its error, with line and column.
    write(&root, "personas/c.json", "{\n  \"id\": \"c\",,\n}\n");
    let e2 = s1
        .until(|v| v["errors_added"].as_array().is_some_and(|a| !a.is_empty()))
        .await;
    let err = &e2.json()["errors_added"][0];
    assert_eq!(err["path"], "personas/c.json");
    assert_eq!(err["line"], 2);
    assert_eq!(err["kind"], "parse");

    // Fixed, and `b` deleted: cleared error, removed id.
    write(&root, "personas/c.json", &persona("c", "C"));
    let e3 = s1
        .until(|v| has(v, "errors_cleared", "personas/c.json"))
        .await;
    assert!(has(&e3.json(), "upserted", "c"));
    std::fs::remove_file(root.join("personas/b.json")).unwrap();
    let e4 = s1.until(|v| has(v, "removed", "b")).await;
    let g4 = e4.id.unwrap();

    // Heartbeats while idle.
    let before = s1.comments;
    let idle = Instant::now();
    while s1.comments == before {
        s1.dechunk();
        if s1.text.contains(':') {
            let _ = tokio::time::timeout(Duration::from_millis(400), s1.next()).await;
        } else {
            s1.fill().await;
        }
        assert!(idle.elapsed() < Duration::from_secs(3), "no heartbeat");
    }

    // Resume after the first event: every later event, in order, no hello, no gap.
    let mut s2 = Conn::open(addr, &format!("Last-Event-ID: {g1}\r\n")).await;
    assert_eq!(s2.status, 200);
    let mut got = Vec::new();
    while got.last() != Some(&g4) {
        let e = s2.next().await;
        assert_eq!(e.event, "sync", "{e:?}");
        got.push(e.id.unwrap());
    }
    assert!(
        got.contains(&e2.id.unwrap()) && got.contains(&e3.id.unwrap()),
        "{got:?}"
    );
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");

    // Two streams are open: a third is refused with a JSON 503.
    let mut s3 = Conn::open(addr, "").await;
    assert_eq!(s3.status, 503, "{}", s3.head);
    assert_eq!(s3.header("retry-after").as_deref(), Some("5"));
    while !s3.raw.ends_with(b"}") {
        s3.fill().await;
    }
    let body: Value = serde_json::from_slice(&s3.raw).unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams");

    // A closed stream frees its place (noticed at the next heartbeat at the latest).
    drop(s2);
    let end = Instant::now() + Duration::from_secs(5);
    let mut s4 = loop {
        let s = Conn::open(addr, "Last-Event-ID: 999999999\r\n").await;
        if s.status == 200 {
            break s;
        }
        assert!(
            Instant::now() < end,
            "the closed stream's place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // An id the ring does not know (here from the future): an explicit reset.
    let r = s4.next().await;
    assert_eq!(r.event, "reset");
    assert_eq!(r.id, Some(handle.status().generation));

    // The first stream still gets new batches.
    write(&root, "personas/d.json", &persona("d", "D"));
    s1.until(|v| has(v, "upserted", "d")).await;

    let _ = stop.send(());
    drop((s1, s4));
    task.await.unwrap().unwrap();
    handle.shutdown();
    tokio::task::spawn_blocking(move || thread.join().unwrap().unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_a_reset_when_the_database_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    write(&root, "personas/a.json", &persona("a", "A"));
    let c = cfg(&root);
    crate::sync::run_once(&c).unwrap();
    let pool = Arc::new(ReaderPool::open(&c.db, 4, IndexCache::default()).unwrap());
    let mut sc = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    sc.stream.poll = Duration::from_millis(50);
    let source = Arc::new(DbSource { pool: pool.clone() });
    let server = Server::bind(pool, source, sc).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    // A page on another loopback origin may follow the stream as it may read the API:
    // the read API's CORS headers.
    let mut s = Conn::open(addr, "Origin: http://127.0.0.1:5173\r\n").await;
    assert_eq!(s.status, 200);
    let allow = s.header("access-control-allow-origin");
    assert!(
        matches!(allow.as_deref(), Some("*") | Some("http://127.0.0.1:5173")),
        "{}",
        s.head
    );
    let hello = s.next().await;
    assert_eq!(hello.event, "hello");
    // The stream starts at the database's generation (no spurious reset).
    let g0 = crate::sync::run_once(&c).unwrap().1.generation;
    assert_eq!(hello.id, Some(g0));
    // Let the poller see the starting generation, then sync a change from "another process".
    tokio::time::sleep(Duration::from_millis(200)).await;
    write(&root, "personas/b.json", &persona("b", "B"));
    let c2 = c.clone();
    tokio::task::spawn_blocking(move || crate::sync::run_once(&c2).unwrap())
        .await
        .unwrap();
    let r = s.next().await;
    assert_eq!(r.event, "reset", "{r:?}");
    assert!(r.id.unwrap() > hello.id.unwrap());

    // Shutting down ends the open stream instead of waiting for it forever.
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("graceful shutdown waited for the open event stream")
        .unwrap()
        .unwrap();
    drop(s);
}

#[tokio::test]
async fn other_methods_are_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    promptshelf_store::Database::open(&db).unwrap();
    let pool = Arc::new(ReaderPool::open(&db, 2, IndexCache::default()).unwrap());
    let source = Arc::new(DbSource { pool: pool.clone() });
    let server = Server::bind(
        pool,
        source,
        ServerConfig::new("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 405"), "{out}");
    assert!(out.contains("\"code\":\"method_not_allowed\""), "{out}");
    assert!(
        out.to_ascii_lowercase()
            .contains("allow: get, head, options"),
        "{out}"
    );
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
