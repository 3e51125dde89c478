//! Persona files: one JSON object per `*.json` file.
//!
//! - `content` is the object exactly as written (key order kept).
//! - `body` is the persona's main prompt: the first string among [`BODY_KEYS`].
//! - `name`: `name` (else `title`), else the file stem; `description`; `tags`;
//!   `authors` from `authors`, else `author`, else `contributor`.
//! - `id`: the object's own `id` string, else derived from the path
//!   (see [`super::derived_id`]).
//!
//! serde_json refuses nesting deeper than 128 with a positioned error (it never
//! overflows the stack), and duplicate keys keep the last value, as `JSON.parse` does.

use super::fields::{self, FieldError};
use super::position::{char_column, pos_of_offset, Pos};
use super::ParseError;
use crate::model::{ContentHash, DocType, Document, DocumentId};
use serde_json::Value;

/// Keys that hold a persona's prompt text, most specific first.
pub const BODY_KEYS: &[&str] = &[
    "system_prompt",
    "systemPrompt",
    "system",
    "prompt",
    "instructions",
    "persona",
    "content",
    "text",
];

/// `text` is the decoded file (BOM stripped, LF line ends); `bytes` the original.
pub fn parse(path: &str, text: &str, bytes: &[u8]) -> Result<Document, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|e| json_error(path, text, &e))?;
    let Value::Object(obj) = &value else {
        let first = text.len() - text.trim_start().len();
        return Err(ParseError::at(
            path,
            Some(pos_of_offset(text.as_bytes(), first)),
            format!(
                "a persona must be a JSON object ({{...}}), found {}",
                fields::describe(&value)
            ),
        ));
    };
    let located = |e: FieldError| ParseError::at(path, key_position(text, &e.pointer), e.message);

    let id = fields::id_or_derived(obj, path).map_err(located)?;
    let name = match fields::optional_string(obj, "name", "").map_err(located)? {
        Some(n) => Some(n),
        None => fields::optional_string(obj, "title", "").map_err(located)?,
    };
    let description = fields::optional_string(obj, "description", "").map_err(located)?;
    let tags = match obj.get("tags") {
        Some(v) => fields::string_list(v, "/tags", "tags").map_err(located)?,
        None => Vec::new(),
    };
    let authors = ["authors", "author", "contributor"]
        .iter()
        .find_map(|k| obj.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)));
    let authors = match authors {
        Some((k, v)) => fields::string_list(v, &format!("/{k}"), k).map_err(located)?,
        None => Vec::new(),
    };
    let body = BODY_KEYS
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned();

    Ok(Document {
        id: DocumentId(id),
        doc_type: DocType::Persona,
        name: fields::name_or_stem(name, path),
        path: path.to_owned(),
        hash: ContentHash::of(bytes),
        description,
        tags,
        authors,
        body,
        content: value,
    })
}

fn json_error(path: &str, text: &str, e: &serde_json::Error) -> ParseError {
    // serde_json's Display appends " at line L column C"; we report those separately.
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => &full,
    };
    let message = if message.contains("recursion limit exceeded") {
        "JSON nesting is deeper than 128 levels".to_owned()
    } else {
        format!("invalid JSON: {message}")
    };
    let pos = (e.line() > 0).then(|| {
        Pos::new(
            super::position::to_u32(e.line()),
            char_column(text, e.line(), e.column()),
        )
    });
    ParseError::at(path, pos, message)
}

