// `promptshelf/open` in a bundler (issue #14): `npm pack` of pkg/ → a fresh Vite app whose page
// does `import initOpen, { open } from "promptshelf/open"; await initOpen(); open("/idx/")` over
// the chunk set `promptshelf build --site` wrote for the example library (copied into the app's
// public/), `vite build`, dist/ served statically, headless Chromium. The hits shown must be the
// whole index's for the same query (Node, same package), only the open .wasm may be fetched
// (not the search, parse or render ones), and the console stays clean.
// Needs pkg/ (scripts/build-pkg) and the debug binary (or PROMPTSHELF_BIN).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createServer } from "node:http";
import { existsSync } from "node:fs";
import { cp, mkdtemp, mkdir, readFile, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve, extname, sep } from "node:path";
import { root, pkgDir, libraryDir, loadPkg, readLibrary } from "./lib/pkg.mjs";
import { launchChromium, collectProblems } from "./lib/browser.mjs";

const run = promisify(execFile);
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const QUERY = "supp";
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json" };

const MAIN_JS = `import initOpen, { open } from "promptshelf/open";
try {
  await initOpen();
  const shelf = await open("/idx/");
  const { hits } = await shelf.search(${JSON.stringify(QUERY)}, { limit: 10 });
  document.getElementById("hits").replaceChildren(...hits.map((h) => {
    const li = document.createElement("li");
    li.textContent = h.name;
    li.dataset.id = h.id;
    return li;
  }));
  document.body.dataset.ready = "search";
} catch (e) {
  document.body.dataset.error = String(e?.stack ?? e);
}
`;

test("a Vite app importing promptshelf/open searches a static chunk set in headless Chromium", { timeout: 180_000 }, async (t) => {
  const viteBin = join(root, "node_modules", "vite", "bin", "vite.js");
  assert.ok(existsSync(viteBin), `${viteBin} missing (scripts/setup runs npm ci)`);
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-vite-open-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", NO_COLOR: "1" };

  const site = join(dir, "site");
  await run(bin, ["build", libraryDir, "--out", join(dir, "lib.db"), "--site", site, "--allow-errors"], { env });
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: pkgDir, env });
  const [info] = JSON.parse(stdout);
  const app = join(dir, "app");
  await mkdir(join(app, "public"), { recursive: true });
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run("npm", ["install", "--offline", "--no-package-lock", join(dir, info.filename)], { cwd: app, env });
  await writeFile(join(app, "index.html"), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><ol id="hits"></ol><script type="module" src="/main.js"></script></body></html>\n`);
  await writeFile(join(app, "main.js"), MAIN_JS);
  await cp(join(site, "v1", "index"), join(app, "public", "idx"), { recursive: true });
  await run(process.execPath, [viteBin, "build", "--logLevel", "warn"], { cwd: app, env });

  // The whole index's answer, in Node, from the same library.
  const ps = await loadPkg();
  const whole = ps.Shelf.fromFiles(await readLibrary());
  const expected = whole.search(QUERY, { limit: 10 }).hits.map((h) => h.id);
  whole.free();
  assert.ok(expected.length > 0);

  const base = resolve(join(app, "dist"));
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    const file = resolve(base, "." + sep + (path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(base + sep)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(() => new Promise((ok) => server.close(ok)));
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const problems = collectProblems(page);
  const wasm = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname.endsWith(".wasm")) wasm.push(new URL(r.url()).pathname);
  });
  await page.goto(`http://127.0.0.1:${server.address().port}/`, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.ready === "search" || document.body.dataset.error, null, { timeout: 30_000 });
  assert.equal(await page.getAttribute("body", "data-error"), null);
  const got = await page.$$eval("#hits li", (lis) => lis.map((li) => li.dataset.id));
  assert.deepEqual(got, expected);
  assert.equal(wasm.length, 1, wasm.join(","));
  assert.match(wasm[0], /^\/assets\/promptshelf_open_bg-.*\.wasm$/);
  assert.deepEqual(problems, []);
});
