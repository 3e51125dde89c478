//! Role sections of a Prompty body, as the reference runtime's chat parser splits them.
//!
//! A role marker is a line that holds only a role name and a colon: optional leading
//! whitespace, an optional `#` (Markdown heading), the role (case-insensitive), optional
//! attributes `[key=value, key2="v"]`, optional whitespace, `:`. Text before the first
//! marker is a `system` section. A section's content has its leading and trailing blank
//! lines trimmed. Markers inside code fences still count, as in the runtime.

use serde::Serialize;
use serde_json::{Map, Value};

/// Role names that start a section. `system`, `user`, `assistant` are the spec's;
/// `developer` (OpenAI's newer system role), `function` and `tool` are read by the
/// reference runtimes too.
pub const ROLES: &[&str] = &[
    "system",
    "user",
    "assistant",
    "developer",
    "function",
    "tool",
];

/// One role section of a Prompty body (`system:`, `user:`...), for clients that show a prompt's messages before rendering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Lowercase role name.
    pub role: String,
    /// The section's text, without its role line.
    pub content: String,
    /// 1-based file line of the marker (or, for leading text, of its first line).
    pub line: u32,
    /// The role line's `[key=value]` attributes, if any.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

/// Recognises a marker line: `(role, attributes)`.
pub fn role_marker(line: &str) -> Option<(String, Map<String, Value>)> {
    let s = line.trim();
    let s = s.strip_prefix('#').unwrap_or(s).trim_start();
    let s = s.strip_suffix(':')?.trim_end();
    let (name, attrs) = match s.find('[') {
        Some(i) => (&s[..i], Some(s[i..].strip_prefix('[')?.strip_suffix(']')?)),
        None => (s, None),
    };
    let name = name.trim_end();
    let role = ROLES.iter().find(|r| r.eq_ignore_ascii_case(name))?;
    let mut map = Map::new();
    if let Some(attrs) = attrs {
        for pair in attrs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=')?;
            let k = k.trim();
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return None;
            }
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            map.insert(k.to_owned(), Value::String(v.to_owned()));
        }
    }
    Some(((*role).to_owned(), map))
}

/// Splits `body` (which starts on file line `first_line`) into sections.
pub fn split(body: &str, first_line: u32) -> Vec<Section> {
    let mut out = Vec::new();
    let mut current: Option<(String, Map<String, Value>, u32)> = None;
    let mut lines: Vec<&str> = Vec::new();
    let flush = |current: Option<(String, Map<String, Value>, u32)>,
                 lines: &mut Vec<&str>,
                 out: &mut Vec<Section>| {
        let start = lines.iter().position(|l| !l.trim().is_empty());
        let end = lines.iter().rposition(|l| !l.trim().is_empty());
        let content = match (start, end) {
            (Some(s), Some(e)) => lines[s..=e].join("\n"),
            _ => String::new(),
        };
        match current {
            Some((role, attributes, line)) => out.push(Section {
                role,
                content,
                line,
                attributes,
            }),
            // Leading text before any marker: a system message, if it has any text.
            None if !content.is_empty() => out.push(Section {
                role: "system".into(),
                content,
                line: first_line.saturating_add(super::position::to_u32(start.unwrap_or(0))),
                attributes: Map::new(),
            }),
            None => {}
        }
        lines.clear();
    };
    for (i, line) in body.split('\n').enumerate() {
        if let Some((role, attrs)) = role_marker(line) {
            flush(current.take(), &mut lines, &mut out);
            current = Some((
                role,
                attrs,
                first_line.saturating_add(super::position::to_u32(i)),
            ));
        } else {
            lines.push(line);
        }
    }
    flush(current, &mut lines, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        for l in [
            "system:",
            "USER:",
            "  assistant :",
            "# system:",
            "#user:",
            "developer:",
            "tool:  ",
        ] {
            assert!(role_marker(l).is_some(), "{l}");
        }
        for l in [
            "system: hi",
            "systems:",
            "## system:",
            "user",
            "user::",
            "question:",
            "user[x]:",
        ] {
            assert!(role_marker(l).is_none(), "{l}");
        }
        let (role, attrs) = role_marker("assistant[nonce=abc123, name=\"Bob\"]:").unwrap();
        assert_eq!(role, "assistant");
        assert_eq!(attrs["nonce"], "abc123");
        assert_eq!(attrs["name"], "Bob");
    }

    #[test]
    fn splits_and_trims() {
        let body =
            "Intro text\n\nsystem:\n\nYou are helpful.\n\n# user:\n{{question}}\n\nassistant:\n";
        let s = split(body, 10);
        let got: Vec<_> = s
            .iter()
            .map(|s| (s.role.as_str(), s.content.as_str(), s.line))
            .collect();
        assert_eq!(
            got,
            [
                ("system", "Intro text", 10),
                ("system", "You are helpful.", 12),
                ("user", "{{question}}", 16),
                ("assistant", "", 19)
            ]
        );
    }

    #[test]
    fn no_markers_is_one_system_section() {
        let s = split("\n\n  Just text\nmore\n", 5);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].content, "  Just text\nmore");
        assert_eq!(s[0].line, 7);
        assert!(split("  \n\n", 1).is_empty());
    }
}
