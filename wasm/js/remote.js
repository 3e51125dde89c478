// The network half of `Shelf.open(baseUrl, options)` (the pure half is wasm/src/remote.rs):
// fetch the chunked index's manifest, then, per query, only the files the core names —
// each fetched once even when several queries want it at the same time, kept in memory
// under a byte budget (least recently used first out), the files every query reads
// preloaded as soon as the shelf opens.

const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;
const MAX_ROUNDS = 8;

export function openRemote(baseUrl, options, core) {
  return RemoteShelf.open(baseUrl, options ?? {}, core);
}

export class RemoteShelf {
  static async open(baseUrl, options, core) {
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    let base = String(baseUrl);
    if (!base.endsWith("/")) base += "/";
    try {
      const res = await fetchFn(base + "manifest.json");
      if (!res.ok) throw new Error(`Shelf.open: ${base}manifest.json answered ${res.status}`);
      core.load(new Uint8Array(await res.arrayBuffer()));
    } catch (e) {
      core.free();
      throw e;
    }
    const shelf = new RemoteShelf(base, fetchFn, core, options.cacheBytes ?? DEFAULT_CACHE_BYTES);
    if (options.preload !== false) shelf.preload();
    return shelf;
  }

  constructor(base, fetchFn, core, cacheBytes) {
    this.baseUrl = base;
    this._fetch = fetchFn;
    this._core = core;
    this._budget = cacheBytes;
    /** name → size in bytes; Map order is recency (oldest first). */
    this._cache = new Map();
    this._inflight = new Map();
    this._globals = new Set(core.globals());
    /** Bytes held and files fetched so far (for tests and dashboards). */
    this.stats = { cachedBytes: 0, fetches: 0, fetchedBytes: 0 };
  }

  _file(name) {
    const size = this._cache.get(name);
    if (size !== undefined) {
      this._cache.delete(name);
      this._cache.set(name, size);
      return Promise.resolve();
    }
    let p = this._inflight.get(name);
    if (!p) {
      p = (async () => {
        const res = await this._fetch(this.baseUrl + name);
        if (!res.ok) throw new Error(`promptshelf: ${this.baseUrl}${name} answered ${res.status}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        this._core.put(name, bytes);
        this._cache.set(name, bytes.byteLength);
        this.stats.cachedBytes += bytes.byteLength;
        this.stats.fetches += 1;
        this.stats.fetchedBytes += bytes.byteLength;
      })().finally(() => this._inflight.delete(name));
      this._inflight.set(name, p);
    }
    return p;
  }

  /** Drops least recently used files over the budget, except those in `keep`. */
  _trim(keep) {
    for (const [name, size] of this._cache) {
      if (this.stats.cachedBytes <= this._budget) break;
      if (keep.has(name) || this._globals.has(name)) continue;
      this._cache.delete(name);
      this._core.evict(name);
      this.stats.cachedBytes -= size;
    }
  }

  async _run(step) {
    const used = new Set();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const r = step();
      if (!Array.isArray(r)) {
        this._trim(used);
        return r;
      }
      for (const n of r) used.add(n);
      await Promise.all(r.map((n) => this._file(n)));
    }
    throw new Error("promptshelf: the chunked index did not settle (files changing under it?)");
  }

  /** The same results as `Shelf.search`, fetching only the files this query needs. */
  search(query, options) {
    return this._run(() => this._core.search(query, options));
  }

  /** The document's summary (id, type, name, path, description, tags), or undefined. */
  get(id) {
    return this._run(() => this._core.get(id));
  }

  /**
   * Fetches ahead: the files every query reads (no argument), or what `query` needs
   * (call it as the user types; errors are ignored).
   */
  preload(query) {
    const p = query == null
      ? Promise.all([...this._globals].map((n) => this._file(n)))
      : this.search(query, { limit: 10 });
    return p.then(() => undefined, () => undefined);
  }

  free() {
    this._core.free();
  }
}
