//! `promptshelf check DIR [--format json]`: parse a whole library and report every bad
//! file, for pre-commit hooks and CI. Exit 0 when clean, 1 when any file has an error,
//! 2 when DIR cannot be used.
//!
//! Text output: one `path:line:column: message` line per error (`path: message` when the
//! error has no position), paths as DIR/relative so editors and CI annotators can open
//! them, then a summary line. JSON output: one object
//! `{"documents": [{"id","type","name","path"}], "errors": [{"path","line","column","message"}]}`
//! with library-relative paths, sorted by path, plus `"warnings"` in the same shape as
//! `errors`: template variables a prompt does not declare in its `inputs` (at their first
//! use in the file). Warnings print as `path:line:column: warning: ...` and never change
//! the exit code. With `[labels]` in `promptshelf.toml` (issue #15), a label whose git
//! ref is missing or not in HEAD's history is an error too (exit 1): printed as
//! `promptshelf.toml: label ...`, and in JSON as `"label_errors": [{"label","message"}]`.

use crate::scan::{read_limited, scan};
use promptshelf_core::library::{resolve_duplicates, too_large};
use promptshelf_core::{parse_document, DocType, Document, ParseError, ParseOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The library folder (holding `personas/` and `prompts/`).
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Files larger than this many bytes are errors.
    #[arg(long, default_value_t = ParseOptions::default().max_bytes)]
    pub max_bytes: usize,
    /// A promptshelf.toml whose `[schemas]` to check against [default:
    /// DIR/promptshelf.toml if present].
    #[arg(long, env = "PROMPTSHELF_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The outcome of checking a library: good documents and errors, both sorted by path.
pub struct Report {
    pub documents: Vec<Document>,
    pub errors: Vec<ParseError>,
}

/// Parses every document under `root`. `Err` only when `root` itself is unusable.
pub fn check_library(root: &Path, opts: &ParseOptions) -> Result<Report, crate::scan::ScanError> {
    let found = scan(root)?;
    let mut docs = Vec::new();
    let mut errors: Vec<ParseError> = found
        .problems
        .into_iter()
        .map(|p| ParseError::file(&p.rel, p.message))
        .collect();
    for file in &found.files {
        // Judged by its size before it is read, like the sync does (so both report the
        // file's real size).
        if let Ok(m) = std::fs::metadata(&file.abs) {
            if m.len() > opts.max_bytes as u64 {
                errors.push(too_large(&file.rel, m.len(), opts.max_bytes));
                continue;
            }
        }
        match read_limited(&file.abs, opts.max_bytes) {
            Err(e) => errors.push(ParseError::file(&file.rel, format!("cannot read: {e}"))),
            Ok(bytes) => match parse_document(&file.rel, &bytes, opts) {
                Ok(doc) => docs.push(doc),
                Err(e) => errors.push(e),
            },
        }
    }
    let (documents, dups) = resolve_duplicates(docs);
    errors.extend(dups);
    errors.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    Ok(Report { documents, errors })
}

fn display_path(dir: &Path, rel: &str) -> String {
    if dir == Path::new(".") {
        rel.to_owned()
    } else {
        let d = dir.to_string_lossy();
        format!("{}/{rel}", d.trim_end_matches(['/', '\\']))
    }
}

/// Undeclared template variables of every prompt, as positioned warnings (see
/// `promptshelf_core::schema::undeclared_template_variables`).
pub fn template_warnings(documents: &[Document]) -> Vec<ParseError> {
    let mut out = Vec::new();
    for d in documents
        .iter()
        .filter(|d| d.doc_type == DocType::PromptTemplate)
    {
        for u in promptshelf_core::schema::undeclared_template_variables(d) {
            out.push(ParseError {
                path: d.path.clone(),
                line: Some(u.line),
                column: Some(u.column),
                message: format!(
                    "template variable `{}` is not declared in `inputs` (a typo, or add it to inputs)",
                    u.name
                ),
            });
        }
    }
    out
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub fn run(args: CheckArgs) -> ExitCode {
    // An unusable DIR is check_library's to report.
    let mut labels = std::collections::BTreeMap::new();
    let schemas = std::fs::canonicalize(&args.dir).map_or(Ok(Default::default()), |root| {
        let (file, fc) =
            crate::config::load_file(args.config.as_deref(), &root).map_err(|e| e.to_string())?;
        labels = crate::history::configured_labels(&fc.rest).0;
        let dir = file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or(root);
        crate::config::schemas_of(file.as_deref(), &fc, &dir)
            .map(|(s, _)| s)
            .map_err(|e| e.to_string())
    });
    let schemas = match schemas {
        Ok(s) => s,
        Err(e) => {
            eprintln!("promptshelf check: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = ParseOptions {
        max_bytes: args.max_bytes,
        schemas,
    };
    let report = match check_library(&args.dir, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("promptshelf check: {e}");
            return ExitCode::from(2);
        }
    };
    let warnings = template_warnings(&report.documents);
    // `[labels]` whose ref names no version (issue #15): errors, never a silent HEAD.
    let label_errors = crate::history::label_problems(&args.dir, &labels);
    match args.format {
        Format::Json => {
            let mut out = json!({
                "documents": report.documents.iter().map(|d| json!({
                    "id": d.id, "type": d.doc_type, "name": d.name, "path": d.path,
                })).collect::<Vec<_>>(),
                "errors": report.errors.iter().map(|e| json!({
                    "path": e.path, "line": e.line, "column": e.column, "message": e.message,
                })).collect::<Vec<_>>(),
                "warnings": warnings.iter().map(|e| json!({
                    "path": e.path, "line": e.line, "column": e.column, "message": e.message,
                })).collect::<Vec<_>>(),
            });
            if !labels.is_empty() {
                out["label_errors"] = label_errors
                    .iter()
                    .map(|(label, message)| json!({"label": label, "message": message}))
                    .collect();
            }
            println!("{out}");
        }
        Format::Text => {
            for e in &report.errors {
                let path = display_path(&args.dir, &e.path);
                match (e.line, e.column) {
                    (Some(l), Some(c)) => println!("{path}:{l}:{c}: {}", e.message),
                    (Some(l), None) => println!("{path}:{l}: {}", e.message),
                    _ => println!("{path}: {}", e.message),
                }
            }
            for (_, message) in &label_errors {
                println!("promptshelf.toml: {message}");
            }
            for w in &warnings {
                let path = display_path(&args.dir, &w.path);
                match (w.line, w.column) {
                    (Some(l), Some(c)) => println!("{path}:{l}:{c}: warning: {}", w.message),
                    _ => println!("{path}: warning: {}", w.message),
                }
            }
            let count = |t| report.documents.iter().filter(|d| d.doc_type == t).count();
            let files_with_errors = {
                let mut paths: Vec<_> = report.errors.iter().map(|e| &e.path).collect();
                paths.dedup();
                paths.len()
            };
            let docs = format!(
                "{} ({}, {})",
                plural(report.documents.len(), "document"),
                plural(count(DocType::Persona), "persona"),
                plural(count(DocType::PromptTemplate), "prompt template"),
            );
            if !label_errors.is_empty() {
                println!("{}", plural(label_errors.len(), "broken label"));
            }
            if report.errors.is_empty() {
                println!("{docs}, no errors");
            } else {
                println!(
                    "{docs}, {} in {}",
                    plural(report.errors.len(), "error"),
                    plural(files_with_errors, "file"),
                );
            }
        }
    }
    if report.errors.is_empty() && label_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
