// The JS half of `Shelf.search` (the Rust half is wasm/src/convert.rs, which imports these).
//
// Results cross the boundary in a compact form instead of as JSON text: numbers in a
// Uint32Array view of wasm memory, scores in a Float64Array view, and every string
// concatenated into one `text` (decoded once), each string's length in UTF-16 code units
// in `nums`. Building the objects here with literals is ~4x faster than serializing
// JSON in wasm and `JSON.parse` on this side, and gives the same objects (same keys in
// the same order, same values): tests/js/results.test.mjs checks that against the native
// core's JSON.

/**
 * `nums`: total, offset, limit, hit count; per hit: lengths of id, type, name, path, the
 * number of matched terms and their lengths, then 1 and the lengths of the snippet's field
 * and text, the number of highlights and their [start, end) pairs — or 0 without a
 * snippet; then for each facet (type, tags): its length, and per value its length and count.
 */
export function buildResults(nums, scores, text) {
  let i = 4;
  let at = 0;
  const str = () => text.slice(at, (at += nums[i++]));
  const count = nums[3];
  const hits = [];
  for (let h = 0; h < count; h++) {
    const id = str();
    const type = str();
    const name = str();
    const path = str();
    const score = scores[h];
    const matched = [];
    for (let m = nums[i++]; m > 0; m--) matched.push(str());
    if (nums[i++] === 1) {
      const field = str();
      const snippetText = str();
      const highlights = [];
      for (let n = nums[i++]; n > 0; n--, i += 2) highlights.push([nums[i], nums[i + 1]]);
      hits.push({ id, type, name, path, score, matched, snippet: { field, text: snippetText, highlights } });
    } else {
      hits.push({ id, type, name, path, score, matched });
    }
  }
  const facet = () => {
    const out = [];
    for (let n = nums[i++]; n > 0; n--) {
      const value = str();
      out.push({ value, count: nums[i++] });
    }
    return out;
  };
  const type = facet();
  const tags = facet();
  return { total: nums[0], offset: nums[1], limit: nums[2], hits, facets: { type, tags } };
}

const OPTION_KEYS = ["limit", "offset", "prefix", "snippets", "facets", "maxFacetValues"];
const IS_BOOL = [false, false, true, true, true, false];

/**
 * Reads a plain search-options object into `out` (a view of wasm memory holding the
 * defaults, in OPTION_KEYS order; booleans as 0/1) without a JSON round trip. Returns false
 * for anything it is not sure of — unknown keys, values of the wrong type, objects with a
 * `toJSON` — and then the caller takes the JSON path, which reports the error.
 */
export function readSearchOptions(o, out) {
  if (o === undefined || o === null) return true;
  if (typeof o !== "object" || Array.isArray(o) || typeof o.toJSON === "function") return false;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined) continue; // JSON.stringify leaves it out: the default applies.
    const f = OPTION_KEYS.indexOf(k);
    if (f < 0) return false;
    if (IS_BOOL[f]) {
      if (typeof v !== "boolean") return false;
      out[f] = v ? 1 : 0;
    } else {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) return false;
      out[f] = v;
    }
  }
  return true;
}
