//! Behaviour tests of the whole engine on small hand-made libraries.

use super::*;
use crate::model::{ContentHash, DocType, Document, DocumentId};
use serde_json::json;

pub(crate) fn doc(
    id: &str,
    t: DocType,
    name: &str,
    desc: &str,
    tags: &[&str],
    body: &str,
) -> Document {
    let content = match t {
        DocType::Persona => json!({"name": name, "system_prompt": body, "contributor": "alice"}),
        DocType::PromptTemplate => json!({
            "shape": "v1",
            "model": {"api": if id.contains("completion") { "completion" } else { "chat" }},
            "inputs": {"question": {"type": "string"}},
            "frontmatter": {"name": name, "metadata": {"authors": ["Jane Doe"]}, "model": {"api": "ignored"}},
            "body": body,
            "sections": []
        }),
    };
    Document {
        id: DocumentId(id.into()),
        doc_type: t,
        name: name.into(),
        path: format!(
            "{}/{id}",
            if t == DocType::Persona {
                "personas"
            } else {
                "prompts"
            }
        ),
        hash: ContentHash::of(id.as_bytes()),
        description: (!desc.is_empty()).then(|| desc.to_owned()),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        authors: if t == DocType::PromptTemplate {
            vec!["Jane Doe".into()]
        } else {
            vec![]
        },
        body: body.into(),
        content,
    }
}

pub(crate) fn library() -> Vec<Document> {
    use DocType::*;
    vec![
        doc("support-agent", Persona, "Customer Support Agent", "Helps customers with refunds", &["support", "customer service"], "You are a friendly customer support agent. Answer refund questions politely."),
        doc("sql-expert", Persona, "SQL Expert", "Writes database queries", &["database", "sql"], "You are an expert in SQL and PostgreSQL. Write efficient queries."),
        doc("travel-guide", Persona, "Travel Guide", "", &["travel"], "I want you to act as a travel guide. Suggest places to visit near a location."),
        doc("basic-chat", PromptTemplate, "Basic Chat", "A basic prompt that answers questions", &["chat"], "system:\nYou are an AI assistant who helps people find information.\nuser:\n{{question}}"),
        doc("summarize-completion", PromptTemplate, "Summarizer", "Summarize a document", &["summary"], "Summarize the following text in three bullet points: {{text}}"),
        doc("café", Persona, "Café Barista", "Coffee recommendations", &["Food & Drink"], "Recommend a coffee. Naïve customers welcome."),
    ]
}

fn ids(r: &SearchResults) -> Vec<&str> {
    r.hits.iter().map(|h| h.id.as_str()).collect()
}

fn q(ix: &Index, query: &str) -> SearchResults {
    ix.search(query, &SearchOptions::default()).unwrap()
}

#[test]
fn name_match_ranks_first() {
    let ix = Index::build(&library());
    let r = q(&ix, "support ");
    assert_eq!(ids(&r)[0], "support-agent");
    let r = q(&ix, "sql ");
    assert_eq!(ids(&r)[0], "sql-expert");
}

