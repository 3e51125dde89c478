//! Prompty prompt templates: YAML front matter, then the templated body.
//!
//! Two front-matter shapes exist in the wild and both are read:
//! - **v1** (most real files): `name, description, version, authors, tags,
//!   model: {api, configuration, parameters, response}, sample, inputs, outputs, template`;
//! - **v2** ("agent"): `name, displayName, description, metadata: {authors, tags, ...},
//!   model: {id, provider, apiType, connection, options} | "<id>", inputs (map or list
//!   of properties with `kind`), outputs, tools, template: {format, parser}`.
//!
//! `content` is `{"shape", "model", "inputs", "frontmatter", "schema", "body", "sections"}`:
//! `frontmatter` is the whole front matter as JSON (every key kept), `model` and
//! `inputs` are normalised across shapes (see [`normalise_model`], [`normalise_inputs`]),
//! `body` is the raw body text, `sections` its role sections. Files often mix keys of
//! both shapes, so each normalised field reads both places; `shape` is only a label.

use super::fields::{self, push_unique, FieldError};
use super::position::Pos;
use super::{frontmatter, sections, yaml, ParseError};
use crate::model::{ContentHash, DocType, Document, DocumentId};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// `text` is the decoded file (BOM stripped, LF line ends); `bytes` the original.
pub fn parse(path: &str, text: &str, bytes: &[u8]) -> Result<Document, ParseError> {
    let split = frontmatter::split(text).map_err(|u| {
        ParseError::at(
            path,
            Some(u.pos),
            "the front matter opened here is never closed: add a line with only `---` after it",
        )
    })?;

    // Positions (line/column of each front-matter key) only serve error messages, and
    // recording them cost a sixth of the YAML load: the front matter is loaded without
    // them, and loaded again with them only to locate an error.
    let positions = || -> HashMap<String, Pos> {
        let Some(fm) = &split.front else {
            return HashMap::new();
        };
        let shift = |p: Pos| Pos::new(p.line.saturating_add(fm.first_line - 1), p.column);
        match yaml::load(fm.yaml) {
            Ok(Some(loaded)) => loaded
                .positions
                .into_iter()
                .map(|(k, p)| (k, shift(p)))
                .collect(),
            _ => HashMap::new(),
        }
    };
    let front = match &split.front {
        None => Map::new(),
        Some(fm) => {
            let shift = |p: Pos| Pos::new(p.line.saturating_add(fm.first_line - 1), p.column);
            match yaml::load_without_positions(fm.yaml) {
                Err(e) => {
                    return Err(ParseError::at(
                        path,
                        Some(shift(e.pos)),
                        format!("front matter: {}", e.message),
                    ))
                }
                Ok(None) => Map::new(),
                Ok(Some(loaded)) => match loaded.value {
                    Value::Object(map) => map,
                    other => {
                        return Err(ParseError::at(
                            path,
                            positions().get("").copied(),
                            format!(
                                "the front matter must be a YAML mapping (`key: value` lines), found {}",
                                fields::describe(&other)
                            ),
                        ))
                    }
                },
            }
        }
    };
    let located = |e: FieldError| {
        ParseError::at(
            path,
            locate(&positions(), &e.pointer),
            format!("front matter: {}", e.message),
        )
    };

    let metadata = match front.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(located(FieldError {
                pointer: "/metadata".into(),
                message: format!(
                    "`metadata` must be a mapping, found {}",
                    fields::describe(other)
                ),
            }))
        }
    };

    let id = fields::id_or_derived(&front, path).map_err(located)?;
    let name = match fields::optional_string(&front, "name", "").map_err(located)? {
        Some(n) => Some(n),
        None => fields::optional_string(&front, "displayName", "").map_err(located)?,
    };
    let description = fields::optional_string(&front, "description", "").map_err(located)?;
    let mut tags = Vec::new();
    let mut authors = Vec::new();
    for (list, key) in [(&mut tags, "tags"), (&mut authors, "authors")] {
        for (obj, prefix) in [(&front, ""), (&metadata, "/metadata")] {
            if let Some(v) = obj.get(key) {
                for s in fields::string_list(v, &format!("{prefix}/{key}"), key).map_err(located)? {
                    push_unique(list, s);
                }
            }
        }
    }

    let body = split.body.to_owned();
    let sections = sections::split(&body, split.body_line);
    let shape = shape_of(&front);
    let model = normalise_model(front.get("model"));
    let inputs = normalise_inputs(front.get("inputs"), front.get("sample"));
    let front = Value::Object(front);
    let schema = crate::schema::prompt_schemas(&front);

    let content = json!({
        "shape": shape,
        "model": model,
        "inputs": inputs,
        "frontmatter": front,
        // Inputs and outputs as JSON Schema (see `crate::schema`).
        "schema": schema,
        "body": body,
        // Where the body starts in the file: renderers report template errors file-relative.
        "body_line": split.body_line,
        "sections": sections,
    });
    Ok(Document {
        id: DocumentId(id),
        doc_type: DocType::PromptTemplate,
        name: fields::name_or_stem(name, path),
        path: path.to_owned(),
        hash: ContentHash::of(bytes),
        description,
        tags,
        authors,
        body,
        content,
    })
}

