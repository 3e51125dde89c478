// Markdown tables from bench/pkg/node.mjs and chromium.mjs JSON lines (stdin): per runtime and
// size, promptshelf (wasm) vs MiniSearch with ratios and the targets
// (query p50 ≤ 1/3 of MiniSearch's, load ≤ 1/5 of MiniSearch's loadJSON).
import { readFileSync } from "node:fs";

const rows = readFileSync(0, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
const fmt = (v) => (v === undefined ? "–" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(2));
const lines = [
  ["index bytes", "index_bytes"],
  ["build (ms, wall)", "build_ms"],
  ["load (ms, CPU)", "load_cpu_ms", 1 / 5],
  ["load (ms, wall)", "load_ms", 1 / 5],
  ["query p50 (µs, CPU)", "cpu_p50_us", 1 / 3],
  ["query p99 (µs, CPU)", "cpu_p99_us"],
  ["query p50 (µs, wall)", "p50_us", 1 / 3],
  ["query p99 (µs, wall)", "p99_us"],
];
for (const r of rows) {
  console.log(`\n#### ${r.runtime}${r.isolated ? " (cross-origin isolated)" : ""}, ${r.docs.toLocaleString("en-US")} documents, ${r.queries} queries (with hits: promptshelf ${r.promptshelf.queries_with_hits}, MiniSearch ${r.minisearch.queries_with_hits})\n`);
  console.log("| figure | promptshelf (wasm) | MiniSearch | ratio | target |");
  console.log("|---|---:|---:|---:|---|");
  for (const [label, key, target] of lines) {
    const a = r.promptshelf[key];
    const b = r.minisearch[key];
    if (a === undefined) continue;
    const ratio = a / b;
    const t = target ? `≤ 1/${Math.round(1 / target)} ${ratio <= target ? "✅" : "❌"}` : "";
    console.log(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${ratio.toFixed(3)} | ${t} |`);
  }
}
