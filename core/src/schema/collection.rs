//! User JSON Schemas per collection (`[schemas]` in `promptshelf.toml`): every persona,
//! and every prompt's front matter, must match the schema the library names for it.
//!
//! The core does no I/O: the host reads the schema file and every local file it `$ref`s
//! and hands them over as a map URL → document ([`UserSchema::compile`]). Validation is
//! boon's (draft 2020-12 by default, no network: a `$ref` to a document not in the map is
//! a compile error). A violation is reported with the path of the offending value
//! (`tags[2]`) and a message in the words [`super::check_inputs`] uses, so the parser can
//! turn it into a [`crate::ParseError`] at that value's line and column.

use super::check::{a_type, describe, expected_of};
use boon::{Compiler, ErrorKind, InstanceToken, SchemaIndex, Schemas, ValidationError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;

/// At most this many violations are reported per document: a file that is wrong
/// everywhere does not need a thousand-line error.
pub const MAX_VIOLATIONS: usize = 20;

/// Why a user schema cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema {url}: {message}")]
pub struct SchemaError {
    /// The schema's URL (the host uses the file's `file://` URL).
    pub url: String,
    /// What is wrong, for humans.
    pub message: String,
}

/// One step of the path to a value inside a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// One way a document does not match its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where the offending value is, from the document's root.
    pub at: Vec<Segment>,
    /// What is wrong, prefixed with the value's path (`tags[2]: expected a string, found
    /// the number 7`).
    pub message: String,
}

impl Violation {
    /// The location as a JSON pointer (`/tags/2`).
    pub fn pointer(&self) -> String {
        self.at
            .iter()
            .map(|s| match s {
                Segment::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                Segment::Index(i) => format!("/{i}"),
            })
            .collect()
    }
}

/// The location as people write it: `tags[2]`, `model.api`, `document` for the root.
pub fn display_path(at: &[Segment]) -> String {
    let mut out = String::new();
    for s in at {
        match s {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "document".into()
    } else {
        out
    }
}

/// A compiled user schema.
pub struct UserSchema {
    schemas: Schemas,
    index: SchemaIndex,
    url: String,
    /// How much work a value can cost (see [`super::cost`]).
    cost: super::cost::Cost,
}

impl std::fmt::Debug for UserSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSchema")
            .field("url", &self.url)
            .finish()
    }
}

/// boon asks this for any URL not handed over: there is no I/O in the core, so it is
/// an error (a `$ref` to a file the host did not load, or to the network).
struct NoLoader;

impl boon::UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn Error>> {
        Err(format!("{url} is not a local file next to the schema").into())
    }
}

impl UserSchema {
    /// Compiles the schema at `url`; `documents` holds it and every document it refers
    /// to, by absolute URL. A syntax error, an unknown `$ref` or a pattern too large to
    /// compile (the regex crate's size limit) is an error.
    pub fn compile(
        url: &str,
        documents: &BTreeMap<String, Value>,
    ) -> Result<UserSchema, SchemaError> {
        let err = |message: String| SchemaError {
            url: url.to_owned(),
            message,
        };
        let mut compiler = Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.use_loader(Box::new(NoLoader));
        for (u, doc) in documents {
            compiler
                .add_resource(u, doc.clone())
                .map_err(|e| err(chain(&e)))?;
        }
        if !documents.contains_key(url) {
            return Err(err("the schema document was not given".into()));
        }
        for doc in documents.values() {
            check_patterns(doc).map_err(&err)?;
        }
        let cost = super::cost::analyse(url, documents)
            .map_err(|m| err(format!("the schema is too costly to check: {m}")))?;
        let mut schemas = Schemas::new();
        // boon panics ("bug in jsonschema compiler") on some regex errors; the patterns
        // were checked above, and a panic left is still an error, not a crash.
        let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compiler.compile(url, &mut schemas).map_err(|e| chain(&e))
        }))
        .map_err(|_| err("the schema could not be compiled".into()))?;
        let index = compiled.map_err(err)?;
        Ok(UserSchema {
            schemas,
            index,
            url: url.to_owned(),
            cost,
        })
    }

    /// The schema's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every way `instance` does not match (at most [`MAX_VIOLATIONS`]), in document
    /// order of discovery; empty when it matches.
    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        // A recursive schema that checks each level several times (see `super::cost`):
        // a deep value would take exponential time, so it is refused instead of checked.
        // Every value is met by at most `per_value` schema nodes otherwise.
        let (depth, values) = shape(instance);
        let bound = self
            .cost
            .bound(depth)
            .saturating_mul(u64::try_from(values).unwrap_or(u64::MAX));
        if bound > MAX_WORK {
            out.push(Violation {
                at: Vec::new(),
                message: format!(
                    "document: too costly to check against this schema (about {bound} checks for \
                     {values} values nested {depth} deep; its $refs check each level {} times)",
                    self.cost.fan_out
                ),
            });
            return out;
        }
        if let Err(e) = self.schemas.validate(instance, self.index) {
            collect(&e, instance, &mut out);
        }
        out
    }
}

