//! promptshelf's core: everything that is the same in the watcher, the edge worker and
//! the browser, with no I/O (no files, sockets, clocks or threads), so it compiles to
//! native and to `wasm32-unknown-unknown` alike.
//!
//! Map:
//! - [`model`]: the document model (`Document`, `DocType`, `DocumentId`, `ContentHash`).
//! - [`parse`]: bytes of one file → a `Document` or a `ParseError` with line/column.
//! - [`api`]: the read API v1 as a pure function over a read-only `DocumentSource`.
//! - [`library`]: which paths are documents, and duplicate-id resolution across a library.
//! - [`schema`]: a prompt's inputs/outputs as JSON Schema, and the check of render inputs.
//! - [`render`]: a prompt document + inputs + host env → chat messages, like the Prompty runtime.

// The core is the contract three hosts build on: every public item says what it is for.
#![warn(missing_docs)]

// `api` serves `POST /v1/prompts/{id}/render`, so it needs `render`; both are default
// features, left out only by the npm package's build (see core/Cargo.toml).
#[cfg(feature = "api")]
pub mod api;
pub mod library;
pub mod model;
pub mod parse;
#[cfg(feature = "render")]
pub mod render;
pub mod schema;
pub mod search;
#[cfg(feature = "versions")]
pub mod versions;

pub use model::{ContentHash, DocType, Document, DocumentId};
pub use parse::{parse_document, ParseError, ParseOptions};
