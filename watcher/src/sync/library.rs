//! The library folder as the watcher sees it: turning absolute paths into
//! library-relative ones, and knowing which paths are promptshelf's own and must never
//! be synced (the database, its `-wal`/`-shm`/`-journal` files, files moved aside after
//! corruption, the `.promptshelf` folder), wherever the user put the database.

use std::path::{Component, Path, PathBuf};

/// Name of promptshelf's own folder inside a library (default database, barrier cookies).
pub const OWN_DIR: &str = ".promptshelf";

#[derive(Debug, Clone)]
pub struct Library {
    root: PathBuf,
    /// Canonical database path; every path starting with it (plus `-wal`, `.corrupt-…`) is ours.
    db: PathBuf,
}

impl Library {
    /// `root` and `db` must already be canonical (see `config`).
    pub fn new(root: PathBuf, db: PathBuf) -> Library {
        Library { root, db }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db(&self) -> &Path {
        &self.db
    }

    /// promptshelf's own folder in this library.
    pub fn own_dir(&self) -> PathBuf {
        self.root.join(OWN_DIR)
    }

    /// True for paths promptshelf writes itself: never watched for changes, never synced.
    pub fn is_own(&self, abs: &Path) -> bool {
        if abs.starts_with(self.own_dir()) {
            return true;
        }
        // The database and its companions share its file name as a prefix.
        if abs.parent() == self.db.parent() {
            if let (Some(name), Some(db_name)) = (abs.file_name(), self.db.file_name()) {
                return match (name.to_str(), db_name.to_str()) {
                    (Some(n), Some(d)) => promptshelf_core::library::is_database_file(n, d),
                    // Names that are not UTF-8 are never library paths anyway.
                    _ => name
                        .as_encoded_bytes()
                        .starts_with(db_name.as_encoded_bytes()),
                };
            }
        }
        false
    }

    /// The `/`-separated path relative to the root, or `None` for paths outside it,
    /// the root itself, and names that are not UTF-8.
    pub fn relative(&self, abs: &Path) -> Option<String> {
        let rel = abs.strip_prefix(&self.root).ok()?;
        let mut out = String::new();
        for c in rel.components() {
            match c {
                Component::Normal(s) => {
                    if !out.is_empty() {
                        out.push('/');
                    }
                    out.push_str(s.to_str()?);
                }
                _ => return None,
            }
        }
        (!out.is_empty()).then_some(out)
    }

    pub fn absolute(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// A library-relative path that may hold a document (core's `classify`: known kind,
    /// not in a hidden or skipped folder), and not ours. Live events ask this.
    pub fn candidate(&self, abs: &Path) -> Option<String> {
        if self.is_own(abs) {
            return None;
        }
        let rel = self.relative(abs)?;
        promptshelf_core::library::classify(&rel).map(|_| rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_files_are_recognised_wherever_the_db_is() {
        let lib = Library::new("/lib".into(), "/lib/personas/shelf.db".into());
        for p in [
            "/lib/personas/shelf.db",
            "/lib/personas/shelf.db-wal",
            "/lib/personas/shelf.db-shm",
            "/lib/personas/shelf.db-journal",
            "/lib/personas/shelf.db-build",
            "/lib/personas/shelf.db-build-journal",
            "/lib/personas/shelf.db.corrupt-1700000000",
            "/lib/.promptshelf/cookie-1",
        ] {
            assert!(lib.is_own(Path::new(p)), "{p}");
        }
        assert!(!lib.is_own(Path::new("/lib/personas/a.json")));
        assert!(!lib.is_own(Path::new("/lib/shelf.db")));
    }

    #[test]
    fn relative_paths_use_slashes() {
        let lib = Library::new("/lib".into(), "/x/shelf.db".into());
        assert_eq!(
            lib.relative(Path::new("/lib/a/b.json")).as_deref(),
            Some("a/b.json")
        );
        assert_eq!(lib.relative(Path::new("/lib")), None);
        assert_eq!(lib.relative(Path::new("/other/a.json")), None);
    }

    #[test]
    fn live_events_follow_the_library_rules() {
        let lib = Library::new("/lib".into(), "/lib/personas/shelf.json".into());
        let c = |p: &str| lib.candidate(Path::new(p));
        assert_eq!(
            c("/lib/personas/a.json").as_deref(),
            Some("personas/a.json")
        );
        assert_eq!(
            c("/lib/prompts/x/y.prompty").as_deref(),
            Some("prompts/x/y.prompty")
        );
        for p in [
            "/lib/personas/node_modules/a.json",
            "/lib/prompts/x/node_modules/y.prompty",
            "/lib/personas/.git/a.json",
            "/lib/other/a.json",
            "/lib/personas/a.json~",
            // The database itself, even with a document's name.
            "/lib/personas/shelf.json",
        ] {
            assert_eq!(c(p), None, "{p}");
        }
    }
}
