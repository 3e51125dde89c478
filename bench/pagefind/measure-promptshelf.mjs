#!/usr/bin/env node
// promptshelf's side of the Pagefind comparison (issue #14): the same harness as
// bench/peers/pagefind/serve-and-measure.mjs (same server byte counting, same Chromium runs,
// same queries.txt, same JSON shape), with the page doing what a promptshelf search page does:
//
//   first query only: import("/pkg/open/promptshelf_open.js")  (t0 -> t1, like pagefind.js's import)
//   t1 -> await init() (the .wasm); shelf = await open("/idx/")  (first query only; --module search:
//         the main module's Shelf.open instead)
//      -> r = await shelf.search(q, { limit: 10 })  -> t3   (hits carry names and snippets:
//         the 10 results are shown with no further call, the counterpart of Pagefind's 10 data())
//
// usage: node measure-promptshelf.mjs SITE_INDEX_DIR PKG_DIR [--runs 3] [--json OUT] [--no-compress]
// SITE_INDEX_DIR = `promptshelf build LIB --site SITE` output's SITE/v1/index; PKG_DIR = pkg/.
// Everything is sent gzip-encoded (level 6) when the browser asks, .wasm and chunk files included
// (the chunk files are not compressed inside, unlike Pagefind's .pf_* files).
// Categories: library = /pkg/* (JS glue + .wasm); index = manifest, lexicon, postings, table,
// tags, filters; fragments = packs/ (names, paths and snippet text of the hits).
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import os from "node:os";
import zlib from "node:zlib";
import { chromium } from "playwright-core";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return false;
  argv.splice(i, 1);
  return true;
};
const here = path.dirname(new URL(import.meta.url).pathname);
const QUERIES = opt("--queries", path.join(here, "..", "peers", "pagefind", "queries.txt"));
const RUNS = Number(opt("--runs", "3"));
const BUILD = opt("--build", null);
const JSON_OUT = opt("--json", null);
const CHROMIUM = opt("--chromium", "/usr/bin/chromium");
const COMPRESS = !flag("--no-compress");
// open (default): the slim `promptshelf/open` module; search: `Shelf.open` of the main module.
const MODULE = opt("--module", "open");
const [OUTDIR, PKGDIR] = argv;
if (!OUTDIR || !PKGDIR || !fs.existsSync(path.join(OUTDIR, "manifest.json")) || !fs.existsSync(path.join(PKGDIR, "promptshelf.js"))) {
  console.error("usage: node measure-promptshelf.mjs SITE_INDEX_DIR PKG_DIR [--queries F] [--runs N] [--json F] [--no-compress]");
  process.exit(2);
}
const log = (...a) => console.error(`[measure ${new Date().toISOString().slice(11, 19)}]`, ...a);

const queries = fs.readFileSync(QUERIES, "utf8").split("\n")
  .filter((l) => l.trim() && !l.startsWith("#"))
  .map((l) => { const [kind, q] = l.split("\t"); return { kind, q }; });

