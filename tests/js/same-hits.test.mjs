// The same query string gives the same ranked hits on every host (issue 13): the CLI
// (`promptshelf search DIR QUERY`, which parses the folder itself), the read API
// (`promptshelf sync` into a database, then `promptshelf serve` and `GET /v1/search`) and the
// npm package (`Shelf.fromFiles` over the same files, parsed in WebAssembly). Three separate
// builds of the index, one query language, one default for the last word's prefix.
//
// The library: the real persona corpus (`../shared/corpus/personas-awesome`, or
// $PROMPTSHELF_CORPUS) plus the example library's prompts, so type and field filters have
// both kinds to tell apart. Skips loudly without the corpus. Needs pkg/ (scripts/build-pkg)
// and the debug binary (cargo build -p promptshelf-watcher) or PROMPTSHELF_BIN.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { access, cp, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { loadPkg, readLibrary, root } from "./lib/pkg.mjs";

const run = promisify(execFile);
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const LIMIT = 50;

/** Queries of every kind: a bare word stem (the CLI used to find nothing for it), words,
 * phrases, negation, OR and parentheses, filters, typos, a trailing space (no prefix). */
const QUERIES = [
  "recrui",
  "recruiter",
  "recrui ",
  "develop",
  "javascript console",
  "javascrpt",
  "recruter",
  "teacher engl",
  '"act as"',
  '"english translator"',
  "teacher -english",
  "-english teacher",
  "(poet OR writer) -story",
  "poet OR rapper",
  "type:persona travel",
  "type:prompt_template",
  "type:prompt_template support",
  "model.api:chat",
  "tag:support",
  "name:recruiter",
  "é",
  "zzzzqqqq",
];

/** `$PROMPTSHELF_CORPUS`, else the nearest `shared/corpus` above the repo (as tests/src/lib.rs). */
async function corpusDir() {
  if (process.env.PROMPTSHELF_CORPUS) return process.env.PROMPTSHELF_CORPUS;
  for (let d = dirname(root); ; d = dirname(d)) {
    const c = join(d, "shared", "corpus");
    if (await stat(c).then((s) => s.isDirectory(), () => false)) return c;
    if (dirname(d) === d) return null;
  }
}

let dir, server, shelf;

before(async () => {
  const corpus = await corpusDir();
  if (!corpus) return;
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  dir = await mkdtemp(join(tmpdir(), "promptshelf-same-hits-"));
  const lib = join(dir, "library");
  await cp(join(corpus, "personas-awesome", "personas"), join(lib, "personas"), { recursive: true });
  await cp(join(root, "examples", "library", "prompts"), join(lib, "prompts"), { recursive: true });
  const db = join(dir, "shelf.db");
  await run(bin, ["sync", lib, "--db", db, "--no-progress"], { env: { ...process.env, NO_COLOR: "1" } });
  server = await serve(db);
  const ps = await loadPkg();
  shelf = ps.Shelf.fromFiles(await readLibrary(lib));
});

after(async () => {
  if (server) {
    server.child.kill("SIGTERM");
    await new Promise((r) => (server.child.exitCode !== null ? r() : server.child.on("exit", r)));
  }
  shelf?.free();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `promptshelf serve --db DB` on a free loopback port, once it answers. */
async function serve(db) {
  const child = spawn(bin, ["serve", "--db", db, "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1", RUST_LOG: "info" },
  });
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const end = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error("promptshelf serve exited:\n" + log);
    const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\//);
    if (m) return { base: `http://${m[1]}`, child };
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new Error("promptshelf serve not ready within 30 s:\n" + log);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Ranked ids and the total from each host (`--`: a query may start with `-`). */
async function cli(q) {
  const { stdout } = await run(bin, ["search", "--format", "json", "--limit", String(LIMIT), "--", join(dir, "library"), q], {
    env: { ...process.env, NO_COLOR: "1" },
    maxBuffer: 64 << 20,
  });
  const r = JSON.parse(stdout);
  return { total: r.total, ids: r.hits.map((h) => h.id) };
}

async function api(q) {
  const res = await fetch(`${server.base}/v1/search?limit=${LIMIT}&q=${encodeURIComponent(q)}`);
  assert.equal(res.status, 200, `${q}: /v1/search answered ${res.status}`);
  const r = await res.json();
  return { total: r.total, ids: r.hits.map((h) => h.id) };
}

function npm(q) {
  const r = shelf.search(q, { limit: LIMIT });
  return { total: r.total, ids: r.hits.map((h) => h.id) };
}

test("CLI, read API and npm package give the same ranked hits for the same query", { timeout: 300_000 }, async (t) => {
  if (!dir) {
    console.log("\n!!! SKIPPED: corpus not found (expected <repo>/../shared/corpus or $PROMPTSHELF_CORPUS) !!!\n");
    t.skip("no corpus");
    return;
  }
  let nonEmpty = 0;
  for (const q of QUERIES) {
    await t.test(JSON.stringify(q), async () => {
      const [c, a] = await Promise.all([cli(q), api(q)]);
      const n = npm(q);
      assert.deepEqual(c, a, `${JSON.stringify(q)}: CLI vs API`);
      assert.deepEqual(n, a, `${JSON.stringify(q)}: npm package vs API`);
      if (a.total > 0) nonEmpty++;
    });
  }
  // The comparison means something only if most queries find something.
  assert.ok(nonEmpty >= QUERIES.length - 3, `only ${nonEmpty} of ${QUERIES.length} queries had hits`);
  // The case issue 13 found: a word stem typed at a terminal finds what the dashboard finds.
  assert.ok((await cli("recrui")).total > 0, "`promptshelf search DIR recrui` finds the recruiter personas");
});
