//! `promptshelf-bench typed LIB PROMPTSHELF [RUNS]`: what typed prompts cost (#16's
//! budgets), in one run, each figure beside its peer:
//!
//! 1. a render with and without the input check (`schema::of_document` +
//!    `schema::check_inputs`, as `POST /v1/prompts/{id}/render` does it), median over
//!    every prompt of `LIB`, in this process (build it with `--release`);
//! 2. an initial sync of `LIB` by the `PROMPTSHELF` binary without `[schemas]` and
//!    with a persona schema and a prompt front-matter schema (`$ref` to a shared file),
//!    fresh database each run, alternating, `RUNS` runs each (default 3); wall time
//!    and the child's CPU time (user + system), which does not count waiting for a core.
//!
//! `LIB` is `bench/watch/gen.py N LIB --typed` (scripts/bench-typed makes it). A last
//! control sync with a schema every persona fails checks that the schemas are applied.

use promptshelf_core::render::{render, RenderOptions, Source};
use promptshelf_core::schema::{check_inputs, of_document};
use promptshelf_core::{parse_document, DocType, Document, ParseOptions};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Rounds per prompt and variant; the variants alternate round by round so that a
/// burst of load from another process hits both alike.
const ROUNDS: usize = 20;

pub fn run(lib: &str, bin: &str, runs: Option<&String>) -> Result<(), String> {
    let runs: usize = runs
        .map_or(Ok(3), |r| r.parse())
        .map_err(|_| "RUNS must be a number")?;
    let lib = std::fs::canonicalize(lib).map_err(|e| format!("{lib}: {e}"))?;
    let mut files = Vec::new();
    walk(&lib, &mut files).map_err(|e| e.to_string())?;
    files.sort();
    let prompts: Vec<Document> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "prompty"))
        .filter_map(|p| {
            let rel = p.strip_prefix(&lib).ok()?.to_string_lossy().into_owned();
            let bytes = std::fs::read(p).ok()?;
            parse_document(&rel, &bytes, &ParseOptions::default()).ok()
        })
        .filter(|d| d.doc_type == DocType::PromptTemplate)
        .collect();
    if prompts.is_empty() {
        return Err(format!("no prompts under {}", lib.display()));
    }
    let typed = prompts
        .iter()
        .filter(|d| {
            of_document(d)["inputs"]["properties"]
                .as_object()
                .is_some_and(|p| p.values().any(|s| s.get("type").is_some()))
        })
        .count();
    println!(
        "## typed prompts: {} files, {} prompts ({typed} with typed inputs)\n",
        files.len(),
        prompts.len()
    );
    render_figures(&prompts)?;
    sync_figures(&lib, bin, runs, files.len() - prompts.len())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            if !e.file_name().to_string_lossy().starts_with('.') {
                walk(&p, out)?;
            }
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn p95(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * 95 / 100).min(v.len() - 1)]
}

/// Per prompt: the mean of [`ROUNDS`] renders without the check, with it, and the check
/// alone (µs); then median and p95 over prompts.
fn render_figures(prompts: &[Document]) -> Result<(), String> {
    let opts = RenderOptions {
        fuel: 500_000,
        max_output_bytes: 1024 * 1024,
        ..RenderOptions::default()
    };
    let mut inputs = Map::new();
    inputs.insert("question".into(), json!("Where is my order?"));
    inputs.insert("tone".into(), json!("formal"));
    let given = Value::Object(inputs.clone());
    let (mut plain, mut checked, mut check_only) = (Vec::new(), Vec::new(), Vec::new());
    let mut problems = 0usize;
    for d in prompts {
        let (mut a, mut b, mut c) = (0f64, 0f64, 0f64);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let out = render(Source::Document { doc: d, text: None }, &given, &opts);
            a += t.elapsed().as_secs_f64();
            std::hint::black_box(out.map_err(|e| format!("{}: {e:?}", d.path))?);

            let t = Instant::now();
            let schema = of_document(d);
            let check = check_inputs(&schema["inputs"], &inputs, false);
            let out = if check.problems.is_empty() {
                Some(render(
                    Source::Document { doc: d, text: None },
                    &given,
                    &opts,
                ))
            } else {
                None
            };
            b += t.elapsed().as_secs_f64();
            problems += check.problems.len();
            std::hint::black_box(out);

            let t = Instant::now();
            let schema = of_document(d);
            let check = check_inputs(&schema["inputs"], &inputs, false);
            c += t.elapsed().as_secs_f64();
            std::hint::black_box(check);
        }
        let us = 1e6 / ROUNDS as f64;
        plain.push(a * us);
        checked.push(b * us);
        check_only.push(c * us);
    }
    if problems > 0 {
        return Err(format!(
            "{problems} input problems: the sample inputs should be valid"
        ));
    }
    let (m_plain, m_checked, m_check) = (
        median(&mut plain),
        median(&mut checked),
        median(&mut check_only),
    );
    println!("### render (in process, {ROUNDS} rounds per prompt; median and p95 over prompts)\n");
    println!("| | median | p95 |\n|---|---|---|");
    println!(
        "| render without the input check | {m_plain:.1} µs | {:.1} µs |",
        p95(&mut plain)
    );
    println!(
        "| render with the input check | {m_checked:.1} µs | {:.1} µs |",
        p95(&mut checked)
    );
    println!(
        "| the input check alone | {m_check:.2} µs | {:.2} µs |",
        p95(&mut check_only)
    );
    println!(
        "\nadded by the check: {:.2} µs median (budget 50 µs)\n",
        m_checked - m_plain
    );
    Ok(())
}

