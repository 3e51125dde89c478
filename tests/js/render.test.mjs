// The package's render module, `promptshelf/render` (pkg/render/, a second .wasm): in Node over
// the built pkg/, and in headless Chromium from a plain <script type="module"> page that loads it
// lazily after searching. Its messages must equal the native core's (`promptshelf render FILE
// --format json`, the CLI) for every example prompt, and rendering the read API's document JSON
// must equal the API's own render endpoint; errors are RenderErrors with code, line and column;
// and a page that imports only `promptshelf` never fetches the render module.
// Needs the debug binary (cargo build -p promptshelf-watcher) or PROMPTSHELF_BIN.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createServer } from "node:http";
import { access, cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, resolve, sep } from "node:path";
import { root, pkgDir, libraryDir, loadPkg, loadParse, readLibrary, thrown } from "./lib/pkg.mjs";
import { launchChromium, collectProblems } from "./lib/browser.mjs";

const run = promisify(execFile);
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");

const ps = await loadPkg();
// The parser: `render(path, text)` parses with `promptshelf/parse` (loadPkg initialised it).
const pp = await loadParse();
const rd = await import(join(pkgDir, "render", "promptshelf_render.js"));
await rd.default({ module_or_path: await readFile(join(pkgDir, "render", "promptshelf_render_bg.wasm")) });

const files = await readLibrary();
const prompts = files.filter((f) => f.path.endsWith(".prompty"));
/** Inputs given for each prompt, on top of the file's own samples/defaults. */
const INPUTS = { question: "Top 5 customers by revenue?", dialect: "SQLite", text: "Bonjour <b>tout</b> le monde", subject: "Refund" };

