//! `promptshelf sync` / `watch` end to end: the real binary as a child process over
//! real files, real inotify, real SQLite — including `kill -9` at awkward moments,
//! SIGTERM, and damaged database files. Every wait has a deadline.

use promptshelf_store::{read, Database};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_promptshelf"));
    c.env("PROMPTSHELF_LOG", "warn").stdin(Stdio::null());
    c
}

fn persona(id: &str, name: &str) -> String {
    format!(r#"{{"id": "{id}", "name": "{name}", "prompt": "You are {name}."}}"#)
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn db_of(root: &Path) -> PathBuf {
    root.join(".promptshelf/shelf.db")
}

/// id → name, as the database has it (empty when the database does not exist yet).
fn names(db: &Path) -> BTreeMap<String, String> {
    if !db.exists() {
        return BTreeMap::new();
    }
    let Ok(s) = Database::open_read_only(db) else {
        return BTreeMap::new();
    };
    read::all_documents(s.conn())
        .map(|v| v.into_iter().map(|d| (d.id, d.name)).collect())
        .unwrap_or_default()
}

/// id → name, as the files say (what the database must converge to).
fn expected(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(root.join("personas")).unwrap().flatten() {
        let text = fs::read_to_string(e.path()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        out.insert(
            v["id"].as_str().unwrap().to_owned(),
            v["name"].as_str().unwrap().to_owned(),
        );
    }
    out
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("promptshelf did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn watch(root: &Path, extra: &[&str]) -> Child {
    bin()
        .arg("watch")
        .arg(root)
        .args(["--debounce-ms", "20", "--no-progress"])
        .args(extra)
        .spawn()
        .unwrap()
}

#[test]
fn sync_then_watch_edit_is_visible_and_sigterm_applies_the_pending_change() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    let out = bin().arg("sync").arg(root).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&db_of(root)).len(), 1);

    // A long debounce, so the last change is surely still pending at SIGTERM.
    let mut child = bin()
        .arg("watch")
        .arg(root)
        .args(["--debounce-ms", "3000", "--no-progress"])
        .spawn()
        .unwrap();
    write(root, "personas/b.json", &persona("b", "B"));
    wait_until("b visible", Duration::from_secs(20), || {
        names(&db_of(root)).contains_key("b")
    });
    write(root, "personas/a.json", &persona("a", "A-last"));
    std::thread::sleep(Duration::from_millis(100)); // let the event reach the watcher
    signal(&child, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    assert_eq!(names(&db_of(root))["a"], "A-last");
    // The WAL was checkpointed into the main file.
    let wal = root.join(".promptshelf/shelf.db-wal");
    assert!(!wal.exists() || fs::metadata(&wal).unwrap().len() == 0);
}

#[test]
fn kill_9_at_awkward_moments_then_restart_converges_to_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..2000 {
        write(
            root,
            &format!("personas/p{i:04}.json"),
            &persona(&format!("p{i}"), "v1"),
        );
    }
    // 1: killed during the initial sync (as soon as the first batch is visible).
    let mut child = watch(root, &[]);
    wait_until("first batch", Duration::from_secs(60), || {
        !names(&db_of(root)).is_empty()
    });
    signal(&child, "-KILL");
    wait_exit(&mut child, Duration::from_secs(10));

    // 2: killed in the middle of a burst of live changes.
    let mut child = watch(root, &[]);
    wait_until("initial sync", Duration::from_secs(60), || {
        names(&db_of(root)).len() == 2000
    });
    for i in 0..600 {
        write(
            root,
            &format!("personas/p{i:04}.json"),
            &persona(&format!("p{i}"), "v2"),
        );
    }
    for i in 1000..1150 {
        fs::remove_file(root.join(format!("personas/p{i:04}.json"))).unwrap();
    }
    wait_until("some of the burst", Duration::from_secs(60), || {
        names(&db_of(root)).values().any(|n| n == "v2")
    });
    signal(&child, "-KILL");
    wait_exit(&mut child, Duration::from_secs(10));

    // Changes while nothing runs.
    for i in 1900..2000 {
        write(
            root,
            &format!("personas/p{i:04}.json"),
            &persona(&format!("p{i}"), "v3"),
        );
    }
    write(root, "personas/new.json", &persona("new", "N"));

    // 3: restart; it must converge to exactly the files.
    let want = expected(root);
    let mut child = watch(root, &[]);
    wait_until("converged", Duration::from_secs(60), || {
        names(&db_of(root)) == want
    });
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(20)).success());
    let s = Database::open_read_only(&db_of(root)).unwrap();
    s.quick_check().unwrap();
    assert_eq!(read::all_files(s.conn()).unwrap().len(), want.len());
}

