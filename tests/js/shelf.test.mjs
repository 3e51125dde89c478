// The npm package's JS API in Node, over the built pkg/ and the example library: load,
// search (hits, snippets, facets, paging), get, parse errors, incremental updates, and bad
// input (corrupt index bytes, invalid queries and options) → JS Errors, never wasm traps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPkg, loadParse, readLibrary, thrown } from "./lib/pkg.mjs";

const ps = await loadPkg();
// `parse` lives in the parse module, `promptshelf/parse` (the search module has no parsers).
const pp = await loadParse();
const files = await readLibrary();

function assertNotTrap(e) {
  assert.ok(e instanceof Error, `expected an Error, got ${e}`);
  assert.ok(!(e instanceof WebAssembly.RuntimeError), `wasm trap: ${e.stack}`);
}

test("fromFiles indexes the example library; search gives hits, snippets and facets", () => {
  const shelf = ps.Shelf.fromFiles(files);
  try {
    assert.deepEqual(shelf.errors, []);
    assert.equal(shelf.size, files.length);
    assert.equal(shelf.ids().length, files.length);

    const r = shelf.search("support");
    assert.ok(r.total >= 2, `total ${r.total}`);
    assert.equal(r.hits.length, Math.min(r.total, 20));
    const ids = r.hits.map((h) => h.id);
    assert.ok(ids.includes("support-agent"), ids.join(","));
    for (const h of r.hits) {
      assert.ok(["persona", "prompt_template"].includes(h.type));
      assert.equal(typeof h.name, "string");
      assert.ok(h.path.startsWith("personas/") || h.path.startsWith("prompts/"), h.path);
      assert.ok(h.score > 0);
      assert.ok(h.matched.length > 0);
    }
    // Highlights are UTF-16 ranges: slicing the snippet text gives the matched words.
    const withHl = r.hits.filter((h) => h.snippet && h.snippet.highlights.length > 0);
    assert.ok(withHl.length > 0);
    for (const h of withHl) {
      for (const [s, e] of h.snippet.highlights) {
        assert.ok(s < e && e <= h.snippet.text.length);
        assert.match(h.snippet.text.slice(s, e).toLowerCase(), /^support/);
      }
    }
    // Facets count the whole matching set.
    const typeSum = r.facets.type.reduce((n, f) => n + f.count, 0);
    assert.equal(typeSum, r.total);
    assert.ok(r.facets.tags.some((t) => t.value === "support"));

    // Filters and the type facet.
    const personas = shelf.search("type:persona");
    assert.equal(personas.total, files.filter((f) => f.path.startsWith("personas/")).length);
    assert.ok(personas.hits.every((h) => h.type === "persona"));
  } finally {
    shelf.free();
  }
});

test("search-as-you-type: the last word is a prefix unless prefix: false", () => {
  const shelf = ps.Shelf.fromFiles(files);
  const typed = shelf.search("transl");
  assert.ok(typed.hits.some((h) => h.path === "prompts/writing/translate.prompty"));
  const exact = shelf.search("transl", { prefix: false });
  assert.ok(!exact.hits.some((h) => h.path === "prompts/writing/translate.prompty"));
  shelf.free();
});

test("paging with limit/offset; snippets and facets can be turned off", () => {
  const shelf = ps.Shelf.fromFiles(files);
  const all = shelf.search("type:prompt", { limit: 100 });
  assert.ok(all.total >= 4);
  const p1 = shelf.search("type:prompt", { limit: 2, offset: 0 });
  const p2 = shelf.search("type:prompt", { limit: 2, offset: 2 });
  assert.equal(p1.total, all.total);
  assert.deepEqual([...p1.hits, ...p2.hits].map((h) => h.id), all.hits.slice(0, 4).map((h) => h.id));
  const bare = shelf.search("support", { snippets: false, facets: false });
  assert.ok(bare.hits.every((h) => h.snippet === undefined));
  assert.deepEqual(bare.facets, { type: [], tags: [] });
  const fewTags = shelf.search("", { maxFacetValues: 2 });
  assert.ok(fewTags.facets.tags.length <= 2);
  shelf.free();
});

