//! JS values ⇄ Rust values. Documents, options and most results go through JSON text:
//! `JSON.stringify` / `JSON.parse` are native and fast in every engine, and serde_json is
//! linked anyway, so this beats building objects one property at a time across the
//! boundary and adds no code. The two per-keystroke paths are faster still: search results
//! cross in a compact form that js/results.js turns into objects (a 4 KB result cost ~45 µs
//! as JSON text, ~10 µs this way), and plain search-options objects are read there too.
//! Highlight offsets are converted here from UTF-8 bytes (the core's unit) to UTF-16 code
//! units (JS string indices), so `text.slice(start, end)` works in JS.

use crate::errors;
use promptshelf_core::search::{HitRef, SearchOptions, SearchResultsRef};
use promptshelf_core::{ContentHash, DocType, Document, DocumentId};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

pub use crate::json::{stringify, to_js};

/// Search options as JS callers write them. Unknown keys are an error, so a typo such
/// as `{limt: 5}` is reported rather than silently ignored.
#[derive(Debug, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct JsSearchOptions {
    limit: usize,
    offset: usize,
    prefix: bool,
    snippets: bool,
    facets: bool,
    max_facet_values: usize,
}

impl Default for JsSearchOptions {
    fn default() -> Self {
        let d = SearchOptions::default();
        JsSearchOptions {
            limit: d.limit,
            offset: d.offset,
            prefix: d.prefix_last,
            snippets: d.snippets,
            facets: d.facets,
            max_facet_values: d.max_facet_values,
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// The `options` argument of `search`, typed in TypeScript as `SearchOptions` (an
    /// extern type, so wasm-bindgen declares it optional: `options?: SearchOptions | null`).
    #[wasm_bindgen(typescript_type = "SearchOptions")]
    pub type SearchOptionsArg;
}

#[wasm_bindgen(module = "/js/results.js")]
extern "C" {
    /// Builds the results object from [`ResultsEncoder`]'s compact form (js/results.js).
    #[wasm_bindgen(js_name = buildResults)]
    fn build_results(nums: &[u32], scores: &[f64], text: &str) -> JsValue;

    /// Reads a plain options object into `out` (defaults in, in [`JsSearchOptions`]
    /// field order); false when unsure (then the JSON path below decides and reports).
    #[wasm_bindgen(js_name = readSearchOptions)]
    fn read_search_options(o: &JsValue, out: &mut [u32]) -> bool;
}

pub fn search_options(v: &JsValue) -> Result<SearchOptions, JsValue> {
    let d = JsSearchOptions::default();
    let mut fast = [
        to_u32(d.limit),
        to_u32(d.offset),
        u32::from(d.prefix),
        u32::from(d.snippets),
        u32::from(d.facets),
        to_u32(d.max_facet_values),
    ];
    let o: JsSearchOptions = if read_search_options(v, &mut fast) {
        // Per-keystroke searches pass a small plain object: read it without the
        // `JSON.stringify` + serde round trip.
        JsSearchOptions {
            limit: fast[0] as usize,
            offset: fast[1] as usize,
            prefix: fast[2] != 0,
            snippets: fast[3] != 0,
            facets: fast[4] != 0,
            max_facet_values: fast[5] as usize,
        }
    } else {
        match stringify(v, "search options")? {
            None => d,
            Some(s) => serde_json::from_str(&s)
                .map_err(|e| errors::type_error(&format!("search options: {e}")))?,
        }
    };
    Ok(SearchOptions {
        limit: o.limit,
        offset: o.offset,
        prefix_last: o.prefix,
        snippets: o.snippets,
        facets: o.facets,
        max_facet_values: o.max_facet_values,
    })
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A document as JS callers pass it to `Shelf.fromDocuments` / `upsertDocument`: the
/// read API's document JSON, or a hand-made object with only `id`, `type` and `name`.
#[derive(Debug, Deserialize)]
struct DocInput {
    id: String,
    #[serde(rename = "type")]
    doc_type: DocType,
    name: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    content: serde_json::Value,
}

impl DocInput {
    fn into_document(self) -> Document {
        let hash = match self.hash {
            Some(h) => ContentHash(h),
            None => ContentHash::of(self.body.as_bytes()),
        };
        Document {
            id: DocumentId(self.id),
            doc_type: self.doc_type,
            name: self.name,
            path: self.path,
            hash,
            description: self.description,
            tags: self.tags,
            authors: self.authors,
            body: self.body,
            content: self.content,
        }
    }
}

pub fn document(v: &JsValue) -> Result<Document, JsValue> {
    let Some(s) = stringify(v, "document")? else {
        return Err(errors::type_error("document: expected an object"));
    };
    let d: DocInput =
        serde_json::from_str(&s).map_err(|e| errors::type_error(&format!("document: {e}")))?;
    Ok(d.into_document())
}

/// An array of documents. On a bad element the error names its index.
pub fn documents(v: &JsValue) -> Result<Vec<Document>, JsValue> {
    if !js_sys::Array::is_array(v) {
        return Err(errors::type_error("documents: expected an array"));
    }
    let Some(s) = stringify(v, "documents")? else {
        return Err(errors::type_error("documents: expected an array"));
    };
    match serde_json::from_str::<Vec<DocInput>>(&s) {
        Ok(docs) => Ok(docs.into_iter().map(DocInput::into_document).collect()),
        Err(_) => {
            // Slow path, errors only: find which element is wrong.
            let arr = js_sys::Array::from(v);
            for (i, item) in arr.iter().enumerate() {
                if let Err(e) = document(&item) {
                    let msg = e
                        .dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .unwrap_or_default();
                    return Err(errors::type_error(&format!("documents[{i}]: {msg}")));
                }
            }
            Err(errors::type_error("documents: not an array of documents"))
        }
    }
}

/// One `{path, text}` entry of `Shelf.fromFiles`.
#[derive(Debug, Deserialize)]
pub struct FileInput {
    pub path: String,
    pub text: String,
}

pub fn files(v: &JsValue) -> Result<Vec<FileInput>, JsValue> {
    if !js_sys::Array::is_array(v) {
        return Err(errors::type_error(
            "files: expected an array of {path, text}",
        ));
    }
    let s = stringify(v, "files")?.unwrap_or_default();
    serde_json::from_str(&s).map_err(|e| {
        errors::type_error(&format!(
            "files: expected an array of {{path: string, text: string}} ({e})"
        ))
    })
}

/// Rewrites sorted, non-overlapping UTF-8 byte ranges of `text` as UTF-16 ranges, in one
/// pass over the text. Offsets that are not on a char boundary (never produced by the
/// core) are clamped to the next boundary rather than trusted.
pub fn utf16_ranges(text: &str, ranges: &[[usize; 2]]) -> Vec<[usize; 2]> {
    let mut out = Vec::with_capacity(ranges.len());
    let mut byte = 0usize;
    let mut unit = 0usize;
    let mut chars = text.chars();
    let mut advance_to = |target: usize, byte: &mut usize, unit: &mut usize| {
        while *byte < target {
            match chars.next() {
                Some(c) => {
                    *byte += c.len_utf8();
                    *unit += c.len_utf16();
                }
                None => break,
            }
        }
        *unit
    };
    for &[s, e] in ranges {
        let (s, e) = (s.min(e), s.max(e));
        let a = advance_to(s, &mut byte, &mut unit);
        let b = advance_to(e, &mut byte, &mut unit);
        out.push([a, b]);
    }
    out
}

/// Search results in the compact form `buildResults` (js/results.js) reads: numbers,
/// scores, and all strings in one text with their lengths in UTF-16 code units (the unit
/// of `String.prototype.slice`). The order of writes here is the order of reads there.
#[derive(Default)]
pub struct ResultsEncoder {
    pub nums: Vec<u32>,
    pub scores: Vec<f64>,
    pub text: String,
}

impl ResultsEncoder {
    fn num(&mut self, n: usize) {
        self.nums.push(to_u32(n));
    }

    fn str(&mut self, s: &str) {
        let units = if s.is_ascii() {
            s.len()
        } else {
            s.encode_utf16().count()
        };
        self.num(units);
        self.text.push_str(s);
    }

    fn hit(&mut self, h: &HitRef<'_>) {
        self.str(h.id.as_str());
        self.str(h.doc_type.as_str());
        self.str(h.name);
        self.str(h.path);
        self.scores.push(h.score);
        self.num(h.matched.len());
        for m in &h.matched {
            self.str(m);
        }
        match &h.snippet {
            Some(s) => {
                self.nums.push(1);
                self.str(s.field);
                self.str(&s.text);
                self.num(s.highlights.len());
                if s.text.is_ascii() {
                    // Bytes are code units: what `utf16_ranges` gives, without its Vec.
                    let len = s.text.len();
                    for &[a, b] in &s.highlights {
                        self.num(a.min(b).min(len));
                        self.num(a.max(b).min(len));
                    }
                } else {
                    for [a, b] in utf16_ranges(&s.text, &s.highlights) {
                        self.num(a);
                        self.num(b);
                    }
                }
            }
            None => self.nums.push(0),
        }
    }

    fn facet(&mut self, counts: &[(&str, usize)]) {
        self.num(counts.len());
        for &(value, count) in counts {
            self.str(value);
            self.num(count);
        }
    }

    pub fn encode(r: &SearchResultsRef<'_>) -> ResultsEncoder {
        let mut e = ResultsEncoder {
            nums: Vec::with_capacity(64 + 16 * r.hits.len()),
            scores: Vec::with_capacity(r.hits.len()),
            text: String::with_capacity(256 * r.hits.len() + 32 * r.facets.tags.len()),
        };
        for n in [r.total, r.offset, r.limit, r.hits.len()] {
            e.num(n);
        }
        for h in &r.hits {
            e.hit(h);
        }
        e.facet(&r.facets.doc_type);
        e.facet(&r.facets.tags);
        e
    }
}

pub fn results(r: &SearchResultsRef<'_>) -> JsValue {
    let e = ResultsEncoder::encode(r);
    build_results(&e.nums, &e.scores, &e.text)
}

/// The `label` and `version` of `get(id, {label, version})`, read as properties (a
/// serde struct costs the search module kilobytes). Other keys are a `TypeError`, as in
/// search options.
pub fn get_options(v: &JsValue) -> Result<(Option<String>, Option<u32>), JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok((None, None));
    }
    let bad = || {
        errors::type_error(
            "get options: expected {label: string} or {version: number} (a whole number from 1)",
        )
    };
    if !v.is_object() {
        return Err(bad());
    }
    let obj: &js_sys::Object = v.unchecked_ref();
    if js_sys::Object::keys(obj)
        .iter()
        .any(|k| k != "label" && k != "version")
    {
        return Err(bad());
    }
    let get = |k: &str| js_sys::Reflect::get(v, &JsValue::from_str(k)).unwrap_or_default();
    let (l, n) = (get("label"), get("version"));
    let label = match l.as_string() {
        None if !l.is_undefined() => return Err(bad()),
        l => l,
    };
    let version = match n.as_f64() {
        None if n.is_undefined() => None,
        Some(f) if (1.0..=f64::from(u32::MAX)).contains(&f) && f.fract() == 0.0 => Some(f as u32),
        _ => return Err(bad()),
    };
    Ok((label, version))
}

#[cfg(test)]
mod tests {
    use super::utf16_ranges;

    #[test]
    fn utf16_ranges_ascii_is_identity() {
        assert_eq!(utf16_ranges("hello world", &[[6, 11]]), vec![[6, 11]]);
    }

    #[test]
    fn utf16_ranges_count_code_units() {
        // "é" is 2 bytes / 1 unit; "😀" is 4 bytes / 2 units.
        let t = "é😀 café tea";
        let s = t.find("café").unwrap();
        let e = s + "café".len();
        let s2 = t.find("tea").unwrap();
        let got = utf16_ranges(t, &[[s, e], [s2, s2 + 3]]);
        let js: Vec<u16> = t.encode_utf16().collect();
        assert_eq!(
            String::from_utf16(&js[got[0][0]..got[0][1]]).unwrap(),
            "café"
        );
        assert_eq!(
            String::from_utf16(&js[got[1][0]..got[1][1]]).unwrap(),
            "tea"
        );
    }

    #[test]
    fn utf16_ranges_out_of_range_is_clamped() {
        assert_eq!(utf16_ranges("ab", &[[1, 99]]), vec![[1, 2]]);
    }
}
