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

/// Real prompts whose own sample or default does not match the type they declare (the
/// evaluators declare `context: {type: object}` and sample a paragraph of text; the
/// writer defaults two `object` inputs to `" "`; a `string` user id is sampled as a
/// number). Rendering them with their samples is an `invalid_inputs` error — a true
/// finding, kept here so a change in what we report is noticed.
const SAMPLES_MISMATCH_THEIR_TYPES: &[(&str, &str)] = &[
    ("Azure-Samples__contoso-chat/evaluations__coherence.prompty", "context"),
    ("Azure-Samples__contoso-chat/evaluations__custom_evals__coherence.prompty", "context"),
    ("Azure-Samples__contoso-chat/evaluations__custom_evals__groundedness.prompty", "context"),
    ("Azure-Samples__contoso-chat/evaluations__groundedness.prompty", "context"),
    ("Azure-Samples__contoso-chat/evaluations__prompty__coherence.prompty", "context"),
    ("Azure-Samples__contoso-chat/evaluations__prompty__fluency.prompty", "context"),
    ("Azure-Samples__contoso-chat/evaluations__prompty__groundedness.prompty", "context"),
    ("Azure-Samples__contoso-chat/src__api__evaluators__custom_evals__coherence.prompty", "context"),
    ("Azure-Samples__contoso-chat/src__api__evaluators__custom_evals__fluency.prompty", "context"),
    ("Azure-Samples__contoso-chat/src__api__evaluators__custom_evals__groundedness.prompty", "context"),
    ("Azure-Samples__contoso-chat/src__api__evaluators__custom_evals__relevance.prompty", "context"),
    ("Azure-Samples__contoso-creative-writer/src__api__api__agents__writer__writer.prompty", "research"),
    ("Azure-Samples__contoso-creative-writer/src__api__api__agents__writer__writer.prompty", "products"),
    ("Azure-Samples__contoso-creative-writer/src__api__evaluate__custom_evals__coherence.prompty", "context"),
    ("Azure-Samples__contoso-creative-writer/src__api__evaluate__custom_evals__fluency.prompty", "context"),
    ("Azure-Samples__contoso-creative-writer/src__api__evaluate__custom_evals__groundedness.prompty", "context"),
    ("microsoft__prompty/runtime__promptycs__Prompty.Core.Tests__agents__rag-teams-agent.prompty", "user_id"),
];

/// #16: every real prompt's inputs yield a JSON Schema that names each declared input,
/// and prompts that declare types accept their own defaults and samples.
#[test]
fn every_prompty_has_an_inputs_schema_that_accepts_its_samples() {
    let Some(root) = promptshelf_tests::corpus() else {
        return;
    };
    let base = root.join("prompty");
    let mut paths = Vec::new();
    files(&base, "prompty", &mut paths);
    paths.sort();
    let (mut schemas, mut typed, mut mismatched, mut failures) = (0, 0, 0, Vec::new());
    for p in &paths {
        let rel = p
            .strip_prefix(&base)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(p).unwrap();
        let Ok(d) = parse_document(&format!("prompts/{rel}"), &bytes, &ParseOptions::default())
        else {
            continue; // the broken-on-purpose files (checked above)
        };
        let s = &d.content["schema"]["inputs"];
        assert_eq!(s["type"], "object", "{rel}");
        assert_eq!(
            s["$schema"],
            promptshelf_core::schema::DRAFT_2020_12,
            "{rel}"
        );
        let props = s["properties"].as_object().expect("properties");
        for name in d.content["inputs"].as_object().unwrap().keys() {
            assert!(
                props.contains_key(name),
                "{rel}: input `{name}` missing from schema"
            );
        }
        schemas += 1;
        if !props.values().any(|p| p.get("type").is_some()) {
            continue;
        }
        typed += 1;
        let check = promptshelf_core::schema::check_inputs(s, &Default::default(), false);
        for problem in check.problems.iter().filter(|p| p.found != "nothing") {
            let known = SAMPLES_MISMATCH_THEIR_TYPES
                .iter()
                .any(|(f, i)| *f == rel && *i == problem.input);
            if known {
                mismatched += 1;
            } else {
                failures.push(format!("{rel}: {}", problem.message));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "samples rejected by their own schema:\n{}",
        failures.join("\n")
    );
    assert_eq!(schemas, PROMPTY_FILES - BROKEN_ON_PURPOSE.len());
    assert_eq!(mismatched, SAMPLES_MISMATCH_THEIR_TYPES.len());
    assert!(
        typed > 20,
        "only {typed} typed prompts: is the corpus complete?"
    );
    eprintln!("{schemas} schemas, {typed} typed prompts validate their samples");
}

/// #16's sync budget (typed prompts add at most 10 % to an initial sync): the share of
/// parsing that building `content.schema` takes, on every real prompt and persona. Parsing
/// is only part of a sync (reading, hashing, indexing and SQLite writes come on top), so
/// this share bounds what schemas add to a sync from above.
/// `cargo test --release -p promptshelf-tests --test corpus -- --ignored --nocapture schema_share_of_parsing`
#[test]
#[ignore]
fn schema_share_of_parsing() {
    let Some(root) = promptshelf_tests::corpus() else {
        return;
    };
    let mut files_read = Vec::new();
    for (dir, ext) in [("prompty", "prompty"), ("personas-awesome", "json")] {
        let mut paths = Vec::new();
        files(&root.join(dir), ext, &mut paths);
        for p in paths {
            let rel = if ext == "json" {
                "personas/a.json"
            } else {
                "prompts/a.prompty"
            };
            files_read.push((rel, std::fs::read(p).unwrap()));
        }
    }
    let rounds = 20;
    let mut docs = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        docs.clear();
        for (rel, bytes) in &files_read {
            if let Ok(d) = parse_document(rel, bytes, &ParseOptions::default()) {
                docs.push(d);
            }
        }
    }
    let parse = started.elapsed();
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        for d in docs.iter().filter(|d| d.content.get("schema").is_some()) {
            std::hint::black_box(promptshelf_core::schema::prompt_schemas(
                &d.content["frontmatter"],
            ));
        }
    }
    let schema = started.elapsed();
    println!(
        "schema share of parsing: {} files x {rounds}: parse {parse:?} (schemas included), schemas alone {schema:?} = {:.1} %",
        files_read.len(),
        100.0 * schema.as_secs_f64() / parse.as_secs_f64()
    );
}
