// The worker's D1 mode, in `wrangler dev` with its local D1: `promptshelf build --d1-sql` writes
// the snapshot as SQL, `wrangler d1 execute DB --local --file` loads it, and the worker
// (PROMPTSHELF_SOURCE = "d1"), which queries D1 per request (documents, pages, the index chunks
// a search needs), answers byte-identically to `promptshelf serve` on the snapshot file.
// Loading another library into D1 is picked up without a restart.
// Needs scripts/build-edge (the worker) and the debug binary (or PROMPTSHELF_BIN).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { startEdge, startLocalServer, promptshelfBin as bin, repoRoot } from "./harness.mjs";

const run = promisify(execFile);
const wrangler = join(repoRoot, "node_modules/.bin/wrangler");
const quiet = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true", NO_COLOR: "1" };

let dir, config, state, edge, local;

async function build(library, name) {
  const out = join(dir, `${name}.db`);
  const sql = join(dir, `${name}.sql`);
  await run(bin, ["build", library, "--out", out, "--d1-sql", sql], { env: quiet });
  return { out, sql };
}

async function loadD1(sql) {
  await run(wrangler, ["d1", "execute", "DB", "--local", "--file", sql, "--config", config, "--persist-to", state], {
    cwd: repoRoot,
    env: quiet,
    maxBuffer: 64 << 20,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "promptshelf-d1-"));
  state = join(dir, "state");
  config = join(dir, "wrangler.toml");
  await writeFile(
    config,
    [
      'name = "promptshelf-d1-test"',
      `main = ${JSON.stringify(join(repoRoot, "edge/build/index.js"))}`,
      'compatibility_date = "2026-04-20"',
      "[vars]",
      'PROMPTSHELF_SOURCE = "d1"',
      'PROMPTSHELF_D1_RECHECK_MS = "0"',
      "[[d1_databases]]",
      'binding = "DB"',
      'database_name = "promptshelf-test"',
      `database_id = "${randomUUID()}"`,
      "",
    ].join("\n"),
  );
  const example = await build(join(repoRoot, "examples/library"), "example");
  await loadD1(example.sql);
  [local, edge] = await Promise.all([
    startLocalServer(example.out),
    startEdge({ args: ["--config", config], env: { EDGE_PERSIST_TO: state } }),
  ]);
});

after(async () => {
  await edge?.stop();
  local?.child.kill("SIGTERM");
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function answer(base, target, init = {}) {
  const r = await fetch(base + target, init);
  return { status: r.status, etag: r.headers.get("etag"), body: Buffer.from(await r.arrayBuffer()) };
}

test("D1 mode answers byte-identically to the local server on the same snapshot", async () => {
  const list = JSON.parse((await answer(local.base, "/v1/documents?limit=500")).body);
  const id = encodeURIComponent(list.data.find((d) => d.type === "prompt_template").id);
  const targets = [
    "/v1/health",
    "/v1/documents",
    "/v1/documents?limit=3&offset=2",
    "/v1/documents?tag=support&field.model.api=chat",
    `/v1/prompts/${id}`,
    "/v1/personas",
    "/v1/search?q=support",
    "/v1/search?q=refnd%20-billing",
    "/v1/search?q=%22customer%20support%22",
    "/v1/search?q=supp&limit=2&offset=1",
    "/v1/search?q=(",
    "/v1/documents?cursor=" + encodeURIComponent(JSON.parse((await answer(local.base, "/v1/documents?limit=3")).body).next_cursor),
    "/v1/index",
    "/v1/index/manifest.json",
    "/v1/index/postings/nope.bin",
    "/v1/documents/nobody",
    "/v1/documents?limit=0",
  ];
  for (const t of targets) {
    const [a, b] = await Promise.all([answer(local.base, t), answer(edge.base, t)]);
    assert.equal(b.status, a.status, t);
    assert.ok(a.body.equals(b.body), `${t}: bodies differ\nlocal: ${a.body.toString().slice(0, 300)}\nd1:    ${b.body.toString().slice(0, 300)}`);
    assert.equal(b.etag, a.etag, t);
  }
  const etag = (await answer(edge.base, "/v1/documents")).etag;
  assert.equal((await answer(edge.base, "/v1/documents", { headers: { "If-None-Match": etag } })).status, 304);
  const render = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };
  const [a, b] = await Promise.all([answer(local.base, `/v1/prompts/${id}/render`, render), answer(edge.base, `/v1/prompts/${id}/render`, render)]);
  assert.equal(b.status, 200);
  assert.ok(a.body.equals(b.body), "render bodies differ");
});

test("loading another library into D1 is served without a restart", { timeout: 120_000 }, async () => {
  const before = JSON.parse((await answer(edge.base, "/v1/health")).body);
  const lib = join(dir, "lib2");
  await cp(join(repoRoot, "examples/library/personas"), join(lib, "personas"), { recursive: true });
  const other = await build(lib, "other");
  await loadD1(other.sql);
  const end = Date.now() + 30_000;
  let now;
  for (;;) {
    // While D1 is being reloaded (no snapshot_id yet) the worker answers a JSON 503.
    const r = await answer(edge.base, "/v1/health");
    if (r.status === 503) assert.equal(JSON.parse(r.body).error.code, "snapshot_unavailable");
    else now = JSON.parse(r.body);
    if (now && now.generation !== before.generation) break;
    assert.ok(Date.now() < end, "the worker did not pick up the new D1 contents within 30 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(now.counts.prompt_templates, 0);
  assert.equal(now.counts.personas, before.counts.personas);
});
