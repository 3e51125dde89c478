// Live updates, measured end to end (issue #17):
//
//   node bench/live/bench.mjs [--docs 10000] [--saves 40] [--streams 100] [--bin target/release/promptshelf]
//
// 1. Save → search result: bench/watch/gen.py writes a library of --docs files;
//    `promptshelf watch` serves it with the default debounce; headless Chromium loads
//    /v1/index into a Shelf of the built package (pkg/, scripts/build-pkg) and calls
//    shelf.follow(api). Each save rewrites one persona with a word found nowhere else; the
//    page searches for that word after every change it applies and stamps the moment the
//    document appears. Latency = that stamp − the moment before the file was written (same
//    clock: performance.timeOrigin + performance.now() in Node and in the page).
// 2. Cost of open streams (measured first, on the freshly synced server): its RSS and CPU
//    time over an idle 20 s (a heartbeat included), before and with --streams open
//    `GET /v1/events` connections (PROMPTSHELF_EVENTS_MAX_STREAMS raised).
//
// Prints one JSON object. Needs python3, Chromium (/usr/bin/chromium) and playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, sep, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("../../", import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const DOCS = Number(args.docs ?? 10000);
const SAVES = Number(args.saves ?? 40);
const STREAMS = Number(args.streams ?? 100);
const BIN = resolve(args.bin ?? join(root, "target/release/promptshelf"));
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = await mkdtemp(join(tmpdir(), "promptshelf-live-bench-"));
const lib = join(dir, "lib");
execFileSync("python3", [join(root, "bench/watch/gen.py"), String(DOCS), lib]);

const child = spawn(BIN, ["watch", lib, "--listen", "127.0.0.1:0", "--no-progress"], {
  stdio: ["ignore", "ignore", "pipe"],
  env: { ...process.env, NO_COLOR: "1", PROMPTSHELF_EVENTS_MAX_STREAMS: String(STREAMS + 16) },
});
let log = "";
child.stderr.setEncoding("utf8");
child.stderr.on("data", (d) => (log += d));
const cleanup = async () => {
  child.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
};
process.on("exit", () => child.kill("SIGKILL"));
let api;
for (const end = Date.now() + 120_000; ; await sleep(100)) {
  if (child.exitCode !== null) throw new Error("promptshelf exited:\n" + log);
  const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\//);
  if (m) {
    api = `http://${m[1]}`;
    if ((await fetch(api + "/readyz").catch(() => ({ ok: false }))).ok) break;
  }
  if (Date.now() > end) throw new Error("not ready within 120 s:\n" + log);
}

// 1. Open streams: RSS and idle CPU.
const ticks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const proc = () => {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const rss_kb = Number(status.match(/VmRSS:\s+(\d+)/)[1]);
  const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return { rss_kb, cpu_ticks: Number(f[11]) + Number(f[12]) };
};
async function idle(ms) {
  const a = proc();
  await sleep(ms);
  const b = proc();
  return { rss_mb: +(b.rss_kb / 1024).toFixed(1), cpu_ms: +(((b.cpu_ticks - a.cpu_ticks) / ticks) * 1000).toFixed(0), cpu_pct: +((((b.cpu_ticks - a.cpu_ticks) / ticks) * 1000 * 100) / ms).toFixed(2) };
}
await sleep(5_000); // let the initial sync's memory settle
await idle(10_000);
const without = await idle(20_000); // 20 s: longer than the 15 s heartbeat

const ctl = new AbortController();
const opened = await Promise.all(
  Array.from({ length: STREAMS }, async () => {
    const r = await fetch(api + "/v1/events", { signal: ctl.signal, headers: { accept: "text/event-stream" } });
    const reader = r.body.getReader();
    await reader.read(); // hello
    (async () => {
      try {
        for (;;) if ((await reader.read()).done) break;
      } catch {}
    })();
    return r.status;
  }),
);
const withStreams = await idle(20_000);
ctl.abort();
const streams = {
  open: opened.filter((s) => s === 200).length,
  idle_without: without,
  idle_with: withStreams,
  rss_per_stream_kb: +(((withStreams.rss_mb - without.rss_mb) * 1024) / STREAMS).toFixed(1),
};


// The page: the package from pkg/, cross-origin to the API.
const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">
import init, { Shelf } from "/pkg/promptshelf.js";
const api = new URLSearchParams(location.search).get("api");
await init();
const shelf = Shelf.load(new Uint8Array(await (await fetch(api + "/v1/index")).arrayBuffer()));
window.size = shelf.size;
window.wait = null; // { word, id, resolve }
const check = () => {
  const w = window.wait;
  if (w && shelf.search(w.word, { limit: 5 }).hits.some((h) => h.id === w.id)) {
    window.wait = null;
    w.resolve(performance.timeOrigin + performance.now());
  }
};
window.expect = (word, id) => new Promise((resolve) => { window.wait = { word, id, resolve }; check(); });
const sub = shelf.follow(api, { onChange: check });
await sub.ready;
document.body.dataset.ready = "1";
</script><body></body>`;
const types = { ".js": "text/javascript", ".wasm": "application/wasm" };
const web = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path === "/") return res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
  const file = resolve(root, "." + sep + path);
  if (!file.startsWith(join(root, "pkg") + sep)) return res.writeHead(404).end();
  try {
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(await readFile(file));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => web.listen(0, "127.0.0.1", r));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage();
page.on("pageerror", (e) => console.error("page error:", e.message));
await page.goto(`http://127.0.0.1:${web.address().port}/?api=${encodeURIComponent(api)}`);
await page.waitForSelector("body[data-ready]", { state: "attached", timeout: 120_000 });
const size = await page.evaluate(() => window.size);
await sleep(500);

// 2. Save → the page's search result.
const personas = (await readdir(join(lib, "personas"), { recursive: true })).filter((p) => p.endsWith(".json")).sort();
const latencies = [];
for (let i = 0; i < SAVES; i++) {
  const rel = join("personas", personas[(i * 7919) % personas.length]);
  const doc = JSON.parse(await readFile(join(lib, rel), "utf8"));
  const word = `qzlive${i}x${Math.random().toString(36).slice(2, 8)}`;
  doc.name = `${doc.name.split(" qzlive")[0]} ${word}`;
  const waiting = page.evaluate(([w, id]) => window.expect(w, id), [word, doc.id]);
  await sleep(20); // the page is waiting before the save
  const t0 = now();
  await writeFile(join(lib, rel), JSON.stringify(doc, null, 2));
  const t1 = await Promise.race([waiting, sleep(10_000).then(() => NaN)]);
  latencies.push(t1 - t0);
  await sleep(150 + Math.random() * 100); // spaced saves, as a person saves
}
const ok = latencies.filter(Number.isFinite).sort((a, b) => a - b);
const pct = (p) => ok[Math.min(ok.length - 1, Math.ceil((p / 100) * ok.length) - 1)];
const save = { saves: SAVES, timeouts: SAVES - ok.length, p50_ms: +pct(50).toFixed(1), p95_ms: +pct(95).toFixed(1), max_ms: +ok.at(-1).toFixed(1) };
await browser.close();
web.close();

console.log(JSON.stringify({ docs: DOCS, shelf_size: size, bin: BIN.replace(root, ""), save_to_search: save, streams }, null, 2));
await cleanup();
process.exit(0);
