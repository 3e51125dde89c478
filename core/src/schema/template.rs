//! Template variables a prompt uses but does not declare in `inputs` (nor in a v1
//! `sample`): almost always a typo that renders as a hole. `check` reports each as a
//! warning at its first use in the file.
//!
//! Which names: minijinja's own analysis for Jinja templates (it knows `set`, `for`
//! targets, macros), a scan of top-level tags for Mustache (names inside a section may be
//! fields of the section's item, so they are not judged). Where: the first `{{ }}` /
//! `{% %}` tag of the body that mentions the name as a whole word.

use crate::model::Document;
use crate::render::config::Plan;
use crate::render::{Engine, EnvMap, PromptSource};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One undeclared variable and where it is first used (1-based, file-relative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndeclaredVariable {
    /// The variable's name.
    pub name: String,
    /// 1-based line in the file.
    pub line: u32,
    /// 1-based column (characters) in the file.
    pub column: u32,
}

/// Names the template environment provides itself (minijinja's globals and loop
/// variables), never inputs.
const BUILTINS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "lipsum",
    "cycler",
    "joiner",
    "debug",
    "loop",
    "self",
    "varargs",
    "kwargs",
    "caller",
    "super",
];

/// Every template variable of `doc` (a prompt) not declared by its inputs schema, in
/// order of first use. Empty for a persona, a template that does not parse (rendering
/// reports that) or a format we do not render.
pub fn undeclared_template_variables(doc: &Document) -> Vec<UndeclaredVariable> {
    let Ok(src) = PromptSource::from_document(doc) else {
        return Vec::new();
    };
    let empty = serde_json::Value::Object(Default::default());
    let fm = if src.frontmatter.is_null() {
        &empty
    } else {
        src.frontmatter
    };
    let Ok(plan) = Plan::from_frontmatter(fm, src.shape, &EnvMap::new(), &BTreeMap::new()) else {
        return Vec::new();
    };
    let names: BTreeSet<String> = match plan.engine {
        Engine::Jinja2 => {
            let env = minijinja::Environment::new();
            match env.template_from_str(src.body) {
                Ok(t) => t.undeclared_variables(false).into_iter().collect(),
                Err(_) => return Vec::new(),
            }
        }
        Engine::Mustache => mustache_top_level_names(src.body),
    };
    let schema = super::of_document(doc);
    let declared = schema["inputs"]["properties"].as_object();
    let mut out: Vec<(usize, String)> = names
        .into_iter()
        .filter(|n| !BUILTINS.contains(&n.as_str()))
        .filter(|n| declared.is_none_or(|d| !d.contains_key(n)))
        .map(|n| (first_use(src.body, &n).unwrap_or(0), n))
        .collect();
    out.sort();
    out.into_iter()
        .map(|(offset, name)| {
            let before = &src.body[..offset];
            let line = before.matches('\n').count();
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[line_start..].chars().count() + 1;
            UndeclaredVariable {
                name,
                line: src
                    .body_line
                    .saturating_add(u32::try_from(line).unwrap_or(u32::MAX)),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            }
        })
        .collect()
}

/// The tags of a template: `(offset of the tag's inner text, inner text)` for each
/// `{{ ... }}`, `{{{ ... }}}` and `{% ... %}`.
fn tags(body: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(rel) = body[i..].find('{') {
        let start = i + rel;
        let rest = &body[start..];
        let close = if rest.starts_with("{{") {
            "}}"
        } else if rest.starts_with("{%") {
            "%}"
        } else {
            i = start + 1;
            continue;
        };
        let inner_start = start + 2;
        match body[inner_start..].find(close) {
            Some(end) => {
                out.push((inner_start, &body[inner_start..inner_start + end]));
                i = inner_start + end + 2;
            }
            None => break,
        }
    }
    out
}

/// Byte offset in `body` of the first whole-word use of `name` inside a tag.
fn first_use(body: &str, name: &str) -> Option<usize> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    for (at, inner) in tags(body) {
        let mut from = 0;
        while let Some(rel) = inner[from..].find(name) {
            let s = from + rel;
            let e = s + name.len();
            let before_ok = !inner[..s].chars().next_back().is_some_and(word);
            let after_ok = !inner[e..].chars().next().is_some_and(word);
            if before_ok && after_ok {
                return Some(at + s);
            }
            from = e;
        }
    }
    None
}

/// Names used by Mustache tags outside any section (`{{a}}`, `{{{a}}}`, `{{&a}}`,
/// `{{#a}}`, `{{^a}}`; `a.b` counts as `a`).
fn mustache_top_level_names(body: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut depth = 0usize;
    for (_, inner) in tags(body) {
        let t = inner.trim_start_matches('{').trim_end_matches('}').trim();
        let (sigil, name) = match t.chars().next() {
            Some(c @ ('#' | '^' | '/' | '&' | '!' | '>' | '=')) => (Some(c), t[1..].trim()),
            _ => (None, t),
        };
        match sigil {
            Some('!' | '>') => continue,
            // Custom delimiters: the rest cannot be scanned with `{{ }}`.
            Some('=') => break,
            Some('/') => {
                depth = depth.saturating_sub(1);
                continue;
            }
            _ => {}
        }
        let head = name.split('.').next().unwrap_or("").trim();
        if depth == 0 && !head.is_empty() && head != "." {
            out.insert(head.to_owned());
        }
        if matches!(sigil, Some('#' | '^')) {
            depth += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_document, ParseOptions};

    fn undeclared(text: &str) -> Vec<(String, u32, u32)> {
        let doc = parse_document(
            "prompts/p.prompty",
            text.as_bytes(),
            &ParseOptions::default(),
        )
        .expect("parses");
        undeclared_template_variables(&doc)
            .into_iter()
            .map(|u| (u.name, u.line, u.column))
            .collect()
    }

    #[test]
    fn jinja_undeclared_names_with_positions() {
        let t = "---\nname: x\ninputs:\n  question:\n    type: string\n---\nsystem:\nHi {{ qestion }}.\n{% for d in docs %}{{ d.title }} {{ loop.index }}{% endfor %}\n{% set n = 1 %}{{ n }} {{ question }}\n";
        assert_eq!(
            undeclared(t),
            [("qestion".into(), 8, 7), ("docs".into(), 9, 13)]
        );
    }

    #[test]
    fn sample_names_count_as_declared() {
        let t = "---\nname: x\nsample:\n  who: Ann\n---\nuser:\n{{who}}\n";
        assert!(undeclared(t).is_empty());
    }

    #[test]
    fn mustache_top_level_only() {
        let t = "---\nname: x\nmodel:\n  id: m\ntemplate:\n  format: mustache\ninputs:\n  - name: items\n    kind: array\n---\nuser:\n{{#items}}{{name}}{{/items}} {{{raw}}} {{! note }} {{user.name}}\n";
        assert_eq!(
            undeclared(t),
            [("raw".into(), 12, 33), ("user".into(), 12, 54)]
        );
    }

    #[test]
    fn broken_templates_and_personas_give_nothing() {
        assert!(undeclared("---\nname: x\n---\nuser:\n{% for %}\n").is_empty());
        let p = parse_document(
            "personas/a.json",
            br#"{"name": "A"}"#,
            &ParseOptions::default(),
        )
        .expect("persona");
        assert!(undeclared_template_variables(&p).is_empty());
    }
}
