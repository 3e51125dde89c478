// What a user gets: `npm pack` of pkg/ → `npm install ./promptshelf-x.tgz` into a fresh
// temporary project (offline: the package has no dependencies) → import it there, search, and
// render through the `promptshelf/render` subpath.
// Also the size budgets, per module (decided after issue #6: a page pays for the modules it
// loads, not for the tarball): the search .wasm, which every search page loads, at most 240 KB
// gzipped (300 KB until the file parsers moved out into `promptshelf/parse`, issue #14: it
// is ~235.6 KB by this test's gzip now); the parse .wasm (editors, `Shelf.fromFiles`), at
// most 110 KB (~100.5); the open .wasm (`promptshelf/open`), at most 135 KB (~131.6);
// the render .wasm, fetched only by pages that render, at most 330 KB gzipped; the validate
// .wasm (parse + the library's own JSON Schemas, boon: regex's Unicode tables and url/idna),
// loaded only by editors that check schemas, at most 600 KB (~560).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pkgDir } from "./lib/pkg.mjs";

const run = promisify(execFile);
const KB = 1024;
const SEARCH_WASM_GZIP_MAX = 240 * KB;
const PARSE_WASM_GZIP_MAX = 110 * KB;
// `promptshelf/open` (Shelf.open alone, for large libraries): part of a page's first query,
// which issue #14 compares with Pagefind's whole first query (223 kB at 10,000 documents).
const OPEN_WASM_GZIP_MAX = 135 * KB;
const RENDER_WASM_GZIP_MAX = 330 * KB;
const VALIDATE_WASM_GZIP_MAX = 600 * KB;
const env = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };

/** gzip -9 size of a file in pkg/, printed. */
async function gzipped(file) {
  const bytes = await readFile(join(pkgDir, file));
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(`${file}: ${bytes.length} bytes, ${gz} gzip (${(gz / KB).toFixed(1)} KB)`);
  return gz;
}

test("search .wasm is at most 240 KB gzipped", async () => {
  const gz = await gzipped("promptshelf_bg.wasm");
  assert.ok(gz <= SEARCH_WASM_GZIP_MAX, `${gz} > ${SEARCH_WASM_GZIP_MAX}`);
});

test("open .wasm is at most 135 KB gzipped", async () => {
  const gz = await gzipped("open/promptshelf_open_bg.wasm");
  assert.ok(gz <= OPEN_WASM_GZIP_MAX, `${gz} > ${OPEN_WASM_GZIP_MAX}`);
});

test("parse .wasm is at most 110 KB gzipped", async () => {
  const gz = await gzipped("parse/promptshelf_parse_bg.wasm");
  assert.ok(gz <= PARSE_WASM_GZIP_MAX, `${gz} > ${PARSE_WASM_GZIP_MAX}`);
});

test("validate .wasm is at most 600 KB gzipped", async () => {
  const gz = await gzipped("validate/promptshelf_validate_bg.wasm");
  assert.ok(gz <= VALIDATE_WASM_GZIP_MAX, `${gz} > ${VALIDATE_WASM_GZIP_MAX}`);
});

test("render .wasm is at most 330 KB gzipped", async () => {
  const gz = await gzipped("render/promptshelf_render_bg.wasm");
  assert.ok(gz <= RENDER_WASM_GZIP_MAX, `${gz} > ${RENDER_WASM_GZIP_MAX}`);
  for (const f of ["promptshelf.js", "parse/promptshelf_parse.js", "render/promptshelf_render.js"]) await gzipped(f);
});

test("npm pack → install into a fresh project → import and search", { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-pack-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: pkgDir, env });
  const [info] = JSON.parse(stdout);
  console.log(`${info.filename}: ${info.size} bytes packed (${(info.size / KB).toFixed(1)} KB), ${info.unpackedSize} unpacked, ${info.entryCount} files`);
  const files = info.files.map((f) => f.path).sort();
  for (const f of ["README.md", "package.json", "promptshelf.d.ts", "promptshelf.js", "promptshelf_bg.wasm", "parse/promptshelf_parse.d.ts", "parse/promptshelf_parse.js", "parse/promptshelf_parse_bg.wasm", "validate/promptshelf_validate.js", "validate/promptshelf_validate_bg.wasm", "open/promptshelf_open.js", "open/promptshelf_open_bg.wasm", "open/promptshelf_open.d.ts", "render/promptshelf_render.d.ts", "render/promptshelf_render.js", "render/promptshelf_render_bg.wasm"]) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(",")}`);
  }

  const app = join(dir, "app");
  await run("mkdir", ["-p", app]);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run("npm", ["install", "--offline", "--no-package-lock", join(dir, info.filename)], { cwd: app, env });

  await writeFile(
    join(app, "main.js"),
    `import { readFile } from "node:fs/promises";
