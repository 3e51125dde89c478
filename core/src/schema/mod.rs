//! Typed prompts: a prompt's declared `inputs` and `outputs` as JSON Schema (draft
//! 2020-12), and the check of a render's inputs against them.
//!
//! Why JSON Schema: it is what callers already speak (a structured-output
//! `response_format`, form generators, editors), and it is the one shape both Prompty
//! generations can be brought into:
//! - v1 `inputs:` maps of `{type, default, description, sample}` (plus the top-level
//!   `sample:` mapping, which adds examples — never a type: samples are illustrations);
//! - v2 property lists or maps of `{kind, required, nullable, default, enumValues,
//!   example, description}`, with nested `properties` (object) and `items` (array);
//! - the shorthand `name: value`, whose type is inferred from the value (a default).
//!
//! [`prompt_schemas`] is pure and cheap (it walks the front matter once), so the parser
//! stores its result in every prompt document (`content.schema`), and the read API, the
//! CLI and the npm package all serve the same schema. [`check_inputs`] validates only the
//! subset of JSON Schema that [`prompt_schemas`] produces (`type`, `enum`, `properties`,
//! `required`, `items`), without a validator crate: it runs inside the npm render module
//! whose .wasm has a size budget.

mod check;
#[cfg(feature = "validate")]
pub mod collection;
#[cfg(feature = "validate")]
mod cost;
#[cfg(feature = "render")]
mod template;
pub mod typescript;

pub use check::{check_inputs, describe, InputCheck, InputProblem};
#[cfg(feature = "validate")]
pub use collection::{CollectionSchemas, SchemaError, UserSchema, Violation};
#[cfg(feature = "render")]
pub use template::{undeclared_template_variables, UndeclaredVariable};

use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// The `$schema` of every schema this module writes.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Nested `properties`/`items` deeper than this are left unconstrained: the front matter
/// is already depth-bounded by the YAML loader; this keeps the schema (and the TypeScript
/// generated from it) readable.
const MAX_NESTING: usize = 16;

/// `{"inputs": <schema>, "outputs": <schema or null>}` for a prompt's front matter
/// (`null` front matter is a prompt without declarations: an empty inputs object).
pub fn prompt_schemas(front: &Value) -> Value {
    let empty = Map::new();
    let front = front.as_object().unwrap_or(&empty);
    let inputs = inputs_schema(front.get("inputs"), front.get("sample"));
    let outputs = match front.get("outputs") {
        None | Some(Value::Null) => Value::Null,
        Some(o) => object_schema(Some(o), None, 0),
    };
    json!({"inputs": inputs, "outputs": outputs})
}

/// The inputs schema: an object schema whose properties are the declared inputs, in file
/// order, with `required` listing the ones marked `required: true`.
pub fn inputs_schema(inputs: Option<&Value>, sample: Option<&Value>) -> Value {
    object_schema(inputs, sample, 0)
}

/// An object schema from a property map or list (`props`), with v1 `sample` values added
/// as `examples` (and as untyped properties when the map does not declare them).
fn object_schema(props: Option<&Value>, sample: Option<&Value>, depth: usize) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut add = |name: &str, schema: Value, req: bool| {
        if req && !required.iter().any(|r: &Value| r == name) {
            required.push(json!(name));
        }
        properties.insert(name.to_owned(), schema);
    };
    match props {
        Some(Value::Object(map)) => {
            for (name, v) in map {
                let (s, req) = property_schema(v, depth);
                add(name, s, req);
            }
        }
        Some(Value::Array(items)) => {
            for p in items.iter().filter_map(Value::as_object) {
                if let Some(name) = p.get("name").and_then(Value::as_str) {
                    let (s, req) = property_schema(&Value::Object(p.clone()), depth);
                    add(name, s, req);
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Object(samples)) = sample {
        for (name, v) in samples {
            let entry = properties.entry(name.clone()).or_insert_with(|| json!({}));
            if let Value::Object(p) = entry {
                p.entry("examples").or_insert_with(|| json!([v]));
            }
        }
    }
    let mut out = Map::new();
    if depth == 0 {
        out.insert("$schema".into(), json!(DRAFT_2020_12));
    }
    out.insert("type".into(), json!("object"));
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    Value::Object(out)
}

/// Keys that make a mapping a property declaration rather than a shorthand default
/// (`name: {a: 1}` is an object default; `name: {type: string}` a declaration). The one
/// list both readers of `inputs` use: the parser's normalised `content.inputs` and the
/// schema built here must agree on what a mapping is (see [`is_property_declaration`]).
pub const PROPERTY_KEYS: &[&str] = &[
    "kind",
    "type",
    "description",
    "default",
    "sample",
    "example",
    "required",
    "enumValues",
    "enum",
    "nullable",
    "items",
    "properties",
];

/// Whether a mapping under `inputs` (or `outputs`) declares a property, rather than
/// being the default value of a shorthand `name: value` input.
pub fn is_property_declaration(p: &Map<String, Value>) -> bool {
    PROPERTY_KEYS.iter().any(|k| p.contains_key(*k))
}

/// JSON Schema `type` of a Prompty kind (v2 `kind` or v1 `type`). `None` for kinds
/// that have no single JSON type (`thread`, `image`, `union`, unknown spellings): those
/// inputs are declared but not type-checked.
pub fn json_type_of_kind(kind: &str) -> Option<&'static str> {
    match kind.to_ascii_lowercase().as_str() {
        "string" | "str" | "text" => Some("string"),
        "integer" | "int" => Some("integer"),
        "float" | "number" | "double" => Some("number"),
        "boolean" | "bool" => Some("boolean"),
        "array" | "list" => Some("array"),
        "object" | "dict" | "map" => Some("object"),
        _ => None,
    }
}

/// The JSON type a bare value implies (shorthand inputs).
fn inferred_type(v: &Value) -> Option<&'static str> {
    match v {
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_f64() => Some("number"),
        Value::Number(_) => Some("integer"),
        Value::Array(_) => Some("array"),
        Value::Object(_) => Some("object"),
        Value::String(_) => Some("string"),
        Value::Null => None,
    }
}