test("toBytes → load answers exactly like the shelf it came from; get on a loaded index", () => {
  const built = ps.Shelf.fromFiles(files);
  const bytes = built.toBytes();
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual([...bytes.slice(0, 4)].map((b) => String.fromCharCode(b)).join(""), "PSIX");
  const loaded = ps.Shelf.load(bytes);
  const fromBuffer = ps.Shelf.load(bytes.slice().buffer); // ArrayBuffer (fetch().arrayBuffer())
  for (const q of ["support", "type:persona", "sql query", "tag:writing", "\"first-line support\"", "revew", ""]) {
    const a = built.search(q, { limit: 50 });
    assert.deepEqual(loaded.search(q, { limit: 50 }), a, q);
    assert.deepEqual(fromBuffer.search(q, { limit: 50 }), a, q);
  }
  assert.equal(loaded.size, built.size);
  // Built from files: the whole document. Loaded: the index's summary.
  const full = built.get("support-agent");
  assert.equal(full.name, "Customer Support Agent");
  assert.match(full.body, /first-line support agent/);
  assert.equal(full.content.greeting.slice(0, 3), "Hi!");
  const summary = loaded.get("support-agent");
  assert.deepEqual(Object.keys(summary).sort(), ["description", "id", "name", "path", "tags", "type"]);
  assert.equal(summary.path, "personas/customer-support-agent.json");
  assert.deepEqual(summary.tags, ["support", "customer-facing", "triage"].sort());
  assert.equal(loaded.get("no-such-id"), undefined);
  assert.equal(loaded.has("support-agent"), true);
  for (const s of [built, loaded, fromBuffer]) s.free();
});

test("fromDocuments takes the read API's document objects (or parse() results)", () => {
  const docs = files.map((f) => pp.parse(f.path, f.text));
  const a = ps.Shelf.fromDocuments(docs);
  const b = ps.Shelf.fromFiles(files);
  assert.deepEqual(a.search("support"), b.search("support"));
  assert.deepEqual(a.get("support-agent"), b.get("support-agent"));
  // Minimal hand-made documents work too.
  const c = ps.Shelf.fromDocuments([{ id: "x", type: "persona", name: "Pirate Captain", body: "Arr matey" }]);
  assert.deepEqual(c.search("matey").hits.map((h) => h.id), ["x"]);
  for (const s of [a, b, c]) s.free();
});

test("parse: documents, and ParseError with path/line/column", () => {
  const doc = pp.parse("personas/a.json", '{"id": "a", "name": "A", "system_prompt": "Be brief."}');
  assert.equal(doc.id, "a");
  assert.equal(doc.type, "persona");
  assert.equal(doc.body, "Be brief.");

  const bad = thrown(() => pp.parse("personas/a.json", '{\n  "name": "A",\n  "tags": [1,\n}'));
  assertNotTrap(bad);
  assert.equal(bad.name, "ParseError");
  assert.equal(bad.path, "personas/a.json");
  assert.equal(bad.line, 4);
  assert.equal(typeof bad.column, "number");
  assert.ok(bad.message.startsWith("personas/a.json:4:"), bad.message);
  assert.ok(bad.reason.length > 0);

  const yaml = thrown(() => pp.parse("prompts/p.prompty", "---\nname: [unclosed\n---\nHello"));
  assert.equal(yaml.name, "ParseError");
  assert.ok(yaml.line >= 2, `line ${yaml.line}`);

  const kind = thrown(() => pp.parse("notes/readme.md", "# hi"));
  assert.equal(kind.name, "ParseError");
  assert.equal(kind.line, null);
  assert.equal(kind.column, null);
});

