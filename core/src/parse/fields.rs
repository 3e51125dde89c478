//! Normalisation shared by both formats: the common fields a `Document` carries
//! (`id`, `name`, `description`, `tags`, `authors`) are read with the same rules
//! whichever file they come from. Problems are located by JSON pointer; each format
//! turns the pointer into a line/column its own way.

use serde_json::{Map, Value};

/// A field with the wrong type. `pointer` is a JSON pointer into the parsed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where in the object (a JSON pointer), for the error's position.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Describes a value's type for messages ("found a list").
pub fn describe(v: &Value) -> &'static str {
    type_name(v)
}

/// `obj[key]` as a string. Absent or null → `None`; anything but a string is an error.
pub fn optional_string(
    obj: &Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Result<Option<String>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(FieldError {
            pointer: format!("{pointer}/{key}"),
            message: format!("`{key}` must be a string, found {}", type_name(other)),
        }),
    }
}

/// A list of short strings (tags, authors). Accepts one string, a list of strings,
/// numbers and booleans (written as text), or, for people, objects with a `name`.
/// Nulls and empty strings are skipped; other shapes are an error.
pub fn string_list(v: &Value, pointer: &str, what: &str) -> Result<Vec<String>, FieldError> {
    let item = |v: &Value, pointer: String| -> Result<Option<String>, FieldError> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            Value::Object(o) => match o.get("name") {
                Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
                _ => Err(FieldError {
                    pointer,
                    message: format!(
                        "each of `{what}` must be a string, found an object without a `name`"
                    ),
                }),
            },
            Value::Array(_) => Err(FieldError {
                pointer,
                message: format!("each of `{what}` must be a string, found a list"),
            }),
        }
    };
    match v {
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, v) in items.iter().enumerate() {
                if let Some(s) = item(v, format!("{pointer}/{i}"))? {
                    push_unique(&mut out, s);
                }
            }
            Ok(out)
        }
        Value::Object(_) if what != "authors" => Err(FieldError {
            pointer: pointer.to_owned(),
            message: format!("`{what}` must be a list of strings, found an object"),
        }),
        other => Ok(item(other, pointer.to_owned())?.into_iter().collect()),
    }
}

/// Appends `s` unless already present (tags and authors keep their first order).
pub fn push_unique(list: &mut Vec<String>, s: String) {
    if !list.contains(&s) {
        list.push(s);
    }
}

/// The document's name: the explicit one when it has text, else the file stem.
pub fn name_or_stem(explicit: Option<String>, path: &str) -> String {
    match explicit {
        Some(n) if !n.trim().is_empty() => n,
        _ => super::file_stem(path).to_owned(),
    }
}

/// The document's own `id` when present (a non-empty string), else derived from the path.
pub fn id_or_derived(obj: &Map<String, Value>, path: &str) -> Result<String, FieldError> {
    match optional_string(obj, "id", "")? {
        Some(id) if id.trim().is_empty() => Err(FieldError {
            pointer: "/id".into(),
            message: "`id` must not be empty (remove it to derive the id from the path)".into(),
        }),
        Some(id) => Ok(id),
        None => Ok(super::derived_id(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn optional_strings() {
        let o = obj(json!({"a": "x", "b": null, "c": 3}));
        assert_eq!(optional_string(&o, "a", "").unwrap(), Some("x".into()));
        assert_eq!(optional_string(&o, "b", "").unwrap(), None);
        assert_eq!(optional_string(&o, "z", "").unwrap(), None);
        let e = optional_string(&o, "c", "/meta").unwrap_err();
        assert_eq!(e.pointer, "/meta/c");
        assert!(e.message.contains("must be a string, found a number"));
    }

    #[test]
    fn string_lists() {
        assert_eq!(string_list(&json!("a"), "", "tags").unwrap(), ["a"]);
        assert_eq!(
            string_list(&json!(["a", 1, true, null, "", "a"]), "", "tags").unwrap(),
            ["a", "1", "true"]
        );
        assert_eq!(
            string_list(&json!([{"name": "Ann", "email": "x"}]), "", "authors").unwrap(),
            ["Ann"]
        );
        let e = string_list(&json!(["a", ["b"]]), "/tags", "tags").unwrap_err();
        assert_eq!(e.pointer, "/tags/1");
        assert!(string_list(&json!({"a": 1}), "/tags", "tags").is_err());
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(name_or_stem(Some("N".into()), "prompts/a.prompty"), "N");
        assert_eq!(name_or_stem(Some("  ".into()), "prompts/a.prompty"), "a");
        assert_eq!(name_or_stem(None, "prompts/a.prompty"), "a");
        assert_eq!(
            id_or_derived(&obj(json!({"id": "x"})), "personas/a.json").unwrap(),
            "x"
        );
        assert_eq!(
            id_or_derived(&obj(json!({})), "personas/a.json").unwrap(),
            "personas/a"
        );
        assert!(id_or_derived(&obj(json!({"id": 5})), "personas/a.json").is_err());
        assert!(id_or_derived(&obj(json!({"id": ""})), "personas/a.json").is_err());
    }
}
