// The sync dashboard in real headless Chromium: `promptshelf watch` on a copy of
// examples/library, then the page loads with live counts (pushed over /v1/events: no
// requests while idle, a new file counted at once), shows a broken file's error
// as path:line:column after the file breaks, and its search box returns hits.
// Needs the debug binary (cargo build -p promptshelf-watcher) or PROMPTSHELF_BIN.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, mkdtemp, mkdir, rm, writeFile, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./lib/browser.mjs";
import { until } from "./lib/until.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const artifacts = join(root, "test-artifacts");

/** Starts `promptshelf watch DIR` on a free port; resolves with the child and its address. */
async function startWatch(dir) {
  const child = spawn(bin, ["watch", dir, "--listen", "127.0.0.1:0", "--no-progress", "--debounce-ms", "30"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const addr = await until("the server address in the log", 20000, () => {
    if (child.exitCode !== null) throw new Error("promptshelf exited: " + log);
    const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\//);
    return m && m[1];
  });
  return { child, addr, log: () => log };
}

test("dashboard: loads, shows a broken file's error live, searches", { timeout: 90000 }, async (t) => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-dash-"));
  await cp(join(root, "examples/library"), dir, { recursive: true });
  const { child, addr, log } = await startWatch(dir);
  const browser = await launchChromium(t);
  t.after(async () => {
    child.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  });
  const base = `http://${addr}`;
  await until("/readyz", 20000, async () => (await fetch(base + "/readyz")).ok);

  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  const requests = [];
  page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(base + "/");

  // Loads, with live counts from the admin API.
  const docs = await until("document count", 15000, async () => {
    const text = await page.textContent("#documents");
    return /^\d+$/.test(text) && Number(text) > 0 && Number(text);
  });
  const health = await (await fetch(base + "/v1/health")).json();
  assert.equal(docs, health.counts.documents);
  assert.match(await page.textContent("#phase"), /watching/);
  assert.equal((await page.textContent("#errors")).trim(), "none");

  // Live without polling: the page follows /v1/events; while nothing changes it asks the
  // server nothing, and a saved file shows up at once.
  assert.ok(requests.includes("/v1/events"), requests.join(","));
  const idleFrom = requests.length;
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(requests.slice(idleFrom), [], "requests while idle (polling?)");
  await writeFile(join(dir, "personas/live-added.json"), '{"id": "live-added", "name": "Live Added", "prompt": "Hi."}\n');
  await until("the new document counted", 10000, async () => Number(await page.textContent("#documents")) === docs + 1);
  assert.ok(requests.slice(idleFrom).includes("/admin/status"), "refreshed after the event");

  // Break a file: its error appears as path:line:column message, without reloading.
  await writeFile(join(dir, "personas/socratic-tutor.json"), '{\n  "id": "tutor",\n  "name": "Tutor",,\n}\n');
  const line = await until("the broken file's error on the page", 20000, async () => {
    const items = await page.$$eval("#errors li.error-line", (els) => els.map((e) => e.textContent));
    return items.find((x) => x.startsWith("personas/socratic-tutor.json:3:"));
  });
  assert.match(line, /^personas\/socratic-tutor\.json:3:\d+ \S/);
  await until("the error in recent events", 10000, async () =>
    (await page.textContent("#events")).includes("personas/socratic-tutor.json:3:"),
  );
  assert.equal(await page.textContent("#error-count"), "1");

  // Search through /v1/search.
  await page.fill("#q", "support");
  const hits = await until("search hits", 15000, async () => {
    const names = await page.$$eval("#hits .hit .name", (els) => els.map((e) => e.textContent));
    return names.length > 0 && names;
  });
  assert.ok(hits.some((n) => /support/i.test(n)), hits.join(", "));
  assert.ok(await page.$("#hits mark"), "snippets highlight the match");
  assert.match(await page.textContent("#facets"), /\d+ matches/);

  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true });

  // Fix the file: the error goes away.
  await writeFile(join(dir, "personas/socratic-tutor.json"), '{"id": "tutor", "name": "Tutor", "prompt": "Ask questions."}\n');
  await until("the error to clear", 20000, async () => (await page.textContent("#errors")).trim() === "none");

  // The document page (#16): a hit opens the document, with a form generated from its
  // inputs schema; a preview renders through the API, and a wrong value shows its problem
  // at its field.
  await writeFile(
    join(dir, "prompts/typed-reply.prompty"),
    "---\nname: Typed Reply\nmodel:\n  id: gpt-4o\ninputs:\n  - name: question\n    kind: string\n    required: true\n    description: The customer's question\n  - name: tone\n    kind: string\n    enumValues: [calm, formal]\n    default: calm\n  - name: count\n    kind: integer\n    default: 2\n---\nsystem:\nBe {{tone}}; give {{count}} tips.\n\nuser:\n{{question}}\n",
  );
  // Search only once the file is synced (under load the sync can trail the write).
  await until("the typed prompt to be synced", 15000, async () => (await (await fetch(base + "/v1/search?q=typed+reply")).json()).total > 0);
  await page.fill("#q", "typed reply");
  const link = await until("the typed prompt's hit", 15000, async () => page.$('#hits .hit .name a[href*="typed-reply"]'));
  await link.click();
  await until("the document page", 10000, async () => (await page.textContent("#doc-head h3")) === "Typed Reply");
  assert.match(await page.textContent("#doc-template"), /system[\s\S]*Be \{\{tone\}\}[\s\S]*user[\s\S]*\{\{question\}\}/);
  // The schema arrives by its own request (GET /v1/prompts/{id}/schema), after the heading.
  await until("the input schema", 10000, async () => /"required": \[\s*"question"\s*\]/.test(await page.textContent("#doc-schema")));
  // Widgets per type, defaults filled in, the enum as a choice.
  assert.equal(await page.$eval("#input-tone", (e) => e.tagName), "SELECT");
  assert.deepEqual(await page.$$eval("#input-tone option", (os) => os.map((o) => o.textContent)), ["", "calm", "formal"]);
  assert.equal(await page.inputValue("#input-tone"), '"calm"');
  assert.equal(await page.inputValue("#input-count"), "2");
  // Nothing filled: the missing required input is reported at its field.
  await page.click("#doc-form button");
  const missing = await until("the missing input's message", 10000, async () => (await page.textContent('[data-error-for="question"]')) || null);
  assert.equal(missing, "question: expected a string, found nothing");
  // A wrong value: the error at its field, not at the others.
  await page.fill("#input-question", "Where is my order?");
  await page.fill("#input-count", "many");
  await page.click("#doc-form button");
  const wrong = await until("the wrong value's message", 10000, async () => (await page.textContent('[data-error-for="count"]')) || null);
  assert.equal(wrong, 'count: expected an integer, found the string "many"');
  assert.equal(await page.textContent('[data-error-for="question"]'), "");
  assert.ok(await page.$('.field.invalid[data-input="count"]'), "the field is marked");
  // Fixed: the preview shows the rendered messages.
  await page.fill("#input-count", "3");
  await page.selectOption("#input-tone", '"formal"');
  await page.click("#doc-form button");
  await until("the preview", 10000, async () => (await page.textContent("#doc-preview")).includes("Be formal; give 3 tips."));
  assert.match(await page.textContent("#doc-preview"), /user\s*Where is my order\?/);
  await page.screenshot({ path: join(artifacts, "dashboard-document.png"), fullPage: true });

  assert.deepEqual(pageErrors, [], "no script errors");
  assert.ok(!/panicked/.test(log()));
});
