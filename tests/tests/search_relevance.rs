//! Relevance over the real corpus (`<repo>/../shared/corpus`): for each query, the
//! document a person would expect is among the top 3. Expectations name a fragment of
//! the expected document's path. Misspellings and unfinished words are included,
//! because that is how people type into a search box.
//!
//! `PROMPTSHELF_RELEVANCE_DUMP=1 cargo test -p promptshelf-tests --test search_relevance -- --nocapture`
//! prints the top 5 of every query (for tuning). Skips, loudly, without the corpus.

use promptshelf_core::library::resolve_duplicates;
use promptshelf_core::search::{Index, SearchOptions};
use promptshelf_core::{parse_document, Document, ParseOptions};
use std::path::{Path, PathBuf};

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read corpus dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            walk(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The corpus as one library: personas under `personas/`, prompts under `prompts/<origin>/`.
fn library(root: &Path) -> Vec<Document> {
    let mut docs = Vec::new();
    for (dir, ext, prefix) in [
        (root.join("personas-awesome/personas"), "json", "personas"),
        (root.join("prompty"), "prompty", "prompts"),
    ] {
        let mut files = Vec::new();
        walk(&dir, ext, &mut files);
        files.sort();
        for f in files {
            let rel = f
                .strip_prefix(&dir)
                .expect("under dir")
                .to_string_lossy()
                .replace('\\', "/");
            let path = format!("{prefix}/{rel}");
            let bytes = std::fs::read(&f).expect("read file");
            if let Ok(d) = parse_document(&path, &bytes, &ParseOptions::default()) {
                docs.push(d);
            }
        }
    }
    resolve_duplicates(docs).0
}

/// (query, fragment of the expected document's path)
const CASES: &[(&str, &str)] = &[
    // Plain words and names.
    ("pet behaviorist", "pet-behaviorist"),
    ("linux terminal", "linux-terminal"),
    ("travel guide", "travel-guide"),
    ("javascript console", "javascript-console"),
    ("nutritionist", "nutritionist"),
    ("ethereum developer", "ethereum-developer"),
    ("song recommender", "song-recommender"),
    ("python interpreter", "python-interpreter"),
    ("code review specialist", "code-review-specialist"),
    ("academic advisor", "academic-advisor"),
    ("ghibli anime character", "ghibli-style-anime-character"),
    ("stand-up comedian", "stand-up-comedian"),
    ("excel sheet", "excel-sheet"),
    ("contoso customer", "contoso-chat__customer_prompt"),
    ("groundedness", "groundedness"),
    ("structured output", "structured"),
    ("weather structured", "structured-output"),
    // Misspellings.
    ("pet behavorist", "pet-behaviorist"),
    ("nutritionst", "nutritionist"),
    ("etherium developer", "ethereum-developer"),
    ("javscript console", "javascript-console"),
    ("travle guide", "travel-guide"),
    ("comedain", "comedian"),
    ("groundednes", "groundedness"),
    // Unfinished last word (search-as-you-type).
    ("pet behav", "pet-behaviorist"),
    ("linux term", "linux-terminal"),
    ("nutrition", "nutritionist"),
    ("ethereum dev", "ethereum-developer"),
    ("python interp", "python-interpreter"),
    ("song recomm", "song-recommender"),
    // Phrases, filters, negation.
    ("\"act as a linux terminal\"", "linux-terminal"),
    ("type:prompt groundedness", "groundedness"),
    ("type:persona travel guide", "travel-guide"),
    ("model.api:chat basic", "basic"),
    ("terminal -javascript linux", "linux-terminal"),
];

#[test]
fn expected_documents_rank_in_top_3() {
    let Some(root) = promptshelf_tests::corpus() else {
        return;
    };
    let docs = library(&root);
    assert!(
        docs.len() > 1500,
        "corpus parsed to only {} documents",
        docs.len()
    );
    let index = Index::build(&docs);
    let dump = std::env::var_os("PROMPTSHELF_RELEVANCE_DUMP").is_some();
    let opts = SearchOptions {
        limit: if dump { 5 } else { 3 },
        snippets: false,
        ..SearchOptions::default()
    };
    let mut failures = Vec::new();
    for (query, expected) in CASES {
        let r = index.search(query, &opts).expect("query parses");
        let top: Vec<&str> = r.hits.iter().map(|h| h.path.as_str()).collect();
        if dump {
            println!("{query:?} (total {})", r.total);
            for h in &r.hits {
                println!("    {:>9.3}  {}  [{}]", h.score, h.path, h.name);
            }
        }
        if !top.iter().take(3).any(|p| p.contains(expected)) {
            failures.push(format!(
                "{query:?}: expected *{expected}* in top 3, got {top:?}"
            ));
        }
    }
    assert!(CASES.len() >= 30);
    assert!(
        failures.is_empty(),
        "{} of {} relevance cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