/// The build file of a fresh database (see `promptshelf_store::fresh`).
fn build_of(root: &Path) -> PathBuf {
    root.join(".promptshelf/shelf.db-build")
}

#[test]
fn kill_9_during_a_fresh_build_leaves_no_database_and_a_restart_converges() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Three chunks of 1,024 files: the kill below lands after the first commit.
    for i in 0..3000 {
        write(
            root,
            &format!("personas/p{i:04}.json"),
            &persona(&format!("p{i}"), "v1"),
        );
    }
    let db = db_of(root);
    let want = expected(root);
    // A one-shot sync into an absent database builds it beside its place; kill it once
    // the build holds documents (past the empty schema's few pages), or whenever that
    // is seen: a fast machine may finish first, and then the database must be whole.
    let mut child = bin()
        .arg("sync")
        .arg(root)
        .arg("--no-progress")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if fs::metadata(build_of(root)).is_ok_and(|m| m.len() > 256 * 1024) {
            signal(&child, "-KILL");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sync neither built nor ended"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    wait_exit(&mut child, Duration::from_secs(10));
    // Either no database at all, or a whole one: never a partial one at its place.
    if db.exists() {
        let s = Database::open_read_only(&db).unwrap();
        s.quick_check().unwrap();
        assert_eq!(names(&db), want);
    }

    // The restart (a new build over the leftover one) converges and cleans up.
    let out = bin().arg("sync").arg(root).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&db), want);
    assert!(!build_of(root).exists(), "the build file is gone");
    let s = Database::open_read_only(&db).unwrap();
    s.quick_check().unwrap();
    let mode: String = s
        .conn()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    // And a live watch over it (no fresh build: the database exists) sees edits.
    write(root, "personas/p0000.json", &persona("p0", "v2"));
    let mut child = watch(root, &["--no-serve"]);
    wait_until("edit visible", Duration::from_secs(60), || {
        names(&db).get("p0").is_some_and(|n| n == "v2")
    });
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(20)).success());
}

#[test]
fn a_damaged_database_is_moved_aside_and_rebuilt_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..200 {
        write(
            root,
            &format!("personas/p{i:03}.json"),
            &persona(&format!("p{i}"), "P"),
        );
    }
    let db = db_of(root);
    assert!(bin().arg("sync").arg(root).status().unwrap().success());

    // Truncated to half: pages missing.
    let bytes = fs::read(&db).unwrap();
    fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
    let out = bin().arg("sync").arg(root).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&db).len(), 200);

    // Not a database at all.
    fs::write(&db, vec![0xA5u8; 10_000]).unwrap();
    let out = bin().arg("sync").arg(root).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&db).len(), 200);

    let aside = fs::read_dir(root.join(".promptshelf"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .count();
    assert!(aside >= 1, "damaged files are kept for inspection");
}

#[test]
fn the_database_can_live_anywhere_and_is_never_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    // Inside a document folder, through a relative path with `..` in it.
    let db = root.join("personas/sub/../store.db");
    let out = bin()
        .arg("sync")
        .arg(root)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .arg("sync")
        .arg(root)
        .arg("--db")
        .arg(root.join("personas/b.json"))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a document path must be refused as the database"
    );
    assert!(!root.join("personas/b.json").exists());
}

#[test]
fn help_explains_the_options() {
    let out = bin().args(["watch", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--db",
        "--debounce-ms",
        "--reconcile-secs",
        "--poll",
        "--log-format",
        "PROMPTSHELF_DB",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    write(root, "personas/bad.json", "{ nope");
    let out = Command::new(env!("CARGO_BIN_EXE_promptshelf"))
        .args(["sync", "--log-format", "json"])
        .arg(root)
        .env("PROMPTSHELF_LOG", "info")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|v| v["fields"]["path"] == "personas/bad.json"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|v| v["fields"]["message"] == "sync complete"),
        "{text}"
    );
}

