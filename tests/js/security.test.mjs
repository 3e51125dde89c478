// The local server against the websites its user visits (issue 18), in real headless
// Chromium: `promptshelf watch` on a copy of examples/library, and a page served from
// another origin — a second loopback server reached as `evil.test` (Chromium maps the name to
// 127.0.0.1, like a DNS answer would) — that tries what an attacker's page would:
// read /v1/documents, POST /admin/reload, open the event stream, and rebind its own name to
// the server's port. Every attempt must fail, checked in the page and on the server
// (/metrics counters, the events log). A page on localhost:<other port> (a Vite dev page)
// still reads, searches and renders.
// Needs the debug binary (cargo build -p promptshelf-watcher) or PROMPTSHELF_BIN.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import { access, cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./lib/browser.mjs";
import { until } from "./lib/until.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");

/** A page server on 127.0.0.1 (any name that maps there reaches it): GET / is a blank page. */
async function pageServer(t) {
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end("<!doctype html><html><head><title>page</title></head><body>page</body></html>");
  });
  await new Promise((ok) => srv.listen(0, "127.0.0.1", ok));
  t.after(() => new Promise((ok) => srv.close(ok)));
  return srv.address().port;
}

/** A Prometheus counter's value from the server's /metrics (read by Node: no Origin). */
async function metric(base, name) {
  const text = await (await fetch(base + "/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  assert.ok(line, `${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

test("a website cannot read, drive or rebind the local server; a local dev page can", { timeout: 120_000 }, async (t) => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-sec-"));
  await cp(join(root, "examples/library"), dir, { recursive: true });
  const child = spawn(bin, ["watch", dir, "--listen", "127.0.0.1:0", "--no-progress"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1", PROMPTSHELF_CORS_ORIGINS: "", PROMPTSHELF_ALLOWED_HOSTS: "" },
  });
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  t.after(async () => {
    child.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  });
  const addr = await until("the server address in the log", 20_000, () => {
    if (child.exitCode !== null) throw new Error("promptshelf exited: " + log);
    return log.match(/http:\/\/(127\.0\.0\.1:\d+)\//)?.[1];
  });
  const port = Number(addr.split(":")[1]);
  const base = `http://${addr}`;
  await until("/readyz", 20_000, async () => (await fetch(base + "/readyz")).ok);

  const pagePort = await pageServer(t);
  const browser = await launchChromium(t, ["--host-resolver-rules=MAP evil.test 127.0.0.1"]);
  const page = await browser.newPage();

  const refusedCrossSite = () => metric(base, 'promptshelf_http_refused_total{reason="cross_site"}');
  const refusedHost = () => metric(base, 'promptshelf_http_refused_total{reason="host"}');
  const reconciles = () => metric(base, "promptshelf_sync_reconciles_total");
  const manualReloads = async () =>
    (await (await fetch(base + "/admin/events")).json()).events.filter((e) => e.message === "manual reload").length;

  // --- The attacker's page: http://evil.test:<pagePort>/ ---
  await page.goto(`http://evil.test:${pagePort}/`);
  assert.equal(await page.evaluate(() => location.origin), `http://evil.test:${pagePort}`);

  // 1. Reading the library: the request is answered, but without CORS the page gets nothing.
  for (const url of [`${base}/v1/documents`, `http://localhost:${port}/v1/search?q=support`]) {
    const read = await page.evaluate(async (url) => {
      try {
        const r = await fetch(url);
        return { read: await r.text() };
      } catch (e) {
        return { error: String(e) };
      }
    }, url);
    assert.equal(read.read, undefined, `${url} was readable from evil.test: ${String(read.read).slice(0, 200)}`);
    assert.match(read.error, /Failed to fetch/);
  }

  // 2. Driving the admin API with requests no preflight stops (no-cors fetch, a form post).
  const crossBefore = await refusedCrossSite();
  const reconcilesBefore = await reconciles();
  const sent = await page.evaluate(async (base) => {
    const out = [];
    for (const [type, body] of [
      ["text/plain", "x"],
      ["application/x-www-form-urlencoded", "a=1"],
    ]) {
      const r = await fetch(base + "/admin/reload", { method: "POST", mode: "no-cors", headers: { "content-type": type }, body });
      out.push(r.type);
    }
    await fetch(base + "/admin/sync", { method: "POST", mode: "no-cors" });
    // The same through a real form submission into a hidden frame.
    const frame = document.createElement("iframe");
    frame.name = "sink";
    document.body.append(frame);
    const form = document.createElement("form");
    form.method = "POST";
    form.action = base + "/admin/reload";
    form.target = "sink";
    document.body.append(form);
    const loaded = new Promise((r) => frame.addEventListener("load", r, { once: true }));
    form.submit();
    await loaded;
    return out;
  }, base);
  assert.deepEqual(sent, ["opaque", "opaque"], "the no-cors requests were sent");
  // Refused on the server: 4 refusals counted, no reload ran.
  await until("4 cross-site refusals", 10_000, async () => (await refusedCrossSite()) - crossBefore >= 4);
  assert.equal((await refusedCrossSite()) - crossBefore, 4);
  assert.equal(await manualReloads(), 0, "a reload from evil.test ran");
  assert.equal(await reconciles(), reconcilesBefore, "a reconcile ran");

  // 3. The live event stream: an EventSource from evil.test does not connect.
  const beforeStream = await refusedCrossSite();
  const stream = await page.evaluate(
    (base) =>
      new Promise((resolve) => {
        const es = new EventSource(base + "/v1/events");
        const done = (what) => {
          const state = es.readyState;
          es.close();
          resolve({ what, state });
        };
        es.onopen = () => done("open");
        es.onmessage = () => done("message");
        es.onerror = () => done("error");
        setTimeout(() => done("timeout"), 10_000);
      }),
    base,
  );
  assert.equal(stream.what, "error", JSON.stringify(stream));
  assert.equal(stream.state, 2, "EventSource.CLOSED: a 403 is not retried");
  assert.equal((await refusedCrossSite()) - beforeStream, 1, "the server refused the stream");

  // 4. DNS rebinding: evil.test now resolves to 127.0.0.1, so a page on evil.test:<port>
  //    is same-origin with the server. The server refuses its Host.
  const hostBefore = await refusedHost();
  for (const path of ["/v1/documents", "/admin/errors", "/"]) {
    const r = await page.goto(`http://evil.test:${port}${path}`);
    assert.equal(r.status(), 403, path);
    const body = JSON.parse(await r.text());
    assert.equal(body.error.code, "host_not_allowed");
    assert.match(body.error.message, /--allowed-host/);
  }
  // (Chromium also asks for /favicon.ico after each page: refused the same way.)
  assert.ok((await refusedHost()) - hostBefore >= 3, "the server counted the Host refusals");

  // --- A local dev page (Vite on localhost:<other port>) keeps working. ---
  await page.goto(`http://localhost:${pagePort}/`);
  const local = await page.evaluate(
    async ({ port }) => {
      const docs = await (await fetch(`http://127.0.0.1:${port}/v1/documents?limit=500`)).json();
      const search = await fetch(`http://localhost:${port}/v1/search?q=support`, { headers: { "If-None-Match": '"none"' } });
      const hits = (await search.json()).hits;
      const prompt = docs.data.find((d) => d.type === "prompt_template");
      const render = await fetch(`http://localhost:${port}/v1/prompts/${encodeURIComponent(prompt.id)}/render`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      return { docs: docs.data.length, hits: hits.length, etag: search.headers.get("etag"), render: render.status, messages: (await render.json()).messages?.length };
    },
    { port },
  );
  assert.ok(local.docs > 5, JSON.stringify(local));
  assert.ok(local.hits > 0, JSON.stringify(local));
  assert.ok(local.etag, "ETag exposed to the local page");
  assert.equal(local.render, 200);
  assert.ok(local.messages > 0);
  assert.ok(!/panicked/.test(log));
});
