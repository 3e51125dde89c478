//! Jinja2 templates through `minijinja`, configured to print what Python's Jinja2 prints:
//! values go through Python `str()` (`True`, `None`, `['a', 1]`, `{'k': 'v'}`, `5.0`),
//! undefined names print as nothing (Jinja2's default `Undefined`; attribute access on
//! them still fails), Python string/dict methods work (`.items()`, `.upper()`), and the
//! trailing newline is kept (prompty 2.x) or dropped (0.1.x) like each reference does.
//!
//! Every render runs with fuel (an instruction budget), so a template loop cannot hang
//! a host, and with a cap on the bytes variables may print.

use super::pystr::py_str;
use super::roles::Marks;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Start/end of a variable's output in the rendered text while marking (Unicode
/// noncharacters, meant for exactly this kind of internal use).
const MARK_START: char = '\u{FDD0}';
const MARK_END: char = '\u{FDD1}';

/// Options for one Jinja2 render.
pub struct JinjaOptions<'m> {
    /// Keep the template's final newline (prompty 0.1.x does, 2.x does not).
    pub keep_trailing_newline: bool,
    /// Undefined variables are errors instead of empty text.
    pub strict_undefined: bool,
    /// Instruction budget (minijinja fuel), so a template cannot loop forever.
    pub fuel: u64,
    /// Upper bound on the output, in bytes.
    pub max_output: usize,
    /// When set, receives the byte ranges of variable output (role lines must not come from them).
    pub marks: Option<&'m mut Marks>,
}

/// A failed render: minijinja's error kind, a message and the byte range in the template.
#[derive(Debug)]
pub struct JinjaError {
    /// minijinja's kind of error (syntax, undefined, ...), mapped to a render error code.
    pub kind: ErrorKind,
    /// minijinja's message.
    pub message: String,
    /// 1-based line in the template, when known.
    pub line: Option<usize>,
    /// Byte range in the template, when known.
    pub range: Option<std::ops::Range<usize>>,
}

impl From<Error> for JinjaError {
    fn from(e: Error) -> Self {
        let message = match e.detail() {
            Some(d) => format!("{}: {}", e.kind(), d),
            None => e.kind().to_string(),
        };
        JinjaError {
            kind: e.kind(),
            message,
            line: e.line(),
            range: e.range(),
        }
    }
}

/// Python `str()` of a template value.
fn py_format(value: &Value) -> String {
    if value.is_undefined() {
        return String::new();
    }
    if let Some(s) = value.as_str() {
        return s.to_owned();
    }
    match serde_json::to_value(value) {
        Ok(v) => py_str(&v),
        Err(_) => value.to_string(),
    }
}

/// Filters whose Jinja2 behaviour differs from minijinja's in ways templates can see:
/// they work on Python `str()` of values, `length` of an undefined value is 0, and
/// `tojson` is Python's `json.dumps` (sorted keys, `", "`/`": "`, ASCII-only) made
/// HTML-safe, like Jinja2's.
fn add_python_filters(env: &mut Environment<'_>) {
    env.add_filter("string", |v: &Value| py_format(v));
    env.add_filter("upper", |v: &Value| py_format(v).to_uppercase());
    env.add_filter("lower", |v: &Value| py_format(v).to_lowercase());
    let length = |v: &Value| -> Result<usize, Error> {
        if v.is_undefined() {
            return Ok(0);
        }
        v.len().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("object of type {} has no len()", v.kind()),
            )
        })
    };
    env.add_filter("length", length);
    env.add_filter("count", length);
    env.add_filter(
        "join",
        |v: &Value, sep: Option<String>| -> Result<String, Error> {
            if v.is_undefined() || v.is_none() {
                return Ok(String::new());
            }
            let sep = sep.unwrap_or_default();
            if let Some(s) = v.as_str() {
                let chars: Vec<String> = s.chars().map(String::from).collect();
                return Ok(chars.join(&sep));
            }
            let items: Vec<String> = v.try_iter()?.map(|x| py_format(&x)).collect();
            Ok(items.join(&sep))
        },
    );
    env.add_filter(
        "tojson",
        |v: &Value, kwargs: minijinja::value::Kwargs| -> Result<Value, Error> {
            let indent: Option<usize> = kwargs.get("indent")?;
            kwargs.assert_all_used()?;
            let json = serde_json::to_value(v).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot serialize to JSON: {e}"),
                )
            })?;
            let mut out = String::new();
            py_json(&json, indent, 0, &mut out);
            let safe = out
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026")
                .replace('\'', "\\u0027");
            Ok(Value::from_safe_string(safe))
        },
    );
}

