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

function latencies(now, cpu, passes, queries, run) {
  for (const q of queries) run(q); // warm-up
  const lat = [];
  const latCpu = [];
  for (let p = 0; p < passes; p++) {
    for (const q of queries) {
      const c = cpu?.();
      const t = now();
      run(q);
      lat.push((now() - t) * 1000);
      if (cpu) latCpu.push((cpu() - c) * 1000);
    }
  }
  lat.sort((a, b) => a - b);
  latCpu.sort((a, b) => a - b);
  const out = { p50_us: round(pct(lat, 0.5), 1), p99_us: round(pct(lat, 0.99), 1) };
  if (cpu) Object.assign(out, { cpu_p50_us: round(pct(latCpu, 0.5), 1), cpu_p99_us: round(pct(latCpu, 0.99), 1) });
  return out;
}

/**
 * @param ps the initialised promptshelf module; MiniSearch the class; docs the generated
 * documents (read API shape); queries `{kind, q, text, prefix, filter}`; now() wall clock in
 * ms; cpu() process CPU time in ms where the runtime has one (Node: process.cpuUsage) — CPU
 * figures do not count waiting for a core, so they hold on a busy machine.
 */
export function runBench({ ps, MiniSearch, docs, queries, now, cpu, loads = 10, passes = 10 }) {
  const n = docs.length;
  // promptshelf: build once, serialize, then time loads.
  let t = now();
  const built = ps.Shelf.fromDocuments(docs);
  const wasmBuildMs = now() - t;
  const bytes = built.toBytes();
  built.free();
  const wasmLoads = [];
  const wasmLoadsCpu = [];
  let shelf;
  for (let i = 0; i < loads; i++) {
    shelf?.free();
    const c = cpu?.();
    t = now();
    shelf = ps.Shelf.load(bytes);
    wasmLoads.push(now() - t);
    if (cpu) wasmLoadsCpu.push(cpu() - c);
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
  const msLoadsCpu = [];
  for (let i = 0; i < loads; i++) {
    const c = cpu?.();
    t = now();
    mini = MiniSearch.loadJSON(json, MINISEARCH_OPTIONS);
    msLoads.push(now() - t);
    if (cpu) msLoadsCpu.push(cpu() - c);
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
  const wasmQ = latencies(now, cpu, passes, queries, wasmRun);
  const msQ = latencies(now, cpu, passes, queries, msRun);
  shelf.free();
  const loadFig = (wall, cpuMs) => ({ load_ms: round(median(wall)), ...(cpu ? { load_cpu_ms: round(median(cpuMs)) } : {}) });
  const a = { index_bytes: bytes.length, build_ms: round(wasmBuildMs, 1), ...loadFig(wasmLoads, wasmLoadsCpu), ...wasmQ, queries_with_hits: wasmWithHits };
  const b = { index_bytes: json.length, build_ms: round(msBuildMs, 1), ...loadFig(msLoads, msLoadsCpu), ...msQ, queries_with_hits: msWithHits };
  const ratio = {};
  for (const k of ["load_ms", "load_cpu_ms", "p50_us", "p99_us", "cpu_p50_us", "cpu_p99_us"]) {
    if (k in a) ratio[k] = round(a[k] / b[k]);
  }
  return { docs: n, queries: queries.length, promptshelf: a, minisearch: b, ratio };
}