#[test]
fn prefix_on_last_word_only_while_typing() {
    let ix = Index::build(&library());
    assert_eq!(ids(&q(&ix, "summar")), ["summarize-completion"]);
    assert!(
        q(&ix, "summar ").hits.is_empty() || ids(&q(&ix, "summar "))[0] == "summarize-completion"
    );
    assert_eq!(ids(&q(&ix, "sum")), ["summarize-completion"]);
    let r = ix
        .search(
            "sum",
            &SearchOptions {
                prefix_last: false,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(r.hits.is_empty());
}

#[test]
fn typos_are_tolerated_and_rank_below_exact() {
    let ix = Index::build(&library());
    assert_eq!(ids(&q(&ix, "custmer "))[0], "support-agent");
    assert_eq!(ids(&q(&ix, "databse "))[0], "sql-expert");
    // 3 letters: no fuzziness.
    assert!(q(&ix, "sqk ").hits.is_empty());
}

#[test]
fn diacritics_fold_both_ways() {
    let ix = Index::build(&library());
    assert_eq!(ids(&q(&ix, "cafe ")), ["café"]);
    assert_eq!(ids(&q(&ix, "NAIVE ")), ["café"]);
}

#[test]
fn phrases_need_adjacency() {
    let ix = Index::build(&library());
    assert_eq!(ids(&q(&ix, "\"travel guide\"")), ["travel-guide"]);
    assert!(q(&ix, "\"guide travel\"").hits.is_empty());
    assert_eq!(ids(&q(&ix, "\"ai assistant\"")), ["basic-chat"]);
}

#[test]
fn negation_and_or() {
    let ix = Index::build(&library());
    let r = q(&ix, "you -sql ");
    assert!(!ids(&r).contains(&"sql-expert"));
    assert!(ids(&r).contains(&"support-agent"));
    let r = q(&ix, "sql OR travel ");
    let mut got = ids(&r);
    got.sort();
    assert_eq!(got, ["sql-expert", "travel-guide"]);
}

#[test]
fn filters() {
    let ix = Index::build(&library());
    assert_eq!(q(&ix, "type:prompt").total, 2);
    assert_eq!(q(&ix, "type:persona").total, 4);
    assert_eq!(ids(&q(&ix, "tag:database")), ["sql-expert"]);
    assert_eq!(ids(&q(&ix, "tag:service")), ["support-agent"]);
    assert_eq!(
        ids(&q(&ix, "model.api:completion")),
        ["summarize-completion"]
    );
    // Normalised model wins over the raw front matter.
    assert!(q(&ix, "model.api:ignored").hits.is_empty());
    assert_eq!(q(&ix, "author:\"Jane Doe\"").total, 2);
    assert_eq!(q(&ix, "metadata.authors:jane").total, 2);
    assert_eq!(q(&ix, "contributor:alice").total, 4);
    assert_eq!(ids(&q(&ix, "name:barista")), ["café"]);
    assert_eq!(ids(&q(&ix, "name:\"travel guide\"")), ["travel-guide"]);
    assert_eq!(q(&ix, "path:prompts/").total, 2);
    assert_eq!(ids(&q(&ix, "id:sql-expert")), ["sql-expert"]);
    assert_eq!(q(&ix, "type:nonsense").total, 0);
    assert_eq!(
        ids(&q(&ix, "type:persona customer ")),
        ["support-agent", "café"]
    );
}

#[test]
fn facets_pagination_and_ties() {
    let ix = Index::build(&library());
    let r = ix
        .search(
            "",
            &SearchOptions {
                limit: 2,
                offset: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(r.total, 6);
    // Match-all ranks by id.
    assert_eq!(ids(&r), ["café", "sql-expert"]);
    assert_eq!(
        r.facets.doc_type[0],
        FacetCount {
            value: "persona".into(),
            count: 4
        }
    );
    assert!(r.facets.tags.iter().any(|t| t.value == "food & drink"));
}

#[test]
fn hits_carry_metadata_snippets_and_matches() {
    let ix = Index::build(&library());
    let r = q(&ix, "refund polite");
    let h = &r.hits[0];
    assert_eq!(h.id.as_str(), "support-agent");
    assert_eq!(h.name, "Customer Support Agent");
    assert_eq!(h.path, "personas/support-agent");
    assert!(h.score > 0.0);
    assert_eq!(h.matched, ["politely", "refund", "refunds"]);
    let s = h.snippet.as_ref().unwrap();
    let words: Vec<&str> = s.highlights.iter().map(|r| &s.text[r[0]..r[1]]).collect();
    assert_eq!(words, ["refund", "politely"]);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["hits"][0]["type"], "persona");
    assert!(json["facets"]["type"].is_array());
}

#[test]
fn query_errors_have_positions() {
    let ix = Index::build(&library());
    let e = ix
        .search("sql \"open", &SearchOptions::default())
        .unwrap_err();
    assert_eq!(e.position, 4);
}

#[test]
fn incremental_equals_fresh() {
    let lib = library();
    let fresh = Index::build(&lib[1..]);
    let mut inc = Index::build(&lib);
    inc.remove(&DocumentId("support-agent".into()));
    let mut changed = lib[2].clone();
    changed.body.push_str(" Mountains!");
    inc.replace(&changed);
    inc.replace(&lib[2]);
    for query in [
        "you ",
        "customer",
        "tag:travel",
        "",
        "coffe",
        "\"travel guide\"",
    ] {
        let a = fresh.search(query, &SearchOptions::default()).unwrap();
        let b = inc.search(query, &SearchOptions::default()).unwrap();
        assert_eq!(a, b, "{query}");
    }
    assert!(inc
        .search("mountains ", &SearchOptions::default())
        .unwrap()
        .hits
        .is_empty());
    assert!(!inc.remove(&DocumentId("support-agent".into())));
    // Reuses the freed slot.
    inc.add(&lib[0]);
    let full = Index::build(&lib);
    assert_eq!(q(&inc, "customer refund"), q(&full, "customer refund"));
}

#[test]
fn codec_round_trip_and_errors() {
    let mut ix = Index::build(&library());
    ix.remove(&DocumentId("sql-expert".into()));
    let blob = ix.to_bytes();
    let back = Index::from_bytes(&blob).unwrap();
    for query in [
        "you ",
        "customer",
        "tag:travel",
        "",
        "coffe",
        "\"travel guide\"",
        "model.api:chat",
    ] {
        assert_eq!(q(&ix, query), q(&back, query), "{query}");
    }
    assert_eq!(back.to_bytes(), blob);
    assert_eq!(
        back.get(&DocumentId("travel-guide".into())).unwrap().name,
        "Travel Guide"
    );

    assert_eq!(
        Index::from_bytes(b"nope").unwrap_err(),
        CodecError::BadMagic
    );
    assert_eq!(
        Index::from_bytes(&blob[..10]).unwrap_err(),
        CodecError::Truncated
    );
    assert_eq!(
        Index::from_bytes(&blob[..blob.len() - 1]).unwrap_err(),
        CodecError::Truncated
    );
    let mut bad = blob.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x40;
    assert_eq!(
        Index::from_bytes(&bad).unwrap_err(),
        CodecError::ChecksumMismatch
    );
    let mut v2 = blob.clone();
    v2[4] = 9;
    assert!(matches!(
        Index::from_bytes(&v2).unwrap_err(),
        CodecError::UnsupportedVersion { found: 9 }
    ));
    assert!(Index::from_bytes(&Index::new().to_bytes())
        .unwrap()
        .is_empty());
}

#[test]
fn duplicate_ids_last_wins() {
    let mut lib = library();
    let mut dup = lib[0].clone();
    dup.name = "Renamed".into();
    lib.push(dup);
    let ix = Index::build(&lib);
    assert_eq!(ix.len(), 6);
    assert_eq!(
        ix.get(&DocumentId("support-agent".into())).unwrap().name,
        "Renamed"
    );
}

#[test]
fn stored_prefixes_end_at_a_word_boundary() {
    let body = "alpha beta gamma delta epsilon";
    let d = doc("w", DocType::Persona, "W", "", &[], body);
    let ix = Index::build_with(
        std::slice::from_ref(&d),
        IndexOptions {
            stored_text_bytes: 13, // mid-"gamma"
        },
    );
    let r = q(&ix, "alpha");
    assert_eq!(r.hits[0].snippet.as_ref().unwrap().text, "alpha beta…");
    // The cut-off word is still found (from the postings), just not quoted.
    assert_eq!(ids(&q(&ix, "gamma")), ["w"]);
    let whole = Index::build_with(
        &[d],
        IndexOptions {
            stored_text_bytes: 30,
        },
    );
    assert_eq!(
        q(&whole, "alpha").hits[0].snippet.as_ref().unwrap().text,
        body
    );
}

#[test]
fn text_past_the_stored_prefix_is_searchable_but_unverified() {
    let long = format!(
        "{} the secret handshake is here.",
        "filler words only. ".repeat(40)
    );
    let mut a = doc("a", DocType::Persona, "Alpha", "", &[], &long);
    a.path = "personas/a.json".into();
    a.id = DocumentId("personas/a".into()); // derived from the path: not stored in the blob
    let b = doc(
        "b",
        DocType::Persona,
        "Beta",
        "",
        &[],
        "the secret handshake is short",
    );
    let c = doc(
        "c",
        DocType::Persona,
        "Gamma",
        "",
        &[],
        "handshake secret the",
    );
    let ix = Index::build_with(
        &[a, b, c],
        IndexOptions {
            stored_text_bytes: 64,
        },
    );
    let r = q(&ix, "\"secret handshake\"");
    // `b` verified; `a` only past the stored prefix (unverified, lower); `c` not adjacent.
    assert_eq!(ids(&r), ["b", "personas/a"]);
    assert!(r.hits[1].score < r.hits[0].score);
    assert!(r.hits[1]
        .snippet
        .as_ref()
        .is_none_or(|s| s.text.len() <= 64 + 8));
    let back = Index::from_bytes(&ix.to_bytes()).unwrap();
    assert_eq!(back.options().stored_text_bytes, 64);
    assert_eq!(q(&back, "\"secret handshake\""), r);
    assert!(back.contains(&DocumentId("personas/a".into())));
}

/// Tag facets rank tag ids and clone only the kept ones; the result must equal sorting
/// every tag's count (count descending, then value) and keeping the first
/// `max_facet_values`, including ties at the cut.
#[test]
fn tag_facets_equal_the_full_sort() {
    let tag_names: Vec<String> = (0..40).map(|i| format!("t{:02}", (i * 7) % 40)).collect();
    let docs: Vec<Document> = (0..120)
        .map(|i| {
            // A skewed, tie-rich spread of tags over the documents.
            let tags: Vec<&str> = (0..40)
                .filter(|t| (i * (t + 3) + t) % (t + 5) < 2)
                .map(|t| tag_names[t].as_str())
                .collect();
            doc(
                &format!("d{i:03}"),
                if i % 3 == 0 {
                    DocType::PromptTemplate
                } else {
                    DocType::Persona
                },
                &format!("Doc {i}"),
                "",
                &tags,
                "word",
            )
        })
        .collect();
    let ix = Index::build(&docs);
    for max in [0, 1, 2, 5, 13, 39, 40, 1000] {
        let r = ix
            .search(
                "word",
                &SearchOptions {
                    max_facet_values: max,
                    ..Default::default()
                },
            )
            .unwrap();
        let mut all: Vec<(usize, String)> = Vec::new();
        for d in &docs {
            for t in &d.tags {
                match all.iter_mut().find(|(_, v)| v == t) {
                    Some(e) => e.0 += 1,
                    None => all.push((1, t.clone())),
                }
            }
        }
        all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        all.truncate(max);
        let got: Vec<(usize, String)> = r
            .facets
            .tags
            .iter()
            .map(|f| (f.count, f.value.clone()))
            .collect();
        assert_eq!(got, all, "max_facet_values {max}");
    }
}
