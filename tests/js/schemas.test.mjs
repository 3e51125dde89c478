// `promptshelf/validate`'s `parse(path, text, {schemas})` (issue #16): the library's own JSON
// Schemas checked in the browser's module, with the same messages and line/column as the CLI.
// The fixture watcher/tests/fixtures/schema-violations (schemas with `$ref`s between files,
// files that break them on purpose): every file parsed in Node must throw exactly the error
// `promptshelf check --format json` reports for it, and the good files must parse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("../../", import.meta.url));
const pkgDir = join(root, "pkg");
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const fixture = join(root, "watcher/tests/fixtures/schema-violations");

async function loadModule(name) {
  const mod = await import(join(pkgDir, `${name}/promptshelf_${name}.js`));
  await mod.default({ module_or_path: await readFile(join(pkgDir, `${name}/promptshelf_${name}_bg.wasm`)) });
  return mod;
}
const loadParse = () => loadModule("validate");

const json = async (p) => JSON.parse(await readFile(join(fixture, p), "utf8"));

test("parse() with schemas throws what `check --format json` reports, file by file", async () => {
  const { parse } = await loadParse();
  const cli = await promisify(execFile)(bin, ["check", "--format", "json", fixture]).catch((e) => e);
  assert.equal(cli.code, 1, cli.stderr);
  const expected = JSON.parse(cli.stdout);
  assert.ok(expected.errors.length >= 4, cli.stdout);
  const schemas = {
    personas: await json("schemas/persona.schema.json"),
    prompts: await json("schemas/prompt.schema.json"),
    resources: { "common.json": await json("schemas/common.json") },
  };
  const got = [];
  const parsed = [];
  for (const dir of ["personas", "prompts"]) {
    for (const name of (await readdir(join(fixture, dir))).sort()) {
      const path = `${dir}/${name}`;
      const text = await readFile(join(fixture, path), "utf8");
      try {
        parse(path, text, { schemas });
        parsed.push(path);
      } catch (e) {
        assert.equal(e.name, "ParseError", String(e));
        got.push({ path: e.path, line: e.line, column: e.column, message: e.reason });
      }
      // Without schemas every file of the fixture parses.
      parse(path, text);
    }
  }
  assert.deepEqual(got, expected.errors);
  assert.deepEqual(parsed, expected.documents.map((d) => d.path));
});

test("parse() refuses a schema that does not compile, naming what is missing", async () => {
  const { parse } = await loadParse();
  const schemas = { personas: { properties: { tags: { $ref: "common.json#/$defs/tags" } } } };
  assert.throws(() => parse("personas/a.json", '{"name": "A"}', { schemas }), (e) => {
    assert.equal(e.name, "TypeError");
    assert.match(e.message, /common\.json/);
    return true;
  });
  // null / absent schemas: nothing checked.
  assert.equal(parse("personas/a.json", '{"name": "A", "prompt": "x"}', { schemas: null }).name, "A");
});

test("promptshelf/parse refuses schemas instead of ignoring them, and names promptshelf/validate", async () => {
  const { parse } = await loadModule("parse");
  const schemas = { personas: { required: ["tags"] } };
  assert.throws(() => parse("personas/a.json", '{"name": "A", "prompt": "x"}', { schemas }), (e) => {
    assert.equal(e.name, "TypeError");
    assert.match(e.message, /promptshelf\/validate/);
    return true;
  });
  // Without schemas the same call parses.
  assert.equal(parse("personas/a.json", '{"name": "A", "prompt": "x"}', {}).name, "A");
  // The validate module applies the same schema: the file lacks `tags`.
  const v = await loadModule("validate");
  assert.throws(() => v.parse("personas/a.json", '{"name": "A", "prompt": "x"}', { schemas }), (e) => e.name === "ParseError");
});
