//! The parse module, `promptshelf/parse` (feature `parse`): the file parsers (persona JSON
//! with positions, Prompty front matter through serde_yaml) in their own WebAssembly module,
//! so a search page — which only reads an index — never downloads them. Editors import it
//! to validate a file as the user types; the search module's `Shelf.fromFiles` /
//! `shelf.upsert(path, text)` and the render module's `render(path, text, …)` call into it
//! (through the checked wrappers scripts/build-pkg appends to its JS, which say "init
//! promptshelf/parse first" instead of failing inside the glue when it is not loaded).

use crate::errors;
#[cfg(feature = "validate")]
use promptshelf_core::schema::CollectionSchemas;
use promptshelf_core::{parse_document, Document, ParseError, ParseOptions};
#[cfg(feature = "validate")]
use serde_json::Value;
#[cfg(feature = "validate")]
use std::cell::RefCell;
#[cfg(feature = "validate")]
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// Parses one library file without adding it anywhere: for editors that validate a
/// persona (`*.json`) or Prompty (`*.prompty`) file as the user types. `path` decides
/// the kind by its extension. Returns the document; throws a `ParseError` (with `path`,
/// `line`, `column` — 1-based, `null` when the problem has no position — and `message`).
///
/// `options.schemas` holds the library's own JSON Schemas (what `[schemas]` in
/// promptshelf.toml names): `{personas?, prompts?, resources?}`, `resources` being the
/// documents their `$ref`s name (`{"common.json": {...}}`). A file that violates its
/// schema throws the same `ParseError` as `promptshelf check` reports (line, column of the
/// first violation; the others in the message with theirs). A schema that does not
/// compile throws a `TypeError`.
#[wasm_bindgen]
extern "C" {
    /// `parse()`'s options (declared in TypeScript below): an `Option` of it makes the
    /// argument optional in the generated `.d.ts`.
    #[wasm_bindgen(typescript_type = "ParseFileOptions")]
    pub type ParseFileOptions;
}

#[wasm_bindgen(unchecked_return_type = "Document")]
pub fn parse(
    path: &str,
    text: &str,
    options: Option<ParseFileOptions>,
) -> Result<JsValue, JsValue> {
    let opts = options_of(options.as_ref().map(|o| o.unchecked_ref()))?;
    let doc = parse_document(path, text.as_bytes(), &opts).map_err(|e| errors::parse_error(&e))?;
    crate::json::to_js(&doc)
}

/// `options.schemas`, compiled: the validate module only (boon is ~460 KB gzip, too much
/// for the module every editor loads).
#[cfg(feature = "validate")]
fn options_of(options: Option<&js_sys::Object>) -> Result<ParseOptions, JsValue> {
    Ok(ParseOptions {
        schemas: match options {
            Some(o) => schemas_of(o)?,
            None => CollectionSchemas::default(),
        },
        ..ParseOptions::default()
    })
}

/// The parse module refuses schemas instead of ignoring them: a file it accepted would
/// otherwise look valid against a schema that was never checked.
#[cfg(not(feature = "validate"))]
fn options_of(options: Option<&js_sys::Object>) -> Result<ParseOptions, JsValue> {
    if let Some(o) = options {
        let schemas = js_sys::Reflect::get(o, &JsValue::from_str("schemas"))?;
        if !schemas.is_undefined() && !schemas.is_null() {
            return Err(errors::type_error(
                "options.schemas: JSON Schema checks are in promptshelf/validate \
                 (the same parse(), with schemas); promptshelf/parse does not check them",
            ));
        }
    }
    Ok(ParseOptions::default())
}

#[cfg(feature = "validate")]
thread_local! {
    /// The last `options.schemas` (as JSON text) and what it compiled to: an editor
    /// passes the same schemas on every keystroke, and compiling is the costly part.
    static COMPILED: RefCell<Option<(String, CollectionSchemas)>> = const { RefCell::new(None) };
}

/// `{schemas: {personas?, prompts?, resources?}}` compiled (cached by content).
#[cfg(feature = "validate")]
fn schemas_of(options: &js_sys::Object) -> Result<CollectionSchemas, JsValue> {
    let schemas = js_sys::Reflect::get(options, &JsValue::from_str("schemas"))?;
    let Some(text) = crate::json::stringify(&schemas, "options.schemas")? else {
        return Ok(CollectionSchemas::default());
    };
    if let Some(s) = COMPILED.with_borrow(|c| {
        c.as_ref()
            .filter(|(t, _)| *t == text)
            .map(|(_, s)| s.clone())
    }) {
        return Ok(s);
    }
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| errors::type_error(&format!("options.schemas: {e}")))?;
    let resources: BTreeMap<String, Value> = match v.get("resources") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m.clone().into_iter().collect(),
        Some(_) => {
            return Err(errors::type_error(
                "options.schemas.resources: expected an object of schemas by name",
            ))
        }
    };
    let one = |k: &str| v.get(k).filter(|s| !s.is_null());
    let compiled = CollectionSchemas::from_values(one("personas"), one("prompts"), &resources)
        .map_err(|e| errors::type_error(&e.to_string()))?;
    COMPILED.with_borrow_mut(|c| *c = Some((text, compiled.clone())));
    Ok(compiled)
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
/** `parse()`'s options: the library's own JSON Schemas (as `[schemas]` in promptshelf.toml names them). */
export interface ParseFileOptions {
  schemas?: {
    /** Checked against every persona (`*.json`, the whole object). */
    personas?: object | boolean;
    /** Checked against every prompt's front matter (`*.prompty`). */
    prompts?: object | boolean;
    /** Documents the schemas' `$ref`s name, by absolute URL or by a name relative to `file:///schemas/` (`"common.json"`). */
    resources?: Record<string, object | boolean>;
  };
}
"#;
