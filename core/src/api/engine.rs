//! The core search engine behind the API's [`Searcher`] seam: a loaded
//! [`Index`](crate::search::Index) answers `/v1/search` with its own `SearchResults`
//! JSON, and query syntax errors become `400 bad_query` with the position.

use super::store::{SearchProblem, SearchRequest, Searcher};
use crate::search::chunked::{ChunkOptions, MANIFEST};
use crate::search::{Index, SearchOptions};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// A loaded index and, cut on the first request for one of its files, its chunk set
/// (the local server answers `/v1/index/...` with the live index's chunks, the paths
/// `promptshelf build --site` writes).
pub struct LoadedIndex {
    index: Index,
    chunks: OnceLock<Chunks>,
}

/// The manifest's bytes and every chunk by name.
type Chunks = (Vec<u8>, HashMap<String, Vec<u8>>);

impl LoadedIndex {
    /// Wraps a loaded index.
    pub fn new(index: Index) -> LoadedIndex {
        LoadedIndex {
            index,
            chunks: OnceLock::new(),
        }
    }
}

impl Searcher for LoadedIndex {
    fn search_json(&self, req: &SearchRequest) -> Result<serde_json::Value, SearchProblem> {
        self.index.search_json(req)
    }

    fn index_chunk(&self, name: &str) -> Option<Vec<u8>> {
        let (manifest, files) = self.chunks.get_or_init(|| {
            let set = self.index.to_chunks(ChunkOptions::default());
            (set.manifest_bytes(), set.files.into_iter().collect())
        });
        if name == MANIFEST {
            return Some(manifest.clone());
        }
        files.get(name).cloned()
    }
}

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
        .map(|ix| Arc::new(LoadedIndex::new(ix)) as Arc<dyn Searcher + Send + Sync>)
        .map_err(|e| e.to_string())
}
