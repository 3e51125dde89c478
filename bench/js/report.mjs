// Side-by-side table of promptshelf-bench and minisearch.mjs results:
// node report.mjs OURS.json THEIRS.json → markdown rows with ratios (ours / theirs).
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2).map((p) => JSON.parse(readFileSync(p, 'utf8')));
const rows = [
  ['build (ms, CPU)', 'build_cpu_ms', 1 / 3],
  ['build (ms, wall)', 'build_ms', null],
  ['serialized size (bytes)', 'raw_bytes', null],
  ['serialized gzip (bytes)', 'gzip_bytes', 1 / 2],
  ['load (ms, CPU)', 'load_cpu_ms', 1 / 10],
  ['load (ms, wall)', 'load_ms', null],
  ['query p50 (µs, CPU)', 'query_cpu_p50_us', 1 / 5],
  ['query p99 (µs, CPU)', 'query_cpu_p99_us', 1 / 5],
  ['query p50 (µs, wall)', 'query_p50_us', null],
  ['query p99 (µs, wall)', 'query_p99_us', null],
];
const fmt = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
console.log(`\n### ${a.docs.toLocaleString('en-US')} documents (${a.terms?.toLocaleString('en-US') ?? '?'} terms; ${a.queries} queries, with hits: promptshelf ${a.queries_with_hits}, MiniSearch ${b.queries_with_hits})\n`);
console.log('| figure | promptshelf | MiniSearch | ratio | target |');
console.log('|---|---:|---:|---:|---|');
for (const [label, key, target] of rows) {
  const r = a[key] / b[key];
  const verdict = target == null ? '' : `≤ ${target === 0.5 ? '1/2' : target === 1 / 3 ? '1/3' : target === 0.1 ? '1/10' : '1/5'} ${r <= target ? '✅' : '❌'}`;
  console.log(`| ${label} | ${fmt(a[key])} | ${fmt(b[key])} | ${r.toFixed(3)} | ${verdict} |`);
}
if (a.search_only_gzip_bytes) {
  const r = a.search_only_gzip_bytes / b.gzip_bytes;
  console.log(`| gzip, no stored text (bytes) | ${fmt(a.search_only_gzip_bytes)} | ${fmt(b.gzip_bytes)} | ${r.toFixed(3)} | ≤ 1/2 ${r <= 0.5 ? '✅' : '❌'} |`);
}
console.log('\nQuery CPU p50 / p99 by kind (µs): ' + Object.keys(a.by_kind).map((k) =>
  `${k} ${fmt(a.by_kind[k].p50_us)}/${fmt(a.by_kind[k].p99_us)} vs ${fmt(b.by_kind[k].p50_us)}/${fmt(b.by_kind[k].p99_us)}`).join('; ') + ' (wall)');
