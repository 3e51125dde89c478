// promptshelf/client: a small read-API client for apps (plain JavaScript, no WebAssembly).
// Works the same against the local server (`promptshelf watch`/`serve`) and the edge worker,
// in Node 20, browsers, bundlers and Cloudflare Workers: it only needs `fetch`.
// Options and behaviour: docs/client.md.

/** An answer the API refused (4xx/5xx, with its JSON `code`), or no answer at all (`network`, `timeout`). */
export class PromptshelfError extends Error {
  constructor(message, status, code, body) {
    super(message);
    this.name = "PromptshelfError";
    this.status = status; // HTTP status; 0 when the API could not be reached
    this.code = code; // the API's `error.code`, or `network` / `timeout` / `http_<status>`
    this.body = body; // the API's `error` object (e.g. `line`/`column` of a render error)
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

/** `?a=1&tag=x&tag=y` from an object (arrays repeat the key; `undefined`/`null` are left out). */
function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v == null) continue;
    for (const x of Array.isArray(v) ? v : [v]) p.append(k, String(x));
  }
  const s = p.toString();
  return s ? "?" + s : "";
}

/** Is this failure worth a retry or a fallback (the API is down or slow), rather than an answer? */
const unavailable = (e) => e instanceof PromptshelfError && (e.status === 0 || e.status >= 500);

