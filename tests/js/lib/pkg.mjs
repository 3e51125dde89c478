// Shared by the tests over the built npm package (pkg/, from scripts/build-pkg): imports it
// the way a Node ESM user does (`--target web` output, initialised with the .wasm bytes, since
// Node's fetch does not read file: URLs), and reads the example library's files.
import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join, relative, sep } from "node:path";

export const root = fileURLToPath(new URL("../../../", import.meta.url));
export const pkgDir = join(root, "pkg");
export const libraryDir = join(root, "examples", "library");

let loaded;
/**
 * The package's search module, initialised once per test file — with the parse module
 * (`promptshelf/parse`) initialised too, since `Shelf.fromFiles` and `upsert` parse with it.
 */
export async function loadPkg() {
  if (!loaded) {
    loaded = (async () => {
      const mod = await import(join(pkgDir, "promptshelf.js"));
      await mod.default({ module_or_path: await readFile(join(pkgDir, "promptshelf_bg.wasm")) });
      await loadParse();
      return mod;
    })();
  }
  return loaded;
}

let parseLoaded;
/** The parse module (`promptshelf/parse`: `parse(path, text)`), initialised once per test file. */
export async function loadParse() {
  if (!parseLoaded) {
    parseLoaded = (async () => {
      const mod = await import(join(pkgDir, "parse", "promptshelf_parse.js"));
      await mod.default({ module_or_path: await readFile(join(pkgDir, "parse", "promptshelf_parse_bg.wasm")) });
      return mod;
    })();
  }
  return parseLoaded;
}

/** Every file under `dir` as `{path, text}`, paths relative and `/`-separated, sorted.
 * Hidden folders are skipped as the library walk skips them (core::library): the README's
 * main command keeps its database in `examples/library/.promptshelf/`. */
export async function readLibrary(dir = libraryDir) {
  const out = [];
  async function walk(d) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) { if (!e.name.startsWith(".")) await walk(p); }
      else if (e.isFile()) out.push({ path: relative(dir, p).split(sep).join("/"), text: await readFile(p, "utf8") });
    }
  }
  await walk(dir);
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

/** Calls `fn`, returns what it threw (fails the test if it did not throw). */
export function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception, got none");
}