/// One property's schema and whether it is required.
fn property_schema(v: &Value, depth: usize) -> (Value, bool) {
    let p = match v {
        Value::Object(p) if is_property_declaration(p) => p,
        Value::Null => return (json!({}), false),
        // Shorthand: the value is the default, its type the type.
        other => {
            let mut s = Map::new();
            if let Some(t) = inferred_type(other) {
                s.insert("type".into(), json!(t));
            }
            s.insert("default".into(), other.clone());
            return (Value::Object(s), false);
        }
    };
    let mut s = Map::new();
    let kind = p
        .get("kind")
        .or_else(|| p.get("type"))
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty());
    let mut ty = kind.and_then(json_type_of_kind);
    if let Some(k) = kind {
        // The Prompty kind as written, for tools that know more than JSON types
        // (`image`, `thread`, ...): the dashboard's form, the TypeScript generator.
        s.insert("x-prompty-kind".into(), json!(k));
    }
    if let Some(d) = p.get("description").filter(|v| v.is_string()) {
        s.insert("description".into(), d.clone());
    }
    // v2 infers an undeclared kind from the default or example; a v1 file without a
    // `type` declares none.
    if kind.is_none() {
        ty = p
            .get("default")
            .filter(|d| !d.is_null())
            .and_then(inferred_type);
    }
    let nullable = p.get("nullable").and_then(Value::as_bool) == Some(true);
    if let Some(t) = ty {
        if nullable {
            s.insert("type".into(), json!([t, "null"]));
        } else {
            s.insert("type".into(), json!(t));
        }
    }
    if let Some(Value::Array(values)) = p.get("enumValues").or_else(|| p.get("enum")) {
        let mut values = values.clone();
        if nullable && !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
        s.insert("enum".into(), Value::Array(values));
    }
    if depth < MAX_NESTING {
        if ty == Some("object") {
            if let Some(props @ (Value::Object(_) | Value::Array(_))) = p.get("properties") {
                if let Value::Object(mut o) = object_schema(Some(props), None, depth + 1) {
                    o.remove("type");
                    s.extend(o);
                }
            }
        }
        if ty == Some("array") {
            if let Some(items) = p.get("items").filter(|i| i.is_object()) {
                s.insert("items".into(), property_schema(items, depth + 1).0);
            }
        }
    }
    if let Some(d) = p.get("default") {
        s.insert("default".into(), d.clone());
    }
    if let Some(e) = p.get("example").or_else(|| p.get("sample")) {
        s.insert("examples".into(), json!([e]));
    }
    let required = p.get("required").and_then(Value::as_bool) == Some(true);
    (Value::Object(s), required)
}

/// A document's stored schemas (`content.schema`), borrowed; computed from its front
/// matter when the document predates them (a snapshot written by an older build).
/// Borrowing keeps the per-render check cheap (see BENCHMARKS.md).
pub fn of_document(doc: &crate::model::Document) -> Cow<'_, Value> {
    match doc.content.get("schema") {
        Some(s @ Value::Object(_)) => Cow::Borrowed(s),
        _ => Cow::Owned(prompt_schemas(
            doc.content.get("frontmatter").unwrap_or(&Value::Null),
        )),
    }
}

#[cfg(test)]
mod tests;
