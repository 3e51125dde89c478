//! Where the search index plugs into the sync: the engine keeps one in memory and
//! applies each batch's removals and upserts to it right after the batch commits. Its
//! bytes are stored later, in their own transaction (`Engine::flush_index`), with the
//! content generation they reflect, so a blob that trails the documents (a crash in
//! between) is recognised and rebuilt at the next start.

use promptshelf_core::search::Prepared;
use promptshelf_core::Document;
use std::borrow::Cow;
use std::sync::Arc;

/// A document new or replaced in a batch (borrowed from the batch when it can be),
/// with its tokens when they were prepared ahead (on the parsing threads).
pub type Upsert<'a> = (Cow<'a, Document>, Option<Arc<Prepared>>);

pub trait SearchHook: Send {
    /// Starts from a stored blob; false when it is unusable (then [`SearchHook::rebuild`]
    /// is called with every document, which costs far more, so it is avoided on restart).
    fn load(&mut self, stored: &[u8]) -> bool;
    /// Builds from every document in the database.
    fn rebuild(&mut self, all: Vec<Document>);
    /// Applies one batch: ids whose documents are gone, and documents new or replaced.
    fn apply(&mut self, removed: &[String], upserted: &[Upsert<'_>]);
    /// The serialized index to store, or `None` when there is no index.
    fn to_bytes(&self) -> Option<Vec<u8>>;
    /// Gets ready for updates (work an index may otherwise do on the first one).
    fn prepare_updates(&mut self) {}
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

    fn apply(&mut self, removed: &[String], upserted: &[Upsert<'_>]) {
        let removed: Vec<promptshelf_core::DocumentId> = removed
            .iter()
            .map(|id| promptshelf_core::DocumentId(id.clone()))
            .collect();
        let fresh: Vec<Prepared>;
        let pairs: Vec<(&Document, &Prepared)> = if upserted.iter().all(|(_, p)| p.is_some()) {
            upserted
                .iter()
                .filter_map(|(d, p)| p.as_deref().map(|p| (d.as_ref(), p)))
                .collect()
        } else {
            fresh = upserted
                .iter()
                .map(|(d, _)| promptshelf_core::search::Index::prepare(d))
                .collect();
            upserted
                .iter()
                .map(|(d, _)| d.as_ref())
                .zip(&fresh)
                .collect()
        };
        self.index.update_prepared(&removed, &pairs);
    }

    fn prepare_updates(&mut self) {
        self.index.track_documents();
    }

    fn to_bytes(&self) -> Option<Vec<u8>> {
        Some(self.index.to_bytes())
    }
}