/// Line and column (file-relative) of the front matter's values by JSON pointer; empty
/// without front matter or when it does not load. For locating schema violations.
#[cfg(feature = "validate")]
pub(crate) fn front_positions(text: &str) -> HashMap<String, Pos> {
    let Ok(split) = frontmatter::split(text) else {
        return HashMap::new();
    };
    let Some(fm) = &split.front else {
        return HashMap::new();
    };
    let shift = |p: Pos| Pos::new(p.line.saturating_add(fm.first_line - 1), p.column);
    match yaml::load(fm.yaml) {
        Ok(Some(loaded)) => loaded
            .positions
            .into_iter()
            .map(|(k, p)| (k, shift(p)))
            .collect(),
        _ => HashMap::new(),
    }
}

/// The recorded position of `pointer`, or of its nearest recorded ancestor.
pub(crate) fn locate(positions: &HashMap<String, Pos>, pointer: &str) -> Option<Pos> {
    let mut p = pointer;
    loop {
        if let Some(pos) = positions.get(p) {
            return Some(*pos);
        }
        p = &p[..p.rfind('/')?];
    }
}

/// `"v2"` when the front matter uses more v2-only spellings than v1-only ones, else
/// `"v1"` (the common case, and the label of a file without front matter).
pub fn shape_of(front: &Map<String, Value>) -> &'static str {
    let has = |k: &str| front.get(k).is_some_and(|v| !v.is_null());
    let mut v1 = ["authors", "tags", "version", "sample"]
        .iter()
        .filter(|k| has(k))
        .count();
    let mut v2 = ["displayName", "metadata", "tools", "kind"]
        .iter()
        .filter(|k| has(k))
        .count();
    match front.get("model") {
        Some(Value::String(_)) => v2 += 1,
        Some(Value::Object(m)) => {
            v1 += ["api", "configuration", "parameters"]
                .iter()
                .filter(|k| m.contains_key(**k))
                .count();
            v2 += ["id", "provider", "apiType", "options"]
                .iter()
                .filter(|k| m.contains_key(**k))
                .count();
        }
        _ => {}
    }
    match front.get("inputs") {
        Some(Value::Array(_)) => v2 += 1,
        Some(Value::Object(props)) => {
            for p in props.values().filter_map(Value::as_object) {
                if p.contains_key("kind") {
                    v2 += 1;
                }
                if p.contains_key("type") || p.contains_key("sample") {
                    v1 += 1;
                }
            }
        }
        _ => {}
    }
    if v2 > v1 {
        "v2"
    } else {
        "v1"
    }
}

fn str_at<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn obj_at<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    m.get(key).and_then(Value::as_object)
}

