//! The chunk set on disk (`promptshelf build --site OUT/`): the stored search index cut
//! by `promptshelf_core::search::chunked` into content-named files under
//! `OUT/v1/index/`, the same paths the local server answers at `/v1/index/...`, so a
//! static host serves it as is and a page uses one URL scheme in development and
//! production.
//!
//! Chunk files are immutable (named by their hash): a file that already exists is not
//! rewritten, so a re-deploy after editing one prompt uploads only the files that
//! changed, and pages holding an older manifest keep finding theirs. The manifest is
//! written last, atomically.

use crate::{read, Error};
use promptshelf_core::search::chunked::{ChunkOptions, ChunkSet, MANIFEST};
use promptshelf_core::search::Index;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// The folder under a site root that holds the chunk set.
pub const INDEX_DIR: &str = "v1/index";

/// What [`write_site`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteInfo {
    /// Where the manifest is.
    pub manifest: PathBuf,
    /// Files in the set (manifest included).
    pub files: usize,
    /// Files written by this build (the others already existed, unchanged).
    pub written: usize,
    /// Per chunk kind: (kind, files, bytes).
    pub sizes: Vec<(String, usize, usize)>,
}

/// The chunk set of the index stored in `conn` (none if the database has no index).
pub fn chunk_set(conn: &Connection, opts: ChunkOptions) -> Result<Option<ChunkSet>, Error> {
    let Some((_, blob)) = read::search_index(conn)? else {
        return Ok(None);
    };
    let index = Index::from_bytes(&blob)
        .map_err(|e| Error::Corrupt(format!("stored search index: {e}")))?;
    Ok(Some(index.to_chunks(opts)))
}

/// Writes `set` under `root/v1/index/`.
pub fn write_site(set: &ChunkSet, root: &Path) -> Result<SiteInfo, Error> {
    let dir = root.join(INDEX_DIR);
    let mut written = 0;
    for (name, bytes) in &set.files {
        let path = dir.join(name);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_atomic(&path, bytes)?;
        written += 1;
    }
    std::fs::create_dir_all(&dir)?;
    let manifest = dir.join(MANIFEST);
    write_atomic(&manifest, &set.manifest_bytes())?;
    Ok(SiteInfo {
        manifest,
        files: set.files.len() + 1,
        written: written + 1,
        sizes: set.sizes(),
    })
}

/// Writes a document set ([`crate::docset`]) under `root/v1/` (its names start with
/// `docs/`), manifest last. Returns (files, files written, bytes).
pub fn write_docset(
    set: &crate::docset::DocSet,
    root: &Path,
) -> Result<(usize, usize, usize), Error> {
    let dir = root.join("v1");
    let mut written = 0;
    let mut bytes_total = 0;
    for (name, bytes) in &set.files {
        bytes_total += bytes.len();
        let path = dir.join(name);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_atomic(&path, bytes)?;
        written += 1;
    }
    let manifest = dir.join(crate::docset::DOCS_MANIFEST);
    if let Some(parent) = manifest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let m = serde_json::to_vec(&set.manifest)
        .map_err(|e| Error::Corrupt(format!("document set manifest: {e}")))?;
    write_atomic(&manifest, &m)?;
    Ok((set.files.len() + 1, written + 1, bytes_total + m.len()))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptshelf_core::search::chunked::{ChunkedIndex, Step};
    use promptshelf_core::search::SearchOptions;
    use promptshelf_core::{parse_document, ParseOptions};
    use std::collections::HashMap;

    fn set(names: &[&str]) -> ChunkSet {
        let docs: Vec<_> = names
            .iter()
            .map(|n| {
                let json =
                    format!(r#"{{"id": "{n}", "name": "{n} helper", "prompt": "helps with {n}"}}"#);
                parse_document(
                    &format!("personas/{n}.json"),
                    json.as_bytes(),
                    &ParseOptions::default(),
                )
                .unwrap()
            })
            .collect();
        Index::build(&docs).to_chunks(ChunkOptions::default())
    }

    #[test]
    fn writes_a_searchable_set_and_only_new_files() {
        let tmp = tempfile::tempdir().unwrap();
        let a = set(&["alpha", "beta"]);
        let info = write_site(&a, tmp.path()).unwrap();
        assert_eq!(info.written, info.files);
        // Read back from disk, as a static host would serve it.
        let dir = tmp.path().join(INDEX_DIR);
        let ci = ChunkedIndex::from_manifest(&std::fs::read(&info.manifest).unwrap()).unwrap();
        let mut cache: HashMap<String, Vec<u8>> = HashMap::new();
        let r = loop {
            match ci
                .search("beta", &SearchOptions::default(), &cache)
                .unwrap()
            {
                Step::Done(r) => break r,
                Step::Need(n) => {
                    for f in n {
                        cache.insert(f.clone(), std::fs::read(dir.join(&f)).unwrap());
                    }
                }
            }
        };
        assert_eq!(r.hits[0].id.0, "beta");
        // The same set again: only the manifest is written.
        assert_eq!(write_site(&a, tmp.path()).unwrap().written, 1);
    }
}
