//! `[schemas]` in promptshelf.toml, end to end through the real binary: the fixture
//! library `fixtures/schema-violations` (its own schemas, with `$ref`s between files, and
//! files that break them on purpose) gives the errors in its `expected.json`, with the
//! line and column of the offending value, from `check` and from `sync` alike; a file
//! that starts violating keeps its last good version served.

use promptshelf_store::{read, Database};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn promptshelf(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_promptshelf"))
        .env("PROMPTSHELF_LOG", "error")
        .env_remove("PROMPTSHELF_CONFIG")
        .args(args)
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-violations")
}

/// A copy of the fixture in a temporary folder (the sync writes its database there).
fn copy_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["", "schemas", "personas", "prompts"] {
        let from = fixture().join(sub);
        fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in fs::read_dir(&from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
            }
        }
    }
    dir
}

fn expected() -> Value {
    serde_json::from_slice(&fs::read(fixture().join("expected.json")).unwrap()).unwrap()
}

#[test]
fn check_reports_every_violation_at_its_value() {
    let out = promptshelf(&["check", "--format", "json"], &fixture());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"], expected());
    let docs: Vec<&str> = v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(docs, ["personas/good.json", "prompts/good.prompty"]);
    // Text output: path:line:column: message.
    let out = promptshelf(&["check"], &fixture());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bad-tag.json:5:12: tags[2]: expected a string, found the number 7"),
        "{text}"
    );
}

#[test]
fn sync_records_the_same_errors_and_keeps_the_last_good_version() {
    let dir = copy_fixture();
    let good = fs::read(dir.path().join("personas/good.json")).unwrap();
    // The bad-tag persona starts out valid, is synced, then breaks its schema.
    fs::write(
        dir.path().join("personas/bad-tag.json"),
        br#"{"name": "Tagger", "system_prompt": "Good version.", "tags": ["a"]}"#,
    )
    .unwrap();
    let out = promptshelf(&["sync", "--no-progress"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::copy(
        fixture().join("personas/bad-tag.json"),
        dir.path().join("personas/bad-tag.json"),
    )
    .unwrap();
    let out = promptshelf(&["sync", "--no-progress"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let db = Database::open_read_only(&dir.path().join(".promptshelf/shelf.db")).unwrap();
    let errors: Vec<Value> = read::sync_errors(db.conn())
        .unwrap()
        .into_iter()
        .map(|e| json!({"path": e.path, "line": e.line, "column": e.column, "message": e.message}))
        .collect();
    assert_eq!(Value::Array(errors), expected());
    let docs = read::all_documents(db.conn()).unwrap();
    let tagger = docs
        .iter()
        .find(|d| d.file_path == "personas/bad-tag.json")
        .expect("the last good version stays served");
    assert!(tagger.json.contains("Good version."), "{}", tagger.json);
    assert!(docs.iter().any(|d| d.file_path == "personas/good.json"));
    assert_eq!(
        fs::read(dir.path().join("personas/good.json")).unwrap(),
        good
    );
}

#[test]
fn a_missing_or_broken_schema_stops_check_and_sync() {
    let dir = copy_fixture();
    fs::remove_file(dir.path().join("schemas/common.json")).unwrap();
    for args in [&["check"][..], &["sync", "--no-progress"][..]] {
        let out = promptshelf(args, dir.path());
        assert!(!out.status.success(), "{args:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("common.json"), "{args:?}: {err}");
    }
    fs::write(dir.path().join("schemas/common.json"), "{ nope").unwrap();
    let out = promptshelf(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid JSON"));
    fs::write(
        dir.path().join("promptshelf.toml"),
        "[schemas]\npersonas = \"schemas/persona.schema.json\"\ntypo = \"x\"\n",
    )
    .unwrap();
    let out = promptshelf(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("typo"));
}
