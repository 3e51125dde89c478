//! Settings for `sync` and `watch`, from (highest first) command-line flags, environment
//! variables, an optional `promptshelf.toml`, and built-in defaults.
//!
//! The TOML file is `--config FILE` (or `PROMPTSHELF_CONFIG`), else `DIR/promptshelf.toml`
//! when it exists. Relative paths inside it are relative to the file's folder. Tables
//! this module does not know (e.g. `[server]`) are left for the modules that own them.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Flags shared by `sync` and `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct SyncArgs {
    /// The library folder (holds personas/*.json and prompts/*.prompty).
    pub dir: PathBuf,

    /// The SQLite file to write [default: DIR/.promptshelf/shelf.db].
    #[arg(long, env = "PROMPTSHELF_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// A promptshelf.toml to read settings from [default: DIR/promptshelf.toml if present].
    #[arg(long, env = "PROMPTSHELF_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(
        long,
        env = "PROMPTSHELF_LOG_FORMAT",
        value_enum,
        value_name = "FORMAT"
    )]
    pub log_format: Option<LogFormat>,

    /// Never draw a progress bar (one is drawn only when stderr is a terminal anyway).
    #[arg(long, env = "PROMPTSHELF_NO_PROGRESS")]
    pub no_progress: bool,

    /// Files larger than this many bytes are sync errors instead of documents.
    #[arg(long, env = "PROMPTSHELF_MAX_FILE_BYTES", value_name = "BYTES")]
    pub max_file_bytes: Option<usize>,
}

/// Flags of `watch` on top of [`SyncArgs`].
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub sync: SyncArgs,

    /// Wait this long after a file's last change before reading it (per file).
    #[arg(long, env = "PROMPTSHELF_DEBOUNCE_MS", value_name = "MS")]
    pub debounce_ms: Option<u64>,

    /// Full reconcile against the disk every this many seconds, as a safety net for
    /// events the platform drops (0 = never).
    #[arg(long, env = "PROMPTSHELF_RECONCILE_SECS", value_name = "SECS")]
    pub reconcile_secs: Option<u64>,

    /// Poll the folder instead of using native file events (network drives, or when
    /// the inotify watch limit is reached; promptshelf falls back to this by itself).
    #[arg(long, env = "PROMPTSHELF_POLL")]
    pub poll: bool,

    /// Polling interval when polling.
    #[arg(long, env = "PROMPTSHELF_POLL_MS", value_name = "MS")]
    pub poll_ms: Option<u64>,
}

/// The `promptshelf.toml` keys this module reads (all optional).
#[derive(Debug, Default, Deserialize)]
pub struct FileConfig {
    pub db: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub max_file_bytes: Option<usize>,
    pub debounce_ms: Option<u64>,
    pub reconcile_secs: Option<u64>,
    pub poll: Option<bool>,
    pub poll_ms: Option<u64>,
    /// `[schemas]`: JSON Schema files for personas and prompt front matter.
    #[serde(default)]
    pub schemas: Option<crate::schemas::SchemasTable>,
    /// Other tables (`[server]`...), kept for their owners.
    #[serde(flatten)]
    pub rest: toml::Table,
}

/// Settings after merging every source.
#[derive(Debug, Clone)]
pub struct Config {
    /// The library folder, canonical.
    pub root: PathBuf,
    /// The database file (its folder exists; the file may not yet).
    pub db: PathBuf,
    pub log_format: LogFormat,
    pub progress: bool,
    pub max_file_bytes: usize,
    pub debounce: Duration,
    /// `None` = no periodic reconcile.
    pub reconcile_every: Option<Duration>,
    pub force_poll: bool,
    pub poll_interval: Duration,
    /// The compiled `[schemas]` (none when the file names none).
    pub schemas: promptshelf_core::schema::CollectionSchemas,
    /// What `schemas` was compiled from: `watch` re-reads them when one of these files
    /// (or the TOML file) changes.
    pub schema_sources: crate::schemas::Sources,
    /// The TOML file that was read, if any, and its unknown tables.
    pub file: Option<PathBuf>,
    /// Tables of the TOML file other modules own (e.g. `[server]` for the local server).
    #[allow(dead_code)]
    pub extra: toml::Table,
}

pub const DEFAULT_DEBOUNCE_MS: u64 = 50;
pub const DEFAULT_RECONCILE_SECS: u64 = 300;
pub const DEFAULT_POLL_MS: u64 = 500;
/// Where the database lives by default, relative to the library root.
pub const DEFAULT_DB_DIR: &str = ".promptshelf";
pub const DEFAULT_DB_FILE: &str = "shelf.db";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("library folder {0}: {1}")]
    Root(PathBuf, std::io::Error),
    #[error("{0} is not a folder")]
    NotADir(PathBuf),
    #[error("config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("config file {0}: {1}")]
    Toml(PathBuf, toml::de::Error),
    #[error("database folder {0}: {1}")]
    DbDir(PathBuf, std::io::Error),
    #[error("config file {0}: [schemas]: {1}")]
    Schemas(PathBuf, crate::schemas::SchemaLoadError),
}

impl Config {
    /// Settings for `sync` (no live-watch flags).
    pub fn for_sync(a: &SyncArgs) -> Result<Config, ConfigError> {
        Self::resolve(a, None)
    }

    /// Settings for `watch`.
    pub fn for_watch(a: &WatchArgs) -> Result<Config, ConfigError> {
        Self::resolve(&a.sync, Some(a))
    }

