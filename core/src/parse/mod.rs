//! Bytes of one library file → a [`Document`], or a [`ParseError`] that says where and why.
//!
//! - [`persona`]: `*.json` persona files.
//! - [`prompty`]: `*.prompty` prompt templates (YAML front matter + body), with
//!   [`frontmatter`] (the split), [`yaml`] (bounded YAML → JSON) and [`sections`] (role
//!   markers in the body).
//! - [`fields`]: the normalisation both kinds share (name, description, tags, authors, id).
//! - [`position`]: byte offsets → line/column.
//!
//! Every function here is total on arbitrary bytes: it returns an error, never panics,
//! and its work is bounded by the input size (see the limits in [`yaml`]).

pub mod fields;
pub mod frontmatter;
pub mod persona;
pub mod position;
pub mod prompty;
pub mod sections;
pub mod yaml;

use crate::model::{DocType, Document};
use position::{pos_of_offset, Pos};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Limits that keep a hostile or accidental file from hanging or exhausting a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Files larger than this are rejected before parsing. Default 4 MiB.
    pub max_bytes: usize,
    /// The library's own JSON Schemas (`[schemas]` in promptshelf.toml): a document that
    /// does not match is a [`ParseError`] at the offending value. Default: none.
    #[cfg(feature = "validate")]
    pub schemas: crate::schema::CollectionSchemas,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_bytes: 4 * 1024 * 1024,
            #[cfg(feature = "validate")]
            schemas: crate::schema::CollectionSchemas::default(),
        }
    }
}

/// Why one file is not a document. Line and column are 1-based and relative to the
/// whole file (columns count characters); `None` where the problem has no position
/// (too large, duplicate id...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{path}:{}:{}: {message}", line.map_or("?".into(), |l| l.to_string()), column.map_or("?".into(), |c| c.to_string()))]
pub struct ParseError {
    /// The file's library-relative path.
    pub path: String,
    /// 1-based line, when the problem has a position.
    pub line: Option<u32>,
    /// 1-based column in characters, when the problem has a position.
    pub column: Option<u32>,
    /// What is wrong, for humans.
    pub message: String,
}