/// Where the value of the top-level key named by `pointer`'s first segment starts, so a
/// wrong-typed field is reported on its line. A small scanner over the JSON text that
/// tracks strings and depth; `None` if not found.
fn key_position(text: &str, pointer: &str) -> Option<Pos> {
    let key = pointer.strip_prefix('/')?.split('/').next()?;
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(bytes.len());
                if depth == 1 && text.get(start..end) == Some(key) {
                    let mut j = end + 1;
                    while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if bytes.get(j) == Some(&b':') {
                        j += 1;
                        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        return Some(pos_of_offset(bytes, j));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where the value at `at` (a path from the root) starts in the JSON `text`, for schema
/// violations; with duplicate keys the last one counts, as in parsing. A scanner that
/// walks only the path, skipping other values by tracking strings and depth: linear in
/// the text, never recursive. `None` if the path is not there.
#[cfg(feature = "validate")]
pub(crate) fn value_position(text: &str, at: &[crate::schema::collection::Segment]) -> Option<Pos> {
    use crate::schema::collection::Segment;
    let b = text.as_bytes();
    let ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    // Index just after the string starting at `i` (a `"`).
    let string_end = |mut i: usize| {
        i += 1;
        while i < b.len() && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        (i < b.len()).then_some(i + 1)
    };
    // Index just after the value starting at `i`.
    let value_end = |i: usize| -> Option<usize> {
        match b.get(i)? {
            b'"' => string_end(i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = string_end(j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                None
            }
            _ => {
                let mut j = i;
                while j < b.len()
                    && !matches!(b[j], b',' | b'}' | b']')
                    && !b[j].is_ascii_whitespace()
                {
                    j += 1;
                }
                Some(j)
            }
        }
    };
    let mut i = ws(0);
    for seg in at {
        match (b.get(i)?, seg) {
            (b'{', Segment::Key(key)) => {
                let mut found = None;
                i = ws(i + 1);
                while b.get(i) == Some(&b'"') {
                    let end = string_end(i)?;
                    let k: String = serde_json::from_str(text.get(i..end)?).ok()?;
                    i = ws(end);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    i = ws(i + 1);
                    if &k == key {
                        found = Some(i);
                    }
                    i = ws(value_end(i)?);
                    if b.get(i) == Some(&b',') {
                        i = ws(i + 1);
                    }
                }
                i = found?;
            }
            (b'[', Segment::Index(n)) => {
                i = ws(i + 1);
                for _ in 0..*n {
                    i = ws(value_end(i)?);
                    if b.get(i) != Some(&b',') {
                        return None;
                    }
                    i = ws(i + 1);
                }
            }
            _ => return None,
        }
    }
    Some(pos_of_offset(b, i))
}

#[cfg(test)]
mod tests {
    use super::super::{parse_document, ParseOptions};
    use super::*;
    use serde_json::json;

    fn parse_ok(path: &str, s: &str) -> Document {
        parse_document(path, s.as_bytes(), &ParseOptions::default()).expect("parses")
    }

    fn parse_err(s: &str) -> ParseError {
        parse_document("personas/p.json", s.as_bytes(), &ParseOptions::default())
            .expect_err("fails")
    }

    #[test]
    fn awesome_style_persona() {
        let d = parse_ok(
            "personas/0002-linux-terminal.json",
            r#"{"name": "Linux Terminal", "system_prompt": "Act as a terminal.", "for_devs": true, "contributor": "f"}"#,
        );
        assert_eq!(d.id.as_str(), "personas/0002-linux-terminal");
        assert_eq!(d.doc_type, DocType::Persona);
        assert_eq!(d.name, "Linux Terminal");
        assert_eq!(d.body, "Act as a terminal.");
        assert_eq!(d.authors, ["f"]);
        assert_eq!(d.content["for_devs"], json!(true));
        assert_eq!(d.path, "personas/0002-linux-terminal.json");
        assert_eq!(d.hash, ContentHash::of(br#"{"name": "Linux Terminal", "system_prompt": "Act as a terminal.", "for_devs": true, "contributor": "f"}"#));
    }

    #[test]
    fn own_id_and_fields() {
        let d = parse_ok(
            "personas/x.json",
            r#"{"id": "support-bot", "title": "Support", "description": "Helps", "tags": ["a", "b"], "authors": ["Ann"], "prompt": "Be kind", "zzz": {"nested": [1]}}"#,
        );
        assert_eq!(d.id.as_str(), "support-bot");
        assert_eq!(d.name, "Support");
        assert_eq!(d.description.as_deref(), Some("Helps"));
        assert_eq!(d.tags, ["a", "b"]);
        assert_eq!(d.body, "Be kind");
        let keys: Vec<_> = d.content.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "id",
                "title",
                "description",
                "tags",
                "authors",
                "prompt",
                "zzz"
            ]
        );
    }

    #[test]
    fn body_key_precedence_skips_non_strings() {
        let d = parse_ok(
            "personas/x.json",
            r#"{"system": {"a": 1}, "instructions": "I", "prompt": "P"}"#,
        );
        assert_eq!(d.body, "P");
        let d = parse_ok("personas/x.json", r#"{"other": 1}"#);
        assert_eq!(d.body, "");
        assert_eq!(d.name, "x");
    }

    #[test]
    fn wrong_top_level_types() {
        for (s, found) in [
            ("[1, 2]", "a list"),
            ("\"x\"", "a string"),
            ("\n  42", "a number"),
            ("null", "null"),
        ] {
            let e = parse_err(s);
            assert!(
                e.message
                    .contains(&format!("must be a JSON object ({{...}}), found {found}")),
                "{e}"
            );
        }
        assert_eq!(parse_err("\n  42").line, Some(2));
    }

    #[test]
    fn wrong_field_types_point_at_the_field() {
        let e = parse_err("{\n  \"name\": 12\n}");
        assert_eq!((e.line, e.column), (Some(2), Some(11)));
        assert!(e
            .message
            .contains("`name` must be a string, found a number"));
        let e = parse_err("{\"a\": {\"id\": 1},\n \"id\": [1]}");
        assert_eq!((e.line, e.column), (Some(2), Some(8)));
        let e = parse_err("{\"tags\": [\"a\", [\"b\"]]}");
        assert!(e.message.contains("each of `tags`"));
        assert_eq!(e.line, Some(1));
        assert!(parse_err(r#"{"id": "  "}"#)
            .message
            .contains("must not be empty"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_err("{\n  \"name\": \"a\",\n  \"x\": @\n}");
        assert_eq!(e.line, Some(3));
        assert!(e.message.starts_with("invalid JSON:"), "{e}");
        assert!(!e.message.contains(" at line "));
        let e = parse_err("{\"é\": 1,, }");
        assert_eq!((e.line, e.column), (Some(1), Some(9)));
        let e = parse_err("{\"a\": 1} trailing");
        assert!(e.message.contains("trailing"), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let s = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse_err(&s);
        assert!(e.message.contains("deeper than 128"), "{e}");
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn bom_and_crlf() {
        let d = parse_ok(
            "personas/x.json",
            "\u{FEFF}{\r\n  \"name\": \"N\",\r\n  \"prompt\": \"a\\r\\nb\"\r\n}\r\n",
        );
        assert_eq!(d.name, "N");
        assert_eq!(d.body, "a\r\nb");
        let e = parse_document(
            "personas/x.json",
            b"\xEF\xBB\xBF{\r\n\"name\": 1}",
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn duplicate_keys_keep_the_last() {
        let d = parse_ok("personas/x.json", r#"{"name": "a", "name": "b"}"#);
        assert_eq!(d.name, "b");
    }

    #[cfg(feature = "validate")]
    #[test]
    fn schema_violations_are_located_at_the_value() {
        use crate::schema::{CollectionSchemas, UserSchema};
        use std::collections::BTreeMap;
        use std::sync::Arc;
        let url = "file:///lib/schemas/persona.schema.json";
        let schema = json!({
            "required": ["name"],
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}},
                "meta": {"properties": {"level": {"enum": [1, 2]}}}
            }
        });
        let opts = ParseOptions {
            schemas: CollectionSchemas {
                personas: Some(Arc::new(
                    UserSchema::compile(url, &BTreeMap::from([(url.to_owned(), schema)])).unwrap(),
                )),
                prompts: None,
            },
            ..ParseOptions::default()
        };
        let text = "{\n  \"name\": \"x\",\n  \"tags\": [\"a\", \"b\",\n     7],\n  \"meta\": {\"x\": [1, {\"y\": \"]\"}], \"level\": 3}\n}";
        let e = parse_document("personas/p.json", text.as_bytes(), &opts).unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some(6)), "{e}");
        assert!(
            e.message.starts_with("tags[2]: expected a string, found the number 7; 5:43: meta.level: expected one of 1, 2, found the number 3"),
            "{e}"
        );
        let ok = "{\"name\": \"x\", \"tags\": [\"a\"]}";
        assert!(parse_document("personas/p.json", ok.as_bytes(), &opts).is_ok());
        let e = parse_document("personas/p.json", b"{}", &opts).unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(1)), "{e}");
        assert_eq!(e.message, "document: missing required field `name`");
    }
}