import init, { Shelf, version } from "promptshelf";
import initParse, { parse } from "promptshelf/parse";
const meta = JSON.parse(await readFile(new URL(import.meta.resolve("promptshelf/package.json")), "utf8"));
await init({ module_or_path: await readFile(new URL(import.meta.resolve("promptshelf/promptshelf_bg.wasm"))) });
// Shelf.fromFiles parses with the parse module: without it, a clear Error (not a trap).
let noParser;
try { Shelf.fromFiles([{ path: "personas/a.json", text: "{}" }]); } catch (e) { noParser = e.message; }
await initParse({ module_or_path: await readFile(new URL(import.meta.resolve("promptshelf/parse/promptshelf_parse_bg.wasm"))) });
const shelf = Shelf.fromFiles([
  { path: "personas/pirate.json", text: JSON.stringify({ id: "pirate", name: "Pirate Captain", tags: ["fun"], system_prompt: "Talk like a pirate." }) },
  { path: "prompts/haiku.prompty", text: "---\\nname: Haiku Writer\\n---\\nuser:\\nWrite a haiku about {{topic}}." },
]);
const bytes = shelf.toBytes();
const loaded = Shelf.load(bytes);
const r = loaded.search("pira");
let err;
try { parse("personas/x.json", "{"); } catch (e) { err = e; }
// Rendering: the second module, imported lazily through the package's subpath export.
const rd = await import("promptshelf/render");
await rd.default({ module_or_path: await readFile(new URL(import.meta.resolve("promptshelf/render/promptshelf_render_bg.wasm"))) });
const messages = rd.renderById(shelf, "prompts/haiku", { topic: "tea" });
let rerr;
try { rd.render("prompts/x.prompty", "---\\nname: X\\n---\\nuser:\\n{{ x", {}); } catch (e) { rerr = e; }
console.log(JSON.stringify({ noParser, version: version(), pkg: meta.version, ids: r.hits.map((h) => h.id), total: loaded.size, err: err?.name, line: err?.line,
  renderVersion: rd.version(), messages, rerr: [rerr?.name, rerr?.code, typeof rerr?.line] }));
shelf.free(); loaded.free();
`,
  );
  const out = await run("node", ["main.js"], { cwd: app, env });
  const got = JSON.parse(out.stdout.trim().split("\n").pop());
  assert.match(got.noParser, /Shelf\.fromFiles parses files with the parse module: import `promptshelf\/parse`/);
  assert.equal(got.version, got.pkg);
  assert.deepEqual(got.ids, ["pirate"]);
  assert.equal(got.total, 2);
  assert.equal(got.err, "ParseError");
  assert.equal(got.line, 1);
  assert.equal(got.renderVersion, got.pkg);
  assert.deepEqual(got.messages, [{ role: "user", content: "Write a haiku about tea." }]);
  assert.deepEqual(got.rerr, ["RenderError", "syntax", "number"]);

  // TypeScript users get the declarations, including the plain-object shapes.
  const dts = await readFile(join(app, "node_modules", "promptshelf", "promptshelf.d.ts"), "utf8");
  for (const s of ["export class Shelf", "interface SearchResults", "interface SearchOptions", "search(query: string, options?: SearchOptions | null): SearchResults", "static load(bytes: Uint8Array | ArrayBuffer): Shelf", "free(): void"]) {
    assert.ok(dts.includes(s), `promptshelf.d.ts lacks ${JSON.stringify(s)}`);
  }
  const pdts = await readFile(join(app, "node_modules", "promptshelf", "parse", "promptshelf_parse.d.ts"), "utf8");
  assert.match(pdts, /export function parse\(path: string, text: string, options\?: ParseFileOptions( \| null)?\): Document/, pdts);
  const rdts = await readFile(join(app, "node_modules", "promptshelf", "render", "promptshelf_render.d.ts"), "utf8");
  for (const s of ["export function render(path: string, text: string", "export function renderDocument(doc: PromptDocument", "export function renderById<K extends string>(shelf", "interface PromptRegistry", "interface RenderError", "interface Message"]) {
    assert.ok(rdts.includes(s), `promptshelf_render.d.ts lacks ${JSON.stringify(s)}`);
  }
});
