#!/usr/bin/env python3
"""Watcher benchmark: promptshelf vs the seed plan's approach (chokidar + better-sqlite3,
500 ms debounce), side by side on the same synthetic library, in the same run.

usage: bench.py [--n 10000] [--big 100000] [--edits 100] [--burst 1000]
                [--bin target/release/promptshelf] [--out FILE.json]

Measures, for each implementation:
  initial   one-shot sync of a fresh library into an empty database (wall time incl.
            process start, documents/s, peak RSS, database size);
  restart   the same one-shot sync again on the unchanged library;
  live      save-to-visible latency over E sequential edits (write one file, poll the
            database every 1 ms until the new name is there), p50/p95/max;
  burst     rewrite B files as fast as possible; time from the last write until all B
            are visible (none lost).
Both databases live outside the library. Python standard library only; the seed side
needs `npm install` in bench/watch/seed (see BENCHMARKS.md)."""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def gen(n, out):
    subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(n), out], check=True)


def run_measured(cmd, env=None):
    """Runs cmd to completion; returns (wall seconds, peak RSS in MB, CPU seconds)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed:\n{err}")
    return dt, ru.ru_maxrss / 1024.0, ru.ru_utime + ru.ru_stime


def db_size(db):
    return sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))


class Impl:
    def __init__(self, name, once, live, ready_marker, env=None):
        self.name, self.once, self.live, self.ready, self.env = name, once, live, ready_marker, env


def impls(bin_path, lib, tmp):
    env = dict(os.environ, PROMPTSHELF_LOG="info")
    rust_db = os.path.join(tmp, "promptshelf.db")
    seed_db = os.path.join(tmp, "seed.db")
    seed_js = os.path.join(HERE, "seed", "seed-sync.mjs")
    return [
        (Impl("promptshelf", [bin_path, "sync", lib, "--db", rust_db, "--no-progress"],
              [bin_path, "watch", lib, "--db", rust_db, "--no-progress"],
              "initial sync done", env), rust_db),
        (Impl("seed (chokidar+better-sqlite3)", ["node", seed_js, lib, seed_db, "--once"],
              ["node", seed_js, lib, seed_db], "ready"), seed_db),
    ]


def start_live(impl):
    p = subprocess.Popen(impl.live, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=impl.env)
    ready = threading.Event()

    def pump(stream):
        for line in stream:
            if impl.ready.encode() in line:
                ready.set()
    for s in (p.stdout, p.stderr):
        threading.Thread(target=pump, args=(s,), daemon=True).start()
    if not ready.wait(300):
        p.kill()
        raise RuntimeError(f"{impl.name} never became ready")
    return p


def persona_text(i, name):
    return json.dumps({"id": f"persona-{i:06d}", "name": name,
                       "description": "Edited.", "tags": ["bench"], "prompt": "You are edited."}, indent=2) + "\n"


def persona_path(lib, i):
    return os.path.join(lib, f"personas/group-{i % 20:02d}/item-{i:06d}.json")


def persona_indices(n):
    return [i for i in range(n) if i % 10 < 7]


def wait_visible(conn, sql, args, want, timeout=30.0):
    deadline = time.perf_counter() + timeout
    while True:
        row = conn.execute(sql, args).fetchone()
        if row is not None and row[0] == want:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not visible within {timeout}s: {sql} {args} (have {row})")
        time.sleep(0.001)


def live_bench(impl, db, lib, n, edits, burst, tag):
    p = start_live(impl)
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
        idx = persona_indices(n)
        lat = []
        for k in range(edits):
            i = idx[(k * 7919) % len(idx)]
            name = f"edit-{tag}-{k}"
            with open(persona_path(lib, i), "w") as f:
                f.write(persona_text(i, name))
            t0 = time.perf_counter()
            t1 = wait_visible(conn, "SELECT name FROM documents WHERE id = ?", (f"persona-{i:06d}",), name)
            lat.append((t1 - t0) * 1000)
            time.sleep(0.02)
        name = f"burst-{tag}"
        targets = idx[:burst]
        for i in targets:
            with open(persona_path(lib, i), "w") as f:
                f.write(persona_text(i, name))
        t_last = time.perf_counter()
        t_all = wait_visible(conn, "SELECT COUNT(*) FROM documents WHERE name = ?", (name,), len(targets), 60)
        conn.close()
        lat.sort()
        return {
            "save_to_visible_ms": {
                "p50": round(statistics.median(lat), 1),
                "p95": round(lat[int(len(lat) * 0.95) - 1], 1),
                "max": round(lat[-1], 1),
            },
            "burst": {"files": len(targets), "visible_after_last_write_ms": round((t_all - t_last) * 1000, 1)},
        }
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def one_shot(impl, db, n):
    for s in ("", "-wal", "-shm"):
        if os.path.exists(db + s):
            os.remove(db + s)
    t_init, rss, cpu_init = run_measured(impl.once, impl.env)
    size = db_size(db)
    t_restart, _, cpu_restart = run_measured(impl.once, impl.env)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    docs = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    conn.close()
    if docs != n:
        raise RuntimeError(f"{impl.name}: {docs} documents, expected {n}")
    return {
        "initial_s": round(t_init, 3), "docs_per_s": round(n / t_init),
        "peak_rss_mb": round(rss, 1), "db_mb": round(size / 1e6, 2),
        "restart_s": round(t_restart, 3),
        "initial_cpu_s": round(cpu_init, 3), "restart_cpu_s": round(cpu_restart, 3),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--big", type=int, default=0, help="also time the initial sync of this many")
    ap.add_argument("--edits", type=int, default=100)
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--bin", default=os.path.join(REPO, "target/release/promptshelf"))
    ap.add_argument("--out")
    a = ap.parse_args()
    results = {"n": a.n}
    with tempfile.TemporaryDirectory(prefix="ps-bench-") as tmp:
        lib = os.path.join(tmp, "lib")
        gen(a.n, lib)
        for impl, db in impls(a.bin, lib, tmp):
            r = one_shot(impl, db, a.n)
            r.update(live_bench(impl, db, lib, a.n, a.edits, a.burst, impl.name[:4]))
            results[impl.name] = r
            print(impl.name, json.dumps(r), flush=True)
        if a.big:
            big = os.path.join(tmp, "big")
            gen(a.big, big)
            for impl, db in impls(a.bin, big, tmp):
                impl_db = db + ".big"
                impl.once = [x if x != db else impl_db for x in impl.once]
                r = one_shot(impl, impl_db, a.big)
                results[f"{impl.name} @{a.big}"] = r
                print(impl.name, a.big, json.dumps(r), flush=True)
    rust, seed = results["promptshelf"], results["seed (chokidar+better-sqlite3)"]
    results["ratios"] = {
        "initial": round(rust["initial_s"] / seed["initial_s"], 3),
        "restart": round(rust["restart_s"] / seed["restart_s"], 3),
        "initial_cpu": round(rust["initial_cpu_s"] / seed["initial_cpu_s"], 3),
        "restart_cpu": round(rust["restart_cpu_s"] / seed["restart_cpu_s"], 3),
        "save_to_visible_p95": round(rust["save_to_visible_ms"]["p95"] / seed["save_to_visible_ms"]["p95"], 3),
    }
    print(json.dumps(results, indent=2))
    print(f"load average at the end: {os.getloadavg()}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
