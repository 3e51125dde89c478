//! Any string as a search query: the parser returns a query or an error whose
//! position is inside the text, and running it over a small index never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptshelf_core::search::{query, Index, SearchOptions};
use promptshelf_core::{ContentHash, DocType, Document, DocumentId};
use std::sync::OnceLock;

fn index() -> &'static Index {
    static IX: OnceLock<Index> = OnceLock::new();
    IX.get_or_init(|| {
        let doc = |id: &str, t: DocType, name: &str, body: &str, tags: &[&str]| Document {
            id: DocumentId(id.into()),
            doc_type: t,
            name: name.into(),
            path: format!("personas/{id}.json"),
            hash: ContentHash::of(id.as_bytes()),
            description: Some(format!("{name} description")),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            authors: vec!["Jane Doe".into()],
            body: body.into(),
            content: serde_json::json!({"name": name, "model": {"api": "chat"}, "n": 3}),
        };
        Index::build(&[
            doc("a", DocType::Persona, "Customer Support", "You answer refund questions politely.", &["support"]),
            doc("b", DocType::PromptTemplate, "SQL Helper", "Write efficient SQL queries for PostgreSQL.", &["sql", "data"]),
            doc("c", DocType::Persona, "Café Barista", "日本語 naïve coffee customers", &[]),
        ])
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match query::parse(text, query::ParseOptions::default()) {
        Ok(_) => {
            let r = index().search(text, &SearchOptions { limit: 5, ..Default::default() });
            let r = r.expect("a query that parses must search");
            for h in &r.hits {
                if let Some(s) = &h.snippet {
                    for [a, b] in &s.highlights {
                        assert!(s.text.get(*a..*b).is_some(), "highlight off a char boundary");
                    }
                }
            }
        }
        Err(e) => assert!(e.position <= text.chars().count(), "{e}"),
    }
});