impl ParseError {
    /// An error with no position in the file.
    pub fn file(path: &str, message: impl Into<String>) -> ParseError {
        ParseError {
            path: path.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// An error at a position (or none) in the file.
    pub fn at(path: &str, pos: Option<Pos>, message: impl Into<String>) -> ParseError {
        ParseError {
            path: path.to_owned(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            message: message.into(),
        }
    }
}

/// The document kind a file's extension implies (`.json` persona, `.prompty` prompt
/// template; case-insensitive). Which folder it is in is [`crate::library::classify`]'s
/// business; parsing only needs the format.
pub fn kind_of_path(path: &str) -> Option<DocType> {
    let ext = file_name(path).rsplit_once('.')?.1;
    if ext.eq_ignore_ascii_case("json") {
        Some(DocType::Persona)
    } else if ext.eq_ignore_ascii_case("prompty") {
        Some(DocType::PromptTemplate)
    } else {
        None
    }
}

/// Parses one file given its library-relative, `/`-separated path (whose extension
/// decides its kind).
pub fn parse_document(
    path: &str,
    bytes: &[u8],
    opts: &ParseOptions,
) -> Result<Document, ParseError> {
    let Some(kind) = kind_of_path(path) else {
        return Err(ParseError::file(
            path,
            "not a document: only .json personas and .prompty prompt templates are read",
        ));
    };
    let text = decode(path, bytes, opts)?;
    let doc = match kind {
        DocType::Persona => persona::parse(path, &text, bytes),
        DocType::PromptTemplate => prompty::parse(path, &text, bytes),
    }?;
    #[cfg(feature = "validate")]
    check_user_schema(path, &text, &doc, &opts.schemas)?;
    Ok(doc)
}

/// A parsed document against the library's schema for its kind: every violation (up to
/// [`crate::schema::collection::MAX_VIOLATIONS`]) goes into one [`ParseError`], located
/// at the first; the others carry their own line and column in the message. Being a
/// ParseError, a violation is a sync error like a syntax error, and `check` and the sync
/// agree on it.
#[cfg(feature = "validate")]
fn check_user_schema(
    path: &str,
    text: &str,
    doc: &Document,
    schemas: &crate::schema::CollectionSchemas,
) -> Result<(), ParseError> {
    let (schema, instance, prefix) = match doc.doc_type {
        DocType::Persona => (&schemas.personas, &doc.content, ""),
        DocType::PromptTemplate => (
            &schemas.prompts,
            &doc.content["frontmatter"],
            "front matter: ",
        ),
    };
    let Some(schema) = schema else {
        return Ok(());
    };
    let violations = schema.violations(instance);
    if violations.is_empty() {
        return Ok(());
    }
    let front_positions = match doc.doc_type {
        DocType::PromptTemplate => prompty::front_positions(text),
        DocType::Persona => Default::default(),
    };
    let locate = |v: &crate::schema::Violation| match doc.doc_type {
        DocType::Persona => persona::value_position(text, &v.at),
        DocType::PromptTemplate => prompty::locate(&front_positions, &v.pointer()),
    };
    let first = &violations[0];
    let mut message = format!("{prefix}{}", first.message);
    for v in &violations[1..] {
        match locate(v) {
            Some(p) => message.push_str(&format!("; {}:{}: {}", p.line, p.column, v.message)),
            None => message.push_str(&format!("; {}", v.message)),
        }
    }
    Err(ParseError::at(path, locate(first), message))
}

/// Size check, BOM, UTF-8 and emptiness, shared by both formats. CRLF becomes LF (line
/// numbers are unchanged), so bodies and sections are the same on every platform.
pub fn decode<'a>(
    path: &str,
    bytes: &'a [u8],
    opts: &ParseOptions,
) -> Result<Cow<'a, str>, ParseError> {
    if bytes.len() > opts.max_bytes {
        return Err(crate::library::too_large(
            path,
            bytes.len() as u64,
            opts.max_bytes,
        ));
    }
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let text = match std::str::from_utf8(&bytes[bom..]) {
        Ok(t) => t,
        Err(e) => {
            let at = bom + e.valid_up_to();
            let byte = bytes.get(at).copied().unwrap_or(0);
            return Err(ParseError::at(
                path,
                Some(pos_of_offset(bytes, at)),
                format!("file is not valid UTF-8 (byte 0x{byte:02X}); save it as UTF-8"),
            ));
        }
    };
    if text.trim().is_empty() {
        let what = if bytes.is_empty() {
            "file is empty"
        } else {
            "file holds only whitespace"
        };
        return Err(ParseError::file(path, what));
    }
    if text.contains('\r') {
        Ok(Cow::Owned(text.replace("\r\n", "\n")))
    } else {
        Ok(Cow::Borrowed(text))
    }
}

/// The last path component.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The file name without its extension: the default `name`.
pub fn file_stem(path: &str) -> &str {
    let name = file_name(path);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

/// The id of a document that does not declare one: its library-relative path without
/// the extension (`personas/support/agent.json` → `personas/support/agent`). Stable across
/// runs and machines, unique per file, readable in URLs and logs.
pub fn derived_id(path: &str) -> String {
    let name = file_name(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => path[..path.len() - ext.len() - 1].to_owned(),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ParseOptions {
        ParseOptions::default()
    }

    #[test]
    fn dispatch_by_extension() {
        assert_eq!(kind_of_path("personas/a.json"), Some(DocType::Persona));
        assert_eq!(
            kind_of_path("prompts/x/a.PROMPTY"),
            Some(DocType::PromptTemplate)
        );
        assert_eq!(kind_of_path("prompts/a.yaml"), None);
        assert_eq!(kind_of_path("prompts/json"), None);
        let e = parse_document("notes.txt", b"hi", &opts()).unwrap_err();
        assert!(e.message.contains("not a document"));
    }

    #[test]
    fn size_limit() {
        let o = ParseOptions {
            max_bytes: 10,
            ..Default::default()
        };
        let e = parse_document("personas/a.json", b"{\"name\": \"abcdef\"}", &o).unwrap_err();
        assert_eq!((e.line, e.column), (None, None));
        assert!(e.message.contains("over the limit of 10 bytes"), "{e}");
    }

    #[test]
    fn empty_and_whitespace() {
        for (bytes, msg) in [
            (&b""[..], "file is empty"),
            (b"  \n\t\n", "only whitespace"),
            (b"\xEF\xBB\xBF", "only whitespace"),
        ] {
            for path in ["personas/a.json", "prompts/a.prompty"] {
                let e = parse_document(path, bytes, &opts()).unwrap_err();
                assert!(e.message.contains(msg), "{path}: {e}");
                assert_eq!(e.path, path);
            }
        }
    }

    #[test]
    fn invalid_utf8_has_position() {
        let e = parse_document("personas/a.json", b"{\n  \"name\": \"a\xFFb\"\n}", &opts())
            .unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(13)));
        assert!(e.message.contains("not valid UTF-8"), "{e}");
        let e = parse_document("prompts/a.prompty", b"---\nname: \xC3\x28\n---\n", &opts())
            .unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(7)));
    }

    #[test]
    fn stems_and_ids() {
        assert_eq!(file_stem("prompts/sub/a.b.prompty"), "a.b");
        assert_eq!(file_stem("personas/.json"), ".json");
        assert_eq!(
            derived_id("personas/support/agent.json"),
            "personas/support/agent"
        );
        assert_eq!(derived_id("prompts/x.prompty"), "prompts/x");
    }

    #[test]
    fn error_display() {
        let e = ParseError::at("p/a.json", Some(Pos::new(3, 4)), "bad");
        assert_eq!(e.to_string(), "p/a.json:3:4: bad");
        assert_eq!(ParseError::file("p", "x").to_string(), "p:?:?: x");
    }
}

