//! `promptshelf` for JavaScript: wasm-bindgen bindings over promptshelf-core, built by
//! `scripts/build-pkg` (wasm-pack) into `pkg/`, the npm package.
//!
//! The JS API is shaped for JS users, not mirrored from Rust: camelCase options, plain
//! objects out (built as JSON by serde and handed to `JSON.parse`, which is faster than
//! building objects field by field across the boundary), `Uint8Array` in, and every
//! failure a thrown JS `Error` with a `name` and fields — never a wasm trap. Nothing here
//! panics on input: core functions return `Result`s and this layer turns them into errors.
//!
//! Map:
//! - [`shelf`]: the `Shelf` class (an index plus, when built from files or documents, the
//!   documents themselves): load/build, search, get, upsert/remove, toBytes.
//! - [`convert`]: JS values ⇄ Rust (options, documents, results with UTF-16 highlights).
//! - [`errors`]: the JS `Error` objects (`ParseError`, `QueryError`, `IndexFormatError`,
//!   `RenderError`).
//! - [`log`]: `setLogLevel`, tracing to the console through `tracing-wasm`, off by default.
//! - [`types`]: the TypeScript declarations of the plain-object shapes.
//! - `render` (cargo feature `render`, off in the default npm build for size): Prompty
//!   rendering, `render()` and `Shelf.render`.

mod convert;
mod errors;
mod log;
#[cfg(feature = "render")]
mod render;
mod shelf;
mod types;

pub use log::set_log_level;
pub use shelf::Shelf;

use promptshelf_core::ParseOptions;
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
#[wasm_bindgen(unchecked_return_type = "Document")]
pub fn parse(path: &str, text: &str) -> Result<JsValue, JsValue> {
    let doc = promptshelf_core::parse_document(path, text.as_bytes(), &ParseOptions::default())
        .map_err(|e| errors::parse_error(&e))?;
    convert::to_js(&doc)
}
