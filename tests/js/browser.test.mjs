// A real browser: headless Chromium (Debian's, driven by playwright-core) opens the example
// picker (examples/browser, served with pkg/ from a loopback port by examples/browser/serve.mjs),
// types queries and checks the hits, previews a prompt's messages (the render module is fetched
// only then, and its messages are the ones Node renders), checks that console and page have no
// errors, and saves a screenshot to test-artifacts/browser-picker.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { root, pkgDir, libraryDir, loadParse } from "./lib/pkg.mjs";
import { launchChromium, collectProblems } from "./lib/browser.mjs";
import { serve } from "../../examples/browser/serve.mjs";

const artifacts = join(root, "test-artifacts");

test("example picker in headless Chromium: search as you type", { timeout: 120_000 }, async (t) => {
  const server = await serve();
  t.after(() => server.close());
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const problems = collectProblems(page);
  const requested = [];
  page.on("request", (r) => requested.push(new URL(r.url()).pathname));

  await page.goto(server.url, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  const hitIds = () => page.$$eval("#results li", (lis) => lis.map((li) => li.dataset.id));
  // Every document shows for the empty query.
  assert.equal((await hitIds()).length, 14);

  // Type character by character, as a user does; results follow each keystroke.
  await page.fill("#q", "");
  await page.locator("#q").pressSequentially("supp", { delay: 20 });
  await page.waitForFunction(() => document.querySelectorAll("#results li").length > 0 && document.querySelector("#q").value === "supp");
  let ids = await hitIds();
  assert.ok(ids.includes("support-agent"), ids.join(","));
  const marks = await page.$$eval("#results mark", (ms) => ms.map((m) => m.textContent.toLowerCase()));
  assert.ok(marks.length > 0 && marks.every((m) => m.startsWith("supp")), marks.join(","));
  assert.match(await page.textContent("#status"), /^\d+ results? · /);

  // Type filter chip + a typo.
  await page.click('#types button[data-type="prompt_template"]');
  await page.fill("#q", "tiket");
  await page.waitForFunction(() => [...document.querySelectorAll("#results li")].every((li) => li.querySelector(".badge.prompt_template")));
  ids = await hitIds();
  assert.ok(ids.length > 0, "typo query should find the ticket prompts");
  assert.ok(ids.every((id) => id.length > 0));
  const paths = await page.$$eval("#results .path", (ps) => ps.map((p) => p.textContent));
  assert.ok(paths.some((p) => p.startsWith("prompts/support/")), paths.join(","));

  // A half-typed query is not an error on the page.
  await page.click('#types button[data-type=""]');
  await page.fill("#q", 'support "first');
  await page.waitForFunction(() => document.querySelector("#q").getAttribute("aria-invalid") === "true");
  await page.fill("#q", "support agent");
  await page.waitForFunction(() => document.querySelector("#q").getAttribute("aria-invalid") === null);
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.textContent("#detail h2"), await page.textContent("#results li[aria-selected=true] .title").then((s) => s.replace(/^\w+ /, "")));

  // Preview a prompt's messages: only now is the render module fetched.
  assert.deepEqual(requested.filter((p) => p.includes("render")), [], "search alone must not load the render module");
  const path = "prompts/support/classify-ticket.prompty";
  const text = await readFile(join(libraryDir, path), "utf8");
  const pp = await loadParse();
  const rd = await import(join(pkgDir, "render", "promptshelf_render.js"));
  await rd.default({ module_or_path: await readFile(join(pkgDir, "render", "promptshelf_render_bg.wasm")) });
  const id = pp.parse(path, text).id;
  const expected = rd.render(path, text);
  await page.fill("#q", "classify ticket");
  await page.waitForFunction((id) => document.querySelector("#results li[aria-selected=true]")?.dataset.id === id, id);
  await page.click("#preview");
  await page.waitForSelector("#messages[data-done=true]", { timeout: 30_000 });
  const shown = await page.$$eval("#messages .message", (ms) => ms.map((m) => ({ role: m.querySelector(".role").textContent, content: m.querySelector("pre").textContent })));
  assert.deepEqual(shown, expected);
  assert.deepEqual(requested.filter((p) => p.includes("render")), ["/pkg/render/promptshelf_render.js", "/pkg/render/promptshelf_render_bg.wasm"]);
  assert.ok(requested.includes(`/library/${path}`), requested.join(","));
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "browser-picker.png"), fullPage: true });
  assert.deepEqual(problems, []);
});
