//! `promptshelf types DIR [--out prompts.d.ts]`: TypeScript declarations of every
//! prompt's inputs and outputs (see `promptshelf_core::schema::typescript`), so an app's
//! `renderById(shelf, "prompts/support/reply", inputs)` and read-API client `render` calls
//! are checked at compile time. Without `--out` the declarations go to stdout.
//! Exit 0 when written (broken files are left out and listed on stderr), 2 when DIR or
//! the output cannot be used.

use crate::cmd::check::check_library;
use promptshelf_core::schema::typescript::{declarations, PromptTypes};
use promptshelf_core::{DocType, Document, ParseOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct TypesArgs {
    /// The library folder (holding `prompts/`).
    pub dir: PathBuf,
    /// Where to write the `.d.ts` (replaced); stdout when absent.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The declarations of `documents`' prompts, by id.
pub fn declarations_of(documents: &[Document]) -> String {
    let mut prompts: Vec<(&Document, std::borrow::Cow<'_, serde_json::Value>)> = documents
        .iter()
        .filter(|d| d.doc_type == DocType::PromptTemplate)
        .map(|d| (d, promptshelf_core::schema::of_document(d)))
        .collect();
    prompts.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let list: Vec<PromptTypes<'_>> = prompts
        .iter()
        .map(|(d, s)| PromptTypes {
            id: d.id.as_str(),
            name: &d.name,
            schemas: s,
        })
        .collect();
    declarations(&list)
}

/// Parses the library at `dir` and returns its declarations (broken files are left out;
/// listed on stderr unless `quiet`).
pub fn library_declarations(dir: &Path, quiet: bool) -> Result<String, String> {
    let report = check_library(dir, &ParseOptions::default()).map_err(|e| e.to_string())?;
    for e in report.errors.iter().filter(|_| !quiet) {
        eprintln!("promptshelf types: skipped: {e}");
    }
    Ok(declarations_of(&report.documents))
}

pub fn run(args: TypesArgs) -> ExitCode {
    let text = match library_declarations(&args.dir, false) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("promptshelf types: {e}");
            return ExitCode::from(2);
        }
    };
    match &args.out {
        None => print!("{text}"),
        Some(out) => {
            if let Err(e) = std::fs::write(out, &text) {
                eprintln!("promptshelf types: cannot write {}: {e}", out.display());
                return ExitCode::from(2);
            }
            eprintln!("promptshelf types: {}", out.display());
        }
    }
    ExitCode::SUCCESS
}