    fn resolve(a: &SyncArgs, w: Option<&WatchArgs>) -> Result<Config, ConfigError> {
        let root =
            std::fs::canonicalize(&a.dir).map_err(|e| ConfigError::Root(a.dir.clone(), e))?;
        if !root.is_dir() {
            return Err(ConfigError::NotADir(root));
        }
        let (file_path, fc) = load_file(a.config.as_deref(), &root)?;
        let file_dir = file_path
            .as_ref()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| root.clone());

        let db = match (&a.db, &fc.db) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) if p.is_relative() => file_dir.join(p),
            (None, Some(p)) => p.clone(),
            (None, None) => root.join(DEFAULT_DB_DIR).join(DEFAULT_DB_FILE),
        };
        let db = absolute_db_path(&db)?;

        let pick =
            |flag: Option<u64>, file: Option<u64>, default: u64| flag.or(file).unwrap_or(default);
        let debounce_ms = pick(
            w.and_then(|w| w.debounce_ms),
            fc.debounce_ms,
            DEFAULT_DEBOUNCE_MS,
        );
        let reconcile_secs = pick(
            w.and_then(|w| w.reconcile_secs),
            fc.reconcile_secs,
            DEFAULT_RECONCILE_SECS,
        );
        let (schemas, schema_sources) = schemas_of(file_path.as_deref(), &fc, &file_dir)?;
        let poll_ms = pick(w.and_then(|w| w.poll_ms), fc.poll_ms, DEFAULT_POLL_MS).max(10);
        Ok(Config {
            root,
            db,
            log_format: a.log_format.or(fc.log_format).unwrap_or_default(),
            progress: !a.no_progress,
            max_file_bytes: a
                .max_file_bytes
                .or(fc.max_file_bytes)
                .unwrap_or(promptshelf_core::ParseOptions::default().max_bytes),
            debounce: Duration::from_millis(debounce_ms),
            reconcile_every: (reconcile_secs > 0).then(|| Duration::from_secs(reconcile_secs)),
            force_poll: w.is_some_and(|w| w.poll) || fc.poll.unwrap_or(false),
            poll_interval: Duration::from_millis(poll_ms),
            schemas,
            schema_sources,
            file: file_path,
            extra: fc.rest,
        })
    }
}

/// The compiled `[schemas]` of a loaded file (none without the table), and what they
/// were compiled from.
pub fn schemas_of(
    file: Option<&Path>,
    fc: &FileConfig,
    file_dir: &Path,
) -> Result<
    (
        promptshelf_core::schema::CollectionSchemas,
        crate::schemas::Sources,
    ),
    ConfigError,
> {
    match (&fc.schemas, file) {
        (Some(table), Some(file)) => crate::schemas::load_with_sources(table, file_dir)
            .map_err(|e| ConfigError::Schemas(file.to_path_buf(), e)),
        _ => Ok(Default::default()),
    }
}

/// Reads `[schemas]` from the TOML file `file` again (`watch`, when it or a schema file
/// changed): the other settings keep the values they started with.
pub fn reload_schemas(
    file: &Path,
) -> Result<
    (
        promptshelf_core::schema::CollectionSchemas,
        crate::schemas::Sources,
    ),
    ConfigError,
> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError::Read(file.into(), e))?;
    let fc: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Toml(file.into(), e))?;
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    schemas_of(Some(file), &fc, &dir)
}

pub fn load_file(
    explicit: Option<&Path>,
    root: &Path,
) -> Result<(Option<PathBuf>, FileConfig), ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = root.join("promptshelf.toml");
            if !p.is_file() {
                return Ok((None, FileConfig::default()));
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read(path.clone(), e))?;
    let fc: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Toml(path.clone(), e))?;
    Ok((Some(path), fc))
}

/// Makes the database path absolute with a canonical folder (creating the folder when
/// missing), so the watcher can recognise its own files in events whatever the user typed.
fn absolute_db_path(db: &Path) -> Result<PathBuf, ConfigError> {
    let name = db
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| DEFAULT_DB_FILE.into());
    let parent = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| ConfigError::DbDir(parent.clone(), e))?;
    let parent =
        std::fs::canonicalize(&parent).map_err(|e| ConfigError::DbDir(parent.clone(), e))?;
    Ok(parent.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        w: WatchArgs,
    }

    #[test]
    fn flags_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("promptshelf.toml"),
            "debounce_ms = 20\nreconcile_secs = 0\ndb = \"out/x.db\"\n[server]\nlisten = \"127.0.0.1:1\"\n",
        )
        .unwrap();
        let t = T::parse_from(["t", dir.path().to_str().unwrap(), "--poll-ms", "100"]);
        let c = Config::for_watch(&t.w).unwrap();
        assert_eq!(c.debounce, Duration::from_millis(20));
        assert_eq!(c.reconcile_every, None);
        assert_eq!(c.poll_interval, Duration::from_millis(100));
        assert!(c.db.ends_with("out/x.db"));
        assert!(c.extra.contains_key("server"));

        let t = T::parse_from(["t", dir.path().to_str().unwrap(), "--debounce-ms", "5"]);
        assert_eq!(
            Config::for_watch(&t.w).unwrap().debounce,
            Duration::from_millis(5)
        );
    }

    #[test]
    fn default_db_is_hidden_inside_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let t = T::parse_from(["t", dir.path().to_str().unwrap()]);
        let c = Config::for_watch(&t.w).unwrap();
        assert_eq!(c.db, c.root.join(".promptshelf/shelf.db"));
        assert_eq!(c.debounce, Duration::from_millis(DEFAULT_DEBOUNCE_MS));
    }
}
