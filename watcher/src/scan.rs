//! Walking a whole library folder for `check`: which files are documents. (The sync
//! has its own walker, `sync/walk.rs`, scoped to a folder and stat'ing as it goes; both
//! ask core's `library` rules, so they agree on what a library is.)
//!
//! [`scan`] walks `root` and returns every file that core's
//! [`promptshelf_core::library::classify`] accepts, as `(relative path, absolute path,
//! kind)`, sorted by relative path. Only the folders core's
//! [`promptshelf_core::library::enter_folder`] allows are entered (`personas/` and
//! `prompts/` at the top, never hidden folders or `node_modules`). Problems reading a folder
//! (permissions, a file name that is not UTF-8) do not stop the walk: they come back in
//! [`Scan::problems`] with the relative path they concern. Symlinks to files are
//! followed; symlinked folders are not (no loops, no escaping the library).
//!
//! [`read_limited`] reads one file without ever reading more than `max_bytes + 1` bytes,
//! so a huge file costs nothing before the parser rejects it.

use promptshelf_core::library::{classify, enter_folder};
use promptshelf_core::DocType;
use std::io::Read;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// One document file found in a library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryFile {
    /// Relative to the library root, `/`-separated (the document's `path`).
    pub rel: String,
    pub abs: PathBuf,
    pub kind: DocType,
}

/// A path the walk could not look at, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanProblem {
    pub rel: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<LibraryFile>,
    pub problems: Vec<ScanProblem>,
}

/// The library root itself is unusable (missing, not a folder).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}: no such folder")]
    NotFound(PathBuf),
    #[error("{0}: not a folder")]
    NotADirectory(PathBuf),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// `/`-joined path of `path` relative to `root`; `None` if not valid UTF-8.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Walks `root` (see the module docs).
pub fn scan(root: &Path) -> Result<Scan, ScanError> {
    match std::fs::metadata(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ScanError::NotFound(root.to_owned()))
        }
        Err(e) => return Err(ScanError::Io(root.to_owned(), e)),
        Ok(m) if !m.is_dir() => return Err(ScanError::NotADirectory(root.to_owned())),
        Ok(_) => {}
    }
    let mut out = Scan::default();
    let walker = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 || !e.file_type().is_dir() {
                return true;
            }
            // core's rule: which folders hold documents (the same as the sync's walk).
            let parent = match e.depth() {
                1 => String::new(),
                _ => e
                    .path()
                    .parent()
                    .and_then(|p| relative(root, p))
                    .unwrap_or_default(),
            };
            enter_folder(&parent, &e.file_name().to_string_lossy())
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let rel = e.path().and_then(|p| relative(root, p)).unwrap_or_default();
                let message = match e.io_error() {
                    Some(io) => format!("cannot read: {io}"),
                    None => e.to_string(),
                };
                out.problems.push(ScanProblem { rel, message });
                continue;
            }
        };
        let ft = entry.file_type();
        let is_file = ft.is_file() || (ft.is_symlink() && entry.path().is_file());
        if !is_file {
            continue;
        }
        let Some(rel) = relative(root, entry.path()) else {
            let lossy = entry.path().strip_prefix(root).unwrap_or(entry.path());
            // Only worth reporting if it would otherwise be a document.
            if classify(&lossy.to_string_lossy().replace('\\', "/")).is_some() {
                out.problems.push(ScanProblem {
                    rel: lossy.to_string_lossy().into_owned(),
                    message: "file name is not valid UTF-8; rename the file".into(),
                });
            }
            continue;
        };
        if let Some(kind) = classify(&rel) {
            out.files.push(LibraryFile {
                rel,
                abs: entry.path().to_owned(),
                kind,
            });
        }
    }
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Reads at most `max_bytes + 1` bytes of `path`: when the result is longer than
/// `max_bytes`, the file is too large and the parser says so (with the limit).
pub fn read_limited(path: &Path, max_bytes: usize) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(limit).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, "{}").unwrap();
    }

    #[test]
    fn finds_documents_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in [
            "personas/b.json",
            "personas/a.json",
            "personas/team/deep/c.json",
            "personas/.hidden.json",
            "personas/.git/x.json",
            "personas/node_modules/x.json",
            "prompts/a/node_modules/x.prompty",
            "personas/a.json~",
            "personas/.a.json.swp",
            "personas/4913",
            "personas/#a.json#",
            "personas/notes.md",
            "prompts/x.prompty",
            "prompts/sub/y.prompty",
            "prompts/z.json",
            "other/a.json",
            "top.json",
            ".personas/a.json",
        ] {
            touch(root, rel);
        }
        let scan = scan(root).unwrap();
        let rels: Vec<_> = scan.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "personas/a.json",
                "personas/b.json",
                "personas/team/deep/c.json",
                "prompts/sub/y.prompty",
                "prompts/x.prompty"
            ]
        );
        assert_eq!(scan.files[0].abs, root.join("personas/a.json"));
        assert_eq!(scan.files[3].kind, DocType::PromptTemplate);
        assert!(scan.problems.is_empty());
    }

    #[test]
    fn missing_root_and_file_root() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            scan(&dir.path().join("nope")),
            Err(ScanError::NotFound(_))
        ));
        touch(dir.path(), "f");
        assert!(matches!(
            scan(&dir.path().join("f")),
            Err(ScanError::NotADirectory(_))
        ));
    }

    #[test]
    fn empty_library_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let s = scan(dir.path()).unwrap();
        assert!(s.files.is_empty() && s.problems.is_empty());
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        fs::write(&p, vec![b'x'; 1000]).unwrap();
        assert_eq!(read_limited(&p, 10).unwrap().len(), 11);
        assert_eq!(read_limited(&p, 5000).unwrap().len(), 1000);
    }
}
