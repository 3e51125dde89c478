// Edge cold-start benchmark (issue #14): the built worker (scripts/build-edge first) in workerd via
// `wrangler dev` on loopback, one fresh wrangler per row, for each library size and mode:
//   whole — the snapshot opened in memory (what small libraries ship; forced here at any size
//           with --whole, for comparison with the previous design);
//   site  — snapshot chunk mode: the chunked index + document set as static assets, fetched per
//           request and cached in the isolate;
//   d1    — D1 mode against wrangler dev's local D1 (loaded with `wrangler d1 execute --local`).
// Per row: the first request after workerd listens (GET /v1/personas?limit=1&offset=3), the first
// search (support), a search for other words (refactor pyth), the same first search again (warm),
// a get by id; then workerd's peak resident memory (VmHWM, /proc) and its difference to the
// 14-document whole-snapshot row of the same run (the baseline).
//
//   node bench/edge/bench.mjs [--docs 10000,100000] [--modes whole,site,d1] [--runs 1]
//                             [--d1-max 10000] [--work DIR] [--whole-max 10000]
// Libraries are `bench/watch/gen.py N` (built once into --work, default /tmp/promptshelf-bench-edge,
// and reused). D1 rows above --d1-max documents are skipped (loading the SQL is slow), whole
// rows above --whole-max too. The 14-document example library always runs first.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, cpSync, readdirSync, statSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";

