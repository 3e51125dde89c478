// Read-API conformance: the same requests sent to the local server (`promptshelf serve` on the
// snapshot) and to the edge worker (workerd via `wrangler dev`, serving the same snapshot from its
// assets) must get the same status, byte-identical bodies and the same headers, except the
// documented host-specific ones (docs/edge.md): Cache-Control of data routes (the edge's is
// CDN-friendly) and transport headers (Date, Content-Length, Content-Encoding: workerd gzips for clients that accept it, ...).
// Both hosts are configured alike: the local server's CORS default is pages on this machine
// only, the edge's `*`, so the local server runs with `--cors-origin '*'` here; a second pair
// runs both with the same origin list (`--cors-origin` / PROMPTSHELF_CORS_ORIGINS in [vars]).
// What differs by design (docs/edge.md): the local server's Host check and its refusal of
// cross-site POSTs, and the admin routes, which exist only locally.
//
// The worker runs twice: as built (the example library is small, so it ships whole and the
// worker opens the snapshot), and in chunk mode, serving the same library's site (chunked
// index + document set, `promptshelf build --site`) fetched per request (docs/edge.md).
//
// Needs scripts/build-edge (the worker, edge/build/snapshot.db and edge/build/site) and the
// debug binary (cargo build -p promptshelf-watcher) or PROMPTSHELF_BIN.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { access, copyFile, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdge, startLocalServer, promptshelfBin as bin, repoRoot } from "./harness.mjs";

const snapshot = join(repoRoot, "edge/build/snapshot.db");
const site = join(repoRoot, "edge/build/site");

/** Cache-Control of successful data routes on each host (edge/src/lib.rs, core ApiConfig). */
const LOCAL_DATA_CACHE = "public, max-age=0, must-revalidate";
const EDGE_DATA_CACHE = "public, max-age=60, s-maxage=300, stale-while-revalidate=86400, stale-if-error=86400";
/** Transport headers each HTTP stack sets its own way; never part of the API contract. */
const TRANSPORT = new Set(["date", "content-length", "content-encoding", "connection", "keep-alive", "transfer-encoding", "server"]);

let edge, edgeSite, local, dir;

/** A wrangler config serving `site` as the worker's only library assets (chunk mode). */
async function siteConfig(dir, site, name = "promptshelf-site") {
  const assets = join(dir, `assets-${name}`);
  await mkdir(join(assets, "promptshelf"), { recursive: true });
  await cp(site, join(assets, "promptshelf/site"), { recursive: true });
  const config = join(dir, `${name}.toml`);
  await writeFile(
    config,
    [
      `name = ${JSON.stringify(name)}`,
      `main = ${JSON.stringify(join(repoRoot, "edge/build/index.js"))}`,
      'compatibility_date = "2026-04-20"',
      "[assets]",
      `directory = ${JSON.stringify(assets)}`,
      'binding = "ASSETS"',
      "run_worker_first = true",
      "",
    ].join("\n"),
  );
  return config;
}

before(async () => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  await access(snapshot).catch(() => assert.fail(`no snapshot at ${snapshot}; run scripts/build-edge`));
  dir = await mkdtemp(join(tmpdir(), "promptshelf-conformance-"));
  const db = join(dir, "snapshot.db");
  await copyFile(snapshot, db);
  const config = await siteConfig(dir, site);
  [local, edge, edgeSite] = await Promise.all([
    startLocalServer(db, ["--cors-origin", "*"]),
    startEdge(),
    startEdge({ args: ["--config", config] }),
  ]);
});