/// Model settings in one shape, whichever the file used:
/// `{"api", "id"?, "provider"?, "connection"?, "options"?}`.
/// - `api`: v2 `apiType`, v1 `api`, default `"chat"` (both specs' default);
/// - `id`: v2 `id` (or the string shorthand `model: gpt-4`), v1
///   `configuration.azure_deployment` / `configuration.model` (also under `connection`);
/// - `provider`: v2 `provider`, v1 `configuration.type` (`azure_openai`, `openai`, ...);
/// - `connection`: v2 `connection`, v1 `configuration`;
/// - `options`: v2 `options`, v1 `parameters`.
pub fn normalise_model(model: Option<&Value>) -> Value {
    let mut out = Map::new();
    let empty = Map::new();
    let m = match model {
        Some(Value::String(id)) => {
            out.insert("api".into(), json!("chat"));
            out.insert("id".into(), json!(id));
            return Value::Object(out);
        }
        Some(Value::Object(m)) => m,
        _ => &empty,
    };
    let conf = obj_at(m, "configuration").or_else(|| obj_at(m, "connection"));
    let api = str_at(m, "apiType")
        .or_else(|| str_at(m, "api"))
        .unwrap_or("chat");
    out.insert("api".into(), json!(api));
    let id = str_at(m, "id").or_else(|| {
        conf.and_then(|c| {
            str_at(c, "azure_deployment")
                .or_else(|| str_at(c, "model"))
                .or_else(|| str_at(c, "deployment"))
        })
    });
    if let Some(id) = id {
        out.insert("id".into(), json!(id));
    }
    let provider = str_at(m, "provider")
        .or_else(|| obj_at(m, "configuration").and_then(|c| str_at(c, "type")));
    if let Some(p) = provider {
        out.insert("provider".into(), json!(p));
    }
    if let Some(c) = m
        .get("connection")
        .or_else(|| m.get("configuration"))
        .filter(|v| !v.is_null())
    {
        out.insert("connection".into(), c.clone());
    }
    if let Some(o) = m
        .get("options")
        .or_else(|| m.get("parameters"))
        .filter(|v| !v.is_null())
    {
        out.insert("options".into(), o.clone());
    }
    Value::Object(out)
}

/// The kind a bare value implies (v2 spec's inference).
fn infer_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::String(_) | Value::Null => "string",
    }
}

/// One input property in one shape: `{"kind", "description"?, "required"?, "default"?,
/// "sample"?, "enum"?}`. `kind` comes from v2 `kind` or v1 `type`, else is inferred.
fn normalise_property(p: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let default = p.get("default");
    let sample = p.get("sample").or_else(|| p.get("example"));
    let kind = str_at(p, "kind")
        .or_else(|| str_at(p, "type"))
        .map(str::to_owned)
        .unwrap_or_else(|| infer_kind(default.or(sample).unwrap_or(&Value::Null)).to_owned());
    out.insert("kind".into(), json!(kind));
    if let Some(d) = p.get("description").filter(|v| v.is_string()) {
        out.insert("description".into(), d.clone());
    }
    if let Some(r) = p.get("required").filter(|v| v.is_boolean()) {
        out.insert("required".into(), r.clone());
    }
    if let Some(d) = default {
        out.insert("default".into(), d.clone());
    }
    if let Some(s) = sample {
        out.insert("sample".into(), s.clone());
    }
    if let Some(e) = p.get("enumValues").or_else(|| p.get("enum")) {
        out.insert("enum".into(), e.clone());
    }
    out
}