/// CPU time (user + system) of finished children, in seconds.
fn children_cpu() -> f64 {
    // SAFETY: getrusage writes into the struct we own; RUSAGE_CHILDREN is valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Runs one sync; returns (wall s, CPU s, sync errors).
fn sync_once(bin: &str, lib: &Path, config: &Path, db: &Path) -> Result<(f64, f64, u64), String> {
    let _ = std::fs::remove_file(db);
    let cpu = children_cpu();
    let t = Instant::now();
    let out = Command::new(bin)
        .args(["sync", "--no-progress", "--log-format", "json", "--config"])
        .arg(config)
        .arg("--db")
        .arg(db)
        .arg(lib)
        .output()
        .map_err(|e| format!("{bin}: {e}"))?;
    let wall = t.elapsed().as_secs_f64();
    let cpu = children_cpu() - cpu;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(format!("sync failed: {text}"));
    }
    let errors = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "sync complete")
        .and_then(|v| v["fields"]["errors"].as_u64())
        .ok_or_else(|| format!("no `sync complete` line in: {text}"))?;
    Ok((wall, cpu, errors))
}

fn sync_figures(lib: &Path, bin: &str, runs: usize, personas: usize) -> Result<(), String> {
    let work = std::env::temp_dir().join(format!("promptshelf-bench-typed-{}", std::process::id()));
    let schemas = work.join("schemas");
    std::fs::create_dir_all(&schemas).map_err(|e| e.to_string())?;
    let write = |p: PathBuf, v: &Value| std::fs::write(p, v.to_string()).map_err(|e| e.to_string());
    write(
        schemas.join("common.json"),
        &json!({"$defs": {
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 20},
            "authors": {"type": "array", "items": {"type": "string", "minLength": 1}}
        }}),
    )?;
    write(
        schemas.join("persona.schema.json"),
        &json!({
            "type": "object",
            "required": ["id", "name", "prompt"],
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                "name": {"type": "string", "minLength": 2, "maxLength": 200},
                "description": {"type": "string"},
                "tags": {"$ref": "common.json#/$defs/tags"},
                "authors": {"$ref": "common.json#/$defs/authors"},
                "prompt": {"type": "string", "minLength": 1}
            }
        }),
    )?;
    write(
        schemas.join("prompt.schema.json"),
        &json!({
            "type": "object",
            "required": ["name", "model"],
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                "name": {"type": "string", "minLength": 2},
                "tags": {"$ref": "common.json#/$defs/tags"},
                "authors": {"$ref": "common.json#/$defs/authors"},
                "model": {"type": "object", "properties": {"api": {"enum": ["chat", "completion"]}}},
                "inputs": {"type": ["array", "object"]},
                "outputs": {"type": ["array", "object"]}
            }
        }),
    )?;
    write(
        schemas.join("fail.schema.json"),
        &json!({"required": ["zzz"]}),
    )?;
    let toml = |name: &str, body: &str| -> Result<PathBuf, String> {
        let p = work.join(name);
        std::fs::write(&p, body).map_err(|e| e.to_string())?;
        Ok(p)
    };
    let without = toml("without.toml", "")?;
    let with = toml(
        "with.toml",
        "[schemas]\npersonas = \"schemas/persona.schema.json\"\nprompts = \"schemas/prompt.schema.json\"\n",
    )?;
    let control = toml(
        "control.toml",
        "[schemas]\npersonas = \"schemas/fail.schema.json\"\n",
    )?;
    let db = work.join("shelf.db");
    let (mut w0, mut c0, mut w1, mut c1) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let (w, c, e) = sync_once(bin, lib, &without, &db)?;
        if e != 0 {
            return Err(format!("{e} sync errors without a schema"));
        }
        w0.push(w);
        c0.push(c);
        let (w, c, e) = sync_once(bin, lib, &with, &db)?;
        if e != 0 {
            return Err(format!(
                "{e} sync errors with the schemas (they should pass)"
            ));
        }
        w1.push(w);
        c1.push(c);
    }
    let (_, _, control_errors) = sync_once(bin, lib, &control, &db)?;
    let _ = std::fs::remove_dir_all(&work);
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!("### initial sync ({runs} alternating runs each, fresh database; budget +10 %)\n");
    println!("| | without `[schemas]` | with persona + prompt schemas | added (medians) |");
    println!("|---|---|---|---|");
    let (mw0, mw1, mc0, mc1) = (
        median(&mut w0.clone()),
        median(&mut w1.clone()),
        median(&mut c0.clone()),
        median(&mut c1.clone()),
    );
    println!(
        "| wall (s) | {} | {} | {:+.1} % |",
        list(&w0),
        list(&w1),
        (mw1 / mw0 - 1.0) * 100.0
    );
    println!(
        "| CPU, user + system (s) | {} | {} | {:+.1} % |",
        list(&c0),
        list(&c1),
        (mc1 / mc0 - 1.0) * 100.0
    );
    println!(
        "\ncontrol (a persona schema requiring a missing key): {control_errors} sync errors, \
         {personas} personas expected to fail"
    );
    if control_errors as usize != personas {
        return Err(format!(
            "the control schema made {control_errors} errors, expected {personas}: are schemas applied?"
        ));
    }
    Ok(())
}
