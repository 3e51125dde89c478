//! The core search engine behind the API's [`Searcher`] seam: a loaded
//! [`Index`](crate::search::Index) answers `/v1/search` with its own `SearchResults`
//! JSON, and query syntax errors become `400 bad_query` with the position.

use super::store::{SearchProblem, SearchRequest, Searcher};
use crate::search::{Index, SearchOptions};
use std::sync::Arc;

impl Searcher for Index {
    fn search_json(&self, req: &SearchRequest) -> Result<serde_json::Value, SearchProblem> {
        let opts = SearchOptions {
            limit: req.limit,
            offset: req.offset,
            ..SearchOptions::default()
        };
        match self.search(&req.query, &opts) {
            Ok(results) => serde_json::to_value(&results).map_err(|e| SearchProblem {
                position: None,
                message: format!("could not serialize results: {e}"),
            }),
            Err(e) => Err(SearchProblem {
                position: Some(e.position),
                message: e.message,
            }),
        }
    }
}

/// Loads a stored index (`Index::to_bytes` output) as a shareable searcher; hosts give
/// this to their index cache.
pub fn load_index(bytes: &[u8]) -> Result<Arc<dyn Searcher + Send + Sync>, String> {
    Index::from_bytes(bytes)
        .map(|ix| Arc::new(ix) as Arc<dyn Searcher + Send + Sync>)
        .map_err(|e| e.to_string())
}
