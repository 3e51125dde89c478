//! A Mustache renderer that behaves like the one each reference runtime uses: `chevron`
//! (prompty 2.x) and prompty 0.1.x's vendored port of it. That means chevron's
//! standalone-line rules, its scope lookup (outer scopes searched when a dotted name
//! misses, list indices by number), Python `str()` of non-strings, and HTML escaping of
//! `& " < >` for `{{x}}` (none for `{{{x}}}` / `{{& x}}`). Partials render as nothing
//! (the references look for files next to the process; the core has no files).
//!
//! Work is bounded by a step budget (nested list sections multiply).

use super::pystr::{is_py_space, py_str};
use super::roles::Marks;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Literal(String),
    Variable(String),
    NoEscape(String),
    Section(String),
    Inverted(String),
    End(String),
    Partial(String),
    SetDelimiter,
}

/// A template error at a byte offset of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MustacheError {
    /// What is wrong, for humans.
    pub message: String,
    /// Byte offset in the template, when known.
    pub offset: Option<usize>,
}

fn err(message: impl Into<String>, offset: Option<usize>) -> MustacheError {
    MustacheError {
        message: message.into(),
        offset,
    }
}

fn py_isspace_str(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_py_space)
}

/// chevron's `tokenize`, eagerly.
fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>, MustacheError> {
    let mut out = Vec::new();
    let mut rest: &str = src;
    let mut is_standalone = true;
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut l_del = String::from("{{");
    let mut r_del = String::from("}}");
    let off = |rest: &str| src.len() - rest.len();
    while !rest.is_empty() {
        // grab_literal
        let (mut literal, after) = match rest.split_once(l_del.as_str()) {
            Some((lit, after)) => (lit.to_owned(), after),
            None => {
                out.push((Tok::Literal(rest.to_owned()), off(rest)));
                break;
            }
        };
        let tag_off = off(after) - l_del.len();
        rest = after;
        if rest.is_empty() {
            out.push((Tok::Literal(literal), tag_off));
            break;
        }
        // l_sa_check
        if literal.contains('\n') || is_standalone {
            let padding = literal.rsplit('\n').next().unwrap_or("");
            is_standalone = padding.is_empty() || py_isspace_str(padding);
        } else {
            is_standalone = false;
        }
        // parse_tag
        let (tag, after) = match rest.split_once(r_del.as_str()) {
            Some(x) => x,
            None => return Err(err("unclosed tag", Some(tag_off))),
        };
        rest = after;
        let first = tag.chars().next();
        let (mut kind, body) = match first {
            Some('!') => ("comment", &tag[1..]),
            Some('#') => ("section", &tag[1..]),
            Some('^') => ("inverted", &tag[1..]),
            Some('/') => ("end", &tag[1..]),
            Some('>') => ("partial", &tag[1..]),
            Some('=') => ("setdel?", &tag[1..]),
            Some('{') => ("noescape?", &tag[1..]),
            Some('&') => ("noescape", &tag[1..]),
            // An empty tag `{{}}` is a variable named "" (chevron indexes tag[0] and
            // raises; we call it an error below).
            _ => ("variable", tag),
        };
        if tag.is_empty() {
            return Err(err("empty tag", Some(tag_off)));
        }
        let mut body = body.to_owned();
        if kind == "setdel?" {
            match body.strip_suffix('=') {
                Some(b) => {
                    body = b.to_owned();
                    kind = "setdel";
                }
                None => return Err(err("unclosed set delimiter tag", Some(tag_off))),
            }
        } else if kind == "noescape?" && l_del == "{{" && r_del == "}}" && rest.starts_with('}') {
            rest = &rest[1..];
            kind = "noescape";
        }
        let key = super::pystr::py_strip(&body).to_owned();
        let tok = match kind {
            "setdel" => {
                let dels: Vec<&str> = key.split(' ').collect();
                let (l, r) = (dels[0], dels[dels.len() - 1]);
                if l.is_empty() || r.is_empty() {
                    return Err(err("invalid set delimiter tag", Some(tag_off)));
                }
                l_del = l.to_owned();
                r_del = r.to_owned();
                Some(Tok::SetDelimiter)
            }
            "section" => {
                open.push((key.clone(), tag_off));
                Some(Tok::Section(key))
            }
            "inverted" => {
                open.push((key.clone(), tag_off));
                Some(Tok::Inverted(key))
            }
            "end" => {
                match open.pop() {
                    None => {
                        return Err(err(
                            format!("trying to close tag \"{key}\", which was not opened"),
                            Some(tag_off),
                        ))
                    }
                    Some((last, _)) if last != key => {
                        return Err(err(
                            format!("trying to close tag \"{key}\"; last open tag is \"{last}\""),
                            Some(tag_off),
                        ))
                    }
                    _ => {}
                }
                Some(Tok::End(key))
            }
            "partial" => Some(Tok::Partial(key)),
            "noescape" => Some(Tok::NoEscape(key)),
            "variable" => Some(Tok::Variable(key)),
            // "comment" and an unterminated "{" tag ("noescape?") yield nothing.
            _ => None,
        };
        // r_sa_check
        let is_var = matches!(tok, Some(Tok::Variable(_)) | Some(Tok::NoEscape(_)));
        is_standalone = if is_standalone && !is_var {
            let first_line = rest.split('\n').next().unwrap_or("");
            first_line.is_empty() || py_isspace_str(first_line)
        } else {
            false
        };
        if is_standalone {
            rest = match rest.split_once('\n') {
                Some((_, after)) => after,
                None => rest,
            };
            if !matches!(tok, Some(Tok::Partial(_))) {
                literal = literal.trim_end_matches(' ').to_owned();
            }
        }
        if !literal.is_empty() {
            out.push((Tok::Literal(literal), tag_off));
        }
        if let Some(t) = tok {
            out.push((t, tag_off));
        }
    }
    if let Some((name, at)) = open.pop() {
        return Err(err(
            format!("the tag \"{name}\" was never closed"),
            Some(at),
        ));
    }
    Ok(out)
}

