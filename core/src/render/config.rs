//! What the front matter says about rendering: the file's shape (v1/v2), the template
//! engine, strict mode, the declared inputs with their defaults and examples, the v1
//! `sample` — after resolving `${env:NAME}` / `${env:NAME:default}` (and host-supplied
//! `${file:...}`) the way each reference runtime does.
//!
//! Only the parts rendering reads (`inputs`, `sample`, `template`) are resolved: a
//! missing model-connection variable does not stop a preview.

use super::pystr::py_strip;
use super::{EnvMap, RenderError, RenderErrorCode};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Which Prompty runtime generation a file is written for; each renders by its own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// prompty 0.1.x: `model: {api, configuration, parameters}`, `inputs` as a map, `sample`.
    V1,
    /// prompty 2.x: `kind`, `model: {id, provider, ...}`, `inputs` as a property list, `template: {format, parser}`.
    V2,
}

impl Shape {
    /// The shape named `v1` or `v2` (what the parser stores in `content.shape`).
    pub fn parse(s: &str) -> Option<Shape> {
        match s {
            "v1" => Some(Shape::V1),
            "v2" => Some(Shape::V2),
            _ => None,
        }
    }

    /// A guess from the front matter alone, for callers without a parsed `Document`.
    pub fn detect(fm: &Value) -> Shape {
        let model = fm.get("model");
        let v2_model = model.and_then(Value::as_object).is_some_and(|m| {
            ["id", "provider", "apiType", "connection", "options"]
                .iter()
                .any(|k| m.contains_key(*k))
        });
        let v2_template = fm
            .get("template")
            .is_some_and(|t| t.get("format").is_some());
        if fm.get("kind").is_some()
            || v2_model
            || v2_template
            || fm.get("inputs").is_some_and(Value::is_array)
        {
            Shape::V2
        } else {
            Shape::V1
        }
    }
}

/// Whether the front matter uses anything only the v1 shape has: `sample`, `authors`,
/// `tags`, `version`, `model.api|configuration|parameters`, or `inputs` as a map of
/// `{type, ...}` properties.
pub fn has_v1_markers(fm: &Value) -> bool {
    let has = |k: &str| fm.get(k).is_some_and(|v| !v.is_null());
    let model = fm.get("model").and_then(Value::as_object).is_some_and(|m| {
        ["api", "configuration", "parameters"]
            .iter()
            .any(|k| m.contains_key(*k))
    });
    let inputs = fm
        .get("inputs")
        .and_then(Value::as_object)
        .is_some_and(|m| {
            m.values()
                .any(|p| p.get("type").is_some() || p.get("sample").is_some())
        });
    ["sample", "authors", "tags", "version"]
        .iter()
        .any(|k| has(k))
        || model
        || inputs
}

/// The template language of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Jinja2 (the default), via minijinja.
    Jinja2,
    /// Mustache, chevron-compatible.
    Mustache,
}

/// One declared input.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// The input's name (the template variable).
    pub name: String,
    /// Its declared kind (`string`, `thread`...).
    pub kind: String,
    /// `default`, used when the caller gives no value.
    pub default: Option<Value>,
    /// `example` (v2), used after `default`.
    pub example: Option<Value>,
    /// `required` (v2): no value, no default and no example is an error.
    pub required: bool,
}

/// Everything rendering needs from the front matter.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The runtime generation whose rules apply.
    pub shape: Shape,
    /// The body's template language.
    pub engine: Engine,
    /// prompty 2.x `template.format.strict` (default true): role lines only from the template.
    pub strict: bool,
    /// Declared inputs, in declaration order.
    pub props: Vec<Prop>,
    /// v1 `sample` (an object), after resolution.
    pub sample: Map<String, Value>,
}

