//! The local HTTP server: the read API v1 (the core's pure handler over a reader pool),
//! the admin API, Prometheus metrics, probes and the sync dashboard.
//!
//! `promptshelf serve --db FILE` runs it over a database alone; `promptshelf watch DIR`
//! runs it beside the live sync, passing its handle as the [`AdminSource`]. Either way
//! the entry point is [`run`] (or [`Server::bind`] + [`Server::serve`] to learn the
//! bound address first, e.g. with port 0).
//!
//! - [`api`]: `/v1/*` → `promptshelf_core::api::handle`, on the blocking pool, with a
//!   time limit.
//! - [`admin`]: `/admin/*`, `/metrics`, `/healthz`, `/readyz`, and the bearer-token
//!   guard that non-loopback binds require.
//! - [`guard`]: a layer over everything: the `Host` check (DNS rebinding) and the
//!   refusal of cross-site requests to the admin routes, the event stream and every
//!   non-read method.
//! - [`source`]: where admin data comes from ([`AdminSource`]: the database alone, or a
//!   running sync).
//! - [`events`]: the recent-events log the dashboard shows.
//! - [`metrics`]: HTTP request counters and latency histogram.
//! - [`dashboard`]: `GET /`, one embedded HTML page.
//! - [`stream`]: `GET /v1/events`, live updates as Server-Sent Events.
//! - [`wire_errors`]: JSON bodies for the errors hyper answers before any handler
//!   (request targets over 64 KiB, oversized headers, malformed HTTP).

pub mod admin;
pub mod api;
pub mod dashboard;
pub mod events;
pub mod guard;
pub mod metrics;
pub mod source;
pub mod stream;
mod sync_source;
#[cfg(test)]
mod tests;
pub mod wire_errors;

pub use source::{AdminSource, DbSource};

use promptshelf_core::api::ApiConfig;
use promptshelf_store::reader::ReaderPool;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub api: ApiConfig,
    /// Bearer token for the admin routes. Required when `listen` is not loopback.
    pub admin_token: Option<String>,
    /// Longest a read-API request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Host names answered besides loopback and the bound address (see [`guard`]).
    /// Required when `listen` is not loopback.
    pub allowed_hosts: guard::AllowedHosts,
    /// `GET /v1/events`: heartbeat and the cap on open streams.
    pub stream: stream::StreamConfig,
}

impl ServerConfig {
    /// Refuses a non-loopback bind without a token or without the host names clients
    /// will use, and short tokens.
    pub fn validate(&self) -> Result<(), ServerError> {
        match &self.admin_token {
            None if !self.listen.ip().is_loopback() => {
                return Err(ServerError::TokenRequired(self.listen))
            }
            Some(t) if t.len() < 16 => return Err(ServerError::WeakToken),
            _ => {}
        }
        if !self.listen.ip().is_loopback() && self.allowed_hosts.is_empty() {
            return Err(ServerError::HostsRequired(self.listen));
        }
        Ok(())
    }

    pub fn new(listen: SocketAddr) -> ServerConfig {
        ServerConfig {
            listen,
            api: ApiConfig {
                // Pages on this machine only, unlike the edge's public `*` (issue 18).
                cors: promptshelf_core::api::Cors::Local(Vec::new()),
                ..ApiConfig::default()
            },
            admin_token: None,
            request_timeout: Duration::from_secs(10),
            allowed_hosts: guard::AllowedHosts::default(),
            stream: stream::StreamConfig::from_env(),
        }
    }
}

/// The default address of the local server.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7410";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("refusing to serve the admin API on non-loopback address {0} without a token: pass --admin-token or set PROMPTSHELF_ADMIN_TOKEN")]
    TokenRequired(SocketAddr),
    #[error("the admin token must be at least 16 characters")]
    WeakToken,
    #[error("refusing to serve on non-loopback address {0} without the host names clients will use (a check against DNS rebinding): pass --allowed-host NAME (repeatable; env PROMPTSHELF_ALLOWED_HOSTS, comma-separated; or allowed_hosts under [server] in promptshelf.toml), or --allowed-host '*' behind a proxy that checks names")]
    HostsRequired(SocketAddr),
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// What every route handler shares.
pub struct AppState {
    pub pool: Arc<ReaderPool>,
    pub source: Arc<dyn AdminSource>,
    pub cfg: ServerConfig,
    pub metrics: metrics::HttpMetrics,
    pub events: events::EventLog,
    pub started: Instant,
    pub streams: stream::Streams,
}

/// A bound, not yet serving, server.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
}

impl Server {
    /// Checks the configuration (a token for non-loopback binds) and binds the socket.
    pub async fn bind(
        pool: Arc<ReaderPool>,
        source: Arc<dyn AdminSource>,
        cfg: ServerConfig,
    ) -> Result<Server, ServerError> {
        cfg.validate()?;
        guard::warn_about(&cfg);
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| ServerError::Bind(cfg.listen, e))?;
        let state = Arc::new(AppState {
            pool,
            source,
            cfg,
            metrics: metrics::HttpMetrics::default(),
            events: events::EventLog::default(),
            started: Instant::now(),
            streams: stream::Streams::default(),
        });
        Ok(Server { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let events = tokio::spawn(events::follow(self.state.clone()));
        // Event streams never end by themselves: end them, or shutdown waits forever.
        let streams = self.state.clone();
        let shutdown = async move {
            shutdown.await;
            streams.streams.close_all();
        };
        // The guard wraps whatever the router holds, routes added later included.
        let app = router(self.state.clone()).layer(axum::middleware::from_fn_with_state(
            self.state.clone(),
            guard::layer,
        ));
        let listener = wire_errors::Listener {
            inner: self.listener,
            allow_any_origin: self.state.cfg.api.cors == promptshelf_core::api::Cors::AllowAll,
        };
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        events.abort();
        Ok(r?)
    }
}

/// Binds and serves until `shutdown` resolves (what `serve` and `watch` call).
pub async fn run(
    pool: Arc<ReaderPool>,
    source: Arc<dyn AdminSource>,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let server = Server::bind(pool, source, cfg).await?;
    let addr = server.local_addr()?;
    tracing::info!(%addr, "serving the read API at http://{addr}/v1/ and the dashboard at http://{addr}/");
    server.serve(shutdown).await
}

/// Every route, behind [`normalize_uri`]. The inner router is the outer one's fallback
/// so that the rewrite runs before routing (a layer on one router runs after it).
fn router(state: Arc<AppState>) -> axum::Router {
    use axum::routing::get;
    let routes = axum::Router::new()
        .route("/", get(dashboard::page))
        .route("/v1/events", axum::routing::any(stream::events))
        .merge(admin::routes(state.clone()))
        .fallback(api::handle)
        .with_state(state);
    axum::Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request(normalize_uri))
}

/// Resolves dot segments (and the rest of WHATWG path parsing) in the request path
/// before anything routes on it, as the edge runtime does before the worker sees a
/// request: `/admin/../v1/health` is `/v1/health` on both hosts, and
/// `/v1/documents/../../etc/passwd` the same JSON 404 (`core::api::http::normalize_path`).
async fn normalize_uri(mut req: axum::extract::Request) -> axum::extract::Request {
    use promptshelf_core::api::http::normalize_path;
    let uri = req.uri();
    if let std::borrow::Cow::Owned(path) = normalize_path(uri.path()) {
        let target = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = target.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(u) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
        }
    }
    req
}

/// How stored search indexes are loaded: the core engine.
pub fn index_loader() -> Option<promptshelf_store::reader::IndexLoader> {
    Some(promptshelf_core::api::load_index)
}
