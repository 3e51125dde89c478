//! `promptshelf serve --db FILE [--listen ADDR]`: serve a database read-only (read API,
//! admin API, dashboard) without watching a folder — e.g. a snapshot, or a database
//! another `promptshelf watch` process keeps current.

use crate::server::{self, DbSource, ServerConfig, ServerError};
use clap::Args;
use promptshelf_core::api::Cors;
use promptshelf_store::reader::{IndexCache, ReaderPool};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The promptshelf SQLite file to serve (opened read-only).
    #[arg(long)]
    pub db: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Local-server flags shared by `serve` and `watch`.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Address of the local server (read API, admin API, dashboard). Anything but
    /// loopback requires an admin token. Port 0 picks a free port.
    #[arg(long, env = "PROMPTSHELF_LISTEN", default_value = server::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Bearer token required by the admin routes (required off loopback).
    #[arg(long, env = "PROMPTSHELF_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Browser origin (scheme://host[:port]) allowed to read the API and to call the
    /// admin routes, besides pages on this machine (localhost, 127.0.0.1, any port),
    /// which always may. Repeatable or comma-separated; `*` lets every website read the
    /// read API (never the admin routes).
    #[arg(
        long = "cors-origin",
        env = "PROMPTSHELF_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    pub cors_origins: Vec<String>,
    /// Host name (or address) the server may be reached under, besides loopback names
    /// and the address it is bound to; `.example.com` allows a domain and its
    /// subdomains, `*` turns the check off. Repeatable or comma-separated. Required when
    /// listening beyond loopback.
    #[arg(
        long = "allowed-host",
        env = "PROMPTSHELF_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub allowed_hosts: Vec<String>,
    /// Read-API requests taking longer than this are answered 503.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub request_timeout_ms: u64,
}

impl ServerArgs {
    /// The server configuration from these flags (and their variables); lists a flag or
    /// variable does not give come from `file`, the `[server]` table of a
    /// `promptshelf.toml` (`cors_origins`, `allowed_hosts`), when there is one.
    pub fn config(&self, file: Option<&toml::Value>) -> Result<ServerConfig, ServerError> {
        let from_file = |key: &str| -> Result<Vec<String>, ServerError> {
            match file.and_then(|t| t.get(key)) {
                None => Ok(Vec::new()),
                Some(v) => v.clone().try_into().map_err(|_| {
                    ServerError::Config(format!(
                        "[server] {key} in promptshelf.toml must be a list of strings"
                    ))
                }),
            }
        };
        let or_file = |given: &Vec<String>, key: &str| -> Result<Vec<String>, ServerError> {
            if given.iter().any(|v| !v.trim().is_empty()) {
                Ok(given.clone())
            } else {
                from_file(key)
            }
        };
        let mut cfg = ServerConfig::new(self.listen);
        cfg.admin_token = self.admin_token.clone().filter(|t| !t.is_empty());
        cfg.api.cors = Cors::from_list(&or_file(&self.cors_origins, "cors_origins")?)
            .map_err(|e| ServerError::Config(format!("--cors-origin: {e}")))?;
        cfg.allowed_hosts =
            server::guard::AllowedHosts::parse(&or_file(&self.allowed_hosts, "allowed_hosts")?)?;
        cfg.request_timeout = Duration::from_millis(self.request_timeout_ms.max(1));
        Ok(cfg)
    }
}

pub fn run(args: ServeArgs) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    if !args.db.is_file() {
        tracing::error!("no database at {}", args.db.display());
        return ExitCode::FAILURE;
    }
    let pool = match ReaderPool::open(&args.db, 16, IndexCache::new(server::index_loader())) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::error!("cannot open {}: {e}", args.db.display());
            return ExitCode::FAILURE;
        }
    };
    let cfg = match args.server.config(None) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let source = Arc::new(DbSource { pool: pool.clone() });
    match runtime.block_on(server::run(pool, source, cfg, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