// ---------- server ----------
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pagefind peer bench</title>
<link rel="icon" href="data:,"></head>
<body><p>pagefind peer bench</p>
<script type="module">
const MODULE_JS = ${JSON.stringify(MODULE === "search" ? "/pkg/promptshelf.js" : "/pkg/open/promptshelf_open.js")};
let ps = null, shelf = null;
window.pfQuery = async (q) => {
  const t0 = performance.now();
  if (!ps) ps = await import(MODULE_JS);
  const t1 = performance.now();
  if (!shelf) { await ps.default(); shelf = await (ps.open ?? ps.Shelf.open)("/idx/"); }
  const t2 = performance.now();
  const r = await shelf.search(q, { limit: 10 });
  const t3 = performance.now();
  return {
    ms_import: t1 - t0, ms_search: t3 - t2, ms_data: 0, ms_open: t2 - t1, ms_from_search: t3 - t1, ms_total: t3 - t0,
    results: r.total, unfiltered: r.total,
    top: r.hits.map((h) => h.name), excerpt_chars: r.hits.reduce((a, h) => a + (h.snippet ? h.snippet.text.length : 0), 0),
  };
};
window.pfReady = true;
</script></body></html>
`;
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".wasm": "application/wasm",
  ".pagefind": "application/octet-stream", ".pf_meta": "application/octet-stream", ".pf_index": "application/octet-stream",
  ".pf_fragment": "application/octet-stream", ".pf_filter": "application/octet-stream",
};
const TEXT = { has: () => true };
const gzCache = new Map();
const serverLog = [];
const root = path.resolve(OUTDIR);
const pkgRoot = path.resolve(PKGDIR);
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  let body, ext;
  if (url.pathname === "/" || url.pathname === "/index.html") {
    body = Buffer.from(PAGE); ext = ".html";
  } else {
    for (const [prefix, dir] of [["/idx/", root], ["/pkg/", pkgRoot]]) {
      if (!url.pathname.startsWith(prefix)) continue;
      const rel = decodeURIComponent(url.pathname.slice(prefix.length));
      const file = path.resolve(dir, rel);
      if (file.startsWith(dir + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) {
        body = fs.readFileSync(file); ext = path.extname(file);
      }
    }
  }
  const startBytes = req.socket.bytesWritten;
  const entry = { t: performance.now(), path: url.pathname, status: 0, body_bytes: 0, wire_bytes: 0 };
  serverLog.push(entry);
  res.on("finish", () => { entry.wire_bytes = req.socket.bytesWritten - startBytes; });
  if (!body) {
    entry.status = 404;
    res.writeHead(404, { "content-type": "text/plain", "cache-control": "no-store" });
    res.end("not found");
    return;
  }
  const headers = { "content-type": TYPES[ext] || "application/octet-stream", "cache-control": "no-store" };
  if (COMPRESS && TEXT.has(ext) && /\bgzip\b/.test(req.headers["accept-encoding"] || "")) {
    const key = url.pathname;
    if (!gzCache.has(key)) gzCache.set(key, zlib.gzipSync(body, { level: 6 }));
    body = gzCache.get(key);
    headers["content-encoding"] = "gzip";
    headers["vary"] = "accept-encoding";
  }
  headers["content-length"] = body.length;
  entry.status = 200; entry.body_bytes = body.length;
  res.writeHead(200, headers);
  res.end(body);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const ORIGIN = `http://127.0.0.1:${server.address().port}`;
log(`serving ${root} at ${ORIGIN}/idx/, ${pkgRoot} at /pkg/ (gzip: ${COMPRESS})`);

