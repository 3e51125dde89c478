//! Where the admin API's data comes from. A running sync (`watch`) knows its phase,
//! counters and pending work; a bare database (`serve`) only what it stores. Both
//! answer through [`AdminSource`], so the routes and the dashboard are the same.

use promptshelf_store::reader::ReaderPool;
use promptshelf_store::{read, SyncErrorRecord};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub trait AdminSource: Send + Sync + 'static {
    /// `"watch"` or `"serve"`.
    fn mode(&self) -> &'static str;
    /// The sync's own status (phase, watch backend, files, pending, lag...), or `null`.
    fn sync_status(&self) -> Value;
    /// Current sync errors, ordered by path.
    fn errors(&self) -> Result<Vec<SyncErrorRecord>, String>;
    /// Full rescan and reconcile; what changed. Blocking.
    fn reload(&self, timeout: Duration) -> Result<Value, String>;
    /// Waits until everything written before the call is in the database. Blocking.
    fn barrier(&self, timeout: Duration) -> Result<Value, String>;
    /// Ready to answer with current data (initial sync done).
    fn ready(&self) -> bool;
    /// Extra Prometheus lines (the sync's counters).
    fn metrics(&self, _out: &mut String) {}
    /// The sync's change feed (`GET /v1/events`), when a sync runs in this process.
    fn feed(&self) -> Option<Arc<crate::sync::feed::Feed>> {
        None
    }
}

/// Admin data from the database alone (`promptshelf serve`): errors are the
/// `sync_errors` table as the last sync left it; there is nothing to rescan.
pub struct DbSource {
    pub pool: Arc<ReaderPool>,
}

impl AdminSource for DbSource {
    fn mode(&self) -> &'static str {
        "serve"
    }

    fn sync_status(&self) -> Value {
        Value::Null
    }

    fn errors(&self) -> Result<Vec<SyncErrorRecord>, String> {
        self.pool
            .with_reader(|r| read::sync_errors(r.conn()).map_err(|e| e.to_string()))
            .map_err(|e| e.to_string())?
    }

    fn reload(&self, _timeout: Duration) -> Result<Value, String> {
        let generation = self
            .pool
            .with_reader(|r| read::generation(r.conn()).map_err(|e| e.to_string()))
            .map_err(|e| e.to_string())??;
        Ok(json!({
            "rescanned": false,
            "note": "serving a database without a library folder: nothing to rescan; every request already reads the current file",
            "generation": generation,
        }))
    }

    fn barrier(&self, timeout: Duration) -> Result<Value, String> {
        self.reload(timeout)
    }

    fn ready(&self) -> bool {
        self.pool.with_reader(|_| ()).is_ok()
    }
}
