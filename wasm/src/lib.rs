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
//! The crate builds the package's three WebAssembly modules (cargo features; see Cargo.toml):
//! `search` is the package's main module, `promptshelf`; `parse` is `promptshelf/parse`, the
//! file parsers (serde_yaml), loaded only by pages that parse files (editors,
//! `Shelf.fromFiles`); `render` is `promptshelf/render`, loaded only by pages that render
//! (minijinja would double the main module).
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
//! - [`parser`] (parse): `parse(path, text)` and the package-internal hooks the search
//!   module's `Shelf.fromFiles` / `upsert` and the render module's `render` call.
//! - [`types`] (search): the TypeScript declarations of the plain-object shapes.
//! - [`render`] (render): `render(path, text, …)`, `renderDocument(doc, …)`,
//!   `renderById(shelf, id, …)`.

#[cfg(feature = "search")]
mod convert;
mod errors;
mod json;
#[cfg(feature = "search")]
mod log;
#[cfg(feature = "parse")]
mod parser;
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
#[cfg(feature = "parse")]
pub use parser::parse;
#[cfg(feature = "search")]
pub use shelf::Shelf;

use wasm_bindgen::prelude::*;

/// The package version (the crate's, which is also the npm package's).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