/// Schema nodes one document may be checked against, at most (values × nodes per value
/// × the recursion's fan-out per level): well under a second of boon's work.
const MAX_WORK: u64 = 20_000_000;

/// How deep `v` nests, and how many values it holds. Documents are depth-bounded by their
/// parsers, so the recursion is too.
fn shape(v: &Value) -> (usize, usize) {
    match v {
        Value::Array(items) => items.iter().map(shape).fold((1, 1), |(d, n), (cd, cn)| {
            (d.max(cd + 1), n.saturating_add(cn))
        }),
        Value::Object(m) => m.values().map(shape).fold((1, 1), |(d, n), (cd, cn)| {
            (d.max(cd + 1), n.saturating_add(cn))
        }),
        _ => (1, 1),
    }
}

/// Compiled size limit for `pattern` and `patternProperties` regexes: far above any
/// sensible pattern, far below boon's own limit (10 MiB), which it reports by panicking.
const MAX_PATTERN_BYTES: usize = 1 << 20;

/// Refuses patterns whose compiled form is too big (`(a{1000}){1000}`), anywhere in a
/// schema document. Syntax errors are left to boon, which reports them.
fn check_patterns(v: &Value) -> Result<(), String> {
    let too_big = |p: &str| -> Result<(), String> {
        match regex::RegexBuilder::new(p)
            .size_limit(MAX_PATTERN_BYTES)
            .build()
        {
            Err(regex::Error::CompiledTooBig(_)) => Err(format!(
                "the pattern {} is too large (its compiled form is over {MAX_PATTERN_BYTES} bytes)",
                super::check::short(&Value::String(p.to_owned()))
            )),
            _ => Ok(()),
        }
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("pattern", Value::String(p)) => too_big(p)?,
                    ("patternProperties", Value::Object(props)) => {
                        for p in props.keys() {
                            too_big(p)?;
                        }
                    }
                    _ => {}
                }
                check_patterns(child)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_patterns),
        _ => Ok(()),
    }
}

/// An error and its sources, one line.
fn chain(e: &dyn Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = c.source();
    }
    s
}

