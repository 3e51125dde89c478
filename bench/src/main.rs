//! `promptshelf-bench gen N DIR [SEED]` writes `DIR/docs-N.json` (documents) and
//! `DIR/queries-N.json` (the fixed query list) — MiniSearch's script reads the same
//! files. `promptshelf-bench run DOCS QUERIES` measures promptshelf's index on them
//! and prints one JSON object. `scripts/bench-search` runs both sides and compares.
//! `promptshelf-bench typed LIB PROMPTSHELF` measures typed prompts (see `typed.rs`,
//! `scripts/bench-typed`).

mod gen;
mod typed;

use promptshelf_core::search::{Index, SearchOptions};
use promptshelf_core::Document;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("gen") if args.len() >= 3 => gen_cmd(&args[1], &args[2], args.get(3)),
        Some("run") if args.len() >= 3 => run_cmd(&args[1], &args[2]),
        Some("typed") if args.len() >= 3 => typed::run(&args[1], &args[2], args.get(3)),
        _ => Err(
            "usage: promptshelf-bench gen N DIR [SEED] | run DOCS.json QUERIES.json \
                  | typed LIB PROMPTSHELF [RUNS]"
                .into(),
        ),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("promptshelf-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn gen_cmd(n: &str, dir: &str, seed: Option<&String>) -> Result<(), String> {
    let n: usize = n.parse().map_err(|_| "N must be a number")?;
    let seed: u64 = seed
        .map_or(Ok(42), |s| s.parse())
        .map_err(|_| "SEED must be a number")?;
    let g = gen::Generator::default();
    let docs = g.library(n, seed);
    let queries = gen::queries(&g, &docs, seed);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let write = |name: String, v: &dyn erased::Ser| -> Result<(), String> {
        let path = std::path::Path::new(dir).join(name);
        let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut w = std::io::BufWriter::new(f);
        v.write(&mut w).map_err(|e| e.to_string())?;
        w.flush().map_err(|e| e.to_string())
    };
    write(format!("docs-{n}.json"), &docs)?;
    write(format!("queries-{n}.json"), &queries)?;
    Ok(())
}

mod erased {
    pub trait Ser {
        fn write(&self, w: &mut dyn std::io::Write) -> serde_json::Result<()>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn write(&self, w: &mut dyn std::io::Write) -> serde_json::Result<()> {
            serde_json::to_writer(w, self)
        }
    }
}

