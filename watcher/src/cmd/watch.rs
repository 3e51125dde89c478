//! `promptshelf watch DIR [--db FILE]`: initial sync, then live sync until SIGINT or
//! SIGTERM, which stop watching, apply the pending batch, checkpoint the WAL and exit 0.

use crate::cmd::serve::ServerArgs;
use crate::config::{Config, WatchArgs};
use crate::sync::SyncHandle;
use std::process::ExitCode;

/// `watch`'s flags: the sync's and the live sync's (settings, see `config`), then the
/// local server's (the server's own, so the settings layer does not depend on it).
#[derive(Debug, Clone, clap::Args)]
pub struct WatchCommand {
    #[command(flatten)]
    pub watch: WatchArgs,

    /// The local server (read API, admin API, dashboard) started beside the sync.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Sync only: do not start the local server.
    #[arg(long, env = "PROMPTSHELF_NO_SERVE")]
    pub no_serve: bool,
}

pub fn run(args: WatchCommand) -> ExitCode {
    let cfg = match Config::for_watch(&args.watch) {
        Ok(c) => c,
        Err(e) => {
            crate::logging::init(args.watch.sync.log_format.unwrap_or_default());
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    crate::logging::init(cfg.log_format);
    let server_cfg = match (!args.no_serve)
        .then(|| args.server.config(cfg.extra.get("server")))
        .transpose()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Err(e)) = server_cfg.as_ref().map(|c| c.validate()) {
        tracing::error!("{e}");
        return ExitCode::FAILURE;
    }
    if let Some(f) = &cfg.file {
        tracing::info!(config = %f.display(), "read settings");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Register signal handlers before anything long-running starts.
        let signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let (handle, thread) = match crate::sync::start(&cfg, server_cfg.is_some()) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(server_cfg) = server_cfg {
            serve(&cfg, server_cfg, &handle).await;
        }
        // Versions from git (issue #15): re-read when HEAD or a label ref moves, drafts
        // refreshed after each sync batch.
        let stop_history = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let history =
            crate::sync::follow_history(cfg.clone(), handle.clone(), stop_history.clone());
        let mut sync_task = tokio::task::spawn_blocking(move || thread.join());
        let out = tokio::select! {
            name = signals.wait() => {
                tracing::info!(signal = name, "shutting down");
                handle.shutdown();
                finish(sync_task.await)
            }
            r = &mut sync_task => finish(r),
        };
        stop_history.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || history.join()).await;
        out
    })
}

/// Starts the local server (read API + admin routes over `handle`) as a task. A busy
/// port does not stop the sync: the error is logged and syncing goes on.
async fn serve(cfg: &Config, server_cfg: crate::server::ServerConfig, handle: &SyncHandle) {
    use crate::server::{self, Server};
    use promptshelf_store::reader::{IndexCache, ReaderPool};
    use std::sync::Arc;
    let pool = match ReaderPool::open(&cfg.db, 16, IndexCache::new(server::index_loader())) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::error!(
                "local server not started: cannot open {}: {e}",
                cfg.db.display()
            );
            return;
        }
    };
    let source: Arc<dyn server::AdminSource> = Arc::new(handle.clone());
    match Server::bind(pool, source, server_cfg).await {
        Ok(s) => {
            if let Ok(addr) = s.local_addr() {
                tracing::info!(%addr, "dashboard at http://{addr}/ , read API at http://{addr}/v1/");
            }
            tokio::spawn(async move {
                if let Err(e) = s.serve(std::future::pending()).await {
                    tracing::error!("local server stopped: {e}");
                }
            });
        }
        Err(e) => tracing::error!("local server not started: {e}"),
    }
}

type Joined = std::thread::Result<Result<(), crate::sync::SyncError>>;

fn finish(r: Result<Joined, tokio::task::JoinError>) -> ExitCode {
    match r {
        Ok(Ok(Ok(()))) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Ok(Ok(Err(e))) => {
            tracing::error!("sync failed: {e}");
            ExitCode::FAILURE
        }
        _ => {
            tracing::error!("sync thread panicked");
            ExitCode::FAILURE
        }
    }
}

struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
        })
    }

    /// Takes `self` by value (not `mut self`): only the unix branch mutates, and an unused
    /// `mut` is a warning, hence an error, in the Windows check (`scripts/test` windows).
    async fn wait(self) -> &'static str {
        #[cfg(unix)]
        {
            let mut term = self.term;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let Signals {} = self;
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}
