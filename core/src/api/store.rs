//! The read-only view of a database that the read API needs. Hosts implement it over
//! SQLite (native: a read transaction per request; edge: an immutable snapshot); the
//! unit tests use [`super::memory::MemoryStore`]. One `&dyn DocumentSource` serves one request,
//! so an implementation can pin one consistent snapshot for everything it answers.

use crate::model::{DocType, Document};
use serde::Serialize;
use std::sync::Arc;

/// A store-side failure (I/O, corrupt database). Never caused by client input; the
/// handler answers it with `503` and a JSON error, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store error: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// An error with this message.
    pub fn new(msg: impl Into<String>) -> Self {
        StoreError(msg.into())
    }
}

/// One document as the API returns it: the parsed [`Document`] plus what only the store
/// knows (the file's modification time as RFC 3339 UTC text, staleness). Not the
/// store's row type (`promptshelf_store`'s stored document), which keeps the JSON text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServedDocument {
    /// The parsed document (its fields are the answer's top level).
    #[serde(flatten)]
    pub document: Document,
    /// The file's modification time (RFC 3339 UTC), when the store knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// True while the document's file fails to parse and this is its last good
    /// version (omitted when false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub stale: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One document already serialized as the API answers it: exactly the bytes of
/// `serde_json::to_vec(&ServedDocument)`. A store that keeps each document as JSON
/// builds it with [`RawDocument::splice`] instead of parsing that JSON into a
/// [`Document`] and serializing it again, which is most of the cost of a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDocument {
    /// The document's id (cursors are built from it).
    pub id: String,
    /// Its type, so typed routes can refuse the other kind.
    pub doc_type: DocType,
    /// The document's API JSON (one object).
    pub json: Vec<u8>,
}

impl RawDocument {
    /// Serializes a parsed document (what stores without stored JSON use).
    pub fn from_stored(doc: &ServedDocument) -> Result<RawDocument, StoreError> {
        let json = serde_json::to_vec(doc).map_err(|e| {
            StoreError::new(format!(
                "document `{}` does not serialize: {e}",
                doc.document.id
            ))
        })?;
        Ok(RawDocument {
            id: doc.document.id.0.clone(),
            doc_type: doc.document.doc_type,
            json,
        })
    }

    /// Builds the API JSON from `document_json`, the compact `serde_json` text of a
    /// [`Document`] as stored, by appending `modified` and `stale` inside its closing
    /// brace: the same bytes [`ServedDocument`]'s `Serialize` gives (its document
    /// fields are flattened first, then `modified`, then `stale` when true), without
    /// building the document. The text is checked to be one JSON object (a syntax
    /// scan, no allocation), so a damaged row is a store error, never a broken body.
    pub fn splice(
        id: &str,
        doc_type: DocType,
        document_json: &str,
        modified: Option<&str>,
        stale: bool,
    ) -> Result<RawDocument, StoreError> {
        let bytes = document_json.as_bytes();
        let is_object = bytes.first() == Some(&b'{')
            && bytes.last() == Some(&b'}')
            && serde_json::from_str::<serde::de::IgnoredAny>(document_json).is_ok();
        if !is_object {
            return Err(StoreError::new(format!(
                "document `{id}` has unreadable JSON"
            )));
        }
        let inner = &bytes[..bytes.len() - 1];
        let mut json = Vec::with_capacity(bytes.len() + 64);
        json.extend_from_slice(inner);
        // `{}` has no member before ours, so no comma.
        let mut sep: &[u8] = if inner.len() > 1 { b"," } else { b"" };
        if let Some(m) = modified {
            json.extend_from_slice(sep);
            json.extend_from_slice(b"\"modified\":");
            serde_json::to_writer(&mut json, m)
                .map_err(|e| StoreError::new(format!("document `{id}`: {e}")))?;
            sep = b",";
        }
        if stale {
            json.extend_from_slice(sep);
            json.extend_from_slice(b"\"stale\":true");
        }
        json.push(b'}');
        Ok(RawDocument {
            id: id.to_owned(),
            doc_type,
            json,
        })
    }
}

/// A filter on one JSON field of a document's `content`: the value at `path` (object
/// keys) equals `value`. Strings compare as text; numbers, booleans and `null` by their
/// JSON text; arrays match when any scalar element does; objects never match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFilter {
    /// Object keys from `content` down, each `[A-Za-z0-9_-]+`.
    pub path: Vec<String>,
    /// The value the field must equal (compared as text).
    pub value: String,
}

impl FieldFilter {
    /// The SQLite JSON path for this filter, rooted at the document JSON
    /// (`$.content.model.api`). Keys are `[A-Za-z0-9_-]` (validated by the handler), so
    /// they need no quoting, and the text matches the store's expression indexes.
    pub fn sqlite_path(&self) -> String {
        let mut p = String::from("$.content");
        for seg in &self.path {
            p.push('.');
            p.push_str(seg);
        }
        p
    }
}