/// Python `json.dumps(v, sort_keys=True, indent=indent)` (ensure_ascii on).
fn py_json(v: &serde_json::Value, indent: Option<usize>, level: usize, out: &mut String) {
    use serde_json::Value as J;
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (_, Some(u)) => out.push_str(&u.to_string()),
            _ => out.push_str(&super::pystr::py_float(n.as_f64().unwrap_or(f64::NAN))),
        },
        J::String(s) => py_json_str(s, out),
        J::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                py_json(item, indent, level + 1, out);
            }
            newline(out, level);
            out.push(']');
        }
        J::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                py_json_str(k, out);
                out.push_str(": ");
                py_json(&map[k], indent, level + 1, out);
            }
            newline(out, level);
            out.push('}');
        }
    }
}

/// A JSON string as Python writes it with `ensure_ascii=True`.
fn py_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Renders `template` with the values in `ctx` (a JSON object).
pub fn render(
    template: &str,
    ctx: &serde_json::Value,
    opts: JinjaOptions<'_>,
) -> Result<String, JinjaError> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(opts.keep_trailing_newline);
    env.set_undefined_behavior(if opts.strict_undefined {
        UndefinedBehavior::Strict
    } else {
        UndefinedBehavior::Lenient
    });
    env.set_fuel(Some(opts.fuel));
    env.set_recursion_limit(100);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    add_python_filters(&mut env);
    let printed = Arc::new(AtomicUsize::new(0));
    let max_output = opts.max_output;
    // Marking only works when the sentinels cannot already be in the text.
    let marking =
        opts.marks.is_some() && !template.contains([MARK_START, MARK_END]) && !contains_marks(ctx);
    {
        let printed = printed.clone();
        env.set_formatter(move |out, _state, value| {
            let text = py_format(value);
            let total = printed.fetch_add(text.len(), Ordering::Relaxed) + text.len();
            if total > max_output {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("rendered output is larger than {max_output} bytes"),
                ));
            }
            let write = |out: &mut minijinja::Output, s: &str| {
                out.write_str(s)
                    .map_err(|_| Error::new(ErrorKind::WriteFailure, "could not write output"))
            };
            if marking && !text.is_empty() {
                let mut buf = [0u8; 4];
                write(out, MARK_START.encode_utf8(&mut buf))?;
                write(out, &text)?;
                write(out, MARK_END.encode_utf8(&mut buf))
            } else {
                write(out, &text)
            }
        });
    }
    let tmpl = env.template_from_str(template)?;
    let ctx_value = Value::from_serialize(ctx);
    let rendered = tmpl.render(ctx_value)?;
    if rendered.len() > max_output.saturating_mul(2) + template.len() {
        return Err(JinjaError {
            kind: ErrorKind::InvalidOperation,
            message: format!("rendered output is larger than {max_output} bytes"),
            line: None,
            range: None,
        });
    }
    match opts.marks {
        Some(marks) if marking => Ok(unmark(&rendered, marks)),
        _ => Ok(rendered),
    }
}

fn contains_marks(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains([MARK_START, MARK_END]),
        serde_json::Value::Array(a) => a.iter().any(contains_marks),
        serde_json::Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.contains([MARK_START, MARK_END]) || contains_marks(v)),
        _ => false,
    }
}