/// Inputs as `{name: property}` in file order, from either a map (v1 and v2; a bare
/// value is shorthand for a default) or a v2 list of properties with `name`; v1's
/// top-level `sample` mapping fills in `sample` per input (adding inputs it names).
pub fn normalise_inputs(inputs: Option<&Value>, sample: Option<&Value>) -> Value {
    let mut out = Map::new();
    match inputs {
        Some(Value::Object(props)) => {
            for (name, v) in props {
                let prop = match v {
                    Value::Object(p) if crate::schema::is_property_declaration(p) => {
                        normalise_property(p)
                    }
                    Value::Null => normalise_property(&Map::new()),
                    other => {
                        let mut m = Map::new();
                        m.insert("default".into(), other.clone());
                        normalise_property(&m)
                    }
                };
                out.insert(name.clone(), Value::Object(prop));
            }
        }
        Some(Value::Array(items)) => {
            for p in items.iter().filter_map(Value::as_object) {
                if let Some(name) = str_at(p, "name") {
                    out.insert(name.to_owned(), Value::Object(normalise_property(p)));
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Object(samples)) = sample {
        for (name, v) in samples {
            let entry = out
                .entry(name.clone())
                .or_insert_with(|| json!({"kind": infer_kind(v)}));
            if let Value::Object(p) = entry {
                p.entry("sample").or_insert_with(|| v.clone());
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_document, ParseOptions};
    use super::*;

    fn ok(s: &str) -> Document {
        parse_document("prompts/p.prompty", s.as_bytes(), &ParseOptions::default()).expect("parses")
    }

    fn err(s: &str) -> ParseError {
        parse_document("prompts/p.prompty", s.as_bytes(), &ParseOptions::default())
            .expect_err("fails")
    }

    const V1: &str = "---
name: Basic Prompt
description: A basic prompt
authors:
  - sethjuarez
tags: [chat, demo]
version: 1.0
model:
  api: chat
  configuration:
    type: azure_openai
    azure_deployment: gpt-35-turbo
  parameters:
    max_tokens: 128
sample:
  firstName: Jane
  question: What is life?
inputs:
  firstName:
    type: string
    description: first name
  lastName: Doe
---
system:
You are helpful, {{firstName}}.

user:
{{question}}
";

    const V2: &str = "---
name: weather
displayName: Weather helper
description: Answers weather questions
metadata:
  authors: [ann, bob]
  tags:
    - tools
model:
  id: gpt-4o
  provider: openai
  apiType: responses
  connection:
    kind: key
    endpoint: https://example.invalid
  options:
    temperature: 0.2
inputs:
  - name: city
    kind: string
    default: Seattle
    required: true
tools:
  - name: get_weather
    kind: function
template:
  format:
    kind: jinja2
  parser:
    kind: prompty
---
# system:
You report weather.

# user:
{{city}}
";

    #[test]
    fn v1_shape() {
        let d = ok(V1);
        assert_eq!(d.id.as_str(), "prompts/p");
        assert_eq!(d.doc_type, DocType::PromptTemplate);
        assert_eq!(d.name, "Basic Prompt");
        assert_eq!(d.description.as_deref(), Some("A basic prompt"));
        assert_eq!(d.tags, ["chat", "demo"]);
        assert_eq!(d.authors, ["sethjuarez"]);
        let c = &d.content;
        assert_eq!(c["shape"], "v1");
        assert_eq!(
            c["model"],
            json!({"api": "chat", "id": "gpt-35-turbo", "provider": "azure_openai",
                   "connection": {"type": "azure_openai", "azure_deployment": "gpt-35-turbo"},
                   "options": {"max_tokens": 128}})
        );
        assert_eq!(
            c["inputs"],
            json!({"firstName": {"kind": "string", "description": "first name", "sample": "Jane"},
                   "lastName": {"kind": "string", "default": "Doe"},
                   "question": {"kind": "string", "sample": "What is life?"}})
        );
        assert_eq!(c["frontmatter"]["version"], json!(1.0));
        assert_eq!(c["body"], json!(d.body));
        assert!(d.body.starts_with("system:\nYou are helpful"));
        assert_eq!(
            c["sections"],
            json!([{"role": "system", "content": "You are helpful, {{firstName}}.", "line": 24},
                   {"role": "user", "content": "{{question}}", "line": 27}])
        );
    }

    #[test]
    fn v2_shape() {
        let d = ok(V2);
        assert_eq!(d.name, "weather");
        assert_eq!(d.authors, ["ann", "bob"]);
        assert_eq!(d.tags, ["tools"]);
        let c = &d.content;
        assert_eq!(c["shape"], "v2");
        assert_eq!(c["model"]["api"], "responses");
        assert_eq!(c["model"]["id"], "gpt-4o");
        assert_eq!(c["model"]["provider"], "openai");
        assert_eq!(c["model"]["options"], json!({"temperature": 0.2}));
        assert_eq!(
            c["inputs"],
            json!({"city": {"kind": "string", "required": true, "default": "Seattle"}})
        );
        assert_eq!(c["frontmatter"]["tools"][0]["name"], "get_weather");
        assert_eq!(c["sections"][1]["role"], "user");
    }

    #[test]
    fn shorthand_model_and_display_name() {
        let d = ok("---\ndisplayName: Pretty\nmodel: gpt-4\n---\nHello");
        assert_eq!(d.name, "Pretty");
        assert_eq!(d.content["model"], json!({"api": "chat", "id": "gpt-4"}));
        assert_eq!(d.content["shape"], "v2");
        assert_eq!(
            d.content["sections"],
            json!([{"role": "system", "content": "Hello", "line": 5}])
        );
    }

    #[test]
    fn defaults() {
        let d = ok("---\n---\nuser:\nhi\n");
        assert_eq!(d.name, "p");
        assert_eq!(d.content["model"], json!({"api": "chat"}));
        assert_eq!(d.content["inputs"], json!({}));
        assert_eq!(d.content["frontmatter"], json!({}));
        let d = ok("No front matter at all.\n");
        assert_eq!(d.body, "No front matter at all.\n");
        assert_eq!(d.content["shape"], "v1");
        let d = ok("---\n# just a comment\n---\nbody");
        assert_eq!(d.content["frontmatter"], json!({}));
    }

    #[test]
    fn own_id() {
        assert_eq!(ok("---\nid: my-prompt\n---\nx").id.as_str(), "my-prompt");
        let e = err("---\nname: a\nid: 3\n---\nx");
        assert_eq!((e.line, e.column), (Some(3), Some(5)));
    }

    #[test]
    fn later_dashes_are_body() {
        let d = ok("---\nname: a\n---\nsystem:\nfirst\n---\nuser:\nsecond\n");
        assert_eq!(d.content["sections"][0]["content"], "first\n---");
        assert_eq!(d.content["sections"][1]["content"], "second");
    }

    #[test]
    fn unknown_keys_are_kept() {
        let d = ok("---\nname: a\ncustom:\n  deep: [1, 2]\nx-flag: true\n---\nbody");
        assert_eq!(d.content["frontmatter"]["custom"]["deep"], json!([1, 2]));
        assert_eq!(d.content["frontmatter"]["x-flag"], json!(true));
    }

    #[test]
    fn bom_and_crlf() {
        let d = ok("\u{FEFF}---\r\nname: Crlf\r\n---\r\nsystem:\r\nHi\r\n");
        assert_eq!(d.name, "Crlf");
        assert_eq!(d.body, "system:\nHi\n");
        assert_eq!(d.content["sections"][0]["content"], "Hi");
    }

    #[test]
    fn errors_have_file_positions() {
        // YAML syntax error on file line 4.
        let e = err(
            "---\nname: x\ndescription: y\ninvalid_yaml: [unclosed\nmodel:\n  api: chat\n---\nbody",
        );
        assert!(e.message.starts_with("front matter: invalid YAML"), "{e}");
        assert!(e.line.unwrap() >= 4, "{e}");
        // Wrong type on line 3.
        let e = err("---\nfoo: 1\nname: [a]\n---\n");
        assert_eq!((e.line, e.column), (Some(3), Some(7)));
        assert!(
            e.message.contains("`name` must be a string, found a list"),
            "{e}"
        );
        // Not a mapping: located at the front matter's first node.
        let e = err("---\n- a\n- b\n---\nbody");
        assert!(e.message.contains("must be a YAML mapping"), "{e}");
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        let e = err("---\nmetadata:\n  tags: {a: 1}\n---\n");
        assert_eq!(e.line, Some(3));
        let e = err("---\nmetadata: 5\n---\n");
        assert!(e.message.contains("`metadata` must be a mapping"));
        let e = err("---\ndescription: 12\n---\n");
        assert!(e.message.contains("`description` must be a string"));
    }

    #[test]
    fn front_matter_must_be_a_mapping() {
        let e = err("---\n- a\n- b\n---\nbody");
        assert!(e.message.contains("must be a YAML mapping"), "{e}");
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        assert!(err("---\njust a string\n---\n")
            .message
            .contains("found a string"));
    }

    #[test]
    fn unclosed_front_matter() {
        let e = err("---\nname: x\nbody without a fence\n");
        assert_eq!((e.line, e.column), (Some(1), Some(1)));
        assert!(e.message.contains("never closed"));
    }

    #[test]
    fn alias_bomb_and_depth_in_front_matter() {
        let mut s = String::from("---\na: &a [x,x,x,x,x,x,x,x,x,x]\n");
        let mut prev = "a".to_owned();
        for i in 0..9 {
            let n = format!("n{i}");
            s.push_str(&format!("{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
            prev = n;
        }
        s.push_str("---\nbody\n");
        let e = err(&s);
        assert!(e.message.contains("alias bomb"), "{e}");
        let deep = format!("---\nx: {}{}\n---\n", "[".repeat(5000), "]".repeat(5000));
        let e = err(&deep);
        assert!(e.message.contains("too deep"), "{e}");
        assert_eq!(e.line, Some(2));
    }

    #[cfg(feature = "validate")]
    #[test]
    fn front_matter_schema_violations_are_located_in_the_file() {
        use crate::parse::{parse_document, ParseOptions};
        use crate::schema::{CollectionSchemas, UserSchema};
        use std::collections::BTreeMap;
        use std::sync::Arc;
        let url = "file:///lib/schemas/prompt.schema.json";
        let schema = json!({
            "required": ["description"],
            "properties": {"tags": {"items": {"type": "string"}}, "model": {"properties": {"api": {"enum": ["chat"]}}}}
        });
        let opts = ParseOptions {
            schemas: CollectionSchemas {
                personas: None,
                prompts: Some(Arc::new(
                    UserSchema::compile(url, &BTreeMap::from([(url.to_owned(), schema)])).unwrap(),
                )),
            },
            ..ParseOptions::default()
        };
        let text =
            "---\nname: x\ndescription: d\ntags: [a, b, 7]\nmodel:\n  api: completion\n---\nHello";
        let e = parse_document("prompts/p.prompty", text.as_bytes(), &opts).unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some(14)), "{e}");
        assert_eq!(
            e.message,
            "front matter: tags[2]: expected a string, found the number 7; 6:8: model.api: expected one of \"chat\", found the string \"completion\""
        );
        let e = parse_document("prompts/p.prompty", b"Hello", &opts).unwrap_err();
        assert_eq!(
            e.message,
            "front matter: document: missing required field `description`"
        );
        let ok = "---\ndescription: d\ntags: [a]\n---\nHello";
        assert!(parse_document("prompts/p.prompty", ok.as_bytes(), &opts).is_ok());
        // Personas are not checked against the prompts' schema.
        assert!(parse_document("personas/p.json", b"{}", &opts).is_ok());
    }

    #[test]
    fn parser_and_schema_agree_on_declaration_or_shorthand() {
        // Each key that makes a mapping a declaration, alone: the normalised inputs and
        // the schema must both read `x` as declared (no default), and a mapping without
        // any such key as a shorthand object default in both. (The parser once kept its
        // own shorter list: `x: {items: ...}` was a declaration to one, a default to the
        // other.)
        let values = [
            ("kind", "string"),
            ("type", "string"),
            ("description", "d"),
            ("sample", "s"),
            ("example", "s"),
            ("required", "false"),
            ("enumValues", "[a, b]"),
            ("enum", "[a, b]"),
            ("nullable", "true"),
            ("items", "{kind: string}"),
            ("properties", "[{name: a, kind: string}]"),
        ];
        for key in crate::schema::PROPERTY_KEYS {
            if *key == "default" {
                continue;
            }
            let value = values
                .iter()
                .find(|(k, _)| k == key)
                .unwrap_or_else(|| panic!("no test value for `{key}`"))
                .1;
            let d = ok(&format!(
                "---\nname: p\ninputs:\n  x: {{{key}: {value}}}\n---\nHi"
            ));
            assert!(
                d.content["inputs"]["x"].get("default").is_none(),
                "parser read `{key}` as a shorthand default: {}",
                d.content["inputs"]["x"]
            );
            assert!(
                d.content["schema"]["inputs"]["properties"]["x"]
                    .get("default")
                    .is_none(),
                "schema read `{key}` as a shorthand default"
            );
        }
        let d = ok("---\nname: p\ninputs:\n  x: {other: 1}\n---\nHi");
        assert_eq!(d.content["inputs"]["x"]["default"], json!({"other": 1}));
        assert_eq!(
            d.content["schema"]["inputs"]["properties"]["x"]["default"],
            json!({"other": 1})
        );
    }
}
