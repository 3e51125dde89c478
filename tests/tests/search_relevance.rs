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

/// The chunked index (`promptshelf build --site`) answers every relevance query, and a
/// word list drawn from the corpus itself, exactly like the whole index: same hits,
/// order, scores, snippets, totals and facets — fetching files as a browser would.
#[test]
fn chunked_index_equals_whole_on_the_corpus() {
    use promptshelf_core::search::chunked::{ChunkOptions, ChunkedIndex, Step};
    use std::collections::HashMap;
    let Some(root) = promptshelf_tests::corpus() else {
        return;
    };
    let docs = library(&root);
    let index = Index::build(&docs);
    let set = index.to_chunks(ChunkOptions::default());
    let all: HashMap<&str, &Vec<u8>> = set.files.iter().map(|(n, b)| (n.as_str(), b)).collect();
    let ci = ChunkedIndex::from_manifest(&set.manifest_bytes()).expect("manifest");
    let mut cache: HashMap<String, Vec<u8>> = HashMap::new();
    // Words of some document names, as typed (prefix), and cut short.
    let mut queries: Vec<String> = CASES.iter().map(|c| c.0.to_owned()).collect();
    for d in docs.iter().step_by(37) {
        let name = d.name.to_lowercase();
        queries.push(name.clone());
        if let Some(w) = name.split_whitespace().next() {
            queries.push(w.chars().take(4).collect());
            queries.push(format!("tag:{w} OR {w}"));
        }
    }
    assert!(queries.len() > 100);
    for q in &queries {
        let opts = SearchOptions::default();
        let Ok(want) = index.search(q, &opts) else {
            // A name with query syntax in it: the chunked index must refuse it too.
            assert!(ci.search(q, &opts, &cache).is_err(), "{q:?}");
            continue;
        };
        let got = loop {
            match ci.search(q, &opts, &cache).expect("chunked search") {
                Step::Done(r) => break r,
                Step::Need(names) => {
                    for n in names {
                        let b = all.get(n.as_str()).expect("file in set");
                        cache.insert(n, (*b).clone());
                    }
                }
            }
        };
        assert_eq!(got, want, "{q:?}");
    }
}
