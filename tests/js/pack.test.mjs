// What a user gets: `npm pack` of pkg/ → `npm install ./promptshelf-x.tgz` into a fresh
// temporary project (offline: the package has no dependencies) → import it there and search.
// Also the size limits: the .wasm at most 300 KB gzipped, the tarball under 400 KB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pkgDir } from "./lib/pkg.mjs";

const run = promisify(execFile);
const WASM_GZIP_MAX = 300 * 1024;
const TARBALL_MAX = 400 * 1024;

test(".wasm is at most 300 KB gzipped", async () => {
  const wasm = await readFile(join(pkgDir, "promptshelf_bg.wasm"));
  const gz = gzipSync(wasm, { level: 9 }).length;
  console.log(`promptshelf_bg.wasm: ${wasm.length} bytes, ${gz} gzip`);
  assert.ok(gz <= WASM_GZIP_MAX, `${gz} > ${WASM_GZIP_MAX}`);
});

test("npm pack → install into a fresh project → import and search", { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-pack-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };

  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: pkgDir, env });
  const [info] = JSON.parse(stdout);
  console.log(`${info.filename}: ${info.size} bytes packed, ${info.unpackedSize} unpacked, ${info.entryCount} files`);
  assert.ok(info.size < TARBALL_MAX, `tarball ${info.size} >= ${TARBALL_MAX}`);
  const files = info.files.map((f) => f.path).sort();
  for (const f of ["README.md", "package.json", "promptshelf.d.ts", "promptshelf.js", "promptshelf_bg.wasm"]) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(",")}`);
  }

  const app = join(dir, "app");
  await run("mkdir", ["-p", app]);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run("npm", ["install", "--offline", "--no-package-lock", join(dir, info.filename)], { cwd: app, env });

  await writeFile(
    join(app, "main.js"),
    `import { readFile } from "node:fs/promises";
import init, { Shelf, parse, version } from "promptshelf";
const meta = JSON.parse(await readFile(new URL(import.meta.resolve("promptshelf/package.json")), "utf8"));
await init({ module_or_path: await readFile(new URL(import.meta.resolve("promptshelf/promptshelf_bg.wasm"))) });
const shelf = Shelf.fromFiles([
  { path: "personas/pirate.json", text: JSON.stringify({ id: "pirate", name: "Pirate Captain", tags: ["fun"], system_prompt: "Talk like a pirate." }) },
  { path: "prompts/haiku.prompty", text: "---\\nname: Haiku Writer\\n---\\nuser:\\nWrite a haiku about {{topic}}." },
]);
const bytes = shelf.toBytes();
const loaded = Shelf.load(bytes);
const r = loaded.search("pira");
let err;
try { parse("personas/x.json", "{"); } catch (e) { err = e; }
console.log(JSON.stringify({ version: version(), pkg: meta.version, ids: r.hits.map((h) => h.id), total: loaded.size, err: err?.name, line: err?.line }));
shelf.free(); loaded.free();
`,
  );
  const out = await run("node", ["main.js"], { cwd: app, env });
  const got = JSON.parse(out.stdout.trim().split("\n").pop());
  assert.equal(got.version, got.pkg);
  assert.deepEqual(got.ids, ["pirate"]);
  assert.equal(got.total, 2);
  assert.equal(got.err, "ParseError");
  assert.equal(got.line, 1);

  // TypeScript users get the declarations, including the plain-object shapes.
  const dts = await readFile(join(app, "node_modules", "promptshelf", "promptshelf.d.ts"), "utf8");
  for (const s of ["export class Shelf", "interface SearchResults", "interface SearchOptions", "search(query: string, options?: SearchOptions | null): SearchResults", "static load(bytes: Uint8Array | ArrayBuffer): Shelf", "free(): void"]) {
    assert.ok(dts.includes(s), `promptshelf.d.ts lacks ${JSON.stringify(s)}`);
  }
});
