//! An in-memory [`DocumentSource`]: the reference semantics of filtering and pagination (the
//! SQLite store must agree with it), used by unit tests and by hosts that hold a small
//! library in memory.

use super::store::{
    Counts, DocumentSource, FieldFilter, HealthInfo, ListPage, ListRequest, Searcher,
    ServedDocument, StoreError,
};
use crate::model::{DocType, Document};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A [`DocumentSource`] over documents held in memory: the reference semantics the SQLite implementation is tested against, and a store for unit tests.
#[derive(Clone, Default)]
pub struct MemoryStore {
    /// Keyed by id; `BTreeMap` gives the id order the API pages in.
    pub docs: BTreeMap<String, ServedDocument>,
    /// The content generation behind ETags.
    pub generation: String,
    /// What `/v1/index` serves (`None`: 503, as a database without an index).
    pub index_bytes: Option<Vec<u8>>,
    /// What `/v1/search` runs on (`None`: 503).
    pub searcher: Option<Arc<dyn Searcher + Send + Sync>>,
    /// The sync error count `/v1/health` reports.
    pub sync_errors: u64,
}

impl MemoryStore {
    /// An empty store at `generation`.
    pub fn new(generation: &str) -> Self {
        MemoryStore {
            generation: generation.to_owned(),
            ..Default::default()
        }
    }

    /// Adds (or replaces, by id) a document with its file's modification time.
    pub fn insert(&mut self, document: Document, modified: Option<&str>) {
        self.docs.insert(
            document.id.0.clone(),
            ServedDocument {
                document,
                modified: modified.map(str::to_owned),
                stale: false,
            },
        );
    }

    fn counts(&self) -> Counts {
        let personas = self
            .docs
            .values()
            .filter(|d| d.document.doc_type == DocType::Persona)
            .count() as u64;
        Counts {
            documents: self.docs.len() as u64,
            personas,
            prompt_templates: self.docs.len() as u64 - personas,
        }
    }
}

/// Whether `doc` passes every filter of `q` (cursor and paging aside).
pub fn matches(doc: &Document, q: &ListRequest) -> bool {
    q.doc_type.is_none_or(|t| t == doc.doc_type)
        && q.tags
            .iter()
            .all(|t| doc.tags.iter().any(|d| d.eq_ignore_ascii_case(t)))
        && q.fields.iter().all(|f| field_matches(&doc.content, f))
}

/// The reference semantics of a [`FieldFilter`].
pub fn field_matches(content: &Value, f: &FieldFilter) -> bool {
    let mut v = content;
    for seg in &f.path {
        match v.as_object().and_then(|m| m.get(seg)) {
            Some(next) => v = next,
            None => return false,
        }
    }
    match v {
        Value::Array(items) => items.iter().any(|i| scalar_eq(i, &f.value)),
        other => scalar_eq(other, &f.value),
    }
}

fn scalar_eq(v: &Value, want: &str) -> bool {
    match v {
        Value::String(s) => s == want,
        Value::Number(n) => n.to_string() == want,
        Value::Bool(b) => (if *b { "true" } else { "false" }) == want,
        Value::Null => want == "null",
        Value::Array(_) | Value::Object(_) => false,
    }
}

impl DocumentSource for MemoryStore {
    fn generation(&self) -> Result<String, StoreError> {
        Ok(self.generation.clone())
    }

    fn health(&self) -> Result<HealthInfo, StoreError> {
        Ok(HealthInfo {
            generation: self.generation.clone(),
            counts: self.counts(),
            schema_version: None,
            sync_errors: self.sync_errors,
            search_index: self.searcher.is_some(),
        })
    }

    fn get(&self, id: &str) -> Result<Option<ServedDocument>, StoreError> {
        Ok(self.docs.get(id).cloned())
    }

    fn list(&self, q: &ListRequest) -> Result<ListPage, StoreError> {
        let matching: Vec<&ServedDocument> = self
            .docs
            .values()
            .filter(|d| matches(&d.document, q))
            .collect();
        let total = matching.len() as u64;
        let items = matching
            .into_iter()
            .filter(|d| {
                q.after_id
                    .as_deref()
                    .is_none_or(|after| d.document.id.as_str() > after)
            })
            .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(q.limit).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        Ok(ListPage { items, total })
    }

    fn index_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.index_bytes.clone())
    }

    fn searcher(&self) -> Result<Option<Arc<dyn Searcher + Send + Sync>>, StoreError> {
        Ok(self.searcher.clone())
    }
}
