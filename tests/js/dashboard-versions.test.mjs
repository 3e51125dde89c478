// The dashboard's versions panel and side-by-side diff (#15) in real headless Chromium,
// against `promptshelf watch` on a real git repository this test makes with the `git`
// CLI: twelve versions of one prompt (a label tag, a commit whose message and text carry
// HTML, a move to another folder, a commit where the file does not parse), a label whose
// ref is missing, then an uncommitted edit (a draft). The page opens the prompt from
// search, lists its versions newest first in pages of 10 with their labels, diffs two
// versions or labels side by side (changed lines facing each other, unchanged runs folded),
// lists the changed JSON paths, shows an old version's fields, and shows the library's
// HTML as text. Driven by keyboard where it matters (radios, buttons).
// Needs the debug binary (cargo build -p promptshelf-watcher) or PROMPTSHELF_BIN.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./lib/browser.mjs";
import { until } from "./lib/until.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const artifacts = join(root, "test-artifacts");

/** A prompt of 20 numbered system lines; `lines` replaces some ("08" → text). */
function prompt(description, { name = "Reply", lines = {} } = {}) {
  const system = Array.from({ length: 20 }, (_, i) => {
    const n = String(i + 1).padStart(2, "0");
    return lines[n] ?? `line ${n}`;
  });
  return `---\nname: ${name}\ndescription: ${description}\n---\nsystem:\n${system.join("\n")}\n\nuser:\n{{question}}\n`;
}

/** A repository with deterministic authors and times (one minute apart). */
function makeRepo(dir) {
  let clock = 1_700_000_000;
  const git = (...args) => {
    const date = `@${clock} +0000`;
    return execFileSync("git", args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "Ada",
        GIT_AUTHOR_EMAIL: "ada@example.com",
        GIT_COMMITTER_NAME: "Ada",
        GIT_COMMITTER_EMAIL: "ada@example.com",
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_CONFIG_NOSYSTEM: "1",
      },
      encoding: "utf8",
    });
  };
  const commit = async (file, textOrNull, message) => {
    clock += 60;
    if (textOrNull !== null) {
      await mkdir(join(dir, file, ".."), { recursive: true });
      await writeFile(join(dir, file), textOrNull);
    }
    git("add", "-A");
    git("commit", "-q", "-m", message);
  };
  return { git, commit };
}

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

