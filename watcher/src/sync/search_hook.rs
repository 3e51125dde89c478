//! Where the search index plugs into the sync: the engine keeps one in memory, applies
//! each batch's removals and upserts to it, and stores its bytes in the same
//! transaction as the documents, so the blob never disagrees with the table.

use promptshelf_core::Document;

pub trait SearchHook: Send {
    /// Starts from a stored blob; false when it is unusable (then [`SearchHook::rebuild`]
    /// is called with every document, which costs far more, so it is avoided on restart).
    fn load(&mut self, stored: &[u8]) -> bool;
    /// Builds from every document in the database.
    fn rebuild(&mut self, all: Vec<Document>);
    /// Applies one batch: ids whose documents are gone, and documents new or replaced.
    fn apply(&mut self, removed: &[String], upserted: &[Document]);
    /// The serialized index to store, or `None` when there is no index.
    fn to_bytes(&self) -> Option<Vec<u8>>;
    /// Gets ready for updates (work an index may otherwise do on the first one).
    fn prepare_updates(&mut self) {}
}

/// No index: nothing is stored.
#[allow(dead_code)]
pub struct NoSearch;

impl SearchHook for NoSearch {
    fn load(&mut self, _: &[u8]) -> bool {
        true
    }
    fn rebuild(&mut self, _: Vec<Document>) {}
    fn apply(&mut self, _: &[String], _: &[Document]) {}
    fn to_bytes(&self) -> Option<Vec<u8>> {
        None
    }
}

/// The core search engine's index, updated document by document.
#[derive(Default)]
pub struct CoreSearch {
    index: promptshelf_core::search::Index,
}

impl SearchHook for CoreSearch {
    fn load(&mut self, stored: &[u8]) -> bool {
        match promptshelf_core::search::Index::from_bytes(stored) {
            Ok(ix) => {
                self.index = ix;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "stored search index unusable; rebuilding it");
                false
            }
        }
    }

    fn rebuild(&mut self, all: Vec<Document>) {
        self.index = promptshelf_core::search::Index::build(&all);
    }

    fn apply(&mut self, removed: &[String], upserted: &[Document]) {
        let removed: Vec<promptshelf_core::DocumentId> = removed
            .iter()
            .map(|id| promptshelf_core::DocumentId(id.clone()))
            .collect();
        self.index.update(&removed, upserted);
    }

    fn prepare_updates(&mut self) {
        self.index.track_documents();
    }

    fn to_bytes(&self) -> Option<Vec<u8>> {
        Some(self.index.to_bytes())
    }
}