/// A child whose stderr is collected as it comes, killed when dropped.
struct Logged {
    child: Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Logged {
    fn spawn(cmd: &mut Command) -> Logged {
        let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (mut err, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Logged { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The port in the first `http://ADDR:PORT/` the log names.
    fn port(&mut self) -> u16 {
        let mut port = None;
        wait_until(
            "the server address in the log",
            Duration::from_secs(30),
            || {
                if let Some(s) = self.child.try_wait().unwrap() {
                    panic!("exited {s:?}: {}", self.log());
                }
                let log = self.log();
                port = log.split("http://").skip(1).find_map(|rest| {
                    let addr = rest.split('/').next()?;
                    addr.rsplit_once(':')?.1.parse::<u16>().ok()
                });
                port.is_some()
            },
        );
        port.unwrap()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET target` to 127.0.0.1:port with these headers; (status, head, body).
fn http_get(port: u16, target: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("GET {target} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// Off loopback, the server needs the host names clients will use (a DNS-rebinding
/// defence) and refuses to start without them, saying which option to set.
#[test]
fn serving_off_loopback_needs_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    assert!(bin()
        .arg("sync")
        .arg(root)
        .output()
        .unwrap()
        .status
        .success());
    let serve = |extra: &[(&str, &str)]| {
        let mut c = bin();
        c.args(["serve", "--listen", "0.0.0.0:0", "--db"])
            .arg(db_of(root))
            .env("PROMPTSHELF_ADMIN_TOKEN", "0123456789abcdef-token")
            .env_remove("PROMPTSHELF_ALLOWED_HOSTS")
            .env("RUST_LOG", "info");
        for (k, v) in extra {
            c.env(k, v);
        }
        c
    };
    let out = serve(&[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allowed-host"), "{err}");
    assert!(err.contains("PROMPTSHELF_ALLOWED_HOSTS"), "{err}");

    let mut s = Logged::spawn(&mut serve(&[(
        "PROMPTSHELF_ALLOWED_HOSTS",
        "shelf.test,.corp.test",
    )]));
    let port = s.port();
    let host = format!("shelf.test:{port}");
    assert_eq!(http_get(port, "/v1/health", &[("Host", &host)]).0, 200);
    assert_eq!(
        http_get(port, "/v1/health", &[("Host", "a.corp.test")]).0,
        200
    );
    let (status, _, body) = http_get(port, "/v1/health", &[("Host", "evil.test")]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("host_not_allowed"), "{body}");
}

/// `watch` reads the server's lists from `[server]` in promptshelf.toml; flags beat it;
/// `*` is logged as a warning.
#[test]
fn watch_reads_server_lists_from_promptshelf_toml() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "personas/a.json", &persona("a", "A"));
    write(
        root,
        "promptshelf.toml",
        "[server]\nallowed_hosts = [\"shelf.test\"]\ncors_origins = [\"https://app.example.com\"]\n",
    );
    let start = |extra: &[&str]| {
        let mut c = bin();
        c.arg("watch")
            .arg(root)
            .args(["--no-progress", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("PROMPTSHELF_LOG", "info")
            .env_remove("PROMPTSHELF_ALLOWED_HOSTS")
            .env_remove("PROMPTSHELF_CORS_ORIGINS");
        Logged::spawn(&mut c)
    };
    let mut w = start(&[]);
    let port = w.port();
    let local = format!("127.0.0.1:{port}");
    let (status, _, _) = http_get(port, "/v1/health", &[("Host", "shelf.test")]);
    assert_eq!(status, 200);
    let (_, head, _) = http_get(
        port,
        "/v1/health",
        &[("Host", &local), ("Origin", "https://app.example.com")],
    );
    assert!(
        head.contains("access-control-allow-origin: https://app.example.com"),
        "{head}"
    );
    let (_, head, _) = http_get(
        port,
        "/v1/health",
        &[("Host", &local), ("Origin", "https://evil.example.com")],
    );
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    drop(w);

    // Flags beat the file; `*` is a warning in the log.
    let mut w = start(&["--cors-origin", "*", "--allowed-host", "other.test"]);
    let port = w.port();
    assert_eq!(
        http_get(port, "/v1/health", &[("Host", "shelf.test")]).0,
        403
    );
    assert_eq!(
        http_get(port, "/v1/health", &[("Host", "other.test")]).0,
        200
    );
    let (_, head, _) = http_get(
        port,
        "/v1/health",
        &[
            ("Host", "other.test"),
            ("Origin", "https://evil.example.com"),
        ],
    );
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
    assert!(w.log().contains("every website"), "{}", w.log());
    drop(w);

    // A value that is not an origin stops the start with a message.
    let out = bin()
        .arg("watch")
        .arg(root)
        .args([
            "--no-progress",
            "--listen",
            "127.0.0.1:0",
            "--cors-origin",
            "app.example.com",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not an origin"), "{err}");
}
