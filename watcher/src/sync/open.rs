//! Opening the database, with recovery: a file that is not a database, or fails
//! `PRAGMA quick_check`, is moved aside (never deleted) with its `-wal`/`-shm`, and a
//! fresh database is built from the files. A busy database is retried with backoff.

use super::engine::backoff;
use super::library::Library;
use promptshelf_store::fresh::{self, FreshBuild};
use promptshelf_store::Database;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("refusing to use {0} as the database: it is a document of the library")]
    IsADocument(PathBuf),
    #[error("database {0}: {1}")]
    Store(PathBuf, promptshelf_store::Error),
    #[error("cannot move the damaged database {0} aside: {1}")]
    MoveAside(PathBuf, std::io::Error),
}

/// Opens the database of `lib`, or, with `fresh_build` and no database there yet,
/// starts building it beside its place (see [`promptshelf_store::fresh`]: the engine
/// moves it into place after its first reconcile). A build file left by a crash is
/// removed (or, when no database exists, started over).
pub fn open_or_build(
    lib: &Library,
    fresh_build: bool,
) -> Result<(Database, Option<FreshBuild>), OpenError> {
    let db = lib.db();
    refuse_documents(lib)?;
    let store_err = |e: promptshelf_store::Error| OpenError::Store(db.to_path_buf(), e);
    if fresh_build {
        if let Some((build, store)) = FreshBuild::begin(db).map_err(store_err)? {
            tracing::debug!(build = %fresh::build_path(db).display(), "building a new database");
            return Ok((store, Some(build)));
        }
    }
    fresh::clean_leftover(db).map_err(|e| store_err(e.into()))?;
    Ok((open_store(lib)?, None))
}

fn refuse_documents(lib: &Library) -> Result<(), OpenError> {
    let db = lib.db();
    if lib
        .relative(db)
        .is_some_and(|rel| promptshelf_core::library::classify(&rel).is_some())
    {
        return Err(OpenError::IsADocument(db.to_path_buf()));
    }
    Ok(())
}

/// Opens (or creates) the database of `lib`.
pub fn open_store(lib: &Library) -> Result<Database, OpenError> {
    let db = lib.db();
    refuse_documents(lib)?;
    let mut attempt = 0;
    loop {
        match Database::open(db) {
            Ok(s) => return Ok(s),
            Err(e) if e.is_corruption() => {
                let aside = move_aside(db)?;
                tracing::warn!(
                    db = %db.display(),
                    moved_to = %aside.display(),
                    error = %e,
                    "database is damaged; moved it aside and rebuilding from the files"
                );
                return Database::open(db).map_err(|e| OpenError::Store(db.to_path_buf(), e));
            }
            Err(e) if e.is_busy() && attempt < 6 => {
                tracing::warn!(db = %db.display(), attempt, "database busy, retrying");
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            Err(e) => return Err(OpenError::Store(db.to_path_buf(), e)),
        }
    }
}

/// Renames `db` (and its companions) to `db.corrupt-<unix seconds>[-wal|-shm]`.
fn move_aside(db: &Path) -> Result<PathBuf, OpenError> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut target = db.as_os_str().to_owned();
    target.push(format!(".corrupt-{secs}"));
    let target = PathBuf::from(target);
    std::fs::rename(db, &target).map_err(|e| OpenError::MoveAside(db.to_path_buf(), e))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut from = db.as_os_str().to_owned();
        from.push(suffix);
        let mut to = target.as_os_str().to_owned();
        to.push(suffix);
        let from = PathBuf::from(from);
        if from.exists() {
            std::fs::rename(&from, PathBuf::from(to))
                .map_err(|e| OpenError::MoveAside(from.clone(), e))?;
        }
    }
    Ok(target)
}
