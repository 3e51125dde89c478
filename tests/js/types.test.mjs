// `promptshelf types` (#16): the generated .d.ts types `renderById` and the read-API client's `render` from the built npm package,
// checked by the real TypeScript compiler (`tsc --noEmit`, npm `typescript`): a small app
// compiles with correct inputs and fails, with TypeScript's own message, with a missing or
// misspelled input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, mkdir, writeFile, readFile, rm, symlink, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, pkgDir } from "./lib/pkg.mjs";

const run = promisify(execFile);
const bin = process.env.PROMPTSHELF_BIN || join(root, "target/debug/promptshelf");
const tsc = join(root, "node_modules/typescript/bin/tsc");

const PROMPT = `---
name: Reply
model:
  id: gpt-4o
inputs:
  - name: question
    kind: string
    required: true
  - name: tone
    kind: string
    enumValues: [calm, formal]
    default: calm
  - name: tags
    kind: array
    items:
      kind: string
outputs:
  - name: answer
    kind: string
    required: true
---
user:
{{question}} ({{tone}})
`;

async function app(dir, body) {
  await writeFile(join(dir, "app.ts"), `import { renderById } from "promptshelf/render";\nimport { createClient } from "promptshelf/client";\nimport type { PromptOutputs } from "./prompts";\ndeclare const shelf: { get(id: string): unknown };\nconst client = createClient({ baseUrl: "http://127.0.0.1:7410" });\n${body}\n`);
  const out = await run(process.execPath, [tsc, "--noEmit", "-p", dir]).catch((e) => e);
  return { ok: !out.code, text: `${out.stdout ?? ""}${out.stderr ?? ""}` };
}

test("generated types reject a missing or misspelled input at compile time", { timeout: 120_000 }, async () => {
  await access(bin).catch(() => assert.fail(`no promptshelf binary at ${bin}; run cargo build -p promptshelf-watcher`));
  await access(tsc).catch(() => assert.fail("npm typescript missing: run scripts/setup (npm ci)"));
  const dir = await mkdtemp(join(tmpdir(), "promptshelf-types-"));
  try {
    await mkdir(join(dir, "lib/prompts/support"), { recursive: true });
    await writeFile(join(dir, "lib/prompts/support/reply.prompty"), PROMPT);
    await run(bin, ["types", join(dir, "lib"), "--out", join(dir, "prompts.d.ts")]);
    const dts = await readFile(join(dir, "prompts.d.ts"), "utf8");
    assert.match(dts, /"prompts\/support\/reply": \{/);
    await mkdir(join(dir, "node_modules"), { recursive: true });
    await symlink(pkgDir, join(dir, "node_modules/promptshelf"), "dir");
    await writeFile(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", skipLibCheck: false, types: [] }, include: ["app.ts", "prompts.d.ts"] }),
    );

    const good = await app(dir, `renderById(shelf, "prompts/support/reply", { question: "Where is my order?", tone: "formal", tags: ["a"] });
renderById(shelf, "prompts/support/reply", { question: "q" }, { strict: true });
renderById(shelf, "some/other/id", { anything: 1 });
const out: PromptOutputs<"prompts/support/reply"> = { answer: "x" };
client.render("prompts/support/reply", { question: "q" }).then((r) => r.messages);
client.render("some/other/id", { anything: 1 });`);
    assert.ok(good.ok, `correct inputs should compile:\n${good.text}`);

    const misspelled = await app(dir, `renderById(shelf, "prompts/support/reply", { questoin: "q" });`);
    assert.ok(!misspelled.ok, "a misspelled input must not compile");
    assert.match(misspelled.text, /error TS2561: Object literal may only specify known properties, but 'questoin' does not exist in type .*Did you mean to write 'question'\?/);

    const missing = await app(dir, `renderById(shelf, "prompts/support/reply", { tone: "calm" });`);
    assert.ok(!missing.ok, "a missing required input must not compile");
    assert.match(missing.text, /error TS2345: .*Property 'question' is missing/s);

    const clientMisspelled = await app(dir, `client.render("prompts/support/reply", { questoin: "q" });`);
    assert.match(clientMisspelled.text, /error TS2561: Object literal may only specify known properties, but 'questoin' does not exist in type .*Did you mean to write 'question'\?/);
    const clientMissing = await app(dir, `client.render("prompts/support/reply");`);
    assert.match(clientMissing.text, /error TS2554: Expected 2-3 arguments, but got 1/);

    const wrongEnum = await app(dir, `renderById(shelf, "prompts/support/reply", { question: "q", tone: "rude" });`);
    assert.match(wrongEnum.text, /error TS2322: Type '"rude"' is not assignable to type '"calm" \| "formal"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
