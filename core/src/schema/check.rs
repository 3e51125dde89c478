//! Inputs against a prompt's inputs schema (the subset [`super::prompt_schemas`] writes),
//! after defaults and examples fill in what the caller left out — the values the
//! template will actually see.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One thing wrong with the inputs. API contract (the 422 body's `problems`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputProblem {
    /// The input as a person writes it: `question`, `tags[2]`, `user.name`.
    pub input: String,
    /// What the schema asks for (`a string`, `one of "a", "b"`, `a value`).
    pub expected: String,
    /// What was there (`the number 7`, `nothing`).
    pub found: String,
    /// `input: expected ..., found ...`, for humans.
    pub message: String,
}

/// The outcome of [`check_inputs`]: problems make the render fail; undeclared inputs
/// are warnings (problems too when strict).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputCheck {
    /// Every problem found, in input order.
    pub problems: Vec<InputProblem>,
    /// Given inputs the prompt does not declare, in the order given.
    pub undeclared: Vec<String>,
}

impl InputCheck {
    /// The warnings to show next to a successful render.
    pub fn warnings(&self) -> Vec<String> {
        self.undeclared
            .iter()
            .map(|n| format!("input `{n}` is not declared by the prompt (a typo?)"))
            .collect()
    }
}

/// Deepest value nesting inspected; deeper values are accepted as they are.
const MAX_DEPTH: usize = 64;
/// At most this many problems are reported (a huge wrong array is one message, not a
/// million).
const MAX_PROBLEMS: usize = 100;

/// Checks `given` against `schema` (a prompt's inputs schema) after defaults and the
/// first example fill in absent inputs. `strict` turns undeclared inputs into problems.
pub fn check_inputs(schema: &Value, given: &Map<String, Value>, strict: bool) -> InputCheck {
    let mut out = InputCheck::default();
    let empty = Map::new();
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required = required_of(schema);
    for (name, prop) in props {
        let value = given
            .get(name)
            .or_else(|| prop.get("default"))
            .or_else(|| prop.get("examples").and_then(|e| e.get(0)));
        match value {
            None => {
                if required.contains(&name.as_str()) {
                    push(
                        &mut out.problems,
                        name.clone(),
                        expected_of(prop),
                        "nothing".into(),
                    );
                }
            }
            // A default or sample that is a `${env:...}`/`${file:...}` reference is
            // resolved by the host at render time: not checkable here.
            Some(v) if !given.contains_key(name) && is_reference(v) => {}
            Some(v) => check_value(prop, v, name, &mut out.problems, 0),
        }
    }
    for name in given.keys().filter(|n| !props.contains_key(*n)) {
        out.undeclared.push(name.clone());
        if strict {
            push(
                &mut out.problems,
                name.clone(),
                "no such input (strict)".into(),
                describe(&given[name]),
            );
        }
    }
    out
}

fn is_reference(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.trim().starts_with("${") && s.trim().ends_with('}'))
}

fn required_of(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn push(problems: &mut Vec<InputProblem>, input: String, expected: String, found: String) {
    if problems.len() >= MAX_PROBLEMS {
        return;
    }
    let message = format!("{input}: expected {expected}, found {found}");
    problems.push(InputProblem {
        input,
        expected,
        found,
        message,
    });
}

fn check_value(
    schema: &Value,
    v: &Value,
    at: &str,
    problems: &mut Vec<InputProblem>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.iter().any(|a| same(a, v)) {
            push(problems, at.to_owned(), expected_of(schema), describe(v));
            return;
        }
    }
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(t) => has_type(v, t),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| has_type(v, t)),
            _ => true,
        };
        if !ok {
            push(problems, at.to_owned(), expected_of(schema), describe(v));
            return;
        }
    }
    match v {
        Value::Object(m) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                let required = required_of(schema);
                for (k, ps) in props {
                    let path = format!("{at}.{k}");
                    match m.get(k) {
                        Some(x) => check_value(ps, x, &path, problems, depth + 1),
                        None if required.contains(&k.as_str()) => {
                            push(problems, path, expected_of(ps), "nothing".into())
                        }
                        None => {}
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = schema.get("items") {
                for (i, x) in items.iter().enumerate() {
                    if problems.len() >= MAX_PROBLEMS {
                        return;
                    }
                    check_value(is, x, &format!("{at}[{i}]"), problems, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// JSON Schema equality for `enum`: numbers compare by value (`1` equals `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "number" => v.is_number(),
        // JSON Schema: a number with a zero fractional part is an integer (`2.0`).
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0) && v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => true,
    }
}

pub(crate) fn a_type(t: &str) -> String {
    match t {
        "string" => "a string".into(),
        "number" => "a number".into(),
        "integer" => "an integer".into(),
        "boolean" => "a boolean".into(),
        "array" => "a list".into(),
        "object" => "an object".into(),
        "null" => "null".into(),
        other => format!("a value of type {other}"),
    }
}

/// What `schema` asks for, in words.
pub(crate) fn expected_of(schema: &Value) -> String {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        let list: Vec<String> = allowed.iter().take(20).map(short).collect();
        let more = if allowed.len() > 20 { ", ..." } else { "" };
        return format!("one of {}{more}", list.join(", "));
    }
    match schema.get("type") {
        Some(Value::String(t)) => a_type(t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(a_type)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".into(),
    }
}

/// A value, short, as JSON.
pub(crate) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(37).collect::<String>())
    } else {
        s
    }
}

/// What a value is, for messages: `the number 7`, `the string "x"`, `a list`.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => format!("the string {}", short(v)),
        Value::Array(a) => format!("a list of {} item{}", a.len(), plural(a.len())),
        Value::Object(_) => "an object".into(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