/** The native core's answer: `promptshelf render FILE --format json` → {messages} or {error}. */
async function cli(file, inputs) {
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-render-"));
  try {
    const args = ["render", file, "--format", "json"];
    if (inputs) {
      await writeFile(join(dir, "inputs.json"), JSON.stringify(inputs));
      args.push("--inputs", join(dir, "inputs.json"));
    }
    // A clean environment: `${env:...}` must resolve the same as in the package (empty env).
    const out = await run(bin, args, { env: { PATH: process.env.PATH } }).catch((e) => e);
    try {
      return JSON.parse(out.stdout);
    } catch {
      throw new Error(`${bin} ${args.join(" ")}: no JSON on stdout (exit ${out.code ?? 0}): ${out.stderr}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function assertNotTrap(e) {
  assert.ok(e instanceof Error, `expected an Error, got ${e}`);
  assert.ok(!(e instanceof WebAssembly.RuntimeError), `wasm trap: ${e.stack}`);
}

test("render module: the same version as the search module, and none of its or the parse module's exports", () => {
  assert.equal(rd.version(), ps.version());
  assert.equal(pp.version(), ps.version());
  for (const name of ["Shelf", "parse", "setLogLevel"]) assert.equal(rd[name], undefined, name);
  for (const name of ["render", "renderDocument", "renderById", "parse"]) assert.equal(ps[name], undefined, name);
  for (const name of ["Shelf", "render", "setLogLevel"]) assert.equal(pp[name], undefined, name);
});

/** A render's outcome, comparable with the CLI's JSON: {messages} or {error: {code, line, column}}. */
function outcome(fn) {
  try {
    return { messages: fn() };
  } catch (e) {
    assertNotTrap(e);
    assert.equal(e.name, "RenderError", String(e));
    return { error: { code: e.code, line: e.line, column: e.column } };
  }
}
const cliOutcome = (o) => (o.error ? { error: { code: o.error.code, line: o.error.line ?? null, column: o.error.column ?? null } } : o);

test("render(path, text) equals the native CLI for every example prompt, with and without inputs", async () => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  assert.ok(prompts.length >= 5, prompts.map((f) => f.path).join(","));
  let rendered = 0;
  for (const f of prompts) {
    for (const inputs of [undefined, INPUTS]) {
      const want = cliOutcome(await cli(join(libraryDir, f.path), inputs));
      const got = outcome(() => rd.render(f.path, f.text, inputs));
      assert.deepEqual(got, want, `${f.path} ${JSON.stringify(inputs)}`);
      // The same from the parsed document (what a search Shelf holds).
      assert.deepEqual(outcome(() => rd.renderDocument(pp.parse(f.path, f.text), inputs)), got, `${f.path} renderDocument`);
      if (got.messages) rendered++;
    }
  }
  // Most render; some are errors in both (e.g. v1 files whose `sample` is replaced by the inputs).
  console.log(`${rendered} of ${prompts.length * 2} renders succeeded, the rest failed alike`);
  assert.ok(rendered >= prompts.length, `only ${rendered} renders succeeded`);
});

test("errors are RenderErrors with the CLI's code, line and column", async () => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-render-err-"));
  try {
    const cases = [
      ["syntax.prompty", "---\nname: X\n---\nuser:\nHi {{ who }\n"],
      ["filter.prompty", "---\nname: X\n---\nuser:\n{{ name | nosuchfilter }}"],
      ["required.prompty", "---\nname: X\ninputs:\n  - name: q\n    kind: string\n    required: true\n---\nuser:\n{{q}}"],
      // Parsed by the parse module (the render module has no parser): a `parse` error.
      ["yaml.prompty", "---\nname: X\nmodel: [api\n---\nuser:\nHi\n"],
    ];
    for (const [name, text] of cases) {
      await writeFile(join(dir, name), text);
      const want = (await cli(join(dir, name))).error;
      assert.ok(want, `${name}: the CLI rendered it`);
      const e = thrown(() => rd.render(`prompts/${name}`, text));
      assertNotTrap(e);
      assert.equal(e.name, "RenderError", `${name}: ${e}`);
      assert.deepEqual({ code: e.code, line: e.line, column: e.column }, { code: want.code, line: want.line ?? null, column: want.column ?? null }, name);
      assert.equal(typeof e.reason, "string");
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // Strict mode: an undefined variable, at its position in the file.
  const e = thrown(() => rd.render("prompts/x.prompty", "---\nname: X\n---\nuser:\nHi {{ who }}", {}, { strict: true }));
  assert.deepEqual([e.name, e.code, e.line, e.column], ["RenderError", "undefined", 5, 7]);
  assert.match(e.message, /^5:7: /);
  // Options and inputs of the wrong shape are TypeErrors; `env` answers ${env:...}.
  assert.ok(thrown(() => rd.render("prompts/x.prompty", "---\nname: X\n---\nuser:\nHi", {}, { strcit: true })) instanceof TypeError);
  assert.equal(thrown(() => rd.render("prompts/x.prompty", "---\nname: X\n---\nuser:\nHi", [1, 2])).code, "invalid_inputs");
  const envText = "---\nname: X\ninputs:\n  who:\n    type: string\n    default: ${env:WHO}\nmodel:\n  api: chat\n---\nuser:\nHi {{who}}";
  assert.equal(thrown(() => rd.render("prompts/e.prompty", envText)).code, "missing_env");
  assert.deepEqual(rd.render("prompts/e.prompty", envText, {}, { env: { WHO: "Ada" } }), [{ role: "user", content: "Hi Ada" }]);
});

test("typed inputs (#16): every problem before rendering, checkInputs for forms", () => {
  const text = "---\nname: T\nmodel:\n  id: m\ninputs:\n  - name: n\n    kind: integer\n    default: 1\n  - name: tone\n    kind: string\n    enumValues: [calm, loud]\n    default: calm\n  - name: tags\n    kind: array\n    items:\n      kind: string\n---\nuser:\n{{n}} {{tone}}\n";
  const doc = pp.parse("prompts/t.prompty", text);
  assert.equal(doc.content.schema.inputs.properties.tone.enum.length, 2, "the parsed document carries its schema");
  const e = thrown(() => rd.renderDocument(doc, { n: "two", tone: "rude", tags: ["a", 7] }));
  assertNotTrap(e);
  assert.equal(e.code, "invalid_inputs");
  assert.deepEqual(e.problems.map((p) => p.input), ["n", "tone", "tags[1]"]);
  assert.equal(e.problems[2].message, "tags[1]: expected a string, found the number 7");
  assert.equal(thrown(() => rd.render("prompts/t.prompty", text, { n: 1.5 })).problems[0].found, "the number 1.5");
  assert.deepEqual(rd.checkInputs(doc, { n: 2, zz: 1 }), { problems: [], warnings: ["input `zz` is not declared by the prompt (a typo?)"] });
  assert.equal(rd.checkInputs(doc, { zz: 1 }, { strict: true }).problems[0].input, "zz");
  assert.equal(thrown(() => rd.renderDocument(doc, { zz: 1 }, { strict: true })).code, "invalid_inputs");
  assert.deepEqual(rd.renderDocument(doc, { n: 2, zz: 1 }), [{ role: "user", content: "2 calm" }]);
});

test("render(path, text) parses with the search module: numbers keep their form, as in the CLI", async () => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-render-num-"));
  try {
    // A float default written `1.0` must print as Python prints it (`1.0`), not as JS would.
    const text = "---\nname: N\ninputs:\n  - name: t\n    kind: float\n    default: 1.0\n  - name: n\n    kind: integer\n    default: 12345678901234567\n---\nuser:\nt={{t}} n={{n}}\n";
    await writeFile(join(dir, "n.prompty"), text);
    const want = cliOutcome(await cli(join(dir, "n.prompty")));
    assert.deepEqual(want.messages, [{ role: "user", content: "t=1.0 n=12345678901234567" }]);
    assert.deepEqual(outcome(() => rd.render("prompts/n.prompty", text)), want);
    assert.deepEqual(rd.render("prompts/empty.prompty", "\ufeff \n"), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("render(path, text) before the parse module is initialised: a clear Error, not a trap", async () => {
  // A fresh process: only the render module is initialised.
  const script = `import { readFile } from "node:fs/promises";
const rd = await import(${JSON.stringify(join(pkgDir, "render", "promptshelf_render.js"))});
await rd.default({ module_or_path: await readFile(${JSON.stringify(join(pkgDir, "render", "promptshelf_render_bg.wasm"))}) });
const doc = { id: "x", type: "prompt_template", content: { frontmatter: { name: "X" }, body: "user:\\nHi", shape: "v2", body_line: 4 } };
let e;
try { rd.render("prompts/x.prompty", "---\\nname: X\\n---\\nuser:\\nHi"); } catch (err) { e = err; }
console.log(JSON.stringify({ name: e?.name, message: e?.message, trap: e instanceof WebAssembly.RuntimeError, doc: rd.renderDocument(doc) }));`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  const got = JSON.parse(stdout.trim().split("\n").pop());
  assert.equal(got.name, "Error");
  assert.equal(got.trap, false);
  assert.match(got.message, /initialise `promptshelf\/parse`/);
  // Rendering a document needs no parser, so it works without the parse module.
  assert.deepEqual(got.doc, [{ role: "user", content: "Hi" }]);
});

test("renderById over a search Shelf, a Map of documents, and a shelf loaded from index bytes", () => {
  const shelf = ps.Shelf.fromFiles(files);
  try {
    const f = files.find((x) => x.path === "prompts/sql-helper.prompty");
    const id = pp.parse(f.path, f.text).id;
    const msgs = rd.renderById(shelf, id, INPUTS);
    assert.deepEqual(msgs, rd.render(f.path, f.text, INPUTS));
    assert.match(msgs.map((m) => m.content).join("\n"), /read-only SQLite query[\s\S]*Top 5 customers/);
    // The read API's documents (`GET /v1/documents`) in a Map work the same way.
    const docs = new Map(shelf.ids().map((i) => [i, { ...shelf.get(i), modified: "2026-11-27T00:00:00Z", stale: false }]));
    assert.deepEqual(rd.renderById(docs, id, INPUTS), msgs);

    let e = thrown(() => rd.renderById(shelf, "no-such-prompt"));
    assert.deepEqual([e.name, e.code, e.line], ["RenderError", "not_found", null]);
    e = thrown(() => rd.renderById(shelf, "support-agent"));
    assert.deepEqual([e.name, e.code], ["RenderError", "not_a_prompt"]);
    const loaded = ps.Shelf.load(shelf.toBytes());
    e = thrown(() => rd.renderById(loaded, id));
    assert.deepEqual([e.name, e.code], ["RenderError", "no_template"]);
    loaded.free();
    assert.ok(thrown(() => rd.renderDocument(42)) instanceof TypeError);
    assert.ok(thrown(() => rd.renderDocument({ id: "x" })) instanceof TypeError);
    assertNotTrap(thrown(() => rd.renderById({}, id)));
  } finally {
    shelf.free();
  }
});

/** Starts `promptshelf watch DIR` on a free port (the local read API); resolves to its base URL. */
async function startApi(t, dir) {
  const child = spawn(bin, ["watch", dir, "--listen", "127.0.0.1:0", "--no-progress"], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH, NO_COLOR: "1" } });
  t.after(() => child.kill("SIGTERM"));
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\//);
    if (m && (await fetch(`http://${m[1]}/readyz`).then((r) => r.ok, () => false))) return `http://${m[1]}`;
    if (child.exitCode !== null) throw new Error(`promptshelf exited: ${log}`);
    if (Date.now() > deadline) throw new Error(`the read API did not come up in 30 s: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("renderDocument of the read API's GET /v1/prompts/{id} equals its POST /v1/prompts/{id}/render", { timeout: 90_000 }, async (t) => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-render-api-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(libraryDir, dir, { recursive: true });
  const base = await startApi(t, dir);
  const ids = prompts.map((f) => pp.parse(f.path, f.text).id);
  for (const id of ids) {
    const url = `${base}/v1/prompts/${encodeURIComponent(id)}`;
    // The watcher may still be indexing right after /readyz: wait for the document.
    let res;
    for (const end = Date.now() + 20_000; ; ) {
      res = await fetch(url);
      if (res.ok || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(res.status, 200, `${url}: ${await res.clone().text()}`);
    const doc = await res.json();
    for (const inputs of [undefined, INPUTS]) {
      const api = await fetch(`${url}/render`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inputs ? { inputs } : {}) });
      const body = await api.json();
      const want = api.status === 200 ? { messages: body.messages } : cliOutcome(body);
      assert.ok(api.status === 200 || api.status === 422, `${id}: HTTP ${api.status} ${JSON.stringify(body)}`);
      assert.deepEqual(outcome(() => rd.renderDocument(doc, inputs)), want, `${id} ${JSON.stringify(inputs)}`);
    }
  }
});

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json" };

/** `/` the page, `/files.json` the example library, `/pkg/` the built package. */
async function servePage(html) {
  const base = resolve(pkgDir);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    if (path === "/") return res.writeHead(200, { "content-type": TYPES[".html"] }).end(html);
    if (path === "/files.json") return res.writeHead(200, { "content-type": TYPES[".json"] }).end(JSON.stringify(files));
    const file = resolve(base, "." + sep + path.replace(/^\/pkg\//, ""));
    if (!path.startsWith("/pkg/") || !file.startsWith(base + sep)) return res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

// Search first; the render module only when the test says `go` (as a page would on "Preview").
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>
<script type="module">
import init, { Shelf } from "/pkg/promptshelf.js";
import initParse from "/pkg/parse/promptshelf_parse.js";
try {
  await Promise.all([init(), initParse()]);
  const shelf = Shelf.fromFiles(await (await fetch("/files.json")).json());
  window.hits = shelf.search("sql").hits.map((h) => h.id);
  document.body.dataset.ready = "search";
  await new Promise((go) => { window.go = go; });
  const { default: initRender, renderById, render } = await import("/pkg/render/promptshelf_render.js");
  await initRender();
  const outcome = (fn) => { try { return { messages: fn() }; } catch (e) { return { error: { name: e.name, code: e.code, line: e.line, column: e.column } }; } };
  window.rendered = Object.fromEntries(shelf.ids().filter((id) => shelf.get(id).type === "prompt_template")
    .map((id) => [id, [outcome(() => renderById(shelf, id)), outcome(() => renderById(shelf, id, ${JSON.stringify(INPUTS)}))]]));
  try { render("prompts/x.prompty", "---\\nname: X\\n---\\nuser:\\nHi {{ who }}", {}, { strict: true }); } catch (e) {
    window.renderError = { name: e.name, code: e.code, line: e.line, column: e.column, isError: e instanceof Error };
  }
  document.body.dataset.ready = "render";
} catch (e) {
  document.body.dataset.error = String(e?.stack ?? e);
}
</script></body></html>`;

test("Chromium, plain <script type=module>: search without the render .wasm, then render lazily", { timeout: 120_000 }, async (t) => {
  const server = await servePage(PAGE);
  t.after(() => server.close());
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const problems = collectProblems(page);
  const requested = [];
  page.on("request", (r) => requested.push(new URL(r.url()).pathname));
  const state = () => page.evaluate(() => document.body.dataset.error ?? document.body.dataset.ready);

  await page.goto(server.url, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.ready || document.body.dataset.error, null, { timeout: 30_000 });
  assert.equal(await state(), "search");
  assert.ok((await page.evaluate(() => window.hits)).includes("prompts/sql-helper"), "search works before render loads");
  assert.ok(requested.includes("/pkg/promptshelf_bg.wasm"), requested.join(","));
  assert.deepEqual(requested.filter((p) => p.includes("render")), [], "importing promptshelf must not load the render module");

  await page.evaluate(() => window.go());
  await page.waitForFunction(() => document.body.dataset.ready === "render" || document.body.dataset.error, null, { timeout: 30_000 });
  assert.equal(await state(), "render");
  assert.deepEqual(requested.filter((p) => p.includes("render")), ["/pkg/render/promptshelf_render.js", "/pkg/render/promptshelf_render_bg.wasm"]);

  // The page's messages are Node's (which equal the CLI's, above).
  const shelf = ps.Shelf.fromFiles(files);
  const pageOutcome = (fn) => {
    const o = outcome(fn);
    return o.error ? { error: { name: "RenderError", ...o.error } } : o;
  };
  const expected = Object.fromEntries(shelf.ids().filter((id) => shelf.get(id).type === "prompt_template")
    .map((id) => [id, [pageOutcome(() => rd.renderById(shelf, id)), pageOutcome(() => rd.renderById(shelf, id, INPUTS))]]));
  shelf.free();
  assert.ok(Object.keys(expected).length >= 5);
  assert.deepEqual(await page.evaluate(() => window.rendered), expected);
  assert.deepEqual(await page.evaluate(() => window.renderError), { name: "RenderError", code: "undefined", line: 5, column: 7, isError: true });
  assert.deepEqual(problems, []);
});
