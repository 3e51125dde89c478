// `Shelf.search` results cross the wasm boundary in a compact form that wasm/js/results.js
// turns into objects (not as JSON text). They must be exactly what the native core answers:
// the same keys in the same order and the same values as `promptshelf search --format json`
// (the engine's SearchResults) on the same files, highlights converted from UTF-8 bytes to
// UTF-16 indices. Non-ASCII names, snippets and tags included. Options objects are read
// without JSON on the fast path; they must mean what the JSON path means.
// Needs the debug binary (cargo build -p promptshelf-watcher) or PROMPTSHELF_BIN.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadPkg, readLibrary, root, thrown } from "./lib/pkg.mjs";

const run = promisify(execFile);
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const ps = await loadPkg();

const unicode = {
  path: "personas/unicode.json",
  text: JSON.stringify({
    id: "unicode-café",
    name: "Café 😀 Naïve Résumé Writer",
    description: "Writes résumés for the 東京 café scene 😀😀, naïvely.",
    tags: ["café", "東京"],
    system_prompt: `${"😀 ".repeat(60)}You write a naïve but warm résumé for every café owner in 東京.`,
  }),
};

/** Native JSON with its byte-offset highlights rewritten as UTF-16 indices. */
function toUtf16(native) {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  for (const h of native.hits) {
    if (!h.snippet) continue;
    const bytes = enc.encode(h.snippet.text);
    h.snippet.highlights = h.snippet.highlights.map((r) => r.map((b) => dec.decode(bytes.slice(0, b)).length));
  }
  return native;
}

test("search results equal the native core's JSON (keys, order, values)", { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-results-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = [...(await readLibrary()), unicode];
  for (const f of files) {
    await mkdir(dirname(join(dir, f.path)), { recursive: true });
    await writeFile(join(dir, f.path), f.text);
  }
  const shelf = ps.Shelf.fromFiles(files);
  try {
    assert.deepEqual(shelf.errors, []);
    const queries = ["support", "café", "naive resume", "東京", "tag:café", "type:persona", "sql query", "\"first-line support\"", "revew -draft", ""];
    for (const q of queries) {
      for (const limit of [3, 20]) {
        const { stdout } = await run(bin, ["search", dir, q, "--format", "json", "--limit", String(limit)]);
        const want = toUtf16(JSON.parse(stdout));
        const got = shelf.search(q, { prefix: false, limit });
        assert.equal(JSON.stringify(got), JSON.stringify(want), `${q} limit ${limit}`);
      }
    }
    // The non-ASCII hit: strings and highlights survive the UTF-16 lengths.
    const r = shelf.search("café", { prefix: false });
    const h = r.hits.find((x) => x.id === "unicode-café");
    assert.equal(h.name, "Café 😀 Naïve Résumé Writer");
    for (const [s, e] of h.snippet.highlights) assert.equal(h.snippet.text.slice(s, e).toLowerCase(), "café");
    // Facet values are the folded tags.
    const values = r.facets.tags.map((f) => f.value);
    assert.ok(values.includes("cafe") && values.includes("東京"), values.join(","));
  } finally {
    shelf.free();
  }
});

test("options: the fast path means what JSON means; bad options are TypeErrors", () => {
  const shelf = ps.Shelf.fromFiles([unicode]);
  try {
    const base = shelf.search("café");
    assert.deepEqual(shelf.search("café", null), base);
    assert.deepEqual(shelf.search("café", {}), base);
    assert.deepEqual(shelf.search("café", { limit: undefined }), base);
    assert.deepEqual(shelf.search("café", Object.create(null)), base);
    assert.equal(shelf.search("café", { limit: 0 }).hits.length, 0);
    assert.equal(shelf.search("café", { limit: 0 }).limit, 0);
    assert.equal(shelf.search("café", { snippets: false }).hits[0].snippet, undefined);
    assert.deepEqual(shelf.search("café", { facets: false }).facets, { type: [], tags: [] });
    assert.equal(shelf.search("caf", { prefix: false }).total, 0);
    assert.equal(shelf.search("", { maxFacetValues: 1 }).facets.tags.length, 1);
    assert.equal(shelf.search("", { offset: 1 }).offset, 1);
    // An object with toJSON goes through JSON.stringify, as before.
    assert.equal(shelf.search("café", { toJSON: () => ({ limit: 0 }) }).limit, 0);
    for (const bad of [{ limt: 5 }, { limit: -1 }, { limit: 1.5 }, { limit: "5" }, { prefix: 1 }, { limit: null }, { limit: 2 ** 32 }, 5, "x"]) {
      const e = thrown(() => shelf.search("café", bad));
      assert.equal(e.name, "TypeError", JSON.stringify(bad));
      assert.match(e.message, /^search options: /);
    }
  } finally {
    shelf.free();
  }
});
