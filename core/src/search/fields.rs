//! What of a [`Document`] goes where in the index: the five text fields that are
//! searched (with their boosts), and the `(path, value)` pairs that field filters
//! match against (`model.api:chat`, `author:"Jane Doe"`).

use crate::model::{DocType, Document};
use crate::search::tokenize;
use serde_json::Value;

/// Number of text fields.
pub const NF: usize = 5;

/// The text fields, in index order. Boosts: name > tags > description > body > other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Field {
    /// The document's name.
    Name = 0,
    /// Its tags.
    Tags = 1,
    /// Its description.
    Description = 2,
    /// Its body (prompt text or template).
    Body = 3,
    /// Authors and the other short strings of the content (input descriptions,
    /// persona contributor, ...): found, but weighed lightly.
    Other = 4,
}

impl Field {
    /// Every field, in index order.
    pub const ALL: [Field; NF] = [
        Field::Name,
        Field::Tags,
        Field::Description,
        Field::Body,
        Field::Other,
    ];

    /// The field's name in snippets and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Tags => "tags",
            Field::Description => "description",
            Field::Body => "body",
            Field::Other => "other",
        }
    }
}

/// Longest string value kept for filters, in bytes, and most words in it: longer
/// strings are prose (descriptions, samples), found through full text instead, and
/// would make the filter table as big as the text.
pub const MAX_FILTER_VALUE_BYTES: usize = 64;
const MAX_FILTER_VALUE_WORDS: usize = 4;
/// Longest string that goes into the `Other` text field.
const MAX_OTHER_BYTES: usize = 2000;
/// Bound on filter pairs and other-strings per document (a hostile file with 10^5
/// keys must not blow up the index).
const MAX_LEAVES: usize = 256;
const MAX_DEPTH: usize = 32;

/// The searchable parts of one document.
pub struct Extracted<'a> {
    /// Text of each field, as pieces (a field may have several values: tags).
    pub texts: [Vec<&'a str>; NF],
    /// `(path, folded value)` pairs for field filters; path lower-case, `.`-joined,
    /// array indices omitted.
    pub filters: Vec<(String, String)>,
}

pub fn extract(doc: &Document) -> Extracted<'_> {
    let mut texts: [Vec<&str>; NF] = Default::default();
    texts[Field::Name as usize].push(&doc.name);
    for t in &doc.tags {
        texts[Field::Tags as usize].push(t);
    }
    if let Some(d) = &doc.description {
        texts[Field::Description as usize].push(d);
    }
    texts[Field::Body as usize].push(&doc.body);
    for a in &doc.authors {
        texts[Field::Other as usize].push(a);
    }

    let mut filters: Vec<(String, String)> = Vec::new();
    let mut w = Walker {
        doc,
        out_filters: &mut filters,
        out_other: &mut texts[Field::Other as usize],
        seen_paths: Vec::new(),
        leaves: 0,
    };
    let mut path = String::new();
    match (&doc.doc_type, &doc.content) {
        (DocType::PromptTemplate, Value::Object(map)) => {
            // Normalised keys first, then the raw front matter for what they lack.
            for (k, v) in map {
                if k == "frontmatter"
                    || k == "body"
                    || k == "sections"
                    || k == "body_line"
                    || k == "schema"
                {
                    continue;
                }
                w.walk(&mut path, k, v, 0, false);
            }
            let top: Vec<String> = w.seen_paths.clone();
            if let Some(fm) = map.get("frontmatter") {
                w.seen_paths = top;
                w.walk_root(&mut path, fm, true);
            }
        }
        (_, v) => w.walk_root(&mut path, v, false),
    }
    for a in &doc.authors {
        filters.push(("authors".into(), tokenize::fold(a)));
    }
    for t in &doc.tags {
        filters.push(("tags".into(), tokenize::fold(t)));
    }
    filters.sort();
    filters.dedup();
    Extracted { texts, filters }
}

struct Walker<'a, 'b> {
    doc: &'a Document,
    out_filters: &'b mut Vec<(String, String)>,
    out_other: &'b mut Vec<&'a str>,
    /// Paths produced by the normalised part of a prompt (front matter must not
    /// shadow them).
    seen_paths: Vec<String>,
    leaves: usize,
}

impl<'a> Walker<'a, '_> {
    fn walk_root(&mut self, path: &mut String, v: &'a Value, shadowed: bool) {
        if let Value::Object(map) = v {
            for (k, v) in map {
                self.walk(path, k, v, 0, shadowed);
            }
        } else {
            self.leaf(path, v, shadowed);
        }
    }

    fn walk(&mut self, path: &mut String, key: &str, v: &'a Value, depth: usize, shadowed: bool) {
        if depth >= MAX_DEPTH || self.leaves >= MAX_LEAVES {
            return;
        }
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&key.to_lowercase());
        self.value(path, v, depth, shadowed);
        path.truncate(len);
    }

    fn value(&mut self, path: &mut String, v: &'a Value, depth: usize, shadowed: bool) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    self.walk(path, k, v, depth + 1, shadowed);
                }
            }
            Value::Array(items) => {
                for item in items {
                    if depth + 1 >= MAX_DEPTH || self.leaves >= MAX_LEAVES {
                        break;
                    }
                    self.value(path, item, depth + 1, shadowed);
                }
            }
            _ => self.leaf(path, v, shadowed),
        }
    }

    fn leaf(&mut self, path: &str, v: &'a Value, shadowed: bool) {
        if self.leaves >= MAX_LEAVES || path.is_empty() {
            return;
        }
        self.leaves += 1;
        if shadowed && self.seen_paths.iter().any(|p| p == path) {
            return;
        }
        if !shadowed {
            self.seen_paths.push(path.to_owned());
        }
        let value = match v {
            Value::String(s) => {
                if s.len() <= MAX_OTHER_BYTES && !self.is_main_text(s) {
                    self.out_other.push(s);
                }
                if s.len() > MAX_FILTER_VALUE_BYTES
                    || s.split_whitespace().count() > MAX_FILTER_VALUE_WORDS
                    || path == "name"
                    || path == "description"
                {
                    // Prose, or a built-in field (`name:`, `description:` search
                    // the text fields).
                    return;
                }
                tokenize::fold(s)
            }
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Null => return,
            Value::Object(_) | Value::Array(_) => return,
        };
        self.out_filters.push((path.to_owned(), value));
    }

    /// Strings already indexed in their own field are not repeated in `Other`.
    fn is_main_text(&self, s: &str) -> bool {
        let d = self.doc;
        s == d.name
            || s == d.body
            || d.description.as_deref() == Some(s)
            || d.tags.iter().any(|t| t == s)
            || d.authors.iter().any(|a| a == s)
    }
}
