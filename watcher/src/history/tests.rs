//! History extraction over real repositories that the tests build with the `git` CLI
//! (tests only: the product reads git with gix and never spawns it).

use super::*;
use std::process::Command;

/// A scratch repository with deterministic commit times (one minute apart).
struct Repo {
    dir: tempfile::TempDir,
    clock: i64,
}

impl Repo {
    fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().unwrap(),
            clock: 1_700_000_000,
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, self.clock)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn commit(&mut self, msg: &str) -> String {
        self.clock += 60;
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }
}

fn git_in(dir: &Path, args: &[&str], clock: i64) -> String {
    let out = git_cmd(dir, args, clock).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn git_cmd(dir: &Path, args: &[&str], clock: i64) -> Command {
    let date = format!("@{clock} +0000");
    let mut c = Command::new("git");
    c.args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    c
}

fn prompt(body: &str) -> String {
    format!("---\nname: Reply\n---\nuser:\n{body}\n")
}

fn no_labels() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn extract_at(root: &Path, labels: &BTreeMap<String, String>) -> History {
    extract(root, labels, &ParseOptions::default()).unwrap()
}

fn summaries(h: &History, id: &str) -> Vec<String> {
    h.documents[id]
        .versions
        .iter()
        .map(|v| v.info.summary.clone().unwrap())
        .collect()
}

#[test]
fn outside_git_there_is_no_history() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("prompts")).unwrap();
    std::fs::write(dir.path().join("prompts/a.prompty"), prompt("hi")).unwrap();
    let h = extract_at(dir.path(), &no_labels());
    assert!(!h.repo.git);
    assert!(h.documents.is_empty());
}

