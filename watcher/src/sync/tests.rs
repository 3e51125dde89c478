//! In-process tests of the sync over real files in temp folders, the real notify
//! watcher and real SQLite. Child-process tests (kill -9, SIGTERM) are in tests/tests/.

use super::*;
use crate::config::{Config, LogFormat};
use promptshelf_store::{read, Database};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

fn cfg(root: &Path) -> Config {
    let root = fs::canonicalize(root).unwrap();
    fs::create_dir_all(root.join(".promptshelf")).unwrap();
    Config {
        db: root.join(".promptshelf/shelf.db"),
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
    }
}

fn persona(id: &str, name: &str) -> String {
    format!(r#"{{"id": "{id}", "name": "{name}", "prompt": "You are {name}."}}"#)
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// id → (path, name, stale); empty while the database does not exist yet (a fresh
/// one is built beside its place and appears whole when the initial sync ends).
fn docs(db: &Path) -> BTreeMap<String, (String, String, bool)> {
    if !db.exists() {
        return BTreeMap::new();
    }
    let s = Database::open_read_only(db).unwrap();
    read::all_documents(s.conn())
        .unwrap()
        .into_iter()
        .map(|d| (d.id, (d.file_path, d.name, d.stale)))
        .collect()
}

fn errors(db: &Path) -> BTreeMap<String, promptshelf_store::ErrorKind> {
    let s = Database::open_read_only(db).unwrap();
    read::sync_errors(s.conn())
        .unwrap()
        .into_iter()
        .map(|e| (e.path, e.kind))
        .collect()
}

/// Moves mtimes an hour back, out of the "racy" window (files written this instant are
/// confirmed by hash on the next reconcile even when size and mtime match).
fn age(root: &Path, rels: &[&str]) {
    let t = std::time::SystemTime::now() - Duration::from_secs(3600);
    for r in rels {
        fs::File::options()
            .write(true)
            .open(root.join(r))
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sync_applies_only_the_difference_and_removes_deleted_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    write(root, "personas/b.json", &persona("b", "B"));
    write(
        root,
        "prompts/p.prompty",
        "---\nname: P\n---\nsystem:\nHello {{x}}\n",
    );
    write(root, "notes/readme.md", "not a document");
    age(
        root,
        &["personas/a.json", "personas/b.json", "prompts/p.prompty"],
    );
    let c = cfg(root);
    let (r, st) = run_once(&c).unwrap();
    assert_eq!((r.files, r.read, st.documents), (3, 3, 3));

    // Unchanged restart reads nothing.
    let (r, _) = run_once(&c).unwrap();
    assert_eq!((r.read, r.upserted, r.removed), (0, 0, 0));

    write(root, "personas/a.json", &persona("a", "A2"));
    fs::remove_file(root.join("personas/b.json")).unwrap();
    let (r, _) = run_once(&c).unwrap();
    assert_eq!((r.upserted, r.removed), (1, 1));
    let d = docs(&c.db);
    assert_eq!(
        d.keys().cloned().collect::<Vec<_>>(),
        ["a", "prompts/p"],
        "{d:?}"
    );
    assert_eq!(d["a"].1, "A2");
}

/// The restart's shortcuts (no set of on-disk paths while every record is found, walk
/// on several threads) still see a file deleted while another appears, in folders the
/// walk lists in parallel, and a touched but unchanged file is confirmed by its hash.
#[test]
fn restart_sees_one_file_gone_and_another_new_and_confirms_a_touched_file_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut rels = Vec::new();
    for g in 0..6 {
        for i in 0..3 {
            let rel = format!("personas/g{g}/p{g}{i}.json");
            write(root, &rel, &persona(&format!("p{g}{i}"), "P"));
            rels.push(rel);
        }
    }
    let rels: Vec<&str> = rels.iter().map(String::as_str).collect();
    age(root, &rels);
    let c = cfg(root);
    let (r, _) = run_once(&c).unwrap();
    assert_eq!((r.files, r.upserted), (18, 18));

    // Same count of files, different set: p00 gone, q new, in another folder.
    fs::remove_file(root.join("personas/g0/p00.json")).unwrap();
    write(root, "personas/g5/q.json", &persona("q", "Q"));
    // Touched: same bytes, another mtime.
    fs::File::options()
        .write(true)
        .open(root.join("personas/g3/p31.json"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(1800))
        .unwrap();
    age(root, &["personas/g5/q.json"]);
    let (r, _) = run_once(&c).unwrap();
    assert_eq!(
        (r.files, r.gone, r.read, r.upserted, r.removed),
        (18, 1, 2, 1, 1),
        "{r:?}"
    );
    let d = docs(&c.db);
    assert_eq!(d.len(), 18);
    assert!(d.contains_key("q") && !d.contains_key("p00"), "{d:?}");

    // And the touched file's new mtime was recorded: the next restart reads nothing.
    let (r, _) = run_once(&c).unwrap();
    assert_eq!(
        (r.read, r.gone, r.upserted, r.removed),
        (0, 0, 0, 0),
        "{r:?}"
    );
}

/// Files synced the instant they were written are "racy": the next reconcile reads
/// them again and confirms them by hash. A batch of confirmations only updates their
/// records: documents, generation and the stored search index stay as they were.
#[test]
fn racy_files_are_confirmed_by_hash_without_touching_documents_or_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    write(root, "personas/b.json", &persona("b", "B"));
    let c = cfg(root);
    run_once(&c).unwrap();
    let snapshot = |db: &Path| {
        let s = Database::open_read_only(db).unwrap();
        let racy: Vec<bool> = read::all_files(s.conn())
            .unwrap()
            .iter()
            .map(|f| f.racy)
            .collect();
        let gen = read::generation(s.conn()).unwrap();
        let index = read::search_index(s.conn()).unwrap();
        (racy, gen, index)
    };
    let (racy, gen, index) = snapshot(&c.db);
    assert_eq!(racy, [true, true], "written just now, so racy");
    let before = docs(&c.db);

    // Out of the window now (without changing the files' mtimes).
    std::thread::sleep(Duration::from_millis(150));
    let (r, _) = run_once(&c).unwrap();
    assert_eq!((r.read, r.upserted, r.removed), (2, 0, 0), "{r:?}");
    let (racy_after, gen_after, index_after) = snapshot(&c.db);
    assert_eq!(racy_after, [false, false]);
    assert_eq!(gen_after, gen, "nothing a reader sees changed");
    assert_eq!(index_after, index);
    assert_eq!(docs(&c.db), before);

    let (r, _) = run_once(&c).unwrap();
    assert_eq!(r.read, 0, "confirmed records are trusted: {r:?}");
}

#[test]
fn a_broken_file_keeps_its_last_good_document_as_stale_until_fixed_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    let c = cfg(root);
    run_once(&c).unwrap();
    write(root, "personas/a.json", "{\"id\": \"a\",\n \"name\": ");
    run_once(&c).unwrap();
    assert_eq!(
        docs(&c.db)["a"],
        ("personas/a.json".into(), "A".into(), true)
    );
    let s = Database::open_read_only(&c.db).unwrap();
    let e = read::sync_errors(s.conn()).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, promptshelf_store::ErrorKind::Parse);
    assert_eq!(e[0].line, Some(2), "{e:?}");
    assert_eq!(e[0].doc_id.as_deref(), Some("a"));
    drop(s);

    write(root, "personas/a.json", &persona("a", "A3"));
    run_once(&c).unwrap();
    assert_eq!(
        docs(&c.db)["a"],
        ("personas/a.json".into(), "A3".into(), false)
    );
    assert!(errors(&c.db).is_empty());

    write(root, "personas/a.json", "nope");
    run_once(&c).unwrap();
    fs::remove_file(root.join("personas/a.json")).unwrap();
    run_once(&c).unwrap();
    assert!(docs(&c.db).is_empty());
    assert!(errors(&c.db).is_empty());
}

