// `Shelf.open(baseUrl)` (issue 14): the chunked index `promptshelf build --site` writes,
// and the local server serves at `/v1/index/`, answers exactly like the whole index
// (`Shelf.load` of `/v1/index`) — same hits, order, scores, snippets and facets — while
// fetching only the files each query needs: in Node (custom fetch over the built files and
// the real server) and in headless Chromium (plain module page, network recorded).
//
// The library: the real persona corpus plus the example prompts when the corpus is there
// (so the index has many chunks), else the example library. Needs pkg/ (scripts/build-pkg)
// and the debug binary (cargo build -p promptshelf-watcher) or PROMPTSHELF_BIN.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:http";
import { access, cp, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { loadPkg, pkgDir, root } from "./lib/pkg.mjs";
import { launchChromium, collectProblems } from "./lib/browser.mjs";

const run = promisify(execFile);
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");

const QUERIES = [
  "recrui",
  "recruiter",
  "javascript console",
  "javascrpt",
  "teacher engl",
  '"act as"',
  "teacher -english",
  "(poet OR writer) -story",
  "type:persona travel",
  "type:prompt_template",
  "model.api:chat",
  "tag:support",
  "name:recruiter",
  "path:prompts",
  "support",
  "zzzzqqqq",
  "",
];

let dir, site, server, ps, whole, ids;

async function corpusDir() {
  if (process.env.PROMPTSHELF_CORPUS) return process.env.PROMPTSHELF_CORPUS;
  for (let d = dirname(root); ; d = dirname(d)) {
    const c = join(d, "shared", "corpus");
    if (await stat(c).then((s) => s.isDirectory(), () => false)) return c;
    if (dirname(d) === d) return null;
  }
}

async function serve(db) {
  const child = spawn(bin, ["serve", "--db", db, "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1", RUST_LOG: "info" },
  });
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const end = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error("promptshelf serve exited:\n" + log);
    const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\//);
    if (m) return { base: `http://${m[1]}`, child };
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new Error("promptshelf serve not ready within 30 s:\n" + log);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  dir = await mkdtemp(join(tmpdir(), "promptshelf-remote-"));
  const lib = join(dir, "library");
  const corpus = await corpusDir();
  if (corpus) {
    await cp(join(corpus, "personas-awesome", "personas"), join(lib, "personas"), { recursive: true });
    await cp(join(root, "examples", "library", "prompts"), join(lib, "prompts"), { recursive: true });
  } else {
    console.log("\n!!! corpus not found: testing over the example library only !!!\n");
    await cp(join(root, "examples", "library"), lib, { recursive: true });
  }
  const db = join(dir, "snap.db");
  site = join(dir, "site");
  const { stderr } = await run(bin, ["build", lib, "--out", db, "--site", site, "--allow-errors"], {
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.match(stderr, /chunked index: \d+ files/);
  assert.match(stderr, /index postings/);
  server = await serve(db);
  ps = await loadPkg();
  const res = await fetch(`${server.base}/v1/index`);
  whole = ps.Shelf.load(new Uint8Array(await res.arrayBuffer()));
  ids = whole.search("", { limit: 5 }).hits.map((h) => h.id);
});

after(async () => {
  if (server) {
    server.child.kill("SIGTERM");
    await new Promise((r) => (server.child.exitCode !== null ? r() : server.child.on("exit", r)));
  }
  whole?.free();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fetch over the built files, counting requests per URL. */
function fileFetch(counts) {
  return async (url) => {
    const name = String(url).replace(/^site:\/\/\/v1\/index\//, "");
    counts.set(name, (counts.get(name) ?? 0) + 1);
    try {
      const body = await readFile(join(site, "v1", "index", name));
      return new Response(body, { status: 200 });
    } catch {
      return new Response("not found", { status: 404 });
    }
  };
}

test("Shelf.open over the built site equals Shelf.load of the whole index", { timeout: 300_000 }, async () => {
  const counts = new Map();
  const shelf = await ps.Shelf.open("site:///v1/index/", { fetch: fileFetch(counts) });
  try {
    for (const q of QUERIES) {
      for (const limit of [10, 50]) {
        const want = whole.search(q, { limit });
        const got = await shelf.search(q, { limit });
        assert.deepEqual(got, want, `${JSON.stringify(q)} limit ${limit}`);
      }
    }
    for (const id of [...ids, "no-such-id"]) {
      assert.deepEqual(await shelf.get(id), whole.get(id), id);
    }
    // Each file was fetched once, however many queries read it.
    for (const [name, n] of counts) assert.equal(n, 1, `${name} fetched ${n} times`);
    // A bad query rejects like Shelf.search throws.
    await assert.rejects(shelf.search('"unclosed'), (e) => e.name === "QueryError");
  } finally {
    shelf.free();
  }
});

test("promptshelf/open, the slim module, answers exactly like the whole index", { timeout: 300_000 }, async () => {
  const po = await import(join(pkgDir, "open", "promptshelf_open.js"));
  await po.default({ module_or_path: await readFile(join(pkgDir, "open", "promptshelf_open_bg.wasm")) });
  // Only `open` (and `version`; ChunkCore is the package-internal class it drives): no Shelf,
  // no parser, no logging.
  assert.deepEqual(Object.keys(po).filter((k) => !["default", "initSync"].includes(k)).sort(), ["ChunkCore", "open", "version"]);
  const counts = new Map();
  const shelf = await po.open("site:///v1/index/", { fetch: fileFetch(counts) });
  try {
    for (const q of QUERIES) {
      for (const limit of [10, 50]) {
        assert.deepEqual(await shelf.search(q, { limit }), whole.search(q, { limit }), `${JSON.stringify(q)} limit ${limit}`);
      }
    }
    for (const id of [...ids, "no-such-id"]) assert.deepEqual(await shelf.get(id), whole.get(id), id);
    await assert.rejects(shelf.search('"unclosed'), (e) => e.name === "QueryError");
  } finally {
    shelf.free();
  }
});

test("a query fetches only what it needs; concurrent queries share requests; the cache keeps its budget", { timeout: 120_000 }, async () => {
  const manifest = JSON.parse(await readFile(join(site, "v1", "index", "manifest.json"), "utf8"));
  const counts = new Map();
  const shelf = await ps.Shelf.open("site:///v1/index", { fetch: fileFetch(counts), cacheBytes: 1 });
  try {
    // The same query twice at once: one request per file.
    const [a, b] = await Promise.all([shelf.search("recruiter", { limit: 10 }), shelf.search("recruiter", { limit: 10 })]);
    assert.deepEqual(a, b);
    assert.deepEqual(a, whole.search("recruiter", { limit: 10 }));
    for (const [name, n] of counts) assert.equal(n, 1, `${name} fetched ${n} times`);
    const fetched = [...counts.keys()];
    const packs = fetched.filter((n) => n.startsWith("packs/")).length;
    const postings = fetched.filter((n) => n.startsWith("postings/")).length;
    assert.ok(postings >= 1 && postings <= Math.max(1, manifest.postings.length - 1) || manifest.postings.length === 1, `postings: ${postings} of ${manifest.postings.length}`);
    assert.ok(packs <= manifest.packs.length, `packs: ${packs} of ${manifest.packs.length}`);
    if (manifest.packs.length > 10) assert.ok(packs < manifest.packs.length, "a word query fetched every pack");
    // A 1-byte budget keeps only the files every query reads and those of the last query
    // (evicted when the next one ends); answers stay right.
    let globalBytes = 0;
    for (const n of [...manifest.lexicon.map((l) => l[1]), ...manifest.table.map((t) => t[1]), manifest.tags]) {
      globalBytes += (await stat(join(site, "v1", "index", n))).size;
    }
    const before = shelf.stats.fetchedBytes;
    const r = await shelf.search("teacher", { limit: 10 });
    assert.deepEqual(r, whole.search("teacher", { limit: 10 }));
    const lastQuery = shelf.stats.fetchedBytes - before;
    assert.ok(shelf.stats.cachedBytes >= globalBytes);
    assert.ok(shelf.stats.cachedBytes <= globalBytes + lastQuery, `cache holds ${shelf.stats.cachedBytes} bytes`);
    // An evicted file is fetched again when needed.
    assert.deepEqual(await shelf.search("recruiter", { limit: 10 }), a);
  } finally {
    shelf.free();
  }
});

test("the local server serves the live chunk set at /v1/index/", { timeout: 120_000 }, async () => {
  const shelf = await ps.Shelf.open(`${server.base}/v1/index/`);
  try {
    for (const q of ["recruiter", "tag:support", "javascrpt"]) {
      assert.deepEqual(await shelf.search(q, { limit: 20 }), whole.search(q, { limit: 20 }), q);
    }
    assert.ok(shelf.stats.fetches > 0);
  } finally {
    shelf.free();
  }
  // Caching: content-named files forever, the manifest revalidated (issue #14).
  const m = await fetch(`${server.base}/v1/index/manifest.json`);
  assert.equal(m.headers.get("cache-control"), "no-cache");
  assert.ok(m.headers.get("etag"));
  const first = JSON.parse(await m.text()).lexicon[0][1];
  const c = await fetch(`${server.base}/v1/index/${first}`);
  assert.equal(c.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const again = await fetch(`${server.base}/v1/index/${first}`, { headers: { "if-none-match": c.headers.get("etag") } });
  assert.equal(again.status, 304);
  const res = await fetch(`${server.base}/v1/index/postings/nope.bin`);
  assert.equal(res.status, 404);
  await assert.rejects(ps.Shelf.open(`${server.base}/v1/nothing/`), /404/);
});

test("Chromium: a plain module page searches the static site, fetching only what queries need", { timeout: 180_000 }, async (t) => {
  const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".html": "text/html" };
  const html = `<!doctype html><meta charset="utf-8"><title>remote</title><script type="module">
    import init, { Shelf } from "/pkg/promptshelf.js";
    await init();
    const shelf = await Shelf.open(new URL("/v1/index/", location.href).href);
    window.search = (q, o) => shelf.search(q, o);
    window.ready = true;
  </script>`;
  const pkgBase = resolve(pkgDir);
  const siteBase = resolve(site);
  const http = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    if (path === "/") return res.writeHead(200, { "content-type": TYPES[".html"] }).end(html);
    if (path === "/favicon.ico") return res.writeHead(204).end();
    const [base, rel] = path.startsWith("/pkg/") ? [pkgBase, path.slice(5)] : [siteBase, path.slice(1)];
    const file = resolve(base, "." + sep + rel);
    if (!file.startsWith(base + sep)) return res.writeHead(404).end();
    let body;
    try {
      body = await readFile(file);
    } catch {
      return res.writeHead(404).end();
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
  });
  await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
  t.after(() => new Promise((ok) => http.close(ok)));
  const url = `http://127.0.0.1:${http.address().port}/`;
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const problems = collectProblems(page);
  const requests = [];
  page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(url);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
  const manifest = JSON.parse(await readFile(join(site, "v1", "index", "manifest.json"), "utf8"));
  for (const q of ["recruiter", "teacher engl", "tag:support"]) {
    const got = await page.evaluate((q) => window.search(q, { limit: 10 }), q);
    assert.deepEqual(got, whole.search(q, { limit: 10 }), q);
  }
  const index = requests.filter((p) => p.startsWith("/v1/index/"));
  assert.ok(index.includes("/v1/index/manifest.json"));
  assert.equal(new Set(index).size, index.length, "a file was requested twice");
  const all = 1 + manifest.lexicon.length + manifest.postings.length + manifest.table.length + 1 + manifest.packs.length + manifest.filters.length;
  if (all > 20) assert.ok(index.length < all, `the page fetched all ${all} files`);
  assert.ok(!requests.includes("/v1/index"), "the whole index was fetched");
  assert.deepEqual(problems, []);
});