after(async () => {
  await edge?.stop();
  await edgeSite?.stop();
  if (local) {
    local.child.kill("SIGTERM");
    await new Promise((r) => (local.child.exitCode !== null ? r() : local.child.on("exit", r)));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * `c` sent with its target byte for byte (node:http; `fetch` would resolve dot segments
 * itself, as browsers do, before the hosts could see them).
 */
function sendRaw(base, c) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: c.target, method: c.method || "GET", headers: c.headers || {}, timeout: 20_000 }, (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => {
        const headers = {};
        for (const [k, v] of Object.entries(res.headers)) if (!TRANSPORT.has(k) && !k.startsWith("cf-")) headers[k] = v;
        resolve({ status: res.statusCode, headers, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${c.target}: timed out`)));
    req.on("error", reject);
    req.end(c.body);
  });
}

async function send(base, c) {
  if (c.raw) return sendRaw(base, c);
  const r = await fetch(base + c.target, {
    method: c.method || "GET",
    headers: c.headers || {},
    body: c.body,
    redirect: "manual",
    signal: AbortSignal.timeout(20_000),
  });
  const body = Buffer.from(await r.arrayBuffer());
  const headers = {};
  for (const [k, v] of r.headers) if (!TRANSPORT.has(k) && !k.startsWith("cf-")) headers[k] = v;
  return { status: r.status, headers, body };
}

/** Sends `c` to both hosts (`pair`, default the `*` pair) and asserts they agree. Returns the local answer. */
async function same(c, pair = { local, edge }) {
  return sameOn(c, pair);
}

async function sameOn(c, pair) {
  const [a, b] = await Promise.all([send(pair.local.base, c), send(pair.edge.base, c)]);
  const what = `${c.method || "GET"} ${c.target.length > 120 ? c.target.slice(0, 120) + "…" : c.target}`;
  assert.equal(b.status, a.status, `${what}: status local ${a.status}, edge ${b.status}\nlocal: ${a.body}\nedge: ${b.body}`);
  assert.ok(a.body.equals(b.body), `${what}: bodies differ\nlocal: ${a.body.toString().slice(0, 400)}\nedge:  ${b.body.toString().slice(0, 400)}`);
  const ha = { ...a.headers };
  const hb = { ...b.headers };
  if (ha["cache-control"] === LOCAL_DATA_CACHE) {
    assert.equal(hb["cache-control"], EDGE_DATA_CACHE, `${what}: edge Cache-Control`);
    delete ha["cache-control"];
    delete hb["cache-control"];
  }
  assert.deepEqual(hb, ha, `${what}: headers differ`);
  if (c.status) assert.equal(a.status, c.status, `${what}: expected status ${c.status}, got ${a.status}: ${a.body}`);
  if (a.status >= 400 && c.method !== "HEAD") {
    const err = JSON.parse(a.body.toString());
    assert.equal(typeof err.error?.code, "string", `${what}: error JSON`);
  }
  return a;
}

const json = (r) => JSON.parse(r.body.toString());

test("local server and edge worker agree on every case", { timeout: 180_000 }, (t) => everyCase(t, { local, edge }));

test("in chunk mode (the site, read per request) too", { timeout: 180_000 }, async (t) => {
  // The worker found no whole snapshot: it reads the site.
  const h = await send(edgeSite.base, { target: "/v1/health" });
  assert.equal(h.status, 200, h.body.toString());
  await everyCase(t, { local, edge: edgeSite }, { history: false });
});

/**
 * Every case through `pair`. `history: false` leaves out the version routes: chunk mode
 * serves no git history (like D1 mode; docs/edge.md).
 */
async function everyCase(t, pair, { history = true } = {}) {
  const same = (c) => sameOn(c, pair);
  // Discover ids, a cursor and the ETag from the data itself.
  const all = json(await same({ target: "/v1/documents?limit=500", status: 200 }));
  assert.ok(all.data.length > 5, "the example library has documents");
  const ids = all.data.map((d) => d.id);
  const persona = all.data.find((d) => d.type === "persona").id;
  const prompt = all.data.find((d) => d.type === "prompt_template").id;
  const page = json(await same({ target: "/v1/documents?limit=3", status: 200 }));
  assert.ok(page.next_cursor, "a first page of 3 has a next cursor");
  const etag = (await send(local.base, { target: "/v1/documents" })).headers.etag;
  assert.match(etag, /^"1-[0-9a-f]{32}"$/, "the ETag is the snapshot's content hash");
  const enc = encodeURIComponent;
  const render = (id, body, status) => ({
    target: `/v1/prompts/${enc(id)}/render`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    status,
  });

  // Typed prompts (#16): the schema route, and inputs checked before rendering.
  const schema = json(await same({ target: `/v1/prompts/${enc(prompt)}/schema`, status: 200 }));
  assert.equal(schema.inputs.type, "object", "the inputs schema is an object schema");
  const typedPrompt = [];
  for (const d of all.data.filter((d) => d.type === "prompt_template")) {
    const s = json(await same({ target: `/v1/prompts/${enc(d.id)}/schema`, status: 200 }));
    const str = Object.entries(s.inputs.properties).find(([, p]) => p.type === "string");
    if (str && typedPrompt.length === 0) typedPrompt.push(d.id, str[0]);
  }
  assert.ok(typedPrompt.length, "the example library has a prompt with a string input");
  const [typedId, typedInput] = typedPrompt;

  const cases = [
    // Typed inputs: a number for a string input, an undeclared input under strict.
    render(typedId, JSON.stringify({ inputs: { [typedInput]: 7 } }), 422),
    render(typedId, JSON.stringify({ inputs: { zz_not_declared: 1 }, strict: true }), 422),
    { ...render(typedId, JSON.stringify({ inputs: { zz_not_declared: 1 } }), 422), target: `/v1/prompts/${enc(typedId)}/render?strict=true` },
    render(typedId, JSON.stringify({ inputs: { zz_not_declared: 1 } }), 200),
    { target: `/v1/prompts/${typedId}/schema`, status: 200 },
    { target: `/v1/prompts/${enc(persona)}/schema`, status: 404 },
    { target: `/v1/prompts/nobody/schema`, status: 404 },
    { target: `/v1/prompts/${enc(prompt)}/schema?x=1`, status: 400 },
    // Every route.
    { target: "/v1/health", status: 200 },
    { target: "/v1/openapi.json", status: 200 },
    { target: "/v1/documents", status: 200 },
    { target: "/v1/documents?limit=3&offset=2", status: 200 },
    { target: `/v1/documents?limit=3&cursor=${enc(page.next_cursor)}`, status: 200 },
    { target: "/v1/documents?type=persona", status: 200 },
    { target: "/v1/documents?type=prompt_template&limit=2", status: 200 },
    { target: "/v1/documents?tag=support", status: 200 },
    { target: "/v1/documents?tag=SUPPORT&type=persona", status: 200 },
    { target: "/v1/documents?field.model.api=chat", status: 200 },
    { target: "/v1/documents?field.model.api=nothing", status: 200 },
    ...ids.map((id) => ({ target: `/v1/documents/${enc(id)}`, status: 200 })),
    { target: "/v1/personas", status: 200 },
    { target: "/v1/personas?limit=2&offset=1", status: 200 },
    { target: `/v1/personas/${enc(persona)}`, status: 200 },
    { target: `/v1/personas/${enc(prompt)}`, status: 404 },
    { target: "/v1/prompts", status: 200 },
    { target: `/v1/prompts/${enc(prompt)}`, status: 200 },
    { target: `/v1/prompts/${enc(persona)}`, status: 404 },
    { target: "/v1/index", status: 200 },
    // Versions (issue #15): the example library's git history, carried by the snapshot.
    ...(history
      ? [
          { target: `/v1/documents/${enc(prompt)}/versions`, status: 200 },
          { target: `/v1/documents/${enc(persona)}/versions?limit=1&offset=0`, status: 200 },
          { target: `/v1/documents/${enc(prompt)}?version=1`, status: 200 },
          { target: `/v1/documents/${enc(prompt)}?label=latest`, status: 200 },
          { target: `/v1/documents/${enc(prompt)}?label=no-such-label`, status: 404 },
          { target: `/v1/documents/${enc(prompt)}?version=100000`, status: 404 },
          { target: `/v1/documents/${enc(prompt)}?version=0`, status: 400 },
          { target: `/v1/documents/${enc(prompt)}/diff?from=1&to=latest`, status: 200 },
          { target: `/v1/documents/${enc(prompt)}/diff?from=1`, status: 400 },
          { target: "/v1/documents/no-such-doc/versions", status: 404 },
          { ...render(prompt, "{}"), target: `/v1/prompts/${enc(prompt)}/render?label=latest` },
          { ...render(prompt, "{}"), target: `/v1/prompts/${enc(prompt)}/render?version=0`, status: 400 },
        ]
      : []),
    // Search: words, prefix, typo, phrase, negation, OR, filters, facets, snippets, paging.
    ...[
      "support",
      "supp",
      "refnd",
      '"customer support"',
      "support -billing",
      "support OR invoice",
      "(sql OR invoice) -support",
      "type:persona",
      "tag:support",
      "model.api:chat",
      'author:"nobody at all"',
      "zzzzqqq",
      "é",
    ].map((q) => ({ target: `/v1/search?q=${enc(q)}`, status: 200 })),
    { target: "/v1/search?q=support&limit=2&offset=1", status: 200 },
    { target: "/v1/search?q=a&limit=100&offset=10000", status: 200 },
    // Revalidation.
    { target: "/v1/documents", headers: { "If-None-Match": etag }, status: 304 },
    { target: "/v1/search?q=support", headers: { "If-None-Match": `W/${etag}` }, status: 304 },
    { target: `/v1/documents/${enc(ids[0])}`, headers: { "If-None-Match": `"x", ${etag}` }, status: 304 },
    { target: "/v1/index", headers: { "If-None-Match": "*" }, status: 304 },
    { target: "/v1/documents", headers: { "If-None-Match": '"1-0"' }, status: 200 },
    // CORS.
    { target: "/v1/documents?limit=1", headers: { Origin: "https://app.example.com" }, status: 200 },
    {
      target: "/v1/search?q=x",
      method: "OPTIONS",
      headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match" },
    },
    { target: "/v1/documents", method: "OPTIONS" },
    { target: `/v1/prompts/${enc(prompt)}/render`, method: "OPTIONS", headers: { Origin: "https://a.example", "Access-Control-Request-Method": "POST" } },
    // HEAD.
    { target: "/v1/documents", method: "HEAD", status: 200 },
    { target: "/v1/nope", method: "HEAD", status: 404 },
    // Bad input: every class is a JSON 4xx.
    { target: "/v1/nope", status: 404 },
    { target: "/nope", status: 404 },
    { target: "/v1/documents/nobody", status: 404 },
    { target: "/v1/documents/%zz", status: 400 },
    { target: "/v1/documents/%C3", status: 400 },
    { target: `/v1/documents/${"x".repeat(600)}`, status: 400 },
    { target: "/v1/documents?limit=0", status: 400 },
    { target: "/v1/documents?limit=501", status: 400 },
    { target: "/v1/documents?limit=abc", status: 400 },
    { target: "/v1/documents?limit=-1", status: 400 },
    { target: "/v1/documents?limit=1&limit=2", status: 400 },
    { target: "/v1/documents?offset=1e3", status: 400 },
    { target: "/v1/documents?offset=99999999999999999999999", status: 400 },
    { target: "/v1/documents?type=bogus", status: 400 },
    { target: "/v1/documents?cursor=garbage!", status: 400 },
    { target: `/v1/documents?cursor=${enc(page.next_cursor)}&offset=1`, status: 400 },
    { target: "/v1/documents?bogus=1", status: 400 },
    { target: "/v1/documents?q=%FF", status: 400 },
    { target: `/v1/documents?${Array.from({ length: 20 }, (_, i) => `tag=t${i}`).join("&")}`, status: 400 },
    { target: "/v1/documents?field.=x", status: 400 },
    { target: "/v1/documents/x?limit=1", status: 400 },
    { target: "/v1/search", status: 400 },
    { target: "/v1/search?q=", status: 200 },
    { target: "/v1/search?q=(", status: 400 },
    { target: "/v1/search?q=%22unclosed", status: 400 },
    { target: `/v1/search?q=${"a".repeat(1001)}`, status: 400 },
    { target: "/v1/search?q=x&limit=0", status: 400 },
    { target: "/v1/search?q=x&limit=101", status: 400 },
    { target: "/v1/search?q=x&offset=10001", status: 400 },
    { target: "/v1/health?x=1", status: 400 },
    { target: "/v1/index?x=1", status: 400 },
    // Huge request: a target over 8 KiB is a 414 on both hosts.
    { target: `/v1/search?q=${"b".repeat(9000)}`, status: 414 },
    // Methods.
    { target: "/v1/documents", method: "POST", status: 405 },
    { target: "/v1/documents", method: "PUT", body: "{}", status: 405 },
    { target: "/v1/documents/x", method: "DELETE", status: 405 },
    { target: "/v1/health", method: "PATCH", body: "x", status: 405 },
    // Rendering (POST /v1/prompts/{id}/render).
    render(prompt, "{}", 200),
    render(prompt, JSON.stringify({ inputs: { question: "Where is my order?", context: "<b>x</b>", n: 3, list: [1, 2] } }), 200),
    render(prompt, "", 200),
    render(prompt, "not json", 400),
    render(prompt, '{"inputs": 3}', 400),
    render(prompt, '{"other": {}}', 400),
    render(prompt, JSON.stringify({ inputs: { big: "x".repeat(20_000) } }), 413),
    { target: `/v1/prompts/${enc(prompt)}/render`, method: "POST", headers: { "content-type": "text/plain" }, body: "{}", status: 415 },
    { target: `/v1/prompts/${enc(prompt)}/render`, method: "POST", body: "{}", status: 415 },
    { target: `/v1/prompts/${enc(prompt)}/render`, method: "GET", status: 405 },
    render(persona, "{}", 404),
    render("nobody", "{}", 404),
    // Ids with `/` work unencoded too (sub-resources such as `/render` are matched from the
    // end of the path), and answer exactly what the canonical, encoded form answers.
    ...ids.filter((id) => id.includes("/")).map((id) => ({ target: `/v1/documents/${id}`, status: 200 })),
    { target: `/v1/personas/${persona}`, status: 200 },
    { target: `/v1/prompts/${prompt}`, status: 200 },
    { target: `/v1/personas/${prompt}`, status: 404 },
    { target: `/v1/prompts/${prompt}/render`, method: "POST", headers: { "content-type": "application/json" }, body: "{}", status: 200 },
    { target: `/v1/prompts/${prompt}/render`, method: "GET", status: 405 },
    { target: `/v1/prompts/${prompt}/render`, method: "OPTIONS", headers: { Origin: "https://a.example", "Access-Control-Request-Method": "POST" } },
    { target: "/v1/documents/nobody/at/all", status: 404 },
    { target: "/v1/documents/a//b", status: 404 },
    // Dot segments: resolved as a WHATWG URL parser does (the edge runtime's), on both hosts;
    // sent raw, since fetch() would resolve them before sending.
    { raw: true, target: "/v1/documents/../../etc/passwd", status: 404 },
    { raw: true, target: "/admin/../v1/x", status: 404 },
    { raw: true, target: "/admin/../v1/health", status: 200 },
    { raw: true, target: "/v1/documents/..", status: 404 },
    { raw: true, target: "/v1/documents/.", status: 400 },
    { raw: true, target: "/v1/documents/%2e%2e/%2E%2E/etc/passwd", status: 404 },
    { raw: true, target: "/v1/documents/.%2e/.%2E/v1/health", status: 200 },
    { raw: true, target: "/v1/x/../documents?limit=2", status: 200 },
    { raw: true, target: `/v1/./documents/./${ids[0]}`, status: 200 },
    { raw: true, target: `/v1/documents/x/../${enc(ids[0])}`, status: 200 },
    { raw: true, target: "/v1/documents/..%2F..%2Fetc%2Fpasswd", status: 404 },
    { raw: true, target: "/../../../v1/health", status: 200 },
    { raw: true, target: `/v1/prompts/${prompt}/x/../render`, method: "POST", headers: { "content-type": "application/json" }, body: "{}", status: 200 },
  ];
  // Every prompt renders with its sample inputs, identically.
  for (const d of all.data.filter((d) => d.type === "prompt_template")) {
    cases.push(render(d.id, "{}"));
  }

  for (const c of cases) {
    await t.test(`${c.method || "GET"} ${c.target.slice(0, 100)}`, () => same(c));
  }
  console.log(`conformance: ${cases.length + 2} cases, identical on both hosts`);
}

test("configured with the same origin list, both hosts answer CORS alike", { timeout: 180_000 }, async (t) => {
  const ORIGINS = "https://app.example.com,https://b.example";
  const config = join(dir, "wrangler-cors.toml");
  await writeFile(
    config,
    [
      'name = "promptshelf-cors"',
      `main = ${JSON.stringify(join(repoRoot, "edge/build/index.js"))}`,
      'compatibility_date = "2026-04-20"',
      "[assets]",
      `directory = ${JSON.stringify(join(repoRoot, "edge/build/assets"))}`,
      'binding = "ASSETS"',
      "run_worker_first = true",
      "[vars]",
      `PROMPTSHELF_CORS_ORIGINS = ${JSON.stringify(ORIGINS)}`,
      "",
    ].join("\n"),
  );
  const db = join(dir, "snapshot.db");
  const [l, e] = await Promise.all([startLocalServer(db, ["--cors-origin", ORIGINS]), startEdge({ args: ["--config", config] })]);
  t.after(async () => {
    await e.stop();
    l.child.kill("SIGTERM");
    await new Promise((r) => (l.child.exitCode !== null ? r() : l.child.on("exit", r)));
  });
  const pair = { local: l, edge: e };
  const preflight = (origin, method = "GET", target = "/v1/search?q=x") => ({
    target,
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "if-none-match" },
  });
  const cases = [
    { target: "/v1/documents?limit=1", status: 200 },
    ...["https://app.example.com", "https://b.example", "http://localhost:5173", "http://127.0.0.1:3000", "https://evil.example", "null"].flatMap((o) => [
      { target: "/v1/documents?limit=1", headers: { Origin: o }, status: 200 },
      { target: "/v1/nope", headers: { Origin: o }, status: 404 },
      preflight(o),
    ]),
    preflight("https://app.example.com", "POST", "/v1/prompts/x/render"),
    preflight("https://evil.example", "POST", "/v1/prompts/x/render"),
  ];
  for (const c of cases) {
    await t.test(`${c.method || "GET"} ${c.target} ${c.headers?.Origin ?? ""}`, async () => {
      const a = await same(c, pair);
      const origin = c.headers?.Origin;
      const allowed = origin && origin !== "https://evil.example" && origin !== "null";
      assert.equal(a.headers["access-control-allow-origin"], allowed ? origin : undefined, "the policy itself");
    });
  }
});

test("the edge has no admin, metrics or dashboard routes", async () => {
  for (const target of ["/", "/admin/status", "/admin/errors", "/metrics", "/healthz", "/readyz"]) {
    const r = await send(edge.base, { target });
    assert.equal(r.status, 404, `${target} on the edge`);
    assert.equal(JSON.parse(r.body.toString()).error.code, "not_found");
  }
  const r = await send(edge.base, { target: "/admin/reload", method: "POST" });
  assert.equal(r.status, 404);
});
