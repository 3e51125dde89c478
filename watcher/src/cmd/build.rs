//! `promptshelf build DIR --out FILE [--allow-errors] [--d1-sql FILE] [--site DIR]`: one sync of the library into a
//! throwaway database, then a compact, immutable snapshot of it for shipping (the edge
//! worker serves it; `promptshelf serve --db FILE` too). See `docs/edge.md`. Beside the
//! snapshot it writes the prompts' TypeScript declarations (`FILE` with the extension
//! `.d.ts`, as `promptshelf types` would), for the apps that call the shipped prompts.
//!
//! A library with broken files is refused (every error listed as `path:line:column:
//! message`, exit 1, nothing written) unless `--allow-errors`: a deploy should not
//! silently ship without the documents someone just broke.

use crate::config::{Config, SyncArgs};
use clap::Args;
use promptshelf_store::{read, snapshot, Database};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The library folder (holds personas/*.json and prompts/*.prompty).
    pub dir: PathBuf,
    /// Where to write the snapshot (replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Write the snapshot even if some files fail to parse (they are left out and
    /// counted as sync errors in /v1/health).
    #[arg(long)]
    pub allow_errors: bool,
    /// A promptshelf.toml to read settings from [default: DIR/promptshelf.toml if present].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Files larger than this many bytes are sync errors instead of documents.
    #[arg(long, value_name = "BYTES")]
    pub max_file_bytes: Option<usize>,
    /// Also write the snapshot as SQL for a Cloudflare D1 database
    /// (`npx wrangler d1 execute DB --file FILE`; see docs/edge.md).
    #[arg(long, value_name = "FILE")]
    pub d1_sql: Option<PathBuf>,
    /// Also write the chunked search index under DIR/v1/index/ (a manifest and
    /// content-named chunks a page fetches per query; see docs/edge.md). Files that
    /// already exist unchanged are not rewritten.
    #[arg(long, value_name = "DIR")]
    pub site: Option<PathBuf>,
    /// Keep only the newest N versions of each document in the snapshot (default: all).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub history: Option<u32>,
}

pub fn run(args: BuildArgs) -> ExitCode {
    match build(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("promptshelf build: {e}");
            ExitCode::FAILURE
        }
    }
}

fn build(args: &BuildArgs) -> Result<ExitCode, String> {
    let work = tempfile::tempdir().map_err(|e| format!("cannot create a work folder: {e}"))?;
    let sync_args = SyncArgs {
        dir: args.dir.clone(),
        db: Some(work.path().join("build.db")),
        config: args.config.clone(),
        log_format: None,
        no_progress: false,
        max_file_bytes: args.max_file_bytes,
    };
    let cfg = Config::for_sync(&sync_args).map_err(|e| e.to_string())?;
    // Errors only: broken files are listed below, once, with the summary.
    if std::env::var_os("PROMPTSHELF_LOG").is_none() && std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("PROMPTSHELF_LOG", "error");
    }
    crate::logging::init(cfg.log_format);
    crate::sync::run_once(&cfg).map_err(|e| e.to_string())?;

    let mut store = Database::open(&cfg.db).map_err(|e| e.to_string())?;
    if let Some(n) = args.history {
        store
            .write(|w| w.keep_last_versions(n))
            .map_err(|e| e.to_string())?;
    }
    let errors = read::sync_errors(store.conn()).map_err(|e| e.to_string())?;
    for e in &errors {
        eprintln!(
            "{}:{}:{}: {}",
            e.path,
            e.line.unwrap_or(0),
            e.column.unwrap_or(0),
            e.message
        );
    }
    if !errors.is_empty() && !args.allow_errors {
        eprintln!(
            "promptshelf build: {} file(s) failed to parse; no snapshot written \
             (fix them, or pass --allow-errors to ship without them)",
            errors.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let info = snapshot::write_snapshot(store.conn(), &args.out)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    if let Some(sql_path) = &args.d1_sql {
        let snap = Database::open_read_only(&args.out).map_err(|e| e.to_string())?;
        let sql = promptshelf_store::d1::d1_sql(snap.conn())
            .map_err(|e| format!("cannot write D1 SQL: {e}"))?;
        std::fs::write(sql_path, sql)
            .map_err(|e| format!("cannot write {}: {e}", sql_path.display()))?;
        eprintln!("promptshelf build: D1 SQL -> {}", sql_path.display());
    }
    if let Some(site) = &args.site {
        write_site(&store, site)?;
        write_docset(&args.out, site)?;
    }
    let types_path = args.out.with_extension("d.ts");
    let types = crate::cmd::types::library_declarations(&args.dir, true)?;
    std::fs::write(&types_path, types)
        .map_err(|e| format!("cannot write {}: {e}", types_path.display()))?;
    eprintln!("promptshelf build: types -> {}", types_path.display());
    eprintln!(
        "promptshelf build: {} documents ({} personas, {} prompt templates), {} sync errors, \
         snapshot {} ({} bytes) -> {}",
        info.documents,
        info.personas,
        info.prompt_templates,
        info.sync_errors,
        info.id,
        info.bytes,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the chunk set and prints its sizes per kind and its file count.
fn write_site(store: &Database, site: &std::path::Path) -> Result<(), String> {
    use promptshelf_store::site;
    let started = std::time::Instant::now();
    let set = site::chunk_set(store.conn(), Default::default())
        .map_err(|e| format!("cannot build the chunked index: {e}"))?
        .ok_or("the library has no search index to chunk")?;
    let info = site::write_site(&set, site)
        .map_err(|e| format!("cannot write {}: {e}", site.display()))?;
    for (kind, files, bytes) in &info.sizes {
        eprintln!("promptshelf build: index {kind:<9} {files:>6} files {bytes:>12} bytes");
    }
    eprintln!(
        "promptshelf build: chunked index: {} files ({} written, the rest unchanged) in {:.2} s -> {}",
        info.files,
        info.written,
        started.elapsed().as_secs_f64(),
        info.manifest.display()
    );
    Ok(())
}

/// Writes the document set (the edge's per-request documents and list filters,
/// `docs/edge.md`) of the snapshot just written, so its generation is the snapshot's.
fn write_docset(snapshot: &std::path::Path, site: &std::path::Path) -> Result<(), String> {
    use promptshelf_store::{docset, site as s};
    let snap = Database::open_read_only(snapshot).map_err(|e| e.to_string())?;
    let set =
        docset::doc_set(snap.conn()).map_err(|e| format!("cannot build the document set: {e}"))?;
    let (files, written, bytes) =
        s::write_docset(&set, site).map_err(|e| format!("cannot write {}: {e}", site.display()))?;
    eprintln!(
        "promptshelf build: document set: {files} files ({written} written), {bytes} bytes -> {}",
        site.join("v1").join(docset::DOCS_MANIFEST).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn library(dir: &Path, bad: bool) {
        std::fs::create_dir_all(dir.join("personas")).unwrap();
        std::fs::write(
            dir.join("personas/helper.json"),
            r#"{"id": "helper", "name": "Helper", "description": "Helps", "tags": ["support"]}"#,
        )
        .unwrap();
        if bad {
            std::fs::write(
                dir.join("personas/broken.json"),
                "{\n  \"id\": \"x\",\n  oops\n}",
            )
            .unwrap();
        }
    }

    fn args(dir: &Path, out: &Path, allow_errors: bool) -> BuildArgs {
        BuildArgs {
            dir: dir.to_owned(),
            out: out.to_owned(),
            allow_errors,
            config: None,
            max_file_bytes: None,
            d1_sql: None,
            site: None,
            history: None,
        }
    }

    fn snapshot_id(db: &Path) -> String {
        let store = Database::open_read_only(db).unwrap();
        read::content_generation(store.conn()).unwrap()
    }

    #[test]
    fn refuses_broken_files_unless_allowed() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("lib");
        library(&lib, true);
        let out = tmp.path().join("out/snap.db");
        assert_eq!(build(&args(&lib, &out, false)).unwrap(), ExitCode::FAILURE);
        assert!(
            !out.exists(),
            "nothing is written when the build is refused"
        );

        assert_eq!(build(&args(&lib, &out, true)).unwrap(), ExitCode::SUCCESS);
        let store = Database::open_read_only(&out).unwrap();
        assert_eq!(read::count_documents(store.conn(), None).unwrap(), 1);
        assert_eq!(read::count_sync_errors(store.conn()).unwrap(), 1);
        assert!(read::all_files(store.conn()).unwrap().is_empty());
        assert_eq!(
            read::meta(store.conn(), read::META_LIBRARY_ROOT).unwrap(),
            None
        );
    }

    #[test]
    fn writes_the_chunk_set_beside_the_snapshot() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("lib");
        library(&lib, false);
        let out = tmp.path().join("snap.db");
        let site = tmp.path().join("site");
        let mut a = args(&lib, &out, false);
        a.site = Some(site.clone());
        assert_eq!(build(&a).unwrap(), ExitCode::SUCCESS);
        let manifest = std::fs::read(site.join("v1/index/manifest.json")).unwrap();
        let ci = promptshelf_core::search::chunked::ChunkedIndex::from_manifest(&manifest).unwrap();
        assert_eq!(ci.manifest().docs, 1);
        for name in ci.global_files() {
            assert!(site.join("v1/index").join(name).is_file());
        }
    }

    #[test]
    fn unchanged_library_keeps_its_id_and_a_change_gets_a_new_one() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("lib");
        library(&lib, false);
        let out = tmp.path().join("snap.db");
        assert_eq!(build(&args(&lib, &out, false)).unwrap(), ExitCode::SUCCESS);
        let first = snapshot_id(&out);
        assert_eq!(build(&args(&lib, &out, false)).unwrap(), ExitCode::SUCCESS);
        assert_eq!(snapshot_id(&out), first);

        // Same mtime, different content (a counter-based generation would say "1" both times).
        let p = lib.join("personas/helper.json");
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::fs::write(
            &p,
            r#"{"id": "helper", "name": "Helper", "description": "Helps!", "tags": ["support"]}"#,
        )
        .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_eq!(build(&args(&lib, &out, false)).unwrap(), ExitCode::SUCCESS);
        assert_ne!(snapshot_id(&out), first);
    }

    #[test]
    fn writes_the_prompts_types_beside_the_snapshot() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("lib");
        library(&lib, false);
        std::fs::create_dir_all(lib.join("prompts")).unwrap();
        std::fs::write(
            lib.join("prompts/ask.prompty"),
            "---\nname: Ask\ninputs:\n  - name: q\n    kind: string\n    required: true\n---\nuser:\n{{q}}\n",
        )
        .unwrap();
        let out = tmp.path().join("dist/library.db");
        assert_eq!(build(&args(&lib, &out, false)).unwrap(), ExitCode::SUCCESS);
        let dts = std::fs::read_to_string(tmp.path().join("dist/library.d.ts")).unwrap();
        assert!(
            dts.contains("\"prompts/ask\": {\n    inputs: {\n      q: string;"),
            "{dts}"
        );
        assert!(dts.contains("interface PromptRegistry extends Prompts {}"));
    }

    #[test]
    fn a_missing_library_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("snap.db");
        assert!(build(&args(&tmp.path().join("nope"), &out, false)).is_err());
        assert!(!out.exists());
    }
}
