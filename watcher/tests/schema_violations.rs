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

/// The sync errors in the database, as `expected.json` writes them (empty while the
/// database does not exist yet).
fn sync_errors(root: &Path) -> Value {
    let db = root.join(".promptshelf/shelf.db");
    let Ok(db) = Database::open_read_only(&db) else {
        return json!(null);
    };
    let Ok(errors) = read::sync_errors(db.conn()) else {
        return json!(null);
    };
    errors
        .into_iter()
        .map(|e| json!({"path": e.path, "line": e.line, "column": e.column, "message": e.message}))
        .collect()
}

/// The served document of `path`, if any.
fn served(root: &Path, path: &str) -> Option<String> {
    let db = Database::open_read_only(&root.join(".promptshelf/shelf.db")).ok()?;
    read::all_documents(db.conn())
        .ok()?
        .into_iter()
        .find(|d| d.file_path == path)
        .map(|d| d.json)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Kills the child when the test ends, pass or fail.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn watch_reads_edited_schemas_again_and_revalidates_the_collection() {
    let dir = copy_fixture();
    let root = dir.path();
    let _watch = Running(
        Command::new(env!("CARGO_BIN_EXE_promptshelf"))
            .env("PROMPTSHELF_LOG", "error")
            .env_remove("PROMPTSHELF_CONFIG")
            .args([
                "watch",
                "--no-serve",
                "--no-progress",
                "--debounce-ms",
                "20",
            ])
            .arg(root)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the initial sync's errors", || {
        sync_errors(root) == expected()
    });

    // A file the schemas `$ref` (both collections use it): tags may now be numbers and
    // up to 10. The bad-tag persona passes and is served; the prompt keeps only its
    // other violation.
    fs::write(
        root.join("schemas/common.json"),
        r#"{"$defs": {"tags": {"type": "array", "items": {"type": ["string", "number"]}, "maxItems": 10}}}"#,
    )
    .unwrap();
    let mut relaxed = expected().as_array().unwrap().clone();
    relaxed.retain(|e| e["path"] != "personas/bad-tag.json");
    for e in &mut relaxed {
        if e["path"] == "prompts/no-description.prompty" {
            e["message"] = json!("front matter: document: missing required field `description`");
        }
    }
    wait_for("the relaxed $ref to take effect", || {
        sync_errors(root) == Value::Array(relaxed.clone())
    });
    let tagger = served(root, "personas/bad-tag.json").expect("now served");
    assert!(tagger.contains("You tag things."), "{tagger}");

    // A schema that no longer parses changes nothing (the previous one stays in force).
    fs::write(root.join("schemas/persona.schema.json"), "{ not json").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(sync_errors(root), Value::Array(relaxed.clone()));

    // The persona schema itself, saved the way editors do (a new file renamed over it):
    // `senior` is no longer a level, so the good persona violates at its value, and its
    // last good version stays served.
    let stricter = fs::read_to_string(fixture().join("schemas/persona.schema.json"))
        .unwrap()
        .replace(r#"["junior", "senior"]"#, r#"["junior"]"#);
    fs::write(root.join("schemas/.persona.tmp"), stricter).unwrap();
    fs::rename(
        root.join("schemas/.persona.tmp"),
        root.join("schemas/persona.schema.json"),
    )
    .unwrap();
    let mut stricter_errors = relaxed.clone();
    stricter_errors.push(
        json!({"path": "personas/good.json", "line": 5, "column": 12,
        "message": "level: expected one of \"junior\", found the string \"senior\""}),
    );
    for e in &mut stricter_errors {
        if e["path"] == "personas/many-problems.json" {
            e["message"] = json!("document: missing required field `system_prompt`; 2:11: name: expected at least 2 characters, found 1; 3:12: level: expected one of \"junior\", found the string \"principal\"; 4:11: tags: expected a list, found the string \"solo\"");
        }
    }
    stricter_errors.sort_by_key(|e| e["path"].as_str().unwrap().to_owned());
    wait_for("the stricter persona schema to take effect", || {
        let mut got = sync_errors(root).as_array().cloned().unwrap_or_default();
        got.sort_by_key(|e| e["path"].as_str().unwrap_or_default().to_owned());
        got == stricter_errors
    });
    let good = served(root, "personas/good.json").expect("last good version stays served");
    assert!(good.contains("You review code."), "{good}");
}

#[test]
fn watch_follows_schemas_and_a_config_outside_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, conf) = (dir.path().join("lib"), dir.path().join("conf"));
    fs::create_dir_all(lib.join("personas")).unwrap();
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        lib.join("personas/a.json"),
        "{\n  \"name\": \"Ann\",\n  \"prompt\": \"Hi.\"\n}\n",
    )
    .unwrap();
    let toml = "[schemas]\npersonas = \"persona.schema.json\"\n";
    fs::write(conf.join("promptshelf.toml"), toml).unwrap();
    fs::write(
        conf.join("persona.schema.json"),
        r#"{"required": ["name"]}"#,
    )
    .unwrap();
    let _watch = Running(
        Command::new(env!("CARGO_BIN_EXE_promptshelf"))
            .env("PROMPTSHELF_LOG", "error")
            .env_remove("PROMPTSHELF_CONFIG")
            .args([
                "watch",
                "--no-serve",
                "--no-progress",
                "--debounce-ms",
                "20",
            ])
            .arg("--config")
            .arg(conf.join("promptshelf.toml"))
            .arg(&lib)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the initial sync", || {
        served(&lib, "personas/a.json").is_some()
    });
    assert_eq!(sync_errors(&lib), json!([]));
    // The schema, in a folder the library's watch does not cover.
    fs::write(
        conf.join("persona.schema.json"),
        r#"{"properties": {"name": {"maxLength": 2}}}"#,
    )
    .unwrap();
    let error = json!([{"path": "personas/a.json", "line": 2, "column": 11,
        "message": "name: expected at most 2 characters, found 3"}]);
    wait_for("the edited schema outside the library", || {
        sync_errors(&lib) == error
    });
    // The config file itself: without `[schemas]`, nothing is checked any more.
    fs::write(conf.join("promptshelf.toml"), "# no schemas\n").unwrap();
    wait_for("the config without [schemas]", || {
        sync_errors(&lib) == json!([])
    });
}
