//! Listing the candidate document files under a folder, with their size and mtime.
//! (`crate::scan` walks a whole library for `check`; the sync needs walks scoped to one
//! folder that appeared or moved, a stat per file, and its own files excluded, so it
//! has this small walker with the same rules.)
//! Hidden folders, `node_modules`, symlinked folders (loops) and promptshelf's own
//! files are skipped; unreadable folders are logged and skipped, never fatal.

use super::library::Library;
use promptshelf_core::library::{PERSONAS_DIR, PROMPTS_DIR};
use std::fs::Metadata;
use std::path::Path;
use std::time::UNIX_EPOCH;

/// Size and modification time of a file, as the fast path compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
}

impl Stat {
    pub fn of(m: &Metadata) -> Stat {
        let mtime_ns = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
            .unwrap_or(0);
        Stat {
            size: m.len(),
            mtime_ns,
        }
    }
}

/// One candidate file found on disk.
#[derive(Debug, Clone)]
pub struct Found {
    pub rel: String,
    pub stat: Stat,
}

/// Documents live only under `personas/` and `prompts/` at the root (see core's
/// `classify`), so other top-level folders are not entered at all.
fn worth_entering(lib: &Library, abs: &Path) -> bool {
    match lib.relative(abs) {
        Some(rel) if !rel.contains('/') => rel == PERSONAS_DIR || rel == PROMPTS_DIR,
        Some(_) => true,
        None => false,
    }
}

/// Every candidate file under `dir` (which is inside the library), sorted by path.
pub fn walk(lib: &Library, dir: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(dir = %d.display(), error = %e, "cannot list folder, skipping it");
                }
                continue;
            }
        };
        for entry in entries.flatten() {
            let abs = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            let name = entry.file_name();
            let hidden = name.as_encoded_bytes().first() == Some(&b'.');
            if ft.is_dir() {
                if !hidden
                    && name != "node_modules"
                    && !lib.is_own(&abs)
                    && worth_entering(lib, &abs)
                {
                    stack.push(abs);
                }
                continue;
            }
            let Some(rel) = lib.candidate(&abs) else {
                continue;
            };
            // Follows a symlinked file to its target; a dangling link is skipped.
            let Ok(meta) = std::fs::metadata(&abs) else {
                continue;
            };
            if meta.is_file() {
                out.push(Found {
                    rel,
                    stat: Stat::of(&meta),
                });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}
