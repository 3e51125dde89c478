// A worker whose snapshot is missing or corrupt answers every request with a clear JSON 503
// (code snapshot_unavailable, the reason in the message) instead of crashing. Runs the built
// worker (scripts/build-edge) in workerd with a wrangler config whose assets folder has no
// snapshot, then one with garbage in its place.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdge, repoRoot } from "./harness.mjs";

async function withWorker(snapshotBytes, fn) {
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-edge-bad-"));
  const assets = join(dir, "assets");
  await mkdir(join(assets, "promptshelf"), { recursive: true });
  // Wrangler needs at least one asset file; the snapshot is written only when given.
  await writeFile(join(assets, "README.txt"), "no snapshot here\n");
  if (snapshotBytes) await writeFile(join(assets, "promptshelf/snapshot.db"), snapshotBytes);
  const config = join(dir, "wrangler.toml");
  await writeFile(
    config,
    [
      'name = "promptshelf-bad-snapshot"',
      `main = ${JSON.stringify(join(repoRoot, "edge/build/index.js"))}`,
      'compatibility_date = "2026-04-20"',
      "[assets]",
      `directory = ${JSON.stringify(assets)}`,
      'binding = "ASSETS"',
      "run_worker_first = true",
      "",
    ].join("\n"),
  );
  const edge = await startEdge({ readyStatus: 503, args: ["--config", config] });
  try {
    await fn(edge);
  } finally {
    await edge.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function expectUnavailable(edge, pattern) {
  for (const target of ["/v1/health", "/v1/documents", "/v1/search?q=x", "/v1/nope"]) {
    const r = await fetch(edge.base + target);
    assert.equal(r.status, 503, target);
    assert.match(r.headers.get("content-type"), /^application\/json/);
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
    const body = await r.json();
    assert.equal(body.error.code, "snapshot_unavailable", target);
    assert.match(body.error.message, pattern, target);
  }
}

test("missing snapshot: JSON 503 naming the missing asset", { timeout: 120_000 }, async () => {
  await withWorker(null, (edge) => expectUnavailable(edge, /snapshot asset .* is missing/));
});

test("corrupt snapshot: JSON 503 saying it is not a database", { timeout: 120_000 }, async () => {
  await withWorker(Buffer.from("this is not a database\n".repeat(50)), (edge) =>
    expectUnavailable(edge, /not a SQLite database/),
  );
});
