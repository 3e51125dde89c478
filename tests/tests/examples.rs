//! `examples/library` is what the README points newcomers at: every file parses, both
//! Prompty shapes appear, and the normalised fields are filled in.

use promptshelf_core::library::{classify, resolve_duplicates};
use promptshelf_core::{parse_document, DocType, ParseOptions};
use std::path::Path;

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.push(
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

#[test]
fn example_library_parses_with_both_shapes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/library");
    let mut rels = Vec::new();
    walk(&root, &root, &mut rels);
    let mut docs = Vec::new();
    for rel in &rels {
        let kind = classify(rel).unwrap_or_else(|| panic!("{rel} is not a document"));
        let bytes = std::fs::read(root.join(rel)).unwrap();
        let d =
            parse_document(rel, &bytes, &ParseOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.doc_type, kind);
        assert!(d.description.is_some(), "{rel}: description");
        assert!(!d.tags.is_empty(), "{rel}: tags");
        assert!(!d.body.is_empty(), "{rel}: body");
        if kind == DocType::PromptTemplate {
            assert!(
                !d.content["inputs"].as_object().unwrap().is_empty(),
                "{rel}: inputs"
            );
            assert!(
                !d.content["sections"].as_array().unwrap().is_empty(),
                "{rel}: sections"
            );
            assert!(d.content["model"]["id"].is_string(), "{rel}: model id");
        }
        docs.push(d);
    }
    let shapes: Vec<_> = docs
        .iter()
        .filter_map(|d| d.content["shape"].as_str())
        .collect();
    assert!(
        shapes.contains(&"v1") && shapes.contains(&"v2"),
        "{shapes:?}"
    );
    assert!(
        rels.iter().any(|r| r.matches('/').count() >= 2),
        "a nested folder"
    );
    let n = docs.len();
    let (kept, errors) = resolve_duplicates(docs);
    assert!(errors.is_empty());
    assert_eq!(kept.len(), n);
    assert!((12..=20).contains(&n), "{n} examples");
}
