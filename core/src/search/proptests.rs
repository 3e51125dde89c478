//! Property tests: the parser and the search never panic; incremental updates answer
//! exactly like a fresh build; the loader survives any bytes.

use super::tests::{doc, library};
use super::*;
use crate::model::{DocType, Document, DocumentId};
use proptest::prelude::*;

/// Query-looking strings: words, operators, quotes, parens, fields, unicode.
pub(crate) fn query_strategy() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("customer".to_string()),
        Just("custmer".to_string()),
        Just("sql".to_string()),
        Just("OR".to_string()),
        Just("AND".to_string()),
        Just("-".to_string()),
        Just("\"".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("tag:".to_string()),
        Just("type:persona".to_string()),
        Just("model.api:chat".to_string()),
        Just("*".to_string()),
        Just("é".to_string()),
        Just("日本".to_string()),
        "[a-z]{1,9}",
        "\\PC{1,4}",
    ];
    prop::collection::vec((atom, prop_oneof![Just(""), Just(" ")]), 0..12)
        .prop_map(|v| v.into_iter().map(|(a, s)| format!("{a}{s}")).collect())
}

const WORDS: &[&str] = &[
    "customer", "support", "refund", "sql", "query", "travel", "guide", "coffee", "café", "write",
    "answer", "polite", "database", "summary", "bullet", "points", "agent", "expert",
];

pub(crate) fn doc_strategy() -> impl Strategy<Value = Document> {
    (
        0u8..12,
        any::<bool>(),
        prop::collection::vec(0..WORDS.len(), 1..4),
        prop::collection::vec(0..WORDS.len(), 0..3),
        prop::collection::vec(0..WORDS.len(), 0..30),
    )
        .prop_map(|(id, persona, name, tags, body)| {
            let w = |v: &[usize]| v.iter().map(|&i| WORDS[i]).collect::<Vec<_>>();
            let t = if persona {
                DocType::Persona
            } else {
                DocType::PromptTemplate
            };
            doc(
                &format!("doc-{id}"),
                t,
                &w(&name).join(" "),
                "",
                &w(&tags),
                &w(&body).join(" "),
            )
        })
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Add(Box<Document>),
    Remove(u8),
}

pub(crate) fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => doc_strategy().prop_map(|d| Op::Add(Box::new(d))),
        1 => (0u8..12).prop_map(Op::Remove),
    ]
}

