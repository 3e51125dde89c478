// `promptshelf/client` in headless Chromium against the real local server (`promptshelf watch`
// on a copy of examples/library), cross-origin from a page on another loopback port:
// (1) a plain ES-module page importing pkg/client/client.js — get, search, a 304 revalidation
// seen through the page's own counting fetch, a 404 error; (2) a Vite app that imports only
// `promptshelf/client` from the packed package (`vite build` served statically, and the dev
// server): its answers are the server's and it downloads no WebAssembly; (3) a page whose
// Shelf follows the server (`shelf.follow(api)`): its own search results change after a
// file is added, edited and deleted, without a reload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createServer } from "node:http";
import { cp, mkdtemp, mkdir, readFile, rm, writeFile, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve, extname, sep } from "node:path";
import { root, pkgDir } from "./lib/pkg.mjs";
import { launchChromium, collectProblems } from "./lib/browser.mjs";
import { until } from "./lib/until.mjs";

const run = promisify(execFile);
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm" };

/** Serves `dir` (and `extra` path → body) on a free loopback port. */
async function serveStatic(dir, extra = {}) {
  const base = resolve(dir);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    if (extra[path]) return res.writeHead(200, { "content-type": TYPES[extname(path)] }).end(extra[path]);
    const file = resolve(base, "." + sep + (path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(base + sep)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((ok) => server.close(ok)) };
}

let dir, api, child;
before(async () => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  dir = await mkdtemp(join(tmpdir(), "promptshelf-client-browser-"));
  await cp(join(root, "examples/library"), join(dir, "lib"), { recursive: true });
  child = spawn(bin, ["watch", join(dir, "lib"), "--listen", "127.0.0.1:0", "--no-progress"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const addr = await until("the server address", 30_000, () => {
    if (child.exitCode !== null) throw new Error("promptshelf exited: " + log);
    return log.match(/http:\/\/(127\.0\.0\.1:\d+)\//)?.[1];
  });
  api = `http://${addr}`;
  await until("/readyz", 30_000, async () => (await fetch(api + "/readyz")).ok);
});
after(async () => {
  child?.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
});

const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>client</title>
<script type="module">
import { createClient, PromptshelfError } from "/pkg/client/client.js";
const api = new URLSearchParams(location.search).get("api");
const calls = [];
const counting = async (url, init = {}) => {
  const r = await fetch(url, init);
  calls.push({ url: String(url), status: r.status, inm: (init.headers || {})["If-None-Match"] ?? null });
  return r;
};
const c = createClient({ baseUrl: api, fetch: counting, ttl: 100 });
try {
  const doc = await c.get("prompts/support/reply-to-ticket");
  const hits = (await c.search("supp", { limit: 3 })).hits.map((h) => h.id);
  await new Promise((r) => setTimeout(r, 150));
  const stale = await c.get("prompts/support/reply-to-ticket");
  while (calls.length < 3) await new Promise((r) => setTimeout(r, 20));
  let err;
  try { await c.get("nope"); } catch (e) { err = { isError: e instanceof PromptshelfError, status: e.status, code: e.code }; }
  window.result = { id: doc.id, same: stale === doc, hits, calls, err };
} catch (e) {
  window.result = { failed: String(e && e.stack || e) };
}
document.body.dataset.ready = "1";
</script><body></body>`;

test("a plain page in Chromium: get, search, 304 revalidation, 404", { timeout: 60_000 }, async (t) => {
  const web = await serveStatic(root, { "/page.html": PAGE });
  t.after(web.close);
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const problems = collectProblems(page);
  await page.goto(`${web.url}/page.html?api=${encodeURIComponent(api)}`);
  await page.waitForSelector("body[data-ready]", { state: "attached", timeout: 30_000 });
  const r = await page.evaluate(() => window.result);
  assert.equal(r.failed, undefined, r.failed);
  assert.equal(r.id, "prompts/support/reply-to-ticket");
  assert.ok(r.same, "the stale answer is the cached object");
  assert.equal(r.hits[0], "support-agent");
  assert.deepEqual(r.calls.slice(0, 3).map((c) => c.status), [200, 200, 304], JSON.stringify(r.calls));
  assert.match(r.calls[2].inm, /^"\d+-\d+"$/);
  assert.match(r.calls[2].url, /\/v1\/documents\/prompts%2Fsupport%2Freply-to-ticket$/);
  assert.deepEqual(r.err, { isError: true, status: 404, code: "not_found" });
  // The 404 is the test's own request (Chromium also logs it to the console); nothing else
  // failed — in particular no request reported aborted (an unread 304 body would be).
  const expected404 = [`HTTP 404: ${api}/v1/documents/nope`, "console.error: Failed to load resource: the server responded with a status of 404 (Not Found)"];
  assert.deepEqual(problems, expected404);
});

const VITE_MAIN = `import { createClient } from "promptshelf/client";
const c = createClient({ baseUrl: new URLSearchParams(location.search).get("api") });
try {
  const doc = await c.get("support-agent");
  const { hits } = await c.search("ticket", { limit: 5 });
  document.getElementById("out").textContent = JSON.stringify({ name: doc.name, hits: hits.map((h) => h.id) });
  document.body.dataset.ready = "1";
} catch (e) {
  document.body.dataset.error = String(e?.stack ?? e);
}
`;

test("a Vite app importing promptshelf/client from the packed package", { timeout: 180_000 }, async (t) => {
  const viteBin = join(root, "node_modules", "vite", "bin", "vite.js");
  assert.ok((await access(viteBin).then(() => true, () => false)), `${viteBin} missing (npm ci)`);
  const tmp = await mkdtemp(join(tmpdir(), "promptshelf-client-vite-"));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const env = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: pkgDir, env });
  const [info] = JSON.parse(stdout);
  const app = join(tmp, "app");
  await mkdir(app, { recursive: true });
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run("npm", ["install", "--offline", "--no-package-lock", join(tmp, info.filename)], { cwd: app, env });
  await writeFile(join(app, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><body><pre id="out"></pre><script type="module" src="/main.js"></script></body>`);
  await writeFile(join(app, "main.js"), VITE_MAIN);

  const expected = {
    name: (await (await fetch(api + "/v1/documents/support-agent")).json()).name,
    hits: (await (await fetch(api + "/v1/search?q=ticket&limit=5")).json()).hits.map((h) => h.id),
  };
  const browser = await launchChromium(t);
  async function open(url) {
    const page = await browser.newPage();
    const problems = collectProblems(page);
    const wasm = [];
    page.on("request", (r) => r.url().endsWith(".wasm") && wasm.push(r.url()));
    try {
      await page.goto(`${url}?api=${encodeURIComponent(api)}`);
      await page.waitForFunction(() => document.body.dataset.ready || document.body.dataset.error, null, { timeout: 30_000 });
      assert.equal(await page.getAttribute("body", "data-error"), null);
      return { got: JSON.parse(await page.textContent("#out")), wasm, problems };
    } finally {
      await page.close();
    }
  }

  await t.test("vite build", async () => {
    await run(process.execPath, [viteBin, "build", "--logLevel", "warn"], { cwd: app, env: { ...env, NO_COLOR: "1" } });
    const web = await serveStatic(join(app, "dist"));
    try {
      const r = await open(web.url + "/");
      assert.deepEqual(r.got, expected);
      assert.deepEqual(r.wasm, [], "a page that only fetches prompts downloads no WebAssembly");
      assert.deepEqual(r.problems, []);
    } finally {
      await web.close();
    }
  });

  await t.test("vite dev server", async () => {
    const { createServer } = await import("vite");
    const server = await createServer({ root: app, configFile: false, logLevel: "warn", server: { host: "127.0.0.1", port: 0 } });
    try {
      await server.listen();
      const r = await open(server.resolvedUrls.local[0]);
      assert.deepEqual(r.got, expected);
      assert.deepEqual(r.wasm, []);
      assert.deepEqual(r.problems, []);
    } finally {
      await server.close();
    }
  });
});

