//! Every failure crosses into JS as a real `Error` (so `instanceof Error`, stack traces and
//! `error.message` work), told apart by `name`, with the details as fields:
//!
//! - `ParseError`: `path`, `line`, `column` (1-based; `null` when the problem has no
//!   position), `message` — a file that is not a valid persona or Prompty document.
//! - `QueryError`: `position` (UTF-16 index into the query string, for a caret) — bad
//!   query syntax.
//! - `IndexFormatError`: `code` (`bad_magic`, `unsupported_version`, `truncated`,
//!   `checksum_mismatch`, `corrupt`) — bytes that are not a loadable index.
//! - `RenderError` (the render module, `promptshelf/render`): `code`, `line`, `column` —
//!   see `render.rs`.
//! - `TypeError`: an argument of the wrong shape (options, documents).

use js_sys::{Error, Reflect, TypeError};
#[cfg(feature = "search")]
use promptshelf_core::search::{CodecError, QueryError};
#[cfg(any(feature = "search", feature = "parse"))]
use promptshelf_core::ParseError;
use wasm_bindgen::JsValue;

pub fn set(target: &JsValue, key: &str, value: JsValue) {
    // Setting a property on a fresh Error object cannot fail; ignore the Result anyway.
    let _ = Reflect::set(target, &JsValue::from_str(key), &value);
}

pub fn named(name: &str, message: &str) -> Error {
    let e = Error::new(message);
    e.set_name(name);
    e
}

pub fn opt_u32(v: Option<u32>) -> JsValue {
    v.map_or(JsValue::NULL, |n| JsValue::from_f64(f64::from(n)))
}

/// A file that failed to parse. `message` is `path:line:column: reason` (what a
/// terminal or log shows); the fields carry the parts for an editor's gutter.
#[cfg(any(feature = "search", feature = "parse"))]
pub fn parse_error(e: &ParseError) -> JsValue {
    let err: JsValue = named("ParseError", &e.to_string()).into();
    set(&err, "path", JsValue::from_str(&e.path));
    set(&err, "line", opt_u32(e.line));
    set(&err, "column", opt_u32(e.column));
    set(&err, "reason", JsValue::from_str(&e.message));
    err
}

/// A query with bad syntax. `position` is converted from characters to UTF-16 code
/// units, the unit of JS string indices.
#[cfg(feature = "search")]
pub fn query_error(query: &str, e: &QueryError) -> JsValue {
    let utf16: usize = query.chars().take(e.position).map(char::len_utf16).sum();
    let err: JsValue = named(
        "QueryError",
        &format!("query error at position {utf16}: {}", e.message),
    )
    .into();
    set(&err, "position", JsValue::from_f64(utf16 as f64));
    set(&err, "reason", JsValue::from_str(&e.message));
    err
}

/// Bytes that are not a loadable index.
#[cfg(feature = "search")]
pub fn codec_error(e: &CodecError) -> JsValue {
    let code = match e {
        CodecError::BadMagic => "bad_magic",
        CodecError::UnsupportedVersion { .. } => "unsupported_version",
        CodecError::Truncated => "truncated",
        CodecError::ChecksumMismatch => "checksum_mismatch",
        CodecError::Corrupt(_) => "corrupt",
    };
    let err: JsValue = named("IndexFormatError", &e.to_string()).into();
    set(&err, "code", JsValue::from_str(code));
    err
}

/// An argument of the wrong shape.
pub fn type_error(message: &str) -> JsValue {
    TypeError::new(message).into()
}