pub(crate) const CHECK_QUERIES: &[&str] = &[
    "",
    "customer",
    "custmer ",
    "sup",
    "\"customer support\"",
    "-sql",
    "tag:refund",
    "type:persona coffee",
    "sql OR travel",
    "cafe",
    "name:agent",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(q in query_strategy()) {
        let _ = query::parse(&q, query::ParseOptions::default());
    }

    #[test]
    fn parse_never_panics_on_any_text(q in "\\PC{0,40}") {
        let _ = query::parse(&q, query::ParseOptions::default());
    }

    #[test]
    fn search_never_panics(q in query_strategy(), offset in 0usize..5, limit in 0usize..5) {
        let ix = Index::build(&library());
        let opts = SearchOptions { offset, limit, ..Default::default() };
        if let Ok(r) = ix.search(&q, &opts) {
            prop_assert!(r.hits.len() <= limit);
            prop_assert!(r.total <= ix.len());
            for h in &r.hits {
                if let Some(s) = &h.snippet {
                    for hl in &s.highlights {
                        prop_assert!(s.text.get(hl[0]..hl[1]).is_some());
                    }
                }
            }
        }
    }

    #[test]
    fn incremental_equals_fresh(ops in prop::collection::vec(op_strategy(), 1..25)) {
        let mut inc = Index::new();
        let mut truth: std::collections::BTreeMap<String, Document> = Default::default();
        for op in ops {
            match op {
                Op::Add(d) => {
                    inc.add(&d);
                    truth.insert(d.id.0.clone(), *d);
                }
                Op::Remove(i) => {
                    let id = format!("doc-{i}");
                    prop_assert_eq!(inc.remove(&DocumentId(id.clone())), truth.remove(&id).is_some());
                }
            }
        }
        let docs: Vec<Document> = truth.into_values().collect();
        let fresh = Index::build(&docs);
        let loaded = Index::from_bytes(&inc.to_bytes()).unwrap();
        for q in CHECK_QUERIES {
            let opts = SearchOptions { limit: 50, ..Default::default() };
            let a = fresh.search(q, &opts).unwrap();
            prop_assert_eq!(&a, &inc.search(q, &opts).unwrap(), "{}", q);
            prop_assert_eq!(&a, &loaded.search(q, &opts).unwrap(), "{}", q);
        }
    }

    /// Updates on an index loaded from bytes (whose per-document inverse is derived
    /// on the first removal), applied in batches with `update`, replacing documents in
    /// place, still answer exactly like a fresh build.
    #[test]
    fn batched_updates_after_load_equal_fresh(
        first in prop::collection::vec(doc_strategy(), 0..12),
        batches in prop::collection::vec(prop::collection::vec(op_strategy(), 0..6), 1..6),
    ) {
        let mut truth: std::collections::BTreeMap<String, Document> = Default::default();
        for d in &first {
            truth.insert(d.id.0.clone(), d.clone());
        }
        let mut inc = Index::from_bytes(&Index::build(&first).to_bytes()).unwrap();
        for (k, batch) in batches.into_iter().enumerate() {
            let mut removed = Vec::new();
            let mut upserted = Vec::new();
            for op in batch {
                match op {
                    Op::Add(d) => {
                        truth.insert(d.id.0.clone(), (*d).clone());
                        upserted.push(*d);
                    }
                    Op::Remove(i) => {
                        let id = format!("doc-{i}");
                        // `update` removes before it adds: a removal must not undo an
                        // earlier add of the same batch.
                        if upserted.iter().any(|d: &Document| d.id.0 == id) {
                            continue;
                        }
                        truth.remove(&id);
                        removed.push(DocumentId(id));
                    }
                }
            }
            if k % 2 == 0 {
                inc.update(&removed, &upserted);
            } else {
                // Tokenized ahead (as the watcher does on its parsing threads).
                let prepared: Vec<Prepared> = upserted.iter().map(Index::prepare).collect();
                let pairs: Vec<(&Document, &Prepared)> = upserted.iter().zip(&prepared).collect();
                inc.update_prepared(&removed, &pairs);
            }
        }
        let docs: Vec<Document> = truth.into_values().collect();
        let fresh = Index::build(&docs);
        prop_assert_eq!(inc.len(), fresh.len());
        prop_assert_eq!(inc.term_count(), fresh.term_count());
        let loaded = Index::from_bytes(&inc.to_bytes()).unwrap();
        for q in CHECK_QUERIES {
            let opts = SearchOptions { limit: 50, ..Default::default() };
            let a = fresh.search(q, &opts).unwrap();
            prop_assert_eq!(&a, &inc.search(q, &opts).unwrap(), "{}", q);
            prop_assert_eq!(&a, &loaded.search(q, &opts).unwrap(), "{}", q);
        }
    }

    #[test]
    fn loader_survives_garbage(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Index::from_bytes(&bytes);
        let mut with_magic = codec_header(&bytes);
        with_magic.extend_from_slice(&bytes);
        let _ = Index::from_bytes(&with_magic);
    }

    #[test]
    fn loader_survives_mutations(pos in any::<prop::sample::Index>(), val in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let blob = Index::build(&library()).to_bytes();
        let mut m = blob.clone();
        let i = pos.index(m.len());
        m[i] = val;
        let _ = Index::from_bytes(&m);
        let _ = Index::from_bytes(&blob[..cut.index(blob.len())]);
        // Mutations behind a valid checksum reach the decoder itself.
        let payload = &m[24..];
        let mut fixed = codec_header(payload);
        fixed.extend_from_slice(payload);
        if let Ok(ix) = Index::from_bytes(&fixed) {
            for q in CHECK_QUERIES {
                let _ = ix.search(q, &SearchOptions::default());
            }
            let _ = ix.to_bytes();
        }
    }
}
