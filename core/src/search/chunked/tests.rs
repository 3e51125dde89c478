//! The chunked index answers exactly like the whole index it was cut from, fetching
//! only the files it names.

use super::*;
use crate::model::{DocType, Document, DocumentId};
use crate::search::proptests::{doc_strategy, op_strategy, query_strategy, Op, CHECK_QUERIES};
use crate::search::tests::{doc, library};
use crate::search::{SearchOptions, SearchResults};
use proptest::prelude::*;
use std::collections::HashMap;

/// Runs a query the way a host does: fetch what is asked for, ask again. Returns the
/// results and the files fetched.
fn run(
    set: &ChunkSet,
    cache: &mut HashMap<String, Vec<u8>>,
    q: &str,
    opts: &SearchOptions,
) -> (Result<SearchResults, ChunkError>, Vec<String>) {
    let ci = ChunkedIndex::from_manifest(&set.manifest_bytes()).unwrap();
    let all: HashMap<&str, &Vec<u8>> = set.files.iter().map(|(n, b)| (n.as_str(), b)).collect();
    let mut fetched = Vec::new();
    for _ in 0..5 {
        match ci.search(q, opts, cache) {
            Err(e) => return (Err(e), fetched),
            Ok(exec::Step::Done(r)) => return (Ok(r), fetched),
            Ok(exec::Step::Need(names)) => {
                assert!(!names.is_empty());
                for n in names {
                    assert!(!cache.contains_key(&n), "asked twice for {n}");
                    let b = all.get(n.as_str()).unwrap_or_else(|| panic!("no file {n}"));
                    cache.insert(n.clone(), (*b).clone());
                    fetched.push(n);
                }
            }
        }
    }
    panic!("more than 4 rounds for {q:?}");
}

fn small() -> ChunkOptions {
    ChunkOptions {
        target_bytes: 64,
        pack_every: 3,
    }
}

fn same(ix: &Index, set: &ChunkSet, q: &str, opts: &SearchOptions) -> Result<(), TestCaseError> {
    let mut cache = HashMap::new();
    let whole = ix.search(q, opts);
    let (chunked, _) = run(set, &mut cache, q, opts);
    match (whole, chunked) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{:?}", q),
        (Err(a), Err(ChunkError::Query(b))) => prop_assert_eq!(a, b),
        (a, b) => prop_assert!(false, "{:?}: {:?} vs {:?}", q, a, b),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// Random libraries (built incrementally, so slots have gaps and are not in id
    /// order), random queries and pages, tiny chunks (every list split): same hits,
    /// order, scores, snippets, totals and facets.
    #[test]
    fn chunked_equals_whole(
        ops in prop::collection::vec(op_strategy(), 1..30),
        queries in prop::collection::vec(query_strategy(), 1..6),
        offset in 0usize..4,
        limit in 0usize..8,
        tiny in any::<bool>(),
    ) {
        let mut ix = Index::new();
        for op in ops {
            match op {
                Op::Add(d) => ix.add(&d),
                Op::Remove(i) => {
                    ix.remove(&DocumentId(format!("doc-{i}")));
                }
            }
        }
        let set = ix.to_chunks(if tiny { small() } else { ChunkOptions::default() });
        let opts = SearchOptions { offset, limit, ..Default::default() };
        for q in queries.iter().map(String::as_str).chain(CHECK_QUERIES.iter().copied()) {
            same(&ix, &set, q, &opts)?;
        }
    }

    #[test]
    fn chunked_equals_whole_built(docs in prop::collection::vec(doc_strategy(), 0..20), q in query_strategy()) {
        let ix = Index::build(&docs);
        same(&ix, &ix.to_chunks(small()), &q, &SearchOptions::default())?;
    }
}

#[test]
fn library_queries_equal_whole() {
    let ix = Index::build(&library());
    for opts in [ChunkOptions::default(), small()] {
        let set = ix.to_chunks(opts);
        for q in CHECK_QUERIES.iter().chain(&[
            "id:sql*",
            "path:personas",
            "description:\"helps customers\"",
            "-type:persona",
            "cofee",
            "\"bullet points\"",
        ]) {
            let o = SearchOptions::default();
            let mut cache = HashMap::new();
            let (r, _) = run(&set, &mut cache, q, &o);
            assert_eq!(r.unwrap(), ix.search(q, &o).unwrap(), "{q}");
        }
    }
}