#[cfg(test)]
mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that look like the files we read, so the search reaches deep paths.
    fn fileish() -> impl Strategy<Value = Vec<u8>> {
        let pieces = prop::sample::select(vec![
            "---\n",
            "name: x\n",
            "model:\n  api: chat\n",
            "- a\n",
            "&a ",
            "*a",
            "[",
            "]",
            "{",
            "}",
            "\"",
            "'",
            ":",
            " ",
            "\n",
            "\r\n",
            "\t",
            "#",
            "system:\n",
            "user:\n",
            "!!str ",
            "!x ",
            "? ",
            "|\n  ",
            ">-\n",
            "{\"id\": 1}",
            "\u{FEFF}",
            "é",
            "\\",
            "0x1F",
            ".inf",
            "~",
            "...\n",
        ]);
        prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat().into_bytes())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            for path in ["personas/a.json", "prompts/a.prompty"] {
                let _ = parse_document(path, &bytes, &ParseOptions::default());
            }
        }

        #[test]
        fn fileish_bytes(bytes in fileish()) {
            for path in ["personas/a.json", "prompts/a.prompty"] {
                if let Err(e) = parse_document(path, &bytes, &ParseOptions::default()) {
                    prop_assert!(!e.message.is_empty());
                    prop_assert_eq!(e.line.is_some(), e.column.is_some());
                }
            }
        }
    }
}

#[cfg(test)]
mod big_inputs {
    use super::*;
    use std::time::{Duration, Instant};

    /// Each pathological input is answered in time linear in its size: a deadline, not a
    /// benchmark. Generous, because in debug builds the YAML scanner (generic, so
    /// compiled at this crate's opt-level 0) runs ~10x slower than in release, and CI
    /// machines are shared.
    fn quick(path: &str, bytes: &[u8]) -> Result<Document, ParseError> {
        let start = Instant::now();
        let r = parse_document(path, bytes, &ParseOptions::default());
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{path}: {:?} for {} bytes",
            start.elapsed(),
            bytes.len()
        );
        r
    }

    #[test]
    fn large_inputs_are_fast() {
        let n = 1 << 20;
        // Many keys.
        let mut s = String::from("---\n");
        let mut i = 0;
        while s.len() < n {
            s.push_str(&format!("key{i}: value {i}\n"));
            i += 1;
        }
        s.push_str("---\nbody\n");
        assert!(quick("prompts/a.prompty", s.as_bytes()).is_ok());
        // One huge scalar and a huge body with many role markers.
        let s = format!(
            "---\nd: {}\n---\n{}",
            "x".repeat(n / 2),
            "user:\nhi\n".repeat(n / 20)
        );
        assert!(quick("prompts/a.prompty", s.as_bytes()).is_ok());
        // Many aliases to a small anchor: allowed while within budget.
        let s = format!("---\na: &a x\nl: [{}]\n---\n", "*a, ".repeat(n / 8));
        let _ = quick("prompts/a.prompty", s.as_bytes());
        // Openers only.
        let s = format!("---\nx: {}\n---\n", "[".repeat(n));
        assert!(quick("prompts/a.prompty", s.as_bytes()).is_err());
        let s = format!("---\nx: {}\n---\n", "{a: ".repeat(n / 4));
        assert!(quick("prompts/a.prompty", s.as_bytes()).is_err());
        let s = "- ".repeat(n / 2);
        assert!(quick("prompts/a.prompty", format!("---\n{s}\n---\n").as_bytes()).is_err());
        // An unclosed front matter of many lines.
        let s = format!("---\n{}", "a: b\n".repeat(n / 5));
        assert!(quick("prompts/a.prompty", s.as_bytes()).is_err());
        // Persona: long arrays, deep nesting, long strings.
        let s = format!("{{\"a\": [{}1]}}", "1,".repeat(n / 2));
        assert!(quick("personas/a.json", s.as_bytes()).is_ok());
        let s = format!("{{\"a\": {}", "[".repeat(n));
        assert!(quick("personas/a.json", s.as_bytes()).is_err());
        let s = format!("{{\"system_prompt\": \"{}\"}}", "é".repeat(n / 2));
        assert!(quick("personas/a.json", s.as_bytes()).is_ok());
    }
}