#[test]
fn duplicate_ids_first_path_wins_and_the_loser_takes_over_when_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/b.json", &persona("same", "B"));
    let c = cfg(root);
    run_once(&c).unwrap();
    // An earlier path with the same id appears: it wins, b becomes an error.
    write(root, "personas/a.json", &persona("same", "A"));
    run_once(&c).unwrap();
    assert_eq!(docs(&c.db)["same"].0, "personas/a.json");
    assert_eq!(
        errors(&c.db),
        BTreeMap::from([(
            "personas/b.json".into(),
            promptshelf_store::ErrorKind::DuplicateId
        )])
    );
    // The winner goes: the other file provides the document again, error gone.
    fs::remove_file(root.join("personas/a.json")).unwrap();
    run_once(&c).unwrap();
    assert_eq!(
        docs(&c.db)["same"],
        ("personas/b.json".into(), "B".into(), false)
    );
    assert!(errors(&c.db).is_empty());
}

#[test]
fn a_damaged_database_is_moved_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    let c = cfg(root);
    fs::write(
        &c.db,
        b"this is not a database, just bytes................................",
    )
    .unwrap();
    let (_, st) = run_once(&c).unwrap();
    assert_eq!(st.documents, 1);
    let aside: Vec<_> = fs::read_dir(root.join(".promptshelf"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
}

/// A running watch over `root`; stopped (and checked to stop cleanly) on drop.
struct Running {
    handle: SyncHandle,
    thread: Option<std::thread::JoinHandle<Result<(), SyncError>>>,
    db: std::path::PathBuf,
}

impl Running {
    fn start(c: &Config) -> Running {
        let (handle, thread) = start(c, false).unwrap();
        Running {
            handle,
            thread: Some(thread),
            db: c.db.clone(),
        }
    }
    fn barrier(&self) -> BarrierReport {
        self.handle.barrier(Duration::from_secs(20)).unwrap()
    }
    fn docs(&self) -> BTreeMap<String, (String, String, bool)> {
        docs(&self.db)
    }
    fn stop(mut self) {
        self.handle.shutdown();
        self.thread.take().unwrap().join().unwrap().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

#[test]
fn live_add_change_rename_atomic_save_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    write(&root, "personas/a.json", &persona("a", "A"));
    let c = cfg(&root);
    let w = Running::start(&c);
    assert_eq!(w.barrier().method, BarrierMethod::Cookie);
    assert_eq!(w.docs().len(), 1);

    // Add, seen without any barrier (the live path).
    write(&root, "personas/b.json", &persona("b", "B"));
    wait_until("b synced", Duration::from_secs(10), || {
        w.docs().contains_key("b")
    });

    // Change.
    write(&root, "personas/b.json", &persona("b", "B2"));
    w.barrier();
    assert_eq!(w.docs()["b"].1, "B2");

    // Rename: delete + add of the same id in one batch.
    fs::rename(root.join("personas/b.json"), root.join("personas/c.json")).unwrap();
    w.barrier();
    assert_eq!(w.docs()["b"].0, "personas/c.json");

    // Atomic save the way editors do it: vim's 4913 probe, a backup, write temp, rename over.
    write(&root, "personas/4913", "");
    fs::remove_file(root.join("personas/4913")).unwrap();
    fs::copy(root.join("personas/a.json"), root.join("personas/a.json~")).unwrap();
    write(&root, "personas/.a.json.swp", "swap");
    write(&root, "personas/.a.json.tmp", &persona("a", "A-saved"));
    fs::rename(
        root.join("personas/.a.json.tmp"),
        root.join("personas/a.json"),
    )
    .unwrap();
    w.barrier();
    let d = w.docs();
    assert_eq!(d["a"].1, "A-saved");
    assert_eq!(d.len(), 2, "{d:?}");

    // Delete.
    fs::remove_file(root.join("personas/c.json")).unwrap();
    w.barrier();
    assert!(!w.docs().contains_key("b"));
    let st = w.handle.status();
    assert_eq!(st.phase, Phase::Watching);
    assert_eq!(st.documents, 1);
    assert!(
        st.events > 0 && st.batches > 0 && st.barriers >= 5,
        "{st:?}"
    );
    w.stop();
}

#[test]
fn live_folders_moved_in_moved_out_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.join("personas")).unwrap();
    for i in 0..5 {
        write(
            outside.path(),
            &format!("team/sub/p{i}.json"),
            &persona(&format!("t{i}"), "T"),
        );
    }
    let c = cfg(&root);
    let w = Running::start(&c);
    w.barrier();
    // Move a whole folder (with a subfolder) in.
    fs::rename(outside.path().join("team"), root.join("personas/team")).unwrap();
    wait_until("folder moved in", Duration::from_secs(10), || {
        w.docs().len() == 5
    });
    // New files inside the moved folder are watched too.
    write(&root, "personas/team/sub/p9.json", &persona("t9", "T"));
    w.barrier();
    assert_eq!(w.docs().len(), 6);
    // Rename it inside the library; later writes under the new name still arrive.
    fs::rename(root.join("personas/team"), root.join("personas/crew")).unwrap();
    w.barrier();
    assert!(w
        .docs()
        .values()
        .all(|(p, _, _)| p.starts_with("personas/crew/")));
    write(
        &root,
        "personas/crew/sub/p9.json",
        &persona("t9", "T-renamed"),
    );
    w.barrier();
    assert_eq!(w.docs()["t9"].1, "T-renamed");
    assert_eq!(w.docs().len(), 6);
    // Move it out again.
    fs::rename(root.join("personas/crew"), outside.path().join("team2")).unwrap();
    w.barrier();
    assert!(w.docs().is_empty());
    // Create a folder in place, then delete it whole.
    for i in 0..3 {
        write(
            &root,
            &format!("personas/tmp/x{i}.json"),
            &persona(&format!("x{i}"), "X"),
        );
    }
    w.barrier();
    assert_eq!(w.docs().len(), 3);
    fs::remove_dir_all(root.join("personas/tmp")).unwrap();
    w.barrier();
    assert!(w.docs().is_empty());
    w.stop();
}