/// The NAME of `s` when it is a `${file:NAME}` reference, read as the runtime of `shape`
/// reads it (v2: protocol in any case, NAME is all after the first `:`; v1: an exact
/// `file`, NAME up to the next `:`, after the caller's strip). The one parser of file
/// references: the resolver below looks files up by it, and hosts that read files for
/// [`RenderOptions::files`](super::RenderOptions) list them with [`file_references`].
pub fn file_reference(s: &str, shape: Shape) -> Option<&str> {
    let (protocol, rest) = crate::library::reference(s)?;
    match shape {
        Shape::V2 => protocol
            .eq_ignore_ascii_case("file")
            .then_some(rest.unwrap_or("")),
        Shape::V1 => (protocol == "file")
            .then_some(rest)?
            .map(|r| r.split(':').next().unwrap_or(r)),
    }
}

/// Every file NAME the front matter may reference (under either shape's reading, so a
/// host reads what rendering can ask for; the core itself reads no files).
pub fn file_references(frontmatter: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                let v1 = file_reference(py_strip(s), Shape::V1);
                for name in [file_reference(s, Shape::V2), v1].into_iter().flatten() {
                    if !name.is_empty() && !out.iter().any(|n| n == name) {
                        out.push(name.to_owned());
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(frontmatter, &mut out);
    out
}

/// Resolves `${...}` references in a front-matter subtree.
struct Resolver<'a> {
    env: &'a EnvMap,
    files: &'a BTreeMap<String, Value>,
    shape: Shape,
}

impl Resolver<'_> {
    fn missing_env(&self, name: &str, key: &str) -> RenderError {
        RenderError::new(
            RenderErrorCode::MissingEnv,
            format!("environment variable '{name}' is not set (referenced by '{key}') and has no default"),
        )
        .about(name)
    }

    /// One string value: `Some(resolved)` when it is a reference, `None` otherwise.
    fn reference(&self, s: &str, key: &str) -> Result<Option<Value>, RenderError> {
        // The one parser of `${protocol:...}` strings (also used by hosts to find the
        // `${file:NAME}` files to read).
        let Some((protocol, rest)) = crate::library::reference(s) else {
            return Ok(None);
        };
        // `${file:NAME}`, read by the one parser hosts also list the files to read with.
        if let Some(name) = file_reference(s, self.shape) {
            let v = self.files.get(name).cloned().unwrap_or(Value::Null);
            return match self.shape {
                Shape::V2 => Ok(Some(v)),
                Shape::V1 => self.v1_normalize(v, key).map(Some),
            };
        }
        match self.shape {
            Shape::V2 => {
                let val = rest.unwrap_or("");
                match protocol.to_lowercase().as_str() {
                    "env" => {
                        let (name, default) = val.split_once(':').unwrap_or((val, ""));
                        match self.env.get(name) {
                            Some(v) => Ok(Some(Value::String(v.clone()))),
                            None if !default.is_empty() => {
                                Ok(Some(Value::String(default.to_owned())))
                            }
                            None => Err(self.missing_env(name, key)),
                        }
                    }
                    _ => Ok(None),
                }
            }
            Shape::V1 => {
                let parts: Vec<&str> = std::iter::once(protocol)
                    .chain(rest.into_iter().flat_map(|r| r.split(':')))
                    .collect();
                match (parts.first().copied(), parts.len() > 1) {
                    (Some("env"), true) => {
                        let default = parts.get(2).copied().unwrap_or("");
                        match self.env.get(parts[1]) {
                            Some(v) => Ok(Some(Value::String(v.clone()))),
                            None if !default.is_empty() => {
                                Ok(Some(Value::String(default.to_owned())))
                            }
                            None => Err(self.missing_env(parts[1], key)),
                        }
                    }
                    _ => Ok(None),
                }
            }
        }
    }

    /// prompty 2.x: references are resolved in object values (any depth), strings kept as written.
    fn v2_resolve(&self, v: Value) -> Result<Value, RenderError> {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, item) in m {
                    let item = match &item {
                        Value::String(s) => self.reference(s, &k)?.unwrap_or(item),
                        _ => self.v2_resolve(item)?,
                    };
                    out.insert(k, item);
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => Ok(Value::Array(
                a.into_iter()
                    .map(|x| self.v2_resolve(x))
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(other),
        }
    }

    /// prompty 0.1.x `Prompty.normalize`: every string is stripped, then resolved.
    fn v1_normalize(&self, v: Value, key: &str) -> Result<Value, RenderError> {
        match v {
            Value::String(s) => {
                let s = py_strip(&s);
                Ok(self
                    .reference(s, key)?
                    .unwrap_or_else(|| Value::String(s.to_owned())))
            }
            Value::Array(a) => Ok(Value::Array(
                a.into_iter()
                    .map(|x| self.v1_normalize(x, key))
                    .collect::<Result<_, _>>()?,
            )),
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, item) in m {
                    let item = self.v1_normalize(item, &k)?;
                    out.insert(k, item);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other),
        }
    }

    fn resolve(&self, v: Value, key: &str) -> Result<Value, RenderError> {
        match self.shape {
            Shape::V1 => self.v1_normalize(v, key),
            Shape::V2 => match &v {
                Value::String(s) => Ok(self.reference(s, key)?.unwrap_or(v)),
                _ => self.v2_resolve(v),
            },
        }
    }
}

