// The npm package vs MiniSearch in headless Chromium: node bench/pkg/chromium.mjs DIR N... →
// one JSON line per size (DIR holds docs-N.json/queries-N.json from promptshelf-bench gen).
// Serves pkg/, bench/pkg/run.mjs, MiniSearch's ES build and the data from a loopback port,
// cross-origin isolated (COOP/COEP) for a fine-grained performance.now().
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("../../", import.meta.url));
const [dataDir, ...sizes] = process.argv.slice(2);
const minisearchDir = join(dirname(createRequire(import.meta.url).resolve("minisearch")), "..", "es");
const mounts = [
  ["/pkg/", join(root, "pkg")],
  ["/bench/", join(root, "bench", "pkg")],
  ["/minisearch/", minisearchDir],
  ["/data/", resolve(dataDir)],
];
const types = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".html": "text/html" };
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const m = mounts.find(([p]) => path.startsWith(p));
  const headers = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cache-control": "no-store" };
  try {
    if (!m) throw new Error("no mount");
    const base = resolve(m[1]);
    const file = resolve(base, "." + sep + path.slice(m[0].length));
    if (!file.startsWith(base + sep)) throw new Error("outside");
    const body = await readFile(file);
    res.writeHead(200, { ...headers, "content-type": types[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404, headers).end();
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/bench/page.html`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
try {
  for (const n of sizes) {
    const page = await browser.newPage();
    page.on("console", (m) => m.type() === "error" && console.error(`page: ${m.text()}`));
    await page.goto(`${url}?n=${n}`);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 600_000, polling: 500 });
    const r = await page.evaluate(() => window.__result);
    if (r.error) throw new Error(r.error);
    console.log(JSON.stringify(r));
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