#[test]
fn live_burst_of_1000_writes_all_arrive_and_own_files_are_never_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    fs::create_dir_all(root.join("personas")).unwrap();
    let mut c = cfg(&root);
    // The database right inside a watched document folder.
    c.db = root.join("personas/shelf.db");
    let w = Running::start(&c);
    w.barrier();
    for i in 0..1000 {
        write(
            &root,
            &format!("personas/p{i:04}.json"),
            &persona(&format!("p{i}"), "P"),
        );
    }
    let last_write = Instant::now();
    wait_until("1000 documents", Duration::from_secs(30), || {
        w.docs().len() == 1000
    });
    eprintln!(
        "burst of 1000 visible {:?} after the last write",
        last_write.elapsed()
    );
    // Rewrite them all.
    for i in 0..1000 {
        write(
            &root,
            &format!("personas/p{i:04}.json"),
            &persona(&format!("p{i}"), "Q"),
        );
    }
    wait_until("1000 rewritten", Duration::from_secs(30), || {
        w.docs().values().all(|(_, n, _)| n == "Q")
    });
    let g1 = w.barrier().generation;
    // Quiet library: our own database writes must not cause more batches.
    std::thread::sleep(Duration::from_millis(200));
    let g2 = w.barrier().generation;
    assert_eq!(g1, g2, "the watcher reacted to its own database writes");
    let s = Database::open_read_only(&c.db).unwrap();
    assert!(read::all_files(s.conn())
        .unwrap()
        .iter()
        .all(|f| f.path.ends_with(".json")));
    drop(s);
    w.stop();
}