test("incremental upsert/remove: answers match a fresh build of the final files", () => {
  const shelf = new ps.Shelf();
  for (const f of files) shelf.upsert(f.path, f.text);
  assert.equal(shelf.size, files.length);

  // Change one file: the old words go, the new ones come.
  const path = "personas/travel-planner.json";
  const old = files.find((f) => f.path === path);
  // No `id` in the file: the id comes from the path.
  const changed = JSON.stringify({ name: "Travel Planner", tags: ["travel"], system_prompt: "Plan zeppelin itineraries." });
  const doc = shelf.upsert(path, changed);
  assert.equal(doc.id, "personas/travel-planner");
  assert.deepEqual(shelf.search("zeppelin").hits.map((h) => h.path), [path]);

  // A broken save: ParseError, recorded in errors, and the last good version stays.
  const e = thrown(() => shelf.upsert(path, '{"name": '));
  assert.equal(e.name, "ParseError");
  assert.deepEqual(shelf.errors.map((x) => x.path), [path]);
  assert.equal(shelf.errors[0].line, 1);
  assert.deepEqual(shelf.search("zeppelin").hits.map((h) => h.path), [path]);
  // Fixed: the error clears.
  shelf.upsert(path, old.text);
  assert.deepEqual(shelf.errors, []);
  assert.equal(shelf.search("zeppelin").total, 0);

  // Same id at another path: rejected, the first stays.
  const sa = files.find((f) => f.path === "personas/customer-support-agent.json");
  const dup = thrown(() => shelf.upsert("personas/copy.json", sa.text));
  assert.equal(dup.name, "ParseError");
  assert.match(dup.message, /duplicate id/);
  assert.equal(shelf.get("support-agent").path, sa.path);
  assert.equal(shelf.has("personas/copy"), false);

  // The file at a path now holds another id: the old id goes.
  shelf.upsert(path, JSON.stringify({ id: "trip-planner", name: "Trip Planner", system_prompt: "Plan trips." }));
  assert.equal(shelf.has("personas/travel-planner"), false);
  assert.equal(shelf.get("trip-planner").path, path);
  shelf.upsert(path, old.text);
  assert.equal(shelf.has("trip-planner"), false);

  // Remove and re-add.
  assert.equal(shelf.remove("support-agent"), true);
  assert.equal(shelf.remove("support-agent"), false);
  assert.ok(!shelf.search("support").hits.some((h) => h.id === "support-agent"));
  shelf.upsert(sa.path, sa.text);

  // Same final files → same answers as a fresh build (and as a reloaded index).
  const fresh = ps.Shelf.fromFiles(files);
  const reloaded = ps.Shelf.load(shelf.toBytes());
  for (const q of ["support", "travel", "type:persona", "tag:writing", "sql", "plan -travel", ""]) {
    const want = fresh.search(q, { limit: 50 });
    assert.deepEqual(shelf.search(q, { limit: 50 }), want, q);
    assert.deepEqual(reloaded.search(q, { limit: 50 }), want, q);
  }
  assert.deepEqual(shelf.ids(), fresh.ids());
  for (const s of [shelf, fresh, reloaded]) s.free();
});

test("upsertDocument replaces by id", () => {
  const shelf = ps.Shelf.fromDocuments([{ id: "a", type: "persona", name: "Alpha", path: "personas/a.json", body: "one" }]);
  shelf.upsertDocument({ id: "a", type: "persona", name: "Alpha", path: "personas/a.json", body: "two" });
  assert.equal(shelf.search("one", { prefix: false }).total, 0);
  assert.equal(shelf.search("two").total, 1);
  assert.equal(shelf.size, 1);
  shelf.free();
});

test("fromFiles skips bad files and duplicate ids, listing them in errors", () => {
  const extra = [
    ...files,
    { path: "personas/broken.json", text: "{ nope" },
    { path: "personas/zz-dup.json", text: files.find((f) => f.path === "personas/customer-support-agent.json").text },
  ];
  const shelf = ps.Shelf.fromFiles(extra);
  assert.equal(shelf.size, files.length);
  const errs = shelf.errors;
  assert.deepEqual(errs.map((e) => e.path), ["personas/broken.json", "personas/zz-dup.json"]);
  assert.equal(errs[0].line, 1);
  assert.match(errs[1].message, /duplicate id/);
  assert.equal(errs[1].line, null);
  shelf.free();
});

test("corrupt or foreign index bytes → IndexFormatError, wrong types → TypeError", () => {
  const good = ps.Shelf.fromFiles(files).toBytes();
  const cases = [
    [new Uint8Array(0), "bad_magic"],
    [new TextEncoder().encode("<html>not an index</html>"), "bad_magic"],
    [good.slice(0, 10), "truncated"],
    [good.slice(0, good.length - 7), "truncated"],
  ];
  const flipped = good.slice();
  flipped[good.length - 3] ^= 0x55;
  cases.push([flipped, "checksum_mismatch"]);
  const version = good.slice();
  version[4] = 99;
  cases.push([version, "unsupported_version"]);
  for (const [bytes, code] of cases) {
    const e = thrown(() => ps.Shelf.load(bytes));
    assertNotTrap(e);
    assert.equal(e.name, "IndexFormatError", e.message);
    assert.equal(e.code, code, e.message);
  }
  // Every single-byte corruption is caught (never a trap, never a wrong index).
  for (let i = 0; i < good.length; i += Math.max(1, Math.floor(good.length / 300))) {
    const b = good.slice();
    b[i] ^= 0xff;
    const e = thrown(() => ps.Shelf.load(b));
    assertNotTrap(e);
    assert.equal(e.name, "IndexFormatError");
  }
  for (const v of ["PSIX", 42, null, undefined, [1, 2, 3], {}]) {
    const e = thrown(() => ps.Shelf.load(v));
    assert.ok(e instanceof TypeError, `${v}: ${e}`);
  }
  // The module still works after all that.
  assert.ok(ps.Shelf.load(good).search("support").total > 0);
});

