#!/usr/bin/env python3
"""Read-API throughput while the watcher applies bursts of edits (scripts/bench-api-live).

usage: live.py --bin BIN --lib DIR [--seconds 8] [--conn 16] [--burst 200] [--every 1.0]

Starts `BIN watch DIR` (sync, live watch and the read API on one process, as a user runs
it), then runs wrk against three requests twice, in the same run: once with the library
idle, once while an editor rewrites BURST persona files every EVERY seconds (each round a
new name, so every round is a real change the watcher must parse, store, index and
commit). Prints a Markdown table: requests/s, p50, p99, max latency and non-2xx/socket
errors per request and phase, plus how many sync batches (content generations) and file
rewrites happened while wrk ran in the burst phase.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def wait_ready(base, proc, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("watch exited early")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError("watch not ready in time")


def persona_indices(lib):
    out = []
    for group in sorted(os.listdir(os.path.join(lib, "personas"))):
        for f in sorted(os.listdir(os.path.join(lib, "personas", group))):
            m = re.fullmatch(r"item-(\d+)\.json", f)
            if m:
                out.append((int(m.group(1)), os.path.join(lib, "personas", group, f)))
    return out


class Editor(threading.Thread):
    """Rewrites `burst` persona files every `every` seconds until stopped."""

    def __init__(self, files, burst, every):
        super().__init__(daemon=True)
        self.files, self.burst, self.every = files[:burst], burst, every
        self.stop = threading.Event()
        self.rounds = 0
        self.writes = 0

    def run(self):
        while not self.stop.is_set():
            t0 = time.time()
            self.rounds += 1
            for i, path in self.files:
                doc = {"id": f"persona-{i:06d}", "name": f"Edited {self.rounds} {i}",
                       "description": "Edited while the API is under load.",
                       "tags": ["bench", f"round-{self.rounds}"],
                       "prompt": f"You are edited, round {self.rounds}."}
                with open(path, "w") as f:
                    f.write(json.dumps(doc, indent=2) + "\n")
                self.writes += 1
            self.stop.wait(max(0.0, self.every - (time.time() - t0)))


def wrk(url, seconds, conn):
    out = subprocess.run(["wrk", "-t2", f"-c{conn}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    def grab(pattern):
        m = re.search(pattern, out, re.M)
        return m.group(1) if m else "-"
    bad = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        bad += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        bad += sum(int(x) for x in m.groups())
    return {
        "rps": grab(r"^Requests/sec:\s+([\d.]+)"),
        "p50": grab(r"^\s+50%\s+(\S+)"),
        "p99": grab(r"^\s+99%\s+(\S+)"),
        "max": grab(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)"),
        "bad": bad,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--conn", type=int, default=16)
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--every", type=float, default=1.0)
    a = ap.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(os.path.dirname(os.path.abspath(a.lib)), "watch.log"), "w")
    proc = subprocess.Popen([a.bin, "watch", a.lib, "--listen", f"127.0.0.1:{port}", "--no-progress"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(base, proc)
        files = persona_indices(a.lib)
        some_id = f"persona-{files[len(files) // 2][0]:06d}"
        rows = [
            ("get by id", f"{base}/v1/documents/{some_id}"),
            ("list 20 personas", f"{base}/v1/personas?limit=20"),
            ("search 'support'", f"{base}/v1/search?q=support"),
        ]
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
              f"{get_json(base + '/v1/health')['counts']['documents']} documents; "
              f"wrk -t2 -c{a.conn} -d{a.seconds}s; editor: {a.burst} persona files every {a.every} s",
              file=sys.stderr)
        results = []
        for label, url in rows:
            idle = wrk(url, a.seconds, a.conn)
            g0 = get_json(base + "/v1/health")["generation"]
            ed = Editor(files, a.burst, a.every)
            ed.start()
            time.sleep(min(1.0, a.every))  # the watcher is busy before wrk starts
            busy = wrk(url, a.seconds, a.conn)
            ed.stop.set()
            ed.join()
            g1 = get_json(base + "/v1/health")["generation"]
            results.append((label, idle, busy, ed.writes, g0, g1))
            time.sleep(2)  # let the watcher drain the last round before the next idle row
        print("| request | phase | requests/s | p50 | p99 | max | errors |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for label, idle, busy, writes, g0, g1 in results:
            for phase, r in (("idle", idle), (f"burst ({writes} rewrites, generation {g0}→{g1})", busy)):
                print(f"| {label} | {phase} | {r['rps']} | {r['p50']} | {r['p99']} | {r['max']} | {r['bad']} |")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