#[test]
fn live_broken_then_fixed_and_duplicates_appearing_and_disappearing() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    write(&root, "personas/b.json", &persona("x", "B"));
    let c = cfg(&root);
    let w = Running::start(&c);
    w.barrier();
    write(&root, "personas/b.json", "{ broken");
    w.barrier();
    assert_eq!(w.docs()["x"], ("personas/b.json".into(), "B".into(), true));
    assert_eq!(w.handle.errors().len(), 1);
    write(&root, "personas/b.json", &persona("x", "B2"));
    w.barrier();
    assert_eq!(
        w.docs()["x"],
        ("personas/b.json".into(), "B2".into(), false)
    );
    assert!(w.handle.errors().is_empty());

    write(&root, "personas/a.json", &persona("x", "A"));
    w.barrier();
    assert_eq!(w.docs()["x"].0, "personas/a.json");
    assert_eq!(w.handle.errors()[0].path, "personas/b.json");
    fs::remove_file(root.join("personas/a.json")).unwrap();
    w.barrier();
    assert_eq!(w.docs()["x"].0, "personas/b.json");
    assert!(w.handle.errors().is_empty());
    w.stop();
}

#[test]
fn polling_mode_syncs_and_barrier_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    fs::create_dir_all(root.join("personas")).unwrap();
    let mut c = cfg(&root);
    c.force_poll = true;
    c.poll_interval = Duration::from_millis(50);
    let w = Running::start(&c);
    assert_eq!(w.handle.status().mode, WatchMode::Poll);
    write(&root, "personas/a.json", &persona("a", "A"));
    wait_until("polled", Duration::from_secs(10), || {
        w.docs().contains_key("a")
    });
    write(&root, "personas/b.json", &persona("b", "B"));
    assert_eq!(w.barrier().method, BarrierMethod::Reconcile);
    assert!(w.docs().contains_key("b"));
    w.stop();
}

