//! `promptshelf` for JavaScript: wasm-bindgen bindings over promptshelf-core, built by
//! `scripts/build-pkg` (wasm-pack) into `pkg/`, the npm package.
//!
//! The JS API is shaped for JS users, not mirrored from Rust: camelCase options, plain
//! objects out (built as JSON by serde and handed to `JSON.parse`, which is faster than
//! building objects field by field across the boundary; search results, the per-keystroke
//! path, in a compact form that `js/results.js` builds into objects, faster still — see
//! `convert`), `Uint8Array` in, and every
//! failure a thrown JS `Error` with a `name` and fields — never a wasm trap. Nothing here
//! panics on input: core functions return `Result`s and this layer turns them into errors.
//!
//! The crate builds the package's two WebAssembly modules (cargo features; see Cargo.toml):
//! `search` is the package's main module, `promptshelf`; `render` is `promptshelf/render`,
//! a separate module loaded only by pages that render (minijinja would double the main one).
//!
//! Map:
//! - [`shelf`] (search): the `Shelf` class (an index plus, when built from files or
//!   documents, the documents themselves): load/build, search, get, upsert/remove, toBytes.
//! - [`convert`] (search): options, documents, results with UTF-16 highlights.
//! - [`json`]: JS values ⇄ JSON text (both modules).
//! - [`errors`]: the JS `Error` objects (`ParseError`, `QueryError`, `IndexFormatError`,
//!   `RenderError`).
//! - [`log`] (search): `setLogLevel`, tracing to the console through `tracing-wasm`, off by
//!   default.
//! - [`remote`] (search): the pure half of `Shelf.open(baseUrl)` — the chunked index
//!   over fetched files — driven by `js/remote.js`.
//! - [`types`] (search): the TypeScript declarations of the plain-object shapes.
//! - [`render`] (render): `render(path, text, …)`, `renderDocument(doc, …)`,
//!   `renderById(shelf, id, …)`.

#[cfg(feature = "search")]
mod convert;
mod errors;
mod json;
#[cfg(feature = "search")]
mod log;
#[cfg(feature = "search")]
mod remote;
#[cfg(feature = "render")]
mod render;
#[cfg(feature = "search")]
mod shelf;
#[cfg(feature = "search")]
mod types;

#[cfg(feature = "search")]
pub use log::set_log_level;
#[cfg(feature = "search")]
pub use shelf::Shelf;

use wasm_bindgen::prelude::*;

/// The package version (the crate's, which is also the npm package's).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Parses one library file without adding it anywhere: for editors that validate a
/// persona (`*.json`) or Prompty (`*.prompty`) file as the user types. `path` decides
/// the kind by its extension. Returns the document; throws a `ParseError` (with `path`,
/// `line`, `column` — 1-based, `null` when the problem has no position — and `message`).
#[cfg(feature = "search")]
#[wasm_bindgen(unchecked_return_type = "Document")]
pub fn parse(path: &str, text: &str) -> Result<JsValue, JsValue> {
    convert::to_js(&parse_file(path, text)?)
}

/// `parse`, with the document as JSON text instead of an object: the hook
/// `promptshelf/render`'s `render(path, text, …)` calls (the render module carries no
/// parser of its own, so the browser downloads the parsers once). Text, not an object, so
/// that numbers keep their exact form (`1.0` stays a float) on the way to the template.
/// Internal to the package (not in the TypeScript declarations); throws `parse`'s errors.
#[cfg(feature = "search")]
#[wasm_bindgen(js_name = parseJson, skip_typescript)]
pub fn parse_json(path: &str, text: &str) -> Result<String, JsValue> {
    serde_json::to_string(&parse_file(path, text)?).map_err(|e| errors::type_error(&e.to_string()))
}

/// The one parse both exports share, with the default limits, errors already as JS
/// `ParseError`s.
#[cfg(feature = "search")]
fn parse_file(path: &str, text: &str) -> Result<promptshelf_core::Document, JsValue> {
    promptshelf_core::parse_document(
        path,
        text.as_bytes(),
        &promptshelf_core::ParseOptions::default(),
    )
    .map_err(|e| errors::parse_error(&e))
}
