//! `promptshelf log` / `show` / `diff` as a user runs them, on a git repository the test
//! makes with the `git` CLI (the product reads git with gix): what the text output shows
//! matches the dashboard's versions table and diff (dates, labels, changed fields, a
//! removed front-matter fence, a move with the same text).

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, clock: i64, args: &[&str]) {
    let date = format!("@{clock} +0000");
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cli(dir: &Path, cmd: &str, rest: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_promptshelf"));
    c.arg(cmd).arg(dir).args(rest);
    c.output().expect("run promptshelf")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn log_show_diff_text_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let clock = std::cell::Cell::new(1_700_000_000);
    let commit = |msg: &str| {
        clock.set(clock.get() + 60);
        git(dir, clock.get(), &["add", "-A"]);
        git(dir, clock.get(), &["commit", "-q", "-m", msg]);
    };
    git(dir, 0, &["init", "-q", "-b", "main"]);
    write(
        "promptshelf.toml",
        "[labels]\nproduction = \"refs/tags/prompts-prod\"\nstaging = \"refs/heads/staging\"\n",
    );
    write(
        "prompts/support/reply.prompty",
        "---\nname: Reply\ndescription: first\n---\nuser:\nhi\n",
    );
    commit("add reply"); // v1, 2023-11-14 22:14 UTC
    write(
        "prompts/support/reply.prompty",
        "---\nname: Reply\ndescription: second\n---\nuser:\nhi\n",
    );
    commit("reply: second"); // v2
    git(dir, clock.get(), &["tag", "prompts-prod"]);
    // No front matter any more: the removed fence is the line `----`.
    write("prompts/support/reply.prompty", "user:\nhello\n");
    commit("reply: plain"); // v3
    std::fs::create_dir_all(dir.join("prompts/help")).unwrap();
    git(
        dir,
        clock.get(),
        &[
            "mv",
            "prompts/support/reply.prompty",
            "prompts/help/reply.prompty",
        ],
    );
    commit("move reply"); // v4
    let id = "prompts/help/reply";

    // log: newest first, with the date (UTC) and the labels naming each version.
    let log = stdout(&cli(dir, "log", &[id]));
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(lines[0].starts_with("v4 "), "{log}");
    assert!(
        lines[0]
            .contains("2023-11-14 22:17  Ada  move reply  prompts/help/reply.prompty  [latest]"),
        "{log}"
    );
    assert!(
        lines[2].ends_with("reply: second  prompts/support/reply.prompty  [production]"),
        "{log}"
    );
    assert!(
        lines[3].contains("2023-11-14 22:14  Ada  add reply"),
        "{log}"
    );
    assert!(
        !log.contains("staging"),
        "a broken label names nothing: {log}"
    );

    // diff (not a terminal: no colour): the unified diff, then the changed fields.
    let d = stdout(&cli(dir, "diff", &[id, "production", "3"]));
    assert!(
        d.starts_with(
            "--- a/prompts/support/reply.prompty\n+++ b/prompts/support/reply.prompty\n@@"
        ),
        "{d}"
    );
    assert!(d.contains("\n----\n-name: Reply\n"), "{d}");
    assert!(!d.contains('\x1b'), "no colour off a terminal: {d}");
    let fields = d.lines().last().unwrap();
    assert!(fields.starts_with("changed fields: "), "{d}");
    assert!(
        fields.contains("/description") && fields.contains("/body"),
        "{d}"
    );

    // A move: the same text, other fields.
    let d = stdout(&cli(dir, "diff", &[id, "3", "latest"]));
    assert_eq!(
        d,
        "v3 and v4: the file text is the same\nchanged fields: /id /path\n"
    );

    // show: the file as it was; an unresolved label exits 2 and says why.
    let s = stdout(&cli(dir, "show", &[&format!("{id}@production")]));
    assert!(s.contains("description: second"), "{s}");
    let o = cli(dir, "show", &[&format!("{id}@staging")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("refs/heads/staging"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