test("dashboard: a document's versions, labels, old fields and a side-by-side diff", { timeout: 90000 }, async (t) => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-dash-versions-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { git, commit } = makeRepo(dir);
  git("init", "-q", "-b", "main");
  await writeFile(
    join(dir, "promptshelf.toml"),
    '[labels]\nproduction = "refs/tags/prompts-prod"\nstaging = "refs/heads/staging"\n',
  );
  const old = "prompts/support/reply.prompty";
  const moved = "prompts/help/reply.prompty";
  const html = { "08": "line 08 <script>window.__pwned=1</script>", 13: 'line 13 <img src=x onerror="window.__pwned=2">' };
  await commit(old, prompt("first"), "add reply"); // v1
  await commit(old, prompt("second", { lines: { 15: "line 15 changed" } }), "reply: second"); // v2
  git("tag", "prompts-prod"); // production → v2; staging's ref does not exist
  const v3 = prompt("third", { name: "Reply <b>bold</b>", lines: { 15: "line 15 changed", ...html } });
  await commit(old, v3, "reply: <img src=y onerror=window.__pwned=3>"); // v3
  await mkdir(join(dir, "prompts/help"), { recursive: true });
  git("mv", old, moved);
  await commit(moved, null, "move reply to help"); // v4: same text, new path
  await commit(moved, "---\nname: [unclosed\n---\nuser:\nhi\n", "reply: broken"); // v5
  for (let n = 6; n <= 12; n++) await commit(moved, prompt("version " + n), "reply: version " + n); // v6..v12

  const { child, addr, log } = await startWatch(dir);
  t.after(() => child.kill("SIGTERM"));
  const base = `http://${addr}`;
  const id = "prompts/help/reply";
  await until("the history", 20000, async () => {
    const r = await fetch(`${base}/v1/documents/${encodeURIComponent(id)}/versions?limit=1`);
    return r.ok && (await r.json()).total === 12;
  });

  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(base + "/");

  // Open the prompt from search.
  await page.fill("#q", "reply");
  const link = await until("the prompt's hit", 15000, async () => page.$('#hits .hit .name a[href*="help%2Freply"]'));
  await link.click();
  await until("the document page", 10000, async () => (await page.textContent("#doc-head h3")) === "Reply");

  // Versions newest first, 10 per page, with their labels; the newest change is diffed.
  const rows = () =>
    page.$$eval("#ver-rows tr", (trs) =>
      trs.map((tr) => [...tr.children].slice(2).map((td) => td.textContent.trim())),
    );
  await until("the first page of versions", 10000, async () => (await rows()).length === 10);
  let shown = await rows();
  assert.deepEqual(shown.map((r) => r[0]), ["v12", "v11", "v10", "v9", "v8", "v7", "v6", "v5", "v4", "v3"]);
  const v12 = shown[0];
  assert.match(v12[1], /^[0-9a-f]{12}$/, "short commit id (as `promptshelf log` shows it)");
  assert.equal(v12[2], "Ada");
  assert.match(v12[4], /^reply: version 12/);
  assert.equal(v12[5], "latest", "labels on v12");
  assert.match(shown[7][4], /reply: broken\s*did not parse: line \d+: /);
  assert.equal(await page.textContent("#ver-range"), "v3–v12 of 12");
  assert.ok(await page.isDisabled("#ver-newer"));
  await until("the default diff", 10000, async () => (await page.textContent("#diff-status")) === "v11 → v12");
  assert.ok(await page.$('#ver-rows input[aria-label="compare from version 11"]:checked'));
  assert.ok(await page.$('#ver-rows input[aria-label="compare to version 12"]:checked'));

  // The older page (keyboard): v1 and v2, production on v2.
  await page.focus("#ver-older");
  await page.keyboard.press("Enter");
  await until("the older page", 10000, async () => (await rows()).length === 2);
  shown = await rows();
  assert.deepEqual(shown.map((r) => [r[0], r[5]]), [["v2", "production"], ["v1", ""]]);
  assert.match(shown[1][4], /add reply\s*prompts\/support\/reply\.prompty/, "the old path is listed");
  // The missing label is offered, but as unresolved.
  const choices = await page.$$eval("#diff-from option", (os) => os.map((o) => [o.value, o.textContent, o.disabled]));
  assert.deepEqual(choices.slice(0, 3), [
    ["latest", "latest → v12", false],
    ["production", "production → v2", false],
    ["staging", "staging (unresolved)", true],
  ]);
  assert.equal(choices.length, 3 + 12);

  // Pick a label and a version, then the Show diff button by keyboard: production (v2) → v3.
  await page.selectOption("#diff-from", "production");
  await page.selectOption("#diff-to", "3");
  await page.focus("#diff-form button");
  await page.keyboard.press("Enter");
  await until("the v2 → v3 diff", 10000, async () => (await page.textContent("#diff-status")) === "v2 → v3");
  const diffRows = await page.$$eval("#diff-view tbody.change tr", (trs) =>
    trs.map((tr) => [...tr.children].map((td) => [td.className, td.textContent])),
  );
  // Changed lines face each other: left removed (red), right added (green), with numbers.
  assert.deepEqual(diffRows[0], [["ln", "2"], ["del", "name: Reply"], ["ln", "2"], ["add", "name: Reply <b>bold</b>"]]);
  assert.deepEqual(diffRows[1], [["ln", "3"], ["del", "description: second"], ["ln", "3"], ["add", "description: third"]]);
  assert.ok(
    diffRows.some((r) => r[1][1] === "line 08" && r[3][1] === "line 08 <script>window.__pwned=1</script>"),
    JSON.stringify(diffRows),
  );
  assert.ok(diffRows.some((r) => r[3][1] === 'line 13 <img src=x onerror="window.__pwned=2">'));
  // The unchanged run between lines 08 and 13 (4 lines) is folded; its button unfolds it.
  const fold = await page.$("#diff-view tbody.same.collapsed tr.fold button");
  assert.ok(fold, "a folded run");
  assert.equal(await fold.textContent(), "⋯ 4 unchanged lines");
  assert.equal(await page.$$eval("#diff-view tbody.same.collapsed tr.line", (trs) => trs.filter((tr) => tr.offsetParent).length), 0);
  await fold.focus();
  await page.keyboard.press("Enter");
  assert.equal(await page.$("#diff-view tbody.same.collapsed"), null);
  const unfolded = await page.$$eval("#diff-view tbody.same tr.line", (trs) =>
    trs.filter((tr) => tr.offsetParent).map((tr) => [tr.children[0].textContent, tr.children[1].textContent, tr.children[2].textContent]),
  );
  assert.ok(unfolded.some((r) => r[1] === "line 10" && r[0] === r[2]), JSON.stringify(unfolded));
  // Lines between hunks are counted, the hunk header shown.
  assert.match(await page.textContent("#diff-view"), /@@ -1,\d+ \+1,\d+ @@/);
  // The changed JSON paths from the diff route.
  const paths = await page.$$eval("#diff-paths li", (ls) => ls.map((l) => l.textContent));
  assert.ok(paths.includes("/name") && paths.includes("/description") && paths.includes("/body"), paths.join(" "));

  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "dashboard-diff.png"), fullPage: true });

  // Untrusted text stays text: no element came from the library, nothing ran.
  assert.equal(await page.$("#diff-view script, #diff-view img, #diff-view b, #ver-rows img, #doc-page img"), null);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);

  // A row's radio by keyboard: from v4 (the move) → to v3: the text is the same, the paths differ.
  await page.click("#ver-newer");
  await until("the newest page again", 10000, async () => (await rows()).length === 10);
  await page.focus('#ver-rows input[aria-label="compare from version 4"]');
  await page.keyboard.press("Space");
  await until("the v4 → v3 diff", 10000, async () => /^v4 → v3/.test(await page.textContent("#diff-status")));
  assert.match(await page.textContent("#diff-status"), /the file text is the same/);
  const movePaths = await page.$$eval("#diff-paths li", (ls) => ls.map((l) => l.textContent));
  assert.ok(movePaths.includes("/path") && movePaths.includes("/id"), movePaths.join(" "));
  assert.equal(await page.$("#diff-view table"), null);

  // An old version's fields (keyboard on its View button); its HTML is text.
  await page.focus('#ver-rows button[aria-label="view version 3"]');
  await page.keyboard.press("Enter");
  await until("version 3's fields", 10000, async () => (await page.textContent("#doc-head h3")) === "Reply <b>bold</b>");
  assert.match(await page.textContent("#doc-head"), /description\s*third/);
  assert.match(await page.textContent("#doc-head"), /path\s*prompts\/support\/reply\.prompty/);
  assert.match(await page.textContent("#doc-template"), /line 08 <script>window\.__pwned=1<\/script>/);
  assert.match(await page.textContent("#doc-version-note"), /^Viewing version 3 of 12/);
  assert.ok(await page.isHidden("#doc-try"), "the input form (latest only) is hidden");
  assert.equal(await page.$("#doc-head b, #doc-template script, #doc-template img"), null);
  await page.screenshot({ path: join(artifacts, "dashboard-versions.png"), fullPage: true });
  // A version that did not parse says so; back to latest.
  await page.click('#ver-rows button[aria-label="view version 5"]');
  await until("the unparsable version's message", 10000, async () =>
    /cannot show version 5: version 5 of this document did not parse/.test(await page.textContent("#doc-version-note")),
  );
  await page.click('#ver-rows button[aria-label="view version 3"]');
  await until("version 3 again", 10000, async () => /^Viewing version 3/.test(await page.textContent("#doc-version-note")));
  await page.click("#doc-version-note button");
  await until("the latest fields", 10000, async () => /description\s*version 12/.test(await page.textContent("#doc-head")));
  assert.equal(await page.textContent("#doc-version-note"), "");
  assert.ok(await page.isVisible("#doc-try"));

  // An uncommitted edit shows up live as a draft on top, and `latest` moves to it.
  await writeFile(join(dir, moved), prompt("draft"));
  await until("the draft in the API", 15000, async () => {
    const r = await fetch(`${base}/v1/documents/${encodeURIComponent(id)}/versions?offset=12`);
    return r.ok && (await r.json()).data.some((v) => v.draft);
  });
  // The history (with its draft) is stored a moment after the batch's event, and has no
  // event of its own; under load the page's re-reads can come before it, so one more
  // batch (another file) makes sure an event follows.
  await writeFile(join(dir, "prompts/poke.prompty"), "---\nname: Poke\n---\nuser:\nhi\n");
  await until("the draft version", 15000, async () => {
    const r = (await rows())[0];
    return r && r[0] === "v13" && r[1] === "draft";
  });
  assert.equal((await rows())[0][5], "latestdraft");

  assert.deepEqual(pageErrors, [], "no script errors");
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.ok(!/panicked/.test(log()));
});
