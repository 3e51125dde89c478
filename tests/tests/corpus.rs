//! The real corpus in `<repo>/../shared/corpus` parses: every persona, and every
//! `.prompty` file except the few that are broken on purpose (listed below with why).
//! Skips, loudly, when the corpus folder is absent (it sits beside the repo in CI).

use promptshelf_core::{parse_document, DocType, ParseOptions};
use std::path::{Path, PathBuf};

/// Files that must fail, by file name, with the reason and a fragment of the message.
const BROKEN_ON_PURPOSE: &[(&str, &str, &str)] = &[
    (
        "microsoft__prompty/tck__testdata__invalid-yaml.prompty",
        "test data for invalid input: `[unclosed array` in the front matter",
        "invalid YAML",
    ),
    (
        "microsoft__promptflow/examples__prompty__eval-checklist__eval.prompty",
        "an empty (0-byte) file",
        "file is empty",
    ),
];

const PERSONAS: usize = 1529;
const PROMPTY_FILES: usize = 316;

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read corpus dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[test]
fn every_persona_parses() {
    let Some(root) = promptshelf_tests::corpus() else {
        return;
    };
    let mut paths = Vec::new();
    files(&root.join("personas-awesome/personas"), "json", &mut paths);
    assert_eq!(paths.len(), PERSONAS, "persona count");
    let mut failures = Vec::new();
    for p in &paths {
        let name = p.file_name().unwrap().to_string_lossy();
        let rel = format!("personas/{name}");
        let bytes = std::fs::read(p).unwrap();
        match parse_document(&rel, &bytes, &ParseOptions::default()) {
            Ok(d) => {
                assert_eq!(d.doc_type, DocType::Persona);
                assert!(!d.body.is_empty(), "{rel}: empty body");
                assert_eq!(Some(d.name.as_str()), d.content["name"].as_str(), "{rel}");
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} personas failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_prompty_parses_except_the_broken_ones() {
    let Some(root) = promptshelf_tests::corpus() else {
        return;
    };
    let base = root.join("prompty");
    let mut paths = Vec::new();
    files(&base, "prompty", &mut paths);
    paths.sort();
    assert_eq!(paths.len(), PROMPTY_FILES, "prompty file count");
    let (mut ok, mut failures, mut expected) = (0, Vec::new(), 0);
    let mut shapes = std::collections::BTreeMap::new();
    for p in &paths {
        let rel = p
            .strip_prefix(&base)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(p).unwrap();
        let result = parse_document(&format!("prompts/{rel}"), &bytes, &ParseOptions::default());
        match (BROKEN_ON_PURPOSE.iter().find(|b| b.0 == rel), result) {
            (None, Ok(d)) => {
                ok += 1;
                *shapes
                    .entry(d.content["shape"].as_str().unwrap().to_owned())
                    .or_insert(0) += 1;
            }
            (None, Err(e)) => failures.push(e.to_string()),
            (Some((_, why, fragment)), Err(e)) => {
                assert!(
                    e.message.contains(fragment),
                    "{rel} ({why}) failed differently: {e}"
                );
                expected += 1;
            }
            (Some((_, why, _)), Ok(_)) => {
                failures.push(format!("{rel} should fail ({why}) but parsed"))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} prompty files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(expected, BROKEN_ON_PURPOSE.len());
    assert_eq!(ok, PROMPTY_FILES - BROKEN_ON_PURPOSE.len());
    eprintln!("prompty shapes: {shapes:?}");
}
