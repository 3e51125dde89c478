//! The document model shared by every host. A `Document` is what one good file becomes;
//! its JSON form is what the read API returns, so field names here are API contract.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The two kinds of documents a library holds. The string forms are the values of the
/// `type` column's CHECK constraint and of the API's `type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    /// A persona (`personas/**/*.json`).
    Persona,
    /// A Prompty prompt template (`prompts/**/*.prompty`).
    PromptTemplate,
}

impl DocType {
    /// Both types, in their canonical order (facets and counts list them so).
    pub const ALL: [DocType; 2] = [DocType::Persona, DocType::PromptTemplate];

    /// The canonical name (`persona`, `prompt_template`): the API's and the database's.
    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Persona => "persona",
            DocType::PromptTemplate => "prompt_template",
        }
    }

    /// Accepts the canonical names plus the short forms people type in queries.
    pub fn parse(s: &str) -> Option<DocType> {
        match s.to_ascii_lowercase().as_str() {
            "persona" | "personas" => Some(DocType::Persona),
            "prompt_template" | "prompt" | "prompts" | "template" | "prompty" => {
                Some(DocType::PromptTemplate)
            }
            _ => None,
        }
    }
}

impl fmt::Display for DocType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document's stable identifier: the file's own `id` when it has one, else derived
/// from its path, so it survives restarts and re-syncs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocumentId(pub String);

impl DocumentId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for DocumentId {
    fn from(s: &str) -> Self {
        DocumentId(s.to_owned())
    }
}

/// BLAKE3 of the file's bytes, hex. Used to confirm a change after the cheap
/// size + mtime check, and as part of the content generation behind ETags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(pub String);

impl ContentHash {
    /// The hash of these bytes.
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash(blake3::hash(bytes).to_hex().to_string())
    }
}

/// One parsed file. The normalised fields (`name`, `description`, `tags`, `authors`,
/// `body`) are what search and listing use; `content` keeps everything the file said,
/// known keys or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable identifier (see [`DocumentId`]).
    pub id: DocumentId,
    /// Persona or prompt template (from the folder the file is in).
    #[serde(rename = "type")]
    pub doc_type: DocType,
    /// Display name (the file's `name`, else derived from the path).
    pub name: String,
    /// Path relative to the library root, `/`-separated.
    pub path: String,
    /// Hash of the file's bytes.
    pub hash: ContentHash,
    /// One-line description, when the file has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags as written (matching is ASCII case-insensitive).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Authors as written.
    #[serde(default)]
    pub authors: Vec<String>,
    /// The main text: a prompt's template body, a persona's prompt / system text.
    #[serde(default)]
    pub body: String,
    /// The whole parsed content as JSON (persona: the object; prompty: front matter
    /// plus the body and its role sections).
    pub content: serde_json::Value,
}