#[test]
fn versions_are_content_changes_oldest_first_with_metadata() {
    let mut r = Repo::new();
    r.write("prompts/support/reply.prompty", &prompt("one"));
    r.write("README.md", "x");
    let c1 = r.commit("add reply");
    r.write("README.md", "y");
    r.commit("touch readme only");
    r.write("prompts/support/reply.prompty", &prompt("two"));
    r.commit("reply: second\n\nbody text");
    r.write("prompts/.hidden/x.prompty", &prompt("hidden"));
    r.write("personas/p.json", r#"{"name": "P"}"#);
    r.commit("persona");
    let h = extract_at(r.path(), &no_labels());
    assert!(h.repo.git && !h.repo.shallow && !h.repo.detached);
    assert_eq!(h.repo.branch.as_deref(), Some("refs/heads/main"));
    assert_eq!(h.repo.commits, 4);
    let d = &h.documents["prompts/support/reply"];
    assert_eq!(
        summaries(&h, "prompts/support/reply"),
        ["add reply", "reply: second"]
    );
    let v1 = &d.versions[0].info;
    assert_eq!((v1.number, v1.commit.as_deref()), (1, Some(c1.as_str())));
    assert_eq!(v1.author.as_deref(), Some("Ada"));
    assert_eq!(v1.time, Some(1_700_000_060));
    assert_eq!(v1.hash, ContentHash::of(prompt("one").as_bytes()));
    assert_eq!(d.versions[1].info.number, 2);
    assert!(d.versions[1]
        .document
        .as_ref()
        .unwrap()
        .body
        .contains("two"));
    assert_eq!(
        h.contents[&d.versions[0].info.hash.0],
        prompt("one").into_bytes()
    );
    assert_eq!(summaries(&h, "personas/p"), ["persona"]);
    assert_eq!(h.documents.len(), 2, "hidden folders are not documents");
}

#[test]
fn a_moved_file_keeps_its_history() {
    let mut r = Repo::new();
    r.write("prompts/old/reply.prompty", &prompt("one"));
    r.commit("v1");
    r.write("prompts/old/reply.prompty", &prompt("two"));
    r.commit("v2");
    r.git(&[
        "mv",
        "prompts/old/reply.prompty",
        "prompts/new-name.prompty",
    ]);
    r.commit("move (exact)");
    // A folder move with an edit in the same commit: paired by file name.
    std::fs::create_dir_all(r.path().join("prompts/x")).unwrap();
    r.git(&[
        "mv",
        "prompts/new-name.prompty",
        "prompts/x/new-name.prompty",
    ]);
    r.write("prompts/x/new-name.prompty", &prompt("three"));
    r.commit("move and edit");
    let h = extract_at(r.path(), &no_labels());
    let d = &h.documents["prompts/x/new-name"];
    assert_eq!(
        summaries(&h, "prompts/x/new-name"),
        ["v1", "v2", "move (exact)", "move and edit"]
    );
    assert_eq!(d.versions[0].info.path, "prompts/old/reply.prompty");
    assert_eq!(d.versions[2].info.path, "prompts/new-name.prompty");
    assert_eq!(d.versions[3].info.number, 4);
    assert_eq!(h.documents.len(), 1);
}

#[test]
fn a_deleted_and_recreated_file_starts_over() {
    let mut r = Repo::new();
    r.write("prompts/a.prompty", &prompt("one"));
    r.commit("v1");
    std::fs::remove_file(r.path().join("prompts/a.prompty")).unwrap();
    r.commit("gone");
    r.write("prompts/a.prompty", &prompt("again"));
    r.commit("back");
    let h = extract_at(r.path(), &no_labels());
    assert_eq!(summaries(&h, "prompts/a"), ["back"]);
}

#[test]
fn merges_count_branch_commits_not_the_merge() {
    let mut r = Repo::new();
    r.write("prompts/a.prompty", &prompt("one"));
    r.write("prompts/b.prompty", &prompt("b"));
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("prompts/a.prompty", &prompt("feature edit"));
    r.commit("feature: a");
    r.git(&["checkout", "-q", "main"]);
    r.write("prompts/b.prompty", &prompt("main edit"));
    r.commit("main: b");
    r.clock += 60;
    r.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    // A conflicting edit on both sides, resolved by hand in the merge: the merge is a version.
    r.git(&["checkout", "-q", "-b", "other"]);
    r.write("prompts/b.prompty", &prompt("other side"));
    r.commit("other: b");
    r.git(&["checkout", "-q", "main"]);
    r.write("prompts/b.prompty", &prompt("main side"));
    r.commit("main: b again");
    r.clock += 60;
    let out = git_cmd(r.path(), &["merge", "-q", "other"], r.clock)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the merge conflicts");
    r.write("prompts/b.prompty", &prompt("resolved"));
    r.commit("merge other (resolved)");
    let h = extract_at(r.path(), &no_labels());
    assert_eq!(summaries(&h, "prompts/a"), ["base", "feature: a"]);
    assert_eq!(
        summaries(&h, "prompts/b"),
        [
            "base",
            "main: b",
            "other: b",
            "main: b again",
            "merge other (resolved)"
        ]
    );
    let numbers: Vec<u32> = h.documents["prompts/b"]
        .versions
        .iter()
        .map(|v| v.info.number)
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
}

#[test]
fn a_broken_version_is_listed_with_its_error() {
    let mut r = Repo::new();
    r.write("personas/p.json", r#"{"name": "P"}"#);
    r.commit("ok");
    r.write("personas/p.json", r#"{"name": "P""#);
    r.commit("broken");
    r.write("personas/p.json", r#"{"name": "P2"}"#);
    r.commit("fixed");
    let h = extract_at(r.path(), &no_labels());
    let vs = &h.documents["personas/p"].versions;
    assert_eq!(vs.len(), 3);
    assert!(vs[0].document.is_some() && vs[0].info.error.is_none());
    assert!(vs[1].document.is_none());
    let e = vs[1].info.error.as_ref().expect("the error is kept");
    assert_eq!(e.path, "personas/p.json");
    assert_eq!(vs[2].document.as_ref().unwrap().name, "P2");
}

#[test]
fn labels_follow_refs_and_pins_and_a_missing_ref_is_an_error() {
    let mut r = Repo::new();
    r.write("prompts/a.prompty", &prompt("one"));
    r.write("prompts/b.prompty", &prompt("b1"));
    r.commit("v1");
    r.write("prompts/a.prompty", &prompt("two"));
    r.commit("v2");
    r.git(&["tag", "prompts-prod"]);
    r.write("prompts/a.prompty", &prompt("three"));
    r.write("prompts/b.prompty", &prompt("b2"));
    r.write(
        ".promptshelf/labels.toml",
        "\"prompts/b\" = { production = 2 }\n",
    );
    r.commit("v3");
    let mut labels = BTreeMap::new();
    labels.insert("production".to_owned(), "refs/tags/prompts-prod".to_owned());
    labels.insert("staging".to_owned(), "refs/heads/staging".to_owned());
    let h = extract_at(r.path(), &labels);
    assert_eq!(h.resolve("prompts/a", "latest"), Ok(3));
    assert_eq!(h.resolve("prompts/a", "production"), Ok(2));
    assert_eq!(
        h.resolve("prompts/b", "production"),
        Ok(2),
        "pinned (the tag says 1)"
    );
    let err = h.resolve("prompts/a", "staging").unwrap_err();
    assert!(
        err.to_string()
            .contains("refs/heads/staging` does not exist"),
        "{err}"
    );
    assert!(matches!(h.labels["staging"], LabelState::Broken(_)));
    // A ref that is not in HEAD's history is broken too, not HEAD.
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("prompts/a.prompty", &prompt("side"));
    r.commit("side");
    r.git(&["checkout", "-q", "main"]);
    labels.insert("staging".to_owned(), "refs/heads/side".to_owned());
    let h = extract_at(r.path(), &labels);
    let err = h.resolve("prompts/a", "staging").unwrap_err();
    assert!(
        err.to_string().contains("not in the history of HEAD"),
        "{err}"
    );
}

#[test]
fn detached_head_and_a_library_in_a_subfolder() {
    let mut r = Repo::new();
    r.write("lib/prompts/a.prompty", &prompt("one"));
    let c1 = r.commit("v1");
    r.write("lib/prompts/a.prompty", &prompt("two"));
    r.commit("v2");
    r.git(&["checkout", "-q", &c1]);
    let h = extract_at(&r.path().join("lib"), &no_labels());
    assert!(h.repo.detached);
    assert_eq!(h.repo.branch, None);
    assert_eq!(h.repo.head.as_deref(), Some(c1.as_str()));
    assert_eq!(summaries(&h, "prompts/a"), ["v1"]);
    assert_eq!(
        h.documents["prompts/a"].versions[0].info.path,
        "prompts/a.prompty"
    );
}

#[test]
fn an_unborn_branch_has_no_versions_and_broken_labels() {
    let r = Repo::new();
    r.write("prompts/a.prompty", &prompt("one"));
    let mut labels = BTreeMap::new();
    labels.insert("production".to_owned(), "refs/tags/x".to_owned());
    let h = extract_at(r.path(), &labels);
    assert!(h.repo.git && h.repo.head.is_none());
    assert!(h.documents.is_empty());
    assert!(matches!(h.labels["production"], LabelState::Broken(_)));
}

#[test]
fn a_shallow_clone_has_the_versions_it_has_and_says_so() {
    let mut r = Repo::new();
    for i in 1..=4 {
        r.write("prompts/a.prompty", &prompt(&format!("v{i}")));
        r.commit(&format!("v{i}"));
    }
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.path().display());
    git_in(
        clone.path(),
        &["clone", "-q", "--depth", "2", &url, "c"],
        r.clock,
    );
    let h = extract_at(&clone.path().join("c"), &no_labels());
    assert!(h.repo.shallow);
    assert_eq!(h.repo.commits, 2);
    // The boundary commit holds the file as it was then: that is the oldest version known.
    assert_eq!(summaries(&h, "prompts/a"), ["v3", "v4"]);
}

/// The stored history: an uncommitted edit is a draft on top; committing it turns it into
/// the next version; the content generation changes with the history.
#[test]
fn drafts_are_stored_on_top_and_a_commit_makes_them_a_version() {
    use promptshelf_store::Database;
    let mut r = Repo::new();
    r.write("prompts/a.prompty", &prompt("one"));
    r.commit("v1");
    r.write("prompts/a.prompty", &prompt("edited"));
    let mut db = Database::open_in_memory().unwrap();
    let sync_file = |db: &mut Database, r: &Repo| {
        let bytes = std::fs::read(r.path().join("prompts/a.prompty")).unwrap();
        let doc =
            parse::parse_document("prompts/a.prompty", &bytes, &ParseOptions::default()).unwrap();
        db.write(|w| w.upsert_document(&doc, 0, bytes.len() as u64))
            .unwrap();
    };
    sync_file(&mut db, &r);
    let labels = no_labels();
    let opts = ParseOptions::default();
    let s = store_history(r.path(), &mut db, &labels, &opts).unwrap();
    assert_eq!((s.versions, s.drafts), (2, 1));
    let gen1 = promptshelf_store::read::content_generation(db.conn()).unwrap();
    let (vs, _) = promptshelf_store::versions::versions(db.conn(), "prompts/a", 0, 10).unwrap();
    assert!(vs[1].draft && vs[1].commit.is_none() && vs[1].number == 2);
    r.commit("v2");
    let s = store_history(r.path(), &mut db, &labels, &opts).unwrap();
    assert_eq!((s.versions, s.drafts), (2, 0));
    let (vs, _) = promptshelf_store::versions::versions(db.conn(), "prompts/a", 0, 10).unwrap();
    assert!(!vs[1].draft && vs[1].summary.as_deref() == Some("v2"));
    let gen2 = promptshelf_store::read::content_generation(db.conn()).unwrap();
    assert_ne!(gen1, gen2, "a new version changes the ETag");
}

/// Documents (id, path, versions) and labels (name, commit or error).
type Shape = (
    Vec<(String, String, Vec<VersionInfo>)>,
    Vec<(String, String)>,
);

/// What the read API serves from a history: per document, its path and versions'
/// metadata; per label, its commit or error.
fn shape(h: &History) -> Shape {
    let docs = h
        .documents
        .iter()
        .map(|(id, d)| {
            (
                id.clone(),
                d.path.clone(),
                d.versions.iter().map(|v| v.info.clone()).collect(),
            )
        })
        .collect();
    let labels = h
        .labels
        .iter()
        .map(|(l, s)| {
            let s = match s {
                LabelState::Ok { commit, .. } => commit.clone(),
                LabelState::Broken(m) => m.clone(),
            };
            (l.clone(), s)
        })
        .collect();
    (docs, labels)
}

/// `watch`'s tracker reads only the commits since the last HEAD it saw, and its result
/// equals a cold read of the same repository every time: after edits and a move, a tag
/// moved, a merged branch older than the newest commits (every rank redone, no commit
/// read again), a reset and an amended commit (both read everything again, saying why).
#[test]
fn the_tracker_reads_only_new_commits_and_equals_a_cold_read() {
    let mut r = Repo::new();
    let mut labels = BTreeMap::new();
    labels.insert("production".to_owned(), "refs/tags/prod".to_owned());
    r.write("prompts/a.prompty", &prompt("a1"));
    r.write("prompts/b.prompty", &prompt("b1"));
    r.write("prompts/c.prompty", &prompt("c1"));
    let base = r.commit("base");
    r.git(&["tag", "prod"]);
    let mut t = Tracker::new(r.path(), &labels, &ParseOptions::default(), true);
    let same_as_cold = |t: &Tracker, r: &Repo| {
        assert_eq!(shape(t.history()), shape(&extract_at(r.path(), &labels)));
    };
    let u = t.update().unwrap();
    assert_eq!(
        u.walk,
        Walk::Full {
            reason: "first read".into()
        }
    );
    assert_eq!(u.documents, 3);
    same_as_cold(&t, &r);

    r.write("prompts/a.prompty", &prompt("a2"));
    r.commit("edit a");
    std::fs::create_dir_all(r.path().join("prompts/sub")).unwrap();
    r.git(&["mv", "prompts/b.prompty", "prompts/sub/b.prompty"]);
    r.commit("move b");
    let u = t.update().unwrap();
    assert_eq!(u.walk, Walk::Incremental { commits: 2 });
    // a, and b's old and new ids; c is not rebuilt.
    assert_eq!(u.documents, 3);
    same_as_cold(&t, &r);
    assert_eq!(summaries(t.history(), "prompts/sub/b"), ["base", "move b"]);
    assert_eq!(t.history().resolve("prompts/a", "production"), Ok(1));

    // Only a label moved: no commit is read, the label is resolved again.
    r.git(&["tag", "-f", "prod"]);
    let u = t.update().unwrap();
    assert_eq!((u.walk, u.documents), (Walk::Unchanged, 0));
    assert_eq!(t.history().resolve("prompts/a", "production"), Ok(2));
    same_as_cold(&t, &r);

    // A branch whose commit is older than main's newest: its version goes before them.
    let main_clock = r.clock;
    r.git(&["checkout", "-q", "-b", "old", &base]);
    r.clock = 1_700_000_000 + 90;
    r.write("prompts/c.prompty", &prompt("c2 from an old branch"));
    r.commit("old: c");
    r.git(&["checkout", "-q", "main"]);
    r.clock = main_clock + 60;
    r.git(&["merge", "-q", "--no-ff", "-m", "merge old", "old"]);
    let u = t.update().unwrap();
    assert_eq!(u.walk, Walk::Incremental { commits: 2 });
    same_as_cold(&t, &r);
    assert_eq!(summaries(t.history(), "prompts/c"), ["base", "old: c"]);

    // A reset to an older commit, then an amended commit: the whole history again.
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let u = t.update().unwrap();
    assert!(
        matches!(&u.walk, Walk::Full { reason } if reason.contains("moved back")),
        "{u:?}"
    );
    same_as_cold(&t, &r);
    r.write("prompts/c.prompty", &prompt("c3"));
    r.commit("edit c");
    assert_eq!(t.update().unwrap().walk, Walk::Incremental { commits: 1 });
    r.clock += 60;
    r.git(&["commit", "-q", "--amend", "-m", "edit c (amended)"]);
    let u = t.update().unwrap();
    assert!(
        matches!(&u.walk, Walk::Full { reason } if reason.contains("not an ancestor")),
        "{u:?}"
    );
    same_as_cold(&t, &r);
    assert_eq!(
        summaries(t.history(), "prompts/c"),
        ["base", "edit c (amended)"]
    );
    assert_eq!(
        t.history().repo.walk.as_deref().map(|w| &w[..5]),
        Some("full:")
    );
}

/// A store that knows what it wrote last rewrites only the documents that changed, and
/// leaves the same rows as a store from scratch.
#[test]
fn an_incremental_store_writes_only_what_changed() {
    use promptshelf_store::Database;
    let mut r = Repo::new();
    for name in ["a", "b", "c"] {
        r.write(&format!("prompts/{name}.prompty"), &prompt(name));
    }
    r.commit("base");
    let sync = |db: &mut Database, r: &Repo| {
        for name in ["a", "b", "c"] {
            let rel = format!("prompts/{name}.prompty");
            let bytes = std::fs::read(r.path().join(&rel)).unwrap();
            let doc = parse::parse_document(&rel, &bytes, &ParseOptions::default()).unwrap();
            db.write(|w| w.upsert_document(&doc, 0, bytes.len() as u64))
                .unwrap();
        }
    };
    let rows = |db: &Database| {
        let conn = db.conn();
        let mut contents: Vec<String> = conn
            .prepare("SELECT hash FROM contents ORDER BY hash")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        contents.sort();
        (
            promptshelf_store::versions::digest_input(conn).unwrap(),
            contents,
        )
    };
    let labels = no_labels();
    let opts = ParseOptions::default();
    let mut db = Database::open_in_memory().unwrap();
    sync(&mut db, &r);
    let mut t = Tracker::new(r.path(), &labels, &opts, false);
    let mut state = None;
    t.update().unwrap();
    let s = store_into(r.path(), &mut db, &labels, t.history(), &mut state).unwrap();
    assert_eq!(s.written, 3);
    let stamp1 = promptshelf_store::read::content_generation(db.conn()).unwrap();

    // An uncommitted edit: one draft written.
    r.write("prompts/b.prompty", &prompt("b edited"));
    sync(&mut db, &r);
    let s = store_into(r.path(), &mut db, &labels, t.history(), &mut state).unwrap();
    assert_eq!((s.written, s.drafts), (1, 1));
    // Committed: the draft becomes version 2; the draft's content stays (it is v2's).
    r.commit("edit b");
    t.update().unwrap();
    let s = store_into(r.path(), &mut db, &labels, t.history(), &mut state).unwrap();
    assert_eq!((s.written, s.drafts, s.versions), (1, 0, 4));
    // Nothing moved: nothing written.
    let s = store_into(r.path(), &mut db, &labels, t.history(), &mut state).unwrap();
    assert_eq!(s.written, 0);
    let stamp2 = promptshelf_store::read::content_generation(db.conn()).unwrap();
    assert_ne!(stamp1, stamp2, "a new version changes the ETag");

    let mut fresh = Database::open_in_memory().unwrap();
    sync(&mut fresh, &r);
    store_history(r.path(), &mut fresh, &labels, &opts).unwrap();
    assert_eq!(rows(&db), rows(&fresh));
}

/// `watch`'s ref-poll thread over a real repository and a real sync: the first read is
/// full; a commit becomes the next version by reading that commit alone; an amended
/// commit (history rewritten, as a force-push does) is read in full, and says why.
#[test]
fn watch_follows_commits_incrementally_and_rereads_after_a_rewrite() {
    use crate::config::{Config, LogFormat};
    use promptshelf_store::Database;
    use std::time::{Duration, Instant};
    let mut r = Repo::new();
    r.write("prompts/a.prompty", &prompt("a1"));
    r.write("prompts/b.prompty", &prompt("b1"));
    r.commit("base");
    let root = std::fs::canonicalize(r.path()).unwrap();
    let dbdir = tempfile::tempdir().unwrap();
    let cfg = Config {
        db: dbdir.path().join("shelf.db"),
        root,
        log_format: LogFormat::Text,
        progress: false,
        max_file_bytes: 1 << 20,
        debounce: Duration::from_millis(20),
        reconcile_every: None,
        force_poll: false,
        poll_interval: Duration::from_millis(100),
        schemas: Default::default(),
        schema_sources: Default::default(),
        file: None,
        extra: Default::default(),
    };
    let (handle, thread) = crate::sync::start(&cfg, true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = crate::sync::follow_history(cfg.clone(), handle.clone(), stop.clone());
    // Polls the database until `done` holds for (versions of prompts/a, last walk).
    let wait = |what: &str, done: &dyn Fn(&[VersionInfo], &str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let db = Database::open(&cfg.db).unwrap();
            let (vs, _) = promptshelf_store::versions::versions(db.conn(), "prompts/a", 0, 100)
                .unwrap_or_default();
            let walk = promptshelf_store::read::meta(db.conn(), META_HISTORY)
                .unwrap()
                .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
                .and_then(|m| m["repo"]["walk"].as_str().map(str::to_owned))
                .unwrap_or_default();
            if done(&vs, &walk) {
                return walk;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {vs:?} {walk}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let walk = wait("the first read", &|vs, _| vs.len() == 1);
    assert_eq!(walk, "full: first read");

    r.write("prompts/a.prompty", &prompt("a2"));
    wait("the draft", &|vs, _| vs.len() == 2 && vs[1].draft);
    r.commit("edit a");
    let walk = wait("the commit", &|vs, _| vs.len() == 2 && !vs[1].draft);
    assert_eq!(walk, "incremental: 1 commit(s)");

    r.clock += 60;
    r.git(&["commit", "-q", "--amend", "-m", "edit a (amended)"]);
    let walk = wait("the rewrite", &|vs, _| {
        vs.len() == 2 && vs[1].summary.as_deref() == Some("edit a (amended)")
    });
    assert!(
        walk.starts_with("full: ") && walk.contains("not an ancestor"),
        "{walk}"
    );

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    handle.shutdown();
    follower.join().unwrap();
    thread.join().unwrap().unwrap();
}