/// A word query fetches its own posting chunk(s) and the hits' packs, not every chunk
/// (quoted, so no typo expansion reaches the neighbouring `wordN` terms).
#[test]
fn a_query_fetches_only_what_it_needs() {
    let docs: Vec<Document> = (0..300)
        .map(|i| {
            doc(
                &format!("doc-{i:03}"),
                DocType::Persona,
                &format!("Name {i}"),
                "",
                &[],
                &format!("word{i} common text{} filler", i % 7),
            )
        })
        .collect();
    let ix = Index::build(&docs);
    let set = ix.to_chunks(ChunkOptions {
        target_bytes: 512,
        pack_every: 8,
    });
    let mut cache = HashMap::new();
    let o = SearchOptions::default();
    let (r, fetched) = run(&set, &mut cache, "\"word123\"", &o);
    assert_eq!(r.unwrap(), ix.search("\"word123\"", &o).unwrap());
    let postings = fetched
        .iter()
        .filter(|n| n.starts_with("postings/"))
        .count();
    let packs = fetched.iter().filter(|n| n.starts_with("packs/")).count();
    assert!(set.manifest.postings.len() > 10 && set.manifest.packs.len() > 10);
    assert!((1..=2).contains(&postings), "{fetched:?}");
    assert_eq!(packs, 1, "{fetched:?}");
    // Warm: a second query needs only its own postings and packs.
    let (r, fetched) = run(&set, &mut cache, "word7 common", &o);
    assert_eq!(r.unwrap(), ix.search("word7 common", &o).unwrap());
    assert!(
        fetched
            .iter()
            .all(|n| n.starts_with("postings/") || n.starts_with("packs/")),
        "{fetched:?}"
    );
    // Every file is bounded: at most the target plus one entry.
    for (n, b) in &set.files {
        assert!(b.len() < 512 + 200, "{n}: {}", b.len());
    }
}

/// Editing one document changes only the files that hold it: its pack keeps the name
/// of every other pack.
#[test]
fn an_edit_keeps_other_packs() {
    let mut docs: Vec<Document> = (0..200)
        .map(|i| {
            doc(
                &format!("d{i:03}"),
                DocType::Persona,
                &format!("N{i}"),
                "",
                &[],
                "body text",
            )
        })
        .collect();
    let a = Index::build(&docs).to_chunks(ChunkOptions::default());
    docs[100].name = "Renamed".into();
    let b = Index::build(&docs).to_chunks(ChunkOptions::default());
    let pa: Vec<&String> = a.manifest.packs.iter().map(|p| &p.2).collect();
    let pb: Vec<&String> = b.manifest.packs.iter().map(|p| &p.2).collect();
    assert_eq!(pa.len(), pb.len());
    assert!(pa.len() > 3);
    assert_eq!(pa.iter().zip(&pb).filter(|(x, y)| x != y).count(), 1);
}

#[test]
fn corrupt_chunks_are_errors_not_panics() {
    let ix = Index::build(&library());
    let set = ix.to_chunks(small());
    let ci = ChunkedIndex::from_manifest(&set.manifest_bytes()).unwrap();
    let mut cache: HashMap<String, Vec<u8>> = set.files.iter().cloned().collect();
    // A file whose bytes do not match its name.
    let victim = set.manifest.lexicon[0].1.clone();
    cache.get_mut(&victim).unwrap().push(1);
    assert_eq!(
        ci.search("customer", &SearchOptions::default(), &cache),
        Err(ChunkError::Corrupt(victim))
    );
    assert!(matches!(
        ChunkedIndex::from_manifest(b"{}"),
        Err(ChunkError::Manifest(_))
    ));
    let mut m = set.manifest.clone();
    m.format = 99;
    assert_eq!(
        ChunkedIndex::from_manifest(&serde_json::to_vec(&m).unwrap()).unwrap_err(),
        ChunkError::Version(99)
    );
}

#[test]
fn get_returns_a_fragment() {
    let ix = Index::build(&library());
    let set = ix.to_chunks(small());
    let ci = ChunkedIndex::from_manifest(&set.manifest_bytes()).unwrap();
    let mut cache: HashMap<String, Vec<u8>> = HashMap::new();
    let all: HashMap<String, Vec<u8>> = set.files.iter().cloned().collect();
    for id in ["sql-expert", "café", "nope", ""] {
        let got = loop {
            match ci.get(id, &cache).unwrap() {
                exec::Step::Done(d) => break d,
                exec::Step::Need(n) => {
                    for x in n {
                        cache.insert(x.clone(), all[&x].clone());
                    }
                }
            }
        };
        let want = ix.get(&DocumentId(id.into()));
        assert_eq!(
            got.as_ref().map(|d| d.name.as_str()),
            want.as_ref().map(|d| d.name)
        );
        if let (Some(g), Some(w)) = (got, want) {
            assert_eq!(g.tags, w.tags);
            assert_eq!(g.doc_type, w.doc_type);
        }
    }
}

#[test]
fn manifest_json_round_trips() {
    let set = Index::build(&library()).to_chunks(small());
    let back = Manifest::from_json(&set.manifest_bytes()).unwrap();
    assert_eq!(back, set.manifest);
    assert!(Manifest::from_json(br#"{"format": 1}"#).is_err());
    assert!(Manifest::from_json(b"\xff").is_err());
}

#[test]
fn results_as_ref_round_trips() {
    let ix = Index::build(&library());
    let r = ix.search("customer", &SearchOptions::default()).unwrap();
    assert!(!r.hits.is_empty() && !r.facets.tags.is_empty());
    assert_eq!(r.as_ref().owned(), r);
}