const FOLLOW_PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>follow</title>
<script type="module">
import init, { Shelf } from "/pkg/promptshelf.js";
const api = new URLSearchParams(location.search).get("api");
try {
  await init();
  const shelf = Shelf.load(new Uint8Array(await (await fetch(api + "/v1/index")).arrayBuffer()));
  window.changes = [];
  window.hits = (q) => shelf.search(q, { limit: 20 }).hits.map((h) => h.id);
  window.sub = shelf.follow(api, { onChange: (e) => window.changes.push(e), onError: (e) => (window.followError = String(e)) });
  await window.sub.ready;
  document.body.dataset.ready = "1";
} catch (e) {
  document.body.dataset.error = String(e && e.stack || e);
}
</script><body></body>`;

test("shelf.follow in Chromium: search results follow file saves without a reload", { timeout: 60_000 }, async (t) => {
  const web = await serveStatic(root, { "/follow.html": FOLLOW_PAGE });
  t.after(web.close);
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const problems = collectProblems(page);
  let loads = 0;
  page.on("load", () => loads++);
  await page.goto(`${web.url}/follow.html?api=${encodeURIComponent(api)}`);
  await page.waitForFunction(() => document.body.dataset.ready || document.body.dataset.error, null, { timeout: 30_000 });
  assert.equal(await page.getAttribute("body", "data-error"), null);
  const hits = (q) => page.evaluate((q) => window.hits(q), q);
  assert.deepEqual(await hits("zanzibar"), []);
  // Let the stream connect (hello) before saving.
  await new Promise((r) => setTimeout(r, 300));

  // A new file: found by the page's own index.
  await writeFile(join(dir, "lib/personas/zanzibar.json"), JSON.stringify({ id: "island-guide", name: "Zanzibar Guide", prompt: "You know Zanzibar." }));
  await until("the new document in the page's results", 10_000, async () => (await hits("zanzibar")).includes("island-guide"));
  // An edit: the old words go, the new ones come.
  await writeFile(join(dir, "lib/personas/zanzibar.json"), JSON.stringify({ id: "island-guide", name: "Madagascar Guide", prompt: "You know Madagascar." }));
  await until("the edit in the page's results", 10_000, async () => (await hits("madagascar")).includes("island-guide"));
  assert.deepEqual(await hits("zanzibar"), []);
  // A delete: gone.
  await rm(join(dir, "lib/personas/zanzibar.json"));
  await until("the delete in the page's results", 10_000, async () => (await hits("madagascar")).length === 0);
  assert.equal(loads, 1, "the page never reloaded");
  const changes = await page.evaluate(() => window.changes);
  assert.ok(changes.length >= 3 && changes.every((c) => c.type === "sync"), JSON.stringify(changes));
  assert.equal(await page.evaluate(() => window.followError), undefined);
  await page.evaluate(() => window.sub.close());
  assert.deepEqual(problems, []);
});
