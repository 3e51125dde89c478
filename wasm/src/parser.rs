//! The parse module, `promptshelf/parse` (feature `parse`): the file parsers (persona JSON
//! with positions, Prompty front matter through serde_yaml) in their own WebAssembly module,
//! so a search page — which only reads an index — never downloads them. Editors import it
//! to validate a file as the user types; the search module's `Shelf.fromFiles` /
//! `shelf.upsert(path, text)` and the render module's `render(path, text, …)` call into it
//! (through the checked wrappers scripts/build-pkg appends to its JS, which say "init
//! promptshelf/parse first" instead of failing inside the glue when it is not loaded).

use crate::errors;
use promptshelf_core::{parse_document, Document, ParseError, ParseOptions};
use wasm_bindgen::prelude::*;

/// Parses one library file without adding it anywhere: for editors that validate a
/// persona (`*.json`) or Prompty (`*.prompty`) file as the user types. `path` decides
/// the kind by its extension. Returns the document; throws a `ParseError` (with `path`,
/// `line`, `column` — 1-based, `null` when the problem has no position — and `message`).
#[wasm_bindgen(unchecked_return_type = "Document")]
pub fn parse(path: &str, text: &str) -> Result<JsValue, JsValue> {
    crate::json::to_js(&parse_file(path, text).map_err(|e| errors::parse_error(&e))?)
}

/// `parse`, with the document as JSON text instead of an object: what
/// `promptshelf/render`'s `render(path, text, …)` calls (the render module carries no
/// parser of its own). Text, not an object, so that numbers keep their exact form (`1.0`
/// stays a float) on the way to the template. Internal to the package; throws `parse`'s
/// errors.
#[wasm_bindgen(js_name = parseJson, skip_typescript)]
pub fn parse_json(path: &str, text: &str) -> Result<String, JsValue> {
    let doc = parse_file(path, text).map_err(|e| errors::parse_error(&e))?;
    serde_json::to_string(&doc).map_err(|e| errors::type_error(&e.to_string()))
}

/// The outcome as JSON text of `{"Ok": document}` or `{"Err": parseError}`: what the search
/// module's `Shelf.fromFiles` and `upsert` read back into a `Document` or a `ParseError`
/// (a shelf records the errors of files that did not parse). Internal to the package.
#[wasm_bindgen(js_name = parseResult, skip_typescript)]
pub fn parse_result(path: &str, text: &str) -> Result<String, JsValue> {
    let r: Result<Document, ParseError> = parse_file(path, text);
    serde_json::to_string(&r).map_err(|e| errors::type_error(&e.to_string()))
}

/// The one parse every export shares, with the default limits.
fn parse_file(path: &str, text: &str) -> Result<Document, ParseError> {
    parse_document(path, text.as_bytes(), &ParseOptions::default())
}

#[wasm_bindgen(typescript_custom_section)]
const TS_PARSE_TYPES: &'static str = r#"
import type { Document, ParseError } from "../promptshelf.js";
export type { Document, ParseError };
"#;