#[derive(serde::Deserialize)]
struct Q {
    kind: String,
    q: String,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// CPU time of this thread in milliseconds: unlike wall time, it does not count
/// waiting for a core, so figures stay comparable on a busy machine.
fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; the clock id is valid.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// Runs `f`, returning its result, wall ms and CPU ms.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let c = cpu_ms();
    let t = Instant::now();
    let r = f();
    (r, ms(t), cpu_ms() - c)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Default options, or `PSB_BODY=<bytes>` to try another stored body prefix.
fn index_options() -> promptshelf_core::search::IndexOptions {
    let mut o = promptshelf_core::search::IndexOptions::default();
    if let Some(b) = std::env::var("PSB_BODY").ok().and_then(|v| v.parse().ok()) {
        o.stored_text_bytes = b;
    }
    o
}

fn run_cmd(docs: &str, queries: &str) -> Result<(), String> {
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let docs: Vec<Document> = serde_json::from_slice(&read(docs)?).map_err(|e| e.to_string())?;
    let queries: Vec<Q> = serde_json::from_slice(&read(queries)?).map_err(|e| e.to_string())?;
    let n = docs.len();
    if std::env::var_os("PSB_PROBE").is_some() {
        let (count, wall, cpu) = timed(|| {
            let mut c = 0usize;
            for d in &docs {
                promptshelf_core::search::tokenize::for_each_token(&d.body, |_, _, _| c += 1);
            }
            c
        });
        eprintln!("tokenize bodies: {count} tokens, wall {wall:.1} ms, cpu {cpu:.1} ms");
        let mut map: std::collections::HashMap<String, u32> = Default::default();
        let (_, wall, cpu) = timed(|| {
            for d in &docs {
                promptshelf_core::search::tokenize::for_each_token(&d.body, |t, _, _| {
                    let l = map.len() as u32;
                    if !map.contains_key(t) {
                        map.insert(t.to_owned(), l);
                    }
                });
            }
        });
        eprintln!(
            "tokenize + std HashMap: {} terms, wall {wall:.1} ms, cpu {cpu:.1} ms",
            map.len()
        );
        let (ix, wall, cpu) = timed(|| Index::build(&docs));
        eprintln!("build: wall {wall:.1} ms, cpu {cpu:.1} ms");
        let words: Vec<&Q> = queries.iter().filter(|q| q.kind == "word").collect();
        type Variant = (&'static str, fn(&str) -> String, SearchOptions);
        let variants: [Variant; 4] = [
            (
                "normal",
                |q| q.to_owned(),
                SearchOptions {
                    limit: 10,
                    ..Default::default()
                },
            ),
            (
                "no snippets/facets",
                |q| q.to_owned(),
                SearchOptions {
                    limit: 10,
                    snippets: false,
                    facets: false,
                    ..Default::default()
                },
            ),
            (
                "quoted (no fuzzy)",
                |q| format!("\"{}\"", q.trim()),
                SearchOptions {
                    limit: 10,
                    snippets: false,
                    facets: false,
                    ..Default::default()
                },
            ),
            (
                "quoted, limit 0",
                |q| format!("\"{}\"", q.trim()),
                SearchOptions {
                    limit: 0,
                    snippets: false,
                    facets: false,
                    ..Default::default()
                },
            ),
        ];
        for (label, f, opts) in variants {
            let mut v = Vec::new();
            for _ in 0..20 {
                for q in &words {
                    let text = f(&q.q);
                    let (_, _, cpu) = timed(|| ix.search(&text, &opts));
                    v.push(cpu * 1e3);
                }
            }
            v.sort_by(f64::total_cmp);
            eprintln!(
                "word queries {label}: cpu p50 {:.0} us p99 {:.0} us",
                pct(&v, 0.5),
                pct(&v, 0.99)
            );
        }
    }
    let reps = if n >= 50_000 { 1 } else { 3 };

    let mut builds = Vec::new();
    let mut builds_cpu = Vec::new();
    let mut index = Index::new();
    for _ in 0..reps {
        let (ix, wall, cpu) = timed(|| Index::build_with(&docs, index_options()));
        index = ix;
        builds.push(wall);
        builds_cpu.push(cpu);
    }
    let blob = index.to_bytes();
    let gzip = |b: &[u8]| -> Result<usize, String> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).map_err(|e| e.to_string())?;
        Ok(e.finish().map_err(|e| e.to_string())?.len())
    };
    let gz = gzip(&blob)?;
    // The same index without stored text (no snippets beyond names): the part that
    // compares like for like with MiniSearch, which stores no text either.
    let bare = Index::build_with(
        &docs,
        promptshelf_core::search::IndexOptions {
            stored_text_bytes: 0,
        },
    )
    .to_bytes();
    let gz_bare = gzip(&bare)?;
    let mut loads = Vec::new();
    let mut loads_cpu = Vec::new();
    for _ in 0..(if n >= 50_000 { 3 } else { 10 }) {
        let (ix, wall, cpu) = timed(|| Index::from_bytes(&blob));
        std::hint::black_box(ix.map_err(|e| e.to_string())?);
        loads.push(wall);
        loads_cpu.push(cpu);
    }

    let opts = SearchOptions {
        limit: 10,
        ..SearchOptions::default()
    };
    let passes = match std::env::var("PSB_PASSES") {
        Ok(v) => v.parse().unwrap_or(10),
        Err(_) if n >= 50_000 => 3,
        Err(_) => 10,
    };
    let mut lat: Vec<f64> = Vec::new();
    let mut lat_cpu: Vec<f64> = Vec::new();
    let mut by_kind: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    let mut with_hits = 0;
    for q in &queries {
        let r = index
            .search(&q.q, &opts)
            .map_err(|e| format!("{}: {e}", q.q))?;
        if r.total > 0 {
            with_hits += 1;
        }
    }
    for _ in 0..passes {
        for q in &queries {
            let (r, wall, cpu) = timed(|| index.search(&q.q, &opts));
            std::hint::black_box(r.ok());
            let us = wall * 1e3;
            lat.push(us);
            lat_cpu.push(cpu * 1e3);
            by_kind.entry(q.kind.clone()).or_default().push(us);
        }
    }
    lat.sort_by(f64::total_cmp);
    lat_cpu.sort_by(f64::total_cmp);
    let kinds: serde_json::Map<String, serde_json::Value> = by_kind
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            (k, json!({"p50_us": pct(&v, 0.5), "p99_us": pct(&v, 0.99)}))
        })
        .collect();
    let out = json!({
        "engine": "promptshelf",
        "docs": n,
        "terms": index.term_count(),
        "build_ms": median(builds),
        "build_cpu_ms": median(builds_cpu),
        "load_cpu_ms": median(loads_cpu),
        "query_cpu_p50_us": pct(&lat_cpu, 0.5),
        "query_cpu_p99_us": pct(&lat_cpu, 0.99),
        "raw_bytes": blob.len(),
        "gzip_bytes": gz,
        "search_only_raw_bytes": bare.len(),
        "search_only_gzip_bytes": gz_bare,
        "load_ms": median(loads),
        "query_p50_us": pct(&lat, 0.5),
        "query_p99_us": pct(&lat, 0.99),
        "queries": queries.len(),
        "queries_with_hits": with_hits,
        "by_kind": kinds,
    });
    println!("{out}");
    Ok(())
}
