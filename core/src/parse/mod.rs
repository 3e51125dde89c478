//! Bytes of one library file → a [`Document`], or a [`ParseError`] that says where and why.
//! (Skeleton: the persona and Prompty parsers land in `persona.rs` and `prompty.rs`.)

use crate::model::Document;
use serde::{Deserialize, Serialize};

/// Limits that keep a hostile or accidental file from hanging or exhausting a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Files larger than this are rejected before parsing. Default 4 MiB.
    pub max_bytes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Why one file is not a document. Line and column are 1-based and relative to the
/// whole file; `None` where the problem has no position (too large, not UTF-8...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{path}:{}:{}: {message}", line.map_or("?".into(), |l| l.to_string()), column.map_or("?".into(), |c| c.to_string()))]
pub struct ParseError {
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

/// Parses one file given its library-relative path (which decides its kind).
pub fn parse_document(
    path: &str,
    _bytes: &[u8],
    _opts: &ParseOptions,
) -> Result<Document, ParseError> {
    Err(ParseError {
        path: path.to_owned(),
        line: None,
        column: None,
        message: "parser not implemented yet".into(),
    })
}
