//! What the sync reports: one applied batch, one reconcile, and progress of a long
//! reconcile. Shared by the engine (which fills them) and the handle (which hands
//! them to the admin routes), so neither imports the other.

/// What one applied batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BatchReport {
    pub observed: usize,
    pub upserted: usize,
    pub removed: usize,
    pub stale: usize,
    pub errors_set: usize,
    pub generation: u64,
}

/// What a reconcile found and did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ReconcileReport {
    /// Candidate files on disk.
    pub files: usize,
    /// Files that were read (new, changed, or racy).
    pub read: usize,
    /// Files that had disappeared.
    pub gone: usize,
    pub upserted: usize,
    pub removed: usize,
    pub millis: u64,
}

/// Reports progress of a long reconcile (the progress bar, or nothing).
pub trait Progress {
    fn start(&self, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {}
