// Conformance at 10,000 documents (`bench/watch/gen.py 10000`), for the two modes that read per
// request: snapshot chunk mode (the site: chunked index + document set, fetched from the assets)
// and D1 mode (wrangler dev's local D1). A subset of conformance.test.mjs's cases — lists with
// every kind of filter, pages and cursors deep into the library, documents, searches of every
// kind, index files, errors — must be byte-identical to `promptshelf serve` on the snapshot.
//
// Chunk mode runs on every test run (generating and building 10,000 documents, one more
// wrangler dev: about 40 s on 2 shared cores, the cost of checking the mode big libraries use).
// D1 mode at 10,000 runs only with PROMPTSHELF_EDGE_LARGE=1: loading 60 MB of SQL into local D1
// takes minutes there (5 min for the whole file on a loaded machine); the 14-document D1 test
// (d1.test.mjs) runs every time. PROMPTSHELF_EDGE_LARGE_DOCS=N changes the size.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { startEdge, startLocalServer, promptshelfBin as bin, repoRoot } from "./harness.mjs";

const run = promisify(execFile);
const wrangler = join(repoRoot, "node_modules/.bin/wrangler");
const quiet = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true", NO_COLOR: "1" };
const N = Number(process.env.PROMPTSHELF_EDGE_LARGE_DOCS || 10000);
const withD1 = process.env.PROMPTSHELF_EDGE_LARGE === "1";

let dir, local, site, d1;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "promptshelf-edge-large-"));
  const lib = join(dir, "lib");
  await run("python3", [join(repoRoot, "bench/watch/gen.py"), String(N), lib], { env: quiet });
  const db = join(dir, "snap.db");
  const sql = join(dir, "d1.sql");
  await run(bin, ["build", lib, "--out", db, "--site", join(dir, "site"), ...(withD1 ? ["--d1-sql", sql] : [])], { env: quiet, maxBuffer: 16 << 20 });
  const assets = join(dir, "assets");
  await mkdir(join(assets, "promptshelf"), { recursive: true });
  await cp(join(dir, "site"), join(assets, "promptshelf/site"), { recursive: true });
  const main = JSON.stringify(join(repoRoot, "edge/build/index.js"));
  const siteConfig = join(dir, "site.toml");
  await writeFile(
    siteConfig,
    ['name = "promptshelf-large-site"', `main = ${main}`, 'compatibility_date = "2026-04-20"', "[assets]", `directory = ${JSON.stringify(assets)}`, 'binding = "ASSETS"', "run_worker_first = true", ""].join("\n"),
  );
  const d1Config = join(dir, "d1.toml");
  await writeFile(
    d1Config,
    [
      'name = "promptshelf-large-d1"',
      `main = ${main}`,
      'compatibility_date = "2026-04-20"',
      "[vars]",
      'PROMPTSHELF_SOURCE = "d1"',
      "[[d1_databases]]",
      'binding = "DB"',
      'database_name = "promptshelf-large"',
      `database_id = "${randomUUID()}"`,
      "",
    ].join("\n"),
  );
  const state = join(dir, "state");
  if (withD1) {
    await run(wrangler, ["d1", "execute", "DB", "--local", "--file", sql, "--config", d1Config, "--persist-to", state], {
      cwd: repoRoot,
      env: quiet,
      maxBuffer: 64 << 20,
    });
  }
  [local, site, d1] = await Promise.all([
    startLocalServer(db),
    startEdge({ args: ["--config", siteConfig] }),
    withD1 ? startEdge({ args: ["--config", d1Config], env: { EDGE_PERSIST_TO: state } }) : null,
  ]);
});

after(async () => {
  await site?.stop();
  await d1?.stop();
  local?.child.kill("SIGTERM");
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function answer(base, target) {
  const r = await fetch(base + target, { signal: AbortSignal.timeout(60_000) });
  return { status: r.status, etag: r.headers.get("etag"), body: Buffer.from(await r.arrayBuffer()) };
}

test(`at ${N} documents, the per-request modes answer like the local server`, { timeout: 600_000 }, async (t) => {
  const enc = encodeURIComponent;
  const first = JSON.parse((await answer(local.base, "/v1/documents?limit=2&offset=4321")).body);
  const cursor = first.next_cursor;
  const ids = first.data.map((d) => d.id);
  const targets = [
    "/v1/health",
    "/v1/documents",
    "/v1/documents?limit=500&offset=9000",
    `/v1/documents?cursor=${enc(cursor)}&limit=7`,
    "/v1/personas?limit=3&offset=6500",
    "/v1/prompts?tag=python&limit=5&offset=100",
    "/v1/documents?tag=SQL&tag=rag",
    "/v1/documents?field.model.api=chat&limit=2&offset=2990",
    "/v1/documents?field.model.parameters.max_tokens=1234",
    "/v1/documents?field.model.configuration.type=azure_openai&tag=travel&type=prompt_template&limit=3",
    "/v1/documents?tag=nope",
    ...ids.map((id) => `/v1/documents/${enc(id)}`),
    `/v1/prompts/${enc("prompt-000003")}`,
    `/v1/personas/${enc("prompt-000003")}`,
    "/v1/documents/nobody",
    ...["support", "supp", "refctor", '"step by step"', "support -python", "tag:sql OR tag:rag", "type:prompt_template api", "model.api:chat travel", "zzzz"].map(
      (q) => `/v1/search?q=${enc(q)}`,
    ),
    "/v1/search?q=code&limit=100&offset=900",
    "/v1/search?q=(",
    "/v1/index/manifest.json",
    "/v1/index/nope.bin",
  ];
  for (const [name, edge] of [
    ["chunk mode", site],
    ...(withD1 ? [["D1 mode", d1]] : []),
  ]) {
    for (const target of targets) {
      await t.test(`${name}: ${target}`, async () => {
        const [a, b] = await Promise.all([answer(local.base, target), answer(edge.base, target)]);
        assert.equal(b.status, a.status, `${target}: ${b.body.toString().slice(0, 300)}`);
        assert.ok(a.body.equals(b.body), `${target}: bodies differ\nlocal: ${a.body.toString().slice(0, 300)}\nedge:  ${b.body.toString().slice(0, 300)}`);
        assert.equal(b.etag, a.etag, target);
      });
    }
  }
});
