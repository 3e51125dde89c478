// The example picker: load the index bytes once, then search on every keystroke. Everything
// runs in the page; there is no server round-trip per query. "Preview messages" on a prompt
// renders it with its sample inputs through `promptshelf/render`, a second module the page
// imports only then (search alone never downloads it).
import init, { Shelf, setLogLevel, version } from "./pkg/promptshelf.js";

const $ = (id) => document.getElementById(id);
const input = $("q");
const status = $("status");
const list = $("results");
const detail = $("detail");
const tagBox = $("tags");
let type = "";
let selected = 0;
let hits = [];

/** Snippet text with <mark>s built as DOM nodes (never innerHTML with document text). */
function highlighted(snippet) {
  const frag = document.createDocumentFragment();
  let at = 0;
  for (const [s, e] of snippet.highlights) {
    frag.append(snippet.text.slice(at, s));
    const mark = document.createElement("mark");
    mark.textContent = snippet.text.slice(s, e);
    frag.append(mark);
    at = e;
  }
  frag.append(snippet.text.slice(at));
  return frag;
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

let renderer;
/**
 * The render module, imported and initialised on first use, with the parse module
 * (`render(path, text)` parses the file with it; search alone needs neither).
 */
function loadRenderer() {
  renderer ??= Promise.all([import("./pkg/render/promptshelf_render.js"), import("./pkg/parse/promptshelf_parse.js")]).then(async ([m, p]) => {
    await Promise.all([m.default(), p.default()]);
    return m;
  });
  return renderer;
}

/**
 * Renders a prompt with its sample inputs into `box`. The index holds no templates, so the
 * file comes from the server (with the read API: `renderDocument` of `GET /v1/prompts/{id}`).
 */
async function preview(doc, box) {
  box.replaceChildren(el("p", { className: "meta" }, "Rendering…"));
  const [{ render }, text] = await Promise.all([loadRenderer(), fetch(`library/${doc.path}`).then((r) => r.text())]);
  let out;
  try {
    out = render(doc.path, text).map((m) =>
      el("div", { className: "message" }, el("div", { className: "role" }, m.role), el("pre", {}, m.content)),
    );
  } catch (e) {
    if (e.name !== "RenderError") throw e;
    out = [el("p", { className: "render-error" }, `${e.line ?? "?"}:${e.column ?? "?"}: ${e.reason} (${e.code})`)];
  }
  box.replaceChildren(...out);
  box.dataset.done = "true";
}

function showDetail(shelf) {
  detail.replaceChildren();
  const hit = hits[selected];
  if (!hit) return;
  const doc = shelf.get(hit.id);
  detail.append(
    el("h2", {}, doc.name),
    el("p", { className: "meta" }, `${doc.type === "persona" ? "Persona" : "Prompt template"} · ${doc.path}`),
    el("p", {}, doc.description ?? ""),
    el("p", { className: "tags" }, ...doc.tags.map((t) => el("span", { className: "tag" }, t))),
  );
  if (doc.type === "prompt_template") {
    const box = el("div", { id: "messages" });
    const button = el("button", { id: "preview", className: "preview" }, "Preview messages");
    button.addEventListener("click", () => {
      button.disabled = true;
      preview(doc, box).catch((e) => {
        box.replaceChildren(el("p", { className: "render-error" }, `Error: ${e.message}`));
        console.error(e);
      });
    });
    detail.append(button, box);
  }
}

function render(shelf, results, ms) {
  hits = results.hits;
  selected = Math.min(selected, Math.max(hits.length - 1, 0));
  list.replaceChildren(
    ...hits.map((h, i) => {
      const li = el(
        "li",
        { role: "option", className: "hit", id: `hit-${i}` },
        el("div", { className: "title" }, el("span", { className: `badge ${h.type}` }, h.type === "persona" ? "persona" : "prompt"), " ", h.name),
        el("div", { className: "path" }, h.path),
      );
      if (h.snippet) li.append(el("div", { className: "snippet" }, highlighted(h.snippet)));
      li.setAttribute("aria-selected", String(i === selected));
      li.dataset.id = h.id;
      li.addEventListener("mouseenter", () => {
        selected = i;
        mark(shelf);
      });
      return li;
    }),
  );
  const n = results.total;
  status.textContent = `${n} result${n === 1 ? "" : "s"} · ${ms.toFixed(2)} ms`;
  tagBox.replaceChildren(
    ...results.facets.tags.slice(0, 12).map((t) =>
      el("button", { className: "tag", onclick: () => addFilter(`tag:"${t.value}"`) }, `${t.value} (${t.count})`),
    ),
  );
  showDetail(shelf);
}

function mark(shelf) {
  for (const li of list.children) li.setAttribute("aria-selected", String(li.id === `hit-${selected}`));
  list.children[selected]?.scrollIntoView({ block: "nearest" });
  showDetail(shelf);
}

function addFilter(f) {
  if (!input.value.includes(f)) input.value = `${input.value.trim()} ${f} `.trimStart();
  input.dispatchEvent(new Event("input"));
  input.focus();
}

async function main() {
  const params = new URLSearchParams(location.search);
  await init();
  if (params.get("log")) setLogLevel(params.get("log"));
  const t0 = performance.now();
  const bytes = new Uint8Array(await (await fetch("index.bin")).arrayBuffer());
  const shelf = Shelf.load(bytes);
  const loadMs = performance.now() - t0;

  const run = () => {
    const q = (type ? `type:${type} ` : "") + input.value;
    const t = performance.now();
    try {
      const results = shelf.search(q, { limit: 20 });
      render(shelf, results, performance.now() - t);
      input.removeAttribute("aria-invalid");
    } catch (e) {
      if (e.name !== "QueryError") throw e;
      // Half-typed queries (an open quote, a dangling `tag:`) are normal while typing.
      input.setAttribute("aria-invalid", "true");
      status.textContent = e.reason;
    }
  };
  input.addEventListener("input", () => {
    selected = 0;
    run();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      selected = Math.max(0, Math.min(hits.length - 1, selected + (e.key === "ArrowDown" ? 1 : -1)));
      mark(shelf);
    } else if (e.key === "Enter" && hits[selected]) {
      document.dispatchEvent(new CustomEvent("promptshelf:pick", { detail: hits[selected] }));
      status.textContent = `Picked ${hits[selected].name}`;
    }
  });
  for (const b of $("types").querySelectorAll("button")) {
    b.addEventListener("click", () => {
      type = b.dataset.type;
      for (const o of $("types").querySelectorAll("button")) o.setAttribute("aria-pressed", String(o === b));
      run();
      input.focus();
    });
  }
  input.disabled = false;
  input.focus();
  run();
  status.textContent += ` · index ${shelf.size} documents, ${(bytes.length / 1024).toFixed(1)} KB, loaded in ${loadMs.toFixed(1)} ms · promptshelf ${version()}`;
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  status.textContent = `Error: ${e.message}`;
  console.error(e);
});
