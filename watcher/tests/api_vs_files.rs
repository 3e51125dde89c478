//! Benchmark (ignored by default): the seed's promise, "performance benchmarks show
//! improvement over the file-based approach". Per request, the original services read
//! and parsed the files; the API reads the database. Both sides run in this process, in
//! the same run, on the same library, hot page cache, no HTTP:
//!
//! - **files, full**: read the file(s), parse with promptshelf's parser (what a file-based
//!   service needs to answer the same JSON), serialize the answer;
//! - **files, JSON only**: read, `serde_json` parse into a generic value, serialize: the
//!   least any file-based service does (no validation, no normalisation), a lower bound;
//! - **API**: `promptshelf_core::api::handle` over the store's reader pool (one read
//!   transaction per request, the ETag, the stored JSON spliced into the answer).
//!
//! `scripts/bench-api-files [SIZES]` generates the libraries, syncs them and runs this;
//! by hand: `BENCH_LIBS="DIR..." cargo test --release -p promptshelf-watcher --test
//! api_vs_files -- --ignored --nocapture` (each DIR synced to DIR/.promptshelf/shelf.db).

use promptshelf_core::api::{handle, ApiConfig, Request};
use promptshelf_core::{parse_document, Document, ParseOptions};
use promptshelf_store::reader::{IndexCache, ReaderPool};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Every file under `root/folder` ending in `.ext`, sorted, with its library-relative
/// path.
fn library_files(root: &Path, folder: &str, ext: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, ext, out);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join(folder), ext, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (p, rel)
        })
        .collect()
}

/// "List", file-based: read every file of the kind, parse it, answer the list.
/// The directory walk is left out (given for free), as in `files_get_persona`.
fn files_list_full(files: &[(PathBuf, String)]) -> Vec<u8> {
    let opts = ParseOptions::default();
    let docs: Vec<Document> = files
        .iter()
        .filter_map(|(p, rel)| parse_document(rel, &std::fs::read(p).unwrap(), &opts).ok())
        .collect();
    serde_json::to_vec(&docs).unwrap()
}

fn files_list_json(files: &[(PathBuf, String)]) -> Vec<u8> {
    let docs: Vec<serde_json::Value> = files
        .iter()
        .map(|(p, _)| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    serde_json::to_vec(&docs).unwrap()
}

/// "Get one", file-based: the most favourable case for files, the caller already knows
/// the file name.
fn files_get_full((p, rel): &(PathBuf, String)) -> Vec<u8> {
    let d = parse_document(rel, &std::fs::read(p).unwrap(), &ParseOptions::default()).unwrap();
    serde_json::to_vec(&d).unwrap()
}

fn files_get_json((p, _): &(PathBuf, String)) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    serde_json::to_vec(&v).unwrap()
}

/// "List" through the API: every page of `/v1/{route}?limit=500`, following
/// `next_cursor` (read from the end of the body, where the envelope puts it, so the
/// benchmark does not add a parse of every page to the API's side).
fn api_list(pool: &ReaderPool, cfg: &ApiConfig, route: &str) -> usize {
    let mut target = format!("/v1/{route}?limit=500");
    let mut n = 0;
    loop {
        let r = pool
            .with_reader(|rd| handle(&Request::get(&target), rd, cfg))
            .unwrap();
        assert_eq!(r.status, 200);
        n += r.body.len();
        let body = std::str::from_utf8(&r.body).unwrap();
        let tail = &body[body.rfind("\"next_cursor\":").unwrap() + 14..];
        match tail.strip_prefix('"') {
            Some(c) => target = format!("/v1/{route}?limit=500&cursor={}", &c[..c.len() - 2]),
            None => return n,
        }
    }
}

/// Median time per call over `rounds` rounds of `iters` calls (after a warm-up call):
/// the median resists the bursts of other work on a shared machine.
fn time<T>(rounds: usize, iters: u32, mut f: impl FnMut() -> T) -> Duration {
    let _ = f();
    let mut per: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(f());
            }
            t.elapsed() / iters
        })
        .collect();
    per.sort();
    per[rounds / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

#[test]
#[ignore]
fn api_vs_files() {
    let libs = std::env::var("BENCH_LIBS").expect("BENCH_LIBS: synced library folders");
    let cfg = ApiConfig::default();
    println!("| documents | operation | files: read+parse (promptshelf parser) | files: read+JSON only | API | API speed-up vs parse / vs JSON only |");
    println!("|---:|---|---:|---:|---:|---:|");
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
        // Personas are JSON (a JSON-only service is possible); prompt templates are
        // Prompty (YAML front matter), which no file-based service answers without a parser.
        for (kind, folder, ext, route) in [
            ("personas", "personas", "json", "personas"),
            ("prompt templates", "prompts", "prompty", "prompts"),
        ] {
            let files = library_files(root, folder, ext);
            let one = &files[files.len() / 2];
            let id = parse_document(
                &one.1,
                &std::fs::read(&one.0).unwrap(),
                &ParseOptions::default(),
            )
            .unwrap()
            .id
            .0;
            let target = format!("/v1/{route}/{}", id.replace('/', "%2F"));
            let api_get = || {
                pool.with_reader(|rd| handle(&Request::get(&target), rd, &cfg))
                    .unwrap()
            };
            assert_eq!(api_get().status, 200, "{target}");
            let json_only = ext == "json";
            let list_iters = (20_000 / files.len().max(1)).clamp(1, 20) as u32;
            let rows = [
                (
                    format!("list all {kind} ({})", files.len()),
                    time(7, list_iters, || files_list_full(&files)),
                    json_only.then(|| time(7, list_iters, || files_list_json(&files))),
                    time(7, list_iters, || api_list(&pool, &cfg, route)),
                ),
                (
                    format!("get one {}", kind.trim_end_matches('s')),
                    time(7, 2000, || files_get_full(one)),
                    json_only.then(|| time(7, 2000, || files_get_json(one))),
                    time(7, 2000, api_get),
                ),
            ];
            for (op, full, json, api) in rows {
                let ratio = |d: Duration| format!("{:.1}×", d.as_secs_f64() / api.as_secs_f64());
                println!(
                    "| {total} | {op} | {} | {} | {} | {} / {} |",
                    ms(full),
                    json.map_or("–".into(), ms),
                    ms(api),
                    ratio(full),
                    json.map_or("–".into(), ratio),
                );
            }
        }
    }
}
