//! The admin data of a running sync (`promptshelf watch`): the [`SyncHandle`]'s phase,
//! counters and errors, its reload (full rescan) and barrier.

use super::source::AdminSource;
use crate::sync::{Phase, SyncHandle};
use promptshelf_store::SyncErrorRecord;
use serde_json::Value;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl AdminSource for SyncHandle {
    fn mode(&self) -> &'static str {
        "watch"
    }

    fn sync_status(&self) -> Value {
        serde_json::to_value(self.status()).unwrap_or(Value::Null)
    }

    fn errors(&self) -> Result<Vec<SyncErrorRecord>, String> {
        Ok(SyncHandle::errors(self))
    }

    fn reload(&self, timeout: Duration) -> Result<Value, String> {
        let report = SyncHandle::reload(self, timeout).map_err(|e| e.to_string())?;
        serde_json::to_value(report).map_err(|e| e.to_string())
    }

    fn barrier(&self, timeout: Duration) -> Result<Value, String> {
        let report = SyncHandle::barrier(self, timeout).map_err(|e| e.to_string())?;
        serde_json::to_value(report).map_err(|e| e.to_string())
    }

    fn ready(&self) -> bool {
        self.status().phase == Phase::Watching
    }

    fn feed(&self) -> Option<std::sync::Arc<crate::sync::feed::Feed>> {
        Some(self.shared.feed.clone())
    }

    fn metrics(&self, out: &mut String) {
        let c = self.counters();
        let g = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let counters = [
            ("events_total", "File-system events received.", g(&c.events)),
            (
                "batches_total",
                "Batches (transactions) applied.",
                g(&c.batches),
            ),
            (
                "changes_total",
                "Documents inserted, replaced or deleted.",
                g(&c.changes),
            ),
            (
                "retries_total",
                "Retries of unreadable files and busy writes.",
                g(&c.retries),
            ),
            (
                "reconciles_total",
                "Full or partial reconciles run.",
                g(&c.reconciles),
            ),
            ("barriers_total", "Sync barriers answered.", g(&c.barriers)),
        ];
        write_metrics(out, "counter", &counters);
        let gauges = [
            ("files", "Library files known.", g(&c.files)),
            (
                "pending",
                "Paths waiting for their debounce.",
                g(&c.pending),
            ),
            (
                "last_lag_ms",
                "Milliseconds from the last event of the last batch to its commit.",
                g(&c.last_lag_ms),
            ),
            (
                "last_sync_unix_ms",
                "Unix milliseconds of the last applied batch.",
                g(&c.last_sync_unix_ms),
            ),
        ];
        write_metrics(out, "gauge", &gauges);
    }
}

/// Prometheus text format: `# HELP`, `# TYPE` and the sample, for each `(name, help, value)`.
fn write_metrics(out: &mut String, kind: &str, metrics: &[(&str, &str, u64)]) {
    for (name, help, v) in metrics {
        let _ = writeln!(
            out,
            "# HELP promptshelf_sync_{name} {help}\n# TYPE promptshelf_sync_{name} {kind}\npromptshelf_sync_{name} {v}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::write_metrics;

    #[test]
    fn metrics_in_prometheus_text_format() {
        let mut out = String::new();
        write_metrics(&mut out, "gauge", &[("files", "Library files known.", 12)]);
        assert_eq!(
            out,
            "# HELP promptshelf_sync_files Library files known.\n\
             # TYPE promptshelf_sync_files gauge\n\
             promptshelf_sync_files 12\n"
        );
    }
}