#[test]
fn reload_reports_a_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    write(&root, "personas/a.json", &persona("a", "A"));
    let c = cfg(&root);
    let w = Running::start(&c);
    let r = w.handle.reload(Duration::from_secs(20)).unwrap();
    assert_eq!(r.files, 1);
    w.stop();
}

#[test]
fn the_stored_search_index_follows_every_batch() {
    use promptshelf_core::search::Index;
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    write(&root, "personas/a.json", &persona("a", "Alpha"));
    write(&root, "personas/b.json", &persona("b", "Bravo"));
    let c = cfg(&root);
    let index = || {
        let s = Database::open_read_only(&c.db).unwrap();
        let gen = read::generation(s.conn()).unwrap();
        let (g, bytes) = read::search_index(s.conn()).unwrap().expect("index stored");
        assert_eq!(g, gen, "index generation lags the documents");
        Index::from_bytes(&bytes).unwrap()
    };
    run_once(&c).unwrap();
    assert_eq!(index().len(), 2);
    let w = Running::start(&c);
    fs::remove_file(root.join("personas/b.json")).unwrap();
    write(&root, "personas/c.json", &persona("c", "Charlie"));
    w.barrier();
    let ix = index();
    assert_eq!(ix.len(), 2);
    assert!(ix.contains(&"c".into()) && !ix.contains(&"b".into()));
    w.stop();
}

#[test]
fn a_locked_database_delays_a_batch_but_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    fs::create_dir_all(root.join("personas")).unwrap();
    let c = cfg(&root);
    let w = Running::start(&c);
    w.barrier();
    // Another process holds the write lock for a while (SQLITE_BUSY for the watcher).
    let other = promptshelf_store::rusqlite::Connection::open(&c.db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    write(&root, "personas/a.json", &persona("a", "A"));
    std::thread::sleep(Duration::from_millis(300)); // the lock is held on purpose
    other.execute_batch("COMMIT").unwrap();
    w.barrier();
    assert!(w.docs().contains_key("a"));
    w.stop();
}

#[test]
fn periodic_reconcile_runs_on_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    fs::create_dir_all(root.join("personas")).unwrap();
    let mut c = cfg(&root);
    c.reconcile_every = Some(Duration::from_millis(50));
    let w = Running::start(&c);
    wait_until("three periodic reconciles", Duration::from_secs(10), || {
        w.handle.status().reconciles >= 4
    });
    w.stop();
}

#[test]
fn a_barrier_after_a_schema_edit_sees_the_collection_validated_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    write(&root, "personas/a.json", &persona("a", "Ann"));
    write(
        &root,
        "promptshelf.toml",
        "[schemas]\npersonas = \"schemas/p.json\"\n",
    );
    write(&root, "schemas/p.json", r#"{"required": ["name"]}"#);
    let mut c = cfg(&root);
    c.file = Some(root.join("promptshelf.toml"));
    let (schemas, sources) = crate::config::reload_schemas(&root.join("promptshelf.toml")).unwrap();
    c.schemas = schemas;
    c.schema_sources = sources;
    // A long debounce: without the barrier, the edit would still be waiting.
    c.debounce = Duration::from_secs(30);
    let w = Running::start(&c);
    w.barrier();
    assert!(w.docs().contains_key("a"));
    assert!(errors(&w.db).is_empty());

    write(&root, "schemas/p.json", r#"{"required": ["zzz"]}"#);
    w.barrier();
    let e = errors(&w.db);
    assert_eq!(
        e.get("personas/a.json"),
        Some(&promptshelf_store::ErrorKind::Parse),
        "{e:?}"
    );
    // Its last good version stays served, marked stale.
    assert!(w.docs()["a"].2, "{:?}", w.docs());

    write(&root, "schemas/p.json", r#"{"required": ["name"]}"#);
    w.barrier();
    assert!(errors(&w.db).is_empty());
    assert!(!w.docs()["a"].2);
    w.stop();
}
