// Builds the example library's search index with the npm package itself (the same engine
// the page runs), so the page only has to load bytes. Run: `node examples/browser/build-index.mjs
// [LIBRARY_DIR] [OUT_FILE]` (defaults: examples/library → examples/browser/index.bin), after
// `scripts/build-pkg`. The read API's `GET /v1/index` serves the same format.
import { readFile, readdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join, relative, sep } from "node:path";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..");

/** Every file under `dir` as `{path, text}` with `/`-separated relative paths. */
export async function readLibrary(dir) {
  const files = [];
  async function walk(d) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push({ path: relative(dir, p).split(sep).join("/"), text: await readFile(p, "utf8") });
    }
  }
  await walk(dir);
  return files;
}

/** The index bytes for a library folder, and the files that did not parse. */
export async function buildIndex(libraryDir = join(root, "examples", "library"), pkgDir = join(root, "pkg")) {
  const ps = await import(join(pkgDir, "promptshelf.js"));
  await ps.default({ module_or_path: await readFile(join(pkgDir, "promptshelf_bg.wasm")) });
  // fromFiles parses with the parse module (`promptshelf/parse`), its own .wasm.
  const pp = await import(join(pkgDir, "parse", "promptshelf_parse.js"));
  await pp.default({ module_or_path: await readFile(join(pkgDir, "parse", "promptshelf_parse_bg.wasm")) });
  const files = (await readLibrary(libraryDir)).filter((f) => /\.(json|prompty)$/i.test(f.path));
  const shelf = ps.Shelf.fromFiles(files);
  try {
    return { bytes: shelf.toBytes(), size: shelf.size, errors: shelf.errors };
  } finally {
    shelf.free();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lib = process.argv[2] ?? join(root, "examples", "library");
  const out = process.argv[3] ?? join(here, "index.bin");
  const { bytes, size, errors } = await buildIndex(lib);
  for (const e of errors) console.error(`${e.path}:${e.line ?? "?"}:${e.column ?? "?"}: ${e.message}`);
  await writeFile(out, bytes);
  console.log(`${out}: ${size} documents, ${bytes.length} bytes`);
}
