//! Cross-crate tests live in `tests/tests/`; this library holds what several of them share.

use std::path::{Path, PathBuf};

/// The real test corpus: `$PROMPTSHELF_CORPUS`, else the nearest `shared/corpus` beside the
/// repo or one of its ancestors (`<repo>/../shared/corpus` in CI; worktrees sit one level
/// deeper). `None`, with a loud message, when it is absent, so callers can skip.
pub fn corpus() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PROMPTSHELF_CORPUS") {
        return Some(PathBuf::from(dir)).filter(|d| d.is_dir());
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let found = repo
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/corpus"))
        .find(|d| d.is_dir());
    if found.is_none() {
        eprintln!(
            "\n!!! SKIPPED: corpus not found (expected <repo>/../shared/corpus or $PROMPTSHELF_CORPUS) !!!\n"
        );
    }
    found
}
