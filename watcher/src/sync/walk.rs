//! Listing the candidate document files under a folder, with their size and mtime, for
//! the sync. (`crate::scan` walks a whole library for `check`; the sync needs walks
//! scoped to one folder that appeared or moved, a stat per file, and its own files
//! excluded, so it has this walker. Both ask core's `library` rules: `enter_folder` for
//! folders, `classify` for files.) Symlinked folders (loops) and promptshelf's own files
//! are skipped too; unreadable folders are logged and skipped, never fatal.
//!
//! A restart on an unchanged library is mostly this walk (10,000 `stat`s), so it is
//! kept lean: each file is stat'ed relative to its open folder (no path lookup from
//! the root), library-relative paths are built from the folder's as it goes down, and
//! folders are listed by several threads at once when there are several to list.

use super::library::Library;
use promptshelf_core::library::{classify, enter_folder};
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
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

/// Most threads one walk uses (a walk is syscall-bound; the machine decides below this).
const MAX_THREADS: usize = 4;

/// A folder to list: its absolute path and its library-relative one (`""` at the root).
type Dir = (PathBuf, String);

/// Every candidate file under `dir` (which is inside the library), sorted by path.
pub fn walk(lib: &Library, dir: &Path) -> Vec<Found> {
    let rel = if dir == lib.root() {
        String::new()
    } else {
        match lib.relative(dir) {
            Some(r) => r,
            None => return Vec::new(),
        }
    };
    let mut out = Vec::new();
    // The first folder on this thread: a scoped walk of a leaf folder (the common live
    // case) starts no thread at all.
    let mut pending = list(lib, (dir.to_path_buf(), rel), &mut out);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    if threads <= 1 || pending.len() <= 1 {
        while let Some(d) = pending.pop() {
            pending.extend(list(lib, d, &mut out));
        }
    } else {
        let queue = Queue {
            state: Mutex::new((pending, 0)),
            ready: Condvar::new(),
        };
        std::thread::scope(|s| {
            let workers: Vec<_> = (1..threads).map(|_| s.spawn(|| queue.work(lib))).collect();
            out.extend(queue.work(lib));
            for w in workers {
                // A worker that panicked lost its part; the next reconcile finds it.
                out.extend(w.join().unwrap_or_default());
            }
        });
    }
    out.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    out
}

/// Folders left to list, and how many are being listed (whose subfolders may follow).
struct Queue {
    state: Mutex<(Vec<Dir>, usize)>,
    ready: Condvar,
}

impl Queue {
    /// Lists folders until none is left and none is being listed.
    fn work(&self, lib: &Library) -> Vec<Found> {
        let mut out = Vec::new();
        loop {
            let next = {
                let Ok(mut st) = self.state.lock() else {
                    return out;
                };
                loop {
                    if let Some(d) = st.0.pop() {
                        st.1 += 1;
                        break Some(d);
                    }
                    if st.1 == 0 {
                        break None;
                    }
                    st = match self.ready.wait(st) {
                        Ok(g) => g,
                        Err(_) => return out,
                    };
                }
            };
            let Some(d) = next else {
                self.ready.notify_all();
                return out;
            };
            let subdirs = list(lib, d, &mut out);
            let Ok(mut st) = self.state.lock() else {
                return out;
            };
            st.0.extend(subdirs);
            st.1 -= 1;
            drop(st);
            self.ready.notify_all();
        }
    }
}

