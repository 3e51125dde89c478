// A bundler, as a frontend developer uses it: `npm pack` of pkg/ → install into a fresh
// temporary Vite app (no vite.config file; vite itself is the version pinned in the root
// package.json) → headless Chromium opens the app (1) from `vite build`'s dist/ served by a
// plain static server and (2) from Vite's dev server. The page does `import init, { Shelf }
// from "promptshelf"; await init()`, loads the example library's index and searches; its hits
// must be the ones the same package gives in Node for the same bytes and query, the .wasm must
// arrive as application/wasm (in the build: as Vite's hashed asset), and the console stays clean.
// Then, on a signal from the test (as on a "Preview" click), the page imports the render module
// lazily — `await import("promptshelf/render")` — and renders a prompt; its messages must be
// Node's, and the render module (JS chunk and .wasm) must not be fetched before that.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createServer } from "node:http";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, readFile, readdir, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve, extname, sep } from "node:path";
import { root, pkgDir, libraryDir, loadPkg } from "./lib/pkg.mjs";
import { launchChromium, collectProblems } from "./lib/browser.mjs";
import { buildIndex } from "../../examples/browser/build-index.mjs";

const run = promisify(execFile);
const QUERY = "supp";
const RENDER_INPUTS = { question: "Top 5 customers?", dialect: "SQLite" };
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
};

// The whole app: what the package README's Vite quick start shows.
const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>promptshelf in Vite</title>
<link rel="icon" href="data:,"><!-- no favicon request: a 404 would count as a console error --></head>
<body><ol id="hits"></ol><pre id="messages"></pre><script type="module" src="/main.js"></script></body></html>
`;
const MAIN_JS = `import init, { Shelf } from "promptshelf";

async function preview() {
  const [{ default: initRender, render }, { default: initParse }] = await Promise.all([import("promptshelf/render"), import("promptshelf/parse")]);
  await Promise.all([initRender(), initParse()]);
  const text = await (await fetch("/prompt.prompty")).text();
  const messages = render("prompts/sql-helper.prompty", text, ${JSON.stringify(RENDER_INPUTS)});
  document.getElementById("messages").textContent = JSON.stringify(messages);
  document.body.dataset.ready = "render";
}

