// `shelf.get(id, {label})` / `get(id, {version})` (#15) in Node over the built pkg/: a git
// repository made by the test (a prompt changed after the `production` tag, then moved; a
// prompt unchanged since; a prompt added after the tag; a label whose ref is missing), its
// `/v1/index` from `promptshelf watch` and from a `promptshelf build` snapshot under
// `promptshelf serve`, loaded with `Shelf.load`. The index carries only what differs from
// latest per label; a label or version it cannot answer is a `LabelError`.
// Needs pkg/ (scripts/build-pkg) and the debug binary (or PROMPTSHELF_BIN).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPkg, root, thrown } from "./lib/pkg.mjs";
import { until } from "./lib/until.mjs";

const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const ps = await loadPkg();

function git(dir, clock, ...args) {
  const date = `@${clock} +0000`;
  execFileSync("git", args, {
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
  });
}

const prompt = (name, description, tags = "[support]") =>
  `---\nname: ${name}\ndescription: ${description}\ntags: ${tags}\n---\nuser:\n{{question}}\n`;

/** Starts `promptshelf ARGS --listen 127.0.0.1:0`; resolves with the child and its base URL. */
async function start(args, t) {
  const child = spawn(bin, [...args, "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  t.after(() => child.kill("SIGTERM"));
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const addr = await until("the server address in the log", 20000, () => {
    if (child.exitCode !== null) throw new Error("promptshelf exited: " + log);
    const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\//);
    return m && m[1];
  });
  return `http://${addr}`;
}

async function indexBytes(base) {
  const r = await fetch(base + "/v1/index");
  assert.equal(r.status, 200);
  return new Uint8Array(await r.arrayBuffer());
}

/** What every host's index must answer. */
function checkShelf(shelf) {
  // latest: the shelf's own document.
  assert.equal(shelf.get("prompts/help/reply").name, "Reply v3");
  assert.equal(shelf.get("prompts/help/reply", { label: "latest" }).name, "Reply v3");
  assert.equal(shelf.get("prompts/help/reply", { label: "latest" }).version, undefined);
  // production: the version the tag names, as it was (old path and id), with its number.
  assert.deepEqual(shelf.get("prompts/help/reply", { label: "production" }), {
    id: "prompts/support/reply",
    type: "prompt_template",
    name: "Reply v2",
    path: "prompts/support/reply.prompty",
    description: "second",
    tags: ["release"],
    version: 2,
  });
  assert.equal(shelf.get("prompts/help/reply", { version: 2 }).name, "Reply v2");
  // Unchanged since the tag: the latest document.
  assert.deepEqual(shelf.get("prompts/stable", { label: "production" }), shelf.get("prompts/stable"));
  // Unknown document: undefined, as without options.
  assert.equal(shelf.get("prompts/none", { label: "production" }), undefined);

  // Typed errors.
  let e = thrown(() => shelf.get("prompts/help/reply", { label: "nope" }));
  assert.equal(e.name, "LabelError");
  assert.equal(e.code, "unknown_label");
  assert.equal(e.label, "nope");
  assert.equal(e.message, "unknown label `nope`; this index has: latest, production, staging");
  e = thrown(() => shelf.get("prompts/new", { label: "production" }));
  assert.equal(e.name, "LabelError");
  assert.equal(e.code, "label_unresolved");
  assert.equal(e.id, "prompts/new");
  e = thrown(() => shelf.get("prompts/stable", { label: "staging" }));
  assert.equal(e.code, "label_unresolved");
  assert.match(e.message, /refs\/heads\/staging/);
  e = thrown(() => shelf.get("prompts/help/reply", { version: 1 }));
  assert.equal(e.code, "version_not_in_index");
  assert.equal(e.version, 1);
  assert.match(e.message, /GET \/v1\/documents\/\{id\}\?version=1/);
  e = thrown(() => shelf.get("prompts/help/reply", { label: "production", version: 2 }));
  assert.ok(e instanceof TypeError, String(e));
  e = thrown(() => shelf.get("prompts/help/reply", { lable: "production" }));
  assert.ok(e instanceof TypeError, String(e));
  // Search is over the latest documents.
  assert.deepEqual(shelf.search("Reply").hits.map((h) => h.id), ["prompts/help/reply"]);
}

test("get(id, {label}) / get(id, {version}) on a shelf loaded from /v1/index", { timeout: 60000 }, async (t) => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-labels-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let clock = 1_700_000_000;
  const commit = (msg) => {
    clock += 60;
    git(dir, clock, "add", "-A");
    git(dir, clock, "commit", "-q", "-m", msg);
  };
  git(dir, clock, "init", "-q", "-b", "main");
  await writeFile(join(dir, "promptshelf.toml"), '[labels]\nproduction = "refs/tags/prompts-prod"\nstaging = "refs/heads/staging"\n');
  await mkdir(join(dir, "prompts/support"), { recursive: true });
  await writeFile(join(dir, "prompts/support/reply.prompty"), prompt("Reply v1", "first"));
  await writeFile(join(dir, "prompts/stable.prompty"), prompt("Stable", "never changes", "[]"));
  commit("add");
  await writeFile(join(dir, "prompts/support/reply.prompty"), prompt("Reply v2", "second", "[release]"));
  commit("reply v2");
  git(dir, clock, "tag", "prompts-prod");
  await writeFile(join(dir, "prompts/support/reply.prompty"), prompt("Reply v3", "third"));
  await writeFile(join(dir, "prompts/new.prompty"), prompt("New", "after the tag"));
  commit("reply v3, new");
  await mkdir(join(dir, "prompts/help"), { recursive: true });
  git(dir, clock, "mv", "prompts/support/reply.prompty", "prompts/help/reply.prompty");
  commit("move reply");

  // The local server watching the repository.
  const base = await start(["watch", dir, "--no-progress"], t);
  await until("the history", 20000, async () => {
    const r = await fetch(base + "/v1/documents/prompts%2Fhelp%2Freply/versions");
    return r.ok && (await r.json()).total === 4;
  });
  const bytes = await until("labels in /v1/index", 20000, async () => {
    const b = await indexBytes(base);
    return b[6] === 1 && b; // header flag 1: the labels section
  });
  const live = ps.Shelf.load(bytes);
  t.after(() => live.free());
  checkShelf(live);

  // A snapshot (`promptshelf build`), served read-only: the same answers.
  const snap = join(dir, "..", dir.split("/").pop() + ".db");
  t.after(() => rm(snap, { force: true }));
  execFileSync(bin, ["build", dir, "--out", snap], { stdio: "pipe" });
  const served = await start(["serve", "--db", snap], t);
  const fromSnap = ps.Shelf.load(await indexBytes(served));
  t.after(() => fromSnap.free());
  checkShelf(fromSnap);

  // A shelf without history (built from files): only `latest`.
  const plain = ps.Shelf.fromFiles([{ path: "prompts/a.prompty", text: prompt("A", "a") }]);
  t.after(() => plain.free());
  assert.equal(plain.get("prompts/a", { label: "latest" }).name, "A");
  const e = thrown(() => plain.get("prompts/a", { label: "production" }));
  assert.equal(e.name, "LabelError");
  assert.equal(e.message, "unknown label `production`; this index has: latest");
  // A document changed after loading: its labels no longer know what they name, unless
  // they name a version explicitly.
  live.upsertDocument({ id: "prompts/stable", type: "prompt_template", name: "Stable 2", path: "prompts/stable.prompty" });
  assert.equal(live.get("prompts/stable", { label: "latest" }).name, "Stable 2");
  const changed = thrown(() => live.get("prompts/stable", { label: "production" }));
  assert.equal(changed.code, "label_unresolved");
  assert.match(changed.message, /changed after this index was loaded/);
  assert.equal(live.get("prompts/help/reply", { label: "production" }).version, 2);
  // toBytes keeps the labels a loaded shelf has.
  const again = ps.Shelf.load(live.toBytes());
  t.after(() => again.free());
  assert.equal(again.get("prompts/help/reply", { label: "production" }).version, 2);
});