/// Lists one folder: candidate files go to `out`, folders worth entering are returned.
fn list(lib: &Library, (abs, rel): Dir, out: &mut Vec<Found>) -> Vec<Dir> {
    let mut subdirs = Vec::new();
    let entries = match std::fs::read_dir(&abs) {
        Ok(e) => e,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %abs.display(), error = %e, "cannot list folder, skipping it");
            }
            return subdirs;
        }
    };
    // Files here may be promptshelf's own: the database's folder, or inside our folder.
    let own_here = abs.as_path() == lib.db().parent().unwrap_or(lib.root()) || lib.is_own(&abs);
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let name = entry.file_name();
        // Names that are not UTF-8 cannot be library paths.
        let Some(name) = name.to_str() else { continue };
        let child_rel = if rel.is_empty() {
            name.to_owned()
        } else {
            let mut r = String::with_capacity(rel.len() + 1 + name.len());
            r.push_str(&rel);
            r.push('/');
            r.push_str(name);
            r
        };
        if ft.is_dir() {
            // core's rule (the same as `check`'s): documents live only under
            // `personas/` and `prompts/` at the root, never in hidden folders or
            // `node_modules`; nothing else is entered at all.
            if enter_folder(&rel, name) {
                let child_abs = entry.path();
                if !lib.is_own(&child_abs) {
                    subdirs.push((child_abs, child_rel));
                }
            }
            continue;
        }
        if classify(&child_rel).is_none() {
            continue;
        }
        if own_here && lib.is_own(&entry.path()) {
            continue;
        }
        // A regular file is stat'ed relative to the open folder; a symlinked file is
        // followed to its target (a dangling link is skipped).
        let meta = if ft.is_symlink() {
            std::fs::metadata(entry.path())
        } else {
            entry.metadata()
        };
        let Ok(meta) = meta else { continue };
        if meta.is_file() {
            out.push(Found {
                rel: child_rel,
                stat: Stat::of(&meta),
            });
        }
    }
    subdirs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn walk_finds_candidates_sorted_and_skips_what_is_not_ours_to_sync() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let put = |rel: &str, text: &str| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        };
        // Enough folders for the walk to go parallel.
        for g in 0..12 {
            for i in 0..5 {
                put(&format!("personas/g{g:02}/p{i}.json"), "{}");
                put(&format!("prompts/g{g:02}/deep/t{i}.prompty"), "---\n---\n");
            }
        }
        put("personas/top.json", "{\"x\": 1}");
        put("personas/.hidden/h.json", "{}");
        put("personas/node_modules/n.json", "{}");
        put("other/o.json", "{}");
        put("personas/notes.txt", "not a document");
        put(".promptshelf/c.json", "{}");
        // The database (and its companions) inside a document folder are ours.
        put("personas/shelf.db", "");
        put("personas/shelf.db-wal", "");
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            root.join("personas/top.json"),
            root.join("personas/link.json"),
        )
        .unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            root.join("nowhere.json"),
            root.join("personas/dangling.json"),
        )
        .unwrap();
        let lib = Library::new(root.clone(), root.join("personas/shelf.db"));

        let found = walk(&lib, &root);
        let rels: Vec<&str> = found.iter().map(|f| f.rel.as_str()).collect();
        let mut want: Vec<String> = Vec::new();
        for g in 0..12 {
            for i in 0..5 {
                want.push(format!("personas/g{g:02}/p{i}.json"));
                want.push(format!("prompts/g{g:02}/deep/t{i}.prompty"));
            }
        }
        want.push("personas/top.json".into());
        #[cfg(unix)]
        want.push("personas/link.json".into());
        want.sort();
        assert_eq!(rels, want);
        let top = found.iter().find(|f| f.rel == "personas/top.json").unwrap();
        assert_eq!(top.stat.size, 8);
        let meta = fs::metadata(root.join("personas/top.json")).unwrap();
        assert_eq!(top.stat, Stat::of(&meta));
        #[cfg(unix)]
        assert_eq!(
            found
                .iter()
                .find(|f| f.rel == "personas/link.json")
                .unwrap()
                .stat,
            top.stat,
            "a symlinked file is stat'ed through the link"
        );

        // Scoped to one folder: the same rules, paths still library-relative.
        let scoped = walk(&lib, &root.join("prompts/g03"));
        let rels: Vec<&str> = scoped.iter().map(|f| f.rel.as_str()).collect();
        let want: Vec<String> = (0..5)
            .map(|i| format!("prompts/g03/deep/t{i}.prompty"))
            .collect();
        assert_eq!(rels, want);
        assert!(walk(&lib, &root.join("missing")).is_empty());
        assert!(walk(&lib, Path::new("/")).is_empty());
    }
}