// ---------- helpers ----------
const category = (p) => {
  if (p.startsWith("/pkg/")) return "library";
  if (p.startsWith("/idx/packs/")) return "fragments";
  if (p.startsWith("/idx/")) return "index";
  return "other";
};
const CATS = ["library", "index", "fragments", "other"];
const median = (a) => {
  const s = a.filter((x) => x != null).sort((x, y) => x - y);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r1 = (x) => (x == null ? x : Math.round(x * 10) / 10);

// ---------- browser ----------
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
log(`chromium ${browser.version()}`);
const runs = [];
for (let run = 0; run < RUNS; run++) {
  const loadStart = os.loadavg();
  const context = await browser.newContext();
  const page = await context.newPage();
  let label = "page-load";
  const reqs = []; // {label, url, cat, done, wire, decoded, failed, from}
  const pending = new Set();
  const byReq = new Map();
  let workers = 0;
  page.on("worker", () => { workers++; });
  const srvPageFrom = serverLog.length;
  page.on("request", (req) => {
    const e = { label, url: req.url(), path: new URL(req.url()).pathname, cat: category(new URL(req.url()).pathname), done: false, wire: 0, body: 0, headers: 0, failed: null };
    reqs.push(e); byReq.set(req, e); pending.add(req);
  });
  page.on("requestfinished", async (req) => {
    const e = byReq.get(req);
    try {
      const s = await req.sizes();
      if (e) { e.body = s.responseBodySize; e.headers = s.responseHeadersSize; e.wire = s.responseBodySize + s.responseHeadersSize; }
    } catch (err) { if (e) e.failed = `sizes: ${err.message}`; }
    if (e) e.done = true;
    pending.delete(req);
  });
  page.on("requestfailed", (req) => {
    const e = byReq.get(req);
    if (e) { e.done = true; e.failed = req.failure()?.errorText || "failed"; }
    pending.delete(req);
  });
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") log(`page ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (err) => log(`page error: ${err.message}`));

  const settle = async () => {
    const t = Date.now();
    while (pending.size && Date.now() - t < 15000) await sleep(5);
    await sleep(30);
    while (pending.size && Date.now() - t < 15000) await sleep(5);
    if (pending.size) log(`warning: ${pending.size} requests still pending`);
  };

  await page.goto(`${ORIGIN}/`, { waitUntil: "load" });
  await page.waitForFunction(() => window.pfReady === true);
  await settle();
  const pageLoadSrv = serverLog.slice(srvPageFrom);
  const out = [];
  for (let i = 0; i < queries.length; i++) {
    const { kind, q } = queries[i];
    label = `q${i}`;
    const srvFrom = serverLog.length;
    const res = await page.evaluate((qq) => window.pfQuery(qq), q);
    await settle();
    const mine = reqs.filter((e) => e.label === label);
    const srv = serverLog.slice(srvFrom);
    // wire bytes as the server wrote them (status line + headers + body) -- the headline figure;
    // cdp_bytes: what Chromium reported (encodedDataLength), kept as a cross-check
    const bytes = Object.fromEntries(CATS.map((c) => [c, 0]));
    const requests = Object.fromEntries(CATS.map((c) => [c, 0]));
    const cdp = Object.fromEntries(CATS.map((c) => [c, 0]));
    const cdpReq = Object.fromEntries(CATS.map((c) => [c, 0]));
    for (const s of srv) { bytes[category(s.path)] += s.wire_bytes; requests[category(s.path)]++; }
    for (const e of mine) { cdp[e.cat] += e.wire; cdpReq[e.cat]++; }
    // per-path disagreements between server and Chromium
    const cdpByPath = new Map();
    for (const e of mine) cdpByPath.set(e.path, (cdpByPath.get(e.path) || 0) + e.wire);
    const srvByPath = new Map();
    for (const s of srv) srvByPath.set(s.path, (srvByPath.get(s.path) || 0) + s.wire_bytes);
    const mismatch = [...new Set([...cdpByPath.keys(), ...srvByPath.keys()])]
      .filter((p) => cdpByPath.get(p) !== srvByPath.get(p))
      .map((p) => ({ path: p, server: srvByPath.get(p) ?? null, cdp: cdpByPath.get(p) ?? null }));
    out.push({
      i, kind, q, cold: i === 0,
      results: res.results, unfiltered: res.unfiltered,
      ms_from_search: res.ms_from_search, ms_search: res.ms_search, ms_data: res.ms_data, ms_import: res.ms_import, ms_total: res.ms_total,
      bytes: { ...bytes, total: srv.reduce((a, s) => a + s.wire_bytes, 0) },
      requests: { ...requests, total: srv.length },
      body_bytes: srv.reduce((a, s) => a + s.body_bytes, 0),
      cdp_bytes: { ...cdp, total: mine.reduce((a, e) => a + e.wire, 0) },
      cdp_requests: { ...cdpReq, total: mine.length },
      server_cdp_mismatch: mismatch,
      failed: mine.filter((e) => e.failed).map((e) => `${e.url} ${e.failed}`),
      urls: srv.map((s) => `${s.status} ${s.path} ${s.wire_bytes}`),
      top10_titles: res.top, excerpt_chars: res.excerpt_chars,
    });
    log(`run ${run} ${label} ${kind.padEnd(6)} ${JSON.stringify(q).padEnd(22)} ${String(res.results).padStart(6)} hits  ${r1(res.ms_from_search)} ms  ${out.at(-1).bytes.total} B / ${mine.length} req (lib ${bytes.library}, idx ${bytes.index}, frag ${bytes.fragments})${mismatch.length ? ` [cdp differs on ${mismatch.length} path(s)]` : ""}`);
  }
  runs.push({ run, workers, loadavg_start: loadStart, loadavg_end: os.loadavg(), page_load: { requests: pageLoadSrv.length, bytes: pageLoadSrv.reduce((a, s) => a + s.wire_bytes, 0) }, queries: out });
  await context.close();
}
await browser.close();
server.close();

// ---------- summary ----------
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null; };
const summarize = (qs) => ({
  n: qs.length,
  median_ms_from_search: r1(median(qs.map((x) => x.ms_from_search))),
  ms_from_search_min_p90_max: [r1(pct(qs.map((x) => x.ms_from_search), 0)), r1(pct(qs.map((x) => x.ms_from_search), 0.9)), r1(pct(qs.map((x) => x.ms_from_search), 1))],
  median_ms_search_only: r1(median(qs.map((x) => x.ms_search))),
  median_ms_data: r1(median(qs.map((x) => x.ms_data))),
  median_bytes: median(qs.map((x) => x.bytes.total)),
  median_requests: median(qs.map((x) => x.requests.total)),
  median_bytes_by_cat: Object.fromEntries(CATS.map((c) => [c, median(qs.map((x) => x.bytes[c]))])),
  median_requests_by_cat: Object.fromEntries(CATS.map((c) => [c, median(qs.map((x) => x.requests[c]))])),
  sum_bytes_per_run: qs.reduce((a, x) => a + x.bytes.total, 0) / RUNS,
});
const cold = runs.map((r) => r.queries[0]);
const warm = runs.flatMap((r) => r.queries.slice(1));
const kinds = [...new Set(queries.map((x) => x.kind))];
const sig = (r) => JSON.stringify(r.queries.map((x) => [x.bytes, x.requests, x.results]));
const summary = {
  runs: RUNS,
  bytes_identical_across_runs: runs.every((r) => sig(r) === sig(runs[0])),
  server_vs_cdp_requests_equal: runs.every((r) => r.queries.every((x) => x.cdp_requests.total === x.requests.total)),
  server_vs_cdp_byte_mismatches_run0: runs[0].queries.flatMap((x) => x.server_cdp_mismatch.map((m) => ({ q: x.q, ...m }))),
  cold_first_query: {
    q: queries[0].q, kind: queries[0].kind, results: cold[0].results,
    median_ms_from_search: r1(median(cold.map((x) => x.ms_from_search))),
    median_ms_total_incl_import: r1(median(cold.map((x) => x.ms_total))),
    ms_from_search_each_run: cold.map((x) => r1(x.ms_from_search)),
    bytes: cold[0].bytes, requests: cold[0].requests,
    cdp_bytes: cold[0].cdp_bytes,
  },
  warm_queries: summarize(warm),
  warm_by_kind: Object.fromEntries(kinds.map((k) => [k, summarize(warm.filter((x) => x.kind === k))])),
  fragments_for_top10: {
    cold_first_query: { bytes: cold[0].bytes.fragments, requests: cold[0].requests.fragments },
    warm_median: { bytes: median(warm.map((x) => x.bytes.fragments)), requests: median(warm.map((x) => x.requests.fragments)) },
  },
  page_load: runs[0].page_load,
  loadavg_1min_per_run: runs.map((r) => [r.loadavg_start[0], r.loadavg_end[0]]),
  cpus: os.cpus().length,
};
const result = {
  tool: "promptshelf", module: MODULE, pkg: pkgRoot, chromium: CHROMIUM, outdir: root, gzip_text: COMPRESS, queries_file: QUERIES,
  build: BUILD ? JSON.parse(fs.readFileSync(BUILD, "utf8")) : null,
  summary, runs,
};
const s = JSON.stringify(result, null, 2);
if (JSON_OUT) fs.writeFileSync(JSON_OUT, s + "\n");
console.log(JSON.stringify(summary, null, 2));
