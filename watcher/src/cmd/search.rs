//! `promptshelf search LIBRARY_DIR_OR_DB "query" [--limit N] [--offset N] [--format json]`:
//! the core search engine from the command line, over a library folder (parsed on the
//! spot, like `check`) or a promptshelf SQLite file (its stored index; rebuilt from
//! its documents when the stored one is missing or from another format version).
//!
//! Text output: ranked hits with type, path, score and a snippet (matches bold on a
//! terminal, `[bracketed]` otherwise). JSON output: the engine's `SearchResults`
//! (`{"total","offset","limit","hits":[{"id","type","name","path","score","matched","snippet"}],"facets"}`).
//! Exit 0 on success (also with no hits); 2 for a bad query — the message and its
//! position, with a caret under it — or a source that cannot be used.

use crate::cmd::check::check_library;
use promptshelf_core::search::{
    query, Index, QueryError, SearchOptions, SearchResults, PREFIX_LAST,
};
use promptshelf_core::{Document, ParseOptions};
use serde_json::json;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// A library folder (holding `personas/` and `prompts/`) or a promptshelf SQLite file.
    pub source: PathBuf,
    /// The query, e.g. `type:persona "customer support" -draft` (see docs/query-language.md).
    pub query: String,
    /// Hits to show.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Hits to skip (pagination).
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Match the last word as a whole word only. By default it also matches as a
    /// prefix, as in `/v1/search` and the npm package (`prefix: false` there).
    #[arg(long)]
    pub no_prefix: bool,
}

pub fn run(args: SearchArgs) -> ExitCode {
    // The core's defaults, as the read API and the npm package use them, so the same
    // query gives the same hits on every host (`search::PREFIX_LAST`).
    let opts = SearchOptions {
        limit: args.limit,
        offset: args.offset,
        prefix_last: PREFIX_LAST && !args.no_prefix,
        ..SearchOptions::default()
    };
    // Syntax first: a bad query fails fast, before any loading.
    let parse = query::ParseOptions {
        prefix_last: opts.prefix_last,
    };
    if let Err(e) = query::parse(&args.query, parse) {
        return bad_query(&args, &e);
    }
    let index = match load(&args.source) {
        Ok(ix) => ix,
        Err(msg) => {
            eprintln!("promptshelf search: {msg}");
            return ExitCode::from(2);
        }
    };
    match index.search(&args.query, &opts) {
        Ok(r) => {
            match args.format {
                Format::Json => println!("{}", serde_json::to_string(&r).unwrap_or_default()),
                Format::Text => print_text(&args.query, &r),
            }
            ExitCode::SUCCESS
        }
        Err(e) => bad_query(&args, &e),
    }
}

fn bad_query(args: &SearchArgs, e: &QueryError) -> ExitCode {
    match args.format {
        Format::Json => println!(
            "{}",
            json!({"error": {"code": "bad_query", "message": e.message, "position": e.position}})
        ),
        Format::Text => {
            eprintln!(
                "promptshelf search: bad query: {} (at position {})",
                e.message, e.position
            );
            eprintln!("  {}", args.query);
            eprintln!("  {}^", " ".repeat(e.position));
        }
    }
    ExitCode::from(2)
}

/// The index of a folder (built now) or of a database (stored, else rebuilt).
fn load(source: &Path) -> Result<Index, String> {
    let meta = std::fs::metadata(source).map_err(|e| format!("{}: {e}", source.display()))?;
    if meta.is_dir() {
        let report = check_library(source, &ParseOptions::default()).map_err(|e| e.to_string())?;
        if !report.errors.is_empty() {
            eprintln!(
                "promptshelf search: {} file(s) skipped with errors (see `promptshelf check {}`)",
                report.errors.len(),
                source.display()
            );
        }
        return Ok(Index::build(&report.documents));
    }
    let store = promptshelf_store::Database::open_read_only(source)
        .map_err(|e| format!("{}: not a promptshelf database: {e}", source.display()))?;
    let conn = store.conn();
    if let Ok(Some((_, bytes))) = promptshelf_store::read::search_index(conn) {
        match Index::from_bytes(&bytes) {
            Ok(ix) => return Ok(ix),
            Err(e) => eprintln!(
                "promptshelf search: stored index unusable ({e}); rebuilding from the documents"
            ),
        }
    }
    let stored = promptshelf_store::read::all_documents(conn).map_err(|e| e.to_string())?;
    let docs: Vec<Document> = stored
        .iter()
        .filter_map(|d| serde_json::from_str(&d.json).ok())
        .collect();
    Ok(Index::build(&docs))
}

fn print_text(query: &str, r: &SearchResults) {
    let tty = std::io::stdout().is_terminal();
    if r.hits.is_empty() {
        println!("No results for {query:?} ({} matching).", r.total);
        return;
    }
    println!(
        "{}–{} of {} result{} for {query:?}",
        r.offset + 1,
        r.offset + r.hits.len(),
        r.total,
        if r.total == 1 { "" } else { "s" }
    );
    for (i, h) in r.hits.iter().enumerate() {
        println!();
        println!(
            "{:>3}. {}  ({}, score {:.3})",
            r.offset + i + 1,
            h.name,
            h.doc_type,
            h.score
        );
        println!("     {}", h.path);
        if let Some(s) = &h.snippet {
            let mut line = String::new();
            let mut at = 0;
            for [a, b] in &s.highlights {
                line.push_str(&s.text[at..*a]);
                if tty {
                    line.push_str(&format!("\x1b[1m{}\x1b[0m", &s.text[*a..*b]));
                } else {
                    line.push_str(&format!("[{}]", &s.text[*a..*b]));
                }
                at = *b;
            }
            line.push_str(&s.text[at..]);
            println!("     {}", line.replace('\n', " "));
        }
    }
    if !r.facets.doc_type.is_empty() {
        let f: Vec<String> = r
            .facets
            .doc_type
            .iter()
            .map(|c| format!("{} {}", c.value, c.count))
            .collect();
        println!("\ntypes: {}", f.join(", "));
    }
    if !r.facets.tags.is_empty() {
        let f: Vec<String> = r
            .facets
            .tags
            .iter()
            .take(10)
            .map(|c| format!("{} {}", c.value, c.count))
            .collect();
        println!("tags: {}", f.join(", "));
    }
}
