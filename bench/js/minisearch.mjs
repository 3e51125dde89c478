// MiniSearch on the same generated documents and queries as promptshelf-bench:
// node minisearch.mjs DOCS.json QUERIES.json → one JSON line of figures.
// Options mirror promptshelf's: fields name/tags/description/body with boosts
// name > tags > description > body, prefix on the last term (search-as-you-type),
// fuzzy 0.2 (edit distance 1 from 3-7 chars, 2 from 8), AND of terms, and the stored
// fields a result list needs (id, name, type, path, tags) — promptshelf's index
// carries those too.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import MiniSearch from 'minisearch';

const [docsPath, queriesPath] = process.argv.slice(2);
const raw = JSON.parse(readFileSync(docsPath, 'utf8'));
const queries = JSON.parse(readFileSync(queriesPath, 'utf8'));
const docs = raw.map((d) => ({
  id: d.id, name: d.name, type: d.type, path: d.path,
  description: d.description ?? '', tags: d.tags, body: d.body,
}));
const n = docs.length;

const options = {
  fields: ['name', 'tags', 'description', 'body'],
  storeFields: ['name', 'type', 'path', 'tags'],
  extractField: (doc, field) => (field === 'tags' ? doc.tags.join(' ') : doc[field]),
  searchOptions: {
    boost: { name: 4, tags: 3, description: 2 },
    combineWith: 'AND',
    fuzzy: 0.2,
  },
};

// CPU time of the process in ms (user + system): unlike wall time, it does not count
// waiting for a core, so figures stay comparable on a busy machine.
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];

const reps = n >= 50000 ? 1 : 3;
let ms;
const builds = [];
const buildsCpu = [];
for (let i = 0; i < reps; i++) {
  const c = cpuMs();
  const t = performance.now();
  ms = new MiniSearch(options);
  ms.addAll(docs);
  builds.push(performance.now() - t);
  buildsCpu.push(cpuMs() - c);
}
const json = JSON.stringify(ms);
const rawBytes = Buffer.byteLength(json);
const gzipBytes = gzipSync(json).length;
const loads = [];
const loadsCpu = [];
for (let i = 0; i < (n >= 50000 ? 3 : 10); i++) {
  const c = cpuMs();
  const t = performance.now();
  const loaded = MiniSearch.loadJSON(json, options);
  loads.push(performance.now() - t);
  loadsCpu.push(cpuMs() - c);
  if (loaded.documentCount !== n) throw new Error('load mismatch');
}

function run(q) {
  const opts = {};
  if (q.prefix) opts.prefix = (term, i, terms) => i === terms.length - 1;
  if (q.filter) {
    const [field, value] = q.filter;
    opts.filter = field === 'type' ? (r) => r.type === value : (r) => r.tags.includes(value);
  }
  return ms.search(q.text, opts).slice(0, 10);
}

let withHits = 0;
for (const q of queries) if (run(q).length > 0) withHits++;
const passes = n >= 50000 ? 3 : 10;
const lat = [];
const latCpu = [];
const byKind = {};
for (let p = 0; p < passes; p++) {
  for (const q of queries) {
    const c = process.cpuUsage();
    const t = performance.now();
    run(q);
    const us = (performance.now() - t) * 1000;
    const cu = process.cpuUsage(c);
    lat.push(us);
    latCpu.push(cu.user + cu.system);
    (byKind[q.kind] ??= []).push(us);
  }
}
lat.sort((a, b) => a - b);
latCpu.sort((a, b) => a - b);
const kinds = {};
for (const [k, v] of Object.entries(byKind)) {
  v.sort((a, b) => a - b);
  kinds[k] = { p50_us: pct(v, 0.5), p99_us: pct(v, 0.99) };
}
console.log(JSON.stringify({
  engine: 'minisearch', docs: n, build_ms: median(builds), build_cpu_ms: median(buildsCpu),
  load_cpu_ms: median(loadsCpu), query_cpu_p50_us: pct(latCpu, 0.5), query_cpu_p99_us: pct(latCpu, 0.99), raw_bytes: rawBytes, gzip_bytes: gzipBytes,
  load_ms: median(loads), query_p50_us: pct(lat, 0.5), query_p99_us: pct(lat, 0.99),
  queries: queries.length, queries_with_hits: withHits, by_kind: kinds,
}));