/// Removes the sentinels and records the byte ranges they enclosed (nesting merges).
fn unmark(s: &str, marks: &mut Marks) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut start = 0;
    for c in s.chars() {
        match c {
            MARK_START => {
                if depth == 0 {
                    start = out.len();
                }
                depth += 1;
            }
            MARK_END => {
                depth = depth.saturating_sub(1);
                if depth == 0 && out.len() > start {
                    marks.ranges.push((start, out.len()));
                }
            }
            c => out.push(c),
        }
    }
    if depth > 0 && out.len() > start {
        marks.ranges.push((start, out.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, d: serde_json::Value) -> Result<String, JinjaError> {
        render(
            t,
            &d,
            JinjaOptions {
                keep_trailing_newline: true,
                strict_undefined: false,
                fuel: 100_000,
                max_output: 1 << 20,
                marks: None,
            },
        )
    }

    #[test]
    fn python_str_of_values() {
        let d = json!({"b": true, "n": null, "l": ["a", 1], "m": {"k": "v"}, "f": 5.0, "i": 3});
        assert_eq!(
            r("{{b}} {{n}} {{l}} {{m}} {{f}} {{i}} {{i/2}}", d).unwrap(),
            "True None ['a', 1] {'k': 'v'} 5.0 3 1.5"
        );
    }

    #[test]
    fn undefined_is_empty_but_attribute_of_undefined_fails() {
        assert_eq!(r("[{{missing}}]", json!({})).unwrap(), "[]");
        assert!(r("{{missing.attr}}", json!({})).is_err());
        assert_eq!(
            r("{% for x in missing %}x{% endfor %}.", json!({})).unwrap(),
            "."
        );
    }

    #[test]
    fn python_methods() {
        let d = json!({"m": {"a": 1, "b": 2}, "s": "hi"});
        assert_eq!(
            r(
                "{% for k, v in m.items() %}{{k}}={{v}};{% endfor %}{{s.upper()}}",
                d
            )
            .unwrap(),
            "a=1;b=2;HI"
        );
    }

    #[test]
    fn syntax_error_has_line() {
        let e = r("line one\n{% for x in %}\n", json!({})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::SyntaxError);
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn fuel_stops_runaway_loops() {
        let e = r(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            json!({}),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::OutOfFuel);
    }

    #[test]
    fn marks_record_variable_output() {
        let mut marks = Marks::default();
        let out = render(
            "a{{x}}b",
            &json!({"x": "XY"}),
            JinjaOptions {
                keep_trailing_newline: true,
                strict_undefined: false,
                fuel: 1000,
                max_output: 1000,
                marks: Some(&mut marks),
            },
        )
        .unwrap();
        assert_eq!(out, "aXYb");
        assert_eq!(marks.ranges, vec![(1, 3)]);
    }
}

#[cfg(test)]
mod dos_tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str) -> Result<String, JinjaError> {
        render(
            t,
            &json!({}),
            JinjaOptions {
                keep_trailing_newline: true,
                strict_undefined: false,
                fuel: 100_000,
                max_output: 1 << 20,
                marks: None,
            },
        )
    }

    #[test]
    fn hostile_templates_fail_fast() {
        for t in [
            "{{ 'a' * 1000000000 }}",
            "{% set s = 'a' * 100000 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
            "{{ range(1000000000)|list|length }}",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            "{{ ('a' * 100000)|replace('a', 'aaaaaaaaaa')|replace('a', 'aaaaaaaaaa') }}",
        ] {
            let started = std::time::Instant::now();
            let res = r(t);
            assert!(
                started.elapsed().as_secs() < 5,
                "{t}: took {:?}",
                started.elapsed()
            );
            if let Ok(out) = res {
                assert!(out.len() <= 4 << 20, "{t}: {} bytes", out.len());
            }
        }
    }
}
