// `promptshelf/client` (pkg/client/client.js, as the package ships it) in Node against the
// real local server: `promptshelf watch` on a temporary copy of examples/library, reached
// directly or through a small local proxy that delays or fails on purpose. Each test counts
// the HTTP requests the client makes through a wrapping `fetch`.
// Needs the debug binary (cargo build -p promptshelf-watcher, or PROMPTSHELF_BIN) and pkg/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, request as httpRequest } from "node:http";
import { cp, mkdtemp, readFile, rm, writeFile, access } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import net from "node:net";
import { join } from "node:path";
import { root, pkgDir, loadPkg } from "./lib/pkg.mjs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { until } from "./lib/until.mjs";

const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const { createClient, PromptshelfError } = await import(join(pkgDir, "client", "client.js"));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `promptshelf watch DIR` on 127.0.0.1:PORT; resolves once /readyz answers. */
async function startWatch(dir, port) {
  const child = spawn(bin, ["watch", dir, "--listen", `127.0.0.1:${port}`, "--no-progress", "--debounce-ms", "20"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((r) => child.on("exit", r));
  await until("promptshelf watch to be ready", 30_000, async () => {
    if (child.exitCode !== null) throw new Error("promptshelf exited: " + log);
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  });
  return {
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A fetch that records every request: `{ url, status, inm }` (inm = the If-None-Match sent). */
function countingFetch() {
  const calls = [];
  const f = async (url, init = {}) => {
    const call = { url: String(url), status: null, inm: (init.headers || {})["If-None-Match"] ?? null };
    calls.push(call);
    try {
      const r = await fetch(url, init);
      call.status = r.status;
      return r;
    } catch (e) {
      call.status = "error";
      throw e;
    }
  };
  return { fetch: f, calls };
}

/**
 * A local HTTP proxy to `target` whose behaviour a test sets: `delayMs` before forwarding,
 * `fail503` requests answered 503 (JSON error) before forwarding again.
 */
async function startProxy(target) {
  const state = { delayMs: 0, fail503: 0, seen: 0 };
  const srv = createServer((req, res) => {
    state.seen++;
    if (state.fail503 > 0) {
      state.fail503--;
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unavailable", message: "proxy: try again" } }));
      return;
    }
    setTimeout(() => {
      const up = httpRequest(target + req.url, { method: req.method, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode, ur.headers);
        ur.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    }, state.delayMs);
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return { base: `http://127.0.0.1:${srv.address().port}`, state, close: () => new Promise((r) => srv.close(r)) };
}

let dir, port, base, server;
before(async () => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  dir = await mkdtemp(join(tmpdir(), "promptshelf-client-"));
  await cp(join(root, "examples/library"), dir, { recursive: true });
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await startWatch(dir, port);
});
after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("the client is plain JavaScript under 8 KB gzipped", async () => {
  const src = await readFile(join(pkgDir, "client", "client.js"));
  const gz = gzipSync(src, { level: 9 }).length;
  console.log(`pkg/client/client.js: ${src.length} bytes, ${gz} gzip`);
  assert.ok(gz < 8 * 1024, `client is ${gz} bytes gzipped, over the 8 KB budget`);
  assert.doesNotMatch(src.toString(), /^import\s/m, "no static import: the .wasm loads only for an index fallback");
  const pkg = JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8"));
  assert.deepEqual(pkg.exports["./client"], { types: "./client/client.d.ts", default: "./client/client.js" });
});

test("get, list, search, render and index against the local server", async () => {
  const c = createClient({ baseUrl: base + "/" });
  const doc = await c.get("support-agent");
  assert.equal(doc.id, "support-agent");
  assert.equal(doc.isFallback, undefined);
  // An id with `/` is one path segment, percent-encoded.
  const reply = await c.get("prompts/support/reply-to-ticket");
  assert.equal(reply.id, "prompts/support/reply-to-ticket");
  const list = await c.list({ type: "persona", limit: 3 });
  assert.equal(list.data.length, 3);
  assert.ok(list.data.every((d) => d.type === "persona"));
  const tagged = await c.list({ tag: ["support", "triage"] });
  assert.deepEqual(tagged.data.map((d) => d.id), ["support-agent"]);
  const found = await c.search("supp", { limit: 2 });
  assert.equal(found.hits.length, 2);
  assert.equal(found.hits[0].id, "support-agent");
  const out = await c.render("prompts/sql-helper", { question: "Top 5 customers?", dialect: "SQLite" });
  assert.equal(out.id, "prompts/sql-helper");
  assert.ok(out.messages.some((m) => JSON.stringify(m.content).includes("Top 5 customers?")), JSON.stringify(out));
  const bytes = await c.index();
  assert.ok(bytes instanceof Uint8Array && bytes.length > 100);
});

test("after the TTL: answered from the cache at once, revalidated with If-None-Match, 304 refreshes", async () => {
  const { fetch, calls } = countingFetch();
  const c = createClient({ baseUrl: base, fetch, ttl: 100 });
  const first = await c.get("personas/technical-writer");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].status, 200);
  // Fresh: no request.
  assert.equal(await c.get("personas/technical-writer"), first);
  assert.equal(calls.length, 1);
  await new Promise((r) => setTimeout(r, 150));
  // Stale: the cached answer now, one conditional request behind it.
  assert.equal(await c.get("personas/technical-writer"), first);
  await until("the background revalidation", 5_000, () => calls.length === 2 && calls[1].status !== null);
  assert.equal(calls[1].status, 304, JSON.stringify(calls));
  assert.match(calls[1].inm, /^"\d+-\d+"$/);
  // The 304 made the entry fresh again: no request within the TTL.
  assert.equal(await c.get("personas/technical-writer"), first);
  assert.equal(calls.length, 2);

  // A change on disk: the next revalidation gets a 200 with the new body.
  const path = join(dir, "personas/technical-writer.json");
  const doc = JSON.parse(await readFile(path, "utf8"));
  doc.name = "Technical Writer (edited)";
  await writeFile(path, JSON.stringify(doc));
  await until("the edit to be served", 10_000, async () => (await (await fetch(`${base}/v1/documents/personas%2Ftechnical-writer`)).json()).name.endsWith("(edited)"));
  await new Promise((r) => setTimeout(r, 150));
  const stale = await c.get("personas/technical-writer");
  assert.equal(stale.name, first.name, "stale answer served at once");
  const fresh = await until("the revalidated body", 5_000, async () => {
    const d = await c.get("personas/technical-writer");
    return d.name.endsWith("(edited)") && d;
  });
  assert.equal(fresh.name, "Technical Writer (edited)");
  assert.ok(calls.some((x) => x.status === 200 && x.inm), "a conditional request got the new body");
});

test("concurrent calls for the same URL share one request", async () => {
  const { fetch, calls } = countingFetch();
  const c = createClient({ baseUrl: base, fetch });
  const all = await Promise.all(Array.from({ length: 8 }, () => c.search("ticket", { limit: 3 })));
  assert.equal(calls.length, 1);
  assert.ok(all.every((x) => x === all[0]));
  await Promise.all([c.get("support-agent"), c.get("code-reviewer"), c.get("support-agent")]);
  assert.equal(calls.length, 3);
});

test("a 404 is not retried and carries the API's error", async () => {
  const { fetch, calls } = countingFetch();
  const c = createClient({ baseUrl: base, fetch, retries: 3, retryDelay: 1 });
  const e = await c.get("no/such-id").then(() => assert.fail("resolved"), (e) => e);
  assert.ok(e instanceof PromptshelfError);
  assert.equal(e.status, 404);
  assert.equal(e.code, "not_found");
  assert.match(e.message, /no document with id `no\/such-id`/);
  assert.equal(calls.length, 1, "4xx never retried");
  // A render error keeps the API's details (a 422 with code; unknown ids are 404).
  const r = await c.render("support-agent", {}).then(() => assert.fail("resolved"), (e) => e);
  assert.equal(r.status, 404);
  assert.equal(r.code, "not_found");
  // `label` passes through to the versions API; this library is not in git, so only `latest`
  // exists and `production` is the API's own 409.
  const l = await c.get("support-agent", { label: "production" }).then(() => assert.fail("resolved"), (e) => e);
  assert.equal(l.status, 409);
  assert.equal(l.code, "label_unresolved");
  assert.match(calls.at(-1).url, /\/v1\/documents\/support-agent\?label=production$/);
});

test("a 503 is retried with backoff, then answered", async (t) => {
  const proxy = await startProxy(base);
  t.after(proxy.close);
  const { fetch, calls } = countingFetch();
  const c = createClient({ baseUrl: proxy.base, fetch, retries: 2, retryDelay: 20 });
  proxy.state.fail503 = 1;
  const doc = await c.get("support-agent");
  assert.equal(doc.id, "support-agent");
  assert.deepEqual(calls.map((x) => x.status), [503, 200]);
  // More failures than retries: the API's 503 error, after 1 + retries attempts.
  proxy.state.fail503 = 10;
  const e = await c.get("code-reviewer").then(() => assert.fail("resolved"), (e) => e);
  assert.equal(e.status, 503);
  assert.equal(e.code, "unavailable");
  assert.equal(calls.length, 2 + 3);
});

test("a slow server: each attempt times out", async (t) => {
  const proxy = await startProxy(base);
  t.after(proxy.close);
  proxy.state.delayMs = 1_500;
  const { fetch, calls } = countingFetch();
  const c = createClient({ baseUrl: proxy.base, fetch, timeout: 150, retries: 1, retryDelay: 10 });
  const t0 = Date.now();
  const e = await c.get("support-agent").then(() => assert.fail("resolved"), (e) => e);
  const took = Date.now() - t0;
  assert.equal(e.code, "timeout");
  assert.equal(e.status, 0);
  assert.equal(calls.length, 2, "timeouts are retried");
  assert.ok(took < 1_000, `gave up after ${took} ms`);
  // Fast again: answered.
  proxy.state.delayMs = 0;
  assert.equal((await c.get("support-agent")).id, "support-agent");
});

test("the server stopped mid-test: stale cache, then fallback, then recovery after a restart", async () => {
  const { fetch, calls } = countingFetch();
  const c = createClient({
    baseUrl: base,
    fetch,
    ttl: 50,
    timeout: 2_000,
    retries: 1,
    retryDelay: 10,
    fallback: {
      documents: { "support/reply": { type: "prompt_template", name: "Bundled reply prompt", tags: ["support"] } },
      index: () => c0.index(),
    },
  });
  const c0 = createClient({ baseUrl: base });
  await c0.index(); // the snapshot an app would bundle, taken while the server is up
  const cached = await c.get("support-agent");
  const hits = await c.search("ticket");
  assert.ok(hits.total > 0);

  await server.stop();
  await new Promise((r) => setTimeout(r, 80));
  // Cached (stale): served as is; the revalidation behind it fails quietly.
  assert.equal(await c.get("support-agent"), cached);
  assert.equal(await c.search("ticket"), hits);
  // Not cached: plain objects first…
  const fb = await c.get("support/reply");
  assert.equal(fb.isFallback, true);
  assert.equal(fb.id, "support/reply");
  assert.equal(fb.name, "Bundled reply prompt");
  const fbList = await c.list({ tag: "support" });
  assert.equal(fbList.isFallback, true);
  assert.deepEqual(fbList.data.map((d) => d.id), ["support/reply"]);
  // …then the index snapshot, loaded into a Shelf of the package.
  const fromShelf = await c.get("prompts/sql-helper");
  assert.equal(fromShelf.isFallback, true);
  assert.equal(fromShelf.id, "prompts/sql-helper");
  const searched = await c.search("supp", { limit: 3 });
  assert.equal(searched.isFallback, true);
  assert.equal(searched.hits[0].id, "support-agent");
  // Nothing cached and no fallback for it: the network error.
  const bare = createClient({ baseUrl: base, retries: 0 });
  const e = await bare.get("support-agent").then(() => assert.fail("resolved"), (e) => e);
  assert.ok(e instanceof PromptshelfError);
  assert.equal(e.code, "network");
  assert.equal(e.status, 0);
  const down = calls.filter((x) => x.status === "error").length;
  assert.ok(down >= 2, "requests were attempted while the server was down");

  // Restart on the same port: real answers again, and the stale entries revalidate.
  server = await startWatch(dir, port);
  const real = await c.get("prompts/summarize-article");
  assert.equal(real.isFallback, undefined);
  const nf = await c.get("support/reply").then(() => assert.fail("resolved"), (e) => e);
  assert.equal(nf.code, "not_found", "a reachable API's 404 is an answer, not a reason for the fallback");
  await c.get("support-agent");
  await until("a revalidation after the restart", 5_000, () => calls.some((x) => x.url.endsWith("/support-agent") && (x.status === 304 || x.status === 200) && x.inm));
});

test("subscribe: one change event per save, cached answers of changed documents dropped", async () => {
  const c = createClient({ baseUrl: base, ttl: 60_000 });
  const before = await c.get("personas/product-manager");
  const list = await c.list({ type: "persona" });
  const events = [];
  const errors = [];
  const sub = c.subscribe((e) => events.push(e), { onError: (e) => errors.push(e) });
  try {
    // Give the stream a moment to connect, then save a file.
    await new Promise((r) => setTimeout(r, 300));
    const path = join(dir, "personas/product-manager.json");
    const doc = JSON.parse(await readFile(path, "utf8"));
    doc.name = "Product Manager (live)";
    await writeFile(path, JSON.stringify(doc));
    const ev = await until("a change event for the save", 10_000, () => events.find((e) => e.upserted.includes("personas/product-manager")));
    assert.equal(ev.type, "sync");
    assert.ok(Number.isInteger(ev.generation) && ev.generation > 0);
    // The cached document and list were dropped: fresh answers without waiting for the TTL.
    const after = await c.get("personas/product-manager");
    assert.notEqual(after, before);
    assert.equal(after.name, "Product Manager (live)");
    const list2 = await c.list({ type: "persona" });
    assert.notEqual(list2, list);
    // A broken file is an error added; its removal clears it.
    await writeFile(join(dir, "personas/broken.json"), '{"id": "broken",,}');
    const bad = await until("the error event", 10_000, () => events.find((e) => e.errors_added.some((x) => x.path === "personas/broken.json")));
    assert.equal(bad.errors_added.find((x) => x.path === "personas/broken.json").kind, "parse");
    await rm(join(dir, "personas/broken.json"));
    await until("the error cleared", 10_000, () => events.find((e) => e.errors_cleared.includes("personas/broken.json")));
    // Generations only grow.
    const gens = events.map((e) => e.generation);
    assert.deepEqual(gens, [...gens].sort((a, b) => a - b));
    assert.deepEqual(errors, []);
  } finally {
    sub.close();
  }
});

test("shelf.follow in Node under `serve`: another process syncs, the reset reloads the index in place", async (t) => {
  const lib = await mkdtemp(join(tmpdir(), "promptshelf-client-serve-"));
  t.after(() => rm(lib, { recursive: true, force: true }));
  await cp(join(root, "examples/library"), lib, { recursive: true });
  const sync = () => promisify(execFile)(bin, ["sync", lib, "--no-progress"]);
  await sync();
  const p = await freePort();
  const child = spawn(bin, ["serve", "--db", join(lib, ".promptshelf/shelf.db"), "--listen", `127.0.0.1:${p}`], { stdio: "ignore" });
  const exited = new Promise((r) => child.on("exit", r));
  t.after(async () => {
    child.kill("SIGTERM");
    await exited;
  });
  const api = `http://127.0.0.1:${p}`;
  await until("serve to answer", 20_000, async () => (await fetch(api + "/readyz")).ok);

  const { Shelf } = await loadPkg();
  const shelf = Shelf.load(new Uint8Array(await (await fetch(api + "/v1/index")).arrayBuffer()));
  assert.deepEqual(shelf.search("okapi").hits, []);
  const seen = [];
  const errors = [];
  const live = shelf.follow(api, { onChange: (e) => seen.push(e), onError: (e) => errors.push(e) });
  t.after(() => live.close());
  await live.ready;
  await new Promise((r) => setTimeout(r, 700)); // the server's poller has its starting point

  await writeFile(join(lib, "personas/okapi.json"), JSON.stringify({ id: "okapi-keeper", name: "Okapi Keeper", prompt: "You keep okapis." }));
  await sync();
  await until("the new document in the followed shelf", 10_000, () => shelf.search("okapi").hits.some((h) => h.id === "okapi-keeper"));
  assert.ok(seen.some((e) => e.type === "reset"), JSON.stringify(seen));
  assert.ok(shelf.has("support-agent"), "the rest of the library is still there");
  assert.deepEqual(errors, []);
});

test("the README's app: the bundled prompt when the API is down; the API's own error otherwise", async (t) => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const code = readme.match(/```js\n(import \{ createClient \} from "promptshelf\/client";[\s\S]*?)```/)?.[1];
  assert.ok(code, "README has the client example");
  assert.ok(code.trim().split("\n").length <= 12, "about ten lines");
  assert.match(code, /support\/reply/);
  assert.match(code, /label: "production"/);
  const app = join(await mkdtemp(join(tmpdir(), "promptshelf-readme-")), "app.mjs");
  t.after(() => rm(join(app, ".."), { recursive: true, force: true }));
  await writeFile(app, code.replace('"promptshelf/client"', JSON.stringify(join(pkgDir, "client", "client.js"))));
  const run = (url) =>
    promisify(execFile)(process.execPath, [app], { env: { ...process.env, PROMPTS_URL: url } }).then(
      (r) => ({ code: 0, ...r }),
      (e) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  // Nothing listens there: the fallback answers.
  const down = await run(`http://127.0.0.1:${await freePort()}`);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stderr, /unreachable/);
  assert.match(down.stdout, /^Reply Answer politely/);
  // The real server, whose library has no `support/reply`: its 404 surfaces as a PromptshelfError.
  const up = await run(base);
  assert.notEqual(up.code, 0);
  assert.match(up.stderr, /PromptshelfError: no document with id `support\/reply`/);
});
