//! Where the search index plugs into the sync: the engine keeps one in memory, applies
//! each batch's removals and upserts to it, and stores its bytes in the same
//! transaction as the documents, so the blob never disagrees with the table.

use promptshelf_core::Document;

pub trait SearchHook: Send {
    /// Starts from a stored blob when it is usable; otherwise from `all` (every
    /// document in the database). Returns true when the index should be written back.
    fn load(&mut self, stored: Option<&[u8]>, all: &mut dyn Iterator<Item = Document>) -> bool;
    /// Applies one batch: ids whose documents are gone, and documents new or replaced.
    fn apply(&mut self, removed: &[String], upserted: &[Document]);
    /// The serialized index to store, or `None` when there is no index.
    fn to_bytes(&self) -> Option<Vec<u8>>;
}

/// No index: nothing is stored. Used until `core::search` provides one.
pub struct NoSearch;

impl SearchHook for NoSearch {
    fn load(&mut self, _: Option<&[u8]>, _: &mut dyn Iterator<Item = Document>) -> bool {
        false
    }
    fn apply(&mut self, _: &[String], _: &[Document]) {}
    fn to_bytes(&self) -> Option<Vec<u8>> {
        None
    }
}
