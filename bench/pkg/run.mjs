// One benchmark body for both runtimes (Node: bench/pkg/node.mjs; Chromium: bench/pkg/page.html
// driven by scripts/bench-pkg): the npm package (wasm) and MiniSearch on the same generated
// documents and queries (bench/src/gen.rs), in the same run, measured the same way.
//
// - load: wasm `Shelf.load(bytes)` of the serialized index vs `MiniSearch.loadJSON(json)` of
//   its serialized index (both from a string/bytes already in memory), median of 10.
// - query: every query, 10 passes, p50/p99 per call. wasm runs with its defaults (snippets and
//   facets computed — more work than MiniSearch does); MiniSearch with the options the native
//   bench (bench/js/minisearch.mjs) uses: boosts, AND, fuzzy 0.2, prefix on the last term.

export const MINISEARCH_OPTIONS = {
  fields: ["name", "tags", "description", "body"],
  storeFields: ["name", "type", "path", "tags"],
  extractField: (doc, field) => (field === "tags" ? doc.tags.join(" ") : doc[field]),
  searchOptions: { boost: { name: 4, tags: 3, description: 2 }, combineWith: "AND", fuzzy: 0.2 },
};

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function latencies(now, passes, queries, run) {
  for (const q of queries) run(q); // warm-up
  const lat = [];
  for (let p = 0; p < passes; p++) {
    for (const q of queries) {
      const t = now();
      run(q);
      lat.push((now() - t) * 1000);
    }
  }
  lat.sort((a, b) => a - b);
  return { p50_us: round(pct(lat, 0.5), 1), p99_us: round(pct(lat, 0.99), 1) };
}

/**
 * @param ps the initialised promptshelf module; MiniSearch the class; docs the generated
 * documents (read API shape); queries `{kind, q, text, prefix, filter}`; now() in ms.
 */
export function runBench({ ps, MiniSearch, docs, queries, now, loads = 10, passes = 10 }) {
  const n = docs.length;
  // promptshelf: build once, serialize, then time loads.
  let t = now();
  const built = ps.Shelf.fromDocuments(docs);
  const wasmBuildMs = now() - t;
  const bytes = built.toBytes();
  built.free();
  const wasmLoads = [];
  let shelf;
  for (let i = 0; i < loads; i++) {
    shelf?.free();
    t = now();
    shelf = ps.Shelf.load(bytes);
    wasmLoads.push(now() - t);
  }
  if (shelf.size !== n) throw new Error(`wasm load: ${shelf.size} != ${n}`);

  // MiniSearch: same documents, same fields.
  const msDocs = docs.map((d) => ({ id: d.id, name: d.name, type: d.type, path: d.path, description: d.description ?? "", tags: d.tags, body: d.body }));
  t = now();
  let mini = new MiniSearch(MINISEARCH_OPTIONS);
  mini.addAll(msDocs);
  const msBuildMs = now() - t;
  const json = JSON.stringify(mini);
  const msLoads = [];
  for (let i = 0; i < loads; i++) {
    t = now();
    mini = MiniSearch.loadJSON(json, MINISEARCH_OPTIONS);
    msLoads.push(now() - t);
  }
  if (mini.documentCount !== n) throw new Error("minisearch load mismatch");

  const wasmRun = (q) => shelf.search(q.q, { limit: 10 });
  const msRun = (q) => {
    const opts = {};
    if (q.prefix) opts.prefix = (_term, i, terms) => i === terms.length - 1;
    if (q.filter) {
      const [field, value] = q.filter;
      opts.filter = field === "type" ? (r) => r.type === value : (r) => r.tags.includes(value);
    }
    return mini.search(q.text, opts).slice(0, 10);
  };
  let wasmWithHits = 0;
  let msWithHits = 0;
  for (const q of queries) {
    if (wasmRun(q).total > 0) wasmWithHits++;
    if (msRun(q).length > 0) msWithHits++;
  }
  const wasmQ = latencies(now, passes, queries, wasmRun);
  const msQ = latencies(now, passes, queries, msRun);
  shelf.free();
  const wasmLoad = median(wasmLoads);
  const msLoad = median(msLoads);
  return {
    docs: n,
    queries: queries.length,
    promptshelf: { index_bytes: bytes.length, build_ms: round(wasmBuildMs, 1), load_ms: round(wasmLoad), ...wasmQ, queries_with_hits: wasmWithHits },
    minisearch: { index_bytes: json.length, build_ms: round(msBuildMs, 1), load_ms: round(msLoad), ...msQ, queries_with_hits: msWithHits },
    ratio: { load: round(wasmLoad / msLoad), query_p50: round(wasmQ.p50_us / msQ.p50_us), query_p99: round(wasmQ.p99_us / msQ.p99_us) },
  };
}
