//! `promptshelf check` end to end: the real binary on temporary libraries.

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

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn the_example_library_is_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/library");
    let out = promptshelf(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("7 personas, 7 prompt templates), no errors"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn clean_library_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "personas/a.json",
        br#"{"name": "A", "system_prompt": "x"}"#,
    );
    write(
        dir.path(),
        "prompts/sub/p.prompty",
        b"---\nname: P\n---\nuser:\nhi\n",
    );
    write(dir.path(), "prompts/notes.md", b"not a document");
    write(dir.path(), "personas/a.json~", b"{ broken backup");
    let out = promptshelf(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out).trim(),
        "2 documents (1 persona, 1 prompt template), no errors"
    );
}

fn broken_library() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "personas/good.json",
        br#"{"id": "shared", "name": "Good"}"#,
    );
    write(root, "personas/zz-dup.json", br#"{"id": "shared"}"#);
    write(
        root,
        "personas/bad-json.json",
        b"{\n  \"name\": \"x\",\n  oops\n}",
    );
    write(root, "personas/array.json", b"[1, 2]");
    write(root, "personas/empty.json", b"");
    write(root, "personas/latin1.json", b"{\"name\": \"caf\xE9\"}");
    write(
        root,
        "prompts/bad-yaml.prompty",
        b"---\nname: x\ninputs: [unclosed\n---\nbody\n",
    );
    write(root, "prompts/unclosed.prompty", b"---\nname: x\n");
    write(
        root,
        "prompts/ok.prompty",
        b"---\nname: fine\n---\nsystem:\nhello\n",
    );
    write(root, "prompts/big.prompty", &vec![b'a'; 2000]);
    dir
}

#[test]
fn every_bad_file_is_reported_with_position() {
    let dir = broken_library();
    let root = dir.path().to_str().unwrap();
    let out = promptshelf(&["check", root, "--max-bytes", "1000"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let expect = [
        format!("{root}/personas/array.json:1:1: a persona must be a JSON object"),
        format!("{root}/personas/bad-json.json:3:3: invalid JSON"),
        format!("{root}/personas/empty.json: file is empty"),
        format!("{root}/personas/latin1.json:1:14: file is not valid UTF-8"),
        format!("{root}/personas/zz-dup.json: duplicate id `shared`: already used by personas/good.json"),
        format!("{root}/prompts/bad-yaml.prompty:4:1: front matter: invalid YAML"),
        format!("{root}/prompts/big.prompty: file is 2000 bytes, over the limit of 1000 bytes"),
        format!("{root}/prompts/unclosed.prompty:1:1: the front matter opened here is never closed"),
    ];
    assert_eq!(lines.len(), expect.len() + 1, "{text}");
    for (line, want) in lines.iter().zip(&expect) {
        assert!(
            line.starts_with(want.as_str()),
            "got  {line}\nwant {want}..."
        );
    }
    assert_eq!(
        lines.last().unwrap(),
        &"2 documents (1 persona, 1 prompt template), 8 errors in 8 files"
    );
}

#[test]
fn json_format() {
    let dir = broken_library();
    let out = promptshelf(&[
        "check",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
        "--max-bytes",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    let docs = v["documents"].as_array().unwrap();
    assert_eq!(
        docs,
        &[
            serde_json::json!({"id": "shared", "type": "persona", "name": "Good", "path": "personas/good.json"}),
            serde_json::json!({"id": "prompts/ok", "type": "prompt_template", "name": "fine", "path": "prompts/ok.prompty"}),
        ]
    );
    let errors = v["errors"].as_array().unwrap();
    let paths: Vec<&str> = errors.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "personas/array.json",
            "personas/bad-json.json",
            "personas/empty.json",
            "personas/latin1.json",
            "personas/zz-dup.json",
            "prompts/bad-yaml.prompty",
            "prompts/big.prompty",
            "prompts/unclosed.prompty"
        ]
    );
    assert_eq!(errors[1]["line"], 3);
    assert_eq!(errors[1]["column"], 3);
    assert!(errors[2]["line"].is_null() && errors[2]["column"].is_null());
    for e in errors {
        assert!(e
            .as_object()
            .unwrap()
            .keys()
            .eq(["path", "line", "column", "message"].iter()));
    }
}

#[test]
fn json_for_an_empty_library() {
    let dir = tempfile::tempdir().unwrap();
    let out = promptshelf(&["check", dir.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out).trim(),
        r#"{"documents":[],"errors":[],"warnings":[]}"#
    );
}

#[test]
fn usage_errors_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = promptshelf(&["check", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such folder"));
    assert!(out.stdout.is_empty());
    let out = promptshelf(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let out = promptshelf(&["check", ".", "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dot_dir_prints_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "personas/x.json", b"[]");
    let out = Command::new(env!("CARGO_BIN_EXE_promptshelf"))
        .args(["check", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("personas/x.json:1:1: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn undeclared_template_variables_are_positioned_warnings() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "prompts/reply.prompty",
        b"---\nname: Reply\ninputs:\n  question:\n    type: string\n---\nsystem:\nAnswer {{ qestion }}.\n",
    );
    let root = dir.path().to_str().unwrap();
    let out = promptshelf(&["check", root]);
    assert_eq!(out.status.code(), Some(0), "warnings do not fail the check");
    let text = stdout(&out);
    assert!(
        text.contains(
            "prompts/reply.prompty:8:11: warning: template variable `qestion` is not declared"
        ),
        "{text}"
    );
    let out = promptshelf(&["check", root, "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(v["warnings"][0]["line"], 8);
    assert_eq!(v["warnings"][0]["column"], 11);
    assert_eq!(v["errors"], serde_json::json!([]));
}

/// A `[labels]` ref that does not exist is an error of `check` (exit 1), never a silent
/// fallback to HEAD; a label whose ref exists is fine.
#[test]
fn a_label_whose_ref_is_missing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "prompts/a.prompty", b"---\nname: A\n---\nuser:\nHi\n");
    write(
        root,
        "promptshelf.toml",
        b"[labels]\nproduction = \"refs/tags/prompts-prod\"\nstaging = \"refs/heads/main\"\n",
    );
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "one"]);
    let dir_arg = root.to_str().unwrap();
    let out = promptshelf(&["check", dir_arg]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "promptshelf.toml: label `production`: ref `refs/tags/prompts-prod` does not exist"
        ),
        "{text}"
    );
    assert!(!text.contains("staging"), "{text}");
    let out = promptshelf(&["check", dir_arg, "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["label_errors"].as_array().unwrap().len(), 1);
    assert_eq!(v["label_errors"][0]["label"], "production");
    git(&["tag", "prompts-prod"]);
    assert_eq!(promptshelf(&["check", dir_arg]).status.code(), Some(0));
}