/// Python truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// `x in (0, False)` in Python.
fn is_zero_or_false(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// Python `int(s)` for an index (signs, surrounding spaces, underscores between digits).
fn py_int(s: &str) -> Option<i64> {
    let t = super::pystr::py_strip(s);
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if !clean.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i64 = clean.parse().ok()?;
    Some(if neg { -n } else { n })
}

fn py_index<T>(items: &[T], i: i64) -> Option<&T> {
    let len = items.len() as i64;
    let idx = if i < 0 { len + i } else { i };
    if idx < 0 {
        return None;
    }
    items.get(idx as usize)
}

/// chevron's `_get_key`. `scopes` is innermost-last.
fn get_key(key: &str, scopes: &[Value], v1: bool) -> Value {
    if key == "." {
        return scopes.last().cloned().unwrap_or(Value::Null);
    }
    'scopes: for scope in scopes.iter().rev() {
        if v1 && is_zero_or_false(scope) {
            return scope.clone();
        }
        let mut cur = scope.clone();
        for child in key.split('.') {
            if v1 && is_zero_or_false(&cur) {
                return cur;
            }
            let next = match &cur {
                Value::Object(m) => m.get(child).cloned(),
                Value::Array(a) => py_int(child).and_then(|i| py_index(a, i).cloned()),
                Value::String(s) => py_int(child).and_then(|i| {
                    let chars: Vec<char> = s.chars().collect();
                    py_index(&chars, i).map(|c| Value::String(c.to_string()))
                }),
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None => continue 'scopes,
            }
        }
        if is_zero_or_false(&cur) {
            return cur;
        }
        return if truthy(&cur) {
            cur
        } else {
            Value::String(String::new())
        };
    }
    Value::String(String::new())
}

fn html_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

struct Ctx<'m> {
    v1: bool,
    budget: u64,
    max_output: usize,
    marks: Option<&'m mut Marks>,
}

