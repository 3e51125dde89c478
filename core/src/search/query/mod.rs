//! The query language: text → [`Query`] (an AST), or a [`QueryError`] with the
//! position of the problem. See `docs/query-language.md` for the user-facing
//! description; the grammar is
//!
//! ```text
//! query   := clause*                      (implicit AND; the keyword AND is allowed)
//! clause  := alt ("OR" alt)*              (OR binds tighter than AND, as in web search)
//! alt     := "-" alt | primary
//! primary := WORD | WORD* | "PHRASE" | FIELD:VALUE | FIELD:"PHRASE" | "(" query ")"
//! ```

mod lexer;
mod parser;

use serde::Serialize;

pub use parser::{parse, ParseOptions};

/// A syntax error in a query. `position` counts characters (Unicode scalar values)
/// from 0, so a UI can put a caret under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("query error at position {position}: {message}")]
pub struct QueryError {
    /// Where the problem is, in characters from 0.
    pub position: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Byte range in the query text, for error reporting and highlighting of the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// One folded term. `prefix`: also match terms that start with it; `fuzzy`: also
    /// match terms within the edit distance its length allows.
    Term {
        /// The folded term.
        term: String,
        /// Also match terms that start with it.
        prefix: bool,
        /// Also match terms within the allowed edit distance.
        fuzzy: bool,
    },
    /// Folded terms that must appear next to each other, in order, in one field.
    Phrase(Vec<String>),
    /// A field filter: `field` is lower-cased (`tag`, `model.api`, ...).
    Filter {
        /// The field, lower case.
        field: String,
        /// The value to match.
        value: FilterValue,
    },
    /// Documents that do not match the child (`-word`).
    Not(Box<Query>),
    /// All children must match (an empty `And` matches every document).
    And(Vec<Query>),
    /// At least one child must match.
    Or(Vec<Query>),
}

/// The right-hand side of `field:value`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterValue {
    /// The value as typed, folded (lower-case, no diacritics), whitespace normalised.
    pub text: String,
    /// Written as `value*`: match values (or value words) that start with it.
    pub prefix: bool,
}

impl Query {
    /// True when the query has no positive text part (only filters and negations):
    /// such queries rank by id alone.
    pub fn is_match_all(&self) -> bool {
        matches!(self, Query::And(v) if v.is_empty())
    }
}