fn collect(e: &ValidationError<'_, '_>, instance: &Value, out: &mut Vec<Violation>) {
    if out.len() >= MAX_VIOLATIONS {
        return;
    }
    let container = matches!(
        e.kind,
        ErrorKind::Group
            | ErrorKind::Schema { .. }
            | ErrorKind::Reference { .. }
            | ErrorKind::AllOf
    );
    if container && !e.causes.is_empty() {
        for c in &e.causes {
            collect(c, instance, out);
        }
        return;
    }
    let mut at: Vec<Segment> = e
        .instance_location
        .tokens
        .iter()
        .map(|t| match t {
            InstanceToken::Prop(p) => Segment::Key(p.to_string()),
            InstanceToken::Item(i) => Segment::Index(*i),
        })
        .collect();
    let pointer = Violation {
        at: at.clone(),
        message: String::new(),
    }
    .pointer();
    let value = instance.pointer(&pointer).unwrap_or(&Value::Null);
    let what = match &e.kind {
        ErrorKind::Type { want, .. } => format!(
            "expected {}, found {}",
            want.iter()
                .map(|t| a_type(&t.to_string()))
                .collect::<Vec<_>>()
                .join(" or "),
            describe(value)
        ),
        ErrorKind::Enum { want } => format!(
            "expected {}, found {}",
            expected_of(&json!({ "enum": want })),
            describe(value)
        ),
        ErrorKind::Const { want } => format!(
            "expected {}, found {}",
            expected_of(&json!({ "enum": [want] })),
            describe(value)
        ),
        ErrorKind::Required { want } => {
            let names: Vec<String> = want.iter().map(|w| format!("`{w}`")).collect();
            format!("missing required field {}", names.join(", "))
        }
        ErrorKind::AdditionalProperties { got } => {
            let names: Vec<String> = got.iter().map(|w| format!("`{w}`")).collect();
            if let Some(first) = got.first() {
                // Point at the first unexpected key's value rather than at its object.
                at.push(Segment::Key(first.to_string()));
            }
            format!("field {} is not allowed here", names.join(", "))
        }
        ErrorKind::AnyOf | ErrorKind::OneOf(None) => {
            format!("{} matches none of the allowed shapes", describe(value))
        }
        ErrorKind::FalseSchema => "no value is allowed here".into(),
        ErrorKind::MinLength { got, want } => {
            format!(
                "expected at least {want} character{}, found {got}",
                plural(*want)
            )
        }
        ErrorKind::MaxLength { got, want } => {
            format!(
                "expected at most {want} character{}, found {got}",
                plural(*want)
            )
        }
        ErrorKind::MinItems { got, want } => {
            format!(
                "expected at least {want} item{}, found {got}",
                plural(*want)
            )
        }
        ErrorKind::MaxItems { got, want } => {
            format!("expected at most {want} item{}, found {got}", plural(*want))
        }
        ErrorKind::Minimum { want, .. } => {
            format!("expected at least {want}, found {}", describe(value))
        }
        ErrorKind::Maximum { want, .. } => {
            format!("expected at most {want}, found {}", describe(value))
        }
        ErrorKind::Pattern { want, .. } => format!(
            "expected a string matching `{want}`, found {}",
            describe(value)
        ),
        other => other.to_string(),
    };
    let message = format!("{}: {what}", display_path(&at));
    out.push(Violation { at, message });
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The user schemas a library names: cheap to clone (shared), compared by identity.
#[derive(Debug, Clone, Default)]
pub struct CollectionSchemas {
    /// For `*.json` personas (the whole object).
    pub personas: Option<Arc<UserSchema>>,
    /// For `*.prompty` prompts (the front matter).
    pub prompts: Option<Arc<UserSchema>>,
}

/// Where schemas given as values (not files) live, for resolving their relative `$ref`s:
/// `common.json` in a schema handed over this way means `file:///schemas/common.json`.
pub const INLINE_BASE: &str = "file:///schemas/";

impl CollectionSchemas {
    /// Compiles schemas given as JSON values: the npm package's `parse()`, where an editor
    /// in the browser has no files to hand over. `resources` are the documents the
    /// schemas' `$ref`s name, keyed by absolute URL or by a name relative to
    /// [`INLINE_BASE`] (`{"common.json": {...}}`). The same compiler, messages and
    /// positions as the schemas `promptshelf.toml` names.
    pub fn from_values(
        personas: Option<&Value>,
        prompts: Option<&Value>,
        resources: &BTreeMap<String, Value>,
    ) -> Result<CollectionSchemas, SchemaError> {
        let base = url::Url::parse(INLINE_BASE).expect("a valid base URL");
        let mut documents = BTreeMap::new();
        for (name, doc) in resources {
            let url = base.join(name).map_err(|e| SchemaError {
                url: name.clone(),
                message: format!("not a usable name for a schema resource: {e}"),
            })?;
            documents.insert(url.to_string(), doc.clone());
        }
        let one = |name: &str, v: Option<&Value>| -> Result<Option<Arc<UserSchema>>, SchemaError> {
            let Some(v) = v else { return Ok(None) };
            let url = format!("{INLINE_BASE}{name}");
            let mut docs = documents.clone();
            docs.insert(url.clone(), v.clone());
            UserSchema::compile(&url, &docs).map(|s| Some(Arc::new(s)))
        };
        Ok(CollectionSchemas {
            personas: one("personas.schema.json", personas)?,
            prompts: one("prompts.schema.json", prompts)?,
        })
    }
}

impl PartialEq for CollectionSchemas {
    fn eq(&self, other: &Self) -> bool {
        fn same(a: &Option<Arc<UserSchema>>, b: &Option<Arc<UserSchema>>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
        }
        same(&self.personas, &other.personas) && same(&self.prompts, &other.prompts)
    }
}

impl Eq for CollectionSchemas {}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(v: Value) -> UserSchema {
        let url = "file:///lib/schemas/s.json";
        UserSchema::compile(url, &BTreeMap::from([(url.to_owned(), v)])).expect("compiles")
    }

    #[test]
    fn type_violation_names_path_expected_and_found() {
        let s =
            schema(json!({"properties": {"tags": {"type": "array", "items": {"type": "string"}}}}));
        let v = s.violations(&json!({"tags": ["a", "b", 7]}));
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].message,
            "tags[2]: expected a string, found the number 7"
        );
        assert_eq!(v[0].pointer(), "/tags/2");
        assert!(s.violations(&json!({"tags": ["a"]})).is_empty());
    }

    #[test]
    fn every_violation_is_reported() {
        let s = schema(json!({
            "required": ["name"],
            "properties": {"level": {"enum": ["a", "b"]}, "n": {"type": "integer"}},
            "additionalProperties": {"type": ["string", "integer"]}
        }));
        let v = s.violations(&json!({"level": "c", "n": "x", "other": true}));
        let messages: Vec<&str> = v.iter().map(|v| v.message.as_str()).collect();
        assert!(
            messages.contains(&"document: missing required field `name`"),
            "{messages:?}"
        );
        assert!(
            messages.contains(&"level: expected one of \"a\", \"b\", found the string \"c\""),
            "{messages:?}"
        );
        assert!(
            messages.contains(&"n: expected an integer, found the string \"x\""),
            "{messages:?}"
        );
        assert!(
            messages.contains(&"other: expected an integer or a string, found the boolean true"),
            "{messages:?}"
        );
    }

    #[test]
    fn local_refs_resolve_through_the_given_map() {
        let main = "file:///lib/schemas/persona.json";
        let defs = "file:///lib/schemas/defs.json";
        let docs = BTreeMap::from([
            (
                main.to_owned(),
                json!({"properties": {"name": {"$ref": "defs.json#/$defs/name"}}}),
            ),
            (
                defs.to_owned(),
                json!({"$defs": {"name": {"type": "string", "minLength": 3}}}),
            ),
        ]);
        let s = UserSchema::compile(main, &docs).unwrap();
        let v = s.violations(&json!({"name": "ab"}));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.starts_with("name: "), "{v:?}");
    }

    #[test]
    fn missing_ref_targets_and_bad_schemas_are_errors() {
        let url = "file:///lib/s.json";
        let e = UserSchema::compile(
            url,
            &BTreeMap::from([(url.to_owned(), json!({"$ref": "other.json"}))]),
        )
        .unwrap_err();
        assert!(e.message.contains("other.json"), "{e}");
        let e = UserSchema::compile(url, &BTreeMap::from([(url.to_owned(), json!({"type": 7}))]))
            .unwrap_err();
        assert_eq!(e.url, url);
        let e = UserSchema::compile(
            url,
            &BTreeMap::from([(
                url.to_owned(),
                json!({"$ref": "https://example.com/x.json"}),
            )]),
        )
        .unwrap_err();
        assert!(e.message.contains("example.com"), "{e}");
    }

    #[test]
    fn hostile_schemas_fail_instead_of_hanging() {
        // A $ref cycle that never consumes input: an error at validation, not a loop.
        let s = schema(
            json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
        );
        let v = s.violations(&json!({"x": 1}));
        assert!(!v.is_empty());
        // A pattern too large to compile is refused when the schema is compiled.
        let url = "file:///lib/s.json";
        let huge = format!("^(a{{1000}}){{1000}}{}$", "[a-z]{100}".repeat(100));
        let e = UserSchema::compile(
            url,
            &BTreeMap::from([(url.to_owned(), json!({"pattern": huge}))]),
        );
        assert!(e.is_err());
    }
}

