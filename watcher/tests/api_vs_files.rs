//! Benchmark (ignored by default): the seed's promise, "performance benchmarks show
//! improvement over the file-based approach". Per request, the original services read
//! and parsed the files; the API reads the database. Both sides produce the same JSON
//! response bytes' worth of work (parse + serialize), in-process, no HTTP.
//!
//! cargo test --release -p promptshelf-watcher --test api_vs_files -- --ignored --nocapture
//! with BENCH_LIBS="/tmp/bench1000 /tmp/bench10000" (libraries already synced with
//! `promptshelf sync`, database in DIR/.promptshelf/shelf.db).

use promptshelf_core::api::{handle, ApiConfig, Request};
use promptshelf_core::{parse_document, Document, ParseOptions};
use promptshelf_store::reader::{IndexCache, ReaderPool};
use std::path::Path;
use std::time::{Duration, Instant};

/// What the file-based persona service did for "list personas": read every file of
/// `personas/`, parse it, answer the list as JSON.
fn files_list_personas(root: &Path) -> Vec<u8> {
    let opts = ParseOptions::default();
    let mut docs: Vec<Document> = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(root.join("personas"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let bytes = std::fs::read(&p).unwrap();
        let rel = format!("personas/{}", p.file_name().unwrap().to_string_lossy());
        if let Ok(d) = parse_document(&rel, &bytes, &opts) {
            docs.push(d);
        }
    }
    serde_json::to_vec(&docs).unwrap()
}

/// "Get one persona": read and parse its file (the most favourable case for files: the
/// caller already knows the file name).
fn files_get_persona(root: &Path, file: &str) -> Vec<u8> {
    let bytes = std::fs::read(root.join("personas").join(file)).unwrap();
    let d = parse_document(
        &format!("personas/{file}"),
        &bytes,
        &ParseOptions::default(),
    )
    .unwrap();
    serde_json::to_vec(&d).unwrap()
}

/// "List personas" through the API: every page of `/v1/personas?limit=500`.
fn api_list_personas(pool: &ReaderPool, cfg: &ApiConfig) -> usize {
    let mut target = "/v1/personas?limit=500".to_owned();
    let mut n = 0;
    loop {
        let r = pool
            .with_reader(|rd| handle(&Request::get(&target), rd, cfg))
            .unwrap();
        assert_eq!(r.status, 200);
        n += r.body.len();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        match v["next_cursor"].as_str() {
            Some(c) => target = format!("/v1/personas?limit=500&cursor={c}"),
            None => return n,
        }
    }
}

fn time<T>(iters: u32, mut f: impl FnMut() -> T) -> Duration {
    let _ = f(); // warm caches
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(f());
    }
    t.elapsed() / iters
}

#[test]
#[ignore]
fn api_vs_files() {
    let libs =
        std::env::var("BENCH_LIBS").unwrap_or_else(|_| "/tmp/bench1000 /tmp/bench10000".into());
    let cfg = ApiConfig::default();
    println!("| documents | operation | read+parse files per request | API (SQLite) | speed-up |");
    println!("|---:|---|---:|---:|---:|");
    for lib in libs.split_whitespace() {
        let root = Path::new(lib);
        let pool = ReaderPool::open(
            &root.join(".promptshelf/shelf.db"),
            4,
            IndexCache::default(),
        )
        .unwrap();
        let total = pool
            .with_reader(|r| promptshelf_store::read::count_documents(r.conn(), None).unwrap())
            .unwrap();
        let first = {
            let mut e: Vec<_> = std::fs::read_dir(root.join("personas"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            e.sort();
            e[0].to_string_lossy().into_owned()
        };
        let id = {
            let bytes = std::fs::read(root.join("personas").join(&first)).unwrap();
            parse_document(
                &format!("personas/{first}"),
                &bytes,
                &ParseOptions::default(),
            )
            .unwrap()
            .id
            .0
        };
        let iters_list = if total > 5000 { 5 } else { 20 };
        let f_list = time(iters_list, || files_list_personas(root));
        let a_list = time(iters_list, || api_list_personas(&pool, &cfg));
        let f_get = time(2000, || files_get_persona(root, &first));
        let target = format!("/v1/personas/{id}");
        let a_get = time(2000, || {
            pool.with_reader(|rd| handle(&Request::get(&target), rd, &cfg))
                .unwrap()
        });
        for (op, f, a) in [
            ("list all personas", f_list, a_list),
            ("get one persona", f_get, a_get),
        ] {
            println!(
                "| {total} | {op} | {:.3} ms | {:.3} ms | {:.1}× |",
                f.as_secs_f64() * 1e3,
                a.as_secs_f64() * 1e3,
                f.as_secs_f64() / a.as_secs_f64()
            );
        }
    }
}
