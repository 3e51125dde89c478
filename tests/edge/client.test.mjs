// `promptshelf/client` against the real edge worker in workerd (wrangler dev): from Node
// (get, list, search, render, index, a 304 revalidation, a 404 not retried), and from a second
// worker — tests/edge/client-worker, a tiny JS worker run with wrangler dev on another port —
// that calls the promptshelf worker through the client by its URL.
// Needs scripts/build-edge (edge/build) and scripts/build-pkg (pkg/client).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { startEdge, repoRoot } from "./harness.mjs";

// The client as the package ships it (the second worker bundles the same file).
const clientJs = join(repoRoot, "pkg", "client", "client.js");
assert.ok(existsSync(clientJs), `${clientJs} missing: run scripts/build-pkg first`);
const { createClient, PromptshelfError } = await import(clientJs);

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

const json = async (path, init) => (await fetch(edge.base + path, init)).json();

test("the client from Node: same answers as the worker's, 304 revalidation, 404 not retried", async () => {
  const calls = [];
  const counting = async (url, init = {}) => {
    const r = await fetch(url, init);
    calls.push({ url, status: r.status, inm: (init.headers || {})["If-None-Match"] ?? null });
    return r;
  };
  const c = createClient({ baseUrl: edge.base, fetch: counting, ttl: 100, retries: 2, retryDelay: 5 });
  const doc = await c.get("prompts/support/reply-to-ticket");
  assert.deepEqual(doc, await json("/v1/documents/prompts%2Fsupport%2Freply-to-ticket"));
  assert.deepEqual(await c.list({ type: "persona", limit: 3 }), await json("/v1/documents?type=persona&limit=3"));
  assert.deepEqual(await c.search("supp", { limit: 3 }), await json("/v1/search?q=supp&limit=3"));
  const inputs = { question: "Top 5 customers?", dialect: "SQLite" };
  const rendered = await c.render("prompts/sql-helper", inputs);
  assert.deepEqual(
    rendered,
    await json("/v1/prompts/prompts%2Fsql-helper/render", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs }) }),
  );
  const bytes = await c.index();
  assert.deepEqual(bytes, new Uint8Array(await (await fetch(edge.base + "/v1/index")).arrayBuffer()));

  // Stale after 100 ms: the cached object at once, then a conditional request answered 304.
  const before = calls.length;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await c.get("prompts/support/reply-to-ticket"), doc);
  for (let i = 0; i < 100 && calls.length === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls.length, before + 1);
  assert.equal(calls.at(-1).status, 304);
  assert.ok(calls.at(-1).inm, "sent If-None-Match");

  const n = calls.length;
  const e = await c.get("no/such-id").then(() => assert.fail("resolved"), (e) => e);
  assert.ok(e instanceof PromptshelfError);
  assert.equal(e.status, 404);
  assert.equal(e.code, "not_found");
  assert.equal(calls.length, n + 1, "a 404 is not retried");
});

test("the edge answers /v1/events with a JSON 404 naming the local server", async () => {
  const r = await fetch(edge.base + "/v1/events");
  assert.equal(r.status, 404);
  assert.match(r.headers.get("content-type"), /^application\/json/);
  const body = await r.json();
  assert.equal(body.error.code, "not_found");
  assert.match(body.error.message, /local server \(`promptshelf watch`\)/);
});

test("a second worker calls the promptshelf worker through the client", { timeout: 120_000 }, async (t) => {
  const app = await startEdge({
    readyPath: "/",
    readyStatus: 404,
    args: ["--config", "tests/edge/client-worker/wrangler.toml", "--var", `PROMPTSHELF_URL:${edge.base}`],
    env: { EDGE_PERSIST_TO: ".wrangler/state-client-app" },
  });
  t.after(() => app.stop());
  const r = await fetch(app.base + "/check");
  const text = await r.text();
  assert.equal(r.status, 200, text + "\n" + app.output());
  const got = JSON.parse(text);
  assert.deepEqual(got.doc, await json("/v1/documents/prompts%2Fsupport%2Freply-to-ticket"));
  assert.equal(got.again, true, "the second get came from the isolate's cache");
  assert.deepEqual(got.list, await json("/v1/documents?type=persona&limit=3"));
  assert.deepEqual(got.search, await json("/v1/search?q=supp&limit=3"));
  assert.equal(got.render.id, "prompts/sql-helper");
  assert.match(JSON.stringify(got.render.messages), /Top 5 customers\?/);
  assert.deepEqual(
    { ...got.missing, message: undefined },
    { isError: true, status: 404, code: "not_found", message: undefined },
  );
  assert.equal(got.badRender.status, 404);
  assert.equal(got.badRender.code, "not_found");
});