fn v2_props(inputs: &Value) -> Vec<Prop> {
    let one = |name: String, v: &Value| -> Prop {
        match v {
            Value::Object(m) => Prop {
                name: m
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or(name),
                kind: m
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                default: m.get("default").filter(|d| !d.is_null()).cloned(),
                example: m.get("example").filter(|d| !d.is_null()).cloned(),
                required: m.get("required").and_then(Value::as_bool).unwrap_or(false),
            },
            // Shorthand `name: value` means an example value.
            scalar => Prop {
                name,
                kind: String::new(),
                default: None,
                example: Some(scalar.clone()).filter(|d| !d.is_null()),
                required: false,
            },
        }
    };
    match inputs {
        Value::Array(items) => items.iter().map(|v| one(String::new(), v)).collect(),
        Value::Object(m) => m.iter().map(|(k, v)| one(k.clone(), v)).collect(),
        _ => Vec::new(),
    }
}

fn v1_props(inputs: &Value) -> Vec<Prop> {
    match inputs {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| Prop {
                name: k.clone(),
                kind: v
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                default: v.get("default").filter(|d| !d.is_null()).cloned(),
                example: None,
                required: false,
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Plan {
    /// Reads the front matter, resolving `${env:}` from `env` and `${file:}` from `files`.
    pub fn from_frontmatter(
        fm: &Value,
        shape: Shape,
        env: &EnvMap,
        files: &BTreeMap<String, Value>,
    ) -> Result<Plan, RenderError> {
        let r = Resolver { env, files, shape };
        let get = |k: &str| -> Result<Value, RenderError> {
            match fm.get(k) {
                Some(v) => r.resolve(v.clone(), k),
                None => Ok(Value::Null),
            }
        };
        let template = get("template")?;
        let inputs = get("inputs")?;
        let (engine_name, strict) = match shape {
            Shape::V2 => {
                let format = template.get("format");
                let kind = match format {
                    Some(Value::String(s)) => s.as_str(),
                    Some(f) => f.get("kind").and_then(Value::as_str).unwrap_or(""),
                    None => "",
                };
                let strict = format
                    .and_then(|f| f.get("strict"))
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                (kind.to_owned(), strict)
            }
            Shape::V1 => {
                let kind = match &template {
                    Value::Null => "jinja2".to_owned(),
                    Value::String(s) => s.clone(),
                    // A template object without `type` is Mustache in 0.1.x (its default).
                    Value::Object(m) => m
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("mustache")
                        .to_owned(),
                    _ => String::new(),
                };
                (kind, false)
            }
        };
        let engine = match engine_name.to_lowercase().as_str() {
            "" | "*" | "jinja2" | "jinja" | "nunjucks" => Engine::Jinja2,
            "mustache" => Engine::Mustache,
            other => {
                return Err(RenderError::new(
                    RenderErrorCode::UnsupportedFormat,
                    format!("template format '{other}' is not supported (jinja2, mustache)"),
                ))
            }
        };
        let props = match shape {
            Shape::V2 => v2_props(&inputs),
            Shape::V1 => v1_props(&inputs),
        };
        let sample = match shape {
            Shape::V1 => match get("sample")? {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            Shape::V2 => Map::new(),
        };
        Ok(Plan {
            shape,
            engine,
            strict,
            props,
            sample,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> EnvMap {
        [("HOST".to_owned(), "h".to_owned())].into_iter().collect()
    }

    /// The one `${file:}` parser, as each runtime reads it, and the host's list of names.
    #[test]
    fn file_references_as_each_runtime_reads_them() {
        use Shape::{V1, V2};
        for (s, shape, want) in [
            ("${file:a.json}", V2, Some("a.json")),
            ("${FILE:a.json}", V2, Some("a.json")),
            ("${file:a:b}", V2, Some("a:b")),
            ("${file}", V2, Some("")),
            ("${env:X}", V2, None),
            (" ${file:a.json}", V2, None),
            ("${file:a.json}", V1, Some("a.json")),
            ("${FILE:a.json}", V1, None),
            ("${file:a:b}", V1, Some("a")),
            ("${file}", V1, None),
            ("file:a.json", V1, None),
        ] {
            assert_eq!(file_reference(s, shape), want, "{s} {shape:?}");
        }
        let fm = json!({"inputs": {"x": {"default": " ${file:v1.txt} "}},
            "tools": ["${file:tools.json}"], "m": {"c": "${File:v2.json}", "d": "${file}"}});
        let mut names = file_references(&fm);
        names.sort();
        assert_eq!(names, ["tools.json", "v1.txt", "v2.json"]);
    }

    #[test]
    fn v2_env_and_defaults() {
        let fm = json!({
            "inputs": [
                {"name": "a", "kind": "string", "default": "${env:HOST}"},
                {"name": "b", "kind": "string", "example": "${env:NOPE:fallback:x}"},
                {"name": "c", "kind": "string", "required": true}
            ],
            "template": {"format": {"kind": "mustache", "strict": false}},
            "model": {"connection": {"key": "${env:UNSET}"}}
        });
        let p = Plan::from_frontmatter(&fm, Shape::V2, &env(), &BTreeMap::new()).unwrap();
        assert_eq!(p.engine, Engine::Mustache);
        assert!(!p.strict);
        assert_eq!(p.props[0].default, Some(json!("h")));
        assert_eq!(p.props[1].example, Some(json!("fallback:x")));
        assert!(p.props[2].required);
        let bad = json!({"inputs": [{"name": "a", "default": "${env:UNSET}"}]});
        let e = Plan::from_frontmatter(&bad, Shape::V2, &env(), &BTreeMap::new()).unwrap_err();
        assert_eq!(e.code, RenderErrorCode::MissingEnv);
    }

    #[test]
    fn v1_strips_strings_and_defaults_template() {
        let fm = json!({"sample": {"q": "  hi \n", "e": "${env:NOPE:dflt:more}"}, "inputs": {"q": {"type": "string"}}});
        let p = Plan::from_frontmatter(&fm, Shape::V1, &env(), &BTreeMap::new()).unwrap();
        assert_eq!(p.sample["q"], json!("hi"));
        assert_eq!(p.sample["e"], json!("dflt"));
        assert_eq!(p.engine, Engine::Jinja2);
        let fm = json!({"template": {"parser": "prompty"}});
        assert_eq!(
            Plan::from_frontmatter(&fm, Shape::V1, &env(), &BTreeMap::new())
                .unwrap()
                .engine,
            Engine::Mustache
        );
    }

    #[test]
    fn detects_shape() {
        assert_eq!(
            Shape::detect(&json!({"model": {"api": "chat"}, "sample": {}})),
            Shape::V1
        );
        assert_eq!(Shape::detect(&json!({"model": {"id": "gpt-4"}})), Shape::V2);
        assert_eq!(
            Shape::detect(&json!({"inputs": [{"name": "a"}]})),
            Shape::V2
        );
    }
}
