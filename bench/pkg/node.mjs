// The npm package vs MiniSearch in Node: node bench/pkg/node.mjs DOCS.json QUERIES.json → one
// JSON line (see run.mjs for what is measured). Uses the built pkg/.
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import MiniSearch from "minisearch";
import { runBench } from "./run.mjs";

const [docsPath, queriesPath] = process.argv.slice(2);
const root = new URL("../../", import.meta.url);
const ps = await import(new URL("pkg/promptshelf.js", root));
await ps.default({ module_or_path: await readFile(new URL("pkg/promptshelf_bg.wasm", root)) });
const docs = JSON.parse(await readFile(docsPath, "utf8"));
const queries = JSON.parse(await readFile(queriesPath, "utf8"));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const r = runBench({ ps, MiniSearch, docs, queries, now: () => performance.now(), cpu });
console.log(JSON.stringify({ runtime: `node ${process.version}`, ...r }));
