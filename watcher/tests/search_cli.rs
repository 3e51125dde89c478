//! `promptshelf search` end to end: the real binary on a temporary library folder and
//! on the database `promptshelf sync` writes.

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn promptshelf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_promptshelf"))
        .args(args)
        .output()
        .expect("run promptshelf")
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn library() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "personas/support.json",
        r#"{"name": "Customer Support Agent", "system_prompt": "You answer refund questions politely.", "tags": ["support"]}"#,
    );
    write(
        root,
        "personas/sql.json",
        r#"{"name": "SQL Expert", "system_prompt": "You write efficient PostgreSQL queries."}"#,
    );
    write(
        root,
        "prompts/summarize.prompty",
        "---\nname: Summarizer\ndescription: Summarize a document\nmodel:\n  api: chat\n---\nsystem:\nSummarize {{text}} in three bullet points.\n",
    );
    dir
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn searches_a_folder_as_json_and_text() {
    let dir = library();
    let d = dir.path().to_str().unwrap();
    let out = promptshelf(&["search", d, "refund", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["total"], 1);
    assert_eq!(v["hits"][0]["id"], "personas/support");
    assert_eq!(v["hits"][0]["type"], "persona");
    assert!(v["hits"][0]["score"].as_f64().unwrap() > 0.0);
    assert!(v["hits"][0]["snippet"]["text"]
        .as_str()
        .unwrap()
        .contains("refund"));
    assert!(v["facets"]["type"].is_array());

    let out = promptshelf(&["search", d, "type:prompt summarise", "--format", "json"]);
    assert_eq!(
        json(&out)["hits"][0]["name"],
        "Summarizer",
        "typo tolerated"
    );

    let out = promptshelf(&["search", d, "postgresql"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("SQL Expert") && text.contains("[PostgreSQL]"),
        "{text}"
    );

    let out = promptshelf(&["search", d, "nothing-like-this", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["total"], 0);
}

#[test]
fn bad_query_exits_2_with_position() {
    let dir = library();
    let d = dir.path().to_str().unwrap();
    let out = promptshelf(&["search", d, "sql \"open"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unterminated quote") && err.contains("position 4"),
        "{err}"
    );
    assert!(err.contains("\n      ^"), "{err}");
    let out = promptshelf(&["search", d, "a OR", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["position"], 2);
}

#[test]
fn searches_a_synced_database() {
    let dir = library();
    let db = dir.path().join("shelf.db");
    let sync = promptshelf(&[
        "sync",
        dir.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    if sync.status.code() != Some(0) {
        panic!("sync failed: {}", String::from_utf8_lossy(&sync.stderr));
    }
    let out = promptshelf(&[
        "search",
        db.to_str().unwrap(),
        "bullet points",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["hits"][0]["name"], "Summarizer");
    let out = promptshelf(&["search", "/nonexistent/x", "a"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The last word matches as a prefix by default, as in `/v1/search` and the npm package
/// (one default in the core, `search::PREFIX_LAST`); `--no-prefix` turns it off.
#[test]
fn last_word_is_a_prefix_like_on_every_host() {
    let dir = library();
    let d = dir.path().to_str().unwrap();
    let v = json(&promptshelf(&["search", d, "refu", "--format", "json"]));
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["hits"][0]["id"], "personas/support");
    let v = json(&promptshelf(&[
        "search",
        d,
        "refu",
        "--format",
        "json",
        "--no-prefix",
    ]));
    assert_eq!(v["total"], 0, "{v}");
}
