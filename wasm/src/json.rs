//! JS values ⇄ JSON text, shared by both modules of the package (search and render).
//! Both directions go through JSON: `JSON.stringify` / `JSON.parse` are native and fast in
//! every engine, and serde_json is linked anyway.

use crate::errors;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// Serializes `v` and hands it to `JSON.parse`.
pub fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(v).map_err(|e| errors::type_error(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

/// `JSON.stringify(v)`, or `None` for `undefined`/`null` (absent optional arguments).
/// (Arguments of the search, open and render modules, and the validate module's `options`.)
#[cfg(any(
    feature = "search",
    feature = "render",
    feature = "remote",
    feature = "validate"
))]
pub fn stringify(v: &JsValue, what: &str) -> Result<Option<String>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let s = js_sys::JSON::stringify(v)
        .map_err(|_| errors::type_error(&format!("{what}: not serializable to JSON")))?;
    Ok(s.as_string())
}
