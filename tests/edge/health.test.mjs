// The edge worker in workerd (wrangler dev, loopback, offline) answers GET /v1/health with JSON.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge } from "./harness.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

test("GET /v1/health is 200 JSON", async () => {
  const r = await fetch(edge.base + "/v1/health");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^application\/json/);
  const body = await r.json();
  assert.equal(body.status, "ok");
});

test("unknown route is a JSON 404", async () => {
  const r = await fetch(edge.base + "/v1/nope");
  assert.equal(r.status, 404);
  const body = await r.json();
  assert.equal(body.error.code, "not_found");
});
