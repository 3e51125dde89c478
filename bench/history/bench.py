#!/usr/bin/env python3
"""History benchmark (issue #15): a generated repository of DOCS documents and COMMITS
commits, written with `git fast-import`, then

1. cold history extraction by promptshelf (`promptshelf log`, which walks every commit and
   parses every version of every document) next to the obvious scripts a user would write
   with git: `git log --name-status` over the whole history (one pass, no rename
   following) and `git log --follow --name-status -- FILE` per document (timed over a
   sample, extrapolated to every document);
2. one new commit touching 10 files: the time from the ref moving to the API answering
   the new version (`promptshelf watch` with its local server);
3. snapshot growth: `promptshelf build` with all versions vs `--history 1`, against the
   gzip size of the distinct contents.

Usage: bench/history/bench.py [--docs 10000] [--commits 20000] [--bin target/release/promptshelf]
"""
import argparse, gzip, json, os, random, shutil, subprocess, sys, tempfile, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--docs", type=int, default=10000)
ap.add_argument("--commits", type=int, default=20000)
ap.add_argument("--bin", default=os.environ.get("PROMPTSHELF_BIN", "target/release/promptshelf"))
ap.add_argument("--sample", type=int, default=50)
args = ap.parse_args()
binary = os.path.abspath(args.bin)
rng = random.Random(15)
ENV = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
           GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="b@example.com",
           GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="b@example.com")


def doc_path(i):
    return f"prompts/team{i % 100:02d}/p{i:05d}.prompty"


def text(i, rev):
    words = " ".join(rng.choice(["support", "refund", "invoice", "reply", "customer", "tone", "brief"]) for _ in range(40))
    return f"---\nname: Prompt {i}\ndescription: revision {rev}\nmodel:\n  api: chat\n---\nsystem:\nYou help with {words}.\n\nuser:\n{{{{question}}}}\n"


def fast_import(repo):
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=ENV)
    p = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE, env=ENV)
    out = p.stdin
    contents = set()
    rev = [0] * args.docs
    paths = [doc_path(i) for i in range(args.docs)]
    t = 1_600_000_000

    def commit(msg, changes):
        nonlocal t
        t += 60
        m = msg.encode()
        out.write(f"commit refs/heads/main\ncommitter Bench <b@example.com> {t} +0000\ndata {len(m)}\n".encode() + m + b"\n")
        for op in changes:
            out.write(op)
        out.write(b"\n")

    def modify(path, body):
        b = body.encode()
        contents.add(b)
        return f"M 100644 inline {path}\ndata {len(b)}\n".encode() + b + b"\n"

    commit("initial library", [modify(paths[i], text(i, 0)) for i in range(args.docs)])
    for c in range(1, args.commits):
        changes = []
        if c % 500 == 0:
            # A move: same content, new folder.
            i = rng.randrange(args.docs)
            new = paths[i].replace("prompts/", "prompts/moved/", 1) if "moved" not in paths[i] else paths[i]
            if new != paths[i]:
                changes.append(f"R {paths[i]} {new}\n".encode())
                paths[i] = new
        for i in rng.sample(range(args.docs), rng.choice([1, 1, 1, 2, 3])):
            rev[i] += 1
            changes.append(modify(paths[i], text(i, rev[i])))
        commit(f"edit {c}", changes)
    out.close()
    assert p.wait() == 0
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True, env=ENV)
    return contents, paths


def timed(cmd, **kw):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, **kw)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{cmd[:3]} failed: {r.stderr.decode()[:500]}")
    return dt, r.stdout


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def main():
    work = tempfile.mkdtemp(prefix="promptshelf-history-bench-")
    repo = os.path.join(work, "lib")
    t0 = time.perf_counter()
    contents, paths = fast_import(repo)
    print(f"repository: {args.docs} documents, {args.commits} commits, {len(contents)} distinct contents "
          f"(written in {time.perf_counter() - t0:.1f} s)")
    some = paths[7].rsplit(".", 1)[0]

    # 1. Cold extraction.
    subprocess.run(["sync"], check=False)
    dt_ps, out = timed([binary, "log", repo, some, "--format", "json"])
    n = len(json.loads(out)["versions"])
    dt_gl, _ = timed(["git", "log", "--name-status", "--format=%H %an %ct %s"], cwd=repo, env=ENV)
    sample = rng.sample(paths, min(args.sample, len(paths)))
    t0 = time.perf_counter()
    for p in sample:
        timed(["git", "log", "--follow", "--name-status", "--format=%H %an %ct %s", "--", p], cwd=repo, env=ENV)
    per = (time.perf_counter() - t0) / len(sample)
    print(f"cold extraction, promptshelf (every version of every document, parsed): {dt_ps:.2f} s ({some}: {n} versions)")
    print(f"git log --name-status, whole history, one pass (no rename following): {dt_gl:.2f} s")
    print(f"git log --follow --name-status per document: {per * 1000:.0f} ms each, "
          f"{per * len(paths):.0f} s for all {len(paths)} (extrapolated from {len(sample)})")

    # 3. Snapshot growth.
    full = os.path.join(work, "full.db")
    one = os.path.join(work, "one.db")
    timed([binary, "build", repo, "--out", full])
    timed([binary, "build", repo, "--out", one, "--history", "1"])
    # The target's denominator: each distinct content gzipped on its own (level 9), summed.
    gz = sum(len(gzip.compress(c)) for c in contents)
    # A stricter one, for reference: all distinct contents in one gzip stream.
    gz_one = len(gzip.compress(b"".join(sorted(contents))))
    growth = os.path.getsize(full) - os.path.getsize(one)
    print(f"snapshot: {os.path.getsize(full)} bytes with every version, {os.path.getsize(one)} with --history 1; "
          f"growth {growth} bytes = {growth / gz:.2f}x the gzip size of the distinct contents "
          f"({gz} bytes, each gzipped alone; {growth / gz_one:.2f}x the {gz_one} bytes of one gzip stream of them all)")

    # 2. One commit touching 10 files, through `watch`.
    port = 7600 + rng.randrange(300)
    db = os.path.join(work, "watch.db")
    w = subprocess.Popen([binary, "watch", repo, "--db", db, "--listen", f"127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        target = paths[3].rsplit(".", 1)[0]
        deadline = time.time() + 300
        while True:
            try:
                v = get(f"{base}/v1/documents/{target}/versions?limit=1")
                if v["total"] > 1:
                    break
            except Exception:
                pass
            if time.time() > deadline:
                sys.exit("watch did not come up")
            time.sleep(0.2)
        before = get(f"{base}/v1/documents/{target}/versions?limit=1")["total"]
        for p in paths[3:13]:
            with open(os.path.join(repo, p), "a") as f:
                f.write("\nOne more line.\n")
        # Drafts first (the file watcher), then the commit moves the ref.
        while get(f"{base}/v1/documents/{target}/versions?limit=1")["total"] == before:
            time.sleep(0.02)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=ENV)
        subprocess.run(["git", "commit", "-q", "-m", "ten files"], cwd=repo, check=True, env=ENV)
        t0 = time.perf_counter()
        while True:
            page = get(f"{base}/v1/documents/{target}/versions?offset={before}&limit=1")
            if page["data"] and page["data"][0].get("commit"):
                break
            time.sleep(0.005)
        print(f"one commit touching 10 files: new version in the API {(time.perf_counter() - t0) * 1000:.0f} ms after the ref moved")
    finally:
        w.terminate()
        w.wait()
    shutil.rmtree(work, ignore_errors=True)


main()