export function createClient(options = {}) {
  const base = String(options.baseUrl || "").replace(/\/+$/, "");
  if (!base) throw new TypeError("createClient: baseUrl is required");
  const doFetch = options.fetch || ((u, i) => fetch(u, i));
  const ttl = options.ttl ?? 60_000;
  const timeout = options.timeout ?? 10_000;
  const retries = options.retries ?? 2;
  const retryDelay = options.retryDelay ?? 200;
  const maxEntries = options.maxEntries ?? 500;
  const fallback = options.fallback || {};
  const cache = new Map(); // url -> { value, etag, at }
  const inflight = new Map(); // url -> Promise (one request per URL at a time)

  /** One HTTP exchange with a time limit; retried with jittered backoff on network errors and 5xx. */
  async function send(url, init = {}) {
    for (let attempt = 0; ; attempt++) {
      let res, err;
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), timeout);
      try {
        res = await doFetch(url, { ...init, signal: ctl.signal });
        if (res.status >= 500) err = await toError(res);
      } catch (e) {
        err = ctl.signal.aborted
          ? new PromptshelfError(`no answer from ${url} within ${timeout} ms`, 0, "timeout")
          : new PromptshelfError(`cannot reach ${url}: ${e && e.message}`, 0, "network");
      } finally {
        clearTimeout(timer);
      }
      if (!err) return res;
      if (attempt >= retries) throw err;
      // Full jitter: a random wait up to retryDelay * 2^attempt, so clients do not retry in step.
      await sleep(Math.random() * retryDelay * 2 ** attempt);
    }
  }

  async function toError(res) {
    let body;
    try {
      body = (await res.json()).error;
    } catch {}
    const code = (body && body.code) || `http_${res.status}`;
    return new PromptshelfError((body && body.message) || `HTTP ${res.status}`, res.status, code, body);
  }

  const read = (res, kind) => (kind === "bytes" ? res.arrayBuffer().then((b) => new Uint8Array(b)) : res.json());

  /** Fetches `url` (conditionally when `entry` is known) into the cache; shared by concurrent callers. */
  function load(url, kind, entry) {
    let p = inflight.get(url);
    if (p) return p;
    p = (async () => {
      const headers = entry && entry.etag ? { "If-None-Match": entry.etag } : {};
      const res = await send(url, { headers });
      if (res.status === 304 && entry) {
        await res.arrayBuffer().catch(() => {}); // read to the end: an unread response is reported aborted
        entry.at = Date.now();
        return entry.value;
      }
      if (!res.ok) throw await toError(res);
      const value = await read(res, kind);
      // Not if a change event superseded this request meanwhile (see subscribe).
      if (inflight.get(url) === p) {
        cache.delete(url);
        cache.set(url, { value, etag: res.headers.get("etag"), at: Date.now() });
        if (cache.size > maxEntries) cache.delete(cache.keys().next().value);
      }
      return value;
    })();
    inflight.set(url, p);
    const done = () => inflight.get(url) === p && inflight.delete(url);
    p.then(done, done);
    return p;
  }

  /** Fresh: from the cache. Stale: from the cache now, revalidated in the background. None: fetched. */
  async function get(path, kind, useFallback) {
    const url = base + path;
    const entry = cache.get(url);
    if (entry) {
      if (Date.now() - entry.at >= ttl) load(url, kind, entry).catch(() => {});
      return entry.value;
    }
    try {
      return await load(url, kind);
    } catch (e) {
      if (useFallback && unavailable(e)) {
        const v = await useFallback();
        if (v !== undefined) return v;
      }
      throw e;
    }
  }

  // Fallback: plain objects first, then a Shelf over the bundled index snapshot (loaded once, lazily).
  let shelfP;
  function shelf() {
    if (!fallback.index && !fallback.shelf) return Promise.resolve(undefined);
    return (shelfP ||= (async () => {
      if (fallback.shelf) return fallback.shelf();
      const bytes = await (typeof fallback.index === "function" ? fallback.index() : fallback.index);
      const mod = await import("../promptshelf.js");
      // Not a literal `new URL("…", import.meta.url)`: bundlers would emit the .wasm for every
      // app that imports the client; the package's own module resolves it when loaded.
      const name = "promptshelf_bg.wasm";
      const wasm = new URL("../" + name, import.meta.url);
      let init;
      if (wasm.protocol === "file:") {
        // Node: fetch() cannot read file: URLs; read the module's bytes instead.
        const fs = "node:fs/promises";
        init = { module_or_path: await (await import(/* @vite-ignore */ fs)).readFile(wasm) };
      }
      await mod.default(init);
      return mod.Shelf.load(bytes);
    })());
  }
  function docs() {
    const d = fallback.documents;
    return !d ? undefined : Array.isArray(d) ? d : Object.entries(d).map(([id, doc]) => ({ id, ...doc }));
  }
  const mark = (v) => v && { ...v, isFallback: true };

  return {
    get(id, opts = {}) {
      const path = `/v1/documents/${enc(id)}${qs({ version: opts.version, label: opts.label })}`;
      return get(path, "json", async () => {
        const plain = (docs() || []).find((d) => d.id === id);
        if (plain) return mark(plain);
        const s = await shelf();
        return s && s.has(id) ? mark(s.get(id)) : undefined;
      });
    },

    list(query = {}) {
      return get(`/v1/documents${qs(query)}`, "json", async () => {
        let all = docs();
        if (!all) {
          const s = await shelf();
          all = s && s.ids().map((id) => s.get(id));
        }
        if (!all) return undefined;
        const tags = [].concat(query.tag || []).map((t) => String(t).toLowerCase());
        const data = all.filter(
          (d) =>
            (!query.type || d.type === query.type) &&
            tags.every((t) => (d.tags || []).some((x) => String(x).toLowerCase() === t)),
        );
        const offset = +query.offset || 0;
        const limit = +query.limit || 50;
        return { data: data.slice(offset, offset + limit), total: data.length, limit, offset, next_cursor: null, isFallback: true };
      });
    },

    search(q, opts = {}) {
      return get(`/v1/search${qs({ ...opts, q })}`, "json", async () => {
        const s = await shelf();
        return s && mark(s.search(q, { limit: opts.limit, offset: opts.offset }));
      });
    },

    /** Server-side render (`POST /v1/prompts/{id}/render`); never cached. */
    async render(id, inputs = {}, opts = {}) {
      const res = await send(`${base}/v1/prompts/${enc(id)}/render${qs({ label: opts.label })}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ inputs }),
      });
      if (!res.ok) throw await toError(res);
      return res.json();
    },

    /** The serialized search index (`Shelf.load(bytes)` in the `promptshelf` package). */
    index() {
      return get("/v1/index", "bytes", async () => {
        const b = await (typeof fallback.index === "function" ? fallback.index() : fallback.index);
        return b && Object.assign(new Uint8Array(b), { isFallback: true });
      });
    },

    /**
     * Follows `GET /v1/events` (local server): `onChange({type, generation, upserted, removed,
     * errors_added, errors_cleared})` per committed batch. Cached answers a change can affect
     * are dropped first, so calls made from `onChange` see the new data. EventSource in
     * browsers; elsewhere (Node, workers) SSE read from a fetch body, resuming with
     * Last-Event-ID after a drop.
     */
    subscribe(onChange, opts = {}) {
      const url = base + "/v1/events";
      const deliver = (type, data) => {
        if (type !== "sync" && type !== "reset") return;
        const ev = JSON.parse(data);
        const ids = new Set([...(ev.upserted || []), ...(ev.removed || [])]);
        // Requests in flight for those URLs may predate the change: later calls start anew.
        for (const map of [cache, inflight]) {
          for (const key of [...map.keys()]) {
            const m = key.slice(base.length).match(/^\/v1\/(?:documents|personas|prompts)\/([^/?]+)(?:\?|$)/);
            if (type === "reset" || !m || ids.has(decodeURIComponent(m[1]))) map.delete(key);
          }
        }
        onChange(ev);
      };
      if (typeof EventSource === "function" && !options.fetch) {
        const es = new EventSource(url);
        for (const t of ["sync", "reset"]) es.addEventListener(t, (e) => deliver(t, e.data));
        if (opts.onError) es.onerror = opts.onError;
        return { close: () => es.close() };
      }
      let closed = false;
      let ctl;
      let lastId;
      let retry = 1000;
      (async () => {
        while (!closed) {
          try {
            ctl = new AbortController();
            const headers = { Accept: "text/event-stream" };
            if (lastId) headers["Last-Event-ID"] = lastId;
            const res = await doFetch(url, { headers, signal: ctl.signal });
            if (!res.ok) throw await toError(res);
            const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
            let buf = "";
            let type = "";
            let data = [];
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buf += value;
              let nl;
              while ((nl = buf.indexOf("\n")) >= 0) {
                const line = buf.slice(0, nl).replace(/\r$/, "");
                buf = buf.slice(nl + 1);
                if (!line) {
                  if (data.length) deliver(type || "message", data.join("\n"));
                  type = "";
                  data = [];
                  continue;
                }
                const c = line.indexOf(":");
                if (c === 0) continue; // a comment: heartbeat
                const field = c < 0 ? line : line.slice(0, c);
                const v = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
                if (field === "event") type = v;
                else if (field === "data") data.push(v);
                else if (field === "id") lastId = v;
                else if (field === "retry" && +v >= 0) retry = +v;
              }
            }
          } catch (e) {
            if (closed) return;
            if (opts.onError) opts.onError(e);
          }
          if (!closed) await sleep(retry);
        }
      })();
      return {
        close() {
          closed = true;
          if (ctl) ctl.abort();
        },
      };
    },

    /** Forgets cached answers (all, or those whose URL contains `match`). */
    clear(match) {
      for (const url of [...cache.keys()]) if (!match || url.includes(match)) cache.delete(url);
    },
  };
}

/**
 * Keeps a `Shelf` (of the `promptshelf` package) equal to the local server's library:
 * on each change event the changed documents are fetched and patched into the shelf in
 * place (`upsertDocument` / `remove`); a `reset` reloads the whole index (`replaceWith`).
 * `shelf.follow(baseUrl, options)` calls this. Options: those of `createClient`, plus
 * `onChange(event)` after the shelf is patched and `onError(error)`.
 */
export function follow(shelf, baseUrl, options = {}) {
  const c = createClient({ ...options, baseUrl, ttl: 0 });
  let queue = Promise.resolve();
  return c.subscribe(
    (ev) => {
      queue = queue
        .then(async () => {
          if (ev.type === "reset") {
            shelf.replaceWith(await c.index());
          } else {
            for (const id of ev.removed) shelf.remove(id);
            const docs = await Promise.all(
              ev.upserted.map((id) => c.get(id).catch((e) => (e.status === 404 ? null : Promise.reject(e)))),
            );
            ev.upserted.forEach((id, i) => (docs[i] ? shelf.upsertDocument(docs[i]) : shelf.remove(id)));
          }
          if (options.onChange) options.onChange(ev);
        })
        .catch((e) => options.onError && options.onError(e));
    },
    { onError: options.onError },
  );
}
