//! `check` and `sync` agree on what a library is, file by file: the same documents
//! (path → id) and the same errors (path → message), over one tree built to trip every
//! library rule — `node_modules` and hidden folders at several depths, folders outside
//! `personas/` and `prompts/`, editor leftovers, duplicate ids (three claimants), an
//! oversized file, broken files of both kinds. Both run as the real binary; the sync's
//! answer is read back from the database it wrote.

use promptshelf_store::{read, Database};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

const MAX_BYTES: &str = "1000";

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn persona(id: &str) -> Vec<u8> {
    format!(r#"{{"id": "{id}", "name": "Name of {id}"}}"#).into_bytes()
}

fn tricky_tree(root: &Path) {
    // Documents.
    write(root, "personas/agent.json", &persona("agent"));
    write(root, "personas/team/deep/writer.json", &persona("writer"));
    write(
        root,
        "prompts/greet.prompty",
        b"---\nname: greet\n---\nsystem:\nhello\n",
    );
    write(
        root,
        "prompts/sub/summarize.prompty",
        b"---\nname: summarize\n---\nuser:\n{{text}}\n",
    );
    // Duplicate ids: the first path in byte order wins, the others are errors.
    write(root, "personas/b-copy.json", &persona("agent-2"));
    write(root, "personas/a-first.json", &persona("agent-2"));
    write(root, "personas/team/c-third.json", &persona("agent-2"));
    // Broken files.
    write(
        root,
        "personas/broken.json",
        b"{\n  \"name\": \"x\",\n  oops\n}",
    );
    write(root, "prompts/unclosed.prompty", b"---\nname: x\n");
    write(root, "personas/empty.json", b"");
    // Over the size limit (well over: both must report its real size).
    write(root, "prompts/big.prompty", &vec![b'a'; 5000]);
    // Never candidates: node_modules and hidden folders at any depth, other folders,
    // hidden files, editor leftovers, other extensions.
    for rel in [
        "personas/node_modules/pkg/x.json",
        "node_modules/personas/x.json",
        "prompts/team/node_modules/y.prompty",
        "personas/.git/x.json",
        "personas/team/.cache/x.json",
        "prompts/.hidden/y.prompty",
        ".personas/x.json",
        "other/x.json",
        "personas/.hidden.json",
        "personas/agent.json~",
        "personas/.agent.json.swp",
        "personas/#agent.json#",
        "personas/notes.md",
        "prompts/wrong-kind.json",
        "personas/wrong-kind.prompty",
    ] {
        // Broken content, so a walk that wrongly took one in would also report an error.
        write(root, rel, b"{ not json");
    }
}

/// path → id of the documents, and path → messages of the errors, as `check` says.
type Answer = (BTreeMap<String, String>, BTreeMap<String, Vec<String>>);

fn check(root: &Path) -> Answer {
    let out = Command::new(env!("CARGO_BIN_EXE_promptshelf"))
        .args(["check", "--format", "json", "--max-bytes", MAX_BYTES])
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "check must find errors");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let docs = v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_owned(),
                d["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in v["errors"].as_array().unwrap() {
        errors
            .entry(e["path"].as_str().unwrap().to_owned())
            .or_default()
            .push(e["message"].as_str().unwrap().to_owned());
    }
    (docs, errors)
}

fn sync(root: &Path) -> Answer {
    let out = Command::new(env!("CARGO_BIN_EXE_promptshelf"))
        .env("PROMPTSHELF_LOG", "error")
        .args(["sync", "--no-progress", "--max-file-bytes", MAX_BYTES])
        .arg(root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sync failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = Database::open_read_only(&root.join(".promptshelf/shelf.db")).unwrap();
    let docs = read::all_documents(db.conn())
        .unwrap()
        .into_iter()
        .map(|d| (d.file_path, d.id))
        .collect();
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in read::sync_errors(db.conn()).unwrap() {
        errors.entry(e.path).or_default().push(e.message);
    }
    (docs, errors)
}

#[test]
fn check_and_sync_agree_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    tricky_tree(&root);
    let (check_docs, check_errors) = check(&root);
    let (sync_docs, sync_errors) = sync(&root);

    // What the tree holds, so an agreement on the wrong answer fails too.
    let paths = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        paths(&check_docs),
        [
            "personas/a-first.json",
            "personas/agent.json",
            "personas/team/deep/writer.json",
            "prompts/greet.prompty",
            "prompts/sub/summarize.prompty",
        ]
    );
    assert_eq!(
        check_errors.keys().collect::<Vec<_>>(),
        [
            "personas/b-copy.json",
            "personas/broken.json",
            "personas/empty.json",
            "personas/team/c-third.json",
            "prompts/big.prompty",
            "prompts/unclosed.prompty",
        ]
    );
    assert_eq!(
        check_errors["prompts/big.prompty"],
        ["file is 5000 bytes, over the limit of 1000 bytes"]
    );
    assert!(check_errors["personas/b-copy.json"][0]
        .starts_with("duplicate id `agent-2`: already used by personas/a-first.json"));

    // File by file: the same documents, the same errors with the same words.
    for (path, id) in &check_docs {
        assert_eq!(sync_docs.get(path), Some(id), "document at {path}");
    }
    assert_eq!(paths(&sync_docs), paths(&check_docs));
    for (path, messages) in &check_errors {
        assert_eq!(sync_errors.get(path), Some(messages), "errors of {path}");
    }
    assert_eq!(
        sync_errors.keys().collect::<Vec<_>>(),
        check_errors.keys().collect::<Vec<_>>()
    );
}
