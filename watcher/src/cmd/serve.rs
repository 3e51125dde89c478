//! `promptshelf serve --db FILE [--listen ADDR]`: serve a database read-only (read API,
//! admin API, dashboard) without watching a folder — e.g. a snapshot, or a database
//! another `promptshelf watch` process keeps current.

use crate::server::{self, DbSource, ServerConfig};
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
    /// Browser origin allowed to read the API (repeatable); default: any origin.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Read-API requests taking longer than this are answered 503.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub request_timeout_ms: u64,
}

impl ServerArgs {
    pub fn config(&self) -> ServerConfig {
        server_config(
            self.listen,
            self.admin_token.clone(),
            self.cors_origins.clone(),
            self.request_timeout_ms,
        )
    }
}

/// The server configuration shared by `serve` and `watch`.
pub fn server_config(
    listen: SocketAddr,
    admin_token: Option<String>,
    cors_origins: Vec<String>,
    request_timeout_ms: u64,
) -> ServerConfig {
    let mut cfg = ServerConfig::new(listen);
    cfg.admin_token = admin_token.filter(|t| !t.is_empty());
    if !cors_origins.is_empty() {
        cfg.api.cors = Cors::Origins(cors_origins);
    }
    cfg.request_timeout = Duration::from_millis(request_timeout_ms.max(1));
    cfg
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
    let cfg = args.server.config();
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