/// What `GET /v1/documents` asks the store for. Order is always by `id` ascending
/// (byte order), which is what makes cursors stable across writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListRequest {
    /// Only documents of this type, if set.
    pub doc_type: Option<DocType>,
    /// All of these tags (ASCII case-insensitive) must be present.
    pub tags: Vec<String>,
    /// All of these must match.
    pub fields: Vec<FieldFilter>,
    /// Only ids strictly greater than this (cursor pagination).
    pub after_id: Option<String>,
    /// Skip this many matching rows (after `after_id`).
    pub offset: u64,
    /// Return at most this many.
    pub limit: u64,
}

/// A page of documents plus the number matching the filters (ignoring cursor, offset
/// and limit).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListPage {
    /// The documents of the page, in id order.
    pub items: Vec<ServedDocument>,
    /// Documents matching the filters, over all pages.
    pub total: u64,
}

/// A page of [`RawDocument`]s plus the number matching the filters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawListPage {
    /// The documents of the page, serialized, in id order.
    pub items: Vec<RawDocument>,
    /// Documents matching the filters, over all pages.
    pub total: u64,
}

/// Document counts by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// All documents.
    pub documents: u64,
    /// Documents of type `persona`.
    pub personas: u64,
    /// Documents of type `prompt_template`.
    pub prompt_templates: u64,
}

/// What `GET /v1/health` reports about the database.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HealthInfo {
    /// The content generation (also the ETag of every data route).
    pub generation: String,
    /// Documents by type.
    pub counts: Counts,
    /// `PRAGMA user_version` of the database, when the store has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<i64>,
    /// Number of files that currently fail to parse (the last good version of each
    /// stays served).
    pub sync_errors: u64,
    /// Whether a search index is present.
    pub search_index: bool,
}

/// Parameters of one search, already validated by the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The query text, as the client sent it.
    pub query: String,
    /// Hits per page.
    pub limit: usize,
    /// Hits to skip.
    pub offset: usize,
}

/// A query the engine rejected (syntax), with the character position it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchProblem {
    /// Character position of a syntax error in the query, if it has one.
    pub position: Option<usize>,
    /// What is wrong with the query.
    pub message: String,
}

/// The seam between the API and the search engine: a loaded index answers a query with
/// its results as JSON (the engine's own `Serialize` output), or a query error.
pub trait Searcher {
    /// Runs `req` and returns the engine's results JSON, or why the query is bad.
    fn search_json(&self, req: &SearchRequest) -> Result<serde_json::Value, SearchProblem>;
}

/// Everything the read API reads. Implementations must answer all calls made during one
/// request from the same consistent snapshot. (Named apart from `promptshelf_store`'s
/// database type, which implements it through `store::reader::Reader`.)
pub trait DocumentSource {
    /// The content generation: changes whenever any document, or the index, changes.
    /// Opaque text; only `[A-Za-z0-9._:-]` are kept when it becomes an ETag.
    fn generation(&self) -> Result<String, StoreError>;
    /// What `/v1/health` reports beyond status and version.
    fn health(&self) -> Result<HealthInfo, StoreError>;
    /// The document with this id, if any.
    fn get(&self, id: &str) -> Result<Option<ServedDocument>, StoreError>;
    /// A page of documents matching `query`, in id order.
    fn list(&self, query: &ListRequest) -> Result<ListPage, StoreError>;
    /// [`DocumentSource::get`], already serialized. The read routes call this one; stores that
    /// keep the document JSON override it to return it verbatim (see
    /// [`RawDocument::splice`]). The bytes must equal serializing what `get` returns.
    fn get_raw(&self, id: &str) -> Result<Option<RawDocument>, StoreError> {
        self.get(id)?
            .as_ref()
            .map(RawDocument::from_stored)
            .transpose()
    }
    /// [`DocumentSource::list`], already serialized; same contract as [`DocumentSource::get_raw`].
    fn list_raw(&self, query: &ListRequest) -> Result<RawListPage, StoreError> {
        let page = self.list(query)?;
        Ok(RawListPage {
            items: page
                .items
                .iter()
                .map(RawDocument::from_stored)
                .collect::<Result<_, _>>()?,
            total: page.total,
        })
    }
    /// The serialized search index, if the database holds one.
    fn index_bytes(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// The loaded search index, if the database holds one (implementations cache it per
    /// generation: loading is far costlier than one query).
    fn searcher(&self) -> Result<Option<Arc<dyn Searcher + Send + Sync>>, StoreError>;

    /// A page of a document's versions (oldest first) and how many it has; `None` when
    /// the store holds no history for it (a library outside git, an older database): the
    /// API then answers with the current document as version 1.
    fn versions(
        &self,
        _id: &str,
        _offset: usize,
        _limit: usize,
    ) -> Result<Option<(Vec<crate::versions::VersionInfo>, u64)>, StoreError> {
        Ok(None)
    }
    /// One version of a document and its file's bytes.
    fn version(
        &self,
        _id: &str,
        _number: u32,
    ) -> Result<Option<(crate::versions::VersionInfo, Vec<u8>)>, StoreError> {
        Ok(None)
    }
    /// The version a configured label names for a document (`Err` with the reason when
    /// it names none); `None` when the store knows no such label for it.
    fn doc_label(
        &self,
        _id: &str,
        _label: &str,
    ) -> Result<Option<Result<u32, String>>, StoreError> {
        Ok(None)
    }
}
