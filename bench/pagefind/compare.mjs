#!/usr/bin/env node
// Prints promptshelf vs Pagefind side by side from one run's JSON files (run.sh writes them):
//   node compare.mjs PAGEFIND.json PROMPTSHELF.json [PROMPTSHELF_BUILD.txt]
// Bytes are the server's wire bytes (status line + headers + body, gzip where sent so).
import fs from "node:fs";
const [pfFile, psFile, buildFile] = process.argv.slice(2);
const pf = JSON.parse(fs.readFileSync(pfFile, "utf8"));
const ps = JSON.parse(fs.readFileSync(psFile, "utf8"));
const kB = (b) => (b == null ? "–" : b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);
const ms = (x) => (x == null ? "–" : `${Math.round(x)} ms`);
const row = (name, a, b, ok) => console.log(`| ${name} | ${a} | ${b} | ${ok == null ? "" : ok ? "✅" : "❌"} |`);
const c1 = pf.summary.cold_first_query, c2 = ps.summary.cold_first_query;
const w1 = pf.summary.warm_queries, w2 = ps.summary.warm_queries;
console.log(`| ${pf.summary.cold_first_query.q} cold, then ${w1.n / pf.summary.runs} warm queries × ${pf.summary.runs} runs | Pagefind 1.6.0 | promptshelf (${ps.module ?? "open"}) | target met |`);
console.log("|---|---:|---:|:-:|");
row("cold first query, wire bytes", kB(c1.bytes.total), kB(c2.bytes.total), c2.bytes.total <= c1.bytes.total);
for (const c of ["library", "index", "fragments"]) row(`… ${c}`, kB(c1.bytes[c]), kB(c2.bytes[c]));
row("… requests", c1.requests.total, c2.requests.total);
row("cold: ms to 10 results shown (median of runs)", ms(c1.median_ms_from_search), ms(c2.median_ms_from_search), c2.median_ms_from_search <= c1.median_ms_from_search);
row("warm: median wire bytes", kB(w1.median_bytes), kB(w2.median_bytes), w2.median_bytes <= w1.median_bytes);
row("warm: median ms to 10 results", ms(w1.median_ms_from_search), ms(w2.median_ms_from_search), w2.median_ms_from_search <= w1.median_ms_from_search);
row("warm: median requests", w1.median_requests, w2.median_requests);
for (const k of Object.keys(pf.summary.warm_by_kind)) {
  const a = pf.summary.warm_by_kind[k], b = ps.summary.warm_by_kind[k];
  row(`warm \`${k}\`: median bytes / ms`, `${kB(a.median_bytes)} / ${ms(a.median_ms_from_search)}`, `${kB(b.median_bytes)} / ${ms(b.median_ms_from_search)}`);
}
row("all 20 queries, bytes per run", kB(w1.sum_bytes_per_run + c1.bytes.total), kB(w2.sum_bytes_per_run + c2.bytes.total));
if (pf.build) row("index build wall (Pagefind: index.mjs; promptshelf: build --site)", `${pf.build.build.wall_s.toFixed(1)} s, peak RSS ${Math.round(Math.max(...pf.build.build.service_process.map((p) => p.vmhwm_mb)))} MB (service)`, buildFile ? fs.readFileSync(buildFile, "utf8").trim() : "–");
row("1-min load average per run", pf.summary.loadavg_1min_per_run.map((x) => x.map((y) => y.toFixed(1)).join("→")).join(", "), ps.summary.loadavg_1min_per_run.map((x) => x.map((y) => y.toFixed(1)).join("→")).join(", "));