const root = fileURLToPath(new URL("../../", import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const sizes = arg("docs", "10000,100000").split(",").map(Number);
const modes = arg("modes", "whole,site,d1").split(",");
const runs = Number(arg("runs", "1"));
const d1Max = Number(arg("d1-max", "10000"));
const wholeMax = Number(arg("whole-max", "10000"));
const work = arg("work", "/tmp/promptshelf-bench-edge");
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const wrangler = join(root, "node_modules/.bin/wrangler");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true", NO_COLOR: "1" };
mkdirSync(work, { recursive: true });

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function du(dir) {
  let files = 0,
    bytes = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        files++;
        bytes += statSync(p).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

/** The library of `n` documents (0 = the example), built once: snapshot, site, D1 SQL. */
function library(n, withSql) {
  const name = n === 0 ? "example" : `lib${n}`;
  const dir = join(work, name);
  const lib = n === 0 ? join(root, "examples/library") : join(dir, "src");
  const db = join(dir, "snap.db");
  const sql = join(dir, "d1.sql");
  if (n > 0 && !existsSync(lib)) execFileSync("python3", [join(root, "bench/watch/gen.py"), String(n), lib], { stdio: "ignore" });
  if (!existsSync(join(dir, "site/v1/docs/docs.json")) || (withSql && !existsSync(sql))) {
    mkdirSync(dir, { recursive: true });
    const t0 = Date.now();
    execFileSync(bin, ["build", lib, "--out", db, "--site", join(dir, "site"), ...(withSql ? ["--d1-sql", sql] : [])], { stdio: "ignore", env });
    console.error(`built ${name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { name, n, dir, db, sql };
}

/** Assets + wrangler config for a mode. */
function setup(lib, mode) {
  const dir = join(lib.dir, `run-${mode}`);
  const assets = join(dir, "assets/promptshelf");
  const lines = [`name = "bench-${mode}"`, `main = ${JSON.stringify(join(root, "edge/build/index.js"))}`, 'compatibility_date = "2026-04-20"'];
  let state;
  if (!existsSync(dir)) {
    mkdirSync(assets, { recursive: true });
    if (mode === "whole") {
      const size = statSync(lib.db).size;
      if (size > 25 << 20) {
        // Pieces, as scripts/build-edge used to ship a big snapshot.
        const buf = readFileSync(lib.db);
        for (let i = 0, k = 0; i < buf.length; i += 20 << 20, k++) writeFileSync(join(assets, `snapshot.db.part-${String(k).padStart(3, "0")}`), buf.subarray(i, i + (20 << 20)));
      } else cpSync(lib.db, join(assets, "snapshot.db"));
    } else if (mode === "site") {
      execFileSync("cp", ["-al", join(lib.dir, "site"), join(assets, "site")]);
    } else writeFileSync(join(assets, "README.txt"), "d1 mode\n");
  }
  lines.push("[assets]", `directory = ${JSON.stringify(join(dir, "assets"))}`, 'binding = "ASSETS"', "run_worker_first = true");
  if (mode === "d1") {
    state = join(dir, "state");
    lines.push("[vars]", 'PROMPTSHELF_SOURCE = "d1"', "[[d1_databases]]", 'binding = "DB"', 'database_name = "bench"', `database_id = "${randomUUID()}"`);
  }
  const config = join(dir, "wrangler.toml");
  writeFileSync(config, lines.join("\n") + "\n");
  if (mode === "d1" && !existsSync(join(dir, "loaded"))) {
    const t0 = Date.now();
    execFileSync(wrangler, ["d1", "execute", "DB", "--local", "--file", lib.sql, "--config", config, "--persist-to", state], { cwd: root, env, stdio: "ignore", maxBuffer: 64 << 20 });
    writeFileSync(join(dir, "loaded"), "");
    console.error(`loaded ${lib.name} into local D1 in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { config, state };
}

async function timed(url) {
  const t0 = performance.now();
  const r = await fetch(url);
  const body = await r.arrayBuffer();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${Buffer.from(body).toString().slice(0, 200)}`);
  return { ms, body: Buffer.from(body) };
}

function workerdPids(pgid) {
  try {
    return execFileSync("pgrep", ["-g", String(pgid), "-x", "workerd"]).toString().trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

function memKb(pid, key) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`${key}:\\s+(\\d+) kB`));
  return m ? Number(m[1]) : 0;
}

async function row(lib, mode) {
  const { config, state } = setup(lib, mode);
  const port = await freePort();
  const insp = await freePort();
  const child = spawn(join(root, "scripts/dev-edge"), [String(port), "--inspector-port", String(insp), "--config", config], {
    cwd: root,
    detached: true,
    stdio: "ignore",
    env: { ...env, ...(state ? { EDGE_PERSIST_TO: state } : {}) },
  });
  const stop = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  try {
    // Wait for the socket only: any HTTP request would already be the first one.
    const end = Date.now() + 180_000;
    for (;;) {
      const ok = await new Promise((r) => {
        const s = net.connect(port, "127.0.0.1", () => (s.destroy(), r(true)));
        s.on("error", () => r(false));
      });
      if (ok) break;
      if (Date.now() > end) throw new Error("wrangler dev did not listen");
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = `http://127.0.0.1:${port}`;
    const first = await timed(`${base}/v1/personas?limit=1&offset=3`);
    const id = JSON.parse(first.body).data[0].id;
    const search = await timed(`${base}/v1/search?q=support`);
    const other = await timed(`${base}/v1/search?q=refactor+pyth`);
    const warm = await timed(`${base}/v1/search?q=support`);
    const get = await timed(`${base}/v1/documents/${encodeURIComponent(id)}`);
    const pids = workerdPids(child.pid);
    const hwm = Math.max(0, ...pids.map((p) => memKb(p, "VmHWM")));
    const rss = Math.max(0, ...pids.map((p) => memKb(p, "VmRSS")));
    return { first: first.ms, search: search.ms, other: other.ms, warm: warm.ms, get: get.ms, hwm, rss };
  } finally {
    stop();
    await new Promise((r) => setTimeout(r, 500));
  }
}

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const results = [];
const plan = [[0, "whole"], [0, "site"], [0, "d1"]];
for (const n of sizes) for (const m of modes) plan.push([n, m]);
for (const [n, mode] of plan) {
  if (!modes.includes(mode) && !(n === 0 && mode === "whole")) continue;
  if (mode === "d1" && n > d1Max) continue;
  if (mode === "whole" && n > wholeMax) continue;
  const lib = library(n, mode === "d1");
  const assets = mode === "site" ? du(join(lib.dir, "site")) : null;
  for (let i = 0; i < runs; i++) {
    const before = load();
    try {
      const r = await row(lib, mode);
      results.push({ lib, mode, ...r, assets, load: before });
      console.error(`${lib.name} ${mode}: first ${r.first.toFixed(0)} ms, search ${r.search.toFixed(0)} ms, peak ${(r.hwm / 1024).toFixed(1)} MB (load ${before})`);
    } catch (e) {
      results.push({ lib, mode, error: String(e.message || e).slice(0, 120), load: before });
      console.error(`${lib.name} ${mode}: ${e.message}`);
    }
  }
}

const base = results.find((r) => r.lib.n === 0 && r.mode === "whole" && !r.error);
const ms = (x) => `${x.toFixed(0)} ms`;
console.log(`\nEdge cold start, wrangler dev on loopback (load average at each row's start in the last column)\n`);
console.log("| library | mode | first request | ×14-doc | first search | other search | warm search | get by id | workerd peak RSS | Δ vs 14-doc | load |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of results) {
  const name = r.lib.n === 0 ? "example (14)" : r.lib.n.toLocaleString("en");
  if (r.error) {
    console.log(`| ${name} | ${r.mode} | ${r.error} | | | | | | | | ${r.load} |`);
    continue;
  }
  const x = base ? (r.first / base.first).toFixed(2) + "×" : "";
  const d = base ? `${((r.hwm - base.hwm) / 1024).toFixed(1)} MB` : "";
  console.log(`| ${name} | ${r.mode} | ${ms(r.first)} | ${x} | ${ms(r.search)} | ${ms(r.other)} | ${ms(r.warm)} | ${ms(r.get)} | ${(r.hwm / 1024).toFixed(1)} MB | ${d} | ${r.load} |`);
}
const sites = results.filter((r) => r.assets && !r.error);
if (sites.length) {
  console.log("\n| library | site files | site bytes |\n|---|---:|---:|");
  const seen = new Set();
  for (const r of sites) {
    if (seen.has(r.lib.name)) continue;
    seen.add(r.lib.name);
    console.log(`| ${r.lib.n === 0 ? "example (14)" : r.lib.n.toLocaleString("en")} | ${r.assets.files} | ${(r.assets.bytes / 1048576).toFixed(1)} MiB |`);
  }
}