async function main() {
  await init();
  const bytes = new Uint8Array(await (await fetch("/index.bin")).arrayBuffer());
  const shelf = Shelf.load(bytes);
  const { hits } = shelf.search(${JSON.stringify(QUERY)}, { limit: 10 });
  document.getElementById("hits").replaceChildren(
    ...hits.map((h) => {
      const li = document.createElement("li");
      li.textContent = h.name;
      li.dataset.id = h.id;
      return li;
    }),
  );
  shelf.free();
  document.body.dataset.ready = "search";
  await new Promise((go) => { window.go = go; });
  await preview();
}
main().catch((e) => {
  document.body.dataset.error = String(e?.stack ?? e);
});
`;

/** Serves `dir` read-only on a free loopback port; resolves to `{url, close()}`. */
async function serveStatic(dir) {
  const base = resolve(dir);
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
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

test("a Vite app importing the packed package, in headless Chromium", { timeout: 180_000 }, async (t) => {
  const viteBin = join(root, "node_modules", "vite", "bin", "vite.js");
  assert.ok(existsSync(viteBin), `${viteBin} missing (scripts/setup runs npm ci)`);
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-vite-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };

  // The app, with the package installed from its tarball (offline: it has no dependencies).
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: pkgDir, env });
  const [info] = JSON.parse(stdout);
  const app = join(dir, "app");
  await mkdir(join(app, "public"), { recursive: true });
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run("npm", ["install", "--offline", "--no-package-lock", join(dir, info.filename)], { cwd: app, env });
  await writeFile(join(app, "index.html"), INDEX_HTML);
  await writeFile(join(app, "main.js"), MAIN_JS);
  const { bytes } = await buildIndex();
  await writeFile(join(app, "public", "index.bin"), bytes);
  const promptText = await readFile(join(libraryDir, "prompts", "sql-helper.prompty"), "utf8");
  await writeFile(join(app, "public", "prompt.prompty"), promptText);

  // What the same package answers in Node: the page must show exactly these hits.
  const { Shelf } = await loadPkg();
  const shelf = Shelf.load(bytes);
  const expected = shelf.search(QUERY, { limit: 10 }).hits.map((h) => ({ id: h.id, name: h.name }));
  shelf.free();
  assert.ok(expected.some((h) => h.id === "support-agent"), JSON.stringify(expected));
  const rd = await import(join(pkgDir, "render", "promptshelf_render.js"));
  await rd.default({ module_or_path: await readFile(join(pkgDir, "render", "promptshelf_render_bg.wasm")) });
  const expectedMessages = rd.render("prompts/sql-helper.prompty", promptText, RENDER_INPUTS);
  assert.match(JSON.stringify(expectedMessages), /SQLite/);

  const browser = await launchChromium(t);

  /**
   * Opens `url`, waits for the search, lets the page load the render module, waits for it.
   * Returns the hits and messages shown, the .wasm responses before and after the render
   * module was asked for, whatever was requested of it before that, and any page problems.
   */
  async function openApp(url) {
    const page = await browser.newPage();
    const problems = collectProblems(page);
    const wasmUrls = [];
    const requested = [];
    page.on("request", (r) => requested.push(new URL(r.url()).pathname));
    page.on("response", (r) => {
      if (new URL(r.url()).pathname.endsWith(".wasm")) wasmUrls.push(`${r.status()} ${r.headers()["content-type"]} ${new URL(r.url()).pathname}`);
    });
    const settled = (want) => page.waitForFunction((w) => document.body.dataset.ready === w || document.body.dataset.error, want, { timeout: 30_000 });
    try {
      await page.goto(url, { waitUntil: "load" });
      await settled("search");
      assert.equal(await page.getAttribute("body", "data-error"), null);
      const hits = await page.$$eval("#hits li", (lis) => lis.map((li) => ({ id: li.dataset.id, name: li.textContent })));
      const searchWasm = [...wasmUrls];
      const renderBefore = requested.filter((p) => p.includes("render"));
      await page.evaluate(() => window.go());
      await settled("render");
      assert.equal(await page.getAttribute("body", "data-error"), null);
      const messages = JSON.parse(await page.textContent("#messages"));
      return { hits, messages, problems, searchWasm, renderWasm: wasmUrls.slice(searchWasm.length), renderBefore };
    } finally {
      await page.close();
    }
  }

  await t.test("vite build, dist/ served statically", async () => {
    const started = Date.now();
    await run(process.execPath, [viteBin, "build", "--logLevel", "warn"], { cwd: app, env: { ...env, NO_COLOR: "1" } });
    console.log(`vite build: ${Date.now() - started} ms`);
    const assets = await readdir(join(app, "dist", "assets"));
    const wasm = assets.filter((f) => f.endsWith(".wasm"));
    const searchAsset = wasm.find((f) => f.startsWith("promptshelf_bg"));
    const renderAsset = wasm.find((f) => f.startsWith("promptshelf_render_bg"));
    const parseAsset = wasm.find((f) => f.startsWith("promptshelf_parse_bg"));
    assert.ok(wasm.length === 3 && searchAsset && renderAsset && parseAsset, `expected the three .wasm among Vite's assets: ${assets.join(",")}`);
    // The render module is its own chunk, not part of the entry.
    const entry = (await readFile(join(app, "dist", "index.html"), "utf8")).match(/src="\/assets\/([^"]+\.js)"/)?.[1];
    assert.ok(entry, "no entry chunk in dist/index.html");
    assert.ok(!(await readFile(join(app, "dist", "assets", entry), "utf8")).includes(renderAsset), "the entry chunk references the render .wasm");

    const server = await serveStatic(join(app, "dist"));
    try {
      const got = await openApp(server.url);
      assert.deepEqual(got.hits, expected);
      assert.deepEqual(got.searchWasm, [`200 application/wasm /assets/${searchAsset}`]);
      assert.deepEqual(got.renderBefore, [], "the render module was fetched before it was imported");
      assert.deepEqual(got.renderWasm.sort(), [`200 application/wasm /assets/${parseAsset}`, `200 application/wasm /assets/${renderAsset}`].sort());
      assert.deepEqual(got.messages, expectedMessages);
      assert.deepEqual(got.problems, []);
    } finally {
      await server.close();
    }
  });

  await t.test("vite dev server", async () => {
    const { createServer } = await import("vite");
    // Vite 7's dependency pre-bundling would move the package's JS away from its .wasm
    // (Vite 8 handles it); `optimizeDeps.exclude` is the one setting wasm/README.md asks for.
    const server = await createServer({
      root: app,
      configFile: false,
      logLevel: "warn",
      optimizeDeps: { exclude: ["promptshelf"] },
      server: { host: "127.0.0.1", port: 0 },
    });
    try {
      await server.listen();
      const got = await openApp(server.resolvedUrls.local[0]);
      assert.deepEqual(got.hits, expected);
      assert.equal(got.searchWasm.length, 1, got.searchWasm.join(","));
      assert.match(got.searchWasm[0], /^200 application\/wasm .*promptshelf_bg\.wasm/);
      assert.deepEqual(got.renderBefore, [], "the render module was fetched before it was imported");
      assert.equal(got.renderWasm.length, 2, got.renderWasm.join(","));
      assert.ok(got.renderWasm.some((w) => /^200 application\/wasm .*promptshelf_render_bg\.wasm/.test(w)), got.renderWasm.join(","));
      assert.ok(got.renderWasm.some((w) => /^200 application\/wasm .*promptshelf_parse_bg\.wasm/.test(w)), got.renderWasm.join(","));
      assert.deepEqual(got.messages, expectedMessages);
      assert.deepEqual(got.problems, []);
    } finally {
      await server.close();
    }
  });
});
