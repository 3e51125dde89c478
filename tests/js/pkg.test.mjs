// The npm package as built by scripts/build-pkg (pkg/), imported the way a Node ESM user does:
// `--target web` output, initialised with the .wasm bytes (Node has no fetch of file: URLs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const pkgDir = fileURLToPath(new URL("../../pkg/", import.meta.url));

test("pkg/ imports in Node and version() matches package.json", async () => {
  const meta = JSON.parse(await readFile(pkgDir + "package.json", "utf8"));
  assert.equal(meta.name, "promptshelf");
  const mod = await import(pkgDir + meta.main);
  const bytes = await readFile(pkgDir + "promptshelf_bg.wasm");
  await mod.default({ module_or_path: bytes });
  assert.equal(mod.version(), meta.version);
});