fn render_tokens(
    toks: &[(Tok, usize)],
    scopes: &mut Vec<Value>,
    out: &mut String,
    ctx: &mut Ctx<'_>,
) -> Result<(), MustacheError> {
    let mut i = 0;
    while i < toks.len() {
        let (tok, at) = &toks[i];
        i += 1;
        if ctx.budget == 0 {
            return Err(err(
                "template did too much work (step limit reached)",
                Some(*at),
            ));
        }
        ctx.budget -= 1;
        if out.len() > ctx.max_output {
            return Err(err("rendered output is too large", Some(*at)));
        }
        let current = match scopes.last() {
            Some(s) => s.clone(),
            None => return Err(err("section end without a scope", Some(*at))),
        };
        if let Tok::End(_) = tok {
            scopes.pop();
            continue;
        }
        if !truthy(&current) && scopes.len() != 1 {
            if matches!(tok, Tok::Section(_) | Tok::Inverted(_)) {
                scopes.push(Value::Bool(false));
            }
            continue;
        }
        match tok {
            Tok::Literal(s) => out.push_str(s),
            Tok::Variable(key) | Tok::NoEscape(key) => {
                let mut thing = get_key(key, scopes, ctx.v1);
                if matches!(tok, Tok::Variable(_)) && thing == Value::Bool(true) && key == "." {
                    thing = scopes.iter().rev().nth(1).cloned().unwrap_or(Value::Null);
                }
                let text = py_str(&thing);
                let start = out.len();
                if matches!(tok, Tok::Variable(_)) {
                    html_escape(&text, out);
                } else {
                    out.push_str(&text);
                }
                if let Some(m) = ctx.marks.as_deref_mut() {
                    if out.len() > start {
                        m.ranges.push((start, out.len()));
                    }
                }
            }
            Tok::Section(key) => {
                let scope = get_key(key, scopes, ctx.v1);
                if let Value::Array(items) = scope {
                    let mut depth = 0i64;
                    let begin = i;
                    while i < toks.len() {
                        match &toks[i].0 {
                            Tok::Section(k) if k == key => depth += 1,
                            Tok::End(k) if k == key => {
                                depth -= 1;
                                if depth < 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    let inner = &toks[begin..i.min(toks.len())];
                    i += 1; // the matching end tag is consumed
                    for item in items {
                        let mut nested = scopes.clone();
                        nested.push(item);
                        render_tokens(inner, &mut nested, out, ctx)?;
                    }
                } else {
                    scopes.push(scope);
                }
            }
            Tok::Inverted(key) => {
                let scope = get_key(key, scopes, ctx.v1);
                scopes.push(Value::Bool(!truthy(&scope)));
            }
            Tok::Partial(_) | Tok::SetDelimiter | Tok::End(_) => {}
        }
    }
    Ok(())
}

/// Options for one Mustache render.
pub struct MustacheOptions<'m> {
    /// prompty 0.1.x's variant of the scope lookup (`0`/`False` scopes short-circuit).
    pub v1: bool,
    /// Step budget, so a template cannot run forever.
    pub max_steps: u64,
    /// Upper bound on the output, in bytes.
    pub max_output: usize,
    /// When set, receives the byte ranges of variable output.
    pub marks: Option<&'m mut Marks>,
}

/// Renders `template` with `data` as the root scope.
pub fn render(
    template: &str,
    data: &Value,
    opts: MustacheOptions<'_>,
) -> Result<String, MustacheError> {
    let toks = tokenize(template)?;
    let mut out = String::new();
    let mut scopes = vec![data.clone()];
    let mut ctx = Ctx {
        v1: opts.v1,
        budget: opts.max_steps,
        max_output: opts.max_output,
        marks: opts.marks,
    };
    render_tokens(&toks, &mut scopes, &mut out, &mut ctx)?;
    if out.len() > ctx.max_output {
        return Err(err("rendered output is too large", None));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, d: Value) -> String {
        render(
            t,
            &d,
            MustacheOptions {
                v1: false,
                max_steps: 100_000,
                max_output: 1 << 20,
                marks: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn escaping() {
        let d = json!({"x": "<a href=\"q\">&'</a>"});
        assert_eq!(
            r("{{x}}", d.clone()),
            "&lt;a href=&quot;q&quot;&gt;&amp;'&lt;/a&gt;"
        );
        assert_eq!(r("{{{x}}}", d.clone()), "<a href=\"q\">&'</a>");
        assert_eq!(r("{{& x}}", d), "<a href=\"q\">&'</a>");
    }

    #[test]
    fn sections_inverted_comments() {
        let d = json!({"items": [{"n": 1}, {"n": 2}], "yes": true, "no": false, "name": "A", "obj": {"k": "v"}});
        assert_eq!(r("{{#items}}<{{n}}>{{/items}}", d.clone()), "<1><2>");
        assert_eq!(r("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}", d.clone()), "Y");
        assert_eq!(r("{{^no}}not{{/no}}{{^yes}}X{{/yes}}", d.clone()), "not");
        assert_eq!(r("a{{! a comment }}b", d.clone()), "ab");
        assert_eq!(r("{{#obj}}{{k}}{{name}}{{/obj}}", d.clone()), "vA");
        assert_eq!(r("{{obj.k}} {{missing}} {{items.1.n}}", d.clone()), "v  2");
        assert_eq!(
            r(
                "{{#items}}{{.}}{{/items}}",
                json!({"items": ["a", 1, 2.5, null]})
            ),
            "a12.5"
        );
        assert_eq!(
            r("{{x}}", json!({"x": [1, "a", {"b": null}]})),
            "[1, &#x27;a&#x27;, {&#x27;b&#x27;: None}]".replace("&#x27;", "'")
        );
    }

    #[test]
    fn standalone_lines_vanish() {
        let d = json!({"items": [1, 2]});
        assert_eq!(
            r("start\n{{#items}}\n- {{.}}\n{{/items}}\nend\n", d),
            "start\n- 1\n- 2\nend\n"
        );
        assert_eq!(r("a\n  {{! c }}  \nb", json!({})), "a\nb");
    }

    #[test]
    fn errors_have_offsets() {
        let e = render(
            "ab{{#x}}",
            &json!({}),
            MustacheOptions {
                v1: false,
                max_steps: 10,
                max_output: 10,
                marks: None,
            },
        )
        .unwrap_err();
        assert_eq!(e.offset, Some(2));
        let e = render(
            "ab {{x",
            &json!({}),
            MustacheOptions {
                v1: false,
                max_steps: 10,
                max_output: 10,
                marks: None,
            },
        )
        .unwrap_err();
        assert_eq!(e.offset, Some(3));
        assert!(tokenize("{{/x}}").is_err());
        assert!(tokenize("{{#a}}{{/b}}").is_err());
    }

    #[test]
    fn budget_bounds_nested_lists() {
        let big: Vec<u32> = (0..1000).collect();
        let e = render(
            "{{#a}}{{#a}}{{#a}}x{{/a}}{{/a}}{{/a}}",
            &json!({"a": big}),
            MustacheOptions {
                v1: false,
                max_steps: 100_000,
                max_output: 1 << 20,
                marks: None,
            },
        );
        assert!(e.is_err());
    }
}
