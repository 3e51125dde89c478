//! `examples/library` is what the README points newcomers at: every file parses, both
//! Prompty shapes appear, the normalised fields are filled in, and every prompt renders
//! from its own sample inputs (a newcomer's first `promptshelf render` must not fail).

use promptshelf_core::library::{classify, enter_folder, resolve_duplicates};
use promptshelf_core::render::{render, RenderOptions, Source};
use promptshelf_core::{parse_document, DocType, Document, ParseOptions};
use std::path::Path;

fn example_documents() -> Vec<(String, Document)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/library");
    let mut rels = Vec::new();
    walk(&root, &root, &mut rels);
    rels.sort();
    rels.into_iter()
        .map(|rel| {
            let bytes = std::fs::read(root.join(&rel)).unwrap();
            let d = parse_document(&rel, &bytes, &ParseOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            (rel, d)
        })
        .collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            // The library's own folder rule: the README's main command keeps its database
            // in examples/library/.promptshelf/, which a walk never enters.
            let parent = dir
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let name = p.file_name().unwrap().to_string_lossy();
            if enter_folder(&parent, &name) {
                walk(root, &p, out);
            }
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
    let mut rels = Vec::new();
    let mut docs = Vec::new();
    for (rel, d) in example_documents() {
        let kind = classify(&rel).unwrap_or_else(|| panic!("{rel} is not a document"));
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
        rels.push(rel);
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

/// Strict undefined: every variable a template uses has a sample (or default), so the
/// preview a newcomer sees is the prompt as written, not one with holes.
#[test]
fn every_example_prompt_renders_from_its_samples() {
    let opts = RenderOptions {
        strict_undefined: true,
        ..RenderOptions::default()
    };
    let mut prompts = 0;
    for (rel, d) in example_documents() {
        if d.doc_type != DocType::PromptTemplate {
            continue;
        }
        prompts += 1;
        let source = Source::Document {
            doc: &d,
            text: None,
        };
        let messages =
            render(source, &serde_json::json!({}), &opts).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
        assert!(
            roles.contains(&"system") && roles.contains(&"user"),
            "{rel}: roles {roles:?}"
        );
        for m in &messages {
            assert!(
                !m.content.trim().is_empty(),
                "{rel}: empty {} message",
                m.role
            );
            assert!(
                !m.content.contains("{{"),
                "{rel}: unrendered tag in {}",
                m.role
            );
        }
    }
    assert!(prompts >= 5, "{prompts} example prompts");
}