#[cfg(test)]
mod cost_and_value_tests {
    use super::*;

    #[test]
    fn schemas_given_as_values_check_documents_like_schema_files() {
        let persona = json!({
            "type": "object",
            "required": ["name", "system_prompt"],
            "properties": {"name": {"type": "string", "minLength": 2},
                           "tags": {"$ref": "common.json#/$defs/tags"}}
        });
        let common = json!({"$defs": {"tags": {"type": "array", "items": {"type": "string"}}}});
        let schemas = CollectionSchemas::from_values(
            Some(&persona),
            None,
            &BTreeMap::from([("common.json".to_owned(), common)]),
        )
        .unwrap();
        assert!(schemas.prompts.is_none());
        let opts = crate::ParseOptions {
            schemas,
            ..Default::default()
        };
        let text =
            "{\n  \"name\": \"Tagger\",\n  \"system_prompt\": \"x\",\n  \"tags\": [\"a\", 7]\n}\n";
        let e = crate::parse_document("personas/t.json", text.as_bytes(), &opts).unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some(17)), "{e}");
        assert_eq!(e.message, "tags[1]: expected a string, found the number 7");
        // A `$ref` to a resource not given is an error naming it.
        let e = CollectionSchemas::from_values(Some(&persona), None, &BTreeMap::new()).unwrap_err();
        assert!(e.message.contains("common.json"), "{e}");
    }

    fn compile(v: Value) -> Result<UserSchema, SchemaError> {
        let url = "file:///lib/s.json";
        UserSchema::compile(url, &BTreeMap::from([(url.to_owned(), v)]))
    }

    #[test]
    fn exponential_schemas_are_refused_or_bounded_quickly() {
        let started = std::time::Instant::now();
        // Nested anyOf over the same $refs: 2^24 checks of one value (boon took 42 s on
        // 2^22 before this bound). Refused when compiled.
        let mut defs = serde_json::Map::new();
        for i in 0..24 {
            let next = format!("#/$defs/a{}", i + 1);
            defs.insert(
                format!("a{i}"),
                json!({"anyOf": [{"$ref": next}, {"$ref": next}]}),
            );
        }
        defs.insert("a24".into(), json!(false));
        let e = compile(json!({"$defs": defs, "$ref": "#/$defs/a0"})).unwrap_err();
        assert!(e.message.contains("too costly"), "{e}");
        // Recursion checking every item twice: a shallow value is checked, a deep one
        // is one violation instead of 2^depth work.
        let s = compile(json!({"$defs": {"a": {"anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"$ref": "#/$defs/a"}},
            {"type": "array", "items": {"$ref": "#/$defs/a"}, "minItems": 1}]}},
            "$ref": "#/$defs/a"}))
        .unwrap();
        assert!(s.violations(&json!([["a"], "b"])).is_empty());
        let mut deep = json!(7);
        for _ in 0..40 {
            deep = json!([deep]);
        }
        let v = s.violations(&deep);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("too costly"), "{v:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