test("invalid queries → QueryError with a UTF-16 position; random queries never trap", () => {
  const shelf = ps.Shelf.fromFiles(files);
  const cases = [
    ['support "unterminated', 8],
    ["(support", 0],
    ["support)", 7],
    ["tag:", 4],
    ["a - b", 2],
    ["OR support", 0],
    ["()", 0],
    ["😀😀 (x", 5], // two astral characters = 4 UTF-16 units, then a space
  ];
  for (const [q, pos] of cases) {
    const e = thrown(() => shelf.search(q));
    assertNotTrap(e);
    assert.equal(e.name, "QueryError", `${q}: ${e}`);
    assert.equal(e.position, pos, `${q}: ${e.message}`);
    assert.ok(e.message.includes(String(pos)));
  }
  const long = thrown(() => shelf.search("x ".repeat(100_000)));
  assert.equal(long.name, "QueryError");

  // A seeded stream of hostile queries: each gives results or a QueryError, nothing else.
  const alphabet = ['"', "(", ")", ":", "-", " ", "OR", "AND", "tag", "type", "persona", "sup", "é", "😀", "*", "\\", "\u0000", "ß", "İ"];
  let seed = 12345;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  let ok = 0;
  for (let i = 0; i < 2000; i++) {
    let q = "";
    for (let j = rnd(12); j >= 0; j--) q += alphabet[rnd(alphabet.length)];
    try {
      const r = shelf.search(q);
      assert.equal(typeof r.total, "number");
      ok++;
    } catch (e) {
      assertNotTrap(e);
      assert.equal(e.name, "QueryError", `${JSON.stringify(q)}: ${e}`);
    }
  }
  assert.ok(ok > 100);
  shelf.free();
});

test("bad options and documents → TypeError", () => {
  const shelf = ps.Shelf.fromFiles(files);
  for (const opts of [{ limt: 5 }, { limit: -1 }, { limit: "5" }, { prefix: "yes" }, { limit: 1e20 }]) {
    const e = thrown(() => shelf.search("support", opts));
    assert.ok(e instanceof TypeError, `${JSON.stringify(opts)}: ${e}`);
  }
  assert.equal(shelf.search("support", undefined).total, shelf.search("support", {}).total);
  assert.equal(shelf.search("support", null).total, shelf.search("support").total);

  let e = thrown(() => ps.Shelf.fromDocuments({ id: "x" }));
  assert.ok(e instanceof TypeError);
  e = thrown(() => ps.Shelf.fromDocuments([{ id: "a", type: "persona", name: "A" }, { id: "b", type: "robot", name: "B" }]));
  assert.ok(e instanceof TypeError);
  assert.match(e.message, /documents\[1\]/);
  e = thrown(() => ps.Shelf.fromFiles([{ path: "personas/a.json" }]));
  assert.ok(e instanceof TypeError);
  e = thrown(() => shelf.upsertDocument(null));
  assert.ok(e instanceof TypeError);
  shelf.free();
});

test("free() releases the shelf; using it afterwards is a JS Error", () => {
  const shelf = ps.Shelf.fromFiles(files);
  shelf.free();
  const e = thrown(() => shelf.search("support"));
  assertNotTrap(e);
});

test("setLogLevel: off by default, switchable at run time, bad level → TypeError", () => {
  const lines = [];
  const orig = console.log;
  console.log = (...args) => lines.push(args.join(" "));
  try {
    const bytes = ps.Shelf.fromFiles(files).toBytes();
    ps.Shelf.load(bytes).free();
    assert.deepEqual(lines, [], "logging must be off by default");
    ps.setLogLevel("debug");
    ps.Shelf.load(bytes).free();
    assert.ok(lines.some((l) => l.includes("index loaded") && l.includes("documents = 14")), lines.join("\n"));
    const n = lines.length;
    ps.setLogLevel("warn");
    ps.Shelf.load(bytes).free();
    assert.equal(lines.length, n, "debug lines must stop at warn");
    thrown(() => ps.Shelf.load(new Uint8Array(3)));
    assert.ok(lines.slice(n).some((l) => l.includes("WARN") && l.includes("index load failed")), lines.join("\n"));
    ps.setLogLevel("OFF");
    const m = lines.length;
    thrown(() => ps.Shelf.load(new Uint8Array(3)));
    assert.equal(lines.length, m);
  } finally {
    console.log = orig;
    ps.setLogLevel("off");
  }
  assert.ok(thrown(() => ps.setLogLevel("loud")) instanceof TypeError);
});
