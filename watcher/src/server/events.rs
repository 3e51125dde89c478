//! The recent sync events the dashboard lists: a background task compares the
//! database's generation and the error list every half second and records what changed
//! (documents synced, a file broke, a file was fixed). Works the same whether a sync
//! runs in-process or another process writes the database.

use super::AppState;
use promptshelf_store::{read, SyncErrorRecord};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEEP: usize = 200;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Sequence number, increasing.
    pub seq: u64,
    /// Unix milliseconds.
    pub at: u64,
    /// `sync`, `error` or `fixed`.
    pub kind: &'static str,
    pub message: String,
}

#[derive(Default)]
pub struct EventLog {
    inner: Mutex<(u64, VecDeque<Event>)>,
}

impl EventLog {
    pub fn push(&self, kind: &'static str, message: String) {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += 1;
        let seq = g.0;
        g.1.push_back(Event {
            seq,
            at,
            kind,
            message,
        });
        while g.1.len() > KEEP {
            g.1.pop_front();
        }
    }

    /// Newest first.
    pub fn recent(&self) -> Vec<Event> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.1.iter().rev().cloned().collect()
    }
}

/// `path:line:column message`, the form editors and terminals link.
pub fn error_line(e: &SyncErrorRecord) -> String {
    format!(
        "{}:{}:{} {}",
        e.path,
        e.line.unwrap_or(1),
        e.column.unwrap_or(1),
        e.message
    )
}

/// Follows the database and logs changes until aborted.
pub async fn follow(st: Arc<AppState>) {
    let mut last_gen: Option<u64> = None;
    let mut last_errors: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let st2 = st.clone();
        let snap = tokio::task::spawn_blocking(move || {
            let generation = st2
                .pool
                .with_reader(|r| read::generation(r.conn()).ok())
                .ok()
                .flatten();
            (generation, st2.source.errors().ok())
        })
        .await;
        if let Ok((generation, errors)) = snap {
            if let Some(g) = generation {
                match last_gen {
                    Some(prev) if prev != g => st
                        .events
                        .push("sync", format!("database updated: generation {prev} → {g}")),
                    None => st.events.push("sync", format!("serving generation {g}")),
                    _ => {}
                }
                last_gen = Some(g);
            }
            if let Some(errors) = errors {
                let now: BTreeMap<String, String> = errors
                    .iter()
                    .map(|e| (e.path.clone(), error_line(e)))
                    .collect();
                for (path, line) in &now {
                    if last_errors.get(path) != Some(line) {
                        st.events.push("error", line.clone());
                    }
                }
                for path in last_errors.keys() {
                    if !now.contains_key(path) {
                        st.events
                            .push("fixed", format!("{path}: no longer failing"));
                    }
                }
                last_errors = now;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
